//! Point `AS OF` lookups and whole-table snapshots, through the shim and natively.

use std::collections::HashMap;
use std::time::Instant;

use agent_api::snapshot::SnapshotRequest;
use agent_api::AgentClient;
use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts as MyOpts, Row, Statement};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::workload::{NATIVE_SCHEMA, SCHEMA, TABLE, VERSION_COLUMN};

/// Which system answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `_flashback.orders AS OF '<t>'` through dbtrail-shim.
    Shim,
    /// `bench_native.orders FOR SYSTEM_TIME AS OF TIMESTAMP '<t>'` on MariaDB.
    Native,
}

/// Latency and throughput of one point-query run.
#[derive(Debug, Clone)]
pub struct PointRun {
    /// Concurrent client connections.
    pub concurrency: usize,
    /// Queries answered.
    pub queries: usize,
    /// Queries per second over the wall time.
    pub qps: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Answers whose row count was not 1 or whose `version` differed from the expected one.
    pub wrong: usize,
}

/// `'YYYY-MM-DD HH:MM:SS.ffffff'` (UTC) of µs since the epoch.
pub fn time_literal(us: i64) -> String {
    agent_api::time::format_unix_micros(us)
}

fn statement_sql(target: Target, instant: &str, id: Option<u64>) -> String {
    let key = id.map_or_else(|| "?".to_owned(), |k| k.to_string());
    match target {
        Target::Shim => {
            format!("SELECT * FROM _flashback.{TABLE} AS OF '{instant}' WHERE id = {key}")
        }
        Target::Native => format!(
            "SELECT * FROM {NATIVE_SCHEMA}.{TABLE} FOR SYSTEM_TIME AS OF TIMESTAMP '{instant}' \
             WHERE id = {key}"
        ),
    }
}

/// Runs `queries` random point lookups (key uniform in 1..=rows, instant uniform among
/// `instants_us`; the expected `version` is the instant's round) from `concurrency` connections.
#[allow(clippy::too_many_arguments)]
pub async fn point_queries(
    opts: &MyOpts,
    target: Target,
    rows: u64,
    instants_us: &[i64],
    queries: usize,
    concurrency: usize,
    prepared: bool,
    seed: u64,
) -> Result<PointRun> {
    let instants: Vec<String> = instants_us.iter().map(|&t| time_literal(t)).collect();
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        conns.push(Conn::new(opts.clone()).await.context("connecting")?);
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for (i, conn) in conns.into_iter().enumerate() {
        let share = queries / concurrency + usize::from(i < queries % concurrency);
        let instants = instants.clone();
        let seed = seed.wrapping_add(i as u64);
        tasks.push(tokio::spawn(async move {
            client_loop(conn, target, rows, &instants, share, prepared, seed).await
        }));
    }
    let mut latencies = Vec::with_capacity(queries);
    let mut wrong = 0;
    for task in tasks {
        let (lat, w) = task.await.context("query task panicked")??;
        latencies.extend(lat);
        wrong += w;
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(PointRun {
        concurrency,
        queries: latencies.len(),
        qps: latencies.len() as f64 / wall,
        p50_us: percentile(&latencies, 50.0),
        p99_us: percentile(&latencies, 99.0),
        wrong,
    })
}

/// One connection's share: latencies in µs and the count of wrong answers.
async fn client_loop(
    mut conn: Conn,
    target: Target,
    rows: u64,
    instants: &[String],
    queries: usize,
    prepared: bool,
    seed: u64,
) -> Result<(Vec<u64>, usize)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut statements: HashMap<usize, Statement> = HashMap::new();
    let mut latencies = Vec::with_capacity(queries);
    let mut wrong = 0;
    for _ in 0..queries {
        let id = rng.random_range(1..=rows);
        let v = rng.random_range(0..instants.len());
        let started = Instant::now();
        let result: Vec<Row> = if prepared {
            let stmt = match statements.get(&v) {
                Some(s) => s.clone(),
                None => {
                    let s = conn.prep(statement_sql(target, &instants[v], None)).await?;
                    statements.insert(v, s.clone());
                    s
                }
            };
            conn.exec(&stmt, (id,)).await?
        } else {
            conn.query(statement_sql(target, &instants[v], Some(id)))
                .await
                .with_context(|| statement_sql(target, &instants[v], Some(id)))?
        };
        latencies.push(started.elapsed().as_micros() as u64);
        if !answer_is(&result, v as i64 + 1) {
            wrong += 1;
        }
    }
    conn.disconnect().await.ok();
    Ok((latencies, wrong))
}

