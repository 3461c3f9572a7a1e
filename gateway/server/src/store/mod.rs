//! The gateway's own durable state, in one redb file (`gateway.redb`):
//!
//! - `submissions`: envelope id → what was accepted and where it is now
//!   (JSON, [`Submission`]);
//! - `outbox`: acceptance order → envelope waiting for the ledger
//!   ([`OutboxValue`], `docs/formats/outbox.md`);
//! - `delivered`: the latest deliveries, kept so a ledger that forgets them
//!   can be given them again;
//! - `audit`: the hash-chained audit log ([`crate::audit::AuditEntry`]).
//!
//! "Queued" means the submission, its outbox entry and its audit entry were
//! committed together in one fsynced transaction. Delivery moves a batch of
//! outbox entries to `delivered` and records their receipts in another; a
//! crash between the ledger append and that commit re-delivers, and the
//! ledger's idempotency by envelope id turns the second append into the
//! first one's receipt. Every audit write shares the transaction of the
//! action it records: if it fails, so does the action.

pub mod awaiting;
mod outbox;

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
use veilgate_codec::{Codec, CodecError};

pub use outbox::OutboxValue;

use crate::audit::{AuditEntry, AuditEvent};

const SUBMISSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submissions");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// The latest deliveries, kept (outbox key → outbox bytes) so that entries a
/// ledger loses — a chain reorganisation, a node restarted from an older
/// state — go back to the outbox ([`Store::requeue`]).
const DELIVERED: TableDefinition<u64, &[u8]> = TableDefinition::new("delivered");
/// Records accepted but not yet sealed, waiting for their pseudonyms
/// (envelope id → `docs/formats/awaiting.md`); sealed and moved to the
/// outbox by [`Store::promote`].
const AWAITING: TableDefinition<&[u8], &[u8]> = TableDefinition::new("awaiting_pseudonyms");

/// How many deliveries [`DELIVERED`] keeps. A ledger that loses more than
/// this many of the latest entries is detected (`audit verify`, the
/// reconciliation's log) but not repaired automatically.
pub const KEEP_DELIVERED: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("gateway store: {0}")]
    Db(#[from] redb::Error),
    #[error(
        "gateway store `{path}` is open in another process that writes it (a running gateway)"
    )]
    InUse { path: String },
    #[error("gateway store `{path}` does not exist: the gateway creates it when it first starts")]
    Missing { path: String },
    #[error("gateway store: {table} entry {key}: {source}")]
    Corrupt {
        table: &'static str,
        key: String,
        #[source]
        source: CodecError,
    },
    #[error("gateway store: submission {key}: {source}")]
    Json {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// redb's error types all convert into `redb::Error`.
fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(e.into())
}

/// Where a submission is, as stored and as the API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Durably accepted, not yet sealed: waiting for the pseudonymisation
    /// service. Sealed and queued when it answers.
    AwaitingPseudonyms,
    /// Fsynced in the outbox, not yet on the ledger. (The API's name for
    /// the write pipeline's "queued".)
    Accepted,
    /// On the ledger, with its receipt.
    OnLedger,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub ledger: String,
    pub submitter: String,
    pub policy: String,
    /// Digest of policy hash and record ([`record_digest`], hex): the same
    /// key with another record is a conflict.
    pub record_digest: String,
    pub state: State,
    pub accepted_ms: u64,
    pub sequence: Option<u64>,
    pub entry_hash: Option<String>,
    pub delivered_ms: Option<u64>,
}

/// A record waiting for its pseudonyms: its envelope id and its
/// [`awaiting::AwaitingValue`] bytes.
pub type Awaiting = ([u8; 16], Vec<u8>);

/// One outbox entry, in acceptance order.
#[derive(Clone, Debug)]
pub struct Pending {
    pub key: u64,
    pub value: OutboxValue,
}

/// Digest of a record under a policy, for idempotency conflicts
/// (`docs/formats/record-digest.md`): `SHA-256(RECORD_DIGEST ‖ policy hash
/// ‖ for each value in schema order: u32 length ‖ value encoding)`.
pub fn record_digest(policy_hash: &[u8; 32], record: &veilgate_policies::Record) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain::RECORD_DIGEST);
    h.update(policy_hash);
    for v in &record.values {
        let e = v.encode();
        h.update(u32::try_from(e.len()).unwrap_or(u32::MAX).to_be_bytes());
        h.update(&e);
    }
    h.finalize().into()
}

