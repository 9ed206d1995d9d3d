//! The `mariadb` command-line client, run against MariaDB or the shim over TCP.

use anyhow::{bail, Context, Result};
use tokio::process::Command;

/// The client binary from Debian's `mariadb-client` package.
pub const MARIADB_CLI: &str = "/usr/bin/mariadb";

/// Runs `sql` with `mariadb --batch --raw` and returns stdout: a header line of column names, then
/// one line per row, fields separated by tabs, SQL NULL printed as `NULL`, no escaping.
///
/// Connects over TCP to 127.0.0.1:`port` as `user`/`pass`, with default database `db` if given.
/// Errors when the client exits non-zero (its stderr, e.g. `ERROR 1064 (HY000) ...`, is included).
pub async fn mariadb_cli(
    port: u16,
    user: &str,
    pass: &str,
    db: Option<&str>,
    sql: &str,
) -> Result<String> {
    run(port, user, pass, db, sql, &["--batch", "--raw"]).await
}

/// Like [`mariadb_cli`] but in the boxed table format (`--table`) a person reads.
pub async fn mariadb_cli_table(
    port: u16,
    user: &str,
    pass: &str,
    db: Option<&str>,
    sql: &str,
) -> Result<String> {
    run(port, user, pass, db, sql, &["--table"]).await
}

async fn run(
    port: u16,
    user: &str,
    pass: &str,
    db: Option<&str>,
    sql: &str,
    format: &[&str],
) -> Result<String> {
    let mut cmd = Command::new(MARIADB_CLI);
    // --no-defaults must come first: it keeps /etc/mysql/*.cnf (socket paths, ssl) out of the test.
    cmd.arg("--no-defaults")
        .arg("--protocol=TCP")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{user}"))
        .arg(format!("-p{pass}"))
        // Without it the client picks the charset from the locale (latin1 when LANG is unset).
        .arg("--default-character-set=utf8mb4")
        .args(format);
    if let Some(db) = db {
        cmd.arg(format!("-D{db}"));
    }
    cmd.arg("-e").arg(sql).kill_on_drop(true);
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {MARIADB_CLI} (install mariadb-client)"))?;
    let stdout = String::from_utf8(out.stdout).context("mariadb CLI output is not UTF-8")?;
    if !out.status.success() {
        bail!(
            "mariadb CLI failed ({}) for {sql:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            if stdout.is_empty() {
                String::new()
            } else {
                format!("\nstdout:\n{stdout}")
            }
        );
    }
    Ok(stdout)
}
