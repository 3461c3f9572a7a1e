//! 64-bit range on a Poseidon commitment.
//!
//! Public: the commitment `C`. Hidden: `v`, `r`. Statement:
//! `C = Poseidon(v, r)` and `v ∈ [0, 2^64)`.
//!
//! The witness is the 64 bits of `v`, each constrained boolean; `v` is their
//! weighted sum (a linear combination, no separate witness a prover could set),
//! and the circuit hashes that sum with `r`. Soundness: the bits force
//! `v < 2^64` over the integers (64 · 1 + … < p), and Poseidon's collision
//! resistance binds `C` to that `v`. Constraints: 64 (booleanity) + 240
//! (Poseidon, first-round S-box on a constant is free) + 1 (C) = 305.

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::keys::Statement;
use crate::poseidon::constraints::hash_var;

/// The circuit. `None` witnesses are for key generation.
#[derive(Clone)]
pub struct RangeCircuit {
    pub commitment: Fr,
    pub value: Option<u64>,
    pub blinding: Option<Fr>,
}

impl RangeCircuit {
    /// The statement for `value` committed with `blinding`.
    pub fn new(value: u64, blinding: Fr) -> Self {
        RangeCircuit {
            commitment: super::commit(Fr::from(value), blinding),
            value: Some(value),
            blinding: Some(blinding),
        }
    }

    /// The shape, for setup and for loading keys.
    pub fn shape() -> Self {
        RangeCircuit {
            commitment: Fr::from(0u64),
            value: None,
            blinding: None,
        }
    }
}

impl Statement for RangeCircuit {
    fn circuit_id(&self) -> String {
        "range64-v1".into()
    }
    fn blank(&self) -> Self {
        Self::shape()
    }
    fn public_inputs(&self) -> Vec<Fr> {
        vec![self.commitment]
    }
}

impl ConstraintSynthesizer<Fr> for RangeCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let commitment = FpVar::new_input(cs.clone(), || Ok(self.commitment))?;
        let value = super::u64_var(&cs, self.value)?;
        let blinding = FpVar::new_witness(cs, || {
            self.blinding.ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[value, blinding])?.enforce_equal(&commitment)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::groth16::keys::{Groth16Error, Keys};
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn the_constraint_count_is_pinned() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        RangeCircuit::new(7, Fr::from(9u64))
            .generate_constraints(cs.clone())
            .unwrap();
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 305);
    }

    #[test]
    fn proves_and_verifies_and_refuses_another_commitment() {
        let mut rng = ChaCha20Rng::seed_from_u64(64);
        let keys = Keys::setup(&RangeCircuit::shape(), &mut rng).unwrap();
        assert_eq!(keys.num_constraints(), 305);
        for v in [0u64, 1, 123_456_789, u64::MAX] {
            let st = RangeCircuit::new(v, Fr::rand(&mut rng));
            let c = st.commitment;
            let proof = keys.prove(st, &mut rng).unwrap();
            keys.verify(&[c], &proof).unwrap();
            assert_eq!(
                keys.verify(&[c + Fr::from(1u64)], &proof),
                Err(Groth16Error::Rejected)
            );
        }
    }

    /// A patched prover commits to v = 2^64 + 5 but can only decompose its low
    /// 64 bits: the honest prover refuses, and the proof the patched one
    /// emits anyway is rejected.
    #[test]
    fn a_value_of_64_bits_or_more_cannot_be_proven() {
        let mut rng = ChaCha20Rng::seed_from_u64(65);
        let keys = Keys::setup(&RangeCircuit::shape(), &mut rng).unwrap();
        let r = Fr::rand(&mut rng);
        let too_big = Fr::from(u64::MAX) + Fr::from(6u64); // 2^64 + 5
        let c = crate::groth16::commit(too_big, r);
        let lying = RangeCircuit {
            commitment: c,
            value: Some(5),
            blinding: Some(r),
        };
        assert_eq!(
            keys.prove(lying.clone(), &mut rng).unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let forged = keys.prove_unchecked(lying, &mut rng).unwrap();
        assert_eq!(keys.verify(&[c], &forged), Err(Groth16Error::Rejected));
    }
}
