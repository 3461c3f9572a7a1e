//! Phase-2 Groth16 parameters in snarkjs's `.zkey` format
//! (`docs/research/snarkjs-formats.md` §6), read and written byte for byte.
//!
//! Container `zkey` v1, sections:
//!
//! | id | content |
//! |---|---|
//! | 1 | `u32 protocol` = 1 (Groth16) |
//! | 2 | `u32 32 ‖ q ‖ u32 32 ‖ r ‖ u32 nVars ‖ u32 nPublic ‖ u32 domainSize ‖ α·G1 ‖ β·G1 ‖ β·G2 ‖ γ·G2 ‖ δ·G1 ‖ δ·G2` (660 bytes) |
//! | 3 | IC: `nPublic + 1` G1 points |
//! | 4 | `u32 n ‖ n × (u32 matrix ‖ u32 constraint ‖ u32 signal ‖ v·R² mod r)` — the A and B coefficients |
//! | 5, 6, 7 | A (G1), B (G1), B (G2): `nVars` points each |
//! | 8 | L ("C"): `nVars − nPublic − 1` G1 points, divided by δ |
//! | 9 | H: `domainSize` G1 points `L_{2i+1}^{(2n)}(τ)/δ` |
//! | 10 | `csHash (64) ‖ u32 n ‖ n contributions` |
//!
//! Each contribution: `δ·G1 after it ‖ g1_s ‖ g1_sx ‖ g2_spx ‖ transcript
//! (64) ‖ u32 type ‖ u32 length ‖ parameters` (as phase 1's: name, beacon).
//! Points are as [`super::points`] stores them; every one read is checked
//! on its curve and (G2) in its subgroup.

use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ff::{BigInt, PrimeField};

use super::binfile::{self, BinFile};
use super::points::{self, G1_BYTES, G2_BYTES};
use super::ptau::{self, invalid, modulus_le, sized, Cursor, KeyPart, Kind};
use super::CeremonyError;

pub const MAGIC: &[u8; 4] = b"zkey";
const GROTH16: u32 = 1;
const HEADER_BYTES: usize = 660;
const COEF_BYTES: usize = 44;

/// One coefficient of the A (`matrix` 0) or B (1) matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coef {
    pub matrix: u32,
    pub constraint: u32,
    pub signal: u32,
    pub value: Fr,
}

/// One member's update of δ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// δ·G1 after this contribution.
    pub delta_after: G1Affine,
    /// The proof of knowledge of the member's δ′ (`g2_sp` is hashed from
    /// `transcript`).
    pub key: KeyPart,
    /// `BLAKE2b(csHash ‖ earlier contributions ‖ U(g1_s) ‖ U(g1_sx))`.
    pub transcript: [u8; 64],
    pub kind: Kind,
    pub name: Option<String>,
}

/// A circuit's Groth16 parameters and the record of who contributed to δ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zkey {
    pub n_vars: u32,
    pub n_public: u32,
    pub domain_size: u32,
    pub alpha1: G1Affine,
    pub beta1: G1Affine,
    pub beta2: G2Affine,
    pub gamma2: G2Affine,
    pub delta1: G1Affine,
    pub delta2: G2Affine,
    pub ic: Vec<G1Affine>,
    pub coefs: Vec<Coef>,
    pub a: Vec<G1Affine>,
    pub b1: Vec<G1Affine>,
    pub b2: Vec<G2Affine>,
    pub l: Vec<G1Affine>,
    pub h: Vec<G1Affine>,
    /// The hash of the initial parameters (a function of circuit and
    /// phase-1 transcript only).
    pub cs_hash: [u8; 64],
    pub contributions: Vec<Contribution>,
}

fn fr_modulus_le() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, l) in Fr::MODULUS.0.iter().enumerate() {
        if let Some(s) = out.get_mut(i * 8..i * 8 + 8) {
            s.copy_from_slice(&l.to_le_bytes());
        }
    }
    out
}

fn word(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(at..at + 4).unwrap_or(&[0; 4]));
    u32::from_le_bytes(a)
}

/// `count × size` bytes, or an error naming the section if that overflows.
fn bytes_for(count: u32, size: usize, what: &str) -> Result<usize, CeremonyError> {
    usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(size))
        .ok_or_else(|| invalid(what, "too many points"))
}

/// A coefficient's bytes: `v·R² mod r` little-endian (snarkjs multiplies
/// them in Montgomery form with plain witness values).
fn coef_value(b: &[u8]) -> Option<Fr> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(b.get(i * 8..i * 8 + 8)?);
        *l = u64::from_le_bytes(w);
    }
    let x = BigInt(limbs);
    // x = v·R²: the element whose Montgomery form is x is v·R, whose
    // canonical integer is the Montgomery form of v.
    (x < Fr::MODULUS).then(|| Fr::new_unchecked(Fr::new_unchecked(x).into_bigint()))
}

