//! Key versions, key events and recovery in the pure core: the HPKE
//! receiver against the `hpke` crate's sender, key event codec and every
//! admission rule, verification across a rotation and a freeze, and k-of-n
//! recovery (every pair of three, one share, a corrupted share, a share
//! released to another key).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::keybook::{FreezeReason, KeyBook, KeyChange, KeyEvent};
use veilgate_core::predicates::KeyRing;
use veilgate_core::recovery::{self, Custodian, RecoveryPolicy};
use veilgate_core::{
    seal, EnvelopeSigner, InstitutionSecrets, KemAlg, KemDecap, LedgerDirectory, MemberKey,
    PolicySet, PseudonymKey, SealRequest, SuiteId, Trust,
};
use veilgate_policies::{compile, TEMPLATES};

const LEDGER: &str = "interbank-settlement";
const T0: u64 = 1_795_600_000_000;

/// The `hpke` crate seals (as every gateway does); our receiver, given only
/// `Z = DH(sk, enc)`, opens — for X25519 and P-256, under many keys.
#[test]
fn the_receiver_from_an_external_dh_opens_what_the_hpke_crate_seals() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let suite = SuiteId::Standard.suite();
    for kem in [KemAlg::X25519, KemAlg::P256] {
        for i in 0..32u8 {
            let me = InstitutionSecrets::generate_with("bank-b", SuiteId::Standard, kem, &mut rng);
            let key = me.key();
            let data_key = [i; 32];
            let (enc, ct) = suite
                .wrap_key(kem, &key.kem_public, b"info", b"aad", &data_key, &mut rng)
                .unwrap();
            assert_eq!(enc.len(), kem.public_len());
            let z = me.dh(&key.id, &enc).unwrap();
            let back = suite
                .unwrap_key(kem, &z, &enc, &key.kem_public, b"info", b"aad", &ct)
                .unwrap();
            assert_eq!(*back, data_key);
            // Another info, aad or a flipped ciphertext byte: refused.
            assert!(suite
                .unwrap_key(kem, &z, &enc, &key.kem_public, b"other", b"aad", &ct)
                .is_err());
            assert!(suite
                .unwrap_key(kem, &z, &enc, &key.kem_public, b"info", b"other", &ct)
                .is_err());
            let mut bent = ct.clone();
            bent[usize::from(i) % ct.len()] ^= 1;
            assert!(suite
                .unwrap_key(kem, &z, &enc, &key.kem_public, b"info", b"aad", &bent)
                .is_err());
        }
    }
}

struct World {
    secrets: BTreeMap<&'static str, InstitutionSecrets>,
    directory: LedgerDirectory,
}

fn world() -> World {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let secrets: BTreeMap<_, _> = ["bank-a", "bank-b", "regulator", "authority"]
        .into_iter()
        .map(|m| {
            (
                m,
                InstitutionSecrets::generate(m, SuiteId::Standard, &mut rng),
            )
        })
        .collect();
    let directory = LedgerDirectory {
        ledger: LEDGER.into(),
        suite: "standard".into(),
        members: secrets.values().map(InstitutionSecrets::public).collect(),
        roles: BTreeMap::from([
            ("regulator".to_owned(), vec!["regulator".to_owned()]),
            ("key_authority".to_owned(), vec!["authority".to_owned()]),
        ]),
        sees_all: Vec::new(),
        sets: BTreeMap::new(),
        pseudonyms: None,
    };
    World { secrets, directory }
}

/// An announce of `new` for `member`, in force from `from`, signed by `signer` at `at`.
fn announce(
    member: &str,
    new: &InstitutionSecrets,
    from: u64,
    signer: &InstitutionSecrets,
    at: u64,
) -> KeyEvent {
    let k = new.key();
    let mut e = KeyEvent {
        suite: SuiteId::Standard,
        ledger: LEDGER.into(),
        member: member.into(),
        key: k.id,
        time_ms: from,
        change: KeyChange::Announce {
            kem: k.kem,
            sign_public: k.sign_public.clone(),
            kem_public: k.kem_public.clone(),
            possession: EnvelopeSigner::sign(
                new,
                &KeyEvent::possession_input(LEDGER, member, &k.id),
            )
            .unwrap(),
        },
        signer: signer.id.clone(),
        signed_ms: at,
        signature: Vec::new(),
    };
    e.signature = EnvelopeSigner::sign(signer, &e.signature_input()).unwrap();
    e
}

