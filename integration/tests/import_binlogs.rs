//! Issue 18 on a real MariaDB: binlog files imported with `agent-core import-binlogs` give the
//! same history as live capture of the same binlogs.
//!
//! One history (inserts, updates, a PK change, deletes, an `ALTER TABLE`, a multi-row
//! transaction) is written over three binlog files. Agent A captures it live; agent B imports
//! copies of the files, then resumes live capture from the import's checkpoint. Through a shim
//! each, every `_flashback`, `_snapshot` and `_diff` answer at every commit instant must be the
//! same, and so must `seq` and the GTID position. Importing the same files again changes nothing.
//! Agent C imports only the first file; the second is purged from the server before C's live
//! capture starts: C must record the gap and answer 1526 for a window across it.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

use std::path::Path;

use agent_api::time::format_unix_micros;
use anyhow::{ensure, Context, Result};
use integration::history::{instant_after, wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

type Rows = Vec<Vec<Option<String>>>;

fn cells(row: &Row) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| {
            row.get::<Option<Vec<u8>>, _>(i)
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .collect()
}

async fn query(conn: &mut Conn, sql: &str) -> Result<Rows> {
    let rows: Vec<Row> = conn.query(sql).await.with_context(|| sql.to_owned())?;
    Ok(rows.iter().map(cells).collect())
}

/// The binlog files of the server (`SHOW BINARY LOGS`), oldest first.
async fn binlogs(db: &MariaDb) -> Result<Vec<String>> {
    let rows = db.sql("SHOW BINARY LOGS").await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>())
}

/// Copies the named binlog files from the server's datadir into `dir`.
fn copy_binlogs(db: &MariaDb, names: &[String], dir: &Path) -> Result<()> {
    for name in names {
        std::fs::copy(db.datadir().join(name), dir.join(name))
            .with_context(|| format!("copying {name}"))?;
    }
    Ok(())
}

/// An agent for `db` whose live capture cannot start yet (its DSN points at a closed port), so
/// that its index is filled by `import-binlogs` first; [`enable_capture`] points it at `db`.
/// Returns the agent (stopped) and the closed address.
async fn importing_agent(db: &MariaDb, replica_id: u32) -> Result<(AgentCore, String)> {
    let closed = format!("127.0.0.1:{}", integration::free_port()?);
    let real = format!("127.0.0.1:{}", db.port());
    let mut agent = AgentCore::start_with(db, &["h"], |_, yaml| {
        ensure!(yaml.contains(&real), "DSN not found in agent.yaml");
        // Its own replica id: the server drops a replica connection when another registers
        // with the same id.
        let id = format!(
            "replica_server_id: {}",
            integration::agent::REPLICA_SERVER_ID
        );
        *yaml = yaml
            .replace(&real, &closed)
            .replace(&id, &format!("replica_server_id: {replica_id}"));
        Ok(())
    })
    .await?;
    agent.stop()?;
    Ok((agent, closed))
}

/// Points the agent's DSN back at `db` and starts it (live capture resumes from the checkpoint).
async fn enable_capture(agent: &mut AgentCore, closed: &str, db: &MariaDb) -> Result<()> {
    let path = agent.config_path();
    let yaml = std::fs::read_to_string(&path)?;
    std::fs::write(
        &path,
        yaml.replace(closed, &format!("127.0.0.1:{}", db.port())),
    )?;
    agent.restart().await
}

async fn import(agent: &AgentCore, dir: &Path, to: Option<&str>) -> Result<String> {
    let dir = dir.to_str().context("temp dir path is not UTF-8")?;
    let mut args = vec!["import-binlogs", "--source", "1", "--dir", dir];
    if let Some(to) = to {
        args.extend(["--to", to]);
    }
    agent.cli(&args).await
}

