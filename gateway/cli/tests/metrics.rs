//! Metric labels come from a fixed set: a thousand requests to paths (and
//! methods) nobody serves leave the number of series on `/metrics` as it
//! was, so an outsider cannot grow the gateway's memory by inventing URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use veilgate_client::Client;
use veilgate_testkit::process::{Options, Process};

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
