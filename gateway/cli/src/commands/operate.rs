//! `veilgate ledger add`, `member add | remove`, `policy publish`: the
//! operator's edits of a data directory. Each writes its files, then runs
//! every start-up check (`veilgate config check`); if any fails, every
//! file is put back as it was and the check's error is the answer — a
//! command never leaves a configuration the gateway would refuse.
//! `veilgate.toml` is edited in place with its comments kept.

use std::path::{Path, PathBuf};

use veilgate_core::{Directory, LedgerDirectory};
use veilgate_server::CONFIG_FILE;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()).into())
}

/// Files to write together, checked together, undone together.
#[derive(Default)]
struct Change {
    /// Each path with its content before the change (`None`: it did not exist).
    before: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Change {
    fn write(&mut self, path: &Path, content: &[u8]) -> Result<()> {
        if !self.before.iter().any(|(p, _)| p == path) {
            self.before
                .push((path.to_owned(), std::fs::read(path).ok()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()).into())
    }

    /// Runs the start-up checks on the changed directory; on a fault puts
    /// every file back and returns the fault.
    fn check(self, data: &Path) -> Result<()> {
        match veilgate_server::boot::check(data) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.undo();
                Err(
                    format!("{e}\nnothing was changed: the gateway would refuse to start so")
                        .into(),
                )
            }
        }
    }

    fn undo(self) {
        for (path, content) in self.before.into_iter().rev() {
            let _ = match content {
                Some(c) => std::fs::write(&path, c),
                None => std::fs::remove_file(&path),
            };
        }
    }
}

fn config_doc(data: &Path) -> Result<(PathBuf, toml_edit::DocumentMut)> {
    let path = data.join(CONFIG_FILE);
    let doc = read(&path)?
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, doc))
}

fn directory(data: &Path) -> Result<(PathBuf, Directory)> {
    let loaded = veilgate_server::boot::Loaded::read(data)?;
    let path = data.join(&loaded.config.directory);
    Ok((path, loaded.directory))
}

fn directory_text(d: &Directory) -> Result<Vec<u8>> {
    let mut text = serde_json::to_string_pretty(d)?;
    text.push('\n');
    Ok(text.into_bytes())
}

/// What `ledger add` takes.
pub struct NewLedger<'a> {
    pub id: &'a str,
    pub cas: &'a [String],
    pub policies: &'a [String],
    pub follow: bool,
    pub pseudonym_key: Option<&'a Path>,
}

/// Adds a `[[ledger]]` the directory already lists: its pseudonym key
/// (imported, or new for the consortium's first gateway) unless the
/// directory names a pseudonymisation service for it, and the table in
/// `veilgate.toml` (a `[pseudonyms]` address is the operator's to add).
pub fn ledger_add(data: &Path, new: &NewLedger<'_>) -> Result<()> {
    let (cfg_path, mut doc) = config_doc(data)?;
    let (_, dir) = directory(data)?;
    let Some(entry) = dir.ledger(new.id) else {
        return Err(format!(
            "ledger `{}` is not in the consortium directory: add its members first (`veilgate member add --ledger {} --suite standard|sm …`), or put the consortium's directory in place",
            new.id, new.id
        )
        .into());
    };
    let tables = doc
        .entry("ledger")
        .or_insert(toml_edit::Item::ArrayOfTables(
            toml_edit::ArrayOfTables::new(),
        ))
        .as_array_of_tables_mut()
        .ok_or_else(|| {
            format!(
                "{}: `ledger` is not a list of [[ledger]] tables",
                cfg_path.display()
            )
        })?;
    if tables
        .iter()
        .any(|t| t.get("id").and_then(|v| v.as_str()) == Some(new.id))
    {
        return Err(format!(
            "{}: ledger `{}` is already configured",
            cfg_path.display(),
            new.id
        )
        .into());
    }
    let key_path = data.join("ledgers").join(new.id).join("pseudonym.key");
    let mut change = Change::default();
    let oblivious = entry.pseudonyms.is_some();
    if oblivious && new.pseudonym_key.is_some() {
        return Err(format!(
            "ledger `{}` takes its pseudonyms from its pseudonymisation service: it has no member pseudonym key to import (--pseudonym-key)",
            new.id
        )
        .into());
    }
    let generated = match (new.pseudonym_key, key_path.exists()) {
        // No key on this gateway: the service holds it (docs/pseudonyms.md).
        (_, false) if oblivious => false,
        (_, true) => {
            return Err(format!(
                "{} exists: a ledger's pseudonym key is never replaced (equal values would stop linking)",
                key_path.display()
            )
            .into())
        }
        (Some(from), false) => {
            change.write(&key_path, read(from)?.trim().as_bytes())?;
            false
        }
        (None, false) => {
            let mut key = zeroize::Zeroizing::new([0u8; 32]);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, key.as_mut());
            change.write(&key_path, hex::encode(key.as_ref()).as_bytes())?;
            true
        }
    };
    if !oblivious {
        restrict(&key_path)?;
    }
    let mut t = toml_edit::Table::new();
    t.insert("id", toml_edit::value(new.id));
    t.insert("kind", toml_edit::value("embedded"));
    t.insert("follow", toml_edit::value(new.follow));
    t.insert("ca", toml_edit::value(str_array(new.cas)));
    t.insert("policies", toml_edit::value(str_array(new.policies)));
    tables.push(t);
    change.write(&cfg_path, doc.to_string().as_bytes())?;
    change.check(data)?;
    println!(
        "ledger `{}` added (suite {}, {} members); restart the gateway to serve it",
        new.id,
        entry.suite,
        entry.members.len()
    );
    if generated {
        println!(
            "a new pseudonym key is in {}: every gateway of the consortium serving `{}` needs this same key — send it to them over a secure channel (they pass it with --pseudonym-key)",
            key_path.display(),
            new.id
        );
    }
    Ok(())
}

