//! SM2 X.509 v3 certificate generation (CA and leaf), signed SM2-with-SM3.
//!
//! Certificates follow GM/T 0015-2012 as OpenSSL/Tongsuo produce them:
//! SubjectPublicKeyInfo = id-ecPublicKey + namedCurve SM2 + uncompressed
//! point; signatureAlgorithm = 1.2.156.10197.1.501 with absent parameters;
//! signature = DER `SEQUENCE { r, s }` computed with distinguishing ID
//! "1234567812345678".

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use der::asn1::{BitString, Ia5String, OctetString, SetOfVec, UtcTime, Utf8StringRef};
use der::oid::ObjectIdentifier;
use der::pem::LineEnding;
use der::{Any, Decode, Encode};
use rand_core::{OsRng, RngCore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use sm3::{Digest, Sm3};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use crate::sign::{sign_der, CERT_DIST_ID};

// OIDs are const-evaluated: a malformed literal fails compilation, so
// `new_unwrap` can never panic at run time.

/// SM2-with-SM3 signature algorithm (GM/T 0006: 1.2.156.10197.1.501).
pub const OID_SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");
/// The SM2 named curve (GM/T 0006: 1.2.156.10197.1.301).
pub const OID_CURVE_SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const OID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// Backdating absorbs clock skew between issuer and verifier.
const BACKDATE: Duration = Duration::from_secs(60 * 60);
/// CA lifetime: 10 years.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// Leaf lifetime: 1 year.
const LEAF_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Key identifiers are 20 bytes, the customary SHA-1 length (RFC 5280
/// §4.2.1.2 allows any method); we take them from SM3.
const KEY_ID_LEN: usize = 20;

/// Errors from certificate or key handling.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// DER encoding or decoding failed (e.g. a name with invalid characters).
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A key could not be encoded or decoded.
    #[error("key encoding: {0}")]
    Key(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
    /// The issuer certificate lacks something needed to issue from it.
    #[error("issuer certificate: {0}")]
    Issuer(&'static str),
}

/// A subjectAltName entry for a leaf certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SanEntry {
    /// dNSName.
    Dns(String),
    /// iPAddress.
    Ip(IpAddr),
}

/// What a leaf certificate is for (sets extendedKeyUsage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertUsage {
    /// TLS server (id-kp-serverAuth).
    Server,
    /// TLS client (id-kp-clientAuth).
    Client,
}

/// An SM2 key pair.
#[derive(Clone, Debug)]
pub struct Sm2KeyPair {
    secret: sm2::SecretKey,
}

impl Sm2KeyPair {
    /// Generates a fresh key pair from the OS RNG.
    pub fn generate() -> Self {
        Self {
            secret: sm2::SecretKey::random(&mut OsRng),
        }
    }

    /// Parses a PKCS#8 DER SM2 private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CertError> {
        sm2::SecretKey::from_pkcs8_der(der)
            .map(|secret| Self { secret })
            .map_err(|e| CertError::Key(e.to_string()))
    }

    /// Parses a PKCS#8 PEM ("PRIVATE KEY") SM2 private key.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, CertError> {
        sm2::SecretKey::from_pkcs8_pem(pem)
            .map(|secret| Self { secret })
            .map_err(|e| CertError::Key(e.to_string()))
    }

    /// PKCS#8 DER (id-ecPublicKey + SM2 curve OID).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CertError> {
        self.secret
            .to_pkcs8_der()
            .map(|doc| Zeroizing::new(doc.as_bytes().to_vec()))
            .map_err(|e| CertError::Key(e.to_string()))
    }

    /// PKCS#8 PEM with label "PRIVATE KEY".
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CertError> {
        self.secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| CertError::Key(e.to_string()))
    }

    /// The key as rustls wants it for `with_single_cert` and friends.
    pub fn to_private_key_der(&self) -> Result<PrivateKeyDer<'static>, CertError> {
        let der = self.to_pkcs8_der()?;
        Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec())))
    }

    /// Uncompressed SEC1 public point (65 bytes).
    pub fn public_key_sec1(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The underlying secret key.
    pub fn secret_key(&self) -> &sm2::SecretKey {
        &self.secret
    }

    fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, CertError> {
        let doc = self
            .secret
            .public_key()
            .to_public_key_der()
            .map_err(|e| CertError::Key(e.to_string()))?;
        Ok(SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())?)
    }

    fn key_id(&self) -> Vec<u8> {
        let digest = Sm3::digest(self.public_key_sec1());
        digest.iter().take(KEY_ID_LEN).copied().collect()
    }
}

/// A certificate together with its private key.
#[derive(Clone, Debug)]
pub struct IssuedCert {
    /// DER-encoded certificate.
    pub cert_der: CertificateDer<'static>,
    /// The certified key pair.
    pub key: Sm2KeyPair,
}

impl IssuedCert {
    /// PEM "CERTIFICATE".
    pub fn cert_pem(&self) -> Result<String, CertError> {
        cert_der_to_pem(&self.cert_der)
    }

    /// PKCS#8 PEM "PRIVATE KEY".
    pub fn key_pem(&self) -> Result<Zeroizing<String>, CertError> {
        self.key.to_pkcs8_pem()
    }
}

