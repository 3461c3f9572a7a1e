//! The API's routes, free of sockets and TLS: [`route`] takes the caller's
//! authenticated identity, a method, a path and a body, and returns a status
//! and a body. `http` wires it to hyper; tests call it directly.
//!
//! One module per group of routes: [`submit`] (the write path), [`read`]
//! (submissions, envelopes, entries, policies, verdicts), [`open`],
//! [`verify`] and [`sets`]. Errors map to status in [`super::error`]; the audit log
//! records who did what to which envelope — never a value.

mod keys;
mod open;
mod read;
mod sets;
pub(crate) mod submit;
mod verify;

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::auth::{authorize, metrics_reader, not_revoked};
use super::error::{ApiError, ApiResponse};
use crate::boot::Gateway;
use crate::identity::Caller;
use crate::store::Submission;

/// Every route `route` serves, as written in the OpenAPI document (a test
/// checks the two agree).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.yaml"),
    ("GET", "/metrics"),
    ("GET", "/v1/ledgers"),
    ("POST", "/v1/ledgers/{ledger}/records"),
    ("GET", "/v1/ledgers/{ledger}/submissions/{id}"),
    ("GET", "/v1/ledgers/{ledger}/envelopes/{id}"),
    ("GET", "/v1/ledgers/{ledger}/entries"),
    ("GET", "/v1/ledgers/{ledger}/entries/{sequence}"),
    ("GET", "/v1/ledgers/{ledger}/verdicts/{sequence}"),
    ("POST", "/v1/ledgers/{ledger}/envelopes/{id}/open"),
    ("POST", "/v1/ledgers/{ledger}/verify"),
    ("GET", "/v1/ledgers/{ledger}/policies"),
    ("GET", "/v1/ledgers/{ledger}/policies/{policy}"),
    ("POST", "/v1/ledgers/{ledger}/sets"),
    ("GET", "/v1/ledgers/{ledger}/sets"),
    ("GET", "/v1/ledgers/{ledger}/sets/{set}"),
    ("POST", "/v1/ledgers/{ledger}/keys/rotate"),
    ("POST", "/v1/ledgers/{ledger}/keys/{key_id}/freeze"),
];

/// The OpenAPI document of this API, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../../../../../docs/openapi.yaml");

/// The metrics label of a request: `METHOD /template` of the route in
/// [`ROUTES`] its path matches (ids left out), whatever the method; every
/// other path is `unmatched`, and a method outside HTTP's common ones is
/// `OTHER`. Labels come from a fixed set, so no caller can grow the number
/// of series by inventing paths or methods.
pub fn route_label(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = match method {
        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => method,
        _ => "OTHER",
    };
    match ROUTES.iter().find(|(_, t)| template_matches(t, &segs)) {
        Some((_, template)) => format!("{method} {template}"),
        None => format!("{method} unmatched"),
    }
}

/// The methods [`ROUTES`] serves at the path of `segments`, for `Allow`.
fn allowed_methods(segments: &[&str]) -> String {
    let methods: std::collections::BTreeSet<&str> = ROUTES
        .iter()
        .filter(|(_, t)| template_matches(t, segments))
        .map(|(m, _)| *m)
        .collect();
    methods.into_iter().collect::<Vec<_>>().join(", ")
}

