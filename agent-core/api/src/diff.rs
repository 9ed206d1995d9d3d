//! Changes in a time window: `POST /v1/diff`.

use serde::{Deserialize, Serialize};

use crate::catalog::ColumnInfo;
use crate::flashback::KeyPredicate;
use crate::value::Value;

/// Body of `POST /v1/diff`: every change to the matching keys whose transaction became visible in
/// `[from_us, to_us]` (both inclusive), in commit (seq) order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRequest {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Window start, µs since the Unix epoch (UTC), inclusive.
    pub from_us: i64,
    /// Window end, µs since the Unix epoch (UTC), inclusive.
    pub to_us: i64,
    /// Which keys.
    pub key: KeyPredicate,
}

/// Row change kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeType {
    /// A new row.
    Insert,
    /// A changed row.
    Update,
    /// A removed row.
    Delete,
}

/// One row change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRow {
    /// Visible time of the transaction, µs since the Unix epoch.
    pub event_time_us: i64,
    /// INSERT, UPDATE or DELETE.
    pub event_type: ChangeType,
    /// The transaction's `seq`.
    pub seq: u64,
    /// GTID of the transaction, when the source has GTIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// Binlog file of the commit.
    pub binlog_file: String,
    /// Position after the commit event.
    pub binlog_pos: u64,
    /// Names of the columns whose value differs between the images (all columns for INSERT and
    /// DELETE), in table order.
    pub changed_columns: Vec<String>,
    /// Image before the change, aligned with the response's `columns`; absent for INSERT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_before: Option<Vec<Value>>,
    /// Image after the change, aligned with `columns`; absent for DELETE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_after: Option<Vec<Value>>,
}

/// Answer of `POST /v1/diff`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffResponse {
    /// Always `true`.
    pub success: bool,
    /// The table's columns as of the window end; images are aligned with them.
    pub columns: Vec<ColumnInfo>,
    /// Changes in commit order (seq, then order within the transaction).
    pub changes: Vec<ChangeRow>,
    /// Notes for `SHOW WARNINGS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
