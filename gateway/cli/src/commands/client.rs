//! `veilgate client`: the gateway's API from the command line, on the Rust
//! SDK — submit a record, read submissions, envelopes and entries, open and
//! verify — with the gateway address and certificate paths from a profile
//! file or flags. Answers are printed as JSON.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use veilgate_client::{Client, Tls};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A profile file: where the gateway is and the institution's TLS
/// material. Paths are relative to the profile's folder.
///
/// ```toml
/// gateway = "https://127.0.0.1:8443"
/// ca = "ca/ca.pem"
/// cert = "institutions/bank-a/client.pem"
/// key = "institutions/bank-a/client.key.pem"
/// tls = "standard"            # or "sm" (RFC 8998, SM2 material)
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub gateway: Option<String>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub tls: Option<String>,
}

/// Where the command reaches the gateway from: a profile, overridden flag
/// by flag.
#[derive(clap::Args)]
pub struct Connection {
    /// A profile file (TOML: gateway, ca, cert, key, tls; `veilgate client
    /// profile` writes one). Default: $VEILGATE_PROFILE.
    #[arg(long, env = "VEILGATE_PROFILE")]
    pub profile: Option<PathBuf>,
    /// The gateway, `https://host:port` (overrides the profile's).
    #[arg(long)]
    pub gateway: Option<String>,
    /// The consortium CA certificate (PEM) the gateway's certificate chains to.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The institution's client certificate (PEM).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The institution's client key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The TLS of the ledger's suite: `standard`, or `sm` for the gateway's
    /// `[tls_sm]` listener (RFC 8998, SM2 certificates).
    #[arg(long)]
    pub tls: Option<String>,
    /// Print each answer on one line instead of indented.
    #[arg(long)]
    pub compact: bool,
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()).into())
}

impl Connection {
    /// The profile's values with the flags laid over them; a value missing
    /// from both is named in the error.
    fn resolve(&self) -> Result<(String, Tls, [PathBuf; 3])> {
        let (profile, base) = match &self.profile {
            Some(p) => {
                let text = String::from_utf8(read(p)?)
                    .map_err(|_| format!("{}: not UTF-8 text", p.display()))?;
                let profile: Profile =
                    toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
                let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
                (profile, base)
            }
            None => (Profile::default(), PathBuf::new()),
        };
        let missing = |what: &str| {
            format!(
                "no {what}: give --{what} or a profile (--profile FILE or $VEILGATE_PROFILE) that names it"
            )
        };
        let gateway = self
            .gateway
            .clone()
            .or(profile.gateway)
            .ok_or_else(|| missing("gateway"))?;
        let path = |flag: &Option<PathBuf>, from_profile: Option<PathBuf>, what: &str| {
            flag.clone()
                .or_else(|| from_profile.map(|p| base.join(p)))
                .ok_or_else(|| missing(what))
        };
        let ca = path(&self.ca, profile.ca, "ca")?;
        let cert = path(&self.cert, profile.cert, "cert")?;
        let key = path(&self.key, profile.key, "key")?;
        let tls = match self.tls.clone().or(profile.tls).as_deref() {
            None | Some("standard") => Tls::Standard,
            Some("sm") => Tls::Sm,
            Some(other) => return Err(format!("tls `{other}`: expected `standard` or `sm`").into()),
        };
        Ok((gateway, tls, [ca, cert, key]))
    }

    fn client(&self) -> Result<Client> {
        let (gateway, tls, [ca, cert, key]) = self.resolve()?;
        Ok(Client::with_tls(
            &gateway,
            tls,
            &read(&ca)?,
            &read(&cert)?,
            &read(&key)?,
        )?)
    }

    fn print(&self, v: &serde_json::Value) -> Result<()> {
        let text = if self.compact {
            serde_json::to_string(v)?
        } else {
            serde_json::to_string_pretty(v)?
        };
        println!("{text}");
        Ok(())
    }
}

