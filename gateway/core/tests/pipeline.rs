#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::predicates::KeyRing;
use veilgate_core::sets::{SetBook, SetContents, SetError, SetRoot};
use veilgate_core::{
    open, seal, sign_envelope, Access, Directory, Envelope, FieldBody, InstitutionSecrets, KemAlg,
    LedgerDirectory, OpenError, PolicySet, Rejection, SealRequest, SuiteId, Trust,
};
use veilgate_policies::{compile, Plan, TEMPLATES};

#[test]
fn each_recipient_sees_exactly_its_fields() {
    let fx = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let bytes = seal_sample(&fx, &sample(), "pay-0001", &mut rng).encode();
    let public = ["payer_bank", "payee_bank", "currency", "value_date"];
    let expect = |extra: &[&'static str]| -> BTreeSet<&str> {
        public.iter().chain(extra).copied().collect()
    };

    let a = view(&fx, &bytes, "bank-a").unwrap();
    assert_eq!(names(&a), expect(&["amount", "payer_account"]));
    let b = view(&fx, &bytes, "bank-b").unwrap();
    assert_eq!(
        names(&b),
        expect(&["amount", "payee_account", "remittance"])
    );
    let reg = view(&fx, &bytes, "regulator").unwrap();
    assert_eq!(
        names(&reg),
        expect(&["amount", "payer_account", "payee_account"])
    );
    assert_eq!(
        view(&fx, &bytes, "bank-c"),
        Err(OpenError::NotARecipient("bank-c".into()))
    );

    let s = sample();
    assert_eq!(
        a["amount"],
        ("1250000.00".to_owned(), Access::CommitmentOpened)
    );
    assert_eq!(a["payer_account"].0, s["payer_account"].as_str().unwrap());
    assert_eq!(b["remittance"].0, s["remittance"].as_str().unwrap());
    assert_eq!(reg["payee_account"].0, s["payee_account"].as_str().unwrap());
    assert_eq!(a["currency"], ("CNY".to_owned(), Access::Public));
}

#[test]
fn a_key_that_is_not_named_cannot_open() {
    let fx = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let bytes = seal_sample(&fx, &sample(), "pay-0002", &mut rng).encode();
    let v = verify(
        &bytes,
        &PolicySet::new([fx.plan.clone()]),
        &fx.directory,
        &mut rng,
    )
    .unwrap();
    // Another key presented under bank-a's name: the envelope names the key
    // the data key is wrapped to, and this is not it.
    let mut impostor_rng = ChaCha20Rng::seed_from_u64(99);
    let impostor = InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut impostor_rng);
    assert_eq!(
        open(&v, &impostor, None),
        Err(OpenError::KeyNotHeld {
            institution: "bank-a".into(),
            key: fx.secrets["bank-a"].key().id.hex(),
        })
    );
}

#[test]
fn flipping_any_single_byte_is_rejected() {
    let fx = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let bytes = seal_sample(&fx, &sample(), "pay-0003", &mut rng).encode();
    let policies = PolicySet::new([fx.plan.clone()]);
    verify(&bytes, &policies, &fx.directory, &mut rng).unwrap();
    let mut reasons = BTreeMap::new();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            match verify(&bad, &policies, &fx.directory, &mut rng) {
                Ok(_) => panic!("flip {mask:#04x} at byte {i} of {} accepted", bytes.len()),
                Err(e) => *reasons.entry(e.code()).or_insert(0) += 1,
            }
        }
    }
    // Most flips land in signed content; the reasons show the checks all fire.
    assert!(
        reasons.contains_key("bad_signature") && reasons.contains_key("malformed"),
        "{reasons:?}"
    );
    for len in 0..bytes.len() {
        assert!(verify(&bytes[..len], &policies, &fx.directory, &mut rng).is_err());
    }
}

#[test]
fn verify_names_the_reason() {
    let fx = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let env = seal_sample(&fx, &sample(), "pay-0004", &mut rng);
    let policies = PolicySet::new([fx.plan.clone()]);

    let other = compile(&TEMPLATES[0].1.replace("version 3", "version 4")).unwrap();
    assert!(matches!(
        verify(
            &env.encode(),
            &PolicySet::new([other]),
            &fx.directory,
            &mut rng
        ),
        Err(Rejection::UnknownPolicy(_))
    ));

    let mut dir = fx.directory.clone();
    dir.members.retain(|m| m.id != "bank-a");
    assert_eq!(
        verify(&env.encode(), &policies, &dir, &mut rng).unwrap_err(),
        Rejection::UnknownSubmitter("bank-a".into())
    );

    let mut wrong_ledger = fx.directory.clone();
    wrong_ledger.ledger = "other".into();
    assert_eq!(
        verify(&env.encode(), &policies, &wrong_ledger, &mut rng)
            .unwrap_err()
            .code(),
        "wrong_ledger"
    );
}

/// A member signs envelopes that break the policy. The signature is valid, so
/// only the shape, id and proof checks stand between it and acceptance.
#[test]
fn a_malicious_submitter_cannot_bend_the_shape_or_proofs() {
    let fx = fixture(1);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let policies = PolicySet::new([fx.plan.clone()]);
    let base = seal_sample(&fx, &sample(), "pay-0005", &mut rng);
    let mut small = sample();
    small["amount"] = "7.00".into();
    let other = seal_sample(&fx, &small, "pay-0006", &mut rng);
    let code = |mutate: &dyn Fn(&mut Envelope)| -> &'static str {
        let mut e = base.clone();
        mutate(&mut e);
        sign_envelope(&mut e, &fx.secrets["bank-a"]).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        match verify(&e.encode(), &policies, &fx.directory, &mut rng) {
            Ok(_) => "accepted",
            Err(r) => r.code(),
        }
    };
    assert_eq!(code(&|_| {}), "accepted");
    let amount = 4; // index among disclosed fields
                    // The range section emptied (the envelope then reads as format 1, whose
                    // range field must carry its own proof).
    assert_eq!(code(&|e| e.range_proofs.clear()), "shape");
    // Another envelope's commitment and proof (a different amount): bound to the other envelope.
    assert_eq!(
        code(&|e| {
            e.fields[amount].body = other.fields[amount].body.clone();
            e.range_proofs = other.range_proofs.clone();
        }),
        "proof_failed"
    );
    // Commitment swapped, proof kept.
    assert_eq!(
        code(&|e| {
            if let (
                FieldBody::Committed { commitment, .. },
                FieldBody::Committed { commitment: c2, .. },
            ) = (&mut e.fields[amount].body, &other.fields[amount].body)
            {
                *commitment = *c2;
            }
        }),
        "proof_failed"
    );
    // The regulator's copy of the amount removed.
    assert_eq!(
        code(&|e| {
            e.fields[amount].ciphertexts.pop();
        }),
        "shape"
    );
    // The remittance published in clear.
    assert_eq!(
        code(&|e| {
            let last = e.fields.len() - 1;
            e.fields[last].body = FieldBody::Public(vec![1, b'x']);
            e.fields[last].ciphertexts.clear();
        }),
        "shape"
    );
    // A dropped field smuggled in.
    assert_eq!(
        code(&|e| e.fields.push(veilgate_core::envelope::SealedField {
            name: "payer_name".into(),
            body: FieldBody::Public(vec![1]),
            ciphertexts: vec![]
        })),
        "shape"
    );
    // Replay under a new id (the id no longer derives from the idempotency key).
    assert_eq!(code(&|e| e.id[0] ^= 1), "bad_envelope_id");
    assert_eq!(
        code(&|e| e.idempotency_key = "pay-0006".into()),
        "bad_envelope_id"
    );
    // A payer that is not the submitter (bank-a writing in bank-b's name).
    assert_eq!(
        code(&|e| e.fields[0].body = FieldBody::Public([&[5u8][..], b"bank-b"].concat())),
        "not_submitter"
    );
    // A payee that is not a ledger member.
    assert_eq!(
        code(&|e| e.fields[1].body = FieldBody::Public([&[5u8][..], b"bank-z"].concat())),
        "shape"
    );
}

