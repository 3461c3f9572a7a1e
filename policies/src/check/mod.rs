//! Checker: syntax tree → plan. Every rule a policy must meet is here, one
//! file per concern, run in the order their results are needed:
//!
//! - [`header`]: id, version, ledgers, suite, requirements;
//! - [`schema`]: record fields and their types, sets;
//! - [`roles`]: declared roles, recipient lists, who must receive what;
//! - [`rules`]: the disclosure rule of each field;
//! - [`predicates`]: what peers verify in zero knowledge;
//! - [`conditions`]: `when` blocks.
//!
//! The checker reports every mistake it finds, each with the position of the
//! offending text, in file order. An item (a header line, a field, a role, a
//! rule, a predicate, a line of a `when` block) gets at most one diagnostic:
//! its first problem. An item that depends on a mistake already reported (a
//! rule for a field of unknown type, a predicate over a field whose rule is
//! wrong) is skipped, so one mistake gives one diagnostic, not a cascade.
//! A plan is built only from a policy with no mistake at all.

mod conditions;
mod header;
mod predicates;
mod roles;
mod rules;
mod schema;

use std::collections::BTreeSet;

use crate::error::{suggest, Diagnostics, PolicyError, Span};
use crate::parse::{Name, PolicyAst};
use crate::plan::{FieldPlan, FieldType, Plan};
use schema::Field;

/// A commitment proves something only through a proof: integers, amounts
/// and dates take a range or a predicate, but a string, enum or party field
/// is committed only as a set predicate's element (`x in SET`). Without one
/// the commitment hides a value nobody can check or open by proof, and the
/// gateway could not seal it.
fn commits_with_nothing_to_prove(
    fields: &[Field],
    rules: &rules::Rules<'_>,
    predicates: &BTreeSet<crate::plan::Predicate>,
    found: &mut Found,
) {
    for f in fields {
        let Some(ty) = f.ty.as_ref().filter(|t| t.scale().is_none()) else {
            continue;
        };
        let name = f.name.text.as_str();
        let committed = matches!(rules.of(name), Ok(crate::plan::Disclosure::Commit { .. }));
        let proven = predicates.iter().any(|p| p.fields().contains(&name));
        if committed && !proven {
            let span = rules.span_of(name).unwrap_or(f.name.span);
            found.push(
                err(
                    span,
                    format!(
                        "`commit` of the {} field `{name}` proves nothing",
                        ty.name()
                    ),
                )
                .with_help(format!(
                    "a {} is committed only for a set predicate (`{name} in SET` or `{name} not in SET` under `prove`); otherwise use `encrypt to`, `pseudonym` or `drop`",
                    ty.name()
                )),
            );
        }
    }
}

pub fn check(ast: PolicyAst) -> Result<Plan, Diagnostics> {
    let mut found = Found::default();
    let header = header::check(&ast, &mut found);
    let fields = schema::fields(&ast.fields, &mut found);
    let ledger_roles = roles::declare(&ast.roles, &fields, &mut found);
    let sets = schema::sets(&ast.sets, &fields, &ledger_roles, &mut found);
    let scope = Scope::new(&fields, &ledger_roles);
    let required = roles::required(header.require, &scope, &mut found);
    let sees_all = roles::required(header.sees_all, &scope, &mut found);
    let rules = rules::check(&ast.rules, &scope, &mut found);
    let predicates = predicates::check(&ast.proofs, &scope, &sets, &rules, &mut found);
    let conditions = conditions::check(&ast.whens, &scope, &rules, &mut found);
    let wanted = roles::Wanted {
        required: &required,
        sees_all: &sees_all,
    };
    roles::recipients(&scope, &rules, &conditions, wanted, &mut found);
    // Only once the rest is right: a mistaken predicate about the field, or
    // a rule that is wrong anyway, is the mistake to report.
    if found.0.is_empty() {
        commits_with_nothing_to_prove(&fields, &rules, &predicates, &mut found);
    }
    found.finish()?;

    // No mistake was found, so every field has its type and its disclosure.
    let fields = fields
        .iter()
        .filter_map(|f| {
            Some(FieldPlan {
                name: f.name.text.clone(),
                ty: f.ty.clone()?,
                disclosure: rules.of(&f.name.text).ok()?.clone(),
            })
        })
        .collect();
    Ok(Plan {
        id: ast.id.text.clone(),
        version: header.version,
        ledgers: header.ledgers,
        suite: header.suite,
        required,
        sees_all,
        submitter: rules.submitter.map(str::to_owned),
        ledger_roles: ledger_roles.into_iter().collect(),
        sets: sets.into_iter().collect(),
        fields,
        predicates: predicates.into_iter().collect(),
        conditions,
        onchain: header.onchain,
        keys: header.keys,
        padding: header.padding,
        hash: [0; 32],
    }
    .seal_hash())
}

