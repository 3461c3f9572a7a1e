//! `veilgate policy check | fmt | preview | diff | test`: the policy authors' tools.

use std::path::{Path, PathBuf};

use crate::PolicyCommand;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

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

pub fn run(command: PolicyCommand) -> Result<()> {
    match command {
        PolicyCommand::Check { files } => check(&files),
        PolicyCommand::Fmt { file, write, check } => {
            let text = read(&file)?;
            let formatted = veilgate_policies::fmt::format(&text).map_err(|e| {
                e.render(&file.display().to_string(), &text)
                    .trim_end()
                    .to_owned()
            })?;
            if check {
                if formatted != text {
                    return Err(format!(
                        "{} is not formatted; run `veilgate policy fmt --write {}`",
                        file.display(),
                        file.display()
                    )
                    .into());
                }
            } else if write {
                std::fs::write(&file, formatted)?;
            } else {
                print!("{formatted}");
            }
            Ok(())
        }
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
        PolicyCommand::Diff { old, new } => {
            let (a, b) = (compile(&old)?, compile(&new)?);
            let lines = veilgate_policies::diff::diff(&a, &b);
            if lines.is_empty() {
                println!(
                    "no change in disclosure (same policy hash {})",
                    hex::encode(a.hash())
                );
            }
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        PolicyCommand::Test { files } => test(&files),
    }
}

fn check(files: &[PathBuf]) -> Result<()> {
    let mut failed = 0;
    for f in files {
        match compile(f) {
            Ok(plan) => println!(
                "{}: ok — policy `{}` version {} hash {}",
                f.display(),
                plan.id,
                plan.version,
                hex::encode(plan.hash())
            ),
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} policy files failed", files.len()).into());
    }
    Ok(())
}

fn test(files: &[PathBuf]) -> Result<()> {
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let base = f.parent().map(Path::to_path_buf).unwrap_or_default();
        let tf = veilgate_policies::testing::parse_test_file(&read(f)?)
            .map_err(|e| format!("{}: {e}", f.display()))?;
        let plan = compile(&base.join(&tf.policy))?;
        let load =
            |rel: &str| std::fs::read_to_string(base.join(rel)).map_err(|e| format!("{rel}: {e}"));
        for r in veilgate_policies::testing::run(&plan, &tf, &load) {
            if r.passed() {
                passed += 1;
                println!("ok      {} :: {}", f.display(), r.name);
            } else {
                failed += 1;
                println!("FAILED  {} :: {}", f.display(), r.name);
                for why in &r.failures {
                    println!("        {why}");
                }
            }
        }
    }
    println!("\npolicy tests: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} policy test case(s) failed").into());
    }
    Ok(())
}
