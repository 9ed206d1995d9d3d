//! Reliability checks of agent-core against a real MariaDB, on loopback only, bounded in time and
//! size (the `reliability` command runs them with larger figures, `tests/reliability.rs` with
//! small ones):
//!
//! - **hostile names**: tables named `../../../../x`, an absolute path, `.hidden`, `a.b`, ``
//!   (empty is not allowed by MariaDB, so not tried) and a schema named `../s` go through
//!   baselines (taken twice with `keep: 1`, so pruning runs), `export` (sql, mydumper, parquet;
//!   the mydumper directory is loaded back with `myloader -B`), archive rotation and
//!   `import-mydumper`; sentinel directories where the raw names point must stay untouched and the
//!   agent's directory must hold nothing but `data/`, `archive/`, `agent.yaml` and `agent.log`;
//! - **imports outside `baselines.import_roots`** are refused with one message whether or not
//!   the path exists;
//! - **full disk**: the data dir on a small tmpfs filled up; `/health` must answer 503 with a
//!   reason and `/metrics` `agent_storage_failed 1`; once space is freed capture resumes by
//!   itself with every transaction exactly once;
//! - **SIGTERM latency**, healthy and with the disk full.
//!
//! Mounting tmpfs needs root (CAP_SYS_ADMIN). Where the machine refuses mounts (permission
//! denied) the full-disk part is reported as SKIPPED with the mount's message, never as passed;
//! `DBTRAIL_RELIABILITY_NO_MOUNT=1` skips it explicitly; any other mount failure fails the run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agent_api::baseline::{BaselineRequest, ImportRequest};
use agent_api::snapshot::SnapshotRequest;
use agent_api::ClientError;
use anyhow::{bail, ensure, Context, Result};
use mysql_async::prelude::Queryable;

use crate::agent::run_agent_cli;
use crate::{AgentCore, MariaDb};

/// The environment variable that lets the full-disk part be skipped where tmpfs cannot be
/// mounted.
pub const NO_MOUNT_ENV: &str = "DBTRAIL_RELIABILITY_NO_MOUNT";

/// How big the runs are.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Rows per hostile-named table.
    pub rows: usize,
    /// Transactions written while the disk is full (each about 8 KiB of row image).
    pub full_disk_txns: usize,
    /// Size of the tmpfs holding the data dir, MiB.
    pub tmpfs_mib: u64,
}

impl Options {
    /// The short form run by the test suite.
    pub fn short() -> Self {
        Self {
            rows: 20,
            full_disk_txns: 300,
            tmpfs_mib: 96,
        }
    }
}

/// Figures measured, one line each (`name: value`).
#[derive(Debug, Default)]
pub struct Report {
    /// `name: value` lines in the order measured.
    pub lines: Vec<String>,
}

impl Report {
    fn add(&mut self, name: &str, value: impl std::fmt::Display) {
        let line = format!("{name}: {value}");
        eprintln!("  {line}");
        self.lines.push(line);
    }
}

/// Runs every check; the first failure ends the run with its reason.
pub async fn run(opts: Options) -> Result<Report> {
    let mut report = Report::default();
    hostile_names(opts, &mut report)
        .await
        .context("hostile names")?;
    full_disk(opts, &mut report).await.context("full disk")?;
    Ok(report)
}

/// A directory tree as relative paths (files and directories), to compare before and after.
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if let Ok(rel) = p.strip_prefix(root) {
                out.insert(rel.to_path_buf());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    out
}

/// A sentinel directory holding `keep/marker`; [`sentinel_intact`] checks it afterwards.
fn make_sentinel(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("keep"))?;
    std::fs::write(dir.join("keep/marker"), b"must survive")?;
    Ok(())
}

