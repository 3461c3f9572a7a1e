//! The compiled disclosure plan: what seal follows and verify enforces, field
//! by field, and its canonical hash (`docs/policy-plan.md` documents the bytes).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
pub use veilgate_pseudonym::Padding;

pub use crate::parse::CmpOp;

/// A field's type in the record schema.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    String,
    Integer,
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// An institution id; a party field can be named as a role.
    Party,
    /// A decimal amount held as an integer count of minor units.
    Amount {
        scale: u8,
    },
    Enum(Vec<String>),
    /// Opaque bytes, base64 in JSON records.
    Bytes,
}

impl FieldType {
    pub fn name(&self) -> String {
        match self {
            FieldType::String => "string".into(),
            FieldType::Integer => "integer".into(),
            FieldType::Bool => "bool".into(),
            FieldType::Date => "date".into(),
            FieldType::Party => "party".into(),
            FieldType::Amount { scale } => format!("amount({scale})"),
            FieldType::Enum(v) => format!("enum({})", v.join(", ")),
            FieldType::Bytes => "bytes".into(),
        }
    }

    pub(crate) fn tag(&self) -> u8 {
        match self {
            FieldType::String => 1,
            FieldType::Integer => 2,
            FieldType::Bool => 3,
            FieldType::Date => 4,
            FieldType::Party => 5,
            FieldType::Amount { .. } => 6,
            FieldType::Enum(_) => 7,
            FieldType::Bytes => 8,
        }
    }

    /// Scale of the integer a value of this type is compared and committed at.
    pub fn scale(&self) -> Option<u8> {
        match self {
            FieldType::Integer | FieldType::Date => Some(0),
            FieldType::Amount { scale } => Some(*scale),
            _ => None,
        }
    }
}

/// Who a role is: the institution a party field names, or a ledger-wide role
/// (`regulator`, `auditor`, …) resolved from the ledger's membership.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Party(String),
    Ledger(String),
}

impl Role {
    pub fn name(&self) -> &str {
        match self {
            Role::Party(n) | Role::Ledger(n) => n,
        }
    }
}

/// How a `generalize` disclosure coarsens a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Generalization {
    /// A date to its year.
    Year,
    /// A date to `YYYY-MM`.
    Month,
    /// A number to the lower bound of its bucket of this width (minor units).
    Bucket(i64),
}

/// Exactly one disclosure per field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disclosure {
    /// In clear on the ledger.
    Public,
    /// Never leaves the institution.
    Drop,
    /// A keyed per-ledger pseudonym on the ledger; the value encrypted to `reveal_to`.
    Pseudonym { reveal_to: Vec<Role> },
    /// A commitment on the ledger, with an optional range proof; the opening
    /// (value and blinding) encrypted to `open_to`.
    Commit {
        range: Option<(i64, i64)>,
        open_to: Vec<Role>,
    },
    /// Only ciphertexts on the ledger, one per recipient.
    Encrypt { to: Vec<Role> },
    /// The first `first` and last `last` characters in clear, the rest `*`.
    Mask {
        first: u32,
        last: u32,
        reveal_to: Vec<Role>,
    },
    /// A coarsened value in clear.
    Generalize {
        how: Generalization,
        reveal_to: Vec<Role>,
    },
}

impl Disclosure {
    /// The type of the value a masked or generalized field publishes: a
    /// mask and a month are text, a year an integer; other forms keep the
    /// field's type.
    pub fn derived_type(&self, ty: &FieldType) -> FieldType {
        match self {
            Disclosure::Mask { .. }
            | Disclosure::Generalize {
                how: Generalization::Month,
                ..
            } => FieldType::String,
            Disclosure::Generalize {
                how: Generalization::Year,
                ..
            } => FieldType::Integer,
            _ => ty.clone(),
        }
    }

    /// Roles that receive this field's full value (sorted, no duplicates).
    pub fn recipients(&self) -> &[Role] {
        match self {
            Disclosure::Public | Disclosure::Drop => &[],
            Disclosure::Pseudonym { reveal_to: r }
            | Disclosure::Commit { open_to: r, .. }
            | Disclosure::Encrypt { to: r }
            | Disclosure::Mask { reveal_to: r, .. }
            | Disclosure::Generalize { reveal_to: r, .. } => r,
        }
    }

