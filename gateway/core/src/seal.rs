//! seal: record + plan + keys → signed envelope. Pure: the clock reading and
//! the RNG come in as arguments.

use std::collections::{BTreeMap, BTreeSet};

use veilgate_circuits::range::AggregateRange;
use veilgate_circuits::Opening;
use veilgate_policies::{Disclosure, FieldType, Plan, Record, RecordError, Role, Value};

use veilgate_circuits::merkle::to_bytes;

use crate::bind;
use crate::envelope::{
    Envelope, FieldBody, FieldCiphertext, PolicyRef, Recipient, SealedField, WrapKey,
};
use crate::keys::{EnvelopeSigner, KeyUseError, LedgerDirectory, PseudonymKey};
use crate::predicates::{self, Bn254Opening, ProveError, SetOpening};
use crate::ranges;
use crate::suite::{DynRng, RngCoreCrypto, SuiteId};
use crate::trust::Trust;

/// Longest idempotency key. It is public on the ledger: it must never carry customer data.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// An idempotency key is 1–[`MAX_IDEMPOTENCY_KEY`] bytes, each printable
/// ASCII other than space (0x21–0x7E).
pub fn valid_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Why a record could not be sealed. The caller's input or the gateway's
/// configuration is at fault; no message carries a field value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("idempotency key must be 1–{MAX_IDEMPOTENCY_KEY} printable ASCII characters")]
    IdempotencyKey,
    #[error("policy `{policy}` binds ledger `{policy_ledger}`, not `{ledger}`")]
    WrongLedger {
        policy: String,
        policy_ledger: String,
        ledger: String,
    },
    #[error("policy names crypto suite `{0}`, which this build does not provide")]
    Suite(String),
    /// The policy's suite is not the one the ledger's directory admits.
    #[error("policy `{policy}` uses crypto suite `{policy_suite}`; ledger `{ledger}` admits only suite `{ledger_suite}`")]
    LedgerSuite {
        policy: String,
        policy_suite: String,
        ledger: String,
        ledger_suite: String,
    },
    /// The submitter's keys are of another suite, or sign under another
    /// distinguishing identifier, than its directory entry says.
    #[error("the keys of `{submitter}` do not match its entry in the directory of ledger `{ledger}`: {why}")]
    SubmitterKeys {
        submitter: String,
        ledger: String,
        why: String,
    },
    #[error("submitter `{0}` is not a member of the ledger at this time")]
    SubmitterNotMember(String),
    #[error("no institution holds role `{role}` on ledger `{ledger}`")]
    EmptyRole { role: String, ledger: String },
    #[error("member `{0}` has no usable public key in the directory")]
    MemberKey(String),
    /// The signing key offered is not the submitter's key in force at the
    /// record's time (a rotation the gateway has not taken up).
    #[error("`{submitter}` signs with key {offered}, but its key in force at {timestamp_ms} ms on ledger `{ledger}` is {in_force}")]
    SigningKey {
        submitter: String,
        ledger: String,
        offered: String,
        in_force: String,
        timestamp_ms: u64,
    },
    /// The submitter's key in force was reported lost or compromised: it
    /// signs nothing more; the member must rotate.
    #[error("`{submitter}`'s key {key_id} is frozen since {frozen_from_ms} ms (reported lost or compromised); it signs nothing more: rotate to a new key")]
    SigningKeyFrozen {
        submitter: String,
        key_id: String,
        frozen_from_ms: u64,
    },
    /// A recipient's key in force was reported lost or compromised: nothing
    /// is wrapped to it until the recipient rotates.
    #[error("`{recipient}`'s key {key_id} was reported lost or compromised (frozen since {frozen_from_ms} ms); nothing is wrapped to it until `{recipient}` rotates to a new key")]
    RecipientKeyFrozen {
        recipient: String,
        key_id: String,
        frozen_from_ms: u64,
    },
    /// The signing key failed (a token error); nothing was signed.
    #[error("the signing key of `{submitter}` failed: {why}")]
    KeyUse { submitter: String, why: KeyUseError },
    #[error("the range proof of {0} could not be made")]
    Proof(String),
    /// The record does not satisfy a predicate of its policy (as written there).
    #[error("the record does not satisfy `{0}`, which its policy requires")]
    PredicateFalse(String),
    #[error("the proof of a predicate could not be made: {0}")]
    PredicateProof(String),
    /// A set predicate has no root in force, or no contents here to prove with.
    #[error("{0}")]
    SetRoot(String),
    /// The suite's AEAD refused to encrypt (it does not for valid keys).
    #[error("encryption failed")]
    Crypto,
    /// The plan and the record disagree in a way validation should have
    /// prevented (a bug, not the caller's input); names what broke.
    #[error("internal error while sealing: {0}")]
    Internal(&'static str),
    #[error("{0}")]
    Unsupported(String),
    /// The pseudonyms offered are not the kind or epoch the ledger takes.
    #[error("{0}")]
    Pseudonyms(String),
    /// The ledger requires `role` to see every field; the policy withholds `field`.
    #[error("ledger `{ledger}` requires `{role}` to see every field, but policy `{policy}` withholds `{field}` from it")]
    Withheld {
        ledger: String,
        policy: String,
        role: String,
        field: String,
    },
}

