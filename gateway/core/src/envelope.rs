//! The envelope: what lands on the ledger. Formats v1–v5 are documented byte
//! by byte in `docs/envelope.md`; [`Envelope::encode`] and [`Envelope::decode`] are its
//! only codec. Decoding is strict — one byte string per envelope — so the
//! signature covers a unique encoding and any flipped byte is caught.

use veilgate_codec::{CodecError, Reader, Writer};

use crate::keys::{KemAlg, KeyId, KEY_ID_LEN};
use crate::suite::SuiteId;

pub const MAGIC: &[u8; 4] = b"VGEN";
/// The newest format version this codec reads and writes (it reads 1 to 6).
pub const FORMAT_VERSION: u8 = 6;
/// Format 5's padding scheme byte: field plaintexts padded to the `pow2`
/// classes of the envelope's policy (`docs/envelope.md`).
pub const PADDING_POW2: u8 = 1;
pub const ENVELOPE_ID_LEN: usize = 16;

/// Upper bounds a decoder enforces before allocating.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;
const MAX_STR: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRef {
    pub id: String,
    pub version: u32,
    pub hash: [u8; 32],
}

/// A data key wrapped to one recipient institution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub institution: String,
    pub enc: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    /// Format 4: the recipient's key version the data key is wrapped to.
    pub key: Option<WrapKey>,
}

/// The key a data key is wrapped to (format 4's key section).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapKey {
    pub id: KeyId,
    pub kem: KemAlg,
}

/// What the ledger shows of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldBody {
    /// Canonical value bytes, in clear.
    Public(Vec<u8>),
    /// Keyed per-ledger pseudonym (HMAC under a key every member holds).
    Pseudonym([u8; 32]),
    /// Oblivious pseudonym (format 6): the VOPRF tag of the value under the
    /// ledger's key of `epoch`, which no member holds.
    Oblivious { epoch: u32, tag: [u8; 32] },
    /// Pedersen commitment, and (formats 1 and 2 only) a range proof when the
    /// policy asks for one; format 3 proves ranges in [`Envelope::range_proofs`].
    Committed {
        commitment: [u8; 32],
        proof: Option<Vec<u8>>,
    },
    /// Nothing but the ciphertexts.
    Encrypted,
    /// Poseidon commitment on BN254 (32 bytes, big-endian field element) of a
    /// field a Groth16 predicate speaks about (format version 2).
    Bn254Committed([u8; 32]),
    /// A masked or generalized value in clear (canonical value bytes).
    Derived(Vec<u8>),
}

impl FieldBody {
    pub fn kind(&self) -> &'static str {
        match self {
            FieldBody::Public(_) => "public",
            FieldBody::Pseudonym(_) => "pseudonym",
            FieldBody::Oblivious { .. } => "oblivious pseudonym",
            FieldBody::Committed { .. } => "committed",
            FieldBody::Encrypted => "encrypted",
            FieldBody::Derived(_) => "derived",
            FieldBody::Bn254Committed(_) => "committed_bn254",
        }
    }
}

/// A field's value (or, for a committed field, its opening) encrypted to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCiphertext {
    /// Index into [`Envelope::recipients`].
    pub recipient: u16,
    pub ciphertext: Vec<u8>,
}

