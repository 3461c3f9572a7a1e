//! `veilgate ceremony init | contribute | verify | finalize`: phase 2 of
//! the Groth16 setup, for every circuit a consortium's policies use, in
//! snarkjs's `.zkey` format.
//!
//! A ceremony is a folder with one `<circuit id>.zkey` per circuit (and its
//! `<circuit id>.r1cs`, for members who check or contribute with snarkjs).
//! Each step reads one folder and writes a new one — never over a file —
//! so every member's output stays as the evidence of its step. Before a
//! member adds anything, the folder is verified against the circuits and
//! the phase-1 transcript: a member never builds on a broken ceremony.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use veilgate_circuits::ceremony::phase2::{self, contribution_hash};
use veilgate_circuits::ceremony::ptau::{contributor_rng, Kind, Ptau};
use veilgate_circuits::ceremony::zkey::Zkey;
use veilgate_circuits::groth16::catalog::Circuit;
use veilgate_circuits::groth16::ConstraintMatrices;

use super::{read as read_ptau, transcript_err, write_new_bytes, CeremonyCommandError};
use crate::progress::stage;

/// The circuits to set up: named, or those the policies need.
#[derive(Args, Clone)]
pub struct Circuits {
    /// A circuit id, e.g. `compare64-v1` (repeatable).
    #[arg(long = "circuit")]
    circuits: Vec<String>,
    /// A policy file whose predicates' circuits to set up (repeatable).
    #[arg(long = "policy")]
    policies: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub enum Phase2Command {
    /// Start phase 2: each circuit's initial parameters from the prepared
    /// phase-1 transcript (what `snarkjs zkey new` computes).
    Init {
        /// The prepared phase-1 transcript (`ceremony ptau prepare`).
        #[arg(long)]
        ptau: PathBuf,
        #[command(flatten)]
        circuits: Circuits,
        /// The ceremony folder to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add your contribution to every circuit of a ceremony folder, after
    /// checking it: one secret δ′ per circuit, from the OS's randomness and
    /// your typed entropy, forgotten when the command ends.
    Contribute {
        /// The ceremony folder you received (checked before you contribute).
        #[arg(long = "in")]
        input: PathBuf,
        /// The folder for your output (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// The prepared phase-1 transcript the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// Your name in the record (at most 64 characters).
        #[arg(long)]
        name: String,
        /// Extra entropy mixed into the OS's randomness.
        #[arg(long, default_value = "")]
        entropy: String,
    },
    /// Check every circuit of a ceremony folder against its constraint
    /// system and the phase-1 transcript, naming the first bad contribution.
    Verify {
        /// The prepared phase-1 transcript the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// The ceremony folder.
        dir: PathBuf,
    },
    /// Close the ceremony: optionally a public random beacon as the last
    /// contribution, a full check, then the keys gateways load (named by
    /// hash) and each verifying key as snarkjs JSON.
    Finalize {
        /// The ceremony folder to close (checked first).
        #[arg(long = "in")]
        input: PathBuf,
        /// The prepared phase-1 transcript the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// The final ceremony folder (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Where the key files go (a gateway's `groth16_keys` folder).
        #[arg(long)]
        keys: PathBuf,
        /// The beacon value, hex (1–255 bytes), e.g. a future block hash.
        #[arg(long)]
        beacon: Option<String>,
        /// log2 of the beacon's SHA-256 iterations (10–63).
        #[arg(long, default_value_t = 10)]
        iterations_exp: u8,
    },
}

fn ceremony_err(path: &Path, message: impl std::fmt::Display) -> CeremonyCommandError {
    CeremonyCommandError::Ceremony {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// A circuit's constraint system, by id.
pub fn matrices(id: &str) -> Result<ConstraintMatrices, CeremonyCommandError> {
    circuit(id)?
        .matrices()
        .map_err(|e| CeremonyCommandError::Circuit(format!("{id}: {e}")))
}

fn circuit(id: &str) -> Result<Circuit, CeremonyCommandError> {
    Circuit::from_id(id).ok_or_else(|| CeremonyCommandError::Circuit(id.to_owned()))
}

fn wanted(c: &Circuits) -> Result<BTreeSet<String>, CeremonyCommandError> {
    let mut ids: BTreeSet<String> = c.circuits.iter().cloned().collect();
    for path in &c.policies {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CeremonyCommandError::Io {
            path: shown.clone(),
            source,
        })?;
        let plan = veilgate_policies::compile(&text).map_err(|e| CeremonyCommandError::Policy {
            path: shown.clone(),
            message: e.render(&shown, &text).trim_end().to_owned(),
        })?;
        ids.extend(
            veilgate_core::predicates::Circuit::all_of(&plan)
                .iter()
                .map(|c| c.id()),
        );
    }
    if ids.is_empty() {
        return Err(CeremonyCommandError::Circuit(
            "none named: give --circuit or --policy".into(),
        ));
    }
    Ok(ids)
}

/// The ceremony's files: `(circuit id, path)` for each `<id>.zkey`.
fn members_of(dir: &Path) -> Result<Vec<(String, PathBuf)>, CeremonyCommandError> {
    let io = |source| CeremonyCommandError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let path = e.map_err(io)?.path();
        if path.extension().is_some_and(|x| x == "zkey") {
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            circuit(&id).map_err(|_| {
                ceremony_err(
                    &path,
                    format!(
                        "`{id}` is not a circuit id ({})",
                        veilgate_circuits::groth16::catalog::ID_FORMS
                    ),
                )
            })?;
            out.push((id, path));
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(ceremony_err(dir, "no `<circuit id>.zkey` files"));
    }
    Ok(out)
}

fn read_zkey(path: &Path) -> Result<Zkey, CeremonyCommandError> {
    let bytes = std::fs::read(path).map_err(|source| CeremonyCommandError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Zkey::read(&bytes).map_err(|e| ceremony_err(path, e))
}

/// Checks a circuit's parameters against the transcript before a member
/// builds on them: by random linear combinations (seconds), every section
/// against the circuit and every contribution (`Zkey::check_circuit`).
fn check_input(path: &Path, id: &str, z: &Zkey, ptau: &Ptau) -> Result<(), CeremonyCommandError> {
    z.check_circuit(&matrices(id)?, ptau, &mut rand_core::OsRng)
        .map_err(|e| ceremony_err(path, e))
}

/// The full check (`snarkjs zkey verify`'s): the initial parameters are
/// recomputed from the circuit and the transcript and compared, circuit
/// hash included.
fn check(path: &Path, id: &str, z: &Zkey, ptau: &Ptau) -> Result<(), CeremonyCommandError> {
    let init = phase2::init(&matrices(id)?, ptau).map_err(|e| ceremony_err(path, e))?;
    z.verify_from(&init, &ptau.tau_g1, &mut rand_core::OsRng)
        .map_err(|e| ceremony_err(path, e))
}

fn create_dir(dir: &Path) -> Result<(), CeremonyCommandError> {
    if dir.exists() {
        return Err(CeremonyCommandError::Exists {
            path: dir.display().to_string(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| CeremonyCommandError::Io {
        path: dir.display().to_string(),
        source,
    })
}

fn write_r1cs(dir: &Path, id: &str) -> Result<(), CeremonyCommandError> {
    let bytes = veilgate_circuits::ceremony::r1cs::write(&matrices(id)?);
    write_new_bytes(&dir.join(format!("{id}.r1cs")), &bytes)
}

fn prepared(path: &Path) -> Result<Ptau, CeremonyCommandError> {
    let t = stage(format!("reading {}", path.display()), || read_ptau(path))?;
    stage(
        format!(
            "verifying the phase-1 transcript ({} contributions)",
            t.contributions.len()
        ),
        || {
            t.verify(&mut rand_core::OsRng)
                .map_err(transcript_err(path))
        },
    )?;
    if t.lagrange.is_none() {
        return Err(ceremony_err(
            path,
            "not prepared for phase 2 (run `veilgate ceremony ptau prepare`)",
        ));
    }
    Ok(t)
}

pub fn run(command: Phase2Command) -> Result<(), CeremonyCommandError> {
    match command {
        Phase2Command::Init {
            ptau,
            circuits,
            out,
        } => {
            let ids = wanted(&circuits)?;
            let t = prepared(&ptau)?;
            if out.exists() {
                return Err(CeremonyCommandError::Exists {
                    path: out.display().to_string(),
                });
            }
            // Every circuit first: a circuit the transcript cannot hold
            // leaves no half-made folder.
            let mut made = Vec::new();
            for id in &ids {
                let m = matrices(id)?;
                let z = stage(format!("{id}: first phase-2 parameters"), || {
                    phase2::init(&m, &t).map_err(|e| ceremony_err(&ptau, format!("{id}: {e}")))
                })?;
                made.push((id, m.a.len(), z));
            }
            create_dir(&out)?;
            for (id, constraints, z) in made {
                write_new_bytes(&out.join(format!("{id}.zkey")), &z.to_bytes())?;
                write_r1cs(&out, id)?;
                println!(
                    "{id}: {constraints} constraints, domain 2^{}, circuit hash {}",
                    z.domain_size.trailing_zeros(),
                    hex::encode(z.cs_hash)
                );
            }
            println!(
                "{}: ceremony started for {} circuits",
                out.display(),
                ids.len()
            );
        }
        Phase2Command::Contribute {
            input,
            out,
            ptau,
            name,
            entropy,
        } => {
            let t = prepared(&ptau)?;
            let members = members_of(&input)?;
            let mut next = Vec::new();
            for (id, path) in &members {
                let z = read_zkey(path)?;
                stage(format!("{id}: verifying the input"), || {
                    check_input(path, id, &z, &t)
                })?;
                let mut rng = contributor_rng(&mut rand_core::OsRng, &entropy);
                let z = stage(format!("{id}: contributing"), || {
                    z.contribute(&mut rng, &name)
                        .map_err(|e| ceremony_err(path, e))
                })?;
                next.push((id, z));
            }
            create_dir(&out)?;
            for (id, z) in &next {
                write_new_bytes(&out.join(format!("{id}.zkey")), &z.to_bytes())?;
                write_r1cs(&out, id)?;
                if let Some(c) = z.contributions.last() {
                    println!(
                        "{id}: contribution {} by `{name}`, hash {}",
                        z.contributions.len(),
                        hex::encode(contribution_hash(c))
                    );
                }
            }
        }
        Phase2Command::Verify { ptau, dir } => {
            let t = prepared(&ptau)?;
            for (id, path) in members_of(&dir)? {
                let z = read_zkey(&path)?;
                if z.contributions.is_empty() {
                    return Err(ceremony_err(
                        &path,
                        "no contributions: δ is still 1 and anyone can forge proofs",
                    ));
                }
                stage(format!("{id}: verifying every contribution"), || {
                    check(&path, &id, &z, &t)
                })?;
                println!("{id}: ok, {} contributions", z.contributions.len());
                for (i, c) in z.contributions.iter().enumerate() {
                    let kind = match c.kind {
                        Kind::Beacon { .. } => " (beacon)",
                        Kind::Contribution => "",
                    };
                    println!(
                        "  {}: {}{kind} {}",
                        i + 1,
                        c.name.as_deref().unwrap_or("(unnamed)"),
                        hex::encode(contribution_hash(c))
                    );
                }
            }
        }
        Phase2Command::Finalize {
            input,
            ptau,
            out,
            keys,
            beacon,
            iterations_exp,
        } => finalize(
            &input,
            &ptau,
            &out,
            &keys,
            beacon.as_deref(),
            iterations_exp,
        )?,
    }
    Ok(())
}

fn finalize(
    input: &Path,
    ptau: &Path,
    out: &Path,
    keys: &Path,
    beacon: Option<&str>,
    iterations_exp: u8,
) -> Result<(), CeremonyCommandError> {
    let t = prepared(ptau)?;
    let beacon = beacon
        .map(|h| hex::decode(h).map_err(|_| CeremonyCommandError::Hash))
        .transpose()?;
    let mut done = Vec::new();
    for (id, path) in members_of(input)? {
        let mut z = read_zkey(&path)?;
        if let Some(hash) = &beacon {
            // Checked below with the beacon on top: a bad input fails there.
            z = z
                .beacon(hash, iterations_exp, "beacon")
                .map_err(|e| ceremony_err(&path, e))?;
        }
        if z.contributions.is_empty() {
            return Err(ceremony_err(
                &path,
                "no contributions: δ is still 1 and anyone can forge proofs",
            ));
        }
        stage(format!("{id}: verifying every contribution"), || {
            check(&path, &id, &z, &t)
        })?;
        done.push((id, z));
    }
    create_dir(out)?;
    std::fs::create_dir_all(keys).map_err(|source| CeremonyCommandError::Io {
        path: keys.display().to_string(),
        source,
    })?;
    for (id, z) in &done {
        write_new_bytes(&out.join(format!("{id}.zkey")), &z.to_bytes())?;
        write_r1cs(out, id)?;
        let vk = veilgate_circuits::groth16::snarkjs::verifying_key(&z.verifying_key());
        write_new_bytes(
            &out.join(format!("{id}.vk.json")),
            vk.to_string().as_bytes(),
        )?;
        let pk = z.proving_key().map_err(|e| ceremony_err(out, e))?;
        let (vk_path, _, key_id) = circuit(id)?
            .write_keys(pk, keys)
            .map_err(|e| ceremony_err(keys, e))?;
        println!("{id}: key {} ({})", hex::encode(key_id), vk_path.display());
    }
    Ok(())
}