    /// The policy keyword, as a person reads it.
    pub fn keyword(&self) -> &'static str {
        match self {
            Disclosure::Public => "public",
            Disclosure::Drop => "drop",
            Disclosure::Pseudonym { .. } => "pseudonym",
            Disclosure::Commit { .. } => "commit",
            Disclosure::Encrypt { .. } => "encrypt",
            Disclosure::Mask { .. } => "mask",
            Disclosure::Generalize { .. } => "generalize",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Disclosure::Public => 0,
            Disclosure::Drop => 1,
            Disclosure::Pseudonym { .. } => 2,
            Disclosure::Commit { .. } => 3,
            Disclosure::Encrypt { .. } => 4,
            Disclosure::Mask { .. } => 5,
            Disclosure::Generalize { .. } => 6,
        }
    }
}

/// A statement about committed fields, proven in zero knowledge. Each names
/// the circuit that proves it (`circuit()`); the circuits are Groth16 over
/// BN254 with Poseidon commitments (see `docs/policy-plan.md`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Predicate {
    /// `left op right`, both committed, same scale.
    Compare {
        left: String,
        op: CmpOp,
        right: String,
    },
    /// `terms[0] + terms[1] + … == total`, all committed, same scale.
    Sum { terms: Vec<String>, total: String },
    /// The committed value is (or, negated, is not) in a set published by Merkle root.
    Member {
        field: String,
        set: String,
        negated: bool,
    },
    /// Whole years from the committed `birth` date to the public date `at` are at least `years`.
    AgeAtLeast {
        birth: String,
        at: String,
        years: u32,
    },
}

impl Predicate {
    /// The circuit a peer verifies for this predicate.
    pub fn circuit(&self) -> &'static str {
        match self {
            Predicate::Compare { .. } => "groth16/compare-v1",
            Predicate::Sum { .. } => "groth16/linear-sum-v1",
            Predicate::Member { negated: false, .. } => "groth16/merkle-membership-v1",
            Predicate::Member { negated: true, .. } => "groth16/merkle-non-membership-v1",
            Predicate::AgeAtLeast { .. } => "groth16/date-threshold-v1",
        }
    }

    /// The predicate as written in the policy.
    pub fn describe(&self) -> String {
        match self {
            Predicate::Compare { left, op, right } => format!("{left} {} {right}", op.symbol()),
            Predicate::Sum { terms, total } => format!("{} == {total}", terms.join(" + ")),
            Predicate::Member {
                field,
                set,
                negated,
            } => format!("{field} {}in {set}", if *negated { "not " } else { "" }),
            Predicate::AgeAtLeast { birth, at, years } => format!("age({birth}, {at}) >= {years}"),
        }
    }

    /// Committed fields the predicate speaks about.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            Predicate::Compare { left, right, .. } => vec![left, right],
            Predicate::Sum { terms, total } => terms
                .iter()
                .map(String::as_str)
                .chain([total.as_str()])
                .collect(),
            Predicate::Member { field, .. } => vec![field],
            Predicate::AgeAtLeast { birth, .. } => vec![birth],
        }
    }
}

/// `when field op threshold { … }`: extra recipients when the record meets the
/// condition. The threshold is in the field's minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: CmpOp,
    pub threshold: i64,
    /// Field → extra recipients (sorted by field name, roles sorted).
    pub extra: Vec<(String, Vec<Role>)>,
}

impl Condition {
    pub fn holds(&self, value: i64) -> bool {
        match self.op {
            CmpOp::Le => value <= self.threshold,
            CmpOp::Lt => value < self.threshold,
            CmpOp::Ge => value >= self.threshold,
            CmpOp::Gt => value > self.threshold,
            CmpOp::Eq => value == self.threshold,
        }
    }

