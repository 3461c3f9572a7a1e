//! `veilgate policy diff`: what changed in disclosure between two versions,
//! field by field and role by role, in sentences a compliance review reads.
//!
//! Each change is classed as [`Kind::Widening`] when after it someone can
//! learn more, or peers check less: more readers of a field's value, a field
//! shown more openly on the ledger (dropped → encrypted → pseudonymised →
//! masked or generalised → public), a new ledger or condition recipient, a
//! proof or on-chain verification given up. [`Kind::Narrowing`] is the
//! reverse; everything else (renames, keys, the suite, types, field order)
//! is [`Kind::Other`]. A proof added counts as narrowing: a record that
//! breaks it is refused, so it tells peers nothing the policy does not.

use std::collections::BTreeSet;

use crate::plan::{Condition, Disclosure, FieldPlan, Generalization, Padding, Plan, Role};
use crate::record::format_decimal;

/// Who reads a field's full value: `None` means everyone (public).
fn readers(f: &FieldPlan) -> Option<BTreeSet<&str>> {
    match f.disclosure {
        Disclosure::Public => None,
        _ => Some(f.disclosure.recipients().iter().map(Role::name).collect()),
    }
}

fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn disclosure_text(f: &FieldPlan) -> String {
    let scale = f.ty.scale().unwrap_or(0);
    match &f.disclosure {
        Disclosure::Commit {
            range: Some((lo, hi)),
            ..
        } => format!(
            "commit, range {} ..= {}",
            format_decimal(*lo, scale),
            format_decimal(*hi, scale)
        ),
        Disclosure::Mask { first, last, .. } => format!("mask first {first} last {last}"),
        Disclosure::Generalize { how, .. } => match how {
            Generalization::Year => "generalize year".to_owned(),
            Generalization::Month => "generalize month".to_owned(),
            Generalization::Bucket(w) => format!("generalize bucket {}", format_decimal(*w, scale)),
        },
        d => d.keyword().to_owned(),
    }
}

fn condition_text(plan: &Plan, c: &Condition) -> String {
    let scale = plan.field(&c.field).and_then(|f| f.ty.scale()).unwrap_or(0);
    let extra: Vec<String> = c
        .extra
        .iter()
        .map(|(f, r)| format!("`{f}` also to {}", list(r.iter().map(Role::name))))
        .collect();
    format!(
        "when {} {} {}: {}",
        c.field,
        c.op.symbol(),
        format_decimal(c.threshold, scale),
        extra.join("; ")
    )
}

/// Whether a change lets someone learn more (or peers check less).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Widening,
    Narrowing,
    Other,
}

impl Kind {
    /// `widening`, `narrowing` or `other`, as `diff --format json` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Widening => "widening",
            Kind::Narrowing => "narrowing",
            Kind::Other => "other",
        }
    }

    /// The kind of a change with these widening and narrowing aspects: one
    /// aspect that widens is enough for a review to look at it.
    fn of(widens: bool, narrows: bool) -> Kind {
        match (widens, narrows) {
            (true, _) => Kind::Widening,
            (false, true) => Kind::Narrowing,
            (false, false) => Kind::Other,
        }
    }
}

/// One change between two plans: the field it concerns (if one), its kind,
/// and the sentence `diff` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub field: Option<String>,
    pub kind: Kind,
    pub text: String,
}

/// Every change between two plans, and the warnings a reviewer must read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub changes: Vec<Change>,
    /// Sentences without the `warning: ` the CLI puts before them.
    pub warnings: Vec<String>,
    /// The plans' hashes differ: envelopes sealed under one are not sealed
    /// under the other.
    pub differs: bool,
}

impl Report {
    /// At least one change widens disclosure.
    pub fn widened(&self) -> bool {
        self.changes.iter().any(|c| c.kind == Kind::Widening)
    }
}

/// The changes from `old` to `new`, classed, with warnings: one per change
/// that widens disclosure, and one when the plan changed under an id whose
/// version did not go up.
pub fn report(old: &Plan, new: &Plan) -> Report {
    let changes = changes(old, new);
    let differs = old.hash() != new.hash();
    let mut warnings: Vec<String> = changes
        .iter()
        .filter(|c| c.kind == Kind::Widening)
        .map(|c| format!("disclosure widens: {}", c.text))
        .collect();
    if differs && old.id == new.id && new.version <= old.version {
        warnings.push(format!(
            "policy `{}` changed but its version did not go up ({} → {}): the gateway refuses two different texts under one id and version; write `version {}`",
            new.id,
            old.version,
            new.version,
            old.version.saturating_add(1)
        ));
    }
    Report {
        changes,
        warnings,
        differs,
    }
}