fn freeze(
    member: &str,
    key: &MemberKey,
    from: u64,
    signer: &InstitutionSecrets,
    at: u64,
) -> KeyEvent {
    let mut e = KeyEvent {
        suite: SuiteId::Standard,
        ledger: LEDGER.into(),
        member: member.into(),
        key: key.id,
        time_ms: from,
        change: KeyChange::Freeze {
            reason: FreezeReason::Compromised,
        },
        signer: signer.id.clone(),
        signed_ms: at,
        signature: Vec::new(),
    };
    e.signature = EnvelopeSigner::sign(signer, &e.signature_input()).unwrap();
    e
}

#[test]
fn key_events_decode_strictly_and_name_their_entry() {
    let w = world();
    let new = InstitutionSecrets::generate(
        "bank-a",
        SuiteId::Standard,
        &mut ChaCha20Rng::seed_from_u64(1),
    );
    let e = announce("bank-a", &new, T0 + 10_000, &w.secrets["bank-a"], T0);
    let bytes = e.encode();
    assert_eq!(&bytes[..4], b"VGKE");
    assert_eq!(KeyEvent::decode(&bytes).unwrap(), e);
    assert_eq!(
        veilgate_core::keybook::in_entry(&e.id(), &bytes),
        Some(e.clone())
    );
    assert_eq!(
        veilgate_core::keybook::in_entry(&[0; 16], &bytes),
        None,
        "another id"
    );
    for n in 0..bytes.len() {
        assert!(KeyEvent::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(KeyEvent::decode(&longer).is_err());
    // One announce and one freeze per key: the ids differ by kind only.
    let f = freeze("bank-a", new.key(), T0, &w.secrets["bank-a"], T0);
    assert_ne!(f.id(), e.id());
    // Every flipped byte is refused by the decoder or by admission.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let admitted = KeyEvent::decode(&b)
            .ok()
            .map(|e| KeyBook::default().admit(e, &w.directory).is_ok());
        assert_ne!(admitted, Some(true), "byte {i}");
    }
    assert!(KeyBook::default().admit(e, &w.directory).is_ok());
}

#[test]
fn every_admission_rule_refuses_with_its_code() {
    let w = world();
    let a = &w.secrets["bank-a"];
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let new = InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut rng);
    let code =
        |book: &mut KeyBook, e: KeyEvent| book.admit(e, &w.directory).err().map(|e| e.code());

    let mut book = KeyBook::default();
    assert_eq!(
        code(
            &mut book,
            announce("bank-a", &new, T0 + 5_000, &w.secrets["bank-b"], T0)
        ),
        Some("not_key_authority")
    );
    let mut forged = announce("bank-a", &new, T0 + 5_000, a, T0);
    forged.signed_ms += 1;
    assert_eq!(code(&mut book, forged), Some("bad_signature"));
    let other = InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut rng);
    let mut wrong_possession = announce("bank-a", &new, T0 + 5_000, a, T0);
    if let KeyChange::Announce { possession, .. } = &mut wrong_possession.change {
        *possession = EnvelopeSigner::sign(
            &other,
            &KeyEvent::possession_input(LEDGER, "bank-a", &new.key().id),
        )
        .unwrap();
    }
    wrong_possession.signature =
        EnvelopeSigner::sign(a, &wrong_possession.signature_input()).unwrap();
    assert_eq!(code(&mut book, wrong_possession), Some("key_possession"));
    // bank-b's key announced as bank-a's: reused.
    let b_again = announce("bank-a", &w.secrets["bank-b"], T0 + 5_000, a, T0);
    assert_eq!(code(&mut book, b_again), Some("key_reused"));
    assert_eq!(
        code(
            &mut book,
            announce("bank-a", &new, T0 + 2 * 3_600_000, a, T0)
        ),
        Some("key_event_time")
    );
    assert_eq!(
        code(&mut book, announce("bank-a", &new, T0 - 3_600_000, a, T0)),
        Some("key_event_time")
    );
    // The key authority may announce for a member that cannot sign.
    assert_eq!(
        code(
            &mut book,
            announce("bank-a", &new, T0 + 5_000, &w.secrets["authority"], T0)
        ),
        None
    );
    let newer = InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut rng);
    assert_eq!(
        code(&mut book, announce("bank-a", &newer, T0 + 4_000, a, T0)),
        Some("key_event_time"),
        "not after the newest key's start"
    );

    let old = a.key().clone();
    assert_eq!(
        code(&mut book, freeze("bank-a", &old, T0 + 3_600_000, a, T0)),
        Some("key_event_time"),
        "in the future"
    );
    let unknown = MemberKey::new(
        SuiteId::Standard,
        KemAlg::X25519,
        vec![9; 32],
        vec![8; 32],
        None,
    );
    assert_eq!(
        code(&mut book, freeze("bank-a", &unknown, T0, a, T0)),
        Some("unknown_member_key")
    );
    assert_eq!(
        code(&mut book, freeze("bank-a", new.key(), T0, a, T0)),
        Some("key_event_time"),
        "before the key's start"
    );
    // Frozen with its own key (the holder who lost it may still sign).
    assert_eq!(
        code(&mut book, freeze("bank-a", &old, T0 - 1_000, a, T0)),
        None
    );
    assert_eq!(
        code(&mut book, freeze("bank-a", &old, T0, a, T0 + 1)),
        Some("already_frozen")
    );
    // The frozen key signs nothing after its freeze.
    let late = InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut rng);
    assert_eq!(
        code(&mut book, announce("bank-a", &late, T0 + 20_000, a, T0 + 1)),
        Some("bad_signature")
    );
}

