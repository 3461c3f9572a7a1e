//! Rust client for a Veilgate gateway: submit records, fetch envelopes and
//! policies over HTTPS with a client certificate (mTLS), and verify / open
//! envelopes locally with the same core the gateway runs.
//!
//! ```no_run
//! # async fn f() -> Result<(), veilgate_client::ClientError> {
//! let client = veilgate_client::Client::from_data_dir("veilgate-data".as_ref(), "bank-a", "https://127.0.0.1:8443")?;
//! let record = serde_json::json!({ "payer_bank": "bank-a" /* … */ });
//! let receipt = client.submit("interbank-settlement", "interbank-payment", "pay-0001", &record).await?;
//! let fetched = client.envelope("interbank-settlement", &receipt.envelope_id).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;

pub use veilgate_core::{
    open, verify, Directory, InstitutionSecrets, LedgerDirectory, OpenedField, PolicySet,
    VerifiedEnvelope,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("client configuration: {0}")]
    Config(String),
    #[error("connection: {0}")]
    Transport(String),
    #[error("gateway answered {status} {code}: {message}{}", request_id.as_ref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Api {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
        /// The gateway's id for the request, on its log lines too.
        request_id: Option<String>,
    },
    #[error("unexpected response: {0}")]
    Decode(String),
}

/// Where a submitted record stands. `state` is `accepted` (durable in the
/// gateway's outbox) or `on_ledger` (with its position and entry hash).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SubmitReceipt {
    pub ledger: String,
    pub envelope_id: String,
    pub state: String,
    pub sequence: Option<u64>,
    pub entry_hash: Option<String>,
    /// The HTTP status: 201 on the ledger, 202 accepted, 200 a repeat of an
    /// earlier submission with the same idempotency key and record.
    #[serde(skip)]
    pub status: u16,
}

impl SubmitReceipt {
    pub fn on_ledger(&self) -> bool {
        self.state == "on_ledger"
    }
}

/// An envelope as stored on the ledger, with its position.
#[derive(Clone, Debug)]
pub struct FetchedEnvelope {
    pub bytes: Vec<u8>,
    pub sequence: u64,
    pub entry_hash: String,
    /// The gateway's JSON rendering (for display only; verify `bytes`).
    pub view: serde_json::Value,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PolicyInfo {
    pub id: String,
    pub version: u32,
    pub hash: String,
    pub text: String,
}

/// Which TLS a client speaks: the suite of the ledgers it acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// TLS 1.3 with the standard suites (AES-GCM, ChaCha20; X25519, P-256;
    /// ECDSA, Ed25519, RSA certificates).
    Standard,
    /// RFC 8998 TLS 1.3 only: SM4-GCM, SM3, curveSM2, SM2 certificates.
    Sm,
}

pub struct Client {
    authority: String,
    host: String,
    port: u16,
    tls: tokio_rustls::TlsConnector,
}

fn cfg<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> ClientError + '_ {
    move |e| ClientError::Config(format!("{what}: {e}"))
}