/// Whether `segments` fill `template` (a `{placeholder}` takes any segment).
fn template_matches(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').skip(1).collect();
    parts.len() == segments.len()
        && parts
            .iter()
            .zip(segments)
            .all(|(p, s)| p.starts_with('{') || p == s)
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
    gw: Arc<Gateway>,
    caller: Option<Caller>,
    method: &str,
    target: &str,
    body: &[u8],
) -> ApiResponse {
    // The request target: the path, and a query after `?` (paging).
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let st = gw.clone();
    let who = caller.clone();
    // A revoked certificate gets nothing, not even health or metrics.
    let result = match not_revoked(&gw, caller.as_ref()) {
        Err(e) => Err(e),
        Ok(()) => dispatch(st, caller, method, &segments, query, body).await,
    };
    result.unwrap_or_else(|e| {
        gw.metrics.rejection(e.code);
        if matches!(e.status, 401 | 403) {
            let ledger = match segments.as_slice() {
                ["v1", "ledgers", l, ..] => Some((*l).chars().take(64).collect()),
                _ => None,
            };
            gw.refusals.record(
                crate::audit::refusals::Refusal {
                    actor: who.map_or_else(|| "-".into(), |c| c.institution),
                    ledger,
                    reason: e.code.to_owned(),
                    detail: format!(
                        "route={}",
                        route_name(method, path)
                            .chars()
                            .take(256)
                            .collect::<String>()
                    ),
                },
                crate::clock::now_ms(),
            );
        }
        ApiResponse::from(e)
    })
}

async fn dispatch(
    st: Arc<Gateway>,
    caller: Option<Caller>,
    method: &str,
    segments: &[&str],
    query: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let gw = st.clone();
    match (method, segments) {
        ("GET", ["v1", "health"]) => Ok(ApiResponse::json(200, json!({ "status": "ok" }))),
        ("GET", ["v1", "openapi.yaml"]) => {
            Ok(ApiResponse::raw("application/yaml", OPENAPI.to_owned()))
        }
        ("GET", ["metrics"]) => {
            metrics_reader(&gw, caller.as_ref())?;
            let depth = gw.store.outbox_depth().unwrap_or(0);
            Ok(ApiResponse::raw(
                "text/plain; version=0.0.4",
                gw.metrics.render(depth),
            ))
        }
        (_, ["v1", ..]) if caller.is_none() => Err(ApiError::new(
            401,
            "unauthenticated",
            "the client certificate names no institution (common name)",
        )),
        ("GET", ["v1", "ledgers"]) => read::ledgers(st, caller).await,
        ("GET", ["v1", "ledgers", ledger, "entries"]) => {
            read::entries(st, caller, ledger, query).await
        }
        ("POST", ["v1", "ledgers", ledger, "records"]) => {
            submit::submit(st, caller, ledger, body).await
        }
        ("GET", ["v1", "ledgers", ledger, "submissions", id]) => {
            read::status(st, caller, ledger, id).await
        }
        ("GET", ["v1", "ledgers", ledger, "envelopes", id]) => {
            read::envelope(st, caller, ledger, read::Lookup::Id(id)).await
        }
        ("GET", ["v1", "ledgers", ledger, "entries", seq]) => {
            read::envelope(st, caller, ledger, read::Lookup::Sequence(seq)).await
        }
        ("GET", ["v1", "ledgers", ledger, "verdicts", seq]) => {
            read::verdict(&st, caller, ledger, seq).await
        }
        ("POST", ["v1", "ledgers", ledger, "envelopes", id, "open"]) => {
            open::open(st, caller, ledger, id, query).await
        }
        ("POST", ["v1", "ledgers", ledger, "verify"]) => {
            verify::verify(st, caller, ledger, body).await
        }
        ("GET", ["v1", "ledgers", ledger, "policies"]) => read::policies(&st, caller, ledger, None),
        ("GET", ["v1", "ledgers", ledger, "policies", id]) => {
            read::policies(&st, caller, ledger, Some(id))
        }
        ("POST", ["v1", "ledgers", ledger, "sets"]) => {
            sets::publish(st, caller, ledger, body).await
        }
        ("GET", ["v1", "ledgers", ledger, "sets"]) => sets::list(st, caller, ledger).await,
        ("POST", ["v1", "ledgers", ledger, "keys", "rotate"]) => {
            keys::rotate(st, caller, ledger, body).await
        }
        ("POST", ["v1", "ledgers", ledger, "keys", key_id, "freeze"]) => {
            keys::freeze(st, caller, ledger, key_id, body).await
        }
        ("GET", ["v1", "ledgers", ledger, "sets", set]) => {
            sets::file(st, caller, ledger, set).await
        }
        (_, ["v1", "ledgers", _, "records" | "verify" | "policies" | "sets"])
        | (
            _,
            ["v1", "ledgers", _, "envelopes" | "entries" | "submissions" | "policies" | "verdicts" | "sets", _],
        )
        | (_, ["v1", "ledgers", _, "envelopes", _, "open"])
        | (_, ["v1", "ledgers", _, "keys", "rotate"])
        | (_, ["v1", "ledgers", _, "keys", _, "freeze"]) => Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("`{method}` is not allowed here"),
        )
        .allow(allowed_methods(segments))),
        _ => Err(ApiError::new(404, "not_found", "no such endpoint")),
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal("a worker failed"))
}

