//! HTTP API handlers, free of sockets and TLS: `route` takes the caller's
//! authenticated identity, a method, a path and a body, and returns a status
//! and a JSON body. `server` wires it to hyper; tests call it directly.
//!
//! Errors are `{code, message, field}`; [`ApiError`] is the one place that maps
//! failures to HTTP status. No message echoes a field value.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value as Json};
use veilgate_core::{SealError, SealRequest};
use veilgate_ledger::LedgerError;

use crate::state::AppState;

/// The authenticated institution behind a request (from its client certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub institution: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
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
        match e {
            LedgerError::Conflict(_) => ApiError::new(409, "conflict", e.to_string()),
            other => {
                tracing::error!(error = %other, "ledger failure");
                ApiError::new(
                    503,
                    "ledger_unavailable",
                    "the ledger is unavailable; retry with the same idempotency key",
                )
            }
        }
    }
}

pub struct ApiResponse {
    pub status: u16,
    pub body: Json,
}

impl From<ApiError> for ApiResponse {
    fn from(e: ApiError) -> Self {
        ApiResponse {
            status: e.status,
            body: e.body(),
        }
    }
}

/// Dispatches one request. `caller` is `None` only when no admitted
/// certificate was presented (the TLS layer already refused unknown CAs).
pub async fn route(
    state: Arc<AppState>,
    caller: Option<Caller>,
    method: &str,
    path: &str,
    body: &[u8],
) -> ApiResponse {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let result = match (method, segments.as_slice()) {
        ("GET", ["v1", "health"]) => Ok(ApiResponse {
            status: 200,
            body: json!({ "status": "ok" }),
        }),
        (_, ["v1", ..]) if caller.is_none() => Err(ApiError::new(
            401,
            "unauthenticated",
            "a client certificate admitted to this gateway is required",
        )),
        ("POST", ["v1", "ledgers", ledger, "records"]) => submit(state, caller, ledger, body).await,
        ("GET", ["v1", "ledgers", ledger, "envelopes", id]) => {
            envelope(state, ledger, Lookup::Id(id)).await
        }
        ("GET", ["v1", "ledgers", ledger, "entries", seq]) => {
            envelope(state, ledger, Lookup::Sequence(seq)).await
        }
        ("GET", ["v1", "ledgers", ledger, "policies"]) => policies(&state, ledger),
        (_, ["v1", "ledgers", _, "records"])
        | (_, ["v1", "ledgers", _, "envelopes", _])
        | (_, ["v1", "ledgers", _, "policies"]) => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("`{method}` is not allowed here"),
        )),
        _ => Err(ApiError::new(404, "not_found", "no such endpoint")),
    };
    result.unwrap_or_else(ApiResponse::from)
}

fn ledger_state<'a>(
    state: &'a AppState,
    ledger: &str,
) -> Result<&'a crate::state::LedgerState, ApiError> {
    state.ledgers.get(ledger).ok_or_else(|| {
        ApiError::new(
            404,
            "unknown_ledger",
            "this gateway serves no ledger of that name",
        )
        .field("ledger")
    })
}

