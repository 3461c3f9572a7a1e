//! Conditions: `when FIELD cmp NUMBER { field: encrypt to [...] }` adds
//! recipients to fields of records that meet a threshold. The `when` line and
//! each line of its block are checked on their own, each reporting its first
//! mistake; a block with any mistake adds nothing to the plan.

use std::collections::BTreeMap;

use super::rules::Rules;
use super::{err, roles, Found, Scope, Stop};
use crate::error::PolicyError;
use crate::parse::{Item, Name, WhenAst};
use crate::plan::{Condition, Disclosure, FieldType, Role};
use crate::record::parse_decimal;

/// The conditions without a mistake, in policy order.
pub(super) fn check(
    whens: &[Item<WhenAst>],
    scope: &Scope<'_>,
    rules: &Rules<'_>,
    found: &mut Found,
) -> Vec<Condition> {
    whens
        .iter()
        .filter_map(|item| condition(&item.node, scope, rules, found))
        .collect()
}

fn condition(
    w: &WhenAst,
    scope: &Scope<'_>,
    rules: &Rules<'_>,
    found: &mut Found,
) -> Option<Condition> {
    let threshold = found.item(threshold(w, scope, rules));
    let extra = extra(w, scope, rules, found);
    if w.extra.is_empty() {
        found.push(err(w.span, "this `when` block adds nothing"));
    }
    Some(Condition {
        field: w.field.text.clone(),
        op: w.op,
        threshold: threshold?,
        extra: extra?.into_iter().collect(),
    })
}

/// The recipients the block adds, by field; `None` if a line has a mistake.
fn extra(
    w: &WhenAst,
    scope: &Scope<'_>,
    rules: &Rules<'_>,
    found: &mut Found,
) -> Option<BTreeMap<String, Vec<Role>>> {
    let mut extra = BTreeMap::new();
    let mut complete = true;
    for line in &w.extra {
        let (f, names) = &line.node;
        let checked = recipients(f, names, scope, rules).and_then(|roles| {
            if extra.contains_key(&f.text) {
                let e = err(
                    f.span,
                    format!("field `{}` appears twice in this `when` block", f.text),
                );
                return Err(e.into());
            }
            Ok(roles)
        });
        match found.item(checked) {
            Some(roles) => {
                extra.insert(f.text.clone(), roles);
            }
            None => complete = false,
        }
    }
    complete.then_some(extra)
}

/// The threshold in the field's minor units. Peers check the condition
/// against the field's public value or its commitment.
fn threshold(w: &WhenAst, scope: &Scope<'_>, rules: &Rules<'_>) -> Result<i64, Stop> {
    let ty = scope.field(&w.field)?;
    let scale = match ty {
        FieldType::Integer | FieldType::Amount { .. } => ty.scale().unwrap_or(0),
        other => {
            return Err(err(
                w.field.span,
                format!(
                    "a condition needs an integer or amount field, `{}` is {}",
                    w.field.text,
                    other.name()
                ),
            )
            .into())
        }
    };
    let rule = rules.of(&w.field.text)?;
    if matches!(rule, Disclosure::Commit { .. }) && w.op == crate::plan::CmpOp::Eq {
        return Err(err(
            w.field.span,
            format!(
                "a condition on the committed field `{}` cannot use `==`",
                w.field.text
            ),
        )
        .with_help("peers see a range proof of the outcome: `==` met would reveal the value, and not met is two ranges; use `<`, `<=`, `>` or `>=`")
        .into());
    }
    if !matches!(rule, Disclosure::Public | Disclosure::Commit { .. }) {
        return Err(err(
            w.field.span,
            format!(
                "a condition on `{}` needs it `public` or `commit`ted",
                w.field.text
            ),
        )
        .with_help("peers check the condition against the public value or the commitment")
        .into());
    }
    Ok(parse_decimal(&w.value.0, scale).ok_or_else(|| not_a_number(w, ty, scale))?)
}

fn not_a_number(w: &WhenAst, ty: &FieldType, scale: u8) -> PolicyError {
    let msg = super::not_a_number("threshold", &w.value.0, ty, scale);
    err(
        w.value.1,
        // The malformed case keeps the wording it always had.
        msg.strip_prefix("threshold ").unwrap_or(&msg).to_owned(),
    )
}

/// The recipients one line of the block adds to field `f`: only a field
/// that is neither public nor dropped has recipients to add to.
fn recipients(
    f: &Name,
    names: &[Name],
    scope: &Scope<'_>,
    rules: &Rules<'_>,
) -> Result<Vec<Role>, Stop> {
    scope.field(f)?;
    if let Disclosure::Public | Disclosure::Drop = rules.of(&f.text)? {
        return Err(err(
            f.span,
            format!(
                "field `{}` is public or dropped: a condition cannot add recipients to it",
                f.text
            ),
        )
        .into());
    }
    roles::resolve(names, scope)
}
