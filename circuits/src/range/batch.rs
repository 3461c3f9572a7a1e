//! Batch verification of bulletproofs range proofs.
//!
//! The `bulletproofs` crate verifies one proof at a time. Its verifier folds
//! each proof into one equation `Σ sᵢ·Pᵢ = 0` over the proof's points (A, S,
//! T₁, T₂, the L/R of the inner-product argument, the value commitments) and
//! the shared generators (B, B̃ and the vectors G, H). Here every proof's
//! equation is weighted by a fresh random scalar `ρ` and all are summed: the
//! generators' coefficients add up, so 64 proofs cost one multiscalar
//! multiplication over `2·n·m + 2` shared points plus each proof's own
//! `4 + 2·lg(n·m) + m`, instead of 64 over all of them. If any proof is
//! invalid the sum is non-zero except with probability about `1/ℓ` (`ℓ ≈
//! 2^252`).
//!
//! The equation and transcript are the crate's own (bulletproofs 5,
//! `RangeProof::verify_multiple_with_rng`, and its inner-product argument's
//! `verification_scalars`), replayed here over the published proof bytes:
//! the same Merlin labels, the same identity checks on A, S, T₁, T₂, L, R.
//! The generators G, H are the crate's `GeneratorsChain` (SHAKE256 of
//! `"GeneratorsChain" ‖ label ‖ party index`), rebuilt because the crate keeps
//! H private; a test checks G against the crate's public share and the
//! verdicts against the crate's single verification, on valid and invalid
//! proofs.

use std::iter;
use std::sync::OnceLock;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::Shake256;

use super::{bits_from_len, pedersen_gens, RangeError, BITS, PARTIES};

/// One proof to check: its statement's transcript (before the crate's own
/// labels), its value commitments (already derived and padded), its bytes.
#[derive(Clone)]
pub struct Instance<'p> {
    pub(super) transcript: Transcript,
    pub(super) commitments: Vec<RistrettoPoint>,
    pub(super) proof: &'p [u8],
}

struct Generators {
    /// `g[j][i]`: party `j`, position `i`.
    g: Vec<Vec<RistrettoPoint>>,
    h: Vec<Vec<RistrettoPoint>>,
}

fn chain(kind: u8, party: u32, count: usize) -> Vec<RistrettoPoint> {
    let mut label = [kind, 0, 0, 0, 0];
    if let Some(dst) = label.get_mut(1..) {
        dst.copy_from_slice(&party.to_le_bytes());
    }
    let mut shake = Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(&label);
    let mut reader = shake.finalize_xof();
    (0..count)
        .map(|_| {
            let mut uniform = [0u8; 64];
            reader.read(&mut uniform);
            RistrettoPoint::from_uniform_bytes(&uniform)
        })
        .collect()
}

fn generators() -> &'static Generators {
    static GENS: OnceLock<Generators> = OnceLock::new();
    GENS.get_or_init(|| Generators {
        g: (0..PARTIES as u32).map(|j| chain(b'G', j, BITS)).collect(),
        h: (0..PARTIES as u32).map(|j| chain(b'H', j, BITS)).collect(),
    })
}

struct Parsed {
    a: CompressedRistretto,
    s: CompressedRistretto,
    t1: CompressedRistretto,
    t2: CompressedRistretto,
    t_x: Scalar,
    t_x_blinding: Scalar,
    e_blinding: Scalar,
    l: Vec<CompressedRistretto>,
    r: Vec<CompressedRistretto>,
    ipp_a: Scalar,
    ipp_b: Scalar,
}

fn word(bytes: &[u8], i: usize) -> Result<[u8; 32], RangeError> {
    bytes
        .get(32 * i..32 * i + 32)
        .and_then(|w| w.try_into().ok())
        .ok_or(RangeError::MalformedProof)
}

fn scalar(bytes: &[u8], i: usize) -> Result<Scalar, RangeError> {
    Option::from(Scalar::from_canonical_bytes(word(bytes, i)?)).ok_or(RangeError::MalformedProof)
}

