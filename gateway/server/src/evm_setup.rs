//! `veilgate evm deploy`: puts one of the gateway's ledgers on an EVM chain.
//!
//! Deploys the `VeilgateRegistry` from the given account (its admin and first
//! writer), a generated Groth16 verifier for each circuit of every policy
//! that says `require proofs on chain`, publishes each of the ledger's
//! policies with its checks, and switches the ledger in `veilgate.toml` to
//! `kind = "evm"` with a `[ledger.evm]` table (comments kept). The outbox and
//! everything else stay as they are; the next `serve` writes to the chain.

use std::collections::BTreeMap;
use std::path::Path;

use veilgate_core::predicates::{chain_checks, KeyRing};
use veilgate_evm::chain::Chain;
use veilgate_evm::ledger::EvmLedger;
use veilgate_evm::onchain::encode_checks;

use crate::config::{Config, CONFIG_FILE};

/// What a deployment did.
#[derive(Debug)]
pub struct Deployed {
    pub registry: String,
    pub gas_used: u64,
    /// Each published policy file and whether the chain verifies its proofs.
    pub policies: Vec<(String, bool)>,
    pub verifiers: usize,
}

pub fn deploy(
    data: &Path,
    ledger_id: &str,
    rpc: &str,
    key_file: &str,
    confirmations: u64,
) -> Result<Deployed, String> {
    let cfg_path = data.join(CONFIG_FILE);
    let text =
        std::fs::read_to_string(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let config = Config::parse(&text).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let lc = config
        .ledgers
        .iter()
        .find(|l| l.id == ledger_id)
        .ok_or_else(|| format!("ledger `{ledger_id}` is not in {}", cfg_path.display()))?;
    if lc.kind != "embedded" {
        return Err(format!(
            "ledger `{ledger_id}` is already `{}`; deploy only moves an embedded ledger",
            lc.kind
        ));
    }
    let key_path = data.join(key_file);
    let key =
        std::fs::read_to_string(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let chain = Chain::connect(rpc, key.trim()).map_err(|e| e.to_string())?;
    let (ledger, mined) = EvmLedger::deploy(chain).map_err(|e| e.to_string())?;
    let mut gas_used = mined.gas_used;

    let ring = KeyRing::development().ok_or("the development Groth16 keys failed to build")?;
    let mut verifiers = BTreeMap::new();
    let mut policies = Vec::new();
    for file in &lc.policies {
        let path = data.join(file);
        let source =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let plan = veilgate_policies::compile(&source)
            .map_err(|e| e.render(&path.display().to_string(), &source))?;
        let checks = if plan.onchain {
            verifiers = ledger
                .deploy_verifiers(&plan, ring, verifiers)
                .map_err(|e| e.to_string())?;
            let checks = chain_checks(&plan, ring)?;
            encode_checks(&checks, &verifiers).map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        gas_used += ledger
            .publish_policy(&source, &checks)
            .map_err(|e| e.to_string())?
            .gas_used;
        policies.push((file.clone(), plan.onchain));
    }
    let registry = format!("{:#x}", ledger.address());

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
    evm.insert("registry", toml_edit::value(registry.clone()));
    evm.insert("key_file", toml_edit::value(key_file));
    evm.insert(
        "confirmations",
        toml_edit::value(i64::try_from(confirmations).unwrap_or(i64::MAX)),
    );
    table.insert("evm", toml_edit::Item::Table(evm));
    std::fs::write(&cfg_path, doc.to_string())
        .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    Ok(Deployed {
        registry,
        gas_used,
        policies,
        verifiers: verifiers.len(),
    })
}
