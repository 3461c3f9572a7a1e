//! SM3 hash and HMAC-SM3, the hash primitives of TLS_SM4_GCM_SM3 (RFC 8998 §3.1).
//!
//! rustls derives every TLS 1.3 secret from these two traits (the HKDF of
//! RFC 8446 §7.1 is built on HMAC via `HkdfUsingHmac`), so nothing else in the
//! key schedule needs to know about SM3.

use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::{hash, hmac};
use sm3::digest::{Digest, KeyInit, Mac};
use sm3::Sm3;

/// SM3 output size in bytes (GB/T 32905-2016).
pub(crate) const SM3_OUTPUT_LEN: usize = 32;

/// SM3's internal block size; HMAC pads or hashes keys to this length.
const SM3_BLOCK_LEN: usize = 64;

/// SM3 has no code point in the TLS `HashAlgorithm` registry (that registry is
/// a TLS 1.2 artefact). rustls uses this value only to decide whether a
/// session ticket from one suite may resume under another and to look up a
/// precomputed empty-input hash; an `Unknown` value that no standard hash uses
/// keeps SM3 sessions apart from SHA-256 ones and makes rustls compute the
/// empty hash itself.
const SM3_HASH_ALGORITHM: HashAlgorithm = HashAlgorithm::Unknown(0xE3);

/// The SM3 hash as a rustls hash provider.
#[derive(Debug)]
pub(crate) struct Sm3Hash;

impl hash::Hash for Sm3Hash {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(Sm3::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&Sm3::digest(data))
    }

    fn output_len(&self) -> usize {
        SM3_OUTPUT_LEN
    }

    fn algorithm(&self) -> HashAlgorithm {
        SM3_HASH_ALGORITHM
    }
}

/// A running SM3 transcript hash; rustls forks it at every handshake message.
struct Sm3Context(Sm3);

impl hash::Context for Sm3Context {
    fn fork_finish(&self) -> hash::Output {
        hash::Output::new(&self.0.clone().finalize())
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        hash::Output::new(&self.0.finalize())
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

/// HMAC-SM3 (RFC 2104 instantiated with SM3).
#[derive(Debug)]
pub(crate) struct HmacSm3;

type HmacSm3Core = ::hmac::Hmac<Sm3>;

impl hmac::Hmac for HmacSm3 {
    fn with_key(&self, key: &[u8]) -> Box<dyn hmac::Key> {
        // `Hmac::new_from_slice` returns a `Result` although HMAC accepts any
        // key length. To stay infallible without `unwrap`, do the RFC 2104 key
        // normalisation here: keys longer than a block are hashed, then the
        // key is zero-padded to one block. HMAC over that block-sized key is
        // by definition identical to HMAC over the original key.
        let mut block = [0u8; SM3_BLOCK_LEN];
        let digest;
        let normalized: &[u8] = if key.len() > SM3_BLOCK_LEN {
            digest = Sm3::digest(key);
            &digest
        } else {
            key
        };
        // `normalized` is at most one block long, so zip copies all of it.
        for (dst, src) in block.iter_mut().zip(normalized) {
            *dst = *src;
        }
        let mac = <HmacSm3Core as KeyInit>::new(&block.into());
        zeroize::Zeroize::zeroize(&mut block);
        Box::new(HmacSm3Key(mac))
    }

    fn hash_output_len(&self) -> usize {
        SM3_OUTPUT_LEN
    }
}

/// An HMAC-SM3 instance keyed once and cloned for every tag.
struct HmacSm3Key(HmacSm3Core);

impl hmac::Key for HmacSm3Key {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> hmac::Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for part in middle {
            mac.update(part);
        }
        mac.update(last);
        hmac::Tag::new(&mac.finalize().into_bytes())
    }

    fn tag_len(&self) -> usize {
        SM3_OUTPUT_LEN
    }
}
