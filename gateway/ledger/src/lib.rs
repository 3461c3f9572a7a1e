//! Ledger adapters. [`Ledger`] is what the gateway writes envelopes to and
//! peers read them from; [`EmbeddedLedger`] (redb, one file per ledger) is the
//! default on one machine, [`MemoryLedger`] its in-process twin for tests.
//! Real chains (EVM: FISCO BCOS, Besu, GoQuorum) implement the same trait.
//!
//! Entries are append-only and hash-chained:
//! `entry_hash = H(LEDGER_ENTRY ‖ seq ‖ prev_hash ‖ envelope_id ‖ H(envelope))`,
//! with `prev_hash` of entry 0 all zeros and `H` the ledger's [`ChainHash`]:
//! SHA-256, or SM3 for a ledger of the national suite `sm`. The envelope id is unique: appending
//! the same id with the same bytes returns the existing receipt (exactly once),
//! with other bytes is a conflict.
//!
//! Each entry also carries the ledger's own time for it, `appended_ms`: the
//! embedded ledger records the committer's clock when it writes the entry,
//! an EVM chain the block's timestamp. Peers hold an envelope's signed time
//! against it (see `veilgate_core::time`). It is the ledger's word, not part
//! of the entry hash, exactly as a block time is the chain's.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

use redb::{
    ConcurrencyMode, Database, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use sha2::{Digest, Sha256};
use veilgate_circuits::domain;
use veilgate_codec::{Codec, CodecError, Reader, Writer};

pub type EnvelopeId = [u8; 16];

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub sequence: u64,
    #[serde(serialize_with = "hex_ser")]
    pub entry_hash: [u8; 32],
}

fn hex_ser<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub sequence: u64,
    pub envelope_id: EnvelopeId,
    pub prev_hash: [u8; 32],
    pub entry_hash: [u8; 32],
    pub envelope: Vec<u8>,
    /// The ledger's time for the entry (ms since the Unix epoch); `None`
    /// for entries an older ledger file wrote without one.
    pub appended_ms: Option<u64>,
}

impl Entry {
    pub fn receipt(&self) -> Receipt {
        Receipt {
            sequence: self.sequence,
            entry_hash: self.entry_hash,
        }
    }
}

/// The result of an append: its receipt, and whether this call wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub receipt: Receipt,
    pub new: bool,
    /// The ledger's time for the entry, where the adapter knows it.
    pub appended_ms: Option<u64>,
}

#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("envelope id {0} is already on the ledger with different content")]
    Conflict(String),
    #[error("ledger storage: {0}")]
    Storage(String),
    #[error("ledger chain is broken at sequence {0}")]
    Broken(u64),
}

pub trait Ledger: Send + Sync {
    fn append(&self, envelope_id: EnvelopeId, envelope: &[u8]) -> Result<Appended, LedgerError>;
    /// Appends several envelopes in order, with the same exactly-once rule as
    /// [`Ledger::append`]. The default appends one by one; adapters whose
    /// writes cost per call (a chain transaction) write the batch at once. On
    /// `Err` some may have been written: appending the batch again is safe.
    fn append_batch(&self, batch: &[(EnvelopeId, Vec<u8>)]) -> Result<Vec<Appended>, LedgerError> {
        batch.iter().map(|(id, b)| self.append(*id, b)).collect()
    }
    /// The text of the policy published on this ledger under its canonical
    /// plan hash, for ledgers that carry a policy registry (the EVM
    /// registry); `None` where policies are configured instead.
    fn policy_text(&self, hash: &[u8; 32]) -> Result<Option<String>, LedgerError> {
        let _ = hash;
        Ok(None)
    }
    fn by_id(&self, id: &EnvelopeId) -> Result<Option<Entry>, LedgerError>;
    fn by_sequence(&self, sequence: u64) -> Result<Option<Entry>, LedgerError>;
    /// The last entry's receipt, if any.
    fn head(&self) -> Result<Option<Receipt>, LedgerError>;
    /// The ledger's time for its last entry, if it has one.
    fn head_time(&self) -> Result<Option<u64>, LedgerError> {
        match self.head()? {
            Some(h) => Ok(self.by_sequence(h.sequence)?.and_then(|e| e.appended_ms)),
            None => Ok(None),
        }
    }
    fn len(&self) -> Result<u64, LedgerError>;
    fn is_empty(&self) -> Result<bool, LedgerError> {
        Ok(self.len()? == 0)
    }
    /// The hash this ledger chains its entries with.
    fn chain_hash(&self) -> ChainHash {
        ChainHash::Sha256
    }
    /// Re-hashes every entry and checks the links; returns the entry count.
    fn verify_chain(&self) -> Result<u64, LedgerError> {
        let mut prev = [0u8; 32];
        let n = self.len()?;
        let hash = self.chain_hash();
        for seq in 0..n {
            let e = self.by_sequence(seq)?.ok_or(LedgerError::Broken(seq))?;
            if e.prev_hash != prev
                || hash.entry_hash(seq, &prev, &e.envelope_id, &e.envelope) != e.entry_hash
            {
                return Err(LedgerError::Broken(seq));
            }
            prev = e.entry_hash;
        }
        Ok(n)
    }
}

