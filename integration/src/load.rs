//! Load and crash parts of the `reliability` command (issue 13's proof), against a real MariaDB,
//! agent-core and dbtrail-shim on loopback:
//!
//! - **clients**: `idle` logged-in sessions held open on the shim while `active` clients run
//!   point `AS OF` queries for a fixed time; every answer is checked against the known row.
//!   Reports QPS, p50/p99 latency, errors by MySQL code, wrong answers, whether every idle
//!   session still answers a ping afterwards, and the RSS of the shim, agent-core and mariadbd.
//! - **kill loop**: a writer commits single-row INSERTs and UPDATEs into MariaDB without pause
//!   while agent-core is killed with SIGKILL and restarted `kills` times, and MariaDB itself is
//!   restarted once in the middle. Afterwards the `_snapshot` of the table must equal MariaDB's
//!   rows (a lost or stale row is counted per key) and the number of transactions agent-core
//!   gave a seq must equal the row changes MariaDB holds (INSERTs + the UPDATE count kept in the
//!   row): a duplicate would raise it, a loss lower it.
//! - **SIGSTOP**: agent-core frozen; every query through the shim must fail with 2002 within
//!   `agent_timeout` (2 s here), then succeed again after SIGCONT.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use rand::{Rng, SeedableRng};

use crate::history::wait_caught_up_strict;
use crate::reliability::{Options, Report};
use crate::{AgentCore, MariaDb, Shim, Tenant};

const SCHEMA: &str = "load";
/// Rows of the table the active clients read.
const ROWS: i64 = 1_000;

/// Resident set size of a process in KiB (`VmRSS` of `/proc/<pid>/status`), 0 when unknown.
fn rss_kib(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `kill -<name> <pid>`.
fn signal(pid: u32, name: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    ensure!(status.success(), "kill -{name} {pid} failed");
    Ok(())
}

/// The MySQL error code of a failed query (0 for a client-side error).
fn code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(e) => e.code,
        _ => 0,
    }
}

/// Runs the three parts; the first failure ends the run.
pub async fn run(opts: Options, report: &mut Report) -> Result<()> {
    let mut db = MariaDb::start().await?;
    let mut agent = AgentCore::start(&db, &[SCHEMA]).await?;
    agent.wait_connected().await?;
    let mut conn = db.admin_conn().await?;
    conn.query_drop(format!("CREATE DATABASE {SCHEMA}")).await?;
    conn.query_drop(format!(
        "CREATE TABLE {SCHEMA}.t (id INT PRIMARY KEY, v BIGINT NOT NULL, s VARCHAR(64) NOT NULL)"
    ))
    .await?;
    for chunk in (1..=ROWS).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| format!("({i}, {}, 'row {i}')", i * 7))
            .collect();
        conn.query_drop(format!(
            "INSERT INTO {SCHEMA}.t VALUES {}",
            values.join(",")
        ))
        .await?;
    }
    conn.query_drop(format!(
        "CREATE TABLE {SCHEMA}.w (id BIGINT PRIMARY KEY, updates INT NOT NULL)"
    ))
    .await?;
    conn.disconnect().await?;
    wait_caught_up_strict(&agent, &db).await?;
    let tenants = [Tenant::new("app", "app", 1)];
    let extra = format!(
        "max_connections: {}\nagent_timeout: 2s\n",
        opts.idle_clients + opts.active_clients + 50
    );
    let shim = Shim::start_with(&agent.url(), agent.token(), &tenants, &extra).await?;
    clients(opts, &db, &agent, &shim, report)
        .await
        .context("idle and active clients")?;
    sigstop(&agent, &shim, report).await.context("SIGSTOP")?;
    kill_loop(opts, &mut db, &mut agent, &shim, report)
        .await
        .context("kill -9 loop under writes")?;
    Ok(())
}

