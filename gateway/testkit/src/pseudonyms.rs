//! A pseudonymisation deployment for a development data directory: the
//! directory's `pseudonyms` section, one data directory per service (its
//! key or share, its certificate from the development CA naming its
//! operator, its configuration) beside — never inside — the gateway's, the
//! ledger's `pseudonym.key` removed, and the gateway's `[pseudonyms]`
//! addresses once the services listen.

use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, SanType};
use veilgate_core::{Directory, NewEpoch, PseudonymDirectory, PseudonymService};
use veilgate_pseudonym::Evaluator;

/// One service's data directory.
#[derive(Clone, Debug)]
pub struct ServiceDir {
    pub index: u32,
    pub operator: String,
    pub dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    Ok(())
}

/// Moves `ledger` of `data` onto oblivious pseudonyms: epoch 1 from time 0,
/// one service per operator, `threshold` of which must answer (1: the
/// first operator's service holds the whole key; more: each holds a
/// share). The services' directories are `<data>-pseudonyms-<index>`.
/// Returns them and the epoch's key (for tests that play the service or
/// check a tag; a real deployment never has it in one place).
pub fn deploy(
    data: &Path,
    ledger: &str,
    threshold: usize,
    operators: &[&str],
    per_member_per_day: u64,
) -> Result<(Vec<ServiceDir>, Evaluator), String> {
    let new = NewEpoch::generate(1, 0, threshold, operators.len(), &mut rand_core::OsRng)
        .map_err(|e| e.to_string())?;
    let services: Vec<PseudonymService> = if threshold <= 1 {
        vec![PseudonymService {
            index: 1,
            operator: operators.first().ok_or("no operator")?.to_string(),
        }]
    } else {
        operators
            .iter()
            .zip(1u32..)
            .map(|(op, index)| PseudonymService {
                index,
                operator: (*op).to_owned(),
            })
            .collect()
    };
    let section = PseudonymDirectory {
        threshold: u32::try_from(threshold.max(1)).map_err(|e| e.to_string())?,
        services: services.clone(),
        epochs: vec![new.entry.clone()],
    };
    let dpath = data.join("consortium.json");
    let mut directory = Directory::from_json(&std::fs::read_to_string(&dpath).map_err(io(&dpath))?)
        .map_err(|e| e.to_string())?;
    let entry = directory
        .ledgers
        .iter_mut()
        .find(|l| l.ledger == ledger)
        .ok_or_else(|| format!("the directory has no ledger `{ledger}`"))?;
    entry.pseudonyms = Some(section);
    let text = serde_json::to_string_pretty(&directory).map_err(|e| e.to_string())?;
    std::fs::write(&dpath, &text).map_err(io(&dpath))?;
    let key_path = data.join("ledgers").join(ledger).join("pseudonym.key");
    if key_path.exists() {
        std::fs::remove_file(&key_path).map_err(io(&key_path))?;
    }
    let mut dirs = Vec::new();
    for (s, (index, secret)) in services.iter().zip(&new.secrets) {
        let name = data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = data.with_file_name(format!("{name}-pseudonyms-{index}"));
        service_dir(
            data,
            &dir,
            &s.operator,
            ledger,
            hex::encode(secret.as_ref()),
            per_member_per_day,
            &text,
        )?;
        dirs.push(ServiceDir {
            index: *index,
            operator: s.operator.clone(),
            dir,
        });
    }
    Ok((dirs, new.key))
}

/// One service's directory: configuration, key file, the directory, the
/// consortium CA (whose client certificates it admits) and a server
/// certificate from that CA naming its operator.
fn service_dir(
    data: &Path,
    dir: &Path,
    operator: &str,
    ledger: &str,
    secret_hex: String,
    per_member_per_day: u64,
    directory: &str,
) -> Result<(), String> {
    std::fs::create_dir_all(dir.join("keys")).map_err(io(dir))?;
    std::fs::write(dir.join("consortium.json"), directory).map_err(io(dir))?;
    let ca_pem_path = data.join("ca/ca.pem");
    let ca_pem = std::fs::read_to_string(&ca_pem_path).map_err(io(&ca_pem_path))?;
    std::fs::write(dir.join("ca.pem"), &ca_pem).map_err(io(dir))?;
    let issuer =
        crate::material::dev_ca_issuer(data).map_err(|e| format!("the development CA: {e}"))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut p = CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| e.to_string())?;
    p.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    p.distinguished_name.push(DnType::CommonName, operator);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = p.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("server.pem"), cert.pem()).map_err(io(dir))?;
    write_private(&dir.join("server.key.pem"), key.serialize_pem().as_bytes())?;
    write_private(&dir.join("keys/epoch-1.key"), secret_hex.as_bytes())?;
    let config = format!(
        r#"# Veilgate pseudonymisation service, format version 1 (docs/pseudonyms.md).
version = 1
listen = "127.0.0.1:8450"
operator = "{operator}"
directory = "consortium.json"

[tls]
cert = "server.pem"
key = "server.key.pem"
client_ca = ["ca.pem"]

[budget]
per_member_per_day = {per_member_per_day}

[[key]]
ledger = "{ledger}"
epoch = 1
file = "keys/epoch-1.key"
"#
    );
    std::fs::write(dir.join("pseudonym-service.toml"), config).map_err(io(dir))
}

/// Points the gateway of `data` at the services of `ledger`: its
/// `[pseudonyms]` section, replaced if there is one (kept last in the file).
pub fn set_addresses(
    data: &Path,
    ledger: &str,
    services: &[(u32, &str)],
    timeout_ms: u64,
) -> Result<(), String> {
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let text = std::fs::read_to_string(&cfg).map_err(io(&cfg))?;
    let kept = text
        .split("\n[pseudonyms]\n")
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_owned();
    let entries: Vec<String> = services
        .iter()
        .map(|(index, url)| {
            format!("{{ ledger = \"{ledger}\", index = {index}, url = \"{url}\" }}")
        })
        .collect();
    let section = format!(
        "\n\n[pseudonyms]\ntimeout_ms = {timeout_ms}\nservices = [{}]\n",
        entries.join(", ")
    );
    std::fs::write(&cfg, kept + &section).map_err(io(&cfg))
}
