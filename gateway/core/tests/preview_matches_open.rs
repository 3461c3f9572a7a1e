//! `veilgate policy preview` promises, before a policy goes live, exactly what
//! each role and each ledger observer will see of each field. This checks
//! the promise against the pipeline itself: for every template and random
//! valid records, the preview's cells against what `open` returns to each
//! member and what a peer without a key reads from the verified envelope.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::{open, FieldBody, InstitutionSecrets, OpenError, PolicySet, VerifiedEnvelope};
use veilgate_policies::preview::{preview, Cell, OBSERVER};
use veilgate_policies::record::{civil_from_days, days_from_civil, format_decimal};
use veilgate_policies::{CmpOp, Disclosure, FieldType, Plan, Predicate, Value, TEMPLATES};

/// What one institution actually sees of one field, in the preview's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    /// `open` returned the value (public, decrypted or a commitment opened);
    /// for a peer without a key, a public value read off the ledger.
    Clear(String),
    /// The masked or generalised form, in clear on the ledger.
    Derived(String),
    Ciphertext,
    Pseudonym,
    Commitment,
    /// The field is not in the envelope.
    Absent,
    /// On the ledger in clear (body kind named), yet `open` left it out.
    Omitted(&'static str),
}

fn promised(cell: &Cell) -> Seen {
    match cell {
        Cell::Value(v) => Seen::Clear(v.clone()),
        Cell::Derived(d) => Seen::Derived(d.clone()),
        Cell::Ciphertext => Seen::Ciphertext,
        Cell::Pseudonym => Seen::Pseudonym,
        Cell::Commitment => Seen::Commitment,
        Cell::Nothing => Seen::Absent,
    }
}

/// Every field as a peer holding no key reads it from the verified envelope.
fn ledger_view(v: &VerifiedEnvelope, plan: &Plan) -> BTreeMap<String, Seen> {
    let env = v.envelope();
    plan.fields
        .iter()
        .map(|f| {
            let seen = match env
                .fields
                .iter()
                .find(|s| s.name == f.name)
                .map(|s| &s.body)
            {
                None => Seen::Absent,
                Some(FieldBody::Public(b)) => {
                    Seen::Clear(Value::decode(&f.ty, b).unwrap().display())
                }
                Some(FieldBody::Derived(b)) => Seen::Derived(
                    Value::decode(&f.disclosure.derived_type(&f.ty), b)
                        .unwrap()
                        .display(),
                ),
                Some(FieldBody::Pseudonym(_) | FieldBody::Oblivious { .. }) => Seen::Pseudonym,
                Some(FieldBody::Committed { .. } | FieldBody::Bn254Committed(_)) => {
                    Seen::Commitment
                }
                Some(FieldBody::Encrypted) => Seen::Ciphertext,
            };
            (f.name.clone(), seen)
        })
        .collect()
}

/// Every field as institution `who` sees it after `open`: what open returns,
/// and for the rest the form the ledger holds. A non-recipient sees the
/// ledger view. Also checks that no ciphertext addressed to `who` went unread.
fn member_view(
    v: &VerifiedEnvelope,
    plan: &Plan,
    who: &InstitutionSecrets,
    fx: &Fixture,
) -> Result<BTreeMap<String, Seen>, TestCaseError> {
    let ledger = ledger_view(v, plan);
    let env = v.envelope();
    let name = who.public().id;
    let opened = match open(v, who, Some(&fx.pseudonym_key)) {
        Ok(o) => o,
        Err(OpenError::NotARecipient(_)) => {
            prop_assert!(!env.recipients.iter().any(|r| r.institution == name));
            return Ok(ledger);
        }
        Err(e) => return Err(TestCaseError::fail(format!("{name} opens: {e}"))),
    };
    let me = env
        .recipients
        .iter()
        .position(|r| r.institution == name)
        .unwrap();
    let mut out = BTreeMap::new();
    for f in &plan.fields {
        let got = opened.iter().find(|o| o.name == f.name);
        let sealed = env.fields.iter().find(|s| s.name == f.name);
        let seen = match (got, sealed) {
            (Some(o), _) => match o.access {
                veilgate_core::Access::Derived => Seen::Derived(o.value.display()),
                _ => Seen::Clear(o.value.display()),
            },
            (None, Some(s)) => {
                prop_assert!(
                    !s.ciphertexts.iter().any(|c| usize::from(c.recipient) == me),
                    "{name}: a ciphertext of `{}` is addressed to it but open left it out",
                    f.name
                );
                match &s.body {
                    FieldBody::Public(_) | FieldBody::Derived(_) => Seen::Omitted(s.body.kind()),
                    _ => ledger[&f.name].clone(),
                }
            }
            (None, None) => Seen::Absent,
        };
        out.insert(f.name.clone(), seen);
    }
    Ok(out)
}

