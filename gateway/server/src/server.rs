//! The HTTPS shell: TLS 1.3 with client certificates (rustls, ring), HTTP/1.1
//! (hyper), and the handlers in `api`. Everything about the network is here.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use crate::api::{self, ApiError, Caller};
use crate::state::{AppState, StartError};

/// Largest request body accepted (a record is a few KiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
/// Answering at once and closing would reset the connection while the client
/// is still writing, and the client would never see the 413.
const MAX_DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// A client must finish the TLS handshake within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn start<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> StartError + '_ {
    move |e| StartError::Config(format!("{what}: {e}"))
}

/// Server TLS: only TLS 1.3, and a client certificate chaining to the
/// consortium CA is required at the handshake — no certificate, no connection.
pub fn tls_config(data_dir: &Path) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in
        CertificateDer::pem_file_iter(data_dir.join("ca/ca.pem")).map_err(start("ca/ca.pem"))?
    {
        roots
            .add(c.map_err(start("ca/ca.pem"))?)
            .map_err(start("ca/ca.pem"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(start("client verifier"))?;
    let certs = CertificateDer::pem_file_iter(data_dir.join("tls/server.pem"))
        .map_err(start("tls/server.pem"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(start("tls/server.pem"))?;
    let key = PrivateKeyDer::from_pem_file(data_dir.join("tls/server.key.pem"))
        .map_err(start("tls/server.key.pem"))?;
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
    state: Arc<AppState>,
    tls: Arc<rustls::ServerConfig>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                conns.spawn(async move { connection(state, acceptor, tcp, peer).await });
            }
        }
    }
    tracing::info!("shutting down: no new connections; finishing open ones");
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(30), drain).await;
}

async fn connection(
    state: Arc<AppState>,
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake timed out");
            return;
        }
    };
    // Identity: the admitted institution whose certificate this is.
    let caller = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| {
            state
                .admitted
                .get(&<[u8; 32]>::from(Sha256::digest(leaf.as_ref())))
        })
        .map(|id| Caller {
            institution: id.clone(),
        });
    let service = hyper::service::service_fn(move |req| handle(state.clone(), caller.clone(), req));
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Reads a body of at most [`MAX_BODY_BYTES`]; a larger one is drained (up to
/// [`MAX_DRAIN_BYTES`]) and refused with 413.
async fn read_body(mut body: Incoming) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return Err(400) };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > MAX_DRAIN_BYTES {
                break;
            }
            if seen <= MAX_BODY_BYTES {
                buf.extend_from_slice(&data);
            }
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(413);
    }
    Ok(buf)
}

async fn handle(
    state: Arc<AppState>,
    caller: Option<Caller>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let who = caller
        .as_ref()
        .map_or("-", |c| c.institution.as_str())
        .to_owned();
    let resp = match read_body(req.into_body()).await {
        Ok(body) => api::route(state, caller, &method, &path, &body).await,
        Err(status) => ApiError {
            status,
            code: if status == 413 {
                "body_too_large"
            } else {
                "bad_body"
            },
            message: if status == 413 {
                format!("request body exceeds {MAX_BODY_BYTES} bytes")
            } else {
                "the request body could not be read".to_owned()
            },
            field: None,
        }
        .into(),
    };
    // Method, path, caller, status and time only: bodies hold customer data.
    tracing::info!(%method, %path, caller = %who, status = resp.status, ms = started.elapsed().as_millis() as u64, "request");
    let mut out = Response::new(Full::new(Bytes::from(resp.body.to_string())));
    *out.status_mut() = hyper::StatusCode::from_u16(resp.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    out.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(out)
}
