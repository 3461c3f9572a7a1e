//! Primitive costs: Poseidon (circomlib-compatible), a Merkle tree build, and
//! the bulletproofs `[lo, hi]` range proof. Run: `cargo bench -p veilgate-circuits`.
#![allow(clippy::unwrap_used)]

use ark_bn254::Bn254;
use ark_bn254::Fr;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::range::RangeCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{Keys, Statement};
use veilgate_circuits::merkle::{set_member, MerkleTree, SortedSet};
use veilgate_circuits::poseidon::{hash, hash2};
use veilgate_circuits::{Opening, RangeStatement};

fn poseidon(c: &mut Criterion) {
    let (a, b) = (Fr::from(1u64), Fr::from(2u64));
    c.bench_function("poseidon/hash2 (t=3)", |bench| {
        bench.iter(|| hash2(std::hint::black_box(a), std::hint::black_box(b)))
    });
    let four = [
        Fr::from(1u64),
        Fr::from(2u64),
        Fr::from(3u64),
        Fr::from(4u64),
    ];
    c.bench_function("poseidon/hash4 (t=5)", |bench| {
        bench.iter(|| hash(std::hint::black_box(&four)).unwrap())
    });
}

fn merkle(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle");
    g.sample_size(10);
    let leaves: Vec<Fr> = (0..1u64 << 16).map(Fr::from).collect();
    g.bench_function("build 2^16 leaves, depth 20, all cores", |bench| {
        bench.iter_batched(
            || leaves.clone(),
            |l| MerkleTree::from_leaves(20, l).unwrap(),
            BatchSize::LargeInput,
        )
    });
    let mut tree = MerkleTree::from_leaves(20, leaves).unwrap();
    g.bench_function("incremental update, depth 20", |bench| {
        bench.iter(|| tree.update(12345, Fr::from(7u64)).unwrap())
    });
    g.bench_function("membership path, depth 20", |bench| {
        bench.iter(|| tree.path(54321).unwrap())
    });
    g.finish();
}

fn range(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let st = RangeStatement {
        lo: 1,
        hi: 100_000_000_000,
        context: b"bench",
    };
    let opening = Opening::random(125_000_000, &mut rng);
    let proof = st.prove(&opening, &mut rng).unwrap();
    let commitment = opening.commit();
    c.bench_function("range/prove [lo, hi] (2x64-bit aggregated)", |bench| {
        bench.iter(|| st.prove(&opening, &mut rng).unwrap())
    });
    c.bench_function("range/verify [lo, hi]", |bench| {
        bench.iter(|| st.verify(&commitment, &proof, &mut rng).unwrap())
    });
}

/// Prove and verify one statement, reporting its constraint count in the name.
fn prove_verify<S: Statement>(c: &mut Criterion, label: &str, statement: S, samples: usize) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let keys = Keys::dev_setup(&statement).unwrap();
    let public = statement.public_inputs();
    let proof = keys.prove(statement.clone(), &mut rng).unwrap();
    let n = keys.num_constraints();
    let mut g = c.benchmark_group("groth16");
    g.sample_size(samples);
    g.bench_function(format!("{label} prove ({n} constraints)"), |bench| {
        bench.iter(|| keys.prove(statement.clone(), &mut rng).unwrap())
    });
    g.bench_function(format!("{label} verify (prepared key)"), |bench| {
        bench.iter(|| keys.verify(&public, &proof).unwrap())
    });
    g.finish();
}

fn groth16(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let r = || Fr::from(0x5eed_u64);
    prove_verify(c, "range64", RangeCircuit::new(123_456_789, r()), 100);
    // The baseline: arkworks' own prover, which synthesises the circuit and
    // builds its matrices on every proof.
    {
        let st = RangeCircuit::new(123_456_789, r());
        let pk = keys_pk(&st);
        c.bench_function(
            "groth16/range64 prove, arkworks Groth16::prove (baseline)",
            |bench| bench.iter(|| Groth16::<Bn254>::prove(&pk, st.clone(), &mut rng).unwrap()),
        );
    }
    prove_verify(
        c,
        "compare64",
        CompareCircuit::new(96_000_000, r(), 120_000_000, r()),
        50,
    );
    prove_verify(
        c,
        "sum2x64",
        SumCircuit::new(&[(600, r()), (400, r())], r()).unwrap(),
        50,
    );
    prove_verify(
        c,
        "date-threshold",
        DateThresholdCircuit::new(19_900_615, r(), 20_261_125, 18),
        50,
    );
    let tree = MerkleTree::from_leaves(20, (0..1000u64).map(Fr::from).collect()).unwrap();
    let member = MembershipCircuit::new(
        tree.root(),
        tree.leaf(777).unwrap(),
        r(),
        &tree.path(777).unwrap(),
    );
    prove_verify(c, "membership-d20", member, 10);
    let set = SortedSet::new(
        20,
        (1..1000u64).map(|i| set_member(&i.to_be_bytes())).collect(),
    )
    .unwrap();
    let x = set_member(b"not in the set");
    let absent = NonMembershipCircuit::new(set.root(), x, r(), &set.prove_absent(x).unwrap());
    prove_verify(c, "non-membership-d20", absent, 10);
}

/// A proving key for the baseline (`Keys` keeps its own private).
fn keys_pk(st: &RangeCircuit) -> ark_groth16::ProvingKey<Bn254> {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    Groth16::<Bn254>::circuit_specific_setup(st.blank(), &mut rng)
        .unwrap()
        .0
}

fn groth16_batch(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let keys = Keys::dev_setup(&RangeCircuit::shape()).unwrap();
    let items: Vec<(Vec<Fr>, _)> = (0..64u64)
        .map(|i| {
            let st = RangeCircuit::new(i * 1_000_003, Fr::from(i + 1));
            (st.public_inputs(), keys.prove(st, &mut rng).unwrap())
        })
        .collect();
    let batch: Vec<(&[Fr], _)> = items.iter().map(|(p, pr)| (p.as_slice(), pr)).collect();
    let mut g = c.benchmark_group("groth16 batch");
    g.sample_size(20);
    g.bench_function("64 range64 proofs, one by one", |bench| {
        bench.iter(|| {
            for (p, pr) in &batch {
                keys.verify(p, pr).unwrap();
            }
        })
    });
    g.bench_function("64 range64 proofs, batched", |bench| {
        bench.iter(|| keys.verify_batch(&batch, &mut rng).unwrap())
    });
    g.finish();
}

fn range_batch(c: &mut Criterion) {
    use veilgate_circuits::range::batch::verify_batch;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let st = RangeStatement {
        lo: 1,
        hi: 100_000_000_000,
        context: b"bench",
    };
    let items: Vec<_> = (0..64)
        .map(|i| {
            let o = Opening::random(1_000 + i, &mut rng);
            let p = st.prove(&o, &mut rng).unwrap();
            (o.commit(), p)
        })
        .collect();
    let mut g = c.benchmark_group("range batch");
    g.sample_size(20);
    g.bench_function("64 [lo, hi] proofs (2x64-bit), one by one", |bench| {
        bench.iter(|| {
            for (cm, p) in &items {
                st.verify(cm, p, &mut rng).unwrap();
            }
        })
    });
    g.bench_function("64 [lo, hi] proofs (2x64-bit), batched", |bench| {
        bench.iter(|| {
            let inst: Vec<_> = items
                .iter()
                .map(|(cm, p)| st.instance(cm, p).unwrap())
                .collect();
            verify_batch(&inst, &mut rng).unwrap()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    poseidon,
    merkle,
    range,
    range_batch,
    groth16,
    groth16_batch
);
criterion_main!(benches);
