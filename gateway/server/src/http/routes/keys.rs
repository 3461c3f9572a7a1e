//! Key custody on the ledger: a member rotates to a new key version, or
//! reports a key lost or compromised (a freeze). Each is a key event entry
//! (`VGKE`, docs/formats/key-event.md) that every peer applies from its
//! position, and an audit entry here.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use veilgate_core::keybook::{FreezeReason, KeyChange, KeyEvent, KeyEventError};
use veilgate_core::{EnvelopeSigner, KeyId, SuiteId};

use super::{authorize, blocking, hosted_keyring, hosted_signer};
use crate::audit::{Action, AuditEvent};
use crate::boot::{Gateway, LedgerState};
use crate::clock::now_ms;
use crate::http::error::{ApiError, ApiResponse};
use crate::identity::Caller;
use crate::keys::{Backend, HeldKey};

/// How long after its announcement a rotated key takes force by default:
/// time for the other gateways to read the announcement before envelopes
/// wrap to the new key.
pub const DEFAULT_ROTATION_LEAD_MS: u64 = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    #[serde(default)]
    valid_from_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Freeze {
    #[serde(default)]
    from_ms: Option<u64>,
    reason: String,
    /// Whose key: the caller's by default; another member's only for a
    /// holder of `key_authority`.
    #[serde(default)]
    member: Option<String>,
}

fn refusal(e: KeyEventError) -> ApiError {
    let status = match e {
        KeyEventError::KeyReused { .. } | KeyEventError::AlreadyFrozen { .. } => 409,
        KeyEventError::NotKeyAuthority { .. } => 403,
        KeyEventError::UnknownKey { .. } | KeyEventError::UnknownMember(_) => 404,
        _ => 422,
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_value(super::strict_body(body)?)
        .map_err(|e| ApiError::new(400, "malformed_request", format!("key request: {e}")))
}

/// `POST /v1/ledgers/{ledger}/keys/rotate`: a new key version for the
/// caller, made in its key store, announced on the ledger (signed by its
/// key in force now, with a proof of possession by the new key), in force
/// from `valid_from_ms` (default: 10 s from now).
pub(super) async fn rotate(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    request: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    let ring = hosted_keyring(&state, &caller.institution, ls)?;
    let req: Rotate = body(request)?;
    let now = now_ms();
    let valid_from = req
        .valid_from_ms
        .unwrap_or(now.saturating_add(DEFAULT_ROTATION_LEAD_MS));
    let suite = SuiteId::from_name(&ls.trust.directory.suite).unwrap_or(SuiteId::Standard);
    let signer = hosted_signer(
        &state,
        &caller.institution,
        ls,
        &ls.trust_refreshed().directory,
        now,
    )?;
    let previous = signer.key_id();
    // The new key: made in the store the member's keys are in.
    let held = match ring.backend {
        Backend::File => {
            let distid = ls
                .trust
                .directory
                .member(&caller.institution)
                .and_then(|m| m.distid.clone());
            let s = veilgate_core::InstitutionSecrets::generate(
                &caller.institution,
                suite,
                &mut rand_core::OsRng,
            )
            .with_distid(distid);
            HeldKey::File(s)
        }
        Backend::Pkcs11 => {
            let token = state.token.clone().ok_or_else(|| {
                ApiError::internal("the keyring is in a token the gateway has not opened")
            })?;
            let member = caller.institution.clone();
            let key = blocking(move || token.generate_and_load(&member))
                .await?
                .map_err(|e| {
                    tracing::error!(error = %e, "key generation in the token failed");
                    ApiError::new(
                        503,
                        "key_store_unavailable",
                        "the token failed; see the gateway's log",
                    )
                    .retry_after(5)
                })?;
            HeldKey::Token(key)
        }
    };
    let new = held.key().clone();
    let new_signer = match &held {
        HeldKey::File(s) => Arc::new(s.clone()) as Arc<dyn EnvelopeSigner>,
        HeldKey::Token(t) => Arc::new(t.clone()),
        HeldKey::Recovered(_) => {
            return Err(ApiError::internal("a new key cannot be a recovered one"))
        }
    };
    let possession = new_signer
        .sign(&KeyEvent::possession_input(
            ledger,
            &caller.institution,
            &new.id,
        ))
        .map_err(|e| key_store(&e))?;
    let mut event = KeyEvent {
        suite,
        ledger: ledger.to_owned(),
        member: caller.institution.clone(),
        key: new.id,
        time_ms: valid_from,
        change: KeyChange::Announce {
            kem: new.kem,
            sign_public: new.sign_public.clone(),
            kem_public: new.kem_public.clone(),
            possession,
        },
        signer: caller.institution.clone(),
        signed_ms: now,
        signature: Vec::new(),
    };
    event.signature = signer
        .sign(&event.signature_input())
        .map_err(|e| key_store(&e))?;
    ls.sets.check_key_event(&event).map_err(refusal)?;
    // The key is stored before it is announced: an announced key the
    // gateway lost would leave the member unable to sign after `valid_from`.
    if let HeldKey::File(s) = &held {
        crate::keys::file::store_rotated(&state.data_dir, s).map_err(|e| {
            tracing::error!(error = %e, "the new key could not be stored");
            ApiError::internal("the new key could not be stored")
        })?;
    }
    ring.add(held);
    let appended = append(&state, ledger, event.clone()).await?;
    // The directory file lists it too, so this gateway's next start (and
    // `config check`) knows the key its store holds; the ledger's entry is
    // what every other gateway and peer goes by.
    let mut listed = new.clone();
    listed.from_ms = Some(valid_from);
    if let Err(e) = list_in_directory(&state, ledger, &caller.institution, listed) {
        tracing::error!(error = %e, "the new key could not be written to the directory file");
    }
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution.clone(),
            action: Action::KeyRotate,
            ledger: Some(ledger.to_owned()),
            envelope_id: Some(event.id()),
            detail: Some(format!("{} from {valid_from}; previous {previous}", new.id)),
        },
    )?;
    tracing::info!(member = %caller.institution, ledger, key_id = %new.id, valid_from, "key rotated");
    Ok(ApiResponse::json(
        201,
        json!({
            "member": caller.institution,
            "key_id": new.id.hex(),
            "kem": new.kem.name(),
            "sign_public": hex::encode(&new.sign_public),
            "kem_public": hex::encode(&new.kem_public),
            "valid_from_ms": valid_from,
            "previous_key_id": previous.hex(),
            "entry_id": hex::encode(event.id()),
            "sequence": appended,
        }),
    ))
}