pub struct SealRequest<'a> {
    /// The ledger's members, policies and Groth16 keys.
    pub trust: &'a Trust,
    pub plan: &'a Plan,
    pub record: &'a Record,
    /// The submitter's signing key: the key version in force at
    /// `timestamp_ms`, held in memory or in a token.
    pub submitter: &'a dyn EnvelopeSigner,
    /// Where the record's pseudonyms come from.
    pub pseudonyms: Pseudonyms<'a>,
    pub idempotency_key: &'a str,
    pub timestamp_ms: u64,
}

/// Where a seal takes its pseudonyms from.
#[derive(Clone, Copy, Debug)]
pub enum Pseudonyms<'a> {
    /// HMAC under the ledger key every member holds (field kind 1): any
    /// member can compute, so reverse, these offline. For ledgers without
    /// a `pseudonyms` directory section.
    MemberKey(&'a PseudonymKey),
    /// Tags the pseudonymisation service evaluated for this record's values
    /// (field kind 6, envelope format 6).
    Oblivious(&'a ObliviousTags),
}

impl<'a> From<&'a PseudonymKey> for Pseudonyms<'a> {
    fn from(key: &'a PseudonymKey) -> Self {
        Pseudonyms::MemberKey(key)
    }
}

impl<'a> From<&'a ObliviousTags> for Pseudonyms<'a> {
    fn from(tags: &'a ObliviousTags) -> Self {
        Pseudonyms::Oblivious(tags)
    }
}

/// The oblivious pseudonyms of one record's values, in one epoch: canonical
/// value → tag. It links customer values to ledger pseudonyms, so `Debug`
/// shows only the count and the values are zeroized on drop.
pub struct ObliviousTags {
    epoch: u32,
    /// A record has a handful of values: a list is all the lookup needs.
    tags: Vec<(zeroize::Zeroizing<Vec<u8>>, [u8; 32])>,
}

impl std::fmt::Debug for ObliviousTags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ObliviousTags(epoch {}, {} values)",
            self.epoch,
            self.tags.len()
        )
    }
}

