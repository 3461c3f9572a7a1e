//! What seal and open need of a member's private keys: the operation, never
//! the secret. A key file implements these in memory ([`InstitutionSecrets`]);
//! a hardware token implements them in the token (the `veilgate-keystore`
//! crate), so one code path serves both and every vector checks both.

use zeroize::Zeroizing;

use super::id::{KemAlg, KeyId, MemberKey};
use super::InstitutionSecrets;
use crate::suite::SuiteId;

/// Why a key could not be used. Never carries key material; a device error
/// names the PKCS#11 function and return value only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyUseError {
    #[error("key {0} is not held here")]
    NotHeld(KeyId),
    #[error("the encapsulated key is not a point of the key's curve")]
    BadPoint,
    #[error("key store: {0}")]
    Device(String),
}

/// A signing key of one member, one key version.
pub trait EnvelopeSigner: Send + Sync {
    fn institution(&self) -> &str;
    fn suite(&self) -> SuiteId;
    /// The key version it signs with (named in envelopes of format 4).
    fn key_id(&self) -> KeyId;
    /// The SM2 distinguishing identifier it signs under (ignored by `standard`).
    fn signer_id(&self) -> &str;
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyUseError>;
}

/// The unwrapping keys of one member: the Diffie-Hellman step of the KEM,
/// `Z = DH(sk, enc)`. The rest of the KEM runs in the core (`suite::hpke`).
pub trait KemDecap: Send + Sync {
    fn institution(&self) -> &str;
    /// The key versions whose unwrapping key it holds (public halves).
    fn keys(&self) -> Vec<MemberKey>;
    /// `Z` for key `key` and the encapsulated key `enc`.
    fn dh(&self, key: &KeyId, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError>;
}

/// `Z = DH(secret, enc)` in memory: X25519 (RFC 7748), or the x-coordinate
/// of the shared point on P-256 or SM2. `None` for a point that is not of
/// the KEM, or an all-zero X25519 output (RFC 9180 §7.1.4).
pub fn software_dh(kem: KemAlg, secret: &[u8], enc: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let secret: [u8; 32] = secret.try_into().ok()?;
    let secret = Zeroizing::new(secret);
    match kem {
        KemAlg::X25519 => {
            let peer: [u8; 32] = enc.try_into().ok()?;
            let z = curve25519_dalek::montgomery::MontgomeryPoint(peer).mul_clamped(*secret);
            let z = Zeroizing::new(z.to_bytes());
            (z.iter().any(|b| *b != 0)).then_some(z)
        }
        KemAlg::P256 => {
            if !kem.is_public_key(enc) {
                return None;
            }
            let peer = p256::PublicKey::from_sec1_bytes(enc).ok()?;
            let sk = p256::SecretKey::from_bytes(&(*secret).into()).ok()?;
            let shared = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), peer.as_affine());
            let x: [u8; 32] = shared.raw_secret_bytes().as_slice().try_into().ok()?;
            Some(Zeroizing::new(x))
        }
        KemAlg::Sm2 => crate::suite::sm::dh(&secret, enc),
    }
}

impl EnvelopeSigner for InstitutionSecrets {
    fn institution(&self) -> &str {
        &self.id
    }
    fn suite(&self) -> SuiteId {
        self.suite
    }
    fn key_id(&self) -> KeyId {
        self.key().id
    }
    fn signer_id(&self) -> &str {
        InstitutionSecrets::signer_id(self)
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyUseError> {
        Ok(self.suite.suite().sign(
            self.sign_secret(),
            InstitutionSecrets::signer_id(self),
            message,
        ))
    }
}

impl KemDecap for InstitutionSecrets {
    fn institution(&self) -> &str {
        &self.id
    }
    fn keys(&self) -> Vec<MemberKey> {
        vec![self.key().clone()]
    }
    fn dh(&self, key: &KeyId, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError> {
        let own = self.key();
        if *key != own.id {
            return Err(KeyUseError::NotHeld(*key));
        }
        software_dh(own.kem, self.kem_secret(), enc).ok_or(KeyUseError::BadPoint)
    }
}
