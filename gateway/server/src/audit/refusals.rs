//! Everything refused is audited: refused handshakes (with the presented
//! certificate's subject and issuer), admission and permission refusals,
//! revoked callers. A flood must not grow the log without bound, so each
//! (actor, reason) gets at most [`PER_KEY`] entries per [`WINDOW_MS`] and
//! the gateway at most [`GLOBAL`]; what is left out is counted, in metrics
//! at once and in the log by a summary entry written with the next one
//! recorded (or at the next anchor tick).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Action, AuditEvent};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Length of a rate-limit window.
pub const WINDOW_MS: u64 = 60_000;
/// Entries per (actor, reason) per window.
pub const PER_KEY: u32 = 5;
/// Entries over all refusals per window.
pub const GLOBAL: u32 = 120;

/// One refused action.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The institution the certificate names, or `-` when none is known.
    pub actor: String,
    pub ledger: Option<String>,
    /// The error code (`revoked`, `wrong_ca`, `tls_handshake`, …).
    pub reason: String,
    /// Route, subject and issuer of a refused certificate: never a value.
    pub detail: String,
}

/// The rate limit, pure: what to record in which window.
#[derive(Default)]
pub struct Limiter {
    window: u64,
    per_key: BTreeMap<(String, String), u32>,
    total: u32,
    /// Left out since the last summary, by reason.
    suppressed: BTreeMap<String, u64>,
}

impl Limiter {
    /// Whether to record a refusal at `now_ms`.
    pub fn admit(&mut self, actor: &str, reason: &str, now_ms: u64) -> bool {
        let window = now_ms / WINDOW_MS;
        if window != self.window {
            self.window = window;
            self.per_key.clear();
            self.total = 0;
        }
        let n = self
            .per_key
            .entry((actor.to_owned(), reason.to_owned()))
            .or_default();
        if *n >= PER_KEY || self.total >= GLOBAL {
            *self.suppressed.entry(reason.to_owned()).or_default() += 1;
            return false;
        }
        *n += 1;
        self.total += 1;
        true
    }

    /// The summary of what was left out since the last one, if anything.
    pub fn take_summary(&mut self) -> Option<String> {
        if self.suppressed.is_empty() {
            return None;
        }
        let parts: Vec<String> = std::mem::take(&mut self.suppressed)
            .into_iter()
            .map(|(r, n)| format!("{r}={n}"))
            .collect();
        Some(format!(
            "refusals not recorded one by one (rate limit): {}",
            parts.join(" ")
        ))
    }
}

/// The shell: limits, counts and writes refusals into the audit log.
pub struct Refusals {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    limiter: Mutex<Limiter>,
}

impl std::fmt::Debug for Refusals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refusals")
    }
}

impl Refusals {
    pub fn new(store: Arc<Store>, metrics: Arc<Metrics>) -> Self {
        Refusals {
            store,
            metrics,
            limiter: Mutex::default(),
        }
    }

    /// Counts the refusal and, within the rate limit, audits it. A failed
    /// audit write is logged: the action was refused either way.
    pub fn record(&self, r: Refusal, now_ms: u64) {
        self.metrics.refusal(&r.reason);
        let (admit, summary) = {
            let mut l = self
                .limiter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let admit = l.admit(&r.actor, &r.reason, now_ms);
            (admit, if admit { l.take_summary() } else { None })
        };
        if !admit {
            self.metrics.refusal_suppressed();
            return;
        }
        if let Some(s) = summary {
            self.write(AuditEvent {
                detail: Some(s),
                ..AuditEvent::gateway(Action::Refused)
            });
        }
        self.write(AuditEvent {
            actor: r.actor,
            action: Action::Refused,
            ledger: r.ledger,
            envelope_id: None,
            detail: Some(format!("reason={} {}", r.reason, r.detail)),
        });
    }

    /// Writes the summary of suppressed refusals, if any (the anchor tick).
    pub fn flush(&self) -> Result<(), StoreError> {
        let summary = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take_summary();
        if let Some(s) = summary {
            self.store.audit(
                crate::clock::now_ms(),
                AuditEvent {
                    detail: Some(s),
                    ..AuditEvent::gateway(Action::Refused)
                },
            )?;
        }
        Ok(())
    }

    fn write(&self, e: AuditEvent) {
        if let Err(err) = self.store.audit(crate::clock::now_ms(), e) {
            tracing::error!(error = %err, "a refusal could not be audited");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_per_key_and_globally_and_summarised() {
        let mut l = Limiter::default();
        let t = 5 * WINDOW_MS;
        let admitted = (0..100).filter(|_| l.admit("bank-b", "revoked", t)).count();
        assert_eq!(admitted, PER_KEY as usize);
        // Another caller still gets through.
        assert!(l.admit("bank-c", "revoked", t));
        let many = (0..1000)
            .filter(|i| l.admit(&format!("x{i}"), "rate_limited", t))
            .count();
        assert_eq!(many, (GLOBAL - PER_KEY - 1) as usize);
        let s = l.take_summary().unwrap_or_default();
        assert!(
            s.contains("revoked=95") && s.contains("rate_limited="),
            "{s}"
        );
        assert_eq!(l.take_summary(), None);
        // A new window starts afresh.
        assert!(l.admit("bank-b", "revoked", t + WINDOW_MS));
    }
}
