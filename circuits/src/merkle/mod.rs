//! A fixed-depth Poseidon Merkle tree (circomlib `Poseidon(2)` nodes) over the
//! BN254 scalar field, for sets published by root: membership paths, and
//! non-membership by adjacency in a sorted tree.
//!
//! Empty positions hold `0`; an empty subtree of height `h` hashes to
//! `zeros[h]` (`zeros[0] = 0`, `zeros[h+1] = H(zeros[h], zeros[h])`), so only
//! the occupied prefix is stored. Appends and updates rehash one path
//! (`depth` hashes); a full build hashes each level once, split across the
//! available cores.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use sha2::{Digest, Sha256};

use crate::poseidon::hash2;

/// Deepest tree supported (2^32 leaves).
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    #[error("tree depth must be 1 to {MAX_DEPTH}")]
    Depth,
    #[error("the tree is full")]
    Full,
    #[error("leaf index is past the last leaf")]
    Index,
    #[error("the value is in the set")]
    Member,
    #[error("set members and queried values must lie in [1, 2^248 − 2]")]
    Domain,
}

/// A membership path: the siblings from the leaf up, and the leaf's index
/// (its bits, low first, say on which side each sibling sits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    pub index: u64,
    pub siblings: Vec<Fr>,
}

impl MerklePath {
    /// The root this path leads to from `leaf`.
    pub fn root_from(&self, leaf: Fr) -> Fr {
        let mut node = leaf;
        for (h, s) in self.siblings.iter().enumerate() {
            node = if (self.index >> h) & 1 == 0 {
                hash2(node, *s)
            } else {
                hash2(*s, node)
            };
        }
        node
    }

    pub fn verify(&self, root: Fr, leaf: Fr) -> bool {
        self.root_from(leaf) == root
    }
}

#[derive(Clone, Debug)]
pub struct MerkleTree {
    depth: usize,
    /// `levels[0]` are the leaves; `levels[h]` the occupied nodes at height h.
    levels: Vec<Vec<Fr>>,
    zeros: Vec<Fr>,
}

fn zeros(depth: usize) -> Vec<Fr> {
    let mut z = vec![Fr::zero()];
    for h in 0..depth {
        let last = z.get(h).copied().unwrap_or_default();
        z.push(hash2(last, last));
    }
    z
}

/// Hashes one level into the next, on up to `threads` threads.
fn next_level(level: &[Fr], empty: Fr, threads: usize) -> Vec<Fr> {
    let pairs = level.len().div_ceil(2);
    let pair = |i: usize| {
        let l = level.get(2 * i).copied().unwrap_or(empty);
        let r = level.get(2 * i + 1).copied().unwrap_or(empty);
        hash2(l, r)
    };
    if threads <= 1 || pairs < 1024 {
        return (0..pairs).map(pair).collect();
    }
    let chunk = pairs.div_ceil(threads);
    let mut out = vec![Fr::zero(); pairs];
    std::thread::scope(|s| {
        for (c, part) in out.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                for (k, slot) in part.iter_mut().enumerate() {
                    *slot = pair(c * chunk + k);
                }
            });
        }
    });
    out
}