/// The hash a ledger chains its entries with: its suite's hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainHash {
    #[default]
    Sha256,
    /// GB/T 32905, for ledgers of the national suite `sm`.
    Sm3,
}

impl ChainHash {
    pub fn name(self) -> &'static str {
        match self {
            ChainHash::Sha256 => "sha256",
            ChainHash::Sm3 => "sm3",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(ChainHash::Sha256),
            "sm3" => Some(ChainHash::Sm3),
            _ => None,
        }
    }

    /// The chain hash of a ledger whose suite is `suite` (`standard`, `sm`).
    pub fn of_suite(suite: &str) -> Option<Self> {
        match suite {
            "standard" => Some(ChainHash::Sha256),
            "sm" => Some(ChainHash::Sm3),
            _ => None,
        }
    }

    /// `H(LEDGER_ENTRY ‖ seq ‖ prev ‖ id ‖ H(envelope))`.
    pub fn entry_hash(
        self,
        sequence: u64,
        prev: &[u8; 32],
        id: &EnvelopeId,
        envelope: &[u8],
    ) -> [u8; 32] {
        match self {
            ChainHash::Sha256 => chain_step::<Sha256>(sequence, prev, id, envelope),
            ChainHash::Sm3 => chain_step::<sm3::Sm3>(sequence, prev, id, envelope),
        }
    }
}

fn chain_step<H: Digest>(
    sequence: u64,
    prev: &[u8; 32],
    id: &EnvelopeId,
    envelope: &[u8],
) -> [u8; 32] {
    let mut h = H::new();
    h.update(domain::LEDGER_ENTRY);
    h.update(sequence.to_be_bytes());
    h.update(prev);
    h.update(id);
    h.update(H::digest(envelope));
    let out = h.finalize();
    let mut hash = [0u8; 32];
    if let Some(bytes) = out.get(..32) {
        hash.copy_from_slice(bytes);
    }
    hash
}

/// The SHA-256 entry hash (a `standard` ledger's; EVM registries chain with it).
pub fn entry_hash(sequence: u64, prev: &[u8; 32], id: &EnvelopeId, envelope: &[u8]) -> [u8; 32] {
    ChainHash::Sha256.entry_hash(sequence, prev, id, envelope)
}

/// A stored entry value (key: the sequence): `prev_hash ‖ entry_hash ‖
/// envelope_id ‖ envelope`, the envelope running to the end.
struct Stored<'a> {
    prev_hash: [u8; 32],
    entry_hash: [u8; 32],
    envelope_id: EnvelopeId,
    envelope: std::borrow::Cow<'a, [u8]>,
}

impl Stored<'_> {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.put(&self.prev_hash);
        out.put(&self.entry_hash);
        out.put(&self.envelope_id);
        out.put(&self.envelope);
    }
}

impl Codec for Stored<'static> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.write_to(out);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Stored {
            prev_hash: r.array("prev hash")?,
            entry_hash: r.array("entry hash")?,
            envelope_id: r.array("envelope id")?,
            envelope: std::borrow::Cow::Owned(r.rest().to_vec()),
        })
    }
}

/// Decodes a stored entry value; its time is stored apart ([`TIMES`]).
fn decode_entry(sequence: u64, v: &[u8], appended_ms: Option<u64>) -> Result<Entry, LedgerError> {
    let s = Stored::from_bytes(v).map_err(|_| LedgerError::Broken(sequence))?;
    Ok(Entry {
        sequence,
        envelope_id: s.envelope_id,
        prev_hash: s.prev_hash,
        entry_hash: s.entry_hash,
        envelope: s.envelope.into_owned(),
        appended_ms,
    })
}

