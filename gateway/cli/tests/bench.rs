//! `veilgate bench --quick` runs every stage for real — primitives, seal on
//! one and all cores, verify one by one and in batches, open, durable ledger
//! appends, a real `veilgate serve` over HTTPS/mTLS with the backlog stage —
//! and writes a JSON report whose figures are all measured (no stage
//! skipped, no request failed). Timings themselves are not asserted: a
//! shared CI machine's seconds are not a test; BENCHMARKS.md holds them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

use serde_json::Value;

#[test]
fn bench_quick_measures_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args([
            "bench",
            "--quick",
            "--template",
            "interbank-payment",
            // A template proving against a set: the bench publishes its root.
            "--template",
            "cross-border-remittance",
            "--json",
        ])
        .arg(&json)
        .arg("--dir")
        .arg(dir.path().join("work"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "interbank-payment (envelope",
        "floor (sum of primitives)",
        "embedded ledger",
        "over HTTPS/mTLS",
        "backlog",
        "targets",
    ] {
        assert!(stdout.contains(section), "no `{section}` in:\n{stdout}");
    }

    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["format"], 1);
    assert_eq!(
        r["machine"]["cores"].as_u64().unwrap() as usize,
        num_cores()
    );
    let t = &r["templates"][0];
    assert_eq!(t["template"], "interbank-payment");
    let prims = t["primitives"].as_array().unwrap();
    let count = |name: &str| {
        prims
            .iter()
            .find(|p| p["name"].as_str().unwrap().starts_with(name))
            .map(|p| {
                assert!(p["unit_us"].as_f64().unwrap() > 0.0, "{p}");
                p["count"].as_u64().unwrap()
            })
    };
    // Counted on a sealed envelope: one signature, one range proof (amount),
    // a data key wrapped to each of payer, payee and regulator.
    assert_eq!(count("Ed25519 sign"), Some(1));
    assert_eq!(count("Bulletproofs"), Some(1));
    assert_eq!(count("HPKE wrap"), Some(3));
    assert!(count("AES-256-GCM").unwrap() >= 3);
    for k in [
        "floor_ms",
        "seal_ms",
        "seal_per_s_one_core",
        "seal_per_s_all_cores",
    ] {
        assert!(t[k].as_f64().unwrap() > 0.0, "{k}");
    }
    let v = &t["verify"];
    for k in ["single_per_s", "batch_per_s", "open_per_s"] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}");
    }
    let l = &r["ledger"];
    for k in ["sequential_per_s", "group_commit_per_s", "batch64_per_s"] {
        assert!(l[k].as_f64().unwrap() > 0.0, "{k}");
    }
    let e = &r["end_to_end"][0];
    let levels = e["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    for p in levels
        .iter()
        .chain([&e["half_rate"], &e["backlog"]["point"]])
    {
        assert!(p["completed"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
        assert!(p["p99_ms"].as_f64().unwrap() >= p["p50_ms"].as_f64().unwrap());
        assert!(p["max_rss_mib"].as_f64().unwrap() > 1.0, "{p}");
    }
    // Read back from the stalled gateway's metrics: every record accepted
    // in the backlog stage is still waiting.
    let waiting = e["backlog"]["records_waiting"].as_u64().unwrap();
    assert!(
        waiting >= 300 + e["backlog"]["point"]["completed"].as_u64().unwrap(),
        "{waiting}"
    );
    let targets = r["targets"].as_array().unwrap();
    assert_eq!(
        targets.len(),
        16,
        "3 per template (the SM run included), 2 per template end to end, the backlog, 2 ledger"
    );
    // The set template: a non-membership proof in its floor, and served
    // over HTTPS without a failed request.
    let t = &r["templates"][1];
    assert_eq!(t["template"], "cross-border-remittance");
    assert!(t["primitives"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "Groth16 prove (BN254)"));
    let e = &r["end_to_end"][1];
    assert_eq!(e["template"], "cross-border-remittance");
    for p in e["levels"].as_array().unwrap() {
        assert!(p["completed"].as_u64().unwrap() > 0, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
    }
    assert!(r["skipped"].as_array().unwrap().is_empty());

    // The first template again under suite `sm`: its floor is made of the
    // SM primitives, counted on its envelope as the standard ones are.
    let t = &r["templates"][2];
    assert_eq!(t["template"], "interbank-payment (sm)");
    let sm_count = |name: &str| {
        t["primitives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str().unwrap().starts_with(name))
            .map(|p| p["count"].as_u64().unwrap())
    };
    assert_eq!(sm_count("SM2 sign"), Some(1));
    assert_eq!(sm_count("SM2 wrap"), Some(3));
    assert!(sm_count("SM4-GCM").unwrap() >= 3);
    assert_eq!(sm_count("Ed25519"), None);
    assert!(t["floor_ms"].as_f64().unwrap() > 0.0 && t["seal_ms"].as_f64().unwrap() > 0.0);
    assert!(
        stdout.contains("interbank-payment (sm) (envelope"),
        "{stdout}"
    );
    // The suites side by side: six operations, each measured under both.
    let suites = r["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 6, "{suites:?}");
    for row in suites {
        assert!(row["standard_us"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["sm_us"].as_f64().unwrap() > 0.0, "{row}");
    }
    assert!(stdout.contains("crypto suites"), "{stdout}");
    // Oblivious pseudonyms beside HMAC: every step measured, and a real
    // service process answered round trips.
    let p = &r["pseudonyms"];
    for key in [
        "hmac_us",
        "blind_us",
        "evaluate_one_us",
        "evaluate_us_per_element_batch16",
        "evaluations_per_s_one_core",
        "finalize_us_per_value_batch16",
        "combine_2of3_us_per_value_batch16",
        "member_record_us",
        "service_record_us",
        "round_trip_median_ms",
        "round_trip_p99_ms",
    ] {
        assert!(p[key].as_f64().unwrap() > 0.0, "{key}: {p}");
    }
    assert!(p["round_trips"].as_u64().unwrap() >= 50, "{p}");
    assert!(
        stdout.contains("one HTTPS/mTLS round trip to the service"),
        "{stdout}"
    );
    assert!(targets
        .iter()
        .all(|t| t["measured"].as_f64().unwrap().is_finite()));
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `--pkcs11-module`: the first template sealed with the submitter's key in
/// a SoftHSM token beside its key file; both figures measured (none asserted
/// against a time: BENCHMARKS.md holds them).
#[test]
fn bench_seals_with_a_key_file_and_with_a_token_key() {
    let Ok(token) = std::env::var("VEILGATE_TEST_TOKEN") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SoftHSM token not prepared: run .ci/run"
        );
        eprintln!("skipped: no SoftHSM token (VEILGATE_TEST_TOKEN); run .ci/run");
        return;
    };
    let module = std::env::var("VEILGATE_PKCS11_MODULE")
        .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".into());
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args([
            "bench",
            "--quick",
            "--no-serve",
            "--template",
            "interbank-payment",
            "--pkcs11-module",
            &module,
            "--pkcs11-token",
            &token,
            "--pkcs11-pin-env",
            "VEILGATE_TEST_PIN",
            "--json",
        ])
        .arg(&json)
        .arg("--dir")
        .arg(dir.path().join("work"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("key backends (interbank-payment"),
        "{stdout}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let k = &r["key_backends"];
    for f in [
        "seal_per_s_file",
        "seal_per_s_pkcs11",
        "sign_us_file",
        "sign_us_pkcs11",
        "ratio",
    ] {
        assert!(k[f].as_f64().unwrap() > 0.0, "{f}: {k}");
    }
    assert_eq!(k["token"], token.as_str());
}
