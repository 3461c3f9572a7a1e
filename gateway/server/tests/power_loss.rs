//! Power loss, simulated: the gateway's store (outbox, submissions, audit
//! log) and the embedded ledger run on a disk that keeps only what was
//! synced, under concurrent load — submitters acknowledging records, the
//! real delivery worker moving them to the ledger and anchoring the audit
//! log — and the power is cut at a random write or sync. Whatever had not
//! been synced is gone, as a page cache is when the power goes. Then both
//! are opened from what the disk kept, and checked: every acknowledged
//! submission is there exactly once (in the outbox or on the ledger, never
//! twice), the ledger's and the audit log's hash chains verify, and every
//! receipt the store holds names its entry on the ledger. 200 cuts in a
//! row, each on the disk the previous one left; at the end, delivery
//! drains the outbox and every acknowledged record is on the ledger once.
//!
//! A SIGKILL (durability.rs) keeps the page cache, so it cannot show that
//! the fsync ordering is right; this can. It cannot show that the OS and the
//! disk honour fsync: that is what the durability claim rests on
//! (docs/security.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use veilgate_ledger::{EmbeddedLedger, Ledger};
use veilgate_server::audit::{verify_chain, Action, AuditEvent};
use veilgate_server::store::{Offer, OutboxValue, State, Store, Submission};

const LEDGER: &str = "interbank-settlement";
const CUTS: usize = 200;
const SUBMITTERS: usize = 3;

/// The machine's power: one cut kills every disk at the same instant.
#[derive(Debug)]
struct Power {
    /// Disk operations (writes, length changes, syncs) left before the cut.
    left: AtomicU64,
    off: AtomicBool,
    /// Every disk of this machine acknowledges syncs without persisting.
    lying: bool,
}

