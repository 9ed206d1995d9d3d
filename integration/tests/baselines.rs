//! Baselines end to end: rows written before capture began (their binlogs purged) are answered by
//! `_snapshot` and `_flashback` through the shim once a baseline exists, taken by
//! `agent-core baseline` (consistent snapshot) or imported from a real `mydumper` dump.
//!
//! Needs the binaries: `cargo build --workspace --bins`; the mydumper test needs Debian's
//! `mydumper` package (`apt-get install mydumper`).

use std::time::{Duration, Instant};

use agent_api::{ClientError, ErrorCode, Value as ApiValue};
use anyhow::{bail, ensure, Context, Result};
use integration::canon::{diff_rows, mysql_row, CanonRow};
use integration::history::wait_caught_up_strict;
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// Pause after each step: MariaDB commit times have 1 s resolution.
const STEP_PAUSE: Duration = Duration::from_millis(1200);

const BEFORE_CAPTURE: &[&str] = &[
    "CREATE DATABASE shop",
    "CREATE TABLE shop.items (
        id INT PRIMARY KEY,
        name VARCHAR(32) NOT NULL,
        qty INT NOT NULL,
        price DECIMAL(10,2),
        seen DATETIME(6) NULL,
        tag ENUM('a','b') NULL,
        payload VARBINARY(8) NULL
    )",
    "CREATE TABLE shop.gate (id INT PRIMARY KEY)",
    // Never changed after capture starts: only its baseline knows it.
    "CREATE TABLE shop.refs (code CHAR(3) PRIMARY KEY, label VARCHAR(20) NOT NULL)",
    "INSERT INTO shop.refs VALUES ('USD', 'dollar'), ('EUR', 'euro'), ('jpy', 'yen')",
    // One column per type family whose value the baseline reads over the binary protocol (or
    // from a dump's INSERT text) and must serve exactly as capture would.
    "CREATE TABLE shop.wide (
        id BIGINT UNSIGNED PRIMARY KEY,
        t TIME(3) NULL, ts TIMESTAMP(6) NULL, b BIT(10) NULL, j JSON NULL, bl BLOB NULL,
        tx TEXT CHARACTER SET latin1 NULL, bn BINARY(4) NULL, y YEAR NULL, f FLOAT NULL,
        d DOUBLE NULL, st SET('x','y','z') NULL, dt DATE NULL, u TINYINT UNSIGNED NULL,
        m MEDIUMINT NULL, big DECIMAL(40,10) NULL
    )",
    "INSERT INTO shop.wide VALUES
        (18446744073709551615, '-838:59:59.000', '2026-03-01 12:00:00.5', b'1010101010',
         '{\"k\": [1, 2]}', 0x00ff27, 'caf\u{e9} \u{20ac}', 0x6162, 2026, 1.5, -2.25, 'x,z',
         '2026-02-28', 255, -8388608, '-123456789012345678901234567890.0123456789'),
        (1, '12:00:00', NULL, b'0', NULL, '', '', NULL, NULL, NULL, NULL, '', '1000-01-01', 0, 0,
         NULL)",
];

/// The real table after a step, and when.
struct State {
    at: String,
    names: Vec<String>,
    rows: Vec<CanonRow>,
}

/// Fills `shop.items` with 40 rows, then rotates and purges the binlogs so capture never sees
/// the table's CREATE: the index alone cannot answer for the whole table.
async fn history_before_capture(db: &MariaDb) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    for sql in BEFORE_CAPTURE {
        conn.query_drop(*sql)
            .await
            .with_context(|| sql.to_string())?;
    }
    for id in 1..=40 {
        conn.query_drop(format!(
            "INSERT INTO shop.items VALUES ({id}, 'item {id}', {q}, {id}.25, '2026-01-{d:02} 10:00:00.{id:06}', '{t}', 0x00{id:02x})",
            q = id * 3,
            d = id % 28 + 1,
            t = if id % 2 == 0 { "a" } else { "b" },
        ))
        .await?;
    }
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
    let newest = logs.last().context("no binary logs")?.0.clone();
    // MariaDB keeps a binlog until InnoDB's binlog checkpoint has passed it: retry the purge.
    for _ in 0..50 {
        conn.query_drop(format!("PURGE BINARY LOGS TO '{newest}'"))
            .await?;
        let left: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
        if left.len() == 1 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("PURGE BINARY LOGS TO '{newest}' kept older binlogs")
}

