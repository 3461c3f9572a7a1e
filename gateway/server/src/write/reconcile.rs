//! Reconciliation: a ledger that forgot deliveries (a chain reorganised, a
//! node restarted from an older state) gets them again, in their original
//! order, each requeue audited.

use veilgate_ledger::LedgerError;

use super::Deliverer;
use crate::audit::{Action, AuditEvent};
use crate::clock::now_ms;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    #[error("no ledger `{0}`")]
    UnknownLedger(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) fn reconcile_all(d: &Deliverer) -> Result<(), ReconcileError> {
    for id in d.ledgers.keys() {
        let n = reconcile(d, id)?;
        if n > 0 {
            tracing::warn!(ledger = %id, requeued = n, "the ledger lost deliveries; they are back in the outbox");
            d.pipeline.outbox_grew();
        }
    }
    Ok(())
}

/// Checks that `ledger_id` still holds the latest deliveries made to it and
/// puts back in the outbox, in their original order, those it lost. The
/// ledger is hash-chained, so the newest delivery still at its position with
/// its entry hash vouches for every older one: the walk back from the newest
/// stops there (one read when nothing was lost). The lost ones are requeued
/// oldest first, so the audit log lists them in delivery order; a crash
/// midway leaves the newer ones lost for the next pass. Returns how many
/// were requeued.
pub fn reconcile(d: &Deliverer, ledger_id: &str) -> Result<usize, ReconcileError> {
    const PAGE: usize = 32;
    let ledger = d
        .ledgers
        .get(ledger_id)
        .ok_or_else(|| ReconcileError::UnknownLedger(ledger_id.to_owned()))?;
    let mut lost = Vec::new();
    'walk: for page in 0.. {
        let recent = d.store.recent_deliveries(ledger_id, page * PAGE, PAGE)?;
        for (p, sub) in &recent {
            let (Some(seq), Some(hash)) = (sub.sequence, sub.entry_hash.as_deref()) else {
                continue;
            };
            let held = ledger.by_sequence(seq)?;
            if held.is_some_and(|e| hex::encode(e.entry_hash) == hash) {
                break 'walk;
            }
            lost.push(p.clone());
        }
        if recent.len() < PAGE {
            break;
        }
    }
    for p in lost.iter().rev() {
        let audit = AuditEvent {
            ledger: Some(p.value.ledger.clone()),
            envelope_id: Some(p.value.envelope_id),
            detail: Some("the ledger no longer holds this delivery; delivering again".into()),
            ..AuditEvent::gateway(Action::Requeue)
        };
        d.store.requeue(p, now_ms(), audit)?;
    }
    Ok(lost.len())
}
