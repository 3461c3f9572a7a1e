//! Admission and permission per request: the caller's certificate is not
//! revoked, was issued by one of the ledger's CAs, and names a member
//! admitted now. Reloading the revocation list is audited before the
//! request goes on; if that audit write fails, so does the request.

use crate::audit::{Action, AuditEvent};
use crate::boot::{Gateway, LedgerState};
use crate::clock::now_ms;
use crate::identity::{Caller, Reloaded};

use super::error::ApiError;

pub fn authorize<'a>(
    gw: &'a Gateway,
    caller: Option<Caller>,
    ledger: &str,
) -> Result<(Caller, &'a LedgerState), ApiError> {
    let caller = caller
        .ok_or_else(|| ApiError::new(401, "unauthenticated", "a client certificate is required"))?;
    reload_revocations(gw)?;
    if gw.revocations.is_revoked(&caller) {
        return Err(ApiError::new(
            403,
            "revoked",
            format!("the certificate of `{}` is revoked", caller.institution),
        ));
    }
    let ls = gw.ledgers.get(ledger).ok_or_else(|| {
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
        .trust
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

/// Picks up a changed revocation list (audited) before judging the caller.
fn reload_revocations(gw: &Gateway) -> Result<(), ApiError> {
    match gw.revocations.refresh() {
        Reloaded::Changed(list) => {
            let detail = format!(
                "{} certificates and {} institutions revoked",
                list.certificates.len(),
                list.institutions.len()
            );
            gw.store.audit(
                now_ms(),
                AuditEvent {
                    detail: Some(detail),
                    ..AuditEvent::gateway(Action::PermissionsReloaded)
                },
            )?;
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
    Ok(())
}
