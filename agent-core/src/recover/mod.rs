//! Recovery SQL (`POST /v1/recover`): the changes of a table in a window, reversed newest first
//! into a script a DBA reviews and applies. Nothing is executed on the source.
//!
//! The changes come from [`crate::reconstruct::diff`] (the same scan that answers `_diff`); this
//! module only selects, checks and renders them. Statement shapes and the TRUNCATE/DROP rule are
//! documented on [`agent_api::recover`].

pub mod cli;
pub mod literal;
pub(crate) mod script;

use agent_api::diff::{ChangeType, DiffRequest};
use agent_api::flashback::KeyPredicate;
use agent_api::recover::{RecoverRequest, RecoverResponse};
use agent_api::time::format_unix_micros;
use agent_api::ErrorCode;

use crate::index::TableEntry;
use crate::reconstruct::{self, resolve_time, ApiError};
use crate::App;

pub(crate) use script::push_row;
pub use script::{build_script, ScriptTable};

/// Answers `POST /v1/recover`.
///
/// Errors: `bad_request` for an inverted window or a TRUNCATE / DROP / RENAME / CREATE OR REPLACE
/// of the table inside it; otherwise those of `POST /v1/diff` (unknown table, coverage gap, not yet
/// replicated, ...).
pub async fn recover(app: &App, req: &RecoverRequest) -> Result<RecoverResponse, ApiError> {
    if req.to_us < req.from_us {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "recover window ends before it starts",
        ));
    }
    let seq_from = app
        .index
        .seq_at(req.server_id, req.from_us.saturating_sub(1))?;
    let earlier = app
        .index
        .table_at(req.server_id, &req.schema, &req.table, seq_from);
    let (entry, seq_to) =
        match resolve_time(app, req.server_id, &req.schema, &req.table, req.to_us).await {
            Ok(found) => found,
            Err(e) if e.code == ErrorCode::TableNotFound => {
                return Err(match earlier {
                    Some(gone) => replaced_error(app, req, &gone)?,
                    None => e,
                });
            }
            Err(e) => return Err(e),
        };
    if let Some(old) = earlier.filter(|old| old.table_no != entry.table_no) {
        return Err(replaced_error(app, req, &old)?);
    }
    if let Some(t) = app
        .index
        .next_clear(entry.table_no, seq_from)?
        .filter(|t| *t <= seq_to)
    {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "{}.{} was truncated inside the window (seq {t}{}): row changes cannot reverse a TRUNCATE; \
                 recover the windows before and after it separately, and use `agent-core export --as-of` \
                 a time just before it for the rows it removed",
                req.schema,
                req.table,
                at_text(app, req.server_id, t)?
            ),
        ));
    }
    let diff = reconstruct::diff(
        app,
        &DiffRequest {
            server_id: req.server_id,
            schema: req.schema.clone(),
            table: req.table.clone(),
            from_us: req.from_us,
            to_us: req.to_us,
            key: req.key.clone().unwrap_or(KeyPredicate::Range {
                lower: None,
                upper: None,
            }),
        },
    )
    .await?;
    let wanted = |t: ChangeType| req.types.is_empty() || req.types.contains(&t);
    let changes: Vec<_> = diff
        .changes
        .into_iter()
        .filter(|c| wanted(c.event_type))
        .collect();
    let (_, schema) = entry.version_at(seq_to);
    let table = ScriptTable {
        server_id: req.server_id,
        schema: &req.schema,
        table: &req.table,
        columns: &diff.columns,
        pk: &schema.pk,
        from_us: req.from_us,
        to_us: req.to_us,
    };
    let (script, summary) = build_script(&table, &changes)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(RecoverResponse {
        success: true,
        script,
        summary,
        warnings: schema_change_warnings(&entry, seq_from, seq_to),
    })
}

/// The refusal for a table dropped, renamed away or replaced inside the window.
fn replaced_error(app: &App, req: &RecoverRequest, old: &TableEntry) -> Result<ApiError, ApiError> {
    let at = match old.until_seq {
        Some(s) => format!(" (seq {s}{})", at_text(app, req.server_id, s)?),
        None => String::new(),
    };
    Ok(ApiError::new(
        ErrorCode::BadRequest,
        format!(
            "{}.{} was dropped, renamed or replaced inside the window{at}: row changes cannot reverse \
             that; end the window before it, and use `agent-core export --as-of` a time just before it \
             for the table as it was",
            req.schema, req.table
        ),
    ))
}

/// `", 2026-04-27 09:11:59.000000 UTC"` for a seq with a transaction record, else empty.
fn at_text(app: &App, server_id: u32, seq: u64) -> Result<String, ApiError> {
    Ok(app
        .index
        .txn(server_id, seq)?
        .map(|t| format!(", {} UTC", format_unix_micros(t.visible_us)))
        .unwrap_or_default())
}

/// A note per schema version that took effect inside the window: images are shown with the
/// columns in force at its end, so a column added later reads NULL in older images.
fn schema_change_warnings(entry: &TableEntry, seq_from: u64, seq_to: u64) -> Vec<String> {
    entry
        .versions
        .iter()
        .skip(1)
        .filter(|(from, _)| *from > seq_from && *from <= seq_to)
        .map(|(from, _)| {
            format!(
                "the table's schema changed inside the window (seq {from}); images are rendered with \
                 the columns at the window end, so check statements for changes before it"
            )
        })
        .collect()
}
