//! A transcript prepared for phase 2 (`snarkjs powersoftau prepare
//! phase2`, `docs/research/snarkjs-formats.md` §2.3): the powers of τ
//! turned into Lagrange bases, so a circuit's parameters are sums of
//! points the transcript holds.
//!
//! Section 12 (`τ`·G1), 13 (·G2), 14 (`α`·G1) and 15 (`β`·G1) each hold
//! blocks `p = 0, 1, …` of `M = 2^p` points, block `p` starting at point
//! `2^p − 1`: `block_p[k] = L_k(τ)·G` with `L_k(X) = (1/M)·Σ_j ω_M^{−jk}·X^j`,
//! the inverse DFT of the first `M` powers. Sections 13–15 stop at
//! `p = power`; section 12 has one block more (`M = 2N`, whose odd points
//! a circuit's H query is), computed over `τ^0 … τ^{2N−2}` and a point at
//! infinity in place of the power the transcript does not hold.
//!
//! The transforms are FFTs over curve points (arkworks' radix-2 domain,
//! whose roots of unity are snarkjs's: generator 5).

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rand_core::{CryptoRng, RngCore};

use super::CeremonyError;

/// The four prepared sections, each its blocks back to back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lagrange {
    pub tau_g1: Vec<G1Affine>,
    pub tau_g2: Vec<G2Affine>,
    pub alpha_tau_g1: Vec<G1Affine>,
    pub beta_tau_g1: Vec<G1Affine>,
}

/// The number of points in blocks `0 ..= last`: `2^(last+1) − 1`.
pub fn points_through(last: u32) -> usize {
    (1usize << (last + 1)) - 1
}

/// Block `p` of a prepared section: `2^p` points from `2^p − 1`.
pub fn block<T>(section: &[T], p: u32) -> Option<&[T]> {
    let m = 1usize << p;
    section.get(m - 1..2 * m - 1)
}

/// The radix-2 domain of exactly `m` points.
pub fn domain(m: usize) -> Result<Radix2EvaluationDomain<Fr>, CeremonyError> {
    Radix2EvaluationDomain::<Fr>::new(m)
        .filter(|d| d.size() == m)
        .ok_or_else(|| CeremonyError::Invalid {
            what: "domain".into(),
            reason: format!("no radix-2 domain of {m} points"),
        })
}

/// Blocks `0 ..= last` of the inverse DFTs of `powers` (missing powers
/// count as the point at infinity).
fn blocks<G>(powers: &[G::Affine], last: u32) -> Result<Vec<G::Affine>, CeremonyError>
where
    G: CurveGroup<ScalarField = Fr>,
{
    let mut out = Vec::with_capacity(points_through(last));
    for p in 0..=last {
        let m = 1usize << p;
        let mut v: Vec<G> = (0..m)
            .map(|i| powers.get(i).map_or_else(G::zero, |q| q.into_group()))
            .collect();
        domain(m)?.ifft_in_place(&mut v);
        out.extend(G::normalize_batch(&v));
    }
    Ok(out)
}

impl Lagrange {
    /// The prepared sections of a transcript of `2^power` powers.
    pub fn compute(
        power: u32,
        tau_g1: &[G1Affine],
        tau_g2: &[G2Affine],
        alpha_tau_g1: &[G1Affine],
        beta_tau_g1: &[G1Affine],
    ) -> Result<Lagrange, CeremonyError> {
        Ok(Lagrange {
            tau_g1: blocks::<G1Projective>(tau_g1, power + 1)?,
            tau_g2: blocks::<G2Projective>(tau_g2, power)?,
            alpha_tau_g1: blocks::<G1Projective>(alpha_tau_g1, power)?,
            beta_tau_g1: blocks::<G1Projective>(beta_tau_g1, power)?,
        })
    }

