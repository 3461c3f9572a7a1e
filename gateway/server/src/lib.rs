//! The Veilgate gateway service, room by room, in the order a request meets
//! them:
//!
//! - [`boot`]: one configuration loader and the assembly of a running
//!   gateway ([`boot::Gateway`]) — ledgers, directories, policies, CAs, keys,
//!   store — used by `serve` and by every operator command that reads a data
//!   directory (`follow`, `audit verify`, `evm deploy | publish`).
//! - [`http`]: TLS 1.3 with client certificates, the request stack, the
//!   caller's admission ([`http::auth`]) and one module per group of routes
//!   ([`http::routes`]); errors map to HTTP status in one place
//!   ([`http::error`]).
//! - [`write`]: the write pipeline — a submission is accepted, sealed,
//!   queued durably in the outbox and delivered onto the ledger, each state a
//!   type; the delivery worker and the reconciliation of what a ledger forgot.
//! - [`store`]: the gateway's own redb file (submissions, outbox, delivered,
//!   audit log), where each of those steps commits.
//! - [`audit`]: the hash-chained audit log, its actions, anchors and checks.
//! - [`peer`]: the follower — a pure judge of ledger entries, the verdicts it
//!   keeps, and the tailer that feeds it.
//!
//! [`sets`] keeps the set roots read from each ledger and the set files.
//! [`compute`] is the pool proofs run on, [`metrics`] the Prometheus text,
//! [`clock`] the one place the service reads the time. The command line is
//! the `veilgate` package (gateway/cli); development material, the demo and
//! the bench live in veilgate-testkit and veilgate-devtools, so nothing here
//! depends on a tool.
#![forbid(unsafe_code)]

pub mod audit;
pub mod boot;
pub mod clock;
pub mod compute;
pub mod http;
pub mod identity;
pub mod keys;
pub mod metrics;
pub mod peer;
pub mod pseudonym;
pub mod revocation;
pub mod sets;
pub mod store;
pub mod write;

/// The design notes, byte by byte, rendered into this crate's rustdoc from
/// `docs/` (the repository is the source; these are its views).
#[cfg(doc)]
pub mod design {
    /// Every stored and hashed format, with its vectors.
    #[doc = include_str!("../../../docs/formats/README.md")]
    pub mod formats {}
    /// The audit entry and anchor.
    #[doc = include_str!("../../../docs/formats/audit.md")]
    pub mod audit {}
    /// The outbox value.
    #[doc = include_str!("../../../docs/formats/outbox.md")]
    pub mod outbox {}
    /// A record waiting for its pseudonyms, at rest.
    #[doc = include_str!("../../../docs/formats/awaiting.md")]
    pub mod awaiting {}
    /// The record digest.
    #[doc = include_str!("../../../docs/formats/record-digest.md")]
    pub mod record_digest {}
    /// The verdict.
    #[doc = include_str!("../../../docs/formats/verdict.md")]
    pub mod verdict {}
    /// The ledger entry hash.
    #[doc = include_str!("../../../docs/formats/ledger-entry.md")]
    pub mod ledger_entry {}
}

use std::sync::Arc;

pub use boot::{Gateway, StartError, CONFIG_FILE};

/// Starts the delivery worker (and followers) and serves until `shutdown`;
/// then stops taking requests, finishes those in flight, and stops the
/// workers (the outbox stays for the next start).
pub async fn run(
    gateway: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    run_with(gateway, Listeners::standard(listener), shutdown).await
}

/// Where a gateway listens.
pub struct Listeners {
    /// The API over TLS 1.3 with the standard suites.
    pub standard: tokio::net::TcpListener,
    /// The API over RFC 8998 TLS (`[tls_sm]`), for the ledgers of suite `sm`.
    pub sm: Option<tokio::net::TcpListener>,
    /// Plain-HTTP health, readiness and metrics (`[observability]`).
    pub observability: Option<tokio::net::TcpListener>,
}

impl Listeners {
    pub fn standard(listener: tokio::net::TcpListener) -> Listeners {
        Listeners {
            standard: listener,
            sm: None,
            observability: None,
        }
    }
}

/// As [`run`], on every listener of `listeners`.
pub async fn run_with(
    gateway: Arc<Gateway>,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let Listeners {
        standard: listener,
        sm: sm_listener,
        observability,
    } = listeners;
    let tls = http::tls_config(&gateway, veilgate_core::SuiteId::Standard)?;
    let sm = match sm_listener {
        Some(l) => Some((http::tls_config(&gateway, veilgate_core::SuiteId::Sm)?, l)),
        None => None,
    };
    record_start(&gateway)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let deliverer = std::sync::Arc::new(gateway.deliverer());
    let worker = tokio::spawn(write::delivery::run(deliverer, stop_rx.clone()));
    let awaiting = tokio::spawn(pseudonym::awaiting::run(gateway.clone(), stop_rx.clone()));
    let followers = gateway.followers();
    let following = tokio::spawn(peer::run(followers, gateway.metrics.clone(), stop_rx));
    // One shutdown for every listener.
    let (quit_tx, quit_rx) = tokio::sync::watch::channel(false);
    let observer = observability.map(|l| {
        let mut rx = quit_rx.clone();
        tokio::spawn(http::observe::serve(gateway.clone(), l, async move {
            let _ = rx.wait_for(|q| *q).await;
        }))
    });
    let sm_server = sm.map(|(sm_tls, l)| {
        let mut rx = quit_rx.clone();
        tokio::spawn(http::serve(
            gateway.clone(),
            sm_tls,
            veilgate_core::SuiteId::Sm,
            l,
            async move {
                let _ = rx.wait_for(|q| *q).await;
            },
        ))
    });
    http::serve(
        gateway,
        tls,
        veilgate_core::SuiteId::Standard,
        listener,
        shutdown,
    )
    .await;
    let _ = quit_tx.send(true);
    drop(quit_rx);
    if let Some(s) = sm_server {
        let _ = s.await;
    }
    if let Some(o) = observer {
        let _ = o.await;
    }
    // The workers stop at the next step; a send error means they already did.
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = awaiting.await;
    let _ = following.await;
    Ok(())
}

/// Audits the start with the published policies by hash, so a policy change
/// between runs is in the trail.
fn record_start(gateway: &Gateway) -> Result<(), StartError> {
    let published: Vec<String> = gateway
        .ledgers
        .iter()
        .flat_map(|(l, ls)| {
            ls.texts
                .iter()
                .map(move |(p, _)| format!("{l}:{}@{}={}", p.id, p.version, hex::encode(p.hash())))
        })
        .collect();
    let event = audit::AuditEvent {
        detail: Some(format!("policies {}", published.join(" "))),
        ..audit::AuditEvent::gateway(audit::Action::Start)
    };
    gateway.store.audit(clock::now_ms(), event)?;
    Ok(())
}
