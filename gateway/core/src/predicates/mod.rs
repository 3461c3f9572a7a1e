//! Groth16 predicates in envelopes (`docs/envelope.md`, format version 2).
//!
//! A field a predicate speaks about is committed with Poseidon on BN254
//! (`C = H(x, r)`) instead of Pedersen on Ristretto, so the circuits can open
//! it; the policy checker forbids a bulletproofs range on such a field. The
//! committed integer `x` is the value's integer or minor units (which must be
//! ≥ 0) or, for a date, `YYYYMMDD`. Seal proves each of the plan's
//! predicates in order; verify rebuilds each statement's public inputs from
//! the envelope (commitments, public fields) and the plan (constants), and
//! checks the proof under the key the envelope names, which must be the key
//! this peer holds for that circuit.
//!
//! One file per stage: [`keys`] (the key ring, by circuit), [`prove`]
//! (seal's side), [`check`] (verify's side: statements rebuilt from the
//! envelope, checked one by one or batched per key), [`chain`] (the same
//! statements as an EVM registry checks them).

use std::collections::BTreeSet;

pub mod chain;
pub mod check;
pub mod keys;
pub mod prove;

use veilgate_circuits::groth16::sum::MAX_TERMS;
use veilgate_circuits::merkle::{leaf_from_bytes, to_bytes};
use veilgate_policies::{CmpOp, FieldType, Plan, Predicate, Value};

use ark_bn254::Fr;
use ark_ff::UniformRand;

use crate::suite::{DynRng, RngCoreCrypto};

pub use chain::{chain_checks, proofs_for_chain, ChainCheck, ChainInput};
pub use check::{statements, verify_batch, Groth16Check};
pub use keys::{Circuit, CircuitKeys, KeyRing, KeyRingError, Origin};
pub use prove::{prove_all, ProveError};

/// Circuit tags in the envelope's predicate section.
pub const CIRCUIT_COMPARE: u8 = 1;
pub const CIRCUIT_SUM: u8 = 2;
pub const CIRCUIT_DATE_THRESHOLD: u8 = 3;
/// Set membership and non-membership (format 3; the entry names the set version).
pub const CIRCUIT_MEMBERSHIP: u8 = 4;
pub const CIRCUIT_NON_MEMBERSHIP: u8 = 5;

/// Why a predicate is not sealed or verified by this build, if it is not.
pub fn unsupported_predicate(p: &Predicate) -> Option<String> {
    match p {
        Predicate::Compare { .. } | Predicate::AgeAtLeast { .. } => None,
        Predicate::Sum { terms, .. } if terms.len() > MAX_TERMS => Some(format!(
            "predicate `{}` has {} terms; the sum circuit takes at most {MAX_TERMS}",
            p.describe(),
            terms.len()
        )),
        Predicate::Sum { .. } | Predicate::Member { .. } => None,
        _ => Some(format!(
            "predicate `{}` needs circuit `{}`, which this build does not include",
            p.describe(),
            p.circuit()
        )),
    }
}

/// The fields committed on BN254: every field a predicate names (except the
/// public date of an age predicate).
pub fn bn254_fields(plan: &Plan) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    for p in &plan.predicates {
        match p {
            Predicate::Compare { left, right, .. } => {
                out.insert(left.as_str());
                out.insert(right.as_str());
            }
            Predicate::Sum { terms, total } => {
                out.extend(terms.iter().map(String::as_str));
                out.insert(total.as_str());
            }
            Predicate::Member { field, .. } => {
                out.insert(field.as_str());
            }
            Predicate::AgeAtLeast { birth, .. } => {
                out.insert(birth.as_str());
            }
            _ => {}
        }
    }
    out
}

/// The fields a set predicate (`in`, `not in`) names: committed on BN254 as
/// their set element ([`crate::sets::element`] of the value as text).
pub fn set_fields(plan: &Plan) -> BTreeSet<&str> {
    plan.predicates
        .iter()
        .filter_map(|p| match p {
            Predicate::Member { field, .. } => Some(field.as_str()),
            _ => None,
        })
        .collect()
}

/// What opens the BN254 commitment of a set field: the value and the
/// blinding; the committed integer is the value's set element. Bytes:
/// blinding (32, big-endian, canonical) ‖ the value's canonical bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SetOpening {
    pub value: Value,
    pub blinding: Fr,
}

impl std::fmt::Debug for SetOpening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetOpening(..)")
    }
}

impl SetOpening {
    pub fn random(value: Value, rng: &mut dyn RngCoreCrypto) -> Self {
        SetOpening {
            value,
            blinding: Fr::rand(&mut DynRng(rng)),
        }
    }

