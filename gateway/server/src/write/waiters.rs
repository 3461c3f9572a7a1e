//! Requests waiting for their receipt, and the delivery worker's wake-up.
//!
//! A submit request registers a [`Waiter`] before its envelope is queued,
//! so a delivery that happens at once is never missed; the worker, after
//! committing a batch's receipts, sends each waiter its delivered
//! submission. No request polls the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

use crate::store::Submission;

#[derive(Default)]
pub struct Pipeline {
    waiting: Mutex<HashMap<[u8; 16], Vec<oneshot::Sender<Submission>>>>,
    outbox: Notify,
}

/// One request's claim on the receipt of an envelope. However the request
/// ends — answered, timed out, replayed, refused, or dropped mid-flight —
/// dropping the waiter removes its claim, so nothing accumulates.
pub struct Waiter {
    id: [u8; 16],
    rx: Option<oneshot::Receiver<Submission>>,
    pipeline: Arc<Pipeline>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        // Close the receiver first so `forget` sees this claim as gone.
        self.rx = None;
        self.pipeline.forget(&self.id);
    }
}

impl Waiter {
    /// The delivered submission, or `None` if it did not come within `timeout`.
    pub async fn wait(mut self, timeout: Duration) -> Option<Submission> {
        let rx = self.rx.take()?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(sub)) => Some(sub),
            _ => None,
        }
    }
}

impl Pipeline {
    /// Registers interest in the delivery of envelope `id`.
    pub fn watch(self: &Arc<Self>, id: [u8; 16]) -> Waiter {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.waiting.lock() {
            m.entry(id).or_default().push(tx);
        }
        Waiter {
            id,
            rx: Some(rx),
            pipeline: self.clone(),
        }
    }

    /// Drops the claims on `id` whose requests stopped waiting.
    fn forget(&self, id: &[u8; 16]) {
        if let Ok(mut m) = self.waiting.lock() {
            if let Some(v) = m.get_mut(id) {
                v.retain(|tx| !tx.is_closed());
                if v.is_empty() {
                    m.remove(id);
                }
            }
        }
    }

    /// Tells the requests waiting for `id` that it is on the ledger.
    pub fn delivered(&self, id: &[u8; 16], sub: &Submission) {
        let waiting = self.waiting.lock().ok().and_then(|mut m| m.remove(id));
        for tx in waiting.into_iter().flatten() {
            // A request that stopped waiting dropped its receiver: nothing to tell.
            let _ = tx.send(sub.clone());
        }
    }

    /// How many envelopes have a request waiting (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.waiting.lock().map_or(0, |m| m.len())
    }

    /// Wakes the delivery worker: the outbox grew.
    pub fn outbox_grew(&self) {
        self.outbox.notify_one();
    }

    /// Resolves when the outbox grew (or at once if it did since the last call).
    pub async fn outbox_notified(&self) {
        self.outbox.notified().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::State;

    fn sub() -> Submission {
        Submission {
            ledger: "l".into(),
            submitter: "bank-a".into(),
            policy: "p".into(),
            record_digest: "00".into(),
            state: State::OnLedger,
            accepted_ms: 1,
            sequence: Some(4),
            entry_hash: Some("ab".into()),
            delivered_ms: Some(2),
        }
    }

    #[tokio::test]
    async fn a_delivery_before_the_wait_is_not_missed() {
        let p = Arc::new(Pipeline::default());
        let w = p.watch([1; 16]);
        p.delivered(&[1; 16], &sub());
        let got = w.wait(Duration::from_millis(10)).await;
        assert_eq!(got.unwrap().sequence, Some(4));
        assert_eq!(p.waiting(), 0);
    }

    #[tokio::test]
    async fn every_waiter_of_an_id_is_told_and_others_are_not() {
        let p = Arc::new(Pipeline::default());
        let (a, b, other) = (p.watch([1; 16]), p.watch([1; 16]), p.watch([2; 16]));
        let p2 = p.clone();
        tokio::spawn(async move { p2.delivered(&[1; 16], &sub()) });
        assert!(a.wait(Duration::from_secs(5)).await.is_some());
        assert!(b.wait(Duration::from_secs(5)).await.is_some());
        assert!(other.wait(Duration::from_millis(10)).await.is_none());
        assert_eq!(p.waiting(), 0);
    }

    #[tokio::test]
    async fn a_timed_out_waiter_is_forgotten() {
        let p = Arc::new(Pipeline::default());
        let w = p.watch([3; 16]);
        assert!(w.wait(Duration::from_millis(1)).await.is_none());
        assert_eq!(p.waiting(), 0);
        // A late delivery finds nobody and does not fail.
        p.delivered(&[3; 16], &sub());
    }

    #[test]
    fn a_waiter_dropped_unused_leaves_nothing_behind() {
        // A replay, a conflict or a cancelled request drops its waiter
        // without waiting: its claim must go with it.
        let p = Arc::new(Pipeline::default());
        let (a, b) = (p.watch([4; 16]), p.watch([4; 16]));
        drop(a);
        assert_eq!(p.waiting(), 1, "the other claim on the same id stays");
        drop(b);
        assert_eq!(p.waiting(), 0);
    }
}
