//! Starts `veilgate serve` as a child process for a test or the bench.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// How long one start may take to print its listening line and banner. A
/// first `--dev` start builds development material, so this is generous;
/// it is here so that a gateway that hangs fails the test instead of
/// stalling it.
const LISTEN_WITHIN: Duration = Duration::from_secs(180);

/// How to start the gateway.
pub struct Options {
    /// The `veilgate` binary (`env!("CARGO_BIN_EXE_veilgate")` in its tests,
    /// `std::env::current_exe()` in the bench).
    pub exe: PathBuf,
    pub data: PathBuf,
    /// `127.0.0.1:0` for any free port.
    pub listen: String,
    /// The SM TLS listener's address, passed when the configuration has
    /// `[tls_sm]` (development material does).
    pub listen_sm: String,
    /// The plain-HTTP health and metrics listener's address, if one is wanted.
    pub listen_observability: Option<String>,
    /// Pass `--dev` (create development material on first start).
    pub dev: bool,
    /// Where the gateway's stderr (its log) goes; appended to.
    pub log: PathBuf,
    /// `RUST_LOG` for the child, if set.
    pub rust_log: Option<String>,
}

impl Options {
    pub fn new(exe: impl Into<PathBuf>, data: impl Into<PathBuf>, log: impl Into<PathBuf>) -> Self {
        Options {
            exe: exe.into(),
            data: data.into(),
            listen: "127.0.0.1:0".into(),
            listen_sm: "127.0.0.1:0".into(),
            listen_observability: None,
            dev: false,
            log: log.into(),
            rust_log: None,
        }
    }
}

/// A running gateway; killed (and reaped) when dropped.
pub struct Process {
    /// `None` once handed over with [`Process::into_child`].
    child: Option<Child>,
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// The SM TLS listener's `https://127.0.0.1:PORT`, if it has one.
    pub sm_base: Option<String>,
    /// The health and metrics listener's `http://127.0.0.1:PORT`, if it has one.
    pub observability_base: Option<String>,
    /// What it printed on start: the listening line, then (first `--dev`
    /// start) the development material banner and the sample `veilgate client` commands.
    pub banner: Vec<String>,
}

