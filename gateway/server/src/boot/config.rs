//! `veilgate.toml`: the gateway's configuration. Every key has a documented
//! default (here and in `docs/configuration.md`); paths are relative to the
//! data directory.

use serde::Deserialize;

pub const CONFIG_FILE: &str = "veilgate.toml";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Format version of this file: 1.
    pub version: u32,
    /// Address to listen on. Default `127.0.0.1:8443`.
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub tls: TlsConfig,
    /// The RFC 8998 listener (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3) with
    /// its SM2 certificate and key: the only way in to the ledgers of suite
    /// `sm`. Absent: this gateway serves no SM ledger over the network.
    #[serde(default)]
    pub tls_sm: Option<TlsSmConfig>,
    /// The plain-HTTP listener of health, readiness and metrics, for probes
    /// and scrapers without a client certificate. Absent: none.
    #[serde(default)]
    pub observability: Option<ObservabilityConfig>,
    #[serde(default)]
    pub limits: Limits,
    /// How far an envelope's signed time may sit from the ledger's time for
    /// its entry (`ahead_ms`, `delay_ms`); the gateway also refuses to seal
    /// when its own clock is outside `ahead_ms` of the ledger's.
    #[serde(default)]
    pub time: veilgate_core::time::Skew,
    /// Institutions whose signing (and opening) keys this gateway holds,
    /// in `institutions/<id>/secrets.json` or in a token (`[keys]`).
    #[serde(default)]
    pub hosted: Vec<String>,
    /// Where the hosted members' private keys are. Default: key files.
    #[serde(default)]
    pub keys: KeysConfig,
    /// The consortium directory: members' public keys and roles per ledger.
    #[serde(default = "default_directory")]
    pub directory: String,
    /// Institutions (certificate common names) that may read `/metrics`,
    /// besides those this gateway hosts. Default none.
    #[serde(default)]
    pub metrics_readers: Vec<String>,
    /// Revoked certificates and institutions; re-read when it changes, no restart.
    #[serde(default = "default_revocations")]
    pub revocations: String,
    /// Folder of the Groth16 key files envelopes are proven and verified
    /// under, named `<circuit id>-<key id>.{vk,pk}` (a ceremony's output, or
    /// development keys written by `serve --dev`).
    #[serde(default = "default_groth16_keys")]
    pub groth16_keys: String,
    /// How often the audit log's head is anchored to the ledger, in ms. Default 10 000.
    #[serde(default = "default_anchor")]
    pub audit_anchor_interval_ms: u64,
    /// How this gateway reaches the pseudonymisation services of the
    /// ledgers whose directory names them. Absent: none is reachable.
    #[serde(default)]
    pub pseudonyms: Option<PseudonymsConfig>,
    #[serde(rename = "ledger", default)]
    pub ledgers: Vec<LedgerConfig>,
}

/// `[pseudonyms]`: where the services listen, and the client's patience.
/// A hosted institution calls them with its client certificate,
/// `institutions/<id>/client.pem` (and `client.key.pem`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymsConfig {
    /// How long one batch may take before the record is refused with 503
    /// (nothing is sealed). Default 2000.
    #[serde(default = "default_pseudonym_timeout")]
    pub timeout_ms: u64,
    /// Cached tags (value → pseudonym per epoch, keyed by a per-process
    /// hash, no plaintext). Default 100 000.
    #[serde(default = "default_pseudonym_cache")]
    pub cache_entries: usize,
    /// How long a cached tag is used. Default 3 600 000 (an hour).
    #[serde(default = "default_pseudonym_ttl")]
    pub cache_ttl_ms: u64,
    /// `{ ledger, index, url }` per service the directory lists.
    #[serde(default)]
    pub services: Vec<PseudonymServiceAddress>,
}

/// Where service `index` of `ledger` listens (`https://host:port`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymServiceAddress {
    pub ledger: String,
    pub index: u32,
    pub url: String,
}

fn default_pseudonym_timeout() -> u64 {
    2000
}
fn default_pseudonym_cache() -> usize {
    100_000
}
fn default_pseudonym_ttl() -> u64 {
    3_600_000
}

