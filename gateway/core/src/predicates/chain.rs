//! The statements as an EVM registry checks them: where each public input
//! sits in the envelope's bytes, and the proofs in the EVM's word order.

use veilgate_circuits::groth16::proof_from_bytes;
use veilgate_policies::{Plan, Predicate};

use super::comparisons;
use super::keys::{Circuit, KeyRing};
use crate::envelope::Envelope;

/// Where one public input of an on-chain check comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainInput {
    /// The BN254 commitment (kind 5) of the envelope's field at this position.
    Commitment(u16),
    /// A constant of the policy (a strictness bit, a number of years).
    Constant(u64),
    /// The public date (kind 0) of the envelope's field at this position, as `YYYYMMDD`.
    PublicDate(u16),
}

/// One predicate as a registry contract checks it: the circuit (by id and
/// key id, which select the deployed verifier) and, for each of its proofs,
/// where the public inputs come from in the envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCheck {
    pub circuit_id: String,
    pub key_id: [u8; 32],
    pub proofs: Vec<Vec<ChainInput>>,
}

impl KeyRing {
    /// The verifying key of a predicate's circuit (to generate its on-chain
    /// verifier): circuit id, key id and the key.
    pub fn verifying_key(
        &self,
        plan: &Plan,
        p: &Predicate,
    ) -> Option<(
        String,
        [u8; 32],
        ark_groth16::VerifyingKey<ark_bn254::Bn254>,
    )> {
        let k = self.for_plan(plan, Circuit::of(p)?).ok()?;
        Some((k.circuit_id().to_owned(), k.id(), k.verifying_key().clone()))
    }
}

/// The checks a registry contract runs for envelopes of `plan` — the same
/// statements [`verify_all`] checks, with inputs named by field position
/// (the envelope's fields are the plan's non-dropped fields in order).
pub fn chain_checks(plan: &Plan, ring: &KeyRing) -> Result<Vec<ChainCheck>, String> {
    let position = |name: &str| -> Result<u16, String> {
        plan.fields
            .iter()
            .filter(|f| f.disclosure != veilgate_policies::Disclosure::Drop)
            .position(|f| f.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| format!("field `{name}` is not in the envelope"))
    };
    let commitment = |name: &str| position(name).map(ChainInput::Commitment);
    let mut out = Vec::with_capacity(plan.predicates.len());
    for p in &plan.predicates {
        let proofs = match p {
            Predicate::Compare { left, op, right } => comparisons(left, *op, right)
                .into_iter()
                .map(|(a, b, strict)| {
                    Ok(vec![
                        commitment(a)?,
                        commitment(b)?,
                        ChainInput::Constant(u64::from(strict)),
                    ])
                })
                .collect::<Result<Vec<_>, String>>()?,
            Predicate::Sum { terms, total } => {
                let mut inputs = terms
                    .iter()
                    .map(|t| commitment(t))
                    .collect::<Result<Vec<_>, String>>()?;
                inputs.push(commitment(total)?);
                vec![inputs]
            }
            Predicate::AgeAtLeast { birth, at, years } => vec![vec![
                commitment(birth)?,
                ChainInput::PublicDate(position(at)?),
                ChainInput::Constant(u64::from(*years)),
            ]],
            other => {
                return Err(format!(
                    "`{}` cannot be verified on chain by this build",
                    other.describe()
                ))
            }
        };
        let (circuit_id, key_id, _) = ring
            .verifying_key(plan, p)
            .ok_or_else(|| format!("no key for `{}`", p.describe()))?;
        out.push(ChainCheck {
            circuit_id,
            key_id,
            proofs,
        });
    }
    Ok(out)
}

/// The envelope's Groth16 proofs in the EVM's word order (EIP-197:
/// `A.x A.y B.x1 B.x0 B.y1 B.y0 C.x C.y`), 8 words each, in predicate order.
pub fn proofs_for_chain(env: &Envelope) -> Result<Vec<[u8; 32]>, String> {
    let mut out = Vec::new();
    for entry in &env.predicates {
        for b in &entry.proofs {
            let proof =
                proof_from_bytes(b).map_err(|_| "a proof is not a valid Groth16 encoding")?;
            out.extend(veilgate_circuits::groth16::evm::proof_words(&proof));
        }
    }
    Ok(out)
}