/// Runs CPU-bound work (seal, verify, open) on the compute pool; the
/// request's task waits without holding a runtime thread.
pub(crate) async fn compute<T: Send + 'static>(
    gw: &Gateway,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    gw.compute.spawn(move || {
        // A request that gave up (timed out, client gone) while queued is
        // not worth a proof: live requests behind it wait less.
        if !tx.is_closed() {
            let _ = tx.send(f());
        }
    });
    rx.await.map_err(|_| ApiError::internal("a worker failed"))
}

/// A request body as strict JSON ([`veilgate_policies::json`]): a duplicate
/// key, a lone surrogate or a number no JSON value holds is a 400 naming the
/// member's path, never its value.
pub(super) fn strict_body(body: &[u8]) -> Result<Json, ApiError> {
    veilgate_policies::json::parse(body).map_err(|e| {
        let err = ApiError::new(400, "malformed_json", format!("request body: {e}"));
        if e.path.is_empty() {
            err
        } else {
            err.field(e.path)
        }
    })
}

pub(super) fn parse_id(id: &str) -> Result<[u8; 16], ApiError> {
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

pub(super) fn submission_body(ledger: &str, id: &[u8; 16], s: &Submission) -> Json {
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

/// The keys this gateway holds for the caller on this ledger's suite: it
/// signs and opens only for institutions it hosts.
pub(crate) fn hosted_keyring(
    state: &Gateway,
    who: &str,
    ledger: &crate::boot::LedgerState,
) -> Result<Arc<crate::keys::Keyring>, ApiError> {
    let suite = veilgate_core::SuiteId::from_name(&ledger.trust.directory.suite)
        .unwrap_or(veilgate_core::SuiteId::Standard);
    state
        .hosted
        .get(who)
        .and_then(|keys| keys.get(&suite))
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                403,
                "not_hosted",
                format!("this gateway holds no keys for `{}`", who),
            )
        })
}

/// The caller's signing key in force at `time_ms` on this ledger (by its
/// directory entry), signing under the directory's `distid`. A key this
/// gateway does not hold is a 503: it never signs with another.
pub(crate) fn hosted_signer(
    state: &Gateway,
    who: &str,
    ledger: &crate::boot::LedgerState,
    directory: &veilgate_core::LedgerDirectory,
    time_ms: u64,
) -> Result<Arc<dyn veilgate_core::EnvelopeSigner>, ApiError> {
    let ring = hosted_keyring(state, who, ledger)?;
    let member = directory.member(who);
    let key = member.and_then(|m| m.key_at(time_ms)).ok_or_else(|| {
        ApiError::new(
            403,
            "not_admitted",
            format!(
                "`{}` has no key in force on ledger `{}`",
                who, directory.ledger
            ),
        )
    })?;
    ring.signer(&key.id, member.and_then(|m| m.distid.clone()))
        .ok_or_else(|| {
            tracing::error!(member = %who, key_id = %key.id, "signing key in force is not held");
            ApiError::new(
                503,
                "signing_key_unavailable",
                format!(
                    "this gateway does not hold `{}`'s signing key in force ({}); it signs with no other",
                    who, key.id
                ),
            )
            .retry_after(10)
        })
}

pub(super) fn unknown_policy(ledger: &str) -> ApiError {
    ApiError::new(
        404,
        "unknown_policy",
        format!("no policy of that id is published on ledger `{ledger}`"),
    )
    .field("policy")
}
