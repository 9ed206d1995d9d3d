//! dbtrail-shim as a child process: generated `shim.yaml`, free port.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mysql_async::{Opts, OptsBuilder};
use tempfile::TempDir;

use crate::process::ChildProcess;

/// The binary name in the target directory.
pub const SHIM_BIN: &str = "dbtrail-shim";

/// How long to wait for the shim to accept TCP connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One `tenants[]` entry: a MySQL login the shim accepts and the source it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// MySQL user name clients log in with.
    pub mysql_user: String,
    /// Its password (checked by the shim with `mysql_native_password`).
    pub mysql_password: String,
    /// The agent-core source (`server_id`) its queries go to.
    pub server_id: u32,
}

impl Tenant {
    /// A tenant entry.
    pub fn new(user: &str, password: &str, server_id: u32) -> Self {
        Self {
            mysql_user: user.to_owned(),
            mysql_password: password.to_owned(),
            server_id,
        }
    }
}

/// A running dbtrail-shim. Temp dir layout: `shim.yaml`, `shim.log` (stdout and stderr).
#[derive(Debug)]
pub struct Shim {
    // Field order is drop order: stop the process before removing its directory.
    process: ChildProcess,
    listen: SocketAddr,
    dir: TempDir,
}

impl Shim {
    /// Writes `shim.yaml` and spawns the shim; returns once its port accepts TCP connections.
    ///
    /// `agent_url` is `http://127.0.0.1:<port>`, `token` the agent's bearer token.
    pub async fn start(agent_url: &str, token: &str, tenants: &[Tenant]) -> Result<Self> {
        Self::start_with(agent_url, token, tenants, "").await
    }

    /// [`Shim::start`] with `extra` top-level YAML lines appended to `shim.yaml` (e.g.
    /// `agent_timeout: 2s\n`).
    pub async fn start_with(
        agent_url: &str,
        token: &str,
        tenants: &[Tenant],
        extra: &str,
    ) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("dbtrail-shim-")
            .tempdir()
            .context("creating the shim temp dir")?;
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port()?));
        let config = dir.path().join("shim.yaml");
        let yaml = config_yaml(listen, agent_url, token, tenants) + extra;
        std::fs::write(&config, yaml).context("writing shim.yaml")?;
        let mut cmd = Command::new(crate::workspace_binary(SHIM_BIN)?);
        cmd.arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .env("RUST_LOG", crate::child_rust_log())
            .env("NO_COLOR", "1");
        let mut process = ChildProcess::spawn(SHIM_BIN, cmd, &dir.path().join("shim.log"))?;
        let waited = crate::wait_for_tcp(listen, START_TIMEOUT, || process.ensure_running()).await;
        if let Err(e) = waited {
            if process.exit_status()?.is_some() {
                return Err(e); // ensure_running's message carries the log tail
            }
            bail!(
                "{e:#}; shim log:\n{}",
                process.log_tail(crate::process::LOG_TAIL_LINES)
            );
        }
        Ok(Self {
            process,
            listen,
            dir,
        })
    }

    /// The shim's process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.listen.port()
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.listen
    }

    /// The last `lines` lines of the shim's log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// The config file path.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.path().join("shim.yaml")
    }

    /// mysql_async options for a TCP login to the shim (no socket upgrade), optional database.
    pub fn mysql_opts(&self, user: &str, pass: &str, db: Option<&str>) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.listen.port())
            .prefer_socket(false)
            .user(Some(user))
            .pass(Some(pass))
            .db_name(db)
            .into()
    }
}

/// The `shim.yaml` text; strings are written as JSON strings, which YAML reads verbatim.
fn config_yaml(listen: SocketAddr, agent_url: &str, token: &str, tenants: &[Tenant]) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut yaml = format!(
        "listen: {listen}\nagent_url: {}\nagent_token: {}\ntenants:\n",
        q(agent_url),
        q(token)
    );
    // The harness's tenants may lift `max_diff_window` (`@dbtrail_allow_wide_diff = ON`), as an
    // operator's would; the refusal for other tenants is tested in shim/tests/reads.rs.
    for t in tenants {
        yaml.push_str(&format!(
            "  - mysql_user: {}\n    mysql_password: {}\n    server_id: {}\n    allow_wide_diff: true\n",
            q(&t.mysql_user),
            q(&t.mysql_password),
            t.server_id
        ));
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_the_documented_shape() {
        let yaml = config_yaml(
            "127.0.0.1:3308".parse().expect("address"),
            "http://127.0.0.1:8600",
            "ab12",
            &[Tenant::new("app", "app", 1)],
        );
        assert_eq!(
            yaml,
            "listen: 127.0.0.1:3308\n\
             agent_url: \"http://127.0.0.1:8600\"\n\
             agent_token: \"ab12\"\n\
             tenants:\n  \
               - mysql_user: \"app\"\n    \
                 mysql_password: \"app\"\n    \
                 server_id: 1\n    \
                 allow_wide_diff: true\n"
        );
    }
}
