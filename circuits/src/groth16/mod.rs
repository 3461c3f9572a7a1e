//! Groth16 circuits over BN254 (arkworks 0.6), on Poseidon commitments
//! `C = Poseidon(value, blinding)` so that EVM chains (FISCO BCOS 3.x, Besu,
//! GoQuorum) can verify with their BN254 precompiles.
//!
//! This build has the 64-bit range circuit ([`range`]) and set membership
//! ([`membership`]); comparison, sums, non-membership and date thresholds
//! follow (issue 4).

pub mod membership;
pub mod range;

use ark_bn254::Fr;

use crate::poseidon;

/// A Poseidon commitment to a value with a blinding factor: `Poseidon(value, blinding)`.
pub fn commit(value: Fr, blinding: Fr) -> Fr {
    poseidon::hash2(value, blinding)
}
