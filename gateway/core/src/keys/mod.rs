//! Key material: an institution's secrets, the public directory of a ledger's
//! members, and a ledger's pseudonym key. File formats are JSON with a
//! `version` field (documented in `docs/keys.md`); secrets are hex.

mod custody;
mod id;
mod pseudonyms;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::suite::{RngCoreCrypto, SuiteId};

pub use custody::{software_dh, EnvelopeSigner, KemDecap, KeyUseError};
pub use id::{KemAlg, KeyId, MemberKey, KEY_ID_LEN};
pub use pseudonyms::{
    NewEpoch, PseudonymDirectory, PseudonymEpoch, PseudonymService, PublicShareEntry,
};

/// Version of the secrets file format.
pub const KEY_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("key file: {0}")]
    Format(String),
    #[error("format version {0} is not supported (this build reads secrets files of version {KEY_FORMAT_VERSION} and directories of versions 1 and {DIRECTORY_VERSION})")]
    Version(u32),
}

/// An institution's secrets in memory (a key file): its envelope-signing key
/// and its KEM key for receiving wrapped data keys, one key version.
/// `Debug` is redacted; memory is zeroised on drop.
#[derive(Clone)]
pub struct InstitutionSecrets {
    pub id: String,
    pub suite: SuiteId,
    /// The SM2 distinguishing identifier it signs under (as its directory
    /// entry names it); absent: the default.
    pub distid: Option<String>,
    sign_secret: Zeroizing<[u8; 32]>,
    kem_secret: Zeroizing<Vec<u8>>,
    /// The public halves, computed once.
    key: MemberKey,
}

impl std::fmt::Debug for InstitutionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstitutionSecrets({}, {}, ..)", self.id, self.key.id)
    }
}

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    version: u32,
    id: String,
    suite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distid: Option<String>,
    /// `x25519` (the default on `standard`), `p256`, `sm2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kem: Option<String>,
    sign_secret: String,
    kem_secret: String,
}

impl InstitutionSecrets {
    /// New keys of the suite's default KEM.
    pub fn generate(id: &str, suite: SuiteId, rng: &mut dyn RngCoreCrypto) -> Self {
        Self::generate_with(id, suite, KemAlg::default_for(suite), rng)
    }

    /// New keys with KEM `kem` (one allowed in `suite`).
    pub fn generate_with(
        id: &str,
        suite: SuiteId,
        kem: KemAlg,
        rng: &mut dyn RngCoreCrypto,
    ) -> Self {
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
        let kem_secret = Zeroizing::new(match kem {
            KemAlg::P256 => {
                use ::hpke::{Kem as _, Serializable as _};
                let (sk, _) = ::hpke::kem::DhP256HkdfSha256::derive_keypair(seed.as_ref());
                sk.to_bytes().to_vec()
            }
            _ => suite.suite().kem_keypair(&seed).0,
        });
        Self::assemble(id.to_owned(), suite, None, kem, sign, kem_secret)
            .unwrap_or_else(|_| unreachable_keys(id, suite))
    }

    /// Checks the secrets and computes their public halves.
    fn assemble(
        id: String,
        suite: SuiteId,
        distid: Option<String>,
        kem: KemAlg,
        sign_secret: Zeroizing<[u8; 32]>,
        kem_secret: Zeroizing<Vec<u8>>,
    ) -> Result<Self, KeyError> {
        if !kem.allowed_in(suite) {
            return Err(KeyError::Format(format!(
                "`kem` `{}` is not a KEM of suite `{}`",
                kem.name(),
                suite.name()
            )));
        }
        // A secret that is no key of its suite (an SM2 scalar of 0 or ≥ n)
        // would sign and unwrap nothing: refused here, not at first use.
        let sign_public = suite.suite().sign_public(&sign_secret);
        if sign_public.is_empty() {
            return Err(KeyError::Format(format!(
                "`sign_secret` is not a {} signing key",
                suite.name()
            )));
        }
        let kem_public = kem_public_of(kem, &kem_secret)
            .ok_or_else(|| KeyError::Format(format!("`kem_secret` is not a {} key", kem.name())))?;
        Ok(InstitutionSecrets {
            id,
            suite,
            distid,
            sign_secret,
            kem_secret,
            key: MemberKey::new(suite, kem, sign_public, kem_public, None),
        })
    }

