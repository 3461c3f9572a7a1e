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
                if let HeldKey::Token(t) = held {
                    let (sign, kem) = t.custody()?;
                    entry["custody"] = serde_json::json!({
                        "sign": custody_json(&sign),
                        "kem": custody_json(&kem),
                    });
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
