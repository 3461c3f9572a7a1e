//! README claims that had no test of their own: the demo's table (who sees
//! what, nothing but the table on standard output), TLS 1.2 refused at the
//! handshake, and `Retry-After` on the refusals that ask a client to come
//! back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use veilgate_testkit::process::{Options, Process};

/// `veilgate demo`: the payment sealed by bank-a, verified by bank-c, and
/// each party's view side by side — the ledger never shows the amount,
/// names are dropped, each recipient reads only its own fields.
#[test]
fn the_demo_shows_who_sees_what() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["demo", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("peer bank-c verified it"), "{stdout}");
    // Standard output is the table alone: log lines go to standard error.
    assert!(
        !stdout.contains(" INFO ") && !stdout.contains(" WARN "),
        "{stdout}"
    );
    let row = |field: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{field} ")))
            .unwrap_or_else(|| panic!("no `{field}` row:\n{stdout}"));
        // Columns are 24 characters wide.
        line.chars()
            .collect::<Vec<_>>()
            .chunks(24)
            .map(|c| c.iter().collect::<String>().trim().to_owned())
            .collect()
    };
    // field | submitted | ledger | bank-a | bank-b | regulator
    let amount = row("amount");
    assert_eq!(amount[1], "1250000.00");
    assert!(amount[2].starts_with("commit "), "{amount:?}");
    assert_eq!(&amount[3..], ["1250000.00", "1250000.00", "1250000.00"]);
    let name = row("payer_name");
    assert!(name[2].contains("dropped"), "{name:?}");
    assert_eq!(&name[3..], ["·", "·", "·"]);
    let remittance = row("remittance");
    assert_eq!(remittance[2], "ciphertext");
    assert_eq!(
        remittance[3], "·",
        "the payer does not read the payee's remittance"
    );
    assert!(
        remittance[4].starts_with("Invoice 2026-1187"),
        "{remittance:?}"
    );
    let payee_account = row("payee_account");
    assert!(
        payee_account[2].starts_with("pseudonym "),
        "{payee_account:?}"
    );
    assert_eq!(payee_account[3], "·");
    assert!(stdout.contains(&format!("Data directory: {}", data.display())));
}

/// The gateway speaks TLS 1.3 only: a client offering TLS 1.2 alone, with a
/// valid client certificate, fails the handshake; the same client with
/// TLS 1.3 gets in.
#[tokio::test(flavor = "multi_thread")]
async fn tls_1_2_is_refused_at_the_handshake() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut o = Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        &data,
        root.path().join("log"),
    );
    o.dev = true;
    let gw = Process::start(&o).unwrap();
    let v13 = veilgate_testkit::data::client_tls(&data, "bank-a").unwrap();
    // The same roots and client certificate, TLS 1.2 only.
    let v12 = veilgate_testkit::data::client_tls_over(&data, "bank-a", &[&rustls::version::TLS12])
        .unwrap();
    let handshake = |config: Arc<rustls::ClientConfig>| {
        let addr = gw.base.trim_start_matches("https://").to_owned();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio_rustls::TlsConnector::from(config)
                .connect(
                    rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                    tcp,
                )
                .await
                .map(|_| ())
        }
    };
    let refused = handshake(v12).await;
    let e = refused.expect_err("a TLS 1.2 handshake succeeded");
    assert!(
        e.to_string().to_lowercase().contains("protocol")
            || e.to_string().to_lowercase().contains("version"),
        "{e}"
    );
    handshake(v13).await.unwrap();
    drop(gw);
}

/// A client over its rate gets 429 `rate_limited` with `Retry-After` in
/// whole seconds, at least one.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_that_asks_to_retry_says_when() {
    let root = tempfile::tempdir().unwrap();
    let data = veilgate_testkit::data::dev_data_dir(
        root.path(),
        &[(
            "max_concurrent_requests = 256",
            "max_concurrent_requests = 256\nper_identity_rate = 0.2\nper_identity_burst = 1",
        )],
    )
    .unwrap();
    let mut o = Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        &data,
        root.path().join("log"),
    );
    o.dev = true;
    let gw = Process::start(&o).unwrap();
    let ask = "GET /v1/ledgers HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(
            veilgate_testkit::data::raw_exchange(&data, &gw.base, "bank-a", ask)
                .await
                .unwrap()
                .to_lowercase(),
        );
    }
    assert!(answers[0].starts_with("http/1.1 200"), "{}", answers[0]);
    let limited = answers
        .iter()
        .find(|a| a.starts_with("http/1.1 429"))
        .unwrap_or_else(|| panic!("no 429 at 0.2 requests a second: {answers:?}"));
    assert!(limited.contains("rate_limited"), "{limited}");
    let secs: u64 = limited
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .unwrap_or_else(|| panic!("no retry-after: {limited}"))
        .trim()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&secs), "retry-after {secs}");
    drop(gw);
}

/// Every claim in the README's "Operating a gateway" section names the test
/// that proves it, and the names stay true: each test file named exists,
/// and each test function named (a `…` ends an abbreviated name) is
/// defined in one of them. A renamed or deleted test fails here.
#[test]
fn the_readme_names_an_existing_test_for_each_operating_claim() {
    let root = format!("{}/../..", env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let section = readme
        .split("\n## Operating a gateway\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has an `Operating a gateway` section");
    const DIRS: [&str; 5] = [
        "gateway/cli/tests",
        "gateway/server/tests",
        "gateway/evm/tests",
        "gateway/core/tests",
        "gateway/hsm/tests",
    ];
    let mut sources = String::new();
    for dir in DIRS {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let bullets: Vec<&str> = section.split("\n- ").skip(1).collect();
    assert!(bullets.len() >= 10, "{} bullets", bullets.len());
    for bullet in bullets {
        let head: String = bullet.chars().take(60).collect();
        // The configuration reference is a document, not a behaviour.
        if bullet.starts_with("Configuration:") {
            continue;
        }
        let names: Vec<&str> = bullet.split('`').skip(1).step_by(2).collect();
        let files: Vec<&&str> = names.iter().filter(|n| n.ends_with(".rs")).collect();
        assert!(!files.is_empty(), "no test file named for: {head}…");
        for file in files {
            let file = file.rsplit('/').next().unwrap();
            let found = DIRS
                .iter()
                .any(|d| std::path::Path::new(&format!("{root}/{d}/{file}")).exists());
            assert!(
                found,
                "README names `{file}`, which does not exist ({head}…)"
            );
        }
        // Test functions are named after "Tests" (other names there are
        // metrics, settings and commands).
        let tests = bullet.split_once("Tests").map_or("", |(_, t)| t);
        let names: Vec<&str> = tests.split('`').skip(1).step_by(2).collect();
        for name in names.iter().filter(|n| {
            let n = n.trim_end_matches('…');
            n.matches('_').count() >= 2
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            let prefix = name.trim_end_matches('…');
            let defined = sources.contains(&format!("fn {prefix}"))
                && (name.ends_with('…') || sources.contains(&format!("fn {prefix}(")));
            assert!(
                defined,
                "README names test `{name}`, which is not defined ({head}…)"
            );
        }
    }
}
