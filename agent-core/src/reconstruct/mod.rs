//! Row reconstruction: the state of keys as of an instant (DESIGN.md "Time semantics").
//!
//! `AS OF T` = the state after the last transaction whose visible time ≤ T, found as a seq via the
//! time index; each key's newest change at or before that seq decides the row (DELETE → no row). A
//! key whose first captured change comes later and is an UPDATE or DELETE existed before it: its
//! before image is the state as of T.

use std::cell::RefCell;
use std::sync::Arc;

use agent_api::catalog::ColumnInfo;
use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyBound, KeyPredicate};
use agent_api::time::format_unix_micros;
use agent_api::{ErrorCode, Value};

use crate::capture::state::now_us;
use crate::index::{keys, ChangeKind, Gap, StoredChange, TableEntry};
use crate::schema::{ColumnDef, TableSchema};
use crate::App;

mod bag;
mod diff;
mod snapshot;

mod range;
pub use range::{flashback_body, FlashbackBody};

pub use diff::diff;
pub use snapshot::snapshot;

/// A failure with its protocol-neutral code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// What kind.
    pub code: ErrorCode,
    /// The message for the DBA.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<crate::index::IndexError> for ApiError {
    fn from(e: crate::index::IndexError) -> Self {
        ApiError::new(ErrorCode::Internal, e.to_string())
    }
}

/// Answers `POST /v1/flashback`.
pub async fn flashback(app: &App, req: &FlashbackRequest) -> Result<FlashbackResponse, ApiError> {
    let (entry, seq_max) =
        match resolve_time(app, req.server_id, &req.schema, &req.table, req.as_of_us).await {
            Ok(found) => found,
            Err(e) => return snapshot::flashback_from_baseline_only(app, req, e).await,
        };
    let (_, out_schema) = entry.version_at(seq_max);
    let out_schema = out_schema.clone();
    let pk_cols: Vec<&ColumnDef> = out_schema
        .pk
        .iter()
        .map(|&i| &out_schema.columns[i])
        .collect();
    if pk_cols.is_empty() {
        return Err(no_pk_error(&req.schema, &req.table));
    }
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let index = &app.index;
    let tiers = app.archive.view(req.server_id, entry.table_no).await?;
    let snapshot::Coverage {
        clears,
        whole: complete,
        base,
        gap,
    } = snapshot::coverage(
        app,
        req.server_id,
        &req.schema,
        &req.table,
        &entry,
        seq_max,
        &out_schema,
    )?;
    match &req.key {
        KeyPredicate::In(keys_in) => {
            let mut encoded = Vec::with_capacity(keys_in.len());
            for key in keys_in {
                encoded.push((encode_literal_key(key, &pk_cols, false)?, key));
            }
            encoded.sort_by(|a, b| a.0.cmp(&b.0));
            encoded.dedup_by(|a, b| a.0 == b.0);
            let mut from_base: std::collections::HashMap<Vec<u8>, Vec<Value>> = match &base {
                Some(b) => {
                    let keys: Vec<Vec<u8>> = encoded.iter().map(|(k, _)| k.clone()).collect();
                    crate::baseline::reader::lookup(&b.baseline, &keys)?
                        .into_iter()
                        .collect()
                }
                None => Default::default(),
            };
            for (pk, literal) in encoded {
                let base_seq = base.as_ref().map_or(0, |b| b.baseline.manifest.seq);
                let (at, after) = tiers.key_state_around(index, &pk, seq_max, base_seq)?;
                if at.is_none() && after.is_none() && !complete && base.is_none() {
                    warnings.push(no_history_warning(&req.schema, &req.table, literal));
                }
                let (at, after) = clears.apply(at, after);
                if let Some(g) = gap
                    .as_ref()
                    .filter(|g| at.as_ref().is_none_or(|c| c.seq <= g.after_seq))
                {
                    return Err(gap_error(
                        g,
                        &format!(
                            "the row with key ({}) in {}.{}",
                            key_text(literal),
                            req.schema,
                            req.table
                        ),
                    ));
                }
                let row = match &base {
                    Some(b) => b.merged(&entry, at, from_base.remove(&pk), &out_schema),
                    None => state_as_of(&entry, (at, after), &out_schema),
                };
                rows.extend(row);
            }
        }
        KeyPredicate::Range { lower, upper } => {
            if let Some(g) = &gap {
                return Err(gap_error(
                    g,
                    &format!("the rows of {}.{}", req.schema, req.table),
                ));
            }
            let range = KeyRange::new(lower.as_ref(), upper.as_ref(), &pk_cols)?;
            snapshot::merge_scan(
                index,
                &tiers,
                &entry,
                &range,
                seq_max,
                &clears,
                base.as_ref(),
                &out_schema,
                |row| {
                    rows.push(row);
                    true
                },
            )?;
        }
    }
    let id = schema_id_of(&out_schema);
    let (columns, schema_id) = columns_for(&out_schema.columns, id, req.known_schema);
    Ok(FlashbackResponse {
        success: true,
        columns,
        schema_id: Some(schema_id),
        rows,
        seq: seq_max,
        warnings,
        complete_until_us: complete_until_us(app, req.server_id),
    })
}

