//! Non-membership of a committed value in a sorted set published by root.
//!
//! Public: the root `R` of a [`SortedSet`](crate::merkle::SortedSet) and the
//! commitment `C`. Hidden: `x`, `r`, two leaves `low`, `high`, their paths.
//! Statement: `C = H(x, r)`; `low` and `high` are leaves of `R` at positions
//! `i` and `i + 1`; and `low < x < high`, shown as `x − low − 1` and
//! `high − x − 1` each having a 248-bit decomposition.
//!
//! Soundness rests on the set being well formed — sorted, members in
//! `[1, 2^248 − 2]` between the sentinels `0` and `2^248 − 1` — which anyone
//! can check by rebuilding the root from the published member list. Given
//! that, `low, high < 2^248`; `x = low + 1 + d₁ < 2^249` and
//! `high = x + 1 + d₂` hold over the integers (no sum reaches `p`), so
//! `low < x < high`, and adjacency leaves no member between them.
//! Constraints at depth 20: 240 + 1 (C) + 2 · 20 · 242 (paths) + 2 (roots)
//! + 1 (adjacency) + 2 · (248 + 1) (gaps).

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::bits_var;
use super::keys::Statement;
use crate::merkle::constraints::root_from_path_var;
use crate::merkle::{MerklePath, NonMembership, SET_VALUE_BITS};
use crate::poseidon::constraints::hash_var;

#[derive(Clone)]
pub struct NonMembershipCircuit {
    pub depth: usize,
    pub root: Fr,
    pub commitment: Fr,
    /// `(x, r, proof of the gap)`; `None` for key generation.
    pub witness: Option<(Fr, Fr, NonMembership)>,
}

impl NonMembershipCircuit {
    pub fn new(root: Fr, value: Fr, blinding: Fr, gap: &NonMembership) -> Self {
        NonMembershipCircuit {
            depth: gap.low_path.siblings.len(),
            root,
            commitment: super::commit(value, blinding),
            witness: Some((value, blinding, gap.clone())),
        }
    }

    pub fn shape(depth: usize) -> Self {
        NonMembershipCircuit {
            depth,
            root: Fr::from(0u64),
            commitment: Fr::from(0u64),
            witness: None,
        }
    }
}

impl Statement for NonMembershipCircuit {
    fn circuit_id(&self) -> String {
        format!("non-membership-d{}-v1", self.depth)
    }
    fn blank(&self) -> Self {
        Self::shape(self.depth)
    }
    fn public_inputs(&self) -> Vec<Fr> {
        vec![self.root, self.commitment]
    }
}

/// `(leaf, root, index)` variables of one path.
type PathVars = (FpVar<Fr>, FpVar<Fr>, FpVar<Fr>);