/// The crate's layout: A, S, T₁, T₂, t_x, t_x_blinding, e_blinding, then
/// (L₀, R₀) … (L_k, R_k), a, b — 32 bytes each.
fn parse(bytes: &[u8]) -> Result<Parsed, RangeError> {
    if !bytes.len().is_multiple_of(32)
        || bytes.len() < 9 * 32
        || !(bytes.len() / 32 - 9).is_multiple_of(2)
    {
        return Err(RangeError::MalformedProof);
    }
    let lg = (bytes.len() / 32 - 9) / 2;
    let point = |i| word(bytes, i).map(CompressedRistretto);
    let mut l = Vec::with_capacity(lg);
    let mut r = Vec::with_capacity(lg);
    for k in 0..lg {
        l.push(point(7 + 2 * k)?);
        r.push(point(8 + 2 * k)?);
    }
    Ok(Parsed {
        a: point(0)?,
        s: point(1)?,
        t1: point(2)?,
        t2: point(3)?,
        t_x: scalar(bytes, 4)?,
        t_x_blinding: scalar(bytes, 5)?,
        e_blinding: scalar(bytes, 6)?,
        l,
        r,
        ipp_a: scalar(bytes, 7 + 2 * lg)?,
        ipp_b: scalar(bytes, 8 + 2 * lg)?,
    })
}

fn challenge(t: &mut Transcript, label: &'static [u8]) -> Scalar {
    let mut buf = [0u8; 64];
    t.challenge_bytes(label, &mut buf);
    Scalar::from_bytes_mod_order_wide(&buf)
}

fn append_checked(
    t: &mut Transcript,
    label: &'static [u8],
    p: &CompressedRistretto,
) -> Result<(), RangeError> {
    if p.is_identity() {
        return Err(RangeError::ProofRejected);
    }
    t.append_message(label, p.as_bytes());
    Ok(())
}

/// `1, x, x², …` (`count` terms).
fn powers(x: Scalar, count: usize) -> impl Iterator<Item = Scalar> {
    iter::successors(Some(Scalar::ONE), move |p| Some(p * x)).take(count)
}

/// Shared-generator coefficients and per-proof terms of the combined equation.
struct Accumulator {
    b: Scalar,
    b_blinding: Scalar,
    g: Vec<Vec<Scalar>>,
    h: Vec<Vec<Scalar>>,
    scalars: Vec<Scalar>,
    points: Vec<Option<RistrettoPoint>>,
}

