//! Every shipped template end to end through the real `veilgate` binary over
//! HTTPS/mTLS, on the embedded ledger and on an EVM chain (anvil): the
//! templates' sets published by the institution holding their role (and
//! refused from others), each sample record sealed by the institution that
//! files it, judged valid by the gateway's follower, and opened by each of
//! its recipients; a sanctioned beneficiary refused naming the predicate; an
//! envelope naming another member as its submitter, forged straight onto the
//! ledger, judged `not_submitter`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use serde_json::{json, Value};
use veilgate_client::{Client, Tls};
use veilgate_core::sets::{members_from_text, SetContents};
use veilgate_testkit::material::{DEV_LEDGER, DEV_SM_LEDGER};

/// The ledger a run is on, how a template is moved onto it, and where its
/// members' keys of its suite are.
#[derive(Clone, Copy)]
struct Target {
    ledger: &'static str,
    onto: fn(&str) -> String,
    secrets: fn(&std::path::Path, &str) -> Result<veilgate_core::InstitutionSecrets, String>,
    /// The TLS its ledger is served over.
    tls: Tls,
}

impl Target {
    /// `who`'s client of the gateway's listener for this ledger's suite.
    fn client(
        &self,
        data: &std::path::Path,
        who: &str,
        gw: &veilgate_testkit::process::Process,
    ) -> Client {
        Client::from_data_dir_over(data, who, self.base(gw), self.tls).unwrap()
    }

    fn base<'a>(&self, gw: &'a veilgate_testkit::process::Process) -> &'a str {
        match self.tls {
            Tls::Standard => &gw.base,
            Tls::Sm => gw
                .sm_base
                .as_deref()
                .expect("the gateway has an SM listener"),
        }
    }
}

const STANDARD: Target = Target {
    ledger: DEV_LEDGER,
    onto: veilgate_testkit::data::on_dev_ledger,
    secrets: veilgate_testkit::data::secrets,
    tls: Tls::Standard,
};

const SM: Target = Target {
    ledger: DEV_SM_LEDGER,
    onto: veilgate_testkit::data::on_dev_sm_ledger,
    secrets: veilgate_testkit::data::sm_secrets,
    tls: Tls::Sm,
};

fn sets_path(ledger: &str) -> String {
    format!("/v1/ledgers/{ledger}/sets")
}

