//! The gateway's loaded state: configuration, ledgers with their directories,
//! policies, CAs, pseudonym keys and storage; the keys it holds; its own store,
//! revocation list and metrics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory, PolicySet, PseudonymKey};
use veilgate_ledger::{EmbeddedLedger, Ledger};
use veilgate_policies::Plan;

pub use crate::config::CONFIG_FILE;
use crate::config::{Config, LedgerConfig, Limits};
use crate::identity::Revocations;
use crate::metrics::Metrics;
use crate::store::Store;

pub struct LedgerState {
    pub directory: LedgerDirectory,
    pub policies: PolicySet,
    /// Policy texts, so peers can fetch exactly the policy an envelope names.
    pub texts: PolicyTexts,
    pub pseudonym_key: PseudonymKey,
    pub ledger: Arc<dyn Ledger>,
    /// Verifies that a client certificate was issued by one of this ledger's CAs.
    pub ca: Arc<dyn ClientCertVerifier>,
    /// The peer verifying this ledger's entries, if it is followed.
    pub follower: Option<std::sync::Mutex<crate::follow::Follower>>,
    /// Its verdicts, readable while it works.
    pub verdicts: Option<crate::follow::Verdicts>,
    /// Every CA certificate of this ledger (for the handshake's union of roots).
    pub ca_certs: Vec<CertificateDer<'static>>,
}

pub struct AppState {
    pub data_dir: PathBuf,
    pub config: Config,
    pub ledgers: BTreeMap<String, LedgerState>,
    pub hosted: BTreeMap<String, InstitutionSecrets>,
    pub store: Store,
    pub revocations: Revocations,
    pub metrics: Metrics,
    /// Wakes the delivery worker when the outbox grows.
    pub outbox_notify: tokio::sync::Notify,
    /// Where proofs are made and checked (`compute`): one worker per core
    /// (or `limits.compute_threads`), so CPU-bound work queues there instead
    /// of oversubscribing the cores or blocking the async runtime.
    pub compute: crate::compute::ComputePool,
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

fn file_err<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> StartError + '_ {
    move |e| StartError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Ledger adapters by kind. Tests may wrap the result (fault injection).
pub type LedgerFactory = dyn Fn(&LedgerConfig, &Path, &Path) -> Result<Arc<dyn Ledger>, StartError>;

/// The adapters of this build: `embedded` and `evm`. Arguments: the ledger's
/// configuration, its directory, and the data directory (for relative paths).
pub fn ledger_adapters(
    lc: &LedgerConfig,
    ledger_dir: &Path,
    data_dir: &Path,
) -> Result<Arc<dyn Ledger>, StartError> {
    match lc.kind.as_str() {
        "embedded" => EmbeddedLedger::open(&ledger_dir.join("ledger.redb"))
            .map(|l| Arc::new(l) as Arc<dyn Ledger>)
            .map_err(|e| StartError::Config(e.to_string())),
        "evm" => evm_ledger(lc, data_dir).map(|l| Arc::new(l) as Arc<dyn Ledger>),
        other => Err(StartError::Config(format!(
            "ledger `{}`: adapter kind `{other}` is not available in this build (embedded, evm)",
            lc.id
        ))),
    }
}

/// Compiled policies with the texts they were compiled from.
pub type PolicyTexts = Vec<(Arc<Plan>, String)>;

/// The policy files configured for a ledger, compiled (errors rendered
/// with their line), each checked to bind that ledger; with their texts.
pub fn load_policies(
    lc: &LedgerConfig,
    data_dir: &Path,
) -> Result<(PolicySet, PolicyTexts), StartError> {
    let mut policies = PolicySet::default();
    let mut texts = Vec::new();
    for rel in &lc.policies {
        let path = data_dir.join(rel);
        let text = read(&path)?;
        let plan = veilgate_policies::compile(&text)
            .map_err(|e| StartError::Config(e.render(&path.display().to_string(), &text)))?;
        if !plan.binds(&lc.id) {
            return Err(StartError::Config(format!(
                "{rel}: policy binds ledger {}, configured under `{}`",
                plan.ledgers.join(", "),
                lc.id
            )));
        }
        policies.insert(plan.clone());
        texts.push((Arc::new(plan), text));
    }
    Ok((policies, texts))
}

/// The adapter of an `evm` ledger: its node, registry and writer key from
/// `[ledger.evm]` (the key file relative to the data directory).
pub fn evm_ledger(
    lc: &LedgerConfig,
    data_dir: &Path,
) -> Result<veilgate_evm::ledger::EvmLedger, StartError> {
    let evm = lc
        .evm
        .as_ref()
        .filter(|_| lc.kind == "evm")
        .ok_or_else(|| {
            StartError::Config(format!(
                "ledger `{}`: kind \"evm\" needs a [ledger.evm] table",
                lc.id
            ))
        })?;
    let key = read(&data_dir.join(&evm.key_file))?;
    let mut chain = veilgate_evm::chain::Chain::connect(&evm.rpc, key.trim())
        .map_err(|e| StartError::Config(format!("ledger `{}`: {e}", lc.id)))?;
    chain.confirmations = evm.confirmations;
    let registry = evm.registry.parse().map_err(|_| {
        StartError::Config(format!(
            "ledger `{}`: registry `{}` is not an address",
            lc.id, evm.registry
        ))
    })?;
    veilgate_evm::ledger::EvmLedger::new(chain, registry)
        .map_err(|e| StartError::Config(format!("ledger `{}`: {e}", lc.id)))
}

impl AppState {
    pub fn load(data_dir: &Path) -> Result<Self, StartError> {
        Self::load_with(data_dir, &ledger_adapters)
    }

