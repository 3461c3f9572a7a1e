//! Oblivious pseudonyms across processes (issue 20): the pseudonymisation
//! service is its own `veilgate pseudonym-service` process, the gateway
//! another, over mTLS. The same invoice from two suppliers gets one
//! pseudonym (double financing stays detectable); two of three share
//! holders evaluate exactly what the whole key would, and one alone
//! cannot; and every fault of the service — a bad element, a member over
//! its budget, an answer under another key, a service down — is a clear
//! error with nothing sealed without it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use veilgate_client::Client;
use veilgate_testkit::material::DEV_LEDGER;
use veilgate_testkit::process::{start_pseudonym_service, Options, Process};
use veilgate_testkit::pseudonyms::{deploy, set_addresses, ServiceDir};

const EXE: &str = env!("CARGO_BIN_EXE_veilgate");

fn service(root: &Path, s: &ServiceDir, listen: &str) -> Process {
    start_pseudonym_service(
        EXE,
        &s.dir,
        listen,
        &root.join(format!("service-{}.log", s.index)),
    )
    .unwrap()
}

fn gateway(root: &Path, data: &Path) -> Process {
    let mut o = Options::new(EXE, data.to_owned(), root.join("server.log"));
    o.dev = true;
    Process::start(&o).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            std::fs::read_to_string(root.join("server.log")).unwrap_or_default()
        )
    })
}

/// A deployment's services started and the gateway pointed at them.
fn start_all(root: &Path, data: &Path, dirs: &[ServiceDir]) -> Vec<Process> {
    let procs: Vec<Process> = dirs
        .iter()
        .map(|s| service(root, s, "127.0.0.1:0"))
        .collect();
    let addresses: Vec<(u32, &str)> = dirs
        .iter()
        .zip(&procs)
        .map(|(s, p)| (s.index, p.base.as_str()))
        .collect();
    set_addresses(data, DEV_LEDGER, &addresses, 3000).unwrap();
    procs
}

fn sample(name: &str) -> Value {
    let (_, text) = veilgate_policies::SAMPLES
        .iter()
        .find(|(f, _)| *f == format!("{name}.policy"))
        .unwrap();
    serde_json::from_str(text).unwrap()
}

