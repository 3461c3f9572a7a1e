//! One module per command group; each takes parsed arguments and returns a
//! result `main` prints.

pub mod audit;
pub mod ceremony;
pub mod client;
pub mod config;
#[cfg(feature = "evm")]
pub mod evm;
pub mod follow;
pub mod keys;
pub mod operate;
pub mod policy;
pub mod pseudonym;
pub mod serve;
pub mod set;
