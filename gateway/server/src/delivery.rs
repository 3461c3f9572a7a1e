//! The delivery worker: moves accepted envelopes from the outbox to their
//! ledger, oldest first, retrying with backoff while a ledger is down, and
//! anchors the audit log's head to the ledger now and then.
//!
//! Delivered is not forgotten: at start, after every outage and every few
//! seconds, [`reconcile`] checks that each ledger still holds the latest
//! deliveries and puts back in the outbox any it lost (a chain reorganised,
//! a node restarted from an older state), so an accepted record reaches the
//! ledger even if the ledger forgets it once.

use std::sync::Arc;
use std::time::Duration;

use crate::api::now_ms;
use crate::audit::{anchor_bytes, anchor_id};
use crate::state::AppState;
use crate::store::AuditEvent;

const BATCH: usize = 64;
const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often an idle worker re-checks the latest deliveries.
const RECONCILE_EVERY_MS: u64 = 5_000;

/// Runs until `stop` flips to true. Delivery order is acceptance order: a
/// failing entry is retried before any later one, so a ledger outage delays
/// but never reorders.
pub async fn run(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut backoff = BACKOFF_START;
    let mut last_anchor_ms = now_ms();
    // Reconcile first (the ledger may have lost entries while we were down).
    let mut reconcile_due = true;
    let mut last_reconcile_ms = 0;
    loop {
        if *stop.borrow() {
            break;
        }
        if reconcile_due || now_ms().saturating_sub(last_reconcile_ms) >= RECONCILE_EVERY_MS {
            let s = state.clone();
            match tokio::task::spawn_blocking(move || reconcile_all(&s)).await {
                Ok(Ok(())) => reconcile_due = false,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "checking the latest deliveries failed; will retry")
                }
                Err(_) => {}
            }
            last_reconcile_ms = now_ms();
        }
        let s = state.clone();
        let batch = match tokio::task::spawn_blocking(move || s.store.pending(BATCH)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading the outbox failed");
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        let mut failed = false;
        // Consecutive entries for one ledger go in one call (one transaction
        // on a chain); order is kept across ledgers.
        let mut rest = batch.as_slice();
        while let Some(first) = rest.first() {
            let run = rest.iter().take_while(|p| p.ledger == first.ledger).count();
            let (group, tail) = rest.split_at(run);
            rest = tail;
            let Some(ls) = state.ledgers.get(&first.ledger) else {
                tracing::error!(ledger = %first.ledger, "outbox entry for a ledger this gateway no longer serves; kept");
                failed = true;
                break;
            };
            let ledger = ls.ledger.clone();
            let items: Vec<_> = group
                .iter()
                .map(|p| (p.envelope_id, p.envelope.clone()))
                .collect();
            match tokio::task::spawn_blocking(move || ledger.append_batch(&items)).await {
                Ok(Ok(appended)) if appended.len() == group.len() => {
                    let s = state.clone();
                    let now = now_ms();
                    let done: Vec<_> = group
                        .iter()
                        .cloned()
                        .zip(appended.into_iter().map(|a| a.receipt))
                        .collect();
                    let recorded = tokio::task::spawn_blocking(move || {
                        done.iter().try_for_each(|(p, r)| {
                            s.store.delivered(p, r.sequence, &r.entry_hash, now)
                        })
                    })
                    .await;
                    if !matches!(recorded, Ok(Ok(()))) {
                        // The next pass re-appends; the ledger answers with these receipts.
                        tracing::error!(ledger = %first.ledger, "recording deliveries failed; will retry");
                        failed = true;
                        break;
                    }
                    for p in group {
                        let lag = state
                            .store
                            .submission(&p.envelope_id)
                            .ok()
                            .flatten()
                            .map_or(0, |s| now.saturating_sub(s.accepted_ms));
                        state.metrics.delivered(lag as f64 / 1000.0);
                    }
                    backoff = BACKOFF_START;
                }
                Ok(Ok(_)) => {
                    state.metrics.ledger_error();
                    tracing::error!(ledger = %first.ledger, "ledger returned a receipt count that differs from the batch; retrying");
                    failed = true;
                    break;
                }
                Ok(Err(e)) => {
                    state.metrics.ledger_error();
                    tracing::warn!(error = %e, ledger = %first.ledger, "ledger append failed; retrying with backoff");
                    failed = true;
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            // The ledger was unreachable or refused: check what it kept once it answers.
            reconcile_due = true;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
            continue;
        }
        if batch.len() == BATCH {
            continue;
        }
        if now_ms().saturating_sub(last_anchor_ms) >= state.config.audit_anchor_interval_ms {
            // A ledger call blocks (a chain round trip): off the async workers.
            let s = state.clone();
            let _ = tokio::task::spawn_blocking(move || anchor(&s)).await;
            last_anchor_ms = now_ms();
        }
        tokio::select! {
            _ = state.outbox_notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.changed() => {}
        }
    }
}

fn reconcile_all(state: &AppState) -> Result<(), String> {
    for id in state.ledgers.keys() {
        let n = reconcile(state, id)?;
        if n > 0 {
            tracing::warn!(ledger = %id, requeued = n, "the ledger lost deliveries; they are back in the outbox");
            state.outbox_notify.notify_one();
        }
    }
    Ok(())
}

/// Checks that `ledger_id` still holds the latest deliveries made to it and
/// puts back in the outbox, in their original order, those it lost. The
/// ledger is hash-chained, so the newest delivery still at its position with
/// its entry hash vouches for every older one: the walk stops there (one
/// read when nothing was lost). Returns how many were requeued.
pub fn reconcile(state: &AppState, ledger_id: &str) -> Result<usize, String> {
    let ls = state
        .ledgers
        .get(ledger_id)
        .ok_or_else(|| format!("no ledger `{ledger_id}`"))?;
    let mut requeued = 0;
    loop {
        let recent = state
            .store
            .recent_deliveries(ledger_id, 32)
            .map_err(|e| e.to_string())?;
        let mut progressed = false;
        for (p, sub) in &recent {
            let (Some(seq), Some(hash)) = (sub.sequence, sub.entry_hash.as_deref()) else {
                continue;
            };
            let held = ls.ledger.by_sequence(seq).map_err(|e| e.to_string())?;
            if held.is_some_and(|e| hex::encode(e.entry_hash) == hash) {
                return Ok(requeued);
            }
            state
                .store
                .requeue(p, now_ms())
                .map_err(|e| e.to_string())?;
            requeued += 1;
            progressed = true;
        }
        if !progressed {
            return Ok(requeued);
        }
    }
}

/// Writes the audit head to the first ledger, unless nothing but anchors
/// happened since the last one.
pub fn anchor(state: &AppState) {
    let Ok(Some(head)) = state.store.audit_head() else {
        return;
    };
    if head.action == "anchor" {
        return;
    }
    let Some((ledger_id, ls)) = state.ledgers.iter().next() else {
        return;
    };
    let Some(bytes) = anchor_bytes(&head) else {
        return;
    };
    match ls.ledger.append(anchor_id(head.seq), &bytes) {
        Ok(a) => {
            let _ = state.store.audit(
                now_ms(),
                AuditEvent {
                    actor: "gateway".into(),
                    action: "anchor".into(),
                    ledger: Some(ledger_id.clone()),
                    envelope_id: Some(hex::encode(anchor_id(head.seq))),
                    detail: Some(format!(
                        "audit entry {} anchored at ledger position {}",
                        head.seq, a.receipt.sequence
                    )),
                },
            );
        }
        Err(e) => tracing::warn!(error = %e, "anchoring the audit log failed; will retry"),
    }
}
