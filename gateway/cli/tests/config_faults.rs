//! Configuration faults found at start, naming the file and the fix, not
//! as a 500 on the first request that meets them: a policy naming a role
//! nobody on the ledger holds, and two files claiming one policy version
//! with different texts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

const PAYMENT: &str = include_str!("../../../policies/templates/interbank-payment.policy");

/// A development data directory whose ledger also publishes `text` as
/// `policies/extra.policy`.
fn with_policy(root: &Path, name: &str, text: &str) -> PathBuf {
    let data = root.join(name);
    veilgate_testkit::material::init(&data).unwrap();
    std::fs::write(data.join("policies/extra.policy"), text).unwrap();
    veilgate_testkit::data::edit_config(
        &data,
        &[("policies = [", "policies = [\"policies/extra.policy\", ")],
    )
    .unwrap();
    data
}

/// The start's error; `veilgate config check` must find the same fault
/// without starting.
fn start_error(data: &Path) -> String {
    let e = match veilgate_server::Gateway::load(data) {
        Ok(_) => panic!("{} started", data.display()),
        Err(e) => e.to_string(),
    };
    match veilgate_server::boot::check(data) {
        Ok(_) => panic!(
            "config check passed {}, which does not start: {e}",
            data.display()
        ),
        Err(c) => assert_eq!(c.to_string(), e),
    }
    e
}

/// `veilgate config check` on `data`: its exit status and output.
fn config_check(data: &Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["config", "check", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn config_check_passes_what_starts_and_names_what_does_not() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    veilgate_testkit::material::init(&data).unwrap();
    let (ok, out) = config_check(&data);
    assert!(ok, "{out}");
    assert!(
        out.contains("ledger `interbank-settlement`")
            && out.contains("no entries yet")
            && out.contains("development keys")
            && out.contains("configuration ok"),
        "{out}"
    );
    // It runs beside a gateway holding the store and ledger files.
    let gw = veilgate_server::Gateway::load(&data).unwrap();
    let (ok, out) = config_check(&data);
    assert!(ok, "{out}");
    drop(gw);
    // A ledger without its pseudonym key.
    std::fs::remove_file(data.join("ledgers/interbank-settlement/pseudonym.key")).unwrap();
    let (ok, out) = config_check(&data);
    assert!(!ok);
    assert!(
        out.contains("ledgers/interbank-settlement/pseudonym.key"),
        "{out}"
    );
    let _ = start_error(&data);
}

#[test]
fn a_policy_that_binds_another_ledger_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    let text = PAYMENT
        .replace("version 3", "version 4")
        .replace("ledger interbank-settlement", "ledger cross-border");
    assert!(text.contains("ledger cross-border"), "the template moved");
    let e = start_error(&with_policy(root.path(), "other", &text));
    assert!(
        e.contains("policies/extra.policy") && e.contains("interbank-settlement"),
        "{e}"
    );
}

#[test]
fn a_policy_naming_a_role_nobody_holds_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    // A later version that also shows the amount to a compliance desk the
    // consortium never appointed.
    let text = PAYMENT
        .replace("version 3", "version 4")
        .replace("roles { regulator }", "roles { regulator compliance_desk }")
        .replace(
            "encrypt to [payer_bank, payee_bank, regulator]",
            "encrypt to [payer_bank, payee_bank, regulator, compliance_desk]",
        );
    assert!(
        text.contains("compliance_desk]"),
        "the template moved: {text}"
    );
    let e = start_error(&with_policy(root.path(), "role", &text));
    assert!(
        e.contains("interbank-payment")
            && e.contains("version 4")
            && e.contains("`compliance_desk`")
            && e.contains("consortium.json"),
        "{e}"
    );
    // Given to a member, the same policy starts.
    let data = with_policy(root.path(), "held", &text);
    let dir = data.join("consortium.json");
    let mut d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dir).unwrap()).unwrap();
    d["ledgers"][0]["roles"]["compliance_desk"] = serde_json::json!(["bank-c"]);
    std::fs::write(&dir, d.to_string()).unwrap();
    assert!(veilgate_server::Gateway::load(&data).is_ok());
}

#[test]
fn two_texts_under_one_policy_version_stop_the_start() {
    let root = tempfile::tempdir().unwrap();
    // Version 3 again, with one field published that the shipped one hides.
    let text = PAYMENT.replace(
        "remittance:    encrypt to [payee_bank]",
        "remittance:    public",
    );
    assert_ne!(text, PAYMENT, "the template moved");
    let e = start_error(&with_policy(root.path(), "twice", &text));
    assert!(
        e.contains("policies/extra.policy")
            && e.contains("policies/interbank-payment.policy")
            && e.contains("`interbank-payment` version 3"),
        "{e}"
    );
    // The same text twice is one policy, not a conflict.
    let same = with_policy(root.path(), "same", PAYMENT);
    assert!(veilgate_server::Gateway::load(&same).is_ok());
}
