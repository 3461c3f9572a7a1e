//! The gateway's own durable state, in one redb file (`gateway.redb`):
//!
//! - `submissions`: envelope id → what was accepted and where it is now;
//! - `outbox`: acceptance order → envelope bytes waiting for the ledger;
//! - `audit`: the hash-chained audit log.
//!
//! "Accepted" means the submission, its outbox entry and its audit entry were
//! committed together in one fsynced transaction. Delivery removes the outbox
//! entry and records the ledger receipt in another; a crash between the ledger
//! append and that commit re-delivers, and the ledger's idempotency by envelope
//! id turns the second append into the first one's receipt.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use veilgate_circuits::domain;

const SUBMISSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submissions");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// The latest deliveries, kept (outbox key → outbox bytes) so that entries a
/// ledger loses — a chain reorganisation, a node restarted from an older
/// state — go back to the outbox ([`Store::requeue`]).
const DELIVERED: TableDefinition<u64, &[u8]> = TableDefinition::new("delivered");

/// How many deliveries [`DELIVERED`] keeps. A ledger that loses more than
/// this many of the latest entries is detected (`audit verify`, the
/// reconciliation's log) but not repaired automatically.
pub const KEEP_DELIVERED: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
#[error("gateway store: {0}")]
pub struct StoreError(pub String);

fn se<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError(e.to_string())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Fsynced in the outbox, not yet on the ledger.
    Accepted,
    /// On the ledger, with its receipt.
    OnLedger,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub ledger: String,
    pub submitter: String,
    pub policy: String,
    /// Digest of policy hash and record: the same key with another record is a conflict.
    pub record_digest: String,
    pub state: State,
    pub accepted_ms: u64,
    pub sequence: Option<u64>,
    pub entry_hash: Option<String>,
    pub delivered_ms: Option<u64>,
}

/// One outbox entry, in acceptance order.
#[derive(Clone, Debug)]
pub struct Pending {
    pub key: u64,
    pub ledger: String,
    pub envelope_id: [u8; 16],
    pub envelope: Vec<u8>,
}

/// An audit-log entry. Never holds a field value: who, what, when, which envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub time_ms: u64,
    pub actor: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub prev: String,
    pub hash: String,
}

/// What an audit entry is about, before it is numbered and chained.
#[derive(Clone, Debug, Default)]
pub struct AuditEvent {
    pub actor: String,
    pub action: String,
    pub ledger: Option<String>,
    pub envelope_id: Option<String>,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// `SHA-256(AUDIT_ENTRY ‖ canonical JSON of the entry without its hash)`.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let body = serde_json::to_vec(&unhashed).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(domain::AUDIT_ENTRY);
        h.update(&body);
        hex::encode(h.finalize())
    }
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Digest of a record under a policy, for idempotency conflicts.
pub fn record_digest(policy_hash: &[u8; 32], record: &veilgate_policies::Record) -> String {
    let mut h = Sha256::new();
    h.update(domain::RECORD_DIGEST);
    h.update(policy_hash);
    for v in &record.values {
        let e = v.encode();
        h.update((e.len() as u32).to_be_bytes());
        h.update(&e);
    }
    hex::encode(h.finalize())
}

pub struct Store {
    db: Database,
}

/// The outcome of offering a submission to the store.
#[derive(Debug)]
pub enum Offer {
    Accepted,
    /// The envelope id was already accepted with the same record.
    Existing(Submission),
    /// The envelope id was already accepted with another record.
    Conflict,
}

