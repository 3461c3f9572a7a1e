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
/// "errors"}`; `policy`, `version` and `hash` are null when it fails.
pub fn check_json(file: &str, result: &Result<Plan, Diagnostics>) -> Value {
    match result {
        Ok(plan) => json!({
            "file": file,
            "ok": true,
            "policy": plan.id,
            "version": plan.version,
            "hash": hex::encode(plan.hash()),
            "errors": [],
        }),
        Err(d) => json!({
            "file": file,
            "ok": false,
            "policy": null,
            "version": null,
            "hash": null,
            "errors": d.iter().map(error_json).collect::<Vec<_>>(),
        }),
    }
}

/// `{"files": [{"file", "cases": [{"name", "passed", "failures"}]}],
/// "passed", "failed"}` for the results of each test file.
pub fn test_json(files: &[(String, Vec<CaseResult>)]) -> Value {
    let (passed, failed) = counts(files);
    json!({
        "files": files.iter().map(|(file, cases)| json!({
            "file": file,
            "cases": cases.iter().map(|c| json!({
                "name": c.name,
                "passed": c.passed(),
                "failures": c.failures,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "passed": passed,
        "failed": failed,
    })
}

fn counts(files: &[(String, Vec<CaseResult>)]) -> (usize, usize) {
    let all = files.iter().flat_map(|(_, cases)| cases);
    let passed = all.clone().filter(|c| c.passed()).count();
    (passed, all.count() - passed)
}

/// The same results as JUnit XML: one `<testsuite>` per test file, one
/// `<testcase>` per case (`classname` the file's name without
/// `.test.json`, dots made `_` since CI tools read dots as packages), a
/// `<failure>` with the reasons for a failed case.
pub fn test_junit(files: &[(String, Vec<CaseResult>)]) -> String {
    let (passed, failed) = counts(files);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"veilgate policy test\" tests=\"{}\" failures=\"{failed}\">\n",
        passed + failed
    );
    for (file, cases) in files {
        let failures = cases.iter().filter(|c| !c.passed()).count();
        let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let stem = stem
            .strip_suffix(".test.json")
            .or_else(|| stem.strip_suffix(".json"))
            .unwrap_or(stem);
        let class = stem.replace('.', "_");
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
        let files = vec![(
            "dir/pay.test.json".to_owned(),
            vec![
                CaseResult {
                    name: "ok <case>".into(),
                    failures: vec![],
                },
                CaseResult {
                    name: "bad".into(),
                    failures: vec!["one \"x\"".into(), "two & three".into()],
                },
            ],
        )];
        let xml = test_junit(&files);
        assert!(
            xml.contains("<testsuites name=\"veilgate policy test\" tests=\"2\" failures=\"1\">"),
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
        let json = test_json(&files);
        assert_eq!(
            (json["passed"].as_u64(), json["failed"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(json["files"][0]["cases"][1]["failures"][1], "two & three");
    }
}
