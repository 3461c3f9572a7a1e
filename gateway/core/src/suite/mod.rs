//! Crypto suites. The envelope names its suite by one byte; every primitive a
//! seal, verify or open uses goes through [`Suite`], so a national suite
//! (SM2/SM3/SM4) slots in beside `standard` without touching the pipeline.
//!
//! `standard` (id 1): AES-256-GCM fields, HPKE base mode with
//! DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM (RFC 9180) for key
//! wrapping, Ed25519 signatures, HMAC-SHA256 pseudonyms, SHA-256 hashing.

pub mod hpke;
pub mod sm;

use ::hpke::{Deserializable, Kem as _, OpModeS, Serializable};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::keys::KemAlg;

type HpkeKem = ::hpke::kem::X25519HkdfSha256;
type HpkeKdf = ::hpke::kdf::HkdfSha256;
type HpkeAead = ::hpke::aead::AesGcm256;

/// The one-byte suite identifier carried in every envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SuiteId {
    Standard = 1,
    /// The national suite ([`sm`]): SM2, SM3, SM4.
    Sm = 2,
}

impl SuiteId {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(SuiteId::Standard),
            2 => Some(SuiteId::Sm),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "standard" => Some(SuiteId::Standard),
            "sm" => Some(SuiteId::Sm),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SuiteId::Standard => "standard",
            SuiteId::Sm => "sm",
        }
    }

    pub fn suite(self) -> &'static dyn Suite {
        match self {
            SuiteId::Standard => &Standard,
            SuiteId::Sm => &sm::Sm,
        }
    }
}

/// A symmetric data key for one recipient of one envelope.
pub type DataKey = zeroize::Zeroizing<[u8; 32]>;

/// Failure of a primitive. Deliberately without detail: which check failed
/// inside an AEAD or KEM is no business of the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cryptographic operation failed")]
pub struct CryptoFailure;

/// What a suite provides. Keys travel as bytes so suites with other key types fit.
pub trait Suite: Send + Sync {
    fn id(&self) -> SuiteId;
    /// Length of a KEM public key and encapsulated key.
    fn kem_key_len(&self) -> usize;
    /// Length of a KEM secret key.
    fn kem_secret_len(&self) -> usize {
        self.kem_key_len()
    }
    fn signature_len(&self) -> usize;
    fn aead_tag_len(&self) -> usize;

    /// Encrypts `plaintext` under `key`; the nonce is unique per key by construction.
    fn seal_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure>;
    fn open_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure>;

    /// Wraps a data key to a recipient's KEM public key of KEM `kem`:
    /// `(encapsulated key, ciphertext)`.
    fn wrap_key(
        &self,
        kem: KemAlg,
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        key: &[u8; 32],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<u8>, Vec<u8>), CryptoFailure>;
    /// Unwraps a data key given `dh = DH(recipient secret, enc)`, computed
    /// by whoever holds the secret (a key file in memory, or a token).
    #[allow(clippy::too_many_arguments)]
    fn unwrap_key(
        &self,
        kem: KemAlg,
        dh: &[u8; 32],
        enc: &[u8],
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        ct: &[u8],
    ) -> Result<DataKey, CryptoFailure>;

    /// Signs `message`. `signer_id` is the signer's distinguishing
    /// identifier, part of what SM2 signs (GB/T 32918.2's `Z_A`); suites
    /// whose signatures have none ignore it.
    fn sign(&self, secret: &[u8; 32], signer_id: &str, message: &[u8]) -> Vec<u8>;
    fn verify_signature(
        &self,
        public: &[u8],
        signer_id: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoFailure>;

    /// Keyed pseudonym of `message` (HMAC in `standard`).
    fn pseudonym(&self, key: &[u8; 32], message: &[u8]) -> [u8; 32];
    fn hash(&self, message: &[u8]) -> [u8; 32];

    /// A KEM key pair from 32 bytes of seed: `(secret, public)`.
    fn kem_keypair(&self, seed: &[u8; 32]) -> (Vec<u8>, Vec<u8>);
    /// The signature public key of a 32-byte secret.
    fn sign_public(&self, secret: &[u8; 32]) -> Vec<u8>;
}

/// An object-safe `RngCore + CryptoRng`.
pub trait RngCoreCrypto: RngCore + CryptoRng {}
impl<T: RngCore + CryptoRng> RngCoreCrypto for T {}

/// Adapter so `&mut dyn RngCoreCrypto` can be handed to generic APIs.
pub(crate) struct DynRng<'a>(pub(crate) &'a mut dyn RngCoreCrypto);
impl RngCore for DynRng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.try_fill_bytes(dest)
    }
}
impl CryptoRng for DynRng<'_> {}

