//! Binlog positions and the seq a baseline is consistent with.
//!
//! A position is (`file`, `pos`): binlog files are ordered by their numeric extension
//! (`mariadb-bin.000012` after `mariadb-bin.000009`), positions within a file by offset. Each
//! captured transaction records the position just after its commit event ([`TxnRecord`]); a
//! snapshot at position P holds exactly the transactions whose record is at or before P.
//!
//! Renamed binlogs or `RESET MASTER` restart the numbering; positions then stop being comparable
//! across the reset, and a baseline must be taken after it.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use crate::capture::state::SourceState;
use crate::index::{Index, TxnRecord};

use super::BaselineError;

/// Orders two binlog positions.
pub fn cmp_position(a: (&str, u64), b: (&str, u64)) -> Ordering {
    file_key(a.0).cmp(&file_key(b.0)).then(a.1.cmp(&b.1))
}

/// (numeric extension, whole name) so `x.000010` sorts after `x.000009`; names without a number
/// sort by name.
fn file_key(name: &str) -> (u64, &str) {
    let number = name
        .rsplit_once('.')
        .and_then(|(_, ext)| ext.parse::<u64>().ok())
        .unwrap_or(0);
    (number, name)
}

/// The last captured seq (≤ `last_seq`) whose transaction committed at or before (`file`, `pos`);
/// 0 when none did. Binary search over the `txns` records (seq order = binlog order).
pub fn seq_at_position(
    index: &Index,
    server_id: u32,
    last_seq: u64,
    file: &str,
    pos: u64,
) -> Result<u64, BaselineError> {
    let at_or_before = |seq: u64| -> Result<bool, BaselineError> {
        let rec: TxnRecord = index.txn(server_id, seq)?.ok_or_else(|| {
            BaselineError::Invalid(format!(
                "seq {seq} of server_id {server_id} has no txn record"
            ))
        })?;
        Ok(cmp_position((&rec.binlog_file, rec.binlog_pos), (file, pos)) != Ordering::Greater)
    };
    // Invariant: every seq ≤ lo is at or before the position, every seq > hi is after it.
    let (mut lo, mut hi) = (0u64, last_seq);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if at_or_before(mid)? {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// Waits until capture of the source has passed (`file`, `pos`), polling its checkpoint; returns
/// the last committed seq then. Errors with `NotCaptured` after `timeout`.
pub async fn wait_captured(
    state: &SourceState,
    file: &str,
    pos: u64,
    timeout: Duration,
) -> Result<u64, BaselineError> {
    let deadline = Instant::now() + timeout;
    loop {
        let s = state.status();
        if !s.binlog_file.is_empty()
            && cmp_position((&s.binlog_file, s.binlog_pos), (file, pos)) != Ordering::Less
        {
            return Ok(s.seq);
        }
        if Instant::now() >= deadline {
            return Err(BaselineError::NotCaptured(format!(
                "capture of server_id {} stands at {}:{} and did not reach the snapshot position {file}:{pos} within {} s{}",
                state.server_id,
                s.binlog_file,
                s.binlog_pos,
                timeout.as_secs(),
                s.last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_is_the_last_transaction_committed_at_or_before_the_position() {
        use crate::index::{Checkpoint, CommittedTxn};
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        // seq 1..=5 end at b.000001:100, :200, :300, then b.000002:150, :250.
        let ends = [
            ("b.000001", 100),
            ("b.000001", 200),
            ("b.000001", 300),
            ("b.000002", 150),
            ("b.000002", 250),
        ];
        let txns: Vec<CommittedTxn> = ends
            .iter()
            .enumerate()
            .map(|(i, (file, pos))| CommittedTxn {
                seq: i as u64 + 1,
                record: TxnRecord {
                    visible_us: i as i64,
                    commit_us: i as i64,
                    gtid: None,
                    binlog_file: (*file).into(),
                    binlog_pos: *pos,
                    rows: 0,
                },
                changes: Vec::new(),
                ordinal_base: 0,
                clears: Vec::new(),
            })
            .collect();
        let cp = Checkpoint {
            binlog_file: "b.000002".into(),
            binlog_pos: 250,
            seq: 5,
            ..Checkpoint::default()
        };
        index.commit(1, &txns, &cp, true).unwrap();
        let at = |f: &str, p: u64| seq_at_position(&index, 1, 5, f, p).unwrap();
        assert_eq!(at("b.000001", 99), 0);
        assert_eq!(at("b.000001", 100), 1);
        assert_eq!(at("b.000001", 299), 2);
        assert_eq!(at("b.000002", 4), 3);
        assert_eq!(at("b.000002", 250), 5);
        assert_eq!(at("b.000003", 4), 5);
    }

    #[test]
    fn binlog_files_order_by_number_then_offset() {
        use Ordering::*;
        assert_eq!(cmp_position(("b.000010", 4), ("b.000009", 900)), Greater);
        assert_eq!(cmp_position(("b.000009", 4), ("b.000009", 900)), Less);
        assert_eq!(cmp_position(("b.000009", 900), ("b.000009", 900)), Equal);
    }
}
