//! Rotation (index → archive files) and pruning (`retention.archive`).
//!
//! Order of a rotation of source S up to seq C (the last seq visible before `now - older_than`):
//! 1. read every row change of S's tables with seq in `(archived_through, C]` from the index and
//!    encode it as files per table name, UTC date and schema version;
//! 2. upload each file; `put` returning (plus fsync for `file://`) is the durability point;
//! 3. under the tier lock: register the files and `archived_through = C` in the catalog (atomic
//!    rename), then drop the range from the index, then record `dropped_through = C`.
//!
//! A crash before 3 leaves unregistered objects (harmless; a later run writes its own); a crash
//! inside 3 is finished by [`finish_drops`] at start-up before any read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use agent_api::time::civil_from_days;
use tokio::sync::watch;
use tracing::{info, warn};

use super::catalog::ArchiveFile;
use super::format::{self, Event, EventKind, FileHeader};
use super::{Archive, ArchiveError};
use crate::capture::state::now_us;
use crate::index::{ChangeKind, Index, TableEntry};
use crate::App;

/// Most events in one file; a larger group is split (by key ranges) into several files.
pub const MAX_FILE_EVENTS: usize = 4 * format::ROW_GROUP_ROWS;

pub use agent_api::archive::{RotateRequest, RotationReport};

/// Rotates, for every source, the index range older than `older_than` into archive files.
pub async fn rotate(app: Arc<App>, older_than: Duration) -> Result<RotationReport, ArchiveError> {
    let archive = &app.archive;
    archive.store()?;
    let _one = archive.rotating.lock().await;
    let mut report = RotationReport::default();
    let cut_us = now_us() - older_than.as_micros() as i64;
    let mut servers: Vec<u32> = app.sources.keys().copied().collect();
    servers.sort_unstable();
    for sid in servers {
        let mut cov = archive.catalog().coverage(sid);
        let cut_seq = app.index.seq_at(sid, cut_us)?;
        if cut_seq <= cov.archived_through_seq {
            continue;
        }
        let cut_time = txn_time(&app.index, sid, cut_seq)?;
        let from = cov.archived_through_seq;
        let a = app.clone();
        let files = tokio::task::spawn_blocking(move || build_files(&a.index, sid, from, cut_seq))
            .await
            .map_err(|e| ArchiveError::Config(format!("rotation task failed: {e}")))??;
        for (file, bytes) in &files {
            archive.put(&file.path, bytes.clone()).await?;
        }
        let _tiers = archive.tiers.write().await;
        let mut next = (*archive.catalog()).clone();
        for (file, _) in files {
            report.events += file.events;
            report.bytes += file.bytes;
            report.files.push(file.clone());
            next.files.push(file);
        }
        cov.archived_through_seq = cut_seq;
        cov.archived_through_us = cut_time;
        next.coverage.insert(sid, cov);
        archive.replace_catalog(next)?;
        let a = app.clone();
        report.dropped_index_rows +=
            tokio::task::spawn_blocking(move || drop_through(&a.archive, &a.index, sid, cut_seq))
                .await
                .map_err(|e| ArchiveError::Config(format!("index drop task failed: {e}")))??;
        info!(
            server_id = sid,
            seq = cut_seq,
            files = report.files.len(),
            "index range rotated into archives"
        );
    }
    Ok(report)
}

/// Deletes, for every source, archive files holding only history older than `older_than`, and
/// records the pruned range so reads that need it fail with a coverage gap.
pub async fn prune(app: Arc<App>, older_than: Duration) -> Result<u64, ArchiveError> {
    let archive = &app.archive;
    archive.store()?;
    let _one = archive.rotating.lock().await;
    let cut_us = now_us() - older_than.as_micros() as i64;
    let mut pruned = 0u64;
    for sid in app.sources.keys().copied() {
        let mut cov = archive.catalog().coverage(sid);
        let cut_seq = app.index.seq_at(sid, cut_us)?.min(cov.archived_through_seq);
        if cut_seq <= cov.pruned_through_seq {
            continue;
        }
        let victims: Vec<ArchiveFile> = {
            let _tiers = archive.tiers.write().await;
            let mut next = (*archive.catalog()).clone();
            let (gone, kept): (Vec<_>, Vec<_>) = next
                .files
                .into_iter()
                .partition(|f| f.server_id == sid && f.seq_to <= cut_seq);
            next.files = kept;
            cov.pruned_through_seq = cut_seq;
            cov.pruned_through_us = txn_time(&app.index, sid, cut_seq)?;
            next.coverage.insert(sid, cov);
            archive.replace_catalog(next)?;
            gone
        };
        for f in &victims {
            if let Err(e) = archive.delete(&f.path).await {
                warn!(path = %f.path, error = %e, "pruned archive file not deleted");
            }
        }
        pruned += victims.len() as u64;
    }
    Ok(pruned)
}

