//! `POST /v1/archive/rotate`: move index ranges into Parquet archives now, and prune old archive
//! files (layout and catalog: `docs/archive-format.md`).

use serde::{Deserialize, Serialize};

/// Request body; ages as `500ms`, `10s`, `1h` or `7d`. Each step defaults to its `retention.*`
/// setting of the agent, and a step with neither is skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Rotate index ranges older than this (default `retention.hot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<String>,
    /// Delete archive files holding only history older than this (default `retention.archive`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_older_than: Option<String>,
}

/// What one rotation and prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationReport {
    /// Files written and registered in the catalog.
    pub files: Vec<ArchiveFile>,
    /// Events archived (sum over `files`).
    pub events: u64,
    /// Bytes written (sum over `files`).
    pub bytes: u64,
    /// Row changes removed from the index.
    pub dropped_index_rows: u64,
    /// Archive files deleted by pruning.
    pub pruned_files: u64,
}

/// One archive file as registered after its upload completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFile {
    /// Object path under the archive root, e.g.
    /// `server=1/table=shop.orders/date=2026-04-27/100-2500.parquet`.
    pub path: String,
    /// Source `server_id`.
    pub server_id: u32,
    /// Schema (database) name the table had at the file's seqs.
    pub schema: String,
    /// Table name at the file's seqs.
    pub table: String,
    /// agent-core's internal table number (stable across RENAME).
    pub table_no: u32,
    /// Schema version of every row image in the file.
    pub schema_version: u32,
    /// Lowest seq of an event in the file.
    pub seq_from: u64,
    /// Highest seq of an event in the file.
    pub seq_to: u64,
    /// Visible time of `seq_from`, µs since the epoch.
    pub time_from_us: i64,
    /// Visible time of `seq_to`, µs since the epoch.
    pub time_to_us: i64,
    /// Events (rows) in the file.
    pub events: u64,
    /// File size in bytes.
    pub bytes: u64,
}
