//! The index's storage health: a write that fails in the storage engine (`No space left on
//! device`, any I/O error) stops capture cleanly and leaves the engine unusable for this process
//! (fjall refuses every later write once its journal failed, even after space returns).
//!
//! What happens then:
//! 1. capture records the failure here ([`StorageHealth::fail`]) and stops writing (its last
//!    committed batch and checkpoint are intact: batches commit atomically);
//! 2. `GET /health` answers 503 with `success: false` and the reason, `/metrics` shows
//!    `agent_storage_failed 1`;
//! 3. [`watch`] probes `data_dir` every [`PROBE_EVERY`] by writing and fsyncing
//!    [`PROBE_BYTES`] bytes; once that succeeds it asks for a restart, and `agent-core` runs
//!    itself again in place (same arguments, a fresh process image): the index is reopened and
//!    capture resumes from the last checkpoint, so nothing is lost and nothing is written twice.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch as chan;

/// How often [`watch`] checks whether the disk has room again.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Bytes [`watch`] writes to prove there is room again (a few journal blocks, so the restarted
/// engine does not fail again at once).
pub const PROBE_BYTES: usize = 4 << 20;

/// Shared between capture, the HTTP handlers and [`watch`].
#[derive(Debug, Default)]
pub struct StorageHealth {
    failed: Mutex<Option<String>>,
    failures: AtomicU64,
}

impl StorageHealth {
    /// Records a storage failure (the first reason is kept until the restart).
    pub fn fail(&self, reason: &str) {
        let mut f = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(reason.to_owned());
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The reason capture stopped, while it is stopped.
    pub fn failed(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Failures recorded since the process started.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Whether `data_dir` takes [`PROBE_BYTES`] more bytes now (written, fsynced, removed).
pub fn has_room(data_dir: &Path) -> bool {
    let path: PathBuf = data_dir.join(".space-probe");
    let ok = std::fs::File::create(&path)
        .and_then(|mut f| {
            f.write_all(&vec![0u8; PROBE_BYTES])?;
            f.sync_all()
        })
        .is_ok();
    let _ = std::fs::remove_file(&path);
    ok
}

/// Waits for a storage failure, then for room on `data_dir`, then sets `restart` to true (the
/// caller shuts down and runs the process again). Returns at `shutdown`.
pub async fn watch(
    health: std::sync::Arc<StorageHealth>,
    data_dir: PathBuf,
    restart: chan::Sender<bool>,
    mut shutdown: chan::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PROBE_EVERY) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if health.failed().is_none() {
            continue;
        }
        let dir = data_dir.clone();
        let room = tokio::task::spawn_blocking(move || has_room(&dir))
            .await
            .unwrap_or(false);
        if room {
            tracing::warn!("storage has room again: restarting to reopen the index");
            let _ = restart.send(true);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_is_kept() {
        let h = StorageHealth::default();
        assert_eq!(h.failed(), None);
        h.fail("No space left on device");
        h.fail("later");
        assert_eq!(h.failed().as_deref(), Some("No space left on device"));
        assert_eq!(h.failures(), 1);
        let dir = tempfile::tempdir().unwrap();
        assert!(has_room(dir.path()));
        assert!(!dir.path().join(".space-probe").exists());
    }
}
