//! A patched prover that chooses every wire itself.
//!
//! `Keys::prove_unchecked` only skips the satisfaction check: its witness
//! still comes from the circuit's own generator, which never puts a 2 in a
//! bit or a wrapped negative in a difference. The prover here reads the
//! circuit's R1CS matrices instead. It sorts the witnesses into *free* ones
//! (bits, blindings, leaves, siblings: the prover's choice) and *defined* ones
//! (the one new variable of a row, alone in `C`: hash rounds, path
//! selections), sets the free ones to whatever it likes, computes the defined
//! ones row by row, and proves the result with arkworks' raw
//! `create_proof_with_reduction_and_matrices`. For each circuit it builds a
//! false statement whose assignment breaks exactly one chosen constraint,
//! asserts that only that row is unsatisfied, and asserts that the verifier
//! rejects the proof. The same machinery on a true statement reproduces the
//! honest assignment exactly and its proof verifies, so a rejection is the
//! false witness's doing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used)]

use std::collections::BTreeSet;

use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, Field, PrimeField, UniformRand, Zero};
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{ConstraintSystem, OptimizationGoal, SynthesisMode};
use ark_snark::SNARK;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::date::DateThresholdCircuit;
use veilgate_circuits::groth16::membership::MembershipCircuit;
use veilgate_circuits::groth16::non_membership::NonMembershipCircuit;
use veilgate_circuits::groth16::range::RangeCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{
    commit, constraint_matrices, ConstraintMatrices, Groth16Error, Keys, Statement,
};
use veilgate_circuits::merkle::{set_member, MerklePath, MerkleTree, SortedSet, SET_VALUE_BITS};

type Row = Vec<(Fr, usize)>;

fn dot(row: &Row, z: &[Fr]) -> Fr {
    row.iter().map(|(c, col)| *c * z[*col]).sum()
}

/// The columns a row of A, B and C mentions.
fn columns(m: &ConstraintMatrices, i: usize) -> BTreeSet<usize> {
    [&m.a[i], &m.b[i], &m.c[i]]
        .into_iter()
        .flatten()
        .map(|(_, col)| *col)
        .collect()
}

/// One circuit's matrices, keys made over them, and how its wires are determined.
struct Rig<S> {
    m: ConstraintMatrices,
    pk: ProvingKey<Bn254>,
    keys: Keys<S>,
    /// Witness columns no row defines, in allocation order.
    free: Vec<usize>,
    /// `(row, column)`: the row that defines the column, in row order.
    defined: Vec<(usize, usize)>,
    rng: ChaCha20Rng,
}

impl<S: Statement> Rig<S> {
    fn new(blank: &S, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let m = constraint_matrices(blank).unwrap();
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(blank.blank(), &mut rng).unwrap();
        let keys = Keys::from_proving_key(blank, pk.clone()).unwrap();
        let width = m.num_instance + m.num_witness;
        let mut seen = vec![false; width];
        seen[..m.num_instance].fill(true);
        let (mut free, mut defined) = (Vec::new(), Vec::new());
        for i in 0..m.a.len() {
            // A variable first met in A or B is an input to this row: the
            // prover's choice. A single new variable met only in C is what
            // the row computes.
            let ab: BTreeSet<usize> = m.a[i].iter().chain(&m.b[i]).map(|e| e.1).collect();
            let new_ab: Vec<usize> = ab.iter().copied().filter(|c| !seen[*c]).collect();
            let new_c: BTreeSet<usize> = m.c[i]
                .iter()
                .map(|e| e.1)
                .filter(|c| !seen[*c] && !ab.contains(c))
                .collect();
            free.extend(&new_ab);
            if new_c.len() == 1 {
                defined.extend(new_c.iter().map(|c| (i, *c)));
            } else {
                free.extend(&new_c);
            }
            for c in new_ab.into_iter().chain(new_c) {
                seen[c] = true;
            }
        }
        // A witness no row mentions would be free too; none should exist.
        assert!(seen.iter().all(|s| *s), "a witness no constraint uses");
        free.sort_unstable();
        Rig {
            m,
            pk,
            keys,
            free,
            defined,
            rng,
        }
    }

