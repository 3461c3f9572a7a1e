//! One logged-in PKCS#11 token and the operations Veilgate runs on it.
//!
//! The module is initialised once per [`Token`] and finalised when it is
//! dropped; PKCS#11 allows one initialisation per process, so a process
//! holds at most one `Token` per module and shares it (`Arc<Token>`).
//! Login is per application: one session logged in stays open for the
//! `Token`'s life, and every other session, opened on demand into a pool,
//! shares that login.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};

use zeroize::Zeroizing;

use crate::error::{classify, session_is_broken};
use crate::point::{decode_ec_point, Curve, ED25519_PARAMS, P256_PARAMS, P256_POINT_LEN};
use crate::{Custody, HsmError, KeyHandle, Mech, TokenConfig};

const PRIVATE_KEY: &str = "private key";
const PUBLIC_KEY: &str = "public key";
const KEY_PAIR: &str = "key pair";

/// A logged-in token. `Send + Sync`: share it between threads with `Arc`.
pub struct Token {
    // Field order is drop order: sessions close before the module is
    // finalised.
    /// Idle sessions, all read-write; taken for one operation, then returned.
    pool: Mutex<Vec<Session>>,
    /// The session that logged in. Never used for operations (an operation
    /// error may close a pooled session), so the login lasts.
    _login: Mutex<Session>,
    /// Held while token objects are made, renamed or destroyed: SoftHSM
    /// 2.6 answers CKR_GENERAL_ERROR to key pairs generated on several
    /// sessions at once (seen in this crate's parallel tests).
    objects: Mutex<()>,
    slot: Slot,
    label: String,
    prefix: String,
    module: Module,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module.path)
            .field("label", &self.label)
            .field("label_prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The loaded, initialised module; `C_Finalize` on drop, so a failed
/// [`Token::open`] or a dropped `Token` leaves the process as it found it.
struct Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl Drop for Module {
    fn drop(&mut self) {
        // Nothing to do about a failure here: the process is letting go.
        let _ = self.ctx.clone().finalize();
    }
}

impl Module {
    fn load(path: &Path) -> Result<Module, HsmError> {
        let ctx = Pkcs11::new(path).map_err(|e| HsmError::Module {
            module: path.to_owned(),
            why: match e {
                Error::LibraryLoading(inner) => inner.to_string(),
                Error::MissingSymbol(name) => format!("not a PKCS#11 module: it has no {name}"),
                other => other.to_string(),
            },
        })?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) => Ok(Module {
                ctx,
                path: path.to_owned(),
            }),
            // Not ours to finalise: whoever initialised it still uses it.
            Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {
                Err(HsmError::ModuleInUse {
                    module: path.to_owned(),
                })
            }
            Err(e) => Err(HsmError::Module {
                module: path.to_owned(),
                why: match &e {
                    Error::Pkcs11(rv, f) => format!(
                        "{}: {}",
                        crate::names::function_name(*f),
                        crate::names::rv_name(*rv)
                    ),
                    other => other.to_string(),
                },
            }),
        }
    }

    /// The one initialised token labelled `label` (trimmed).
    fn find_token(&self, label: &str) -> Result<Slot, HsmError> {
        let on_module = |e: Error| HsmError::Module {
            module: self.path.clone(),
            why: match &e {
                Error::Pkcs11(rv, f) => format!(
                    "{}: {}",
                    crate::names::function_name(*f),
                    crate::names::rv_name(*rv)
                ),
                other => other.to_string(),
            },
        };
        let wanted = label.trim();
        let mut present = Vec::new();
        let mut matches = Vec::new();
        for slot in self.ctx.get_slots_with_token().map_err(on_module)? {
            let info = self.ctx.get_token_info(slot).map_err(on_module)?;
            // SoftHSM always offers one empty, uninitialised token.
            if !info.token_initialized() {
                continue;
            }
            let have = info.label().trim();
            if have == wanted {
                matches.push(slot);
            }
            present.push(have.to_owned());
        }
        match matches.as_slice() {
            [slot] => Ok(*slot),
            [] => {
                present.sort();
                Err(HsmError::NoToken {
                    label: wanted.to_owned(),
                    present,
                })
            }
            _ => Err(HsmError::AmbiguousToken {
                label: wanted.to_owned(),
                count: matches.len(),
            }),
        }
    }
}

/// A session taken from the pool; back into it on drop unless an error
/// said it is broken (closing it then also destroys its session objects).
struct Lease<'t> {
    token: &'t Token,
    session: Option<Session>,
    broken: std::cell::Cell<bool>,
}

