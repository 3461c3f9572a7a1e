//! End-to-end TLS 1.3 handshakes over an in-memory transport.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use common::{exchange, handshake, Side};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, Error, NamedGroup,
    PeerIncompatible, RootCertStore, ServerConfig, ServerConnection,
};
use veilgate_tls_sm::{generate_ca, issue, provider, CertUsage, IssuedCert, SanEntry};

struct Pki {
    ca: IssuedCert,
    server: IssuedCert,
    client: IssuedCert,
}

fn make_pki(name: &str) -> Pki {
    let ca = generate_ca(&format!("{name} SM2 CA")).unwrap();
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
    let client = issue(&ca, &format!("{name} client"), None, &[], CertUsage::Client).unwrap();
    Pki { ca, server, client }
}

fn roots(ca: &IssuedCert) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der.clone()).unwrap();
    Arc::new(roots)
}

fn sm_provider() -> Arc<CryptoProvider> {
    Arc::new(provider())
}

fn server_config(pki: &Pki, client_ca: &IssuedCert) -> Arc<ServerConfig> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(client_ca), sm_provider())
        .build()
        .unwrap();
    let config = ServerConfig::builder_with_provider(sm_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![pki.server.cert_der.clone(), pki.ca.cert_der.clone()],
            pki.server.key.to_private_key_der().unwrap(),
        )
        .unwrap();
    Arc::new(config)
}

fn client_config(server_ca: &IssuedCert, client: &IssuedCert) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(sm_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(server_ca))
        .with_client_auth_cert(
            vec![client.cert_der.clone()],
            client.key.to_private_key_der().unwrap(),
        )
        .unwrap();
    Arc::new(config)
}

fn connect(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: &str,
) -> (ClientConnection, ServerConnection) {
    let client =
        ClientConnection::new(client, ServerName::try_from(name.to_string()).unwrap()).unwrap();
    let server = ServerConnection::new(server).unwrap();
    (client, server)
}

#[test]
fn mutual_tls_handshake_negotiates_rfc8998() {
    let pki = make_pki("main");
    for name in ["localhost", "127.0.0.1"] {
        let (mut client, mut server) = connect(
            client_config(&pki.ca, &pki.client),
            server_config(&pki, &pki.ca),
            name,
        );
        handshake(&mut client, &mut server).unwrap();

        for (suite, group) in [
            (
                client.negotiated_cipher_suite(),
                client.negotiated_key_exchange_group(),
            ),
            (
                server.negotiated_cipher_suite(),
                server.negotiated_key_exchange_group(),
            ),
        ] {
            assert_eq!(u16::from(suite.unwrap().suite()), 0x00C6);
            assert_eq!(group.unwrap().name(), NamedGroup::from(0x0029));
        }
        assert_eq!(
            client.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        // The server saw and verified the SM2 client certificate.
        let peer = server.peer_certificates().unwrap();
        assert_eq!(peer[0], pki.client.cert_der);

        exchange(&mut client, &mut server);
    }
}

fn refused_standard_client(
    pki: &Pki,
    client_provider: CryptoProvider,
) -> (Side, Error, Option<Error>) {
    let client_config = ClientConfig::builder_with_provider(Arc::new(client_provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots(&pki.ca))
        .with_no_client_auth();
    let (mut client, mut server) = connect(
        Arc::new(client_config),
        server_config(pki, &pki.ca),
        "localhost",
    );
    handshake(&mut client, &mut server).unwrap_err()
}

#[test]
fn standard_suite_client_is_refused() {
    let pki = make_pki("refuse");

    // A stock client (ring, TLS_AES_128_GCM_SHA256 only, standard groups):
    // rustls rejects it on the missing group before looking at suites.
    let ring_only_aes = CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        ..rustls::crypto::ring::default_provider()
    };
    let (side, err, peer_err) = refused_standard_client(&pki, ring_only_aes);
    assert_eq!(side, Side::Server);
    assert_eq!(
        err,
        Error::PeerIncompatible(PeerIncompatible::NoKxGroupsInCommon)
    );
    assert_eq!(
        peer_err,
        Some(Error::AlertReceived(AlertDescription::HandshakeFailure))
    );

    // Same client but offering curveSM2 too, so only the suite differs.
    let mut aes_with_sm2_group = CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        ..rustls::crypto::ring::default_provider()
    };
    aes_with_sm2_group.kx_groups = provider().kx_groups;
    let (side, err, peer_err) = refused_standard_client(&pki, aes_with_sm2_group);
    assert_eq!(side, Side::Server);
    assert_eq!(
        err,
        Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon)
    );
    assert_eq!(
        peer_err,
        Some(Error::AlertReceived(AlertDescription::HandshakeFailure))
    );
}

#[test]
fn client_cert_from_other_ca_is_refused() {
    let pki = make_pki("trusted");
    let rogue = make_pki("rogue");
    let (mut client, mut server) = connect(
        // Client trusts the real server but presents a rogue-CA client cert.
        client_config(&pki.ca, &rogue.client),
        server_config(&pki, &pki.ca),
        "localhost",
    );
    let (side, err, peer_err) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(side, Side::Server);
    assert_eq!(
        err,
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    assert_eq!(
        peer_err,
        Some(Error::AlertReceived(AlertDescription::UnknownCA))
    );
}

#[test]
fn server_cert_from_other_ca_is_refused() {
    let pki = make_pki("trusted");
    let rogue = make_pki("rogue");
    let (mut client, mut server) = connect(
        client_config(&rogue.ca, &pki.client),
        server_config(&pki, &pki.ca),
        "localhost",
    );
    let (side, err, _) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(side, Side::Client);
    assert_eq!(
        err,
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[test]
fn wrong_server_name_is_refused() {
    let pki = make_pki("name");
    let (mut client, mut server) = connect(
        client_config(&pki.ca, &pki.client),
        server_config(&pki, &pki.ca),
        "example.com",
    );
    let (side, err, _) = handshake(&mut client, &mut server).unwrap_err();
    assert_eq!(side, Side::Client);
    assert!(matches!(
        err,
        Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
            | Error::InvalidCertificate(CertificateError::NotValidForName)
    ));
}

#[test]
fn provider_contains_only_rfc8998_items() {
    let p = provider();
    let suites: Vec<u16> = p
        .cipher_suites
        .iter()
        .map(|s| u16::from(s.suite()))
        .collect();
    assert_eq!(suites, [0x00C6]);
    assert!(p.cipher_suites[0].tls13().is_some());
    let groups: Vec<u16> = p.kx_groups.iter().map(|g| u16::from(g.name())).collect();
    assert_eq!(groups, [0x0029]);
    let schemes: Vec<u16> = p
        .signature_verification_algorithms
        .supported_schemes()
        .into_iter()
        .map(u16::from)
        .collect();
    assert_eq!(schemes, [0x0708]);
    assert!(!p.fips());
}
