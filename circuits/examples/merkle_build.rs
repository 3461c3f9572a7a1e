#![allow(clippy::indexing_slicing)]
//! One measured build of a Merkle tree over 2^20 leaves (the size issue 4 sets
//! a target for), plus appends: `cargo run --release -p veilgate-circuits --example merkle_build`.
//! A one-shot measurement for the report, not a test.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use ark_bn254::Fr;
use veilgate_circuits::merkle::MerkleTree;

fn main() {
    let n = 1u64 << 20;
    let leaves: Vec<Fr> = (0..n).map(Fr::from).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let mut tree = MerkleTree::from_leaves(20, leaves[..(n as usize - 1000)].to_vec()).unwrap();
    let build = t.elapsed();
    let t = Instant::now();
    for l in &leaves[(n as usize - 1000)..] {
        tree.push(*l).unwrap();
    }
    let appends = t.elapsed();
    println!(
        "build of {} leaves, depth 20, {threads} threads: {:.2} s",
        n - 1000,
        build.as_secs_f64()
    );
    println!(
        "1000 incremental appends: {:.1} µs each",
        appends.as_secs_f64() * 1e6 / 1000.0
    );
    println!("root {:?}", tree.root());
}
