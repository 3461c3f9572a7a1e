//! The Groth16 keys envelopes are proven and verified under, by circuit.
//!
//! A [`KeyRing`] is built once at start and passed in (see
//! [`crate::Trust`]); there is no process-global ring. Two origins:
//!
//! - [`KeyRing::load`]: key files named by their hash
//!   (`<circuit id>-<key id hex>.{vk,pk}`, `veilgate_circuits::groth16::Keys`),
//!   each checked against its own id and its circuit's shape. A ceremony's
//!   output drops in here.
//! - [`KeyRing::development`]: deterministic keys derived from each circuit
//!   id, built on first use. **Anyone can forge proofs under them**
//!   (`docs/notes-groth16.md`, "Setup and trust"): for `--dev`, the demo and
//!   tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::sum::{SumCircuit, MAX_TERMS};
use veilgate_circuits::groth16::{Groth16Error, Keys, Statement};
use veilgate_policies::{Plan, Predicate};

/// A circuit envelopes use, as a predicate needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Circuit {
    Compare,
    DateThreshold,
    /// A sum of this many terms.
    Sum(usize),
}

impl Circuit {
    /// The circuit a predicate is proven with, if envelopes support it.
    pub fn of(p: &Predicate) -> Option<Circuit> {
        match p {
            Predicate::Compare { .. } => Some(Circuit::Compare),
            Predicate::AgeAtLeast { .. } => Some(Circuit::DateThreshold),
            Predicate::Sum { terms, .. } if (1..=MAX_TERMS).contains(&terms.len()) => {
                Some(Circuit::Sum(terms.len()))
            }
            _ => None,
        }
    }

    /// The circuits a plan's predicates need.
    pub fn all_of(plan: &Plan) -> BTreeSet<Circuit> {
        plan.predicates.iter().filter_map(Circuit::of).collect()
    }

    /// The circuit id its keys are named and hashed with.
    pub fn id(&self) -> String {
        match self {
            Circuit::Compare => CompareCircuit::shape().circuit_id(),
            Circuit::DateThreshold => DateThresholdCircuit::shape().circuit_id(),
            Circuit::Sum(n) => SumCircuit::shape(*n).circuit_id(),
        }
    }

    /// The circuit's constraint system as an iden3 `.r1cs` file, exactly the
    /// one its keys are set up over (for a ceremony, or to check with snarkjs).
    pub fn r1cs(&self) -> Result<Vec<u8>, Groth16Error> {
        use veilgate_circuits::groth16::constraint_matrices;
        let m = match self {
            Circuit::Compare => constraint_matrices(&CompareCircuit::shape())?,
            Circuit::DateThreshold => constraint_matrices(&DateThresholdCircuit::shape())?,
            Circuit::Sum(n) => constraint_matrices(&SumCircuit::shape(*n))?,
        };
        Ok(veilgate_circuits::ceremony::r1cs::write(&m))
    }

    /// The circuit a key file's circuit id names, if envelopes use it.
    pub fn from_id(id: &str) -> Option<Circuit> {
        if id == Circuit::Compare.id() {
            return Some(Circuit::Compare);
        }
        if id == Circuit::DateThreshold.id() {
            return Some(Circuit::DateThreshold);
        }
        (1..=MAX_TERMS).map(Circuit::Sum).find(|c| c.id() == id)
    }
}

/// One circuit's keys (shared: checks hold them while they wait in a batch).
#[derive(Clone)]
pub enum CircuitKeys {
    Compare(Arc<Keys<CompareCircuit>>),
    DateThreshold(Arc<Keys<DateThresholdCircuit>>),
    Sum(Arc<Keys<SumCircuit>>),
}

impl CircuitKeys {
    pub fn id(&self) -> [u8; 32] {
        match self {
            CircuitKeys::Compare(k) => k.id(),
            CircuitKeys::DateThreshold(k) => k.id(),
            CircuitKeys::Sum(k) => k.id(),
        }
    }

    pub fn circuit_id(&self) -> &str {
        match self {
            CircuitKeys::Compare(k) => k.circuit_id(),
            CircuitKeys::DateThreshold(k) => k.circuit_id(),
            CircuitKeys::Sum(k) => k.circuit_id(),
        }
    }

    pub fn verifying_key(&self) -> &ark_groth16::VerifyingKey<ark_bn254::Bn254> {
        match self {
            CircuitKeys::Compare(k) => k.verifying_key(),
            CircuitKeys::DateThreshold(k) => k.verifying_key(),
            CircuitKeys::Sum(k) => k.verifying_key(),
        }
    }

    fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), Groth16Error> {
        match self {
            CircuitKeys::Compare(k) => k.write(dir),
            CircuitKeys::DateThreshold(k) => k.write(dir),
            CircuitKeys::Sum(k) => k.write(dir),
        }
    }

    fn development(c: Circuit) -> Result<CircuitKeys, Groth16Error> {
        Ok(match c {
            Circuit::Compare => {
                CircuitKeys::Compare(Arc::new(Keys::dev_setup(&CompareCircuit::shape())?))
            }
            Circuit::DateThreshold => CircuitKeys::DateThreshold(Arc::new(Keys::dev_setup(
                &DateThresholdCircuit::shape(),
            )?)),
            Circuit::Sum(n) => CircuitKeys::Sum(Arc::new(Keys::dev_setup(&SumCircuit::shape(n))?)),
        })
    }

    fn load(dir: &Path, c: Circuit, id: [u8; 32]) -> Result<CircuitKeys, Groth16Error> {
        Ok(match c {
            Circuit::Compare => {
                CircuitKeys::Compare(Arc::new(Keys::load(dir, &CompareCircuit::shape(), id)?))
            }
            Circuit::DateThreshold => CircuitKeys::DateThreshold(Arc::new(Keys::load(
                dir,
                &DateThresholdCircuit::shape(),
                id,
            )?)),
            Circuit::Sum(n) => {
                CircuitKeys::Sum(Arc::new(Keys::load(dir, &SumCircuit::shape(n), id)?))
            }
        })
    }
}

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    #[error("no Groth16 keys for circuit `{circuit}` in {dir}")]
    Missing { circuit: String, dir: String },
    #[error("{dir}: two keys for circuit `{circuit}` ({first} and {second}); keep one")]
    Ambiguous {
        dir: String,
        circuit: String,
        first: String,
        second: String,
    },
    #[error("{path}: {reason}")]
    Dir { path: String, reason: String },
    #[error(transparent)]
    Key(#[from] Groth16Error),
}

/// Where a ring's keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Deterministic from the circuit ids: anyone can forge proofs.
    Development,
    /// Key files in this directory.
    Files(PathBuf),
}

pub struct KeyRing {
    origin: Origin,
    keys: Mutex<BTreeMap<Circuit, CircuitKeys>>,
}

impl KeyRing {
    /// Development keys, built per circuit on first use (a fraction of a
    /// second each). Anyone can forge proofs under them.
    pub fn development() -> KeyRing {
        KeyRing {
            origin: Origin::Development,
            keys: Mutex::new(BTreeMap::new()),
        }
    }

