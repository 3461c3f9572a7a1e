//! The observability listener: plain HTTP for a load balancer's probes and
//! a Prometheus scraper, which hold no client certificate. It serves three
//! read-only paths and nothing of the API:
//!
//! - `GET /healthz` — liveness: the process answers (200).
//! - `GET /readyz` — readiness: 200 once the gateway has loaded its keys,
//!   policies and ledgers (it serves only then) and its store (the outbox)
//!   answers; 503 naming what does not. A ledger that is down does not make
//!   the gateway unready: records wait in the outbox.
//! - `GET /metrics` — the Prometheus text of `/metrics`.
//!
//! Bind it to loopback or a management network (`[observability] listen`):
//! request counts by route are traffic another member should not see.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use crate::boot::Gateway;

/// Serves the three paths until `shutdown` resolves.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let gw = gw.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let gw = gw.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&gw, &req)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(10))
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        }
    }
}

fn answer(gw: &Gateway, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (req.method().as_str(), req.uri().path()) {
        ("GET", "/healthz") => (200, "application/json", json!({"status": "ok"}).to_string()),
        ("GET", "/readyz") => match gw.store.outbox_depth() {
            Ok(depth) => (
                200,
                "application/json",
                json!({"status": "ready", "outbox_depth": depth}).to_string(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the store does not answer");
                (
                    503,
                    "application/json",
                    json!({"status": "not_ready", "reason": "the store (outbox) does not answer"})
                        .to_string(),
                )
            }
        },
        ("GET", "/metrics") => (
            200,
            "text/plain; version=0.0.4",
            gw.metrics.render(gw.store.outbox_depth().unwrap_or(0)),
        ),
        _ => (
            404,
            "application/json",
            json!({"code": "not_found", "message": "this listener serves /healthz, /readyz and /metrics"})
                .to_string(),
        ),
    };
    let mut out = Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    out
}