    /// The integers `[lo, hi]` a value lies in when the condition's outcome
    /// is `met`: what a range proof on a committed field shows. `None` when
    /// that side is empty (`>= i64::MIN` not met) or not one interval
    /// (`==` not met), which the checker refuses on committed fields.
    pub fn interval(&self, met: bool) -> Option<(i64, i64)> {
        let t = self.threshold;
        let (below, above) = ((i64::MIN, t), (t, i64::MAX));
        let side = match (self.op, met) {
            (CmpOp::Ge, true) | (CmpOp::Lt, false) => above,
            (CmpOp::Gt, true) | (CmpOp::Le, false) => (t.checked_add(1)?, i64::MAX),
            (CmpOp::Le, true) | (CmpOp::Gt, false) => below,
            (CmpOp::Lt, true) | (CmpOp::Ge, false) => (i64::MIN, t.checked_sub(1)?),
            (CmpOp::Eq, true) => (t, t),
            (CmpOp::Eq, false) => return None,
        };
        Some(side)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPlan {
    pub name: String,
    pub ty: FieldType,
    pub disclosure: Disclosure,
}

/// A checked, compiled policy. Only [`crate::compile`] makes one, so holding a
/// `Plan` means the policy passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub id: String,
    pub version: u32,
    /// Ledgers the policy binds to, sorted.
    pub ledgers: Vec<String>,
    pub suite: String,
    /// Roles every field with recipients must reach (`require encrypt to [...]`), sorted.
    pub required: Vec<Role>,
    /// Roles every field reaches in full (`require all fields to [...]`):
    /// no field is dropped and every hidden one is encrypted to them. Sorted.
    pub sees_all: Vec<Role>,
    /// The public party field that names the submitting institution
    /// (`field: public, submitter`): peers reject an envelope signed by
    /// another member.
    pub submitter: Option<String>,
    /// Ledger-wide roles the policy declares, sorted.
    pub ledger_roles: Vec<String>,
    /// Sets published by Merkle root that predicates refer to, sorted.
    pub sets: Vec<String>,
    /// Fields in record declaration order; this is the order in envelopes.
    pub fields: Vec<FieldPlan>,
    /// Sorted.
    pub predicates: Vec<Predicate>,
    /// In policy order.
    pub conditions: Vec<Condition>,
    /// `require proofs on chain`: the ledger's registry contract verifies
    /// every predicate before it records an envelope.
    pub onchain: bool,
    /// `require key`: the verifying key id each named circuit's proofs
    /// must be under, by circuit id.
    pub keys: BTreeMap<String, [u8; 32]>,
    /// `pad pow2 MIN..=MAX`: the size classes every field plaintext that
    /// carries a value is padded to before encryption. `None`: unpadded,
    /// each ciphertext as long as its plaintext (plus the tag).
    pub padding: Option<Padding>,
    pub(crate) hash: [u8; 32],
}

impl Plan {
    /// Which of the plan's conditions the record meets, in plan order. A
    /// condition whose field holds no integer counts as not met (validation
    /// makes every condition field an integer or amount).
    pub fn conditions_met(&self, record: &crate::Record) -> Vec<bool> {
        self.conditions
            .iter()
            .map(|c| {
                self.fields
                    .iter()
                    .position(|f| f.name == c.field)
                    .and_then(|i| record.values.get(i))
                    .and_then(|v| v.committed_integer())
                    .is_some_and(|x| c.holds(x))
            })
            .collect()
    }

    /// The roles field `field` goes to in full: its disclosure's, and those
    /// each met condition adds (`met` as [`Plan::conditions_met`] gives it).
    /// Sorted, no duplicates.
    pub fn recipients_with(&self, field: &FieldPlan, met: &[bool]) -> Vec<Role> {
        let mut roles: Vec<Role> = field.disclosure.recipients().to_vec();
        for (c, _) in self.conditions.iter().zip(met).filter(|(_, m)| **m) {
            if let Some((_, extra)) = c.extra.iter().find(|(name, _)| *name == field.name) {
                roles.extend(extra.iter().cloned());
            }
        }
        roles.sort();
        roles.dedup();
        roles
    }

    /// The canonical policy hash: SHA-256 of the plan's canonical bytes (SM3
    /// under suite `sm`, whose ledgers hash everything with SM3). Comments
    /// and layout of the source do not change it; every semantic edit does.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    pub fn field(&self, name: &str) -> Option<&FieldPlan> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn binds(&self, ledger: &str) -> bool {
        self.ledgers.iter().any(|l| l == ledger)
    }

