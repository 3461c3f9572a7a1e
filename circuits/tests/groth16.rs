//! Groth16 keys end to end: batch verification against single verification,
//! key files named by hash, and known-answer proofs that later versions must
//! still accept.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::evm;
use veilgate_circuits::groth16::keys::verifying_key_from_bytes;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::range::RangeCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{proof_from_bytes, proof_to_bytes, Groth16Error, Keys, Statement};
use veilgate_circuits::merkle::{set_member, to_bytes, MerkleTree, SortedSet};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn batch_verification_agrees_with_single_verification() {
    let keys = Keys::dev_setup(&RangeCircuit::shape()).unwrap();
    let mut rng = rng(1);
    let items: Vec<(Vec<Fr>, Proof<Bn254>)> = (0..64u64)
        .map(|i| {
            let st = RangeCircuit::new(i * 7_919, Fr::from(1_000 + i));
            (st.public_inputs(), keys.prove(st, &mut rng).unwrap())
        })
        .collect();
    let as_batch =
        |items: &[(Vec<Fr>, Proof<Bn254>)]| -> Vec<(Vec<Fr>, Proof<Bn254>)> { items.to_vec() };
    let check = |items: &[(Vec<Fr>, Proof<Bn254>)], rng: &mut ChaCha20Rng| {
        let refs: Vec<(&[Fr], &Proof<Bn254>)> =
            items.iter().map(|(p, pr)| (p.as_slice(), pr)).collect();
        keys.verify_batch(&refs, rng)
    };
    check(&items, &mut rng).unwrap();
    check(&items[..1], &mut rng).unwrap();
    check(&[], &mut rng).unwrap();

    // One bad member anywhere spoils the batch; singles find it.
    let mut wrong_input = as_batch(&items);
    wrong_input[17].0[0] += Fr::from(1u64);
    let mut swapped = as_batch(&items);
    let p = swapped[3].1.clone();
    swapped[3].1 = swapped[4].1.clone();
    swapped[4].1 = p;
    let mut reordered = as_batch(&items);
    let c = reordered[63].1.c;
    reordered[63].1.c = reordered[62].1.c;
    reordered[62].1.c = c;
    // Exchanging C between two proofs leaves ΣCᵢ unchanged: an unweighted
    // batch would accept it; the random weights must not.
    for (name, bad) in [
        ("input", wrong_input),
        ("swapped proofs", swapped),
        ("exchanged C", reordered),
    ] {
        assert_eq!(check(&bad, &mut rng), Err(Groth16Error::Rejected), "{name}");
        let failing = bad
            .iter()
            .filter(|(p, pr)| keys.verify(p, pr).is_err())
            .count();
        assert!(failing >= 1, "{name}");
    }
    // A proof of a false statement (patched prover) inside a batch.
    let mut forged = as_batch(&items);
    let lying = RangeCircuit {
        value: Some(5),
        ..RangeCircuit::new(6, Fr::from(9u64))
    };
    forged[40] = (
        lying.public_inputs(),
        keys.prove_unchecked(lying, &mut rng).unwrap(),
    );
    assert_eq!(check(&forged, &mut rng), Err(Groth16Error::Rejected));
    // The wrong number of public inputs is an error, not a panic.
    let mut short = as_batch(&items);
    short[0].0.clear();
    assert_eq!(
        check(&short, &mut rng),
        Err(Groth16Error::PublicInputs {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn key_files_are_named_by_hash_and_checked_on_load() {
    let dir = tempfile::tempdir().unwrap();
    let shape = CompareCircuit::shape();
    let keys = Keys::dev_setup(&shape).unwrap();
    let (vk_path, pk_path) = keys.write(dir.path()).unwrap();
    let id_hex: String = keys.id().iter().map(|b| format!("{b:02x}")).collect();
    assert!(vk_path.file_name().unwrap().to_str().unwrap() == format!("compare64-v1-{id_hex}.vk"));

    // Loaded keys prove; the original keys verify (same key).
    let loaded = Keys::load(dir.path(), &shape, keys.id()).unwrap();
    let st = CompareCircuit::new(3, Fr::from(1u64), 4, Fr::from(2u64));
    let public = st.public_inputs();
    let proof = loaded.prove(st, &mut rng(2)).unwrap();
    keys.verify(&public, &proof).unwrap();
    // A peer with only the verifying key bytes.
    let vk_bytes = std::fs::read(&vk_path).unwrap();
    let pvk = verifying_key_from_bytes("compare64-v1", &vk_bytes, keys.id()).unwrap();
    assert_eq!(pvk.vk, *keys.verifying_key());

    // Another id, another circuit, a corrupted verifying key: refused.
    let mut other = keys.id();
    other[0] ^= 1;
    assert!(matches!(
        Keys::load(dir.path(), &shape, other),
        Err(Groth16Error::KeyFile { .. })
    ));
    assert!(verifying_key_from_bytes("range64-v1", &vk_bytes, keys.id()).is_err());
    let mut bad = vk_bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert!(verifying_key_from_bytes("compare64-v1", &bad, keys.id()).is_err());
    std::fs::write(&vk_path, &bad).unwrap();
    assert!(matches!(
        Keys::load(dir.path(), &shape, keys.id()),
        Err(Groth16Error::KeyFile { .. })
    ));
    // A proving key from another setup under this name.
    std::fs::write(&vk_path, &vk_bytes).unwrap();
    let stranger = Keys::setup(&shape, &mut rng(3)).unwrap();
    let (_, stranger_pk) = stranger.write(dir.path()).unwrap();
    std::fs::copy(&stranger_pk, &pk_path).unwrap();
    assert!(matches!(
        Keys::load(dir.path(), &shape, keys.id()),
        Err(Groth16Error::KeyFile { .. })
    ));
}

#[test]
fn proof_bytes_are_strict() {
    let keys = Keys::dev_setup(&RangeCircuit::shape()).unwrap();
    let st = RangeCircuit::new(42, Fr::from(7u64));
    let public = st.public_inputs();
    let bytes = proof_to_bytes(&keys.prove(st, &mut rng(4)).unwrap());
    assert_eq!(bytes.len(), 128);
    keys.verify(&public, &proof_from_bytes(&bytes).unwrap())
        .unwrap();
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(proof_from_bytes(&longer).is_err());
    assert!(proof_from_bytes(&bytes[..127]).is_err());
    // Every single-bit flip either fails to parse (off the curve, not
    // canonical) or fails to verify.
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            if let Ok(p) = proof_from_bytes(&b) {
                assert!(keys.verify(&public, &p).is_err(), "byte {i} bit {bit:#x}");
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One known-answer entry: the statement, proved under the dev keys with a fixed seed.
fn entry<S: Statement>(statement: S, seed: u64) -> Value {
    let keys = Keys::dev_setup(&statement).unwrap();
    let public = statement.public_inputs();
    let proof = keys.prove(statement, &mut rng(seed)).unwrap();
    let mut vk = Vec::new();
    ark_serialize::CanonicalSerialize::serialize_compressed(keys.verifying_key(), &mut vk).unwrap();
    json!({
        "circuit": keys.circuit_id(),
        "constraints": keys.num_constraints(),
        "key_id": hex(&keys.id()),
        "verifying_key": hex(&vk),
        "public_inputs": public.iter().map(|x| hex(&to_bytes(x))).collect::<Vec<_>>(),
        "proof": hex(&proof_to_bytes(&proof)),
        "proof_evm_words": hex(&evm::concat(&evm::proof_words(&proof))),
    })
}

fn all_entries() -> Vec<Value> {
    let r = |n: u64| Fr::from(n);
    let tree = MerkleTree::from_leaves(
        20,
        (0..64u64).map(|i| set_member(&i.to_be_bytes())).collect(),
    )
    .unwrap();
    let leaf = tree.leaf(9).unwrap();
    let sanctions = SortedSet::new(
        20,
        ["ACME Shell Co", "Evil Corp"]
            .iter()
            .map(|n| set_member(n.as_bytes()))
            .collect(),
    )
    .unwrap();
    let x = set_member(b"Honest Bank");
    vec![
        entry(RangeCircuit::new(125_000_000, r(11)), 1),
        entry(
            CompareCircuit::new(96_000_000, r(12), 120_000_000, r(13)),
            2,
        ),
        entry(
            SumCircuit::new(&[(600, r(14)), (400, r(15))], r(16)).unwrap(),
            3,
        ),
        entry(
            DateThresholdCircuit::new(19_900_615, r(17), 20_261_125, 18),
            4,
        ),
        entry(
            MembershipCircuit::new(tree.root(), leaf, r(18), &tree.path(9).unwrap()),
            5,
        ),
        entry(
            NonMembershipCircuit::new(
                sanctions.root(),
                x,
                r(19),
                &sanctions.prove_absent(x).unwrap(),
            ),
            6,
        ),
    ]
}

/// `circuits/tests/vectors/groth16-v1.json`: per circuit, the dev key id, the
/// verifying key, public inputs and a proof. The stored proofs must verify
/// under the stored keys forever; the dev setup and the circuits must still
/// produce the same keys (a changed circuit is a new circuit id). Regenerate
/// with `VEILGATE_WRITE_VECTORS=1` only for a new circuit version.
#[test]
fn known_answer_proofs_still_verify() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/groth16-v1.json");
    if veilgate_circuits::vectors::write_mode().unwrap() {
        let doc = json!({ "format": "veilgate groth16 known-answer proofs v1", "curve": "bn254", "entries": all_entries() });
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let stored = doc["entries"].as_array().unwrap();
    assert_eq!(stored.len(), 6);
    for e in stored {
        let circuit = e["circuit"].as_str().unwrap();
        let id: [u8; 32] = unhex(e["key_id"].as_str().unwrap()).try_into().unwrap();
        let pvk =
            verifying_key_from_bytes(circuit, &unhex(e["verifying_key"].as_str().unwrap()), id)
                .unwrap();
        let public: Vec<Fr> = e["public_inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| veilgate_circuits::merkle::leaf_from_bytes(&unhex(x.as_str().unwrap())))
            .collect();
        let proof = proof_from_bytes(&unhex(e["proof"].as_str().unwrap())).unwrap();
        assert!(
            ark_groth16::Groth16::<Bn254>::verify_proof(&pvk, &proof, &public).unwrap(),
            "{circuit}"
        );
        assert_eq!(
            hex(&evm::concat(&evm::proof_words(&proof))),
            e["proof_evm_words"].as_str().unwrap()
        );
        let mut wrong = public.clone();
        wrong[0] += Fr::from(1u64);
        assert!(!ark_groth16::Groth16::<Bn254>::verify_proof(&pvk, &proof, &wrong).unwrap());
    }
    // Today's circuits and dev setup reproduce the stored keys.
    for (now, then) in all_entries().iter().zip(stored) {
        assert_eq!(now["circuit"], then["circuit"]);
        assert_eq!(now["constraints"], then["constraints"]);
        assert_eq!(now["key_id"], then["key_id"], "{}", then["circuit"]);
    }
}