async fn submit(c: &Client, policy: &str, key: &str, record: &Value) -> (u16, Value) {
    let body = json!({ "policy": policy, "idempotency_key": key, "record": record });
    let (status, bytes) = c
        .request(
            "POST",
            &format!("/v1/ledgers/{DEV_LEDGER}/records"),
            Some(body.to_string().into_bytes()),
        )
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The field `name` of the envelope `id` as the ledger view shows it.
async fn field(c: &Client, id: &str, name: &str) -> Value {
    let (status, bytes) = c
        .request(
            "GET",
            &format!("/v1/ledgers/{DEV_LEDGER}/envelopes/{id}"),
            None,
        )
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, 200, "{v}");
    v["view"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no field {name} in {v}"))
}

/// The service's tag of a string value, computed with `key` directly.
fn tag_of(key: &veilgate_pseudonym::Evaluator, value: &str) -> String {
    let canonical = veilgate_policies::Value::Str(value.into()).encode();
    let input = veilgate_pseudonym::pseudonym_input(DEV_LEDGER, 1, &canonical).unwrap();
    hex::encode(key.evaluate_tag(&input).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_invoice_from_two_suppliers_gets_the_same_pseudonym() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::all_templates_data_dir(root.path()).unwrap();
    let (dirs, key) = deploy(&data, DEV_LEDGER, 1, &["regulator"], 100_000).unwrap();
    let _services = start_all(root.path(), &data, &dirs);
    let gw = gateway(root.path(), &data);
    let (bank_a, bank_b) = (
        Client::from_data_dir(&data, "bank-a", &gw.base).unwrap(),
        Client::from_data_dir(&data, "bank-b", &gw.base).unwrap(),
    );
    let first = sample("supply-chain-receivable");
    let mut second = first.clone();
    second["supplier_bank"] = "bank-b".into();
    second["supplier"] = "Hangzhou Castings Ltd.".into();
    let mut other = first.clone();
    other["invoice_number"] = "INV-2026-004418".into();
    let mut ids = Vec::new();
    for (c, key, record) in [
        (&bank_a, "scf-1", &first),
        (&bank_b, "scf-2", &second),
        (&bank_a, "scf-3", &other),
    ] {
        let (status, body) = submit(c, "supply-chain-receivable", key, record).await;
        assert!(status == 201 || status == 202, "{status} {body}");
        ids.push(body["envelope_id"].as_str().unwrap().to_owned());
    }
    let invoice = |i: usize| field(&bank_a, &ids[i], "invoice_number");
    let (a, b, c) = (invoice(0).await, invoice(1).await, invoice(2).await);
    assert_eq!(a["kind"], "oblivious pseudonym", "{a}");
    assert_eq!(a["epoch"], 1);
    assert_eq!(a["pseudonym"], b["pseudonym"], "double financing must link");
    assert_ne!(a["pseudonym"], c["pseudonym"]);
    assert_eq!(a["pseudonym"], tag_of(&key, "INV-2026-004417").as_str());
    let supplier = |i: usize| field(&bank_a, &ids[i], "supplier");
    assert_ne!(
        supplier(0).await["pseudonym"],
        supplier(1).await["pseudonym"]
    );
}

/// Peers cannot check an oblivious pseudonym (they do not see the value);
/// a recipient can, by having the service evaluate the value it opened. A
/// forged envelope whose tag is not its value's passes every peer and is
/// caught by the recipient's `open?check_pseudonyms=true`.
#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_confirms_pseudonyms_and_catches_a_wrong_one() {
    use veilgate_core::{PolicySet, SealRequest};
    use veilgate_ledger::Ledger;
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    let (dirs, key) = deploy(&data, DEV_LEDGER, 1, &["regulator"], 100_000).unwrap();
    let _services = start_all(root.path(), &data, &dirs);

    // bank-a's gateway, dishonest: the payer account's tag is another value's.
    let (_, text) = veilgate_policies::TEMPLATES
        .iter()
        .find(|(n, _)| *n == "interbank-payment.policy")
        .unwrap();
    let plan = veilgate_policies::compile(&veilgate_testkit::data::on_dev_ledger(text)).unwrap();
    let record = plan.validate_record(&sample("interbank-payment")).unwrap();
    let trust =
        veilgate_testkit::data::trust(&data, DEV_LEDGER, PolicySet::new([plan.clone()])).unwrap();
    let bank_a = veilgate_testkit::data::secrets(&data, "bank-a").unwrap();
    let wrong = tag_of(&key, "6222020200000000");
    let tags = veilgate_core::ObliviousTags::new(
        1,
        veilgate_core::pseudonym_values(&plan, &record)
            .into_iter()
            .map(|v| {
                let payer = veilgate_policies::Value::Str("6222020200112233445".into()).encode();
                let t = if *v == payer {
                    hex::decode(&wrong).unwrap().try_into().unwrap()
                } else {
                    let input = veilgate_pseudonym::pseudonym_input(DEV_LEDGER, 1, &v).unwrap();
                    key.evaluate_tag(&input).unwrap()
                };
                (v.to_vec(), t)
            }),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let env = veilgate_core::seal(
        &SealRequest {
            trust: &trust,
            plan: &plan,
            record: &record,
            submitter: &bank_a,
            pseudonyms: (&tags).into(),
            idempotency_key: "wrong-tag",
            timestamp_ms: now,
        },
        &mut rand_core::OsRng,
    )
    .unwrap();
    let sequence = veilgate_ledger::EmbeddedLedger::open(
        &data.join(format!("ledgers/{DEV_LEDGER}/ledger.redb")),
    )
    .unwrap()
    .append(env.id, &env.encode())
    .unwrap()
    .receipt
    .sequence;
    let gw = gateway(root.path(), &data);
    let payee = Client::from_data_dir(&data, "bank-b", &gw.base).unwrap();
    let regulator = Client::from_data_dir(&data, "regulator", &gw.base).unwrap();

    // An honest record: its recipient confirms both pseudonyms.
    let (status, body) = submit(
        &Client::from_data_dir(&data, "bank-a", &gw.base).unwrap(),
        "interbank-payment",
        "honest-1",
        &sample("interbank-payment"),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let honest = body["envelope_id"].as_str().unwrap().to_owned();
    let (status, body) = open_as(&regulator, &honest, "?check_pseudonyms=true").await;
    assert_eq!(
        (status, body["pseudonyms_confirmed"].as_u64()),
        (200, Some(2)),
        "{body}"
    );
    let (status, body) = open_as(&regulator, &honest, "?check=1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_query")),
        "{body}"
    );

    // The forged one: peers cannot tell (the envelope is valid to them)…
    let (status, v) = {
        let (s, b) = payee
            .request("POST", &format!("/v1/ledgers/{DEV_LEDGER}/verify"), Some(
                json!({ "envelope": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, env.encode()) }).to_string().into_bytes(),
            ))
            .await
            .unwrap();
        (
            s,
            serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
        )
    };
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["accepted"], true, "{v}");
    // …its recipients open it without a check, and with one they catch it.
    let forged = hex::encode(env.id);
    let (status, body) = open_as(&regulator, &forged, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fields"]["payer_account"], "6222020200112233445");
    let (status, body) = open_as(&regulator, &forged, "?check_pseudonyms=true").await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (409, Some("pseudonym_mismatch"), Some("payer_account")),
        "{body}"
    );
    assert!(sequence < 10);
}

