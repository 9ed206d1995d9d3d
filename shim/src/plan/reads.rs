//! Planning of the whole-table and change reads: `_snapshot` (a PK range narrows the scan, every
//! other condition filters the streamed rows) and `_diff` (a PK predicate is required and is the
//! only condition allowed; the select list names change columns, not table columns).

use std::time::Duration;

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};
use agent_api::diff::DiffRequest;
use agent_api::flashback::KeyPredicate;
use agent_api::snapshot::SnapshotRequest;

use super::{column, filter, key, PlanError};
use crate::classify::{Condition, DiffQuery, FlashbackQuery, Projection};

/// The result columns of `_diff.<t>`, in order.
pub const DIFF_COLUMNS: [&str; 8] = [
    "event_time",
    "event_type",
    "gtid",
    "binlog_file",
    "binlog_pos",
    "changed_columns",
    "row_before",
    "row_after",
];

/// The definitions of [`DIFF_COLUMNS`]: `event_time` DATETIME(6), `event_type`/`gtid`/
/// `binlog_file` VARCHAR(255), `binlog_pos` BIGINT UNSIGNED, the rest JSON; what `_diff.<t>`
/// answers and what `information_schema.COLUMNS` lists for it.
pub fn diff_columns() -> Vec<ColumnInfo> {
    let column = |name: &str, data_type: DataType, nullable: bool| ColumnInfo {
        name: name.into(),
        data_type,
        column_type: match data_type {
            DataType::DateTime => "datetime(6)".into(),
            DataType::VarChar => "varchar(255)".into(),
            DataType::BigInt => "bigint(20) unsigned".into(),
            other => other.sql_name().into(),
        },
        unsigned: data_type == DataType::BigInt,
        nullable,
        length: match data_type {
            DataType::VarChar => 255,
            DataType::BigInt => 20,
            _ => 0,
        },
        scale: if data_type == DataType::DateTime {
            6
        } else {
            0
        },
        charset: (data_type == DataType::VarChar).then(|| "utf8mb4".into()),
        collation_id: None,
        elements: Vec::new(),
    };
    vec![
        column(DIFF_COLUMNS[0], DataType::DateTime, false),
        column(DIFF_COLUMNS[1], DataType::VarChar, false),
        column(DIFF_COLUMNS[2], DataType::VarChar, true),
        column(DIFF_COLUMNS[3], DataType::VarChar, false),
        column(DIFF_COLUMNS[4], DataType::BigInt, false),
        column(DIFF_COLUMNS[5], DataType::Json, false),
        column(DIFF_COLUMNS[6], DataType::Json, true),
        column(DIFF_COLUMNS[7], DataType::Json, true),
    ]
}

/// A planned `_snapshot` read.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotPlan {
    /// The agent request.
    pub request: SnapshotRequest,
    /// `(source column, output name)` in select-list order; `None` for `*`.
    pub projection: Option<Vec<(String, String)>>,
    /// Conditions applied to each streamed row.
    pub filters: Vec<Condition>,
    /// Maximum rows.
    pub limit: Option<u64>,
}

/// Plans `_snapshot.<t> AS OF <as_of_us> [WHERE ...] [LIMIT n]`.
pub fn plan_snapshot(
    query: &FlashbackQuery,
    table: &TableInfo,
    server_id: u32,
    as_of_us: i64,
) -> Result<SnapshotPlan, PlanError> {
    let flashback = super::plan_flashback(query, table, server_id, as_of_us);
    let projection = super::projection(query, table)?;
    let (key, filters) = match flashback {
        Ok(plan) if matches!(plan.request.key, KeyPredicate::Range { .. }) => {
            (Some(plan.request.key), plan.filters)
        }
        Ok(_) | Err(PlanError::PkRequired | PlanError::PkPredicate(_)) => {
            (None, query.conditions.clone())
        }
        Err(other) => return Err(other),
    };
    Ok(SnapshotPlan {
        request: SnapshotRequest {
            server_id,
            schema: table.schema.clone(),
            table: table.name.clone(),
            as_of_us,
            key,
        },
        projection,
        filters,
        limit: query.limit,
    })
}

/// A planned `_diff` read.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffPlan {
    /// The agent request.
    pub request: DiffRequest,
    /// Indexes into [`DIFF_COLUMNS`] with output names, in select-list order.
    pub projection: Vec<(usize, String)>,
    /// Maximum rows.
    pub limit: Option<u64>,
}

/// Plans `_diff.<t> BETWEEN <from_us> AND <to_us> WHERE <pk predicate>`; a window wider than
/// `max_window` is refused unless `allow_wide`.
pub fn plan_diff(
    query: &DiffQuery,
    table: &TableInfo,
    server_id: u32,
    (from_us, to_us): (i64, i64),
    (max_window, allow_wide): (Duration, bool),
) -> Result<DiffPlan, PlanError> {
    let read = &query.read;
    let window = u64::try_from(to_us.saturating_sub(from_us)).unwrap_or(0);
    if !allow_wide && Duration::from_micros(window) > max_window {
        return Err(PlanError::DiffWindow(max_window));
    }
    for condition in &read.conditions {
        for name in filter::columns_of(condition) {
            column(table, name, "where clause")?;
        }
    }
    // A table without a PK has no key to name rows by: its `_diff` lists every change in the
    // window (each with both images), and takes no WHERE clause.
    let (key, rest) = match table.primary_key.is_empty() && read.conditions.is_empty() {
        true => (
            KeyPredicate::Range {
                lower: None,
                upper: None,
            },
            Vec::new(),
        ),
        false => key::extract(&read.conditions, table)?,
    };
    if !rest.is_empty() {
        return Err(PlanError::PkPredicate(
            "a _diff WHERE clause may only hold primary-key conditions".into(),
        ));
    }
    let projection = match &read.projection {
        Projection::Star => DIFF_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (*c).to_owned()))
            .collect(),
        Projection::Columns(list) => list
            .iter()
            .map(|c| {
                let i = DIFF_COLUMNS
                    .iter()
                    .position(|d| d.eq_ignore_ascii_case(&c.column))
                    .ok_or_else(|| PlanError::UnknownColumn {
                        column: c.column.clone(),
                        clause: "field list",
                    })?;
                Ok((
                    i,
                    c.alias
                        .clone()
                        .unwrap_or_else(|| DIFF_COLUMNS[i].to_owned()),
                ))
            })
            .collect::<Result<_, PlanError>>()?,
    };
    Ok(DiffPlan {
        request: DiffRequest {
            server_id,
            schema: table.schema.clone(),
            table: table.name.clone(),
            from_us,
            to_us,
            key,
        },
        projection,
        limit: read.limit,
    })
}

/// `24h`, `90m`, `45s`: the limit as written in shim.yaml's units.
pub fn format_window(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
