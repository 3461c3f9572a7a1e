//! Phase 1 of the setup, the powers of τ, in snarkjs's `.ptau` format
//! (`docs/research/snarkjs-formats.md` §2): read and written byte for byte,
//! and checked with pairings.
//!
//! With `N = 2^power`, a transcript holds `τ^i·G1` (i < 2N−1), `τ^i·G2`,
//! `α·τ^i·G1` and `β·τ^i·G1` (i < N), `β·G2`, and one record per
//! contribution (its resulting `τ·G1`, `τ·G2`, `α·G1`, `β·G1`, `β·G2`, its
//! public key, hashes, kind and name).

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};

use super::binfile::{self, BinFile};
use super::blake2b::Blake2b;
use super::lagrange::{self, Lagrange};
use super::points::{self, G1_BYTES, G2_BYTES};
use super::pok;
use super::rng::ChaCha;
use super::CeremonyError;

pub const MAGIC: &[u8; 4] = b"ptau";
/// The largest power a transcript may announce (snarkjs's ceremonies stop at 28).
pub const MAX_POWER: u32 = 28;

/// One contributor's proof-of-knowledge key for one secret: `g1_s`,
/// `g1_sx = x·g1_s` and `g2_spx = x·g2_sp`, where `g2_sp` is hashed from
/// the transcript and `g1_s, g1_sx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPart {
    pub g1_s: G1Affine,
    pub g1_sx: G1Affine,
    pub g2_spx: G2Affine,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Contribution,
    /// A public random beacon: `2^iterations_exp` SHA-256 iterations of `hash`.
    Beacon {
        iterations_exp: u8,
        hash: Vec<u8>,
    },
}

/// What a contribution left, as section 7 records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub tau_g1: G1Affine,
    pub tau_g2: G2Affine,
    pub alpha_g1: G1Affine,
    pub beta_g1: G1Affine,
    pub beta_g2: G2Affine,
    pub tau: KeyPart,
    pub alpha: KeyPart,
    pub beta: KeyPart,
    /// The BLAKE2b state after hashing the contributor's response so far.
    pub partial_hash: [u8; 216],
    pub next_challenge: [u8; 64],
    pub kind: Kind,
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ptau {
    pub power: u32,
    pub ceremony_power: u32,
    pub tau_g1: Vec<G1Affine>,
    pub tau_g2: Vec<G2Affine>,
    pub alpha_tau_g1: Vec<G1Affine>,
    pub beta_tau_g1: Vec<G1Affine>,
    pub beta_g2: G2Affine,
    pub contributions: Vec<Contribution>,
    /// Sections 12–15, once prepared for phase 2 ([`Ptau::prepare`]).
    pub lagrange: Option<Lagrange>,
}

/// The BN254 base field modulus, little-endian, as the header writes it.
pub(super) fn modulus_le() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, l) in <ark_bn254::Fq as PrimeField>::MODULUS.0.iter().enumerate() {
        if let Some(s) = out.get_mut(i * 8..i * 8 + 8) {
            s.copy_from_slice(&l.to_le_bytes());
        }
    }
    out
}

pub(super) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

pub(super) fn sized(
    id: u32,
    name: &'static str,
    b: &[u8],
    expected: usize,
) -> Result<(), CeremonyError> {
    if b.len() != expected {
        return Err(CeremonyError::SectionSize {
            id,
            name,
            found: b.len(),
            expected,
        });
    }
    Ok(())
}