/// The columns a flashback answer carries and their `schema_id`: none when the client's
/// `known_schema` already names this column list (it keeps them), all of them otherwise.
pub(crate) fn answer_columns(columns: &[ColumnDef], known: Option<u64>) -> (Vec<ColumnInfo>, u64) {
    let id = agent_api::flashback::schema_id(columns.iter().map(|c| &c.info));
    columns_for(columns, id, known)
}

/// [`answer_columns`] with the column list's `schema_id` already known.
fn columns_for(columns: &[ColumnDef], id: u64, known: Option<u64>) -> (Vec<ColumnInfo>, u64) {
    let carried = if known == Some(id) {
        Vec::new()
    } else {
        columns.iter().map(|c| c.info.clone()).collect()
    };
    (carried, id)
}

thread_local! {
    /// The schema version the last flashback answer on this thread was built with, and the
    /// `schema_id` of its columns: point queries repeat one table, and hashing its column list
    /// costs about 5k instructions. Holding the `Arc` keeps the pointer from being reused.
    static LAST_SCHEMA_ID: RefCell<Option<(Arc<TableSchema>, u64)>> = const { RefCell::new(None) };
}

/// `agent_api::flashback::schema_id` of the columns of `schema` (a schema version is immutable
/// behind its `Arc`, so the same `Arc` has the same id).
fn schema_id_of(schema: &Arc<TableSchema>) -> u64 {
    LAST_SCHEMA_ID.with_borrow_mut(|last| match last {
        Some((known, id)) if Arc::ptr_eq(known, schema) => *id,
        _ => {
            let id = agent_api::flashback::schema_id(schema.columns.iter().map(|c| &c.info));
            *last = Some((Arc::clone(schema), id));
            id
        }
    })
}

/// The source's `complete_until_us` for a flashback answer (µs since the Unix epoch, see
/// `FlashbackResponse`); `None` for an unknown source or while the instant is not known yet
/// (`i64::MIN`).
pub(crate) fn complete_until_us(app: &App, server_id: u32) -> Option<i64> {
    app.sources.get(&server_id).and_then(|s| {
        let complete = s.complete_until_us();
        (complete != i64::MIN).then_some(complete)
    })
}

/// Finds the table and the last seq visible at `as_of_us`, waiting briefly for capture when the
/// time lies beyond the capture position.
pub async fn resolve_time(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    as_of_us: i64,
) -> Result<(TableEntry, u64), ApiError> {
    let state = app.sources.get(&server_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::TableNotFound,
            format!("unknown server_id {server_id}"),
        )
    })?;
    let status = state.status();
    let history_start = status.history_start_us;
    if let Some(g) = status
        .gaps
        .iter()
        .find(|g| g.from_us < as_of_us && g.until_us.is_none_or(|u| as_of_us < u))
    {
        return Err(gap_error(g, &format_unix_micros(as_of_us)));
    }
    if as_of_us < history_start {
        return Err(ApiError::new(
            ErrorCode::OutsideRetention,
            format!(
                "{} is before the start of captured history ({} UTC)",
                format_unix_micros(as_of_us),
                format_unix_micros(history_start)
            ),
        ));
    }
    if state.complete_until_us() < as_of_us
        && !state
            .wait_complete(as_of_us, app.config.catch_up_wait)
            .await
    {
        let complete = state.complete_until_us();
        let lag = if complete == i64::MIN {
            -1.0
        } else {
            (now_us() - complete) as f64 / 1e6
        };
        return Err(ApiError::new(
            ErrorCode::NotYetReplicated,
            format!(
                "{} UTC is not replicated yet (lag {lag:.1} s)",
                format_unix_micros(as_of_us)
            ),
        ));
    }
    let seq = app.index.seq_at(server_id, as_of_us)?;
    let entry = app
        .index
        .table_at(server_id, schema, table, seq)
        .ok_or_else(|| {
            let why = if app.index.knows_table(server_id, schema, table) {
                format!(
                    "table {schema}.{table} did not exist at {} UTC (dropped or renamed before)",
                    format_unix_micros(as_of_us)
                )
            } else {
                format!("table {schema}.{table} has no captured history on server_id {server_id}")
            };
            ApiError::new(ErrorCode::TableNotFound, why)
        })?;
    Ok((entry, seq))
}