/// `[keys]`: the hosted members' private keys, in files or a PKCS#11 token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// `file` (default: `institutions/<id>/secrets[.<suite>].json`) or
    /// `pkcs11` (`[keys.pkcs11]`; the `standard` suite only).
    #[serde(default)]
    pub backend: KeyBackend,
    #[serde(default)]
    pub pkcs11: Option<Pkcs11Config>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyBackend {
    #[default]
    File,
    Pkcs11,
}

/// `[keys.pkcs11]`: the token, found by label, and where its PIN comes from.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: String,
    /// The token's label (never a slot number: slots move).
    pub token_label: String,
    /// Environment variable holding the user PIN. Exactly one of
    /// `pin_env` and `pin_file`.
    #[serde(default)]
    pub pin_env: Option<String>,
    /// File holding the user PIN (one line), relative to the data
    /// directory; it must not be readable by group or others.
    #[serde(default)]
    pub pin_file: Option<String>,
    /// Refused with a message: a PIN never sits in veilgate.toml.
    #[serde(default)]
    pub pin: Option<toml::Value>,
    /// Prefix of the labels of Veilgate's objects in the token: keys are
    /// `<prefix><member>/sign/<key id>` and `<prefix><member>/kem/<key id>`.
    #[serde(default = "default_label_prefix")]
    pub label_prefix: String,
}

fn default_label_prefix() -> String {
    "veilgate/".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default = "default_cert")]
    pub cert: String,
    #[serde(default = "default_key")]
    pub key: String,
}

/// `[observability]`: where the plain-HTTP health and metrics listener
/// listens (loopback or a management network).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservabilityConfig {
    #[serde(default = "default_observability")]
    pub listen: String,
}

fn default_observability() -> String {
    "127.0.0.1:9464".into()
}

/// `[tls_sm]`: where the SM TLS listener listens, and its SM2 certificate
/// and key (PKCS#8), relative to the data directory.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSmConfig {
    /// Address to listen on, e.g. `127.0.0.1:8444`.
    pub listen: String,
    #[serde(default = "default_sm_cert")]
    pub cert: String,
    #[serde(default = "default_sm_key")]
    pub key: String,
}

fn default_sm_cert() -> String {
    "tls/server.sm.pem".into()
}
fn default_sm_key() -> String {
    "tls/server.sm.key.pem".into()
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cert: default_cert(),
            key: default_key(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body. Default 1 MiB.
    #[serde(default = "d_body")]
    pub max_body_bytes: usize,
    /// Requests handled at once, over all callers; more wait up to
    /// `queue_wait_ms`, then 429. Default 256.
    #[serde(default = "d_concurrency")]
    pub max_concurrent_requests: usize,
    /// Requests one identity (certificate common name) may hold at once;
    /// more are refused at once with 429. Default 64, a quarter of the
    /// global slots, so one member cannot take them all.
    #[serde(default = "d_per_identity")]
    pub per_identity_concurrent: usize,
    /// Requests one identity may start per second (sustained). Default 200.
    #[serde(default = "d_rate")]
    pub per_identity_rate: f64,
    /// Requests one identity may start in a burst above its rate. Default 400.
    #[serde(default = "d_burst")]
    pub per_identity_burst: usize,
    /// Longest a request waits for a global slot before 429. Default 2 000.
    #[serde(default = "d_queue_wait")]
    pub queue_wait_ms: u64,
    /// Longest a client may take to send a request's headers; slower
    /// connections are closed. Default 10 000.
    #[serde(default = "d_header_timeout")]
    pub header_read_timeout_ms: u64,
    /// Longest a client may take to send a request's body, from the end of
    /// its headers; slower ones get 408 and the connection is closed. Default 10 000.
    #[serde(default = "d_body_timeout")]
    pub body_read_timeout_ms: u64,
    /// Longest a request may take, queueing included. Default 30 000.
    #[serde(default = "d_timeout")]
    pub request_timeout_ms: u64,
    /// Outbox entries waiting for the ledger before submissions get 503 + Retry-After. Default 10 000.
    #[serde(default = "d_outbox")]
    pub outbox_capacity: u64,
    /// How long a submission waits for its ledger receipt before answering 202. Default 2 000.
    #[serde(default = "d_ack")]
    pub ack_wait_ms: u64,
    /// Threads that seal, verify and open (the compute pool); 0 = one per
    /// core. Proofs run there, never on the threads serving connections.
    #[serde(default)]
    pub compute_threads: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: d_body(),
            max_concurrent_requests: d_concurrency(),
            per_identity_concurrent: d_per_identity(),
            per_identity_rate: d_rate(),
            per_identity_burst: d_burst(),
            queue_wait_ms: d_queue_wait(),
            header_read_timeout_ms: d_header_timeout(),
            body_read_timeout_ms: d_body_timeout(),
            request_timeout_ms: d_timeout(),
            outbox_capacity: d_outbox(),
            ack_wait_ms: d_ack(),
            compute_threads: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    pub id: String,
    /// Ledger adapter: `embedded` (redb file `ledgers/<id>/ledger.redb`) or
    /// `evm` (the `VeilgateRegistry` contract on an EVM chain; needs `[ledger.evm]`).
    #[serde(default)]
    pub kind: LedgerKind,
    /// For `kind = "evm"`.
    #[serde(default)]
    pub evm: Option<EvmConfig>,
    /// Follow this ledger as a peer: verify every entry, serve the verdicts
    /// (`GET /v1/ledgers/{id}/verdicts/{sequence}`) and count them in metrics.
    #[serde(default)]
    pub follow: bool,
    /// The consortium CA(s) whose client certificates may act on this ledger.
    pub ca: Vec<String>,
    /// Policy files published on this ledger.
    pub policies: Vec<String>,
    /// The ledger's crypto suite: not configured here but taken from its
    /// entry in the consortium directory when the data directory is read,
    /// so every gateway of the consortium agrees on it.
    #[serde(skip, default = "default_suite")]
    pub suite: String,
}

fn default_suite() -> String {
    "standard".into()
}

/// The ledger adapters of this build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LedgerKind {
    /// The hash-chained redb ledger in `ledgers/<id>/ledger.redb`.
    #[default]
    Embedded,
    /// The `VeilgateRegistry` contract on an EVM chain.
    Evm,
}

