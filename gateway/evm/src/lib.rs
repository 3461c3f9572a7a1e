//! Veilgate on EVM ledgers: the thin shell between the pure core and a chain.
//!
//! - [`solc`]: compiles the project's Solidity with `solcjs` (the npm `solc`
//!   package), the compiler CI can install.
//! - [`chain`]: a JSON-RPC client (alloy) with a local signing key: deploy,
//!   call, transact, receipts.
//! - [`devnet`]: starts a local `anvil` node for tests, on 127.0.0.1 only.
//! - [`ledger`]: the [`veilgate_ledger::Ledger`] trait over the
//!   `VeilgateRegistry` contract (`contracts/`), policies published on it.
//! - [`onchain`]: the checks the registry runs for `require proofs on chain`.
//!
//! The on-chain Groth16 verifiers are generated from verifying keys by
//! `veilgate_circuits::groth16::solidity`.
#![forbid(unsafe_code)]

pub mod chain;
pub mod devnet;
pub mod ledger;
pub mod onchain;
pub mod solc;

/// Why an EVM operation failed. Messages carry no customer data (nothing here
/// ever sees any: contracts, bytecode, calldata of proofs and public inputs).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    #[error("tool `{tool}` not found: {hint}")]
    ToolMissing { tool: &'static str, hint: String },
    #[error("solidity compilation failed: {0}")]
    Compile(String),
    #[error("JSON-RPC: {0}")]
    Rpc(String),
    #[error("transaction {0} reverted")]
    Reverted(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("node did not start: {0}")]
    Devnet(String),
}