async fn clients(
    opts: Options,
    db: &MariaDb,
    agent: &AgentCore,
    shim: &Shim,
    report: &mut Report,
) -> Result<()> {
    let started = Instant::now();
    let mut idle = Vec::with_capacity(opts.idle_clients);
    for _ in 0..opts.idle_clients {
        idle.push(Conn::new(shim.mysql_opts("app", "app", Some(SCHEMA))).await?);
    }
    report.add(
        "idle sessions logged in",
        format!("{} in {:.1} s", idle.len(), started.elapsed().as_secs_f64()),
    );
    let as_of = agent_api::time::format_unix_micros(crate::history::wall_clock_us());
    let stop = Arc::new(AtomicBool::new(false));
    let wrong = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..opts.active_clients {
        let opts_c = shim.mysql_opts("app", "app", Some(SCHEMA));
        let (stop, wrong, as_of) = (stop.clone(), wrong.clone(), as_of.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(c as u64);
            let mut lat = Vec::new();
            let mut errors: BTreeMap<u16, u64> = BTreeMap::new();
            let mut conn = match Conn::new(opts_c).await {
                Ok(c) => c,
                Err(e) => {
                    *errors.entry(code(&e)).or_default() += 1;
                    return (lat, errors);
                }
            };
            while !stop.load(Ordering::Relaxed) {
                let id = rng.random_range(1..=ROWS);
                let sql = format!("SELECT v, s FROM _flashback.t AS OF '{as_of}' WHERE id = {id}");
                let t = Instant::now();
                match conn.query::<(i64, String), _>(&sql).await {
                    Ok(rows) => {
                        lat.push(t.elapsed().as_micros() as u64);
                        if rows != [(id * 7, format!("row {id}"))] {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => *errors.entry(code(&e)).or_default() += 1,
                }
            }
            conn.disconnect().await.ok();
            (lat, errors)
        }));
    }
    let load_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(opts.load_seconds)).await;
    let (shim_rss, agent_rss, db_rss) =
        (rss_kib(shim.pid()), rss_kib(agent.pid()), rss_kib(db.pid()));
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    let mut errors: BTreeMap<u16, u64> = BTreeMap::new();
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        for (k, v) in e {
            *errors.entry(k).or_default() += v;
        }
    }
    let secs = load_started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)));
    let mut idle_alive = 0;
    for c in &mut idle {
        if c.ping().await.is_ok() {
            idle_alive += 1;
        }
    }
    for c in idle {
        c.disconnect().await.ok();
    }
    report.add(
        "active clients",
        format!(
            "{} for {secs:.1} s beside {} idle sessions",
            opts.active_clients, opts.idle_clients
        ),
    );
    report.add("point AS OF QPS", format!("{:.0}", lat.len() as f64 / secs));
    report.add(
        "point AS OF latency p50 / p99",
        format!(
            "{:.2} ms / {:.2} ms",
            pct(0.5).copied().unwrap_or(0) as f64 / 1000.0,
            pct(0.99).copied().unwrap_or(0) as f64 / 1000.0
        ),
    );
    report.add(
        "errors by code",
        if errors.is_empty() {
            "none".to_owned()
        } else {
            format!("{errors:?}")
        },
    );
    report.add("wrong answers", wrong.load(Ordering::Relaxed));
    report.add(
        "idle sessions answering a ping afterwards",
        format!("{idle_alive} of {}", opts.idle_clients),
    );
    report.add(
        "RSS under load: shim / agent-core / mariadbd",
        format!("{} / {} / {}", mib(shim_rss), mib(agent_rss), mib(db_rss)),
    );
    ensure!(errors.is_empty(), "errors under load: {errors:?}");
    ensure!(
        wrong.load(Ordering::Relaxed) == 0,
        "wrong answers under load"
    );
    ensure!(
        idle_alive == opts.idle_clients,
        "idle sessions were dropped"
    );
    ensure!(!lat.is_empty(), "no query answered");
    Ok(())
}

async fn sigstop(agent: &AgentCore, shim: &Shim, report: &mut Report) -> Result<()> {
    let mut conn = Conn::new(shim.mysql_opts("app", "app", Some(SCHEMA))).await?;
    let sql = "SELECT v FROM _flashback.t AS OF NOW() WHERE id = 1";
    let pid = agent.pid().context("agent pid")?;
    signal(pid, "STOP")?;
    let mut slowest = Duration::ZERO;
    let outcome: Result<()> = async {
        for _ in 0..5 {
            let t = Instant::now();
            match conn.query_drop(sql).await {
                Err(e) if code(&e) == 2002 => {}
                other => bail!("while stopped: expected 2002, got {other:?}"),
            }
            slowest = slowest.max(t.elapsed());
        }
        Ok(())
    }
    .await;
    signal(pid, "CONT")?;
    outcome?;
    ensure!(
        slowest < Duration::from_secs(6),
        "a query waited {slowest:?} on a stopped agent (agent_timeout 2 s)"
    );
    let v: Option<i64> = conn.query_first(sql).await.context("after SIGCONT")?;
    ensure!(v == Some(7), "after SIGCONT: {v:?}");
    conn.disconnect().await?;
    report.add(
        "agent SIGSTOP: 5 queries answered 2002, slowest",
        format!(
            "{:.2} s (agent_timeout 2 s); reads again after SIGCONT",
            slowest.as_secs_f64()
        ),
    );
    Ok(())
}

