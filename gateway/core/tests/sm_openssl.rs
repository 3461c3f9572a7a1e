//! The national suite against an independent implementation: OpenSSL 3
//! (Debian's `openssl`, installed by `.ci/run`). An SM2 signature Veilgate
//! makes verifies with `openssl pkeyutl -verify` under the same
//! distinguishing id (and not under another); one OpenSSL makes verifies
//! in Veilgate; SM3 digests and SM4-CBC/CTR agree on random inputs.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;
use std::process::Command;

use rand_core::RngCore;
use sm4::cipher::{BlockEncrypt, KeyInit};
use veilgate_core::suite::sm::{Sm, DEFAULT_DISTID};
use veilgate_core::suite::Suite;

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("openssl is required (.ci/run installs it): {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The hex bytes after `label` in `openssl pkey -text` output, up to the
/// next line without a leading space.
fn text_hex(text: &str, label: &str) -> Vec<u8> {
    let mut lines = text.lines().skip_while(|l| l.trim() != label).skip(1);
    let mut hex = String::new();
    for l in lines.by_ref() {
        if !l.starts_with(' ') {
            break;
        }
        hex.push_str(&l.trim().replace(':', ""));
    }
    hex::decode(hex).unwrap()
}

fn fixed32(bytes: &[u8]) -> [u8; 32] {
    let b = bytes
        .strip_prefix(&[0][..])
        .filter(|b| b.len() == 32)
        .unwrap_or(bytes);
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(b);
    out
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }`, as OpenSSL writes SM2 signatures.
fn der_signature(rs: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x = &x[x.iter().position(|b| *b != 0).unwrap_or(31)..];
        let mut v = if x[0] & 0x80 != 0 { vec![0] } else { vec![] };
        v.extend_from_slice(x);
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let body = [int(&rs[..32]), int(&rs[32..])].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

fn rs_of_der(der: &[u8]) -> Vec<u8> {
    assert_eq!(der[0], 0x30);
    let mut at = 2;
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[at], 0x02);
        let len = der[at + 1] as usize;
        out.extend(fixed32(&der[at + 2..at + 2 + len]));
        at += 2 + len;
    }
    out
}

#[test]
fn sm2_signatures_cross_verify_with_openssl_under_the_distinguishing_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = openssl(d, &["genpkey", "-algorithm", "SM2", "-out", "k.pem"]);
    assert!(ok, "{out}");
    assert!(openssl(d, &["pkey", "-in", "k.pem", "-pubout", "-out", "p.pem"]).0);
    let (_, text) = openssl(d, &["pkey", "-in", "k.pem", "-text", "-noout"]);
    let secret = fixed32(&text_hex(&text, "priv:"));
    let public = text_hex(&text, "pub:");
    assert_eq!(Sm.sign_public(&secret), public, "the same key in both");

    let mut message = vec![0u8; 1000];
    rand_core::OsRng.fill_bytes(&mut message);
    std::fs::write(d.join("m"), &message).unwrap();
    // A member's own distinguishing id, as the directory names one.
    let member_id = "bank-a@interbank-settlement-sm";
    let distid = format!("distid:{member_id}");
    let verify = |sig: &str, id: &str| {
        openssl(
            d,
            &[
                "pkeyutl", "-verify", "-pubin", "-inkey", "p.pem", "-rawin", "-digest", "sm3",
                "-pkeyopt", id, "-in", "m", "-sigfile", sig,
            ],
        )
    };

    // Veilgate signs, OpenSSL verifies — and refuses under another id.
    let ours = Sm.sign(&secret, member_id, &message);
    std::fs::write(d.join("ours.der"), der_signature(&ours)).unwrap();
    let (ok, out) = verify("ours.der", &distid);
    assert!(ok && out.contains("Verified Successfully"), "{out}");
    assert!(!verify("ours.der", "distid:ALICE123@YAHOO.COM").0);
    assert!(!verify("ours.der", &format!("distid:{DEFAULT_DISTID}")).0);

    // OpenSSL signs, Veilgate verifies — and refuses under another id.
    let (ok, out) = openssl(
        d,
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            "k.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &distid,
            "-in",
            "m",
            "-out",
            "theirs.der",
        ],
    );
    assert!(ok, "{out}");
    let theirs = rs_of_der(&std::fs::read(d.join("theirs.der")).unwrap());
    assert_eq!(
        Sm.verify_signature(&public, member_id, &message, &theirs),
        Ok(())
    );
    assert!(Sm
        .verify_signature(&public, DEFAULT_DISTID, &message, &theirs)
        .is_err());
    assert!(Sm
        .verify_with_id(&public, "ALICE123@YAHOO.COM", &message, &theirs)
        .is_err());
}

#[test]
fn sm3_and_sm4_cbc_ctr_agree_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = rand_core::OsRng;
    for len in [0usize, 1, 55, 64, 1000, 4096] {
        let mut data = vec![0u8; len];
        rng.fill_bytes(&mut data);
        std::fs::write(d.join("d"), &data).unwrap();
        let (ok, out) = openssl(d, &["dgst", "-sm3", "-hex", "d"]);
        assert!(ok, "{out}");
        let theirs = out.trim().rsplit(' ').next().unwrap().to_owned();
        assert_eq!(hex::encode(Sm.hash(&data)), theirs, "SM3 of {len} bytes");
    }

    let (mut key, mut iv) = ([0u8; 16], [0u8; 16]);
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut iv);
    let mut data = vec![0u8; 16 * 37];
    rng.fill_bytes(&mut data);
    std::fs::write(d.join("d"), &data).unwrap();
    let cipher = sm4::Sm4::new(&key.into());
    let encrypt = |block: [u8; 16]| {
        let mut b = block.into();
        cipher.encrypt_block(&mut b);
        <[u8; 16]>::from(b)
    };
    // CBC, no padding.
    let mut prev = iv;
    let mut cbc = Vec::new();
    for chunk in data.chunks(16) {
        let mut x = [0u8; 16];
        for i in 0..16 {
            x[i] = chunk[i] ^ prev[i];
        }
        prev = encrypt(x);
        cbc.extend_from_slice(&prev);
    }
    // CTR: the IV as a 128-bit big-endian counter.
    let mut ctr = Vec::new();
    let mut counter = u128::from_be_bytes(iv);
    for chunk in data.chunks(16) {
        let ks = encrypt(counter.to_be_bytes());
        ctr.extend(chunk.iter().zip(ks).map(|(a, b)| a ^ b));
        counter = counter.wrapping_add(1);
    }
    for (mode, ours) in [("-sm4-cbc", cbc), ("-sm4-ctr", ctr)] {
        let (ok, out) = openssl(
            d,
            &[
                "enc",
                mode,
                "-nopad",
                "-K",
                &hex::encode(key),
                "-iv",
                &hex::encode(iv),
                "-in",
                "d",
                "-out",
                "e",
            ],
        );
        assert!(ok, "{out}");
        assert_eq!(std::fs::read(d.join("e")).unwrap(), ours, "{mode}");
    }
}
