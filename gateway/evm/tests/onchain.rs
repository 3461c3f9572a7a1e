//! `require proofs on chain` against a real node (anvil): the registry runs
//! the generated Groth16 verifiers on the public inputs it reads out of each
//! envelope's own bytes, so the chain's validators refuse a false proof even
//! when a member sends it directly, bypassing its gateway.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use alloy::primitives::{Address, FixedBytes, U256};
use alloy::sol_types::SolCall;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::predicates::{chain_checks, proofs_for_chain, KeyRing};
use veilgate_core::{
    seal, sign_envelope, Envelope, FieldBody, InstitutionSecrets, LedgerDirectory, PseudonymKey,
    SealError, SealRequest, SuiteId,
};
use veilgate_evm::chain::Chain;
use veilgate_evm::devnet::tools_or_skip;
use veilgate_evm::devnet::{Devnet, DEV_KEY};
use veilgate_evm::ledger::EvmLedger;
use veilgate_evm::onchain::{deploy_verifiers, encode_checks};
use veilgate_evm::EvmError;
use veilgate_ledger::Ledger;

alloy::sol! {
    function append(bytes16[] ids, bytes[] envelopes) external;
    function appendVerified(bytes[] envelopes, bytes[] checks, uint256[][] proofs) external;
}

/// Every circuit the envelope carries: compare (strict and `==`), sum, age.
const POLICY: &str = r#"
policy drawdown-onchain version 1
ledger trade-finance
require proofs on chain

record {
  lender:     party
  borrower:   party
  limit:      amount(2)
  drawn:      amount(2)
  part_a:     amount(2)
  part_b:     amount(2)
  fee:        amount(2)
  fee_agreed: amount(2)
  birth_date: date
  as_of:      date
}

disclose {
  lender:     public
  borrower:   public
  limit:      commit, encrypt to [lender, borrower]
  drawn:      commit, encrypt to [lender, borrower]
  part_a:     commit, encrypt to [lender]
  part_b:     commit, encrypt to [lender]
  fee:        commit, encrypt to [lender]
  fee_agreed: commit, encrypt to [lender]
  birth_date: commit, encrypt to [lender]
  as_of:      public
}

prove {
  drawn < limit
  part_a + part_b == drawn
  fee == fee_agreed
  age(birth_date, as_of) >= 18
}
"#;

struct World {
    plan: veilgate_policies::Plan,
    directory: LedgerDirectory,
    secrets: BTreeMap<&'static str, InstitutionSecrets>,
    pseudonym_key: PseudonymKey,
    rng: ChaCha20Rng,
}

impl World {
    fn new() -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(61);
        let secrets: BTreeMap<_, _> = ["bank-a", "bank-b"]
            .into_iter()
            .map(|m| {
                (
                    m,
                    InstitutionSecrets::generate(m, SuiteId::Standard, &mut rng),
                )
            })
            .collect();
        let plan = veilgate_policies::compile(POLICY).unwrap();
        World {
            directory: LedgerDirectory {
                ledger: plan.ledgers[0].clone(),
                suite: "standard".into(),
                members: secrets.values().map(|s| s.public()).collect(),
                roles: BTreeMap::new(),
                sees_all: Vec::new(),
                sets: BTreeMap::new(),
                pseudonyms: None,
            },
            plan,
            secrets,
            pseudonym_key: PseudonymKey::generate(&mut rng),
            rng,
        }
    }

    fn seal(&mut self, i: usize, drawn: &str) -> Result<Envelope, SealError> {
        let record = self
            .plan
            .validate_record(&serde_json::json!({
                "lender": "bank-a", "borrower": "bank-b",
                "limit": "5000000.00", "drawn": drawn,
                "part_a": "1000000.00",
                "part_b": format!("{:.2}", drawn.parse::<f64>().unwrap() - 1_000_000.0),
                "fee": "1250.00", "fee_agreed": "1250.00",
                "birth_date": "1980-02-29", "as_of": "2026-11-26"
            }))
            .unwrap();
        seal(
            &SealRequest {
                plan: &self.plan,
                record: &record,
                trust: &veilgate_core::Trust::new(
                    self.directory.clone(),
                    veilgate_core::PolicySet::default(),
                    std::sync::Arc::new(KeyRing::development()),
                ),
                submitter: &self.secrets["bank-a"],
                pseudonyms: (&self.pseudonym_key).into(),
                idempotency_key: &format!("drawdown-{i}"),
                timestamp_ms: 1_795_600_000_000,
            },
            &mut self.rng,
        )
    }
}

