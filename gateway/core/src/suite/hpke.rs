//! The HPKE receiver (RFC 9180, base mode) from a Diffie-Hellman output `Z`
//! computed elsewhere — in memory, or inside a PKCS#11 token that never lets
//! the private key out. The `hpke` crate seals (the sender needs no secret
//! key); its receiver wants the private key itself, so this side is ours.
//!
//! Suites: KEM DHKEM(X25519, HKDF-SHA256) 0x0020 or DHKEM(P-256,
//! HKDF-SHA256) 0x0010; KDF HKDF-SHA256 0x0001; AEAD AES-256-GCM 0x0002.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::CryptoFailure;
use crate::keys::KemAlg;

const KDF_ID: u16 = 0x0001;
const AEAD_ID: u16 = 0x0002;

fn kem_id(kem: KemAlg) -> Option<u16> {
    match kem {
        KemAlg::X25519 => Some(0x0020),
        KemAlg::P256 => Some(0x0010),
        _ => None,
    }
}

/// `LabeledExtract(salt, label, ikm)` (RFC 9180 §4).
fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(Vec::with_capacity(
        7 + suite_id.len() + label.len() + ikm.len(),
    ));
    input.extend_from_slice(b"HPKE-v1");
    input.extend_from_slice(suite_id);
    input.extend_from_slice(label);
    input.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &input);
    Zeroizing::new(prk.to_vec())
}

/// `LabeledExpand(prk, label, info, L)` (RFC 9180 §4).
fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoFailure> {
    let len = u16::try_from(out.len()).map_err(|_| CryptoFailure)?;
    let mut labeled = Vec::with_capacity(9 + suite_id.len() + label.len() + info.len());
    labeled.extend_from_slice(&len.to_be_bytes());
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(suite_id);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    Hkdf::<Sha256>::from_prk(prk)
        .map_err(|_| CryptoFailure)?
        .expand(&labeled, out)
        .map_err(|_| CryptoFailure)
}

/// Opens a single-shot HPKE base-mode ciphertext given `Z = DH(skR, enc)`,
/// the encapsulated key and the recipient's public key (`pk_r`).
pub fn open_base(
    kem: KemAlg,
    dh: &[u8; 32],
    enc: &[u8],
    pk_r: &[u8],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoFailure> {
    let kem_id = kem_id(kem).ok_or(CryptoFailure)?;
    if enc.len() != kem.public_len() || pk_r.len() != kem.public_len() {
        return Err(CryptoFailure);
    }
    // DHKEM ExtractAndExpand (§4.1).
    let mut kem_suite = b"KEM".to_vec();
    kem_suite.extend_from_slice(&kem_id.to_be_bytes());
    let mut kem_context = Vec::with_capacity(enc.len() + pk_r.len());
    kem_context.extend_from_slice(enc);
    kem_context.extend_from_slice(pk_r);
    let eae_prk = labeled_extract(&kem_suite, b"", b"eae_prk", dh);
    let mut shared_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &kem_suite,
        &eae_prk,
        b"shared_secret",
        &kem_context,
        shared_secret.as_mut(),
    )?;
    // Key schedule, mode base, no PSK (§5.1).
    let mut suite = b"HPKE".to_vec();
    for id in [kem_id, KDF_ID, AEAD_ID] {
        suite.extend_from_slice(&id.to_be_bytes());
    }
    let mut context = vec![0u8];
    context.extend_from_slice(&labeled_extract(&suite, b"", b"psk_id_hash", b""));
    context.extend_from_slice(&labeled_extract(&suite, b"", b"info_hash", info));
    let secret = labeled_extract(&suite, shared_secret.as_ref(), b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; 12];
    labeled_expand(&suite, &secret, b"key", &context, key.as_mut())?;
    labeled_expand(&suite, &secret, b"base_nonce", &context, &mut nonce)?;
    // Single shot: sequence number 0, so the nonce is the base nonce.
    let pt = Aes256Gcm::new(key.as_ref().into())
        .decrypt(Nonce::from_slice(&nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoFailure)?;
    Ok(Zeroizing::new(pt))
}
