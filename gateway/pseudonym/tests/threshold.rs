//! k-of-n services: every k-subset gives exactly the single-service tag of
//! the dealt key, k−1 shares are consistent with any key, and a share whose
//! proof fails is excluded and reported.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::{crate_tag, random_key};
use curve25519_dalek::scalar::Scalar;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_pseudonym::threshold::{
    check_public_shares, combine, deal, Answer, PublicShare, Share,
};
use veilgate_pseudonym::{blind_batch, pseudonym_input, Blinded, Evaluator, PseudonymError};

struct Setup {
    key: [u8; 32],
    shares: Vec<Share>,
    public: Vec<PublicShare>,
    inputs: Vec<Vec<u8>>,
    state: Blinded,
    blinded: Vec<[u8; 32]>,
}

fn setup(k: usize, n: usize, seed: u64) -> (Setup, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let key = random_key(&mut rng);
    let dealing = deal(k, n, &Evaluator::from_scalar(&key).unwrap(), &mut rng).unwrap();
    let public: Vec<PublicShare> = dealing.shares.iter().map(Share::public).collect();
    check_public_shares(k, &public, &dealing.public_key).unwrap();
    let inputs: Vec<Vec<u8>> = ["DE89370400440532013000", "GB29NWBK60161331926819", ""]
        .iter()
        .map(|v| pseudonym_input("interbank-settlement", 3, v.as_bytes()).unwrap())
        .collect();
    let (state, blinded) = blind_batch(&inputs, &mut rng).unwrap();
    (
        Setup {
            key,
            shares: dealing.shares,
            public,
            inputs,
            state,
            blinded,
        },
        rng,
    )
}

