//! [`Ledger`] on an EVM chain, through the `VeilgateRegistry` contract
//! (`contracts/VeilgateRegistry.sol`).
//!
//! Appends are transactions (one envelope each, or up to [`MAX_PER_TRANSACTION`]
//! in one with `append_batch`); reads are `eth_call`s and event logs at the confirmed
//! block, so an entry is visible only once it has the configured number of
//! confirmations. The entry hash is computed by the contract exactly as the
//! embedded ledger computes it, so `verify_chain` checks an EVM ledger too.
//!
//! The trait is synchronous (the gateway calls it from its blocking pool);
//! each call runs on a fresh thread with this adapter's own runtime, so it is
//! safe from any context.

use alloy::primitives::{Address, FixedBytes, B256, U256};
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use veilgate_ledger::{Appended, Entry, EnvelopeId, Ledger, LedgerError, Receipt};

use crate::chain::{Chain, Mined};
use crate::EvmError;

/// The registry's interface (what the adapter calls and reads).
#[allow(missing_docs)]
mod abi {
    alloy::sol! {
    function append(bytes16[] ids, bytes[] envelopes) external;
    function sequenceOf(bytes16 id) external view returns (bool found, uint64 sequence);
    function count() external view returns (uint64);
    function head() external view returns (bytes32);
    function envelopeHashOf(bytes16 id) external view returns (bytes32);
    function entryHashOf(uint64 sequence) external view returns (bytes32);
    function blockOf(uint64 sequence) external view returns (uint64);
    function setWriter(address writer, bool allowed) external;
    function appendVerified(bytes[] envelopes, bytes[] checks, uint256[][] proofs) external;
    function publishPolicy(bytes32 hash, string id, uint32 version, string text, bytes checks) external;
    function checksOf(bytes32 hash) external view returns (bytes32);
    function policyBlockOf(bytes32 hash) external view returns (uint64);
    function setRootOf(bytes32 setKey, uint32 version) external view returns (bytes32);
    function setVersionOf(bytes32 setKey) external view returns (uint32);
    event Appended(uint64 indexed sequence, bytes16 indexed id, bytes32 entryHash, bytes envelope);
    event PolicyPublished(bytes32 indexed hash, string id, uint32 version, string text, bytes checks);
    }
}

use abi::{
    appendCall, appendVerifiedCall, blockOfCall, checksOfCall, countCall, entryHashOfCall,
    headCall, policyBlockOfCall, publishPolicyCall, sequenceOfCall, setRootOfCall,
    setVersionOfCall,
};

/// The registry's creation bytecode, compiled from `contracts/VeilgateRegistry.sol`
/// by solcjs 0.8.37 with the optimizer (a test recompiles and compares).
pub const REGISTRY_BYTECODE_HEX: &str = include_str!("../contracts/VeilgateRegistry.bin");

/// Envelopes per `append` transaction: ~150,000 gas each keeps a full batch
/// near 2.4 M gas, far below common block gas limits (30 M on anvil and Besu
/// defaults).
pub const MAX_PER_TRANSACTION: usize = 16;

/// Envelopes per `appendVerified` transaction: each Groth16 proof costs
/// ~240,000 gas on chain, so an envelope with 5 proofs costs ~1.3 M.
pub const MAX_VERIFIED_PER_TRANSACTION: usize = 4;

pub struct EvmLedger {
    /// Always `Some` until drop, which shuts it down without blocking (an
    /// adapter may be dropped inside an async context).
    rt: Option<tokio::runtime::Runtime>,
    chain: Chain,
    registry: Address,
    /// On-chain checks by policy hash (`None`: the policy requires none).
    checks: std::sync::Mutex<std::collections::HashMap<[u8; 32], Option<Vec<u8>>>>,
}

/// A policy as published on the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedPolicy {
    pub id: String,
    pub version: u32,
    pub text: String,
    /// The checks the registry runs for its envelopes (empty: none).
    pub checks: Vec<u8>,
}

