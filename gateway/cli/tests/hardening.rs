//! Issue 15's findings, each through the real `veilgate` binary over mTLS:
//! revocation in every spelling and by serial, institution and CRL; reload
//! on content, not modification time; bodies that announce too much;
//! `/metrics` for the revoked; strict JSON; refusals in the audit log; and
//! signed times outside the skew. (The stall attack is `stall.rs`, alone in
//! its binary so that no other test shares its cores; power loss is the
//! server crate's `power_loss.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use veilgate_client::{policy_set, Client};

const LEDGER: &str = "interbank-settlement";
const POLICY: &str = "interbank-payment";

struct Gateway {
    process: veilgate_testkit::process::Process,
    _root: tempfile::TempDir,
    data: PathBuf,
}

impl Gateway {
    /// A development gateway whose ledger it also follows as a peer.
    fn start() -> Gateway {
        let root = tempfile::tempdir().unwrap();
        let data = veilgate_testkit::data::dev_data_dir(
            root.path(),
            &[(
                "ca = [\"ca/ca.pem\"]\n",
                "ca = [\"ca/ca.pem\"]\nfollow = true\n",
            )],
        )
        .unwrap();
        let process = start(root.path(), &data);
        Gateway {
            process,
            _root: root,
            data,
        }
    }

    fn restart(&mut self) {
        self.process.kill();
        self.process = start(self._root.path(), &self.data);
    }

    fn client(&self, who: &str) -> Client {
        Client::from_data_dir(&self.data, who, &self.process.base).unwrap()
    }

    fn revoke(&self, body: &str) {
        std::fs::write(self.data.join("revocations.json"), body).unwrap();
    }

    /// How many envelopes (not audit anchors, which the gateway writes on
    /// its own every 10 s) the ledger holds, after the gateway stopped.
    fn envelopes_on_ledger(&mut self) -> usize {
        use veilgate_ledger::Ledger as _;
        self.process.kill();
        let l = veilgate_ledger::EmbeddedLedger::open(
            &self.data.join("ledgers").join(LEDGER).join("ledger.redb"),
        )
        .unwrap();
        (0..l.len().unwrap())
            .filter(|s| {
                l.by_sequence(*s)
                    .unwrap()
                    .unwrap()
                    .envelope
                    .starts_with(b"VGEN")
            })
            .count()
    }

    /// The audit log as a supervisor reads it, after the gateway stopped.
    fn audit(&mut self) -> Vec<veilgate_server::audit::AuditEntry> {
        self.process.kill();
        let store = veilgate_server::store::Store::open(&self.data.join("gateway.redb")).unwrap();
        let entries = store.audit_entries().unwrap();
        veilgate_server::audit::verify_chain(&entries).unwrap();
        entries
    }
}

fn start(root: &Path, data: &Path) -> veilgate_testkit::process::Process {
    let mut o = veilgate_testkit::process::Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        data,
        root.join("server.log"),
    );
    o.dev = true;
    veilgate_testkit::process::Process::start(&o).unwrap()
}

fn sample() -> Value {
    serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap()
}

fn cert_der(data: &Path, who: &str) -> Vec<u8> {
    let pem = std::fs::read(data.join("institutions").join(who).join("client.pem")).unwrap();
    CertificateDer::from_pem_slice(&pem).unwrap().to_vec()
}

/// The consortium CA as an issuer (the development CA's key and subject).
fn ca_issuer(data: &Path) -> rcgen::Issuer<'static, rcgen::KeyPair> {
    let key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(data.join("ca/ca.key.pem")).unwrap())
            .unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Veilgate development consortium CA",
    );
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    rcgen::Issuer::new(p, key)
}

/// One raw TLS 1.3 connection as `who`, for bytes no client library sends.
async fn raw(
    data: &Path,
    who: &str,
    base: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let config = veilgate_testkit::data::client_tls(data, who).unwrap();
    let tcp = tokio::net::TcpStream::connect(base.trim_start_matches("https://"))
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap()
}

