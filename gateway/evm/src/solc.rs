//! Solidity → EVM bytecode with `solcjs`.
//!
//! CI installs the npm `solc` package (`.ci/run`) and points
//! `VEILGATE_SOLCJS` at its `solc.js`; the compiler is pinned there, and the
//! contracts say `pragma solidity ^0.8.20`.

use std::path::PathBuf;
use std::process::Command;

use crate::EvmError;

/// `solc.js` from `VEILGATE_SOLCJS`, or the copy `.ci/run` installs.
pub fn solcjs_path() -> Result<PathBuf, EvmError> {
    if let Some(p) = std::env::var_os("VEILGATE_SOLCJS") {
        return Ok(PathBuf::from(p));
    }
    let local = workspace_root().join(".ci/cache/node/node_modules/solc/solc.js");
    if local.is_file() {
        return Ok(local);
    }
    Err(EvmError::ToolMissing {
        tool: "solcjs",
        hint: "set VEILGATE_SOLCJS to the npm solc package's solc.js, or run .ci/run once".into(),
    })
}

pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compiles `source` (one file) and returns the creation bytecode of `contract`.
pub fn compile(source: &str, contract: &str) -> Result<Vec<u8>, EvmError> {
    let solcjs = solcjs_path()?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("Contract.sol"), source)?;
    // solcjs names outputs after the path as given, so run it in the source's folder.
    let out = Command::new("node")
        .arg(&solcjs)
        .args(["--bin", "--optimize", "-o", "out", "Contract.sol"])
        .current_dir(dir.path())
        .output()?;
    if !out.status.success() {
        return Err(EvmError::Compile(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    let bin = dir.path().join(format!("out/Contract_sol_{contract}.bin"));
    let hex_text = std::fs::read_to_string(&bin)
        .map_err(|_| EvmError::Compile(format!("no contract `{contract}` in the output")))?;
    hex::decode(hex_text.trim()).map_err(|e| EvmError::Compile(e.to_string()))
}