/// A little cursor over a contribution record (little-endian).
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) index: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], CeremonyError> {
        if self.b.len() < n {
            return Err(CeremonyError::Truncated {
                what: format!("contribution {}", self.index),
            });
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    pub(super) fn u32(&mut self) -> Result<u32, CeremonyError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub(super) fn g1(&mut self, what: &'static str) -> Result<G1Affine, CeremonyError> {
        points::g1(self.take(G1_BYTES)?, what, self.index)
    }
    pub(super) fn g2(&mut self, what: &'static str) -> Result<G2Affine, CeremonyError> {
        points::g2(self.take(G2_BYTES)?, what, self.index)
    }
}

impl Contribution {
    fn read(c: &mut Cursor<'_>) -> Result<Contribution, CeremonyError> {
        let (tau_g1, tau_g2) = (c.g1("contribution tauG1")?, c.g2("contribution tauG2")?);
        let alpha_g1 = c.g1("contribution alphaG1")?;
        let beta_g1 = c.g1("contribution betaG1")?;
        let beta_g2 = c.g2("contribution betaG2")?;
        // The key: the six G1 points (s, s·x per secret), then the three G2 points.
        let (tau_s, tau_sx) = (c.g1("key tau g1_s")?, c.g1("key tau g1_sx")?);
        let (alpha_s, alpha_sx) = (c.g1("key alpha g1_s")?, c.g1("key alpha g1_sx")?);
        let (beta_s, beta_sx) = (c.g1("key beta g1_s")?, c.g1("key beta g1_sx")?);
        let tau = KeyPart {
            g1_s: tau_s,
            g1_sx: tau_sx,
            g2_spx: c.g2("key tau g2_spx")?,
        };
        let alpha = KeyPart {
            g1_s: alpha_s,
            g1_sx: alpha_sx,
            g2_spx: c.g2("key alpha g2_spx")?,
        };
        let beta = KeyPart {
            g1_s: beta_s,
            g1_sx: beta_sx,
            g2_spx: c.g2("key beta g2_spx")?,
        };
        let mut partial_hash = [0u8; 216];
        partial_hash.copy_from_slice(c.take(216)?);
        let mut next_challenge = [0u8; 64];
        next_challenge.copy_from_slice(c.take(64)?);
        let kind_code = c.u32()?;
        let params_len = usize::try_from(c.u32()?).unwrap_or(usize::MAX);
        let params = c.take(params_len)?;
        let (name, kind) = read_params(params, kind_code, c.index)?;
        Ok(Contribution {
            tau_g1,
            tau_g2,
            alpha_g1,
            beta_g1,
            beta_g2,
            tau,
            alpha,
            beta,
            partial_hash,
            next_challenge,
            kind,
            name,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        points::put_g1(out, &self.tau_g1);
        points::put_g2(out, &self.tau_g2);
        points::put_g1(out, &self.alpha_g1);
        points::put_g1(out, &self.beta_g1);
        points::put_g2(out, &self.beta_g2);
        for k in [&self.tau, &self.alpha, &self.beta] {
            points::put_g1(out, &k.g1_s);
            points::put_g1(out, &k.g1_sx);
        }
        for k in [&self.tau, &self.alpha, &self.beta] {
            points::put_g2(out, &k.g2_spx);
        }
        out.extend_from_slice(&self.partial_hash);
        out.extend_from_slice(&self.next_challenge);
        write_params(out, self.name.as_deref(), &self.kind);
    }
}

/// `u32 type ‖ u32 length ‖ parameters` of a contribution record (both
/// phases): TLV items 1 name, 2 beacon iterations exponent, 3 beacon hash.
pub(super) fn write_params(out: &mut Vec<u8>, name: Option<&str>, kind: &Kind) {
    let mut params = Vec::new();
    if let Some(name) = name {
        let b = name.as_bytes();
        let b = b.get(..b.len().min(255)).unwrap_or(b);
        params.push(1);
        params.push(b.len() as u8);
        params.extend_from_slice(b);
    }
    let code: u32 = match kind {
        Kind::Contribution => 0,
        Kind::Beacon {
            iterations_exp,
            hash,
        } => {
            params.extend_from_slice(&[2, *iterations_exp, 3, hash.len().min(255) as u8]);
            params.extend_from_slice(hash.get(..hash.len().min(255)).unwrap_or(hash));
            1
        }
    };
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(params.len() as u32).to_le_bytes());
    out.extend_from_slice(&params);
}

/// The parameters of a contribution: TLV items with strictly increasing
/// types: 1 name, 2 beacon iterations exponent, 3 beacon hash.
pub(super) fn read_params(
    mut p: &[u8],
    kind_code: u32,
    index: usize,
) -> Result<(Option<String>, Kind), CeremonyError> {
    let what = || format!("contribution {index} parameters");
    let (mut name, mut exp, mut hash, mut last) = (None, None, None, 0u8);
    while let Some((&t, rest)) = p.split_first() {
        if t <= last {
            return Err(invalid(
                what(),
                "parameter types are not strictly increasing",
            ));
        }
        last = t;
        let (&len, rest) = rest
            .split_first()
            .ok_or_else(|| invalid(what(), "truncated"))?;
        match t {
            2 => {
                exp = Some(len);
                p = rest;
            }
            1 | 3 => {
                let len = usize::from(len);
                let v = rest
                    .get(..len)
                    .ok_or_else(|| invalid(what(), "truncated"))?;
                if t == 1 {
                    name = Some(
                        String::from_utf8(v.to_vec())
                            .map_err(|_| invalid(what(), "the name is not UTF-8"))?,
                    );
                } else {
                    hash = Some(v.to_vec());
                }
                p = rest.get(len..).unwrap_or_default();
            }
            other => return Err(invalid(what(), format!("unknown parameter type {other}"))),
        }
    }
    let kind = match (kind_code, exp, hash) {
        (0, None, None) => Kind::Contribution,
        (1, Some(iterations_exp), Some(hash)) => Kind::Beacon {
            iterations_exp,
            hash,
        },
        _ => {
            return Err(invalid(
                what(),
                format!("type {kind_code} with these parameters"),
            ))
        }
    };
    Ok((name, kind))
}

impl Ptau {
    /// Reads a transcript: the container, the header (BN254 only), every
    /// section at its exact size, every point on its curve and in its group,
    /// and the contribution records. Prepared phase-2 sections (12–15) are
    /// not read.
    pub fn read(bytes: &[u8]) -> Result<Ptau, CeremonyError> {
        let f = BinFile::read(bytes, MAGIC, 1)?;
        let header = f.section(1)?;
        sized(1, "header", header, 44)?;
        let word = |at: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(header.get(at..at + 4).unwrap_or(&[0; 4]));
            u32::from_le_bytes(a)
        };
        if word(0) != 32 || header.get(4..36) != Some(&modulus_le()[..]) {
            return Err(invalid("header", "not a transcript over BN254 (bn128)"));
        }
        let (power, ceremony_power) = (word(36), word(40));
        if power == 0 || power > MAX_POWER || ceremony_power < power {
            return Err(invalid(
                "header",
                format!("power {power} (ceremony power {ceremony_power}) is out of range"),
            ));
        }
        let n = 1usize << power;
        let s = |id, name, size| {
            let b = f.section(id)?;
            sized(id, name, b, size)?;
            Ok::<_, CeremonyError>(b)
        };
        let tau_g1 = points::g1s(s(2, "tauG1", (2 * n - 1) * G1_BYTES)?, "tauG1")?;
        let tau_g2 = points::g2s(s(3, "tauG2", n * G2_BYTES)?, "tauG2")?;
        let alpha_tau_g1 = points::g1s(s(4, "alphaTauG1", n * G1_BYTES)?, "alphaTauG1")?;
        let beta_tau_g1 = points::g1s(s(5, "betaTauG1", n * G1_BYTES)?, "betaTauG1")?;
        let beta_g2 = points::g2(s(6, "betaG2", G2_BYTES)?, "betaG2", 0)?;
        let contributions = read_contributions(f.section(7)?)?;
        let prepared = [12, 13, 14, 15].map(|id| f.has(id));
        let lagrange = match prepared {
            [false, false, false, false] => None,
            [true, true, true, true] => {
                let (g1, g2) = (
                    lagrange::points_through(power + 1),
                    lagrange::points_through(power),
                );
                Some(Lagrange {
                    tau_g1: points::g1s(s(12, "lagrange tauG1", g1 * G1_BYTES)?, "lagrange tauG1")?,
                    tau_g2: points::g2s(s(13, "lagrange tauG2", g2 * G2_BYTES)?, "lagrange tauG2")?,
                    alpha_tau_g1: points::g1s(
                        s(14, "lagrange alphaTauG1", g2 * G1_BYTES)?,
                        "lagrange alphaTauG1",
                    )?,
                    beta_tau_g1: points::g1s(
                        s(15, "lagrange betaTauG1", g2 * G1_BYTES)?,
                        "lagrange betaTauG1",
                    )?,
                })
            }
            _ => {
                return Err(invalid(
                    "prepared sections",
                    "some of sections 12–15 are present but not all",
                ))
            }
        };
        Ok(Ptau {
            power,
            ceremony_power,
            tau_g1,
            tau_g2,
            alpha_tau_g1,
            beta_tau_g1,
            beta_g2,
            contributions,
            lagrange,
        })
    }

    /// The transcript's bytes (sections 1–7), as snarkjs writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(44);
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&modulus_le());
        header.extend_from_slice(&self.power.to_le_bytes());
        header.extend_from_slice(&self.ceremony_power.to_le_bytes());
        let g1s = |ps: &[G1Affine]| {
            let mut out = Vec::with_capacity(ps.len() * G1_BYTES);
            ps.iter().for_each(|p| points::put_g1(&mut out, p));
            out
        };
        let mut tau_g2 = Vec::with_capacity(self.tau_g2.len() * G2_BYTES);
        self.tau_g2
            .iter()
            .for_each(|p| points::put_g2(&mut tau_g2, p));
        let mut beta_g2 = Vec::new();
        points::put_g2(&mut beta_g2, &self.beta_g2);
        let mut contributions = (self.contributions.len() as u32).to_le_bytes().to_vec();
        self.contributions
            .iter()
            .for_each(|c| c.write(&mut contributions));
        let mut sections = vec![
            (1, header),
            (2, g1s(&self.tau_g1)),
            (3, tau_g2),
            (4, g1s(&self.alpha_tau_g1)),
            (5, g1s(&self.beta_tau_g1)),
            (6, beta_g2),
            (7, contributions),
        ];
        if let Some(l) = &self.lagrange {
            let mut tau_g2 = Vec::with_capacity(l.tau_g2.len() * G2_BYTES);
            l.tau_g2.iter().for_each(|p| points::put_g2(&mut tau_g2, p));
            sections.push((12, g1s(&l.tau_g1)));
            sections.push((13, tau_g2));
            sections.push((14, g1s(&l.alpha_tau_g1)));
            sections.push((15, g1s(&l.beta_tau_g1)));
        }
        binfile::write(MAGIC, 1, &sections)
    }

    /// The transcript with its phase-2 sections (12–15) computed from its
    /// powers, as `snarkjs powersoftau prepare phase2` writes them. The
    /// header keeps its ceremony power (snarkjs resets it to the power,
    /// which only differs for a truncated transcript).
    pub fn prepare(&self) -> Result<Ptau, CeremonyError> {
        let lagrange = Lagrange::compute(
            self.power,
            &self.tau_g1,
            &self.tau_g2,
            &self.alpha_tau_g1,
            &self.beta_tau_g1,
        )?;
        Ok(Ptau {
            lagrange: Some(lagrange),
            ..self.clone()
        })
    }
}

