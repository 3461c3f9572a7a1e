//! `SecureRandom` backed by the operating system (getrandom).

use rand_core::{OsRng, RngCore};
use rustls::crypto::{GetRandomFailed, SecureRandom};

/// Randomness for rustls (hello randoms, session ids, tickets).
#[derive(Debug)]
pub(crate) struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        OsRng.try_fill_bytes(buf).map_err(|_| GetRandomFailed)
    }
}
