//! Ledger adapters by kind: the embedded redb ledger and EVM chains.

use std::path::Path;
use std::sync::Arc;

use veilgate_ledger::{ChainHash, EmbeddedLedger, Ledger};

#[cfg(feature = "evm")]
use super::read;
use super::{LedgerConfig, LedgerKind, StartError};

/// Ledger adapters by kind. Tests may wrap the result (fault injection).
/// Arguments: the ledger's configuration, its directory, and the data
/// directory (for relative paths).
pub type LedgerFactory = dyn Fn(&LedgerConfig, &Path, &Path) -> Result<Arc<dyn Ledger>, StartError>;

/// The adapters of this build: `embedded` and `evm`.
pub fn ledger_adapters(
    lc: &LedgerConfig,
    ledger_dir: &Path,
    data_dir: &Path,
) -> Result<Arc<dyn Ledger>, StartError> {
    let hash = ChainHash::of_suite(&lc.suite).ok_or_else(|| StartError::Ledger {
        ledger: lc.id.clone(),
        reason: format!("unknown crypto suite `{}`", lc.suite),
    })?;
    match lc.kind {
        LedgerKind::Embedded => EmbeddedLedger::open_with(&ledger_dir.join("ledger.redb"), hash)
            .map(|l| Arc::new(l) as Arc<dyn Ledger>)
            .map_err(|source| StartError::Adapter {
                ledger: lc.id.clone(),
                source,
            }),
        LedgerKind::Evm => evm_ledger(lc, data_dir).map(|l| Arc::new(l) as Arc<dyn Ledger>),
    }
}

/// The adapters to read ledgers beside the gateway that writes them
/// (`veilgate follow`, `audit verify`): an embedded ledger opened
/// read-only; an EVM ledger as the gateway opens it (the node serves any
/// number of readers).
pub fn ledger_readers(
    lc: &LedgerConfig,
    ledger_dir: &Path,
    data_dir: &Path,
) -> Result<Arc<dyn Ledger>, StartError> {
    match lc.kind {
        LedgerKind::Embedded => EmbeddedLedger::open_read_only(&ledger_dir.join("ledger.redb"))
            .map(|l| Arc::new(l) as Arc<dyn Ledger>)
            .map_err(|source| StartError::Adapter {
                ledger: lc.id.clone(),
                source,
            }),
        LedgerKind::Evm => evm_ledger(lc, data_dir).map(|l| Arc::new(l) as Arc<dyn Ledger>),
    }
}

/// A build without the `evm` feature has no EVM adapter: the ledger is
/// refused at start, naming the feature.
#[cfg(not(feature = "evm"))]
fn evm_ledger(lc: &LedgerConfig, _data_dir: &Path) -> Result<EmbeddedLedger, StartError> {
    Err(StartError::Ledger {
        ledger: lc.id.clone(),
        reason: "kind \"evm\" needs the EVM adapter, which this build of veilgate leaves out (built without the `evm` feature, which the default build has)".into(),
    })
}

/// The adapter of an `evm` ledger: its node, registry and writer key from
/// `[ledger.evm]` (the key file relative to the data directory).
#[cfg(feature = "evm")]
pub fn evm_ledger(
    lc: &LedgerConfig,
    data_dir: &Path,
) -> Result<veilgate_evm::ledger::EvmLedger, StartError> {
    let fail = |reason: String| StartError::Ledger {
        ledger: lc.id.clone(),
        reason,
    };
    if lc.suite != "standard" {
        // The registry contract chains entries and derives set-root ids
        // with SHA-256 (the EVM's precompile); an SM3 chain on EVM waits
        // for a chain with an SM3 precompile (docs/suite-sm.md).
        return Err(fail(format!(
            "suite `{}` is served on embedded ledgers only: the EVM registry chains its entries with SHA-256",
            lc.suite
        )));
    }
    let evm = lc
        .evm
        .as_ref()
        .filter(|_| lc.kind == LedgerKind::Evm)
        .ok_or_else(|| fail("kind \"evm\" needs a [ledger.evm] table".into()))?;
    let key = read(&data_dir.join(&evm.key_file))?;
    let evm_err = |source| StartError::Evm {
        ledger: lc.id.clone(),
        source: Box::new(source),
    };
    let mut chain = veilgate_evm::chain::Chain::connect(&evm.rpc, key.trim()).map_err(evm_err)?;
    chain.confirmations = evm.confirmations;
    let registry = evm
        .registry
        .parse()
        .map_err(|_| fail(format!("registry `{}` is not an address", evm.registry)))?;
    veilgate_evm::ledger::EvmLedger::new(chain, registry).map_err(evm_err)
}
