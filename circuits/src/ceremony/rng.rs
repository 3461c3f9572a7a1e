//! The randomness snarkjs derives from hashes, reproduced bit for bit so
//! that keys hashed to the curve and beacons agree with it
//! (`docs/research/snarkjs-formats.md` §3.5): a ChaCha20 keystream seeded
//! with eight big-endian words of a hash, field elements read as
//! Montgomery limbs, and points found by increment-free rejection sampling.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, BigInteger, Field, Fp256, MontBackend, MontConfig, PrimeField, Zero};

#[cfg(test)]
use ark_bn254::Fr;

/// ffjavascript's ChaCha20: state `constants ‖ seed[0..8] ‖ 0 0 0 0`,
/// words consumed in order, the counter in word 12. (Indices into its
/// fixed 16-word arrays are constants or bounded by `next < 16`.)
pub struct ChaCha {
    state: [u32; 16],
    block: [u32; 16],
    next: usize,
}

#[allow(clippy::indexing_slicing)]
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

#[allow(clippy::indexing_slicing)]
impl ChaCha {
    /// Seeded with the first 32 bytes of `hash` as eight big-endian words.
    pub fn from_hash(hash: &[u8]) -> ChaCha {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646E, 0x7962_2D32, 0x6B20_6574]);
        for (i, w) in state[4..12].iter_mut().enumerate() {
            let mut b = [0u8; 4];
            b.copy_from_slice(hash.get(4 * i..4 * i + 4).unwrap_or(&[0; 4]));
            *w = u32::from_be_bytes(b);
        }
        ChaCha {
            state,
            block: [0; 16],
            next: 16,
        }
    }

    fn refill(&mut self) {
        let mut s = self.state;
        for _ in 0..10 {
            quarter(&mut s, 0, 4, 8, 12);
            quarter(&mut s, 1, 5, 9, 13);
            quarter(&mut s, 2, 6, 10, 14);
            quarter(&mut s, 3, 7, 11, 15);
            quarter(&mut s, 0, 5, 10, 15);
            quarter(&mut s, 1, 6, 11, 12);
            quarter(&mut s, 2, 7, 8, 13);
            quarter(&mut s, 3, 4, 9, 14);
        }
        for (o, (x, y)) in self.block.iter_mut().zip(s.iter().zip(self.state.iter())) {
            *o = x.wrapping_add(*y);
        }
        // The counter, carried through words 12–15.
        for w in &mut self.state[12..] {
            *w = w.wrapping_add(1);
            if *w != 0 {
                break;
            }
        }
        self.next = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.next == 16 {
            self.refill();
        }
        let w = self.block[self.next];
        self.next += 1;
        w
    }

    /// Two words, the first one the high half (ffjavascript's order).
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    pub fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }

    /// A field element the way ffjavascript draws one: 254 random bits,
    /// rejected until below the modulus, taken as the element's
    /// *Montgomery* limbs (so its value is `v·2^-256`).
    pub fn field<T: MontConfig<4>>(&mut self) -> Fp256<MontBackend<T, 4>> {
        loop {
            let mut limbs = [0u64; 4];
            for l in &mut limbs {
                *l = self.next_u64();
            }
            limbs[3] &= (1u64 << 62) - 1;
            let v = BigInt(limbs);
            if v < T::MODULUS {
                return Fp256::new_unchecked(v);
            }
        }
    }
}

/// `a` is "negative" for ffjavascript: its canonical value is above (q−1)/2.
pub fn negative(a: &Fq) -> bool {
    let mut half = Fq::MODULUS;
    half.div2();
    a.into_bigint() > half
}

/// For Fq2: the sign of `c1`, or of `c0` when `c1` is zero.
pub fn negative2(a: &Fq2) -> bool {
    if a.c1.is_zero() {
        negative(&a.c0)
    } else {
        negative(&a.c1)
    }
}

/// A G1 point drawn as snarkjs draws one: x at random (with a sign bit drawn
/// each try) until `x³ + 3` is a square; y the root whose sign is the bit.
pub fn g1(rng: &mut ChaCha) -> G1Affine {
    loop {
        let x: Fq = rng.field();
        let greatest = rng.next_bool();
        let t = x.square() * x + ark_bn254::g1::Config::COEFF_B;
        if let Some(mut y) = t.sqrt() {
            if greatest != negative(&y) {
                y = -y;
            }
            return G1Affine::new_unchecked(x, y);
        }
    }
}

/// A G2 point drawn likewise on the twist, then multiplied by the cofactor
/// `2q − r` (the integer, as snarkjs does, not a faster equivalent map).
pub fn g2(rng: &mut ChaCha) -> G2Affine {
    loop {
        let c0: Fq = rng.field();
        let c1: Fq = rng.field();
        let x = Fq2::new(c0, c1);
        let greatest = rng.next_bool();
        let t = x.square() * x + ark_bn254::g2::Config::COEFF_B;
        if let Some(mut y) = t.sqrt() {
            if greatest != negative2(&y) {
                y = -y;
            }
            let p = G2Affine::new_unchecked(x, y);
            return p.mul_bigint(G2_COFACTOR).into_affine();
        }
    }
}

/// `2q − r`, little-endian limbs.
const G2_COFACTOR: [u64; 4] = [
    0x345f_2299_c0f9_fa8d,
    0x06ce_ecda_572a_2489,
    0xb850_45b6_8181_585e,
    0x3064_4e72_e131_a029,
];

/// `hashToG2(h)`: a G2 point drawn from ChaCha seeded with `h`.
pub fn hash_to_g2(h: &[u8]) -> G2Affine {
    g2(&mut ChaCha::from_hash(h))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ark_ff::{BigInteger, One};

    #[test]
    fn the_cofactor_is_2q_minus_r() {
        let mut two_q = Fq::MODULUS;
        two_q.mul2();
        let mut want = two_q;
        want.sub_with_borrow(&Fr::MODULUS);
        assert_eq!(want, BigInt(G2_COFACTOR));
    }

    #[test]
    fn drawn_points_are_in_their_groups() {
        let mut rng = ChaCha::from_hash(&[7; 64]);
        let p = g1(&mut rng);
        assert!(p.is_on_curve());
        let q = g2(&mut rng);
        assert!(q.is_on_curve() && q.is_in_correct_subgroup_assuming_on_curve());
        let one: Fr = Fr::one();
        assert!(!one.is_zero());
    }
}
