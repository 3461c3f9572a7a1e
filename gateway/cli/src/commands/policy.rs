//! `veilgate policy check | fmt | preview | diff | test | new`: the policy
//! authors' tools. The work is `veilgate_policies`'; this reads files,
//! prints, and sets the exit status.

use std::path::{Path, PathBuf};

use crate::{OutputFormat, PolicyCommand, TestFormat};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A failure the command has already reported in full (a JSON report with
/// `"ok": false`, `diff --exit-code` finding a difference): `main` exits 1
/// without printing anything more.
#[derive(Debug)]
pub struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

impl std::error::Error for Failed {}

fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()).into())
}

fn compile(p: &Path) -> Result<veilgate_policies::Plan> {
    let text = read(p)?;
    veilgate_policies::compile(&text).map_err(|e| {
        e.render(&p.display().to_string(), &text)
            .trim_end()
            .to_owned()
            .into()
    })
}

/// A policy text to work on: a file, or standard input (`-`).
struct Source {
    name: String,
    path: Option<PathBuf>,
    text: String,
}

/// The policy texts `paths` name: a file as is, a folder as every
/// `*.policy` file under it (sorted, so runs repeat), `-` as standard input.
fn sources(paths: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| format!("standard input: {e}"))?;
            out.push(Source {
                name: "<stdin>".into(),
                path: None,
                text,
            });
        } else if p.is_dir() {
            let mut files = Vec::new();
            policy_files(p, &mut files)?;
            if files.is_empty() {
                return Err(format!("{}: no *.policy file in this folder", p.display()).into());
            }
            for f in files {
                out.push(Source {
                    name: f.display().to_string(),
                    text: read(&f)?,
                    path: Some(f),
                });
            }
        } else {
            out.push(Source {
                name: p.display().to_string(),
                text: read(p)?,
                path: Some(p.clone()),
            });
        }
    }
    Ok(out)
}

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            policy_files(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "policy") {
            out.push(e);
        }
    }
    Ok(())
}

/// The lines of `old` and `new` that differ, as a unified-style listing
/// (`-` removed, `+` added, with line numbers), from a longest common
/// subsequence of lines: policies are short, so quadratic is fine.
// Every index is bounded by the loops' ranges over the two line lists and
// the (len + 1)² table.
#[allow(clippy::indexing_slicing)]
fn line_diff(name: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = format!("--- {name}\n+++ {name} (formatted)\n");
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("-{:>4} {}\n", i + 1, a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+{:>4} {}\n", j + 1, b[j]));
            j += 1;
        }
    }
    out
}

fn fmt(files: &[PathBuf], write: bool, check: bool) -> Result<()> {
    let sources = sources(files)?;
    if sources.len() > 1 && !write && !check {
        return Err(
            "several policies: pass --write to rewrite them or --check to list what differs".into(),
        );
    }
    let mut unformatted = 0;
    for src in &sources {
        let formatted = veilgate_policies::fmt::format(&src.text)
            .map_err(|e| e.render(&src.name, &src.text).trim_end().to_owned())?;
        if check {
            if formatted != src.text {
                unformatted += 1;
                print!("{}", line_diff(&src.name, &src.text, &formatted));
            }
        } else if write {
            match &src.path {
                Some(p) if formatted != src.text => {
                    std::fs::write(p, formatted).map_err(|e| format!("{}: {e}", p.display()))?
                }
                Some(_) => {}
                None => print!("{formatted}"),
            }
        } else {
            print!("{formatted}");
        }
    }
    if unformatted > 0 {
        return Err(format!(
            "{unformatted} of {} policies are not formatted; run `veilgate policy fmt --write`",
            sources.len()
        )
        .into());
    }
    Ok(())
}

pub fn run(command: PolicyCommand) -> Result<()> {
    match command {
        PolicyCommand::Check { files, format } => check(&files, format),
        PolicyCommand::Fmt {
            files,
            write,
            check,
        } => fmt(&files, write, check),
        PolicyCommand::Preview { file, record } => {
            let plan = compile(&file)?;
            let json: serde_json::Value = serde_json::from_str(&read(&record)?)
                .map_err(|e| format!("{}: {e}", record.display()))?;
            let p = veilgate_policies::preview::preview(&plan, &json)
                .map_err(|e| format!("{}: {e}", record.display()))?;
            println!(
                "policy `{}` version {} — what each role sees of {}\n",
                plan.id,
                plan.version,
                record.display()
            );
            print!("{}", p.render());
            Ok(())
        }
        PolicyCommand::Diff {
            old,
            new,
            exit_code,
            format,
        } => diff(&old, &new, exit_code, format),
        PolicyCommand::Test { files, format } => test(&files, format),
        PolicyCommand::New {
            template,
            id,
            out,
            list,
        } => new(template.as_deref(), id.as_deref(), out.as_deref(), list),
        PolicyCommand::Publish { data, ledger, file } => {
            super::operate::policy_publish(&data, &file, ledger.as_deref())
        }
    }
}

