//! Key versions: a member's key id, the KEM its unwrapping key is for, and
//! one published key version (signing and KEM public keys together, rotated
//! and frozen together). The id is what envelopes name (format 4) and what a
//! token labels its objects by.

use veilgate_circuits::domain;

use crate::suite::SuiteId;

pub const KEY_ID_LEN: usize = 16;

/// The id of one key version of a member: the first 16 bytes of
/// `H_suite(MEMBER_KEY_ID ‖ u8 suite ‖ u8 kem ‖ u16 len ‖ sign_public ‖ u16 len ‖ kem_public)`.
/// It leaves the member id out, so one key listed for two members is seen.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    pub fn of(suite: SuiteId, kem: KemAlg, sign_public: &[u8], kem_public: &[u8]) -> KeyId {
        let mut m = domain::MEMBER_KEY_ID.to_vec();
        m.push(suite as u8);
        m.push(kem as u8);
        for part in [sign_public, kem_public] {
            m.extend_from_slice(&(part.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
            m.extend_from_slice(part);
        }
        let h = suite.suite().hash(&m);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(h.get(..KEY_ID_LEN).unwrap_or(&[0; KEY_ID_LEN]));
        KeyId(id)
    }

    /// 32 lowercase hex digits.
    pub fn from_hex(s: &str) -> Option<KeyId> {
        let bytes = hex::decode(s).ok()?;
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        Some(KeyId(bytes.try_into().ok()?))
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({})", self.hex())
    }
}

/// The key encapsulation a data key is wrapped with; its byte is the one
/// envelope format 4 carries per recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KemAlg {
    /// HPKE DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (`standard`).
    X25519 = 1,
    /// HPKE DHKEM(P-256, HKDF-SHA256), KEM id 0x0010 (`standard`): the
    /// unwrapping key a PKCS#11 token can hold with standard mechanisms.
    P256 = 2,
    /// SM2 ECDH + SM3-KDF + SM4-GCM (`sm`, docs/suite-sm.md).
    Sm2 = 3,
}

impl KemAlg {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(KemAlg::X25519),
            2 => Some(KemAlg::P256),
            3 => Some(KemAlg::Sm2),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "x25519" => Some(KemAlg::X25519),
            "p256" => Some(KemAlg::P256),
            "sm2" => Some(KemAlg::Sm2),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KemAlg::X25519 => "x25519",
            KemAlg::P256 => "p256",
            KemAlg::Sm2 => "sm2",
        }
    }

    /// Length of a public key and of an encapsulated key: X25519 32 bytes,
    /// the elliptic curves an uncompressed SEC1 point of 65.
    pub fn public_len(self) -> usize {
        match self {
            KemAlg::X25519 => 32,
            KemAlg::P256 | KemAlg::Sm2 => 65,
        }
    }

    /// The KEM a suite's keys are made with when nothing else is said.
    pub fn default_for(suite: SuiteId) -> KemAlg {
        match suite {
            SuiteId::Standard => KemAlg::X25519,
            SuiteId::Sm => KemAlg::Sm2,
        }
    }

    pub fn allowed_in(self, suite: SuiteId) -> bool {
        match suite {
            SuiteId::Standard => matches!(self, KemAlg::X25519 | KemAlg::P256),
            SuiteId::Sm => self == KemAlg::Sm2,
        }
    }

    /// Whether `bytes` is a public (or encapsulated) key of this KEM: the
    /// right length, and for the elliptic curves a point on the curve.
    pub fn is_public_key(self, bytes: &[u8]) -> bool {
        match self {
            KemAlg::X25519 => bytes.len() == 32,
            KemAlg::P256 => {
                bytes.len() == 65
                    && bytes.first() == Some(&4)
                    && p256::PublicKey::from_sec1_bytes(bytes).is_ok()
            }
            KemAlg::Sm2 => crate::suite::sm::is_point(bytes),
        }
    }
}

/// One key version of a member, as the directory publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberKey {
    pub id: KeyId,
    pub suite: SuiteId,
    pub kem: KemAlg,
    pub sign_public: Vec<u8>,
    pub kem_public: Vec<u8>,
    /// In force from this instant (ms, inclusive) until the next version's
    /// `from_ms`; `None` on a member's first key: from its admission.
    pub from_ms: Option<u64>,
    /// Reported lost or compromised from this instant (a key event on the
    /// ledger, never the directory file): nothing it signs at or after it
    /// is valid, and nothing new is wrapped to it.
    pub frozen_from_ms: Option<u64>,
}

impl MemberKey {
    pub fn new(
        suite: SuiteId,
        kem: KemAlg,
        sign_public: Vec<u8>,
        kem_public: Vec<u8>,
        from_ms: Option<u64>,
    ) -> MemberKey {
        MemberKey {
            id: KeyId::of(suite, kem, &sign_public, &kem_public),
            suite,
            kem,
            sign_public,
            kem_public,
            from_ms,
            frozen_from_ms: None,
        }
    }

    /// Whether it is frozen at `time_ms`.
    pub fn frozen_at(&self, time_ms: u64) -> bool {
        self.frozen_from_ms.is_some_and(|f| f <= time_ms)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Known answer: the id of fixed keys, so other implementations can check theirs.
    #[test]
    fn key_id_known_answer() {
        let id = KeyId::of(SuiteId::Standard, KemAlg::X25519, &[1; 32], &[2; 32]);
        assert_eq!(id.hex(), "d26aecf5425d426e522f11e94858fc35");
        let other = KeyId::of(SuiteId::Standard, KemAlg::P256, &[1; 32], &[2; 32]);
        assert_ne!(id, other, "the KEM is part of the id");
        assert_eq!(KeyId::from_hex(&id.hex()), Some(id));
        assert_eq!(KeyId::from_hex(&id.hex().to_uppercase()), None);
        assert_eq!(KeyId::from_hex("00"), None);
    }

    #[test]
    fn kem_bytes_and_names_round_trip() {
        for k in [KemAlg::X25519, KemAlg::P256, KemAlg::Sm2] {
            assert_eq!(KemAlg::from_byte(k as u8), Some(k));
            assert_eq!(KemAlg::from_name(k.name()), Some(k));
        }
        assert_eq!(KemAlg::from_byte(0), None);
        assert!(!KemAlg::Sm2.allowed_in(SuiteId::Standard));
        assert!(!KemAlg::P256.allowed_in(SuiteId::Sm));
    }
}