// ---- random valid records, drawn from the compiled plan ----

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn date(y: i64, m: i64, d: i64) -> String {
    format!("{y:04}-{m:02}-{:02}", d.min(days_in_month(y, m)))
}

fn yyyymmdd(d: &str) -> i64 {
    d.replace('-', "").parse().unwrap()
}

fn any_date() -> BoxedStrategy<String> {
    let year = prop_oneof![4 => 1900i64..=2100, 1 => 1i64..=9999];
    (year, 1i64..=12, 1i64..=31)
        .prop_map(|(y, m, d)| date(y, m, d))
        .boxed()
}

/// An integer in `[lo, hi]`, its ends and each threshold's neighbours
/// (conditions flip there) drawn often.
fn integer_in(lo: i64, hi: i64, thresholds: &[i64]) -> BoxedStrategy<i64> {
    let mut edges = vec![lo, hi];
    for t in thresholds {
        edges.extend([t.saturating_sub(1), *t, t.saturating_add(1)]);
    }
    edges.retain(|x| (lo..=hi).contains(x));
    let mut options: Vec<(u32, BoxedStrategy<i64>)> = vec![
        (2, proptest::sample::select(edges).boxed()),
        (3, (lo..=hi).boxed()),
    ];
    // Both sides of each threshold, not just the side most of the range lies on.
    for t in thresholds {
        if lo < *t && *t <= hi {
            options.push((2, (lo..*t).boxed()));
            options.push((2, (*t..=hi).boxed()));
        }
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[A-Za-z0-9 .,'-]{0,24}",
        // Any printable text, multi-byte characters included.
        "\\PC{0,20}",
        "[\u{4e00}-\u{9fa5}]{1,8}",
        "[a-z0-9]{200,400}",
    ]
    .boxed()
}

const BN254_MAX: i64 = 1 << 58; // 16 terms of a sum stay under 2^62

fn field_strategy(plan: &Plan, i: usize, sample: &serde_json::Value) -> BoxedStrategy<Value> {
    let f = &plan.fields[i];
    let sampled = plan.validate_record(sample).unwrap().values.swap_remove(i);
    let thresholds: Vec<i64> = plan
        .conditions
        .iter()
        .filter(|c| c.field == f.name)
        .map(|c| c.threshold)
        .collect();
    let range = match &f.disclosure {
        Disclosure::Commit { range, .. } => *range,
        _ => None,
    };
    let in_predicate = plan
        .predicates
        .iter()
        .any(|p| p.fields().contains(&f.name.as_str()));
    let set = plan.predicates.iter().find_map(|p| match p {
        Predicate::Member {
            field,
            set,
            negated,
            ..
        } if *field == f.name => Some((set.clone(), *negated)),
        _ => None,
    });
    let (lo, hi) = match (range, in_predicate) {
        (Some(r), _) => r,
        (None, true) => (0, BN254_MAX),
        (None, false) => (i64::MIN, i64::MAX),
    };
    let drawn: BoxedStrategy<Value> = match (&f.ty, set) {
        (FieldType::String, Some((set, false))) => {
            // Members as written, or as a person might type them: sets compare normalised.
            (proptest::sample::select(dev_list(&set)), 0u8..3)
                .prop_map(|(m, how)| {
                    Value::Str(match how {
                        0 => m,
                        1 => m.to_lowercase(),
                        _ => format!("  {}  ", m.replace(' ', "   ")),
                    })
                })
                .boxed()
        }
        (FieldType::String, Some((set, true))) => {
            let listed: BTreeSet<String> = dev_list(&set)
                .iter()
                .map(|m| veilgate_core::sets::normalize(m))
                .collect();
            let near = dev_list(&set)
                .into_iter()
                .map(|m| format!("{m} Jr"))
                .collect::<Vec<_>>();
            prop_oneof![text(), proptest::sample::select(near)]
                .prop_filter("a listed name fails the non-membership proof", move |s| {
                    !listed.contains(&veilgate_core::sets::normalize(s))
                })
                .prop_map(Value::Str)
                .boxed()
        }
        (FieldType::String, None) => text().prop_map(Value::Str).boxed(),
        (FieldType::Integer, _) => integer_in(lo, hi, &thresholds).prop_map(Value::Int).boxed(),
        (FieldType::Amount { scale }, _) => {
            let scale = *scale;
            integer_in(lo, hi, &thresholds)
                .prop_map(move |minor| Value::Amount { minor, scale })
                .boxed()
        }
        (FieldType::Date, _) if range.is_some() || !thresholds.is_empty() => {
            // Committed dates are day numbers; keep to the years a date can write.
            let lo = lo.max(days_from_civil("0001-01-01").unwrap());
            let hi = hi.min(days_from_civil("9999-12-31").unwrap());
            integer_in(lo, hi, &thresholds)
                .prop_map(|d| Value::Date(civil_from_days(d).unwrap()))
                .boxed()
        }
        (FieldType::Date, _) => any_date().prop_map(Value::Date).boxed(),
        (FieldType::Bool, _) => any::<bool>().prop_map(Value::Bool).boxed(),
        (FieldType::Enum(variants), _) => proptest::sample::select(variants.clone())
            .prop_map(Value::Enum)
            .boxed(),
        (FieldType::Party, _) => {
            // The submitter must be a member this fixture can sign for; any
            // other party may be any institution on the ledger.
            let mut who: Vec<String> = MEMBERS.iter().map(|m| (*m).to_owned()).collect();
            if plan.submitter.as_deref() != Some(f.name.as_str()) {
                who.push(SET_AUTHORITY.to_owned());
            }
            proptest::sample::select(who).prop_map(Value::Party).boxed()
        }
        (FieldType::Bytes, _) => proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(Value::Bytes)
            .boxed(),
        (ty, _) => panic!("{}: no strategy for type {}", f.name, ty.name()),
    };
    prop_oneof![1 => Just(sampled), 5 => drawn].boxed()
}

fn index(plan: &Plan, field: &str) -> usize {
    plan.fields.iter().position(|f| f.name == field).unwrap()
}

fn integer_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Amount { minor, .. } => *minor,
        _ => panic!("not a number"),
    }
}

