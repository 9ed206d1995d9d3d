//! A private MariaDB server: its own datadir, socket and loopback port, ROW binlog on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};
use tempfile::TempDir;

use crate::process::{tail_file, ChildProcess, LOG_TAIL_LINES};

/// The server binary installed by Debian's `mariadb-server` package.
pub const MARIADBD: &str = "/usr/sbin/mariadbd";
/// Creates the system tables in an empty datadir (from `mariadb-server`).
pub const INSTALL_DB: &str = "mariadb-install-db";

/// Replication account used by agent-core: `REPLICATION SLAVE, REPLICATION CLIENT, SELECT`.
pub const REPLICATION_USER: (&str, &str) = ("dbtrail", "dbtrail");
/// Application account with all privileges, also the shim tenant in tests.
pub const APP_USER: (&str, &str) = ("app", "app");

/// How long to wait for a fresh server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts to start the server when the chosen port was taken in the meantime.
const PORT_ATTEMPTS: usize = 3;

const SETUP_SQL: &[&str] = &[
    "CREATE USER 'dbtrail'@'%' IDENTIFIED BY 'dbtrail'",
    "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'dbtrail'@'%'",
    "CREATE USER 'app'@'%' IDENTIFIED BY 'app'",
    "GRANT ALL ON *.* TO 'app'@'%'",
];

/// A running `mariadbd` with a private datadir in a temp directory.
///
/// Binlog: ROW format, FULL row image, FULL row metadata, `server_id = 1`, files `binlog.NNNNNN`
/// in the datadir. Session time zone defaults to UTC (`--default-time-zone=+00:00`). Root has an
/// empty password and is reached over the unix socket; [`REPLICATION_USER`] and [`APP_USER`] exist
/// for TCP clients. Dropping it stops the server (SIGTERM, then SIGKILL) and removes the datadir.
#[derive(Debug)]
pub struct MariaDb {
    // Field order is drop order: stop the server before removing its directory.
    process: ChildProcess,
    port: u16,
    dir: TempDir,
}

impl MariaDb {
    /// Initialises a datadir, starts the server on a free port and creates the users.
    ///
    /// Takes a few seconds (`mariadb-install-db` dominates). Errors carry the error log tail.
    pub async fn start() -> Result<Self> {
        Self::start_with(&[]).await
    }

    /// Like [`MariaDb::start`], with `extra` server options appended to [`server_args`] (a later
    /// option wins: `--default-time-zone=+05:30`, `--binlog-row-metadata=MINIMAL`).
    pub async fn start_with(extra: &[&str]) -> Result<Self> {
        let first_dir = tempfile::Builder::new()
            .prefix("dbtrail-mariadb-")
            .tempdir()
            .context("creating the MariaDB temp dir")?;
        install_db(first_dir.path())?;
        let mut dir = first_dir;
        let mut last_err = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = crate::free_port()?;
            let process = spawn_server(dir.path(), port, extra)?;
            let mut db = Self { process, port, dir };
            match db.wait_ready().await {
                Ok(()) => {
                    db.create_users().await?;
                    return Ok(db);
                }
                Err(e) if db.error_log_tail(20).contains("Address already in use") => {
                    last_err = Some(e);
                    // Reclaim the directory for the next attempt; the server is gone.
                    let Self {
                        mut process,
                        dir: d,
                        ..
                    } = db;
                    let _ = process.terminate(Duration::from_secs(5));
                    dir = d;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("mariadbd did not start")))
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The datadir (also holds the socket, binlogs and `error.log`).
    pub fn datadir(&self) -> &Path {
        self.dir.path()
    }

    /// The unix socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mysql.sock")
    }

    /// `mysql://dbtrail:dbtrail@127.0.0.1:<port>`: the DSN agent-core replicates from.
    pub fn replication_dsn(&self) -> String {
        let (user, pass) = REPLICATION_USER;
        format!("mysql://{user}:{pass}@127.0.0.1:{}", self.port)
    }

    /// Root over the unix socket, no default database.
    pub fn admin_opts(&self) -> Opts {
        OptsBuilder::default()
            .socket(Some(self.socket().to_string_lossy().into_owned()))
            .user(Some("root"))
            .pass(Some(""))
            .into()
    }

    /// A new root connection over the socket. Call `disconnect()` when done.
    pub async fn admin_conn(&self) -> Result<Conn> {
        Conn::new(self.admin_opts())
            .await
            .context("connecting to MariaDB as root over the socket")
    }

