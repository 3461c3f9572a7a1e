//! Phase 2 of the setup, per circuit: snarkjs's `zkey new | contribute |
//! beacon | verify` (`docs/research/snarkjs-formats.md` §6.4–7), and the
//! arkworks proving key a finished ceremony yields.
//!
//! **Initial parameters.** With `m` constraints, `ℓ` public inputs and
//! `n = 2^⌈log2(m + ℓ + 1)⌉`, the QAP is the circuit's A, B, C rows plus
//! one row `x_s · 0 = 0` per instance variable (rows `m … m + ℓ`, in A), so
//! each variable's polynomials are sums of Lagrange bases `L_c` of the
//! `n`-point domain. Evaluated at the transcript's τ without knowing it:
//! `A_s = Σ a_{c,s}·[L_c(τ)]₁`, `B_s` likewise in G1 and G2, and
//! `K_s = Σ (a_{c,s}·[βL_c]₁ + b_{c,s}·[αL_c]₁ + c_{c,s}·[L_c]₁)`, an IC
//! point for `s ≤ ℓ` (γ = 1) and an L point otherwise (δ = 1). H is the
//! odd points of the `2n`-point basis, `[L_{2i+1}^{(2n)}(τ)]₁`: `A·B − C`
//! vanishes on the even ones.
//!
//! **Contributions.** A member draws δ′, multiplies δ (G1 and G2) by it and
//! divides L and H by it, and proves knowledge of δ′ the way phase 1 does:
//! `g1_s`, `g1_sx = δ′·g1_s`, `g2_spx = δ′·g2_sp` with `g2_sp` hashed from
//! a transcript that chains every earlier contribution. One honest member
//! who destroys δ′ is enough: nobody knows the product δ.
//!
//! **Verification** recomputes the initial parameters from the circuit and
//! the transcript, checks each contribution's proof and δ update, that
//! everything but δ, L and H is unchanged, and that L and H are the initial
//! ones divided by the final δ (random linear combinations, one pairing
//! equation each).

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::EvaluationDomain;
use blake2::{Blake2b512, Digest};
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use super::lagrange::{block, domain};
use super::pok::{beacon_rng, u_g1, u_g2};
use super::ptau::{check, invalid, same_ratio, KeyPart, Kind, Ptau};
use super::rng::{self, ChaCha};
use super::zkey::{Coef, Contribution, Zkey};
use super::CeremonyError;
use crate::groth16::ConstraintMatrices;

/// The circuit's size, as the parameters are laid out for it.
struct Layout {
    constraints: usize,
    public: usize,
    vars: usize,
    power: u32,
}

fn layout(m: &ConstraintMatrices) -> Result<Layout, CeremonyError> {
    let constraints = m.a.len();
    let public = m.num_instance.saturating_sub(1);
    let rows = constraints + public;
    if m.num_instance == 0 || rows == 0 || m.b.len() != constraints || m.c.len() != constraints {
        return Err(invalid(
            "circuit",
            "no constraints, or matrices of different heights",
        ));
    }
    // The smallest power of two above m + ℓ (snarkjs: log2(m + ℓ) + 1).
    let power = usize::BITS - rows.leading_zeros();
    Ok(Layout {
        constraints,
        public,
        vars: m.num_instance + m.num_witness,
        power,
    })
}

/// A matrix's rows with terms in wire order, as the `.r1cs` file lists them.
fn sorted_rows(mat: &[Vec<(Fr, usize)>]) -> Vec<Vec<(Fr, usize)>> {
    mat.iter()
        .map(|row| {
            let mut r = row.clone();
            r.sort_by_key(|(_, wire)| *wire);
            r
        })
        .collect()
}

/// `Σ coeff·point`, ±1 coefficients by addition (most R1CS terms).
/// Serial on purpose: it runs inside a parallel loop over variables, and a
/// parallel MSM nested in it let rayon's work stealing pile tasks on one
/// worker's stack until it overflowed (seen on the depth-20 circuits).
fn combine<G>(terms: &[(Fr, G::Affine)]) -> G
where
    G: CurveGroup<ScalarField = Fr>,
{
    let minus_one = -Fr::one();
    terms.iter().fold(G::zero(), |acc, (k, p)| {
        if k.is_one() {
            acc + p
        } else if *k == minus_one {
            acc - p.into_group()
        } else {
            acc + *p * k
        }
    })
}

