//! Keys in a PKCS#11 token (`[keys] backend = "pkcs11"`): Ed25519 signing
//! (`CKM_EDDSA`) and a DHKEM(P-256) unwrapping key (`CKM_ECDH1_DERIVE`),
//! generated inside the token, sensitive and never extractable. Objects are
//! labelled `<prefix><member>/sign/<key id>` and `<prefix><member>/kem/<key id>`.
//!
//! X25519 is not offered: PKCS#11 3.0's Montgomery mechanisms are missing
//! from SoftHSM 2.6 and many HSMs; P-256 ECDH is everywhere. SM2 has no
//! standard PKCS#11 mechanism at all (docs/keys.md, "Keys in a token").

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use veilgate_core::{EnvelopeSigner, KemAlg, KeyId, KeyUseError, MemberKey, SuiteId};
use veilgate_hsm::{Custody, HsmError, KeyHandle, Mech, Token, TokenConfig};
use zeroize::Zeroizing;

use super::{Backend, HeldKey, Keyring};
use crate::boot::KeysConfig;

/// The token this gateway's keys are in, opened and logged in once.
pub struct TokenStore {
    token: Token,
    prefix: String,
}

impl TokenStore {
    /// Opens the token `[keys.pkcs11]` names, with the PIN from its
    /// environment variable or file, and checks it has the mechanisms the
    /// `standard` suite's keys need. Errors name the module, token, variable
    /// or file, and never carry the PIN.
    pub fn open(cfg: &KeysConfig, data_dir: &Path) -> Result<TokenStore, String> {
        let Some(p) = &cfg.pkcs11 else {
            return Err(
                "veilgate.toml: `[keys] backend = \"pkcs11\"` needs a `[keys.pkcs11]` section (module, token_label, pin_env or pin_file)"
                    .into(),
            );
        };
        if p.pin.is_some() {
            return Err("veilgate.toml: `[keys.pkcs11] pin` is refused: the PIN comes from `pin_env` or `pin_file`, never from veilgate.toml".into());
        }
        let pin = read_pin(p.pin_env.as_deref(), p.pin_file.as_deref(), data_dir)?;
        let token = Token::open(
            &TokenConfig {
                module: p.module.clone().into(),
                token_label: p.token_label.clone(),
                label_prefix: p.label_prefix.clone(),
            },
            cryptoki::types::AuthPin::new(pin.as_str().into()),
        )
        .map_err(|e| e.to_string())?;
        for (mech, name, why) in [
            (Mech::Eddsa, "CKM_EDDSA", "Ed25519 signing"),
            (
                Mech::Ecdh1Derive,
                "CKM_ECDH1_DERIVE",
                "P-256 key unwrapping",
            ),
        ] {
            if !token.has_mechanism(mech).map_err(|e| e.to_string())? {
                return Err(format!(
                    "token `{}` lacks {name}, which {why} needs; no key file is used instead",
                    p.token_label
                ));
            }
        }
        Ok(TokenStore {
            token,
            prefix: p.label_prefix.clone(),
        })
    }

    pub fn label(&self) -> &str {
        self.token.label()
    }

    fn label_of(&self, member: &str, part: &str, key: &KeyId) -> String {
        format!("{}{member}/{part}/{key}", self.prefix)
    }

    /// Makes a new key version for `member` inside the token: an Ed25519
    /// signing key and a P-256 unwrapping key, labelled by the key id their
    /// public halves give. Returns the public key version (for the directory).
    pub fn generate(&self, member: &str) -> Result<MemberKey, String> {
        let nonce = format!("{}", crate::clock::now_ms());
        let tmp_sign = format!("{}{member}/new-sign-{nonce}", self.prefix);
        let tmp_kem = format!("{}{member}/new-kem-{nonce}", self.prefix);
        let err = |e: HsmError| e.to_string();
        let sign_public = self
            .token
            .generate_ed25519(&tmp_sign, member.as_bytes())
            .map_err(err)?;
        let kem_public = self
            .token
            .generate_p256(&tmp_kem, member.as_bytes())
            .map_err(err)?;
        let key = MemberKey::new(
            SuiteId::Standard,
            KemAlg::P256,
            sign_public.to_vec(),
            kem_public,
            None,
        );
        self.token
            .relabel(&tmp_sign, &self.label_of(member, "sign", &key.id))
            .map_err(err)?;
        self.token
            .relabel(&tmp_kem, &self.label_of(member, "kem", &key.id))
            .map_err(err)?;
        Ok(key)
    }
}

