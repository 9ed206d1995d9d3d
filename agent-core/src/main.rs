//! `agent-core --config agent.yaml`: capture every configured source and serve the HTTP API.
//!
//! Exit codes: 0 after SIGTERM/SIGINT, 78 (`EX_CONFIG`) for configuration errors (systemd:
//! `RestartPreventExitStatus=78`), 1 for start-up failures worth a restart (index, bind).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent_core::config::Config;
use agent_core::{capture, http, App};
use clap::Parser;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// Binlog capture and time-travel API for MySQL/MariaDB.
///
/// Without a subcommand: capture every configured source and serve the HTTP API. The subcommands
/// are clients of that running agent (found through `listen` and `token` in the same agent.yaml).
#[derive(Parser)]
#[command(name = "agent-core", version)]
struct Cli {
    /// Path of agent.yaml.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write the SQL that reverses a table's changes in a window, newest first (nothing is executed).
    Recover(RecoverArgs),
    /// Write a table as it was at an instant: SQL, a mydumper directory or Parquet.
    Export(ExportArgs),
    /// Take a consistent full-table baseline of tables of a source (the running agent does it).
    Baseline(BaselineArgs),
    /// Import a mydumper dump directory (on the agent's host) as baselines.
    ImportMydumper(ImportArgs),
    /// Import binlog files a source wrote (a directory or s3://bucket/prefix) into the index as
    /// history, through the capture decoder. Writes the index directly: stop the agent first.
    ImportBinlogs(ImportBinlogsArgs),
    /// Rotate index ranges into Parquet archives now, and prune old archive files (the running
    /// agent does it; ages default to `retention.hot` / `retention.archive`).
    Archive(ArchiveArgs),
}

#[derive(clap::Args)]
struct ArchiveArgs {
    /// Rotate history older than this, e.g. `1h`, `7d`.
    #[arg(long = "older-than")]
    older_than: Option<String>,
    /// Delete archive files holding only history older than this.
    #[arg(long = "prune-older-than")]
    prune_older_than: Option<String>,
}

#[derive(clap::Args)]
struct BaselineArgs {
    /// Source MySQL server_id.
    #[arg(long)]
    source: u32,
    /// Tables as schema.table, comma-separated (default: every captured base table).
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Source MySQL server_id the dump was taken from.
    #[arg(long)]
    source: u32,
    /// The dump directory (holding `metadata`).
    #[arg(long)]
    dir: PathBuf,
    /// Tables as schema.table, comma-separated (default: every table of the dump).
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
}

