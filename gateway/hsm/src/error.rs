//! The one error type of this crate, and the pure mapping from cryptoki's.
//!
//! A message names the module path or the token label, the key label where
//! there is one, and the PKCS#11 function with its return value by their
//! PKCS#11 names (`C_Login: CKR_PIN_INCORRECT`). It never carries the PIN,
//! key bytes or a derived secret: none of them is ever passed in here.

use std::fmt;
use std::path::PathBuf;

use cryptoki::error::{Error, RvError};

use crate::names::{function_name, rv_name};
use crate::Mech;

/// What went wrong with a PKCS#11 module, token or key.
///
/// Grouped by who can fix it: the operator's configuration (module, token,
/// PIN), the token's contents (keys), the token itself (mechanisms, device).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    // --- configuration: the module and the token ---
    /// The module could not be loaded or initialised.
    #[error("`{}`: cannot load the PKCS#11 module: {why}", module.display())]
    Module { module: PathBuf, why: String },
    /// `C_Initialize` said the module is already initialised in this
    /// process: one [`Token`](crate::Token) per module and process.
    #[error(
        "`{}`: the PKCS#11 module is already initialised in this process \
         (CKR_CRYPTOKI_ALREADY_INITIALIZED); open one token per module and share it",
        module.display()
    )]
    ModuleInUse { module: PathBuf },
    /// No initialised token carries the label.
    #[error("no token labelled `{label}` ({})", present_list(.present))]
    NoToken { label: String, present: Vec<String> },
    /// Several tokens carry the label: which one is meant is unknowable.
    #[error("{count} tokens are labelled `{label}`: the token label is ambiguous")]
    AmbiguousToken { label: String, count: usize },

    // --- the PIN ---
    #[error("token `{token}`: the PIN is wrong (CKR_PIN_INCORRECT)")]
    PinIncorrect { token: String },
    /// `CKR_PIN_LOCKED`, or the token's user-PIN-locked flag.
    #[error(
        "token `{token}` is locked after too many wrong PINs; its security officer must unlock it"
    )]
    PinLocked { token: String },
    /// `CKR_USER_PIN_NOT_INITIALIZED`, or the token's flags say so.
    #[error(
        "token `{token}` has no user PIN yet; its security officer must set one \
         (CKR_USER_PIN_NOT_INITIALIZED)"
    )]
    PinNotInitialized { token: String },

    // --- the token's contents ---
    /// No object of the kind (`private key`, `public key`, `key pair`) has the label.
    #[error("token `{token}` holds no {object} labelled `{label}`")]
    NoKey {
        token: String,
        label: String,
        object: &'static str,
    },
    /// Several objects of the kind share the label; a label must name one.
    #[error("token `{token}`: {count} {object} objects are labelled `{label}`; a label must name exactly one")]
    Ambiguous {
        token: String,
        label: String,
        count: usize,
        object: &'static str,
    },
    /// Creating or renaming would give a second object this label.
    #[error("token `{token}` already holds an object labelled `{label}`; refusing to make the label ambiguous")]
    LabelTaken { token: String, label: String },
    /// Veilgate creates, renames and destroys objects only under its label prefix.
    #[error("token `{token}`: `{label}` is outside the label prefix `{prefix}`; Veilgate changes only its own objects")]
    OutsidePrefix {
        token: String,
        label: String,
        prefix: String,
    },
    /// The token answered with something of the wrong shape (lengths only, never bytes).
    #[error("token `{token}`{}: {what}", key_suffix(.key))]
    Malformed {
        token: String,
        key: Option<String>,
        what: String,
    },

    // --- the caller ---
    /// An argument this crate checks before calling the token.
    #[error("token `{token}`: {what}")]
    Input { token: String, what: String },

    // --- the token itself ---
    /// The token does not list or refuses a mechanism Veilgate needs.
    #[error("token `{token}` lacks {mechanism}")]
    Mechanism {
        token: String,
        mechanism: &'static str,
    },
    /// Any other PKCS#11 failure.
    #[error("token `{token}`{}: {function}: {rv}", key_suffix(.key))]
    Device {
        token: String,
        key: Option<String>,
        function: &'static str,
        rv: String,
    },
    /// A failure inside the cryptoki bindings, before or after the token was called.
    #[error("token `{token}`{}: the PKCS#11 bindings failed: {why}", key_suffix(.key))]
    Bindings {
        token: String,
        key: Option<String>,
        why: String,
    },
}

fn present_list(present: &[String]) -> String {
    if present.is_empty() {
        return "no initialised token is present".to_owned();
    }
    let names: Vec<String> = present.iter().map(|l| format!("`{l}`")).collect();
    format!("tokens: {}", names.join(", "))
}

