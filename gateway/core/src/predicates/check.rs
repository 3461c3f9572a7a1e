//! Verify's side: the Groth16 statements an envelope makes, rebuilt from its
//! commitments and public fields and the plan's constants, each holding the
//! keys it is checked under; checked one by one or in one pairing equation
//! per key.

use std::collections::BTreeMap;

use ark_bn254::Fr;
use veilgate_circuits::groth16::proof_from_bytes;
use veilgate_policies::{FieldType, Plan, Predicate, Value};

use super::keys::{Circuit, CircuitKeys, KeyRing};
use super::{circuit_tag, comparisons, field_from_canonical, yyyymmdd};
use crate::envelope::{Envelope, FieldBody};
use crate::sets::SetBook;
use crate::suite::{DynRng, RngCoreCrypto};

/// One Groth16 proof to check: its key, public inputs and proof, and the
/// predicate it belongs to (as the policy writes it, for the rejection).
#[derive(Clone)]
pub struct Groth16Check {
    pub what: String,
    key: CircuitKeys,
    key_id: [u8; 32],
    inputs: Vec<Fr>,
    proof: ark_groth16::Proof<ark_bn254::Bn254>,
}

impl Groth16Check {
    /// The verifying key's id: checks under one key can be batched.
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    pub fn verify(&self) -> bool {
        match &self.key {
            CircuitKeys::Compare(k) => k.verify(&self.inputs, &self.proof).is_ok(),
            CircuitKeys::DateThreshold(k) => k.verify(&self.inputs, &self.proof).is_ok(),
            CircuitKeys::Sum(k) => k.verify(&self.inputs, &self.proof).is_ok(),
            CircuitKeys::Membership(k) => k.verify(&self.inputs, &self.proof).is_ok(),
            CircuitKeys::NonMembership(k) => k.verify(&self.inputs, &self.proof).is_ok(),
        }
    }
}

/// Checks Groth16 statements that share one key (see
/// [`Groth16Check::key_id`]) with one batched pairing equation. `false` if
/// any is false (or the keys differ): check them one by one to find which.
pub fn verify_batch(checks: &[&Groth16Check], rng: &mut dyn RngCoreCrypto) -> bool {
    let Some(first) = checks.first() else {
        return true;
    };
    if checks.iter().any(|c| c.key_id != first.key_id) {
        return false;
    }
    let batch: Vec<_> = checks
        .iter()
        .map(|c| (c.inputs.as_slice(), &c.proof))
        .collect();
    let mut rng = DynRng(rng);
    match &first.key {
        CircuitKeys::Compare(k) => k.verify_batch(&batch, &mut rng).is_ok(),
        CircuitKeys::DateThreshold(k) => k.verify_batch(&batch, &mut rng).is_ok(),
        CircuitKeys::Sum(k) => k.verify_batch(&batch, &mut rng).is_ok(),
        CircuitKeys::Membership(k) => k.verify_batch(&batch, &mut rng).is_ok(),
        CircuitKeys::NonMembership(k) => k.verify_batch(&batch, &mut rng).is_ok(),
    }
}

/// Why an envelope's predicate section does not yield statements to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// A proof made under a key this peer does not trust for its circuit
    /// (another setup, a development key, a forged key).
    #[error(
        "the proof of `{predicate}` is under verifying key {}, which this peer does not trust",
        hex::encode(key_id)
    )]
    UnknownKey { predicate: String, key_id: [u8; 32] },
    /// A proof under another key than the one the policy pins for its
    /// circuit (even one this peer holds: an older ceremony's, say).
    #[error(
        "the proof of `{predicate}` is under verifying key {}; the policy pins {}",
        hex::encode(key_id),
        hex::encode(pinned)
    )]
    UnpinnedKey {
        predicate: String,
        key_id: [u8; 32],
        pinned: [u8; 32],
    },
    /// The section does not match the plan, or a proof or commitment is
    /// malformed; names the predicate or field.
    #[error("{0}")]
    Invalid(String),
    /// A set predicate's proof names a set version this peer holds no root
    /// for, or one that was not in force at the envelope's time.
    #[error("{0}")]
    Set(String),
}

impl From<String> for StatementError {
    fn from(s: String) -> Self {
        StatementError::Invalid(s)
    }
}

