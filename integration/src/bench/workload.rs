//! The OLTP table, its history (N rows × M versions) and the fixed write workload.
//!
//! The history goes to `bench.orders` (binlogged, captured by agent-core) and, with
//! `sql_log_bin = 0`, to `bench_native.orders WITH SYSTEM VERSIONING` (MariaDB's own time travel),
//! round by round. Between rounds the runner records the source's `NOW(6)` and sleeps 1.1 s:
//! binlog times are whole seconds, so every transaction of round v has a commit time ≤ instant v
//! and every transaction of round v+1 one > instant v, for both systems.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use integration::MariaDb;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::opts::Opts;

/// Schema captured by agent-core.
pub const SCHEMA: &str = "bench";
/// Schema of the system-versioned copy (not captured).
pub const NATIVE_SCHEMA: &str = "bench_native";
/// The history table's name in both schemas.
pub const TABLE: &str = "orders";
/// Pause after each version round, longer than the 1 s resolution of binlog event times.
const ROUND_GAP: Duration = Duration::from_millis(1_100);

/// The built history.
#[derive(Debug, Clone)]
pub struct History {
    /// Instant after version round v (index v-1), µs since the epoch (source clock, UTC).
    pub instants_us: Vec<i64>,
    /// Row events written to the binlog (rows × versions).
    pub events: u64,
    /// Transactions in the captured schema (DDL included).
    pub transactions: u64,
    /// Seconds to apply the history to the binlogged table only.
    pub plain_seconds: f64,
    /// Seconds to apply the same history to the system-versioned table.
    pub versioned_seconds: f64,
    /// Mean logical row size in bytes (sum of column lengths; numbers at their binary size).
    pub avg_row_bytes: f64,
}

/// `CREATE TABLE` of the 15-column order table (~380 bytes a row), optionally system-versioned.
pub fn create_table_sql(schema: &str, table: &str, versioned: bool) -> String {
    format!(
        "CREATE TABLE `{schema}`.`{table}` (
           id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
           customer_id INT UNSIGNED NOT NULL,
           status VARCHAR(16) NOT NULL,
           amount DECIMAL(12,2) NOT NULL,
           currency CHAR(3) NOT NULL,
           quantity INT NOT NULL,
           discount DOUBLE NULL,
           email VARCHAR(100) NOT NULL,
           name VARCHAR(80) NOT NULL,
           address VARCHAR(160) NOT NULL,
           note VARCHAR(200) NULL,
           shipping VARCHAR(40) NOT NULL,
           created_at DATETIME(6) NOT NULL,
           updated_at DATETIME(6) NOT NULL,
           version INT NOT NULL
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4{}",
        if versioned {
            " WITH SYSTEM VERSIONING"
        } else {
            ""
        }
    )
}

/// Index of the `version` column in `SELECT *` (the plain and versioned tables alike).
pub const VERSION_COLUMN: usize = 14;

/// Inserts rows `lo..=hi` (ids from MariaDB's SEQUENCE engine) with version 1. Every value is a
/// function of the id (no `NOW()`), so the source and the versioned twin hold the same rows and
/// the runner can compare answers in full.
fn insert_sql(schema: &str, table: &str, lo: u64, hi: u64) -> String {
    format!(
        "INSERT INTO `{schema}`.`{table}` SELECT seq, (seq * 7919) % 100003, 'new', \
           ROUND((seq % 10000) / 7 + 0.99, 2), ELT(1 + seq % 3, 'EUR', 'USD', 'GBP'), \
           1 + seq % 20, (seq % 100) / 400, \
           CONCAT('user', seq, '@', LEFT(MD5(seq), 10), '.example.com'), \
           CONCAT('Customer ', LEFT(SHA1(seq), 16), ' ', seq), \
           CONCAT(seq % 9999, ' ', LEFT(SHA2(seq, 256), 32), ' Street, Apt ', seq % 300, \
                  ', Springfield, ', 10000 + seq % 89999, ', United States'), \
           CONCAT('web checkout; gift wrap ', IF(seq % 2, 'yes', 'no'), '; ref ', \
                  SHA2(seq, 256), ' ', LEFT(MD5(seq + 1), 24)), \
           'standard ground shipping', \
           TIMESTAMP('2026-01-01') + INTERVAL seq SECOND + INTERVAL seq % 999983 MICROSECOND, \
           TIMESTAMP('2026-01-01') + INTERVAL seq SECOND + INTERVAL seq % 999983 MICROSECOND, 1 \
         FROM `{schema}`.seq_{lo}_to_{hi}"
    )
}

