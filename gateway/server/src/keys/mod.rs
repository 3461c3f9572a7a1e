//! The private keys this gateway holds for its hosted members: in key files
//! (`[keys] backend = "file"`) or in a PKCS#11 token (`"pkcs11"`). Either
//! way a member's keys are a [`Keyring`]: the core signs and unwraps through
//! its [`EnvelopeSigner`] and [`KemDecap`], never seeing a token's secret.

mod file;
mod token;

use std::sync::Arc;

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
}

impl HeldKey {
    pub fn key(&self) -> &MemberKey {
        match self {
            HeldKey::File(s) => s.key(),
            HeldKey::Token(t) => t.key(),
        }
    }
}

/// A hosted member's keys of one suite: every key version it holds.
pub struct Keyring {
    pub member: String,
    pub suite: SuiteId,
    pub backend: Backend,
    held: Vec<HeldKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring({}, {}, {}, {} keys)",
            self.member,
            self.suite.name(),
            self.backend.name(),
            self.held.len()
        )
    }
}

impl Keyring {
    pub fn new(member: &str, suite: SuiteId, backend: Backend, held: Vec<HeldKey>) -> Keyring {
        Keyring {
            member: member.to_owned(),
            suite,
            backend,
            held,
        }
    }

    /// The key versions held.
    pub fn held(&self) -> impl Iterator<Item = &HeldKey> {
        self.held.iter()
    }

    /// The signer of key version `key`, signing under `distid` (SM2; the
    /// directory's, per ledger). `None`: that key is not held here.
    pub fn signer(&self, key: &KeyId, distid: Option<String>) -> Option<Arc<dyn EnvelopeSigner>> {
        self.held
            .iter()
            .find(|h| h.key().id == *key)
            .map(|h| -> Arc<dyn EnvelopeSigner> {
                match h {
                    HeldKey::File(s) => Arc::new(s.clone().with_distid(distid)),
                    HeldKey::Token(t) => Arc::new(t.clone()),
                }
            })
    }
}

impl KemDecap for Keyring {
    fn institution(&self) -> &str {
        &self.member
    }

    fn keys(&self) -> Vec<MemberKey> {
        self.held.iter().map(|h| h.key().clone()).collect()
    }

    fn dh(&self, key: &KeyId, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError> {
        match self.held.iter().find(|h| h.key().id == *key) {
            Some(HeldKey::File(s)) => s.dh(key, enc),
            Some(HeldKey::Token(t)) => t.dh(enc),
            None => Err(KeyUseError::NotHeld(*key)),
        }
    }
}
