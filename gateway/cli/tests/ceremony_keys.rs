//! A consortium's whole ceremony through the real binary, then a gateway
//! that proves under its keys over HTTPS: phase 1 with three members and a
//! beacon, phase 2 for every circuit of the templates that seal today with
//! three members (one of them contributing with snarkjs in CI), and a
//! beacon; `serve` without `--dev` then seals, verifies and opens each of
//! those templates; an envelope proven under development keys is refused
//! by the gateway's verify and by its follower.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};
use veilgate_client::{policy_set, Client};
use veilgate_core::predicates::KeyRing;
use veilgate_core::{SealRequest, Trust};
use veilgate_ledger::{EmbeddedLedger, Ledger};

const TEMPLATES: [(&str, &str, &str, &str); 2] = [
    // (ledger, policy, the recipient that opens, a field only it and the regulator see)
    (
        "supply-chain-finance",
        "supply-chain-receivable",
        "bank-c",
        "financed_amount",
    ),
    ("syndicated-lending", "syndicated-loan", "bank-b", "share_b"),
];

fn veilgate(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    text_of(out, args)
}

fn text_of(out: Output, args: &[&str]) -> String {
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

/// snarkjs when CI installed it; outside CI the member uses veilgate.
fn snarkjs() -> Option<PathBuf> {
    match std::env::var_os("VEILGATE_SNARKJS") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must set VEILGATE_SNARKJS (see .ci/run)")
        }
        None => {
            eprintln!("a member contributes with veilgate: VEILGATE_SNARKJS is not set");
            None
        }
    }
}