/// Writes `head` (and nothing after), then reads the answer until the
/// server closes or `within` passes: the status line and the whole text.
async fn answer_to(
    tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    head: &str,
    within: Duration,
) -> String {
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.flush().await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(within, tls.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

async fn status_of(c: &Client, method: &str, path: &str) -> u16 {
    c.request(method, path, None).await.unwrap().0
}

/// Waits (up to 5 s) until `check` holds: revocation reloads are checked
/// on each request, so the first request after an edit normally sees it.
async fn eventually<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) -> bool {
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

// Finding 1: a fingerprint in upper case, with colons, or as openssl prints
// it, revokes; so do a serial with its issuer and a CRL the CA signed. A
// malformed list keeps the previous one in force and says so in metrics.
#[tokio::test(flavor = "multi_thread")]
async fn revocation_takes_every_spelling_serials_crls_and_never_empties_on_a_bad_edit() {
    let gw = Gateway::start();
    let bank_b = gw.client("bank-b");
    let policies = format!("/v1/ledgers/{LEDGER}/policies");
    let der = cert_der(&gw.data, "bank-b");
    let hexfp = hex::encode(sha2::Sha256::digest(&der));
    let colons = hexfp
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    for spelling in [
        hexfp.to_uppercase(),
        colons.clone(),
        format!("sha256 Fingerprint={colons}"),
        colons.to_lowercase(),
    ] {
        gw.revoke(&json!({ "certificates": [spelling] }).to_string());
        assert!(
            eventually(|| async { status_of(&bank_b, "GET", &policies).await == 403 }).await,
            "fingerprint spelled `{spelling}` did not revoke"
        );
        gw.revoke("{}");
        assert!(
            eventually(|| async { status_of(&bank_b, "GET", &policies).await == 200 }).await,
            "bank-b was not answered 200 within 5 s of the revocation edit"
        );
    }

    // By issuer and serial, as `openssl x509 -noout -issuer -serial` prints them.
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let serial = hex::encode_upper(cert.raw_serial());
    let issuer = cert.issuer().to_string();
    gw.revoke(&json!({ "serials": [{ "issuer": issuer, "serial": serial }] }).to_string());
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", &policies).await == 403 }).await,
        "bank-b was not answered 403 within 5 s of the revocation edit"
    );

    // A typo is refused with the entry named, and the previous list stays.
    // Each bad edit is judged once the gateway has read it (the stale alert
    // goes up), never after a timer.
    let stale = |want: bool| {
        let gw = &gw;
        async move {
            eventually(|| async {
                let (s, body) = gw
                    .client("bank-a")
                    .request("GET", "/metrics", None)
                    .await
                    .unwrap();
                let line = format!("veilgate_revocations_stale {}", u8::from(want));
                s == 200 && String::from_utf8_lossy(&body).contains(&line)
            })
            .await
        }
    };
    gw.revoke(r#"{ "certificates": ["not-a-fingerprint"] }"#);
    assert!(stale(true).await);
    assert_eq!(status_of(&bank_b, "GET", &policies).await, 403);
    // Two `certificates` members: strict JSON, not "the last wins". A good
    // list first, so the alert going up again shows this edit was read.
    gw.revoke(&json!({ "certificates": [hexfp] }).to_string());
    assert!(stale(false).await);
    gw.revoke(&format!(
        r#"{{ "certificates": ["{hexfp}"], "certificates": [] }}"#
    ));
    assert!(stale(true).await);
    assert_eq!(status_of(&bank_b, "GET", &policies).await, 403);

    // A CRL signed by the consortium CA, named in the list.
    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2026, 1, 1),
        next_update: rcgen::date_time_ymd(2036, 1, 1),
        crl_number: rcgen::SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from_slice(cert.raw_serial()),
            revocation_time: rcgen::date_time_ymd(2026, 6, 1),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&ca_issuer(&gw.data))
    .unwrap();
    std::fs::write(gw.data.join("consortium.crl"), crl.pem().unwrap()).unwrap();
    gw.revoke("{}");
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", &policies).await == 200 }).await,
        "bank-b was not answered 200 within 5 s of the revocation edit"
    );
    gw.revoke(r#"{ "crls": ["consortium.crl"] }"#);
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", &policies).await == 403 }).await,
        "bank-b was not answered 403 within 5 s of the revocation edit"
    );
    let (_, metrics) = gw
        .client("bank-a")
        .request("GET", "/metrics", None)
        .await
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    assert!(
        metrics.contains("veilgate_revocations{kind=\"crl_entry\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("veilgate_revocations_stale 0"),
        "{metrics}"
    );
    // Other members are untouched throughout.
    assert_eq!(status_of(&gw.client("bank-c"), "GET", &policies).await, 200);
}

