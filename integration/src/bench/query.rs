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
    /// Answers whose row count was not 1 or whose `version` differed from the expected one, and
    /// (after [`verify_points`]) answers whose rows differ from MariaDB's for the same question.
    pub wrong: usize,
    /// Every answer, kept for [`verify_points`] (emptied by it).
    pub answers: Vec<PointAnswer>,
    /// The first few differences [`verify_points`] found.
    pub differences: Vec<String>,
}

/// One point answer: key, instant index and the rows as received.
#[derive(Debug, Clone)]
pub struct PointAnswer {
    /// The `id` asked for.
    pub id: u64,
    /// Index into the run's instants.
    pub instant: usize,
    /// The rows as received (text protocol: bytes; binary protocol: typed values).
    pub rows: Vec<Vec<mysql_async::Value>>,
}

/// A value in full: text when UTF-8, else its debug form.
fn show(v: &mysql_async::Value) -> String {
    match v {
        mysql_async::Value::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
        other => format!("{other:?}"),
    }
}

/// Asks MariaDB (`native`, the system-versioned twin) every question of `run` again, over the
/// same protocol, after the timed phase, and counts each answer whose rows differ in any value
/// as wrong (every column, exact bytes or values).
pub async fn verify_points(
    native: &MyOpts,
    instants_us: &[i64],
    prepared: bool,
    run: &mut PointRun,
) -> Result<()> {
    let instants: Vec<String> = instants_us.iter().map(|&t| time_literal(t)).collect();
    let mut conn = Conn::new(native.clone()).await?;
    let mut statements: HashMap<usize, Statement> = HashMap::new();
    for a in std::mem::take(&mut run.answers) {
        let want: Vec<Row> = if prepared {
            let stmt = match statements.get(&a.instant) {
                Some(s) => s.clone(),
                None => {
                    let s = conn
                        .prep(statement_sql(Target::Native, &instants[a.instant], None))
                        .await?;
                    statements.insert(a.instant, s.clone());
                    s
                }
            };
            conn.exec(&stmt, (a.id,)).await?
        } else {
            conn.query(statement_sql(
                Target::Native,
                &instants[a.instant],
                Some(a.id),
            ))
            .await?
        };
        let want: Vec<Vec<mysql_async::Value>> = want.into_iter().map(Row::unwrap).collect();
        if want != a.rows {
            run.wrong += 1;
            if run.differences.len() < 5 {
                let cells: Vec<String> = match (want.first(), a.rows.first()) {
                    (Some(w), Some(g)) if want.len() == 1 && a.rows.len() == 1 => w
                        .iter()
                        .zip(g)
                        .enumerate()
                        .filter(|(_, (x, y))| x != y)
                        .map(|(i, (x, y))| {
                            format!("column {i}: MariaDB {}, shim {}", show(x), show(y))
                        })
                        .collect(),
                    _ => vec![format!(
                        "MariaDB {} rows, shim {}",
                        want.len(),
                        a.rows.len()
                    )],
                };
                run.differences.push(format!(
                    "id {} as of {}: {}",
                    a.id,
                    instants[a.instant],
                    cells.join("; ")
                ));
            }
        }
    }
    conn.disconnect().await.ok();
    Ok(())
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
    let mut answers = Vec::with_capacity(queries);
    for task in tasks {
        let (lat, w, a) = task.await.context("query task panicked")??;
        latencies.extend(lat);
        wrong += w;
        answers.extend(a);
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
        answers,
        differences: Vec::new(),
    })
}

/// One connection's share: latencies in µs, the count of wrong answers, every answer.
async fn client_loop(
    mut conn: Conn,
    target: Target,
    rows: u64,
    instants: &[String],
    queries: usize,
    prepared: bool,
    seed: u64,
) -> Result<(Vec<u64>, usize, Vec<PointAnswer>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut statements: HashMap<usize, Statement> = HashMap::new();
    let mut latencies = Vec::with_capacity(queries);
    let mut wrong = 0;
    let mut answers = Vec::with_capacity(queries);
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
        answers.push(PointAnswer {
            id,
            instant: v,
            rows: result.into_iter().map(Row::unwrap).collect(),
        });
    }
    conn.disconnect().await.ok();
    Ok((latencies, wrong, answers))
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
    /// Order-independent checksum of the rows as received over the text protocol (wrapping sum
    /// of a hash of each row's values); `None` on the agent HTTP path.
    pub checksum: Option<u64>,
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
        Ok((rows, checksum)) => Ok(SnapshotRun {
            path: "shim".into(),
            rows,
            seconds: started.elapsed().as_secs_f64(),
            shim_error: None,
            checksum: Some(checksum),
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
                checksum: None,
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
    let (rows, checksum) = stream_rows(db, &sql).await?;
    Ok(SnapshotRun {
        path: "native".into(),
        rows,
        seconds: started.elapsed().as_secs_f64(),
        shim_error: None,
        checksum: Some(checksum),
    })
}

/// Streams `sql`: the row count and the order-independent checksum of the rows' values.
async fn stream_rows(opts: &MyOpts, sql: &str) -> Result<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let mut conn = Conn::new(opts.clone()).await?;
    let mut rows = 0u64;
    let mut checksum = 0u64;
    {
        let mut result = conn.query_iter(sql).await?;
        while let Some(row) = result.next().await? {
            let mut h = std::hash::DefaultHasher::new();
            for v in row.unwrap() {
                match v {
                    mysql_async::Value::NULL => 0u8.hash(&mut h),
                    mysql_async::Value::Bytes(b) => {
                        1u8.hash(&mut h);
                        b.hash(&mut h);
                    }
                    other => format!("{other:?}").hash(&mut h),
                }
            }
            checksum = checksum.wrapping_add(h.finish());
            rows += 1;
        }
    }
    conn.disconnect().await.ok();
    Ok((rows, checksum))
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
