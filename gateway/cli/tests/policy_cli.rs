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
    // Every template pads, so no length is left visible to warn about.
    assert_eq!(err, "", "{out}");

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
    assert!(out.contains("-  30   currency:   public"), "{out}");
    assert!(out.contains("+  30   currency:      public"), "{out}");
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

const SMALL: &str = "policy p version 1
ledger l
record {
  payer: party
  amount: amount(2)
  note: string
}
roles { regulator }
disclose {
  payer: public
  amount: commit, range 0 ..= 10, encrypt to [regulator]
  note: drop
}
";

fn json_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", text(o)))
}

#[test]
fn check_format_json_reports_each_file_with_its_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.policy");
    let bad = tmp.path().join("bad.policy");
    std::fs::write(&good, SMALL).unwrap();
    std::fs::write(&bad, SMALL.replace("note: string", "note: strng")).unwrap();

    let o = veilgate(&[
        "policy",
        "check",
        "--format",
        "json",
        good.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v = json_of(&o);
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["policy"], "p");
    assert_eq!(v[0]["version"], 1);
    assert_eq!(v[0]["hash"].as_str().unwrap().len(), 64);
    assert_eq!(v[0]["errors"], serde_json::json!([]));

    let o = veilgate(&[
        "policy",
        "check",
        "--format",
        "json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    // Everything is in the JSON: nothing else on standard error.
    assert_eq!(text(&o).1, "");
    let v = json_of(&o);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["file"], bad.to_str().unwrap());
    assert_eq!(v[1]["ok"], false);
    assert_eq!(v[1]["policy"], serde_json::Value::Null);
    assert_eq!(
        v[1]["errors"],
        serde_json::json!([{ "line": 6, "column": 9, "length": 5,
            "message": "unknown type `strng`", "help": "did you mean `string`?" }])
    );
}

/// A test file beside a copy of the interbank template: one case that
/// passes, one that fails.
fn one_failing_case(dir: &Path) -> PathBuf {
    let t = templates();
    std::fs::copy(t.join("interbank-payment.policy"), dir.join("p.policy")).unwrap();
    std::fs::copy(t.join("interbank-payment.sample.json"), dir.join("s.json")).unwrap();
    let file = dir.join("pay.test.json");
    std::fs::write(
        &file,
        r#"{ "policy": "p.policy", "cases": [
            { "name": "peers see a commitment", "record_file": "s.json", "expect": { "ledger observer": { "amount": "<commitment>" } } },
            { "name": "claims <peers> & \"all\" see the amount", "record_file": "s.json", "expect": { "ledger observer": { "amount": "1250000.00" } } } ] }"#,
    )
    .unwrap();
    file
}

