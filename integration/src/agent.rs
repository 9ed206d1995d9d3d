//! agent-core as a child process: generated `agent.yaml`, private data dir, free port.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agent_api::health::{HealthResponse, SourceHealth};
use agent_api::AgentClient;
use anyhow::{anyhow, bail, Context, Result};
use tempfile::TempDir;

use crate::mariadb::MariaDb;
use crate::process::{ChildProcess, DEFAULT_GRACE, LOG_TAIL_LINES};

/// The binary name in the target directory.
pub const AGENT_BIN: &str = "agent-core";
/// `server_id` of the MariaDB source in the generated config (matches `--server-id=1`).
pub const SOURCE_SERVER_ID: u32 = 1;
/// `server_id` agent-core announces as a replica.
pub const REPLICA_SERVER_ID: u32 = 4001;

/// How long to wait for `/health` after spawning.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`AgentCore::wait_caught_up`] and [`AgentCore::wait_connected`] poll.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);
/// Poll interval for `/health`.
const POLL: Duration = Duration::from_millis(100);

/// A running agent-core replicating one [`MariaDb`] (source `server_id` 1).
///
/// Layout of its temp dir: `agent.yaml`, `data/` (the `data_dir`), `agent.log` (stdout and
/// stderr of every run, appended). [`AgentCore::restart`] keeps all three.
#[derive(Debug)]
pub struct AgentCore {
    // Field order is drop order: stop the process before removing its directory.
    process: Option<ChildProcess>,
    client: AgentClient,
    listen: SocketAddr,
    token: String,
    dir: TempDir,
}