impl Lease<'_> {
    fn session(&self) -> Result<&Session, HsmError> {
        self.session.as_ref().ok_or_else(|| HsmError::Bindings {
            token: self.token.label.clone(),
            key: None,
            why: "session already returned".to_owned(),
        })
    }

    /// Maps a cryptoki result, noting whether the session is still usable.
    fn ck<T>(
        &self,
        r: cryptoki::error::Result<T>,
        key: Option<&str>,
        mech: Option<Mech>,
    ) -> Result<T, HsmError> {
        r.map_err(|e| {
            if session_is_broken(&e) {
                self.broken.set(true);
            }
            classify(&self.token.label, key, mech, &e)
        })
    }

    fn find(&self, class: Option<ObjectClass>, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        let mut template = vec![Attribute::Label(label.as_bytes().to_vec())];
        if let Some(class) = class {
            template.push(Attribute::Class(class));
        }
        let s = self.session()?;
        self.ck(s.find_objects(&template), Some(label), None)
    }

    /// Exactly one object of `class` labelled `label`.
    fn find_one(
        &self,
        class: ObjectClass,
        label: &str,
        object: &'static str,
    ) -> Result<ObjectHandle, HsmError> {
        match self.find(Some(class), label)?.as_slice() {
            [one] => Ok(*one),
            [] => Err(HsmError::NoKey {
                token: self.token.label.clone(),
                label: label.to_owned(),
                object,
            }),
            many => Err(HsmError::Ambiguous {
                token: self.token.label.clone(),
                label: label.to_owned(),
                count: many.len(),
                object,
            }),
        }
    }

    fn attributes(
        &self,
        object: ObjectHandle,
        types: &[AttributeType],
        key: Option<&str>,
    ) -> Result<Vec<Attribute>, HsmError> {
        let s = self.session()?;
        self.ck(s.get_attributes(object, types), key, None)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            if !self.broken.get() {
                self.token.idle().push(session);
            }
        }
    }
}

impl Token {
    /// Loads the module, initialises it (OS locking), finds exactly one token
    /// whose label (trimmed) is `token_label`, opens a read-write session and
    /// logs in as the user with `pin`.
    ///
    /// Every failure finalises the module again. A second `open` of the same
    /// module in one process, while a `Token` lives, is
    /// [`HsmError::ModuleInUse`].
    pub fn open(cfg: &TokenConfig, pin: AuthPin) -> Result<Token, HsmError> {
        let module = Module::load(&cfg.module)?;
        let slot = module.find_token(&cfg.token_label)?;
        let label = cfg.token_label.trim().to_owned();
        let on_token = |e: Error| classify(&label, None, None, &e);

        let info = module.ctx.get_token_info(slot).map_err(on_token)?;
        // SoftHSM never locks the user PIN (design note §0); real HSMs do.
        if info.user_pin_locked() {
            return Err(HsmError::PinLocked { token: label });
        }
        if !info.user_pin_initialized() {
            return Err(HsmError::PinNotInitialized { token: label });
        }
        let session = module.ctx.open_rw_session(slot).map_err(on_token)?;
        session
            .login(UserType::User, Some(&pin))
            .map_err(on_token)?;
        drop(pin);

        Ok(Token {
            pool: Mutex::new(Vec::new()),
            _login: Mutex::new(session),
            objects: Mutex::new(()),
            slot,
            label,
            prefix: cfg.label_prefix.clone(),
            module,
        })
    }

    /// The token's label, as configured (trimmed).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The prefix every object this `Token` creates, renames or destroys
    /// must carry.
    pub fn label_prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the token lists the mechanism (start-up checks).
    pub fn has_mechanism(&self, m: Mech) -> Result<bool, HsmError> {
        let list = self
            .module
            .ctx
            .get_mechanism_list(self.slot)
            .map_err(|e| classify(&self.label, None, None, &e))?;
        Ok(list.contains(&m.mechanism_type()))
    }

    /// Generates an Ed25519 signing key pair inside the token
    /// (`CKM_EC_EDWARDS_KEY_PAIR_GEN`); the private half is sensitive and
    /// never extractable. Returns the 32-byte public key.
    pub fn generate_ed25519(&self, label: &str, id: &[u8]) -> Result<[u8; 32], HsmError> {
        let public = self.generate(Curve::Ed25519, label, id)?;
        <[u8; 32]>::try_from(public.as_slice())
            .map_err(|_| self.malformed(label, "Ed25519 public key is not 32 bytes"))
    }

