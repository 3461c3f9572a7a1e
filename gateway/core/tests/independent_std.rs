//! The standard suite's known-answer vectors checked by implementations
//! written from `docs/` alone, in Python, so that vectors made by the code
//! under test cannot vouch for themselves: `independent_std.py` (envelope
//! vectors v1–v6, set root, plan hashes, record digests) and
//! `independent.py --check` (audit, outbox, ledger hash chain, verdict).
//!
//! Without python3 the tests skip with a message, except under CI, where
//! they fail: the CI script installs python3 and `cryptography`.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats/vectors")
}

/// Runs python3 with `args` in `dir`; `None` when python3 is missing outside CI.
fn python(dir: &Path, args: &[&str]) -> Option<Output> {
    match Command::new("python3").args(args).current_dir(dir).output() {
        Ok(out) => Some(out),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping the independent check: python3: {e}");
            None
        }
        Err(e) => panic!("CI needs python3: {e}"),
    }
}

fn report(out: &Output) -> String {
    format!(
        "status {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn an_implementation_from_the_docs_alone_verifies_the_standard_vectors() {
    let dir = vectors_dir();
    // Without arguments the script checks envelope-v1.json to envelope-v6.json
    // (a missing one fails), then set-root-v1.json, plan-hash-v1.json and
    // record-digest-v1.json.
    let Some(out) = python(&dir, &["independent_std.py"]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("checks passed"),
        "{}",
        report(&out)
    );
}

#[test]
fn the_format_vectors_match_what_the_docs_alone_compute() {
    let dir = vectors_dir();
    // independent.py reads its vectors by bare name, so it runs from their folder.
    let Some(out) = python(&dir, &["independent.py", "--check"]) else {
        return;
    };
    assert!(out.status.success(), "{}", report(&out));
}