/// The proof(s) of one of the policy's predicates, in the plan's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredicateProof {
    /// 1 compare, 2 linear sum, 3 date threshold, 4 set membership, 5 set
    /// non-membership (4 and 5 in format 3 only).
    pub circuit: u8,
    /// Id of the verifying key the proofs are under.
    pub key_id: [u8; 32],
    /// Circuits 4 and 5: the version of the set whose root the proof is against.
    pub set_version: Option<u32>,
    /// Groth16 proofs, 128 bytes each (two for `==`, else one).
    pub proofs: Vec<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedField {
    pub name: String,
    pub body: FieldBody,
    pub ciphertexts: Vec<FieldCiphertext>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub suite: SuiteId,
    pub ledger: String,
    pub id: [u8; ENVELOPE_ID_LEN],
    pub policy: PolicyRef,
    pub submitter: String,
    pub timestamp_ms: u64,
    pub idempotency_key: String,
    /// Sorted by institution id, no duplicates.
    pub recipients: Vec<Recipient>,
    /// In the plan's field order; dropped fields are absent.
    pub fields: Vec<SealedField>,
    /// One entry per predicate of the policy, in the plan's order. Non-empty
    /// only in format versions 2 and 3.
    pub predicates: Vec<PredicateProof>,
    /// Format 3: whether the record meets each of the policy's conditions,
    /// in the plan's order (the submitter's claim, which peers check).
    pub conditions: Vec<bool>,
    /// Format 3: the aggregated bulletproofs over the envelope's range facts,
    /// eight fields per proof (`docs/envelope.md`, "Range section").
    pub range_proofs: Vec<Vec<u8>>,
    /// Format 4: the submitter's key version that signs (with each
    /// recipient's [`Recipient::key`], the key section).
    pub signing_key: Option<KeyId>,
    /// Format 5: the scheme the field plaintexts are padded with
    /// ([`PADDING_POW2`], the only one), present exactly when the policy
    /// has a `pad` line. Format 5 also carries format 4's key section.
    pub padding: Option<u8>,
    pub signature: Vec<u8>,
}

/// Why bytes are not a v1 envelope. Positions are byte offsets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("not a Veilgate envelope (bad magic)")]
    Magic,
    #[error("envelope format version {0} is not supported")]
    Version(u8),
    #[error("unknown crypto suite id {0}")]
    Suite(u8),
    #[error("envelope ends early at byte {0}")]
    Truncated(usize),
    #[error("{what} at byte {at}")]
    Invalid { what: &'static str, at: usize },
    #[error("{0} unexpected bytes after the signature")]
    Trailing(usize),
    #[error("envelope is larger than {MAX_ENVELOPE_BYTES} bytes")]
    TooLarge,
}

impl Envelope {
    /// 6 when it carries an oblivious pseudonym; else 5 when its field
    /// plaintexts are padded; else 4 when the envelope
    /// names its keys (every other envelope sealed by this build); else 3 when it carries condition outcomes, aggregated range
    /// proofs or set predicates; else 2 when it carries Groth16 predicates or BN254
    /// commitments; else 1. Each of 1–3 is the least that can say what the
    /// envelope holds, so the bytes of an envelope are unique.
    pub fn format_version(&self) -> u8 {
        if self
            .fields
            .iter()
            .any(|f| matches!(f.body, FieldBody::Oblivious { .. }))
        {
            return 6;
        }
        if self.padding.is_some() {
            return 5;
        }
        if self.signing_key.is_some() {
            return 4;
        }
        let bn254 = self
            .fields
            .iter()
            .any(|f| matches!(f.body, FieldBody::Bn254Committed(_)));
        let sets = self.predicates.iter().any(|p| p.set_version.is_some());
        if !self.conditions.is_empty() || !self.range_proofs.is_empty() || sets {
            3
        } else if bn254 || !self.predicates.is_empty() {
            2
        } else {
            1
        }
    }

