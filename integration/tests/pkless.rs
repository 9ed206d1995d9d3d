//! Tables without a primary key are bags: `_snapshot` and `agent-core export` return every row as
//! many times as the source held it, at every instant, from the index alone and merged with a
//! baseline. A table with a UNIQUE NOT NULL key and no PK is identified by that key, as InnoDB
//! and replication do, so `_flashback` reads it by that key.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use integration::canon::{diff_rows, mysql_row, CanonRow};
use integration::history::wait_caught_up_strict;
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// Pause after each step: MariaDB commit times have 1 s resolution.
const STEP_PAUSE: Duration = Duration::from_millis(1200);

/// Both bag tables: `pre` exists before capture begins (its binlogs purged: only a baseline knows
/// its rows), `bag` is created after (the index holds it whole). `b` is case-insensitive: 'x' and
/// 'X' are different rows of a bag all the same.
const COLUMNS: &str =
    "(a INT NULL, b VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL, c DECIMAL(6,2) NULL)";

/// The same statements run on both tables (`{t}` is the table): duplicates in multi-row
/// INSERTs, `UPDATE`/`DELETE … LIMIT 1` of one of several identical rows, multi-row UPDATE and
/// DELETE of duplicates, an `INSERT … SELECT` doubling rows, a row updated to equal another.
const STEPS: &[&[&str]] = &[
    &["INSERT INTO shop.{t} VALUES (1, 'x', 1.00), (1, 'x', 1.00), (2, 'y', NULL), (1, 'x', 1.00)"],
    &["INSERT INTO shop.{t} VALUES (1, 'X', 1.00), (3, 'x ', 1.00)"],
    &["UPDATE shop.{t} SET c = 5 WHERE a = 1 AND b = 'x' AND BINARY b = 'x' LIMIT 1"],
    &["DELETE FROM shop.{t} WHERE a = 1 AND BINARY b = 'x' AND c = 1.00 LIMIT 1"],
    &["UPDATE shop.{t} SET a = a + 10 WHERE a IN (1, 2)"],
    &[
        "INSERT INTO shop.{t} SELECT * FROM shop.{t} WHERE a = 11",
        "DELETE FROM shop.{t} WHERE a = 12",
    ],
    &["UPDATE shop.{t} SET c = 1.00 WHERE c = 5 LIMIT 1"],
    &["DELETE FROM shop.{t} WHERE a = 11 AND BINARY b = 'x' LIMIT 2"],
    &["DELETE FROM shop.{t} WHERE BINARY b = 'X'"],
    // Rows only `pre`'s baseline holds: one of two identical ones deleted, another updated.
    &["DELETE FROM shop.{t} WHERE a = 7 AND BINARY b = 'p' LIMIT 1"],
    &["UPDATE shop.{t} SET c = 8 WHERE a = 7 LIMIT 1"],
];

/// `pre` and `prealt` exist before capture (a baseline knows their rows), `bag` and `alt` are
/// created after; `alt` and `prealt` then go through [`ALTER_STEPS`] (two schema versions).
const TABLES: [&str; 4] = ["pre", "bag", "prealt", "alt"];

/// A column added (NULL for the rows already there, as the binlog cannot show), then rows of both
/// versions deleted, inserted and updated.
const ALTER_STEPS: &[&[&str]] = &[
    // Capture learns the new columns from the next row event's TABLE_MAP: both in one step.
    &[
        "ALTER TABLE shop.{t} ADD COLUMN d INT NULL",
        "DELETE FROM shop.{t} WHERE a = 11 LIMIT 1",
    ],
    &["INSERT INTO shop.{t} (a, b, c, d) VALUES (11, 'x', 1.00, 4), (11, 'x', 1.00, 4), (7, 'p', 7.00, NULL)"],
    &["UPDATE shop.{t} SET d = 5 WHERE a = 7 LIMIT 2"],
    &["DELETE FROM shop.{t} WHERE d = 4 LIMIT 1"],
];