fn storage(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

impl EvmLedger {
    pub fn new(chain: Chain, registry: Address) -> Result<EvmLedger, EvmError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(EvmLedger {
            rt: Some(rt),
            chain,
            registry,
            checks: Default::default(),
        })
    }

    /// Deploys a fresh registry from `chain`'s account (its admin and first writer).
    pub fn deploy(chain: Chain) -> Result<(EvmLedger, Mined), EvmError> {
        let code = hex::decode(REGISTRY_BYTECODE_HEX.trim())
            .map_err(|e| EvmError::Compile(e.to_string()))?;
        let mut ledger = EvmLedger::new(chain, Address::ZERO)?;
        let (at, mined) = ledger.run(async { ledger.chain.deploy(code).await })?;
        ledger.registry = at;
        Ok((ledger, mined))
    }

    pub fn address(&self) -> Address {
        self.registry
    }

    /// Runs a chain operation to completion on a fresh thread (never inside
    /// the caller's runtime).
    fn run<T: Send>(
        &self,
        fut: impl std::future::Future<Output = Result<T, EvmError>> + Send,
    ) -> Result<T, EvmError> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| EvmError::Rpc("adapter is shutting down".into()))?;
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|_| Err(EvmError::Rpc("chain thread panicked".into())))
        })
    }

    async fn view<C: SolCall>(
        c: &Chain,
        at: Address,
        call: C,
        block: u64,
    ) -> Result<C::Return, EvmError> {
        let out = c.call_at(at, call.abi_encode(), block).await?;
        C::abi_decode_returns(&out).map_err(|e| EvmError::Rpc(e.to_string()))
    }

    /// Publishes a policy's text with its on-chain checks (empty: none;
    /// see [`crate::onchain`]). Only the registry's admin may.
    pub fn publish_policy(&self, text: &str, checks: &[u8]) -> Result<Mined, EvmError> {
        let plan = veilgate_policies::compile(text)
            .map_err(|e| EvmError::Rpc(format!("the policy does not compile: {}", e.message)))?;
        let data = publishPolicyCall {
            hash: FixedBytes(plan.hash()),
            id: plan.id.clone(),
            version: plan.version,
            text: text.to_owned(),
            checks: checks.to_vec().into(),
        }
        .abi_encode();
        let at = self.registry;
        let mined = self.run(async move { self.chain.send(at, data).await })?;
        if let Ok(mut cache) = self.checks.lock() {
            cache.remove(&plan.hash());
        }
        Ok(mined)
    }

    /// Deploys a generated verifier for each circuit `plan` uses that
    /// `have` lacks (compiled with solcjs); returns the map with them added.
    pub fn deploy_verifiers(
        &self,
        plan: &veilgate_policies::Plan,
        ring: &veilgate_core::predicates::KeyRing,
        have: std::collections::BTreeMap<[u8; 32], Address>,
    ) -> Result<std::collections::BTreeMap<[u8; 32], Address>, EvmError> {
        self.run(crate::onchain::deploy_verifiers(
            &self.chain,
            plan,
            ring,
            have,
        ))
    }

    /// The data of every event the registry has emitted (envelopes, policies,
    /// writers, revocations) up to the confirmed block: what any node of the
    /// chain can read.
    pub fn raw_logs(&self) -> Result<Vec<Vec<u8>>, EvmError> {
        let at = self.registry;
        self.run(async move {
            let c = &self.chain;
            let block = c.confirmed_block().await?;
            let filter = Filter::new().address(at).from_block(0).to_block(block);
            Ok(c.logs(&filter)
                .await?
                .iter()
                .map(|l| l.inner.data.data.to_vec())
                .collect())
        })
    }

    /// The policy published under `hash` (the latest publication), at the
    /// confirmed block. Peers fetch exactly the policy an envelope names.
    pub fn policy(&self, hash: &[u8; 32]) -> Result<Option<PublishedPolicy>, EvmError> {
        let at = self.registry;
        let key = FixedBytes(*hash);
        self.run(async move {
            let c = &self.chain;
            let block = c.confirmed_block().await?;
            let published = Self::view(c, at, policyBlockOfCall { hash: key }, block).await?;
            if published == 0 {
                return Ok(None);
            }
            let filter = Filter::new()
                .address(at)
                .event_signature(abi::PolicyPublished::SIGNATURE_HASH)
                .topic1(B256::from(key))
                .from_block(published)
                .to_block(published);
            let logs = c.logs(&filter).await?;
            Ok(logs
                .iter()
                .filter_map(|l| abi::PolicyPublished::decode_log_data(&l.inner.data).ok())
                .next_back()
                .map(|ev| PublishedPolicy {
                    id: ev.id,
                    version: ev.version,
                    text: ev.text,
                    checks: ev.checks.to_vec(),
                }))
        })
    }

    /// The registry's record of set `set`: its latest version and that
    /// version's root, as of the confirmed block (`None`: no root yet).
    pub fn set_root(&self, set: &str) -> Result<Option<(u32, [u8; 32])>, EvmError> {
        let key = alloy::primitives::keccak256(set.as_bytes());
        let at = self.registry;
        self.run(async move {
            let c = &self.chain;
            let block = c.confirmed_block().await?;
            let version = Self::view(c, at, setVersionOfCall { setKey: key }, block).await?;
            if version == 0 {
                return Ok(None);
            }
            let root = Self::view(
                c,
                at,
                setRootOfCall {
                    setKey: key,
                    version,
                },
                block,
            )
            .await?;
            Ok(Some((version, root.0)))
        })
    }

    /// The on-chain checks envelope bytes need, if any (cached per policy).
    /// Bytes that are not an envelope (audit anchors) need none.
    fn checks_for(&self, bytes: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        if !bytes.starts_with(b"VGEN") {
            return Ok(None);
        }
        let env = veilgate_core::Envelope::decode(bytes)
            .map_err(|e| storage(format!("not a valid envelope: {e}")))?;
        let hash = env.policy.hash;
        if let Some(hit) = self.checks.lock().ok().and_then(|c| c.get(&hash).cloned()) {
            return Ok(hit);
        }
        let at = self.registry;
        let want = self
            .run(async move {
                let c = &self.chain;
                let block = c.confirmed_block().await?;
                Self::view(
                    c,
                    at,
                    checksOfCall {
                        hash: FixedBytes(hash),
                    },
                    block,
                )
                .await
            })
            .map_err(storage)?;
        let found = if want == B256::ZERO {
            // No checks: allowed only for a policy published on the registry
            // (peers fetch it there) that does not require them.
            let published = self.policy(&hash).map_err(storage)?.ok_or_else(|| {
                storage(format!(
                    "policy {} is not published on the registry, so peers could not verify \
                     its envelopes; publish it (`veilgate evm publish`)",
                    hex::encode(hash)
                ))
            })?;
            let plan = veilgate_policies::compile(&published.text)
                .ok()
                .filter(|p| p.hash() == hash)
                .ok_or_else(|| storage("the published policy text does not compile to its hash"))?;
            if plan.onchain {
                return Err(storage(format!(
                    "policy `{}` version {} requires proofs on chain, but the registry has no \
                     checks for it; publish them (`veilgate evm publish`)",
                    plan.id, plan.version
                )));
            }
            None
        } else {
            let p = self.policy(&hash).map_err(storage)?;
            let checks = p.map(|p| p.checks).unwrap_or_default();
            if alloy::primitives::keccak256(&checks) != want {
                return Err(storage("the published checks do not match their hash"));
            }
            Some(checks)
        };
        if let Ok(mut cache) = self.checks.lock() {
            cache.insert(hash, found.clone());
        }
        Ok(found)
    }

    /// Appends several envelopes in one transaction (in order). Envelopes
    /// already on the ledger with the same bytes are skipped; an id present
    /// with other bytes fails the whole batch. Envelopes whose policy requires
    /// on-chain checks go through `appendVerified` with their proofs; a batch
    /// must not mix them with others ([`Ledger::append_batch`] splits). Returns
    /// each one's receipt and what the transaction cost.
    pub fn append_mined(
        &self,
        batch: &[(EnvelopeId, Vec<u8>)],
    ) -> Result<(Vec<Appended>, Mined), LedgerError> {
        let at = self.registry;
        // Conflicts are found before paying for a transaction that would revert.
        for (id, bytes) in batch {
            if let Some(existing) = self.by_id(id)? {
                if existing.envelope != *bytes {
                    return Err(LedgerError::Conflict(hex::encode(id)));
                }
            }
        }
        let checks: Vec<Option<Vec<u8>>> = batch
            .iter()
            .map(|(_, b)| self.checks_for(b))
            .collect::<Result<_, _>>()?;
        let verified = checks.iter().filter(|c| c.is_some()).count();
        // Gas for a verified batch is bounded, not estimated: estimating runs
        // the pairings once per step of the node's binary search (~0.3 s a
        // transaction on anvil). Unused gas is not charged.
        let mut gas_bound = 100_000u64;
        let data = if verified == 0 {
            appendCall {
                ids: batch.iter().map(|(id, _)| FixedBytes(*id)).collect(),
                envelopes: batch.iter().map(|(_, b)| b.clone().into()).collect(),
            }
            .abi_encode()
        } else if verified == batch.len() {
            let mut proofs = Vec::with_capacity(batch.len());
            for (_, b) in batch {
                let env = veilgate_core::Envelope::decode(b).map_err(storage)?;
                let words = veilgate_core::predicates::proofs_for_chain(&env).map_err(storage)?;
                gas_bound += 150_000 + 64 * b.len() as u64 + 350_000 * (words.len() as u64 / 8);
                proofs.push(words.iter().map(|w| U256::from_be_bytes(*w)).collect());
            }
            appendVerifiedCall {
                envelopes: batch.iter().map(|(_, b)| b.clone().into()).collect(),
                checks: checks.into_iter().flatten().map(Into::into).collect(),
                proofs,
            }
            .abi_encode()
        } else {
            return Err(storage(
                "a batch mixes envelopes with and without on-chain checks",
            ));
        };
        let mined = if verified == 0 {
            self.run(async move { self.chain.send(at, data).await })
        } else {
            self.run(async move { self.chain.transact(at, data, gas_bound).await })
        };
        let mined = match mined {
            Ok(m) => m,
            Err(e) => {
                // A republished policy may have new checks: read them again next time.
                if let Ok(mut cache) = self.checks.lock() {
                    cache.clear();
                }
                return Err(storage(e));
            }
        };
        // The chain's time for the batch: its block's timestamp.
        let time = match mined.block {
            Some(b) => self
                .run(async move { self.chain.block_time_ms(b).await })
                .ok(),
            None => None,
        };
        let mut fresh = std::collections::HashMap::new();
        for log in &mined.logs {
            if let Ok(ev) = abi::Appended::decode_log_data(&log.inner.data) {
                fresh.insert(ev.id.0, (ev.sequence, ev.entryHash.0));
            }
        }
        let mut out = Vec::with_capacity(batch.len());
        for (id, _) in batch {
            match fresh.get(id) {
                Some((sequence, hash)) => out.push(Appended {
                    receipt: Receipt {
                        sequence: *sequence,
                        entry_hash: *hash,
                    },
                    new: true,
                    appended_ms: time,
                }),
                None => {
                    let e = self
                        .by_id(id)?
                        .ok_or_else(|| storage("appended envelope not found"))?;
                    out.push(Appended {
                        receipt: e.receipt(),
                        new: false,
                        appended_ms: e.appended_ms,
                    });
                }
            }
        }
        Ok((out, mined))
    }
}