impl Process {
    /// Starts the gateway and waits until it listens. Retries (up to 5 s)
    /// while the address is still taken, as after a killed predecessor.
    pub fn start(o: &Options) -> Result<Process, String> {
        let mut last = String::new();
        for _ in 0..50 {
            match try_start(o)? {
                Ok(p) => return Ok(p),
                Err(first_line) => last = first_line,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "the gateway did not start on {} ({last:?}); see {}",
            o.listen,
            o.log.display()
        ))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the gateway (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // Already exited is fine: either way it is gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The child, for a test that ends it its own way (SIGKILL at a chosen
    /// moment, SIGTERM); it is no longer killed on drop.
    pub fn into_child(mut self) -> Option<Child> {
        self.child.take()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The child's stdout, line by line, read on a thread so that waiting for
/// a line can have a deadline; it drains stdout until the child exits (a
/// read error is like an exit: no more lines).
fn stdout_lines(child: &mut Child) -> Result<std::sync::mpsc::Receiver<String>, String> {
    let stdout = child.stdout.take().ok_or("the child has no stdout")?;
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut l = String::new();
            if reader.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            let _ = tx.send(l);
        }
    });
    Ok(lines)
}

/// One attempt: `Ok(Err(line))` when the gateway exited without listening.
fn try_start(o: &Options) -> Result<Result<Process, String>, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&o.log)
        .map_err(|e| format!("{}: {e}", o.log.display()))?;
    let first_start = !o.data.join(veilgate_server::CONFIG_FILE).exists();
    let mut cmd = Command::new(&o.exe);
    cmd.arg("serve");
    if o.dev {
        cmd.arg("--dev");
    }
    let config =
        std::fs::read_to_string(o.data.join(veilgate_server::CONFIG_FILE)).unwrap_or_default();
    if (o.dev && first_start) || config.lines().any(|l| l.trim() == "[tls_sm]") {
        cmd.args(["--listen-sm", &o.listen_sm]);
    }
    if let Some(a) = &o.listen_observability {
        cmd.args(["--listen-observability", a]);
    }
    cmd.args(["--listen", &o.listen, "--data"])
        .arg(&o.data)
        .stdout(Stdio::piped())
        .stderr(log);
    if let Some(level) = &o.rust_log {
        cmd.env("RUST_LOG", level);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("starting {}: {e}", o.exe.display()))?;
    let lines = stdout_lines(&mut child)?;
    let deadline = Instant::now() + LISTEN_WITHIN;
    let next = || lines.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    let hung = |child: &mut Child, what: &str| {
        let _ = child.kill();
        let _ = child.wait();
        Err(format!(
            "the gateway printed no {what} within {LISTEN_WITHIN:?}; see {}",
            o.log.display()
        ))
    };
    let first = match next() {
        Ok(line) => line,
        // An exit without a line: the attempt failed.
        Err(RecvTimeoutError::Disconnected) => String::new(),
        Err(RecvTimeoutError::Timeout) => return hung(&mut child, "listening line"),
    };
    let mut addresses = first
        .split_whitespace()
        .filter(|w| w.starts_with("https://"))
        .map(|w| w.trim_end_matches([';', ')']).to_owned());
    let sm_base = addresses.nth(1);
    let observability_base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(|w| w.trim_end_matches([';', ')']).to_owned());
    let Some(base) = first
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .map(str::to_owned)
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(Err(first));
    };
    let mut banner = vec![first];
    if o.dev && first_start {
        // The rest of the banner is short; read it without waiting for EOF.
        for _ in 0..5 {
            let l = match next() {
                Ok(line) => line,
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => return hung(&mut child, "whole start banner"),
            };
            let done = l.contains("samples/interbank-payment.json");
            banner.push(l);
            if done {
                break;
            }
        }
    }
    Ok(Ok(Process {
        child: Some(child),
        base,
        sm_base,
        observability_base,
        banner,
    }))
}

/// Runs a one-shot command of the `veilgate` binary `exe` (`veilgate keys
/// recover …`, `veilgate audit verify …`) to its end, without a
/// `VEILGATE_PROFILE` from the environment: whether it succeeded, its
/// stdout and its stderr.
pub fn run(
    exe: impl AsRef<std::path::Path>,
    args: &[&str],
) -> Result<(bool, String, String), String> {
    let exe = exe.as_ref();
    let out = Command::new(exe)
        .args(args)
        .env_remove("VEILGATE_PROFILE")
        .output()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Starts `veilgate pseudonym-service serve` on the service directory `dir`
/// (`listen`: `127.0.0.1:0` for any free port, or the address of a
/// predecessor to restart on it) and waits until it listens. Its `base` is
/// its `https://` address.
pub fn start_pseudonym_service(
    exe: impl AsRef<std::path::Path>,
    dir: &std::path::Path,
    listen: &str,
    log: &std::path::Path,
) -> Result<Process, String> {
    let mut last = String::new();
    for _ in 0..50 {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(exe.as_ref())
            .args(["pseudonym-service", "serve", "--listen", listen, "--data"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("starting the pseudonym service: {e}"))?;
        let lines = stdout_lines(&mut child)?;
        let first = match lines.recv_timeout(LISTEN_WITHIN) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => String::new(),
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the pseudonym service printed nothing within {LISTEN_WITHIN:?}; see {}",
                    log.display()
                ));
            }
        };
        if let Some(base) = first.split_whitespace().find(|w| w.starts_with("https://")) {
            return Ok(Process {
                child: Some(child),
                base: base.to_owned(),
                sm_base: None,
                observability_base: None,
                banner: vec![first],
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        last = first;
        // A port still held by a killed predecessor frees itself shortly.
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the pseudonym service did not start on {listen} ({last:?}); see {}",
        log.display()
    ))
}