fn str_array(items: &[String]) -> toml_edit::Array {
    items.iter().map(String::as_str).collect()
}

/// Owner-only, as every key file the gateway writes.
fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let _ = path;
    Ok(())
}

/// What `member add` takes.
pub struct NewMember<'a> {
    pub ledger: &'a str,
    /// The ledger's suite, when the member is the ledger's first.
    pub suite: Option<&'a str>,
    pub id: &'a str,
    pub sign_public: &'a str,
    pub kem_public: &'a str,
    /// `x25519`, `p256` or `sm2`; absent: the suite's default.
    pub kem: Option<&'a str>,
    pub distid: Option<&'a str>,
    pub roles: &'a [String],
    pub admitted_ms: Option<u64>,
}

/// A JSON value without its `null` members (optional fields left out).
fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => o
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, strip_nulls(v)))
            .collect(),
        serde_json::Value::Array(a) => a.into_iter().map(strip_nulls).collect(),
        other => other,
    }
}

/// Adds a member (and its ledger roles) to a ledger of the directory,
/// creating the ledger's entry for its first member.
pub fn member_add(data: &Path, m: &NewMember<'_>) -> Result<()> {
    let (path, mut dir) = directory(data)?;
    let existing = dir.ledgers.iter().position(|l| l.ledger == m.ledger);
    let idx = match existing.and_then(|i| dir.ledgers.get(i).map(|l| (i, l))) {
        Some((i, l)) => {
            if let Some(s) = m.suite.filter(|s| *s != l.suite) {
                return Err(
                    format!("ledger `{}` is of suite `{}`, not `{s}`", m.ledger, l.suite).into(),
                );
            }
            i
        }
        None => {
            let suite = m.suite.ok_or_else(|| {
                format!(
                    "ledger `{}` is not in the directory yet: pass --suite standard|sm to create it",
                    m.ledger
                )
            })?;
            dir.ledgers.push(LedgerDirectory {
                ledger: m.ledger.to_owned(),
                suite: suite.to_owned(),
                members: Vec::new(),
                roles: Default::default(),
                sees_all: Vec::new(),
                sets: Default::default(),
                pseudonyms: None,
            });
            dir.ledgers.len() - 1
        }
    };
    let Some(ledger) = dir.ledgers.get_mut(idx) else {
        return Err("the directory changed while it was edited".into());
    };
    if ledger.members.iter().any(|x| x.id == m.id) {
        return Err(format!(
            "`{}` is already a member of `{}` (a removed member stays listed with `removed_ms`; a returning one needs a new id)",
            m.id, m.ledger
        )
        .into());
    }
    for role in m.roles {
        let holders = ledger.roles.entry(role.clone()).or_default();
        if !holders.iter().any(|h| h == m.id) {
            holders.push(m.id.to_owned());
        }
    }
    // The member goes in as the file says it, so the directory's own rules
    // (keys on the curve, lengths, KEM of the suite, distid) judge it and
    // the message names the member rather than the whole file.
    let mut value = serde_json::to_value(&dir)?;
    let entry = serde_json::json!({
        "id": m.id,
        "keys": [{ "sign_public": m.sign_public, "kem": m.kem, "kem_public": m.kem_public }],
        "distid": m.distid,
        "admitted_ms": m.admitted_ms,
    });
    let entry = strip_nulls(entry);
    value
        .get_mut("ledgers")
        .and_then(|l| l.get_mut(idx))
        .and_then(|l| l.get_mut("members"))
        .and_then(|m| m.as_array_mut())
        .ok_or("the directory changed while it was edited")?
        .push(entry);
    let dir = Directory::from_json(&value.to_string())
        .map_err(|e| format!("member `{}` of `{}`: {e}", m.id, m.ledger))?;
    let text = directory_text(&dir)?;
    let mut change = Change::default();
    change.write(&path, &text)?;
    change.check(data)?;
    println!(
        "`{}` added to ledger `{}`{}; {} is the consortium's: send the new version to every member's gateway",
        m.id,
        m.ledger,
        if m.roles.is_empty() {
            String::new()
        } else {
            format!(" with roles {}", m.roles.join(", "))
        },
        path.display()
    );
    Ok(())
}

