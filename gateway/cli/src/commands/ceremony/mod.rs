//! `veilgate ceremony`: the Groth16 setup in snarkjs's formats, so a
//! consortium can run its own or build on a public transcript, and check
//! every step with snarkjs too. Phase 1 (`ptau new | contribute | beacon |
//! verify | prepare`, the powers of τ) is here; phase 2 (`init |
//! contribute | verify | finalize`, per circuit) in [`phase2`].

pub mod phase2;

use std::path::{Path, PathBuf};

use crate::progress::stage;
use clap::Subcommand;
use veilgate_circuits::ceremony::ptau::{contributor_rng, Ptau};
use veilgate_circuits::ceremony::CeremonyError;

#[derive(Subcommand)]
pub enum PtauCommand {
    /// Start a transcript of 2^power powers (no contribution yet).
    New {
        /// log2 of the number of powers: circuits of up to 2^power constraints.
        #[arg(long)]
        power: u32,
        /// The transcript file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add your contribution: secrets from the OS's randomness and your
    /// typed entropy, used once and forgotten.
    Contribute {
        /// The transcript you received (checked before you contribute).
        #[arg(long = "in")]
        input: PathBuf,
        /// Where your transcript goes (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Your name in the transcript (at most 64 characters).
        #[arg(long)]
        name: String,
        /// Extra entropy mixed into the OS's randomness.
        #[arg(long, default_value = "")]
        entropy: String,
    },
    /// Close with a public random beacon (e.g. a future block hash).
    Beacon {
        /// The transcript to close (checked first).
        #[arg(long = "in")]
        input: PathBuf,
        /// Where the closed transcript goes (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The beacon value, hex (1–255 bytes).
        #[arg(long)]
        hash: String,
        /// log2 of the SHA-256 iterations applied to it (10–63).
        #[arg(long, default_value_t = 10)]
        iterations_exp: u8,
        /// The beacon's name in the transcript.
        #[arg(long, default_value = "beacon")]
        name: String,
    },
    /// Check the whole transcript: every proof of knowledge, every update,
    /// the beacon, the powers, the last challenge (and the prepared
    /// sections, if any).
    Verify {
        /// The transcript file.
        file: PathBuf,
    },
    /// Prepare a checked transcript for phase 2: its powers as Lagrange
    /// bases (what `snarkjs powersoftau prepare phase2` writes).
    Prepare {
        /// The closed transcript (checked first).
        #[arg(long = "in")]
        input: PathBuf,
        /// Where the prepared transcript goes (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `veilgate ceremony r1cs`: a circuit's constraint system as an iden3
/// `.r1cs` file.
pub fn r1cs(circuit: &str, out: &Path) -> Result<(), CeremonyCommandError> {
    let bytes = veilgate_circuits::ceremony::r1cs::write(&phase2::matrices(circuit)?);
    if out.exists() {
        return Err(CeremonyCommandError::Exists {
            path: out.display().to_string(),
        });
    }
    std::fs::write(out, bytes).map_err(|source| CeremonyCommandError::Io {
        path: out.display().to_string(),
        source,
    })?;
    println!("{}: circuit `{circuit}`", out.display());
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum CeremonyCommandError {
    #[error("no circuit `{0}` ({forms})", forms = veilgate_circuits::groth16::catalog::ID_FORMS)]
    Circuit(String),
    #[error("{path}: {message}")]
    Policy { path: String, message: String },
    #[error("{path}: {message}")]
    Ceremony { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Transcript {
        path: String,
        #[source]
        source: CeremonyError,
    },
    #[error("{path} exists; choose a new file (a good transcript is never written over)")]
    Exists { path: String },
    #[error("--hash: not hex")]
    Hash,
}

pub(crate) fn read(path: &Path) -> Result<Ptau, CeremonyCommandError> {
    let bytes = std::fs::read(path).map_err(|source| CeremonyCommandError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ptau::read(&bytes).map_err(|source| CeremonyCommandError::Transcript {
        path: path.display().to_string(),
        source,
    })
}

pub(crate) fn verify(path: &Path, t: &Ptau) -> Result<(), CeremonyCommandError> {
    t.verify(&mut rand_core::OsRng)
        .map_err(|source| CeremonyCommandError::Transcript {
            path: path.display().to_string(),
            source,
        })
}

/// Writes a new file (never over an existing one), through a temporary
/// file renamed into place so a crash leaves no half transcript.
fn write_new(path: &Path, t: &Ptau) -> Result<(), CeremonyCommandError> {
    write_new_bytes(path, &t.to_bytes())
}

/// Writes a new file (never over an existing one) through a temporary.
pub(crate) fn write_new_bytes(path: &Path, bytes: &[u8]) -> Result<(), CeremonyCommandError> {
    if path.exists() {
        return Err(CeremonyCommandError::Exists {
            path: path.display().to_string(),
        });
    }
    let io = |source| CeremonyCommandError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub(crate) fn transcript_err(
    path: &Path,
) -> impl FnOnce(CeremonyError) -> CeremonyCommandError + '_ {
    move |source| CeremonyCommandError::Transcript {
        path: path.display().to_string(),
        source,
    }
}

fn verifying(t: &Ptau) -> String {
    format!(
        "verifying the transcript (2^{} powers, {} contributions)",
        t.power,
        t.contributions.len()
    )
}

pub fn ptau(command: PtauCommand) -> Result<(), CeremonyCommandError> {
    match command {
        PtauCommand::New { power, out } => {
            let t = stage(format!("making a transcript of 2^{power} powers"), || {
                Ptau::new(power).map_err(transcript_err(&out))
            })?;
            stage(format!("writing {}", out.display()), || write_new(&out, &t))?;
            println!("{}: new transcript of 2^{power} powers", out.display());
        }
        PtauCommand::Contribute {
            input,
            out,
            name,
            entropy,
        } => {
            let t = stage(format!("reading {}", input.display()), || read(&input))?;
            if !t.contributions.is_empty() {
                stage(verifying(&t), || verify(&input, &t))?;
            }
            let mut rng = contributor_rng(&mut rand_core::OsRng, &entropy);
            let next = stage(format!("contributing to 2^{} powers", t.power), || {
                t.contribute(&mut rng, &name)
                    .map_err(transcript_err(&input))
            })?;
            stage(format!("writing {}", out.display()), || {
                write_new(&out, &next)
            })?;
            println!(
                "{}: contribution {} by `{name}` added; challenge {}",
                out.display(),
                next.contributions.len(),
                hex::encode(next.challenge())
            );
        }
        PtauCommand::Beacon {
            input,
            out,
            hash,
            iterations_exp,
            name,
        } => {
            let t = stage(format!("reading {}", input.display()), || read(&input))?;
            stage(verifying(&t), || verify(&input, &t))?;
            let hash = hex::decode(hash).map_err(|_| CeremonyCommandError::Hash)?;
            let next = stage(
                format!("applying the beacon (2^{iterations_exp} hash iterations)"),
                || {
                    t.beacon(&hash, iterations_exp, &name)
                        .map_err(transcript_err(&input))
                },
            )?;
            stage(format!("writing {}", out.display()), || {
                write_new(&out, &next)
            })?;
            println!(
                "{}: beacon added as contribution {}",
                out.display(),
                next.contributions.len()
            );
        }
        PtauCommand::Verify { file } => {
            let t = stage(format!("reading {}", file.display()), || read(&file))?;
            stage(verifying(&t), || verify(&file, &t))?;
            println!(
                "{}: transcript ok — 2^{} powers, {} contributions",
                file.display(),
                t.power,
                t.contributions.len()
            );
            for (i, c) in t.contributions.iter().enumerate() {
                println!("  {}: {}", i + 1, c.name.as_deref().unwrap_or("(unnamed)"));
            }
            if t.lagrange.is_some() {
                println!("  prepared for phase 2");
            }
        }
        PtauCommand::Prepare { input, out } => {
            let t = stage(format!("reading {}", input.display()), || read(&input))?;
            stage(verifying(&t), || verify(&input, &t))?;
            let next = stage("computing the Lagrange bases for phase 2", || {
                t.prepare().map_err(transcript_err(&input))
            })?;
            stage(format!("writing {}", out.display()), || {
                write_new(&out, &next)
            })?;
            println!(
                "{}: prepared for phase 2 (circuits up to 2^{} rows)",
                out.display(),
                t.power
            );
        }
    }
    Ok(())
}
