//! The header: the `policy` line (id and version) and the lines after it —
//! `ledger`, `suite`, `require encrypt to [...]`, `require all fields to
//! [...]`, `require proofs on chain`, `require key CIRCUIT ID`, `pad
//! pow2 MIN..=MAX`.
//! Each may appear once; a repeated line is reported and otherwise ignored.

use std::collections::{BTreeMap, BTreeSet};

use super::{err, with_suggestion, Found};
use crate::error::{PolicyError, Span};
use crate::parse::{Block, Header as Line, Name, PolicyAst, PredicateAst};
use veilgate_pseudonym::Padding;

/// Crypto suites a policy may name: `standard` and the national `sm`
/// (SM2/SM3/SM4, docs/suite-sm.md).
const SUITES: &[&str] = &["standard", "sm"];

/// What the header says. Where a line has a mistake (reported), the value
/// here is a stand-in that no plan is built with.
pub(super) struct Header<'a> {
    pub(super) version: u32,
    /// Sorted, each once.
    pub(super) ledgers: Vec<String>,
    pub(super) suite: String,
    /// The names of `require encrypt to [...]`, resolved once roles are known.
    pub(super) require: Option<&'a [Name]>,
    /// The names of `require all fields to [...]`, resolved likewise.
    pub(super) sees_all: Option<&'a [Name]>,
    pub(super) onchain: bool,
    /// Pinned verifying key ids by circuit id.
    pub(super) keys: BTreeMap<String, [u8; 32]>,
    /// `pad`: the size classes field plaintexts are padded to.
    pub(super) padding: Option<Padding>,
}

pub(super) fn check<'a>(ast: &'a PolicyAst, found: &mut Found) -> Header<'a> {
    let version = found.item(version(&ast.version)).unwrap_or(0);
    let mut lines = Lines::default();
    for line in &ast.headers {
        found.item(lines.add(&line.node, &ast.id));
    }
    let ledgers = lines.ledgers.unwrap_or_else(|| {
        found.push(
            err(
                ast.id.span,
                format!("policy `{}` binds no ledger", ast.id.text),
            )
            .with_help("add a line `ledger NAME` after the `policy` line"),
        );
        Vec::new()
    });
    if let Some(span) = lines.onchain {
        found.item(onchain_proves_something(span, &ast.proofs));
    }
    Header {
        version,
        ledgers,
        suite: lines.suite.unwrap_or_else(|| "standard".to_owned()),
        require: lines.require,
        sees_all: lines.sees_all,
        onchain: lines.onchain.is_some(),
        keys: lines.keys,
        padding: lines.padding,
    }
}

fn version((text, span): &(String, Span)) -> Result<u32, PolicyError> {
    text.parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| err(*span, "version must be a whole number from 1 to 4294967295"))
}

/// The header lines seen so far, each the first of its kind.
#[derive(Default)]
struct Lines<'a> {
    ledgers: Option<Vec<String>>,
    suite: Option<String>,
    require: Option<&'a [Name]>,
    sees_all: Option<&'a [Name]>,
    onchain: Option<Span>,
    keys: BTreeMap<String, [u8; 32]>,
    /// Where the `pad` line is, once seen.
    pad: Option<Span>,
    padding: Option<Padding>,
}

