//! Audit anchors: the log's head written into the ledger, so a rewritten log
//! shows against the ledger (`docs/formats/audit.md`).
//!
//! An anchor is a ledger entry whose id is `SHA-256(AUDIT_ANCHOR_ID ‖ u64
//! seq)[..16]` and whose bytes are `"VGAA" ‖ u64 seq ‖ hash of audit entry
//! seq` (44 bytes). Anchors go to the gateway's ledger whose id sorts first.

use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
use veilgate_codec::{Codec, CodecError, Reader, Writer};
use veilgate_ledger::{Ledger, LedgerError};

use super::AuditEntry;

pub const MAGIC: &[u8; 4] = b"VGAA";

/// The anchor of audit entry `seq` with hash `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl Anchor {
    pub fn of(entry: &AuditEntry) -> Anchor {
        Anchor {
            seq: entry.seq,
            hash: entry.hash,
        }
    }

    /// The ledger entry id of this anchor.
    pub fn id(&self) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(domain::AUDIT_ANCHOR_ID);
        h.update(self.seq.to_be_bytes());
        let d: [u8; 32] = h.finalize().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
        id
    }
}

impl Codec for Anchor {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put(MAGIC);
        out.put_u64(self.seq);
        out.put(&self.hash);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        if &r.array::<4>("magic")? != MAGIC {
            return Err(r.invalid("magic", "not VGAA"));
        }
        Ok(Anchor {
            seq: r.u64("seq")?,
            hash: r.array("hash")?,
        })
    }
}

/// The anchor in ledger bytes, if they are one (envelopes start with
/// `VGEN`, never `VGAA`). Readers of a ledger use [`in_entry`], which also
/// checks the entry's id.
pub fn parse(bytes: &[u8]) -> Option<Anchor> {
    Anchor::from_bytes(bytes).ok()
}

/// The anchor a ledger entry is, if it is one: its bytes are an anchor's
/// and its id is that anchor's id. A member's entry shaped like an anchor
/// under another id is not one (a peer judges it as an envelope).
pub fn in_entry(id: &[u8; 16], bytes: &[u8]) -> Option<Anchor> {
    parse(bytes).filter(|a| a.id() == *id)
}

/// A ledger anchor that disagrees with the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("ledger entry {position} anchors audit entry {seq} with a hash the log no longer has")]
    Rewritten { position: u64, seq: u64 },
    #[error("ledger entry {position} anchors audit entry {seq}, which the log does not have (entries were removed)")]
    Missing { position: u64, seq: u64 },
}

/// Checks every anchor on the ledger against the log; returns how many there were.
pub fn verify_anchors(entries: &[AuditEntry], ledger: &dyn Ledger) -> Result<u64, AnchorError> {
    let n = ledger.len()?;
    let mut anchors = 0;
    for position in 0..n {
        let Some(entry) = ledger.by_sequence(position)? else {
            continue;
        };
        let Some(a) = in_entry(&entry.envelope_id, &entry.envelope) else {
            continue;
        };
        anchors += 1;
        let held = usize::try_from(a.seq).ok().and_then(|i| entries.get(i));
        match held {
            Some(e) if e.hash == a.hash => {}
            Some(_) => {
                return Err(AnchorError::Rewritten {
                    position,
                    seq: a.seq,
                })
            }
            None => {
                return Err(AnchorError::Missing {
                    position,
                    seq: a.seq,
                })
            }
        }
    }
    Ok(anchors)
}