fn append_audit(
    table: &mut redb::Table<'_, u64, &[u8]>,
    time_ms: u64,
    e: AuditEvent,
) -> Result<AuditEntry, StoreError> {
    let (seq, prev) = match table.last().map_err(se)? {
        Some((k, v)) => {
            let last: AuditEntry = serde_json::from_slice(v.value()).map_err(se)?;
            (k.value() + 1, last.hash)
        }
        None => (0, GENESIS.to_owned()),
    };
    let mut entry = AuditEntry {
        seq,
        time_ms,
        actor: e.actor,
        action: e.action,
        ledger: e.ledger,
        envelope_id: e.envelope_id,
        detail: e.detail,
        prev,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    table
        .insert(seq, serde_json::to_vec(&entry).map_err(se)?.as_slice())
        .map_err(se)?;
    Ok(entry)
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(se)?;
        let tx = db.begin_write().map_err(se)?;
        tx.open_table(SUBMISSIONS).map_err(se)?;
        tx.open_table(OUTBOX).map_err(se)?;
        tx.open_table(AUDIT).map_err(se)?;
        tx.open_table(DELIVERED).map_err(se)?;
        tx.commit().map_err(se)?;
        Ok(Store { db })
    }

    pub fn submission(&self, id: &[u8; 16]) -> Result<Option<Submission>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(SUBMISSIONS).map_err(se)?;
        let v = t.get(id.as_slice()).map_err(se)?;
        v.map(|v| serde_json::from_slice(v.value()).map_err(se))
            .transpose()
    }

    pub fn outbox_depth(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        tx.open_table(OUTBOX).map_err(se)?.len().map_err(se)
    }

    /// Accepts a sealed envelope: submission, outbox entry and audit entry in
    /// one fsynced transaction — or reports the existing one / a conflict.
    pub fn offer(
        &self,
        id: [u8; 16],
        sub: Submission,
        envelope: &[u8],
        audit: AuditEvent,
    ) -> Result<Offer, StoreError> {
        let tx = self.db.begin_write().map_err(se)?;
        {
            let mut subs = tx.open_table(SUBMISSIONS).map_err(se)?;
            let existing = subs
                .get(id.as_slice())
                .map_err(se)?
                .map(|v| serde_json::from_slice::<Submission>(v.value()));
            if let Some(existing) = existing {
                let existing = existing.map_err(se)?;
                return Ok(if existing.record_digest == sub.record_digest {
                    Offer::Existing(existing)
                } else {
                    Offer::Conflict
                });
            }
            subs.insert(
                id.as_slice(),
                serde_json::to_vec(&sub).map_err(se)?.as_slice(),
            )
            .map_err(se)?;
            let mut outbox = tx.open_table(OUTBOX).map_err(se)?;
            // Keys grow forever (never reused once the outbox empties), so a
            // delivery kept in DELIVERED keeps its place in acceptance order.
            let delivered = tx.open_table(DELIVERED).map_err(se)?;
            let next = |last: Option<u64>| last.map_or(0, |k| k + 1);
            let key = next(outbox.last().map_err(se)?.map(|(k, _)| k.value()))
                .max(next(delivered.last().map_err(se)?.map(|(k, _)| k.value())));
            let mut v = Vec::with_capacity(18 + sub.ledger.len() + envelope.len());
            v.extend_from_slice(&id);
            v.extend_from_slice(&(sub.ledger.len() as u16).to_be_bytes());
            v.extend_from_slice(sub.ledger.as_bytes());
            v.extend_from_slice(envelope);
            outbox.insert(key, v.as_slice()).map_err(se)?;
            let mut audit_t = tx.open_table(AUDIT).map_err(se)?;
            append_audit(&mut audit_t, sub.accepted_ms, audit)?;
        }
        tx.commit().map_err(se)?;
        Ok(Offer::Accepted)
    }

    /// The oldest outbox entries, in acceptance order.
    pub fn pending(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(OUTBOX).map_err(se)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(se)?.take(limit) {
            let (k, v) = item.map_err(se)?;
            out.push(parse_pending(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The latest deliveries to `ledger`, newest first, at most `limit`.
    pub fn recent_deliveries(
        &self,
        ledger: &str,
        limit: usize,
    ) -> Result<Vec<(Pending, Submission)>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(DELIVERED).map_err(se)?;
        let subs = tx.open_table(SUBMISSIONS).map_err(se)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(se)?.rev() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(se)?;
            let p = parse_pending(k.value(), v.value())?;
            if p.ledger != ledger {
                continue;
            }
            let sub = subs
                .get(p.envelope_id.as_slice())
                .map_err(se)?
                .map(|v| serde_json::from_slice::<Submission>(v.value()))
                .transpose()
                .map_err(se)?;
            if let Some(sub) = sub {
                out.push((p, sub));
            }
        }
        Ok(out)
    }

    /// Puts a delivery the ledger no longer holds back into the outbox, at
    /// its original place, and the submission back to `accepted`.
    pub fn requeue(&self, p: &Pending, now_ms: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(se)?;
        {
            let mut delivered = tx.open_table(DELIVERED).map_err(se)?;
            let Some(v) = delivered.remove(p.key).map_err(se)? else {
                return Ok(());
            };
            let mut outbox = tx.open_table(OUTBOX).map_err(se)?;
            outbox.insert(p.key, v.value()).map_err(se)?;
            drop(v);
            let mut subs = tx.open_table(SUBMISSIONS).map_err(se)?;
            set_ledger_state(&mut subs, &p.envelope_id, None, None)?;
            let mut audit_t = tx.open_table(AUDIT).map_err(se)?;
            append_audit(
                &mut audit_t,
                now_ms,
                AuditEvent {
                    actor: "gateway".into(),
                    action: "requeue".into(),
                    ledger: Some(p.ledger.clone()),
                    envelope_id: Some(hex::encode(p.envelope_id)),
                    detail: Some(
                        "the ledger no longer holds this delivery; delivering again".into(),
                    ),
                },
            )?;
        }
        tx.commit().map_err(se)
    }

    /// Records a delivery: outbox entry gone, submission on the ledger.
    pub fn delivered(
        &self,
        p: &Pending,
        sequence: u64,
        entry_hash: &[u8; 32],
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(se)?;
        {
            let mut outbox = tx.open_table(OUTBOX).map_err(se)?;
            let mut delivered = tx.open_table(DELIVERED).map_err(se)?;
            if let Some(v) = outbox.remove(p.key).map_err(se)? {
                delivered.insert(p.key, v.value()).map_err(se)?;
            }
            while delivered.len().map_err(se)? > KEEP_DELIVERED {
                delivered.pop_first().map_err(se)?;
            }
            let mut subs = tx.open_table(SUBMISSIONS).map_err(se)?;
            set_ledger_state(
                &mut subs,
                &p.envelope_id,
                Some((sequence, entry_hash)),
                Some(now_ms),
            )?;
        }
        tx.commit().map_err(se)
    }

    pub fn audit(&self, time_ms: u64, e: AuditEvent) -> Result<AuditEntry, StoreError> {
        let tx = self.db.begin_write().map_err(se)?;
        let entry = {
            let mut t = tx.open_table(AUDIT).map_err(se)?;
            append_audit(&mut t, time_ms, e)?
        };
        tx.commit().map_err(se)?;
        Ok(entry)
    }

    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(AUDIT).map_err(se)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(se)? {
            let (_, v) = item.map_err(se)?;
            out.push(serde_json::from_slice(v.value()).map_err(se)?);
        }
        Ok(out)
    }

    pub fn audit_head(&self) -> Result<Option<AuditEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(AUDIT).map_err(se)?;
        let last = t.last().map_err(se)?;
        last.map(|(_, v)| serde_json::from_slice(v.value()).map_err(se))
            .transpose()
    }
}

