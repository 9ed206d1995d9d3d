//! `_diff`: every change to a set of keys in a time window, in commit order.

use std::collections::HashMap;

use agent_api::diff::{ChangeRow, ChangeType, DiffRequest, DiffResponse};
use agent_api::flashback::KeyPredicate;
use agent_api::{ErrorCode, Value};

use super::{encode_literal_key, gap_error, project, resolve_time, ApiError, KeyRange};
use crate::index::{ChangeKind, StoredChange, TxnRecord};
use crate::schema::ColumnDef;
use crate::App;
use agent_api::time::format_unix_micros;

/// Answers `POST /v1/diff`: changes whose transaction became visible in `[from_us, to_us]`.
///
/// A TRUNCATE inside the window shows, for each requested key that existed just before it, as a
/// DELETE at the TRUNCATE's seq (for `In` predicates; a range reports row events only).
pub async fn diff(app: &App, req: &DiffRequest) -> Result<DiffResponse, ApiError> {
    if req.to_us < req.from_us {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "diff window ends before it starts",
        ));
    }
    let (entry, seq_to) =
        resolve_time(app, req.server_id, &req.schema, &req.table, req.to_us).await?;
    let before_history = window_captured(app, req)?;
    let seq_from = app
        .index
        .seq_at(req.server_id, req.from_us.saturating_sub(1))?;
    let (_, out) = entry.version_at(seq_to);
    let out = out.clone();
    let pk_cols: Vec<&ColumnDef> = out.pk.iter().map(|&i| &out.columns[i]).collect();
    let index = &app.index;
    let tiers = app.archive.view(req.server_id, entry.table_no).await?;
    let mut found: Vec<StoredChange> = Vec::new();
    match &req.key {
        KeyPredicate::In(keys) => {
            let mut encoded = Vec::with_capacity(keys.len());
            for key in keys {
                encoded.push(encode_literal_key(key, &pk_cols, false)?);
            }
            encoded.sort();
            encoded.dedup();
            for pk in &encoded {
                tiers.changes_between(index, Some(pk), Some(pk), seq_from, seq_to, |p, c| {
                    if p == pk.as_slice() {
                        found.push(c);
                    }
                    true
                })?;
                truncations(app, &tiers, &entry, pk, seq_from, seq_to, &mut found)?;
            }
        }
        KeyPredicate::Range { lower, upper } => {
            let range = KeyRange::new(lower.as_ref(), upper.as_ref(), &pk_cols)?;
            tiers.changes_between(index, range.lo(), range.hi(), seq_from, seq_to, |pk, c| {
                if range.contains(pk) {
                    found.push(c);
                }
                true
            })?;
        }
    }
    found.sort_by_key(|c| (c.seq, c.ordinal));
    let mut txns: HashMap<u64, TxnRecord> = HashMap::new();
    let mut changes = Vec::with_capacity(found.len());
    for c in found {
        if let std::collections::hash_map::Entry::Vacant(v) = txns.entry(c.seq) {
            let record = index.txn(req.server_id, c.seq)?.ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Internal,
                    format!("transaction record of seq {} missing", c.seq),
                )
            })?;
            v.insert(record);
        }
        let txn = &txns[&c.seq];
        let before = c
            .before
            .and_then(|img| project(&entry, img, c.schema_version, &out));
        let after = c
            .after
            .and_then(|img| project(&entry, img, c.schema_version, &out));
        changes.push(ChangeRow {
            event_time_us: txn.visible_us,
            event_type: match c.kind {
                ChangeKind::Insert => ChangeType::Insert,
                ChangeKind::Update => ChangeType::Update,
                ChangeKind::Delete => ChangeType::Delete,
            },
            seq: c.seq,
            gtid: txn.gtid.clone(),
            binlog_file: txn.binlog_file.clone(),
            binlog_pos: txn.binlog_pos,
            changed_columns: changed_columns(&out.columns, before.as_deref(), after.as_deref()),
            row_before: before,
            row_after: after,
        });
    }
    Ok(DiffResponse {
        success: true,
        columns: out.columns.iter().map(|c| c.info.clone()).collect(),
        changes,
        warnings: before_history.into_iter().collect(),
    })
}

/// Checks that capture saw the window: one that spans a gap is refused (`CoverageGap`, 1526),
/// since answering with the changes around the hole would pass a partial change log for a
/// complete one. One that starts before the captured history (`BETWEEN '1 hour ago' AND 'now'`
/// on an agent started ten minutes ago) answers the captured part with a warning for
/// `SHOW WARNINGS` that names where history starts (the returned text).
fn window_captured(app: &App, req: &DiffRequest) -> Result<Option<String>, ApiError> {
    // An unknown server was already refused by `resolve_time`.
    let Some(state) = app.sources.get(&req.server_id) else {
        return Ok(None);
    };
    let status = state.status();
    let (from, to) = (req.from_us, req.to_us);
    if let Some(g) =
        (status.gaps.iter()).find(|g| g.from_us < to && g.until_us.is_none_or(|u| from < u))
    {
        let what = format!(
            "the changes between {} UTC and {} UTC",
            format_unix_micros(from),
            format_unix_micros(to)
        );
        return Err(gap_error(g, &what));
    }
    if from < status.history_start_us {
        return Ok(Some(format!(
            "_diff window starts at {} UTC, before the start of captured history ({} UTC): changes before that are unknown and not listed",
            format_unix_micros(from),
            format_unix_micros(status.history_start_us)
        )));
    }
    Ok(None)
}

/// Adds a DELETE at each TRUNCATE in `(seq_from, seq_to]` for a key that existed just before it.
fn truncations(
    app: &App,
    tiers: &crate::archive::TierView,
    entry: &crate::index::TableEntry,
    pk: &[u8],
    seq_from: u64,
    seq_to: u64,
    found: &mut Vec<StoredChange>,
) -> Result<(), ApiError> {
    let mut after = seq_from;
    while let Some(t) = app.index.next_clear(entry.table_no, after)? {
        if t > seq_to {
            break;
        }
        let clears = super::Clears {
            before: app.index.last_clear(entry.table_no, 0, t - 1)?,
            after: Some(t),
        };
        let (at, later) = tiers.key_history_around(&app.index, pk, t - 1, 0)?;
        let (at, _) = clears.apply(at, later);
        if let Some(c) = at.filter(|c| c.kind != ChangeKind::Delete) {
            found.push(StoredChange {
                seq: t,
                ordinal: 0,
                kind: ChangeKind::Delete,
                schema_version: c.schema_version,
                before: c.after,
                after: None,
            });
        }
        after = t;
    }
    Ok(())
}

/// Columns whose value differs between the images; every column when one image is absent.
fn changed_columns(
    cols: &[ColumnDef],
    before: Option<&[Value]>,
    after: Option<&[Value]>,
) -> Vec<String> {
    cols.iter()
        .enumerate()
        .filter(|(i, _)| match (before, after) {
            (Some(b), Some(a)) => b.get(*i) != a.get(*i),
            _ => true,
        })
        .map(|(_, c)| c.info.name.clone())
        .collect()
}