/// The diagnostics found so far, in the order the passes found them.
#[derive(Default)]
struct Found(Vec<PolicyError>);

impl Found {
    fn push(&mut self, e: PolicyError) {
        self.0.push(e);
    }

    /// The value of an item that passed its checks. For one that did not,
    /// reports its mistake (unless it was reported already) and gives `None`.
    fn item<T>(&mut self, checked: Result<T, impl Into<Stop>>) -> Option<T> {
        match checked.map_err(Into::into) {
            Ok(value) => Some(value),
            Err(Stop::Mistake(e)) => {
                self.push(e);
                None
            }
            Err(Stop::Reported) => None,
        }
    }

    /// Every diagnostic, in file order, if there is any.
    fn finish(self) -> Result<(), Diagnostics> {
        match Diagnostics::new(self.0) {
            Some(d) => Err(d),
            None => Ok(()),
        }
    }
}

/// Why the check of an item stopped.
enum Stop {
    /// The item's own mistake.
    Mistake(PolicyError),
    /// A mistake in something the item depends on, reported where it is.
    Reported,
}

impl From<PolicyError> for Stop {
    fn from(e: PolicyError) -> Self {
        Stop::Mistake(e)
    }
}

/// The names that rules, predicates and conditions refer to.
struct Scope<'a> {
    fields: &'a [Field<'a>],
    party_fields: BTreeSet<&'a str>,
    ledger_roles: &'a BTreeSet<String>,
}

impl<'a> Scope<'a> {
    fn new(fields: &'a [Field<'a>], ledger_roles: &'a BTreeSet<String>) -> Self {
        let party_fields = fields
            .iter()
            .filter(|f| f.ty == Some(FieldType::Party))
            .map(|f| f.name.text.as_str())
            .collect();
        Scope {
            fields,
            party_fields,
            ledger_roles,
        }
    }

    /// The type of field `n`.
    fn field(&self, n: &Name) -> Result<&'a FieldType, Stop> {
        if self.unsure(&n.text) {
            return Err(Stop::Reported);
        }
        match self.fields.iter().find(|f| f.name.text == n.text) {
            Some(f) => f.ty.as_ref().ok_or(Stop::Reported),
            None => Err(with_suggestion(
                err(n.span, format!("`{}` is not a field of the record", n.text)),
                &n.text,
                self.fields.iter().map(|f| f.name.text.as_str()),
                None,
            )
            .into()),
        }
    }

    /// Whether the schema cannot say what `name` is because of a mistake it
    /// reported: `name` is a field of unknown type (perhaps a party), or the
    /// record declares no fields (so every field name would be unknown).
    fn unsure(&self, name: &str) -> bool {
        self.fields.is_empty()
            || self
                .fields
                .iter()
                .any(|f| f.ty.is_none() && f.name.text == name)
    }
}

fn err(span: Span, msg: impl Into<String>) -> PolicyError {
    PolicyError::new(span, msg)
}

/// Why `text`, written for a field of type `ty` (numbers at `scale`
/// decimals), is not a number the field holds: malformed, or well formed
/// but beyond what a signed 64-bit count of minor units holds. `what` names
/// the number (`range bound`, `threshold`). Values are held as `i64` minor
/// units, so the limits depend on the scale.
fn not_a_number(what: &str, text: &str, ty: &FieldType, scale: u8) -> String {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !digits.ends_with('.')
        && frac.len() <= usize::from(scale);
    if well_formed {
        format!(
            "{what} `{text}` is out of range for {}: it must be from {} to {}",
            ty.name(),
            crate::record::format_decimal(i64::MIN, scale),
            crate::record::format_decimal(i64::MAX, scale)
        )
    } else {
        format!("{what} `{text}` is not a number with at most {scale} decimal places")
    }
}

/// `e` with a "did you mean" help when `word` is close to a candidate, else
/// with `fallback` as its help.
fn with_suggestion<'a>(
    e: PolicyError,
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    fallback: Option<String>,
) -> PolicyError {
    match (suggest(word, candidates), fallback) {
        (Some(h), _) | (None, Some(h)) => e.with_help(h),
        (None, None) => e,
    }
}
