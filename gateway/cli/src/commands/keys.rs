//! `veilgate keys`: the hosted members' private keys — make a key version
//! inside the configured token, and show an auditor where every held key
//! is and whether it can leave its store.

use std::path::Path;

use veilgate_server::boot::{KeyBackend, Loaded};
use veilgate_server::keys::{HeldKey, TokenStore};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Makes a new key version for `member` inside the token of the data
/// directory's `[keys.pkcs11]`, and prints its public halves as the
/// directory lists them (JSON), for `veilgate member add --kem p256`.
pub fn generate(data: &Path, member: &str) -> Result<serde_json::Value> {
    let loaded = Loaded::read(data)?;
    if loaded.config.keys.backend != KeyBackend::Pkcs11 {
        return Err(format!(
            "{}: `[keys] backend` is \"file\"; `keys generate` makes keys inside a PKCS#11 token (set backend = \"pkcs11\" and [keys.pkcs11])",
            data.join(veilgate_server::boot::CONFIG_FILE).display()
        )
        .into());
    }
    let store = TokenStore::open(&loaded.config.keys, data)?;
    let key = store.generate(member)?;
    Ok(serde_json::json!({
        "member": member,
        "token": store.label(),
        "key_id": key.id.hex(),
        "sign_public": hex::encode(&key.sign_public),
        "kem": key.kem.name(),
        "kem_public": hex::encode(&key.kem_public),
    }))
}

/// Every key the gateway holds for its hosted members, as it would load
/// them at start (so every start check runs), with where each is and — in a
/// token — the PKCS#11 attributes that say it cannot leave it.
pub fn inspect(data: &Path) -> Result<serde_json::Value> {
    let gw = veilgate_server::boot::Gateway::load(data)?;
    let mut out = Vec::new();
    for (member, rings) in &gw.hosted {
        for ring in rings.values() {
            for held in ring.held() {
                let key = held.key();
                let mut entry = serde_json::json!({
                    "member": member,
                    "suite": ring.suite.name(),
                    "backend": ring.backend.name(),
                    "key_id": key.id.hex(),
                    "kem": key.kem.name(),
                });
                if let (HeldKey::Token(t), Some(o)) = (held, entry.as_object_mut()) {
                    let (sign, kem) = t.custody()?;
                    o.insert(
                        "custody".into(),
                        serde_json::json!({ "sign": custody_json(&sign), "kem": custody_json(&kem) }),
                    );
                }
                out.push(entry);
            }
        }
    }
    Ok(serde_json::Value::Array(out))
}

fn custody_json(c: &veilgate_hsm::Custody) -> serde_json::Value {
    serde_json::json!({
        "sensitive": c.sensitive,
        "extractable": c.extractable,
        "never_extractable": c.never_extractable,
        "always_sensitive": c.always_sensitive,
        "local": c.local,
    })
}

/// Splits the unwrapping key of `member`'s key version in force (a key file)
/// k-of-n among the directory's recovery custodians and writes the escrow
/// bundle to `institutions/<member>/escrow/<key id>.json` (ciphertexts only:
/// each custodian needs its line). Its path.
pub fn escrow(data: &Path, member: &str) -> Result<serde_json::Value> {
    let loaded = Loaded::read(data)?;
    let policy = loaded.directory.recovery.clone().ok_or_else(|| {
        format!(
            "{}: the directory names no `recovery` custodians (docs/recovery.md)",
            data.join(&loaded.config.directory).display()
        )
    })?;
    let rings = veilgate_server::keys::file_keyring(data, member)?;
    let secrets = rings
        .values()
        .flat_map(|r| r.held())
        .filter_map(|h| match h {
            HeldKey::File(s) if s.suite == veilgate_core::SuiteId::Standard => Some(s),
            _ => None,
        })
        .last()
        .ok_or_else(|| format!("`{member}` has no `standard` key file to escrow (keys in a token cannot leave it, so they cannot be escrowed)"))?;
    let bundle = veilgate_core::recovery::escrow_secrets(&secrets, &policy, &mut rand_core::OsRng)?;
    let dir = data.join("institutions").join(member).join("escrow");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", bundle.key_id));
    std::fs::write(&path, serde_json::to_string_pretty(&bundle)? + "\n")?;
    Ok(serde_json::json!({
        "member": member,
        "key_id": bundle.key_id,
        "threshold": bundle.threshold,
        "custodians": bundle.shares.iter().map(|s| s.custodian.clone()).collect::<Vec<_>>(),
        "bundle": path,
    }))
}