/// Marks a member removed from `at_ms` (default now). The entry stays: its
/// earlier envelopes keep verifying; peers reject what it signs later.
pub fn member_remove(data: &Path, ledger_id: &str, id: &str, at_ms: Option<u64>) -> Result<()> {
    let (path, mut dir) = directory(data)?;
    let ledger = dir
        .ledgers
        .iter_mut()
        .find(|l| l.ledger == ledger_id)
        .ok_or_else(|| format!("ledger `{ledger_id}` is not in the directory"))?;
    let member = ledger
        .members
        .iter_mut()
        .find(|x| x.id == id)
        .ok_or_else(|| format!("`{id}` is not a member of `{ledger_id}`"))?;
    if let Some(r) = member.removed_ms {
        return Err(format!("`{id}` was already removed from `{ledger_id}` at {r} ms").into());
    }
    let at = at_ms.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    });
    if member.admitted_ms.is_some_and(|a| at <= a) {
        return Err(format!("--at-ms {at} is not after `{id}`'s admission").into());
    }
    member.removed_ms = Some(at);
    let text = directory_text(&dir)?;
    let mut change = Change::default();
    change.write(&path, &text)?;
    change.check(data)?;
    println!(
        "`{id}` removed from ledger `{ledger_id}` as of {at} ms (its entry stays: earlier envelopes keep verifying); send {} to every member's gateway",
        path.display()
    );
    Ok(())
}