impl Accumulator {
    fn add<R: RngCore + CryptoRng>(
        &mut self,
        inst: &Instance<'_>,
        rng: &mut R,
    ) -> Result<(), RangeError> {
        let m = inst.commitments.len();
        if m == 0 || m > PARTIES || !m.is_power_of_two() {
            return Err(RangeError::FieldCount);
        }
        let n = bits_from_len(inst.proof.len(), m).ok_or(RangeError::MalformedProof)?;
        let p = parse(inst.proof)?;
        let nm = n * m;

        // The crate's transcript, label for label.
        let mut t = inst.transcript.clone();
        t.append_message(b"dom-sep", b"rangeproof v1");
        t.append_u64(b"n", n as u64);
        t.append_u64(b"m", m as u64);
        for v in &inst.commitments {
            t.append_message(b"V", v.compress().as_bytes());
        }
        append_checked(&mut t, b"A", &p.a)?;
        append_checked(&mut t, b"S", &p.s)?;
        let y = challenge(&mut t, b"y");
        let z = challenge(&mut t, b"z");
        append_checked(&mut t, b"T_1", &p.t1)?;
        append_checked(&mut t, b"T_2", &p.t2)?;
        let x = challenge(&mut t, b"x");
        t.append_message(b"t_x", p.t_x.as_bytes());
        t.append_message(b"t_x_blinding", p.t_x_blinding.as_bytes());
        t.append_message(b"e_blinding", p.e_blinding.as_bytes());
        let w = challenge(&mut t, b"w");
        // Inner-product argument challenges.
        t.append_message(b"dom-sep", b"ipp v1");
        t.append_u64(b"n", nm as u64);
        let mut u = Vec::with_capacity(p.l.len());
        for (l, r) in p.l.iter().zip(&p.r) {
            append_checked(&mut t, b"L", l)?;
            append_checked(&mut t, b"R", r)?;
            u.push(challenge(&mut t, b"u"));
        }
        let mut u_inv = u.clone();
        let all_inv = Scalar::batch_invert(&mut u_inv);
        let u_sq: Vec<Scalar> = u.iter().map(|x| x * x).collect();
        let u_inv_sq: Vec<Scalar> = u_inv.iter().map(|x| x * x).collect();
        let lg = u.len();
        let mut s = Vec::with_capacity(nm);
        s.push(all_inv);
        for i in 1..nm {
            let lg_i = (usize::BITS - 1 - i.leading_zeros()) as usize;
            let k = 1usize << lg_i;
            let prev = s.get(i - k).copied().ok_or(RangeError::MalformedProof)?;
            let sq = u_sq
                .get(lg - 1 - lg_i)
                .copied()
                .ok_or(RangeError::MalformedProof)?;
            s.push(prev * sq);
        }

        // This proof's equation, weighted by ρ (and c, the crate's own
        // random combination of its two checks).
        let rho = Scalar::random(rng);
        let c = Scalar::random(rng);
        let zz = z * z;
        let y_inv = y.invert();
        let two: Vec<Scalar> = powers(Scalar::from(2u64), n).collect();
        let z_pow: Vec<Scalar> = powers(z, m).collect();
        let sum_y: Scalar = powers(y, nm).sum();
        let sum_2: Scalar = two.iter().sum();
        let sum_z: Scalar = z_pow.iter().sum();
        let delta = (z - zz) * sum_y - zz * z * sum_2 * sum_z;

        let mut y_inv_i = Scalar::ONE;
        for (idx, (s_i, s_inv_i)) in s.iter().zip(s.iter().rev()).enumerate() {
            let (j, i) = (idx / n, idx % n);
            let z_and_2 = z_pow.get(j).copied().unwrap_or(Scalar::ZERO)
                * two.get(i).copied().unwrap_or(Scalar::ZERO);
            let g = -z - p.ipp_a * s_i;
            let h = z + y_inv_i * (zz * z_and_2 - p.ipp_b * s_inv_i);
            y_inv_i *= y_inv;
            let gj = self.g.get_mut(j).and_then(|v| v.get_mut(i));
            let hj = self.h.get_mut(j).and_then(|v| v.get_mut(i));
            match (gj, hj) {
                (Some(gc), Some(hc)) => {
                    *gc += rho * g;
                    *hc += rho * h;
                }
                _ => return Err(RangeError::MalformedProof),
            }
        }
        self.b += rho * (w * (p.t_x - p.ipp_a * p.ipp_b) + c * (delta - p.t_x));
        self.b_blinding += rho * (-p.e_blinding - c * p.t_x_blinding);

        let own = [
            (rho, p.a),
            (rho * x, p.s),
            (rho * c * x, p.t1),
            (rho * c * x * x, p.t2),
        ];
        for (k, pt) in own {
            self.scalars.push(k);
            self.points.push(pt.decompress());
        }
        for (k, pt) in u_sq.iter().zip(&p.l).chain(u_inv_sq.iter().zip(&p.r)) {
            self.scalars.push(rho * k);
            self.points.push(pt.decompress());
        }
        for (zj, v) in z_pow.iter().zip(&inst.commitments) {
            self.scalars.push(rho * c * zz * zj);
            self.points.push(Some(*v));
        }
        Ok(())
    }
}

