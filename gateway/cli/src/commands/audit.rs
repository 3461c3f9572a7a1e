//! `veilgate audit verify`: the audit log's chain and its anchors on the ledger.

use std::path::Path;

use veilgate_server::audit::anchor::verify_anchors;
use veilgate_server::audit::verify_chain;

/// Reads the store and ledgers read-only, so it runs beside the gateway.
pub fn verify(data: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (store, ledgers) = veilgate_server::boot::audit_view(data)?;
    let entries = store.audit_entries()?;
    let n = verify_chain(&entries).map_err(|e| format!("audit log broken: {e}"))?;
    let mut anchors = 0;
    for (_, ledger) in &ledgers {
        anchors += verify_anchors(&entries, ledger.as_ref())
            .map_err(|e| format!("audit anchor broken: {e}"))?;
    }
    println!("audit log ok: {n} entries chained, {anchors} anchors on the ledger match");
    Ok(())
}
