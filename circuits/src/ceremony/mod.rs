//! The Groth16 setup ceremony, in the file formats of snarkjs so that a
//! consortium can start from a public transcript (the Perpetual Powers of
//! Tau) and check a ceremony with an independent implementation.
//!
//! Built so far: the iden3 binary container ([`binfile`]) and phase 1's
//! `.ptau` transcript ([`ptau`]): read and written byte for byte, every
//! point checked to be on its curve and in its subgroup, and the pairing
//! checks that tie the powers together and each contribution to the one
//! before. Layouts: `docs/research/snarkjs-formats.md`.
//!
//! Not yet: the proof-of-knowledge hashes (BLAKE2b transcript, hash to G2,
//! beacon), contributing, and phase 2 (`.zkey`).

pub mod binfile;
pub mod points;
pub mod ptau;

/// Why a ceremony file was refused. Each names the file's part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    #[error("not a `{expected}` file (magic `{found}`)")]
    Magic { expected: String, found: String },
    #[error("file format version {found} is not supported (at most {max})")]
    Version { found: u32, max: u32 },
    #[error("truncated: {what}")]
    Truncated { what: String },
    #[error("section {0} is missing")]
    MissingSection(u32),
    #[error("section {0} appears more than once")]
    DuplicateSection(u32),
    #[error("section {id} ({name}) is {found} bytes, expected {expected}")]
    SectionSize {
        id: u32,
        name: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("{what}: point {index} is not a valid curve point ({reason})")]
    Point {
        what: &'static str,
        index: usize,
        reason: &'static str,
    },
    /// A pairing check failed: `check` names it, `contribution` which
    /// contribution it belongs to (1-based), if any.
    #[error("{}check failed: {check}", contribution.map_or(String::new(), |c| format!("contribution {c}: ")))]
    Check {
        contribution: Option<usize>,
        check: String,
    },
}
