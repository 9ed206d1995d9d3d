//! What a client's session keeps across statements, through real clients against dbtrail-shim:
//!
//! - every statement error of the contract (`seeds/troubleshooting.txt`, DESIGN.md's error table)
//!   is an ERR packet and the *same* connection answers the next statement (`mariadb --force`, and
//!   mysql_async in the text and binary protocol);
//! - client character sets: result text, column names, JSON images and error messages in
//!   `character_set_results`, statement literals and parameters read in `character_set_client`
//!   (PyMySQL `charset='latin1'`, `mariadb --default-character-set=latin1`, mysql_async after
//!   `SET NAMES latin1`).
//!
//! Needs the binaries: `cargo build --workspace --bins` (or `integration/test.sh`).

use std::process::{Output, Stdio};

use anyhow::{bail, ensure, Context, Result};
use integration::cli::MARIADB_CLI;
use integration::history::{instant_after, wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
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
            "SELECT * FROM _snapshot.customers AS OF 'now' a JOIN _snapshot.tags b ON a.id = b.n",
            1235,
            "42000",
            "dbtrail-shim: this statement is not supported: joins of virtual tables",
        ),
        bad("USE nosuchdb", 1049, "42000", "Unknown database 'nosuchdb'"),
        bad(
            "SET NAMES klingon",
            1115,
            "42000",
            "Unknown character set: 'klingon'",
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

// ---------------------------------------------------------------------------------------------
// Client character sets
// ---------------------------------------------------------------------------------------------

/// PyMySQL with `charset='latin1'`: reads `{host, port, user, password, queries: [{sql,
/// params}]}` on stdin, prints per query `{columns, charsets, rows}` or `{error, message}`.
const PYMYSQL_LATIN1: &str = r#"
import json, sys, pymysql
cfg = json.load(sys.stdin)
conn = pymysql.connect(host=cfg["host"], port=cfg["port"], user=cfg["user"],
                       password=cfg["password"], database="shop", charset="latin1")
out = []
with conn.cursor() as cur:
    for q in cfg["queries"]:
        try:
            if q.get("params") is None:
                cur.execute(q["sql"])
            else:
                cur.execute(q["sql"], q["params"])
            fields = cur._result.fields or []
            rows = [[None if v is None else v if isinstance(v, str) else str(v) for v in row]
                    for row in cur.fetchall()]
            out.append({"columns": [d[0] for d in (cur.description or [])],
                        "charsets": [f.charsetnr for f in fields], "rows": rows})
        except pymysql.MySQLError as e:
            out.append({"error": e.args[0], "message": str(e.args[1])})
conn.close()
print(json.dumps(out))
"#;

/// One read every latin1 client runs: statement, expected column names, expected rows.
type Read = (String, Vec<&'static str>, Vec<Vec<Option<&'static str>>>);

/// The statements every latin1 client runs, cells as the client decodes them (`?` where latin1
/// has no character, as MySQL sends).
fn latin1_reads(h: &History) -> Vec<Read> {
    vec![
        (
            format!(
                "SELECT id, name FROM _flashback.customers AS OF {} WHERE id IN (1, 2)",
                at(h.inserted)
            ),
            vec!["id", "name"],
            vec![
                vec![Some("1"), Some("Zoë")],
                vec![Some("2"), Some("?mega ?")],
            ],
        ),
        (
            "SELECT id, `café`, name AS `prénom` FROM _snapshot.customers AS OF 'now'".into(),
            vec!["id", "café", "prénom"],
            vec![
                vec![Some("1"), Some("crème"), Some("Zoë")],
                vec![Some("2"), None, Some("?mega ?")],
            ],
        ),
        (
            "SELECT n FROM _flashback.tags AS OF 'now' WHERE name = 'Zoë'".into(),
            vec!["n"],
            vec![vec![Some("1")]],
        ),
        (
            "SELECT name, n FROM _snapshot.tags AS OF 'now' WHERE name = 'Zoë'".into(),
            vec!["name", "n"],
            vec![vec![Some("Zoë"), Some("1")]],
        ),
        (
            "SELECT @@character_set_client, @@character_set_results, @@collation_connection".into(),
            vec![
                "@@character_set_client",
                "@@character_set_results",
                "@@collation_connection",
            ],
            vec![vec![
                Some("latin1"),
                Some("latin1"),
                Some("latin1_swedish_ci"),
            ]],
        ),
    ]
}

/// The `_diff` of row 1 (insert, then the update after the ALTER): its JSON images are text
/// in `character_set_results` too.
fn diff_sql(h: &History) -> String {
    format!(
        "SELECT event_type, row_after FROM _diff.customers BETWEEN {} AND 'now' WHERE id = 1",
        at(h.inserted - 1)
    )
}

/// The images as a latin1 client must read them: `Zoë` and `crème` intact.
fn check_diff_rows(client: &str, rows: &[Vec<Option<String>>]) -> Result<()> {
    ensure!(rows.len() == 2, "{client}: _diff rows {rows:?}");
    ensure!(
        rows[0][0].as_deref() == Some("INSERT") && rows[1][0].as_deref() == Some("UPDATE"),
        "{client}: _diff rows {rows:?}"
    );
    let insert = rows[0][1].as_deref().unwrap_or_default();
    let update = rows[1][1].as_deref().unwrap_or_default();
    ensure!(
        insert.contains("Zoë") && update.contains("Zoë") && update.contains("crème"),
        "{client}: _diff images not in latin1: {rows:?}"
    );
    let image: serde_json::Value = serde_json::from_str(update)
        .with_context(|| format!("{client}: row_after is not JSON: {update}"))?;
    ensure!(
        image["café"] == "crème" && image["name"] == "Zoë",
        "{client}: row_after {image}"
    );
    Ok(())
}

/// latin1 bytes of `text` (every character here is in Windows-1252).
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a latin1 character"))
        .collect()
}