    /// Its one key version (`from_ms` unset).
    pub fn key(&self) -> &MemberKey {
        &self.key
    }

    /// A directory entry for these keys: one key version, from admission.
    pub fn public(&self) -> MemberKeys {
        let mut m = MemberKeys::new(&self.id, self.key.clone());
        m.distid = self.distid.clone();
        m
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
            // The suite's default KEM is left implicit, as version 1 files were written.
            kem: (self.key.kem != KemAlg::default_for(self.suite))
                .then(|| self.key.kem.name().to_owned()),
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
        let kem = match &file.kem {
            None => KemAlg::default_for(suite),
            Some(name) => KemAlg::from_name(name)
                .ok_or_else(|| KeyError::Format(format!("unknown `kem` `{name}`")))?,
        };
        let sign = Zeroizing::new(
            hex::decode(&file.sign_secret)
                .map_err(|_| KeyError::Format("`sign_secret` is not hex".into()))?,
        );
        let sign: [u8; 32] = sign
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Format("`sign_secret` must be 32 bytes".into()))?;
        let kem_secret = Zeroizing::new(
            hex::decode(&file.kem_secret)
                .map_err(|_| KeyError::Format("`kem_secret` is not hex".into()))?,
        );
        if kem_secret.len() != 32 {
            return Err(KeyError::Format("`kem_secret` must be 32 bytes".into()));
        }
        Self::assemble(
            file.id,
            suite,
            file.distid,
            kem,
            Zeroizing::new(sign),
            kem_secret,
        )
    }
}

/// An unwrapping key recovered from escrow (docs/recovery.md): it opens
/// what was wrapped to a lost key version, and signs nothing. Kept in
/// `institutions/<id>/keys/<key id>.recovered.json` (0600).
#[derive(Clone)]
pub struct RecoveredKey {
    pub member: String,
    key: MemberKey,
    kem_secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for RecoveredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveredKey({}, {}, ..)", self.member, self.key.id)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveredFile {
    version: u32,
    kind: String,
    id: String,
    suite: String,
    key_id: String,
    kem: String,
    sign_public: String,
    kem_public: String,
    kem_secret: String,
}

impl RecoveredKey {
    /// `secret` as the unwrapping key of `key` (its public key must match).
    pub fn new(member: &str, key: &MemberKey, secret: &[u8]) -> Result<Self, KeyError> {
        if kem_public_of(key.kem, secret).as_deref() != Some(key.kem_public.as_slice()) {
            return Err(KeyError::Format(format!(
                "the recovered secret is not key {}'s unwrapping key",
                key.id
            )));
        }
        let mut key = key.clone();
        key.frozen_from_ms = None;
        Ok(RecoveredKey {
            member: member.to_owned(),
            key,
            kem_secret: Zeroizing::new(secret.to_vec()),
        })
    }

    pub fn key(&self) -> &MemberKey {
        &self.key
    }

