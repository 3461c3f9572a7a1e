//! The gateway on an EVM ledger (anvil): `veilgate evm deploy`, then `serve`
//! writes every template's sample to the chain through the outbox; peers
//! verify what they read back; a policy with `require proofs on chain` goes
//! through the registry's verifiers; canaries never reach chain data (calldata,
//! event logs, storage); and a node stopped mid-load and restarted loses and
//! duplicates nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::RngCore;
use serde_json::{json, Value};
use veilgate_client::{policy_set, Client, ClientError};
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory};
use veilgate_evm::chain::Chain;
use veilgate_evm::devnet::tools_or_skip;
use veilgate_evm::devnet::{Devnet, DEV_KEY};
use veilgate_evm::ledger::EvmLedger;
use veilgate_ledger::Ledger;

const LEDGER: &str = "interbank-settlement";
/// A reader's key (anvil's second account): reading needs no write right.
const READER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const ONCHAIN_POLICY: &str = r#"# A drawdown under a credit line: the chain itself checks drawn <= limit.
policy drawdown version 1
ledger interbank-settlement
require proofs on chain

record {
  lender:   party
  borrower: party
  limit:    amount(2)
  drawn:    amount(2)
  customer: string
}

roles { regulator }

disclose {
  lender:   public
  borrower: public
  limit:    commit, encrypt to [lender, regulator]
  drawn:    commit, encrypt to [lender, borrower, regulator]
  customer: encrypt to [regulator]
}