impl ObliviousTags {
    /// The tags of `values` (canonical encodings), in `epoch`.
    pub fn new(epoch: u32, pairs: impl IntoIterator<Item = (Vec<u8>, [u8; 32])>) -> Self {
        ObliviousTags {
            epoch,
            tags: pairs
                .into_iter()
                .map(|(v, t)| (zeroize::Zeroizing::new(v), t))
                .collect(),
        }
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The tag of `value` (a canonical encoding), if the table has it.
    pub fn tag_of(&self, value: &[u8]) -> Option<[u8; 32]> {
        self.tag(value)
    }

    fn tag(&self, value: &[u8]) -> Option<[u8; 32]> {
        self.tags
            .iter()
            .find(|(v, _)| v.as_slice() == value)
            .map(|(_, t)| *t)
    }
}

/// The canonical values of `record` a seal pseudonymises, each once, in
/// plan order: what a gateway asks the pseudonymisation service for.
pub fn pseudonym_values(plan: &Plan, record: &Record) -> Vec<zeroize::Zeroizing<Vec<u8>>> {
    let mut out: Vec<zeroize::Zeroizing<Vec<u8>>> = Vec::new();
    for (f, value) in plan.fields.iter().zip(&record.values) {
        if matches!(f.disclosure, Disclosure::Pseudonym { .. }) {
            let encoded = zeroize::Zeroizing::new(value.encode());
            if !out.contains(&encoded) {
                out.push(encoded);
            }
        }
    }
    out
}

/// Resolves each role to institution ids. Party roles read the record's
/// (public) party fields; ledger roles read the directory, keeping the
/// holders admitted at `time_ms` (a removed regulator gets nothing new).
pub(crate) fn resolve_roles<'v>(
    roles: &[Role],
    party_value: impl Fn(&str) -> Option<&'v str>,
    directory: &LedgerDirectory,
    time_ms: u64,
) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for role in roles {
        match role {
            Role::Party(field) => {
                out.insert(party_value(field).ok_or_else(|| field.clone())?.to_owned());
            }
            Role::Ledger(name) => {
                let holders: Vec<&String> = directory
                    .roles
                    .get(name)
                    .map(|h| {
                        h.iter()
                            // An id missing from the directory stays, and
                            // fails as before (no key to wrap to); only a
                            // member outside its admission dates is dropped.
                            .filter(|id| {
                                directory.member(id).is_none_or(|m| m.admitted_at(time_ms))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if holders.is_empty() {
                    return Err(name.clone());
                }
                out.extend(holders.into_iter().cloned());
            }
        }
    }
    Ok(out)
}

/// Seals a record: checks the request, wraps one data key per recipient,
/// seals each field as its disclosure says, proves the predicates, signs.
pub fn seal(req: &SealRequest<'_>, rng: &mut dyn RngCoreCrypto) -> Result<Envelope, SealError> {
    let plan = req.plan;
    let ledger = req.trust.directory.ledger.as_str();
    let suite_id = check_request(req)?;
    let suite = suite_id.suite();
    let submitter = req.submitter.institution();
    let parties = admitted_parties(req)?;
    let met = plan.conditions_met(req.record);
    let field_recipients = field_recipients(req, &parties, &met)?;
    let all: BTreeSet<String> = field_recipients.iter().flatten().cloned().collect();
    let id = bind::envelope_id(suite, ledger, submitter, req.idempotency_key);
    let (recipients, data_keys) = wrap_data_keys(req, suite, &id, &all, rng)?;
    let mut sealer = FieldSealer {
        req,
        suite,
        id,
        all: &all,
        data_keys: &data_keys,
        bn254: predicates::bn254_fields(plan),
        set_fields: predicates::set_fields(plan),
        bn254_openings: BTreeMap::new(),
        set_openings: BTreeMap::new(),
        pedersen_openings: BTreeMap::new(),
    };
    let mut fields = Vec::with_capacity(plan.fields.len());
    for (i, ((f, value), to)) in plan
        .fields
        .iter()
        .zip(&req.record.values)
        .zip(&field_recipients)
        .enumerate()
    {
        if let Some(sealed) = sealer.field(i, f, value, to, rng)? {
            fields.push(sealed);
        }
    }
    let predicate_proofs =
        prove_predicates(req, &sealer.bn254_openings, &sealer.set_openings, rng)?;
    let range_proofs = prove_ranges(req, &id, &met, &sealer.pedersen_openings, rng)?;
    let mut env = Envelope {
        suite: suite_id,
        ledger: ledger.to_owned(),
        id,
        policy: PolicyRef {
            id: plan.id.clone(),
            version: plan.version,
            hash: plan.hash(),
        },
        submitter: submitter.to_owned(),
        timestamp_ms: req.timestamp_ms,
        idempotency_key: req.idempotency_key.to_owned(),
        recipients,
        fields,
        predicates: predicate_proofs,
        conditions: met,
        range_proofs,
        signing_key: Some(req.submitter.key_id()),
        padding: plan.padding.map(|_| crate::envelope::PADDING_POW2),
        signature: Vec::new(),
    };
    sign_envelope(&mut env, req.submitter).map_err(|why| SealError::KeyUse {
        submitter: submitter.to_owned(),
        why,
    })?;
    Ok(env)
}

/// The request itself: the policy binds this ledger and is sealable, its
/// suite exists, the idempotency key is well formed, and the submitter is
/// admitted at the record's time. Returns the suite.
fn check_request(req: &SealRequest<'_>) -> Result<SuiteId, SealError> {
    let plan = req.plan;
    let ledger = req.trust.directory.ledger.as_str();
    if !plan.binds(ledger) {
        return Err(SealError::WrongLedger {
            policy: plan.id.clone(),
            policy_ledger: plan.ledgers.join(", "),
            ledger: ledger.to_owned(),
        });
    }
    let suite_id =
        SuiteId::from_name(&plan.suite).ok_or_else(|| SealError::Suite(plan.suite.clone()))?;
    if plan.suite != req.trust.directory.suite {
        return Err(SealError::LedgerSuite {
            policy: plan.id.clone(),
            policy_suite: plan.suite.clone(),
            ledger: ledger.to_owned(),
            ledger_suite: req.trust.directory.suite.clone(),
        });
    }
    unsupported(plan).map_or(Ok(()), |why| Err(SealError::Unsupported(why)))?;
    if let Some((role, field)) = req.trust.directory.withheld(plan) {
        return Err(SealError::Withheld {
            ledger: ledger.to_owned(),
            policy: plan.id.clone(),
            role: role.to_owned(),
            field: field.to_owned(),
        });
    }
    if !valid_idempotency_key(req.idempotency_key) {
        return Err(SealError::IdempotencyKey);
    }
    check_pseudonyms(req)?;
    if plan.onchain
        && matches!(req.pseudonyms, Pseudonyms::Oblivious(_))
        && plan
            .fields
            .iter()
            .any(|f| matches!(f.disclosure, Disclosure::Pseudonym { .. }))
    {
        return Err(SealError::Unsupported(
            "`require proofs on chain` on a ledger with oblivious pseudonyms: the registry contract does not read format 6 envelopes yet".into(),
        ));
    }
    let submitter = req.submitter.institution();
    let Some(member) = req.trust.directory.member_at(submitter, req.timestamp_ms) else {
        return Err(SealError::SubmitterNotMember(submitter.to_owned()));
    };
    // Peers verify under the directory's word: an envelope signed with keys
    // of another suite or under another identifier would only be rejected.
    let keys_mismatch = |why: String| SealError::SubmitterKeys {
        submitter: submitter.to_owned(),
        ledger: ledger.to_owned(),
        why,
    };
    if req.submitter.suite() != suite_id {
        return Err(keys_mismatch(format!(
            "its keys are of suite `{}`",
            req.submitter.suite().name()
        )));
    }
    if member.signer_id() != req.submitter.signer_id() {
        return Err(keys_mismatch(
            "they sign under another distinguishing identifier (`distid`)".into(),
        ));
    }
    if let Some(k) = member
        .key_at(req.timestamp_ms)
        .filter(|k| k.frozen_at(req.timestamp_ms))
    {
        return Err(SealError::SigningKeyFrozen {
            submitter: submitter.to_owned(),
            key_id: k.id.hex(),
            frozen_from_ms: k.frozen_from_ms.unwrap_or_default(),
        });
    }
    let in_force = member.key_at(req.timestamp_ms).map(|k| k.id);
    if in_force != Some(req.submitter.key_id()) {
        return Err(SealError::SigningKey {
            submitter: submitter.to_owned(),
            ledger: ledger.to_owned(),
            offered: req.submitter.key_id().hex(),
            in_force: in_force.map_or_else(|| "none".to_owned(), |k| k.hex()),
            timestamp_ms: req.timestamp_ms,
        });
    }
    Ok(suite_id)
}

/// A ledger with a `pseudonyms` section takes oblivious pseudonyms of the
/// epoch in force at the record's time, and only those: a member-key
/// pseudonym there would be reversible by every member. A ledger without
/// one takes member-key pseudonyms (peers would reject anything else).
fn check_pseudonyms(req: &SealRequest<'_>) -> Result<(), SealError> {
    // A record with nothing to pseudonymise needs neither key nor epoch.
    if !req
        .plan
        .fields
        .iter()
        .any(|f| matches!(f.disclosure, Disclosure::Pseudonym { .. }))
    {
        return Ok(());
    }
    let directory = &req.trust.directory;
    let wanted = directory
        .pseudonyms
        .as_ref()
        .map(|p| p.epoch_at(req.timestamp_ms).map(|e| e.epoch));
    let ok = match (wanted, req.pseudonyms) {
        (None, Pseudonyms::MemberKey(_)) => true,
        (Some(Some(epoch)), Pseudonyms::Oblivious(tags)) => tags.epoch == epoch,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(SealError::Pseudonyms(match wanted {
        None => format!(
            "ledger `{}` has no pseudonymisation service in its directory: its pseudonyms are member-key HMACs",
            directory.ledger
        ),
        Some(None) => format!(
            "ledger `{}` has no pseudonym epoch in force at {} ms",
            directory.ledger, req.timestamp_ms
        ),
        Some(Some(epoch)) => format!(
            "ledger `{}` takes oblivious pseudonyms of epoch {epoch} at {} ms from its pseudonymisation service",
            directory.ledger, req.timestamp_ms
        ),
    }))
}

/// The record's party fields (field name → institution), each of which must
/// name an institution admitted to the ledger at the record's time; the
/// policy's submitter field must name the submitter.
fn admitted_parties<'r>(req: &'r SealRequest<'_>) -> Result<BTreeMap<&'r str, &'r str>, SealError> {
    let ledger = req.trust.directory.ledger.as_str();
    req.plan
        .check_submitter(req.record, req.submitter.institution())?;
    let mut parties = BTreeMap::new();
    for (f, v) in req.plan.fields.iter().zip(&req.record.values) {
        if let (FieldType::Party, Value::Party(p)) = (&f.ty, v) {
            if req.trust.directory.member_at(p, req.timestamp_ms).is_none() {
                return Err(RecordError {
                    field: f.name.clone(),
                    rule: format!("must name an institution admitted to ledger `{ledger}`"),
                }
                .into());
            }
            parties.insert(f.name.as_str(), p.as_str());
        }
    }
    Ok(parties)
}

/// The institutions each field goes to, in the plan's field order: its
/// disclosure's roles and those of the conditions the record meets (`met`).
fn field_recipients(
    req: &SealRequest<'_>,
    parties: &BTreeMap<&str, &str>,
    met: &[bool],
) -> Result<Vec<BTreeSet<String>>, SealError> {
    let ledger = req.trust.directory.ledger.as_str();
    req.plan
        .fields
        .iter()
        .map(|f| {
            resolve_roles(
                &req.plan.recipients_with(f, met),
                |n| parties.get(n).copied(),
                &req.trust.directory,
                req.timestamp_ms,
            )
            .map_err(|role| SealError::EmptyRole {
                role,
                ledger: ledger.to_owned(),
            })
        })
        .collect()
}

/// A field data key, wiped when dropped.
type DataKey = zeroize::Zeroizing<[u8; 32]>;

/// A fresh data key per recipient (never one shared key: a recipient must
/// not decrypt fields meant for others), each wrapped to its institution.
fn wrap_data_keys(
    req: &SealRequest<'_>,
    suite: &dyn crate::suite::Suite,
    id: &[u8; 16],
    all: &BTreeSet<String>,
    rng: &mut dyn RngCoreCrypto,
) -> Result<(Vec<Recipient>, Vec<DataKey>), SealError> {
    let info = bind::wrap_info(&req.trust.directory.ledger, id);
    let mut recipients = Vec::with_capacity(all.len());
    let mut data_keys = Vec::with_capacity(all.len());
    for inst in all {
        // The recipient's key in force at the record's time.
        let key = req
            .trust
            .directory
            .member(inst)
            .and_then(|m| m.key_at(req.timestamp_ms))
            .ok_or_else(|| SealError::MemberKey(inst.clone()))?;
        // Frozen at any time: a key reported lost gets nothing new, at once.
        if let Some(frozen_from_ms) = key.frozen_from_ms {
            return Err(SealError::RecipientKeyFrozen {
                recipient: inst.clone(),
                key_id: key.id.hex(),
                frozen_from_ms,
            });
        }
        let mut dk = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(dk.as_mut());
        let (enc, wrapped_key) = suite
            .wrap_key(key.kem, &key.kem_public, &info, inst.as_bytes(), &dk, rng)
            .map_err(|_| SealError::MemberKey(inst.clone()))?;
        recipients.push(Recipient {
            institution: inst.clone(),
            enc,
            wrapped_key,
            key: Some(WrapKey {
                id: key.id,
                kem: key.kem,
            }),
        });
        data_keys.push(dk);
    }
    Ok((recipients, data_keys))
}

/// Seals fields one by one, keeping the BN254 openings the predicates need.
struct FieldSealer<'a, 'r> {
    req: &'a SealRequest<'r>,
    suite: &'a dyn crate::suite::Suite,
    id: [u8; 16],
    /// Every recipient, in envelope order.
    all: &'a BTreeSet<String>,
    data_keys: &'a [DataKey],
    bn254: BTreeSet<&'a str>,
    /// Fields a set predicate names (committed to their set element).
    set_fields: BTreeSet<&'a str>,
    bn254_openings: BTreeMap<String, Bn254Opening>,
    set_openings: BTreeMap<String, SetOpening>,
    /// Pedersen openings by field, for the envelope's range proofs.
    pedersen_openings: BTreeMap<String, Opening>,
}

type Plaintext = Option<zeroize::Zeroizing<Vec<u8>>>;

impl FieldSealer<'_, '_> {
    /// Field `i` of the plan (its index counts dropped fields: it is the
    /// AES-GCM nonce), or `None` when it is dropped.
    fn field(
        &mut self,
        i: usize,
        f: &veilgate_policies::FieldPlan,
        value: &Value,
        to: &BTreeSet<String>,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<Option<SealedField>, SealError> {
        let Some((body, plaintext)) = self.body(f, value, rng)? else {
            return Ok(None);
        };
        let plaintext = match (self.req.plan.padding, plaintext) {
            (Some(p), Some(pt))
                if carries_value(&body, self.set_fields.contains(f.name.as_str())) =>
            {
                Some(zeroize::Zeroizing::new(p.pad(&pt).map_err(|_| {
                    RecordError {
                        field: f.name.clone(),
                        rule: "is too long to pad (at most 65,535 bytes)".into(),
                    }
                })?))
            }
            (_, pt) => pt,
        };
        let mut ciphertexts = Vec::with_capacity(to.len());
        if let Some(pt) = plaintext {
            for inst in to {
                ciphertexts.push(self.encrypt(i, &f.name, inst, &pt)?);
            }
        }
        Ok(Some(SealedField {
            name: f.name.clone(),
            body,
            ciphertexts,
        }))
    }

    /// What the ledger shows of a field, and what its recipients decrypt.
    fn body(
        &mut self,
        f: &veilgate_policies::FieldPlan,
        value: &Value,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<Option<(FieldBody, Plaintext)>, SealError> {
        let secret = |v: Vec<u8>| Some(zeroize::Zeroizing::new(v));
        Ok(Some(match &f.disclosure {
            Disclosure::Drop => return Ok(None),
            Disclosure::Public => (FieldBody::Public(value.encode()), None),
            Disclosure::Pseudonym { .. } => {
                let encoded = value.encode();
                let body = match self.req.pseudonyms {
                    Pseudonyms::MemberKey(key) => FieldBody::Pseudonym(self.suite.pseudonym(
                        &key.0,
                        &bind::pseudonym_input(&self.req.trust.directory.ledger, &encoded),
                    )),
                    Pseudonyms::Oblivious(tags) => FieldBody::Oblivious {
                        epoch: tags.epoch,
                        tag: tags.tag(&encoded).ok_or(SealError::Internal(
                            "a pseudonymised value has no tag from the pseudonymisation service",
                        ))?,
                    },
                };
                (body, secret(encoded))
            }
            Disclosure::Mask { .. } | Disclosure::Generalize { .. } => {
                let shown = value.derived(&f.disclosure).ok_or(SealError::Internal(
                    "a value the policy masks or generalises has no derived form",
                ))?;
                (FieldBody::Derived(shown.encode()), secret(value.encode()))
            }
            Disclosure::Encrypt { .. } => (FieldBody::Encrypted, secret(value.encode())),
            Disclosure::Commit { .. } if self.set_fields.contains(f.name.as_str()) => {
                let opening = SetOpening::random(value.clone(), rng);
                let commitment = to_bytes(&opening.commitment());
                let plaintext = secret(opening.to_bytes());
                self.set_openings.insert(f.name.clone(), opening);
                (FieldBody::Bn254Committed(commitment), plaintext)
            }
            Disclosure::Commit { range, .. } if self.bn254.contains(f.name.as_str()) => {
                if range.is_some() {
                    return Err(SealError::Unsupported(format!(
                        "field `{}` has both a range and a predicate",
                        f.name
                    )));
                }
                let x = predicates::bn254_integer(value).ok_or_else(|| RecordError {
                    field: f.name.clone(),
                    rule: "must be zero or more: the policy proves predicates about it".into(),
                })?;
                let opening = Bn254Opening::random(x, rng);
                let commitment = to_bytes(&opening.commitment());
                let plaintext = secret(opening.to_bytes());
                self.bn254_openings.insert(f.name.clone(), opening);
                (FieldBody::Bn254Committed(commitment), plaintext)
            }
            Disclosure::Commit { .. } => self.pedersen(f, value, rng)?,
            _ => return Err(SealError::Internal("a disclosure this build does not seal")),
        }))
    }

    /// A Pedersen commitment; its range, if it has one, is proven with the
    /// envelope's others once every field is sealed.
    fn pedersen(
        &mut self,
        f: &veilgate_policies::FieldPlan,
        value: &Value,
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(FieldBody, Plaintext), SealError> {
        let x = value.committed_integer().ok_or_else(|| RecordError {
            field: f.name.clone(),
            rule: "must be an integer or amount to be committed".into(),
        })?;
        let opening = Opening::random(x, &mut DynRng(rng));
        let body = FieldBody::Committed {
            commitment: opening.commit().0,
            proof: None,
        };
        let plaintext = Some(zeroize::Zeroizing::new(opening.to_bytes().to_vec()));
        self.pedersen_openings.insert(f.name.clone(), opening);
        Ok((body, plaintext))
    }

    /// The field's plaintext under recipient `inst`'s data key, bound by AAD
    /// to ledger, envelope, field and recipient.
    fn encrypt(
        &self,
        i: usize,
        field: &str,
        inst: &str,
        pt: &[u8],
    ) -> Result<FieldCiphertext, SealError> {
        let r = self
            .all
            .iter()
            .position(|x| x == inst)
            .ok_or(SealError::Internal(
                "a field recipient missing from the recipient list",
            ))?;
        let dk = self
            .data_keys
            .get(r)
            .ok_or(SealError::Internal("a recipient without a data key"))?;
        let aad = bind::field_aad(&self.req.trust.directory.ledger, &self.id, field, inst);
        let ciphertext = self
            .suite
            .seal_field(dk, bind::field_nonce(i), &aad, pt)
            .map_err(|_| SealError::Crypto)?;
        Ok(FieldCiphertext {
            recipient: u16::try_from(r)
                .map_err(|_| SealError::Internal("more than 65,535 recipients"))?,
            ciphertext,
        })
    }
}

/// The aggregated range proofs of the envelope's range facts (its policy
/// ranges cut by its condition outcomes), eight fields per proof.
fn prove_ranges(
    req: &SealRequest<'_>,
    id: &[u8; 16],
    met: &[bool],
    openings: &BTreeMap<String, Opening>,
    rng: &mut dyn RngCoreCrypto,
) -> Result<Vec<Vec<u8>>, SealError> {
    let facts = ranges::facts(req.plan, met).map_err(|field| RecordError {
        field,
        rule: "must lie in its policy range on the side of each condition it meets".into(),
    })?;
    let mut proofs = Vec::with_capacity(ranges::proof_count(facts.len()));
    for (k, group) in ranges::groups(&facts).enumerate() {
        let (intervals, names) = ranges::statement(group);
        let index = u8::try_from(k).map_err(|_| SealError::Internal("over 255 range proofs"))?;
        let context = bind::aggregate_context(&req.trust.directory.ledger, id, index, &names);
        let group_openings = names
            .iter()
            .map(|n| openings.get(*n).cloned())
            .collect::<Option<Vec<_>>>()
            .ok_or(SealError::Internal("a range fact without its opening"))?;
        let proof = AggregateRange {
            ranges: &intervals,
            context: &context,
        }
        .prove(&group_openings, &mut DynRng(rng))
        .map_err(|_| SealError::Proof(format!("`{}`", names.join("`, `"))))?;
        proofs.push(proof.0);
    }
    Ok(proofs)
}

/// A Groth16 proof of every predicate of the plan, under the trust's keys,
/// set predicates against the roots in force at the record's time.
fn prove_predicates(
    req: &SealRequest<'_>,
    openings: &BTreeMap<String, Bn254Opening>,
    set_openings: &BTreeMap<String, SetOpening>,
    rng: &mut dyn RngCoreCrypto,
) -> Result<Vec<crate::envelope::PredicateProof>, SealError> {
    let plan = req.plan;
    if plan.predicates.is_empty() {
        return Ok(Vec::new());
    }
    let public_value = |name: &str| {
        plan.fields
            .iter()
            .position(|f| f.name == name && f.disclosure == Disclosure::Public)
            .and_then(|i| req.record.values.get(i).cloned())
    };
    let witness = predicates::prove::Witness {
        openings,
        set_openings,
        public_value: &public_value,
        sets: &req.trust.sets,
        time_ms: req.timestamp_ms,
    };
    predicates::prove_all(plan, &witness, &req.trust.keys, rng).map_err(|e| match e {
        ProveError::False(what) => SealError::PredicateFalse(what),
        ProveError::Internal(why) => SealError::PredicateProof(why),
        ProveError::Set(why) => SealError::SetRoot(why),
    })
}

/// Whether a field's plaintext carries its value (and so is padded under a
/// `pad` line): a pseudonymised, encrypted or derived field's, and a set
/// field's opening. A commitment opening of a number is 40 bytes whatever
/// the value, so it is not padded.
pub(crate) fn carries_value(body: &FieldBody, set_field: bool) -> bool {
    match body {
        FieldBody::Pseudonym(_)
        | FieldBody::Oblivious { .. }
        | FieldBody::Encrypted
        | FieldBody::Derived(_) => true,
        FieldBody::Bn254Committed(_) => set_field,
        FieldBody::Public(_) | FieldBody::Committed { .. } => false,
    }
}

/// What this build cannot yet seal or verify in a plan, if anything: sums of
/// more terms than the circuit takes, conditions on fields committed on
/// BN254, a set field another predicate also names, and set predicates
/// checked on chain.
pub fn unsupported(plan: &Plan) -> Option<String> {
    if let Some(why) = plan
        .predicates
        .iter()
        .find_map(predicates::unsupported_predicate)
    {
        return Some(why);
    }
    let set_fields = predicates::set_fields(plan);
    if let Some(p) = plan.predicates.iter().find(|p| {
        !matches!(p, veilgate_policies::Predicate::Member { .. })
            && p.fields().iter().any(|f| set_fields.contains(f))
    }) {
        return Some(format!(
            "predicate `{}` names a field a set predicate also names; its commitment is to the value's set element, so this build does not prove both",
            p.describe()
        ));
    }
    // The registry contract reads the recipient count right after the
    // idempotency key, where format 5 puts its padding byte.
    if plan.onchain && plan.padding.is_some() {
        return Some("`require proofs on chain` with `pad`: the registry contract does not read format 5 envelopes yet".into());
    }
    if plan.onchain && !set_fields.is_empty() {
        return Some("`require proofs on chain` with a set predicate: the registry contract does not check set proofs yet".into());
    }
    let bn254 = predicates::bn254_fields(plan);
    if let Some(c) = plan
        .conditions
        .iter()
        .find(|c| bn254.contains(c.field.as_str()))
    {
        return Some(format!(
            "a condition on `{}`, which a predicate also proves facts about, needs a Groth16 proof of its outcome, which this build does not make yet",
            c.field
        ));
    }
    if let Some(f) = plan.fields.iter().find(|f| {
        matches!(f.disclosure, Disclosure::Commit { .. })
            && f.ty.scale().is_none()
            && !bn254.contains(f.name.as_str())
    }) {
        return Some(format!("a commitment to the {} field `{}` needs the Poseidon circuits, which this build does not include yet", f.ty.name(), f.name));
    }
    None
}

/// Signs (or re-signs) an envelope with `signer`. A format-4 envelope names
/// the signing key, so the name is set first and covered by the signature.
pub fn sign_envelope(env: &mut Envelope, signer: &dyn EnvelopeSigner) -> Result<(), KeyUseError> {
    if env.signing_key.is_some() {
        env.signing_key = Some(signer.key_id());
    }
    env.signature = signer.sign(&bind::signature_input(&env.signed_bytes()))?;
    Ok(())
}
