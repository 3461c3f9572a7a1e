//! HTTP API handlers, free of sockets and TLS: `route` takes the caller's
//! authenticated identity, a method, a path and a body, and returns a status
//! and a body. `server` wires it to hyper; tests call it directly.
//!
//! Errors are `{code, message, field}`; [`ApiError`] is the one place that maps
//! failures to HTTP status. No message echoes a field value, and the audit log
//! records who did what to which envelope — never a value.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value as Json};
use veilgate_core::{SealError, SealRequest};
use veilgate_ledger::LedgerError;

pub use crate::identity::Caller;
use crate::identity::Reloaded;
use crate::state::{AppState, LedgerState};
use crate::store::{record_digest, AuditEvent, Offer, State, Submission};

/// Every route `route` serves, as written in the OpenAPI document (a test
/// checks the two agree).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.yaml"),
    ("GET", "/metrics"),
    ("POST", "/v1/ledgers/{ledger}/records"),
    ("GET", "/v1/ledgers/{ledger}/submissions/{id}"),
    ("GET", "/v1/ledgers/{ledger}/envelopes/{id}"),
    ("GET", "/v1/ledgers/{ledger}/entries/{sequence}"),
    ("GET", "/v1/ledgers/{ledger}/verdicts/{sequence}"),
    ("POST", "/v1/ledgers/{ledger}/envelopes/{id}/open"),
    ("POST", "/v1/ledgers/{ledger}/verify"),
    ("GET", "/v1/ledgers/{ledger}/policies"),
    ("GET", "/v1/ledgers/{ledger}/policies/{policy}"),
];

/// The OpenAPI document of this API, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.yaml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, for 503 answers the client should retry.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }
    pub fn body(&self) -> Json {
        json!({ "code": self.code, "message": self.message, "field": self.field })
    }
}

impl From<SealError> for ApiError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Record(r) => {
                ApiError::new(422, "invalid_record", r.to_string()).field(r.field)
            }
            SealError::IdempotencyKey => {
                ApiError::new(422, "invalid_idempotency_key", e.to_string())
                    .field("idempotency_key")
            }
            SealError::SubmitterNotMember(_) => ApiError::new(403, "not_admitted", e.to_string()),
            SealError::Unsupported(why) => {
                ApiError::new(501, "unsupported_policy", why).field("policy")
            }
            // A valid record that breaks a predicate of its policy: the message
            // names the predicate as the policy writes it, never a value.
            SealError::PredicateFalse(_) => {
                ApiError::new(422, "predicate_not_satisfied", e.to_string()).field("record")
            }
            // The rest are the gateway's configuration, not the caller's input.
            other => {
                tracing::error!(error = %other, "sealing failed");
                ApiError::new(
                    500,
                    "internal",
                    "the gateway could not seal this record; see its log",
                )
            }
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        tracing::warn!(error = %e, "ledger read failed");
        ApiError::new(
            503,
            "ledger_unavailable",
            "the ledger is unavailable; retry later",
        )
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "gateway store failed");
        ApiError::new(
            503,
            "store_unavailable",
            "the gateway cannot persist right now; retry with the same idempotency key",
        )
    }
}

