//! `_snapshot`: the whole table as of an instant, streamed in PK order with bounded memory.

use std::sync::Arc;

use agent_api::flashback::KeyPredicate;
use agent_api::snapshot::{SnapshotEnd, SnapshotHeader, SnapshotRequest};
use agent_api::time::format_unix_micros;
use agent_api::{ErrorCode, ErrorDetail};
use tokio::sync::mpsc;

use super::{resolve_time, state_as_of, ApiError, Clears, KeyRange};
use crate::schema::ColumnDef;
use crate::App;

/// Bytes of NDJSON gathered before a chunk is handed to the HTTP body.
const CHUNK_BYTES: usize = 64 * 1024;

/// Starts `POST /v1/snapshot`: checks the request and coverage, then scans on a blocking thread.
/// Returns the receiving end of the NDJSON body (header line, row lines, trailer line); the scan
/// stops as soon as the receiver is dropped (client gone).
///
/// Errors: `CoverageGap` when the index does not hold the whole table at that instant (the table
/// existed before capture began and no baseline covers it).
pub async fn snapshot(
    app: Arc<App>,
    req: &SnapshotRequest,
) -> Result<mpsc::Receiver<Vec<u8>>, ApiError> {
    let (entry, seq_max) =
        resolve_time(&app, req.server_id, &req.schema, &req.table, req.as_of_us).await?;
    match entry.complete_from_seq {
        Some(c) if c <= seq_max => {}
        complete => {
            let since = match complete
                .map(|c| app.index.txn(req.server_id, c))
                .transpose()?
                .flatten()
            {
                Some(t) => format!(
                    "; captured history holds the whole table from {} UTC",
                    format_unix_micros(t.visible_us)
                ),
                None => String::new(),
            };
            return Err(ApiError::new(
                ErrorCode::CoverageGap,
                format!(
                    "no baseline covers {}.{} at {} UTC: the table existed before capture began{since}. Take a baseline (agent-core baseline --source {} --tables {}.{}) or ask for a later time",
                    req.schema, req.table, format_unix_micros(req.as_of_us), req.server_id, req.schema, req.table
                ),
            ));
        }
    }
    let gaps = app
        .sources
        .get(&req.server_id)
        .map(|s| s.status().gaps)
        .unwrap_or_default();
    if let Some(g) = super::open_gap(&gaps, &entry, seq_max) {
        return Err(super::gap_error(
            g,
            &format!("the whole of {}.{}", req.schema, req.table),
        ));
    }
    let (_, out) = entry.version_at(seq_max);
    let out = out.clone();
    let pk_cols: Vec<&ColumnDef> = out.pk.iter().map(|&i| &out.columns[i]).collect();
    let (lower, upper) = match &req.key {
        None => (None, None),
        Some(KeyPredicate::Range { lower, upper }) => (lower.as_ref(), upper.as_ref()),
        Some(KeyPredicate::In(_)) => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "snapshot takes a key range, not a key list (use flashback)",
            ));
        }
    };
    let range = KeyRange::new(lower, upper, &pk_cols)?;
    let clears = Clears {
        before: app.index.last_clear(entry.table_no, 0, seq_max)?,
        after: app.index.next_clear(entry.table_no, seq_max)?,
    };
    let header = SnapshotHeader {
        success: true,
        columns: out.columns.iter().map(|c| c.info.clone()).collect(),
        seq: seq_max,
        warnings: Vec::new(),
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
    let mut first = serde_json::to_vec(&header)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    first.push(b'\n');
    tokio::task::spawn_blocking(move || {
        let mut buf = first;
        let mut rows = 0u64;
        let mut client_gone = false;
        let result = app.index.scan_keys(
            entry.table_no,
            range.lo(),
            range.hi(),
            seq_max,
            |pk, at, after| {
                if !range.contains(pk) {
                    return true;
                }
                if let Some(row) = state_as_of(&entry, clears.apply(at, after), &out) {
                    if serde_json::to_writer(&mut buf, &row).is_err() {
                        return false;
                    }
                    buf.push(b'\n');
                    rows += 1;
                }
                if buf.len() >= CHUNK_BYTES && tx.blocking_send(std::mem::take(&mut buf)).is_err() {
                    client_gone = true;
                    return false;
                }
                true
            },
        );
        if client_gone {
            return;
        }
        let end = match result {
            Ok(()) => SnapshotEnd::End { rows },
            Err(e) => SnapshotEnd::Error(ErrorDetail {
                code: ErrorCode::Internal,
                message: e.to_string(),
            }),
        };
        if serde_json::to_writer(&mut buf, &end).is_ok() {
            buf.push(b'\n');
        }
        let _ = tx.blocking_send(buf);
    });
    Ok(rx)
}
