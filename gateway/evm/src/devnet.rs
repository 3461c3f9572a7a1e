//! A local `anvil` node for tests: 127.0.0.1, a free port, optional state
//! file (so a restart keeps the chain), killed when dropped.
//!
//! CI installs anvil from the npm package `@foundry-rs/anvil-linux-amd64`
//! (`.ci/run`) and points `VEILGATE_ANVIL` at the binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::EvmError;

/// Anvil's first development account (public knowledge: for local nodes only).
pub const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The anvil binary from `VEILGATE_ANVIL`, or the copy `.ci/run` installs.
pub fn anvil_path() -> Result<PathBuf, EvmError> {
    if let Some(p) = std::env::var_os("VEILGATE_ANVIL") {
        return Ok(PathBuf::from(p));
    }
    let local = crate::solc::workspace_root()
        .join(".ci/cache/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if local.is_file() {
        return Ok(local);
    }
    Err(EvmError::ToolMissing {
        tool: "anvil",
        hint: "set VEILGATE_ANVIL to the anvil binary, or run .ci/run once".into(),
    })
}

/// For tests: whether anvil and solcjs are installed. Under CI (`CI` set) a
/// missing tool fails the test, since `.ci/run` installs both; elsewhere the
/// test is skipped with a message saying how to get them.
#[allow(clippy::panic)]
pub fn tools_or_skip() -> bool {
    match (crate::solc::solcjs_path(), anvil_path()) {
        (Ok(_), Ok(_)) => true,
        (a, b) => {
            let why = [a.err(), b.err()]
                .into_iter()
                .flatten()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ");
            if std::env::var_os("CI").is_some() {
                panic!("{why}");
            }
            eprintln!("skipping the EVM test: {why}");
            false
        }
    }
}

/// A running anvil; the process is killed (SIGKILL) on drop — use
/// [`Devnet::stop`] for a clean stop that writes the state file.
pub struct Devnet {
    child: Option<Child>,
    pub port: u16,
}

impl Devnet {
    /// Starts anvil on a free loopback port; with `state`, loads the chain
    /// from that file if present and writes it back on a clean stop. A port
    /// found free can be taken by another process before anvil binds it (tests
    /// run in parallel), so a failed start is retried on another port.
    pub fn start(state: Option<&Path>) -> Result<Devnet, EvmError> {
        let mut last = None;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            match Self::start_on(port, state) {
                Ok(net) => return Ok(net),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EvmError::Devnet("no attempt".into())))
    }

    /// Starts anvil on `port` and waits until it answers JSON-RPC (not merely
    /// until something listens there: that could be another process).
    pub fn start_on(port: u16, state: Option<&Path>) -> Result<Devnet, EvmError> {
        let mut cmd = Command::new(anvil_path()?);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--quiet",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(s) = state {
            cmd.arg("--state").arg(s);
        }
        let child = cmd.spawn()?;
        let mut net = Devnet {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(c) = net.child.as_mut() {
                if let Some(status) = c.try_wait()? {
                    net.child = None;
                    return Err(EvmError::Devnet(format!(
                        "anvil exited ({status}) on port {port}"
                    )));
                }
            }
            if answers_rpc(port) {
                return Ok(net);
            }
            if Instant::now() > deadline {
                return Err(EvmError::Devnet(format!(
                    "anvil did not answer on port {port}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops mining (`evm_setAutomine false`): transactions sent from now on
    /// stay pending, and are lost with the node if it stops — like a node
    /// going down with transactions in flight. Anvil writes its state file
    /// while it still mines, so a stop under load can save storage and
    /// blocks from different moments; pausing mining first keeps the saved
    /// chain consistent.
    pub fn pause_mining(&self) -> Result<(), EvmError> {
        raw_rpc(self.port, "evm_setAutomine", "[false]")
            .filter(|a| a.contains("\"result\""))
            // Deliberate settle time: a block anvil was already mining
            // when automine went off is written before the caller stops it.
            .map(|_| std::thread::sleep(Duration::from_millis(300)))
            .ok_or_else(|| EvmError::Devnet("evm_setAutomine failed".into()))
    }

    /// Moves the node's clock `secs` ahead (`evm_increaseTime`): blocks
    /// mined from now on carry timestamps that much later than the host's
    /// clock — a chain whose time disagrees with the gateway's.
    pub fn advance_time(&self, secs: u64) -> Result<(), EvmError> {
        raw_rpc(self.port, "evm_increaseTime", &format!("[{secs}]"))
            .filter(|a| a.contains("\"result\""))
            .map(|_| ())
            .ok_or_else(|| EvmError::Devnet("evm_increaseTime failed".into()))
    }

    /// Records the chain as it is now (`evm_snapshot`); returns the
    /// snapshot's id for [`Devnet::revert`].
    pub fn snapshot(&self) -> Result<String, EvmError> {
        raw_rpc(self.port, "evm_snapshot", "[]")
            .as_deref()
            .and_then(result_of)
            .ok_or_else(|| EvmError::Devnet("evm_snapshot failed".into()))
    }

    /// Puts the chain back to a snapshot (`evm_revert`): every block mined
    /// since is gone, with the transactions in it — a chain that forgot
    /// deliveries it had confirmed, as after a reorganisation.
    pub fn revert(&self, snapshot: &str) -> Result<(), EvmError> {
        raw_rpc(self.port, "evm_revert", &format!("[\"{snapshot}\"]"))
            .as_deref()
            .and_then(result_of)
            .filter(|r| r == "true")
            .map(|_| ())
            .ok_or_else(|| EvmError::Devnet(format!("evm_revert {snapshot} failed")))
    }

    /// SIGTERM and wait: anvil writes its `--state` file on the way out.
    pub fn stop(mut self) -> Result<(), EvmError> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether an Ethereum JSON-RPC node answers `eth_chainId` on the port.
fn answers_rpc(port: u16) -> bool {
    raw_rpc(port, "eth_chainId", "[]").is_some_and(|a| a.contains("\"result\""))
}

/// The `result` of a JSON-RPC answer (status line and headers included),
/// as text: a string result without its quotes, any other value as written.
fn result_of(answer: &str) -> Option<String> {
    let body = answer.split("\r\n\r\n").nth(1)?;
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    match v.get("result")? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// One JSON-RPC call over a plain HTTP/1.1 connection; the whole answer
/// (status line, headers, body) if the node answered 200.
fn raw_rpc(port: u16, method: &str, params: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200").then_some(answer)
}
