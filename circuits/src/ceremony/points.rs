//! BN254 points as snarkjs stores them: affine, each coordinate a field
//! element in Montgomery form (R = 2^256), little-endian — exactly
//! arkworks' internal representation — G2 coordinates `c0 ‖ c1`, the point
//! at infinity all zero bytes.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, PrimeField};

use super::CeremonyError;

pub const G1_BYTES: usize = 64;
pub const G2_BYTES: usize = 128;

fn fq(b: &[u8]) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(b.get(i * 8..i * 8 + 8)?);
        *l = u64::from_le_bytes(w);
    }
    let m = BigInt(limbs);
    // Reduced Montgomery limbs only: one encoding per element.
    (m < Fq::MODULUS).then(|| Fq::new_unchecked(m))
}

fn put_fq(out: &mut Vec<u8>, x: &Fq) {
    for l in x.0 .0 {
        out.extend_from_slice(&l.to_le_bytes());
    }
}

fn bad(what: &'static str, index: usize, reason: &'static str) -> CeremonyError {
    CeremonyError::Point {
        what,
        index,
        reason,
    }
}

/// A G1 point; `what` and `index` name it in errors.
pub fn g1(b: &[u8], what: &'static str, index: usize) -> Result<G1Affine, CeremonyError> {
    if b.len() != G1_BYTES {
        return Err(bad(what, index, "wrong length"));
    }
    if b.iter().all(|x| *x == 0) {
        return Ok(G1Affine::zero());
    }
    let (x, y) = b.split_at(32);
    let p = G1Affine::new_unchecked(
        fq(x).ok_or_else(|| bad(what, index, "x is not a reduced field element"))?,
        fq(y).ok_or_else(|| bad(what, index, "y is not a reduced field element"))?,
    );
    // BN254's G1 has cofactor 1: on the curve is in the group.
    if !p.is_on_curve() {
        return Err(bad(what, index, "not on the curve"));
    }
    Ok(p)
}

/// A G2 point, checked to be on the twist and in the prime-order subgroup.
pub fn g2(b: &[u8], what: &'static str, index: usize) -> Result<G2Affine, CeremonyError> {
    if b.len() != G2_BYTES {
        return Err(bad(what, index, "wrong length"));
    }
    if b.iter().all(|x| *x == 0) {
        return Ok(G2Affine::zero());
    }
    let c = |i: usize| {
        b.get(i * 32..i * 32 + 32)
            .and_then(fq)
            .ok_or_else(|| bad(what, index, "a coordinate is not a reduced field element"))
    };
    let p = G2Affine::new_unchecked(Fq2::new(c(0)?, c(1)?), Fq2::new(c(2)?, c(3)?));
    if !p.is_on_curve() {
        return Err(bad(what, index, "not on the curve"));
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(bad(what, index, "not in the prime-order subgroup"));
    }
    Ok(p)
}

pub fn put_g1(out: &mut Vec<u8>, p: &G1Affine) {
    if p.is_zero() {
        out.extend_from_slice(&[0; G1_BYTES]);
    } else {
        put_fq(out, &p.x);
        put_fq(out, &p.y);
    }
}

pub fn put_g2(out: &mut Vec<u8>, p: &G2Affine) {
    if p.is_zero() {
        out.extend_from_slice(&[0; G2_BYTES]);
    } else {
        for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
            put_fq(out, &c);
        }
    }
}

/// `n` G1 points from a section's bytes.
pub fn g1s(b: &[u8], what: &'static str) -> Result<Vec<G1Affine>, CeremonyError> {
    b.chunks(G1_BYTES)
        .enumerate()
        .map(|(i, c)| g1(c, what, i))
        .collect()
}

/// `n` G2 points from a section's bytes.
pub fn g2s(b: &[u8], what: &'static str) -> Result<Vec<G2Affine>, CeremonyError> {
    b.chunks(G2_BYTES)
        .enumerate()
        .map(|(i, c)| g2(c, what, i))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The generators as snarkjs stores them (docs/research/snarkjs-formats.md §1.3).
    #[test]
    fn generators_match_snarkjs_bytes() {
        let g1_lem = unhex("9d0d8fc58d435dd33d0bc7f528eb780a2c4679786fa36e662fdf079ac1770a0e3a1b1e8b1b87baa67b168eeb51d6f114588cf2f0de46ddcc5ebe0f3483ef141c");
        let g2_lem = unhex("2620bc02d1b5838e72017b493519ebdcdf1a81974726b8fb3b5096af4138571940614ca87d73b4afc4d802585add4360862fa052fc50e9096b7bea3a83f0fe14f6e96b889dfa9d61789b9ef597d27ffefe7d1b23621a9eff06429eaeeb7efd28ee5618c7565b0964bb3c7d3222f957dc76103533be35f9558264fd93e6a0a40d");
        assert_eq!(g1(&g1_lem, "g1", 0).unwrap(), G1Affine::generator());
        assert_eq!(g2(&g2_lem, "g2", 0).unwrap(), G2Affine::generator());
        let mut out = Vec::new();
        put_g1(&mut out, &G1Affine::generator());
        put_g2(&mut out, &G2Affine::generator());
        assert_eq!(out, [g1_lem, g2_lem].concat());
    }

    #[test]
    fn infinity_is_zero_bytes_and_junk_is_refused() {
        assert!(g1(&[0; 64], "g1", 0).unwrap().is_zero());
        assert!(g2(&[0; 128], "g2", 0).unwrap().is_zero());
        let mut junk = vec![0u8; 64];
        junk[0] = 1;
        assert!(g1(&junk, "g1", 3).is_err());
        // An unreduced coordinate (all 0xff) is refused before any curve check.
        assert!(matches!(
            g1(&[0xff; 64], "g1", 5),
            Err(CeremonyError::Point { index: 5, .. })
        ));
    }
}