pub struct ApiResponse {
    pub status: u16,
    pub body: Json,
    /// Set for non-JSON bodies (metrics, OpenAPI).
    pub raw: Option<(&'static str, String)>,
    pub retry_after: Option<u64>,
}

impl ApiResponse {
    fn json(status: u16, body: Json) -> Self {
        ApiResponse {
            status,
            body,
            raw: None,
            retry_after: None,
        }
    }
}

impl From<ApiError> for ApiResponse {
    fn from(e: ApiError) -> Self {
        ApiResponse {
            status: e.status,
            body: e.body(),
            raw: None,
            retry_after: e.retry_after,
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The route template a path matched, for metrics (ids left out).
pub fn route_name(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let shape: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match (i, segs.first()) {
            (2, Some(&"v1")) if segs.get(1) == Some(&"ledgers") => "{ledger}",
            (4, Some(&"v1")) if segs.get(1) == Some(&"ledgers") => "{id}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", shape.join("/"))
}

/// Dispatches one request. `caller` is `None` when the certificate (which the
/// handshake accepted) carries no usable common name.
pub async fn route(
    state: Arc<AppState>,
    caller: Option<Caller>,
    method: &str,
    path: &str,
    body: &[u8],
) -> ApiResponse {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let st = state.clone();
    let result = match (method, segments.as_slice()) {
        ("GET", ["v1", "health"]) => Ok(ApiResponse::json(200, json!({ "status": "ok" }))),
        ("GET", ["v1", "openapi.yaml"]) => Ok(ApiResponse {
            status: 200,
            body: Json::Null,
            raw: Some(("application/yaml", OPENAPI.to_owned())),
            retry_after: None,
        }),
        ("GET", ["metrics"]) => {
            let depth = state.store.outbox_depth().unwrap_or(0);
            Ok(ApiResponse {
                status: 200,
                body: Json::Null,
                raw: Some(("text/plain; version=0.0.4", state.metrics.render(depth))),
                retry_after: None,
            })
        }
        (_, ["v1", ..]) if caller.is_none() => Err(ApiError::new(
            401,
            "unauthenticated",
            "the client certificate names no institution (common name)",
        )),
        ("POST", ["v1", "ledgers", ledger, "records"]) => submit(st, caller, ledger, body).await,
        ("GET", ["v1", "ledgers", ledger, "submissions", id]) => {
            status(st, caller, ledger, id).await
        }
        ("GET", ["v1", "ledgers", ledger, "envelopes", id]) => {
            envelope(st, caller, ledger, Lookup::Id(id)).await
        }
        ("GET", ["v1", "ledgers", ledger, "entries", seq]) => {
            envelope(st, caller, ledger, Lookup::Sequence(seq)).await
        }
        ("GET", ["v1", "ledgers", ledger, "verdicts", seq]) => {
            verdict(&st, caller, ledger, seq).await
        }
        ("POST", ["v1", "ledgers", ledger, "envelopes", id, "open"]) => {
            open(st, caller, ledger, id).await
        }
        ("POST", ["v1", "ledgers", ledger, "verify"]) => verify(st, caller, ledger, body).await,
        ("GET", ["v1", "ledgers", ledger, "policies"]) => policies(&st, caller, ledger, None),
        ("GET", ["v1", "ledgers", ledger, "policies", id]) => {
            policies(&st, caller, ledger, Some(id))
        }
        (_, ["v1", "ledgers", _, "records" | "verify" | "policies"])
        | (
            _,
            ["v1", "ledgers", _, "envelopes" | "entries" | "submissions" | "policies" | "verdicts", _],
        )
        | (_, ["v1", "ledgers", _, "envelopes", _, "open"]) => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("`{method}` is not allowed here"),
        )),
        _ => Err(ApiError::new(404, "not_found", "no such endpoint")),
    };
    result.unwrap_or_else(|e| {
        state.metrics.rejection(e.code);
        ApiResponse::from(e)
    })
}

/// Admission and permission for an action on a ledger: the certificate is not
/// revoked, was issued by one of this ledger's CAs, and names a member.
fn authorize<'a>(
    state: &'a AppState,
    caller: Option<Caller>,
    ledger: &str,
) -> Result<(Caller, &'a LedgerState), ApiError> {
    let caller = caller
        .ok_or_else(|| ApiError::new(401, "unauthenticated", "a client certificate is required"))?;
    match state.revocations.refresh() {
        Reloaded::Changed(list) => {
            let _ = state.store.audit(
                now_ms(),
                AuditEvent {
                    actor: "gateway".into(),
                    action: "permissions_reloaded".into(),
                    detail: Some(format!(
                        "{} certificates and {} institutions revoked",
                        list.certificates.len(),
                        list.institutions.len()
                    )),
                    ..AuditEvent::default()
                },
            );
            tracing::info!(
                certificates = list.certificates.len(),
                institutions = list.institutions.len(),
                "revocation list reloaded"
            );
        }
        Reloaded::Invalid(e) => {
            tracing::error!(error = %e, "revocation list is invalid; keeping the previous one")
        }
        Reloaded::Unchanged => {}
    }
    if state.revocations.is_revoked(&caller) {
        return Err(ApiError::new(
            403,
            "revoked",
            format!("the certificate of `{}` is revoked", caller.institution),
        ));
    }
    let ls = state.ledgers.get(ledger).ok_or_else(|| {
        ApiError::new(
            404,
            "unknown_ledger",
            "this gateway serves no ledger of that name",
        )
        .field("ledger")
    })?;
    if !caller.issued_by(ls.ca.as_ref()) {
        return Err(ApiError::new(
            403,
            "wrong_ca",
            format!("the certificate was not issued by a CA of ledger `{ledger}`"),
        ));
    }
    if ls
        .directory
        .member_at(&caller.institution, now_ms())
        .is_none()
    {
        return Err(ApiError::new(
            403,
            "not_admitted",
            format!(
                "`{}` is not a member of ledger `{ledger}`",
                caller.institution
            ),
        ));
    }
    Ok((caller, ls))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(500, "internal", "worker failed"))
}

