//! The backup part of `GET /metrics` (Prometheus text format 0.0.4):
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `agent_backup_runs_total` | counter | `status` (`succeeded`, `failed`, `missed`) | runs finished since the process started |
//! | `agent_backup_schedule_enabled` | gauge | `schedule_id` | 1 when the schedule fires |
//! | `agent_backup_last_run_failed` | gauge | `schedule_id` | 1 when the newest finished run failed or was missed |
//! | `agent_backup_last_run_timestamp_seconds` | gauge | `schedule_id` | start of the newest finished run |
//! | `agent_backup_last_success_timestamp_seconds` | gauge | `schedule_id` | start of the newest successful run in the history |
//! | `agent_backup_last_run_duration_seconds` | gauge | `schedule_id` | duration of the newest finished run |
//! | `agent_backup_last_run_rows` | gauge | `schedule_id` | rows the newest finished run wrote |
//! | `agent_backup_last_run_bytes` | gauge | `schedule_id` | Parquet bytes the newest finished run wrote |
//!
//! Alert on `agent_backup_last_run_failed == 1`, or on `time() -
//! agent_backup_last_success_timestamp_seconds` beyond the schedule's interval.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_api::backup::RunStatus;

use super::Backups;

/// Runs finished since the process started, by status.
#[derive(Debug, Default)]
pub struct RunCounters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    missed: AtomicU64,
}

impl RunCounters {
    /// Counts one finished run.
    pub fn count(&self, status: RunStatus) {
        let c = match status {
            RunStatus::Succeeded => &self.succeeded,
            RunStatus::Failed => &self.failed,
            RunStatus::Missed => &self.missed,
            RunStatus::Running => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Appends the backup metrics to `out`.
pub fn render(backups: &Backups, out: &mut String) {
    let c = &backups.finished;
    let _ = writeln!(
        out,
        "# HELP agent_backup_runs_total Backup runs finished since the process started.\n# TYPE agent_backup_runs_total counter"
    );
    for (status, n) in [
        ("succeeded", &c.succeeded),
        ("failed", &c.failed),
        ("missed", &c.missed),
    ] {
        let _ = writeln!(
            out,
            "agent_backup_runs_total{{status=\"{status}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let latest = backups.latest();
    let families: [(&str, &str); 7] = [
        (
            "agent_backup_schedule_enabled",
            "1 when the backup schedule fires.",
        ),
        (
            "agent_backup_last_run_failed",
            "1 when the newest finished run of the schedule failed or was missed.",
        ),
        (
            "agent_backup_last_run_timestamp_seconds",
            "Start of the newest finished run, seconds since the epoch.",
        ),
        (
            "agent_backup_last_success_timestamp_seconds",
            "Start of the newest successful run, seconds since the epoch.",
        ),
        (
            "agent_backup_last_run_duration_seconds",
            "Duration of the newest finished run.",
        ),
        (
            "agent_backup_last_run_rows",
            "Rows the newest finished run wrote.",
        ),
        (
            "agent_backup_last_run_bytes",
            "Parquet bytes the newest finished run wrote.",
        ),
    ];
    for (name, help) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (s, last) in &latest {
            let value = match (name, last) {
                ("agent_backup_schedule_enabled", _) => f64::from(u8::from(s.enabled)),
                ("agent_backup_last_success_timestamp_seconds", _) => {
                    match backups.last_success_us(&s.id) {
                        Some(us) => us as f64 / 1e6,
                        None => continue,
                    }
                }
                (_, None) => continue,
                ("agent_backup_last_run_failed", Some(r)) => f64::from(u8::from(matches!(
                    r.status,
                    RunStatus::Failed | RunStatus::Missed
                ))),
                ("agent_backup_last_run_timestamp_seconds", Some(r)) => {
                    r.started_at_us as f64 / 1e6
                }
                ("agent_backup_last_run_duration_seconds", Some(r)) => {
                    r.duration_ms.unwrap_or(0) as f64 / 1e3
                }
                ("agent_backup_last_run_rows", Some(r)) => r.rows as f64,
                (_, Some(r)) => r.bytes as f64,
            };
            // Schedule ids are `bkp-<n>` or `config`: no escaping needed.
            let _ = writeln!(out, "{name}{{schedule_id=\"{}\"}} {value}", s.id);
        }
    }
}
