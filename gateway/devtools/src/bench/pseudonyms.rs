//! The cost of oblivious pseudonyms beside the member-key HMAC they
//! replace: each VOPRF step on one thread (the member's blind and
//! finalize, the service's evaluation with its proof, a 2-of-3 combine),
//! and one record's batch over HTTPS/mTLS to a real `veilgate
//! pseudonym-service` process (no cache, a fresh TLS connection per call,
//! as the gateway makes them).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use veilgate_pseudonym::threshold::{combine, deal, Answer, PublicShare};
use veilgate_pseudonym::{blind_batch, finalize_batch, pseudonym_input, Evaluator};
use veilgate_testkit::material::DEV_LEDGER;

use super::inproc::per_call;

/// Values a record of the interbank payment pseudonymises (payer and
/// payee accounts): what "per record" means below.
const VALUES_PER_RECORD: usize = 2;
const BATCH: usize = 16;

#[derive(Debug, Serialize)]
pub struct PseudonymFigures {
    /// HMAC-SHA256 pseudonym of one value (the member-key scheme).
    pub hmac_us: f64,
    /// The member blinds one value.
    pub blind_us: f64,
    /// The service evaluates one element with its proof (a batch of one).
    pub evaluate_one_us: f64,
    /// The same per element in batches of 16 (one proof per batch).
    pub evaluate_us_per_element_batch16: f64,
    /// Elements one core of the service evaluates per second (batches of 16).
    pub evaluations_per_s_one_core: f64,
    /// The member checks the proof, unblinds and hashes, per value in a batch of 16.
    pub finalize_us_per_value_batch16: f64,
    /// 2-of-3: two answers checked and combined, per value in a batch of 16.
    pub combine_2of3_us_per_value_batch16: f64,
    pub values_per_record: usize,
    /// One record's values with HMAC.
    pub hmac_record_us: f64,
    /// One record's batch: the member's CPU (blind and finalize).
    pub member_record_us: f64,
    /// One record's batch: the service's CPU (evaluate and prove).
    pub service_record_us: f64,
    /// One record's batch over HTTPS/mTLS to a local service process,
    /// median and 99th percentile (ms); `None` without the server stage.
    pub round_trip_median_ms: Option<f64>,
    pub round_trip_p99_ms: Option<f64>,
    pub round_trips: usize,
}

fn inputs(n: usize, salt: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let value = format!("62220202{:011}", u64::from(salt) * 1000 + i as u64);
            pseudonym_input(DEV_LEDGER, 1, value.as_bytes()).unwrap_or_default()
        })
        .collect()
}