/// The sentences of [`changes`], in order.
pub fn diff(old: &Plan, new: &Plan) -> Vec<String> {
    changes(old, new).into_iter().map(|c| c.text).collect()
}

/// How openly the ledger shows a field to every peer, whoever its
/// recipients are: nothing, an opaque value (a ciphertext, a commitment), a
/// value that links equal records, part of the value, the value.
fn openness(d: &Disclosure) -> u8 {
    match d {
        Disclosure::Drop => 0,
        Disclosure::Encrypt { .. } | Disclosure::Commit { .. } => 1,
        Disclosure::Pseudonym { .. } => 2,
        Disclosure::Mask { .. } | Disclosure::Generalize { .. } => 3,
        Disclosure::Public => 4,
    }
}

/// The kind of a change of disclosure rule, recipients aside.
fn rule_kind(o: &Disclosure, n: &Disclosure) -> Kind {
    let (a, b) = (openness(o), openness(n));
    let range = |d: &Disclosure| match d {
        Disclosure::Commit { range, .. } => *range,
        _ => None,
    };
    let (mut widens, mut narrows) = (b > a, b < a);
    match (range(o), range(n)) {
        // A range proof given up: peers check less.
        (Some(_), None) => widens = true,
        (None, Some(_)) => narrows = true,
        (Some((ol, oh)), Some((nl, nh))) => {
            widens |= nl < ol || nh > oh;
            narrows |= nl > ol || nh < oh;
            // Moved both ways: neither tighter nor looser, a review reads it.
            if widens && narrows {
                narrows = false;
            }
        }
        (None, None) => {}
    }
    match (o, n) {
        (
            Disclosure::Mask {
                first: of,
                last: ol,
                ..
            },
            Disclosure::Mask {
                first: nf,
                last: nl,
                ..
            },
        ) => {
            let (kept_o, kept_n) = (
                u64::from(*of) + u64::from(*ol),
                u64::from(*nf) + u64::from(*nl),
            );
            widens |= kept_n > kept_o || nf > of || nl > ol;
            narrows |= kept_n < kept_o;
        }
        (Disclosure::Generalize { how: ho, .. }, Disclosure::Generalize { how: hn, .. }) => {
            match (ho, hn) {
                (Generalization::Year, Generalization::Month) => widens = true,
                (Generalization::Month, Generalization::Year) => narrows = true,
                (Generalization::Bucket(wo), Generalization::Bucket(wn)) => {
                    widens |= wn < wo;
                    narrows |= wn > wo;
                }
                _ => {}
            }
        }
        _ => {}
    }
    Kind::of(widens, narrows)
}

/// The phrase for what a non-public field is on the ledger.
fn shown_as(d: &Disclosure) -> &'static str {
    match d {
        Disclosure::Public => "its value",
        Disclosure::Drop => "nothing",
        Disclosure::Encrypt { .. } => "ciphertexts",
        Disclosure::Commit { .. } => "a commitment",
        Disclosure::Pseudonym { .. } => "a pseudonym",
        Disclosure::Mask { .. } => "a masked value",
        Disclosure::Generalize { .. } => "a generalised value",
    }
}

/// `[a, b]`, or `none`.
fn roles_or_none(roles: &[Role]) -> String {
    if roles.is_empty() {
        "none".to_owned()
    } else {
        format!("[{}]", list(roles.iter().map(Role::name)))
    }
}

/// The kind of a change of role set: roles added widen, removed narrow.
fn set_kind(old: &[Role], new: &[Role]) -> Kind {
    Kind::of(
        new.iter().any(|r| !old.contains(r)),
        old.iter().any(|r| !new.contains(r)),
    )
}

/// `pow2 32..=1024`, or `none`.
fn padding_text(p: Option<Padding>) -> String {
    match p {
        Some(Padding::Pow2 { min, max, .. }) => format!("pow2 {min}..={max}"),
        None => "none".to_owned(),
    }
}

/// Coarser classes show peers less of a length: padding added or a bound
/// raised narrows; padding removed or a bound lowered widens.
fn padding_kind(old: Option<Padding>, new: Option<Padding>) -> Kind {
    match (old, new) {
        (None, Some(_)) => Kind::Narrowing,
        (Some(_), None) => Kind::Widening,
        (
            Some(Padding::Pow2 { min: a, max: b, .. }),
            Some(Padding::Pow2 { min: c, max: d, .. }),
        ) => Kind::of(c < a || d < b, c > a || d > b),
        (None, None) => Kind::Other,
    }
}