pub struct Store {
    db: Database,
}

/// The store opened to read only, beside the gateway that writes it
/// (`veilgate audit verify` while the gateway runs).
pub struct StoreReader {
    db: redb::ReadOnlyDatabase,
}

/// Opens as redb's single writer: read-only handles of other processes
/// ([`StoreReader`]) may share the file and see each commit.
fn open_mode() -> redb::Builder {
    let mut b = redb::Builder::new();
    b.set_concurrency_mode(redb::ConcurrencyMode::SingleWriter);
    b
}

fn open_error(path: &Path, e: redb::DatabaseError) -> StoreError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.display().to_string(),
        },
        e => db(e),
    }
}

impl StoreReader {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.display().to_string(),
            });
        }
        let db = veilgate_ledger::open_reader(path).map_err(|e| open_error(path, e))?;
        Ok(StoreReader { db })
    }

    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        audit_entries(&self.db)
    }
}

fn audit_entries(database: &impl ReadableDatabase) -> Result<Vec<AuditEntry>, StoreError> {
    let tx = database.begin_read().map_err(db)?;
    // A store the gateway has not written yet has no audit table.
    let t = match tx.open_table(AUDIT) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(db(e)),
    };
    let mut out = Vec::new();
    for item in t.iter().map_err(db)? {
        let (k, v) = item.map_err(db)?;
        out.push(read_audit(k.value(), v.value())?);
    }
    Ok(out)
}

/// The outcome of offering a sealed submission to the store.
#[derive(Debug)]
pub enum Offer {
    /// Queued: in the outbox under this key.
    Queued(u64),
    /// The envelope id was already accepted with the same record.
    Existing(Submission),
    /// The envelope id was already accepted with another record.
    Conflict,
}

