//! On-chain Groth16 verification against a real EVM (anvil): for each
//! circuit's known-answer proof, the generated Solidity verifier is compiled
//! with solcjs, deployed, and called through the BN254 precompiles. It must
//! accept the stored proof and refuse a wrong input, an input ≥ r, a
//! non-canonical coordinate, another circuit's proof, and a forged proof
//! of a false statement under each circuit's keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use alloy::primitives::{Address, U256};
use alloy::sol;
use alloy::sol_types::SolCall;
use ark_bn254::Fr;
use rand_chacha::rand_core::SeedableRng;
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::keys::verifying_key_from_bytes;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::range::RangeCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{evm, solidity, Groth16Error, Keys, Statement};
use veilgate_circuits::merkle::{set_member, MerkleTree, SortedSet};
use veilgate_evm::chain::Chain;
use veilgate_evm::devnet::tools_or_skip;
use veilgate_evm::devnet::{Devnet, DEV_KEY};
use veilgate_evm::{solc, EvmError};

sol! {
    function verifyProof(uint256[8] proof, uint256[] input) external view returns (bool);
}

/// BN254's scalar field modulus r and base field modulus q.
const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
const Q: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";

fn words(hex_text: &str) -> Vec<U256> {
    hex::decode(hex_text)
        .unwrap()
        .chunks(32)
        .map(|c| U256::from_be_slice(c))
        .collect()
}

fn proof8(w: &[U256]) -> [U256; 8] {
    w.try_into().unwrap()
}

async fn verifies(chain: &Chain, at: Address, proof: [U256; 8], input: Vec<U256>) -> bool {
    let out = chain
        .call(at, verifyProofCall { proof, input }.abi_encode())
        .await
        .unwrap();
    verifyProofCall::abi_decode_returns(&out).unwrap()
}

async fn deploy_verifier(
    chain: &Chain,
    circuit: &str,
    key_id: [u8; 32],
    vk: &ark_groth16::VerifyingKey<ark_bn254::Bn254>,
) -> Result<(Address, u64), EvmError> {
    let source = solidity::verifier_source(circuit, &key_id, vk);
    let code = solc::compile(&source, &solidity::contract_name(circuit))?;
    let (at, mined) = chain.deploy(code).await?;
    Ok((at, mined.gas_used))
}

