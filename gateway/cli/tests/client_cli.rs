//! The README's flow on the `veilgate client` command line, against a real
//! gateway over mTLS: a profile, the ledgers, a submission that waits for
//! the ledger, its state and envelope, the ledger's entries, an opening by
//! the payee, a peer's verification of the envelope's bytes (and of a
//! tampered copy). Beside the running gateway, `audit verify` and `follow`
//! read its store and ledger (read-only), and `config check` runs too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use veilgate_testkit::process::{Options, Process};

const LEDGER: &str = "interbank-settlement";

/// Runs `veilgate ARGS…`: exit status, standard output, standard error.
fn veilgate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(args)
        .env_remove("VEILGATE_PROFILE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `veilgate client ARGS… --profile PROFILE`, which must succeed; its JSON.
fn client(profile: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["client"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--profile", profile.to_str().unwrap()]);
    let (ok, out, err) = veilgate(&all);
    assert!(ok, "veilgate {all:?} failed:\n{out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

fn start(root: &Path) -> (Process, std::path::PathBuf) {
    let data = root.join("data");
    let mut o = Options::new(env!("CARGO_BIN_EXE_veilgate"), &data, root.join("log"));
    o.dev = true;
    (Process::start(&o).unwrap(), data)
}

/// `veilgate client profile` for `who` of the data directory `data`,
/// written to `root/<who>.toml`.
fn profile(root: &Path, data: &Path, gateway: &str, who: &str) -> PathBuf {
    let p = root.join(format!("{who}.toml"));
    let (ok, out, err) = veilgate(&[
        "client",
        "profile",
        "--data",
        data.to_str().unwrap(),
        "--as",
        who,
        "--gateway",
        gateway,
        "--out",
        p.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    p
}

/// Submits the sample payment as the profile's institution under
/// `key`, waiting until it is on the ledger; the receipt.
fn submit_sample(profile: &Path, data: &Path, key: &str) -> serde_json::Value {
    let sample = data.join("samples/interbank-payment.json");
    client(
        profile,
        &[
            "submit",
            "--ledger",
            LEDGER,
            "--policy",
            "interbank-payment",
            "--idempotency-key",
            key,
            sample.to_str().unwrap(),
            "--wait",
            "30",
        ],
    )
}

#[test]
fn the_readme_flow_runs_on_the_client_command_line() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start(root.path());
    let d = data.to_str().unwrap();
    let (bank_a, bank_b) = (
        profile(root.path(), &data, &gw.base, "bank-a"),
        profile(root.path(), &data, &gw.base, "bank-b"),
    );
    // A profile is never overwritten.
    let (ok, _, err) = veilgate(&[
        "client",
        "profile",
        "--data",
        d,
        "--as",
        "bank-a",
        "--gateway",
        &gw.base,
        "--out",
        bank_a.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("bank-a.toml"), "{err}");

    let ledgers = client(&bank_a, &["ledgers"]);
    let ids: Vec<&str> = ledgers["ledgers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    // Only the standard listener's ledgers: the SM one is served over RFC 8998.
    assert_eq!(ids, [LEDGER], "{ledgers}");
    assert_eq!(ledgers["ledgers"][0]["length"], 0);

    let sample = data.join("samples/interbank-payment.json");
    let receipt = submit_sample(&bank_a, &data, "pay-0001");
    assert_eq!(receipt["state"], "on_ledger", "{receipt}");
    let id = receipt["envelope_id"].as_str().unwrap().to_owned();
    let sequence = receipt["sequence"].as_u64().unwrap();

    let status = client(&bank_a, &["get", "--ledger", LEDGER, &id]);
    assert_eq!(status["state"], "on_ledger");
    // A submission is its submitter's business.
    let (ok, _, err) = veilgate(&[
        "client",
        "get",
        "--ledger",
        LEDGER,
        &id,
        "--profile",
        bank_b.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("unknown_submission"), "{err}");

    let env_file = root.path().join("payment.env");
    let envelope = client(
        &bank_b,
        &[
            "get",
            "--ledger",
            LEDGER,
            &id,
            "--envelope",
            "--out",
            env_file.to_str().unwrap(),
        ],
    );
    assert_eq!(envelope["sequence"], sequence);
    assert_eq!(envelope["envelope"]["submitter"], "bank-a");
    // The ledger shows the amount committed, never in clear.
    assert!(!envelope.to_string().contains("1250000"), "{envelope}");

    let entries = client(&bank_b, &["entries", "--ledger", LEDGER]);
    let listed: Vec<&serde_json::Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "envelope")
        .collect();
    assert_eq!(listed.len(), 1, "{entries}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["policy"]["id"], "interbank-payment");
    assert_eq!(listed[0]["submitter"], "bank-a");
    let page = client(
        &bank_b,
        &["entries", "--ledger", LEDGER, "--from", "0", "--limit", "1"],
    );
    assert_eq!(page["entries"].as_array().unwrap().len(), 1);

    let opened = client(&bank_b, &["open", "--ledger", LEDGER, &id]);
    let text = opened.to_string();
    assert!(
        text.contains("Invoice 2026-1187") && text.contains("1250000.00"),
        "the payee reads the remittance and the amount: {opened}"
    );

    let verdict = client(
        &bank_b,
        &[
            "verify",
            "--ledger",
            LEDGER,
            "--file",
            env_file.to_str().unwrap(),
        ],
    );
    assert_eq!(verdict["accepted"], true, "{verdict}");
    let by_id = client(&bank_b, &["verify", "--ledger", LEDGER, &id]);
    assert_eq!(by_id["accepted"], true, "{by_id}");
    // One flipped byte in the signature: rejected, exit 1.
    let mut bytes = std::fs::read(&env_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&env_file, &bytes).unwrap();
    let (ok, out, err) = veilgate(&[
        "client",
        "verify",
        "--ledger",
        LEDGER,
        "--file",
        env_file.to_str().unwrap(),
        "--profile",
        bank_b.to_str().unwrap(),
    ]);
    assert!(
        !ok && out.contains("\"accepted\": false") && err.contains("rejected"),
        "{out}{err}"
    );

    // A refusal names the code and the request id, which the gateway's log
    // lines for that request carry too.
    let (ok, _, err) = veilgate(&[
        "client",
        "submit",
        "--ledger",
        LEDGER,
        "--policy",
        "no-such-policy",
        "--idempotency-key",
        "pay-0002",
        sample.to_str().unwrap(),
        "--profile",
        bank_a.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("unknown_policy"), "{err}");
    let rid = err
        .split("request id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no request id in: {err}"))
        .to_owned();
    assert_eq!(rid.len(), 16, "{err}");
    let log = std::fs::read_to_string(root.path().join("log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(&rid) && l.contains("status=404")),
        "no log line with request id {rid}:\n{log}"
    );

    // Flags instead of a profile; a missing one is named.
    let (ok, _, err) = veilgate(&["client", "ledgers", "--gateway", &gw.base]);
    assert!(!ok && err.contains("--ca"), "{err}");
    drop(gw);
}

#[test]
fn audit_verify_follow_and_config_check_run_beside_the_gateway() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start(root.path());
    let d = data.to_str().unwrap();
    let profile = profile(root.path(), &data, &gw.base, "bank-a");
    submit_sample(&profile, &data, "pay-0001");

    let (ok, out, err) = veilgate(&["audit", "verify", "--data", d]);
    assert!(ok && out.contains("audit log ok"), "{out}{err}");

    let state = root.path().join("follow.redb");
    let (ok, out, err) = veilgate(&[
        "follow",
        "--data",
        d,
        "--ledger",
        LEDGER,
        "--once",
        "--state",
        state.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let verdicts: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(verdicts.iter().any(|v| v["verdict"] == "valid"), "{out}");

    let (ok, out, err) = veilgate(&["config", "check", "--data", d]);
    assert!(ok && out.contains("configuration ok"), "{out}{err}");
    drop(gw);
}
