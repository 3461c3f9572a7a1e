//! Who is calling: the institution named by the client certificate's common
//! name, issued by a CA of the ledger acted on, not revoked. The handshake
//! already refused certificates from no configured CA and expired ones.

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use sha2::{Digest, Sha256};

/// The authenticated caller of one connection.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The certificate subject's common name.
    pub institution: String,
    /// SHA-256 of the leaf certificate (DER).
    pub fingerprint: [u8; 32],
    /// The leaf's issuer name (normalised) and serial number, as
    /// revocations by serial name them.
    pub serial_key: (String, Vec<u8>),
    /// Leaf first, then the intermediates the client sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// The TLS the connection came over: a ledger is served only over its
    /// suite's (an SM ledger over RFC 8998).
    pub tls: veilgate_core::SuiteId,
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
            serial_key: crate::revocation::serial_key(&cert),
            chain: chain.iter().map(|c| c.clone().into_owned()).collect(),
            tls: veilgate_core::SuiteId::Standard,
        })
    }

    /// This caller, connected over `suite`'s TLS listener.
    pub fn over(mut self, suite: veilgate_core::SuiteId) -> Caller {
        self.tls = suite;
        self
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

/// Subject and issuer of a presented certificate, for the audit of a
/// refused handshake: names only, cut to 256 bytes each.
pub fn describe(der: &[u8]) -> (String, String) {
    let cut = |s: String| s.chars().take(256).collect::<String>();
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => (cut(c.subject().to_string()), cut(c.issuer().to_string())),
        Err(_) => ("(unparsable certificate)".into(), "-".into()),
    }
}