fn sentinel_intact(dir: &Path) -> Result<()> {
    let t = tree(dir);
    let want: BTreeSet<PathBuf> = ["keep", "keep/marker"].iter().map(PathBuf::from).collect();
    ensure!(
        t == want,
        "sentinel {} changed: now holds {t:?}",
        dir.display()
    );
    ensure!(std::fs::read(dir.join("keep/marker"))? == b"must survive");
    Ok(())
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

async fn hostile_names(opts: Options, report: &mut Report) -> Result<()> {
    let started = Instant::now();
    let db = MariaDb::start().await?;
    let outside = tempfile::Builder::new()
        .prefix("dbtrail-sentinel-")
        .tempdir()?;
    let abs_target = outside.path().join("abs");
    make_sentinel(&abs_target)?;
    let abs_name = abs_target.to_string_lossy().into_owned();
    ensure!(
        abs_name.len() <= 64,
        "temp path {abs_name} too long for a table name"
    );
    let tables: Vec<(&str, String)> = vec![
        ("shop", "../../../../x".to_owned()),
        ("shop", abs_name.clone()),
        ("shop", ".hidden".to_owned()),
        ("shop", "a.b".to_owned()),
        ("shop", "caf\u{e9}-\u{4e2d}".to_owned()),
        ("../s", "t".to_owned()),
    ];
    let mut conn = db.admin_conn().await?;
    conn.query_drop("CREATE DATABASE shop").await?;
    conn.query_drop("CREATE DATABASE `../s`").await?;
    let agent = AgentCore::start_with(&db, &["shop", "../s"], |data_dir, yaml| {
        let agent_dir = data_dir.parent().context("agent dir")?;
        // `../../../../x` from data/baselines/1/shop/ is the agent dir's `x`.
        make_sentinel(&agent_dir.join("x"))?;
        *yaml = yaml.replace("baselines:\n", "baselines:\n  keep: 1\n");
        yaml.push_str(&format!(
            "archive:\n  url: \"file://{}\"\n",
            agent_dir.join("archive").display()
        ));
        Ok(())
    })
    .await?;
    let agent_dir = agent
        .data_dir()
        .parent()
        .context("agent dir")?
        .to_path_buf();
    for (schema, table) in &tables {
        let t = format!("{}.{}", quote(schema), quote(table));
        conn.query_drop(format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(40))"
        ))
        .await?;
        for i in 0..opts.rows {
            conn.query_drop(format!("INSERT INTO {t} VALUES ({i}, 'row {i}')"))
                .await?;
        }
    }
    agent.wait_caught_up(&db).await?;
    let client = agent.client();

    // Baselines twice (keep: 1): the second run prunes the first.
    let mut written = 0;
    let mut removed = 0;
    for _ in 0..2 {
        let resp = client
            .baselines(&BaselineRequest {
                server_id: 1,
                tables: Vec::new(),
            })
            .await
            .context("POST /v1/baselines")?;
        written += resp.baselines.len();
        removed += resp.removed.len();
        agent.wait_caught_up(&db).await?;
    }
    ensure!(
        written >= 2 * tables.len(),
        "{written} baselines written for {} tables",
        tables.len()
    );
    ensure!(
        removed >= tables.len(),
        "only {removed} old baselines pruned"
    );
    report.add(
        "hostile names: baselines written / pruned",
        format!("{written} / {removed}"),
    );

    // Every hostile table answers from its baseline + index: all its rows.
    let as_of_us = crate::agent::source_now_us(&db).await?;
    agent.wait_caught_up(&db).await?;
    for (schema, table) in &tables {
        let mut s = client
            .snapshot(&SnapshotRequest {
                server_id: 1,
                schema: (*schema).to_owned(),
                table: table.clone(),
                as_of_us,
                key: None,
            })
            .await
            .with_context(|| format!("snapshot of {schema}.{table}"))?;
        let mut n = 0;
        while s.next_row().await?.is_some() {
            n += 1;
        }
        ensure!(
            n == opts.rows,
            "{schema}.{table}: {n} rows, want {}",
            opts.rows
        );
    }

    // Exports of the tables in `shop` (the CLI's `schema.table` splits at the first dot).
    let out = tempfile::tempdir()?;
    let config = agent.config_path();
    let config = config.to_str().context("config path")?;
    let as_of = agent_api::time::format_unix_micros(as_of_us);
    let mut loaded = 0;
    for (i, (schema, table)) in tables.iter().enumerate().filter(|(_, t)| t.0 == "shop") {
        let name = format!("{schema}.{table}");
        for format in ["sql", "parquet", "mydumper"] {
            let path = out.path().join(format!("{i}.{format}"));
            let path_s = path.to_str().context("export path")?;
            run_agent_cli(&[
                "export", "--config", config, "--source", "1", "--table", &name, "--as-of", &as_of,
                "--format", format, "--out", path_s,
            ])
            .await
            .with_context(|| format!("export {format} of {name}"))?;
            ensure!(path.exists(), "export {format} of {name} wrote nothing");
        }
        // myloader loads the mydumper directory back (the file names are encoded, the
        // statements name the real table).
        let target = format!("loaded{i}");
        let dir = out.path().join(format!("{i}.mydumper"));
        myloader(&db, &dir, &target).await?;
        let count = db
            .sql_text(&format!(
                "SELECT COUNT(*) FROM {}.{}",
                quote(&target),
                quote(table)
            ))
            .await?;
        ensure!(
            count.as_deref() == Some(opts.rows.to_string().as_str()),
            "myloader loaded {count:?} rows of {name}"
        );
        loaded += 1;
    }
    report.add("hostile names: mydumper exports loaded by myloader", loaded);

    // Archive rotation of everything captured so far.
    let rotated = client
        .rotate_archives(&agent_api::archive::RotateRequest {
            older_than: Some("0s".into()),
            prune_older_than: None,
        })
        .await
        .context("rotation")?;
    ensure!(!rotated.files.is_empty(), "rotation wrote no file");
    for f in &rotated.files {
        ensure!(
            !f.path.contains("..") && f.path.split('/').count() == 4,
            "archive path {} is not server=/table=/date=/file",
            f.path
        );
    }
    report.add("hostile names: archive files", rotated.files.len());

    // import-mydumper of a real mydumper dump of the hostile `shop` tables mydumper can write
    // (mydumper 0.10 fails on names with `/`).
    let dump = tempfile::tempdir()?;
    let status = tokio::process::Command::new("mydumper")
        .args(["--user=root", "--database=shop"])
        .arg(format!("--socket={}", db.socket().display()))
        .arg("--regex=^shop[.][.]hidden$")
        .arg(format!("--outputdir={}", dump.path().display()))
        .output()
        .await
        .context("running mydumper")?;
    ensure!(
        status.status.success(),
        "mydumper: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    agent.wait_caught_up(&db).await?;
    let imported = client
        .import_mydumper(&ImportRequest {
            server_id: 1,
            dir: dump.path().to_string_lossy().into_owned(),
            tables: Vec::new(),
        })
        .await
        .context("import-mydumper of shop..hidden")?;
    ensure!(
        imported.baselines.len() == 1 && imported.baselines[0].table == ".hidden",
        "import wrote {:?}",
        imported.baselines
    );
    report.add(
        "hostile names: import-mydumper of shop..hidden",
        "1 baseline",
    );

    // Imports outside the roots: one answer whether or not the path exists.
    let mut answers = BTreeSet::new();
    for dir in ["/etc", "/nonexistent/dir", "/root", "relative/dir"] {
        match client
            .import_mydumper(&ImportRequest {
                server_id: 1,
                dir: dir.into(),
                tables: Vec::new(),
            })
            .await
        {
            Err(ClientError::Http {
                status,
                body: Some(body),
            }) => {
                answers.insert(format!("{status} {}", body.error.message));
            }
            other => bail!("import of {dir}: expected a refusal, got {other:?}"),
        }
    }
    ensure!(
        answers.len() == 1,
        "imports outside the roots answer differently: {answers:?}"
    );
    report.add(
        "import outside roots",
        answers.into_iter().next().unwrap_or_default(),
    );

    // Nothing outside data_dir was written or deleted.
    sentinel_intact(&agent_dir.join("x"))?;
    sentinel_intact(&abs_target)?;
    let top: BTreeSet<String> = std::fs::read_dir(&agent_dir)?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let allowed: BTreeSet<String> = ["data", "archive", "agent.yaml", "agent.log", "x"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    ensure!(
        top.is_subset(&allowed),
        "agent dir holds unexpected entries: {top:?}"
    );
    let outside_tree = tree(outside.path());
    ensure!(
        outside_tree.iter().all(|p| p.starts_with("abs")),
        "sentinel dir holds unexpected entries: {outside_tree:?}"
    );
    report.add("hostile names: sentinels intact", "yes");
    report.add(
        "hostile names: seconds",
        format!("{:.1}", started.elapsed().as_secs_f64()),
    );
    conn.disconnect().await.ok();
    Ok(())
}

/// `myloader -d <dir> -B <database>` as root over the socket.
async fn myloader(db: &MariaDb, dir: &Path, database: &str) -> Result<()> {
    let out = tokio::process::Command::new("myloader")
        .arg(format!("--socket={}", db.socket().display()))
        .args(["-u", "root", "-t", "1", "-B", database, "-d"])
        .arg(dir)
        .output()
        .await
        .context("running myloader (Debian's mydumper package)")?;
    ensure!(
        out.status.success(),
        "myloader failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

/// Whether a mount failure says the machine forbids mounts (no root, no CAP_SYS_ADMIN).
fn mount_not_permitted(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "permission denied",
        "not permitted",
        "must be superuser",
        "only root",
    ]
    .iter()
    .any(|p| m.contains(p))
}

/// A tmpfs mounted on a directory, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mib: u64) -> Result<Self> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .output()
            .context("running mount")?;
        if !out.status.success() {
            bail!(
                "cannot mount a tmpfs on {} ({}): the full-disk check needs root (CAP_SYS_ADMIN); \
                 set {NO_MOUNT_ENV}=1 to skip it explicitly",
                dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(Self(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills `dir` with a file until the disk is full, leaving at most `leave` bytes.
fn fill(dir: &Path, leave: u64) -> Result<PathBuf> {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path)?;
    let block = vec![0u8; 64 << 10];
    loop {
        if f.write_all(&block).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
    let len = f.metadata()?.len();
    drop(f);
    // Give back `leave` bytes so the index still opens and a little capture goes through.
    let f = std::fs::OpenOptions::new().write(true).open(&path)?;
    f.set_len(len.saturating_sub(leave))?;
    Ok(path)
}

/// Polls `/health` (raw HTTP, the status code matters) until `done(status, body)`.
async fn wait_health(
    agent: &AgentCore,
    what: &str,
    limit: Duration,
    done: impl Fn(u16, &str) -> bool,
) -> Result<(u16, String)> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + limit;
    loop {
        let last = http
            .get(format!("{}/health", agent.url()))
            .bearer_auth(agent.token())
            .send()
            .await;
        if let Ok(resp) = last {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            if done(status, &body) {
                return Ok((status, body));
            }
            if Instant::now() >= deadline {
                bail!(
                    "/health not {what} within {limit:?}: last {status} {body}; log:\n{}",
                    agent.log_tail(30)
                );
            }
        } else if Instant::now() >= deadline {
            bail!(
                "/health not {what} within {limit:?}: {last:?}; log:\n{}",
                agent.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn full_disk(opts: Options, report: &mut Report) -> Result<()> {
    let probe = tempfile::tempdir()?;
    let mounted = match Tmpfs::mount(probe.path(), 1) {
        Ok(m) => m,
        Err(e) if std::env::var_os(NO_MOUNT_ENV).is_some() => {
            report.add("full disk", format!("SKIPPED ({NO_MOUNT_ENV} set): {e}"));
            return Ok(());
        }
        // A machine that does not allow mounts at all (a container without CAP_SYS_ADMIN):
        // reported as skipped with the reason, as the check cannot run there; any other
        // mount failure fails the run.
        Err(e) if mount_not_permitted(&e.to_string()) => {
            eprintln!("full disk: SKIPPED, mount not permitted here: {e}");
            report.add("full disk", format!("SKIPPED (mount not permitted): {e}"));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    drop(mounted);

    let db = MariaDb::start().await?;
    let mut conn = db.admin_conn().await?;
    conn.query_drop("CREATE DATABASE shop").await?;
    let mut tmpfs = None;
    let mut agent = AgentCore::start_with(&db, &["shop"], |data_dir, _| {
        tmpfs = Some(Tmpfs::mount(data_dir, opts.tmpfs_mib)?);
        Ok(())
    })
    .await?;
    let tmpfs = tmpfs.context("tmpfs not mounted")?;
    agent.wait_caught_up(&db).await?;
    // Created while captured, so the index alone answers the whole table.
    conn.query_drop("CREATE TABLE shop.t (id INT PRIMARY KEY, v MEDIUMTEXT)")
        .await?;
    agent.wait_caught_up(&db).await?;

    // Healthy SIGTERM latency (then start again on the same data).
    let t = Instant::now();
    let status = agent.stop_within(Duration::from_secs(30))?;
    let healthy_stop = t.elapsed();
    ensure!(status.code().is_some(), "healthy agent killed: {status:?}");
    report.add("SIGTERM latency, healthy (ms)", healthy_stop.as_millis());
    agent.restart().await?;
    agent.wait_caught_up(&db).await?;
    let seq0 = agent.source_health().await?.seq;

    let filler = fill(&tmpfs.0, 256 << 10)?;
    // Incompressible values: the journal compresses, and `x` × 8 KiB would fit anywhere.
    let value = || -> String {
        use rand::Rng;
        rand::rng()
            .sample_iter(&rand::distr::Alphanumeric)
            .take(8 << 10)
            .map(char::from)
            .collect()
    };
    let mut written = 0u64;
    let started = Instant::now();
    for i in 0..opts.full_disk_txns {
        conn.exec_drop("INSERT INTO shop.t VALUES (?, ?)", (i as u64, value()))
            .await?;
        written += 1;
    }
    let (status, body) =
        wait_health(&agent, "503", Duration::from_secs(60), |s, _| s == 503).await?;
    report.add("full disk: /health", format!("{status} {body}"));
    ensure!(
        body.contains("\"success\":false") && body.contains("reason"),
        "503 without a reason: {body}"
    );
    let metrics = reqwest::Client::new()
        .get(format!("{}/metrics", agent.url()))
        .bearer_auth(agent.token())
        .send()
        .await?
        .text()
        .await?;
    ensure!(
        metrics.lines().any(|l| l == "agent_storage_failed 1"),
        "metrics lack agent_storage_failed 1"
    );
    report.add(
        "full disk: detected after (ms)",
        started.elapsed().as_millis(),
    );

    // Space returns: capture resumes by itself.
    std::fs::remove_file(&filler)?;
    let freed = Instant::now();
    wait_health(&agent, "200 again", Duration::from_secs(60), |s, _| {
        s == 200
    })
    .await?;
    agent.wait_caught_up(&db).await?;
    report.add(
        "full disk: resumed after space freed (ms)",
        freed.elapsed().as_millis(),
    );
    let seq1 = agent.source_health().await?.seq;
    ensure!(
        seq1 == seq0 + written,
        "seq {seq0} → {seq1} after {written} transactions: lost or doubled"
    );
    let as_of_us = crate::agent::source_now_us(&db).await?;
    agent.wait_caught_up(&db).await?;
    let flashback = agent
        .client()
        .snapshot(&SnapshotRequest {
            server_id: 1,
            schema: "shop".into(),
            table: "t".into(),
            as_of_us,
            key: None,
        })
        .await;
    let mut rows = 0;
    if let Ok(mut s) = flashback {
        while s.next_row().await?.is_some() {
            rows += 1;
        }
    }
    report.add(
        "full disk: rows answered after resume",
        format!("{rows} of {written}"),
    );
    ensure!(rows == written, "{rows} rows answered, {written} written");

    // SIGTERM with the disk full again.
    let filler = fill(&tmpfs.0, 256 << 10)?;
    for i in 0..opts.full_disk_txns {
        conn.exec_drop(
            "INSERT INTO shop.t VALUES (?, ?)",
            ((i + opts.full_disk_txns) as u64, value()),
        )
        .await?;
    }
    wait_health(&agent, "503", Duration::from_secs(60), |s, _| s == 503).await?;
    let t = Instant::now();
    let status = agent.stop_within(Duration::from_secs(30))?;
    let full_stop = t.elapsed();
    report.add("SIGTERM latency, disk full (ms)", full_stop.as_millis());
    ensure!(
        status.code().is_some(),
        "agent with a full disk needed SIGKILL: {status:?}"
    );
    ensure!(
        full_stop < Duration::from_secs(10),
        "SIGTERM took {full_stop:?}"
    );
    std::fs::remove_file(&filler).ok();
    conn.disconnect().await.ok();
    drop(tmpfs);
    drop(agent);
    Ok(())
}