/// Runs CPU-bound work (seal, verify, open) on the compute pool; the
/// request's task waits without holding a runtime thread.
async fn compute<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    state.compute.spawn(move || {
        // A request that gave up (timed out, client gone) while queued is
        // not worth a proof: live requests behind it wait less.
        if !tx.is_closed() {
            let _ = tx.send(f());
        }
    });
    rx.await
        .map_err(|_| ApiError::new(500, "internal", "worker failed"))
}

fn parse_id(id: &str) -> Result<[u8; 16], ApiError> {
    hex::decode(id)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_envelope_id",
                "an envelope id is 32 hex characters",
            )
            .field("envelope_id")
        })
}

fn submission_body(ledger: &str, id: &[u8; 16], s: &Submission) -> Json {
    json!({
        "ledger": ledger,
        "envelope_id": hex::encode(id),
        "state": s.state,
        "sequence": s.sequence,
        "entry_hash": s.entry_hash,
        "accepted_ms": s.accepted_ms,
        "delivered_ms": s.delivered_ms,
    })
}

async fn submit(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    let secrets = hosted_secrets(&state, &caller)?;
    // Parse as a JSON value first: syntax errors name a line and column, never content.
    let req: Json = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "malformed_json",
            format!(
                "request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let obj = req.as_object().ok_or_else(|| {
        ApiError::new(
            400,
            "malformed_request",
            "request body must be a JSON object",
        )
    })?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["policy", "idempotency_key", "record"].contains(&k.as_str()))
    {
        let k: String = k.chars().take(64).collect();
        return Err(ApiError::new(
            400,
            "malformed_request",
            format!("unknown request member `{k}`"),
        )
        .field(k));
    }
    let text = |k: &'static str| -> Result<&str, ApiError> {
        obj.get(k).and_then(Json::as_str).ok_or_else(|| {
            ApiError::new(400, "malformed_request", format!("`{k}` must be a string")).field(k)
        })
    };
    let policy_id = text("policy")?;
    let key = text("idempotency_key")?.to_owned();
    let record = obj.get("record").ok_or_else(|| {
        ApiError::new(400, "malformed_request", "`record` is required").field("record")
    })?;
    let plan = ls
        .policies
        .latest(ledger, policy_id)
        .cloned()
        .ok_or_else(|| unknown_policy(ledger))?;
    let record = plan.validate_record(record).map_err(SealError::from)?;
    if key.is_empty()
        || key.len() > veilgate_core::MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(SealError::IdempotencyKey.into());
    }
    let suite = veilgate_core::SuiteId::from_name(&plan.suite)
        .ok_or_else(|| ApiError::new(500, "internal", "unknown suite"))?;
    let id = veilgate_core::envelope_id(suite.suite(), ledger, &caller.institution, &key);
    let digest = record_digest(&plan.hash(), &record);

    // The same key again: the same answer, or a conflict. Checked before the
    // proof is made, and again inside the accepting transaction.
    if let Some(existing) = state.store.submission(&id)? {
        return replay(ledger, &id, &existing, &digest);
    }
    if state.store.outbox_depth()? >= state.limits().outbox_capacity {
        let mut e = ApiError::new(
            503,
            "backpressure",
            "the ledger is behind; retry later with the same idempotency key",
        );
        e.retry_after = Some(1);
        return Err(e);
    }

    let accepted_ms = now_ms();
    let state2 = state.clone();
    let ledger_owned = ledger.to_owned();
    let key2 = key.clone();
    // Proofs are CPU-bound: run them on the compute pool, never on the runtime.
    let bytes = compute(&state, move || -> Result<Vec<u8>, ApiError> {
        let ls = state2
            .ledgers
            .get(&ledger_owned)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        let env = veilgate_core::seal(
            &SealRequest {
                plan: &plan,
                record: &record,
                directory: &ls.directory,
                submitter: &secrets,
                pseudonym_key: &ls.pseudonym_key,
                idempotency_key: &key2,
                timestamp_ms: accepted_ms,
            },
            &mut rand_core::OsRng,
        )?;
        Ok(env.encode())
    })
    .await??;

    let sub = Submission {
        ledger: ledger.to_owned(),
        submitter: caller.institution.clone(),
        policy: policy_id.to_owned(),
        record_digest: digest.clone(),
        state: State::Accepted,
        accepted_ms,
        sequence: None,
        entry_hash: None,
        delivered_ms: None,
    };
    let audit = AuditEvent {
        actor: caller.institution.clone(),
        action: "submit".into(),
        ledger: Some(ledger.to_owned()),
        envelope_id: Some(hex::encode(id)),
        detail: Some(format!("policy {policy_id}")),
    };
    let state3 = state.clone();
    let offer = blocking(move || state3.store.offer(id, sub, &bytes, audit)).await??;
    match offer {
        Offer::Existing(existing) => return replay(ledger, &id, &existing, &digest),
        Offer::Conflict => return Err(conflict()),
        Offer::Accepted => {}
    }
    state.outbox_notify.notify_one();
    tracing::info!(submitter = %caller.institution, ledger, policy = policy_id, envelope_id = %hex::encode(id), "accepted");

    // Accepted is durable now. Wait briefly for the receipt so most callers
    // get it in one round trip; otherwise 202 and they poll the status.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(state.limits().ack_wait_ms);
    loop {
        if let Some(s) = state.store.submission(&id)? {
            if s.state == State::OnLedger {
                return Ok(ApiResponse::json(201, submission_body(ledger, &id, &s)));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(ApiResponse::json(202, submission_body(ledger, &id, &s)));
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The keys this gateway holds for the caller: it signs and opens only for
/// institutions it hosts.
fn hosted_secrets(
    state: &AppState,
    caller: &Caller,
) -> Result<veilgate_core::InstitutionSecrets, ApiError> {
    state
        .hosted
        .get(&caller.institution)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                403,
                "not_hosted",
                format!("this gateway holds no keys for `{}`", caller.institution),
            )
        })
}

