//! PKCS#11 tokens, through the `cryptoki` crate: exactly the operations
//! Veilgate needs, on bytes.
//!
//! Ed25519 signing keys and P-256 key-agreement keys are generated inside
//! the token, marked sensitive and never extractable, found by label, and
//! used by handle: [`Token::sign_ed25519`] and [`Token::ecdh_p256`]. What
//! comes out is public keys, signatures and one ECDH shared secret per call
//! (the input to an HPKE key schedule done in software, since SoftHSM 2.6.1
//! has no `CKM_HKDF_DERIVE`).
//!
//! This crate knows nothing of members, key ids or envelopes (the key store
//! composes labels), and must never: read a private key's value, fall back
//! to a key outside the token, put a PIN or secret byte in an error, or
//! create, rename or destroy an object outside its label prefix.
//!
//! Tokens are found by label, never by slot id (slot ids change when tokens
//! are added). Two objects may share a label (PKCS#11 allows it); every
//! lookup here demands exactly one.
#![forbid(unsafe_code)]

mod error;
mod names;
mod point;
mod token;

use std::path::PathBuf;

use cryptoki::mechanism::MechanismType;
use cryptoki::object::ObjectHandle;

pub use error::HsmError;
pub use token::Token;

/// Where the token is: the module to load, the token's label, and the label
/// prefix of every object Veilgate creates there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    /// Path of the PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label (`CK_TOKEN_INFO.label`, blank padding ignored).
    pub token_label: String,
    /// Objects are created, renamed and destroyed only under this prefix
    /// (`veilgate/`); reading and using keys is not restricted, so keys made
    /// with the HSM's own tools can be adopted.
    pub label_prefix: String,
}

/// A private key object in the token: a handle, valid while the [`Token`]
/// that found it is open. Says nothing of what kind of key it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHandle(ObjectHandle);

/// The mechanisms Veilgate uses, for start-up checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mech {
    /// `CKM_EDDSA`: Ed25519 signatures.
    Eddsa,
    /// `CKM_EC_EDWARDS_KEY_PAIR_GEN`: Ed25519 key generation.
    EdwardsKeyGen,
    /// `CKM_EC_KEY_PAIR_GEN`: P-256 key generation.
    EcKeyGen,
    /// `CKM_ECDH1_DERIVE`: P-256 key agreement.
    Ecdh1Derive,
}

impl Mech {
    /// The PKCS#11 name, as in `CKM_EDDSA`.
    pub const fn name(self) -> &'static str {
        match self {
            Mech::Eddsa => "CKM_EDDSA",
            Mech::EdwardsKeyGen => "CKM_EC_EDWARDS_KEY_PAIR_GEN",
            Mech::EcKeyGen => "CKM_EC_KEY_PAIR_GEN",
            Mech::Ecdh1Derive => "CKM_ECDH1_DERIVE",
        }
    }

    fn mechanism_type(self) -> MechanismType {
        match self {
            Mech::Eddsa => MechanismType::EDDSA,
            Mech::EdwardsKeyGen => MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
            Mech::EcKeyGen => MechanismType::ECC_KEY_PAIR_GEN,
            Mech::Ecdh1Derive => MechanismType::ECDH1_DERIVE,
        }
    }
}

impl std::fmt::Display for Mech {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A private key's custody attributes, as the token reports them: what an
/// auditor checks. Keys this crate generates read `sensitive`,
/// `never_extractable`, `always_sensitive` and `local` true, `extractable`
/// false; an imported key reads `local` false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Custody {
    /// `CKA_SENSITIVE`: the value cannot be read in plaintext.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out.
    pub extractable: bool,
    /// `CKA_NEVER_EXTRACTABLE`: it never could be.
    pub never_extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: it always was sensitive.
    pub always_sensitive: bool,
    /// `CKA_LOCAL`: generated inside the token.
    pub local: bool,
}
