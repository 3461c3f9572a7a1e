//! verify: envelope bytes + the policies and members a peer trusts → an
//! [`VerifiedEnvelope`], or the precise reason for rejection. Needs no
//! plaintext and no secret key.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use veilgate_circuits::range::AggregateRange;
use veilgate_circuits::{Commitment, RangeProof, RangeStatement};
use veilgate_policies::{Disclosure, FieldType, Generalization, Plan, Value};

use crate::bind;
use crate::envelope::{DecodeError, Envelope, FieldBody};
use crate::keys::{LedgerDirectory, MemberKey, MemberKeys};
use crate::predicates;
use crate::ranges;
use crate::seal::resolve_roles;
use crate::suite::{DynRng, RngCoreCrypto};
use crate::trust::Trust;

/// Why a peer rejects an envelope. Each names the field where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("malformed envelope: {0}")]
    Malformed(#[from] DecodeError),
    #[error("envelope is for ledger `{found}`, expected `{expected}`")]
    WrongLedger { expected: String, found: String },
    #[error("unknown policy hash {0}")]
    UnknownPolicy(String),
    #[error("policy id or version does not match the policy hash")]
    PolicyMismatch,
    #[error("envelope suite does not match its policy's suite")]
    SuiteMismatch,
    /// The envelope's suite is not the one its ledger admits.
    #[error(
        "envelope uses crypto suite `{found}`; ledger `{ledger}` admits only suite `{admitted}`"
    )]
    SuiteNotAdmitted {
        ledger: String,
        found: String,
        admitted: String,
    },
    #[error("submitter `{0}` is not a member of the ledger")]
    UnknownSubmitter(String),
    /// The submitter is in the directory, but was not admitted at the
    /// envelope's time (before its admission or after its removal).
    #[error("submitter `{submitter}` was not admitted to the ledger at the envelope's time ({timestamp_ms} ms)")]
    NotAdmitted {
        submitter: String,
        timestamp_ms: u64,
    },
    #[error("signature does not verify")]
    BadSignature,
    /// The signing key an envelope names (format 4) is not the submitter's,
    /// or not in force at the envelope's time.
    #[error("envelope of `{submitter}` names signing key {key_id}: {why}")]
    SigningKey {
        submitter: String,
        key_id: String,
        why: String,
    },
    /// The signing key was reported lost or compromised (a key event on the
    /// ledger) at or before the envelope's time.
    #[error("envelope of `{submitter}` is signed with key {key_id}, frozen since {frozen_from_ms} ms (the envelope's time is {timestamp_ms} ms)")]
    KeyFrozen {
        submitter: String,
        key_id: String,
        frozen_from_ms: u64,
        timestamp_ms: u64,
    },
    /// A data key is wrapped (format 4) to a key that is not the
    /// recipient's, of another KEM, or not in force at the envelope's time.
    #[error("the data key of `{recipient}` is wrapped to key {key_id}: {why}")]
    RecipientKey {
        recipient: String,
        key_id: String,
        why: String,
    },
    #[error("envelope id is not derived from ledger, submitter and idempotency key")]
    BadEnvelopeId,
    #[error("shape does not match the policy: {0}")]
    Shape(String),
    #[error("proof for field `{0}` does not verify")]
    ProofFailed(String),
    /// A predicate's proof is missing, malformed or false.
    #[error("predicate proof rejected: {0}")]
    PredicateFailed(String),
    /// A predicate's proof was made under a verifying key this peer does
    /// not trust for its circuit (another setup, development keys).
    #[error("the proof of `{predicate}` is under verifying key {key_id}, which this peer does not trust")]
    UnknownKey { predicate: String, key_id: String },
    /// A predicate's proof was made under another key than the one its
    /// policy pins for the circuit.
    #[error(
        "the proof of `{predicate}` is under verifying key {key_id}; the policy pins {pinned}"
    )]
    UnpinnedKey {
        predicate: String,
        key_id: String,
        pinned: String,
    },
    #[error("{0}")]
    Unsupported(String),
    /// The policy's submitter field names another institution than the signer.
    #[error("field `{field}` names another institution than the submitter `{submitter}`")]
    NotSubmitter { field: String, submitter: String },
    /// The ledger requires `role` to see every field; the policy withholds `field`.
    #[error("the ledger requires `{role}` to see every field; the policy withholds `{field}`")]
    Withheld { role: String, field: String },
    /// A set predicate is proven against a set version that is unknown here
    /// or was not in force at the envelope's time (a stale root).
    #[error("{0}")]
    SetRoot(String),
    /// The envelope pads where its policy does not, or the reverse, or a
    /// ciphertext of a padded field is not of one of the policy's classes.
    #[error("{0}")]
    Padding(String),
    /// A pseudonym of the wrong kind or epoch for the ledger's directory.
    #[error("{0}")]
    Pseudonym(String),
}

