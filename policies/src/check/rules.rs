//! Disclosure rules: exactly one per field, each a base disclosure (`public`,
//! `drop`, `pseudonym`, `commit`, `mask`, `generalize`) and/or recipients
//! (`encrypt to [...]`), a `range` on a commitment, and `submitter` on the
//! public party field that names the submitting institution. Every rule is
//! checked; each reports its first mistake.

use std::collections::BTreeMap;

use super::{err, roles, Found, Scope, Stop};
use crate::error::{PolicyError, Span};
use crate::parse::{Action, Block, Generalize, Name, Rule};
use crate::plan::{Disclosure, FieldType, Generalization, Role};
use crate::record::parse_decimal;

/// The rule of each field that has one, where it is written, and its
/// disclosure if the rule has no mistake.
pub(super) struct Rules<'a> {
    by_field: BTreeMap<&'a str, (Span, Option<Disclosure>)>,
    /// The field marked `submitter`, if one is (and its rule is right).
    pub(super) submitter: Option<&'a str>,
}

impl Rules<'_> {
    /// Where `field`'s rule names it.
    pub(super) fn span_of(&self, field: &str) -> Option<Span> {
        self.by_field.get(field).map(|(span, _)| *span)
    }

    /// The disclosure of `field`. A field without one has a mistake in its
    /// rule, its type or its coverage, reported there.
    pub(super) fn of(&self, field: &str) -> Result<&Disclosure, Stop> {
        match self.by_field.get(field) {
            Some((_, Some(d))) => Ok(d),
            _ => Err(Stop::Reported),
        }
    }

    /// Where the rule of `field` names it.
    pub(super) fn span(&self, field: &str) -> Option<Span> {
        self.by_field.get(field).map(|(span, _)| *span)
    }
}

pub(super) fn check<'a>(block: &'a Block<Rule>, scope: &Scope<'_>, found: &mut Found) -> Rules<'a> {
    let mut by_field: BTreeMap<&str, (Span, Option<Disclosure>)> = BTreeMap::new();
    let mut submitter: Option<(&str, Span)> = None;
    let mut all_named_fields = true;
    for rule in block.items.iter().map(|i| &i.node) {
        let f = &rule.field;
        let ty = match scope.field(f) {
            Err(Stop::Mistake(e)) => {
                found.push(e);
                all_named_fields = false;
                continue;
            }
            ty => ty,
        };
        if let Some((first, _)) = by_field.get(f.text.as_str()) {
            found.push(
                err(
                    f.span,
                    format!("field `{}` has two disclosure rules", f.text),
                )
                .with_help(format!(
                    "the first is on line {}; a field has exactly one",
                    first.line
                )),
            );
            continue;
        }
        let checked = found.item(ty.and_then(|ty| disclosure(f, ty, &rule.actions, scope)));
        let disclosure = match checked {
            Some((d, Some(span))) => match submitter {
                Some((first, _)) => {
                    found.push(
                        err(span, format!("field `{}` is a second `submitter`", f.text))
                            .with_help(format!(
                                "`{first}` already names the submitting institution; a record has one submitter"
                            )),
                    );
                    None
                }
                None => {
                    submitter = Some((f.text.as_str(), span));
                    Some(d)
                }
            },
            Some((d, None)) => Some(d),
            None => None,
        };
        by_field.insert(f.text.as_str(), (f.span, disclosure));
    }
    // A rule naming no field was perhaps meant for one of those left without
    // a rule: saying that they have none would repeat the mistake.
    if all_named_fields {
        for f in scope.fields {
            if !by_field.contains_key(f.name.text.as_str()) {
                found.push(no_rule(block.span, &f.name.text));
            }
        }
    }
    Rules {
        by_field,
        submitter: submitter.map(|(f, _)| f),
    }
}

fn no_rule(span: Span, field: &str) -> PolicyError {
    err(span, format!("field `{field}` has no disclosure rule")).with_help(format!(
        "nothing is disclosed by default: add `{field}: drop` if it must not leave the institution"
    ))
}

/// The field's disclosure, and where its rule says `submitter` if it does.
fn disclosure(
    field: &Name,
    ty: &FieldType,
    actions: &[Action],
    scope: &Scope<'_>,
) -> Result<(Disclosure, Option<Span>), Stop> {
    let actions = Actions::by_kind(field, actions, scope)?;
    let submitter = actions.submitter;
    if let Some(span) = submitter {
        submitter_fits(field, ty, &actions, span)?;
    }
    Ok((actions.disclosure(field, ty)?, submitter))
}