#[derive(clap::Args)]
struct ImportBinlogsArgs {
    /// Source MySQL server_id the binlogs were written by (a configured source).
    #[arg(long)]
    source: u32,
    /// Directory holding the binlog files (`<name>.<number>`).
    #[arg(long, conflicts_with = "url", required_unless_present = "url")]
    dir: Option<PathBuf>,
    /// `s3://bucket/prefix` holding the binlog files (credentials and endpoint from the AWS_*
    /// environment variables).
    #[arg(long)]
    url: Option<String>,
    /// First file to import (by name, e.g. mysql-bin.000041).
    #[arg(long)]
    from: Option<String>,
    /// Last file to import.
    #[arg(long)]
    to: Option<String>,
    /// Columns of the tables the files map without optional metadata (MySQL before 8.0.1,
    /// binlog_row_metadata unset): `mysql --batch` output of the query in
    /// docs/import-binlogs.md. Without it such a table with integer columns is refused.
    #[arg(long = "schema-file")]
    schema_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RecoverArgs {
    /// Source MySQL server_id.
    #[arg(long)]
    source: u32,
    /// The table, as schema.table.
    #[arg(long)]
    table: String,
    /// Window start: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC, or with Z / +HH:MM.
    #[arg(long)]
    from: String,
    /// Window end (inclusive), same forms as --from.
    #[arg(long)]
    to: String,
    /// Only this key: its PK column values separated by commas; repeat for more keys.
    #[arg(long = "where-pk")]
    where_pk: Vec<String>,
    /// Only these kinds of change, e.g. delete,update (default: insert,update,delete).
    #[arg(long)]
    types: Option<String>,
    /// Write the script to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Source MySQL server_id.
    #[arg(long)]
    source: u32,
    /// The table, as schema.table.
    #[arg(long)]
    table: String,
    /// The instant: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC, or with Z / +HH:MM.
    #[arg(long = "as-of")]
    as_of: String,
    /// sql (one file), mydumper (a directory myloader loads) or parquet.
    #[arg(long, default_value = "sql")]
    format: String,
    /// Output file (sql, parquet) or directory (mydumper); must not exist.
    #[arg(long)]
    out: PathBuf,
}

const EX_CONFIG: u8 = 78;
/// Command-line usage error (`EX_USAGE`).
const EX_USAGE: u8 = 64;

/// Capture decodes and frees many small values per row; mimalloc measured markedly cheaper than
/// glibc malloc on that pattern (allocation was ~43% of capture CPU in profiles).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if cli.command.is_some() {
        // Subcommands may print their result on stdout: logs go to stderr.
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let Some(config_path) = cli.config else {
        eprintln!("agent-core: --config <agent.yaml> is required");
        return ExitCode::from(EX_USAGE);
    };
    let config = match Config::load(&config_path) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            error!(error = %e, "configuration rejected");
            eprintln!("agent-core: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agent-core: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        None => match runtime.block_on(run(config)) {
            Ok(Stopped::Restart) => {
                // Worker threads may still sit in the failed storage engine: the new image
                // replaces them with the process.
                reexec();
            }
            Ok(Stopped::Signal) => Ok(()),
            Err(e) => Err(e),
        },
        Some(Command::Recover(args)) => runtime.block_on(recover_command(&config, args)),
        Some(Command::Export(args)) => runtime.block_on(export_command(&config, args)),
        Some(Command::Baseline(args)) => runtime.block_on(baseline_command(&config, args)),
        Some(Command::ImportMydumper(args)) => runtime.block_on(import_command(&config, args)),
        Some(Command::Archive(args)) => runtime.block_on(archive_command(&config, args)),
        Some(Command::ImportBinlogs(args)) => {
            runtime.block_on(import_binlogs_command(&config, args))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "agent-core stopped");
            eprintln!("agent-core: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How long a stop waits for capture and open requests before the process exits anyway (or
/// runs itself again, for [`Stopped::Restart`]). Nothing is lost by cutting it short: index
/// batches commit atomically with their checkpoint.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why [`run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// SIGTERM or SIGINT.
    Signal,
    /// The index storage failed and the disk has room again ([`agent_core::storage`]).
    Restart,
}

/// Runs this executable again in place, with the same arguments (a fresh process image, so the
/// index is reopened and capture resumes from its checkpoint). Only returns by exiting.
fn reexec() -> ! {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let err = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!("agent-core: cannot run {} again: {err}", exe.display());
    std::process::exit(1);
}

/// Watches SIGTERM/SIGINT on a thread of its own (with its own small runtime), so a signal is
/// seen even when every worker of the main runtime is stuck in a blocking call: the first one
/// sets `shutdown`, and [`SHUTDOWN_GRACE`] later the process exits whether or not it finished.
fn spawn_signal_thread(shutdown: Arc<watch::Sender<Option<Stopped>>>) {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(shutdown_signal());
            info!("stop requested");
            shutdown.send_if_modified(|s| {
                let first = s.is_none();
                if first {
                    *s = Some(Stopped::Signal);
                }
                first
            });
            std::thread::sleep(SHUTDOWN_GRACE);
            warn!(grace = ?SHUTDOWN_GRACE, "shutdown did not finish in time: exiting (the index resumes from its last checkpoint)");
            std::process::exit(0);
        });
    if let Err(e) = spawned {
        warn!(error = %e, "no signal thread");
    }
}