/// The wall clock, ms since the Unix epoch: the ledger's time for what it
/// appends now.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Builds the next entry after `head`.
fn next_entry(
    hash: ChainHash,
    head: Option<Receipt>,
    id: EnvelopeId,
    envelope: &[u8],
    at_ms: u64,
) -> Entry {
    let (sequence, prev_hash) = head.map_or((0, [0u8; 32]), |h| (h.sequence + 1, h.entry_hash));
    Entry {
        sequence,
        envelope_id: id,
        prev_hash,
        entry_hash: hash.entry_hash(sequence, &prev_hash, &id, envelope),
        envelope: envelope.to_vec(),
        appended_ms: Some(at_ms),
    }
}

/// Same id: same bytes is the existing entry, other bytes a conflict.
fn existing(e: Entry, envelope: &[u8]) -> Result<Appended, LedgerError> {
    if e.envelope == envelope {
        Ok(Appended {
            receipt: e.receipt(),
            new: false,
            appended_ms: e.appended_ms,
        })
    } else {
        Err(LedgerError::Conflict(hex::encode(e.envelope_id)))
    }
}

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
const IDS: TableDefinition<&[u8], u64> = TableDefinition::new("envelope_ids");
/// The ledger's time for each entry (sequence → ms since the Unix epoch),
/// written in the entry's own transaction. Apart from [`ENTRIES`] so that
/// files written before it keep their layout (their entries have no time).
const TIMES: TableDefinition<u64, u64> = TableDefinition::new("entry_times");
/// What the file is: `chain_hash` → [`ChainHash::name`], written when the
/// file is created. A file without it (older) chains with SHA-256.
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// Creates or opens a ledger file as its one writer, letting read-only
/// handles of other processes share it (redb's single-writer mode).
fn create(path: &Path) -> Result<Database, LedgerError> {
    redb::Builder::new()
        .set_concurrency_mode(ConcurrencyMode::SingleWriter)
        .create(path)
        .map_err(|e| in_use(path, e))
}

/// Opens a redb file of a single writer ([`ConcurrencyMode::SingleWriter`])
/// to read, beside that writer if it runs. A file whose writer was killed
/// (SIGKILL, power loss) needs a repair a read-only handle cannot make:
/// then, if no writer holds it, it is opened once as its writer — which
/// repairs it, as the writer's own next start would — and read after.
pub fn open_reader(path: &Path) -> Result<redb::ReadOnlyDatabase, redb::DatabaseError> {
    let reader = || {
        redb::Builder::new()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .open_read_only(path)
    };
    match reader() {
        Err(redb::DatabaseError::RepairAborted) => {
            match redb::Builder::new()
                .set_concurrency_mode(ConcurrencyMode::SingleWriter)
                .create(path)
            {
                // Closed at once: only the repair was wanted.
                Ok(repaired) => drop(repaired),
                // A writer started meanwhile and repaired it.
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {}
                Err(e) => return Err(e),
            }
            reader()
        }
        other => other,
    }
}

/// A redb open error, saying which file another process holds.
fn in_use(path: &Path, e: redb::DatabaseError) -> LedgerError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => LedgerError::Storage(format!(
            "`{}` is open in another process that writes it (a running gateway or follower)",
            path.display()
        )),
        e => LedgerError::Storage(format!("`{}`: {e}", path.display())),
    }
}

/// A ledger in one redb file. Every append is durable when it returns (an
/// fsynced redb transaction), and appends that arrive together share one
/// transaction — group commit. One committer thread owns all writes: it
/// takes every request queued while its last commit was on its way to
/// disk, writes them in one transaction, commits, and hands each caller its
/// own result. An fsync costs the same for one entry as for a hundred, so
/// throughput grows with the number of concurrent appenders, while each
/// caller keeps its exactly-once result (a conflict fails only its request).
pub struct EmbeddedLedger {
    /// Reads go through this: the writer's own handle, or a read-only one
    /// ([`EmbeddedLedger::open_read_only`]) beside a running gateway.
    db: Arc<dyn ReadableDatabase + Send + Sync>,
    hash: ChainHash,
    requests: Option<mpsc::Sender<Request>>,
    committer: Option<std::thread::JoinHandle<()>>,
}

/// One caller's entries, and where its result goes.
struct Request {
    items: Vec<(EnvelopeId, Vec<u8>)>,
    reply: mpsc::SyncSender<Result<Vec<Appended>, LedgerError>>,
}

fn storage<E: std::fmt::Display>(e: E) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