fn read_contributions(b: &[u8]) -> Result<Vec<Contribution>, CeremonyError> {
    let mut c = Cursor { b, index: 0 };
    let n = c.u32()?;
    let mut out = Vec::new();
    for i in 1..=n {
        c.index = i as usize;
        out.push(Contribution::read(&mut c)?);
    }
    if !c.b.is_empty() {
        return Err(invalid(
            "contributions",
            format!("{} bytes after the last one", c.b.len()),
        ));
    }
    Ok(out)
}

/// `e(a1, b2) == e(a2, b1)`: a2/a1 in G1 is the ratio b2/b1 in G2. False if
/// any point is at infinity (a zero secret would pass vacuously).
pub(super) fn same_ratio(a1: &G1Affine, a2: &G1Affine, b1: &G2Affine, b2: &G2Affine) -> bool {
    if a1.is_zero() || a2.is_zero() || b1.is_zero() || b2.is_zero() {
        return false;
    }
    Bn254::multi_pairing([*a1, -*a2], [*b2, *b1]).is_zero()
}

pub(super) fn check(
    ok: bool,
    contribution: Option<usize>,
    what: &str,
) -> Result<(), CeremonyError> {
    if ok {
        Ok(())
    } else {
        Err(CeremonyError::Check {
            contribution,
            check: what.to_owned(),
        })
    }
}

