//! The audit log read back action by action (`docs/formats/audit.md`, the
//! table of action codes): the real `veilgate` binary over mTLS performs
//! each documented action once, and after each the log has grown by exactly
//! the documented entries — action, actor, ledger, envelope id and detail —
//! and nothing else; the chain verifies throughout and `veilgate audit
//! verify` accepts the whole log and its anchor at the end.
//!
//! The rate-limit summary of `refused` needs more than 120 refusals in one
//! minute: `hardening.rs` (`refusals_are_audited_rate_limited_and_counted`).
//! Policy publication (`veilgate policy publish`) has no action of its own:
//! it shows in the trail only through the next `start` entry's hashes.
//! `key_recover` is run with the gateway stopped, as documented.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use sha2::Digest;
use veilgate_client::{Client, Tls};
use veilgate_server::audit::{Action, AuditEntry};
use veilgate_testkit::material::{DEV_LEDGER, DEV_SM_LEDGER};
use veilgate_testkit::process::{Options, Process};

const POLICY: &str = "interbank-payment";
/// How long any one awaited effect may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(30);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn id16(hex_id: &str) -> [u8; 16] {
    hex::decode(hex_id)
        .unwrap()
        .try_into()
        .unwrap_or_else(|_| panic!("`{hex_id}` is not 16 bytes of hex"))
}

/// What an entry's `detail` must be.
#[derive(Debug)]
enum Detail {
    Is(String),
    /// For texts whose tail is another library's (a TLS error message).
    StartsWith(String),
    /// `policies ` and exactly these items, in any order.
    Policies(Vec<String>),
}

/// One documented entry.
#[derive(Debug)]
struct Want {
    actor: String,
    action: Action,
    ledger: Option<String>,
    envelope_id: Option<[u8; 16]>,
    detail: Detail,
}

fn want(
    actor: &str,
    action: Action,
    ledger: Option<&str>,
    envelope_id: Option<[u8; 16]>,
    detail: Detail,
) -> Want {
    Want {
        actor: actor.into(),
        action,
        ledger: ledger.map(str::to_owned),
        envelope_id,
        detail,
    }
}

fn matches(e: &AuditEntry, w: &Want) -> bool {
    let detail = e.event.detail.as_deref();
    let detail_ok = match &w.detail {
        Detail::Is(d) => detail == Some(d.as_str()),
        Detail::StartsWith(p) => detail.is_some_and(|d| d.starts_with(p.as_str())),
        Detail::Policies(items) => detail
            .and_then(|d| d.strip_prefix("policies "))
            .is_some_and(|d| {
                let mut got: Vec<&str> = d.split(' ').collect();
                let mut want: Vec<&str> = items.iter().map(String::as_str).collect();
                got.sort_unstable();
                want.sort_unstable();
                got == want
            }),
    };
    e.event.actor == w.actor
        && e.event.action == w.action
        && e.event.ledger == w.ledger
        && e.event.envelope_id == w.envelope_id
        && detail_ok
}

/// The gateway's audit log as a supervisor reads it, beside the running
/// gateway (read-only), and how much of it the test has accounted for.
struct Log {
    store: PathBuf,
    seen: usize,
}

impl Log {
    fn read(&self) -> Vec<AuditEntry> {
        let entries = veilgate_server::store::StoreReader::open(&self.store)
            .unwrap()
            .audit_entries()
            .unwrap();
        veilgate_server::audit::verify_chain(&entries).unwrap();
        entries
    }

