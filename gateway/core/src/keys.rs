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
    /// The SM2 distinguishing identifier it signs under (as its directory
    /// entry names it); absent: the default.
    pub distid: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distid: Option<String>,
    sign_secret: String,
    kem_secret: String,
}

impl InstitutionSecrets {
    pub fn generate(id: &str, suite: SuiteId, rng: &mut dyn RngCoreCrypto) -> Self {
        let mut sign = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(sign.as_mut());
        if suite == SuiteId::Sm {
            // An SM2 secret must be a scalar in [1, n−1]: derived from the
            // random bytes as a KEM secret is (docs/suite-sm.md).
            let (secret, _) = suite.suite().kem_keypair(&sign);
            let secret: [u8; 32] = secret.as_slice().try_into().unwrap_or([0; 32]);
            sign = Zeroizing::new(secret);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let (kem_secret, _) = suite.suite().kem_keypair(&seed);
        InstitutionSecrets {
            id: id.to_owned(),
            suite,
            distid: None,
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
            distid: self.distid.clone(),
            admitted_ms: None,
            removed_ms: None,
        }
    }

    /// These keys under distinguishing identifier `distid` (SM2).
    pub fn with_distid(mut self, distid: Option<String>) -> Self {
        self.distid = distid;
        self
    }

    /// The identifier its signatures are made under.
    pub fn signer_id(&self) -> &str {
        self.distid
            .as_deref()
            .unwrap_or(crate::suite::sm::DEFAULT_DISTID)
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
            distid: self.distid.clone(),
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
        if kem.len() != suite.suite().kem_secret_len() {
            return Err(KeyError::Format("`kem_secret` has the wrong length".into()));
        }
        // A secret that is no key of its suite (an SM2 scalar of 0 or ≥ n)
        // would sign and unwrap nothing: refused here, not at first use.
        if suite.suite().sign_public(&sign).is_empty() {
            return Err(KeyError::Format(format!(
                "`sign_secret` is not a {} signing key",
                suite.name()
            )));
        }
        if kem_public_of(suite, &kem).is_empty() {
            return Err(KeyError::Format(format!(
                "`kem_secret` is not a {} key",
                suite.name()
            )));
        }
        Ok(InstitutionSecrets {
            id: file.id,
            suite,
            distid: file.distid,
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
        // An SM2 KEM key is a scalar like a signing key: its point.
        SuiteId::Sm => {
            let bytes: [u8; 32] = secret.try_into().unwrap_or([0; 32]);
            crate::suite::Suite::sign_public(&crate::suite::sm::Sm, &bytes)
        }
    }
}

/// X25519 public key of a secret scalar (RFC 7748 clamping, base point 9).
fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// One member's public keys, hex-encoded in the directory file, and when it
/// was admitted to the ledger. A consortium that admits or removes a member
/// keeps its entry with the dates, so envelopes are judged by who was a
/// member *when they were sealed*: a removed member's old envelopes stay
/// valid, and nothing it seals after its removal is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKeys {
    pub id: String,
    pub sign_public: String,
    pub kem_public: String,
    /// The member's SM2 distinguishing identifier (GB/T 32918.2 `ID_A`),
    /// part of what its signatures sign on an `sm` ledger; absent: the
    /// standard's default `1234567812345678`. Refused on other ledgers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distid: Option<String>,
    /// Admitted from this instant (ms since the Unix epoch, inclusive);
    /// absent: from the ledger's beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admitted_ms: Option<u64>,
    /// Removed at this instant (exclusive); absent: still a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_ms: Option<u64>,
}

impl MemberKeys {
    /// Whether the member was admitted at `time_ms`.
    pub fn admitted_at(&self, time_ms: u64) -> bool {
        self.admitted_ms.is_none_or(|a| a <= time_ms) && self.removed_ms.is_none_or(|r| time_ms < r)
    }

    /// The identifier its signatures are made under (see [`MemberKeys::distid`]).
    pub fn signer_id(&self) -> &str {
        self.distid
            .as_deref()
            .unwrap_or(crate::suite::sm::DEFAULT_DISTID)
    }

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
    /// Ledger-wide roles that must see every field of every record on this
    /// ledger: seal refuses, and peers reject, a policy that drops a field
    /// or hides one from them (`require all fields to [...]` on the ledger).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sees_all: Vec<String>,
    /// Sets published on this ledger by Merkle root, by name: the role whose
    /// holders publish each (`docs/sets.md`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sets: BTreeMap<String, SetRule>,
}

/// Who publishes one set's roots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRule {
    /// A ledger role (in `roles`); its holders sign the set's root entries.
    pub publisher: String,
}

impl LedgerDirectory {
    /// The member `id`, admitted or not at any given time.
    pub fn member(&self, id: &str) -> Option<&MemberKeys> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The first role this ledger requires to see every field that `plan`
    /// withholds from it, with the field.
    pub fn withheld<'p>(&self, plan: &'p veilgate_policies::Plan) -> Option<(&str, &'p str)> {
        self.sees_all.iter().find_map(|role| {
            plan.withheld_from(&veilgate_policies::Role::Ledger(role.clone()))
                .map(|f| (role.as_str(), f.name.as_str()))
        })
    }

