//! Key material: an institution's secrets, the public directory of a ledger's
//! members, and a ledger's pseudonym key. File formats are JSON with a
//! `version` field (documented in `docs/keys.md`); secrets are hex.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::suite::{RngCoreCrypto, SuiteId};

/// Current version of the key file formats.
pub const KEY_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("key file: {0}")]
    Format(String),
    #[error(
        "key file version {0} is not supported (this build reads version {KEY_FORMAT_VERSION})"
    )]
    Version(u32),
}

/// An institution's secrets: its envelope-signing key and its KEM key for
/// receiving wrapped data keys. `Debug` is redacted; memory is zeroised on drop.
#[derive(Clone)]
pub struct InstitutionSecrets {
    pub id: String,
    pub suite: SuiteId,
    sign_secret: Zeroizing<[u8; 32]>,
    kem_secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for InstitutionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstitutionSecrets({}, ..)", self.id)
    }
}

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    version: u32,
    id: String,
    suite: String,
    sign_secret: String,
    kem_secret: String,
}

impl InstitutionSecrets {
    pub fn generate(id: &str, suite: SuiteId, rng: &mut dyn RngCoreCrypto) -> Self {
        let mut sign = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(sign.as_mut());
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let (kem_secret, _) = suite.suite().kem_keypair(&seed);
        InstitutionSecrets {
            id: id.to_owned(),
            suite,
            sign_secret: sign,
            kem_secret: Zeroizing::new(kem_secret),
        }
    }

    pub fn public(&self) -> MemberKeys {
        let s = self.suite.suite();
        // Recomputing the KEM public key from the secret: derive from the stored
        // secret by X25519 base-point multiplication via the suite's KEM.
        MemberKeys {
            id: self.id.clone(),
            sign_public: hex::encode(s.sign_public(&self.sign_secret)),
            kem_public: hex::encode(kem_public_of(self.suite, &self.kem_secret)),
        }
    }

    pub(crate) fn sign_secret(&self) -> &[u8; 32] {
        &self.sign_secret
    }

    pub(crate) fn kem_secret(&self) -> &[u8] {
        &self.kem_secret
    }

    pub fn to_json(&self) -> String {
        let file = SecretsFile {
            version: KEY_FORMAT_VERSION,
            id: self.id.clone(),
            suite: self.suite.name().to_owned(),
            sign_secret: hex::encode(self.sign_secret.as_ref()),
            kem_secret: hex::encode(self.kem_secret.as_slice()),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let file: SecretsFile =
            serde_json::from_str(text).map_err(|e| KeyError::Format(e.to_string()))?;
        if file.version != KEY_FORMAT_VERSION {
            return Err(KeyError::Version(file.version));
        }
        let suite = SuiteId::from_name(&file.suite)
            .ok_or_else(|| KeyError::Format(format!("unknown suite `{}`", file.suite)))?;
        let sign = Zeroizing::new(
            hex::decode(&file.sign_secret)
                .map_err(|_| KeyError::Format("`sign_secret` is not hex".into()))?,
        );
        let sign: [u8; 32] = sign
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Format("`sign_secret` must be 32 bytes".into()))?;
        let kem = Zeroizing::new(
            hex::decode(&file.kem_secret)
                .map_err(|_| KeyError::Format("`kem_secret` is not hex".into()))?,
        );
        if kem.len() != suite.suite().kem_key_len() {
            return Err(KeyError::Format("`kem_secret` has the wrong length".into()));
        }
        Ok(InstitutionSecrets {
            id: file.id,
            suite,
            sign_secret: Zeroizing::new(sign),
            kem_secret: kem,
        })
    }
}

fn kem_public_of(suite: SuiteId, secret: &[u8]) -> Vec<u8> {
    match suite {
        SuiteId::Standard => {
            let bytes: [u8; 32] = secret.try_into().unwrap_or([0; 32]);
            x25519_public(&bytes).to_vec()
        }
    }
}

/// X25519 public key of a secret scalar (RFC 7748 clamping, base point 9).
fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// One member's public keys, hex-encoded in the directory file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKeys {
    pub id: String,
    pub sign_public: String,
    pub kem_public: String,
}

impl MemberKeys {
    pub fn sign_public_bytes(&self) -> Option<Vec<u8>> {
        hex::decode(&self.sign_public).ok()
    }
    pub fn kem_public_bytes(&self) -> Option<Vec<u8>> {
        hex::decode(&self.kem_public).ok()
    }
}

/// Who is admitted to one ledger and which ledger-wide roles they hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerDirectory {
    pub ledger: String,
    pub suite: String,
    pub members: Vec<MemberKeys>,
    /// Ledger-wide role → institution ids (`regulator` → `["regulator"]`).
    pub roles: BTreeMap<String, Vec<String>>,
}

impl LedgerDirectory {
    pub fn member(&self, id: &str) -> Option<&MemberKeys> {
        self.members.iter().find(|m| m.id == id)
    }
}

/// The consortium directory file: every ledger's members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub version: u32,
    pub ledgers: Vec<LedgerDirectory>,
}

impl Directory {
    pub fn ledger(&self, id: &str) -> Option<&LedgerDirectory> {
        self.ledgers.iter().find(|l| l.ledger == id)
    }

    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let d: Directory =
            serde_json::from_str(text).map_err(|e| KeyError::Format(e.to_string()))?;
        if d.version != KEY_FORMAT_VERSION {
            return Err(KeyError::Version(d.version));
        }
        Ok(d)
    }
}

/// A ledger's pseudonym key: shared by that ledger's gateways, never by peers
/// of other ledgers, so pseudonyms link inside one ledger and not across.
#[derive(Clone)]
pub struct PseudonymKey(pub Zeroizing<[u8; 32]>);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(..)")
    }
}

impl PseudonymKey {
    pub fn generate(rng: &mut dyn RngCoreCrypto) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(k.as_mut());
        PseudonymKey(k)
    }
}