/// A leaf, its index bits and siblings as witnesses; returns the root they
/// lead to and the index as a linear combination of its bits.
fn leaf_and_path(
    cs: &ConstraintSystemRef<Fr>,
    depth: usize,
    leaf: Option<Fr>,
    path: Option<&MerklePath>,
) -> Result<PathVars, SynthesisError> {
    let leaf = FpVar::new_witness(cs.clone(), || leaf.ok_or(SynthesisError::AssignmentMissing))?;
    let mut bits = Vec::with_capacity(depth);
    let mut siblings = Vec::with_capacity(depth);
    let mut index = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u64);
    for h in 0..depth {
        let bit = Boolean::new_witness(cs.clone(), || {
            path.map(|p| (p.index >> h) & 1 == 1)
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        index += FpVar::from(bit.clone()) * weight;
        weight = weight + weight;
        bits.push(bit);
        siblings.push(FpVar::new_witness(cs.clone(), || {
            path.and_then(|p| p.siblings.get(h).copied())
                .ok_or(SynthesisError::AssignmentMissing)
        })?);
    }
    let root = root_from_path_var(&leaf, &bits, &siblings)?;
    Ok((leaf, root, index))
}

impl ConstraintSynthesizer<Fr> for NonMembershipCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let root = FpVar::new_input(cs.clone(), || Ok(self.root))?;
        let commitment = FpVar::new_input(cs.clone(), || Ok(self.commitment))?;
        let w = self.witness.as_ref();
        let x = FpVar::new_witness(cs.clone(), || {
            w.map(|w| w.0).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let r = FpVar::new_witness(cs.clone(), || {
            w.map(|w| w.1).ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[x.clone(), r])?.enforce_equal(&commitment)?;
        let gap = w.map(|w| &w.2);
        let (low, low_root, low_index) = leaf_and_path(
            &cs,
            self.depth,
            gap.map(|g| g.low),
            gap.map(|g| &g.low_path),
        )?;
        let (high, high_root, high_index) = leaf_and_path(
            &cs,
            self.depth,
            gap.map(|g| g.high),
            gap.map(|g| &g.high_path),
        )?;
        low_root.enforce_equal(&root)?;
        high_root.enforce_equal(&root)?;
        high_index.enforce_equal(&(low_index + Fr::from(1u64)))?;
        let one = Fr::from(1u64);
        let d1 = bits_var(&cs, w.map(|w| w.0 - w.2.low - one), SET_VALUE_BITS)?;
        d1.enforce_equal(&(&x - &low - one))?;
        let d2 = bits_var(&cs, w.map(|w| w.2.high - w.0 - one), SET_VALUE_BITS)?;
        d2.enforce_equal(&(&high - &x - one))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::groth16::keys::{Groth16Error, Keys};
    use crate::merkle::{set_member, SortedSet};
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn sanctions(depth: usize) -> SortedSet {
        let names = ["ACME Shell Co", "Blocked Ltd", "Evil Corp", "Nope SA"];
        SortedSet::new(
            depth,
            names.iter().map(|n| set_member(n.as_bytes())).collect(),
        )
        .unwrap()
    }

    fn satisfied(c: NonMembershipCircuit) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn the_depth_20_constraint_count_is_pinned() {
        let s = sanctions(20);
        let x = set_member(b"Honest Bank");
        let gap = s.prove_absent(x).unwrap();
        let c = NonMembershipCircuit::new(s.root(), x, Fr::from(3u64), &gap);
        assert_eq!(
            satisfied(c),
            (true, 240 + 1 + 2 * 20 * 242 + 2 + 1 + 2 * (248 + 1))
        );
    }

    #[test]
    fn a_sanctioned_party_cannot_prove_absence() {
        let depth = 5;
        let s = sanctions(depth);
        let mut rng = ChaCha20Rng::seed_from_u64(248);
        let keys = Keys::setup(&NonMembershipCircuit::shape(depth), &mut rng).unwrap();
        let r = Fr::rand(&mut rng);
        let x = set_member(b"Honest Bank");
        let st = NonMembershipCircuit::new(s.root(), x, r, &s.prove_absent(x).unwrap());
        let public = st.public_inputs();
        let proof = keys.prove(st, &mut rng).unwrap();
        keys.verify(&public, &proof).unwrap();
        let other = SortedSet::new(depth, vec![Fr::from(7u64)]).unwrap();
        assert_eq!(
            keys.verify(&[other.root(), public[1]], &proof),
            Err(Groth16Error::Rejected)
        );

        // A member borrows a gap: the one next to it, and one that spans it.
        let evil = set_member(b"Evil Corp");
        let near = s.prove_absent(evil + Fr::from(1u64)).unwrap();
        let below = s.prove_absent(evil - Fr::from(1u64)).unwrap();
        let spanning = NonMembership {
            low: below.low,
            high: near.high,
            low_path: below.low_path.clone(),
            high_path: near.high_path.clone(),
        };
        for gap in [near, below, spanning] {
            let lying = NonMembershipCircuit::new(s.root(), evil, r, &gap);
            assert!(!satisfied(lying.clone()).0);
            let lp = lying.public_inputs();
            assert_eq!(
                keys.prove(lying.clone(), &mut rng).unwrap_err(),
                Groth16Error::Unsatisfied
            );
            let forged = keys.prove_unchecked(lying, &mut rng).unwrap();
            assert_eq!(keys.verify(&lp, &forged), Err(Groth16Error::Rejected));
        }
    }
}
