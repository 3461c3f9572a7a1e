//! Keys in a real PKCS#11 token (SoftHSM2, prepared by `.ci/run`): every
//! hosted member's keys are made inside the token with `veilgate keys
//! generate`, the key files are deleted, and a gateway over HTTPS seals,
//! verifies and opens with them. `keys inspect` reads the PKCS#11
//! attributes that say no key can leave the token. Start refusals (wrong
//! PIN, unset PIN variable, PIN in the TOML, unknown token) name what is
//! wrong and never the PIN.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

use veilgate_testkit::process::{Options, Process};

const LEDGER: &str = "interbank-settlement";
const MEMBERS: [&str; 4] = ["bank-a", "bank-b", "bank-c", "regulator"];

struct Token {
    module: String,
    label: String,
    pin: String,
}

/// The token `.ci/run` made; without it the test says why and passes,
/// unless `CI` is set (then a missing token is a failure).
fn token() -> Option<Token> {
    match std::env::var("VEILGATE_TEST_TOKEN") {
        Ok(label) => Some(Token {
            module: std::env::var("VEILGATE_PKCS11_MODULE")
                .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into()),
            label,
            pin: std::env::var("VEILGATE_TEST_PIN").expect("VEILGATE_TEST_PIN"),
        }),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("SoftHSM token not prepared: run .ci/run")
        }
        Err(_) => {
            eprintln!("skipped: no SoftHSM token (VEILGATE_TEST_TOKEN); run .ci/run");
            None
        }
    }
}

