//! Checker: syntax tree → plan. Every rule a policy must meet is here, each
//! failing with the position of the offending text.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{suggest, PolicyError, Span};
use crate::parse::{Action, Name, PolicyAst, TypeExpr};
use crate::plan::{Disclosure, FieldPlan, FieldType, Plan, Role};
use crate::record::parse_decimal;

/// Crypto suites a policy may name. `sm` (SM2/SM3/SM4) comes with its suite.
pub const SUITES: &[&str] = &["standard"];

const TYPES: &[&str] = &[
    "string", "integer", "bool", "date", "party", "amount", "enum",
];

pub fn check(ast: PolicyAst) -> Result<Plan, PolicyError> {
    let version: u32 = ast
        .version
        .0
        .parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            PolicyError::new(
                ast.version.1,
                "version must be a whole number from 1 to 4294967295",
            )
        })?;
    let suite = match &ast.suite {
        None => "standard".to_owned(),
        Some(s) if SUITES.contains(&s.text.as_str()) => s.text.clone(),
        Some(s) => {
            let e = PolicyError::new(s.span, format!("unknown crypto suite `{}`", s.text));
            return Err(match suggest(&s.text, SUITES.iter().copied()) {
                Some(h) => e.with_help(h),
                None => e.with_help(format!("known suites: {}", SUITES.join(", "))),
            });
        }
    };

    // Schema.
    let mut types: Vec<(Name, FieldType)> = Vec::new();
    for (name, ty) in &ast.fields {
        if let Some((first, _)) = types.iter().find(|(n, _)| n.text == name.text) {
            return Err(PolicyError::new(
                name.span,
                format!("field `{}` is declared twice", name.text),
            )
            .with_help(format!("first declared on line {}", first.span.line)));
        }
        types.push((name.clone(), field_type(ty)?));
    }
    if types.is_empty() {
        return Err(PolicyError::new(
            ast.rules_span,
            "the record declares no fields",
        ));
    }

    // Roles: party fields, plus declared ledger-wide roles.
    let party_fields: BTreeSet<&str> = types
        .iter()
        .filter(|(_, t)| *t == FieldType::Party)
        .map(|(n, _)| n.text.as_str())
        .collect();
    let mut ledger_roles = BTreeSet::new();
    for r in &ast.roles {
        if types.iter().any(|(n, _)| n.text == r.text) {
            return Err(PolicyError::new(
                r.span,
                format!("role `{}` has the name of a record field", r.text),
            )
            .with_help("a party field is already a role; other fields cannot be roles"));
        }
        if !ledger_roles.insert(r.text.clone()) {
            return Err(PolicyError::new(
                r.span,
                format!("role `{}` is declared twice", r.text),
            ));
        }
    }

    // Rules: exactly one per field.
    let mut rules: BTreeMap<&str, (Span, Disclosure)> = BTreeMap::new();
    for rule in &ast.rules {
        let Some((_, ty)) = types.iter().find(|(n, _)| n.text == rule.field.text) else {
            let e = PolicyError::new(
                rule.field.span,
                format!("`{}` is not a field of the record", rule.field.text),
            );
            return Err(
                match suggest(&rule.field.text, types.iter().map(|(n, _)| n.text.as_str())) {
                    Some(h) => e.with_help(h),
                    None => e,
                },
            );
        };
        if let Some((first, _)) = rules.get(rule.field.text.as_str()) {
            return Err(PolicyError::new(
                rule.field.span,
                format!("field `{}` has two disclosure rules", rule.field.text),
            )
            .with_help(format!(
                "the first is on line {}; a field has exactly one",
                first.line
            )));
        }
        let d = disclosure(&rule.field, ty, &rule.actions, &party_fields, &ledger_roles)?;
        rules.insert(&rule.field.text, (rule.field.span, d));
    }
    let mut fields = Vec::with_capacity(types.len());
    for (name, ty) in types {
        let Some((_, disclosure)) = rules.remove(name.text.as_str()) else {
            return Err(PolicyError::new(
                ast.rules_span,
                format!("field `{}` has no disclosure rule", name.text),
            )
            .with_help(format!("nothing is disclosed by default: add `{}: drop` if it must not leave the institution", name.text)));
        };
        fields.push(FieldPlan {
            name: name.text,
            ty,
            disclosure,
        });
    }

    // A party field that names a recipient must itself be public: the envelope's
    // recipient list shows the institution anyway, and peers need it to check
    // that the ciphertexts go to the parties the policy names.
    for f in &fields {
        for role in f.disclosure.recipients() {
            if let Role::Party(p) = role {
                let public = fields
                    .iter()
                    .any(|g| &g.name == p && g.disclosure == Disclosure::Public);
                if !public {
                    let span = ast
                        .rules
                        .iter()
                        .find(|r| &r.field.text == p)
                        .map_or(ast.rules_span, |r| r.field.span);
                    return Err(PolicyError::new(
                        span,
                        format!("party field `{p}` names a recipient, so it must be `public`"),
                    )
                    .with_help(format!(
                        "field `{}` is encrypted to `{p}`; peers check recipients against it",
                        f.name
                    )));
                }
            }
        }
    }

    Ok(Plan {
        id: ast.id.text,
        version,
        ledger: ast.ledger.text,
        suite,
        ledger_roles: ledger_roles.into_iter().collect(),
        fields,
        hash: [0; 32],
    }
    .seal_hash())
}

