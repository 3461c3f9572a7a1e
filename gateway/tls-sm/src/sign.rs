//! sm2sig_sm3 (RFC 8998 §3.2, SignatureScheme 0x0708): verification for
//! certificates and handshakes, and signing keys for rustls.
//!
//! SM2 signatures hash `Z || message`, where `Z` depends on a "distinguishing
//! identifier" (GB/T 32918.2, GM/T 0009). Two different IDs are in use:
//!
//! * X.509 certificate signatures use the GM/T 0009-2012 default
//!   `"1234567812345678"` (Tongsuo: `SM2_DEFAULT_USERID`, include/crypto/sm2.h).
//! * TLS 1.3 CertificateVerify signatures use `"TLSv1.3+GM+Cipher+Suite"`
//!   (RFC 8998 §3.2.1). Tongsuo sets it with `EVP_PKEY_CTX_set1_id(pctx,
//!   HANDSHAKE_SM2_ID, ...)` in both `tls_construct_cert_verify` and
//!   `tls_process_cert_verify` (ssl/statem/statem_lib.c; the constant is in
//!   ssl/statem/statem_local.h). OpenSSL's EVP_PKEY-SM2(7) states the same.
//!
//! rustls verifies certificate chains with `WebPkiSupportedAlgorithms::all`
//! and handshake signatures with the first algorithm of the matching
//! `WebPkiSupportedAlgorithms::mapping` entry (`verify_tls13_signature`). So
//! the two IDs are expressed as two verification-algorithm objects placed in
//! those two slots; the stock `WebPkiServerVerifier`/`WebPkiClientVerifier`
//! then do the right thing and no wrapper verifier is needed.

use std::sync::Arc;

use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use rand_core::OsRng;
use rustls::crypto::{KeyProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    AlgorithmIdentifier, InvalidSignature, PrivateKeyDer, SignatureVerificationAlgorithm,
    SubjectPublicKeyInfoDer,
};
use rustls::sign::{public_key_to_spki, Signer, SigningKey};
use rustls::{Error, SignatureAlgorithm, SignatureScheme};
use sm2::dsa::signature::{RandomizedSigner, Verifier};
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm2::pkcs8::DecodePrivateKey;

/// sm2sig_sm3 code point (RFC 8998 §2). rustls has no named variant.
pub const SM2SIG_SM3: SignatureScheme = SignatureScheme::Unknown(0x0708);

/// Distinguishing ID for SM2 signatures inside X.509 certificates
/// (GM/T 0009-2012 default; Tongsuo `SM2_DEFAULT_USERID`).
pub const CERT_DIST_ID: &str = "1234567812345678";

/// Distinguishing ID for TLS 1.3 CertificateVerify signatures (RFC 8998
/// §3.2.1; Tongsuo `HANDSHAKE_SM2_ID`).
pub const TLS13_DIST_ID: &str = "TLSv1.3+GM+Cipher+Suite";

/// Contents (without the outer SEQUENCE header, as webpki compares them) of
/// the SubjectPublicKeyInfo AlgorithmIdentifier of an SM2 key:
/// `OID 1.2.840.10045.2.1 (id-ecPublicKey), OID 1.2.156.10197.1.301 (SM2)`.
pub const SM2_PUBLIC_KEY_ALG_ID: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // id-ecPublicKey
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, // curve SM2
];

/// Contents of the signature AlgorithmIdentifier for SM2-with-SM3:
/// `OID 1.2.156.10197.1.501`, parameters absent (GM/T 0015; this is what
/// OpenSSL and Tongsuo emit).
pub const SM2_SM3_SIG_ALG_ID: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];

/// The TLS `SignatureAlgorithm` (a TLS 1.2 registry) has no SM2 entry; rustls
/// consults it only to match keys to TLS 1.2 suites, which this provider does
/// not have. A private-use value (RFC 5246 §12: 224-255) avoids claiming to
/// be ECDSA.
const SM2_SIGNATURE_ALGORITHM: SignatureAlgorithm = SignatureAlgorithm::Unknown(0xE0);

/// Length of an SM2 scalar / field element.
const SCALAR_LEN: usize = 32;

/// SM2-with-SM3 verification with a fixed distinguishing ID.
#[derive(Debug)]
pub(crate) struct Sm2Sm3Verify {
    dist_id: &'static str,
}

/// For X.509 certificate (and CRL) signatures.
pub(crate) static SM2_SM3_CERT: Sm2Sm3Verify = Sm2Sm3Verify {
    dist_id: CERT_DIST_ID,
};