/// One query: per variable, `Σ coeff·bases[row]` over its terms.
fn query<G>(
    by_var: &[Vec<(Fr, usize)>],
    bases: &[G::Affine],
    what: &str,
) -> Result<Vec<G>, CeremonyError>
where
    G: CurveGroup<ScalarField = Fr>,
{
    by_var
        .par_iter()
        .map(|terms| {
            let t = terms
                .iter()
                .map(|(k, c)| Ok((*k, at(bases, *c, what)?)))
                .collect::<Result<Vec<_>, CeremonyError>>()?;
            Ok(combine::<G>(&t))
        })
        .collect()
}

/// Per variable, the `(coefficient, constraint)` terms of one matrix.
fn by_variable(
    rows: &[Vec<(Fr, usize)>],
    vars: usize,
) -> Result<Vec<Vec<(Fr, usize)>>, CeremonyError> {
    let mut out = vec![Vec::new(); vars];
    for (c, row) in rows.iter().enumerate() {
        for (k, s) in row {
            out.get_mut(*s)
                .ok_or_else(|| invalid("circuit", format!("constraint {c} names variable {s}")))?
                .push((*k, c));
        }
    }
    Ok(out)
}

fn at<T: Copy>(v: &[T], i: usize, what: &str) -> Result<T, CeremonyError> {
    v.get(i)
        .copied()
        .ok_or_else(|| invalid(what.to_owned(), format!("point {i} is missing")))
}

/// The prepared points a circuit of `2^power` rows is built from.
struct Bases<'a> {
    /// `L_c(τ)` in G1, G2, times α and times β (G1).
    lg1: &'a [G1Affine],
    lg2: &'a [G2Affine],
    la: &'a [G1Affine],
    lb: &'a [G1Affine],
    /// The `2n`-point basis in G1 (H is its odd points).
    h2n: &'a [G1Affine],
}

fn bases(ptau: &Ptau, power: u32) -> Result<Bases<'_>, CeremonyError> {
    if power > ptau.power {
        return Err(invalid(
            "transcript",
            format!(
                "the circuit needs 2^{power} powers; the transcript has 2^{}",
                ptau.power
            ),
        ));
    }
    let lag = ptau.lagrange.as_ref().ok_or_else(|| {
        invalid(
            "transcript",
            "not prepared for phase 2 (run `ceremony ptau prepare`)",
        )
    })?;
    let missing = || invalid("transcript", "a prepared section is too short");
    Ok(Bases {
        lg1: block(&lag.tau_g1, power).ok_or_else(missing)?,
        lg2: block(&lag.tau_g2, power).ok_or_else(missing)?,
        la: block(&lag.alpha_tau_g1, power).ok_or_else(missing)?,
        lb: block(&lag.beta_tau_g1, power).ok_or_else(missing)?,
        h2n: block(&lag.tau_g1, power + 1).ok_or_else(missing)?,
    })
}

/// Section 4: for each constraint its A terms then its B terms (in wire
/// order), then the instance rows `x_s · 0 = 0`.
fn coefficients(ra: &[Vec<(Fr, usize)>], rb: &[Vec<(Fr, usize)>], lay: &Layout) -> Vec<Coef> {
    let mut coefs = Vec::new();
    for (c, (row_a, row_b)) in ra.iter().zip(rb).enumerate() {
        for (matrix, row) in [(0, row_a), (1, row_b)] {
            for (value, s) in row {
                coefs.push(Coef {
                    matrix,
                    constraint: c as u32,
                    signal: *s as u32,
                    value: *value,
                });
            }
        }
    }
    for s in 0..=lay.public {
        coefs.push(Coef {
            matrix: 0,
            constraint: (lay.constraints + s) as u32,
            signal: s as u32,
            value: Fr::one(),
        });
    }
    coefs
}

