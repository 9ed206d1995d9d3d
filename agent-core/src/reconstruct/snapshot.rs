//! `_snapshot`: the whole table as of an instant, streamed in PK order with bounded memory.
//!
//! Sources of the answer, in order of preference:
//! 1. the change index alone, when it holds the whole table at that seq (its CREATE or a
//!    TRUNCATE was captured before it);
//! 2. the newest baseline with `seq ≤ seq(T)` merged with the changes in `(baseline.seq, seq(T)]`:
//!    a merge-join of the baseline's PK-ordered rows with the index's PK-ordered keys, where a
//!    key changed after the baseline takes its state at `seq(T)` and any other key keeps its
//!    baseline row. Memory holds one baseline batch and one key's changes, never the table;
//! 3. otherwise `CoverageGap` naming the `agent-core baseline` command to run.

use std::sync::Arc;

use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::snapshot::{SnapshotEnd, SnapshotHeader, SnapshotRequest};
use agent_api::time::format_unix_micros;
use agent_api::{ErrorCode, ErrorDetail, Value};
use tokio::sync::mpsc;

use super::{resolve_time, state_as_of, ApiError, Clears, KeyRange};
use crate::archive::merge::TierView;
use crate::baseline::reader::{KeyedRow, RowStream};
use crate::baseline::{self, Baseline, BaselineError};
use crate::index::{ChangeKind, Gap, Index, StoredChange, TableEntry};
use crate::schema::{ColumnDef, TableSchema};
use crate::App;

/// Bytes of NDJSON gathered before a chunk is handed to the HTTP body.
const CHUNK_BYTES: usize = 64 * 1024;

impl From<BaselineError> for ApiError {
    fn from(e: BaselineError) -> Self {
        ApiError::new(ErrorCode::Internal, format!("baseline unreadable: {e}"))
    }
}

/// A baseline chosen for a read, with its rows' projection onto the output columns.
pub(crate) struct BaselineUse {
    pub(crate) baseline: Baseline,
    /// Output column → baseline column (by name); `None` when the columns are the same.
    map: Option<Vec<Option<usize>>>,
}

impl BaselineUse {
    pub(crate) fn new(baseline: Baseline, out: &TableSchema) -> Self {
        let base = &baseline.manifest.table_schema;
        let same = base.columns.len() == out.columns.len()
            && base
                .columns
                .iter()
                .zip(&out.columns)
                .all(|(a, b)| a.info.name.eq_ignore_ascii_case(&b.info.name));
        let map = (!same).then(|| {
            out.columns
                .iter()
                .map(|c| {
                    base.columns
                        .iter()
                        .position(|b| b.info.name.eq_ignore_ascii_case(&c.info.name))
                })
                .collect()
        });
        Self { baseline, map }
    }

    /// The seq the baseline is consistent with.
    pub(crate) fn seq(&self) -> u64 {
        self.baseline.manifest.seq
    }

    /// A baseline row as values of the output columns (a column the baseline lacks is NULL).
    pub(crate) fn project(&self, row: Vec<Value>) -> Vec<Value> {
        match &self.map {
            None => row,
            Some(map) => map
                .iter()
                .map(|i| i.and_then(|i| row.get(i).cloned()).unwrap_or(Value::Null))
                .collect(),
        }
    }

    /// The state of a key as of the split seq: its newest change when that change is after the
    /// baseline, else the baseline's row (if the baseline has the key).
    pub(crate) fn merged(
        &self,
        entry: &TableEntry,
        at: Option<StoredChange>,
        base_row: Option<Vec<Value>>,
        out: &Arc<TableSchema>,
    ) -> Option<Vec<Value>> {
        match at.filter(|c| c.seq > self.seq()) {
            Some(c) => match c.kind {
                ChangeKind::Insert | ChangeKind::Update => {
                    super::project(entry, c.after?, c.schema_version, out)
                }
                ChangeKind::Delete => None,
            },
            None => base_row.map(|r| self.project(r)),
        }
    }
}

