//! `veilgate evm deploy` and `veilgate evm publish`: put one of the
//! gateway's ledgers on an EVM chain, and keep its policies published there.
//!
//! `deploy` deploys the `VeilgateRegistry` from the given account (its admin
//! and first writer), publishes the ledger's policies (below), and switches
//! the ledger in `veilgate.toml` to `kind = "evm"` with a `[ledger.evm]`
//! table (comments kept). The outbox and everything else stay as they are;
//! the next `serve` writes to the chain.
//!
//! Publishing a policy puts its text on the registry under its plan hash —
//! peers fetch it there, and the adapter writes no envelope of a policy that
//! is not published — and, for a policy that says `require proofs on chain`,
//! a generated Groth16 verifier per circuit and the checks the registry runs.

use std::collections::BTreeMap;
use std::path::Path;

use veilgate_core::predicates::{chain_checks, KeyRing};
use veilgate_evm::chain::Chain;
use veilgate_evm::ledger::EvmLedger;
use veilgate_evm::onchain::encode_checks;

use crate::config::{Config, LedgerConfig, CONFIG_FILE};

/// What a deployment or publication did.
#[derive(Debug, Default)]
pub struct Published {
    pub registry: String,
    pub gas_used: u64,
    /// Each policy file published now and whether the chain verifies its proofs.
    pub policies: Vec<(String, bool)>,
    /// Policy files already on the registry as configured.
    pub unchanged: Vec<String>,
    pub verifiers: usize,
}

fn load(data: &Path, ledger_id: &str) -> Result<(String, LedgerConfig), String> {
    let cfg_path = data.join(CONFIG_FILE);
    let text =
        std::fs::read_to_string(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let config = Config::parse(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let lc = config
        .ledgers
        .into_iter()
        .find(|l| l.id == ledger_id)
        .ok_or_else(|| format!("ledger `{ledger_id}` is not in {}", cfg_path.display()))?;
    Ok((text, lc))
}

fn connect(data: &Path, rpc: &str, key_file: &str, confirmations: u64) -> Result<Chain, String> {
    let key_path = data.join(key_file);
    let key =
        std::fs::read_to_string(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let mut chain = Chain::connect(rpc, key.trim()).map_err(|e| e.to_string())?;
    chain.confirmations = confirmations;
    Ok(chain)
}

/// Publishes each of `lc`'s policies the registry does not hold as
/// configured (text, and checks exactly when the policy requires them).
fn publish_policies(
    data: &Path,
    lc: &LedgerConfig,
    ledger: &EvmLedger,
    out: &mut Published,
) -> Result<(), String> {
    let ring = KeyRing::development().ok_or("the development Groth16 keys failed to build")?;
    let mut verifiers = BTreeMap::new();
    for file in &lc.policies {
        let path = data.join(file);
        let source =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let plan = veilgate_policies::compile(&source)
            .map_err(|e| e.render(&path.display().to_string(), &source))?;
        let current = ledger.policy(&plan.hash()).map_err(|e| e.to_string())?;
        if current.is_some_and(|p| p.checks.is_empty() != plan.onchain) {
            out.unchanged.push(file.clone());
            continue;
        }
        let checks = if plan.onchain {
            verifiers = ledger
                .deploy_verifiers(&plan, ring, verifiers)
                .map_err(|e| e.to_string())?;
            encode_checks(&chain_checks(&plan, ring)?, &verifiers).map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        out.gas_used += ledger
            .publish_policy(&source, &checks)
            .map_err(|e| e.to_string())?
            .gas_used;
        out.policies.push((file.clone(), plan.onchain));
    }
    out.verifiers = verifiers.len();
    Ok(())
}

/// `veilgate evm deploy`.
pub fn deploy(
    data: &Path,
    ledger_id: &str,
    rpc: &str,
    key_file: &str,
    confirmations: u64,
) -> Result<Published, String> {
    let (text, lc) = load(data, ledger_id)?;
    if lc.kind != "embedded" {
        return Err(format!(
            "ledger `{ledger_id}` is already `{}`; deploy only moves an embedded ledger \
             (to publish new policies: `veilgate evm publish`)",
            lc.kind
        ));
    }
    let chain = connect(data, rpc, key_file, confirmations)?;
    let (ledger, mined) = EvmLedger::deploy(chain).map_err(|e| e.to_string())?;
    let mut out = Published {
        registry: format!("{:#x}", ledger.address()),
        gas_used: mined.gas_used,
        ..Published::default()
    };
    publish_policies(data, &lc, &ledger, &mut out)?;

    let cfg_path = data.join(CONFIG_FILE);
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let tables = doc
        .get_mut("ledger")
        .and_then(|l| l.as_array_of_tables_mut())
        .ok_or_else(|| format!("{} has no [[ledger]] tables", cfg_path.display()))?;
    let table = tables
        .iter_mut()
        .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(ledger_id))
        .ok_or_else(|| format!("ledger `{ledger_id}` is not in {}", cfg_path.display()))?;
    table.insert("kind", toml_edit::value("evm"));
    let mut evm = toml_edit::Table::new();
    evm.insert("rpc", toml_edit::value(rpc));
    evm.insert("registry", toml_edit::value(out.registry.clone()));
    evm.insert("key_file", toml_edit::value(key_file));
    evm.insert(
        "confirmations",
        toml_edit::value(i64::try_from(confirmations).unwrap_or(i64::MAX)),
    );
    table.insert("evm", toml_edit::Item::Table(evm));
    std::fs::write(&cfg_path, doc.to_string())
        .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    Ok(out)
}

/// `veilgate evm publish`: publishes the ledger's configured policies the
/// registry does not hold yet, with the ledger's own key (the registry's
/// admin must sign).
pub fn publish(data: &Path, ledger_id: &str) -> Result<Published, String> {
    let (_, lc) = load(data, ledger_id)?;
    if lc.kind != "evm" {
        return Err(format!(
            "ledger `{ledger_id}` is not on an EVM chain (`veilgate evm deploy`)"
        ));
    }
    let ledger = crate::state::evm_ledger(&lc, data).map_err(|e| e.to_string())?;
    let mut out = Published {
        registry: format!("{:#x}", ledger.address()),
        ..Published::default()
    };
    publish_policies(data, &lc, &ledger, &mut out)?;
    Ok(out)
}