fn key_suffix(key: &Option<String>) -> KeySuffix<'_> {
    KeySuffix(key.as_deref())
}

struct KeySuffix<'a>(Option<&'a str>);

impl fmt::Display for KeySuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(label) => write!(f, ", key `{label}`"),
            None => Ok(()),
        }
    }
}

/// Maps a cryptoki error to ours: pure, so every branch is unit-tested.
///
/// `key` is the label being worked on, if known; `mech` the mechanism the
/// call used, so `CKR_MECHANISM_INVALID` reads as "token lacks CKM_…".
pub(crate) fn classify(
    token: &str,
    key: Option<&str>,
    mech: Option<Mech>,
    err: &Error,
) -> HsmError {
    let token = token.to_owned();
    match err {
        Error::Pkcs11(RvError::PinIncorrect, _) => HsmError::PinIncorrect { token },
        Error::Pkcs11(RvError::PinLocked, _) => HsmError::PinLocked { token },
        Error::Pkcs11(RvError::UserPinNotInitialized, _) => HsmError::PinNotInitialized { token },
        Error::Pkcs11(RvError::MechanismInvalid, _) if mech.is_some() => HsmError::Mechanism {
            token,
            mechanism: mech.map_or("", Mech::name),
        },
        Error::Pkcs11(rv, function) => HsmError::Device {
            token,
            key: key.map(str::to_owned),
            function: function_name(*function),
            rv: rv_name(*rv),
        },
        // cryptoki's own messages: conversions, missing symbols. None of
        // them formats an argument's value.
        other => HsmError::Bindings {
            token,
            key: key.map(str::to_owned),
            why: other.to_string(),
        },
    }
}

/// Whether the session that produced this error should be closed rather
/// than returned to the pool.
pub(crate) fn session_is_broken(err: &Error) -> bool {
    matches!(
        err,
        Error::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn
                | RvError::OperationActive,
            _
        )
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use cryptoki::context::Function;

    fn login_error(rv: RvError) -> HsmError {
        classify("bank-a", None, None, &Error::Pkcs11(rv, Function::Login))
    }

    #[test]
    fn wrong_pin_is_pin_incorrect() {
        let e = login_error(RvError::PinIncorrect);
        assert!(matches!(&e, HsmError::PinIncorrect { token } if token == "bank-a"));
        assert_eq!(
            e.to_string(),
            "token `bank-a`: the PIN is wrong (CKR_PIN_INCORRECT)"
        );
    }

    #[test]
    fn locked_pin_is_pin_locked() {
        let e = login_error(RvError::PinLocked);
        assert!(matches!(&e, HsmError::PinLocked { token } if token == "bank-a"));
        assert!(e.to_string().contains("security officer must unlock it"));
    }

    #[test]
    fn missing_user_pin_is_pin_not_initialized() {
        let e = login_error(RvError::UserPinNotInitialized);
        assert!(matches!(&e, HsmError::PinNotInitialized { token } if token == "bank-a"));
        assert!(e.to_string().contains("has no user PIN yet"));
    }

    #[test]
    fn other_errors_name_function_and_return_value() {
        let e = classify(
            "bank-a",
            Some("veilgate/bank-a/sign/5b0c"),
            None,
            &Error::Pkcs11(RvError::KeyHandleInvalid, Function::SignInit),
        );
        assert_eq!(
            e.to_string(),
            "token `bank-a`, key `veilgate/bank-a/sign/5b0c`: C_SignInit: CKR_KEY_HANDLE_INVALID"
        );
        let e = login_error(RvError::VendorDefined(0x8000_0123));
        assert_eq!(
            e.to_string(),
            "token `bank-a`: C_Login: vendor-defined CKR 0x80000123"
        );
    }

    #[test]
    fn mechanism_invalid_names_the_mechanism() {
        let err = Error::Pkcs11(RvError::MechanismInvalid, Function::SignInit);
        let e = classify("bank-a", None, Some(Mech::Eddsa), &err);
        assert_eq!(e.to_string(), "token `bank-a` lacks CKM_EDDSA");
        // Without a mechanism in hand it stays a device error.
        let e = classify("bank-a", None, None, &err);
        assert!(e.to_string().ends_with("C_SignInit: CKR_MECHANISM_INVALID"));
    }

    #[test]
    fn no_token_lists_present_labels() {
        let e = HsmError::NoToken {
            label: "x".into(),
            present: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "no token labelled `x` (tokens: `a`, `b`)");
        let e = HsmError::NoToken {
            label: "x".into(),
            present: vec![],
        };
        assert_eq!(
            e.to_string(),
            "no token labelled `x` (no initialised token is present)"
        );
    }
}