/// Random linear combinations `Σ r_i·P_i` and `Σ r_i·P_{i+1}`: a
/// consecutive-ratio check of all the points at once.
fn shifted_sums<G>(ps: &[G::Affine], rs: &[Fr]) -> Option<(G::Affine, G::Affine)>
where
    G: CurveGroup + VariableBaseMSM<ScalarField = Fr>,
{
    let k = ps.len().checked_sub(1)?;
    let lo = G::msm(ps.get(..k)?, rs.get(..k)?).ok()?;
    let hi = G::msm(ps.get(1..)?, rs.get(..k)?).ok()?;
    Some((lo.into_affine(), hi.into_affine()))
}

impl Ptau {
    /// Checks the transcript as snarkjs's `powersoftau verify` does:
    /// - every contribution proves knowledge of its τ, α and β (each key's
    ///   `g2_sp` hashed from the challenge it answers: the previous
    ///   contribution's `next_challenge`, or a fresh transcript's hash);
    /// - its τ·G1, α·G1, β·G1 are the previous ones times its secrets, and
    ///   its τ·G2, β·G2 likewise; a beacon's key is exactly the one its
    ///   public parameters derive;
    /// - the sections are the last contribution's, and each holds
    ///   consecutive powers of one τ (random linear combinations, one
    ///   pairing equation per section).
    ///
    /// - the last contribution's `next_challenge` is the hash of its
    ///   response (resumed from the stored BLAKE2b state, then its key) and
    ///   of the sections (skipped for a transcript truncated below its
    ///   ceremony's power, as snarkjs does).
    ///
    /// Errors name the contribution (1-based) and the check.
    pub fn verify<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<(), CeremonyError> {
        let last = self.contributions.last().ok_or_else(|| {
            invalid(
                "contributions",
                "there are none: a fresh transcript proves nothing",
            )
        })?;
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        let mut prev = Prev {
            tau_g1: g1,
            tau_g2: g2,
            alpha_g1: g1,
            beta_g1: g1,
            beta_g2: g2,
            challenge: pok::first_challenge(self.ceremony_power),
        };
        for (i, c) in self.contributions.iter().enumerate() {
            verify_contribution(c, &prev, i + 1)?;
            prev = Prev {
                tau_g1: c.tau_g1,
                tau_g2: c.tau_g2,
                alpha_g1: c.alpha_g1,
                beta_g1: c.beta_g1,
                beta_g2: c.beta_g2,
                challenge: c.next_challenge,
            };
        }
        self.verify_sections(last, rng)?;
        if let Some(l) = &self.lagrange {
            l.verify(
                self.power,
                &self.tau_g1,
                &self.tau_g2,
                &self.alpha_tau_g1,
                &self.beta_tau_g1,
                rng,
            )?;
        }
        if self.power == self.ceremony_power {
            check(
                self.challenge_after(last)? == last.next_challenge,
                Some(self.contributions.len()),
                "the last challenge hash is the hash of the response and the sections",
            )?;
        }
        Ok(())
    }

