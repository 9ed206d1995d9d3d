//! `bench`: one run measures capture throughput, point `AS OF` latency, whole-table snapshots,
//! index size and source write overhead against a private MariaDB, with MariaDB's own
//! `WITH SYSTEM VERSIONING` time travel (and `mariadb-binlog`) as the reference.
//!
//! Build the product binaries in the same profile first, then run:
//! `cargo build --release -p agent-core -p dbtrail-shim -p integration &&
//!  cargo run --release -p integration --bin bench -- --json bench.json`.
//! See integration/README.md for the flags and the last measured table.

#[path = "../bench/mod.rs"]
mod bench;

use std::process::ExitCode;

use anyhow::{Context, Result};
use integration::{MariaDb, Shim, Tenant};
use serde_json::{json, Value as Json};

use bench::capture::{self, CaptureRun};
use bench::opts::{Opts, USAGE};
use bench::query::{self, PointRun, Target};
use bench::report::{count, markdown, ms, ratio, verdict, Line};
use bench::workload::{self, History, BASE_TABLE, NATIVE_SCHEMA, SCHEMA, TABLE};

/// How many times each source write workload runs (alternating); the best run is reported.
const WRITE_ROUNDS: usize = 2;

fn main() -> ExitCode {
    let opts = match Opts::parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = locate_binaries() {
        eprintln!("bench: {e:#}");
        return ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let result = runtime
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(&opts)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Points the harness at `agent-core` and `dbtrail-shim` beside this executable, unless the
/// `DBTRAIL_*_BIN` variables already name them (the harness otherwise looks one level up, where
/// test executables keep theirs).
fn locate_binaries() -> Result<()> {
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let dir = exe
        .parent()
        .context("the bench executable has no directory")?;
    for (var, name) in [
        ("DBTRAIL_AGENT_CORE_BIN", "agent-core"),
        ("DBTRAIL_DBTRAIL_SHIM_BIN", "dbtrail-shim"),
    ] {
        let path = dir.join(name);
        if std::env::var_os(var).is_none() {
            anyhow::ensure!(
                path.is_file(),
                "{} not found: build it in the same profile first \
                 (cargo build --release -p agent-core -p dbtrail-shim -p integration)",
                path.display()
            );
            // Set before the runtime starts any thread.
            std::env::set_var(var, &path);
        }
    }
    Ok(())
}

/// Everything measured, for the table and the JSON report.
struct Results {
    history: History,
    capture: CaptureRun,
    binlog: capture::BinlogDecode,
    /// `agent-core import-binlogs` of the same files.
    import: capture::ImportRun,
    disk: capture::DiskUsage,
    index_events: f64,
    /// Rows/s of each write workload run: capture running, no capture, versioned table.
    writes: [(String, Vec<f64>); 3],
    points: Vec<(PointRun, PointRun)>,
    /// Index only: capture saw the table created.
    snapshot: (query::SnapshotRun, query::SnapshotRun),
    /// Baseline + changes on the table loaded before capture.
    base: BaseRun,
    /// `POST /v1/archive/rotate` of every captured event, or why it failed.
    archive: Result<ArchiveRun, String>,
}

/// One rotation of the whole index into archive files (`file://`, docs/archive-format.md).
struct ArchiveRun {
    /// Events archived (`RotationReport::events`).
    events: u64,
    /// Archive bytes written (`RotationReport::bytes`).
    bytes: u64,
    /// Files written.
    files: usize,
    /// Wall seconds of the request.
    seconds: f64,
}

/// Configures a `file://` archive in a temporary directory, restarts agent-core, and rotates
/// everything captured so far (`older_than: 0s`) into archive files.
async fn rotate_archives(db: &MariaDb, agent: &mut integration::AgentCore) -> Result<ArchiveRun> {
    eprintln!("bench: archive rotation of the whole index");
    let dir = tempfile::tempdir().context("archive directory")?;
    let mut yaml = std::fs::read_to_string(agent.config_path())?;
    yaml.push_str(&format!(
        "\narchive:\n  url: file://{}\n",
        dir.path().display()
    ));
    std::fs::write(agent.config_path(), yaml)?;
    agent.restart().await?;
    agent.wait_caught_up(db).await?;
    let request = agent_api::archive::RotateRequest {
        older_than: Some("0s".into()),
        prune_older_than: None,
    };
    let started = std::time::Instant::now();
    let report = agent
        .client()
        .rotate_archives(&request)
        .await
        .context("POST /v1/archive/rotate")?;
    Ok(ArchiveRun {
        events: report.events,
        bytes: report.bytes,
        files: report.files.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The baseline + changes snapshot of [`BASE_TABLE`].
struct BaseRun {
    /// Seconds `POST /v1/baselines` took for the table.
    take_seconds: f64,
    /// Rows changed after the baseline (captured; merged over it).
    changed: u64,
    snapshot: query::SnapshotRun,
}

/// Takes a baseline of [`BASE_TABLE`] (loaded before capture; its binlogs purged), changes a
/// tenth of its rows, and streams `_snapshot.orders_base` as of after the changes.
async fn baseline_snapshot(
    db: &MariaDb,
    agent: &integration::AgentCore,
    shim: &mysql_async::Opts,
    opts: &Opts,
) -> Result<BaseRun> {
    eprintln!("bench: baseline of {SCHEMA}.{BASE_TABLE}, then baseline + changes snapshot");
    let request = agent_api::baseline::BaselineRequest {
        server_id: 1,
        tables: vec![format!("{SCHEMA}.{BASE_TABLE}")],
    };
    let started = std::time::Instant::now();
    agent
        .client()
        .baselines(&request)
        .await
        .context("POST /v1/baselines")?;
    let take_seconds = started.elapsed().as_secs_f64();
    let changed = (opts.rows / 10).max(1);
    workload::change_base_table(db, changed, opts.batch).await?;
    let mut admin = db.admin_conn().await?;
    let at = workload::source_now_us(&mut admin).await?;
    admin.disconnect().await.ok();
    // The instant must lie before what capture has completed: wait past it, then catch up.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    agent.wait_caught_up(db).await?;
    let snapshot = query::snapshot_dbtrail(shim, agent.client(), BASE_TABLE, at).await?;
    anyhow::ensure!(
        snapshot.rows == opts.rows,
        "_snapshot.{BASE_TABLE}: {} rows, want {}",
        snapshot.rows,
        opts.rows
    );
    Ok(BaseRun {
        take_seconds,
        changed,
        snapshot,
    })
}

async fn run(opts: &Opts) -> Result<()> {
    let load_before = loadavg();
    eprintln!(
        "bench: {} rows × {} versions = {} events; load {load_before}",
        opts.rows,
        opts.versions,
        opts.events()
    );
    let db = MariaDb::start().await?;
    workload::tune_server(&db).await?;
    eprintln!("bench: {SCHEMA}.{BASE_TABLE}, loaded before capture (binlogs purged)");
    workload::preload_base_table(&db, opts).await?;
    workload::create_tables(&db).await?;

    eprintln!("bench: building the history");
    let history = workload::build_history(&db, opts).await?;
    let mut admin = db.admin_conn().await?;
    let done_us = workload::source_now_us(&mut admin).await?;
    admin.disconnect().await.ok();

    eprintln!("bench: capture from an empty index");
    let (mut agent, capture) = capture::catch_up(&db, &[SCHEMA], done_us).await?;
    eprintln!("  {} events in {:.1} s", capture.events, capture.seconds);
    eprintln!("bench: mariadb-binlog --verbose");
    let binlog = capture::decode_binlogs(&db).await?;
    eprintln!("bench: agent-core import-binlogs of the same files");
    let import = capture::import_binlogs(&db, &[SCHEMA]).await?;
    eprintln!("  {} in {:.1} s", import.summary, import.seconds);

    // Each write workload runs twice, alternating, so background work left by the history (InnoDB
    // purge, the first journal fsyncs) does not land on one side only; the best run counts.
    let mut writes: [(String, Vec<f64>); 3] = [
        ("capture running".into(), Vec::new()),
        ("no capture".into(), Vec::new()),
        ("system-versioned table".into(), Vec::new()),
    ];
    let mut stopped = None;
    for round in 1..=WRITE_ROUNDS {
        eprintln!("bench: source write workloads, round {round}/{WRITE_ROUNDS}");
        let table = format!("writes_captured_{round}");
        writes[0]
            .1
            .push(workload::write_workload(&db, SCHEMA, &table, false, opts).await?);
        agent.wait_caught_up(&db).await?;
        let metrics = capture::scrape_metrics(&agent).await?;
        agent.stop()?;
        if stopped.is_none() {
            let events = metrics
                .get("agent_capture_row_events_total")
                .copied()
                .unwrap_or(0.0);
            stopped = Some((capture::disk_usage(&agent.data_dir())?, events));
        }
        let table = format!("writes_idle_{round}");
        writes[1]
            .1
            .push(workload::write_workload(&db, SCHEMA, &table, false, opts).await?);
        let table = format!("writes_versioned_{round}");
        writes[2]
            .1
            .push(workload::write_workload(&db, NATIVE_SCHEMA, &table, true, opts).await?);
        agent.restart().await?;
        agent.wait_caught_up(&db).await?;
    }
    let (disk, index_events) = stopped.context("no write round ran")?;

    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let shim_opts = shim.mysql_opts("app", "app", Some(SCHEMA));
    let native_opts = db.tcp_opts("app", "app", Some(SCHEMA));
    let mut points = Vec::new();
    for &c in &opts.concurrency {
        eprintln!("bench: point AS OF, concurrency {c}");
        let run = |target, opts_: mysql_async::Opts| {
            let instants = history.instants_us.clone();
            async move {
                query::point_queries(
                    &opts_,
                    target,
                    opts.rows,
                    &instants,
                    opts.queries,
                    c,
                    opts.prepared,
                    opts.seed,
                )
                .await
            }
        };
        let mut shim_run = run(Target::Shim, shim_opts.clone()).await?;
        let mut native_run = run(Target::Native, native_opts.clone()).await?;
        native_run.answers.clear();
        // Every shim answer in full against MariaDB's, after the timed phase.
        query::verify_points(
            &native_opts,
            &history.instants_us,
            opts.prepared,
            &mut shim_run,
        )
        .await?;
        for d in &shim_run.differences {
            eprintln!("bench: WRONG answer: {d}");
        }
        points.push((shim_run, native_run));
    }

    eprintln!("bench: whole-table snapshot");
    let mid = history.instants_us[history.instants_us.len() / 2];
    let snap_dbtrail = query::snapshot_dbtrail(&shim_opts, agent.client(), TABLE, mid).await?;
    let snap_native = query::snapshot_native(&native_opts, mid).await?;
    let snapshot_wrong = match snap_dbtrail.checksum {
        Some(c) if snap_dbtrail.rows != snap_native.rows || Some(c) != snap_native.checksum => {
            Some(format!(
                "_snapshot.{TABLE}: {} rows (checksum {c:016x}), MariaDB {} rows (checksum {:016x})",
                snap_dbtrail.rows,
                snap_native.rows,
                snap_native.checksum.unwrap_or(0)
            ))
        }
        _ => None,
    };
    let base = baseline_snapshot(&db, &agent, &shim_opts, opts).await?;
    // Last: rotation moves the index's history into archive files.
    let archive = rotate_archives(&db, &mut agent)
        .await
        .map_err(|e| format!("{e:#}"));

    let results = Results {
        history,
        capture,
        binlog,
        import,
        disk,
        index_events,
        writes,
        points,
        snapshot: (snap_dbtrail, snap_native),
        base,
        archive,
    };
    let load_after = loadavg();
    let lines = table(&results, opts);
    println!("\n{}", markdown(&lines));
    println!(
        "load average before {load_before}, after {load_after}; {} cores",
        cores()
    );
    if let Some(e) = &results.snapshot.0.shim_error {
        println!("snapshot through the shim failed, measured agent-core /v1/snapshot instead: {e}");
    }
    if let Some(e) = &results.base.snapshot.shim_error {
        println!("baseline snapshot through the shim failed, measured /v1/snapshot instead: {e}");
    }
    if let Some(path) = &opts.json {
        let doc = to_json(&results, opts, &lines, &load_before, &load_after);
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("JSON written to {}", path.display());
    }
    // One wrong answer fails the run (after the report, which shows where).
    let wrong: usize = results.points.iter().map(|(s, n)| s.wrong + n.wrong).sum();
    if let Some(e) = snapshot_wrong {
        anyhow::bail!("wrong snapshot answer: {e}");
    }
    anyhow::ensure!(
        wrong == 0,
        "{wrong} wrong point answers (WRONG lines above)"
    );
    Ok(())
}

fn table(r: &Results, opts: &Opts) -> Vec<Line> {
    let mut lines = Vec::new();
    let cap_rate = r.capture.events as f64 / r.capture.seconds;
    let decode_rate = r.history.events as f64 / r.binlog.seconds;
    lines.push(Line::new(
        "capture, empty index → caught up (events/s)",
        count(cap_rate),
        format!("{} (mariadb-binlog --verbose)", count(decode_rate)),
        ratio(cap_rate, decode_rate),
        verdict("≥ 100,000", cap_rate >= 100_000.0),
    ));
    let import_rate = r.history.events as f64 / r.import.seconds;
    lines.push(Line::new(
        "import-binlogs, files → empty index (events/s)",
        count(import_rate),
        format!("{} (mariadb-binlog --verbose)", count(decode_rate)),
        ratio(import_rate, decode_rate),
        verdict("≥ 100,000", import_rate >= 100_000.0),
    ));
    lines.push(Line::new(
        "capture: batch commit time (agent_capture_batch_seconds_total)",
        format!(
            "{:.2} s of {:.2} s ({} batches)",
            r.capture.batch_seconds, r.capture.seconds, r.capture.batches
        ),
        "-",
        "-",
        "-",
    ));
    for (s, n) in &r.points {
        let c = s.concurrency;
        lines.push(Line::new(
            format!("point AS OF p50, {c} client(s)"),
            ms(s.p50_us),
            ms(n.p50_us),
            ratio(s.p50_us, n.p50_us),
            verdict("≤ 1 ms", s.p50_us <= 1000.0),
        ));
        lines.push(Line::new(
            format!("point AS OF p99, {c} client(s)"),
            ms(s.p99_us),
            ms(n.p99_us),
            ratio(s.p99_us, n.p99_us),
            verdict("≤ 5 ms", s.p99_us <= 5000.0),
        ));
        lines.push(Line::new(
            format!("point AS OF QPS, {c} client(s)"),
            count(s.qps),
            count(n.qps),
            ratio(s.qps, n.qps),
            verdict("≥ 0.5× native", s.qps >= 0.5 * n.qps),
        ));
        if s.wrong + n.wrong > 0 {
            lines.push(Line::new(
                format!("WRONG answers, {c} client(s)"),
                s.wrong.to_string(),
                n.wrong.to_string(),
                "-",
                "0",
            ));
        }
    }
    let (d, n) = &r.snapshot;
    let (d_rate, n_rate) = (d.rows as f64 / d.seconds, n.rows as f64 / n.seconds);
    lines.push(Line::new(
        format!(
            "whole-table snapshot (rows/s, {} rows, {})",
            count(d.rows as f64),
            d.path
        ),
        count(d_rate),
        format!("{} ({} rows)", count(n_rate), count(n.rows as f64)),
        ratio(d_rate, n_rate),
        verdict(
            "≥ 1× native, ≥ 500,000",
            d_rate >= n_rate && d_rate >= 500_000.0,
        ),
    ));
    let b = &r.base.snapshot;
    let b_rate = b.rows as f64 / b.seconds;
    lines.push(Line::new(
        format!(
            "snapshot from baseline + {} changes (rows/s, {} rows, {})",
            count(r.base.changed as f64),
            count(b.rows as f64),
            b.path
        ),
        count(b_rate),
        format!("{} ({} rows)", count(n_rate), count(n.rows as f64)),
        ratio(b_rate, n_rate),
        verdict(
            "≥ 1× native, ≥ 500,000",
            b_rate >= n_rate && b_rate >= 500_000.0,
        ),
    ));
    lines.push(Line::new(
        "baseline take, POST /v1/baselines (rows/s)",
        format!(
            "{} ({:.2} s)",
            count(opts.rows as f64 / r.base.take_seconds),
            r.base.take_seconds
        ),
        "-",
        "-",
        "-",
    ));
    let ev = r.index_events.max(1.0);
    let live = (r.disk.total - r.disk.journals) as f64 / ev;
    lines.push(Line::new(
        "index bytes/event: whole data dir (apparent / allocated)",
        format!(
            "{:.0} B / {:.0} B",
            r.disk.total as f64 / ev,
            r.disk.allocated as f64 / ev
        ),
        "-",
        "-",
        "-",
    ));
    lines.push(Line::new(
        "index bytes/event: data dir without journals",
        format!("{live:.0} B"),
        "-",
        "-",
        verdict("≤ 150 B", live <= 150.0),
    ));
    lines.push(Line::new(
        "index bytes/event: sorted tables only",
        format!("{:.0} B", r.disk.tables as f64 / ev),
        format!(
            "{:.0} B binlog/event",
            r.binlog.bytes as f64 / r.history.events as f64
        ),
        "-",
        "-",
    ));
    match &r.archive {
        Ok(a) => lines.push(Line::new(
            "archive bytes/event (POST /v1/archive/rotate, whole index)",
            format!("{:.0} B", a.bytes as f64 / (a.events.max(1)) as f64),
            format!(
                "{:.0} B binlog/event",
                r.binlog.bytes as f64 / r.history.events as f64
            ),
            "-",
            format!(
                "{} events, {} files, {:.1} s",
                count(a.events as f64),
                a.files,
                a.seconds
            ),
        )),
        Err(e) => lines.push(Line::new(
            "archive bytes/event",
            format!("n/a: {e}"),
            "-",
            "-",
            "-",
        )),
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let [cap, idle, ver] = [&r.writes[0].1, &r.writes[1].1, &r.writes[2].1].map(|v| best(v));
    let (cap, idle, ver) = (&cap, &idle, &ver);
    lines.push(Line::new(
        "source writes, capture running vs not (rows/s)",
        count(*cap),
        format!("{} (no capture)", count(*idle)),
        ratio(*cap, *idle),
        "-",
    ));
    lines.push(Line::new(
        "source writes, plain vs system-versioned table (rows/s)",
        count(*idle),
        format!("{} (versioned)", count(*ver)),
        ratio(*idle, *ver),
        "-",
    ));
    lines.push(Line::new(
        "history build, plain vs system-versioned (s)",
        format!("{:.1} s", r.history.plain_seconds),
        format!("{:.1} s", r.history.versioned_seconds),
        ratio(r.history.plain_seconds, r.history.versioned_seconds),
        format!(
            "{} events, {:.0} B/row",
            count(opts.events() as f64),
            r.history.avg_row_bytes
        ),
    ));
    lines
}

fn to_json(r: &Results, opts: &Opts, lines: &[Line], load_before: &str, load_after: &str) -> Json {
    let point = |p: &PointRun| {
        json!({"concurrency": p.concurrency, "queries": p.queries, "qps": p.qps,
               "p50_us": p.p50_us, "p99_us": p.p99_us, "wrong": p.wrong})
    };
    let snap = |s: &query::SnapshotRun| {
        json!({"path": s.path, "rows": s.rows, "seconds": s.seconds,
               "rows_per_s": s.rows as f64 / s.seconds, "shim_error": s.shim_error})
    };
    json!({
        "machine": {"cores": cores(), "load_before": load_before, "load_after": load_after},
        "options": {"rows": opts.rows, "versions": opts.versions, "batch": opts.batch,
                    "queries": opts.queries, "concurrency": opts.concurrency,
                    "write_rows": opts.write_rows, "prepared": opts.prepared, "seed": opts.seed},
        "history": {"events": r.history.events, "transactions": r.history.transactions,
                    "plain_seconds": r.history.plain_seconds,
                    "versioned_seconds": r.history.versioned_seconds,
                    "avg_row_bytes": r.history.avg_row_bytes,
                    "instants_us": r.history.instants_us},
        "capture": {"seconds": r.capture.seconds, "events": r.capture.events,
                    "events_per_s": r.capture.events as f64 / r.capture.seconds,
                    "transactions": r.capture.transactions, "batches": r.capture.batches,
                    "batch_seconds_total": r.capture.batch_seconds},
        "import_binlogs": {"seconds": r.import.seconds, "summary": r.import.summary,
                           "events_per_s": r.history.events as f64 / r.import.seconds},
        "mariadb_binlog": {"seconds": r.binlog.seconds, "bytes": r.binlog.bytes,
                           "files": r.binlog.files,
                           "events_per_s": r.history.events as f64 / r.binlog.seconds},
        "storage": {"events": r.index_events, "total_bytes": r.disk.total,
                    "allocated_bytes": r.disk.allocated,
                    "journal_bytes": r.disk.journals, "table_bytes": r.disk.tables,
                    "per_keyspace_table_bytes": r.disk.per_keyspace,
                    "bytes_per_event_total": r.disk.total as f64 / r.index_events.max(1.0),
                    "bytes_per_event_without_journals":
                        (r.disk.total - r.disk.journals) as f64 / r.index_events.max(1.0),
                    "bytes_per_event_tables": r.disk.tables as f64 / r.index_events.max(1.0)},
        "archive": match &r.archive {
            Ok(a) => json!({"events": a.events, "bytes": a.bytes, "files": a.files,
                            "seconds": a.seconds,
                            "bytes_per_event": a.bytes as f64 / a.events.max(1) as f64}),
            Err(e) => json!({"error": e}),
        },
        "source_writes_rows_per_s": r.writes.iter().map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>(),
        "point": r.points.iter().map(|(s, n)| json!({"shim": point(s), "native": point(n)}))
            .collect::<Vec<_>>(),
        "snapshot": {"dbtrail": snap(&r.snapshot.0), "native": snap(&r.snapshot.1),
                     "baseline_plus_changes": snap(&r.base.snapshot),
                     "baseline_take_seconds": r.base.take_seconds,
                     "changed_after_baseline": r.base.changed},
        "table": lines.iter().map(|l| json!([l.measure, l.dbtrail, l.reference, l.ratio, l.target]))
            .collect::<Vec<_>>(),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}
