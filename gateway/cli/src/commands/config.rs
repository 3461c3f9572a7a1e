//! `veilgate config check`: every check `serve` makes at start, without
//! starting — so a change is checked before the restart that would fail.

use std::path::Path;

pub fn check(data: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let report = veilgate_server::boot::check(data)?;
    for line in &report.lines {
        println!("{line}");
    }
    if !report.development_circuits.is_empty() {
        println!(
            "note: the Groth16 keys for {} are development keys; `serve` refuses them without --dev (docs/keys.md)",
            report.development_circuits.join(", ")
        );
    }
    println!("{}: configuration ok", data.display());
    Ok(())
}