    /// `BLAKE2b(response hash ‖ U(every point of every section))`, the
    /// response hash resumed from `last`'s saved state and its key.
    fn challenge_after(&self, last: &Contribution) -> Result<[u8; 64], CeremonyError> {
        let mut response = Blake2b::resume(&last.partial_hash).ok_or_else(|| {
            invalid(
                format!("contribution {}", self.contributions.len()),
                "its saved hash state is not a BLAKE2b state",
            )
        })?;
        response.update(&pok::u_key([&last.tau, &last.alpha, &last.beta]));
        let mut h = Blake2b::default();
        h.update(&response.finalize());
        for p in self.tau_g1.iter() {
            h.update(&pok::u_g1(p));
        }
        for p in self.tau_g2.iter() {
            h.update(&pok::u_g2(p));
        }
        for p in self.alpha_tau_g1.iter().chain(&self.beta_tau_g1) {
            h.update(&pok::u_g1(p));
        }
        h.update(&pok::u_g2(&self.beta_g2));
        Ok(h.finalize())
    }

    fn verify_sections<R: RngCore + CryptoRng>(
        &self,
        last: &Contribution,
        rng: &mut R,
    ) -> Result<(), CeremonyError> {
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        let n = self.contributions.len();
        let first = |v: &[G1Affine], i: usize| v.get(i).copied().unwrap_or_default();
        check(
            first(&self.tau_g1, 0) == g1 && first(&self.tau_g1, 1) == last.tau_g1,
            Some(n),
            "tauG1 starts with G1, τ·G1",
        )?;
        check(
            self.tau_g2.first() == Some(&g2) && self.tau_g2.get(1) == Some(&last.tau_g2),
            Some(n),
            "tauG2 starts with G2, τ·G2",
        )?;
        check(
            first(&self.alpha_tau_g1, 0) == last.alpha_g1,
            Some(n),
            "alphaTauG1 starts with α·G1",
        )?;
        check(
            first(&self.beta_tau_g1, 0) == last.beta_g1,
            Some(n),
            "betaTauG1 starts with β·G1",
        )?;
        check(self.beta_g2 == last.beta_g2, Some(n), "betaG2 is β·G2")?;

        let rs: Vec<Fr> = (0..self.tau_g1.len()).map(|_| Fr::rand(rng)).collect();
        for (name, ps) in [
            ("tauG1", &self.tau_g1),
            ("alphaTauG1", &self.alpha_tau_g1),
            ("betaTauG1", &self.beta_tau_g1),
        ] {
            let (lo, hi) = shifted_sums::<G1Projective>(ps, &rs)
                .ok_or_else(|| invalid(name, "too few points"))?;
            check(
                same_ratio(&lo, &hi, &g2, &last.tau_g2),
                None,
                &format!("{name} holds consecutive powers of τ"),
            )?;
        }
        let (lo, hi) = shifted_sums::<G2Projective>(&self.tau_g2, &rs)
            .ok_or_else(|| invalid("tauG2", "too few points"))?;
        check(
            same_ratio(&g1, &last.tau_g1, &lo, &hi),
            None,
            "tauG2 holds consecutive powers of τ",
        )
    }
}

