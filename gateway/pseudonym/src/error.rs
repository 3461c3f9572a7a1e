//! The crate's two error surfaces: the OPRF and its threshold variant, and
//! padding (which `open` maps on its own). Messages name indices, counts and
//! lengths, never an input value, blind, key or element.

/// Why a pseudonym could not be computed, evaluated or combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PseudonymError {
    // The caller's fault: arguments this crate refuses.
    /// A batch must hold at least one element.
    #[error("the batch is empty; send at least one element")]
    EmptyBatch,
    /// A batch is bounded so one request cannot monopolise a service.
    #[error("the batch holds {len} elements; at most {max} per request")]
    BatchTooLarge {
        /// Elements sent.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// RFC 9497 encodes the input length in two bytes.
    #[error("input `{index}` is {len} bytes long; an OPRF input is at most 65535 bytes")]
    InputTooLong {
        /// Position in the batch.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The ledger id is length-prefixed with two bytes.
    #[error("the ledger id is {len} bytes long; at most 65535")]
    LedgerTooLong {
        /// Its length.
        len: usize,
    },
    /// A key must be a canonical, non-zero ristretto255 scalar.
    #[error("the key is not a canonical non-zero ristretto255 scalar")]
    InvalidKey,
    /// RFC 9497 DeriveKeyPair failed (over-long info, or 256 unlucky counters).
    #[error("the key could not be derived from the seed and info")]
    KeyDerivation,
    /// `2 ≤ k ≤ n ≤ 255`.
    #[error("a {k}-of-{n} sharing is not allowed; need 2 ≤ k ≤ n ≤ 255")]
    InvalidThreshold {
        /// Shares needed.
        k: usize,
        /// Shares dealt.
        n: usize,
    },
    /// Share indices are the x-coordinates of the polynomial: distinct, non-zero.
    #[error("share index `{index}` is zero or appears twice")]
    BadShareIndex {
        /// The offending index.
        index: u32,
    },

    // The peer's fault: bytes from the other side of the protocol.
    /// What a service answers when a member sends a bad point.
    #[error("blinded element `{index}` is not a canonical non-identity ristretto255 encoding")]
    InvalidBlindedElement {
        /// Position in the batch.
        index: usize,
    },
    /// What a member concludes when a service sends a bad point.
    #[error("evaluated element `{index}` is not a canonical non-identity ristretto255 encoding")]
    InvalidEvaluatedElement {
        /// Position in the batch.
        index: usize,
    },
    /// One evaluated element per blinded one.
    #[error("the service answered {got} evaluated elements for {expected} blinded ones")]
    EvaluationCountMismatch {
        /// Elements blinded.
        expected: usize,
        /// Elements answered.
        got: usize,
    },
    /// The proof bytes are not two canonical scalars.
    #[error("the proof is not two canonical ristretto255 scalars")]
    InvalidProof,
    /// The key the service used is not the published one (or an element was altered).
    #[error("the evaluation proof does not verify against the service's public key: the service used another key or altered an element")]
    ProofRejected,
    /// A public key must be a canonical non-identity point.
    #[error("the public key is not a canonical non-identity ristretto255 encoding")]
    InvalidPublicKey,
    /// An answer from a share the directory does not list.
    #[error("no public share has index `{index}`")]
    UnknownShareIndex {
        /// The answer's index.
        index: u32,
    },
    /// Combining needs `k` answers whose proofs verify.
    #[error("{valid} valid answers, {needed} needed (rejected share indices: {rejected:?})")]
    TooFewValidShares {
        /// Answers whose proofs verified.
        valid: usize,
        /// The threshold `k`.
        needed: usize,
        /// Indices of the answers excluded.
        rejected: Vec<u32>,
    },
    /// The public shares do not lie on one polynomial through the public key.
    #[error("public share `{index}` is not consistent with the public key and the other shares")]
    PublicSharesInconsistent {
        /// The first share (or 0 for the public key itself) that fails.
        index: u32,
    },

    // Ours: only with negligible probability.
    /// Hashing an input to the group gave the identity (probability ~2⁻²⁵²).
    #[error("the OPRF computation failed")]
    Oprf,
}

/// Why a plaintext could not be padded or a padded plaintext was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PadError {
    /// `min` and `max` are powers of two with `32 ≤ min ≤ max ≤ 65536`.
    #[error("padding pow2 {min}..={max}: need powers of two with 32 ≤ min ≤ max ≤ 65536")]
    InvalidScheme {
        /// Smallest class.
        min: usize,
        /// Largest power-of-two class.
        max: usize,
    },
    /// The length prefix is two bytes.
    #[error("the plaintext is {len} bytes; at most 65535 can be padded")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Rule 1: the padded length must be a class.
    #[error("a padded plaintext of {len} bytes is not of a size class")]
    NotAClass {
        /// Its length.
        len: usize,
    },
    /// Rule 2: the prefix must fit inside the padded bytes.
    #[error("the length prefix says {n} bytes but only {room} follow it")]
    LengthPastEnd {
        /// The declared length.
        n: usize,
        /// Bytes after the prefix.
        room: usize,
    },
    /// Rule 3: padding bytes are zero.
    #[error("padding byte at offset {offset} is not zero")]
    NonZeroPadding {
        /// Offset in the padded bytes.
        offset: usize,
    },
    /// Rule 4: the class is the smallest that fits (one encoding per plaintext).
    #[error("{n} bytes are padded to {len}, but the smallest class that fits is {class}")]
    NotMinimal {
        /// The declared length.
        n: usize,
        /// The padded length.
        len: usize,
        /// The class it should be.
        class: usize,
    },
}