impl Rejection {
    /// A stable machine-readable code (API responses, metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::WrongLedger { .. } => "wrong_ledger",
            Rejection::UnknownPolicy(_) => "unknown_policy",
            Rejection::PolicyMismatch => "policy_mismatch",
            Rejection::SuiteMismatch => "suite_mismatch",
            Rejection::SuiteNotAdmitted { .. } => "suite_not_admitted",
            Rejection::UnknownSubmitter(_) => "unknown_submitter",
            Rejection::NotAdmitted { .. } => "not_admitted",
            Rejection::BadSignature => "bad_signature",
            Rejection::SigningKey { .. } => "signing_key",
            Rejection::KeyFrozen { .. } => "key_frozen",
            Rejection::RecipientKey { .. } => "recipient_key",
            Rejection::BadEnvelopeId => "bad_envelope_id",
            Rejection::Shape(_) => "shape",
            Rejection::ProofFailed(_) | Rejection::PredicateFailed(_) => "proof_failed",
            Rejection::UnknownKey { .. } => "unknown_key",
            Rejection::UnpinnedKey { .. } => "unpinned_key",
            Rejection::Unsupported(_) => "unsupported",
            Rejection::NotSubmitter { .. } => "not_submitter",
            Rejection::Withheld { .. } => "withheld",
            Rejection::SetRoot(_) => "set_root",
            Rejection::Padding(_) => "padding",
            Rejection::Pseudonym(_) => "pseudonym",
        }
    }
}

/// The policies a peer accepts, by canonical hash.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    by_hash: BTreeMap<[u8; 32], Arc<Plan>>,
}

impl PolicySet {
    pub fn new(plans: impl IntoIterator<Item = Plan>) -> Self {
        let mut s = PolicySet::default();
        for p in plans {
            s.insert(p);
        }
        s
    }
    pub fn insert(&mut self, plan: Plan) {
        self.by_hash.insert(plan.hash(), Arc::new(plan));
    }
    pub fn get(&self, hash: &[u8; 32]) -> Option<&Arc<Plan>> {
        self.by_hash.get(hash)
    }
    /// The newest version of policy `id` bound to `ledger`.
    pub fn latest(&self, ledger: &str, id: &str) -> Option<&Arc<Plan>> {
        self.by_hash
            .values()
            .filter(|p| p.binds(ledger) && p.id == id)
            .max_by_key(|p| p.version)
    }
    /// Version `version` of policy `id` bound to `ledger`.
    pub fn version(&self, ledger: &str, id: &str, version: u32) -> Option<&Arc<Plan>> {
        self.by_hash
            .values()
            .find(|p| p.binds(ledger) && p.id == id && p.version == version)
    }
    /// The published versions of policy `id` bound to `ledger`, ascending.
    pub fn versions(&self, ledger: &str, id: &str) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .by_hash
            .values()
            .filter(|p| p.binds(ledger) && p.id == id)
            .map(|p| p.version)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Plan>> {
        self.by_hash.values()
    }
}

/// An envelope that passed every check. Only [`verify`] makes one, and
/// [`crate::open`] takes only this type: nothing is opened unverified.
#[derive(Clone, Debug)]
pub struct VerifiedEnvelope {
    envelope: Envelope,
    plan: Arc<Plan>,
}