/// What a contribution builds on.
struct Prev {
    tau_g1: G1Affine,
    tau_g2: G2Affine,
    alpha_g1: G1Affine,
    beta_g1: G1Affine,
    beta_g2: G2Affine,
    challenge: [u8; 64],
}

/// One contribution against the one before (`verifyContribution`).
fn verify_contribution(c: &Contribution, prev: &Prev, index: usize) -> Result<(), CeremonyError> {
    let at = Some(index);
    if let Kind::Beacon {
        iterations_exp,
        hash,
    } = &c.kind
    {
        let (_, key) =
            pok::key_from_rng(&mut pok::beacon_rng(hash, *iterations_exp), &prev.challenge);
        check(
            key == [c.tau.clone(), c.alpha.clone(), c.beta.clone()],
            at,
            "the beacon's key is the one its hash and iterations derive",
        )?;
    }
    let sp = |i: u8, k: &KeyPart| pok::g2_sp(i, &prev.challenge, &k.g1_s, &k.g1_sx);
    let (tau_sp, alpha_sp, beta_sp) = (sp(0, &c.tau), sp(1, &c.alpha), sp(2, &c.beta));
    for (name, k, sp) in [
        ("τ", &c.tau, &tau_sp),
        ("α", &c.alpha, &alpha_sp),
        ("β", &c.beta, &beta_sp),
    ] {
        check(
            same_ratio(&k.g1_s, &k.g1_sx, sp, &k.g2_spx),
            at,
            &format!("proof of knowledge of {name}"),
        )?;
    }
    check(
        same_ratio(&prev.tau_g1, &c.tau_g1, &tau_sp, &c.tau.g2_spx),
        at,
        "τ update in G1 against its key",
    )?;
    check(
        same_ratio(&c.tau.g1_s, &c.tau.g1_sx, &prev.tau_g2, &c.tau_g2),
        at,
        "τ update in G2 against its key",
    )?;
    check(
        same_ratio(&prev.alpha_g1, &c.alpha_g1, &alpha_sp, &c.alpha.g2_spx),
        at,
        "α update against its key",
    )?;
    check(
        same_ratio(&prev.beta_g1, &c.beta_g1, &beta_sp, &c.beta.g2_spx),
        at,
        "β update in G1 against its key",
    )?;
    check(
        same_ratio(&c.beta.g1_s, &c.beta.g1_sx, &prev.beta_g2, &c.beta_g2),
        at,
        "β update in G2 against its key",
    )
}