async fn run(config: Arc<Config>) -> anyhow::Result<Stopped> {
    let app = Arc::new(App::open(config.clone())?);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stop = Arc::new(watch::channel(None::<Stopped>).0);
    spawn_signal_thread(stop.clone());
    let mut tasks = Vec::new();
    for source in &config.sources {
        let state = app.sources[&source.server_id].clone();
        tasks.push(tokio::spawn(capture::run_source(
            source.clone(),
            app.index.clone(),
            state,
            app.storage.clone(),
            shutdown_rx.clone(),
        )));
    }
    let (restart_tx, mut restart_rx) = watch::channel(false);
    tasks.push(tokio::spawn(agent_core::storage::watch(
        app.storage.clone(),
        config.data_dir.clone(),
        restart_tx,
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(agent_core::archive::rotate::run(
        app.clone(),
        shutdown_rx.clone(),
    )));
    // Backup schedules (`baselines.schedule` is bootstrapped into them on the first start).
    tasks.push(tokio::spawn(agent_core::backup::runner::run(
        app.clone(),
        shutdown_rx.clone(),
    )));
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    info!(listen = %listener.local_addr()?, "agent-core listening");
    let mut rx = shutdown_rx.clone();
    // Answers are small and written at once: send them without waiting for the client's ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            warn!(error = %e, "TCP_NODELAY not set");
        }
    });
    let mut stop_rx = stop.subscribe();
    let stop_seen = stop.subscribe();
    axum::serve(listener, http::router(app.clone()))
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = stop_rx.wait_for(Option::is_some) => {}
                _ = restart_rx.wait_for(|r| *r) => {
                    stop.send_if_modified(|s| {
                        let first = s.is_none();
                        if first {
                            *s = Some(Stopped::Restart);
                        }
                        first
                    });
                    if matches!(*stop.borrow(), Some(Stopped::Restart)) {
                        // The restart must happen even if a task never returns.
                        std::thread::spawn(|| {
                            std::thread::sleep(SHUTDOWN_GRACE);
                            reexec();
                        });
                    }
                }
            }
            let _ = shutdown_tx.send(true);
            let _ = rx.changed().await;
        })
        .await?;
    for t in tasks {
        let _ = t.await;
    }
    if app.storage.failed().is_none() {
        // Capture has stopped writing: flush the memtables so the journals behind them go.
        if let Err(e) = app.index.flush() {
            warn!(error = %e, "index flush on shutdown failed");
        }
    }
    let stopped = stop_seen.borrow().unwrap_or(Stopped::Signal);
    info!(
        restart = matches!(stopped, Stopped::Restart),
        "agent-core stopped"
    );
    Ok(stopped)
}

/// `agent-core recover`: asks the running agent for the reversal script and writes it.
async fn recover_command(config: &Config, args: RecoverArgs) -> anyhow::Result<()> {
    use agent_core::recover::cli;
    let (schema, table) = cli::parse_table(&args.table).map_err(anyhow::Error::msg)?;
    let request = agent_api::recover::RecoverRequest {
        server_id: args.source,
        schema,
        table,
        from_us: cli::parse_instant(&args.from).map_err(anyhow::Error::msg)?,
        to_us: cli::parse_instant(&args.to).map_err(anyhow::Error::msg)?,
        key: cli::parse_keys(&args.where_pk),
        types: match &args.types {
            Some(t) => cli::parse_types(t).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        },
    };
    let resp = cli::client_for(config)?
        .recover(&request)
        .await
        .map_err(|e| anyhow::anyhow!(cli::client_error_text(&e)))?;
    for w in &resp.warnings {
        eprintln!("warning: {w}");
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &resp.script)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let s = &resp.summary;
            eprintln!(
                "{}: {} statement(s) reversing {} INSERT, {} UPDATE, {} DELETE",
                path.display(),
                s.statements(),
                s.inserts,
                s.updates,
                s.deletes
            );
        }
        None => print!("{}", resp.script),
    }
    Ok(())
}

