//! Veilgate's development tools, kept out of the service:
//!
//! - [`demo`]: seal, store, verify and open one payment in one process over
//!   real HTTPS, and show who sees what (`veilgate demo`);
//! - [`bench`]: the cost of privacy, from each primitive to a real
//!   `veilgate serve` at saturation (`veilgate bench`, BENCHMARKS.md).
#![forbid(unsafe_code)]

pub mod bench;
pub mod demo;