#[derive(clap::Subcommand)]
pub enum ClientCommand {
    /// Write a profile file for an institution from a data directory's
    /// material (`ca/ca.pem`, `institutions/<id>/client.pem`, …).
    Profile {
        /// The data directory holding the CA and the institution's material.
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The institution (the certificate's common name).
        #[arg(long = "as")]
        institution: String,
        /// The gateway, `https://host:port`.
        #[arg(long)]
        gateway: String,
        /// `sm` for the SM2 material and the `[tls_sm]` listener.
        #[arg(long, default_value = "standard")]
        tls: String,
        /// The profile file to write (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
    /// Rotate this institution's key on a ledger: a new key version in its
    /// gateway's key store, announced on the ledger (an audited action).
    RotateKey {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// When the new key takes force (ms since the epoch; default: 10 s from now).
        #[arg(long)]
        valid_from_ms: Option<u64>,
    },
    /// Report a key lost or compromised: from `--from-ms` on, peers reject
    /// what it signs, and nothing is wrapped to it or opened with it.
    FreezeKey {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The key id (32 hex digits).
        #[arg(long)]
        key_id: String,
        /// `lost` or `compromised`.
        #[arg(long)]
        reason: String,
        /// Frozen from (ms since the epoch; default now).
        #[arg(long)]
        from_ms: Option<u64>,
        /// Another member's key (for a holder of `key_authority`).
        #[arg(long)]
        member: Option<String>,
    },
    /// The ledgers the gateway serves this institution on, with length and head.
    Ledgers {
        #[command(flatten)]
        conn: Connection,
    },
    /// Submit a record (JSON file, or `-` for standard input) under a policy.
    Submit {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The policy id.
        #[arg(long)]
        policy: String,
        /// Pin a version of the policy (default: the newest the gateway serves).
        #[arg(long)]
        version: Option<u32>,
        /// The idempotency key: the same key and record again is answered
        /// as before, never written twice.
        #[arg(long)]
        idempotency_key: String,
        /// The record (JSON), or `-` to read it from standard input.
        record: PathBuf,
        /// Wait until the record is on the ledger (up to this many seconds).
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// A submission of this institution (its state), or with --envelope the
    /// envelope on the ledger.
    Get {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The envelope id (32 hex digits, as `submit` prints it).
        id: String,
        /// Fetch the envelope on the ledger instead of the submission's state.
        #[arg(long)]
        envelope: bool,
        /// With --envelope: also write the envelope's bytes to this file.
        #[arg(long, requires = "envelope")]
        out: Option<PathBuf>,
    },
    /// A page of the ledger's entries: position, id, hash, time, and what
    /// each is (envelope with policy and submitter, audit anchor, set root).
    Entries {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The first position to list.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many entries at most (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Have the gateway verify a stored envelope and open the fields
    /// addressed to this institution (audited).
    Open {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The envelope id.
        id: String,
    },
    /// Verify an envelope as a peer would: one on the ledger by id, or an
    /// envelope file (--file). Exits 1 if it is rejected.
    Verify {
        #[command(flatten)]
        conn: Connection,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The envelope id of an envelope on the ledger.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        id: Option<String>,
        /// An envelope file (its bytes, as `get --envelope --out` writes).
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

fn record(path: &Path) -> Result<serde_json::Value> {
    let (name, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("standard input: {e}"))?;
        ("standard input".to_owned(), text)
    } else {
        let text = String::from_utf8(read(path)?)
            .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        (path.display().to_string(), text)
    };
    serde_json::from_str(&text).map_err(|e| format!("{name}: not JSON: {e}").into())
}

/// A profile for `institution` from the material in `data`, paths made
/// absolute so the file works from any folder.
fn write_profile(
    data: &Path,
    institution: &str,
    gateway: &str,
    tls: &str,
    out: &Path,
) -> Result<()> {
    let (ca, cert, key) = match tls {
        "standard" => ("ca/ca.pem", "client.pem", "client.key.pem"),
        "sm" => ("ca/sm-ca.pem", "client.sm.pem", "client.sm.key.pem"),
        other => return Err(format!("tls `{other}`: expected `standard` or `sm`").into()),
    };
    let data = std::fs::canonicalize(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let inst = data.join("institutions").join(institution);
    let paths = [data.join(ca), inst.join(cert), inst.join(key)];
    for p in &paths {
        if !p.exists() {
            return Err(format!("{}: no such file", p.display()).into());
        }
    }
    let mut doc = toml_edit::DocumentMut::new();
    doc.insert("gateway", toml_edit::value(gateway));
    for (name, p) in ["ca", "cert", "key"].iter().zip(&paths) {
        doc.insert(name, toml_edit::value(p.display().to_string()));
    }
    doc.insert("tls", toml_edit::value(tls));
    let text = format!("# veilgate client profile of `{institution}`\n{doc}");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}

pub async fn run(command: ClientCommand) -> Result<()> {
    match command {
        ClientCommand::Profile {
            data,
            institution,
            gateway,
            tls,
            out,
        } => write_profile(&data, &institution, &gateway, &tls, &out),
        ClientCommand::Ledgers { conn } => conn.print(&conn.client()?.ledgers().await?),
        ClientCommand::RotateKey {
            conn,
            ledger,
            valid_from_ms,
        } => conn.print(&conn.client()?.rotate_key(&ledger, valid_from_ms).await?),
        ClientCommand::FreezeKey {
            conn,
            ledger,
            key_id: key,
            reason,
            from_ms,
            member,
        } => conn.print(
            &conn
                .client()?
                .freeze_key(&ledger, &key, &reason, from_ms, member.as_deref())
                .await?,
        ),
        ClientCommand::Submit {
            conn,
            ledger,
            policy,
            version,
            idempotency_key: key,
            record: path,
            wait,
        } => {
            let record = record(&path)?;
            let client = conn.client()?;
            let mut r = client
                .submit_version(&ledger, &policy, version, &key, &record)
                .await?;
            if let (Some(secs), false) = (wait, r.on_ledger()) {
                r = client
                    .wait_on_ledger(
                        &ledger,
                        &r.envelope_id,
                        std::time::Duration::from_secs(secs),
                    )
                    .await?;
                if !r.on_ledger() {
                    conn.print(&receipt_json(&r))?;
                    return Err(format!(
                        "not on the ledger after {secs} s; it is accepted and will be written: `veilgate client get --ledger {ledger} {}` tells when",
                        r.envelope_id
                    )
                    .into());
                }
            }
            conn.print(&receipt_json(&r))
        }
        ClientCommand::Get {
            conn,
            ledger,
            id,
            envelope,
            out,
        } => {
            let client = conn.client()?;
            if !envelope {
                return conn.print(&receipt_json(&client.submission(&ledger, &id).await?));
            }
            let e = client.envelope(&ledger, &id).await?;
            if let Some(out) = out {
                std::fs::write(&out, &e.bytes)
                    .map_err(|err| format!("{}: {err}", out.display()))?;
            }
            conn.print(&serde_json::json!({
                "ledger": ledger,
                "sequence": e.sequence,
                "entry_hash": e.entry_hash,
                "envelope": e.view,
            }))
        }
        ClientCommand::Entries {
            conn,
            ledger,
            from,
            limit,
        } => conn.print(&conn.client()?.entries(&ledger, from, limit).await?),
        ClientCommand::Open { conn, ledger, id } => {
            conn.print(&conn.client()?.open_remote(&ledger, &id).await?)
        }
        ClientCommand::Verify {
            conn,
            ledger,
            id,
            file,
        } => {
            let client = conn.client()?;
            let bytes = match (id, file) {
                (_, Some(f)) => read(&f)?,
                (Some(id), None) => client.envelope(&ledger, &id).await?.bytes,
                (None, None) => return Err("give an envelope id or --file".into()),
            };
            let answer = client.verify_remote(&ledger, &bytes).await?;
            conn.print(&answer)?;
            if answer.get("accepted") != Some(&serde_json::Value::Bool(true)) {
                return Err("the envelope is rejected".into());
            }
            Ok(())
        }
    }
}

fn receipt_json(r: &veilgate_client::SubmitReceipt) -> serde_json::Value {
    serde_json::json!({
        "ledger": r.ledger,
        "envelope_id": r.envelope_id,
        "state": r.state,
        "sequence": r.sequence,
        "entry_hash": r.entry_hash,
    })
}