impl TokenStore {
    /// Destroys a key version's objects (the bench's own keys, after it).
    pub fn destroy(&self, member: &str, key: &KeyId) -> Result<(), String> {
        for part in ["sign", "kem"] {
            self.token
                .destroy(&self.label_of(member, part, key))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// A new key version made in the token (as [`TokenStore::generate`]),
    /// loaded and self-tested, ready to sign and unwrap.
    pub fn generate_and_load(self: &Arc<Self>, member: &str) -> Result<TokenKey, String> {
        let key = self.generate(member)?;
        let err = |e: HsmError| e.to_string();
        let held = TokenKey {
            store: self.clone(),
            member: member.to_owned(),
            sign: self
                .token
                .private_key(&self.label_of(member, "sign", &key.id))
                .map_err(err)?,
            kem: self
                .token
                .private_key(&self.label_of(member, "kem", &key.id))
                .map_err(err)?,
            key,
        };
        held.self_test()?;
        Ok(held)
    }
}

/// The keys of `member` in the token, each checked: both halves present,
/// sensitive and not extractable, public keys giving the id in their label,
/// and a signature made by the token verifying under the public key.
pub fn token_keyrings(
    store: &Arc<TokenStore>,
    member: &str,
) -> Result<BTreeMap<SuiteId, Keyring>, String> {
    let token = &store.token;
    let err = |e: HsmError| e.to_string();
    let prefix = format!("{}{member}/sign/", store.prefix);
    let mut held = Vec::new();
    for label in token.private_labels(&prefix).map_err(err)? {
        let hex = label.get(prefix.len()..).unwrap_or_default();
        let id = KeyId::from_hex(hex).ok_or_else(|| {
            format!(
                "token `{}`: `{label}` is not named `{prefix}<32 hex digits of a key id>`",
                token.label()
            )
        })?;
        let kem_label = store.label_of(member, "kem", &id);
        let sign = token.private_key(&label).map_err(err)?;
        let kem = token.private_key(&kem_label).map_err(err)?;
        for (l, h) in [(&label, sign), (&kem_label, kem)] {
            let c = token.custody(h).map_err(err)?;
            if !c.sensitive || c.extractable {
                return Err(format!(
                    "token `{}`: key `{l}` can leave the token (CKA_SENSITIVE={}, CKA_EXTRACTABLE={}); Veilgate holds only keys that cannot",
                    token.label(),
                    c.sensitive,
                    c.extractable
                ));
            }
        }
        let sign_public = token.public_key(&label).map_err(err)?;
        let kem_public = token.public_key(&kem_label).map_err(err)?;
        let key = MemberKey::new(
            SuiteId::Standard,
            KemAlg::P256,
            sign_public,
            kem_public,
            None,
        );
        if key.id != id {
            return Err(format!(
                "token `{}`: the public keys labelled `{label}` and `{kem_label}` are key {}, not {id}",
                token.label(),
                key.id
            ));
        }
        let held_key = TokenKey {
            store: store.clone(),
            member: member.to_owned(),
            key,
            sign,
            kem,
        };
        held_key.self_test()?;
        held.push(HeldKey::Token(held_key));
    }
    let mut rings = BTreeMap::new();
    if !held.is_empty() {
        rings.insert(
            SuiteId::Standard,
            Keyring::new(member, SuiteId::Standard, Backend::Pkcs11, held),
        );
    }
    Ok(rings)
}

/// One key version in the token: handles to its private halves.
#[derive(Clone)]
pub struct TokenKey {
    store: Arc<TokenStore>,
    member: String,
    key: MemberKey,
    sign: KeyHandle,
    kem: KeyHandle,
}

impl TokenKey {
    pub fn key(&self) -> &MemberKey {
        &self.key
    }

    /// The PKCS#11 attributes of its signing and unwrapping halves.
    pub fn custody(&self) -> Result<(Custody, Custody), String> {
        let t = &self.store.token;
        Ok((
            t.custody(self.sign).map_err(|e| e.to_string())?,
            t.custody(self.kem).map_err(|e| e.to_string())?,
        ))
    }

    /// `Z = x(sk · enc)` inside the token; `enc` is checked to be a P-256
    /// point first (a token's answer to an invalid point varies).
    pub fn dh(&self, enc: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyUseError> {
        if !KemAlg::P256.is_public_key(enc) {
            return Err(KeyUseError::BadPoint);
        }
        self.store
            .token
            .ecdh_p256(self.kem, enc)
            .map_err(|e| KeyUseError::Device(e.to_string()))
    }

    /// The token signs a fixed message that the directory's public key must
    /// verify, and derives with the KEM key what software derives with its
    /// public key: the objects are the keys they are labelled as.
    fn self_test(&self) -> Result<(), String> {
        let suite = SuiteId::Standard.suite();
        let message = format!("veilgate/key-self-test/v1 {} {}", self.member, self.key.id);
        let sig = EnvelopeSigner::sign(self, message.as_bytes()).map_err(|e| e.to_string())?;
        let label = self.store.token.label();
        if suite
            .verify_signature(&self.key.sign_public, "", message.as_bytes(), &sig)
            .is_err()
        {
            return Err(format!(
                "token `{label}`: key {} of `{}` signs what its public key does not verify",
                self.key.id, self.member
            ));
        }
        let eph = p256::SecretKey::random(&mut rand_core::OsRng);
        let eph_public = {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            eph.public_key().to_encoded_point(false).as_bytes().to_vec()
        };
        let want = veilgate_core::keys::software_dh(
            KemAlg::P256,
            eph.to_bytes().as_slice(),
            &self.key.kem_public,
        );
        let got = self.dh(&eph_public).map_err(|e| e.to_string())?;
        if want.as_deref() != Some(&*got) {
            return Err(format!(
                "token `{label}`: the unwrapping key {} of `{}` does not match its public key",
                self.key.id, self.member
            ));
        }
        Ok(())
    }
}

impl EnvelopeSigner for TokenKey {
    fn institution(&self) -> &str {
        &self.member
    }
    fn suite(&self) -> SuiteId {
        SuiteId::Standard
    }
    fn key_id(&self) -> KeyId {
        self.key.id
    }
    fn signer_id(&self) -> &str {
        veilgate_core::suite::sm::DEFAULT_DISTID
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyUseError> {
        self.store
            .token
            .sign_ed25519(self.sign, message)
            .map(|s| s.to_vec())
            .map_err(|e| KeyUseError::Device(e.to_string()))
    }
}

/// The PIN, from the environment variable or the file (exactly one named).
/// The file must not be readable by group or others, as a key file.
fn read_pin(
    env: Option<&str>,
    file: Option<&str>,
    data_dir: &Path,
) -> Result<Zeroizing<String>, String> {
    match (env, file) {
        (Some(var), None) => std::env::var(var).map(Zeroizing::new).map_err(|_| {
            format!("`[keys.pkcs11] pin_env`: the environment variable `{var}` is not set (it holds the token's user PIN)")
        }),
        (None, Some(f)) => {
            let path = data_dir.join(f);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path)
                    .map_err(|e| format!("{}: cannot read the PIN file: {e}", path.display()))?
                    .permissions()
                    .mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "{}: the PIN file is readable by group or others (mode {:o}); chmod 600 it",
                        path.display(),
                        mode & 0o777
                    ));
                }
            }
            let text = Zeroizing::new(
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: cannot read the PIN file: {e}", path.display()))?,
            );
            Ok(Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned()))
        }
        _ => Err("`[keys.pkcs11]` needs exactly one of `pin_env` and `pin_file`".into()),
    }
}