/// Checks a policy, copies it into the data directory's `policies/` and
/// lists it under its ledger in `veilgate.toml`; an EVM ledger's registry
/// then takes it with `veilgate evm publish`.
pub fn policy_publish(data: &Path, file: &Path, ledger: Option<&str>) -> Result<()> {
    let text = read(file)?;
    let plan = veilgate_policies::compile(&text).map_err(|e| {
        e.render(&file.display().to_string(), &text)
            .trim_end()
            .to_owned()
    })?;
    let ledger_id = match (ledger, plan.ledgers.as_slice()) {
        (Some(l), bound) if bound.iter().any(|b| b == l) => l.to_owned(),
        (Some(l), bound) => {
            return Err(format!(
                "{}: policy `{}` binds {}, not `{l}`",
                file.display(),
                plan.id,
                bound
                    .iter()
                    .map(|b| format!("`{b}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .into())
        }
        (None, [one]) => one.clone(),
        (None, _) => {
            return Err(format!(
                "{}: policy `{}` binds several ledgers; name one with --ledger",
                file.display(),
                plan.id
            )
            .into())
        }
    };
    let (cfg_path, mut doc) = config_doc(data)?;
    let table = doc
        .get_mut("ledger")
        .and_then(|l| l.as_array_of_tables_mut())
        .and_then(|ts| {
            ts.iter_mut()
                .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(ledger_id.as_str()))
        })
        .ok_or_else(|| {
            format!(
                "{}: policy `{}` binds ledger `{ledger_id}`, which {} does not configure (`veilgate ledger add`)",
                file.display(),
                plan.id,
                cfg_path.display()
            )
        })?;
    let kind = table
        .get("kind")
        .and_then(|v| v.as_str())
        .unwrap_or("embedded")
        .to_owned();
    let rel = format!("policies/{}-v{}.policy", plan.id, plan.version);
    let dest = data.join(&rel);
    // The same text may already be there for another ledger it binds.
    if dest.exists() && read(&dest)? != text {
        return Err(format!(
            "{rel} holds another text under `{}` version {}: publish a new version (`version {}`)",
            plan.id,
            plan.version,
            plan.version + 1
        )
        .into());
    }
    let list = table
        .entry("policies")
        .or_insert(toml_edit::value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| {
            format!(
                "{}: `policies` of ledger `{ledger_id}` is not a list",
                cfg_path.display()
            )
        })?;
    if list.iter().any(|v| v.as_str() == Some(rel.as_str())) {
        return Err(format!("{rel} is already published on ledger `{ledger_id}`").into());
    }
    list.push(rel.as_str());
    let mut change = Change::default();
    change.write(&dest, text.as_bytes())?;
    change.write(&cfg_path, doc.to_string().as_bytes())?;
    change.check(data)?;
    println!(
        "policy `{}` version {} published on ledger `{ledger_id}` as {rel}, hash {}",
        plan.id,
        plan.version,
        hex::encode(plan.hash())
    );
    if kind == "evm" {
        println!("the ledger is on an EVM chain: `veilgate evm publish --ledger {ledger_id}` writes it to the registry");
    }
    println!("restart the gateway to serve it");
    Ok(())
}

/// What `member key-add` takes.
pub struct NewMemberKey<'a> {
    pub ledger: &'a str,
    pub id: &'a str,
    pub sign_public: &'a str,
    pub kem_public: &'a str,
    pub kem: Option<&'a str>,
    pub from_ms: u64,
}

/// Adds a key version to a member of the directory, in force from
/// `from_ms`: the consortium's way to re-key a member that lost its signing
/// key (a member that still signs rotates itself: `veilgate client
/// rotate-key`). Checked as at start, undone on a fault.
pub fn member_key_add(data: &Path, k: &NewMemberKey<'_>) -> Result<()> {
    let (path, dir) = directory(data)?;
    let mut value = serde_json::to_value(&dir)?;
    let keys = value
        .get_mut("ledgers")
        .and_then(|l| l.as_array_mut())
        .and_then(|l| l.iter_mut().find(|l| l["ledger"] == k.ledger))
        .ok_or_else(|| format!("ledger `{}` is not in {}", k.ledger, path.display()))?
        .get_mut("members")
        .and_then(|m| m.as_array_mut())
        .and_then(|m| m.iter_mut().find(|m| m["id"] == k.id))
        .ok_or_else(|| format!("`{}` is not a member of `{}`", k.id, k.ledger))?
        .get_mut("keys")
        .and_then(|k| k.as_array_mut())
        .ok_or("the directory changed while it was edited")?;
    keys.push(strip_nulls(serde_json::json!({
        "sign_public": k.sign_public, "kem": k.kem, "kem_public": k.kem_public, "from_ms": k.from_ms,
    })));
    let dir = Directory::from_json(&value.to_string())
        .map_err(|e| format!("a new key of `{}` on `{}`: {e}", k.id, k.ledger))?;
    let text = directory_text(&dir)?;
    let mut change = Change::default();
    change.write(&path, &text)?;
    change.check(data)?;
    println!(
        "`{}` has a new key on `{}` from {} ms; {} is the consortium's: send the new version to every member's gateway",
        k.id,
        k.ledger,
        k.from_ms,
        path.display()
    );
    Ok(())
}
