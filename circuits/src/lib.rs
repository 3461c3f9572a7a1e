//! Commitments and zero-knowledge proofs for Veilgate envelopes.
//!
//! Pure: values in, values out. No I/O, no clocks, no global RNG — every
//! function that needs randomness takes it as an argument.
//!
//! - [`range`]: Pedersen commitments over Ristretto and bulletproofs proofs that a
//!   committed integer lies in `[lo, hi]` (see `docs/notes-range.md`).
//! - [`domain`]: every domain-separation label of the project.
#![forbid(unsafe_code)]

pub mod domain;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod range;

pub use range::{Commitment, Opening, RangeError, RangeProof, RangeStatement};
