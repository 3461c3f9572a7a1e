//! Who is calling: the institution named by the client certificate's common
//! name, issued by a CA of the ledger acted on, not revoked. The handshake
//! already refused certificates from no configured CA and expired ones.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The authenticated caller of one connection.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The certificate subject's common name.
    pub institution: String,
    /// SHA-256 of the leaf certificate (DER).
    pub fingerprint: [u8; 32],
    /// Leaf first, then the intermediates the client sent.
    pub chain: Vec<CertificateDer<'static>>,
}

impl Caller {
    /// From a presented chain; `None` when the leaf has no usable common name.
    pub fn from_chain(chain: &[CertificateDer<'_>]) -> Option<Caller> {
        let leaf = chain.first()?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
        let cn = cert
            .subject()
            .iter_common_name()
            .next()?
            .as_str()
            .ok()?
            .to_owned();
        Some(Caller {
            institution: cn,
            fingerprint: Sha256::digest(leaf.as_ref()).into(),
            chain: chain.iter().map(|c| c.clone().into_owned()).collect(),
        })
    }

    /// Whether a CA of this ledger issued the caller's certificate (and it is valid now).
    pub fn issued_by(&self, verifier: &dyn ClientCertVerifier) -> bool {
        match self.chain.split_first() {
            Some((leaf, rest)) => verifier
                .verify_client_cert(leaf, rest, UnixTime::now())
                .is_ok(),
            None => false,
        }
    }
}

/// `revocations.json`: certificates (SHA-256 of DER, hex) and institutions
/// that may no longer act. Re-read whenever the file changes.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevocationList {
    #[serde(default)]
    pub certificates: BTreeSet<String>,
    #[serde(default)]
    pub institutions: BTreeSet<String>,
}

pub struct Revocations {
    path: PathBuf,
    current: RwLock<(Option<SystemTime>, Arc<RevocationList>)>,
}

/// What a reload found, for the audit log.
pub enum Reloaded {
    Unchanged,
    Changed(Arc<RevocationList>),
    Invalid(String),
}

impl Revocations {
    pub fn new(path: PathBuf) -> Self {
        Revocations {
            path,
            current: RwLock::new((None, Arc::new(RevocationList::default()))),
        }
    }

    /// Re-reads the list if the file's modification time moved. An unreadable
    /// or invalid file keeps the previous list (and is reported).
    pub fn refresh(&self) -> Reloaded {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        // A poisoned lock still holds the last list: read it rather than
        // fail open with an empty one.
        let known = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
        if mtime == known {
            return Reloaded::Unchanged;
        }
        let list = match mtime {
            None => RevocationList::default(),
            Some(_) => match std::fs::read_to_string(&self.path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(l) => l,
                Err(e) => return Reloaded::Invalid(format!("{}: {e}", self.path.display())),
            },
        };
        let list = Arc::new(list);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (mtime, list.clone());
        Reloaded::Changed(list)
    }

    pub fn is_revoked(&self, caller: &Caller) -> bool {
        let list = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .clone();
        list.institutions.contains(&caller.institution)
            || list.certificates.contains(&hex::encode(caller.fingerprint))
    }
}