/// `POST …/open` as `c`, with `query` (`""` or `?…`).
async fn open_as(c: &Client, id: &str, query: &str) -> (u16, Value) {
    let (status, bytes) = c
        .request(
            "POST",
            &format!("/v1/ledgers/{DEV_LEDGER}/envelopes/{id}/open{query}"),
            Some(b"{}".to_vec()),
        )
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A new epoch (its key made by `veilgate pseudonym-service keygen`, added
/// to the directory and the service): the same account gets another
/// pseudonym from then on — linkability ends at the rotation, by design —
/// and envelopes of the old epoch stay valid.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_epoch_gives_new_pseudonyms_and_old_envelopes_stay_valid() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    let (dirs, key1) = deploy(&data, DEV_LEDGER, 1, &["regulator"], 100_000).unwrap();
    let services = start_all(root.path(), &data, &dirs);
    let gw = gateway(root.path(), &data);
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let (status, body) = submit(
        &bank_a,
        "interbank-payment",
        "e-1",
        &sample("interbank-payment"),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let first = body["envelope_id"].as_str().unwrap().to_owned();
    let old = field(&bank_a, &first, "payer_account").await;
    assert_eq!(old["epoch"], 1);
    assert_eq!(
        old["pseudonym"],
        tag_of(&key1, "6222020200112233445").as_str()
    );
    let (_, bytes) = bank_a
        .request(
            "GET",
            &format!("/v1/ledgers/{DEV_LEDGER}/envelopes/{first}"),
            None,
        )
        .await
        .unwrap();
    let first_envelope = serde_json::from_slice::<Value>(&bytes).unwrap()["envelope"]
        .as_str()
        .unwrap()
        .to_owned();
    drop((bank_a, gw, services));

    // The rotation: a key for epoch 2 from now, in the directory (the
    // gateway's and the service's copy) and in the service's configuration.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let keys = dirs[0].dir.join("keys2");
    let (ok, out, err) = veilgate_testkit::process::run(
        EXE,
        &[
            "pseudonym-service",
            "keygen",
            "--out",
            keys.to_str().unwrap(),
            "--ledger",
            DEV_LEDGER,
            "--epoch",
            "2",
            "--from-ms",
            &now.to_string(),
        ],
    )
    .unwrap();
    assert!(ok, "{out}{err}");
    let entry: Value = serde_json::from_str(out.split("\nkey files").next().unwrap()).unwrap();
    assert_eq!(entry["epoch"], 2);
    let file = keys.join(format!("{DEV_LEDGER}.2.1.key"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut directory: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("consortium.json")).unwrap())
            .unwrap();
    for l in directory["ledgers"].as_array_mut().unwrap() {
        if l["ledger"] == DEV_LEDGER {
            l["pseudonyms"]["epochs"]
                .as_array_mut()
                .unwrap()
                .push(entry.clone());
        }
    }
    let text = serde_json::to_string_pretty(&directory).unwrap();
    std::fs::write(data.join("consortium.json"), &text).unwrap();
    std::fs::write(dirs[0].dir.join("consortium.json"), &text).unwrap();
    let mut config = std::fs::read_to_string(dirs[0].dir.join("pseudonym-service.toml")).unwrap();
    config.push_str(&format!(
        "\n[[key]]\nledger = \"{DEV_LEDGER}\"\nepoch = 2\nfile = \"keys2/{DEV_LEDGER}.2.1.key\"\n"
    ));
    std::fs::write(dirs[0].dir.join("pseudonym-service.toml"), config).unwrap();
    let _services = start_all(root.path(), &data, &dirs);
    let gw = gateway(root.path(), &data);
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();

    let (status, body) = submit(
        &bank_a,
        "interbank-payment",
        "e-2",
        &sample("interbank-payment"),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let second = body["envelope_id"].as_str().unwrap().to_owned();
    let new = field(&bank_a, &second, "payer_account").await;
    assert_eq!(new["epoch"], 2, "{new}");
    assert_ne!(new["pseudonym"], old["pseudonym"]);
    let key2: [u8; 32] = hex::decode(std::fs::read_to_string(&file).unwrap().trim())
        .unwrap()
        .try_into()
        .unwrap();
    let key2 = veilgate_pseudonym::Evaluator::from_scalar(&key2).unwrap();
    let canonical = veilgate_policies::Value::Str("6222020200112233445".into()).encode();
    let input = veilgate_pseudonym::pseudonym_input(DEV_LEDGER, 2, &canonical).unwrap();
    assert_eq!(
        new["pseudonym"],
        hex::encode(key2.evaluate_tag(&input).unwrap()).as_str()
    );
    // The epoch-1 envelope is still valid to a peer.
    let (status, bytes) = bank_a
        .request(
            "POST",
            &format!("/v1/ledgers/{DEV_LEDGER}/verify"),
            Some(
                json!({ "envelope": first_envelope })
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, &v["accepted"]), (200, &Value::Bool(true)), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_of_three_services_evaluate_what_the_key_would_and_one_alone_cannot() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    let (dirs, key) = deploy(
        &data,
        DEV_LEDGER,
        2,
        &["regulator", "bank-c", "bank-b"],
        100_000,
    )
    .unwrap();
    let mut services = start_all(root.path(), &data, &dirs);
    let gw = gateway(root.path(), &data);
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let payment = |account: &str| {
        let mut p = sample("interbank-payment");
        p["payer_account"] = account.into();
        p
    };

    let (status, body) = submit(
        &bank_a,
        "interbank-payment",
        "t-1",
        &payment("6222020200000001"),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let id = body["envelope_id"].as_str().unwrap().to_owned();
    let tag = field(&bank_a, &id, "payer_account").await["pseudonym"].clone();
    assert_eq!(tag, tag_of(&key, "6222020200000001").as_str());
    // One share alone, used as if it were the key, computes something else.
    for s in &dirs {
        let share = std::fs::read_to_string(s.dir.join("keys/epoch-1.key")).unwrap();
        let share: [u8; 32] = hex::decode(share.trim()).unwrap().try_into().unwrap();
        let alone = veilgate_pseudonym::Evaluator::from_scalar(&share).unwrap();
        assert_ne!(
            tag,
            tag_of(&alone, "6222020200000001").as_str(),
            "share {}",
            s.index
        );
    }

    // Service 3 down: two still answer, with the same result.
    services.pop();
    let (status, body) = submit(
        &bank_a,
        "interbank-payment",
        "t-2",
        &payment("6222020200000002"),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {body}");
    let id = body["envelope_id"].as_str().unwrap().to_owned();
    assert_eq!(
        field(&bank_a, &id, "payer_account").await["pseudonym"],
        tag_of(&key, "6222020200000002").as_str()
    );

    // Service 2 down too: one share is not enough. The record is kept,
    // unsealed, and the answer says so.
    let second = services.pop().unwrap();
    let second_addr = second.base.trim_start_matches("https://").to_owned();
    drop(second);
    let request = payment_request("t-3", &payment("6222020200000003"));
    let answer = veilgate_testkit::data::raw_exchange(&data, &gw.base, "bank-a", &request)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("pseudonym_service_unavailable"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer}"
    );
    assert!(!answer.contains("6222020200000003"), "{answer}");
    assert!(
        answer.contains("\"state\":\"awaiting_pseudonyms\""),
        "{answer}"
    );
    assert_eq!(state_of(&bank_a, "t-3").await, "awaiting_pseudonyms");
    // A retry with the same key reports the state.
    let (status, body) = submit(
        &bank_a,
        "interbank-payment",
        "t-3",
        &payment("6222020200000003"),
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("awaiting_pseudonyms")),
        "{body}"
    );

    // Back with its share: the waiting record is sealed and delivered, once.
    let _again = service(root.path(), &dirs[1], &second_addr);
    assert_eq!(wait_on_ledger(&bank_a, "t-3").await, "on_ledger");
    let id = hex::encode(veilgate_core::envelope_id(
        veilgate_core::SuiteId::Standard.suite(),
        DEV_LEDGER,
        "bank-a",
        "t-3",
    ));
    assert_eq!(
        field(&bank_a, &id, "payer_account").await["pseudonym"],
        tag_of(&key, "6222020200000003").as_str()
    );
}

/// The state of bank-a's submission under `key` (`unknown` when none).
async fn state_of(c: &Client, key: &str) -> String {
    let id = veilgate_core::envelope_id(
        veilgate_core::SuiteId::Standard.suite(),
        DEV_LEDGER,
        "bank-a",
        key,
    );
    let (status, bytes) = c
        .request(
            "GET",
            &format!("/v1/ledgers/{DEV_LEDGER}/submissions/{}", hex::encode(id)),
            None,
        )
        .await
        .unwrap();
    if status == 404 {
        return "unknown".into();
    }
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["state"].as_str().unwrap().to_owned()
}

/// Waits (60 s at most) until bank-a's submission under `key` is on the
/// ledger; returns its state then.
async fn wait_on_ledger(c: &Client, key: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let state = state_of(c, key).await;
        if state == "on_ledger" || std::time::Instant::now() > deadline {
            return state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn payment_request(key: &str, record: &Value) -> String {
    let body = json!({ "policy": "interbank-payment", "idempotency_key": key, "record": record })
        .to_string();
    format!(
        "POST /v1/ledgers/{DEV_LEDGER}/records HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A raw evaluate request of `who` with `blinded` elements (hex).
async fn evaluate(data: &Path, base: &str, who: &str, blinded: &[String]) -> String {
    let body = json!({ "blinded": blinded }).to_string();
    let request = format!(
        "POST /v1/pseudonyms/{DEV_LEDGER}/epochs/1/evaluate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    veilgate_testkit::data::raw_exchange(data, base, who, &request)
        .await
        .unwrap()
}

fn blinded(n: usize) -> Vec<String> {
    let inputs: Vec<Vec<u8>> = (0..n).map(|i| format!("guess-{i}").into_bytes()).collect();
    let (_, elements) = veilgate_pseudonym::blind_batch(&inputs, &mut rand_core::OsRng).unwrap();
    elements.iter().map(hex::encode).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn service_faults_are_clear_and_nothing_is_sealed_without_the_service() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    // 240 a day: a burst of 10 elements.
    let (dirs, _key) = deploy(&data, DEV_LEDGER, 1, &["regulator"], 240).unwrap();
    let mut services = start_all(root.path(), &data, &dirs);
    let base = services[0].base.clone();

    // Elements that are not points, or not hex: 400 naming the index.
    for bad in ["ff".repeat(32), "00".repeat(32), "zz".repeat(32)] {
        let answer = evaluate(&data, &base, "bank-b", &[blinded(1)[0].clone(), bad]).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains("invalid_element") && answer.contains("blinded[1]"),
            "{answer}"
        );
    }
    // A revoked institution is refused at once (the list is re-read on
    // change), audited; the others still evaluate.
    veilgate_testkit::data::replace_file(
        &dirs[0].dir.join("revocations.json"),
        br#"{"institutions": ["bank-c"]}"#,
    )
    .unwrap();
    let answer = evaluate(&data, &base, "bank-c", &blinded(1)).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("\"revoked\""), "{answer}");
    // A member over its budget: 429 with Retry-After, audited by the service.
    let answer = evaluate(&data, &base, "bank-b", &blinded(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = evaluate(&data, &base, "bank-b", &blinded(1)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("rate_limited"), "{answer}");
    let retry: u64 = answer
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let log =
        veilgate_server::store::StoreReader::open(&dirs[0].dir.join("pseudonym-service.redb"))
            .unwrap()
            .audit_entries()
            .unwrap();
    let of = |action: &str| {
        log.iter()
            .filter(|e| e.event.actor == "bank-b" && e.event.action.as_str() == action)
            .map(|e| e.event.detail.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("pseudonym_evaluate"),
        vec!["epoch=1 count=10".to_owned()]
    );
    assert_eq!(
        of("refused"),
        vec!["reason=rate_limited count=1 route=evaluate".to_owned()]
    );
    assert!(log.iter().any(|e| e.event.actor == "bank-c"
        && e.event.detail.as_deref() == Some("reason=revoked route=evaluate")));
    veilgate_server::audit::verify_chain(&log).unwrap();
    // The budget outlives a restart: it is rebuilt from the audit log.
    let addr = base.trim_start_matches("https://").to_owned();
    services.clear();
    services.push(service(root.path(), &dirs[0], &addr));
    let answer = evaluate(&data, &base, "bank-b", &blinded(1)).await;
    assert!(
        answer.starts_with("HTTP/1.1 429"),
        "after a restart: {answer}"
    );

    // The gateway with the service down: 503 and Retry-After; the record is
    // kept unsealed and encrypted, through a restart of the gateway.
    let mut gw = gateway(root.path(), &data);
    services.clear();
    let record = sample("interbank-payment");
    let answer = veilgate_testkit::data::raw_exchange(
        &data,
        &gw.base,
        "bank-a",
        &payment_request("down-1", &record),
    )
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("pseudonym_service_unavailable"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer}"
    );
    assert!(
        answer.contains("\"state\":\"awaiting_pseudonyms\""),
        "{answer}"
    );
    gw.kill();
    let store = std::fs::read(data.join("gateway.redb")).unwrap();
    for value in ["6222020200112233445", "Li Wei", "Invoice 2026-1187"] {
        assert!(
            !store.windows(value.len()).any(|w| w == value.as_bytes()),
            "the store holds `{value}` in clear"
        );
    }
    let gw = gateway(root.path(), &data);
    let bank_a = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    assert_eq!(state_of(&bank_a, "down-1").await, "awaiting_pseudonyms");

    // A service answering under a key the directory does not publish (its
    // own copy of the directory names its new key, so it starts): every
    // proof fails at the gateway; nothing is sealed with its answers.
    let liar = liar_dir(&dirs[0]);
    let _liar = start_pseudonym_service(EXE, &liar, &addr, &root.path().join("liar.log")).unwrap();
    let (status, body) = submit(&bank_a, "interbank-payment", "liar-1", &record).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("pseudonym_service_unavailable")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not verify"),
        "{body}"
    );
    // The worker tries every second; after a few rounds both still wait.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(state_of(&bank_a, "liar-1").await, "awaiting_pseudonyms");
    assert_eq!(state_of(&bank_a, "down-1").await, "awaiting_pseudonyms");
    drop(_liar);

    // The honest service back: both are sealed and delivered, once each.
    let _honest = service(root.path(), &dirs[0], &addr);
    assert_eq!(wait_on_ledger(&bank_a, "down-1").await, "on_ledger");
    assert_eq!(wait_on_ledger(&bank_a, "liar-1").await, "on_ledger");
    drop(gw);

    // A pseudonym key left on the gateway is refused, naming the file.
    let stray = data.join(format!("ledgers/{DEV_LEDGER}/pseudonym.key"));
    std::fs::write(&stray, "11".repeat(32)).unwrap();
    let data_arg = data.to_str().unwrap();
    let (ok, out, err) =
        veilgate_testkit::process::run(EXE, &["config", "check", "--data", data_arg]).unwrap();
    assert!(!ok, "{out}");
    assert!(
        err.contains("pseudonym.key exists") && err.contains("delete the key"),
        "{err}"
    );
}

/// A copy of the service directory with a fresh key, its own directory
/// copy publishing that key: a service that evaluates under a key the
/// consortium did not publish.
fn liar_dir(honest: &ServiceDir) -> PathBuf {
    let dir = honest.dir.with_file_name("liar-service");
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for f in [
        "pseudonym-service.toml",
        "ca.pem",
        "server.pem",
        "server.key.pem",
    ] {
        std::fs::copy(honest.dir.join(f), dir.join(f)).unwrap();
    }
    let key = veilgate_pseudonym::Evaluator::generate(&mut rand_core::OsRng).unwrap();
    let path = dir.join("keys/epoch-1.key");
    std::fs::write(&path, hex::encode(key.secret_bytes().as_ref())).unwrap();
    let mode = std::fs::metadata(honest.dir.join("keys/epoch-1.key"))
        .unwrap()
        .permissions();
    std::fs::set_permissions(&path, mode.clone()).unwrap();
    std::fs::set_permissions(dir.join("server.key.pem"), mode).unwrap();
    let mut directory: Value =
        serde_json::from_str(&std::fs::read_to_string(honest.dir.join("consortium.json")).unwrap())
            .unwrap();
    for l in directory["ledgers"].as_array_mut().unwrap() {
        if l["ledger"] == DEV_LEDGER {
            l["pseudonyms"]["epochs"][0]["public_key"] = hex::encode(key.public_key()).into();
        }
    }
    std::fs::write(dir.join("consortium.json"), directory.to_string()).unwrap();
    dir
}
