//! Boot: one configuration loader and the assembly of a running gateway.
//!
//! [`Gateway::load`] reads `veilgate.toml`, the consortium directory, every
//! ledger's CAs, policies and pseudonym key, opens the ledgers, the hosted
//! institutions' keys, the store and the revocation list, and builds the
//! compute pool. `serve`, `follow`, `audit verify` and the EVM commands all
//! start here ([`Loaded`] is the part they share), so a data directory means
//! the same thing to each of them and a fault in it is found before any
//! request is taken.

mod config;
mod ledgers;
mod policies;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use veilgate_core::predicates::{KeyRing, KeyRingError};
use veilgate_core::{Directory, LedgerDirectory, PseudonymKey, SuiteId, Trust};
use veilgate_ledger::Ledger;

pub use config::{
    Config, ConfigError, EvmConfig, KeyBackend, KeysConfig, LedgerConfig, LedgerKind, Limits,
    ObservabilityConfig, Pkcs11Config, TlsSmConfig, CONFIG_FILE,
};
#[cfg(feature = "evm")]
pub use ledgers::evm_ledger;
pub use ledgers::{ledger_adapters, ledger_readers, LedgerFactory};
pub use policies::{load_policies, PolicyTexts};

use crate::keys::{Keyring, TokenStore};
use crate::metrics::Metrics;
use crate::revocation::{Reloaded, Revocations};
use crate::store::{Store, StoreError};

