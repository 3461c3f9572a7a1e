//! The one place the service reads the wall clock. The pure core takes time
//! as an argument; the shells call [`now_ms`] and pass it in.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What the gateway last saw of a ledger's time, to refuse to seal when its
/// own clock disagrees with the ledger's by more than the skew peers allow:
/// envelopes sealed then would be refused by every peer.
#[derive(Default)]
pub struct LedgerClock {
    seen: std::sync::Mutex<Option<Seen>>,
}

#[derive(Clone, Copy)]
struct Seen {
    ledger_ms: u64,
    at: std::time::Instant,
    /// Seen as the entry was appended (this gateway's own delivery), so the
    /// ledger's time now is `ledger_ms` plus the time since. Otherwise (the
    /// head read at start) it is a lower bound only: the entry may be old.
    fresh: bool,
}

/// The gateway's clock disagrees with its ledger's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockSkew {
    #[error("the gateway's clock is {by_ms} ms behind the ledger's time, more than the {allowed_ms} ms of skew peers allow")]
    Behind { by_ms: u64, allowed_ms: u64 },
    #[error("the gateway's clock is {by_ms} ms ahead of the ledger's time, more than the {allowed_ms} ms of skew peers allow")]
    Ahead { by_ms: u64, allowed_ms: u64 },
}

/// The rule, pure: the ledger's time now is estimated as what was seen plus
/// the (monotonic) time since; a clock behind it by more than `allowed_ms`
/// is refused, and, when the estimate is fresh, one ahead of it too.
pub fn judge_clock(
    now_ms: u64,
    ledger_ms: u64,
    elapsed_ms: u64,
    fresh: bool,
    allowed_ms: u64,
) -> Result<(), ClockSkew> {
    let ledger_now = ledger_ms.saturating_add(elapsed_ms);
    if now_ms.saturating_add(allowed_ms) < ledger_now {
        return Err(ClockSkew::Behind {
            by_ms: ledger_now - now_ms,
            allowed_ms,
        });
    }
    if fresh && now_ms > ledger_now.saturating_add(allowed_ms) {
        return Err(ClockSkew::Ahead {
            by_ms: now_ms - ledger_now,
            allowed_ms,
        });
    }
    Ok(())
}

impl LedgerClock {
    /// Records the ledger's time for an entry; a fresh sighting replaces
    /// any, a stale one only a missing one.
    pub fn observe(&self, ledger_ms: u64, fresh: bool) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if fresh || seen.is_none() {
            *seen = Some(Seen {
                ledger_ms,
                at: std::time::Instant::now(),
                fresh,
            });
        }
    }

    /// Whether the wall clock now agrees with the ledger's within `allowed_ms`.
    pub fn check(&self, allowed_ms: u64) -> Result<(), ClockSkew> {
        let seen = self.seen.lock().ok().and_then(|s| *s);
        let Some(s) = seen else { return Ok(()) };
        let elapsed = u64::try_from(s.at.elapsed().as_millis()).unwrap_or(u64::MAX);
        judge_clock(now_ms(), s.ledger_ms, elapsed, s.fresh, allowed_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_is_judged_against_the_ledgers_estimated_now() {
        let t = 1_796_000_000_000;
        assert_eq!(judge_clock(t, t, 0, true, 1000), Ok(()));
        assert_eq!(judge_clock(t + 5000, t, 4500, true, 1000), Ok(()));
        assert!(matches!(
            judge_clock(t, t + 2000, 0, false, 1000),
            Err(ClockSkew::Behind { by_ms: 2000, .. })
        ));
        assert!(matches!(
            judge_clock(t + 3000, t, 1000, true, 1000),
            Err(ClockSkew::Ahead { by_ms: 2000, .. })
        ));
        // An old head read at start says nothing about a clock ahead.
        assert_eq!(judge_clock(t + 86_400_000, t, 0, false, 1000), Ok(()));
    }
}