/// latin1 bytes as text.
fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// PyMySQL `charset='latin1'`: every read decodes to the original text (a shim sending UTF-8
/// shows `ZoÃ«`), text columns announce latin1_swedish_ci (8), numbers stay binary (63); a
/// `%s` parameter is sent in latin1 and matches the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_clients_read_and_write_latin1() -> Result<()> {
    let stack = start().await?;
    let h = &stack.history;
    let reads = latin1_reads(h);
    let mut failures = Vec::new();

    // PyMySQL.
    let mut queries: Vec<serde_json::Value> = reads
        .iter()
        .map(|(sql, _, _)| serde_json::json!({ "sql": sql }))
        .collect();
    queries.push(serde_json::json!({ "sql": diff_sql(h) }));
    queries.push(serde_json::json!({
        "sql": "SELECT n FROM _flashback.tags AS OF 'now' WHERE name = %s",
        "params": ["Zoë"],
    }));
    let input = serde_json::json!({
        "host": "127.0.0.1",
        "port": stack.shim.port(),
        "user": USER.0,
        "password": USER.1,
        "queries": queries,
    });
    let answers = run_python(PYMYSQL_LATIN1, &input.to_string()).await?;
    let answers = answers.as_array().context("PyMySQL output")?;
    ensure!(
        answers.len() == reads.len() + 2,
        "PyMySQL answers {answers:?}"
    );
    for ((sql, columns, rows), got) in reads.iter().zip(answers) {
        let want = serde_json::json!({ "columns": columns, "rows": rows });
        if got["columns"] != want["columns"] || got["rows"] != want["rows"] {
            failures.push(format!("PyMySQL {sql}: want {want}, got {got}"));
        }
    }
    let charsets = &answers[0]["charsets"];
    if charsets != &serde_json::json!([63, 8]) {
        failures.push(format!("PyMySQL column charsets {charsets}, want [63, 8]"));
    }
    let diff_rows: Vec<Vec<Option<String>>> =
        serde_json::from_value(answers[reads.len()]["rows"].clone()).unwrap_or_default();
    if let Err(e) = check_diff_rows("PyMySQL", &diff_rows) {
        failures.push(format!("{e:#}"));
    }
    let param = &answers[reads.len() + 1]["rows"];
    if param != &serde_json::json!([["1"]]) {
        failures.push(format!("PyMySQL %s parameter 'Zoë': rows {param}"));
    }

    // The mariadb CLI with --default-character-set=latin1: the statement bytes are latin1, and
    // so is everything printed (column names, cells, the error message).
    let mut script = Vec::new();
    for (sql, _, _) in &reads {
        script.extend(latin1(sql));
        script.extend_from_slice(b";\n");
    }
    script.extend(latin1(&diff_sql(h)));
    script.extend_from_slice(b";\nSELECT * FROM _flashback.nos\xFCch AS OF 'now' WHERE id = 1;\n");
    let out = cli(stack.shim.port(), "latin1", &["-N"], &script).await?;
    let stdout = from_latin1(&out.stdout);
    let stderr = from_latin1(&out.stderr);
    let mut want = String::new();
    for (_, _, rows) in &reads {
        for row in rows {
            let cells: Vec<&str> = row.iter().map(|c| c.unwrap_or("NULL")).collect();
            want.push_str(&cells.join("\t"));
            want.push('\n');
        }
    }
    if !stdout.starts_with(&want) {
        failures.push(format!(
            "CLI latin1 stdout:\n{stdout}\nwant it to start with:\n{want}"
        ));
    }
    let diff_lines: Vec<Vec<Option<String>>> = stdout[want.len().min(stdout.len())..]
        .lines()
        .map(|l| {
            l.splitn(2, '\t')
                .map(|c| Some(c.replace("\\\\", "\\")))
                .collect()
        })
        .collect();
    if let Err(e) = check_diff_rows("CLI", &diff_lines) {
        failures.push(format!("{e:#}"));
    }
    if !stderr.contains("ERROR 1146 (42S02) at line 7: Table 'shop.nosüch' doesn't exist") {
        failures.push(format!("CLI latin1 error message: {stderr}"));
    }
    let headers = cli(stack.shim.port(), "latin1", &[], &latin1(&reads[1].0)).await?;
    let header = from_latin1(&headers.stdout);
    if header.lines().next() != Some("id\tcafé\tprénom") {
        failures.push(format!("CLI latin1 column names: {header}"));
    }

    // mysql_async after SET NAMES latin1: text and binary protocol, a latin1 parameter, and
    // character_set_results = NULL turning conversion off.
    let opts =
        mysql_async::OptsBuilder::from_opts(stack.shim.mysql_opts(USER.0, USER.1, Some("shop")))
            .setup(vec!["SET NAMES latin1"]);
    let mut conn = Conn::new(opts).await?;
    for (sql, columns, rows) in &reads {
        let text = read_bytes(&mut conn, latin1(sql).as_slice(), None).await?;
        let want_rows: Vec<Vec<Option<Vec<u8>>>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.map(latin1)).collect())
            .collect();
        let want_columns: Vec<Vec<u8>> = columns.iter().map(|c| latin1(c)).collect();
        if (&text.0, &text.2) != (&want_columns, &want_rows) {
            failures.push(format!("mysql_async text {sql}: got {text:?}"));
        }
        if sql.starts_with("SELECT @@") {
            continue;
        }
        // A prepared statement's text is in character_set_client too.
        let binary = read_bytes(&mut conn, latin1(sql).as_slice(), Some(Vec::new())).await?;
        if (&binary.0, &binary.2) != (&want_columns, &want_rows) {
            failures.push(format!("mysql_async binary {sql}: got {binary:?}"));
        }
    }
    let (_, charsets, _) = read_bytes(&mut conn, latin1(&reads[0].0).as_slice(), None).await?;
    if charsets != [63, 8] {
        failures.push(format!(
            "mysql_async column charsets {charsets:?}, want [63, 8]"
        ));
    }
    let by_param = read_bytes(
        &mut conn,
        b"SELECT n FROM _flashback.tags AS OF 'now' WHERE name = ?",
        Some(vec![Value::Bytes(latin1("Zoë"))]),
    )
    .await?;
    if by_param.2 != [[Some(b"1".to_vec())]] {
        failures.push(format!("mysql_async binary parameter 'Zoë': {by_param:?}"));
    }
    for binary in [None, Some(Vec::new())] {
        let (_, _, rows) = read_bytes(&mut conn, diff_sql(h).as_bytes(), binary).await?;
        let rows: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.as_deref().map(from_latin1)).collect())
            .collect();
        if let Err(e) = check_diff_rows("mysql_async", &rows) {
            failures.push(format!("{e:#}"));
        }
    }
    conn.query_drop("SET character_set_results = NULL").await?;
    let (_, charsets, rows) = read_bytes(&mut conn, reads[0].0.as_bytes(), None).await?;
    if rows[0][1].as_deref() != Some("Zoë".as_bytes()) || charsets[1] == 8 {
        failures.push(format!(
            "character_set_results = NULL: want UTF-8 unconverted, got {rows:?} {charsets:?}"
        ));
    }
    conn.disconnect().await?;

    if !failures.is_empty() {
        bail!(
            "{} charset checks failed (shim log tail:\n{})\n\n{}",
            failures.len(),
            stack.shim.log_tail(20),
            failures.join("\n\n")
        );
    }
    Ok(())
}

