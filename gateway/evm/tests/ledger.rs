//! The EVM ledger adapter against a real node (anvil): exactly-once appends,
//! conflicts, reads by id and position, the hash chain, batches, a node
//! restart that keeps its state, writers only — and the gas an envelope costs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_core::{
    seal, InstitutionSecrets, LedgerDirectory, PseudonymKey, SealRequest, SuiteId,
};
use veilgate_evm::chain::Chain;
use veilgate_evm::devnet::tools_or_skip;
use veilgate_evm::devnet::{Devnet, DEV_KEY};
use veilgate_evm::ledger::{EvmLedger, REGISTRY_BYTECODE_HEX};
use veilgate_evm::solc;
use veilgate_ledger::{Ledger, LedgerError};

/// Anvil's second development account: not a writer.
const OTHER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

#[test]
fn the_committed_registry_bytecode_is_the_compiled_source() {
    if !tools_or_skip() {
        return;
    }
    let source = include_str!("../contracts/VeilgateRegistry.sol");
    let fresh = solc::compile(source, "VeilgateRegistry").unwrap();
    if veilgate_circuits::vectors::write_mode().unwrap() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/contracts/VeilgateRegistry.bin"
        );
        std::fs::write(path, hex::encode(&fresh)).unwrap();
    }
    assert_eq!(
        hex::encode(&fresh),
        REGISTRY_BYTECODE_HEX.trim(),
        "contracts/VeilgateRegistry.bin is stale: rerun with VEILGATE_WRITE_VECTORS=1"
    );
}

fn envelope(i: u32) -> ([u8; 16], Vec<u8>) {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&i.to_be_bytes());
    (id, format!("envelope bytes {i} ").repeat(20).into_bytes())
}

#[test]
fn appends_exactly_once_reads_back_and_survives_a_node_restart() {
    if !tools_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let net = Devnet::start(Some(&state)).unwrap();
    let port = net.port;
    let (ledger, deployed) =
        EvmLedger::deploy(Chain::connect(&net.url(), DEV_KEY).unwrap()).unwrap();
    let registry = ledger.address();
    println!("registry deployment: {} gas", deployed.gas_used);
    assert_eq!(ledger.len().unwrap(), 0);
    assert_eq!(ledger.head().unwrap(), None);

    let (id0, bytes0) = envelope(0);
    let first = ledger.append(id0, &bytes0).unwrap();
    assert!(first.new);
    assert_eq!(first.receipt.sequence, 0);
    let again = ledger.append(id0, &bytes0).unwrap();
    assert!(!again.new);
    assert_eq!(again.receipt, first.receipt);
    assert!(matches!(
        ledger.append(id0, b"other bytes"),
        Err(LedgerError::Conflict(_))
    ));
    let e = ledger.by_id(&id0).unwrap().unwrap();
    assert_eq!((e.sequence, e.envelope.as_slice()), (0, bytes0.as_slice()));
    assert_eq!(ledger.by_sequence(0).unwrap().unwrap(), e);
    assert_eq!(ledger.by_sequence(1).unwrap(), None);
    assert_eq!(ledger.by_id(&[9u8; 16]).unwrap(), None);

    // A batch in one transaction, with an envelope already present inside it.
    let batch: Vec<_> = (1..=8)
        .map(envelope)
        .chain([(id0, bytes0.clone())])
        .collect();
    let (receipts, mined) = ledger.append_mined(&batch).unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|a| (a.receipt.sequence, a.new))
            .collect::<Vec<_>>(),
        (1..=8)
            .map(|s| (s, true))
            .chain([(0, false)])
            .collect::<Vec<_>>()
    );
    println!("batch of 8 new envelopes: {} gas", mined.gas_used);
    assert_eq!(ledger.len().unwrap(), 9);
    assert_eq!(ledger.verify_chain().unwrap(), 9);
    assert_eq!(ledger.head().unwrap().unwrap(), receipts[7].receipt);

    // Only admitted writers append.
    let outsider =
        EvmLedger::new(Chain::connect(&net.url(), OTHER_KEY).unwrap(), registry).unwrap();
    let (idx, bx) = envelope(100);
    assert!(matches!(
        outsider.append(idx, &bx),
        Err(LedgerError::Storage(_))
    ));
    assert_eq!(outsider.len().unwrap(), 9, "a reader sees the same ledger");

    // Stop the node cleanly (it writes its state), start it again on the same
    // port: nothing is lost, and the chain goes on.
    net.stop().unwrap();
    let net = Devnet::start_on(port, Some(&state)).unwrap();
    let ledger = EvmLedger::new(Chain::connect(&net.url(), DEV_KEY).unwrap(), registry).unwrap();
    assert_eq!(ledger.len().unwrap(), 9);
    assert_eq!(ledger.by_id(&id0).unwrap().unwrap().envelope, bytes0);
    let (id9, b9) = envelope(9);
    assert_eq!(ledger.append(id9, &b9).unwrap().receipt.sequence, 9);
    assert_eq!(ledger.verify_chain().unwrap(), 10);
    net.stop().unwrap();
}