impl EmbeddedLedger {
    /// Opens the ledger in `path` with the chain hash it was created with
    /// (a new file: SHA-256).
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Self::from_database(create(path)?, None)
    }

    /// Opens (or creates) the ledger in `path`, which must chain with
    /// `hash`: a file created with another hash is refused, naming both.
    pub fn open_with(path: &Path, hash: ChainHash) -> Result<Self, LedgerError> {
        Self::from_database(create(path)?, Some(hash))
    }

    /// Opens the ledger in `path` to read only, beside the process that
    /// writes it (`veilgate follow` and `audit verify` while the gateway
    /// runs): it sees each commit of the writer; appends are refused.
    pub fn open_read_only(path: &Path) -> Result<Self, LedgerError> {
        if !path.exists() {
            return Err(LedgerError::Storage(format!(
                "`{}` does not exist: the gateway creates it when it first starts",
                path.display()
            )));
        }
        let db = open_reader(path).map_err(|e| in_use(path, e))?;
        let hash = {
            let tx = db.begin_read().map_err(storage)?;
            match tx.open_table(META) {
                Ok(meta) => match meta.get("chain_hash").map_err(storage)? {
                    Some(name) => ChainHash::from_name(name.value()).ok_or_else(|| {
                        LedgerError::Storage(format!(
                            "ledger file names unknown chain hash `{}`",
                            name.value()
                        ))
                    })?,
                    None => ChainHash::Sha256,
                },
                // Older files have no meta table: SHA-256.
                Err(redb::TableError::TableDoesNotExist(_)) => ChainHash::Sha256,
                Err(e) => return Err(storage(e)),
            }
        };
        Ok(EmbeddedLedger {
            db: Arc::new(db),
            hash,
            requests: None,
            committer: None,
        })
    }

    /// The ledger over another storage backend: the power-loss harness
    /// opens it over a disk that keeps only what was synced.
    pub fn with_backend(backend: impl redb::StorageBackend) -> Result<Self, LedgerError> {
        Self::from_database(
            redb::Builder::new()
                .create_with_backend(backend)
                .map_err(storage)?,
            None,
        )
    }

    fn from_database(db: Database, want: Option<ChainHash>) -> Result<Self, LedgerError> {
        let tx = db.begin_write().map_err(storage)?;
        tx.open_table(ENTRIES).map_err(storage)?;
        tx.open_table(IDS).map_err(storage)?;
        tx.open_table(TIMES).map_err(storage)?;
        let hash = {
            let mut meta = tx.open_table(META).map_err(storage)?;
            let stored = meta
                .get("chain_hash")
                .map_err(storage)?
                .map(|v| v.value().to_owned());
            let empty = tx
                .open_table(ENTRIES)
                .map_err(storage)?
                .is_empty()
                .map_err(storage)?;
            match stored {
                Some(name) => {
                    let found = ChainHash::from_name(&name).ok_or_else(|| {
                        LedgerError::Storage(format!(
                            "ledger file names unknown chain hash `{name}`"
                        ))
                    })?;
                    if want.is_some_and(|w| w != found) {
                        return Err(LedgerError::Storage(format!(
                            "the ledger file chains its entries with {}; the ledger is configured for {}",
                            found.name(),
                            want.unwrap_or_default().name()
                        )));
                    }
                    found
                }
                // A file of entries without a record is an older one: SHA-256.
                None if !empty => {
                    if want.is_some_and(|w| w != ChainHash::Sha256) {
                        return Err(LedgerError::Storage(format!(
                            "the ledger file chains its entries with sha256; the ledger is configured for {}",
                            want.unwrap_or_default().name()
                        )));
                    }
                    ChainHash::Sha256
                }
                None => {
                    let hash = want.unwrap_or_default();
                    meta.insert("chain_hash", hash.name()).map_err(storage)?;
                    hash
                }
            }
        };
        tx.commit().map_err(storage)?;
        let db = Arc::new(db);
        let (requests, queue) = mpsc::channel::<Request>();
        let writer = Committer {
            db: db.clone(),
            hash,
        };
        let db: Arc<dyn ReadableDatabase + Send + Sync> = db;
        let committer = std::thread::Builder::new()
            .name("ledger-commit".into())
            .spawn(move || writer.run(&queue))
            .map_err(storage)?;
        Ok(EmbeddedLedger {
            db,
            hash,
            requests: Some(requests),
            committer: Some(committer),
        })
    }

    /// Queues `items` as one request and waits until they are committed.
    fn submit(&self, items: Vec<(EnvelopeId, Vec<u8>)>) -> Result<Vec<Appended>, LedgerError> {
        // Only a read-only ledger has no queue (drop takes it last).
        let stopped = || LedgerError::Storage("the ledger is open read-only".into());
        let (reply, result) = mpsc::sync_channel(1);
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request { items, reply })
            .map_err(|_| stopped())?;
        result.recv().map_err(|_| stopped())?
    }
}

