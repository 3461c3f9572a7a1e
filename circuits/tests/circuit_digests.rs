//! Circuit ids bound to their constraint systems.
//!
//! A verifying key is pinned by circuit id; if the constraint system under
//! an id changes, every key and proof made for that id silently stops
//! matching (this happened once: `compare64-v1` gained its strictness input
//! and kept its id). `tests/vectors/circuit-digests.json` pins the digest of
//! every id the catalog accepts (`Circuit::digest`, encoding in
//! `docs/notes-groth16.md`), and this test recomputes them all.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{json, Value};
use veilgate_circuits::groth16::catalog::Circuit;
use veilgate_circuits::groth16::sum::MAX_TERMS;
use veilgate_circuits::merkle::MAX_DEPTH;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/circuit-digests.json")
}

/// One entry per id: the digest, and the sizes so that a reader of a
/// failing diff sees at a glance what changed.
fn compute(id: &str) -> Value {
    let circuit = Circuit::from_id(id).unwrap_or_else(|| panic!("`{id}` is not a catalog id"));
    let m = circuit.matrices().unwrap();
    json!({
        "circuit": id,
        "public_inputs": m.num_instance - 1,
        "witnesses": m.num_witness,
        "constraints": m.a.len(),
        "digest": hex(&circuit.digest().unwrap()),
    })
}

#[test]
fn every_circuit_id_is_bound_to_its_constraint_system() {
    let ids = Circuit::all_ids();
    // The catalog's whole range, and nothing past its ends: a new id must
    // be added to `all_ids` (and so pinned here) before it can be used.
    assert_eq!(ids.len(), 3 + 16 + 32 + 32);
    for refused in [
        format!("sum{}x64-v1", MAX_TERMS + 1),
        format!("membership-d{}-v1", MAX_DEPTH + 1),
        format!("non-membership-d{}-v1", MAX_DEPTH + 1),
        "sum0x64-v1".into(),
        "membership-d0-v1".into(),
        "non-membership-d0-v1".into(),
    ] {
        assert!(Circuit::from_id(&refused).is_none(), "{refused}");
    }

    let start = Instant::now();
    let now: Vec<Value> = ids.par_iter().map(|id| compute(id)).collect();
    eprintln!(
        "digests of {} circuits computed in {:.1?}",
        now.len(),
        start.elapsed()
    );

    let path = vector_path();
    if veilgate_circuits::vectors::write_mode().unwrap() {
        let doc = json!({
            "format": "veilgate groth16 circuit digests v1",
            "encoding": "SHA-256, see docs/notes-groth16.md#circuit-digests",
            "circuits": now,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; generate it once with VEILGATE_WRITE_VECTORS=1",
            path.display()
        )
    });
    let doc: Value = serde_json::from_str(&text).unwrap();
    let pinned: BTreeMap<&str, &Value> = doc["circuits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["circuit"].as_str().unwrap(), e))
        .collect();

    let mut problems = Vec::new();
    for entry in &now {
        let id = entry["circuit"].as_str().unwrap();
        match pinned.get(id) {
            None => problems.push(format!(
                "circuit `{id}` has no pinned digest: pin it (VEILGATE_WRITE_VECTORS=1) in the \
                 change that adds the id"
            )),
            Some(old) if *old != entry => problems.push(format!(
                "circuit `{id}` changed its constraint system (pinned {old}, now {entry}): a \
                 changed circuit needs a new id (e.g. `-v2`) and new keys; never re-pin an \
                 existing id"
            )),
            Some(_) => {}
        }
    }
    for id in pinned.keys() {
        if !ids.iter().any(|i| i == id) {
            problems.push(format!(
                "circuit `{id}` is pinned but the catalog no longer accepts it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