    pub fn dh(&self, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError> {
        software_dh(self.key.kem, &self.kem_secret, enc).ok_or(KeyUseError::BadPoint)
    }

    pub fn to_json(&self) -> String {
        let f = RecoveredFile {
            version: KEY_FORMAT_VERSION,
            kind: "recovered".into(),
            id: self.member.clone(),
            suite: self.key.suite.name().into(),
            key_id: self.key.id.hex(),
            kem: self.key.kem.name().into(),
            sign_public: hex::encode(&self.key.sign_public),
            kem_public: hex::encode(&self.key.kem_public),
            kem_secret: hex::encode(self.kem_secret.as_slice()),
        };
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let f: RecoveredFile =
            serde_json::from_str(text).map_err(|e| KeyError::Format(e.to_string()))?;
        if f.version != KEY_FORMAT_VERSION || f.kind != "recovered" {
            return Err(KeyError::Format(
                "not a recovered key file (version 1, kind `recovered`)".into(),
            ));
        }
        let suite = SuiteId::from_name(&f.suite)
            .ok_or_else(|| KeyError::Format(format!("unknown suite `{}`", f.suite)))?;
        let kem = KemAlg::from_name(&f.kem)
            .filter(|k| k.allowed_in(suite))
            .ok_or_else(|| KeyError::Format(format!("`kem` `{}` is not of the suite", f.kem)))?;
        let hexed = |what: &str, v: &str| {
            hex::decode(v).map_err(|_| KeyError::Format(format!("`{what}` is not hex")))
        };
        let key = MemberKey::new(
            suite,
            kem,
            hexed("sign_public", &f.sign_public)?,
            hexed("kem_public", &f.kem_public)?,
            None,
        );
        if key.id.hex() != f.key_id {
            return Err(KeyError::Format(
                "`key_id` is not the id of these public keys".into(),
            ));
        }
        let secret = Zeroizing::new(hexed("kem_secret", &f.kem_secret)?);
        Self::new(&f.id, &key, &secret)
    }
}

/// Generated keys are valid by construction; should a suite ever disagree,
/// a key that signs nothing is safer than a panic in a gateway.
fn unreachable_keys(id: &str, suite: SuiteId) -> InstitutionSecrets {
    InstitutionSecrets {
        id: id.to_owned(),
        suite,
        distid: None,
        sign_secret: Zeroizing::new([0; 32]),
        kem_secret: Zeroizing::new(vec![0; 32]),
        key: MemberKey::new(
            suite,
            KemAlg::default_for(suite),
            Vec::new(),
            Vec::new(),
            None,
        ),
    }
}

/// The KEM public key of a secret; `None` if the secret is no key of `kem`.
pub(crate) fn kem_public_of(kem: KemAlg, secret: &[u8]) -> Option<Vec<u8>> {
    let bytes: [u8; 32] = secret.try_into().ok()?;
    match kem {
        // RFC 7748 clamping, base point 9.
        KemAlg::X25519 => Some(
            curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(bytes)
                .to_bytes()
                .to_vec(),
        ),
        KemAlg::P256 => {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            let sk = p256::SecretKey::from_bytes(&bytes.into()).ok()?;
            Some(sk.public_key().to_encoded_point(false).as_bytes().to_vec())
        }
        // An SM2 KEM key is a scalar like a signing key: its point.
        KemAlg::Sm2 => {
            let p = crate::suite::Suite::sign_public(&crate::suite::sm::Sm, &bytes);
            (!p.is_empty()).then_some(p)
        }
    }
}

/// One member of a ledger: its key versions, and when it was admitted. A
/// consortium that admits or removes a member keeps its entry with the
/// dates, so envelopes are judged by who was a member *when they were
/// sealed*: a removed member's old envelopes stay valid, and nothing it
/// seals after its removal is. Likewise a rotated key stays listed, so the
/// envelopes it signed keep verifying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberKeys {
    pub id: String,
    /// Key versions, `from_ms` strictly ascending; the first in force from
    /// the member's admission (`from_ms` absent or at most `admitted_ms`).
    pub keys: Vec<MemberKey>,
    /// The member's SM2 distinguishing identifier (GB/T 32918.2 `ID_A`),
    /// part of what its signatures sign on an `sm` ledger; absent: the
    /// standard's default `1234567812345678`. Refused on other ledgers.
    pub distid: Option<String>,
    /// Admitted from this instant (ms since the Unix epoch, inclusive);
    /// absent: from the ledger's beginning.
    pub admitted_ms: Option<u64>,
    /// Removed at this instant (exclusive); absent: still a member.
    pub removed_ms: Option<u64>,
}