async fn post(c: &Client, path: &str, body: Value) -> (u16, Value) {
    let (status, body) = c
        .request("POST", path, Some(body.to_string().into_bytes()))
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get(c: &Client, path: &str) -> (u16, Value) {
    let (status, body) = c.request("GET", path, None).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The follower's verdict on `sequence`, once it has one.
async fn verdict(c: &Client, ledger: &str, sequence: u64) -> Value {
    let path = format!("/v1/ledgers/{ledger}/verdicts/{sequence}");
    for _ in 0..300 {
        let (status, v) = get(c, &path).await;
        if status == 200 {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no verdict on entry {sequence}");
}

fn set_file(ledger: &str, set: &str, version: u32, members: &[String]) -> Value {
    let c = SetContents::build(ledger, set, version, members).unwrap();
    serde_json::to_value(&c.file).unwrap()
}

fn dev_list(set: &str) -> Vec<String> {
    let (_, text) = veilgate_policies::SET_LISTS
        .iter()
        .find(|(s, _)| *s == set)
        .unwrap();
    members_from_text(text)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_template_seals_verifies_and_opens_over_https() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::all_templates_data_dir(root.path()).unwrap();
    every_template(root.path(), &data, STANDARD).await;
}

/// The national suite: one gateway serves the standard ledger and the SM
/// ledger at once (a mixed consortium) and follows both. Every template
/// runs on the SM ledger as on the standard one; a payment on the standard
/// ledger is judged valid by the same gateway in between.
#[tokio::test(flavor = "multi_thread")]
async fn every_template_seals_verifies_and_opens_on_an_sm_ledger_beside_a_standard_one() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::all_templates_mixed_data_dir(root.path()).unwrap();
    every_template(root.path(), &data, SM).await;

    // The same gateway takes a payment on each ledger and its followers
    // judge both valid: each peer verifies under its ledger's suite.
    let mut o = veilgate_testkit::process::Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        data.clone(),
        root.path().join("server-mixed.log"),
    );
    o.dev = true;
    let gw = veilgate_testkit::process::Process::start(&o).unwrap();
    let (_, sample) = veilgate_policies::SAMPLES[0];
    let record: Value = serde_json::from_str(sample).unwrap();
    for t in [STANDARD, SM] {
        let (ledger, bank_a) = (t.ledger, t.client(&data, "bank-a", &gw));
        let receipt = bank_a
            .submit(ledger, "interbank-payment", "mixed-1", &record)
            .await
            .unwrap_or_else(|e| panic!("{ledger}: {e}"));
        let v = verdict(&bank_a, ledger, receipt.sequence.unwrap()).await;
        assert_eq!(v["verdict"], "valid", "{ledger}: {v}");
        let (_, env) = get(
            &bank_a,
            &format!("/v1/ledgers/{ledger}/envelopes/{}", receipt.envelope_id),
        )
        .await;
        let want = if ledger == DEV_SM_LEDGER {
            "sm"
        } else {
            "standard"
        };
        assert_eq!(env["view"]["suite"], want, "{env}");
    }
}

/// The same run with the ledger on oblivious pseudonyms: a
/// pseudonymisation service (its own process, run by the regulator) holds
/// the key, the gateway has none. Every envelope the gateway wrote carries
/// oblivious pseudonyms of epoch 1 and no member-key one.
#[tokio::test(flavor = "multi_thread")]
async fn every_template_seals_verifies_and_opens_with_a_pseudonymisation_service() {
    use veilgate_core::FieldBody;
    use veilgate_ledger::Ledger;
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::all_templates_data_dir(root.path()).unwrap();
    let (services, key) =
        veilgate_testkit::pseudonyms::deploy(&data, DEV_LEDGER, 1, &["regulator"], 100_000)
            .unwrap();
    let service = veilgate_testkit::process::start_pseudonym_service(
        env!("CARGO_BIN_EXE_veilgate"),
        &services[0].dir,
        "127.0.0.1:0",
        &root.path().join("service.log"),
    )
    .unwrap();
    veilgate_testkit::pseudonyms::set_addresses(&data, DEV_LEDGER, &[(1, &service.base)], 5000)
        .unwrap();
    assert!(!data
        .join(format!("ledgers/{DEV_LEDGER}/pseudonym.key"))
        .exists());
    every_template(root.path(), &data, STANDARD).await;

    let ledger = veilgate_ledger::EmbeddedLedger::open(
        &data.join(format!("ledgers/{DEV_LEDGER}/ledger.redb")),
    )
    .unwrap();
    let (mut oblivious, mut member_key) = (0, 0);
    for seq in 0..ledger.len().unwrap() {
        let entry = ledger.by_sequence(seq).unwrap().unwrap();
        let Ok(env) = veilgate_core::Envelope::decode(&entry.envelope) else {
            continue;
        };
        for f in &env.fields {
            match &f.body {
                FieldBody::Oblivious { epoch, .. } => {
                    assert_eq!(*epoch, 1);
                    oblivious += 1;
                }
                FieldBody::Pseudonym(_) => member_key += 1,
                _ => {}
            }
        }
    }
    assert!(
        oblivious >= 10,
        "{oblivious} oblivious pseudonyms on the ledger"
    );
    assert_eq!(member_key, 0);
    // The service's key gives the tags the ledger carries: bank-a's payer
    // account in the interbank payment.
    let account = veilgate_policies::Value::Str("6222020200112233445".into()).encode();
    let input = veilgate_pseudonym::pseudonym_input(DEV_LEDGER, 1, &account).unwrap();
    let want = key.evaluate_tag(&input).unwrap();
    let found = (0..ledger.len().unwrap()).any(|seq| {
        veilgate_core::Envelope::decode(&ledger.by_sequence(seq).unwrap().unwrap().envelope)
            .is_ok_and(|env| {
                env.fields.iter().any(|f| {
                    f.name == "payer_account"
                        && f.body
                            == FieldBody::Oblivious {
                                epoch: 1,
                                tag: want,
                            }
                })
            })
    });
    assert!(
        found,
        "no payment carries the service's tag of its payer account"
    );
    drop(service);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_template_seals_verifies_and_opens_on_an_evm_chain() {
    if !veilgate_evm::devnet::tools_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let net = veilgate_evm::devnet::Devnet::start(None).unwrap();
    let data = veilgate_testkit::data::all_templates_data_dir(root.path()).unwrap();
    let key = format!("ledgers/{DEV_LEDGER}/evm.key");
    std::fs::write(data.join(&key), veilgate_evm::devnet::DEV_KEY).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["evm", "deploy", "--data"])
        .arg(&data)
        .args([
            "--ledger",
            DEV_LEDGER,
            "--rpc",
            &net.url(),
            "--key-file",
            &key,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    every_template(root.path(), &data, STANDARD).await;
    net.stop().unwrap();
}

/// The whole run against the gateway serving `data`.
async fn every_template(root: &std::path::Path, data: &std::path::Path, t: Target) {
    let data = data.to_owned();
    let ledger = t.ledger;
    let mut o = veilgate_testkit::process::Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        data.clone(),
        root.join("server.log"),
    );
    // Development Groth16 keys (anyone can forge under them): this test is
    // about the path, the ceremony's keys are tested in ceremony_keys.rs.
    o.dev = true;
    let gw = veilgate_testkit::process::Process::start(&o).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
        panic!("{e}\n{log}")
    });
    let client = |who: &str| t.client(&data, who, &gw);
    let (regulator, bank_a) = (client("regulator"), client("bank-a"));

    // Before any root is published, a record proving against a set is refused.
    let (_, kyc) = veilgate_policies::SAMPLES
        .iter()
        .find(|(f, _)| *f == "kyc-attestation.policy")
        .unwrap();
    let kyc: Value = serde_json::from_str(kyc).unwrap();
    let (status, body) = post(
        &bank_a,
        &format!("/v1/ledgers/{ledger}/records"),
        json!({ "policy": "kyc-attestation", "idempotency_key": "kyc-early", "record": kyc }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("set_unavailable")),
        "{body}"
    );

    // Refusals: a member without the role, an unknown set, a version out of
    // order, a root that would take force tomorrow.
    let sanctions = set_file(ledger, "sanctions_list", 1, &dev_list("sanctions_list"));
    let (status, body) = post(&bank_a, &sets_path(ledger), json!({ "file": sanctions })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_publisher")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("sanctions_authority"));
    let (status, body) = post(
        &regulator,
        &sets_path(ledger),
        json!({ "file": set_file(ledger, "watch_list", 1, &["X".into()]) }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("unknown_set")),
        "{body}"
    );
    let (status, body) = post(
        &regulator,
        &sets_path(ledger),
        json!({ "file": set_file(ledger, "sanctions_list", 2, &dev_list("sanctions_list")) }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("set_version")),
        "{body}"
    );
    let tomorrow = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 86_400_000;
    let (status, body) = post(
        &regulator,
        &sets_path(ledger),
        json!({ "file": sanctions, "valid_from_ms": tomorrow }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("set_in_future")),
        "{body}"
    );
    // A file whose members do not give its root.
    let mut bent = sanctions.clone();
    bent["root"] = json!("00".repeat(32));
    let (status, body) = post(&regulator, &sets_path(ledger), json!({ "file": bent })).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_set_file")),
        "{body}"
    );

    // The regulator holds both roles in development: it publishes both
    // sets, one through the API, the other with `veilgate set`.
    let mut root_entries = Vec::new();
    let (status, body) = post(
        &regulator,
        &sets_path(ledger),
        json!({ "file": set_file(ledger, "eligible_nationalities", 1, &dev_list("eligible_nationalities")) }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    root_entries.push(body["sequence"].as_u64().unwrap());
    root_entries.push(publish_with_the_cli(root, &data, t.base(&gw), t));
    let (_, listed) = get(&bank_a, &sets_path(ledger)).await;
    assert_eq!(listed["sets"].as_array().unwrap().len(), 2, "{listed}");
    assert!(listed["sets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["in_force"] == true));
    let (status, file) = get(&bank_a, &format!("{}/sanctions_list", sets_path(ledger))).await;
    assert_eq!(status, 200);
    assert_eq!(
        SetContents::from_json(&file.to_string())
            .unwrap()
            .file
            .version,
        1
    );

    // Every template: sealed by the institution that files its sample.
    for (name, text) in veilgate_policies::TEMPLATES {
        let plan = veilgate_policies::compile(&(t.onto)(text)).unwrap();
        let (_, sample) = veilgate_policies::SAMPLES
            .iter()
            .find(|(f, _)| f == name)
            .unwrap();
        let record_json: Value = serde_json::from_str(sample).unwrap();
        let record = plan.validate_record(&record_json).unwrap();
        let submitter = plan.submitter_in(&record).unwrap_or("bank-a").to_owned();
        let receipt = client(&submitter)
            .submit(ledger, &plan.id, &format!("{name}-1"), &record_json)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(receipt.status, 201, "{name}");
        let sequence = receipt.sequence.unwrap();
        let v = verdict(&bank_a, ledger, sequence).await;
        assert_eq!(v["verdict"], "valid", "{name}: {v}");

        // Each recipient opens it, and reads a field that is not public.
        let (_, env) = get(
            &bank_a,
            &format!("/v1/ledgers/{ledger}/envelopes/{}", receipt.envelope_id),
        )
        .await;
        let recipients: Vec<String> = env["view"]["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["institution"].as_str().unwrap().to_owned())
            .collect();
        assert!(!recipients.is_empty(), "{name}");
        let public: Vec<&str> = env["view"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "public")
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        for who in &recipients {
            let (status, opened) = post(
                &client(who),
                &format!(
                    "/v1/ledgers/{ledger}/envelopes/{}/open",
                    receipt.envelope_id
                ),
                json!({}),
            )
            .await;
            assert_eq!(status, 200, "{name}: {who} opens: {opened}");
            let fields = opened["fields"].as_object().unwrap();
            assert!(
                fields.keys().any(|k| !public.contains(&k.as_str())),
                "{name}: {who} reads only public fields: {opened}"
            );
        }
    }

    // A sanctioned beneficiary is refused, naming the predicate.
    let (_, remittance) = veilgate_policies::SAMPLES
        .iter()
        .find(|(f, _)| *f == "cross-border-remittance.policy")
        .unwrap();
    let mut remittance: Value = serde_json::from_str(remittance).unwrap();
    remittance["beneficiary_name"] = "Boris  FICTUS".into();
    let (status, body) = post(
        &client("bank-a"),
        &format!("/v1/ledgers/{ledger}/records"),
        json!({ "policy": "cross-border-remittance", "idempotency_key": "sanctioned-1", "record": remittance }),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("predicate_not_satisfied")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("beneficiary_name not in sanctions_list"));
    assert!(!body.to_string().to_uppercase().contains("FICTUS"));

    // The follower admitted both roots.
    for seq in root_entries {
        assert_eq!(verdict(&bank_a, ledger, seq).await["verdict"], "set_root");
    }

    // bank-a's payment re-signed naming bank-b as the payer, written straight
    // onto the ledger (the gateway stopped, for the embedded ledger's lock):
    // the follower judges it `not_submitter`.
    drop(gw);
    let sequence = append_forged(&data, t);
    let gw = veilgate_testkit::process::Process::start(&o).unwrap();
    let peer = t.client(&data, "bank-c", &gw);
    let v = verdict(&peer, ledger, sequence).await;
    assert_eq!(
        (v["verdict"].as_str(), v["code"].as_str()),
        (Some("rejected"), Some("not_submitter")),
        "{v}"
    );
}

/// `veilgate set build`, `show` and `publish` for the sanctions list, as an
/// operator would run them; returns the root entry's ledger position.
fn publish_with_the_cli(
    root: &std::path::Path,
    data: &std::path::Path,
    base: &str,
    t: Target,
) -> u64 {
    let ledger = t.ledger;
    let tls = match t.tls {
        Tls::Standard => "standard",
        Tls::Sm => "sm",
    };
    let veilgate = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, list) = veilgate_policies::SET_LISTS
        .iter()
        .find(|(s, _)| *s == "sanctions_list")
        .unwrap();
    let members = root.join("sanctions.txt");
    std::fs::write(&members, list).unwrap();
    let file = root.join("sanctions_list-v1.json");
    let (ok, out, err) = veilgate(&[
        "set",
        "build",
        "--ledger",
        ledger,
        "--set",
        "sanctions_list",
        "--version",
        "1",
        members.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let want = set_file(ledger, "sanctions_list", 1, &dev_list("sanctions_list"));
    let root_hex = want["root"].as_str().unwrap();
    assert!(out.contains(root_hex) && out.contains("7 members"), "{out}");
    let (ok, out, _) = veilgate(&["set", "show", file.to_str().unwrap()]);
    assert!(ok && out.contains(root_hex), "{out}");
    // A file whose members were edited after it was built is refused.
    let bent = root.join("bent.json");
    std::fs::write(
        &bent,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("ZHAO DEMO", "ZHAO DEMOS"),
    )
    .unwrap();
    let (ok, _, err) = veilgate(&["set", "show", bent.to_str().unwrap()]);
    assert!(!ok && err.contains("bent.json"), "{err}");
    let gateway = [
        "--gateway",
        base,
        "--data",
        data.to_str().unwrap(),
        "--tls",
        tls,
    ];
    let mut args = vec!["set", "publish", file.to_str().unwrap()];
    args.extend(gateway);
    args.extend(["--as", "bank-b"]);
    let (ok, _, err) = veilgate(&args);
    assert!(!ok && err.contains("not_publisher"), "{err}");
    args.truncate(args.len() - 1);
    args.push("regulator");
    let (ok, out, err) = veilgate(&args);
    assert!(ok, "{out}{err}");
    let published: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(published["root"], root_hex);
    let mut args = vec!["set", "show", "--ledger", ledger];
    args.extend(gateway);
    args.extend(["--as", "bank-a"]);
    let (ok, out, err) = veilgate(&args);
    assert!(
        ok && out.contains("sanctions_list") && out.contains(root_hex),
        "{out}{err}"
    );
    published["sequence"].as_u64().unwrap()
}

/// Appends a forged interbank payment (payer bank-b, signed by bank-a) to
/// the data directory's ledger, embedded or EVM, and returns its position.
fn append_forged(data: &std::path::Path, t: Target) -> u64 {
    use veilgate_core::{FieldBody, PolicySet, SealRequest};
    use veilgate_ledger::Ledger;
    let (_, text) = veilgate_policies::TEMPLATES[0];
    let plan = veilgate_policies::compile(&(t.onto)(text)).unwrap();
    let (_, sample) = veilgate_policies::SAMPLES[0];
    let record = plan
        .validate_record(&serde_json::from_str(sample).unwrap())
        .unwrap();
    let trust =
        veilgate_testkit::data::trust(data, t.ledger, PolicySet::new([plan.clone()])).unwrap();
    let bank_a = (t.secrets)(data, "bank-a").unwrap();
    // A forger's pseudonyms: the member key where the ledger has one, else
    // any tags (the follower rejects the envelope before it looks at them).
    let key_file = data.join(format!("ledgers/{}/pseudonym.key", t.ledger));
    let member_key = std::fs::read_to_string(&key_file).ok().map(|text| {
        let key: [u8; 32] = hex::decode(text.trim()).unwrap().try_into().unwrap();
        veilgate_core::PseudonymKey(zeroize::Zeroizing::new(key))
    });
    let tags = veilgate_core::ObliviousTags::new(
        1,
        veilgate_core::pseudonym_values(&plan, &record)
            .into_iter()
            .map(|v| (v.to_vec(), [0x5a; 32])),
    );
    let pseudonyms = match &member_key {
        Some(k) => k.into(),
        None => (&tags).into(),
    };
    let mut env = veilgate_core::seal(
        &SealRequest {
            trust: &trust,
            plan: &plan,
            record: &record,
            submitter: &bank_a,
            pseudonyms,
            idempotency_key: "forged-payer",
            timestamp_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64,
        },
        &mut rand_core::OsRng,
    )
    .unwrap();
    let payer = env
        .fields
        .iter_mut()
        .find(|f| f.name == "payer_bank")
        .unwrap();
    payer.body = FieldBody::Public(veilgate_policies::Value::Party("bank-b".into()).encode());
    veilgate_core::sign_envelope(&mut env, &bank_a).unwrap();
    let config = std::fs::read_to_string(data.join("veilgate.toml")).unwrap();
    let ledger: Box<dyn Ledger> = match config.lines().find_map(|l| l.strip_prefix("registry = \""))
    {
        Some(registry) => {
            let rpc = config
                .lines()
                .find_map(|l| l.strip_prefix("rpc = \""))
                .unwrap()
                .trim_end_matches('"');
            Box::new(
                veilgate_evm::ledger::EvmLedger::new(
                    veilgate_evm::chain::Chain::connect(rpc, veilgate_evm::devnet::DEV_KEY)
                        .unwrap(),
                    registry.trim_end_matches('"').parse().unwrap(),
                )
                .unwrap(),
            )
        }
        None => Box::new(
            veilgate_ledger::EmbeddedLedger::open(
                &data.join(format!("ledgers/{}/ledger.redb", t.ledger)),
            )
            .unwrap(),
        ),
    };
    ledger
        .append(env.id, &env.encode())
        .unwrap()
        .receipt
        .sequence
}
