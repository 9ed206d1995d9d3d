//! Baselines: full-table snapshots in Parquet, each tied to the exact binlog position (and so to
//! the capture seq) it is consistent with (DESIGN.md "Storage tiers", tier 3).
//!
//! Layout under `data_dir/baselines/<server_id>/<schema>/<table>/<id>/`:
//! - `rows.parquet`: one field per column (see [`crate::columnar`]) plus `__pk`, the memcomparable
//!   PK encoding of [`crate::index::keys`] (Binary); rows in ascending `__pk` order, zstd, row
//!   groups of [`writer::ROW_GROUP_ROWS`] rows with min/max statistics on `__pk` for point lookups.
//! - `create_table.sql`: `SHOW CREATE TABLE` at the snapshot (or the dump's `-schema.sql`).
//! - `manifest.json`: [`Manifest`], written last by an atomic rename: a directory without it is
//!   a baseline being written (or abandoned) and is never read.
//!
//! `<id>` is `s<seq, 20 digits>-<taken_at µs>`, so names sort by seq.
//!
//! A baseline is anchored by binlog position, never by time: it holds exactly the transactions
//! whose commit lies at or before (`binlog_file`, `binlog_pos`), which are the captured seqs up to
//! and including [`Manifest::seq`]. `_snapshot`/`_flashback` AS OF T use the newest baseline with
//! `seq ≤ seq(T)` plus the index changes in `(seq, seq(T)]`.

pub mod mydumper;
pub mod position;
pub mod reader;
pub mod schedule;
pub mod source_schema;
pub mod take;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::schema::TableSchema;

/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;

/// Failures taking, importing or reading baselines.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The source connection failed.
    #[error("source connection: {0}")]
    Mysql(#[from] mysql_async::Error),
    /// Reading or writing the baseline files failed.
    #[error("baseline file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Parquet encoding/decoding failed.
    #[error("baseline parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A row does not fit the columnar mapping.
    #[error("baseline rows: {0}")]
    Columnar(#[from] crate::columnar::ColumnarError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// The request cannot be served (unknown source or table, no PK, bad dump, ...).
    #[error("{0}")]
    Invalid(String),
    /// Capture did not reach the snapshot's binlog position in time.
    #[error("{0}")]
    NotCaptured(String),
}

impl BaselineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Where the rows of a baseline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineOrigin {
    /// Taken by agent-core with a consistent snapshot.
    ConsistentSnapshot,
    /// Imported from a mydumper dump directory.
    Mydumper,
}

/// `manifest.json`: what a baseline holds and which history point it is consistent with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub format: u32,
    /// Directory name (`s<seq>-<taken_at_us>`).
    pub id: String,
    /// Source `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// How the rows were obtained.
    pub origin: BaselineOrigin,
    /// Wall time the snapshot was taken (or the dump started), µs since the epoch.
    pub taken_at_us: i64,
    /// Binlog file of the consistent point (`Binlog_snapshot_file` / the dump's `File`).
    pub binlog_file: String,
    /// Binlog position of the consistent point: every transaction committed at or before it is
    /// in the rows, none after it.
    pub binlog_pos: u64,
    /// GTID position at the consistent point (MariaDB `domain-server-seq` list), when known.
    pub gtid: Option<String>,
    /// The last captured seq whose commit lies at or before the position (0: none yet).
    pub seq: u64,
    /// The index's schema version number of the table at `seq`, when the index knew the table.
    pub schema_version: Option<u32>,
    /// The columns and PK the rows are written with.
    pub table_schema: TableSchema,
    /// Rows in `rows.parquet`.
    pub rows: u64,
    /// Size of `rows.parquet`, bytes.
    pub bytes: u64,
}

impl Manifest {
    /// The directory id of a baseline at `seq` taken at `taken_at_us`.
    pub fn make_id(seq: u64, taken_at_us: i64) -> String {
        format!("s{seq:020}-{taken_at_us}")
    }
}

/// `data_dir/baselines`: the directory every baseline lives in, and the only one baseline
/// pruning deletes in.
pub fn root(data_dir: &Path) -> PathBuf {
    data_dir.join("baselines")
}

/// `data_dir/baselines/<server_id>/<schema>/<table>`, each name as its [`crate::fsname::encode`]
/// segment (a plain name is itself; `../x` is `@002e@002e@002fx`).
pub fn table_dir(data_dir: &Path, server_id: u32, schema: &str, table: &str) -> PathBuf {
    root(data_dir)
        .join(server_id.to_string())
        .join(crate::fsname::encode(schema))
        .join(crate::fsname::encode(table))
}

