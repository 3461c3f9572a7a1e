//! The audit log: who did what to which envelope, when — never a value.
//!
//! Entries are hash-chained: `hash = SHA-256(AUDIT_ENTRY ‖ body)`, where
//! `body` is the entry's canonical bytes without its hash
//! (`docs/formats/audit.md`), and each entry names the previous one's hash
//! ([`GENESIS`] for the first). [`anchor`] writes the head into the ledger
//! now and then, so rewriting the log shows against the ledger.
//!
//! This module is the format and its checks, pure. The store appends
//! entries in the same transaction as the action they record (a failed
//! audit write fails the action); `write` anchors them.

pub mod anchor;
pub mod refusals;

use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
use veilgate_codec::{Codec, CodecError, Reader, Writer};

/// The longest text (actor, ledger, detail) an entry holds, in bytes.
pub const MAX_TEXT: usize = 4096;

/// Cuts `s` to at most [`MAX_TEXT`] bytes at a character boundary.
fn cut(s: &mut String) {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The previous hash of the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// Format version of an entry's canonical bytes.
const FORMAT_V1: u8 = 1;

/// Every action the gateway audits. The code byte is part of the hashed
/// bytes: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The gateway started, with the policies it publishes.
    Start,
    /// A record was accepted (sealed and queued durably).
    Submit,
    /// Fields were opened for their recipient.
    Open,
    /// An envelope was verified on request.
    Verify,
    /// The revocation list changed.
    PermissionsReloaded,
    /// The log's head was written to the ledger.
    Anchor,
    /// A delivery the ledger lost went back to the outbox.
    Requeue,
    /// A set's root was published on the ledger.
    SetPublish,
    /// An action was refused: a handshake, an admission or a permission
    /// (the reason code and route in the detail), or a summary of the
    /// refusals the rate limit left out.
    Refused,
    /// A member's new key version was announced on the ledger (a rotation).
    KeyRotate,
    /// A member's key was reported lost or compromised on the ledger.
    KeyFreeze,
    /// A lost unwrapping key was recovered from custodians' shares.
    KeyRecover,
    /// The pseudonymisation service evaluated a member's blinded elements
    /// (epoch and count in the detail; never an element).
    PseudonymEvaluate,
}

impl Action {
    /// Every action, in code order.
    pub const ALL: [Action; 13] = [
        Action::Start,
        Action::Submit,
        Action::Open,
        Action::Verify,
        Action::PermissionsReloaded,
        Action::Anchor,
        Action::Requeue,
        Action::SetPublish,
        Action::Refused,
        Action::KeyRotate,
        Action::KeyFreeze,
        Action::KeyRecover,
        Action::PseudonymEvaluate,
    ];

    pub fn code(self) -> u8 {
        match self {
            Action::Start => 1,
            Action::Submit => 2,
            Action::Open => 3,
            Action::Verify => 4,
            Action::PermissionsReloaded => 5,
            Action::Anchor => 6,
            Action::Requeue => 7,
            Action::SetPublish => 8,
            Action::Refused => 9,
            Action::KeyRotate => 10,
            Action::KeyFreeze => 11,
            Action::KeyRecover => 12,
            Action::PseudonymEvaluate => 13,
        }
    }

    pub fn from_code(code: u8) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Submit => "submit",
            Action::Open => "open",
            Action::Verify => "verify",
            Action::PermissionsReloaded => "permissions_reloaded",
            Action::Anchor => "anchor",
            Action::Requeue => "requeue",
            Action::SetPublish => "set_publish",
            Action::Refused => "refused",
            Action::KeyRotate => "key_rotate",
            Action::KeyFreeze => "key_freeze",
            Action::KeyRecover => "key_recover",
            Action::PseudonymEvaluate => "pseudonym_evaluate",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an audit entry is about, before it is numbered and chained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub actor: String,
    pub action: Action,
    pub ledger: Option<String>,
    pub envelope_id: Option<[u8; 16]>,
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An action of the gateway itself.
    pub fn gateway(action: Action) -> Self {
        AuditEvent {
            actor: "gateway".into(),
            action,
            ledger: None,
            envelope_id: None,
            detail: None,
        }
    }
}

/// An audit-log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub time_ms: u64,
    pub event: AuditEvent,
    pub prev: [u8; 32],
    pub hash: [u8; 32],
}

impl AuditEntry {
    /// Numbers and chains an event after `prev` (`None`: the first entry).
    /// Texts longer than [`MAX_TEXT`] bytes are cut at a character boundary,
    /// so every entry encodes and decodes.
    pub fn chain(prev: Option<&AuditEntry>, time_ms: u64, mut event: AuditEvent) -> AuditEntry {
        for text in [
            Some(&mut event.actor),
            event.ledger.as_mut(),
            event.detail.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            cut(text);
        }
        let mut e = AuditEntry {
            seq: prev.map_or(0, |p| p.seq + 1),
            time_ms,
            event,
            prev: prev.map_or(GENESIS, |p| p.hash),
            hash: [0; 32],
        };
        e.hash = e.compute_hash();
        e
    }