    /// The circuit's own full assignment `[1, inputs…, witnesses…]` of a true statement.
    fn honest(&self, statement: S) -> Vec<Fr> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        });
        statement.generate_constraints(cs.clone()).unwrap();
        cs.finalize();
        assert_eq!(cs.which_is_unsatisfied().unwrap(), None);
        let z = [
            cs.instance_assignment().unwrap(),
            cs.witness_assignment().unwrap(),
        ]
        .concat();
        assert_eq!(z.len(), self.m.num_instance + self.m.num_witness);
        z
    }

    /// Computes every defined wire from the free ones, row by row.
    fn fill(&self, z: &mut [Fr]) {
        for &(i, col) in &self.defined {
            let own: Fr = self.m.c[i].iter().filter(|e| e.1 == col).map(|e| e.0).sum();
            let rest: Fr = self.m.c[i]
                .iter()
                .filter(|e| e.1 != col)
                .map(|(c, v)| *c * z[*v])
                .sum();
            z[col] = (dot(&self.m.a[i], z) * dot(&self.m.b[i], z) - rest)
                * own.inverse().expect("a defining coefficient is non-zero");
        }
    }

    fn unsatisfied(&self, z: &[Fr]) -> Vec<usize> {
        (0..self.m.a.len())
            .filter(|&i| dot(&self.m.a[i], z) * dot(&self.m.b[i], z) != dot(&self.m.c[i], z))
            .collect()
    }

    /// The only row that mentions all of `cols`.
    fn row_with(&self, cols: &[usize]) -> usize {
        let rows: Vec<usize> = (0..self.m.a.len())
            .filter(|&i| {
                let c = columns(&self.m, i);
                cols.iter().all(|x| c.contains(x))
            })
            .collect();
        assert_eq!(rows.len(), 1, "rows mentioning {cols:?}");
        rows[0]
    }

    /// The booleanity row `(1 − b)·b = 0` of the free wire `col`.
    fn booleanity(&self, col: usize) -> usize {
        let row = (0..self.m.a.len())
            .find(|&i| columns(&self.m, i).contains(&col))
            .unwrap();
        assert_eq!(columns(&self.m, row), BTreeSet::from([0, col]));
        assert!(self.m.c[row].is_empty());
        row
    }

    fn prove_raw(&mut self, z: &[Fr]) -> Proof<Bn254> {
        let (r, s) = (Fr::rand(&mut self.rng), Fr::rand(&mut self.rng));
        let matrices = [self.m.a.clone(), self.m.b.clone(), self.m.c.clone()];
        Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &self.pk,
            r,
            s,
            &matrices,
            self.m.num_instance,
            self.m.a.len(),
            z,
        )
        .unwrap()
    }

    /// The honest assignment of `statement`, after checking that this
    /// prover's own wiring rebuilds it from the free wires alone and that a
    /// raw proof of it verifies. Returns it as the base for a forgery.
    fn control(&mut self, statement: S, free_wires: usize) -> Vec<Fr> {
        assert_eq!(self.free.len(), free_wires, "free wires");
        let public = statement.public_inputs();
        let honest = self.honest(statement);
        let mut rebuilt = vec![Fr::zero(); honest.len()];
        rebuilt[..self.m.num_instance].copy_from_slice(&honest[..self.m.num_instance]);
        for &col in &self.free {
            rebuilt[col] = honest[col];
        }
        self.fill(&mut rebuilt);
        assert!(rebuilt == honest, "the wiring disagrees with the circuit");
        let proof = self.prove_raw(&honest);
        self.keys.verify(&public, &proof).unwrap();
        honest
    }

    /// Sets the public inputs, fills the defined wires, checks that exactly
    /// `broken` rows fail, proves, and returns what the verifier says.
    fn forge(
        &mut self,
        mut z: Vec<Fr>,
        public: &[Fr],
        broken: &[usize],
    ) -> Result<(), Groth16Error> {
        z[1..self.m.num_instance].copy_from_slice(public);
        self.fill(&mut z);
        assert_eq!(self.unsatisfied(&z), broken, "unsatisfied rows");
        let proof = self.prove_raw(&z);
        self.keys.verify(public, &proof)
    }

    /// Writes `values` into the free wires `start..` of `z`.
    fn set(&self, z: &mut [Fr], start: usize, values: &[Fr]) {
        for (k, v) in values.iter().enumerate() {
            z[self.free[start + k]] = *v;
        }
    }

    /// Writes a leaf and its path (per level: index bit, sibling) from free wire `start` on.
    fn set_leg(&self, z: &mut [Fr], start: usize, leaf: Fr, path: &MerklePath) {
        let mut wires = vec![leaf];
        for (h, sib) in path.siblings.iter().enumerate() {
            wires.push(fr((path.index >> h) & 1));
            wires.push(*sib);
        }
        self.set(z, start, &wires);
    }
}

fn fr(n: u64) -> Fr {
    Fr::from(n)
}

/// `n` boolean wires of a value below `2^n`, low bit first.
fn bits(v: Fr, n: usize) -> Vec<Fr> {
    let b = v.into_bigint();
    (0..n).map(|i| fr(u64::from(b.get_bit(i)))).collect()
}

