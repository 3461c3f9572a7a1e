//! Development material for `veilgate serve` on first start: a consortium CA,
//! a server certificate for 127.0.0.1/localhost, client certificates and keys
//! for three banks and a regulator, one ledger with the interbank-payment
//! policy, and a sample record. Never for production: one gateway here holds
//! every institution's signing key so a single process can play all parts.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory, PseudonymKey, SuiteId};

use veilgate_core::predicates::{Circuit, KeyRing};
use veilgate_server::CONFIG_FILE;

pub const DEV_LEDGER: &str = "interbank-settlement";
/// The development ledger of the national suite `sm` (SM2/SM3/SM4), served
/// beside [`DEV_LEDGER`] by the same gateway: a mixed consortium.
pub const DEV_SM_LEDGER: &str = "interbank-settlement-sm";
/// `bank-a` signs on the SM ledger under its own distinguishing identifier
/// (the others under the standard's default), so both kinds are exercised.
pub const DEV_SM_DISTID_BANK_A: &str = "bank-a@interbank-settlement-sm";
pub const DEV_INSTITUTIONS: [&str; 4] = ["bank-a", "bank-b", "bank-c", "regulator"];

fn write(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, contents)
}

fn write_secret(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    write(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn other<E: std::fmt::Display>(e: E) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Creates the development data directory. Fails if `dir` already has a config.
pub fn init(dir: &Path) -> std::io::Result<()> {
    if dir.join(CONFIG_FILE).exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "data directory is already initialised",
        ));
    }
    let mut rng = rand_core::OsRng;

    // Consortium CA.
    let ca_key = KeyPair::generate().map_err(other)?;
    let ca_params = ca_params()?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(other)?;
    write(&dir.join("ca/ca.pem"), ca_cert.pem())?;
    write_secret(&dir.join("ca/ca.key.pem"), ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params, ca_key);

    // Server certificate.
    let server_key = KeyPair::generate().map_err(other)?;
    let mut p = CertificateParams::new(vec!["localhost".to_owned()]).map_err(other)?;
    p.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    p.distinguished_name
        .push(DnType::CommonName, "veilgate gateway (development)");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = p.signed_by(&server_key, &issuer).map_err(other)?;
    write(&dir.join("tls/server.pem"), server_cert.pem())?;
    write_secret(&dir.join("tls/server.key.pem"), server_key.serialize_pem())?;

    // The SM ledger's own PKI, all SM2 (RFC 8998 TLS): a CA, the SM
    // listener's certificate and each institution's client certificate.
    let sm_err = |e: veilgate_tls_sm::CertError| other(e);
    let sm_ca =
        veilgate_tls_sm::generate_ca("Veilgate development consortium SM2 CA").map_err(sm_err)?;
    write(&dir.join("ca/sm-ca.pem"), sm_ca.cert_pem().map_err(sm_err)?)?;
    write_secret(
        &dir.join("ca/sm-ca.key.pem"),
        sm_ca.key_pem().map_err(sm_err)?.as_bytes(),
    )?;
    let sm_server = veilgate_tls_sm::issue(
        &sm_ca,
        "veilgate gateway (development, SM)",
        None,
        &[
            veilgate_tls_sm::SanEntry::Dns("localhost".into()),
            veilgate_tls_sm::SanEntry::Ip(std::net::IpAddr::from([127, 0, 0, 1])),
        ],
        veilgate_tls_sm::CertUsage::Server,
    )
    .map_err(sm_err)?;
    write(
        &dir.join("tls/server.sm.pem"),
        sm_server.cert_pem().map_err(sm_err)?,
    )?;
    write_secret(
        &dir.join("tls/server.sm.key.pem"),
        sm_server.key_pem().map_err(sm_err)?.as_bytes(),
    )?;

    // Institutions: client certificate (admission) and envelope keys, of
    // each suite.
    let mut members = Vec::new();
    let mut sm_members = Vec::new();
    for id in DEV_INSTITUTIONS {
        let key = KeyPair::generate().map_err(other)?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        p.distinguished_name.push(DnType::CommonName, id);
        p.distinguished_name
            .push(DnType::OrganizationName, "Veilgate development consortium");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = p.signed_by(&key, &issuer).map_err(other)?;
        let inst = dir.join("institutions").join(id);
        write(&inst.join("client.pem"), cert.pem())?;
        write_secret(&inst.join("client.key.pem"), key.serialize_pem())?;
        let sm_client = veilgate_tls_sm::issue(
            &sm_ca,
            id,
            Some("Veilgate development consortium"),
            &[],
            veilgate_tls_sm::CertUsage::Client,
        )
        .map_err(sm_err)?;
        write(
            &inst.join("client.sm.pem"),
            sm_client.cert_pem().map_err(sm_err)?,
        )?;
        write_secret(
            &inst.join("client.sm.key.pem"),
            sm_client.key_pem().map_err(sm_err)?.as_bytes(),
        )?;
        let secrets = InstitutionSecrets::generate(id, SuiteId::Standard, &mut rng);
        members.push(secrets.public());
        write_secret(&inst.join("secrets.json"), secrets.to_json())?;
        let distid = (id == "bank-a").then(|| DEV_SM_DISTID_BANK_A.to_owned());
        let sm = InstitutionSecrets::generate(id, SuiteId::Sm, &mut rng).with_distid(distid);
        sm_members.push(sm.public());
        write_secret(&inst.join("secrets.sm.json"), sm.to_json())?;
    }

    // The ledger, its directory, its policy and its pseudonym key.
    let standard = LedgerDirectory {
        ledger: DEV_LEDGER.into(),
        suite: "standard".into(),
        members,
        roles: BTreeMap::from([
            ("regulator".to_owned(), vec!["regulator".to_owned()]),
            // The large-value report's AML monitoring unit.
            ("aml_monitor".to_owned(), vec!["bank-c".to_owned()]),
            // Who publishes the template sets' roots (`veilgate set publish`).
            ("kyc_authority".to_owned(), vec!["regulator".to_owned()]),
            (
                "sanctions_authority".to_owned(),
                vec!["regulator".to_owned()],
            ),
        ]),
        sees_all: Vec::new(),
        sets: veilgate_policies::SET_PUBLISHERS
            .iter()
            .map(|(set, role)| {
                (
                    (*set).to_owned(),
                    veilgate_core::SetRule {
                        publisher: (*role).to_owned(),
                    },
                )
            })
            .collect(),
        pseudonyms: None,
    };
    // The SM ledger: the same members and roles, with their SM2 keys.
    let sm_ledger = LedgerDirectory {
        ledger: DEV_SM_LEDGER.into(),
        suite: "sm".into(),
        members: sm_members,
        ..standard.clone()
    };
    let directory = Directory::new(vec![standard, sm_ledger]);
    write(
        &dir.join("consortium.json"),
        serde_json::to_string_pretty(&directory).map_err(other)?,
    )?;
    for ledger in [DEV_LEDGER, DEV_SM_LEDGER] {
        write_secret(
            &dir.join("ledgers").join(ledger).join("pseudonym.key"),
            hex::encode(PseudonymKey::generate(&mut rng).0.as_ref()),
        )?;
    }
    for (name, text) in veilgate_policies::TEMPLATES {
        write(&dir.join("policies").join(name), text)?;
    }
    write(
        &dir.join("samples/interbank-payment.json"),
        include_str!("../../../policies/templates/interbank-payment.sample.json"),
    )?;

    // Every template is copied for reading; the dev ledger publishes those that
    // bind it and that this build can seal (the Groth16 predicates come later).
    let published: Vec<String> = veilgate_policies::TEMPLATES
        .iter()
        .filter(|(_, text)| {
            veilgate_policies::compile(text)
                .is_ok_and(|p| p.binds(DEV_LEDGER) && veilgate_core::unsupported(&p).is_none())
        })
        .map(|(n, _)| format!("\"policies/{n}\""))
        .collect();
    // The SM ledger publishes the interbank payment under `suite sm`.
    let (payment, payment_text) = veilgate_policies::TEMPLATES
        .iter()
        .find(|(n, _)| *n == "interbank-payment.policy")
        .ok_or_else(|| other("the interbank-payment template is missing"))?;
    let sm_payment = format!("policies/{}", payment.replace(".policy", ".sm.policy"));
    write(
        &dir.join(&sm_payment),
        veilgate_policies::moved_onto(payment_text, DEV_SM_LEDGER, "sm"),
    )?;
    let hosted: Vec<String> = DEV_INSTITUTIONS
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect();
    let config = format!(
        r#"# Veilgate gateway configuration, format version 1 (docs/configuration.md).
# Development material: one gateway hosts every institution's keys.
version = 1
listen = "127.0.0.1:8443"

# Institutions whose signing and opening keys this gateway holds.
hosted = [{hosted}]
# Members' public keys and roles per ledger.
directory = "consortium.json"
# Revoked certificates and institutions; re-read on change, no restart needed.
revocations = "revocations.json"
# Anchor the audit log's head to the ledger this often (ms).
audit_anchor_interval_ms = 10000

[tls]
cert = "tls/server.pem"
key = "tls/server.key.pem"

# The RFC 8998 listener (TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3, SM2
# certificates): the ledgers of suite `sm` are served only here.
[tls_sm]
listen = "127.0.0.1:8444"
cert = "tls/server.sm.pem"
key = "tls/server.sm.key.pem"

[limits]
max_body_bytes = 1048576
max_concurrent_requests = 256
request_timeout_ms = 30000
outbox_capacity = 10000
ack_wait_ms = 2000

[[ledger]]
id = "{DEV_LEDGER}"
kind = "embedded"
ca = ["ca/ca.pem"]
policies = [{policies}]

# A ledger of the national suite (SM2/SM3/SM4): its suite is the directory's;
# its members connect with SM2 client certificates over [tls_sm].
[[ledger]]
id = "{DEV_SM_LEDGER}"
kind = "embedded"
ca = ["ca/sm-ca.pem"]
policies = ["{sm_payment}"]
"#,
        hosted = hosted.join(", "),
        policies = published.join(", "),
    );
    write(&dir.join(CONFIG_FILE), config)?;
    write_development_keys(&dir.join("keys/groth16"))?;
    Ok(())
}

