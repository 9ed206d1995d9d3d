//! Capture throughput (agent-core from an empty data dir to caught up), the `mariadb-binlog`
//! decoding reference, `/metrics` scraping and the index's size on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use integration::{AgentCore, MariaDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The binlog decoder shipped with MariaDB (`mariadb-client`).
pub const MARIADB_BINLOG: &str = "/usr/bin/mariadb-binlog";
/// Longest wait for agent-core to catch up with the history.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(1_800);
/// Poll interval for `/health` while catching up.
const POLL: Duration = Duration::from_millis(50);

/// agent-core catching up with an existing history.
#[derive(Debug, Clone)]
pub struct CaptureRun {
    /// Seconds from spawning agent-core (empty data dir) to caught up.
    pub seconds: f64,
    /// Row events written to the index (`agent_capture_row_events_total`).
    pub events: u64,
    /// Transactions given a seq.
    pub transactions: u64,
    /// Index write batches.
    pub batches: u64,
    /// `agent_capture_batch_seconds_total`: time spent committing batches.
    pub batch_seconds: f64,
}

/// Starts agent-core for `schemas` and waits until its record is complete up to `target_us`
/// (the source clock when the history was done) with lag under 1 s.
pub async fn catch_up(
    db: &MariaDb,
    schemas: &[&str],
    target_us: i64,
) -> Result<(AgentCore, CaptureRun)> {
    let started = Instant::now();
    let agent = AgentCore::start(db, schemas).await?;
    loop {
        let s = agent.source_health().await?;
        let complete = s.complete_until_us.is_some_and(|c| c >= target_us);
        if s.connected && complete && s.lag_seconds.is_some_and(|l| l < 1.0) {
            break;
        }
        if let Some(e) = &s.last_error {
            eprintln!("  agent-core reports: {e}");
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            bail!("agent-core did not catch up within {CATCH_UP_TIMEOUT:?}: {s:?}");
        }
        tokio::time::sleep(POLL).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let m = scrape_metrics(&agent).await?;
    let run = CaptureRun {
        seconds,
        events: m
            .get("agent_capture_row_events_total")
            .copied()
            .unwrap_or(0.0) as u64,
        transactions: m
            .get("agent_capture_transactions_total")
            .copied()
            .unwrap_or(0.0) as u64,
        batches: m.get("agent_capture_batches_total").copied().unwrap_or(0.0) as u64,
        batch_seconds: m
            .get("agent_capture_batch_seconds_total")
            .copied()
            .unwrap_or(0.0),
    };
    Ok((agent, run))
}

/// `GET /metrics` as a map from metric name (labels dropped) to value.
pub async fn scrape_metrics(agent: &AgentCore) -> Result<BTreeMap<String, f64>> {
    let body = http_get(agent, "/metrics").await?;
    let mut out = BTreeMap::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = name.split('{').next().unwrap_or(name);
        if let Ok(v) = value.trim().parse::<f64>() {
            *out.entry(name.to_owned()).or_insert(0.0) += v;
        }
    }
    Ok(out)
}

/// A plain HTTP/1.0 GET (close-delimited body, no chunking), bearer token included.
async fn http_get(agent: &AgentCore, path: &str) -> Result<String> {
    let mut stream = TcpStream::connect(agent.addr())
        .await
        .with_context(|| format!("connecting to agent-core for {path}"))?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        agent.addr(),
        agent.token()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        bail!("GET {path}: malformed response {response:?}");
    };
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        bail!("GET {path}: {}", head.lines().next().unwrap_or(head));
    }
    Ok(body.to_owned())
}

/// `mariadb-binlog --verbose` over the binlog files decoding to /dev/null.
#[derive(Debug, Clone)]
pub struct BinlogDecode {
    /// Wall seconds.
    pub seconds: f64,
    /// Bytes of binlog read.
    pub bytes: u64,
    /// Files decoded.
    pub files: usize,
}

