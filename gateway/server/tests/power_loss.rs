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
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

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
#[derive(Debug, Default)]
struct Power {
    /// Disk operations (writes, length changes, syncs) left before the cut.
    left: AtomicU64,
    off: AtomicBool,
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
        let mut d = self.disk.lock().unwrap();
        d.platter = d.cache.clone();
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

fn boot(store_disk: &Arc<Mutex<Disk>>, ledger_disk: &Arc<Mutex<Disk>>, power: &Arc<Power>) -> Machine {
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
        store: Arc::new(Store::with_backend(backend(store_disk)).expect("the store reopens after a power cut")),
        ledger: Arc::new(EmbeddedLedger::with_backend(backend(ledger_disk)).expect("the ledger reopens after a power cut")),
    }
}

/// Every invariant the durability claim makes, on a machine just powered on.
fn check(m: &Machine, acked: &BTreeSet<[u8; 16]>, cut: usize) -> (usize, usize) {
    let on_ledger = m.ledger.verify_chain().unwrap_or_else(|e| panic!("cut {cut}: ledger chain: {e}"));
    let audit = m.store.audit_entries().unwrap();
    verify_chain(&audit).unwrap_or_else(|e| panic!("cut {cut}: audit chain: {e}"));
    // The ledger holds each envelope id once (its index says where).
    let mut seen = BTreeMap::new();
    for seq in 0..on_ledger {
        let e = m.ledger.by_sequence(seq).unwrap().unwrap();
        if let Some(first) = seen.insert(e.envelope_id, seq) {
            panic!("cut {cut}: {} on the ledger twice ({first}, {seq})", hex::encode(e.envelope_id));
        }
    }
    let mut delivered = 0;
    for id in acked {
        let sub = m
            .store
            .submission(id)
            .unwrap()
            .unwrap_or_else(|| panic!("cut {cut}: acknowledged {} lost", hex::encode(id)));
        match (sub.state, sub.sequence) {
            (State::OnLedger, Some(seq)) => {
                let e = m.ledger.by_sequence(seq).unwrap().unwrap_or_else(|| {
                    panic!("cut {cut}: receipt {seq} of {} is not on the ledger", hex::encode(id))
                });
                assert_eq!(e.envelope_id, *id, "cut {cut}: receipt {seq} names another entry");
                delivered += 1;
            }
            (State::Accepted, None) => {}
            other => panic!("cut {cut}: {} in state {other:?}", hex::encode(id)),
        }
    }
    (delivered, audit.len())
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
        clocks: [(LEDGER.to_owned(), Arc::new(veilgate_server::clock::LedgerClock::default()))].into(),
        pipeline: Arc::new(veilgate_server::write::Pipeline::default()),
        refusals: Arc::new(veilgate_server::audit::refusals::Refusals::new(m.store.clone(), metrics.clone())),
        metrics,
        anchor_interval_ms,
    })
}

#[test]
fn two_hundred_power_cuts_under_load_lose_and_duplicate_nothing() {
    let seed = std::env::var("VEILGATE_POWER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| veilgate_server::clock::now_ms());
    let mut rng = Rng(seed);
    let store_disk = Arc::new(Mutex::new(Disk::default()));
    let ledger_disk = Arc::new(Mutex::new(Disk::default()));
    let acked = Arc::new(Mutex::new(BTreeSet::<[u8; 16]>::new()));
    let counter = Arc::new(AtomicU64::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut cuts_mid_commit = 0usize;
    let started = Instant::now();
    for cut in 0..CUTS {
        let power = Arc::new(Power::default());
        // Opening the databases writes too: the power holds for that.
        power.left.store(u64::MAX, Ordering::SeqCst);
        let m = boot(&store_disk, &ledger_disk, &power);
        check(&m, &acked.lock().unwrap(), cut);
        // The cut: after 1–1500 more disk operations, or after 400 ms.
        let budget = 1 + rng.below(1500);
        power.left.store(budget, Ordering::SeqCst);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let worker = rt.spawn(veilgate_server::write::delivery::run(deliverer(&m, 1 + rng.below(50)), stop_rx));
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|_| {
                let (store, acked, counter, power) =
                    (m.store.clone(), acked.clone(), counter.clone(), power.clone());
                std::thread::spawn(move || {
                    let until = Instant::now() + Duration::from_millis(400);
                    while !power.off.load(Ordering::SeqCst) && Instant::now() < until {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
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
                        // Acknowledged only when the offer returns `Queued`.
                        if let Ok(Offer::Queued(_)) = store.offer(&submission(1_796_000_000_000 + n, n), &value, audit) {
                            acked.lock().unwrap().insert(id);
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        if !power.off.load(Ordering::SeqCst) {
            power.cut();
        } else {
            cuts_mid_commit += 1;
        }
        let _ = stop_tx.send(true);
        rt.block_on(async { let _ = tokio::time::timeout(Duration::from_secs(30), worker).await; });
        drop(m);
    }
    // The last power-on: everything acknowledged is delivered, once.
    let power = Arc::new(Power::default());
    power.left.store(u64::MAX, Ordering::SeqCst);
    let m = boot(&store_disk, &ledger_disk, &power);
    let acked = acked.lock().unwrap().clone();
    check(&m, &acked, CUTS);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = rt.spawn(veilgate_server::write::delivery::run(deliverer(&m, 10), stop_rx));
    let deadline = Instant::now() + Duration::from_secs(120);
    while m.store.outbox_depth().unwrap() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = stop_tx.send(true);
    rt.block_on(async { let _ = worker.await; });
    assert_eq!(m.store.outbox_depth().unwrap(), 0, "the outbox did not drain");
    let (delivered, audit) = check(&m, &acked, CUTS);
    assert_eq!(delivered, acked.len(), "every acknowledged record is on the ledger");
    let on_ledger: BTreeSet<_> = (0..m.ledger.len().unwrap())
        .map(|s| m.ledger.by_sequence(s).unwrap().unwrap().envelope_id)
        .filter(|id| id[..8] == seed.to_be_bytes())
        .collect();
    assert!(acked.is_subset(&on_ledger));
    assert!(acked.len() > CUTS, "the load acknowledged only {} records", acked.len());
    println!(
        "power loss: seed {seed}, {CUTS} cuts ({cuts_mid_commit} at a random disk operation, the rest at 400 ms), {} records acknowledged, {} on the ledger, {audit} audit entries, {} ledger entries; 0 lost, 0 duplicated; {:.1} s",
        acked.len(),
        on_ledger.len(),
        m.ledger.len().unwrap(),
        started.elapsed().as_secs_f64()
    );
}