    /// Checks every block against the powers it was computed from, as
    /// snarkjs's `verifyLagrangeEvaluations` does: with random `r_j` and
    /// `r' = DFT(r)`, `Σ_k r'_k·block[k] = Σ_j r_j·power_j` holds for all
    /// `r` only if the block is the inverse DFT of the powers.
    pub fn verify<R: RngCore + CryptoRng>(
        &self,
        power: u32,
        tau_g1: &[G1Affine],
        tau_g2: &[G2Affine],
        alpha_tau_g1: &[G1Affine],
        beta_tau_g1: &[G1Affine],
        rng: &mut R,
    ) -> Result<(), CeremonyError> {
        check_blocks::<G1Projective, R>("lagrange tauG1", &self.tau_g1, tau_g1, power + 1, rng)?;
        check_blocks::<G2Projective, R>("lagrange tauG2", &self.tau_g2, tau_g2, power, rng)?;
        check_blocks::<G1Projective, R>(
            "lagrange alphaTauG1",
            &self.alpha_tau_g1,
            alpha_tau_g1,
            power,
            rng,
        )?;
        check_blocks::<G1Projective, R>(
            "lagrange betaTauG1",
            &self.beta_tau_g1,
            beta_tau_g1,
            power,
            rng,
        )
    }
}

fn check_blocks<G, R>(
    name: &str,
    section: &[G::Affine],
    powers: &[G::Affine],
    last: u32,
    rng: &mut R,
) -> Result<(), CeremonyError>
where
    G: CurveGroup<ScalarField = Fr> + VariableBaseMSM,
    R: RngCore + CryptoRng,
{
    for p in 0..=last {
        let m = 1usize << p;
        let b = block(section, p).ok_or_else(|| CeremonyError::Invalid {
            what: name.to_owned(),
            reason: format!("block {p} is missing"),
        })?;
        let r: Vec<Fr> = (0..m)
            .map(|j| {
                if j < powers.len() {
                    Fr::rand(rng)
                } else {
                    Fr::zero()
                }
            })
            .collect();
        let held = m.min(powers.len());
        let from_powers = G::msm(
            powers.get(..held).unwrap_or_default(),
            r.get(..held).unwrap_or_default(),
        );
        let r_hat = domain(m)?.fft(&r);
        let from_block = G::msm(b, &r_hat);
        match (from_powers, from_block) {
            (Ok(x), Ok(y)) if x == y => {}
            _ => {
                return Err(CeremonyError::Check {
                    contribution: None,
                    check: format!("{name} block {p} is the Lagrange basis of the powers"),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use ark_ff::Field;

    /// With a known τ, each block is `L_k(τ)·G`, the Lagrange polynomial
    /// of its domain evaluated directly.
    #[test]
    fn blocks_are_lagrange_polynomials_at_tau() {
        let tau = Fr::from(7u64);
        let g = G1Affine::generator();
        let powers: Vec<G1Affine> = (0..7u64)
            .map(|i| (g * tau.pow([i])).into_affine())
            .collect();
        let out = blocks::<G1Projective>(&powers, 3).unwrap();
        assert_eq!(out.len(), 15);
        for p in 0..=2u32 {
            let d = domain(1 << p).unwrap();
            let want: Vec<G1Affine> = d
                .evaluate_all_lagrange_coefficients(tau)
                .iter()
                .map(|l| (g * l).into_affine())
                .collect();
            assert_eq!(block(&out, p).unwrap(), want.as_slice(), "block {p}");
        }
        // The last block lacks τ^7: it is the basis applied to τ^0..τ^6 only.
        let d = domain(8).unwrap();
        let mut v: Vec<G1Projective> = powers.iter().map(|p| p.into_group()).collect();
        v.push(G1Projective::zero());
        d.ifft_in_place(&mut v);
        assert_eq!(block(&out, 3).unwrap(), G1Projective::normalize_batch(&v));
    }

    #[test]
    fn a_bent_block_is_refused() {
        let tau = Fr::from(11u64);
        let g = G1Affine::generator();
        let powers: Vec<G1Affine> = (0..4u64)
            .map(|i| (g * tau.pow([i])).into_affine())
            .collect();
        let mut out = blocks::<G1Projective>(&powers, 2).unwrap();
        let mut rng = rand_core::OsRng;
        check_blocks::<G1Projective, _>("s", &out, &powers, 2, &mut rng).unwrap();
        out.swap(3, 4);
        let e = check_blocks::<G1Projective, _>("s", &out, &powers, 2, &mut rng).unwrap_err();
        assert!(e.to_string().contains("block 2"), "{e}");
    }
}