/// Moves rows `lo..=hi` to version `v`: status, amount, quantity, discount, updated_at change.
fn update_sql(schema: &str, table: &str, v: u32, lo: u64, hi: u64) -> String {
    format!(
        "UPDATE `{schema}`.`{table}` SET \
           status = ELT(1 + (id + {v}) % 4, 'paid', 'shipped', 'delivered', 'returned'), \
           amount = amount + 1.25, quantity = quantity + 1, discount = (id + {v}) % 100 / 400, \
           updated_at = TIMESTAMP('2026-02-01') + INTERVAL {v} DAY + INTERVAL id % 999983 MICROSECOND, \
           version = {v} \
         WHERE id BETWEEN {lo} AND {hi}"
    )
}

/// The table capture never saw created: loaded, then its binlogs purged, before capture starts;
/// only a baseline (plus the changes captured after it) answers for it as a whole.
pub const BASE_TABLE: &str = "orders_base";

/// Creates `bench.orders_base` with `rows` rows at version 1 (the [`TABLE`] shape), then
/// rotates and purges every older binlog so capture starts after its `CREATE TABLE` and inserts.
/// Runs before [`create_tables`] (whose binlogs capture must see).
pub async fn preload_base_table(db: &MariaDb, opts: &Opts) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    for sql in [
        format!("CREATE DATABASE IF NOT EXISTS {SCHEMA}"),
        create_table_sql(SCHEMA, BASE_TABLE, false),
    ] {
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    let mut lo = 1;
    while lo <= opts.rows {
        let hi = (lo + opts.batch - 1).min(opts.rows);
        let sql = insert_sql(SCHEMA, BASE_TABLE, lo, hi);
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
        lo = hi + 1;
    }
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let logs: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
    let newest = logs.last().context("no binary logs")?.0.clone();
    // MariaDB keeps a binlog until InnoDB's binlog checkpoint has passed it: retry the purge.
    for _ in 0..100 {
        conn.query_drop(format!("PURGE BINARY LOGS TO '{newest}'"))
            .await?;
        let left: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await?;
        if left.len() == 1 {
            conn.disconnect().await.ok();
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("PURGE BINARY LOGS TO '{newest}' kept older binlogs")
}

/// Changes the first `rows` rows of `bench.orders_base` once (version 2), one transaction per
/// `batch` rows: the changes a baseline-backed snapshot merges over the baseline.
pub async fn change_base_table(db: &MariaDb, rows: u64, batch: u64) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    let mut lo = 1;
    while lo <= rows {
        let hi = (lo + batch - 1).min(rows);
        let sql = update_sql(SCHEMA, BASE_TABLE, 2, lo, hi);
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
        lo = hi + 1;
    }
    conn.disconnect().await.ok();
    Ok(())
}

/// Sizes MariaDB for the run: a buffer pool that holds both tables.
pub async fn tune_server(db: &MariaDb) -> Result<()> {
    db.sql("SET GLOBAL innodb_buffer_pool_size = 1073741824")
        .await?;
    Ok(())
}

/// Creates both schemas and tables (the captured one first, after capture could start).
pub async fn create_tables(db: &MariaDb) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    for sql in [
        format!("CREATE DATABASE IF NOT EXISTS {SCHEMA}"),
        create_table_sql(SCHEMA, TABLE, false),
    ] {
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    conn.query_drop("SET SESSION sql_log_bin = 0").await?;
    for sql in [
        format!("CREATE DATABASE {NATIVE_SCHEMA}"),
        create_table_sql(NATIVE_SCHEMA, TABLE, true),
    ] {
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    conn.disconnect().await.ok();
    Ok(())
}

/// Applies the history to both tables, recording the instant after each version round.
pub async fn build_history(db: &MariaDb, opts: &Opts) -> Result<History> {
    let mut plain = db.admin_conn().await?;
    let mut native = db.admin_conn().await?;
    native.query_drop("SET SESSION sql_log_bin = 0").await?;
    let (mut plain_secs, mut native_secs) = (0.0, 0.0);
    let mut instants_us = Vec::new();
    let mut transactions = 2; // CREATE DATABASE, CREATE TABLE
    for v in 1..=opts.versions {
        plain_secs += apply_round(&mut plain, SCHEMA, v, opts).await?;
        native_secs += apply_round(&mut native, NATIVE_SCHEMA, v, opts).await?;
        transactions += opts.rows.div_ceil(opts.batch);
        instants_us.push(source_now_us(&mut plain).await?);
        eprintln!(
            "  version {v}/{}: {:.1} s plain, {:.1} s versioned so far",
            opts.versions, plain_secs, native_secs
        );
        tokio::time::sleep(ROUND_GAP).await;
    }
    let avg_row_bytes = avg_row_bytes(&mut plain).await?;
    plain.disconnect().await.ok();
    native.disconnect().await.ok();
    Ok(History {
        instants_us,
        events: opts.events(),
        transactions,
        plain_seconds: plain_secs,
        versioned_seconds: native_secs,
        avg_row_bytes,
    })
}

/// One version round over all rows in `--batch` sized transactions; its duration in seconds.
async fn apply_round(conn: &mut Conn, schema: &str, v: u32, opts: &Opts) -> Result<f64> {
    let started = Instant::now();
    let mut lo = 1;
    while lo <= opts.rows {
        let hi = (lo + opts.batch - 1).min(opts.rows);
        let sql = if v == 1 {
            insert_sql(schema, TABLE, lo, hi)
        } else {
            update_sql(schema, TABLE, v, lo, hi)
        };
        conn.query_drop(&sql)
            .await
            .with_context(|| format!("version {v} of {schema}.{TABLE} rows {lo}..={hi}"))?;
        lo = hi + 1;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The source's `NOW(6)` in µs since the epoch.
pub async fn source_now_us(conn: &mut Conn) -> Result<i64> {
    let now: Option<i64> = conn
        .query_first("SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)")
        .await?;
    now.context("NOW(6) returned no row")
}

async fn avg_row_bytes(conn: &mut Conn) -> Result<f64> {
    let sql = format!(
        "SELECT CAST(AVG(8 + 4 + LENGTH(status) + 6 + 3 + 4 + 8 + LENGTH(email) + LENGTH(name) \
           + LENGTH(address) + LENGTH(note) + LENGTH(shipping) + 8 + 8 + 4) AS DOUBLE) \
         FROM `{SCHEMA}`.`{TABLE}`"
    );
    let avg: Option<f64> = conn.query_first(sql).await?;
    Ok(avg.unwrap_or(0.0))
}

/// Fixed write workload on a fresh table `schema.table`: `rows` inserted then each updated once,
/// `batch` rows a transaction. Returns row changes per second.
pub async fn write_workload(
    db: &MariaDb,
    schema: &str,
    table: &str,
    versioned: bool,
    opts: &Opts,
) -> Result<f64> {
    let mut conn = db.admin_conn().await?;
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {schema}"))
        .await?;
    conn.query_drop(create_table_sql(schema, table, versioned))
        .await?;
    let started = Instant::now();
    for v in 1..=2 {
        let mut lo = 1;
        while lo <= opts.write_rows {
            let hi = (lo + opts.batch - 1).min(opts.write_rows);
            let sql = if v == 1 {
                insert_sql(schema, table, lo, hi)
            } else {
                update_sql(schema, table, v, lo, hi)
            };
            conn.query_drop(&sql).await.with_context(|| sql.clone())?;
            lo = hi + 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    conn.disconnect().await.ok();
    Ok(2.0 * opts.write_rows as f64 / secs)
}
