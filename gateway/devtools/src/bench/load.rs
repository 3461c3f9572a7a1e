//! The end-to-end stage: a real `veilgate serve` (this binary, its own
//! process) on 127.0.0.1 with the embedded ledger, and clients submitting
//! records over HTTPS with client certificates (TLS 1.3, mTLS), each on a
//! kept-alive connection. Latency is from sending the request to the
//! answer, which comes once the record is on the ledger (201) — or, with
//! delivery stalled, once it is durable in the outbox (202).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use veilgate_client::{Client, Connection};

/// A running `veilgate serve` (this very binary), killed when dropped.
pub struct Server(veilgate_testkit::process::Process);

impl Server {
    pub fn start(data: &Path, log: &Path) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut o = veilgate_testkit::process::Options::new(exe, data, log);
        // The bench's data directory holds development keys.
        o.dev = true;
        o.rust_log = Some("warn".into());
        veilgate_testkit::process::Process::start(&o).map(Server)
    }

    pub fn base(&self) -> &str {
        &self.0.base
    }

    pub fn pid(&self) -> u32 {
        self.0.pid()
    }
}

/// Resident set size of a process, from /proc (Linux), in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadPoint {
    /// Clients with one request in flight each (closed loop), or 0 for a fixed arrival rate.
    pub concurrency: usize,
    /// For a fixed arrival rate: requests started per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_per_s: Option<f64>,
    /// Answered with the expected status, and timed.
    pub completed: u64,
    /// Accepted, but answered otherwise (a 202 while waiting for the ledger
    /// receipt took longer than `ack_wait_ms`): not timed, not counted above.
    pub early: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub max_rss_mib: f64,
}

/// What one request does; `key` is unique per request.
pub struct Job {
    pub client: Client,
    pub ledger: String,
    pub policy: String,
    pub record: serde_json::Value,
    pub prefix: String,
    /// The answer a completed request gets: 201 (on the ledger), or 202
    /// when the ledger is stalled.
    pub expect: u16,
}

impl Job {
    /// Submissions of `fx`'s sample record, as the institution that files it, to the gateway at
    /// `base`, keys `prefix-N`.
    pub fn new(
        data: &Path,
        base: &str,
        fx: &super::inproc::Fixture,
        prefix: String,
        expect: u16,
    ) -> Result<Arc<Job>, String> {
        Ok(Arc::new(Job {
            client: Client::from_data_dir(data, &fx.submitter_id, base)
                .map_err(|e| e.to_string())?,
            ledger: veilgate_testkit::material::DEV_LEDGER.into(),
            policy: fx.plan.id.clone(),
            record: fx.record_json.clone(),
            prefix,
            expect,
        }))
    }

    fn body(&self, n: u64) -> Vec<u8> {
        serde_json::json!({
            "policy": self.policy,
            "idempotency_key": format!("{}-{n}", self.prefix),
            "record": self.record,
        })
        .to_string()
        .into_bytes()
    }
    fn path(&self) -> String {
        format!("/v1/ledgers/{}/records", self.ledger)
    }
}

struct Tally {
    latencies: Mutex<Vec<f64>>,
    early: AtomicU64,
    errors: AtomicU64,
    next: AtomicU64,
}

impl Tally {
    fn new(start_at: u64) -> Tally {
        Tally {
            latencies: Mutex::new(Vec::new()),
            early: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            next: AtomicU64::new(start_at),
        }
    }
}