#[test]
fn test_format_json_and_junit_report_the_failing_case() {
    let tmp = tempfile::tempdir().unwrap();
    let file = one_failing_case(tmp.path());
    let f = file.to_str().unwrap();

    let o = veilgate(&["policy", "test", "--format", "json", f]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let v = json_of(&o);
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let cases = &v["files"][0]["cases"];
    assert_eq!(v["files"][0]["file"], f);
    assert_eq!(cases[0]["passed"], true);
    assert_eq!(cases[1]["passed"], false);
    assert_eq!(
        cases[1]["failures"][0],
        "`ledger observer` sees `amount` as \"<commitment>\", expected \"1250000.00\""
    );

    let o = veilgate(&["policy", "test", "--format", "junit", f]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (xml, _) = text(&o);
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"),
        "{xml}"
    );
    assert_eq!(xml.matches("<testsuite ").count(), 1, "{xml}");
    assert!(
        xml.contains(&format!(
            "<testsuite name=\"{f}\" tests=\"2\" failures=\"1\""
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"peers see a commitment\" classname=\"pay\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"claims &lt;peers&gt; &amp; &quot;all&quot; see the amount\" classname=\"pay\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"`ledger observer` sees `amount` as &quot;&lt;commitment&gt;&quot;, expected &quot;1250000.00&quot;\">"),
        "{xml}"
    );
    // Balanced: every element opened is closed.
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("</testcase>").count(), 1);
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");

    // A test file whose policy is missing: reported as that file's error,
    // the other file's cases still run.
    let broken = tmp.path().join("broken.test.json");
    std::fs::write(&broken, r#"{ "policy": "missing.policy", "cases": [] }"#).unwrap();
    let b = broken.to_str().unwrap();
    let o = veilgate(&["policy", "test", "--format", "junit", b, f]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (xml, _) = text(&o);
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains(
            "<testcase name=\"(test file)\" classname=\"broken\">\n      <error message=\""
        ),
        "{xml}"
    );
    assert!(xml.contains("missing.policy"), "{xml}");
    let v = json_of(&veilgate(&["policy", "test", "--format", "json", b, f]));
    assert_eq!(
        (
            v["passed"].as_u64(),
            v["failed"].as_u64(),
            v["errors"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert!(
        v["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("missing.policy"),
        "{v}"
    );
    assert_eq!(v["files"][1]["error"], serde_json::Value::Null);
    // Text output stops at it, as it always did.
    let o = veilgate(&["policy", "test", b, f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("missing.policy"), "{:?}", text(&o));

    // All cases passing: exit 0.
    let o = veilgate(&[
        "policy",
        "test",
        "--format",
        "junit",
        templates()
            .join("interbank-payment.test.json")
            .to_str()
            .unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(!text(&o).0.contains("<failure"));
}

#[test]
fn diff_exit_code_is_zero_for_the_same_plan_and_one_for_a_different_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a.policy"),
        tmp.path().join("b.policy"),
        tmp.path().join("c.policy"),
    );
    std::fs::write(&a, SMALL).unwrap();
    // Only layout and a comment differ: the same plan.
    std::fs::write(
        &b,
        format!(
            "# reviewed\n{}",
            SMALL.replace("note: drop", "note:   drop")
        ),
    )
    .unwrap();
    std::fs::write(
        &c,
        SMALL
            .replace("version 1", "version 2")
            .replace("note: drop", "note: encrypt to [regulator]"),
    )
    .unwrap();
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let o = veilgate(&["policy", "diff", "--exit-code", a, b]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(text(&o).0.starts_with("no change in disclosure"));
    let o = veilgate(&["policy", "diff", "--exit-code", a, c]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(text(&o).0.contains("version: 1 → 2"), "{:?}", text(&o));
    // Without --exit-code a difference is not a failure.
    assert!(veilgate(&["policy", "diff", a, c]).status.success());
}

#[test]
fn diff_warns_when_disclosure_widens_and_classifies_each_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.policy"), tmp.path().join("b.policy"));
    std::fs::write(
        &a,
        SMALL.replace("note: drop", "note: encrypt to [regulator]"),
    )
    .unwrap();
    std::fs::write(
        &b,
        SMALL
            .replace("version 1", "version 2")
            .replace("note: drop", "note: public"),
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = veilgate(&["policy", "diff", a, b]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("`note`: now public — visible to everyone who reads the ledger"),
        "{out}"
    );
    assert!(
        err.contains("warning: disclosure widens: `note`: now public"),
        "{err}"
    );

    // The other way round narrows: no warning about widening.
    let o = veilgate(&["policy", "diff", b, a]);
    let (out, err) = text(&o);
    assert!(
        out.contains("`note`: no longer public — only `regulator` can read its value"),
        "{out}"
    );
    assert!(!err.contains("widens"), "{err}");

    let o = veilgate(&["policy", "diff", "--format", "json", a, b]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v = json_of(&o);
    assert_eq!(v["widened"], true);
    assert_eq!(
        (v["old"]["version"].as_u64(), v["new"]["version"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(v["old"]["id"], "p");
    let changes = v["changes"].as_array().unwrap();
    assert!(
        changes.contains(&serde_json::json!({
        "field": "note", "kind": "widening",
        "text": "`note`: now public — visible to everyone who reads the ledger"})),
        "{changes:?}"
    );
    assert!(
        changes.contains(&serde_json::json!({
        "field": null, "kind": "other", "text": "version: 1 → 2"})),
        "{changes:?}"
    );
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("disclosure widens"),
        "{v}"
    );

    // A field dropped says so plainly, never "visible only to nobody".
    let dropped = tmp.path().join("dropped.policy");
    std::fs::write(&dropped, SMALL.replace("version 1", "version 3")).unwrap();
    let o = veilgate(&["policy", "diff", b, dropped.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert!(
        out.contains("`note`: no longer public — dropped: its value never leaves the institution"),
        "{out}"
    );
    assert!(!out.contains("nobody"), "{out}");
}

#[test]
fn diff_warns_when_the_plan_changes_but_the_version_does_not_go_up() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a.policy"), tmp.path().join("b.policy"));
    std::fs::write(&a, SMALL).unwrap();
    std::fs::write(
        &b,
        SMALL.replace("note: drop", "note: encrypt to [regulator]"),
    )
    .unwrap();
    let o = veilgate(&["policy", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: policy `p` changed but its version did not go up (1 → 1): the gateway refuses two different texts under one id and version; write `version 2`"),
        "{err}"
    );
    // With the version raised, no such warning.
    std::fs::write(
        &b,
        SMALL
            .replace("version 1", "version 2")
            .replace("note: drop", "note: encrypt to [regulator]"),
    )
    .unwrap();
    let o = veilgate(&["policy", "diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!text(&o).1.contains("did not go up"), "{:?}", text(&o));
}

#[test]
fn policy_new_starts_a_policy_from_a_template_that_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("acme.policy");
    let o = veilgate(&[
        "policy",
        "new",
        "--template",
        "kyc-attestation",
        "--id",
        "acme-kyc",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = veilgate(&["policy", "check", out.to_str().unwrap()]);
    let (stdout, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        stdout.contains("ok — policy `acme-kyc` version 1"),
        "{stdout}"
    );

    // Never over an existing file.
    let before = std::fs::read(&out).unwrap();
    let o = veilgate(&[
        "policy",
        "new",
        "--template",
        "interbank-payment",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("the file exists"), "{:?}", text(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);

    // Without --out it prints the template; an unknown one lists the names.
    // A new policy starts padded: the templates hide value lengths.
    let o = veilgate(&["policy", "new", "--template", "syndicated-loan"]);
    let (printed, _) = text(&o);
    assert!(
        printed.contains("policy syndicated-loan version 3\n")
            && printed.contains("\npad pow2 32..=1024\n"),
        "{printed}"
    );
    let o = veilgate(&["policy", "new", "--template", "mortgage"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("unknown template `mortgage`") && NAMES.iter().all(|n| err.contains(n)),
        "{err}"
    );
    let o = veilgate(&["policy", "new", "--list"]);
    let (listed, _) = text(&o);
    assert!(o.status.success());
    assert_eq!(listed.lines().count(), NAMES.len(), "{listed}");
    assert!(NAMES.iter().all(|n| listed.contains(n)), "{listed}");
}

/// An encrypted string without a `pad` line: `check` passes, with a
/// warning naming the field on standard error (text) or under `warnings`
/// (JSON); with the line, no warning.
#[test]
fn check_warns_when_an_encrypted_string_is_not_padded() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain.policy");
    let padded = tmp.path().join("padded.policy");
    let encrypted = SMALL.replace("note: drop", "note: encrypt to [regulator]");
    std::fs::write(&plain, &encrypted).unwrap();
    std::fs::write(
        &padded,
        encrypted.replacen("ledger l\n", "ledger l\npad pow2 32..=1024\n", 1),
    )
    .unwrap();

    let o = veilgate(&["policy", "check", plain.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert_eq!(
        err,
        format!(
            "warning: {}: `note`'s length is visible to every peer: its ciphertexts are as long as its value; add `pad pow2 32..=1024` after the `ledger` line\n",
            plain.display()
        )
    );
    let o = veilgate(&["policy", "check", padded.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success() && err.is_empty(), "{out}{err}");

    let o = veilgate(&[
        "policy",
        "check",
        "--format",
        "json",
        plain.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).1, "");
    let v = json_of(&o);
    assert_eq!(v[0]["warnings"].as_array().unwrap().len(), 1);
    assert!(v[0]["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("`note`'s length"));
}
