//! What operators' tools meet at the HTTP surface. Metric labels come from
//! a fixed set: a thousand requests to paths (and methods) nobody serves
//! leave the number of series on `/metrics` as it was, so an outsider
//! cannot grow the gateway's memory by inventing URLs. A 405 says, in
//! `Allow`, which methods the path takes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

use veilgate_client::Client;
use veilgate_testkit::process::{Options, Process};

/// A gateway on fresh development material in `root/data`, with the
/// observability listener at `observability` if given.
fn start_dev(root: &std::path::Path, observability: Option<&str>) -> (Process, std::path::PathBuf) {
    let data = root.join("data");
    let mut o = Options::new(env!("CARGO_BIN_EXE_veilgate"), &data, root.join("log"));
    o.dev = true;
    o.listen_observability = observability.map(str::to_owned);
    (Process::start(&o).unwrap(), data)
}

/// The series (metric name and labels, without the value) of a scrape.
async fn series(c: &Client) -> BTreeSet<String> {
    let (status, body) = c.request("GET", "/metrics", None).await.unwrap();
    assert_eq!(status, 200);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_and_methods_do_not_grow_the_metric_series() {
    let root = tempfile::tempdir().unwrap();
    // Rate limits out of the way: a 429 would be a new (bounded) status.
    let data = veilgate_testkit::data::dev_data_dir(
        root.path(),
        &[(
            "max_concurrent_requests = 256",
            "max_concurrent_requests = 256\nper_identity_rate = 100000.0\nper_identity_burst = 100000",
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
    let c = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let mut conn = c.connect().await.unwrap();

    // One of each kind first, so each kind's series exists: a scrape (it is
    // counted after it answers), an unknown path, an unknown method.
    series(&c).await;
    let (status, _) = conn.request("GET", "/random-0", None).await.unwrap();
    assert_eq!(status, 404);
    let (status, _) = conn.request("PURGE", "/random-0", None).await.unwrap();
    assert_eq!(status, 404);
    let before = series(&c).await;
    assert!(
        before.iter().any(|s| s.contains("route=\"GET unmatched\"")),
        "{before:?}"
    );

    for i in 1..=1000 {
        let method = if i % 2 == 0 { "GET" } else { "PURGE" };
        let path = format!("/random-{i}/{}", "x".repeat(i % 7));
        let (status, _) = conn.request(method, &path, None).await.unwrap();
        assert_eq!(status, 404, "{method} {path}");
    }
    let after = series(&c).await;
    assert_eq!(before, after, "new series appeared");
    assert!(!after.iter().any(|s| s.contains("random")), "{after:?}");
    drop(gw);
}

/// One raw HTTP/1.1 request over the gateway's TLS as bank-a; the answer's
/// head (status line and headers), lower-cased.
/// The head of the gateway's answer to a raw request as bank-a, lower case.
async fn head_of(data: &std::path::Path, base: &str, request: &str) -> String {
    let text = veilgate_testkit::data::raw_exchange(data, base, "bank-a", request)
        .await
        .unwrap()
        .to_lowercase();
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_405_names_the_methods_the_path_takes() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start_dev(root.path(), None);
    let ask = |method: &str, path: &str| {
        format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    };
    let ledger = veilgate_testkit::material::DEV_LEDGER;
    for (method, path, allow) in [
        (
            "DELETE",
            format!("/v1/ledgers/{ledger}/records"),
            "allow: post",
        ),
        ("GET", format!("/v1/ledgers/{ledger}/verify"), "allow: post"),
        (
            "PUT",
            format!("/v1/ledgers/{ledger}/sets"),
            "allow: get, post",
        ),
        (
            "POST",
            format!("/v1/ledgers/{ledger}/envelopes/00"),
            "allow: get",
        ),
    ] {
        let head = head_of(&data, &gw.base, &ask(method, &path)).await;
        assert!(head.starts_with("http/1.1 405"), "{method} {path}: {head}");
        assert!(
            head.lines().any(|l| l.trim() == allow),
            "{method} {path}: {head}"
        );
    }
    // A route that exists answers without `Allow`.
    let head = head_of(&data, &gw.base, &ask("GET", "/v1/health")).await;
    assert!(
        head.starts_with("http/1.1 200") && !head.contains("allow:"),
        "{head}"
    );
    drop(gw);
}

/// Every answer names its request: the caller's own `X-Request-Id` when it
/// is a plain token, else a fresh one (a value that could forge a log line
/// is not taken).
#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_a_request_id() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start_dev(root.path(), None);
    let ask = |id: &str| {
        format!("GET /v1/health HTTP/1.1\r\nhost: localhost\r\nx-request-id: {id}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    };
    let id_of = |head: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .unwrap_or_else(|| panic!("no x-request-id: {head}"))
            .trim()
            .to_owned()
    };
    let head = head_of(&data, &gw.base, &ask("trace-7.a_b")).await;
    assert_eq!(id_of(&head), "trace-7.a_b");
    for bad in ["a b", "x=1", &"a".repeat(65)] {
        let head = head_of(&data, &gw.base, &ask(bad)).await;
        let id = id_of(&head);
        assert!(
            id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{bad:?} → {id}"
        );
    }
    drop(gw);
}

/// A submission may pin a published policy version; an unpublished one is
/// refused naming those that are, and a malformed one names the member.
#[tokio::test(flavor = "multi_thread")]
async fn a_submission_pins_a_policy_version() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start_dev(root.path(), None);
    let c = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let ledger = veilgate_testkit::material::DEV_LEDGER;
    let record: serde_json::Value = serde_json::from_str(veilgate_policies::SAMPLES[0].1).unwrap();
    let path = format!("/v1/ledgers/{ledger}/records");
    let post = |version: serde_json::Value, key: &str| {
        let body = serde_json::json!({
            "policy": "interbank-payment",
            "version": version,
            "idempotency_key": key,
            "record": record,
        });
        let (c, path) = (&c, &path);
        async move {
            let (status, body) = c
                .request("POST", path, Some(body.to_string().into_bytes()))
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            (status, body)
        }
    };
    let (status, body) = post(3.into(), "pinned-1").await;
    assert!(status == 201 || status == 202, "{body}");
    let (status, body) = post(9.into(), "pinned-2").await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (404, Some("unknown_policy_version"), Some("version")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("published: 3"),
        "{body}"
    );
    for bad in [serde_json::json!("3"), 0.into(), (-1).into(), 1.5.into()] {
        let (status, body) = post(bad.clone(), "pinned-3").await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some("version")),
            "{bad}: {body}"
        );
    }
    drop(gw);
}

/// One plain HTTP/1.1 GET; the status code and the body.
async fn plain_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A load balancer's probe and a Prometheus scraper reach health,
/// readiness and metrics over plain HTTP on their own listener, with no
/// client certificate; nothing of the API is served there.
#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_metrics_are_scraped_over_plain_http() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start_dev(root.path(), Some("127.0.0.1:0"));
    let base = gw
        .observability_base
        .clone()
        .expect("an observability listener");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let (status, body) = plain_get(&base, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = plain_get(&base, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ready""#), "{body}");
    // Traffic on the API shows in the scrape.
    let c = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let (status, _) = c.request("GET", "/v1/health", None).await.unwrap();
    assert_eq!(status, 200);
    let (status, body) = plain_get(&base, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("veilgate_outbox_depth"), "{body}");
    assert!(
        body.contains(r#"veilgate_requests_total{route="GET /v1/health",status="200"} 1"#),
        "{body}"
    );
    // Not the API.
    for path in [
        "/v1/health",
        "/v1/ledgers/interbank-settlement/policies",
        "/",
    ] {
        let (status, _) = plain_get(&base, path).await;
        assert_eq!(status, 404, "{path}");
    }
    drop(gw);
}

/// Shell completions and man pages come from the command definitions, so
/// they name every command an operator has.
#[test]
fn completions_and_man_pages_cover_every_command() {
    let veilgate = env!("CARGO_BIN_EXE_veilgate");
    for shell in ["bash", "zsh", "fish"] {
        let out = std::process::Command::new(veilgate)
            .args(["completions", shell])
            .output()
            .unwrap();
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}");
        for word in ["serve", "follow", "ceremony", "publish", "listen-sm"] {
            assert!(script.contains(word), "{shell} completions lack `{word}`");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(veilgate)
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "veilgate.1",
        "veilgate-serve.1",
        "veilgate-set-publish.1",
        "veilgate-policy-check.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let serve = std::fs::read_to_string(dir.path().join("veilgate-serve.1")).unwrap();
    assert!(serve.contains("listen\\-observability"), "{serve}");
}