impl MerkleTree {
    pub fn new(depth: usize) -> Result<Self, MerkleError> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(MerkleError::Depth);
        }
        Ok(MerkleTree {
            depth,
            levels: vec![Vec::new(); depth + 1],
            zeros: zeros(depth),
        })
    }

    /// Builds a tree over `leaves`, level by level, on all available cores.
    pub fn from_leaves(depth: usize, leaves: Vec<Fr>) -> Result<Self, MerkleError> {
        let mut t = MerkleTree::new(depth)?;
        if (leaves.len() as u128) > (1u128 << depth) {
            return Err(MerkleError::Full);
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut level = leaves;
        for h in 0..depth {
            let next = next_level(&level, t.zeros.get(h).copied().unwrap_or_default(), threads);
            if let Some(slot) = t.levels.get_mut(h) {
                *slot = level;
            }
            level = next;
        }
        if let Some(top) = t.levels.get_mut(depth) {
            *top = level;
        }
        Ok(t)
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn node(&self, h: usize, i: u64) -> Fr {
        self.levels
            .get(h)
            .and_then(|l| l.get(i as usize))
            .copied()
            .unwrap_or_else(|| self.zeros.get(h).copied().unwrap_or_default())
    }

    pub fn root(&self) -> Fr {
        self.node(self.depth, 0)
    }

    /// Sets leaf `index` (an existing one, or the next one) and rehashes its path.
    fn set(&mut self, index: u64, leaf: Fr) {
        let mut i = index;
        let mut node = leaf;
        for h in 0..=self.depth {
            if let Some(level) = self.levels.get_mut(h) {
                if (i as usize) < level.len() {
                    if let Some(slot) = level.get_mut(i as usize) {
                        *slot = node;
                    }
                } else {
                    level.push(node);
                }
            }
            if h == self.depth {
                break;
            }
            let sibling = self.node(h, i ^ 1);
            node = if i & 1 == 0 {
                hash2(node, sibling)
            } else {
                hash2(sibling, node)
            };
            i >>= 1;
        }
    }

    /// Appends a leaf; returns its index.
    pub fn push(&mut self, leaf: Fr) -> Result<u64, MerkleError> {
        let index = self.len();
        if (index as u128) >= (1u128 << self.depth) {
            return Err(MerkleError::Full);
        }
        self.set(index, leaf);
        Ok(index)
    }

    /// Replaces an existing leaf.
    pub fn update(&mut self, index: u64, leaf: Fr) -> Result<(), MerkleError> {
        if index >= self.len() {
            return Err(MerkleError::Index);
        }
        self.set(index, leaf);
        Ok(())
    }

    pub fn leaf(&self, index: u64) -> Option<Fr> {
        self.levels
            .first()
            .and_then(|l| l.get(index as usize))
            .copied()
    }

    pub fn path(&self, index: u64) -> Result<MerklePath, MerkleError> {
        if index >= self.len() {
            return Err(MerkleError::Index);
        }
        let siblings = (0..self.depth)
            .map(|h| self.node(h, (index >> h) ^ 1))
            .collect();
        Ok(MerklePath { index, siblings })
    }
}

/// A set published by root, for non-membership proofs: its members sorted,
/// between the sentinels `0` and `2^248 − 1`, so every non-member lies
/// strictly between two adjacent leaves. Members live in `[1, 2^248 − 2]`
/// (derive them with [`set_member`]): the circuit compares values through
/// 248-bit differences, which is sound only below `2^248` (see
/// `docs/notes-groth16.md`).
#[derive(Clone, Debug)]
pub struct SortedSet {
    tree: MerkleTree,
}

/// Proof that `x` is not in a sorted set: two adjacent leaves `low < x < high`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonMembership {
    pub low: Fr,
    pub high: Fr,
    pub low_path: MerklePath,
    pub high_path: MerklePath,
}

fn less(a: &Fr, b: &Fr) -> bool {
    a.into_bigint() < b.into_bigint()
}

/// Values compared in non-membership proofs have at most this many bits.
pub const SET_VALUE_BITS: usize = 248;

/// The top sentinel, `2^248 − 1`.
pub fn set_top() -> Fr {
    Fr::from(2u64).pow([SET_VALUE_BITS as u64]) - Fr::from(1u64)
}

/// Whether `x` may be a set member or a queried value: `1 ≤ x ≤ 2^248 − 2`.
pub fn in_set_domain(x: &Fr) -> bool {
    !x.is_zero() && less(x, &set_top())
}

/// The set element for a string or byte value:
/// `SHA-256(domain ‖ bytes)` truncated to 31 bytes (big-endian), so below `2^248`.
/// (Zero has probability 2^-248 and is refused by [`SortedSet::new`].)
pub fn set_member(bytes: &[u8]) -> Fr {
    let digest = Sha256::new()
        .chain_update(crate::domain::SET_MEMBER)
        .chain_update(bytes)
        .finalize();
    Fr::from_be_bytes_mod_order(digest.get(..31).unwrap_or_default())
}