    /// Every key pair in `dir` for a circuit envelopes use (files of other
    /// circuits are left alone). Each is checked against its id and shape.
    /// A directory that does not exist holds no keys: policies without
    /// predicates need none, and [`KeyRing::require`] names what is missing.
    pub fn load(dir: &Path) -> Result<KeyRing, KeyRingError> {
        let shown = dir.display().to_string();
        if !dir.exists() {
            return Ok(KeyRing {
                origin: Origin::Files(dir.to_owned()),
                keys: Mutex::new(BTreeMap::new()),
            });
        }
        let listing = std::fs::read_dir(dir).map_err(|e| KeyRingError::Dir {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut found: BTreeMap<Circuit, (String, [u8; 32])> = BTreeMap::new();
        for item in listing {
            let name = item
                .map_err(|e| KeyRingError::Dir {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?
                .file_name()
                .to_string_lossy()
                .into_owned();
            let Some((circuit, id)) = parse_key_file(&name) else {
                continue;
            };
            if let Some((first, _)) = found.get(&circuit) {
                return Err(KeyRingError::Ambiguous {
                    dir: shown,
                    circuit: circuit.id(),
                    first: first.clone(),
                    second: name,
                });
            }
            found.insert(circuit, (name, id));
        }
        let mut keys = BTreeMap::new();
        for (circuit, (_, id)) in found {
            keys.insert(circuit, CircuitKeys::load(dir, circuit, id)?);
        }
        Ok(KeyRing {
            origin: Origin::Files(dir.to_owned()),
            keys: Mutex::new(keys),
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn is_development(&self) -> bool {
        self.origin == Origin::Development
    }

    /// The keys of `circuit`: held, or (development ring) built now.
    pub fn get(&self, circuit: Circuit) -> Result<CircuitKeys, KeyRingError> {
        let mut keys = self.keys.lock().map_err(|_| KeyRingError::Dir {
            path: "key ring".into(),
            reason: "a thread panicked while building keys".into(),
        })?;
        if let Some(k) = keys.get(&circuit) {
            return Ok(k.clone());
        }
        match &self.origin {
            Origin::Development => {
                let k = CircuitKeys::development(circuit)?;
                keys.insert(circuit, k.clone());
                Ok(k)
            }
            Origin::Files(dir) => Err(KeyRingError::Missing {
                circuit: circuit.id(),
                dir: dir.display().to_string(),
            }),
        }
    }

    /// Checks that every circuit `plan` needs has keys here (at start, so a
    /// policy the gateway cannot prove is found before any request).
    pub fn require(&self, plan: &Plan) -> Result<(), KeyRingError> {
        Circuit::all_of(plan)
            .into_iter()
            .try_for_each(|c| self.get(c).map(|_| ()))
    }

    /// The key id this ring holds for a predicate's circuit.
    pub fn key_id(&self, p: &Predicate) -> Option<[u8; 32]> {
        self.get(Circuit::of(p)?).ok().map(|k| k.id())
    }

    /// The circuits whose keys here are the development keys (derived from
    /// the circuit id, so anyone can forge proofs under them), found by
    /// deriving those keys again and comparing ids — a renamed or unmarked
    /// development key is still found.
    pub fn development_circuits(&self) -> Result<Vec<String>, KeyRingError> {
        let held: Vec<(Circuit, [u8; 32])> = match self.keys.lock() {
            Ok(keys) => keys.iter().map(|(c, k)| (*c, k.id())).collect(),
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for (c, id) in held {
            if CircuitKeys::development(c)?.id() == id {
                out.push(c.id());
            }
        }
        Ok(out)
    }

    /// Writes the keys of `circuits` into `dir` (files named by hash).
    pub fn write(&self, dir: &Path, circuits: &BTreeSet<Circuit>) -> Result<(), KeyRingError> {
        std::fs::create_dir_all(dir).map_err(|e| KeyRingError::Dir {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        for c in circuits {
            self.get(*c)?.write(dir)?;
        }
        Ok(())
    }
}

/// `<circuit id>-<64 hex>.vk` → the circuit and key id.
fn parse_key_file(name: &str) -> Option<(Circuit, [u8; 32])> {
    let stem = name.strip_suffix(".vk")?;
    let (circuit, id) = stem.rsplit_once('-')?;
    let id: [u8; 32] = hex::decode(id).ok()?.try_into().ok()?;
    Some((Circuit::from_id(circuit)?, id))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn circuit_ids_round_trip() {
        for c in [
            Circuit::Compare,
            Circuit::DateThreshold,
            Circuit::Sum(1),
            Circuit::Sum(16),
        ] {
            assert_eq!(Circuit::from_id(&c.id()), Some(c));
        }
        assert_eq!(Circuit::from_id("range64-v1"), None);
        assert_eq!(Circuit::from_id("sum17x64-v1"), None);
    }

    #[test]
    fn written_keys_load_by_hash_and_a_missing_circuit_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let dev = KeyRing::development();
        let want: BTreeSet<_> = [Circuit::Compare, Circuit::Sum(2)].into();
        dev.write(dir.path(), &want).unwrap();
        let loaded = KeyRing::load(dir.path()).unwrap();
        assert!(!loaded.is_development());
        for c in &want {
            assert_eq!(loaded.get(*c).unwrap().id(), dev.get(*c).unwrap().id());
        }
        let e = loaded
            .get(Circuit::DateThreshold)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("date-threshold-v1"), "{e}");
    }

    #[test]
    fn development_keys_are_recognised_by_their_ids() {
        use rand_chacha::rand_core::SeedableRng;
        let dir = tempfile::tempdir().unwrap();
        KeyRing::development()
            .write(dir.path(), &[Circuit::Compare].into())
            .unwrap();
        Keys::setup(
            &DateThresholdCircuit::shape(),
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(5),
        )
        .unwrap()
        .write(dir.path())
        .unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        assert_eq!(ring.development_circuits().unwrap(), ["compare64-v1"]);
    }

    #[test]
    fn two_keys_for_one_circuit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::development()
            .write(dir.path(), &[Circuit::Compare].into())
            .unwrap();
        let vk = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "vk"))
            .unwrap();
        std::fs::write(
            dir.path()
                .join(format!("compare64-v1-{}.vk", "ab".repeat(32))),
            std::fs::read(vk).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            KeyRing::load(dir.path()),
            Err(KeyRingError::Ambiguous { .. })
        ));
    }
}