impl AgentCore {
    /// Writes `agent.yaml` for `db` capturing `schemas`, spawns agent-core and waits for `/health`.
    ///
    /// Errors: binary not built ([`crate::workspace_binary`]), the process exits, or `/health`
    /// does not answer within 30 s (with the log tail).
    pub async fn start(db: &MariaDb, schemas: &[&str]) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("dbtrail-agent-")
            .tempdir()
            .context("creating the agent-core temp dir")?;
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, crate::free_port()?));
        let token = crate::random_token();
        let data_dir = dir.path().join("data");
        std::fs::create_dir(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let yaml = config_yaml(listen, &token, &data_dir, &db.replication_dsn(), schemas);
        std::fs::write(dir.path().join("agent.yaml"), yaml).context("writing agent.yaml")?;
        let client = AgentClient::new(&format!("http://{listen}"), &token)?;
        let mut agent = Self {
            process: None,
            client,
            listen,
            token,
            dir,
        };
        agent.spawn().await?;
        Ok(agent)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// The listen address.
    pub fn addr(&self) -> SocketAddr {
        self.listen
    }

    /// The bearer token in the config.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// An HTTP client for this agent, token included.
    pub fn client(&self) -> &AgentClient {
        &self.client
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("agent.yaml")
    }

    /// The `data_dir` holding the change index.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The last `lines` lines of the agent's log.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::process::tail_file(&self.dir.path().join("agent.log"), lines)
    }

    /// Runs `agent-core --config <agent.yaml> <args>` (a subcommand against this agent); its
    /// stdout on success, otherwise the error of [`run_agent_cli`] with the agent's log tail.
    pub async fn cli(&self, args: &[&str]) -> Result<String> {
        let config = self.config_path();
        let config = config.to_str().context("agent.yaml path is not UTF-8")?;
        let mut full = vec!["--config", config];
        full.extend_from_slice(args);
        run_agent_cli(&full)
            .await
            .with_context(|| format!("agent log:\n{}", self.log_tail(20)))
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<HealthResponse> {
        Ok(self.client.health().await?)
    }

    /// The `/health` entry of the MariaDB source (`server_id` 1).
    pub async fn source_health(&self) -> Result<SourceHealth> {
        let health = self.health().await?;
        health
            .sources
            .into_iter()
            .find(|s| s.server_id == SOURCE_SERVER_ID)
            .ok_or_else(|| anyhow!("/health lists no source with server_id {SOURCE_SERVER_ID}"))
    }

    /// Polls `/health` until the source's replication stream is `connected`.
    pub async fn wait_connected(&self) -> Result<SourceHealth> {
        self.wait_source("connected", |s| s.connected).await
    }

    /// Polls `/health` until the source is `connected` and its record is complete up to the
    /// source's `NOW(6)` read at the call, i.e. every transaction committed before the call is
    /// captured (`complete_until_us` ≥ that instant, µs since the Unix epoch).
    pub async fn wait_caught_up(&self, db: &MariaDb) -> Result<SourceHealth> {
        let now_us = source_now_us(db).await?;
        self.wait_source(&format!("complete until ≥ {now_us} µs"), |s| {
            s.connected && s.complete_until_us.is_some_and(|c| c >= now_us)
        })
        .await
    }

    /// The process id while agent-core runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    /// Graceful stop: SIGTERM, then SIGKILL after 10 s. A later [`AgentCore::restart`] resumes.
    pub fn stop(&mut self) -> Result<()> {
        let mut process = self.process.take().context("agent-core is not running")?;
        process.terminate(DEFAULT_GRACE)?;
        Ok(())
    }

    /// Crash stop: SIGKILL, no chance to flush. A later [`AgentCore::restart`] must recover.
    pub fn kill9(&mut self) -> Result<()> {
        let mut process = self.process.take().context("agent-core is not running")?;
        process.kill9()?;
        Ok(())
    }

    /// Stops the agent if it runs (gracefully), then starts it again with the same config, port
    /// and data dir, and waits for `/health`.
    pub async fn restart(&mut self) -> Result<()> {
        if self.process.is_some() {
            self.stop()?;
        }
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<()> {
        let bin = crate::workspace_binary(AGENT_BIN)?;
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(self.config_path())
            .current_dir(self.dir.path())
            .env("RUST_LOG", crate::child_rust_log())
            .env("NO_COLOR", "1");
        let mut process = ChildProcess::spawn(AGENT_BIN, cmd, &self.dir.path().join("agent.log"))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            process.ensure_running()?;
            match self.client.health().await {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => bail!(
                    "agent-core /health did not answer within {START_TIMEOUT:?}: {e}; log:\n{}",
                    process.log_tail(LOG_TAIL_LINES)
                ),
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
        self.process = Some(process);
        Ok(())
    }

    async fn wait_source(
        &self,
        what: &str,
        done: impl Fn(&SourceHealth) -> bool,
    ) -> Result<SourceHealth> {
        let deadline = Instant::now() + CATCH_UP_TIMEOUT;
        loop {
            let last = self.source_health().await;
            match &last {
                Ok(source) if done(source) => return last,
                _ if Instant::now() >= deadline => bail!(
                    "agent-core source {SOURCE_SERVER_ID} not {what} within {CATCH_UP_TIMEOUT:?}; \
                     last /health: {last:?}; log:\n{}",
                    self.log_tail(LOG_TAIL_LINES)
                ),
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }
}

/// Runs `agent-core <args>` to completion (`NO_COLOR=1`); its stdout on success, otherwise an
/// error with the arguments, the exit status and stderr.
pub async fn run_agent_cli(args: &[&str]) -> Result<String> {
    let bin = crate::workspace_binary(AGENT_BIN)?;
    let out = tokio::process::Command::new(&bin)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .await
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "agent-core {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// The source's current time, µs since the Unix epoch (`UNIX_TIMESTAMP(NOW(6))`).
pub async fn source_now_us(db: &MariaDb) -> Result<i64> {
    let text = db
        .sql_text("SELECT UNIX_TIMESTAMP(NOW(6))")
        .await?
        .context("UNIX_TIMESTAMP(NOW(6)) returned NULL")?;
    parse_unix_micros(&text)
}

/// `"1763786175.712802"` → 1_763_786_175_712_802 (at most 6 fractional digits).
fn parse_unix_micros(text: &str) -> Result<i64> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 6 {
        bail!("{text:?} has more than 6 fractional digits");
    }
    let secs: i64 = secs
        .parse()
        .with_context(|| format!("seconds in {text:?}"))?;
    let micros: i64 = format!("{frac:0<6}")
        .parse()
        .with_context(|| format!("fraction in {text:?}"))?;
    Ok(secs * 1_000_000 + micros)
}

/// The `agent.yaml` text; strings are written as JSON strings, which YAML reads verbatim.
fn config_yaml(
    listen: SocketAddr,
    token: &str,
    data_dir: &Path,
    dsn: &str,
    schemas: &[&str],
) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let schemas: Vec<String> = schemas.iter().map(|s| q(s)).collect();
    format!(
        "listen: {listen}\n\
         token: {}\n\
         data_dir: {}\n\
         sources:\n  \
           - server_id: {SOURCE_SERVER_ID}\n    \
             dsn: {}\n    \
             replica_server_id: {REPLICA_SERVER_ID}\n    \
             schemas: [{}]\n",
        q(token),
        q(&data_dir.to_string_lossy()),
        q(dsn),
        schemas.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_micros() {
        assert_eq!(
            parse_unix_micros("1763786175.712802").expect("valid"),
            1_763_786_175_712_802
        );
        assert_eq!(parse_unix_micros("10.5").expect("valid"), 10_500_000);
        assert_eq!(parse_unix_micros("7").expect("valid"), 7_000_000);
    }

    #[test]
    fn config_is_the_documented_shape() {
        let yaml = config_yaml(
            "127.0.0.1:8600".parse().expect("address"),
            "ab12",
            Path::new("/tmp/d"),
            "mysql://dbtrail:dbtrail@127.0.0.1:3306",
            &["shop", "crm"],
        );
        assert_eq!(
            yaml,
            "listen: 127.0.0.1:8600\n\
             token: \"ab12\"\n\
             data_dir: \"/tmp/d\"\n\
             sources:\n  \
               - server_id: 1\n    \
                 dsn: \"mysql://dbtrail:dbtrail@127.0.0.1:3306\"\n    \
                 replica_server_id: 4001\n    \
                 schemas: [\"shop\", \"crm\"]\n"
        );
    }
}
