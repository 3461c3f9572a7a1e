//! What a Groth16 proof's multi-scalar multiplications cost on this machine,
//! for the breakdown in `docs/benchmarks/circuits.md`. Run on one core:
//! `RAYON_NUM_THREADS=1 cargo run --release -p veilgate-circuits --example msm_costs`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use rand_chacha::rand_core::SeedableRng;

fn main() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    const RUNS: u32 = 20;
    for n in [240usize, 300, 512] {
        let g1: Vec<G1Affine> = (0..n)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let g2: Vec<G2Affine> = (0..n)
            .map(|_| G2Projective::rand(&mut rng).into_affine())
            .collect();
        let s: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let t = Instant::now();
        for _ in 0..RUNS {
            let _ = std::hint::black_box(G1Projective::msm(&g1, &s).unwrap());
        }
        let one = t.elapsed() / RUNS;
        let t = Instant::now();
        for _ in 0..RUNS {
            let _ = std::hint::black_box(G2Projective::msm(&g2, &s).unwrap());
        }
        let two = t.elapsed() / RUNS;
        println!("{n} random scalars: G1 MSM {one:?}, G2 MSM {two:?}");
    }
}