impl VerifiedEnvelope {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

/// Verifies one envelope: every check of [`verify_batch`], proofs one by one.
pub fn verify(
    bytes: &[u8],
    trust: &Trust,
    rng: &mut dyn RngCoreCrypto,
) -> Result<VerifiedEnvelope, Rejection> {
    let checked = precheck(bytes, trust)?;
    checked.check_proofs(rng)?;
    Ok(checked.verified)
}

/// Verifies many envelopes, returning one result per input in order — the
/// same verdicts as [`verify`] on each. The structural checks (decoding,
/// ledger, policy, membership, signature, envelope id, shape, public inputs)
/// run per envelope; the proofs of all envelopes that pass them are checked
/// together: the bulletproofs range proofs in one multiscalar equation,
/// the Groth16 proofs in one pairing equation per verifying key. A batch
/// with a false proof fails as a whole (except with probability ~2^-128),
/// and then its proofs are checked one by one to name the envelopes at fault,
/// so a forger slows a batch down but never gets an envelope through.
pub fn verify_batch(
    envelopes: &[&[u8]],
    trust: &Trust,
    rng: &mut dyn RngCoreCrypto,
) -> Vec<Result<VerifiedEnvelope, Rejection>> {
    let mut results: Vec<Result<Checked, Rejection>> =
        envelopes.iter().map(|b| precheck(b, trust)).collect();

    // Envelopes whose batch failed (or could not be batched) are checked
    // again one by one, exactly as `verify` does, so each gets the verdict
    // `verify` gives it, reason included.
    let mut suspects: BTreeSet<usize> = BTreeSet::new();
    {
        // Range proofs, all envelopes at once.
        let mut instances = Vec::new();
        let mut with_ranges = Vec::new();
        for (i, r) in results.iter().enumerate() {
            let Ok(c) = r else { continue };
            let mine: Result<Vec<_>, _> = c.ranges.iter().map(RangeCheck::instance).collect();
            match mine {
                Ok(mine) if !mine.is_empty() => {
                    instances.extend(mine);
                    with_ranges.push(i);
                }
                Ok(_) => {}
                Err(_) => {
                    suspects.insert(i);
                }
            }
        }
        if veilgate_circuits::range::batch::verify_batch(&instances, &mut DynRng(rng)).is_err() {
            suspects.extend(with_ranges);
        }

        // Groth16 proofs, one batch per verifying key.
        let mut by_key: BTreeMap<[u8; 32], Vec<(usize, &predicates::Groth16Check)>> =
            BTreeMap::new();
        for (i, r) in results.iter().enumerate() {
            let Ok(c) = r else { continue };
            if suspects.contains(&i) {
                continue;
            }
            for g in &c.groth16 {
                by_key.entry(g.key_id()).or_default().push((i, g));
            }
        }
        for group in by_key.values() {
            let checks: Vec<_> = group.iter().map(|(_, g)| *g).collect();
            if !predicates::verify_batch(&checks, rng) {
                suspects.extend(group.iter().map(|(i, _)| *i));
            }
        }
    }
    for i in suspects {
        if let Some(r) = results.get_mut(i) {
            if let Err(rej) = r.as_ref().map_or(Ok(()), |c| c.check_proofs(rng)) {
                *r = Err(rej);
            }
        }
    }
    results.into_iter().map(|r| r.map(|c| c.verified)).collect()
}

/// An envelope that passed every check but its proofs, with those proofs.
struct Checked {
    verified: VerifiedEnvelope,
    ranges: Vec<RangeCheck>,
    groth16: Vec<predicates::Groth16Check>,
}

impl Checked {
    /// The proofs one by one, in the envelope's order: range proofs field
    /// by field, then the predicates' Groth16 proofs in the policy's order.
    fn check_proofs(&self, rng: &mut dyn RngCoreCrypto) -> Result<(), Rejection> {
        for r in &self.ranges {
            r.verify(rng)?;
        }
        if let Some(g) = self.groth16.iter().find(|g| !g.verify()) {
            return Err(Rejection::PredicateFailed(format!(
                "the proof of `{}` does not verify",
                g.what
            )));
        }
        Ok(())
    }
}

/// One bulletproofs range proof to check: a format 1/2 field's own proof,
/// or a format 3 aggregate over several fields.
struct RangeCheck {
    /// The fields it covers, in order.
    fields: Vec<String>,
    ranges: Vec<(i64, i64)>,
    commitments: Vec<Commitment>,
    context: Vec<u8>,
    proof: RangeProof,
    aggregate: bool,
}

impl RangeCheck {
    fn rejection(&self) -> Rejection {
        Rejection::ProofFailed(self.fields.join(", "))
    }
    fn aggregate(&self) -> AggregateRange<'_> {
        AggregateRange {
            ranges: &self.ranges,
            context: &self.context,
        }
    }
    /// A field's own proof: one range, one commitment.
    fn single(&self) -> Option<(RangeStatement<'_>, &Commitment)> {
        match (self.ranges.as_slice(), self.commitments.as_slice()) {
            ([(lo, hi)], [c]) if !self.aggregate => Some((
                RangeStatement {
                    lo: *lo,
                    hi: *hi,
                    context: &self.context,
                },
                c,
            )),
            _ => None,
        }
    }
    fn verify(&self, rng: &mut dyn RngCoreCrypto) -> Result<(), Rejection> {
        let verdict = match self.single() {
            Some((st, c)) => st.verify(c, &self.proof, &mut DynRng(rng)),
            None => self
                .aggregate()
                .verify(&self.commitments, &self.proof, &mut DynRng(rng)),
        };
        verdict.map_err(|_| self.rejection())
    }
    fn instance(&self) -> Result<veilgate_circuits::range::batch::Instance<'_>, Rejection> {
        let instance = match self.single() {
            Some((st, c)) => st.instance(c, &self.proof),
            None => self.aggregate().instance(&self.commitments, &self.proof),
        };
        instance.map_err(|_| self.rejection())
    }
}