/// `agent-core export`: streams the table as of the instant from the running agent into `--out`.
async fn export_command(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    use agent_core::recover::cli;
    let (schema, table) = cli::parse_table(&args.table).map_err(anyhow::Error::msg)?;
    let request = agent_api::snapshot::SnapshotRequest {
        server_id: args.source,
        schema,
        table,
        as_of_us: cli::parse_instant(&args.as_of).map_err(anyhow::Error::msg)?,
        key: None,
    };
    let format: agent_core::export::ExportFormat = args.format.parse()?;
    let summary = agent_core::export::export(
        &cli::client_for(config)?,
        &request,
        format,
        &args.out,
        Some(&config.data_dir),
    )
    .await?;
    eprintln!(
        "{}: {} row(s) as of seq {}",
        summary.path.display(),
        summary.rows,
        summary.seq
    );
    Ok(())
}

/// `agent-core baseline`: asks the running agent to take baselines and prints what was written.
async fn baseline_command(config: &Config, args: BaselineArgs) -> anyhow::Result<()> {
    use agent_core::recover::cli;
    let request = agent_api::baseline::BaselineRequest {
        server_id: args.source,
        tables: args.tables,
    };
    let resp = cli::client_for(config)?
        .baselines(&request)
        .await
        .map_err(|e| anyhow::anyhow!(cli::client_error_text(&e)))?;
    print_baselines(&resp);
    Ok(())
}

/// `agent-core archive`: asks the running agent to rotate (and prune) now; prints the files.
async fn archive_command(config: &Config, args: ArchiveArgs) -> anyhow::Result<()> {
    use agent_core::recover::cli;
    let request = agent_api::archive::RotateRequest {
        older_than: args.older_than,
        prune_older_than: args.prune_older_than,
    };
    let report = cli::client_for(config)?
        .rotate_archives(&request)
        .await
        .map_err(|e| anyhow::anyhow!(cli::client_error_text(&e)))?;
    for f in &report.files {
        println!(
            "{}\t{} events\t{} bytes\tseq {}..{}",
            f.path, f.events, f.bytes, f.seq_from, f.seq_to
        );
    }
    println!(
        "{} files, {} events, {} bytes; {} index rows dropped; {} archive files pruned",
        report.files.len(),
        report.events,
        report.bytes,
        report.dropped_index_rows,
        report.pruned_files
    );
    Ok(())
}

/// `agent-core import-mydumper`: asks the running agent to import a dump directory.
async fn import_command(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    use agent_core::recover::cli;
    let dir = std::fs::canonicalize(&args.dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.dir.display()))?;
    let request = agent_api::baseline::ImportRequest {
        server_id: args.source,
        dir: dir.to_string_lossy().into_owned(),
        tables: args.tables,
    };
    let resp = cli::client_for(config)?
        .import_mydumper(&request)
        .await
        .map_err(|e| anyhow::anyhow!(cli::client_error_text(&e)))?;
    print_baselines(&resp);
    Ok(())
}

/// `agent-core import-binlogs`: reads the files through the capture decoder and commits their
/// transactions into the index (exactly-once by GTID or position; holes become gaps).
async fn import_binlogs_command(config: &Config, args: ImportBinlogsArgs) -> anyhow::Result<()> {
    let source = config
        .sources
        .iter()
        .find(|s| s.server_id == args.source)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no source with server_id {} in the configuration",
                args.source
            )
        })?
        .clone();
    if tokio::net::TcpStream::connect(config.listen).await.is_ok() {
        anyhow::bail!(
            "an agent is listening on {}: stop it first (import-binlogs writes the index directly)",
            config.listen
        );
    }
    // Downloaded files go to a private directory under data_dir, removed afterwards.
    let download = config
        .data_dir
        .join(format!("import-binlogs.{}", std::process::id()));
    let dir = match (&args.dir, &args.url) {
        (Some(dir), _) => dir.clone(),
        (None, Some(url)) => {
            std::fs::create_dir_all(&download)?;
            let fetched =
                download_binlogs(url, &download, args.from.as_deref(), args.to.as_deref()).await;
            if let Err(e) = fetched {
                let _ = std::fs::remove_dir_all(&download);
                return Err(e);
            }
            download.clone()
        }
        (None, None) => anyhow::bail!("--dir or --url is required"),
    };
    let result = import_dir(config, source, &dir, &args).await;
    if args.url.is_some() {
        let _ = std::fs::remove_dir_all(&download);
    }
    result
}

