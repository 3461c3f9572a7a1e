//! Sets on the ledger (`docs/sets.md`): `POST /v1/ledgers/{ledger}/sets`
//! publishes a set version's root, signed by the calling institution, which
//! must hold the role the directory names for the set; `GET .../sets` lists
//! the roots on the ledger; `GET .../sets/{set}` returns the file (members)
//! of the version in force, for members to recompute and prove against.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value as Json};
use veilgate_core::sets::{check_publish, SetContents, SetError, SetRoot};

use super::{authorize, blocking, hosted_signer};
use crate::audit::{Action, AuditEvent};
use crate::boot::Gateway;
use crate::clock::now_ms;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;

/// The publish request: a set file, and when the version takes force
/// (default: now; it may not be in the past or the future beyond clock skew).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    file: Json,
    #[serde(default)]
    valid_from_ms: Option<u64>,
}

/// A set error as the API answers it; the message names set, version and
/// rule, never a member.
fn refusal(e: SetError) -> ApiError {
    let (status, code, field) = match &e {
        SetError::NotPublisher { .. } => (403, "not_publisher", "file.set"),
        SetError::UnknownSet { .. } => (404, "unknown_set", "file.set"),
        SetError::Version { .. } => (409, "set_version", "file.version"),
        SetError::NotAfter { .. } => (409, "set_version", "valid_from_ms"),
        SetError::Future { .. } => (422, "set_in_future", "valid_from_ms"),
        SetError::WrongLedger { .. } => (422, "invalid_set_file", "file.ledger"),
        _ => (422, "invalid_set_file", "file"),
    };
    ApiError::new(status, code, e.to_string()).field(field)
}

pub(super) async fn publish(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    let req: Publish = serde_json::from_value(super::strict_body(body)?)
        .map_err(|e| ApiError::new(400, "malformed_request", format!("publish request: {e}")))?;
    let contents = SetContents::from_json(&req.file.to_string()).map_err(refusal)?;
    if contents.file.ledger != ledger {
        return Err(refusal(SetError::WrongLedger {
            set: contents.file.set.clone(),
            ledger: ledger.to_owned(),
            found: contents.file.ledger.clone(),
        }));
    }
    let now = now_ms();
    let valid_from = req.valid_from_ms.unwrap_or(now);
    let signer = hosted_signer(
        &state,
        &caller.institution,
        ls,
        &ls.trust_now().directory,
        now,
    )?;
    let entry = SetRoot::sign(&contents, valid_from, &*signer).map_err(|e| {
        tracing::error!(error = %e, "signing a set root failed");
        ApiError::new(
            503,
            "key_store_unavailable",
            "the key store failed; see the gateway's log",
        )
        .retry_after(5)
    })?;
    check_publish(&entry, now).map_err(refusal)?;
    if valid_from.saturating_add(veilgate_core::sets::MAX_CLOCK_SKEW_MS) < now {
        // Envelopes sealed since then against the version before would turn stale.
        return Err(ApiError::new(
            422,
            "set_in_past",
            format!(
                "set `{}` version {} would take force at {valid_from} ms, before now ({now} ms): records sealed since then against the previous version would turn stale",
                entry.set, entry.version
            ),
        )
        .field("valid_from_ms"));
    }
    let (state2, ledger2) = (state.clone(), ledger.to_owned());
    let entry2 = entry.clone();
    let appended = blocking(move || -> Result<_, ApiError> {
        let ls = state2
            .ledgers
            .get(&ledger2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        // Up to date first: the version must follow the last one on the ledger.
        ls.sets.refresh(&*ls.ledger)?;
        ls.sets.check(&entry2).map_err(refusal)?;
        // The file first: once the root is on the ledger, this gateway can prove against it.
        ls.sets.store_file(&contents).map_err(|e| {
            tracing::error!(error = %e, "set file could not be stored");
            ApiError::internal("the set file could not be stored")
        })?;
        let appended = ls.ledger.append(entry2.id(), &entry2.encode())?;
        ls.sets.refresh(&*ls.ledger)?;
        Ok(appended)
    })
    .await??;
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution,
            action: Action::SetPublish,
            ledger: Some(ledger.to_owned()),
            envelope_id: Some(entry.id()),
            detail: Some(format!("{} v{}", entry.set, entry.version)),
        },
    )?;
    Ok(ApiResponse::json(
        201,
        json!({
            "set": entry.set,
            "version": entry.version,
            "root": hex::encode(entry.root),
            "members": entry.members,
            "valid_from_ms": entry.valid_from_ms,
            "publisher": entry.publisher,
            "entry_id": hex::encode(entry.id()),
            "sequence": appended.receipt.sequence,
            "entry_hash": hex::encode(appended.receipt.entry_hash),
        }),
    ))
}

fn root_json(r: &SetRoot, in_force: bool) -> Json {
    json!({
        "set": r.set,
        "version": r.version,
        "root": hex::encode(r.root),
        "members": r.members,
        "valid_from_ms": r.valid_from_ms,
        "publisher": r.publisher,
        "in_force": in_force,
    })
}

/// Every root on the ledger, oldest first per set, marking the one in force now.
pub(super) async fn list(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
) -> Result<ApiResponse, ApiError> {
    authorize(&state, caller, ledger)?;
    let book = refreshed(&state, ledger).await?;
    let now = now_ms();
    let roots: Vec<Json> = book
        .roots()
        .map(|r| {
            let in_force = book.in_force(&r.set, now).map(|f| f.version) == Some(r.version);
            root_json(r, in_force)
        })
        .collect();
    Ok(ApiResponse::json(
        200,
        json!({ "ledger": ledger, "sets": roots }),
    ))
}

/// The file of the version of `set` in force now, if this gateway holds it.
pub(super) async fn file(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    set: &str,
) -> Result<ApiResponse, ApiError> {
    authorize(&state, caller, ledger)?;
    let book = refreshed(&state, ledger).await?;
    let not_found = |why: String| ApiError::new(404, "unknown_set", why).field("set");
    let root = book
        .in_force(set, now_ms())
        .ok_or_else(|| not_found(format!("no root of set `{set}` is in force on `{ledger}`")))?;
    let contents = book.contents(set, root.version).ok_or_else(|| {
        not_found(format!(
            "this gateway holds no file for set `{set}` version {}",
            root.version
        ))
    })?;
    Ok(ApiResponse::json(
        200,
        serde_json::to_value(&contents.file).unwrap_or(Json::Null),
    ))
}

async fn refreshed(
    state: &Arc<Gateway>,
    ledger: &str,
) -> Result<Arc<veilgate_core::sets::SetBook>, ApiError> {
    let (s2, l2) = (state.clone(), ledger.to_owned());
    blocking(move || -> Result<_, ApiError> {
        let ls = s2
            .ledgers
            .get(&l2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        Ok(ls.sets.refresh(&*ls.ledger)?)
    })
    .await?
}
