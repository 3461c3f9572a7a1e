//! Every Groth16 circuit by its id, for tools that take circuits by name
//! (a ceremony sets up any of them, whether or not envelopes use it yet).
//!
//! An id names one constraint system forever: verifying keys are pinned to
//! it. [`Circuit::digest`] hashes the constraint system, and
//! `circuits/tests/vectors/circuit-digests.json` pins that digest for every
//! id, so a circuit changed under its old id fails a test instead of
//! silently invalidating every key and proof made for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_groth16::ProvingKey;
use ark_relations::utils::matrix::Matrix;
use sha2::{Digest, Sha256};

use super::compare::CompareCircuit;
use super::date::DateThresholdCircuit;
use super::membership::MembershipCircuit;
use super::non_membership::NonMembershipCircuit;
use super::range::RangeCircuit;
use super::sum::{SumCircuit, MAX_TERMS};
use super::{constraint_matrices, ConstraintMatrices, Groth16Error, Keys, Statement};
use crate::domain;
use crate::merkle::MAX_DEPTH;

/// A circuit's shape, by kind.
#[derive(Clone)]
pub enum Circuit {
    Range(RangeCircuit),
    Compare(CompareCircuit),
    DateThreshold(DateThresholdCircuit),
    Sum(SumCircuit),
    Membership(MembershipCircuit),
    NonMembership(NonMembershipCircuit),
}

/// What ids look like, for error messages.
pub const ID_FORMS: &str = "range64-v1, compare64-v1, date-threshold-v1, sum{1..16}x64-v1, \
     membership-d{1..32}-v1, non-membership-d{1..32}-v1";

