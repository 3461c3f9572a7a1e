//! Finding 3 of issue 15: one member stalls uploads to hold every request
//! slot of the gateway; another member's requests must still complete, each
//! in under 5 s, while the stall lasts (30 s). Alone in its test binary so
//! that no other test shares the machine's cores while it measures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use veilgate_client::Client;

const LEDGER: &str = "interbank-settlement";
const POLICY: &str = "interbank-payment";
/// As in the finding: more stalled uploads than the gateway has slots (256).
const STALLS: usize = 260;
const HOLD: Duration = Duration::from_secs(30);

/// One stalled upload, renewed whenever the gateway cuts it, until `until`:
/// headers announcing a 900 kB record, 16 bytes of it, then silence. Returns
/// the statuses the gateway answered with.
async fn stall(
    config: Arc<rustls::ClientConfig>,
    addr: String,
    until: Instant,
    statuses: Arc<std::sync::Mutex<Vec<u16>>>,
    placed: Arc<AtomicU64>,
) {
    while Instant::now() < until {
        let Ok(tcp) = tokio::net::TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let Ok(mut tls) = connector
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
        else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let head = format!(
            "POST /v1/ledgers/{LEDGER}/records HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 900000\r\n\r\n{{\"policy\": \"{POLICY}\""
        );
        if tls.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        let _ = tls.flush().await;
        placed.fetch_add(1, Ordering::SeqCst);
        let mut buf = Vec::new();
        let left = until.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, tls.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf);
        if let Some(code) = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|t| t.get(..3))
            .and_then(|c| c.parse().ok())
        {
            statuses.lock().unwrap().push(code);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_member_stalling_uploads_does_not_stall_another() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(root.path(), &[]).unwrap();
    let mut o = veilgate_testkit::process::Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        &data,
        root.path().join("server.log"),
    );
    o.dev = true;
    let gw = veilgate_testkit::process::Process::start(&o).unwrap();
    let addr = gw.base.trim_start_matches("https://").to_owned();
    let bank_c = Client::from_data_dir(&data, "bank-c", &gw.base).unwrap();
    let sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap();
    // bank-c submits too (it is the payer in its own record).
    let mut record = sample.clone();
    record["payer_bank"] = "bank-c".into();
    record["payee_bank"] = "bank-a".into();

    let until = Instant::now() + HOLD;
    let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let config = veilgate_testkit::data::client_tls(&data, "bank-b").unwrap();
    let placed = Arc::new(AtomicU64::new(0));
    let attackers: Vec<_> = (0..STALLS)
        .map(|_| {
            let (config, addr, statuses) = (config.clone(), addr.clone(), statuses.clone());
            tokio::spawn(stall(config, addr, until, statuses, placed.clone()))
        })
        .collect();
    // bank-c starts once every stall has sent its headers (an event, with a
    // deadline), so the stalls hold their places first.
    let deadline = Instant::now() + Duration::from_secs(20);
    while placed.load(Ordering::SeqCst) < STALLS as u64 {
        assert!(
            Instant::now() < deadline,
            "{} of {STALLS} stalls placed within 20 s",
            placed.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut latencies = Vec::new();
    let submitted = AtomicU64::new(0);
    let policies = format!("/v1/ledgers/{LEDGER}/policies");
    while Instant::now() + Duration::from_secs(1) < until {
        let n = latencies.len();
        let started = Instant::now();
        let request = async {
            if n % 4 == 3 {
                let key = format!("during-stall-{}", submitted.fetch_add(1, Ordering::Relaxed));
                match bank_c.submit(LEDGER, POLICY, &key, &record).await {
                    Ok(r) => r.status,
                    Err(e) => panic!("bank-c's submission failed during the stall: {e:?}"),
                }
            } else {
                bank_c.request("GET", &policies, None).await.unwrap().0
            }
        };
        // A stalled bank-c fails here, at the bound below, instead of hanging.
        let status = tokio::time::timeout(Duration::from_secs(5), request)
            .await
            .unwrap_or_else(|_| panic!("bank-c's request {n} took over 5 s during the stall"));
        let took = started.elapsed();
        assert!(
            status == 200 || status == 201 || status == 202,
            "bank-c got {status} during the stall"
        );
        assert!(
            took < Duration::from_secs(5),
            "bank-c's request {n} took {took:?} during the stall"
        );
        latencies.push(took);
        // Pacing: about ten requests a second from bank-c.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each stall ends by `until`; a little slack for its last read.
    for a in attackers {
        tokio::time::timeout(HOLD + Duration::from_secs(30), a)
            .await
            .expect("a stall ends when its hold is over")
            .unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    // The stalls were really there: the gateway cut or refused them.
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let cut = statuses.iter().filter(|s| **s == 408).count();
    assert!(refused > 0, "no stalled upload was refused: {statuses:?}");
    assert!(cut > 0, "no stalled upload was cut: {statuses:?}");
    assert!(
        latencies.len() >= 50,
        "only {} requests in 30 s",
        latencies.len()
    );

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "stall: {STALLS} stalled uploads from bank-b for {HOLD:?} ({refused} answered 429, {cut} cut with 408); bank-c's {} requests (1 in 4 a submission): min {:?} p50 {:?} p90 {:?} p99 {:?} max {:?}",
        latencies.len(),
        latencies[0],
        at(0.5),
        at(0.9),
        at(0.99),
        latencies[latencies.len() - 1],
    );
}
