//! Envelopes per second and gas per envelope on a local anvil node, through
//! the EVM ledger adapter: one transaction per envelope, then batches of
//! `MAX_PER_TRANSACTION`, then (for a `require proofs on chain` policy)
//! verified batches. A measurement, not a test: numbers go to
//! docs/benchmarks/evm.md.
//!
//! `cargo run --release -p veilgate-evm --example evm_throughput [N]`
//! (needs VEILGATE_ANVIL and VEILGATE_SOLCJS, or `.ci/run` once).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::time::Instant;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::predicates::{chain_checks, KeyRing};
use veilgate_core::{
    seal, InstitutionSecrets, LedgerDirectory, PseudonymKey, SealRequest, SuiteId,
};
use veilgate_evm::chain::Chain;
use veilgate_evm::devnet::{Devnet, DEV_KEY};
use veilgate_evm::ledger::{EvmLedger, MAX_PER_TRANSACTION, MAX_VERIFIED_PER_TRANSACTION};
use veilgate_evm::onchain::encode_checks;
use veilgate_ledger::Ledger;

fn envelopes(
    text: &str,
    sample: &serde_json::Value,
    n: usize,
    tag: &str,
) -> Vec<([u8; 16], Vec<u8>)> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let plan = veilgate_policies::compile(text).unwrap();
    let secrets: BTreeMap<_, _> = ["bank-a", "bank-b", "bank-c", "regulator"]
        .into_iter()
        .map(|m| {
            (
                m,
                InstitutionSecrets::generate(m, SuiteId::Standard, &mut rng),
            )
        })
        .collect();
    let directory = LedgerDirectory {
        ledger: plan.ledgers[0].clone(),
        suite: "standard".into(),
        members: secrets.values().map(|s| s.public()).collect(),
        roles: BTreeMap::from([("regulator".to_owned(), vec!["regulator".to_owned()])]),
        sees_all: Vec::new(),
        sets: BTreeMap::new(),
        pseudonyms: None,
    };
    // One ring for every seal: development keys are built once per circuit.
    let trust = veilgate_core::Trust::new(
        directory.clone(),
        veilgate_core::PolicySet::default(),
        std::sync::Arc::new(veilgate_core::predicates::KeyRing::development()),
    );
    let record = plan.validate_record(sample).unwrap();
    let pk = PseudonymKey::generate(&mut rng);
    (0..n)
        .map(|i| {
            let e = seal(
                &SealRequest {
                    plan: &plan,
                    record: &record,
                    trust: &trust,
                    submitter: &secrets["bank-a"],
                    pseudonyms: (&pk).into(),
                    idempotency_key: &format!("{tag}-{i}"),
                    timestamp_ms: 1_795_600_000_000,
                },
                &mut rng,
            )
            .unwrap();
            (e.id, e.encode())
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let interbank = include_str!("../../../policies/templates/interbank-payment.policy");
    let sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/interbank-payment.sample.json"
    ))
    .unwrap();
    let net = Devnet::start(None).unwrap();
    let (ledger, _) = EvmLedger::deploy(Chain::connect(&net.url(), DEV_KEY).unwrap()).unwrap();
    ledger.publish_policy(interbank, &[]).unwrap();

    let one = envelopes(interbank, &sample, n / 4, "one");
    let t = Instant::now();
    let mut gas = 0;
    for (id, bytes) in &one {
        gas += ledger
            .append_mined(&[(*id, bytes.clone())])
            .unwrap()
            .1
            .gas_used;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "interbank-payment, one per transaction: {} envelopes in {s:.2} s = {:.1}/s, {} gas each",
        one.len(),
        one.len() as f64 / s,
        gas / one.len() as u64
    );

    let batched = envelopes(interbank, &sample, n, "batch");
    let t = Instant::now();
    let mut gas = 0;
    for chunk in batched.chunks(MAX_PER_TRANSACTION) {
        gas += ledger.append_mined(chunk).unwrap().1.gas_used;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "interbank-payment, {MAX_PER_TRANSACTION} per transaction: {} envelopes in {s:.2} s = {:.1}/s, {} gas each",
        batched.len(),
        batched.len() as f64 / s,
        gas / batched.len() as u64
    );

    // Supply-chain receivable with `require proofs on chain` (one compare proof).
    let text = include_str!("../../../policies/templates/supply-chain-receivable.policy").replacen(
        "require encrypt to [regulator]\n",
        "require encrypt to [regulator]\nrequire proofs on chain\n",
        1,
    );
    let plan = veilgate_policies::compile(&text).unwrap();
    let ring = &KeyRing::development();
    let verifiers = ledger
        .deploy_verifiers(&plan, ring, BTreeMap::new())
        .unwrap();
    let checks = encode_checks(&chain_checks(&plan, ring).unwrap(), &verifiers).unwrap();
    ledger.publish_policy(&text, &checks).unwrap();
    let sample: serde_json::Value = serde_json::from_str(include_str!(
        "../../../policies/templates/supply-chain-receivable.sample.json"
    ))
    .unwrap();
    let verified = envelopes(&text, &sample, n / 4, "verified");
    let t = Instant::now();
    let mut gas = 0;
    for chunk in verified.chunks(MAX_VERIFIED_PER_TRANSACTION) {
        gas += ledger.append_mined(chunk).unwrap().1.gas_used;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "supply-chain-receivable verified on chain, {MAX_VERIFIED_PER_TRANSACTION} per transaction: {} envelopes in {s:.2} s = {:.1}/s, {} gas each",
        verified.len(),
        verified.len() as f64 / s,
        gas / verified.len() as u64
    );
    assert_eq!(ledger.verify_chain().unwrap(), ledger.len().unwrap());
    net.stop().unwrap();
}