/// The real table at an instant, sorted (a bag has no order).
struct State {
    at: String,
    names: Vec<String>,
    rows: Vec<CanonRow>,
}

fn sorted(mut rows: Vec<CanonRow>) -> Vec<CanonRow> {
    rows.sort();
    rows
}

async fn now_text(conn: &mut Conn) -> Result<String> {
    conn.query_first("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        .await?
        .context("NOW(6)")
}

/// Records the time and the whole real table `shop.<table>`.
async fn record(conn: &mut Conn, table: &str) -> Result<State> {
    let at = now_text(conn).await?;
    let (names, rows) = query_canon(conn, &format!("SELECT * FROM shop.{table}")).await?;
    Ok(State {
        at,
        names,
        rows: sorted(rows),
    })
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

/// `sql` through the shim must return exactly `want` (as a bag: order ignored).
async fn expect_bag(shim: &mut Conn, sql: &str, names: &[String], want: &[CanonRow]) -> Result<()> {
    let (got_names, got) = query_canon(shim, sql)
        .await
        .with_context(|| sql.to_owned())?;
    ensure!(
        got_names == names,
        "{sql}: columns {got_names:?}, expected {names:?}"
    );
    let diff = diff_rows(names, want, &sorted(got));
    ensure!(diff.is_empty(), "{sql}\n{}", diff.join("\n"));
    Ok(())
}

/// Fills `shop.pre` (duplicates included) and the UNIQUE NOT NULL table, then rotates and purges
/// the binlogs so capture never sees their CREATE.
async fn history_before_capture(db: &MariaDb) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    for sql in [
        "CREATE DATABASE shop".to_owned(),
        format!("CREATE TABLE shop.pre {COLUMNS}"),
        "INSERT INTO shop.pre VALUES (7, 'p', 7.00), (7, 'p', 7.00), (7, 'P', 7.00), (8, NULL, NULL)"
            .to_owned(),
        "CREATE TABLE shop.prealt LIKE shop.pre".to_owned(),
        "INSERT INTO shop.prealt SELECT * FROM shop.pre".to_owned(),
        "CREATE TABLE shop.uq (n INT NULL, code VARCHAR(8) NOT NULL, note VARCHAR(20) NULL, UNIQUE KEY (code))"
            .to_owned(),
        "INSERT INTO shop.uq VALUES (1, 'a', 'one'), (1, 'b', 'one'), (NULL, 'c', NULL)".to_owned(),
    ] {
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
    let newest = logs.last().context("no binary logs")?.0.clone();
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

/// Expects `sql` to fail on the shim with MySQL error `code`; returns the message.
async fn expect_error(shim: &mut Conn, sql: &str, code: u16) -> Result<String> {
    match shim.query_drop(sql).await {
        Err(mysql_async::Error::Server(e)) if e.code == code => Ok(e.message),
        other => bail!("{sql}: {other:?}, expected error {code}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_without_a_pk_are_bags_at_every_instant() -> Result<()> {
    let db = MariaDb::start().await?;
    history_before_capture(&db).await?;
    let agent = AgentCore::start(&db, &["shop"]).await?;
    let mut real = db.admin_conn().await?;
    real.query_drop(format!("CREATE TABLE shop.bag {COLUMNS}"))
        .await?;
    real.query_drop(format!("CREATE TABLE shop.alt {COLUMNS}"))
        .await?;
    // A change before the baseline: the baseline must hold the state after it.
    real.query_drop("DELETE FROM shop.pre WHERE a = 8").await?;
    real.query_drop("DELETE FROM shop.prealt WHERE a = 8")
        .await?;
    wait_caught_up_strict(&agent, &db).await?;
    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let mut sq = Conn::new(shim.mysql_opts("app", "app", Some("shop"))).await?;

    // Before any baseline `pre` is not known whole.
    let at = now_text(&mut real).await?;
    expect_error(
        &mut sq,
        &format!("SELECT * FROM _snapshot.pre AS OF '{at}'"),
        1526,
    )
    .await?;
    let printed = agent
        .cli(&[
            "baseline",
            "--source",
            "1",
            "--tables",
            "shop.pre,shop.prealt,shop.uq",
        ])
        .await?;
    ensure!(
        printed
            .lines()
            .any(|l| l.starts_with("shop.pre\t") && l.contains("\t3 rows\t")),
        "baseline output: {printed}"
    );
    tokio::time::sleep(STEP_PAUSE).await;

    let mut states: Vec<(&str, State)> = Vec::new();
    // The row changes of `bag`'s statements: what `_diff` must list.
    let mut bag_changes = 0u64;
    for table in TABLES {
        states.push((table, record(&mut real, table).await?));
    }
    tokio::time::sleep(STEP_PAUSE).await;
    let altered = STEPS.len();
    for (i, step) in STEPS.iter().chain(ALTER_STEPS).enumerate() {
        // The ALTER steps run on `alt` and `prealt` only.
        let tables = TABLES.iter().filter(|t| i < altered || t.contains("alt"));
        for table in tables.clone() {
            for sql in *step {
                let sql = sql.replace("{t}", table);
                real.query_drop(&sql).await.with_context(|| sql.clone())?;
                if *table == "bag" {
                    // A bag row has no identity to keep: `_diff` shows an UPDATE of it as the
                    // DELETE of the old row and the INSERT of the new one.
                    let per_row = if sql.starts_with("UPDATE") { 2 } else { 1 };
                    bag_changes += per_row * real.affected_rows();
                }
            }
        }
        for table in tables {
            states.push((*table, record(&mut real, table).await?));
        }
        tokio::time::sleep(STEP_PAUSE).await;
    }
    wait_caught_up_strict(&agent, &db).await?;
    ensure!(
        states
            .iter()
            .any(|(_, s)| s.rows.windows(2).any(|w| w[0] == w[1])),
        "the history never held duplicate rows"
    );
    for (table, state) in &states {
        let sql = format!("SELECT * FROM _snapshot.{table} AS OF '{}'", state.at);
        expect_bag(&mut sq, &sql, &state.names, &state.rows).await?;
        // A filter is applied to each row of the bag, duplicates included.
        let sql = format!(
            "SELECT * FROM _snapshot.{table} AS OF '{}' WHERE a > 1",
            state.at
        );
        let want: Vec<CanonRow> = state
            .rows
            .iter()
            .filter(|r| r[0].parse::<i64>().is_ok_and(|a| a > 1))
            .cloned()
            .collect();
        expect_bag(&mut sq, &sql, &state.names, &want).await?;
    }

    // No key to look rows up by: `_flashback` is refused, naming `_snapshot`.
    let last = &states
        .iter()
        .rev()
        .find(|(t, _)| *t == "bag")
        .context("no states")?
        .1;
    let message = expect_error(
        &mut sq,
        &format!(
            "SELECT * FROM _flashback.bag AS OF '{}' WHERE a = 11",
            last.at
        ),
        1064,
    )
    .await?;
    ensure!(message.contains("no primary key"), "{message}");
    // `_diff` lists every row change of the window (a multi-row statement: one per row; an
    // UPDATE: a DELETE and an INSERT).
    let first = &states
        .iter()
        .find(|(t, _)| *t == "bag")
        .context("no states")?
        .1;
    let (_, changes) = query_canon(
        &mut sq,
        &format!(
            "SELECT * FROM _diff.bag BETWEEN '{}' AND '{}'",
            // MariaDB commit times are whole seconds: the first change may share `first`'s.
            &first.at[..19],
            last.at
        ),
    )
    .await?;
    ensure!(
        changes.len() as u64 == bag_changes && bag_changes > 10,
        "_diff.bag: {} changes, the statements made {bag_changes}: {changes:?}",
        changes.len()
    );

    // `agent-core export` of a bag, loaded back, is the table as it was.
    let dir = tempfile::tempdir()?;
    let newest: Vec<&(&str, State)> = TABLES
        .iter()
        .filter_map(|t| states.iter().rev().find(|(n, _)| n == t))
        .collect();
    for (table, state) in newest {
        let out = dir.path().join(format!("{table}.sql"));
        agent
            .cli(&[
                "export",
                "--source",
                "1",
                "--table",
                &format!("shop.{table}"),
                "--as-of",
                &state.at,
                "--format",
                "sql",
                "--out",
                out.to_str().context("path")?,
            ])
            .await?;
        let sql = std::fs::read_to_string(&out)?;
        let database = format!("exp_{table}");
        real.query_drop(format!("CREATE DATABASE {database}"))
            .await?;
        integration::cli::mariadb_cli(db.port(), "app", "app", Some(&database), &sql)
            .await
            .with_context(|| format!("loading:\n{sql}"))?;
        let (_, loaded) =
            query_canon(&mut real, &format!("SELECT * FROM {database}.{table}")).await?;
        let diff = diff_rows(&state.names, &state.rows, &sorted(loaded));
        ensure!(diff.is_empty(), "export of {table}:\n{}", diff.join("\n"));
    }

    // UNIQUE NOT NULL without a PK: that key is the identity, `_flashback` reads by it.
    let before = record(&mut real, "uq").await?;
    tokio::time::sleep(STEP_PAUSE).await;
    for sql in [
        "UPDATE shop.uq SET note = 'changed', n = 2 WHERE code = 'a'",
        "INSERT INTO shop.uq VALUES (1, 'd', 'one')",
        "DELETE FROM shop.uq WHERE code = 'b'",
    ] {
        real.query_drop(sql).await?;
    }
    let after = record(&mut real, "uq").await?;
    tokio::time::sleep(STEP_PAUSE).await;
    wait_caught_up_strict(&agent, &db).await?;
    let tables = agent
        .client()
        .tables(&agent_api::catalog::TablesQuery {
            server_id: 1,
            schema: Some("shop".into()),
        })
        .await?;
    let uq = tables
        .tables
        .iter()
        .find(|t| t.name == "uq")
        .context("shop.uq not listed")?;
    ensure!(
        uq.primary_key == ["code"],
        "shop.uq key: {:?}",
        uq.primary_key
    );
    for state in [&before, &after] {
        let sql = format!("SELECT * FROM _snapshot.uq AS OF '{}'", state.at);
        expect_bag(&mut sq, &sql, &state.names, &state.rows).await?;
        let sql = format!(
            "SELECT * FROM _flashback.uq AS OF '{}' WHERE code IN ('a', 'b', 'd', 'zz')",
            state.at
        );
        let want: Vec<CanonRow> = state
            .rows
            .iter()
            .filter(|r| ["a", "b", "d"].contains(&r[1].as_str()))
            .cloned()
            .collect();
        expect_bag(&mut sq, &sql, &state.names, &want).await?;
    }

    // Rows far longer than an index key may be (64 KiB): identical ones still count twice.
    real.query_drop("CREATE TABLE shop.longrows (n INT NULL, t MEDIUMTEXT NULL)")
        .await?;
    let mut long_states = Vec::new();
    for sql in [
        "INSERT INTO shop.longrows VALUES (1, REPEAT('a', 100000)), (1, REPEAT('a', 100000)), (1, CONCAT(REPEAT('a', 99999), 'b'))",
        "DELETE FROM shop.longrows WHERE t = REPEAT('a', 100000) LIMIT 1",
        "UPDATE shop.longrows SET n = 2 LIMIT 1",
    ] {
        real.query_drop(sql).await.with_context(|| sql.to_owned())?;
        long_states.push(record(&mut real, "longrows").await?);
        tokio::time::sleep(STEP_PAUSE).await;
    }
    wait_caught_up_strict(&agent, &db).await?;
    for state in &long_states {
        let sql = format!("SELECT * FROM _snapshot.longrows AS OF '{}'", state.at);
        expect_bag(&mut sq, &sql, &state.names, &state.rows).await?;
    }
    Ok(())
}
