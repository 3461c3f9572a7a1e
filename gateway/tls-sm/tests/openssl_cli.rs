//! Cross-checks generated certificates and keys with the `openssl` CLI
//! (OpenSSL 3.x). Skipped, with a message, when `openssl` is not on PATH.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Output};

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::RootCertStore;
use std::sync::Arc;
use veilgate_tls_sm::{generate_ca, issue, CertUsage, SanEntry};
use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;

fn openssl(args: &[&str]) -> Option<Output> {
    Command::new("openssl").args(args).output().ok()
}

/// A scratch directory removed when the test ends.
fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openssl_parses_and_verifies_generated_chain() {
    if openssl(&["version"]).is_none() {
        eprintln!("openssl not found; skipping");
        return;
    }
    let scratch = scratch_dir();
    let dir = scratch.path().to_path_buf();
    let ca = generate_ca("Veilgate Test SM2 CA").unwrap();
    let server = issue(
        &ca,
        "localhost",
        Some("Veilgate"),
        &[
            SanEntry::Dns("localhost".into()),
            SanEntry::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ],
        CertUsage::Server,
    )
    .unwrap();
    let client = issue(&ca, "client-1", None, &[], CertUsage::Client).unwrap();

    let ca_pem = write(&dir, "ca.pem", ca.cert_pem().unwrap().as_bytes());
    let server_pem = write(&dir, "server.pem", server.cert_pem().unwrap().as_bytes());
    let client_pem = write(&dir, "client.pem", client.cert_pem().unwrap().as_bytes());
    let key_pem = write(&dir, "server.key", server.key_pem().unwrap().as_bytes());

    // Parse: structure, algorithms and extensions as expected.
    let out = openssl(&["x509", "-in", &server_pem, "-noout", "-text"]).unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("Signature Algorithm: SM2-with-SM3"), "{t}");
    assert!(t.contains("ASN1 OID: SM2"), "{t}");
    assert!(t.contains("DNS:localhost, IP Address:127.0.0.1"), "{t}");
    assert!(t.contains("TLS Web Server Authentication"), "{t}");
    assert!(
        t.contains("CN = localhost") || t.contains("CN=localhost"),
        "{t}"
    );

    let out = openssl(&["x509", "-in", &ca_pem, "-noout", "-text"]).unwrap();
    let t = text(&out);
    assert!(t.contains("CA:TRUE"), "{t}");
    assert!(t.contains("Certificate Sign"), "{t}");

    // Verify the chain. Finding (OpenSSL 3.0.19): `openssl verify` uses an
    // EMPTY SM2 distinguishing ID unless told otherwise, so
    // `-vfyopt distid:1234567812345678` is required; without it even a chain
    // that OpenSSL itself signed with that ID fails with "certificate
    // signature failure" (OpenSSL >= 4.0 defaults to 1234567812345678, see
    // EVP_SIGNATURE-SM2(7)). -vfyopt applies only to the certificates being
    // verified, not to -CAfile anchors, so `-check_ss_sig` cannot be used to
    // check the CA's self-signature; that one is checked with `dgst` below.
    for leaf in [&server_pem, &client_pem] {
        let out = openssl(&[
            "verify",
            "-vfyopt",
            "distid:1234567812345678",
            "-CAfile",
            &ca_pem,
            leaf,
        ])
        .unwrap();
        assert!(out.status.success(), "verify {leaf}: {}", text(&out));
    }
    for (purpose, leaf) in [("sslserver", &server_pem), ("sslclient", &client_pem)] {
        let out = openssl(&[
            "verify",
            "-vfyopt",
            "distid:1234567812345678",
            "-purpose",
            purpose,
            "-CAfile",
            &ca_pem,
            leaf,
        ])
        .unwrap();
        assert!(out.status.success(), "{purpose}: {}", text(&out));
    }
    // Same chain with an explicitly wrong ID must fail: proves the ID used.
    let out = openssl(&[
        "verify",
        "-vfyopt",
        "distid:TLSv1.3+GM+Cipher+Suite",
        "-CAfile",
        &ca_pem,
        &server_pem,
    ])
    .unwrap();
    assert!(!out.status.success(), "{}", text(&out));

    // CA self-signature: verify TBSCertificate with `openssl dgst`.
    let parsed = Certificate::from_der(ca.cert_der.as_ref()).unwrap();
    let tbs = write(&dir, "ca.tbs", &parsed.tbs_certificate.to_der().unwrap());
    let sig = write(&dir, "ca.sig", parsed.signature.raw_bytes());
    let out = openssl(&["x509", "-in", &ca_pem, "-noout", "-pubkey"]).unwrap();
    let ca_pub = write(&dir, "ca.pub", &out.stdout);
    let dgst = |distid: &str| {
        openssl(&[
            "dgst",
            "-sm3",
            "-verify",
            &ca_pub,
            "-sigopt",
            distid,
            "-signature",
            &sig,
            &tbs,
        ])
        .unwrap()
    };
    let out = dgst("distid:1234567812345678");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!dgst("distid:TLSv1.3+GM+Cipher+Suite").status.success());

    // A different CA must not verify the leaf.
    let other = generate_ca("Other SM2 CA").unwrap();
    let other_pem = write(&dir, "other.pem", other.cert_pem().unwrap().as_bytes());
    let out = openssl(&["verify", "-CAfile", &other_pem, &server_pem]).unwrap();
    assert!(!out.status.success(), "{}", text(&out));

    // The PKCS#8 key is readable and matches the certificate's public key.
    let out = openssl(&["pkey", "-in", &key_pem, "-pubout"]).unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let key_pub = String::from_utf8_lossy(&out.stdout).to_string();
    let out = openssl(&["x509", "-in", &server_pem, "-noout", "-pubkey"]).unwrap();
    assert_eq!(key_pub, String::from_utf8_lossy(&out.stdout));

    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn openssl_generated_key_loads_in_provider() {
    if openssl(&["version"]).is_none() {
        eprintln!("openssl not found; skipping");
        return;
    }
    let scratch = scratch_dir();
    let dir = scratch.path().to_path_buf();
    let key_path = dir.join("k.pem");
    let out = openssl(&[
        "genpkey",
        "-algorithm",
        "SM2",
        "-out",
        key_path.to_str().unwrap(),
    ])
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let pem = std::fs::read_to_string(&key_path).unwrap();
    let pair = veilgate_tls_sm::Sm2KeyPair::from_pkcs8_pem(&pem).unwrap();
    let provider = veilgate_tls_sm::provider();
    let key = provider
        .key_provider
        .load_private_key(pair.to_private_key_der().unwrap())
        .unwrap();
    assert!(key.choose_scheme(&[veilgate_tls_sm::SM2SIG_SM3]).is_some());
    std::fs::remove_dir_all(&dir).ok();
}