/// The baseline a read at `seq_max` can use for a table: the newest with `seq ≤ seq_max` taken
/// under any name the table had at the baseline's seq (a RENAME after it is followed), unless a
/// TRUNCATE after it emptied the table (the index then holds the whole table). Without an index
/// entry only baselines under the requested name count.
pub(crate) fn usable_baseline(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    entry: Option<&TableEntry>,
    clears: Option<&Clears>,
    seq_max: u64,
) -> Result<Option<Baseline>, ApiError> {
    let data_dir = &app.config.data_dir;
    let found = match entry {
        None => baseline::newest_at(data_dir, server_id, schema, table, seq_max)?,
        Some(e) => {
            let mut best: Option<Baseline> = None;
            for (s, n, binding) in app.index.names_of(server_id, e.table_no) {
                // A baseline under this name shows this table only while the name was bound to it.
                let bound = |seq: u64| {
                    (seq >= binding.from_seq || !binding.named_exactly)
                        && binding.until_seq.is_none_or(|u| seq < u)
                };
                let candidate = baseline::list(data_dir, server_id, &s, &n)?
                    .into_iter()
                    .rev()
                    .find(|b| b.manifest.seq <= seq_max && bound(b.manifest.seq));
                if let Some(c) = candidate {
                    if best
                        .as_ref()
                        .is_none_or(|b| c.manifest.seq > b.manifest.seq)
                    {
                        best = Some(c);
                    }
                }
            }
            best
        }
    };
    let Some(b) = found else {
        return Ok(None);
    };
    let truncated_after = clears
        .and_then(|c| c.before)
        .is_some_and(|t| t > b.manifest.seq);
    Ok((!truncated_after).then_some(b))
}

/// A gap that leaves the state uncertain at `seq_max` even with `base` (gaps before the baseline
/// are covered by it).
fn open_gap_with<'a>(
    gaps: &'a [Gap],
    entry: &TableEntry,
    seq_max: u64,
    base: Option<&BaselineUse>,
) -> Option<&'a Gap> {
    let covered = |g: &Gap| {
        base.is_some_and(|b| {
            b.seq() > g.after_seq
                || g.until_us
                    .is_some_and(|u| b.baseline.manifest.taken_at_us >= u)
        })
    };
    let uncovered: Vec<Gap> = gaps.iter().filter(|g| !covered(g)).cloned().collect();
    let newest = super::open_gap(&uncovered, entry, seq_max)?.after_seq;
    gaps.iter()
        .rev()
        .find(|g| g.after_seq == newest && !covered(g))
}

/// True when `err` (from resolving a table) is `TableNotFound` for a configured source whose
/// index has never seen the table: unchanged since capture began, only a baseline can know it.
fn only_a_baseline_knows(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    err: &ApiError,
) -> bool {
    err.code == ErrorCode::TableNotFound
        && app.sources.contains_key(&server_id)
        && !app.index.knows_table(server_id, schema, table)
}

/// For a table the index does not know (`err` is [`resolve_time`]'s failure for it): the seq
/// visible at `as_of_us` (µs since the Unix epoch) and the newest baseline under exactly this
/// name at or before it. Any other failure returns `err`; no such baseline, the error of
/// [`unseen_uncovered`].
async fn baseline_by_name(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    as_of_us: i64,
    err: ApiError,
) -> Result<(u64, Baseline), ApiError> {
    if !only_a_baseline_knows(app, server_id, schema, table, &err) {
        return Err(err);
    }
    let seq_max = app.index.seq_at(server_id, as_of_us)?;
    match usable_baseline(app, server_id, schema, table, None, None, seq_max)? {
        Some(b) => Ok((seq_max, b)),
        None => Err(unseen_uncovered(app, server_id, schema, table, as_of_us, err).await),
    }
}

/// What a read of a table the index knows stands on at `seq_max`, besides the index itself.
pub(crate) struct Coverage {
    /// The TRUNCATEs around `seq_max`.
    pub(crate) clears: Clears,
    /// The index alone holds the whole table (its CREATE or a TRUNCATE was captured before).
    pub(crate) whole: bool,
    /// The baseline to merge with the index (see [`usable_baseline`]); `None` when `whole`.
    pub(crate) base: Option<BaselineUse>,
    /// A gap of the source's capture that leaves the state uncertain even with `base`.
    pub(crate) gap: Option<Gap>,
}

