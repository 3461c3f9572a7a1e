//! Every domain-separation string Veilgate uses, in one place.
//!
//! Fiat–Shamir transcript labels, AEAD associated-data prefixes, HPKE `info`
//! prefixes, hash and signature domains. Each carries a version: changing how a
//! string is used means a new string (`…/v2`), never an edit of an old one,
//! because envelopes written under the old one must keep verifying.

/// Transcript label for a bulletproofs range proof on one committed field.
pub const RANGE_PROOF_TRANSCRIPT: &[u8] = b"veilgate/range-proof/v1";

/// Transcript label for one bulletproofs proof covering several fields' ranges.
pub const RANGE_AGGREGATE_TRANSCRIPT: &[u8] = b"veilgate/range-proof-aggregate/v1";

/// Prefix of the bytes an envelope signature covers.
pub const ENVELOPE_SIGNATURE: &[u8] = b"veilgate/envelope/v1";

/// Hash domain deriving an envelope id from ledger, submitter and idempotency key.
pub const ENVELOPE_ID: &[u8] = b"veilgate/envelope-id/v1";

/// HPKE `info` prefix for wrapping a per-recipient data key.
pub const KEY_WRAP_INFO: &[u8] = b"veilgate/key-wrap/v1";

/// AES-GCM associated-data prefix for a field ciphertext.
pub const FIELD_AAD: &[u8] = b"veilgate/field/v1";

/// HMAC domain for per-ledger pseudonyms.
pub const PSEUDONYM: &[u8] = b"veilgate/pseudonym/v1";

/// Hash domain of a compiled policy plan (the canonical policy hash).
pub const POLICY_PLAN: &[u8] = b"veilgate/policy-plan/v1";

/// Hash domain of an embedded-ledger chain entry.
pub const LEDGER_ENTRY: &[u8] = b"veilgate/ledger-entry/v1";

/// Hash domain of a gateway audit-log entry.
pub const AUDIT_ENTRY: &[u8] = b"veilgate/audit-entry/v1";

/// Hash domain deriving the ledger id of an audit-log anchor.
pub const AUDIT_ANCHOR_ID: &[u8] = b"veilgate/audit-anchor-id/v1";

/// Hash domain of a submitted record (idempotency: same key, same record?).
pub const RECORD_DIGEST: &[u8] = b"veilgate/record-digest/v1";

/// Hash domain deriving a Groth16 development setup's randomness from the circuit id.
pub const GROTH16_DEV_SETUP: &[u8] = b"veilgate/groth16-dev-setup/v1";

/// Hash domain of a Groth16 key id (circuit id and verifying key).
pub const GROTH16_KEY_ID: &[u8] = b"veilgate/groth16-key-id/v1";

/// Hash domain of a Groth16 circuit digest (its constraint system, pinned per circuit id).
pub const GROTH16_CIRCUIT_DIGEST: &[u8] = b"veilgate/groth16-circuit-digest/v1";

/// Hash domain deriving a set element (Merkle leaf) from a string or bytes value.
pub const SET_MEMBER: &[u8] = b"veilgate/set-member/v1";

/// Hash domain of a member key id (one key version: signing and KEM public keys).
pub const MEMBER_KEY_ID: &[u8] = b"veilgate/member-key-id/v1";
