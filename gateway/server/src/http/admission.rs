//! Fair admission of requests: each identity (certificate common name) may
//! hold at most `per_identity_concurrent` requests at once and start at
//! most `per_identity_rate` per second (a token bucket of depth
//! `per_identity_burst`), so one member cannot take the global slots
//! (`max_concurrent_requests`) from the others. Pure bookkeeping; the HTTP
//! shell turns a refusal into `429` with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::boot::Limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The identity holds its share of concurrent requests.
    Concurrency,
    /// The identity started more requests per second than its rate.
    Rate { retry_after_secs: u64 },
}

impl Refused {
    pub fn code(self) -> &'static str {
        match self {
            Refused::Concurrency => "too_many_concurrent_requests",
            Refused::Rate { .. } => "rate_limited",
        }
    }

    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refused::Concurrency => 1,
            Refused::Rate { retry_after_secs } => retry_after_secs,
        }
    }
}

struct Slot {
    in_flight: usize,
    tokens: f64,
    refilled: Instant,
}

pub struct Admission {
    concurrent: usize,
    rate: f64,
    burst: f64,
    slots: Mutex<HashMap<String, Slot>>,
}

/// Held while a request runs; dropping it frees the identity's slot.
pub struct Ticket {
    admission: Arc<Admission>,
    who: String,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut slots = self
            .admission
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = slots.get_mut(&self.who) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
    }
}

impl Admission {
    pub fn new(limits: &Limits) -> Arc<Admission> {
        Arc::new(Admission {
            concurrent: limits.per_identity_concurrent.max(1),
            rate: limits.per_identity_rate.max(0.001),
            burst: limits.per_identity_burst.max(1) as f64,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Admits one request of `who` now, or says why not.
    pub fn enter(self: &Arc<Self>, who: &str, now: Instant) -> Result<Ticket, Refused> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Identities are CA-issued names, so the map is small; idle ones
        // with a full bucket are forgotten so it stays so.
        if slots.len() > 1024 {
            let (rate, burst) = (self.rate, self.burst);
            slots.retain(|_, s| {
                s.in_flight > 0
                    || s.tokens + now.duration_since(s.refilled).as_secs_f64() * rate < burst
            });
        }
        let slot = slots.entry(who.to_owned()).or_insert(Slot {
            in_flight: 0,
            tokens: self.burst,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(slot.refilled).as_secs_f64();
        slot.tokens = (slot.tokens + elapsed * self.rate).min(self.burst);
        slot.refilled = now;
        if slot.in_flight >= self.concurrent {
            return Err(Refused::Concurrency);
        }
        if slot.tokens < 1.0 {
            let wait = ((1.0 - slot.tokens) / self.rate).ceil().max(1.0);
            return Err(Refused::Rate {
                retry_after_secs: wait as u64,
            });
        }
        slot.tokens -= 1.0;
        slot.in_flight += 1;
        Ok(Ticket {
            admission: self.clone(),
            who: who.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    fn limits(concurrent: usize, rate: f64, burst: usize) -> Limits {
        Limits {
            per_identity_concurrent: concurrent,
            per_identity_rate: rate,
            per_identity_burst: burst,
            ..Limits::default()
        }
    }

    #[test]
    fn one_identity_is_held_to_its_share_and_others_are_not() {
        let a = Admission::new(&limits(2, 1000.0, 1000));
        let t0 = Instant::now();
        let first = a.enter("bank-b", t0).unwrap();
        let _second = a.enter("bank-b", t0).unwrap();
        assert_eq!(a.enter("bank-b", t0).err(), Some(Refused::Concurrency));
        assert!(a.enter("bank-c", t0).is_ok());
        drop(first);
        assert!(a.enter("bank-b", t0).is_ok());
    }

    #[test]
    fn the_rate_refills_over_time() {
        let a = Admission::new(&limits(100, 2.0, 2));
        let t0 = Instant::now();
        drop(a.enter("x", t0).unwrap());
        drop(a.enter("x", t0).unwrap());
        let refused = a.enter("x", t0).err().unwrap();
        assert_eq!(
            refused,
            Refused::Rate {
                retry_after_secs: 1
            }
        );
        assert!(a.enter("x", t0 + Duration::from_millis(600)).is_ok());
    }
}
