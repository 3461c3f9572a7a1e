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

/// A running anvil; the process is killed (SIGKILL) on drop — use
/// [`Devnet::stop`] for a clean stop that writes the state file.
pub struct Devnet {
    child: Option<Child>,
    pub port: u16,
}

impl Devnet {
    /// Starts anvil on a free loopback port; with `state`, loads the chain
    /// from that file if present and writes it back on a clean stop.
    pub fn start(state: Option<&Path>) -> Result<Devnet, EvmError> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::start_on(port, state)
    }

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
        let net = Devnet {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(EvmError::Devnet(format!("nothing listens on port {port}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(net)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