impl MemberKeys {
    /// A member with one key, in force from its admission.
    pub fn new(id: &str, key: MemberKey) -> MemberKeys {
        MemberKeys {
            id: id.to_owned(),
            keys: vec![key],
            distid: None,
            admitted_ms: None,
            removed_ms: None,
        }
    }

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

    /// The key version `id`, whenever it was in force.
    pub fn key(&self, id: &KeyId) -> Option<&MemberKey> {
        self.keys.iter().find(|k| k.id == *id)
    }

    /// The key version in force at `time_ms`: the last whose `from_ms` is at
    /// or before it (the first key counts from the beginning).
    pub fn key_at(&self, time_ms: u64) -> Option<&MemberKey> {
        self.keys
            .iter()
            .enumerate()
            .rev()
            .find(|(i, k)| *i == 0 || k.from_ms.is_none_or(|f| f <= time_ms))
            .map(|(_, k)| k)
    }

    /// When key version `id` stops being in force (the next version's start).
    pub fn key_until(&self, id: &KeyId) -> Option<u64> {
        let i = self.keys.iter().position(|k| k.id == *id)?;
        self.keys.get(i + 1).and_then(|k| k.from_ms)
    }

    /// The newest key version.
    pub fn latest(&self) -> Option<&MemberKey> {
        self.keys.last()
    }
}

/// A member as the directory file writes it (version 2: `keys`), or as
/// version 1 wrote it (one `sign_public` and `kem_public`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keys: Vec<KeyFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_public: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kem_public: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    distid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    admitted_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removed_ms: Option<u64>,
}

/// One key version in the directory file.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    /// Optional on input (computed); written always, and checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
    sign_public: String,
    /// `x25519` (the default on `standard`), `p256`, or `sm2` (`sm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kem: Option<String>,
    kem_public: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_ms: Option<u64>,
}

/// Who is admitted to one ledger and which ledger-wide roles they hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerFile", into = "LedgerFile")]
pub struct LedgerDirectory {
    pub ledger: String,
    pub suite: String,
    pub members: Vec<MemberKeys>,
    /// Ledger-wide role → institution ids (`regulator` → `["regulator"]`).
    pub roles: BTreeMap<String, Vec<String>>,
    /// Ledger-wide roles that must see every field of every record on this
    /// ledger: seal refuses, and peers reject, a policy that drops a field
    /// or hides one from them (`require all fields to [...]` on the ledger).
    pub sees_all: Vec<String>,
    /// Sets published on this ledger by Merkle root, by name: the role whose
    /// holders publish each (`docs/sets.md`).
    pub sets: BTreeMap<String, SetRule>,
    /// The pseudonymisation service(s) and key epochs; absent on a ledger
    /// still on member-held HMAC pseudonyms (`docs/pseudonyms.md`).
    pub pseudonyms: Option<PseudonymDirectory>,
}

#[derive(Clone, Serialize, Deserialize)]
struct LedgerFile {
    ledger: String,
    suite: String,
    members: Vec<MemberFile>,
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sees_all: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    sets: BTreeMap<String, SetRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pseudonyms: Option<PseudonymDirectory>,
}

impl TryFrom<LedgerFile> for LedgerDirectory {
    type Error = String;
    fn try_from(f: LedgerFile) -> Result<Self, String> {
        let suite = SuiteId::from_name(&f.suite).ok_or_else(|| {
            format!(
                "ledger `{}`: unknown crypto suite `{}` (known: standard, sm)",
                f.ledger, f.suite
            )
        })?;
        let mut members: Vec<MemberKeys> = Vec::with_capacity(f.members.len());
        for m in f.members {
            let member = member_from_file(&f.ledger, suite, m)?;
            for k in &member.keys {
                // One key is one member's: a key listed twice cannot say whose envelope it signed.
                let clash = members.iter().find(|o| {
                    o.keys.iter().any(|ok| {
                        ok.id == k.id
                            || ok.sign_public == k.sign_public
                            || ok.kem_public == k.kem_public
                    })
                });
                if let Some(o) = clash {
                    return Err(format!(
                        "ledger `{}`, member `{}`: key {} (or its signing or KEM public key) is also `{}`'s",
                        f.ledger, member.id, k.id, o.id
                    ));
                }
            }
            members.push(member);
        }
        if let Some(p) = &f.pseudonyms {
            p.check(&f.ledger, |id| members.iter().any(|m| m.id == id))?;
        }
        Ok(LedgerDirectory {
            ledger: f.ledger,
            suite: f.suite,
            members,
            roles: f.roles,
            sees_all: f.sees_all,
            sets: f.sets,
            pseudonyms: f.pseudonyms,
        })
    }
}