    /// The first field `role` does not see in full: a dropped field, or a
    /// hidden one (encrypted, committed, pseudonymised, masked, generalised)
    /// not encrypted to it. `None`: the role sees every field.
    pub fn withheld_from(&self, role: &Role) -> Option<&FieldPlan> {
        self.fields.iter().find(|f| match &f.disclosure {
            Disclosure::Public => false,
            Disclosure::Drop => true,
            d => !d.recipients().contains(role),
        })
    }

    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(domain::POLICY_PLAN);
        put_str(&mut out, &self.id);
        out.extend_from_slice(&self.version.to_be_bytes());
        put_list(&mut out, &self.ledgers, |o, l| put_str(o, l));
        put_str(&mut out, &self.suite);
        put_list(&mut out, &self.required, put_role);
        put_list(&mut out, &self.ledger_roles, |o, r| put_str(o, r));
        put_list(&mut out, &self.sets, |o, s| put_str(o, s));
        put_list(&mut out, &self.fields, |out, f| {
            put_str(out, &f.name);
            out.push(f.ty.tag());
            match &f.ty {
                FieldType::Amount { scale } => out.push(*scale),
                FieldType::Enum(variants) => put_list(out, variants, |o, v| put_str(o, v)),
                _ => {}
            }
            out.push(f.disclosure.tag());
            match &f.disclosure {
                Disclosure::Commit { range, .. } => match range {
                    Some((lo, hi)) => {
                        out.push(1);
                        out.extend_from_slice(&lo.to_be_bytes());
                        out.extend_from_slice(&hi.to_be_bytes());
                    }
                    None => out.push(0),
                },
                Disclosure::Mask { first, last, .. } => {
                    out.extend_from_slice(&first.to_be_bytes());
                    out.extend_from_slice(&last.to_be_bytes());
                }
                Disclosure::Generalize { how, .. } => match how {
                    Generalization::Year => out.push(1),
                    Generalization::Month => out.push(2),
                    Generalization::Bucket(w) => {
                        out.push(3);
                        out.extend_from_slice(&w.to_be_bytes());
                    }
                },
                _ => {}
            }
            put_list(out, f.disclosure.recipients(), put_role);
        });
        put_list(&mut out, &self.predicates, |out, p| match p {
            Predicate::Compare { left, op, right } => {
                out.push(1);
                put_str(out, left);
                out.push(*op as u8);
                put_str(out, right);
            }
            Predicate::Sum { terms, total } => {
                out.push(2);
                put_list(out, terms, |o, t| put_str(o, t));
                put_str(out, total);
            }
            Predicate::Member {
                field,
                set,
                negated,
            } => {
                out.push(if *negated { 4 } else { 3 });
                put_str(out, field);
                put_str(out, set);
            }
            Predicate::AgeAtLeast { birth, at, years } => {
                out.push(5);
                put_str(out, birth);
                put_str(out, at);
                out.extend_from_slice(&years.to_be_bytes());
            }
        });
        put_list(&mut out, &self.conditions, |out, c| {
            put_str(out, &c.field);
            out.push(c.op as u8);
            out.extend_from_slice(&c.threshold.to_be_bytes());
            put_list(out, &c.extra, |o, (f, roles)| {
                put_str(o, f);
                put_list(o, roles, put_role);
            });
        });
        // Trailers only when set, so plans without them keep their hashes:
        // 0x01 proofs on chain; 0x02 then the pinned keys (a list: u16
        // count, each circuit id as lp() and the 32-byte key id, sorted by
        // circuit id); 0x03 then the submitter field's name as lp(); 0x04
        // then the roles that see every field (a list of roles); 0x05 then
        // the padding scheme (u8 1 pow2, u32 min, u32 max).
        if self.onchain {
            out.push(1);
        }
        if !self.keys.is_empty() {
            out.push(2);
            let keys: Vec<(String, [u8; 32])> =
                self.keys.iter().map(|(c, k)| (c.clone(), *k)).collect();
            put_list(&mut out, &keys, |o, (c, k)| {
                put_str(o, c);
                o.extend_from_slice(k);
            });
        }
        if let Some(f) = &self.submitter {
            out.push(3);
            put_str(&mut out, f);
        }
        if !self.sees_all.is_empty() {
            out.push(4);
            put_list(&mut out, &self.sees_all, put_role);
        }
        if let Some(Padding::Pow2 { min, max, .. }) = self.padding {
            out.push(5);
            out.push(1);
            // The checker bounds both by 65536, so u32 holds them.
            for b in [min, max] {
                out.extend_from_slice(&u32::try_from(b).unwrap_or(u32::MAX).to_be_bytes());
            }
        }
        out
    }

    pub(crate) fn seal_hash(mut self) -> Self {
        let bytes = self.canonical_bytes();
        self.hash = if self.suite == "sm" {
            sm3::Sm3::digest(&bytes).into()
        } else {
            Sha256::digest(&bytes).into()
        };
        self
    }
}

fn put_role(out: &mut Vec<u8>, r: &Role) {
    out.push(match r {
        Role::Party(_) => 1,
        Role::Ledger(_) => 2,
    });
    put_str(out, r.name());
}