    /// Waits until the log has grown by `wanted.len()` entries since the
    /// last call, then asserts that the new entries are exactly `wanted`,
    /// in order, each written between `since_ms` and now. An entry nobody
    /// documented shows either here or at the next call.
    fn expect(&mut self, since_ms: u64, wanted: &[Want]) -> Vec<AuditEntry> {
        let deadline = Instant::now() + DEADLINE;
        let entries = loop {
            let entries = self.read();
            if entries.len() >= self.seen + wanted.len() {
                break entries;
            }
            assert!(
                Instant::now() < deadline,
                "the audit log did not grow by {} entries within {DEADLINE:?}: wanted {wanted:#?}, new {:#?}",
                wanted.len(),
                &entries[self.seen..]
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let new = entries[self.seen..].to_vec();
        assert_eq!(
            new.len(),
            wanted.len(),
            "wanted exactly {wanted:#?}, the log gained {new:#?}"
        );
        let until_ms = now_ms();
        for (e, w) in new.iter().zip(wanted) {
            assert!(matches(e, w), "wanted {w:#?}, the log has {e:#?}");
            assert!(
                (since_ms..=until_ms).contains(&e.time_ms),
                "entry {} written at {} ms, outside the action's {since_ms}..={until_ms}",
                e.seq,
                e.time_ms
            );
        }
        self.seen = entries.len();
        new
    }
}

fn veilgate(args: &[&str]) -> (bool, String, String) {
    veilgate_testkit::process::run(env!("CARGO_BIN_EXE_veilgate"), args).unwrap()
}

/// A key file as the CLI expects one: readable by its owner only.
fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn start(root: &Path, data: &Path) -> Process {
    let log = root.join("server.log");
    let mut o = Options::new(env!("CARGO_BIN_EXE_veilgate"), data, &log);
    o.dev = true;
    Process::start(&o)
        .unwrap_or_else(|e| panic!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default()))
}

/// `ledger:policy@version=hash` of every policy the gateway publishes, as
/// its API announces them: what the `start` entry must list.
async fn published(data: &Path, gw: &Process) -> Vec<String> {
    let sm_base = gw.sm_base.as_deref().expect("the SM listener's address");
    let mut out = Vec::new();
    for (ledger, base, tls) in [
        (DEV_LEDGER, gw.base.as_str(), Tls::Standard),
        (DEV_SM_LEDGER, sm_base, Tls::Sm),
    ] {
        let c = Client::from_data_dir_over(data, "bank-a", base, tls).unwrap();
        for p in c.policies(ledger).await.unwrap() {
            out.push(format!("{ledger}:{}@{}={}", p.id, p.version, p.hash));
        }
    }
    assert!(out.len() >= 2, "both ledgers publish policies: {out:?}");
    out
}

fn start_entry(policies: Vec<String>) -> Want {
    want(
        "gateway",
        Action::Start,
        None,
        None,
        Detail::Policies(policies),
    )
}

fn sample() -> Value {
    serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap()
}

/// `SHA-256("veilgate/audit-anchor-id/v1" ‖ u64 seq)[..16]`, as
/// docs/audit.md defines it.
fn anchor_id(seq: u64) -> [u8; 16] {
    let mut h = sha2::Sha256::new();
    h.update(b"veilgate/audit-anchor-id/v1");
    h.update(seq.to_be_bytes());
    h.finalize()[..16].try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_action_leaves_exactly_its_entry_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    // No anchors until the test asks for one: a timed anchor would land
    // between the entries each step expects.
    let data = veilgate_testkit::data::dev_data_dir(
        root.path(),
        &[(
            "audit_anchor_interval_ms = 10000",
            "audit_anchor_interval_ms = 100000000",
        )],
    )
    .unwrap();
    let mut log = Log {
        store: data.join("gateway.redb"),
        seen: 0,
    };
    let ledger = Some(DEV_LEDGER);
    let d = data.to_str().unwrap();

    // For `key_recover` at the end: three custodians, bank-b's key escrowed
    // 2-of-3 (offline tools, which audit nothing; the log checks below
    // would show an entry).
    let custodians: Vec<(String, PathBuf)> = ["custodian-a", "custodian-b", "custodian-c"]
        .iter()
        .map(|id| {
            let s = veilgate_core::InstitutionSecrets::generate(
                id,
                veilgate_core::SuiteId::Standard,
                &mut rand_core::OsRng,
            );
            let path = root.path().join(format!("{id}.json"));
            write_secret(&path, &s.to_json());
            (hex::encode(&s.key().kem_public), path)
        })
        .collect();
    let dir_path = data.join("consortium.json");
    let mut dir: Value =
        serde_json::from_str(&std::fs::read_to_string(&dir_path).unwrap()).unwrap();
    let listed: Vec<Value> = ["custodian-a", "custodian-b", "custodian-c"]
        .iter()
        .zip(&custodians)
        .map(|(id, (public, _))| json!({ "id": id, "kem": "x25519", "kem_public": public }))
        .collect();
    dir["recovery"] = json!({ "threshold": 2, "custodians": listed });
    std::fs::write(&dir_path, serde_json::to_string_pretty(&dir).unwrap()).unwrap();
    let (ok, out, err) = veilgate(&["keys", "escrow", "--data", d, "--member", "bank-b"]);
    assert!(ok, "{out}{err}");
    let bundle = serde_json::from_str::<Value>(&out).unwrap()["bundle"]
        .as_str()
        .unwrap()
        .to_owned();
    let escrowed_key = veilgate_testkit::data::secrets(&data, "bank-b")
        .unwrap()
        .key()
        .id
        .hex();

    // start: the policies published, by hash.
    let t = now_ms();
    let mut gw = start(root.path(), &data);
    let policies = published(&data, &gw).await;
    log.expect(t, &[start_entry(policies.clone())]);

    // submit: the submitter, the envelope and its policy.
    let t = now_ms();
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let r = bank_a
        .submit(DEV_LEDGER, POLICY, "audit-1", &sample())
        .await
        .unwrap();
    let id = id16(&r.envelope_id);
    let r = bank_a
        .wait_on_ledger(DEV_LEDGER, &r.envelope_id, DEADLINE)
        .await
        .unwrap();
    assert!(r.on_ledger(), "{r:?}");
    // Delivery onto the ledger is not an audited action of its own.
    log.expect(
        t,
        &[want(
            "bank-a",
            Action::Submit,
            ledger,
            Some(id),
            Detail::Is(format!("policy {POLICY}")),
        )],
    );

    // requeue: the ledger loses the delivery while the gateway is down (a
    // node restored from before it); the restarted gateway puts it back.
    gw.kill();
    let ledger_file = data.join("ledgers").join(DEV_LEDGER).join("ledger.redb");
    std::fs::remove_file(&ledger_file).unwrap();
    let t = now_ms();
    gw = start(root.path(), &data);
    log.expect(
        t,
        &[
            start_entry(policies.clone()),
            want(
                "gateway",
                Action::Requeue,
                ledger,
                Some(id),
                Detail::Is("the ledger no longer holds this delivery; delivering again".into()),
            ),
        ],
    );
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let r = bank_a
        .wait_on_ledger(DEV_LEDGER, &hex::encode(id), DEADLINE)
        .await
        .unwrap();
    assert_eq!((r.on_ledger(), r.sequence), (true, Some(0)), "{r:?}");

    // open: the recipient, the envelope, how many fields.
    let t = now_ms();
    let bank_b = Client::from_data_dir(&data, "bank-b", &gw.base).unwrap();
    let opened = bank_b
        .open_remote(DEV_LEDGER, &hex::encode(id))
        .await
        .unwrap();
    let fields = opened["fields"].as_object().unwrap().len();
    assert!(fields > 0, "{opened}");
    log.expect(
        t,
        &[want(
            "bank-b",
            Action::Open,
            ledger,
            Some(id),
            Detail::Is(format!("{fields} fields")),
        )],
    );

    // verify: accepted, then a tampered copy rejected with its code.
    let bank_c = Client::from_data_dir(&data, "bank-c", &gw.base).unwrap();
    let bytes = bank_c
        .envelope(DEV_LEDGER, &hex::encode(id))
        .await
        .unwrap()
        .bytes;
    let t = now_ms();
    let answer = bank_c.verify_remote(DEV_LEDGER, &bytes).await.unwrap();
    assert_eq!(answer["accepted"], true, "{answer}");
    log.expect(
        t,
        &[want(
            "bank-c",
            Action::Verify,
            ledger,
            Some(id),
            Detail::Is("accepted".into()),
        )],
    );
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let t = now_ms();
    let answer = bank_c.verify_remote(DEV_LEDGER, &tampered).await.unwrap();
    assert_eq!(answer["accepted"], false, "{answer}");
    let code = answer["reason"].as_str().unwrap();
    log.expect(
        t,
        &[want(
            "bank-c",
            Action::Verify,
            ledger,
            Some(id),
            Detail::Is(format!("rejected: {code}")),
        )],
    );

    // refused (permission): bank-c is not a recipient of this payment.
    let t = now_ms();
    let (status, body) = bank_c
        .request(
            "POST",
            &format!(
                "/v1/ledgers/{DEV_LEDGER}/envelopes/{}/open",
                hex::encode(id)
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    log.expect(
        t,
        &[want(
            "bank-c",
            Action::Refused,
            ledger,
            None,
            Detail::Is(
                "reason=not_a_recipient route=POST /v1/ledgers/{ledger}/envelopes/{id}/open".into(),
            ),
        )],
    );

    // refused (handshake): a certificate for `bank-a` from another CA.
    let rogue_ca = {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Rogue CA");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        rcgen::Issuer::new(p, rcgen::KeyPair::generate().unwrap())
    };
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "bank-a");
    let cert = p.signed_by(&key, &rogue_ca).unwrap();
    let impostor = Client::new(
        &gw.base,
        &std::fs::read(data.join("ca/ca.pem")).unwrap(),
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let t = now_ms();
    assert!(impostor.request("GET", "/v1/health", None).await.is_err());
    log.expect(
        t,
        &[want(
            "-",
            Action::Refused,
            None,
            None,
            Detail::StartsWith(
                "reason=certificate_refused subject=CN=bank-a issuer=CN=Rogue CA error=".into(),
            ),
        )],
    );

    // set_publish: the publisher, the root entry's id, `set vN`.
    let regulator = Client::from_data_dir(&data, "regulator", &gw.base).unwrap();
    let file = veilgate_core::sets::SetContents::build(
        DEV_LEDGER,
        "sanctions_list",
        1,
        &[
            "ACME SHELL COMPANY LTD".into(),
            "NORTHWIND FRONT LLC".into(),
        ],
    )
    .unwrap();
    let t = now_ms();
    let (status, set_root) = regulator
        .json_with_status(
            "POST",
            &format!("/v1/ledgers/{DEV_LEDGER}/sets"),
            Some(json!({ "file": file.file }).to_string().into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{set_root}");
    log.expect(
        t,
        &[want(
            "regulator",
            Action::SetPublish,
            ledger,
            Some(id16(set_root["entry_id"].as_str().unwrap())),
            Detail::Is("sanctions_list v1".into()),
        )],
    );

    // key_rotate: the new key, when it takes force, the one it follows.
    let valid_from = now_ms() + 3_600_000;
    let t = now_ms();
    let rotated = bank_a
        .rotate_key(DEV_LEDGER, Some(valid_from))
        .await
        .unwrap();
    let previous = veilgate_testkit::data::secrets(&data, "bank-a")
        .unwrap()
        .key()
        .id
        .hex();
    assert_eq!(rotated["previous_key_id"], previous.as_str(), "{rotated}");
    log.expect(
        t,
        &[want(
            "bank-a",
            Action::KeyRotate,
            ledger,
            Some(id16(rotated["entry_id"].as_str().unwrap())),
            Detail::Is(format!(
                "{} from {valid_from}; previous {previous}",
                rotated["key_id"].as_str().unwrap()
            )),
        )],
    );

    // key_freeze: the key, whose, from when, why.
    let frozen_key = veilgate_testkit::data::secrets(&data, "bank-c")
        .unwrap()
        .key()
        .id
        .hex();
    let t = now_ms();
    let frozen = bank_c
        .freeze_key(DEV_LEDGER, &frozen_key, "lost", None, None)
        .await
        .unwrap();
    let from = frozen["frozen_from_ms"].as_u64().unwrap();
    log.expect(
        t,
        &[want(
            "bank-c",
            Action::KeyFreeze,
            ledger,
            Some(id16(frozen["entry_id"].as_str().unwrap())),
            Detail::Is(format!("{frozen_key} of bank-c from {from}, lost")),
        )],
    );

    // permissions_reloaded, then refused (revoked): bank-b's certificate is
    // revoked by fingerprint while the gateway runs. The reload is picked
    // up by the next request; bank-b's own requests show when it took
    // effect (those before are answered and audit nothing).
    let der = rustls::pki_types::CertificateDer::from_pem_file(
        data.join("institutions/bank-b/client.pem"),
    )
    .unwrap();
    let fingerprint = hex::encode(sha2::Sha256::digest(der.as_ref()));
    let t = now_ms();
    std::fs::write(
        data.join("revocations.json"),
        json!({ "certificates": [fingerprint] }).to_string(),
    )
    .unwrap();
    let policies_path = format!("/v1/ledgers/{DEV_LEDGER}/policies");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (status, _) = bank_b.request("GET", &policies_path, None).await.unwrap();
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "bank-b was not refused within {DEADLINE:?} of its revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    log.expect(
        t,
        &[
            want(
                "gateway",
                Action::PermissionsReloaded,
                None,
                None,
                Detail::Is(
                    "revocations in force: certificate=1 serial=0 crl_entry=0 institution=0 (from 0 CRLs)"
                        .into(),
                ),
            ),
            want(
                "bank-b",
                Action::Refused,
                ledger,
                None,
                Detail::Is("reason=revoked route=GET /v1/ledgers/{ledger}/policies".into()),
            ),
        ],
    );

    // anchor: restarted with a short interval, the gateway writes the head
    // (its start entry) to the ledger whose id sorts first, once: the head
    // is then an anchor, and an anchor is not anchored again.
    gw.kill();
    veilgate_testkit::data::edit_config(
        &data,
        &[(
            "audit_anchor_interval_ms = 100000000",
            "audit_anchor_interval_ms = 200",
        )],
    )
    .unwrap();
    let t = now_ms();
    gw = start(root.path(), &data);
    let restarted = log.expect(t, &[start_entry(policies.clone())]);
    let head = restarted[0].seq;
    let anchored = log.expect(
        t,
        &[want(
            "gateway",
            Action::Anchor,
            ledger,
            Some(anchor_id(head)),
            Detail::StartsWith(format!("audit entry {head} anchored at ledger position ")),
        )],
    );
    gw.kill();

    // The anchor is where its entry says, with the documented 44 bytes.
    let detail = anchored[0].event.detail.clone().unwrap();
    let position: u64 = detail.rsplit(' ').next().unwrap().parse().unwrap();
    {
        use veilgate_ledger::Ledger as _;
        let l = veilgate_ledger::EmbeddedLedger::open(&ledger_file).unwrap();
        let e = l.by_sequence(position).unwrap().unwrap();
        assert_eq!(e.envelope_id, anchor_id(head));
        let mut bytes = b"VGAA".to_vec();
        bytes.extend_from_slice(&head.to_be_bytes());
        bytes.extend_from_slice(&restarted[0].hash);
        assert_eq!(e.envelope, bytes);
    }

    // key_recover, the gateway stopped: bank-b lost its key file and was
    // given a new key; custodians a and c release their shares to it.
    std::fs::remove_file(data.join("institutions/bank-b/secrets.json")).unwrap();
    let new = veilgate_core::InstitutionSecrets::generate(
        "bank-b",
        veilgate_core::SuiteId::Standard,
        &mut rand_core::OsRng,
    );
    write_secret(
        &data.join(format!(
            "institutions/bank-b/keys/{}.json",
            new.key().id.hex()
        )),
        &new.to_json(),
    );
    let (ok, out, err) = veilgate(&[
        "member",
        "key-add",
        "--data",
        d,
        "--ledger",
        DEV_LEDGER,
        "--id",
        "bank-b",
        "--sign-public",
        &hex::encode(&new.key().sign_public),
        "--kem-public",
        &hex::encode(&new.key().kem_public),
        "--from-ms",
        &now_ms().to_string(),
    ]);
    assert!(ok, "{out}{err}");
    let releases: Vec<String> = [0, 2]
        .iter()
        .map(|&i| {
            let (ok, out, err) = veilgate(&[
                "keys",
                "release-share",
                "--bundle",
                &bundle,
                "--key",
                custodians[i].1.to_str().unwrap(),
                "--directory",
                dir_path.to_str().unwrap(),
                "--ledger",
                DEV_LEDGER,
            ]);
            assert!(ok, "{out}{err}");
            let path = root.path().join(format!("release-{i}.json"));
            std::fs::write(&path, &out).unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    let t = now_ms();
    let (ok, out, err) = veilgate(&[
        "keys",
        "recover",
        "--data",
        d,
        "--member",
        "bank-b",
        "--bundle",
        &bundle,
        &releases[0],
        &releases[1],
    ]);
    assert!(ok, "{out}{err}");
    log.expect(
        t,
        &[want(
            "bank-b",
            Action::KeyRecover,
            None,
            None,
            Detail::Is(format!(
                "{escrowed_key} from shares 1 (custodian-a), 3 (custodian-c)"
            )),
        )],
    );

    // Nothing was written that the steps above did not account for, and
    // the operator's check accepts the chain and the anchor.
    assert_eq!(log.read().len(), log.seen, "{:#?}", log.read());
    let (ok, stdout, err) = veilgate(&["audit", "verify", "--data", d]);
    assert!(ok, "{stdout}{err}");
    assert_eq!(
        stdout.trim(),
        format!(
            "audit log ok: {} entries chained, 1 anchors on the ledger match",
            log.seen
        )
    );
}
