//! `veilgate`: the gateway command line.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use veilgate::state::{AppState, CONFIG_FILE};

#[derive(Parser)]
#[command(
    name = "veilgate",
    version,
    about = "Privacy-preserving data-sharing gateway for consortium ledgers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTPS gateway from the data directory's veilgate.toml.
    Serve {
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// If the data directory has no configuration, create development material
        /// (a CA, certificates and keys for three banks and a regulator). Never in production.
        #[arg(long)]
        dev: bool,
        /// Address to listen on, overriding `listen` in veilgate.toml (port 0: any free port).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Seal, store, verify and open one payment in one process, and show who sees what.
    Demo {
        /// Data directory to use (default: a fresh temporary one).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Tail a ledger as a peer: verify every entry in order, record each verdict
    /// in follow/<ledger>.redb, print it as a JSON line, resume after a restart.
    Follow {
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        #[arg(long)]
        ledger: String,
        /// Stop at the ledger's head instead of waiting for more.
        #[arg(long)]
        once: bool,
        /// How often to look for new entries.
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// Where verdicts are kept (default: follow/<ledger>.redb in the data directory).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Measure the cost of privacy: each primitive, seal on 1 and all cores,
    /// peer verification one by one and in batches, opening, durable ledger
    /// appends, and a real `veilgate serve` over HTTPS/mTLS up to
    /// saturation. Prints a table and the targets; writes JSON.
    Bench(veilgate::bench::Options),
    /// EVM ledger tools (FISCO BCOS 3.x, Besu, GoQuorum, anvil).
    Evm {
        #[command(subcommand)]
        command: EvmCommand,
    },
}

#[derive(Subcommand)]
enum EvmCommand {
    /// Deploy the registry (and the Groth16 verifiers policies require) from the
    /// key file's account, publish the ledger's policies on it, and switch the
    /// ledger in veilgate.toml to it. Needs solcjs for policies with
    /// `require proofs on chain` (VEILGATE_SOLCJS).
    Deploy {
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger id (a `[[ledger]]` of veilgate.toml, still `embedded`).
        #[arg(long)]
        ledger: String,
        /// The node's JSON-RPC URL.
        #[arg(long)]
        rpc: String,
        /// File with the account's private key (hex), relative to the data directory.
        #[arg(long)]
        key_file: String,
        /// Blocks on top of a write before it counts (the chain's finality).
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
    },
    /// Publish the ledger's configured policies the registry does not hold yet
    /// (new versions, new policies), with verifiers and checks for those that
    /// say `require proofs on chain`. Signed with the ledger's key file, which
    /// must be the registry's admin.
    Publish {
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        #[arg(long)]
        ledger: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain and its anchors on the ledger (gateway stopped);
    /// reports the first broken link and exits 1.
    Verify {
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check policy files; prints errors with line and column, exits 1 on any.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a policy in canonical layout (comments kept); --write rewrites the file, --check fails if it differs.
    Fmt {
        file: PathBuf,
        #[arg(long)]
        write: bool,
        #[arg(long, conflicts_with = "write")]
        check: bool,
    },
    /// Show what each role, and anyone reading the ledger, sees of a record.
    Preview {
        file: PathBuf,
        #[arg(long)]
        record: PathBuf,
    },
    /// What changed in disclosure between two versions of a policy.
    Diff { old: PathBuf, new: PathBuf },
    /// Run policy test files (`*.test.json`).
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn follow(
    data: &std::path::Path,
    ledger: &str,
    once: bool,
    interval_ms: u64,
    state: Option<&std::path::Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut follower = veilgate::follow::Follower::open(data, ledger, state)?;
    let mut out = std::io::stdout();
    loop {
        match follower.step() {
            Ok(verdicts) => {
                for v in &verdicts {
                    if v.verdict == "rejected" {
                        tracing::warn!(sequence = v.sequence, envelope_id = %v.envelope_id,
                            code = v.code.as_deref().unwrap_or(""), "rejected ledger entry");
                    }
                    writeln!(out, "{}", serde_json::to_string(v)?)?;
                }
                out.flush()?;
            }
            Err(e) if once => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "following the ledger failed; will retry"),
        }
        if once {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(interval_ms));
    }
}

fn report_published(p: &veilgate::evm_setup::Published, ledger: &str) {
    println!("registry {} for ledger `{ledger}`", p.registry);
    for (file, onchain) in &p.policies {
        let how = if *onchain {
            " (proofs verified on chain)"
        } else {
            ""
        };
        println!("published {file}{how}");
    }
    for file in &p.unchanged {
        println!("already published: {file}");
    }
    println!(
        "{} verifier contract(s) deployed; {} gas in all",
        p.verifiers, p.gas_used
    );
}

/// `RUST_LOG` (default `info`), with arkworks' tracing always off: it opens
/// a span on every gadget call whose fields print the whole constraint
/// system — the witness, i.e. customer values, included — and formatting it
/// made proving quadratic (a sum-of-3 proof took over 30 s). No `RUST_LOG`
/// setting may turn it back on.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    // arkworks instruments with the targets `gr1cs` and `r1cs`.
    for quiet in [
        "gr1cs=off",
        "r1cs=off",
        "ark_r1cs_std=off",
        "ark_relations=off",
        "ark_groth16=off",
        "ark_crypto_primitives=off",
        "ark_snark=off",
        "ark_poly=off",
        "ark_ec=off",
        "ark_ff=off",
    ] {
        if let Ok(d) = quiet.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve { data, dev, listen } => runtime.block_on(serve(data, dev, listen)),
        Command::Demo { data } => runtime.block_on(async move {
            let tmp;
            let dir = match data {
                Some(d) => d,
                None => {
                    tmp = tempfile::tempdir()?;
                    tmp.path().to_owned()
                }
            };
            veilgate::demo::run(&dir).await
        }),
        Command::Policy { command } => policy::run(command),
        Command::Audit {
            command: AuditCommand::Verify { data },
        } => audit_verify(&data),
        Command::Evm {
            command:
                EvmCommand::Deploy {
                    data,
                    ledger,
                    rpc,
                    key_file,
                    confirmations,
                },
        } => veilgate::evm_setup::deploy(&data, &ledger, &rpc, &key_file, confirmations)
            .map(|p| report_published(&p, &ledger))
            .map_err(Into::into),
        Command::Follow {
            data,
            ledger,
            once,
            interval_ms,
            state,
        } => follow(&data, &ledger, once, interval_ms, state.as_deref()),
        Command::Bench(opts) => {
            // The bench makes its own runtimes and thread pools.
            drop(runtime);
            veilgate::bench::run(&opts)
                .map(|r| print!("{}", veilgate::bench::table(&r)))
                .map_err(Into::into)
        }
        Command::Evm {
            command: EvmCommand::Publish { data, ledger },
        } => veilgate::evm_setup::publish(&data, &ledger)
            .map(|p| report_published(&p, &ledger))
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Policy errors arrive rendered, with their own `error:` line.
            let e = e.to_string();
            if e.starts_with("error:") {
                eprintln!("{e}");
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    data: PathBuf,
    dev: bool,
    listen: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let first = !data.join(CONFIG_FILE).exists();
    if first && !dev {
        return Err(format!(
            "{} has no {CONFIG_FILE}; write one (docs/configuration.md) or pass --dev to generate development material",
            data.display()
        )
        .into());
    }
    if first {
        veilgate::dev::init(&data)?;
    }
    let state = Arc::new(AppState::load(&data)?);
    let listen = listen.unwrap_or_else(|| state.config.listen.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "veilgate listening on https://{addr} (data directory {})",
        data.display()
    )?;
    if first {
        let d = data.display();
        writeln!(out, "created development material in {d}: a CA, certificates and keys for bank-a, bank-b, bank-c and regulator")?;
        writeln!(out, "submit the sample payment as bank-a:")?;
        writeln!(
            out,
            "  curl --cacert {d}/ca/ca.pem --cert {d}/institutions/bank-a/client.pem --key {d}/institutions/bank-a/client.key.pem \\\n    -H 'content-type: application/json' https://{addr}/v1/ledgers/interbank-settlement/records \\\n    -d \"{{\\\"policy\\\":\\\"interbank-payment\\\",\\\"idempotency_key\\\":\\\"pay-0001\\\",\\\"record\\\":$(cat {d}/samples/interbank-payment.json)}}\""
        )?;
    }
    out.flush()?;
    drop(out);
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    veilgate::run(state, listener, shutdown).await?;
    Ok(())
}

fn audit_verify(data: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let state = AppState::load(data)?;
    let entries = state.store.audit_entries()?;
    let n =
        veilgate::audit::verify_chain(&entries).map_err(|e| format!("audit log broken: {e}"))?;
    let mut anchors = 0;
    for ls in state.ledgers.values() {
        anchors += veilgate::audit::verify_anchors(&entries, ls.ledger.as_ref())
            .map_err(|e| format!("audit anchor broken: {e}"))?;
    }
    println!("audit log ok: {n} entries chained, {anchors} anchors on the ledger match");
    Ok(())
}

mod policy {
    use std::path::{Path, PathBuf};

    use super::PolicyCommand;

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
            let load = |rel: &str| {
                std::fs::read_to_string(base.join(rel)).map_err(|e| format!("{rel}: {e}"))
            };
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
}