/// Every check but the proofs, which it returns to be checked.
fn precheck(bytes: &[u8], trust: &Trust) -> Result<Checked, Rejection> {
    let (policies, directory) = (&trust.policies, &trust.directory);
    let env = Envelope::decode(bytes)?;
    if env.ledger != directory.ledger {
        return Err(Rejection::WrongLedger {
            expected: directory.ledger.clone(),
            found: env.ledger,
        });
    }
    if env.suite.name() != directory.suite {
        return Err(Rejection::SuiteNotAdmitted {
            ledger: directory.ledger.clone(),
            found: env.suite.name().to_owned(),
            admitted: directory.suite.clone(),
        });
    }
    let plan = policies
        .get(&env.policy.hash)
        .ok_or_else(|| Rejection::UnknownPolicy(hex::encode(env.policy.hash)))?
        .clone();
    if plan.id != env.policy.id || plan.version != env.policy.version || !plan.binds(&env.ledger) {
        return Err(Rejection::PolicyMismatch);
    }
    if plan.suite != env.suite.name() {
        return Err(Rejection::SuiteMismatch);
    }
    if let Some(why) = crate::seal::unsupported(&plan) {
        return Err(Rejection::Unsupported(why));
    }
    if let Some((role, field)) = directory.withheld(&plan) {
        return Err(Rejection::Withheld {
            role: role.to_owned(),
            field: field.to_owned(),
        });
    }
    let suite = env.suite.suite();
    let member = directory
        .member(&env.submitter)
        .ok_or_else(|| Rejection::UnknownSubmitter(env.submitter.clone()))?;
    // Admission is judged at the envelope's signed time. A removed member
    // cannot backdate onto a chain once its account is off the registry's
    // writers, and on the embedded ledger only this gateway writes.
    if !member.admitted_at(env.timestamp_ms) {
        return Err(Rejection::NotAdmitted {
            submitter: env.submitter.clone(),
            timestamp_ms: env.timestamp_ms,
        });
    }
    let signer = signing_key(&env, member)?;
    if let Some(frozen) = signer.frozen_from_ms.filter(|f| *f <= env.timestamp_ms) {
        return Err(Rejection::KeyFrozen {
            submitter: env.submitter.clone(),
            key_id: signer.id.hex(),
            frozen_from_ms: frozen,
            timestamp_ms: env.timestamp_ms,
        });
    }
    suite
        .verify_signature(
            &signer.sign_public,
            member.signer_id(),
            &bind::signature_input(&env.signed_bytes()),
            &env.signature,
        )
        .map_err(|_| Rejection::BadSignature)?;
    if bind::envelope_id(suite, &env.ledger, &env.submitter, &env.idempotency_key) != env.id {
        return Err(Rejection::BadEnvelopeId);
    }
    check_wrap_keys(&env, directory)?;
    let ranges = check_shape(&env, &plan, directory)?;
    let groth16 = if !plan.predicates.is_empty() || !env.predicates.is_empty() {
        predicates::statements(&plan, &env, &trust.keys, &trust.sets).map_err(|e| match e {
            predicates::check::StatementError::UnknownKey { predicate, key_id } => {
                Rejection::UnknownKey {
                    predicate,
                    key_id: hex::encode(key_id),
                }
            }
            predicates::check::StatementError::UnpinnedKey {
                predicate,
                key_id,
                pinned,
            } => Rejection::UnpinnedKey {
                predicate,
                key_id: hex::encode(key_id),
                pinned: hex::encode(pinned),
            },
            predicates::check::StatementError::Set(why) => Rejection::SetRoot(why),
            other => Rejection::PredicateFailed(other.to_string()),
        })?
    } else {
        Vec::new()
    };
    Ok(Checked {
        verified: VerifiedEnvelope {
            envelope: env,
            plan,
        },
        ranges,
        groth16,
    })
}

/// The key an envelope is judged under: the one it names (format 4), which
/// must be the submitter's and in force at the envelope's time; or (formats
/// 1–3) the submitter's key in force then — so envelopes signed before a
/// rotation keep verifying after it.
fn signing_key<'d>(env: &Envelope, member: &'d MemberKeys) -> Result<&'d MemberKey, Rejection> {
    let Some(named) = env.signing_key else {
        return member
            .key_at(env.timestamp_ms)
            .ok_or_else(|| Rejection::UnknownSubmitter(env.submitter.clone()));
    };
    let refuse = |why: String| Rejection::SigningKey {
        submitter: env.submitter.clone(),
        key_id: named.hex(),
        why,
    };
    let key = member
        .key(&named)
        .ok_or_else(|| refuse(format!("`{}` has no such key", env.submitter)))?;
    if member.key_at(env.timestamp_ms).map(|k| k.id) != Some(named) {
        return Err(refuse(format!(
            "it is not in force at the envelope's time ({} ms): it is from {} ms{}",
            env.timestamp_ms,
            key.from_ms.unwrap_or(0),
            member
                .key_until(&named)
                .map_or_else(String::new, |u| format!(" until {u} ms"))
        )));
    }
    Ok(key)
}

