//! `vectors/pseudonym-v2.json`: one oblivious pseudonym computed end to end
//! from a fixed seed, blind and proof nonce, and one padding example, for
//! SDKs and the future envelope v-next to check against. Rewritten only in
//! write mode (`VEILGATE_WRITE_VECTORS=1`, refused under CI); every run
//! recomputes everything and compares.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::{hex32, hex64, ScalarRng};
use serde_json::{json, Value};
use veilgate_pseudonym::{
    blind_batch, finalize_batch, pseudonym_input, pseudonym_key_info, Evaluator, Padding,
};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/pseudonym-v2.json"
);

fn scalar_bytes(fill: u8, last: u8) -> [u8; 32] {
    let mut b = [fill; 32];
    b[31] = last; // < 0x10: a canonical scalar
    b
}

fn compute() -> Value {
    let seed = [0x5e; 32];
    let (ledger, epoch) = ("interbank-settlement", 1u32);
    let value = b"\x01DE89370400440532013000"; // canonical string value: type 1 ‖ UTF-8
    let input = pseudonym_input(ledger, epoch, value).unwrap();
    let (blind, nonce) = (scalar_bytes(0x11, 0x01), scalar_bytes(0x22, 0x02));
    let server = Evaluator::from_seed(&seed, ledger, epoch).unwrap();
    let (state, blinded) = blind_batch(&[&input], &mut ScalarRng(vec![blind])).unwrap();
    let (evaluated, proof) = server
        .evaluate_batch(&blinded, &mut ScalarRng(vec![nonce]))
        .unwrap();
    let tags = finalize_batch(&state, &evaluated, &proof, &server.public_key()).unwrap();
    let plaintext = b"\x01ACME Holdings (UK) Ltd";
    let padding = Padding::pow2(32, 1024).unwrap();
    let padded = padding.pad(plaintext).unwrap();
    json!({
        "description": "Veilgate oblivious pseudonym v2: RFC 9497 VOPRF (mode 0x01, ristretto255-SHA512). key = DeriveKeyPair(seed, key_info); input = \"veilgate/pseudonym/v2\" ‖ u16 len(ledger) ‖ ledger ‖ u32 epoch ‖ canonical value; blind and proof nonce fixed here (random in use); tag = first 32 bytes of the VOPRF output. Padding: pow2 32..=1024, u16 n ‖ plaintext ‖ zeros to the smallest class ≥ n + 2. See docs/pseudonyms.md.",
        "seed": hex::encode(seed),
        "ledger": ledger,
        "epoch": epoch,
        "key_info": hex::encode(pseudonym_key_info(ledger, epoch).unwrap()),
        "public_key": hex::encode(server.public_key()),
        "value": hex::encode(value),
        "input": hex::encode(&input),
        "blind": hex::encode(blind),
        "blinded": hex::encode(blinded[0]),
        "proof_random_scalar": hex::encode(nonce),
        "evaluated": hex::encode(evaluated[0]),
        "proof": hex::encode(proof),
        "tag": hex::encode(tags[0]),
        "padding": {
            "scheme": "pow2 32..=1024",
            "plaintext": hex::encode(plaintext),
            "class": padded.len(),
            "padded": hex::encode(&padded),
        },
    })
}

#[test]
fn the_pseudonym_v2_vector_holds() {
    let now = compute();
    if veilgate_circuits::vectors::write_mode().unwrap() {
        std::fs::write(FILE, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let kat: Value = serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap();
    assert_eq!(kat, now, "the pseudonym-v2 vector moved");
}

/// The file read on its own (not recomputed): its tag is the `voprf` crate's
/// unblinded evaluation, its proof verifies, and its padding unpads.
#[test]
fn the_file_is_self_consistent() {
    let kat: Value = serde_json::from_str(&std::fs::read_to_string(FILE).unwrap()).unwrap();
    let s = |k: &str| kat[k].as_str().unwrap().to_owned();
    let server = Evaluator::from_seed(
        &hex32(&s("seed")),
        &s("ledger"),
        kat["epoch"].as_u64().unwrap() as u32,
    )
    .unwrap();
    assert_eq!(hex::encode(server.public_key()), s("public_key"));
    let input = hex::decode(s("input")).unwrap();
    let (state, blinded) =
        blind_batch(&[&input], &mut ScalarRng(vec![hex32(&s("blind"))])).unwrap();
    assert_eq!(hex::encode(blinded[0]), s("blinded"));
    let tags = finalize_batch(
        &state,
        &[hex32(&s("evaluated"))],
        &hex64(&s("proof")),
        &hex32(&s("public_key")),
    )
    .unwrap();
    assert_eq!(hex::encode(tags[0]), s("tag"));
    // The crate's own DeriveKeyPair and unblinded evaluation agree (no blinding, no proof).
    let info = hex::decode(s("key_info")).unwrap();
    let reference =
        voprf::VoprfServer::<voprf::Ristretto255>::new_from_seed(&hex32(&s("seed")), &info)
            .unwrap();
    assert_eq!(
        hex::encode(&reference.evaluate(&input).unwrap()[..32]),
        s("tag")
    );
    let padding = Padding::pow2(32, 1024).unwrap();
    let padded = hex::decode(kat["padding"]["padded"].as_str().unwrap()).unwrap();
    assert_eq!(
        padded.len() as u64,
        kat["padding"]["class"].as_u64().unwrap()
    );
    assert_eq!(
        hex::encode(padding.unpad(&padded).unwrap()),
        kat["padding"]["plaintext"].as_str().unwrap()
    );
}
