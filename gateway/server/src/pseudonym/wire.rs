//! The pseudonymisation service's HTTP API, as both sides read and write
//! it (`docs/pseudonyms.md`): JSON, elements and proofs in hex.
//!
//! `POST /v1/pseudonyms/{ledger}/epochs/{epoch}/evaluate`
//! `{"blinded": ["<64 hex>", …]}` (1 to 256 elements) →
//! `{"index": i, "evaluated": ["<64 hex>", …], "proof": "<128 hex>"}`.

use serde::{Deserialize, Serialize};

/// The evaluation request: blinded elements only, never a value.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    pub blinded: Vec<String>,
}

/// The answer: one evaluated element per blinded one, in order, and one
/// batched DLEQ proof against the service's key (or share) for the epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateResponse {
    pub index: u32,
    pub evaluated: Vec<String>,
    pub proof: String,
}

/// The evaluate path of `ledger` and `epoch`.
pub fn evaluate_path(ledger: &str, epoch: u32) -> String {
    format!("/v1/pseudonyms/{ledger}/epochs/{epoch}/evaluate")
}

/// `(ledger, epoch)` of an evaluate path, if it is one.
pub fn parse_evaluate_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v1/pseudonyms/")?;
    let (ledger, rest) = rest.split_once('/')?;
    let epoch = rest.strip_prefix("epochs/")?.strip_suffix("/evaluate")?;
    (!ledger.is_empty() && !epoch.contains('/')).then_some((ledger, epoch))
}

/// Hex of exactly `N` bytes.
pub fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = hex::decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_nothing_else_parses() {
        assert_eq!(
            parse_evaluate_path(&evaluate_path("dev-ledger", 7)),
            Some(("dev-ledger", "7"))
        );
        for bad in [
            "/v1/pseudonyms/dev-ledger/epochs/7",
            "/v1/pseudonyms//epochs/7/evaluate",
            "/v1/pseudonyms/l/epochs/7/8/evaluate",
            "/v1/records",
        ] {
            assert_eq!(parse_evaluate_path(bad), None, "{bad}");
        }
        assert_eq!(hex_array::<2>("0a0b"), Some([10, 11]));
        assert_eq!(hex_array::<2>("0a"), None);
    }
}
