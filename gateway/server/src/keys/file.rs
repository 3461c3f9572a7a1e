//! Key files: `institutions/<id>/secrets.json` (of any suite) and
//! `secrets.<suite>.json` for a key of another suite (docs/keys.md), one key
//! version each, 0600.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use veilgate_core::{InstitutionSecrets, SuiteId};

use super::{Backend, HeldKey, Keyring};

/// The key files of hosted member `id`, by suite. Errors name the file.
pub fn file_keyring(data_dir: &Path, id: &str) -> Result<BTreeMap<SuiteId, Keyring>, String> {
    let dir = data_dir.join("institutions").join(id);
    let mut paths = vec![dir.join("secrets.json")];
    for suite in [SuiteId::Standard, SuiteId::Sm] {
        let p = dir.join(format!("secrets.{}.json", suite.name()));
        if p.exists() {
            paths.push(p);
        }
    }
    let mut keys: BTreeMap<SuiteId, (InstitutionSecrets, PathBuf)> = BTreeMap::new();
    for path in paths {
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let secrets =
            InstitutionSecrets::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if secrets.id != id {
            return Err(format!(
                "{}: holds the keys of `{}`, not of `{id}`",
                path.display(),
                secrets.id
            ));
        }
        if let Some((_, first)) = keys.get(&secrets.suite) {
            return Err(format!(
                "{}: a second key of suite `{}` (the first is in {})",
                path.display(),
                secrets.suite.name(),
                first.display()
            ));
        }
        keys.insert(secrets.suite, (secrets, path));
    }
    Ok(keys
        .into_iter()
        .map(|(suite, (s, _))| {
            (
                suite,
                Keyring::new(id, suite, Backend::File, vec![HeldKey::File(s)]),
            )
        })
        .collect())
}

/// Where a member's key file of `suite` goes (what an error tells the operator).
pub fn key_file_path(data_dir: &Path, id: &str, suite: SuiteId) -> PathBuf {
    data_dir
        .join("institutions")
        .join(id)
        .join(format!("secrets.{}.json", suite.name()))
}
