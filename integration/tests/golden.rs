//! Golden tests of the time-travel SQL surface: every case in `integration/cases/*.sql` runs
//! through real MySQL clients against dbtrail-shim, and each client's answer, rendered in one text
//! format, must equal the case's `.result` file. The format, the placeholders and the per-client
//! normalisations are documented in `integration/README.md` ("Golden cases").
//!
//! Clients: mysql_async (text protocol, and binary protocol for `SELECT`s), the `mariadb` CLI
//! (`--batch -vv --force`), PyMySQL, SQLAlchemy, MariaDB Connector/J (plus
//! `DatabaseMetaData` and a server-side `PreparedStatement`) and Node `mysql2` (`query()` and
//! `execute()`). A client whose runtime is missing fails the test with what to install.
//!
//! `DBTRAIL_GOLDEN_BLESS=1` rewrites the `.result` files from mysql_async's text-protocol answers
//! (and the Connector/J metadata file from Java); review the diff before keeping it.
//! `DBTRAIL_GOLDEN_CLIENTS=cli,mysql2-query` and `DBTRAIL_GOLDEN_CASES=diff,show` limit the run
//! to some clients and cases.
//!
//! Needs the binaries: `cargo build --workspace --bins` (or `integration/test.sh`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, ensure, Context, Result};
use integration::history::{wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};
use serde_json::{json, Value as Json};
use tokio::io::AsyncWriteExt;

/// Login used by every client (a shim tenant reading source `server_id` 1).
const USER: (&str, &str) = ("app", "app");
/// Default database of every client connection, so bare `FROM orders` resolves.
const DATABASE: &str = "shop";
/// The Connector/J jar of Debian's `libmariadb-java`.
const CONNECTOR_J: &str = "/usr/share/java/mariadb-java-client.jar";

// ---------------------------------------------------------------------------------------------
// The fixed history
// ---------------------------------------------------------------------------------------------

/// Statements of each transaction `T1`, `T2`, ...: each commits at its own synthetic second.
const HISTORY: &[&[&str]] = &[
    // T1
    &[
        "INSERT INTO shop.orders VALUES \
         (1, 'alice', 10.00, '2024-01-05 10:00:00.250000', 'new', NULL), \
         (2, 'bob', 20.50, '2024-01-06 11:30:00', 'new', 'gift'), \
         (3, 'carol', 5.00, NULL, 'new', NULL), \
         (4, 'dave', NULL, '2024-02-01 00:00:00', 'new', ''), \
         (5, 'erin', 99.99, '2024-02-02 09:15:00.000001', 'new', NULL)",
        "INSERT INTO shop.order_lines VALUES \
         (1, 1, 'A-1', 1), (1, 2, 'B-2', 2), (2, 1, 'A-1', 3), (3, 1, 'C-3', 1)",
    ],
    // T2
    &[
        "UPDATE shop.orders SET status = 'paid', amount = 12.00 WHERE id = 1",
        "UPDATE shop.orders SET status = 'paid' WHERE id = 2",
        "UPDATE shop.legacy SET v = v + 1 WHERE id = 1",
    ],
    // T3
    &[
        "DELETE FROM shop.orders WHERE id = 3",
        "DELETE FROM shop.order_lines WHERE order_id = 3",
        "UPDATE shop.order_lines SET qty = 5 WHERE order_id = 1 AND line_no = 2",
    ],
    // T4
    &[
        "INSERT INTO shop.orders VALUES (6, 'frank', 7.25, '2024-03-01 08:00:00', 'new', NULL)",
        "UPDATE shop.orders SET note = 'call first' WHERE id = 1",
    ],
    // T5
    &[
        "UPDATE shop.orders SET status = 'shipped' WHERE id IN (1, 2)",
        "UPDATE shop.orders SET customer = 'bobby' WHERE id = 2",
    ],
];

/// Written before the binlog is rotated and the first file purged: agent-core never sees the
/// CREATE of `shop.legacy`, so `_snapshot.legacy` needs a baseline (1526); `shop.dormant` is
/// never written again, so capture never sees it at all.
const BEFORE_ROTATION: &[&str] = &[
    "CREATE DATABASE shop",
    "CREATE TABLE shop.legacy (id INT PRIMARY KEY, v INT NOT NULL)",
    "INSERT INTO shop.legacy VALUES (1, 10), (2, 20)",
    "CREATE TABLE shop.dormant (id INT PRIMARY KEY, v INT NOT NULL)",
    "INSERT INTO shop.dormant VALUES (1, 1)",
];

const TABLES: &[&str] = &[
    "CREATE TABLE shop.orders (
        id INT PRIMARY KEY,
        customer VARCHAR(32) NOT NULL,
        amount DECIMAL(10,2),
        placed_at DATETIME(6),
        status ENUM('new','paid','shipped','cancelled') NOT NULL,
        note VARCHAR(64) NULL,
        KEY by_customer (customer)
    )",
    "CREATE TABLE shop.order_lines (
        order_id INT NOT NULL,
        line_no SMALLINT NOT NULL,
        sku VARCHAR(16) NOT NULL,
        qty INT NOT NULL,
        PRIMARY KEY (order_id, line_no)
    )",
];

/// Commit seconds (Unix) of `T1`, `T2`, ... in order.
#[derive(Debug, Clone)]
struct Times {
    commits: Vec<i64>,
}

