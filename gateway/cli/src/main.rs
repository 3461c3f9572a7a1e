//! `veilgate`: the gateway command line. Each command's work is in
//! `commands/`; the service itself is veilgate-server, the development
//! tools (demo, bench, dev material) are veilgate-devtools and
//! veilgate-testkit.

mod commands;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
        /// Address of the SM TLS (RFC 8998) listener, overriding `[tls_sm] listen`.
        #[arg(long)]
        listen_sm: Option<String>,
        /// Address of the plain-HTTP health, readiness and metrics listener,
        /// overriding `[observability] listen` (loopback or a management network).
        #[arg(long)]
        listen_observability: Option<String>,
    },
    /// Seal, store, verify and open one payment in one process, and show who sees what.
    Demo {
        /// Data directory to use (default: a fresh temporary one).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The crypto suite: `sm` runs the demo on the SM ledger (SM2, SM3,
        /// SM4, over RFC 8998 TLS).
        #[arg(long, value_enum, default_value = "standard")]
        suite: TlsArg,
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
    Bench(veilgate_devtools::bench::Options),
    /// The Groth16 setup ceremony (snarkjs-compatible files).
    Ceremony {
        #[command(subcommand)]
        command: CeremonyCommand,
    },
    /// EVM ledger tools (FISCO BCOS 3.x, Besu, GoQuorum, anvil).
    Evm {
        #[command(subcommand)]
        command: EvmCommand,
    },
    /// Sets on the ledger (sanctions lists, eligible nationalities, …):
    /// build a set file, show one or a ledger's roots, publish a root.
    Set {
        #[command(subcommand)]
        command: SetCommand,
    },
}

/// Where a `set` command reaches a gateway.
#[derive(clap::Args)]
struct GatewayArgs {
    /// The gateway, `https://host:port`.
    #[arg(long)]
    gateway: String,
    /// Data directory holding the CA (`ca/ca.pem`) and the institution's client
    /// certificate and key (`institutions/<id>/client.pem`, `client.key.pem`).
    #[arg(long, default_value = "veilgate-data")]
    data: PathBuf,
    /// The institution acting (the certificate's common name).
    #[arg(long = "as")]
    institution: String,
    /// The TLS of the ledger's suite: `sm` connects to the gateway's
    /// `[tls_sm]` listener with the SM2 material (`ca/sm-ca.pem`,
    /// `client.sm.pem`, `client.sm.key.pem`).
    #[arg(long, value_enum, default_value = "standard")]
    tls: TlsArg,
}

/// A crypto suite, as a command's TLS (or the demo's ledger) chooses it.
#[derive(Clone, Copy, clap::ValueEnum)]
enum TlsArg {
    /// TLS 1.3 with the standard suites.
    Standard,
    /// RFC 8998 TLS 1.3 (SM4-GCM, SM3, curveSM2, SM2 certificates).
    Sm,
}

impl From<TlsArg> for veilgate_client::Tls {
    fn from(t: TlsArg) -> Self {
        match t {
            TlsArg::Standard => veilgate_client::Tls::Standard,
            TlsArg::Sm => veilgate_client::Tls::Sm,
        }
    }
}

