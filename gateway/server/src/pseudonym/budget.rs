//! Each member's evaluation budget, in elements (values), per ledger: a
//! token bucket refilled at `per_member_per_day / 86 400 000` per ms up to
//! `burst`. What it bounds is the member's *online* dictionary search: with
//! the key out of every member's hands, each guess costs one element.
//!
//! Pure bookkeeping with the time passed in. It is rebuilt at start from
//! the service's audit log ([`Budget::replay`]), so a restart refills
//! nothing a member spent.

use std::collections::HashMap;

/// Budget settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Allowance {
    /// Elements a member may have evaluated per day, per ledger.
    pub per_day: u64,
    /// Elements it may spend at once (the bucket's depth).
    pub burst: u64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    refilled_ms: u64,
}

/// The buckets of every (member, ledger) seen.
#[derive(Debug)]
pub struct Budget {
    allowance: Allowance,
    buckets: HashMap<(String, String), Bucket>,
}

/// A refusal: how long until the request would fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    pub retry_after_secs: u64,
}

impl Budget {
    pub fn new(allowance: Allowance) -> Budget {
        Budget {
            allowance: Allowance {
                per_day: allowance.per_day.max(1),
                burst: allowance.burst.max(1),
            },
            buckets: HashMap::new(),
        }
    }

    fn rate_per_ms(&self) -> f64 {
        self.allowance.per_day as f64 / 86_400_000.0
    }

    fn bucket(&mut self, member: &str, ledger: &str, now_ms: u64) -> &mut Bucket {
        let (rate, burst) = (self.rate_per_ms(), self.allowance.burst as f64);
        let b = self
            .buckets
            .entry((member.to_owned(), ledger.to_owned()))
            .or_insert(Bucket {
                tokens: burst,
                refilled_ms: now_ms,
            });
        let elapsed = now_ms.saturating_sub(b.refilled_ms) as f64;
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.refilled_ms = b.refilled_ms.max(now_ms);
        b
    }

    /// Takes `count` elements of `member`'s budget on `ledger` now, or
    /// says when they would fit. A batch larger than the burst never fits.
    pub fn take(
        &mut self,
        member: &str,
        ledger: &str,
        count: u64,
        now_ms: u64,
    ) -> Result<(), OverBudget> {
        let rate = self.rate_per_ms();
        let burst = self.allowance.burst;
        let b = self.bucket(member, ledger, now_ms);
        let need = count as f64;
        if b.tokens >= need {
            b.tokens -= need;
            return Ok(());
        }
        let missing = if count > burst {
            // Only a smaller batch can ever pass: say when a full bucket is back.
            burst as f64 - b.tokens
        } else {
            need - b.tokens
        };
        let secs = (missing / rate / 1000.0).ceil().max(1.0);
        Err(OverBudget {
            retry_after_secs: secs as u64,
        })
    }

    /// Spends what an audited evaluation spent (at start, from the log).
    pub fn replay(&mut self, member: &str, ledger: &str, count: u64, at_ms: u64) {
        let b = self.bucket(member, ledger, at_ms);
        b.tokens = (b.tokens - count as f64).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    #[test]
    fn a_member_spends_its_burst_then_waits_for_the_refill() {
        let mut b = Budget::new(Allowance {
            per_day: 86_400,
            burst: 10,
        });
        assert_eq!(b.take("bank-a", "l", 10, 0), Ok(()));
        assert_eq!(
            b.take("bank-a", "l", 1, 0),
            Err(OverBudget {
                retry_after_secs: 1
            })
        );
        // Another member and another ledger have their own budgets.
        assert_eq!(b.take("bank-b", "l", 10, 0), Ok(()));
        assert_eq!(b.take("bank-a", "m", 10, 0), Ok(()));
        // One element a second comes back.
        assert_eq!(b.take("bank-a", "l", 3, 3000), Ok(()));
        assert!(b.take("bank-a", "l", 1, 3000).is_err());
    }

    #[test]
    fn a_batch_over_the_burst_is_told_when_the_bucket_is_full() {
        let mut b = Budget::new(Allowance {
            per_day: 86_400,
            burst: 10,
        });
        assert_eq!(b.take("bank-a", "l", 4, 0), Ok(()));
        assert_eq!(
            b.take("bank-a", "l", 11, 0),
            Err(OverBudget {
                retry_after_secs: 4
            })
        );
    }

    #[test]
    fn replaying_the_log_spends_what_was_spent_before_a_restart() {
        let allowance = Allowance {
            per_day: 1000,
            burst: 100,
        };
        let mut before = Budget::new(allowance);
        assert_eq!(before.take("bank-a", "l", 100, DAY), Ok(()));
        let mut after = Budget::new(allowance);
        after.replay("bank-a", "l", 100, DAY);
        assert!(after.take("bank-a", "l", 1, DAY + 1).is_err());
        // A day later the bucket is full again.
        assert_eq!(after.take("bank-a", "l", 100, 2 * DAY), Ok(()));
    }
}
