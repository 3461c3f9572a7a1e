//! Poseidon over the BN254 scalar field, compatible with circomlib's
//! `Poseidon(n)` (and so with snarkjs, circomlibjs and the Solidity Poseidon
//! libraries generated from it): x^5 S-box, 8 full rounds, circomlib's partial
//! round counts, state `[0, in_1, …, in_n]`, output `state[0]`.
//!
//! The round constants and MDS matrices are not pasted in: they are derived at
//! first use with the reference Grain LFSR (`find_poseidon_ark_and_mds`, the
//! algorithm of the Poseidon paper's parameter script that circomlib's constants
//! come from), then cached. Known-answer tests from circomlib pin the result,
//! so a derivation that drifted would fail them.
//!
//! The permutation works in place on a stack array and never clones its
//! parameters (arkworks' sponge clones its configuration on every call, which
//! costs more than the hash).

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{Field, PrimeField, Zero};

/// Full rounds (4 before and 4 after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// circomlib's partial rounds for state width t = 2 ..= 17 (1 to 16 inputs).
const PARTIAL_ROUNDS: [usize; 16] = [
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
];
/// Most inputs one call hashes.
pub const MAX_INPUTS: usize = 16;
const MAX_WIDTH: usize = MAX_INPUTS + 1;

/// Parameters for one state width.
pub struct Params {
    pub width: usize,
    pub partial_rounds: usize,
    /// Round constants, one row per round.
    pub ark: Vec<Vec<Fr>>,
    /// The MDS matrix as used: `new[i] = Σ_j mds[i][j] · state[j]`.
    pub mds: Vec<Vec<Fr>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoseidonError {
    #[error("Poseidon takes 1 to {MAX_INPUTS} inputs, not {0}")]
    Arity(usize),
}

fn derive(width: usize) -> Params {
    let partial_rounds = PARTIAL_ROUNDS
        .get(width.saturating_sub(2))
        .copied()
        .unwrap_or(0);
    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
        u64::from(Fr::MODULUS_BIT_SIZE),
        width - 1,
        FULL_ROUNDS as u64,
        partial_rounds as u64,
        0,
    );
    // Applied as `M · state` with rows in LFSR order, as the reference script
    // does; the circomlib known answers below fix this orientation.
    Params {
        width,
        partial_rounds,
        ark,
        mds,
    }
}

/// Parameters for `width` = inputs + 1, derived once per process.
pub fn params(width: usize) -> Option<&'static Params> {
    static CACHE: [OnceLock<Params>; MAX_WIDTH + 1] = [const { OnceLock::new() }; MAX_WIDTH + 1];
    if !(2..=MAX_WIDTH).contains(&width) {
        return None;
    }
    CACHE
        .get(width)
        .map(|cell| cell.get_or_init(|| derive(width)))
}

#[inline]
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    let x4 = x2.square();
    *x *= x4;
}

/// The Poseidon permutation, in place. `state.len()` must equal `p.width`.
pub fn permute(p: &Params, state: &mut [Fr]) {
    let t = p.width;
    debug_assert_eq!(state.len(), t);
    let half = FULL_ROUNDS / 2;
    let rounds = FULL_ROUNDS + p.partial_rounds;
    let mut next = [Fr::zero(); MAX_WIDTH];
    for (r, constants) in p.ark.iter().enumerate().take(rounds) {
        for (s, c) in state.iter_mut().zip(constants) {
            *s += c;
        }
        if r < half || r >= half + p.partial_rounds {
            state.iter_mut().for_each(sbox);
        } else if let Some(first) = state.first_mut() {
            sbox(first);
        }
        for (out, row) in next.iter_mut().zip(&p.mds) {
            let mut acc = Fr::zero();
            for (m, s) in row.iter().zip(state.iter()) {
                acc += *m * s;
            }
            *out = acc;
        }
        state.copy_from_slice(next.get(..t).unwrap_or_default());
    }
}

/// circomlib `Poseidon(n)` of `inputs` (1 to 16 field elements).
pub fn hash(inputs: &[Fr]) -> Result<Fr, PoseidonError> {
    let p = params(inputs.len() + 1).ok_or(PoseidonError::Arity(inputs.len()))?;
    let mut state = [Fr::zero(); MAX_WIDTH];
    let state = state
        .get_mut(..p.width)
        .ok_or(PoseidonError::Arity(inputs.len()))?;
    if let Some(rest) = state.get_mut(1..) {
        rest.copy_from_slice(inputs);
    }
    permute(p, state);
    Ok(state.first().copied().unwrap_or_default())
}

/// Two-to-one hash for Merkle trees: circomlib `Poseidon(2)`.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    // Width 3 always exists, so this cannot fail.
    hash(&[left, right]).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn fr_hex(h: &str) -> Fr {
        Fr::from_be_bytes_mod_order(&hex::decode(h.trim_start_matches("0x")).unwrap())
    }

    fn fr(n: u64) -> Fr {
        Fr::from(n)
    }

    /// circomlib / circomlibjs known answers.
    #[test]
    fn matches_circomlib() {
        assert_eq!(
            hash(&[fr(1), fr(2)]).unwrap(),
            fr_hex("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a")
        );
        assert_eq!(
            hash(&[fr(0), fr(0)]).unwrap(),
            fr_hex("0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864")
        );
        assert_eq!(
            hash(&[fr(1), fr(2), fr(3), fr(4)]).unwrap(),
            fr_hex("0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465")
        );
        // The whole permutation of [0, 1, 2] (reference sage poseidonperm_x5_254_3).
        let p = params(3).unwrap();
        let mut s = [fr(0), fr(1), fr(2)];
        permute(p, &mut s);
        assert_eq!(
            s[1],
            fr_hex("0x0fca49b798923ab0239de1c9e7a4a9a2210312b6a2f616d18b5a87f9b628ae29")
        );
        assert_eq!(
            s[2],
            fr_hex("0x0e7ae82e40091e63cbd4f16a6d16310b3729d4b6e138fcf54110e2867045a30c")
        );
    }

    /// `hash` is the permutation of `[0, inputs…]`, first element; different
    /// inputs, arities and orders give different outputs.
    #[test]
    fn hash_is_the_permutation_and_separates_inputs() {
        for n in 1..=MAX_INPUTS {
            let inputs: Vec<Fr> = (1..=n as u64).map(fr).collect();
            let mut state = vec![fr(0)];
            state.extend(&inputs);
            permute(params(n + 1).unwrap(), &mut state);
            assert_eq!(hash(&inputs).unwrap(), state[0]);
        }
        assert_ne!(hash2(fr(1), fr(2)), hash2(fr(2), fr(1)));
        assert_ne!(hash(&[fr(1)]).unwrap(), hash(&[fr(1), fr(0)]).unwrap());
    }

    #[test]
    fn arity_is_checked() {
        assert_eq!(hash(&[]), Err(PoseidonError::Arity(0)));
        assert_eq!(hash(&[fr(1); 17]), Err(PoseidonError::Arity(17)));
        assert!(hash(&[fr(7); 16]).is_ok());
    }

    #[test]
    fn parameters_have_the_circomlib_shape() {
        for width in 2..=MAX_WIDTH {
            let p = params(width).unwrap();
            assert_eq!(p.ark.len(), FULL_ROUNDS + PARTIAL_ROUNDS[width - 2]);
            assert!(p.ark.iter().all(|r| r.len() == width));
            assert_eq!(p.mds.len(), width);
        }
    }
}