/// Answers `POST /v1/archive/rotate`: rotation by `older_than` (else `retention.hot`), then
/// pruning by `prune_older_than` (else `retention.archive`). `BadRequest` for an unparsable age
/// or when no archive is configured.
pub async fn on_request(
    app: Arc<App>,
    req: &RotateRequest,
) -> Result<RotationReport, crate::reconstruct::ApiError> {
    use crate::reconstruct::ApiError;
    use agent_api::ErrorCode;
    if app.config.archive.is_none() {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "no archive.url configured: nothing to rotate into",
        ));
    }
    let age = |text: &Option<String>, default: Option<Duration>, field: &str| match text {
        Some(t) => crate::config::parse_duration(t).map(Some).ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("{field}: invalid duration {t:?}"),
            )
        }),
        None => Ok(default),
    };
    let rotate_age = age(&req.older_than, app.config.retention.hot, "older_than")?;
    let prune_age = age(
        &req.prune_older_than,
        app.config.retention.archive,
        "prune_older_than",
    )?;
    let mut report = match rotate_age {
        Some(a) => rotate(app.clone(), a).await?,
        None => RotationReport::default(),
    };
    if let Some(a) = prune_age {
        report.pruned_files = prune(app, a).await?;
    }
    Ok(report)
}

/// Rotation and pruning by `retention.hot` / `retention.archive`, every `archive.rotate_every`,
/// until `shutdown` turns true.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let Some(cfg) = app.config.archive.clone() else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.rotate_every) => {}
            _ = shutdown.changed() => return,
        }
        if let Some(hot) = app.config.retention.hot {
            if let Err(e) = rotate(app.clone(), hot).await {
                warn!(error = %e, "archive rotation failed");
            }
        }
        if let Some(keep) = app.config.retention.archive {
            if let Err(e) = prune(app.clone(), keep).await {
                warn!(error = %e, "archive pruning failed");
            }
        }
    }
}

/// Finishes the index drop of a rotation interrupted after its catalog update.
pub fn finish_drops(archive: &Archive, index: &Index) -> Result<(), ArchiveError> {
    let catalog = archive.catalog();
    for (sid, cov) in &catalog.coverage {
        if cov.dropped_through_seq < cov.archived_through_seq {
            warn!(
                server_id = sid,
                seq = cov.archived_through_seq,
                "finishing an interrupted archive rotation"
            );
            drop_through(archive, index, *sid, cov.archived_through_seq)?;
        }
    }
    Ok(())
}

/// Drops row changes with seq ≤ `seq` of every table of `sid` and records it in the catalog.
fn drop_through(archive: &Archive, index: &Index, sid: u32, seq: u64) -> Result<u64, ArchiveError> {
    let mut table_nos: Vec<u32> = index
        .table_entries(sid)
        .into_iter()
        .map(|(_, _, e)| e.table_no)
        .collect();
    table_nos.dedup();
    let mut removed = 0;
    for t in table_nos {
        removed += index.drop_changes(t, seq)?;
    }
    let mut next = (*archive.catalog()).clone();
    let mut cov = next.coverage(sid);
    cov.dropped_through_seq = cov.dropped_through_seq.max(seq);
    next.coverage.insert(sid, cov);
    archive.replace_catalog(next)?;
    Ok(removed)
}

fn txn_time(index: &Index, sid: u32, seq: u64) -> Result<i64, ArchiveError> {
    index
        .txn(sid, seq)?
        .map(|t| t.visible_us)
        .ok_or_else(|| ArchiveError::Corrupt(format!("transaction record of seq {seq} missing")))
}

/// The names one table number had, with their seq spans.
struct Names(Vec<(String, String, TableEntry)>);

impl Names {
    /// The name in force at `seq` (the first one before any span).
    fn at(&self, seq: u64) -> usize {
        self.0
            .iter()
            .position(|(_, _, e)| e.from_seq <= seq && e.until_seq.is_none_or(|u| seq < u))
            .unwrap_or(0)
    }

    fn schema(&self, idx: usize, version: u32) -> Option<Arc<crate::schema::TableSchema>> {
        let own = self.0[idx].2.versions.get(version as usize);
        own.or_else(|| {
            self.0
                .iter()
                .find_map(|(_, _, e)| e.versions.get(version as usize))
        })
        .map(|(_, s)| s.clone())
    }
}

/// Group of one file: (UTC date, schema version, name index).
type GroupKey = (String, u32, usize);

