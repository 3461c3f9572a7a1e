//! `veilgate policy test`: policy test files — example records with the view
//! each role must get — run like unit tests. The format is JSON:
//!
//! ```json
//! { "policy": "interbank-payment.policy",
//!   "cases": [
//!     { "name": "sample payment", "record_file": "interbank-payment.sample.json",
//!       "expect": { "ledger observer": { "amount": "<commitment>" }, "regulator": { "amount": "1250000.00" } },
//!       "expect_proofs": ["amount in [0.01, 1000000000.00] (bulletproofs range proof)"] },
//!     { "name": "zero amount refused", "record": { "...": "..." }, "expect_error": { "field": "amount" } },
//!     { "name": "bank-b cannot pay from bank-a", "record_file": "interbank-payment.sample.json",
//!       "submitter": "bank-b", "expect_error": { "field": "payer_bank" } } ] }
//! ```
//!
//! A file may name member lists for the policy's sets (`"sets":
//! {"sanctions_list": "sets/sanctions_list.txt"}`, one member per line): its
//! cases then check the set predicates, and a case can expect a refusal by
//! predicate (`"expect_error": {"predicate": "beneficiary_name not in
//! sanctions_list"}`). Members and values compare after normalisation.
//!
//! A case lists, per role, the cells it checks (the texts `preview` prints).
//! Roles it does not list are not checked; a field it lists that the preview
//! lacks, or a role that does not exist, fails the case.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::plan::Plan;
use crate::preview::preview_record;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The policy file, relative to the test file.
    pub policy: String,
    /// Member lists of the policy's sets, by set name, relative to the test file.
    #[serde(default)]
    pub sets: BTreeMap<String, String>,
    pub cases: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    #[serde(default)]
    pub record: Option<serde_json::Value>,
    /// A record file relative to the test file, with optional overrides in `set`.
    #[serde(default)]
    pub record_file: Option<String>,
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
    /// The institution that submits the record (a policy with a `submitter`
    /// field refuses a record naming another one there). Default: the
    /// institution the record names, so cases need it only to test a refusal.
    #[serde(default)]
    pub submitter: Option<String>,
    #[serde(default)]
    pub expect: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub expect_proofs: Vec<String>,
    #[serde(default)]
    pub expect_conditions: Option<Vec<String>>,
    #[serde(default)]
    pub expect_error: Option<ExpectError>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectError {
    /// The record field refused.
    #[serde(default)]
    pub field: Option<String>,
    /// Or the predicate the record breaks, as the policy writes it.
    #[serde(default)]
    pub predicate: Option<String>,
}

impl ExpectError {
    fn describe(&self) -> String {
        match (&self.field, &self.predicate) {
            (Some(f), _) => format!("a refusal on field `{f}`"),
            (None, Some(p)) => format!("a refusal by `{p}`"),
            (None, None) => "a refusal".into(),
        }
    }
}

/// Why a case's record is refused: a field, or a predicate it breaks.
enum Refusal {
    Field(crate::RecordError),
    Predicate(String),
}

#[derive(Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    pub failures: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

pub fn parse_test_file(text: &str) -> Result<TestFile, String> {
    serde_json::from_str(text).map_err(|e| format!("test file: {e}"))
}

/// Runs every case. `load` reads a file named relative to the test file.
pub fn run(
    plan: &Plan,
    file: &TestFile,
    load: &dyn Fn(&str) -> Result<String, String>,
) -> Vec<CaseResult> {
    let mut sets = BTreeMap::new();
    let mut broken = Vec::new();
    for (name, path) in &file.sets {
        if !plan.sets.contains(name) {
            broken.push(format!("the policy declares no set `{name}`"));
        }
        match load(path) {
            Ok(text) => {
                let members: std::collections::BTreeSet<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(crate::record::normalize_member)
                    .collect();
                sets.insert(name.clone(), members);
            }
            Err(e) => broken.push(e),
        }
    }
    file.cases
        .iter()
        .map(|c| CaseResult {
            name: c.name.clone(),
            failures: if broken.is_empty() {
                run_case(plan, c, &sets, load)
            } else {
                broken.clone()
            },
        })
        .collect()
}

