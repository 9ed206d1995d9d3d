//! The whole table as of an instant: `POST /v1/snapshot`, streamed as NDJSON.
//!
//! The answer is `application/x-ndjson`, one JSON document per line:
//! 1. a [`SnapshotHeader`] (`{"success": true, "columns": [...], "seq": n, "warnings": [...]}`),
//! 2. one line per row: a JSON array of [`Value`]s aligned with `columns`, in PK order,
//! 3. a [`SnapshotEnd`] trailer `{"end": {"rows": n}}`, or `{"error": {"code": ..., "message": ...}}`
//!    when the agent fails mid-stream. A stream without the trailer was cut: the client reports it
//!    as an error, never as a complete table.
//!
//! Failures found before streaming starts use the ordinary error body and status.

use serde::{Deserialize, Serialize};

use crate::catalog::ColumnInfo;
use crate::error::ErrorDetail;
use crate::flashback::KeyPredicate;
use crate::value::Value;

/// Body of `POST /v1/snapshot`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// The instant, µs since the Unix epoch (UTC).
    pub as_of_us: i64,
    /// Optional PK range to restrict the scan (`Range` only; absent = whole table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPredicate>,
}

/// First line of a snapshot stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Always `true`.
    pub success: bool,
    /// The table's columns as of the instant.
    pub columns: Vec<ColumnInfo>,
    /// The `seq` of the last transaction included.
    pub seq: u64,
    /// Notes for `SHOW WARNINGS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Last line of a snapshot stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotEnd {
    /// The stream is complete.
    End {
        /// Rows sent.
        rows: u64,
    },
    /// The agent failed after the header.
    Error(ErrorDetail),
}

/// One line after the header: a row, or the trailer.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotLine {
    /// A row aligned with the header's columns.
    Row(Vec<Value>),
    /// The trailer.
    End(SnapshotEnd),
}

impl SnapshotLine {
    /// Parses one NDJSON line after the header.
    pub fn parse(line: &[u8]) -> Result<Self, serde_json::Error> {
        if line.first() == Some(&b'[') {
            return serde_json::from_slice(line).map(SnapshotLine::Row);
        }
        serde_json::from_slice(line).map(SnapshotLine::End)
    }
}
