//! The HTTPS shell: TLS 1.3 with client certificates (rustls, ring), HTTP/1.1
//! (hyper), and the request stack in [`handle`], top down. Everything about
//! the network is here; [`routes`] holds the handlers, [`auth`] the
//! per-request admission, [`error`] the mapping of failures to status.

pub mod auth;
pub mod error;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;

use self::error::{ApiError, ApiResponse};
use crate::boot::{Gateway, StartError};
use crate::identity::Caller;

/// How much of an oversized body is read and discarded before answering 413.
/// Answering at once and closing would reset the connection while the client
/// is still writing, and the client would never see the 413.
const MAX_DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// A client must finish the TLS handshake within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn start<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StartError + '_ {
    move |e| StartError::Tls(format!("{what}: {e}"))
}

/// Server TLS: only TLS 1.3, and a client certificate chaining to a CA of one
/// of the served ledgers is required at the handshake (expired ones too are
/// refused there). Which ledger it may act on is checked per request.
pub fn tls_config(state: &Gateway) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ls in state.ledgers.values() {
        for c in &ls.ca_certs {
            roots.add(c.clone()).map_err(start("CA certificate"))?;
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(start("client verifier"))?;
    let dir = &state.data_dir;
    let cert_path = dir.join(&state.config.tls.cert);
    let key_path = dir.join(&state.config.tls.key);
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .map_err(start(&state.config.tls.cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(start(&state.config.tls.cert))?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(start(&state.config.tls.key))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(start("TLS"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(start("server certificate"))?;
    Ok(Arc::new(config))
}

/// Serves until `shutdown` resolves; then stops accepting and lets open
/// connections finish their current request.
pub async fn serve(
    state: Arc<Gateway>,
    tls: Arc<rustls::ServerConfig>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let permits = Arc::new(tokio::sync::Semaphore::new(
        state.limits().max_concurrent_requests.max(1),
    ));
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let (acceptor, state, permits) = (acceptor.clone(), state.clone(), permits.clone());
                conns.spawn(async move { connection(state, acceptor, permits, tcp, peer).await });
            }
        }
    }
    tracing::info!("shutting down: no new connections; finishing open ones");
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(30), drain).await;
}

async fn connection(
    state: Arc<Gateway>,
    acceptor: tokio_rustls::TlsAcceptor,
    permits: Arc<tokio::sync::Semaphore>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "TLS handshake refused");
            state.metrics.rejection("tls_handshake");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let caller = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(Caller::from_chain);
    let service = hyper::service::service_fn(move |req| {
        handle(state.clone(), caller.clone(), permits.clone(), req)
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Reads a body of at most `limit` bytes; a larger one is drained (up to
/// [`MAX_DRAIN_BYTES`]) and refused with 413.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(400) };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > MAX_DRAIN_BYTES {
                break;
            }
            if seen <= limit {
                buf.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        return Err(413);
    }
    Ok(buf)
}

async fn handle(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    permits: Arc<tokio::sync::Semaphore>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let who = caller
        .as_ref()
        .map_or("-", |c| c.institution.as_str())
        .to_owned();
    let limits = state.limits().clone();
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let work = async {
        // Concurrency limit: wait for a slot, within the request's time budget.
        let _permit = permits.acquire().await;
        match read_body(req.into_body(), limits.max_body_bytes).await {
            Ok(body) => routes::route(state.clone(), caller, &method, &path, &body).await,
            Err(status) => {
                let e = if status == 413 {
                    ApiError::new(
                        413,
                        "body_too_large",
                        format!("request body exceeds {} bytes", limits.max_body_bytes),
                    )
                } else {
                    ApiError::new(400, "bad_body", "the request body could not be read")
                };
                e.into()
            }
        }
    };
    let resp: ApiResponse = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            let mut e = ApiError::new(
                503,
                "timeout",
                "the gateway could not answer in time; retry with the same idempotency key",
            );
            e.retry_after = Some(1);
            e.into()
        }
    };
    let elapsed = started.elapsed();
    state.metrics.request(
        &routes::route_name(&method, &path),
        resp.status,
        elapsed.as_secs_f64(),
    );
    // Method, path, caller, status and time only: bodies hold customer data.
    tracing::info!(%method, %path, caller = %who, status = resp.status, ms = elapsed.as_millis() as u64, "request");
    let (content_type, body) = match resp.raw {
        Some((ct, text)) => (ct, text),
        None => ("application/json", resp.body.to_string()),
    };
    let mut out = Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() = hyper::StatusCode::from_u16(resp.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    if let Some(secs) = resp.retry_after {
        out.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(secs),
        );
    }
    Ok(out)
}
