//! The policy files a ledger publishes, compiled and checked to bind it.

use std::path::Path;
use std::sync::Arc;

use veilgate_core::PolicySet;
use veilgate_policies::Plan;

use super::{read, LedgerConfig, StartError};

/// Compiled policies with the texts they were compiled from.
pub type PolicyTexts = Vec<(Arc<Plan>, String)>;

/// The policy files configured for a ledger, compiled (errors rendered
/// with their line), each checked to bind that ledger; with their texts.
pub fn load_policies(
    lc: &LedgerConfig,
    data_dir: &Path,
) -> Result<(PolicySet, PolicyTexts), StartError> {
    let mut policies = PolicySet::default();
    let mut texts = Vec::new();
    // (id, version) → (file, hash): one version of a policy means one text,
    // or the gateway would seal under one and serve the other.
    let mut seen: std::collections::BTreeMap<(String, u32), (&str, [u8; 32])> =
        std::collections::BTreeMap::new();
    for rel in &lc.policies {
        let path = data_dir.join(rel);
        let text = read(&path)?;
        let plan = veilgate_policies::compile(&text)
            .map_err(|e| StartError::Policy(e.render(&path.display().to_string(), &text)))?;
        if plan.suite != lc.suite {
            return Err(StartError::Ledger {
                ledger: lc.id.clone(),
                reason: format!(
                    "{rel}: policy `{}` uses crypto suite `{}`, but the directory makes this an `{}` ledger: write `suite {}` in its header",
                    plan.id, plan.suite, lc.suite, lc.suite
                ),
            });
        }
        if !plan.binds(&lc.id) {
            return Err(StartError::Ledger {
                ledger: lc.id.clone(),
                reason: format!(
                    "{rel}: policy binds ledger {}, configured under `{}`",
                    plan.ledgers.join(", "),
                    lc.id
                ),
            });
        }
        match seen.get(&(plan.id.clone(), plan.version)) {
            Some((first, hash)) if *hash != plan.hash() => {
                return Err(StartError::Ledger {
                    ledger: lc.id.clone(),
                    reason: format!(
                        "{rel} and {first} are both policy `{}` version {} but say different things: give the newer one a higher `version`",
                        plan.id, plan.version
                    ),
                });
            }
            _ => {
                seen.insert((plan.id.clone(), plan.version), (rel.as_str(), plan.hash()));
            }
        }
        policies.insert(plan.clone());
        texts.push((Arc::new(plan), text));
    }
    Ok((policies, texts))
}