/// Encodes every change of `sid` with seq in `(after, upto]` as archive files.
fn build_files(
    index: &Index,
    sid: u32,
    after: u64,
    upto: u64,
) -> Result<Vec<(ArchiveFile, Vec<u8>)>, ArchiveError> {
    let mut by_table: BTreeMap<u32, Vec<(String, String, TableEntry)>> = BTreeMap::new();
    for (s, n, e) in index.table_entries(sid) {
        by_table.entry(e.table_no).or_default().push((s, n, e));
    }
    let mut times: HashMap<u64, i64> = HashMap::new();
    let mut out = Vec::new();
    let mut used = HashSet::new();
    for (table_no, names) in by_table {
        let names = Names(names);
        let mut groups: BTreeMap<GroupKey, Vec<Event>> = BTreeMap::new();
        let mut time_of = |seq: u64| -> Result<i64, ArchiveError> {
            if let Some(t) = times.get(&seq) {
                return Ok(*t);
            }
            let t = txn_time(index, sid, seq)?;
            times.insert(seq, t);
            Ok(t)
        };
        // TRUNCATEs first: their empty key sorts before every row key.
        let mut at = after;
        while let Some(seq) = index.next_clear(table_no, at)? {
            if seq > upto {
                break;
            }
            let idx = names.at(seq);
            let version = names.0[idx].2.version_at(seq).0;
            let time_us = time_of(seq)?;
            groups
                .entry((utc_date(time_us), version, idx))
                .or_default()
                .push(Event {
                    seq,
                    time_us,
                    kind: EventKind::Truncate,
                    pk: Vec::new(),
                    before: None,
                    after: None,
                });
            at = seq;
        }
        let mut failed: Option<ArchiveError> = None;
        index.changes_between(table_no, None, None, after, upto, |pk, c| {
            let time_us = match time_of(c.seq) {
                Ok(t) => t,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            };
            let key = (utc_date(time_us), c.schema_version, names.at(c.seq));
            let group = groups.entry(key.clone()).or_default();
            group.push(Event {
                seq: c.seq,
                time_us,
                kind: match c.kind {
                    ChangeKind::Insert => EventKind::Insert,
                    ChangeKind::Update => EventKind::Update,
                    ChangeKind::Delete => EventKind::Delete,
                },
                pk: pk.to_vec(),
                before: c.before,
                after: c.after,
            });
            // Split only between keys, so a key's versions stay in one file.
            if group.len() >= MAX_FILE_EVENTS {
                let events = std::mem::take(group);
                match encode(sid, table_no, &names, &key, events, &mut used) {
                    Ok(f) => out.push(f),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        for (key, events) in groups {
            if !events.is_empty() {
                out.push(encode(sid, table_no, &names, &key, events, &mut used)?);
            }
        }
    }
    Ok(out)
}

fn encode(
    sid: u32,
    table_no: u32,
    names: &Names,
    (date, version, idx): &GroupKey,
    events: Vec<Event>,
    used: &mut HashSet<String>,
) -> Result<(ArchiveFile, Vec<u8>), ArchiveError> {
    let (schema_name, table, _) = &names.0[*idx];
    let schema = names.schema(*idx, *version).ok_or_else(|| {
        ArchiveError::Corrupt(format!(
            "table {schema_name}.{table}: no schema version {version}"
        ))
    })?;
    let header = FileHeader {
        server_id: sid,
        table_no,
        schema_version: *version,
        schema,
    };
    let bytes = format::write_file(&header, &events)?;
    let seq_from = events.iter().map(|e| e.seq).min().unwrap_or(0);
    let seq_to = events.iter().map(|e| e.seq).max().unwrap_or(0);
    let dir = format!(
        "server={sid}/table={}.{}/date={date}",
        crate::fsname::encode(schema_name),
        crate::fsname::encode(table)
    );
    let mut path = format!("{dir}/{seq_from}-{seq_to}.parquet");
    let mut n = 1;
    while !used.insert(path.clone()) {
        path = format!("{dir}/{seq_from}-{seq_to}-{n}.parquet");
        n += 1;
    }
    let file = ArchiveFile {
        path,
        server_id: sid,
        schema: schema_name.clone(),
        table: table.clone(),
        table_no,
        schema_version: *version,
        seq_from,
        seq_to,
        time_from_us: events.iter().map(|e| e.time_us).min().unwrap_or(0),
        time_to_us: events.iter().map(|e| e.time_us).max().unwrap_or(0),
        events: events.len() as u64,
        bytes: bytes.len() as u64,
    };
    Ok((file, bytes))
}

/// `YYYY-MM-DD` (UTC) of an instant in µs.
fn utc_date(us: i64) -> String {
    let (y, m, d) = civil_from_days(us.div_euclid(86_400_000_000));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests;
