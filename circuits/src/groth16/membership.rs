//! Membership of a committed value in a set published by Merkle root.
//!
//! Public: the root `R` and the commitment `C`. Hidden: `v`, `r`, the leaf
//! index and the path. Statement: `C = Poseidon(v, r)` and `v` is a leaf of the
//! depth-`D` Poseidon tree with root `R` (the leaf is the value itself, so a
//! set of strings is published as their field encodings). Soundness rests on
//! Poseidon's collision resistance. Constraints at depth 20: 240 (commitment)
//! + 20 · 242 (levels) + 2 (public equalities) = 5,082.

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use super::keys::Statement;
use crate::merkle::constraints::root_from_path_var;
use crate::merkle::MerklePath;
use crate::poseidon::constraints::hash_var;

#[derive(Clone)]
pub struct MembershipCircuit {
    pub depth: usize,
    pub root: Fr,
    pub commitment: Fr,
    pub value: Option<Fr>,
    pub blinding: Option<Fr>,
    pub path: Option<MerklePath>,
}

impl ConstraintSynthesizer<Fr> for MembershipCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let root = FpVar::new_input(cs.clone(), || Ok(self.root))?;
        let commitment = FpVar::new_input(cs.clone(), || Ok(self.commitment))?;
        let value = FpVar::new_witness(cs.clone(), || {
            self.value.ok_or(SynthesisError::AssignmentMissing)
        })?;
        let blinding = FpVar::new_witness(cs.clone(), || {
            self.blinding.ok_or(SynthesisError::AssignmentMissing)
        })?;
        hash_var(&[value.clone(), blinding])?.enforce_equal(&commitment)?;
        let mut bits = Vec::with_capacity(self.depth);
        let mut siblings = Vec::with_capacity(self.depth);
        for h in 0..self.depth {
            let path = self.path.as_ref();
            bits.push(Boolean::new_witness(cs.clone(), || {
                path.map(|p| (p.index >> h) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
            siblings.push(FpVar::new_witness(cs.clone(), || {
                path.and_then(|p| p.siblings.get(h).copied())
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        root_from_path_var(&value, &bits, &siblings)?.enforce_equal(&root)
    }
}

impl MembershipCircuit {
    /// The statement that `value`, committed with `blinding`, is the leaf `path` opens under `root`.
    pub fn new(root: Fr, value: Fr, blinding: Fr, path: &MerklePath) -> Self {
        MembershipCircuit {
            depth: path.siblings.len(),
            root,
            commitment: super::commit(value, blinding),
            value: Some(value),
            blinding: Some(blinding),
            path: Some(path.clone()),
        }
    }

    pub fn shape(depth: usize) -> Self {
        MembershipCircuit {
            depth,
            root: Fr::from(0u64),
            commitment: Fr::from(0u64),
            value: None,
            blinding: None,
            path: None,
        }
    }
}

impl Statement for MembershipCircuit {
    fn circuit_id(&self) -> String {
        format!("membership-d{}-v1", self.depth)
    }
    fn blank(&self) -> Self {
        Self::shape(self.depth)
    }
    fn public_inputs(&self) -> Vec<Fr> {
        vec![self.root, self.commitment]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::groth16::keys::{Groth16Error, Keys};
    use crate::merkle::MerkleTree;
    use ark_ff::UniformRand;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn set(depth: usize) -> MerkleTree {
        MerkleTree::from_leaves(depth, (0..40u64).map(|i| Fr::from(1000 + i)).collect()).unwrap()
    }

    #[test]
    fn the_path_gadget_equals_its_native_twin() {
        let t = set(6);
        for i in [0u64, 1, 17, 39] {
            let path = t.path(i).unwrap();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let leaf = FpVar::new_witness(cs.clone(), || Ok(t.leaf(i).unwrap())).unwrap();
            let bits: Vec<_> = (0..6)
                .map(|h| Boolean::new_witness(cs.clone(), || Ok((i >> h) & 1 == 1)).unwrap())
                .collect();
            let sibs: Vec<_> = path
                .siblings
                .iter()
                .map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)).unwrap())
                .collect();
            let root = root_from_path_var(&leaf, &bits, &sibs).unwrap();
            assert_eq!(root.value().unwrap(), t.root());
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn the_depth_20_constraint_count_is_pinned() {
        let t = MerkleTree::from_leaves(20, vec![Fr::from(5u64), Fr::from(6u64)]).unwrap();
        let c = MembershipCircuit::new(
            t.root(),
            Fr::from(6u64),
            Fr::from(77u64),
            &t.path(1).unwrap(),
        );
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.generate_constraints(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 5082);
    }

    #[test]
    fn members_prove_and_non_members_cannot() {
        let mut rng = ChaCha20Rng::seed_from_u64(20);
        let depth = 6;
        let keys = Keys::setup(&MembershipCircuit::shape(depth), &mut rng).unwrap();
        let t = set(depth);
        let r = Fr::rand(&mut rng);
        let st = MembershipCircuit::new(t.root(), t.leaf(17).unwrap(), r, &t.path(17).unwrap());
        let c = st.commitment;
        let proof = keys.prove(st, &mut rng).unwrap();
        keys.verify(&[t.root(), c], &proof).unwrap();
        // Against another root, or another commitment: rejected.
        let other =
            MerkleTree::from_leaves(depth, (0..40u64).map(|i| Fr::from(2000 + i)).collect())
                .unwrap();
        assert_eq!(
            keys.verify(&[other.root(), c], &proof),
            Err(Groth16Error::Rejected)
        );
        assert_eq!(
            keys.verify(&[t.root(), c + Fr::from(1u64)], &proof),
            Err(Groth16Error::Rejected)
        );
        // A non-member with a borrowed path: the honest prover refuses, and a
        // patched one's proof is rejected.
        let outsider = Fr::from(5u64);
        let lying = MembershipCircuit::new(t.root(), outsider, r, &t.path(17).unwrap());
        let lc = lying.commitment;
        assert_eq!(
            keys.prove(lying.clone(), &mut rng).unwrap_err(),
            Groth16Error::Unsatisfied
        );
        let forged = keys.prove_unchecked(lying, &mut rng).unwrap();
        assert_eq!(
            keys.verify(&[t.root(), lc], &forged),
            Err(Groth16Error::Rejected)
        );
    }
}