/// A delivery to record: the outbox entry and the ledger's receipt.
pub struct Delivery<'a> {
    pub pending: &'a Pending,
    pub sequence: u64,
    pub entry_hash: [u8; 32],
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::from_database(open_mode().create(path).map_err(|e| open_error(path, e))?)
    }

    /// The store over another storage backend: the power-loss harness opens
    /// it over a disk that keeps only what was synced.
    pub fn with_backend(backend: impl redb::StorageBackend) -> Result<Self, StoreError> {
        Self::from_database(
            redb::Builder::new()
                .create_with_backend(backend)
                .map_err(db)?,
        )
    }

    fn from_database(database: Database) -> Result<Self, StoreError> {
        let tx = database.begin_write().map_err(db)?;
        tx.open_table(SUBMISSIONS).map_err(db)?;
        tx.open_table(OUTBOX).map_err(db)?;
        tx.open_table(AUDIT).map_err(db)?;
        tx.open_table(DELIVERED).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Store { db: database })
    }

    pub fn submission(&self, id: &[u8; 16]) -> Result<Option<Submission>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = tx.open_table(SUBMISSIONS).map_err(db)?;
        let v = t.get(id.as_slice()).map_err(db)?;
        v.map(|v| read_submission(id, v.value())).transpose()
    }

    pub fn outbox_depth(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        tx.open_table(OUTBOX).map_err(db)?.len().map_err(db)
    }

    /// Queues a sealed envelope: submission, outbox entry and audit entry in
    /// one fsynced transaction — or reports the existing one / a conflict.
    /// `Queued` is the point of acknowledgement: from here the submission
    /// survives a crash or a power cut.
    pub fn offer(
        &self,
        sub: &Submission,
        value: &OutboxValue,
        audit: AuditEvent,
    ) -> Result<Offer, StoreError> {
        let id = value.envelope_id;
        let tx = self.db.begin_write().map_err(db)?;
        let key = {
            let mut subs = tx.open_table(SUBMISSIONS).map_err(db)?;
            let existing = subs
                .get(id.as_slice())
                .map_err(db)?
                .map(|v| read_submission(&id, v.value()))
                .transpose()?;
            if let Some(existing) = existing {
                return Ok(if existing.record_digest == sub.record_digest {
                    Offer::Existing(existing)
                } else {
                    Offer::Conflict
                });
            }
            subs.insert(id.as_slice(), write_submission(&id, sub)?.as_slice())
                .map_err(db)?;
            let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
            let key = next_outbox_key(&outbox, &tx.open_table(DELIVERED).map_err(db)?)?;
            outbox
                .insert(key, value.to_bytes().as_slice())
                .map_err(db)?;
            let mut audit_t = tx.open_table(AUDIT).map_err(db)?;
            append_audit(&mut audit_t, sub.accepted_ms, audit)?;
            key
        };
        tx.commit().map_err(db)?;
        Ok(Offer::Queued(key))
    }

    /// Keeps a record that cannot be sealed yet: its submission (state
    /// `awaiting_pseudonyms`), the record at rest and the audit entry, in one
    /// fsynced transaction — or reports the existing submission / a conflict.
    pub fn park(
        &self,
        id: &[u8; 16],
        sub: &Submission,
        awaiting: &[u8],
        audit: AuditEvent,
    ) -> Result<Offer, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        {
            let mut subs = tx.open_table(SUBMISSIONS).map_err(db)?;
            let existing = subs
                .get(id.as_slice())
                .map_err(db)?
                .map(|v| read_submission(id, v.value()))
                .transpose()?;
            if let Some(existing) = existing {
                return Ok(if existing.record_digest == sub.record_digest {
                    Offer::Existing(existing)
                } else {
                    Offer::Conflict
                });
            }
            subs.insert(id.as_slice(), write_submission(id, sub)?.as_slice())
                .map_err(db)?;
            let mut t = tx.open_table(AWAITING).map_err(db)?;
            t.insert(id.as_slice(), awaiting).map_err(db)?;
            let mut audit_t = tx.open_table(AUDIT).map_err(db)?;
            append_audit(&mut audit_t, sub.accepted_ms, audit)?;
        }
        tx.commit().map_err(db)?;
        Ok(Offer::Queued(0))
    }

    /// Records waiting for their pseudonyms, in id order, after the id
    /// `after` (from the first when `None`); at most `limit`.
    pub fn awaiting(
        &self,
        after: Option<[u8; 16]>,
        limit: usize,
    ) -> Result<Vec<Awaiting>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = match tx.open_table(AWAITING) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db(e)),
        };
        let mut out = Vec::new();
        let items = match &after {
            Some(a) => t.range::<&[u8]>((
                std::ops::Bound::Excluded(a.as_slice()),
                std::ops::Bound::Unbounded,
            )),
            None => t.iter(),
        }
        .map_err(db)?;
        for item in items.take(limit) {
            let (k, v) = item.map_err(db)?;
            let id: [u8; 16] = k.value().try_into().map_err(|_| StoreError::Corrupt {
                table: "awaiting_pseudonyms",
                key: hex::encode(k.value()),
                source: CodecError::Invalid {
                    what: "key",
                    offset: 0,
                    reason: "not a 16-byte envelope id",
                },
            })?;
            out.push((id, v.value().to_vec()));
        }
        Ok(out)
    }

    /// How many records wait for their pseudonyms.
    pub fn awaiting_depth(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        match tx.open_table(AWAITING) {
            Ok(t) => t.len().map_err(db),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(db(e)),
        }
    }

    /// A waiting record, now sealed, into the outbox: the record at rest
    /// removed, the envelope queued, the submission `accepted` — one fsynced
    /// transaction, so a crash leaves it either waiting or queued, never
    /// both or neither. `None` when it no longer waits (promoted before).
    pub(crate) fn promote(&self, value: &OutboxValue) -> Result<Option<u64>, StoreError> {
        let id = value.envelope_id;
        let tx = self.db.begin_write().map_err(db)?;
        let key = {
            let mut waiting = tx.open_table(AWAITING).map_err(db)?;
            if waiting.remove(id.as_slice()).map_err(db)?.is_none() {
                return Ok(None);
            }
            let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
            let key = next_outbox_key(&outbox, &tx.open_table(DELIVERED).map_err(db)?)?;
            outbox
                .insert(key, value.to_bytes().as_slice())
                .map_err(db)?;
            let mut subs = tx.open_table(SUBMISSIONS).map_err(db)?;
            set_ledger_state(&mut subs, &id, None, None)?;
            key
        };
        tx.commit().map_err(db)?;
        Ok(Some(key))
    }

    /// The oldest outbox entries, in acceptance order.
    pub(crate) fn pending(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = tx.open_table(OUTBOX).map_err(db)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db)?.take(limit) {
            let (k, v) = item.map_err(db)?;
            out.push(read_pending("outbox", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The latest deliveries to `ledger`, newest first: at most `limit`,
    /// after skipping the `skip` newest.
    pub(crate) fn recent_deliveries(
        &self,
        ledger: &str,
        skip: usize,
        limit: usize,
    ) -> Result<Vec<(Pending, Submission)>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = tx.open_table(DELIVERED).map_err(db)?;
        let subs = tx.open_table(SUBMISSIONS).map_err(db)?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for item in t.iter().map_err(db)?.rev() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(db)?;
            let p = read_pending("delivered", k.value(), v.value())?;
            if p.value.ledger != ledger {
                continue;
            }
            if skipped < skip {
                skipped += 1;
                continue;
            }
            let id = p.value.envelope_id;
            let sub = subs.get(id.as_slice()).map_err(db)?;
            if let Some(sub) = sub.map(|v| read_submission(&id, v.value())).transpose()? {
                out.push((p, sub));
            }
        }
        Ok(out)
    }

    /// Puts a delivery the ledger no longer holds back into the outbox, at
    /// its original place, and the submission back to `accepted` — audited
    /// in the same transaction.
    pub(crate) fn requeue(
        &self,
        p: &Pending,
        now_ms: u64,
        audit: AuditEvent,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        {
            let mut delivered = tx.open_table(DELIVERED).map_err(db)?;
            let Some(v) = delivered.remove(p.key).map_err(db)? else {
                return Ok(());
            };
            let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
            outbox.insert(p.key, v.value()).map_err(db)?;
            drop(v);
            let mut subs = tx.open_table(SUBMISSIONS).map_err(db)?;
            set_ledger_state(&mut subs, &p.value.envelope_id, None, None)?;
            let mut audit_t = tx.open_table(AUDIT).map_err(db)?;
            append_audit(&mut audit_t, now_ms, audit)?;
        }
        tx.commit().map_err(db)
    }

    /// Records a batch of deliveries in one transaction: outbox entries moved
    /// to `delivered`, submissions on the ledger. Returns each delivered
    /// submission (`None` if its submission record is missing).
    pub(crate) fn delivered(
        &self,
        batch: &[Delivery<'_>],
        now_ms: u64,
    ) -> Result<Vec<Option<Submission>>, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let mut out = Vec::with_capacity(batch.len());
        {
            let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
            let mut delivered = tx.open_table(DELIVERED).map_err(db)?;
            let mut subs = tx.open_table(SUBMISSIONS).map_err(db)?;
            for d in batch {
                if let Some(v) = outbox.remove(d.pending.key).map_err(db)? {
                    delivered.insert(d.pending.key, v.value()).map_err(db)?;
                }
                let receipt = Some((d.sequence, &d.entry_hash));
                let id = &d.pending.value.envelope_id;
                out.push(set_ledger_state(&mut subs, id, receipt, Some(now_ms))?);
            }
            while delivered.len().map_err(db)? > KEEP_DELIVERED {
                delivered.pop_first().map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(out)
    }

    /// Appends an audit entry on its own (an action with nothing else to
    /// commit, such as a start or an open).
    pub fn audit(&self, time_ms: u64, e: AuditEvent) -> Result<AuditEntry, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let entry = {
            let mut t = tx.open_table(AUDIT).map_err(db)?;
            append_audit(&mut t, time_ms, e)?
        };
        tx.commit().map_err(db)?;
        Ok(entry)
    }

    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        audit_entries(&self.db)
    }

    pub fn audit_head(&self) -> Result<Option<AuditEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = tx.open_table(AUDIT).map_err(db)?;
        let last = t.last().map_err(db)?;
        last.map(|(k, v)| read_audit(k.value(), v.value()))
            .transpose()
    }
}