impl<'a> Lines<'a> {
    /// Takes one line. A line is recorded before its content is checked: a
    /// `ledger` line with a mistake still means the policy has one, and a
    /// second `suite` line is a second one even if the first is unknown.
    fn add(&mut self, line: &'a Line, id: &Name) -> Result<(), PolicyError> {
        match line {
            Line::Ledger(names) => {
                if self.ledgers.is_some() {
                    let span = names.first().map_or(id.span, |n| n.span);
                    return Err(err(span, "the policy has two `ledger` lines")
                        .with_help("list every ledger on one line: `ledger a, b`"));
                }
                self.ledgers = Some(Vec::new());
                self.ledgers = Some(ledgers(names)?);
            }
            Line::Suite(s) => {
                if self.suite.is_some() {
                    return Err(err(s.span, "the policy names two crypto suites"));
                }
                self.suite = Some(s.text.clone());
                suite(s)?;
            }
            Line::Require(names, span) => {
                if self.require.is_some() {
                    return Err(err(*span, "the policy has two `require encrypt to` lines")
                        .with_help(
                            "list every required recipient in one `require encrypt to [...]`",
                        ));
                }
                self.require = Some(names);
            }
            Line::SeesAll(names, span) => {
                if self.sees_all.is_some() {
                    return Err(
                        err(*span, "the policy has two `require all fields to` lines")
                            .with_help("list every such role in one `require all fields to [...]`"),
                    );
                }
                self.sees_all = Some(names);
            }
            Line::OnChain(span) => {
                if self.onchain.is_some() {
                    return Err(err(
                        *span,
                        "the policy says `require proofs on chain` twice",
                    ));
                }
                self.onchain = Some(*span);
            }
            Line::Key { circuit, key, .. } => {
                if self.keys.contains_key(&circuit.text) {
                    return Err(err(
                        circuit.span,
                        format!("the policy pins two keys for circuit `{}`", circuit.text),
                    )
                    .with_help("a policy accepts one verifying key per circuit"));
                }
                let id = key_id(key)?;
                self.keys.insert(circuit.text.clone(), id);
            }
            Line::Pad {
                scheme,
                min,
                max,
                span,
            } => {
                if self.pad.is_some() {
                    return Err(err(*span, "the policy has two `pad` lines")
                        .with_help("a policy pads with one scheme: keep one `pad` line"));
                }
                self.pad = Some(*span);
                self.padding = Some(padding(scheme, min, max)?);
            }
        }
        Ok(())
    }
}

/// Padding schemes a policy may name.
const PAD_SCHEMES: &[&str] = &["pow2"];
/// The bounds `veilgate_pseudonym::Padding::pow2` accepts, said here so a
/// mistake names the bound it breaks.
const PAD_LEAST: u32 = 32;
const PAD_MOST: u32 = 65_536;

/// `pad pow2 MIN..=MAX`: MIN and MAX powers of two, 32 ≤ MIN ≤ MAX ≤ 65536.
fn padding(
    scheme: &Name,
    (min, min_span): &(String, Span),
    (max, max_span): &(String, Span),
) -> Result<Padding, PolicyError> {
    if !PAD_SCHEMES.contains(&scheme.text.as_str()) {
        return Err(with_suggestion(
            err(
                scheme.span,
                format!("unknown padding scheme `{}`", scheme.text),
            ),
            &scheme.text,
            PAD_SCHEMES.iter().copied(),
            Some("the one scheme is `pow2`: `pad pow2 32..=1024`".to_owned()),
        ));
    }
    let bound = |text: &str, span: Span| -> Result<u32, PolicyError> {
        let n: u32 = text
            .parse()
            .ok()
            .filter(|n: &u32| n.is_power_of_two())
            .ok_or_else(|| {
                err(
                    span,
                    format!("padding class `{text}` is not a power of two"),
                )
                .with_help(
                    "classes are powers of two from 32 to 65536 bytes, e.g. `pad pow2 32..=1024`",
                )
            })?;
        if n < PAD_LEAST {
            return Err(err(
                span,
                format!("padding class `{text}` is below the smallest, {PAD_LEAST} bytes"),
            ));
        }
        if n > PAD_MOST {
            return Err(err(
                span,
                format!("padding class `{text}` is beyond the largest, {PAD_MOST} bytes"),
            ));
        }
        Ok(n)
    };
    let (lo, hi) = (bound(min, *min_span)?, bound(max, *max_span)?);
    if lo > hi {
        return Err(err(
            *min_span,
            format!("padding classes `{min}..={max}` run backwards"),
        )
        .with_help(format!("write the smaller first: `pad pow2 {max}..={min}`")));
    }
    Padding::pow2(lo as usize, hi as usize).map_err(|_| {
        err(
            *min_span,
            format!("padding classes `{min}..={max}` are not a valid `pow2` scheme"),
        )
    })
}

