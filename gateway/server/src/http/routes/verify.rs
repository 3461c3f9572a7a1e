//! `POST …/verify`: verifies an envelope given in the request, as a peer
//! would, and audits the verdict.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{json, Value as Json};

use super::{authorize, blocking, compute};
use crate::audit::{Action, AuditEvent};
use crate::boot::Gateway;
use crate::clock::now_ms;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;

/// Verifies an envelope given in the request, as a peer would.
pub(super) async fn verify(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    body: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, _) = authorize(&state, caller, ledger)?;
    let req = super::strict_body(body)?;
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
        let verdict = s2
            .ledgers
            .get(&ledger2)
            .map(|ls| veilgate_core::verify(&bytes, &ls.trust_refreshed(), &mut rand_core::OsRng));
        (verdict, bytes)
    })
    .await?;
    let verdict = verdict.ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
    let envelope_id = veilgate_core::Envelope::decode(&bytes).ok().map(|e| e.id);
    // A valid envelope's signed time, as a peer holds it: against the
    // ledger's time for its entry when it is on the ledger, else only "not
    // in the future".
    let time = match &verdict {
        Ok(v) => {
            let (signed, id) = (v.envelope().timestamp_ms, v.envelope().id);
            let ls = state.ledgers.get(ledger).map(|ls| ls.ledger.clone());
            let on_ledger = match ls {
                Some(l) => blocking(move || l.by_id(&id)).await?.ok().flatten(),
                None => None,
            };
            let skew = state.config.time;
            match on_ledger.and_then(|e| e.appended_ms) {
                Some(ledger_ms) => skew.check(signed, ledger_ms).err(),
                None => skew.check_not_future(signed, now_ms()).err(),
            }
        }
        Err(_) => None,
    };
    let body = match (&verdict, &time) {
        (Ok(_), Some(t)) => {
            json!({ "accepted": false, "reason": t.code(), "message": t.to_string() })
        }
        (Ok(v), None) => {
            json!({ "accepted": true, "envelope_id": hex::encode(v.envelope().id), "policy": v.plan().id })
        }
        (Err(r), _) => json!({ "accepted": false, "reason": r.code(), "message": r.to_string() }),
    };
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution,
            action: Action::Verify,
            ledger: Some(ledger.to_owned()),
            envelope_id,
            detail: Some(match (verdict, time) {
                (Ok(_), Some(t)) => format!("rejected: {}", t.code()),
                (Ok(_), None) => "accepted".into(),
                (Err(r), _) => format!("rejected: {}", r.code()),
            }),
        },
    )?;
    Ok(ApiResponse::json(200, body))
}