/// Every change from `old` to `new`, plan-wide first, then field by field,
/// then proofs, sets and conditions.
pub fn changes(old: &Plan, new: &Plan) -> Vec<Change> {
    let mut out = Vec::new();
    let mut plan = |kind: Kind, text: String| {
        out.push(Change {
            field: None,
            kind,
            text,
        })
    };
    if old.id != new.id {
        plan(
            Kind::Other,
            format!("policy id changed from `{}` to `{}`", old.id, new.id),
        );
    }
    if old.version != new.version {
        plan(
            Kind::Other,
            format!("version: {} → {}", old.version, new.version),
        );
    }
    let (ol, nl): (BTreeSet<_>, BTreeSet<_>) =
        (old.ledgers.iter().collect(), new.ledgers.iter().collect());
    for l in nl.difference(&ol) {
        plan(
            Kind::Widening,
            format!("now binds ledger `{l}`: its members read what the policy makes public"),
        );
    }
    for l in ol.difference(&nl) {
        plan(Kind::Narrowing, format!("no longer binds ledger `{l}`"));
    }
    if old.onchain != new.onchain {
        if new.onchain {
            plan(
                Kind::Narrowing,
                "now requires its proofs to be verified on chain".to_owned(),
            );
        } else {
            plan(
                Kind::Widening,
                "no longer requires its proofs to be verified on chain: only peers check them"
                    .to_owned(),
            );
        }
    }
    for (c, k) in &new.keys {
        match old.keys.get(c) {
            None => plan(
                Kind::Other,
                format!("now pins key {} for circuit `{c}`", hex(k)),
            ),
            Some(o) if o != k => plan(
                Kind::Other,
                format!(
                    "circuit `{c}`: the pinned key changes from {} to {}",
                    hex(o),
                    hex(k)
                ),
            ),
            Some(_) => {}
        }
    }
    for c in old.keys.keys().filter(|c| !new.keys.contains_key(*c)) {
        plan(
            Kind::Other,
            format!("no longer pins a key for circuit `{c}`: proofs under any key the gateway holds are accepted"),
        );
    }
    if old.padding != new.padding {
        plan(
            padding_kind(old.padding, new.padding),
            format!(
                "padding of field plaintexts (`pad`): {} → {}",
                padding_text(old.padding),
                padding_text(new.padding)
            ),
        );
    }
    if old.suite != new.suite {
        plan(
            Kind::Other,
            format!(
                "crypto suite changed from `{}` to `{}`",
                old.suite, new.suite
            ),
        );
    }
    if old.required != new.required {
        plan(
            set_kind(&old.required, &new.required),
            format!(
                "roles every hidden field must reach (`require encrypt to`): {} → {}",
                roles_or_none(&old.required),
                roles_or_none(&new.required)
            ),
        );
    }
    if old.sees_all != new.sees_all {
        plan(
            set_kind(&old.sees_all, &new.sees_all),
            format!(
                "roles that see every field in full (`require all fields to`): {} → {}",
                roles_or_none(&old.sees_all),
                roles_or_none(&new.sees_all)
            ),
        );
    }
    if old.submitter != new.submitter {
        plan(
            Kind::Other,
            match (&old.submitter, &new.submitter) {
                (None, Some(f)) => format!("field `{f}` now names the submitting institution"),
                (Some(f), None) => {
                    format!("field `{f}` no longer names the submitting institution; no field does")
                }
                (Some(a), Some(b)) => {
                    format!("the submitting institution is now named by field `{b}`, not `{a}`")
                }
                (None, None) => String::new(),
            },
        );
    }
    for r in new
        .ledger_roles
        .iter()
        .filter(|r| !old.ledger_roles.contains(r))
    {
        plan(Kind::Other, format!("role `{r}` declared"));
    }
    for r in old
        .ledger_roles
        .iter()
        .filter(|r| !new.ledger_roles.contains(r))
    {
        plan(Kind::Other, format!("role `{r}` removed"));
    }
    for f in &new.fields {
        let mut field = |kind: Kind, text: String| {
            out.push(Change {
                field: Some(f.name.clone()),
                kind,
                text,
            })
        };
        let Some(o) = old.field(&f.name) else {
            let kind = match f.disclosure {
                Disclosure::Drop => Kind::Other,
                _ => Kind::Widening,
            };
            field(
                kind,
                format!(
                    "`{}`: new field ({}), disclosed as `{}`",
                    f.name,
                    f.ty.name(),
                    disclosure_text(f)
                ),
            );
            continue;
        };
        if o.ty != f.ty {
            field(
                Kind::Other,
                format!(
                    "`{}`: type changed from {} to {}",
                    f.name,
                    o.ty.name(),
                    f.ty.name()
                ),
            );
        }
        let (a, b) = (disclosure_text(o), disclosure_text(f));
        if a != b {
            field(
                rule_kind(&o.disclosure, &f.disclosure),
                format!("`{}`: was `{a}`, now `{b}`", f.name),
            );
        }
        match (readers(o), readers(f)) {
            (Some(_), None) => field(
                Kind::Widening,
                format!(
                    "`{}`: now public — visible to everyone who reads the ledger",
                    f.name
                ),
            ),
            (None, Some(r)) => field(
                Kind::Narrowing,
                match &f.disclosure {
                    Disclosure::Drop => format!(
                        "`{}`: no longer public — dropped: its value never leaves the institution",
                        f.name
                    ),
                    d if r.is_empty() => format!(
                        "`{}`: no longer public — the ledger holds {} and no role can read the value",
                        f.name,
                        shown_as(d)
                    ),
                    _ => format!(
                        "`{}`: no longer public — only {} can read its value",
                        f.name,
                        list(r.iter().copied())
                    ),
                },
            ),
            (Some(ro), Some(rn)) => {
                let added: Vec<&str> = rn.difference(&ro).copied().collect();
                let removed: Vec<&str> = ro.difference(&rn).copied().collect();
                if !added.is_empty() {
                    // "also" only where someone read it before.
                    let also = if ro.is_empty() { "" } else { "also " };
                    field(
                        Kind::Widening,
                        format!("`{}`: now {also}visible to {}", f.name, list(added)),
                    );
                }
                if !removed.is_empty() {
                    field(
                        Kind::Narrowing,
                        if rn.is_empty() {
                            format!(
                                "`{}`: no longer visible to {}; no role can read the value now",
                                f.name,
                                list(removed)
                            )
                        } else {
                            format!("`{}`: no longer visible to {}", f.name, list(removed))
                        },
                    );
                }
            }
            (None, None) => {}
        }
    }
    for o in &old.fields {
        if new.field(&o.name).is_none() {
            out.push(Change {
                field: Some(o.name.clone()),
                kind: match o.disclosure {
                    Disclosure::Drop => Kind::Other,
                    _ => Kind::Narrowing,
                },
                text: format!(
                    "`{}`: field removed (it was disclosed as `{}`)",
                    o.name,
                    disclosure_text(o)
                ),
            });
        }
    }
    let mut plan = |kind: Kind, text: String| {
        out.push(Change {
            field: None,
            kind,
            text,
        })
    };
    if old.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        != new.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        && old.fields.len() == new.fields.len()
    {
        plan(
            Kind::Other,
            "field order changed (the envelope layout follows it)".to_owned(),
        );
    }
    for p in new
        .predicates
        .iter()
        .filter(|p| !old.predicates.contains(p))
    {
        plan(
            Kind::Narrowing,
            format!("now proves `{}` to every peer", p.describe()),
        );
    }
    for p in old
        .predicates
        .iter()
        .filter(|p| !new.predicates.contains(p))
    {
        plan(
            Kind::Widening,
            format!(
                "no longer proves `{}`: peers stop checking it",
                p.describe()
            ),
        );
    }
    for s in new.sets.iter().filter(|s| !old.sets.contains(s)) {
        plan(Kind::Other, format!("set `{s}` declared"));
    }
    for s in old.sets.iter().filter(|s| !new.sets.contains(s)) {
        plan(Kind::Other, format!("set `{s}` removed"));
    }
    let (oc, nc): (Vec<String>, Vec<String>) = (
        old.conditions
            .iter()
            .map(|c| condition_text(old, c))
            .collect(),
        new.conditions
            .iter()
            .map(|c| condition_text(new, c))
            .collect(),
    );
    for c in nc.iter().filter(|c| !oc.contains(c)) {
        plan(Kind::Widening, format!("new condition: {c}"));
    }
    for c in oc.iter().filter(|c| !nc.contains(c)) {
        plan(Kind::Narrowing, format!("condition removed: {c}"));
    }
    if out.is_empty() && old.hash() != new.hash() {
        out.push(Change {
            field: None,
            kind: Kind::Other,
            text: "the plans differ in a detail this summary does not describe; compare the hashes"
                .to_owned(),
        });
    }
    out
}

fn hex(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}
