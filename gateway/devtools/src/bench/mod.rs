//! `veilgate bench`: the cost of privacy, measured in one run.
//!
//! For every template this build seals, it times the primitives a seal is
//! made of (the floor), the seal in-process on one core and on all cores,
//! peer verification one at a time and in batches, and opening; then the
//! embedded ledger's durable appends; then a real `veilgate serve` over
//! HTTPS/mTLS at increasing concurrency up to saturation, at half the
//! saturation rate, and with records piling up in the outbox behind a
//! ledger that does not answer. It prints a table, checks the targets of
//! BENCHMARKS.md, and writes everything as JSON.
//!
//! Every figure comes from this process and this machine, in this run:
//! ratios between them are what the targets are about.

mod inproc;
mod load;
mod pseudonyms;

use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

pub use inproc::{LedgerFigures, Primitive, VerifyFigures};
pub use load::LoadPoint;
use veilgate_testkit::material::DEV_LEDGER;

/// `veilgate bench`'s options (its command-line arguments).
#[derive(clap::Args)]
pub struct Options {
    /// A short smoke run (seconds) instead of the full one (minutes).
    #[arg(long)]
    pub quick: bool,
    /// Only this template (repeatable; file stem, e.g. interbank-payment);
    /// none: every template this build seals.
    #[arg(long = "template")]
    pub templates: Vec<String>,
    /// Where to write the JSON report.
    #[arg(long, default_value = "bench.json")]
    pub json: PathBuf,
    /// Working directory (default: a fresh temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Only the in-process stages and the ledger: no server.
    #[arg(long)]
    pub no_serve: bool,
    /// Time budget of each in-process stage, split over its rounds, in
    /// seconds (default 3; 0.3 with --quick).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Also seal the first template with keys in this PKCS#11 module's
    /// token (`--pkcs11-token`), beside key files: the token's signing cost.
    #[arg(long, requires = "pkcs11_token")]
    pub pkcs11_module: Option<String>,
    /// The token's label (keys are made in it under a label prefix of the
    /// bench's and destroyed after).
    #[arg(long, requires = "pkcs11_module")]
    pub pkcs11_token: Option<String>,
    /// The environment variable holding the token's user PIN.
    #[arg(long, default_value = "VEILGATE_PKCS11_PIN")]
    pub pkcs11_pin_env: String,
}

/// Sealing with the submitter's key in a file beside the same in a token.
#[derive(Debug, Serialize)]
pub struct KeyBackends {
    pub template: String,
    pub token: String,
    pub seal_per_s_file: f64,
    pub seal_per_s_pkcs11: f64,
    pub sign_us_file: f64,
    pub sign_us_pkcs11: f64,
    /// `seal_per_s_pkcs11 / seal_per_s_file`.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub format: u32,
    pub command: String,
    pub machine: Machine,
    pub quick: bool,
    pub templates: Vec<TemplateFigures>,
    pub skipped: Vec<Skipped>,
    pub ledger: LedgerFigures,
    pub end_to_end: Vec<EndToEnd>,
    /// The crypto suites' primitives side by side (`standard`, `sm`).
    pub suites: Vec<inproc::SuiteRow>,
    /// Oblivious pseudonyms beside the member-key HMAC.
    pub pseudonyms: pseudonyms::PseudonymFigures,
    /// With `--pkcs11-module`: key files beside a PKCS#11 token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_backends: Option<KeyBackends>,
    pub targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub os: String,
    pub veilgate: String,
}

