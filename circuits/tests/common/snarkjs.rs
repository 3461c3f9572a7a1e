//! snarkjs, the independent implementation the ceremony is checked against.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// snarkjs, when CI installed it (VEILGATE_SNARKJS); outside CI the
/// interop half of these tests is skipped with a message.
pub fn snarkjs() -> Option<PathBuf> {
    match std::env::var_os("VEILGATE_SNARKJS") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must set VEILGATE_SNARKJS (see .ci/run)")
        }
        None => {
            eprintln!("skipping the snarkjs cross-check: VEILGATE_SNARKJS is not set");
            None
        }
    }
}

pub fn run(snarkjs: &PathBuf, args: &[&str]) -> String {
    let out = Command::new("node")
        .arg(snarkjs)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "snarkjs {args:?}: {text}");
    text
}
