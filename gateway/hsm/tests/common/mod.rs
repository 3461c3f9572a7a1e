//! The SoftHSM token the tests run against, from the environment `.ci/run`
//! prepares (see the crate README):
//!
//! - `SOFTHSM2_CONF`: read by SoftHSM itself, pointing at the token directory;
//! - `VEILGATE_PKCS11_MODULE`: the module (default `/usr/lib/softhsm/libsofthsm2.so`);
//! - `VEILGATE_TEST_TOKEN`: the label of an initialised token;
//! - `VEILGATE_TEST_PIN`: its user PIN.
//!
//! Without `VEILGATE_TEST_TOKEN` a test prints why and passes, unless `CI`
//! is set: then the missing token is a failure, never a silent skip.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use veilgate_hsm::TokenConfig;

/// Every object the tests make lives under this prefix.
pub const PREFIX: &str = "veilgate-test/";

pub struct Env {
    pub module: PathBuf,
    pub token: String,
    pub pin: String,
}

impl Env {
    pub fn config(&self) -> TokenConfig {
        TokenConfig {
            module: self.module.clone(),
            token_label: self.token.clone(),
            label_prefix: PREFIX.to_owned(),
        }
    }

    pub fn pin(&self) -> AuthPin {
        AuthPin::from(self.pin.as_str())
    }

    /// Runs `f` with a cryptoki context of its own, initialised and then
    /// finalised: for setting up what the crate under test refuses to make
    /// (duplicate labels, a token without a user PIN). Only while no
    /// `Token` is open in the process.
    pub fn raw<T>(&self, f: impl FnOnce(&Pkcs11) -> T) -> T {
        let ctx = Pkcs11::new(&self.module).unwrap();
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        let out = f(&ctx);
        ctx.finalize().unwrap();
        out
    }

    /// Like [`Env::raw`], in a read-write session logged in to the test token.
    pub fn raw_session<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        self.raw(|ctx| {
            let slot = ctx
                .get_slots_with_token()
                .unwrap()
                .into_iter()
                .find(|s| ctx.get_token_info(*s).unwrap().label().trim() == self.token)
                .unwrap();
            let session = ctx.open_rw_session(slot).unwrap();
            session.login(UserType::User, Some(&self.pin())).unwrap();
            f(&session)
        })
    }
}

/// The environment, or `None` (after saying why) when the token is not
/// prepared and this is not CI.
pub fn env() -> Option<Env> {
    let Ok(token) = std::env::var("VEILGATE_TEST_TOKEN") else {
        if std::env::var_os("CI").is_some() {
            panic!("SoftHSM token not prepared: run .ci/run");
        }
        println!(
            "skipped: VEILGATE_TEST_TOKEN is unset (install softhsm2 and run .ci/run, \
             or see gateway/hsm/README.md)"
        );
        return None;
    };
    let pin = std::env::var("VEILGATE_TEST_PIN")
        .expect("VEILGATE_TEST_TOKEN is set but VEILGATE_TEST_PIN is not");
    let module = std::env::var_os("VEILGATE_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
    Some(Env { module, token, pin })
}

/// A label no other test, process or earlier run uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{PREFIX}{name}-{}-{nanos:08x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
