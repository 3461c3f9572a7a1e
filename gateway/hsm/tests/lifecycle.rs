//! Opening and closing tokens: module, token and PIN failures, one token
//! per module and process, and labels made ambiguous behind Veilgate's back.
//!
//! A binary of its own because each test opens and drops its own `Token`
//! (PKCS#11 allows one initialisation per process): the tests take turns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::types::AuthPin;
use veilgate_hsm::{HsmError, Token, TokenConfig};

const CANARY_PIN: &str = "canary-PIN-7f3a";

/// One test at a time holds the module.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn bad_module_path_names_the_path() {
    let _turn = turn();
    let cfg = TokenConfig {
        module: PathBuf::from("/nonexistent/libnothing-pkcs11.so"),
        token_label: "veilgate-ci".into(),
        label_prefix: common::PREFIX.into(),
    };
    match Token::open(&cfg, AuthPin::from("1234")) {
        Err(e @ HsmError::Module { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(
                    "`/nonexistent/libnothing-pkcs11.so`: cannot load the PKCS#11 module"
                ),
                "{msg}"
            );
        }
        other => panic!("expected Module, got {other:?}"),
    }
}

#[test]
fn unknown_token_lists_the_tokens_present() {
    let Some(env) = common::env() else { return };
    let _turn = turn();
    let cfg = TokenConfig {
        token_label: "no-such-token".into(),
        ..env.config()
    };
    match Token::open(&cfg, env.pin()) {
        Err(e @ HsmError::NoToken { .. }) => {
            let HsmError::NoToken { present, .. } = &e else {
                unreachable!()
            };
            assert!(present.contains(&env.token), "{present:?}");
            let msg = e.to_string();
            assert!(
                msg.starts_with("no token labelled `no-such-token` (tokens: "),
                "{msg}"
            );
            assert!(msg.contains(&format!("`{}`", env.token)), "{msg}");
        }
        other => panic!("expected NoToken, got {other:?}"),
    }
}

#[test]
fn wrong_pin_is_named_and_never_shown() {
    let Some(env) = common::env() else { return };
    let _turn = turn();
    match Token::open(&env.config(), AuthPin::from(CANARY_PIN)) {
        Err(e @ HsmError::PinIncorrect { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("`{}`", env.token)), "{msg}");
            assert!(msg.contains("CKR_PIN_INCORRECT"), "{msg}");
            assert!(!msg.contains(CANARY_PIN), "{msg}");
            assert!(!format!("{e:?}").contains(CANARY_PIN));
        }
        other => panic!("expected PinIncorrect, got {other:?}"),
    }
    // The failed open finalised the module: the right PIN opens it again.
    let token = Token::open(&env.config(), env.pin()).unwrap();
    assert_eq!(token.label(), env.token);
    assert!(!format!("{token:?}").contains(&env.pin));
}

#[test]
fn one_token_per_module_and_process() {
    let Some(env) = common::env() else { return };
    let _turn = turn();
    let token = Token::open(&env.config(), env.pin()).unwrap();
    let label = common::unique("in-use");
    token.generate_ed25519(&label, b"id").unwrap();
    match Token::open(&env.config(), env.pin()) {
        Err(e @ HsmError::ModuleInUse { .. }) => {
            assert!(e.to_string().contains("already initialised"), "{e}");
        }
        other => panic!("expected ModuleInUse, got {other:?}"),
    }
    // The refused second open left the first one working.
    let key = token.private_key(&label).unwrap();
    token.sign_ed25519(key, b"still here").unwrap();
    token.destroy(&label).unwrap();
    drop(token);
    // Dropping finalised the module: it opens again.
    Token::open(&env.config(), env.pin()).unwrap();
}

#[test]
fn token_without_user_pin() {
    let Some(env) = common::env() else { return };
    let _turn = turn();
    // What `pkcs11-tool --init-token` without `--init-pin` leaves: a token
    // with an SO PIN only (softhsm2-util always sets both).
    let label = format!("vg-nopin-{}", std::process::id());
    env.raw(|ctx| {
        let free = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| !ctx.get_token_info(*s).unwrap().token_initialized())
            .expect("SoftHSM offers a free slot");
        ctx.init_token(free, &AuthPin::from("87654321"), &label)
            .unwrap();
    });
    let cfg = TokenConfig {
        token_label: label.clone(),
        ..env.config()
    };
    let got = Token::open(&cfg, env.pin());
    // Best effort: CI recreates the token directory anyway.
    let deleted = Command::new("softhsm2-util")
        .args(["--delete-token", "--token", &label])
        .output();
    if !deleted.is_ok_and(|o| o.status.success()) {
        println!("could not delete test token `{label}`");
    }
    match got {
        Err(e @ HsmError::PinNotInitialized { .. }) => {
            assert!(
                e.to_string()
                    .contains(&format!("`{label}` has no user PIN yet")),
                "{e}"
            );
        }
        other => panic!("expected PinNotInitialized, got {other:?}"),
    }
}

#[test]
fn a_label_on_two_keys_is_refused() {
    let Some(env) = common::env() else { return };
    let _turn = turn();
    let label = common::unique("twice");
    let make = |session: &cryptoki::session::Session| {
        session
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::EcParams(vec![0x06, 0x03, 0x2b, 0x65, 0x70]),
                    Attribute::Label(label.as_bytes().to_vec()),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                    Attribute::Label(label.as_bytes().to_vec()),
                ],
            )
            .unwrap();
    };
    env.raw_session(|s| {
        make(s);
        make(s);
    });

    let token = Token::open(&env.config(), env.pin()).unwrap();
    let ambiguous = |r: Result<(), HsmError>, object: &str| match r {
        Err(e @ HsmError::Ambiguous { .. }) => {
            let HsmError::Ambiguous { count, .. } = &e else {
                unreachable!()
            };
            assert_eq!(*count, 2);
            assert_eq!(
                e.to_string(),
                format!(
                    "token `{}`: 2 {object} objects are labelled `{label}`; a label must name exactly one",
                    env.token
                )
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    };
    ambiguous(token.private_key(&label).map(|_| ()), "private key");
    ambiguous(token.public_key(&label).map(|_| ()), "public key");
    ambiguous(
        token.relabel(&label, &common::unique("renamed")),
        "private key",
    );
    ambiguous(token.destroy(&label), "private key");
    // Listed once per object, so a caller sees it.
    assert_eq!(
        token.private_labels(&label).unwrap(),
        vec![label.clone(), label.clone()]
    );
    drop(token);

    env.raw_session(|s| {
        let found = s
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .unwrap();
        assert_eq!(found.len(), 4);
        for object in found {
            s.destroy_object(object).unwrap();
        }
        let left = s
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .unwrap();
        assert!(left.is_empty());
    });
}
