//! `veilgate-tls-sm`: a rustls 0.23 [`CryptoProvider`] for the RFC 8998
//! ShangMi TLS 1.3 profile, and SM2 certificate generation.
//!
//! The provider contains exactly one cipher suite, one group and one
//! signature scheme, so a connection built on it either negotiates the full
//! RFC 8998 profile or fails:
//!
//! | item | code point | source |
//! |---|---|---|
//! | `TLS_SM4_GCM_SM3` | 0x00C6 | RFC 8998 §2 |
//! | `curveSM2` | NamedGroup 0x0029 | RFC 8998 §2 |
//! | `sm2sig_sm3` | SignatureScheme 0x0708 | RFC 8998 §2 |
//!
//! Use it with `ClientConfig::builder_with_provider(Arc::new(provider()))`
//! and `.with_protocol_versions(&[&rustls::version::TLS13])`; certificates
//! are verified by the stock `WebPkiServerVerifier` / `WebPkiClientVerifier`
//! built from the same provider.
//!
//! SM2 signatures depend on a "distinguishing ID". X.509 signatures use
//! [`CERT_DIST_ID`] (`1234567812345678`); TLS 1.3 CertificateVerify uses
//! [`TLS13_DIST_ID`] (`TLSv1.3+GM+Cipher+Suite`, RFC 8998 §3.2.1). rustls
//! checks chains with `WebPkiSupportedAlgorithms::all` and handshake
//! signatures with `WebPkiSupportedAlgorithms::mapping`, so the provider puts
//! one verification algorithm per ID in those two slots; no custom verifier
//! is needed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod aead;
pub mod cert;
mod hash;
mod kx;
mod rng;
mod sign;

use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{CipherSuiteCommon, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CipherSuite, SupportedCipherSuite, Tls13CipherSuite};

pub use cert::{generate_ca, issue, CertError, CertUsage, IssuedCert, SanEntry, Sm2KeyPair};
pub use kx::CURVE_SM2;
pub use sign::{
    Sm2SigningKey, CERT_DIST_ID, SM2SIG_SM3, SM2_PUBLIC_KEY_ALG_ID, SM2_SM3_SIG_ALG_ID,
    TLS13_DIST_ID,
};

/// `TLS_SM4_GCM_SM3` code point (RFC 8998 §2). rustls has no named variant,
/// so this is `Unknown(0x00C6)`, which is what rustls decodes 0x00C6 into.
pub const TLS_SM4_GCM_SM3_ID: CipherSuite = CipherSuite::Unknown(0x00C6);

/// HKDF-SM3 (RFC 5869 over HMAC-SM3), the TLS 1.3 key schedule hash.
static HKDF_SM3: HkdfUsingHmac<'static> = HkdfUsingHmac(&hash::HmacSm3);

/// The `TLS_SM4_GCM_SM3` TLS 1.3 cipher suite.
pub static TLS_SM4_GCM_SM3: SupportedCipherSuite = SupportedCipherSuite::Tls13(&Tls13CipherSuite {
    common: CipherSuiteCommon {
        suite: TLS_SM4_GCM_SM3_ID,
        hash_provider: &hash::Sm3Hash,
        // RFC 8446 §5.5's 2^24.5 full-size-record limit is derived for a
        // 128-bit block cipher in GCM mode; SM4 is one, so the AES-GCM limit
        // (the value rustls uses for AES-GCM) applies unchanged.
        confidentiality_limit: 1 << 24,
    },
    hkdf_provider: &HKDF_SM3,
    aead_alg: &aead::Sm4GcmAead,
    // No QUIC header-protection for SM4 here.
    quic: None,
});

/// Signature verification algorithms: SM2-with-SM3 only.
pub static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = sign::SUPPORTED_SIG_ALGS;

/// The RFC 8998 provider: suite `TLS_SM4_GCM_SM3`, group curveSM2, signature
/// scheme sm2sig_sm3, SM2 key loading, OS randomness — and nothing else.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![TLS_SM4_GCM_SM3],
        kx_groups: vec![&kx::CurveSm2],
        signature_verification_algorithms: SUPPORTED_SIG_ALGS,
        secure_random: &rng::OsRandom,
        key_provider: &sign::KEY_PROVIDER,
    }
}

/// Lower-level primitives, exposed for tests and diagnostics.
pub mod primitives {
    pub use crate::kx::x_coordinate_of_shared_point;
    pub use crate::sign::{signature_from_der, signature_to_der};

    /// The SM3 hash provider used by the suite.
    pub fn sm3_hash() -> &'static dyn rustls::crypto::hash::Hash {
        &crate::hash::Sm3Hash
    }

    /// The HMAC-SM3 provider used by the suite.
    pub fn hmac_sm3() -> &'static dyn rustls::crypto::hmac::Hmac {
        &crate::hash::HmacSm3
    }

    /// HKDF-SM3 as used by the TLS 1.3 key schedule.
    pub fn hkdf_sm3() -> &'static dyn rustls::crypto::tls13::Hkdf {
        &crate::HKDF_SM3
    }

    /// The SM4-GCM record-layer AEAD.
    pub fn sm4_gcm() -> &'static dyn rustls::crypto::cipher::Tls13AeadAlgorithm {
        &crate::aead::Sm4GcmAead
    }

    /// Verification algorithm for certificate signatures (ID 1234567812345678).
    pub fn sm2_sm3_cert_verify() -> &'static dyn rustls::pki_types::SignatureVerificationAlgorithm {
        &crate::sign::SM2_SM3_CERT
    }

    /// Verification algorithm for TLS 1.3 handshake signatures
    /// (ID "TLSv1.3+GM+Cipher+Suite").
    pub fn sm2_sm3_tls13_verify() -> &'static dyn rustls::pki_types::SignatureVerificationAlgorithm
    {
        &crate::sign::SM2_SM3_TLS13
    }

    /// SM2-with-SM3 signature in DER with an explicit distinguishing ID.
    pub fn sm2_sign_der(
        secret: &sm2::SecretKey,
        dist_id: &str,
        message: &[u8],
    ) -> Result<Vec<u8>, rustls::Error> {
        crate::sign::sign_der(secret, dist_id, message)
    }
}

/// Re-export so callers can name SM2 key types without a direct dependency.
pub use sm2;