impl Client {
    /// `base` is `https://host:port`; the PEM inputs are the consortium CA, and
    /// this institution's client certificate and key.
    pub fn new(
        base: &str,
        ca_pem: &[u8],
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, ClientError> {
        Client::with_tls(base, Tls::Standard, ca_pem, cert_pem, key_pem)
    }

    /// As [`Client::new`] over `tls`: [`Tls::Sm`] is RFC 8998 TLS 1.3
    /// (`TLS_SM4_GCM_SM3`, curveSM2, sm2sig_sm3) with an SM2 CA, client
    /// certificate and key, the only TLS a gateway serves its SM ledgers over.
    pub fn with_tls(
        base: &str,
        tls: Tls,
        ca_pem: &[u8],
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, ClientError> {
        let authority = base
            .strip_prefix("https://")
            .ok_or_else(|| ClientError::Config("gateway address must start with https://".into()))?
            .trim_end_matches('/')
            .to_owned();
        let (host, port) = authority
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| ClientError::Config("gateway address needs a port".into()))?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem) {
            roots
                .add(c.map_err(cfg("CA certificate"))?)
                .map_err(cfg("CA certificate"))?;
        }
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(cfg("client certificate"))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(cfg("client key"))?;
        let provider = Arc::new(match tls {
            Tls::Standard => rustls::crypto::ring::default_provider(),
            Tls::Sm => veilgate_tls_sm::provider(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(cfg("TLS"))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(cfg("client certificate"))?;
        Ok(Client {
            authority,
            host,
            port,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Reads the material `veilgate serve` generates in its data directory.
    pub fn from_data_dir(dir: &Path, institution: &str, base: &str) -> Result<Self, ClientError> {
        Client::from_data_dir_over(dir, institution, base, Tls::Standard)
    }

    /// As [`Client::from_data_dir`] over `tls`: for [`Tls::Sm`] the SM2
    /// material (`ca/sm-ca.pem`, `client.sm.pem`, `client.sm.key.pem`) and
    /// `base` the gateway's `[tls_sm]` listener.
    pub fn from_data_dir_over(
        dir: &Path,
        institution: &str,
        base: &str,
        tls: Tls,
    ) -> Result<Self, ClientError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| ClientError::Config(format!("{}: {e}", p.display())))
        };
        let inst = dir.join("institutions").join(institution);
        let (ca, cert, key) = match tls {
            Tls::Standard => ("ca/ca.pem", "client.pem", "client.key.pem"),
            Tls::Sm => ("ca/sm-ca.pem", "client.sm.pem", "client.sm.key.pem"),
        };
        Client::with_tls(
            base,
            tls,
            &read(&dir.join(ca))?,
            &read(&inst.join(cert))?,
            &read(&inst.join(key))?,
        )
    }

    /// One HTTPS request; returns the status and body. Public so tests and tools
    /// can send exactly what they want.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        self.connect().await?.request(method, path, body).await
    }

    /// Opens one TLS connection (one handshake) to send many requests over,
    /// one at a time — what a busy client does instead of a handshake per
    /// request. [`Client::request`] opens a fresh one each time.
    pub async fn connect(&self) -> Result<Connection, ClientError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(self.host.clone()).map_err(cfg("server name"))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| ClientError::Transport(format!("TLS: {e}")))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection {
            sender,
            authority: self.authority.clone(),
        })
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<serde_json::Value, ClientError> {
        self.json_with_status(method, path, body)
            .await
            .map(|(_, v)| v)
    }

