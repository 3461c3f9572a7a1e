//! The Groth16 keys envelopes are proven and verified under, by circuit.
//!
//! A [`KeyRing`] is built once at start and passed in (see
//! [`crate::Trust`]); there is no process-global ring. Two origins:
//!
//! - [`KeyRing::load`]: key files named by their hash
//!   (`<circuit id>-<key id hex>.{vk,pk}`, `veilgate_circuits::groth16::Keys`),
//!   each checked against its own id and its circuit's shape. A ceremony's
//!   output drops in here. A folder may hold several keys for one circuit
//!   (an old ceremony's and a new one's): a policy then pins the one it
//!   proves under (`require key`), and a proof is checked under the key it
//!   names, so old envelopes keep verifying.
//! - [`KeyRing::development`]: deterministic keys derived from each circuit
//!   id, built on first use. **Anyone can forge proofs under them**
//!   (`docs/notes-groth16.md`, "Setup and trust"): for `--dev`, the demo and
//!   tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::sum::{SumCircuit, MAX_TERMS};
use veilgate_circuits::groth16::{Groth16Error, Keys, Statement};
use veilgate_policies::{Plan, Predicate};

use crate::sets::SET_DEPTH;

/// A circuit envelopes use, as a predicate needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Circuit {
    Compare,
    DateThreshold,
    /// A sum of this many terms.
    Sum(usize),
    /// Membership in a set published by root ([`crate::sets::SET_DEPTH`]).
    Membership,
    /// Non-membership in a set published by root.
    NonMembership,
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
            Predicate::Member { negated: false, .. } => Some(Circuit::Membership),
            Predicate::Member { negated: true, .. } => Some(Circuit::NonMembership),
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
            Circuit::Membership => MembershipCircuit::shape(SET_DEPTH).circuit_id(),
            Circuit::NonMembership => NonMembershipCircuit::shape(SET_DEPTH).circuit_id(),
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
            Circuit::Membership => constraint_matrices(&MembershipCircuit::shape(SET_DEPTH))?,
            Circuit::NonMembership => constraint_matrices(&NonMembershipCircuit::shape(SET_DEPTH))?,
        };
        Ok(veilgate_circuits::ceremony::r1cs::write(&m))
    }

    /// The circuit a key file's circuit id names, if envelopes use it.
    pub fn from_id(id: &str) -> Option<Circuit> {
        if id == Circuit::Compare.id() {
            return Some(Circuit::Compare);
        }
        for c in [
            Circuit::DateThreshold,
            Circuit::Membership,
            Circuit::NonMembership,
        ] {
            if id == c.id() {
                return Some(c);
            }
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
    Membership(Arc<Keys<MembershipCircuit>>),
    NonMembership(Arc<Keys<NonMembershipCircuit>>),
}

impl CircuitKeys {
    pub fn id(&self) -> [u8; 32] {
        match self {
            CircuitKeys::Compare(k) => k.id(),
            CircuitKeys::DateThreshold(k) => k.id(),
            CircuitKeys::Sum(k) => k.id(),
            CircuitKeys::Membership(k) => k.id(),
            CircuitKeys::NonMembership(k) => k.id(),
        }
    }

    pub fn circuit_id(&self) -> &str {
        match self {
            CircuitKeys::Compare(k) => k.circuit_id(),
            CircuitKeys::DateThreshold(k) => k.circuit_id(),
            CircuitKeys::Sum(k) => k.circuit_id(),
            CircuitKeys::Membership(k) => k.circuit_id(),
            CircuitKeys::NonMembership(k) => k.circuit_id(),
        }
    }

    pub fn verifying_key(&self) -> &ark_groth16::VerifyingKey<ark_bn254::Bn254> {
        match self {
            CircuitKeys::Compare(k) => k.verifying_key(),
            CircuitKeys::DateThreshold(k) => k.verifying_key(),
            CircuitKeys::Sum(k) => k.verifying_key(),
            CircuitKeys::Membership(k) => k.verifying_key(),
            CircuitKeys::NonMembership(k) => k.verifying_key(),
        }
    }

    fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf), Groth16Error> {
        match self {
            CircuitKeys::Compare(k) => k.write(dir),
            CircuitKeys::DateThreshold(k) => k.write(dir),
            CircuitKeys::Sum(k) => k.write(dir),
            CircuitKeys::Membership(k) => k.write(dir),
            CircuitKeys::NonMembership(k) => k.write(dir),
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
            Circuit::Membership => CircuitKeys::Membership(Arc::new(Keys::dev_setup(
                &MembershipCircuit::shape(SET_DEPTH),
            )?)),
            Circuit::NonMembership => CircuitKeys::NonMembership(Arc::new(Keys::dev_setup(
                &NonMembershipCircuit::shape(SET_DEPTH),
            )?)),
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
            Circuit::Membership => CircuitKeys::Membership(Arc::new(Keys::load(
                dir,
                &MembershipCircuit::shape(SET_DEPTH),
                id,
            )?)),
            Circuit::NonMembership => CircuitKeys::NonMembership(Arc::new(Keys::load(
                dir,
                &NonMembershipCircuit::shape(SET_DEPTH),
                id,
            )?)),
        })
    }
}

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRingError {
    #[error("no Groth16 keys for circuit `{circuit}` in {dir}")]
    Missing { circuit: String, dir: String },
    #[error("no Groth16 key {key} for circuit `{circuit}` in {dir} (the policy pins it)")]
    PinnedMissing {
        circuit: String,
        key: String,
        dir: String,
    },
    #[error("{dir}: {count} keys for circuit `{circuit}` and the policy pins none; pin one with `require key {circuit} <key id>`")]
    Ambiguous {
        dir: String,
        circuit: String,
        count: usize,
    },
    #[error(
        "policy `{policy}` pins a key for circuit `{circuit}`, which none of its predicates use"
    )]
    PinUnused { policy: String, circuit: String },
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
    /// Per circuit, every key held (development rings: built on first use).
    keys: Mutex<BTreeMap<Circuit, Vec<CircuitKeys>>>,
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
        let mut found: Vec<(Circuit, [u8; 32])> = Vec::new();
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
            found.push((circuit, id));
        }
        // In name order, so a ring lists its keys the same way every start.
        found.sort();
        let mut keys: BTreeMap<Circuit, Vec<CircuitKeys>> = BTreeMap::new();
        for (circuit, id) in found {
            keys.entry(circuit)
                .or_default()
                .push(CircuitKeys::load(dir, circuit, id)?);
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

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, BTreeMap<Circuit, Vec<CircuitKeys>>>, KeyRingError> {
        self.keys.lock().map_err(|_| KeyRingError::Dir {
            path: "key ring".into(),
            reason: "a thread panicked while building keys".into(),
        })
    }

    /// The keys held for `circuit`; a development ring builds its one key now.
    fn held(&self, circuit: Circuit) -> Result<Vec<CircuitKeys>, KeyRingError> {
        let mut keys = self.lock()?;
        if let Some(k) = keys.get(&circuit).filter(|k| !k.is_empty()) {
            return Ok(k.clone());
        }
        match &self.origin {
            Origin::Development => {
                let k = CircuitKeys::development(circuit)?;
                keys.insert(circuit, vec![k.clone()]);
                Ok(vec![k])
            }
            Origin::Files(_) => Ok(Vec::new()),
        }
    }

    fn dir_shown(&self) -> String {
        match &self.origin {
            Origin::Development => "the development key ring".into(),
            Origin::Files(dir) => dir.display().to_string(),
        }
    }

    /// The one key of `circuit` (what a policy that pins none proves under).
    pub fn get(&self, circuit: Circuit) -> Result<CircuitKeys, KeyRingError> {
        let mut held = self.held(circuit)?;
        match held.len() {
            0 => Err(KeyRingError::Missing {
                circuit: circuit.id(),
                dir: self.dir_shown(),
            }),
            1 => Ok(held.remove(0)),
            count => Err(KeyRingError::Ambiguous {
                dir: self.dir_shown(),
                circuit: circuit.id(),
                count,
            }),
        }
    }

    /// The key with id `id` for `circuit`, if held (what a proof naming
    /// that key is checked under).
    pub fn by_id(&self, circuit: Circuit, id: [u8; 32]) -> Option<CircuitKeys> {
        self.held(circuit).ok()?.into_iter().find(|k| k.id() == id)
    }

    /// The key `plan` proves `circuit` under: the one it pins, or else the
    /// one held.
    pub fn for_plan(&self, plan: &Plan, circuit: Circuit) -> Result<CircuitKeys, KeyRingError> {
        match plan.keys.get(&circuit.id()) {
            Some(pin) => self
                .by_id(circuit, *pin)
                .ok_or_else(|| KeyRingError::PinnedMissing {
                    circuit: circuit.id(),
                    key: hex::encode(pin),
                    dir: self.dir_shown(),
                }),
            None => self.get(circuit),
        }
    }

    /// Checks that every circuit `plan` needs has its key here, and that
    /// each key it pins is for a circuit it uses (at start, so a policy the
    /// gateway cannot prove is found before any request).
    pub fn require(&self, plan: &Plan) -> Result<(), KeyRingError> {
        let used = Circuit::all_of(plan);
        let used_ids: BTreeSet<String> = used.iter().map(Circuit::id).collect();
        if let Some(c) = plan.keys.keys().find(|c| !used_ids.contains(*c)) {
            return Err(KeyRingError::PinUnused {
                policy: plan.id.clone(),
                circuit: c.clone(),
            });
        }
        used.into_iter()
            .try_for_each(|c| self.for_plan(plan, c).map(|_| ()))
    }

    /// The key id `plan` proves a predicate under.
    pub fn key_id(&self, plan: &Plan, p: &Predicate) -> Option<[u8; 32]> {
        self.for_plan(plan, Circuit::of(p)?).ok().map(|k| k.id())
    }

    /// The circuits whose keys here are the development keys (derived from
    /// the circuit id, so anyone can forge proofs under them), found by
    /// deriving those keys again and comparing ids — a renamed or unmarked
    /// development key is still found.
    pub fn development_circuits(&self) -> Result<Vec<String>, KeyRingError> {
        let held: Vec<(Circuit, [u8; 32])> = match self.keys.lock() {
            Ok(keys) => keys
                .iter()
                .flat_map(|(c, ks)| ks.iter().map(move |k| (*c, k.id())))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for (c, id) in held {
            if CircuitKeys::development(c)?.id() == id && !out.contains(&c.id()) {
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
            Circuit::Membership,
            Circuit::NonMembership,
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
    fn two_keys_for_one_circuit_load_and_need_a_pin() {
        use rand_chacha::rand_core::SeedableRng;
        let dir = tempfile::tempdir().unwrap();
        KeyRing::development()
            .write(dir.path(), &[Circuit::Compare].into())
            .unwrap();
        Keys::setup(
            &CompareCircuit::shape(),
            &mut rand_chacha::ChaCha20Rng::seed_from_u64(9),
        )
        .unwrap()
        .write(dir.path())
        .unwrap();
        // Both load; a policy that pins neither cannot choose, each is
        // found by the id a proof names.
        let ring = KeyRing::load(dir.path()).unwrap();
        assert!(matches!(
            ring.get(Circuit::Compare),
            Err(KeyRingError::Ambiguous { count: 2, .. })
        ));
        let dev = KeyRing::development().get(Circuit::Compare).unwrap().id();
        assert_eq!(ring.by_id(Circuit::Compare, dev).unwrap().id(), dev);
        assert!(ring.by_id(Circuit::Compare, [7; 32]).is_none());
    }
}
