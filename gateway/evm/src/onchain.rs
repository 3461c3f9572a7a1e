//! On-chain checks: what the registry verifies for a policy that says
//! `require proofs on chain` (`docs/evm.md`, "On-chain checks").
//!
//! The core names each predicate's statement ([`ChainCheck`]: circuit, key
//! and where each public input sits in the envelope); here each circuit key
//! gets a generated Solidity verifier, deployed once, and the checks are
//! encoded for the registry, which stores their keccak256 beside the policy.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use veilgate_core::predicates::{ChainCheck, ChainInput, KeyRing};
use veilgate_policies::Plan;

use crate::chain::Chain;
use crate::{solc, EvmError};

/// Version of the checks encoding.
pub const CHECKS_VERSION: u8 = 1;

/// Encodes checks for the registry:
/// `u8 1 ‖ u8 predicates ‖ (address verifier ‖ u8 proofs ‖ (u8 inputs ‖ (u8 source ‖ u64 arg)*)*)*`
/// with source 1 = BN254 commitment of field `arg`, 2 = constant `arg`,
/// 3 = public date of field `arg` as `YYYYMMDD`. `verifiers` maps key ids
/// to deployed verifier addresses.
pub fn encode_checks(
    checks: &[ChainCheck],
    verifiers: &BTreeMap<[u8; 32], Address>,
) -> Result<Vec<u8>, EvmError> {
    let too_many =
        || EvmError::Rpc("too many predicates, proofs or inputs for the checks encoding".into());
    let mut out = vec![
        CHECKS_VERSION,
        u8::try_from(checks.len()).map_err(|_| too_many())?,
    ];
    for c in checks {
        let at = verifiers.get(&c.key_id).ok_or_else(|| {
            EvmError::Rpc(format!(
                "no verifier deployed for circuit `{}`",
                c.circuit_id
            ))
        })?;
        out.extend_from_slice(at.as_slice());
        out.push(u8::try_from(c.proofs.len()).map_err(|_| too_many())?);
        for inputs in &c.proofs {
            out.push(u8::try_from(inputs.len()).map_err(|_| too_many())?);
            for i in inputs {
                let (source, arg) = match *i {
                    ChainInput::Commitment(f) => (1u8, u64::from(f)),
                    ChainInput::Constant(v) => (2, v),
                    ChainInput::PublicDate(f) => (3, u64::from(f)),
                };
                out.push(source);
                out.extend_from_slice(&arg.to_be_bytes());
            }
        }
    }
    Ok(out)
}

/// Generates, compiles (solcjs) and deploys a verifier for every circuit
/// `plan`'s predicates use that `have` lacks; returns the map with them added.
pub async fn deploy_verifiers(
    chain: &Chain,
    plan: &Plan,
    ring: &KeyRing,
    mut have: BTreeMap<[u8; 32], Address>,
) -> Result<BTreeMap<[u8; 32], Address>, EvmError> {
    use veilgate_circuits::groth16::solidity;
    for p in &plan.predicates {
        let (circuit, key_id, vk) = ring
            .verifying_key(plan, p)
            .ok_or_else(|| EvmError::Rpc(format!("no key for `{}`", p.describe())))?;
        if have.contains_key(&key_id) {
            continue;
        }
        let source = solidity::verifier_source(&circuit, &key_id, &vk);
        let code = solc::compile(&source, &solidity::contract_name(&circuit))?;
        let (at, _) = chain.deploy(code).await?;
        have.insert(key_id, at);
    }
    Ok(have)
}
