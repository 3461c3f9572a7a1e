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

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use rand_core::{CryptoRng, RngCore};

use crate::poseidon::constraints::hash_var;

/// The circuit. `None` witnesses are for key generation.
#[derive(Clone)]
pub struct RangeCircuit {
    pub commitment: Fr,
    pub value: Option<u64>,
    pub blinding: Option<Fr>,
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

/// Proving and verifying keys for the range circuit.
pub struct RangeKeys {
    pub pk: ProvingKey<Bn254>,
    pub pvk: PreparedVerifyingKey<Bn254>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Groth16Error {
    #[error("circuit setup failed")]
    Setup,
    #[error("proving failed")]
    Prove,
    #[error("proof does not verify")]
    Rejected,
}

impl RangeKeys {
    /// Circuit-specific setup. The randomness is toxic waste: a development
    /// setup from a seed is reproducible and therefore insecure; production
    /// needs a multi-party ceremony (issue 4).
    pub fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, Groth16Error> {
        let blank = RangeCircuit {
            commitment: Fr::from(0u64),
            value: None,
            blinding: None,
        };
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank, rng)
            .map_err(|_| Groth16Error::Setup)?;
        let pvk = Groth16::<Bn254>::process_vk(&vk).map_err(|_| Groth16Error::Setup)?;
        Ok(RangeKeys { pk, pvk })
    }

    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        value: u64,
        blinding: Fr,
        rng: &mut R,
    ) -> Result<(Fr, Proof<Bn254>), Groth16Error> {
        let commitment = super::commit(Fr::from(value), blinding);
        let c = RangeCircuit {
            commitment,
            value: Some(value),
            blinding: Some(blinding),
        };
        let proof = Groth16::<Bn254>::prove(&self.pk, c, rng).map_err(|_| Groth16Error::Prove)?;
        Ok((commitment, proof))
    }

    pub fn verify(&self, commitment: Fr, proof: &Proof<Bn254>) -> Result<(), Groth16Error> {
        match Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &[commitment], proof) {
            Ok(true) => Ok(()),
            _ => Err(Groth16Error::Rejected),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(64)
    }

    #[test]
    fn the_constraint_count_is_pinned() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let r = Fr::from(9u64);
        RangeCircuit {
            commitment: crate::groth16::commit(Fr::from(7u64), r),
            value: Some(7),
            blinding: Some(r),
        }
        .generate_constraints(cs.clone())
        .unwrap();
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 305);
    }

    #[test]
    fn proves_and_verifies_and_refuses_another_commitment() {
        let mut rng = rng();
        let keys = RangeKeys::setup(&mut rng).unwrap();
        for v in [0u64, 1, 123_456_789, u64::MAX] {
            let r = Fr::rand(&mut rng);
            let (c, proof) = keys.prove(v, r, &mut rng).unwrap();
            keys.verify(c, &proof).unwrap();
            assert_eq!(
                keys.verify(c + Fr::from(1u64), &proof),
                Err(Groth16Error::Rejected)
            );
        }
    }

    /// A patched prover commits to v = 2^64 + 5 but can only decompose its low
    /// 64 bits: the constraints fail, and the proof it produces anyway is rejected.
    #[test]
    fn a_value_of_64_bits_or_more_cannot_be_proven() {
        let mut rng = rng();
        let keys = RangeKeys::setup(&mut rng).unwrap();
        let r = Fr::rand(&mut rng);
        let too_big = Fr::from(u64::MAX) + Fr::from(6u64); // 2^64 + 5
        let c = crate::groth16::commit(too_big, r);
        let lying = RangeCircuit {
            commitment: c,
            value: Some(5),
            blinding: Some(r),
        };
        let cs = ConstraintSystem::<Fr>::new_ref();
        lying.clone().generate_constraints(cs.clone()).unwrap();
        assert!(!cs.is_satisfied().unwrap());
        // arkworks' prover asserts satisfaction in debug builds (a refusal);
        // in release it emits a proof, which must then be rejected.
        let pk = keys.pk.clone();
        let attempt = std::panic::catch_unwind(move || {
            Groth16::<Bn254>::prove(&pk, lying, &mut ChaCha20Rng::seed_from_u64(1))
        });
        if let Ok(Ok(proof)) = attempt {
            assert_eq!(keys.verify(c, &proof), Err(Groth16Error::Rejected));
        }
    }
}
