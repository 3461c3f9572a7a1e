//! Roles: who may receive a field. A role is a `party` field (the institution
//! the record names) or a ledger-wide name declared in `roles { ... }`. This
//! pass declares the ledger roles, resolves recipient lists, and checks, once
//! every disclosure is known, that recipients are consistent: a party that
//! receives a field is public, every field that goes to anyone reaches the
//! roles the policy requires, and the roles that must see all see every field.

use std::collections::BTreeSet;

use super::rules::Rules;
use super::schema::Field;
use super::{err, with_suggestion, Found, Scope, Stop};
use crate::error::PolicyError;
use crate::parse::{Block, Name};
use crate::plan::{Condition, Disclosure, Role};

/// The ledger roles, sorted. A role whose declaration is wrong is reported
/// but still counted, so rules that name it are not reported too.
pub(super) fn declare(
    block: &Block<Name>,
    fields: &[Field<'_>],
    found: &mut Found,
) -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    for r in block.items.iter().map(|i| &i.node) {
        if fields.iter().any(|f| f.name.text == r.text) {
            found.push(
                err(
                    r.span,
                    format!("role `{}` has the name of a record field", r.text),
                )
                .with_help("a party field is already a role; other fields cannot be roles"),
            );
        } else if roles.contains(&r.text) {
            found.push(err(r.span, format!("role `{}` is declared twice", r.text)));
        }
        roles.insert(r.text.clone());
    }
    roles
}

/// A recipient list as roles, sorted; its first unknown or repeated name
/// stops it.
pub(super) fn resolve(names: &[Name], scope: &Scope<'_>) -> Result<Vec<Role>, Stop> {
    let mut out = BTreeSet::new();
    for n in names {
        let role = if scope.party_fields.contains(n.text.as_str()) {
            Role::Party(n.text.clone())
        } else if scope.ledger_roles.contains(&n.text) {
            Role::Ledger(n.text.clone())
        } else if scope.unsure(&n.text) {
            return Err(Stop::Reported);
        } else {
            return Err(unknown(n, scope).into());
        };
        if !out.insert(role) {
            return Err(err(n.span, format!("recipient `{}` is listed twice", n.text)).into());
        }
    }
    Ok(out.into_iter().collect())
}

fn unknown(n: &Name, scope: &Scope<'_>) -> PolicyError {
    let candidates = scope
        .party_fields
        .iter()
        .copied()
        .chain(scope.ledger_roles.iter().map(String::as_str));
    with_suggestion(
        err(n.span, format!("unknown role `{}`", n.text)),
        &n.text,
        candidates,
        Some("a role is a `party` field or a name declared in `roles { ... }`".into()),
    )
}

/// The roles of `require encrypt to [...]`; none when the line is absent or
/// wrong (then no field is held to it, as that would repeat the mistake).
pub(super) fn required(
    require: Option<&[Name]>,
    scope: &Scope<'_>,
    found: &mut Found,
) -> Vec<Role> {
    require
        .and_then(|names| found.item(resolve(names, scope)))
        .unwrap_or_default()
}

/// Who the header says must receive what.
#[derive(Clone, Copy)]
pub(super) struct Wanted<'a> {
    /// `require encrypt to [...]`: every field that goes to anyone.
    pub(super) required: &'a [Role],
    /// `require all fields to [...]`: every field, in full.
    pub(super) sees_all: &'a [Role],
}

/// The checks that need every disclosure and condition. Fields and
/// conditions with a mistake (reported) are left out of them.
pub(super) fn recipients(
    scope: &Scope<'_>,
    rules: &Rules<'_>,
    conditions: &[Condition],
    wanted: Wanted<'_>,
    found: &mut Found,
) {
    let reported = parties_are_public(scope, rules, conditions, found);
    required_are_reached(scope, rules, wanted, &reported, found);
}

