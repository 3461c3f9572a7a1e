//! End to end over real HTTPS/mTLS against the `veilgate` binary with its
//! embedded redb ledger: submit, fetch, verify as a peer, open as each
//! recipient; canaries; bad input; tampering; admission at the handshake.
#![allow(
    clippy::unwrap_used,
    clippy::type_complexity,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rand_core::RngCore;
use serde_json::{json, Value};
use veilgate_client::{policy_set, Client, ClientError};
use veilgate_core::{InstitutionSecrets, OpenError, PolicySet};

const LEDGER: &str = "interbank-settlement";
const POLICY: &str = "interbank-payment";

/// The real binary on 127.0.0.1 (the testkit harness), first started with
/// `--dev` in a fresh data directory, its log at debug level.
struct Gateway {
    process: veilgate_testkit::process::Process,
    base: String,
    dir: tempfile::TempDir,
    stdout_lines: Vec<String>,
}

impl Gateway {
    fn start() -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let mut o = veilgate_testkit::process::Options::new(
            env!("CARGO_BIN_EXE_veilgate"),
            dir.path().join("data"),
            dir.path().join("server.log"),
        );
        o.dev = true;
        o.rust_log = Some("debug".into());
        let process = veilgate_testkit::process::Process::start(&o).unwrap();
        Gateway {
            base: process.base.clone(),
            stdout_lines: process.banner.clone(),
            process,
            dir,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn client(&self, who: &str) -> Client {
        Client::from_data_dir(&self.data(), who, &self.base).unwrap()
    }

    /// What peer bank-c trusts: the directory, `policies`, the Groth16 keys.
    fn trust(&self, policies: &PolicySet) -> veilgate_core::Trust {
        veilgate_testkit::data::trust(&self.data(), LEDGER, policies.clone()).unwrap()
    }

    fn secrets(&self, who: &str) -> InstitutionSecrets {
        veilgate_testkit::data::secrets(&self.data(), who).unwrap()
    }

    fn stop(&mut self) -> String {
        self.process.kill();
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap()
    }
}

fn sample() -> Value {
    serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap()
}

async fn peer_policies(c: &Client) -> PolicySet {
    policy_set(&c.policies(LEDGER).await.unwrap()).unwrap()
}

fn opened_names(fields: &[veilgate_core::OpenedField]) -> BTreeSet<String> {
    fields.iter().map(|f| f.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_fetch_verify_and_open_as_each_party() {
    let gw = Gateway::start();
    assert!(
        gw.stdout_lines
            .iter()
            .any(|l| l.contains("veilgate client submit")),
        "first start prints how to submit: {:?}",
        gw.stdout_lines
    );
    let bank_a = gw.client("bank-a");
    let receipt = bank_a
        .submit(LEDGER, POLICY, "pay-0001", &sample())
        .await
        .unwrap();
    assert_eq!(
        (receipt.status, receipt.state.as_str(), receipt.sequence),
        (201, "on_ledger", Some(0))
    );

    // Same idempotency key: the same envelope, nothing new on the ledger.
    let again = bank_a
        .submit(LEDGER, POLICY, "pay-0001", &sample())
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.envelope_id.as_str(), again.sequence),
        (200, receipt.envelope_id.as_str(), Some(0))
    );
    // Same key, another record: a conflict, not a second envelope.
    let mut other = sample();
    other["amount"] = "1.00".into();
    match bank_a.submit(LEDGER, POLICY, "pay-0001", &other).await {
        Err(ClientError::Api {
            status: 409, field, ..
        }) => assert_eq!(field.as_deref(), Some("idempotency_key")),
        other => panic!("expected 409, got {other:?}"),
    }

    // A peer fetches and verifies without any plaintext or secret.
    let peer = gw.client("bank-c");
    let fetched = peer.envelope(LEDGER, &receipt.envelope_id).await.unwrap();
    assert_eq!(fetched.sequence, 0);
    // The same entry read by ledger position; the next position is empty.
    let (status, by_seq) = peer
        .request("GET", &format!("/v1/ledgers/{LEDGER}/entries/0"), None)
        .await
        .unwrap();
    let by_seq: Value = serde_json::from_slice(&by_seq).unwrap();
    assert_eq!(
        (status, by_seq["envelope_id"].as_str()),
        (200, Some(receipt.envelope_id.as_str()))
    );
    assert_eq!(by_seq["entry_hash"].as_str(), receipt.entry_hash.as_deref());
    assert_eq!(
        peer.request("GET", &format!("/v1/ledgers/{LEDGER}/entries/1"), None)
            .await
            .unwrap()
            .0,
        404
    );
    let policies = peer_policies(&peer).await;
    let trust = gw.trust(&policies);
    let verified = veilgate_core::verify(&fetched.bytes, &trust, &mut rand_core::OsRng).unwrap();

    let public: BTreeSet<String> = ["payer_bank", "payee_bank", "currency", "value_date"]
        .map(String::from)
        .into();
    let with = |extra: &[&str]| -> BTreeSet<String> {
        public
            .iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let open = |who: &str| veilgate_core::open(&verified, &gw.secrets(who), None);
    assert_eq!(
        opened_names(&open("bank-a").unwrap()),
        with(&["amount", "payer_account"])
    );
    assert_eq!(
        opened_names(&open("bank-b").unwrap()),
        with(&["amount", "payee_account", "remittance"])
    );
    assert_eq!(
        opened_names(&open("regulator").unwrap()),
        with(&["amount", "payer_account", "payee_account"])
    );
    assert_eq!(
        open("bank-c"),
        Err(OpenError::NotARecipient("bank-c".into()))
    );
    let s = sample();
    let b: BTreeMap<String, String> = open("bank-b")
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.value.display()))
        .collect();
    assert_eq!(b["amount"], s["amount"].as_str().unwrap());
    assert_eq!(b["remittance"], s["remittance"].as_str().unwrap());
    assert_eq!(b["payee_account"], s["payee_account"].as_str().unwrap());

