//! Every Groth16 circuit by its id, for tools that take circuits by name
//! (a ceremony sets up any of them, whether or not envelopes use it yet).

use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;

use super::compare::CompareCircuit;
use super::date::DateThresholdCircuit;
use super::membership::MembershipCircuit;
use super::non_membership::NonMembershipCircuit;
use super::range::RangeCircuit;
use super::sum::{SumCircuit, MAX_TERMS};
use super::{constraint_matrices, ConstraintMatrices, Groth16Error, Keys, Statement};
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
