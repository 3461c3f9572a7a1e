//! Key events on the ledger (`VGKE`, docs/formats/key-event.md): a member
//! announces a new key version (a rotation), or reports a key lost or
//! compromised (a freeze). They are ledger entries, so every peer applies
//! them from the same position; the [`KeyBook`] is what a party admitted,
//! in ledger order, and [`KeyBook::apply`] lays it over the directory that
//! seal and verify read.

use veilgate_codec::{Reader, Writer};

use crate::keys::{KemAlg, KeyId, LedgerDirectory, MemberKey, KEY_ID_LEN};
use crate::suite::SuiteId;

pub const KEY_EVENT_MAGIC: &[u8; 4] = b"VGKE";
pub const KEY_EVENT_FORMAT: u8 = 1;
const SIGNATURE_DOMAIN: &[u8] = b"veilgate/key-event/v1";
const POSSESSION_DOMAIN: &[u8] = b"veilgate/key-possession/v1";
const ID_DOMAIN: &[u8] = b"veilgate/key-event-id/v1";
/// How far an event's signed time may be ahead of the time it takes effect
/// at, or a freeze's start ahead of its signed time (clock skew).
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;
/// Longest lead of a rotation: a new key takes force at most this long
/// after it is announced.
pub const MAX_ROTATION_LEAD_MS: u64 = 60 * 60 * 1000;
/// The ledger role whose holders may report a member's key lost, or
/// announce its new key, for a member that can no longer sign.
pub const KEY_AUTHORITY_ROLE: &str = "key_authority";

/// Why a key was frozen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreezeReason {
    Lost = 1,
    Compromised = 2,
}

impl FreezeReason {
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "lost" => Some(FreezeReason::Lost),
            "compromised" => Some(FreezeReason::Compromised),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            FreezeReason::Lost => "lost",
            FreezeReason::Compromised => "compromised",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// A new key version of the member, in force from `time_ms`, with a
    /// signature by its own signing key (proof of possession).
    Announce {
        kem: KemAlg,
        sign_public: Vec<u8>,
        kem_public: Vec<u8>,
        possession: Vec<u8>,
    },
    /// The key is lost or compromised as of `time_ms`.
    Freeze { reason: FreezeReason },
}

/// One key event entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub suite: SuiteId,
    pub ledger: String,
    pub member: String,
    pub key: KeyId,
    /// Announce: the new key's `from_ms`; freeze: the frozen-from time.
    pub time_ms: u64,
    pub change: KeyChange,
    /// The member itself, or a holder of `key_authority`.
    pub signer: String,
    pub signed_ms: u64,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyEventError {
    #[error("malformed key event: {0}")]
    Malformed(String),
    #[error("key event for ledger `{found}` (suite {suite}) on ledger `{expected}`")]
    WrongLedger {
        expected: String,
        found: String,
        suite: &'static str,
    },
    #[error("`{0}` is not a member of the ledger")]
    UnknownMember(String),
    #[error("`{signer}` may not sign key events of `{member}`: only the member or a holder of `key_authority`")]
    NotKeyAuthority { signer: String, member: String },
    #[error(
        "the key event's signature does not verify under `{0}`'s key in force at its signed time"
    )]
    BadSignature(String),
    #[error("`{member}` has no key {key}")]
    UnknownKey { member: String, key: String },
    #[error("key {key} (or its signing or KEM public key) is already listed on this ledger; a rotation needs a new key")]
    KeyReused { key: String },
    #[error("the announced key's id is not the id of its public keys, or its possession proof does not verify")]
    Possession,
    #[error("{0}")]
    Time(String),
    #[error("key {key} of `{member}` is already frozen")]
    AlreadyFrozen { member: String, key: String },
}

impl KeyEventError {
    pub fn code(&self) -> &'static str {
        match self {
            KeyEventError::Malformed(_) => "malformed",
            KeyEventError::WrongLedger { .. } => "wrong_ledger",
            KeyEventError::UnknownMember(_) => "unknown_member",
            KeyEventError::NotKeyAuthority { .. } => "not_key_authority",
            KeyEventError::BadSignature(_) => "bad_signature",
            KeyEventError::UnknownKey { .. } => "unknown_member_key",
            KeyEventError::KeyReused { .. } => "key_reused",
            KeyEventError::Possession => "key_possession",
            KeyEventError::Time(_) => "key_event_time",
            KeyEventError::AlreadyFrozen { .. } => "already_frozen",
        }
    }
}

