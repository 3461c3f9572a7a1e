//! `veilgate follow`: tail a ledger as a peer, print each verdict as a JSON line.

use std::io::Write as _;
use std::path::Path;

use veilgate_server::peer::VerdictKind;

pub fn run(
    data: &Path,
    ledger: &str,
    once: bool,
    interval_ms: u64,
    state: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut follower = veilgate_server::boot::follower(data, ledger, state)?;
    let mut out = std::io::stdout();
    loop {
        match follower.step() {
            Ok(verdicts) => {
                for v in &verdicts {
                    if v.verdict == VerdictKind::Rejected {
                        tracing::warn!(sequence = v.sequence, envelope_id = %v.envelope_id,
                            code = v.code.as_deref().unwrap_or(""), "rejected ledger entry");
                    }
                    writeln!(out, "{}", serde_json::to_string(v)?)?;
                }
                out.flush()?;
            }
            Err(e) if once => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "following the ledger failed; will retry"),
        }
        if once {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(interval_ms));
    }
}