    /// The bytes the signature covers: everything before the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(4096);
        w.put(MAGIC);
        let version = self.format_version();
        w.put_u8(version);
        w.put_u8(self.suite as u8);
        w.put_str_u16(&self.ledger);
        w.put(&self.id);
        w.put_str_u16(&self.policy.id);
        w.put_u32(self.policy.version);
        w.put(&self.policy.hash);
        w.put_str_u16(&self.submitter);
        w.put_u64(self.timestamp_ms);
        w.put_str_u16(&self.idempotency_key);
        // Format 6 keeps format 5's byte, 0 when nothing is padded.
        if version >= 5 {
            w.put_u8(self.padding.unwrap_or(0));
        }
        w.put_u16(count(self.recipients.len()));
        for r in &self.recipients {
            w.put_str_u16(&r.institution);
            w.put_bytes_u16(&r.enc);
            w.put_bytes_u16(&r.wrapped_key);
        }
        w.put_u16(count(self.fields.len()));
        for f in &self.fields {
            write_field(&mut w, f);
        }
        if version >= 2 {
            w.put_u16(count(self.predicates.len()));
            for p in &self.predicates {
                w.put_u8(p.circuit);
                w.put(&p.key_id);
                if let Some(v) = p.set_version {
                    w.put_u32(v);
                }
                w.put_u8(u8::try_from(p.proofs.len()).unwrap_or(u8::MAX));
                for proof in &p.proofs {
                    w.put_bytes_u16(proof);
                }
            }
        }
        if version >= 3 {
            w.put_u16(count(self.conditions.len()));
            for met in &self.conditions {
                w.put_u8(u8::from(*met));
            }
            w.put_u8(u8::try_from(self.range_proofs.len()).unwrap_or(u8::MAX));
            for proof in &self.range_proofs {
                w.put_bytes_u32(proof);
            }
        }
        if let Some(signing) = &self.signing_key {
            w.put(&signing.0);
            w.put_u16(count(self.recipients.len()));
            for r in &self.recipients {
                // A recipient without a key cannot be in a v4 envelope: zeros
                // and KEM 0, which no decoder accepts, rather than a panic.
                match &r.key {
                    Some(k) => {
                        w.put(&k.id.0);
                        w.put_u8(k.kem as u8);
                    }
                    None => {
                        w.put(&[0; KEY_ID_LEN]);
                        w.put_u8(0);
                    }
                }
            }
        }
        w
    }

    /// The canonical encoding: signed bytes, then the signature (u16 length + bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.put_bytes_u16(&self.signature);
        w
    }

    /// Strict decoder: rejects truncation, trailing bytes, unknown tags,
    /// non-UTF-8 text, unsorted or duplicate recipients and ciphertexts, and
    /// recipient indices out of range. Reads through the one codec
    /// (`veilgate_codec`), section by section.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::TooLarge);
        }
        let mut r = Reader::new(bytes);
        if r.take("magic", 4)? != MAGIC {
            return Err(DecodeError::Magic);
        }
        let version = r.u8("format version")?;
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(DecodeError::Version(version));
        }
        let suite_byte = r.u8("suite")?;
        let suite = SuiteId::from_byte(suite_byte).ok_or(DecodeError::Suite(suite_byte))?;
        let ledger = text(&mut r)?;
        let id = r.array::<ENVELOPE_ID_LEN>("envelope id")?;
        let policy = PolicyRef {
            id: text(&mut r)?,
            version: r.u32("policy version")?,
            hash: r.array::<32>("policy hash")?,
        };
        let submitter = text(&mut r)?;
        let timestamp_ms = r.u64("timestamp")?;
        let idempotency_key = text(&mut r)?;
        let padding = if version >= 5 {
            let at = r.offset();
            match r.u8("padding scheme")? {
                PADDING_POW2 => Some(PADDING_POW2),
                0 if version >= 6 => None,
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "unknown padding scheme",
                        at,
                    })
                }
            }
        } else {
            None
        };
        let mut recipients = read_recipients(&mut r)?;
        let n = usize::from(r.u16("field count")?);
        let mut fields = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            fields.push(read_field(&mut r, version, recipients.len())?);
        }
        let predicates = if version >= 2 {
            read_predicates(&mut r, version)?
        } else {
            Vec::new()
        };
        let (conditions, range_proofs) = if version >= 3 {
            (read_conditions(&mut r)?, read_range_proofs(&mut r)?)
        } else {
            (Vec::new(), Vec::new())
        };
        let signing_key = if version >= 4 {
            Some(read_key_section(&mut r, suite, &mut recipients)?)
        } else {
            None
        };
        let at = r.offset();
        let signature = r.bytes_u16("signature")?.to_vec();
        r.finish()?;
        let env = Envelope {
            suite,
            ledger,
            id,
            policy,
            submitter,
            timestamp_ms,
            idempotency_key,
            recipients,
            fields,
            predicates,
            conditions,
            range_proofs,
            signing_key,
            padding,
            signature,
        };
        // One encoding per envelope: each version only when the one below
        // cannot say what the envelope holds.
        if version == 6 && env.format_version() != 6 {
            return Err(DecodeError::Invalid {
                what: "format version 6 without an oblivious pseudonym",
                at,
            });
        }
        if version < 4 && env.format_version() != version {
            return Err(DecodeError::Invalid {
                what: if version == 3 {
                    "format version 3 without condition outcomes, range proofs or set predicates"
                } else {
                    "format version 2 without predicates or BN254 commitments"
                },
                at,
            });
        }
        Ok(env)
    }
}