/// Verifies every instance at once. `Ok` only if all verify; on `Err`, check
/// them one by one to find the culprit. An empty batch verifies.
pub fn verify_batch<R: RngCore + CryptoRng>(
    instances: &[Instance<'_>],
    rng: &mut R,
) -> Result<(), RangeError> {
    if instances.is_empty() {
        return Ok(());
    }
    let gens = generators();
    let mut acc = Accumulator {
        b: Scalar::ZERO,
        b_blinding: Scalar::ZERO,
        g: vec![vec![Scalar::ZERO; BITS]; PARTIES],
        h: vec![vec![Scalar::ZERO; BITS]; PARTIES],
        scalars: Vec::new(),
        points: Vec::new(),
    };
    for inst in instances {
        acc.add(inst, rng)?;
    }
    let pc = pedersen_gens();
    // Collected first: dalek checks that both sides report the same length.
    let scalars: Vec<Scalar> = [acc.b, acc.b_blinding]
        .into_iter()
        .chain(acc.g.iter().flatten().copied())
        .chain(acc.h.iter().flatten().copied())
        .chain(acc.scalars)
        .collect();
    let points: Vec<Option<RistrettoPoint>> = [Some(pc.B), Some(pc.B_blinding)]
        .into_iter()
        .chain(gens.g.iter().flatten().map(|p| Some(*p)))
        .chain(gens.h.iter().flatten().map(|p| Some(*p)))
        .chain(acc.points)
        .collect();
    let result = RistrettoPoint::optional_multiscalar_mul(scalars, points)
        .ok_or(RangeError::ProofRejected)?;
    if result.is_identity() {
        Ok(())
    } else {
        Err(RangeError::ProofRejected)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::range::{
        bulletproof_gens, AggregateRange, Commitment, Opening, RangeProof, RangeStatement,
    };
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn rebuilt_generators_are_the_crates() {
        let ours = generators();
        for j in 0..PARTIES {
            let theirs: Vec<_> = bulletproof_gens().share(j).G(BITS).copied().collect();
            assert_eq!(ours.g[j], theirs, "party {j}");
        }
    }

    type Item = (RangeStatement<'static>, Commitment, RangeProof);

    fn items(rng: &mut ChaCha20Rng, count: usize) -> Vec<Item> {
        let ranges: [(i64, i64); 4] = [
            (1, 100_000_000_000),
            (0, 200),
            (-50, 50),
            (i64::MIN, i64::MAX),
        ];
        (0..count)
            .map(|i| {
                let (lo, hi) = ranges[i % ranges.len()];
                let st = RangeStatement {
                    lo,
                    hi,
                    context: b"batch",
                };
                let o = Opening::random(lo.saturating_add(i as i64 * 7 % 100), rng);
                let proof = st.prove(&o, rng).unwrap();
                (st, o.commit(), proof)
            })
            .collect()
    }

    fn batch(items: &[Item], rng: &mut ChaCha20Rng) -> Result<(), RangeError> {
        let inst: Vec<_> = items
            .iter()
            .map(|(st, c, p)| st.instance(c, p).unwrap())
            .collect();
        verify_batch(&inst, rng)
    }

    #[test]
    fn a_batch_accepts_exactly_when_every_single_verification_does() {
        let mut rng = ChaCha20Rng::seed_from_u64(35);
        let good = items(&mut rng, 12);
        for (st, c, p) in &good {
            st.verify(c, p, &mut rng).unwrap();
        }
        batch(&good, &mut rng).unwrap();
        batch(&good[..1], &mut rng).unwrap();
        verify_batch(&[], &mut rng).unwrap();

        // Each corruption: the crate rejects the single proof, the batch rejects the whole.
        let mut cases: Vec<(&str, Vec<Item>)> = Vec::new();
        let mut other_commitment = good.clone();
        other_commitment[5].1 = Opening::random(3, &mut rng).commit();
        cases.push(("commitment", other_commitment));
        let mut other_range = good.clone();
        other_range[2].0.hi += 1;
        cases.push(("range", other_range));
        let mut other_context = good.clone();
        other_context[7].0.context = b"elsewhere";
        cases.push(("context", other_context));
        let mut swapped = good.clone();
        let p = swapped[0].2.clone();
        swapped[0].2 = swapped[4].2.clone();
        swapped[4].2 = p;
        cases.push(("swapped proofs", swapped));
        for byte in [0usize, 40, 100, 140, 170, 200, 300, 600, 700] {
            let mut flipped = good.clone();
            let len = flipped[3].2 .0.len();
            flipped[3].2 .0[byte % len] ^= 0x01;
            cases.push(("flipped byte", flipped));
        }
        for (name, bad) in cases {
            let singles_fail = bad
                .iter()
                .any(|(st, c, p)| st.verify(c, p, &mut rng).is_err());
            assert!(singles_fail, "{name}: the crate accepts every single proof");
            let inst: Result<Vec<_>, _> = bad.iter().map(|(st, c, p)| st.instance(c, p)).collect();
            if let Ok(inst) = inst {
                assert!(
                    verify_batch(&inst, &mut rng).is_err(),
                    "{name}: batch accepted"
                );
            }
        }
    }

    /// A patched prover that wraps `hi − v` past 2^64: the single verifier
    /// rejects it, and so does a batch that carries it among honest proofs.
    #[test]
    fn a_forged_proof_spoils_the_batch() {
        let mut rng = ChaCha20Rng::seed_from_u64(36);
        let mut all = items(&mut rng, 8);
        let st = RangeStatement {
            lo: 1,
            hi: 100,
            context: b"batch",
        };
        let o = Opening::random(101, &mut rng);
        let (proof, _) = bulletproofs::RangeProof::prove_multiple_with_rng(
            bulletproof_gens(),
            pedersen_gens(),
            &mut st.transcript(),
            &[100, u64::MAX],
            &[o.blinding, -o.blinding],
            BITS,
            &mut rng,
        )
        .unwrap();
        let forged = RangeProof(proof.to_bytes());
        assert!(st.verify(&o.commit(), &forged, &mut rng).is_err());
        all.push((st, o.commit(), forged));
        assert_eq!(batch(&all, &mut rng), Err(RangeError::ProofRejected));
    }

    #[test]
    fn aggregates_and_mixed_bit_sizes_batch_together() {
        let mut rng = ChaCha20Rng::seed_from_u64(37);
        let ranges = [(0i64, 200i64), (1, 100_000_000_000), (-5, 5)];
        let agg = AggregateRange {
            ranges: &ranges,
            context: b"envelope",
        };
        let openings: Vec<_> = [150i64, 99, -5]
            .iter()
            .map(|v| Opening::random(*v, &mut rng))
            .collect();
        let commitments: Vec<_> = openings.iter().map(Opening::commit).collect();
        let proof = agg.prove(&openings, &mut rng).unwrap();
        // Three fields → 6 values padded to 8 parties at 64 bits: lg 512 = 9.
        assert_eq!(proof.0.len(), 32 * (9 + 2 * 9));
        agg.verify(&commitments, &proof, &mut rng).unwrap();
        let singles = items(&mut rng, 4);
        let mut inst: Vec<_> = singles
            .iter()
            .map(|(st, c, p)| st.instance(c, p).unwrap())
            .collect();
        inst.push(agg.instance(&commitments, &proof).unwrap());
        verify_batch(&inst, &mut rng).unwrap();
        // The aggregate against swapped commitments: rejected alone and in the batch.
        let mut wrong = commitments.clone();
        wrong.swap(0, 2);
        assert!(agg.verify(&wrong, &proof, &mut rng).is_err());
        inst.pop();
        inst.push(agg.instance(&wrong, &proof).unwrap());
        assert!(verify_batch(&inst, &mut rng).is_err());
    }
}
