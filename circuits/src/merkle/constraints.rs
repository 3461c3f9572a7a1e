//! The Merkle path gadget, twin of [`super::MerklePath::root_from`]. Per level:
//! one booleanity constraint for the index bit, one for choosing the order
//! (`l = node + b·(sibling − node)`, `r = node + sibling − l`, the second
//! linear), and the 240 of `Poseidon(2)`.

use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

use crate::poseidon::constraints::hash_var;

/// The root a path leads to from `leaf`; `bits[h]` is true when the node is
/// the right child at height `h`.
pub fn root_from_path_var(
    leaf: &FpVar<Fr>,
    bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut node = leaf.clone();
    for (bit, sibling) in bits.iter().zip(siblings) {
        let left = &node + FpVar::from(bit.clone()) * (sibling - &node);
        let right = &node + sibling - &left;
        node = hash_var(&[left, right])?;
    }
    Ok(node)
}
