//! The schema: the record's fields and their types, and the sets that
//! membership predicates refer to.

use std::collections::BTreeSet;

use super::{err, with_suggestion, Found};
use crate::error::PolicyError;
use crate::parse::{Block, Name, TypeExpr};
use crate::plan::FieldType;

const TYPES: &[&str] = &[
    "string", "integer", "bool", "date", "party", "amount", "enum", "bytes",
];

/// A declared field. `ty` is `None` when its type is wrong (reported): later
/// passes skip what depends on it rather than report it again.
pub(super) struct Field<'a> {
    pub(super) name: &'a Name,
    pub(super) ty: Option<FieldType>,
}

/// The fields in declaration order, each once (a repeated one is reported
/// and left out).
pub(super) fn fields<'a>(block: &'a Block<(Name, TypeExpr)>, found: &mut Found) -> Vec<Field<'a>> {
    let mut out: Vec<Field<'a>> = Vec::new();
    for (name, ty) in block.items.iter().map(|i| &i.node) {
        if let Some(first) = out.iter().find(|f| f.name.text == name.text) {
            found.push(
                err(
                    name.span,
                    format!("field `{}` is declared twice", name.text),
                )
                .with_help(format!("first declared on line {}", first.name.span.line)),
            );
            continue;
        }
        let ty = found.item(field_type(ty));
        out.push(Field { name, ty });
    }
    if out.is_empty() {
        found.push(err(block.span, "the record declares no fields"));
    }
    out
}

fn field_type(ty: &TypeExpr) -> Result<FieldType, PolicyError> {
    match ty {
        TypeExpr::Simple(n) => simple_type(n),
        TypeExpr::Amount { scale, span } => scale
            .parse::<u8>()
            .ok()
            .filter(|s| *s <= 18)
            .map(|scale| FieldType::Amount { scale })
            .ok_or_else(|| {
                err(
                    *span,
                    "decimal places of an amount must be a whole number from 0 to 18",
                )
            }),
        TypeExpr::Enum { variants, .. } => {
            let mut seen = BTreeSet::new();
            for v in variants {
                if !seen.insert(v.text.as_str()) {
                    return Err(err(
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

fn simple_type(n: &Name) -> Result<FieldType, PolicyError> {
    match n.text.as_str() {
        "string" => Ok(FieldType::String),
        "integer" => Ok(FieldType::Integer),
        "bool" => Ok(FieldType::Bool),
        "date" => Ok(FieldType::Date),
        "party" => Ok(FieldType::Party),
        "bytes" => Ok(FieldType::Bytes),
        "amount" | "enum" => Err(err(n.span, format!("type `{}` needs arguments", n.text))
            .with_help("write `amount(2)` or `enum(A, B)`")),
        other => Err(with_suggestion(
            err(n.span, format!("unknown type `{other}`")),
            other,
            TYPES.iter().copied(),
            Some(format!("types are {}", TYPES.join(", "))),
        )),
    }
}

/// The declared sets. A set whose name is taken is reported but still
/// counted as declared, so predicates that use it are not reported too.
pub(super) fn sets(
    block: &Block<Name>,
    fields: &[Field<'_>],
    ledger_roles: &BTreeSet<String>,
    found: &mut Found,
) -> BTreeSet<String> {
    let mut sets = BTreeSet::new();
    for s in block.items.iter().map(|i| &i.node) {
        if fields.iter().any(|f| f.name.text == s.text) || ledger_roles.contains(&s.text) {
            found.push(err(
                s.span,
                format!("set `{}` has the name of a field or role", s.text),
            ));
        } else if sets.contains(&s.text) {
            found.push(err(s.span, format!("set `{}` is declared twice", s.text)));
        }
        sets.insert(s.text.clone());
    }
    sets
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::parse::parse;

    /// The schema pass on a record with `fields`: the fields it keeps and the
    /// messages it reports.
    fn record(fields: &str) -> (Vec<(String, Option<FieldType>)>, Vec<String>) {
        let src =
            format!("policy p version 1\nledger l\nrecord {{\n{fields}\n}}\ndisclose {{ }}\n");
        let ast = parse(&src).unwrap();
        let mut found = Found::default();
        let kept = super::fields(&ast.fields, &mut found)
            .into_iter()
            .map(|f| (f.name.text.clone(), f.ty))
            .collect();
        (kept, found.0.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn every_wrong_type_is_reported_and_its_field_kept_without_a_type() {
        let (fields, errors) = record("  a: strin\n  b: amount(19)\n  c: enum(X, X)\n  d: date");
        assert_eq!(
            fields,
            [
                ("a".to_owned(), None),
                ("b".to_owned(), None),
                ("c".to_owned(), None),
                ("d".to_owned(), Some(FieldType::Date)),
            ]
        );
        assert_eq!(
            errors,
            [
                "4:6: unknown type `strin`",
                "5:13: decimal places of an amount must be a whole number from 0 to 18",
                "6:14: enum value `X` is listed twice",
            ]
        );
    }

    #[test]
    fn a_field_declared_twice_is_reported_and_the_first_kept() {
        let (fields, errors) = record("  a: string\n  a: date");
        assert_eq!(fields, [("a".to_owned(), Some(FieldType::String))]);
        assert_eq!(errors, ["5:3: field `a` is declared twice"]);
    }
}