/// `submitter` marks a public party field: peers compare its value with the
/// envelope's signer, so they must be able to read it.
fn submitter_fits(
    field: &Name,
    ty: &FieldType,
    actions: &Actions<'_>,
    span: Span,
) -> Result<(), PolicyError> {
    if *ty != FieldType::Party {
        return Err(err(
            span,
            format!(
                "`submitter` marks a party field, `{}` is {}",
                field.text,
                ty.name()
            ),
        )
        .with_help("mark the `party` field that names the institution sending the record"));
    }
    if !matches!(actions.base, Some(Action::Public(_))) || actions.encrypt.is_some() {
        return Err(err(
            span,
            format!("the submitter field `{}` must be `public`", field.text),
        )
        .with_help(format!(
            "peers check it against the envelope's signer: write `{}: public, submitter`",
            field.text
        )));
    }
    Ok(())
}

/// A rule's actions by kind, each kind at most once, recipients resolved.
struct Actions<'a> {
    base: Option<&'a Action>,
    encrypt: Option<(Vec<Role>, Span)>,
    /// Bounds as written, the `range` keyword's span, the bounds' spans.
    range: Option<(&'a str, &'a str, Span, (Span, Span))>,
    submitter: Option<Span>,
}

impl<'a> Actions<'a> {
    /// Stops at the first kind given twice or recipient list that does not
    /// resolve, in the order they are written.
    fn by_kind(field: &Name, actions: &'a [Action], scope: &Scope<'_>) -> Result<Self, Stop> {
        let mut out = Actions {
            base: None,
            encrypt: None,
            range: None,
            submitter: None,
        };
        for a in actions {
            match a {
                Action::Submitter(span) => {
                    if out.submitter.is_some() {
                        let e = err(
                            *span,
                            format!("field `{}` says `submitter` twice", field.text),
                        );
                        return Err(e.into());
                    }
                    out.submitter = Some(*span);
                }
                Action::EncryptTo(names, span) => {
                    if out.encrypt.is_some() {
                        return Err(err(
                            *span,
                            format!("field `{}` lists `encrypt to` twice", field.text),
                        )
                        .with_help("list every recipient in one `encrypt to [...]`")
                        .into());
                    }
                    out.encrypt = Some((roles::resolve(names, scope)?, *span));
                }
                Action::Range {
                    lo,
                    hi,
                    span,
                    bounds,
                } => {
                    if out.range.is_some() {
                        let e = err(*span, format!("field `{}` has two ranges", field.text));
                        return Err(e.into());
                    }
                    out.range = Some((lo, hi, *span, *bounds));
                }
                other => {
                    if let Some(first) = out.base {
                        return Err(err(
                            other.span(),
                            format!("field `{}` has two disclosures", field.text),
                        )
                        .with_help(format!(
                            "`{}` already decides it; a field has exactly one",
                            describe(first)
                        ))
                        .into());
                    }
                    out.base = Some(other);
                }
            }
        }
        Ok(out)
    }

    /// The disclosure the actions make together, if they fit each other and
    /// the field's type.
    fn disclosure(self, field: &Name, ty: &FieldType) -> Result<Disclosure, PolicyError> {
        if let (Some(b @ (Action::Public(_) | Action::Drop(_))), Some((_, span))) =
            (self.base, &self.encrypt)
        {
            return Err(err(
                *span,
                format!("`{}` cannot be combined with `encrypt to`", describe(b)),
            )
            .with_help("a public field is readable by all; a dropped field by none"));
        }
        if let Some((_, _, span, _)) = self.range {
            if !matches!(self.base, Some(Action::Commit(_))) {
                return Err(err(
                    span,
                    "`range` is proven about a commitment: it needs `commit`",
                )
                .with_help(format!("write `{}: commit, range ...`", field.text)));
            }
        }
        let has_recipients = self.encrypt.is_some();
        let to = self.encrypt.map(|(r, _)| r).unwrap_or_default();
        Ok(match self.base {
            Some(Action::Public(_)) => Disclosure::Public,
            Some(Action::Drop(_)) => Disclosure::Drop,
            Some(Action::Pseudonym(span)) => pseudonym(ty, *span, to)?,
            Some(Action::Commit(span)) => commit(field, ty, *span, self.range, to)?,
            Some(Action::Mask { first, last, span }) => mask(field, ty, *first, *last, *span, to)?,
            Some(Action::Generalize(g, span)) => generalize(field, ty, g, *span, to)?,
            None if has_recipients => Disclosure::Encrypt { to },
            _ => {
                return Err(err(field.span, format!("field `{}` has no disclosure", field.text))
                    .with_help("one of `public`, `drop`, `pseudonym`, `commit`, `mask`, `generalize`, `encrypt to [...]`"))
            }
        })
    }
}

fn describe(a: &Action) -> &'static str {
    match a {
        Action::Public(_) => "public",
        Action::Drop(_) => "drop",
        Action::Pseudonym(_) => "pseudonym",
        Action::Commit(_) => "commit",
        Action::EncryptTo(..) => "encrypt to",
        Action::Range { .. } => "range",
        Action::Mask { .. } => "mask",
        Action::Generalize(..) => "generalize",
        Action::Submitter(_) => "submitter",
    }
}

