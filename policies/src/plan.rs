//! The compiled disclosure plan: what seal and verify follow, field by field,
//! and its canonical hash (`docs/policy-plan.md` documents the bytes).

use sha2::{Digest, Sha256};
use veilgate_circuits::domain;

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
        }
    }
}

/// Who a role is: the institution a party field names, or a ledger-wide role
/// (`regulator`, `auditor`, …) resolved from the ledger's membership.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
    /// A Pedersen commitment on the ledger, with an optional range proof; the
    /// opening (value and blinding) encrypted to `open_to`.
    Commit {
        range: Option<(i64, i64)>,
        open_to: Vec<Role>,
    },
    /// Only ciphertexts on the ledger, one per recipient.
    Encrypt { to: Vec<Role> },
}

impl Disclosure {
    /// Roles that receive this field's value (sorted, no duplicates).
    pub fn recipients(&self) -> &[Role] {
        match self {
            Disclosure::Public | Disclosure::Drop => &[],
            Disclosure::Pseudonym { reveal_to: r }
            | Disclosure::Commit { open_to: r, .. }
            | Disclosure::Encrypt { to: r } => r,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Disclosure::Public => 0,
            Disclosure::Drop => 1,
            Disclosure::Pseudonym { .. } => 2,
            Disclosure::Commit { .. } => 3,
            Disclosure::Encrypt { .. } => 4,
        }
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
    pub ledger: String,
    pub suite: String,
    /// Ledger-wide roles the policy declares, sorted.
    pub ledger_roles: Vec<String>,
    /// Fields in record declaration order; this is the order in envelopes.
    pub fields: Vec<FieldPlan>,
    pub(crate) hash: [u8; 32],
}

impl Plan {
    /// The canonical policy hash: SHA-256 of the plan's canonical bytes. Comments
    /// and layout of the source do not change it; every semantic edit does.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    pub fn field(&self, name: &str) -> Option<&FieldPlan> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(domain::POLICY_PLAN);
        put_str(&mut out, &self.id);
        out.extend_from_slice(&self.version.to_be_bytes());
        put_str(&mut out, &self.ledger);
        put_str(&mut out, &self.suite);
        put_len(&mut out, self.ledger_roles.len());
        for r in &self.ledger_roles {
            put_str(&mut out, r);
        }
        put_len(&mut out, self.fields.len());
        for f in &self.fields {
            put_str(&mut out, &f.name);
            out.push(f.ty.tag());
            match &f.ty {
                FieldType::Amount { scale } => out.push(*scale),
                FieldType::Enum(variants) => {
                    put_len(&mut out, variants.len());
                    for v in variants {
                        put_str(&mut out, v);
                    }
                }
                _ => {}
            }
            out.push(f.disclosure.tag());
            if let Disclosure::Commit { range, .. } = &f.disclosure {
                match range {
                    Some((lo, hi)) => {
                        out.push(1);
                        out.extend_from_slice(&lo.to_be_bytes());
                        out.extend_from_slice(&hi.to_be_bytes());
                    }
                    None => out.push(0),
                }
            }
            let recipients = f.disclosure.recipients();
            put_len(&mut out, recipients.len());
            for r in recipients {
                out.push(match r {
                    Role::Party(_) => 1,
                    Role::Ledger(_) => 2,
                });
                put_str(&mut out, r.name());
            }
        }
        out
    }

    pub(crate) fn seal_hash(mut self) -> Self {
        self.hash = Sha256::digest(self.canonical_bytes()).into();
        self
    }
}

// Lengths are bounded by the parser's limits (names ≤ 64, lists ≤ 256), so u16 holds them.
fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n.min(u16::MAX as usize) as u16).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}