/// An outbox value: `id (16) ‖ u16 ledger length ‖ ledger ‖ envelope`.
fn parse_pending(key: u64, v: &[u8]) -> Result<Pending, StoreError> {
    let bad = || StoreError(format!("outbox entry {key} is corrupt"));
    let (id, rest) = v.split_first_chunk::<16>().ok_or_else(bad)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(bad)?;
    let len = u16::from_be_bytes(*len) as usize;
    let ledger = rest.get(..len).ok_or_else(bad)?;
    let envelope = rest.get(len..).ok_or_else(bad)?;
    Ok(Pending {
        key,
        ledger: String::from_utf8(ledger.to_vec()).map_err(|_| bad())?,
        envelope_id: *id,
        envelope: envelope.to_vec(),
    })
}

/// Marks a submission on the ledger (with its receipt and delivery time) or,
/// with `None`, back to accepted. A missing submission is left alone.
fn set_ledger_state(
    subs: &mut redb::Table<'_, &[u8], &[u8]>,
    id: &[u8; 16],
    receipt: Option<(u64, &[u8; 32])>,
    delivered_ms: Option<u64>,
) -> Result<(), StoreError> {
    let current = subs
        .get(id.as_slice())
        .map_err(se)?
        .map(|v| serde_json::from_slice::<Submission>(v.value()));
    let Some(sub) = current else {
        return Ok(());
    };
    let mut sub = sub.map_err(se)?;
    sub.state = if receipt.is_some() {
        State::OnLedger
    } else {
        State::Accepted
    };
    sub.sequence = receipt.map(|(s, _)| s);
    sub.entry_hash = receipt.map(|(_, h)| hex::encode(h));
    sub.delivered_ms = delivered_ms;
    subs.insert(
        id.as_slice(),
        serde_json::to_vec(&sub).map_err(se)?.as_slice(),
    )
    .map_err(se)?;
    Ok(())
}