/// The other direction: a chain made entirely by OpenSSL (signed with
/// `-sigopt distid:1234567812345678`) is accepted by this provider's
/// webpki-based verifier.
#[test]
fn openssl_issued_chain_verifies_with_provider() {
    if openssl(&["version"]).is_none() {
        eprintln!("openssl not found; skipping");
        return;
    }
    let scratch = scratch_dir();
    let dir = scratch.path().to_path_buf();
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let ext = write(
        &dir,
        "leaf.ext",
        b"subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    let steps: Vec<Vec<String>> = vec![
        vec!["genpkey", "-algorithm", "SM2", "-out", &p("ca.key")],
        vec![
            "req",
            "-x509",
            "-new",
            "-key",
            &p("ca.key"),
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-subj",
            "/CN=OpenSSL SM2 CA",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            &p("ca.pem"),
        ],
        vec!["genpkey", "-algorithm", "SM2", "-out", &p("leaf.key")],
        vec![
            "req",
            "-new",
            "-key",
            &p("leaf.key"),
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-subj",
            "/CN=localhost",
            "-out",
            &p("leaf.csr"),
        ],
        vec![
            "x509",
            "-req",
            "-in",
            &p("leaf.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-vfyopt",
            "distid:1234567812345678",
            "-days",
            "30",
            "-set_serial",
            "4660",
            "-extfile",
            &ext,
            "-out",
            &p("leaf.pem"),
        ],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    for step in &steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let out = openssl(&args).unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let der = |name: &str| -> CertificateDer<'static> {
        let pem = std::fs::read_to_string(dir.join(name)).unwrap();
        let (_, der) = x509_cert::der::pem::decode_vec(pem.as_bytes()).unwrap();
        CertificateDer::from(der)
    };
    let mut roots = RootCertStore::empty();
    roots.add(der("ca.pem")).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(veilgate_tls_sm::provider()),
    )
    .build()
    .unwrap();
    verifier
        .verify_server_cert(
            &der("leaf.pem"),
            &[],
            &ServerName::try_from("localhost").unwrap(),
            &[],
            UnixTime::now(),
        )
        .unwrap();
    // And OpenSSL's SM2 PKCS#8 leaf key loads into the provider.
    let pem = std::fs::read_to_string(dir.join("leaf.key")).unwrap();
    veilgate_tls_sm::Sm2KeyPair::from_pkcs8_pem(&pem).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