/// A complete baseline found on disk.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Baseline {
    /// `rows.parquet`.
    pub fn rows_path(&self) -> PathBuf {
        self.dir.join("rows.parquet")
    }
}

/// Bumped after this process publishes or prunes a baseline: [`list`] answers from its cache
/// while the generation it read at is current, so a read does not go to disk for every query.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// `(data_dir, server_id, schema, table)` → the [`GENERATION`] read at and [`list`]'s answer.
type Listed = HashMap<(PathBuf, u32, String, String), (u64, Vec<Baseline>)>;

/// [`list`]'s answers.
static LISTED: Mutex<Option<Listed>> = Mutex::new(None);

/// Marks every cached [`list`] answer stale (a baseline was published or removed).
pub(crate) fn changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Every complete baseline of a table (those with a `manifest.json`), oldest seq first. The table
/// name matches case-insensitively when no directory has the exact name. Answers from memory
/// until this process publishes or prunes a baseline.
pub fn list(
    data_dir: &Path,
    server_id: u32,
    schema: &str,
    table: &str,
) -> Result<Vec<Baseline>, BaselineError> {
    let key = (
        data_dir.to_path_buf(),
        server_id,
        schema.to_owned(),
        table.to_owned(),
    );
    let generation = GENERATION.load(Ordering::SeqCst);
    if let Some((_, l)) = LISTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(&key))
        .filter(|(g, _)| *g == generation)
    {
        return Ok(l.clone());
    }
    let listed = list_from_disk(data_dir, server_id, schema, table)?;
    LISTED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, (generation, listed.clone()));
    Ok(listed)
}

fn list_from_disk(
    data_dir: &Path,
    server_id: u32,
    schema: &str,
    table: &str,
) -> Result<Vec<Baseline>, BaselineError> {
    let dir = match find_table_dir(data_dir, server_id, schema, table) {
        Some(d) => d,
        None => return Ok(Vec::new()),
    };
    let mut out = list_dir(&dir)?;
    // A directory found by case or by an older layout's raw name holds only this table's
    // baselines; anything else in it is not an answer for this name.
    out.retain(|b| {
        b.manifest.schema.eq_ignore_ascii_case(schema)
            && b.manifest.table.eq_ignore_ascii_case(table)
    });
    Ok(out)
}

/// The complete baselines in one table directory, oldest seq first.
fn list_dir(dir: &Path) -> Result<Vec<Baseline>, BaselineError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BaselineError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BaselineError::io(dir, e))?;
        let path = entry.path().join("manifest.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(BaselineError::io(&path, e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| BaselineError::Invalid(format!("{}: {e}", path.display())))?;
        out.push(Baseline {
            dir: entry.path(),
            manifest,
        });
    }
    out.sort_by_key(|b| (b.manifest.seq, b.manifest.taken_at_us));
    Ok(out)
}

/// The directory of a table's baselines: its encoded path, else (layouts of older versions,
/// which used raw names) the raw names when they are harmless segments
/// ([`crate::fsname::legacy_segment`]), else the first directory whose name matches either
/// ignoring ASCII case. Never a path outside `data_dir/baselines/<server_id>`.
fn find_table_dir(data_dir: &Path, server_id: u32, schema: &str, table: &str) -> Option<PathBuf> {
    use crate::fsname::{encode, legacy_segment};
    let server_dir = root(data_dir).join(server_id.to_string());
    let segments = |name: &str| -> Vec<String> {
        let mut v = vec![encode(name)];
        v.extend(legacy_segment(name).map(str::to_owned));
        v
    };
    let (schemas, tables) = (segments(schema), segments(table));
    for s in &schemas {
        for t in &tables {
            let d = server_dir.join(s).join(t);
            if d.is_dir() {
                return Some(d);
            }
        }
    }
    let find = |dir: &Path, names: &[String]| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        names.iter().any(|want| n.eq_ignore_ascii_case(want))
                    })
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    find(&server_dir, &schemas)
        .iter()
        .find_map(|s| find(s, &tables).into_iter().next())
}