/// A beacon's record (both phases): the hash must be 1–255 bytes and the
/// iterations exponent 10–63, as snarkjs requires.
pub(super) fn beacon_kind(hash: &[u8], iterations_exp: u8) -> Result<Kind, CeremonyError> {
    if hash.is_empty() || hash.len() > 255 || !(10..=63).contains(&iterations_exp) {
        return Err(invalid(
            "beacon",
            "the hash must be 1–255 bytes and the iterations exponent 10–63",
        ));
    }
    Ok(Kind::Beacon {
        iterations_exp,
        hash: hash.to_vec(),
    })
}

/// A contributor's randomness, as snarkjs seeds it: ChaCha from
/// `BLAKE2b(64 bytes of OS randomness ‖ the typed entropy)`.
pub fn contributor_rng<R: RngCore + CryptoRng>(os: &mut R, entropy: &str) -> ChaCha {
    let mut seed = [0u8; 64];
    os.fill_bytes(&mut seed);
    let mut h = Blake2b::default();
    h.update(&seed);
    h.update(entropy.as_bytes());
    ChaCha::from_hash(&h.finalize())
}

/// `out[i] = ps[i] · first · inc^i`, in affine form.
fn apply_key<G: CurveGroup<ScalarField = Fr>>(
    ps: &[G::Affine],
    first: Fr,
    inc: Fr,
) -> Vec<G::Affine> {
    let mut k = first;
    let scaled: Vec<G> = ps
        .iter()
        .map(|p| {
            let q = *p * k;
            k *= inc;
            q
        })
        .collect();
    G::normalize_batch(&scaled)
}