/// PEM-encodes a DER certificate (label "CERTIFICATE", LF line endings).
pub fn cert_der_to_pem(der: &[u8]) -> Result<String, CertError> {
    Ok(der::pem::encode_string("CERTIFICATE", LineEnding::LF, der).map_err(der::Error::from)?)
}

/// Generates a self-signed SM2 CA certificate
/// (basicConstraints CA:TRUE critical, keyUsage keyCertSign|cRLSign critical).
pub fn generate_ca(common_name: &str) -> Result<IssuedCert, CertError> {
    let key = Sm2KeyPair::generate();
    let name = make_name(common_name, None)?;
    let key_id = key.key_id();
    let extensions = vec![
        extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        extension(true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        extension(false, &SubjectKeyIdentifier(OctetString::new(key_id)?))?,
    ];
    let cert_der = build_and_sign(&key, name.clone(), name, &key, CA_LIFETIME, extensions)?;
    Ok(IssuedCert { cert_der, key })
}

/// Issues a leaf certificate for `common_name` from `ca`.
///
/// Server leaves get keyUsage digitalSignature and EKU serverAuth; client
/// leaves EKU clientAuth. `sans` becomes subjectAltName (required by rustls
/// for server name checks: CN is never consulted).
pub fn issue(
    ca: &IssuedCert,
    common_name: &str,
    organization: Option<&str>,
    sans: &[SanEntry],
    usage: CertUsage,
) -> Result<IssuedCert, CertError> {
    let ca_cert = Certificate::from_der(ca.cert_der.as_ref())?;
    let issuer = ca_cert.tbs_certificate.subject.clone();
    let ca_key_id = ca.key.key_id();

    let key = Sm2KeyPair::generate();
    let subject = make_name(common_name, organization)?;

    let eku = match usage {
        CertUsage::Server => OID_KP_SERVER_AUTH,
        CertUsage::Client => OID_KP_CLIENT_AUTH,
    };
    let mut extensions = vec![
        extension(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        extension(true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        extension(false, &ExtendedKeyUsage(vec![eku]))?,
        extension(
            false,
            &SubjectKeyIdentifier(OctetString::new(key.key_id())?),
        )?,
        extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca_key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    if !sans.is_empty() {
        let names = sans
            .iter()
            .map(|san| match san {
                SanEntry::Dns(dns) => Ok(GeneralName::DnsName(Ia5String::new(dns)?)),
                SanEntry::Ip(ip) => Ok(GeneralName::IpAddress(OctetString::new(ip_bytes(ip))?)),
            })
            .collect::<Result<Vec<_>, CertError>>()?;
        extensions.push(extension(false, &SubjectAltName(names))?);
    }

    let cert_der = build_and_sign(&key, subject, issuer, &ca.key, LEAF_LIFETIME, extensions)?;
    Ok(IssuedCert { cert_der, key })
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// CN (and optional O) as UTF8String attributes, one RDN each.
fn make_name(common_name: &str, organization: Option<&str>) -> Result<Name, CertError> {
    let mut rdns = Vec::new();
    if let Some(org) = organization {
        rdns.push(rdn(OID_ORGANIZATION, org)?);
    }
    rdns.push(rdn(OID_COMMON_NAME, common_name)?);
    Ok(RdnSequence(rdns))
}

fn rdn(oid: ObjectIdentifier, value: &str) -> Result<RelativeDistinguishedName, CertError> {
    let value = Any::encode_from(&Utf8StringRef::new(value)?)?;
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])?;
    Ok(RelativeDistinguishedName(set))
}

fn extension<T>(critical: bool, value: &T) -> Result<Extension, CertError>
where
    T: Encode + der::oid::AssociatedOid,
{
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Positive, minimally encoded 128-bit random serial (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    // 0x40..=0x7f in the top byte: positive and no leading zero octet.
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x3f) | 0x40;
    }
    Ok(SerialNumber::new(&bytes)?)
}

fn utc(time: SystemTime) -> Result<Time, CertError> {
    // UTCTime until 2049 as RFC 5280 §4.1.2.5 requires.
    Ok(Time::UtcTime(UtcTime::from_system_time(time)?))
}

fn build_and_sign(
    subject_key: &Sm2KeyPair,
    subject: Name,
    issuer: Name,
    issuer_key: &Sm2KeyPair,
    lifetime: Duration,
    extensions: Vec<Extension>,
) -> Result<CertificateDer<'static>, CertError> {
    let now = SystemTime::now();
    let not_before = now.checked_sub(BACKDATE).unwrap_or(now);
    let not_after = now
        .checked_add(lifetime)
        .ok_or(CertError::Issuer("validity overflow"))?;
    let algorithm = AlgorithmIdentifierOwned {
        oid: OID_SM2_WITH_SM3,
        parameters: None,
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: random_serial()?,
        signature: algorithm.clone(),
        issuer,
        validity: Validity {
            not_before: utc(not_before)?,
            not_after: utc(not_after)?,
        },
        subject,
        subject_public_key_info: subject_key.spki()?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let tbs_der = tbs.to_der()?;
    let signature = sign_der(&issuer_key.secret, CERT_DIST_ID, &tbs_der)
        .map_err(|e| CertError::Sign(e.to_string()))?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(CertificateDer::from(cert.to_der()?))
}
