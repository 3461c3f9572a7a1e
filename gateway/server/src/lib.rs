//! The Veilgate gateway's shells around the pure core: HTTPS server (`server`),
//! handlers (`api`), loaded state and storage (`state`), development material
//! (`dev`) and the demo. The `veilgate` binary is `main.rs`.
#![forbid(unsafe_code)]

pub mod api;
pub mod demo;
pub mod dev;
pub mod server;
pub mod state;
