//! Verifying keys, proofs and public inputs as snarkjs's JSON files
//! (`verification_key.json`, `proof.json`, `public.json`;
//! `docs/research/snarkjs-formats.md` §8), so `snarkjs groth16 verify`
//! checks our proofs.
//!
//! Numbers are canonical decimal strings. A G1 point is `["x", "y", "1"]`,
//! a G2 point `[["x.c0", "x.c1"], ["y.c0", "y.c1"], ["1", "0"]]` (c0
//! first, unlike the EVM's word order), infinity `["0", "1", "0"]`.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_groth16::{Proof, VerifyingKey};
use serde_json::{json, Value};

fn dec(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn fq2(x: &Fq2) -> Value {
    json!([dec(&x.c0), dec(&x.c1)])
}

pub fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([dec(&x), dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

pub fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq2(&x), fq2(&y), ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// `verification_key.json`, with `vk_alphabeta_12 = e(α, β)` (which
/// verifiers do not use) in snarkjs's nesting: Fq12 = (c0, c1) of Fq6 =
/// (c0, c1, c2) of Fq2.
pub fn verifying_key(vk: &VerifyingKey<Bn254>) -> Value {
    let ab = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq6 = |x: &ark_bn254::Fq6| json!([fq2(&x.c0), fq2(&x.c1), fq2(&x.c2)]);
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len().saturating_sub(1),
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "vk_alphabeta_12": [fq6(&ab.c0), fq6(&ab.c1)],
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json`.
pub fn proof(p: &Proof<Bn254>) -> Value {
    json!({
        "pi_a": g1(&p.a),
        "pi_b": g2(&p.b),
        "pi_c": g1(&p.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`: the public inputs in order, as decimal strings.
pub fn public_inputs(inputs: &[Fr]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(x.into_bigint().to_string()))
            .collect(),
    )
}
