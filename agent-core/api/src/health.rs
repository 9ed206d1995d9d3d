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
    /// `ok`; `degraded` while the agent serves and captures but something needs an operator
    /// (each reason in [`Self::warnings`]: a backup schedule whose last run failed or was
    /// missed); `unavailable` with `success: false`. HTTP 200 unless `unavailable`.
    #[serde(default)]
    pub status: HealthStatus,
    /// Why the agent is `degraded`, one sentence each; empty when `ok`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The overall state in [`HealthResponse::status`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Capturing and serving, nothing to report.
    #[default]
    Ok,
    /// Capturing and serving, with [`HealthResponse::warnings`].
    Degraded,
    /// Capture stopped ([`HealthResponse::reason`]).
    Unavailable,
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
