//! `_flashback` key-range answers streamed: rows go out in chunks as the merge scan finds them,
//! so the agent holds one chunk, not the whole answer (a 500k-row range built whole cost about
//! 340 MB).
//!
//! The body has the same shape as the whole answer, so clients read it unchanged:
//! - row form ([`agent_api::wire::ROWS_MEDIA_TYPE`]): the answer's JSON without `rows`, `\n`,
//!   then one record per row;
//! - JSON: the answer's fields, `"rows":[`, the rows separated by `,`, `]}`.
//!
//! A failure after the first bytes went out cannot become an error status any more: the stream
//! then ends with an error, which aborts the chunked body, so the client sees a broken answer
//! (never a shorter one that looks complete).

use std::sync::Arc;

use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::{ErrorCode, Value};
use tokio::sync::mpsc;

use super::snapshot::{self, Coverage};
use super::{columns_for, complete_until_us, gap_error, resolve_time, schema_id_of, ApiError};
use super::{flashback, KeyRange};
use crate::schema::ColumnDef;
use crate::App;

/// Bytes gathered before a chunk is handed to the connection.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks in flight between the scan and the connection (so at most about
/// `CHUNK_BYTES × (CHUNKS + 1)` of answer is held).
const CHUNKS: usize = 8;

/// A flashback answer: whole, or a stream of body chunks.
pub enum FlashbackBody {
    /// Built whole (key lists, and answers from a baseline alone).
    Whole(FlashbackResponse),
    /// A key range: body chunks in order; an `Err` item means the answer broke off.
    Stream(mpsc::Receiver<Result<Vec<u8>, ApiError>>),
}

/// Answers `req`: a key range as a [`FlashbackBody::Stream`] in the row form (`binary`) or JSON,
/// anything else through [`flashback`]. Errors known before the first row (unknown table, time
/// outside the history, coverage gaps, bad bounds) are returned as errors.
pub async fn flashback_body(
    app: Arc<App>,
    req: &FlashbackRequest,
    binary: bool,
) -> Result<FlashbackBody, ApiError> {
    let KeyPredicate::Range { lower, upper } = &req.key else {
        return flashback(&app, req).await.map(FlashbackBody::Whole);
    };
    let Ok((entry, seq_max)) =
        resolve_time(&app, req.server_id, &req.schema, &req.table, req.as_of_us).await
    else {
        // Not in the index: the baseline-only answer (or its error) as it always was.
        return flashback(&app, req).await.map(FlashbackBody::Whole);
    };
    let out = entry.version_at(seq_max).1.clone();
    let pk_cols: Vec<&ColumnDef> = out.pk.iter().map(|&i| &out.columns[i]).collect();
    if pk_cols.is_empty() {
        // The refusal for a table without a key lives with the whole answer.
        return flashback(&app, req).await.map(FlashbackBody::Whole);
    }
    let tiers = app.archive.view(req.server_id, entry.table_no).await?;
    let Coverage {
        clears, base, gap, ..
    } = snapshot::coverage(
        &app,
        req.server_id,
        &req.schema,
        &req.table,
        &entry,
        seq_max,
        &out,
    )?;
    if let Some(g) = &gap {
        return Err(gap_error(
            g,
            &format!("the rows of {}.{}", req.schema, req.table),
        ));
    }
    let range = KeyRange::new(lower.as_ref(), upper.as_ref(), &pk_cols)?;
    let (columns, schema_id) = columns_for(&out.columns, schema_id_of(&out), req.known_schema);
    let head = FlashbackResponse {
        success: true,
        columns,
        schema_id: Some(schema_id),
        rows: Vec::new(),
        seq: seq_max,
        warnings: Vec::new(),
        complete_until_us: complete_until_us(&app, req.server_id),
    };
    let mut first = head_bytes(&head, binary)?;
    let (tx, rx) = mpsc::channel(CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut n = 0u64;
        let mut client_gone = false;
        let result = snapshot::merge_scan(
            &app.index,
            &tiers,
            &entry,
            &range,
            seq_max,
            &clears,
            base.as_ref(),
            &out,
            |row: Vec<Value>| {
                if !put_row(&mut first, &row, binary, n) {
                    return false;
                }
                n += 1;
                if first.len() >= CHUNK_BYTES
                    && tx.blocking_send(Ok(std::mem::take(&mut first))).is_err()
                {
                    client_gone = true;
                    return false;
                }
                true
            },
        );
        if client_gone {
            return;
        }
        let last = match result {
            Ok(()) => {
                if !binary {
                    first.extend_from_slice(b"]}");
                }
                Ok(first)
            }
            Err(e) => Err(e),
        };
        let _ = tx.blocking_send(last);
    });
    Ok(FlashbackBody::Stream(rx))
}

/// The bytes before the first row: the answer without rows, then `\n` (row form) or an open
/// `"rows":[` (JSON).
fn head_bytes(head: &FlashbackResponse, binary: bool) -> Result<Vec<u8>, ApiError> {
    let internal = |e: serde_json::Error| ApiError::new(ErrorCode::Internal, e.to_string());
    if binary {
        let mut b = serde_json::to_vec(head).map_err(internal)?;
        b.push(b'\n');
        return Ok(b);
    }
    let serde_json::Value::Object(mut map) = serde_json::to_value(head).map_err(internal)? else {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "answer is not an object",
        ));
    };
    map.remove("rows");
    let mut b = serde_json::to_vec(&map).map_err(internal)?;
    // `{...}` → `{...,"rows":[` (or `{"rows":[` for an empty map).
    b.pop();
    if map.is_empty() {
        b.extend_from_slice(b"\"rows\":[");
    } else {
        b.extend_from_slice(b",\"rows\":[");
    }
    Ok(b)
}

/// Appends one row in the body's form (`n`: rows already written); false when it cannot be
/// encoded.
fn put_row(buf: &mut Vec<u8>, row: &[Value], binary: bool, n: u64) -> bool {
    if binary {
        agent_api::wire::put_row(buf, row);
        return true;
    }
    if n > 0 {
        buf.push(b',');
    }
    serde_json::to_writer(&mut *buf, row).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_reads_as_the_whole_answer() {
        let head = FlashbackResponse {
            success: true,
            columns: Vec::new(),
            schema_id: Some(7),
            rows: Vec::new(),
            seq: 9,
            warnings: vec!["w".into()],
            complete_until_us: Some(5),
        };
        let rows = vec![vec![Value::Int(1)], vec![Value::Text("a\"]}".into())]];
        let mut b = head_bytes(&head, false).unwrap();
        for (i, r) in rows.iter().enumerate() {
            assert!(put_row(&mut b, r, false, i as u64));
        }
        b.extend_from_slice(b"]}");
        let back: FlashbackResponse = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            back,
            FlashbackResponse {
                rows,
                ..head.clone()
            }
        );
        // Cut anywhere, it is not an answer.
        assert!(serde_json::from_slice::<FlashbackResponse>(&b[..b.len() - 1]).is_err());
        let mut empty = head_bytes(&head, false).unwrap();
        empty.extend_from_slice(b"]}");
        let back: FlashbackResponse = serde_json::from_slice(&empty).unwrap();
        assert_eq!(back, head);
    }
}