fn snark(s: &Path, args: &[&str]) -> String {
    let out = Command::new("node").arg(s).args(args).output().unwrap();
    text_of(out, args)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn sample(policy: &str) -> Value {
    let path = format!(
        "{}/../../policies/templates/{policy}.sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Phase 1 and phase 2 through the binary; returns the keys folder and
/// what `finalize` printed (each circuit's key id).
fn run_ceremony(root: &Path, policies: &[PathBuf]) -> (PathBuf, String) {
    std::fs::create_dir_all(root).unwrap();
    let f = |n: &str| root.join(n);
    veilgate(&[
        "ceremony",
        "ptau",
        "new",
        "--power",
        "11",
        "--out",
        p(&f("pot0.ptau")),
    ]);
    for (i, who) in ["bank-a", "bank-b", "regulator"].iter().enumerate() {
        veilgate(&[
            "ceremony",
            "ptau",
            "contribute",
            "--in",
            p(&f(&format!("pot{i}.ptau"))),
            "--out",
            p(&f(&format!("pot{}.ptau", i + 1))),
            "--name",
            who,
            "--entropy",
            "dice",
        ]);
    }
    veilgate(&[
        "ceremony",
        "ptau",
        "beacon",
        "--in",
        p(&f("pot3.ptau")),
        "--out",
        p(&f("pot-beacon.ptau")),
        "--hash",
        "00000000000000000000a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6",
    ]);
    veilgate(&[
        "ceremony",
        "ptau",
        "prepare",
        "--in",
        p(&f("pot-beacon.ptau")),
        "--out",
        p(&f("pot.ptau")),
    ]);
    let ptau = f("pot.ptau");

    let c0 = f("c0");
    let mut init = vec!["ceremony", "init", "--ptau", p(&ptau), "--out", p(&c0)];
    for pol in policies {
        init.extend(["--policy", p(pol)]);
    }
    let text = veilgate(&init);
    assert!(
        text.contains("compare64-v1") && text.contains("sum3x64-v1"),
        "{text}"
    );

    veilgate(&[
        "ceremony",
        "contribute",
        "--in",
        p(&f("c0")),
        "--out",
        p(&f("c1")),
        "--ptau",
        p(&ptau),
        "--name",
        "bank-a",
    ]);
    // The second member uses snarkjs, one file per circuit.
    match snarkjs() {
        Some(s) => {
            std::fs::create_dir(f("c2")).unwrap();
            for id in ["compare64-v1", "sum3x64-v1"] {
                snark(
                    &s,
                    &[
                        "zkey",
                        "contribute",
                        p(&f(&format!("c1/{id}.zkey"))),
                        p(&f(&format!("c2/{id}.zkey"))),
                        "--name=bank-b with snarkjs",
                        "-e=bank-b entropy",
                    ],
                );
            }
        }
        None => {
            veilgate(&[
                "ceremony",
                "contribute",
                "--in",
                p(&f("c1")),
                "--out",
                p(&f("c2")),
                "--ptau",
                p(&ptau),
                "--name",
                "bank-b",
            ]);
        }
    }
    veilgate(&[
        "ceremony",
        "contribute",
        "--in",
        p(&f("c2")),
        "--out",
        p(&f("c3")),
        "--ptau",
        p(&ptau),
        "--name",
        "regulator",
    ]);
    let keys = f("keys");
    let finalized = veilgate(&[
        "ceremony",
        "finalize",
        "--in",
        p(&f("c3")),
        "--ptau",
        p(&ptau),
        "--out",
        p(&f("final")),
        "--keys",
        p(&keys),
        "--beacon",
        "00000000000000000001ffeeddccbbaa99887766554433221100ffeeddccbbaa",
    ]);
    let text = veilgate(&["ceremony", "verify", "--ptau", p(&ptau), p(&f("final"))]);
    // One verdict line per circuit (the progress lines on stderr name the
    // phase-1 transcript's count too).
    assert_eq!(text.matches(": ok, 4 contributions").count(), 2, "{text}");
    if let Some(s) = snarkjs() {
        for id in ["compare64-v1", "sum3x64-v1"] {
            let out = snark(
                &s,
                &[
                    "zkey",
                    "verify",
                    p(&f(&format!("final/{id}.r1cs"))),
                    p(&ptau),
                    p(&f(&format!("final/{id}.zkey"))),
                ],
            );
            assert!(out.contains("ZKey Ok!"), "{id}: {out}");
        }
    }
    (keys, finalized)
}

/// The key id `finalize` printed for a circuit (`ID: key HEX (path)`).
fn printed_key(finalized: &str, circuit: &str) -> String {
    let prefix = format!("{circuit}: key ");
    finalized
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no key printed for {circuit}: {finalized}"))
        .to_owned()
}

/// A development-key proof is refused as under a key the policy does not
/// pin where it pins one, else as under a key the peer does not hold.
fn refusal(ledger: &str) -> &'static str {
    if ledger == "supply-chain-finance" {
        "unpinned_key"
    } else {
        "unknown_key"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ceremony_s_keys_seal_verify_and_open_and_development_proofs_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    veilgate_testkit::material::init(&data).unwrap();
    for (ledger, policy, _, _) in TEMPLATES {
        veilgate_testkit::data::add_ledger(&data, ledger, &[&format!("policies/{policy}.policy")])
            .unwrap();
    }
    let policies: Vec<PathBuf> = TEMPLATES
        .iter()
        .map(|t| data.join(format!("policies/{}.policy", t.1)))
        .collect();
    let (keys, finalized) = tokio::task::spawn_blocking({
        let root = root.path().to_owned();
        move || run_ceremony(&root.join("ceremony"), &policies)
    })
    .await
    .unwrap();
    // The ceremony's keys replace the development keys.
    let key_dir = data.join("keys/groth16");
    std::fs::remove_dir_all(&key_dir).unwrap();
    std::fs::rename(&keys, &key_dir).unwrap();
    // supply-chain-receivable pins its circuit's key (published with the
    // policy); syndicated-loan proves under the one key the folder holds.
    let pinned = data.join("policies/supply-chain-receivable.policy");
    let text = std::fs::read_to_string(&pinned).unwrap().replacen(
        "require encrypt to [regulator]\n",
        &format!(
            "require encrypt to [regulator]\nrequire key compare64-v1 {}\n",
            printed_key(&finalized, "compare64-v1")
        ),
        1,
    );
    std::fs::write(&pinned, text).unwrap();

    let start = || {
        let o = veilgate_testkit::process::Options::new(
            env!("CARGO_BIN_EXE_veilgate"),
            &data,
            root.path().join("server.log"),
        );
        veilgate_testkit::process::Process::start(&o).unwrap()
    };
    let mut gw = start();
    let client = |who: &str, base: &str| Client::from_data_dir(&data, who, base).unwrap();
    let bank_a = client("bank-a", &gw.base);
    let mut forged = Vec::new();
    for (i, (ledger, policy, reader, secret_field)) in TEMPLATES.iter().enumerate() {
        let record = sample(policy);
        let receipt = bank_a
            .submit(ledger, policy, &format!("ceremony-{i}"), &record)
            .await
            .unwrap();
        assert_eq!(receipt.status, 201, "{policy}");
        // A peer verifies under the ceremony's keys, a recipient opens.
        let peer = client("bank-c", &gw.base);
        let fetched = peer.envelope(ledger, &receipt.envelope_id).await.unwrap();
        let set = policy_set(&peer.policies(ledger).await.unwrap()).unwrap();
        let trust = veilgate_testkit::data::trust(&data, ledger, set.clone()).unwrap();
        assert!(!trust.keys.is_development());
        let verified =
            veilgate_core::verify(&fetched.bytes, &trust, &mut rand_core::OsRng).unwrap();
        let fields = veilgate_core::open(
            &verified,
            &veilgate_testkit::data::secrets(&data, reader).unwrap(),
            None,
        )
        .unwrap();
        let opened = fields.iter().find(|f| f.name == *secret_field).unwrap();
        assert_eq!(
            opened.value.display(),
            record[secret_field].as_str().unwrap()
        );

        // The same record proven under development keys: well formed and
        // signed by a member, but under keys anyone can forge with.
        let dev = Trust::new(
            veilgate_testkit::data::ledger_directory(&data, ledger).unwrap(),
            set.clone(),
            Arc::new(KeyRing::development()),
        );
        let plan: veilgate_policies::Plan = (**set.iter().next().unwrap()).clone();
        assert_eq!(
            plan.keys.len(),
            usize::from(*ledger == "supply-chain-finance")
        );
        // Sealed under the template as shipped (a pin would name a key the
        // development ring lacks), then labelled with the published policy
        // and signed again: what a member bypassing its gateway could do.
        let shipped = veilgate_policies::compile(
            veilgate_policies::TEMPLATES
                .iter()
                .find(|(n, _)| *n == format!("{policy}.policy"))
                .unwrap()
                .1,
        )
        .unwrap();
        let mut envelope = veilgate_core::seal(
            &SealRequest {
                trust: &dev,
                plan: &shipped,
                record: &shipped.validate_record(&record).unwrap(),
                submitter: &veilgate_testkit::data::secrets(&data, "bank-a").unwrap(),
                pseudonyms: (&veilgate_testkit::data::pseudonym_key(&data, ledger).unwrap()).into(),
                idempotency_key: &format!("forged-{i}"),
                timestamp_ms: 1_796_000_000_000,
            },
            &mut rand_core::OsRng,
        )
        .unwrap();
        envelope.policy = veilgate_core::envelope::PolicyRef {
            id: plan.id.clone(),
            version: plan.version,
            hash: plan.hash(),
        };
        veilgate_core::sign_envelope(
            &mut envelope,
            &veilgate_testkit::data::secrets(&data, "bank-a").unwrap(),
        )
        .unwrap();
        let bytes = envelope.encode();
        let body = json!({"envelope": base64::engine::general_purpose::STANDARD.encode(&bytes)});
        let (status, answer) = peer
            .request(
                "POST",
                &format!("/v1/ledgers/{ledger}/verify"),
                Some(body.to_string().into_bytes()),
            )
            .await
            .unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["accepted"], false, "{answer}");
        assert_eq!(answer["reason"], refusal(ledger), "{answer}");
        forged.push((ledger.to_string(), envelope.id, bytes));
    }

    // A member writes the forged envelopes onto the ledgers directly; the
    // gateway's follower judges them when it comes back.
    gw.kill();
    let mut positions = Vec::new();
    for (ledger, id, bytes) in &forged {
        let l =
            EmbeddedLedger::open(&data.join("ledgers").join(ledger).join("ledger.redb")).unwrap();
        positions.push((
            ledger.clone(),
            l.append(*id, bytes).unwrap().receipt.sequence,
        ));
    }
    let gw = start();
    let peer = client("bank-c", &gw.base);
    for (ledger, sequence) in positions {
        let path = format!("/v1/ledgers/{ledger}/verdicts/{sequence}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let verdict: Value = loop {
            let (status, body) = peer.request("GET", &path, None).await.unwrap();
            if status == 200 {
                break serde_json::from_slice(&body).unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{ledger}: the follower gave no verdict on the forged entry {sequence} within 20 s (last status {status})"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        assert_eq!(verdict["verdict"], "rejected", "{ledger}: {verdict}");
        assert_eq!(verdict["code"], refusal(&ledger), "{ledger}: {verdict}");
        // The envelope the gateway sealed itself, before, is valid.
        let (_, first) = peer
            .request("GET", &format!("/v1/ledgers/{ledger}/verdicts/0"), None)
            .await
            .unwrap();
        let first: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(first["verdict"], "valid", "{ledger}: {first}");
    }
}