impl Drop for EvmLedger {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Ledger for EvmLedger {
    fn append(&self, envelope_id: EnvelopeId, envelope: &[u8]) -> Result<Appended, LedgerError> {
        if let Some(existing) = self.by_id(&envelope_id)? {
            if existing.envelope == envelope {
                return Ok(Appended {
                    receipt: existing.receipt(),
                    new: false,
                    appended_ms: existing.appended_ms,
                });
            }
            return Err(LedgerError::Conflict(hex::encode(envelope_id)));
        }
        let (mut receipts, _) = self.append_mined(&[(envelope_id, envelope.to_vec())])?;
        receipts.pop().ok_or_else(|| storage("empty append"))
    }

    /// At most [`MAX_PER_TRANSACTION`] envelopes per transaction; a run of
    /// envelopes that need on-chain checks goes in its own transactions.
    fn append_batch(&self, batch: &[(EnvelopeId, Vec<u8>)]) -> Result<Vec<Appended>, LedgerError> {
        let needs: Vec<bool> = batch
            .iter()
            .map(|(_, b)| self.checks_for(b).map(|c| c.is_some()))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            let kind = needs.get(start).copied().unwrap_or(false);
            let max = if kind {
                MAX_VERIFIED_PER_TRANSACTION
            } else {
                MAX_PER_TRANSACTION
            };
            let run = needs
                .iter()
                .skip(start)
                .take(max)
                .take_while(|n| **n == kind)
                .count()
                .max(1);
            let end = (start + run).min(batch.len());
            out.extend(
                self.append_mined(batch.get(start..end).unwrap_or_default())?
                    .0,
            );
            start = end;
        }
        Ok(out)
    }