    /// A TCP client as `user`/`pass` on 127.0.0.1, optionally with a default database.
    pub fn tcp_opts(&self, user: &str, pass: &str, db: Option<&str>) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .prefer_socket(false)
            .user(Some(user))
            .pass(Some(pass))
            .db_name(db)
            .into()
    }

    /// Runs `sql` (one statement) as root on a fresh connection; the rows of its result set.
    pub async fn sql(&self, sql: &str) -> Result<Vec<Row>> {
        let mut conn = self.admin_conn().await?;
        let rows = conn
            .query::<Row, _>(sql)
            .await
            .with_context(|| format!("MariaDB: {sql}"));
        conn.disconnect().await.ok();
        rows
    }

    /// The first column of the first row of `sql` as text (`None` for no row or NULL).
    pub async fn sql_text(&self, sql: &str) -> Result<Option<String>> {
        let rows = self.sql(sql).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        match row.get_opt::<Option<String>, usize>(0) {
            None => bail!("{sql}: the result has no column"),
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => bail!("{sql}: first column is not text: {e}"),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Stops the server (SIGTERM, a clean shutdown; SIGKILL after 30 s) and starts it again on
    /// the same datadir and port, as an operator's restart does; waits until it accepts
    /// connections.
    pub async fn restart(&mut self, extra: &[&str]) -> Result<()> {
        self.process.terminate(Duration::from_secs(30))?;
        self.process = spawn_server(self.dir.path(), self.port, extra)?;
        self.wait_ready().await
    }

    /// The last `lines` lines of the server's error log.
    pub fn error_log_tail(&self, lines: usize) -> String {
        tail_file(&self.dir.path().join("error.log"), lines)
    }

    /// Polls a root connection over the socket until it works, or the server exits, or timeout.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.process.exit_status()? {
                bail!(
                    "mariadbd exited during start-up ({status}); error log:\n{}",
                    self.error_log_tail(LOG_TAIL_LINES)
                );
            }
            match Conn::new(self.admin_opts()).await {
                Ok(conn) => {
                    conn.disconnect().await.ok();
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => bail!(
                    "mariadbd did not accept connections within {START_TIMEOUT:?}: {e}; \
                     error log:\n{}",
                    self.error_log_tail(LOG_TAIL_LINES)
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn create_users(&self) -> Result<()> {
        let mut conn = self.admin_conn().await?;
        for stmt in SETUP_SQL {
            conn.query_drop(*stmt)
                .await
                .with_context(|| format!("MariaDB setup: {stmt}"))?;
        }
        conn.disconnect().await.ok();
        Ok(())
    }
}

/// `["--user=root"]` when running as root (mariadbd refuses root without it), else nothing:
/// a non-root server runs as the current user anyway, and `mariadb-install-db --user=<me>` would
/// try (and fail, noisily) to chown the PAM helper.
fn user_args() -> Vec<String> {
    if running_as_root() {
        vec!["--user=root".to_owned()]
    } else {
        Vec::new()
    }
}

/// Whether the real uid is 0 (the `Uid:` line of `/proc/self/status`).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(1)? == "0")
        })
        .unwrap_or(false)
}

/// `mariadb-install-db` into `<dir>` (datadir = the temp dir itself). Installs run one at a time
/// within a test binary and are retried twice on a fresh directory: parallel bootstraps on a loaded
/// 2-core machine were seen to fail now and then without a usable log.
fn install_db(dir: &Path) -> Result<()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut last = None;
    for _ in 0..3 {
        match install_db_once(dir) {
            Ok(()) => return Ok(()),
            Err(e) => {
                for entry in std::fs::read_dir(dir)?.flatten() {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("{INSTALL_DB} failed")))
}

fn install_db_once(dir: &Path) -> Result<()> {
    let out = Command::new(INSTALL_DB)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg("--skip-name-resolve")
        .args(user_args())
        .output()
        .with_context(|| {
            format!("running {INSTALL_DB} (install the mariadb-server package: apt-get install -y mariadb-server mariadb-client)")
        })?;
    if !out.status.success() {
        bail!(
            "{INSTALL_DB} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The `mariadbd` command line: private datadir, loopback only, ROW binlog, small buffers, UTC.
pub fn server_args(dir: &Path, port: u16) -> Vec<String> {
    let d = dir.display();
    let mut args = vec!["--no-defaults".to_owned()];
    args.extend(user_args());
    args.extend([
        format!("--datadir={d}"),
        format!("--socket={d}/mysql.sock"),
        format!("--pid-file={d}/mariadbd.pid"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--log-bin={d}/binlog"),
        "--binlog-format=ROW".to_owned(),
        "--binlog-row-image=FULL".to_owned(),
        "--binlog-row-metadata=FULL".to_owned(),
        "--server-id=1".to_owned(),
        format!("--log-error={d}/error.log"),
        "--innodb-buffer-pool-size=64M".to_owned(),
        "--innodb-log-file-size=16M".to_owned(),
        "--skip-name-resolve".to_owned(),
        "--default-time-zone=+00:00".to_owned(),
        "--character-set-server=utf8mb4".to_owned(),
        "--collation-server=utf8mb4_general_ci".to_owned(),
        "--performance-schema=OFF".to_owned(),
    ]);
    args
}

fn spawn_server(dir: &Path, port: u16, extra: &[&str]) -> Result<ChildProcess> {
    if !Path::new(MARIADBD).is_file() {
        bail!("{MARIADBD} not found: apt-get install -y mariadb-server mariadb-client");
    }
    let mut cmd = Command::new(MARIADBD);
    cmd.args(server_args(dir, port));
    cmd.args(extra);
    ChildProcess::spawn("mariadbd", cmd, &dir.join("mariadbd.out"))
}