/// The [`Coverage`] of `entry` at `seq_max`; a chosen baseline is projected onto `out` (the
/// output columns).
pub(crate) fn coverage(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    entry: &TableEntry,
    seq_max: u64,
    out: &TableSchema,
) -> Result<Coverage, ApiError> {
    let clears = Clears {
        before: app.index.last_clear(entry.table_no, 0, seq_max)?,
        after: app.index.next_clear(entry.table_no, seq_max)?,
    };
    let whole = entry.complete_from_seq.is_some_and(|c| c <= seq_max);
    // Keys with no change after a baseline are answered from it (DESIGN.md "Storage tiers").
    let base = match whole {
        true => None,
        false => usable_baseline(
            app,
            server_id,
            schema,
            table,
            Some(entry),
            Some(&clears),
            seq_max,
        )?
        .map(|b| BaselineUse::new(b, out)),
    };
    let gaps = app
        .sources
        .get(&server_id)
        .map(|s| s.gaps())
        .unwrap_or_default();
    let gap = open_gap_with(&gaps, entry, seq_max, base.as_ref()).cloned();
    Ok(Coverage {
        clears,
        whole,
        base,
        gap,
    })
}

/// Walks the keys of `range` in PK order, merging the baseline (when given) with the index
/// changes, and calls `emit` with each row that exists at `seq_max` (output columns); stops when
/// `emit` returns false.
#[allow(clippy::too_many_arguments)]
pub(crate) fn merge_scan(
    index: &Index,
    tiers: &TierView,
    entry: &TableEntry,
    range: &KeyRange,
    seq_max: u64,
    clears: &Clears,
    base: Option<&BaselineUse>,
    out: &Arc<TableSchema>,
    mut emit: impl FnMut(Vec<Value>) -> bool,
) -> Result<(), ApiError> {
    let Some(base) = base else {
        return tiers.scan_keys(
            index,
            range.lo(),
            range.hi(),
            seq_max,
            0,
            |pk, at, after| {
                if !range.contains(pk) {
                    return true;
                }
                match state_as_of(entry, clears.apply(at, after), out) {
                    Some(row) => emit(row),
                    None => true,
                }
            },
        );
    };
    let mut rows = RowStream::open(&base.baseline, range.lo(), range.hi())?;
    let mut pending: Option<KeyedRow> = rows.next_row()?;
    let mut failed: Option<BaselineError> = None;
    let mut stopped = false;
    let base_seq = base.baseline.manifest.seq;
    tiers.scan_keys(
        index,
        range.lo(),
        range.hi(),
        seq_max,
        base_seq,
        |pk, at, _after| {
            // Baseline keys before this one had no change after the baseline: they stand as they are.
            while let Some((k, _)) = &pending {
                if k.as_slice() >= pk {
                    break;
                }
                if let Some((k, row)) = pending.take() {
                    if range.contains(&k) && !emit(base.project(row)) {
                        stopped = true;
                        return false;
                    }
                }
                match rows.next_row() {
                    Ok(next) => pending = next,
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            let base_row = match &pending {
                Some((k, _)) if k.as_slice() == pk => {
                    let row = pending.take().map(|(_, r)| r);
                    match rows.next_row() {
                        Ok(next) => pending = next,
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                    row
                }
                _ => None,
            };
            if !range.contains(pk) {
                return true;
            }
            if let Some(row) = base.merged(entry, at, base_row, out) {
                if !emit(row) {
                    stopped = true;
                    return false;
                }
            }
            true
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if stopped {
        return Ok(());
    }
    while let Some((k, row)) = pending {
        if range.contains(&k) && !emit(base.project(row)) {
            return Ok(());
        }
        pending = rows.next_row()?;
    }
    Ok(())
}

/// `_flashback` of a table no captured change has touched (the index does not know it): the
/// newest baseline at or before the instant answers alone. Any other failure of `resolved` returns
/// the original error; no such baseline, the error of [`unseen_uncovered`].
pub(crate) async fn flashback_from_baseline_only(
    app: &App,
    req: &FlashbackRequest,
    err: ApiError,
) -> Result<FlashbackResponse, ApiError> {
    let (seq_max, b) = baseline_by_name(
        app,
        req.server_id,
        &req.schema,
        &req.table,
        req.as_of_us,
        err,
    )
    .await?;
    let out = b.manifest.table_schema.clone();
    let pk_cols: Vec<&ColumnDef> = out.pk.iter().map(|&i| &out.columns[i]).collect();
    if pk_cols.is_empty() {
        return Err(super::no_pk_error(&req.schema, &req.table));
    }
    let rows = match &req.key {
        KeyPredicate::In(keys) => {
            let mut encoded = keys
                .iter()
                .map(|k| super::encode_literal_key(k, &pk_cols, false))
                .collect::<Result<Vec<_>, _>>()?;
            encoded.sort();
            encoded.dedup();
            baseline::reader::lookup(&b, &encoded)?
                .into_iter()
                .map(|(_, r)| r)
                .collect()
        }
        KeyPredicate::Range { lower, upper } => {
            let range = KeyRange::new(lower.as_ref(), upper.as_ref(), &pk_cols)?;
            let base = BaselineUse::new(b.clone(), &out);
            let mut rows = Vec::new();
            baseline_only(Some(&base), &range, |r| {
                rows.push(r);
                true
            })?;
            rows
        }
    };
    let (columns, schema_id) = super::answer_columns(&out.columns, req.known_schema);
    Ok(FlashbackResponse {
        success: true,
        columns,
        schema_id: Some(schema_id),
        rows,
        seq: seq_max,
        warnings: Vec::new(),
        complete_until_us: super::complete_until_us(app, req.server_id),
    })
}

/// What a snapshot reads: the table entry (absent when only a baseline knows the table), the
/// baseline, the output columns.
struct Plan {
    entry: Option<TableEntry>,
    seq_max: u64,
    base: Option<BaselineUse>,
    out: Arc<TableSchema>,
    clears: Clears,
}

async fn plan(app: &App, req: &SnapshotRequest) -> Result<Plan, ApiError> {
    let (entry, seq_max) =
        match resolve_time(app, req.server_id, &req.schema, &req.table, req.as_of_us).await {
            Ok(found) => found,
            Err(e) => {
                let (seq_max, b) =
                    baseline_by_name(app, req.server_id, &req.schema, &req.table, req.as_of_us, e)
                        .await?;
                let out = Arc::new(b.manifest.table_schema.clone());
                return Ok(Plan {
                    entry: None,
                    seq_max,
                    base: Some(BaselineUse::new(b, &out)),
                    out,
                    clears: Clears {
                        before: None,
                        after: None,
                    },
                });
            }
        };
    let out = entry.version_at(seq_max).1.clone();
    let Coverage {
        clears,
        whole,
        base,
        gap,
    } = coverage(
        app,
        req.server_id,
        &req.schema,
        &req.table,
        &entry,
        seq_max,
        &out,
    )?;
    if !whole && base.is_none() {
        let since = match entry
            .complete_from_seq
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
        let why = format!("the table existed before capture began{since}");
        return Err(no_baseline_error(
            app,
            req.server_id,
            &req.schema,
            &req.table,
            req.as_of_us,
            why,
        ));
    }
    if let Some(g) = gap {
        return Err(super::gap_error(
            &g,
            &format!("the whole of {}.{}", req.schema, req.table),
        ));
    }
    Ok(Plan {
        entry: Some(entry),
        seq_max,
        base,
        out,
        clears,
    })
}

/// `CoverageGap`: no baseline at or before the time; names the oldest later one, if any, and the
/// command that takes one.
fn no_baseline_error(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    as_of_us: i64,
    why: String,
) -> ApiError {
    let later = baseline::list(&app.config.data_dir, server_id, schema, table)
        .ok()
        .and_then(|all| all.into_iter().next())
        .map(|b| {
            format!(
                "; the oldest baseline was taken at {} UTC",
                format_unix_micros(b.manifest.taken_at_us)
            )
        })
        .unwrap_or_default();
    ApiError::new(
        ErrorCode::CoverageGap,
        format!(
            "no baseline covers {schema}.{table} at {} UTC: {why}{later}. Take a baseline ({}) or ask for a later time",
            format_unix_micros(as_of_us),
            baseline::command_for(server_id, schema, table),
        ),
    )
}

/// The error for a table the index does not know and no baseline at or before `as_of_us` (µs
/// since the Unix epoch) covers; `err` is [`resolve_time`]'s `TableNotFound`. With a later
/// baseline under its name: [`no_baseline_error`]; with none: [`super::unseen_table_error`]
/// (asks the source whether the table exists).
async fn unseen_uncovered(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    as_of_us: i64,
    err: ApiError,
) -> ApiError {
    let later = baseline::list(&app.config.data_dir, server_id, schema, table)
        .is_ok_and(|all| !all.is_empty());
    match later {
        true => no_baseline_error(app, server_id, schema, table, as_of_us, err.message),
        false => super::unseen_table_error(app, server_id, schema, table, err).await,
    }
}

/// Starts `POST /v1/snapshot`: checks the request and coverage, then scans on a blocking thread.
/// Returns the receiving end of the body (header line, then row lines and a trailer line as NDJSON,
/// or row and end records of [`agent_api::wire`] when `binary`), in chunks of about 64 KiB; the
/// scan stops as soon as the receiver is dropped (client gone).
///
/// Errors: `CoverageGap` when neither the index alone nor a baseline at or before the instant
/// plus the index holds the whole table (the message gives the `agent-core baseline` command).
pub async fn snapshot(
    app: Arc<App>,
    req: &SnapshotRequest,
    binary: bool,
) -> Result<mpsc::Receiver<Vec<u8>>, ApiError> {
    let plan = plan(&app, req).await?;
    let out = plan.out.clone();
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
    if pk_cols.is_empty() && (lower.is_some() || upper.is_some()) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "table {}.{} has no primary key: a snapshot of it takes no key range",
                req.schema, req.table
            ),
        ));
    }
    let range = KeyRange::new(lower, upper, &pk_cols)?;
    let header = SnapshotHeader {
        success: true,
        columns: out.columns.iter().map(|c| c.info.clone()).collect(),
        seq: plan.seq_max,
        warnings: Vec::new(),
    };
    let tiers = match &plan.entry {
        Some(e) => Some(app.archive.view(req.server_id, e.table_no).await?),
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
    let mut first = serde_json::to_vec(&header)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    first.push(b'\n');
    tokio::task::spawn_blocking(move || {
        let mut buf = first;
        let mut rows = 0u64;
        let mut client_gone = false;
        let emit = |row: Vec<Value>| {
            if binary {
                agent_api::wire::put_row(&mut buf, &row);
            } else {
                if serde_json::to_writer(&mut buf, &row).is_err() {
                    return false;
                }
                buf.push(b'\n');
            }
            rows += 1;
            if buf.len() >= CHUNK_BYTES && tx.blocking_send(std::mem::take(&mut buf)).is_err() {
                client_gone = true;
                return false;
            }
            true
        };
        let result = match (&plan.entry, &tiers) {
            // A table without a PK is a bag: identical rows are counted, not merged by key.
            (Some(entry), Some(tiers)) if out.pk.is_empty() => super::bag::bag_scan(
                &app.index,
                tiers,
                entry,
                plan.seq_max,
                &plan.clears,
                plan.base.as_ref(),
                &out,
                emit,
            ),
            (Some(entry), Some(tiers)) => merge_scan(
                &app.index,
                tiers,
                entry,
                &range,
                plan.seq_max,
                &plan.clears,
                plan.base.as_ref(),
                &out,
                emit,
            ),
            _ => baseline_only(plan.base.as_ref(), &range, emit),
        };
        if client_gone {
            return;
        }
        let end = match result {
            Ok(()) => SnapshotEnd::End { rows },
            Err(e) => SnapshotEnd::Error(ErrorDetail {
                code: e.code,
                message: e.message,
            }),
        };
        if let Ok(json) = serde_json::to_vec(&end) {
            if binary {
                agent_api::wire::put_end(&mut buf, &json);
            } else {
                buf.extend_from_slice(&json);
                buf.push(b'\n');
            }
        }
        let _ = tx.blocking_send(buf);
    });
    Ok(rx)
}

/// A table no captured change touched: the baseline's rows as they are.
fn baseline_only(
    base: Option<&BaselineUse>,
    range: &KeyRange,
    mut emit: impl FnMut(Vec<Value>) -> bool,
) -> Result<(), ApiError> {
    let Some(base) = base else {
        return Ok(());
    };
    let mut rows = RowStream::open(&base.baseline, range.lo(), range.hi())?;
    while let Some((k, row)) = rows.next_row()? {
        if range.contains(&k) && !emit(base.project(row)) {
            break;
        }
    }
    Ok(())
}
