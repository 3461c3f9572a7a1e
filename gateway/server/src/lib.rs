//! The Veilgate gateway's shells around the pure core: HTTPS server (`server`),
//! handlers (`api`), configuration (`config`), identity and revocation
//! (`identity`), loaded state (`state`), the durable store (`store`: outbox,
//! submissions, audit log), the delivery worker (`delivery`), audit checks
//! (`audit`), metrics, development material (`dev`) and the demo. The
//! `veilgate` binary is `main.rs`.
#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod bench;
pub mod compute;
pub mod config;
pub mod delivery;
pub mod demo;
pub mod dev;
pub mod evm_setup;
pub mod follow;
pub mod identity;
pub mod metrics;
pub mod server;
pub mod state;
pub mod store;

use std::sync::Arc;

/// Starts the delivery worker and serves until `shutdown`; then stops taking
/// requests, finishes those in flight, and stops the worker (the outbox stays).
pub async fn run(
    state: Arc<state::AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), state::StartError> {
    let tls = server::tls_config(&state)?;
    // The published policies, by hash, so a policy change between runs is in the trail.
    let published: Vec<String> = state
        .ledgers
        .iter()
        .flat_map(|(l, ls)| {
            ls.texts
                .iter()
                .map(move |(p, _)| format!("{l}:{}@{}={}", p.id, p.version, hex::encode(p.hash())))
        })
        .collect();
    state
        .store
        .audit(
            api::now_ms(),
            store::AuditEvent {
                actor: "gateway".into(),
                action: "start".into(),
                detail: Some(format!("policies {}", published.join(" "))),
                ..store::AuditEvent::default()
            },
        )
        .map_err(|e| state::StartError::Config(e.to_string()))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(delivery::run(state.clone(), stop_rx.clone()));
    let following = tokio::spawn(follow::run(state.clone(), stop_rx));
    server::serve(state, tls, listener, shutdown).await;
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let _ = following.await;
    Ok(())
}
