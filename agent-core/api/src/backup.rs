//! Backup schedules and their run history: `/v1/backups/...`.
//!
//! A *backup* is a set of baselines (full-table snapshots in Parquet, each anchored at a binlog
//! position) taken by one run of a schedule, kept in the agent's `data_dir` (where `_snapshot`
//! reads them) and, when the schedule names a destination, copied there too.
//!
//! | method | path | request | response |
//! |---|---|---|---|
//! | GET | `/v1/backups/schedules` | — | [`SchedulesResponse`] |
//! | POST | `/v1/backups/schedules` | [`ScheduleRequest`] | [`ScheduleResponse`] (201) |
//! | GET | `/v1/backups/schedules/{id}` | — | [`ScheduleResponse`] |
//! | PUT | `/v1/backups/schedules/{id}` | [`ScheduleRequest`] | [`ScheduleResponse`] |
//! | DELETE | `/v1/backups/schedules/{id}` | — | [`DeletedResponse`] |
//! | POST | `/v1/backups/schedules/{id}/run` | — | [`RunStartedResponse`] (202) |
//! | GET | `/v1/backups/runs?schedule_id=&table=&limit=` | [`RunsQuery`] | [`RunsResponse`] |
//!
//! Schedules and runs are kept in `data_dir/backups/state.json` and survive restarts. An unknown
//! schedule id is `TableNotFound` (HTTP 404); an invalid cron, keep or destination is `BadRequest`
//! (HTTP 400) naming the field.

use serde::{Deserialize, Serialize};

/// Body of `POST /v1/backups/schedules` (create) and `PUT /v1/backups/schedules/{id}` (replace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// Five-field cron expression evaluated in UTC (`minute hour day-of-month month
    /// day-of-week`, e.g. `0 2 * * *` for 02:00 daily; `*`, lists, ranges and `*/n` steps).
    pub cron: String,
    /// Source `server_id` to back up; every configured source when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u32>,
    /// `schema.table` names; every captured base table when empty.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Retention of this schedule's backups.
    #[serde(default)]
    pub keep: KeepPolicy,
    /// Where each run's files are copied besides `data_dir`: `file:///absolute/dir` or
    /// `s3://bucket/prefix` (the archive store's credentials chain, endpoint and region). Files
    /// land under `<destination>/<schedule id>/<YYYY-MM-DD>/<HHMMSS>-<run id>/<schema>/<table>/`
    /// (names encoded as in `data_dir`). Absent: `data_dir` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Whether the schedule fires (default true). A disabled schedule can still be run by hand.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// How many backups of a schedule are kept, by count and/or age; a backup is deleted when either
/// limit says so, except the newest successful one, which is always kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepPolicy {
    /// Newest backups kept (at least 1); unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Backups older than this many days (1–3650) are deleted; no age limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
}

/// Where a schedule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleOrigin {
    /// Created from `baselines.schedule` in `agent.yaml` when the agent first started with it.
    Config,
    /// Created through the API.
    Api,
}

/// A schedule as stored, with its last run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Stable id (`bkp-<n>`, or `config` for the one bootstrapped from `agent.yaml`).
    pub id: String,
    /// See [`ScheduleRequest::cron`].
    pub cron: String,
    /// See [`ScheduleRequest::server_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<u32>,
    /// See [`ScheduleRequest::tables`].
    pub tables: Vec<String>,
    /// See [`ScheduleRequest::keep`].
    pub keep: KeepPolicy,
    /// See [`ScheduleRequest::destination`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// See [`ScheduleRequest::enabled`].
    pub enabled: bool,
    /// Where it came from.
    pub origin: ScheduleOrigin,
    /// Creation time, µs since the epoch.
    pub created_at_us: i64,
    /// Last change through the API, µs since the epoch.
    pub updated_at_us: i64,
    /// Next minute the cron matches (µs since the epoch); absent when disabled or none within a
    /// year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_us: Option<i64>,
    /// The newest run (any trigger), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<BackupRun>,
}

/// Answer of `GET /v1/backups/schedules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulesResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// Every schedule, by id.
    pub schedules: Vec<Schedule>,
}

/// Answer of creating, reading or replacing one schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// The schedule after the request.
    pub schedule: Schedule,
}

/// Answer of `DELETE /v1/backups/schedules/{id}`. Its run history stays (runs name the id);
/// files already written stay too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// The id deleted.
    pub id: String,
}

/// Answer of `POST /v1/backups/schedules/{id}/run`: the run started in the background; follow it
/// in `GET /v1/backups/runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStartedResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// The new run's id.
    pub run_id: String,
}

/// Query of `GET /v1/backups/runs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// Only runs of this schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    /// Only runs that included this `schema.table` (their [`BackupRun::tables`] keep just it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Newest runs returned (default 50, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Answer of `GET /v1/backups/runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsResponse {
    /// Always true (failures use the error body).
    pub success: bool,
    /// Newest first.
    pub runs: Vec<BackupRun>,
}

/// Why a run happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The cron matched.
    Scheduled,
    /// `POST /v1/backups/schedules/{id}/run`.
    Manual,
}

/// State of a run (or of one table in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Every table written (and copied to the destination).
    Succeeded,
    /// Stopped by an error ([`BackupRun::error`]).
    Failed,
    /// The cron matched but no run started: the agent was down then, or the previous run was
    /// still going.
    Missed,
}

/// One run of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRun {
    /// `run-<n>`, increasing.
    pub id: String,
    /// The schedule it belongs to.
    pub schedule_id: String,
    /// Why it ran.
    pub trigger: RunTrigger,
    /// Its state.
    pub status: RunStatus,
    /// Start (for a missed run: the minute it should have started), µs since the epoch.
    pub started_at_us: i64,
    /// End, µs since the epoch; absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_us: Option<i64>,
    /// `finished_at_us - started_at_us` in milliseconds; absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Rows written so far (sum over tables).
    pub rows: u64,
    /// Bytes of `rows.parquet` written so far (sum over tables; before encryption).
    pub bytes: u64,
    /// What went wrong, for `failed` and `missed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where the files were copied, when the schedule has a destination: the run's directory
    /// URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// When retention deleted this run's files (µs since the epoch); absent while they are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at_us: Option<i64>,
    /// One entry per table the run wrote (or failed on).
    #[serde(default)]
    pub tables: Vec<TableRun>,
}

/// One table of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRun {
    /// Source `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// State of this table.
    pub status: RunStatus,
    /// The baseline id written (`s<seq>-<taken_at_us>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_id: Option<String>,
    /// Last captured seq the baseline includes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Rows written.
    pub rows: u64,
    /// Bytes of `rows.parquet`.
    pub bytes: u64,
    /// What went wrong for this table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_defaults_and_unknown_fields() {
        let r: ScheduleRequest = serde_json::from_str(r#"{"cron":"0 2 * * *"}"#).unwrap();
        assert!(r.enabled && r.tables.is_empty() && r.destination.is_none());
        assert_eq!(r.keep, KeepPolicy::default());
        let bad = serde_json::from_str::<ScheduleRequest>(r#"{"cron":"0 2 * * *","x":1}"#);
        assert!(bad.unwrap_err().to_string().contains("unknown field"));
    }
}