impl From<LedgerDirectory> for LedgerFile {
    fn from(d: LedgerDirectory) -> Self {
        LedgerFile {
            ledger: d.ledger,
            suite: d.suite,
            members: d
                .members
                .into_iter()
                .map(|m| MemberFile {
                    id: m.id,
                    keys: m
                        .keys
                        .iter()
                        .map(|k| KeyFile {
                            key_id: Some(k.id.hex()),
                            sign_public: hex::encode(&k.sign_public),
                            kem: Some(k.kem.name().to_owned()),
                            kem_public: hex::encode(&k.kem_public),
                            from_ms: k.from_ms,
                        })
                        .collect(),
                    sign_public: None,
                    kem_public: None,
                    distid: m.distid,
                    admitted_ms: m.admitted_ms,
                    removed_ms: m.removed_ms,
                })
                .collect(),
            roles: d.roles,
            sees_all: d.sees_all,
            sets: d.sets,
            pseudonyms: d.pseudonyms,
        }
    }
}

/// A member entry, checked: its keys are points of its ledger's suite and
/// KEM, ids match, windows ascend; only an SM ledger's members name a
/// distinguishing identifier (GB/T 32918.2 encodes its bit length in 16
/// bits, so at most 8191 bytes).
fn member_from_file(ledger: &str, suite: SuiteId, m: MemberFile) -> Result<MemberKeys, String> {
    let bad = |what: &str| format!("ledger `{ledger}`, member `{}`: {what}", m.id);
    let files = match (m.keys.is_empty(), &m.sign_public, &m.kem_public) {
        (false, None, None) => m.keys.clone(),
        (true, Some(sign), Some(kem)) => vec![KeyFile {
            key_id: None,
            sign_public: sign.clone(),
            kem: None,
            kem_public: kem.clone(),
            from_ms: None,
        }],
        (false, _, _) => return Err(bad(
            "`keys` lists the key versions; `sign_public` and `kem_public` beside it are refused",
        )),
        _ => {
            return Err(bad(
                "needs `keys` (or, as in version 1, `sign_public` and `kem_public`)",
            ))
        }
    };
    let mut keys: Vec<MemberKey> = Vec::with_capacity(files.len());
    for (i, f) in files.into_iter().enumerate() {
        let key = key_from_file(suite, f).map_err(|why| bad(&format!("key {}: {why}", i + 1)))?;
        if let Some(prev) = keys.last() {
            match (prev.from_ms, key.from_ms) {
                (_, None) => return Err(bad(&format!("key {} needs `from_ms`", i + 1))),
                (Some(a), Some(b)) if b <= a => {
                    return Err(bad(&format!(
                        "key {}: `from_ms` must be after the previous key's ({a})",
                        i + 1
                    )))
                }
                _ => {}
            }
        }
        if keys.iter().any(|k| {
            k.id == key.id || k.sign_public == key.sign_public || k.kem_public == key.kem_public
        }) {
            return Err(bad(&format!(
                "key {}: a key (or its signing or KEM public key) is listed twice",
                i + 1
            )));
        }
        keys.push(key);
    }
    match (&m.distid, suite) {
        (Some(_), SuiteId::Standard) => {
            return Err(bad(
                "`distid` is an SM2 distinguishing identifier; this ledger's suite is `standard`",
            ))
        }
        (Some(id), _) if id.is_empty() || id.len() > 8191 => {
            return Err(bad("`distid` must be 1 to 8191 bytes"))
        }
        _ => {}
    }
    if let (Some(a), Some(r)) = (m.admitted_ms, m.removed_ms) {
        if r <= a {
            return Err(bad("removed_ms must be after admitted_ms"));
        }
    }
    Ok(MemberKeys {
        id: m.id,
        keys,
        distid: m.distid,
        admitted_ms: m.admitted_ms,
        removed_ms: m.removed_ms,
    })
}

