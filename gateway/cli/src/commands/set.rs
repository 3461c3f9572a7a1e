//! `veilgate set`: build a set file from a member list (its root anyone
//! recomputes), show a file or the roots on a ledger, and publish a file's
//! root through a gateway as the institution holding the set's role.

use std::path::Path;

use veilgate_core::sets::{members_from_text, SetContents};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Builds version `version` of `set` on `ledger` from a member list (one per
/// line, `#` comments) and writes the set file.
pub fn build(ledger: &str, set: &str, version: u32, members: &Path, out: &Path) -> Result<()> {
    let list = members_from_text(&read(members)?);
    let contents = SetContents::build(ledger, set, version, &list)
        .map_err(|e| format!("{}: {e}", members.display()))?;
    std::fs::write(out, contents.to_json()).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("{}", summary(&contents));
    println!("wrote {}", out.display());
    Ok(())
}

fn summary(c: &SetContents) -> String {
    format!(
        "set `{}` version {} on ledger `{}`: {} members, root {}",
        c.file.set,
        c.file.version,
        c.file.ledger,
        c.file.members.len(),
        c.file.root
    )
}

/// Reads a set file, recomputing its root (a file whose members do not give
/// its root is refused).
pub fn show_file(file: &Path) -> Result<()> {
    let contents =
        SetContents::from_json(&read(file)?).map_err(|e| format!("{}: {e}", file.display()))?;
    println!("{}", summary(&contents));
    Ok(())
}

/// How the command reaches a gateway: its address and the institution's
/// client material in a data directory (`institutions/<id>/client.pem`).
pub struct Gateway<'a> {
    pub url: &'a str,
    pub data: &'a Path,
    pub institution: &'a str,
    pub tls: veilgate_client::Tls,
}

impl Gateway<'_> {
    fn client(&self) -> Result<veilgate_client::Client> {
        Ok(veilgate_client::Client::from_data_dir_over(
            self.data,
            self.institution,
            self.url,
            self.tls,
        )?)
    }
}

async fn call(gw: &Gateway<'_>, method: &str, path: &str, body: Option<Vec<u8>>) -> Result<()> {
    let (status, body) = gw.client()?.request(method, path, body).await?;
    let text = String::from_utf8_lossy(&body);
    if !(200..300).contains(&status) {
        return Err(format!("{method} {path}: {status} {text}").into());
    }
    println!("{text}");
    Ok(())
}

/// The roots on `ledger`, oldest first per set, the one in force marked.
pub async fn show_ledger(gw: &Gateway<'_>, ledger: &str) -> Result<()> {
    call(gw, "GET", &format!("/v1/ledgers/{ledger}/sets"), None).await
}

/// Publishes the file's root on its ledger through the gateway.
pub async fn publish(gw: &Gateway<'_>, file: &Path, valid_from_ms: Option<u64>) -> Result<()> {
    let contents =
        SetContents::from_json(&read(file)?).map_err(|e| format!("{}: {e}", file.display()))?;
    let body = match valid_from_ms {
        Some(t) => serde_json::json!({ "file": contents.file, "valid_from_ms": t }),
        None => serde_json::json!({ "file": contents.file }),
    };
    let path = format!("/v1/ledgers/{}/sets", contents.file.ledger);
    call(gw, "POST", &path, Some(body.to_string().into_bytes())).await
}
