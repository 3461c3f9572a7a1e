//! The worker that seals records accepted while the pseudonymisation
//! service could not answer. Each round goes through the waiting records,
//! 64 at a time in envelope-id order (one that cannot be sealed does not
//! hold up the others), decrypts each with its submitter's key, asks the service for its
//! pseudonyms (in the epoch of its acceptance time, which is also the
//! envelope's time), seals it as the submit route would and moves it into
//! the outbox in place of its record at rest, in one transaction. While
//! the service still cannot answer, the round ends and the records wait.
//!
//! Peers accept an envelope up to `[time] delay_ms` (7 days by default)
//! older than its ledger entry: a record that waits longer is sealed and
//! delivered but judged stale by peers, and the gateway's log says so.

use std::sync::Arc;
use std::time::Duration;

use veilgate_codec::Codec;

use crate::boot::Gateway;
use crate::http::routes::submit::{oblivious_tags, seal_on_pool};
use crate::http::routes::{blocking, hosted_keyring};
use crate::store::awaiting::AwaitingValue;
use crate::write::Accepted;

/// How often the waiting records are tried.
const ROUND: Duration = Duration::from_secs(1);
/// Records taken per round.
const BATCH: usize = 64;

/// Runs until `stop` turns true.
pub async fn run(gateway: Arc<Gateway>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(ROUND) => {}
        }
        if *stop.borrow() {
            return;
        }
        round(&gateway).await;
    }
}

/// One pass over the waiting records, [`BATCH`] at a time.
pub async fn round(gw: &Arc<Gateway>) {
    let mut after = None;
    loop {
        let store = gw.store.clone();
        let waiting = match blocking(move || store.awaiting(after, BATCH)).await {
            Ok(Ok(w)) => w,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the records waiting for pseudonyms could not be read");
                return;
            }
            Err(_) => return,
        };
        let Some((last, _)) = waiting.last() else {
            return;
        };
        after = Some(*last);
        if !batch(gw, waiting).await {
            return;
        }
    }
}

/// Takes up one batch; `false` when the service still cannot answer.
async fn batch(gw: &Arc<Gateway>, waiting: Vec<crate::store::Awaiting>) -> bool {
    for (id, bytes) in waiting {
        match take_up(gw, &id, &bytes).await {
            Ok(true) => {
                gw.pipeline.outbox_grew();
                tracing::info!(envelope_id = %hex::encode(id), "a record that waited for its pseudonyms is sealed and queued");
            }
            Ok(false) => {}
            // The service still cannot answer: the rest wait too.
            Err(Step::Unavailable) => return false,
            Err(Step::Stuck(why)) => {
                tracing::error!(envelope_id = %hex::encode(id), error = %why, "a record waiting for its pseudonyms cannot be sealed; it keeps waiting");
                gw.metrics.rejection("awaiting_stuck");
            }
        }
    }
    true
}

enum Step {
    Unavailable,
    Stuck(String),
}

/// Seals and queues one waiting record; `false` if it was already queued.
async fn take_up(gw: &Arc<Gateway>, id: &[u8; 16], bytes: &[u8]) -> Result<bool, Step> {
    let stuck = |e: &dyn std::fmt::Display| Step::Stuck(e.to_string());
    let value = AwaitingValue::from_bytes(bytes).map_err(|e| stuck(&e))?;
    let ls = gw
        .ledgers
        .get(&value.ledger)
        .ok_or_else(|| Step::Stuck(format!("ledger `{}` is no longer served", value.ledger)))?;
    let keyring = hosted_keyring(gw, &value.submitter, ls).map_err(|e| stuck(&e.message))?;
    let accepted =
        Accepted::resume(id, bytes, &ls.trust.policies, &*keyring).map_err(|e| stuck(&e))?;
    let at = accepted.accepted_ms();
    let tags = match oblivious_tags(gw, ls, &value.submitter, &accepted, at).await {
        Ok(tags) => tags,
        Err(e) if e.status == 503 => return Err(Step::Unavailable),
        Err(e) => return Err(stuck(&e.message)),
    };
    let sealed = seal_on_pool(gw, &value.ledger, accepted, tags)
        .await
        .map_err(|e| stuck(&e.message))?;
    let store = gw.store.clone();
    match blocking(move || sealed.promote(&store)).await {
        Ok(Ok(promoted)) => Ok(promoted),
        Ok(Err(e)) => Err(stuck(&e)),
        Err(e) => Err(stuck(&e.message)),
    }
}