#[derive(Debug, Serialize)]
pub struct Skipped {
    pub template: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct TemplateFigures {
    pub template: String,
    pub envelope_bytes: usize,
    pub primitives: Vec<Primitive>,
    /// Sum of the primitives, per seal.
    pub floor_ms: f64,
    /// One seal (and its encoding) on one core.
    pub seal_ms: f64,
    pub overhead_pct: f64,
    pub seal_per_s_one_core: f64,
    pub seal_per_s_all_cores: f64,
    pub cores: usize,
    pub scaling: f64,
    pub verify: VerifyFigures,
}

#[derive(Debug, Serialize)]
pub struct EndToEnd {
    pub template: String,
    pub levels: Vec<LoadPoint>,
    pub saturation: LoadPoint,
    pub in_process_per_s: f64,
    pub ratio_to_in_process: f64,
    pub half_rate: LoadPoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Backlog>,
}

#[derive(Debug, Serialize)]
pub struct Backlog {
    /// Records accepted into the outbox while the ledger does not answer.
    pub records_waiting: u64,
    pub point: LoadPoint,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub what: String,
    pub measured: f64,
    pub target: String,
    pub met: bool,
}

struct Plan {
    budget: Duration,
    /// Interleaved repetitions of each in-process measurement (best kept).
    rounds: u32,
    verify_batch: usize,
    ledger_appenders: usize,
    levels: Vec<usize>,
    level_time: Duration,
    backlog: u64,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                budget: Duration::from_millis(300),
                rounds: 1,
                verify_batch: 16,
                ledger_appenders: 64,
                levels: vec![2, 8],
                level_time: Duration::from_millis(1500),
                backlog: 300,
            }
        } else {
            Plan {
                budget: Duration::from_secs(3),
                rounds: 3,
                verify_batch: 64,
                ledger_appenders: 128,
                levels: vec![1, 2, 4, 8, 16, 32, 64],
                level_time: Duration::from_secs(5),
                backlog: 10_000,
            }
        }
    }
}

/// The templates this build seals, moved onto the development ledger, with
/// their samples; and those it skips, with the reason.
type Sealable = Vec<(String, String, String)>;

