//! Live status of one source's capture, shared with the HTTP layer.

use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use agent_api::health::SourceHealth;
use tokio::sync::watch;

/// Status fields that change as capture runs.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Replication stream connected.
    pub connected: bool,
    /// Checkpoint binlog file.
    pub binlog_file: String,
    /// Checkpoint position.
    pub binlog_pos: u64,
    /// Checkpoint GTID position.
    pub gtid: Option<String>,
    /// Last committed seq.
    pub seq: u64,
    /// Start of captured history, µs (0 before the first event).
    pub history_start_us: i64,
    /// Last error, cleared when the stream reconnects.
    pub last_error: Option<String>,
    /// Holes in the captured history.
    pub gaps: Vec<crate::index::Gap>,
}

/// One source's shared state: [`Status`] plus `complete_until_us`, the instant up to which the
/// index holds every transaction (advanced by commits and by heartbeats while caught up).
pub struct SourceState {
    /// The source's `server_id`.
    pub server_id: u32,
    /// Capture counters for `/metrics`.
    pub metrics: crate::metrics::CaptureMetrics,
    status: RwLock<Status>,
    complete_tx: watch::Sender<i64>,
}

impl SourceState {
    /// A fresh state; `complete_until_us` starts at `i64::MIN` (nothing known).
    pub fn new(server_id: u32) -> Self {
        Self {
            metrics: Default::default(),
            server_id,
            status: RwLock::new(Status::default()),
            complete_tx: watch::channel(i64::MIN).0,
        }
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.status
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A copy of the holes in the captured history only (read per query: no copy of the
    /// status strings, no allocation while there are none).
    pub fn gaps(&self) -> Vec<crate::index::Gap> {
        self.status
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .gaps
            .clone()
    }

    /// Applies `f` to the status.
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.status.write().unwrap_or_else(|p| p.into_inner()));
    }

    /// The instant up to which the record is complete, µs since the epoch.
    pub fn complete_until_us(&self) -> i64 {
        *self.complete_tx.borrow()
    }

    /// Raises `complete_until_us` (never lowers it).
    pub fn advance_complete(&self, us: i64) {
        self.complete_tx.send_if_modified(|cur| {
            if us > *cur {
                *cur = us;
                true
            } else {
                false
            }
        });
    }

    /// Waits until `complete_until_us ≥ us` or `timeout` passes; returns whether it got there.
    pub async fn wait_complete(&self, us: i64, timeout: std::time::Duration) -> bool {
        let mut rx = self.complete_tx.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c >= us))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The `/health` view.
    pub fn health(&self) -> SourceHealth {
        let s = self.status();
        let complete = self.complete_until_us();
        let known = complete != i64::MIN;
        SourceHealth {
            server_id: self.server_id,
            connected: s.connected,
            binlog_file: s.binlog_file,
            binlog_pos: s.binlog_pos,
            gtid: s.gtid,
            seq: s.seq,
            complete_until_us: known.then_some(complete),
            lag_seconds: known.then(|| ((now_us() - complete) as f64 / 1e6).max(0.0)),
            last_error: s.last_error,
            gaps: s
                .gaps
                .iter()
                .map(|g| {
                    format!(
                        "after seq {}: between {} ({})",
                        g.after_seq,
                        g.range_text(),
                        g.description
                    )
                })
                .collect(),
        }
    }
}

/// Wall-clock now, µs since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
