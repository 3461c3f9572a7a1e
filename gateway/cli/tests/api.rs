//! Handlers called directly, without a socket or TLS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use serde_json::json;
use veilgate_server::http::routes::route;
use veilgate_server::identity::Caller;
use veilgate_server::Gateway as AppState;

fn state() -> (tempfile::TempDir, Arc<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    veilgate_testkit::material::init(dir.path()).unwrap();
    let state = Arc::new(AppState::load(dir.path()).unwrap());
    (dir, state)
}

/// The caller a TLS connection with this institution's dev certificate yields.
fn caller(dir: &std::path::Path, cert_of: &str) -> Caller {
    use rustls::pki_types::pem::PemObject;
    let pem = dir.join("institutions").join(cert_of).join("client.pem");
    let chain: Vec<_> = rustls::pki_types::CertificateDer::pem_file_iter(pem)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    Caller::from_chain(&chain).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_statuses_and_identity() {
    let (dir, s) = state();
    let bank = |id: &str| -> Option<Caller> {
        let mut c = caller(dir.path(), if id == "bank-z" { "bank-a" } else { id });
        c.institution = id.to_owned();
        Some(c)
    };
    assert_eq!(
        route(s.clone(), None, "GET", "/v1/health", b"")
            .await
            .status,
        200
    );
    let r = route(
        s.clone(),
        None,
        "GET",
        "/v1/ledgers/interbank-settlement/policies",
        b"",
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert_eq!(
        route(s.clone(), bank("bank-a"), "GET", "/v1/nothing", b"")
            .await
            .status,
        404
    );
    assert_eq!(
        route(
            s.clone(),
            bank("bank-a"),
            "DELETE",
            "/v1/ledgers/interbank-settlement/records",
            b""
        )
        .await
        .status,
        405
    );
    let r = route(
        s.clone(),
        bank("bank-a"),
        "GET",
        "/v1/ledgers/interbank-settlement/policies",
        b"",
    )
    .await;
    assert_eq!(r.body["policies"][0]["id"], "interbank-payment");

    // An institution the directory does not list may not submit.
    let body =
        json!({"policy": "interbank-payment", "idempotency_key": "k", "record": {}}).to_string();
    let r = route(
        s.clone(),
        bank("bank-z"),
        "POST",
        "/v1/ledgers/interbank-settlement/records",
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (403, Some("not_admitted"))
    );

    // Submitted in-process; read back by id and by position.
    let sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap();
    let body = json!({"policy": "interbank-payment", "idempotency_key": "k1", "record": sample})
        .to_string();
    // bank-b may not send a payment whose payer is bank-a (`submitter`).
    let r = route(
        s.clone(),
        bank("bank-b"),
        "POST",
        "/v1/ledgers/interbank-settlement/records",
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str(), r.body["field"].as_str()),
        (422, Some("invalid_record"), Some("payer_bank")),
        "{}",
        r.body
    );
    let r = route(
        s.clone(),
        bank("bank-a"),
        "POST",
        "/v1/ledgers/interbank-settlement/records",
        body.as_bytes(),
    )
    .await;
    // No delivery worker yet: durable in the outbox, answered 202 after the ack wait.
    assert_eq!(
        (r.status, r.body["state"].as_str()),
        (202, Some("accepted")),
        "{}",
        r.body
    );
    let id = r.body["envelope_id"].as_str().unwrap().to_owned();
    let status_path = format!("/v1/ledgers/interbank-settlement/submissions/{id}");
    // Only the submitter sees its submission.
    assert_eq!(
        route(s.clone(), bank("bank-c"), "GET", &status_path, b"")
            .await
            .status,
        404
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(veilgate_server::write::delivery::run(
        Arc::new(s.deliverer()),
        stop_rx,
    ));
    let mut delivered = None;
    for _ in 0..500 {
        let st = route(s.clone(), bank("bank-a"), "GET", &status_path, b"").await;
        if st.body["state"] == "on_ledger" {
            delivered = Some(st.body);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let delivered = delivered.expect("the worker delivers the outbox");
    assert_eq!(delivered["sequence"], 0);
    stop_tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), worker)
        .await
        .expect("the delivery worker stops within 10 s of its stop signal")
        .unwrap();
    let by_id = route(
        s.clone(),
        bank("bank-c"),
        "GET",
        &format!("/v1/ledgers/interbank-settlement/envelopes/{id}"),
        b"",
    )
    .await;
    let by_seq = route(
        s.clone(),
        bank("bank-c"),
        "GET",
        "/v1/ledgers/interbank-settlement/entries/0",
        b"",
    )
    .await;
    assert_eq!(by_id.body, by_seq.body);
    assert_eq!(by_id.body["view"]["submitter"], "bank-a");
    let bad = route(
        s.clone(),
        bank("bank-c"),
        "GET",
        "/v1/ledgers/interbank-settlement/envelopes/zz",
        b"",
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["field"].as_str()),
        (400, Some("envelope_id"))
    );
}

/// Every route the handler serves is in the OpenAPI document kept in the repo,
/// with its method, and the document lists no route the handler lacks.
#[test]
fn the_openapi_document_matches_the_routes() {
    let doc = veilgate_server::http::routes::OPENAPI;
    let mut documented = std::collections::BTreeSet::new();
    let mut path = None;
    for line in doc.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let (Some(p), Some(m)) = (
            &path,
            line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')),
        ) {
            if ["get", "post", "put", "delete"].contains(&m) {
                documented.insert((m.to_uppercase(), p.clone()));
            }
        }
    }
    let served: std::collections::BTreeSet<(String, String)> =
        veilgate_server::http::routes::ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
    assert_eq!(documented, served);
}

/// A caller whose certificate chains to no CA of the ledger is refused, even
/// when its name is a member (the handshake accepts any served ledger's CA).
#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_from_another_ledgers_ca_is_refused() {
    let (_dir, s) = state();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "bank-a");
    let cert = p.self_signed(&key).unwrap();
    let caller = Caller::from_chain(&[cert.der().clone()]).unwrap();
    assert_eq!(caller.institution, "bank-a");
    let r = route(
        s,
        Some(caller),
        "GET",
        "/v1/ledgers/interbank-settlement/policies",
        b"",
    )
    .await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("wrong_ca")));
}
