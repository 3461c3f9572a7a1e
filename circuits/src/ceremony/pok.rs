//! Proofs of knowledge of a contribution's secrets, as snarkjs makes and
//! checks them (`docs/research/snarkjs-formats.md` §3.2–3.8).
//!
//! For each secret `x` (τ, α, β, personalisation byte 0, 1, 2) a
//! contributor publishes `g1_s` (a random G1 point), `g1_sx = x·g1_s` and
//! `g2_spx = x·g2_sp`, where `g2_sp` is hashed to G2 from the challenge it
//! answers and `g1_s, g1_sx`. A verifier recomputes `g2_sp` and checks the
//! two pairs have the same ratio: whoever made them knew `x`.

use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};
use blake2::{Blake2b512, Digest};
use sha2::Sha256;

use super::ptau::KeyPart;
use super::rng::{self, ChaCha};

/// A point's "U" encoding, the one hashed: coordinates canonical and
/// big-endian; G2 as `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`; infinity all zeros.
pub fn u_g1(p: &G1Affine) -> Vec<u8> {
    if p.is_zero() {
        return vec![0; 64];
    }
    [
        p.x.into_bigint().to_bytes_be(),
        p.y.into_bigint().to_bytes_be(),
    ]
    .concat()
}

pub fn u_g2(p: &G2Affine) -> Vec<u8> {
    if p.is_zero() {
        return vec![0; 128];
    }
    [p.x.c1, p.x.c0, p.y.c1, p.y.c0]
        .iter()
        .flat_map(|c| c.into_bigint().to_bytes_be())
        .collect()
}

/// The challenge a first contribution answers: the hash of a fresh
/// transcript of `2^power` powers (every point a generator).
pub fn first_challenge(power: u32) -> [u8; 64] {
    let n = 1usize << power;
    let (g1, g2) = (u_g1(&G1Affine::generator()), u_g2(&G2Affine::generator()));
    let mut h = Blake2b512::new();
    h.update(Blake2b512::digest(b""));
    for _ in 0..(2 * n - 1) {
        h.update(&g1);
    }
    for _ in 0..n {
        h.update(&g2);
    }
    for _ in 0..2 * n {
        h.update(&g1);
    }
    h.update(&g2);
    h.finalize().into()
}

/// `g2_sp` of one secret: hashed to G2 from its personalisation byte, the
/// challenge and the two G1 points of its key.
pub fn g2_sp(
    personalisation: u8,
    challenge: &[u8; 64],
    g1_s: &G1Affine,
    g1_sx: &G1Affine,
) -> G2Affine {
    let mut h = Blake2b512::new();
    h.update([personalisation]);
    h.update(challenge);
    h.update(u_g1(g1_s));
    h.update(u_g1(g1_sx));
    rng::hash_to_g2(&h.finalize())
}

/// The secrets and key a contributor draws from `rng` (`createPTauKey`):
/// τ, α, β, then each secret's key in that order.
pub fn key_from_rng(rng: &mut ChaCha, challenge: &[u8; 64]) -> ([Fr; 3], [KeyPart; 3]) {
    let secrets: [Fr; 3] = [rng.field(), rng.field(), rng.field()];
    let part = |rng: &mut ChaCha, i: u8, x: Fr| {
        let g1_s = rng::g1(rng);
        let g1_sx = (g1_s * x).into_affine();
        let g2_spx = (g2_sp(i, challenge, &g1_s, &g1_sx) * x).into_affine();
        KeyPart {
            g1_s,
            g1_sx,
            g2_spx,
        }
    };
    let [t, a, b] = secrets;
    let keys = [part(rng, 0, t), part(rng, 1, a), part(rng, 2, b)];
    (secrets, keys)
}

/// The randomness of a public beacon: `hash` through SHA-256
/// `2^iterations_exp` times, then ChaCha seeded with the result.
pub fn beacon_rng(hash: &[u8], iterations_exp: u8) -> ChaCha {
    let mut h = hash.to_vec();
    for _ in 0..(1u64 << iterations_exp.min(63)) {
        h = Sha256::digest(&h).to_vec();
    }
    ChaCha::from_hash(&h)
}

/// A key's nine points in "U" form, in the record's order: the six G1
/// points (s, s·x for τ, α, β), then the three G2 points.
pub fn u_key(keys: [&KeyPart; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(768);
    for k in keys {
        out.extend(u_g1(&k.g1_s));
        out.extend(u_g1(&k.g1_sx));
    }
    for k in keys {
        out.extend(u_g2(&k.g2_spx));
    }
    out
}

/// A point's "C" (compressed) encoding, hashed into a response: x
/// big-endian (G2: `x.c1 ‖ x.c0`), bit 0x80 of the first byte set when y
/// is "negative", infinity as 0x40 then zeros.
pub fn c_g1(p: &G1Affine) -> Vec<u8> {
    if p.is_zero() {
        return infinity_c(32);
    }
    flagged(p.x.into_bigint().to_bytes_be(), rng::negative(&p.y))
}

fn infinity_c(len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    if let Some(b) = out.first_mut() {
        *b = 0x40;
    }
    out
}

fn flagged(mut out: Vec<u8>, negative: bool) -> Vec<u8> {
    if let (Some(b), true) = (out.first_mut(), negative) {
        *b |= 0x80;
    }
    out
}

pub fn c_g2(p: &G2Affine) -> Vec<u8> {
    if p.is_zero() {
        return infinity_c(64);
    }
    let x = [
        p.x.c1.into_bigint().to_bytes_be(),
        p.x.c0.into_bigint().to_bytes_be(),
    ]
    .concat();
    flagged(x, rng::negative2(&p.y))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Known answers from snarkjs (docs/research/snarkjs-formats.md §1.4, §3.2).
    #[test]
    fn u_encoding_and_the_first_challenge_match_snarkjs() {
        assert_eq!(
            hex(&u_g1(&G1Affine::generator())),
            format!("{:064x}{:064x}", 1, 2)
        );
        assert_eq!(hex(&u_g2(&G2Affine::generator())), "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c21800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa");
        assert_eq!(
            hex(&first_challenge(12)),
            "9e63a5f62b96538daaed2372481920d1a40b91959ea38ef9f5f6a3033b8865160710d067c09d09615f928ea517bcdf49ad75abd2c8340b400e3b18e968b4ffef"
        );
    }
}
