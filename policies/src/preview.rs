//! `veilgate policy preview`: for one record, exactly what each role — and
//! anyone who reads the ledger — sees of each field, before the policy goes live.

use std::collections::BTreeSet;
use std::fmt;

use crate::plan::{Disclosure, FieldType, Plan, Role};
use crate::record::{format_decimal, Record, RecordError};

/// The column for everyone with read access to the ledger, peers included.
pub const OBSERVER: &str = "ledger observer";

/// What one role sees of one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The value itself.
    Value(String),
    /// A masked or generalized form, in clear.
    Derived(String),
    Ciphertext,
    Pseudonym,
    Commitment,
    /// Nothing: the field never leaves the institution.
    Nothing,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Value(v) | Cell::Derived(v) => f.write_str(v),
            Cell::Ciphertext => f.write_str("<ciphertext>"),
            Cell::Pseudonym => f.write_str("<pseudonym>"),
            Cell::Commitment => f.write_str("<commitment>"),
            Cell::Nothing => f.write_str("—"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// Column names: [`OBSERVER`], then every party field and ledger role.
    pub columns: Vec<String>,
    /// One row per record field, in declaration order: (field, cells per column).
    pub rows: Vec<(String, Vec<Cell>)>,
    /// What peers verify in zero knowledge, as sentences.
    pub proofs: Vec<String>,
    /// Conditions that hold for this record, as written.
    pub conditions_met: Vec<String>,
    /// For each field whose value travels in ciphertexts: the length they
    /// leave visible (its class under a `pad` line, else the length).
    pub lengths: Vec<crate::padding::LengthLeft>,
}

impl Preview {
    /// The cell a role sees of a field.
    pub fn cell(&self, column: &str, field: &str) -> Option<&Cell> {
        let c = self.columns.iter().position(|x| x == column)?;
        self.rows.iter().find(|(f, _)| f == field)?.1.get(c)
    }

    /// A cell as the table shows it: a ciphertext of a padded field with
    /// its class, which is what a reader of it learns of the length.
    pub fn cell_text(&self, field: &str, cell: &Cell) -> String {
        let class = self
            .lengths
            .iter()
            .find(|l| l.field == field)
            .and_then(|l| l.class);
        match (cell, class) {
            (Cell::Ciphertext, Some((s, _))) => format!("<ciphertext: {s}-byte class>"),
            _ => cell.to_string(),
        }
    }

    /// A fixed-width table for a terminal or a review document.
    pub fn render(&self) -> String {
        let width = |i: usize| -> usize {
            let head = if i == 0 {
                "field".len()
            } else {
                self.columns.get(i - 1).map_or(0, |c| c.chars().count())
            };
            self.rows
                .iter()
                .map(|(f, cells)| {
                    if i == 0 {
                        f.chars().count()
                    } else {
                        cells
                            .get(i - 1)
                            .map_or(0, |c| self.cell_text(f, c).chars().count())
                    }
                })
                .max()
                .unwrap_or(0)
                .max(head)
                .min(28)
        };
        let cut = |s: &str, w: usize| -> String {
            if s.chars().count() > w {
                let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
                t.push('…');
                t
            } else {
                format!("{s:<w$}")
            }
        };
        let n = self.columns.len() + 1;
        let widths: Vec<usize> = (0..n).map(width).collect();
        let mut out = String::new();
        let head: Vec<String> = std::iter::once("field".to_owned())
            .chain(self.columns.iter().cloned())
            .collect();
        let row = |cells: &[String]| -> String {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| cut(c, *w))
                .collect::<Vec<_>>()
                .join(" │ ")
                .trim_end()
                .to_owned()
                + "\n"
        };
        out.push_str(&row(&head));
        out.push_str(
            &(widths
                .iter()
                .map(|w| "─".repeat(*w))
                .collect::<Vec<_>>()
                .join("─┼─")
                + "\n"),
        );
        for (field, cells) in &self.rows {
            let texts: Vec<String> = std::iter::once(field.clone())
                .chain(cells.iter().map(|c| self.cell_text(field, c)))
                .collect();
            out.push_str(&row(&texts));
        }
        for c in &self.conditions_met {
            out.push_str(&format!("condition met: {c}\n"));
        }
        for p in &self.proofs {
            out.push_str(&format!("peers verify: {p}\n"));
        }
        for l in &self.lengths {
            out.push_str(&format!("length left visible: {}\n", l.describe()));
        }
        out
    }
}