fn append_audit(
    table: &mut redb::Table<'_, u64, &[u8]>,
    time_ms: u64,
    e: AuditEvent,
) -> Result<AuditEntry, StoreError> {
    let last = table.last().map_err(db)?;
    let prev = last
        .map(|(k, v)| read_audit(k.value(), v.value()))
        .transpose()?;
    let entry = AuditEntry::chain(prev.as_ref(), time_ms, e);
    table
        .insert(entry.seq, entry.to_bytes().as_slice())
        .map_err(db)?;
    Ok(entry)
}

fn read_audit(key: u64, v: &[u8]) -> Result<AuditEntry, StoreError> {
    AuditEntry::from_bytes(v).map_err(|source| StoreError::Corrupt {
        table: "audit",
        key: key.to_string(),
        source,
    })
}

fn read_pending(table: &'static str, key: u64, v: &[u8]) -> Result<Pending, StoreError> {
    let value = OutboxValue::from_bytes(v).map_err(|source| StoreError::Corrupt {
        table,
        key: key.to_string(),
        source,
    })?;
    Ok(Pending { key, value })
}

fn read_submission(id: &[u8; 16], v: &[u8]) -> Result<Submission, StoreError> {
    serde_json::from_slice(v).map_err(|source| StoreError::Json {
        key: hex::encode(id),
        source,
    })
}