/// Why a gateway (or an operator command) cannot start from a data
/// directory. Each names the file or ledger at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file that was read but is not what it must be.
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    /// A policy file that does not compile, rendered with its line and caret.
    #[error("{0}")]
    Policy(String),
    /// The configuration of a ledger is wrong (not in the directory, no
    /// CA, a policy for another ledger…).
    #[error("ledger `{ledger}`: {reason}")]
    Ledger { ledger: String, reason: String },
    #[error("ledger `{ledger}`: {source}")]
    Adapter {
        ledger: String,
        #[source]
        source: veilgate_ledger::LedgerError,
    },
    #[cfg(feature = "evm")]
    #[error("ledger `{ledger}`: {source}")]
    Evm {
        ledger: String,
        /// Boxed: the chain's errors are large, start errors are rare.
        #[source]
        source: Box<veilgate_evm::EvmError>,
    },
    #[error("ledger `{ledger}`: its CAs: {source}")]
    Ca {
        ledger: String,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("ledger `{ledger}`: its follower: {source}")]
    Follower {
        ledger: String,
        #[source]
        source: Box<crate::peer::PeerError>,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Compute(#[from] crate::compute::ComputeError),
    #[error("Groth16 keys: {0}")]
    Keys(#[from] KeyRingError),
    /// The hosted members' private keys (a key file, or the token).
    #[error("{0}")]
    KeyStore(String),
    /// A policy needs a circuit whose keys the gateway does not hold.
    #[error("{policy}: {source}")]
    PolicyKeys {
        policy: String,
        #[source]
        source: KeyRingError,
    },
}

pub fn read(path: &Path) -> Result<String, StartError> {
    std::fs::read_to_string(path).map_err(|source| StartError::Read {
        path: path.display().to_string(),
        source,
    })
}

pub(crate) fn invalid<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> StartError + '_ {
    move |e| StartError::Invalid {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// One served ledger: its members, policies, keys and adapter.
pub struct LedgerState {
    /// Its directory, its published policies and the gateway's Groth16 keys:
    /// what seal and verify are given.
    pub trust: Trust,
    /// Policy texts, so peers can fetch exactly the policy an envelope names.
    pub texts: PolicyTexts,
    /// Where its pseudonyms come from.
    pub pseudonyms: LedgerPseudonyms,
    pub ledger: Arc<dyn Ledger>,
    /// Verifies that a client certificate was issued by one of this ledger's CAs.
    pub ca: Arc<dyn ClientCertVerifier>,
    /// The peer verifying this ledger's entries, if it is followed.
    pub follower: Option<Arc<std::sync::Mutex<crate::peer::Follower>>>,
    /// Its verdicts, readable while it works.
    pub verdicts: Option<crate::peer::Verdicts>,
    /// Every CA certificate of this ledger (for the handshake's union of roots).
    pub ca_certs: Vec<CertificateDer<'static>>,
    /// The set roots on this ledger and the set files this gateway holds.
    pub sets: Arc<crate::sets::LedgerSets>,
    /// The ledger's time as last seen, against which sealing checks the
    /// gateway's own clock.
    pub clock: Arc<crate::clock::LedgerClock>,
}

impl LedgerState {
    /// What seal and verify are given now: [`LedgerState::trust`] with the
    /// set book as of the last refresh.
    pub fn trust_now(&self) -> Trust {
        self.trust
            .clone()
            .with_key_book(&self.sets.keys())
            .with_sets(self.sets.current())
    }

    /// As [`LedgerState::trust_now`], after reading set roots that reached
    /// the ledger since the last refresh (a ledger that cannot be read
    /// leaves the book as it was).
    pub fn trust_refreshed(&self) -> Trust {
        if let Err(e) = self.sets.refresh(&*self.ledger) {
            tracing::warn!(error = %e, "set roots could not be read from the ledger");
        }
        self.trust_now()
    }
}

/// A running gateway's state, built once at start and shared by every request
/// and worker.
pub struct Gateway {
    pub data_dir: PathBuf,
    pub config: Config,
    pub ledgers: BTreeMap<String, LedgerState>,
    /// The keys of each hosted institution, by suite (one keyring per suite
    /// it is a member under), from key files or a token.
    pub hosted: Hosted,
    /// The token the keys are in (`[keys] backend = "pkcs11"`).
    pub token: Option<Arc<TokenStore>>,
    pub store: Arc<Store>,
    pub revocations: Revocations,
    /// Refused actions, counted and audited within a rate limit.
    pub refusals: Arc<crate::audit::refusals::Refusals>,
    /// Per-identity fair shares of the request slots.
    pub admission: Arc<crate::http::admission::Admission>,
    pub metrics: Arc<Metrics>,
    /// Submissions waiting for their ledger receipt, and the worker's wake-up.
    pub pipeline: Arc<crate::write::Pipeline>,
    /// Where proofs are made and checked (`compute`): one worker per core
    /// (or `limits.compute_threads`), so CPU-bound work queues there instead
    /// of oversubscribing the cores or blocking the async runtime.
    pub compute: crate::compute::ComputePool,
}

/// What every command reading a data directory shares: the configuration
/// and the consortium directory, parsed and checked.
pub struct Loaded {
    pub data_dir: PathBuf,
    pub config: Config,
    pub directory: Directory,
}

impl Loaded {
    pub fn read(data_dir: &Path) -> Result<Loaded, StartError> {
        let cfg_path = data_dir.join(CONFIG_FILE);
        let config = Config::parse(&read(&cfg_path)?).map_err(invalid(&cfg_path))?;
        let dir_path = data_dir.join(&config.directory);
        let directory = Directory::from_json(&read(&dir_path)?).map_err(invalid(&dir_path))?;
        let mut config = config;
        for lc in &mut config.ledgers {
            if let Some(d) = directory.ledger(&lc.id) {
                lc.suite = d.suite.clone();
            }
        }
        Ok(Loaded {
            data_dir: data_dir.to_owned(),
            config,
            directory,
        })
    }

    /// The configuration of ledger `id`.
    pub fn ledger_config(&self, id: &str) -> Result<&LedgerConfig, StartError> {
        self.config
            .ledgers
            .iter()
            .find(|l| l.id == id)
            .ok_or_else(|| StartError::Ledger {
                ledger: id.to_owned(),
                reason: format!("not configured in {CONFIG_FILE}"),
            })
    }

    /// The directory of ledger `id` (its members and their keys).
    pub fn ledger_directory(&self, id: &str) -> Result<LedgerDirectory, StartError> {
        self.directory
            .ledger(id)
            .cloned()
            .ok_or_else(|| StartError::Ledger {
                ledger: id.to_owned(),
                reason: format!("not in {}", self.config.directory),
            })
    }

    /// Where ledger `id` keeps its files.
    pub fn ledger_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("ledgers").join(id)
    }

    /// The Groth16 keys in `groth16_keys`, each checked against its id and
    /// circuit. Development keys are marked by a `DEVELOPMENT` file beside
    /// them (written by `serve --dev`), and said so in the log.
    pub fn groth16_keys(&self) -> Result<Arc<KeyRing>, StartError> {
        let dir = self.data_dir.join(&self.config.groth16_keys);
        let ring = KeyRing::load(&dir)?;
        if dir.join(DEVELOPMENT_MARK).exists() {
            tracing::warn!(dir = %dir.display(), "Groth16 keys are development keys: anyone can forge proofs under them");
        }
        Ok(Arc::new(ring))
    }

    /// The trust of ledger `lc`: its directory and policies, each policy
    /// checked to have its circuits' keys in `keys`.
    pub fn trust(
        &self,
        lc: &LedgerConfig,
        keys: Arc<KeyRing>,
    ) -> Result<(Trust, PolicyTexts), StartError> {
        let directory = self.ledger_directory(&lc.id)?;
        let (policies, texts) = load_policies(lc, &self.data_dir)?;
        for (plan, _) in &texts {
            // Found now, not as a 500 on the first record that needs the role.
            if let Some(role) = plan
                .ledger_roles
                .iter()
                .find(|r| directory.roles.get(*r).is_none_or(Vec::is_empty))
            {
                return Err(StartError::Ledger {
                    ledger: lc.id.clone(),
                    reason: format!(
                        "policy `{}` version {} names role `{role}`, which no member of this ledger holds: give it to a member under `roles` in {}, or drop it from the policy",
                        plan.id, plan.version, self.config.directory
                    ),
                });
            }
            if let Some((role, field)) = directory.withheld(plan) {
                return Err(StartError::Ledger {
                    ledger: lc.id.clone(),
                    reason: format!(
                        "policy `{}` version {} withholds field `{field}` from `{role}`, whom the directory requires to see every field (`sees_all`)",
                        plan.id, plan.version
                    ),
                });
            }
            keys.require(plan)
                .map_err(|source| StartError::PolicyKeys {
                    policy: format!(
                        "policy `{}` version {} of ledger `{}`",
                        plan.id, plan.version, lc.id
                    ),
                    source,
                })?;
        }
        Ok((Trust::new(directory, policies, keys), texts))
    }
}

/// The file that marks a key folder as development keys.
pub const DEVELOPMENT_MARK: &str = "DEVELOPMENT";

impl Gateway {
    pub fn load(data_dir: &Path) -> Result<Self, StartError> {
        Self::load_with(data_dir, &ledger_adapters)
    }

    /// As [`Gateway::load`], with ledger adapters from `ledgers_by_kind`
    /// (tests wrap the real ones to inject faults).
    pub fn load_with(data_dir: &Path, ledgers_by_kind: &LedgerFactory) -> Result<Self, StartError> {
        let loaded = Loaded::read(data_dir)?;
        let keys = loaded.groth16_keys()?;
        let mut ledgers = BTreeMap::new();
        for lc in &loaded.config.ledgers {
            let state = ledger_state(&loaded, lc, keys.clone(), ledgers_by_kind)?;
            ledgers.insert(lc.id.clone(), state);
        }
        let (hosted, token) = hosted_keyrings(&loaded)?;
        let store = Arc::new(Store::open(&data_dir.join("gateway.redb"))?);
        let revocations_path = data_dir.join(&loaded.config.revocations);
        let cas = ledgers
            .values()
            .flat_map(|ls: &LedgerState| ls.ca_certs.iter().map(|c| c.as_ref().to_vec()))
            .collect();
        let revocations = Revocations::new(revocations_path.clone(), data_dir.to_owned(), cas);
        if let Reloaded::Invalid(e) = revocations.refresh() {
            return Err(invalid(&revocations_path)(e));
        }
        let compute = crate::compute::ComputePool::new(loaded.config.limits.compute_threads)?;
        let metrics: Arc<Metrics> = Arc::default();
        metrics.revocations(&revocations.current().counts());
        Ok(Gateway {
            refusals: Arc::new(crate::audit::refusals::Refusals::new(
                store.clone(),
                metrics.clone(),
            )),
            admission: crate::http::admission::Admission::new(&loaded.config.limits),
            compute,
            data_dir: loaded.data_dir,
            config: loaded.config,
            ledgers,
            hosted,
            token,
            store,
            revocations,
            metrics,
            pipeline: Arc::default(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// What the delivery worker needs of this gateway.
    pub fn deliverer(&self) -> crate::write::Deliverer {
        crate::write::Deliverer {
            store: self.store.clone(),
            ledgers: self
                .ledgers
                .iter()
                .map(|(id, ls)| (id.clone(), ls.ledger.clone()))
                .collect(),
            clocks: self
                .ledgers
                .iter()
                .map(|(id, ls)| (id.clone(), ls.clock.clone()))
                .collect(),
            pipeline: self.pipeline.clone(),
            metrics: self.metrics.clone(),
            refusals: self.refusals.clone(),
            anchor_interval_ms: self.config.audit_anchor_interval_ms,
        }
    }

    /// The followers of the ledgers configured with `follow = true`.
    pub fn followers(&self) -> Vec<(String, Arc<std::sync::Mutex<crate::peer::Follower>>)> {
        self.ledgers
            .iter()
            .filter_map(|(id, ls)| Some((id.clone(), ls.follower.clone()?)))
            .collect()
    }
}

/// The store's audit log and every configured ledger, by id.
pub type AuditView = (crate::store::StoreReader, Vec<(String, Arc<dyn Ledger>)>);

/// What `veilgate audit verify` reads, opened read-only so that it runs
/// beside the gateway: the store's audit log and every configured ledger.
pub fn audit_view(data_dir: &Path) -> Result<AuditView, StartError> {
    let loaded = Loaded::read(data_dir)?;
    let store = crate::store::StoreReader::open(&data_dir.join("gateway.redb"))?;
    let mut ledgers = Vec::new();
    for lc in &loaded.config.ledgers {
        let ledger = ledger_readers(lc, &loaded.ledger_dir(&lc.id), data_dir)?;
        ledgers.push((lc.id.clone(), ledger));
    }
    Ok((store, ledgers))
}

/// A follower of ledger `id` built from the data directory (`veilgate
/// follow`), its verdicts in `state` or `follow/<id>.redb`.
pub fn follower(
    data_dir: &Path,
    id: &str,
    state: Option<&Path>,
) -> Result<crate::peer::Follower, StartError> {
    let loaded = Loaded::read(data_dir)?;
    let lc = loaded.ledger_config(id)?;
    let (trust, _) = loaded.trust(lc, loaded.groth16_keys()?)?;
    let ledger = ledger_readers(lc, &loaded.ledger_dir(id), data_dir)?;
    let state = state.map_or_else(
        || crate::peer::default_state(data_dir, id),
        Path::to_path_buf,
    );
    crate::peer::Follower::new(ledger, trust, &state)
        .map(|f| f.with_skew(loaded.config.time))
        .map_err(|source| StartError::Follower {
            ledger: id.to_owned(),
            source: Box::new(source),
        })
}

/// The keys of every hosted member, from the configured backend. A token
/// is opened once (its PIN read from where `[keys.pkcs11]` says); a
/// backend that cannot serve a hosted member stops the start, never a
/// quiet fall back to a key file.
fn hosted_keyrings(loaded: &Loaded) -> Result<(Hosted, Option<Arc<TokenStore>>), StartError> {
    let token = match loaded.config.keys.backend {
        KeyBackend::File => None,
        KeyBackend::Pkcs11 => Some(Arc::new(
            TokenStore::open(&loaded.config.keys, &loaded.data_dir)
                .map_err(StartError::KeyStore)?,
        )),
    };
    let mut hosted = BTreeMap::new();
    for id in &loaded.config.hosted {
        let rings = match &token {
            None => {
                crate::keys::file_keyring(&loaded.data_dir, id).map_err(StartError::KeyStore)?
            }
            Some(t) => crate::keys::token_keyrings(t, id).map_err(StartError::KeyStore)?,
        };
        check_keyrings(loaded, id, &rings, token.as_deref())?;
        hosted.insert(
            id.clone(),
            rings.into_iter().map(|(s, r)| (s, Arc::new(r))).collect(),
        );
    }
    Ok((hosted, token))
}

/// Each ledger a hosted member is on: the member's key in force now must be
/// held (or it could not sign), and every key held must be one of its keys
/// in the directory, with the directory's `distid`: a gateway that would
/// sign what peers reject does not start.
fn check_keyrings(
    loaded: &Loaded,
    id: &str,
    rings: &BTreeMap<SuiteId, Keyring>,
    token: Option<&TokenStore>,
) -> Result<(), StartError> {
    let now = crate::clock::now_ms();
    let where_ = |suite: SuiteId| match token {
        Some(t) => format!("token `{}`", t.label()),
        None => crate::keys::key_file_path(&loaded.data_dir, id, suite)
            .display()
            .to_string(),
    };
    for lc in &loaded.config.ledgers {
        let Some(member) = loaded.directory.ledger(&lc.id).and_then(|d| d.member(id)) else {
            continue;
        };
        let suite = SuiteId::from_name(&lc.suite).unwrap_or(SuiteId::Standard);
        let refuse = |reason: String| StartError::Ledger {
            ledger: lc.id.clone(),
            reason,
        };
        let Some(ring) = rings.get(&suite) else {
            return Err(refuse(match token {
                Some(t) if suite == SuiteId::Sm => format!(
                    "hosted member `{id}` is on this ledger of suite `sm`, whose keys (SM2) no PKCS#11 token offers a standard mechanism for (token `{}`); host it on a gateway with `[keys] backend = \"file\"`",
                    t.label()
                ),
                _ => format!(
                    "hosted member `{id}` has no key of this ledger's suite `{}`: put it in {}",
                    suite.name(),
                    where_(suite)
                ),
            }));
        };
        for held in ring.held() {
            let key = held.key();
            if member.key(&key.id).is_none() {
                return Err(refuse(format!(
                    "{} holds key {} of `{id}`, which is not among `{id}`'s keys in the directory",
                    where_(suite),
                    key.id
                )));
            }
            if let crate::keys::HeldKey::File(s) = held {
                // Which id it signs under is the directory's, per ledger (the
                // request takes it there); a key file naming another is a mistake.
                if s.distid.is_some() && s.distid != member.distid {
                    return Err(invalid(Path::new(&where_(suite)))(format!(
                        "its `distid` is not the one the directory names for `{id}` on ledger `{}`",
                        lc.id
                    )));
                }
            }
        }
        if let Some(in_force) = member.key_at(now) {
            if ring.signer(&in_force.id, None).is_none() {
                return Err(refuse(format!(
                    "{} does not hold `{id}`'s key in force now ({}; the directory's key for `{id}` since {})",
                    where_(suite),
                    in_force.id,
                    in_force.from_ms.map_or_else(|| "admission".to_owned(), |f| format!("{f} ms")),
                )));
            }
        }
    }
    Ok(())
}

/// A ledger's pseudonyms: its pseudonymisation service(s) when the
/// directory names them (the key is then nowhere on this gateway), else
/// the member-held HMAC key of `ledgers/<id>/pseudonym.key`.
pub enum LedgerPseudonyms {
    MemberKey(PseudonymKey),
    Oblivious(Arc<crate::pseudonym::client::Oracle>),
}

/// The keyrings of the hosted members, by member and suite.
pub type Hosted = BTreeMap<String, BTreeMap<SuiteId, Arc<Keyring>>>;

/// Assembles one ledger: directory, policies, CAs, pseudonym key, adapter
/// and (with `follow = true`) its follower.
fn ledger_state(
    loaded: &Loaded,
    lc: &LedgerConfig,
    keys: Arc<KeyRing>,
    ledgers_by_kind: &LedgerFactory,
) -> Result<LedgerState, StartError> {
    let data_dir = &loaded.data_dir;
    let (trust, texts) = loaded.trust(lc, keys)?;
    let (ca, ca_certs) = ledger_cas(lc, data_dir)?;
    let ldir = loaded.ledger_dir(&lc.id);
    let pseudonyms = ledger_pseudonyms(loaded, lc, &trust.directory, &ca_certs)?;
    let ledger = ledgers_by_kind(lc, &ldir, data_dir)?;
    chains_as_its_suite(lc, ledger.as_ref())?;
    let follower = if lc.follow {
        let state = crate::peer::default_state(data_dir, &lc.id);
        let f = crate::peer::Follower::new(ledger.clone(), trust.clone(), &state).map_err(
            |source| StartError::Follower {
                ledger: lc.id.clone(),
                source: Box::new(source),
            },
        )?;
        Some(f.with_skew(loaded.config.time))
    } else {
        None
    };
    let verdicts = follower.as_ref().map(crate::peer::Follower::verdicts);
    let sets = Arc::new(crate::sets::LedgerSets::new(
        trust.directory.clone(),
        crate::sets::files_dir(data_dir, &lc.id),
    ));
    if let Err(e) = sets.refresh(&*ledger) {
        tracing::warn!(ledger = %lc.id, error = %e, "set roots could not be read from the ledger at start; retried before each record that needs them");
    }
    let clock = Arc::new(crate::clock::LedgerClock::default());
    match ledger.head_time() {
        Ok(Some(t)) => clock.observe(t, false),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(ledger = %lc.id, error = %e, "the ledger's latest time could not be read at start")
        }
    }
    Ok(LedgerState {
        clock,
        sets,
        trust,
        texts,
        pseudonyms,
        ledger,
        ca,
        ca_certs,
        follower: follower.map(|f| Arc::new(std::sync::Mutex::new(f))),
        verdicts,
    })
}

fn chains_as_its_suite(lc: &LedgerConfig, ledger: &dyn Ledger) -> Result<(), StartError> {
    if veilgate_ledger::ChainHash::of_suite(&lc.suite) != Some(ledger.chain_hash()) {
        return Err(StartError::Ledger {
            ledger: lc.id.clone(),
            reason: format!(
                "its adapter chains entries with {}; a ledger of suite `{}` needs {}",
                ledger.chain_hash().name(),
                lc.suite,
                veilgate_ledger::ChainHash::of_suite(&lc.suite)
                    .unwrap_or_default()
                    .name()
            ),
        });
    }
    Ok(())
}

/// What `veilgate config check` found, one line per ledger and hosted
/// institution, and the development Groth16 circuits (which `serve`
/// refuses without `--dev`).
pub struct CheckReport {
    pub lines: Vec<String>,
    pub development_circuits: Vec<String>,
}

/// Every check `serve` makes at start, without starting: configuration,
/// directory, policies (roles held, one text per id and version, keys for
/// their circuits), CAs, pseudonym keys, ledger files (read-only, so it
/// runs beside the gateway) or EVM nodes, hosted keys against the
/// directory, the revocation list and the TLS certificates and keys.
pub fn check(data_dir: &Path) -> Result<CheckReport, StartError> {
    let loaded = Loaded::read(data_dir)?;
    let keys = loaded.groth16_keys()?;
    let mut lines = Vec::new();
    let mut cas = Vec::new();
    for lc in &loaded.config.ledgers {
        let (trust, texts) = loaded.trust(lc, keys.clone())?;
        let (_, ca_certs) = ledger_cas(lc, data_dir)?;
        cas.extend(ca_certs.iter().map(|c| c.as_ref().to_vec()));
        let ldir = loaded.ledger_dir(&lc.id);
        if let LedgerPseudonyms::Oblivious(_) =
            ledger_pseudonyms(&loaded, lc, &trust.directory, &ca_certs)?
        {
            lines.push(format!(
                "ledger `{}`: pseudonyms from its pseudonymisation service (no key here)",
                lc.id
            ));
        }
        let state = match lc.kind {
            // A ledger file is created at the first start: none yet is fine.
            LedgerKind::Embedded if !ldir.join("ledger.redb").exists() => {
                "no entries yet".to_owned()
            }
            _ => {
                let ledger = ledger_readers(lc, &ldir, data_dir)?;
                chains_as_its_suite(lc, ledger.as_ref())?;
                format!(
                    "{} entries",
                    ledger.len().map_err(|source| StartError::Adapter {
                        ledger: lc.id.clone(),
                        source,
                    })?
                )
            }
        };
        if lc.suite == "sm" && loaded.config.tls_sm.is_none() {
            return Err(StartError::Ledger {
                ledger: lc.id.clone(),
                reason: format!("it is of suite `sm`, served over RFC 8998 TLS only: add a [tls_sm] section (listen, cert, key) to {CONFIG_FILE}"),
            });
        }
        lines.push(format!(
            "ledger `{}`: suite {}, {} members, {} policy versions, {state}",
            lc.id,
            lc.suite,
            trust.directory.members.len(),
            texts.len()
        ));
    }
    for (id, rings) in hosted_keyrings(&loaded)?.0 {
        let held: Vec<String> = rings
            .values()
            .map(|r| {
                let ids: Vec<String> = r.held().iter().map(|h| h.key().id.hex()).collect();
                format!(
                    "{} ({}: {})",
                    r.suite.name(),
                    r.backend.name(),
                    ids.join(", ")
                )
            })
            .collect();
        lines.push(format!("hosted `{id}`: keys of suite {}", held.join("; ")));
    }
    let revocations_path = data_dir.join(&loaded.config.revocations);
    let revocations = Revocations::new(revocations_path.clone(), data_dir.to_owned(), cas);
    if let Reloaded::Invalid(e) = revocations.refresh() {
        return Err(invalid(&revocations_path)(e));
    }
    crate::http::check_server_certificate(
        data_dir,
        &loaded.config.tls.cert,
        &loaded.config.tls.key,
        "standard",
    )?;
    if let Some(sm) = &loaded.config.tls_sm {
        crate::http::check_server_certificate(data_dir, &sm.cert, &sm.key, "sm")?;
    }
    lines.push("TLS: server certificates and keys load".to_owned());
    Ok(CheckReport {
        lines,
        development_circuits: keys.development_circuits()?,
    })
}

/// The ledger's CA certificates, and a verifier that a client certificate
/// chains to one of them.
fn ledger_cas(
    lc: &LedgerConfig,
    data_dir: &Path,
) -> Result<(Arc<dyn ClientCertVerifier>, Vec<CertificateDer<'static>>), StartError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut ca_certs = Vec::new();
    for rel in &lc.ca {
        let path = data_dir.join(rel);
        for c in CertificateDer::pem_file_iter(&path).map_err(invalid(&path))? {
            let c = c.map_err(invalid(&path))?;
            roots.add(c.clone()).map_err(invalid(&path))?;
            ca_certs.push(c);
        }
    }
    let no_ca = || StartError::Ledger {
        ledger: lc.id.clone(),
        reason: "names no CA certificate".into(),
    };
    if ca_certs.is_empty() {
        return Err(no_ca());
    }
    let provider = Arc::new(crate::http::tls_provider(&lc.suite));
    let ca = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|source| StartError::Ca {
            ledger: lc.id.clone(),
            source,
        })?;
    Ok((ca, ca_certs))
}

/// The ledger's pseudonyms. With a `pseudonyms` directory section a
/// leftover `pseudonym.key` refuses the start: it would let this gateway
/// (and whoever copies its files) reverse pseudonyms offline.
fn ledger_pseudonyms(
    loaded: &Loaded,
    lc: &LedgerConfig,
    directory: &veilgate_core::LedgerDirectory,
    ca_certs: &[CertificateDer<'static>],
) -> Result<LedgerPseudonyms, StartError> {
    let key_path = loaded.ledger_dir(&lc.id).join("pseudonym.key");
    let Some(section) = &directory.pseudonyms else {
        return Ok(LedgerPseudonyms::MemberKey(pseudonym_key(&key_path)?));
    };
    let refuse = |reason: String| StartError::Ledger {
        ledger: lc.id.clone(),
        reason,
    };
    if lc.suite == "sm" {
        return Err(refuse(
            "its directory names a pseudonymisation service, which this build offers on `standard` ledgers only (ristretto255 VOPRF)".into(),
        ));
    }
    if key_path.exists() {
        return Err(refuse(format!(
            "{} exists, but the ledger's pseudonyms come from its pseudonymisation service: delete the key (it lets anyone holding it reverse pseudonyms offline)",
            key_path.display()
        )));
    }
    let config = loaded.config.pseudonyms.as_ref().ok_or_else(|| {
        refuse(format!(
            "its directory names a pseudonymisation service: add a [pseudonyms] section with its address to {CONFIG_FILE}"
        ))
    })?;
    let endpoints = section
        .services
        .iter()
        .filter_map(|s| {
            config
                .services
                .iter()
                .find(|a| a.ledger == lc.id && a.index == s.index)
                .map(|a| crate::pseudonym::client::Endpoint::parse(s.index, &s.operator, &a.url))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(refuse)?;
    let settings = crate::pseudonym::client::OracleSettings {
        timeout: std::time::Duration::from_millis(config.timeout_ms),
        cache_entries: config.cache_entries,
        cache_ttl: std::time::Duration::from_millis(config.cache_ttl_ms),
    };
    let oracle = crate::pseudonym::client::Oracle::new(
        &lc.id,
        section,
        endpoints,
        ca_certs,
        &loaded.data_dir,
        &loaded.config.hosted,
        settings,
    )
    .map_err(refuse)?;
    Ok(LedgerPseudonyms::Oblivious(Arc::new(oracle)))
}

fn pseudonym_key(path: &Path) -> Result<PseudonymKey, StartError> {
    let key: [u8; 32] = hex::decode(read(path)?.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| invalid(path)("must be 32 bytes of hex"))?;
    Ok(PseudonymKey(zeroize::Zeroizing::new(key)))
}