impl Drop for EmbeddedLedger {
    fn drop(&mut self) {
        // Closing the queue stops the committer once it has answered every
        // request; joining it releases the file before `drop` returns, so
        // the ledger can be opened again at once.
        drop(self.requests.take());
        if let Some(c) = self.committer.take() {
            let _ = c.join();
        }
    }
}

/// The thread that writes: everything queued at once, in one transaction.
struct Committer {
    db: Arc<Database>,
    hash: ChainHash,
}

impl Committer {
    fn run(&self, queue: &mpsc::Receiver<Request>) {
        while let Ok(first) = queue.recv() {
            let mut group = vec![first];
            group.extend(queue.try_iter());
            let items: Vec<_> = group.iter().map(|r| &r.items).collect();
            let results = self.commit_group(&items);
            for (r, result) in group.into_iter().zip(results) {
                let _ = r.reply.send(result);
            }
        }
    }

    fn commit_group(
        &self,
        requests: &[&Vec<(EnvelopeId, Vec<u8>)>],
    ) -> Vec<Result<Vec<Appended>, LedgerError>> {
        match self.write_group(requests) {
            Ok(results) => results,
            Err(e) => requests.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    fn write_group(
        &self,
        requests: &[&Vec<(EnvelopeId, Vec<u8>)>],
    ) -> Result<Vec<Result<Vec<Appended>, LedgerError>>, LedgerError> {
        // Only the committer writes, so the head read here cannot race
        // another append.
        let tx = self.db.begin_write().map_err(storage)?;
        let mut results = Vec::with_capacity(requests.len());
        // One time for the group: its entries are written together. Never
        // before the last entry's, so the ledger's time does not go back
        // when the host's clock is stepped.
        {
            let mut entries = tx.open_table(ENTRIES).map_err(storage)?;
            let mut ids = tx.open_table(IDS).map_err(storage)?;
            let mut times = tx.open_table(TIMES).map_err(storage)?;
            let last_time = times.last().map_err(storage)?.map_or(0, |(_, t)| t.value());
            let at_ms = now_ms().max(last_time);
            let mut head = match entries.last().map_err(storage)? {
                Some((k, v)) => Some(decode_entry(k.value(), v.value(), None)?.receipt()),
                None => None,
            };
            for items in requests {
                let mut out = Vec::with_capacity(items.len());
                let mut failed = None;
                for (envelope_id, envelope) in items.iter() {
                    let (sequence, prev_hash) = head
                        .as_ref()
                        .map_or((0, [0u8; 32]), |h| (h.sequence + 1, h.entry_hash));
                    // One lookup for the common case: claim the id for the
                    // next sequence; if it was taken (reads in a write
                    // transaction see its own writes, so earlier entries of
                    // this group count), give it back and answer as before.
                    let known = ids
                        .insert(envelope_id.as_slice(), sequence)
                        .map_err(storage)?
                        .map(|g| g.value());
                    if let Some(seq) = known {
                        ids.insert(envelope_id.as_slice(), seq).map_err(storage)?;
                        // A conflict, or an unreadable stored entry, fails
                        // this request only; the group's others go on.
                        let time = times.get(seq).map_err(storage)?.map(|t| t.value());
                        let found = entries
                            .get(seq)
                            .map_err(storage)?
                            .ok_or(LedgerError::Broken(seq))
                            .and_then(|v| decode_entry(seq, v.value(), time))
                            .and_then(|e| existing(e, envelope));
                        match found {
                            Ok(a) => out.push(a),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                        continue;
                    }
                    let hash = self
                        .hash
                        .entry_hash(sequence, &prev_hash, envelope_id, envelope);
                    let value = Stored {
                        prev_hash,
                        entry_hash: hash,
                        envelope_id: *envelope_id,
                        envelope: std::borrow::Cow::Borrowed(envelope.as_slice()),
                    };
                    let mut bytes = Vec::with_capacity(80 + envelope.len());
                    value.write_to(&mut bytes);
                    let value = bytes;
                    entries
                        .insert(sequence, value.as_slice())
                        .map_err(storage)?;
                    times.insert(sequence, at_ms).map_err(storage)?;
                    let receipt = Receipt {
                        sequence,
                        entry_hash: hash,
                    };
                    head = Some(receipt.clone());
                    out.push(Appended {
                        receipt,
                        new: true,
                        appended_ms: Some(at_ms),
                    });
                }
                results.push(match failed {
                    Some(e) => Err(e),
                    None => Ok(out),
                });
            }
        }
        tx.commit().map_err(storage)?;
        Ok(results)
    }
}

impl Ledger for EmbeddedLedger {
    fn chain_hash(&self) -> ChainHash {
        self.hash
    }

    fn append(&self, envelope_id: EnvelopeId, envelope: &[u8]) -> Result<Appended, LedgerError> {
        let mut out = self.submit(vec![(envelope_id, envelope.to_vec())])?;
        out.pop()
            .ok_or_else(|| LedgerError::Storage("append lost its result".into()))
    }

    fn append_batch(&self, batch: &[(EnvelopeId, Vec<u8>)]) -> Result<Vec<Appended>, LedgerError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(batch.to_vec())
    }

    fn by_id(&self, id: &EnvelopeId) -> Result<Option<Entry>, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let ids = tx.open_table(IDS).map_err(storage)?;
        let Some(seq) = ids.get(id.as_slice()).map_err(storage)?.map(|g| g.value()) else {
            return Ok(None);
        };
        read_entry(&tx, seq)?
            .ok_or(LedgerError::Broken(seq))
            .map(Some)
    }

    fn by_sequence(&self, sequence: u64) -> Result<Option<Entry>, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        read_entry(&tx, sequence)
    }