/// How long [`unseen_table_error`] waits for the source to say whether a table exists.
const SOURCE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long the source's answer about a table is reused.
const SOURCE_CHECK_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Answers kept at most.
const SOURCE_CHECK_ENTRIES: u64 = 1024;

/// The source's answers to "does this table exist" (`(server_id, schema, table)` → exists) of
/// the last [`SOURCE_CHECK_TTL`] (5 s), so a client repeating a query on a table capture never
/// saw does not make agent-core open a source connection each time (each check is one
/// connection, ~0.2 s on a local MariaDB). Failed checks are not kept.
pub type SourceTableChecks = moka::future::Cache<(u32, String, String), bool>;

/// An empty [`SourceTableChecks`] bounded to [`SOURCE_CHECK_ENTRIES`] answers.
pub fn source_table_checks() -> SourceTableChecks {
    moka::future::Cache::builder()
        .max_capacity(SOURCE_CHECK_ENTRIES)
        .time_to_live(SOURCE_CHECK_TTL)
        .build()
}

/// The error for `schema.table`, which neither the index nor any baseline of `server_id` knows
/// (`not_found` is [`resolve_time`]'s `TableNotFound`). Asks the source's `information_schema`
/// (one connection, at most [`SOURCE_CHECK_TIMEOUT`]):
/// - outside the source's `schemas`/`tables` filters: `TableNotFound` saying it is not captured
///   (the source is not asked);
/// - present on the source: `CoverageGap`, its rows predate capture and only a baseline can hold
///   them (the message gives the `agent-core baseline` command);
/// - absent from the source: `not_found`;
/// - the source cannot be asked: `not_found`, saying so.
pub(crate) async fn unseen_table_error(
    app: &App,
    server_id: u32,
    schema: &str,
    table: &str,
    not_found: ApiError,
) -> ApiError {
    let Some(source) = app.config.sources.iter().find(|s| s.server_id == server_id) else {
        return not_found;
    };
    if !source.captures(schema, table) {
        return ApiError::new(
            ErrorCode::TableNotFound,
            format!(
                "table {schema}.{table} is not captured on server_id {server_id} (outside the source's schemas/tables filters)"
            ),
        );
    }
    let key = (server_id, schema.to_owned(), table.to_owned());
    let asked = match app.source_checks.get(&key).await {
        Some(exists) => Ok(Ok(exists)),
        None => {
            let asked = tokio::time::timeout(
                SOURCE_CHECK_TIMEOUT,
                crate::baseline::source_schema::table_exists(source, schema, table),
            )
            .await;
            if let Ok(Ok(exists)) = asked {
                app.source_checks.insert(key, exists).await;
            }
            asked
        }
    };
    match asked {
        Ok(Ok(true)) => ApiError::new(
            ErrorCode::CoverageGap,
            format!(
                "{schema}.{table} exists on the source but capture has seen no change to it and no baseline covers it: take one with {}",
                crate::baseline::command_for(server_id, schema, table)
            ),
        ),
        Ok(Ok(false)) => not_found,
        Ok(Err(e)) => ApiError::new(
            not_found.code,
            format!(
                "{}; the source could not be checked for it: {e}",
                not_found.message
            ),
        ),
        Err(_) => ApiError::new(
            not_found.code,
            format!(
                "{}; the source could not be checked for it: no answer within {} s",
                not_found.message,
                SOURCE_CHECK_TIMEOUT.as_secs()
            ),
        ),
    }
}

/// `_flashback` of a table without a PK (nor a UNIQUE NOT NULL key standing in for one): there is
/// no key to look rows up by, so it is refused (`BadRequest`) and the whole table is left to
/// `_snapshot`, which returns it as a bag.
pub(crate) fn no_pk_error(schema: &str, table: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BadRequest,
        format!(
            "table {schema}.{table} has no primary key (nor a UNIQUE NOT NULL key); time-travel lookups need one: read it whole with _snapshot.{table}"
        ),
    )
}

/// The TRUNCATEs around the split point: the last at or before it, the first after it.
pub(crate) struct Clears {
    pub(crate) before: Option<u64>,
    pub(crate) after: Option<u64>,
}