/// The initial parameters (`snarkjs zkey new`) of a circuit from a
/// prepared phase-1 transcript: byte for byte what snarkjs computes.
pub fn init(m: &ConstraintMatrices, ptau: &Ptau) -> Result<Zkey, CeremonyError> {
    let lay = layout(m)?;
    if lay.power > ptau.power {
        return Err(invalid(
            "transcript",
            format!(
                "the circuit needs 2^{} powers (m = {}, {} public inputs); the transcript has 2^{}",
                lay.power, lay.constraints, lay.public, ptau.power
            ),
        ));
    }
    let Bases {
        lg1,
        lg2,
        la,
        lb,
        h2n,
    } = bases(ptau, lay.power)?;
    let p = lay.power;
    let (ra, rb, rc) = (sorted_rows(&m.a), sorted_rows(&m.b), sorted_rows(&m.c));
    let (va, vb, vc) = (
        by_variable(&ra, lay.vars)?,
        by_variable(&rb, lay.vars)?,
        by_variable(&rc, lay.vars)?,
    );
    // The extra rows: instance variable s is x_s·0 = 0 at row m + s, in A.
    let extra = |s: usize| (s <= lay.public).then_some(lay.constraints + s);

    let a: Vec<G1Projective> = (0..lay.vars)
        .into_par_iter()
        .map(|s| {
            let mut t: Vec<(Fr, G1Affine)> = Vec::new();
            for (k, c) in va.get(s).into_iter().flatten() {
                t.push((*k, at(lg1, *c, "lagrange tauG1")?));
            }
            if let Some(row) = extra(s) {
                t.push((Fr::one(), at(lg1, row, "lagrange tauG1")?));
            }
            Ok(combine::<G1Projective>(&t))
        })
        .collect::<Result<_, CeremonyError>>()?;
    let b1 = query::<G1Projective>(&vb, lg1, "lagrange tauG1")?;
    let b2 = query::<G2Projective>(&vb, lg2, "lagrange tauG2")?;
    let k: Vec<G1Projective> = (0..lay.vars)
        .into_par_iter()
        .map(|s| {
            let mut t: Vec<(Fr, G1Affine)> = Vec::new();
            for (x, c) in va.get(s).into_iter().flatten() {
                t.push((*x, at(lb, *c, "lagrange betaTauG1")?));
            }
            for (x, c) in vb.get(s).into_iter().flatten() {
                t.push((*x, at(la, *c, "lagrange alphaTauG1")?));
            }
            for (x, c) in vc.get(s).into_iter().flatten() {
                t.push((*x, at(lg1, *c, "lagrange tauG1")?));
            }
            if let Some(row) = extra(s) {
                t.push((Fr::one(), at(lb, row, "lagrange betaTauG1")?));
            }
            Ok(combine::<G1Projective>(&t))
        })
        .collect::<Result<_, CeremonyError>>()?;
    let n = 1usize << p;
    let h = (0..n)
        .map(|i| at(h2n, 2 * i + 1, "lagrange tauG1"))
        .collect::<Result<Vec<_>, _>>()?;

    let coefs = coefficients(&ra, &rb, &lay);
    let k = G1Projective::normalize_batch(&k);
    let (ic, l) = k.split_at(lay.public + 1);
    let mut z = Zkey {
        n_vars: lay.vars as u32,
        n_public: lay.public as u32,
        domain_size: n as u32,
        alpha1: at(&ptau.alpha_tau_g1, 0, "alphaTauG1")?,
        beta1: at(&ptau.beta_tau_g1, 0, "betaTauG1")?,
        beta2: ptau.beta_g2,
        gamma2: G2Affine::generator(),
        delta1: G1Affine::generator(),
        delta2: G2Affine::generator(),
        ic: ic.to_vec(),
        coefs,
        a: G1Projective::normalize_batch(&a),
        b1: G1Projective::normalize_batch(&b1),
        b2: G2Projective::normalize_batch(&b2),
        l: l.to_vec(),
        h,
        cs_hash: [0; 64],
        contributions: Vec::new(),
    };
    z.cs_hash = cs_hash(&z, &ptau.tau_g1)?;
    Ok(z)
}