async fn submit(
    state: Arc<AppState>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let caller = caller
        .ok_or_else(|| ApiError::new(401, "unauthenticated", "a client certificate is required"))?;
    let ls = ledger_state(&state, ledger)?;
    if ls.directory.member(&caller.institution).is_none() {
        return Err(ApiError::new(
            403,
            "not_admitted",
            format!(
                "`{}` is not a member of ledger `{ledger}`",
                caller.institution
            ),
        ));
    }
    let secrets = state
        .hosted
        .get(&caller.institution)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                403,
                "not_hosted",
                format!(
                    "this gateway holds no signing key for `{}`",
                    caller.institution
                ),
            )
        })?;
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
        .ok_or_else(|| {
            ApiError::new(
                404,
                "unknown_policy",
                format!("no policy of that id is published on ledger `{ledger}`"),
            )
            .field("policy")
        })?;
    let record = plan.validate_record(record).map_err(SealError::from)?;

    let suite = veilgate_core::SuiteId::from_name(&plan.suite)
        .ok_or_else(|| ApiError::new(500, "internal", "unknown suite"))?;
    let id = veilgate_core::envelope_id(suite.suite(), ledger, &caller.institution, &key);
    let store = ls.ledger.clone();
    // Idempotent replay: the key already named an envelope on the ledger.
    if let Some(entry) = blocking({
        let store = store.clone();
        move || store.by_id(&id)
    })
    .await??
    {
        tracing::info!(submitter = %caller.institution, ledger, envelope_id = %hex::encode(id), sequence = entry.sequence, "idempotent replay");
        return Ok(receipt(ledger, id, entry.receipt(), false, 200));
    }

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let state2 = state.clone();
    let ledger_owned = ledger.to_owned();
    // Proofs are CPU-bound: run them on the blocking pool, never on the runtime.
    let bytes = blocking(move || -> Result<Vec<u8>, ApiError> {
        let ls = ledger_state(&state2, &ledger_owned)?;
        let env = veilgate_core::seal(
            &SealRequest {
                plan: &plan,
                record: &record,
                directory: &ls.directory,
                submitter: &secrets,
                pseudonym_key: &ls.pseudonym_key,
                idempotency_key: &key,
                timestamp_ms: now,
            },
            &mut rand_core::OsRng,
        )?;
        Ok(env.encode())
    })
    .await??;
    let appended = blocking(move || store.append(id, &bytes)).await??;
    tracing::info!(
        submitter = %caller.institution, ledger, policy = policy_id, envelope_id = %hex::encode(id),
        sequence = appended.receipt.sequence, "sealed and appended"
    );
    Ok(receipt(
        ledger,
        id,
        appended.receipt,
        appended.new,
        if appended.new { 201 } else { 200 },
    ))
}

fn receipt(
    ledger: &str,
    id: [u8; 16],
    r: veilgate_ledger::Receipt,
    new: bool,
    status: u16,
) -> ApiResponse {
    ApiResponse {
        status,
        body: json!({
            "ledger": ledger, "envelope_id": hex::encode(id), "sequence": r.sequence,
            "entry_hash": hex::encode(r.entry_hash), "new": new,
        }),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(500, "internal", "worker failed"))
}

/// How a stored envelope is looked up: by its id, or by its ledger position.
enum Lookup<'a> {
    Id(&'a str),
    Sequence(&'a str),
}

async fn envelope(
    state: Arc<AppState>,
    ledger: &str,
    lookup: Lookup<'_>,
) -> Result<ApiResponse, ApiError> {
    let ls = ledger_state(&state, ledger)?;
    let store = ls.ledger.clone();
    let entry = match lookup {
        Lookup::Id(id) => {
            let id: [u8; 16] = hex::decode(id)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "invalid_envelope_id",
                        "an envelope id is 32 hex characters",
                    )
                    .field("envelope_id")
                })?;
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
    Ok(ApiResponse {
        status: 200,
        body: json!({
            "ledger": ledger,
            "envelope_id": hex::encode(entry.envelope_id),
            "sequence": entry.sequence,
            "entry_hash": hex::encode(entry.entry_hash),
            "prev_hash": hex::encode(entry.prev_hash),
            "envelope": base64::engine::general_purpose::STANDARD.encode(&entry.envelope),
            "view": view,
        }),
    })
}

fn policies(state: &AppState, ledger: &str) -> Result<ApiResponse, ApiError> {
    let ls = ledger_state(state, ledger)?;
    let list: Vec<Json> = ls
        .texts
        .iter()
        .map(|(p, text)| json!({ "id": p.id, "version": p.version, "hash": hex::encode(p.hash()), "text": text }))
        .collect();
    Ok(ApiResponse {
        status: 200,
        body: json!({ "ledger": ledger, "policies": list }),
    })
}