/// The submitter field must name the sealing member, and a ledger that
/// requires the regulator to see every field refuses a policy that drops one.
#[test]
fn seal_refuses_another_members_name_and_a_withheld_field() {
    let fx = fixture(11);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let mut record = sample();
    record["payer_bank"] = "bank-b".into();
    let record = fx.plan.validate_record(&record).unwrap();
    let plain = trust(&fx.directory, &PolicySet::default());
    let mut strict = fx.directory.clone();
    strict.sees_all = vec!["regulator".into()];
    let strict_trust = trust(&strict, &PolicySet::default());
    let request = |trust, record| SealRequest {
        plan: &fx.plan,
        record,
        trust,
        submitter: &fx.secrets["bank-a"],
        pseudonyms: (&fx.pseudonym_key).into(),
        idempotency_key: "pay-0100",
        timestamp_ms: TIMESTAMP,
    };
    match seal(&request(&plain, &record), &mut rng) {
        Err(veilgate_core::SealError::Record(e)) => {
            assert_eq!(e.field, "payer_bank");
            assert!(
                e.rule.contains("bank-a") && !e.rule.contains("bank-b"),
                "{e}"
            );
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Payer bank-a sealed by bank-a, on a ledger where the regulator sees all:
    // the template drops the customer names, so seal and peers refuse it.
    let env = seal_sample(&fx, &sample(), "pay-0101", &mut rng);
    let good = fx.plan.validate_record(&sample()).unwrap();
    match seal(&request(&strict_trust, &good), &mut rng) {
        Err(e @ veilgate_core::SealError::Withheld { .. }) => {
            assert!(e.to_string().contains("`payer_name`"), "{e}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let policies = PolicySet::new([fx.plan.clone()]);
    let rejection = verify(&env.encode(), &policies, &strict, &mut rng).unwrap_err();
    assert_eq!(rejection.code(), "withheld", "{rejection}");
    verify(&env.encode(), &policies, &fx.directory, &mut rng).unwrap();
}

/// Known-answer vector: fixed seeds gave the bytes in `vectors/envelope-v1.json`;
/// those bytes verify and open to the recorded views. Every SDK checks the same file.
///
/// Seal now proves ranges in format 3, so it no longer makes this format-1
/// envelope (a range proof inside the field); peers still verify and open
/// the stored bytes, as they must for every envelope already on a ledger.
#[test]
fn known_answer_envelope() {
    stored_vector(&frozen("envelope-v1.policy"), "envelope-v1.json");
}

/// Format version 3: two amounts' ranges in one aggregated bulletproof, and
/// two conditions. Seal now writes format 4 (keys named), so the stored
/// bytes are checked as peers check every envelope already on a ledger.
#[test]
fn known_answer_envelope_v3() {
    stored_vector(&frozen("envelope-v3.policy"), "envelope-v3.json");
}

/// Format version 2: BN254 commitments and a Groth16 proof of
/// `financed_amount <= invoice_amount` under the development keys (stored bytes).
#[test]
fn known_answer_envelope_v2() {
    stored_vector(&frozen("envelope-v2.policy"), "envelope-v2.json");
}

/// Format version 4: the v3 vector's record, with the key section. The AML
/// monitor (bank-c) receives under DHKEM(P-256) (the KEM a token holds),
/// the others under DHKEM(X25519); every key is named by its id.
#[test]
fn known_answer_envelope_v4() {
    let mut fx = fixture(2026);
    fx.plan = frozen("envelope-v3.policy");
    let mut rng = ChaCha20Rng::seed_from_u64(4004);
    let p256 =
        InstitutionSecrets::generate_with("bank-c", SuiteId::Standard, KemAlg::P256, &mut rng);
    let at = fx
        .directory
        .members
        .iter()
        .position(|m| m.id == "bank-c")
        .unwrap();
    fx.directory.members[at] = p256.public();
    fx.secrets.insert("bank-c", p256);
    let record = serde_json::json!({
        "reporting_bank": "bank-a",
        "counterparty_bank": "bank-b",
        "amount": "875000.00",
        "fee": "25.00",
        "transfers": 3,
        "customer_account": "6217000010098765432",
    });
    let env = try_seal(&fx, &fx.plan, &record, "kat-v4-0001").unwrap();
    assert_eq!(env.encode()[4], 4);
    assert_eq!(env.signing_key, Some(fx.secrets["bank-a"].key().id));
    let kems: Vec<_> = env
        .recipients
        .iter()
        .map(|r| (r.institution.as_str(), r.key.unwrap().kem))
        .collect();
    assert!(kems.contains(&("bank-c", KemAlg::P256)), "{kems:?}");
    assert!(kems.contains(&("bank-a", KemAlg::X25519)), "{kems:?}");
    known_answer(
        &fx,
        &env,
        "envelope-v4.json",
        "gateway/core/tests/vectors/envelope-v3.policy",
        "Veilgate envelope format v4 known-answer vector: the v3 vector's large-value report sealed by bank-a, with the key section: the signing key id, and per recipient the key id and KEM its data key is wrapped to. bank-c (the AML monitor) holds a DHKEM(P-256, HKDF-SHA256) key (KEM byte 2, 65-byte encapsulated key), the others DHKEM(X25519) (KEM byte 1). Verify `envelope_hex` with `directory` (format 2, key ids listed) and the policy of hash `policy_hash`; open it with each secret; compare to `views`.",
    );
}

/// A known-answer vector's policy: the template as it was when the vector
/// was made, kept beside it so later template versions leave its bytes alone.
fn frozen(file: &str) -> Plan {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    compile(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn known_answer(fx: &Fixture, env: &Envelope, file: &str, policy_file: &str, description: &str) {
    known_answer_with(
        fx,
        env,
        file,
        policy_file,
        description,
        serde_json::Map::new(),
    );
}

/// [`known_answer`] with `extra` keys written into (and compared from) the
/// vector: what an implementer needs beyond the envelope, such as v6's VOPRF key.
fn known_answer_with(
    fx: &Fixture,
    env: &Envelope,
    file: &str,
    policy_file: &str,
    description: &str,
    extra: serde_json::Map<String, serde_json::Value>,
) {
    let bytes = env.encode();
    let views: BTreeMap<&str, BTreeMap<String, String>> = MEMBERS
        .iter()
        .filter_map(|m| {
            view(fx, &bytes, m)
                .ok()
                .map(|v| (*m, v.into_iter().map(|(k, (v, _))| (k, v)).collect()))
        })
        .collect();
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    if veilgate_circuits::vectors::write_mode().unwrap() {
        let mut doc = serde_json::json!({
            "description": description,
            "policy_file": policy_file,
            "policy_hash": hex::encode(fx.plan.hash()),
            "directory": Directory::new(vec![fx.directory.clone()]),
            "secrets": fx.secrets.iter().map(|(k, v)| (k.to_string(), serde_json::from_str::<serde_json::Value>(&v.to_json()).unwrap())).collect::<BTreeMap<_, _>>(),
            "pseudonym_key": hex::encode(fx.pseudonym_key.0.as_ref()),
            "envelope_hex": hex::encode(&bytes),
            "envelope": veilgate_core::view::envelope_json(env),
            "views": views,
        });
        doc.as_object_mut().unwrap().extend(extra.clone());
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let kat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        kat["policy_hash"],
        hex::encode(fx.plan.hash()),
        "policy hash changed: the plan encoding moved"
    );
    assert_eq!(
        kat["envelope_hex"],
        hex::encode(&bytes),
        "sealing the fixed inputs no longer gives the recorded bytes"
    );
    for (k, v) in &extra {
        assert_eq!(
            &kat[k], v,
            "`{k}` of {file} no longer matches what it records"
        );
    }
    stored_vector(&fx.plan, file);
}

/// The stored bytes, decoded with the stored keys only, open to the stored views.
fn stored_vector(plan: &Plan, file: &str) {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let kat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(kat["policy_hash"], hex::encode(plan.hash()));
    let stored = hex::decode(kat["envelope_hex"].as_str().unwrap()).unwrap();
    let dir = Directory::from_json(&kat["directory"].to_string()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let verified = verify(
        &stored,
        &PolicySet::new([plan.clone()]),
        &dir.ledgers[0],
        &mut rng,
    )
    .unwrap();
    for (who, want) in kat["views"].as_object().unwrap() {
        let secrets = InstitutionSecrets::from_json(&kat["secrets"][who].to_string()).unwrap();
        let got: BTreeMap<String, serde_json::Value> = open(&verified, &secrets, None)
            .unwrap()
            .into_iter()
            .map(|f| (f.name, f.value.display().into()))
            .collect();
        assert_eq!(&serde_json::to_value(got).unwrap(), want, "view of {who}");
    }
}

/// `mask` and `generalize` publish a derived value; recipients of the full value
/// open it; a submitter cannot publish more than the mask keeps.
#[test]
fn masked_and_generalized_fields_seal_verify_and_open() {
    let mut fx = fixture(3);
    let text = TEMPLATES[0]
        .1
        .replace(
            "payer_account: pseudonym, encrypt",
            "payer_account: mask last 4, encrypt",
        )
        .replace(
            "value_date:    public",
            "value_date:    generalize month, encrypt to [regulator]",
        );
    fx.plan = compile(&text).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let env = seal_sample(&fx, &sample(), "mask-0001", &mut rng);
    let bytes = env.encode();
    let view_json = veilgate_core::view::envelope_json(&env).to_string();
    assert!(
        view_json.contains("***************3445") && view_json.contains("\"2026-11\""),
        "{view_json}"
    );
    assert!(!view_json.contains("6222020200112233445"));

    let a = view(&fx, &bytes, "bank-a").unwrap();
    assert_eq!(
        a["payer_account"],
        ("6222020200112233445".to_owned(), Access::Decrypted)
    );
    assert_eq!(a["value_date"], ("2026-11".to_owned(), Access::Derived));
    let b = view(&fx, &bytes, "bank-b").unwrap();
    assert_eq!(
        b["payer_account"],
        ("***************3445".to_owned(), Access::Derived)
    );
    let reg = view(&fx, &bytes, "regulator").unwrap();
    assert_eq!(
        reg["value_date"],
        ("2026-11-25".to_owned(), Access::Decrypted)
    );

    // A member publishing the full account where the policy says `mask last 4`.
    let policies = PolicySet::new([fx.plan.clone()]);
    let mut bad = env.clone();
    let i = bad
        .fields
        .iter()
        .position(|f| f.name == "payer_account")
        .unwrap();
    bad.fields[i].body =
        FieldBody::Derived(veilgate_policies::Value::Str("6222020200112233445".into()).encode());
    sign_envelope(&mut bad, &fx.secrets["bank-a"]).unwrap();
    assert_eq!(
        verify(&bad.encode(), &policies, &fx.directory, &mut rng)
            .unwrap_err()
            .code(),
        "shape"
    );
}

#[test]
fn every_template_seals_verifies_and_opens() {
    let fx = fixture(4);
    for (name, _) in TEMPLATES.iter() {
        let (plan, sample) = template(name);
        assert_eq!(veilgate_core::unsupported(&plan), None, "{name}");
        let env = try_seal(&fx, &plan, &sample, "k").unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env.predicates.len(), plan.predicates.len(), "{name}");
        let ranges = veilgate_core::ranges::facts(&plan, &env.conditions).unwrap();
        let sets = !veilgate_core::predicates::set_fields(&plan).is_empty();
        // Format 5 (format 4 with padding: every template pads) whatever
        // else the policy holds; its v2 and v3 sections say what it proves.
        let _ = (ranges, sets);
        assert!(plan.padding.is_some(), "{name}");
        assert_eq!(env.encode()[4], 5, "{name}");
        check(&fx, &plan, &env).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every recipient opens what the policy gives it.
        let mut dir = fx.directory.clone();
        dir.ledger = plan.ledgers[0].clone();
        let v = verify(
            &env.encode(),
            &PolicySet::new([plan.clone()]),
            &dir,
            &mut ChaCha20Rng::seed_from_u64(3),
        )
        .unwrap();
        for r in &env.recipients {
            let opened = open(&v, &fx.secrets[r.institution.as_str()], None)
                .unwrap_or_else(|e| panic!("{name}: {} opens: {e}", r.institution));
            assert!(opened.iter().any(|f| f.access != Access::Public), "{name}");
        }
    }
}

/// Groth16 predicates end to end: the envelope carries BN254 commitments and
/// one proof per predicate; recipients open the commitments; a false record
/// is refused at seal; a member that re-signs a bent envelope is rejected.
#[test]
fn groth16_predicates_seal_verify_open_and_resist_bending() {
    let fx = fixture(5);
    let (plan, sample) = template("supply-chain-receivable.policy");
    let env = try_seal(&fx, &plan, &sample, "inv-1").unwrap();
    let json = veilgate_core::view::envelope_json(&env).to_string();
    assert!(
        json.contains("committed_bn254") && json.contains("\"compare\""),
        "{json}"
    );
    check(&fx, &plan, &env).unwrap();

    // The financier (bank-b here) opens the financed amount; the invoice
    // amount is the regulator's alone.
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    let policies = PolicySet::new([plan.clone()]);
    let v = verify(
        &env.encode(),
        &policies,
        &dir,
        &mut ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    let reg: BTreeMap<_, _> = open(&v, &fx.secrets["regulator"], None)
        .unwrap()
        .into_iter()
        .map(|f| (f.name, (f.value.display(), f.access)))
        .collect();
    assert_eq!(
        reg["invoice_amount"],
        (
            sample["invoice_amount"].as_str().unwrap().to_owned(),
            Access::CommitmentOpened
        )
    );
    assert_eq!(
        reg["financed_amount"].0,
        sample["financed_amount"].as_str().unwrap()
    );

    // A record that breaks the predicate is refused, naming it.
    let mut greedy = sample.clone();
    greedy["financed_amount"] = serde_json::json!("99999999.00");
    let err = try_seal(&fx, &plan, &greedy, "inv-2").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the record does not satisfy `financed_amount <= invoice_amount`, which its policy requires"
    );

    // Bent envelopes, each re-signed by the submitter.
    let commitments: Vec<usize> = env
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.body, FieldBody::Bn254Committed(_)))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(commitments.len(), 2);
    let other = try_seal(&fx, &plan, &sample, "inv-3").unwrap();
    let mut cases: Vec<(&str, Envelope)> = Vec::new();
    let mut swapped = env.clone();
    let (i, j) = (commitments[0], commitments[1]);
    let bi = swapped.fields[i].body.clone();
    swapped.fields[i].body = swapped.fields[j].body.clone();
    swapped.fields[j].body = bi;
    cases.push(("swapped commitments", swapped));
    let mut borrowed = env.clone();
    borrowed.predicates = other.predicates.clone();
    cases.push(("another envelope's proof", borrowed));
    let mut missing = env.clone();
    missing.predicates.clear();
    cases.push(("no proof", missing));
    let mut rekeyed = env.clone();
    rekeyed.predicates[0].key_id[0] ^= 1;
    cases.push(("unknown key", rekeyed));
    let mut garbled = env.clone();
    garbled.predicates[0].proofs[0][5] ^= 1;
    cases.push(("garbled proof", garbled));
    let mut pedersen = env.clone();
    pedersen.fields[i].body = FieldBody::Committed {
        commitment: [1; 32],
        proof: None,
    };
    cases.push(("Pedersen where BN254 is required", pedersen));
    for (name, mut bad) in cases {
        sign_envelope(&mut bad, &fx.secrets["bank-a"]).unwrap();
        let err = check(&fx, &plan, &bad).expect_err(name);
        // A proof under a key the peer does not trust has its own code.
        let want: &[&str] = if name == "unknown key" {
            &["unknown_key"]
        } else {
            &["proof_failed", "shape"]
        };
        assert!(want.contains(&err.code()), "{name}: {err}");
    }

    // Sums: the shares must add up to the facility.
    let (plan, sample) = template("syndicated-loan.policy");
    check(
        &fx,
        &plan,
        &try_seal(&fx, &plan, &sample, "loan-1").unwrap(),
    )
    .unwrap();
    let mut short = sample.clone();
    short["share_c"] = serde_json::json!("49999999.99");
    assert!(matches!(
        try_seal(&fx, &plan, &short, "loan-2").unwrap_err(),
        veilgate_core::SealError::PredicateFalse(_)
    ));
}

#[test]
fn age_thresholds_and_equalities_are_proven() {
    let fx = fixture(6);
    let (_, text) = TEMPLATES
        .iter()
        .find(|(n, _)| *n == "kyc-attestation.policy")
        .unwrap();
    let text = text
        .replace("  nationality in eligible_nationalities\n", "")
        .replace("sets { eligible_nationalities }\n", "")
        .replace("nationality:  commit,", "nationality:  ");
    let plan = compile(&text).unwrap();
    assert!(veilgate_core::unsupported(&plan).is_none());
    let (_, sample) = template("kyc-attestation.policy");
    check(&fx, &plan, &try_seal(&fx, &plan, &sample, "kyc-1").unwrap()).unwrap();
    let mut minor = sample.clone();
    minor["birth_date"] = serde_json::json!("2008-11-26");
    let err = try_seal(&fx, &plan, &minor, "kyc-2").unwrap_err();
    assert!(
        err.to_string()
            .contains("age(birth_date, attested_on) >= 18"),
        "{err}"
    );
    minor["birth_date"] = serde_json::json!("2008-11-25");
    check(&fx, &plan, &try_seal(&fx, &plan, &minor, "kyc-3").unwrap()).unwrap();

    // `==` takes two comparison proofs; `<` is strict.
    let (_, text) = TEMPLATES
        .iter()
        .find(|(n, _)| *n == "supply-chain-receivable.policy")
        .unwrap();
    let (_, sample) = template("supply-chain-receivable.policy");
    for (op, financed, ok) in [
        ("==", "1000.00", false),
        ("==", "2000.00", true),
        ("<", "2000.00", false),
        ("<", "1999.99", true),
    ] {
        let plan = compile(&text.replace(
            "financed_amount <= invoice_amount",
            &format!("financed_amount {op} invoice_amount"),
        ))
        .unwrap();
        let mut rec = sample.clone();
        rec["invoice_amount"] = serde_json::json!("2000.00");
        rec["financed_amount"] = serde_json::json!(financed);
        match try_seal(&fx, &plan, &rec, "cmp") {
            Ok(env) => {
                assert!(ok, "{op} {financed}");
                assert_eq!(
                    env.predicates[0].proofs.len(),
                    if op == "==" { 2 } else { 1 }
                );
                check(&fx, &plan, &env).unwrap();
            }
            Err(e) => assert!(
                !ok && matches!(e, veilgate_core::SealError::PredicateFalse(_)),
                "{op} {financed}: {e}"
            ),
        }
    }
}

/// `verify_batch` gives each envelope the verdict `verify` gives it, for
/// batches of valid envelopes and for batches where some carry a proof that
/// is well formed but false (another envelope's, re-signed by the member):
/// a false proof sinks its own envelope, never the others.
#[test]
fn batch_verification_agrees_with_one_by_one() {
    let fx = fixture(7);
    for name in [
        "interbank-payment.policy",
        "supply-chain-receivable.policy",
        "syndicated-loan.policy",
    ] {
        let (plan, sample) = template(name);
        let mut dir = fx.directory.clone();
        dir.ledger = plan.ledgers[0].clone();
        let policies = PolicySet::new([plan.clone()]);
        let envs: Vec<Envelope> = (0..6)
            .map(|i| try_seal(&fx, &plan, &sample, &format!("{name}-{i}")).unwrap())
            .collect();
        let mut rng = ChaCha20Rng::seed_from_u64(11);

        let all: Vec<Vec<u8>> = envs.iter().map(Envelope::encode).collect();
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let verdicts = verify_batch(&refs, &policies, &dir, &mut rng);
        assert_eq!(verdicts.len(), 6);
        assert!(verdicts.iter().all(Result::is_ok), "{name}: valid batch");

        // Bend envelopes 1 and 4 (a proof of another envelope), garble 2.
        let mut bent = envs.clone();
        for (victim, donor) in [(1usize, 0usize), (4, 3)] {
            if bent[victim].predicates.is_empty() {
                assert!(
                    !envs[donor].range_proofs.is_empty(),
                    "{name}: a range proof"
                );
                bent[victim].range_proofs = envs[donor].range_proofs.clone();
            } else {
                bent[victim].predicates = envs[donor].predicates.clone();
            }
            sign_envelope(&mut bent[victim], &fx.secrets["bank-a"]).unwrap();
        }
        let mut bytes: Vec<Vec<u8>> = bent.iter().map(Envelope::encode).collect();
        bytes[2].truncate(40);
        let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
        let verdicts = verify_batch(&refs, &policies, &dir, &mut rng);
        for (i, (b, batch)) in bytes.iter().zip(&verdicts).enumerate() {
            let single = verify(b, &policies, &dir, &mut rng);
            assert_eq!(
                batch.as_ref().err().map(ToString::to_string),
                single.as_ref().err().map(ToString::to_string),
                "{name}: envelope {i}"
            );
            let want = match i {
                1 | 4 => Some("proof_failed"),
                2 => Some("malformed"),
                _ => None,
            };
            assert_eq!(
                batch.as_ref().err().map(Rejection::code),
                want,
                "{name}: {i}"
            );
        }
    }
}

/// Membership has dates: an envelope is judged by who was admitted when it
/// was sealed. Before its removal a member's envelopes seal and stay valid;
/// at or after it, its gateway refuses to seal and peers refuse what it
/// signs anyway; a removed role holder receives nothing new.
#[test]
fn admission_is_judged_at_the_envelopes_time() {
    let fx = fixture(8);
    let record = fx.plan.validate_record(&sample()).unwrap();
    let removal = TIMESTAMP + 60_000;
    let mut dated = fx.directory.clone();
    for m in &mut dated.members {
        if m.id == "bank-a" {
            m.admitted_ms = Some(TIMESTAMP - 60_000);
            m.removed_ms = Some(removal);
        }
    }
    let policies = PolicySet::new([fx.plan.clone()]);
    let seal_at = |dir: &LedgerDirectory, t: u64, key: &str| {
        seal(
            &SealRequest {
                plan: &fx.plan,
                record: &record,
                trust: &trust(dir, &PolicySet::default()),
                submitter: &fx.secrets["bank-a"],
                pseudonyms: (&fx.pseudonym_key).into(),
                idempotency_key: key,
                timestamp_ms: t,
            },
            &mut ChaCha20Rng::seed_from_u64(t),
        )
    };
    let mut rng = ChaCha20Rng::seed_from_u64(3);

    // Sealed while admitted: valid, before and after the removal is known.
    let before = seal_at(&dated, removal - 1, "adm-1").unwrap().encode();
    verify(&before, &policies, &dated, &mut rng).unwrap();

    // At and after the removal (and before the admission): not sealed.
    for t in [removal, removal + 1, TIMESTAMP - 60_001] {
        assert!(matches!(
            seal_at(&dated, t, "adm-2"),
            Err(veilgate_core::SealError::SubmitterNotMember(_))
        ));
    }
    // Signed anyway (with a directory that forgot the removal): refused.
    let after = seal_at(&fx.directory, removal, "adm-3").unwrap().encode();
    verify(&after, &policies, &fx.directory, &mut rng).unwrap();
    let err = verify(&after, &policies, &dated, &mut rng).unwrap_err();
    assert_eq!(err.code(), "not_admitted", "{err}");
    assert!(!err.to_string().contains("bank-b"));
    let batch = verify_batch(&[&before, &after], &policies, &dated, &mut rng);
    assert!(batch[0].is_ok());
    assert_eq!(batch[1].as_ref().unwrap_err().code(), "not_admitted");

    // A regulator removed before the record's time gets no key for it; the
    // role is then empty and the record is not sealed.
    let mut no_reg = fx.directory.clone();
    for m in &mut no_reg.members {
        if m.id == "regulator" {
            m.removed_ms = Some(TIMESTAMP);
        }
    }
    assert!(matches!(
        seal_at(&no_reg, TIMESTAMP, "adm-4"),
        Err(veilgate_core::SealError::EmptyRole { .. })
    ));
    // And an envelope that still wraps a key to it is refused by peers.
    let to_reg = seal_at(&fx.directory, TIMESTAMP, "adm-5").unwrap().encode();
    assert_eq!(
        verify(&to_reg, &policies, &no_reg, &mut rng)
            .unwrap_err()
            .code(),
        "shape"
    );

    // A window that ends before it starts is refused when the file is read.
    let mut bad = veilgate_core::Directory::new(vec![dated.clone()]);
    bad.ledgers[0].members[0].admitted_ms = Some(10);
    bad.ledgers[0].members[0].removed_ms = Some(10);
    let text = serde_json::to_string(&bad).unwrap();
    let e = veilgate_core::Directory::from_json(&text).unwrap_err();
    assert!(e.to_string().contains("removed_ms"), "{e}");
}

/// Proofs are only as good as the keys a peer trusts: an envelope proven
/// under one setup's keys is refused by a peer holding another setup's key
/// for the same circuit, and accepted by one holding the same keys loaded
/// from files named by their hash.
#[test]
fn a_peer_refuses_proofs_under_keys_it_does_not_hold() {
    use veilgate_circuits::groth16::compare::CompareCircuit;
    use veilgate_circuits::groth16::Keys;

    let fx = fixture(21);
    let (plan, sample) = template("supply-chain-receivable.policy");
    let env = try_seal(&fx, &plan, &sample, "keys-1").unwrap();
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    let policies = PolicySet::new([plan.clone()]);

    // The same development keys, written as files and loaded back by hash.
    let same = tempfile::tempdir().unwrap();
    keys()
        .write(
            same.path(),
            &veilgate_core::predicates::Circuit::all_of(&plan),
        )
        .unwrap();
    let loaded = Arc::new(KeyRing::load(same.path()).unwrap());
    let peer = Trust::new(dir.clone(), policies.clone(), loaded);
    veilgate_core::verify(&env.encode(), &peer, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();

    // Another setup of the same circuit (fresh randomness): same circuit id,
    // another key id. Its holder refuses the envelope and names why.
    let other = tempfile::tempdir().unwrap();
    Keys::setup(
        &CompareCircuit::shape(),
        &mut ChaCha20Rng::seed_from_u64(99),
    )
    .unwrap()
    .write(other.path())
    .unwrap();
    let foreign = Arc::new(KeyRing::load(other.path()).unwrap());
    let peer = Trust::new(dir, policies, foreign);
    match veilgate_core::verify(&env.encode(), &peer, &mut ChaCha20Rng::seed_from_u64(1)) {
        Err(r @ Rejection::UnknownKey { .. }) => {
            assert_eq!(r.code(), "unknown_key");
            assert!(r.to_string().contains("financed_amount"), "{r}");
        }
        other => panic!("expected an unknown-key rejection, got {other:?}"),
    }
}

/// A policy pins the key it accepts per circuit (`require key`): a ring
/// holding two keys for the circuit seals under the pinned one, and a peer
/// checks each proof under the key it names; a proof under another key
/// than the pin — even one the peer holds — is `unpinned_key`.
#[test]
fn a_policy_pins_the_key_of_its_circuit() {
    use veilgate_circuits::groth16::compare::CompareCircuit;
    use veilgate_circuits::groth16::Keys;
    use veilgate_core::predicates::Circuit;

    let fx = fixture(23);
    let (plain, sample) = template("supply-chain-receivable.policy");
    // Two setups of the compare circuit in one folder.
    let dir = tempfile::tempdir().unwrap();
    keys().write(dir.path(), &Circuit::all_of(&plain)).unwrap();
    let other = Keys::setup(&CompareCircuit::shape(), &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
    other.write(dir.path()).unwrap();
    let ring = Arc::new(KeyRing::load(dir.path()).unwrap());
    let text = TEMPLATES
        .iter()
        .find(|(n, _)| *n == "supply-chain-receivable.policy")
        .unwrap()
        .1;
    let pinned = |id: [u8; 32]| {
        compile(&text.replacen(
            "require encrypt to [regulator]\n",
            &format!(
                "require encrypt to [regulator]\nrequire key compare64-v1 {}\n",
                hex::encode(id)
            ),
            1,
        ))
        .unwrap()
    };
    let plan = pinned(other.id());
    // Unpinned, the ring cannot choose; pinned, it proves under the pin.
    assert!(ring.require(&plain).is_err());
    ring.require(&plan).unwrap();
    let mut ldir = fx.directory.clone();
    ldir.ledger = plan.ledgers[0].clone();
    let seal_with = |plan: &Plan, ring: Arc<KeyRing>, key: &str| {
        let record = plan.validate_record(&sample).unwrap();
        seal(
            &SealRequest {
                plan,
                record: &record,
                trust: &Trust::new(ldir.clone(), PolicySet::default(), ring),
                submitter: &fx.secrets["bank-a"],
                pseudonyms: (&fx.pseudonym_key).into(),
                idempotency_key: key,
                timestamp_ms: TIMESTAMP,
            },
            &mut ChaCha20Rng::seed_from_u64(3),
        )
        .unwrap()
    };
    let env = seal_with(&plan, ring.clone(), "pin-1");
    assert_eq!(env.predicates[0].key_id, other.id());
    let peer = Trust::new(ldir.clone(), PolicySet::new([plan.clone()]), ring.clone());
    veilgate_core::verify(&env.encode(), &peer, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();

    // A submitter proves under the development key and claims the pinning
    // policy: the peer holds that key too, and still refuses.
    let mut forged = seal_with(&plain, keys(), "pin-2");
    forged.policy = veilgate_core::envelope::PolicyRef {
        id: plan.id.clone(),
        version: plan.version,
        hash: plan.hash(),
    };
    veilgate_core::sign_envelope(&mut forged, &fx.secrets["bank-a"]).unwrap();
    match veilgate_core::verify(&forged.encode(), &peer, &mut ChaCha20Rng::seed_from_u64(1)) {
        Err(r @ Rejection::UnpinnedKey { .. }) => {
            assert_eq!(r.code(), "unpinned_key");
            assert!(r.to_string().contains(&hex::encode(other.id())), "{r}");
        }
        other => panic!("expected an unpinned-key rejection, got {other:?}"),
    }
    // A pin for a circuit the policy does not use is named at start.
    let stray = compile(&text.replacen(
        "require encrypt to [regulator]\n",
        &format!(
            "require encrypt to [regulator]\nrequire key sum2x64-v1 {}\n",
            hex::encode(other.id())
        ),
        1,
    ))
    .unwrap();
    let e = ring.require(&stray).unwrap_err().to_string();
    assert!(
        e.contains("sum2x64-v1") && e.contains("none of its predicates"),
        "{e}"
    );
}

/// Conditional recipients are proven: the envelope states each condition's
/// outcome and the range section proves the committed amount on that side
/// of the threshold. A member who re-signs a large report without the AML
/// monitor's copies, or a small one with them, is rejected whichever
/// outcome it states.
#[test]
fn condition_outcomes_are_proven_and_recipients_must_match_them() {
    let fx = fixture(12);
    let (plan, large) = template("large-value-report.policy");
    let mut small = large.clone();
    small["amount"] = "49999.99".into();
    let big = try_seal(&fx, &plan, &large, "lvr-1").unwrap();
    let little = try_seal(&fx, &plan, &small, "lvr-2").unwrap();
    assert_eq!(
        (big.conditions.clone(), little.conditions.clone()),
        (vec![true], vec![false])
    );
    check(&fx, &plan, &big).unwrap();
    check(&fx, &plan, &little).unwrap();
    let aml = "bank-c";
    let has = |e: &Envelope| e.recipients.iter().any(|r| r.institution == aml);
    assert!(has(&big) && !has(&little));

    // Re-sign as the submitter (bank-b files the sample) and verify.
    let verdict = |mut e: Envelope| -> String {
        sign_envelope(&mut e, &fx.secrets["bank-b"]).unwrap();
        match check(&fx, &plan, &e) {
            Ok(()) => "accepted".into(),
            Err(r) => format!("{}: {r}", r.code()),
        }
    };
    // Large value, the AML monitor's ciphertexts and wrapped key removed.
    let stripped = without_recipient(&big, aml);
    assert!(verdict(stripped.clone()).starts_with("shape"));
    // ... and the outcome claimed not met: the proof shows it is met.
    let mut lie = stripped;
    lie.conditions = vec![false];
    assert!(verdict(lie).starts_with("proof_failed"));

    // Small value, the AML monitor's copies added (taken from the large one).
    let padded = with_recipient_of(&little, &big, aml);
    assert!(verdict(padded.clone()).starts_with("shape"));
    let mut lie = padded;
    lie.conditions = vec![true];
    assert!(verdict(lie).starts_with("proof_failed"));

    // A bare outcome flip, recipients untouched, is caught by the shape.
    let mut flipped = big.clone();
    flipped.conditions = vec![false];
    assert!(verdict(flipped).starts_with("shape"));
    // Outcomes missing entirely.
    let mut none = big.clone();
    none.conditions.clear();
    assert!(verdict(none).starts_with("shape"));
}

/// `e` without institution `who`: its recipient entry and its ciphertexts
/// gone, the other recipients' indices renumbered.
fn without_recipient(e: &Envelope, who: &str) -> Envelope {
    let mut out = e.clone();
    let k = out
        .recipients
        .iter()
        .position(|r| r.institution == who)
        .unwrap() as u16;
    out.recipients.remove(usize::from(k));
    for f in &mut out.fields {
        f.ciphertexts.retain(|c| c.recipient != k);
        for c in &mut f.ciphertexts {
            if c.recipient > k {
                c.recipient -= 1;
            }
        }
    }
    out
}

/// `e` with `who`'s recipient entry and per-field ciphertexts copied from `donor`.
fn with_recipient_of(e: &Envelope, donor: &Envelope, who: &str) -> Envelope {
    let mut out = e.clone();
    let d = donor
        .recipients
        .iter()
        .position(|r| r.institution == who)
        .unwrap();
    let k = out
        .recipients
        .iter()
        .position(|r| r.institution.as_str() > who)
        .unwrap_or(out.recipients.len());
    out.recipients.insert(k, donor.recipients[d].clone());
    let k = k as u16;
    for (f, df) in out.fields.iter_mut().zip(&donor.fields) {
        for c in &mut f.ciphertexts {
            if c.recipient >= k {
                c.recipient += 1;
            }
        }
        if let Some(c) = df
            .ciphertexts
            .iter()
            .find(|c| usize::from(c.recipient) == d)
        {
            f.ciphertexts
                .push(veilgate_core::envelope::FieldCiphertext {
                    recipient: k,
                    ciphertext: c.ciphertext.clone(),
                });
            f.ciphertexts.sort_by_key(|c| c.recipient);
        }
    }
    out
}

/// A condition on a public field: its stated outcome must be what the value
/// gives. Several range fields share one aggregated proof, which binds each
/// field's commitment.
#[test]
fn public_outcomes_are_checked_and_one_proof_covers_several_fields() {
    let mut fx = fixture(13);
    fx.plan = frozen("envelope-v3.policy");
    let record = serde_json::json!({
        "reporting_bank": "bank-a", "counterparty_bank": "bank-b", "amount": "12.00",
        "fee": "1.00", "transfers": 11, "customer_account": "6217000010098765432",
    });
    let env = try_seal(&fx, &fx.plan, &record, "pub-1").unwrap();
    assert_eq!(env.conditions, vec![false, true]);
    assert_eq!(env.range_proofs.len(), 1);
    check(&fx, &fx.plan, &env).unwrap();
    let verdict = |mut e: Envelope| -> String {
        sign_envelope(&mut e, &fx.secrets["bank-a"]).unwrap();
        match check(&fx, &fx.plan, &e) {
            Ok(()) => "accepted".into(),
            Err(r) => format!("{}: {r}", r.code()),
        }
    };
    let mut e = env.clone();
    e.conditions[1] = false;
    let v = verdict(e);
    assert!(v.contains("not what its public value gives"), "{v}");
    // The fee's commitment swapped for the amount's: the aggregate fails.
    let mut e = env.clone();
    let amount = e.fields[2].body.clone();
    e.fields[3].body = amount;
    assert!(verdict(e).starts_with("proof_failed"));
    // Two proofs where the facts need one.
    let mut e = env.clone();
    e.range_proofs.push(env.range_proofs[0].clone());
    assert!(verdict(e).starts_with("shape"));
}

/// Sets on the ledger: a sanctioned beneficiary is refused at seal, naming
/// the predicate; an update takes force at its time, so envelopes sealed
/// before it keep verifying and one proven against the old root after it is
/// rejected; set members match after normalisation.
#[test]
fn set_predicates_follow_the_root_in_force() {
    let fx = fixture(14);
    let (plan, sample) = template("cross-border-remittance.policy");
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    let policies = PolicySet::new([plan.clone()]);
    let seal_at = |book: &SetBook, record: &serde_json::Value, key: &str, t: u64| {
        let record = plan.validate_record(record).unwrap();
        seal(
            &SealRequest {
                plan: &plan,
                record: &record,
                trust: &trust(&dir, &PolicySet::default()).with_sets(book.clone()),
                submitter: &fx.secrets["bank-a"],
                pseudonyms: (&fx.pseudonym_key).into(),
                idempotency_key: key,
                timestamp_ms: t,
            },
            &mut ChaCha20Rng::seed_from_u64(15),
        )
    };
    let judge = |book: &SetBook, env: &Envelope| {
        veilgate_core::verify(
            &env.encode(),
            &Trust::new(dir.clone(), policies.clone(), keys()).with_sets(book.clone()),
            &mut ChaCha20Rng::seed_from_u64(16),
        )
        .map(|_| ())
    };
    let v1 = dev_sets(&dir);

    // A listed name, written another way, is still the listed name.
    let mut listed = sample.clone();
    listed["beneficiary_name"] = "  karel   EXEMPLAR ".into();
    let err = seal_at(&v1, &listed, "sx-1", TIMESTAMP).unwrap_err();
    assert!(
        matches!(&err, veilgate_core::SealError::PredicateFalse(p) if p == "beneficiary_name not in sanctions_list"),
        "{err}"
    );

    // The sample's beneficiary is not listed in version 1.
    let before = seal_at(&v1, &sample, "sx-2", TIMESTAMP).unwrap();
    assert_eq!(before.predicates[0].set_version, Some(1));
    judge(&v1, &before).unwrap();

    // Version 2 lists the sample's beneficiary, in force from T2.
    let t2 = TIMESTAMP + 10_000;
    let mut v2 = v1.clone();
    let mut members = dev_list("sanctions_list");
    members.push("Wang Lei".into());
    publish(&mut v2, &dir, "sanctions_list", 2, &members, t2);
    // Sealed before T2: still valid now that version 2 is known.
    judge(&v2, &before).unwrap();
    // After T2 a gateway with version 2 refuses the record ...
    let err = seal_at(&v2, &sample, "sx-3", t2 + 1).unwrap_err();
    assert!(
        matches!(err, veilgate_core::SealError::PredicateFalse(_)),
        "{err}"
    );
    // ... and a proof against version 1 made after T2 (a gateway that
    // ignored the update) is rejected by peers that hold version 2.
    let stale = seal_at(&v1, &sample, "sx-4", t2 + 1).unwrap();
    assert_eq!(stale.predicates[0].set_version, Some(1));
    let rej = judge(&v2, &stale).unwrap_err();
    assert_eq!(rej.code(), "set_root", "{rej}");
    assert!(rej.to_string().contains("version 2 was in force"), "{rej}");
    // A version the peer has not seen is rejected too; renaming the version
    // in the entry breaks the signature.
    let rej = judge(&SetBook::default(), &before).unwrap_err();
    assert_eq!(rej.code(), "set_root", "{rej}");
    let mut renamed = stale.clone();
    renamed.predicates[0].set_version = Some(2);
    assert_eq!(judge(&v2, &renamed).unwrap_err().code(), "bad_signature");
    sign_envelope(&mut renamed, &fx.secrets["bank-a"]).unwrap();
    assert_eq!(judge(&v2, &renamed).unwrap_err().code(), "proof_failed");
    // Before any root takes force there is nothing to prove against.
    let err = seal_at(&v1, &sample, "sx-5", SETS_FROM - 1).unwrap_err();
    assert!(
        matches!(&err, veilgate_core::SealError::SetRoot(why) if why.contains("no root of set `sanctions_list`")),
        "{err}"
    );
}

/// Only a holder of the set's role publishes its roots, one version after
/// another, each later than the last; unknown sets, forged signatures and
/// roots that would take force in the future are refused.
#[test]
fn set_roots_are_admitted_only_from_their_publisher_in_order() {
    let fx = fixture(17);
    let mut dir = fx.directory.clone();
    dir.ledger = "cross-border".into();
    let contents = |set: &str, v: u32| {
        SetContents::build(&dir.ledger, set, v, &dev_list("sanctions_list")).unwrap()
    };
    let mut book = SetBook::default();
    // A member without the role.
    let by_bank = SetRoot::sign(
        &contents("sanctions_list", 1),
        SETS_FROM,
        &fx.secrets["bank-a"],
    )
    .unwrap();
    let err = book.admit(by_bank, &dir).unwrap_err();
    assert!(matches!(err, SetError::NotPublisher { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("`bank-a` does not hold role `sanctions_authority`"));
    // A set the directory does not name.
    let unknown = SetRoot::sign(&contents("watch_list", 1), SETS_FROM, &set_authority()).unwrap();
    assert!(matches!(
        book.admit(unknown, &dir),
        Err(SetError::UnknownSet { .. })
    ));
    // A root altered after signing.
    let mut forged =
        SetRoot::sign(&contents("sanctions_list", 1), SETS_FROM, &set_authority()).unwrap();
    forged.root = contents("sanctions_list", 1).root();
    forged.members += 1;
    assert!(matches!(
        book.admit(forged, &dir),
        Err(SetError::BadSignature { .. })
    ));
    // Version 2 before version 1; then 1, and a 2 that takes force no later.
    let v2 = SetRoot::sign(&contents("sanctions_list", 2), SETS_FROM, &set_authority()).unwrap();
    assert!(matches!(
        book.admit(v2.clone(), &dir),
        Err(SetError::Version { .. })
    ));
    let v1 = SetRoot::sign(&contents("sanctions_list", 1), SETS_FROM, &set_authority()).unwrap();
    book.admit(v1, &dir).unwrap();
    assert!(matches!(
        book.admit(v2, &dir),
        Err(SetError::NotAfter { .. })
    ));
    // Contents that do not hash to the admitted root.
    let other =
        SetContents::build(&dir.ledger, "sanctions_list", 1, &["Someone Else".into()]).unwrap();
    assert!(matches!(
        book.add_contents(other),
        Err(SetError::RootMismatch { .. })
    ));
    // Publishing a root that takes force tomorrow.
    let tomorrow = SetRoot::sign(
        &contents("sanctions_list", 2),
        TIMESTAMP + 86_400_000,
        &set_authority(),
    )
    .unwrap();
    assert!(matches!(
        veilgate_core::sets::check_publish(&tomorrow, TIMESTAMP),
        Err(SetError::Future { .. })
    ));
    veilgate_core::sets::check_publish(&tomorrow, TIMESTAMP + 86_400_000).unwrap();
    // A set file is read back only if its members give its root.
    let json = contents("sanctions_list", 1).to_json();
    assert_eq!(
        SetContents::from_json(&json).unwrap().root(),
        contents("sanctions_list", 1).root()
    );
    let bent = json.replace("ZHAO DEMO", "ZHAO DEMOS");
    assert!(SetContents::from_json(&bent).is_err());
}

/// Known-answer vector of a set file and its root entry (`docs/sets.md`):
/// members normalised and ordered by element, the depth-16 Poseidon root,
/// the entry bytes, its id and its signature under the publisher's key.
#[test]
fn known_answer_set_root() {
    let publisher = set_authority();
    let list = [
        "  Karel   exemplar",
        "Zhao Demo",
        "boris fictus",
        "ZHAO DEMO",
    ];
    let members: Vec<String> = list.iter().map(|m| (*m).to_owned()).collect();
    let contents = SetContents::build("cross-border", "sanctions_list", 1, &members).unwrap();
    let entry = SetRoot::sign(&contents, SETS_FROM, &publisher).unwrap();
    let path = format!(
        "{}/../../docs/formats/vectors/set-root-v1.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if veilgate_circuits::vectors::write_mode().unwrap() {
        let doc = serde_json::json!({
            "description": "Veilgate set file and set root entry, format 1 (docs/sets.md): `members_in` normalised and ordered by element give `set_file`; its depth-16 Poseidon root is in `set_file.root`; `entry_hex` is the root entry signed by `publisher` (Ed25519 public key `publisher_sign_public`), with ledger entry id `entry_id`.",
            "members_in": list,
            "elements": contents.file.members.iter().map(|m| hex::encode(veilgate_circuits::merkle::to_bytes(&veilgate_core::sets::element(m)))).collect::<Vec<_>>(),
            "set_file": contents.file,
            "publisher": publisher.id,
            "publisher_sign_public": hex::encode(&publisher.key().sign_public),
            "valid_from_ms": SETS_FROM,
            "entry_hex": hex::encode(entry.encode()),
            "entry_id": hex::encode(entry.id()),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let kat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // The file as stored rebuilds to its root; the code gives the same file.
    let stored = SetContents::from_json(&kat["set_file"].to_string()).unwrap();
    assert_eq!(stored.file, contents.file);
    assert_eq!(kat["entry_hex"], hex::encode(entry.encode()));
    assert_eq!(kat["entry_id"], hex::encode(entry.id()));
    // A peer admits the stored entry with only the publisher's public key.
    let bytes = hex::decode(kat["entry_hex"].as_str().unwrap()).unwrap();
    let id: [u8; 16] = hex::decode(kat["entry_id"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let root = veilgate_core::sets::in_entry(&id, &bytes).unwrap();
    assert_eq!(root.root, stored.root());
    let mut dir = fixture(1).directory;
    dir.ledger = "cross-border".into();
    SetBook::default().admit(root, &dir).unwrap();
}

// Soundness at the envelope level, one predicate kind at a time. Every bent
// envelope below is what a dishonest member could publish: parts of honest
// envelopes (its own, or ones it saw on the ledger) spliced together and
// re-signed with its own key, so only the proof checks stand in the way.

/// The parts of `bent` that differ from `honest`: each field's body and
/// ciphertexts by the field's name, each predicate entry's parts by index,
/// the other sections by name. Lets a case show it bent only what it meant to.
fn changed(honest: &Envelope, bent: &Envelope) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut note = |differs: bool, what: String| {
        if differs {
            out.insert(what);
        }
    };
    note(honest.suite != bent.suite, "suite".into());
    note(honest.ledger != bent.ledger, "ledger".into());
    note(honest.id != bent.id, "id".into());
    note(honest.policy != bent.policy, "policy".into());
    note(honest.submitter != bent.submitter, "submitter".into());
    note(honest.timestamp_ms != bent.timestamp_ms, "timestamp".into());
    note(
        honest.idempotency_key != bent.idempotency_key,
        "idempotency_key".into(),
    );
    note(honest.recipients != bent.recipients, "recipients".into());
    note(
        honest.fields.len() != bent.fields.len(),
        "field count".into(),
    );
    for (a, b) in honest.fields.iter().zip(&bent.fields) {
        note(a.name != b.name, format!("name of {}", a.name));
        note(a.body != b.body, a.name.clone());
        note(
            a.ciphertexts != b.ciphertexts,
            format!("ciphertexts of {}", a.name),
        );
    }
    note(
        honest.predicates.len() != bent.predicates.len(),
        "predicate count".into(),
    );
    for (i, (a, b)) in honest.predicates.iter().zip(&bent.predicates).enumerate() {
        note(a.circuit != b.circuit, format!("predicate {i} circuit"));
        note(a.key_id != b.key_id, format!("predicate {i} key"));
        note(
            a.set_version != b.set_version,
            format!("predicate {i} set version"),
        );
        note(a.proofs != b.proofs, format!("predicate {i} proofs"));
    }
    note(honest.conditions != bent.conditions, "conditions".into());
    note(
        honest.range_proofs != bent.range_proofs,
        "range_proofs".into(),
    );
    note(honest.signing_key != bent.signing_key, "signing_key".into());
    note(honest.signature != bent.signature, "signature".into());
    out
}

/// A peer judging envelopes bent from one honest envelope.
struct Bench<'a> {
    fx: &'a Fixture,
    plan: &'a Plan,
    honest: &'a Envelope,
}

impl<'a> Bench<'a> {
    /// The honest envelope verifies, also re-signed as it is: a rejection
    /// below is then the bend's doing, not the fixture's or the re-signing's.
    fn new(fx: &'a Fixture, plan: &'a Plan, honest: &'a Envelope) -> Self {
        check(fx, plan, honest).unwrap();
        let mut again = honest.clone();
        sign_envelope(&mut again, &fx.secrets[honest.submitter.as_str()]).unwrap();
        check(fx, plan, &again).unwrap();
        Bench { fx, plan, honest }
    }

    /// `bent` re-signed by the submitter, as the member would: it must
    /// differ from the honest envelope in exactly `touched` (and the
    /// signature), and the peer must reject it with `code`. Returns the
    /// rejection for its message.
    fn reject(&self, case: &str, mut bent: Envelope, touched: &[&str], code: &str) -> Rejection {
        let member = &self.fx.secrets[bent.submitter.as_str()];
        sign_envelope(&mut bent, member).unwrap();
        let want: BTreeSet<String> = touched
            .iter()
            .map(|t| (*t).to_owned())
            .chain(["signature".to_owned()])
            .collect();
        assert_eq!(changed(self.honest, &bent), want, "{case}: what differs");
        match check(self.fx, self.plan, &bent) {
            Ok(()) => panic!("{case}: accepted"),
            Err(r) => {
                assert_eq!(r.code(), code, "{case}: {r}");
                r
            }
        }
    }
}

fn field<'e>(e: &'e Envelope, name: &str) -> &'e veilgate_core::envelope::SealedField {
    e.fields.iter().find(|f| f.name == name).unwrap()
}

/// `e` with the bodies of `names` (commitments) taken from `donor`.
fn with_bodies_of(e: &Envelope, donor: &Envelope, names: &[&str]) -> Envelope {
    let mut out = e.clone();
    for f in &mut out.fields {
        if names.contains(&f.name.as_str()) {
            f.body = field(donor, &f.name).body.clone();
        }
    }
    out
}

/// `e` with predicate entry `i` taken from `donor`.
fn with_entry_of(e: &Envelope, donor: &Envelope, i: usize) -> Envelope {
    let mut out = e.clone();
    out.predicates[i] = donor.predicates[i].clone();
    out
}

fn policy_text(name: &str) -> &'static str {
    TEMPLATES.iter().find(|(n, _)| *n == name).unwrap().1
}

/// A template without its `pad` line (every template pads): the padding
/// tests compare with a policy that does not.
fn unpadded(name: &str) -> String {
    let text: String = policy_text(name)
        .lines()
        .filter(|l| !l.starts_with("pad "))
        .flat_map(|l| [l, "\n"])
        .collect();
    assert_ne!(text, policy_text(name), "{name} pads");
    text
}

fn predicate_false(r: Result<Envelope, veilgate_core::SealError>) -> bool {
    matches!(r, Err(veilgate_core::SealError::PredicateFalse(_)))
}

/// `sum(share_a, share_b, share_c) == facility`: a share or the facility
/// swapped for another honest loan's commitment bends the sum; a true sum
/// of other commitments, or another loan's proof, does not carry over.
#[test]
fn bent_sums_are_rejected_by_peers() {
    let fx = fixture(31);
    let (plan, sample) = template("syndicated-loan.policy");
    let honest = try_seal(&fx, &plan, &sample, "loan-s1").unwrap();
    let bench = Bench::new(&fx, &plan, &honest);
    let what = plan.predicates[0].describe();
    // The same 300M facility split 160/90/50, and a 400M one split 150/100/150.
    let mut resplit = sample.clone();
    resplit["share_a"] = "160000000.00".into();
    resplit["share_b"] = "90000000.00".into();
    let resplit = try_seal(&fx, &plan, &resplit, "loan-s2").unwrap();
    let mut bigger = sample.clone();
    bigger["facility"] = "400000000.00".into();
    bigger["share_c"] = "150000000.00".into();
    let bigger = try_seal(&fx, &plan, &bigger, "loan-s3").unwrap();
    check(&fx, &plan, &resplit).unwrap();
    check(&fx, &plan, &bigger).unwrap();

    // 160 + 100 + 50 != 300.
    let r = bench.reject(
        "share_a of another loan",
        with_bodies_of(&honest, &resplit, &["share_a"]),
        &["share_a"],
        "proof_failed",
    );
    assert!(r.to_string().contains(&what), "{r}");
    // 150 + 100 + 50 != 400.
    bench.reject(
        "facility of another loan",
        with_bodies_of(&honest, &bigger, &["facility"]),
        &["facility"],
        "proof_failed",
    );
    // 160 + 90 + 50 == 300 holds, but the proof speaks of the honest commitments.
    bench.reject(
        "two shares of another loan, sum intact",
        with_bodies_of(&honest, &resplit, &["share_a", "share_b"]),
        &["share_a", "share_b"],
        "proof_failed",
    );
    // A true sum of the same shape, about the other loan's commitments.
    bench.reject(
        "another loan's sum proof",
        with_entry_of(&honest, &resplit, 0),
        &["predicate 0 proofs"],
        "proof_failed",
    );
    // The bent share with the bigger loan's proof: neither statement is this one.
    bench.reject(
        "bent share and another loan's proof",
        with_entry_of(&with_bodies_of(&honest, &resplit, &["share_a"]), &bigger, 0),
        &["share_a", "predicate 0 proofs"],
        "proof_failed",
    );
    // The entry claims the compare circuit.
    let mut e = honest.clone();
    e.predicates[0].circuit = veilgate_core::predicates::CIRCUIT_COMPARE;
    let r = bench.reject(
        "compare circuit tag",
        e,
        &["predicate 0 circuit"],
        "proof_failed",
    );
    assert!(r.to_string().contains("another circuit"), "{r}");
    // The compare circuit's verifying key: one the peer holds, not for sums.
    let (cmp_plan, _) = template("supply-chain-receivable.policy");
    let cmp_key = keys().key_id(&cmp_plan, &cmp_plan.predicates[0]).unwrap();
    let mut e = honest.clone();
    e.predicates[0].key_id = cmp_key;
    bench.reject(
        "compare circuit key",
        e,
        &["predicate 0 key"],
        "unknown_key",
    );
}

/// `age(birth_date, attested_on) >= 18`, with `attested_on` public: a
/// minor's birth-date commitment, the proof of a lower threshold, another
/// adult's proof, and a public date moved after proving are all refused.
#[test]
fn bent_age_proofs_and_public_dates_are_rejected_by_peers() {
    let fx = fixture(32);
    let (plan, sample) = template("kyc-attestation.policy");
    let honest = try_seal(&fx, &plan, &sample, "kyc-s1").unwrap();
    let bench = Bench::new(&fx, &plan, &honest);
    let age = plan
        .predicates
        .iter()
        .position(|p| matches!(p, veilgate_policies::Predicate::AgeAtLeast { .. }))
        .unwrap();
    let member = 1 - age;
    let what = plan.predicates[age].describe();
    assert_eq!(what, "age(birth_date, attested_on) >= 18");

    // A 17-year-old: refused at seal under this policy, sealed under one
    // whose threshold is 16 (same circuit, same key, birth date on BN254).
    let mut minor = sample.clone();
    minor["birth_date"] = "2009-06-01".into();
    assert!(predicate_false(try_seal(&fx, &plan, &minor, "kyc-s2")));
    let plan16 = compile(&policy_text("kyc-attestation.policy").replace(
        "age(birth_date, attested_on) >= 18",
        "age(birth_date, attested_on) >= 16",
    ))
    .unwrap();
    let minor16 = try_seal(&fx, &plan16, &minor, "kyc-s3").unwrap();
    check(&fx, &plan16, &minor16).unwrap();
    assert_eq!(
        minor16.predicates[age].key_id,
        honest.predicates[age].key_id
    );

    let r = bench.reject(
        "a minor's birth date",
        with_bodies_of(&honest, &minor16, &["birth_date"]),
        &["birth_date"],
        "proof_failed",
    );
    assert!(r.to_string().contains(&what), "{r}");
    // The minor's commitment with its own (true) proof of `>= 16`: the
    // threshold is a public input the peer takes from the policy.
    bench.reject(
        "a minor's birth date and its >= 16 proof",
        with_entry_of(
            &with_bodies_of(&honest, &minor16, &["birth_date"]),
            &minor16,
            age,
        ),
        &["birth_date", &format!("predicate {age} proofs")],
        "proof_failed",
    );
    // Another adult's birth date under this envelope's proof, and the reverse.
    let mut elder = sample.clone();
    elder["birth_date"] = "1961-02-03".into();
    let elder = try_seal(&fx, &plan, &elder, "kyc-s4").unwrap();
    check(&fx, &plan, &elder).unwrap();
    bench.reject(
        "another adult's birth date",
        with_bodies_of(&honest, &elder, &["birth_date"]),
        &["birth_date"],
        "proof_failed",
    );
    bench.reject(
        "another adult's age proof",
        with_entry_of(&honest, &elder, age),
        &[&format!("predicate {age} proofs")],
        "proof_failed",
    );
    // The sum circuit's tag (a set circuit's would need a set version, so
    // the bytes would not even decode), then the membership circuit's key
    // (held, not for dates).
    let mut e = honest.clone();
    e.predicates[age].circuit = veilgate_core::predicates::CIRCUIT_SUM;
    let r = bench.reject(
        "sum circuit tag",
        e,
        &[&format!("predicate {age} circuit")],
        "proof_failed",
    );
    assert!(r.to_string().contains("another circuit"), "{r}");
    let mut e = honest.clone();
    e.predicates[age].key_id = honest.predicates[member].key_id;
    bench.reject(
        "membership circuit key",
        e,
        &[&format!("predicate {age} key")],
        "unknown_key",
    );

    // The public date. Moved later on the adult's envelope: the statement
    // stays true, but it is not the one proven.
    let date = |d: &str| FieldBody::Public(veilgate_policies::Value::Date(d.into()).encode());
    assert_eq!(field(&honest, "attested_on").body, date("2026-11-25"));
    let mut e = honest.clone();
    let i = e
        .fields
        .iter()
        .position(|f| f.name == "attested_on")
        .unwrap();
    e.fields[i].body = date("2027-03-01");
    bench.reject(
        "attested_on moved later",
        e,
        &["attested_on"],
        "proof_failed",
    );
    // Someone who turns 18 tomorrow: refused today, proven as of tomorrow,
    // then published with today's date.
    let mut eve = sample.clone();
    eve["birth_date"] = "2008-11-26".into();
    assert!(predicate_false(try_seal(&fx, &plan, &eve, "kyc-s5")));
    eve["attested_on"] = "2026-11-26".into();
    let tomorrow = try_seal(&fx, &plan, &eve, "kyc-s6").unwrap();
    let eve_bench = Bench::new(&fx, &plan, &tomorrow);
    let mut backdated = tomorrow.clone();
    backdated.fields[i].body = date("2026-11-25");
    let r = eve_bench.reject(
        "attested_on set back a day",
        backdated,
        &["attested_on"],
        "proof_failed",
    );
    assert!(r.to_string().contains(&what), "{r}");
}

/// `nationality in eligible_nationalities`: the commitment to a nationality
/// outside the set (sealed under a policy that proves it outside), that
/// policy's non-membership proof, another envelope's membership proof and a
/// set version not on the ledger are all refused.
#[test]
fn bent_set_membership_is_rejected_by_peers() {
    let fx = fixture(33);
    let (plan, sample) = template("kyc-attestation.policy");
    let honest = try_seal(&fx, &plan, &sample, "nat-s1").unwrap();
    let bench = Bench::new(&fx, &plan, &honest);
    let member = plan
        .predicates
        .iter()
        .position(|p| matches!(p, veilgate_policies::Predicate::Member { .. }))
        .unwrap();
    let what = plan.predicates[member].describe();
    assert_eq!(what, "nationality in eligible_nationalities");
    let part = |p: &str| format!("predicate {member} {p}");

    let mut foreign = sample.clone();
    foreign["nationality"] = "RU".into();
    assert!(predicate_false(try_seal(&fx, &plan, &foreign, "nat-s2")));
    let outside_plan = compile(&policy_text("kyc-attestation.policy").replace(
        "nationality in eligible_nationalities",
        "nationality not in eligible_nationalities",
    ))
    .unwrap();
    let outside = try_seal(&fx, &outside_plan, &foreign, "nat-s3").unwrap();
    check(&fx, &outside_plan, &outside).unwrap();

    let r = bench.reject(
        "a nationality outside the set",
        with_bodies_of(&honest, &outside, &["nationality"]),
        &["nationality"],
        "proof_failed",
    );
    assert!(r.to_string().contains(&what), "{r}");
    // ... with the non-membership entry that proves it outside.
    let r = bench.reject(
        "outside, with its non-membership proof",
        with_entry_of(
            &with_bodies_of(&honest, &outside, &["nationality"]),
            &outside,
            member,
        ),
        &[
            "nationality",
            &part("circuit"),
            &part("key"),
            &part("proofs"),
        ],
        "proof_failed",
    );
    assert!(r.to_string().contains("another circuit"), "{r}");
    // ... relabelled as a membership proof: the key is not a membership key.
    let mut e = with_entry_of(
        &with_bodies_of(&honest, &outside, &["nationality"]),
        &outside,
        member,
    );
    e.predicates[member].circuit = veilgate_core::predicates::CIRCUIT_MEMBERSHIP;
    bench.reject(
        "outside, non-membership proof relabelled",
        e,
        &["nationality", &part("key"), &part("proofs")],
        "unknown_key",
    );
    // Another eligible national's proof: a true statement of the same shape.
    let mut hk = sample.clone();
    hk["nationality"] = "HK".into();
    let hk = try_seal(&fx, &plan, &hk, "nat-s4").unwrap();
    check(&fx, &plan, &hk).unwrap();
    bench.reject(
        "another envelope's membership proof",
        with_entry_of(&honest, &hk, member),
        &[&part("proofs")],
        "proof_failed",
    );
    // A set version the peer has not seen on the ledger.
    let mut e = honest.clone();
    e.predicates[member].set_version = Some(2);
    bench.reject("set version 2", e, &[&part("set version")], "set_root");
}

/// `beneficiary_name not in sanctions_list`: the commitment to a listed
/// name (sealed under a policy that proves it listed), that policy's
/// membership proof, and another remittance's non-membership proof.
#[test]
fn bent_set_non_membership_is_rejected_by_peers() {
    let fx = fixture(34);
    let (plan, sample) = template("cross-border-remittance.policy");
    let honest = try_seal(&fx, &plan, &sample, "rem-s1").unwrap();
    let bench = Bench::new(&fx, &plan, &honest);
    assert_eq!(plan.predicates.len(), 1);
    let what = plan.predicates[0].describe();
    assert_eq!(what, "beneficiary_name not in sanctions_list");

    let mut listed = sample.clone();
    listed["beneficiary_name"] = "Zhao Demo".into();
    assert!(predicate_false(try_seal(&fx, &plan, &listed, "rem-s2")));
    let inside_plan = compile(&policy_text("cross-border-remittance.policy").replace(
        "beneficiary_name not in sanctions_list",
        "beneficiary_name in sanctions_list",
    ))
    .unwrap();
    let inside = try_seal(&fx, &inside_plan, &listed, "rem-s3").unwrap();
    check(&fx, &inside_plan, &inside).unwrap();

    let r = bench.reject(
        "a listed beneficiary",
        with_bodies_of(&honest, &inside, &["beneficiary_name"]),
        &["beneficiary_name"],
        "proof_failed",
    );
    assert!(r.to_string().contains(&what), "{r}");
    let r = bench.reject(
        "listed, with its membership proof",
        with_entry_of(
            &with_bodies_of(&honest, &inside, &["beneficiary_name"]),
            &inside,
            0,
        ),
        &[
            "beneficiary_name",
            "predicate 0 circuit",
            "predicate 0 key",
            "predicate 0 proofs",
        ],
        "proof_failed",
    );
    assert!(r.to_string().contains("another circuit"), "{r}");
    let mut e = with_entry_of(
        &with_bodies_of(&honest, &inside, &["beneficiary_name"]),
        &inside,
        0,
    );
    e.predicates[0].circuit = veilgate_core::predicates::CIRCUIT_NON_MEMBERSHIP;
    bench.reject(
        "listed, membership proof relabelled",
        e,
        &["beneficiary_name", "predicate 0 key", "predicate 0 proofs"],
        "unknown_key",
    );
    // Another unlisted beneficiary's proof.
    let mut other = sample.clone();
    other["beneficiary_name"] = "Li Na".into();
    let other = try_seal(&fx, &plan, &other, "rem-s4").unwrap();
    check(&fx, &plan, &other).unwrap();
    bench.reject(
        "another envelope's non-membership proof",
        with_entry_of(&honest, &other, 0),
        &["predicate 0 proofs"],
        "proof_failed",
    );
}

/// `financed_amount <= invoice_amount`, and the same policy with `<` and
/// `==`: a commitment from another honest envelope that makes the statement
/// false, a `<=` proof of equal amounts offered for `<`, and `==`'s two
/// proofs swapped or half missing.
#[test]
fn bent_comparisons_are_rejected_by_peers() {
    let fx = fixture(35);
    let (le_plan, sample) = template("supply-chain-receivable.policy");
    let with_op = |op: &str| {
        compile(&policy_text("supply-chain-receivable.policy").replace(
            "financed_amount <= invoice_amount",
            &format!("financed_amount {op} invoice_amount"),
        ))
        .unwrap()
    };
    let record = |financed: &str, invoice: &str| {
        let mut r = sample.clone();
        r["financed_amount"] = financed.into();
        r["invoice_amount"] = invoice.into();
        r
    };
    let both = ["financed_amount", "invoice_amount"];

    // `<=`: the sample (960000 of 1200000) takes a smaller invoice
    // (900000, from an honest 800000-of-900000 envelope).
    let honest = try_seal(&fx, &le_plan, &sample, "cmp-s1").unwrap();
    let bench = Bench::new(&fx, &le_plan, &honest);
    let smaller = try_seal(&fx, &le_plan, &record("800000.00", "900000.00"), "cmp-s2").unwrap();
    check(&fx, &le_plan, &smaller).unwrap();
    let r = bench.reject(
        "<=: a smaller invoice",
        with_bodies_of(&honest, &smaller, &["invoice_amount"]),
        &["invoice_amount"],
        "proof_failed",
    );
    assert!(
        r.to_string().contains("financed_amount <= invoice_amount"),
        "{r}"
    );
    // 800000 <= 1200000 holds, but the proof speaks of 960000.
    bench.reject(
        "<=: a smaller financed amount",
        with_bodies_of(&honest, &smaller, &["financed_amount"]),
        &["financed_amount"],
        "proof_failed",
    );
    bench.reject(
        "<=: another envelope's proof",
        with_entry_of(&honest, &smaller, 0),
        &["predicate 0 proofs"],
        "proof_failed",
    );
    // The sum circuit's tag, then its key (held, not for comparisons).
    let (sum_plan, _) = template("syndicated-loan.policy");
    let mut e = honest.clone();
    e.predicates[0].circuit = veilgate_core::predicates::CIRCUIT_SUM;
    bench.reject(
        "<=: sum circuit tag",
        e,
        &["predicate 0 circuit"],
        "proof_failed",
    );
    let mut e = honest.clone();
    e.predicates[0].key_id = keys().key_id(&sum_plan, &sum_plan.predicates[0]).unwrap();
    bench.reject(
        "<=: sum circuit key",
        e,
        &["predicate 0 key"],
        "unknown_key",
    );

    // `<`: equal amounts are refused at seal, and proven under `<=`; that
    // envelope's commitments and proof differ from a `<` proof only in the
    // strictness bit, which the peer takes from the policy.
    let lt_plan = with_op("<");
    let honest = try_seal(&fx, &lt_plan, &record("1999.99", "2000.00"), "cmp-s3").unwrap();
    let bench = Bench::new(&fx, &lt_plan, &honest);
    assert!(predicate_false(try_seal(
        &fx,
        &lt_plan,
        &record("2000.00", "2000.00"),
        "cmp-s4"
    )));
    let equal = try_seal(&fx, &le_plan, &record("2000.00", "2000.00"), "cmp-s5").unwrap();
    check(&fx, &le_plan, &equal).unwrap();
    assert_eq!(equal.predicates[0].key_id, honest.predicates[0].key_id);
    bench.reject(
        "<: equal amounts with their <= proof",
        with_entry_of(&with_bodies_of(&honest, &equal, &both), &equal, 0),
        &["financed_amount", "invoice_amount", "predicate 0 proofs"],
        "proof_failed",
    );
    // A larger financed amount from another `<` envelope (2500 of 3000).
    let larger = try_seal(&fx, &lt_plan, &record("2500.00", "3000.00"), "cmp-s6").unwrap();
    bench.reject(
        "<: a larger financed amount",
        with_bodies_of(&honest, &larger, &["financed_amount"]),
        &["financed_amount"],
        "proof_failed",
    );

    // `==`: two proofs, one each way.
    let eq_plan = with_op("==");
    let honest = try_seal(&fx, &eq_plan, &record("2000.00", "2000.00"), "cmp-s7").unwrap();
    assert_eq!(honest.predicates[0].proofs.len(), 2);
    let bench = Bench::new(&fx, &eq_plan, &honest);
    let other = try_seal(&fx, &eq_plan, &record("1500.00", "1500.00"), "cmp-s8").unwrap();
    check(&fx, &eq_plan, &other).unwrap();
    bench.reject(
        "==: another envelope's financed amount",
        with_bodies_of(&honest, &other, &["financed_amount"]),
        &["financed_amount"],
        "proof_failed",
    );
    let mut e = honest.clone();
    e.predicates[0].proofs.swap(0, 1);
    bench.reject(
        "==: proofs swapped",
        e,
        &["predicate 0 proofs"],
        "proof_failed",
    );
    // 1000 <= 2000 proven one way only: its proof alone, then twice.
    let less = try_seal(&fx, &le_plan, &record("1000.00", "2000.00"), "cmp-s9").unwrap();
    let mut e = with_entry_of(&with_bodies_of(&honest, &less, &both), &less, 0);
    let r = bench.reject(
        "==: a one-way <= proof",
        e.clone(),
        &["financed_amount", "invoice_amount", "predicate 0 proofs"],
        "proof_failed",
    );
    assert!(r.to_string().contains("needs 2 proofs"), "{r}");
    let once = e.predicates[0].proofs[0].clone();
    e.predicates[0].proofs.push(once);
    bench.reject(
        "==: a one-way <= proof, twice",
        e,
        &["financed_amount", "invoice_amount", "predicate 0 proofs"],
        "proof_failed",
    );
}

/// Bulletproofs ranges (`amount: commit, range 0.01 ..= 1000000000.00`):
/// the commitment to an amount over the limit (sealed under a policy with a
/// wider range), alone and with that envelope's range proof.
#[test]
fn bent_ranges_are_rejected_by_peers() {
    let fx = fixture(36);
    let (plan, sample) = template("interbank-payment.policy");
    let honest = try_seal(&fx, &plan, &sample, "rng-s1").unwrap();
    let bench = Bench::new(&fx, &plan, &honest);
    let mut over = sample.clone();
    over["amount"] = "2000000000.00".into();
    assert!(plan.validate_record(&over).is_err());
    let wide_plan = compile(&policy_text("interbank-payment.policy").replace(
        "range 0.01 ..= 1000000000.00",
        "range 0.01 ..= 100000000000.00",
    ))
    .unwrap();
    let wide = try_seal(&fx, &wide_plan, &over, "rng-s3").unwrap();
    check(&fx, &wide_plan, &wide).unwrap();
    assert!(matches!(
        field(&wide, "amount").body,
        FieldBody::Committed { .. }
    ));

    let r = bench.reject(
        "an amount over the limit",
        with_bodies_of(&honest, &wide, &["amount"]),
        &["amount"],
        "proof_failed",
    );
    assert_eq!(r, Rejection::ProofFailed("amount".into()));
    let mut e = with_bodies_of(&honest, &wide, &["amount"]);
    e.range_proofs = wide.range_proofs.clone();
    bench.reject(
        "an amount over the limit, with its wider range proof",
        e,
        &["amount", "range_proofs"],
        "proof_failed",
    );
}

/// Format version 5: the interbank sample under `pad pow2 32..=1024`. Each
/// plaintext that carries a value (the accounts' copies for their banks,
/// the remittance) is padded to its class before AEAD; the amount's
/// opening (40 bytes whatever the value) is not.
#[test]
fn known_answer_envelope_v5() {
    let mut fx = fixture(2027);
    fx.plan = frozen("envelope-v5.policy");
    let env = try_seal(&fx, &fx.plan, &sample(), "kat-v5-0001").unwrap();
    assert_eq!(env.encode()[4], 5);
    assert_eq!(env.padding, Some(veilgate_core::envelope::PADDING_POW2));
    let lengths = |name: &str| -> Vec<usize> {
        field(&env, name)
            .ciphertexts
            .iter()
            .map(|c| c.ciphertext.len())
            .collect()
    };
    // 38-byte remittance + type byte + u16 prefix = 41: the 64-byte class.
    assert_eq!(lengths("remittance"), [64 + 16]);
    // 19-digit accounts: 22 bytes, the 32-byte class.
    assert_eq!(lengths("payer_account"), [32 + 16, 32 + 16]);
    assert_eq!(lengths("amount"), [40 + 16; 3]);
    known_answer(
        &fx,
        &env,
        "envelope-v5.json",
        "gateway/core/tests/vectors/envelope-v5.policy",
        "Veilgate envelope format v5 known-answer vector: the interbank sample sealed by bank-a under `pad pow2 32..=1024` (policy_file). The byte after the idempotency key is the padding scheme (1 = pow2); every field plaintext that carries a value is `u16 n ‖ value (n bytes) ‖ zeros` to the smallest class ≥ n + 2 (32, 64, …, 1024, then multiples of 1024) before AES-256-GCM, so each such ciphertext is a class + 16 bytes; commitment openings (40 bytes) are not padded. Verify `envelope_hex` with `directory` and the policy of hash `policy_hash`; open it with each secret (strip the padding strictly); compare to `views`.",
    );
}

/// The VOPRF seed of the v6 vector's service key (the seed of
/// `gateway/pseudonym/tests/vectors/pseudonym-v2.json`, so both share a key).
const V6_SEED: [u8; 32] = [0x5e; 32];
const V6_EPOCH: u32 = 1;

/// Format version 6: the interbank sample on a ledger whose directory has a
/// `pseudonyms` section (one service run by the regulator, epoch 1 from 0):
/// both accounts carry oblivious pseudonyms (field kind 6, `u32 epoch ‖
/// tag`), tags from the service key's direct evaluation. The vector also
/// records the key (seed, DeriveKeyPair info, scalar, public key) and per
/// pseudonymised field its VOPRF input and tag, so an implementer can
/// recompute every tag from RFC 9497.
#[test]
fn known_answer_envelope_v6() {
    use veilgate_core::{ObliviousTags, PseudonymDirectory, PseudonymEpoch, PseudonymService};
    use veilgate_pseudonym::{pseudonym_input, pseudonym_key_info, Evaluator};

    let mut fx = fixture(2028);
    fx.plan = frozen("envelope-v6.policy");
    let service = Evaluator::from_seed(&V6_SEED, LEDGER, V6_EPOCH).expect("derive the epoch key");
    fx.directory.pseudonyms = Some(PseudonymDirectory {
        threshold: 1,
        services: vec![PseudonymService {
            index: 1,
            operator: "regulator".into(),
        }],
        epochs: vec![PseudonymEpoch {
            epoch: V6_EPOCH,
            from_ms: 0,
            public_key: service.public_key(),
            shares: Vec::new(),
        }],
    });
    let record = fx.plan.validate_record(&sample()).unwrap();
    let values = veilgate_core::pseudonym_values(&fx.plan, &record);
    let tag_of = |value: &[u8]| {
        let input = pseudonym_input(LEDGER, V6_EPOCH, value).unwrap();
        (input.clone(), service.evaluate_tag(&input).unwrap())
    };
    let tags = ObliviousTags::new(V6_EPOCH, values.iter().map(|v| (v.to_vec(), tag_of(v).1)));
    let env = try_seal_with(&fx, &fx.plan, &sample(), "kat-v6-0001", (&tags).into()).unwrap();
    let bytes = env.encode();
    assert_eq!(bytes[4], 6);
    assert_eq!(
        env.padding, None,
        "the policy has no `pad` line: padding byte 0"
    );
    let pseudonymised: Vec<serde_json::Value> = fx
        .plan
        .fields
        .iter()
        .zip(&record.values)
        .filter(|(f, _)| {
            matches!(
                f.disclosure,
                veilgate_policies::Disclosure::Pseudonym { .. }
            )
        })
        .map(|(f, value)| {
            let encoded = value.encode();
            let (input, tag) = tag_of(&encoded);
            assert_eq!(
                field(&env, &f.name).body,
                FieldBody::Oblivious {
                    epoch: V6_EPOCH,
                    tag
                },
                "{}",
                f.name
            );
            serde_json::json!({
                "field": f.name,
                "value": hex::encode(&encoded),
                "input": hex::encode(&input),
                "tag": hex::encode(tag),
            })
        })
        .collect();
    assert_eq!(pseudonymised.len(), 2, "both accounts are pseudonymised");
    let oprf = serde_json::json!({
        "suite": "RFC 9497 VOPRF, mode 0x01, ristretto255-SHA512",
        "seed": hex::encode(V6_SEED),
        "key_info": hex::encode(pseudonym_key_info(LEDGER, V6_EPOCH).unwrap()),
        "secret_key": hex::encode(*service.secret_bytes()),
        "public_key": hex::encode(service.public_key()),
        "epoch": V6_EPOCH,
        "fields": pseudonymised,
    });
    known_answer_with(
        &fx,
        &env,
        "envelope-v6.json",
        "gateway/core/tests/vectors/envelope-v6.policy",
        "Veilgate envelope format v6 known-answer vector: the interbank sample sealed by bank-a on a ledger whose directory has a `pseudonyms` section (threshold 1, one service operated by `regulator`, epoch 1 from 0 ms). payer_account and payee_account are field kind 6: `u32 epoch ‖ 32-byte tag`, the tag being the first 32 bytes of the RFC 9497 VOPRF (mode 0x01, ristretto255-SHA512) output of `\"veilgate/pseudonym/v2\" ‖ u16 len(ledger) ‖ ledger ‖ u32 epoch ‖ canonical value` under the epoch key. `oblivious` gives that key (DeriveKeyPair(seed, key_info); secret_key is the scalar, little-endian; public_key = k·G as in the directory) and per field the value, input and tag. The policy has no `pad` line, so the byte after the idempotency key is 0 (format 6 allows 0 or 1). Verify `envelope_hex` with `directory` and the policy of hash `policy_hash`; open it with each secret; compare to `views`; recompute each tag from `oblivious`.",
        serde_json::Map::from_iter([("oblivious".to_owned(), oprf)]),
    );

    // The stored file on its own: its tags are the stored key's evaluations
    // of the stored inputs, and the stored envelope carries exactly those.
    let path = format!(
        "{}/tests/vectors/envelope-v6.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let kat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let o = &kat["oblivious"];
    let hex_of = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
    let seed: [u8; 32] = hex_of(&o["seed"]).try_into().unwrap();
    let stored_key = Evaluator::from_seed(&seed, LEDGER, V6_EPOCH).unwrap();
    assert_eq!(hex::encode(stored_key.public_key()), o["public_key"]);
    assert_eq!(hex::encode(*stored_key.secret_bytes()), o["secret_key"]);
    let stored = Envelope::decode(&hex_of(&kat["envelope_hex"])).unwrap();
    for f in o["fields"].as_array().unwrap() {
        let name = f["field"].as_str().unwrap();
        let input = hex_of(&f["input"]);
        assert_eq!(
            input,
            pseudonym_input(LEDGER, V6_EPOCH, &hex_of(&f["value"])).unwrap()
        );
        let tag = stored_key.evaluate_tag(&input).unwrap();
        assert_eq!(hex::encode(tag), f["tag"], "tag of {name}");
        assert_eq!(
            field(&stored, name).body,
            FieldBody::Oblivious {
                epoch: V6_EPOCH,
                tag
            },
            "the stored envelope's {name}"
        );
    }

    // Peers judge the epoch, not the tag: the stored bytes under a directory
    // whose epoch in force is 2, whose first epoch starts after the
    // envelope, or with no pseudonymisation service, are refused with code
    // `pseudonym`.
    let policies = PolicySet::new([fx.plan.clone()]);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let mut later = fx.directory.clone();
    if let Some(p) = later.pseudonyms.as_mut() {
        p.epochs.push(PseudonymEpoch {
            epoch: 2,
            from_ms: TIMESTAMP - 1,
            public_key: Evaluator::from_seed(&V6_SEED, LEDGER, 2)
                .unwrap()
                .public_key(),
            shares: Vec::new(),
        });
    }
    let mut early = fx.directory.clone();
    if let Some(p) = early.pseudonyms.as_mut() {
        p.epochs[0].from_ms = TIMESTAMP + 1;
    }
    let mut without = fx.directory.clone();
    without.pseudonyms = None;
    for dir in [&later, &early, &without] {
        let Err(rejection) = verify(&stored.encode(), &policies, dir, &mut rng) else {
            panic!("the stored v6 bytes verified under a directory whose epoch in force is not 1");
        };
        assert_eq!(rejection.code(), "pseudonym", "{rejection}");
    }
}

/// The padded policy with the interbank sample's remittance replaced.
fn remittance(text: &str) -> serde_json::Value {
    let mut record = sample();
    record["remittance"] = text.into();
    record
}

/// Under `pad`, two remittances of different lengths in one class (30 and
/// 61 bytes: the 64-byte class) seal to ciphertexts of one length, and open
/// to their values; without it their ciphertexts differ by the difference.
#[test]
fn values_of_one_class_give_ciphertexts_of_one_length() {
    let mut fx = fixture(5005);
    let padded = frozen("envelope-v5.policy");
    let plain = compile(&unpadded("interbank-payment.policy")).unwrap();
    let (short, long) = ("s".repeat(30), "l".repeat(61));
    let len = |plan: &Plan, text: &str, key: &str| {
        let env = try_seal(&fx, plan, &remittance(text), key).unwrap();
        (
            field(&env, "remittance").ciphertexts[0].ciphertext.len(),
            env,
        )
    };
    let (a, env_a) = len(&padded, &short, "pad-0001");
    let (b, env_b) = len(&padded, &long, "pad-0002");
    assert_eq!((a, b), (64 + 16, 64 + 16));
    let (c, _) = len(&plain, &short, "pad-0003");
    let (d, _) = len(&plain, &long, "pad-0004");
    assert_eq!(d - c, 31);
    // One byte more leaves the class.
    assert_eq!(len(&padded, &"l".repeat(62), "pad-0005").0, 128 + 16);
    fx.plan = padded;
    for (env, text) in [(&env_a, &short), (&env_b, &long)] {
        let seen = view(&fx, &env.encode(), "bank-b").unwrap();
        assert_eq!(&seen["remittance"].0, text);
        // The pseudonym is over the value, not its padded form.
        assert_eq!(seen["payee_account"].0, "6217000010098765432");
    }
}

/// Peers refuse a padded field's ciphertext that is no class long, an
/// envelope that does not pad under a policy that does (and the reverse);
/// `open` refuses a plaintext padded any other way than the one encoding.
#[test]
fn padding_is_checked_by_verify_and_open() {
    let mut fx = fixture(6006);
    fx.plan = frozen("envelope-v5.policy");
    let env = try_seal(&fx, &fx.plan, &sample(), "pad-check-1").unwrap();
    check(&fx, &fx.plan, &env).unwrap();
    let at = env
        .fields
        .iter()
        .position(|f| f.name == "remittance")
        .unwrap();
    let refused = |bent: &mut Envelope, plan: &Plan| {
        sign_envelope(bent, &fx.secrets["bank-a"]).unwrap();
        check(&fx, plan, bent).unwrap_err()
    };

    // 63 bytes of plaintext: no class of `pow2 32..=1024`.
    let mut bent = env.clone();
    bent.fields[at].ciphertexts[0].ciphertext.pop();
    let r = refused(&mut bent, &fx.plan);
    assert_eq!(
        (r.code(), r.to_string().as_str()),
        (
            "padding",
            "a ciphertext of field `remittance` is not of a padded size"
        )
    );
    // The registry contract does not read format 5: no `pad` on chain.
    let onchain = compile(&unpadded("supply-chain-receivable.policy").replacen(
        "require encrypt to [regulator]\n",
        "require encrypt to [regulator]\nrequire proofs on chain\npad pow2 32..=1024\n",
        1,
    ))
    .unwrap();
    assert!(veilgate_core::unsupported(&onchain).is_some_and(|why| why.contains("format 5")));
    assert_eq!(
        veilgate_core::unsupported(
            &compile(&unpadded("supply-chain-receivable.policy").replacen(
                "require encrypt to [regulator]\n",
                "require encrypt to [regulator]\nrequire proofs on chain\n",
                1,
            ))
            .unwrap()
        ),
        None
    );
    // Format 4 under a padding policy.
    let mut bent = env.clone();
    bent.padding = None;
    assert_eq!(refused(&mut bent, &fx.plan).code(), "padding");
    // Format 5 under a policy without `pad`.
    let plain = compile(&unpadded("interbank-payment.policy")).unwrap();
    let mut bent = try_seal(&fx, &plain, &sample(), "pad-check-2").unwrap();
    check(&fx, &plain, &bent).unwrap();
    bent.padding = Some(veilgate_core::envelope::PADDING_POW2);
    assert_eq!(refused(&mut bent, &plain).code(), "padding");

    // A class-long plaintext padded another way, encrypted under bank-b's
    // real data key: each passes verify (its length is a class), and open
    // names the field.
    let value =
        veilgate_policies::Value::Str("Invoice 2026-1187, steel coil shipment".into()).encode();
    let mut prefixed = vec![0, value.len() as u8];
    prefixed.extend_from_slice(&value);
    let mut nonzero = prefixed.clone();
    nonzero.resize(64, 0);
    nonzero[63] = 1;
    let mut too_big = prefixed.clone();
    too_big.resize(128, 0);
    let mut past_end = prefixed.clone();
    past_end[1] = 63;
    past_end.resize(64, 0);
    let mut good = prefixed.clone();
    good.resize(64, 0);
    let b = env
        .recipients
        .iter()
        .position(|r| r.institution == "bank-b")
        .unwrap();
    let index = fx
        .plan
        .fields
        .iter()
        .position(|f| f.name == "remittance")
        .unwrap();
    let rng = &mut ChaCha20Rng::seed_from_u64(1);
    let verified = verify(
        &env.encode(),
        &PolicySet::new([fx.plan.clone()]),
        &fx.directory,
        rng,
    )
    .unwrap();
    let dk = veilgate_core::unwrap_data_key(&verified, &fx.secrets["bank-b"]).unwrap();
    let aad = veilgate_core::bind::field_aad(LEDGER, &env.id, "remittance", "bank-b");
    for (padded_pt, refuse) in [
        (good, false),
        (nonzero, true),
        (too_big, true),
        (past_end, true),
    ] {
        let mut bent = env.clone();
        let c = bent.fields[at]
            .ciphertexts
            .iter_mut()
            .find(|c| usize::from(c.recipient) == b)
            .unwrap();
        c.ciphertext = SuiteId::Standard
            .suite()
            .seal_field(
                &dk,
                veilgate_core::bind::field_nonce(index),
                &aad,
                &padded_pt,
            )
            .unwrap();
        sign_envelope(&mut bent, &fx.secrets["bank-a"]).unwrap();
        let opened = view(&fx, &bent.encode(), "bank-b");
        if refuse {
            assert_eq!(
                opened.unwrap_err(),
                OpenError::Padding("remittance".into()),
                "{padded_pt:?}"
            );
        } else {
            assert_eq!(
                opened.unwrap()["remittance"].0,
                "Invoice 2026-1187, steel coil shipment"
            );
        }
    }
}