/// The circuit hash over the initial parameters, as bellman's phase 2
/// (and snarkjs) lays it out: header points, then each query with a
/// big-endian length; H as `τ^{i+n}·G1 − τ^i·G1` from the raw powers.
fn cs_hash(z: &Zkey, tau_g1: &[G1Affine]) -> Result<[u8; 64], CeremonyError> {
    let mut h = Blake2b512::new();
    h.update(u_g1(&z.alpha1));
    h.update(u_g1(&z.beta1));
    h.update(u_g2(&z.beta2));
    h.update(u_g2(&G2Affine::generator()));
    h.update(u_g1(&G1Affine::generator()));
    h.update(u_g2(&G2Affine::generator()));
    h.update((z.n_public + 1).to_be_bytes());
    z.ic.iter().for_each(|p| h.update(u_g1(p)));
    let n = z.domain_size as usize;
    h.update((z.domain_size - 1).to_be_bytes());
    // snarkjs hashes in chunks of 2^14 points of size min(n − 1, 2^14): n − 1
    // points up to n = 2^14, n points from n = 2^15 on.
    const CHUNK: usize = 1 << 14;
    let chunk = (n - 1).min(CHUNK);
    let hashed = (n - 1).div_ceil(CHUNK) * chunk;
    let diffs: Vec<G1Projective> = (0..hashed)
        .map(|i| Ok(at(tau_g1, i + n, "tauG1")?.into_group() - at(tau_g1, i, "tauG1")?))
        .collect::<Result<_, CeremonyError>>()
        .map_err(|_| {
            invalid(
                "transcript",
                "the circuit's H query needs a transcript of one power more",
            )
        })?;
    G1Projective::normalize_batch(&diffs)
        .iter()
        .for_each(|p| h.update(u_g1(p)));
    h.update((z.n_vars - z.n_public - 1).to_be_bytes());
    z.l.iter().for_each(|p| h.update(u_g1(p)));
    for q in [&z.a, &z.b1] {
        h.update(z.n_vars.to_be_bytes());
        q.iter().for_each(|p| h.update(u_g1(p)));
    }
    h.update(z.n_vars.to_be_bytes());
    z.b2.iter().for_each(|p| h.update(u_g2(p)));
    Ok(h.finalize().into())
}

/// `U(δ after) ‖ U(g1_s) ‖ U(g1_sx) ‖ U(g2_spx) ‖ transcript`: what each
/// contribution adds to the running transcript (`hashPubKey`).
fn hash_pub_key(h: &mut Blake2b512, c: &Contribution) {
    h.update(u_g1(&c.delta_after));
    h.update(u_g1(&c.key.g1_s));
    h.update(u_g1(&c.key.g1_sx));
    h.update(u_g2(&c.key.g2_spx));
    h.update(c.transcript);
}

/// The hash a member publishes for its contribution, as snarkjs prints it.
pub fn contribution_hash(c: &Contribution) -> [u8; 64] {
    let mut h = Blake2b512::new();
    hash_pub_key(&mut h, c);
    h.finalize().into()
}

/// `points[i] · k`, in affine form.
fn scale(points: &[G1Affine], k: Fr) -> Vec<G1Affine> {
    let scaled: Vec<G1Projective> = points.par_iter().map(|p| *p * k).collect();
    G1Projective::normalize_batch(&scaled)
}

impl Zkey {
    fn transcript_so_far(&self) -> Blake2b512 {
        let mut h = Blake2b512::new();
        h.update(self.cs_hash);
        self.contributions
            .iter()
            .for_each(|c| hash_pub_key(&mut h, c));
        h
    }

    /// Adds a member's contribution, δ′ drawn from `rng` (see
    /// [`super::ptau::contributor_rng`]) and forgotten when this returns.
    pub fn contribute(&self, rng: &mut ChaCha, name: &str) -> Result<Zkey, CeremonyError> {
        self.apply(rng, Kind::Contribution, name)
    }