/// The recipients, strictly ascending by institution id.
fn read_recipients(r: &mut Reader<'_>) -> Result<Vec<Recipient>, DecodeError> {
    let n = usize::from(r.u16("recipient count")?);
    let mut recipients: Vec<Recipient> = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let at = r.offset();
        let rec = Recipient {
            institution: text(r)?,
            enc: r.bytes_u16("encapsulated key")?.to_vec(),
            wrapped_key: r.bytes_u16("wrapped key")?.to_vec(),
            key: None,
        };
        if recipients
            .last()
            .is_some_and(|p| p.institution >= rec.institution)
        {
            return Err(DecodeError::Invalid {
                what: "recipients not in strictly ascending order",
                at,
            });
        }
        recipients.push(rec);
    }
    Ok(recipients)
}

/// The key section (format 4): the signing key id, then per recipient, in
/// the recipients' order, the key id and KEM its data key is wrapped to.
/// The KEM must be one of the suite's, and each encapsulated key its length.
fn read_key_section(
    r: &mut Reader<'_>,
    suite: SuiteId,
    recipients: &mut [Recipient],
) -> Result<KeyId, DecodeError> {
    let signing = KeyId(r.array::<KEY_ID_LEN>("signing key id")?);
    let at = r.offset();
    if usize::from(r.u16("wrap count")?) != recipients.len() {
        return Err(DecodeError::Invalid {
            what: "wrap count is not the recipient count",
            at,
        });
    }
    for rec in recipients.iter_mut() {
        let id = KeyId(r.array::<KEY_ID_LEN>("wrap key id")?);
        let at = r.offset();
        let kem = KemAlg::from_byte(r.u8("wrap KEM")?)
            .filter(|k| k.allowed_in(suite))
            .ok_or(DecodeError::Invalid {
                what: "wrap KEM unknown or not of the envelope's suite",
                at,
            })?;
        if rec.enc.len() != kem.public_len() {
            return Err(DecodeError::Invalid {
                what: "encapsulated key length is not its KEM's",
                at,
            });
        }
        rec.key = Some(WrapKey { id, kem });
    }
    Ok(signing)
}

/// One field: name, body, and its ciphertexts (strictly ascending by
/// recipient index, each index naming a listed recipient).
fn read_field(
    r: &mut Reader<'_>,
    version: u8,
    recipients: usize,
) -> Result<SealedField, DecodeError> {
    let name = text(r)?;
    let body = read_body(r, version)?;
    let m = usize::from(r.u16("ciphertext count")?);
    let mut ciphertexts: Vec<FieldCiphertext> = Vec::with_capacity(m.min(64));
    for _ in 0..m {
        let at = r.offset();
        let recipient = r.u16("recipient index")?;
        if usize::from(recipient) >= recipients {
            return Err(DecodeError::Invalid {
                what: "ciphertext names a recipient that is not listed",
                at,
            });
        }
        if ciphertexts.last().is_some_and(|c| c.recipient >= recipient) {
            return Err(DecodeError::Invalid {
                what: "ciphertexts not in strictly ascending recipient order",
                at,
            });
        }
        ciphertexts.push(FieldCiphertext {
            recipient,
            ciphertext: bytes32(r, "ciphertext")?,
        });
    }
    Ok(SealedField {
        name,
        body,
        ciphertexts,
    })
}

