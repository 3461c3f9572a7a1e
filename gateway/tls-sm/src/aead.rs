//! SM4-GCM record protection for TLS 1.3 (RFC 8998 §3.1, RFC 8446 §5.2).
//!
//! RFC 8998 fixes the AEAD parameters: 16-byte key, 12-byte IV, 16-byte tag,
//! and the per-record nonce is built exactly as in RFC 8446 §5.3
//! (IV XOR 64-bit big-endian sequence number, left-padded to 12 bytes), which
//! rustls' `Nonce::new` already does.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::{ConnectionTrafficSecrets, ContentType, Error, ProtocolVersion};

/// SM4 in GCM mode: GCM is block-cipher generic, and SM4 is a 128-bit block
/// cipher like AES, so the `aes-gcm` construction applies unchanged.
pub(crate) type Sm4Gcm = aes_gcm::AesGcm<sm4::Sm4, U12>;

/// SM4 key length in bytes.
pub(crate) const SM4_KEY_LEN: usize = 16;

/// GCM tag length mandated by RFC 8998 §3.1.
pub(crate) const TAG_LEN: usize = 16;

/// The TLS 1.3 AEAD algorithm object for `TLS_SM4_GCM_SM3`.
#[derive(Debug)]
pub(crate) struct Sm4GcmAead;

impl Tls13AeadAlgorithm for Sm4GcmAead {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        match Sm4Gcm::new_from_slice(key.as_ref()) {
            Ok(cipher) => Box::new(Sm4GcmRecord { cipher, iv }),
            // rustls always derives `key_len()` bytes, so this is unreachable
            // in practice; failing every record is the safe fallback.
            Err(_) => Box::new(BrokenKey),
        }
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        match Sm4Gcm::new_from_slice(key.as_ref()) {
            Ok(cipher) => Box::new(Sm4GcmRecord { cipher, iv }),
            Err(_) => Box::new(BrokenKey),
        }
    }

    fn key_len(&self) -> usize {
        SM4_KEY_LEN
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        // `ConnectionTrafficSecrets` has no SM4 variant, so kTLS-style secret
        // extraction cannot be expressed for this suite.
        Err(UnsupportedOperationError)
    }
}

/// One direction of SM4-GCM record protection.
struct Sm4GcmRecord {
    cipher: Sm4Gcm,
    iv: Iv,
}

impl Sm4GcmRecord {
    fn nonce(&self, seq: u64) -> aes_gcm::Nonce<U12> {
        aes_gcm::Nonce::<U12>::from(Nonce::new(&self.iv, seq).0)
    }
}

impl MessageEncrypter for Sm4GcmRecord {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        // TLSInnerPlaintext = content || ContentType (no padding added).
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());

        let nonce = self.nonce(seq);
        // The AAD is the record header, whose length field covers the tag.
        let aad = make_tls13_aad(total_len);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce, &aad, payload.as_mut())
            .map_err(|_| Error::EncryptError)?;
        payload.extend_from_slice(&tag);

        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            // legacy_record_version is always 0x0303 in TLS 1.3 (RFC 8446 §5.1).
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for Sm4GcmRecord {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let nonce = self.nonce(seq);
        let payload = &mut msg.payload;
        let aad = make_tls13_aad(payload.len());
        // A record shorter than the tag cannot be authentic.
        let body_len = payload
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptError)?;
        let (body, tag) = payload.split_at_mut(body_len);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| Error::DecryptError)?;
        self.cipher
            .decrypt_in_place_detached(&nonce, &aad, body, &tag.into())
            .map_err(|_| Error::DecryptError)?;
        payload.truncate(body_len);
        // Strips zero padding and recovers the real content type.
        msg.into_tls13_unpadded_message()
    }
}

/// Stand-in for a cipher whose key could not be installed.
struct BrokenKey;

impl MessageEncrypter for BrokenKey {
    fn encrypt(
        &mut self,
        _msg: OutboundPlainMessage<'_>,
        _seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        Err(Error::EncryptError)
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

impl MessageDecrypter for BrokenKey {
    fn decrypt<'a>(
        &mut self,
        _msg: InboundOpaqueMessage<'a>,
        _seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        Err(Error::DecryptError)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rustls::crypto::cipher::OutboundChunks;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8998 Appendix A.1 SM4-GCM test vector (also in Tongsuo's
    /// test/recipes/30-test_evp_data/evpciph_sm4.txt).
    #[test]
    fn sm4_gcm_rfc8998_vector() {
        let key = hex("0123456789abcdeffedcba9876543210");
        let iv = hex("00001234567800000000abcd");
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let pt = hex(
            "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd\
                      eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa",
        );
        let ct = hex(
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735\
                      d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d",
        );
        let tag = hex("83de3541e4c2b58177e065a9bf7b62ec");
        let cipher = Sm4Gcm::new_from_slice(&key).unwrap();
        let mut buf = pt.clone();
        let got_tag = cipher
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&iv), &aad, &mut buf)
            .unwrap();
        assert_eq!(buf, ct);
        assert_eq!(got_tag.as_slice(), &tag[..]);
    }

    fn record(key: &[u8; 16], iv: [u8; 12]) -> Sm4GcmRecord {
        Sm4GcmRecord {
            cipher: Sm4Gcm::new_from_slice(key).unwrap(),
            iv: Iv::from(iv),
        }
    }

    fn seal(rec: &mut Sm4GcmRecord, data: &[u8], seq: u64) -> Vec<u8> {
        let msg = OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_2,
            payload: OutboundChunks::from(data),
        };
        let opaque = rec.encrypt(msg, seq).unwrap();
        // Strip the 5-byte record header.
        opaque.encode()[5..].to_vec()
    }

    #[test]
    fn record_round_trip_and_tamper() {
        let key = [7u8; 16];
        let iv = [0x11u8; 12];
        let mut tx = record(&key, iv);
        let mut rx = record(&key, iv);
        let data = b"hello SM4-GCM record layer";
        let mut sealed = seal(&mut tx, data, 42);
        assert_eq!(sealed.len(), data.len() + 1 + TAG_LEN);

        // Nonce is iv XOR seq (RFC 8446 §5.3): reproduce with the raw cipher.
        let mut nonce = iv;
        for (n, s) in nonce[4..].iter_mut().zip(42u64.to_be_bytes()) {
            *n ^= s;
        }
        let raw = Sm4Gcm::new_from_slice(&key).unwrap();
        let mut inner = data.to_vec();
        inner.push(u8::from(ContentType::ApplicationData));
        let aad = make_tls13_aad(sealed.len());
        let tag = raw
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(&nonce), &aad, &mut inner)
            .unwrap();
        inner.extend_from_slice(&tag);
        assert_eq!(inner, sealed);

        let mut good = sealed.clone();
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut good,
        );
        let plain = rx.decrypt(msg, 42).unwrap();
        assert_eq!(plain.typ, ContentType::ApplicationData);
        assert_eq!(plain.payload, &data[..]);

        // Wrong sequence number: wrong nonce.
        let mut copy = sealed.clone();
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut copy,
        );
        assert!(matches!(rx.decrypt(msg, 43), Err(Error::DecryptError)));

        // Flipped tag bit.
        let last = sealed.len() - 1;
        sealed[last] ^= 0x01;
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut sealed,
        );
        assert!(matches!(rx.decrypt(msg, 42), Err(Error::DecryptError)));

        // Shorter than a tag.
        let mut short = [0u8; 10];
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut short,
        );
        assert!(matches!(rx.decrypt(msg, 0), Err(Error::DecryptError)));
    }
}