/// For TLS 1.3 CertificateVerify signatures.
pub(crate) static SM2_SM3_TLS13: Sm2Sm3Verify = Sm2Sm3Verify {
    dist_id: TLS13_DIST_ID,
};

impl SignatureVerificationAlgorithm for Sm2Sm3Verify {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(self.dist_id, public_key)
            .map_err(|_| InvalidSignature)?;
        let sig = signature_from_der(signature).ok_or(InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_PUBLIC_KEY_ALG_ID)
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        AlgorithmIdentifier::from_slice(SM2_SM3_SIG_ALG_ID)
    }
}

/// Certificate chains are checked with `all`, handshake signatures with
/// `mapping` (see the module docs for why they differ).
pub(crate) static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[&SM2_SM3_CERT],
    mapping: &[(SM2SIG_SM3, &[&SM2_SM3_TLS13])],
};

/// `SEQUENCE { INTEGER r, INTEGER s }`, the signature encoding used both in
/// X.509 (GM/T 0009) and in TLS (RFC 8998 §3.2.1 keeps the ECDSA format).
#[derive(Sequence)]
struct DerSignature<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Strict DER decoding into an SM2 signature; `None` on any malformation,
/// over-long integer, zero or out-of-range scalar.
pub fn signature_from_der(der: &[u8]) -> Option<sm2::dsa::Signature> {
    let parsed = DerSignature::from_der(der).ok()?;
    let r = left_pad(parsed.r.as_bytes())?;
    let s = left_pad(parsed.s.as_bytes())?;
    sm2::dsa::Signature::from_scalars(r, s).ok()
}

/// DER encoding of an SM2 signature.
pub fn signature_to_der(sig: &sm2::dsa::Signature) -> Result<Vec<u8>, der::Error> {
    let r = sig.r_bytes();
    let s = sig.s_bytes();
    DerSignature {
        r: UintRef::new(&r)?,
        s: UintRef::new(&s)?,
    }
    .to_der()
}

/// Big-endian integer (already stripped of leading zeros by DER) to a
/// fixed 32-byte field; `None` if it does not fit.
fn left_pad(bytes: &[u8]) -> Option<[u8; SCALAR_LEN]> {
    let start = SCALAR_LEN.checked_sub(bytes.len())?;
    let mut out = [0u8; SCALAR_LEN];
    out.get_mut(start..)?.copy_from_slice(bytes);
    Some(out)
}

/// Signs `message` with SM2-with-SM3 under `dist_id`, returning DER.
pub(crate) fn sign_der(
    secret: &sm2::SecretKey,
    dist_id: &str,
    message: &[u8],
) -> Result<Vec<u8>, Error> {
    let key = sm2::dsa::SigningKey::new(dist_id, secret)
        .map_err(|_| Error::General("SM2: unusable signing key".into()))?;
    let sig: sm2::dsa::Signature = key
        .try_sign_with_rng(&mut OsRng, message)
        .map_err(|_| Error::General("SM2: signing failed".into()))?;
    signature_to_der(&sig).map_err(|_| Error::General("SM2: signature encoding failed".into()))
}

/// Loads SM2 private keys for rustls (`CryptoProvider::key_provider`).
#[derive(Debug)]
pub(crate) struct Sm2KeyProvider;

pub(crate) static KEY_PROVIDER: Sm2KeyProvider = Sm2KeyProvider;

impl KeyProvider for Sm2KeyProvider {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, Error> {
        let secret = parse_private_key(&key_der)?;
        Ok(Arc::new(Sm2SigningKey::new(secret)))
    }
}

/// PKCS#8 (id-ecPublicKey + SM2 curve OID, as OpenSSL/Tongsuo write SM2 keys)
/// or SEC1 `ECPrivateKey`. The pkcs8 decoder rejects any other curve OID.
pub(crate) fn parse_private_key(key_der: &PrivateKeyDer<'_>) -> Result<sm2::SecretKey, Error> {
    let parsed = match key_der {
        PrivateKeyDer::Pkcs8(der) => sm2::SecretKey::from_pkcs8_der(der.secret_pkcs8_der())
            .map_err(|_| "not a PKCS#8 SM2 private key"),
        PrivateKeyDer::Sec1(der) => sm2::SecretKey::from_sec1_der(der.secret_sec1_der())
            .map_err(|_| "not a SEC1 SM2 private key"),
        _ => Err("only PKCS#8 or SEC1 SM2 private keys are supported"),
    };
    parsed.map_err(|msg| Error::General(msg.into()))
}

/// An SM2 private key usable for TLS 1.3 CertificateVerify.
#[derive(Debug)]
pub struct Sm2SigningKey {
    secret: Arc<sm2::SecretKey>,
}