fn seal_at(
    w: &World,
    dir: &LedgerDirectory,
    signer: &dyn EnvelopeSigner,
    at: u64,
    key: &str,
) -> Result<Vec<u8>, veilgate_core::SealError> {
    let plan = compile(TEMPLATES[0].1).unwrap();
    let sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap();
    let record = plan.validate_record(&sample).unwrap();
    let trust = Trust::new(
        dir.clone(),
        PolicySet::new([plan.clone()]),
        Arc::new(KeyRing::development()),
    );
    let _ = w;
    seal(
        &SealRequest {
            trust: &trust,
            plan: &plan,
            record: &record,
            submitter: signer,
            pseudonyms: (&PseudonymKey::from_bytes([1; 32])).into(),
            idempotency_key: key,
            timestamp_ms: at,
        },
        &mut ChaCha20Rng::seed_from_u64(at),
    )
    .map(|e| e.encode())
}

fn verdict(dir: &LedgerDirectory, bytes: &[u8]) -> Result<(), &'static str> {
    let plan = compile(TEMPLATES[0].1).unwrap();
    let trust = Trust::new(
        dir.clone(),
        PolicySet::new([plan]),
        Arc::new(KeyRing::development()),
    );
    veilgate_core::verify(bytes, &trust, &mut ChaCha20Rng::seed_from_u64(5))
        .map(|_| ())
        .map_err(|r| r.code())
}

#[test]
fn envelopes_verify_under_the_key_in_force_at_their_time_and_not_after_a_freeze() {
    let w = world();
    let a = &w.secrets["bank-a"];
    let new = InstitutionSecrets::generate(
        "bank-a",
        SuiteId::Standard,
        &mut ChaCha20Rng::seed_from_u64(3),
    );
    let switch = T0 + 60_000;
    let mut book = KeyBook::default();
    book.admit(announce("bank-a", &new, switch, a, T0), &w.directory)
        .unwrap();
    let dir = book.apply(&w.directory);
    // Before the switch the old key signs; after it the new one.
    let before = seal_at(&w, &dir, a, switch - 1, "k-1").unwrap();
    let after = seal_at(&w, &dir, &new, switch, "k-2").unwrap();
    assert_eq!(verdict(&dir, &before), Ok(()));
    assert_eq!(verdict(&dir, &after), Ok(()));
    // A key outside its window: refused by seal, and by peers.
    assert!(matches!(
        seal_at(&w, &dir, a, switch, "k-3"),
        Err(veilgate_core::SealError::SigningKey { .. })
    ));
    let mut stale =
        veilgate_core::Envelope::decode(&seal_at(&w, &dir, &new, switch, "k-4").unwrap()).unwrap();
    stale.timestamp_ms = switch - 1;
    stale.id = veilgate_core::envelope_id(SuiteId::Standard.suite(), LEDGER, "bank-a", "k-4");
    veilgate_core::sign_envelope(&mut stale, &new).unwrap();
    assert_eq!(verdict(&dir, &stale.encode()), Err("signing_key"));
    // Without the announce, peers do not know the new key.
    assert_eq!(verdict(&w.directory, &after), Err("signing_key"));

    // The new key is frozen from `switch + 10 s`: what it signed before still
    // verifies, what it signs after is `key_frozen`, and nothing is wrapped to it.
    book.admit(
        freeze("bank-a", new.key(), switch + 10_000, &new, switch + 20_000),
        &w.directory,
    )
    .unwrap();
    let dir = book.apply(&w.directory);
    assert_eq!(verdict(&dir, &after), Ok(()));
    let mut late = veilgate_core::Envelope::decode(&after).unwrap();
    late.timestamp_ms = switch + 10_000;
    veilgate_core::sign_envelope(&mut late, &new).unwrap();
    assert_eq!(verdict(&dir, &late.encode()), Err("key_frozen"));
    assert!(matches!(
        seal_at(&w, &dir, &new, switch + 30_000, "k-5"),
        Err(veilgate_core::SealError::SigningKeyFrozen { .. })
    ));
}