    /// The member `id` if it was admitted at `time_ms`.
    pub fn member_at(&self, id: &str, time_ms: u64) -> Option<&MemberKeys> {
        self.member(id).filter(|m| m.admitted_at(time_ms))
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
        for l in &d.ledgers {
            let suite = SuiteId::from_name(&l.suite).ok_or_else(|| {
                KeyError::Format(format!(
                    "ledger `{}`: unknown crypto suite `{}` (known: standard, sm)",
                    l.ledger, l.suite
                ))
            })?;
            for m in &l.members {
                check_member_keys(&l.ledger, suite, m)?;
                if let (Some(a), Some(r)) = (m.admitted_ms, m.removed_ms) {
                    if r <= a {
                        return Err(KeyError::Format(format!(
                            "ledger `{}`, member `{}`: removed_ms must be after admitted_ms",
                            l.ledger, m.id
                        )));
                    }
                }
            }
        }
        Ok(d)
    }
}

/// A member's public keys are points of its ledger's suite, and only an
/// SM ledger's members name a distinguishing identifier (GB/T 32918.2
/// encodes its bit length in 16 bits, so at most 8191 bytes).
fn check_member_keys(ledger: &str, suite: SuiteId, m: &MemberKeys) -> Result<(), KeyError> {
    let bad =
        |what: &str| KeyError::Format(format!("ledger `{ledger}`, member `{}`: {what}", m.id));
    let s = suite.suite();
    let sign_len = if suite == SuiteId::Sm {
        s.kem_key_len()
    } else {
        32
    };
    if m.sign_public_bytes().map(|k| k.len()) != Some(sign_len) {
        return Err(bad(&format!(
            "`sign_public` must be {sign_len} bytes of hex for suite `{}`",
            suite.name()
        )));
    }
    if m.kem_public_bytes().map(|k| k.len()) != Some(s.kem_key_len()) {
        return Err(bad(&format!(
            "`kem_public` must be {} bytes of hex for suite `{}`",
            s.kem_key_len(),
            suite.name()
        )));
    }
    if suite == SuiteId::Sm {
        for (name, key) in [
            ("sign_public", &m.sign_public),
            ("kem_public", &m.kem_public),
        ] {
            if !hex::decode(key).is_ok_and(|k| crate::suite::sm::is_point(&k)) {
                return Err(bad(&format!(
                    "`{name}` is not an uncompressed point on the SM2 curve"
                )));
            }
        }
    }
    match (&m.distid, suite) {
        (Some(_), SuiteId::Standard) => Err(bad(
            "`distid` is an SM2 distinguishing identifier; this ledger's suite is `standard`",
        )),
        (Some(id), _) if id.is_empty() || id.len() > 8191 => {
            Err(bad("`distid` must be 1 to 8191 bytes"))
        }
        _ => Ok(()),
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

    pub fn from_bytes(key: [u8; 32]) -> Self {
        PseudonymKey(Zeroizing::new(key))
    }
}
