//! Reads: a submission's status (its submitter only), envelopes by id or
//! ledger position, published policies, and a followed ledger's verdicts.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::{authorize, blocking, parse_id, submission_body, unknown_policy};
use crate::boot::Gateway;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;

pub(super) async fn status(
    state: Arc<Gateway>,
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
pub(super) enum Lookup<'a> {
    Id(&'a str),
    Sequence(&'a str),
}

pub(super) async fn envelope(
    state: Arc<Gateway>,
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

/// All published policies, or the newest version of one (`id`).
pub(super) fn policies(
    state: &Gateway,
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
pub(super) async fn verdict(
    state: &Gateway,
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
    let found = blocking(move || verdicts.get(sequence)).await??;
    let v = found.ok_or_else(|| {
        ApiError::new(
            404,
            "no_verdict",
            format!("no verdict yet for position {sequence}"),
        )
    })?;
    // Serialised from the struct, not through a JSON map, so the members
    // come in the documented order (docs/formats/verdict.md).
    let text =
        serde_json::to_string(&v).map_err(|_| ApiError::internal("encoding the verdict failed"))?;
    Ok(ApiResponse::raw("application/json", text))
}
