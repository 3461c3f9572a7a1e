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
        policies.insert(plan.clone());
        texts.push((Arc::new(plan), text));
    }
    Ok((policies, texts))
}