async fn import_dir(
    config: &Config,
    source: agent_core::config::SourceConfig,
    dir: &std::path::Path,
    args: &ImportBinlogsArgs,
) -> anyhow::Result<()> {
    use agent_core::capture::import;
    let files = import::list_dir(dir, args.from.as_deref(), args.to.as_deref())?;
    let schema = match &args.schema_file {
        Some(path) => agent_core::capture::schema_file::read(path)?,
        None => Default::default(),
    };
    let index = agent_core::index::Index::open(&config.data_dir)?;
    let report = tokio::task::spawn_blocking(move || {
        import::import_files_with_schema(
            &index,
            &source,
            agent_core::schema::Collations::builtin(),
            &files,
            &schema,
            &mut |_| {},
        )
    })
    .await??;
    println!(
        "imported {} transactions ({} row changes) from {} files; {} already in the index; checkpoint {}:{} seq {}{}",
        report.imported,
        report.rows,
        report.files.len(),
        report.skipped,
        report.checkpoint.binlog_file,
        report.checkpoint.binlog_pos,
        report.checkpoint.seq,
        report
            .checkpoint
            .gtid
            .as_ref()
            .map(|g| format!(" GTIDs {g}"))
            .unwrap_or_default()
    );
    for gap in &report.gaps {
        println!(
            "gap recorded after seq {}: {}",
            gap.after_seq, gap.description
        );
    }
    Ok(())
}

/// Copies the binlog files under `s3://bucket/prefix` (names `<base>.<number>`, within
/// `from..=to`) into `dir`.
async fn download_binlogs(
    url: &str,
    dir: &std::path::Path,
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<()> {
    use agent_core::capture::import::file_number;
    use futures_util::StreamExt;
    use object_store::{ObjectStore, ObjectStoreExt};
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| anyhow::anyhow!("--url {url:?} must be s3://bucket/prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        builder = builder.with_region("us-east-1");
    }
    if std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v == "true") {
        builder = builder.with_allow_http(true);
    }
    let store = builder.build()?;
    let prefix = object_store::path::Path::from(prefix.trim_matches('/'));
    let (from, to) = (from.and_then(file_number), to.and_then(file_number));
    let mut listing = store.list(Some(&prefix));
    let mut found = 0;
    while let Some(meta) = listing.next().await {
        let meta = meta?;
        let Some(name) = meta.location.filename().map(str::to_owned) else {
            continue;
        };
        let Some(n) = file_number(&name) else {
            continue;
        };
        if from.as_ref().is_some_and(|f| n < *f) || to.as_ref().is_some_and(|t| n > *t) {
            continue;
        }
        // Object names come from the bucket: only the validated `<base>.<digits>` file name is
        // used, inside the private temporary directory.
        if name.contains('/') || name.starts_with('.') {
            continue;
        }
        let bytes = store.get(&meta.location).await?.bytes().await?;
        std::fs::write(dir.join(&name), &bytes)?;
        found += 1;
    }
    if found == 0 {
        anyhow::bail!("{url}: no binlog files (<name>.<number>) in the selection");
    }
    Ok(())
}

fn print_baselines(resp: &agent_api::baseline::BaselineResponse) {
    for b in &resp.baselines {
        println!(
            "{}.{}\t{}\tseq {}\t{}:{}\t{} rows\t{} bytes",
            b.schema, b.table, b.id, b.seq, b.binlog_file, b.binlog_pos, b.rows, b.bytes
        );
    }
    for id in &resp.removed {
        eprintln!("removed old baseline {id}");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