prove {
  drawn <= limit
}
"#;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_veilgate")
}

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../policies/templates/{name}.sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A dev data directory whose ledger is moved to the chain at `rpc` with
/// `veilgate evm deploy`, the on-chain policy published beside the templates.
fn deployed_data_dir(root: &Path, rpc: &str) -> (PathBuf, String) {
    let data = root.join("data");
    veilgate_testkit::material::init(&data).unwrap();
    std::fs::write(data.join("policies/drawdown.policy"), ONCHAIN_POLICY).unwrap();
    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // The other sealable templates, moved onto this ledger for the test.
    let mut extra = vec!["\"policies/drawdown.policy\"".to_owned()];
    for (name, ledger) in [
        ("syndicated-loan", "syndicated-lending"),
        ("supply-chain-receivable", "supply-chain-finance"),
    ] {
        let t = std::fs::read_to_string(data.join(format!("policies/{name}.policy"))).unwrap();
        let moved = t.replacen(
            &format!("ledger {ledger}\n"),
            &format!("ledger {LEDGER}\n"),
            1,
        );
        assert_ne!(t, moved);
        std::fs::write(data.join(format!("policies/{name}.here.policy")), moved).unwrap();
        extra.push(format!("\"policies/{name}.here.policy\""));
    }
    let text = text.replacen(
        "policies = [",
        &format!("policies = [{}, ", extra.join(", ")),
        1,
    );
    // Faster anchors, so audit anchors interleave with envelopes on chain.
    let text = text.replace(
        "audit_anchor_interval_ms = 10000",
        "audit_anchor_interval_ms = 500",
    );
    std::fs::write(&cfg, text).unwrap();
    std::fs::write(data.join("ledgers").join(LEDGER).join("evm.key"), DEV_KEY).unwrap();
    let out = Command::new(bin())
        .args(["evm", "deploy", "--data"])
        .arg(&data)
        .args([
            "--ledger",
            LEDGER,
            "--rpc",
            rpc,
            "--key-file",
            &format!("ledgers/{LEDGER}/evm.key"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("published policies/drawdown.policy (proofs verified on chain)"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(&cfg).unwrap();
    assert!(config.contains("kind = \"evm\"") && config.contains("[ledger.evm]"));
    assert!(
        config.contains("# Anchor the audit log"),
        "comments are kept"
    );
    let registry = config
        .lines()
        .find_map(|l| l.strip_prefix("registry = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    // Deploying twice is refused: the ledger already is on a chain.
    let again = Command::new(bin())
        .args(["evm", "deploy", "--data"])
        .arg(&data)
        .args(["--ledger", LEDGER, "--rpc", rpc, "--key-file", "x"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    (data, registry)
}

/// Starts `veilgate serve` (the testkit harness) and returns the child and
/// its address. Retries while the address is still taken (a killed
/// predecessor's port).
fn start(data: &Path, listen: &str, log: &Path) -> (Child, String) {
    let mut o = veilgate_testkit::process::Options::new(bin(), data, log);
    o.listen = listen.to_owned();
    // A development data directory: its Groth16 keys are development keys.
    o.dev = true;
    let p = veilgate_testkit::process::Process::start(&o).unwrap();
    let base = p.base.clone();
    (p.into_child().unwrap(), base)
}

fn reader(url: &str, registry: &str) -> EvmLedger {
    EvmLedger::new(
        Chain::connect(url, READER_KEY).unwrap(),
        registry.parse().unwrap(),
    )
    .unwrap()
}

fn envelope_ids_on(ledger: &dyn Ledger) -> Vec<String> {
    (0..ledger.len().unwrap())
        .map(|s| ledger.by_sequence(s).unwrap().unwrap())
        .filter(|e| veilgate_server::audit::anchor::parse(&e.envelope).is_none())
        .map(|e| hex::encode(e.envelope_id))
        .collect()
}

fn directory(data: &Path) -> LedgerDirectory {
    Directory::from_json(&std::fs::read_to_string(data.join("consortium.json")).unwrap())
        .unwrap()
        .ledger(LEDGER)
        .unwrap()
        .clone()
}

/// The gateway's last warnings and errors, for failure messages.
fn problems(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The end of the gateway's log, for failure messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn canary(rng: &mut impl RngCore) -> String {
    let mut b = [0u8; 12];
    rng.fill_bytes(&mut b);
    format!("CANARY{}", hex::encode(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_writes_to_the_chain_and_peers_verify_what_they_read_back() {
    if !tools_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("anvil-state.json");
    let net = Devnet::start(Some(&state)).unwrap();
    let (data, registry) = deployed_data_dir(root.path(), &net.url());
    // This gateway also follows the ledger as a peer.
    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen("kind = \"evm\"", "kind = \"evm\"\nfollow = true", 1),
    )
    .unwrap();
    let log = root.path().join("server.log");
    let (mut child, base) = start(&data, "127.0.0.1:0", &log);
    let bank_a = Client::from_data_dir(&data, "bank-a", &base).unwrap();

    // Each policy this ledger publishes, with canaries in every hidden value.
    let mut rng = rand_core::OsRng;
    let mut canaries: Vec<Vec<u8>> = Vec::new();
    let mut submitted: Vec<(String, String, Value)> = Vec::new();
    for i in 0..3 {
        let mut r = sample("interbank-payment");
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
        let minor = 100_000 + i64::from(rng.next_u32() % 1_000_000_000);
        let text = format!("{}.{:02}", minor / 100, minor % 100);
        canaries.push(text.clone().into_bytes());
        canaries.push(minor.to_be_bytes().to_vec());
        r["amount"] = text.into();
        let rc = bank_a
            .submit(LEDGER, "interbank-payment", &format!("pay-{i}"), &r)
            .await
            .unwrap();
        submitted.push(("interbank-payment".into(), rc.envelope_id, r));
    }
    for (policy, hidden) in [
        ("syndicated-loan", &["borrower"][..]),
        (
            "supply-chain-receivable",
            &["supplier", "buyer", "invoice_number"][..],
        ),
    ] {
        let mut r = sample(policy);
        for f in hidden {
            let c = canary(&mut rng);
            canaries.push(c.clone().into_bytes());
            r[*f] = c.into();
        }
        let rc = bank_a
            .submit(LEDGER, policy, &format!("{policy}-0"), &r)
            .await
            .unwrap_or_else(|e| panic!("{policy}: {e}\n{}", tail(&log)));
        submitted.push((policy.into(), rc.envelope_id, r));
    }
    let customer = canary(&mut rng);
    canaries.push(customer.clone().into_bytes());
    // The drawn amount is a Groth16 witness: it must not reach the log either
    // (arkworks' tracing spans print witnesses; the gateway turns them off).
    let drawn_minor = 10_000_000 + u64::from(rng.next_u32() % 80_000_000);
    let witness = drawn_minor.to_string();
    let drawdown = json!({"lender": "bank-a", "borrower": "bank-b", "limit": "900000.00",
        "drawn": format!("{}.{:02}", drawn_minor / 100, drawn_minor % 100), "customer": customer});
    let rc = bank_a
        .submit(LEDGER, "drawdown", "draw-0", &drawdown)
        .await
        .unwrap();
    submitted.push(("drawdown".into(), rc.envelope_id, drawdown.clone()));
    // A false drawdown is refused at the gateway, before any chain work.
    let mut over = drawdown.clone();
    over["drawn"] = "900000.01".into();
    match bank_a.submit(LEDGER, "drawdown", "draw-1", &over).await {
        Err(ClientError::Api {
            status: 422, code, ..
        }) => {
            assert_eq!(code, "predicate_not_satisfied")
        }
        other => panic!("expected 422, got {other:?}"),
    }

    // Everything reaches the chain; a peer reads each back and verifies it;
    // the regulator opens each and gets the submitted values.
    let peer = Client::from_data_dir(&data, "bank-c", &base).unwrap();
    let policies = policy_set(&peer.policies(LEDGER).await.unwrap()).unwrap();
    let dir = directory(&data);
    let trust = veilgate_testkit::data::trust(&data, LEDGER, policies.clone()).unwrap();
    assert_eq!(trust.directory, dir);
    let regulator = InstitutionSecrets::from_json(
        &std::fs::read_to_string(data.join("institutions/regulator/secrets.json")).unwrap(),
    )
    .unwrap();
    let chain = reader(&net.url(), &registry);
    let mut on_chain_bytes = Vec::new();
    for (policy, id, record) in &submitted {
        let r = bank_a
            .wait_on_ledger(LEDGER, id, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(r.on_ledger(), "{policy} {id} never reached the chain");
        let fetched = peer.envelope(LEDGER, id).await.unwrap();
        let on_chain = chain
            .by_id(&hex::decode(id).unwrap().try_into().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(on_chain.envelope, fetched.bytes, "{policy}");
        on_chain_bytes = on_chain.envelope.clone();
        assert_eq!(Some(on_chain.sequence), r.sequence);
        let verified = veilgate_core::verify(&fetched.bytes, &trust, &mut rand_core::OsRng)
            .unwrap_or_else(|e| panic!("{policy}: {e:?}"));
        let opened = veilgate_core::open(&verified, &regulator, None).unwrap();
        let values: BTreeMap<&str, String> = opened
            .iter()
            .map(|f| (f.name.as_str(), f.value.display()))
            .collect();
        for k in ["customer", "borrower", "supplier", "payer_name"] {
            if let (Some(want), Some(got)) = (record[k].as_str(), values.get(k)) {
                assert!(got.contains(want), "{policy}: {k}");
            }
        }
    }
    // Exactly what was accepted, once each, in a chain whose hashes hold.
    let ids = envelope_ids_on(&chain);
    let want: BTreeSet<&str> = submitted.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(
        ids.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        want
    );
    assert_eq!(ids.len(), want.len());
    assert_eq!(chain.verify_chain().unwrap(), chain.len().unwrap());
    // The gateway's own follower: a verdict per entry, over the API and in metrics.
    for (policy, id, _) in &submitted {
        let seq = bank_a
            .submission(LEDGER, id)
            .await
            .unwrap()
            .sequence
            .unwrap();
        let path = format!("/v1/ledgers/{LEDGER}/verdicts/{seq}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let v = loop {
            let (status, body) = peer.request("GET", &path, None).await.unwrap();
            if status == 200 {
                break serde_json::from_slice::<Value>(&body).unwrap();
            }
            assert_eq!(status, 404);
            assert!(Instant::now() < deadline, "no verdict for {policy}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            (v["verdict"].as_str(), v["envelope_id"].as_str()),
            (Some("valid"), Some(id.as_str())),
            "{policy}: {v}"
        );
    }
    let want_metric = format!(
        "veilgate_follow_verdicts_total{{ledger=\"{LEDGER}\",verdict=\"valid\"}} {}",
        submitted.len()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, metrics) = peer.request("GET", "/metrics", None).await.unwrap();
        let metrics = String::from_utf8(metrics).unwrap();
        if metrics.contains(&want_metric) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{want_metric} missing:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Peers fetch exactly the policy an envelope names, from the chain.
    for (name, text) in [("drawdown", ONCHAIN_POLICY.to_owned())].into_iter().chain(
        [
            ("interbank-payment", "interbank-payment"),
            ("syndicated-loan", "syndicated-loan.here"),
            ("supply-chain-receivable", "supply-chain-receivable.here"),
        ]
        .map(|(n, file)| {
            (
                n,
                std::fs::read_to_string(data.join(format!("policies/{file}.policy"))).unwrap(),
            )
        }),
    ) {
        let plan = veilgate_policies::compile(&text).unwrap();
        let published = chain.policy(&plan.hash()).unwrap().unwrap();
        assert_eq!((published.id.as_str(), &published.text), (name, &text));
        assert_eq!(!published.checks.is_empty(), plan.onchain, "{name}");
    }

    // The gateway stops (no more audit anchors), then a peer follows the
    // chain: every envelope verifies, policies fetched
    // from the registry by hash; a second run resumes with nothing to do.
    child.kill().unwrap();
    child.wait().unwrap();
    let follow = || {
        let out = Command::new(bin())
            .args(["follow", "--once", "--ledger", LEDGER, "--data"])
            .arg(&data)
            .arg("--state")
            .arg(root.path().join("peer-verdicts.redb"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let verdicts = follow();
    assert_eq!(verdicts.len() as u64, chain.len().unwrap());
    let valid: BTreeSet<&str> = verdicts
        .iter()
        .filter(|v| v["verdict"] == "valid")
        .map(|v| v["envelope_id"].as_str().unwrap())
        .collect();
    assert_eq!(valid, want, "{verdicts:?}");
    assert!(verdicts
        .iter()
        .all(|v| v["verdict"] == "valid" || v["verdict"] == "anchor"));
    assert!(follow().is_empty(), "it resumes after the last verdict");
    // A member writing straight to the chain, bypassing its gateway: an
    // envelope given a new idempotency key and id without a new signature.
    let mut forged = veilgate_core::Envelope::decode(&on_chain_bytes).unwrap();
    forged.idempotency_key = "forged-0".into();
    forged.id = veilgate_core::envelope_id(
        veilgate_core::SuiteId::Standard.suite(),
        LEDGER,
        &forged.submitter,
        "forged-0",
    );
    EvmLedger::new(
        Chain::connect(&net.url(), DEV_KEY).unwrap(),
        registry.parse().unwrap(),
    )
    .unwrap()
    .append(forged.id, &forged.encode())
    .unwrap();
    let verdicts = follow();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(
        (
            verdicts[0]["verdict"].as_str(),
            verdicts[0]["code"].as_str()
        ),
        (Some("rejected"), Some("bad_signature")),
        "{verdicts:?}"
    );

    // Canaries: not in any event log, nor in the node's whole state —
    // blocks, transactions (calldata), receipts and contract storage —
    // which anvil writes to its state file on a clean stop.
    let logs = chain
        .raw_logs()
        .unwrap()
        .into_iter()
        .flatten()
        .collect::<Vec<u8>>();
    drop(chain);
    net.stop().unwrap();
    let dump = std::fs::read_to_string(&state).unwrap().to_lowercase();
    // Positive controls: public values are findable in the same bytes.
    for public in [
        &b"bank-b"[..],
        b"2026-11-25",
        b"syndicated-loan-0",
        b"draw-0",
    ] {
        assert!(
            dump.contains(&hex::encode(public)),
            "control {:?} missing from the state dump",
            String::from_utf8_lossy(public)
        );
        assert!(
            logs.windows(public.len()).any(|w| w == public),
            "control missing from the logs"
        );
    }
    for c in &canaries {
        assert!(
            !dump.contains(&hex::encode(c)),
            "a canary ({} bytes) is in the chain state",
            c.len()
        );
        assert!(
            !logs.windows(c.len()).any(|w| w == c.as_slice()),
            "a canary ({} bytes) is in an event log",
            c.len()
        );
        if c.starts_with(b"CANARY") {
            assert!(!dump.contains(&String::from_utf8_lossy(c).to_lowercase()));
        }
    }
    let server_log = std::fs::read(&log).unwrap();
    for c in canaries
        .iter()
        .filter(|c| c.starts_with(b"CANARY"))
        .chain([&witness.clone().into_bytes()])
    {
        assert!(
            !server_log.windows(c.len()).any(|w| w == c.as_slice()),
            "a canary is in the server log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stopping_the_node_mid_load_loses_and_duplicates_nothing() {
    if !tools_or_skip() {
        return;
    }
    const N: usize = 240;
    const CLIENTS: usize = 6;
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("anvil-state.json");
    let net = Devnet::start(Some(&state)).unwrap();
    let port = net.port;
    let url = net.url();
    let (data, registry) = deployed_data_dir(root.path(), &url);
    let log = root.path().join("server.log");
    let (mut child, base) = start(&data, "127.0.0.1:0", &log);
    let base = Arc::new(base);

    let next = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (next, acked, base, data) = (next.clone(), acked.clone(), base.clone(), data.clone());
        clients.push(tokio::spawn(async move {
            let client = Client::from_data_dir(&data, "bank-a", &base).unwrap();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= N {
                    return;
                }
                let (policy, record) = if i % 8 == 7 {
                    (
                        "drawdown",
                        json!({"lender": "bank-a", "borrower": "bank-b",
                               "limit": "900000.00", "drawn": format!("{i}.00"), "customer": "c"}),
                    )
                } else {
                    let mut r = sample("interbank-payment");
                    r["amount"] = format!("{}.{:02}", 1000 + i, i % 100).into();
                    ("interbank-payment", r)
                };
                loop {
                    match client
                        .submit(LEDGER, policy, &format!("load-{i}"), &record)
                        .await
                    {
                        Ok(r) => {
                            assert!(matches!(r.status, 200..=202), "{r:?}");
                            acked.lock().unwrap().insert(i, r.envelope_id);
                            break;
                        }
                        Err(ClientError::Transport(_))
                        | Err(ClientError::Api { status: 503, .. }) => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(e) => panic!("submission {i}: {e}"),
                    }
                }
            }
        }));
    }

    // Stop the node twice while envelopes are in flight; it comes back with
    // its chain (--state), and the outbox carries on.
    let mut net = Some(net);
    for round in 0..2 {
        let target = N * (round + 1) / 3;
        let until = Instant::now() + Duration::from_secs(180);
        while acked.lock().unwrap().len() < target {
            assert!(
                Instant::now() < until,
                "{} of {target} acknowledged after 180 s\n{}",
                acked.lock().unwrap().len(),
                problems(&log)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // In-flight transactions are lost with the node (see `pause_mining`).
        let node = net.take().unwrap();
        node.pause_mining().unwrap();
        node.stop().unwrap();
        eprintln!("node stopped after {target} acknowledgements");
        // A deliberate outage: the gateway's deliveries fail for 1.5 s.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        net = Some(Devnet::start_on(port, Some(&state)).unwrap());
    }
    // The clients retry until acknowledged; the whole load has a deadline.
    for c in clients {
        tokio::time::timeout(Duration::from_secs(300), c)
            .await
            .expect("a load client finishes within 5 minutes of the node's restarts")
            .unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), N);

    let client = Client::from_data_dir(&data, "bank-a", &base).unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    for id in acked.values() {
        let r = client
            .wait_on_ledger(
                LEDGER,
                id,
                deadline.saturating_duration_since(Instant::now()),
            )
            .await
            .unwrap();
        assert!(
            r.on_ledger(),
            "{id} never reached the chain\n{}",
            problems(&log)
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let chain = reader(&url, &registry);
    assert_eq!(chain.verify_chain().unwrap(), chain.len().unwrap());
    let on_chain = envelope_ids_on(&chain);
    let distinct: BTreeSet<&String> = on_chain.iter().collect();
    assert_eq!(
        distinct.len(),
        on_chain.len(),
        "an envelope is on the chain twice"
    );
    let want: BTreeSet<&String> = acked.values().collect();
    let lost: Vec<_> = want.difference(&distinct).collect();
    let extra: Vec<_> = distinct.difference(&want).collect();
    assert!(
        lost.is_empty() && extra.is_empty(),
        "the chain must hold exactly the acknowledged submissions: lost {lost:?}, extra {extra:?}"
    );
    drop(chain);
    net.take().unwrap().stop().unwrap();
}

/// Deliveries a chain forgets are written again: records mined on the
/// chain, then forgotten by it (`evm_revert` to a snapshot taken before
/// them: their blocks are gone, as after a reorganisation), are found by
/// the gateway's reconciliation and written again — exactly the lost ones,
/// each once, in their acceptance order, after the ones the chain kept —
/// and each requeue is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_the_chain_forgets_are_written_again_in_order_once() {
    if !tools_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let net = Devnet::start(None).unwrap();
    let url = net.url();
    let (data, registry) = deployed_data_dir(root.path(), &url);
    // No audit anchors in this test: the deliveries are exactly the records.
    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let quiet = text.replace(
        "audit_anchor_interval_ms = 500",
        "audit_anchor_interval_ms = 3600000",
    );
    assert_ne!(text, quiet);
    std::fs::write(&cfg, quiet).unwrap();
    let log = root.path().join("server.log");
    let (mut child, base) = start(&data, "127.0.0.1:0", &log);
    let client = Client::from_data_dir(&data, "bank-a", &base).unwrap();

    // One at a time, each on the chain before the next: acceptance order
    // is the order written here.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (client_ref, log_ref) = (&client, log.as_path());
    let submit = |i: usize| {
        let (client, log) = (client_ref, log_ref);
        async move {
            let mut r = sample("interbank-payment");
            r["amount"] = format!("{}.00", 5000 + i).into();
            let id = client
                .submit(LEDGER, "interbank-payment", &format!("forget-{i}"), &r)
                .await
                .unwrap()
                .envelope_id;
            let got = client
                .wait_on_ledger(
                    LEDGER,
                    &id,
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await
                .unwrap();
            assert!(got.on_ledger(), "{id}: {got:?}\n{}", problems(log));
            (id, got.sequence.unwrap())
        }
    };
    let mut kept = Vec::new();
    for i in 0..3 {
        kept.push(submit(i).await);
    }
    let chain = reader(&url, &registry);
    let before = chain.len().unwrap();
    let snapshot = net.snapshot().unwrap();
    let mut lost = Vec::new();
    for i in 3..7 {
        lost.push(submit(i).await);
    }
    assert_eq!(chain.len().unwrap(), before + 4);

    net.revert(&snapshot).unwrap();
    assert_eq!(
        chain.len().unwrap(),
        before,
        "the chain forgot the last four deliveries"
    );

    // Reconciliation runs every few seconds while the worker is idle.
    let want: Vec<String> = kept.iter().chain(&lost).map(|(id, _)| id.clone()).collect();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let ids = envelope_ids_on(&chain);
        if ids.len() >= want.len() {
            assert_eq!(
                ids, want,
                "the lost deliveries come back once each, in order, after the kept ones"
            );
            break;
        }
        assert!(
            Instant::now() < until,
            "the chain holds {} of {} envelopes 60 s after it forgot four\n{}",
            ids.len(),
            want.len(),
            problems(&log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(chain.verify_chain().unwrap(), chain.len().unwrap());
    // The kept ones did not move; the gateway reports the new positions.
    for (id, seq) in &kept {
        let r = client.submission(LEDGER, id).await.unwrap();
        assert_eq!(r.sequence, Some(*seq), "{id}");
    }
    for (k, (id, _)) in lost.iter().enumerate() {
        let r = client.submission(LEDGER, id).await.unwrap();
        let on = chain.by_sequence(before + k as u64).unwrap().unwrap();
        assert!(
            r.on_ledger() && r.sequence == Some(before + k as u64),
            "{id}: {r:?}"
        );
        assert_eq!(r.entry_hash, Some(hex::encode(on.entry_hash)), "{id}");
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Exactly the four lost deliveries were requeued, each once, audited in
    // their delivery order.
    let requeued: Vec<String> = audit_entries(&data)
        .into_iter()
        .filter(|e| e.event.action == veilgate_server::audit::Action::Requeue)
        .map(|e| hex::encode(e.event.envelope_id.unwrap()))
        .collect();
    let lost_ids: Vec<String> = lost.into_iter().map(|(id, _)| id).collect();
    assert_eq!(requeued, lost_ids);
    drop(chain);
    net.stop().unwrap();
}

/// The gateway's audit log, read from its store (the gateway stopped).
fn audit_entries(data: &Path) -> Vec<veilgate_server::audit::AuditEntry> {
    use redb::{ReadableDatabase, ReadableTable};
    use veilgate_codec::Codec as _;
    let table: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
    let db = redb::Database::open(data.join("gateway.redb")).unwrap();
    let tx = db.begin_read().unwrap();
    let t = tx.open_table(table).unwrap();
    t.iter()
        .unwrap()
        .map(|r| veilgate_server::audit::AuditEntry::from_bytes(r.unwrap().1.value()).unwrap())
        .collect()
}

/// A policy added to the gateway but not yet on the registry: records are
/// accepted and wait in the outbox (peers could not fetch the policy, and
/// its proofs would go unchecked on chain); `veilgate evm publish` releases them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_policy_waits_in_the_outbox_until_it_is_published() {
    if !tools_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let net = Devnet::start(None).unwrap();
    let (data, registry) = deployed_data_dir(root.path(), &net.url());
    let v2 = ONCHAIN_POLICY.replacen("version 1", "version 2", 1);
    std::fs::write(data.join("policies/drawdown-v2.policy"), &v2).unwrap();
    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen(
            "policies = [",
            "policies = [\"policies/drawdown-v2.policy\", ",
            1,
        ),
    )
    .unwrap();
    let log = root.path().join("server.log");
    let (mut child, base) = start(&data, "127.0.0.1:0", &log);
    let client = Client::from_data_dir(&data, "bank-a", &base).unwrap();
    let record = json!({"lender": "bank-a", "borrower": "bank-b",
        "limit": "900000.00", "drawn": "1.00", "customer": "c"});
    let r = client
        .submit(LEDGER, "drawdown", "v2-0", &record)
        .await
        .unwrap();
    assert_eq!(r.status, 202, "accepted, not on the ledger: {r:?}");
    // The record is judged still waiting once the worker has tried to
    // deliver it twice and been refused (its retries count as ledger errors).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, metrics) = client.request("GET", "/metrics", None).await.unwrap();
        let metrics = String::from_utf8(metrics).unwrap();
        let errors: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("veilgate_ledger_errors_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if errors >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never tried the unpublished policy's record\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waiting = client.submission(LEDGER, &r.envelope_id).await.unwrap();
    assert!(!waiting.on_ledger(), "{waiting:?}");
    assert!(envelope_ids_on(&reader(&net.url(), &registry)).is_empty());

    let out = Command::new(bin())
        .args(["evm", "publish", "--data"])
        .arg(&data)
        .args(["--ledger", LEDGER])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("published policies/drawdown-v2.policy (proofs verified on chain)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("already published: policies/drawdown.policy"),
        "{stdout}"
    );
    let done = client
        .wait_on_ledger(LEDGER, &r.envelope_id, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(done.on_ledger(), "{done:?}\n{}", tail(&log));
    let plan = veilgate_policies::compile(&v2).unwrap();
    let chain = reader(&net.url(), &registry);
    assert!(!chain
        .policy(&plan.hash())
        .unwrap()
        .unwrap()
        .checks
        .is_empty());
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Issue 15, finding 8, the gateway's side: when the chain's time runs an
/// hour ahead of the gateway's clock, the gateway sees it in the block time
/// of its own next delivery and refuses to seal (503 `clock_skew`, saying by
/// how much) rather than sign envelopes every peer would judge by a clock
/// the ledger disagrees with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_refuses_to_seal_when_its_clock_disagrees_with_the_chains() {
    if !tools_or_skip() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let net = Devnet::start(None).unwrap();
    let (data, _registry) = deployed_data_dir(root.path(), &net.url());
    let log = root.path().join("server.log");
    let (mut child, base) = start(&data, "127.0.0.1:0", &log);
    let client = Client::from_data_dir(&data, "bank-a", &base).unwrap();
    let record = json!({"lender": "bank-a", "borrower": "bank-b",
        "limit": "900000.00", "drawn": "1.00", "customer": "c"});
    let on_ledger = |key: &'static str| {
        let (client, record, log) = (&client, &record, &log);
        async move {
            let r = client
                .submit(LEDGER, "drawdown", key, record)
                .await
                .unwrap();
            let done = client
                .wait_on_ledger(LEDGER, &r.envelope_id, Duration::from_secs(60))
                .await
                .unwrap();
            assert!(done.on_ledger(), "{done:?}\n{}", tail(log));
        }
    };
    on_ledger("in-step").await;
    net.advance_time(3600).unwrap();
    // Sealed while the gateway still believed the chain's time; written in
    // a block an hour ahead.
    on_ledger("last-before").await;
    match client.submit(LEDGER, "drawdown", "refused", &record).await {
        Err(ClientError::Api {
            status: 503,
            code,
            message,
            ..
        }) => {
            assert_eq!(code, "clock_skew");
            assert!(message.contains("behind"), "{message}");
        }
        other => panic!("expected 503 clock_skew, got {other:?}"),
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
