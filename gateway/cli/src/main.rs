//! `veilgate`: the gateway command line. Each command's work is in
//! `commands/`; the service itself is veilgate-server, the development
//! tools (demo, bench, dev material) are veilgate-devtools and
//! veilgate-testkit.

mod commands;
mod progress;

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
        /// The data directory (veilgate.toml, keys, ledgers, the store).
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    /// to standard output, e.g. `veilgate completions bash > /etc/bash_completion.d/veilgate`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages for veilgate and every subcommand (`veilgate.1`,
    /// `veilgate-serve.1`, …) into a folder.
    Man {
        /// The folder to write them to (created if missing).
        #[arg(long, default_value = "man")]
        out: PathBuf,
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
    /// The gateway's API as an institution: submit records, read
    /// submissions, envelopes and entries, open and verify. Reads the
    /// gateway address and certificates from a profile file or flags;
    /// prints JSON.
    Client {
        #[command(subcommand)]
        command: commands::client::ClientCommand,
    },
    /// Add a ledger the consortium directory lists to this gateway (its
    /// pseudonym key and `[[ledger]]` table); checked as at start, undone on
    /// a fault.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Add a member to a ledger of the consortium directory, or mark one
    /// removed; checked as at start, undone on a fault.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// The hosted members' private keys: make a key version inside the
    /// PKCS#11 token, or show where every held key is and whether it can
    /// leave its store.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Tail a ledger as a peer: verify every entry in order, record each verdict
    /// in follow/<ledger>.redb, print it as a JSON line, resume after a restart.
    Follow {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger to follow (a `[[ledger]]` of veilgate.toml).
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
    #[cfg(feature = "evm")]
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
    /// The pseudonymisation service: evaluates members' blinded pseudonym
    /// inputs under keys no member holds (docs/pseudonyms.md); run by a
    /// consortium role, never by a member's gateway.
    PseudonymService {
        #[command(subcommand)]
        command: PseudonymCommand,
    },
}

#[derive(Subcommand)]
enum PseudonymCommand {
    /// Run the service from the data directory's pseudonym-service.toml.
    Serve {
        /// The service's data directory (pseudonym-service.toml, its keys,
        /// its certificate, the directory, its audit log).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on, overriding `listen` (port 0: any free port).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Make a new epoch's key, or its k-of-n shares, as 0600 files; print
    /// the directory's epoch entry (public key and public shares).
    Keygen {
        /// Folder the key files are written to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The ledger the key is for.
        #[arg(long)]
        ledger: String,
        /// The epoch's number: one more than the ledger's last.
        #[arg(long)]
        epoch: u32,
        /// From when the epoch is in force, ms since 1970 (default: now).
        #[arg(long)]
        from_ms: Option<u64>,
        /// Services that must answer together (1: one service holds the key).
        #[arg(long, default_value_t = 1)]
        threshold: usize,
        /// Services holding shares (with a threshold of 2 or more).
        #[arg(long, default_value_t = 1)]
        services: usize,
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
        /// The ledger the set is published on.
        #[arg(long)]
        ledger: String,
        /// The set's name, as policies and the directory name it.
        #[arg(long)]
        set: String,
        /// The version of the set this file is (1, then each update the next).
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
        /// Show the roots published on this ledger instead (needs --gateway and --as).
        #[arg(long, requires = "gateway")]
        ledger: Option<String>,
        /// The gateway, `https://host:port`.
        #[arg(long)]
        gateway: Option<String>,
        /// Data directory holding the CA and the institution's client certificate and key.
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The institution acting (the certificate's common name).
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
        /// The set file (`veilgate set build` writes it).
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

#[cfg(feature = "evm")]
#[derive(Subcommand)]
enum EvmCommand {
    /// Deploy the registry (and the Groth16 verifiers policies require) from the
    /// key file's account, publish the ledger's policies on it, and switch the
    /// ledger in veilgate.toml to it. Needs solcjs for policies with
    /// `require proofs on chain` (VEILGATE_SOLCJS).
    Deploy {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
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
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger whose policies to publish (an `evm` `[[ledger]]`).
        #[arg(long)]
        ledger: String,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Configure a ledger the directory lists: writes `ledgers/<id>/pseudonym.key`
    /// (new, or --pseudonym-key from the consortium) and a `[[ledger]]` table.
    Add {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger id, as the consortium directory names it.
        #[arg(long)]
        id: String,
        /// PEM file of a CA whose client certificates may act on the ledger
        /// (relative to the data directory; repeat for several).
        #[arg(long = "ca", required = true)]
        cas: Vec<String>,
        /// A policy file published on the ledger (relative to the data
        /// directory; repeat for several; `policy publish` adds more later).
        #[arg(long = "policy", required = true)]
        policies: Vec<String>,
        /// Follow the ledger as a peer (verify every entry, serve verdicts).
        #[arg(long)]
        follow: bool,
        /// The ledger's pseudonym key from the consortium's first gateway
        /// (64 hex digits); without it a new key is made.
        #[arg(long)]
        pseudonym_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new key version for a member inside the token `[keys.pkcs11]`
    /// names (Ed25519 signing, P-256 unwrapping; neither can leave it) and
    /// print its public halves as JSON, for `veilgate member add --kem p256`.
    Generate {
        /// The data directory (veilgate.toml with `[keys] backend = "pkcs11"`).
        #[arg(long)]
        data: PathBuf,
        /// The member the key is for.
        #[arg(long)]
        member: String,
    },
    /// Every key held for the hosted members, loaded as at start, with its
    /// store and (in a token) its PKCS#11 custody attributes, as JSON.
    Inspect {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
    },
    /// Split a member's unwrapping key (its key file in force) k-of-n among
    /// the directory's recovery custodians; writes the escrow bundle.
    Escrow {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// The member.
        #[arg(long)]
        member: String,
    },
    /// As a recovery custodian, offline: open your share of an escrow bundle
    /// and re-wrap it to the member's newest key; prints the release (JSON).
    ReleaseShare {
        /// The escrow bundle (`institutions/<member>/escrow/<key id>.json`).
        #[arg(long)]
        bundle: PathBuf,
        /// Your escrow key file (a secrets file of the `standard` suite).
        #[arg(long)]
        key: PathBuf,
        /// The consortium directory (consortium.json).
        #[arg(long)]
        directory: PathBuf,
        /// The ledger whose directory entry names the member's new key.
        #[arg(long)]
        ledger: String,
    },
    /// Recover a lost unwrapping key from released shares (at least the
    /// threshold) into the member's key store, as an unwrap-only key; the
    /// gateway must be stopped (the recovery is audited in its log).
    Recover {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// The member.
        #[arg(long)]
        member: String,
        /// The escrow bundle of the lost key.
        #[arg(long)]
        bundle: PathBuf,
        /// The custodians' release files.
        releases: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a key version to a member, in force from --from-ms: how the
    /// consortium re-keys a member that lost its signing key (a member that
    /// still signs rotates itself with `veilgate client rotate-key`).
    KeyAdd {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The member.
        #[arg(long)]
        id: String,
        /// The new signing public key (hex).
        #[arg(long)]
        sign_public: String,
        /// The new key-wrapping public key (hex).
        #[arg(long)]
        kem_public: String,
        /// Its KEM: x25519 (default on `standard`), p256 or sm2.
        #[arg(long)]
        kem: Option<String>,
        /// In force from (ms since the epoch), after the member's newest key's start.
        #[arg(long)]
        from_ms: u64,
    },
    /// Add a member with its public keys (and ledger roles) to a ledger of
    /// the directory; --suite creates the ledger's entry for its first member.
    Add {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The ledger's suite (`standard` or `sm`), for its first member.
        #[arg(long)]
        suite: Option<String>,
        /// The institution id (its certificates' common name).
        #[arg(long)]
        id: String,
        /// Its signing public key (hex: Ed25519, or an SM2 point).
        #[arg(long)]
        sign_public: String,
        /// Its key-wrapping public key (hex: X25519, an uncompressed P-256
        /// point, or an SM2 point).
        #[arg(long)]
        kem_public: String,
        /// The KEM of `--kem-public`: x25519 (default on `standard`), p256
        /// (a key held in a PKCS#11 token), or sm2 (`sm`).
        #[arg(long)]
        kem: Option<String>,
        /// Its SM2 distinguishing id (`sm` ledgers; default `1234567812345678`).
        #[arg(long)]
        distid: Option<String>,
        /// A ledger role it holds (repeat for several), e.g. `regulator`.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Admitted from this instant (ms since the Unix epoch; default: the ledger's beginning).
        #[arg(long)]
        admitted_ms: Option<u64>,
    },
    /// Mark a member removed as of a time (its entry stays, so its earlier
    /// envelopes keep verifying).
    Remove {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger.
        #[arg(long)]
        ledger: String,
        /// The institution id.
        #[arg(long)]
        id: String,
        /// Removed from this instant (ms since the Unix epoch; default: now).
        #[arg(long)]
        at_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Run every check `serve` makes at start (configuration, directory,
    /// policies, keys, CAs, ledgers, certificates) without starting; safe
    /// beside a running gateway. Exits 1 naming the first fault.
    Check {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain and its anchors on the ledger (while
    /// the gateway runs, or not); reports the first broken link and exits 1.
    Verify {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// Check policy files; prints errors with line and column, exits 1 on any.
    Check {
        /// Policy files, folders (every `*.policy` under them) or `-` for standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `text` for people, `json` for tools (an array, one object per file).
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Print a policy in canonical layout (comments kept); --write rewrites the files,
    /// --check lists what differs and exits 1.
    Fmt {
        /// Policy files, folders (every `*.policy` under them) or `-` for standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Rewrite the file in place instead of printing it.
        #[arg(long)]
        write: bool,
        /// Print nothing; exit 1 if the file is not in canonical layout.
        #[arg(long, conflicts_with = "write")]
        check: bool,
    },
    /// Show what each role, and anyone reading the ledger, sees of a record.
    Preview {
        /// The policy file.
        file: PathBuf,
        /// A record (JSON) the policy's schema accepts.
        #[arg(long)]
        record: PathBuf,
    },
    /// What changed in disclosure between two versions of a policy; warns when
    /// disclosure widens or the plan changed under the same version.
    Diff {
        /// The earlier version's policy file.
        old: PathBuf,
        /// The later version's policy file.
        new: PathBuf,
        /// Exit 1 when the two plans differ, 0 when they are the same (as
        /// `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
        /// `text` for people, `json` for tools.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Check a policy and publish it on its ledger in this data directory:
    /// copied to `policies/<id>-v<version>.policy` and listed in veilgate.toml
    /// (checked as at start, undone on a fault).
    Publish {
        /// The data directory (veilgate.toml, keys, ledgers, the store).
        #[arg(long, default_value = "veilgate-data")]
        data: PathBuf,
        /// The ledger, when the policy binds several.
        #[arg(long)]
        ledger: Option<String>,
        /// The policy file.
        file: PathBuf,
    },
    /// Run policy test files (`*.test.json`).
    Test {
        /// The policy test files (`*.test.json`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `text` for people, `json` for tools, `junit` (XML) for CI systems.
        #[arg(long, value_enum, default_value = "text")]
        format: TestFormat,
    },
    /// Start a policy from a template: prints it, or writes it to --out.
    New {
        /// The template's name (`veilgate policy new --list` names them).
        #[arg(long, required_unless_present = "list")]
        template: Option<String>,
        /// The new policy's id; its version starts again at 1.
        #[arg(long, requires = "template")]
        id: Option<String>,
        /// Write the policy to this file (refused if it exists) instead of printing it.
        #[arg(long, requires = "template")]
        out: Option<PathBuf>,
        /// List the templates and what each is for.
        #[arg(long, conflicts_with = "template")]
        list: bool,
    },
}

/// How `policy check` and `policy diff` print their results.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// How `policy test` prints its results.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TestFormat {
    Text,
    Json,
    Junit,
}

/// `RUST_LOG` (default `default`), with arkworks' tracing always off: it opens
/// a span on every gadget call whose fields print the whole constraint
/// system — the witness, i.e. customer values, included — and formatting it
/// made proving quadratic (a sum-of-3 proof took over 30 s). No `RUST_LOG`
/// setting may turn it back on.
fn log_filter(default: &str) -> tracing_subscriber::EnvFilter {
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
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
        // cryptoki logs an ERROR for every vendor or newer mechanism a token
        // lists that it has no name for (SoftHSM lists three): not an error
        // of ours, and the start-up checks name what is missing.
        "cryptoki::mechanism=off",
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
    // The demo prints a table: the in-process gateway's request lines would
    // interleave with it, so only warnings show unless RUST_LOG says more.
    let default_level = match cli.command {
        Command::Demo { .. } => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(default_level))
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
        Command::Completions { shell } => {
            // Into a buffer first: the generator panics on a write error
            // (a closed pipe), a buffer never fails.
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "veilgate", &mut script);
            use std::io::Write as _;
            match std::io::stdout().write_all(&script) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Man { out } => man_pages(&out),
        Command::Demo { data, suite } => runtime.block_on(async move {
            let tmp;
            let (dir, kept) = match data {
                Some(d) => (d, true),
                None => {
                    tmp = tempfile::tempdir()?;
                    (tmp.path().to_owned(), false)
                }
            };
            let suite = match suite {
                TlsArg::Standard => veilgate_core::SuiteId::Standard,
                TlsArg::Sm => veilgate_core::SuiteId::Sm,
            };
            veilgate_devtools::demo::run(&dir, suite).await?;
            if kept {
                println!("Data directory: {}", dir.display());
            } else {
                println!("Data directory: temporary, removed now (pass --data DIR to keep it).");
            }
            Ok(())
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
        #[cfg(feature = "evm")]
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
        #[cfg(feature = "evm")]
        Command::Evm {
            command: EvmCommand::Publish { data, ledger },
        } => commands::evm::publish(&data, &ledger)
            .map(|p| commands::evm::report(&p, &ledger))
            .map_err(Into::into),
        Command::Set { command } => run_set(command, &runtime),
        Command::PseudonymService { command } => match command {
            PseudonymCommand::Serve { data, listen } => {
                runtime.block_on(commands::pseudonym::run(data, listen))
            }
            PseudonymCommand::Keygen {
                out,
                ledger,
                epoch,
                from_ms,
                threshold,
                services,
            } => commands::pseudonym::keygen(
                &out,
                &ledger,
                epoch,
                from_ms.unwrap_or_else(veilgate_server::clock::now_ms),
                threshold,
                services,
            )
            .map(|text| println!("{text}")),
        },
        Command::Config {
            command: ConfigCommand::Check { data },
        } => commands::config::check(&data),
        Command::Keys { command } => match command {
            KeysCommand::Generate { data, member } => commands::keys::generate(&data, &member),
            KeysCommand::Inspect { data } => commands::keys::inspect(&data),
            KeysCommand::Escrow { data, member } => commands::keys::escrow(&data, &member),
            KeysCommand::ReleaseShare {
                bundle,
                key,
                directory,
                ledger,
            } => commands::keys::release_share(&bundle, &key, &directory, &ledger),
            KeysCommand::Recover {
                data,
                member,
                bundle,
                releases,
            } => commands::keys::recover(&data, &member, &bundle, &releases),
        }
        .map(|out| println!("{out:#}")),
        Command::Ledger {
            command:
                LedgerCommand::Add {
                    data,
                    id,
                    cas,
                    policies,
                    follow,
                    pseudonym_key,
                },
        } => commands::operate::ledger_add(
            &data,
            &commands::operate::NewLedger {
                id: &id,
                cas: &cas,
                policies: &policies,
                follow,
                pseudonym_key: pseudonym_key.as_deref(),
            },
        ),
        Command::Member {
            command:
                MemberCommand::Add {
                    data,
                    ledger,
                    suite,
                    id,
                    sign_public,
                    kem_public,
                    kem,
                    distid,
                    roles,
                    admitted_ms,
                },
        } => commands::operate::member_add(
            &data,
            &commands::operate::NewMember {
                ledger: &ledger,
                suite: suite.as_deref(),
                id: &id,
                sign_public: &sign_public,
                kem_public: &kem_public,
                kem: kem.as_deref(),
                distid: distid.as_deref(),
                roles: &roles,
                admitted_ms,
            },
        ),
        Command::Member {
            command:
                MemberCommand::Remove {
                    data,
                    ledger,
                    id,
                    at_ms,
                },
        } => commands::operate::member_remove(&data, &ledger, &id, at_ms),
        Command::Member {
            command:
                MemberCommand::KeyAdd {
                    data,
                    ledger,
                    id,
                    sign_public,
                    kem_public,
                    kem,
                    from_ms,
                },
        } => commands::operate::member_key_add(
            &data,
            &commands::operate::NewMemberKey {
                ledger: &ledger,
                id: &id,
                sign_public: &sign_public,
                kem_public: &kem_public,
                kem: kem.as_deref(),
                from_ms,
            },
        ),
        Command::Client { command } => runtime.block_on(commands::client::run(command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The command said all it had to (a JSON report, `diff
            // --exit-code`): only the exit status is left.
            if e.is::<commands::policy::Failed>() {
                return ExitCode::FAILURE;
            }
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

/// One man page per command, named as `man` looks them up
/// (`veilgate-set-publish.1`).
fn man_pages(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    fn write(
        cmd: &clap::Command,
        name: &str,
        out: &std::path::Path,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let cmd = cmd.clone().name(name.to_owned());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        let path = out.join(format!("{name}.1"));
        std::fs::write(&path, page).map_err(|e| format!("{}: {e}", path.display()))?;
        for sub in cmd.get_subcommands() {
            write(sub, &format!("{name}-{}", sub.get_name()), out)?;
        }
        Ok(())
    }
    let cmd = <Cli as clap::CommandFactory>::command();
    write(&cmd, "veilgate", out)?;
    println!("man pages written to {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command (unique names, valid
    /// relations), which otherwise only run when that command is used.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// Every argument of every command says what it is for (`--help`,
    /// completions and man pages show it).
    #[test]
    fn every_argument_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} --{id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "veilgate", &mut missing);
        assert!(missing.is_empty(), "no help text:\n{}", missing.join("\n"));
    }
}
