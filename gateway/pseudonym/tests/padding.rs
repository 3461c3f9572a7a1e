//! Length hiding: values in one class encrypt to equal lengths, the class
//! boundaries fall where the layout says, and unpadding accepts exactly one
//! encoding per plaintext.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use proptest::prelude::*;
use veilgate_pseudonym::{PadError, Padding};

fn scheme() -> Padding {
    Padding::pow2(32, 1024).unwrap()
}

#[test]
fn different_lengths_in_one_class_encrypt_to_equal_lengths() {
    let p = scheme();
    let short = p.pad(b"\x01ACME Ltd").unwrap();
    let long = p.pad(b"\x01ACME Holdings (UK) Ltd").unwrap();
    assert_eq!((short.len(), long.len()), (32, 32));
    let aead = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = Nonce::from_slice(&[0u8; 12]);
    let (a, b) = (
        aead.encrypt(nonce, short.as_slice()).unwrap(),
        aead.encrypt(nonce, long.as_slice()).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), 32 + 16);
    // Without padding the same two values would show their lengths.
    let bare = |v: &[u8]| aead.encrypt(nonce, v).unwrap().len();
    assert_ne!(bare(b"\x01ACME Ltd"), bare(b"\x01ACME Holdings (UK) Ltd"));
}

#[test]
fn class_boundaries() {
    let p = scheme();
    // n + 2 exactly a class: no padding byte at all.
    assert_eq!(p.pad(&[1; 30]).unwrap().len(), 32);
    assert_eq!(p.pad(&[1; 62]).unwrap().len(), 64);
    assert_eq!(p.pad(&[1; 1022]).unwrap().len(), 1024);
    // One more byte crosses to the next class.
    assert_eq!(p.pad(&[1; 31]).unwrap().len(), 64);
    assert_eq!(p.pad(&[1; 63]).unwrap().len(), 128);
    // Beyond max: the next multiple of max.
    assert_eq!(p.pad(&[1; 1023]).unwrap().len(), 2048);
    assert_eq!(p.pad(&[1; 2046]).unwrap().len(), 2048);
    assert_eq!(p.pad(&[1; 2047]).unwrap().len(), 3072);
    assert_eq!(p.pad(&[]).unwrap(), [0u8; 32]);
    for len in [30, 62, 1022, 2046, 2047] {
        assert_eq!(
            p.unpad(&p.pad(&vec![9; len]).unwrap()).unwrap(),
            vec![9; len].as_slice()
        );
    }
}

#[test]
fn unpad_refuses_non_zero_padding() {
    let p = scheme();
    let mut padded = p.pad(b"value").unwrap();
    padded[31] = 1;
    assert_eq!(
        p.unpad(&padded),
        Err(PadError::NonZeroPadding { offset: 31 })
    );
    padded[31] = 0;
    padded[7] = 0x80; // the first padding byte
    assert_eq!(
        p.unpad(&padded),
        Err(PadError::NonZeroPadding { offset: 7 })
    );
}

#[test]
fn unpad_refuses_a_non_minimal_class() {
    let p = scheme();
    // "value" fits in 32 but is laid out in 64: a second encoding of the same plaintext.
    let mut padded = p.pad(b"value").unwrap();
    padded.resize(64, 0);
    assert_eq!(
        p.unpad(&padded),
        Err(PadError::NotMinimal {
            n: 5,
            len: 64,
            class: 32
        })
    );
    let mut beyond = p.pad(&[1; 1500]).unwrap();
    beyond.resize(3072, 0);
    assert_eq!(
        p.unpad(&beyond),
        Err(PadError::NotMinimal {
            n: 1500,
            len: 3072,
            class: 2048
        })
    );
}

#[test]
fn unpad_refuses_n_past_the_end() {
    let p = scheme();
    let mut padded = p.pad(b"value").unwrap();
    padded[..2].copy_from_slice(&31u16.to_be_bytes());
    assert_eq!(
        p.unpad(&padded),
        Err(PadError::LengthPastEnd { n: 31, room: 30 })
    );
    padded[..2].copy_from_slice(&30u16.to_be_bytes()); // exactly fits: accepted as a 30-byte value
    assert_eq!(p.unpad(&padded).unwrap().len(), 30);
}

#[test]
fn unpad_refuses_a_length_that_is_not_a_class() {
    let p = scheme();
    let padded = p.pad(b"value").unwrap();
    for len in [0, 1, 2, 31, 33, 48, 1025, 1536] {
        let mut bytes = padded.clone();
        bytes.resize(len, 0);
        assert_eq!(
            p.unpad(&bytes),
            Err(PadError::NotAClass { len }),
            "len {len}"
        );
    }
}

#[test]
fn every_single_byte_flip_is_refused_or_changes_nothing_silently() {
    let p = scheme();
    let padded = p.pad(b"\x01GB29NWBK60161331926819").unwrap();
    for i in 0..padded.len() {
        let mut bytes = padded.clone();
        bytes[i] ^= 0x01;
        match p.unpad(&bytes) {
            // A flip inside the plaintext is the AEAD's to catch; anything else must fail here.
            Ok(out) => assert!(
                (2..25).contains(&i) && out != &padded[2..25],
                "flip at {i} accepted"
            ),
            Err(_) => assert!(!(2..25).contains(&i), "flip at {i}"),
        }
    }
}

proptest! {
    #[test]
    fn round_trip(len in 0usize..5000, byte in any::<u8>()) {
        let p = scheme();
        let plaintext = vec![byte; len];
        let padded = p.pad(&plaintext).unwrap();
        prop_assert_eq!(padded.len(), p.class_of(len + 2).unwrap());
        prop_assert_eq!(p.unpad(&padded).unwrap(), plaintext.as_slice());
    }
}
