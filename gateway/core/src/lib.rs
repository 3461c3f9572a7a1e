//! Veilgate's pure core: the envelope format and the three functions every
//! party runs — [`seal`] (institution), [`verify`] (peer), [`open`] (recipient).
//!
//! No sockets, files or clocks here: time and randomness are arguments, so the
//! same code runs in the gateway, in peers' followers and in SDKs, and can be
//! fuzzed. It must never log, and no error it returns carries a field value.
#![forbid(unsafe_code)]

pub mod at_rest;
pub mod bind;
pub mod envelope;
pub mod keybook;
pub mod keys;
mod open;
pub mod predicates;
pub mod ranges;
pub mod recovery;
mod seal;
pub mod sets;
pub mod suite;
pub mod time;
mod trust;
mod verify;
pub mod view;

pub use bind::envelope_id;
pub use envelope::{DecodeError, Envelope, FieldBody, PredicateProof};
pub use keys::{
    Directory, EnvelopeSigner, InstitutionSecrets, KemAlg, KemDecap, KeyError, KeyId, KeyUseError,
    LedgerDirectory, MemberKey, MemberKeys, NewEpoch, PseudonymDirectory, PseudonymEpoch,
    PseudonymKey, PseudonymService, PublicShareEntry, SetRule,
};
pub use open::{open, open_with_data_key, unwrap_data_key, Access, OpenError, OpenedField};
pub use seal::{
    pseudonym_values, seal, sign_envelope, unsupported, valid_idempotency_key, ObliviousTags,
    Pseudonyms, SealError, SealRequest, MAX_IDEMPOTENCY_KEY,
};
pub use suite::SuiteId;
pub use trust::Trust;
pub use verify::{verify, verify_batch, PolicySet, Rejection, VerifiedEnvelope};

/// The design notes this core implements, rendered into rustdoc from `docs/`.
#[cfg(doc)]
pub mod design {
    /// The envelope format, byte by byte.
    #[doc = include_str!("../../../docs/envelope.md")]
    pub mod envelope {}
    /// The policy plan and its hash.
    #[doc = include_str!("../../../docs/policy-plan.md")]
    pub mod policy_plan {}
    /// Key files and the directory.
    #[doc = include_str!("../../../docs/keys.md")]
    pub mod keys {}
    /// The Groth16 statements, keys and trust.
    #[doc = include_str!("../../../docs/notes-groth16.md")]
    pub mod groth16 {}
}