    /// Adds a public random beacon as the last contribution: δ′ is drawn
    /// from `hash` through SHA-256 `2^iterations_exp` times, so anyone can
    /// recompute it.
    pub fn beacon(
        &self,
        hash: &[u8],
        iterations_exp: u8,
        name: &str,
    ) -> Result<Zkey, CeremonyError> {
        let kind = super::ptau::beacon_kind(hash, iterations_exp)?;
        self.apply(&mut beacon_rng(hash, iterations_exp), kind, name)
    }

    fn apply(&self, rng: &mut ChaCha, kind: Kind, name: &str) -> Result<Zkey, CeremonyError> {
        let prv: Fr = rng.field();
        let inv = prv
            .inverse()
            .ok_or_else(|| invalid("contribution", "the secret drawn is zero; draw again"))?;
        let g1_s = rng::g1(rng);
        let g1_sx = (g1_s * prv).into_affine();
        let mut t = self.transcript_so_far();
        t.update(u_g1(&g1_s));
        t.update(u_g1(&g1_sx));
        let transcript: [u8; 64] = t.finalize().into();
        let g2_spx = (rng::hash_to_g2(&transcript) * prv).into_affine();
        let delta1 = (self.delta1 * prv).into_affine();
        let mut next = Zkey {
            delta1,
            delta2: (self.delta2 * prv).into_affine(),
            l: scale(&self.l, inv),
            h: scale(&self.h, inv),
            ..self.clone()
        };
        next.contributions.push(Contribution {
            delta_after: delta1,
            key: KeyPart {
                g1_s,
                g1_sx,
                g2_spx,
            },
            transcript,
            kind,
            name: Some(name.chars().take(64).collect()),
        });
        Ok(next)
    }

    /// Checks these parameters against the circuit and the prepared
    /// phase-1 transcript, as `snarkjs zkey verify` does. Errors name the
    /// contribution (1-based) and the check.
    pub fn verify<R: RngCore + CryptoRng>(
        &self,
        m: &ConstraintMatrices,
        ptau: &Ptau,
        rng: &mut R,
    ) -> Result<(), CeremonyError> {
        self.verify_from(&init(m, ptau)?, &ptau.tau_g1, rng)
    }

    /// Checks these parameters against the initial ones they grew from.
    pub fn verify_from<R: RngCore + CryptoRng>(
        &self,
        init: &Zkey,
        tau_g1: &[G1Affine],
        rng: &mut R,
    ) -> Result<(), CeremonyError> {
        let last = self.contributions.len();
        if last == 0 {
            return Err(invalid(
                "contributions",
                "there are none: δ is still 1 and anyone can forge proofs",
            ));
        }
        self.verify_delta()?;
        let at = Some(last);
        check(
            init.cs_hash == self.cs_hash,
            None,
            "the circuit hash is the one of this circuit and transcript",
        )?;
        check(
            (self.n_vars, self.n_public, self.domain_size)
                == (init.n_vars, init.n_public, init.domain_size),
            None,
            "the circuit's sizes (variables, public inputs, domain) are this circuit's",
        )?;
        check(
            (self.alpha1, self.beta1, self.beta2, self.gamma2)
                == (init.alpha1, init.beta1, init.beta2, init.gamma2),
            None,
            "α, β and γ are the transcript's",
        )?;
        for (same, what) in [
            (self.ic == init.ic, "IC"),
            (self.coefs == init.coefs, "coefficients"),
            (self.a == init.a, "A"),
            (self.b1 == init.b1, "B1"),
            (self.b2 == init.b2, "B2"),
        ] {
            check(same, None, &format!("the {what} section is the circuit's"))?;
        }
        check(
            self.l.len() == init.l.len() && self.h.len() == init.h.len(),
            at,
            "the L and H sections have the circuit's sizes",
        )?;
        self.check_l(init, rng, at)?;
        self.check_h(&init.delta2, tau_g1, rng, at)
    }

