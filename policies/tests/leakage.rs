//! The per-template leakage tables (`policies/templates/*.leakage.md`): the
//! committed files are exactly what `leakage::render` makes of each template
//! and its sample record, and what the tables say agrees with the preview —
//! and the preview with the plan — checked here without the renderer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use veilgate_policies::leakage::{render, REGULATOR};
use veilgate_policies::preview::{preview, Cell, Preview, OBSERVER};
use veilgate_policies::{compile, Disclosure, Plan, Role, SAMPLES, TEMPLATES};

/// Each template: (name without `.policy`, its text, its sample record).
fn templates() -> Vec<(String, &'static str, &'static str)> {
    assert_eq!(TEMPLATES.len(), 6, "six shipped templates");
    TEMPLATES
        .iter()
        .map(|(file, text)| {
            let sample = SAMPLES
                .iter()
                .find(|(f, _)| f == file)
                .unwrap_or_else(|| panic!("no sample record for {file}"))
                .1;
            (file.trim_end_matches(".policy").to_owned(), *text, sample)
        })
        .collect()
}

fn plan_and_preview(name: &str, text: &str, sample: &str) -> (Plan, Preview) {
    let plan = compile(text).unwrap_or_else(|e| panic!("{name} does not compile: {e:?}"));
    let json: serde_json::Value =
        serde_json::from_str(sample).unwrap_or_else(|e| panic!("{name} sample: {e}"));
    let pv = preview(&plan, &json).unwrap_or_else(|e| panic!("{name} sample refused: {e}"));
    (plan, pv)
}

fn committed_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("templates")
        .join(format!("{name}.leakage.md"))
}

/// The first line (1-based) where two texts differ, with both lines.
fn first_difference(want: &str, got: &str) -> Option<(usize, String, String)> {
    let (mut w, mut g) = (want.lines(), got.lines());
    for n in 1.. {
        match (w.next(), g.next()) {
            (None, None) => {
                // Same lines; only a trailing newline can differ.
                return (want != got).then(|| (n, "<end>".into(), "<end>".into()));
            }
            (a, b) if a == b => {}
            (a, b) => {
                let show = |l: Option<&str>| l.unwrap_or("<end of file>").to_owned();
                return Some((n, show(a), show(b)));
            }
        }
    }
    None
}

#[test]
fn committed_tables_are_what_the_renderer_makes() {
    let bless = std::env::var("VEILGATE_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, text, sample) in templates() {
        let (plan, pv) = plan_and_preview(&name, text, sample);
        let got = render(&name, &plan, &pv);
        let path = committed_path(&name);
        if bless {
            std::fs::write(&path, &got).unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
            continue;
        }
        let Ok(want) = std::fs::read_to_string(&path) else {
            stale.push(format!("{name}: {name}.leakage.md is missing"));
            continue;
        };
        if let Some((line, w, g)) = first_difference(&want, &got) {
            stale.push(format!(
                "{name}: {name}.leakage.md differs at line {line}:\n  committed: {w}\n  generated: {g}"
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun with VEILGATE_BLESS=1 to rewrite",
        stale.join("\n")
    );
}

/// A template without its `pad` line, so the length column also gets
/// checked where it shows exact lengths (every shipped template pads).
fn unpadded(text: &str) -> String {
    let out: String = text
        .lines()
        .filter(|l| !l.starts_with("pad "))
        .flat_map(|l| [l, "\n"])
        .collect();
    assert_ne!(out, text, "a shipped template without a `pad` line");
    out
}

/// The table's cells split on unescaped `|`: field → its five cells.
fn rows(table: &str) -> Vec<(String, Vec<String>)> {
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let mut cells = Vec::new();
            let mut cur = String::new();
            let mut prev = ' ';
            for ch in l.trim().trim_matches('|').chars() {
                if ch == '|' && prev != '\\' {
                    cells.push(cur.trim().to_owned());
                    cur.clear();
                } else {
                    cur.push(ch);
                }
                prev = ch;
            }
            cells.push(cur.trim().to_owned());
            let field = cells.remove(0).trim_matches('`').to_owned();
            (field, cells)
        })
        .collect()
}

/// The kind a cell text names, by its first word, and its value if any.
fn kind(text: &str) -> (&'static str, Option<String>) {
    let value = || {
        let v = text.split_once(' ').map(|(_, v)| v).unwrap_or("");
        Some(v.trim_matches(|c| c == '`' || c == ' ').replace("\\|", "|"))
    };
    if text.starts_with("value ") {
        ("value", value())
    } else if text.starts_with("masked ") || text.starts_with("generalized ") {
        ("derived", value())
    } else if text == "ciphertext" {
        ("ciphertext", None)
    } else if text.starts_with("pseudonym") {
        ("pseudonym", None)
    } else if text.starts_with("commitment") {
        ("commitment", None)
    } else if text == "nothing" {
        ("nothing", None)
    } else {
        ("?", None)
    }
}

fn cell_kind(c: &Cell) -> (&'static str, Option<String>) {
    match c {
        Cell::Value(v) => ("value", Some(v.clone())),
        Cell::Derived(v) => ("derived", Some(v.clone())),
        Cell::Ciphertext => ("ciphertext", None),
        Cell::Pseudonym => ("pseudonym", None),
        Cell::Commitment => ("commitment", None),
        Cell::Nothing => ("nothing", None),
    }
}

/// What a non-recipient sees on the ledger for each disclosure, written out
/// here rather than taken from the preview.
fn ledger_form(d: &Disclosure) -> &'static str {
    match d {
        Disclosure::Public => "value",
        Disclosure::Drop => "nothing",
        Disclosure::Pseudonym { .. } => "pseudonym",
        Disclosure::Commit { .. } => "commitment",
        Disclosure::Encrypt { .. } => "ciphertext",
        Disclosure::Mask { .. } | Disclosure::Generalize { .. } => "derived",
        _ => panic!("a disclosure this test does not know"),
    }
}

