//! Phase 2 of the ceremony (`.zkey`), checked against snarkjs: the
//! prepared transcript and the initial parameters are byte for byte
//! snarkjs's; a ceremony made here verifies in snarkjs and one with a
//! snarkjs contribution verifies here; the keys it yields prove, and
//! `snarkjs groth16 verify` accepts the proofs; every kind of tampering is
//! refused naming the contribution and the check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "common/snarkjs.rs"]
mod making_tools;

use std::path::Path;
use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ec::CurveGroup;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::ceremony::phase2;
use veilgate_circuits::ceremony::ptau::{contributor_rng, Ptau};
use veilgate_circuits::ceremony::zkey::Zkey;
use veilgate_circuits::ceremony::CeremonyError;
use veilgate_circuits::groth16::compare::CompareCircuit;
use veilgate_circuits::groth16::sum::SumCircuit;
use veilgate_circuits::groth16::{constraint_matrices, ConstraintMatrices, Keys, Statement};

use making_tools::{run, snarkjs};

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(11)
}

/// The compare circuit (675 constraints, n = 1024) needs 2^10 powers; one
/// more than that leaves room to test a circuit too large.
const POWER: u32 = 10;

/// A phase-1 transcript of two contributions, not yet prepared.
fn phase1() -> &'static Ptau {
    static T: OnceLock<Ptau> = OnceLock::new();
    T.get_or_init(|| {
        let mut os = rng();
        let t = Ptau::new(POWER).unwrap();
        let t = t
            .contribute(&mut contributor_rng(&mut os, "a"), "bank-a")
            .unwrap();
        t.contribute(&mut contributor_rng(&mut os, "b"), "bank-b")
            .unwrap()
    })
}

fn prepared() -> &'static Ptau {
    static T: OnceLock<Ptau> = OnceLock::new();
    T.get_or_init(|| phase1().prepare().unwrap())
}

fn compare() -> ConstraintMatrices {
    constraint_matrices(&CompareCircuit::shape()).unwrap()
}

