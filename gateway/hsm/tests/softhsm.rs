//! Keys in a real SoftHSM 2.6.1 token, through one shared `Token` (one per
//! module and process, as in the gateway). Tests run in parallel on that
//! token, each under labels of its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, OnceLock};

use ed25519_dalek::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use veilgate_hsm::{Custody, HsmError, Mech, Token};

/// The token every test here shares, or `None` when the environment is not
/// prepared (outside CI).
fn token() -> Option<Arc<Token>> {
    static TOKEN: OnceLock<Arc<Token>> = OnceLock::new();
    let env = common::env()?;
    Some(
        TOKEN
            .get_or_init(|| Arc::new(Token::open(&env.config(), env.pin()).unwrap()))
            .clone(),
    )
}

const GENERATED: Custody = Custody {
    sensitive: true,
    extractable: false,
    never_extractable: true,
    always_sensitive: true,
    local: true,
};

#[test]
fn softhsm_has_the_mechanisms_veilgate_uses() {
    let Some(token) = token() else { return };
    for m in [
        Mech::Eddsa,
        Mech::EdwardsKeyGen,
        Mech::EcKeyGen,
        Mech::Ecdh1Derive,
    ] {
        assert!(token.has_mechanism(m).unwrap(), "{m}");
    }
}

#[test]
fn ed25519_key_is_made_inside_and_signs() {
    let Some(token) = token() else { return };
    let label = common::unique("ed25519");
    let public = token.generate_ed25519(&label, b"key-id-1").unwrap();
    let key = token.private_key(&label).unwrap();

    assert_eq!(token.custody(key).unwrap(), GENERATED);
    assert_eq!(token.public_key(&label).unwrap(), public);

    let message = b"veilgate/envelope/v4 test message";
    let sig = token.sign_ed25519(key, message).unwrap();
    let vk = VerifyingKey::from_bytes(&public).unwrap();
    vk.verify_strict(message, &Signature::from_bytes(&sig))
        .unwrap();
    assert!(vk
        .verify_strict(
            b"veilgate/envelope/v4 test messagE",
            &Signature::from_bytes(&sig)
        )
        .is_err());
    // Ed25519 is deterministic, in the token as in software.
    assert_eq!(token.sign_ed25519(key, message).unwrap(), sig);

    token.destroy(&label).unwrap();
}

#[test]
fn p256_key_is_made_inside_and_agrees_with_software() {
    let Some(token) = token() else { return };
    let label = common::unique("p256");
    let public = token.generate_p256(&label, b"key-id-2").unwrap();
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 0x04);
    let key = token.private_key(&label).unwrap();
    assert_eq!(token.custody(key).unwrap(), GENERATED);
    assert_eq!(token.public_key(&label).unwrap(), public);

    let token_public = p256::PublicKey::from_sec1_bytes(&public).unwrap();
    for _ in 0..3 {
        let eph = p256::SecretKey::random(&mut rand_core::OsRng);
        let eph_public = eph.public_key().to_encoded_point(false);
        let z = token.ecdh_p256(key, eph_public.as_bytes()).unwrap();
        let expected =
            p256::ecdh::diffie_hellman(eph.to_nonzero_scalar(), token_public.as_affine());
        assert_eq!(z.as_slice(), expected.raw_secret_bytes().as_slice());
    }

    // A DH key does not sign (CKA_SIGN false): the token refuses.
    let e = token.sign_ed25519(key, b"x").unwrap_err();
    assert!(e.to_string().contains("C_Sign"), "{e}");

    token.destroy(&label).unwrap();
}

#[test]
fn ecdh_refuses_bad_peers_and_wrong_keys() {
    let Some(token) = token() else { return };
    let label = common::unique("p256-bad-peer");
    let public = token.generate_p256(&label, b"key-id-3").unwrap();
    let key = token.private_key(&label).unwrap();

    // Checked before the token is called: not an uncompressed point.
    let e = token.ecdh_p256(key, &public[..33]).unwrap_err();
    assert!(matches!(e, HsmError::Input { .. }), "{e}");
    // Off the curve: the token refuses (SoftHSM: CKR_GENERAL_ERROR), no answer.
    let mut off_curve = public.clone();
    off_curve[64] ^= 1;
    let e = token.ecdh_p256(key, &off_curve).unwrap_err();
    assert!(e.to_string().contains("C_DeriveKey"), "{e}");
    // The token still works afterwards.
    let eph = p256::SecretKey::random(&mut rand_core::OsRng);
    token
        .ecdh_p256(key, eph.public_key().to_encoded_point(false).as_bytes())
        .unwrap();

    // An Ed25519 key (no CKA_DERIVE) is refused too.
    let ed = common::unique("ed25519-no-derive");
    token.generate_ed25519(&ed, b"key-id-4").unwrap();
    let ed_key = token.private_key(&ed).unwrap();
    let e = token.ecdh_p256(ed_key, &public).unwrap_err();
    assert!(e.to_string().contains("C_DeriveKey"), "{e}");

    token.destroy(&label).unwrap();
    token.destroy(&ed).unwrap();
}