// Finding 2: an edit that keeps the modification time (and the length) is
// still loaded.
#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_edit_that_keeps_the_modification_time_is_loaded() {
    let gw = Gateway::start();
    let bank_b = gw.client("bank-b");
    let policies = format!("/v1/ledgers/{LEDGER}/policies");
    let path = gw.data.join("revocations.json");
    gw.revoke(r#"{ "institutions": ["bank-x"] }"#);
    assert_eq!(status_of(&bank_b, "GET", &policies).await, 200);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    // As `cp -p`, `rsync -t` or tar would leave it: same length, same mtime.
    gw.revoke(r#"{ "institutions": ["bank-b"] }"#);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", &policies).await == 403 }).await,
        "the edit was never loaded"
    );
}

// Finding 4: a Content-Length or a chunk size over the limit is refused at
// once — before any body byte is sent — with 413 (411 for chunked), not a
// 503 after the request timeout inviting a retry.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_announcing_more_than_the_limit_are_refused_before_they_are_sent() {
    let gw = Gateway::start();
    let path = format!("/v1/ledgers/{LEDGER}/records");
    let mut tls = raw(&gw.data, "bank-a", &gw.process.base).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000000000\r\n\r\n"
    );
    let answer = answer_to(&mut tls, &head, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("retry-after"),
        "{answer}"
    );

    let mut tls = raw(&gw.data, "bank-a", &gw.process.base).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n"
    );
    let answer = answer_to(&mut tls, &head, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");

    // With `Expect: 100-continue`, even a body the drain could take is
    // refused unsent.
    let mut tls = raw(&gw.data, "bank-a", &gw.process.base).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2000000\r\n\r\n"
    );
    let answer = answer_to(&mut tls, &head, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A sender that stops halfway through its headers is cut (slowloris).
    let mut tls = raw(&gw.data, "bank-a", &gw.process.base).await;
    let answer = answer_to(
        &mut tls,
        "GET /v1/health HTTP/1.1\r\nhost: x\r\n",
        Duration::from_secs(25),
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    let mut rest = [0u8; 1];
    assert!(
        matches!(tls.read(&mut rest).await, Ok(0) | Err(_)),
        "the connection was left open"
    );

    // The gateway still answers, and nothing else was written.
    let mut gw = gw;
    let c = gw.client("bank-a");
    c.submit(LEDGER, POLICY, "after", &sample()).await.unwrap();
    assert_eq!(gw.envelopes_on_ledger(), 1);
}

// Finding 5: a revoked certificate reads nothing, `/metrics` included; a
// member that is neither hosted nor a metrics reader is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_certificate_cannot_read_metrics() {
    let gw = Gateway::start();
    let bank_b = gw.client("bank-b");
    assert_eq!(status_of(&bank_b, "GET", "/metrics").await, 200);
    gw.revoke(r#"{ "institutions": ["bank-b"] }"#);
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", "/metrics").await == 403 }).await,
        "bank-b was not answered 403 within 5 s of the revocation edit"
    );
    let (_, body) = bank_b.request("GET", "/metrics", None).await.unwrap();
    assert!(!String::from_utf8_lossy(&body).contains("veilgate_requests_total"));
    assert_eq!(status_of(&bank_b, "GET", "/v1/health").await, 403);
    assert_eq!(
        status_of(&gw.client("bank-a"), "GET", "/metrics").await,
        200
    );
}