pub struct Standard;

/// HPKE single-shot seal (base mode, HKDF-SHA256, AES-256-GCM) to `recipient_public`.
fn hpke_seal<K: ::hpke::Kem>(
    recipient_public: &[u8],
    info: &[u8],
    aad: &[u8],
    key: &[u8; 32],
    rng: &mut dyn RngCoreCrypto,
) -> Result<(Vec<u8>, Vec<u8>), CryptoFailure> {
    let pk = K::PublicKey::from_bytes(recipient_public).map_err(|_| CryptoFailure)?;
    let (enc, ct) = ::hpke::single_shot_seal::<HpkeAead, HpkeKdf, K, _>(
        &OpModeS::Base,
        &pk,
        info,
        key,
        aad,
        &mut DynRng(rng),
    )
    .map_err(|_| CryptoFailure)?;
    Ok((enc.to_bytes().to_vec(), ct))
}

impl Suite for Standard {
    fn id(&self) -> SuiteId {
        SuiteId::Standard
    }
    fn kem_key_len(&self) -> usize {
        32
    }
    fn signature_len(&self) -> usize {
        64
    }
    fn aead_tag_len(&self) -> usize {
        16
    }

    fn seal_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure> {
        Aes256Gcm::new(key.into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoFailure)
    }

    fn open_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure> {
        Aes256Gcm::new(key.into())
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoFailure)
    }

    fn wrap_key(
        &self,
        kem: KemAlg,
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        key: &[u8; 32],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<u8>, Vec<u8>), CryptoFailure> {
        match kem {
            KemAlg::X25519 => {
                hpke_seal::<::hpke::kem::X25519HkdfSha256>(recipient_public, info, aad, key, rng)
            }
            KemAlg::P256 => {
                hpke_seal::<::hpke::kem::DhP256HkdfSha256>(recipient_public, info, aad, key, rng)
            }
            _ => Err(CryptoFailure),
        }
    }

    fn unwrap_key(
        &self,
        kem: KemAlg,
        dh: &[u8; 32],
        enc: &[u8],
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        ct: &[u8],
    ) -> Result<DataKey, CryptoFailure> {
        let pt = hpke::open_base(kem, dh, enc, recipient_public, info, aad, ct)?;
        let key: [u8; 32] = pt.as_slice().try_into().map_err(|_| CryptoFailure)?;
        Ok(zeroize::Zeroizing::new(key))
    }

    fn sign(&self, secret: &[u8; 32], _signer_id: &str, message: &[u8]) -> Vec<u8> {
        SigningKey::from_bytes(secret)
            .sign(message)
            .to_bytes()
            .to_vec()
    }

    fn verify_signature(
        &self,
        public: &[u8],
        _signer_id: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoFailure> {
        let public: [u8; 32] = public.try_into().map_err(|_| CryptoFailure)?;
        let vk = VerifyingKey::from_bytes(&public).map_err(|_| CryptoFailure)?;
        let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoFailure)?;
        // Strict: rejects small-order keys and non-canonical signatures, so a
        // signature is not malleable into a second valid encoding.
        vk.verify_strict(message, &sig).map_err(|_| CryptoFailure)
    }

    fn pseudonym(&self, key: &[u8; 32], message: &[u8]) -> [u8; 32] {
        // HMAC zero-pads keys to the 64-byte block (RFC 2104), so padding here
        // is the same MAC as keying with the 32 bytes, without a fallible call.
        let mut block = zeroize::Zeroizing::new([0u8; 64]);
        if let Some(head) = block.get_mut(..32) {
            head.copy_from_slice(key);
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new(block.as_ref().into());
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn hash(&self, message: &[u8]) -> [u8; 32] {
        Sha256::digest(message).into()
    }

    fn kem_keypair(&self, seed: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let (sk, pk) = HpkeKem::derive_keypair(seed);
        (sk.to_bytes().to_vec(), pk.to_bytes().to_vec())
    }

    fn sign_public(&self, secret: &[u8; 32]) -> Vec<u8> {
        SigningKey::from_bytes(secret)
            .verifying_key()
            .to_bytes()
            .to_vec()
    }
}
