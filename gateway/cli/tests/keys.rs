//! The gateway's Groth16 keys come from its `groth16_keys` folder, named by
//! hash: a published policy whose circuit has no key there stops the start
//! (no request ever finds out), and development keys are announced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

/// A policy on the development ledger that needs the compare circuit.
const DRAWDOWN: &str = r#"policy drawdown version 1
ledger interbank-settlement

record {
  lender:   party
  borrower: party
  limit:    amount(2)
  drawn:    amount(2)
}

roles { regulator }

disclose {
  lender:   public
  borrower: public
  limit:    commit, encrypt to [lender, regulator]
  drawn:    commit, encrypt to [lender, borrower, regulator]
}

prove {
  drawn <= limit
}
"#;

fn serve(data: &std::path::Path) -> std::process::Output {
    // Only called where the start is refused, so the process exits by itself.
    Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_policy_whose_circuit_has_no_key_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    veilgate_testkit::material::init(&data).unwrap();
    std::fs::write(data.join("policies/drawdown.policy"), DRAWDOWN).unwrap();
    veilgate_testkit::data::edit_config(
        &data,
        &[("policies = [", "policies = [\"policies/drawdown.policy\", ")],
    )
    .unwrap();
    // With the development keys the gateway loads (checked in process: a
    // started server would not exit by itself).
    let gw = veilgate_server::Gateway::load(&data).unwrap();
    let ring = gw.ledgers["interbank-settlement"].trust.keys.clone();
    assert!(
        !ring.is_development(),
        "keys come from files, not from a built-in ring"
    );
    drop(gw);

    // Without the compare circuit's key files: refused, naming the policy,
    // the circuit and the folder.
    let keys = data.join("keys/groth16");
    for f in std::fs::read_dir(&keys).unwrap() {
        let p = f.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("compare64-v1-")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let e = veilgate_server::Gateway::load(&data)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("policy `drawdown` version 1")
            && e.contains("compare64-v1")
            && e.contains("keys/groth16"),
        "{e}"
    );
    let out = serve(&data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("compare64-v1"), "{stderr}");
}

#[test]
fn a_key_file_that_does_not_match_its_name_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    veilgate_testkit::material::init(&data).unwrap();
    let keys = data.join("keys/groth16");
    let vk = std::fs::read_dir(&keys)
        .unwrap()
        .map(|f| f.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("compare64-v1-")
                && p.extension().is_some_and(|e| e == "vk")
        })
        .unwrap();
    // Another key's bytes under this key's name.
    let date_vk = std::fs::read_dir(&keys)
        .unwrap()
        .map(|f| f.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("date-threshold-v1-")
                && p.extension().is_some_and(|e| e == "vk")
        })
        .unwrap();
    std::fs::copy(&date_vk, &vk).unwrap();
    let e = veilgate_server::Gateway::load(&data)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(&*vk.file_name().unwrap().to_string_lossy()),
        "{e}"
    );
}

#[test]
fn serve_without_dev_refuses_development_keys_even_unmarked() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    veilgate_testkit::material::init(&data).unwrap();
    // Removing the mark does not hide them: their ids give them away.
    std::fs::remove_file(data.join("keys/groth16/DEVELOPMENT")).unwrap();
    let out = serve(&data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("are development keys")
            && stderr.contains("compare64-v1")
            && stderr.contains("--dev"),
        "{stderr}"
    );
}

#[test]
fn development_keys_are_announced_at_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let log = root.path().join("server.log");
    let mut o =
        veilgate_testkit::process::Options::new(env!("CARGO_BIN_EXE_veilgate"), &data, &log);
    o.dev = true;
    let mut p = veilgate_testkit::process::Process::start(&o).unwrap();
    p.kill();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("development keys: anyone can forge proofs under them"),
        "{text}"
    );
}
