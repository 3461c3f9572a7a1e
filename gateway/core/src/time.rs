//! Signed time against the ledger's time.
//!
//! An envelope's `timestamp_ms` is the submitter's word for when its gateway
//! accepted the record; it decides which members, keys and set versions were
//! in force. Peers hold it against the ledger's own time for the entry (the
//! embedded ledger's append time, an EVM block's timestamp): an envelope
//! signed later than the ledger wrote it, beyond the clocks' skew, or
//! written later than its signer's outbox may hold it, is refused. The rule
//! is asymmetric because delivery only ever comes after sealing: `ahead_ms`
//! bounds clock skew, `delay_ms` bounds skew plus the time an envelope may
//! wait in an outbox while its ledger is unreachable.

/// How far a signed time may sit from the ledger's time for its entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Skew {
    /// A signed time may be at most this far after the ledger's time.
    pub ahead_ms: u64,
    /// … and at most this far before it.
    pub delay_ms: u64,
}

impl Default for Skew {
    /// Five minutes of clock skew; seven days in an outbox.
    fn default() -> Self {
        Skew {
            ahead_ms: 5 * 60 * 1000,
            delay_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }
}

/// Why a signed time was refused. Both carry the two times: they are the
/// ledger's and the envelope's public metadata, not customer data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeRefusal {
    #[error("the envelope's signed time {signed_ms} ms is {by_ms} ms after the ledger's time {ledger_ms} ms for its entry, more than the {allowed_ms} ms of skew allowed")]
    Ahead {
        signed_ms: u64,
        ledger_ms: u64,
        by_ms: u64,
        allowed_ms: u64,
    },
    #[error("the envelope's signed time {signed_ms} ms is {by_ms} ms before the ledger's time {ledger_ms} ms for its entry, more than the {allowed_ms} ms an envelope may wait for delivery")]
    Late {
        signed_ms: u64,
        ledger_ms: u64,
        by_ms: u64,
        allowed_ms: u64,
    },
}

impl TimeRefusal {
    pub fn code(&self) -> &'static str {
        "time_outside_skew"
    }
}

impl Skew {
    /// Whether `signed_ms` may stand for an entry the ledger timed `ledger_ms`.
    pub fn check(&self, signed_ms: u64, ledger_ms: u64) -> Result<(), TimeRefusal> {
        if signed_ms > ledger_ms.saturating_add(self.ahead_ms) {
            return Err(TimeRefusal::Ahead {
                signed_ms,
                ledger_ms,
                by_ms: signed_ms - ledger_ms,
                allowed_ms: self.ahead_ms,
            });
        }
        if ledger_ms > signed_ms.saturating_add(self.delay_ms) {
            return Err(TimeRefusal::Late {
                signed_ms,
                ledger_ms,
                by_ms: ledger_ms - signed_ms,
                allowed_ms: self.delay_ms,
            });
        }
        Ok(())
    }

    /// For an envelope not (yet) on a ledger: only "not after now".
    pub fn check_not_future(&self, signed_ms: u64, now_ms: u64) -> Result<(), TimeRefusal> {
        Skew {
            ahead_ms: self.ahead_ms,
            delay_ms: u64::MAX,
        }
        .check(signed_ms, now_ms)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T: u64 = 1_796_000_000_000;

    #[test]
    fn inside_the_skew_both_ways_is_accepted_and_the_bounds_are_inclusive() {
        let s = Skew::default();
        for signed in [T, T + s.ahead_ms, T - s.delay_ms, T - 1, T + 1] {
            assert_eq!(s.check(signed, T), Ok(()), "{signed}");
        }
    }

    #[test]
    fn beyond_the_skew_is_refused_with_both_times() {
        let s = Skew::default();
        let year_2100 = 4_102_444_800_000;
        assert!(
            matches!(s.check(year_2100, T), Err(TimeRefusal::Ahead { by_ms, .. }) if by_ms == year_2100 - T)
        );
        assert!(matches!(
            s.check(T + s.ahead_ms + 1, T),
            Err(TimeRefusal::Ahead { .. })
        ));
        assert!(matches!(
            s.check(T - s.delay_ms - 1, T),
            Err(TimeRefusal::Late { .. })
        ));
        // A flipped high byte: the year ≈ 584 million.
        assert!(s.check(T | (0x80 << 56), T).is_err());
        assert!(s.check(0, T).is_err());
        assert!(s.check(u64::MAX, u64::MAX - 1).is_ok());
        assert_eq!(
            s.check(year_2100, T).unwrap_err().code(),
            "time_outside_skew"
        );
    }

    #[test]
    fn not_yet_on_a_ledger_only_the_future_is_refused() {
        let s = Skew::default();
        assert!(s.check_not_future(0, T).is_ok());
        assert!(s.check_not_future(T + s.ahead_ms + 1, T).is_err());
    }
}