fn unknown_policy(ledger: &str) -> ApiError {
    ApiError::new(
        404,
        "unknown_policy",
        format!("no policy of that id is published on ledger `{ledger}`"),
    )
    .field("policy")
}

fn conflict() -> ApiError {
    ApiError::new(
        409,
        "idempotency_conflict",
        "this idempotency key was used for a different record",
    )
    .field("idempotency_key")
}

/// A repeated idempotency key: the original answer for the same record, 409 for another.
fn replay(
    ledger: &str,
    id: &[u8; 16],
    existing: &Submission,
    digest: &str,
) -> Result<ApiResponse, ApiError> {
    if existing.record_digest != digest {
        return Err(conflict());
    }
    Ok(ApiResponse::json(
        200,
        submission_body(ledger, id, existing),
    ))
}

async fn status(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    id: &str,
) -> Result<ApiResponse, ApiError> {
    let (caller, _) = authorize(&state, caller, ledger)?;
    let id = parse_id(id)?;
    match state.store.submission(&id)? {
        // Submissions are the submitter's business; others read the ledger.
        Some(s) if s.ledger == ledger && s.submitter == caller.institution => {
            Ok(ApiResponse::json(200, submission_body(ledger, &id, &s)))
        }
        _ => Err(ApiError::new(
            404,
            "unknown_submission",
            "no submission of yours with that id",
        )
        .field("envelope_id")),
    }
}