#[derive(Subcommand)]
enum SetCommand {
    /// Build a set file from a member list (one per line, `#` comments);
    /// members are normalised (trimmed, white space collapsed, upper case).
    Build {
        #[arg(long)]
        ledger: String,
        #[arg(long)]
        set: String,
        #[arg(long)]
        version: u32,
        /// The member list.
        members: PathBuf,
        /// Where to write the file (default: `<set>-v<version>.json`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show a set file (its root recomputed) or, with --ledger, the roots on a
    /// ledger through a gateway.
    Show {
        /// A set file.
        #[arg(required_unless_present = "ledger", conflicts_with = "ledger")]
        file: Option<PathBuf>,
        #[arg(long, requires = "gateway")]
        ledger: Option<String>,
        #[arg(long)]
        gateway: Option<String>,
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        #[arg(long = "as", requires = "gateway")]
        institution: Option<String>,
        /// The TLS of the ledger's suite (see `set publish --tls`).
        #[arg(long, value_enum, default_value = "standard")]
        tls: TlsArg,
    },
    /// Publish a set file's root on its ledger through a gateway, signed by
    /// the acting institution, which must hold the role the directory names
    /// for the set.
    Publish {
        file: PathBuf,
        #[command(flatten)]
        gateway: GatewayArgs,
        /// When the version takes force (default: now; not in the past or future).
        #[arg(long)]
        valid_from_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
enum CeremonyCommand {
    /// Phase 1: the powers of τ (`.ptau`).
    Ptau {
        #[command(subcommand)]
        command: commands::ceremony::PtauCommand,
    },
    /// Phase 2, per circuit (`.zkey`): init, contribute, verify, finalize.
    #[command(flatten)]
    Phase2(commands::ceremony::phase2::Phase2Command),
    /// Export a circuit's constraint system as an iden3 `.r1cs` file.
    R1cs {
        /// The circuit id (as in key file names), e.g. `compare64-v1`.
        #[arg(long)]
        circuit: String,
        /// The file to create.
        #[arg(long)]
        out: std::path::PathBuf,
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
pub(crate) enum PolicyCommand {
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

fn run_set(
    command: SetCommand,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), Box<dyn std::error::Error>> {
    use commands::set;
    match command {
        SetCommand::Build {
            ledger,
            set: name,
            version,
            members,
            out,
        } => {
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}-v{version}.json")));
            set::build(&ledger, &name, version, &members, &out)
        }
        SetCommand::Show {
            file: Some(file), ..
        } => set::show_file(&file),
        SetCommand::Show {
            ledger: Some(ledger),
            gateway: Some(url),
            data,
            institution,
            tls,
            ..
        } => {
            let institution = institution.ok_or("--as names the institution acting")?;
            let gw = set::Gateway {
                url: &url,
                data: &data,
                institution: &institution,
                tls: tls.into(),
            };
            runtime.block_on(set::show_ledger(&gw, &ledger))
        }
        SetCommand::Show { .. } => {
            Err("give a set file, or --ledger with --gateway and --as".into())
        }
        SetCommand::Publish {
            file,
            gateway,
            valid_from_ms,
        } => {
            let gw = set::Gateway {
                url: &gateway.gateway,
                data: &gateway.data,
                institution: &gateway.institution,
                tls: gateway.tls.into(),
            };
            runtime.block_on(set::publish(&gw, &file, valid_from_ms))
        }
    }
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
        Command::Serve {
            data,
            dev,
            listen,
            listen_sm,
            listen_observability,
        } => runtime.block_on(commands::serve::run(
            data,
            dev,
            commands::serve::Addresses {
                api: listen,
                sm: listen_sm,
                observability: listen_observability,
            },
        )),
        Command::Demo { data, suite } => runtime.block_on(async move {
            let tmp;
            let dir = match data {
                Some(d) => d,
                None => {
                    tmp = tempfile::tempdir()?;
                    tmp.path().to_owned()
                }
            };
            let suite = match suite {
                TlsArg::Standard => veilgate_core::SuiteId::Standard,
                TlsArg::Sm => veilgate_core::SuiteId::Sm,
            };
            veilgate_devtools::demo::run(&dir, suite).await
        }),
        Command::Policy { command } => commands::policy::run(command),
        Command::Ceremony {
            command: CeremonyCommand::Ptau { command },
        } => commands::ceremony::ptau(command).map_err(Into::into),
        Command::Ceremony {
            command: CeremonyCommand::Phase2(command),
        } => commands::ceremony::phase2::run(command).map_err(Into::into),
        Command::Ceremony {
            command: CeremonyCommand::R1cs { circuit, out },
        } => commands::ceremony::r1cs(&circuit, &out).map_err(Into::into),
        Command::Audit {
            command: AuditCommand::Verify { data },
        } => commands::audit::verify(&data),
        Command::Evm {
            command:
                EvmCommand::Deploy {
                    data,
                    ledger,
                    rpc,
                    key_file,
                    confirmations,
                },
        } => commands::evm::deploy(&data, &ledger, &rpc, &key_file, confirmations)
            .map(|p| commands::evm::report(&p, &ledger))
            .map_err(Into::into),
        Command::Follow {
            data,
            ledger,
            once,
            interval_ms,
            state,
        } => commands::follow::run(&data, &ledger, once, interval_ms, state.as_deref()),
        Command::Bench(opts) => {
            // The bench makes its own runtimes and thread pools.
            drop(runtime);
            veilgate_devtools::bench::run(&opts)
                .map(|r| print!("{}", veilgate_devtools::bench::table(&r)))
                .map_err(Into::into)
        }
        Command::Evm {
            command: EvmCommand::Publish { data, ledger },
        } => commands::evm::publish(&data, &ledger)
            .map(|p| commands::evm::report(&p, &ledger))
            .map_err(Into::into),
        Command::Set { command } => run_set(command, &runtime),
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
