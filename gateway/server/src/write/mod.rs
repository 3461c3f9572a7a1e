//! The write pipeline: how a member's record becomes a ledger entry.
//!
//! ```text
//!  Accepted ──seal──▶ Sealed ──queue──▶ Queued ──deliver──▶ on ledger
//!  (validated,        (envelope       (fsynced in the      (receipt recorded;
//!   id derived)        bytes)          outbox, audited)     the waiter is told)
//!     │                  ▲
//!     └──park──▶ awaiting pseudonyms ──(service answers: seal, promote)
//!         (fsynced, values encrypted to the submitter's key, audited)
//! ```
//!
//! A record whose ledger takes oblivious pseudonyms and whose service
//! cannot answer is parked instead of sealed ([`submission::Accepted::park`]);
//! `crate::pseudonym::awaiting` seals it when the service answers and
//! promotes it into the outbox in one transaction. It then takes its place
//! in the outbox after the records sealed meanwhile.
//!
//! Each state is a type ([`submission`]); only the transition of the state
//! before can make the next, so a record cannot reach the outbox unsealed or
//! be answered 201 before its receipt is stored. [`delivery`] is the worker
//! that moves queued envelopes onto their ledgers in acceptance order,
//! batch by batch, recording each batch in one store transaction and then
//! waking the requests waiting for those receipts ([`Pipeline`]);
//! [`reconcile`] gives a ledger back the deliveries it forgot; [`anchor`]
//! writes the audit log's head into the ledger.

pub mod anchor;
pub mod delivery;
pub mod reconcile;
pub mod submission;
mod waiters;

pub use submission::{Accepted, Queue, Queued, Sealed};
pub use waiters::{Pipeline, Waiter};

use std::collections::BTreeMap;
use std::sync::Arc;

use veilgate_ledger::Ledger;

use crate::metrics::Metrics;
use crate::store::Store;

/// What the worker needs of the gateway: its store, ledgers, waiters and
/// metrics.
#[derive(Clone)]
pub struct Deliverer {
    pub store: Arc<Store>,
    pub ledgers: BTreeMap<String, Arc<dyn Ledger>>,
    /// Each ledger's time as its appends report it.
    pub clocks: BTreeMap<String, Arc<crate::clock::LedgerClock>>,
    pub pipeline: Arc<Pipeline>,
    pub metrics: Arc<Metrics>,
    /// Refusals the audit rate limit left out are summarised at each anchor tick.
    pub refusals: Arc<crate::audit::refusals::Refusals>,
    /// How often the audit head is anchored (ms).
    pub anchor_interval_ms: u64,
}