/// The tables of a source (optionally one schema) that have a complete baseline, each with the
/// columns of its newest one.
pub fn tables(data_dir: &Path, server_id: u32, schema: Option<&str>) -> Vec<TableSchema> {
    let server_dir = root(data_dir).join(server_id.to_string());
    let dirs = |d: &Path| -> Vec<(String, PathBuf)> {
        std::fs::read_dir(d)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (_, schema_dir) in dirs(&server_dir) {
        for (_, table_dir) in dirs(&schema_dir) {
            // The names are the manifest's: a directory name may be encoded, hashed or raw.
            let Some(newest) = list_dir(&table_dir)
                .ok()
                .and_then(|all| all.into_iter().last())
            else {
                continue;
            };
            let m = newest.manifest;
            if schema.is_some_and(|want| !want.eq_ignore_ascii_case(&m.schema)) {
                continue;
            }
            // Only when the table's own lookup finds this directory (no other one shadows it).
            let found = list(data_dir, server_id, &m.schema, &m.table)
                .ok()
                .and_then(|all| all.into_iter().last())
                .is_some_and(|b| b.dir == newest.dir);
            if found {
                out.push(m.table_schema);
            }
        }
    }
    out
}

/// The newest complete baseline of a table whose seq is at or before `seq_max`.
pub fn newest_at(
    data_dir: &Path,
    server_id: u32,
    schema: &str,
    table: &str,
    seq_max: u64,
) -> Result<Option<Baseline>, BaselineError> {
    Ok(list(data_dir, server_id, schema, table)?
        .into_iter()
        .rev()
        .find(|b| b.manifest.seq <= seq_max))
}

/// Deletes all but the `keep` newest complete baselines of a table; returns the ids removed.
/// Directories without a manifest untouched for an hour (abandoned writes) go too.
pub fn prune(
    data_dir: &Path,
    server_id: u32,
    schema: &str,
    table: &str,
    keep: usize,
) -> Result<Vec<String>, BaselineError> {
    let all = list(data_dir, server_id, schema, table)?;
    let mut removed = Vec::new();
    let cut = all.len().saturating_sub(keep.max(1));
    let root = root(data_dir);
    for b in &all[..cut] {
        let gone = crate::fsname::remove_dir_all_inside(&root, &b.dir);
        changed();
        gone.map_err(|e| BaselineError::io(&b.dir, e))?;
        removed.push(b.manifest.id.clone());
    }
    if let (Some(newest), Some(dir)) = (
        all.last(),
        find_table_dir(data_dir, server_id, schema, table),
    ) {
        let entries = std::fs::read_dir(&dir).map_err(|e| BaselineError::io(&dir, e))?;
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            // Abandoned writes only: a partial directory untouched for an hour.
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(3600));
            if stale && name < newest.manifest.id && !e.path().join("manifest.json").exists() {
                crate::fsname::remove_dir_all_inside(&root, &e.path())
                    .map_err(|err| BaselineError::io(&e.path(), err))?;
                removed.push(name);
            }
        }
    }
    Ok(removed)
}

/// The API view of a manifest.
pub fn summary(m: &Manifest) -> agent_api::baseline::BaselineSummary {
    agent_api::baseline::BaselineSummary {
        id: m.id.clone(),
        schema: m.schema.clone(),
        table: m.table.clone(),
        binlog_file: m.binlog_file.clone(),
        binlog_pos: m.binlog_pos,
        gtid: m.gtid.clone(),
        seq: m.seq,
        rows: m.rows,
        bytes: m.bytes,
    }
}

/// The protocol-neutral code of a baseline failure: bad requests and unknown tables are the
/// caller's, an unreachable source or capture behind it are `Unavailable`, file trouble is ours.
pub fn api_code(e: &BaselineError) -> agent_api::ErrorCode {
    use agent_api::ErrorCode;
    match e {
        BaselineError::Invalid(_) => ErrorCode::BadRequest,
        BaselineError::Mysql(_) | BaselineError::NotCaptured(_) => ErrorCode::Unavailable,
        BaselineError::Io { .. }
        | BaselineError::Parquet(_)
        | BaselineError::Columnar(_)
        | BaselineError::Index(_) => ErrorCode::Internal,
    }
}

/// The command an operator runs to take a baseline of one table (quoted in coverage errors).
pub fn command_for(server_id: u32, schema: &str, table: &str) -> String {
    format!(
        "agent-core baseline --config agent.yaml --source {server_id} --tables {schema}.{table}"
    )
}

/// The configuration and capture state of source `server_id`, which a baseline (taken or imported)
/// is positioned against. Errors: `Invalid` for a `server_id` the configuration does not list.
pub(crate) fn source_of(
    app: &crate::App,
    server_id: u32,
) -> Result<
    (
        &crate::config::SourceConfig,
        &std::sync::Arc<crate::capture::state::SourceState>,
    ),
    BaselineError,
> {
    let unknown = || BaselineError::Invalid(format!("unknown server_id {server_id}"));
    let source = app
        .config
        .sources
        .iter()
        .find(|s| s.server_id == server_id)
        .ok_or_else(unknown)?;
    let state = app.sources.get(&server_id).ok_or_else(unknown)?;
    Ok((source, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_seq() {
        assert!(Manifest::make_id(9, 5) < Manifest::make_id(10, 1));
    }
}