/// Runs `statements`, then records the time and the whole real table.
async fn step(db: &MariaDb, statements: &[&str]) -> Result<State> {
    let mut conn = db.admin_conn().await?;
    for sql in statements {
        conn.query_drop(*sql)
            .await
            .with_context(|| sql.to_string())?;
    }
    let state = record(&mut conn).await?;
    conn.disconnect().await?;
    tokio::time::sleep(STEP_PAUSE).await;
    Ok(state)
}

async fn record(conn: &mut Conn) -> Result<State> {
    let at: String = conn
        .query_first("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        .await?
        .context("NOW(6)")?;
    let (names, rows) = query_canon(conn, "SELECT * FROM shop.items ORDER BY id").await?;
    Ok(State { at, names, rows })
}

/// Runs `sql` over the binary protocol; column names come with the result (the shim describes
/// `_snapshot` columns at execution).
async fn query_canon(conn: &mut Conn, sql: &str) -> Result<(Vec<String>, Vec<CanonRow>)> {
    let mut result = conn
        .exec_iter(sql, ())
        .await
        .with_context(|| sql.to_owned())?;
    let names = result
        .columns()
        .map(|c| c.iter().map(|c| c.name_str().into_owned()).collect())
        .unwrap_or_default();
    let rows: Vec<Row> = result.collect().await.with_context(|| sql.to_owned())?;
    let rows = rows.iter().map(mysql_row).collect::<Result<_>>()?;
    Ok((names, rows))
}

/// `_snapshot.items AS OF <at>` through the shim must equal the recorded table.
async fn check_snapshot(shim: &mut Conn, state: &State, what: &str) -> Result<()> {
    let sql = format!("SELECT * FROM _snapshot.items AS OF '{}'", state.at);
    expect_rows(shim, &sql, Some(&state.names), &state.rows, what).await
}

/// Runs `sql` on the shim; fails with the differing cells unless the rows are `want` (and the
/// columns `names`, when given). `what` names the check in the failure.
async fn expect_rows(
    shim: &mut Conn,
    sql: &str,
    names: Option<&[String]>,
    want: &[CanonRow],
    what: &str,
) -> Result<()> {
    let (got_names, rows) = query_canon(shim, sql)
        .await
        .with_context(|| what.to_owned())?;
    if let Some(names) = names {
        ensure!(
            got_names == names,
            "{what}: {sql}: columns {got_names:?}, expected {names:?}"
        );
    }
    let diff = diff_rows(&got_names, want, &rows);
    ensure!(diff.is_empty(), "{what}: {sql}\n{}", diff.join("\n"));
    Ok(())
}

/// `_flashback.items AS OF <at> WHERE id IN (...)` and a range must equal the recorded rows.
async fn check_flashback(shim: &mut Conn, state: &State, ids: &[i32], what: &str) -> Result<()> {
    let list = ids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let want: Vec<CanonRow> = state
        .rows
        .iter()
        .filter(|r| ids.iter().any(|id| r[0] == id.to_string()))
        .cloned()
        .collect();
    let sql = format!(
        "SELECT * FROM _flashback.items AS OF '{}' WHERE id IN ({list})",
        state.at
    );
    expect_rows(shim, &sql, None, &want, what).await?;
    let want: Vec<CanonRow> = state
        .rows
        .iter()
        .filter(|r| r[0].parse::<i32>().is_ok_and(|id| (3..=12).contains(&id)))
        .cloned()
        .collect();
    let sql = format!(
        "SELECT * FROM _flashback.items AS OF '{}' WHERE id BETWEEN 3 AND 12",
        state.at
    );
    expect_rows(shim, &sql, None, &want, what).await
}

/// The `_snapshot` error for an instant no baseline covers: 1526 naming the command.
async fn expect_coverage_gap(shim: &mut Conn, at: &str) -> Result<String> {
    let sql = format!("SELECT * FROM _snapshot.items AS OF '{at}'");
    match shim.query_drop(&sql).await {
        Err(mysql_async::Error::Server(e)) => {
            ensure!(
                e.code == 1526,
                "{sql}: error {} {}, expected 1526",
                e.code,
                e.message
            );
            ensure!(
                e.message.contains(
                    "agent-core baseline --config agent.yaml --source 1 --tables shop.items"
                ),
                "{sql}: 1526 without the command: {}",
                e.message
            );
            Ok(e.message)
        }
        Err(e) => bail!("{sql}: {e}"),
        Ok(()) => bail!("{sql}: answered, expected 1526"),
    }
}

/// The agent's error code and message for a request it must refuse.
fn refusal<T>(what: &str, answer: Result<T, ClientError>) -> Result<(ErrorCode, String)> {
    match answer {
        Err(ClientError::Http {
            body: Some(body), ..
        }) => Ok((body.error.code, body.error.message)),
        Err(e) => bail!("{what}: {e}"),
        Ok(_) => bail!("{what}: answered, expected a refusal"),
    }
}

/// Before any baseline, asked of the agent now: `shop.refs` (on the source, untouched since
/// capture began) is a `CoverageGap` naming the baseline command, for `_snapshot` and
/// `_flashback`; a table missing from the source, or outside the capture filters (`shop` only),
/// is `TableNotFound`. Through the shim a missing table is ERR 1146.
async fn check_unseen_before_baseline(agent: &AgentCore, shim: &mut Conn) -> Result<()> {
    let client = agent.client();
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_micros() as i64;
    let snapshot = |schema: &str, table: &str| agent_api::snapshot::SnapshotRequest {
        server_id: 1,
        schema: schema.into(),
        table: table.into(),
        as_of_us: now_us,
        key: None,
    };
    let command = "agent-core baseline --config agent.yaml --source 1 --tables shop.refs";
    let (code, message) = refusal(
        "snapshot shop.refs",
        client.snapshot(&snapshot("shop", "refs")).await,
    )?;
    ensure!(
        code == ErrorCode::CoverageGap
            && message.contains("shop.refs exists on the source")
            && message.contains(command),
        "snapshot shop.refs: {code:?} {message}"
    );
    let flashback = agent_api::flashback::FlashbackRequest {
        server_id: 1,
        schema: "shop".into(),
        table: "refs".into(),
        as_of_us: now_us,
        key: agent_api::flashback::KeyPredicate::In(vec![vec![ApiValue::Text("USD".into())]]),
        known_schema: None,
    };
    let (code, message) = refusal("flashback shop.refs", client.flashback(&flashback).await)?;
    ensure!(
        code == ErrorCode::CoverageGap && message.contains(command),
        "flashback shop.refs: {code:?} {message}"
    );
    let (code, message) = refusal(
        "snapshot shop.nope",
        client.snapshot(&snapshot("shop", "nope")).await,
    )?;
    ensure!(
        code == ErrorCode::TableNotFound && !message.contains("agent-core baseline"),
        "snapshot shop.nope: {code:?} {message}"
    );
    let (code, message) = refusal(
        "snapshot mysql.user",
        client.snapshot(&snapshot("mysql", "user")).await,
    )?;
    ensure!(
        code == ErrorCode::TableNotFound && message.contains("not captured"),
        "snapshot mysql.user (outside the filters): {code:?} {message}"
    );
    match shim
        .query_drop("SELECT * FROM _snapshot.nope AS OF 'now'")
        .await
    {
        Err(mysql_async::Error::Server(e)) if e.code == 1146 => Ok(()),
        other => bail!("_snapshot.nope through the shim: {other:?}, expected ERR 1146"),
    }
}

/// `shop.refs`, untouched since capture began, answered from its baseline alone.
async fn check_untouched_table(
    db: &MariaDb,
    agent: &AgentCore,
    shim: &mut Conn,
    at: &str,
) -> Result<()> {
    let mut real = db.admin_conn().await?;
    let (_, want) = query_canon(&mut real, "SELECT * FROM shop.refs ORDER BY code").await?;
    ensure!(want.len() == 3, "shop.refs: {want:?}");
    let listed = agent
        .client()
        .tables(&agent_api::catalog::TablesQuery {
            server_id: 1,
            schema: Some("shop".into()),
        })
        .await?;
    ensure!(
        listed.tables.iter().any(|t| t.name == "refs"),
        "GET /v1/tables does not list the baselined table: {:?}",
        listed.tables.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let sql = format!("SELECT * FROM _snapshot.refs AS OF '{at}'");
    // The shim caches the agent's table list for `cache.tables_ttl` (5 s): a table first known
    // from a new baseline appears once that list is refreshed.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (names, rows) = loop {
        match query_canon(shim, &sql).await {
            Ok(found) => break found,
            Err(e) if Instant::now() < deadline && format!("{e:#}").contains("1146") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let diff = diff_rows(&names, &want, &rows);
    ensure!(diff.is_empty(), "{sql}\n{}", diff.join("\n"));
    check_same(&mut real, shim, "wide", at).await?;
    let sql = format!("SELECT * FROM _flashback.refs AS OF '{at}' WHERE code IN ('USD', 'XXX')");
    let want: Vec<CanonRow> = want.into_iter().filter(|r| r[0] == "USD").collect();
    expect_rows(shim, &sql, None, &want, "shop.refs").await
}

/// `_snapshot.<table> AS OF <at>` equals the real table now (it has not changed since `at`).
async fn check_same(real: &mut Conn, shim: &mut Conn, table: &str, at: &str) -> Result<()> {
    let (want_names, want) =
        query_canon(real, &format!("SELECT * FROM shop.{table} ORDER BY 1")).await?;
    ensure!(!want.is_empty(), "shop.{table} is empty");
    let sql = format!("SELECT * FROM _snapshot.{table} AS OF '{at}'");
    let what = format!("shop.{table}");
    expect_rows(shim, &sql, Some(&want_names), &want, &what).await
}

/// The newest `manifest.json` of `shop.<table>`.
fn newest_manifest(data_dir: &std::path::Path, table: &str) -> Result<serde_json::Value> {
    let dir = data_dir.join("baselines/1/shop").join(table);
    let mut manifests: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path().join("manifest.json"))
        .filter(|p| p.exists())
        .collect();
    manifests.sort();
    let path = manifests
        .last()
        .with_context(|| format!("no baseline in {}", dir.display()))?;
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

/// Reads the newest baseline of `shop.<table>` with the plain Parquet reader: `qty` of id 2, and
/// whether id 100 is present.
fn read_baseline(data_dir: &std::path::Path, table: &str) -> Result<(String, bool)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = data_dir.join("baselines/1/shop").join(table);
    let mut ids: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("manifest.json").exists())
        .map(|e| e.path())
        .collect();
    ids.sort();
    let newest = ids
        .last()
        .with_context(|| format!("no baseline in {}", dir.display()))?;
    let reader = SerializedFileReader::new(std::fs::File::open(newest.join("rows.parquet"))?)?;
    let (mut qty2, mut has100) = (String::new(), false);
    for row in reader.get_row_iter(None)? {
        let row = row?;
        let cells: Vec<(String, String)> = row
            .get_column_iter()
            .map(|(name, field)| (name.clone(), field.to_string()))
            .collect();
        let get = |n: &str| cells.iter().find(|(c, _)| c == n).map(|(_, v)| v.clone());
        match get("id").as_deref() {
            Some("2") => qty2 = get("qty").unwrap_or_default(),
            Some("100") => has100 = true,
            _ => {}
        }
    }
    Ok((qty2, has100))
}

/// What every test here runs against (fields drop in this order: the connection first, the
/// server last).
struct Stack {
    /// A connection to the shim as `app`, default database `shop`.
    sq: Conn,
    _shim: Shim,
    agent: AgentCore,
    db: MariaDb,
}

impl Stack {
    /// A server with [`history_before_capture`], agent-core on `shop` caught up with it, and the
    /// shim in front of the agent.
    async fn start() -> Result<Self> {
        let db = MariaDb::start().await?;
        history_before_capture(&db).await?;
        let agent = AgentCore::start(&db, &["shop"]).await?;
        wait_caught_up_strict(&agent, &db).await?;
        let shim =
            Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
        let sq = shim_conn(&shim).await?;
        Ok(Self {
            sq,
            _shim: shim,
            agent,
            db,
        })
    }
}

async fn shim_conn(shim: &Shim) -> Result<Conn> {
    Conn::new(shim.mysql_opts("app", "app", Some("shop")))
        .await
        .context("connecting to the shim")
}

/// Waits until the baseline's read of `shop.gate` waits on the table lock: its snapshot is open.
async fn wait_for_blocked_baseline(db: &MariaDb) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let blocked = db
            .sql_text(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE 'SELECT %`gate`%' AND STATE LIKE '%metadata lock%'",
            )
            .await?;
        if blocked.as_deref().is_some_and(|n| n != "0") {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the baseline never reached shop.gate"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_answers_rows_older_than_capture() -> Result<()> {
    let Stack {
        db,
        agent,
        _shim,
        mut sq,
    } = Stack::start().await?;

    let before = step(&db, &["UPDATE shop.items SET qty = qty + 1 WHERE id = 1"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    expect_coverage_gap(&mut sq, &before.at).await?;
    check_unseen_before_baseline(&agent, &mut sq).await?;
    // A transaction between `before` and the baseline: `before` then lies before the baseline.
    step(&db, &["UPDATE shop.items SET qty = qty + 1 WHERE id = 6"]).await?;

    // A transaction open across the snapshot: begun before it, committed after it.
    let mut open = db.admin_conn().await?;
    open.query_drop("BEGIN").await?;
    open.query_drop("UPDATE shop.items SET qty = 999 WHERE id = 2")
        .await?;
    open.query_drop("INSERT INTO shop.items VALUES (100, 'late', 1, 1.00, NULL, NULL, NULL)")
        .await?;
    let mut lock = db.admin_conn().await?;
    lock.query_drop("LOCK TABLES shop.gate WRITE").await?;
    let baseline = {
        let bin = integration::workspace_binary("agent-core")?;
        tokio::process::Command::new(bin)
            .arg("--config")
            .arg(agent.config_path())
            .args([
                "baseline",
                "--source",
                "1",
                "--tables",
                "shop.items,shop.refs,shop.wide,shop.gate",
            ])
            .output()
    };
    let baseline = tokio::spawn(baseline);
    wait_for_blocked_baseline(&db).await?;
    open.query_drop("COMMIT").await?;
    lock.query_drop("UNLOCK TABLES").await?;
    let out = baseline.await??;
    ensure!(
        out.status.success(),
        "agent-core baseline failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        agent.log_tail(20)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    ensure!(
        printed
            .lines()
            .any(|l| l.starts_with("shop.items\t") && l.contains("\t40 rows\t")),
        "baseline output: {printed}"
    );
    // The schema read from information_schema must equal capture's (from TABLE_MAP metadata):
    // the manifest then names the index's schema version.
    let manifest = newest_manifest(&agent.data_dir(), "items")?;
    ensure!(
        manifest["schema_version"].is_u64() && manifest["rows"] == 40,
        "manifest: {manifest}"
    );
    let (qty2, has100) = read_baseline(&agent.data_dir(), "items")?;
    ensure!(
        (qty2.as_str(), has100) == ("6", false),
        "the baseline must hold the state before the open transaction committed: qty of id 2 = {qty2}, id 100 present = {has100}"
    );
    let after_open = record(&mut db.admin_conn().await?).await?;
    tokio::time::sleep(STEP_PAUSE).await;
    wait_caught_up_strict(&agent, &db).await?;
    check_snapshot(
        &mut sq,
        &after_open,
        "after the transaction open across the baseline",
    )
    .await?;
    check_flashback(
        &mut sq,
        &after_open,
        &[1, 2, 5, 100, 77],
        "after the open transaction",
    )
    .await?;
    check_untouched_table(&db, &agent, &mut sq, &after_open.at).await?;
    let message = expect_coverage_gap(&mut sq, &before.at).await?;
    ensure!(
        message.contains("the oldest baseline was taken at"),
        "{message}"
    );

    let changed = step(
        &db,
        &[
            "DELETE FROM shop.items WHERE id = 3",
            "UPDATE shop.items SET name = 'renamed', price = NULL WHERE id = 4",
            "INSERT INTO shop.items VALUES (41, 'new', 7, 0.50, NULL, 'a', NULL)",
        ],
    )
    .await?;
    let truncated = step(&db, &["TRUNCATE TABLE shop.items"]).await?;
    let refilled = step(
        &db,
        &["INSERT INTO shop.items VALUES (7, 'again', 1, 2.00, NULL, NULL, NULL)"],
    )
    .await?;
    wait_caught_up_strict(&agent, &db).await?;
    ensure!(truncated.rows.is_empty(), "TRUNCATE left rows");
    for (state, what) in [
        (&after_open, "after the baseline"),
        (&changed, "after changes"),
        (&truncated, "after TRUNCATE"),
        (&refilled, "after TRUNCATE and an INSERT"),
    ] {
        check_snapshot(&mut sq, state, what).await?;
    }
    check_flashback(&mut sq, &changed, &[2, 3, 4, 5, 41, 100], "after changes").await?;
    check_flashback(&mut sq, &truncated, &[2, 5, 7], "after TRUNCATE").await?;
    check_flashback(
        &mut sq,
        &refilled,
        &[2, 5, 7],
        "after TRUNCATE and an INSERT",
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mydumper_dump_becomes_a_baseline() -> Result<()> {
    let Stack {
        db,
        agent,
        _shim,
        mut sq,
    } = Stack::start().await?;
    let before = step(&db, &["UPDATE shop.items SET qty = qty + 1 WHERE id = 1"]).await?;
    wait_caught_up_strict(&agent, &db).await?;

    let dump = tempfile::tempdir()?;
    let out = tokio::process::Command::new("mydumper")
        .arg("--host=127.0.0.1")
        .arg(format!("--port={}", db.port()))
        .args([
            "--user=app",
            "--password=app",
            "--database=shop",
            "--tables-list=items,wide",
        ])
        .arg(format!("--outputdir={}", dump.path().display()))
        .output()
        .await
        .context("running mydumper (apt-get install mydumper)")?;
    ensure!(
        out.status.success(),
        "mydumper: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dumped = step(
        &db,
        &["UPDATE shop.items SET name = 'after dump' WHERE id = 9"],
    )
    .await?;
    wait_caught_up_strict(&agent, &db).await?;

    let dir = dump.path().to_string_lossy().into_owned();
    let printed = agent
        .cli(&["import-mydumper", "--source", "1", "--dir", &dir])
        .await?;
    ensure!(
        printed
            .lines()
            .any(|l| l.starts_with("shop.items\t") && l.contains("\t40 rows\t")),
        "import output: {printed}"
    );
    check_snapshot(&mut sq, &dumped, "after the dump").await?;
    // Untouched since capture began: answered from the imported dump alone (the shim refreshes
    // its table list every 5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    check_same(&mut db.admin_conn().await?, &mut sq, "wide", &dumped.at).await?;
    check_flashback(&mut sq, &dumped, &[1, 5, 9, 40], "after the dump").await?;
    // The dump is consistent with the state right after `before`'s transaction.
    check_snapshot(&mut sq, &before, "at the dump's position").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_after_baseline_follows_the_table() -> Result<()> {
    let Stack {
        db,
        agent,
        _shim,
        mut sq,
    } = Stack::start().await?;
    step(&db, &["UPDATE shop.items SET qty = qty + 1 WHERE id = 1"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    agent
        .cli(&["baseline", "--source", "1", "--tables", "shop.items"])
        .await?;
    let before_rename = step(&db, &["UPDATE shop.items SET qty = 0 WHERE id = 2"]).await?;
    let mut admin = db.admin_conn().await?;
    admin
        .query_drop("RENAME TABLE shop.items TO shop.goods")
        .await?;
    tokio::time::sleep(STEP_PAUSE).await;
    admin
        .query_drop("UPDATE shop.goods SET name = 'moved' WHERE id = 3")
        .await?;
    tokio::time::sleep(STEP_PAUSE).await;
    wait_caught_up_strict(&agent, &db).await?;
    // Under the old name, before the RENAME (asked of the agent: the shim lists live names only).
    let at: agent_api::value::DateTime = before_rename.at.parse()?;
    let mut stream = agent
        .client()
        .snapshot(&agent_api::snapshot::SnapshotRequest {
            server_id: 1,
            schema: "shop".into(),
            table: "items".into(),
            as_of_us: agent_api::time::unix_micros_from_datetime(&at),
            key: None,
        })
        .await?;
    let mut rows = Vec::new();
    while let Some(row) = stream.next_row().await? {
        rows.push(integration::canon::agent_row(&row));
    }
    let diff = diff_rows(&before_rename.names, &before_rename.rows, &rows);
    ensure!(
        diff.is_empty(),
        "shop.items before the RENAME:\n{}",
        diff.join("\n")
    );
    // The table under its new name: the baseline taken under the old one still anchors it.
    let now = now_text(&mut admin).await?;
    check_same(&mut admin, &mut sq, "goods", &now).await?;
    Ok(())
}

async fn now_text(conn: &mut Conn) -> Result<String> {
    conn.query_first("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        .await?
        .context("NOW(6)")
}
