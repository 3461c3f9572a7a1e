//! The gateway's side: a record's pseudonyms from the ledger's service(s),
//! before the record is sealed. Values are blinded here and never leave
//! the gateway; each answer's proof is checked against the key the
//! directory publishes (a service that evaluates under another key is
//! refused, so it cannot tag one member's pseudonyms); with a threshold the
//! first `k` valid answers are combined. Tags are cached per value and
//! epoch for `cache_ttl_ms`, under a hash of the value keyed with a key
//! that lives only in this process, so the cache holds no plaintext.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest, Sha256};
use veilgate_core::{ObliviousTags, PseudonymDirectory, PseudonymEpoch};
use veilgate_pseudonym::threshold::{combine, Answer};
use veilgate_pseudonym::{blind_batch, finalize_batch, pseudonym_input};
use zeroize::Zeroizing;

use super::wire::{self, EvaluateRequest, EvaluateResponse};

/// Why a record's pseudonyms could not be had now. The record is not
/// sealed: there is no fallback key.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    /// Too few services answered in time with a proof that verifies.
    #[error("the pseudonymisation service is unavailable: {0}")]
    Unavailable(String),
    /// The ledger's directory has no epoch in force.
    #[error("ledger `{0}` has no pseudonym epoch in force")]
    NoEpoch(String),
    /// A service refused this member for its budget.
    #[error("the pseudonymisation service refused: budget used, retry in {0} s")]
    RateLimited(u64),
}

/// Where one service listens.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub index: u32,
    /// The operator institution: the service certificate must name it.
    pub operator: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// `https://host:port` of the service of share `index`.
    pub fn parse(index: u32, operator: &str, url: &str) -> Result<Endpoint, String> {
        let rest = url.strip_prefix("https://").ok_or_else(|| {
            format!("`{url}`: a pseudonymisation service is reached over https://")
        })?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`{url}`: expected https://host:port"))?;
        let port = port
            .parse()
            .map_err(|_| format!("`{url}`: the port is not a number"))?;
        Ok(Endpoint {
            index,
            operator: operator.to_owned(),
            host: host.to_owned(),
            port,
        })
    }
}

/// Cache and timing settings.
#[derive(Clone, Copy, Debug)]
pub struct OracleSettings {
    pub timeout: Duration,
    pub cache_entries: usize,
    pub cache_ttl: Duration,
}

/// One ledger's client.
pub struct Oracle {
    ledger: String,
    section: PseudonymDirectory,
    endpoints: Vec<Endpoint>,
    roots: Arc<rustls::RootCertStore>,
    /// Client TLS per hosted institution (its certificate names it).
    clients: HashMap<String, tokio_rustls::TlsConnector>,
    settings: OracleSettings,
    cache: Mutex<Cache>,
}

struct Cache {
    key: Zeroizing<[u8; 32]>,
    entries: HashMap<[u8; 32], ([u8; 32], Instant)>,
}

impl Cache {
    /// A keyed hash of the value: the key is random per process and never
    /// leaves it, so the cache's keys say nothing of the values.
    fn slot(&self, epoch: u32, value: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"veilgate/pseudonym-cache")
            .chain_update(self.key.as_ref())
            .chain_update(epoch.to_be_bytes())
            .chain_update(value)
            .finalize()
            .into()
    }
}