/// Every question asked of both agents: `_flashback` per key and `_snapshot` at each commit
/// instant, `_diff` per key over the whole history and over each step.
fn questions(instants: &[i64], keys: &[i64]) -> Vec<String> {
    let at = |us: i64| format_unix_micros(us);
    let mut out = Vec::new();
    for &t in instants {
        out.push(format!("SELECT * FROM _snapshot.t AS OF '{}'", at(t)));
        out.push(format!(
            "SELECT * FROM _flashback.t AS OF '{}' WHERE id IN ({})",
            at(t),
            keys.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ));
        for k in keys {
            out.push(format!(
                "SELECT * FROM _flashback.t AS OF '{}' WHERE id = {k}",
                at(t)
            ));
        }
    }
    let (first, last) = (instants[0] - 1_000_000, instants[instants.len() - 1]);
    for k in keys {
        out.push(format!(
            "SELECT event_time, event_type, gtid, binlog_file, binlog_pos, changed_columns, row_before, row_after FROM _diff.t BETWEEN '{}' AND '{}' WHERE id = {k}",
            at(first),
            at(last)
        ));
    }
    for w in instants.windows(2) {
        out.push(format!(
            "SELECT * FROM _diff.t BETWEEN '{}' AND '{}' WHERE id BETWEEN 0 AND 100",
            at(w[0]),
            at(w[1])
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_binlogs_answer_like_live_capture() -> Result<()> {
    let db = MariaDb::start().await?;
    let live = AgentCore::start(&db, &["h"]).await?;
    live.wait_connected().await?;
    let mut conn = db.admin_conn().await?;
    let mut clock = SyntheticClock::start(&db).await?;
    let mut instants = Vec::new();
    clock.tick(&mut conn).await?;
    conn.query_drop("CREATE DATABASE h").await?;
    conn.query_drop(
        "CREATE TABLE h.t (id INT PRIMARY KEY, u INT UNSIGNED, d DECIMAL(12,2), s VARCHAR(20), \
         ts DATETIME(6), b BLOB)",
    )
    .await?;
    // Binlog file 1.
    let steps_1 = [
        "INSERT INTO h.t VALUES (1, 4294967295, -12.50, 'one', '2024-01-02 03:04:05.678901', x'00ff'), \
         (2, 0, 0.01, 'twö', NULL, NULL), (3, 7, 99999.99, '', '1999-12-31 23:59:59', x'')",
        "UPDATE h.t SET u = u - 1, s = 'ONE' WHERE id = 1",
        "DELETE FROM h.t WHERE id = 2",
    ];
    for sql in steps_1 {
        instants.push(instant_after(clock.tick(&mut conn).await?));
        conn.query_drop(sql).await?;
    }
    let file_1 = binlogs(&db).await?;
    conn.query_drop("FLUSH BINARY LOGS").await?;
    // Binlog file 2: a PK change, a multi-row transaction, a schema change.
    instants.push(instant_after(clock.tick(&mut conn).await?));
    conn.query_drop("UPDATE h.t SET id = 20 WHERE id = 3")
        .await?;
    instants.push(instant_after(clock.tick(&mut conn).await?));
    conn.query_drop("BEGIN").await?;
    conn.query_drop("INSERT INTO h.t VALUES (4, 4, 4.00, 'four', NULL, NULL)")
        .await?;
    conn.query_drop("UPDATE h.t SET d = d + 1 WHERE id IN (1, 20)")
        .await?;
    conn.query_drop("COMMIT").await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("ALTER TABLE h.t ADD COLUMN extra INT NOT NULL DEFAULT 5")
        .await?;
    instants.push(instant_after(clock.tick(&mut conn).await?));
    conn.query_drop("UPDATE h.t SET extra = -5 WHERE id = 4")
        .await?;
    let files_2 = binlogs(&db).await?;
    conn.query_drop("FLUSH BINARY LOGS").await?;
    // Binlog file 3.
    instants.push(instant_after(clock.tick(&mut conn).await?));
    conn.query_drop("INSERT INTO h.t (id, u, s) VALUES (5, 5, 'five'), (6, 6, 'six')")
        .await?;
    instants.push(instant_after(clock.tick(&mut conn).await?));
    conn.query_drop("DELETE FROM h.t WHERE id IN (1, 5)")
        .await?;
    conn.query_drop("FLUSH BINARY LOGS").await?;
    let all = binlogs(&db).await?;
    clock.wait_until_past().await;
    wait_caught_up_strict(&live, &db).await?;
    ensure!(files_2.len() == file_1.len() + 1 && all.len() >= files_2.len() + 2);
    let first_file = file_1.last().context("no binlog")?.clone();
    let second_file = files_2.last().context("no binlog")?.clone();

    // Agent B: every file imported, then live capture from the import's checkpoint.
    let dir = tempfile::tempdir()?;
    copy_binlogs(&db, &all, dir.path())?;
    let (mut imported, closed_b) = importing_agent(&db, 4002).await?;
    let out = import(&imported, dir.path(), None).await?;
    ensure!(out.contains("imported "), "{out}");
    enable_capture(&mut imported, &closed_b, &db).await?;
    wait_caught_up_strict(&imported, &db).await?;
    let (a, b) = (live.source_health().await?, imported.source_health().await?);
    ensure!(
        a.seq == b.seq && a.gtid == b.gtid,
        "live seq {} gtid {:?}, imported seq {} gtid {:?}",
        a.seq,
        a.gtid,
        b.seq,
        b.gtid
    );
    ensure!(b.gaps.is_empty(), "import recorded gaps: {:?}", b.gaps);

    let tenants = [Tenant::new("app", "app", 1)];
    let shim_a = Shim::start(&live.url(), live.token(), &tenants).await?;
    let shim_b = Shim::start(&imported.url(), imported.token(), &tenants).await?;
    let mut ca = Conn::new(shim_a.mysql_opts("app", "app", Some("h"))).await?;
    let mut cb = Conn::new(shim_b.mysql_opts("app", "app", Some("h"))).await?;
    let keys = [1, 2, 3, 4, 5, 6, 20];
    let asked = questions(&instants, &keys);
    let mut non_empty = 0;
    for sql in &asked {
        let (ra, rb) = (query(&mut ca, sql).await?, query(&mut cb, sql).await?);
        ensure!(ra == rb, "{sql}\n live: {ra:?}\n import: {rb:?}");
        non_empty += usize::from(!ra.is_empty());
    }
    ensure!(
        non_empty * 2 > asked.len(),
        "most answers hold rows ({non_empty} of {})",
        asked.len()
    );
    // Spot check against the source: the last snapshot equals MariaDB's table. `extra` is left
    // out: a column added by ALTER TABLE reads as NULL for rows last written before it, where
    // MariaDB shows its DEFAULT (no row event records that value; a capture-side limit that
    // live capture and import share, see the report of this change).
    let cols = "id, u, d, s, ts, b";
    let last = format!(
        "SELECT {cols} FROM _snapshot.t AS OF '{}'",
        format_unix_micros(instants[instants.len() - 1])
    );
    let truth = query(&mut conn, &format!("SELECT {cols} FROM h.t ORDER BY id")).await?;
    let got = query(&mut cb, &last).await?;
    ensure!(
        got == truth,
        "import vs MariaDB:\n got {got:?}\nwant {truth:?}"
    );

    // Re-importing the same files changes nothing.
    imported.stop()?;
    let again = import(&imported, dir.path(), None).await?;
    ensure!(again.contains("imported 0 transactions"), "{again}");
    imported.restart().await?;
    wait_caught_up_strict(&imported, &db).await?;
    ensure!(imported.source_health().await?.seq == b.seq);
    for sql in asked.iter().step_by(7) {
        let (ra, rb) = (query(&mut ca, sql).await?, query(&mut cb, sql).await?);
        ensure!(
            ra == rb,
            "after re-import: {sql}\n live: {ra:?}\n import: {rb:?}"
        );
    }

    // Agent C: the first file imported, the second purged before live capture: a gap.
    let (mut partial, closed_c) = importing_agent(&db, 4003).await?;
    let out = import(&partial, dir.path(), Some(&first_file)).await?;
    ensure!(out.contains("imported "), "{out}");
    let third = all
        .iter()
        .find(|f| **f > second_file)
        .context("no third binlog")?;
    conn.query_drop(format!("PURGE BINARY LOGS TO '{third}'"))
        .await?;
    ensure!(!binlogs(&db).await?.contains(&second_file));
    enable_capture(&mut partial, &closed_c, &db).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let health = loop {
        let h = partial.source_health().await?;
        if !h.gaps.is_empty() || std::time::Instant::now() > deadline {
            break h;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    ensure!(
        health.gaps.len() == 1,
        "a gap after the purged {second_file}: {health:?}\n{}",
        partial.log_tail(30)
    );
    let shim_c = Shim::start(&partial.url(), partial.token(), &tenants).await?;
    let mut cc = Conn::new(shim_c.mysql_opts("app", "app", Some("h"))).await?;
    let across = format!(
        "SELECT * FROM _diff.t BETWEEN '{}' AND '{}' WHERE id = 1",
        format_unix_micros(instants[0]),
        format_unix_micros(instants[instants.len() - 1])
    );
    match cc.query::<Row, _>(&across).await {
        Err(mysql_async::Error::Server(e)) => {
            ensure!(e.code == 1526, "{across}: {e:?}")
        }
        other => anyhow::bail!("{across}: expected 1526, got {other:?}"),
    }
    // Before the gap the import answers like live capture; the gap starts right after the last
    // imported commit (instants[2] already lies in it).
    let before_gap = format!(
        "SELECT * FROM _snapshot.t AS OF '{}'",
        format_unix_micros(instants[1])
    );
    ensure!(
        query(&mut cc, &before_gap).await? == query(&mut ca, &before_gap).await?,
        "{before_gap}"
    );
    for c in [ca, cb, cc] {
        c.disconnect().await?;
    }
    conn.disconnect().await?;
    Ok(())
}
