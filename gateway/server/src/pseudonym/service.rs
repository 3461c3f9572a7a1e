//! `veilgate pseudonym-service`: evaluates members' blinded pseudonym
//! inputs over mTLS under keys no member holds. It never sees a value:
//! only blinded points, which carry no information about them. Each
//! request is checked (a member of the ledger, an epoch this service
//! holds, valid elements, within the member's budget), evaluated with a
//! batched VOPRF proof against the key the directory publishes, and
//! audited in the service's own hash-chained log (never an element).
//!
//! Its own small HTTP stack: it must answer nothing but its two routes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::net::TcpListener;
use veilgate_core::{Directory, LedgerDirectory};
use veilgate_pseudonym::{Evaluator, MAX_BATCH};

use super::budget::{Allowance, Budget};
use super::wire::{self, EvaluateRequest, EvaluateResponse};
use crate::audit::{Action, AuditEvent};
use crate::clock::now_ms;
use crate::http::error::ApiError;
use crate::identity::Caller;
use crate::store::Store;

/// The service's configuration file in its data directory.
pub const SERVICE_CONFIG_FILE: &str = "pseudonym-service.toml";
/// A request body is a list of at most [`MAX_BATCH`] hex elements.
const MAX_BODY_BYTES: usize = 64 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `pseudonym-service.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Format version of this file: 1.
    pub version: u32,
    /// Address to listen on. Default `127.0.0.1:8450`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The member institution running this service, as the directory's
    /// `pseudonyms.services[].operator` names it.
    pub operator: String,
    /// The consortium directory. Default `consortium.json`.
    #[serde(default = "default_directory")]
    pub directory: String,
    /// The hash-chained audit log. Default `pseudonym-service.redb`.
    #[serde(default = "default_audit")]
    pub audit: String,
    /// Revoked certificates and institutions, in the gateway's format
    /// (docs/configuration.md), re-read on change. Default
    /// `revocations.json`; a missing file revokes nothing.
    #[serde(default = "default_revocations")]
    pub revocations: String,
    pub tls: ServiceTls,
    pub budget: BudgetConfig,
    /// The keys (or shares) it evaluates under, one per ledger and epoch.
    #[serde(rename = "key")]
    pub keys: Vec<KeyConfig>,
}

/// The service's certificate, and the CAs whose client certificates it admits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTls {
    pub cert: String,
    pub key: String,
    pub client_ca: Vec<String>,
}

/// Elements per member per ledger.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub per_member_per_day: u64,
    /// Elements a member may spend at once. Default: an hour's worth.
    #[serde(default)]
    pub burst: Option<u64>,
}

/// One key file: a ristretto255 scalar, 64 hex digits, mode 0600.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub ledger: String,
    pub epoch: u32,
    pub file: String,
}

fn default_listen() -> String {
    "127.0.0.1:8450".into()
}
fn default_directory() -> String {
    "consortium.json".into()
}
fn default_audit() -> String {
    "pseudonym-service.redb".into()
}
fn default_revocations() -> String {
    "revocations.json".into()
}

/// Why the service did not start: names the file or entry and the rule.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

fn fail<E: std::fmt::Display>(what: impl std::fmt::Display) -> impl FnOnce(E) -> ServiceError {
    move |e| ServiceError(format!("{what}: {e}"))
}

/// A running service's state.
pub struct Service {
    config: ServiceConfig,
    directory: Directory,
    /// (ledger, epoch) → the key, and the share index it answers as.
    keys: BTreeMap<(String, u32), (u32, Evaluator)>,
    budget: Mutex<Budget>,
    store: Store,
    revocations: crate::revocation::Revocations,
}

impl Service {
    /// Loads and checks everything: the directory names this operator as a
    /// service of each keyed ledger, and every key's public key is the one
    /// the directory publishes for its epoch (a service that would prove
    /// against another key does not start).
    pub fn load(data: &Path) -> Result<Service, ServiceError> {
        let path = data.join(SERVICE_CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(fail(path.display()))?;
        let config: ServiceConfig = toml::from_str(&text).map_err(fail(path.display()))?;
        if config.version != 1 {
            return Err(ServiceError(format!(
                "{}: version {} is not supported (this build reads version 1)",
                path.display(),
                config.version
            )));
        }
        let dpath = data.join(&config.directory);
        let directory =
            Directory::from_json(&std::fs::read_to_string(&dpath).map_err(fail(dpath.display()))?)
                .map_err(fail(dpath.display()))?;
        let mut keys = BTreeMap::new();
        for k in &config.keys {
            let (index, evaluator) = load_key(data, &config.operator, &directory, k)?;
            keys.insert((k.ledger.clone(), k.epoch), (index, evaluator));
        }
        let per_day = config.budget.per_member_per_day;
        let allowance = Allowance {
            per_day,
            burst: config.budget.burst.unwrap_or(per_day.div_ceil(24)),
        };
        let store_path = data.join(&config.audit);
        let store = Store::open(&store_path).map_err(fail(store_path.display()))?;
        let budget = Mutex::new(replayed_budget(&store, allowance)?);
        let mut cas = Vec::new();
        for ca in &config.tls.client_ca {
            for c in CertificateDer::pem_file_iter(data.join(ca)).map_err(fail(ca))? {
                cas.push(c.map_err(fail(ca))?.as_ref().to_vec());
            }
        }
        let revocations = crate::revocation::Revocations::new(
            data.join(&config.revocations),
            data.to_owned(),
            cas,
        );
        if let crate::revocation::Reloaded::Invalid(e) = revocations.refresh() {
            return Err(ServiceError(e));
        }
        Ok(Service {
            config,
            directory,
            keys,
            budget,
            store,
            revocations,
        })
    }

    pub fn listen_addr(&self) -> &str {
        &self.config.listen
    }

    fn audit(&self, e: AuditEvent) {
        if let Err(err) = self.store.audit(now_ms(), e) {
            tracing::error!(error = %err, "the audit log could not be written");
        }
    }

    /// The server TLS: TLS 1.3, a client certificate from a configured CA.
    pub fn tls_config(&self, data: &Path) -> Result<Arc<rustls::ServerConfig>, ServiceError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for ca in &self.config.tls.client_ca {
            for c in CertificateDer::pem_file_iter(data.join(ca)).map_err(fail(ca))? {
                roots.add(c.map_err(fail(ca))?).map_err(fail(ca))?;
            }
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(fail("client_ca"))?;
        let cert = &self.config.tls.cert;
        let certs = CertificateDer::pem_file_iter(data.join(cert))
            .map_err(fail(cert))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail(cert))?;
        let key = PrivateKeyDer::from_pem_file(data.join(&self.config.tls.key))
            .map_err(fail(&self.config.tls.key))?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(fail("TLS"))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .map_err(fail("server certificate"))?;
        Ok(Arc::new(config))
    }

    /// Answers one request of `caller` (`None`: no usable certificate).
    pub fn handle(
        &self,
        caller: Option<&Caller>,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Json, ApiError> {
        if path == "/v1/health" && method == "GET" {
            return Ok(json!({"status": "ok"}));
        }
        let Some((ledger, epoch)) = wire::parse_evaluate_path(path) else {
            return Err(ApiError::new(404, "not_found", "no such route"));
        };
        if method != "POST" {
            return Err(
                ApiError::new(405, "method_not_allowed", "evaluate takes POST").allow("POST"),
            );
        }
        let Some(caller) = caller else {
            return Err(ApiError::new(
                401,
                "unauthenticated",
                "a client certificate with a common name is required",
            ));
        };
        let who = caller.institution.as_str();
        // A changed list counts at once; an unreadable one leaves the last
        // good one in force (as at the gateway).
        if let crate::revocation::Reloaded::Invalid(e) = self.revocations.refresh() {
            tracing::error!(error = %e, "the revocation list could not be read; the previous one stays in force");
        }
        if self.revocations.current().is_revoked(caller) {
            self.refused(who, "-", "revoked");
            return Err(ApiError::new(
                403,
                "revoked",
                "this client certificate or its institution is revoked",
            ));
        }
        let directory = self.directory.ledger(ledger).ok_or_else(|| {
            ApiError::new(
                404,
                "unknown_ledger",
                format!("this service holds no key of ledger `{ledger}`"),
            )
        })?;
        let now = now_ms();
        if directory.member_at(who, now).is_none() {
            self.refused(who, ledger, "not_a_member");
            return Err(ApiError::new(
                403,
                "not_a_member",
                format!("`{who}` is not a member of ledger `{ledger}` now"),
            ));
        }
        let epoch: u32 = epoch.parse().map_err(|_| {
            ApiError::new(400, "bad_epoch", "the epoch is not a number").field("epoch")
        })?;
        let (index, key) = self.keys.get(&(ledger.to_owned(), epoch)).ok_or_else(|| {
            ApiError::new(
                404,
                "unknown_epoch",
                format!("this service holds no key of ledger `{ledger}` for epoch {epoch}"),
            )
        })?;
        let blinded = parse_blinded(body)?;
        let count = blinded.len() as u64;
        let over = self
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take(who, ledger, count, now);
        if let Err(over) = over {
            self.refused(who, ledger, &format!("rate_limited count={count}"));
            return Err(ApiError::new(
                429,
                "rate_limited",
                format!("`{who}` has used its pseudonym budget on ledger `{ledger}`; retry later"),
            )
            .retry_after(over.retry_after_secs));
        }
        // Audited before anything is evaluated: an evaluation the log
        // cannot hold (nor the budget rebuilt from it) is not made.
        self.store
            .audit(
                now,
                AuditEvent {
                    actor: who.to_owned(),
                    action: Action::PseudonymEvaluate,
                    ledger: Some(ledger.to_owned()),
                    envelope_id: None,
                    detail: Some(format!("epoch={epoch} count={count}")),
                },
            )
            .map_err(|e| {
                tracing::error!(error = %e, "the audit log could not be written; nothing evaluated");
                ApiError::new(503, "audit_unavailable", "the service's audit log cannot be written; retry later")
                    .retry_after(5)
            })?;
        let (evaluated, proof) = key
            .evaluate_batch(&blinded, &mut rand_core::OsRng)
            .map_err(|_| ApiError::internal("evaluation failed"))?;
        let body = EvaluateResponse {
            index: *index,
            evaluated: evaluated.iter().map(hex::encode).collect(),
            proof: hex::encode(proof),
        };
        serde_json::to_value(body).map_err(|_| ApiError::internal("encoding the answer failed"))
    }

    fn refused(&self, who: &str, ledger: &str, reason: &str) {
        self.audit(AuditEvent {
            actor: who.to_owned(),
            action: Action::Refused,
            ledger: Some(ledger.to_owned()),
            envelope_id: None,
            detail: Some(format!("reason={reason} route=evaluate")),
        });
    }
}

/// The blinded elements: each the encoding of a point other than the
/// identity (the evaluator checks again).
fn parse_blinded(body: &[u8]) -> Result<Vec<[u8; 32]>, ApiError> {
    let req: EvaluateRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "malformed_request",
            format!(
                "the body is not an evaluate request: line {}, column {}",
                e.line(),
                e.column()
            ),
        )
    })?;
    if req.blinded.is_empty() || req.blinded.len() > MAX_BATCH {
        return Err(ApiError::new(
            400,
            "batch_too_large",
            format!(
                "a batch has 1 to {MAX_BATCH} elements, not {}",
                req.blinded.len()
            ),
        )
        .field("blinded"));
    }
    req.blinded
        .iter()
        .enumerate()
        .map(|(i, h)| {
            // Judged before the budget is charged: a malformed request costs nothing.
            wire::hex_array::<32>(h)
                .filter(veilgate_pseudonym::valid_public_key)
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "invalid_element",
                        "a blinded element is not the hex of a canonical ristretto255 point other than the identity",
                    )
                    .field(format!("blinded[{i}]"))
                })
        })
        .collect()
}

/// One key file, checked against the directory: this operator runs a
/// service of the ledger, and the key's public key is what the directory
/// publishes for it in that epoch.
fn load_key(
    data: &Path,
    operator: &str,
    directory: &Directory,
    k: &KeyConfig,
) -> Result<(u32, Evaluator), ServiceError> {
    let at = format!("key of ledger `{}` epoch {}", k.ledger, k.epoch);
    let section = directory
        .ledger(&k.ledger)
        .and_then(|l: &LedgerDirectory| l.pseudonyms.as_ref())
        .ok_or_else(|| {
            ServiceError(format!(
                "{at}: the directory lists no pseudonymisation service for the ledger"
            ))
        })?;
    let service = section
        .services
        .iter()
        .find(|s| s.operator == operator)
        .ok_or_else(|| {
            ServiceError(format!(
                "{at}: the directory names no service of `{operator}` for the ledger"
            ))
        })?;
    let epoch = section
        .epoch(k.epoch)
        .ok_or_else(|| ServiceError(format!("{at}: the directory lists no such epoch")))?;
    let path: PathBuf = data.join(&k.file);
    check_private(&path)?;
    let text = std::fs::read_to_string(&path).map_err(fail(path.display()))?;
    let scalar = wire::hex_array::<32>(text.trim()).ok_or_else(|| {
        ServiceError(format!(
            "{}: expected 64 hex digits (a ristretto255 scalar)",
            path.display()
        ))
    })?;
    let evaluator = Evaluator::from_scalar(&scalar).map_err(fail(path.display()))?;
    let expected = section.service_key(epoch, service.index);
    if expected != Some(evaluator.public_key()) {
        return Err(ServiceError(format!(
            "{}: its public key is not the one the directory publishes for service {} in epoch {}",
            path.display(),
            service.index,
            k.epoch
        )));
    }
    Ok((service.index, evaluator))
}

/// A key file readable by group or others is refused.
fn check_private(path: &Path) -> Result<(), ServiceError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(fail(path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(ServiceError(format!(
                "{}: a pseudonym key must not be readable by group or others (chmod 600)",
                path.display()
            )));
        }
    }
    Ok(())
}

/// The budgets as the audit log left them: every evaluation of the last
/// day spent again.
fn replayed_budget(store: &Store, allowance: Allowance) -> Result<Budget, ServiceError> {
    let mut budget = Budget::new(allowance);
    let since = now_ms().saturating_sub(86_400_000);
    for e in store.audit_entries().map_err(fail("the audit log"))? {
        let (e, at) = (e.event, e.time_ms);
        if e.action != Action::PseudonymEvaluate || at < since {
            continue;
        }
        let count = e
            .detail
            .as_deref()
            .and_then(|d| d.split(' ').find_map(|kv| kv.strip_prefix("count=")))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if let Some(ledger) = &e.ledger {
            budget.replay(&e.actor, ledger, count, at);
        }
    }
    Ok(budget)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    service: Arc<Service>,
    tls: Arc<rustls::ServerConfig>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let (acceptor, service) = (acceptor.clone(), service.clone());
                tokio::spawn(async move { connection(service, acceptor, tcp, peer).await });
            }
        }
    }
}

async fn connection(
    service: Arc<Service>,
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
    let caller = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(Caller::from_chain);
    let svc = hyper::service::service_fn(move |req| {
        let (service, caller) = (service.clone(), caller.clone());
        async move { Ok::<_, std::convert::Infallible>(respond(service, caller, req).await) }
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(tls), svc)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

async fn respond(
    service: Arc<Service>,
    caller: Option<Caller>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return answer(Err(ApiError::new(
                413,
                "body_too_large",
                format!("a request body is at most {MAX_BODY_BYTES} bytes"),
            )))
        }
    };
    // Evaluation is CPU work (one scalar multiplication per element and the proof).
    let result =
        tokio::task::spawn_blocking(move || service.handle(caller.as_ref(), &method, &path, &body))
            .await
            .unwrap_or_else(|_| Err(ApiError::internal("the evaluation task failed")));
    answer(result)
}

fn answer(result: Result<Json, ApiError>) -> Response<Full<Bytes>> {
    let (status, body, retry, allow) = match result {
        Ok(body) => (200, body, None, None),
        Err(e) => (e.status, e.body(), e.retry_after, e.allow.clone()),
    };
    let mut out = Response::new(Full::new(Bytes::from(body.to_string())));
    *out.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = retry {
        headers.insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from(secs),
        );
    }
    if let Some(v) = allow.and_then(|a| hyper::header::HeaderValue::from_str(&a).ok()) {
        headers.insert(hyper::header::ALLOW, v);
    }
    out
}
