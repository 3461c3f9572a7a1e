//! Primitive costs: Poseidon (circomlib-compatible), a Merkle tree build, and
//! the bulletproofs `[lo, hi]` range proof. Run: `cargo bench -p veilgate-circuits`.
#![allow(clippy::unwrap_used)]

use ark_bn254::Fr;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::merkle::MerkleTree;
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

fn groth16_range(c: &mut Criterion) {
    use ark_ff::UniformRand;
    use veilgate_circuits::groth16::range::RangeKeys;
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let keys = RangeKeys::setup(&mut rng).unwrap();
    let r = Fr::rand(&mut rng);
    let (commitment, proof) = keys.prove(123_456_789, r, &mut rng).unwrap();
    c.bench_function(
        "groth16/range64+poseidon prove (305 constraints)",
        |bench| bench.iter(|| keys.prove(123_456_789, r, &mut rng).unwrap()),
    );
    c.bench_function("groth16/range64+poseidon verify (prepared key)", |bench| {
        bench.iter(|| keys.verify(commitment, &proof).unwrap())
    });
}

fn groth16_membership(c: &mut Criterion) {
    use ark_ff::UniformRand;
    use veilgate_circuits::groth16::membership::MembershipKeys;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let keys = MembershipKeys::setup(20, &mut rng).unwrap();
    let tree = MerkleTree::from_leaves(20, (0..1000u64).map(Fr::from).collect()).unwrap();
    let (root, leaf, path) = (
        tree.root(),
        tree.leaf(777).unwrap(),
        tree.path(777).unwrap(),
    );
    let r = Fr::rand(&mut rng);
    let (commitment, proof) = keys.prove(root, leaf, r, &path, &mut rng).unwrap();
    let mut g = c.benchmark_group("groth16");
    g.sample_size(10);
    g.bench_function("membership depth 20 prove (5,082 constraints)", |bench| {
        bench.iter(|| keys.prove(root, leaf, r, &path, &mut rng).unwrap())
    });
    g.bench_function("membership depth 20 verify (prepared key)", |bench| {
        bench.iter(|| keys.verify(root, commitment, &proof).unwrap())
    });
    g.finish();
}

fn groth16_compare(c: &mut Criterion) {
    use ark_ff::UniformRand;
    use veilgate_circuits::groth16::compare::CompareKeys;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let keys = CompareKeys::setup(&mut rng).unwrap();
    let (ra, rb) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let (ca, cb, proof) = keys
        .prove(96_000_000, ra, 120_000_000, rb, &mut rng)
        .unwrap();
    c.bench_function("groth16/compare prove (675 constraints)", |bench| {
        bench.iter(|| {
            keys.prove(96_000_000, ra, 120_000_000, rb, &mut rng)
                .unwrap()
        })
    });
    c.bench_function("groth16/compare verify (prepared key)", |bench| {
        bench.iter(|| keys.verify(ca, cb, &proof).unwrap())
    });
}

criterion_group!(
    benches,
    poseidon,
    merkle,
    range,
    groth16_range,
    groth16_compare,
    groth16_membership
);
criterion_main!(benches);
