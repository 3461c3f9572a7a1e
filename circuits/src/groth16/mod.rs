//! Groth16 circuits over BN254 (arkworks 0.6), on Poseidon commitments
//! `C = Poseidon(value, blinding)` so that EVM chains (FISCO BCOS 3.x, Besu,
//! GoQuorum) can verify with their BN254 precompiles.
//!
//! One module per statement, each a [`Statement`] with its math in its doc
//! comment: [`range`] (64-bit range), [`compare`] (`a ≤ b`), [`sum`]
//! (`t₁ + … + tₙ = total`), [`membership`] and [`non_membership`] (sets
//! published by Merkle root), [`date`] (age at a public date). [`keys`] holds
//! setup, cached proving, single and batch verification and key files;
//! [`evm`] the EIP-197 word order, [`solidity`] a verifier contract per key.

pub mod catalog;
pub mod compare;
pub mod date;
pub mod evm;
pub mod keys;
pub mod membership;
pub mod non_membership;
pub mod range;
pub mod snarkjs;
pub mod solidity;
pub mod sum;

pub use keys::{
    constraint_matrices, proof_from_bytes, proof_to_bytes, ConstraintMatrices, Groth16Error, Keys,
    Statement,
};

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
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

/// A value as `n` boolean witnesses (low bit first) and their weighted sum.
/// Costs `n` constraints and proves `0 ≤ value < 2^n`; a value of more bits
/// yields its low `n` bits, whose sum then differs from it.
pub(crate) fn bits_var(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<Fr>,
    n: usize,
) -> Result<FpVar<Fr>, SynthesisError> {
    let bigint = value.map(|v| v.into_bigint());
    let mut sum = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u64);
    for i in 0..n {
        let bit = Boolean::new_witness(cs.clone(), || {
            bigint
                .map(|b| b.get_bit(i))
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        sum += FpVar::from(bit) * weight;
        weight = weight + weight;
    }
    Ok(sum)
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