/// Column names, column charset ids and cells (raw bytes) of one statement; `params` `Some`
/// runs it as a prepared statement (binary protocol).
async fn read_bytes(
    conn: &mut Conn,
    sql: &[u8],
    params: Option<Vec<Value>>,
) -> Result<(Vec<Vec<u8>>, Vec<u16>, Vec<Vec<Option<Vec<u8>>>>)> {
    let rows: Vec<mysql_async::Row> = match params {
        None => conn.query(sql).await?,
        Some(params) => {
            let statement = conn.prep(sql).await?;
            conn.exec(&statement, params).await?
        }
    };
    let Some(first) = rows.first() else {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    };
    let columns = first.columns_ref();
    let names = columns.iter().map(|c| c.name_ref().to_vec()).collect();
    let charsets = columns.iter().map(|c| c.character_set()).collect();
    let cells = rows
        .into_iter()
        .map(|row| {
            row.unwrap()
                .into_iter()
                .map(|v| match v {
                    Value::NULL => None,
                    Value::Bytes(b) => Some(b),
                    Value::Int(n) => Some(n.to_string().into_bytes()),
                    Value::UInt(n) => Some(n.to_string().into_bytes()),
                    other => Some(other.as_sql(false).into_bytes()),
                })
                .collect()
        })
        .collect();
    Ok((names, charsets, cells))
}

/// Runs a Python program with `input` on stdin and parses its JSON output.
async fn run_python(program: &str, input: &str) -> Result<serde_json::Value> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("python3 (install Python 3 and PyMySQL: integration/clients/install.sh)")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    stdin.write_all(input.as_bytes()).await?;
    drop(stdin);
    let out = child.wait_with_output().await?;
    ensure!(
        out.status.success(),
        "python3 failed ({}): {} (PyMySQL missing? integration/clients/install.sh)",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "python printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