/// `n` wires whose weighted sum is the negative `−k` (`0 < k ≤ 2^(n−1)`):
/// the two's complement bits of `2^n − k`, all boolean, except the top one,
/// which is −1 instead of 1 — a negative difference wrapped into the field.
fn wrapped(k: u64, n: usize) -> Vec<Fr> {
    let big = (fr(2).pow([n as u64])) - fr(k);
    let mut w = bits(big, n);
    assert_eq!(w[n - 1], fr(1));
    w[n - 1] = -fr(1);
    let weighted: Fr = w
        .iter()
        .enumerate()
        .map(|(i, b)| *b * fr(2).pow([i as u64]))
        .sum();
    assert_eq!(weighted, -fr(k));
    w
}

#[test]
fn range_a_value_of_64_bits_or_more_is_refused() {
    let mut rig = Rig::new(&RangeCircuit::shape(), 1);
    let r = fr(424_242);
    // Free wires: the 64 bits of v, then r.
    let base = rig.control(RangeCircuit::new(77, r), 65);
    assert_eq!(base[rig.free[0]], fr(1));
    assert_eq!(base[rig.free[64]], r);

    // v = 2^64 + 5: bits 0 and 2 set, and "bit" 63 equal to 2.
    let v = fr(2).pow([64]) + fr(5);
    let mut z = base.clone();
    let mut b = bits(fr(5), 64);
    b[63] = fr(2);
    rig.set(&mut z, 0, &b);
    let row = rig.booleanity(rig.free[63]);
    assert_eq!(
        rig.forge(z, &[commit(v, r)], &[row]),
        Err(Groth16Error::Rejected)
    );

    // v = p − 1 ("−1"): bit 0 is the field element −1.
    let mut z = base;
    let mut b = vec![fr(0); 64];
    b[0] = -fr(1);
    rig.set(&mut z, 0, &b);
    let row = rig.booleanity(rig.free[0]);
    assert_eq!(
        rig.forge(z, &[commit(-fr(1), r)], &[row]),
        Err(Groth16Error::Rejected)
    );
}

#[test]
fn compare_a_wrapped_negative_difference_is_refused() {
    let mut rig = Rig::new(&CompareCircuit::shape(), 2);
    let (ra, rb) = (fr(11), fr(12));
    // Free wires: bits of a, of b, of d, then r_a, r_b.
    let base = rig.control(CompareCircuit::new(5, ra, 9, rb), 3 * 64 + 2);
    assert_eq!(base[rig.free[192]], ra);
    assert_eq!(base[rig.free[193]], rb);

    // Claim 10 ≤ 9: d = 9 − 10 = −1, as 63 one-bits and a top "bit" of −1.
    let mut z = base;
    rig.set(&mut z, 0, &bits(fr(10), 64));
    rig.set(&mut z, 64, &bits(fr(9), 64));
    rig.set(&mut z, 128, &wrapped(1, 64));
    let row = rig.booleanity(rig.free[128 + 63]);
    let public = [commit(fr(10), ra), commit(fr(9), rb), fr(0)];
    assert_eq!(rig.forge(z, &public, &[row]), Err(Groth16Error::Rejected));
}

#[test]
fn date_a_minor_with_a_wrapped_negative_margin_is_refused() {
    let mut rig = Rig::new(&DateThresholdCircuit::shape(), 3);
    let r = fr(5);
    // Free wires: 32 bits of the birth date, 32 of d, then r.
    let base = rig.control(DateThresholdCircuit::new(19_900_615, r, 20_261_125, 18), 65);
    assert_eq!(base[rig.free[64]], r);

    // Born 2010-01-01, claimed 18 on 2026-11-25: d = 20261125 − 180000 − 20100101 = −18976.
    let mut z = base;
    rig.set(&mut z, 0, &bits(fr(20_100_101), 32));
    rig.set(&mut z, 32, &wrapped(18_976, 32));
    let row = rig.booleanity(rig.free[32 + 31]);
    let public = [commit(fr(20_100_101), r), fr(20_261_125), fr(18)];
    assert_eq!(rig.forge(z, &public, &[row]), Err(Groth16Error::Rejected));
}

#[test]
fn sum_a_total_that_is_off_is_refused() {
    let mut rig = Rig::new(&SumCircuit::shape(2), 4);
    let (r1, r2, rt) = (fr(1), fr(2), fr(3));
    // Free wires: bits of t₁, r₁, bits of t₂, r₂, r_total.
    let base = rig.control(SumCircuit::new(&[(5, r1), (7, r2)], rt).unwrap(), 131);
    assert_eq!(base[rig.free[64]], r1);
    assert_eq!(base[rig.free[129]], r2);
    assert_eq!(base[rig.free[130]], rt);

    // Claim 600 + 400 = 1001: the bits say 601 so that the total hashes to
    // C_total; then H(601, r₁) ≠ C₁, and that equality is the one broken row.
    let mut z = base;
    rig.set(&mut z, 0, &bits(fr(601), 64));
    rig.set(&mut z, 65, &bits(fr(400), 64));
    let public = [
        commit(fr(600), r1),
        commit(fr(400), r2),
        commit(fr(1001), rt),
    ];
    let row = rig.row_with(&[1]);
    assert_eq!(rig.forge(z, &public, &[row]), Err(Groth16Error::Rejected));
}

