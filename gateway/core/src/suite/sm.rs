//! The national suite `sm` (GM/T): SM2 signatures (GB/T 32918.2, over SM3,
//! with the signer's distinguishing identifier), SM2-ECDH key wrapping in
//! the shape of HPKE base mode, SM4-GCM fields (RFC 8998's AEAD), HMAC-SM3
//! pseudonyms and SM3 hashing. Byte by byte in docs/suite-sm.md.
//!
//! A ledger whose directory names `suite: "sm"` admits only envelopes of
//! this suite; its envelope ids, policy plan hashes and (embedded) ledger
//! hash chain are SM3 too.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AesGcm, Nonce};
use hmac::{Hmac, Mac};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::sec1::ToEncodedPoint;
use sm3::{Digest, Sm3};
use zeroize::Zeroizing;

use super::{CryptoFailure, DataKey, DynRng, RngCoreCrypto, Suite, SuiteId};
use crate::keys::KemAlg;

/// SM4 in GCM mode, 96-bit nonces, 128-bit tags: RFC 8998's
/// `AEAD_SM4_GCM`, from the same GCM code as AES-GCM.
pub type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// The distinguishing identifier GB/T 32918.2 and GM/T 0009 name as the
/// default, used when a member's directory entry names none.
pub const DEFAULT_DISTID: &str = "1234567812345678";

/// Domain label of the key-wrapping KDF input.
const KEM_LABEL: &[u8] = b"veilgate/sm2-kem/v1";
/// Domain label of key derivation from a seed.
const KEYGEN_LABEL: &[u8] = b"veilgate/sm2-keygen/v1";

/// An SEC1 uncompressed point: `04 ‖ x ‖ y`.
pub const POINT_LEN: usize = 65;

pub struct Sm;

/// GB/T 32918.4 §5.4.3's KDF over SM3: `SM3(z ‖ ct) ‖ SM3(z ‖ ct+1) ‖ …`
/// with a 32-bit big-endian counter from 1, cut to `out.len()` bytes.
pub fn sm3_kdf(z: &[u8], out: &mut [u8]) {
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let counter = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let block = Sm3::new()
            .chain_update(z)
            .chain_update(counter.to_be_bytes())
            .finalize();
        chunk.copy_from_slice(block.get(..chunk.len()).unwrap_or_default());
    }
}

fn field_cipher(key: &[u8; 32]) -> Sm4Gcm {
    // SM4 keys are 128 bits: the first half of the 32-byte data key (which
    // is uniformly random, so its halves are too).
    let k: [u8; 16] = key
        .get(..16)
        .and_then(|k| k.try_into().ok())
        .unwrap_or([0; 16]);
    Sm4Gcm::new(&k.into())
}

/// A secret scalar in [1, n−1] from 32 bytes, if they are one.
fn scalar(secret: &[u8]) -> Option<sm2::NonZeroScalar> {
    let bytes: [u8; 32] = secret.try_into().ok()?;
    Option::from(sm2::NonZeroScalar::from_repr(bytes.into()))
}

/// A point on the curve from its uncompressed SEC1 encoding (any other
/// form, a point off the curve or the identity is refused).
fn point(bytes: &[u8]) -> Option<sm2::PublicKey> {
    if bytes.len() != POINT_LEN || bytes.first() != Some(&4) {
        return None;
    }
    sm2::PublicKey::from_sec1_bytes(bytes).ok()
}

/// Whether `bytes` is an uncompressed SEC1 point on the SM2 curve (not the
/// identity): what every public key and encapsulated key must be.
pub fn is_point(bytes: &[u8]) -> bool {
    point(bytes).is_some()
}

fn encode(p: &sm2::PublicKey) -> Vec<u8> {
    p.to_encoded_point(false).as_bytes().to_vec()
}

/// `Z = x(secret · enc)` for a secret scalar and an encapsulated point;
/// `None` if either is not of the curve.
pub(crate) fn dh(secret: &[u8; 32], enc: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    Some(shared_x(&scalar(secret)?, &point(enc)?))
}

/// `x(k · P)`: the ECDH shared secret.
fn shared_x(k: &sm2::NonZeroScalar, p: &sm2::PublicKey) -> Zeroizing<[u8; 32]> {
    let shared = (p.to_projective() * **k).to_affine();
    Zeroizing::new(shared.x().into())
}