/// A custodian, offline: opens its share of `bundle` with its key file,
/// checks it against the escrow's commitment and re-wraps it to the
/// member's newest key version in `directory` (`ledger`). The release, JSON.
pub fn release_share(
    bundle: &Path,
    custodian_key: &Path,
    directory: &Path,
    ledger: &str,
) -> Result<serde_json::Value> {
    let bundle: veilgate_core::recovery::EscrowBundle =
        serde_json::from_str(&std::fs::read_to_string(bundle)?)
            .map_err(|e| format!("{}: {e}", bundle.display()))?;
    let custodian =
        veilgate_core::InstitutionSecrets::from_json(&std::fs::read_to_string(custodian_key)?)
            .map_err(|e| format!("{}: {e}", custodian_key.display()))?;
    let dir = veilgate_core::Directory::from_json(&std::fs::read_to_string(directory)?)
        .map_err(|e| format!("{}: {e}", directory.display()))?;
    let listed = dir
        .recovery
        .as_ref()
        .and_then(|r| r.custodians.iter().find(|c| c.id == custodian.id))
        .ok_or_else(|| {
            format!(
                "`{}` is not a recovery custodian in {}",
                custodian.id,
                directory.display()
            )
        })?;
    if listed.kem_public != hex::encode(&custodian.key().kem_public) {
        return Err(format!(
            "{}: not the escrow key the directory names for custodian `{}`",
            custodian_key.display(),
            custodian.id
        )
        .into());
    }
    let to = dir
        .ledger(ledger)
        .and_then(|l| l.member(&bundle.member))
        .and_then(|m| m.latest())
        .ok_or_else(|| {
            format!(
                "`{}` has no key on `{ledger}` in {}",
                bundle.member,
                directory.display()
            )
        })?;
    if to.id.hex() == bundle.key_id {
        return Err(format!(
            "`{}`'s newest key is the escrowed key {} itself: the member needs a new key first (`veilgate member key-add`)",
            bundle.member, bundle.key_id
        )
        .into());
    }
    let release = veilgate_core::recovery::release(
        &bundle,
        &custodian,
        custodian.key(),
        to,
        &mut rand_core::OsRng,
    )?;
    Ok(serde_json::to_value(release)?)
}

/// The member, its gateway stopped: combines released shares with its new
/// key (held in the data directory), checks the result is the lost key's,
/// keeps it as an unwrap-only key in `institutions/<member>/keys/<key id>.recovered.json`
/// and audits `key_recover`. Fewer shares than the threshold, a share given
/// twice or one that does not match the escrow's commitment: nothing written.
pub fn recover(
    data: &Path,
    member: &str,
    bundle: &Path,
    releases: &[std::path::PathBuf],
) -> Result<serde_json::Value> {
    let loaded = Loaded::read(data)?;
    // The recovery is audited in the gateway's log: its store, held now.
    let store = veilgate_server::store::Store::open(&data.join("gateway.redb")).map_err(|e| {
        format!(
            "{}: {e} (stop the gateway first: the recovery is audited in its log)",
            data.join("gateway.redb").display()
        )
    })?;
    let bundle: veilgate_core::recovery::EscrowBundle =
        serde_json::from_str(&std::fs::read_to_string(bundle)?)
            .map_err(|e| format!("{}: {e}", bundle.display()))?;
    if bundle.member != member {
        return Err(format!(
            "the bundle escrows a key of `{}`, not of `{member}`",
            bundle.member
        )
        .into());
    }
    let mut rel = Vec::new();
    for p in releases {
        rel.push(
            serde_json::from_str::<veilgate_core::recovery::Release>(&std::fs::read_to_string(p)?)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        );
    }
    let rings = veilgate_server::keys::file_keyring(data, member)?;
    let ring = rings
        .get(&veilgate_core::SuiteId::Standard)
        .ok_or_else(|| format!("`{member}` holds no `standard` key here to receive the shares"))?;
    let secret = veilgate_core::recovery::recover(&bundle, &rel, ring)?;
    let key = loaded
        .directory
        .ledgers
        .iter()
        .filter_map(|l| l.member(member))
        .flat_map(|m| m.keys.iter())
        .find(|k| k.id.hex() == bundle.key_id)
        .ok_or_else(|| format!("`{member}` has no key {} in the directory", bundle.key_id))?;
    let recovered = veilgate_core::keys::RecoveredKey::new(member, key, &secret)?;
    let dir = data.join("institutions").join(member).join("keys");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.recovered.json", bundle.key_id));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    {
        use std::io::Write as _;
        let mut f = opts
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        f.write_all(recovered.to_json().as_bytes())?;
        f.sync_all()?;
    }
    let used: Vec<String> = rel
        .iter()
        .map(|r| format!("{} ({})", r.index, r.custodian))
        .collect();
    store.audit(
        veilgate_server::clock::now_ms(),
        veilgate_server::audit::AuditEvent {
            actor: member.to_owned(),
            action: veilgate_server::audit::Action::KeyRecover,
            ledger: None,
            envelope_id: None,
            detail: Some(format!("{} from shares {}", bundle.key_id, used.join(", "))),
        },
    )?;
    Ok(serde_json::json!({
        "member": member,
        "key_id": bundle.key_id,
        "shares": used,
        "written": path,
    }))
}
