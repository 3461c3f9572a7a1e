//! Known-answer tests for SM3, HMAC-SM3 and HKDF-SM3.
//!
//! SM3("abc") is the GB/T 32905-2016 example. The HMAC and HKDF answers were
//! produced with OpenSSL 3.0.19's CLI, using RFC 4231 / RFC 5869 inputs:
//!   printf 'what do ya want for nothing?' | openssl dgst -sm3 -hmac Jefe
//!   openssl mac -digest SM3 -macopt hexkey:0b..0b(20) -in <(printf 'Hi There') HMAC
//!   openssl mac -digest SM3 -macopt hexkey:aa..aa(131) -in <(printf 'Test Using Larger Than Block-Size Key - Hash Key First') HMAC
//!   openssl kdf -keylen 42 -kdfopt digest:SM3 -kdfopt hexkey:0b..0b(22) \
//!       -kdfopt hexsalt:000102030405060708090a0b0c -kdfopt hexinfo:f0f1f2f3f4f5f6f7f8f9 HKDF
//!   (same with -keylen 32 -kdfopt mode:EXTRACT_ONLY for the PRK)
#![allow(clippy::unwrap_used)]

use veilgate_tls_sm::primitives::{hkdf_sm3, hmac_sm3, sm3_hash};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn sm3_known_answer() {
    let h = sm3_hash();
    assert_eq!(h.output_len(), 32);
    assert_eq!(
        h.hash(b"abc").as_ref(),
        &hex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")[..]
    );
    // Incremental with fork gives the same answer.
    let mut ctx = h.start();
    ctx.update(b"a");
    let fork = ctx.fork();
    ctx.update(b"bc");
    assert_eq!(ctx.fork_finish().as_ref(), h.hash(b"abc").as_ref());
    assert_eq!(fork.finish().as_ref(), h.hash(b"a").as_ref());
}

#[test]
fn hmac_sm3_known_answers() {
    let mac = hmac_sm3();
    assert_eq!(mac.hash_output_len(), 32);
    let cases: [(Vec<u8>, &[u8], &str); 3] = [
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?",
            "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882",
        ),
        (
            vec![0x0b; 20],
            b"Hi There",
            "51B00D1FB49832BFB01C3CE27848E59F871D9BA938DC563B338CA964755CCE70",
        ),
        (
            // Longer than the 64-byte block: exercises the key-hashing path.
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "B4FD844E13342002F0B2E0690EA7741F1497D993A70494CEA601E657BEDF67A0",
        ),
    ];
    for (key, data, want) in cases {
        let k = mac.with_key(&key);
        assert_eq!(k.sign(&[data]).as_ref(), &hex(want)[..]);
        // Split input must give the same tag.
        let (a, b) = data.split_at(3);
        assert_eq!(k.sign_concat(a, &[], b).as_ref(), &hex(want)[..]);
    }
}

#[test]
fn hkdf_sm3_known_answer() {
    let ikm = [0x0b; 22];
    let salt = hex("000102030405060708090a0b0c");
    let info = hex("f0f1f2f3f4f5f6f7f8f9");
    let hkdf = hkdf_sm3();
    assert_eq!(
        // HKDF-Extract(salt, IKM) = HMAC(salt, IKM) (RFC 5869 §2.2).
        hmac_sm3().with_key(&salt).sign(&[&ikm]).as_ref().to_vec(),
        hex("E0D6F7B0BD056327B7659F1F39AD850561FBCF4FB10FB58E88EAFA55CF7CD01E")
    );
    let expander = hkdf.extract_from_secret(Some(&salt), &ikm);
    let mut okm = [0u8; 42];
    expander.expand_slice(&[&info], &mut okm).unwrap();
    assert_eq!(
        okm.to_vec(),
        hex("C69FE91B7AAEE2DD5718D72DCAEE0CCE93F1B8E41F792DA51261B6A517E68B36ED2C595572B01DFA359B")
    );
}