impl KeyEvent {
    fn kind(&self) -> u8 {
        match self.change {
            KeyChange::Announce { .. } => 1,
            KeyChange::Freeze { .. } => 2,
        }
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(256);
        w.put(KEY_EVENT_MAGIC);
        w.put_u8(KEY_EVENT_FORMAT);
        w.put_u8(self.suite as u8);
        w.put_u8(self.kind());
        w.put_str_u16(&self.ledger);
        w.put_str_u16(&self.member);
        w.put(&self.key.0);
        w.put_u64(self.time_ms);
        match &self.change {
            KeyChange::Announce {
                kem,
                sign_public,
                kem_public,
                possession,
            } => {
                w.put_u8(*kem as u8);
                w.put_bytes_u16(sign_public);
                w.put_bytes_u16(kem_public);
                w.put_bytes_u16(possession);
            }
            KeyChange::Freeze { reason } => w.put_u8(*reason as u8),
        }
        w.put_str_u16(&self.signer);
        w.put_u64(self.signed_ms);
        w
    }

    /// What the signer signs: `"veilgate/key-event/v1" ‖ every byte before the signature`.
    pub fn signature_input(&self) -> Vec<u8> {
        let mut m = SIGNATURE_DOMAIN.to_vec();
        m.extend_from_slice(&self.signed_bytes());
        m
    }

    /// What a new key signs to prove it is held: `"veilgate/key-possession/v1"
    /// ‖ lp(ledger) ‖ lp(member) ‖ key id`.
    pub fn possession_input(ledger: &str, member: &str, key: &KeyId) -> Vec<u8> {
        let mut m = POSSESSION_DOMAIN.to_vec();
        m.put_str_u16(ledger);
        m.put_str_u16(member);
        m.put(&key.0);
        m
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.put_bytes_u16(&self.signature);
        w
    }

    /// Strict decoder: one entry, nothing after it.
    pub fn decode(bytes: &[u8]) -> Result<KeyEvent, KeyEventError> {
        let bad = |e: veilgate_codec::CodecError| KeyEventError::Malformed(e.to_string());
        let mut r = Reader::new(bytes);
        if r.take("magic", 4).map_err(bad)? != KEY_EVENT_MAGIC {
            return Err(KeyEventError::Malformed("not a key event (magic)".into()));
        }
        let format = r.u8("format").map_err(bad)?;
        if format != KEY_EVENT_FORMAT {
            return Err(KeyEventError::Malformed(format!(
                "format {format} is not supported"
            )));
        }
        let suite_byte = r.u8("suite").map_err(bad)?;
        let suite = SuiteId::from_byte(suite_byte)
            .ok_or_else(|| KeyEventError::Malformed(format!("unknown suite {suite_byte}")))?;
        let kind = r.u8("kind").map_err(bad)?;
        let text = |r: &mut Reader<'_>, what| -> Result<String, KeyEventError> {
            Ok(r.str_u16(what).map_err(bad)?.to_owned())
        };
        let ledger = text(&mut r, "ledger")?;
        let member = text(&mut r, "member")?;
        let key = KeyId(r.array::<KEY_ID_LEN>("key id").map_err(bad)?);
        let time_ms = r.u64("time").map_err(bad)?;
        let change = match kind {
            1 => {
                let kem_byte = r.u8("kem").map_err(bad)?;
                let kem = KemAlg::from_byte(kem_byte)
                    .filter(|k| k.allowed_in(suite))
                    .ok_or_else(|| {
                        KeyEventError::Malformed(format!("KEM {kem_byte} is not of the suite"))
                    })?;
                KeyChange::Announce {
                    kem,
                    sign_public: r.bytes_u16("sign public").map_err(bad)?.to_vec(),
                    kem_public: r.bytes_u16("kem public").map_err(bad)?.to_vec(),
                    possession: r.bytes_u16("possession").map_err(bad)?.to_vec(),
                }
            }
            2 => {
                let reason = match r.u8("reason").map_err(bad)? {
                    1 => FreezeReason::Lost,
                    2 => FreezeReason::Compromised,
                    other => {
                        return Err(KeyEventError::Malformed(format!(
                            "freeze reason {other} is not 1 or 2"
                        )))
                    }
                };
                KeyChange::Freeze { reason }
            }
            other => {
                return Err(KeyEventError::Malformed(format!(
                    "kind {other} is not 1 (announce) or 2 (freeze)"
                )))
            }
        };
        let event = KeyEvent {
            suite,
            ledger,
            member,
            key,
            time_ms,
            change,
            signer: text(&mut r, "signer")?,
            signed_ms: r.u64("signed time").map_err(bad)?,
            signature: r.bytes_u16("signature").map_err(bad)?.to_vec(),
        };
        r.finish().map_err(bad)?;
        Ok(event)
    }

    /// The ledger entry id: `H_suite("veilgate/key-event-id/v1" ‖ lp(ledger)
    /// ‖ u8 kind ‖ lp(member) ‖ key id)[0..16]`: one announce and one freeze
    /// per key and ledger, so a key cannot be unfrozen or announced twice.
    pub fn id(&self) -> [u8; 16] {
        let mut m = ID_DOMAIN.to_vec();
        m.put_str_u16(&self.ledger);
        m.put_u8(self.kind());
        m.put_str_u16(&self.member);
        m.put(&self.key.0);
        let h = self.suite.suite().hash(&m);
        let mut id = [0u8; 16];
        id.copy_from_slice(h.get(..16).unwrap_or(&[0; 16]));
        id
    }

    /// The key version an announce adds.
    pub fn announced(&self) -> Option<MemberKey> {
        match &self.change {
            KeyChange::Announce {
                kem,
                sign_public,
                kem_public,
                ..
            } => Some(MemberKey::new(
                self.suite,
                *kem,
                sign_public.clone(),
                kem_public.clone(),
                Some(self.time_ms),
            )),
            KeyChange::Freeze { .. } => None,
        }
    }
}