// Finding 6: duplicate keys, lone surrogates and numbers no field holds are
// 400 naming the field; nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn duplicate_keys_lone_surrogates_and_huge_numbers_are_400_naming_the_field() {
    let gw = Gateway::start();
    let c = gw.client("bank-a");
    let path = format!("/v1/ledgers/{LEDGER}/records");
    let record = sample().to_string();
    let amount = sample()["amount"].as_str().unwrap().to_owned();
    let inner = record.trim_start_matches('{').to_owned();
    let cases = [
        (
            "a duplicate record member",
            format!(
                r#"{{"policy":"{POLICY}","idempotency_key":"d1","record":{{"amount":"999999.00",{inner}}}"#
            ),
            "amount",
        ),
        (
            "a duplicate request member",
            format!(
                r#"{{"policy":"{POLICY}","policy":"other","idempotency_key":"d2","record":{record}}}"#
            ),
            "policy",
        ),
        (
            "a lone surrogate",
            format!(
                r#"{{"policy":"{POLICY}","idempotency_key":"d3","record":{}}}"#,
                record.replacen(&format!("\"{amount}\""), "\"1\\ud800\"", 1)
            ),
            "amount",
        ),
        (
            "a number no JSON value holds",
            format!(
                r#"{{"policy":"{POLICY}","idempotency_key":"d4","record":{}}}"#,
                record.replacen(&format!("\"{amount}\""), "1e400", 1)
            ),
            "amount",
        ),
    ];
    for (name, body, field) in cases {
        let (status, answer) = c
            .request("POST", &path, Some(body.into_bytes()))
            .await
            .unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 400, "{name}: {answer}");
        assert_eq!(answer["field"], field, "{name}: {answer}");
        assert!(
            !answer["message"].as_str().unwrap().contains("999999"),
            "{name}: {answer}"
        );
    }
    // Nothing was written: the good record is the ledger's only envelope.
    let mut gw = gw;
    c.submit(LEDGER, POLICY, "good", &sample()).await.unwrap();
    assert_eq!(gw.envelopes_on_ledger(), 1);
}