impl Power {
    /// Counts one operation; false once the power is off (this operation
    /// and every later one never reach the disk).
    fn spend(&self) -> bool {
        if self.off.load(Ordering::SeqCst) {
            return false;
        }
        if self.left.fetch_sub(1, Ordering::SeqCst) <= 1 {
            self.off.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn cut(&self) {
        self.off.store(true, Ordering::SeqCst);
    }
}

/// One disk: what the OS shows (`cache`) and what survives a power cut
/// (`platter`: the cache as of the last sync).
#[derive(Debug, Default)]
struct Disk {
    cache: Vec<u8>,
    platter: Vec<u8>,
}

#[derive(Debug)]
struct Backend {
    disk: Arc<Mutex<Disk>>,
    power: Arc<Power>,
}

fn power_off() -> std::io::Error {
    std::io::Error::other("power cut")
}

impl redb::StorageBackend for Backend {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.disk.lock().unwrap().cache.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        let d = self.disk.lock().unwrap();
        let start = offset as usize;
        let bytes = d
            .cache
            .get(start..start + out.len())
            .ok_or_else(|| std::io::Error::other("read past the end"))?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        if !self.power.spend() {
            return Err(power_off());
        }
        self.disk.lock().unwrap().cache.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        if !self.power.spend() {
            return Err(power_off());
        }
        if !self.power.lying {
            let mut d = self.disk.lock().unwrap();
            d.platter = d.cache.clone();
        }
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        if !self.power.spend() {
            return Err(power_off());
        }
        let mut d = self.disk.lock().unwrap();
        let start = offset as usize;
        if d.cache.len() < start + data.len() {
            d.cache.resize(start + data.len(), 0);
        }
        d.cache[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }
}

/// SplitMix64: cut points reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What one power-on opens: the two databases over what the disks kept.
struct Machine {
    store: Arc<Store>,
    ledger: Arc<EmbeddedLedger>,
}

fn boot(
    store_disk: &Arc<Mutex<Disk>>,
    ledger_disk: &Arc<Mutex<Disk>>,
    power: &Arc<Power>,
) -> Machine {
    // Power on: the OS's cache starts as what the platter holds.
    for d in [store_disk, ledger_disk] {
        let mut d = d.lock().unwrap();
        d.cache = d.platter.clone();
    }
    let backend = |disk: &Arc<Mutex<Disk>>| Backend {
        disk: disk.clone(),
        power: power.clone(),
    };
    Machine {
        store: Arc::new(
            Store::with_backend(backend(store_disk)).expect("the store reopens after a power cut"),
        ),
        ledger: Arc::new(
            EmbeddedLedger::with_backend(backend(ledger_disk))
                .expect("the ledger reopens after a power cut"),
        ),
    }
}

/// Every invariant the durability claim makes, on a machine just powered
/// on: the delivered count and the audit log's length, or what broke.
fn check(m: &Machine, acked: &BTreeSet<[u8; 16]>, cut: usize) -> Result<(usize, usize), String> {
    let on_ledger = m
        .ledger
        .verify_chain()
        .map_err(|e| format!("cut {cut}: ledger chain: {e}"))?;
    let audit = m
        .store
        .audit_entries()
        .map_err(|e| format!("cut {cut}: audit log: {e}"))?;
    verify_chain(&audit).map_err(|e| format!("cut {cut}: audit chain: {e}"))?;
    // The ledger holds each envelope id once (its index says where).
    let mut seen = BTreeMap::new();
    for seq in 0..on_ledger {
        let e = m.ledger.by_sequence(seq).unwrap().unwrap();
        if let Some(first) = seen.insert(e.envelope_id, seq) {
            return Err(format!(
                "cut {cut}: {} on the ledger twice ({first}, {seq})",
                hex::encode(e.envelope_id)
            ));
        }
    }
    let mut delivered = 0;
    for id in acked {
        let Some(sub) = m.store.submission(id).unwrap() else {
            return Err(format!("cut {cut}: acknowledged {} lost", hex::encode(id)));
        };
        match (sub.state, sub.sequence) {
            (State::OnLedger, Some(seq)) => {
                let Some(e) = m.ledger.by_sequence(seq).unwrap() else {
                    return Err(format!(
                        "cut {cut}: receipt {seq} of {} is not on the ledger",
                        hex::encode(id)
                    ));
                };
                if e.envelope_id != *id {
                    return Err(format!(
                        "cut {cut}: receipt {seq} of {} names another entry",
                        hex::encode(id)
                    ));
                }
                delivered += 1;
            }
            (State::Accepted, None) => {}
            other => return Err(format!("cut {cut}: {} in state {other:?}", hex::encode(id))),
        }
    }
    Ok((delivered, audit.len()))
}

fn submission(accepted_ms: u64, n: u64) -> Submission {
    Submission {
        ledger: LEDGER.into(),
        submitter: "bank-a".into(),
        policy: "interbank-payment".into(),
        record_digest: format!("{n:064x}"),
        state: State::Accepted,
        accepted_ms,
        sequence: None,
        entry_hash: None,
        delivered_ms: None,
    }
}

fn deliverer(m: &Machine, anchor_interval_ms: u64) -> Arc<veilgate_server::write::Deliverer> {
    let metrics = Arc::new(veilgate_server::metrics::Metrics::default());
    let ledger: Arc<dyn Ledger> = m.ledger.clone();
    Arc::new(veilgate_server::write::Deliverer {
        store: m.store.clone(),
        ledgers: [(LEDGER.to_owned(), ledger)].into(),
        clocks: [(
            LEDGER.to_owned(),
            Arc::new(veilgate_server::clock::LedgerClock::default()),
        )]
        .into(),
        pipeline: Arc::new(veilgate_server::write::Pipeline::default()),
        refusals: Arc::new(veilgate_server::audit::refusals::Refusals::new(
            m.store.clone(),
            metrics.clone(),
        )),
        metrics,
        anchor_interval_ms,
    })
}

/// The machine under test across power cuts: its two disks, what was
/// acknowledged, the load's randomness.
struct Rig {
    seed: u64,
    rng: Rng,
    store_disk: Arc<Mutex<Disk>>,
    ledger_disk: Arc<Mutex<Disk>>,
    acked: Arc<Mutex<BTreeSet<[u8; 16]>>>,
    counter: Arc<AtomicU64>,
    rt: tokio::runtime::Runtime,
    /// A disk that acknowledges `sync_data` without persisting: the
    /// control that shows the check can fail.
    lying: bool,
}

impl Rig {
    fn new(seed: u64, lying: bool) -> Rig {
        Rig {
            seed,
            rng: Rng(seed),
            store_disk: Arc::default(),
            ledger_disk: Arc::default(),
            acked: Arc::default(),
            counter: Arc::default(),
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            lying,
        }
    }

    /// Powers on with the power holding (opening writes too).
    fn power_on(&self) -> (Machine, Arc<Power>) {
        let power = Arc::new(Power {
            left: AtomicU64::new(u64::MAX),
            off: AtomicBool::new(false),
            lying: self.lying,
        });
        (boot(&self.store_disk, &self.ledger_disk, &power), power)
    }

    /// One power-on: check what survived, run the load until the cut (after
    /// 1–1500 disk operations, or at 400 ms), power off. Whether the cut
    /// came at a disk operation.
    fn round(&mut self, cut: usize) -> Result<bool, String> {
        let (m, power) = self.power_on();
        check(&m, &self.acked.lock().unwrap(), cut)?;
        power.left.store(1 + self.rng.below(1500), Ordering::SeqCst);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = self.rt.spawn(veilgate_server::write::delivery::run(
            deliverer(&m, 1 + self.rng.below(50)),
            stop_rx,
        ));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|_| {
                let (store, acked, counter, power, seed) = (
                    m.store.clone(),
                    self.acked.clone(),
                    self.counter.clone(),
                    power.clone(),
                    self.seed,
                );
                std::thread::spawn(move || {
                    let until = Instant::now() + Duration::from_millis(400);
                    while !power.off.load(Ordering::SeqCst) && Instant::now() < until {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let (sub, value, audit) = offer_of(seed, n);
                        // Acknowledged only when the offer returns `Queued`.
                        if let Ok(Offer::Queued(_)) = store.offer(&sub, &value, audit) {
                            acked.lock().unwrap().insert(value.envelope_id);
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        let at_operation = power.off.load(Ordering::SeqCst);
        power.cut();
        let _ = stop_tx.send(true);
        self.rt.block_on(async {
            // How the worker ends on a dead disk is not judged here; that it ends is.
            let _ = tokio::time::timeout(Duration::from_secs(30), worker)
                .await
                .map_err(|_| format!("cut {cut}: the delivery worker did not stop within 30 s"))?;
            Ok::<_, String>(())
        })?;
        Ok(at_operation)
    }
}

/// Submission `n` of the load: its record, envelope (not sealed: the disk
/// does not care) and audit entry.
fn offer_of(seed: u64, n: u64) -> (Submission, OutboxValue, AuditEvent) {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&seed.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    let value = OutboxValue {
        envelope_id: id,
        ledger: LEDGER.into(),
        envelope: format!("envelope {n} {}", "x".repeat((n % 300) as usize)).into_bytes(),
    };
    let audit = AuditEvent {
        actor: "bank-a".into(),
        action: Action::Submit,
        ledger: Some(LEDGER.into()),
        envelope_id: Some(id),
        detail: None,
    };
    (submission(1_796_000_000_000 + n, n), value, audit)
}

#[test]
fn two_hundred_power_cuts_under_load_lose_and_duplicate_nothing() {
    let seed = std::env::var("VEILGATE_POWER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(veilgate_server::clock::now_ms);
    let mut rig = Rig::new(seed, false);
    let started = Instant::now();
    let mut at_operation = 0;
    for cut in 0..CUTS {
        if rig
            .round(cut)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
        {
            at_operation += 1;
        }
    }
    // The last power-on: everything acknowledged is delivered, once.
    let (m, _power) = rig.power_on();
    let acked = rig.acked.lock().unwrap().clone();
    check(&m, &acked, CUTS).unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = rig.rt.spawn(veilgate_server::write::delivery::run(
        deliverer(&m, 10),
        stop_rx,
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while m.store.outbox_depth().unwrap() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = stop_tx.send(true);
    rig.rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .expect("the delivery worker stops within 30 s of its stop signal");
    });
    assert_eq!(
        m.store.outbox_depth().unwrap(),
        0,
        "the outbox did not drain"
    );
    let (delivered, audit) = check(&m, &acked, CUTS).unwrap();
    assert_eq!(
        delivered,
        acked.len(),
        "every acknowledged record is on the ledger"
    );
    let on_ledger: BTreeSet<_> = (0..m.ledger.len().unwrap())
        .map(|s| m.ledger.by_sequence(s).unwrap().unwrap().envelope_id)
        .filter(|id| id[..8] == seed.to_be_bytes())
        .collect();
    assert!(acked.is_subset(&on_ledger));
    assert!(
        acked.len() > CUTS,
        "the load acknowledged only {} records",
        acked.len()
    );
    println!(
        "power loss: seed {seed}, {CUTS} cuts ({at_operation} at a random disk operation, the rest at 400 ms), {} records acknowledged, {} on the ledger, {audit} audit entries, {} ledger entries; 0 lost, 0 duplicated; {:.1} s",
        acked.len(),
        on_ledger.len(),
        m.ledger.len().unwrap(),
        started.elapsed().as_secs_f64()
    );
}

/// The control: on a disk that says it synced but did not, the same check
/// finds acknowledged records lost within a few cuts. A harness that could
/// not see this would prove nothing.
#[test]
fn a_disk_that_ignores_fsync_is_caught_losing_acknowledged_records() {
    let mut rig = Rig::new(7, true);
    let failure = (0..20).find_map(|cut| rig.round(cut).err());
    let failure = failure.expect("a lying disk went unnoticed for 20 cuts");
    assert!(failure.contains("lost"), "{failure}");
}

// Parking and promotion, one transaction each, cut at every disk operation.
//
// A record the pseudonymisation service could not answer for is parked
// (`Store::park`: submission `awaiting_pseudonyms`, its row in
// `awaiting_pseudonyms`, its audit entry) and later promoted
// (`Store::promote`: the row out, the envelope into the outbox, the
// submission `accepted`). Each test runs its transaction once per disk
// operation it makes, with the power cut at that operation, from the same
// disk each time, then powers on and checks that the record is wholly in
// the state before or wholly in the state after — never half of each — and
// in the state after whenever the call had returned success.

use veilgate_core::{InstitutionSecrets, LedgerDirectory, PolicySet, PseudonymKey, SuiteId, Trust};
use veilgate_server::write::submission::{Park, SealKeys};
use veilgate_server::write::{Accepted, Sealed};

const PARK_POLICY: &str = "policy interbank-payment version 1\nledger interbank-settlement\n\
    suite standard\nrecord {\n  amount: amount(2)\n}\nroles { regulator }\n\
    disclose {\n  amount: public\n}\n";

/// The submitter, its ledger's trust and policy: enough to park a record
/// and seal it for real, so promotion goes through `Sealed::promote` (the
/// store's `promote` is the crate's own).
struct Submitter {
    secrets: InstitutionSecrets,
    trust: Trust,
    plan: Arc<veilgate_policies::Plan>,
    pseudonyms: PseudonymKey,
}

impl Submitter {
    fn new() -> Submitter {
        let secrets =
            InstitutionSecrets::generate("bank-a", SuiteId::Standard, &mut rand_core::OsRng);
        let plan = veilgate_policies::compile(PARK_POLICY).expect("the test policy compiles");
        let directory = LedgerDirectory {
            ledger: LEDGER.into(),
            suite: "standard".into(),
            members: vec![secrets.public()],
            roles: [("regulator".to_owned(), vec!["bank-a".to_owned()])].into(),
            sees_all: Vec::new(),
            sets: BTreeMap::new(),
            pseudonyms: None,
        };
        let trust = Trust::new(
            directory,
            PolicySet::new([plan.clone()]),
            Arc::new(veilgate_core::predicates::KeyRing::development()),
        );
        Submitter {
            secrets,
            trust,
            plan: Arc::new(plan),
            pseudonyms: PseudonymKey::from_bytes([5; 32]),
        }
    }

    fn accepted(&self, key: &str) -> Accepted {
        let record = self
            .plan
            .validate_record(&serde_json::json!({ "amount": "12.34" }))
            .expect("the test record is valid");
        Accepted::new(
            LEDGER,
            "bank-a",
            self.plan.clone(),
            record,
            key,
            1_796_000_000_000,
        )
        .expect("the test record is accepted")
    }

    fn park(&self, store: &Store, key: &str) -> bool {
        matches!(
            self.accepted(key)
                .park(store, self.secrets.key(), &mut rand_core::OsRng),
            Ok(Park::Parked(_))
        )
    }

    fn sealed(&self, key: &str) -> Sealed {
        self.accepted(key)
            .seal(
                SealKeys {
                    trust: &self.trust,
                    pseudonyms: (&self.pseudonyms).into(),
                    submitter: &self.secrets,
                },
                &mut rand_core::OsRng,
            )
            .expect("the test record seals")
    }
}

/// A disk holding `platter`, powered on with the power holding.
fn disk_of(platter: &[u8]) -> (Arc<Mutex<Disk>>, Arc<Power>) {
    let disk = Arc::new(Mutex::new(Disk {
        cache: platter.to_vec(),
        platter: platter.to_vec(),
    }));
    let power = Arc::new(Power {
        left: AtomicU64::new(u64::MAX),
        off: AtomicBool::new(false),
        lying: false,
    });
    (disk, power)
}

fn store_on(platter: &[u8]) -> (Store, Arc<Mutex<Disk>>, Arc<Power>) {
    let (disk, power) = disk_of(platter);
    let store = Store::with_backend(Backend {
        disk: disk.clone(),
        power: power.clone(),
    })
    .expect("the store opens");
    (store, disk, power)
}

/// Where one record is, read from the tables themselves (the store's own
/// readers of the outbox are the crate's).
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    state: Option<State>,
    /// Its row in `awaiting_pseudonyms`.
    waiting: bool,
    /// Outbox entries naming it.
    queued: usize,
    awaiting_len: usize,
    outbox_len: usize,
    audit_len: usize,
}

fn look(platter: &[u8], id: &[u8; 16]) -> Result<Seen, String> {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    use veilgate_codec::Codec;
    let (disk, power) = disk_of(platter);
    let db = redb::Builder::new()
        .create_with_backend(Backend { disk, power })
        .map_err(|e| format!("the store does not open: {e}"))?;
    let tx = db.begin_read().map_err(|e| e.to_string())?;
    let subs: TableDefinition<&[u8], &[u8]> = TableDefinition::new("submissions");
    let awaiting: TableDefinition<&[u8], &[u8]> = TableDefinition::new("awaiting_pseudonyms");
    let outbox: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
    let audit: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
    let state = match tx
        .open_table(subs)
        .map_err(|e| e.to_string())?
        .get(id.as_slice())
    {
        Ok(Some(v)) => Some(
            serde_json::from_slice::<Submission>(v.value())
                .map_err(|e| e.to_string())?
                .state,
        ),
        Ok(None) => None,
        Err(e) => return Err(e.to_string()),
    };
    let (waiting, awaiting_len) = match tx.open_table(awaiting) {
        Ok(t) => (
            t.get(id.as_slice()).map_err(|e| e.to_string())?.is_some(),
            t.iter().map_err(|e| e.to_string())?.count(),
        ),
        Err(redb::TableError::TableDoesNotExist(_)) => (false, 0),
        Err(e) => return Err(e.to_string()),
    };
    let t = tx.open_table(outbox).map_err(|e| e.to_string())?;
    let mut queued = 0;
    let mut outbox_len = 0;
    for item in t.iter().map_err(|e| e.to_string())? {
        let (_, v) = item.map_err(|e| e.to_string())?;
        outbox_len += 1;
        let v = OutboxValue::from_bytes(v.value()).map_err(|e| e.to_string())?;
        queued += usize::from(v.envelope_id == *id);
    }
    let audit_len = tx
        .open_table(audit)
        .map_err(|e| e.to_string())?
        .iter()
        .map_err(|e| e.to_string())?
        .count();
    Ok(Seen {
        state,
        waiting,
        queued,
        awaiting_len,
        outbox_len,
        audit_len,
    })
}

/// The platter once everything has been synced.
fn platter(disk: &Arc<Mutex<Disk>>) -> Vec<u8> {
    disk.lock().unwrap().platter.clone()
}

/// Runs `op` on a store over `base`, with the power cut at its `n`th disk
/// operation (or never, when it makes fewer). What it returned, whether the
/// cut came before it ended, and the platter the cut left.
fn cut_during(base: &[u8], n: u64, op: impl FnOnce(&Store) -> bool) -> (bool, bool, Vec<u8>) {
    let (store, disk, power) = store_on(base);
    power.left.store(n, Ordering::SeqCst);
    let ok = op(&store);
    let cut = power.off.load(Ordering::SeqCst);
    power.cut();
    drop(store);
    (ok, cut, platter(&disk))
}

/// The store's own checks on what a cut left: it opens, its audit chain
/// verifies.
fn reopens(after: &[u8], n: u64) -> Store {
    let (store, _, _) = store_on(after);
    let audit = store.audit_entries().expect("the audit log reads");
    verify_chain(&audit).unwrap_or_else(|e| panic!("cut at operation {n}: audit chain: {e}"));
    store
}

/// A store with two envelopes queued and another record waiting, so the
/// transactions under test find tables that are not empty.
fn base_store(who: &Submitter) -> Vec<u8> {
    let (store, disk, _) = store_on(&[]);
    for n in 0..2 {
        let (sub, value, audit) = offer_of(11, n);
        assert!(matches!(
            store.offer(&sub, &value, audit),
            Ok(Offer::Queued(_))
        ));
    }
    assert!(who.park(&store, "pay-other"), "the other record parks");
    drop(store);
    platter(&disk)
}

#[test]
fn a_cut_at_any_point_of_parking_leaves_the_record_wholly_parked_or_not_at_all() {
    let who = Submitter::new();
    let id = who.accepted("pay-0001").envelope_id();
    let base = base_store(&who);
    let before = look(&base, &id).unwrap();
    assert_eq!(
        before,
        Seen {
            state: None,
            waiting: false,
            queued: 0,
            awaiting_len: 1,
            outbox_len: 2,
            audit_len: 3,
        }
    );
    let parked = Seen {
        state: Some(State::AwaitingPseudonyms),
        waiting: true,
        awaiting_len: 2,
        audit_len: 4,
        ..before
    };
    let (mut none, mut whole) = (0, 0);
    for n in 1.. {
        let (ok, cut, after) = cut_during(&base, n, |s| who.park(s, "pay-0001"));
        let seen = look(&after, &id).unwrap_or_else(|e| panic!("cut at operation {n}: {e}"));
        let store = reopens(&after, n);
        if seen == parked {
            whole += 1;
            let last = store.audit_entries().unwrap().pop().unwrap();
            assert_eq!(last.event.envelope_id, Some(id));
            assert_eq!(
                last.event.detail.as_deref(),
                Some("policy interbank-payment; awaiting pseudonyms")
            );
        } else if seen == before && !ok {
            none += 1;
        } else {
            panic!("cut at operation {n} (parking answered {ok}): {seen:?}");
        }
        if !cut {
            assert!(ok, "parking with the power on succeeds");
            break;
        }
        assert!(n < 10_000, "parking never finished");
    }
    assert!(none > 0 && whole > 0, "{none} cuts before, {whole} after");
    println!("park: {none} cuts left nothing, {whole} left it parked");
}

#[test]
fn a_cut_at_any_point_of_promotion_leaves_the_record_wholly_waiting_or_wholly_queued() {
    let who = Submitter::new();
    let id = who.accepted("pay-0001").envelope_id();
    let base = {
        let (store, disk, _) = store_on(&base_store(&who));
        assert!(who.park(&store, "pay-0001"));
        drop(store);
        platter(&disk)
    };
    let waiting = look(&base, &id).unwrap();
    assert_eq!(
        waiting,
        Seen {
            state: Some(State::AwaitingPseudonyms),
            waiting: true,
            queued: 0,
            awaiting_len: 2,
            outbox_len: 2,
            audit_len: 4,
        }
    );
    let queued = Seen {
        state: Some(State::Accepted),
        waiting: false,
        queued: 1,
        awaiting_len: 1,
        outbox_len: 3,
        ..waiting
    };
    let (mut still, mut moved) = (0, 0);
    for n in 1.. {
        let (ok, cut, after) = cut_during(&base, n, |s| {
            matches!(who.sealed("pay-0001").promote(s), Ok(true))
        });
        let seen = look(&after, &id).unwrap_or_else(|e| panic!("cut at operation {n}: {e}"));
        let store = reopens(&after, n);
        if seen == queued {
            moved += 1;
            // Promoting again after the power came back does nothing.
            assert!(matches!(who.sealed("pay-0001").promote(&store), Ok(false)));
        } else if seen == waiting && !ok {
            still += 1;
            // The worker's next round promotes it.
            assert!(matches!(who.sealed("pay-0001").promote(&store), Ok(true)));
        } else {
            panic!("cut at operation {n} (promotion answered {ok}): {seen:?}");
        }
        drop(store);
        if !cut {
            assert!(ok, "promotion with the power on succeeds");
            break;
        }
        assert!(n < 10_000, "promotion never finished");
    }
    assert!(still > 0 && moved > 0, "{still} cuts before, {moved} after");
    println!("promote: {still} cuts left it waiting, {moved} left it queued");
}
