//! The envelope: what lands on the ledger. Format v1 is documented byte by byte
//! in `docs/envelope.md`; [`Envelope::encode`] and [`Envelope::decode`] are its
//! only codec. Decoding is strict — one byte string per envelope — so the
//! signature covers a unique encoding and any flipped byte is caught.

use crate::suite::SuiteId;

pub const MAGIC: &[u8; 4] = b"VGEN";
/// The newest format version this codec reads and writes (it reads 1 and 2).
pub const FORMAT_VERSION: u8 = 2;
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
}

/// What the ledger shows of a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldBody {
    /// Canonical value bytes, in clear.
    Public(Vec<u8>),
    /// Keyed per-ledger pseudonym.
    Pseudonym([u8; 32]),
    /// Pedersen commitment, and a range proof when the policy asks for one.
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
    /// 1 compare, 2 linear sum, 3 date threshold.
    pub circuit: u8,
    /// Id of the verifying key the proofs are under.
    pub key_id: [u8; 32],
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
    /// only in format version 2.
    pub predicates: Vec<PredicateProof>,
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
    /// 2 when the envelope carries Groth16 predicates or BN254 commitments,
    /// else 1 (so envelopes without them keep their version-1 bytes).
    pub fn format_version(&self) -> u8 {
        let bn254 = self
            .fields
            .iter()
            .any(|f| matches!(f.body, FieldBody::Bn254Committed(_)));
        if bn254 || !self.predicates.is_empty() {
            2
        } else {
            1
        }
    }

    /// The bytes the signature covers: everything before the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(4096);
        w.extend_from_slice(MAGIC);
        let version = self.format_version();
        w.push(version);
        w.push(self.suite as u8);
        put_str(&mut w, &self.ledger);
        w.extend_from_slice(&self.id);
        put_str(&mut w, &self.policy.id);
        w.extend_from_slice(&self.policy.version.to_be_bytes());
        w.extend_from_slice(&self.policy.hash);
        put_str(&mut w, &self.submitter);
        w.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        put_str(&mut w, &self.idempotency_key);
        put_u16(&mut w, self.recipients.len());
        for r in &self.recipients {
            put_str(&mut w, &r.institution);
            put_bytes16(&mut w, &r.enc);
            put_bytes16(&mut w, &r.wrapped_key);
        }
        put_u16(&mut w, self.fields.len());
        for f in &self.fields {
            put_str(&mut w, &f.name);
            match &f.body {
                FieldBody::Public(v) => {
                    w.push(0);
                    put_bytes32(&mut w, v);
                }
                FieldBody::Pseudonym(p) => {
                    w.push(1);
                    w.extend_from_slice(p);
                }
                FieldBody::Committed { commitment, proof } => {
                    w.push(2);
                    w.extend_from_slice(commitment);
                    match proof {
                        Some(p) => {
                            w.push(1);
                            put_bytes32(&mut w, p);
                        }
                        None => w.push(0),
                    }
                }
                FieldBody::Encrypted => w.push(3),
                FieldBody::Derived(v) => {
                    w.push(4);
                    put_bytes32(&mut w, v);
                }
                FieldBody::Bn254Committed(c) => {
                    w.push(5);
                    w.extend_from_slice(c);
                }
            }
            put_u16(&mut w, f.ciphertexts.len());
            for c in &f.ciphertexts {
                w.extend_from_slice(&c.recipient.to_be_bytes());
                put_bytes32(&mut w, &c.ciphertext);
            }
        }
        if version >= 2 {
            put_u16(&mut w, self.predicates.len());
            for p in &self.predicates {
                w.push(p.circuit);
                w.extend_from_slice(&p.key_id);
                w.push(p.proofs.len().min(u8::MAX as usize) as u8);
                for proof in &p.proofs {
                    put_bytes16(&mut w, proof);
                }
            }
        }
        w
    }

    /// The canonical encoding: signed bytes, then the signature (u16 length + bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        put_bytes16(&mut w, &self.signature);
        w
    }

    /// Strict decoder: rejects truncation, trailing bytes, unknown tags,
    /// non-UTF-8 text, unsorted or duplicate recipients and ciphertexts, and
    /// recipient indices out of range.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::TooLarge);
        }
        let mut r = Reader { buf: bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(DecodeError::Magic);
        }
        let version = r.u8()?;
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(DecodeError::Version(version));
        }
        let suite_byte = r.u8()?;
        let suite = SuiteId::from_byte(suite_byte).ok_or(DecodeError::Suite(suite_byte))?;
        let ledger = r.str()?;
        let id = r.array::<ENVELOPE_ID_LEN>()?;
        let policy = PolicyRef {
            id: r.str()?,
            version: r.u32()?,
            hash: r.array::<32>()?,
        };
        let submitter = r.str()?;
        let timestamp_ms = r.u64()?;
        let idempotency_key = r.str()?;
        let n = r.u16()?;
        let mut recipients: Vec<Recipient> = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let at = r.pos;
            let rec = Recipient {
                institution: r.str()?,
                enc: r.bytes16()?,
                wrapped_key: r.bytes16()?,
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
        let n = r.u16()?;
        let mut fields = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            let name = r.str()?;
            let at = r.pos;
            let body = match r.u8()? {
                0 => FieldBody::Public(r.bytes32()?),
                1 => FieldBody::Pseudonym(r.array::<32>()?),
                2 => {
                    let commitment = r.array::<32>()?;
                    let at = r.pos;
                    let proof = match r.u8()? {
                        0 => None,
                        1 => Some(r.bytes32()?),
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
                4 => FieldBody::Derived(r.bytes32()?),
                5 if version >= 2 => FieldBody::Bn254Committed(r.array::<32>()?),
                _ => {
                    return Err(DecodeError::Invalid {
                        what: "unknown field kind",
                        at,
                    })
                }
            };
            let m = r.u16()?;
            let mut ciphertexts: Vec<FieldCiphertext> = Vec::with_capacity(m.min(64));
            for _ in 0..m {
                let at = r.pos;
                let recipient = r.u16()? as u16;
                if usize::from(recipient) >= recipients.len() {
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
                    ciphertext: r.bytes32()?,
                });
            }
            fields.push(SealedField {
                name,
                body,
                ciphertexts,
            });
        }
        let mut predicates = Vec::new();
        if version >= 2 {
            let n = r.u16()?;
            for _ in 0..n {
                let at = r.pos;
                let circuit = r.u8()?;
                if !(1..=3).contains(&circuit) {
                    return Err(DecodeError::Invalid {
                        what: "unknown predicate circuit",
                        at,
                    });
                }
                let key_id = r.array::<32>()?;
                let count = r.u8()?;
                let mut proofs = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    proofs.push(r.bytes16()?);
                }
                predicates.push(PredicateProof {
                    circuit,
                    key_id,
                    proofs,
                });
            }
        }
        let at = r.pos;
        let signature = r.bytes16()?;
        if r.pos != bytes.len() {
            return Err(DecodeError::Trailing(bytes.len() - r.pos));
        }
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
            signature,
        };
        // One encoding per envelope: version 2 only when version 1 cannot say it.
        if env.format_version() != version {
            return Err(DecodeError::Invalid {
                what: "format version 2 without predicates or BN254 commitments",
                at,
            });
        }
        Ok(env)
    }
}