// Lengths are bounded by the parser's limits (names ≤ 64, lists ≤ 256), so u16 holds them.
fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n.min(u16::MAX as usize) as u16).to_be_bytes());
}

fn put_list<T>(out: &mut Vec<u8>, items: &[T], mut each: impl FnMut(&mut Vec<u8>, &T)) {
    put_len(out, items.len());
    for i in items {
        each(out, i);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// A shipped template without its `pad` line (every template pads):
    /// these tests lay a trailer after a plan without the padding trailer.
    fn template(name: &str) -> String {
        let text = crate::TEMPLATES.iter().find(|(n, _)| *n == name).unwrap().1;
        text.lines()
            .filter(|l| !l.starts_with("pad "))
            .flat_map(|l| [l, "\n"])
            .collect()
    }

    /// The pinned-key trailer, byte for byte as docs/policy-plan.md lays it.
    #[test]
    fn pinned_keys_are_a_trailer_after_the_plan() {
        let text = template("supply-chain-receivable.policy");
        // Without its submitter: that trailer (0x03) comes after this one.
        let text = &text.replacen("public, submitter", "public", 1);
        let plain = crate::compile(text).unwrap();
        let pinned = crate::compile(&text.replacen(
            "require encrypt to [regulator]\n",
            &format!(
                "require encrypt to [regulator]\nrequire key compare64-v1 {}\n",
                "0f".repeat(32)
            ),
            1,
        ))
        .unwrap();
        let mut want = plain.canonical_bytes();
        want.push(2);
        want.extend_from_slice(&[0, 1, 0, 12]);
        want.extend_from_slice(b"compare64-v1");
        want.extend_from_slice(&[0x0f; 32]);
        assert_eq!(pinned.canonical_bytes(), want);
    }

    /// The submitter (0x03) and sees-all (0x04) trailers, byte for byte as
    /// docs/policy-plan.md lays them, after the plan without them.
    #[test]
    fn submitter_and_sees_all_are_trailers_after_the_plan() {
        let text = template("large-value-report.policy");
        let full = crate::compile(&text).unwrap();
        let plain = crate::compile(
            &text
                .replacen("require all fields to [regulator]\n", "", 1)
                .replacen("public, submitter", "public", 1),
        )
        .unwrap();
        let mut want = plain.canonical_bytes();
        want.push(3);
        want.extend_from_slice(&[0, 14]);
        want.extend_from_slice(b"reporting_bank");
        want.push(4);
        want.extend_from_slice(&[0, 1, 2, 0, 9]);
        want.extend_from_slice(b"regulator");
        assert_eq!(full.canonical_bytes(), want);
    }

    /// The padding trailer (0x05), byte for byte as docs/policy-plan.md
    /// lays it, after the plan without it (and after the 0x03 trailer).
    #[test]
    fn padding_is_the_last_trailer() {
        let text = template("interbank-payment.policy");
        let plain = crate::compile(&text).unwrap();
        let padded = crate::compile(&text.replacen(
            "suite standard\n",
            "suite standard\npad pow2 64..=4096\n",
            1,
        ))
        .unwrap();
        let mut want = plain.canonical_bytes();
        want.extend_from_slice(&[5, 1, 0, 0, 0, 64, 0, 0, 0x10, 0]);
        assert_eq!(padded.canonical_bytes(), want);
    }

    /// Suite `sm` hashes the same canonical bytes with SM3 (GB/T 32905),
    /// recomputed here with the `sm3` crate; `standard` with SHA-256.
    #[test]
    fn the_plan_hash_is_the_suites_hash_of_the_canonical_bytes() {
        use sha2::Digest as _;
        let text = |suite: &str| {
            format!("policy p version 1\nledger l\nsuite {suite}\nrecord {{ a: string }}\ndisclose {{ a: public }}\n")
        };
        let std_plan = crate::compile(&text("standard")).unwrap();
        let sm_plan = crate::compile(&text("sm")).unwrap();
        assert_eq!(
            sm_plan.hash().to_vec(),
            sm3::Sm3::digest(sm_plan.canonical_bytes()).to_vec()
        );
        assert_eq!(
            std_plan.hash().to_vec(),
            sha2::Sha256::digest(std_plan.canonical_bytes()).to_vec()
        );
        assert_ne!(std_plan.hash(), sm_plan.hash());
    }
}
