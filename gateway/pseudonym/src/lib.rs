//! Oblivious pseudonyms and length hiding: the primitives of issue 20.
//!
//! A pseudonym of a guessable value (account number, national id, company
//! name) is the RFC 9497 VOPRF (ristretto255-SHA512) of that value under a
//! key no member holds: one pseudonymisation service ([`Evaluator`]) or `k`
//! of `n` services holding Shamir shares of the key ([`threshold`]). A member
//! blinds its inputs ([`blind_batch`]), the service multiplies the blinded
//! points by its key and proves it used the published key (a batched DLEQ
//! proof), and the member checks the proof and unblinds ([`finalize_batch`],
//! [`threshold::combine`]). Whoever holds only public data and the member's
//! own files cannot compute a pseudonym offline, so a dictionary of account
//! numbers no longer reverses them.
//!
//! [`pad`] hides the length of a field plaintext up to a size class.
//!
//! This crate is pure: values in, values out, randomness passed in. It must
//! never do I/O, read a clock, put an input value, blind or key in an error
//! or `Debug` output, or keep a secret scalar without zeroizing it on drop.
//!
//! Cost, measured informally (release build, one core of a loaded 2-core
//! machine; not a benchmark): blind ≈ 45 µs per value; evaluate with proof
//! ≈ 190 µs for one element, ≈ 80 µs per element in batches of 16–256;
//! verify and finalize ≈ 270 µs for one, ≈ 125 µs per element in batches;
//! 2-of-3 combine ≈ 340 µs per element (batch of 16). HMAC was ≈ 1 µs.
//! Specification: `docs/pseudonyms.md`.
#![forbid(unsafe_code)]

mod error;
pub mod oprf;
pub mod pad;
pub mod threshold;

pub use error::{PadError, PseudonymError};
pub use oprf::{
    blind_batch, finalize_batch, pseudonym_input, pseudonym_key_info, valid_public_key, Blinded,
    Evaluator, ELEMENT_LEN, MAX_BATCH, PROOF_LEN, PSEUDONYM_INPUT_DOMAIN, PSEUDONYM_KEY_DOMAIN,
    TAG_LEN,
};
pub use pad::Padding;