fn key_from_file(suite: SuiteId, f: KeyFile) -> Result<MemberKey, String> {
    let kem = match &f.kem {
        None => KemAlg::default_for(suite),
        Some(name) => KemAlg::from_name(name)
            .filter(|k| k.allowed_in(suite))
            .ok_or_else(|| {
                format!(
                    "`kem` `{name}` is not a KEM of suite `{}` (known: {})",
                    suite.name(),
                    if suite == SuiteId::Sm {
                        "sm2"
                    } else {
                        "x25519, p256"
                    }
                )
            })?,
    };
    let sign_len = if suite == SuiteId::Sm { 65 } else { 32 };
    let sign = hex::decode(&f.sign_public)
        .ok()
        .filter(|k| k.len() == sign_len)
        .ok_or_else(|| {
            format!(
                "`sign_public` must be {sign_len} bytes of hex for suite `{}`",
                suite.name()
            )
        })?;
    if suite == SuiteId::Sm && !crate::suite::sm::is_point(&sign) {
        return Err("`sign_public` is not an uncompressed point on the SM2 curve".into());
    }
    let kem_public = hex::decode(&f.kem_public)
        .ok()
        .filter(|k| kem.is_public_key(k))
        .ok_or_else(|| {
            format!(
                "`kem_public` must be a {} public key ({} bytes of hex{})",
                kem.name(),
                kem.public_len(),
                if kem == KemAlg::X25519 {
                    ""
                } else {
                    ", an uncompressed point on the curve"
                }
            )
        })?;
    let key = MemberKey::new(suite, kem, sign, kem_public, f.from_ms);
    if let Some(given) = &f.key_id {
        if KeyId::from_hex(given) != Some(key.id) {
            return Err(format!(
                "`key_id` {given} is not the id of these keys ({})",
                key.id
            ));
        }
    }
    Ok(key)
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

/// The directory format this build writes; it reads 1 and 2.
pub const DIRECTORY_VERSION: u32 = 2;

/// The consortium directory file: every ledger's members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub version: u32,
    pub ledgers: Vec<LedgerDirectory>,
    /// The consortium's recovery custodians and threshold (docs/recovery.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<crate::recovery::RecoveryPolicy>,
}

impl Directory {
    pub fn new(ledgers: Vec<LedgerDirectory>) -> Directory {
        Directory {
            version: DIRECTORY_VERSION,
            ledgers,
            recovery: None,
        }
    }

    pub fn ledger(&self, id: &str) -> Option<&LedgerDirectory> {
        self.ledgers.iter().find(|l| l.ledger == id)
    }

    /// Reads versions 1 and 2; the result is version 2 (what it writes back).
    pub fn from_json(text: &str) -> Result<Self, KeyError> {
        let mut d: Directory =
            serde_json::from_str(text).map_err(|e| KeyError::Format(e.to_string()))?;
        if !(1..=DIRECTORY_VERSION).contains(&d.version) {
            return Err(KeyError::Version(d.version));
        }
        if let Some(r) = &d.recovery {
            r.check().map_err(KeyError::Format)?;
        }
        d.version = DIRECTORY_VERSION;
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

    pub fn from_bytes(key: [u8; 32]) -> Self {
        PseudonymKey(Zeroizing::new(key))
    }
}