fn number(s: &str, prefix: &str, suffix: &str) -> Option<usize> {
    let n = s.strip_prefix(prefix)?.strip_suffix(suffix)?;
    // No sign, no leading zero: one spelling per id.
    if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

impl Circuit {
    pub fn from_id(id: &str) -> Option<Circuit> {
        let c = match id {
            "range64-v1" => Circuit::Range(RangeCircuit::shape()),
            "compare64-v1" => Circuit::Compare(CompareCircuit::shape()),
            "date-threshold-v1" => Circuit::DateThreshold(DateThresholdCircuit::shape()),
            _ => {
                if let Some(n) = number(id, "sum", "x64-v1").filter(|n| (1..=MAX_TERMS).contains(n))
                {
                    Circuit::Sum(SumCircuit::shape(n))
                } else if let Some(d) =
                    number(id, "non-membership-d", "-v1").filter(|d| (1..=MAX_DEPTH).contains(d))
                {
                    Circuit::NonMembership(NonMembershipCircuit::shape(d))
                } else if let Some(d) =
                    number(id, "membership-d", "-v1").filter(|d| (1..=MAX_DEPTH).contains(d))
                {
                    Circuit::Membership(MembershipCircuit::shape(d))
                } else {
                    return None;
                }
            }
        };
        (c.id() == id).then_some(c)
    }

    /// Every id [`Circuit::from_id`] accepts, in the order of [`ID_FORMS`].
    pub fn all_ids() -> Vec<String> {
        let mut ids: Vec<String> = ["range64-v1", "compare64-v1", "date-threshold-v1"]
            .map(String::from)
            .to_vec();
        ids.extend((1..=MAX_TERMS).map(|n| format!("sum{n}x64-v1")));
        ids.extend((1..=MAX_DEPTH).map(|d| format!("membership-d{d}-v1")));
        ids.extend((1..=MAX_DEPTH).map(|d| format!("non-membership-d{d}-v1")));
        ids
    }

    pub fn id(&self) -> String {
        match self {
            Circuit::Range(c) => c.circuit_id(),
            Circuit::Compare(c) => c.circuit_id(),
            Circuit::DateThreshold(c) => c.circuit_id(),
            Circuit::Sum(c) => c.circuit_id(),
            Circuit::Membership(c) => c.circuit_id(),
            Circuit::NonMembership(c) => c.circuit_id(),
        }
    }

    /// The constraint system its keys are set up over.
    pub fn matrices(&self) -> Result<ConstraintMatrices, Groth16Error> {
        match self {
            Circuit::Range(c) => constraint_matrices(c),
            Circuit::Compare(c) => constraint_matrices(c),
            Circuit::DateThreshold(c) => constraint_matrices(c),
            Circuit::Sum(c) => constraint_matrices(c),
            Circuit::Membership(c) => constraint_matrices(c),
            Circuit::NonMembership(c) => constraint_matrices(c),
        }
    }

    /// SHA-256 of the constraint system its keys are set up over, in the
    /// encoding of [`constraint_digest`].
    pub fn digest(&self) -> Result<[u8; 32], Groth16Error> {
        constraint_digest(&self.matrices()?)
    }

    /// Writes a proving key made for this circuit (a ceremony's) as key
    /// files named by hash, after checking it against the circuit's shape;
    /// returns the paths and the key id.
    pub fn write_keys(
        &self,
        pk: ProvingKey<Bn254>,
        dir: &Path,
    ) -> Result<(PathBuf, PathBuf, [u8; 32]), Groth16Error> {
        fn go<S: Statement>(
            c: &S,
            pk: ProvingKey<Bn254>,
            dir: &Path,
        ) -> Result<(PathBuf, PathBuf, [u8; 32]), Groth16Error> {
            let keys = Keys::from_proving_key(c, pk)?;
            let (vk, pk) = keys.write(dir)?;
            Ok((vk, pk, keys.id()))
        }
        match self {
            Circuit::Range(c) => go(c, pk, dir),
            Circuit::Compare(c) => go(c, pk, dir),
            Circuit::DateThreshold(c) => go(c, pk, dir),
            Circuit::Sum(c) => go(c, pk, dir),
            Circuit::Membership(c) => go(c, pk, dir),
            Circuit::NonMembership(c) => go(c, pk, dir),
        }
    }
}

/// The digest of a constraint system: SHA-256 of
///
/// ```text
/// "veilgate/groth16-circuit-digest/v1"
/// ‖ u64 public inputs (the constant 1 not counted) ‖ u64 witnesses ‖ u64 constraints
/// ‖ for M in A, B, C: u64 entry count of M
///                     ‖ per entry: u64 row ‖ u64 column ‖ coefficient (32 bytes)
/// ```
///
/// every integer big-endian, the coefficient its canonical value in
/// `[0, p)` as 32 bytes big-endian. Columns are `[1, inputs…, witnesses…]`.
/// Entries run by row, then by column; entries of one row and column are
/// summed and zero sums left out, so the digest is that of the matrices as
/// mathematical objects, not of arkworks' order of terms. The entry counts
/// keep the three matrices apart (an entry moved from A to B would
/// otherwise leave the bytes unchanged). See `docs/notes-groth16.md`.
pub fn constraint_digest(m: &ConstraintMatrices) -> Result<[u8; 32], Groth16Error> {
    let rows = m.a.len();
    if m.b.len() != rows || m.c.len() != rows || m.num_instance == 0 {
        return Err(Groth16Error::Setup);
    }
    let columns = m.num_instance + m.num_witness;
    let mut h = Sha256::new()
        .chain_update(domain::GROTH16_CIRCUIT_DIGEST)
        .chain_update(be64(m.num_instance - 1))
        .chain_update(be64(m.num_witness))
        .chain_update(be64(rows));
    for matrix in [&m.a, &m.b, &m.c] {
        let entries = canonical_entries(matrix, columns)?;
        h.update(be64(entries.len()));
        for (row, col, coeff) in entries {
            h.update(be64(row));
            h.update(be64(col));
            h.update(coeff.into_bigint().to_bytes_be());
        }
    }
    Ok(h.finalize().into())
}

fn be64(n: usize) -> [u8; 8] {
    // usize is at most 64 bits on every target we build for.
    (n as u64).to_be_bytes()
}

/// `(row, column, coefficient)` by row then column, duplicates summed,
/// zeros dropped; a column outside the system is an error.
fn canonical_entries(
    matrix: &Matrix<Fr>,
    columns: usize,
) -> Result<Vec<(usize, usize, Fr)>, Groth16Error> {
    let mut out = Vec::new();
    for (i, row) in matrix.iter().enumerate() {
        let mut sorted = BTreeMap::<usize, Fr>::new();
        for (coeff, col) in row {
            if *col >= columns {
                return Err(Groth16Error::Setup);
            }
            *sorted.entry(*col).or_insert_with(Fr::zero) += coeff;
        }
        out.extend(
            sorted
                .into_iter()
                .filter(|(_, c)| !c.is_zero())
                .map(|(col, c)| (i, col, c)),
        );
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A hand-made system with one input `x` and witnesses `y`, `z`:
    /// `x · y = z` and `(2y − 1) · 1 = z`. Columns `[1, x, y, z]`.
    fn tiny() -> ConstraintMatrices {
        let one = Fr::from(1u64);
        ConstraintMatrices {
            a: vec![vec![(one, 1)], vec![(Fr::from(2u64), 2), (-one, 0)]],
            b: vec![vec![(one, 2)], vec![(one, 0)]],
            c: vec![vec![(one, 3)], vec![(one, 3)]],
            num_instance: 2,
            num_witness: 2,
        }
    }

    #[test]
    fn the_digest_encoding_is_the_documented_one() {
        let u = |n: u64| n.to_be_bytes().to_vec();
        let small = |n: u8| {
            let mut b = vec![0u8; 32];
            b[31] = n;
            b
        };
        // p − 1, big-endian: the field's −1.
        let minus_one =
            hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000")
                .unwrap();
        let entry = |row: u64, col: u64, coeff: Vec<u8>| [u(row), u(col), coeff].concat();
        let bytes = [
            b"veilgate/groth16-circuit-digest/v1".to_vec(),
            u(1), // public inputs
            u(2), // witnesses
            u(2), // constraints
            // A: the second row's entries come out by column, −1 first.
            u(3),
            entry(0, 1, small(1)),
            entry(1, 0, minus_one),
            entry(1, 2, small(2)),
            // B
            u(2),
            entry(0, 2, small(1)),
            entry(1, 0, small(1)),
            // C
            u(2),
            entry(0, 3, small(1)),
            entry(1, 3, small(1)),
        ]
        .concat();
        let expected: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(constraint_digest(&tiny()).unwrap(), expected);
    }

    #[test]
    fn the_digest_sees_the_system_not_the_order_of_terms() {
        let d = constraint_digest(&tiny()).unwrap();
        let one = Fr::from(1u64);
        // Same matrices spelled differently: a split coefficient, a zero term.
        let mut spelled = tiny();
        spelled.a[1] = vec![(-one, 0), (one, 2), (Fr::from(0u64), 3), (one, 2)];
        assert_eq!(constraint_digest(&spelled).unwrap(), d);
        // Every real change moves it: an entry moved from A to B, a
        // coefficient, a count, a swapped pair of rows.
        let mut moved = tiny();
        moved.a[1].retain(|(_, col)| *col != 0);
        moved.b[0].push((-one, 0));
        let mut coeff = tiny();
        coeff.c[1][0].0 = Fr::from(3u64);
        let mut inputs = tiny();
        inputs.num_instance = 1;
        inputs.num_witness = 3;
        let mut rows = tiny();
        rows.a.swap(0, 1);
        rows.b.swap(0, 1);
        rows.c.swap(0, 1);
        for changed in [moved, coeff, inputs, rows] {
            assert_ne!(constraint_digest(&changed).unwrap(), d);
        }
        let mut outside = tiny();
        outside.c[0][0].1 = 4;
        assert_eq!(constraint_digest(&outside), Err(Groth16Error::Setup));
    }

    #[test]
    fn ids_round_trip_and_odd_spellings_are_refused() {
        for id in [
            "range64-v1",
            "compare64-v1",
            "date-threshold-v1",
            "sum1x64-v1",
            "sum16x64-v1",
            "membership-d20-v1",
            "non-membership-d20-v1",
        ] {
            assert_eq!(Circuit::from_id(id).map(|c| c.id()).as_deref(), Some(id));
        }
        for id in [
            "sum0x64-v1",
            "sum17x64-v1",
            "sum03x64-v1",
            "membership-d33-v1",
            "x",
        ] {
            assert!(Circuit::from_id(id).is_none(), "{id}");
        }
        let all = Circuit::all_ids();
        assert_eq!(all.len(), 3 + MAX_TERMS + 2 * MAX_DEPTH);
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        for id in &all {
            assert_eq!(Circuit::from_id(id).map(|c| c.id()).as_ref(), Some(id));
        }
    }
}
