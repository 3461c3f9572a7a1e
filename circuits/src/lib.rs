//! Commitments and zero-knowledge proofs for Veilgate envelopes.
//!
//! Pure: values in, values out. No I/O, no clocks, no global RNG — every
//! function that needs randomness takes it as an argument.
//!
//! - [`range`]: Pedersen commitments over Ristretto and bulletproofs proofs that a
//!   committed integer lies in `[lo, hi]` (see `docs/notes-range.md`).
//! - [`domain`]: every domain-separation label of the project.
#![forbid(unsafe_code)]

pub mod ceremony;
pub mod domain;
pub mod groth16;
pub mod merkle;
pub mod poseidon;
pub mod range;
pub mod vectors;

pub use range::{Commitment, Opening, RangeError, RangeProof, RangeStatement};

/// The math notes of every statement, rendered into rustdoc from `docs/`.
#[cfg(doc)]
pub mod notes {
    /// Bulletproofs range proofs: what is proven and what soundness rests on.
    #[doc = include_str!("../../docs/notes-range.md")]
    pub mod range {}
    /// Poseidon and Merkle trees.
    #[doc = include_str!("../../docs/notes-poseidon.md")]
    pub mod poseidon {}
    /// Groth16 statements.
    #[doc = include_str!("../../docs/notes-groth16.md")]
    pub mod groth16 {}
}
