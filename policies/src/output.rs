//! What `veilgate policy check | test | diff --format json|junit` print: the
//! tools' results as JSON values and JUnit XML, for CI systems and editors.
//!
//! Pure: values in, values or text out; the CLI only prints them. The
//! shapes are documented in `policies/README.md` ("Tools") and are a
//! promise to the scripts that read them: add keys, never rename them.

use serde_json::{json, Value};

use crate::diff::Report;
use crate::testing::CaseResult;
use crate::{Diagnostics, Plan, PolicyError};

fn error_json(e: &PolicyError) -> Value {
    json!({
        "line": e.span.line,
        "column": e.span.col,
        "length": e.span.len,
        "message": e.message,
        "help": e.help,
    })
}

/// One file's `check` result: `{"file", "ok", "policy", "version", "hash",
/// "errors", "warnings"}`; `policy`, `version` and `hash` are null when it
/// fails; `warnings` are sentences (`crate::padding::warnings`), empty when
/// it fails.
pub fn check_json(file: &str, result: &Result<Plan, Diagnostics>) -> Value {
    match result {
        Ok(plan) => json!({
            "file": file,
            "ok": true,
            "policy": plan.id,
            "version": plan.version,
            "hash": hex::encode(plan.hash()),
            "errors": [],
            "warnings": crate::padding::warnings(plan),
        }),
        Err(d) => json!({
            "file": file,
            "ok": false,
            "policy": null,
            "version": null,
            "hash": null,
            "errors": d.iter().map(error_json).collect::<Vec<_>>(),
            "warnings": [],
        }),
    }
}

/// One test file's results: its cases, or why none could run (the file
/// does not parse, its policy does not compile, a set list is missing).
pub struct FileResult {
    pub file: String,
    pub outcome: Result<Vec<CaseResult>, String>,
}

impl FileResult {
    fn cases(&self) -> &[CaseResult] {
        self.outcome.as_deref().unwrap_or(&[])
    }
}