/// The development consortium CA's parameters: its name and uses.
fn ca_params() -> std::io::Result<CertificateParams> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Veilgate development consortium CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(ca_params)
}

/// The development CA of the data directory `dir` (`ca/ca.key.pem`), to
/// issue more certificates under it (a pseudonymisation service's).
pub fn dev_ca_issuer(dir: &Path) -> std::io::Result<Issuer<'static, KeyPair>> {
    let key = KeyPair::from_pem(&fs::read_to_string(dir.join("ca/ca.key.pem"))?).map_err(other)?;
    Ok(Issuer::new(ca_params()?, key))
}

/// Development Groth16 keys for every circuit a shipped template needs, and
/// for comparisons and date thresholds whatever the templates say (a policy
/// added later most often needs those): written as files named by hash, as
/// a ceremony's output would be, with a `DEVELOPMENT` mark beside them.
/// Anyone can forge proofs under these keys.
pub fn write_development_keys(dir: &Path) -> std::io::Result<()> {
    let mut circuits: BTreeSet<Circuit> = [Circuit::Compare, Circuit::DateThreshold].into();
    for (_, text) in veilgate_policies::TEMPLATES {
        if let Ok(plan) = veilgate_policies::compile(text) {
            circuits.extend(Circuit::all_of(&plan));
        }
    }
    KeyRing::development()
        .write(dir, &circuits)
        .map_err(other)?;
    write(
        &dir.join(veilgate_server::boot::DEVELOPMENT_MARK),
        "Development keys, derived from each circuit id: anyone can forge proofs under them.\n",
    )
}
