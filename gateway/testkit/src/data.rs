//! Data-directory helpers for tests.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use veilgate_core::predicates::KeyRing;
use veilgate_core::{Directory, InstitutionSecrets, LedgerDirectory, PolicySet, Trust};

/// A fresh development data directory at `root/data` with `edits` made to
/// its `veilgate.toml` (each `from` must occur).
pub fn dev_data_dir(root: &Path, edits: &[(&str, &str)]) -> Result<PathBuf, String> {
    let data = root.join("data");
    crate::material::init(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    edit_config(&data, edits)?;
    Ok(data)
}

/// Replaces a file the way an operator's deploy tool does: the new bytes
/// in a temporary file beside it, renamed over it. The file gets a new
/// inode, so a watcher sees the change however close in time two writes
/// are (an in-place write in the same clock tick, of the same length,
/// looks unchanged until the gateway's periodic content check).
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Replaces text in `veilgate.toml`: the first occurrence of each `from`,
/// which must occur (for `[[ledger]]` lines, the development ledger's: it
/// comes first).
pub fn edit_config(data: &Path, edits: &[(&str, &str)]) -> Result<(), String> {
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let mut text = std::fs::read_to_string(&cfg).map_err(|e| format!("{}: {e}", cfg.display()))?;
    for (from, to) in edits {
        if !text.contains(from) {
            return Err(format!("{} has no `{from}`", cfg.display()));
        }
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))
}

