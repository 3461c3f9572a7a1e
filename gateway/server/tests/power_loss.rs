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