#[test]
fn tables_agree_with_the_preview_and_the_plan() {
    let mut checked = 0;
    for (name, text, sample) in templates() {
        for (variant, text) in [("", text.to_owned()), (" (unpadded)", unpadded(text))] {
            let name = format!("{name}{variant}");
            let (plan, pv) = plan_and_preview(&name, &text, sample);
            let table = render(&name, &plan, &pv);
            let rows = rows(&table);
            let fields: Vec<&str> = plan.fields.iter().map(|f| f.name.as_str()).collect();
            let listed: Vec<&str> = rows.iter().map(|(f, _)| f.as_str()).collect();
            assert_eq!(listed, fields, "{name}: rows are the fields in order");
            let json: serde_json::Value = serde_json::from_str(sample).unwrap();
            let met = plan.conditions_met(&plan.validate_record(&json).unwrap());
            for (f, (field, cells)) in plan.fields.iter().zip(&rows) {
                let [member, outsider, regulator, length, condition] = &cells[..] else {
                    panic!("{name} `{field}`: five cells, got {cells:?}");
                };
                let observed = pv.cell(OBSERVER, field).expect("observer cell");
                // The preview's observer column is the plan's ledger form.
                assert_eq!(
                    cell_kind(observed).0,
                    ledger_form(&f.disclosure),
                    "{name} `{field}`: preview observer cell vs the plan's `{}`",
                    f.disclosure.keyword()
                );
                assert_eq!(kind(member), cell_kind(observed), "{name} `{field}` member");
                // An outsider sees the member's cell, but cannot test pseudonym guesses.
                if matches!(observed, Cell::Pseudonym) {
                    assert!(member.contains("only online"), "{name} `{field}`: {member}");
                    assert!(
                        outsider.contains("cannot test"),
                        "{name} `{field}`: {outsider}"
                    );
                } else {
                    assert_eq!(outsider, member, "{name} `{field}` outsider");
                }
                // The regulator: the value exactly when the plan sends it one
                // for this record's outcomes, else the ledger form.
                let reg = pv
                    .cell(REGULATOR, field)
                    .expect("every template has a regulator");
                assert_eq!(
                    kind(regulator),
                    cell_kind(reg),
                    "{name} `{field}` regulator"
                );
                let reads = plan
                    .recipients_with(f, &met)
                    .contains(&Role::Ledger(REGULATOR.into()));
                let want = if reads {
                    "value"
                } else {
                    ledger_form(&f.disclosure)
                };
                assert_eq!(cell_kind(reg).0, want, "{name} `{field}` regulator vs plan");
                // The length column names the class exactly when there is one.
                let class = pv
                    .lengths
                    .iter()
                    .find(|l| l.field == *field)
                    .and_then(|l| l.class);
                match class {
                    Some((s, _)) => assert!(
                        length.starts_with(&format!("class {s} bytes")),
                        "{name} `{field}`: {length}"
                    ),
                    None => assert!(!length.contains("class"), "{name} `{field}`: {length}"),
                }
                // A condition is shown exactly where the plan ties one to the field.
                let tied = plan
                    .conditions
                    .iter()
                    .any(|c| c.field == f.name || c.extra.iter().any(|(n, _)| *n == f.name));
                assert_eq!(condition != "—", tied, "{name} `{field}`: {condition}");
                checked += 1;
            }
            for c in &pv.conditions_met {
                assert!(
                    table.contains(&format!("`{c}` (met)")),
                    "{name}: met condition `{c}` not marked"
                );
            }
            if variant.is_empty() {
                assert!(
                    pv.lengths.iter().any(|l| l.class.is_some()),
                    "{name}: padding gives classes"
                );
            } else {
                assert!(pv.lengths.iter().all(|l| l.class.is_none()), "{name}");
            }
        }
    }
    assert!(checked > 100, "checked {checked} rows");
}