fn ledgers(names: &[Name]) -> Result<Vec<String>, PolicyError> {
    let mut set = BTreeSet::new();
    for n in names {
        if !set.insert(n.text.clone()) {
            return Err(err(n.span, format!("ledger `{}` is listed twice", n.text)));
        }
    }
    Ok(set.into_iter().collect())
}

/// A verifying key id: 64 hex digits (lower or upper case).
fn key_id((text, span): &(String, Span)) -> Result<[u8; 32], PolicyError> {
    let bytes = (text.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .flatten();
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            err(*span, "a verifying key id is 64 hex digits").with_help(
                "copy the key id `veilgate ceremony finalize` printed (the hex in the key file's name)",
            )
        })
}

fn suite(s: &Name) -> Result<(), PolicyError> {
    if SUITES.contains(&s.text.as_str()) {
        return Ok(());
    }
    Err(with_suggestion(
        err(s.span, format!("unknown crypto suite `{}`", s.text)),
        &s.text,
        SUITES.iter().copied(),
        Some(format!("known suites: {}", SUITES.join(", "))),
    ))
}

/// The ledger's contract verifies the predicates: without any, it has nothing
/// to do. Whether the block is empty is known before the predicates are
/// checked, so a wrong predicate does not make this line wrong too.
fn onchain_proves_something(span: Span, proofs: &Block<PredicateAst>) -> Result<(), PolicyError> {
    if proofs.items.is_empty() {
        return Err(err(
            span,
            "`require proofs on chain` needs predicates: the policy proves nothing",
        )
        .with_help("add a `prove { ... }` block, or remove this line"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::parse::parse;

    const BODY: &str = "record {\n  a: string\n}\ndisclose {\n  a: drop\n}\n";

    /// The header pass on `head` (the lines before the record), with the
    /// messages it reports.
    fn header(head: &str, check: impl FnOnce(&Header<'_>)) -> Vec<String> {
        let ast = parse(&format!("{head}\n{BODY}")).unwrap();
        let mut found = Found::default();
        check(&super::check(&ast, &mut found));
        found.0.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    }

    #[test]
    fn a_good_header_says_what_the_plan_needs() {
        let errors = header(
            "policy p version 7\nledger b, a\nrequire encrypt to [r]",
            |h| {
                assert_eq!(h.version, 7);
                assert_eq!(h.ledgers, ["a", "b"]);
                assert_eq!(h.suite, "standard");
                assert_eq!(h.require.map(|r| r.len()), Some(1));
                assert!(!h.onchain);
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn every_bad_line_is_reported() {
        let errors = header(
            "policy p version 0\n\
             ledger a, a\n\
             ledger b\n\
             suite sm9\n\
             suite standard\n\
             require encrypt to [r]\n\
             require encrypt to [s]\n\
             require proofs on chain\n\
             require proofs on chain",
            |_| {},
        );
        assert_eq!(
            errors,
            [
                "1:18: version must be a whole number from 1 to 4294967295",
                "2:11: ledger `a` is listed twice",
                "3:8: the policy has two `ledger` lines",
                "4:7: unknown crypto suite `sm9`",
                "5:7: the policy names two crypto suites",
                "7:1: the policy has two `require encrypt to` lines",
                "9:1: the policy says `require proofs on chain` twice",
                "8:1: `require proofs on chain` needs predicates: the policy proves nothing",
            ]
        );
    }

    #[test]
    fn a_ledger_line_with_a_mistake_still_binds_the_policy() {
        let errors = header("policy p version 1\nledger a, a", |_| {});
        assert_eq!(errors, ["2:11: ledger `a` is listed twice"]);
        let errors = header("policy p version 1", |h| assert!(h.ledgers.is_empty()));
        assert_eq!(errors, ["1:8: policy `p` binds no ledger"]);
    }

    #[test]
    fn a_version_out_of_range_is_reported() {
        for v in ["0", "4294967296", "99999999999999999999"] {
            let errors = header(&format!("policy p version {v}\nledger l"), |_| {});
            assert_eq!(
                errors,
                ["1:18: version must be a whole number from 1 to 4294967295"],
                "{v}"
            );
        }
    }
}
