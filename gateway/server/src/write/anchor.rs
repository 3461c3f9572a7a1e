//! Writes the audit log's head into the gateway's ledger whose id sorts
//! first (the ledgers are a sorted map), so a
//! rewritten log shows against the ledger (`crate::audit::anchor`).

use veilgate_codec::Codec;
use veilgate_ledger::LedgerError;

use super::Deliverer;
use crate::audit::anchor::Anchor;
use crate::audit::{Action, AuditEvent};
use crate::clock::now_ms;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnchorWriteError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Anchors the head unless nothing but anchors happened since the last one.
/// The anchor is audited; if that audit write fails, the error is returned
/// (the anchor itself is on the ledger, and the next one supersedes it).
pub fn anchor(d: &Deliverer) -> Result<(), AnchorWriteError> {
    let Some(head) = d.store.audit_head()? else {
        return Ok(());
    };
    if head.event.action == Action::Anchor {
        return Ok(());
    }
    let Some((ledger_id, ledger)) = d.ledgers.iter().next() else {
        return Ok(());
    };
    let anchor = Anchor::of(&head);
    let appended = ledger.append(anchor.id(), &anchor.to_bytes())?;
    d.store.audit(
        now_ms(),
        AuditEvent {
            ledger: Some(ledger_id.clone()),
            envelope_id: Some(anchor.id()),
            detail: Some(format!(
                "audit entry {} anchored at ledger position {}",
                head.seq, appended.receipt.sequence
            )),
            ..AuditEvent::gateway(Action::Anchor)
        },
    )?;
    Ok(())
}
