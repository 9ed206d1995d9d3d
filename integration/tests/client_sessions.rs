//! What a client's session keeps across statements, through real clients against dbtrail-shim:
//! every statement error of the contract (`seeds/troubleshooting.txt`, DESIGN.md's error table)
//! is an ERR packet and the *same* connection answers the next statement (`mariadb --force`, and
//! mysql_async in the text and binary protocol).
//!
//! Needs the binaries: `cargo build --workspace --bins` (or `integration/test.sh`).

use std::process::{Output, Stdio};

use anyhow::{bail, Context, Result};
use integration::cli::MARIADB_CLI;
use integration::history::{instant_after, wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::io::AsyncWriteExt;

const USER: (&str, &str) = ("app", "app");

/// Commit seconds of the history's steps.
struct History {
    /// `customers` rows 1 and 2 inserted; before the ALTER that added `phone` and `café`.
    inserted: i64,
}

/// `shop.customers` (utf8mb4) with a column added by ALTER, and `shop.tags` keyed by a latin1
/// string. Written before agent-core starts, so capture reads it from the first binlog.
async fn build_history(db: &MariaDb) -> Result<History> {
    let mut conn = db.admin_conn().await?;
    let mut clock = SyntheticClock::start(db).await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("CREATE DATABASE shop CHARACTER SET utf8mb4")
        .await?;
    clock.tick(&mut conn).await?;
    conn.query_drop(
        "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL) \
         CHARACTER SET utf8mb4",
    )
    .await?;
    let inserted = clock.tick(&mut conn).await?;
    conn.query_drop("INSERT INTO shop.customers VALUES (1, 'Zoë'), (2, 'Ωmega 😀')")
        .await?;
    clock.tick(&mut conn).await?;
    conn.query_drop(
        "ALTER TABLE shop.customers ADD COLUMN phone VARCHAR(16) NULL, \
         ADD COLUMN `café` VARCHAR(16) NULL",
    )
    .await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("UPDATE shop.customers SET phone = '555', `café` = 'crème' WHERE id = 1")
        .await?;
    clock.tick(&mut conn).await?;
    conn.query_drop(
        "CREATE TABLE shop.tags (name VARCHAR(16) CHARACTER SET latin1 PRIMARY KEY, \
         n INT NOT NULL)",
    )
    .await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("INSERT INTO shop.tags VALUES ('Zoë', 1), ('Bob', 2)")
        .await?;
    conn.disconnect().await?;
    clock.wait_until_past().await;
    Ok(History { inserted })
}

/// `'YYYY-MM-DD HH:MM:SS.500000'` (UTC, the shim's default zone): half a second after `second`.
fn at(second: i64) -> String {
    format!(
        "'{}'",
        agent_api::time::format_unix_micros(instant_after(second))
    )
}

struct Stack {
    // Drop order: shim, agent, then the server.
    shim: Shim,
    _agent: AgentCore,
    _db: MariaDb,
    history: History,
}

async fn start() -> Result<Stack> {
    let db = MariaDb::start().await?;
    let history = build_history(&db).await?;
    let agent = AgentCore::start(&db, &["shop"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let shim = Shim::start(
        &agent.url(),
        agent.token(),
        &[Tenant::new(USER.0, USER.1, 1)],
    )
    .await?;
    Ok(Stack {
        shim,
        _agent: agent,
        _db: db,
        history,
    })
}

/// Runs the `mariadb` CLI with the statements `sql` on stdin (raw bytes, so a latin1 statement
/// stays latin1) and `extra` options; `--force` keeps going after an error (it does so for
/// statements read from stdin, not for `-e`), `--batch` prints tab-separated rows.
async fn cli(port: u16, charset: &str, extra: &[&str], sql: &[u8]) -> Result<Output> {
    let mut child = tokio::process::Command::new(MARIADB_CLI)
        .arg("--no-defaults")
        .arg("--protocol=TCP")
        .arg("-h127.0.0.1")
        .arg(format!("-P{port}"))
        .arg(format!("-u{}", USER.0))
        .arg(format!("-p{}", USER.1))
        .arg(format!("--default-character-set={charset}"))
        .args(["--batch", "--force", "-Dshop"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("running {MARIADB_CLI} (install mariadb-client)"))?;
    let mut stdin = child.stdin.take().context("CLI stdin")?;
    stdin.write_all(sql).await?;
    drop(stdin);
    Ok(child.wait_with_output().await?)
}

// ---------------------------------------------------------------------------------------------
// Statement errors keep the connection
// ---------------------------------------------------------------------------------------------

/// One failing statement and the ERR it must produce.
struct Bad {
    sql: String,
    code: u16,
    state: &'static str,
    /// The start of the message.
    message: &'static str,
}

fn bad(sql: impl Into<String>, code: u16, state: &'static str, message: &'static str) -> Bad {
    Bad {
        sql: sql.into(),
        code,
        state,
        message,
    }
}

/// Every statement error of the contract the shim can be made to answer with a running agent.
fn contract_errors(h: &History) -> Vec<Bad> {
    let before_alter = at(h.inserted);
    vec![
        // The defect: a column added after the AS OF time, on `_flashback` (the connection was
        // closed) and `_snapshot` (1054, right).
        bad(
            format!("SELECT id, phone FROM _flashback.customers AS OF {before_alter} WHERE id = 1"),
            1054,
            "42S22",
            "Unknown column 'phone' in 'field list'",
        ),
        bad(
            format!("SELECT id, phone FROM _snapshot.customers AS OF {before_alter}"),
            1054,
            "42S22",
            "Unknown column 'phone' in 'field list'",
        ),
        bad(
            format!(
                "SELECT event_type, phone FROM _diff.customers BETWEEN {before_alter} AND 'now' \
                 WHERE id = 1"
            ),
            1054,
            "42S22",
            "Unknown column 'phone'",
        ),
        bad(
            "SELECT nosuch FROM _flashback.customers AS OF 'now' WHERE id = 1",
            1054,
            "42S22",
            "Unknown column 'nosuch'",
        ),
        bad(
            "SELECT * FROM _flashback.customers AS OF 'now' WHERE name = 'x'",
            1064,
            "HY000",
            "dbtrail-shim: time-travel queries require a PK predicate",
        ),
        bad(
            "SELECT * FROM _flashback.nosuch AS OF 'now' WHERE id = 1",
            1146,
            "42S02",
            "Table 'shop.nosuch' doesn't exist",
        ),
        bad(
            "SELECT * FROM _flashback.customers AS OF '2000-01-01' WHERE id = 1",
            1526,
            "HY000",
            "2000-01-01 00:00:00.000000 is before the start of captured history",
        ),
        bad(
            "SELECT * FROM _diff.customers BETWEEN '2000-01-01' AND 'now' WHERE id = 1",
            1064,
            "HY000",
            "dbtrail-shim: _diff window exceeds limit",
        ),
        bad(
            "SELECT * FROM _diff.customers BETWEEN 'now' AND '1 minutes ago' WHERE id = 1",
            1064,
            "HY000",
            "dbtrail backend rejected request (HTTP 400)",
        ),
        bad(
            "SELECT * FROM _flashback.customers AS OF 'now' c JOIN shop.customers r \
             ON c.id = r.id WHERE c.id = 1",
            1064,
            "HY000",
            "dbtrail-shim: cannot join virtual schema _flashback with a real table",
        ),
        bad(
            "SELECT * FROM _flashback.customers AS OF 'now' WHERE id = 1 OR name = 'x'",
            1235,
            "42000",
            "dbtrail-shim: this statement is not supported",
        ),
        bad(
            "SELECT * FROM _flashback.customers WHERE id = 1",
            1064,
            "HY000",
            "dbtrail-shim: AS OF '<time>' is required for customers",
        ),
        bad(
            "SELECT * FROM _flashback.customers AS OF 'yesterday at noon' WHERE id = 1",
            1064,
            "HY000",
            "dbtrail-shim: invalid time literal",
        ),
        bad(
            "SELEC 1",
            1064,
            "42000",
            "You have an error in your SQL syntax",
        ),
        bad(
            "SET no_such_variable = 1",
            1193,
            "HY000",
            "Unknown system variable 'no_such_variable'",
        ),
        bad(
            "SELECT @@no_such_variable",
            1193,
            "HY000",
            "Unknown system variable 'no_such_variable'",
        ),
        bad(
            "SET wait_timeout = 'soon'",
            1232,
            "42000",
            "Incorrect argument type to variable 'wait_timeout'",
        ),
        bad(
            "SET time_zone = 'Mars/Olympus_Mons'",
            1298,
            "HY000",
            "Unknown or incorrect time zone",
        ),
        bad(
            "SHOW ENGINE INNODB STATUS",
            1235,
            "42000",
            "dbtrail-shim: this statement is not supported",
        ),
    ]
}

/// Every contract error through `mariadb --force` with `SELECT CONNECTION_ID(); <bad>; SELECT
/// CONNECTION_ID(), 1` on stdin: exactly the expected ERR on stderr, then the same connection id and `1`
/// (a dropped connection shows as ERROR 2013/2006, or a new id after a reconnect); and through
/// mysql_async on one connection, text and binary protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_error_keeps_the_connection() -> Result<()> {
    let stack = start().await?;
    let port = stack.shim.port();
    let cases = contract_errors(&stack.history);
    let mut failures = Vec::new();
    for case in &cases {
        let sql = format!(
            "SELECT CONNECTION_ID() AS c;\n{};\nSELECT CONNECTION_ID() AS c, 1 AS one;\n",
            case.sql
        );
        let out = cli(port, "utf8mb4", &[], sql.as_bytes()).await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ERROR")).collect();
        let expected = format!(
            "ERROR {} ({}) at line 2: {}",
            case.code, case.state, case.message
        );
        let lines: Vec<&str> = stdout.lines().collect();
        let same_connection = matches!(
            lines.as_slice(),
            ["c", id, "c\tone", again] if *again == format!("{id}\t1")
        );
        if errors.len() != 1
            || !errors[0].starts_with(&expected)
            || !same_connection
            // With --force the CLI's exit status is that of the last statement.
            || !out.status.success()
        {
            failures.push(format!(
                "CLI {:?}: want {expected:?} then the same connection; exit {:?}\nstdout:\n{stdout}stderr:\n{stderr}",
                case.sql, out.status
            ));
        }
    }

    let mut conn = Conn::new(stack.shim.mysql_opts(USER.0, USER.1, Some("shop"))).await?;
    let id: u32 = conn
        .query_first("SELECT CONNECTION_ID()")
        .await?
        .context("CONNECTION_ID()")?;
    for case in &cases {
        let text = conn.query_drop(case.sql.as_str()).await;
        failures.extend(server_error(&text, case, "mysql_async text"));
        if case.sql.starts_with("SELECT") {
            let binary = conn.exec_drop(case.sql.as_str(), ()).await;
            failures.extend(server_error(&binary, case, "mysql_async binary"));
        }
        let after: Option<(u32, i64)> = conn.query_first("SELECT CONNECTION_ID(), 1").await?;
        if after != Some((id, 1)) {
            failures.push(format!(
                "mysql_async after {:?}: got {after:?}, want the same connection",
                case.sql
            ));
        }
    }
    conn.disconnect().await?;
    if !failures.is_empty() {
        bail!(
            "{} of {} checks failed (shim log tail:\n{})\n\n{}",
            failures.len(),
            cases.len() * 3,
            stack.shim.log_tail(20),
            failures.join("\n\n")
        );
    }
    Ok(())
}

/// `None` when `result` is the ERR `case` expects.
fn server_error(result: &mysql_async::Result<()>, case: &Bad, client: &str) -> Option<String> {
    match result {
        Err(mysql_async::Error::Server(e))
            if e.code == case.code
                && e.state == case.state
                && e.message.starts_with(case.message) =>
        {
            None
        }
        other => Some(format!(
            "{client} {:?}: want ERROR {} ({}) {}, got {other:?}",
            case.sql, case.code, case.state, case.message
        )),
    }
}