/// Gas per envelope for each template the gateway seals, one per transaction
/// and in batches of 10 (printed; recorded in docs/benchmarks/evm.md).
#[test]
fn gas_per_envelope_for_each_template() {
    if !tools_or_skip() {
        return;
    }
    let net = Devnet::start(None).unwrap();
    let (ledger, _) = EvmLedger::deploy(Chain::connect(&net.url(), DEV_KEY).unwrap()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let members = ["bank-a", "bank-b", "bank-c", "regulator"];
    let secrets: BTreeMap<_, _> = members
        .iter()
        .map(|m| {
            (
                *m,
                InstitutionSecrets::generate(m, SuiteId::Standard, &mut rng),
            )
        })
        .collect();
    let pseudonym_key = PseudonymKey::generate(&mut rng);
    let mut lines = Vec::new();
    for (name, text) in veilgate_policies::TEMPLATES {
        let plan = veilgate_policies::compile(text).unwrap();
        if veilgate_core::unsupported(&plan).is_some() {
            continue;
        }
        let sample: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../../policies/templates/{}",
                env!("CARGO_MANIFEST_DIR"),
                name.replace(".policy", ".sample.json")
            ))
            .unwrap(),
        )
        .unwrap();
        let record = plan.validate_record(&sample).unwrap();
        ledger.publish_policy(text, &[]).unwrap();
        let directory = LedgerDirectory {
            ledger: plan.ledgers[0].clone(),
            suite: "standard".into(),
            members: secrets.values().map(|s| s.public()).collect(),
            roles: BTreeMap::from([
                ("regulator".to_owned(), vec!["regulator".to_owned()]),
                ("aml_monitor".to_owned(), vec!["bank-c".to_owned()]),
            ]),
            sees_all: Vec::new(),
            sets: BTreeMap::new(),
            pseudonyms: None,
        };
        let mut directory = directory;
        for (set, role) in veilgate_policies::SET_PUBLISHERS {
            directory
                .roles
                .insert((*role).to_owned(), vec!["regulator".to_owned()]);
            directory.sets.insert(
                (*set).to_owned(),
                veilgate_core::SetRule {
                    publisher: (*role).to_owned(),
                },
            );
        }
        let (sets, _) = veilgate_core::sets::development_sets(
            &directory,
            &secrets["regulator"],
            1_795_500_000_000,
        )
        .unwrap();
        // One ring for every seal: development keys are built once per circuit.
        let trust = veilgate_core::Trust::new(
            directory.clone(),
            veilgate_core::PolicySet::default(),
            std::sync::Arc::new(veilgate_core::predicates::KeyRing::development()),
        )
        .with_sets(sets);
        let envs: Vec<_> = (0..11)
            .map(|i| {
                seal(
                    &SealRequest {
                        plan: &plan,
                        record: &record,
                        trust: &trust,
                        submitter: &secrets[plan.submitter_in(&record).unwrap_or("bank-a")],
                        pseudonyms: (&pseudonym_key).into(),
                        idempotency_key: &format!("{name}-{i}"),
                        timestamp_ms: 1_795_600_000_000,
                    },
                    &mut rng,
                )
                .unwrap()
            })
            .collect();
        let one = &envs[0];
        let (receipts, single) = ledger.append_mined(&[(one.id, one.encode())]).unwrap();
        assert!(receipts[0].new);
        let batch: Vec<_> = envs[1..].iter().map(|e| (e.id, e.encode())).collect();
        let (_, ten) = ledger.append_mined(&batch).unwrap();
        lines.push(format!(
            "{name}: envelope {} bytes; alone {} gas; in a batch of 10 {} gas each",
            one.encode().len(),
            single.gas_used,
            ten.gas_used / 10
        ));
    }
    assert!(lines.len() >= 3, "{lines:?}");
    assert_eq!(ledger.verify_chain().unwrap(), ledger.len().unwrap());
    for l in &lines {
        println!("{l}");
    }
    net.stop().unwrap();
}

/// A set root entry is appended like any entry, and the registry keeps its
/// root per set and version (versions in order, under the entry's own id).
#[test]
fn the_registry_keeps_set_roots_in_version_order() {
    if !tools_or_skip() {
        return;
    }
    let net = Devnet::start(None).unwrap();
    let (ledger, _) = EvmLedger::deploy(Chain::connect(&net.url(), DEV_KEY).unwrap()).unwrap();
    let publisher = InstitutionSecrets::generate(
        "regulator",
        SuiteId::Standard,
        &mut ChaCha20Rng::seed_from_u64(8),
    );
    let members: Vec<String> = ["Boris Fictus", "Zhao Demo"].map(String::from).to_vec();
    let entry = |version: u32| {
        let c = veilgate_core::sets::SetContents::build(
            "cross-border",
            "sanctions_list",
            version,
            &members,
        )
        .unwrap();
        veilgate_core::sets::SetRoot::sign(&c, 1_795_600_000_000 + u64::from(version), &publisher)
            .unwrap()
    };
    assert_eq!(ledger.set_root("sanctions_list").unwrap(), None);
    // Version 2 before version 1.
    let v2 = entry(2);
    assert!(ledger.append(v2.id(), &v2.encode()).is_err());
    // Under another id than its own.
    let v1 = entry(1);
    assert!(ledger.append([7; 16], &v1.encode()).is_err());
    let appended = ledger.append(v1.id(), &v1.encode()).unwrap();
    assert!(appended.new);
    assert_eq!(
        ledger.set_root("sanctions_list").unwrap(),
        Some((1, v1.root))
    );
    ledger.append(v2.id(), &v2.encode()).unwrap();
    assert_eq!(
        ledger.set_root("sanctions_list").unwrap(),
        Some((2, v2.root))
    );
    // Read back as entries, they are the set roots a follower admits.
    let back = ledger
        .by_sequence(appended.receipt.sequence)
        .unwrap()
        .unwrap();
    assert_eq!(
        veilgate_core::sets::in_entry(&back.envelope_id, &back.envelope),
        Some(v1)
    );
    net.stop().unwrap();
}
