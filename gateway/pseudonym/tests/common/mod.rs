//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};

/// Yields the given scalars, one per `fill_bytes` call, as the first 32
/// bytes of a zeroed buffer: curve25519-dalek's `Scalar::random` reduces 64
/// bytes, so `s ‖ 0³²` comes out as `s` (how the RFC's fixed blinds and
/// proof nonces are fed through the randomised API).
pub struct ScalarRng(pub Vec<[u8; 32]>);

impl RngCore for ScalarRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(!self.0.is_empty(), "the test supplied too few scalars");
        let s = self.0.remove(0);
        dest.fill(0);
        dest[..32].copy_from_slice(&s);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ScalarRng {}

pub fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

pub fn hex64(s: &str) -> [u8; 64] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// The `voprf` crate's own full evaluation (no blinding), truncated to a tag:
/// the reference every path of ours must agree with.
pub fn crate_tag(key: &[u8; 32], input: &[u8]) -> [u8; 32] {
    let server = voprf::VoprfServer::<voprf::Ristretto255>::new_with_key(key).unwrap();
    server.evaluate(input).unwrap()[..32].try_into().unwrap()
}

pub fn random_key(rng: &mut (impl RngCore + CryptoRng)) -> [u8; 32] {
    Scalar::random(rng).to_bytes()
}

/// The crate's full 64-byte RFC 9497 output.
pub fn crate_output(key: &[u8; 32], input: &[u8]) -> Vec<u8> {
    let server = voprf::VoprfServer::<voprf::Ristretto255>::new_with_key(key).unwrap();
    server.evaluate(input).unwrap().to_vec()
}
