//! Seal's side: a proof for every predicate of a plan, under the ring's keys.

use std::collections::BTreeMap;

use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::proof_to_bytes;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_policies::{Plan, Predicate, Value};

use super::keys::{Circuit, CircuitKeys, KeyRing};
use super::{
    circuit_tag, comparisons, field_from_canonical, unsupported_predicate, yyyymmdd, Bn254Opening,
    SetOpening,
};
use crate::envelope::PredicateProof;
use crate::sets::SetBook;
use crate::suite::{DynRng, RngCoreCrypto};

/// Why sealing a predicate failed.
#[derive(Debug)]
pub enum ProveError {
    /// The record does not satisfy the predicate (describe() of it).
    False(String),
    /// A field it needs is missing or of the wrong kind, or keys are missing.
    Internal(String),
    /// No root of the set is in force, or this party holds no contents for it.
    Set(String),
}

/// What the predicates are proven about: the openings of the BN254
/// commitments (by field name), the record's public values (for the dates of
/// age predicates), and the set roots and contents in force at `time_ms`.
pub struct Witness<'a> {
    pub openings: &'a BTreeMap<String, Bn254Opening>,
    pub set_openings: &'a BTreeMap<String, SetOpening>,
    pub public_value: &'a dyn Fn(&str) -> Option<Value>,
    pub sets: &'a SetBook,
    pub time_ms: u64,
}

/// Proves every predicate of `plan` about the witness.
pub fn prove_all(
    plan: &Plan,
    witness: &Witness<'_>,
    ring: &KeyRing,
    rng: &mut dyn RngCoreCrypto,
) -> Result<Vec<PredicateProof>, ProveError> {
    let (openings, public_value) = (witness.openings, witness.public_value);
    let mut out = Vec::with_capacity(plan.predicates.len());
    for p in &plan.predicates {
        let what = p.describe();
        let get = |name: &str| {
            openings
                .get(name)
                .ok_or_else(|| ProveError::Internal(format!("no opening for `{name}`")))
        };
        let key = |c: Circuit| {
            ring.for_plan(plan, c)
                .map_err(|e| ProveError::Internal(e.to_string()))
        };
        let false_claim = |e: veilgate_circuits::groth16::Groth16Error| match e {
            veilgate_circuits::groth16::Groth16Error::Unsatisfied => {
                ProveError::False(what.clone())
            }
            other => ProveError::Internal(other.to_string()),
        };
        let mut set_version = None;
        let (key_id, proofs) = match p {
            Predicate::Compare { left, op, right } => {
                let CircuitKeys::Compare(keys) = key(Circuit::Compare)? else {
                    return Err(ProveError::Internal("compare keys".into()));
                };
                let mut proofs = Vec::new();
                for (a, b, strict) in comparisons(left, *op, right) {
                    let (oa, ob) = (get(a)?, get(b)?);
                    let mut st = CompareCircuit::new(oa.value, oa.blinding, ob.value, ob.blinding);
                    if strict {
                        st = st.strict();
                    }
                    let proof = keys.prove(st, &mut DynRng(rng)).map_err(false_claim)?;
                    proofs.push(proof_to_bytes(&proof));
                }
                (keys.id(), proofs)
            }
            Predicate::Sum { terms, total } => {
                let CircuitKeys::Sum(keys) = key(Circuit::Sum(terms.len()))? else {
                    return Err(ProveError::Internal("sum keys".into()));
                };
                let mut t = Vec::with_capacity(terms.len());
                for name in terms {
                    let o = get(name)?;
                    t.push((o.value, o.blinding));
                }
                let ot = get(total)?;
                let mut st = SumCircuit::new(&t, ot.blinding)
                    .ok_or_else(|| ProveError::Internal("sum arity".into()))?;
                // The statement is about the committed total: prove against it.
                st.total_commitment = ot.commitment();
                let proof = keys.prove(st, &mut DynRng(rng)).map_err(false_claim)?;
                (keys.id(), vec![proof_to_bytes(&proof)])
            }
            Predicate::AgeAtLeast { birth, at, years } => {
                let ob = get(birth)?;
                let at_date = match public_value(at) {
                    Some(Value::Date(d)) => yyyymmdd(&d),
                    _ => None,
                }
                .ok_or_else(|| ProveError::Internal(format!("public date `{at}`")))?;
                let birth_date = u32::try_from(ob.value)
                    .map_err(|_| ProveError::Internal(format!("date `{birth}`")))?;
                let years =
                    u16::try_from(*years).map_err(|_| ProveError::Internal("years".into()))?;
                let CircuitKeys::DateThreshold(keys) = key(Circuit::DateThreshold)? else {
                    return Err(ProveError::Internal("date keys".into()));
                };
                let st = DateThresholdCircuit::new(birth_date, ob.blinding, at_date, years);
                let proof = keys.prove(st, &mut DynRng(rng)).map_err(false_claim)?;
                (keys.id(), vec![proof_to_bytes(&proof)])
            }
            Predicate::Member {
                field,
                set,
                negated,
            } => {
                let o = witness
                    .set_openings
                    .get(field)
                    .ok_or_else(|| ProveError::Internal(format!("no opening for `{field}`")))?;
                let root = witness.sets.in_force(set, witness.time_ms).ok_or_else(|| {
                    ProveError::Set(format!(
                        "no root of set `{set}` is in force on this ledger at {} ms (`{what}`)",
                        witness.time_ms
                    ))
                })?;
                let contents = witness.sets.contents(set, root.version).ok_or_else(|| {
                    ProveError::Set(format!(
                        "this gateway holds no contents for set `{set}` version {} (`{what}`)",
                        root.version
                    ))
                })?;
                let root_fr = field_from_canonical(&root.root)
                    .ok_or_else(|| ProveError::Internal("set root".into()))?;
                set_version = Some(root.version);
                let x = o.element();
                let proof = if *negated {
                    let gap = contents
                        .tree
                        .prove_absent(x)
                        .map_err(|_| ProveError::False(what.clone()))?;
                    let CircuitKeys::NonMembership(keys) = key(Circuit::NonMembership)? else {
                        return Err(ProveError::Internal("non-membership keys".into()));
                    };
                    let st = NonMembershipCircuit::new(root_fr, x, o.blinding, &gap);
                    (
                        keys.id(),
                        keys.prove(st, &mut DynRng(rng)).map_err(false_claim)?,
                    )
                } else {
                    let path = contents
                        .tree
                        .prove_member(x)
                        .map_err(|_| ProveError::False(what.clone()))?;
                    let CircuitKeys::Membership(keys) = key(Circuit::Membership)? else {
                        return Err(ProveError::Internal("membership keys".into()));
                    };
                    let st = MembershipCircuit::new(root_fr, x, o.blinding, &path);
                    (
                        keys.id(),
                        keys.prove(st, &mut DynRng(rng)).map_err(false_claim)?,
                    )
                };
                (proof.0, vec![proof_to_bytes(&proof.1)])
            }
            _ => {
                return Err(ProveError::Internal(
                    unsupported_predicate(p).unwrap_or_default(),
                ))
            }
        };
        out.push(PredicateProof {
            circuit: circuit_tag(p),
            key_id,
            set_version,
            proofs,
        });
    }
    Ok(out)
}