fn templates(only: &[String]) -> (Sealable, Vec<Skipped>) {
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for (file, text) in veilgate_policies::TEMPLATES {
        let name = file.trim_end_matches(".policy").to_owned();
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let sample = veilgate_policies::SAMPLES
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, s)| (*s).to_owned());
        let plan = match veilgate_policies::compile(text) {
            Ok(p) => p,
            Err(e) => {
                skipped.push(Skipped {
                    template: name,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if let Some(reason) = veilgate_core::unsupported(&plan) {
            skipped.push(Skipped {
                template: name,
                reason,
            });
            continue;
        }
        let Some(sample) = sample else {
            skipped.push(Skipped {
                template: name,
                reason: "no sample record".into(),
            });
            continue;
        };
        // Bound to the development ledger, whatever ledger the template names.
        let moved: String = text
            .lines()
            .map(|l| {
                if l.starts_with("ledger ") {
                    format!("ledger {DEV_LEDGER}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        ok.push((name, moved, sample));
    }
    (ok, skipped)
}

/// A development data directory whose ledger carries every benchmarked template.
fn data_dir(root: &Path, sealable: &Sealable) -> Result<PathBuf, String> {
    let data = root.join("data");
    veilgate_testkit::material::init(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let mut files = Vec::new();
    for (name, text, _) in sealable {
        let rel = format!("policies/{name}.bench.policy");
        std::fs::write(data.join(&rel), text).map_err(|e| e.to_string())?;
        files.push(format!("\"{rel}\""));
    }
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let text = std::fs::read_to_string(&cfg).map_err(|e| e.to_string())?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let ledger = doc
        .get_mut("ledger")
        .and_then(|l| l.as_array_of_tables_mut())
        .and_then(|a| a.get_mut(0))
        .ok_or("the development configuration has no ledger")?;
    let mut policies = toml_edit::Array::new();
    for (name, _, _) in sealable {
        policies.push(format!("policies/{name}.bench.policy"));
    }
    ledger.insert("policies", toml_edit::value(policies));
    // Answer once the record is on the ledger, as in production; a
    // generous outbox so the backlog stage is not refused.
    let l = limits(&mut doc)?;
    l.insert("outbox_capacity", toml_edit::value(1_000_000));
    // The bench's clients are one identity measuring the gateway's
    // capacity, not a member to be held to its fair share.
    l.insert("per_identity_concurrent", toml_edit::value(4096));
    l.insert("per_identity_rate", toml_edit::value(1e9));
    l.insert("per_identity_burst", toml_edit::value(1_000_000_000));
    doc.insert("audit_anchor_interval_ms", toml_edit::value(10_000));
    std::fs::write(&cfg, doc.to_string()).map_err(|e| e.to_string())?;
    Ok(data)
}

fn limits(doc: &mut toml_edit::DocumentMut) -> Result<&mut toml_edit::Table, String> {
    doc.get_mut("limits")
        .and_then(toml_edit::Item::as_table_mut)
        .ok_or_else(|| "the configuration has no [limits] table".to_owned())
}

/// Switches the ledger to an EVM node that does not answer (a closed
/// port): deliveries fail and retry, records wait in the outbox, and the
/// gateway answers 202 without waiting for a receipt.
fn stall_ledger(data: &Path) -> Result<(), String> {
    let cfg = data.join(veilgate_server::CONFIG_FILE);
    let text = std::fs::read_to_string(&cfg).map_err(|e| e.to_string())?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port(); // closed again when the listener drops here
    let key = "ledgers/stalled.key";
    // A throwaway account: nothing is ever sent with it.
    std::fs::write(data.join(key), hex::encode([0x42u8; 32])).map_err(|e| e.to_string())?;
    let ledger = doc
        .get_mut("ledger")
        .and_then(|l| l.as_array_of_tables_mut())
        .and_then(|a| a.get_mut(0))
        .ok_or("no ledger")?;
    ledger.insert("kind", toml_edit::value("evm"));
    let mut evm = toml_edit::Table::new();
    evm.insert("rpc", toml_edit::value(format!("http://127.0.0.1:{port}")));
    evm.insert(
        "registry",
        toml_edit::value(format!("0x{}", "11".repeat(20))),
    );
    evm.insert("key_file", toml_edit::value(key));
    ledger.insert("evm", toml_edit::Item::Table(evm));
    limits(&mut doc)?.insert("ack_wait_ms", toml_edit::value(0));
    std::fs::write(&cfg, doc.to_string()).map_err(|e| e.to_string())?;
    Ok(())
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let os = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| format!("{} {}", std::env::consts::OS, r.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_owned());
    Machine {
        cores: inproc::num_cores(),
        cpu,
        os,
        veilgate: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

fn target(what: impl Into<String>, measured: f64, target: &str, met: bool) -> Target {
    Target {
        what: what.into(),
        measured,
        target: target.to_owned(),
        met,
    }
}

/// Runs every stage and writes the JSON report: in-process figures per
/// template, the embedded ledger, then (unless `--no-serve`) a real
/// `veilgate serve` to saturation, at half rate and with a backlog.
pub fn run(opts: &Options) -> Result<Report, String> {
    let mut plan = Plan::new(opts.quick);
    if let Some(s) = opts.seconds.filter(|s| *s > 0.0) {
        plan.budget = Duration::from_secs_f64(s);
    }
    let tmp;
    let root = match &opts.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            tmp.path().to_owned()
        }
    };
    let (sealable, skipped) = templates(&opts.templates);
    if sealable.is_empty() {
        return Err("no template to benchmark".into());
    }
    // The first stages build development material and Groth16 keys before
    // the progress bar has anything to count: say so at once.
    eprintln!(
        "veilgate bench: preparing {} template(s): development material and Groth16 keys (up to a minute)…",
        sealable.len()
    );
    let data = data_dir(&root, &sealable)?;
    let fixtures: Vec<inproc::Fixture> = sealable
        .iter()
        .map(|(name, text, sample)| inproc::Fixture::load(&data, name, text, sample))
        .collect::<Result<_, _>>()?;
    // The first template again on the SM ledger (suite `sm`), in process.
    let sm_fixture = sealable
        .first()
        .map(|(name, text, sample)| {
            inproc::Fixture::load_on(
                &data,
                &format!("{name} (sm)"),
                text,
                sample,
                veilgate_core::SuiteId::Sm,
            )
        })
        .transpose()?;
    let stages = fixtures.len() as u64 * 5 + 1 + fixtures.len() as u64 * 2 + 1 + 5 + 2;
    let bar = progress(stages)?;

    let templates = fixtures
        .iter()
        .map(|fx| in_process(fx, &plan, &bar))
        .collect::<Result<Vec<_>, _>>()?;
    bar.set_message("embedded ledger: durable appends");
    let ledger_dir = root.join("ledger-bench");
    std::fs::create_dir_all(&ledger_dir).map_err(|e| e.to_string())?;
    let ledger = inproc::ledger(&ledger_dir, plan.ledger_appenders, plan.budget * 2)?;
    bar.inc(1);
    let end_to_end = if opts.no_serve {
        Vec::new()
    } else {
        served(
            &Served {
                root: &root,
                data: &data,
                plan: &plan,
                bar: &bar,
            },
            &fixtures,
            &templates,
        )?
    };
    let mut templates = templates;
    if let Some(fx) = &sm_fixture {
        templates.push(in_process(fx, &plan, &bar)?);
    }
    bar.set_message("the suites' primitives side by side");
    let suites = inproc::suite_rows(plan.budget);
    bar.inc(1);
    bar.set_message("oblivious pseudonyms: VOPRF steps and a service's round trip");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let pseudonyms = pseudonyms::figures(
        plan.budget,
        (!opts.no_serve).then_some((root.as_path(), exe.as_path())),
    )?;
    bar.inc(1);
    let key_backends = match (&opts.pkcs11_module, &opts.pkcs11_token, fixtures.first()) {
        (Some(module), Some(token), Some(fx)) => {
            bar.set_message("key files beside a PKCS#11 token");
            Some(key_backends(
                fx,
                module,
                token,
                &opts.pkcs11_pin_env,
                &plan,
            )?)
        }
        _ => None,
    };
    bar.finish_and_clear();

    let targets = targets(&templates, &end_to_end, &ledger);
    let report = Report {
        format: 1,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: machine(),
        quick: opts.quick,
        templates,
        skipped,
        ledger,
        end_to_end,
        suites,
        pseudonyms,
        key_backends,
        targets,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&opts.json, json + "\n").map_err(|e| format!("{}: {e}", opts.json.display()))?;
    Ok(report)
}

/// Seals `fx`'s record with its submitter's key file, then with a key
/// version made for the bench in the token (destroyed after), on one thread.
fn key_backends(
    fx: &inproc::Fixture,
    module: &str,
    token: &str,
    pin_env: &str,
    plan: &Plan,
) -> Result<KeyBackends, String> {
    use veilgate_server::boot::{KeyBackend, KeysConfig, Pkcs11Config};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let cfg = KeysConfig {
        backend: KeyBackend::Pkcs11,
        pkcs11: Some(Pkcs11Config {
            module: module.to_owned(),
            token_label: token.to_owned(),
            pin_env: Some(pin_env.to_owned()),
            pin_file: None,
            pin: None,
            label_prefix: format!("veilgate-bench-{}-{nanos}/", std::process::id()),
        }),
    };
    let store = std::sync::Arc::new(veilgate_server::keys::TokenStore::open(
        &cfg,
        Path::new("."),
    )?);
    let key = store.generate_and_load(&fx.submitter_id)?;
    let trust = inproc::trust_with_submitter_key(fx, key.key().clone());
    let budget = plan.budget * 2;
    let measured = (|| -> Result<KeyBackends, String> {
        let mut file = 0f64;
        let mut token_rate = 0f64;
        for _ in 0..plan.rounds {
            file = file.max(inproc::seal_rate_with(
                fx,
                fx.trust(),
                fx.submitter(),
                budget,
            )?);
            token_rate = token_rate.max(inproc::seal_rate_with(fx, &trust, &key, budget)?);
        }
        Ok(KeyBackends {
            template: fx.template.clone(),
            token: token.to_owned(),
            seal_per_s_file: file,
            seal_per_s_pkcs11: token_rate,
            sign_us_file: inproc::sign_us(fx.submitter(), plan.budget),
            sign_us_pkcs11: inproc::sign_us(&key, plan.budget),
            ratio: if file > 0.0 { token_rate / file } else { 0.0 },
        })
    })();
    let destroyed = store.destroy(&fx.submitter_id, &key.key().id);
    let figures = measured?;
    destroyed?;
    Ok(figures)
}

fn progress(stages: u64) -> Result<ProgressBar, String> {
    let bar = ProgressBar::new(stages);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// One template in process: its primitives, seal on one and all cores,
/// verification and opening.
fn in_process(
    fx: &inproc::Fixture,
    plan: &Plan,
    bar: &ProgressBar,
) -> Result<TemplateFigures, String> {
    let name = fx.template.clone();
    let cores = inproc::num_cores();
    let one = inproc::pool(1)?;
    // Interleaved rounds, best of each: a shared machine's slow moments
    // then hit the floor and the seal alike instead of skewing a ratio.
    let rounds = plan.rounds;
    let b = plan.budget / rounds;
    let mut primitives: Vec<Primitive> = Vec::new();
    let (mut seal1, mut seal_all) = (0.0f64, 0.0f64);
    for _ in 0..rounds {
        bar.set_message(format!("{name}: primitives"));
        let p = one.install(|| inproc::primitives(fx, b))?;
        if primitives.is_empty() {
            primitives = p;
        } else {
            for (best, now) in primitives.iter_mut().zip(p) {
                if now.unit_us < best.unit_us {
                    *best = now;
                }
            }
        }
        bar.set_message(format!("{name}: seal on 1 core"));
        seal1 = seal1.max(inproc::seal_rate(fx, 1, b * 2)?);
        bar.set_message(format!("{name}: seal on {cores} cores"));
        seal_all = seal_all.max(inproc::seal_rate(fx, cores, b * 2)?);
    }
    bar.inc(3);
    bar.set_message(format!("{name}: verify and open"));
    let verify = inproc::verify_and_open(fx, plan.verify_batch, b, rounds)?;
    bar.inc(2);
    let floor_ms: f64 = primitives.iter().map(|p| p.total_us).sum::<f64>() / 1e3;
    let seal_ms = 1e3 / seal1;
    Ok(TemplateFigures {
        template: name,
        envelope_bytes: fx.seal("bench-size")?.encode().len(),
        primitives,
        floor_ms,
        seal_ms,
        overhead_pct: (seal_ms / floor_ms - 1.0) * 100.0,
        seal_per_s_one_core: seal1,
        seal_per_s_all_cores: seal_all,
        cores,
        scaling: seal_all / seal1,
        verify,
    })
}

/// Where the served stages run and report.
struct Served<'a> {
    root: &'a Path,
    data: &'a Path,
    plan: &'a Plan,
    bar: &'a ProgressBar,
}

/// A real `veilgate serve`: each template from one client to saturation and
/// at half that rate; then the backlog stage for the first template.
fn served(
    s: &Served<'_>,
    fixtures: &[inproc::Fixture],
    templates: &[TemplateFigures],
) -> Result<Vec<EndToEnd>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(inproc::num_cores())
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let server = load::Server::start(s.data, &s.root.join("serve.log"))?;
    rt.block_on(publish_sets(s.data, server.base()))?;
    let mut key = 0u64;
    let mut end_to_end = Vec::new();
    for (fx, t) in fixtures.iter().zip(templates) {
        let (e2e, next) = served_template(s, &rt, &server, fx, t, key)?;
        key = next;
        end_to_end.push(e2e);
    }
    drop(server);
    // The backlog stage stalls the ledger (an EVM node that does not
    // answer), which carries no set roots: it runs with the first template
    // that proves against no set.
    let no_sets = |fx: &inproc::Fixture| veilgate_core::predicates::set_fields(&fx.plan).is_empty();
    if let Some((fx, e2e)) = fixtures
        .iter()
        .zip(end_to_end.iter_mut())
        .find(|(fx, _)| no_sets(fx))
    {
        e2e.backlog = Some(backlog(s, &rt, fx, e2e.saturation.concurrency.max(1))?);
    }
    s.bar.inc(1);
    Ok(end_to_end)
}

/// Publishes version 1 of the templates' sets on the development ledger,
/// through the gateway, as the regulator (who holds their roles there).
async fn publish_sets(data: &Path, base: &str) -> Result<(), String> {
    let regulator = veilgate_client::Client::from_data_dir(data, "regulator", base)
        .map_err(|e| e.to_string())?;
    for (set, list) in veilgate_policies::SET_LISTS {
        let members = veilgate_core::sets::members_from_text(list);
        let contents = veilgate_core::sets::SetContents::build(DEV_LEDGER, set, 1, &members)
            .map_err(|e| e.to_string())?;
        let body = serde_json::json!({ "file": contents.file }).to_string();
        let (status, answer) = regulator
            .request(
                "POST",
                &format!("/v1/ledgers/{DEV_LEDGER}/sets"),
                Some(body.into_bytes()),
            )
            .await
            .map_err(|e| e.to_string())?;
        if status != 201 {
            return Err(format!(
                "publishing set `{set}`: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
    }
    Ok(())
}

/// One template over HTTPS: closed loops at each client count, then a
/// fixed rate at half the best throughput. Returns the next free key.
fn served_template(
    s: &Served<'_>,
    rt: &tokio::runtime::Runtime,
    server: &load::Server,
    fx: &inproc::Fixture,
    t: &TemplateFigures,
    mut key: u64,
) -> Result<(EndToEnd, u64), String> {
    let job = load::Job::new(
        s.data,
        server.base(),
        fx,
        format!("bench-{}", fx.template),
        201,
    )?;
    let mut levels = Vec::new();
    for &c in &s.plan.levels {
        s.bar
            .set_message(format!("{}: HTTPS, {c} clients", fx.template));
        let (p, next) = rt.block_on(load::closed_loop(
            job.clone(),
            server.pid(),
            c,
            s.plan.level_time,
            key,
        ))?;
        key = next;
        levels.push(p);
    }
    s.bar.inc(1);
    let saturation = levels
        .iter()
        .max_by(|a, b| a.throughput_per_s.total_cmp(&b.throughput_per_s))
        .cloned()
        .ok_or("no load level")?;
    s.bar.set_message(format!(
        "{}: HTTPS at half the saturation rate",
        fx.template
    ));
    let (half_rate, next) = rt.block_on(load::fixed_rate(
        job.clone(),
        server.pid(),
        saturation.throughput_per_s / 2.0,
        // Twice as long: a p99 needs enough samples to mean something.
        s.plan.level_time * 2,
        key,
    ))?;
    s.bar.inc(1);
    let e2e = EndToEnd {
        template: fx.template.clone(),
        ratio_to_in_process: saturation.throughput_per_s / t.seal_per_s_all_cores,
        in_process_per_s: t.seal_per_s_all_cores,
        saturation,
        levels,
        half_rate,
        backlog: None,
    };
    Ok((e2e, next))
}

/// The backlog: the template's records pile up behind a ledger that does
/// not answer, then load continues at `clients`.
fn backlog(
    s: &Served<'_>,
    rt: &tokio::runtime::Runtime,
    fx: &inproc::Fixture,
    clients: usize,
) -> Result<Backlog, String> {
    s.bar.set_message(format!(
        "{}: {} records waiting in the outbox",
        fx.template, s.plan.backlog
    ));
    stall_ledger(s.data)?;
    let server = load::Server::start(s.data, &s.root.join("serve-stalled.log"))?;
    let job = load::Job::new(
        s.data,
        server.base(),
        fx,
        format!("bench-backlog-{}", fx.template),
        202,
    )?;
    let next = rt.block_on(load::fill(job.clone(), clients, s.plan.backlog, 0))?;
    let (point, _) = rt.block_on(load::closed_loop(
        job.clone(),
        server.pid(),
        clients,
        s.plan.level_time,
        next,
    ))?;
    // Read back from the gateway, not counted here.
    let records_waiting = rt.block_on(load::outbox_depth(&job.client))?;
    Ok(Backlog {
        records_waiting,
        point,
    })
}

/// Every target, met or not, with what was measured.
fn targets(
    templates: &[TemplateFigures],
    end_to_end: &[EndToEnd],
    ledger: &LedgerFigures,
) -> Vec<Target> {
    let mut targets = Vec::new();
    for t in templates {
        targets.push(target(
            format!("{}: seal overhead over its primitives (%)", t.template),
            t.overhead_pct,
            "≤ 10",
            t.overhead_pct <= 10.0,
        ));
        targets.push(target(
            format!("{}: seal on {} cores ÷ 1 core", t.template, t.cores),
            t.scaling,
            "≥ 1.8",
            t.scaling >= 1.8,
        ));
        targets.push(target(
            format!("{}: peer verification, batch ÷ one at a time", t.template),
            t.verify.batch_speedup,
            "≥ 3",
            t.verify.batch_speedup >= 3.0,
        ));
    }
    for e in end_to_end {
        targets.push(target(
            format!("{}: HTTPS at saturation ÷ in-process seal (%)", e.template),
            e.ratio_to_in_process * 100.0,
            "≥ 85",
            e.ratio_to_in_process >= 0.85,
        ));
        let tail = e.half_rate.p99_ms / e.half_rate.p50_ms.max(1e-9);
        targets.push(target(
            format!("{}: p99 ÷ p50 at half the saturation rate", e.template),
            tail,
            "≤ 2",
            tail <= 2.0,
        ));
        if let Some(b) = &e.backlog {
            targets.push(target(
                format!(
                    "{}: server RSS at saturation with {} records waiting (MiB)",
                    e.template, b.records_waiting
                ),
                b.point.max_rss_mib,
                "≤ 200 (with ≥ 10,000 waiting)",
                b.point.max_rss_mib <= 200.0 && b.records_waiting >= 10_000,
            ));
        }
    }
    targets.push(target(
        format!(
            "embedded ledger: durable appends/s, {} threads appending at once (group commit)",
            ledger.appenders
        ),
        ledger.group_commit_per_s,
        "≥ 20,000",
        ledger.group_commit_per_s >= 20_000.0,
    ));
    targets.push(target(
        "embedded ledger: durable appends/s as the delivery worker writes them (batches of 64, one commit each)",
        ledger.batch64_per_s,
        "≥ 20,000",
        ledger.batch64_per_s >= 20_000.0,
    ));
    targets
}

/// The report as the table `veilgate bench` prints.
pub fn table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "machine: {} cores, {}, {}", m.cores, m.cpu, m.os);
    for t in &r.templates {
        let _ = writeln!(s, "\n{} (envelope {} B)", t.template, t.envelope_bytes);
        let _ = writeln!(
            s,
            "  {:<38} {:>5} {:>11} {:>11}",
            "primitive", "count", "each", "per seal"
        );
        for p in &t.primitives {
            let _ = writeln!(
                s,
                "  {:<38} {:>5} {:>8.1} µs {:>8.3} ms",
                p.name,
                p.count,
                p.unit_us,
                p.total_us / 1e3
            );
        }
        let _ = writeln!(
            s,
            "  {:<38} {:>5} {:>11} {:>8.3} ms",
            "floor (sum of primitives)", "", "", t.floor_ms
        );
        let _ = writeln!(
            s,
            "  seal (1 core): {:.3} ms = floor + {:.1} %; {:.1}/s on 1 core, {:.1}/s on {} cores ({:.2}×)",
            t.seal_ms, t.overhead_pct, t.seal_per_s_one_core, t.seal_per_s_all_cores, t.cores, t.scaling
        );
        let v = &t.verify;
        let _ = writeln!(
            s,
            "  verify (1 core): {:.0}/s one at a time, {:.0}/s in batches of {} ({:.2}×); open as regulator {:.0}/s",
            v.single_per_s, v.batch_per_s, v.envelopes, v.batch_speedup, v.open_per_s
        );
    }
    if !r.suites.is_empty() {
        let _ = writeln!(
            s,
            "\ncrypto suites, one thread: {:<28} {:>12} {:>12} {:>7}",
            "", "standard", "sm", "sm ÷ std"
        );
        for row in &r.suites {
            let _ = writeln!(
                s,
                "  {:<52} {:>9.2} µs {:>9.2} µs {:>6.1}×",
                row.operation,
                row.standard_us,
                row.sm_us,
                row.sm_us / row.standard_us
            );
        }
        let _ = writeln!(s, "  (standard: Ed25519, HPKE X25519/AES-256-GCM, AES-256-GCM, SHA-256; sm: SM2, SM2-ECDH/SM3-KDF/SM4-GCM, SM4-GCM, SM3)");
    }
    let p = &r.pseudonyms;
    let _ = writeln!(
        s,
        "\npseudonyms, one thread (ristretto255 VOPRF beside HMAC-SHA256):\n  HMAC-SHA256 {:.2} µs per value; VOPRF: blind {:.1} µs, evaluate with proof {:.1} µs alone or {:.1} µs per element in batches of 16 ({:.0} evaluations/s on one core), verify and finalize {:.1} µs per value, 2-of-3 combine {:.1} µs per value",
        p.hmac_us, p.blind_us, p.evaluate_one_us, p.evaluate_us_per_element_batch16, p.evaluations_per_s_one_core, p.finalize_us_per_value_batch16, p.combine_2of3_us_per_value_batch16
    );
    let trip = match (p.round_trip_median_ms, p.round_trip_p99_ms) {
        (Some(m), Some(q)) => format!("; one HTTPS/mTLS round trip to the service (fresh TLS connection): median {m:.2} ms, p99 {q:.2} ms over {} calls", p.round_trips),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "  per record ({} values): HMAC {:.2} µs; VOPRF member {:.0} µs + service {:.0} µs{trip}",
        p.values_per_record, p.hmac_record_us, p.member_record_us, p.service_record_us
    );
    for k in &r.skipped {
        let _ = writeln!(s, "\nskipped {}: {}", k.template, k.reason);
    }
    let l = &r.ledger;
    let _ = writeln!(
        s,
        "\nembedded ledger, {} B envelopes, fsynced: {:.0}/s one appender, {:.0}/s with {} appenders (group commit), {:.0}/s in batches of 64",
        l.envelope_bytes, l.sequential_per_s, l.group_commit_per_s, l.appenders, l.batch64_per_s
    );
    for e in &r.end_to_end {
        let _ = writeln!(
            s,
            "\n{} over HTTPS/mTLS (veilgate serve, embedded ledger)",
            e.template
        );
        let _ = writeln!(
            s,
            "  {:>14} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "clients", "records/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "RSS MiB", "errors"
        );
        let row = |s: &mut String, label: String, p: &LoadPoint| {
            let _ = writeln!(
                s,
                "  {:>14} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>7}",
                label,
                p.throughput_per_s,
                p.p50_ms,
                p.p90_ms,
                p.p99_ms,
                p.max_ms,
                p.max_rss_mib,
                p.errors
            );
        };
        for p in &e.levels {
            row(&mut s, p.concurrency.to_string(), p);
        }
        row(
            &mut s,
            format!("rate {:.0}/s", e.half_rate.offered_per_s.unwrap_or(0.0)),
            &e.half_rate,
        );
        if let Some(b) = &e.backlog {
            row(&mut s, format!("backlog {}", b.records_waiting), &b.point);
        }
        let _ = writeln!(
            s,
            "  saturation {:.1}/s = {:.1} % of in-process sealing ({:.1}/s)",
            e.saturation.throughput_per_s,
            e.ratio_to_in_process * 100.0,
            e.in_process_per_s
        );
    }
    if let Some(k) = &r.key_backends {
        let _ = writeln!(
            s,
            "\nkey backends ({}, one core): seal {:.1}/s with a key file, {:.1}/s with the key in token `{}` ({:.1} %); Ed25519 sign {:.1} µs in memory, {:.1} µs in the token",
            k.template,
            k.seal_per_s_file,
            k.seal_per_s_pkcs11,
            k.token,
            k.ratio * 100.0,
            k.sign_us_file,
            k.sign_us_pkcs11
        );
    }
    let _ = writeln!(s, "\ntargets");
    for t in &r.targets {
        let _ = writeln!(
            s,
            "  [{}] {}: {:.2} (target {})",
            if t.met { "met" } else { "MISSED" },
            t.what,
            t.measured,
            t.target
        );
    }
    s
}
