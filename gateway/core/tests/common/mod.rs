//! The fixture shared by the core's integration tests: four members and a
//! set authority on one ledger, development Groth16 keys, sealing and
//! verifying as a peer does.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::predicates::KeyRing;
use veilgate_core::sets::{SetBook, SetContents, SetRoot};
use veilgate_core::{
    open, seal, Access, Envelope, InstitutionSecrets, LedgerDirectory, OpenError, PolicySet,
    PseudonymKey, Pseudonyms, Rejection, SealRequest, SetRule, SuiteId, Trust, VerifiedEnvelope,
};
use veilgate_policies::{compile, Plan, TEMPLATES};

pub const LEDGER: &str = "interbank-settlement";
pub const MEMBERS: [&str; 4] = ["bank-a", "bank-b", "bank-c", "regulator"];
pub const TIMESTAMP: u64 = 1_795_600_000_000;

/// One development key ring for the whole test binary: its keys are built
/// on first use, so sharing it keeps each circuit's setup to once.
pub fn keys() -> Arc<KeyRing> {
    static KEYS: OnceLock<Arc<KeyRing>> = OnceLock::new();
    KEYS.get_or_init(|| Arc::new(KeyRing::development()))
        .clone()
}

pub fn trust(directory: &LedgerDirectory, policies: &PolicySet) -> Trust {
    Trust::new(directory.clone(), policies.clone(), keys()).with_sets(dev_sets(directory))
}

/// The institution that publishes the fixture's set roots (deterministic, so
/// every trust built from a fixture's directory holds the same roots).
pub const SET_AUTHORITY: &str = "set-authority";
/// When the fixture's set roots (version 1) take force.
pub const SETS_FROM: u64 = TIMESTAMP - 60_000;

pub fn set_authority() -> InstitutionSecrets {
    InstitutionSecrets::generate(
        SET_AUTHORITY,
        SuiteId::Standard,
        &mut ChaCha20Rng::seed_from_u64(99),
    )
}

/// The template sets' development lists.
pub fn dev_list(set: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!(
        "{}/../../policies/templates/sets/{set}.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    veilgate_core::sets::members_from_text(&text)
}

/// Version 1 of every set the directory names, from the development lists,
/// published by the set authority, with its contents.
pub fn dev_sets(directory: &LedgerDirectory) -> SetBook {
    let mut book = SetBook::default();
    for set in directory.sets.keys() {
        publish(&mut book, directory, set, 1, &dev_list(set), SETS_FROM);
    }
    book
}

pub fn publish(
    book: &mut SetBook,
    directory: &LedgerDirectory,
    set: &str,
    version: u32,
    members: &[String],
    valid_from_ms: u64,
) {
    let contents = SetContents::build(&directory.ledger, set, version, members).unwrap();
    let entry = SetRoot::sign(&contents, valid_from_ms, &set_authority()).unwrap();
    // Through the bytes, as a peer reads the ledger.
    book.admit(SetRoot::decode(&entry.encode()).unwrap(), directory)
        .unwrap();
    book.add_contents(contents).unwrap();
}

/// `veilgate_core::verify` as a peer trusting `directory` and `policies`.
pub fn verify(
    bytes: &[u8],
    policies: &PolicySet,
    directory: &LedgerDirectory,
    rng: &mut ChaCha20Rng,
) -> Result<VerifiedEnvelope, Rejection> {
    veilgate_core::verify(bytes, &trust(directory, policies), rng)
}

pub fn verify_batch(
    envelopes: &[&[u8]],
    policies: &PolicySet,
    directory: &LedgerDirectory,
    rng: &mut ChaCha20Rng,
) -> Vec<Result<VerifiedEnvelope, Rejection>> {
    veilgate_core::verify_batch(envelopes, &trust(directory, policies), rng)
}

pub struct Fixture {
    pub plan: Plan,
    pub secrets: BTreeMap<&'static str, InstitutionSecrets>,
    pub directory: LedgerDirectory,
    pub pseudonym_key: PseudonymKey,
}

pub fn fixture(seed: u64) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let plan = compile(TEMPLATES[0].1).unwrap();
    let secrets: BTreeMap<_, _> = MEMBERS
        .iter()
        .map(|m| {
            (
                *m,
                InstitutionSecrets::generate(m, SuiteId::Standard, &mut rng),
            )
        })
        .collect();
    let directory = LedgerDirectory {
        ledger: LEDGER.into(),
        suite: "standard".into(),
        members: secrets
            .values()
            .map(|s| s.public())
            .chain([set_authority().public()])
            .collect(),
        roles: BTreeMap::from([
            ("regulator".to_owned(), vec!["regulator".to_owned()]),
            ("aml_monitor".to_owned(), vec!["bank-c".to_owned()]),
            (
                "sanctions_authority".to_owned(),
                vec![SET_AUTHORITY.to_owned()],
            ),
            ("kyc_authority".to_owned(), vec![SET_AUTHORITY.to_owned()]),
        ]),
        sees_all: Vec::new(),
        sets: BTreeMap::from([
            (
                "sanctions_list".to_owned(),
                SetRule {
                    publisher: "sanctions_authority".into(),
                },
            ),
            (
                "eligible_nationalities".to_owned(),
                SetRule {
                    publisher: "kyc_authority".into(),
                },
            ),
        ]),
        pseudonyms: None,
    };
    Fixture {
        plan,
        secrets,
        directory,
        pseudonym_key: PseudonymKey::generate(&mut rng),
    }
}