/// How long after a rotation a wrap to the recipient's previous key is still
/// accepted: a gateway that has not yet read the new key is not punished
/// (the data key stays readable: old unwrapping keys are kept).
pub const WRAP_GRACE_MS: u64 = 10 * 60 * 1000;

/// Format 4: each data key is wrapped to a key of its recipient, of that
/// key's KEM, in force at the envelope's time (or within the grace after).
fn check_wrap_keys(env: &Envelope, directory: &LedgerDirectory) -> Result<(), Rejection> {
    for r in &env.recipients {
        let Some(w) = r.key else { continue };
        let refuse = |why: &str| Rejection::RecipientKey {
            recipient: r.institution.clone(),
            key_id: w.id.hex(),
            why: why.to_owned(),
        };
        let member = directory
            .member(&r.institution)
            .ok_or_else(|| refuse("the recipient is not a member"))?;
        let key = member
            .key(&w.id)
            .ok_or_else(|| refuse("the recipient has no such key"))?;
        if key.kem != w.kem {
            return Err(refuse("the envelope names another KEM than the key's"));
        }
        let from = if member.keys.first().map(|k| k.id) == Some(w.id) {
            0
        } else {
            key.from_ms.unwrap_or(0)
        };
        let until = member
            .key_until(&w.id)
            .map_or(u64::MAX, |u| u.saturating_add(WRAP_GRACE_MS));
        if env.timestamp_ms < from || env.timestamp_ms >= until {
            return Err(refuse("it is not in force at the envelope's time"));
        }
    }
    Ok(())
}

fn shape(msg: impl Into<String>) -> Rejection {
    Rejection::Shape(msg.into())
}

/// Checks the envelope's shape against its plan; returns its range proofs
/// (checked by the caller, alone or in a batch).
fn check_shape(
    env: &Envelope,
    plan: &Plan,
    directory: &LedgerDirectory,
) -> Result<Vec<RangeCheck>, Rejection> {
    let expected: Vec<_> = plan
        .fields
        .iter()
        .filter(|f| f.disclosure != Disclosure::Drop)
        .collect();
    if expected.len() != env.fields.len() {
        return Err(shape(format!(
            "{} fields, the policy discloses {}",
            env.fields.len(),
            expected.len()
        )));
    }
    match (env.padding, plan.padding) {
        (Some(_), None) => {
            return Err(Rejection::Padding(
                "the envelope pads its fields (format 5), but its policy has no `pad` line".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(Rejection::Padding(
                "the policy pads field plaintexts (`pad`), but the envelope is not format 5".into(),
            ))
        }
        _ => {}
    }
    let parties = public_parties(&expected, env);
    if let Some(field) = &plan.submitter {
        if parties.get(field.as_str()) != Some(&env.submitter) {
            return Err(Rejection::NotSubmitter {
                field: field.clone(),
                submitter: env.submitter.clone(),
            });
        }
    }
    let met = outcomes(env, plan, &expected)?;
    let shape_check = Shape {
        env,
        plan,
        directory,
        parties,
        bn254: predicates::bn254_fields(plan),
        set_fields: predicates::set_fields(plan),
        met,
    };
    let mut ranges = Vec::new();
    let mut used = BTreeSet::new();
    for (f, sealed) in expected.iter().zip(&env.fields) {
        if let Some(range) = shape_check.body(f, sealed)? {
            ranges.push(range);
        }
        used.extend(shape_check.ciphertexts(f, sealed)?);
    }
    check_recipients(env, &used)?;
    if env.format_version() >= 3 {
        ranges.extend(aggregate_checks(env, plan, &shape_check.met)?);
    }
    Ok(ranges)
}

/// The condition outcomes the envelope states, one per condition of the
/// policy. An outcome on a public field must be what its value gives; one on
/// a committed field is proven by the range section. Formats 1 and 2 have no
/// outcomes, so they cannot carry a policy with conditions.
fn outcomes(
    env: &Envelope,
    plan: &Plan,
    expected: &[&veilgate_policies::FieldPlan],
) -> Result<Vec<bool>, Rejection> {
    let version = env.format_version();
    if version < 3 && !plan.conditions.is_empty() {
        return Err(shape(format!(
            "the policy has conditions; a format {version} envelope cannot state their outcomes"
        )));
    }
    if env.conditions.len() != plan.conditions.len() {
        return Err(shape(format!(
            "{} condition outcomes, the policy has {} conditions",
            env.conditions.len(),
            plan.conditions.len()
        )));
    }
    for (c, met) in plan.conditions.iter().zip(&env.conditions) {
        let public = expected
            .iter()
            .zip(&env.fields)
            .find(|(f, _)| f.name == c.field && f.disclosure == Disclosure::Public);
        if let Some((f, sealed)) = public {
            let value = match &sealed.body {
                FieldBody::Public(bytes) => Value::decode(&f.ty, bytes),
                _ => None,
            };
            if value
                .and_then(|v| v.committed_integer())
                .map(|x| c.holds(x))
                != Some(*met)
            {
                return Err(shape(format!(
                    "the outcome stated for the condition on `{}` is not what its public value gives",
                    c.field
                )));
            }
        }
    }
    Ok(env.conditions.clone())
}

/// Format 3: the range section's proofs, one per eight range facts, each
/// bound to the facts the plan and the stated outcomes give.
fn aggregate_checks(
    env: &Envelope,
    plan: &Plan,
    met: &[bool],
) -> Result<Vec<RangeCheck>, Rejection> {
    let facts = ranges::facts(plan, met).map_err(|field| {
        shape(format!(
            "the condition outcomes leave no value of field `{field}` inside its range"
        ))
    })?;
    let want = ranges::proof_count(facts.len());
    if env.range_proofs.len() != want {
        return Err(shape(format!(
            "{} range proofs, the policy's ranges and conditions need {want}",
            env.range_proofs.len()
        )));
    }
    let commitment = |name: &str| {
        env.fields.iter().find_map(|f| match &f.body {
            FieldBody::Committed { commitment, .. } if f.name == name => {
                Some(Commitment(*commitment))
            }
            _ => None,
        })
    };
    let mut checks = Vec::with_capacity(want);
    for (k, (group, proof)) in ranges::groups(&facts).zip(&env.range_proofs).enumerate() {
        let (intervals, names) = ranges::statement(group);
        let commitments = names
            .iter()
            .map(|n| commitment(n))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| shape("a range fact names a field without a commitment"))?;
        let index = u8::try_from(k).map_err(|_| shape("more than 255 range proofs"))?;
        checks.push(RangeCheck {
            context: bind::aggregate_context(&env.ledger, &env.id, index, &names),
            fields: names.into_iter().map(str::to_owned).collect(),
            ranges: intervals,
            commitments,
            proof: RangeProof(proof.clone()),
            aggregate: true,
        });
    }
    Ok(checks)
}

/// Public party values by field name, needed to resolve party roles to
/// institutions.
fn public_parties<'p>(
    expected: &[&'p veilgate_policies::FieldPlan],
    env: &Envelope,
) -> BTreeMap<&'p str, String> {
    let mut parties = BTreeMap::new();
    for (f, sealed) in expected.iter().zip(&env.fields) {
        if let (FieldType::Party, FieldBody::Public(bytes)) = (&f.ty, &sealed.body) {
            if let Some(Value::Party(p)) = Value::decode(&f.ty, bytes) {
                parties.insert(f.name.as_str(), p);
            }
        }
    }
    parties
}