fn policy(custodians: &[InstitutionSecrets]) -> RecoveryPolicy {
    RecoveryPolicy {
        threshold: 2,
        custodians: custodians
            .iter()
            .map(|c| Custodian {
                id: c.id.clone(),
                kem: c.key().kem.name().into(),
                kem_public: hex::encode(&c.key().kem_public),
            })
            .collect(),
    }
}

#[test]
fn any_two_of_three_custodians_recover_and_one_cannot() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let custodians: Vec<InstitutionSecrets> = [
        ("c-a", KemAlg::X25519),
        ("c-b", KemAlg::P256),
        ("c-c", KemAlg::X25519),
    ]
    .iter()
    .map(|(id, kem)| InstitutionSecrets::generate_with(id, SuiteId::Standard, *kem, &mut rng))
    .collect();
    let lost =
        InstitutionSecrets::generate_with("bank-b", SuiteId::Standard, KemAlg::P256, &mut rng);
    let new = InstitutionSecrets::generate("bank-b", SuiteId::Standard, &mut rng);
    let bundle = recovery::escrow_secrets(&lost, &policy(&custodians), &mut rng).unwrap();
    assert_eq!(bundle.shares.len(), 3);
    let releases: Vec<_> = custodians
        .iter()
        .map(|c| recovery::release(&bundle, c, c.key(), new.key(), &mut rng).unwrap())
        .collect();
    // The recovered key opens what was wrapped to the lost one.
    let suite = SuiteId::Standard.suite();
    let (enc, ct) = suite
        .wrap_key(
            KemAlg::P256,
            &lost.key().kem_public,
            b"i",
            b"a",
            &[7; 32],
            &mut rng,
        )
        .unwrap();
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let chosen: Vec<_> = pair.iter().map(|i| releases[*i].clone()).collect();
        let secret = recovery::recover(&bundle, &chosen, &new).unwrap();
        let kept = veilgate_core::keys::RecoveredKey::new("bank-b", lost.key(), &secret).unwrap();
        let z = kept.dh(&enc).unwrap();
        let dk = suite
            .unwrap_key(
                KemAlg::P256,
                &z,
                &enc,
                &lost.key().kem_public,
                b"i",
                b"a",
                &ct,
            )
            .unwrap();
        assert_eq!(*dk, [7; 32], "pair {pair:?}");
    }
    let err = recovery::recover(&bundle, &releases[..1], &new).unwrap_err();
    assert_eq!(err.code(), "not_enough_shares");
    assert!(err.to_string().contains("needs 2 shares; 1 given"), "{err}");
    let err =
        recovery::recover(&bundle, &[releases[0].clone(), releases[0].clone()], &new).unwrap_err();
    assert_eq!(err.code(), "duplicate_share");
    let mut bent = releases[2].clone();
    bent.ct = format!(
        "{}{}",
        if bent.ct.starts_with('0') { "1" } else { "0" },
        &bent.ct[1..]
    );
    let err = recovery::recover(&bundle, &[releases[0].clone(), bent], &new).unwrap_err();
    assert_eq!(err.code(), "share_mismatch");
    assert!(
        err.to_string().contains("share 3 (custodian `c-c`)"),
        "{err}"
    );
    // A release to another key opens for no one else.
    let stranger = InstitutionSecrets::generate("bank-b", SuiteId::Standard, &mut rng);
    assert_eq!(
        recovery::recover(&bundle, &releases[..2], &stranger)
            .unwrap_err()
            .code(),
        "share_mismatch"
    );
    // A custodian's wrong key cannot release.
    let impostor = InstitutionSecrets::generate("c-a", SuiteId::Standard, &mut rng);
    assert!(recovery::release(&bundle, &impostor, impostor.key(), new.key(), &mut rng).is_err());
    // The bundle carries no secret.
    let text = serde_json::to_string(&bundle).unwrap();
    let lost_json: serde_json::Value = serde_json::from_str(&lost.to_json()).unwrap();
    assert!(!text.contains(lost_json["kem_secret"].as_str().unwrap()));
    // A policy outside 2 ≤ k ≤ n ≤ 16 is refused.
    let mut bad = policy(&custodians);
    bad.threshold = 4;
    assert!(recovery::escrow_secrets(&lost, &bad, &mut rng).is_err());
    bad.threshold = 1;
    assert!(recovery::escrow_secrets(&lost, &bad, &mut rng).is_err());
}
