//! Predicates: what peers verify in zero knowledge about committed fields —
//! comparisons, sums, set membership, age. Every predicate is checked; each
//! reports its first mistake, and one over a field whose type or rule has a
//! mistake is skipped.

use std::collections::BTreeSet;

use super::rules::Rules;
use super::{err, with_suggestion, Found, Scope, Stop};
use crate::error::{PolicyError, Span};
use crate::parse::{Block, Name, PredicateAst};
use crate::plan::{Disclosure, FieldType, Predicate};

/// The predicates without a mistake, sorted.
pub(super) fn check(
    block: &Block<PredicateAst>,
    scope: &Scope<'_>,
    sets: &BTreeSet<String>,
    rules: &Rules<'_>,
    found: &mut Found,
) -> BTreeSet<Predicate> {
    let about = About { scope, rules };
    let mut predicates = BTreeSet::new();
    for item in &block.items {
        let Some((p, span)) = found.item(about.predicate(&item.node, sets)) else {
            continue;
        };
        let described = p.describe();
        if !predicates.insert(p) {
            found.push(err(span, format!("`{described}` is stated twice")));
        }
    }
    predicates
}

/// What predicates may say about each field.
struct About<'s> {
    scope: &'s Scope<'s>,
    rules: &'s Rules<'s>,
}

impl About<'_> {
    /// A predicate and the span its diagnostics point at.
    fn predicate(
        &self,
        p: &PredicateAst,
        sets: &BTreeSet<String>,
    ) -> Result<(Predicate, Span), Stop> {
        let (p, span) = match p {
            PredicateAst::Compare { left, op, right } => {
                (self.compare(left, *op, right)?, left.span)
            }
            PredicateAst::Sum { terms, total, .. } => {
                let span = terms.first().map_or(total.span, |t| t.span);
                (self.sum(terms, total)?, span)
            }
            PredicateAst::Member {
                field,
                set,
                negated,
            } => (self.member(field, set, *negated, sets)?, field.span),
            PredicateAst::Age { birth, at, years } => (self.age(birth, at, years)?, birth.span),
        };
        // A field with a range proof is committed for bulletproofs; a Groth16
        // predicate would commit to it again, and nothing links the two.
        for f in p.fields() {
            if let Disclosure::Commit { range: Some(_), .. } = self.rules.of(f)? {
                return Err(err(span, format!("field `{f}` has a range proof and appears in `{}`", p.describe()))
                    .with_help("a bulletproofs range and a Groth16 predicate would commit to it twice, unlinked; drop one")
                    .into());
            }
        }
        Ok((p, span))
    }

    /// The type of a field that is `commit`ted, as a predicate needs.
    fn committed(&self, n: &Name) -> Result<&FieldType, Stop> {
        let ty = self.scope.field(n)?;
        if !matches!(self.rules.of(&n.text)?, Disclosure::Commit { .. }) {
            return Err(err(
                n.span,
                format!("`{}` must be `commit`ted to be proven about", n.text),
            )
            .with_help("a predicate speaks about a hidden value; a public value needs no proof")
            .into());
        }
        Ok(ty)
    }

    /// The scale of a committed number or date.
    fn numeric(&self, n: &Name) -> Result<u8, Stop> {
        let ty = self.committed(n)?;
        Ok(ty.scale().ok_or_else(|| {
            err(
                n.span,
                format!(
                    "`{}` is {}: only numbers and dates compare",
                    n.text,
                    ty.name()
                ),
            )
        })?)
    }

    fn compare(&self, left: &Name, op: crate::CmpOp, right: &Name) -> Result<Predicate, Stop> {
        let (a, b) = (self.numeric(left)?, self.numeric(right)?);
        if self.scope.field(left)? != self.scope.field(right)? && a != b {
            return Err(different_scales(right, left, right).into());
        }
        if left.text == right.text {
            return Err(err(right.span, "a field compared with itself proves nothing").into());
        }
        Ok(Predicate::Compare {
            left: left.text.clone(),
            op,
            right: right.text.clone(),
        })
    }

    fn sum(&self, terms: &[Name], total: &Name) -> Result<Predicate, Stop> {
        if terms.len() < 2 {
            return Err(err(total.span, "a sum needs at least two terms").into());
        }
        let scale = self.numeric(total)?;
        let mut seen = BTreeSet::new();
        for t in terms {
            if self.numeric(t)? != scale {
                return Err(different_scales(t, t, total).into());
            }
            if t.text == total.text || !seen.insert(t.text.as_str()) {
                return Err(err(t.span, format!("`{}` appears twice in the sum", t.text)).into());
            }
        }
        Ok(Predicate::Sum {
            terms: terms.iter().map(|t| t.text.clone()).collect(),
            total: total.text.clone(),
        })
    }

    fn member(
        &self,
        field: &Name,
        set: &Name,
        negated: bool,
        sets: &BTreeSet<String>,
    ) -> Result<Predicate, Stop> {
        self.committed(field)?;
        if !sets.contains(&set.text) {
            return Err(with_suggestion(
                err(set.span, format!("unknown set `{}`", set.text)),
                &set.text,
                sets.iter().map(String::as_str),
                Some(
                    "declare it in `sets { ... }`; its Merkle root is published on the ledger"
                        .into(),
                ),
            )
            .into());
        }
        Ok(Predicate::Member {
            field: field.text.clone(),
            set: set.text.clone(),
            negated,
        })
    }

    /// `age(birth, at) >= years`: `at` is public so that peers know the day
    /// the age is counted at.
    fn age(&self, birth: &Name, at: &Name, years: &(String, Span)) -> Result<Predicate, Stop> {
        if self.committed(birth)? != &FieldType::Date {
            return Err(err(birth.span, format!("`{}` must be a date", birth.text)).into());
        }
        if self.scope.field(at)? != &FieldType::Date
            || self.rules.of(&at.text)? != &Disclosure::Public
        {
            return Err(err(
                at.span,
                format!(
                    "`{}` must be a public date: peers need it to check the age",
                    at.text
                ),
            )
            .into());
        }
        let y: u32 = years
            .0
            .parse()
            .ok()
            .filter(|y| (1..=150).contains(y))
            .ok_or_else(|| err(years.1, "years must be a whole number from 1 to 150"))?;
        Ok(Predicate::AgeAtLeast {
            birth: birth.text.clone(),
            at: at.text.clone(),
            years: y,
        })
    }
}

fn different_scales(at: &Name, a: &Name, b: &Name) -> PolicyError {
    err(
        at.span,
        format!(
            "`{}` and `{}` are counted at different scales",
            a.text, b.text
        ),
    )
}