/// Writes the history on `db`: the rotated-away `legacy` table, then the tables and `HISTORY`,
/// one synthetic commit second per transaction.
async fn build_history(db: &MariaDb) -> Result<Times> {
    let mut conn = db.admin_conn().await?;
    for sql in BEFORE_ROTATION {
        conn.query_drop(*sql)
            .await
            .with_context(|| sql.to_string())?;
    }
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
    let last = logs.last().context("SHOW BINARY LOGS is empty")?.0.clone();
    // MariaDB keeps a binlog until InnoDB's binlog checkpoint has passed it (PURGE then skips it
    // with a warning): retry until only the new file is left.
    let mut attempts = 0;
    loop {
        conn.query_drop(format!("PURGE BINARY LOGS TO '{last}'"))
            .await?;
        let left: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
        if left.len() == 1 {
            break;
        }
        attempts += 1;
        ensure!(attempts < 50, "PURGE BINARY LOGS TO '{last}' left {left:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut clock = SyntheticClock::start(db).await?;
    for sql in TABLES {
        clock.tick(&mut conn).await?;
        conn.query_drop(*sql)
            .await
            .with_context(|| sql.to_string())?;
    }
    let mut commits = Vec::new();
    for txn in HISTORY {
        commits.push(clock.tick(&mut conn).await?);
        conn.query_drop("BEGIN").await?;
        for sql in *txn {
            conn.query_drop(*sql)
                .await
                .with_context(|| sql.to_string())?;
        }
        conn.query_drop("COMMIT").await?;
    }
    conn.disconnect().await?;
    clock.wait_until_past().await;
    Ok(Times { commits })
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// One statement of a case.
#[derive(Debug, Clone)]
struct Statement {
    /// As written in the case file (joined to one line, no trailing `;`): the echo line.
    written: String,
    /// Placeholders expanded, `?` kept: what the binary protocol prepares.
    sql: String,
    /// Placeholders expanded, `?` replaced by SQL literals of `params`: what text clients send.
    text_sql: String,
    /// `?` arguments (from a `-- params:` line), placeholders expanded.
    params: Vec<Json>,
    /// Binary-protocol clients prepare it (a `SELECT` without `-- text-only`).
    prepare: bool,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    statements: Vec<Statement>,
    expected_path: PathBuf,
}

fn integration_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads every `cases/*.sql`, sorted by name.
fn load_cases(times: &Times) -> Result<Vec<Case>> {
    let dir = integration_dir().join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("case file name")?
            .to_owned();
        let text = std::fs::read_to_string(&path)?;
        let statements =
            parse_case(&text, times).with_context(|| format!("parsing {}", path.display()))?;
        ensure!(
            !statements.is_empty(),
            "{} has no statement",
            path.display()
        );
        cases.push(Case {
            expected_path: path.with_extension("result"),
            name,
            statements,
        });
    }
    Ok(cases)
}

/// Parses a case file: statements end with `;` at the end of a line; `--` lines are comments,
/// except the directives `-- text-only` and `-- params: <JSON array>` for the next statement.
fn parse_case(text: &str, times: &Times) -> Result<Vec<Statement>> {
    let mut out = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    let mut text_only = false;
    let mut params: Vec<Json> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if pending.is_empty() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("--") {
                let rest = rest.trim();
                if rest == "text-only" {
                    text_only = true;
                } else if let Some(list) = rest.strip_prefix("params:") {
                    params = serde_json::from_str(list.trim()).context("-- params: list")?;
                }
                continue;
            }
        }
        pending.push(line);
        if let Some(last) = line.strip_suffix(';') {
            let _ = last;
            let written = pending.join(" ");
            let written = written.trim_end_matches(';').trim().to_owned();
            pending.clear();
            let sql = expand(&written, times)?;
            let params: Vec<Json> = std::mem::take(&mut params)
                .into_iter()
                .map(|p| match p {
                    Json::String(s) => expand(&s, times).map(Json::String),
                    other => Ok(other),
                })
                .collect::<Result<_>>()?;
            let text_sql = bind_literals(&sql, &params)?;
            let prepare = !text_only && first_keyword(&sql).eq_ignore_ascii_case("select");
            text_only = false;
            out.push(Statement {
                written,
                sql,
                text_sql,
                params,
                prepare,
            });
        }
    }
    ensure!(pending.is_empty(), "statement without a final `;`");
    Ok(out)
}

/// The first word after leading `/* ... */` comments.
fn first_keyword(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    while let Some(after) = rest.strip_prefix("/*") {
        match after.find("*/") {
            Some(end) => rest = after[end + 2..].trim_start(),
            None => return "",
        }
    }
    rest.split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
}