/// The wrapping key and nonce: SM3-KDF(label ‖ Z ‖ enc ‖ pk_R ‖ u16 |info|
/// ‖ info), 16 + 12 bytes.
fn wrap_keys(z: &[u8; 32], enc: &[u8], recipient: &[u8], info: &[u8]) -> Zeroizing<[u8; 28]> {
    let mut input = Zeroizing::new(Vec::with_capacity(
        KEM_LABEL.len() + 32 + 2 * POINT_LEN + 2 + info.len(),
    ));
    input.extend_from_slice(KEM_LABEL);
    input.extend_from_slice(z);
    input.extend_from_slice(enc);
    input.extend_from_slice(recipient);
    input.extend_from_slice(&u16::try_from(info.len()).unwrap_or(u16::MAX).to_be_bytes());
    input.extend_from_slice(info);
    let mut out = Zeroizing::new([0u8; 28]);
    sm3_kdf(&input, out.as_mut());
    out
}

fn sm4_gcm(keys: &[u8; 28]) -> (Sm4Gcm, [u8; 12]) {
    let (k, n) = keys.split_at(16);
    let k: [u8; 16] = k.try_into().unwrap_or([0; 16]);
    let n: [u8; 12] = n.try_into().unwrap_or([0; 12]);
    (Sm4Gcm::new(&k.into()), n)
}

impl Sm {
    /// An SM2 signature `r ‖ s` (64 bytes) over `message` by `secret` with
    /// distinguishing identifier `distid`; `None` if the secret is no key.
    pub fn sign_with_id(
        &self,
        secret: &[u8; 32],
        distid: &str,
        message: &[u8],
    ) -> Option<[u8; 64]> {
        let sk = sm2::SecretKey::from_bytes(&(*secret).into()).ok()?;
        let key = sm2::dsa::SigningKey::new(distid, &sk).ok()?;
        let sig: sm2::dsa::Signature = key.try_sign(message).ok()?;
        Some(sig.to_bytes())
    }

    /// Verifies an SM2 signature with the signer's distinguishing identifier.
    pub fn verify_with_id(
        &self,
        public: &[u8],
        distid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoFailure> {
        let p = point(public).ok_or(CryptoFailure)?;
        let key = sm2::dsa::VerifyingKey::new(distid, p).map_err(|_| CryptoFailure)?;
        let sig = sm2::dsa::Signature::from_slice(signature).map_err(|_| CryptoFailure)?;
        key.verify(message, &sig).map_err(|_| CryptoFailure)
    }

    /// The secret scalar for 32 bytes of seed: the first of
    /// SM3(label ‖ seed ‖ u32 counter), counter from 0, that is in [1, n−1]
    /// (the first is, but for a chance of about 2^-32).
    fn derive(seed: &[u8; 32]) -> Option<sm2::NonZeroScalar> {
        (0u32..=u32::MAX).find_map(|counter| {
            let h = Zeroizing::new(
                Sm3::new()
                    .chain_update(KEYGEN_LABEL)
                    .chain_update(seed)
                    .chain_update(counter.to_be_bytes())
                    .finalize(),
            );
            scalar(h.as_slice())
        })
    }
}

impl Suite for Sm {
    fn id(&self) -> SuiteId {
        SuiteId::Sm
    }
    fn kem_key_len(&self) -> usize {
        POINT_LEN
    }
    fn kem_secret_len(&self) -> usize {
        32
    }
    fn signature_len(&self) -> usize {
        64
    }
    fn aead_tag_len(&self) -> usize {
        16
    }

    fn seal_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure> {
        field_cipher(key)
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoFailure)
    }