// Finding 7: refused actions are in the hash-chained audit log — a refused
// handshake with the presented certificate's subject and issuer, a caller
// that is not a recipient, a revoked caller — rate-limited, and counted.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_audited_rate_limited_and_counted() {
    let mut gw = Gateway::start();
    let bank_a = gw.client("bank-a");
    let r = bank_a
        .submit(LEDGER, POLICY, "p-1", &sample())
        .await
        .unwrap();

    // Another CA's certificate, refused at the handshake.
    let rogue_key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "Rogue CA");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let rogue = rcgen::Issuer::new(p, rogue_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "bank-a");
    let cert = p.signed_by(&key, &rogue).unwrap();
    let ca = std::fs::read(gw.data.join("ca/ca.pem")).unwrap();
    let impostor = Client::new(
        &gw.process.base,
        &ca,
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )
    .unwrap();
    assert!(impostor.request("GET", "/v1/health", None).await.is_err());

    // bank-c is not a recipient of this payment.
    let open = format!("/v1/ledgers/{LEDGER}/envelopes/{}/open", r.envelope_id);
    let (status, _) = gw
        .client("bank-c")
        .request("POST", &open, None)
        .await
        .unwrap();
    assert_eq!(status, 403);

    // A revoked member tries 40 times: 40 refusals counted, a few audited.
    gw.revoke(r#"{ "institutions": ["bank-b"] }"#);
    let bank_b = gw.client("bank-b");
    let policies = format!("/v1/ledgers/{LEDGER}/policies");
    assert!(
        eventually(|| async { status_of(&bank_b, "GET", &policies).await == 403 }).await,
        "bank-b was not answered 403 within 5 s of the revocation edit"
    );
    for _ in 0..39 {
        assert_eq!(status_of(&bank_b, "GET", &policies).await, 403);
    }
    let (_, metrics) = bank_a.request("GET", "/metrics", None).await.unwrap();
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    let counted = |reason: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("veilgate_refusals_total{{reason=\"{reason}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert!(counted("revoked") >= 40, "{metrics}");
    assert!(counted("not_a_recipient") >= 1, "{metrics}");
    assert!(counted("certificate_refused") >= 1, "{metrics}");

    let entries = gw.audit();
    let refused: Vec<_> = entries
        .iter()
        .filter(|e| e.event.action == veilgate_server::audit::Action::Refused)
        .collect();
    let with = |reason: &str| {
        refused
            .iter()
            .filter(|e| e.event.detail.as_deref().unwrap_or("").contains(reason))
            .count()
    };
    let handshake = refused
        .iter()
        .find(|e| {
            e.event
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("certificate_refused")
        })
        .unwrap_or_else(|| panic!("no refused handshake in {refused:#?}"));
    let detail = handshake.event.detail.clone().unwrap();
    assert!(
        detail.contains("CN=bank-a") && detail.contains("CN=Rogue CA"),
        "{detail}"
    );
    assert!(with("not_a_recipient") >= 1, "{refused:#?}");
    let revoked = refused
        .iter()
        .filter(|e| {
            e.event.actor == "bank-b" && e.event.detail.as_deref().unwrap_or("").contains("revoked")
        })
        .count();
    assert!(
        (1..=veilgate_server::audit::refusals::PER_KEY as usize).contains(&revoked),
        "{revoked} revoked entries for 40 attempts"
    );
}

// Finding 8: an envelope signed "in the year 2100", correctly signed and
// proven, is refused by the peer's verify and by the follower that reads
// it from the ledger; an envelope signed now is valid.
#[tokio::test(flavor = "multi_thread")]
async fn signed_times_outside_the_skew_of_the_ledgers_time_are_rejected() {
    let mut gw = Gateway::start();
    let bank_a = gw.client("bank-a");
    let first = bank_a
        .submit(LEDGER, POLICY, "now", &sample())
        .await
        .unwrap();
    let policies = policy_set(&bank_a.policies(LEDGER).await.unwrap()).unwrap();
    let trust = veilgate_testkit::data::trust(&gw.data, LEDGER, policies.clone()).unwrap();
    let plan = policies.latest(LEDGER, POLICY).unwrap().clone();
    let secrets = veilgate_testkit::data::secrets(&gw.data, "bank-a").unwrap();
    let pseudonym_key = veilgate_testkit::data::pseudonym_key(&gw.data, LEDGER).unwrap();
    let year_2100 = 4_102_444_800_000u64;
    let envelope = veilgate_core::seal(
        &veilgate_core::SealRequest {
            trust: &trust,
            plan: &plan,
            record: &plan.validate_record(&sample()).unwrap(),
            submitter: &secrets,
            pseudonyms: (&pseudonym_key).into(),
            idempotency_key: "from-the-future",
            timestamp_ms: year_2100,
        },
        &mut rand_core::OsRng,
    )
    .unwrap();
    let bytes = envelope.encode();
    let body = json!({ "envelope": base64::engine::general_purpose::STANDARD.encode(&bytes) });
    let (status, answer) = gw
        .client("bank-c")
        .request(
            "POST",
            &format!("/v1/ledgers/{LEDGER}/verify"),
            Some(body.to_string().into_bytes()),
        )
        .await
        .unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        (answer["accepted"].as_bool(), answer["reason"].as_str()),
        (Some(false), Some("time_outside_skew")),
        "{answer}"
    );

    // A member writes it to the ledger itself; the follower judges it.
    gw.process.kill();
    let sequence = {
        let l = veilgate_ledger::EmbeddedLedger::open(
            &gw.data.join("ledgers").join(LEDGER).join("ledger.redb"),
        )
        .unwrap();
        use veilgate_ledger::Ledger as _;
        l.append(envelope.id, &bytes).unwrap().receipt.sequence
    };
    gw.restart();
    let peer = gw.client("bank-c");
    let verdict = |sequence: u64| {
        let peer = &peer;
        async move {
            let path = format!("/v1/ledgers/{LEDGER}/verdicts/{sequence}");
            for _ in 0..200 {
                let (status, body) = peer.request("GET", &path, None).await.unwrap();
                if status == 200 {
                    return serde_json::from_slice::<Value>(&body).unwrap();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no verdict for {sequence}");
        }
    };
    let future = verdict(sequence).await;
    assert_eq!(
        (future["verdict"].as_str(), future["code"].as_str()),
        (Some("rejected"), Some("time_outside_skew")),
        "{future}"
    );
    let now = verdict(first.sequence.unwrap()).await;
    assert_eq!(now["verdict"], "valid", "{now}");
}