impl Clears {
    /// Drops a change made void by a TRUNCATE: one before the last TRUNCATE at or before the split
    /// (the table was emptied since), or a later change used for its before image across one.
    pub(crate) fn apply(
        &self,
        at: Option<StoredChange>,
        after: Option<StoredChange>,
    ) -> (Option<StoredChange>, Option<StoredChange>) {
        let at = at.filter(|c| self.before.is_none_or(|t| c.seq > t));
        let after = after.filter(|c| self.after.is_none_or(|t| c.seq < t));
        match (&at, self.before) {
            // Emptied by a TRUNCATE and untouched since: no row, whatever comes later.
            (None, Some(_)) => (None, None),
            _ => (at, after),
        }
    }
}

/// The row as of the split point, converted to the output schema's columns.
pub(crate) fn state_as_of(
    entry: &TableEntry,
    (at, after): (Option<StoredChange>, Option<StoredChange>),
    out: &Arc<TableSchema>,
) -> Option<Vec<Value>> {
    let (image, version) = match (at, after) {
        (Some(c), _) => match c.kind {
            ChangeKind::Insert | ChangeKind::Update => (c.after?, c.schema_version),
            ChangeKind::Delete => return None,
        },
        (None, Some(c)) => match c.kind {
            ChangeKind::Update | ChangeKind::Delete => (c.before?, c.schema_version),
            ChangeKind::Insert => return None,
        },
        (None, None) => return None,
    };
    project(entry, image, version, out)
}

/// An image written with schema `version` of `entry`, as values of the `out` schema's columns
/// (matched by name; a column the image lacks is NULL).
pub(crate) fn project(
    entry: &TableEntry,
    image: Vec<Value>,
    version: u32,
    out: &Arc<TableSchema>,
) -> Option<Vec<Value>> {
    let source = &entry.versions.get(version as usize)?.1;
    if Arc::ptr_eq(source, out) || **source == **out {
        return Some(image);
    }
    Some(
        out.columns
            .iter()
            .map(|c| {
                source
                    .columns
                    .iter()
                    .position(|s| s.info.name.eq_ignore_ascii_case(&c.info.name))
                    .and_then(|i| image.get(i).cloned())
                    .unwrap_or(Value::Null)
            })
            .collect(),
    )
}

pub(crate) fn encode_literal_key(
    key: &[Value],
    pk: &[&ColumnDef],
    prefix_ok: bool,
) -> Result<Vec<u8>, ApiError> {
    if key.len() != pk.len() && !(prefix_ok && key.len() <= pk.len()) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "key has {} value(s) but the primary key ({}) has {} column(s)",
                key.len(),
                pk.iter()
                    .map(|c| c.info.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                pk.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for (v, c) in key.iter().zip(pk) {
        keys::check_predicate_collation(c).map_err(|m| ApiError::new(ErrorCode::BadRequest, m))?;
        let coerced =
            keys::coerce(v, c).map_err(|e| ApiError::new(ErrorCode::BadRequest, e.to_string()))?;
        keys::encode_value(&mut out, &coerced, c);
    }
    Ok(out)
}

/// A PK range with its bounds encoded once: the seek bounds for the index scan, and the exact
/// prefix-aware test of each key found (bounds may be prefixes of a composite key).
pub(crate) struct KeyRange {
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
}

impl KeyRange {
    /// Encodes `lower`/`upper` (`None` = unbounded) for the PK columns `pk`.
    pub(crate) fn new(
        lower: Option<&KeyBound>,
        upper: Option<&KeyBound>,
        pk: &[&ColumnDef],
    ) -> Result<Self, ApiError> {
        let encode = |b: Option<&KeyBound>| {
            b.map(|b| Ok::<_, ApiError>((encode_literal_key(&b.key, pk, true)?, b.inclusive)))
                .transpose()
        };
        Ok(Self {
            lower: encode(lower)?,
            upper: encode(upper)?,
        })
    }

    /// Seek start for the scan.
    pub(crate) fn lo(&self) -> Option<&[u8]> {
        self.lower.as_ref().map(|(k, _)| k.as_slice())
    }

    /// Seek end for the scan (prefix-inclusive).
    pub(crate) fn hi(&self) -> Option<&[u8]> {
        self.upper.as_ref().map(|(k, _)| k.as_slice())
    }

    /// Whether an encoded PK lies within the bounds, comparing its prefix of each bound's length.
    pub(crate) fn contains(&self, pk: &[u8]) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let cmp = |b: &[u8]| pk[..b.len().min(pk.len())].cmp(b);
        let lower_ok = self
            .lower
            .as_ref()
            .is_none_or(|(b, inclusive)| match cmp(b) {
                Greater => true,
                Equal => *inclusive,
                Less => false,
            });
        let upper_ok = self
            .upper
            .as_ref()
            .is_none_or(|(b, inclusive)| match cmp(b) {
                Less => true,
                Equal => *inclusive,
                Greater => false,
            });
        lower_ok && upper_ok
    }
}

