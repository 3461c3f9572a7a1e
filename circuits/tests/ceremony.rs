//! Phase-1 transcripts made by snarkjs (tests/vectors/ptau): read, written
//! back byte for byte, checked with pairings, and tampered copies refused
//! with the section, point or contribution named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use ark_bn254::G1Affine;
use ark_ec::AffineRepr;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use veilgate_circuits::ceremony::ptau::{Kind, Ptau};
use veilgate_circuits::ceremony::CeremonyError;

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/ptau/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(7)
}

#[test]
fn snarkjs_transcripts_read_and_write_back_byte_for_byte() {
    for name in ["pot4-new.ptau", "pot4-two.ptau", "pot4-beacon.ptau"] {
        let bytes = file(name);
        let t = Ptau::read(&bytes).unwrap();
        assert_eq!((t.power, t.ceremony_power), (4, 4), "{name}");
        assert_eq!(t.tau_g1.len(), 31);
        assert_eq!(t.tau_g2.len(), 16);
        assert_eq!(t.to_bytes(), bytes, "{name}");
    }
}

#[test]
fn contributions_are_read_with_their_names_and_the_beacon() {
    let t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    let names: Vec<_> = t.contributions.iter().map(|c| c.name.as_deref()).collect();
    assert_eq!(names, [Some("first"), Some("second"), Some("final beacon")]);
    assert_eq!(t.contributions[0].kind, Kind::Contribution);
    match &t.contributions[2].kind {
        Kind::Beacon {
            iterations_exp,
            hash,
        } => {
            assert_eq!(*iterations_exp, 10);
            assert_eq!(hash, &(1u8..=31).collect::<Vec<_>>());
        }
        other => panic!("{other:?}"),
    }
    // Each file keeps the records of the contributions before it.
    let two = Ptau::read(&file("pot4-two.ptau")).unwrap();
    assert_eq!(two.contributions[..], t.contributions[..2]);
}