/// A field body: its kind byte and what that kind carries.
fn read_body(r: &mut Reader<'_>, version: u8) -> Result<FieldBody, DecodeError> {
    let at = r.offset();
    Ok(match r.u8("field kind")? {
        0 => FieldBody::Public(bytes32(r, "public value")?),
        1 => FieldBody::Pseudonym(r.array::<32>("pseudonym")?),
        2 => {
            let commitment = r.array::<32>("commitment")?;
            let at = r.offset();
            let proof = match r.u8("proof presence")? {
                0 => None,
                // Format 3 proves every range in its range section.
                1 if version >= 3 => {
                    return Err(DecodeError::Invalid {
                        what: "a format 3 field carries its own range proof",
                        at,
                    })
                }
                1 => Some(bytes32(r, "range proof")?),
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "proof presence flag is not 0 or 1",
                        at,
                    })
                }
            };
            FieldBody::Committed { commitment, proof }
        }
        3 => FieldBody::Encrypted,
        4 => FieldBody::Derived(bytes32(r, "derived value")?),
        5 if version >= 2 => FieldBody::Bn254Committed(r.array::<32>("BN254 commitment")?),
        6 if version >= 6 => FieldBody::Oblivious {
            epoch: r.u32("pseudonym epoch")?,
            tag: r.array::<32>("pseudonym")?,
        },
        _ => {
            return Err(DecodeError::Invalid {
                what: "unknown field kind",
                at,
            })
        }
    })
}

/// The predicate section (format versions 2 and 3; set circuits in 3 only).
fn read_predicates(r: &mut Reader<'_>, version: u8) -> Result<Vec<PredicateProof>, DecodeError> {
    let n = r.u16("predicate count")?;
    let mut predicates = Vec::new();
    for _ in 0..n {
        let at = r.offset();
        let circuit = r.u8("circuit")?;
        let known = if version >= 3 { 1..=5 } else { 1..=3 };
        if !known.contains(&circuit) {
            return Err(DecodeError::Invalid {
                what: "unknown predicate circuit",
                at,
            });
        }
        let key_id = r.array::<32>("key id")?;
        let set_version = if circuit >= 4 {
            Some(r.u32("set version")?)
        } else {
            None
        };
        let count = r.u8("proof count")?;
        let mut proofs = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            proofs.push(r.bytes_u16("proof")?.to_vec());
        }
        predicates.push(PredicateProof {
            circuit,
            key_id,
            set_version,
            proofs,
        });
    }
    Ok(predicates)
}

/// Condition outcomes (format version 3): one byte each, 0 or 1.
fn read_conditions(r: &mut Reader<'_>) -> Result<Vec<bool>, DecodeError> {
    let n = r.u16("condition count")?;
    let mut out = Vec::with_capacity(usize::from(n).min(256));
    for _ in 0..n {
        let at = r.offset();
        out.push(match r.u8("condition outcome")? {
            0 => false,
            1 => true,
            _ => {
                return Err(DecodeError::Invalid {
                    what: "condition outcome is not 0 or 1",
                    at,
                })
            }
        });
    }
    Ok(out)
}

/// The range section (format version 3): aggregated proofs, `u32` length each.
fn read_range_proofs(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, DecodeError> {
    let n = r.u8("range proof count")?;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        out.push(bytes32(r, "range proof")?);
    }
    Ok(out)
}

/// `u16 length ‖ UTF-8`, at most [`MAX_STR`] bytes.
fn text(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let at = r.offset();
    let b = r.bytes_u16("text")?;
    if b.len() > MAX_STR {
        return Err(DecodeError::Invalid {
            what: "text longer than 1024 bytes",
            at,
        });
    }
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Invalid {
        what: "text is not UTF-8",
        at,
    })
}

/// `u32 length ‖ bytes`, the length bounded by the envelope size limit
/// before anything is allocated.
fn bytes32(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let at = r.offset();
    let n = r.u32(what)?;
    if usize::try_from(n).map_or(true, |n| n > MAX_ENVELOPE_BYTES) {
        return Err(DecodeError::Invalid {
            what: "length exceeds the envelope size limit",
            at,
        });
    }
    Ok(r.take(what, n as usize)?.to_vec())
}

