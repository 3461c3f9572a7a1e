//! Groth16 circuits over BN254 (arkworks 0.6), on Poseidon commitments
//! `C = Poseidon(value, blinding)` so that EVM chains (FISCO BCOS 3.x, Besu,
//! GoQuorum) can verify with their BN254 precompiles.
//!
//! This build has the 64-bit range circuit ([`range`]), comparison of two
//! committed values ([`compare`]) and set membership ([`membership`]); sums,
//! non-membership and date thresholds follow (issue 4).

pub mod compare;
pub mod membership;
pub mod range;

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::poseidon;

/// A Poseidon commitment to a value with a blinding factor: `Poseidon(value, blinding)`.
pub fn commit(value: Fr, blinding: Fr) -> Fr {
    poseidon::hash2(value, blinding)
}

/// A value as 64 boolean witnesses and their weighted sum (a linear
/// combination: there is no separate witness for the value). Costs 64
/// constraints and proves `0 ≤ value < 2^64`.
pub(crate) fn u64_var(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<u64>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut sum = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u64);
    for i in 0..64 {
        let bit = Boolean::new_witness(cs.clone(), || {
            value
                .map(|v| (v >> i) & 1 == 1)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        sum += FpVar::from(bit) * weight;
        weight = weight + weight;
    }
    Ok(sum)
}
