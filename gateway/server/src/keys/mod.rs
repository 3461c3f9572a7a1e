//! The private keys this gateway holds for its hosted members: in key files
//! (`[keys] backend = "file"`) or in a PKCS#11 token (`"pkcs11"`). Either
//! way a member's keys are a [`Keyring`]: the core signs and unwraps through
//! its [`EnvelopeSigner`] and [`KemDecap`], never seeing a token's secret.

pub mod file;
mod token;

use std::sync::{Arc, RwLock};

use veilgate_core::keys::RecoveredKey;
use veilgate_core::{
    EnvelopeSigner, InstitutionSecrets, KemDecap, KeyId, KeyUseError, MemberKey, SuiteId,
};
use zeroize::Zeroizing;

pub use file::{file_keyring, key_file_path};
pub use token::{token_keyrings, TokenKey, TokenStore};

/// Where a member's private keys are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    File,
    Pkcs11,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Pkcs11 => "pkcs11",
        }
    }
}

/// One key version held: its private halves, in memory or in a token.
#[derive(Clone)]
pub enum HeldKey {
    File(InstitutionSecrets),
    Token(TokenKey),
    /// An unwrapping key recovered from escrow: opens, never signs.
    Recovered(RecoveredKey),
}

impl HeldKey {
    pub fn key(&self) -> &MemberKey {
        match self {
            HeldKey::File(s) => s.key(),
            HeldKey::Token(t) => t.key(),
            HeldKey::Recovered(r) => r.key(),
        }
    }
}

/// A hosted member's keys of one suite: every key version it holds (a
/// rotation adds one while the gateway runs).
pub struct Keyring {
    pub member: String,
    pub suite: SuiteId,
    pub backend: Backend,
    held: RwLock<Vec<HeldKey>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring({}, {}, {}, {} keys)",
            self.member,
            self.suite.name(),
            self.backend.name(),
            self.held().len()
        )
    }
}

impl Keyring {
    pub fn new(member: &str, suite: SuiteId, backend: Backend, held: Vec<HeldKey>) -> Keyring {
        Keyring {
            member: member.to_owned(),
            suite,
            backend,
            held: RwLock::new(held),
        }
    }

    /// The key versions held.
    pub fn held(&self) -> Vec<HeldKey> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Adds a key version (a rotation's new key, once stored).
    pub fn add(&self, key: HeldKey) {
        self.held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(key);
    }

    /// The signer of key version `key`, signing under `distid` (SM2; the
    /// directory's, per ledger). `None`: that key is not held here.
    pub fn signer(&self, key: &KeyId, distid: Option<String>) -> Option<Arc<dyn EnvelopeSigner>> {
        // Under the read lock, cloning only the key found: this runs per seal.
        let held = self
            .held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.iter().filter(|h| h.key().id == *key).find_map(
            |h| -> Option<Arc<dyn EnvelopeSigner>> {
                match h {
                    HeldKey::File(s) => Some(Arc::new(s.clone().with_distid(distid.clone()))),
                    HeldKey::Token(t) => Some(Arc::new(t.clone())),
                    HeldKey::Recovered(_) => None,
                }
            },
        )
    }
}

impl KemDecap for Keyring {
    fn institution(&self) -> &str {
        &self.member
    }

    fn keys(&self) -> Vec<MemberKey> {
        self.held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|h| h.key().clone())
            .collect()
    }

    fn dh(&self, key: &KeyId, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError> {
        let held = self
            .held
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match held.iter().find(|h| h.key().id == *key) {
            Some(HeldKey::File(s)) => s.dh(key, enc),
            Some(HeldKey::Token(t)) => t.dh(enc),
            Some(HeldKey::Recovered(r)) => r.dh(enc),
            None => Err(KeyUseError::NotHeld(*key)),
        }
    }
}
