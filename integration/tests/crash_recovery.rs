//! Exactly-once capture under SIGKILL: a write load commits multi-statement, multi-table
//! transactions (ledger rows plus the balance updates they imply) while agent-core is killed with
//! SIGKILL at random moments and restarted on the same data dir, over and over.
//!
//! Afterwards agent-core must hold every committed transaction once: the ledger and the balances
//! equal MariaDB's, `/health` `seq` equals the number of row-changing transactions (a duplicate
//! would raise it), and at instants taken during the load every answer is a committed prefix:
//! ledger entries of whole transactions only, balances equal to the ledger's sum at that prefix.
//!
//! The seed of the random schedule is printed; set `DBTRAIL_CRASH_SEED` to replay one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agent_api::Value as ApiValue;
use anyhow::{bail, ensure, Context, Result};
use integration::canon::{agent_row, diff_rows, query_canon};
use integration::history::{flashback, wall_clock_us, whole_table};
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SCHEMA: &str = "bank";
const ACCOUNTS: i64 = 8;
const OPENING_BALANCE: i64 = 1_000;
/// SIGKILLs per run.
const KILLS: usize = 24;

/// One committed transaction of the load: its ledger entries and wall-clock bounds.
#[derive(Debug, Clone)]
struct Commit {
    /// 1-based, in commit order (one connection commits them one after another).
    no: u64,
    /// `(entry_no, src, dst, amount)` per ledger row.
    entries: Vec<(u64, i64, i64, i64)>,
    /// Wall clock before `BEGIN`, µs.
    started_us: i64,
    /// Wall clock after `COMMIT` returned, µs.
    ended_us: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transaction_once_across_sigkills() -> Result<()> {
    let seed = std::env::var("DBTRAIL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    eprintln!("crash schedule seed: DBTRAIL_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let db = MariaDb::start().await?;
    setup(&db).await?;
    let mut agent = AgentCore::start(&db, &[SCHEMA]).await?;
    // The setup's seqs: its row transaction, plus its CREATE TABLEs where capture records them.
    let setup_seq = agent.wait_caught_up(&db).await?.seq;
    ensure!(
        (1..=3).contains(&setup_seq),
        "setup (2 CREATE TABLE, 1 row transaction) took seq {setup_seq}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(write_load(
        db.tcp_opts("app", "app", Some(SCHEMA)),
        stop.clone(),
    ));
    let mut instants = Vec::new();
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..=400))).await;
        if kill % 3 == 0 {
            instants.push(wall_clock_us());
        }
        agent.kill9()?;
        agent
            .restart()
            .await
            .with_context(|| format!("restart after SIGKILL {}", kill + 1))?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let commits = load.await.context("load task panicked")??;
    ensure!(
        commits.len() > 100,
        "the load committed only {}",
        commits.len()
    );
    agent
        .wait_caught_up(&db)
        .await
        .context("catch-up after the last restart")?;
    eprintln!("{} commits under {KILLS} SIGKILLs", commits.len());

    let result = verify(&db, &agent, setup_seq, &commits, &instants).await;
    result.map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\n(seed {seed})\n---- agent-core log ----\n{}",
            agent.log_tail(30)
        )
    })
}

/// Accounts with the opening balance and the ledger's opening entry 0, in one transaction
/// (seq 1).
async fn setup(db: &MariaDb) -> Result<()> {
    let mut conn = db.admin_conn().await?;
    for sql in [
        format!("CREATE DATABASE {SCHEMA}"),
        format!("CREATE TABLE {SCHEMA}.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)"),
        format!(
            "CREATE TABLE {SCHEMA}.ledger (entry_no BIGINT UNSIGNED PRIMARY KEY, \
             commit_no BIGINT UNSIGNED NOT NULL, src INT NOT NULL, dst INT NOT NULL, \
             amount INT NOT NULL, created_at DATETIME(6) NOT NULL)"
        ),
    ] {
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    let values: Vec<String> = (1..=ACCOUNTS)
        .map(|id| format!("({id}, {OPENING_BALANCE})"))
        .collect();
    conn.query_drop("BEGIN").await?;
    conn.query_drop(format!(
        "INSERT INTO {SCHEMA}.accounts VALUES {}",
        values.join(", ")
    ))
    .await?;
    // The opening entry (no transfer) gives the ledger captured history from the start.
    conn.query_drop(format!(
        "INSERT INTO {SCHEMA}.ledger VALUES (0, 0, 0, 0, 0, NOW(6))"
    ))
    .await?;
    conn.query_drop("COMMIT").await?;
    conn.disconnect().await?;
    Ok(())
}

/// Commits transfers until `stop`: each transaction inserts 1–3 ledger rows and updates the two
/// balances of each. Returns every committed transaction in commit order.
async fn write_load(opts: mysql_async::Opts, stop: Arc<AtomicBool>) -> Result<Vec<Commit>> {
    let mut conn = Conn::new(opts).await?;
    let mut rng = StdRng::seed_from_u64(rand::random());
    let mut commits = Vec::new();
    let mut entry_no = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let no = commits.len() as u64 + 1;
        let mut entries = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            entry_no += 1;
            let src = rng.random_range(1..=ACCOUNTS);
            let dst = (src + rng.random_range(1..ACCOUNTS) - 1) % ACCOUNTS + 1;
            entries.push((entry_no, src, dst, rng.random_range(1..=50i64)));
        }
        let started_us = wall_clock_us();
        conn.query_drop("BEGIN").await?;
        for &(e, src, dst, amount) in &entries {
            conn.query_drop(format!(
                "INSERT INTO ledger VALUES ({e}, {no}, {src}, {dst}, {amount}, NOW(6))"
            ))
            .await?;
            conn.query_drop(format!(
                "UPDATE accounts SET balance = balance - {amount} WHERE id = {src}"
            ))
            .await?;
            conn.query_drop(format!(
                "UPDATE accounts SET balance = balance + {amount} WHERE id = {dst}"
            ))
            .await?;
        }
        conn.query_drop("COMMIT").await?;
        commits.push(Commit {
            no,
            entries,
            started_us,
            ended_us: wall_clock_us(),
        });
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    conn.disconnect().await?;
    Ok(commits)
}

