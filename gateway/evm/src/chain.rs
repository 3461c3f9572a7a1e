//! A JSON-RPC client for one EVM chain with one signing key (alloy).
//!
//! Transactions that call a Groth16 verifier carry an explicit gas limit:
//! a verifier that returns `false` when a precompile runs out of gas makes
//! `eth_estimateGas` under-estimate (observed on anvil), and the transaction
//! would then "succeed" with the wrong answer.

use alloy::eips::BlockId;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;

use crate::EvmError;

fn rpc(e: impl std::fmt::Display) -> EvmError {
    EvmError::Rpc(e.to_string())
}

pub struct Chain {
    provider: DynProvider,
    pub from: Address,
    /// Blocks a transaction must have on top (itself included) before it
    /// counts as written; reads look this far behind the head. 1 on a
    /// development node that mines one block per transaction.
    pub confirmations: u64,
    /// Block timestamps already read (a block's time never changes once it
    /// is confirmed): a follower reads many entries of one block.
    block_times: std::sync::Mutex<std::collections::BTreeMap<u64, u64>>,
}

/// Block times kept; the oldest block's goes first when full.
const BLOCK_TIMES_KEPT: usize = 4096;

/// What a mined transaction cost and where it landed.
#[derive(Clone, Debug)]
pub struct Mined {
    pub hash: String,
    pub block: Option<u64>,
    pub gas_used: u64,
    pub contract: Option<Address>,
    pub logs: Vec<Log>,
}

impl Chain {
    /// Connects to `url` (HTTP JSON-RPC) signing with the hex private `key`.
    pub fn connect(url: &str, key: &str) -> Result<Chain, EvmError> {
        let signer: PrivateKeySigner = key.parse().map_err(rpc)?;
        let from = signer.address();
        // The nonce is read from the node for every transaction (not cached):
        // after a node restart or a transaction lost with it, or with a second
        // client on the same account, a cached nonce would be wrong forever.
        let provider = ProviderBuilder::default()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url.parse().map_err(rpc)?)
            .erased();
        Ok(Chain {
            provider,
            from,
            confirmations: 1,
            block_times: std::sync::Mutex::default(),
        })
    }

    /// Sends `tx` and waits until it has `confirmations` blocks (itself
    /// included). The receipt is polled with a short, growing interval: a
    /// development node mines at once, a real chain every few seconds, and
    /// the provider's block-watcher interval (250 ms or more) would otherwise
    /// cap a gateway at a few transactions a second.
    async fn mine(&self, tx: TransactionRequest) -> Result<Mined, EvmError> {
        let pending = self.provider.send_transaction(tx).await.map_err(rpc)?;
        let tx_hash = *pending.tx_hash();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut wait = std::time::Duration::from_millis(2);
        let receipt = loop {
            if let Some(r) = self
                .provider
                .get_transaction_receipt(tx_hash)
                .await
                .map_err(rpc)?
            {
                let head = self.provider.get_block_number().await.map_err(rpc)?;
                let depth = r
                    .block_number
                    .map_or(0, |b| head.saturating_sub(b).saturating_add(1));
                if depth >= self.confirmations.max(1) {
                    break r;
                }
            }
            if std::time::Instant::now() > deadline {
                return Err(EvmError::Rpc(format!(
                    "transaction {tx_hash:#x} not confirmed within 120 s"
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        };
        let hash = format!("{:#x}", receipt.transaction_hash);
        if !receipt.status() {
            return Err(EvmError::Reverted(hash));
        }
        Ok(Mined {
            hash,
            block: receipt.block_number,
            gas_used: receipt.gas_used,
            contract: receipt.contract_address,
            logs: receipt.inner.logs().to_vec(),
        })
    }

    /// Deploys creation bytecode; returns the contract's address and the receipt.
    pub async fn deploy(&self, code: Vec<u8>) -> Result<(Address, Mined), EvmError> {
        let mined = self
            .mine(TransactionRequest::default().with_deploy_code(code))
            .await?;
        let at = mined
            .contract
            .ok_or_else(|| EvmError::Rpc("deployment receipt has no contract address".into()))?;
        Ok((at, mined))
    }

    /// `eth_call`: runs `data` against `to` without a transaction.
    pub async fn call(&self, to: Address, data: Vec<u8>) -> Result<Bytes, EvmError> {
        self.provider
            .call(TransactionRequest::default().with_to(to).with_input(data))
            .await
            .map_err(rpc)
    }

    /// `eth_call` at a block (the confirmed view: see [`Chain::confirmed_block`]).
    pub async fn call_at(&self, to: Address, data: Vec<u8>, block: u64) -> Result<Bytes, EvmError> {
        self.provider
            .call(TransactionRequest::default().with_to(to).with_input(data))
            .block(BlockId::number(block))
            .await
            .map_err(rpc)
    }

    /// The newest block with `confirmations − 1` blocks on top of it.
    pub async fn confirmed_block(&self) -> Result<u64, EvmError> {
        let head = self.provider.get_block_number().await.map_err(rpc)?;
        Ok(head.saturating_sub(self.confirmations.saturating_sub(1)))
    }

    /// A block's timestamp in ms since the Unix epoch: the chain's time for
    /// every entry written in it (block times are whole seconds).
    pub async fn block_time_ms(&self, number: u64) -> Result<u64, EvmError> {
        if let Some(t) = self
            .block_times
            .lock()
            .ok()
            .and_then(|c| c.get(&number).copied())
        {
            return Ok(t);
        }
        let block = self
            .provider
            .get_block_by_number(number.into())
            .await
            .map_err(rpc)?
            .ok_or_else(|| EvmError::Rpc(format!("block {number} not found")))?;
        let t = block.header.timestamp.saturating_mul(1000);
        if let Ok(mut cache) = self.block_times.lock() {
            if cache.len() >= BLOCK_TIMES_KEPT {
                cache.pop_first();
            }
            cache.insert(number, t);
        }
        Ok(t)
    }

    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>, EvmError> {
        self.provider.get_logs(filter).await.map_err(rpc)
    }

    /// Sends `data` to `to`, the gas limit estimated by the node.
    pub async fn send(&self, to: Address, data: Vec<u8>) -> Result<Mined, EvmError> {
        self.mine(TransactionRequest::default().with_to(to).with_input(data))
            .await
    }

    /// Sends `data` to `to` with an explicit gas limit and waits for the receipt.
    pub async fn transact(&self, to: Address, data: Vec<u8>, gas: u64) -> Result<Mined, EvmError> {
        self.mine(
            TransactionRequest::default()
                .with_to(to)
                .with_input(data)
                .with_gas_limit(gas),
        )
        .await
    }
}
