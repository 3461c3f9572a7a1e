//! Age threshold: at least `N` whole years from a committed date to a public date.
//!
//! Dates are `YYYYMMDD` integers (2026-11-25 is 20261125). For such dates the
//! whole years from `b` to `a` are `⌊(a − b) / 10000⌋`, so "age ≥ N on `a`" is
//! exactly `b + 10000·N ≤ a` — leap days included (born 2008-02-29 turns 18 on
//! 2026-03-01, since 20260228 − 20080229 = 179999).
//!
//! Public: `C_b`, the date `a`, the years `N`. Hidden: `b`, `r`.
//! Statement: `C_b = H(b, r)`, `b < 2^32`, and `d = a − 10000·N − b` has a
//! 32-bit decomposition. The verifier supplies `a < 2^32` and `N < 2^16`, so
//! `a − 10000·N − b` lies in `(−2^32 − 2^30, 2^32)` over the integers and the
//! field equation forces it to be `d ≥ 0`. Constraints: 32 + 32 + 1 + 240 + 1
//! = 306. That the committed integer is a real calendar date is the
//! submitting gateway's check (its record validation); the regulator, who can
//! open the commitment, can audit it.

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::bits_var;
use super::keys::Statement;
use crate::poseidon::constraints::hash_var;

#[derive(Clone)]
pub struct DateThresholdCircuit {
    pub commitment: Fr,
    /// The public date `a`, `YYYYMMDD`.
    pub at: u32,
    pub years: u16,
    /// `(b, r)`; `None` for key generation.
    pub witness: Option<(u32, Fr)>,
}

/// `YYYYMMDD` of a calendar date (no validation: the caller parsed it).
pub fn yyyymmdd(year: u32, month: u32, day: u32) -> u32 {
    year * 10_000 + month * 100 + day
}

impl DateThresholdCircuit {
    pub fn new(birth: u32, blinding: Fr, at: u32, years: u16) -> Self {
        DateThresholdCircuit {
            commitment: super::commit(Fr::from(birth), blinding),
            at,
            years,
            witness: Some((birth, blinding)),
        }
    }

    pub fn shape() -> Self {
        DateThresholdCircuit {
            commitment: Fr::from(0u64),
            at: 0,
            years: 0,
            witness: None,
        }
    }
}

impl Statement for DateThresholdCircuit {
    fn circuit_id(&self) -> String {
        "date-threshold-v1".into()
    }
    fn blank(&self) -> Self {
        Self::shape()
    }
    fn public_inputs(&self) -> Vec<Fr> {
        vec![self.commitment, Fr::from(self.at), Fr::from(self.years)]
    }
}

impl ConstraintSynthesizer<Fr> for DateThresholdCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let commitment = FpVar::new_input(cs.clone(), || Ok(self.commitment))?;
        let at = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.at)))?;
        let years = FpVar::new_input(cs.clone(), || Ok(Fr::from(self.years)))?;
        let w = self.witness;
        let birth = bits_var(&cs, w.map(|(b, _)| Fr::from(b)), 32)?;
        let honest = w.map(|(b, _)| {
            Fr::from(self.at) - Fr::from(10_000u64) * Fr::from(self.years) - Fr::from(b)
        });
        let d = bits_var(&cs, honest, 32)?;
        d.enforce_equal(&(&at - years * Fr::from(10_000u64) - &birth))?;
        let blinding = FpVar::new_witness(cs, || {
            w.map(|(_, r)| r).ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[birth, blinding])?.enforce_equal(&commitment)
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

    fn holds(birth: u32, at: u32, years: u16) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        DateThresholdCircuit::new(birth, Fr::from(5u64), at, years)
            .generate_constraints(cs.clone())
            .unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn whole_years_including_leap_days_with_a_pinned_count() {
        assert_eq!(holds(20080229, 20260301, 18), (true, 306));
        assert!(!holds(20080229, 20260228, 18).0);
        assert!(
            holds(20081125, 20261125, 18).0,
            "the birthday itself counts"
        );
        assert!(!holds(20081126, 20261125, 18).0);
        assert!(holds(19000101, 20261125, 18).0);
        assert!(holds(20261125, 20261125, 0).0);
        assert_eq!(yyyymmdd(2026, 11, 25), 20261125);
    }

    #[test]
    fn a_minor_cannot_prove_majority_and_the_public_date_is_bound() {
        let mut rng = ChaCha20Rng::seed_from_u64(18);
        let keys = Keys::setup(&DateThresholdCircuit::shape(), &mut rng).unwrap();
        let r = Fr::rand(&mut rng);
        let st = DateThresholdCircuit::new(19900615, r, 20261125, 18);
        let public = st.public_inputs();
        let proof = keys.prove(st, &mut rng).unwrap();
        keys.verify(&public, &proof).unwrap();
        // The same proof for another date or threshold: rejected.
        for (i, v) in [(1usize, 20271125u64), (2, 21)] {
            let mut p = public.clone();
            p[i] = Fr::from(v);
            assert_eq!(keys.verify(&p, &proof), Err(Groth16Error::Rejected));
        }
        let minor = DateThresholdCircuit::new(20100101, r, 20261125, 18);
        let mp = minor.public_inputs();
        assert_eq!(
            keys.prove(minor.clone(), &mut rng).unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let forged = keys.prove_unchecked(minor, &mut rng).unwrap();
        assert_eq!(keys.verify(&mp, &forged), Err(Groth16Error::Rejected));
    }
}