    /// Generates a P-256 key-agreement key pair inside the token
    /// (`CKM_EC_KEY_PAIR_GEN`); the private half derives, never signs, and is
    /// sensitive and never extractable. Returns the 65-byte uncompressed
    /// public point `04 ‖ x ‖ y`.
    pub fn generate_p256(&self, label: &str, id: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.generate(Curve::P256, label, id)
    }

    /// Renames a key pair (its private and public objects) from `from` to
    /// `to`: a caller generates under a temporary label, then names the pair
    /// by the key id it computes from the public keys. Refused when `to` is
    /// taken, or either label is outside the prefix.
    pub fn relabel(&self, from: &str, to: &str) -> Result<(), HsmError> {
        self.check_prefix(from)?;
        self.check_prefix(to)?;
        let _objects = self
            .objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.with_session(|lease| {
            let private = lease.find_one(ObjectClass::PRIVATE_KEY, from, PRIVATE_KEY)?;
            let public = lease.find_one(ObjectClass::PUBLIC_KEY, from, PUBLIC_KEY)?;
            if from == to {
                return Ok(());
            }
            if !lease.find(None, to)?.is_empty() {
                return Err(self.label_taken(to));
            }
            // A pair is one generation: both halves carry its CKA_ID.
            let id_of = |object| -> Result<Option<Vec<u8>>, HsmError> {
                let attrs = lease.attributes(object, &[AttributeType::Id], Some(from))?;
                Ok(attrs.into_iter().find_map(|a| match a {
                    Attribute::Id(id) => Some(id),
                    _ => None,
                }))
            };
            if id_of(private)? != id_of(public)? {
                return Err(self.malformed(
                    from,
                    "the private and public objects carry different CKA_ID values; not one key pair",
                ));
            }
            let s = lease.session()?;
            let new_label = [Attribute::Label(to.as_bytes().to_vec())];
            lease.ck(s.update_attributes(private, &new_label), Some(from), None)?;
            if let Err(e) = lease.ck(s.update_attributes(public, &new_label), Some(from), None) {
                // Put the private half back so the pair stays together.
                let _ = s.update_attributes(private, &[Attribute::Label(from.as_bytes().to_vec())]);
                return Err(e);
            }
            Ok(())
        })
    }

    /// The private key object with exactly this label: none is
    /// [`HsmError::NoKey`], several [`HsmError::Ambiguous`].
    pub fn private_key(&self, label: &str) -> Result<KeyHandle, HsmError> {
        self.with_session(|lease| lease.find_one(ObjectClass::PRIVATE_KEY, label, PRIVATE_KEY))
            .map(KeyHandle)
    }

    /// The public key bytes of the one public object with this label:
    /// 32 bytes for Ed25519, the 65-byte uncompressed point for P-256.
    pub fn public_key(&self, label: &str) -> Result<Vec<u8>, HsmError> {
        self.with_session(|lease| {
            let public = lease.find_one(ObjectClass::PUBLIC_KEY, label, PUBLIC_KEY)?;
            self.read_public(lease, public, label).map(|(_, key)| key)
        })
    }