/// Replaces each `?` outside quotes and `/* */` comments with the SQL literal of the next
/// parameter (a `?` in a comment or string is not a placeholder for the server either).
fn bind_literals(sql: &str, params: &[Json]) -> Result<String> {
    let mut out = String::new();
    let mut next = params.iter();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            _ if comment => comment = !(c == '*' && chars.peek() == Some(&'/')),
            (None, '/') if chars.peek() == Some(&'*') => comment = true,
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '?') => {
                let p = next.next().context("more `?` than params")?;
                match p {
                    Json::Null => out.push_str("NULL"),
                    Json::Number(n) => out.push_str(&n.to_string()),
                    Json::String(s) => write!(out, "'{}'", s.replace('\'', "''"))?,
                    other => bail!("unsupported param {other}"),
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    ensure!(next.next().is_none(), "more params than `?`");
    Ok(out)
}

/// `YYYY-MM-DD HH:MM:SS` of Unix second `secs` shifted by `offset_secs` (wall time there).
fn wall(secs: i64, offset_secs: i64) -> String {
    let text = agent_api::time::format_unix_micros((secs + offset_secs) * 1_000_000);
    text[..19].to_owned()
}

/// Expands `@Tn@` (UTC wall time of commit n), `@Tn±HH:MM@` (wall time at that offset),
/// `@ISO Tn±HH:MM@` (RFC 3339 with the offset) and `@DATE@` (UTC date of `T1`).
fn expand(text: &str, times: &Times) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('@') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('@') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let token = &after[..end];
        match expand_token(token, times)? {
            Some(value) => {
                out.push_str(&value);
                rest = &after[end + 1..];
            }
            None => {
                // Not a placeholder (e.g. `@dbtrail_as_of`): keep the `@` and go on after it.
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_token(token: &str, times: &Times) -> Result<Option<String>> {
    if token == "DATE" {
        return Ok(Some(wall(times.commits[0], 0)[..10].to_owned()));
    }
    let (iso, body) = match token.strip_prefix("ISO ") {
        Some(b) => (true, b),
        None => (false, token),
    };
    let Some(body) = body.strip_prefix('T') else {
        return Ok(None);
    };
    let digits_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    if digits_end == 0 {
        return Ok(None);
    }
    let n: usize = body[..digits_end].parse()?;
    let secs = *times
        .commits
        .get(n.wrapping_sub(1))
        .with_context(|| format!("@T{n}@: the history has {} commits", times.commits.len()))?;
    let offset_text = &body[digits_end..];
    let offset = if offset_text.is_empty() {
        0
    } else {
        parse_offset(offset_text).with_context(|| format!("bad offset in @{token}@"))?
    };
    let wall_time = wall(secs, offset);
    Ok(Some(if iso {
        let suffix = if offset_text.is_empty() {
            "Z"
        } else {
            offset_text
        };
        format!("{}T{}{suffix}", &wall_time[..10], &wall_time[11..])
    } else {
        wall_time
    }))
}

fn parse_offset(text: &str) -> Option<i64> {
    let (sign, body) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = body.split_once(':')?;
    Some(sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60))
}

// ---------------------------------------------------------------------------------------------
// Results and rendering
// ---------------------------------------------------------------------------------------------

/// One statement's answer as a client saw it; cells are the client's text, `None` = SQL NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    Ok,
    Error {
        code: u16,
        state: String,
        message: String,
    },
}

impl Answer {
    /// From the JSON the client programs print: `{"kind": "rows", "columns": [...], "rows":
    /// [[...]]}`, `{"kind": "ok"}` or `{"kind": "error", "code": n, "state": "...", "message":
    /// "..."}`.
    fn from_json(v: &Json) -> Result<Self> {
        let kind = v["kind"].as_str().context("answer without kind")?;
        Ok(match kind {
            "ok" => Self::Ok,
            "error" => Self::Error {
                code: u16::try_from(v["code"].as_u64().context("error code")?)?,
                state: v["state"].as_str().unwrap_or("").to_owned(),
                message: v["message"].as_str().unwrap_or("").to_owned(),
            },
            "rows" => Self::Rows {
                columns: v["columns"]
                    .as_array()
                    .context("columns")?
                    .iter()
                    .map(|c| c.as_str().unwrap_or("").to_owned())
                    .collect(),
                rows: v["rows"]
                    .as_array()
                    .context("rows")?
                    .iter()
                    .map(|r| {
                        r.as_array()
                            .map(|cells| {
                                cells
                                    .iter()
                                    .map(|c| c.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .context("row is not an array")
                    })
                    .collect::<Result<_>>()?,
            },
            other => bail!("unknown answer kind {other}"),
        })
    }
}

/// Date-times in one spelling for every client: `YYYY-MM-DD HH:MM:SS`, then `.ffffff` (6 digits)
/// only when the fraction is not zero. Connector/J prints `…:00.0`, PyMySQL drops a zero fraction,
/// the text protocol sends the column's declared digits: all mean the same instant.
fn canonical_cell(cell: &str) -> String {
    let b = cell.as_bytes();
    let is_datetime = b.len() >= 19
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ' || *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 19
            || (b[19] == b'.' && b.len() > 20 && b[20..].iter().all(u8::is_ascii_digit)));
    if !is_datetime || b.len() > 26 {
        return cell.to_owned();
    }
    let mut out = format!("{} {}", &cell[..10], &cell[11..19]);
    if b.len() > 20 {
        let frac = format!("{:0<6}", &cell[20..]);
        if frac != "000000" {
            out.push('.');
            out.push_str(&frac);
        }
    }
    out
}

fn escape_cell(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

/// The text a case's answers render to (see the README for the format).
fn render(statements: &[Statement], answers: &[Answer], times: &Times) -> String {
    let mut out = String::new();
    for (stmt, answer) in statements.iter().zip(answers) {
        let _ = writeln!(out, "> {}", stmt.written);
        let mut body = String::new();
        match answer {
            Answer::Ok => body.push_str("OK\n"),
            Answer::Error {
                code,
                state,
                message,
            } => {
                let _ = writeln!(body, "ERROR {code} ({state}): {message}");
            }
            Answer::Rows { columns, rows } => {
                body.push_str(&columns.join("\t"));
                body.push('\n');
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|c| {
                            c.as_deref()
                                .map_or("NULL".to_owned(), |c| escape_cell(&canonical_cell(c)))
                        })
                        .collect();
                    body.push_str(&cells.join("\t"));
                    body.push('\n');
                }
                let _ = writeln!(
                    body,
                    "({} row{})",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                );
            }
        }
        out.push_str(&unexpand(&body, times));
        out.push('\n');
    }
    out
}

/// Puts placeholders back into answers: each commit's UTC `YYYY-MM-DD HH:MM:SS` becomes `@Tn@`,
/// and the history start in agent-core's "before the start of captured history (<t> UTC)"
/// becomes `@START@` (it is the moment the private server rotated its binlog).
fn unexpand(text: &str, times: &Times) -> String {
    let mut out = text.to_owned();
    for (i, secs) in times.commits.iter().enumerate().rev() {
        out = out.replace(&wall(*secs, 0), &format!("@T{}@", i + 1));
    }
    const START: &str = "before the start of captured history (";
    if let Some(at) = out.find(START) {
        let from = at + START.len();
        if let Some(len) = out[from..].find(" UTC)") {
            out.replace_range(from..from + len, "@START@");
        }
    }
    out
}

/// For the CLI: a zero-row result prints "Empty set" without column names, so the header line
/// of `(0 rows)` results is dropped from both sides.
fn drop_empty_headers(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let next_is_empty_count = lines.get(i + 1) == Some(&"(0 rows)");
        if next_is_empty_count && !line.starts_with("> ") {
            continue;
        }
        keep.push(*line);
    }
    let mut out = keep.join("\n");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    MysqlAsyncText,
    MysqlAsyncBinary,
    Cli,
    PyMySql,
    SqlAlchemy,
    ConnectorJ,
    Mysql2Text,
    Mysql2Execute,
}

const CLIENTS: [Client; 8] = [
    Client::MysqlAsyncText,
    Client::MysqlAsyncBinary,
    Client::Cli,
    Client::PyMySql,
    Client::SqlAlchemy,
    Client::ConnectorJ,
    Client::Mysql2Text,
    Client::Mysql2Execute,
];

impl Client {
    fn name(self) -> &'static str {
        match self {
            Self::MysqlAsyncText => "mysql_async-text",
            Self::MysqlAsyncBinary => "mysql_async-binary",
            Self::Cli => "cli",
            Self::PyMySql => "pymysql",
            Self::SqlAlchemy => "sqlalchemy",
            Self::ConnectorJ => "connector-j",
            Self::Mysql2Text => "mysql2-query",
            Self::Mysql2Execute => "mysql2-execute",
        }
    }
}