/// `{"files": [{"file", "error", "cases": [{"name", "passed",
/// "failures"}]}], "passed", "failed", "errors"}`: `error` is null, or why
/// the file's cases could not run (then `cases` is empty and the file counts
/// in `errors`).
pub fn test_json(files: &[FileResult]) -> Value {
    let (passed, failed, errors) = counts(files);
    json!({
        "files": files.iter().map(|f| json!({
            "file": f.file,
            "error": f.outcome.as_ref().err(),
            "cases": f.cases().iter().map(|c| json!({
                "name": c.name,
                "passed": c.passed(),
                "failures": c.failures,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "passed": passed,
        "failed": failed,
        "errors": errors,
    })
}

/// Cases passed, cases failed, files that could not run.
fn counts(files: &[FileResult]) -> (usize, usize, usize) {
    let all = files.iter().flat_map(FileResult::cases);
    let passed = all.clone().filter(|c| c.passed()).count();
    let errors = files.iter().filter(|f| f.outcome.is_err()).count();
    (passed, all.count() - passed, errors)
}

/// The same results as JUnit XML: one `<testsuite>` per test file, one
/// `<testcase>` per case (`classname` the file's name without
/// `.test.json`, dots made `_` since CI tools read dots as packages), a
/// `<failure>` with the reasons for a failed case. A file whose cases could
/// not run is a suite with one `<testcase name="(test file)">` holding an
/// `<error>`, so the CI shows it rather than silently fewer tests.
pub fn test_junit(files: &[FileResult]) -> String {
    let (passed, failed, errors) = counts(files);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"veilgate policy test\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\">\n",
        passed + failed + errors
    );
    for f in files {
        let (file, cases) = (&f.file, f.cases());
        let failures = cases.iter().filter(|c| !c.passed()).count();
        let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let stem = stem
            .strip_suffix(".test.json")
            .or_else(|| stem.strip_suffix(".json"))
            .unwrap_or(stem);
        let class = stem.replace('.', "_");
        if let Err(why) = &f.outcome {
            out.push_str(&format!(
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\">\n    <testcase name=\"(test file)\" classname=\"{}\">\n      <error message=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n",
                xml_escape(file),
                xml_escape(&class),
                xml_escape(why.lines().next().unwrap_or("")),
                xml_escape(why)
            ));
            continue;
        }
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">\n",
            xml_escape(file),
            cases.len()
        ));
        for c in cases {
            let head = format!(
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml_escape(&c.name),
                xml_escape(&class)
            );
            if c.passed() {
                out.push_str(&head);
                out.push_str("/>\n");
            } else {
                out.push_str(&format!(
                    "{head}>\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(&c.failures.join("; ")),
                    xml_escape(&c.failures.join("\n"))
                ));
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// `text` safe inside an XML attribute or element: the five special
/// characters as entities, line breaks and tabs as character references (so
/// attribute value normalisation keeps them), and the control characters
/// XML 1.0 cannot carry at all as U+FFFD.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn plan_json(p: &Plan) -> Value {
    json!({ "id": p.id, "version": p.version, "hash": hex::encode(p.hash()) })
}

/// `{"old": {"id", "version", "hash"}, "new": {...}, "changes": [{"field",
/// "kind", "text"}], "widened", "warnings"}`; `field` is null for a change
/// to the policy as a whole.
pub fn diff_json(old: &Plan, new: &Plan, report: &Report) -> Value {
    json!({
        "old": plan_json(old),
        "new": plan_json(new),
        "changes": report.changes.iter().map(|c| json!({
            "field": c.field,
            "kind": c.kind.as_str(),
            "text": c.text,
        })).collect::<Vec<_>>(),
        "widened": report.widened(),
        "warnings": report.warnings,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn xml_escaping_leaves_nothing_that_breaks_the_document() {
        assert_eq!(
            xml_escape("a<b>&\"c\" 'd'\n\u{1}é"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;&#10;\u{FFFD}é"
        );
    }

    #[test]
    fn junit_has_a_suite_per_file_and_a_failure_per_failed_case() {
        let files = vec![FileResult {
            file: "dir/pay.test.json".to_owned(),
            outcome: Ok(vec![
                CaseResult {
                    name: "ok <case>".into(),
                    failures: vec![],
                },
                CaseResult {
                    name: "bad".into(),
                    failures: vec!["one \"x\"".into(), "two & three".into()],
                },
            ]),
        }];
        let xml = test_junit(&files);
        assert!(
            xml.contains("<testsuites name=\"veilgate policy test\" tests=\"2\" failures=\"1\" errors=\"0\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"dir/pay.test.json\" tests=\"2\" failures=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"ok &lt;case&gt;\" classname=\"pay\"/>"),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"one &quot;x&quot;; two &amp; three\">one &quot;x&quot;&#10;two &amp; three</failure>"), "{xml}");
        let broken = [FileResult {
            file: "kyc.test.json".to_owned(),
            outcome: Err("error: unknown type `strng`\n --> p:4:6".to_owned()),
        }];
        let xml = test_junit(&broken);
        assert!(
            xml.contains("tests=\"1\" failures=\"0\" errors=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("<testcase name=\"(test file)\" classname=\"kyc\">\n      <error message=\"error: unknown type `strng`\">error: unknown type `strng`&#10; --&gt; p:4:6</error>"), "{xml}");
        let json = test_json(&broken);
        assert_eq!(
            (json["errors"].as_u64(), json["failed"].as_u64()),
            (Some(1), Some(0))
        );
        assert_eq!(json["files"][0]["cases"], serde_json::json!([]));
        assert!(json["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("strng"));
        let json = test_json(&files);
        assert_eq!(json["files"][0]["error"], Value::Null);
        assert_eq!(
            (json["passed"].as_u64(), json["failed"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(json["files"][0]["cases"][1]["failures"][1], "two & three");
    }
}