impl Ptau {
    /// A fresh transcript of `2^power` powers: every point a generator, no
    /// contribution yet.
    pub fn new(power: u32) -> Result<Ptau, CeremonyError> {
        if power == 0 || power > MAX_POWER {
            return Err(invalid(
                "power",
                format!("{power} is out of range (1–{MAX_POWER})"),
            ));
        }
        let n = 1usize << power;
        let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
        Ok(Ptau {
            power,
            ceremony_power: power,
            tau_g1: vec![g1; 2 * n - 1],
            tau_g2: vec![g2; n],
            alpha_tau_g1: vec![g1; n],
            beta_tau_g1: vec![g1; n],
            beta_g2: g2,
            contributions: Vec::new(),
            lagrange: None,
        })
    }

    /// The challenge the next contribution answers.
    pub fn challenge(&self) -> [u8; 64] {
        self.contributions.last().map_or_else(
            || pok::first_challenge(self.ceremony_power),
            |c| c.next_challenge,
        )
    }

    /// Adds a contribution with secrets drawn from `rng` (see
    /// [`contributor_rng`]); the secrets live only inside this call.
    pub fn contribute(&self, rng: &mut ChaCha, name: &str) -> Result<Ptau, CeremonyError> {
        self.apply(rng, Kind::Contribution, name)
    }

    /// Adds the public random beacon: `hash` through SHA-256
    /// `2^iterations_exp` times seeds the secrets, so anyone recomputes them.
    pub fn beacon(
        &self,
        hash: &[u8],
        iterations_exp: u8,
        name: &str,
    ) -> Result<Ptau, CeremonyError> {
        let kind = beacon_kind(hash, iterations_exp)?;
        self.apply(&mut pok::beacon_rng(hash, iterations_exp), kind, name)
    }

    fn apply(&self, rng: &mut ChaCha, kind: Kind, name: &str) -> Result<Ptau, CeremonyError> {
        if self.power != self.ceremony_power {
            return Err(invalid(
                "transcript",
                "it was truncated below its ceremony's power; contribute to the full one",
            ));
        }
        let challenge = self.challenge();
        let ([tau, alpha, beta], [kt, ka, kb]) = pok::key_from_rng(rng, &challenge);
        let one = Fr::from(1u64);
        let mut next = Ptau {
            tau_g1: apply_key::<G1Projective>(&self.tau_g1, one, tau),
            tau_g2: apply_key::<G2Projective>(&self.tau_g2, one, tau),
            alpha_tau_g1: apply_key::<G1Projective>(&self.alpha_tau_g1, alpha, tau),
            beta_tau_g1: apply_key::<G1Projective>(&self.beta_tau_g1, beta, tau),
            beta_g2: (self.beta_g2 * beta).into_affine(),
            // The prepared sections are of the old powers: prepare anew.
            lagrange: None,
            ..self.clone()
        };
        // The response: the challenge, the new points compressed, the key.
        let mut response = Blake2b::default();
        response.update(&challenge);
        next.tau_g1
            .iter()
            .for_each(|p| response.update(&pok::c_g1(p)));
        next.tau_g2
            .iter()
            .for_each(|p| response.update(&pok::c_g2(p)));
        next.alpha_tau_g1
            .iter()
            .chain(&next.beta_tau_g1)
            .for_each(|p| response.update(&pok::c_g1(p)));
        response.update(&pok::c_g2(&next.beta_g2));
        let partial_hash = response.save();
        let first = |v: &[G1Affine], i: usize| v.get(i).copied().unwrap_or_default();
        let mut c = Contribution {
            tau_g1: first(&next.tau_g1, 1),
            tau_g2: next.tau_g2.get(1).copied().unwrap_or_default(),
            alpha_g1: first(&next.alpha_tau_g1, 0),
            beta_g1: first(&next.beta_tau_g1, 0),
            beta_g2: next.beta_g2,
            tau: kt,
            alpha: ka,
            beta: kb,
            partial_hash,
            next_challenge: [0; 64],
            kind,
            name: Some(name.chars().take(64).collect()),
        };
        c.next_challenge = next.challenge_after(&c)?;
        next.contributions.push(c);
        Ok(next)
    }
}