/// The newest gap that leaves a table's state uncertain at `seq_max`: its hole lies before
/// `seq_max` and the table was not known whole (CREATE or TRUNCATE captured) after it. With a
/// baseline see [`snapshot::open_gap_with`].
pub(crate) fn open_gap<'a>(gaps: &'a [Gap], entry: &TableEntry, seq_max: u64) -> Option<&'a Gap> {
    gaps.iter()
        .rev()
        .find(|g| g.after_seq < seq_max && entry.complete_from_seq.is_none_or(|c| c <= g.after_seq))
}

/// `1526`-class answer for a question the captured history cannot answer because of a gap.
pub(crate) fn gap_error(g: &Gap, what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::CoverageGap,
        format!(
            "history has a gap between {} (binlogs purged before capture read them; {}): {what} cannot be known without a baseline taken after the gap",
            g.range_text(),
            g.description
        ),
    )
}

fn key_text(key: &[Value]) -> String {
    key.iter()
        .map(|v| serde_json::to_string(v).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_history_warning(schema: &str, table: &str, key: &[Value]) -> String {
    let shown: Vec<String> = key
        .iter()
        .map(|v| serde_json::to_string(v).unwrap_or_default())
        .collect();
    format!(
        "no captured change for key ({}) in {schema}.{table}: a row that existed before capture began and never changed since is not visible without a baseline",
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_found() -> ApiError {
        ApiError::new(
            ErrorCode::TableNotFound,
            "table shop.t has no captured history",
        )
    }

    #[tokio::test]
    async fn source_table_checks_are_reused_and_bounded() {
        let checks = source_table_checks();
        let key = |i: u64| (1, "shop".to_owned(), format!("t{i}"));
        assert_eq!(checks.get(&key(0)).await, None);
        checks.insert(key(0), true).await;
        checks.insert(key(1), false).await;
        assert_eq!(checks.get(&key(0)).await, Some(true));
        assert_eq!(checks.get(&key(1)).await, Some(false));
        let other_source = (2, "shop".to_owned(), "t0".to_owned());
        assert_eq!(checks.get(&other_source).await, None);
        for i in 2..SOURCE_CHECK_ENTRIES + 100 {
            checks.insert(key(i), true).await;
        }
        checks.run_pending_tasks().await;
        let kept = checks.entry_count();
        assert!(kept <= SOURCE_CHECK_ENTRIES, "{kept} answers kept");
    }

    #[test]
    fn schema_id_of_follows_the_schema_version() {
        let id =
            |s: &TableSchema| agent_api::flashback::schema_id(s.columns.iter().map(|c| &c.info));
        let narrow = Arc::new(crate::test_support::orders(Vec::new()));
        let extra = crate::test_support::orders(vec![crate::test_support::col(
            "qty",
            crate::schema::Decode::Int {
                bytes: 4,
                unsigned: false,
            },
        )]);
        let wide = Arc::new(extra);
        assert_ne!(id(&narrow), id(&wide));
        for s in [&narrow, &narrow, &wide, &wide, &narrow] {
            assert_eq!(schema_id_of(s), id(s));
        }
        // An equal schema in another Arc has the same id.
        let copy = Arc::new((*wide).clone());
        assert_eq!(schema_id_of(&copy), id(&wide));
    }

    #[tokio::test]
    async fn unseen_table_outside_the_filters_is_not_captured() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::test_support::app(dir.path(), "    schemas: shop\n");
        let e = unseen_table_error(&app, 1, "crm", "t", not_found()).await;
        assert_eq!(e.code, ErrorCode::TableNotFound);
        assert!(e.message.contains("not captured"), "{}", e.message);
        assert!(!e.message.contains("could not be checked"), "{}", e.message);
    }

    #[tokio::test]
    async fn unseen_table_stays_not_found_when_the_source_cannot_be_asked() {
        let dir = tempfile::tempdir().unwrap();
        // The test source's DSN points at port 1: the connection is refused.
        let app = crate::test_support::app(dir.path(), "");
        let e = unseen_table_error(&app, 1, "shop", "t", not_found()).await;
        assert_eq!(e.code, ErrorCode::TableNotFound);
        assert!(
            e.message.starts_with(
                "table shop.t has no captured history; the source could not be checked"
            ),
            "{}",
            e.message
        );
        let unknown = unseen_table_error(&app, 9, "shop", "t", not_found()).await;
        assert_eq!(unknown, not_found());
    }
}
