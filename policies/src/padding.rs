//! What a field's ciphertexts tell every peer about its length, under the
//! policy's `pad` line or without one: what `policy preview` shows and what
//! `policy check` warns about. The class arithmetic is
//! `veilgate_pseudonym::Padding`'s, the one the gateway pads with; this
//! module only says what it leaves visible.
//!
//! A field plaintext is the value's canonical encoding (a type byte, then
//! `n` value bytes); padding prefixes a `u16` length, so a value of `n`
//! bytes fills `n + 3` bytes of its class.

use crate::plan::{Disclosure, FieldPlan, FieldType, Plan};
use crate::record::Value;

/// Bytes a plaintext of an `n`-byte value takes before zeros: the type byte
/// and the `u16` length prefix.
const OVERHEAD: usize = 3;

/// Whether the field's value travels in ciphertexts on the ledger: it has
/// (or may get, by a `when` block) recipients, and is not a fixed-length
/// commitment opening (a number or date committed: 40 bytes whatever the
/// value).
pub fn encrypted(plan: &Plan, f: &FieldPlan) -> bool {
    let has_readers = !f.disclosure.recipients().is_empty()
        || plan
            .conditions
            .iter()
            .any(|c| c.extra.iter().any(|(name, _)| *name == f.name));
    let fixed_opening = matches!(f.disclosure, Disclosure::Commit { .. }) && f.ty.scale().is_some();
    let shown = matches!(f.disclosure, Disclosure::Public | Disclosure::Drop);
    has_readers && !shown && !fixed_opening
}

/// Whether values of this type differ in length: strings, parties, bytes,
/// and enums whose values are not all as long as each other. Numbers,
/// dates and bools encode at a fixed length.
pub(crate) fn varies_in_length(ty: &FieldType) -> bool {
    match ty {
        FieldType::String | FieldType::Party | FieldType::Bytes => true,
        FieldType::Enum(values) => {
            let first = values.first().map_or(0, String::len);
            values.iter().any(|v| v.len() != first)
        }
        _ => false,
    }
}

/// The length one field's ciphertexts leave visible for one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LengthLeft {
    pub field: String,
    /// The value's length in bytes (its canonical encoding without the type byte).
    pub len: usize,
    /// Under a `pad` line: the class (padded plaintext bytes) and the value
    /// lengths, in bytes, that share it. `None`: the length itself shows.
    pub class: Option<(usize, (usize, usize))>,
}

impl LengthLeft {
    pub fn of(plan: &Plan, f: &FieldPlan, v: &Value) -> LengthLeft {
        let len = v.encode().len().saturating_sub(1);
        let class = plan
            .padding
            .and_then(|p| Some((p.class_of(len + OVERHEAD).ok()?, p)))
            .map(|(s, p)| (s, value_lengths(p, s)));
        LengthLeft {
            field: f.name.clone(),
            len,
            class,
        }
    }

    /// The sentence `policy preview` prints.
    pub fn describe(&self) -> String {
        match self.class {
            Some((s, (lo, hi))) => format!(
                "{}: its {s}-byte class (every value of {lo}–{hi} bytes looks the same)",
                self.field
            ),
            None => format!(
                "{}: exactly {} bytes (the policy has no `pad` line)",
                self.field, self.len
            ),
        }
    }
}

/// The value lengths whose padded plaintext is of class `s`: the class
/// below `s` (or nothing) ends where this one starts.
fn value_lengths(p: crate::Padding, s: usize) -> (usize, usize) {
    let hi = s.saturating_sub(OVERHEAD);
    let crate::Padding::Pow2 { min, max, .. } = p;
    let below = if s <= min {
        0
    } else if s <= max {
        s / 2
    } else {
        s - max
    };
    let lo = if below == 0 {
        0
    } else {
        (below + 1).saturating_sub(OVERHEAD)
    };
    (lo, hi)
}

/// What `policy check` warns about in a policy that compiles: without a
/// `pad` line, each encrypted field whose values differ in length shows
/// every peer that length.
pub fn warnings(plan: &Plan) -> Vec<String> {
    if plan.padding.is_some() {
        return Vec::new();
    }
    plan.fields
        .iter()
        .filter(|f| encrypted(plan, f) && varies_in_length(&f.ty))
        .map(|f| {
            format!(
                "`{}`'s length is visible to every peer: its ciphertexts are as long as its value; add `pad pow2 32..=1024` after the `ledger` line",
                f.name
            )
        })
        .collect()
}