async fn one(job: &Job, conn: &mut Connection, tally: &Tally) -> bool {
    let n = tally.next.fetch_add(1, Ordering::Relaxed);
    let t0 = Instant::now();
    match conn.request("POST", &job.path(), Some(job.body(n))).await {
        Ok((status, _)) if status == job.expect => {
            if let Ok(mut l) = tally.latencies.lock() {
                l.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            true
        }
        Ok((200..=299, _)) => {
            tally.early.fetch_add(1, Ordering::Relaxed);
            true
        }
        Ok(_) => {
            tally.errors.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(_) => {
            tally.errors.fetch_add(1, Ordering::Relaxed);
            false // the connection is gone
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// Samples the server's RSS until `stop`, keeping the maximum.
fn rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<f64> {
    tokio::spawn(async move {
        let mut max: f64 = 0.0;
        while !stop.load(Ordering::Relaxed) {
            max = max.max(rss_mib(pid).unwrap_or(0.0));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        max.max(rss_mib(pid).unwrap_or(0.0))
    })
}

fn point(
    concurrency: usize,
    offered: Option<f64>,
    tally: &Tally,
    secs: f64,
    rss: f64,
) -> LoadPoint {
    let mut l = tally
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    l.sort_by(f64::total_cmp);
    LoadPoint {
        concurrency,
        offered_per_s: offered,
        completed: l.len() as u64,
        early: tally.early.load(Ordering::Relaxed),
        errors: tally.errors.load(Ordering::Relaxed),
        throughput_per_s: l.len() as f64 / secs,
        p50_ms: percentile(&l, 0.50),
        p90_ms: percentile(&l, 0.90),
        p99_ms: percentile(&l, 0.99),
        max_ms: l.last().copied().unwrap_or(0.0),
        max_rss_mib: rss,
    }
}

/// `concurrency` clients, each sending its next request when the last is
/// answered, for `duration` (after a short warm-up that is not counted).
pub async fn closed_loop(
    job: Arc<Job>,
    pid: u32,
    concurrency: usize,
    duration: Duration,
    first_key: u64,
) -> Result<(LoadPoint, u64), String> {
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(job.client.connect().await.map_err(|e| e.to_string())?);
    }
    let warm = Arc::new(Tally::new(first_key));
    let run = |tally: Arc<Tally>, conns: Vec<Connection>, d: Duration| {
        let job = job.clone();
        async move {
            let deadline = Instant::now() + d;
            let mut tasks = Vec::new();
            for mut conn in conns {
                let (job, tally) = (job.clone(), tally.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < deadline {
                        if !one(&job, &mut conn, &tally).await {
                            match job.client.connect().await {
                                Ok(c) => conn = c,
                                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                            }
                        }
                    }
                    conn
                }));
            }
            let mut back = Vec::new();
            for t in tasks {
                if let Ok(c) = t.await {
                    back.push(c);
                }
            }
            back
        }
    };
    let conns = run(warm.clone(), conns, duration / 5).await;
    let tally = Arc::new(Tally::new(warm.next.load(Ordering::Relaxed)));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, stop.clone());
    let start = Instant::now();
    let _ = run(tally.clone(), conns, duration).await;
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let rss = sampler.await.unwrap_or(0.0);
    let next = tally.next.load(Ordering::Relaxed);
    Ok((point(concurrency, None, &tally, secs, rss), next))
}

/// Requests started at a fixed rate (evenly spaced, whether or not earlier
/// ones are answered), each on a free kept-alive connection.
pub async fn fixed_rate(
    job: Arc<Job>,
    pid: u32,
    rate: f64,
    duration: Duration,
    first_key: u64,
) -> Result<(LoadPoint, u64), String> {
    let free: Arc<Mutex<Vec<Connection>>> = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..((rate / 10.0).ceil() as usize).clamp(2, 64) {
        let c = job.client.connect().await.map_err(|e| e.to_string())?;
        if let Ok(mut f) = free.lock() {
            f.push(c);
        }
    }
    let tally = Arc::new(Tally::new(first_key));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = rss_sampler(pid, stop.clone());
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let start = Instant::now();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    while start.elapsed() < duration {
        tick.tick().await;
        let (job, tally, free) = (job.clone(), tally.clone(), free.clone());
        tasks.push(tokio::spawn(async move {
            let conn = free.lock().ok().and_then(|mut f| f.pop());
            let mut conn = match conn {
                Some(c) => c,
                None => match job.client.connect().await {
                    Ok(c) => c,
                    Err(_) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                },
            };
            if one(&job, &mut conn, &tally).await {
                if let Ok(mut f) = free.lock() {
                    f.push(conn);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let rss = sampler.await.unwrap_or(0.0);
    let next = tally.next.load(Ordering::Relaxed);
    Ok((point(0, Some(rate), &tally, secs, rss), next))
}

/// Submits until `count` more records are accepted (closed loop at
/// `concurrency`), returning the next key number.
pub async fn fill(
    job: Arc<Job>,
    concurrency: usize,
    count: u64,
    first_key: u64,
) -> Result<u64, String> {
    let tally = Arc::new(Tally::new(first_key));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (job, tally) = (job.clone(), tally.clone());
        let mut conn = job.client.connect().await.map_err(|e| e.to_string())?;
        tasks.push(tokio::spawn(async move {
            let accepted = || tally.latencies.lock().map_or(0, |l| l.len() as u64);
            while accepted() < count && tally.errors.load(Ordering::Relaxed) < 100 {
                if !one(&job, &mut conn, &tally).await {
                    if let Ok(c) = job.client.connect().await {
                        conn = c;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    if tally.errors.load(Ordering::Relaxed) >= 100 {
        return Err("filling the outbox: the gateway refused 100 submissions".into());
    }
    Ok(tally.next.load(Ordering::Relaxed))
}

/// The gateway's outbox depth, from its metrics.
pub async fn outbox_depth(client: &Client) -> Result<u64, String> {
    let (status, body) = client
        .request("GET", "/metrics", None)
        .await
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("GET /metrics answered {status}"));
    }
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix("veilgate_outbox_depth "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no veilgate_outbox_depth in the metrics".into())
}
