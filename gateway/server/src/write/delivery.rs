//! The delivery worker: moves queued envelopes from the outbox to their
//! ledger, oldest first, retrying with backoff while a ledger is down, and
//! anchors the audit log's head to the ledger now and then.
//!
//! Consecutive entries for one ledger go in one ledger call (one
//! transaction on a chain) and their receipts in one store transaction;
//! then the requests waiting for them are told. Delivered is not
//! forgotten: at start, after every outage and every few seconds,
//! [`super::reconcile`] checks that each ledger still holds the latest
//! deliveries and puts back in the outbox any it lost.

use std::sync::Arc;
use std::time::Duration;

use veilgate_ledger::Appended;

use super::Deliverer;
use crate::clock::now_ms;
use crate::store::{Delivery, Pending};

const BATCH: usize = 64;
const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often an idle worker re-checks the latest deliveries.
const RECONCILE_EVERY_MS: u64 = 5_000;

/// Why a pass stopped early; the worker backs off and retries.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error("outbox entry for ledger `{0}`, which this gateway no longer serves; kept")]
    UnknownLedger(String),
    #[error("ledger `{ledger}`: {source}")]
    Ledger {
        ledger: String,
        #[source]
        source: veilgate_ledger::LedgerError,
    },
    #[error("ledger `{ledger}` returned {got} receipts for {sent} envelopes")]
    ReceiptCount {
        ledger: String,
        sent: usize,
        got: usize,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("a blocking task failed")]
    Join,
}

/// Runs until `stop` flips to true. Delivery order is acceptance order: a
/// failing entry is retried before any later one, so a ledger outage delays
/// but never reorders.
pub async fn run(d: Arc<Deliverer>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = BACKOFF_START;
    let mut last_anchor_ms = now_ms();
    // Reconcile first (the ledger may have lost entries while we were down).
    let mut reconcile_due = true;
    let mut last_reconcile_ms = 0;
    while !*stop.borrow() {
        if reconcile_due || now_ms().saturating_sub(last_reconcile_ms) >= RECONCILE_EVERY_MS {
            reconcile_due = !reconciled(&d).await;
            last_reconcile_ms = now_ms();
        }
        let full = match pass(&d).await {
            Ok(full) => full,
            Err(e) => {
                tracing::warn!(error = %e, "delivery failed; retrying with backoff");
                // The ledger was unreachable or refused: check what it kept once it answers.
                reconcile_due = true;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.changed() => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_START;
        if full {
            continue;
        }
        if now_ms().saturating_sub(last_anchor_ms) >= d.anchor_interval_ms {
            // A ledger call blocks (a chain round trip): off the async workers.
            let d2 = d.clone();
            let anchored = tokio::task::spawn_blocking(move || {
                if let Err(e) = d2.refusals.flush() {
                    tracing::error!(error = %e, "the summary of refusals could not be audited");
                }
                super::anchor::anchor(&d2)
            });
            match anchored.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "anchoring the audit log failed; will retry")
                }
                Err(e) => {
                    tracing::error!(error = %e, "anchoring the audit log panicked; will retry")
                }
            }
            last_anchor_ms = now_ms();
        }
        tokio::select! {
            _ = d.pipeline.outbox_notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Reconciles every ledger; whether it succeeded.
async fn reconciled(d: &Arc<Deliverer>) -> bool {
    let d2 = d.clone();
    match tokio::task::spawn_blocking(move || super::reconcile::reconcile_all(&d2)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "checking the latest deliveries failed; will retry");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "checking the latest deliveries panicked; will retry");
            false
        }
    }
}

/// Delivers up to one batch of the outbox; whether the batch was full
/// (more may wait).
async fn pass(d: &Arc<Deliverer>) -> Result<bool, PassError> {
    let d2 = d.clone();
    let batch = tokio::task::spawn_blocking(move || d2.store.pending(BATCH))
        .await
        .map_err(|_| PassError::Join)??;
    let full = batch.len() == BATCH;
    // Runs of consecutive entries for one ledger (moved, not copied); order
    // kept across ledgers.
    let mut batch = batch.into_iter().peekable();
    while let Some(first) = batch.next() {
        let ledger = first.value.ledger.clone();
        let mut group = vec![first];
        while let Some(p) = batch.next_if(|p| p.value.ledger == ledger) {
            group.push(p);
        }
        deliver_run(d, group).await?;
    }
    Ok(full)
}

/// Appends a run of entries for one ledger in one call, records the
/// receipts in one store transaction, and tells the waiters.
async fn deliver_run(d: &Arc<Deliverer>, mut group: Vec<Pending>) -> Result<(), PassError> {
    let Some(first) = group.first() else {
        return Ok(());
    };
    let ledger_id = first.value.ledger.clone();
    let ledger = d
        .ledgers
        .get(&ledger_id)
        .cloned()
        .ok_or_else(|| PassError::UnknownLedger(ledger_id.clone()))?;
    // The envelopes move to the ledger call; recording a delivery needs only
    // each entry's outbox key and id (the store moves its own bytes).
    let items: Vec<_> = group
        .iter_mut()
        .map(|p| (p.value.envelope_id, std::mem::take(&mut p.value.envelope)))
        .collect();
    let appended = tokio::task::spawn_blocking(move || ledger.append_batch(&items))
        .await
        .map_err(|_| PassError::Join)?
        .map_err(|source| {
            d.metrics.ledger_error();
            PassError::Ledger {
                ledger: ledger_id.clone(),
                source,
            }
        })?;
    let newest = appended
        .iter()
        .filter(|a| a.new)
        .filter_map(|a| a.appended_ms)
        .max();
    if let (Some(t), Some(clock)) = (newest, d.clocks.get(&ledger_id)) {
        clock.observe(t, true);
    }
    if appended.len() != group.len() {
        d.metrics.ledger_error();
        return Err(PassError::ReceiptCount {
            ledger: ledger_id,
            sent: group.len(),
            got: appended.len(),
        });
    }
    let d2 = d.clone();
    let now = now_ms();
    // The next pass re-appends if recording fails; the ledger answers with
    // the same receipts (exactly once by envelope id).
    let (group, subs) = tokio::task::spawn_blocking(move || {
        let batch: Vec<Delivery<'_>> = group
            .iter()
            .zip(&appended)
            .map(|(pending, a): (&Pending, &Appended)| Delivery {
                pending,
                sequence: a.receipt.sequence,
                entry_hash: a.receipt.entry_hash,
            })
            .collect();
        let subs = d2.store.delivered(&batch, now);
        (group, subs)
    })
    .await
    .map_err(|_| PassError::Join)?;
    for (p, sub) in group.iter().zip(subs?) {
        let Some(sub) = sub else { continue };
        d.metrics
            .delivered(now.saturating_sub(sub.accepted_ms) as f64 / 1000.0);
        d.pipeline.delivered(&p.value.envelope_id, &sub);
    }
    Ok(())
}