#[test]
fn membership_a_path_that_misses_the_root_is_refused() {
    let depth = 4;
    let mut rig = Rig::new(&MembershipCircuit::shape(depth), 5);
    let t = MerkleTree::from_leaves(depth, (0..12u64).map(|i| fr(1000 + i)).collect()).unwrap();
    let r = fr(77);
    // Free wires: v, r, then per level the index bit and the sibling.
    let path = t.path(9).unwrap();
    let base = rig.control(
        MembershipCircuit::new(t.root(), fr(1009), r, &path),
        2 + 2 * depth,
    );
    assert_eq!(base[rig.free[0]], fr(1009));
    assert_eq!(base[rig.free[3]], path.siblings[0]);

    // An outsider with leaf 9's bits and siblings: every level hashes as it
    // should, and only the final `root = R` fails.
    let outsider = fr(5);
    let mut z = base;
    rig.set(&mut z, 0, &[outsider]);
    let public = [t.root(), commit(outsider, r)];
    let row = rig.row_with(&[1]);
    assert_eq!(row, rig.m.a.len() - 1);
    assert_eq!(rig.forge(z, &public, &[row]), Err(Groth16Error::Rejected));
}

#[test]
fn non_membership_a_member_with_a_borrowed_gap_is_refused() {
    let depth = 4;
    let mut rig = Rig::new(&NonMembershipCircuit::shape(depth), 6);
    let names = ["ACME Shell Co", "Blocked Ltd", "Evil Corp", "Nope SA"];
    let s = SortedSet::new(
        depth,
        names.iter().map(|n| set_member(n.as_bytes())).collect(),
    )
    .unwrap();
    let r = fr(3);
    let honest_x = set_member(b"Honest Bank");
    // Free wires: x, r; low leaf, its (bit, sibling) per level; the same for
    // high; the 248 bits of d₁, of d₂.
    let leg = 1 + 2 * depth;
    let (low_at, high_at, d1_at) = (2, 2 + leg, 2 + 2 * leg);
    let d2_at = d1_at + SET_VALUE_BITS;
    let gap = s.prove_absent(honest_x).unwrap();
    let base = rig.control(
        NonMembershipCircuit::new(s.root(), honest_x, r, &gap),
        2 + 2 * leg + 2 * SET_VALUE_BITS,
    );
    assert_eq!(base[rig.free[low_at]], gap.low);
    assert_eq!(base[rig.free[high_at]], gap.high);

    let evil = set_member(b"Evil Corp");
    let public = [s.root(), commit(evil, r)];

    // Neighbours that bracket the member but are not adjacent (indices i − 1
    // and i + 1): both gaps are honest 248-bit numbers, both paths reach R,
    // and only `high_index = low_index + 1` fails.
    let below = s.prove_absent(evil - fr(1)).unwrap();
    let above = s.prove_absent(evil + fr(1)).unwrap();
    let mut z = base.clone();
    z[rig.free[0]] = evil;
    rig.set_leg(&mut z, low_at, below.low, &below.low_path);
    rig.set_leg(&mut z, high_at, above.high, &above.high_path);
    rig.set(
        &mut z,
        d1_at,
        &bits(evil - below.low - fr(1), SET_VALUE_BITS),
    );
    rig.set(
        &mut z,
        d2_at,
        &bits(above.high - evil - fr(1), SET_VALUE_BITS),
    );
    let adjacency = rig.row_with(&[rig.free[low_at + 1], rig.free[high_at + 1]]);
    assert_eq!(
        rig.forge(z, &public, &[adjacency]),
        Err(Groth16Error::Rejected)
    );

    // Adjacent neighbours that do not bracket it: low = the member itself, so
    // d₁ = x − low − 1 = −1, wrapped into the field.
    let mut z = base;
    z[rig.free[0]] = evil;
    rig.set_leg(&mut z, low_at, above.low, &above.low_path);
    rig.set_leg(&mut z, high_at, above.high, &above.high_path);
    rig.set(&mut z, d1_at, &wrapped(1, SET_VALUE_BITS));
    rig.set(
        &mut z,
        d2_at,
        &bits(above.high - evil - fr(1), SET_VALUE_BITS),
    );
    let row = rig.booleanity(rig.free[d1_at + SET_VALUE_BITS - 1]);
    assert_eq!(rig.forge(z, &public, &[row]), Err(Groth16Error::Rejected));
}