    /// The committed element.
    pub fn element(&self) -> Fr {
        crate::sets::element(&self.value.display())
    }

    pub fn commitment(&self) -> Fr {
        veilgate_circuits::groth16::commit(self.element(), self.blinding)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = to_bytes(&self.blinding).to_vec();
        out.extend_from_slice(&self.value.encode());
        out
    }

    pub fn from_bytes(ty: &FieldType, bytes: &[u8]) -> Option<Self> {
        let (blinding, value) = bytes.split_first_chunk::<32>()?;
        Some(SetOpening {
            value: Value::decode(ty, value)?,
            blinding: field_from_canonical(blinding)?,
        })
    }
}

/// `YYYYMMDD` of a `YYYY-MM-DD` date.
pub(crate) fn yyyymmdd(date: &str) -> Option<u32> {
    let digits: String = date.chars().filter(|c| *c != '-').collect();
    (date.len() == 10 && digits.len() == 8)
        .then(|| digits.parse().ok())
        .flatten()
}

/// The integer committed on BN254 for a value: integers and minor units as
/// they are (they must not be negative), dates as `YYYYMMDD`.
pub fn bn254_integer(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::Amount { minor, .. } => u64::try_from(*minor).ok(),
        Value::Date(d) => yyyymmdd(d).map(u64::from),
        _ => None,
    }
}

/// The value a recipient reads back from a BN254 opening.
pub fn value_from_bn254(ty: &FieldType, x: u64) -> Option<Value> {
    match ty {
        FieldType::Amount { scale } => Some(Value::Amount {
            minor: i64::try_from(x).ok()?,
            scale: *scale,
        }),
        FieldType::Integer => Some(Value::Int(i64::try_from(x).ok()?)),
        FieldType::Date => {
            let (y, m, d) = (x / 10_000, x / 100 % 100, x % 100);
            let s = format!("{y:04}-{m:02}-{d:02}");
            veilgate_policies::record::days_from_civil(&s).map(|_| Value::Date(s))
        }
        _ => None,
    }
}

/// What opens a BN254 commitment: the integer and the blinding. 40 bytes:
/// `u64` big-endian ‖ blinding as 32 big-endian bytes (canonical, `< p`).
#[derive(Clone, PartialEq, Eq)]
pub struct Bn254Opening {
    pub value: u64,
    pub blinding: Fr,
}

impl std::fmt::Debug for Bn254Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bn254Opening(..)")
    }
}

impl Bn254Opening {
    pub fn random(value: u64, rng: &mut dyn RngCoreCrypto) -> Self {
        Bn254Opening {
            value,
            blinding: Fr::rand(&mut DynRng(rng)),
        }
    }

    pub fn commitment(&self) -> Fr {
        veilgate_circuits::groth16::commit(Fr::from(self.value), self.blinding)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        out.extend_from_slice(&self.value.to_be_bytes());
        out.extend_from_slice(&to_bytes(&self.blinding));
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (value, blinding) = bytes.split_first_chunk::<8>()?;
        let blinding = field_from_canonical(blinding)?;
        Some(Bn254Opening {
            value: u64::from_be_bytes(*value),
            blinding,
        })
    }
}

/// A field element from exactly 32 canonical big-endian bytes.
pub fn field_from_canonical(bytes: &[u8]) -> Option<Fr> {
    let x = leaf_from_bytes(bytes);
    (bytes.len() == 32 && to_bytes(&x) == bytes).then_some(x)
}

/// The circuit tag of a predicate.
pub fn circuit_tag(p: &Predicate) -> u8 {
    match p {
        Predicate::Compare { .. } => CIRCUIT_COMPARE,
        Predicate::Sum { .. } => CIRCUIT_SUM,
        Predicate::Member { negated: false, .. } => CIRCUIT_MEMBERSHIP,
        Predicate::Member { negated: true, .. } => CIRCUIT_NON_MEMBERSHIP,
        // Unsupported predicates never reach sealing or proof checking.
        _ => CIRCUIT_DATE_THRESHOLD,
    }
}

/// `(a, b, strict)` pairs meaning `a (<|≤) b` that together state `left op right`.
pub(crate) fn comparisons<'p>(
    left: &'p str,
    op: CmpOp,
    right: &'p str,
) -> Vec<(&'p str, &'p str, bool)> {
    match op {
        CmpOp::Le => vec![(left, right, false)],
        CmpOp::Lt => vec![(left, right, true)],
        CmpOp::Ge => vec![(right, left, false)],
        CmpOp::Gt => vec![(right, left, true)],
        CmpOp::Eq => vec![(left, right, false), (right, left, false)],
    }
}