    /// What a member checks before contributing, in seconds where
    /// [`Zkey::verify`] recomputes the initial parameters in minutes: that
    /// these are the circuit's parameters over this transcript, by random
    /// linear combinations. With random `ρ_s` and, per row `c`, `a_c = Σ_s
    /// ρ_s·a_{c,s}` (and `b_c`, `c_c`, instance rows included), each query
    /// must satisfy `Σ ρ_s·A_s = Σ a_c·[L_c]₁`, likewise B in G1 and G2,
    /// `Σ ρ_s·IC_s = Σ (a_c·[βL_c] + b_c·[αL_c] + c_c·[L_c])` over the
    /// instance variables and the same, divided by δ, for L over the
    /// witnesses (one pairing); a wrong point passes with probability
    /// 1/r. Also the coefficients, α, β, γ, every contribution's proof and
    /// δ update, and H against the powers. Not the circuit hash (it covers
    /// the initial L, which only the full recomputation yields).
    pub fn check_circuit<R: RngCore + CryptoRng>(
        &self,
        m: &ConstraintMatrices,
        ptau: &Ptau,
        rng: &mut R,
    ) -> Result<(), CeremonyError> {
        let lay = layout(m)?;
        let b = bases(ptau, lay.power)?;
        let n = 1usize << lay.power;
        let at = (!self.contributions.is_empty()).then_some(self.contributions.len());
        check(
            (
                self.n_vars as usize,
                self.n_public as usize,
                self.domain_size as usize,
            ) == (lay.vars, lay.public, n)
                && self.ic.len() == lay.public + 1
                && self.a.len() == lay.vars
                && self.b1.len() == lay.vars
                && self.b2.len() == lay.vars
                && self.l.len() == lay.vars - lay.public - 1
                && self.h.len() == n,
            None,
            "the circuit's sizes (variables, public inputs, domain) are this circuit's",
        )?;
        check(
            (self.alpha1, self.beta1, self.beta2, self.gamma2)
                == (
                    at_point(&ptau.alpha_tau_g1, 0)?,
                    at_point(&ptau.beta_tau_g1, 0)?,
                    ptau.beta_g2,
                    G2Affine::generator(),
                ),
            None,
            "α, β and γ are the transcript's",
        )?;
        let (ra, rb) = (sorted_rows(&m.a), sorted_rows(&m.b));
        check(
            self.coefs == coefficients(&ra, &rb, &lay),
            None,
            "the coefficients section is the circuit's",
        )?;
        self.verify_delta()?;

        // Row sums of the random combination, instance and witness parts.
        let rho: Vec<Fr> = (0..lay.vars).map(|_| Fr::rand(rng)).collect();
        let sums = |mat: &[Vec<(Fr, usize)>], public: bool| -> Vec<Fr> {
            let mut out = vec![Fr::zero(); n];
            for (row, acc) in mat.iter().zip(out.iter_mut()) {
                for (k, s) in row {
                    if (*s <= lay.public) == public {
                        *acc += *k * rho.get(*s).copied().unwrap_or_default();
                    }
                }
            }
            out
        };
        let mut a_pub = sums(&m.a, true);
        for s in 0..=lay.public {
            if let (Some(x), Some(r)) = (a_pub.get_mut(lay.constraints + s), rho.get(s)) {
                *x += r;
            }
        }
        let (a_wit, b_pub, b_wit) = (sums(&m.a, false), sums(&m.b, true), sums(&m.b, false));
        let (c_pub, c_wit) = (sums(&m.c, true), sums(&m.c, false));
        let add =
            |x: &[Fr], y: &[Fr]| -> Vec<Fr> { x.iter().zip(y).map(|(p, q)| *p + q).collect() };
        let (a_all, b_all) = (add(&a_pub, &a_wit), add(&b_pub, &b_wit));
        let msm1 = |ps: &[G1Affine], ks: &[Fr]| {
            G1Projective::msm(ps, ks)
                .map_err(|_| invalid("parameters", "a section has the wrong size"))
        };
        let (rho_pub, rho_wit) = rho.split_at(lay.public + 1);
        check(
            msm1(&self.a, &rho)? == msm1(b.lg1, &a_all)?,
            None,
            "the A section is the circuit's",
        )?;
        check(
            msm1(&self.b1, &rho)? == msm1(b.lg1, &b_all)?,
            None,
            "the B1 section is the circuit's",
        )?;
        let b2 = G2Projective::msm(&self.b2, &rho).map_err(|_| invalid("B2", "wrong size"))?;
        let want = G2Projective::msm(b.lg2, &b_all).map_err(|_| invalid("B2", "wrong size"))?;
        check(b2 == want, None, "the B2 section is the circuit's")?;
        let k = |a: &[Fr], bb: &[Fr], c: &[Fr]| -> Result<G1Projective, CeremonyError> {
            Ok(msm1(b.lb, a)? + msm1(b.la, bb)? + msm1(b.lg1, c)?)
        };
        check(
            msm1(&self.ic, rho_pub)? == k(&a_pub, &b_pub, &c_pub)?,
            None,
            "the IC section is the circuit's",
        )?;
        if !self.l.is_empty() {
            let l = msm1(&self.l, rho_wit)?.into_affine();
            let want = k(&a_wit, &b_wit, &c_wit)?.into_affine();
            check(
                same_ratio(&want, &l, &self.delta2, &G2Affine::generator()),
                at,
                "the L query is the circuit's divided by δ",
            )?;
        }
        self.check_h(&G2Affine::generator(), &ptau.tau_g1, rng, at)
    }

