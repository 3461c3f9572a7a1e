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

/// The ledgers this gateway serves the caller on (a member, over this
/// listener's TLS, with a certificate of the ledger's CA), each with its
/// length and head.
pub(super) async fn ledgers(
    state: Arc<Gateway>,
    caller: Option<Caller>,
) -> Result<ApiResponse, ApiError> {
    let mut list = Vec::new();
    for id in state.ledgers.keys() {
        let Ok((_, ls)) = authorize(&state, caller.clone(), id) else {
            continue;
        };
        let store = ls.ledger.clone();
        let head = blocking(move || store.head()).await??;
        list.push(json!({
            "id": id,
            "suite": ls.trust.directory.suite,
            "length": head.as_ref().map_or(0, |h| h.sequence + 1),
            "head": head.map(|h| json!({ "sequence": h.sequence, "entry_hash": hex::encode(h.entry_hash) })),
        }));
    }
    Ok(ApiResponse::json(200, json!({ "ledgers": list })))
}

/// Most entries one page lists.
const MAX_PAGE: u64 = 1000;

/// A page of the ledger's entries from position `from` (default 0), at most
/// `limit` (default 100, at most 1000): each entry's position, id, hash and
/// time, and what it is — for an envelope its policy and submitter, which
/// every member reads in the envelope's header anyway.
pub(super) async fn entries(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    query: &str,
) -> Result<ApiResponse, ApiError> {
    let (_, ls) = authorize(&state, caller, ledger)?;
    let (mut from, mut limit) = (0u64, 100u64);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value.parse::<u64>().map_err(|_| {
                ApiError::new(
                    400,
                    "malformed_request",
                    format!("`{key}` must be a whole number"),
                )
                .field(key.to_owned())
            })
        };
        match key {
            "from" => from = number()?,
            "limit" => limit = number()?,
            _ => {
                return Err(ApiError::new(
                    400,
                    "malformed_request",
                    "the query takes `from` and `limit` only",
                )
                .field(key.chars().take(64).collect::<String>()))
            }
        }
    }
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            400,
            "malformed_request",
            format!("`limit` must be between 1 and {MAX_PAGE}"),
        )
        .field("limit"));
    }
    let store = ls.ledger.clone();
    let (length, page) = blocking(move || {
        let length = store.head()?.map_or(0, |h| h.sequence + 1);
        let mut page = Vec::new();
        let mut seq = from;
        while seq < length && seq - from < limit {
            if let Some(e) = store.by_sequence(seq)? {
                page.push(e);
            }
            seq += 1;
        }
        Ok::<_, veilgate_ledger::LedgerError>((length, page))
    })
    .await??;
    let list: Vec<Json> = page.iter().map(entry_summary).collect();
    let next = from.saturating_add(list.len() as u64);
    Ok(ApiResponse::json(
        200,
        json!({
            "ledger": ledger,
            "length": length,
            "entries": list,
            "next": if next < length { Some(next) } else { None },
        }),
    ))
}

fn entry_summary(e: &veilgate_ledger::Entry) -> Json {
    let mut o = json!({
        "sequence": e.sequence,
        "id": hex::encode(e.envelope_id),
        "entry_hash": hex::encode(e.entry_hash),
        "appended_ms": e.appended_ms,
    });
    let kind = if crate::audit::anchor::in_entry(&e.envelope_id, &e.envelope).is_some() {
        json!({ "kind": "audit_anchor" })
    } else if let Some(root) = veilgate_core::sets::in_entry(&e.envelope_id, &e.envelope) {
        json!({ "kind": "set_root", "set": root.set, "version": root.version })
    } else if let Some(k) = veilgate_core::keybook::in_entry(&e.envelope_id, &e.envelope) {
        let change = match k.change {
            veilgate_core::keybook::KeyChange::Announce { .. } => "announce",
            veilgate_core::keybook::KeyChange::Freeze { .. } => "freeze",
        };
        json!({ "kind": "key_event", "change": change, "member": k.member, "key_id": k.key.hex(), "time_ms": k.time_ms })
    } else if let Ok(env) = veilgate_core::Envelope::decode(&e.envelope) {
        json!({
            "kind": "envelope",
            "policy": { "id": env.policy.id, "version": env.policy.version },
            "submitter": env.submitter,
        })
    } else {
        json!({ "kind": "unreadable" })
    };
    if let (Some(o), Some(k)) = (o.as_object_mut(), kind.as_object()) {
        o.extend(k.clone());
    }
    o
}