fn words(env: &Envelope) -> Vec<U256> {
    proofs_for_chain(env)
        .unwrap()
        .iter()
        .map(|w| U256::from_be_bytes(*w))
        .collect()
}

fn direct_verified(
    chain: &Chain,
    rt: &tokio::runtime::Runtime,
    at: Address,
    env: &[u8],
    checks: &[u8],
    proofs: Vec<U256>,
) -> Result<(), EvmError> {
    let data = appendVerifiedCall {
        envelopes: vec![env.to_vec().into()],
        checks: vec![checks.to_vec().into()],
        proofs: vec![proofs],
    }
    .abi_encode();
    // An explicit gas limit: a reverting call cannot be estimated, and the
    // point is that the chain itself refuses it.
    rt.block_on(chain.transact(at, data, 3_000_000)).map(|_| ())
}

#[test]
fn the_registry_verifies_predicates_and_refuses_false_proofs() {
    if !tools_or_skip() {
        return;
    }
    let mut w = World::new();
    assert!(w.plan.onchain);
    let ring = &KeyRing::development();
    let net = Devnet::start(None).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ledger, _) = EvmLedger::deploy(Chain::connect(&net.url(), DEV_KEY).unwrap()).unwrap();
    let at = ledger.address();
    let admin = Chain::connect(&net.url(), DEV_KEY).unwrap();

    // One verifier per circuit (compare, sum of 2, date threshold), then the policy.
    let verifiers = rt
        .block_on(deploy_verifiers(&admin, &w.plan, ring, BTreeMap::new()))
        .unwrap();
    assert_eq!(verifiers.len(), 3);
    let checks = chain_checks(&w.plan, ring).unwrap();
    assert_eq!(
        checks.iter().map(|c| c.proofs.len()).collect::<Vec<_>>(),
        [1, 2, 1, 1],
        "plan order (sorted): drawn < limit, fee == fee_agreed, sum, age"
    );
    let encoded = encode_checks(&checks, &verifiers).unwrap();

    // The adapter writes no envelope whose policy peers cannot fetch from the
    // registry, nor one that should be verified on chain but would not be.
    let early = w.seal(100, "4000000.00").unwrap();
    let refused = ledger
        .append(early.id, &early.encode())
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("not published on the registry"),
        "{refused}"
    );
    ledger.publish_policy(POLICY, &[]).unwrap();
    let refused = ledger
        .append(early.id, &early.encode())
        .unwrap_err()
        .to_string();
    assert!(refused.contains("requires proofs on chain"), "{refused}");
    assert_eq!(ledger.len().unwrap(), 0);

    ledger.publish_policy(POLICY, &encoded).unwrap();
    let published = ledger.policy(&w.plan.hash()).unwrap().unwrap();
    assert_eq!(
        (
            published.text.as_str(),
            published.checks.as_slice(),
            published.version
        ),
        (POLICY, encoded.as_slice(), 1)
    );
    assert_eq!(ledger.policy(&[7u8; 32]).unwrap(), None);

    // A true record: through the adapter, verified on chain.
    let e0 = w.seal(0, "4200000.00").unwrap();
    let (r0, mined) = ledger.append_mined(&[(e0.id, e0.encode())]).unwrap();
    assert!(r0[0].new);
    println!(
        "verified append, 5 proofs: {} bytes, {} gas",
        e0.encode().len(),
        mined.gas_used
    );
    let batch: Vec<_> = (1..=4)
        .map(|i| {
            let e = w.seal(i, "3000000.00").unwrap();
            (e.id, e.encode())
        })
        .collect();
    let (_, four) = ledger.append_mined(&batch).unwrap();
    println!("verified batch of 4: {} gas each", four.gas_used / 4);
    // A retry is skipped without verifying again.
    assert!(!ledger.append(e0.id, &e0.encode()).unwrap().new);
    assert_eq!(ledger.len().unwrap(), 5);

    // The gateway refuses a false record at sealing.
    assert!(matches!(
        w.seal(9, "6000000.00"),
        Err(SealError::PredicateFalse(_))
    ));

    // A member bypassing its gateway, sending straight to the contract.
    let member = Chain::connect(&net.url(), DEV_KEY).unwrap();
    let honest = w.seal(10, "2500000.00").unwrap();
    let bytes = honest.encode();
    // 1. Plain `append` of an envelope whose policy requires on-chain checks.
    let plain = appendCall {
        ids: vec![FixedBytes(honest.id)],
        envelopes: vec![bytes.clone().into()],
    }
    .abi_encode();
    assert!(matches!(
        rt.block_on(member.transact(at, plain, 3_000_000)),
        Err(EvmError::Reverted(_))
    ));
    // 2. `limit` re-committed below `drawn`, re-signed: the `<` proof is now false.
    let mut lying = honest.clone();
    let drawn = lying
        .fields
        .iter()
        .position(|f| f.name == "part_a")
        .unwrap();
    let small = lying.fields[drawn].body.clone();
    let limit = lying.fields.iter().position(|f| f.name == "limit").unwrap();
    assert!(matches!(small, FieldBody::Bn254Committed(_)));
    lying.fields[limit].body = small;
    sign_envelope(&mut lying, &w.secrets["bank-a"]).unwrap();
    let rejected = direct_verified(&member, &rt, at, &lying.encode(), &encoded, words(&lying));
    assert!(
        matches!(rejected, Err(EvmError::Reverted(_))),
        "{rejected:?}"
    );
    // 3. Another envelope's (valid) proofs.
    let other = w.seal(11, "2600000.00").unwrap();
    let rejected = direct_verified(&member, &rt, at, &bytes, &encoded, words(&other));
    assert!(
        matches!(rejected, Err(EvmError::Reverted(_))),
        "{rejected:?}"
    );
    // 4. One proof word changed (each of the 5 proofs in turn).
    for k in 0..5 {
        let mut p = words(&honest);
        p[8 * k + 7] ^= U256::from(1u8);
        let rejected = direct_verified(&member, &rt, at, &bytes, &encoded, p);
        assert!(matches!(rejected, Err(EvmError::Reverted(_))), "proof {k}");
    }
    // 5. A proof missing, or one too many.
    let mut p = words(&honest);
    p.truncate(32);
    assert!(direct_verified(&member, &rt, at, &bytes, &encoded, p).is_err());
    let mut p = words(&honest);
    p.extend(words(&honest)[..8].to_vec());
    assert!(direct_verified(&member, &rt, at, &bytes, &encoded, p).is_err());
    // 6. Other checks than the published ones (a verifier that accepts anything).
    let mut lax = encoded.clone();
    lax[2..22].copy_from_slice(Address::repeat_byte(0x11).as_slice());
    assert!(direct_verified(&member, &rt, at, &bytes, &lax, words(&honest)).is_err());
    // 7. Truncated envelope bytes.
    assert!(direct_verified(
        &member,
        &rt,
        at,
        &bytes[..bytes.len() / 2],
        &encoded,
        words(&honest)
    )
    .is_err());

    // None of it was recorded; the honest envelope still goes in, directly.
    assert_eq!(ledger.len().unwrap(), 5);
    direct_verified(&member, &rt, at, &bytes, &encoded, words(&honest)).unwrap();
    assert_eq!(ledger.by_id(&honest.id).unwrap().unwrap().envelope, bytes);
    assert_eq!(ledger.verify_chain().unwrap(), 6);
    net.stop().unwrap();
}
