//! The operator's edits of a data directory — `policy publish`, `member
//! add | remove`, `ledger add` — each checked as the gateway's start checks
//! it, every file put back when a check fails, and `veilgate.toml`'s
//! comments kept.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use veilgate_core::{InstitutionSecrets, SuiteId};

const PAYMENT: &str = include_str!("../../../policies/templates/interbank-payment.policy");
const LEDGER: &str = "interbank-settlement";
/// A comment the development `veilgate.toml` carries.
const COMMENT: &str = "# Institutions whose signing and opening keys this gateway holds.";

fn veilgate(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn dev(root: &Path) -> PathBuf {
    let data = root.join("data");
    veilgate_testkit::material::init(&data).unwrap();
    data
}

/// Every file of the data directory's configuration, to compare before and
/// after a refused edit.
fn snapshot(data: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for name in ["veilgate.toml", "consortium.json"] {
        out.push((data.join(name), std::fs::read(data.join(name)).unwrap()));
    }
    for dir in ["policies", "ledgers"] {
        let mut stack = vec![data.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
    }
    out.sort();
    out
}

fn loads(data: &Path) -> veilgate_server::Gateway {
    veilgate_server::Gateway::load(data).unwrap_or_else(|e| panic!("does not start: {e}"))
}

#[test]
fn policy_publish_adds_a_version_and_refuses_what_would_not_start() {
    let root = tempfile::tempdir().unwrap();
    let data = dev(root.path());
    let d = data.to_str().unwrap();
    let v4 = PAYMENT.replace("version 3", "version 4").replace(
        "remittance:    encrypt to [payee_bank]",
        "remittance:    encrypt to [payee_bank, regulator]",
    );
    assert_ne!(v4, PAYMENT, "the template moved");
    let file = root.path().join("v4.policy");
    std::fs::write(&file, &v4).unwrap();
    let (ok, out) = veilgate(&["policy", "publish", "--data", d, file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("version 4") && out.contains("restart"),
        "{out}"
    );
    let toml = std::fs::read_to_string(data.join("veilgate.toml")).unwrap();
    assert!(
        toml.contains("policies/interbank-payment-v4.policy"),
        "{toml}"
    );
    assert!(toml.contains(COMMENT), "comments kept:\n{toml}");
    let gw = loads(&data);
    assert!(gw.ledgers[LEDGER]
        .texts
        .iter()
        .any(|(p, _)| p.id == "interbank-payment" && p.version == 4));
    drop(gw);

    // The same again: already there. Another text under version 4: refused.
    let (ok, out) = veilgate(&["policy", "publish", "--data", d, file.to_str().unwrap()]);
    assert!(!ok && out.contains("already published"), "{out}");
    let before = snapshot(&data);
    std::fs::write(
        &file,
        v4.replace(
            "remittance:    encrypt to [payee_bank, regulator]",
            "remittance:    encrypt to [payee_bank, regulator, payer_bank]",
        ),
    )
    .unwrap();
    let (ok, out) = veilgate(&["policy", "publish", "--data", d, file.to_str().unwrap()]);
    assert!(
        !ok && out.contains("another text") && out.contains("version 5"),
        "{out}"
    );
    assert_eq!(snapshot(&data), before);

    // A version naming a role nobody holds: the start check refuses it and
    // every file is as it was.
    let v5 = v4
        .replace("version 4", "version 5")
        .replace("roles { regulator }", "roles { regulator compliance_desk }")
        .replace("[payee_bank, regulator]", "[payee_bank, compliance_desk]");
    assert!(v5.contains("compliance_desk]"), "the template moved");
    std::fs::write(&file, &v5).unwrap();
    let (ok, out) = veilgate(&["policy", "publish", "--data", d, file.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("`compliance_desk`") && out.contains("nothing was changed"),
        "{out}"
    );
    assert_eq!(snapshot(&data), before);

    // A policy of a ledger this gateway does not configure.
    std::fs::write(
        &file,
        v5.replace("ledger interbank-settlement", "ledger elsewhere"),
    )
    .unwrap();
    let (ok, out) = veilgate(&["policy", "publish", "--data", d, file.to_str().unwrap()]);
    assert!(
        !ok && out.contains("`elsewhere`") && out.contains("ledger add"),
        "{out}"
    );
    assert_eq!(snapshot(&data), before);
}

fn keys(id: &str) -> (String, String) {
    let s = InstitutionSecrets::generate(id, SuiteId::Standard, &mut rand_core::OsRng);
    let k = s.key();
    (hex::encode(&k.sign_public), hex::encode(&k.kem_public))
}

#[test]
fn members_are_added_and_removed_in_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let data = dev(root.path());
    let d = data.to_str().unwrap();
    let (sign, kem) = keys("bank-d");
    let add = |id: &str, sign: &str, extra: &[&str]| {
        let mut args = vec![
            "member",
            "add",
            "--data",
            d,
            "--ledger",
            LEDGER,
            "--id",
            id,
            "--sign-public",
            sign,
            "--kem-public",
            &kem,
        ];
        args.extend_from_slice(extra);
        veilgate(&args)
    };
    let (ok, out) = add("bank-d", &sign, &["--role", "auditor"]);
    assert!(ok, "{out}");
    let gw = loads(&data);
    let dir = &gw.ledgers[LEDGER].trust.directory;
    assert!(dir.member("bank-d").is_some());
    assert_eq!(dir.roles["auditor"], ["bank-d"]);
    drop(gw);

    let before = snapshot(&data);
    // A member twice; a key that is no Ed25519 key.
    let (ok, out) = add("bank-d", &sign, &[]);
    assert!(!ok && out.contains("already a member"), "{out}");
    let (ok, out) = add("bank-e", "abcd", &[]);
    assert!(!ok && out.contains("bank-e"), "{out}");
    assert_eq!(snapshot(&data), before);

    let (ok, out) = veilgate(&[
        "member",
        "remove",
        "--data",
        d,
        "--ledger",
        LEDGER,
        "--id",
        "bank-c",
        "--at-ms",
        "1800000000000",
    ]);
    assert!(ok, "{out}");
    let gw = loads(&data);
    let c = gw.ledgers[LEDGER]
        .trust
        .directory
        .member("bank-c")
        .unwrap()
        .clone();
    assert_eq!(c.removed_ms, Some(1_800_000_000_000));
    assert!(c.admitted_at(1_799_999_999_999) && !c.admitted_at(1_800_000_000_000));
    drop(gw);
    let (ok, out) = veilgate(&[
        "member", "remove", "--data", d, "--ledger", LEDGER, "--id", "bank-c",
    ]);
    assert!(!ok && out.contains("already removed"), "{out}");
}

#[test]
fn a_ledger_is_added_from_the_directory_with_its_pseudonym_key() {
    let root = tempfile::tempdir().unwrap();
    let data = dev(root.path());
    let d = data.to_str().unwrap();
    let policy = PAYMENT.replace("ledger interbank-settlement", "ledger trade-ledger");
    std::fs::write(data.join("policies/trade.policy"), &policy).unwrap();
    let add_ledger = |extra: &[&str]| {
        let mut args = vec![
            "ledger",
            "add",
            "--data",
            d,
            "--id",
            "trade-ledger",
            "--ca",
            "ca/ca.pem",
            "--policy",
            "policies/trade.policy",
        ];
        args.extend_from_slice(extra);
        veilgate(&args)
    };
    // Not in the directory yet.
    let (ok, out) = add_ledger(&[]);
    assert!(!ok && out.contains("member add"), "{out}");

    // Its members, with the keys they hold on the other ledger.
    let gw = loads(&data);
    let dir = gw.ledgers[LEDGER].trust.directory.clone();
    drop(gw);
    for m in ["bank-a", "bank-b", "regulator"] {
        let key = &dir.member(m).unwrap().keys[0];
        let (sign_public, kem_public) =
            (hex::encode(&key.sign_public), hex::encode(&key.kem_public));
        let mut args = vec![
            "member",
            "add",
            "--data",
            d,
            "--ledger",
            "trade-ledger",
            "--suite",
            "standard",
            "--id",
            m,
            "--sign-public",
            &sign_public,
            "--kem-public",
            &kem_public,
        ];
        if m == "regulator" {
            args.extend_from_slice(&["--role", "regulator"]);
        }
        let (ok, out) = veilgate(&args);
        assert!(ok, "{out}");
    }
    let before = snapshot(&data);
    // A CA file that is not there: refused, nothing written.
    let (ok, out) = veilgate(&[
        "ledger",
        "add",
        "--data",
        d,
        "--id",
        "trade-ledger",
        "--ca",
        "ca/none.pem",
        "--policy",
        "policies/trade.policy",
    ]);
    assert!(!ok && out.contains("none.pem"), "{out}");
    assert_eq!(snapshot(&data), before);

    let (ok, out) = add_ledger(&["--follow"]);
    assert!(ok, "{out}");
    assert!(out.contains("pseudonym key"), "{out}");
    let key = data.join("ledgers/trade-ledger/pseudonym.key");
    assert_eq!(std::fs::read_to_string(&key).unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let toml = std::fs::read_to_string(data.join("veilgate.toml")).unwrap();
    assert!(toml.contains(COMMENT), "comments kept:\n{toml}");
    let gw = loads(&data);
    assert!(gw.ledgers.contains_key("trade-ledger"));
    drop(gw);
    let (ok, out) = add_ledger(&[]);
    assert!(!ok && out.contains("already configured"), "{out}");
}
