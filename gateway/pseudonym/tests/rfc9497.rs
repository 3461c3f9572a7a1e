//! RFC 9497 Appendix A.1.2 (VOPRF, ristretto255-SHA512) through our API:
//! DeriveKeyPair, blinding with the RFC's blinds, evaluation with its proof
//! nonce (byte-identical proofs), proof verification and the outputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::{hex32, hex64, ScalarRng};
use serde::Deserialize;
use veilgate_pseudonym::{blind_batch, finalize_batch, Evaluator, PseudonymError};

#[derive(Deserialize)]
struct File {
    seed: String,
    key_info: String,
    sk: String,
    pk: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    input: Vec<String>,
    blind: Vec<String>,
    blinded_element: Vec<String>,
    evaluation_element: Vec<String>,
    proof: String,
    proof_random_scalar: String,
    output: Vec<String>,
}

fn load() -> File {
    let text = include_str!("vectors/rfc9497-voprf-ristretto255.json");
    serde_json::from_str(text).unwrap()
}

fn all32(v: &[String]) -> Vec<[u8; 32]> {
    v.iter().map(|s| hex32(s)).collect()
}

#[test]
fn derive_key_pair_matches_the_rfc() {
    let f = load();
    let derived =
        Evaluator::from_seed_and_info(&hex32(&f.seed), &hex::decode(&f.key_info).unwrap()).unwrap();
    assert_eq!(hex::encode(derived.public_key()), f.pk);
    // Equal public keys from the derived key and the RFC's skSm: the same scalar.
    assert_eq!(
        Evaluator::from_scalar(&hex32(&f.sk)).unwrap().public_key(),
        derived.public_key()
    );
}

#[test]
fn every_vector_blinds_evaluates_proves_and_finalizes_as_the_rfc() {
    let f = load();
    let server = Evaluator::from_scalar(&hex32(&f.sk)).unwrap();
    assert_eq!(f.vectors.len(), 3, "A.1.2 has three vectors");
    for v in &f.vectors {
        let inputs: Vec<Vec<u8>> = v.input.iter().map(|i| hex::decode(i).unwrap()).collect();
        let (state, blinded) = blind_batch(&inputs, &mut ScalarRng(all32(&v.blind))).unwrap();
        assert_eq!(blinded, all32(&v.blinded_element), "{}: blinded", v.name);

        let nonce = ScalarRng(vec![hex32(&v.proof_random_scalar)]);
        let (evaluated, proof) = server.evaluate_batch(&blinded, &mut { nonce }).unwrap();
        assert_eq!(
            evaluated,
            all32(&v.evaluation_element),
            "{}: evaluated",
            v.name
        );
        assert_eq!(hex::encode(proof), v.proof, "{}: proof", v.name);

        let tags = finalize_batch(&state, &evaluated, &hex64(&v.proof), &hex32(&f.pk)).unwrap();
        for ((tag, output), input) in tags.iter().zip(&v.output).zip(&inputs) {
            assert_eq!(
                hex::encode(tag),
                output[..64],
                "{}: tag = output[..32]",
                v.name
            );
            // The full 64-byte output, through the crate's unblinded evaluation.
            assert_eq!(
                hex::encode(common::crate_output(&hex32(&f.sk), input)),
                *output
            );
        }
    }
}

#[test]
fn the_rfc_proof_with_one_bit_flipped_is_rejected() {
    let f = load();
    let v = &f.vectors[2];
    let inputs: Vec<Vec<u8>> = v.input.iter().map(|i| hex::decode(i).unwrap()).collect();
    let (state, _) = blind_batch(&inputs, &mut ScalarRng(all32(&v.blind))).unwrap();
    let evaluated = all32(&v.evaluation_element);
    for byte in [0, 31, 32, 63] {
        let mut proof = hex64(&v.proof);
        proof[byte] ^= 1;
        let got = finalize_batch(&state, &evaluated, &proof, &hex32(&f.pk)).unwrap_err();
        // A flip may leave c or s non-canonical (refused at decoding) or valid but wrong.
        assert!(
            matches!(
                got,
                PseudonymError::ProofRejected | PseudonymError::InvalidProof
            ),
            "byte {byte}: {got}"
        );
    }
}