/// The key event a ledger entry is, if it is one (its bytes decode and its
/// id is the event's id).
pub fn in_entry(id: &[u8; 16], bytes: &[u8]) -> Option<KeyEvent> {
    if !bytes.starts_with(KEY_EVENT_MAGIC) {
        return None;
    }
    KeyEvent::decode(bytes).ok().filter(|e| e.id() == *id)
}

/// The key events a party admitted from one ledger, in ledger order.
#[derive(Clone, Debug, Default)]
pub struct KeyBook {
    events: Vec<KeyEvent>,
}

impl KeyBook {
    pub fn events(&self) -> &[KeyEvent] {
        &self.events
    }

    /// `base` with the admitted events laid over it: announced keys appended
    /// to their members' keys, frozen keys marked with their freeze time.
    pub fn apply(&self, base: &LedgerDirectory) -> LedgerDirectory {
        let mut d = base.clone();
        for e in &self.events {
            let Some(m) = d.members.iter_mut().find(|m| m.id == e.member) else {
                continue;
            };
            match &e.change {
                KeyChange::Announce { .. } => {
                    // A directory file written after the rotation lists it already.
                    if let Some(k) = e.announced().filter(|k| m.key(&k.id).is_none()) {
                        m.keys.push(k);
                    }
                }
                KeyChange::Freeze { .. } => {
                    if let Some(k) = m.keys.iter_mut().find(|k| k.id == e.key) {
                        k.frozen_from_ms = Some(e.time_ms);
                    }
                }
            }
        }
        d
    }

    /// Admits `e` if it is a valid event for `base`'s ledger given what was
    /// admitted before it; else says why (and admits nothing).
    pub fn admit(&mut self, e: KeyEvent, base: &LedgerDirectory) -> Result<(), KeyEventError> {
        let d = self.apply(base);
        check(&e, &d)?;
        self.events.push(e);
        Ok(())
    }
}