    fn head(&self) -> Result<Option<Receipt>, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let entries = tx.open_table(ENTRIES).map_err(storage)?;
        let last = entries.last().map_err(storage)?;
        last.map(|(k, v)| decode_entry(k.value(), v.value(), None).map(|e| e.receipt()))
            .transpose()
    }

    fn head_time(&self) -> Result<Option<u64>, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let times = tx.open_table(TIMES).map_err(storage)?;
        let last = times.last().map_err(storage)?;
        Ok(last.map(|(_, t)| t.value()))
    }

    fn len(&self) -> Result<u64, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let entries = tx.open_table(ENTRIES).map_err(storage)?;
        entries.len().map_err(storage)
    }
}

/// One entry and its time, read in one transaction.
fn read_entry(tx: &redb::ReadTransaction, sequence: u64) -> Result<Option<Entry>, LedgerError> {
    let entries = tx.open_table(ENTRIES).map_err(storage)?;
    let Some(v) = entries.get(sequence).map_err(storage)? else {
        return Ok(None);
    };
    let times = tx.open_table(TIMES).map_err(storage)?;
    let time = times.get(sequence).map_err(storage)?.map(|t| t.value());
    decode_entry(sequence, v.value(), time).map(Some)
}

/// In-process ledger with the same semantics, for tests and demos.
#[derive(Default)]
pub struct MemoryLedger {
    inner: Mutex<MemoryState>,
    hash: ChainHash,
}

/// Entries in order, and the index from envelope id to sequence.
type MemoryState = (Vec<Entry>, HashMap<EnvelopeId, u64>);