/// What one client run produced: per case its answers, plus extra checks (Connector/J metadata).
struct Run {
    cases: Vec<Vec<Answer>>,
    extras: Option<(Vec<Statement>, Vec<Answer>)>,
}

async fn run_client(client: Client, shim: &Shim, cases: &[Case], times: &Times) -> Result<Run> {
    match client {
        Client::MysqlAsyncText => run_mysql_async(shim, cases, false).await,
        Client::MysqlAsyncBinary => run_mysql_async(shim, cases, true).await,
        Client::Cli => run_cli(shim, cases).await,
        Client::PyMySql => run_json_client(python_cmd("pymysql")?, shim, cases).await,
        Client::SqlAlchemy => run_json_client(python_cmd("sqlalchemy")?, shim, cases).await,
        Client::ConnectorJ => run_java(shim, cases, times).await,
        Client::Mysql2Text => run_json_client(node_cmd("query")?, shim, cases).await,
        Client::Mysql2Execute => run_json_client(node_cmd("execute")?, shim, cases).await,
    }
}

async fn run_mysql_async(shim: &Shim, cases: &[Case], binary: bool) -> Result<Run> {
    let mut out = Vec::new();
    for case in cases {
        let mut conn = Conn::new(shim.mysql_opts(USER.0, USER.1, Some(DATABASE)))
            .await
            .context("mysql_async connect")?;
        let mut answers = Vec::new();
        for stmt in &case.statements {
            let answer = if binary && stmt.prepare {
                let params: Vec<Value> = stmt.params.iter().map(json_to_value).collect();
                let params = if params.is_empty() {
                    Params::Empty
                } else {
                    Params::Positional(params)
                };
                mysql_async_answer(conn.exec_iter(stmt.sql.as_str(), params).await).await
            } else {
                mysql_async_answer(conn.query_iter(stmt.text_sql.as_str()).await).await
            };
            answers.push(answer?);
        }
        conn.disconnect().await?;
        out.push(answers);
    }
    Ok(Run {
        cases: out,
        extras: None,
    })
}

fn json_to_value(p: &Json) -> Value {
    match p {
        Json::Null => Value::NULL,
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Bytes(n.to_string().into()), Value::Int),
        Json::String(s) => Value::Bytes(s.clone().into_bytes()),
        other => Value::Bytes(other.to_string().into_bytes()),
    }
}