/// The rules of `docs/formats/key-event.md`, against the directory as of
/// the event (`d`: the base with the events before it).
fn check(e: &KeyEvent, d: &LedgerDirectory) -> Result<(), KeyEventError> {
    if e.ledger != d.ledger || e.suite.name() != d.suite {
        return Err(KeyEventError::WrongLedger {
            expected: d.ledger.clone(),
            found: e.ledger.clone(),
            suite: e.suite.name(),
        });
    }
    let member = d
        .member(&e.member)
        .ok_or_else(|| KeyEventError::UnknownMember(e.member.clone()))?;
    // Who signs: the member, or a key authority of the ledger.
    let authority = d
        .roles
        .get(KEY_AUTHORITY_ROLE)
        .is_some_and(|h| h.contains(&e.signer));
    if e.signer != e.member && !authority {
        return Err(KeyEventError::NotKeyAuthority {
            signer: e.signer.clone(),
            member: e.member.clone(),
        });
    }
    let signer = d
        .member_at(&e.signer, e.signed_ms)
        .ok_or_else(|| KeyEventError::UnknownMember(e.signer.clone()))?;
    let key = signer
        .key_at(e.signed_ms)
        .ok_or_else(|| KeyEventError::BadSignature(e.signer.clone()))?;
    // A frozen key signs nothing after its freeze — but its own freeze may
    // be reported with it (the holder who lost it may still have a copy).
    let freezing_itself = matches!(e.change, KeyChange::Freeze { .. }) && key.id == e.key;
    if key.frozen_from_ms.is_some_and(|f| f <= e.signed_ms) && !freezing_itself {
        return Err(KeyEventError::BadSignature(e.signer.clone()));
    }
    e.suite
        .suite()
        .verify_signature(
            &key.sign_public,
            signer.signer_id(),
            &e.signature_input(),
            &e.signature,
        )
        .map_err(|_| KeyEventError::BadSignature(e.signer.clone()))?;
    match &e.change {
        KeyChange::Announce {
            sign_public,
            kem_public,
            possession,
            ..
        } => {
            let new = e.announced().ok_or(KeyEventError::Possession)?;
            if new.id != e.key
                || e.suite
                    .suite()
                    .verify_signature(
                        sign_public,
                        member.signer_id(),
                        &KeyEvent::possession_input(&e.ledger, &e.member, &e.key),
                        possession,
                    )
                    .is_err()
                || !new.kem.is_public_key(kem_public)
            {
                return Err(KeyEventError::Possession);
            }
            // The same key, listed with the same start in the member's
            // directory entry (the file written after the rotation), is
            // this announcement: admitted, and laid over as nothing new.
            if member
                .key(&new.id)
                .is_some_and(|k| k.from_ms == new.from_ms)
            {
                return Ok(());
            }
            let reused = d.members.iter().flat_map(|m| &m.keys).any(|k| {
                k.id == new.id || k.sign_public == new.sign_public || k.kem_public == new.kem_public
            });
            if reused {
                return Err(KeyEventError::KeyReused { key: e.key.hex() });
            }
            let newest = member.keys.iter().filter_map(|k| k.from_ms).max();
            if newest.is_some_and(|n| e.time_ms <= n) {
                return Err(KeyEventError::Time(format!(
                    "the new key of `{}` takes force at {} ms, not after its newest key's start",
                    e.member, e.time_ms
                )));
            }
            if e.time_ms.saturating_add(MAX_SKEW_MS) < e.signed_ms
                || e.time_ms > e.signed_ms.saturating_add(MAX_ROTATION_LEAD_MS)
            {
                return Err(KeyEventError::Time(format!(
                    "a new key takes force from its announcement up to {} min after it; {} ms is outside",
                    MAX_ROTATION_LEAD_MS / 60_000,
                    e.time_ms
                )));
            }
        }
        KeyChange::Freeze { .. } => {
            let frozen = member
                .key(&e.key)
                .ok_or_else(|| KeyEventError::UnknownKey {
                    member: e.member.clone(),
                    key: e.key.hex(),
                })?;
            if frozen.frozen_from_ms.is_some() {
                return Err(KeyEventError::AlreadyFrozen {
                    member: e.member.clone(),
                    key: e.key.hex(),
                });
            }
            let start = if member.keys.first().map(|k| k.id) == Some(e.key) {
                0
            } else {
                frozen.from_ms.unwrap_or(0)
            };
            if e.time_ms < start {
                return Err(KeyEventError::Time(format!(
                    "a freeze from {} ms is before key {}'s start ({start} ms)",
                    e.time_ms, e.key
                )));
            }
            if e.time_ms > e.signed_ms.saturating_add(MAX_SKEW_MS) {
                return Err(KeyEventError::Time(format!(
                    "a freeze from {} ms is in the future of its report ({} ms)",
                    e.time_ms, e.signed_ms
                )));
            }
        }
    }
    Ok(())
}