impl std::fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LedgerKind::Embedded => "embedded",
            LedgerKind::Evm => "evm",
        })
    }
}

/// Where an EVM ledger lives and how the gateway writes to it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmConfig {
    /// The node's JSON-RPC URL (`http://…`).
    pub rpc: String,
    /// Address of the deployed `VeilgateRegistry` (`0x…`).
    pub registry: String,
    /// File holding the gateway account's private key (hex), relative to the
    /// data directory. The account must be an admitted writer of the registry.
    pub key_file: String,
    /// Blocks on top (itself included) before a write counts and a read sees
    /// it. Default 1 (a development node); set it to the chain's finality.
    #[serde(default = "d_confirmations")]
    pub confirmations: u64,
}

fn d_confirmations() -> u64 {
    1
}

fn default_listen() -> String {
    "127.0.0.1:8443".into()
}
fn default_directory() -> String {
    "consortium.json".into()
}
fn default_groth16_keys() -> String {
    "keys/groth16".into()
}
fn default_revocations() -> String {
    "revocations.json".into()
}
fn default_anchor() -> u64 {
    10_000
}
fn default_cert() -> String {
    "tls/server.pem".into()
}
fn default_key() -> String {
    "tls/server.key.pem".into()
}
fn d_body() -> usize {
    1024 * 1024
}
fn d_concurrency() -> usize {
    256
}
fn d_per_identity() -> usize {
    64
}
fn d_rate() -> f64 {
    200.0
}
fn d_burst() -> usize {
    400
}
fn d_queue_wait() -> u64 {
    2_000
}
fn d_header_timeout() -> u64 {
    10_000
}
fn d_body_timeout() -> u64 {
    10_000
}
fn d_timeout() -> u64 {
    30_000
}
fn d_outbox() -> u64 {
    10_000
}
fn d_ack() -> u64 {
    2_000
}

/// Why `veilgate.toml` was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("version {0} is not supported (this build reads version 1)")]
    Version(u32),
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let c: Config = toml::from_str(text)?;
        if c.version != 1 {
            return Err(ConfigError::Version(c.version));
        }
        Ok(c)
    }
}
