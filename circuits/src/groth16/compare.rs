//! `a ≤ b` (or `a < b`) between two committed values.
//!
//! Public: `C_a`, `C_b`, and `s ∈ {0, 1}` (1 for strict). Hidden: `a, r_a, b,
//! r_b`. Statement: `C_a = H(a, r_a)`, `C_b = H(b, r_b)`, `a, b ∈ [0, 2^64)`
//! and `a + s ≤ b`.
//!
//! How: `a`, `b` and `d = b − a − s` are each 64 boolean witnesses (their
//! weighted sums); one constraint ties `d` to `b − a − s`. With `a, b < 2^64`
//! and `s ∈ {0, 1}` (the verifier supplies it), `b − a − s` lies in
//! `(−2^64 − 1, 2^64)` over the integers, so `b − a − s ≡ d (mod p)` with
//! `0 ≤ d < 2^64` forces `b − a − s = d ≥ 0`. Constraints:
//! 3 · 64 + 1 + 2 · 240 + 2 = 675 (`s` enters a linear combination only).

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::keys::Statement;
use super::u64_var;
use crate::poseidon::constraints::hash_var;

#[derive(Clone)]
pub struct CompareCircuit {
    pub commitment_a: Fr,
    pub commitment_b: Fr,
    /// `(a, r_a, b, r_b)`; `None` for key generation.
    pub witness: Option<(u64, Fr, u64, Fr)>,
    /// The difference witness; `None` means the honest `b − a − s` (tests patch it).
    pub difference: Option<u64>,
    /// `a < b` rather than `a ≤ b`.
    pub strict: bool,
}

impl CompareCircuit {
    pub fn new(a: u64, ra: Fr, b: u64, rb: Fr) -> Self {
        CompareCircuit {
            commitment_a: super::commit(Fr::from(a), ra),
            commitment_b: super::commit(Fr::from(b), rb),
            witness: Some((a, ra, b, rb)),
            difference: None,
            strict: false,
        }
    }

    /// The same statement with `a < b`.
    pub fn strict(self) -> Self {
        CompareCircuit {
            strict: true,
            ..self
        }
    }

    pub fn shape() -> Self {
        CompareCircuit {
            commitment_a: Fr::from(0u64),
            commitment_b: Fr::from(0u64),
            witness: None,
            difference: None,
            strict: false,
        }
    }
}

impl Statement for CompareCircuit {
    fn circuit_id(&self) -> String {
        "compare64-v1".into()
    }
    fn blank(&self) -> Self {
        Self::shape()
    }
    fn public_inputs(&self) -> Vec<Fr> {
        vec![
            self.commitment_a,
            self.commitment_b,
            Fr::from(u64::from(self.strict)),
        ]
    }
}

impl ConstraintSynthesizer<Fr> for CompareCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let ca = FpVar::new_input(cs.clone(), || Ok(self.commitment_a))?;
        let cb = FpVar::new_input(cs.clone(), || Ok(self.commitment_b))?;
        let s = u64::from(self.strict);
        let strict = FpVar::new_input(cs.clone(), || Ok(Fr::from(s)))?;
        let w = self.witness;
        let a = u64_var(&cs, w.map(|w| w.0))?;
        let b = u64_var(&cs, w.map(|w| w.2))?;
        // The honest witness for d is b − a − s; a prover with a + s > b has no
        // 64-bit d that fits.
        let honest = w.map(|(a, _, b, _)| b.wrapping_sub(a).wrapping_sub(s));
        let d = u64_var(&cs, self.difference.or(honest))?;
        d.enforce_equal(&(&b - &a - &strict))?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::groth16::keys::{Groth16Error, Keys};
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn satisfied(c: CompareCircuit) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    fn st(a: u64, b: u64, d: Option<u64>) -> CompareCircuit {
        CompareCircuit {
            difference: d,
            ..CompareCircuit::new(a, Fr::from(11u64), b, Fr::from(12u64))
        }
    }

    #[test]
    fn the_constraint_count_is_pinned_and_only_true_statements_satisfy() {
        assert_eq!(satisfied(st(5, 9, None)), (true, 675));
        assert!(satisfied(st(9, 9, None)).0);
        assert!(satisfied(st(0, u64::MAX, None)).0);
        // a > b: the honest difference wraps and cannot equal b − a in the field.
        assert!(!satisfied(st(10, 9, None)).0);
        // Strict: 9 < 9 is false, 8 < 9 true.
        assert!(!satisfied(st(9, 9, None).strict()).0);
        assert!(satisfied(st(8, 9, None).strict()).0);
        assert!(
            !satisfied(CompareCircuit {
                difference: Some(u64::MAX),
                ..st(9, 9, None).strict()
            })
            .0
        );
        // A patched prover trying every tempting difference for a > b.
        for d in [0u64, 1, u64::MAX, 9u64.wrapping_sub(10)] {
            assert!(!satisfied(st(10, 9, Some(d))).0, "d = {d}");
        }
    }

    #[test]
    fn proves_verifies_binds_to_both_commitments_and_rejects_a_forgery() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let keys = Keys::setup(&CompareCircuit::shape(), &mut rng).unwrap();
        let (ra, rb) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
        let s = CompareCircuit::new(96_000_000, ra, 120_000_000, rb);
        let (ca, cb) = (s.commitment_a, s.commitment_b);
        let proof = keys.prove(s, &mut rng).unwrap();
        let (zero, one) = (Fr::from(0u64), Fr::from(1u64));
        keys.verify(&[ca, cb, zero], &proof).unwrap();
        assert_eq!(
            keys.verify(&[cb, ca, zero], &proof),
            Err(Groth16Error::Rejected)
        );
        assert_eq!(
            keys.verify(&[ca, cb + Fr::from(1u64), zero], &proof),
            Err(Groth16Error::Rejected)
        );
        // The proof of `≤` is not a proof of `<`.
        assert_eq!(
            keys.verify(&[ca, cb, one], &proof),
            Err(Groth16Error::Rejected)
        );
        let strict = CompareCircuit::new(5, ra, 6, rb).strict();
        let sp = strict.public_inputs();
        keys.verify(&sp, &keys.prove(strict, &mut rng).unwrap())
            .unwrap();
        assert_eq!(
            keys.prove(CompareCircuit::new(6, ra, 6, rb).strict(), &mut rng)
                .unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let false_claim = CompareCircuit::new(2, ra, 1, rb);
        assert_eq!(
            keys.prove(false_claim.clone(), &mut rng).unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let fp = false_claim.public_inputs();
        let forged = keys.prove_unchecked(false_claim, &mut rng).unwrap();
        assert_eq!(keys.verify(&fp, &forged), Err(Groth16Error::Rejected));
    }
}
