//! A record the gateway keeps unsealed for a while — accepted, waiting for
//! its pseudonyms — encrypted to its submitter's own KEM key, so a copy of
//! the gateway's store without the submitter's key shows no customer value
//! (`docs/formats/awaiting.md`).
//!
//! Bytes: `key id (16) ‖ u8 KEM ‖ u16 len ‖ encapsulated key ‖ u16 len ‖
//! wrapped data key ‖ u32 len ‖ AEAD(data key, nonce 0, aad = envelope id,
//! plaintext)`. The data key is wrapped with the suite's KEM as envelope
//! keys are, under info `"veilgate/awaiting-record/v1"` and aad the
//! envelope id; it is fresh per record, so the zero nonce is never reused.

use veilgate_codec::{Reader, Writer};
use zeroize::Zeroizing;

use crate::keys::{KemAlg, KemDecap, KeyId, MemberKey, KEY_ID_LEN};
use crate::suite::{RngCoreCrypto, SuiteId};

/// The HPKE/SM2 info of the wrapped data key.
pub const AT_REST_INFO: &[u8] = b"veilgate/awaiting-record/v1";

/// Why a record at rest could not be opened. Names no value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AtRestError {
    #[error("the record at rest is malformed: {0}")]
    Malformed(String),
    #[error("the record at rest is wrapped to key {0}, which is not held here")]
    KeyNotHeld(String),
    #[error("the record at rest does not decrypt: it was altered or is another record's")]
    Crypto,
}

/// Encrypts `plaintext` (a record's canonical values) to `key`, the
/// submitter's own key in force, bound to `envelope_id`.
pub fn seal_at_rest(
    suite: SuiteId,
    key: &MemberKey,
    envelope_id: &[u8; 16],
    plaintext: &[u8],
    rng: &mut dyn RngCoreCrypto,
) -> Result<Vec<u8>, AtRestError> {
    let s = suite.suite();
    let mut dk = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(dk.as_mut());
    let (enc, wrapped) = s
        .wrap_key(
            key.kem,
            &key.kem_public,
            AT_REST_INFO,
            envelope_id,
            &dk,
            rng,
        )
        .map_err(|_| AtRestError::Crypto)?;
    let ct = s
        .seal_field(&dk, [0; 12], envelope_id, plaintext)
        .map_err(|_| AtRestError::Crypto)?;
    let mut out = Vec::with_capacity(KEY_ID_LEN + 1 + 4 + enc.len() + wrapped.len() + 4 + ct.len());
    out.put(&key.id.0);
    out.put_u8(key.kem as u8);
    out.put_bytes_u16(&enc);
    out.put_bytes_u16(&wrapped);
    out.put_bytes_u32(&ct);
    Ok(out)
}

/// Decrypts what [`seal_at_rest`] wrote for `envelope_id`, with the
/// submitter's key (in memory or in its token).
pub fn open_at_rest(
    suite: SuiteId,
    me: &dyn KemDecap,
    envelope_id: &[u8; 16],
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AtRestError> {
    let bad = |e: veilgate_codec::CodecError| AtRestError::Malformed(e.to_string());
    let mut r = Reader::new(bytes);
    let id = KeyId(r.array::<KEY_ID_LEN>("key id").map_err(bad)?);
    let kem_byte = r.u8("KEM").map_err(bad)?;
    let kem = KemAlg::from_byte(kem_byte)
        .ok_or_else(|| AtRestError::Malformed(format!("unknown KEM {kem_byte}")))?;
    let enc = r.bytes_u16("encapsulated key").map_err(bad)?;
    let wrapped = r.bytes_u16("wrapped key").map_err(bad)?;
    let ct = r.bytes_u32("ciphertext").map_err(bad)?;
    r.finish().map_err(bad)?;
    let key = me
        .keys()
        .into_iter()
        .find(|k| k.id == id && k.kem == kem)
        .ok_or_else(|| AtRestError::KeyNotHeld(id.hex()))?;
    let dh = me.dh(&id, enc).map_err(|_| AtRestError::Crypto)?;
    let s = suite.suite();
    let dk = s
        .unwrap_key(
            kem,
            &dh,
            enc,
            &key.kem_public,
            AT_REST_INFO,
            envelope_id,
            wrapped,
        )
        .map_err(|_| AtRestError::Crypto)?;
    let pt = s
        .open_field(&dk, [0; 12], envelope_id, ct)
        .map_err(|_| AtRestError::Crypto)?;
    Ok(Zeroizing::new(pt))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::keys::InstitutionSecrets;

    #[test]
    fn only_the_submitters_key_opens_the_record_and_only_for_its_id() {
        let mut rng = rand_core::OsRng;
        for suite in [SuiteId::Standard, SuiteId::Sm] {
            let me = InstitutionSecrets::generate("bank-a", suite, &mut rng);
            let other = InstitutionSecrets::generate("bank-b", suite, &mut rng);
            let key = me.public().keys[0].clone();
            let sealed =
                seal_at_rest(suite, &key, &[7; 16], b"6222020200112233445", &mut rng).unwrap();
            assert_eq!(
                open_at_rest(suite, &me, &[7; 16], &sealed)
                    .unwrap()
                    .as_slice(),
                b"6222020200112233445"
            );
            assert!(!sealed.windows(6).any(|w| w == b"622202"));
            assert_eq!(
                open_at_rest(suite, &me, &[8; 16], &sealed),
                Err(AtRestError::Crypto)
            );
            assert!(matches!(
                open_at_rest(suite, &other, &[7; 16], &sealed),
                Err(AtRestError::KeyNotHeld(_))
            ));
            let mut flipped = sealed.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 1;
            assert_eq!(
                open_at_rest(suite, &me, &[7; 16], &flipped),
                Err(AtRestError::Crypto)
            );
            for n in 0..sealed.len() {
                assert!(open_at_rest(suite, &me, &[7; 16], &sealed[..n]).is_err());
            }
        }
    }
}
