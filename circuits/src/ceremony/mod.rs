//! The Groth16 setup ceremony, in the file formats of snarkjs so that a
//! consortium can start from a public transcript (the Perpetual Powers of
//! Tau) and check a ceremony with an independent implementation.
//!
//! Built so far, for phase 1 (`.ptau`, [`ptau`]): the iden3 binary
//! container ([`binfile`]); points as snarkjs stores them ([`points`]);
//! its randomness reproduced bit for bit ([`rng`]: ChaCha seeded from a
//! hash, field elements and points drawn its way, hash to G2); proofs of
//! knowledge and beacons ([`pok`]); and `Ptau::verify`, which checks every
//! contribution's proofs of knowledge and updates, beacons, and that the
//! sections hold consecutive powers. Layouts and procedures:
//! `docs/research/snarkjs-formats.md`.
//!
//! Phase 1 is complete: new transcripts, contributions, beacons and
//! verification, all in snarkjs's format (snarkjs verifies ours; we verify
//! its). For phase 2, circuits export as iden3 `.r1cs` files ([`r1cs`]).
//! Not yet: the `.zkey` (initial parameters from the Lagrange basis,
//! contributions to δ, verification, import and export).

pub mod binfile;
pub mod blake2b;
pub mod lagrange;
pub mod phase2;
pub mod points;
pub mod pok;
pub mod ptau;
pub mod r1cs;
pub mod rng;
pub mod zkey;

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