/// A party field that names a recipient must itself be public: the envelope's
/// recipient list shows the institution anyway, and peers need it to check
/// that the ciphertexts go to the parties the policy names. Each party is
/// reported once, naming the first field that goes to it; the parties
/// reported are returned.
fn parties_are_public<'r>(
    scope: &Scope<'_>,
    rules: &'r Rules<'_>,
    conditions: &'r [Condition],
    found: &mut Found,
) -> BTreeSet<&'r str> {
    let by_rule = scope.fields.iter().filter_map(|f| {
        Some((
            f.name.text.as_str(),
            rules.of(&f.name.text).ok()?.recipients(),
        ))
    });
    let by_condition = conditions
        .iter()
        .flat_map(|c| c.extra.iter().map(|(f, r)| (f.as_str(), r.as_slice())));
    let mut reported = BTreeSet::new();
    for (field, roles) in by_rule.chain(by_condition) {
        for role in roles {
            let Role::Party(p) = role else { continue };
            let (Ok(d), Some(span)) = (rules.of(p), rules.span(p)) else {
                continue;
            };
            if *d != Disclosure::Public && reported.insert(p.as_str()) {
                found.push(
                    err(
                        span,
                        format!("party field `{p}` names a recipient, so it must be `public`"),
                    )
                    .with_help(format!(
                        "field `{field}` is encrypted to `{p}`; peers check recipients against it"
                    )),
                );
            }
        }
    }
    reported
}

/// The header's requirements: every field that goes to anyone reaches the
/// required roles, and every field reaches the roles that see all. A party
/// whose rule is reported as not public is left out: making it public, the
/// fix, makes it reach no one and everyone see it, as it should.
fn required_are_reached(
    scope: &Scope<'_>,
    rules: &Rules<'_>,
    wanted: Wanted<'_>,
    not_public: &BTreeSet<&str>,
    found: &mut Found,
) {
    for f in scope.fields {
        let name = f.name.text.as_str();
        let (Ok(d), Some(span)) = (rules.of(name), rules.span(name)) else {
            continue;
        };
        if not_public.contains(name) {
            continue;
        }
        let r = d.recipients();
        if let Some(e) = sees_all(name, span, d, wanted.sees_all) {
            found.push(e);
            continue;
        }
        // Public and dropped fields carry no ciphertext. Any other disclosure
        // hides the value on the ledger, so someone must be able to open it.
        let hidden_on_ledger = matches!(
            d,
            Disclosure::Commit { .. }
                | Disclosure::Pseudonym { .. }
                | Disclosure::Mask { .. }
                | Disclosure::Generalize { .. }
        );
        if r.is_empty() && !hidden_on_ledger {
            continue;
        }
        if let Some(missing) = wanted.required.iter().find(|q| !r.contains(q)) {
            found.push(
                err(
                    span,
                    format!(
                        "field `{name}` does not reach `{}`, which this policy requires",
                        missing.name()
                    ),
                )
                .with_help(format!(
                    "add `{}` to its `encrypt to [...]`",
                    missing.name()
                )),
            );
        }
    }
}