fn veilgate(args: &[&str], pin: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veilgate"));
    cmd.args(args).env_remove("VEILGATE_PROFILE");
    match pin {
        Some(p) => cmd.env("VEILGATE_E2E_PIN", p),
        None => cmd.env_remove("VEILGATE_E2E_PIN"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A development data directory serving only the standard ledger (SM2 has
/// no PKCS#11 mechanism), its keys in the token under a prefix of its own.
fn hsm_data_dir(root: &Path, t: &Token, pin_file: bool) -> std::path::PathBuf {
    let data = veilgate_testkit::data::dev_data_dir(root, &[]).unwrap();
    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let cut = text.find("# A ledger of the national suite").unwrap();
    let mut text = text[..cut].to_owned();
    let (a, b) = (
        text.find("# The RFC 8998 listener").unwrap(),
        text.find("[limits]").unwrap(),
    );
    text.replace_range(a..b, "");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let pin = if pin_file {
        // 0600, as the gateway requires of a PIN file.
        let path = data.join("pkcs11.pin");
        std::fs::write(&path, format!("{}\n", t.pin)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        "pin_file = \"pkcs11.pin\"".to_owned()
    } else {
        "pin_env = \"VEILGATE_E2E_PIN\"".to_owned()
    };
    text.push_str(&format!(
        "\n[keys]\nbackend = \"pkcs11\"\n\n[keys.pkcs11]\nmodule = \"{}\"\ntoken_label = \"{}\"\n{pin}\nlabel_prefix = \"vg-e2e-{}-{nanos}/\"\n",
        t.module,
        t.label,
        std::process::id()
    ));
    std::fs::write(&cfg, text).unwrap();
    data
}

#[test]
fn seal_verify_and_open_over_https_with_every_key_in_a_token() {
    let Some(t) = token() else { return };
    let root = tempfile::tempdir().unwrap();
    let data = hsm_data_dir(root.path(), &t, true);
    let d = data.to_str().unwrap();

    // Each member's key version made in the token, put in the directory in
    // place of its development key; the key files go.
    let dir_path = data.join("consortium.json");
    let mut dir: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dir_path).unwrap()).unwrap();
    for m in MEMBERS {
        let (ok, out, err) = veilgate(
            &["keys", "generate", "--data", d, "--member", m],
            Some(&t.pin),
        );
        assert!(ok, "keys generate {m}: {out}{err}");
        let key: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(key["kem"], "p256");
        let ledger = dir["ledgers"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|l| l["ledger"] == LEDGER)
            .unwrap();
        let member = ledger["members"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|x| x["id"] == m)
            .unwrap();
        member["keys"] = serde_json::json!([{
            "key_id": key["key_id"], "sign_public": key["sign_public"],
            "kem": "p256", "kem_public": key["kem_public"],
        }]);
        let inst = data.join("institutions").join(m);
        std::fs::remove_file(inst.join("secrets.json")).unwrap();
        std::fs::remove_file(inst.join("secrets.sm.json")).unwrap();
    }
    std::fs::write(&dir_path, serde_json::to_string_pretty(&dir).unwrap()).unwrap();
    // No file under the data directory holds a private key any more.
    for entry in walk(&data) {
        let text = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        assert!(
            !text.contains("sign_secret") && !text.contains("kem_secret"),
            "{} holds a secret key",
            entry.display()
        );
    }

    // The auditor's view: every key in the token, none can leave it.
    let (ok, out, err) = veilgate(&["keys", "inspect", "--data", d], Some(&t.pin));
    assert!(ok, "keys inspect: {out}{err}");
    let held: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(held.as_array().unwrap().len(), MEMBERS.len(), "{held}");
    for k in held.as_array().unwrap() {
        assert_eq!(k["backend"], "pkcs11", "{k}");
        for half in ["sign", "kem"] {
            let c = &k["custody"][half];
            assert_eq!(c["sensitive"], true, "{k}");
            assert_eq!(c["extractable"], false, "{k}");
            assert_eq!(c["never_extractable"], true, "{k}");
            assert_eq!(c["local"], true, "{k}");
        }
    }

    // The gateway over HTTPS, signing and unwrapping in the token.
    let mut o = Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        &data,
        root.path().join("log"),
    );
    o.dev = true;
    let gw = Process::start(&o).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            std::fs::read_to_string(root.path().join("log")).unwrap_or_default()
        )
    });
    let profile = |who: &str| {
        let p = root.path().join(format!("{who}.toml"));
        let (ok, out, err) = veilgate(
            &[
                "client",
                "profile",
                "--data",
                d,
                "--as",
                who,
                "--gateway",
                &gw.base,
                "--out",
                p.to_str().unwrap(),
            ],
            None,
        );
        assert!(ok, "{out}{err}");
        p
    };
    let (bank_a, bank_b) = (profile("bank-a"), profile("bank-b"));
    let client = |profile: &Path, args: &[&str]| {
        let mut all = vec!["client"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--profile", profile.to_str().unwrap()]);
        let (ok, out, err) = veilgate(&all, None);
        assert!(ok, "veilgate {all:?}: {out}{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let sample = data.join("samples/interbank-payment.json");
    let receipt = client(
        &bank_a,
        &[
            "submit",
            "--ledger",
            LEDGER,
            "--policy",
            "interbank-payment",
            "--idempotency-key",
            "hsm-0001",
            sample.to_str().unwrap(),
            "--wait",
            "30",
        ],
    );
    assert_eq!(receipt["state"], "on_ledger", "{receipt}");
    let id = receipt["envelope_id"].as_str().unwrap().to_owned();
    // The envelope names the token's key; a peer verifies it.
    let envelope = root.path().join("envelope.bin");
    client(
        &bank_b,
        &[
            "get",
            "--ledger",
            LEDGER,
            &id,
            "--envelope",
            "--out",
            envelope.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&envelope).unwrap();
    let env = veilgate_core::Envelope::decode(&bytes).unwrap();
    // Format 5: the shipped templates pad their field plaintexts.
    assert_eq!(env.format_version(), 5);
    let bank_a_key = held
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["member"] == "bank-a")
        .unwrap()["key_id"]
        .clone();
    assert_eq!(
        env.signing_key.map(|k| k.hex()),
        bank_a_key.as_str().map(str::to_owned)
    );
    assert!(env
        .recipients
        .iter()
        .all(|r| r.key.is_some_and(|k| k.kem == veilgate_core::KemAlg::P256)));
    let verdict = client(
        &bank_b,
        &[
            "verify",
            "--ledger",
            LEDGER,
            "--file",
            envelope.to_str().unwrap(),
        ],
    );
    assert_eq!(verdict["accepted"], true, "{verdict}");
    // The payee opens its fields: the data key unwrapped by the token.
    let opened = client(&bank_b, &["open", "--ledger", LEDGER, &id]).to_string();
    assert!(
        opened.contains("Invoice 2026-1187") && opened.contains("1250000.00"),
        "the payee reads the remittance and the amount: {opened}"
    );
    drop(gw);
}

#[test]
fn a_token_the_gateway_cannot_use_stops_the_start_naming_why() {
    let Some(t) = token() else { return };
    let root = tempfile::tempdir().unwrap();
    let data = hsm_data_dir(root.path(), &t, false);
    let d = data.to_str().unwrap();
    let canary = "canary-PIN-7f3a";
    let check = |pin: Option<&str>| veilgate(&["config", "check", "--data", d], pin);

    let (ok, out, err) = check(Some(canary));
    assert!(!ok, "{out}");
    assert!(
        err.contains(&t.label) && err.contains("CKR_PIN_INCORRECT"),
        "{err}"
    );
    assert!(
        !err.contains(canary) && !out.contains(canary),
        "the PIN leaked: {err}"
    );

    let (ok, _, err) = check(None);
    assert!(
        !ok && err.contains("VEILGATE_E2E_PIN") && err.contains("not set"),
        "{err}"
    );

    // With the right PIN the token opens, and holds no key for the members yet.
    let (ok, _, err) = check(Some(&t.pin));
    assert!(
        !ok && err.contains("bank-a") && err.contains(&format!("token `{}`", t.label)),
        "{err}"
    );

    let cfg = data.join("veilgate.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "pin_env = \"VEILGATE_E2E_PIN\"",
            "pin_env = \"VEILGATE_E2E_PIN\"\npin = \"1234\"",
        ),
    )
    .unwrap();
    let (ok, _, err) = check(Some(&t.pin));
    assert!(
        !ok && err.contains("`[keys.pkcs11] pin` is refused"),
        "{err}"
    );

    std::fs::write(
        &cfg,
        text.replace(
            &format!("token_label = \"{}\"", t.label),
            "token_label = \"no-such-token\"",
        ),
    )
    .unwrap();
    let (ok, _, err) = check(Some(&t.pin));
    assert!(
        !ok && err.contains("no-such-token") && err.contains(&t.label),
        "{err}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