impl SortedSet {
    /// Members may come in any order; duplicates are dropped. A member outside
    /// `[1, 2^248 − 2]` is an error.
    pub fn new(depth: usize, mut members: Vec<Fr>) -> Result<Self, MerkleError> {
        if !members.iter().all(in_set_domain) {
            return Err(MerkleError::Domain);
        }
        members.sort_by_key(|m| m.into_bigint());
        members.dedup();
        let mut leaves = Vec::with_capacity(members.len() + 2);
        leaves.push(Fr::zero());
        leaves.extend(members);
        leaves.push(set_top());
        Ok(SortedSet {
            tree: MerkleTree::from_leaves(depth, leaves)?,
        })
    }

    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// The path of member `x` (a leaf of the sorted tree), for a membership
    /// proof against the same root. `Err(MerkleError::Index)` if `x` is not a
    /// member (the sentinels are not members).
    pub fn prove_member(&self, x: Fr) -> Result<MerklePath, MerkleError> {
        if !in_set_domain(&x) {
            return Err(MerkleError::Domain);
        }
        let leaves = self
            .tree
            .levels
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let i = leaves.partition_point(|l| less(l, &x));
        if leaves.get(i) != Some(&x) {
            return Err(MerkleError::Index);
        }
        self.tree.path(i as u64)
    }

    /// Whether `x` is a member.
    pub fn contains(&self, x: Fr) -> bool {
        self.prove_member(x).is_ok()
    }

    /// How many members (sentinels not counted).
    pub fn members(&self) -> u64 {
        self.tree.len().saturating_sub(2)
    }

    pub fn prove_absent(&self, x: Fr) -> Result<NonMembership, MerkleError> {
        if !in_set_domain(&x) {
            return Err(MerkleError::Domain);
        }
        let leaves = self
            .tree
            .levels
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // First leaf not below x; the sentinels make it exist and be ≥ 1.
        let hi = leaves.partition_point(|l| less(l, &x));
        let high = leaves.get(hi).copied().ok_or(MerkleError::Index)?;
        if high == x || hi == 0 {
            return Err(MerkleError::Member);
        }
        let lo = hi - 1;
        let low = leaves.get(lo).copied().ok_or(MerkleError::Index)?;
        Ok(NonMembership {
            low,
            high,
            low_path: self.tree.path(lo as u64)?,
            high_path: self.tree.path(hi as u64)?,
        })
    }
}

impl NonMembership {
    /// Native check of the statement the circuit proves: both leaves are in the
    /// tree, at adjacent positions, and `low < x < high`.
    pub fn verify(&self, root: Fr, x: Fr) -> bool {
        self.low_path.verify(root, self.low)
            && self.high_path.verify(root, self.high)
            && self.high_path.index == self.low_path.index + 1
            && less(&self.low, &x)
            && less(&x, &self.high)
    }
}

