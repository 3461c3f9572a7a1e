//! Recovery of a lost unwrapping key from k-of-n custodians: bank-b's key
//! is escrowed 2-of-3, a payment to bank-b is on the ledger, bank-b's key
//! file is deleted and the consortium gives it a new key. With one
//! custodian's share it cannot open its past fields; a corrupted share is
//! named; with two it opens them again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use veilgate_core::{InstitutionSecrets, SuiteId};
use veilgate_testkit::process::{Options, Process};

const LEDGER: &str = "interbank-settlement";

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

fn start(root: &Path, data: &Path) -> Process {
    let mut o = Options::new(env!("CARGO_BIN_EXE_veilgate"), data, root.join("log"));
    o.dev = true;
    Process::start(&o).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            std::fs::read_to_string(root.join("log")).unwrap_or_default()
        )
    })
}

fn client(root: &Path, data: &Path, gw: &Process, who: &str, args: &[&str]) -> (bool, String) {
    let p = root.join(format!(
        "{who}-{}.toml",
        gw.base.rsplit(':').next().unwrap()
    ));
    if !p.exists() {
        let (ok, out, err) = veilgate(&[
            "client",
            "profile",
            "--data",
            data.to_str().unwrap(),
            "--as",
            who,
            "--gateway",
            &gw.base,
            "--out",
            p.to_str().unwrap(),
        ]);
        assert!(ok, "{out}{err}");
    }
    let mut all = vec!["client"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--profile", p.to_str().unwrap()]);
    let (ok, out, err) = veilgate(&all);
    (ok, format!("{out}{err}"))
}

fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn two_of_three_custodians_restore_a_lost_key_and_one_cannot() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    let d = data.to_str().unwrap();

    // The consortium's recovery custodians, each with an escrow key of its own.
    let custodians: Vec<(String, PathBuf)> = ["custodian-a", "custodian-b", "custodian-c"]
        .iter()
        .map(|id| {
            let s = InstitutionSecrets::generate(id, SuiteId::Standard, &mut rand_core::OsRng);
            let path = root.path().join(format!("{id}.json"));
            write_secret(&path, &s.to_json());
            (hex::encode(&s.key().kem_public), path)
        })
        .collect();
    let dir_path = data.join("consortium.json");
    let mut dir: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dir_path).unwrap()).unwrap();
    let listed: Vec<serde_json::Value> = ["custodian-a", "custodian-b", "custodian-c"]
        .iter()
        .zip(&custodians)
        .map(|(id, (public, _))| serde_json::json!({"id": id, "kem": "x25519", "kem_public": public}))
        .collect();
    dir["recovery"] = serde_json::json!({ "threshold": 2, "custodians": listed });
    std::fs::write(&dir_path, serde_json::to_string_pretty(&dir).unwrap()).unwrap();

    let (ok, out, err) = veilgate(&["keys", "escrow", "--data", d, "--member", "bank-b"]);
    assert!(ok, "{out}{err}");
    let escrow: serde_json::Value = serde_json::from_str(&out).unwrap();
    let bundle = escrow["bundle"].as_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&bundle).unwrap();
    let lost_secret = veilgate_testkit::data::secrets(&data, "bank-b").unwrap();
    let secret_hex: serde_json::Value = serde_json::from_str(&lost_secret.to_json()).unwrap();
    let secret_hex = secret_hex["kem_secret"].as_str().unwrap().to_owned();
    assert!(
        !text.contains(&secret_hex) && !text.contains("kem_secret"),
        "the bundle holds ciphertexts only"
    );

    // A payment to bank-b, on the ledger.
    let gw = start(root.path(), &data);
    let sample = data.join("samples/interbank-payment.json");
    let (ok, out) = client(
        root.path(),
        &data,
        &gw,
        "bank-a",
        &[
            "submit",
            "--ledger",
            LEDGER,
            "--policy",
            "interbank-payment",
            "--idempotency-key",
            "rec-0001",
            sample.to_str().unwrap(),
            "--wait",
            "30",
        ],
    );
    assert!(ok, "{out}");
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = receipt["envelope_id"].as_str().unwrap().to_owned();
    drop(gw);

    // bank-b loses its key file; the consortium gives it a new key.
    std::fs::remove_file(data.join("institutions/bank-b/secrets.json")).unwrap();
    let new = InstitutionSecrets::generate("bank-b", SuiteId::Standard, &mut rand_core::OsRng);
    write_secret(
        &data.join(format!(
            "institutions/bank-b/keys/{}.json",
            new.key().id.hex()
        )),
        &new.to_json(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let (ok, out, err) = veilgate(&[
        "member",
        "key-add",
        "--data",
        d,
        "--ledger",
        LEDGER,
        "--id",
        "bank-b",
        "--sign-public",
        &hex::encode(&new.key().sign_public),
        "--kem-public",
        &hex::encode(&new.key().kem_public),
        "--from-ms",
        &now,
    ]);
    assert!(ok, "{out}{err}");

    // Custodians a and c release their shares to bank-b's new key.
    let release = |i: usize| {
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
            LEDGER,
        ]);
        assert!(ok, "{out}{err}");
        let path = root.path().join(format!("release-{i}.json"));
        std::fs::write(&path, &out).unwrap();
        path
    };
    let (rel_a, rel_c) = (release(0), release(2));
    let recover = |releases: &[&Path]| {
        let mut args = vec![
            "keys", "recover", "--data", d, "--member", "bank-b", "--bundle", &bundle,
        ];
        args.extend(releases.iter().map(|p| p.to_str().unwrap()));
        veilgate(&args)
    };

    // One share: refused, nothing written; bank-b cannot open its payment.
    let (ok, out, err) = recover(&[&rel_a]);
    assert!(!ok && err.contains("needs 2 shares; 1 given"), "{out}{err}");
    // A corrupted share is named.
    let mut bad: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rel_c).unwrap()).unwrap();
    let ct = bad["ct"].as_str().unwrap().to_owned();
    bad["ct"] = format!(
        "{}{}",
        if ct.starts_with('0') { "1" } else { "0" },
        &ct[1..]
    )
    .into();
    let bad_path = root.path().join("release-bad.json");
    std::fs::write(&bad_path, bad.to_string()).unwrap();
    let (ok, out, err) = recover(&[&rel_a, &bad_path]);
    assert!(
        !ok && err.contains("share 3 (custodian `custodian-c`)"),
        "{out}{err}"
    );
    let gw = start(root.path(), &data);
    let (ok, out) = client(
        root.path(),
        &data,
        &gw,
        "bank-b",
        &["open", "--ledger", LEDGER, &id],
    );
    assert!(!ok && out.contains("key_not_held"), "{out}");
    drop(gw);

    // Two shares: the key is back, as an unwrap-only key, and opens again.
    let (ok, out, err) = recover(&[&rel_a, &rel_c]);
    assert!(ok, "{out}{err}");
    let gw = start(root.path(), &data);
    let (ok, out) = client(
        root.path(),
        &data,
        &gw,
        "bank-b",
        &["open", "--ledger", LEDGER, &id],
    );
    assert!(ok && out.contains("Invoice 2026-1187"), "{out}");
    drop(gw);
    // The recovery is in the audit log, and the log still verifies.
    let (ok, out, err) = veilgate(&["audit", "verify", "--data", d]);
    assert!(ok, "{out}{err}");
    let store = veilgate_server::store::Store::open(&data.join("gateway.redb")).unwrap();
    let recovered: Vec<_> = store
        .audit_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == veilgate_server::audit::Action::KeyRecover)
        .collect();
    assert_eq!(recovered.len(), 1, "one recovery audited");
    let detail = recovered[0].event.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("custodian-a") && detail.contains("custodian-c"),
        "{detail}"
    );
}
