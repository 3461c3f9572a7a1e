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
    let mut rings: BTreeMap<SuiteId, Vec<HeldKey>> = keys
        .into_iter()
        .map(|(suite, (s, _))| (suite, vec![HeldKey::File(s)]))
        .collect();
    // Key versions made by rotations: `keys/<key id>.json`, one each.
    let rotated = dir.join("keys");
    if let Ok(files) = std::fs::read_dir(&rotated) {
        let mut paths: Vec<PathBuf> = files.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if let Some(named) = name.strip_suffix(".recovered.json") {
                let r = veilgate_core::keys::RecoveredKey::from_json(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if r.member != id || r.key().id.hex() != named {
                    return Err(format!(
                        "{}: holds recovered key {} of `{}`; it must be `{id}`'s and named by its key id",
                        path.display(),
                        r.key().id,
                        r.member
                    ));
                }
                rings
                    .entry(r.key().suite)
                    .or_default()
                    .push(HeldKey::Recovered(r));
                continue;
            }
            let s = InstitutionSecrets::from_json(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let named = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if s.id != id || s.key().id.hex() != named {
                return Err(format!(
                    "{}: holds key {} of `{}`; a rotated key file is named by its key id and held by its member (`{id}`)",
                    path.display(),
                    s.key().id,
                    s.id
                ));
            }
            rings.entry(s.suite).or_default().push(HeldKey::File(s));
        }
    }
    Ok(rings
        .into_iter()
        .map(|(suite, held)| (suite, Keyring::new(id, suite, Backend::File, held)))
        .collect())
}

/// Writes a rotation's new key to `institutions/<id>/keys/<key id>.json`
/// (0600, written to a temporary file and renamed), where the next start finds it.
pub fn store_rotated(data_dir: &Path, secrets: &InstitutionSecrets) -> Result<PathBuf, String> {
    let dir = data_dir.join("institutions").join(&secrets.id).join("keys");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.json", secrets.key().id.hex()));
    let tmp = dir.join(format!(".{}.tmp", secrets.key().id.hex()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = opts.open(&tmp)?;
        f.write_all(secrets.to_json().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Where a member's key file of `suite` goes (what an error tells the operator).
pub fn key_file_path(data_dir: &Path, id: &str, suite: SuiteId) -> PathBuf {
    data_dir
        .join("institutions")
        .join(id)
        .join(format!("secrets.{}.json", suite.name()))
}