    /// The contribution chain, and that the header's δ (G1 and G2) is the
    /// last contribution's.
    fn verify_delta(&self) -> Result<(), CeremonyError> {
        let delta = self.verify_chain()?;
        let at = (!self.contributions.is_empty()).then_some(self.contributions.len());
        check(self.delta1 == delta, at, "δ·G1 is the last contribution's")?;
        check(
            same_ratio(
                &G1Affine::generator(),
                &delta,
                &G2Affine::generator(),
                &self.delta2,
            ),
            at,
            "δ·G2 matches δ·G1",
        )?;
        Ok(())
    }

    /// Each contribution's transcript, proof of knowledge and δ update
    /// (and a beacon's secret, recomputed); returns the final δ·G1.
    fn verify_chain(&self) -> Result<G1Affine, CeremonyError> {
        let mut acc = Blake2b512::new();
        acc.update(self.cs_hash);
        let mut delta = G1Affine::generator();
        for (i, c) in self.contributions.iter().enumerate() {
            let at = Some(i + 1);
            let mut t = acc.clone();
            t.update(u_g1(&c.key.g1_s));
            t.update(u_g1(&c.key.g1_sx));
            check(
                <[u8; 64]>::from(t.finalize()) == c.transcript,
                at,
                "its transcript hash chains the earlier contributions and its key",
            )?;
            let sp = rng::hash_to_g2(&c.transcript);
            check(
                same_ratio(&c.key.g1_s, &c.key.g1_sx, &sp, &c.key.g2_spx),
                at,
                "proof of knowledge of δ′",
            )?;
            check(
                same_ratio(&delta, &c.delta_after, &sp, &c.key.g2_spx),
                at,
                "δ update against its key",
            )?;
            if let Kind::Beacon {
                iterations_exp,
                hash,
            } = &c.kind
            {
                let mut rng = beacon_rng(hash, *iterations_exp);
                let prv: Fr = rng.field();
                let g1_s = rng::g1(&mut rng);
                check(
                    g1_s == c.key.g1_s && (g1_s * prv).into_affine() == c.key.g1_sx,
                    at,
                    "the beacon's key is the one its public parameters derive",
                )?;
            }
            hash_pub_key(&mut acc, c);
            delta = c.delta_after;
        }
        Ok(delta)
    }

    /// `L = L_init / δ`: `e(Σ r_i·L_init_i, δ·G2) = e(Σ r_i·L_i, G2·δ_init)`.
    fn check_l<R: RngCore + CryptoRng>(
        &self,
        init: &Zkey,
        rng: &mut R,
        at: Option<usize>,
    ) -> Result<(), CeremonyError> {
        if self.l.is_empty() {
            return Ok(());
        }
        let r: Vec<Fr> = self.l.iter().map(|_| Fr::rand(rng)).collect();
        let r1 = G1Projective::msm(&init.l, &r).map_err(|_| invalid("L", "wrong size"))?;
        let r2 = G1Projective::msm(&self.l, &r).map_err(|_| invalid("L", "wrong size"))?;
        check(
            same_ratio(
                &r1.into_affine(),
                &r2.into_affine(),
                &self.delta2,
                &init.delta2,
            ),
            at,
            "the L query is the circuit's divided by δ",
        )
    }

