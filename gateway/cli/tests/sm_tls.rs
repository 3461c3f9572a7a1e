//! RFC 8998 TLS at the real gateway: the `[tls_sm]` listener speaks only
//! `TLS_SM4_GCM_SM3` with curveSM2 and SM2 certificates, admits members by
//! SM2 client certificates of the SM ledger's CA, and serves only ledgers
//! of suite `sm`; the standard listener serves only the others. Tongsuo (an
//! independent RFC 8998 implementation, built by `.ci/tongsuo.sh`, found
//! through `VEILGATE_TONGSUO`) talks to it as a member would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use veilgate_client::{Client, Tls};
use veilgate_testkit::material::{DEV_LEDGER, DEV_SM_LEDGER};
use veilgate_testkit::process::{Options, Process};

fn start(root: &Path) -> (Process, PathBuf) {
    let data = root.join("data");
    let mut o = Options::new(
        env!("CARGO_BIN_EXE_veilgate"),
        &data,
        root.join("server.log"),
    );
    o.dev = true;
    let gw = Process::start(&o).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            std::fs::read_to_string(root.join("server.log")).unwrap_or_default()
        )
    });
    (gw, data)
}

fn addr(base: &str) -> String {
    base.trim_start_matches("https://").to_owned()
}

/// A raw TLS 1.3 handshake to `base` with `provider`, `roots` and a client
/// certificate; `Err` carries the failure as text.
async fn handshake(
    base: &str,
    provider: rustls::crypto::CryptoProvider,
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let certs = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .unwrap();
    let tcp = tokio::net::TcpStream::connect(addr(base)).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    // TLS 1.3 client authentication completes with the client's first
    // flight: the server's verdict on the certificate arrives on read.
    tls.write_all(b"GET /v1/health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200") {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sm_listener_speaks_rfc_8998_only_and_serves_only_sm_ledgers() {
    let root = tempfile::tempdir().unwrap();
    let (gw, data) = start(root.path());
    let sm_base = gw.sm_base.clone().expect("an SM listener");
    let inst = data.join("institutions/bank-a");

    // An SM member over SM TLS: health, and its ledger's policies.
    assert_eq!(
        handshake(
            &sm_base,
            veilgate_tls_sm::provider(),
            &data.join("ca/sm-ca.pem"),
            &inst.join("client.sm.pem"),
            &inst.join("client.sm.key.pem"),
        )
        .await,
        Ok(())
    );
    let sm = Client::from_data_dir_over(&data, "bank-a", &sm_base, Tls::Sm).unwrap();
    let (status, body) = sm
        .request(
            "GET",
            &format!("/v1/ledgers/{DEV_SM_LEDGER}/policies"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    // A client offering only the standard suites gets an alert, no session.
    let e = handshake(
        &sm_base,
        rustls::crypto::ring::default_provider(),
        &data.join("ca/ca.pem"),
        &inst.join("client.pem"),
        &inst.join("client.key.pem"),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("HandshakeFailure") || e.contains("handshake"),
        "{e}"
    );

    // An SM2 client certificate of another CA is refused at the handshake.
    let other = veilgate_tls_sm::generate_ca("another consortium").unwrap();
    let stranger = veilgate_tls_sm::issue(
        &other,
        "bank-a",
        None,
        &[],
        veilgate_tls_sm::CertUsage::Client,
    )
    .unwrap();
    std::fs::write(
        root.path().join("stranger.pem"),
        stranger.cert_pem().unwrap(),
    )
    .unwrap();
    std::fs::write(
        root.path().join("stranger.key.pem"),
        stranger.key_pem().unwrap().as_bytes(),
    )
    .unwrap();
    let e = handshake(
        &sm_base,
        veilgate_tls_sm::provider(),
        &data.join("ca/sm-ca.pem"),
        &root.path().join("stranger.pem"),
        &root.path().join("stranger.key.pem"),
    )
    .await
    .unwrap_err();
    assert!(!e.is_empty());

    // Each listener serves the ledgers of its suite only, and says so.
    let (status, body) = sm
        .request("GET", &format!("/v1/ledgers/{DEV_LEDGER}/policies"), None)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("wrong_tls_suite")),
        "{body}"
    );
    let standard = Client::from_data_dir(&data, "bank-a", &gw.base).unwrap();
    let (status, body) = standard
        .request(
            "POST",
            &format!("/v1/ledgers/{DEV_SM_LEDGER}/records"),
            Some(b"{}".to_vec()),
        )
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("wrong_tls_suite")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("`sm`"), "{body}");
    // Nothing was written to the SM ledger by the refused calls.
    let (status, _) = sm
        .request(
            "GET",
            &format!("/v1/ledgers/{DEV_SM_LEDGER}/entries/0"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
}

/// The Tongsuo `openssl` binary, if this run has one (CI always does).
fn tongsuo() -> Option<PathBuf> {
    match std::env::var_os("VEILGATE_TONGSUO") {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must set VEILGATE_TONGSUO (see .ci/run)")
        }
        None => {
            eprintln!("skipping the Tongsuo interop: VEILGATE_TONGSUO is not set (.ci/tongsuo.sh builds it)");
            None
        }
    }
}

fn run_tongsuo(exe: &Path, args: &[&str], stdin: &[u8]) -> (bool, String) {
    use std::io::Write as _;
    let conf = exe.with_file_name("openssl.cnf");
    let mut child = std::process::Command::new(exe)
        .args(args)
        .env("OPENSSL_CONF", conf)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // s_client sends what it reads, then waits for the server to close.
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    // Tongsuo waits for the server to close; a gateway that never does
    // fails the test after 60 s instead of hanging it.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("tongsuo {args:?} did not finish within 60 s");
        }
    };
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Tongsuo, an independent implementation of RFC 8998, verifies the
/// development SM2 chain, connects to the SM listener with a member's SM2
/// certificate and reads the SM ledger's policies; offering only AES-GCM
/// it is refused.
#[test]
fn tongsuo_speaks_rfc_8998_tls_with_the_gateway() {
    let Some(exe) = tongsuo() else { return };
    let root = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (gw, data) = rt.block_on(async { start(root.path()) });
    let d = |p: &str| data.join(p).to_str().unwrap().to_owned();

    let (ok, out) = run_tongsuo(
        &exe,
        &[
            "verify",
            "-check_ss_sig",
            "-CAfile",
            &d("ca/sm-ca.pem"),
            &d("tls/server.sm.pem"),
            &d("institutions/bank-a/client.sm.pem"),
        ],
        b"",
    );
    assert!(ok, "{out}");

    let target = addr(gw.sm_base.as_deref().unwrap());
    let request = format!(
        "GET /v1/ledgers/{DEV_SM_LEDGER}/policies HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    );
    let client = |tls: &[&str]| {
        let mut args = vec![
            "s_client",
            "-connect",
            &target,
            "-servername",
            "localhost",
            "-tls1_3",
        ];
        args.extend(tls);
        run_tongsuo(
            &exe,
            &[
                &args[..],
                &[
                    "-CAfile",
                    &d("ca/sm-ca.pem"),
                    "-verify_return_error",
                    "-cert",
                    &d("institutions/bank-a/client.sm.pem"),
                    "-key",
                    &d("institutions/bank-a/client.sm.key.pem"),
                    "-ign_eof",
                ],
            ]
            .concat(),
            request.as_bytes(),
        )
    };
    let (_, out) = client(&[
        "-ciphersuites",
        "TLS_SM4_GCM_SM3",
        "-groups",
        "curveSM2",
        "-sigalgs",
        "sm2sig_sm3",
        "-enable_sm_tls13_strict",
    ]);
    assert!(out.contains("TLS_SM4_GCM_SM3"), "{out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("HTTP/1.1 200"), "{out}");
    assert!(out.contains("interbank-payment"), "{out}");

    let (_, out) = client(&[
        "-ciphersuites",
        "TLS_AES_128_GCM_SHA256",
        "-groups",
        "X25519",
    ]);
    assert!(!out.contains("HTTP/1.1 200"), "{out}");
    assert!(
        out.contains("alert") || out.contains("handshake failure"),
        "{out}"
    );
    drop(gw);
}

/// `veilgate demo --suite sm`: the payment on the SM ledger over SM TLS,
/// verified by a peer, each recipient's view side by side.
#[test]
fn the_demo_shows_an_sm_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["demo", "--suite", "sm", "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("ledger `{DEV_SM_LEDGER}`")),
        "{stdout}"
    );
    assert!(stdout.contains("TLS_SM4_GCM_SM3"), "{stdout}");
    assert!(stdout.contains("peer bank-c verified it"), "{stdout}");
    // The regulator opens the amount; the ledger column shows ciphertext.
    let amount = stdout.lines().find(|l| l.starts_with("amount")).unwrap();
    assert!(
        amount.contains("ciphertext") || amount.contains("commit"),
        "{amount}"
    );
    assert!(amount.matches("1250000.00").count() >= 2, "{amount}");
}

/// What the gateway refuses to start with: an SM ledger on an EVM chain
/// (its registry chains with SHA-256), an SM ledger with no `[tls_sm]`
/// listener to serve it, and a policy of the other suite.
#[test]
fn an_sm_ledger_the_gateway_cannot_serve_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let data = root.path().join(name);
        veilgate_testkit::material::init(&data).unwrap();
        data
    };
    let sm_section = format!("id = \"{DEV_SM_LEDGER}\"\nkind = \"embedded\"");

    let data = fresh("evm");
    veilgate_testkit::data::edit_config(
        &data,
        &[(
            &sm_section,
            &format!("id = \"{DEV_SM_LEDGER}\"\nkind = \"evm\""),
        )],
    )
    .unwrap();
    let e = veilgate_server::Gateway::load(&data)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains(DEV_SM_LEDGER) && e.contains("embedded ledgers only"),
        "{e}"
    );

    let data = fresh("no-listener");
    let config = std::fs::read_to_string(data.join("veilgate.toml")).unwrap();
    let start = config.find("[tls_sm]").unwrap();
    let end = start + config[start..].find("\n\n").unwrap();
    std::fs::write(
        data.join("veilgate.toml"),
        format!("{}{}", &config[..start], &config[end..]),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dev", "--data"])
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("ledger `{DEV_SM_LEDGER}` is of suite `sm`"))
            && err.contains("[tls_sm]"),
        "{err}"
    );

    let data = fresh("wrong-suite");
    let sm_policy = data.join("policies/interbank-payment.sm.policy");
    let text = std::fs::read_to_string(&sm_policy).unwrap();
    std::fs::write(&sm_policy, text.replace("suite sm", "suite standard")).unwrap();
    let e = veilgate_server::Gateway::load(&data)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("interbank-payment.sm.policy") && e.contains("write `suite sm`"),
        "{e}"
    );
}
