//! `veilgate policy diff`: what changed in disclosure between two versions,
//! field by field and role by role, in sentences a compliance review reads.

use std::collections::BTreeSet;

use crate::plan::{Condition, Disclosure, FieldPlan, Generalization, Plan, Role};
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

pub fn diff(old: &Plan, new: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if old.id != new.id {
        out.push(format!("policy id: `{}` → `{}`", old.id, new.id));
    }
    if old.version != new.version {
        out.push(format!("version: {} → {}", old.version, new.version));
    }
    let (ol, nl): (BTreeSet<_>, BTreeSet<_>) =
        (old.ledgers.iter().collect(), new.ledgers.iter().collect());
    for l in nl.difference(&ol) {
        out.push(format!("now binds ledger `{l}`"));
    }
    for l in ol.difference(&nl) {
        out.push(format!("no longer binds ledger `{l}`"));
    }
    if old.onchain != new.onchain {
        out.push(if new.onchain {
            "now requires its proofs to be verified on chain".to_owned()
        } else {
            "no longer requires its proofs to be verified on chain".to_owned()
        });
    }
    for (c, k) in &new.keys {
        match old.keys.get(c) {
            None => out.push(format!("now pins key {} for circuit `{c}`", hex(k))),
            Some(o) if o != k => {
                out.push(format!("circuit `{c}`: pinned key {} → {}", hex(o), hex(k)))
            }
            Some(_) => {}
        }
    }
    for c in old.keys.keys().filter(|c| !new.keys.contains_key(*c)) {
        out.push(format!("no longer pins a key for circuit `{c}`"));
    }
    if old.suite != new.suite {
        out.push(format!("crypto suite: `{}` → `{}`", old.suite, new.suite));
    }
    if old.required != new.required {
        out.push(format!(
            "required recipients: [{}] → [{}]",
            list(old.required.iter().map(Role::name)),
            list(new.required.iter().map(Role::name))
        ));
    }
    if old.sees_all != new.sees_all {
        out.push(format!(
            "roles that see every field: [{}] → [{}]",
            list(old.sees_all.iter().map(Role::name)),
            list(new.sees_all.iter().map(Role::name))
        ));
    }
    if old.submitter != new.submitter {
        let name = |s: &Option<String>| s.as_ref().map_or("none".to_owned(), |f| format!("`{f}`"));
        out.push(format!(
            "submitter field: {} → {}",
            name(&old.submitter),
            name(&new.submitter)
        ));
    }
    for r in new
        .ledger_roles
        .iter()
        .filter(|r| !old.ledger_roles.contains(r))
    {
        out.push(format!("role `{r}` declared"));
    }
    for r in old
        .ledger_roles
        .iter()
        .filter(|r| !new.ledger_roles.contains(r))
    {
        out.push(format!("role `{r}` removed"));
    }
    for f in &new.fields {
        let Some(o) = old.field(&f.name) else {
            out.push(format!(
                "`{}`: new field ({}, {})",
                f.name,
                f.ty.name(),
                disclosure_text(f)
            ));
            continue;
        };
        if o.ty != f.ty {
            out.push(format!(
                "`{}`: type {} → {}",
                f.name,
                o.ty.name(),
                f.ty.name()
            ));
        }
        let (a, b) = (disclosure_text(o), disclosure_text(f));
        if a != b {
            out.push(format!("`{}`: {a} → {b}", f.name));
        }
        match (readers(o), readers(f)) {
            (Some(_), None) => out.push(format!(
                "`{}`: now public — visible to everyone who reads the ledger",
                f.name
            )),
            (None, Some(r)) => out.push(format!(
                "`{}`: no longer public — now visible only to {}",
                f.name,
                if r.is_empty() {
                    "nobody".to_owned()
                } else {
                    list(r.iter().copied())
                }
            )),
            (Some(ro), Some(rn)) => {
                let added: Vec<&str> = rn.difference(&ro).copied().collect();
                let removed: Vec<&str> = ro.difference(&rn).copied().collect();
                if !added.is_empty() {
                    out.push(format!("`{}`: now also visible to {}", f.name, list(added)));
                }
                if !removed.is_empty() {
                    out.push(format!(
                        "`{}`: no longer visible to {}",
                        f.name,
                        list(removed)
                    ));
                }
            }
            (None, None) => {}
        }
    }
    for o in &old.fields {
        if new.field(&o.name).is_none() {
            out.push(format!(
                "`{}`: field removed (was {})",
                o.name,
                disclosure_text(o)
            ));
        }
    }
    if old.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        != new.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        && old.fields.len() == new.fields.len()
    {
        out.push("field order changed (the envelope layout follows it)".to_owned());
    }
    for p in new
        .predicates
        .iter()
        .filter(|p| !old.predicates.contains(p))
    {
        out.push(format!("now proves `{}`", p.describe()));
    }
    for p in old
        .predicates
        .iter()
        .filter(|p| !new.predicates.contains(p))
    {
        out.push(format!("no longer proves `{}`", p.describe()));
    }
    for s in new.sets.iter().filter(|s| !old.sets.contains(s)) {
        out.push(format!("set `{s}` declared"));
    }
    for s in old.sets.iter().filter(|s| !new.sets.contains(s)) {
        out.push(format!("set `{s}` removed"));
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
        out.push(format!("new condition: {c}"));
    }
    for c in oc.iter().filter(|c| !nc.contains(c)) {
        out.push(format!("condition removed: {c}"));
    }
    if out.is_empty() && old.hash() != new.hash() {
        out.push(
            "the plans differ in a detail this summary does not describe; compare the hashes"
                .to_owned(),
        );
    }
    out
}

fn hex(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}