/// How a stored envelope is looked up: by its id, or by its ledger position.
enum Lookup<'a> {
    Id(&'a str),
    Sequence(&'a str),
}

async fn envelope(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    lookup: Lookup<'_>,
) -> Result<ApiResponse, ApiError> {
    let (_, ls) = authorize(&state, caller, ledger)?;
    let store = ls.ledger.clone();
    let entry = match lookup {
        Lookup::Id(id) => {
            let id = parse_id(id)?;
            blocking(move || store.by_id(&id)).await??
        }
        Lookup::Sequence(seq) => {
            let seq: u64 = seq.parse().map_err(|_| {
                ApiError::new(
                    400,
                    "invalid_sequence",
                    "a ledger position is a whole number",
                )
                .field("sequence")
            })?;
            blocking(move || store.by_sequence(seq)).await??
        }
    }
    .ok_or_else(|| ApiError::new(404, "not_on_ledger", "no such envelope on this ledger"))?;
    let view = veilgate_core::Envelope::decode(&entry.envelope)
        .map(|e| veilgate_core::view::envelope_json(&e))
        .unwrap_or(Json::Null);
    Ok(ApiResponse::json(
        200,
        json!({
            "ledger": ledger,
            "envelope_id": hex::encode(entry.envelope_id),
            "sequence": entry.sequence,
            "entry_hash": hex::encode(entry.entry_hash),
            "prev_hash": hex::encode(entry.prev_hash),
            "envelope": base64::engine::general_purpose::STANDARD.encode(&entry.envelope),
            "view": view,
        }),
    ))
}

/// Opens, for the caller, the fields of an envelope addressed to it. The
/// gateway holds the caller's key (it is the caller's own gateway).
async fn open(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    id: &str,
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    let secrets = hosted_secrets(&state, &caller)?;
    let id = parse_id(id)?;
    let store = ls.ledger.clone();
    let entry = blocking(move || store.by_id(&id)).await??.ok_or_else(|| {
        ApiError::new(404, "not_on_ledger", "no such envelope on this ledger").field("envelope_id")
    })?;
    let (s2, ledger2) = (state.clone(), ledger.to_owned());
    let fields = compute(&state, move || {
        let ls = s2
            .ledgers
            .get(&ledger2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        let verified = veilgate_core::verify(
            &entry.envelope,
            &ls.policies,
            &ls.directory,
            &mut rand_core::OsRng,
        )
        .map_err(|r| {
            ApiError::new(
                422,
                "rejected",
                format!("the stored envelope does not verify: {r}"),
            )
        })?;
        veilgate_core::open(&verified, &secrets, Some(&ls.pseudonym_key)).map_err(|e| match e {
            veilgate_core::OpenError::NotARecipient(_) => {
                ApiError::new(403, "not_a_recipient", e.to_string())
            }
            other => ApiError::new(422, "open_failed", other.to_string()),
        })
    })
    .await??;
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution.clone(),
            action: "open".into(),
            ledger: Some(ledger.to_owned()),
            envelope_id: Some(hex::encode(id)),
            detail: Some(format!("{} fields", fields.len())),
        },
    )?;
    let out: serde_json::Map<String, Json> = fields
        .into_iter()
        .map(|f| (f.name, f.value.to_json()))
        .collect();
    Ok(ApiResponse::json(
        200,
        json!({ "ledger": ledger, "envelope_id": hex::encode(id), "fields": out }),
    ))
}

