//! The peer: a follower that tails a ledger and verifies every entry, as any
//! member's own implementation would from the documented format.
//!
//! - [`judge`]: pure — consecutive ledger entries in, one [`Verdict`] each
//!   out (`veilgate_core::verify_batch`: signature, membership, envelope id,
//!   the policy by hash, shape, every range and Groth16 proof, the proofs of
//!   a batch checked together).
//! - [`verdicts`]: where verdicts are kept (`follow/<ledger>.redb`, its own
//!   file, readable while the follower writes).
//! - [`tail`]: the [`Follower`] — reads entries from its cursor, learns the
//!   policies envelopes name (from the ledger's registry, checked to compile
//!   to the named hash), judges them and records the verdicts; and the
//!   gateway's follower task.
//!
//! Nothing here reads a configuration file: `boot` builds followers.

pub mod judge;
pub mod tail;
pub mod verdicts;

use serde::{Deserialize, Serialize};

pub use tail::{default_state, run, Follower, BATCH};
pub use verdicts::Verdicts;

/// What a peer concluded about one ledger entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    /// An envelope that verifies.
    Valid,
    /// An envelope that does not; `code` and `reason` say why.
    Rejected,
    /// An audit-log anchor, not an envelope.
    Anchor,
    /// A set's root, admitted (a root the directory does not allow is `Rejected`).
    SetRoot,
    /// A key event (a key announced or frozen), admitted (one the rules
    /// refuse is `Rejected`).
    KeyEvent,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Valid => "valid",
            VerdictKind::Rejected => "rejected",
            VerdictKind::Anchor => "anchor",
            VerdictKind::SetRoot => "set_root",
            VerdictKind::KeyEvent => "key_event",
        }
    }
}

/// The verdict on one ledger entry. Carries no field value: ids, codes and
/// the rejection's message (which names fields and rules, never values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub sequence: u64,
    pub envelope_id: String,
    pub verdict: VerdictKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitter: Option<String>,
}

/// Why following stopped (it resumes at the same entry next time).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error(transparent)]
    Ledger(#[from] veilgate_ledger::LedgerError),
    #[error("ledger entry {0} is not readable yet")]
    NotReadable(u64),
    #[error("verdict store `{path}` is in use by another follower (the running gateway follows this ledger itself: read its verdicts through GET /v1/ledgers/{{ledger}}/verdicts/{{sequence}}, or pass --state to keep a second copy)")]
    StateInUse { path: String },
    #[error("verdict store {path}: {source}")]
    Store {
        path: String,
        #[source]
        source: redb::Error,
    },
    #[error("verdict at position {sequence} cannot be read: {source}")]
    Corrupt {
        sequence: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("verification returned fewer verdicts than envelopes")]
    LostVerdict,
}
