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
//! Keys: [`KeyRing::development`] — deterministic development keys, built
//! once per process. Anyone can forge proofs under them (see
//! `docs/notes-groth16.md`, "Setup and trust"); loading ceremony keys by id is
//! not built yet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, OnceLock};

use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::sum::{SumCircuit, MAX_TERMS};
use veilgate_circuits::groth16::{proof_from_bytes, proof_to_bytes, Keys};
use veilgate_circuits::merkle::{leaf_from_bytes, to_bytes};
use veilgate_policies::{CmpOp, FieldType, Plan, Predicate, Value};

use ark_bn254::Fr;
use ark_ff::UniformRand;

use crate::envelope::{Envelope, FieldBody, PredicateProof};
use crate::suite::{DynRng, RngCoreCrypto};

/// Circuit tags in the envelope's predicate section.
pub const CIRCUIT_COMPARE: u8 = 1;
pub const CIRCUIT_SUM: u8 = 2;
pub const CIRCUIT_DATE_THRESHOLD: u8 = 3;

/// Why a predicate is not sealed or verified by this build, if it is not.
pub fn unsupported_predicate(p: &Predicate) -> Option<String> {
    match p {
        Predicate::Compare { .. } | Predicate::AgeAtLeast { .. } => None,
        Predicate::Sum { terms, .. } if terms.len() > MAX_TERMS => Some(format!(
            "predicate `{}` has {} terms; the sum circuit takes at most {MAX_TERMS}",
            p.describe(),
            terms.len()
        )),
        Predicate::Sum { .. } => None,
        Predicate::Member { .. } => Some(format!(
            "predicate `{}` needs the set's Merkle root on the ledger, which this build does not publish yet",
            p.describe()
        )),
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

/// `YYYYMMDD` of a `YYYY-MM-DD` date.
fn yyyymmdd(date: &str) -> Option<u32> {
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

/// Keys for every circuit the envelope uses, built once and shared.
pub struct KeyRing {
    compare: Keys<CompareCircuit>,
    date: Keys<DateThresholdCircuit>,
    sums: Mutex<BTreeMap<usize, Arc<Keys<SumCircuit>>>>,
}

impl KeyRing {
    /// The development keys (deterministic from each circuit id), built on
    /// first use — a fraction of a second — and never per proof. `None` only
    /// if key generation failed, which it does not for these fixed shapes.
    pub fn development() -> Option<&'static KeyRing> {
        static RING: OnceLock<Option<KeyRing>> = OnceLock::new();
        RING.get_or_init(|| {
            Some(KeyRing {
                compare: Keys::dev_setup(&CompareCircuit::shape()).ok()?,
                date: Keys::dev_setup(&DateThresholdCircuit::shape()).ok()?,
                sums: Mutex::new(BTreeMap::new()),
            })
        })
        .as_ref()
    }

    fn sum(&self, terms: usize) -> Option<Arc<Keys<SumCircuit>>> {
        let mut map = self.sums.lock().ok()?;
        if let Some(k) = map.get(&terms) {
            return Some(k.clone());
        }
        let keys = Arc::new(Keys::dev_setup(&SumCircuit::shape(terms)).ok()?);
        map.insert(terms, keys.clone());
        Some(keys)
    }

    /// The key id this ring holds for a predicate's circuit.
    pub fn key_id(&self, p: &Predicate) -> Option<[u8; 32]> {
        match p {
            Predicate::Compare { .. } => Some(self.compare.id()),
            Predicate::Sum { terms, .. } => self.sum(terms.len()).map(|k| k.id()),
            Predicate::AgeAtLeast { .. } => Some(self.date.id()),
            _ => None,
        }
    }
}

/// The circuit tag of a predicate.
pub fn circuit_tag(p: &Predicate) -> u8 {
    match p {
        Predicate::Compare { .. } => CIRCUIT_COMPARE,
        Predicate::Sum { .. } => CIRCUIT_SUM,
        // Unsupported predicates never reach sealing or proof checking.
        _ => CIRCUIT_DATE_THRESHOLD,
    }
}

/// `(a, b, strict)` pairs meaning `a (<|≤) b` that together state `left op right`.
fn comparisons<'p>(left: &'p str, op: CmpOp, right: &'p str) -> Vec<(&'p str, &'p str, bool)> {
    match op {
        CmpOp::Le => vec![(left, right, false)],
        CmpOp::Lt => vec![(left, right, true)],
        CmpOp::Ge => vec![(right, left, false)],
        CmpOp::Gt => vec![(right, left, true)],
        CmpOp::Eq => vec![(left, right, false), (right, left, false)],
    }
}

/// Why sealing a predicate failed.
#[derive(Debug)]
pub enum ProveError {
    /// The record does not satisfy the predicate (describe() of it).
    False(String),
    /// A field it needs is missing or of the wrong kind, or keys are missing.
    Internal(String),
}

/// Proves every predicate of `plan` about `openings` (by field name), with the
/// record's public values for dates named by age predicates.
pub fn prove_all(
    plan: &Plan,
    openings: &BTreeMap<String, Bn254Opening>,
    public_value: &dyn Fn(&str) -> Option<Value>,
    ring: &KeyRing,
    rng: &mut dyn RngCoreCrypto,
) -> Result<Vec<PredicateProof>, ProveError> {
    let mut out = Vec::with_capacity(plan.predicates.len());
    for p in &plan.predicates {
        let what = p.describe();
        let get = |name: &str| {
            openings
                .get(name)
                .ok_or_else(|| ProveError::Internal(format!("no opening for `{name}`")))
        };
        let false_claim = |e: veilgate_circuits::groth16::Groth16Error| match e {
            veilgate_circuits::groth16::Groth16Error::Unsatisfied => {
                ProveError::False(what.clone())
            }
            other => ProveError::Internal(other.to_string()),
        };
        let (key_id, proofs) = match p {
            Predicate::Compare { left, op, right } => {
                let mut proofs = Vec::new();
                for (a, b, strict) in comparisons(left, *op, right) {
                    let (oa, ob) = (get(a)?, get(b)?);
                    let mut st = CompareCircuit::new(oa.value, oa.blinding, ob.value, ob.blinding);
                    if strict {
                        st = st.strict();
                    }
                    let proof = ring
                        .compare
                        .prove(st, &mut DynRng(rng))
                        .map_err(false_claim)?;
                    proofs.push(proof_to_bytes(&proof));
                }
                (ring.compare.id(), proofs)
            }
            Predicate::Sum { terms, total } => {
                let keys = ring
                    .sum(terms.len())
                    .ok_or_else(|| ProveError::Internal("sum keys".into()))?;
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
                let st = DateThresholdCircuit::new(birth_date, ob.blinding, at_date, years);
                let proof = ring.date.prove(st, &mut DynRng(rng)).map_err(false_claim)?;
                (ring.date.id(), vec![proof_to_bytes(&proof)])
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
            proofs,
        });
    }
    Ok(out)
}

/// The key a Groth16 statement is checked under.
#[derive(Clone)]
enum CheckKey {
    Compare,
    Date,
    Sum(Arc<Keys<SumCircuit>>),
}

/// One Groth16 proof to check: its key, public inputs and proof, and the
/// predicate it belongs to (as the policy writes it, for the rejection).
#[derive(Clone)]
pub struct Groth16Check {
    pub what: String,
    key: CheckKey,
    key_id: [u8; 32],
    inputs: Vec<Fr>,
    proof: ark_groth16::Proof<ark_bn254::Bn254>,
}

impl Groth16Check {
    /// The verifying key's id: checks under one key can be batched.
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    pub fn verify(&self, ring: &KeyRing) -> bool {
        match &self.key {
            CheckKey::Compare => ring.compare.verify(&self.inputs, &self.proof).is_ok(),
            CheckKey::Date => ring.date.verify(&self.inputs, &self.proof).is_ok(),
            CheckKey::Sum(k) => k.verify(&self.inputs, &self.proof).is_ok(),
        }
    }
}

/// Checks Groth16 statements that share one key (see
/// [`Groth16Check::key_id`]) with one batched pairing equation. `false` if
/// any is false (or the keys differ): check them one by one to find which.
pub fn verify_batch(checks: &[&Groth16Check], ring: &KeyRing, rng: &mut dyn RngCoreCrypto) -> bool {
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
        CheckKey::Compare => ring.compare.verify_batch(&batch, &mut rng).is_ok(),
        CheckKey::Date => ring.date.verify_batch(&batch, &mut rng).is_ok(),
        CheckKey::Sum(k) => k.verify_batch(&batch, &mut rng).is_ok(),
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
) -> Result<Vec<Groth16Check>, String> {
    if env.predicates.len() != plan.predicates.len() {
        return Err(format!(
            "{} predicate proofs, the policy states {}",
            env.predicates.len(),
            plan.predicates.len()
        ));
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
            return Err(format!("the proof of `{what}` is for another circuit"));
        }
        if ring.key_id(p) != Some(entry.key_id) {
            return Err(format!(
                "the proof of `{what}` is under a verifying key this peer does not hold"
            ));
        }
        let proofs: Vec<_> = entry
            .proofs
            .iter()
            .map(|b| proof_from_bytes(b))
            .collect::<Result<_, _>>()
            .map_err(|_| format!("the proof of `{what}` is not a valid Groth16 proof encoding"))?;
        let (key, inputs): (CheckKey, Vec<Vec<Fr>>) = match p {
            Predicate::Compare { left, op, right } => {
                let mut inputs = Vec::new();
                for (a, b, strict) in comparisons(left, *op, right) {
                    inputs.push(vec![
                        commitment(a)?,
                        commitment(b)?,
                        Fr::from(u64::from(strict)),
                    ]);
                }
                (CheckKey::Compare, inputs)
            }
            Predicate::Sum { terms, total } => {
                let keys = ring.sum(terms.len()).ok_or("sum keys")?;
                let mut inputs = Vec::with_capacity(terms.len() + 1);
                for t in terms {
                    inputs.push(commitment(t)?);
                }
                inputs.push(commitment(total)?);
                (CheckKey::Sum(keys), vec![inputs])
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
                (CheckKey::Date, vec![inputs])
            }
            _ => return Err(format!("the proof of `{what}` does not verify")),
        };
        if inputs.len() != proofs.len() {
            return Err(format!("`{what}` needs {} proofs", inputs.len()));
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

/// Where one public input of an on-chain check comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainInput {
    /// The BN254 commitment (kind 5) of the envelope's field at this position.
    Commitment(u16),
    /// A constant of the policy (a strictness bit, a number of years).
    Constant(u64),
    /// The public date (kind 0) of the envelope's field at this position, as `YYYYMMDD`.
    PublicDate(u16),
}

/// One predicate as a registry contract checks it: the circuit (by id and
/// key id, which select the deployed verifier) and, for each of its proofs,
/// where the public inputs come from in the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    pub circuit_id: String,
    pub key_id: [u8; 32],
    pub proofs: Vec<Vec<ChainInput>>,
}

impl KeyRing {
    /// The verifying key of a predicate's circuit (to generate its on-chain verifier).
    pub fn verifying_key(
        &self,
        p: &Predicate,
    ) -> Option<(
        String,
        [u8; 32],
        ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    )> {
        fn of<S: veilgate_circuits::groth16::Statement>(
            k: &Keys<S>,
        ) -> (
            String,
            [u8; 32],
            ark_groth16::VerifyingKey<ark_bn254::Bn254>,
        ) {
            (k.circuit_id().to_owned(), k.id(), k.verifying_key().clone())
        }
        match p {
            Predicate::Compare { .. } => Some(of(&self.compare)),
            Predicate::Sum { terms, .. } => self.sum(terms.len()).map(|k| of(&k)),
            Predicate::AgeAtLeast { .. } => Some(of(&self.date)),
            _ => None,
        }
    }
}

/// The checks a registry contract runs for envelopes of `plan` — the same
/// statements [`verify_all`] checks, with inputs named by field position
/// (the envelope's fields are the plan's non-dropped fields in order).
pub fn chain_checks(plan: &Plan, ring: &KeyRing) -> Result<Vec<ChainCheck>, String> {
    let position = |name: &str| -> Result<u16, String> {
        plan.fields
            .iter()
            .filter(|f| f.disclosure != veilgate_policies::Disclosure::Drop)
            .position(|f| f.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| format!("field `{name}` is not in the envelope"))
    };
    let commitment = |name: &str| position(name).map(ChainInput::Commitment);
    let mut out = Vec::with_capacity(plan.predicates.len());
    for p in &plan.predicates {
        let proofs = match p {
            Predicate::Compare { left, op, right } => comparisons(left, *op, right)
                .into_iter()
                .map(|(a, b, strict)| {
                    Ok(vec![
                        commitment(a)?,
                        commitment(b)?,
                        ChainInput::Constant(u64::from(strict)),
                    ])
                })
                .collect::<Result<Vec<_>, String>>()?,
            Predicate::Sum { terms, total } => {
                let mut inputs = terms
                    .iter()
                    .map(|t| commitment(t))
                    .collect::<Result<Vec<_>, String>>()?;
                inputs.push(commitment(total)?);
                vec![inputs]
            }
            Predicate::AgeAtLeast { birth, at, years } => vec![vec![
                commitment(birth)?,
                ChainInput::PublicDate(position(at)?),
                ChainInput::Constant(u64::from(*years)),
            ]],
            other => {
                return Err(format!(
                    "`{}` cannot be verified on chain by this build",
                    other.describe()
                ))
            }
        };
        let (circuit_id, key_id, _) = ring
            .verifying_key(p)
            .ok_or_else(|| format!("no key for `{}`", p.describe()))?;
        out.push(ChainCheck {
            circuit_id,
            key_id,
            proofs,
        });
    }
    Ok(out)
}

/// The envelope's Groth16 proofs in the EVM's word order (EIP-197:
/// `A.x A.y B.x1 B.x0 B.y1 B.y0 C.x C.y`), 8 words each, in predicate order.
pub fn proofs_for_chain(env: &Envelope) -> Result<Vec<[u8; 32]>, String> {
    let mut out = Vec::new();
    for entry in &env.predicates {
        for b in &entry.proofs {
            let proof =
                proof_from_bytes(b).map_err(|_| "a proof is not a valid Groth16 encoding")?;
            out.extend(veilgate_circuits::groth16::evm::proof_words(&proof));
        }
    }
    Ok(out)
}
