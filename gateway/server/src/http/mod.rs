//! The HTTPS shell: TLS 1.3 with client certificates (rustls, ring), HTTP/1.1
//! (hyper), and the request stack in [`handle`], top down. Everything about
//! the network is here; [`routes`] holds the handlers, [`auth`] the
//! per-request admission, [`error`] the mapping of failures to status.

pub mod admission;
pub mod auth;
pub mod error;
pub mod observe;
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

/// The rustls provider of a suite's TLS: `standard` is ring's TLS 1.3
/// suites and groups; `sm` is RFC 8998 alone (`TLS_SM4_GCM_SM3`,
/// curveSM2, sm2sig_sm3), so an SM connection is SM end to end or fails.
pub fn tls_provider(suite: &str) -> rustls::crypto::CryptoProvider {
    if suite == "sm" {
        veilgate_tls_sm::provider()
    } else {
        rustls::crypto::ring::default_provider()
    }
}

/// Server TLS of one listener: only TLS 1.3 with the suite's provider, and
/// a client certificate chaining to a CA of one of the served ledgers of
/// that suite is required at the handshake (expired ones too are refused
/// there). Which ledger it may act on is checked per request. The `sm`
/// listener presents the `[tls_sm]` SM2 certificate.
pub fn tls_config(
    state: &Gateway,
    suite: veilgate_core::SuiteId,
) -> Result<Arc<rustls::ServerConfig>, StartError> {
    let provider = Arc::new(tls_provider(suite.name()));
    let mut roots = rustls::RootCertStore::empty();
    for ls in state
        .ledgers
        .values()
        .filter(|ls| ls.trust.directory.suite == suite.name())
    {
        for c in &ls.ca_certs {
            roots.add(c.clone()).map_err(start("CA certificate"))?;
        }
    }
    let (cert, key) = match (suite, &state.config.tls_sm) {
        (veilgate_core::SuiteId::Sm, Some(sm)) => (&sm.cert, &sm.key),
        (veilgate_core::SuiteId::Sm, None) => {
            return Err(StartError::Tls(
                "an SM listener needs a [tls_sm] section with its SM2 certificate and key".into(),
            ))
        }
        _ => (&state.config.tls.cert, &state.config.tls.key),
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(start("TLS"))?;
    // A listener with no ledger of its suite admits nobody to a ledger;
    // it still answers health probes.
    let builder = if roots.is_empty() {
        builder.with_client_cert_verifier(WebPkiClientVerifier::no_client_auth())
    } else {
        let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(start("client verifier"))?;
        builder.with_client_cert_verifier(Arc::new(AuditedVerifier {
            inner,
            refusals: state.refusals.clone(),
        }))
    };
    let dir = &state.data_dir;
    let certs = CertificateDer::pem_file_iter(dir.join(cert))
        .map_err(start(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(start(cert))?;
    let key_der = PrivateKeyDer::from_pem_file(dir.join(key)).map_err(start(key))?;
    let config = builder
        .with_single_cert(certs, key_der)
        .map_err(start("server certificate"))?;
    Ok(Arc::new(config))
}

/// Whether a listener's certificate and key (paths relative to the data
/// directory) load and match, as `suite`'s TLS takes them: what
/// [`tls_config`] needs, checked without a running gateway.
pub fn check_server_certificate(
    data_dir: &std::path::Path,
    cert: &str,
    key: &str,
    suite: &str,
) -> Result<(), StartError> {
    let certs = CertificateDer::pem_file_iter(data_dir.join(cert))
        .map_err(start(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(start(cert))?;
    let key_der = PrivateKeyDer::from_pem_file(data_dir.join(key)).map_err(start(key))?;
    rustls::ServerConfig::builder_with_provider(Arc::new(tls_provider(suite)))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(start("TLS"))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(start("server certificate"))?;
    Ok(())
}

/// The consortium's client-certificate check, with every refusal audited:
/// the subject and issuer of what was presented go into the audit log, so a
/// supervisor sees who tried to get in with what.
#[derive(Debug)]
struct AuditedVerifier {
    inner: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    refusals: Arc<crate::audit::refusals::Refusals>,
}

impl rustls::server::danger::ClientCertVerifier for AuditedVerifier {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(e) = &verdict {
            let (subject, issuer) = crate::identity::describe(end_entity);
            self.refusals.record(
                crate::audit::refusals::Refusal {
                    actor: "-".into(),
                    ledger: None,
                    reason: "certificate_refused".into(),
                    detail: format!("subject={subject} issuer={issuer} error={e}"),
                },
                crate::clock::now_ms(),
            );
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
}

fn is_certificate_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_)))
}

fn handshake_refused(state: &Gateway, reason: &str, detail: String) {
    state.refusals.record(
        crate::audit::refusals::Refusal {
            actor: "-".into(),
            ledger: None,
            reason: reason.into(),
            detail,
        },
        crate::clock::now_ms(),
    );
}

/// Serves until `shutdown` resolves; then stops accepting and lets open
/// connections finish their current request.
pub async fn serve(
    state: Arc<Gateway>,
    tls: Arc<rustls::ServerConfig>,
    suite: veilgate_core::SuiteId,
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
                conns.spawn(async move { connection(state, acceptor, suite, permits, tcp, peer).await });
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
    suite: veilgate_core::SuiteId,
    permits: Arc<tokio::sync::Semaphore>,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::warn!(%peer, error = %e, "TLS handshake refused");
            state.metrics.rejection("tls_handshake");
            // A refused certificate was audited, with its subject and
            // issuer, by the verifier; this is every other failure.
            if !is_certificate_error(&e) {
                handshake_refused(&state, "tls_handshake", format!("peer={peer} error={e}"));
            }
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake timed out");
            state.metrics.rejection("tls_handshake_timeout");
            handshake_refused(&state, "tls_handshake_timeout", format!("peer={peer}"));
            return;
        }
    };
    let caller = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(Caller::from_chain)
        .map(|c| c.over(suite));
    let header_timeout = Duration::from_millis(state.limits().header_read_timeout_ms);
    let service = hyper::service::service_fn(move |req| {
        handle(state.clone(), caller.clone(), permits.clone(), req)
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
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

/// What the request's headers announce, judged before any body is read:
/// a body too large is refused at once, and so is any `Transfer-Encoding`
/// (chunked): its chunk sizes are read inside hyper, out of our sight, so a
/// chunk announcing 2^64−1 bytes could only be cut by the body timeout.
/// Every client of this API sends `Content-Length`.
fn judge_headers(req: &Request<Incoming>, limit: usize) -> Result<(), ApiError> {
    if req.headers().contains_key(hyper::header::TRANSFER_ENCODING) {
        return Err(ApiError::new(
            411,
            "length_required",
            "request bodies must be sent with Content-Length; Transfer-Encoding is refused",
        )
        .field("transfer-encoding"));
    }
    let lengths: Vec<_> = req
        .headers()
        .get_all(hyper::header::CONTENT_LENGTH)
        .iter()
        .collect();
    for v in lengths {
        let n = v.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok());
        match n {
            Some(n) if n <= limit as u64 => {}
            // A body that fits in the drain is read and discarded before the
            // 413 (in [`read_body`]), so that a client still writing it sees
            // the answer rather than a reset — unless it asked first
            // (`Expect: 100-continue`) and so sends nothing until answered.
            Some(n) if n <= MAX_DRAIN_BYTES as u64 && !expects_continue(req) => {}
            Some(_) => {
                return Err(ApiError::new(
                    413,
                    "body_too_large",
                    format!("Content-Length exceeds the limit of {limit} bytes"),
                )
                .field("content-length"))
            }
            None => {
                return Err(
                    ApiError::new(400, "bad_body", "Content-Length is not a number")
                        .field("content-length"),
                )
            }
        }
    }
    Ok(())
}

fn expects_continue(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(hyper::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// The request stack, top down: what the headers announce, the caller's
/// fair share (429), a global slot (429 after `queue_wait_ms`), the body
/// within `body_read_timeout_ms` (408), then the route — all within
/// `request_timeout_ms` (503).
async fn admit_and_route(
    state: &Arc<Gateway>,
    caller: Option<Caller>,
    permits: Arc<tokio::sync::Semaphore>,
    req: Request<Incoming>,
    limits: &crate::boot::Limits,
    method: &str,
    path: &str,
) -> ApiResponse {
    if let Err(e) = judge_headers(&req, limits.max_body_bytes) {
        state.metrics.rejection(e.code);
        return ApiResponse::from(e).closing();
    }
    // The path with its query, as the request line gave it (route splits it).
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned());
    let who = caller.as_ref().map_or("-", |c| c.institution.as_str());
    let _ticket = match state.admission.enter(who, Instant::now()) {
        Ok(t) => t,
        Err(refused) => {
            let e = ApiError::new(
                429,
                refused.code(),
                format!(
                    "`{who}` has more requests in progress or per second than its share; retry later"
                ),
            )
            .retry_after(refused.retry_after_secs());
            return refuse(state, caller.as_ref(), method, path, e);
        }
    };
    let work = async {
        let queue_wait = Duration::from_millis(limits.queue_wait_ms);
        let Ok(Ok(_permit)) = tokio::time::timeout(queue_wait, permits.acquire()).await else {
            let e = ApiError::new(
                429,
                "busy",
                "every request slot of the gateway is taken; retry later",
            )
            .retry_after(1);
            return refuse(state, caller.as_ref(), method, path, e);
        };
        let body_wait = Duration::from_millis(limits.body_read_timeout_ms);
        let body = match tokio::time::timeout(
            body_wait,
            read_body(req.into_body(), limits.max_body_bytes),
        )
        .await
        {
            Ok(Ok(body)) => body,
            Ok(Err(413)) => {
                return ApiResponse::from(ApiError::new(
                    413,
                    "body_too_large",
                    format!("request body exceeds {} bytes", limits.max_body_bytes),
                ))
                .closing()
            }
            Ok(Err(_)) => {
                return ApiError::new(400, "bad_body", "the request body could not be read").into()
            }
            Err(_) => {
                state.metrics.rejection("body_timeout");
                return ApiResponse::from(ApiError::new(
                    408,
                    "body_timeout",
                    format!(
                        "the request body did not arrive within {} ms",
                        limits.body_read_timeout_ms
                    ),
                ))
                .closing();
            }
        };
        routes::route(state.clone(), caller.clone(), method, &target, &body).await
    };
    match tokio::time::timeout(Duration::from_millis(limits.request_timeout_ms), work).await {
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
    }
}

/// The header naming a request, in both directions.
const REQUEST_ID: &str = "x-request-id";

/// The request's id: the caller's `X-Request-Id` when it is a plain token
/// (1–64 of `A-Z a-z 0-9 . _ -`, so it cannot forge log lines), else 16
/// random hex digits.
fn request_id(given: Option<&hyper::header::HeaderValue>) -> String {
    let plain = |v: &&str| {
        (1..=64).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    match given.and_then(|v| v.to_str().ok()).filter(plain) {
        Some(v) => v.to_owned(),
        None => {
            let mut id = [0u8; 8];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
            hex::encode(id)
        }
    }
}

/// A refused admission: counted, audited (within the rate limit), answered.
fn refuse(
    state: &Gateway,
    caller: Option<&Caller>,
    method: &str,
    path: &str,
    e: ApiError,
) -> ApiResponse {
    state.metrics.rejection(e.code);
    state.refusals.record(
        crate::audit::refusals::Refusal {
            actor: caller.map_or_else(|| "-".into(), |c| c.institution.clone()),
            ledger: None,
            reason: e.code.to_owned(),
            detail: format!(
                "route={}",
                routes::route_name(method, path)
                    .chars()
                    .take(256)
                    .collect::<String>()
            ),
        },
        crate::clock::now_ms(),
    );
    e.into()
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
    let request_id = request_id(req.headers().get(REQUEST_ID));
    // Every line logged while the request is handled carries its id, so an
    // error body's `request_id` finds them in the log.
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut resp = tracing::Instrument::instrument(
        admit_and_route(&state, caller, permits, req, &limits, &method, &path),
        span.clone(),
    )
    .await;
    let elapsed = started.elapsed();
    state.metrics.request(
        &routes::route_label(&method, &path),
        resp.status,
        elapsed.as_secs_f64(),
    );
    // Method, path, caller, status and time only: bodies hold customer data.
    span.in_scope(|| tracing::info!(%method, %path, caller = %who, status = resp.status, ms = elapsed.as_millis() as u64, "request"));
    if resp.status >= 400 {
        if let Some(body) = resp.body.as_object_mut() {
            body.insert("request_id".into(), request_id.clone().into());
        }
    }
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
    if resp.close {
        out.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    if let Ok(v) = hyper::header::HeaderValue::from_str(&request_id) {
        out.headers_mut().insert(REQUEST_ID, v);
    }
    if let Some(allow) = resp
        .allow
        .as_deref()
        .and_then(|a| hyper::header::HeaderValue::from_str(a).ok())
    {
        out.headers_mut().insert(hyper::header::ALLOW, allow);
    }
    if let Some(secs) = resp.retry_after {
        out.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(secs),
        );
    }
    Ok(out)
}