impl MemoryLedger {
    /// An empty ledger chaining with `hash`.
    pub fn with_hash(hash: ChainHash) -> Self {
        MemoryLedger {
            inner: Mutex::default(),
            hash,
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>, LedgerError> {
        self.inner
            .lock()
            .map_err(|_| LedgerError::Storage("memory ledger lock poisoned".into()))
    }
}

impl Ledger for MemoryLedger {
    fn chain_hash(&self) -> ChainHash {
        self.hash
    }
    fn append(&self, envelope_id: EnvelopeId, envelope: &[u8]) -> Result<Appended, LedgerError> {
        let mut g = self.lock()?;
        if let Some(&seq) = g.1.get(&envelope_id) {
            let e =
                g.0.get(seq as usize)
                    .cloned()
                    .ok_or(LedgerError::Broken(seq))?;
            return existing(e, envelope);
        }
        let last = g.0.last();
        let at_ms = now_ms().max(last.and_then(|e| e.appended_ms).unwrap_or(0));
        let e = next_entry(
            self.hash,
            last.map(Entry::receipt),
            envelope_id,
            envelope,
            at_ms,
        );
        let receipt = e.receipt();
        g.1.insert(envelope_id, e.sequence);
        g.0.push(e);
        Ok(Appended {
            receipt,
            new: true,
            appended_ms: Some(at_ms),
        })
    }
    fn by_id(&self, id: &EnvelopeId) -> Result<Option<Entry>, LedgerError> {
        let g = self.lock()?;
        Ok(g.1.get(id).and_then(|&s| g.0.get(s as usize)).cloned())
    }
    fn by_sequence(&self, sequence: u64) -> Result<Option<Entry>, LedgerError> {
        Ok(self.lock()?.0.get(sequence as usize).cloned())
    }
    fn head(&self) -> Result<Option<Receipt>, LedgerError> {
        Ok(self.lock()?.0.last().map(Entry::receipt))
    }
    fn len(&self) -> Result<u64, LedgerError> {
        Ok(self.lock()?.0.len() as u64)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn exercise(l: &dyn Ledger) {
        assert!(l.is_empty().unwrap());
        let a = l.append([1; 16], b"first").unwrap();
        assert_eq!((a.receipt.sequence, a.new), (0, true));
        let b = l.append([2; 16], b"second").unwrap();
        assert_eq!(b.receipt.sequence, 1);
        // Same id, same bytes: the existing receipt, nothing written.
        let again = l.append([1; 16], b"first").unwrap();
        assert_eq!(
            (again.receipt.clone(), again.new),
            (a.receipt.clone(), false)
        );
        assert!(matches!(
            l.append([1; 16], b"other"),
            Err(LedgerError::Conflict(_))
        ));
        assert_eq!(l.len().unwrap(), 2);
        assert_eq!(l.head().unwrap(), Some(b.receipt.clone()));
        let e = l.by_id(&[2; 16]).unwrap().unwrap();
        assert_eq!(
            (e.sequence, e.prev_hash, e.envelope.as_slice()),
            (1, a.receipt.entry_hash, &b"second"[..])
        );
        assert_eq!(l.by_sequence(0).unwrap().unwrap().envelope, b"first");
        assert_eq!(l.by_sequence(2).unwrap(), None);
        assert_eq!(l.by_id(&[3; 16]).unwrap(), None);
        assert_eq!(l.verify_chain().unwrap(), 2);
    }

    #[test]
    fn memory_ledger_semantics() {
        exercise(&MemoryLedger::default());
    }

    #[test]
    fn embedded_ledger_semantics_and_durability_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.redb");
        exercise(&EmbeddedLedger::open(&path).unwrap());
        let reopened = EmbeddedLedger::open(&path).unwrap();
        assert_eq!(reopened.len().unwrap(), 2);
        assert_eq!(reopened.verify_chain().unwrap(), 2);
        assert_eq!(
            reopened.append([9; 16], b"third").unwrap().receipt.sequence,
            2
        );
    }

    /// A read-only handle shares the file with its writer (a follower or an
    /// audit beside a running gateway): it sees what was there, then each
    /// later commit, and refuses to append; a second writer is refused,
    /// naming the file.
    #[test]
    fn read_only_handle_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.redb");
        assert!(matches!(
            EmbeddedLedger::open_read_only(&path),
            Err(LedgerError::Storage(why)) if why.contains("does not exist")
        ));
        let writer = EmbeddedLedger::open_with(&path, ChainHash::Sm3).unwrap();
        writer.append([1; 16], b"first").unwrap();
        let reader = EmbeddedLedger::open_read_only(&path).unwrap();
        assert_eq!(reader.chain_hash(), ChainHash::Sm3);
        assert_eq!(reader.len().unwrap(), 1);
        writer.append([2; 16], b"second").unwrap();
        assert_eq!(reader.len().unwrap(), 2);
        assert_eq!(reader.by_id(&[2; 16]).unwrap().unwrap().envelope, b"second");
        assert_eq!(reader.verify_chain().unwrap(), 2);
        let Err(LedgerError::Storage(why)) = reader.append([3; 16], b"third") else {
            panic!("a read-only ledger appended")
        };
        assert!(why.contains("read-only"), "{why}");
        let Err(LedgerError::Storage(why)) = EmbeddedLedger::open(&path) else {
            panic!("a second writer opened the ledger")
        };
        assert!(why.contains("l.redb"), "{why}");
    }

    /// An SM ledger chains with SM3 (recomputed here from the formula, not
    /// from the code under test), keeps that across a reopen, and a file is
    /// never opened as a ledger of the other hash.
    #[test]
    fn sm3_chains_are_kept_and_a_file_of_the_other_hash_is_refused() {
        use sm3::Digest as _;
        exercise(&MemoryLedger::with_hash(ChainHash::Sm3));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sm.redb");
        let l = EmbeddedLedger::open_with(&path, ChainHash::Sm3).unwrap();
        exercise(&l);
        let e = l.by_sequence(1).unwrap().unwrap();
        let mut m = domain::LEDGER_ENTRY.to_vec();
        m.extend_from_slice(&1u64.to_be_bytes());
        m.extend_from_slice(&e.prev_hash);
        m.extend_from_slice(&[2; 16]);
        m.extend_from_slice(&sm3::Sm3::digest(b"second"));
        assert_eq!(e.entry_hash.to_vec(), sm3::Sm3::digest(&m).to_vec());
        assert_ne!(
            e.entry_hash,
            entry_hash(1, &e.prev_hash, &[2; 16], b"second")
        );
        drop(l);
        let reopened = EmbeddedLedger::open(&path).unwrap();
        assert_eq!(reopened.chain_hash(), ChainHash::Sm3);
        assert_eq!(reopened.verify_chain().unwrap(), 2);
        drop(reopened);
        let Err(LedgerError::Storage(why)) = EmbeddedLedger::open_with(&path, ChainHash::Sha256)
        else {
            panic!("an SM3 file opened as SHA-256")
        };
        assert!(why.contains("sm3") && why.contains("sha256"), "{why}");
        // A SHA-256 file with entries is refused as SM3 too.
        let other = dir.path().join("std.redb");
        exercise(&EmbeddedLedger::open(&other).unwrap());
        assert!(EmbeddedLedger::open_with(&other, ChainHash::Sm3).is_err());
        assert_eq!(
            EmbeddedLedger::open_with(&other, ChainHash::Sha256)
                .unwrap()
                .verify_chain()
                .unwrap(),
            2
        );
    }

    /// Many threads appending at once (so groups form): every entry is on
    /// the ledger exactly once, in a valid chain; a racing duplicate is the
    /// existing entry, a racing conflict fails only its own request; and
    /// everything survives a reopen.
    #[test]
    fn concurrent_appends_group_commit_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.redb");
        let l = std::sync::Arc::new(EmbeddedLedger::open(&path).unwrap());
        let threads: Vec<_> = (0..16u8)
            .map(|t| {
                let l = l.clone();
                std::thread::spawn(move || {
                    let mut new = 0;
                    for i in 0..40u8 {
                        let mut id = [0u8; 16];
                        id[0] = t;
                        id[1] = i;
                        // Every thread also appends the shared id 255 with the
                        // same bytes: one of them writes it.
                        let shared = l.append([255; 16], b"shared").unwrap();
                        new += usize::from(shared.new);
                        if i % 10 == 0 {
                            // A batch with a conflicting id last: the earlier
                            // items stay, the request fails, others go on.
                            let mut id2 = id;
                            id2[2] = 1;
                            let r = l.append_batch(&[
                                (id2, vec![t, i, 1]),
                                ([255; 16], b"other".to_vec()),
                            ]);
                            assert!(matches!(r, Err(LedgerError::Conflict(_))));
                            assert_eq!(l.by_id(&id2).unwrap().unwrap().envelope, vec![t, i, 1]);
                        }
                        let a = l.append(id, &[t, i]).unwrap();
                        assert!(a.new);
                    }
                    new
                })
            })
            .collect();
        let writers: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(writers, 1, "the shared id is written exactly once");
        let n = 16 * 40 + 16 * 4 + 1;
        assert_eq!(l.verify_chain().unwrap(), n);
        for t in 0..16u8 {
            for i in 0..40u8 {
                let mut id = [0u8; 16];
                id[0] = t;
                id[1] = i;
                assert_eq!(l.by_id(&id).unwrap().unwrap().envelope, vec![t, i]);
            }
        }
        drop(l);
        let reopened = EmbeddedLedger::open(&path).unwrap();
        assert_eq!(reopened.verify_chain().unwrap(), n);
    }

    #[test]
    fn a_rewritten_entry_breaks_the_chain() {
        let l = MemoryLedger::default();
        for i in 0..5u8 {
            l.append([i; 16], &[i; 40]).unwrap();
        }
        l.inner.lock().unwrap().0[2].envelope[7] ^= 1;
        assert!(matches!(l.verify_chain(), Err(LedgerError::Broken(2))));
    }
}