fn pseudonym(ty: &FieldType, span: Span, to: Vec<Role>) -> Result<Disclosure, PolicyError> {
    if matches!(ty, FieldType::Bool | FieldType::Enum(_)) {
        return Err(err(
            span,
            format!("a pseudonym of a {} field hides nothing", ty.name()),
        )
        .with_help(
            "it has so few values that anyone can hash them all; use `encrypt to` or `drop`",
        ));
    }
    Ok(Disclosure::Pseudonym { reveal_to: to })
}

fn commit(
    field: &Name,
    ty: &FieldType,
    span: Span,
    range: Option<(&str, &str, Span, (Span, Span))>,
    to: Vec<Role>,
) -> Result<Disclosure, PolicyError> {
    if *ty == FieldType::Bool {
        return Err(err(
            span,
            format!("`commit` of the bool field `{}` hides nothing", field.text),
        )
        .with_help("use `encrypt to` or `drop`"));
    }
    let range = match range {
        None => None,
        Some((lo, hi, span, bounds)) => Some(commit_range(field, ty, lo, hi, span, bounds)?),
    };
    Ok(Disclosure::Commit { range, open_to: to })
}

/// The bounds of `range lo ..= hi`, in the field's minor units.
fn commit_range(
    field: &Name,
    ty: &FieldType,
    lo: &str,
    hi: &str,
    span: Span,
    bounds: (Span, Span),
) -> Result<(i64, i64), PolicyError> {
    let scale = ty.scale().ok_or_else(|| {
        err(
            span,
            format!(
                "`range` needs an integer, amount or date field, `{}` is {}",
                field.text,
                ty.name()
            ),
        )
    })?;
    if *ty == FieldType::Date {
        return Err(err(
            span,
            "a date range is written as a predicate: `age(birth, date) >= N`",
        ));
    }
    let bound = |s: &str, at: Span| {
        parse_decimal(s, scale).ok_or_else(|| {
            let msg = super::not_a_number("range bound", s, ty, scale);
            // A malformed bound is pointed at by its `range`, as it always
            // was; one too large for the type at the bound itself.
            if msg.contains("out of range") {
                err(at, msg)
            } else {
                err(span, msg)
            }
        })
    };
    let (lo_text, hi_text) = (lo, hi);
    let (lo, hi) = (bound(lo, bounds.0)?, bound(hi, bounds.1)?);
    if lo > hi {
        return Err(err(
            span,
            "range is empty: the lower bound exceeds the upper bound",
        )
        .with_help(format!(
            "the lower bound must not exceed the upper; did you mean `range {hi_text} ..= {lo_text}`?"
        )));
    }
    Ok((lo, hi))
}

fn mask(
    field: &Name,
    ty: &FieldType,
    first: u32,
    last: u32,
    span: Span,
    to: Vec<Role>,
) -> Result<Disclosure, PolicyError> {
    if *ty != FieldType::String {
        return Err(err(
            span,
            format!(
                "`mask` keeps characters of a string, `{}` is {}",
                field.text,
                ty.name()
            ),
        ));
    }
    // Summed wide: the counts are any u32 the parser accepted.
    let kept = u64::from(first) + u64::from(last);
    if kept == 0 {
        return Err(err(
            span,
            "`mask` keeps no character: use `drop` or `encrypt to`",
        )
        .with_help("write `mask last 4` or `mask first 2 last 4`"));
    }
    if kept > 16 {
        return Err(err(
            span,
            "`mask` keeps more than 16 characters: that is barely a mask",
        ));
    }
    Ok(Disclosure::Mask {
        first,
        last,
        reveal_to: to,
    })
}

fn generalize(
    field: &Name,
    ty: &FieldType,
    g: &Generalize,
    span: Span,
    to: Vec<Role>,
) -> Result<Disclosure, PolicyError> {
    let needs = |what: &str| err(span, format!("{what}, `{}` is {}", field.text, ty.name()));
    let how = match (g, ty) {
        (Generalize::Year, FieldType::Date) => Generalization::Year,
        (Generalize::Month, FieldType::Date) => Generalization::Month,
        (Generalize::Bucket(w), FieldType::Integer | FieldType::Amount { .. }) => {
            let scale = ty.scale().unwrap_or(0);
            let width = parse_decimal(w, scale).filter(|w| *w > 0).ok_or_else(|| {
                err(
                    span,
                    format!("bucket width `{w}` must be a positive number with at most {scale} decimal places"),
                )
            })?;
            Generalization::Bucket(width)
        }
        (Generalize::Year | Generalize::Month, _) => {
            return Err(needs("`generalize year` and `month` need a date field"))
        }
        (Generalize::Bucket(_), _) => {
            return Err(needs(
                "`generalize bucket` needs an integer or amount field",
            ))
        }
    };
    Ok(Disclosure::Generalize { how, reveal_to: to })
}
