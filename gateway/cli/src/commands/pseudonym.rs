//! `veilgate pseudonym-service`: run the pseudonymisation service, or make
//! the key (or the k-of-n shares) of a new epoch.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use veilgate_core::NewEpoch;
use veilgate_server::pseudonym::service::{serve, Service};

/// Runs the service from `data`'s `pseudonym-service.toml` until SIGTERM
/// or Ctrl-C. Prints one line with the address when it listens.
pub async fn run(data: PathBuf, listen: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let service = Arc::new(Service::load(&data)?);
    let tls = service.tls_config(&data)?;
    let at = listen.unwrap_or_else(|| service.listen_addr().to_owned());
    let listener = tokio::net::TcpListener::bind(&at)
        .await
        .map_err(|e| format!("listen `{at}`: {e}"))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "veilgate pseudonym service listening on https://{addr} (data directory {})",
            data.display()
        )?;
        out.flush()?;
    }
    serve(
        service,
        tls,
        listener,
        crate::commands::serve::shutdown_signal(),
    )
    .await;
    Ok(())
}

/// Makes epoch `epoch`'s key for `ledger`: one key file (threshold 1) or
/// `services` share files of which `threshold` evaluate together, written
/// mode 0600 into `out` as `<ledger>.<epoch>.<index>.key`; prints the
/// directory's epoch entry. Each share file goes to its service's operator;
/// with shares, the whole key exists only in this process and is dropped.
pub fn keygen(
    out: &Path,
    ledger: &str,
    epoch: u32,
    from_ms: u64,
    threshold: usize,
    services: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    let new = NewEpoch::generate(epoch, from_ms, threshold, services, &mut rand_core::OsRng)?;
    std::fs::create_dir_all(out)?;
    let mut written = Vec::new();
    for (index, secret) in &new.secrets {
        let path = out.join(format!("{ledger}.{epoch}.{index}.key"));
        write_private(&path, hex::encode(secret.as_ref()).as_bytes())?;
        written.push(path.display().to_string());
    }
    Ok(format!(
        "{}\nkey files (give each to its service's operator, never to a member): {}",
        serde_json::to_string_pretty(&new.entry)?,
        written.join(", ")
    ))
}

/// Creates `path` readable by its owner only; refuses to replace a key.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