async fn verify(
    db: &MariaDb,
    agent: &AgentCore,
    setup_seq: u64,
    commits: &[Commit],
    instants: &[i64],
) -> Result<()> {
    // One seq per captured transaction: the setup's plus one per load commit.
    let health = agent.source_health().await?;
    let want_seq = setup_seq + commits.len() as u64;
    ensure!(
        health.seq == want_seq,
        "/health seq {} but {want_seq} transactions were captured ({setup_seq} setup + {} load): {}",
        health.seq,
        commits.len(),
        if health.seq > want_seq {
            "duplicates"
        } else {
            "losses"
        }
    );

    // Everything, exactly, at an instant after the load.
    let after = wall_clock_us();
    let mut conn = db.admin_conn().await?;
    for (table, order) in [("ledger", "entry_no"), ("accounts", "id")] {
        let (names, want) = query_canon(
            &mut conn,
            &format!("SELECT * FROM {SCHEMA}.{table} ORDER BY {order}"),
        )
        .await?;
        let answer = flashback(agent, SCHEMA, table, after, whole_table()).await?;
        let got: Vec<_> = answer.rows.iter().map(|r| agent_row(r)).collect();
        let diffs = diff_rows(&names, &want, &got);
        ensure!(
            diffs.is_empty(),
            "{table} after the load differs from MariaDB ({} rows vs {}):\n{}",
            got.len(),
            want.len(),
            diffs
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    conn.disconnect().await?;

    let mut prefixes = Vec::new();
    for &at in instants {
        let n = check_prefix(agent, commits, at)
            .await
            .with_context(|| format!("as of {}", agent_api::time::format_unix_micros(at)))?;
        prefixes.push(n);
    }
    eprintln!("commits visible at the mid-load instants: {prefixes:?}");
    Ok(())
}

/// At a mid-load instant the ledger holds exactly the entries of commits `1..=n` for one `n`,
/// within the bounds the commit wall clocks allow, and every balance equals the opening balance
/// plus the ledger's transfers of those commits. Returns `n`.
async fn check_prefix(agent: &AgentCore, commits: &[Commit], at: i64) -> Result<u64> {
    let ledger = flashback(agent, SCHEMA, "ledger", at, whole_table()).await?;
    let mut by_entry: BTreeMap<u64, (u64, i64, i64, i64)> = BTreeMap::new();
    for row in &ledger.rows {
        let int = |i: usize| -> Result<i64> {
            match row.get(i) {
                Some(ApiValue::Int(v)) => Ok(*v),
                Some(ApiValue::UInt(v)) => i64::try_from(*v).context("too large"),
                other => bail!("ledger column {i} is {other:?}"),
            }
        };
        by_entry.insert(int(0)? as u64, (int(1)? as u64, int(2)?, int(3)?, int(4)?));
    }
    ensure!(
        by_entry.remove(&0) == Some((0, 0, 0, 0)),
        "the opening ledger entry is missing"
    );
    let n = by_entry.values().map(|e| e.0).max().unwrap_or(0);
    let visible = &commits[..n as usize];
    let expected: BTreeMap<u64, (u64, i64, i64, i64)> = visible
        .iter()
        .flat_map(|c| {
            c.entries
                .iter()
                .map(move |&(e, s, d, a)| (e, (c.no, s, d, a)))
        })
        .collect();
    ensure!(
        by_entry == expected,
        "the ledger is not the prefix of commits 1..={n}: {} entries, want {} \
         (missing {:?}, extra {:?})",
        by_entry.len(),
        expected.len(),
        expected
            .keys()
            .filter(|k| !by_entry.contains_key(k))
            .take(10)
            .collect::<Vec<_>>(),
        by_entry
            .keys()
            .filter(|k| !expected.contains_key(k))
            .take(10)
            .collect::<Vec<_>>()
    );
    // Commit times have 1 s resolution: a commit that ended a second before `at` is in, one that
    // started in a later second than `at` is out.
    let must = commits
        .iter()
        .filter(|c| c.ended_us <= at - 1_000_000)
        .count() as u64;
    let may = commits
        .iter()
        .filter(|c| c.started_us.div_euclid(1_000_000) <= at.div_euclid(1_000_000))
        .count() as u64;
    ensure!(
        (must..=may).contains(&n),
        "{n} commits visible, the commit clocks say between {must} and {may}"
    );

    let mut balances: BTreeMap<i64, i64> = (1..=ACCOUNTS).map(|id| (id, OPENING_BALANCE)).collect();
    for &(_, src, dst, amount) in expected.values() {
        *balances.entry(src).or_default() -= amount;
        *balances.entry(dst).or_default() += amount;
    }
    let accounts = flashback(agent, SCHEMA, "accounts", at, whole_table()).await?;
    let got: BTreeMap<i64, i64> = accounts
        .rows
        .iter()
        .map(|r| match (r.first(), r.get(1)) {
            (Some(ApiValue::Int(id)), Some(ApiValue::Int(b))) => Ok((*id, *b)),
            _ => bail!("accounts row {r:?}"),
        })
        .collect::<Result<_>>()?;
    ensure!(
        got == balances,
        "balances {got:?} are not the ledger's sums after commit {n}: {balances:?} \
         (a half-applied transaction)"
    );
    Ok(n)
}