#[test]
fn contributed_transcripts_verify_proofs_of_knowledge_and_powers() {
    for name in ["pot4-two.ptau", "pot4-beacon.ptau"] {
        Ptau::read(&file(name))
            .unwrap()
            .verify(&mut rng())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_fresh_transcript_proves_nothing() {
    let e = Ptau::read(&file("pot4-new.ptau"))
        .unwrap()
        .verify(&mut rng())
        .unwrap_err();
    assert!(e.to_string().contains("there are none"), "{e}");
}

#[test]
fn swapped_powers_are_caught_by_the_pairing_check() {
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    t.tau_g1.swap(5, 6);
    let bytes = t.to_bytes();
    let e = Ptau::read(&bytes).unwrap().verify(&mut rng()).unwrap_err();
    assert_eq!(
        e,
        CeremonyError::Check {
            contribution: None,
            check: "tauG1 holds consecutive powers of τ".into()
        }
    );
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    t.beta_tau_g1[3] = G1Affine::generator();
    let e = t.verify(&mut rng()).unwrap_err();
    assert!(
        e.to_string().contains("betaTauG1 holds consecutive powers"),
        "{e}"
    );
}

#[test]
fn a_contribution_that_does_not_follow_its_key_is_named() {
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    // The second contributor claims the first one's τ·G2 as its own result.
    t.contributions[1].tau_g2 = t.contributions[0].tau_g2;
    let e = t.verify(&mut rng()).unwrap_err();
    assert_eq!(
        e,
        CeremonyError::Check {
            contribution: Some(2),
            check: "τ update in G2 against its key".into()
        }
    );
}

#[test]
fn corrupt_files_are_refused_naming_what_is_wrong() {
    let bytes = file("pot4-beacon.ptau");
    // Every truncation.
    for n in (0..bytes.len()).step_by(97) {
        assert!(Ptau::read(&bytes[..n]).is_err(), "prefix {n}");
    }
    // A byte changed inside tauG1 point 3 (section 2 starts after the
    // 12-byte file header, the 56-byte header section and its 12-byte
    // section header).
    let mut bad = bytes.clone();
    bad[12 + 56 + 12 + 3 * 64 + 5] ^= 1;
    match Ptau::read(&bad) {
        Err(CeremonyError::Point { what, index, .. }) => assert_eq!((what, index), ("tauG1", 3)),
        other => panic!("{other:?}"),
    }
    let mut wrong = bytes.clone();
    wrong[..4].copy_from_slice(b"zkey");
    assert!(matches!(
        Ptau::read(&wrong),
        Err(CeremonyError::Magic { .. })
    ));
    let mut longer = bytes;
    longer.push(0);
    assert!(Ptau::read(&longer).is_err());
}

#[test]
fn a_forged_proof_of_knowledge_is_named() {
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    // Contribution 2 reuses contribution 1's proof for τ.
    t.contributions[1].tau.g2_spx = t.contributions[0].tau.g2_spx;
    assert_eq!(
        t.verify(&mut rng()).unwrap_err(),
        CeremonyError::Check {
            contribution: Some(2),
            check: "proof of knowledge of τ".into()
        }
    );
}

#[test]
fn a_contribution_that_restarts_the_transcript_is_caught() {
    // A contributor that ignores the previous τ and publishes powers of its
    // own: its key proves knowledge of its secret, but τ·G1 is no longer
    // the previous τ·G1 times it.
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    t.contributions[1].tau_g1 = t.contributions[0].tau_g1;
    assert_eq!(
        t.verify(&mut rng()).unwrap_err(),
        CeremonyError::Check {
            contribution: Some(2),
            check: "τ update in G1 against its key".into()
        }
    );
}

#[test]
fn the_beacon_key_is_reproduced_from_its_public_parameters() {
    let t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    t.verify(&mut rng()).unwrap();
    // Another beacon hash would have given another key.
    let mut bent = t.clone();
    if let Kind::Beacon { hash, .. } = &mut bent.contributions[2].kind {
        hash[0] ^= 1;
    }
    assert_eq!(
        bent.verify(&mut rng()).unwrap_err(),
        CeremonyError::Check {
            contribution: Some(3),
            check: "the beacon's key is the one its hash and iterations derive".into()
        }
    );
}

#[test]
fn the_last_challenge_must_hash_the_sections() {
    // Changing the last contribution's partial hash changes its response
    // hash, so the stored challenge no longer matches the points.
    let mut t = Ptau::read(&file("pot4-beacon.ptau")).unwrap();
    t.contributions[2].partial_hash[0] ^= 1;
    assert_eq!(
        t.verify(&mut rng()).unwrap_err(),
        CeremonyError::Check {
            contribution: Some(3),
            check: "the last challenge hash is the hash of the response and the sections".into()
        }
    );
}

#[path = "common/snarkjs.rs"]
mod making_tools;

mod making {
    use super::making_tools::{run, snarkjs};
    use super::*;
    use veilgate_circuits::ceremony::ptau::contributor_rng;

    /// Our own three-contributor transcript: two contributions and a beacon.
    fn ours() -> Ptau {
        let mut os = rng();
        let t = Ptau::new(4).unwrap();
        let t = t
            .contribute(&mut contributor_rng(&mut os, "bank-a dice"), "bank-a")
            .unwrap();
        let t = t
            .contribute(&mut contributor_rng(&mut os, "bank-b dice"), "bank-b")
            .unwrap();
        t.beacon(&[0xab; 32], 10, "closing beacon").unwrap()
    }

    #[test]
    fn a_transcript_made_here_verifies_and_round_trips() {
        let t = ours();
        t.verify(&mut rng()).unwrap();
        assert_eq!(Ptau::read(&t.to_bytes()).unwrap(), t);
        let names: Vec<_> = t
            .contributions
            .iter()
            .map(|c| c.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["bank-a", "bank-b", "closing beacon"]);
    }

    #[test]
    fn a_contribution_here_on_top_of_snarkjs_verifies() {
        let t = Ptau::read(&file("pot4-two.ptau")).unwrap();
        let t = t
            .contribute(&mut contributor_rng(&mut rng(), "more"), "third")
            .unwrap();
        t.verify(&mut rng()).unwrap();
    }

    #[test]
    fn snarkjs_verifies_ours_and_we_verify_its_contribution_on_top() {
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine.ptau");
        std::fs::write(&mine, ours().to_bytes()).unwrap();
        let text = run(&s, &["powersoftau", "verify", mine.to_str().unwrap()]);
        assert!(text.contains("Powers of Tau Ok!"), "{text}");

        // One of three contributions made by snarkjs, on top of ours.
        let theirs = dir.path().join("theirs.ptau");
        run(
            &s,
            &[
                "powersoftau",
                "contribute",
                mine.to_str().unwrap(),
                theirs.to_str().unwrap(),
                "--name=by snarkjs",
                "-e=snarkjs entropy",
            ],
        );
        let t = Ptau::read(&std::fs::read(&theirs).unwrap()).unwrap();
        assert_eq!(t.contributions.len(), 4);
        t.verify(&mut rng()).unwrap();
    }
}

mod r1cs {
    use super::making_tools::{run, snarkjs};
    use veilgate_circuits::ceremony::r1cs;
    use veilgate_circuits::groth16::compare::CompareCircuit;
    use veilgate_circuits::groth16::constraint_matrices;

    /// snarkjs reads the compare circuit's `.r1cs` and finds exactly our
    /// constraints: counts, and every coefficient of every row.
    #[test]
    fn snarkjs_reads_our_r1cs_as_the_same_constraint_system() {
        let m = constraint_matrices(&CompareCircuit::shape()).unwrap();
        let bytes = r1cs::write(&m);
        assert_eq!(&bytes[..4], b"r1cs");
        let Some(s) = snarkjs() else { return };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compare.r1cs");
        std::fs::write(&file, &bytes).unwrap();
        let info = run(&s, &["r1cs", "info", file.to_str().unwrap()]);
        assert!(
            info.contains(&format!("# of Constraints: {}", m.a.len())),
            "{info}"
        );
        assert!(
            info.contains(&format!("# of Wires: {}", m.num_instance + m.num_witness)),
            "{info}"
        );
        let json = dir.path().join("compare.json");
        run(
            &s,
            &[
                "r1cs",
                "export",
                "json",
                file.to_str().unwrap(),
                json.to_str().unwrap(),
            ],
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let rows = v["constraints"].as_array().unwrap();
        assert_eq!(rows.len(), m.a.len());
        use ark_ff::PrimeField;
        for (i, row) in rows.iter().enumerate() {
            for (k, ours) in [&m.a[i], &m.b[i], &m.c[i]].into_iter().enumerate() {
                let theirs = row[k].as_object().unwrap();
                assert_eq!(theirs.len(), ours.len(), "row {i} matrix {k}");
                for (coeff, wire) in ours {
                    assert_eq!(
                        theirs[&wire.to_string()].as_str().unwrap(),
                        coeff.into_bigint().to_string(),
                        "row {i} matrix {k} wire {wire}"
                    );
                }
            }
        }
    }
}