/// Decodes every `binlog.NNNNNN` in the datadir with `mariadb-binlog --verbose > /dev/null`.
pub async fn decode_binlogs(db: &MariaDb) -> Result<BinlogDecode> {
    let files = binlog_files(db.datadir())?;
    let bytes = files.iter().map(|f| file_len(f)).sum();
    let started = Instant::now();
    let status = tokio::process::Command::new(MARIADB_BINLOG)
        .arg("--no-defaults")
        .arg("--verbose")
        .args(&files)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .await
        .with_context(|| format!("running {MARIADB_BINLOG}"))?;
    if !status.success() {
        bail!("{MARIADB_BINLOG} failed: {status}");
    }
    Ok(BinlogDecode {
        seconds: started.elapsed().as_secs_f64(),
        bytes,
        files: files.len(),
    })
}

/// `agent-core import-binlogs` over the same binlog files into an empty index.
#[derive(Debug, Clone)]
pub struct ImportRun {
    /// Wall seconds of the `import-binlogs` command.
    pub seconds: f64,
    /// Its summary line (`imported N transactions (M row changes) from F files; ...`).
    pub summary: String,
}

/// Imports every `binlog.NNNNNN` of the datadir (symlinked into a directory of their own) into
/// a fresh agent-core data dir with `agent-core import-binlogs`, timed from spawn to exit. The
/// agent is started once to write its configuration, then stopped: the import writes the index
/// directly.
pub async fn import_binlogs(db: &MariaDb, schemas: &[&str]) -> Result<ImportRun> {
    let files = binlog_files(db.datadir())?;
    let dir = tempfile::tempdir()?;
    for f in &files {
        let name = f.file_name().context("binlog without a name")?;
        std::os::unix::fs::symlink(f, dir.path().join(name))?;
    }
    let mut agent = AgentCore::start_with(db, schemas, |_, yaml| {
        // No live capture before the import: the DSN points at a closed port.
        let closed = format!("127.0.0.1:{}", integration::free_port()?);
        *yaml = yaml.replace(&format!("127.0.0.1:{}", db.port()), &closed);
        Ok(())
    })
    .await?;
    agent.stop()?;
    let dir_arg = dir.path().to_str().context("temp dir path is not UTF-8")?;
    let started = Instant::now();
    let out = agent
        .cli(&["import-binlogs", "--source", "1", "--dir", dir_arg])
        .await?;
    Ok(ImportRun {
        seconds: started.elapsed().as_secs_f64(),
        summary: out.lines().next().unwrap_or_default().to_owned(),
    })
}

fn binlog_files(datadir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(datadir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("binlog."))
                .is_some_and(|ext| ext.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Sizes of the index's data dir, bytes.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    /// Every file, apparent size (journals are preallocated, so this overstates them).
    pub total: u64,
    /// Every file, blocks allocated on disk (what `du` reports).
    pub allocated: u64,
    /// Write-ahead journal files (`*.jnl` and files under a `journals` folder).
    pub journals: u64,
    /// Sorted tables (the LSM's immutable segment files) of all keyspaces.
    pub tables: u64,
    /// Sorted tables per keyspace folder, largest first (the largest is `rows`).
    pub per_keyspace: Vec<(String, u64)>,
}

/// Walks `dir`: total size, journal bytes, and sorted-table bytes per keyspace folder.
pub fn disk_usage(dir: &Path) -> Result<DiskUsage> {
    let mut usage = DiskUsage::default();
    let mut keyspaces: BTreeMap<String, u64> = BTreeMap::new();
    walk(dir, &mut |path, len, allocated| {
        usage.total += len;
        usage.allocated += allocated;
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let is_journal =
            path.extension().is_some_and(|e| e == "jnl") || parts.iter().any(|p| p == "journals");
        if is_journal {
            usage.journals += len;
        } else if let Some(pos) = parts.iter().position(|p| p == "tables") {
            usage.tables += len;
            let keyspace = parts[..pos].join("/");
            *keyspaces.entry(keyspace).or_insert(0) += len;
        }
    })
    .with_context(|| format!("measuring {}", dir.display()))?;
    usage.per_keyspace = keyspaces.into_iter().collect();
    usage.per_keyspace.sort_by_key(|k| std::cmp::Reverse(k.1));
    Ok(usage)
}

fn walk(dir: &Path, f: &mut impl FnMut(&Path, u64, u64)) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&entry.path(), f)?;
        } else {
            f(&entry.path(), meta.len(), meta.blocks() * 512);
        }
    }
    Ok(())
}