    /// One request whose answer is JSON: a 2xx answer's status and body,
    /// any other as [`ClientError::Api`].
    pub async fn json_with_status(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        let (status, bytes) = self.request(method, path, body).await?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))?;
        if !(200..300).contains(&status) {
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
            return Err(ClientError::Api {
                status,
                code: s("code").unwrap_or_default(),
                message: s("message").unwrap_or_default(),
                field: s("field"),
                request_id: s("request_id"),
            });
        }
        Ok((status, v))
    }

    pub async fn submit(
        &self,
        ledger: &str,
        policy: &str,
        idempotency_key: &str,
        record: &serde_json::Value,
    ) -> Result<SubmitReceipt, ClientError> {
        self.submit_version(ledger, policy, None, idempotency_key, record)
            .await
    }

    /// As [`Client::submit`], under `version` of the policy when given
    /// (else the newest the gateway serves).
    pub async fn submit_version(
        &self,
        ledger: &str,
        policy: &str,
        version: Option<u32>,
        idempotency_key: &str,
        record: &serde_json::Value,
    ) -> Result<SubmitReceipt, ClientError> {
        let mut body = serde_json::json!({ "policy": policy, "idempotency_key": idempotency_key, "record": record });
        if let (Some(v), Some(o)) = (version, body.as_object_mut()) {
            o.insert("version".into(), v.into());
        }
        let (status, v) = self
            .json_with_status(
                "POST",
                &format!("/v1/ledgers/{ledger}/records"),
                Some(body.to_string().into_bytes()),
            )
            .await?;
        let mut r: SubmitReceipt =
            serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))?;
        r.status = status;
        Ok(r)
    }

    /// The current state of one of this institution's submissions.
    pub async fn submission(
        &self,
        ledger: &str,
        envelope_id: &str,
    ) -> Result<SubmitReceipt, ClientError> {
        let (status, v) = self
            .json_with_status(
                "GET",
                &format!("/v1/ledgers/{ledger}/submissions/{envelope_id}"),
                None,
            )
            .await?;
        let mut r: SubmitReceipt =
            serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))?;
        r.status = status;
        Ok(r)
    }

    /// Polls a submission until it is on the ledger, or `timeout` passes.
    pub async fn wait_on_ledger(
        &self,
        ledger: &str,
        envelope_id: &str,
        timeout: std::time::Duration,
    ) -> Result<SubmitReceipt, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let r = self.submission(ledger, envelope_id).await?;
            if r.on_ledger() || tokio::time::Instant::now() >= deadline {
                return Ok(r);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn envelope(
        &self,
        ledger: &str,
        envelope_id: &str,
    ) -> Result<FetchedEnvelope, ClientError> {
        let v = self
            .json(
                "GET",
                &format!("/v1/ledgers/{ledger}/envelopes/{envelope_id}"),
                None,
            )
            .await?;
        #[derive(Deserialize)]
        struct Wire {
            envelope: String,
            sequence: u64,
            entry_hash: String,
            #[serde(default)]
            view: serde_json::Value,
        }
        let w: Wire = serde_json::from_value(v).map_err(|e| ClientError::Decode(e.to_string()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&w.envelope)
            .map_err(|_| ClientError::Decode("`envelope` is not base64".into()))?;
        Ok(FetchedEnvelope {
            bytes,
            sequence: w.sequence,
            entry_hash: w.entry_hash,
            view: w.view,
        })
    }

    /// The ledgers the gateway serves this institution on, with their
    /// length and head (`GET /v1/ledgers`).
    pub async fn ledgers(&self) -> Result<serde_json::Value, ClientError> {
        self.json("GET", "/v1/ledgers", None).await
    }

    /// A page of `ledger`'s entries from position `from`, at most `limit`
    /// (`GET /v1/ledgers/{ledger}/entries`): what each entry is, no payload.
    pub async fn entries(
        &self,
        ledger: &str,
        from: u64,
        limit: u64,
    ) -> Result<serde_json::Value, ClientError> {
        self.json(
            "GET",
            &format!("/v1/ledgers/{ledger}/entries?from={from}&limit={limit}"),
            None,
        )
        .await
    }

    /// Asks the gateway to verify the stored envelope and open for this
    /// institution the fields addressed to it (an audited read).
    pub async fn open_remote(
        &self,
        ledger: &str,
        envelope_id: &str,
    ) -> Result<serde_json::Value, ClientError> {
        self.json(
            "POST",
            &format!("/v1/ledgers/{ledger}/envelopes/{envelope_id}/open"),
            Some(Vec::new()),
        )
        .await
    }

    /// Asks the gateway to verify `envelope` as a peer of `ledger` would;
    /// the answer says `accepted` or the rejection's code.
    pub async fn verify_remote(
        &self,
        ledger: &str,
        envelope: &[u8],
    ) -> Result<serde_json::Value, ClientError> {
        let body = serde_json::json!({
            "envelope": base64::engine::general_purpose::STANDARD.encode(envelope)
        });
        self.json(
            "POST",
            &format!("/v1/ledgers/{ledger}/verify"),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Rotates this institution's key on `ledger`: a new key version made in
    /// its gateway's key store, announced on the ledger, in force from
    /// `valid_from_ms` (default: 10 s from now).
    pub async fn rotate_key(
        &self,
        ledger: &str,
        valid_from_ms: Option<u64>,
    ) -> Result<serde_json::Value, ClientError> {
        let body = serde_json::json!({ "valid_from_ms": valid_from_ms });
        self.json(
            "POST",
            &format!("/v1/ledgers/{ledger}/keys/rotate"),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Reports key `key_id` lost or compromised (`reason`) from `from_ms`
    /// (default now); `member` another institution's key (a `key_authority`).
    pub async fn freeze_key(
        &self,
        ledger: &str,
        key_id: &str,
        reason: &str,
        from_ms: Option<u64>,
        member: Option<&str>,
    ) -> Result<serde_json::Value, ClientError> {
        let body = serde_json::json!({ "reason": reason, "from_ms": from_ms, "member": member });
        self.json(
            "POST",
            &format!("/v1/ledgers/{ledger}/keys/{key_id}/freeze"),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn policies(&self, ledger: &str) -> Result<Vec<PolicyInfo>, ClientError> {
        let v = self
            .json("GET", &format!("/v1/ledgers/{ledger}/policies"), None)
            .await?;
        #[derive(Deserialize)]
        struct Wire {
            policies: Vec<PolicyInfo>,
        }
        serde_json::from_value::<Wire>(v)
            .map(|w| w.policies)
            .map_err(|e| ClientError::Decode(e.to_string()))
    }
}

/// Compiles fetched policy texts into the set a peer verifies against, checking
/// that each text hashes to the hash the gateway announced.
pub fn policy_set(policies: &[PolicyInfo]) -> Result<PolicySet, ClientError> {
    let mut set = PolicySet::default();
    for p in policies {
        let plan = veilgate_policies::compile(&p.text)
            .map_err(|e| ClientError::Decode(format!("policy `{}`: {e}", p.id)))?;
        if hex::encode(plan.hash()) != p.hash {
            return Err(ClientError::Decode(format!(
                "policy `{}` text does not hash to its announced hash",
                p.id
            )));
        }
        set.insert(plan);
    }
    Ok(set)
}

/// A kept-alive HTTPS connection to the gateway (see [`Client::connect`]).
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
}

impl Connection {
    /// One request on this connection; returns the status and body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        self.sender
            .ready()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?
            .to_bytes();
        Ok((status, bytes.to_vec()))
    }
}