async fn mysql_async_answer<P: mysql_async::prelude::Protocol>(
    result: mysql_async::Result<mysql_async::QueryResult<'_, 'static, P>>,
) -> Result<Answer> {
    let mut result = match result {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let columns = result.columns();
    let Some(columns) = columns.filter(|c| !c.is_empty()) else {
        return match result.drop_result().await {
            Ok(()) => Ok(Answer::Ok),
            Err(e) => server_error(e),
        };
    };
    let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
    let types: Vec<ColumnType> = columns.iter().map(|c| c.column_type()).collect();
    let rows: Vec<mysql_async::Row> = match result.collect().await {
        Ok(rows) => rows,
        Err(e) => return server_error(e),
    };
    let rows = rows
        .into_iter()
        .map(|row| {
            row.unwrap()
                .into_iter()
                .zip(&types)
                .map(|(v, t)| value_text(v, *t))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<_>>()?;
    Ok(Answer::Rows {
        columns: names,
        rows,
    })
}

fn server_error(e: mysql_async::Error) -> Result<Answer> {
    match e {
        mysql_async::Error::Server(s) => Ok(Answer::Error {
            code: s.code,
            state: s.state,
            message: s.message,
        }),
        other => Err(other).context("client error (not an ERR packet)"),
    }
}

/// A mysql_async cell as text: text-protocol bytes as they came, binary values in MySQL's text
/// spelling (dates by column type, times as `[-]HH:MM:SS[.ffffff]`).
fn value_text(v: Value, t: ColumnType) -> Result<Option<String>> {
    Ok(Some(match v {
        Value::NULL => return Ok(None),
        Value::Bytes(b) => String::from_utf8(b).context("cell is not UTF-8")?,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            if t == ColumnType::MYSQL_TYPE_DATE {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = u32::from(h) + days * 24;
            let sign = if neg { "-" } else { "" };
            if us == 0 {
                format!("{sign}{hours:02}:{mi:02}:{s:02}")
            } else {
                format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
            }
        }
    }))
}

/// The `mariadb` CLI: one process per case, statements on stdin one per line, `--force` so an
/// error does not stop the case, `-vv` so stdout echoes each statement before its answer; errors
/// go to stderr as `ERROR <code> (<state>) at line <n>: <message>`.
async fn run_cli(shim: &Shim, cases: &[Case]) -> Result<Run> {
    let mut out = Vec::new();
    for case in cases {
        let mut input = String::new();
        for stmt in &case.statements {
            ensure!(!stmt.text_sql.contains('\n'), "multi-line statement");
            input.push_str(&stmt.text_sql);
            input.push_str(";\n");
        }
        let mut cmd = tokio::process::Command::new(integration::cli::MARIADB_CLI);
        cmd.arg("--no-defaults")
            .arg("--protocol=TCP")
            .arg("-h127.0.0.1")
            .arg(format!("-P{}", shim.port()))
            .arg(format!("-u{}", USER.0))
            .arg(format!("-p{}", USER.1))
            .arg("--default-character-set=utf8mb4")
            // Not --raw: batch mode escapes tab, newline and backslash in cells, so a multi-line
            // cell (SHOW CREATE TABLE) stays on one line; `unescape_cli` reverses it.
            .args(["--batch", "--force", "-vv", "--comments"])
            .arg(format!("-D{DATABASE}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .context("running /usr/bin/mariadb (install mariadb-client)")?;
        let mut stdin = child.stdin.take().context("stdin")?;
        stdin.write_all(input.as_bytes()).await?;
        drop(stdin);
        let output = child.wait_with_output().await?;
        let stdout = String::from_utf8(output.stdout).context("CLI stdout not UTF-8")?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        out.push(
            parse_cli(&stdout, &stderr, &case.statements).with_context(|| {
                format!(
                    "case {}: CLI stdout:\n{stdout}\nstderr:\n{stderr}",
                    case.name
                )
            })?,
        );
    }
    Ok(Run {
        cases: out,
        extras: None,
    })
}

/// Splits `mariadb --batch -vv` output into one answer per statement (statement i on line i+1).
/// `USE <db>` is a command of the client itself (COM_INIT_DB): it is not echoed, so it answers
/// OK unless stderr has an error for its line.
fn parse_cli(stdout: &str, stderr: &str, statements: &[Statement]) -> Result<Vec<Answer>> {
    let count = statements
        .iter()
        .filter(|s| !first_keyword(&s.text_sql).eq_ignore_ascii_case("use"))
        .count();
    const RULE: &str = "--------------";
    let mut errors = std::collections::HashMap::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("ERROR ") else {
            continue;
        };
        let (code, rest) = rest.split_once(' ').context("CLI error line")?;
        let (state, rest) = match rest.strip_prefix('(') {
            Some(r) => {
                let (s, r) = r.split_once(") ").context("CLI error state")?;
                (s.to_owned(), r)
            }
            None => (String::new(), rest),
        };
        let rest = rest
            .strip_prefix("at line ")
            .context("CLI error without line")?;
        let (line_no, message) = rest.split_once(": ").context("CLI error message")?;
        errors.insert(
            line_no.parse::<usize>()?,
            Answer::Error {
                code: code.parse()?,
                state,
                message: message.to_owned(),
            },
        );
    }
    // Bodies: the lines between "RULE / sql / RULE / (blank)" and the next RULE or "Bye".
    let lines: Vec<&str> = stdout.lines().collect();
    let mut bodies: Vec<Vec<&str>> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == RULE {
            // statement echo until the closing rule
            let mut j = i + 1;
            while j < lines.len() && lines[j] != RULE {
                j += 1;
            }
            let mut k = j + 1;
            if lines.get(k) == Some(&"") {
                k += 1;
            }
            let mut body = Vec::new();
            while k < lines.len() && lines[k] != RULE && lines[k] != "Bye" {
                body.push(lines[k]);
                k += 1;
            }
            while body.last() == Some(&"") {
                body.pop();
            }
            bodies.push(body);
            i = k;
        } else {
            i += 1;
        }
    }
    ensure!(
        bodies.len() == count,
        "CLI echoed {} statements, the case has {count}",
        bodies.len()
    );
    let mut answers = Vec::new();
    let mut bodies = bodies.into_iter();
    for (n, stmt) in statements.iter().enumerate() {
        if let Some(err) = errors.remove(&(n + 1)) {
            if !first_keyword(&stmt.text_sql).eq_ignore_ascii_case("use") {
                bodies.next();
            }
            answers.push(err);
            continue;
        }
        if first_keyword(&stmt.text_sql).eq_ignore_ascii_case("use") {
            answers.push(Answer::Ok);
            continue;
        }
        let body = bodies.next().context("fewer CLI answers than statements")?;
        let answer = match body.as_slice() {
            [] => Answer::Ok,
            [only] if only.starts_with("Query OK") || only.starts_with("Database changed") => {
                Answer::Ok
            }
            [only] if only.starts_with("Empty set") => Answer::Rows {
                columns: Vec::new(),
                rows: Vec::new(),
            },
            [header, rows @ .., count_line] if count_line.contains(" in set") => Answer::Rows {
                columns: header.split('\t').map(str::to_owned).collect(),
                rows: rows
                    .iter()
                    .map(|r| {
                        r.split('\t')
                            .map(|c| (c != "NULL").then(|| unescape_cli(c)))
                            .collect()
                    })
                    .collect(),
            },
            other => bail!("statement {}: unrecognised CLI answer {other:?}", n + 1),
        };
        answers.push(answer);
    }
    ensure!(
        errors.is_empty(),
        "CLI errors for lines without a statement: {errors:?}"
    );
    Ok(answers)
}

/// Undoes `mariadb --batch` cell escaping: `\\t`, `\\n`, `\\0`, `\\\\`.
fn unescape_cli(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The JSON every external client program reads: connection and cases.
fn client_input(shim: &Shim, cases: &[Case]) -> Json {
    json!({
        "host": "127.0.0.1",
        "port": shim.port(),
        "user": USER.0,
        "password": USER.1,
        "database": DATABASE,
        "cases": cases.iter().map(|c| json!({
            "name": c.name,
            "statements": c.statements.iter().map(|s| json!({
                "sql": s.sql,
                "text_sql": s.text_sql,
                "params": s.params,
                "prepare": s.prepare,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn python_cmd(mode: &str) -> Result<tokio::process::Command> {
    let python = which("python3").context(
        "python3 not found: install Python 3 and `pip install PyMySQL SQLAlchemy` \
         (integration/test.sh does the pip part)",
    )?;
    let check = std::process::Command::new(&python)
        .args(["-c", "import pymysql, sqlalchemy"])
        .output()?;
    if !check.status.success() {
        bail!(
            "PyMySQL/SQLAlchemy missing for {}: run `pip install PyMySQL SQLAlchemy` \
             (integration/test.sh does): {}",
            python.display(),
            String::from_utf8_lossy(&check.stderr).trim()
        );
    }
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(integration_dir().join("clients/python/golden.py"))
        .arg(mode);
    Ok(cmd)
}

fn node_cmd(mode: &str) -> Result<tokio::process::Command> {
    let node =
        which("node").context("node not found: install Node.js (apt-get install nodejs npm)")?;
    let dir = integration_dir().join("clients/node");
    if !dir.join("node_modules/mysql2").is_dir() {
        bail!(
            "mysql2 is not installed: run `npm ci` in {} (integration/test.sh does)",
            dir.display()
        );
    }
    let mut cmd = tokio::process::Command::new(node);
    cmd.arg(dir.join("golden.js")).arg(mode);
    Ok(cmd)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// Runs a client program with the input JSON on stdin; parses `{"cases": [[answer, ...], ...],
/// "extras": [answer, ...]}` from its stdout.
async fn run_json_client(
    mut cmd: tokio::process::Command,
    shim: &Shim,
    cases: &[Case],
) -> Result<Run> {
    let input = client_input(shim, cases).to_string();
    let json = run_program(&mut cmd, &input).await?;
    let answers = parse_run(&json, cases)?;
    Ok(Run {
        cases: answers,
        extras: None,
    })
}

async fn run_program(cmd: &mut tokio::process::Command, input: &str) -> Result<Json> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(input.as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("{cmd:?} failed ({}): {stderr}", output.status);
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{cmd:?} printed no JSON: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn parse_run(json: &Json, cases: &[Case]) -> Result<Vec<Vec<Answer>>> {
    let got = json["cases"]
        .as_array()
        .context("no cases in client output")?;
    ensure!(
        got.len() == cases.len(),
        "client answered {} cases of {}",
        got.len(),
        cases.len()
    );
    got.iter()
        .zip(cases)
        .map(|(answers, case)| {
            let answers = answers.as_array().context("case answers")?;
            ensure!(
                answers.len() == case.statements.len(),
                "case {}: {} answers for {} statements",
                case.name,
                answers.len(),
                case.statements.len()
            );
            answers.iter().map(Answer::from_json).collect()
        })
        .collect()
}

/// Statements the Java program runs after the cases (their answers are its extras): metadata
/// calls on the virtual schema `_flashback` (the shim's information_schema lists the captured
/// tables there; `getPrimaryKeys` joins `information_schema.COLUMNS` with `STATISTICS`) and one
/// server-side `PreparedStatement` with `?` for the time and the key.
fn java_extras(times: &Times) -> Result<Vec<Statement>> {
    let lines = [
        "getTables(_flashback, null, %, null)".to_owned(),
        "getColumns(_flashback, null, orders, %)".to_owned(),
        "getPrimaryKeys(_flashback, null, order_lines)".to_owned(),
        "prepareStatement(SELECT id, customer, status FROM _flashback.orders AS OF ? WHERE id = ?) with ['@T2@', 1]".to_owned(),
    ];
    lines
        .into_iter()
        .map(|written| {
            Ok(Statement {
                sql: expand(&written, times)?,
                text_sql: String::new(),
                params: Vec::new(),
                prepare: false,
                written,
            })
        })
        .collect()
}

async fn run_java(shim: &Shim, cases: &[Case], times: &Times) -> Result<Run> {
    let javac = which("javac").context(
        "javac not found: install a JDK (apt-get install default-jdk-headless; integration/test.sh does)",
    )?;
    let java = which("java").context("java not found: apt-get install default-jdk-headless")?;
    ensure!(
        Path::new(CONNECTOR_J).is_file(),
        "{CONNECTOR_J} missing: apt-get install libmariadb-java (integration/test.sh does)"
    );
    let classes = tempfile::tempdir()?;
    let source = integration_dir().join("clients/java/Golden.java");
    let compiled = tokio::process::Command::new(&javac)
        .arg("-d")
        .arg(classes.path())
        .arg(&source)
        .output()
        .await
        .context("running javac")?;
    ensure!(
        compiled.status.success(),
        "javac {} failed: {}",
        source.display(),
        String::from_utf8_lossy(&compiled.stderr)
    );
    let mut cmd = tokio::process::Command::new(java);
    cmd.arg("-cp")
        .arg(format!("{}:{CONNECTOR_J}", classes.path().display()))
        .arg("Golden")
        .arg(wall(times.commits[1], 0));
    // Java reads a line format (no JSON parser in the JDK): `CASE <name>` then `SQL <text_sql>`.
    let mut input = format!(
        "CONNECT 127.0.0.1 {} {} {} {}\n",
        shim.port(),
        USER.0,
        USER.1,
        DATABASE
    );
    for case in cases {
        let _ = writeln!(input, "CASE {}", case.name);
        for stmt in &case.statements {
            let _ = writeln!(input, "SQL {}", stmt.text_sql);
        }
    }
    let json = run_program(&mut cmd, &input).await?;
    let answers = parse_run(&json, cases)?;
    let extras = json["extras"]
        .as_array()
        .context("no extras from Java")?
        .iter()
        .map(Answer::from_json)
        .collect::<Result<Vec<_>>>()?;
    Ok(Run {
        cases: answers,
        extras: Some((java_extras(times)?, extras)),
    })
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_cases_through_every_client() -> Result<()> {
    let db = MariaDb::start().await?;
    let times = build_history(&db).await?;
    let agent = AgentCore::start(&db, &["shop"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let shim = Shim::start(
        &agent.url(),
        agent.token(),
        &[Tenant::new(USER.0, USER.1, 1)],
    )
    .await?;
    let mut cases = load_cases(&times)?;
    if let Ok(only) = std::env::var("DBTRAIL_GOLDEN_CASES") {
        let only: Vec<&str> = only.split(',').collect();
        cases.retain(|c| only.contains(&c.name.as_str()));
    }
    let bless = std::env::var_os("DBTRAIL_GOLDEN_BLESS").is_some();
    let only: Option<Vec<String>> = std::env::var("DBTRAIL_GOLDEN_CLIENTS")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());

    let mut failures = Vec::new();
    let mut compared = 0usize;
    for client in CLIENTS {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == client.name()))
        {
            continue;
        }
        let run = match run_client(client, &shim, &cases, &times).await {
            Ok(run) => run,
            Err(e) => {
                failures.push(format!("client {}: {e:#}", client.name()));
                continue;
            }
        };
        for (case, answers) in cases.iter().zip(&run.cases) {
            let got = render(&case.statements, answers, &times);
            if bless && client == Client::MysqlAsyncText {
                std::fs::write(&case.expected_path, &got)?;
            }
            compared += 1;
            check(&case.name, &case.expected_path, client, got, &mut failures);
        }
        if let Some((statements, answers)) = &run.extras {
            let path = integration_dir().join("clients/java/metadata.result");
            let got = render(statements, answers, &times);
            if bless {
                std::fs::write(&path, &got)?;
            }
            compared += 1;
            check("connector-j metadata", &path, client, got, &mut failures);
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {compared} golden comparisons failed (shim log tail:\n{})\n\n{}",
            failures.len(),
            shim.log_tail(30),
            failures.join("\n\n")
        );
    }
    ensure!(compared > 0, "no golden comparison ran");
    eprintln!(
        "{compared} golden comparisons passed ({} cases, {} statements)",
        cases.len(),
        cases.iter().map(|c| c.statements.len()).sum::<usize>()
    );
    Ok(())
}

/// Compares one rendered answer with its expected file; a mismatch lists the differing
/// statements as expected vs got.
fn check(case: &str, path: &Path, client: Client, got: String, failures: &mut Vec<String>) {
    let expected = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            failures.push(format!("case {case}: cannot read {}: {e}", path.display()));
            return;
        }
    };
    let (expected, got) = if client == Client::Cli {
        (drop_empty_headers(&expected), drop_empty_headers(&got))
    } else {
        (expected, got)
    };
    if expected == got {
        return;
    }
    let exp_blocks: Vec<&str> = expected.split("\n> ").collect();
    let got_blocks: Vec<&str> = got.split("\n> ").collect();
    let mut report = format!("case {case}, client {}:", client.name());
    for i in 0..exp_blocks.len().max(got_blocks.len()) {
        let e = exp_blocks.get(i).copied().unwrap_or("<none>");
        let g = got_blocks.get(i).copied().unwrap_or("<none>");
        if e != g {
            let _ = write!(report, "\n--- expected:\n{e}\n+++ got:\n{g}");
        }
    }
    failures.push(report);
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn times() -> Times {
        // 2026-04-27 09:11:59 UTC and one second later.
        Times {
            commits: vec![1_777_281_119, 1_777_281_120],
        }
    }

    #[test]
    fn placeholders_expand_and_fold_back() {
        let t = times();
        assert_eq!(
            expand("AS OF '@T1@'", &t).unwrap(),
            "AS OF '2026-04-27 09:11:59'"
        );
        assert_eq!(expand("'@T2+02:00@'", &t).unwrap(), "'2026-04-27 11:12:00'");
        assert_eq!(
            expand("'@ISO T1-05:30@'", &t).unwrap(),
            "'2026-04-27T03:41:59-05:30'"
        );
        assert_eq!(expand("'@ISO T1@'", &t).unwrap(), "'2026-04-27T09:11:59Z'");
        assert_eq!(expand("@DATE@", &t).unwrap(), "2026-04-27");
        assert_eq!(
            expand("SET @dbtrail_as_of = '@T1@'", &t).unwrap(),
            "SET @dbtrail_as_of = '2026-04-27 09:11:59'"
        );
        assert!(expand("'@T9@'", &t).is_err());
        assert_eq!(
            unexpand("2026-04-27 09:12:00.000000 and 2026-04-27 09:11:59", &t),
            "@T2@.000000 and @T1@"
        );
        assert_eq!(
            unexpand(
                "x is before the start of captured history (2026-01-01 00:00:00.000000 UTC)",
                &t
            ),
            "x is before the start of captured history (@START@ UTC)"
        );
    }

    #[test]
    fn case_files_parse_with_directives() {
        let text = "-- a comment\nSELECT 1;\n-- text-only\nSELECT *\n  FROM t AS OF '@T1@';\n\
                    -- params: [\"@T2@\", 7]\nSELECT * FROM t AS OF ? WHERE id = ?;\nSET x = 1;\n";
        let stmts = parse_case(text, &times()).unwrap();
        assert_eq!(stmts.len(), 4);
        assert!(stmts[0].prepare);
        assert!(!stmts[1].prepare);
        assert_eq!(stmts[1].written, "SELECT * FROM t AS OF '@T1@'");
        assert_eq!(stmts[1].sql, "SELECT * FROM t AS OF '2026-04-27 09:11:59'");
        assert_eq!(
            stmts[2].text_sql,
            "SELECT * FROM t AS OF '2026-04-27 09:12:00' WHERE id = 7"
        );
        assert_eq!(stmts[2].sql, "SELECT * FROM t AS OF ? WHERE id = ?");
        assert_eq!(
            bind_literals("SELECT /*+ X='?' ?*/ '?', ? FROM t", &[json!("it's")]).unwrap(),
            "SELECT /*+ X='?' ?*/ '?', 'it''s' FROM t"
        );
        assert!(!stmts[3].prepare);
        assert!(parse_case("SELECT 1", &times()).is_err());
    }

    #[test]
    fn datetimes_get_one_spelling() {
        assert_eq!(
            canonical_cell("2024-01-06 11:30:00.0"),
            "2024-01-06 11:30:00"
        );
        assert_eq!(
            canonical_cell("2024-01-06 11:30:00.000000"),
            "2024-01-06 11:30:00"
        );
        assert_eq!(
            canonical_cell("2024-01-05 10:00:00.25"),
            "2024-01-05 10:00:00.250000"
        );
        assert_eq!(canonical_cell("2024-01-05T10:00:00"), "2024-01-05 10:00:00");
        assert_eq!(
            canonical_cell("2024-01-05 10:00:00 x"),
            "2024-01-05 10:00:00 x"
        );
        assert_eq!(canonical_cell("12.00"), "12.00");
    }

    #[test]
    fn cli_output_splits_per_statement() {
        let stdout = "--------------\nSELECT 1 AS a, NULL AS b\n--------------\n\na\tb\n1\tNULL\n\
                      1 row in set\n\n--------------\nSELECT x\n--------------\n\n\
                      --------------\nSELECT * FROM t WHERE 0\n--------------\n\nEmpty set\n\n\
                      --------------\nSET @x=1\n--------------\n\nQuery OK, 0 rows affected\n\nBye\n";
        let stderr = "ERROR 1054 (42S22) at line 2: Unknown column 'x' in 'SELECT'\n";
        let statements = parse_case(
            "SELECT 1;\nSELECT x;\nUSE db;\nSELECT * FROM t;\nSET @x=1;\n",
            &times(),
        )
        .unwrap();
        let answers = parse_cli(stdout, stderr, &statements).unwrap();
        assert_eq!(
            answers[0],
            Answer::Rows {
                columns: vec!["a".into(), "b".into()],
                rows: vec![vec![Some("1".into()), None]],
            }
        );
        assert_eq!(
            answers[1],
            Answer::Error {
                code: 1054,
                state: "42S22".into(),
                message: "Unknown column 'x' in 'SELECT'".into(),
            }
        );
        assert_eq!(answers[2], Answer::Ok);
        assert_eq!(answers[4], Answer::Ok);
        assert_eq!(unescape_cli("a\\tb\\nc\\\\d"), "a\tb\nc\\d");
        let text = "> SELECT 1\na\tb\n(0 rows)\n\n";
        assert_eq!(drop_empty_headers(text), "> SELECT 1\n(0 rows)\n\n");
    }

    #[test]
    fn a_mismatch_names_case_client_and_both_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.result");
        std::fs::write(
            &path,
            "> SELECT 1\n1\n1\n(1 row)\n\n> SELECT 2\n2\n2\n(1 row)\n\n",
        )
        .unwrap();
        let mut failures = Vec::new();
        let same = "> SELECT 1\n1\n1\n(1 row)\n\n> SELECT 2\n2\n2\n(1 row)\n\n";
        check("c", &path, Client::PyMySql, same.to_owned(), &mut failures);
        assert!(failures.is_empty());
        let other = "> SELECT 1\n1\n1\n(1 row)\n\n> SELECT 2\nERROR 1064 (HY000): no\n\n";
        check("c", &path, Client::PyMySql, other.to_owned(), &mut failures);
        assert_eq!(failures.len(), 1);
        let report = &failures[0];
        assert!(report.starts_with("case c, client pymysql:"), "{report}");
        assert!(report.contains("--- expected:\nSELECT 2\n2\n2"), "{report}");
        assert!(
            report.contains("+++ got:\nSELECT 2\nERROR 1064"),
            "{report}"
        );
        assert!(
            !report.contains("SELECT 1"),
            "only differing statements: {report}"
        );
    }
}
