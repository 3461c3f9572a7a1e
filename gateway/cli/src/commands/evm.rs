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

use veilgate_core::predicates::chain_checks;
use veilgate_evm::chain::Chain;
use veilgate_evm::ledger::EvmLedger;
use veilgate_evm::onchain::encode_checks;

use veilgate_server::boot::{read, LedgerConfig, LedgerKind, Loaded, StartError};
use veilgate_server::CONFIG_FILE;

/// Why an EVM command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvmCommandError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{path}: {reason}")]
    Config { path: String, reason: String },
    #[error("ledger `{ledger}`: {reason}")]
    Ledger { ledger: String, reason: String },
    #[error("chain: {0}")]
    Chain(String),
}

fn chain_err(e: impl std::fmt::Display) -> EvmCommandError {
    EvmCommandError::Chain(e.to_string())
}

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

fn connect(
    data: &Path,
    rpc: &str,
    key_file: &str,
    confirmations: u64,
) -> Result<Chain, EvmCommandError> {
    let key = read(&data.join(key_file))?;
    let mut chain = Chain::connect(rpc, key.trim()).map_err(chain_err)?;
    chain.confirmations = confirmations;
    Ok(chain)
}

/// Publishes each of `lc`'s policies the registry does not hold as
/// configured (text, and checks exactly when the policy requires them).
fn publish_policies(
    loaded: &Loaded,
    lc: &LedgerConfig,
    ledger: &EvmLedger,
    out: &mut Published,
) -> Result<(), EvmCommandError> {
    // The policies as the gateway loads them (each compiled, binding this
    // ledger, its circuits' keys present), and the verifiers generated from
    // the keys the gateway proves under.
    let keys = loaded.groth16_keys()?;
    let ring = keys.as_ref();
    let (_, texts) = loaded.trust(lc, keys.clone())?;
    let mut verifiers = BTreeMap::new();
    for (file, (plan, source)) in lc.policies.iter().zip(&texts) {
        let current = ledger.policy(&plan.hash()).map_err(chain_err)?;
        if current.is_some_and(|p| p.checks.is_empty() != plan.onchain) {
            out.unchanged.push(file.clone());
            continue;
        }
        let step = crate::progress::Stage::start(format!(
            "publishing `{}` version {}{}",
            plan.id,
            plan.version,
            if plan.onchain {
                " with its Groth16 verifiers"
            } else {
                ""
            }
        ));
        let checks = if plan.onchain {
            verifiers = ledger
                .deploy_verifiers(plan, ring, verifiers)
                .map_err(chain_err)?;
            encode_checks(&chain_checks(plan, ring).map_err(chain_err)?, &verifiers)
                .map_err(chain_err)?
        } else {
            Vec::new()
        };
        out.gas_used += ledger
            .publish_policy(source, &checks)
            .map_err(chain_err)?
            .gas_used;
        step.done();
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
) -> Result<Published, EvmCommandError> {
    let loaded = Loaded::read(data)?;
    let lc = loaded.ledger_config(ledger_id)?;
    if lc.kind != LedgerKind::Embedded {
        return Err(EvmCommandError::Ledger {
            ledger: ledger_id.to_owned(),
            reason: format!(
                "already `{}`; deploy only moves an embedded ledger \
                 (to publish new policies: `veilgate evm publish`)",
                lc.kind
            ),
        });
    }
    let chain = crate::progress::stage(format!("connecting to {rpc}"), || {
        connect(data, rpc, key_file, confirmations)
    })?;
    let (ledger, mined) = crate::progress::stage(
        format!("deploying the registry ({confirmations} confirmations)"),
        || EvmLedger::deploy(chain).map_err(chain_err),
    )?;
    let mut out = Published {
        registry: format!("{:#x}", ledger.address()),
        gas_used: mined.gas_used,
        ..Published::default()
    };
    publish_policies(&loaded, lc, &ledger, &mut out)?;
    switch_to_evm(data, ledger_id, rpc, key_file, confirmations, &out.registry)?;
    Ok(out)
}

/// Rewrites the ledger's table in veilgate.toml to `kind = "evm"` with its
/// `[ledger.evm]`, keeping every comment.
fn switch_to_evm(
    data: &Path,
    ledger_id: &str,
    rpc: &str,
    key_file: &str,
    confirmations: u64,
    registry: &str,
) -> Result<(), EvmCommandError> {
    let cfg_path = data.join(CONFIG_FILE);
    let config_err = |reason: String| EvmCommandError::Config {
        path: cfg_path.display().to_string(),
        reason,
    };
    let mut doc: toml_edit::DocumentMut = read(&cfg_path)?
        .parse()
        .map_err(|e| config_err(format!("{e}")))?;
    let tables = doc
        .get_mut("ledger")
        .and_then(|l| l.as_array_of_tables_mut())
        .ok_or_else(|| config_err("has no [[ledger]] tables".into()))?;
    let table = tables
        .iter_mut()
        .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(ledger_id))
        .ok_or_else(|| config_err(format!("ledger `{ledger_id}` is not in it")))?;
    table.insert("kind", toml_edit::value("evm"));
    let mut evm = toml_edit::Table::new();
    evm.insert("rpc", toml_edit::value(rpc));
    evm.insert("registry", toml_edit::value(registry));
    evm.insert("key_file", toml_edit::value(key_file));
    evm.insert(
        "confirmations",
        toml_edit::value(i64::try_from(confirmations).unwrap_or(i64::MAX)),
    );
    table.insert("evm", toml_edit::Item::Table(evm));
    std::fs::write(&cfg_path, doc.to_string()).map_err(|e| config_err(e.to_string()))
}

/// `veilgate evm publish`: publishes the ledger's configured policies the
/// registry does not hold yet, with the ledger's own key (the registry's
/// admin must sign).
pub fn publish(data: &Path, ledger_id: &str) -> Result<Published, EvmCommandError> {
    let loaded = Loaded::read(data)?;
    let lc = loaded.ledger_config(ledger_id)?;
    if lc.kind != LedgerKind::Evm {
        return Err(EvmCommandError::Ledger {
            ledger: ledger_id.to_owned(),
            reason: "not on an EVM chain (`veilgate evm deploy`)".into(),
        });
    }
    let ledger = veilgate_server::boot::evm_ledger(lc, data)?;
    let mut out = Published {
        registry: format!("{:#x}", ledger.address()),
        ..Published::default()
    };
    publish_policies(&loaded, lc, &ledger, &mut out)?;
    Ok(out)
}

pub fn report(p: &Published, ledger: &str) {
    println!("registry {} for ledger `{ledger}`", p.registry);
    for (file, onchain) in &p.policies {
        let how = if *onchain {
            " (proofs verified on chain)"
        } else {
            ""
        };
        println!("published {file}{how}");
    }
    for file in &p.unchanged {
        println!("already published: {file}");
    }
    println!(
        "{} verifier contract(s) deployed; {} gas in all",
        p.verifiers, p.gas_used
    );
}