    /// Labels of the private key objects whose label starts with `prefix`,
    /// sorted. A label held by several objects appears as often (so a
    /// caller sees ambiguity); labels that are not UTF-8 are left out.
    pub fn private_labels(&self, prefix: &str) -> Result<Vec<String>, HsmError> {
        self.with_session(|lease| {
            let s = lease.session()?;
            let all = lease.ck(
                s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)]),
                None,
                None,
            )?;
            let mut labels = Vec::new();
            for object in all {
                for attr in lease.attributes(object, &[AttributeType::Label], None)? {
                    if let Attribute::Label(bytes) = attr {
                        if let Ok(label) = String::from_utf8(bytes) {
                            if label.starts_with(prefix) {
                                labels.push(label);
                            }
                        }
                    }
                }
            }
            labels.sort();
            Ok(labels)
        })
    }

    /// A pure Ed25519 signature (`CKM_EDDSA`, no parameters): 64 bytes,
    /// byte-identical to RFC 8032 and ed25519-dalek.
    pub fn sign_ed25519(&self, key: KeyHandle, message: &[u8]) -> Result<[u8; 64], HsmError> {
        self.with_session(|lease| {
            let s = lease.session()?;
            let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
            let sig = lease.ck(s.sign(&mechanism, key.0, message), None, Some(Mech::Eddsa))?;
            let len = sig.len();
            <[u8; 64]>::try_from(sig.as_slice()).map_err(|_| HsmError::Malformed {
                token: self.label.clone(),
                key: None,
                what: format!("C_Sign with CKM_EDDSA returned {len} bytes, not 64"),
            })
        })
    }

    /// ECDH on P-256 with `CKM_ECDH1_DERIVE` and the null KDF: the shared
    /// x-coordinate with `peer` (a 65-byte uncompressed point the caller has
    /// validated). The secret passes through a session object that is
    /// destroyed at once, on error too.
    pub fn ecdh_p256(&self, key: KeyHandle, peer: &[u8]) -> Result<Zeroizing<[u8; 32]>, HsmError> {
        if peer.len() != P256_POINT_LEN || peer.first() != Some(&0x04) {
            return Err(HsmError::Input {
                token: self.label.clone(),
                what: format!(
                    "the peer's P-256 point must be 65 bytes `04 ‖ x ‖ y`; got {} bytes",
                    peer.len()
                ),
            });
        }
        self.with_session(|lease| {
            let s = lease.session()?;
            let mechanism = Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer));
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(false),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
                Attribute::ValueLen(Ulong::from(32)),
            ];
            let derived = lease.ck(
                s.derive_key(&mechanism, key.0, &template),
                None,
                Some(Mech::Ecdh1Derive),
            )?;
            let read = lease.ck(
                s.get_attributes(derived, &[AttributeType::Value]),
                None,
                None,
            );
            if s.destroy_object(derived).is_err() {
                // Closing the session destroys its session objects.
                lease.broken.set(true);
            }
            let mut value = None;
            for attr in read? {
                if let Attribute::Value(bytes) = attr {
                    value = Some(Zeroizing::new(bytes));
                }
            }
            let value = value.ok_or_else(|| HsmError::Malformed {
                token: self.label.clone(),
                key: None,
                what: "the derived ECDH secret has no readable CKA_VALUE".to_owned(),
            })?;
            let mut z = Zeroizing::new([0u8; 32]);
            if value.len() != z.len() {
                return Err(HsmError::Malformed {
                    token: self.label.clone(),
                    key: None,
                    what: format!("the derived ECDH secret is {} bytes, not 32", value.len()),
                });
            }
            z.copy_from_slice(&value);
            Ok(z)
        })
    }

    /// What an auditor checks of a private key: `CKA_SENSITIVE`,
    /// `CKA_EXTRACTABLE`, `CKA_NEVER_EXTRACTABLE`, `CKA_ALWAYS_SENSITIVE`,
    /// `CKA_LOCAL`.
    pub fn custody(&self, key: KeyHandle) -> Result<Custody, HsmError> {
        self.with_session(|lease| {
            let attrs = lease.attributes(
                key.0,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::Local,
                ],
                None,
            )?;
            let (
                mut sensitive,
                mut extractable,
                mut never_extractable,
                mut always_sensitive,
                mut local,
            ) = (None, None, None, None, None);
            for attr in attrs {
                match attr {
                    Attribute::Sensitive(b) => sensitive = Some(b),
                    Attribute::Extractable(b) => extractable = Some(b),
                    Attribute::NeverExtractable(b) => never_extractable = Some(b),
                    Attribute::AlwaysSensitive(b) => always_sensitive = Some(b),
                    Attribute::Local(b) => local = Some(b),
                    _ => {}
                }
            }
            let need = |v: Option<bool>, name: &str| {
                v.ok_or_else(|| HsmError::Malformed {
                    token: self.label.clone(),
                    key: None,
                    what: format!("the key does not report {name}"),
                })
            };
            Ok(Custody {
                sensitive: need(sensitive, "CKA_SENSITIVE")?,
                extractable: need(extractable, "CKA_EXTRACTABLE")?,
                never_extractable: need(never_extractable, "CKA_NEVER_EXTRACTABLE")?,
                always_sensitive: need(always_sensitive, "CKA_ALWAYS_SENSITIVE")?,
                local: need(local, "CKA_LOCAL")?,
            })
        })
    }

    /// Destroys the key pair with this label: its private and its public
    /// object, whichever exist. Refused when either is ambiguous, or the
    /// label is outside the prefix.
    pub fn destroy(&self, label: &str) -> Result<(), HsmError> {
        self.check_prefix(label)?;
        let _objects = self
            .objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.with_session(|lease| {
            let private = lease.find(Some(ObjectClass::PRIVATE_KEY), label)?;
            let public = lease.find(Some(ObjectClass::PUBLIC_KEY), label)?;
            for (found, object) in [(&private, PRIVATE_KEY), (&public, PUBLIC_KEY)] {
                if found.len() > 1 {
                    return Err(HsmError::Ambiguous {
                        token: self.label.clone(),
                        label: label.to_owned(),
                        count: found.len(),
                        object,
                    });
                }
            }
            if private.is_empty() && public.is_empty() {
                return Err(HsmError::NoKey {
                    token: self.label.clone(),
                    label: label.to_owned(),
                    object: KEY_PAIR,
                });
            }
            let s = lease.session()?;
            for object in private.into_iter().chain(public) {
                lease.ck(s.destroy_object(object), Some(label), None)?;
            }
            Ok(())
        })
    }

    // --- private ---

    fn idle(&self) -> MutexGuard<'_, Vec<Session>> {
        // The vector is consistent whatever a panicking holder was doing.
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on a pooled session (a new one when none is idle; it shares
    /// the application's login).
    fn with_session<T>(
        &self,
        f: impl FnOnce(&Lease<'_>) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let idle = self.idle().pop();
        let session = match idle {
            Some(s) => s,
            None => self
                .module
                .ctx
                .open_rw_session(self.slot)
                .map_err(|e| classify(&self.label, None, None, &e))?,
        };
        let lease = Lease {
            token: self,
            session: Some(session),
            broken: std::cell::Cell::new(false),
        };
        f(&lease)
    }

    fn generate(&self, curve: Curve, label: &str, id: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.check_prefix(label)?;
        let _objects = self
            .objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mechanism, mech, params, sign, derive) = match curve {
            Curve::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                Mech::EdwardsKeyGen,
                ED25519_PARAMS,
                true,
                false,
            ),
            Curve::P256 => (
                Mechanism::EccKeyPairGen,
                Mech::EcKeyGen,
                P256_PARAMS,
                false,
                true,
            ),
        };
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::EcParams(params.to_vec()),
            Attribute::Verify(sign),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(sign),
            Attribute::Derive(derive),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        self.with_session(|lease| {
            if !lease.find(None, label)?.is_empty() {
                return Err(self.label_taken(label));
            }
            let s = lease.session()?;
            let (public, private) = lease.ck(
                s.generate_key_pair(&mechanism, &public_template, &private_template),
                Some(label),
                Some(mech),
            )?;
            let read = self
                .read_public(lease, public, label)
                .and_then(|(got, key)| {
                    if got == curve {
                        Ok(key)
                    } else {
                        Err(self.malformed(
                            label,
                            &format!("asked for a {curve:?} key, the token made a {got:?} key"),
                        ))
                    }
                });
            if read.is_err() {
                // No half-made pair left behind under the label.
                let _ = s.destroy_object(public);
                let _ = s.destroy_object(private);
            }
            read
        })
    }

    /// The curve and `CKA_EC_POINT` of a public key object, unwrapped by its key type.
    fn read_public(
        &self,
        lease: &Lease<'_>,
        public: ObjectHandle,
        label: &str,
    ) -> Result<(Curve, Vec<u8>), HsmError> {
        let attrs = lease.attributes(
            public,
            &[AttributeType::KeyType, AttributeType::EcPoint],
            Some(label),
        )?;
        let (mut key_type, mut point) = (None, None);
        for attr in attrs {
            match attr {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let curve = match key_type {
            Some(t) if t == KeyType::EC_EDWARDS => Curve::Ed25519,
            Some(t) if t == KeyType::EC => Curve::P256,
            Some(t) => {
                return Err(
                    self.malformed(label, &format!("key type {t} is neither Ed25519 nor P-256"))
                )
            }
            None => {
                return Err(self.malformed(label, "the public key does not report CKA_KEY_TYPE"))
            }
        };
        let point = point
            .ok_or_else(|| self.malformed(label, "the public key does not report CKA_EC_POINT"))?;
        let key = decode_ec_point(curve, &point).map_err(|what| self.malformed(label, &what))?;
        Ok((curve, key))
    }

    fn check_prefix(&self, label: &str) -> Result<(), HsmError> {
        if label.starts_with(&self.prefix) {
            Ok(())
        } else {
            Err(HsmError::OutsidePrefix {
                token: self.label.clone(),
                label: label.to_owned(),
                prefix: self.prefix.clone(),
            })
        }
    }

    fn label_taken(&self, label: &str) -> HsmError {
        HsmError::LabelTaken {
            token: self.label.clone(),
            label: label.to_owned(),
        }
    }

    fn malformed(&self, label: &str, what: &str) -> HsmError {
        HsmError::Malformed {
            token: self.label.clone(),
            key: Some(label.to_owned()),
            what: what.to_owned(),
        }
    }
}

// Sessions are `Send` but not `Sync`; the pool's mutex is what makes a
// `Token` shareable. Checked here so a cryptoki upgrade cannot silently
// change it.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Token>();
};