/// A field every role of `require all fields to [...]` sees: public, or
/// encrypted in full to each (a mask, generalisation, pseudonym or
/// commitment shows the ledger less, so its value goes to them too).
fn sees_all(
    name: &str,
    span: crate::error::Span,
    d: &Disclosure,
    roles: &[Role],
) -> Option<PolicyError> {
    let role = roles.first()?.name();
    if *d == Disclosure::Drop {
        return Some(
            err(
                span,
                format!("field `{name}` is dropped, but `{role}` must see every field"),
            )
            .with_help(format!(
                "the policy says `require all fields to [...]`: write `{name}: encrypt to [{role}]` so only `{role}` reads it"
            )),
        );
    }
    if *d == Disclosure::Public {
        return None;
    }
    let missing = roles.iter().find(|q| !d.recipients().contains(q))?;
    Some(
        err(
            span,
            format!(
                "field `{name}` (`{}`) is not encrypted to `{}`, who must see every field",
                d.keyword(),
                missing.name()
            ),
        )
        .with_help(format!(
            "add `{}` to its `encrypt to [...]` (`require all fields to [...]`)",
            missing.name()
        )),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::parse::parse;
    use crate::plan::FieldType;

    fn ast(roles: &str) -> crate::parse::PolicyAst {
        let src = format!(
            "policy p version 1\nledger l\nrecord {{\n  bank: party\n  note: string\n  odd: strng\n}}\n{roles}\ndisclose {{ }}\n"
        );
        parse(&src).unwrap()
    }

    fn fields(ast: &crate::parse::PolicyAst) -> Vec<Field<'_>> {
        let ty = |i: usize| [Some(FieldType::Party), Some(FieldType::String), None][i].clone();
        ast.fields
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| Field {
                name: &item.node.0,
                ty: ty(i),
            })
            .collect()
    }

    fn messages(found: &Found) -> Vec<String> {
        found.0.iter().map(|e| e.to_string()).collect()
    }

    fn names(list: &[&str]) -> Vec<Name> {
        list.iter()
            .enumerate()
            .map(|(i, n)| Name {
                text: (*n).to_owned(),
                span: crate::Span {
                    line: 20,
                    col: 1 + 10 * i as u32,
                    len: n.len() as u32,
                },
            })
            .collect()
    }

    #[test]
    fn every_bad_declaration_is_reported_and_still_counted() {
        let ast = ast("roles { regulator note regulator auditor }");
        let fields = fields(&ast);
        let mut found = Found::default();
        let roles = declare(&ast.roles, &fields, &mut found);
        assert_eq!(
            roles.iter().map(String::as_str).collect::<Vec<_>>(),
            ["auditor", "note", "regulator"]
        );
        assert_eq!(
            messages(&found),
            [
                "8:19: role `note` has the name of a record field",
                "8:24: role `regulator` is declared twice",
            ]
        );
    }

    #[test]
    fn recipients_resolve_to_parties_and_ledger_roles() {
        let ast = ast("roles { regulator }");
        let fields = fields(&ast);
        let mut found = Found::default();
        let roles = declare(&ast.roles, &fields, &mut found);
        let scope = Scope::new(&fields, &roles);
        let ok = resolve(&names(&["regulator", "bank"]), &scope)
            .ok()
            .unwrap();
        assert_eq!(
            ok,
            [Role::Party("bank".into()), Role::Ledger("regulator".into())]
        );
        let stop = |list: &[&str]| match resolve(&names(list), &scope) {
            Err(Stop::Mistake(e)) => Some((e.to_string(), e.help)),
            Err(Stop::Reported) => None,
            Ok(r) => panic!("{list:?} resolved to {r:?}"),
        };
        assert_eq!(
            stop(&["bank", "regulatr"]),
            Some((
                "20:11: unknown role `regulatr`".into(),
                Some("did you mean `regulator`?".into())
            ))
        );
        // A field that is not a party is no role.
        assert_eq!(
            stop(&["note"]).map(|e| e.0),
            Some("20:1: unknown role `note`".into())
        );
        assert_eq!(
            stop(&["bank", "regulator", "bank"]).map(|e| e.0),
            Some("20:21: recipient `bank` is listed twice".into())
        );
        // `odd` has an unknown type (reported by the schema): it might be a
        // party, so naming it is no second mistake.
        assert_eq!(stop(&["odd"]), None);
        assert!(found.0.is_empty());
    }

    #[test]
    fn a_required_list_with_a_mistake_requires_nothing() {
        let ast = ast("roles { regulator }");
        let fields = fields(&ast);
        let mut found = Found::default();
        let roles = declare(&ast.roles, &fields, &mut found);
        let scope = Scope::new(&fields, &roles);
        let list = names(&["regulator", "auditor"]);
        assert_eq!(required(Some(&list), &scope, &mut found), []);
        assert_eq!(messages(&found), ["20:11: unknown role `auditor`"]);
        let list = names(&["regulator"]);
        assert_eq!(
            required(Some(&list), &scope, &mut found),
            [Role::Ledger("regulator".into())]
        );
        assert_eq!(required(None, &scope, &mut found), []);
        assert_eq!(found.0.len(), 1);
    }
}
