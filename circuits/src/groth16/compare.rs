//! `a ≤ b` between two committed values.
//!
//! Public: `C_a`, `C_b`. Hidden: `a, r_a, b, r_b`. Statement: `C_a = H(a, r_a)`,
//! `C_b = H(b, r_b)`, and `a ≤ b` with `a, b ∈ [0, 2^64)`.
//!
//! How: `a`, `b` and `d = b − a` are each 64 boolean witnesses (their weighted
//! sums); one constraint ties `d` to `b − a`. With `a, b < 2^64`, `b − a` lies in
//! `(−2^64, 2^64)` over the integers, so `b − a ≡ d (mod p)` with `0 ≤ d < 2^64`
//! forces `b − a = d ≥ 0`. Constraints: 3 · 64 + 1 + 2 · 240 + 2 = 675.
//! (Signed amounts are compared after the policy's range offset; strict `<` is
//! `a + 1 ≤ b`.)

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use rand_core::{CryptoRng, RngCore};

use super::range::Groth16Error;
use super::u64_var;
use crate::poseidon::constraints::hash_var;

#[derive(Clone)]
pub struct CompareCircuit {
    pub commitment_a: Fr,
    pub commitment_b: Fr,
    /// `(a, r_a, b, r_b)`; `None` for key generation.
    pub witness: Option<(u64, Fr, u64, Fr)>,
}

impl ConstraintSynthesizer<Fr> for CompareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let ca = FpVar::new_input(cs.clone(), || Ok(self.commitment_a))?;
        let cb = FpVar::new_input(cs.clone(), || Ok(self.commitment_b))?;
        let w = self.witness;
        let a = u64_var(&cs, w.map(|w| w.0))?;
        let b = u64_var(&cs, w.map(|w| w.2))?;
        // The honest witness for d is b − a; a prover with a > b has no 64-bit d that fits.
        let d = u64_var(&cs, w.map(|(a, _, b, _)| b.wrapping_sub(a)))?;
        d.enforce_equal(&(&b - &a))?;
        let ra = FpVar::new_witness(cs.clone(), || {
            w.map(|w| w.1).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let rb = FpVar::new_witness(cs, || {
            w.map(|w| w.3).ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[a, ra])?.enforce_equal(&ca)?;
        hash_var(&[b, rb])?.enforce_equal(&cb)
    }
}

pub struct CompareKeys {
    pub pk: ProvingKey<Bn254>,
    pub pvk: PreparedVerifyingKey<Bn254>,
}

impl CompareKeys {
    /// Circuit-specific setup (development randomness: see [`super::range::RangeKeys::setup`]).
    pub fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, Groth16Error> {
        let blank = CompareCircuit {
            commitment_a: Fr::from(0u64),
            commitment_b: Fr::from(0u64),
            witness: None,
        };
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(blank, rng)
            .map_err(|_| Groth16Error::Setup)?;
        let pvk = Groth16::<Bn254>::process_vk(&vk).map_err(|_| Groth16Error::Setup)?;
        Ok(CompareKeys { pk, pvk })
    }

    /// Proves `a ≤ b` for the two commitments it returns; refuses when `a > b`.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        a: u64,
        ra: Fr,
        b: u64,
        rb: Fr,
        rng: &mut R,
    ) -> Result<(Fr, Fr, Proof<Bn254>), Groth16Error> {
        if a > b {
            return Err(Groth16Error::Prove);
        }
        let (ca, cb) = (
            super::commit(Fr::from(a), ra),
            super::commit(Fr::from(b), rb),
        );
        let c = CompareCircuit {
            commitment_a: ca,
            commitment_b: cb,
            witness: Some((a, ra, b, rb)),
        };
        let proof = Groth16::<Bn254>::prove(&self.pk, c, rng).map_err(|_| Groth16Error::Prove)?;
        Ok((ca, cb, proof))
    }

    pub fn verify(&self, ca: Fr, cb: Fr, proof: &Proof<Bn254>) -> Result<(), Groth16Error> {
        match Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &[ca, cb], proof) {
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

    fn satisfied(a: u64, b: u64, d: Option<u64>) -> (bool, usize) {
        let (ra, rb) = (Fr::from(11u64), Fr::from(12u64));
        let c = CompareCircuit {
            commitment_a: crate::groth16::commit(Fr::from(a), ra),
            commitment_b: crate::groth16::commit(Fr::from(b), rb),
            witness: Some((a, ra, b, rb)),
        };
        let cs = ConstraintSystem::<Fr>::new_ref();
        match d {
            None => c.generate_constraints(cs.clone()).unwrap(),
            // A patched prover choosing its own difference witness.
            Some(d) => {
                let ca = FpVar::new_input(cs.clone(), || Ok(c.commitment_a)).unwrap();
                let cb = FpVar::new_input(cs.clone(), || Ok(c.commitment_b)).unwrap();
                let av = u64_var(&cs, Some(a)).unwrap();
                let bv = u64_var(&cs, Some(b)).unwrap();
                let dv = u64_var(&cs, Some(d)).unwrap();
                dv.enforce_equal(&(&bv - &av)).unwrap();
                let ra = FpVar::new_witness(cs.clone(), || Ok(ra)).unwrap();
                let rb = FpVar::new_witness(cs.clone(), || Ok(rb)).unwrap();
                hash_var(&[av, ra]).unwrap().enforce_equal(&ca).unwrap();
                hash_var(&[bv, rb]).unwrap().enforce_equal(&cb).unwrap();
            }
        }
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn the_constraint_count_is_pinned_and_only_true_statements_satisfy() {
        assert_eq!(satisfied(5, 9, None), (true, 675));
        assert!(satisfied(9, 9, None).0);
        assert!(satisfied(0, u64::MAX, None).0);
        // a > b: the honest difference wraps and cannot equal b − a in the field.
        assert!(!satisfied(10, 9, None).0);
        // A patched prover trying every tempting difference for a > b.
        for d in [0u64, 1, u64::MAX, 9u64.wrapping_sub(10)] {
            assert!(!satisfied(10, 9, Some(d)).0, "d = {d}");
        }
    }

    #[test]
    fn proves_verifies_and_binds_to_both_commitments() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let keys = CompareKeys::setup(&mut rng).unwrap();
        let (ra, rb) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let (ca, cb, proof) = keys
            .prove(96_000_000, ra, 120_000_000, rb, &mut rng)
            .unwrap();
        keys.verify(ca, cb, &proof).unwrap();
        assert_eq!(keys.verify(cb, ca, &proof), Err(Groth16Error::Rejected));
        assert_eq!(
            keys.verify(ca, cb + Fr::from(1u64), &proof),
            Err(Groth16Error::Rejected)
        );
        assert_eq!(
            keys.prove(2, ra, 1, rb, &mut rng).err(),
            Some(Groth16Error::Prove)
        );
    }
}
