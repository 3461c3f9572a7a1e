//! Admission and permission per request: the caller's certificate is not
//! revoked (checked for every route, [`not_revoked`]), was issued by one of
//! the ledger's CAs, and names a member admitted now ([`authorize`]).
//! Reloading the revocation list is audited before the request goes on; if
//! that audit write fails, so does the request.

use crate::audit::{Action, AuditEvent};
use crate::boot::{Gateway, LedgerState};
use crate::clock::now_ms;
use crate::identity::Caller;
use crate::revocation::Reloaded;

use super::error::ApiError;

/// Refuses a revoked caller, after picking up a changed revocation list.
pub fn not_revoked(gw: &Gateway, caller: Option<&Caller>) -> Result<(), ApiError> {
    reload_revocations(gw)?;
    match caller {
        Some(c) if gw.revocations.current().is_revoked(c) => Err(ApiError::new(
            403,
            "revoked",
            format!("the certificate of `{}` is revoked", c.institution),
        )),
        _ => Ok(()),
    }
}

/// `/metrics` is for the institutions this gateway hosts and the
/// configured `metrics_readers`: request counts by route are traffic
/// another member should not see.
pub fn metrics_reader(gw: &Gateway, caller: Option<&Caller>) -> Result<(), ApiError> {
    let Some(c) = caller else {
        return Err(ApiError::new(
            401,
            "unauthenticated",
            "the client certificate names no institution (common name)",
        ));
    };
    if gw.hosted.contains_key(&c.institution) || gw.config.metrics_readers.contains(&c.institution)
    {
        return Ok(());
    }
    Err(ApiError::new(
        403,
        "not_a_metrics_reader",
        format!("`{}` may not read this gateway's metrics", c.institution),
    ))
}

pub fn authorize<'a>(
    gw: &'a Gateway,
    caller: Option<Caller>,
    ledger: &str,
) -> Result<(Caller, &'a LedgerState), ApiError> {
    let caller = caller
        .ok_or_else(|| ApiError::new(401, "unauthenticated", "a client certificate is required"))?;
    not_revoked(gw, Some(&caller))?;
    let ls = gw.ledgers.get(ledger).ok_or_else(|| {
        ApiError::new(
            404,
            "unknown_ledger",
            "this gateway serves no ledger of that name",
        )
        .field("ledger")
    })?;
    // Before the CA check, which would only say "wrong CA": the caller
    // reached the listener of the other suite.
    if caller.tls.name() != ls.trust.directory.suite {
        return Err(ApiError::new(
            403,
            "wrong_tls_suite",
            format!(
                "ledger `{ledger}` is served over the TLS of its suite `{}`; this connection came to the `{}` listener",
                ls.trust.directory.suite,
                caller.tls.name()
            ),
        ));
    }
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
        Reloaded::Changed(set) => {
            let counts = set.counts();
            let detail = counts
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ");
            gw.store.audit(
                now_ms(),
                AuditEvent {
                    detail: Some(format!(
                        "revocations in force: {detail} (from {} CRLs)",
                        set.crls
                    )),
                    ..AuditEvent::gateway(Action::PermissionsReloaded)
                },
            )?;
            gw.metrics.revocations(&counts);
            tracing::info!(
                certificates = set.fingerprints.len(),
                serials = set.serials.len() - set.crl_entries,
                crl_entries = set.crl_entries,
                crls = set.crls,
                institutions = set.institutions.len(),
                "revocation list reloaded"
            );
        }
        Reloaded::Invalid(e) => {
            gw.metrics.revocations_invalid();
            // The alert: recorded in the audit log too, so a supervisor sees
            // that an edit did not take effect.
            gw.store.audit(
                now_ms(),
                AuditEvent {
                    detail: Some(format!("revocation list refused, previous one kept: {e}")),
                    ..AuditEvent::gateway(Action::PermissionsReloaded)
                },
            )?;
            tracing::error!(error = %e, "revocation list is invalid; keeping the previous one")
        }
        Reloaded::Unchanged => {}
    }
    Ok(())
}
