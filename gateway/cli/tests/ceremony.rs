//! `veilgate ceremony ptau` through the real binary: three members and a
//! beacon make a transcript that verifies (and that snarkjs verifies, in
//! CI); a tampered transcript is refused before anyone contributes to it,
//! naming the file and the check, and nothing is written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::process::{Command, Output};

fn veilgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["ceremony", "ptau"])
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn three_members_and_a_beacon_make_a_transcript_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    ok(veilgate(&["new", "--power", "5", "--out", s(&f("0.ptau"))]));
    for (i, who) in ["bank-a", "bank-b", "regulator"].iter().enumerate() {
        ok(veilgate(&[
            "contribute",
            "--in",
            s(&f(&format!("{i}.ptau"))),
            "--out",
            s(&f(&format!("{}.ptau", i + 1))),
            "--name",
            who,
            "--entropy",
            "dice rolled at the meeting",
        ]));
    }
    ok(veilgate(&[
        "beacon",
        "--in",
        s(&f("3.ptau")),
        "--out",
        s(&f("final.ptau")),
        "--hash",
        "00000000000000000003a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6",
    ]));
    let text = ok(veilgate(&["verify", s(&f("final.ptau"))]));
    assert!(
        text.contains("transcript ok — 2^5 powers, 4 contributions"),
        "{text}"
    );
    for who in ["1: bank-a", "2: bank-b", "3: regulator", "4: beacon"] {
        assert!(text.contains(who), "{text}");
    }
    if let Some(snarkjs) = std::env::var_os("VEILGATE_SNARKJS") {
        let out = Command::new("node")
            .arg(snarkjs)
            .args(["powersoftau", "verify", s(&f("final.ptau"))])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains("Powers of Tau Ok!"),
            "{text}"
        );
    }
}

#[test]
fn a_tampered_transcript_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    ok(veilgate(&["new", "--power", "3", "--out", s(&f("0.ptau"))]));
    ok(veilgate(&[
        "contribute",
        "--in",
        s(&f("0.ptau")),
        "--out",
        s(&f("1.ptau")),
        "--name",
        "bank-a",
    ]));
    // The contribution record's τ·G2 replaced by the generator: still a
    // valid point, no longer the update its key proves.
    let mut bytes = std::fs::read(f("1.ptau")).unwrap();
    let g2 = bytes[12 + 56 + 12 + 15 * 64 + 12..][..128].to_vec();
    let contributions = bytes.len()
        - (1504 + 2 + "bank-a".len()) // the one record (with its name parameter)
        - 4; // its count
    let tau_g2_at = contributions + 4 + 64;
    bytes[tau_g2_at..tau_g2_at + 128].copy_from_slice(&g2);
    std::fs::write(f("bad.ptau"), &bytes).unwrap();

    let out = veilgate(&[
        "contribute",
        "--in",
        s(&f("bad.ptau")),
        "--out",
        s(&f("2.ptau")),
        "--name",
        "bank-b",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.ptau") && err.contains("contribution 1"),
        "{err}"
    );
    assert!(!f("2.ptau").exists(), "nothing is written");

    // An existing output is never written over.
    let out = veilgate(&[
        "contribute",
        "--in",
        s(&f("1.ptau")),
        "--out",
        s(&f("0.ptau")),
        "--name",
        "bank-b",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    assert_eq!(
        veilgate_circuits::ceremony::ptau::Ptau::read(&std::fs::read(f("0.ptau")).unwrap())
            .unwrap()
            .contributions
            .len(),
        0
    );
}

#[test]
fn every_circuit_exports_as_r1cs_and_unknown_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for circuit in ["compare64-v1", "date-threshold-v1", "sum3x64-v1"] {
        let out = dir.path().join(format!("{circuit}.r1cs"));
        let o = Command::new(env!("CARGO_BIN_EXE_veilgate"))
            .args(["ceremony", "r1cs", "--circuit", circuit, "--out", s(&out)])
            .output()
            .unwrap();
        ok(o);
        assert_eq!(&std::fs::read(&out).unwrap()[..4], b"r1cs");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args([
            "ceremony",
            "r1cs",
            "--circuit",
            "sum17x64-v1",
            "--out",
            s(&dir.path().join("x")),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no circuit `sum17x64-v1`"));
}

fn phase2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .arg("ceremony")
        .args(args)
        .output()
        .unwrap()
}

/// Phase 2 through the binary: a member refuses a ceremony folder whose
/// file was tampered with (naming the file, the contribution and the
/// check) and writes nothing; an unprepared transcript and a transcript
/// too small for the circuit are named.
#[test]
fn a_tampered_phase_2_folder_is_refused_and_nothing_is_written() {
    use ark_ec::CurveGroup;
    use veilgate_circuits::ceremony::zkey::Zkey;

    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    // date-threshold-v1: 306 constraints, 2^9 rows.
    ok(veilgate(&["new", "--power", "9", "--out", s(&f("0.ptau"))]));
    ok(veilgate(&[
        "contribute",
        "--in",
        s(&f("0.ptau")),
        "--out",
        s(&f("1.ptau")),
        "--name",
        "a",
    ]));
    let out = phase2(&[
        "init",
        "--ptau",
        s(&f("1.ptau")),
        "--circuit",
        "date-threshold-v1",
        "--out",
        s(&f("c0")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not prepared"));
    ok(veilgate(&[
        "prepare",
        "--in",
        s(&f("1.ptau")),
        "--out",
        s(&f("pot.ptau")),
    ]));
    let out = phase2(&[
        "init",
        "--ptau",
        s(&f("pot.ptau")),
        "--circuit",
        "compare64-v1",
        "--out",
        s(&f("big")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("2^10 powers"),
        "{err}"
    );
    assert!(!f("big").exists());
    let out = phase2(&[
        "init",
        "--ptau",
        s(&f("pot.ptau")),
        "--circuit",
        "nonsense-v1",
        "--out",
        s(&f("x")),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no circuit `nonsense-v1`"));

    ok(phase2(&[
        "init",
        "--ptau",
        s(&f("pot.ptau")),
        "--circuit",
        "date-threshold-v1",
        "--out",
        s(&f("c0")),
    ]));
    ok(phase2(&[
        "contribute",
        "--in",
        s(&f("c0")),
        "--out",
        s(&f("c1")),
        "--ptau",
        s(&f("pot.ptau")),
        "--name",
        "bank-a",
    ]));
    // Contribution 1's proof of knowledge bent: g1_sx doubled.
    let file = f("c1/date-threshold-v1.zkey");
    let mut z = Zkey::read(&std::fs::read(&file).unwrap()).unwrap();
    let k = &mut z.contributions[0].key;
    k.g1_sx = (k.g1_sx + k.g1_sx).into_affine();
    std::fs::write(&file, z.to_bytes()).unwrap();
    let out = phase2(&[
        "contribute",
        "--in",
        s(&f("c1")),
        "--out",
        s(&f("c2")),
        "--ptau",
        s(&f("pot.ptau")),
        "--name",
        "bank-b",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("date-threshold-v1.zkey") && err.contains("contribution 1"),
        "{err}"
    );
    assert!(!f("c2").exists(), "nothing is written");
    let out = phase2(&["verify", "--ptau", s(&f("pot.ptau")), s(&f("c1"))]);
    assert!(!out.status.success());
    // An existing folder is never written over.
    let out = phase2(&[
        "contribute",
        "--in",
        s(&f("c0")),
        "--out",
        s(&f("c1")),
        "--ptau",
        s(&f("pot.ptau")),
        "--name",
        "bank-b",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}