/// The first set predicate the record breaks, among those whose set the
/// test file lists.
fn set_refusal(
    plan: &Plan,
    record: &crate::Record,
    sets: &BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<String> {
    plan.predicates.iter().find_map(|p| match p {
        crate::plan::Predicate::Member {
            field,
            set,
            negated,
        } => {
            let members = sets.get(set)?;
            let i = plan.fields.iter().position(|f| &f.name == field)?;
            let value = crate::record::normalize_member(&record.values.get(i)?.display());
            (members.contains(&value) == *negated).then(|| p.describe())
        }
        _ => None,
    })
}

fn run_case(
    plan: &Plan,
    case: &TestCase,
    sets: &BTreeMap<String, std::collections::BTreeSet<String>>,
    load: &dyn Fn(&str) -> Result<String, String>,
) -> Vec<String> {
    let mut record = match (&case.record, &case.record_file) {
        (Some(r), None) => r.clone(),
        (None, Some(path)) => match load(path)
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("{path}: {e}")))
        {
            Ok(r) => r,
            Err(e) => return vec![e],
        },
        _ => return vec!["a case needs exactly one of `record` and `record_file`".into()],
    };
    if let Some(obj) = record.as_object_mut() {
        for (k, v) in &case.set {
            if v.is_null() {
                obj.remove(k);
            } else {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
    let mut failures = Vec::new();
    let previewed = plan
        .validate_record(&record)
        .and_then(|r| {
            if let Some(who) = &case.submitter {
                plan.check_submitter(&r, who)?;
            }
            Ok(r)
        })
        .map_err(Refusal::Field)
        .and_then(|r| match set_refusal(plan, &r, sets) {
            Some(p) => Err(Refusal::Predicate(p)),
            None => Ok(preview_record(plan, &r)),
        });
    match (previewed, &case.expect_error) {
        (Err(Refusal::Field(e)), Some(want)) if want.field.as_ref() == Some(&e.field) => {}
        (Err(Refusal::Predicate(p)), Some(want)) if want.predicate.as_ref() == Some(&p) => {}
        (Err(Refusal::Field(e)), Some(want)) => failures.push(format!(
            "refused on field `{}` ({e}), expected {}",
            e.field,
            want.describe()
        )),
        (Err(Refusal::Predicate(p)), Some(want)) => {
            failures.push(format!("refused by `{p}`, expected {}", want.describe()))
        }
        (Err(Refusal::Field(e)), None) => failures.push(format!("record refused: {e}")),
        (Err(Refusal::Predicate(p)), None) => {
            failures.push(format!("record refused: it breaks `{p}`"))
        }
        (Ok(_), Some(want)) => {
            failures.push(format!("record accepted, expected {}", want.describe()))
        }
        (Ok(p), None) => {
            for (role, cells) in &case.expect {
                if !p.columns.contains(role) {
                    failures.push(format!(
                        "no role `{role}` in this policy (roles: {})",
                        p.columns.join(", ")
                    ));
                    continue;
                }
                for (field, want) in cells {
                    match p.cell(role, field) {
                        Some(got) if &got.to_string() == want => {}
                        Some(got) => failures.push(format!(
                            "`{role}` sees `{field}` as {:?}, expected {want:?}",
                            got.to_string()
                        )),
                        None => failures.push(format!("no field `{field}` in this policy")),
                    }
                }
            }
            for want in &case.expect_proofs {
                if !p.proofs.contains(want) {
                    failures.push(format!(
                        "peers do not verify {want:?} (they verify: {:?})",
                        p.proofs
                    ));
                }
            }
            if let Some(want) = &case.expect_conditions {
                if &p.conditions_met != want {
                    failures.push(format!(
                        "conditions met {:?}, expected {want:?}",
                        p.conditions_met
                    ));
                }
            }
        }
    }
    failures
}
