//! The shim's errors and `_diff` descriptions through real clients (docs/errors.md,
//! docs/diff-json.md):
//! - an unreachable agent is 2002 `Can't connect to dbtrail backend` for mysql_async, PyMySQL,
//!   Node mysql2 and Connector/J, 1429 with the same message for the libmariadb `mariadb` CLI
//!   (which cannot read a client-range code), the agent's address stays out of the message, and
//!   the same connection (same `CONNECTION_ID()`) answers the next statement;
//! - each agent error kind reaches the client as its MySQL code and SQLSTATE: lag 1205, a wrong
//!   `agent_token` 1429, a table that did not exist yet 1146; a `_diff` window before captured
//!   history answers what capture saw with a warning naming the start (`_flashback` there: 1526);
//! - `_diff.<t>` describes itself with the eight change columns of `SELECT *` in `DESCRIBE`,
//!   `SHOW COLUMNS`, `SHOW CREATE TABLE`, `information_schema` and SQLAlchemy's inspector;
//! - binary columns are base64 in `_diff` JSON even when their bytes are valid UTF-8.
//!
//! Clients besides mysql_async: the `mariadb` CLI, PyMySQL and SQLAlchemy, Node mysql2, MariaDB
//! Connector/J (`integration/clients/install.sh` installs them). Needs the binaries: `cargo build
//! --workspace --bins`.

use std::path::PathBuf;
use std::process::Stdio;

