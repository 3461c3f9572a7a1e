//! Data-directory helpers for tests.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use veilgate_core::predicates::KeyRing;
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory, PolicySet, Trust};

/// A fresh development data directory at `root/data` with `edits` made to
/// its `veilgate.toml` (each `from` must occur).
pub fn dev_data_dir(root: &Path, edits: &[(&str, &str)]) -> Result<PathBuf, String> {
    let data = root.join("data");
    crate::material::init(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    edit_config(&data, edits)?;
    Ok(data)
}

/// Replaces text in `veilgate.toml`; every `from` must occur.
pub fn edit_config(data: &Path, edits: &[(&str, &str)]) -> Result<(), String> {
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let mut text = std::fs::read_to_string(&cfg).map_err(|e| format!("{}: {e}", cfg.display()))?;
    for (from, to) in edits {
        if !text.contains(from) {
            return Err(format!("{} has no `{from}`", cfg.display()));
        }
        text = text.replace(from, to);
    }
    std::fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))
}

/// The directory of `ledger` in the data directory's consortium file.
pub fn ledger_directory(data: &Path, ledger: &str) -> Result<LedgerDirectory, String> {
    let path = data.join("consortium.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let d = Directory::from_json(&text).map_err(|e| e.to_string())?;
    d.ledger(ledger)
        .cloned()
        .ok_or_else(|| format!("ledger `{ledger}` is not in {}", path.display()))
}

/// An institution's secrets (its signing and unwrapping keys).
pub fn secrets(data: &Path, who: &str) -> Result<InstitutionSecrets, String> {
    let path = data.join("institutions").join(who).join("secrets.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    InstitutionSecrets::from_json(&text).map_err(|e| e.to_string())
}

/// What a peer of `ledger` trusts, read from a data directory: the ledger's
/// directory, the given policies, and the Groth16 keys in `keys/groth16`.
pub fn trust(data: &Path, ledger: &str, policies: PolicySet) -> Result<Trust, String> {
    let keys = KeyRing::load(&data.join("keys/groth16")).map_err(|e| e.to_string())?;
    Ok(Trust::new(
        ledger_directory(data, ledger)?,
        policies,
        Arc::new(keys),
    ))
}