    // The gateway opens for its own institutions only what is addressed to them, and audits it.
    let open_path = format!(
        "/v1/ledgers/{LEDGER}/envelopes/{}/open",
        receipt.envelope_id
    );
    let (status, body) = gw
        .client("bank-b")
        .request("POST", &open_path, None)
        .await
        .unwrap();
    let opened: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{opened}");
    let names: BTreeSet<String> = opened["fields"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(names, with(&["amount", "payee_account", "remittance"]));
    let (status, body) = gw
        .client("bank-c")
        .request("POST", &open_path, None)
        .await
        .unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    // Verify as a service: the stored bytes pass, a flipped byte is rejected with its reason.
    let verify_path = format!("/v1/ledgers/{LEDGER}/verify");
    let b64 = |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    let (_, ok) = peer
        .request(
            "POST",
            &verify_path,
            Some(
                json!({ "envelope": b64(&fetched.bytes) })
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&ok).unwrap()["accepted"],
        true
    );
    let mut bad = fetched.bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let (_, no) = peer
        .request(
            "POST",
            &verify_path,
            Some(json!({ "envelope": b64(&bad) }).to_string().into_bytes()),
        )
        .await
        .unwrap();
    let no: Value = serde_json::from_slice(&no).unwrap();
    assert_eq!(
        (no["accepted"].as_bool(), no["reason"].as_str()),
        (Some(false), Some("bad_signature"))
    );

    // Every single-byte flip of the stored envelope is rejected.
    for i in 0..fetched.bytes.len() {
        let mut bad = fetched.bytes.clone();
        bad[i] ^= 0x04;
        assert!(
            veilgate_core::verify(&bad, &trust, &mut rand_core::OsRng).is_err(),
            "flip at byte {i} accepted"
        );
    }
}

fn canary(rng: &mut impl RngCore) -> String {
    let mut b = [0u8; 12];
    rng.fill_bytes(&mut b);
    format!("CANARY{}", hex::encode(b))
}

#[tokio::test(flavor = "multi_thread")]
async fn canaries_never_reach_the_ledger_the_envelope_json_or_the_logs() {
    let mut gw = Gateway::start();
    let bank_a = gw.client("bank-a");
    let mut rng = rand_core::OsRng;
    let mut canaries: Vec<Vec<u8>> = Vec::new();
    let mut ids = Vec::new();
    for i in 0..4 {
        let mut r = sample();
        for f in [
            "payer_account",
            "payee_account",
            "payer_name",
            "payee_name",
            "remittance",
        ] {
            let c = canary(&mut rng);
            canaries.push(c.clone().into_bytes());
            r[f] = c.into();
        }
        // The amount too: its decimal text and its 8-byte encoding must stay off the ledger.
        let minor = 100_000 + (rng.next_u32() % 1_000_000_000) as i64;
        let text = format!("{}.{:02}", minor / 100, minor % 100);
        canaries.push(text.clone().into_bytes());
        canaries.push(minor.to_be_bytes().to_vec());
        r["amount"] = text.into();
        let receipt = bank_a
            .submit(LEDGER, POLICY, &format!("canary-{i}"), &r)
            .await
            .unwrap();
        ids.push(receipt.envelope_id);
    }
    // Rejected requests carrying canaries: the errors must not echo them.
    let mut responses = Vec::new();
    let c = canary(&mut rng);
    canaries.push(c.clone().into_bytes());
    let mut r = sample();
    r["amount"] = c.clone().into();
    responses.push(
        bank_a
            .request(
                "POST",
                &format!("/v1/ledgers/{LEDGER}/records"),
                Some(
                    json!({"policy": POLICY, "idempotency_key": "bad-1", "record": r})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await
            .unwrap()
            .1,
    );
    let mut r = sample();
    r["value_date"] = json!({ "nested": c });
    responses.push(
        bank_a
            .request(
                "POST",
                &format!("/v1/ledgers/{LEDGER}/records"),
                Some(
                    json!({"policy": POLICY, "idempotency_key": "bad-2", "record": r})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await
            .unwrap()
            .1,
    );
    responses.push(
        bank_a
            .request(
                "POST",
                &format!("/v1/ledgers/{LEDGER}/records"),
                Some(
                    format!("{{\"policy\": \"{POLICY}\", \"record\": {{\"x\": \"{c}\"")
                        .into_bytes(),
                ),
            )
            .await
            .unwrap()
            .1,
    );

    let mut envelope_json = Vec::new();
    for id in &ids {
        let (status, body) = bank_a
            .request("GET", &format!("/v1/ledgers/{LEDGER}/envelopes/{id}"), None)
            .await
            .unwrap();
        assert_eq!(status, 200);
        envelope_json.extend(body);
    }
    // Opening through the gateway decrypts in the server: its log and store must stay clean too.
    for id in &ids {
        let (status, _) = gw
            .client("regulator")
            .request(
                "POST",
                &format!("/v1/ledgers/{LEDGER}/envelopes/{id}/open"),
                None,
            )
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let log = gw.stop();
    assert!(log.contains("accepted"), "the log is captured: {log}");
    let mut ledger_bytes = Vec::new();
    for entry in std::fs::read_dir(gw.data().join("ledgers").join(LEDGER)).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "redb") {
            ledger_bytes.extend(std::fs::read(p).unwrap());
        }
    }
    assert!(
        ledger_bytes.len() > 4 * 1800,
        "the ledger file holds the envelopes"
    );
    // Positive control: public values are found in the same bytes, so the
    // search below would see a canary if one were stored.
    for public in [&b"bank-b"[..], b"2026-11-25", b"canary-3"] {
        assert!(
            ledger_bytes.windows(public.len()).any(|w| w == public),
            "control {:?} missing",
            String::from_utf8_lossy(public)
        );
        assert!(envelope_json.windows(public.len()).any(|w| w == public));
    }
    let store_bytes = std::fs::read(gw.data().join("gateway.redb")).unwrap();
    let haystacks: [(&str, &[u8]); 5] = [
        ("ledger file", &ledger_bytes),
        ("gateway store (outbox, audit)", &store_bytes),
        ("envelope JSON", &envelope_json),
        ("server log", log.as_bytes()),
        ("error responses", &responses.concat()),
    ];
    for (name, hay) in haystacks {
        for c in &canaries {
            assert!(
                !hay.windows(c.len()).any(|w| w == c.as_slice()),
                "a canary ({} bytes) appears in the {name}",
                c.len()
            );
        }
    }
}

async fn post(c: &Client, ledger: &str, body: Vec<u8>) -> (u16, Value) {
    let (status, body) = c
        .request("POST", &format!("/v1/ledgers/{ledger}/records"), Some(body))
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("non-JSON error body: {}", String::from_utf8_lossy(&body))),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_4xx_naming_the_field_and_writes_nothing() {
    let gw = Gateway::start();
    let c = gw.client("bank-a");
    let first = c.submit(LEDGER, POLICY, "good-0", &sample()).await.unwrap();
    let req = |record: Value| {
        json!({"policy": POLICY, "idempotency_key": "bad", "record": record})
            .to_string()
            .into_bytes()
    };
    let with = |k: &str, v: Value| {
        let mut r = sample();
        r[k] = v;
        r
    };
    let without = |k: &str| {
        let mut r = sample();
        r.as_object_mut().unwrap().remove(k);
        r
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str, Option<&str>)> = vec![
        (
            "malformed JSON",
            b"{\"policy\": ".to_vec(),
            400,
            "malformed_json",
            None,
        ),
        (
            "body not an object",
            b"[1,2]".to_vec(),
            400,
            "malformed_request",
            None,
        ),
        (
            "missing field",
            req(without("amount")),
            422,
            "invalid_record",
            Some("amount"),
        ),
        (
            "unknown field",
            req(with("iban", json!("x"))),
            422,
            "invalid_record",
            Some("iban"),
        ),
        (
            "wrong type",
            req(with("amount", json!(12.5))),
            422,
            "invalid_record",
            Some("amount"),
        ),
        (
            "too many decimals",
            req(with("amount", json!("1.005"))),
            422,
            "invalid_record",
            Some("amount"),
        ),
        (
            "amount below range",
            req(with("amount", json!("0.00"))),
            422,
            "invalid_record",
            Some("amount"),
        ),
        (
            "amount above range",
            req(with("amount", json!("1000000000.01"))),
            422,
            "invalid_record",
            Some("amount"),
        ),
        (
            "not a calendar date",
            req(with("value_date", json!("2026-02-30"))),
            422,
            "invalid_record",
            Some("value_date"),
        ),
        (
            "enum outside its values",
            req(with("currency", json!("XAU"))),
            422,
            "invalid_record",
            Some("currency"),
        ),
        (
            "party not admitted",
            req(with("payee_bank", json!("bank-z"))),
            422,
            "invalid_record",
            Some("payee_bank"),
        ),
        (
            "record not an object",
            req(json!("text")),
            422,
            "invalid_record",
            Some("record"),
        ),
        (
            "unknown policy",
            json!({"policy": "no-such", "idempotency_key": "k", "record": sample()})
                .to_string()
                .into_bytes(),
            404,
            "unknown_policy",
            Some("policy"),
        ),
        (
            "bad idempotency key",
            json!({"policy": POLICY, "idempotency_key": "has space", "record": sample()})
                .to_string()
                .into_bytes(),
            422,
            "invalid_idempotency_key",
            Some("idempotency_key"),
        ),
        (
            "missing idempotency key",
            json!({"policy": POLICY, "record": sample()})
                .to_string()
                .into_bytes(),
            400,
            "malformed_request",
            Some("idempotency_key"),
        ),
    ];
    for (name, body, status, code, field) in cases {
        let (got, err) = post(&c, LEDGER, body).await;
        assert_eq!(
            (got, err["code"].as_str().unwrap()),
            (status, code),
            "{name}: {err}"
        );
        assert_eq!(err["field"].as_str(), field, "{name}: {err}");
        assert!(!err["message"].as_str().unwrap().is_empty(), "{name}");
    }
    let (got, err) = post(&c, "no-such-ledger", req(sample())).await;
    assert_eq!(
        (got, err["code"].as_str().unwrap(), err["field"].as_str()),
        (404, "unknown_ledger", Some("ledger"))
    );
    let (status, _) = c
        .request(
            "POST",
            &format!("/v1/ledgers/{LEDGER}/records"),
            Some(vec![b' '; 2 * 1024 * 1024]),
        )
        .await
        .unwrap();
    assert_eq!(status, 413);

    // Nothing was written: the next good record takes the very next position.
    let next = c.submit(LEDGER, POLICY, "good-1", &sample()).await.unwrap();
    assert_eq!(next.sequence.unwrap(), first.sequence.unwrap() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admitted_certificates_get_in() {
    let gw = Gateway::start();
    let data = gw.data();
    let ca = std::fs::read(data.join("ca/ca.pem")).unwrap();

    // A certificate from another CA is refused at the handshake.
    let rogue_ca_key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(p, rogue_ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "bank-a");
    let cert = p.signed_by(&key, &issuer).unwrap();
    let rogue = Client::new(
        &gw.base,
        &ca,
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )
    .unwrap();
    assert!(matches!(
        rogue.request("GET", "/v1/health", None).await,
        Err(ClientError::Transport(_))
    ));

    // No client certificate at all: the handshake fails.
    {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let addr = gw.base.trim_start_matches("https://");
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        // TLS 1.3: the client may finish its side; the server's refusal arrives on first read.
        if let Ok(mut tls) = connector.connect(name, tcp).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = tls
                .write_all(b"GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n")
                .await;
            let mut buf = Vec::new();
            let read = tls.read_to_end(&mut buf).await;
            assert!(
                read.is_err() || buf.is_empty(),
                "a connection without a certificate got an answer: {}",
                String::from_utf8_lossy(&buf)
            );
        }
    }

    // A policy by id, and an unknown one.
    let bank_c = gw.client("bank-c");
    let (status, body) = bank_c
        .request(
            "GET",
            &format!("/v1/ledgers/{LEDGER}/policies/{POLICY}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            status,
            serde_json::from_slice::<Value>(&body).unwrap()["version"].as_u64()
        ),
        (200, Some(3))
    );
    assert_eq!(
        bank_c
            .request("GET", &format!("/v1/ledgers/{LEDGER}/policies/nope"), None)
            .await
            .unwrap()
            .0,
        404
    );

    // Certificates from the consortium CA, made here with its key.
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(data.join("ca/ca.key.pem")).unwrap())
            .unwrap();
    // Same subject and key as the dev CA, so the certificates chain to it.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "Veilgate development consortium CA",
    );
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let issue = |cn: &str, expired: bool| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = p.signed_by(&key, &issuer).unwrap();
        Client::new(
            &gw.base,
            &ca,
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
        )
        .unwrap()
    };

    // A consortium certificate for an institution that is not a ledger member: 403.
    match issue("bank-z", false)
        .submit(LEDGER, POLICY, "x", &sample())
        .await
    {
        Err(ClientError::Api {
            status: 403, code, ..
        }) => assert_eq!(code, "not_admitted"),
        other => panic!("expected 403, got {other:?}"),
    }
    // An expired certificate is refused at the handshake.
    assert!(matches!(
        issue("bank-a", true)
            .request("GET", "/v1/health", None)
            .await,
        Err(ClientError::Transport(_))
    ));

    // Revocation takes effect without a restart: by certificate, then by institution.
    let bank_b = gw.client("bank-b");
    let policies = format!("/v1/ledgers/{LEDGER}/policies");
    assert_eq!(bank_b.request("GET", &policies, None).await.unwrap().0, 200);
    let pem = std::fs::read(data.join("institutions/bank-b/client.pem")).unwrap();
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    use sha2::Digest;
    let fingerprint = hex::encode(sha2::Sha256::digest(der.as_ref()));
    let revoke = |body: serde_json::Value| {
        veilgate_testkit::data::replace_file(
            &data.join("revocations.json"),
            body.to_string().as_bytes(),
        )
        .unwrap();
    };
    revoke(json!({ "certificates": [fingerprint] }));
    let (status, body) = bank_b.request("GET", &policies, None).await.unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("revoked"));
    // A new certificate for bank-b from the CA is not the revoked one.
    assert_eq!(
        issue("bank-b", false)
            .request("GET", &policies, None)
            .await
            .unwrap()
            .0,
        200
    );
    revoke(json!({ "institutions": ["bank-b"] }));
    assert_eq!(
        issue("bank-b", false)
            .request("GET", &policies, None)
            .await
            .unwrap()
            .0,
        403
    );
    revoke(json!({}));
    assert_eq!(bank_b.request("GET", &policies, None).await.unwrap().0, 200);

    // The admitted institutions get in.
    assert_eq!(
        gw.client("bank-b")
            .request("GET", "/v1/health", None)
            .await
            .unwrap()
            .0,
        200
    );
}