/// Field element from bytes for leaves derived from data (big-endian, reduced).
pub fn leaf_from_bytes(bytes: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

/// The field element's canonical 32-byte big-endian encoding.
pub fn to_bytes(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    let b = x.into_bigint().to_bytes_be();
    let start = 32usize.saturating_sub(b.len());
    if let Some(dst) = out.get_mut(start..) {
        dst.copy_from_slice(b.get(..32 - start).unwrap_or_default());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_sorted_set_proves_its_members_and_only_them() {
        let names = ["ALICE", "BOB", "CAROL"];
        let set =
            SortedSet::new(4, names.iter().map(|n| set_member(n.as_bytes())).collect()).unwrap();
        assert_eq!(set.members(), 3);
        for n in names {
            let x = set_member(n.as_bytes());
            assert!(set.prove_member(x).unwrap().verify(set.root(), x));
            assert_eq!(set.prove_absent(x), Err(MerkleError::Member));
        }
        let dave = set_member(b"DAVE");
        assert_eq!(set.prove_member(dave), Err(MerkleError::Index));
        assert!(set.prove_absent(dave).unwrap().verify(set.root(), dave));
        assert_eq!(set.prove_member(Fr::zero()), Err(MerkleError::Domain));
    }

    fn fr(n: u64) -> Fr {
        Fr::from(n)
    }

    #[test]
    fn small_tree_root_is_the_hash_of_its_pairs() {
        let t = MerkleTree::from_leaves(2, vec![fr(1), fr(2), fr(3)]).unwrap();
        let want = hash2(hash2(fr(1), fr(2)), hash2(fr(3), fr(0)));
        assert_eq!(t.root(), want);
        assert_eq!(MerkleTree::new(3).unwrap().root(), zeros(3)[3]);
    }

    #[test]
    fn paths_verify_and_wrong_leaves_or_roots_fail() {
        let leaves: Vec<Fr> = (0..37).map(|i| fr(1000 + i)).collect();
        let t = MerkleTree::from_leaves(8, leaves.clone()).unwrap();
        for (i, l) in leaves.iter().enumerate() {
            let p = t.path(i as u64).unwrap();
            assert!(p.verify(t.root(), *l));
            assert!(!p.verify(t.root(), *l + fr(1)));
            assert!(!p.verify(t.root() + fr(1), *l));
        }
        assert_eq!(t.path(37), Err(MerkleError::Index));
    }

    #[test]
    fn incremental_pushes_and_updates_match_a_full_build() {
        let leaves: Vec<Fr> = (0..300).map(|i| fr(i * 7 + 1)).collect();
        let mut inc = MerkleTree::new(10).unwrap();
        for l in &leaves {
            inc.push(*l).unwrap();
        }
        let full = MerkleTree::from_leaves(10, leaves.clone()).unwrap();
        assert_eq!(inc.root(), full.root());
        inc.update(123, fr(42)).unwrap();
        let mut changed = leaves;
        changed[123] = fr(42);
        assert_eq!(
            inc.root(),
            MerkleTree::from_leaves(10, changed).unwrap().root()
        );
        assert_eq!(inc.update(300, fr(1)), Err(MerkleError::Index));
        // A parallel build (above the threshold) equals the sequential one.
        let big: Vec<Fr> = (0..2100).map(fr).collect();
        let mut seq = MerkleTree::new(12).unwrap();
        big.iter().for_each(|l| {
            seq.push(*l).unwrap();
        });
        assert_eq!(MerkleTree::from_leaves(12, big).unwrap().root(), seq.root());
    }

    #[test]
    fn a_full_tree_refuses_more() {
        let mut t = MerkleTree::new(1).unwrap();
        t.push(fr(1)).unwrap();
        t.push(fr(2)).unwrap();
        assert_eq!(t.push(fr(3)), Err(MerkleError::Full));
        assert_eq!(MerkleTree::new(0).unwrap_err(), MerkleError::Depth);
        assert_eq!(MerkleTree::new(33).unwrap_err(), MerkleError::Depth);
    }

    #[test]
    fn non_membership_by_adjacency() {
        let members: Vec<Fr> = [50u64, 10, 30, 10, 20].iter().map(|n| fr(*n)).collect();
        let s = SortedSet::new(4, members).unwrap();
        for absent in [1u64, 15, 25, 49, 51, 1 << 40] {
            let p = s.prove_absent(fr(absent)).unwrap();
            assert!(p.verify(s.root(), fr(absent)), "{absent}");
            // The same proof says nothing about another value outside its gap.
            assert!(!p.verify(s.root(), fr(absent) + fr(100)) || absent > 50);
        }
        for member in [10u64, 20, 30, 50] {
            assert_eq!(s.prove_absent(fr(member)), Err(MerkleError::Member));
        }
        // A forged gap: two members that are not adjacent.
        let lo = s.prove_absent(fr(15)).unwrap();
        let hi = s.prove_absent(fr(35)).unwrap();
        let forged = NonMembership {
            low: lo.low,
            high: hi.high,
            low_path: lo.low_path,
            high_path: hi.high_path,
        };
        assert!(
            !forged.verify(s.root(), fr(20)),
            "10 < 20 < 50 but 20 is a member"
        );
        // The domain: members and queries in [1, 2^248 − 2].
        assert_eq!(
            SortedSet::new(4, vec![fr(0)]).unwrap_err(),
            MerkleError::Domain
        );
        assert_eq!(
            SortedSet::new(4, vec![set_top()]).unwrap_err(),
            MerkleError::Domain
        );
        assert_eq!(s.prove_absent(fr(0)), Err(MerkleError::Domain));
        assert_eq!(s.prove_absent(-fr(1)), Err(MerkleError::Domain));
        assert!(s.prove_absent(set_top() - fr(1)).is_ok());
        assert!(in_set_domain(&set_member(b"ACME Shell Co")));
    }

    #[test]
    fn bytes_round_trip() {
        let x = hash2(fr(1), fr(2));
        assert_eq!(leaf_from_bytes(&to_bytes(&x)), x);
    }
}