/// One row whose `version` column is `expected` (text or binary protocol value).
fn answer_is(rows: &[Row], expected: i64) -> bool {
    let [row] = rows else { return false };
    match row.as_ref(VERSION_COLUMN) {
        Some(mysql_async::Value::Int(n)) => *n == expected,
        Some(mysql_async::Value::UInt(n)) => *n as i64 == expected,
        Some(mysql_async::Value::Bytes(b)) => b == expected.to_string().as_bytes(),
        _ => false,
    }
}

/// The `p`th percentile of sorted samples (nearest rank), 0 for none.
pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// A whole-table read.
#[derive(Debug, Clone)]
pub struct SnapshotRun {
    /// How the rows came: `"shim"`, `"agent HTTP, shim n/a"` or `"native"`.
    pub path: String,
    /// Rows streamed.
    pub rows: u64,
    /// Wall seconds.
    pub seconds: f64,
    /// Why the shim path was not used, when it was not.
    pub shim_error: Option<String>,
}

/// `SELECT * FROM _snapshot.<table> AS OF '<t>'` (a table of `bench`) through the shim,
/// streamed; falls back to agent-core's `/v1/snapshot` when the shim refuses it.
pub async fn snapshot_dbtrail(
    shim: &MyOpts,
    agent: &AgentClient,
    table: &str,
    as_of_us: i64,
) -> Result<SnapshotRun> {
    let sql = format!(
        "SELECT * FROM _snapshot.{table} AS OF '{}'",
        time_literal(as_of_us)
    );
    let started = Instant::now();
    match stream_rows(shim, &sql).await {
        Ok(rows) => Ok(SnapshotRun {
            path: "shim".into(),
            rows,
            seconds: started.elapsed().as_secs_f64(),
            shim_error: None,
        }),
        Err(e) => {
            let shim_error = format!("{e:#}");
            let started = Instant::now();
            let request = SnapshotRequest {
                server_id: 1,
                schema: SCHEMA.into(),
                table: table.into(),
                as_of_us,
                key: None,
            };
            let mut stream = agent.snapshot(&request).await?;
            let mut rows = 0;
            while stream.next_row().await?.is_some() {
                rows += 1;
            }
            Ok(SnapshotRun {
                path: "agent HTTP, shim n/a".into(),
                rows,
                seconds: started.elapsed().as_secs_f64(),
                shim_error: Some(shim_error),
            })
        }
    }
}

/// `SELECT * ... FOR SYSTEM_TIME AS OF TIMESTAMP '<t>'` on MariaDB, streamed.
pub async fn snapshot_native(db: &MyOpts, as_of_us: i64) -> Result<SnapshotRun> {
    let sql = format!(
        "SELECT * FROM {NATIVE_SCHEMA}.{TABLE} FOR SYSTEM_TIME AS OF TIMESTAMP '{}'",
        time_literal(as_of_us)
    );
    let started = Instant::now();
    let rows = stream_rows(db, &sql).await?;
    Ok(SnapshotRun {
        path: "native".into(),
        rows,
        seconds: started.elapsed().as_secs_f64(),
        shim_error: None,
    })
}

async fn stream_rows(opts: &MyOpts, sql: &str) -> Result<u64> {
    let mut conn = Conn::new(opts.clone()).await?;
    let mut rows = 0u64;
    {
        let mut result = conn.query_iter(sql).await?;
        while let Some(row) = result.next().await? {
            drop(row);
            rows += 1;
        }
    }
    conn.disconnect().await.ok();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
