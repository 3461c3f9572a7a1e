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

pub mod constraints;

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
    /// Round constants, one row per round (as generated).
    pub ark: Vec<Vec<Fr>>,
    /// The MDS matrix as used: `new[i] = Σ_j mds[i][j] · state[j]`.
    pub mds: Vec<Vec<Fr>>,
    /// The same permutation with sparse partial rounds (see [`Fast`]).
    fast: Option<Fast>,
}

/// The partial rounds rewritten so each multiplies by a sparse matrix.
///
/// A partial round is `s ← N · sbox₀(s + c)` where `sbox₀` touches only
/// `s[0]`. Write `N = S · M′` with `M′ = diag(1, D)` (`D` = `N` without its
/// first row and column) and `S = [[a, bᵀD⁻¹], [c, I]]`. `M′` leaves `s[0]`
/// alone, so it commutes with `sbox₀`, and moving it before the constant
/// addition turns the constant into `M′·c`; it then belongs to the previous
/// round's matrix. Going from the last partial round back, every partial round
/// keeps only its sparse `S` (2t − 1 multiplications instead of t²), and the
/// accumulated `M′` lands in the last full round before them.
struct Fast {
    /// Round constants after the rewriting.
    ark: Vec<Vec<Fr>>,
    /// Matrix of the last full round before the partial rounds.
    pre_partial: Vec<Vec<Fr>>,
    /// Per partial round: the first row of `S`, and its first column below `[0][0]`.
    sparse: Vec<(Vec<Fr>, Vec<Fr>)>,
}

type Mat = Vec<Vec<Fr>>;

#[allow(clippy::indexing_slicing)] // square matrices of one width
fn mat_mul(a: &Mat, b: &Mat) -> Mat {
    let n = a.len();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (0..n).fold(Fr::zero(), |acc, k| acc + a[i][k] * b[k][j]))
                .collect()
        })
        .collect()
}

fn mat_vec(a: &Mat, v: &[Fr]) -> Vec<Fr> {
    a.iter()
        .map(|row| {
            row.iter()
                .zip(v)
                .fold(Fr::zero(), |acc, (m, x)| acc + *m * x)
        })
        .collect()
}

/// Gauss–Jordan inverse; `None` if singular.
#[allow(clippy::indexing_slicing)] // square matrices of one width
fn inverse(m: &Mat) -> Option<Mat> {
    let n = m.len();
    let mut a: Mat = m.clone();
    let mut inv: Mat = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { Fr::from(1u64) } else { Fr::zero() })
                .collect()
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r][col].is_zero())?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p_inv = a[col][col].inverse()?;
        for j in 0..n {
            a[col][j] *= p_inv;
            inv[col][j] *= p_inv;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (x, y) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * x;
                    inv[r][j] -= f * y;
                }
            }
        }
    }
    Some(inv)
}

#[allow(clippy::indexing_slicing)] // square matrices of the width, built just above
fn fast_form(width: usize, partial_rounds: usize, ark: &[Vec<Fr>], mds: &Mat) -> Option<Fast> {
    let half = FULL_ROUNDS / 2;
    let mut ark_f: Vec<Vec<Fr>> = ark.to_vec();
    let mut sparse = vec![(Vec::new(), Vec::new()); partial_rounds];
    let mut carry: Option<Mat> = None;
    for r in (half..half + partial_rounds).rev() {
        let n = match &carry {
            Some(m) => mat_mul(m, mds),
            None => mds.clone(),
        };
        let d: Mat = (1..width)
            .map(|i| (1..width).map(|j| n[i][j]).collect())
            .collect();
        let d_inv = inverse(&d)?;
        let row: Vec<Fr> =
            std::iter::once(n[0][0])
                .chain((0..width - 1).map(|j| {
                    (0..width - 1).fold(Fr::zero(), |acc, k| acc + n[0][k + 1] * d_inv[k][j])
                }))
                .collect();
        let col: Vec<Fr> = (1..width).map(|i| n[i][0]).collect();
        sparse[r - half] = (row, col);
        let mut m_prime: Mat = vec![vec![Fr::zero(); width]; width];
        m_prime[0][0] = Fr::from(1u64);
        for i in 1..width {
            for j in 1..width {
                m_prime[i][j] = d[i - 1][j - 1];
            }
        }
        ark_f[r] = mat_vec(&m_prime, &ark_f[r]);
        carry = Some(m_prime);
    }
    let pre_partial = mat_mul(&carry?, mds);
    Some(Fast {
        ark: ark_f,
        pre_partial,
        sparse,
    })
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
    let fast = fast_form(width, partial_rounds, &ark, &mds);
    Params {
        width,
        partial_rounds,
        ark,
        mds,
        fast,
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
    match &p.fast {
        Some(f) => permute_fast(p, f, state),
        None => permute_reference(p, state),
    }
}

fn mix(matrix: &[Vec<Fr>], state: &mut [Fr]) {
    let mut next = [Fr::zero(); MAX_WIDTH];
    for (out, row) in next.iter_mut().zip(matrix) {
        let mut acc = Fr::zero();
        for (m, s) in row.iter().zip(state.iter()) {
            acc += *m * s;
        }
        *out = acc;
    }
    let t = state.len();
    state.copy_from_slice(next.get(..t).unwrap_or_default());
}

fn permute_fast(p: &Params, f: &Fast, state: &mut [Fr]) {
    let half = FULL_ROUNDS / 2;
    let rounds = FULL_ROUNDS + p.partial_rounds;
    for (r, constants) in f.ark.iter().enumerate().take(rounds) {
        for (s, c) in state.iter_mut().zip(constants) {
            *s += c;
        }
        if r < half || r >= half + p.partial_rounds {
            state.iter_mut().for_each(sbox);
            mix(
                if r + 1 == half {
                    &f.pre_partial
                } else {
                    &p.mds
                },
                state,
            );
        } else if let (Some((row, col)), Some((first, rest))) =
            (f.sparse.get(r - half), state.split_first_mut())
        {
            sbox(first);
            let s0 = *first;
            let mut new0 = row.first().copied().unwrap_or_default() * s0;
            for (w, x) in row.iter().skip(1).zip(rest.iter()) {
                new0 += *w * x;
            }
            for (x, c) in rest.iter_mut().zip(col) {
                *x += *c * s0;
            }
            *first = new0;
        }
    }
}

/// The permutation exactly as specified (dense matrix in every round); the
/// fast form is tested against it.
pub fn permute_reference(p: &Params, state: &mut [Fr]) {
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

    /// The sparse form equals the specified permutation on arbitrary states, every width.
    #[test]
    fn the_fast_permutation_equals_the_reference() {
        use ark_ff::UniformRand;
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        for width in 2..=MAX_WIDTH {
            let p = params(width).unwrap();
            assert!(p.fast.is_some(), "width {width} has no sparse form");
            for _ in 0..4 {
                let start: Vec<Fr> = (0..width).map(|_| Fr::rand(&mut rng)).collect();
                let (mut a, mut b) = (start.clone(), start);
                permute(p, &mut a);
                permute_reference(p, &mut b);
                assert_eq!(a, b, "width {width}");
            }
        }
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