pub fn sample() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap()
}

pub fn seal_sample(
    fx: &Fixture,
    record: &serde_json::Value,
    key: &str,
    rng: &mut ChaCha20Rng,
) -> Envelope {
    let record = fx.plan.validate_record(record).unwrap();
    seal(
        &SealRequest {
            plan: &fx.plan,
            record: &record,
            trust: &trust(&fx.directory, &PolicySet::default()),
            submitter: &fx.secrets["bank-a"],
            pseudonyms: (&fx.pseudonym_key).into(),
            idempotency_key: key,
            timestamp_ms: TIMESTAMP,
        },
        rng,
    )
    .unwrap()
}

pub fn view(
    fx: &Fixture,
    bytes: &[u8],
    who: &str,
) -> Result<BTreeMap<String, (String, Access)>, OpenError> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let v = verify(
        bytes,
        &PolicySet::new([fx.plan.clone()]),
        &fx.directory,
        &mut rng,
    )
    .unwrap();
    Ok(open(&v, &fx.secrets[who], Some(&fx.pseudonym_key))?
        .into_iter()
        .map(|f| (f.name, (f.value.display(), f.access)))
        .collect())
}

pub fn names(m: &BTreeMap<String, (String, Access)>) -> BTreeSet<&str> {
    m.keys().map(String::as_str).collect()
}

pub fn template(name: &str) -> (Plan, serde_json::Value) {
    let (_, text) = TEMPLATES.iter().find(|(n, _)| *n == name).unwrap();
    let sample = std::fs::read_to_string(format!(
        "{}/../../policies/templates/{}",
        env!("CARGO_MANIFEST_DIR"),
        name.replace(".policy", ".sample.json")
    ))
    .unwrap();
    (
        compile(text).unwrap(),
        serde_json::from_str(&sample).unwrap(),
    )
}

pub fn try_seal(
    fx: &Fixture,
    plan: &Plan,
    record: &serde_json::Value,
    key: &str,
) -> Result<Envelope, veilgate_core::SealError> {
    try_seal_with(fx, plan, record, key, (&fx.pseudonym_key).into())
}

/// [`try_seal`] with the pseudonyms given: oblivious tags for a ledger whose
/// directory has a `pseudonyms` section.
pub fn try_seal_with(
    fx: &Fixture,
    plan: &Plan,
    record: &serde_json::Value,
    key: &str,
    pseudonyms: Pseudonyms<'_>,
) -> Result<Envelope, veilgate_core::SealError> {
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    let record = plan.validate_record(record).unwrap();
    seal(
        &SealRequest {
            plan,
            record: &record,
            trust: &trust(&dir, &PolicySet::default()),
            submitter: &fx.secrets[submitter_of(plan, &record)],
            pseudonyms,
            idempotency_key: key,
            timestamp_ms: TIMESTAMP,
        },
        // A different stream per key: two envelopes never share blindings.
        &mut ChaCha20Rng::seed_from_u64(
            key.bytes()
                .fold(9u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b))),
        ),
    )
}

/// The member a template's record names as its submitter (bank-a when the
/// policy has no submitter field).
pub fn submitter_of(plan: &Plan, record: &veilgate_policies::Record) -> &'static str {
    let named = plan.submitter_in(record);
    MEMBERS
        .into_iter()
        .find(|m| named == Some(*m))
        .unwrap_or("bank-a")
}

pub fn check(fx: &Fixture, plan: &Plan, env: &Envelope) -> Result<(), Rejection> {
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    verify(
        &env.encode(),
        &PolicySet::new([plan.clone()]),
        &dir,
        &mut ChaCha20Rng::seed_from_u64(10),
    )
    .map(|_| ())
}