/// The in-process figures, and the round trip when `serve` gives a root
/// directory to deploy a service in and the `veilgate` binary to run it.
pub fn figures(
    budget: Duration,
    serve: Option<(&Path, &Path)>,
) -> Result<PseudonymFigures, String> {
    let mut rng = rand_core::OsRng;
    let key = Evaluator::generate(&mut rng).map_err(|e| e.to_string())?;
    let suite = veilgate_core::SuiteId::Standard.suite();
    let hmac_input = veilgate_core::bind::pseudonym_input(DEV_LEDGER, b"6222020200112233445");
    let hmac_us = per_call(1000, budget / 4, || {
        std::hint::black_box(suite.pseudonym(&[7; 32], &hmac_input));
    }) * 1e6;
    let one = inputs(1, 1);
    let blind_us = per_call(100, budget / 4, || {
        let _ = std::hint::black_box(blind_batch(&one, &mut rand_core::OsRng));
    }) * 1e6;
    let (_, b1) = blind_batch(&one, &mut rng).map_err(|e| e.to_string())?;
    let evaluate_one_us = per_call(100, budget / 4, || {
        let _ = std::hint::black_box(key.evaluate_batch(&b1, &mut rand_core::OsRng));
    }) * 1e6;
    let many = inputs(BATCH, 2);
    let (state, b16) = blind_batch(&many, &mut rng).map_err(|e| e.to_string())?;
    let per16 = per_call(20, budget / 4, || {
        let _ = std::hint::black_box(key.evaluate_batch(&b16, &mut rand_core::OsRng));
    }) * 1e6;
    let (evaluated, proof) = key
        .evaluate_batch(&b16, &mut rng)
        .map_err(|e| e.to_string())?;
    let public = key.public_key();
    let finalize16 = per_call(20, budget / 4, || {
        let _ = std::hint::black_box(finalize_batch(&state, &evaluated, &proof, &public));
    }) * 1e6;
    let dealing = deal(2, 3, &key, &mut rng).map_err(|e| e.to_string())?;
    let shares: Vec<PublicShare> = dealing.shares.iter().map(|s| s.public()).collect();
    let answers = dealing
        .shares
        .iter()
        .take(2)
        .map(|s| {
            let e = s.evaluator().map_err(|e| e.to_string())?;
            let (evaluated, proof) = e
                .evaluate_batch(&b16, &mut rand_core::OsRng)
                .map_err(|e| e.to_string())?;
            Ok(Answer {
                index: s.index(),
                evaluated,
                proof,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let combine16 = per_call(10, budget / 4, || {
        let _ = std::hint::black_box(combine(&state, 2, &shares, &answers));
    }) * 1e6;
    let record = inputs(VALUES_PER_RECORD, 3);
    let member_record_us = per_call(50, budget / 4, || {
        if let Ok((s, b)) = blind_batch(&record, &mut rand_core::OsRng) {
            if let Ok((e, p)) = key.evaluate_batch(&b, &mut rand_core::OsRng) {
                let _ = std::hint::black_box(finalize_batch(&s, &e, &p, &public));
            }
        }
    }) * 1e6;
    let (_, brec) = blind_batch(&record, &mut rng).map_err(|e| e.to_string())?;
    let service_record_us = per_call(50, budget / 4, || {
        let _ = std::hint::black_box(key.evaluate_batch(&brec, &mut rand_core::OsRng));
    }) * 1e6;
    let (median, p99, n) = match serve {
        Some((root, exe)) => {
            let (m, p, n) = round_trips(root, exe, budget)?;
            (Some(m), Some(p), n)
        }
        None => (None, None, 0),
    };
    let per_element = per16 / BATCH as f64;
    Ok(PseudonymFigures {
        hmac_us,
        blind_us,
        evaluate_one_us,
        evaluate_us_per_element_batch16: per_element,
        evaluations_per_s_one_core: 1e6 / per_element,
        finalize_us_per_value_batch16: finalize16 / BATCH as f64,
        combine_2of3_us_per_value_batch16: combine16 / BATCH as f64,
        values_per_record: VALUES_PER_RECORD,
        hmac_record_us: hmac_us * VALUES_PER_RECORD as f64,
        // member_record_us timed blind + evaluate + finalize: take the service's part out.
        member_record_us: (member_record_us - service_record_us).max(0.0),
        service_record_us,
        round_trip_median_ms: median,
        round_trip_p99_ms: p99,
        round_trips: n,
    })
}

/// One record's batch, again and again, to a service process on 127.0.0.1
/// through the gateway's own client (cache off).
fn round_trips(root: &Path, exe: &Path, budget: Duration) -> Result<(f64, f64, usize), String> {
    use veilgate_server::pseudonym::client::{Endpoint, Oracle, OracleSettings};
    let data = veilgate_testkit::data::dev_data_dir(&root.join("pseudonym-bench"), &[])?;
    let (dirs, _) =
        veilgate_testkit::pseudonyms::deploy(&data, DEV_LEDGER, 1, &["regulator"], u64::MAX / 4)?;
    let dir = dirs.first().ok_or("no service directory")?;
    let service = veilgate_testkit::process::start_pseudonym_service(
        exe,
        &dir.dir,
        "127.0.0.1:0",
        &root.join("pseudonym-bench-service.log"),
    )?;
    let directory = veilgate_testkit::data::ledger_directory(&data, DEV_LEDGER)?;
    let section = directory
        .pseudonyms
        .ok_or("the deployment wrote no pseudonyms section")?;
    let ca = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::pem_file_iter(data.join("ca/ca.pem"))
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
    };
    let endpoint = Endpoint::parse(1, &dir.operator, &service.base)?;
    let oracle = Oracle::new(
        DEV_LEDGER,
        &section,
        vec![endpoint],
        &ca,
        &data,
        &["bank-a".to_owned()],
        OracleSettings {
            timeout: Duration::from_secs(10),
            cache_entries: 0,
            cache_ttl: Duration::ZERO,
        },
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let values: Vec<zeroize::Zeroizing<Vec<u8>>> = ["6222020200112233445", "6217000010098765432"]
        .iter()
        .map(|v| zeroize::Zeroizing::new(veilgate_policies::Value::Str((*v).into()).encode()))
        .collect();
    let mut times = Vec::new();
    let start = Instant::now();
    runtime.block_on(async {
        // One unmeasured call: the service's first connection.
        oracle
            .tags("bank-a", 1, &values)
            .await
            .map_err(|e| e.to_string())?;
        while times.len() < 50 || (start.elapsed() < budget && times.len() < 2000) {
            let t = Instant::now();
            oracle
                .tags("bank-a", 1, &values)
                .await
                .map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        Ok::<_, String>(())
    })?;
    drop(service);
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Ok((at(0.5), at(0.99), times.len()))
}