    fn open_field(
        &self,
        key: &[u8; 32],
        nonce: [u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CryptoFailure> {
        field_cipher(key)
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| CryptoFailure)
    }

    fn wrap_key(
        &self,
        kem: KemAlg,
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        key: &[u8; 32],
        rng: &mut dyn RngCoreCrypto,
    ) -> Result<(Vec<u8>, Vec<u8>), CryptoFailure> {
        if kem != KemAlg::Sm2 {
            return Err(CryptoFailure);
        }
        let recipient = point(recipient_public).ok_or(CryptoFailure)?;
        let ephemeral = sm2::NonZeroScalar::random(&mut DynRng(rng));
        let enc = encode(&sm2::PublicKey::from_secret_scalar(&ephemeral));
        let z = shared_x(&ephemeral, &recipient);
        let keys = wrap_keys(&z, &enc, recipient_public, info);
        let (cipher, nonce) = sm4_gcm(&keys);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: key, aad })
            .map_err(|_| CryptoFailure)?;
        Ok((enc, ct))
    }

    fn unwrap_key(
        &self,
        kem: KemAlg,
        dh: &[u8; 32],
        enc: &[u8],
        recipient_public: &[u8],
        info: &[u8],
        aad: &[u8],
        ct: &[u8],
    ) -> Result<DataKey, CryptoFailure> {
        if kem != KemAlg::Sm2 || point(enc).is_none() || point(recipient_public).is_none() {
            return Err(CryptoFailure);
        }
        let keys = wrap_keys(dh, enc, recipient_public, info);
        let (cipher, nonce) = sm4_gcm(&keys);
        let pt = Zeroizing::new(
            cipher
                .decrypt(Nonce::from_slice(&nonce), Payload { msg: ct, aad })
                .map_err(|_| CryptoFailure)?,
        );
        let key: [u8; 32] = pt.as_slice().try_into().map_err(|_| CryptoFailure)?;
        Ok(Zeroizing::new(key))
    }

    fn sign(&self, secret: &[u8; 32], signer_id: &str, message: &[u8]) -> Vec<u8> {
        // A secret that is no key signs nothing a verifier accepts.
        self.sign_with_id(secret, signer_id, message)
            .map_or_else(|| vec![0; 64], |s| s.to_vec())
    }

    fn verify_signature(
        &self,
        public: &[u8],
        signer_id: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoFailure> {
        self.verify_with_id(public, signer_id, message, signature)
    }

    fn pseudonym(&self, key: &[u8; 32], message: &[u8]) -> [u8; 32] {
        // As in `standard`: HMAC zero-pads a 32-byte key to the block.
        let mut block = Zeroizing::new([0u8; 64]);
        if let Some(head) = block.get_mut(..32) {
            head.copy_from_slice(key);
        }
        let mut mac = <Hmac<Sm3> as KeyInit>::new(block.as_ref().into());
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn hash(&self, message: &[u8]) -> [u8; 32] {
        Sm3::digest(message).into()
    }

    fn kem_keypair(&self, seed: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
        match Self::derive(seed) {
            Some(k) => {
                let public = encode(&sm2::PublicKey::from_secret_scalar(&k));
                (sm2::FieldBytes::from(k).to_vec(), public)
            }
            None => (Vec::new(), Vec::new()),
        }
    }

    fn sign_public(&self, secret: &[u8; 32]) -> Vec<u8> {
        match scalar(secret) {
            Some(k) => encode(&sm2::PublicKey::from_secret_scalar(&k)),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use sm4::cipher::BlockEncrypt;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace([' ', '\n'], "")).unwrap()
    }

    #[test]
    fn sm3_known_answers_of_gb_t_32905() {
        assert_eq!(
            Sm.hash(b"abc").to_vec(),
            h("66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0")
        );
        assert_eq!(
            Sm.hash(&b"abcd".repeat(16)).to_vec(),
            h("debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732")
        );
    }

    #[test]
    fn sm4_known_answers_of_gb_t_32907_once_and_a_million_times() {
        let key: [u8; 16] = h("0123456789abcdeffedcba9876543210").try_into().unwrap();
        let cipher = sm4::Sm4::new(&key.into());
        let mut block = key.into();
        cipher.encrypt_block(&mut block);
        assert_eq!(block.to_vec(), h("681edf34d206965e86b3e94f536e4246"));
        for _ in 1..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(block.to_vec(), h("595298c7c6fd271f0402f804c33d3f66"));
    }

    #[test]
    fn sm4_gcm_known_answer_of_rfc_8998_appendix_a() {
        let key: [u8; 16] = h("0123456789ABCDEFFEDCBA9876543210").try_into().unwrap();
        let nonce = h("00001234567800000000ABCD");
        let aad = h("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let pt = h(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD
                    EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        );
        let out = Sm4Gcm::new(&key.into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &pt,
                    aad: &aad,
                },
            )
            .unwrap();
        let (ct, tag) = out.split_at(pt.len());
        assert_eq!(
            ct.to_vec(),
            h(
                "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735
               D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
            )
        );
        assert_eq!(tag.to_vec(), h("83DE3541E4C2B58177E065A9BF7B62EC"));
    }

    /// GM/T 0003.5-2012 Annex A: the signature example on the recommended
    /// curve, ID `1234567812345678`, message "message digest".
    #[test]
    fn sm2_signature_known_answer_of_gm_t_0003_5() {
        let d: [u8; 32] =
            h("3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8")
                .try_into()
                .unwrap();
        let public = h("04
            09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020
            CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13");
        assert_eq!(Sm.sign_public(&d), public);
        let sig = h(
            "F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3
                     B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA",
        );
        assert_eq!(
            Sm.verify_signature(&public, DEFAULT_DISTID, b"message digest", &sig),
            Ok(())
        );
        // The distinguishing id is part of what is signed.
        assert!(Sm
            .verify_with_id(&public, "ALICE123@YAHOO.COM", b"message digest", &sig)
            .is_err());
        assert!(Sm
            .verify_signature(&public, DEFAULT_DISTID, b"message digesT", &sig)
            .is_err());
        // Our own signature over it verifies, and only with our id.
        let ours = Sm
            .sign_with_id(&d, "bank-a@consortium", b"message digest")
            .unwrap();
        assert!(Sm
            .verify_with_id(&public, "bank-a@consortium", b"message digest", &ours)
            .is_ok());
        assert!(Sm
            .verify_signature(&public, DEFAULT_DISTID, b"message digest", &ours)
            .is_err());
    }

    #[test]
    fn keys_from_seeds_wrap_and_unwrap_and_refuse_what_is_not_theirs() {
        let (secret, public) = Sm.kem_keypair(&[7; 32]);
        assert_eq!((secret.len(), public.len()), (32, POINT_LEN));
        assert_eq!(Sm.kem_keypair(&[7; 32]), (secret.clone(), public.clone()));
        let data_key = [0x5a; 32];
        let (enc, ct) = Sm
            .wrap_key(
                KemAlg::Sm2,
                &public,
                b"info",
                b"aad",
                &data_key,
                &mut rand_core::OsRng,
            )
            .unwrap();
        assert_eq!((enc.len(), ct.len()), (POINT_LEN, 48));
        let z = |secret: &[u8], enc: &[u8]| {
            crate::keys::software_dh(KemAlg::Sm2, secret, enc).unwrap_or_default()
        };
        let unwrap = |secret: &[u8], enc: &[u8], info: &[u8], aad: &[u8], ct: &[u8]| {
            Sm.unwrap_key(KemAlg::Sm2, &z(secret, enc), enc, &public, info, aad, ct)
        };
        let back = unwrap(&secret, &enc, b"info", b"aad", &ct).unwrap();
        assert_eq!(*back, data_key);
        for (info, aad) in [(&b"other"[..], &b"aad"[..]), (b"info", b"other")] {
            assert!(unwrap(&secret, &enc, info, aad, &ct).is_err());
        }
        let (other, _) = Sm.kem_keypair(&[8; 32]);
        assert!(unwrap(&other, &enc, b"info", b"aad", &ct).is_err());
        // A tag cut short, a point off the curve, a compressed point.
        assert!(unwrap(&secret, &enc, b"info", b"aad", &ct[..40]).is_err());
        let mut off = enc.clone();
        off[64] ^= 1;
        assert!(unwrap(&secret, &off, b"info", b"aad", &ct).is_err());
        assert!(Sm
            .wrap_key(
                KemAlg::Sm2,
                &off,
                b"info",
                b"aad",
                &data_key,
                &mut rand_core::OsRng
            )
            .is_err());
        let compressed = sm2::PublicKey::from_sec1_bytes(&public)
            .unwrap()
            .to_encoded_point(true)
            .as_bytes()
            .to_vec();
        assert!(Sm
            .wrap_key(
                KemAlg::Sm2,
                &compressed,
                b"info",
                b"aad",
                &data_key,
                &mut rand_core::OsRng
            )
            .is_err());
    }

    #[test]
    fn fields_seal_and_open_under_sm4_gcm_and_a_wrong_key_or_tag_is_refused() {
        let key = [3u8; 32];
        let ct = Sm
            .seal_field(&key, [1; 12], b"aad", b"customer value")
            .unwrap();
        assert_eq!(ct.len(), 14 + 16);
        assert_eq!(
            Sm.open_field(&key, [1; 12], b"aad", &ct).unwrap(),
            b"customer value"
        );
        assert!(Sm.open_field(&[4; 32], [1; 12], b"aad", &ct).is_err());
        assert!(Sm
            .open_field(&key, [1; 12], b"aad", &ct[..ct.len() - 1])
            .is_err());
        assert!(Sm.open_field(&key, [2; 12], b"aad", &ct).is_err());
    }

    #[test]
    fn hmac_sm3_pseudonyms_are_keyed() {
        let a = Sm.pseudonym(&[1; 32], b"6222020200112233445");
        assert_eq!(a, Sm.pseudonym(&[1; 32], b"6222020200112233445"));
        assert_ne!(a, Sm.pseudonym(&[2; 32], b"6222020200112233445"));
        // RFC 2104 with SM3: the zero-padded 32-byte key is the same MAC.
        let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(&[1; 32]).unwrap();
        mac.update(b"6222020200112233445");
        assert_eq!(a.to_vec(), mac.finalize().into_bytes().to_vec());
    }
}