    pub fn load_with(data_dir: &Path, ledgers_by_kind: &LedgerFactory) -> Result<Self, StartError> {
        let cfg_path = data_dir.join(CONFIG_FILE);
        let config = Config::parse(&read(&cfg_path)?).map_err(file_err(&cfg_path))?;
        let dir_path = data_dir.join(&config.directory);
        let directory = Directory::from_json(&read(&dir_path)?).map_err(file_err(&dir_path))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut ledgers = BTreeMap::new();
        for lc in &config.ledgers {
            let ld = directory.ledger(&lc.id).cloned().ok_or_else(|| {
                StartError::Config(format!("ledger `{}` is not in {}", lc.id, config.directory))
            })?;
            let (policies, texts) = load_policies(lc, data_dir)?;
            let mut roots = rustls::RootCertStore::empty();
            let mut ca_certs = Vec::new();
            for rel in &lc.ca {
                let path = data_dir.join(rel);
                for c in CertificateDer::pem_file_iter(&path).map_err(file_err(&path))? {
                    let c = c.map_err(file_err(&path))?;
                    roots.add(c.clone()).map_err(file_err(&path))?;
                    ca_certs.push(c);
                }
            }
            if ca_certs.is_empty() {
                return Err(StartError::Config(format!(
                    "ledger `{}` names no CA certificate",
                    lc.id
                )));
            }
            let ca = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| StartError::Config(format!("ledger `{}` CAs: {e}", lc.id)))?;
            let ldir = data_dir.join("ledgers").join(&lc.id);
            let key_path = ldir.join("pseudonym.key");
            let key: [u8; 32] = hex::decode(read(&key_path)?.trim())
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    StartError::Config(format!("{} must be 32 bytes of hex", key_path.display()))
                })?;
            let ledger = ledgers_by_kind(lc, &ldir, data_dir)?;
            let follower = if lc.follow {
                let state = crate::follow::default_state(data_dir, &lc.id);
                let f = crate::follow::Follower::new(
                    ledger.clone(),
                    ld.clone(),
                    policies.clone(),
                    &state,
                )
                .map_err(StartError::Config)?;
                Some(f)
            } else {
                None
            };
            let verdicts = follower.as_ref().map(crate::follow::Follower::verdicts);
            let follower = follower.map(std::sync::Mutex::new);
            ledgers.insert(
                lc.id.clone(),
                LedgerState {
                    directory: ld,
                    policies,
                    texts,
                    pseudonym_key: PseudonymKey(zeroize::Zeroizing::new(key)),
                    ledger,
                    ca,
                    ca_certs,
                    follower,
                    verdicts,
                },
            );
        }
        let mut hosted = BTreeMap::new();
        for id in &config.hosted {
            let path = data_dir.join("institutions").join(id).join("secrets.json");
            hosted.insert(
                id.clone(),
                InstitutionSecrets::from_json(&read(&path)?).map_err(file_err(&path))?,
            );
        }
        let store_path = data_dir.join("gateway.redb");
        let store = Store::open(&store_path).map_err(file_err(&store_path))?;
        let revocations = Revocations::new(data_dir.join(&config.revocations));
        if let crate::identity::Reloaded::Invalid(e) = revocations.refresh() {
            return Err(StartError::Config(e));
        }
        let compute = crate::compute::ComputePool::new(config.limits.compute_threads)
            .map_err(StartError::Config)?;
        Ok(AppState {
            compute,
            data_dir: data_dir.to_owned(),
            config,
            ledgers,
            hosted,
            store,
            revocations,
            metrics: Metrics::default(),
            outbox_notify: tokio::sync::Notify::new(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }
}