fn write_submission(id: &[u8; 16], s: &Submission) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(s).map_err(|source| StoreError::Json {
        key: hex::encode(id),
        source,
    })
}

/// Marks a submission on the ledger (with its receipt and delivery time) or,
/// with `None`, back to accepted. A missing submission is left alone.
/// The key of the next outbox entry. Keys grow forever (never reused once
/// the outbox empties), so a delivery kept in DELIVERED keeps its place in
/// acceptance order.
fn next_outbox_key(
    outbox: &redb::Table<'_, u64, &[u8]>,
    delivered: &redb::Table<'_, u64, &[u8]>,
) -> Result<u64, StoreError> {
    let next = |last: Option<u64>| last.map_or(0, |k| k + 1);
    Ok(next(outbox.last().map_err(db)?.map(|(k, _)| k.value()))
        .max(next(delivered.last().map_err(db)?.map(|(k, _)| k.value()))))
}

fn set_ledger_state(
    subs: &mut redb::Table<'_, &[u8], &[u8]>,
    id: &[u8; 16],
    receipt: Option<(u64, &[u8; 32])>,
    delivered_ms: Option<u64>,
) -> Result<Option<Submission>, StoreError> {
    let current = subs.get(id.as_slice()).map_err(db)?;
    let Some(sub) = current
        .map(|v| read_submission(id, v.value()))
        .transpose()?
    else {
        return Ok(None);
    };
    let sub = Submission {
        state: if receipt.is_some() {
            State::OnLedger
        } else {
            State::Accepted
        },
        sequence: receipt.map(|(s, _)| s),
        entry_hash: receipt.map(|(_, h)| hex::encode(h)),
        delivered_ms,
        ..sub
    };
    subs.insert(id.as_slice(), write_submission(id, &sub)?.as_slice())
        .map_err(db)?;
    Ok(Some(sub))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Waiting records page by id: every one is reached, none twice, so a
    /// record that cannot be sealed never hides the ones after it.
    #[test]
    fn waiting_records_page_by_id_and_promotion_takes_them_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.redb")).unwrap();
        let sub = |i: u8| Submission {
            ledger: "l".into(),
            submitter: "bank-a".into(),
            policy: "p".into(),
            record_digest: hex::encode([i; 32]),
            state: State::AwaitingPseudonyms,
            accepted_ms: 1,
            sequence: None,
            entry_hash: None,
            delivered_ms: None,
        };
        for i in 0..70u8 {
            let id = [i; 16];
            let audit = AuditEvent::gateway(crate::audit::Action::Submit);
            assert!(matches!(
                store.park(&id, &sub(i), &[i], audit).unwrap(),
                Offer::Queued(_)
            ));
        }
        assert_eq!(store.awaiting_depth().unwrap(), 70);
        let first = store.awaiting(None, 64).unwrap();
        let rest = store.awaiting(Some(first[63].0), 64).unwrap();
        assert_eq!((first.len(), rest.len()), (64, 6));
        let ids: Vec<u8> = first.iter().chain(&rest).map(|(id, _)| id[0]).collect();
        assert_eq!(ids, (0..70).collect::<Vec<_>>());
        assert_eq!(rest[5].1, vec![69]);
        let value = OutboxValue {
            envelope_id: [3; 16],
            ledger: "l".into(),
            envelope: vec![2],
        };
        assert_eq!(store.promote(&value).unwrap(), Some(0));
        assert_eq!(store.promote(&value).unwrap(), None);
        assert_eq!(store.awaiting_depth().unwrap(), 69);
        assert_eq!(store.outbox_depth().unwrap(), 1);
        assert_eq!(
            store.submission(&[3; 16]).unwrap().unwrap().state,
            State::Accepted
        );
    }
}