fn put_coef_value(out: &mut Vec<u8>, v: &Fr) {
    // v's Montgomery limbs are v·R; the element v·R has limbs v·R².
    let limbs = Fr::from_bigint(v.0).map_or([0; 4], |e| e.0 .0);
    for l in limbs {
        out.extend_from_slice(&l.to_le_bytes());
    }
}

impl Contribution {
    fn read(c: &mut Cursor<'_>) -> Result<Contribution, CeremonyError> {
        let delta_after = c.g1("contribution deltaAfter")?;
        let g1_s = c.g1("contribution g1_s")?;
        let g1_sx = c.g1("contribution g1_sx")?;
        let g2_spx = c.g2("contribution g2_spx")?;
        let mut transcript = [0u8; 64];
        transcript.copy_from_slice(c.take(64)?);
        let kind_code = c.u32()?;
        let len = usize::try_from(c.u32()?).unwrap_or(usize::MAX);
        let params = c.take(len)?;
        let (name, kind) = ptau::read_params(params, kind_code, c.index)?;
        Ok(Contribution {
            delta_after,
            key: KeyPart {
                g1_s,
                g1_sx,
                g2_spx,
            },
            transcript,
            kind,
            name,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        points::put_g1(out, &self.delta_after);
        points::put_g1(out, &self.key.g1_s);
        points::put_g1(out, &self.key.g1_sx);
        points::put_g2(out, &self.key.g2_spx);
        out.extend_from_slice(&self.transcript);
        ptau::write_params(out, self.name.as_deref(), &self.kind);
    }
}

fn put_g1s(ps: &[G1Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ps.len() * G1_BYTES);
    ps.iter().for_each(|p| points::put_g1(&mut out, p));
    out
}

fn put_g2s(ps: &[G2Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ps.len() * G2_BYTES);
    ps.iter().for_each(|p| points::put_g2(&mut out, p));
    out
}

struct Header {
    n_vars: u32,
    n_public: u32,
    domain_size: u32,
    points: [G1Affine; 3],
    g2: [G2Affine; 3],
}

fn read_header(b: &[u8]) -> Result<Header, CeremonyError> {
    sized(2, "Groth16 header", b, HEADER_BYTES)?;
    if word(b, 0) != 32
        || b.get(4..36) != Some(&modulus_le()[..])
        || word(b, 36) != 32
        || b.get(40..72) != Some(&fr_modulus_le()[..])
    {
        return Err(invalid("header", "not parameters over BN254 (bn128)"));
    }
    let (n_vars, n_public, domain_size) = (word(b, 72), word(b, 76), word(b, 80));
    if !domain_size.is_power_of_two() {
        return Err(invalid(
            "header",
            format!("domain size {domain_size} is not a power of two"),
        ));
    }
    if n_public >= n_vars {
        return Err(invalid(
            "header",
            format!("{n_public} public inputs of {n_vars} variables"),
        ));
    }
    let p = |at: usize, what| points::g1(b.get(at..at + G1_BYTES).unwrap_or_default(), what, 0);
    let q = |at: usize, what| points::g2(b.get(at..at + G2_BYTES).unwrap_or_default(), what, 0);
    Ok(Header {
        n_vars,
        n_public,
        domain_size,
        points: [p(84, "alpha1")?, p(148, "beta1")?, p(468, "delta1")?],
        g2: [q(212, "beta2")?, q(340, "gamma2")?, q(532, "delta2")?],
    })
}

fn read_coefs(b: &[u8], h: &Header) -> Result<Vec<Coef>, CeremonyError> {
    let n = word(b, 0);
    sized(
        4,
        "coefficients",
        b,
        bytes_for(n, COEF_BYTES, "coefficients")?
            .checked_add(4)
            .ok_or_else(|| invalid("coefficients", "too many"))?,
    )?;
    b.get(4..)
        .unwrap_or_default()
        .chunks(COEF_BYTES)
        .enumerate()
        .map(|(i, e)| {
            let coef = Coef {
                matrix: word(e, 0),
                constraint: word(e, 4),
                signal: word(e, 8),
                value: coef_value(e.get(12..).unwrap_or_default())
                    .ok_or_else(|| invalid(format!("coefficient {i}"), "not a field element"))?,
            };
            if coef.matrix > 1 || coef.constraint >= h.domain_size || coef.signal >= h.n_vars {
                return Err(invalid(
                    format!("coefficient {i}"),
                    "matrix, constraint or signal out of range",
                ));
            }
            Ok(coef)
        })
        .collect()
}

impl Zkey {
    /// Reads parameters: the container, a Groth16 header over BN254,
    /// every section at its exact size, every point checked, every
    /// coefficient in range, the contribution records.
    pub fn read(bytes: &[u8]) -> Result<Zkey, CeremonyError> {
        let f = BinFile::read(bytes, MAGIC, 1)?;
        let protocol = f.section(1)?;
        sized(1, "header", protocol, 4)?;
        if word(protocol, 0) != GROTH16 {
            return Err(invalid(
                "header",
                format!("protocol {} is not Groth16", word(protocol, 0)),
            ));
        }
        let h = read_header(f.section(2)?)?;
        let s = |id, name, size| {
            let b = f.section(id)?;
            sized(id, name, b, size)?;
            Ok::<_, CeremonyError>(b)
        };
        let ic = points::g1s(
            s(3, "IC", bytes_for(h.n_public + 1, G1_BYTES, "IC")?)?,
            "IC",
        )?;
        let coefs = read_coefs(f.section(4)?, &h)?;
        let vars = |size, what| bytes_for(h.n_vars, size, what);
        let a = points::g1s(s(5, "A", vars(G1_BYTES, "A")?)?, "A")?;
        let b1 = points::g1s(s(6, "B1", vars(G1_BYTES, "B1")?)?, "B1")?;
        let b2 = points::g2s(s(7, "B2", vars(G2_BYTES, "B2")?)?, "B2")?;
        let l_count = h.n_vars - h.n_public - 1;
        let l = points::g1s(s(8, "L", bytes_for(l_count, G1_BYTES, "L")?)?, "L")?;
        let hq = points::g1s(s(9, "H", bytes_for(h.domain_size, G1_BYTES, "H")?)?, "H")?;
        let (cs_hash, contributions) = read_contributions(f.section(10)?)?;
        let [alpha1, beta1, delta1] = h.points;
        let [beta2, gamma2, delta2] = h.g2;
        Ok(Zkey {
            n_vars: h.n_vars,
            n_public: h.n_public,
            domain_size: h.domain_size,
            alpha1,
            beta1,
            beta2,
            gamma2,
            delta1,
            delta2,
            ic,
            coefs,
            a,
            b1,
            b2,
            l,
            h: hq,
            cs_hash,
            contributions,
        })
    }

    /// The file's bytes, sections 1–10 in order (as `snarkjs zkey
    /// contribute` writes them).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_BYTES);
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&modulus_le());
        header.extend_from_slice(&32u32.to_le_bytes());
        header.extend_from_slice(&fr_modulus_le());
        for w in [self.n_vars, self.n_public, self.domain_size] {
            header.extend_from_slice(&w.to_le_bytes());
        }
        points::put_g1(&mut header, &self.alpha1);
        points::put_g1(&mut header, &self.beta1);
        points::put_g2(&mut header, &self.beta2);
        points::put_g2(&mut header, &self.gamma2);
        points::put_g1(&mut header, &self.delta1);
        points::put_g2(&mut header, &self.delta2);
        let mut coefs = Vec::with_capacity(4 + self.coefs.len() * COEF_BYTES);
        coefs.extend_from_slice(&(self.coefs.len() as u32).to_le_bytes());
        for c in &self.coefs {
            for w in [c.matrix, c.constraint, c.signal] {
                coefs.extend_from_slice(&w.to_le_bytes());
            }
            put_coef_value(&mut coefs, &c.value);
        }
        let mut mpc = self.cs_hash.to_vec();
        mpc.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        self.contributions.iter().for_each(|c| c.write(&mut mpc));
        binfile::write(
            MAGIC,
            1,
            &[
                (1, GROTH16.to_le_bytes().to_vec()),
                (2, header),
                (3, put_g1s(&self.ic)),
                (4, coefs),
                (5, put_g1s(&self.a)),
                (6, put_g1s(&self.b1)),
                (7, put_g2s(&self.b2)),
                (8, put_g1s(&self.l)),
                (9, put_g1s(&self.h)),
                (10, mpc),
            ],
        )
    }
}

fn read_contributions(b: &[u8]) -> Result<([u8; 64], Vec<Contribution>), CeremonyError> {
    let mut c = Cursor { b, index: 0 };
    let mut cs_hash = [0u8; 64];
    cs_hash.copy_from_slice(c.take(64)?);
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
    Ok((cs_hash, out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ark_ff::UniformRand;

    /// `R² mod r`, little-endian (docs/research/snarkjs-formats.md §1.6):
    /// the stored form of the coefficient 1.
    #[test]
    fn coefficients_are_stored_times_r_squared() {
        let mut out = Vec::new();
        put_coef_value(&mut out, &Fr::from(1u64));
        assert_eq!(
            hex::encode(&out),
            "a76d21ae45e6b81be3595ce3b13afe538580bb533d83498ca5444e7fb1d01602"
        );
        let mut rng = rand_core::OsRng;
        for _ in 0..16 {
            let v = Fr::rand(&mut rng);
            let mut b = Vec::new();
            put_coef_value(&mut b, &v);
            assert_eq!(coef_value(&b), Some(v));
        }
        assert_eq!(coef_value(&[0xff; 32]), None);
    }
}