/// The verifier at `at` accepts an honest proof under the circuit's
/// development keys and refuses a proof of `lying`, a false statement,
/// made by a prover that skips the satisfaction check.
async fn check_forgery<S: Statement + Clone>(chain: &Chain, at: Address, honest: S, lying: S) {
    let keys = Keys::dev_setup(&honest).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let words_of = |proof: &ark_groth16::Proof<ark_bn254::Bn254>| {
        proof8(
            &evm::proof_words(proof)
                .iter()
                .map(|w| U256::from_be_bytes(*w))
                .collect::<Vec<_>>(),
        )
    };
    let inputs = |public: &[Fr]| -> Vec<U256> {
        public
            .iter()
            .map(|x| U256::from_be_bytes(veilgate_circuits::merkle::to_bytes(x)))
            .collect()
    };
    let id = keys.circuit_id().to_owned();
    let public = honest.public_inputs();
    let proof = keys.prove(honest, &mut rng).unwrap();
    assert!(
        verifies(chain, at, words_of(&proof), inputs(&public)).await,
        "{id}: the verifier holds the development keys"
    );
    let public = lying.public_inputs();
    assert_eq!(
        keys.prove(lying.clone(), &mut rng).unwrap_err(),
        Groth16Error::Unsatisfied,
        "{id}: the statement is false"
    );
    let forged = keys.prove_unchecked(lying, &mut rng).unwrap();
    assert_eq!(
        keys.verify(&public, &forged),
        Err(Groth16Error::Rejected),
        "{id}"
    );
    assert!(
        !verifies(chain, at, words_of(&forged), inputs(&public)).await,
        "{id}: a forged proof is refused on chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_verifiers_accept_exactly_the_true_proofs_on_chain() {
    if !tools_or_skip() {
        return;
    }
    let net = Devnet::start(None).unwrap();
    let chain = Chain::connect(&net.url(), DEV_KEY).unwrap();
    let kat: serde_json::Value = serde_json::from_str(include_str!(
        "../../../circuits/tests/vectors/groth16-v1.json"
    ))
    .unwrap();
    let (r, q) = (
        U256::from_str_radix(R, 10).unwrap(),
        U256::from_str_radix(Q, 10).unwrap(),
    );
    let mut report = Vec::new();
    let mut deployed = Vec::new();
    for e in kat["entries"].as_array().unwrap() {
        let circuit = e["circuit"].as_str().unwrap();
        let key_id: [u8; 32] = hex::decode(e["key_id"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let vk_bytes = hex::decode(e["verifying_key"].as_str().unwrap()).unwrap();
        let pvk = verifying_key_from_bytes(circuit, &vk_bytes, key_id).unwrap();
        let (at, deploy_gas) = deploy_verifier(&chain, circuit, key_id, &pvk.vk)
            .await
            .unwrap();
        let proof = proof8(&words(e["proof_evm_words"].as_str().unwrap()));
        let input: Vec<U256> = e["public_inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| U256::from_be_slice(&hex::decode(x.as_str().unwrap()).unwrap()))
            .collect();

        assert!(
            verifies(&chain, at, proof, input.clone()).await,
            "{circuit}"
        );
        let mut wrong = input.clone();
        wrong[0] = (wrong[0] + U256::from(1)) % r;
        assert!(
            !verifies(&chain, at, proof, wrong).await,
            "{circuit}: wrong input"
        );
        let mut aliased = input.clone();
        aliased[0] += r; // the same field element, not reduced
        assert!(
            !verifies(&chain, at, proof, aliased).await,
            "{circuit}: input ≥ r"
        );
        let mut high = proof;
        high[1] += q; // A.y + q: a second encoding of the same point
        assert!(
            !verifies(&chain, at, high, input.clone()).await,
            "{circuit}: coordinate ≥ q"
        );
        assert!(
            !verifies(&chain, at, proof, input[1..].to_vec()).await,
            "{circuit}: input count"
        );

        // As a transaction (what a registry contract pays): gas with an explicit limit.
        let data = verifyProofCall {
            proof,
            input: input.clone(),
        }
        .abi_encode();
        let mined = chain.transact(at, data, 2_000_000).await.unwrap();
        report.push(format!(
            "{circuit}: deploy {deploy_gas} gas, verifyProof transaction {} gas ({} public inputs)",
            mined.gas_used,
            input.len()
        ));
        deployed.push((circuit.to_owned(), at, proof, input));
    }
    // A proof of one circuit is refused by another circuit's verifier.
    let (c0, at0, _, in0) = &deployed[0];
    let (c1, _, p1, _) = &deployed[1];
    assert!(
        !verifies(&chain, *at0, *p1, in0.clone()).await,
        "{c1} proof at {c0}"
    );

    // A forged proof for every verifier: each circuit's development keys (the
    // vectors' keys), an honest proof accepted on chain first — so the
    // verifier holds exactly those keys — then a prover patched to skip the
    // satisfaction check proves a false statement: refused on chain as off.
    let at = |circuit: &str| deployed.iter().find(|d| d.0 == circuit).unwrap().1;
    let r = Fr::from(424_242u64);
    let (r2, rt) = (Fr::from(77u64), Fr::from(99u64));
    check_forgery(
        &chain,
        at("range64-v1"),
        RangeCircuit::new(77, r),
        // Commits to 9, claims 5's bits.
        RangeCircuit {
            value: Some(5),
            ..RangeCircuit::new(6, Fr::from(9u64))
        },
    )
    .await;
    check_forgery(
        &chain,
        at("compare64-v1"),
        CompareCircuit::new(1, r, 2, r2),
        CompareCircuit::new(2, r, 1, r2),
    )
    .await;
    let mut off_by_one = SumCircuit::new(&[(600, r), (400, r2)], rt).unwrap();
    off_by_one.total_commitment = veilgate_circuits::groth16::commit(Fr::from(1001u64), rt);
    check_forgery(
        &chain,
        at("sum2x64-v1"),
        SumCircuit::new(&[(600, r), (400, r2)], rt).unwrap(),
        off_by_one,
    )
    .await;
    check_forgery(
        &chain,
        at("date-threshold-v1"),
        DateThresholdCircuit::new(19900615, r, 20261125, 18),
        DateThresholdCircuit::new(20100101, r, 20261125, 18),
    )
    .await;
    let tree =
        MerkleTree::from_leaves(20, (0..40u64).map(|i| Fr::from(1000 + i)).collect()).unwrap();
    let path = tree.path(17).unwrap();
    check_forgery(
        &chain,
        at("membership-d20-v1"),
        MembershipCircuit::new(tree.root(), tree.leaf(17).unwrap(), r, &path),
        // An outsider with a member's path.
        MembershipCircuit::new(tree.root(), Fr::from(5u64), r, &path),
    )
    .await;
    let listed = set_member(b"Evil Corp");
    let set = SortedSet::new(
        20,
        ["ACME Shell Co", "Blocked Ltd", "Evil Corp", "Nope SA"]
            .iter()
            .map(|n| set_member(n.as_bytes()))
            .collect(),
    )
    .unwrap();
    let clean = set_member(b"Honest Bank");
    check_forgery(
        &chain,
        at("non-membership-d20-v1"),
        NonMembershipCircuit::new(set.root(), clean, r, &set.prove_absent(clean).unwrap()),
        // A listed name with the gap next to it.
        NonMembershipCircuit::new(
            set.root(),
            listed,
            r,
            &set.prove_absent(listed + Fr::from(1u64)).unwrap(),
        ),
    )
    .await;

    for line in &report {
        println!("{line}");
    }
    net.stop().unwrap();
}

/// Keys from a multi-party ceremony (two phase-1 members and a beacon,
/// two phase-2 members and a beacon, all in process) generate a verifier
/// that accepts their proofs on chain and refuses a wrong input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_s_keys_verify_on_chain() {
    use veilgate_circuits::ceremony::phase2;
    use veilgate_circuits::ceremony::ptau::{contributor_rng, Ptau};
    use veilgate_circuits::groth16::constraint_matrices;

    if !tools_or_skip() {
        return;
    }
    let mut os = rand_chacha::ChaCha20Rng::seed_from_u64(31);
    let mut t = Ptau::new(10).unwrap();
    for who in ["bank-a", "bank-b"] {
        t = t
            .contribute(&mut contributor_rng(&mut os, who), who)
            .unwrap();
    }
    let t = t.beacon(&[9; 32], 10, "beacon").unwrap().prepare().unwrap();
    let shape = CompareCircuit::shape();
    let m = constraint_matrices(&shape).unwrap();
    let mut z = phase2::init(&m, &t).unwrap();
    for who in ["bank-a", "bank-b"] {
        z = z
            .contribute(&mut contributor_rng(&mut os, who), who)
            .unwrap();
    }
    let z = z.beacon(&[3; 32], 10, "beacon").unwrap();
    z.verify(&m, &t, &mut os).unwrap();
    let keys = Keys::from_proving_key(&shape, z.proving_key().unwrap()).unwrap();

    let st = CompareCircuit::new(960_000, Fr::from(5u64), 1_200_000, Fr::from(6u64));
    let public = st.public_inputs();
    let proof = keys.prove(st, &mut os).unwrap();
    let net = Devnet::start(None).unwrap();
    let chain = Chain::connect(&net.url(), DEV_KEY).unwrap();
    let (at, _) = deploy_verifier(&chain, "compare64-v1", keys.id(), keys.verifying_key())
        .await
        .unwrap();
    let to_words = |xs: &[Fr]| -> Vec<U256> {
        use ark_ff::{BigInteger, PrimeField};
        xs.iter()
            .map(|x| U256::from_be_slice(&x.into_bigint().to_bytes_be()))
            .collect()
    };
    let proof_w: Vec<U256> = evm::proof_words(&proof)
        .iter()
        .map(|w| U256::from_be_slice(w))
        .collect();
    assert!(verifies(&chain, at, proof8(&proof_w), to_words(&public)).await);
    let mut wrong = public.clone();
    wrong[0] += Fr::from(1u64);
    assert!(!verifies(&chain, at, proof8(&proof_w), to_words(&wrong)).await);
}