/// Verifies an envelope given in the request, as a peer would.
async fn verify(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, _) = authorize(&state, caller, ledger)?;
    let req: Json = serde_json::from_slice(body)
        .map_err(|_| ApiError::new(400, "malformed_json", "request body is not valid JSON"))?;
    let bytes = req
        .get("envelope")
        .and_then(Json::as_str)
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "malformed_request",
                "`envelope` must be base64 envelope bytes",
            )
            .field("envelope")
        })?;
    let (s2, ledger2) = (state.clone(), ledger.to_owned());
    let (verdict, bytes) = compute(&state, move || {
        let verdict = s2.ledgers.get(&ledger2).map(|ls| {
            veilgate_core::verify(&bytes, &ls.policies, &ls.directory, &mut rand_core::OsRng)
        });
        (verdict, bytes)
    })
    .await?;
    let verdict = verdict.ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
    let envelope_id = veilgate_core::Envelope::decode(&bytes)
        .ok()
        .map(|e| hex::encode(e.id));
    let body = match &verdict {
        Ok(v) => {
            json!({ "accepted": true, "envelope_id": hex::encode(v.envelope().id), "policy": v.plan().id })
        }
        Err(r) => json!({ "accepted": false, "reason": r.code(), "message": r.to_string() }),
    };
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution,
            action: "verify".into(),
            ledger: Some(ledger.to_owned()),
            envelope_id,
            detail: Some(match verdict {
                Ok(_) => "accepted".into(),
                Err(r) => format!("rejected: {}", r.code()),
            }),
        },
    )?;
    Ok(ApiResponse::json(200, body))
}

/// All published policies, or the newest version of one (`id`).
fn policies(
    state: &AppState,
    caller: Option<Caller>,
    ledger: &str,
    id: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let (_, ls) = authorize(state, caller, ledger)?;
    let one = |p: &veilgate_policies::Plan, text: &str| json!({ "id": p.id, "version": p.version, "hash": hex::encode(p.hash()), "text": text });
    match id {
        None => {
            let list: Vec<Json> = ls.texts.iter().map(|(p, text)| one(p, text)).collect();
            Ok(ApiResponse::json(
                200,
                json!({ "ledger": ledger, "policies": list }),
            ))
        }
        Some(id) => ls
            .texts
            .iter()
            .filter(|(p, _)| p.id == id)
            .max_by_key(|(p, _)| p.version)
            .map(|(p, text)| ApiResponse::json(200, one(p, text)))
            .ok_or_else(|| unknown_policy(ledger)),
    }
}

/// A followed ledger's verdict on the entry at `seq`.
async fn verdict(
    state: &AppState,
    caller: Option<Caller>,
    ledger: &str,
    seq: &str,
) -> Result<ApiResponse, ApiError> {
    let (_, ls) = authorize(state, caller, ledger)?;
    let sequence: u64 = seq.parse().map_err(|_| {
        ApiError::new(
            400,
            "malformed_request",
            "the position must be a whole number",
        )
        .field("sequence")
    })?;
    let verdicts = ls.verdicts.clone().ok_or_else(|| {
        ApiError::new(
            404,
            "not_followed",
            format!(
                "this gateway does not follow ledger `{ledger}` (`follow = true` in veilgate.toml)"
            ),
        )
    })?;
    let found = blocking(move || verdicts.get(sequence))
        .await?
        .map_err(|_| ApiError::new(500, "internal", "reading verdicts failed"))?;
    let v = found.ok_or_else(|| {
        ApiError::new(
            404,
            "no_verdict",
            format!("no verdict yet for position {sequence}"),
        )
    })?;
    Ok(ApiResponse::json(
        200,
        serde_json::to_value(&v).map_err(|_| ApiError::new(500, "internal", "encoding failed"))?,
    ))
}