fn field_type(ty: &TypeExpr) -> Result<FieldType, PolicyError> {
    match ty {
        TypeExpr::Simple(n) => match n.text.as_str() {
            "string" => Ok(FieldType::String),
            "integer" => Ok(FieldType::Integer),
            "bool" => Ok(FieldType::Bool),
            "date" => Ok(FieldType::Date),
            "party" => Ok(FieldType::Party),
            "amount" | "enum" => Err(PolicyError::new(
                n.span,
                format!("type `{}` needs arguments", n.text),
            )
            .with_help("write `amount(2)` or `enum(A, B)`")),
            other => {
                let e = PolicyError::new(n.span, format!("unknown type `{other}`"));
                Err(match suggest(other, TYPES.iter().copied()) {
                    Some(h) => e.with_help(h),
                    None => e.with_help(format!("types are {}", TYPES.join(", "))),
                })
            }
        },
        TypeExpr::Amount { scale, span } => scale
            .parse::<u8>()
            .ok()
            .filter(|s| *s <= 18)
            .map(|scale| FieldType::Amount { scale })
            .ok_or_else(|| {
                PolicyError::new(
                    *span,
                    "decimal places of an amount must be a whole number from 0 to 18",
                )
            }),
        TypeExpr::Enum { variants, .. } => {
            let mut seen = BTreeSet::new();
            for v in variants {
                if !seen.insert(v.text.as_str()) {
                    return Err(PolicyError::new(
                        v.span,
                        format!("enum value `{}` is listed twice", v.text),
                    ));
                }
            }
            Ok(FieldType::Enum(
                variants.iter().map(|v| v.text.clone()).collect(),
            ))
        }
    }
}