fn with_integer(v: &Value, x: i64) -> Value {
    match v {
        Value::Int(_) => Value::Int(x),
        Value::Amount { scale, .. } => Value::Amount {
            minor: x,
            scale: *scale,
        },
        _ => panic!("not a number"),
    }
}

/// Makes each predicate hold, so that every record drawn is one the policy
/// accepts: the test then keeps all of them (nothing is assumed away).
fn satisfy(plan: &Plan, values: &mut [Value], choice: u64) {
    for (k, p) in plan.predicates.iter().enumerate() {
        let bit = |b: u32| (choice >> ((k as u32 * 4 + b) % 64)) & 1 == 1;
        match p {
            Predicate::Compare { left, op, right } => {
                let (l, r) = (index(plan, left), index(plan, right));
                let (mut a, mut b) = (integer_of(&values[l]), integer_of(&values[r]));
                if bit(0) {
                    b = a; // the boundary, where a strict compare must refuse
                }
                // Order so that `a op b` holds.
                let (lo, hi) = (a.min(b), a.max(b));
                (a, b) = match op {
                    CmpOp::Le => (lo, hi),
                    CmpOp::Ge => (hi, lo),
                    CmpOp::Lt => (lo, hi.max(lo + 1)),
                    CmpOp::Gt => (hi.max(lo + 1), lo),
                    CmpOp::Eq => (a, a),
                };
                values[l] = with_integer(&values[l], a);
                values[r] = with_integer(&values[r], b);
            }
            Predicate::Sum { terms, total } => {
                let t = index(plan, total);
                let mut sum = 0i64;
                for term in terms {
                    let i = index(plan, term);
                    if bit(0) && term == &terms[0] {
                        values[i] = with_integer(&values[i], 0);
                    }
                    sum += integer_of(&values[i]);
                }
                values[t] = with_integer(&values[t], sum);
            }
            Predicate::AgeAtLeast { birth, at, years } => {
                let (b, a) = (index(plan, birth), index(plan, at));
                let (Value::Date(bd), Value::Date(ad)) = (&values[b], &values[a]) else {
                    panic!("age over non-dates");
                };
                let years = i64::from(*years);
                let ay: i64 = ad[..4].parse().unwrap();
                let (bm, bdd): (i64, i64) = (bd[5..7].parse().unwrap(), bd[8..].parse().unwrap());
                // Two years' slack keeps the birth year at 1 or later.
                let at = if ay < years + 2 {
                    format!("{:04}{}", years + 2 + ay % 50, &ad[4..])
                } else {
                    ad.clone()
                };
                let ay: i64 = at[..4].parse().unwrap();
                let at = date(ay, at[5..7].parse().unwrap(), at[8..].parse().unwrap());
                // Exactly `years` old on the day when the bit says so, else older.
                let mut by = if bit(1) {
                    ay - years
                } else {
                    (ay - years - 1 - (yyyymmdd(bd) % 60)).max(1)
                };
                let mut born = date(by, bm, bdd);
                if yyyymmdd(&born) + 10_000 * years > yyyymmdd(&at) {
                    by -= 1;
                    born = date(by, bm, bdd);
                }
                values[b] = Value::Date(born);
                values[a] = Value::Date(at);
            }
            Predicate::Member { .. } => {} // drawn from (or away from) the set
            other => panic!("no generator for predicate `{}`", other.describe()),
        }
    }
}