/// `POST /v1/ledgers/{ledger}/keys/{key_id}/freeze`: reports the key lost or
/// compromised from `from_ms` (default now). From the entry on, peers reject
/// what it signs at or after `from_ms`, and this gateway wraps nothing to it
/// and opens nothing with it.
pub(super) async fn freeze(
    state: Arc<Gateway>,
    caller: Option<Caller>,
    ledger: &str,
    key_id: &str,
    request: &[u8],
) -> Result<ApiResponse, ApiError> {
    let (caller, ls) = authorize(&state, caller, ledger)?;
    hosted_keyring(&state, &caller.institution, ls)?;
    let req: Freeze = body(request)?;
    let key = KeyId::from_hex(key_id).ok_or_else(|| {
        ApiError::new(400, "invalid_key_id", "a key id is 32 lowercase hex digits").field("key_id")
    })?;
    let reason = FreezeReason::from_name(&req.reason).ok_or_else(|| {
        ApiError::new(422, "invalid_reason", "`reason` is `lost` or `compromised`").field("reason")
    })?;
    let now = now_ms();
    let from = req.from_ms.unwrap_or(now);
    let member = req.member.unwrap_or_else(|| caller.institution.clone());
    let suite = SuiteId::from_name(&ls.trust.directory.suite).unwrap_or(SuiteId::Standard);
    let directory = ls.trust_refreshed().directory;
    // Signed by the caller's key in force now — even the key being frozen:
    // a member whose only key is lost still reports it.
    let signer = hosted_signer(&state, &caller.institution, ls, &directory, now)?;
    let mut event = KeyEvent {
        suite,
        ledger: ledger.to_owned(),
        member: member.clone(),
        key,
        time_ms: from,
        change: KeyChange::Freeze { reason },
        signer: caller.institution.clone(),
        signed_ms: now,
        signature: Vec::new(),
    };
    event.signature = signer
        .sign(&event.signature_input())
        .map_err(|e| key_store(&e))?;
    ls.sets.check_key_event(&event).map_err(refusal)?;
    let appended = append(&state, ledger, event.clone()).await?;
    state.store.audit(
        now_ms(),
        AuditEvent {
            actor: caller.institution.clone(),
            action: Action::KeyFreeze,
            ledger: Some(ledger.to_owned()),
            envelope_id: Some(event.id()),
            detail: Some(format!("{key} of {member} from {from}, {}", reason.name())),
        },
    )?;
    tracing::warn!(member = %member, ledger, key_id = %key, from, reason = reason.name(), "key frozen");
    Ok(ApiResponse::json(
        201,
        json!({
            "member": member,
            "key_id": key.hex(),
            "frozen_from_ms": from,
            "reason": reason.name(),
            "entry_id": hex::encode(event.id()),
            "sequence": appended,
        }),
    ))
}

/// Appends a key event after checking it against the ledger as it is now,
/// and takes it into the gateway's book at once. Its sequence.
async fn append(state: &Arc<Gateway>, ledger: &str, event: KeyEvent) -> Result<u64, ApiError> {
    let (state2, ledger2) = (state.clone(), ledger.to_owned());
    blocking(move || -> Result<u64, ApiError> {
        let ls: &LedgerState = state2
            .ledgers
            .get(&ledger2)
            .ok_or_else(|| ApiError::new(404, "unknown_ledger", "no such ledger"))?;
        ls.sets.refresh(&*ls.ledger)?;
        ls.sets.check_key_event(&event).map_err(refusal)?;
        let appended = ls.ledger.append(event.id(), &event.encode())?;
        ls.sets.refresh(&*ls.ledger)?;
        Ok(appended.receipt.sequence)
    })
    .await?
}

/// Adds `key` to `member`'s keys on `ledger` in the directory file
/// (written to a temporary file and renamed).
fn list_in_directory(
    state: &Gateway,
    ledger: &str,
    member: &str,
    key: veilgate_core::MemberKey,
) -> Result<(), String> {
    let path = state.data_dir.join(&state.config.directory);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut dir = veilgate_core::Directory::from_json(&text).map_err(|e| e.to_string())?;
    let m = dir
        .ledgers
        .iter_mut()
        .find(|l| l.ledger == ledger)
        .and_then(|l| l.members.iter_mut().find(|m| m.id == member))
        .ok_or_else(|| format!("`{member}` is not on `{ledger}` in {}", path.display()))?;
    if m.key(&key.id).is_none() {
        m.keys.push(key);
    }
    let out = serde_json::to_string_pretty(&dir).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, out + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

fn key_store(e: &veilgate_core::KeyUseError) -> ApiError {
    tracing::error!(error = %e, "signing a key event failed");
    ApiError::new(
        503,
        "key_store_unavailable",
        "the key store failed; see the gateway's log",
    )
    .retry_after(5)
}
