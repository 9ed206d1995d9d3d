//! `POST /v1/baselines` and `POST /v1/baselines/import`: full-table baselines (Parquet) tied to
//! the binlog position and capture seq they are consistent with.

use serde::{Deserialize, Serialize};

/// `POST /v1/baselines`: take a consistent snapshot of tables of one source, without blocking
/// writes (MariaDB `START TRANSACTION WITH CONSISTENT SNAPSHOT`). Answers when every table is
/// written and capture has passed the snapshot position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineRequest {
    /// Source `server_id`.
    pub server_id: u32,
    /// `schema.table` names; every captured base table when empty.
    #[serde(default)]
    pub tables: Vec<String>,
}

/// `POST /v1/baselines/import`: turn a mydumper dump directory (on the agent's host) into
/// baselines, anchored by the binlog position in its `metadata` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Source `server_id` the dump was taken from.
    pub server_id: u32,
    /// Absolute path of the dump directory.
    pub dir: String,
    /// `schema.table` names to import; every table of the dump when empty.
    #[serde(default)]
    pub tables: Vec<String>,
}

/// One baseline written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// Directory name under `data_dir/baselines/<server_id>/<schema>/<table>/`.
    pub id: String,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Binlog file of the consistent point.
    pub binlog_file: String,
    /// Binlog position of the consistent point.
    pub binlog_pos: u64,
    /// GTID position at the consistent point, when known.
    pub gtid: Option<String>,
    /// Last captured seq the baseline includes.
    pub seq: u64,
    /// Rows written.
    pub rows: u64,
    /// Size of `rows.parquet`, bytes.
    pub bytes: u64,
}

/// Answer of both endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// One entry per table written.
    pub baselines: Vec<BaselineSummary>,
    /// Ids of older baselines removed to keep `baselines.keep` per table.
    pub removed: Vec<String>,
}
