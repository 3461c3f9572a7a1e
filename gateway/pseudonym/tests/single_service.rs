//! One pseudonymisation service: our blind → evaluate → finalize equals the
//! `voprf` crate's full evaluation, an evaluation under another key is
//! caught by the proof, and bad points are refused by index.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::{crate_tag, random_key};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use veilgate_pseudonym::{blind_batch, finalize_batch, pseudonym_input, Evaluator, PseudonymError};

fn random_inputs(rng: &mut ChaCha20Rng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let mut value = vec![0u8; (rng.next_u32() % 200) as usize];
            rng.fill_bytes(&mut value);
            pseudonym_input("interbank-settlement", rng.next_u32(), &value).unwrap()
        })
        .collect()
}

#[test]
fn our_tags_equal_the_crates_full_evaluation() {
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    for _ in 0..5 {
        let key = random_key(&mut rng);
        let server = Evaluator::from_scalar(&key).unwrap();
        let inputs = random_inputs(&mut rng, 17);
        let (state, blinded) = blind_batch(&inputs, &mut rng).unwrap();
        let (evaluated, proof) = server.evaluate_batch(&blinded, &mut rng).unwrap();
        let tags = finalize_batch(&state, &evaluated, &proof, &server.public_key()).unwrap();
        let expected: Vec<[u8; 32]> = inputs.iter().map(|i| crate_tag(&key, i)).collect();
        assert_eq!(tags, expected);
    }
}

#[test]
fn blinding_hides_the_input_but_not_the_tag() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let server = Evaluator::from_seed(&[9; 32], "L", 1).unwrap();
    let input = pseudonym_input("L", 1, b"\x01DE89370400440532013000").unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (state, blinded) = blind_batch(&[&input], &mut rng).unwrap();
        let (evaluated, proof) = server.evaluate_batch(&blinded, &mut rng).unwrap();
        runs.push((
            blinded,
            finalize_batch(&state, &evaluated, &proof, &server.public_key()).unwrap(),
        ));
    }
    assert_ne!(runs[0].0, runs[1].0, "the service sees unrelated points");
    assert_eq!(runs[0].1, runs[1].1, "equal values get equal pseudonyms");
}

#[test]
fn an_evaluation_under_another_key_fails_the_proof() {
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let published = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
    let rogue = Evaluator::from_seed(&[2; 32], "L", 1).unwrap();
    let inputs = random_inputs(&mut rng, 4);
    let (state, blinded) = blind_batch(&inputs, &mut rng).unwrap();
    let (evaluated, proof) = rogue.evaluate_batch(&blinded, &mut rng).unwrap();
    let err = finalize_batch(&state, &evaluated, &proof, &published.public_key()).unwrap_err();
    assert_eq!(err, PseudonymError::ProofRejected);
    assert!(
        err.to_string()
            .contains("does not verify against the service's public key"),
        "{err}"
    );

    // One element swapped for the rogue's, the published key's proof kept.
    let (honest, honest_proof) = published.evaluate_batch(&blinded, &mut rng).unwrap();
    let mut mixed = honest.clone();
    mixed[2] = evaluated[2];
    assert_eq!(
        finalize_batch(&state, &mixed, &honest_proof, &published.public_key()),
        Err(PseudonymError::ProofRejected)
    );
    assert!(finalize_batch(&state, &honest, &honest_proof, &published.public_key()).is_ok());
}

#[test]
fn the_evaluator_refuses_bad_points_by_index() {
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let server = Evaluator::from_seed(&[1; 32], "L", 1).unwrap();
    let (_, good) = blind_batch(&random_inputs(&mut rng, 3), &mut rng).unwrap();
    let mut non_canonical = [0xff; 32]; // a field element ≥ p
    non_canonical[31] = 0x7f;
    let mut negative = [0u8; 32]; // s = 1 is "negative" in ristretto255, so refused
    negative[0] = 1;
    for (bad, what) in [
        ([0u8; 32], "identity"),
        (non_canonical, "non-canonical"),
        (negative, "not a ristretto encoding"),
    ] {
        let mut batch = good.clone();
        batch[2] = bad;
        let err = server.evaluate_batch(&batch, &mut rng).unwrap_err();
        assert_eq!(
            err,
            PseudonymError::InvalidBlindedElement { index: 2 },
            "{what}"
        );
        assert_eq!(
            err.to_string(),
            "blinded element `2` is not a canonical non-identity ristretto255 encoding"
        );
    }
    assert!(server.evaluate_batch(&good, &mut rng).is_ok());
}