/// Checks each field of an envelope against its line in the plan.
struct Shape<'a> {
    env: &'a Envelope,
    plan: &'a Plan,
    directory: &'a LedgerDirectory,
    parties: BTreeMap<&'a str, String>,
    bn254: BTreeSet<&'a str>,
    set_fields: BTreeSet<&'a str>,
    /// The condition outcomes the envelope states (checked by [`outcomes`]).
    met: Vec<bool>,
}

impl Shape<'_> {
    /// The field's name and kind are the plan's, and its body is well
    /// formed; returns the range proof to check, if the field has one.
    fn body(
        &self,
        f: &veilgate_policies::FieldPlan,
        sealed: &crate::envelope::SealedField,
    ) -> Result<Option<RangeCheck>, Rejection> {
        let name = &f.name;
        if sealed.name != *name {
            return Err(shape(format!(
                "field `{}` where the policy has `{name}`",
                sealed.name
            )));
        }
        if !self.kind_matches(f, &sealed.body) {
            return Err(shape(format!(
                "field `{name}` is {}, not what the policy says",
                sealed.body.kind()
            )));
        }
        match &sealed.body {
            FieldBody::Public(bytes) => self.public(f, bytes).map(|()| None),
            FieldBody::Pseudonym(_) => self.pseudonym(name, None).map(|()| None),
            FieldBody::Oblivious { epoch, .. } => self.pseudonym(name, Some(*epoch)).map(|()| None),
            FieldBody::Committed { commitment, proof } => self.committed(f, commitment, proof),
            FieldBody::Derived(bytes) if !derived_is_well_formed(&f.disclosure, &f.ty, bytes) => {
                Err(shape(format!(
                    "field `{name}` is not a well-formed {} value",
                    f.disclosure.keyword()
                )))
            }
            FieldBody::Bn254Committed(c) if predicates::field_from_canonical(c).is_none() => {
                Err(shape(format!(
                    "commitment of field `{name}` is not a BN254 field element"
                )))
            }
            _ => Ok(None),
        }
    }

    /// The body's kind is the one the disclosure makes, and a commitment is
    /// on BN254 exactly when a predicate names the field.
    fn kind_matches(&self, f: &veilgate_policies::FieldPlan, body: &FieldBody) -> bool {
        let kind_ok = matches!(
            (&f.disclosure, body),
            (Disclosure::Public, FieldBody::Public(_))
                | (Disclosure::Pseudonym { .. }, FieldBody::Pseudonym(_))
                | (Disclosure::Pseudonym { .. }, FieldBody::Oblivious { .. })
                | (Disclosure::Commit { .. }, FieldBody::Committed { .. })
                | (Disclosure::Commit { .. }, FieldBody::Bn254Committed(_))
                | (Disclosure::Encrypt { .. }, FieldBody::Encrypted)
                | (Disclosure::Mask { .. }, FieldBody::Derived(_))
                | (Disclosure::Generalize { .. }, FieldBody::Derived(_))
        );
        let on_bn254 = self.bn254.contains(f.name.as_str());
        kind_ok
            && match body {
                FieldBody::Committed { .. } => !on_bn254,
                FieldBody::Bn254Committed(_) => on_bn254,
                _ => true,
            }
    }

    /// A ledger with a pseudonymisation service carries oblivious
    /// pseudonyms of the epoch in force at the envelope's time; one without,
    /// or an envelope from before its first epoch, carries member-key
    /// pseudonyms (`epoch` is `None` for those).
    fn pseudonym(&self, name: &str, epoch: Option<u32>) -> Result<(), Rejection> {
        let ledger = &self.directory.ledger;
        let wanted = self
            .directory
            .pseudonyms
            .as_ref()
            .map(|p| p.epoch_at(self.env.timestamp_ms).map(|e| e.epoch));
        match (wanted, epoch) {
            // Before the ledger's first epoch (it moved onto a service
            // later), member-key pseudonyms were the rule.
            (None, None) | (Some(None), None) => Ok(()),
            (Some(Some(w)), Some(e)) if w == e => Ok(()),
            (None, Some(e)) => Err(Rejection::Pseudonym(format!(
                "field `{name}` carries an oblivious pseudonym of epoch {e}, but ledger `{ledger}` has no pseudonymisation service"
            ))),
            (Some(Some(w)), None) => Err(Rejection::Pseudonym(format!(
                "field `{name}` carries a member-key pseudonym, which every member can reverse; ledger `{ledger}` takes oblivious pseudonyms of epoch {w}"
            ))),
            (Some(Some(w)), Some(e)) => Err(Rejection::Pseudonym(format!(
                "field `{name}` carries a pseudonym of epoch {e}; epoch {w} was in force at the envelope's time"
            ))),
            (Some(None), Some(e)) => Err(Rejection::Pseudonym(format!(
                "field `{name}` carries a pseudonym of epoch {e}, but no epoch of ledger `{ledger}` was in force at the envelope's time"
            ))),
        }
    }

    /// A public value decodes as its type; a party names a member at the
    /// envelope's time.
    fn public(&self, f: &veilgate_policies::FieldPlan, bytes: &[u8]) -> Result<(), Rejection> {
        let name = &f.name;
        if Value::decode(&f.ty, bytes).is_none() {
            return Err(shape(format!(
                "public field `{name}` does not hold a valid {}",
                f.ty.name()
            )));
        }
        let party = self.parties.get(name.as_str()).map_or("", String::as_str);
        if f.ty == FieldType::Party
            && self
                .directory
                .member_at(party, self.env.timestamp_ms)
                .is_none()
        {
            return Err(shape(format!(
                "party field `{name}` names an institution that was not a ledger member at the envelope's time"
            )));
        }
        Ok(())
    }

    /// In formats 1 and 2 a Pedersen commitment carries a range proof
    /// exactly when its policy states a range; format 3 carries none in the
    /// field (its decoder refuses one) and proves ranges in its range section.
    fn committed(
        &self,
        f: &veilgate_policies::FieldPlan,
        commitment: &[u8; 32],
        proof: &Option<Vec<u8>>,
    ) -> Result<Option<RangeCheck>, Rejection> {
        let name = &f.name;
        let range = match &f.disclosure {
            Disclosure::Commit { range, .. } if self.env.format_version() < 3 => *range,
            _ => None,
        };
        match (range, proof) {
            (Some((lo, hi)), Some(p)) => Ok(Some(RangeCheck {
                fields: vec![name.clone()],
                ranges: vec![(lo, hi)],
                context: bind::proof_context(&self.env.ledger, &self.env.id, name),
                commitments: vec![Commitment(*commitment)],
                proof: RangeProof(p.clone()),
                aggregate: false,
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(shape(format!(
                "field `{name}` lacks the range proof its policy requires"
            ))),
            (None, Some(_)) => Err(shape(format!(
                "field `{name}` carries a proof its policy does not state"
            ))),
        }
    }

    /// Ciphertexts go to exactly the institutions the policy's roles name,
    /// each of a possible length. Returns those institutions.
    fn ciphertexts(
        &self,
        f: &veilgate_policies::FieldPlan,
        sealed: &crate::envelope::SealedField,
    ) -> Result<BTreeSet<String>, Rejection> {
        let name = &f.name;
        let want = resolve_roles(
            &self.plan.recipients_with(f, &self.met),
            |n| self.parties.get(n).map(String::as_str),
            self.directory,
            self.env.timestamp_ms,
        )
        .map_err(|role| {
            shape(format!(
                "role `{role}` of field `{name}` resolves to no member"
            ))
        })?;
        let got: BTreeSet<String> = sealed
            .ciphertexts
            .iter()
            .filter_map(|c| {
                self.env
                    .recipients
                    .get(usize::from(c.recipient))
                    .map(|r| r.institution.clone())
            })
            .collect();
        if got != want || got.len() != sealed.ciphertexts.len() {
            return Err(shape(format!(
                "field `{name}` is encrypted to other institutions than its policy names"
            )));
        }
        let tag = self.env.suite.suite().aead_tag_len();
        // Commitment openings have a fixed size (but a set field's carries
        // its value); other plaintexts do not.
        let pt_len = match &sealed.body {
            FieldBody::Committed { .. } => Some(40),
            FieldBody::Bn254Committed(_) if !self.set_fields.contains(name.as_str()) => Some(40),
            _ => None,
        };
        let set_field = self.set_fields.contains(name.as_str());
        let padding = self
            .plan
            .padding
            .filter(|_| crate::seal::carries_value(&sealed.body, set_field));
        for c in &sealed.ciphertexts {
            if c.ciphertext.len() < tag || pt_len.is_some_and(|n| c.ciphertext.len() != n + tag) {
                return Err(shape(format!(
                    "a ciphertext of field `{name}` has an impossible length"
                )));
            }
            // Padded, a plaintext is exactly a class long: any other length
            // is a submitter signalling through it, or not padding at all.
            let n = c.ciphertext.len().saturating_sub(tag);
            if padding.is_some_and(|p| p.class_of(n) != Ok(n)) {
                return Err(Rejection::Padding(format!(
                    "a ciphertext of field `{name}` is not of a padded size"
                )));
            }
        }
        Ok(got)
    }
}

/// The recipient list is exactly the institutions the fields go to, each
/// with a wrapped key of a possible length.
fn check_recipients(env: &Envelope, used: &BTreeSet<String>) -> Result<(), Rejection> {
    let suite = env.suite.suite();
    let listed: BTreeSet<String> = env
        .recipients
        .iter()
        .map(|r| r.institution.clone())
        .collect();
    if listed != *used {
        return Err(shape(
            "recipient list differs from the institutions the fields are encrypted to",
        ));
    }
    for r in &env.recipients {
        // Format 4 names the KEM (the decoder checked `enc` against it);
        // before, the suite's one KEM.
        let enc_len = r.key.map_or(suite.kem_key_len(), |k| k.kem.public_len());
        if r.enc.len() != enc_len || r.wrapped_key.len() != 32 + suite.aead_tag_len() {
            return Err(shape(format!(
                "wrapped key for `{}` has an impossible length",
                r.institution
            )));
        }
    }
    Ok(())
}

/// A published mask or generalization has the form its disclosure promises:
/// a mask is `*` except the kept ends; a year is a year; a month is `YYYY-MM`;
/// a bucket is a multiple of its width. (That it matches the hidden value is
/// the submitter's signed statement; recipients of the value can check it.)
fn derived_is_well_formed(d: &Disclosure, ty: &FieldType, bytes: &[u8]) -> bool {
    match d {
        Disclosure::Mask { first, last, .. } => match Value::decode(&FieldType::String, bytes) {
            Some(Value::Str(s)) => {
                let n = s.chars().count();
                let (first, last) = (*first as usize, *last as usize);
                s.chars()
                    .enumerate()
                    .all(|(i, c)| c == '*' || (n > first + last && (i < first || i >= n - last)))
            }
            _ => false,
        },
        Disclosure::Generalize { how, .. } => match (how, ty) {
            (Generalization::Year, _) => matches!(
                Value::decode(&FieldType::Integer, bytes),
                Some(Value::Int(1..=9999))
            ),
            (Generalization::Month, _) => match Value::decode(&FieldType::String, bytes) {
                Some(Value::Str(m)) => {
                    veilgate_policies::record::days_from_civil(&format!("{m}-01")).is_some()
                        && m.len() == 7
                }
                _ => false,
            },
            (Generalization::Bucket(w), ty) => Value::decode(ty, bytes)
                .and_then(|v| v.committed_integer())
                .is_some_and(|x| x.rem_euclid(*w) == 0),
        },
        _ => false,
    }
}