fn diff(old: &Path, new: &Path, exit_code: bool, format: OutputFormat) -> Result<()> {
    let (a, b) = (compile(old)?, compile(new)?);
    let report = veilgate_policies::diff::report(&a, &b);
    match format {
        OutputFormat::Json => print_json(&veilgate_policies::output::diff_json(&a, &b, &report))?,
        OutputFormat::Text => {
            if report.changes.is_empty() {
                println!(
                    "no change in disclosure (same policy hash {})",
                    hex::encode(a.hash())
                );
            }
            for c in &report.changes {
                println!("{}", c.text);
            }
            // On standard error, as a compiler's: the listing stays the diff.
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
        }
    }
    if exit_code && report.differs {
        return Err(Failed.into());
    }
    Ok(())
}

fn new(template: Option<&str>, id: Option<&str>, out: Option<&Path>, list: bool) -> Result<()> {
    use veilgate_policies::templates;
    if list {
        let width = templates::names().map(str::len).max().unwrap_or(0);
        for (name, text) in templates::ALL {
            println!("{name:<width$}  {}", templates::summary(text));
        }
        return Ok(());
    }
    // clap requires --template unless --list.
    let template = template.ok_or("name a template with --template (see --list)")?;
    let text = templates::instantiate(template, id)?;
    match out {
        None => print!("{text}"),
        Some(path) => {
            // `create_new`: an existing policy is never overwritten, even
            // one created between a check and the write.
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => format!(
                        "{}: the file exists; choose another --out or remove it first",
                        path.display()
                    ),
                    _ => format!("{}: {e}", path.display()),
                })?;
            f.write_all(text.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!(
                "wrote {} from template `{}`; check it with `veilgate policy check {}`",
                path.display(),
                template.strip_suffix(".policy").unwrap_or(template),
                path.display()
            );
        }
    }
    Ok(())
}

fn check(files: &[PathBuf], format: OutputFormat) -> Result<()> {
    let sources = sources(files)?;
    if format == OutputFormat::Json {
        let results: Vec<serde_json::Value> = sources
            .iter()
            .map(|src| {
                veilgate_policies::output::check_json(
                    &src.name,
                    &veilgate_policies::compile(&src.text),
                )
            })
            .collect();
        let ok = results.iter().all(|r| r["ok"] == true);
        print_json(&serde_json::Value::Array(results))?;
        return if ok { Ok(()) } else { Err(Failed.into()) };
    }
    let mut failed = 0;
    for src in &sources {
        match veilgate_policies::compile(&src.text) {
            Ok(plan) => {
                println!(
                    "{}: ok — policy `{}` version {} hash {}",
                    src.name,
                    plan.id,
                    plan.version,
                    hex::encode(plan.hash())
                );
                // Lints, not errors: on standard error, and the check passes.
                for w in veilgate_policies::padding::warnings(&plan) {
                    eprintln!("warning: {}: {w}", src.name);
                }
            }
            Err(e) => {
                eprintln!("{}", e.render(&src.name, &src.text).trim_end());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} policy files failed", sources.len()).into());
    }
    Ok(())
}

fn test(files: &[PathBuf], format: TestFormat) -> Result<()> {
    let mut results = Vec::new();
    for f in files {
        let outcome = test_file(f);
        // Text output stops at a file that cannot run, as it always did; a
        // report for tools carries it as that file's error and goes on.
        if format == TestFormat::Text {
            if let Err(e) = outcome {
                print_cases(&results);
                return Err(e.into());
            }
        }
        results.push(veilgate_policies::output::FileResult {
            file: f.display().to_string(),
            outcome,
        });
    }
    let failed_any = results.iter().any(|f| {
        f.outcome
            .as_ref()
            .map_or(true, |c| c.iter().any(|c| !c.passed()))
    });
    match format {
        TestFormat::Json => print_json(&veilgate_policies::output::test_json(&results))?,
        TestFormat::Junit => print!("{}", veilgate_policies::output::test_junit(&results)),
        TestFormat::Text => return test_text(&results),
    }
    if failed_any {
        return Err(Failed.into());
    }
    Ok(())
}

/// The cases of one test file, or why they cannot run.
fn test_file(f: &Path) -> std::result::Result<Vec<veilgate_policies::testing::CaseResult>, String> {
    let base = f.parent().map(Path::to_path_buf).unwrap_or_default();
    let tf = veilgate_policies::testing::parse_test_file(&read(f).map_err(|e| e.to_string())?)
        .map_err(|e| format!("{}: {e}", f.display()))?;
    let plan = compile(&base.join(&tf.policy)).map_err(|e| e.to_string())?;
    let load =
        |rel: &str| std::fs::read_to_string(base.join(rel)).map_err(|e| format!("{rel}: {e}"));
    Ok(veilgate_policies::testing::run(&plan, &tf, &load))
}

/// Prints each case as `ok` or `FAILED` with its reasons; (passed, failed).
fn print_cases(results: &[veilgate_policies::output::FileResult]) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    for f in results {
        for r in f.outcome.as_deref().unwrap_or(&[]) {
            if r.passed() {
                passed += 1;
                println!("ok      {} :: {}", f.file, r.name);
            } else {
                failed += 1;
                println!("FAILED  {} :: {}", f.file, r.name);
                for why in &r.failures {
                    println!("        {why}");
                }
            }
        }
    }
    (passed, failed)
}

fn test_text(results: &[veilgate_policies::output::FileResult]) -> Result<()> {
    let (passed, failed) = print_cases(results);
    println!("\npolicy tests: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} policy test case(s) failed").into());
    }
    Ok(())
}