impl From<CodecError> for DecodeError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Truncated { offset, .. } => DecodeError::Truncated(offset),
            CodecError::Trailing { extra, .. } => DecodeError::Trailing(extra),
            CodecError::Invalid { what, offset, .. } => DecodeError::Invalid { what, at: offset },
            // The codec's errors are non-exhaustive; any other is a malformed item.
            _ => DecodeError::Invalid {
                what: "malformed envelope",
                at: 0,
            },
        }
    }
}

// Writers. Lengths are bounded by the seal path (names ≤ 1 KiB, values ≤ 4 KiB,
// proofs ≤ a few KiB, fewer than 65,536 items of each kind), so nothing is
// clamped in practice; `decode` enforces the bounds.

/// A count as its `u16`.
fn count(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// One field: name, kind byte and body, then its ciphertexts.
fn write_field(w: &mut Vec<u8>, f: &SealedField) {
    w.put_str_u16(&f.name);
    match &f.body {
        FieldBody::Public(v) => {
            w.put_u8(0);
            w.put_bytes_u32(v);
        }
        FieldBody::Pseudonym(p) => {
            w.put_u8(1);
            w.put(p);
        }
        FieldBody::Committed { commitment, proof } => {
            w.put_u8(2);
            w.put(commitment);
            w.put_option(proof.as_ref(), |w, p| w.put_bytes_u32(p));
        }
        FieldBody::Encrypted => w.put_u8(3),
        FieldBody::Derived(v) => {
            w.put_u8(4);
            w.put_bytes_u32(v);
        }
        FieldBody::Bn254Committed(c) => {
            w.put_u8(5);
            w.put(c);
        }
        FieldBody::Oblivious { epoch, tag } => {
            w.put_u8(6);
            w.put_u32(*epoch);
            w.put(tag);
        }
    }
    w.put_u16(count(f.ciphertexts.len()));
    for c in &f.ciphertexts {
        w.put_u16(c.recipient);
        w.put_bytes_u32(&c.ciphertext);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sample(version: u8) -> Envelope {
        let bn254 = version >= 2;
        let v3 = version >= 3;
        let v4 = version >= 4;
        let wrap = |kem: KemAlg, b: u8| {
            v4.then_some(WrapKey {
                id: KeyId([b; 16]),
                kem,
            })
        };
        Envelope {
            suite: SuiteId::Standard,
            ledger: "l".into(),
            id: [7; 16],
            policy: PolicyRef {
                id: "p".into(),
                version: 3,
                hash: [9; 32],
            },
            submitter: "bank-a".into(),
            timestamp_ms: 1,
            idempotency_key: "k".into(),
            recipients: vec![
                Recipient {
                    institution: "bank-a".into(),
                    enc: vec![1; 32],
                    wrapped_key: vec![2; 48],
                    key: wrap(KemAlg::X25519, 0x11),
                },
                Recipient {
                    institution: "bank-b".into(),
                    enc: if v4 { vec![3; 65] } else { vec![3; 32] },
                    wrapped_key: vec![4; 48],
                    key: wrap(KemAlg::P256, 0x22),
                },
            ],
            fields: vec![
                SealedField {
                    name: "a".into(),
                    body: if version == 6 {
                        FieldBody::Oblivious {
                            epoch: 0x0102_0304,
                            tag: [0x66; 32],
                        }
                    } else {
                        FieldBody::Public(vec![0, 1])
                    },
                    ciphertexts: Vec::new(),
                },
                SealedField {
                    name: "b".into(),
                    body: if v3 {
                        FieldBody::Committed {
                            commitment: [5; 32],
                            proof: None,
                        }
                    } else if bn254 {
                        FieldBody::Bn254Committed([5; 32])
                    } else {
                        FieldBody::Committed {
                            commitment: [5; 32],
                            proof: Some(vec![6; 10]),
                        }
                    },
                    ciphertexts: vec![
                        FieldCiphertext {
                            recipient: 0,
                            ciphertext: vec![8; 56],
                        },
                        FieldCiphertext {
                            recipient: 1,
                            ciphertext: vec![8; 56],
                        },
                    ],
                },
            ],
            predicates: if bn254 {
                vec![PredicateProof {
                    circuit: 1,
                    key_id: [1; 32],
                    set_version: None,
                    proofs: vec![vec![2; 128]],
                }]
            } else {
                Vec::new()
            },
            conditions: if v3 { vec![true, false] } else { Vec::new() },
            range_proofs: if v3 { vec![vec![3; 672]] } else { Vec::new() },
            signing_key: v4.then_some(KeyId([0x33; 16])),
            padding: (version == 5).then_some(PADDING_POW2),
            signature: vec![0xee; 64],
        }
    }

    #[test]
    fn every_version_round_trips_and_refuses_trailing_and_truncated_bytes() {
        for version in [1, 2, 3, 4, 5, 6] {
            let env = sample(version);
            let bytes = env.encode();
            assert_eq!(bytes[4], version);
            assert_eq!(Envelope::decode(&bytes).unwrap(), env);
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(Envelope::decode(&longer), Err(DecodeError::Trailing(1)));
            for n in 0..bytes.len() {
                assert!(Envelope::decode(&bytes[..n]).is_err(), "prefix {n}");
            }
        }
    }

    #[test]
    fn version_3_is_strict_about_its_sections() {
        // A field's own range proof, an outcome byte other than 0/1, and a
        // version 3 header without anything version 3 carries are refused.
        let mut env = sample(3);
        env.fields[1].body = FieldBody::Committed {
            commitment: [5; 32],
            proof: Some(vec![6; 10]),
        };
        assert!(matches!(
            Envelope::decode(&env.encode()),
            Err(DecodeError::Invalid { what, .. }) if what.contains("its own range proof")
        ));
        let env = sample(3);
        let mut bytes = env.encode();
        let outcomes = bytes.len() - 2 - 64 - 1 - 4 - 672 - 2;
        assert_eq!(&bytes[outcomes - 2..outcomes + 2], &[0, 2, 1, 0]);
        bytes[outcomes] = 2;
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(DecodeError::Invalid { what, .. }) if what.contains("not 0 or 1")
        ));
        let mut env = sample(3);
        env.conditions.clear();
        env.range_proofs.clear();
        let mut bytes = env.signed_bytes();
        bytes[4] = 3;
        bytes.extend_from_slice(&[0, 0, 0]);
        bytes.extend_from_slice(&[0, 64]);
        bytes.extend_from_slice(&[0xee; 64]);
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(DecodeError::Invalid { what, .. }) if what.contains("version 3 without")
        ));
    }

    /// The key section sits between the range section and the signature:
    /// signing key id, wrap count, then per recipient a key id and KEM byte.
    #[test]
    fn version_4_key_section_is_strict() {
        let env = sample(4);
        let bytes = env.encode();
        let section = bytes.len() - 2 - 64 - (16 + 2 + 2 * 17);
        assert_eq!(&bytes[section..section + 16], &[0x33; 16]);
        assert_eq!(&bytes[section + 16..section + 18], &[0, 2]);
        assert_eq!(bytes[section + 18 + 16], KemAlg::X25519 as u8);
        assert_eq!(bytes[section + 18 + 17 + 16], KemAlg::P256 as u8);
        let refused = |bytes: &[u8], what: &str| {
            assert!(
                matches!(Envelope::decode(bytes), Err(DecodeError::Invalid { what: w, .. }) if w.contains(what)),
                "{what}: {:?}",
                Envelope::decode(bytes)
            );
        };
        let mut b = bytes.clone();
        b[section + 17] = 3;
        refused(&b, "wrap count");
        for bad in [0u8, 3, 9] {
            let mut b = bytes.clone();
            b[section + 18 + 16] = bad;
            refused(&b, "wrap KEM");
        }
        // An X25519 wrap with a 65-byte encapsulated key (the P-256 one's).
        let mut swapped = sample(4);
        swapped.recipients[0].key = swapped.recipients[1].key;
        refused(&swapped.encode(), "length is not its KEM's");
        // Every single-byte change of the section is refused or decodes to
        // another envelope (so the signature no longer covers it).
        for i in section..bytes.len() - 66 {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert_ne!(Envelope::decode(&b).ok(), Some(env.clone()), "byte {i}");
        }
    }

    /// Format 5 is format 4 with one byte after the idempotency key: the
    /// padding scheme, 1 only.
    /// Format 6 is format 5 whose padding byte may be 0, with field kind 6:
    /// `u32 epoch ‖ 32-byte tag`. Kind 6 is refused below format 6, and
    /// format 6 without a kind 6 field is refused.
    #[test]
    fn version_6_carries_oblivious_pseudonyms_and_nothing_else_new() {
        let env = sample(6);
        let bytes = env.encode();
        let at = 4 + 1 + 1 + 3 + 16 + 3 + 4 + 32 + 8 + 8 + 3;
        assert_eq!((bytes[4], bytes[at]), (6, 0));
        let mut padded = env.clone();
        padded.padding = Some(PADDING_POW2);
        assert_eq!(padded.encode()[at], PADDING_POW2);
        assert_eq!(Envelope::decode(&padded.encode()).unwrap(), padded);
        let kind = bytes
            .windows(6)
            .position(|w| w == [0, 1, b'a', 6, 1, 2])
            .map(|p| p + 3)
            .unwrap();
        assert_eq!(&bytes[kind + 1..kind + 5], &[1, 2, 3, 4]);
        assert_eq!(&bytes[kind + 5..kind + 37], &[0x66; 32]);
        // Kind 6 in a format 5 envelope.
        let mut b = bytes.clone();
        b[4] = 5;
        b[at] = PADDING_POW2;
        assert!(matches!(
            Envelope::decode(&b),
            Err(DecodeError::Invalid {
                what: "unknown field kind",
                ..
            })
        ));
        // Format 6 without kind 6.
        let mut plain = sample(5);
        plain.padding = None;
        let mut b = plain.signed_bytes();
        b[4] = 6;
        b.insert(at, 0);
        b.extend_from_slice(&[0, 64]);
        b.extend_from_slice(&[0xee; 64]);
        assert!(matches!(
            Envelope::decode(&b),
            Err(DecodeError::Invalid { what, .. }) if what.contains("version 6 without")
        ));
    }

    #[test]
    fn version_5_is_version_4_with_a_padding_byte() {
        let (v4, v5) = (sample(4).encode(), sample(5).encode());
        // magic, version, suite, "l", id, "p", policy version, hash, "bank-a",
        // timestamp, "k".
        let at = 4 + 1 + 1 + 3 + 16 + 3 + 4 + 32 + 8 + 8 + 3;
        assert_eq!(v5.len(), v4.len() + 1);
        assert_eq!((v4[4], v5[4]), (4, 5));
        assert_eq!(v5[at], PADDING_POW2);
        assert_eq!(&v5[5..at], &v4[5..at]);
        assert_eq!(&v5[at + 1..], &v4[at..]);
        for bad in [0u8, 2, 0xff] {
            let mut b = v5.clone();
            b[at] = bad;
            assert_eq!(
                Envelope::decode(&b),
                Err(DecodeError::Invalid {
                    what: "unknown padding scheme",
                    at
                })
            );
        }
    }

    #[test]
    fn ciphertexts_must_name_listed_recipients_in_order() {
        let mut env = sample(1);
        env.fields[1].ciphertexts.swap(0, 1);
        assert!(matches!(
            Envelope::decode(&env.encode()),
            Err(DecodeError::Invalid { what, .. }) if what.contains("ascending recipient order")
        ));
        let mut env = sample(1);
        env.fields[1].ciphertexts[1].recipient = 2;
        assert!(matches!(
            Envelope::decode(&env.encode()),
            Err(DecodeError::Invalid { what, .. }) if what.contains("not listed")
        ));
    }
}
