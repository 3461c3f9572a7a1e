//! `POST /v1/ledgers/{ledger}/records`: the write path. The request is
//! parsed and validated here; the pipeline's states ([`crate::write`]) do
//! the rest — accepted, sealed on the compute pool, queued durably, then
//! the answer waits for delivery's notification (201 with the receipt) up
//! to `ack_wait_ms` (202: poll the submission).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;
use veilgate_core::SealError;

use super::{
    authorize, blocking, compute, hosted_keyring, hosted_signer, strict_body, submission_body,
    unknown_policy,
};
use crate::boot::{Gateway, LedgerPseudonyms};
use crate::clock::now_ms;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;
use crate::pseudonym::client::OracleError;
use crate::store::Submission;
use crate::write::submission::Park;
use crate::write::submission::SealKeys;
use crate::write::{Accepted, Queue};

pub(super) async fn submit(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    hosted_keyring(&state, &caller.institution, ls)?;
    let req = parse_request(body)?;
    // Sealed with a clock the ledger disagrees with, the envelope would be
    // refused by every peer: refuse it here, where the operator can act.
    if let Err(skew) = ls.clock.check(state.config.time.ahead_ms) {
        tracing::error!(ledger, error = %skew, "sealing refused: clock skew");
        state.metrics.rejection("clock_skew");
        return Err(ApiError::new(
            503,
            "clock_skew",
            format!("{skew}; sealing is refused until the gateway's clock is corrected"),
        )
        .retry_after(60));
    }
    let plan = match req.version {
        None => ls.trust.policies.latest(ledger, &req.policy),
        Some(v) => ls.trust.policies.version(ledger, &req.policy, v),
    }
    .cloned()
    .ok_or_else(|| match req.version {
        // The id is published, that version is not: say which are.
        Some(v) if ls.trust.policies.latest(ledger, &req.policy).is_some() => ApiError::new(
            404,
            "unknown_policy_version",
            format!(
                "policy `{}` has no version {v} on ledger `{ledger}` (published: {})",
                req.policy,
                ls.trust
                    .policies
                    .versions(ledger, &req.policy)
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .field("version"),
        _ => unknown_policy(ledger),
    })?;
    let record = plan.validate_record(&req.record).map_err(SealError::from)?;
    let accepted_ms = now_ms();
    let accepted = Accepted::new(
        ledger,
        &caller.institution,
        plan,
        record,
        &req.idempotency_key,
        accepted_ms,
    )?;
    let id = accepted.envelope_id();

    // The same key again: the same answer, or a conflict. Checked before the
    // proof is made, and again inside the queueing transaction.
    if let Some(existing) = state.store.submission(&id)? {
        return replay(ledger, &id, &existing, &accepted.digest_hex());
    }
    if state.store.outbox_depth()? >= state.limits().outbox_capacity {
        return Err(ApiError::new(
            503,
            "backpressure",
            "the ledger is behind; retry later with the same idempotency key",
        )
        .retry_after(1));
    }

    let tags = match oblivious_tags(&state, ls, &caller.institution, &accepted, accepted_ms).await {
        Ok(tags) => tags,
        Err(unavailable) => return park(&state, ls, accepted, unavailable).await,
    };
    let digest = accepted.digest_hex();
    let sealed = seal_on_pool(&state, ledger, accepted, tags).await?;

    // Watch before queueing: a delivery that comes at once is not missed.
    let waiter = state.pipeline.watch(id);
    let state3 = state.clone();
    let queued = match blocking(move || sealed.queue(&state3.store)).await?? {
        Queue::Queued(q) => q,
        Queue::Existing(existing) => return replay(ledger, &id, &existing, &digest),
        Queue::Conflict => return Err(conflict()),
    };
    state.pipeline.outbox_grew();
    tracing::info!(submitter = %caller.institution, ledger, policy = %req.policy, envelope_id = %hex::encode(id), "accepted");

    // Queued is durable now. Wait briefly for the receipt so most callers
    // get it in one round trip; otherwise 202 and they poll the status.
    let ack_wait = Duration::from_millis(state.limits().ack_wait_ms);
    Ok(match waiter.wait(ack_wait).await {
        Some(on_ledger) => ApiResponse::json(201, submission_body(ledger, &id, &on_ledger)),
        None => ApiResponse::json(202, submission_body(ledger, &id, &queued.submission)),
    })
}

/// Seals `accepted` on the compute pool (proofs are CPU-bound and never run
/// on the runtime) with the set roots and key events on the ledger now,
/// signed by the submitter's key in force when the record was accepted.
pub(crate) async fn seal_on_pool(
    state: &Arc<Gateway>,
    ledger: &str,
    accepted: Accepted,
    tags: Option<veilgate_core::ObliviousTags>,
) -> Result<crate::write::Sealed, ApiError> {
    let (state2, ledger2) = (state.clone(), ledger.to_owned());
    compute(state, move || {
        let ls = state2
            .ledgers
            .get(&ledger2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        // A rotation or a freeze another gateway wrote counts at once.
        let trust = ls.trust_refreshed();
        let signer = hosted_signer(
            &state2,
            accepted.submitter(),
            ls,
            &trust.directory,
            accepted.accepted_ms(),
        )?;
        let pseudonyms = match (&ls.pseudonyms, &tags) {
            (LedgerPseudonyms::MemberKey(key), _) => key.into(),
            (LedgerPseudonyms::Oblivious(_), Some(tags)) => tags.into(),
            (LedgerPseudonyms::Oblivious(_), None) => {
                return Err(ApiError::internal(
                    "the record's pseudonyms were not fetched",
                ))
            }
        };
        let keys = SealKeys {
            trust: &trust,
            pseudonyms,
            submitter: &*signer,
        };
        accepted
            .seal(keys, &mut rand_core::OsRng)
            .map_err(ApiError::from)
    })
    .await?
}

/// The service could not answer: the record is kept, unsealed and
/// encrypted to the submitter's own key, and sealed when the service
/// returns ([`crate::write::awaiting`]). The answer is 503 with
/// `Retry-After`, saying the record is accepted: a retry with the same
/// idempotency key reports its state. Nothing is sealed with a fallback.
async fn park(
    state: &Arc<Gateway>,
    ls: &crate::boot::LedgerState,
    accepted: Accepted,
    unavailable: ApiError,
) -> Result<ApiResponse, ApiError> {
    let (ledger, id, digest) = (
        accepted.ledger().to_owned(),
        accepted.envelope_id(),
        accepted.digest_hex(),
    );
    if state.store.awaiting_depth()? >= state.limits().outbox_capacity {
        return Err(unavailable);
    }
    let key = ls
        .trust_refreshed()
        .directory
        .member(accepted.submitter())
        .and_then(|m| m.key_at(accepted.accepted_ms()))
        .cloned()
        .ok_or_else(|| ApiError::new(403, "not_admitted", "the submitter has no key in force"))?;
    let state2 = state.clone();
    let parked = blocking(move || {
        accepted
            .park(&state2.store, &key, &mut rand_core::OsRng)
            .map_err(|e| {
                tracing::error!(error = %e, "a record could not be kept to wait for its pseudonyms");
                ApiError::internal("the record could not be kept")
            })
    })
    .await??;
    let submission = match parked {
        Park::Parked(s) => s,
        Park::Existing(existing) => return replay(&ledger, &id, &existing, &digest),
        Park::Conflict => return Err(conflict()),
    };
    state.metrics.rejection("awaiting_pseudonyms");
    let mut body = submission_body(&ledger, &id, &submission);
    if let Some(o) = body.as_object_mut() {
        o.insert("code".into(), unavailable.code.into());
        o.insert(
            "message".into(),
            format!(
                "{}; the record is accepted and waits: it is sealed when the service answers (retrying with the same idempotency key reports its state)",
                unavailable.message
            )
            .into(),
        );
    }
    let mut response = ApiResponse::json(503, body);
    response.retry_after = unavailable.retry_after;
    Ok(response)
}

/// The record's oblivious pseudonyms from the ledger's service(s), when the
/// ledger has one and the policy pseudonymises something. A service that
/// cannot answer is a 503 `pseudonym_service_unavailable` with
/// `Retry-After`; nothing is ever sealed with a fallback.
pub(crate) async fn oblivious_tags(
    state: &Gateway,
    ls: &crate::boot::LedgerState,
    who: &str,
    accepted: &Accepted,
    accepted_ms: u64,
) -> Result<Option<veilgate_core::ObliviousTags>, ApiError> {
    let LedgerPseudonyms::Oblivious(oracle) = &ls.pseudonyms else {
        return Ok(None);
    };
    let values = accepted.pseudonym_values();
    if values.is_empty() {
        // Nothing to fetch; the epoch still goes into the seal's check.
        return Ok(Some(veilgate_core::ObliviousTags::new(
            ls.trust
                .directory
                .pseudonyms
                .as_ref()
                .and_then(|p| p.epoch_at(accepted_ms))
                .map_or(0, |e| e.epoch),
            Vec::new(),
        )));
    }
    match oracle.tags(who, accepted_ms, &values).await {
        Ok(tags) => Ok(Some(tags)),
        Err(e) => {
            tracing::warn!(ledger = %accepted.ledger(), error = %e, "pseudonyms unavailable; record not sealed");
            state.metrics.rejection("pseudonym_service_unavailable");
            let retry = match e {
                OracleError::RateLimited(secs) => secs,
                _ => 5,
            };
            Err(
                ApiError::new(503, "pseudonym_service_unavailable", e.to_string())
                    .retry_after(retry),
            )
        }
    }
}

/// A submission request: `{policy, idempotency_key, record}`, nothing else.
struct SubmitRequest {
    policy: String,
    /// A pinned policy version; absent: the newest published.
    version: Option<u32>,
    idempotency_key: String,
    record: Json,
}

fn parse_request(body: &[u8]) -> Result<SubmitRequest, ApiError> {
    // Strict JSON first: errors name a path, line and column, never content.
    // A record member is named as the schema names it (`amount`, not
    // `record.amount`), so both kinds of error point at the same field.
    let req = strict_body(body).map_err(|mut e| {
        if let Some(member) = e.field.as_deref().and_then(|f| f.strip_prefix("record.")) {
            e.field = Some(member.to_owned());
        }
        e
    })?;
    let Json::Object(mut obj) = req else {
        return Err(ApiError::new(
            400,
            "malformed_request",
            "request body must be a JSON object",
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["policy", "version", "idempotency_key", "record"].contains(&k.as_str()))
    {
        let k: String = k.chars().take(64).collect();
        return Err(ApiError::new(
            400,
            "malformed_request",
            format!("unknown request member `{k}`"),
        )
        .field(k));
    }
    let mut text = |k: &'static str| -> Result<String, ApiError> {
        match obj.remove(k) {
            Some(Json::String(s)) => Ok(s),
            _ => Err(
                ApiError::new(400, "malformed_request", format!("`{k}` must be a string")).field(k),
            ),
        }
    };
    let policy = text("policy")?;
    let idempotency_key = text("idempotency_key")?;
    let version = match obj.remove("version") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "malformed_request",
                        "`version` must be a whole number from 1 to 4294967295",
                    )
                    .field("version")
                })?,
        ),
    };
    let record = obj.remove("record").ok_or_else(|| {
        ApiError::new(400, "malformed_request", "`record` is required").field("record")
    })?;
    Ok(SubmitRequest {
        policy,
        version,
        idempotency_key,
        record,
    })
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