/// Amounts as a person writes them: trailing zeros of the fraction optional.
fn to_json(v: &Value, style: u8) -> serde_json::Value {
    match v {
        Value::Amount { minor, scale } => {
            let decimals = style % (scale + 1);
            let unit = 10i64.pow(u32::from(scale - decimals));
            if minor % unit == 0 {
                format_decimal(minor / unit, decimals).into()
            } else {
                format_decimal(*minor, *scale).into()
            }
        }
        other => other.to_json(),
    }
}

fn records(plan: &Plan, sample: &serde_json::Value) -> BoxedStrategy<serde_json::Value> {
    let fields: Vec<BoxedStrategy<Value>> = (0..plan.fields.len())
        .map(|i| field_strategy(plan, i, sample))
        .collect();
    let n = plan.fields.len();
    let plan = plan.clone();
    (
        fields,
        proptest::collection::vec(any::<u8>(), n),
        any::<u64>(),
    )
        .prop_map(move |(mut values, styles, choice)| {
            satisfy(&plan, &mut values, choice);
            let obj: serde_json::Map<String, serde_json::Value> = plan
                .fields
                .iter()
                .zip(&values)
                .zip(&styles)
                .map(|((f, v), s)| (f.name.clone(), to_json(v, *s)))
                .collect();
            serde_json::Value::Object(obj)
        })
        .boxed()
}

// ---- the property ----

static CASE: AtomicU64 = AtomicU64::new(0);