    /// The canonical bytes everything but the hash is hashed over.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u8(FORMAT_V1);
        out.put_u64(self.seq);
        out.put_u64(self.time_ms);
        out.put_str_u16(&self.event.actor);
        out.put_u8(self.event.action.code());
        out.put_option(self.event.ledger.as_ref(), |o, l| o.put_str_u16(l));
        out.put_option(self.event.envelope_id.as_ref(), |o, id| o.put(id));
        out.put_option(self.event.detail.as_ref(), |o, d| o.put_str_u16(d));
        out.put(&self.prev);
        out
    }

    /// `SHA-256(AUDIT_ENTRY ‖ body)`.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(domain::AUDIT_ENTRY);
        h.update(self.body());
        h.finalize().into()
    }
}

/// Stored as `body ‖ hash`.
impl Codec for AuditEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(&self.body());
        out.put(&self.hash);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        if r.u8("format version")? != FORMAT_V1 {
            return Err(r.invalid("format version", "not 1"));
        }
        let seq = r.u64("seq")?;
        let time_ms = r.u64("time")?;
        let actor = r.str_u16("actor")?.to_owned();
        let action = Action::from_code(r.u8("action")?)
            .ok_or_else(|| r.invalid("action", "unknown action code"))?;
        let ledger = r.option("ledger", |r| r.str_u16("ledger").map(str::to_owned))?;
        let envelope_id = r.option("envelope id", |r| r.array("envelope id"))?;
        let detail = r.option("detail", |r| r.str_u16("detail").map(str::to_owned))?;
        Ok(AuditEntry {
            seq,
            time_ms,
            event: AuditEvent {
                actor,
                action,
                ledger,
                envelope_id,
                detail,
            },
            prev: r.array("prev")?,
            hash: r.array("hash")?,
        })
    }
}

/// A break in the audit log, the first one found.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    #[error("audit entry {index}: sequence number is {seq} (an entry was removed or reordered)")]
    Sequence { index: u64, seq: u64 },
    #[error("audit entry {seq}: does not link to entry {} (prev hash differs)", seq.saturating_sub(1))]
    Link { seq: u64 },
    #[error("audit entry {seq}: content does not match its hash (the entry was edited)")]
    Edited { seq: u64 },
}

/// Checks the chain: numbering, links and hashes. Returns the entry count.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<u64, ChainError> {
    let mut prev = GENESIS;
    for (i, e) in (0u64..).zip(entries) {
        if e.seq != i {
            return Err(ChainError::Sequence {
                index: i,
                seq: e.seq,
            });
        }
        if e.prev != prev {
            return Err(ChainError::Link { seq: e.seq });
        }
        if e.compute_hash() != e.hash {
            return Err(ChainError::Edited { seq: e.seq });
        }
        prev = e.hash;
    }
    Ok(entries.len() as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn log() -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for (i, action) in [Action::Start, Action::Submit, Action::Anchor]
            .into_iter()
            .enumerate()
        {
            let event = AuditEvent {
                ledger: Some("l".into()),
                envelope_id: (action == Action::Submit).then_some([7; 16]),
                ..AuditEvent::gateway(action)
            };
            out.push(AuditEntry::chain(out.last(), 1000 + i as u64, event));
        }
        out
    }

    #[test]
    fn entries_round_trip_and_refuse_trailing_bytes() {
        for e in log() {
            let b = e.to_bytes();
            assert_eq!(AuditEntry::from_bytes(&b).unwrap(), e);
            let mut longer = b.clone();
            longer.push(0);
            assert!(AuditEntry::from_bytes(&longer).is_err());
            for n in 0..b.len() {
                assert!(AuditEntry::from_bytes(&b[..n]).is_err(), "prefix {n}");
            }
        }
    }

    #[test]
    fn every_action_code_round_trips_and_codes_are_distinct() {
        let mut codes: Vec<u8> = Action::ALL.iter().map(|a| a.code()).collect();
        for a in Action::ALL {
            assert_eq!(Action::from_code(a.code()), Some(a));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Action::ALL.len());
        assert_eq!(Action::from_code(0), None);
    }

    #[test]
    fn a_long_detail_is_cut_at_a_character_boundary_and_still_decodes() {
        let event = AuditEvent {
            detail: Some("é".repeat(3000)),
            ..AuditEvent::gateway(Action::Start)
        };
        let e = AuditEntry::chain(None, 1, event);
        let detail = e.event.detail.as_deref().unwrap();
        assert!(detail.len() <= MAX_TEXT && detail.len() >= MAX_TEXT - 1);
        assert_eq!(AuditEntry::from_bytes(&e.to_bytes()).unwrap(), e);
    }

    #[test]
    fn the_chain_names_the_first_break() {
        let mut es = log();
        assert_eq!(verify_chain(&es), Ok(3));
        es[1].event.actor = "bank-z".into();
        assert_eq!(verify_chain(&es), Err(ChainError::Edited { seq: 1 }));
        es[1].hash = es[1].compute_hash();
        assert_eq!(verify_chain(&es), Err(ChainError::Link { seq: 2 }));
        es.remove(1);
        assert_eq!(
            verify_chain(&es),
            Err(ChainError::Sequence { index: 1, seq: 2 })
        );
    }
}
