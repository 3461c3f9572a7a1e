//! `t₁ + … + tₙ = total` over committed values.
//!
//! Public: `C₁ … Cₙ` and `C_total`. Hidden: every value and blinding.
//! Statement: `Cᵢ = H(tᵢ, rᵢ)` with `tᵢ ∈ [0, 2^64)`, and
//! `C_total = H(t₁ + … + tₙ, r_total)`.
//!
//! The terms are 64 boolean witnesses each; the total is not a witness at all
//! but the linear combination of the terms, hashed with its blinding. With
//! `n < 2^16` the sum stays below `2^80 < p`, so the field equation is the
//! integer one: no term can be "negative" and nothing wraps. Constraints:
//! `64·n + 240·(n + 1) + (n + 1)`; 851 for `n = 2`.

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::keys::Statement;
use super::u64_var;
use crate::poseidon::constraints::hash_var;

/// Most terms one sum circuit takes.
pub const MAX_TERMS: usize = 16;

#[derive(Clone)]
pub struct SumCircuit {
    pub terms: usize,
    pub commitments: Vec<Fr>,
    pub total_commitment: Fr,
    /// `([(tᵢ, rᵢ)], r_total)`; `None` for key generation.
    pub witness: Option<(Vec<(u64, Fr)>, Fr)>,
}

impl SumCircuit {
    /// The statement for `terms` with their blindings, and the total's blinding.
    /// `None` when the term count is outside `1..=MAX_TERMS`.
    pub fn new(terms: &[(u64, Fr)], total_blinding: Fr) -> Option<Self> {
        if terms.is_empty() || terms.len() > MAX_TERMS {
            return None;
        }
        let total: Fr = terms.iter().map(|(t, _)| Fr::from(*t)).sum();
        Some(SumCircuit {
            terms: terms.len(),
            commitments: terms
                .iter()
                .map(|(t, r)| super::commit(Fr::from(*t), *r))
                .collect(),
            total_commitment: super::commit(total, total_blinding),
            witness: Some((terms.to_vec(), total_blinding)),
        })
    }

    pub fn shape(terms: usize) -> Self {
        SumCircuit {
            terms,
            commitments: vec![Fr::from(0u64); terms],
            total_commitment: Fr::from(0u64),
            witness: None,
        }
    }
}

impl Statement for SumCircuit {
    fn circuit_id(&self) -> String {
        format!("sum{}x64-v1", self.terms)
    }
    fn blank(&self) -> Self {
        Self::shape(self.terms)
    }
    fn public_inputs(&self) -> Vec<Fr> {
        let mut v = self.commitments.clone();
        v.push(self.total_commitment);
        v
    }
}

impl ConstraintSynthesizer<Fr> for SumCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        if self.terms == 0 || self.terms > MAX_TERMS || self.commitments.len() != self.terms {
            return Err(SynthesisError::Unsatisfiable);
        }
        let mut publics = Vec::with_capacity(self.terms);
        for c in &self.commitments {
            publics.push(FpVar::new_input(cs.clone(), || Ok(*c))?);
        }
        let total_c = FpVar::new_input(cs.clone(), || Ok(self.total_commitment))?;
        let witness = self.witness.as_ref();
        let mut total = FpVar::<Fr>::zero();
        for (i, public) in publics.iter().enumerate() {
            let term = witness.and_then(|(t, _)| t.get(i).copied());
            let value = u64_var(&cs, term.map(|t| t.0))?;
            let blinding = FpVar::new_witness(cs.clone(), || {
                term.map(|t| t.1).ok_or(SynthesisError::AssignmentMissing)
            })?;
            total += &value;
            hash_var(&[value, blinding])?.enforce_equal(public)?;
        }
        let total_blinding = FpVar::new_witness(cs, || {
            witness
                .map(|w| w.1)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[total, total_blinding])?.enforce_equal(&total_c)
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

    fn count(c: SumCircuit) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn constraint_counts_are_pinned() {
        let r = |n: u64| Fr::from(n);
        assert_eq!(
            count(SumCircuit::new(&[(5, r(1)), (7, r(2))], r(3)).unwrap()),
            (true, 851)
        );
        let four: Vec<_> = (0..4u64).map(|i| (u64::MAX - i, r(i))).collect();
        assert_eq!(
            count(SumCircuit::new(&four, r(9)).unwrap()),
            (true, 64 * 4 + 240 * 5 + 5)
        );
        assert!(SumCircuit::new(&[], r(1)).is_none());
    }

    #[test]
    fn a_wrong_total_cannot_be_proven() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let keys = Keys::setup(&SumCircuit::shape(2), &mut rng).unwrap();
        let (r1, r2, rt) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
        let st = SumCircuit::new(&[(600, r1), (400, r2)], rt).unwrap();
        let public = st.public_inputs();
        let proof = keys.prove(st, &mut rng).unwrap();
        keys.verify(&public, &proof).unwrap();
        // Terms swapped, or the total replaced: rejected.
        let swapped = [public[1], public[0], public[2]];
        assert_eq!(keys.verify(&swapped, &proof), Err(Groth16Error::Rejected));
        let mut other_total = public.clone();
        other_total[2] = crate::groth16::commit(Fr::from(1001u64), rt);
        assert_eq!(
            keys.verify(&other_total, &proof),
            Err(Groth16Error::Rejected)
        );
        // A patched prover claiming 600 + 400 = 1001.
        let mut lying = SumCircuit::new(&[(600, r1), (400, r2)], rt).unwrap();
        lying.total_commitment = other_total[2];
        assert_eq!(
            keys.prove(lying.clone(), &mut rng).unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let forged = keys.prove_unchecked(lying, &mut rng).unwrap();
        assert_eq!(
            keys.verify(&other_total, &forged),
            Err(Groth16Error::Rejected)
        );
        // A "negative" term (p − 1 = −1 in the field) to make 1001 = 1002 + (−1):
        // it has no 64-bit decomposition, so the constraints fail.
        let neg = SumCircuit {
            terms: 2,
            commitments: vec![
                crate::groth16::commit(Fr::from(1002u64), r1),
                crate::groth16::commit(-Fr::from(1u64), r2),
            ],
            total_commitment: crate::groth16::commit(Fr::from(1001u64), rt),
            witness: Some((vec![(1002, r1), (u64::MAX, r2)], rt)),
        };
        assert!(!count(neg).0);
    }
}