/// Three members (bank-a, bank-b, bank-c) and a closing beacon.
fn ceremony() -> &'static Zkey {
    static Z: OnceLock<Zkey> = OnceLock::new();
    Z.get_or_init(|| {
        let mut os = rng();
        let mut z = phase2::init(&compare(), prepared()).unwrap();
        for name in ["bank-a", "bank-b", "bank-c"] {
            z = z
                .contribute(&mut contributor_rng(&mut os, name), name)
                .unwrap();
        }
        z.beacon(&[0x5a; 32], 10, "beacon").unwrap()
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_owned()
}

fn check_failure(e: CeremonyError, contribution: Option<usize>, words: &str) {
    match &e {
        CeremonyError::Check {
            contribution: c,
            check,
        } => {
            assert_eq!(*c, contribution, "{e}");
            assert!(check.contains(words), "{e}");
        }
        other => panic!("expected a failed check, got {other}"),
    }
}

#[test]
fn a_prepared_transcript_round_trips_and_verifies() {
    let t = prepared();
    let bytes = t.to_bytes();
    assert_eq!(Ptau::read(&bytes).unwrap(), *t);
    t.verify(&mut rng()).unwrap();
    // A bent Lagrange point is caught by the prepared sections' check.
    let mut bent = t.clone();
    let l = bent.lagrange.as_mut().unwrap();
    l.alpha_tau_g1.swap(5, 6);
    check_failure(
        bent.verify(&mut rng()).unwrap_err(),
        None,
        "lagrange alphaTauG1 block 2",
    );
}

#[test]
fn initial_parameters_are_deterministic_and_sized_for_the_circuit() {
    let m = compare();
    let z = phase2::init(&m, prepared()).unwrap();
    assert_eq!(z.domain_size, 1024);
    assert_eq!(z.n_public as usize, m.num_instance - 1);
    assert_eq!(z.l.len(), m.num_witness);
    assert_eq!(z.h.len(), 1024);
    assert!(z.contributions.is_empty());
    assert_eq!(Zkey::read(&z.to_bytes()).unwrap(), z);
    assert_eq!(phase2::init(&m, prepared()).unwrap().cs_hash, z.cs_hash);
}

#[test]
fn the_ceremony_yields_keys_that_prove_and_verify() {
    let z = ceremony();
    z.verify(&compare(), prepared(), &mut rng()).unwrap();
    let keys = Keys::from_proving_key(&CompareCircuit::shape(), z.proving_key().unwrap()).unwrap();
    let st = CompareCircuit::new(3, Fr::from(1u64), 4, Fr::from(2u64));
    let public = st.public_inputs();
    let proof = keys.prove(st, &mut rng()).unwrap();
    keys.verify(&public, &proof).unwrap();
    // A false public input is refused.
    let mut wrong = public.clone();
    wrong[0] += Fr::from(1u64);
    assert!(keys.verify(&wrong, &proof).is_err());
    // The development keys of the same circuit are other keys.
    let dev = Keys::dev_setup(&CompareCircuit::shape()).unwrap();
    assert_ne!(dev.id(), keys.id());
    assert!(dev.verify(&public, &proof).is_err());
}

#[test]
fn a_ceremony_without_contributions_proves_nothing() {
    let z = phase2::init(&compare(), prepared()).unwrap();
    let e = z.verify(&compare(), prepared(), &mut rng()).unwrap_err();
    assert!(e.to_string().contains("there are none"), "{e}");
}

#[test]
fn a_forged_proof_of_knowledge_is_named() {
    let mut z = ceremony().clone();
    let c = &mut z.contributions[1];
    c.key.g1_sx = (c.key.g1_sx * Fr::from(2u64)).into_affine();
    check_failure(
        z.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
        Some(2),
        "transcript",
    );
}

#[test]
fn dropped_or_reordered_contributions_are_named() {
    let mut dropped = ceremony().clone();
    dropped.contributions.remove(0);
    check_failure(
        dropped
            .verify(&compare(), prepared(), &mut rng())
            .unwrap_err(),
        Some(1),
        "transcript",
    );
    let mut swapped = ceremony().clone();
    swapped.contributions.swap(1, 2);
    check_failure(
        swapped
            .verify(&compare(), prepared(), &mut rng())
            .unwrap_err(),
        Some(2),
        "transcript",
    );
}

#[test]
fn a_delta_inconsistent_with_the_queries_is_named() {
    let n = ceremony().contributions.len();
    let mut l = ceremony().clone();
    l.l[3] = (l.l[3] * Fr::from(3u64)).into_affine();
    check_failure(
        l.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
        Some(n),
        "L query",
    );
    let mut h = ceremony().clone();
    h.h.swap(0, 1);
    check_failure(
        h.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
        Some(n),
        "H query",
    );
    // δ moved on without its key: the last δ no longer follows.
    let mut d = ceremony().clone();
    d.delta1 = (d.delta1 * Fr::from(5u64)).into_affine();
    check_failure(
        d.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
        Some(n),
        "δ·G1",
    );
    // A beacon whose key is not its parameters'.
    let mut b = ceremony().clone();
    if let veilgate_circuits::ceremony::ptau::Kind::Beacon { hash, .. } =
        &mut b.contributions[n - 1].kind
    {
        hash[0] ^= 1;
    }
    check_failure(
        b.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
        Some(n),
        "beacon",
    );
}

#[test]
fn parameters_for_another_circuit_are_refused() {
    let sum = constraint_matrices(&SumCircuit::shape(1)).unwrap();
    let e = ceremony().verify(&sum, prepared(), &mut rng()).unwrap_err();
    assert!(e.to_string().contains("circuit hash"), "{e}");
}

#[test]
fn a_transcript_too_small_or_unprepared_is_refused() {
    let small = Ptau::new(8).unwrap().prepare().unwrap();
    let e = phase2::init(&compare(), &small).unwrap_err().to_string();
    assert!(e.contains("2^10 powers") && e.contains("2^8"), "{e}");
    let e = phase2::init(&compare(), phase1()).unwrap_err().to_string();
    assert!(e.contains("not prepared"), "{e}");
}

#[test]
fn corrupt_files_are_refused() {
    let bytes = ceremony().to_bytes();
    for cut in [0, 3, 11, 100, 800, bytes.len() / 2, bytes.len() - 1] {
        assert!(Zkey::read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(Zkey::read(&trailing).is_err());
    // A flipped byte in a point of the A section (section 5 starts after
    // the 12-byte file header, the 16-byte section 1 and the 672-byte
    // section 2, the IC and the coefficients).
    let z = ceremony();
    let a_start = 12 + 16 + 672 + 12 + z.ic.len() * 64 + 12 + 4 + z.coefs.len() * 44 + 12;
    let mut flipped = bytes.clone();
    flipped[a_start + 64 * 7 + 5] ^= 0x20;
    match Zkey::read(&flipped) {
        // Either the point is off the curve, or (rarely) still a point but
        // not the circuit's.
        Err(e) => assert!(e.to_string().contains("A: point 7"), "{e}"),
        Ok(z2) => check_failure(
            z2.verify(&compare(), prepared(), &mut rng()).unwrap_err(),
            None,
            "the A section",
        ),
    }
    let mut magic = bytes.clone();
    magic[0] = b'p';
    assert!(matches!(
        Zkey::read(&magic),
        Err(CeremonyError::Magic { .. })
    ));
}

/// Byte-for-byte agreement with snarkjs, and verification both ways.
mod against_snarkjs {
    use super::*;

    #[test]
    fn snarkjs_prepares_the_same_sections() {
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let raw = write(dir.path(), "raw.ptau", &phase1().to_bytes());
        let theirs = dir.path().join("theirs.ptau");
        run(
            &s,
            &[
                "powersoftau",
                "prepare",
                "phase2",
                &raw,
                theirs.to_str().unwrap(),
            ],
        );
        assert_eq!(std::fs::read(&theirs).unwrap(), prepared().to_bytes());
    }

    #[test]
    fn snarkjs_computes_the_same_initial_parameters() {
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let r1cs = write(
            dir.path(),
            "compare.r1cs",
            &veilgate_circuits::ceremony::r1cs::write(&compare()),
        );
        let ptau = write(dir.path(), "pot.ptau", &prepared().to_bytes());
        let out = dir.path().join("init.zkey");
        run(&s, &["zkey", "new", &r1cs, &ptau, out.to_str().unwrap()]);
        let theirs = Zkey::read(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(theirs, phase2::init(&compare(), prepared()).unwrap());
    }

    #[test]
    fn snarkjs_verifies_our_ceremony_and_our_proofs() {
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let r1cs = write(
            dir.path(),
            "compare.r1cs",
            &veilgate_circuits::ceremony::r1cs::write(&compare()),
        );
        let ptau = write(dir.path(), "pot.ptau", &prepared().to_bytes());
        let zkey = write(dir.path(), "final.zkey", &ceremony().to_bytes());
        let text = run(&s, &["zkey", "verify", &r1cs, &ptau, &zkey]);
        assert!(text.contains("ZKey Ok!"), "{text}");

        // The verifying key snarkjs exports is ours, number for number.
        let vk_path = dir.path().join("vk.json");
        run(
            &s,
            &[
                "zkey",
                "export",
                "verificationkey",
                &zkey,
                vk_path.to_str().unwrap(),
            ],
        );
        let theirs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&vk_path).unwrap()).unwrap();
        let ours = veilgate_circuits::groth16::snarkjs::verifying_key(&ceremony().verifying_key());
        assert_eq!(theirs, ours);

        // A proof under the ceremony's keys verifies in snarkjs.
        let keys =
            Keys::from_proving_key(&CompareCircuit::shape(), ceremony().proving_key().unwrap())
                .unwrap();
        let st = CompareCircuit::new(96_000_000, Fr::from(12u64), 120_000_000, Fr::from(13u64));
        let public = st.public_inputs();
        let proof = keys.prove(st, &mut rng()).unwrap();
        let proof_json = veilgate_circuits::groth16::snarkjs::proof(&proof).to_string();
        let public_json = veilgate_circuits::groth16::snarkjs::public_inputs(&public).to_string();
        let p = write(dir.path(), "proof.json", proof_json.as_bytes());
        let x = write(dir.path(), "public.json", public_json.as_bytes());
        let text = run(
            &s,
            &["groth16", "verify", vk_path.to_str().unwrap(), &x, &p],
        );
        assert!(text.contains("OK!"), "{text}");
        // And a wrong public input does not.
        let mut wrong = public.clone();
        wrong[1] += Fr::from(1u64);
        let x = write(
            dir.path(),
            "wrong.json",
            veilgate_circuits::groth16::snarkjs::public_inputs(&wrong)
                .to_string()
                .as_bytes(),
        );
        let out = std::process::Command::new("node")
            .arg(&s)
            .args(["groth16", "verify", vk_path.to_str().unwrap(), &x, &p])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("OK!") && text.contains("Invalid proof"),
            "{text}"
        );
    }

    #[test]
    fn a_snarkjs_contribution_verifies_and_proves_here() {
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut os = rng();
        let first = phase2::init(&compare(), prepared())
            .unwrap()
            .contribute(&mut contributor_rng(&mut os, "a"), "bank-a")
            .unwrap();
        let first = write(dir.path(), "one.zkey", &first.to_bytes());
        let two = dir.path().join("two.zkey");
        run(
            &s,
            &[
                "zkey",
                "contribute",
                &first,
                two.to_str().unwrap(),
                "--name=bank-b with snarkjs",
                "-e=entropy typed by bank-b",
            ],
        );
        let z = Zkey::read(&std::fs::read(&two).unwrap()).unwrap();
        assert_eq!(z.contributions.len(), 2);
        assert_eq!(
            z.contributions[1].name.as_deref(),
            Some("bank-b with snarkjs")
        );
        z.check_circuit(&compare(), prepared(), &mut rng()).unwrap();
        let z = z
            .contribute(&mut contributor_rng(&mut os, "c"), "bank-c")
            .unwrap()
            .beacon(&[7; 32], 10, "beacon")
            .unwrap();
        z.verify(&compare(), prepared(), &mut rng()).unwrap();
        let keys =
            Keys::from_proving_key(&CompareCircuit::shape(), z.proving_key().unwrap()).unwrap();
        let st = CompareCircuit::new(5, Fr::from(3u64), 9, Fr::from(4u64));
        let public = st.public_inputs();
        keys.verify(&public, &keys.prove(st, &mut rng()).unwrap())
            .unwrap();
    }
}

/// The member's quick check (random linear combinations) accepts the
/// ceremony and the initial parameters, and names every kind of bent
/// section the full verification names.
#[test]
fn the_quick_check_before_contributing_catches_bent_sections() {
    let (m, t) = (compare(), prepared());
    ceremony().check_circuit(&m, t, &mut rng()).unwrap();
    phase2::init(&m, t)
        .unwrap()
        .check_circuit(&m, t, &mut rng())
        .unwrap();
    let n = ceremony().contributions.len();
    let triple = |p: &ark_bn254::G1Affine| (*p * Fr::from(3u64)).into_affine();
    let mut a = ceremony().clone();
    a.a[4] = triple(&a.a[4]);
    check_failure(
        a.check_circuit(&m, t, &mut rng()).unwrap_err(),
        None,
        "the A section",
    );
    let mut b1 = ceremony().clone();
    b1.b1.swap(10, 11);
    let e = b1.check_circuit(&m, t, &mut rng()).unwrap_err();
    assert!(e.to_string().contains("B1"), "{e}");
    let mut b2 = ceremony().clone();
    b2.b2[5] = (b2.b2[5] * Fr::from(2u64)).into_affine();
    check_failure(
        b2.check_circuit(&m, t, &mut rng()).unwrap_err(),
        None,
        "the B2 section",
    );
    let mut ic = ceremony().clone();
    ic.ic[1] = triple(&ic.ic[1]);
    check_failure(
        ic.check_circuit(&m, t, &mut rng()).unwrap_err(),
        None,
        "the IC section",
    );
    let mut l = ceremony().clone();
    l.l[7] = triple(&l.l[7]);
    check_failure(
        l.check_circuit(&m, t, &mut rng()).unwrap_err(),
        Some(n),
        "L query",
    );
    let mut h = ceremony().clone();
    h.h[2] = triple(&h.h[2]);
    check_failure(
        h.check_circuit(&m, t, &mut rng()).unwrap_err(),
        Some(n),
        "H query",
    );
    let mut c = ceremony().clone();
    c.coefs[3].value += Fr::from(1u64);
    check_failure(
        c.check_circuit(&m, t, &mut rng()).unwrap_err(),
        None,
        "coefficients",
    );
    let mut pok = ceremony().clone();
    pok.contributions[0].key.g1_s = triple(&pok.contributions[0].key.g1_s);
    check_failure(
        pok.check_circuit(&m, t, &mut rng()).unwrap_err(),
        Some(1),
        "transcript",
    );
    let sum = constraint_matrices(&SumCircuit::shape(1)).unwrap();
    let e = ceremony().check_circuit(&sum, t, &mut rng()).unwrap_err();
    assert!(
        e.to_string().contains("sizes") || e.to_string().contains("section"),
        "{e}"
    );
}
