//! `POST …/envelopes/{id}/open`: the gateway opens, for an institution it
//! hosts, the fields of a stored envelope addressed to it, after verifying
//! the envelope as a peer would. Every opening is audited.

use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::{authorize, blocking, compute, hosted_keyring, parse_id};
use crate::audit::{Action, AuditEvent};
use crate::boot::Gateway;
use crate::clock::now_ms;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;

/// Opens, for the caller, the fields of an envelope addressed to it. The
/// gateway holds the caller's key (it is the caller's own gateway).
pub(super) async fn open(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    id: &str,
    query: &str,
) -> Result<ApiResponse, ApiError> {
    let check = match query {
        "" => false,
        "check_pseudonyms=true" => true,
        _ => {
            return Err(ApiError::new(
                400,
                "bad_query",
                "the query takes `check_pseudonyms=true` only",
            )
            .field("check_pseudonyms"))
        }
    };
    let (caller, ls) = authorize(&state, caller, ledger)?;
    let keyring = hosted_keyring(&state, &caller.institution, ls)?;
    let id = parse_id(id)?;
    let store = ls.ledger.clone();
    let entry = blocking(move || store.by_id(&id)).await??.ok_or_else(|| {
        ApiError::new(404, "not_on_ledger", "no such envelope on this ledger").field("envelope_id")
    })?;
    let (s2, ledger2) = (state.clone(), ledger.to_owned());
    let envelope = entry.envelope.clone();
    let fields = compute(&state, move || {
        let ls = s2
            .ledgers
            .get(&ledger2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        let trust = ls.trust_refreshed();
        let verified = veilgate_core::verify(&entry.envelope, &trust, &mut rand_core::OsRng)
            .map_err(|r| {
                ApiError::new(
                    422,
                    "rejected",
                    format!("the stored envelope does not verify: {r}"),
                )
            })?;
        refuse_frozen(&verified, &trust.directory, &keyring.member)?;
        // A member-key pseudonym is checked against the value; an oblivious
        // one can only be by asking the service again (docs/pseudonyms.md).
        let member_key = match &ls.pseudonyms {
            crate::boot::LedgerPseudonyms::MemberKey(k) => Some(k),
            crate::boot::LedgerPseudonyms::Oblivious(_) => None,
        };
        veilgate_core::open(&verified, &*keyring, member_key).map_err(|e| match e {
            veilgate_core::OpenError::NotARecipient(_) => {
                ApiError::new(403, "not_a_recipient", e.to_string())
            }
            veilgate_core::OpenError::KeyNotHeld { .. } => {
                ApiError::new(409, "key_not_held", e.to_string())
            }
            veilgate_core::OpenError::KeyStore { .. } => {
                tracing::error!(error = %e, "key store failed while opening");
                ApiError::new(
                    503,
                    "key_store_unavailable",
                    "the key store failed; see the gateway's log",
                )
                .retry_after(5)
            }
            other => ApiError::new(422, "open_failed", other.to_string()),
        })
    })
    .await??;
    let checked = if check {
        Some(check_pseudonyms(ls, &caller.institution, &envelope, &fields).await?)
    } else {
        None
    };
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution.clone(),
            action: Action::Open,
            ledger: Some(ledger.to_owned()),
            envelope_id: Some(id),
            detail: Some(format!("{} fields", fields.len())),
        },
    )?;
    let out: serde_json::Map<String, Json> = fields
        .into_iter()
        .map(|f| (f.name, f.value.to_json()))
        .collect();
    let mut body = json!({ "ledger": ledger, "envelope_id": hex::encode(id), "fields": out });
    if let (Some(n), Some(o)) = (checked, body.as_object_mut()) {
        o.insert("pseudonyms_confirmed".into(), n.into());
    }
    Ok(ApiResponse::json(200, body))
}

/// Has the ledger's service evaluate again each opened value the envelope
/// carries as an oblivious pseudonym, and compares: a submitter's gateway
/// that wrote a tag that is not its value's is caught here (peers cannot
/// see the value; only a recipient can check). Costs the caller's budget
/// at the service, one element per value not in the cache. Returns how
/// many pseudonyms were confirmed; a mismatch is 409 `pseudonym_mismatch`.
async fn check_pseudonyms(
    ls: &crate::boot::LedgerState,
    who: &str,
    envelope: &[u8],
    fields: &[veilgate_core::OpenedField],
) -> Result<usize, ApiError> {
    let crate::boot::LedgerPseudonyms::Oblivious(oracle) = &ls.pseudonyms else {
        return Ok(0);
    };
    let env = veilgate_core::Envelope::decode(envelope)
        .map_err(|_| ApiError::internal("a stored envelope does not decode"))?;
    // (field, tag on the ledger, the opened value's canonical encoding)
    type Claimed<'a> = (&'a str, [u8; 32], zeroize::Zeroizing<Vec<u8>>);
    let claimed: Vec<Claimed<'_>> = env
        .fields
        .iter()
        .filter_map(|f| match f.body {
            veilgate_core::FieldBody::Oblivious { tag, .. } => {
                fields.iter().find(|o| o.name == f.name).map(|o| {
                    (
                        f.name.as_str(),
                        tag,
                        zeroize::Zeroizing::new(o.value.encode()),
                    )
                })
            }
            _ => None,
        })
        .collect();
    if claimed.is_empty() {
        return Ok(0);
    }
    let values: Vec<zeroize::Zeroizing<Vec<u8>>> =
        claimed.iter().map(|(_, _, v)| v.clone()).collect();
    let tags = oracle
        .tags(who, env.timestamp_ms, &values)
        .await
        .map_err(|e| {
            let retry = match e {
                crate::pseudonym::client::OracleError::RateLimited(s) => s,
                _ => 5,
            };
            ApiError::new(503, "pseudonym_service_unavailable", e.to_string()).retry_after(retry)
        })?;
    for (name, tag, value) in &claimed {
        if tags.tag_of(value) != Some(*tag) {
            return Err(ApiError::new(
                409,
                "pseudonym_mismatch",
                format!("field `{name}`: the pseudonymisation service does not give this envelope's pseudonym for the value it opens to; its submitter's gateway wrote a wrong pseudonym"),
            )
            .field(name.to_string()));
        }
    }
    Ok(claimed.len())
}

/// A key reported lost or compromised opens nothing through the API: the
/// caller's wrap key in this envelope (named, or in force at its time).
fn refuse_frozen(
    verified: &veilgate_core::VerifiedEnvelope,
    directory: &veilgate_core::LedgerDirectory,
    member: &str,
) -> Result<(), ApiError> {
    let env = verified.envelope();
    let Some(m) = directory.member(member) else {
        return Ok(());
    };
    let named = env
        .recipients
        .iter()
        .find(|r| r.institution == member)
        .and_then(|r| r.key.map(|k| k.id));
    let key = match named {
        Some(id) => m.key(&id),
        None => m.key_at(env.timestamp_ms),
    };
    match key.and_then(|k| k.frozen_from_ms.map(|f| (k.id, f))) {
        Some((id, from)) => Err(ApiError::new(
            409,
            "key_frozen",
            format!("key {id} of `{member}` is frozen since {from} ms (reported lost or compromised); it opens nothing"),
        )),
        None => Ok(()),
    }
}
