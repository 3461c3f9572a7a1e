//! The audit log's checks: every entry's hash, every link, and every anchor
//! the gateway wrote to the ledger. Used by `veilgate audit verify`.
//!
//! An anchor is a ledger entry whose id is
//! `SHA-256(AUDIT_ANCHOR_ID ‖ seq)[..16]` and whose bytes are
//! `"VGAA" ‖ u64 seq ‖ 32-byte hash of audit entry seq`.

use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
use veilgate_ledger::Ledger;

use crate::store::{AuditEntry, GENESIS};

pub const ANCHOR_MAGIC: &[u8; 4] = b"VGAA";

pub fn anchor_id(seq: u64) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(domain::AUDIT_ANCHOR_ID);
    h.update(seq.to_be_bytes());
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    id
}

pub fn anchor_bytes(entry: &AuditEntry) -> Option<Vec<u8>> {
    let hash = hex::decode(&entry.hash).ok()?;
    let mut v = ANCHOR_MAGIC.to_vec();
    v.extend_from_slice(&entry.seq.to_be_bytes());
    v.extend_from_slice(&hash);
    Some(v)
}

pub fn parse_anchor(bytes: &[u8]) -> Option<(u64, [u8; 32])> {
    let rest = bytes.strip_prefix(ANCHOR_MAGIC)?;
    let (seq, hash) = rest.split_first_chunk::<8>()?;
    let hash: [u8; 32] = hash.try_into().ok()?;
    Some((u64::from_be_bytes(*seq), hash))
}

/// Checks the chain; `Err` names the first broken link.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<u64, String> {
    let mut prev = GENESIS.to_owned();
    for (i, e) in entries.iter().enumerate() {
        if e.seq != i as u64 {
            return Err(format!(
                "audit entry {i}: sequence number is {} (an entry was removed or reordered)",
                e.seq
            ));
        }
        if e.prev != prev {
            return Err(format!(
                "audit entry {}: does not link to entry {} (prev hash differs)",
                e.seq,
                e.seq.saturating_sub(1)
            ));
        }
        if e.compute_hash() != e.hash {
            return Err(format!(
                "audit entry {}: content does not match its hash (the entry was edited)",
                e.seq
            ));
        }
        prev = e.hash.clone();
    }
    Ok(entries.len() as u64)
}

/// Checks every anchor on the ledger against the log; returns how many there were.
pub fn verify_anchors(entries: &[AuditEntry], ledger: &dyn Ledger) -> Result<u64, String> {
    let n = ledger.len().map_err(|e| e.to_string())?;
    let mut anchors = 0;
    for seq in 0..n {
        let Some(entry) = ledger.by_sequence(seq).map_err(|e| e.to_string())? else {
            continue;
        };
        let Some((audit_seq, hash)) = parse_anchor(&entry.envelope) else {
            continue;
        };
        anchors += 1;
        match entries.get(audit_seq as usize) {
            Some(e) if e.hash == hex::encode(hash) => {}
            Some(_) => return Err(format!("ledger entry {seq} anchors audit entry {audit_seq} with a hash the log no longer has")),
            None => return Err(format!("ledger entry {seq} anchors audit entry {audit_seq}, which the log does not have (entries were removed)")),
        }
    }
    Ok(anchors)
}
