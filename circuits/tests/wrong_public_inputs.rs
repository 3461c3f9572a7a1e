//! A valid proof binds every public input: the same proof against another
//! commitment, root, date, threshold, strictness or total is rejected. One
//! test per circuit, and each checks that every input position was changed
//! at least once, so an input added later cannot go untested.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use ark_bn254::Fr;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::range::RangeCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{commit, Groth16Error, Keys, Statement};
use veilgate_circuits::merkle::{set_member, MerkleTree, SortedSet};

fn fr(n: u64) -> Fr {
    Fr::from(n)
}

/// Proves `statement`, checks the proof verifies, then that it is rejected
/// with each `(position, other value, what)` swapped in.
fn every_input_is_bound<S: Statement>(statement: S, others: &[(usize, Fr, &str)], seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let keys = Keys::setup(&statement.blank(), &mut rng).unwrap();
    let public = statement.public_inputs();
    let proof = keys.prove(statement, &mut rng).unwrap();
    keys.verify(&public, &proof).unwrap();
    for (i, other, what) in others {
        assert_ne!(public[*i], *other, "{what} is not a change");
        let mut p = public.clone();
        p[*i] = *other;
        assert_eq!(
            keys.verify(&p, &proof),
            Err(Groth16Error::Rejected),
            "{what}"
        );
    }
    for i in 0..public.len() {
        assert!(
            others.iter().any(|o| o.0 == i),
            "public input {i} of {} is never changed",
            keys.circuit_id()
        );
    }
}

#[test]
fn range_binds_its_commitment() {
    let r = fr(901);
    every_input_is_bound(
        RangeCircuit::new(125_000_000, r),
        &[
            (
                0,
                commit(fr(125_000_001), r),
                "a commitment to another value",
            ),
            (0, commit(fr(125_000_000), r + fr(1)), "another blinding"),
        ],
        1,
    );
}

#[test]
fn compare_binds_both_commitments_and_strictness() {
    let (ra, rb) = (fr(902), fr(903));
    every_input_is_bound(
        CompareCircuit::new(96, ra, 120, rb),
        &[
            (0, commit(fr(95), ra), "another C_a"),
            (1, commit(fr(121), rb), "another C_b"),
            (1, commit(fr(96), ra), "C_a as C_b"),
            (2, fr(1), "strict instead of ≤"),
        ],
        2,
    );
}

#[test]
fn date_binds_its_commitment_date_and_years() {
    let r = fr(904);
    every_input_is_bound(
        DateThresholdCircuit::new(19_900_615, r, 20_261_125, 18),
        &[
            (
                0,
                commit(fr(19_900_616), r),
                "a commitment to another birth date",
            ),
            (0, commit(fr(19_900_615), r + fr(1)), "another blinding"),
            (1, fr(20_271_125), "another date"),
            (2, fr(21), "another threshold"),
        ],
        3,
    );
}

#[test]
fn sum_binds_every_term_and_the_total() {
    let (r1, r2, rt) = (fr(905), fr(906), fr(907));
    every_input_is_bound(
        SumCircuit::new(&[(600, r1), (400, r2)], rt).unwrap(),
        &[
            (0, commit(fr(601), r1), "another first term"),
            (1, commit(fr(399), r2), "another second term"),
            (2, commit(fr(1001), rt), "another total"),
            (
                2,
                commit(fr(1000), rt + fr(1)),
                "the total with another blinding",
            ),
        ],
        4,
    );
}

#[test]
fn membership_binds_its_root_and_commitment() {
    let depth = 5;
    let t = MerkleTree::from_leaves(depth, (0..20u64).map(|i| fr(1000 + i)).collect()).unwrap();
    let other = MerkleTree::from_leaves(depth, (0..20u64).map(|i| fr(2000 + i)).collect()).unwrap();
    let r = fr(908);
    every_input_is_bound(
        MembershipCircuit::new(t.root(), fr(1007), r, &t.path(7).unwrap()),
        &[
            (0, other.root(), "another set's root"),
            (1, commit(fr(1008), r), "a commitment to another member"),
            (1, commit(fr(5), r), "a commitment to a non-member"),
        ],
        5,
    );
}

#[test]
fn non_membership_binds_its_root_and_commitment() {
    let depth = 5;
    let names = ["ACME Shell Co", "Blocked Ltd", "Evil Corp", "Nope SA"];
    let members = |names: &[&str]| names.iter().map(|n| set_member(n.as_bytes())).collect();
    let s = SortedSet::new(depth, members(&names)).unwrap();
    let smaller = SortedSet::new(depth, members(&names[..3])).unwrap();
    let x = set_member(b"Honest Bank");
    let r = fr(909);
    every_input_is_bound(
        NonMembershipCircuit::new(s.root(), x, r, &s.prove_absent(x).unwrap()),
        &[
            (0, smaller.root(), "the root of a set without one member"),
            (
                1,
                commit(set_member(b"Evil Corp"), r),
                "a commitment to a member",
            ),
            (1, commit(x, r + fr(1)), "another blinding"),
        ],
        6,
    );
}