fn disclosure(
    field: &Name,
    ty: &FieldType,
    actions: &[Action],
    party_fields: &BTreeSet<&str>,
    ledger_roles: &BTreeSet<String>,
) -> Result<Disclosure, PolicyError> {
    let mut base: Option<&Action> = None;
    let mut encrypt: Option<(Vec<Role>, Span)> = None;
    let mut range: Option<(&str, &str, Span)> = None;
    for a in actions {
        match a {
            Action::EncryptTo(names, span) => {
                if encrypt.is_some() {
                    return Err(PolicyError::new(
                        *span,
                        format!("field `{}` lists `encrypt to` twice", field.text),
                    )
                    .with_help("list every recipient in one `encrypt to [...]`"));
                }
                encrypt = Some((roles(names, party_fields, ledger_roles)?, *span));
            }
            Action::Range { lo, hi, span } => {
                if range.is_some() {
                    return Err(PolicyError::new(
                        *span,
                        format!("field `{}` has two ranges", field.text),
                    ));
                }
                range = Some((lo, hi, *span));
            }
            other => {
                if let Some(first) = base {
                    return Err(PolicyError::new(
                        other.span(),
                        format!("field `{}` has two disclosures", field.text),
                    )
                    .with_help(format!(
                        "`{}` already decides it; a field has exactly one",
                        describe(first)
                    )));
                }
                base = Some(other);
            }
        }
    }
    if let (Some(b @ (Action::Public(_) | Action::Drop(_))), Some((_, span))) = (base, &encrypt) {
        return Err(PolicyError::new(
            *span,
            format!("`{}` cannot be combined with `encrypt to`", describe(b)),
        )
        .with_help("a public field is readable by all; a dropped field by none"));
    }
    if let Some((_, _, span)) = range {
        if !matches!(base, Some(Action::Commit(_))) {
            return Err(PolicyError::new(
                span,
                "`range` is proven about a commitment: it needs `commit`",
            )
            .with_help(format!("write `{}: commit, range ...`", field.text)));
        }
    }
    let to = encrypt.map(|(r, _)| r).unwrap_or_default();
    Ok(match base {
        Some(Action::Public(_)) => Disclosure::Public,
        Some(Action::Drop(_)) => Disclosure::Drop,
        Some(Action::Pseudonym(span)) => {
            if matches!(ty, FieldType::Bool | FieldType::Enum(_)) {
                return Err(PolicyError::new(*span, format!("a pseudonym of a {} field hides nothing", ty.name()))
                    .with_help("it has so few values that anyone can hash them all; use `encrypt to` or `drop`"));
            }
            Disclosure::Pseudonym { reveal_to: to }
        }
        Some(Action::Commit(span)) => {
            let scale = match ty {
                FieldType::Integer => 0,
                FieldType::Amount { scale } => *scale,
                other => {
                    return Err(PolicyError::new(
                        *span,
                        format!(
                            "`commit` needs an integer or amount field, `{}` is {}",
                            field.text,
                            other.name()
                        ),
                    ))
                }
            };
            let range = match range {
                None => None,
                Some((lo, hi, span)) => {
                    let bound = |s: &str| {
                        parse_decimal(s, scale).ok_or_else(|| {
                            PolicyError::new(span, format!("range bound `{s}` is not a number with at most {scale} decimal places"))
                        })
                    };
                    let (lo, hi) = (bound(lo)?, bound(hi)?);
                    if lo > hi {
                        return Err(PolicyError::new(
                            span,
                            "range is empty: the lower bound exceeds the upper bound",
                        ));
                    }
                    Some((lo, hi))
                }
            };
            Disclosure::Commit { range, open_to: to }
        }
        None if !to.is_empty() => Disclosure::Encrypt { to },
        _ => {
            return Err(PolicyError::new(
                field.span,
                format!("field `{}` has no disclosure", field.text),
            )
            .with_help("one of `public`, `drop`, `pseudonym`, `commit`, `encrypt to [...]`"))
        }
    })
}

fn roles(
    names: &[Name],
    party_fields: &BTreeSet<&str>,
    ledger_roles: &BTreeSet<String>,
) -> Result<Vec<Role>, PolicyError> {
    let mut out = BTreeSet::new();
    for n in names {
        let role = if party_fields.contains(n.text.as_str()) {
            Role::Party(n.text.clone())
        } else if ledger_roles.contains(&n.text) {
            Role::Ledger(n.text.clone())
        } else {
            let e = PolicyError::new(n.span, format!("unknown role `{}`", n.text));
            let candidates = party_fields
                .iter()
                .copied()
                .chain(ledger_roles.iter().map(String::as_str));
            return Err(match suggest(&n.text, candidates) {
                Some(h) => e.with_help(h),
                None => {
                    e.with_help("a role is a `party` field or a name declared in `roles { ... }`")
                }
            });
        };
        if !out.insert(role) {
            return Err(PolicyError::new(
                n.span,
                format!("recipient `{}` is listed twice", n.text),
            ));
        }
    }
    Ok(out.into_iter().collect())
}

fn describe(a: &Action) -> &'static str {
    match a {
        Action::Public(_) => "public",
        Action::Drop(_) => "drop",
        Action::Pseudonym(_) => "pseudonym",
        Action::Commit(_) => "commit",
        Action::EncryptTo(..) => "encrypt to",
        Action::Range { .. } => "range",
    }
}