fn one_record(
    name: &str,
    plan: &Plan,
    fx: &Fixture,
    json: &serde_json::Value,
) -> Result<(), TestCaseError> {
    let shown = preview(plan, json)
        .map_err(|e| TestCaseError::fail(format!("{name}: preview refuses the record: {e}")))?;
    let record = plan.validate_record(json).unwrap();
    let key = format!("pv-{}", CASE.fetch_add(1, Ordering::Relaxed));
    let env = try_seal(fx, plan, json, &key)
        .map_err(|e| TestCaseError::fail(format!("{name}: seal refuses the record: {e}")))?;
    let mut dir = fx.directory.clone();
    dir.ledger = plan.ledgers[0].clone();
    let v = verify(
        &env.encode(),
        &PolicySet::new([plan.clone()]),
        &dir,
        &mut ChaCha20Rng::seed_from_u64(11),
    )
    .map_err(|e| TestCaseError::fail(format!("{name}: a peer rejects the envelope: {e}")))?;

    prop_assert_eq!(shown.columns.first().map(String::as_str), Some(OBSERVER));
    let fields: Vec<&str> = shown.rows.iter().map(|(f, _)| f.as_str()).collect();
    let planned: Vec<&str> = plan.fields.iter().map(|f| f.name.as_str()).collect();
    prop_assert_eq!(fields, planned, "{}: preview rows", name);

    // The observer column against the verified envelope and its JSON view.
    let ledger = ledger_view(&v, plan);
    let json_view = veilgate_core::view::envelope_json(v.envelope());
    for (field, _) in &shown.rows {
        let cell = shown.cell(OBSERVER, field).unwrap();
        prop_assert_eq!(
            &promised(cell),
            &ledger[field],
            "{}: field `{}`, column `{}`: preview shows {:?}, the ledger holds {:?}",
            name,
            field,
            OBSERVER,
            cell,
            &ledger[field]
        );
        let kind = json_view["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == field.as_str())
            .map(|f| f["kind"].as_str().unwrap().to_owned());
        let expected_kind = match cell {
            Cell::Value(_) => Some("public"),
            Cell::Derived(_) => Some("derived"),
            Cell::Ciphertext => Some("encrypted"),
            Cell::Pseudonym => Some("pseudonym"),
            Cell::Commitment => kind.as_deref().filter(|k| k.starts_with("committed")),
            Cell::Nothing => None,
        };
        prop_assert_eq!(
            kind.as_deref(),
            expected_kind,
            "{}: field `{}`: the JSON view's kind against preview {:?}",
            name,
            field,
            cell
        );
    }

    // Who holds each role column: a party field names its institution, a
    // ledger role is whoever the directory gives it to.
    let holders = |column: &str| -> Vec<String> {
        match plan.field(column) {
            Some(f) if f.ty == FieldType::Party => {
                vec![record.values[index(plan, column)].display()]
            }
            _ => dir.roles.get(column).cloned().unwrap_or_default(),
        }
    };
    let roles: Vec<(String, Vec<String>)> = shown.columns[1..]
        .iter()
        .map(|c| (c.clone(), holders(c)))
        .collect();
    for (column, held_by) in &roles {
        prop_assert!(!held_by.is_empty(), "{}: nobody holds `{}`", name, column);
    }

    // The four members and the set authority (which a party field may name).
    let authority = set_authority();
    for who in fx.secrets.values().chain([&authority]) {
        let id = who.public().id;
        let seen = member_view(&v, plan, who, fx)?;
        // `open` answers an institution, the preview a role: an institution
        // holding several roles sees each field in full if any of its roles
        // does; one holding none is a peer and sees the observer column.
        let mine: Vec<&str> = roles
            .iter()
            .filter(|(_, h)| h.contains(&id))
            .map(|(c, _)| c.as_str())
            .collect();
        for (field, _) in &shown.rows {
            let cells: Vec<&Cell> = if mine.is_empty() {
                vec![shown.cell(OBSERVER, field).unwrap()]
            } else {
                mine.iter().map(|c| shown.cell(c, field).unwrap()).collect()
            };
            let full = cells.iter().find(|c| matches!(c, Cell::Value(_)));
            let cell = match full {
                Some(c) => *c,
                None => {
                    prop_assert!(
                        cells.windows(2).all(|w| w[0] == w[1]),
                        "{}: field `{}`: roles {:?} of `{}` show different hidden forms {:?}",
                        name,
                        field,
                        mine,
                        id,
                        cells
                    );
                    cells[0]
                }
            };
            let column = if mine.is_empty() {
                format!("{OBSERVER} (`{id}` holds no role)")
            } else {
                format!("{} (held by `{id}`)", mine.join(", "))
            };
            prop_assert_eq!(
                &promised(cell),
                &seen[field],
                "{}: field `{}`, column {}: preview shows {:?}, open gives {:?}",
                name,
                field,
                column,
                cell,
                &seen[field]
            );
        }
    }
    Ok(())
}

fn preview_matches_open(name: &str, cases: u32) {
    let fx = fixture(21);
    let (plan, sample) = template(name);
    let strategy = records(&plan, &sample);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        // Each case seals with Groth16 proofs: keep shrinking short.
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    if let Err(e) = runner.run(&strategy, |json| one_record(name, &plan, &fx, &json)) {
        panic!("{name}: {e}");
    }
}

#[test]
fn every_template_is_covered() {
    let covered = [
        "interbank-payment.policy",
        "kyc-attestation.policy",
        "syndicated-loan.policy",
        "supply-chain-receivable.policy",
        "large-value-report.policy",
        "cross-border-remittance.policy",
    ];
    let all: BTreeSet<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
    assert_eq!(all, covered.into_iter().collect());
}

#[test]
fn interbank_payment() {
    preview_matches_open("interbank-payment.policy", 24);
}

#[test]
fn kyc_attestation() {
    preview_matches_open("kyc-attestation.policy", 12);
}

#[test]
fn syndicated_loan() {
    preview_matches_open("syndicated-loan.policy", 12);
}

#[test]
fn supply_chain_receivable() {
    preview_matches_open("supply-chain-receivable.policy", 12);
}

#[test]
fn large_value_report() {
    preview_matches_open("large-value-report.policy", 24);
}

#[test]
fn cross_border_remittance() {
    preview_matches_open("cross-border-remittance.policy", 12);
}