    fn policy_text(&self, hash: &[u8; 32]) -> Result<Option<String>, LedgerError> {
        Ok(self.policy(hash).map_err(storage)?.map(|p| p.text))
    }

    fn by_id(&self, id: &EnvelopeId) -> Result<Option<Entry>, LedgerError> {
        let at = self.registry;
        let key = FixedBytes(*id);
        let found = self
            .run(async move {
                let c = &self.chain;
                let block = c.confirmed_block().await?;
                Self::view(c, at, sequenceOfCall { id: key }, block).await
            })
            .map_err(storage)?;
        if !found.found {
            return Ok(None);
        }
        self.by_sequence(found.sequence)
    }

    fn by_sequence(&self, sequence: u64) -> Result<Option<Entry>, LedgerError> {
        let at = self.registry;
        let got = self
            .run(async move {
                let c = &self.chain;
                let block = c.confirmed_block().await?;
                let n = Self::view(c, at, countCall {}, block).await?;
                if sequence >= n {
                    return Ok(None);
                }
                let mined_in = Self::view(c, at, blockOfCall { sequence }, block).await?;
                let prev = match sequence.checked_sub(1) {
                    Some(p) => {
                        Self::view(c, at, entryHashOfCall { sequence: p }, block)
                            .await?
                            .0
                    }
                    None => [0u8; 32],
                };
                let filter = Filter::new()
                    .address(at)
                    .event_signature(abi::Appended::SIGNATURE_HASH)
                    .topic1(B256::from(U256::from(sequence)))
                    .from_block(mined_in)
                    .to_block(mined_in);
                let logs = c.logs(&filter).await?;
                let Some(ev) = logs
                    .iter()
                    .find_map(|l| abi::Appended::decode_log_data(&l.inner.data).ok())
                else {
                    return Ok(None);
                };
                let time = c.block_time_ms(mined_in).await?;
                Ok(Some((ev, prev, time)))
            })
            .map_err(storage)?;
        let Some((ev, prev, time)) = got else {
            return Ok(None);
        };
        let entry = Entry {
            sequence,
            envelope_id: ev.id.0,
            prev_hash: prev,
            entry_hash: ev.entryHash.0,
            envelope: ev.envelope.to_vec(),
            appended_ms: Some(time),
        };
        // The chain's word is checked, not trusted: the hash must follow from the bytes.
        if veilgate_ledger::entry_hash(sequence, &prev, &entry.envelope_id, &entry.envelope)
            != entry.entry_hash
        {
            return Err(LedgerError::Broken(sequence));
        }
        Ok(Some(entry))
    }

    fn head(&self) -> Result<Option<Receipt>, LedgerError> {
        let at = self.registry;
        let (n, head) = self
            .run(async move {
                let c = &self.chain;
                let block = c.confirmed_block().await?;
                Ok((
                    Self::view(c, at, countCall {}, block).await?,
                    Self::view(c, at, headCall {}, block).await?,
                ))
            })
            .map_err(storage)?;
        Ok(n.checked_sub(1).map(|sequence| Receipt {
            sequence,
            entry_hash: head.0,
        }))
    }

    fn len(&self) -> Result<u64, LedgerError> {
        let at = self.registry;
        self.run(async move {
            let c = &self.chain;
            let block = c.confirmed_block().await?;
            Self::view(c, at, countCall {}, block).await
        })
        .map_err(storage)
    }
}
