//! The Veilgate policy language: minimum-necessary disclosure rules per record
//! type, compiled to the plan that `seal` follows and `verify` enforces.
//!
//! `parse` (grammar) → `check` (meaning) → [`Plan`] with a canonical hash.
//! Pure: it reads only the text it is given, and no input makes it panic or
//! run away (size limits in [`parse`]). The language is documented in
//! `policies/README.md`.
#![forbid(unsafe_code)]

mod check;
pub mod diff;
mod error;
pub mod fmt;
pub mod json;
pub mod leakage;
mod lex;
pub mod output;
pub mod padding;
pub mod parse;
mod plan;
pub mod preview;
pub mod record;
pub mod templates;
pub mod testing;

pub use error::{Diagnostics, PolicyError, Span};
pub use plan::{
    CmpOp, Condition, Disclosure, FieldPlan, FieldType, Generalization, Padding, Plan, Predicate,
    Role,
};
pub use record::{Record, RecordError, Value};

/// Parses and checks policy text, returning the compiled plan or every
/// mistake found. Parsing stops at the first syntax error; checking reports
/// all it finds.
pub fn compile(source: &str) -> Result<Plan, Diagnostics> {
    check::check(parse::parse(source)?)
}

/// Policy templates shipped with Veilgate: (file name, text). Each has a
/// sample record and a policy test file beside it in `policies/templates/`.
/// [`templates`] has them by name, and starts a new policy from one.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "interbank-payment.policy",
        include_str!("../templates/interbank-payment.policy"),
    ),
    (
        "kyc-attestation.policy",
        include_str!("../templates/kyc-attestation.policy"),
    ),
    (
        "syndicated-loan.policy",
        include_str!("../templates/syndicated-loan.policy"),
    ),
    (
        "supply-chain-receivable.policy",
        include_str!("../templates/supply-chain-receivable.policy"),
    ),
    (
        "large-value-report.policy",
        include_str!("../templates/large-value-report.policy"),
    ),
    (
        "cross-border-remittance.policy",
        include_str!("../templates/cross-border-remittance.policy"),
    ),
];

/// A template's text moved onto `ledger` under crypto suite `suite`: its
/// `ledger` line replaced and its `suite` line replaced (or added after the
/// `ledger` line), everything else as written. How tests, the development
/// material and the bench put one template on several ledgers.
pub fn moved_onto(text: &str, ledger: &str, suite: &str) -> String {
    let had_suite = text.lines().any(|l| l.starts_with("suite "));
    let mut out = Vec::new();
    for l in text.lines() {
        if l.starts_with("ledger ") {
            out.push(format!("ledger {ledger}"));
            if !had_suite {
                out.push(format!("suite {suite}"));
            }
        } else if l.starts_with("suite ") {
            out.push(format!("suite {suite}"));
        } else {
            out.push(l.to_owned());
        }
    }
    out.join("\n") + "\n"
}

/// Each template's sample record (JSON), by the template's file name.
pub const SAMPLES: &[(&str, &str)] = &[
    (
        "interbank-payment.policy",
        include_str!("../templates/interbank-payment.sample.json"),
    ),
    (
        "kyc-attestation.policy",
        include_str!("../templates/kyc-attestation.sample.json"),
    ),
    (
        "syndicated-loan.policy",
        include_str!("../templates/syndicated-loan.sample.json"),
    ),
    (
        "supply-chain-receivable.policy",
        include_str!("../templates/supply-chain-receivable.sample.json"),
    ),
    (
        "large-value-report.policy",
        include_str!("../templates/large-value-report.sample.json"),
    ),
    (
        "cross-border-remittance.policy",
        include_str!("../templates/cross-border-remittance.sample.json"),
    ),
];

/// The development member lists of the templates' sets (`sets { ... }`), by
/// set name: one member per line, `#` comments (`veilgate set build` reads
/// them). Every name in them is fictional.
pub const SET_LISTS: &[(&str, &str)] = &[
    (
        "eligible_nationalities",
        include_str!("../templates/sets/eligible_nationalities.txt"),
    ),
    (
        "sanctions_list",
        include_str!("../templates/sets/sanctions_list.txt"),
    ),
];

/// The ledger role that publishes each template set's roots in development
/// directories.
pub const SET_PUBLISHERS: &[(&str, &str)] = &[
    ("eligible_nationalities", "kyc_authority"),
    ("sanctions_list", "sanctions_authority"),
];