impl Sm2SigningKey {
    /// Wraps an SM2 secret key.
    pub fn new(secret: sm2::SecretKey) -> Self {
        Self {
            secret: Arc::new(secret),
        }
    }
}

impl SigningKey for Sm2SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if offered.contains(&SM2SIG_SM3) {
            Some(Box::new(Sm2TlsSigner {
                secret: Arc::clone(&self.secret),
            }))
        } else {
            None
        }
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        // Lets rustls check the key matches the certificate (`keys_match`).
        let point = self.secret.public_key().to_encoded_point(false);
        Some(public_key_to_spki(
            &AlgorithmIdentifier::from_slice(SM2_PUBLIC_KEY_ALG_ID),
            point.as_bytes(),
        ))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SM2_SIGNATURE_ALGORITHM
    }
}

/// Produces CertificateVerify signatures with the RFC 8998 handshake ID.
struct Sm2TlsSigner {
    secret: Arc<sm2::SecretKey>,
}

impl std::fmt::Debug for Sm2TlsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("Sm2TlsSigner")
    }
}

impl Signer for Sm2TlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        sign_der(&self.secret, TLS13_DIST_ID, message)
    }

    fn scheme(&self) -> SignatureScheme {
        SM2SIG_SM3
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use der::asn1::ObjectIdentifier;

    #[test]
    fn alg_id_bytes_match_oids() {
        let ec = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1")
            .to_der()
            .unwrap();
        let curve = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301")
            .to_der()
            .unwrap();
        let sig = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501")
            .to_der()
            .unwrap();
        assert_eq!([ec, curve].concat(), SM2_PUBLIC_KEY_ALG_ID);
        assert_eq!(sig, SM2_SM3_SIG_ALG_ID);
    }

    #[test]
    fn der_round_trip_and_strictness() {
        let secret = sm2::SecretKey::random(&mut OsRng);
        let der = sign_der(&secret, CERT_DIST_ID, b"msg").unwrap();
        let sig = signature_from_der(&der).unwrap();
        assert_eq!(signature_to_der(&sig).unwrap(), der);
        // Trailing garbage and truncation are rejected.
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(signature_from_der(&trailing).is_none());
        assert!(signature_from_der(&der[..der.len() - 1]).is_none());
        // Raw r||s (non-DER) is rejected.
        assert!(signature_from_der(&sig.to_bytes()).is_none());
    }

    #[test]
    fn distinguishing_ids_are_not_interchangeable() {
        let secret = sm2::SecretKey::random(&mut OsRng);
        let point = secret.public_key().to_encoded_point(false);
        let msg = b"TLS 1.3, server CertificateVerify";

        let tls_sig = sign_der(&secret, TLS13_DIST_ID, msg).unwrap();
        assert!(SM2_SM3_TLS13
            .verify_signature(point.as_bytes(), msg, &tls_sig)
            .is_ok());
        assert!(SM2_SM3_CERT
            .verify_signature(point.as_bytes(), msg, &tls_sig)
            .is_err());

        let cert_sig = sign_der(&secret, CERT_DIST_ID, msg).unwrap();
        assert!(SM2_SM3_CERT
            .verify_signature(point.as_bytes(), msg, &cert_sig)
            .is_ok());
        assert!(SM2_SM3_TLS13
            .verify_signature(point.as_bytes(), msg, &cert_sig)
            .is_err());

        // The rustls signer uses the TLS ID.
        let key = Sm2SigningKey::new(secret.clone());
        assert!(key
            .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
            .is_none());
        let signer = key.choose_scheme(&[SM2SIG_SM3]).unwrap();
        assert_eq!(signer.scheme(), SM2SIG_SM3);
        let sig = signer.sign(msg).unwrap();
        assert!(SM2_SM3_TLS13
            .verify_signature(point.as_bytes(), msg, &sig)
            .is_ok());
    }

    #[test]
    fn key_provider_loads_pkcs8_and_sec1() {
        use rustls::pki_types::{PrivatePkcs8KeyDer, PrivateSec1KeyDer};
        use sm2::pkcs8::EncodePrivateKey;
        let secret = sm2::SecretKey::random(&mut OsRng);
        let pkcs8 = secret.to_pkcs8_der().unwrap();
        let key = KEY_PROVIDER
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                pkcs8.as_bytes().to_vec(),
            )))
            .unwrap();
        assert!(key.public_key().is_some());
        let sec1 = secret.to_sec1_der().unwrap();
        assert!(KEY_PROVIDER
            .load_private_key(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(sec1.to_vec())))
            .is_ok());
        assert!(KEY_PROVIDER
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(vec![
                0x30, 0x00
            ])))
            .is_err());
    }
}