/// The directory of `ledger` in the data directory's consortium file.
pub fn ledger_directory(data: &Path, ledger: &str) -> Result<LedgerDirectory, String> {
    let path = data.join("consortium.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let d = Directory::from_json(&text).map_err(|e| e.to_string())?;
    d.ledger(ledger)
        .cloned()
        .ok_or_else(|| format!("ledger `{ledger}` is not in {}", path.display()))
}

/// An institution's secrets (its signing and unwrapping keys).
pub fn secrets(data: &Path, who: &str) -> Result<InstitutionSecrets, String> {
    let path = data.join("institutions").join(who).join("secrets.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    InstitutionSecrets::from_json(&text).map_err(|e| e.to_string())
}

/// An institution's keys of the national suite (`secrets.sm.json`).
pub fn sm_secrets(data: &Path, who: &str) -> Result<InstitutionSecrets, String> {
    let path = data.join("institutions").join(who).join("secrets.sm.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    InstitutionSecrets::from_json(&text).map_err(|e| e.to_string())
}

/// What a peer of `ledger` trusts, read from a data directory: the ledger's
/// directory, the given policies, and the Groth16 keys in `keys/groth16`.
pub fn trust(data: &Path, ledger: &str, policies: PolicySet) -> Result<Trust, String> {
    let keys = KeyRing::load(&data.join("keys/groth16")).map_err(|e| e.to_string())?;
    Ok(Trust::new(
        ledger_directory(data, ledger)?,
        policies,
        Arc::new(keys),
    ))
}

/// Adds a ledger to a development data directory: the development
/// ledger's members and roles under another id, its own pseudonym key,
/// and a `[[ledger]]` section publishing `policies` (paths relative to the
/// data directory), followed by the gateway as a peer.
pub fn add_ledger(data: &Path, ledger: &str, policies: &[&str]) -> Result<(), String> {
    let path = data.join("consortium.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut d = Directory::from_json(&text).map_err(|e| e.to_string())?;
    let mut entry = ledger_directory(data, crate::material::DEV_LEDGER)?;
    entry.ledger = ledger.to_owned();
    d.ledgers.push(entry);
    let json = serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = data.join("ledgers").join(ledger);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = veilgate_core::PseudonymKey::generate(&mut rand_core::OsRng);
    std::fs::write(dir.join("pseudonym.key"), hex::encode(key.0.as_ref()))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let mut text = std::fs::read_to_string(&cfg).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let list: Vec<String> = policies.iter().map(|p| format!("\"{p}\"")).collect();
    text.push_str(&format!(
        "\n[[ledger]]\nid = \"{ledger}\"\nkind = \"embedded\"\nca = [\"ca/ca.pem\"]\npolicies = [{}]\nfollow = true\n",
        list.join(", ")
    ));
    std::fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))
}

/// A ledger's pseudonym key (`ledgers/<id>/pseudonym.key`, 32 bytes of hex).
pub fn pseudonym_key(data: &Path, ledger: &str) -> Result<veilgate_core::PseudonymKey, String> {
    let path = data.join("ledgers").join(ledger).join("pseudonym.key");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| format!("{}: not 32 bytes of hex", path.display()))?;
    Ok(veilgate_core::PseudonymKey::from_bytes(key))
}

/// A template moved onto the development ledger: its `ledger` line replaced,
/// everything else as written.
pub fn on_dev_ledger(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("ledger ") {
                format!("ledger {}", crate::material::DEV_LEDGER)
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A template moved onto the development SM ledger, under `suite sm`.
pub fn on_dev_sm_ledger(text: &str) -> String {
    veilgate_policies::moved_onto(text, crate::material::DEV_SM_LEDGER, "sm")
}

/// A fresh development data directory at `root/data` whose ledger publishes
/// every shipped template (each moved onto it, `policies/<name>.dev.policy`)
/// and is followed by the gateway (`follow = true`).
pub fn all_templates_data_dir(root: &Path) -> Result<PathBuf, String> {
    let data = dev_data_dir(root, &[])?;
    publish_all_templates(&data, crate::material::DEV_LEDGER, "dev", on_dev_ledger)?;
    Ok(data)
}

/// As [`all_templates_data_dir`], and the SM ledger publishes every
/// template too, under `suite sm` (`policies/<name>.sm.policy`): one
/// gateway serving a standard and an SM ledger, following both.
pub fn all_templates_mixed_data_dir(root: &Path) -> Result<PathBuf, String> {
    let data = all_templates_data_dir(root)?;
    publish_all_templates(
        &data,
        crate::material::DEV_SM_LEDGER,
        "sm",
        on_dev_sm_ledger,
    )?;
    Ok(data)
}

/// Writes every template moved by `onto` as `policies/<name>.<tag>.policy`
/// and makes the `[[ledger]]` section of `ledger` publish exactly those,
/// followed by the gateway.
fn publish_all_templates(
    data: &Path,
    ledger: &str,
    tag: &str,
    onto: fn(&str) -> String,
) -> Result<(), String> {
    let mut files = Vec::new();
    for (name, text) in veilgate_policies::TEMPLATES {
        let rel = format!(
            "policies/{}",
            name.replace(".policy", &format!(".{tag}.policy"))
        );
        std::fs::write(data.join(&rel), onto(text)).map_err(|e| format!("{rel}: {e}"))?;
        files.push(format!("\"{rel}\""));
    }
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let text = std::fs::read_to_string(&cfg).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let mut in_section = false;
    let mut done = false;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("id = ") {
                in_section = l == format!("id = \"{ledger}\"");
            }
            if in_section && !done && l.starts_with("policies = [") {
                done = true;
                format!("policies = [{}]\nfollow = true", files.join(", "))
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !done {
        return Err(format!("{} has no ledger `{ledger}`", cfg.display()));
    }
    std::fs::write(&cfg, edited.join("\n") + "\n").map_err(|e| format!("{}: {e}", cfg.display()))
}

/// Sends `request` (raw HTTP/1.1 bytes) over one TLS 1.3 connection as
/// `who` and reads until the gateway closes it: the whole answer, headers
/// and body, for tests that look at exact headers (`Allow`,
/// `Retry-After`, `X-Request-Id`).
pub async fn raw_exchange(
    data: &Path,
    base: &str,
    who: &str,
    request: &str,
) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = client_tls(data, who)?;
    let tcp = tokio::net::TcpStream::connect(base.trim_start_matches("https://"))
        .await
        .map_err(|e| format!("{base}: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    // The gateway may close without a TLS close_notify after `connection:
    // close`; what arrived is the answer.
    let _ = tls.read_to_end(&mut out).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A TLS 1.3 client configuration as `who` (its certificate and key from
/// the data directory, the consortium CA as root): for tests that write
/// raw bytes no client library would send.
pub fn client_tls(data: &Path, who: &str) -> Result<Arc<rustls::ClientConfig>, String> {
    client_tls_over(data, who, &[&rustls::version::TLS13])
}

/// As [`client_tls`], offering only `versions` (a test offers TLS 1.2 to
/// see it refused).
pub fn client_tls_over(
    data: &Path,
    who: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let fail = |what: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
    let ca_path = data.join("ca/ca.pem");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&ca_path).map_err(|e| fail(&ca_path, &e))? {
        roots
            .add(c.map_err(|e| fail(&ca_path, &e))?)
            .map_err(|e| fail(&ca_path, &e))?;
    }
    let dir = data.join("institutions").join(who);
    let cert_path = dir.join("client.pem");
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| fail(&cert_path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&cert_path, &e))?;
    let key_path = dir.join("client.key.pem");
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| fail(&key_path, &e))?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_client_auth_cert(certs, key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}