// Writers. Lengths are bounded by the seal path (names ≤ 1 KiB, values ≤ 4 KiB,
// proofs ≤ a few KiB), so the casts below never truncate; `decode` enforces the bounds.
fn put_u16(w: &mut Vec<u8>, n: usize) {
    w.extend_from_slice(&(n.min(u16::MAX as usize) as u16).to_be_bytes());
}
fn put_str(w: &mut Vec<u8>, s: &str) {
    put_bytes16(w, s.as_bytes());
}
fn put_bytes16(w: &mut Vec<u8>, b: &[u8]) {
    put_u16(w, b.len());
    w.extend_from_slice(b);
}
fn put_bytes32(w: &mut Vec<u8>, b: &[u8]) {
    w.extend_from_slice(&(b.len().min(u32::MAX as usize) as u32).to_be_bytes());
    w.extend_from_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError::Truncated(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let at = self.pos;
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError::Truncated(at))
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<usize, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?) as usize)
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn bytes16(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.u16()?;
        Ok(self.take(n)?.to_vec())
    }
    fn bytes32(&mut self) -> Result<Vec<u8>, DecodeError> {
        let at = self.pos;
        let n = self.u32()? as usize;
        if n > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::Invalid {
                what: "length exceeds the envelope size limit",
                at,
            });
        }
        Ok(self.take(n)?.to_vec())
    }
    fn str(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let b = self.bytes16()?;
        if b.len() > MAX_STR {
            return Err(DecodeError::Invalid {
                what: "text longer than 1024 bytes",
                at,
            });
        }
        String::from_utf8(b).map_err(|_| DecodeError::Invalid {
            what: "text is not UTF-8",
            at,
        })
    }
}
