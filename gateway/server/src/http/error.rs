//! The one place failures become HTTP status codes. Bodies are
//! `{code, message, field}`; no message echoes a field value.

use serde_json::{json, Value as Json};
use veilgate_core::SealError;
use veilgate_ledger::LedgerError;

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, for 503 answers the client should retry.
    pub retry_after: Option<u64>,
    /// The methods a path takes, for a 405 (its `Allow` header).
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            allow: None,
        }
    }

    /// A 405's `Allow` header: the methods the path takes.
    pub fn allow(mut self, methods: impl Into<String>) -> Self {
        self.allow = Some(methods.into());
        self
    }

    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn body(&self) -> Json {
        json!({ "code": self.code, "message": self.message, "field": self.field })
    }

    /// A failure of the gateway itself; the details go to its log.
    pub fn internal(what: &str) -> Self {
        ApiError::new(500, "internal", format!("{what}; see the gateway's log"))
    }
}

impl From<SealError> for ApiError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::Record(r) => {
                ApiError::new(422, "invalid_record", r.to_string()).field(r.field)
            }
            SealError::IdempotencyKey => {
                ApiError::new(422, "invalid_idempotency_key", e.to_string())
                    .field("idempotency_key")
            }
            SealError::SubmitterNotMember(_) => ApiError::new(403, "not_admitted", e.to_string()),
            SealError::Unsupported(why) => {
                ApiError::new(501, "unsupported_policy", why).field("policy")
            }
            // The ledger's rule that a role sees every field forbids this
            // policy there: the caller cannot fix it, the operator must.
            SealError::Withheld { .. } => {
                ApiError::new(409, "policy_withholds", e.to_string()).field("policy")
            }
            // A valid record that breaks a predicate of its policy: the message
            // names the predicate as the policy writes it, never a value.
            SealError::PredicateFalse(_) => {
                ApiError::new(422, "predicate_not_satisfied", e.to_string()).field("record")
            }
            // No root of a set the policy proves against is in force on the
            // ledger, or this gateway lacks its contents: publish the set
            // (`veilgate set publish`) or add its file; the record is not taken.
            SealError::SetRoot(_) => {
                ApiError::new(409, "set_unavailable", e.to_string()).field("policy")
            }
            // Start-up refuses a role nobody holds; this is a role whose
            // holders were all removed since (admission dates).
            SealError::EmptyRole { .. } => {
                ApiError::new(409, "role_unheld", e.to_string()).field("policy")
            }
            // The key store failed (a token error): nothing was signed, the
            // record was not taken; the caller retries with the same key.
            SealError::KeyUse { .. } => {
                tracing::error!(error = %e, "signing failed");
                ApiError::new(
                    503,
                    "key_store_unavailable",
                    "the key store failed; retry later with the same idempotency key",
                )
                .retry_after(5)
            }
            // A key reported lost or compromised: the member must rotate; a
            // recipient's frozen key gets nothing until it does.
            SealError::SigningKeyFrozen { .. } => ApiError::new(409, "key_frozen", e.to_string()),
            SealError::RecipientKeyFrozen { .. } => {
                ApiError::new(409, "recipient_key_frozen", e.to_string()).field("policy")
            }
            // A rotation this gateway has not taken up: it signs with no other key.
            SealError::SigningKey { .. } => {
                tracing::error!(error = %e, "signing key in force is not the one held");
                ApiError::new(503, "signing_key_unavailable", e.to_string()).retry_after(10)
            }
            // The directory's pseudonym epochs do not cover now: the
            // operator's to fix; the record was not sealed.
            SealError::Pseudonyms(_) => {
                tracing::error!(error = %e, "pseudonyms refused");
                ApiError::new(503, "pseudonym_epoch", e.to_string()).retry_after(60)
            }
            // The rest are the gateway's configuration, not the caller's input.
            other => {
                tracing::error!(error = %other, "sealing failed");
                ApiError::new(
                    500,
                    "internal",
                    "the gateway could not seal this record; see its log",
                )
            }
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        tracing::warn!(error = %e, "ledger read failed");
        ApiError::new(
            503,
            "ledger_unavailable",
            "the ledger is unavailable; retry later",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "gateway store failed");
        ApiError::new(
            503,
            "store_unavailable",
            "the gateway cannot persist right now; retry with the same idempotency key",
        )
    }
}

impl From<crate::peer::PeerError> for ApiError {
    fn from(e: crate::peer::PeerError) -> Self {
        tracing::error!(error = %e, "reading verdicts failed");
        ApiError::new(500, "internal", "reading verdicts failed")
    }
}

/// An answer: JSON, or a raw body (metrics, the OpenAPI document).
pub struct ApiResponse {
    pub status: u16,
    pub body: Json,
    /// Set for non-JSON bodies (metrics, OpenAPI).
    pub raw: Option<(&'static str, String)>,
    pub retry_after: Option<u64>,
    /// The `Allow` header of a 405.
    pub allow: Option<String>,
    /// Close the connection after this answer (the request's body was not
    /// read to its end, so the stream cannot carry another request).
    pub close: bool,
}

impl ApiResponse {
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn json(status: u16, body: Json) -> Self {
        ApiResponse {
            status,
            body,
            raw: None,
            retry_after: None,
            allow: None,
            close: false,
        }
    }

    pub fn raw(content_type: &'static str, text: String) -> Self {
        ApiResponse {
            status: 200,
            body: Json::Null,
            raw: Some((content_type, text)),
            retry_after: None,
            allow: None,
            close: false,
        }
    }
}

impl From<ApiError> for ApiResponse {
    fn from(e: ApiError) -> Self {
        ApiResponse {
            status: e.status,
            body: e.body(),
            raw: None,
            retry_after: e.retry_after,
            allow: e.allow,
            close: false,
        }
    }
}