fn answer(share: &Share, blinded: &[[u8; 32]], rng: &mut ChaCha20Rng) -> Answer {
    let (evaluated, proof) = share
        .evaluator()
        .unwrap()
        .evaluate_batch(blinded, rng)
        .unwrap();
    Answer {
        index: share.index(),
        evaluated,
        proof,
    }
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn every_k_subset_combines_to_the_single_service_tag() {
    for (k, n, seed) in [(2, 3, 1), (3, 5, 2)] {
        let (s, mut rng) = setup(k, n, seed);
        let answers: Vec<Answer> = s
            .shares
            .iter()
            .map(|sh| answer(sh, &s.blinded, &mut rng))
            .collect();
        let expected: Vec<[u8; 32]> = s.inputs.iter().map(|i| crate_tag(&s.key, i)).collect();
        let all = subsets(n, k);
        assert_eq!(all.len(), if n == 3 { 3 } else { 10 });
        for subset in all {
            let chosen: Vec<Answer> = subset.iter().map(|&i| answers[i].clone()).collect();
            let combined = combine(&s.state, k, &s.public, &chosen).unwrap();
            assert_eq!(combined.tags, expected, "{k}-of-{n}, shares {subset:?}");
            assert!(combined.rejected.is_empty());
        }
    }
}

#[test]
fn k_minus_one_shares_do_not_combine() {
    for (k, n, seed) in [(2, 3, 3), (3, 5, 4)] {
        let (s, mut rng) = setup(k, n, seed);
        let answers: Vec<Answer> = s.shares[..k - 1]
            .iter()
            .map(|sh| answer(sh, &s.blinded, &mut rng))
            .collect();
        assert_eq!(
            combine(&s.state, k, &s.public, &answers),
            Err(PseudonymError::TooFewValidShares {
                valid: k - 1,
                needed: k,
                rejected: vec![]
            })
        );
    }
}

/// Lagrange interpolation written out here, independently of the crate.
fn interpolate(points: &[(Scalar, Scalar)], at: Scalar) -> Scalar {
    points
        .iter()
        .map(|&(xi, yi)| {
            let basis: Scalar = points
                .iter()
                .filter(|(xj, _)| *xj != xi)
                .map(|&(xj, _)| (at - xj) * (xi - xj).invert())
                .product();
            yi * basis
        })
        .sum()
}

#[test]
fn k_minus_one_shares_fit_any_other_key() {
    for (k, n, seed) in [(2, 3, 5), (3, 5, 6)] {
        let (s, mut rng) = setup(k, n, seed);
        let other_key = random_key(&mut rng);
        assert_ne!(other_key, s.key);
        // The polynomial through (0, other key) and the first k−1 real shares.
        let mut points = vec![(
            Scalar::ZERO,
            Scalar::from_canonical_bytes(other_key).unwrap(),
        )];
        for share in &s.shares[..k - 1] {
            points.push((
                Scalar::from(share.index()),
                Scalar::from_canonical_bytes(*share.secret_bytes()).unwrap(),
            ));
        }
        // Its value at a fresh index is a k-th share; with the k−1 real ones it evaluates as the other key.
        let fresh = n as u32 + 1;
        let forged = Share::from_bytes(
            fresh,
            &interpolate(&points, Scalar::from(u64::from(fresh))).to_bytes(),
        )
        .unwrap();
        let mut public = s.public[..k - 1].to_vec();
        public.push(forged.public());
        check_public_shares(
            k,
            &public,
            &Evaluator::from_scalar(&other_key).unwrap().public_key(),
        )
        .unwrap();
        let mut answers: Vec<Answer> = s.shares[..k - 1]
            .iter()
            .map(|sh| answer(sh, &s.blinded, &mut rng))
            .collect();
        answers.push(answer(&forged, &s.blinded, &mut rng));
        let tags = combine(&s.state, k, &public, &answers).unwrap().tags;
        let under_other: Vec<[u8; 32]> =
            s.inputs.iter().map(|i| crate_tag(&other_key, i)).collect();
        let under_dealt: Vec<[u8; 32]> = s.inputs.iter().map(|i| crate_tag(&s.key, i)).collect();
        assert_eq!(
            tags, under_other,
            "the same k−1 shares are consistent with another key"
        );
        assert_ne!(tags, under_dealt);
    }
}

#[test]
fn a_bad_share_among_k_plus_one_is_excluded() {
    for (k, n, seed) in [(2, 3, 7), (3, 5, 8)] {
        let (s, mut rng) = setup(k, n, seed);
        let mut answers: Vec<Answer> = s.shares[..=k]
            .iter()
            .map(|sh| answer(sh, &s.blinded, &mut rng))
            .collect();
        // Share 1 answers under another key (with a proof for that key): first in line, so it
        // would be combined if it were not excluded.
        let rogue = Evaluator::from_scalar(&random_key(&mut rng)).unwrap();
        let (evaluated, proof) = rogue.evaluate_batch(&s.blinded, &mut rng).unwrap();
        answers[0] = Answer {
            index: s.shares[0].index(),
            evaluated,
            proof,
        };
        let combined = combine(&s.state, k, &s.public, &answers).unwrap();
        let expected: Vec<[u8; 32]> = s.inputs.iter().map(|i| crate_tag(&s.key, i)).collect();
        assert_eq!(combined.tags, expected);
        assert_eq!(combined.rejected, vec![(1, PseudonymError::ProofRejected)]);
        // With only k answers, one bad: too few.
        let err = combine(&s.state, k, &s.public, &answers[..k]).unwrap_err();
        assert_eq!(
            err,
            PseudonymError::TooFewValidShares {
                valid: k - 1,
                needed: k,
                rejected: vec![1]
            }
        );
    }
}

#[test]
fn unknown_and_repeated_indices_are_excluded() {
    let (s, mut rng) = setup(2, 3, 9);
    let first = answer(&s.shares[0], &s.blinded, &mut rng);
    let mut stranger = answer(&s.shares[1], &s.blinded, &mut rng);
    stranger.index = 9;
    let err = combine(
        &s.state,
        2,
        &s.public,
        &[first.clone(), first.clone(), stranger],
    )
    .unwrap_err();
    assert_eq!(
        err,
        PseudonymError::TooFewValidShares {
            valid: 1,
            needed: 2,
            rejected: vec![1, 9]
        }
    );
}