/// The writer of the kill loop: INSERT a new key, or UPDATE a random earlier one (`updates` + 1),
/// one autocommit statement each, reconnecting after any error (the source may restart).
async fn writer(db_opts: mysql_async::Opts, stop: Arc<AtomicBool>, seed: u64) -> (u64, u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut next, mut errors, mut ok) = (1u64, 0u64, 0u64);
    let mut conn: Option<Conn> = None;
    while !stop.load(Ordering::Relaxed) {
        let c = match &mut conn {
            Some(c) => c,
            None => match Conn::new(db_opts.clone()).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let sql = if next == 1 || rng.random_bool(0.6) {
            next += 1;
            format!("INSERT INTO {SCHEMA}.w VALUES ({}, 0)", next - 1)
        } else {
            let id = rng.random_range(1..next);
            format!("UPDATE {SCHEMA}.w SET updates = updates + 1 WHERE id = {id}")
        };
        match c.query_drop(&sql).await {
            Ok(()) => ok += 1,
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
    }
    if let Some(c) = conn {
        c.disconnect().await.ok();
    }
    (ok, errors)
}

async fn kill_loop(
    opts: Options,
    db: &mut MariaDb,
    agent: &mut AgentCore,
    shim: &Shim,
    report: &mut Report,
) -> Result<()> {
    let seed = std::env::var("DBTRAIL_RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    report.add("kill loop seed (DBTRAIL_RELIABILITY_SEED)", seed);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let seq_before = agent.source_health().await?.seq;
    let stop = Arc::new(AtomicBool::new(false));
    let writer_task = tokio::spawn(writer(db.admin_opts(), stop.clone(), seed));
    let started = Instant::now();
    let mut restarts_ms = Vec::new();
    for k in 0..opts.kills {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..700))).await;
        agent.kill9()?;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
        if k == opts.kills / 2 {
            // The source restarts while the agent is down and the writer keeps trying.
            db.restart(&[]).await.context("restarting MariaDB")?;
        }
        let t = Instant::now();
        agent.restart().await?;
        restarts_ms.push(t.elapsed().as_millis() as u64);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let (writes_ok, write_errors) = writer_task.await?;
    let load_secs = started.elapsed().as_secs_f64();
    wait_caught_up_strict(agent, db).await?;

    // What the source holds, and what agent-core reconstructs now.
    let mut admin = db.admin_conn().await?;
    let truth: Vec<(i64, i64)> = admin
        .query(format!("SELECT id, updates FROM {SCHEMA}.w ORDER BY id"))
        .await?;
    admin.disconnect().await?;
    let mut client = Conn::new(shim.mysql_opts("app", "app", Some(SCHEMA))).await?;
    let rows: Vec<Row> = client
        .query("SELECT id, updates FROM _snapshot.w AS OF NOW()")
        .await?;
    client.disconnect().await?;
    let got: BTreeMap<i64, Vec<i64>> = rows.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r.get::<i64, _>(0).unwrap_or(-1))
            .or_default()
            .push(r.get::<i64, _>(1).unwrap_or(-1));
        m
    });
    let want: BTreeMap<i64, i64> = truth.iter().copied().collect();
    let lost = want
        .iter()
        .filter(|(id, u)| got.get(id).is_none_or(|g| g.first() != Some(u)))
        .count();
    let duplicated = got.values().filter(|g| g.len() > 1).count()
        + got.keys().filter(|id| !want.contains_key(id)).count();
    // One seq per committed statement: an INSERT per row plus each row's UPDATE count.
    let changes: i64 = truth.iter().map(|(_, u)| 1 + u).sum();
    let seq_after = agent.source_health().await?.seq;
    let captured = seq_after - seq_before;
    restarts_ms.sort_unstable();
    report.add(
        "kill loop",
        format!(
            "{} SIGKILLs of agent-core + 1 MariaDB restart over {load_secs:.1} s; writer: {writes_ok} statements acknowledged, {write_errors} failed (source down)",
            opts.kills
        ),
    );
    report.add(
        "agent restart to /health, median / max",
        format!(
            "{} ms / {} ms",
            restarts_ms.get(restarts_ms.len() / 2).copied().unwrap_or(0),
            restarts_ms.last().copied().unwrap_or(0)
        ),
    );
    report.add(
        "rows in MariaDB / row changes it holds / transactions captured",
        format!("{} / {changes} / {captured}", truth.len()),
    );
    report.add("rows lost or stale", lost);
    report.add("rows duplicated or invented", duplicated);
    ensure!(
        lost == 0 && duplicated == 0,
        "lost {lost}, duplicated {duplicated}"
    );
    ensure!(
        captured == changes as u64,
        "{captured} transactions captured for {changes} committed row changes"
    );
    Ok(())
}
