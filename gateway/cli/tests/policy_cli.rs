//! The policy author's tools through the real `veilgate` binary, on every template.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/templates")
}

fn veilgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const NAMES: [&str; 6] = [
    "interbank-payment",
    "kyc-attestation",
    "syndicated-loan",
    "supply-chain-receivable",
    "large-value-report",
    "cross-border-remittance",
];

#[test]
fn every_template_checks_is_formatted_previews_diffs_and_passes_its_tests() {
    let dir = templates();
    let tmp = tempfile::tempdir().unwrap();
    for name in NAMES {
        let policy = dir.join(format!("{name}.policy"));
        let p = policy.to_str().unwrap();
        let o = veilgate(&["policy", "check", p]);
        assert!(o.status.success(), "{name}: {:?}", text(&o));

        let o = veilgate(&["policy", "fmt", "--check", p]);
        assert!(
            o.status.success(),
            "{name} is not in canonical layout: {:?}",
            text(&o)
        );

        let sample = dir.join(format!("{name}.sample.json"));
        let o = veilgate(&["policy", "preview", p, "--record", sample.to_str().unwrap()]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{name}: {err}");
        assert!(
            out.contains("ledger observer") && out.contains("regulator"),
            "{name}: {out}"
        );

        // A modified copy: a new version that also gives one field to an auditor.
        let original = std::fs::read_to_string(&policy).unwrap();
        let version: u32 = original
            .split_once(" version ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        let next = version + 1;
        let modified = original
            .replacen(
                &format!(" version {version}\n"),
                &format!(" version {next}\n"),
                1,
            )
            .replacen("roles { regulator", "roles { auditor regulator", 1)
            .replacen("disclose {", "disclose {\n  # changed", 1);
        // The first `encrypt to [` inside `disclose` (not a `require` line).
        let at = modified.find("# changed").unwrap();
        let modified = format!(
            "{}{}",
            &modified[..at],
            modified[at..].replacen("encrypt to [", "encrypt to [auditor, ", 1)
        );
        let copy = tmp.path().join(format!("{name}-v2.policy"));
        std::fs::write(&copy, &modified).unwrap();
        let o = veilgate(&["policy", "diff", p, copy.to_str().unwrap()]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{name}: {err}");
        assert!(
            out.contains(&format!("version: {version} → {next}")),
            "{name}: {out}"
        );
        assert!(
            out.contains("now also visible to `auditor`"),
            "{name}: {out}"
        );
        assert!(out.contains("role `auditor` declared"), "{name}: {out}");
        let o = veilgate(&["policy", "diff", p, p]);
        assert!(text(&o).0.starts_with("no change in disclosure"), "{name}");

        let tests = dir.join(format!("{name}.test.json"));
        let o = veilgate(&["policy", "test", tests.to_str().unwrap()]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{name}: {out}{err}");
        assert!(
            out.contains(" 0 failed") && !out.contains("FAILED"),
            "{name}: {out}"
        );
    }
}

#[test]
fn a_wrong_expectation_fails_the_policy_test_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = templates();
    std::fs::copy(
        dir.join("interbank-payment.policy"),
        tmp.path().join("p.policy"),
    )
    .unwrap();
    std::fs::copy(
        dir.join("interbank-payment.sample.json"),
        tmp.path().join("s.json"),
    )
    .unwrap();
    let file = tmp.path().join("wrong.test.json");
    std::fs::write(
        &file,
        r#"{ "policy": "p.policy", "cases": [
            { "name": "claims peers see the amount", "record_file": "s.json", "expect": { "ledger observer": { "amount": "1250000.00" } } },
            { "name": "claims a refusal that does not happen", "record_file": "s.json", "expect_error": { "field": "amount" } },
            { "name": "names a role that does not exist", "record_file": "s.json", "expect": { "auditor": { "amount": "<commitment>" } } } ] }"#,
    )
    .unwrap();
    let o = veilgate(&["policy", "test", file.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert!(!o.status.success());
    assert_eq!(out.matches("FAILED").count(), 3, "{out}");
    assert!(
        out.contains(
            "`ledger observer` sees `amount` as \"<commitment>\", expected \"1250000.00\""
        ),
        "{out}"
    );
    assert!(out.contains("0 passed, 3 failed"), "{out}");
}

#[test]
fn check_reports_the_line_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.policy");
    std::fs::write(
        &bad,
        "policy p version 1\nledger l\nrecord {\n  a: strng\n}\ndisclose {\n  a: public\n}\n",
    )
    .unwrap();
    let o = veilgate(&["policy", "check", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("error: unknown type `strng`")
            && err.contains("bad.policy:4:6")
            && err.contains("did you mean `string`?"),
        "{err}"
    );
}

#[test]
fn fmt_puts_a_messy_policy_in_canonical_layout_and_keeps_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let messy = tmp.path().join("messy.policy");
    std::fs::write(
        &messy,
        "# why this policy exists\npolicy p version 1 ledger l\nrecord { a: string   b:amount(2) }\n\
         disclose {\n# a comment on a\n a:public\n b: commit,range 0 ..= 10,encrypt to [r] # trailing\n}\nroles{r}\n",
    )
    .unwrap();
    // `roles` after `disclose` is a grammar error: fmt refuses to bless it.
    assert!(!veilgate(&["policy", "fmt", messy.to_str().unwrap()])
        .status
        .success());
    std::fs::write(
        &messy,
        "# why this policy exists\npolicy p version 1 ledger l\nrecord { a: string   b:amount(2) }\nroles{r}\n\
         disclose {\n# a comment on a\n a:public\n b: commit,range 0 ..= 10,encrypt to [r] # trailing\n}\n",
    )
    .unwrap();
    let o = veilgate(&["policy", "fmt", messy.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(
        out,
        "# why this policy exists\npolicy p version 1\nledger l\n\nrecord {\n  a: string\n  b: amount(2)\n}\n\nroles { r }\n\n\
         disclose {\n  # a comment on a\n  a: public\n  b: commit, range 0 ..= 10, encrypt to [r]  # trailing\n}\n"
    );
    assert!(
        veilgate(&["policy", "fmt", "--write", messy.to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        veilgate(&["policy", "fmt", "--check", messy.to_str().unwrap()])
            .status
            .success()
    );
}

/// `check` and `fmt` take several files, folders (every `*.policy` under
/// them) and `-` for standard input; `fmt --check` shows what differs.
#[test]
fn check_and_fmt_take_folders_several_files_and_stdin() {
    let o = veilgate(&["policy", "check", templates().to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert_eq!(out.matches(": ok — policy").count(), NAMES.len(), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let good = templates().join("interbank-payment.policy");
    let messy = dir.path().join("messy.policy");
    std::fs::write(
        &messy,
        std::fs::read_to_string(&good)
            .unwrap()
            .replace("  currency:      public", "  currency:   public"),
    )
    .unwrap();
    // Standard input, beside a file.
    let mut child = Command::new(env!("CARGO_BIN_EXE_veilgate"))
        .args(["policy", "check", "-", good.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(std::fs::read(&good).unwrap().as_slice())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, _) = text(&o);
    assert!(o.status.success() && out.contains("<stdin>: ok"), "{out}");

    // --check over a folder names the file and shows the line that moves.
    let o = veilgate(&["policy", "fmt", "--check", dir.path().to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("--- ") && out.contains("messy.policy"),
        "{out}"
    );
    assert!(out.contains("-  27   currency:   public"), "{out}");
    assert!(out.contains("+  27   currency:      public"), "{out}");
    assert!(err.contains("1 of 1 policies are not formatted"), "{err}");
    // Several files without --write or --check: refused, not printed together.
    let o = veilgate(&[
        "policy",
        "fmt",
        good.to_str().unwrap(),
        messy.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    // --write over the folder, then --check passes.
    assert!(
        veilgate(&["policy", "fmt", "--write", dir.path().to_str().unwrap()])
            .status
            .success()
    );
    assert!(
        veilgate(&["policy", "fmt", "--check", messy.to_str().unwrap()])
            .status
            .success()
    );
    // A folder with no policy in it says so.
    let empty = tempfile::tempdir().unwrap();
    let o = veilgate(&["policy", "check", empty.path().to_str().unwrap()]);
    assert!(text(&o).1.contains("no *.policy file"), "{:?}", text(&o));
}