impl Oracle {
    /// The client of `ledger`'s services: `endpoints` from the gateway's
    /// configuration, checked against the directory's `section`; TLS
    /// roots from the ledger's CAs; one client certificate per hosted
    /// institution at `institutions/<id>/client.pem` (and `client.key.pem`).
    pub fn new(
        ledger: &str,
        section: &PseudonymDirectory,
        endpoints: Vec<Endpoint>,
        ca_certs: &[CertificateDer<'static>],
        data_dir: &Path,
        hosted: &[String],
        settings: OracleSettings,
    ) -> Result<Oracle, String> {
        for s in &section.services {
            if !endpoints.iter().any(|e| e.index == s.index) {
                return Err(format!(
                    "ledger `{ledger}`: [pseudonyms] gives no address for service {} (run by `{}`)",
                    s.index, s.operator
                ));
            }
        }
        let mut roots = rustls::RootCertStore::empty();
        for c in ca_certs {
            roots
                .add(c.clone())
                .map_err(|e| format!("ledger `{ledger}` CA: {e}"))?;
        }
        let roots = Arc::new(roots);
        let mut clients = HashMap::new();
        for id in hosted {
            let dir = data_dir.join("institutions").join(id);
            let (cert, key) = (dir.join("client.pem"), dir.join("client.key.pem"));
            let certs = CertificateDer::pem_file_iter(&cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(&key)
                .map_err(|e| format!("{}: {e}", key.display()))?;
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
            clients.insert(
                id.clone(),
                tokio_rustls::TlsConnector::from(Arc::new(config)),
            );
        }
        let mut key = Zeroizing::new([0u8; 32]);
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, key.as_mut());
        Ok(Oracle {
            ledger: ledger.to_owned(),
            section: section.clone(),
            endpoints,
            roots,
            clients,
            settings,
            cache: Mutex::new(Cache {
                key,
                entries: HashMap::new(),
            }),
        })
    }

    /// The TLS roots the services are checked against.
    pub fn roots(&self) -> &rustls::RootCertStore {
        &self.roots
    }

    /// The tags of `values` (canonical encodings) for a record of
    /// `institution` sealed at `time_ms`: from the cache, else one batch
    /// to the services.
    pub async fn tags(
        &self,
        institution: &str,
        time_ms: u64,
        values: &[Zeroizing<Vec<u8>>],
    ) -> Result<ObliviousTags, OracleError> {
        let epoch = self
            .section
            .epoch_at(time_ms)
            .ok_or_else(|| OracleError::NoEpoch(self.ledger.clone()))?
            .clone();
        let now = Instant::now();
        let mut found: Vec<(Vec<u8>, [u8; 32])> = Vec::new();
        let mut missing: Vec<&Zeroizing<Vec<u8>>> = Vec::new();
        {
            let cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for v in values {
                match cache.entries.get(&cache.slot(epoch.epoch, v)) {
                    Some((tag, at)) if now.duration_since(*at) < self.settings.cache_ttl => {
                        found.push((v.to_vec(), *tag));
                    }
                    _ => missing.push(v),
                }
            }
        }
        if !missing.is_empty() {
            let tags = self.evaluate(institution, &epoch, &missing).await?;
            let mut cache = self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.entries.len() + tags.len() > self.settings.cache_entries {
                cache.entries.clear();
            }
            for (v, tag) in missing.iter().zip(tags) {
                let slot = cache.slot(epoch.epoch, v);
                cache.entries.insert(slot, (tag, now));
                found.push((v.to_vec(), tag));
            }
        }
        Ok(ObliviousTags::new(epoch.epoch, found))
    }

    /// One batch: blinded, sent to every service at once, answers checked
    /// against the directory's keys, combined when the threshold is above 1.
    async fn evaluate(
        &self,
        institution: &str,
        epoch: &PseudonymEpoch,
        values: &[&Zeroizing<Vec<u8>>],
    ) -> Result<Vec<[u8; 32]>, OracleError> {
        let unavailable = |why: String| OracleError::Unavailable(why);
        let inputs = values
            .iter()
            .map(|v| pseudonym_input(&self.ledger, epoch.epoch, v).map(Zeroizing::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unavailable(e.to_string()))?;
        let (state, blinded) =
            blind_batch(&inputs, &mut rand_core::OsRng).map_err(|e| unavailable(e.to_string()))?;
        let connector = self
            .clients
            .get(institution)
            .ok_or_else(|| unavailable(format!("no client certificate for `{institution}`")))?;
        let body = serde_json::to_vec(&EvaluateRequest {
            blinded: blinded.iter().map(hex::encode).collect(),
        })
        .map_err(|e| unavailable(e.to_string()))?;
        let path = wire::evaluate_path(&self.ledger, epoch.epoch);
        let mut calls = tokio::task::JoinSet::new();
        for e in &self.endpoints {
            let (e, connector, body, path) =
                (e.clone(), connector.clone(), body.clone(), path.clone());
            let timeout = self.settings.timeout;
            calls.spawn(async move {
                let r = tokio::time::timeout(timeout, call(&e, &connector, &path, body)).await;
                (
                    e.index,
                    r.unwrap_or_else(|_| Err(CallError::Down("timed out".into()))),
                )
            });
        }
        let k = self.section.threshold as usize;
        let mut answers: Vec<Answer> = Vec::new();
        let mut failures: Vec<String> = Vec::new();
        let mut retry_after: Option<u64> = None;
        while let Some(joined) = calls.join_next().await {
            let Ok((index, result)) = joined else {
                continue;
            };
            match result {
                Ok(a) if a.index == index => {
                    if k == 1 {
                        let Some(pk) = self.section.service_key(epoch, index) else {
                            continue;
                        };
                        match finalize_batch(&state, &a.evaluated, &a.proof, &pk) {
                            Ok(tags) => return Ok(tags),
                            Err(e) => {
                                tracing::warn!(ledger = %self.ledger, service = index, error = %e, "pseudonym answer refused");
                                failures.push(format!("service {index}: {e}"));
                            }
                        }
                    } else {
                        answers.push(a);
                        if answers.len() >= k {
                            if let Ok(c) = combine(
                                &state,
                                k,
                                &PseudonymDirectory::public_shares(epoch),
                                &answers,
                            ) {
                                for (i, e) in &c.rejected {
                                    tracing::warn!(ledger = %self.ledger, service = i, error = %e, "pseudonym share refused");
                                }
                                return Ok(c.tags);
                            }
                        }
                    }
                }
                Ok(a) => failures.push(format!("service {index} answered as share {}", a.index)),
                Err(CallError::RateLimited(secs)) => {
                    retry_after = Some(retry_after.map_or(secs, |r: u64| r.max(secs)));
                    failures.push(format!("service {index}: budget used"));
                }
                Err(CallError::Down(why)) => failures.push(format!("service {index}: {why}")),
            }
        }
        if k > 1 && answers.len() >= k {
            // Every answer is in and some share was bad: say which.
            if let Err(e) = combine(
                &state,
                k,
                &PseudonymDirectory::public_shares(epoch),
                &answers,
            ) {
                failures.push(e.to_string());
            }
        }
        if let Some(secs) = retry_after {
            return Err(OracleError::RateLimited(secs));
        }
        Err(unavailable(failures.join("; ")))
    }
}

enum CallError {
    Down(String),
    RateLimited(u64),
}

/// One HTTPS request to one service, its certificate naming its operator.
async fn call(
    e: &Endpoint,
    connector: &tokio_rustls::TlsConnector,
    path: &str,
    body: Vec<u8>,
) -> Result<Answer, CallError> {
    let down = |what: &str| {
        let what = what.to_owned();
        move |err: &dyn std::fmt::Display| CallError::Down(format!("{what}: {err}"))
    };
    let name = ServerName::try_from(e.host.clone()).map_err(|err| down("server name")(&err))?;
    let tcp = tokio::net::TcpStream::connect((e.host.as_str(), e.port))
        .await
        .map_err(|err| down("connect")(&err))?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|err| down("TLS")(&err))?;
    let operator = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(crate::identity::Caller::from_chain)
        .map(|c| c.institution);
    if operator.as_deref() != Some(e.operator.as_str()) {
        return Err(CallError::Down(format!(
            "its certificate names `{}`, not the operator `{}`",
            operator.unwrap_or_default(),
            e.operator
        )));
    }
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|err| down("HTTP")(&err))?;
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header(hyper::header::HOST, e.host.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|err| down("request")(&err))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|err| down("request")(&err))?;
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|err| down("response")(&err))?
        .to_bytes();
    if status == 429 {
        return Err(CallError::RateLimited(retry.unwrap_or(1)));
    }
    if status != 200 {
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|j| j.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_default();
        return Err(CallError::Down(format!("answered {status} {code}")));
    }
    let a: EvaluateResponse = serde_json::from_slice(&bytes).map_err(|err| down("answer")(&err))?;
    let evaluated = a
        .evaluated
        .iter()
        .map(|h| wire::hex_array::<32>(h))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| CallError::Down("an evaluated element is not 32 bytes of hex".into()))?;
    let proof = wire::hex_array::<64>(&a.proof)
        .ok_or_else(|| CallError::Down("the proof is not 64 bytes of hex".into()))?;
    Ok(Answer {
        index: a.index,
        evaluated,
        proof,
    })
}