    /// `H = H_init / δ`, checked against the raw powers (not the prepared
    /// sections): with random `r_i` (`r_{n−1} = 0`),
    /// `Σ r_i·(τ^{i+n} − τ^i)·G1 = Σ_k DFT(r_i·(−2)·ω_{2n}^i)_k · δ·H_k`.
    fn check_h<R: RngCore + CryptoRng>(
        &self,
        delta_init: &G2Affine,
        tau_g1: &[G1Affine],
        rng: &mut R,
        at: Option<usize>,
    ) -> Result<(), CeremonyError> {
        let n = self.domain_size as usize;
        // h has degree n − 2: the last coefficient is zero.
        let mut r: Vec<Fr> = (0..n)
            .map(|i| if i + 1 < n { Fr::rand(rng) } else { Fr::zero() })
            .collect();
        let diffs: Vec<G1Projective> = (0..n.saturating_sub(1))
            .map(|i| Ok(at_point(tau_g1, i + n)?.into_group() - at_point(tau_g1, i)?))
            .collect::<Result<_, CeremonyError>>()?;
        let r1 = G1Projective::msm(
            &G1Projective::normalize_batch(&diffs),
            r.get(..diffs.len()).unwrap_or_default(),
        )
        .map_err(|_| invalid("H", "wrong size"))?;
        let w = domain(2 * n)?.group_gen();
        let mut k = -Fr::from(2u64);
        for x in r.iter_mut() {
            *x *= k;
            k *= w;
        }
        let r_hat = domain(n)?.fft(&r);
        let r2 = G1Projective::msm(&self.h, &r_hat).map_err(|_| invalid("H", "wrong size"))?;
        check(
            same_ratio(
                &r1.into_affine(),
                &r2.into_affine(),
                &self.delta2,
                delta_init,
            ),
            at,
            "the H query is the circuit's divided by δ",
        )
    }

    /// The arkworks proving key of these parameters. Its H query is
    /// arkworks' `τ^i·Z(τ)/δ` (i < n − 1), which the odd Lagrange points
    /// give by one DFT in the exponent: `τ^i·Z(τ) = Σ_k −2·x_k^i·L_{2k+1}(τ)`
    /// with `x_k = ω_{2n}·ω_n^k` (there `Z = x^n − 1 = −2`), so
    /// `h_i = −2·ω_{2n}^i · DFT_n(H)_i`.
    pub fn proving_key(&self) -> Result<ProvingKey<Bn254>, CeremonyError> {
        let n = self.domain_size as usize;
        let mut v: Vec<G1Projective> = self.h.iter().map(|p| p.into_group()).collect();
        domain(n)?.fft_in_place(&mut v);
        let w = domain(2 * n)?.group_gen();
        let mut k = -Fr::from(2u64);
        let mut h: Vec<G1Projective> = Vec::with_capacity(n.saturating_sub(1));
        for p in v.into_iter().take(n.saturating_sub(1)) {
            h.push(p * k);
            k *= w;
        }
        Ok(ProvingKey {
            vk: self.verifying_key(),
            beta_g1: self.beta1,
            delta_g1: self.delta1,
            a_query: self.a.clone(),
            b_g1_query: self.b1.clone(),
            b_g2_query: self.b2.clone(),
            h_query: G1Projective::normalize_batch(&h),
            l_query: self.l.clone(),
        })
    }

    pub fn verifying_key(&self) -> VerifyingKey<Bn254> {
        VerifyingKey {
            alpha_g1: self.alpha1,
            beta_g2: self.beta2,
            gamma_g2: self.gamma2,
            delta_g2: self.delta2,
            gamma_abc_g1: self.ic.clone(),
        }
    }
}

fn at_point(v: &[G1Affine], i: usize) -> Result<G1Affine, CeremonyError> {
    v.get(i).copied().ok_or_else(|| {
        invalid(
            "transcript",
            "the circuit's H query needs a transcript of one power more",
        )
    })
}
