//! The gateway's loaded state: ledgers with their directories, policies,
//! pseudonym keys and storage; the signing keys it holds; admitted certificates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory, PolicySet, PseudonymKey};
use veilgate_ledger::{EmbeddedLedger, Ledger};
use veilgate_policies::Plan;

pub const CONFIG_FILE: &str = "gateway.json";

/// `gateway.json` in the data directory (format version 1).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatewayConfig {
    pub version: u32,
    pub ledgers: Vec<LedgerConfig>,
    /// Institutions whose signing keys this gateway holds (`institutions/<id>/secrets.json`).
    pub hosted: Vec<String>,
    /// SHA-256 of an admitted client certificate (DER, hex) → institution id.
    pub admitted: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerConfig {
    pub id: String,
    /// Policy files, relative to the data directory.
    pub policies: Vec<String>,
}

pub struct LedgerState {
    pub directory: LedgerDirectory,
    pub policies: PolicySet,
    /// Policy texts, so peers can fetch exactly the policy an envelope names.
    pub texts: Vec<(Arc<Plan>, String)>,
    pub pseudonym_key: PseudonymKey,
    pub ledger: Arc<dyn Ledger>,
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub ledgers: BTreeMap<String, LedgerState>,
    pub hosted: BTreeMap<String, InstitutionSecrets>,
    pub admitted: BTreeMap<[u8; 32], String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Config(String),
}

fn read(path: &Path) -> Result<String, StartError> {
    std::fs::read_to_string(path).map_err(|e| StartError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

impl AppState {
    pub fn load(data_dir: &Path) -> Result<Self, StartError> {
        let cfg_path = data_dir.join(CONFIG_FILE);
        let config: GatewayConfig =
            serde_json::from_str(&read(&cfg_path)?).map_err(|e| StartError::File {
                path: cfg_path.display().to_string(),
                message: e.to_string(),
            })?;
        if config.version != 1 {
            return Err(StartError::Config(format!(
                "{CONFIG_FILE} version {} is not supported",
                config.version
            )));
        }
        let dir_path = data_dir.join("consortium.json");
        let directory = Directory::from_json(&read(&dir_path)?).map_err(|e| StartError::File {
            path: dir_path.display().to_string(),
            message: e.to_string(),
        })?;

        let mut ledgers = BTreeMap::new();
        for lc in &config.ledgers {
            let ld = directory.ledger(&lc.id).cloned().ok_or_else(|| {
                StartError::Config(format!("ledger `{}` is not in consortium.json", lc.id))
            })?;
            let mut policies = PolicySet::default();
            let mut texts = Vec::new();
            for rel in &lc.policies {
                let path = data_dir.join(rel);
                let text = read(&path)?;
                let plan = veilgate_policies::compile(&text).map_err(|e| {
                    StartError::Config(e.render(&path.display().to_string(), &text))
                })?;
                if !plan.binds(&lc.id) {
                    return Err(StartError::Config(format!(
                        "{rel}: policy binds ledger `{}`, configured under `{}`",
                        plan.ledgers.join(", "),
                        lc.id
                    )));
                }
                policies.insert(plan.clone());
                texts.push((Arc::new(plan), text));
            }
            let ldir = data_dir.join("ledgers").join(&lc.id);
            let key_hex = read(&ldir.join("pseudonym.key"))?;
            let key: [u8; 32] = hex::decode(key_hex.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    StartError::Config(format!(
                        "ledgers/{}/pseudonym.key must be 32 bytes of hex",
                        lc.id
                    ))
                })?;
            let ledger = EmbeddedLedger::open(&ldir.join("ledger.redb"))
                .map_err(|e| StartError::Config(e.to_string()))?;
            ledgers.insert(
                lc.id.clone(),
                LedgerState {
                    directory: ld,
                    policies,
                    texts,
                    pseudonym_key: PseudonymKey(zeroize::Zeroizing::new(key)),
                    ledger: Arc::new(ledger),
                },
            );
        }
        let mut hosted = BTreeMap::new();
        for id in &config.hosted {
            let path = data_dir.join("institutions").join(id).join("secrets.json");
            let s = InstitutionSecrets::from_json(&read(&path)?).map_err(|e| StartError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            hosted.insert(id.clone(), s);
        }
        let mut admitted = BTreeMap::new();
        for (fp, id) in &config.admitted {
            let fp: [u8; 32] = hex::decode(fp)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    StartError::Config(format!(
                        "admitted certificate fingerprint for `{id}` is not 32 bytes of hex"
                    ))
                })?;
            admitted.insert(fp, id.clone());
        }
        Ok(AppState {
            data_dir: data_dir.to_owned(),
            ledgers,
            hosted,
            admitted,
        })
    }
}