/// Computes the preview. The record is checked first, exactly as the gateway does.
pub fn preview(plan: &Plan, json: &serde_json::Value) -> Result<Preview, RecordError> {
    let record = plan.validate_record(json)?;
    Ok(preview_record(plan, &record))
}

pub fn preview_record(plan: &Plan, record: &Record) -> Preview {
    let roles: Vec<Role> = plan
        .fields
        .iter()
        .filter(|f| f.ty == FieldType::Party)
        .map(|f| Role::Party(f.name.clone()))
        .chain(plan.ledger_roles.iter().map(|r| Role::Ledger(r.clone())))
        .collect();
    let mut columns = vec![OBSERVER.to_owned()];
    columns.extend(roles.iter().map(|r| r.name().to_owned()));

    let outcomes = plan.conditions_met(record);
    let met: Vec<&crate::plan::Condition> = plan
        .conditions
        .iter()
        .zip(&outcomes)
        .filter_map(|(c, m)| m.then_some(c))
        .collect();

    let mut rows = Vec::with_capacity(plan.fields.len());
    let mut lengths = Vec::new();
    for (f, v) in plan.fields.iter().zip(&record.values) {
        let readers: BTreeSet<Role> = plan.recipients_with(f, &outcomes).into_iter().collect();
        let ledger = match &f.disclosure {
            Disclosure::Public => Cell::Value(v.display()),
            Disclosure::Drop => Cell::Nothing,
            Disclosure::Pseudonym { .. } => Cell::Pseudonym,
            Disclosure::Commit { .. } => Cell::Commitment,
            Disclosure::Encrypt { .. } => Cell::Ciphertext,
            Disclosure::Mask { .. } | Disclosure::Generalize { .. } => Cell::Derived(
                v.derived(&f.disclosure)
                    .map(|d| d.display())
                    .unwrap_or_default(),
            ),
        };
        let mut cells = vec![ledger.clone()];
        for r in &roles {
            cells.push(if readers.contains(r) {
                Cell::Value(v.display())
            } else {
                ledger.clone()
            });
        }
        rows.push((f.name.clone(), cells));
        // A `when` recipient not added for this record leaves no ciphertext.
        if !readers.is_empty() && crate::padding::encrypted(plan, f) {
            lengths.push(crate::padding::LengthLeft::of(plan, f, v));
        }
    }

    let mut proofs = Vec::new();
    for f in &plan.fields {
        if let Disclosure::Commit {
            range: Some((lo, hi)),
            ..
        } = &f.disclosure
        {
            let scale = f.ty.scale().unwrap_or(0);
            proofs.push(format!(
                "{} in [{}, {}] (bulletproofs range proof)",
                f.name,
                format_decimal(*lo, scale),
                format_decimal(*hi, scale)
            ));
        }
    }
    for p in &plan.predicates {
        proofs.push(format!("{} ({})", p.describe(), p.circuit()));
    }
    let conditions_met = met
        .iter()
        .map(|c| {
            let scale = plan.field(&c.field).and_then(|f| f.ty.scale()).unwrap_or(0);
            format!(
                "{} {} {}",
                c.field,
                c.op.symbol(),
                format_decimal(c.threshold, scale)
            )
        })
        .collect();
    Preview {
        columns,
        rows,
        proofs,
        conditions_met,
        lengths,
    }
}