use agent_api::time::format_unix_micros;
use anyhow::{bail, ensure, Context, Result};
use integration::history::{wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde_json::{json, Value as Json};
use tokio::io::AsyncWriteExt;

const USER: (&str, &str) = ("app", "app");
const DATABASE: &str = "shop";
const CONNECTOR_J: &str = "/usr/share/java/mariadb-java-client.jar";

fn integration_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Clients: each runs statements on one connection and answers in the golden clients' JSON form
// ({"kind": "rows", "columns", "rows"} | {"kind": "ok"} | {"kind": "error", "code", "state",
// "message"}).
// ---------------------------------------------------------------------------------------------

/// mysql_async, text protocol.
async fn mysql_async_answers(shim: &Shim, statements: &[&str]) -> Result<Vec<Json>> {
    let mut conn = Conn::new(shim.mysql_opts(USER.0, USER.1, Some(DATABASE))).await?;
    let mut out = Vec::new();
    for sql in statements {
        out.push(mysql_async_answer(&mut conn, sql).await?);
    }
    conn.disconnect().await?;
    Ok(out)
}

async fn mysql_async_answer(conn: &mut Conn, sql: &str) -> Result<Json> {
    match conn.query::<mysql_async::Row, _>(sql).await {
        Ok(rows) => {
            let columns: Vec<String> = rows.first().map_or_else(Vec::new, |r| {
                r.columns_ref()
                    .iter()
                    .map(|c| c.name_str().into_owned())
                    .collect()
            });
            let rows: Vec<Vec<Option<String>>> = rows
                .into_iter()
                .map(|r| {
                    r.unwrap()
                        .into_iter()
                        .map(|v| match v {
                            mysql_async::Value::NULL => None,
                            mysql_async::Value::Bytes(b) => {
                                Some(String::from_utf8_lossy(&b).into_owned())
                            }
                            other => Some(other.as_sql(true)),
                        })
                        .collect()
                })
                .collect();
            Ok(json!({"kind": "rows", "columns": columns, "rows": rows}))
        }
        Err(mysql_async::Error::Server(e)) => Ok(json!({
            "kind": "error", "code": e.code, "state": e.state, "message": e.message,
        })),
        Err(other) => Err(other).with_context(|| format!("mysql_async: {sql}")),
    }
}

/// The golden clients' JSON input for one case.
fn client_input(shim: &Shim, statements: &[&str]) -> Json {
    json!({
        "host": "127.0.0.1",
        "port": shim.port(),
        "user": USER.0,
        "password": USER.1,
        "database": DATABASE,
        "cases": [{
            "name": "errors",
            "statements": statements.iter().map(|s| json!({
                "sql": s, "text_sql": s, "params": [], "prepare": false,
            })).collect::<Vec<_>>(),
        }],
    })
}

async fn run_program(mut cmd: tokio::process::Command, input: &str) -> Result<Json> {
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
    ensure!(
        output.status.success(),
        "{cmd:?} failed ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{cmd:?} printed no JSON: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The answers of the one case a golden client program ran.
fn first_case(out: &Json) -> Result<Vec<Json>> {
    Ok(out["cases"][0]
        .as_array()
        .context("no case answers")?
        .clone())
}

/// PyMySQL through `clients/python/golden.py`.
async fn pymysql_answers(shim: &Shim, statements: &[&str]) -> Result<Vec<Json>> {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(integration_dir().join("clients/python/golden.py"))
        .arg("pymysql");
    first_case(&run_program(cmd, &client_input(shim, statements).to_string()).await?)
}

/// Node mysql2 `query()` through `clients/node/golden.js`.
async fn mysql2_answers(shim: &Shim, statements: &[&str]) -> Result<Vec<Json>> {
    let dir = integration_dir().join("clients/node");
    ensure!(
        dir.join("node_modules/mysql2").is_dir(),
        "mysql2 missing: run integration/clients/install.sh"
    );
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("golden.js")).arg("query");
    first_case(&run_program(cmd, &client_input(shim, statements).to_string()).await?)
}

/// MariaDB Connector/J through `clients/java/Golden.java` (its extras are not looked at).
async fn connector_j_answers(shim: &Shim, statements: &[&str]) -> Result<Vec<Json>> {
    ensure!(
        std::path::Path::new(CONNECTOR_J).is_file(),
        "{CONNECTOR_J} missing: run integration/clients/install.sh"
    );
    let classes = tempfile::tempdir()?;
    let source = integration_dir().join("clients/java/Golden.java");
    let compiled = tokio::process::Command::new("javac")
        .arg("-d")
        .arg(classes.path())
        .arg(&source)
        .output()
        .await
        .context("running javac")?;
    ensure!(
        compiled.status.success(),
        "javac failed: {}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let mut cmd = tokio::process::Command::new("java");
    cmd.arg("-cp")
        .arg(format!("{}:{CONNECTOR_J}", classes.path().display()))
        .arg("Golden")
        .arg("2026-01-01 00:00:00");
    let mut input = format!(
        "CONNECT 127.0.0.1 {} {} {} {DATABASE}\nCASE errors\n",
        shim.port(),
        USER.0,
        USER.1
    );
    for sql in statements {
        input.push_str(&format!("SQL {sql}\n"));
    }
    first_case(&run_program(cmd, &input).await?)
}

/// The `mariadb` CLI (libmariadb) in batch mode with `--force`, one process (one connection) for
/// all statements. Every statement that succeeds must print exactly one line (a one-row,
/// one-column `SELECT`); errors come from stderr (`ERROR <code> (<state>) at line <n>: <msg>`).
async fn cli_answers(shim: &Shim, statements: &[&str]) -> Result<Vec<Json>> {
    let mut input = String::new();
    for sql in statements {
        input.push_str(sql);
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
        .args(["--batch", "--force", "--skip-column-names", "--raw"])
        .arg(format!("-D{DATABASE}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("running the mariadb CLI")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(input.as_bytes()).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut errors = std::collections::HashMap::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix("ERROR ") else {
            continue;
        };
        let (code, rest) = rest.split_once(" (").context("CLI error code")?;
        let (state, rest) = rest.split_once(") at line ").context("CLI error state")?;
        let (line_no, message) = rest.split_once(": ").context("CLI error line")?;
        errors.insert(
            line_no.parse::<usize>()?,
            json!({"kind": "error", "code": code.parse::<u16>()?, "state": state, "message": message}),
        );
    }
    let mut lines = stdout.lines();
    let mut out = Vec::new();
    for n in 1..=statements.len() {
        match errors.remove(&n) {
            Some(e) => out.push(e),
            None => {
                let line = lines.next().with_context(|| {
                    format!("CLI printed no line for statement {n}; stdout:\n{stdout}\nstderr:\n{stderr}")
                })?;
                out.push(json!({"kind": "rows", "rows": [[line]]}));
            }
        }
    }
    ensure!(errors.is_empty(), "CLI errors for no statement: {errors:?}");
    Ok(out)
}

/// The single cell of a one-row answer.
fn single_cell(answer: &Json) -> Result<String> {
    ensure!(answer["kind"] == "rows", "expected a row, got {answer}");
    answer["rows"][0][0]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no cell in {answer}"))
}

/// `(code, SQLSTATE, message)` of an error answer.
fn error_of(answer: &Json) -> Result<(u64, String, String)> {
    ensure!(answer["kind"] == "error", "expected an error, got {answer}");
    Ok((
        answer["code"].as_u64().context("code")?,
        answer["state"].as_str().unwrap_or("").to_owned(),
        answer["message"].as_str().unwrap_or("").to_owned(),
    ))
}

// ---------------------------------------------------------------------------------------------
// 2002 through every client
// ---------------------------------------------------------------------------------------------

/// The shim pointed at a closed port: the time-travel statement fails with the contract's
/// message under 2002 (1429 for libmariadb), nothing of the agent's address leaks, and the same
/// connection answers the next statement.
#[tokio::test]
async fn an_unreachable_agent_is_the_contract_error_and_the_connection_stays() -> Result<()> {
    let closed = integration::free_port()?;
    let shim = Shim::start(
        &format!("http://127.0.0.1:{closed}"),
        "token",
        &[Tenant::new(USER.0, USER.1, 1)],
    )
    .await?;
    let statements = [
        "SELECT CONNECTION_ID()",
        "SELECT * FROM _flashback.orders AS OF '2026-01-01 00:00:00' WHERE id = 1",
        "SELECT CONNECTION_ID()",
    ];
    let mut failures = Vec::new();
    for (client, code) in [
        ("mysql_async", 2002),
        ("pymysql", 2002),
        ("mysql2", 2002),
        ("connector-j", 2002),
        ("mariadb-cli", 1429),
    ] {
        let answers = match client {
            "mysql_async" => mysql_async_answers(&shim, &statements).await,
            "pymysql" => pymysql_answers(&shim, &statements).await,
            "mysql2" => mysql2_answers(&shim, &statements).await,
            "connector-j" => connector_j_answers(&shim, &statements).await,
            _ => cli_answers(&shim, &statements).await,
        };
        let checked = answers.and_then(|a| {
            ensure!(a.len() == 3, "{} answers: {a:?}", a.len());
            let before = single_cell(&a[0])?;
            let (got, state, message) = error_of(&a[1])?;
            ensure!(
                (got, state.as_str(), message.as_str())
                    == (code, "HY000", "Can't connect to dbtrail backend"),
                "error {got} ({state}) {message:?}, expected {code} (HY000) \"Can't connect to dbtrail backend\""
            );
            ensure!(
                !message.contains(&closed.to_string()) && !message.contains("127.0.0.1"),
                "the agent's address reached the client: {message}"
            );
            let after = single_cell(&a[2])?;
            ensure!(
                before == after,
                "CONNECTION_ID() {before} before the error, {after} after: not the same connection"
            );
            Ok(())
        });
        if let Err(e) = checked {
            failures.push(format!("{client}: {e:#}"));
        }
    }
    let log = shim.log_tail(200);
    ensure!(
        log.contains("dbtrail backend unreachable") && log.contains(&closed.to_string()),
        "the shim log does not name the unreachable agent:\n{log}"
    );
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One source: agent error kinds, `_diff` descriptions and JSON
// ---------------------------------------------------------------------------------------------

/// Commit seconds of the fixed history.
struct History {
    /// A second after `shop.first` was created and before `shop.orders` was.
    before_orders: i64,
    /// The seconds of the INSERT and the UPDATE of `shop.orders` row 1.
    insert: i64,
    update: i64,
}

async fn build_history(db: &MariaDb) -> Result<History> {
    let mut conn = db.admin_conn().await?;
    let mut clock = SyntheticClock::start(db).await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("CREATE DATABASE shop").await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("CREATE TABLE shop.first (id INT PRIMARY KEY)")
        .await?;
    let before_orders = clock.tick(&mut conn).await?;
    clock.tick(&mut conn).await?;
    conn.query_drop(
        "CREATE TABLE shop.orders (
            id INT PRIMARY KEY,
            note VARCHAR(16) NOT NULL,
            vb VARBINARY(16),
            bn BINARY(3),
            bl BLOB,
            bt BIT(8)
        )",
    )
    .await?;
    let insert = clock.tick(&mut conn).await?;
    conn.query_drop("INSERT INTO shop.orders VALUES (1, 'first', 'abc', 'xyz', 'hello', b'101')")
        .await?;
    let update = clock.tick(&mut conn).await?;
    conn.query_drop("UPDATE shop.orders SET note = 'second', vb = x'FF00', bl = 'hi' WHERE id = 1")
        .await?;
    conn.disconnect().await?;
    clock.wait_until_past().await;
    Ok(History {
        before_orders,
        insert,
        update,
    })
}

fn wall(secs: i64) -> String {
    format_unix_micros(secs * 1_000_000)[..19].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_errors_and_diff_descriptions_through_real_clients() -> Result<()> {
    let db = MariaDb::start().await?;
    let history = build_history(&db).await?;
    let mut agent = AgentCore::start(&db, &["shop"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let tenants = [Tenant::new(USER.0, USER.1, 1)];
    let shim = Shim::start(&agent.url(), agent.token(), &tenants).await?;

    error_kinds(&shim, &agent, &history)
        .await
        .context("agent error kinds")?;
    diff_describes_its_change_rows(&shim, &history)
        .await
        .context("_diff descriptions")?;
    diff_binary_json(&shim, &history)
        .await
        .context("_diff JSON of binary columns")?;
    diff_before_history(&shim, &history)
        .await
        .context("_diff before captured history")?;
    agent_stopped_mid_session(&shim, &mut agent, &db, &history)
        .await
        .context("agent stopped mid-session")?;
    Ok(())
}

/// Lag → 1205, a table that did not exist yet → 1146, through mysql_async, PyMySQL and the CLI;
/// a wrong `agent_token` → 1429 with the connection still usable.
async fn error_kinds(shim: &Shim, agent: &AgentCore, history: &History) -> Result<()> {
    let future = wall(history.update + 3600);
    let lag = format!("SELECT * FROM _flashback.orders AS OF '{future}' WHERE id = 1");
    let missing = format!(
        "SELECT * FROM _flashback.orders AS OF '{}' WHERE id = 1",
        wall(history.before_orders)
    );
    let statements = [lag.as_str(), missing.as_str(), "SELECT 1"];
    let runs = [
        ("mysql_async", mysql_async_answers(shim, &statements).await?),
        ("pymysql", pymysql_answers(shim, &statements).await?),
        ("mariadb-cli", cli_answers(shim, &statements).await?),
    ];
    for (client, answers) in &runs {
        let (code, state, message) = error_of(&answers[0])?;
        ensure!(
            code == 1205 && message.contains("not replicated yet") && !message.contains("HTTP"),
            "{client}: lag answered {code} ({state}) {message}"
        );
        // PyMySQL does not keep the SQLSTATE.
        ensure!(
            state == "HY000" || *client == "pymysql",
            "{client}: {state}"
        );
        let (code, state, message) = error_of(&answers[1])?;
        ensure!(
            code == 1146 && message.contains("did not exist"),
            "{client}: a table before its CREATE answered {code} ({state}) {message}"
        );
        ensure!(
            state == "42S02" || *client == "pymysql",
            "{client}: {state}"
        );
        ensure!(single_cell(&answers[2])? == "1", "{client}: {}", answers[2]);
    }
    // DB-API drivers raise an OperationalError for the lag, not a ProgrammingError.
    let class = pymysql_error_class(shim, &lag).await?;
    ensure!(
        class == "OperationalError",
        "PyMySQL raised {class} for lag"
    );

    let wrong = Shim::start(
        &agent.url(),
        "not-the-token",
        &[Tenant::new(USER.0, USER.1, 1)],
    )
    .await?;
    let statements = [
        "SELECT * FROM _flashback.orders AS OF '2026-01-01 00:00:00' WHERE id = 1",
        "SELECT 1",
    ];
    for (client, answers) in [
        (
            "mysql_async",
            mysql_async_answers(&wrong, &statements).await?,
        ),
        ("mariadb-cli", cli_answers(&wrong, &statements).await?),
    ] {
        let (code, state, message) = error_of(&answers[0])?;
        ensure!(
            (code, state.as_str()) == (1429, "HY000")
                && message.contains("agent_token")
                && !message.contains("HTTP"),
            "{client}: a wrong agent_token answered {code} ({state}) {message}"
        );
        ensure!(single_cell(&answers[1])? == "1", "{client}: {}", answers[1]);
    }
    Ok(())
}

/// The DB-API exception class PyMySQL raises for `sql`.
async fn pymysql_error_class(shim: &Shim, sql: &str) -> Result<String> {
    let script = r#"
import json, sys, pymysql
cfg = json.load(sys.stdin)
conn = pymysql.connect(host=cfg["host"], port=cfg["port"], user=cfg["user"],
                       password=cfg["password"], database=cfg["database"], autocommit=True)
try:
    conn.cursor().execute(cfg["sql"])
    print(json.dumps("no error"))
except pymysql.err.MySQLError as exc:
    print(json.dumps(type(exc).__name__))
"#;
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg("-c").arg(script);
    let input = json!({
        "host": "127.0.0.1", "port": shim.port(), "user": USER.0, "password": USER.1,
        "database": DATABASE, "sql": sql,
    });
    let out = run_program(cmd, &input.to_string()).await?;
    Ok(out.as_str().unwrap_or_default().to_owned())
}

const DIFF_COLUMNS: [&str; 8] = [
    "event_time",
    "event_type",
    "gtid",
    "binlog_file",
    "binlog_pos",
    "changed_columns",
    "row_before",
    "row_after",
];

/// `DESCRIBE`, `SHOW COLUMNS`, `SHOW CREATE TABLE`, `SHOW KEYS`, `information_schema` and
/// SQLAlchemy's inspector give the eight columns `SELECT *` returns, with its types.
async fn diff_describes_its_change_rows(shim: &Shim, history: &History) -> Result<()> {
    let select = format!(
        "SELECT * FROM _diff.orders BETWEEN '{}' AND '{}' WHERE id = 1",
        wall(history.insert),
        wall(history.update)
    );
    let mut conn = Conn::new(shim.mysql_opts(USER.0, USER.1, Some(DATABASE))).await?;
    let mut result = conn.query_iter(select.as_str()).await?;
    let selected: Vec<String> = result
        .columns()
        .context("SELECT * has no columns")?
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let rows: Vec<mysql_async::Row> = result.collect().await?;
    ensure!(selected == DIFF_COLUMNS, "SELECT * columns {selected:?}");
    ensure!(rows.len() == 2, "{} changes of row 1", rows.len());

    for sql in [
        "DESCRIBE _diff.orders",
        "SHOW COLUMNS FROM _diff.orders",
        "SHOW FULL COLUMNS FROM orders FROM _diff",
    ] {
        let rows: Vec<mysql_async::Row> = conn.query(sql).await?;
        let fields: Vec<String> = rows
            .iter()
            .map(|r| r.get::<String, _>(0).unwrap_or_default())
            .collect();
        ensure!(fields == DIFF_COLUMNS, "{sql}: {fields:?}");
        let keys: Vec<String> = rows
            .iter()
            .map(|r| {
                r.get::<String, _>(if sql.contains("FULL") { 4 } else { 3 })
                    .unwrap_or_default()
            })
            .collect();
        ensure!(keys.iter().all(String::is_empty), "{sql}: a key: {keys:?}");
    }
    let create: Vec<(String, String)> = conn.query("SHOW CREATE TABLE _diff.orders").await?;
    let ddl = &create
        .first()
        .context("SHOW CREATE TABLE answered nothing")?
        .1;
    for (name, ty) in DIFF_COLUMNS.iter().zip([
        "datetime(6)",
        "varchar(255)",
        "varchar(255)",
        "varchar(255)",
        "bigint(20) unsigned",
        "json",
        "json",
        "json",
    ]) {
        ensure!(ddl.contains(&format!("`{name}` {ty}")), "{ddl}");
    }
    ensure!(
        !ddl.contains("PRIMARY KEY") && !ddl.contains("`note`"),
        "{ddl}"
    );
    let keys: Vec<mysql_async::Row> = conn.query("SHOW KEYS FROM _diff.orders").await?;
    ensure!(keys.is_empty(), "SHOW KEYS lists {} key parts", keys.len());
    let listed: Vec<String> = conn
        .query(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = '_diff' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION",
        )
        .await?;
    ensure!(listed == DIFF_COLUMNS, "information_schema: {listed:?}");
    conn.disconnect().await?;

    // SQLAlchemy's inspector (Superset's table browser) against the cursor of SELECT *.
    let script = r#"
import json, sys, sqlalchemy
cfg = json.load(sys.stdin)
url = sqlalchemy.engine.URL.create("mysql+pymysql", username=cfg["user"], password=cfg["password"],
    host=cfg["host"], port=cfg["port"], database=cfg["database"], query={"charset": "utf8mb4"})
engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
inspector = sqlalchemy.inspect(engine)
columns = inspector.get_columns("orders", schema="_diff")
pk = inspector.get_pk_constraint("orders", schema="_diff")
with engine.connect() as conn:
    result = conn.exec_driver_sql(cfg["sql"])
    cursor = result.cursor
    selected = [[d[0], d[1]] for d in cursor.description]
    result.fetchall()
print(json.dumps({
    "inspected": [[c["name"], str(c["type"])] for c in columns],
    "pk": pk.get("constrained_columns") or [],
    "selected": selected,
}))
"#;
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg("-c").arg(script);
    let input = json!({
        "host": "127.0.0.1", "port": shim.port(), "user": USER.0, "password": USER.1,
        "database": DATABASE, "sql": select,
    });
    let out = run_program(cmd, &input.to_string()).await?;
    let inspected: Vec<(String, String)> = serde_json::from_value(out["inspected"].clone())?;
    let selected: Vec<(String, u64)> = serde_json::from_value(out["selected"].clone())?;
    let inspected_names: Vec<&str> = inspected.iter().map(|(n, _)| n.as_str()).collect();
    let selected_names: Vec<&str> = selected.iter().map(|(n, _)| n.as_str()).collect();
    ensure!(
        inspected_names == selected_names && selected_names == DIFF_COLUMNS,
        "inspector {inspected:?} vs SELECT * {selected:?}"
    );
    ensure!(
        out["pk"] == json!([]),
        "inspector finds a key: {}",
        out["pk"]
    );
    // The types agree: the inspector's SQL type against the wire type of SELECT * (PyMySQL's
    // FIELD_TYPE: 12 DATETIME, 253 VAR_STRING, 8 LONGLONG, 245 JSON).
    for ((name, sql_type), (_, wire)) in inspected.iter().zip(&selected) {
        let expected = match sql_type.split('(').next().unwrap_or("") {
            "DATETIME" => 12,
            "VARCHAR" => 253,
            "BIGINT" => 8,
            "JSON" => 245,
            other => bail!("{name}: unexpected inspected type {other}"),
        };
        ensure!(
            *wire == expected,
            "{name}: inspector says {sql_type}, SELECT * sends type {wire}"
        );
    }
    Ok(())
}

/// Binary columns are base64 in `row_before`/`row_after` whatever their bytes: `'abc'` in a
/// VARBINARY is valid UTF-8 and still base64.
async fn diff_binary_json(shim: &Shim, history: &History) -> Result<()> {
    let sql = format!(
        "SELECT row_before, row_after FROM _diff.orders BETWEEN '{}' AND '{}' WHERE id = 1",
        wall(history.insert),
        wall(history.update)
    );
    let statements = [sql.as_str()];
    for (client, answers) in [
        ("mysql_async", mysql_async_answers(shim, &statements).await?),
        ("pymysql", pymysql_answers(shim, &statements).await?),
    ] {
        let rows = answers[0]["rows"].as_array().context("rows")?;
        ensure!(rows.len() == 2, "{client}: {}", answers[0]);
        let image = |row: usize, col: usize| -> Result<Json> {
            let text = rows[row][col].as_str().context("image text")?;
            Ok(serde_json::from_str(text)?)
        };
        let inserted = image(0, 1)?;
        let expected = json!({
            "id": 1,
            "note": "first",
            "vb": "base64:type15:YWJj",
            "bn": "base64:type254:eHl6",
            "bl": "base64:type252:aGVsbG8=",
            "bt": "base64:type16:BQ==",
        });
        ensure!(inserted == expected, "{client}: insert image {inserted}");
        let before = image(1, 0)?;
        ensure!(before == expected, "{client}: before image {before}");
        let after = image(1, 1)?;
        ensure!(
            after["vb"] == "base64:type15:/wA="
                && after["bl"] == "base64:type252:aGk="
                && after["note"] == "second",
            "{client}: after image {after}"
        );
    }
    Ok(())
}

/// A `_diff` window starting before captured history answers the captured changes with a
/// warning naming where history starts; `_flashback` at such a time is refused with 1526; a
/// window inside history answers without a warning.
async fn diff_before_history(shim: &Shim, history: &History) -> Result<()> {
    let early = format!(
        "SELECT event_type FROM _diff.orders BETWEEN '2000-01-01 00:00:00' AND '{}' WHERE id = 1",
        wall(history.update)
    );
    let flashback_early =
        "SELECT * FROM _flashback.orders AS OF '2000-01-01 00:00:00' WHERE id = 1";
    let statements = [
        "SET @dbtrail_allow_wide_diff = ON",
        early.as_str(),
        "SHOW WARNINGS",
        flashback_early,
    ];
    let answers = mysql_async_answers(shim, &statements).await?;
    ensure!(
        answers[1]["rows"] == json!([["INSERT"], ["UPDATE"]]),
        "_diff before history: {}",
        answers[1]
    );
    let warnings = answers[2]["rows"].to_string();
    ensure!(
        warnings.contains("before the start of captured history (") && warnings.contains("1105"),
        "_diff before history warned {warnings}"
    );
    let (code, _, message) = error_of(&answers[3])?;
    ensure!(
        code == 1526 && message.contains("before the start of captured history"),
        "_flashback before history answered {code} {message}"
    );
    let inside = format!(
        "SELECT event_type FROM _diff.orders BETWEEN '{}' AND '{}' WHERE id = 1",
        wall(history.before_orders),
        wall(history.update)
    );
    let answers = mysql_async_answers(shim, &[inside.as_str()]).await?;
    ensure!(
        answers[0]["rows"] == json!([["INSERT"], ["UPDATE"]]),
        "inside history: {}",
        answers[0]
    );
    Ok(())
}

/// The agent stops while a mysql_async connection is open: 2002, then `SELECT 1` on the same
/// connection, then the time-travel query answers again once the agent is back.
async fn agent_stopped_mid_session(
    shim: &Shim,
    agent: &mut AgentCore,
    db: &MariaDb,
    history: &History,
) -> Result<()> {
    let read = format!(
        "SELECT note FROM _flashback.orders AS OF '{}' WHERE id = 1",
        wall(history.update)
    );
    let mut conn = Conn::new(shim.mysql_opts(USER.0, USER.1, Some(DATABASE))).await?;
    let id = conn.id();
    let note: Option<String> = conn.query_first(read.as_str()).await?;
    ensure!(note.as_deref() == Some("second"), "{note:?}");
    agent.stop()?;
    // Another key: the answer above is in the shim's cache of immutable history.
    let read = read.replace("id = 1", "id IN (1, 2)");
    let (code, state, message) = error_of(&mysql_async_answer(&mut conn, &read).await?)?;
    ensure!(
        (code, state.as_str(), message.as_str())
            == (2002, "HY000", "Can't connect to dbtrail backend"),
        "agent stopped: {code} ({state}) {message}"
    );
    let one: Option<i64> = conn.query_first("SELECT 1").await?;
    ensure!(one == Some(1), "SELECT 1 after 2002: {one:?}");
    agent.restart().await?;
    agent.wait_caught_up(db).await?;
    let note: Option<String> = conn.query_first(read.as_str()).await?;
    ensure!(note.as_deref() == Some("second"), "after restart: {note:?}");
    ensure!(conn.id() == id, "mysql_async reconnected");
    conn.disconnect().await?;
    Ok(())
}
