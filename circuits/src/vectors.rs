//! Known-answer vector files: when a test may rewrite one instead of
//! comparing with it.

/// Whether a known-answer test writes its vector file instead of comparing
/// with it: only when `VEILGATE_WRITE_VECTORS` is set, and never under CI
/// (`CI` set), where a rewrite would let the test pass whatever the code
/// does. The error says why.
pub fn write_mode() -> Result<bool, String> {
    decide(
        std::env::var_os("VEILGATE_WRITE_VECTORS").is_some(),
        std::env::var_os("CI").is_some(),
    )
}

fn decide(write: bool, ci: bool) -> Result<bool, String> {
    if write && ci {
        return Err("VEILGATE_WRITE_VECTORS is set under CI: known-answer vectors are never rewritten in CI, where a rewrite passes whatever the code does".into());
    }
    Ok(write)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectors_are_never_rewritten_under_ci() {
        assert_eq!(super::decide(false, false), Ok(false));
        assert_eq!(super::decide(false, true), Ok(false));
        assert_eq!(super::decide(true, false), Ok(true));
        assert!(super::decide(true, true).is_err_and(|e| e.contains("never rewritten in CI")));
    }
}
