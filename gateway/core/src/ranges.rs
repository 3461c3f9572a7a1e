//! Range facts (format 3): the interval each Pedersen-committed field is
//! proven to lie in, and how they are grouped into aggregated bulletproofs.
//! Seal and verify both derive them here from the plan and the condition
//! outcomes, so a peer needs nothing from the submitter but the outcomes.
//!
//! A field's fact is its policy range intersected with, for each condition
//! on it, the side of the threshold its outcome names (`amount >= 50000.00`
//! met: `[5000000, i64::MAX]`; not met: `[i64::MIN, 4999999]`). One proof of
//! the intersection shows both the range and every outcome. Fields with
//! neither a range nor a condition have no fact. Facts are in the plan's
//! field order; proof `k` covers facts `8k … 8k+7`.

use veilgate_circuits::range::MAX_AGGREGATE_FIELDS;
use veilgate_policies::{Disclosure, Plan};

use crate::predicates;

/// One committed field's proven interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub field: String,
    pub lo: i64,
    pub hi: i64,
}

/// Every fact of an envelope under `plan` whose condition outcomes are
/// `met` (one per condition, in plan order). `Err(field)` when the
/// outcomes leave no integer in a field's range: no honest record has them.
pub fn facts(plan: &Plan, met: &[bool]) -> Result<Vec<Fact>, String> {
    let bn254 = predicates::bn254_fields(plan);
    let mut out = Vec::new();
    for f in &plan.fields {
        let Disclosure::Commit { range, .. } = &f.disclosure else {
            continue;
        };
        if bn254.contains(f.name.as_str()) {
            continue;
        }
        let mut interval = *range;
        for (c, m) in plan.conditions.iter().zip(met) {
            if c.field != f.name {
                continue;
            }
            let side = c.interval(*m).ok_or_else(|| f.name.clone())?;
            let (lo, hi) = interval.unwrap_or((i64::MIN, i64::MAX));
            interval = Some((lo.max(side.0), hi.min(side.1)));
        }
        if let Some((lo, hi)) = interval {
            if lo > hi {
                return Err(f.name.clone());
            }
            out.push(Fact {
                field: f.name.clone(),
                lo,
                hi,
            });
        }
    }
    Ok(out)
}

/// The facts each aggregated proof covers, in order.
pub fn groups(facts: &[Fact]) -> std::slice::Chunks<'_, Fact> {
    facts.chunks(MAX_AGGREGATE_FIELDS)
}

/// How many proofs the range section holds for `n` facts.
pub fn proof_count(n: usize) -> usize {
    n.div_ceil(MAX_AGGREGATE_FIELDS)
}

/// A group's ranges and its fields' names, as the proof binds them.
pub fn statement(group: &[Fact]) -> (Vec<(i64, i64)>, Vec<&str>) {
    (
        group.iter().map(|f| (f.lo, f.hi)).collect(),
        group.iter().map(|f| f.field.as_str()).collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn plan(conditions: &str) -> Plan {
        veilgate_policies::compile(&format!(
            "policy p version 1\nledger l\nrecord {{\n  a: party\n  x: amount(2)\n  y: integer\n  n: integer\n}}\n\
             roles {{ aml }}\n\
             disclose {{\n  a: public\n  x: commit, range 0.00 ..= 1000.00, encrypt to [a]\n  y: commit, encrypt to [a]\n  n: public\n}}\n{conditions}"
        ))
        .unwrap()
    }

    #[test]
    fn a_fact_is_the_range_cut_by_each_outcome() {
        let p = plan("when x >= 500.00 { x: encrypt to [aml] }\nwhen y < 10 { y: encrypt to [aml] }\nwhen n > 3 { y: encrypt to [aml] }\n");
        let f = facts(&p, &[true, false, true]).unwrap();
        assert_eq!(
            f,
            vec![
                Fact {
                    field: "x".into(),
                    lo: 50000,
                    hi: 100000
                },
                Fact {
                    field: "y".into(),
                    lo: 10,
                    hi: i64::MAX
                },
            ]
        );
        let f = facts(&p, &[false, true, false]).unwrap();
        assert_eq!((f[0].lo, f[0].hi), (0, 49999));
        assert_eq!((f[1].lo, f[1].hi), (i64::MIN, 9));
    }

    #[test]
    fn outcomes_outside_the_range_have_no_fact() {
        let p = plan("when x > 1000.00 { x: encrypt to [aml] }\n");
        assert_eq!(facts(&p, &[true]), Err("x".into()));
        assert_eq!(facts(&p, &[false]).unwrap()[0].hi, 100000);
        // A field with neither range nor condition proves nothing.
        let p = plan("");
        assert_eq!(facts(&p, &[]).unwrap().len(), 1);
    }

    #[test]
    fn eight_facts_per_proof() {
        assert_eq!(proof_count(0), 0);
        assert_eq!(proof_count(1), 1);
        assert_eq!(proof_count(8), 1);
        assert_eq!(proof_count(9), 2);
    }
}
