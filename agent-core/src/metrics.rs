//! `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `agent_capture_row_events_total` | counter | `server_id` | row changes written to the index |
//! | `agent_capture_transactions_total` | counter | `server_id` | transactions given a seq |
//! | `agent_capture_batches_total` | counter | `server_id` | index write batches committed |
//! | `agent_capture_batch_seconds_total` | counter | `server_id` | time spent committing batches |
//! | `agent_capture_seq` | gauge | `server_id` | last committed seq |
//! | `agent_capture_connected` | gauge | `server_id` | 1 while the replication stream is up |
//! | `agent_capture_lag_seconds` | gauge | `server_id` | now − complete-up-to instant |
//! | `agent_index_disk_bytes` | gauge | — | bytes of the change index on disk |
//! | `agent_storage_failed` | gauge | — | 1 while capture is stopped by a storage failure (full disk) |
//! | `agent_storage_failures_total` | counter | — | storage failures since the process started |
//! | `agent_backup_*` | | `schedule_id`, `status` | backup runs: [`crate::backup::metrics`] |

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::App;

/// Per-source capture counters, updated by the capture task.
#[derive(Debug, Default)]
pub struct CaptureMetrics {
    /// Row changes committed.
    pub row_events: AtomicU64,
    /// Transactions committed.
    pub transactions: AtomicU64,
    /// Batches committed.
    pub batches: AtomicU64,
    /// µs spent in batch commits.
    pub batch_micros: AtomicU64,
}

impl CaptureMetrics {
    /// Records one committed batch.
    pub fn record_batch(&self, rows: u64, txns: u64, micros: u64) {
        self.row_events.fetch_add(rows, Ordering::Relaxed);
        self.transactions.fetch_add(txns, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batch_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Renders every metric.
pub fn render(app: &App) -> String {
    let mut out = String::new();
    let mut sources: Vec<_> = app.sources.values().collect();
    sources.sort_by_key(|s| s.server_id);
    let families: [(&str, &str, &str); 7] = [
        (
            "agent_capture_row_events_total",
            "counter",
            "Row changes written to the index.",
        ),
        (
            "agent_capture_transactions_total",
            "counter",
            "Transactions given a seq.",
        ),
        (
            "agent_capture_batches_total",
            "counter",
            "Index write batches committed.",
        ),
        (
            "agent_capture_batch_seconds_total",
            "counter",
            "Seconds spent committing batches.",
        ),
        ("agent_capture_seq", "gauge", "Last committed seq."),
        (
            "agent_capture_connected",
            "gauge",
            "1 while the replication stream is connected.",
        ),
        (
            "agent_capture_lag_seconds",
            "gauge",
            "Seconds between now and the complete-up-to instant.",
        ),
    ];
    for (name, kind, help) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in &sources {
            let m = &s.metrics;
            let health = s.health();
            let value = match name {
                "agent_capture_row_events_total" => m.row_events.load(Ordering::Relaxed) as f64,
                "agent_capture_transactions_total" => m.transactions.load(Ordering::Relaxed) as f64,
                "agent_capture_batches_total" => m.batches.load(Ordering::Relaxed) as f64,
                "agent_capture_batch_seconds_total" => {
                    m.batch_micros.load(Ordering::Relaxed) as f64 / 1e6
                }
                "agent_capture_seq" => health.seq as f64,
                "agent_capture_connected" => f64::from(u8::from(health.connected)),
                _ => match health.lag_seconds {
                    Some(lag) => lag,
                    None => continue,
                },
            };
            let _ = writeln!(out, "{name}{{server_id=\"{}\"}} {value}", s.server_id);
        }
    }
    let _ = writeln!(
        out,
        "# HELP agent_index_disk_bytes Bytes of the change index on disk.\n# TYPE agent_index_disk_bytes gauge\nagent_index_disk_bytes {}",
        app.index.disk_space()
    );
    let _ = writeln!(
        out,
        "# HELP agent_storage_failed 1 while capture is stopped by a storage failure.\n# TYPE agent_storage_failed gauge\nagent_storage_failed {}\n# HELP agent_storage_failures_total Storage failures since the process started.\n# TYPE agent_storage_failures_total counter\nagent_storage_failures_total {}",
        u8::from(app.storage.failed().is_some()),
        app.storage.failures()
    );
    crate::backup::metrics::render(&app.backups, &mut out);
    out
}