/// The Groth16 statements an envelope's predicate section makes, with their
/// public inputs rebuilt from the envelope (commitments, public fields) and
/// the plan (constants) — everything but the pairing checks themselves.
/// `Err` names the predicate, or why the section does not match the plan.
pub fn statements(
    plan: &Plan,
    env: &Envelope,
    ring: &KeyRing,
    sets: &SetBook,
) -> Result<Vec<Groth16Check>, StatementError> {
    if env.predicates.len() != plan.predicates.len() {
        return Err(StatementError::Invalid(format!(
            "{} predicate proofs, the policy states {}",
            env.predicates.len(),
            plan.predicates.len()
        )));
    }
    // Commitments and public values by field name.
    let mut commitments: BTreeMap<&str, Fr> = BTreeMap::new();
    let mut publics: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for f in &env.fields {
        match &f.body {
            FieldBody::Bn254Committed(c) => {
                let c = field_from_canonical(c)
                    .ok_or_else(|| format!("commitment of `{}` is not a field element", f.name))?;
                commitments.insert(&f.name, c);
            }
            FieldBody::Public(v) => {
                publics.insert(&f.name, v);
            }
            _ => {}
        }
    }
    let commitment = |name: &str| {
        commitments
            .get(name)
            .copied()
            .ok_or_else(|| format!("field `{name}` has no BN254 commitment"))
    };
    let mut out = Vec::new();
    for (p, entry) in plan.predicates.iter().zip(&env.predicates) {
        let what = p.describe();
        if entry.circuit != circuit_tag(p) {
            return Err(StatementError::Invalid(format!(
                "the proof of `{what}` is for another circuit"
            )));
        }
        let set_root = match p {
            Predicate::Member { set, .. } => {
                Some(set_root(sets, set, entry.set_version, env, &what)?)
            }
            _ => None,
        };
        let circuit = Circuit::of(p);
        if let Some(pinned) = circuit.and_then(|c| plan.keys.get(&c.id())) {
            if *pinned != entry.key_id {
                return Err(StatementError::UnpinnedKey {
                    predicate: what,
                    key_id: entry.key_id,
                    pinned: *pinned,
                });
            }
        }
        let key = circuit
            .and_then(|c| ring.by_id(c, entry.key_id))
            .ok_or_else(|| StatementError::UnknownKey {
                predicate: what.clone(),
                key_id: entry.key_id,
            })?;
        let proofs: Vec<_> = entry
            .proofs
            .iter()
            .map(|b| proof_from_bytes(b))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("the proof of `{what}` is not a valid Groth16 proof encoding"))?;
        let inputs: Vec<Vec<Fr>> = match p {
            Predicate::Compare { left, op, right } => {
                let mut inputs = Vec::new();
                for (a, b, strict) in comparisons(left, *op, right) {
                    inputs.push(vec![
                        commitment(a)?,
                        commitment(b)?,
                        Fr::from(u64::from(strict)),
                    ]);
                }
                inputs
            }
            Predicate::Sum { terms, total } => {
                let mut inputs = Vec::with_capacity(terms.len() + 1);
                for t in terms {
                    inputs.push(commitment(t)?);
                }
                inputs.push(commitment(total)?);
                vec![inputs]
            }
            Predicate::AgeAtLeast { birth, at, years } => {
                let at_date = publics
                    .get(at.as_str())
                    .and_then(|b| Value::decode(&FieldType::Date, b))
                    .and_then(|v| match v {
                        Value::Date(d) => yyyymmdd(&d),
                        _ => None,
                    })
                    .ok_or_else(|| format!("public date `{at}` is missing"))?;
                let inputs = vec![
                    commitment(birth)?,
                    Fr::from(at_date),
                    Fr::from(u64::from(*years)),
                ];
                vec![inputs]
            }
            Predicate::Member { field, .. } => match set_root {
                Some(root) => vec![vec![root, commitment(field)?]],
                None => return Err(StatementError::Invalid(format!("`{what}`: no set root"))),
            },
            _ => {
                return Err(StatementError::Invalid(format!(
                    "the proof of `{what}` does not verify"
                )))
            }
        };
        if inputs.len() != proofs.len() {
            return Err(StatementError::Invalid(format!(
                "`{what}` needs {} proofs",
                inputs.len()
            )));
        }
        for (inputs, proof) in inputs.into_iter().zip(proofs) {
            out.push(Groth16Check {
                what: what.clone(),
                key: key.clone(),
                key_id: entry.key_id,
                inputs,
                proof,
            });
        }
    }
    Ok(out)
}

/// The root a set predicate's proof is checked against: the version its
/// entry names, which must be the one in force at the envelope's time in this
/// peer's book (an older one is stale; a newer one was not yet in force).
fn set_root(
    sets: &SetBook,
    set: &str,
    named: Option<u32>,
    env: &Envelope,
    what: &str,
) -> Result<Fr, StatementError> {
    let named = named.ok_or_else(|| format!("the proof of `{what}` names no set version"))?;
    let root = sets.get(set, named).ok_or_else(|| {
        StatementError::Set(format!(
            "the proof of `{what}` is against set `{set}` version {named}, whose root this peer has not seen on the ledger"
        ))
    })?;
    let in_force = sets.in_force(set, env.timestamp_ms).map(|r| r.version);
    if in_force != Some(named) {
        return Err(StatementError::Set(format!(
            "the proof of `{what}` is against set `{set}` version {named}; version {} was in force at the envelope's time",
            in_force.map_or("none".to_owned(), |v| v.to_string())
        )));
    }
    field_from_canonical(&root.root)
        .ok_or_else(|| StatementError::Invalid(format!("set `{set}` root is not a field element")))
}
