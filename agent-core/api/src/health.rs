//! Capture status: `GET /health`.

use serde::{Deserialize, Serialize};

/// Answer of `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `true` while the agent can capture; `false` (with HTTP 503 and [`Self::reason`]) when
    /// capture stopped because the index storage failed (a full disk).
    pub success: bool,
    /// One entry per configured source.
    pub sources: Vec<SourceHealth>,
    /// Why the agent is unhealthy (`success: false`), e.g. `index storage: ... No space left on
    /// device`; absent when healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Capture status of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Whether the replication stream is connected now.
    pub connected: bool,
    /// Binlog file of the last committed checkpoint.
    pub binlog_file: String,
    /// Byte offset in `binlog_file` after the last captured transaction.
    pub binlog_pos: u64,
    /// GTID position of the checkpoint (MariaDB `domain-server-seq` list or MySQL GTID set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<String>,
    /// `seq` of the last captured transaction (0 before the first).
    pub seq: u64,
    /// Time up to which the record is complete, µs since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_until_us: Option<i64>,
    /// Seconds between now and `complete_until_us`; absent before the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    /// The last capture error, if the stream is not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Holes in the captured history (binlogs purged before capture read them), one sentence each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}
