//! The Poseidon gadget: the same permutation as [`super::permute_reference`],
//! as R1CS constraints over BN254 (arkworks 0.6 `gr1cs`). Constant additions
//! and the MDS products are linear combinations and cost nothing; each S-box
//! `x^5` costs three multiplication constraints, except the first round's on
//! `state[0]`, which is the constant 0 plus a constant. A hash of `n` inputs
//! costs `3 · (8·t + R_P) − 3` constraints (`t = n + 1`): 240 for two inputs,
//! as circomlib's `Poseidon(2)`.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::SynthesisError;

use super::{params, Params, FULL_ROUNDS};

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// The permutation on variables, in place.
pub fn permute_var(p: &Params, state: &mut [FpVar<Fr>]) -> Result<(), SynthesisError> {
    let half = FULL_ROUNDS / 2;
    for (r, constants) in p.ark.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(constants) {
            *s += *c;
        }
        if r < half || r >= half + p.partial_rounds {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else if let Some(first) = state.first_mut() {
            *first = sbox(first)?;
        }
        let next: Vec<FpVar<Fr>> = p
            .mds
            .iter()
            .map(|row| {
                row.iter()
                    .zip(state.iter())
                    .fold(FpVar::zero(), |acc, (m, s)| acc + s * *m)
            })
            .collect();
        state.clone_from_slice(&next);
    }
    Ok(())
}

/// circomlib `Poseidon(n)` of variables: the gadget twin of [`super::hash`].
pub fn hash_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params(inputs.len() + 1).ok_or(SynthesisError::Unsatisfiable)?;
    let mut state = Vec::with_capacity(p.width);
    state.push(FpVar::zero());
    state.extend_from_slice(inputs);
    permute_var(p, &mut state)?;
    state
        .into_iter()
        .next()
        .ok_or(SynthesisError::Unsatisfiable)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::eq::EqGadget;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;

    fn fr(n: u64) -> Fr {
        Fr::from(n)
    }

    #[test]
    fn the_gadget_equals_its_native_twin_with_a_pinned_cost() {
        for (n, constraints) in [(1usize, 213), (2, 240), (4, 297)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let inputs: Vec<Fr> = (1..=n as u64).map(fr).collect();
            let vars: Vec<FpVar<Fr>> = inputs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let out = hash_var(&vars).unwrap();
            assert_eq!(out.value().unwrap(), super::super::hash(&inputs).unwrap());
            let claimed =
                FpVar::new_input(cs.clone(), || Ok(super::super::hash(&inputs).unwrap())).unwrap();
            out.enforce_equal(&claimed).unwrap();
            assert!(cs.is_satisfied().unwrap());
            // One more for the equality with the public output.
            assert_eq!(cs.num_constraints(), constraints + 1, "{n} inputs");
        }
    }

    #[test]
    fn a_wrong_public_output_is_unsatisfiable() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = FpVar::new_witness(cs.clone(), || Ok(fr(1))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(fr(2))).unwrap();
        let out = hash_var(&[a, b]).unwrap();
        let wrong = FpVar::new_input(cs.clone(), || {
            Ok(super::super::hash(&[fr(1), fr(3)]).unwrap())
        })
        .unwrap();
        out.enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn constant_inputs_cost_no_constraints() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let out = hash_var(&[FpVar::constant(fr(1)), FpVar::constant(fr(2))]).unwrap();
        assert_eq!(
            out.value().unwrap(),
            super::super::hash(&[fr(1), fr(2)]).unwrap()
        );
        assert_eq!(cs.num_constraints(), 0);
    }
}