#[test]
fn relabel_list_and_destroy() {
    let Some(token) = token() else { return };
    let group = common::unique("lifecycle");
    let temp = format!("{group}/tmp");
    let named = format!("{group}/named");
    let other = format!("{group}/other");

    let public = token.generate_ed25519(&temp, b"id-5").unwrap();
    token.generate_p256(&other, b"id-6").unwrap();

    // Relabel: the new label finds both halves, the old one nothing.
    token.relabel(&temp, &named).unwrap();
    let key = token.private_key(&named).unwrap();
    assert_eq!(token.public_key(&named).unwrap(), public);
    match token.private_key(&temp) {
        Err(HsmError::NoKey { label, .. }) => assert_eq!(label, temp),
        other => panic!("expected NoKey, got {other:?}"),
    }
    assert!(matches!(
        token.public_key(&temp),
        Err(HsmError::NoKey { .. })
    ));
    // The renamed key still signs.
    let sig = token.sign_ed25519(key, b"after relabel").unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify_strict(b"after relabel", &Signature::from_bytes(&sig))
        .unwrap();

    // Never a second object under a label in use.
    assert!(matches!(
        token.relabel(&named, &other),
        Err(HsmError::LabelTaken { .. })
    ));
    assert!(matches!(
        token.generate_ed25519(&other, b"id-7"),
        Err(HsmError::LabelTaken { .. })
    ));
    assert!(matches!(
        token.relabel(&format!("{group}/none"), &format!("{group}/x")),
        Err(HsmError::NoKey { .. })
    ));

    // Listing by prefix: exactly this test's keys, sorted.
    let mut expected = vec![named.clone(), other.clone()];
    expected.sort();
    assert_eq!(
        token.private_labels(&format!("{group}/")).unwrap(),
        expected
    );

    // Outside the prefix nothing is created, renamed or destroyed.
    for e in [
        token
            .generate_ed25519("bank-a-sign-2026", b"id")
            .map(|_| ()),
        token.relabel(&named, "bank-a-sign-2026"),
        token.destroy("bank-a-sign-2026"),
    ] {
        match e {
            Err(HsmError::OutsidePrefix { label, prefix, .. }) => {
                assert_eq!(label, "bank-a-sign-2026");
                assert_eq!(prefix, common::PREFIX);
            }
            other => panic!("expected OutsidePrefix, got {other:?}"),
        }
    }

    // Destroy removes both halves.
    token.destroy(&named).unwrap();
    assert!(matches!(
        token.private_key(&named),
        Err(HsmError::NoKey { .. })
    ));
    assert!(matches!(
        token.public_key(&named),
        Err(HsmError::NoKey { .. })
    ));
    assert!(matches!(token.destroy(&named), Err(HsmError::NoKey { .. })));
    assert_eq!(
        token.private_labels(&format!("{group}/")).unwrap(),
        vec![other.clone()]
    );
    token.destroy(&other).unwrap();
    assert!(token
        .private_labels(&format!("{group}/"))
        .unwrap()
        .is_empty());
}

#[test]
fn signatures_from_many_threads() {
    let Some(token) = token() else { return };
    let label = common::unique("threads");
    let public = token.generate_ed25519(&label, b"id-8").unwrap();
    let vk = VerifyingKey::from_bytes(&public).unwrap();
    let key = token.private_key(&label).unwrap();

    let threads: Vec<_> = (0..4)
        .map(|t| {
            let token = Arc::clone(&token);
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let message = format!("thread {t} message {i}").into_bytes();
                        let sig = token.sign_ed25519(key, &message).unwrap();
                        (message, sig)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut count = 0;
    for thread in threads {
        for (message, sig) in thread.join().unwrap() {
            vk.verify_strict(&message, &Signature::from_bytes(&sig))
                .unwrap();
            count += 1;
        }
    }
    assert_eq!(count, 200);
    token.destroy(&label).unwrap();
}
