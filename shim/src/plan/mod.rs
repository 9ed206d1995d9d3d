//! Planning: a classified time-travel query plus the table's metadata (from agent-core's
//! `GET /v1/tables`) becomes an agent request, an output projection and a row filter.
//!
//! Which columns form the key comes only from [`TableInfo::primary_key`]: a predicate on any
//! other column is never taken for the key; it is applied as a filter on the rows the key read
//! returns (DESIGN.md, "Traps": a WHERE on a non-key column silently matched the key).

pub mod filter;
mod key;
pub mod reads;
mod time;

use agent_api::catalog::TableInfo;
use agent_api::flashback::FlashbackRequest;

use crate::classify::{Condition, FlashbackQuery, Projection};
use crate::error::MysqlError;

pub use self::time::{now_us, resolve, TimeZone};

/// Why a time-travel query cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `_flashback.<t>` with no current database.
    #[error("No database selected")]
    NoDatabase,
    /// The agent does not list the table.
    #[error("table {schema}.{table} doesn't exist")]
    NoSuchTable {
        /// Schema.
        schema: String,
        /// Table.
        table: String,
    },
    /// No condition on the (leading) primary-key column(s).
    #[error("time-travel queries require a PK predicate")]
    PkRequired,
    /// A PK predicate the key read cannot express.
    #[error("{0}")]
    PkPredicate(String),
    /// A `_diff` window wider than `limits.max_diff_window`.
    #[error("_diff window exceeds limit")]
    DiffWindow(std::time::Duration),
    /// A column the table does not have.
    #[error("unknown column {column} in {clause}")]
    UnknownColumn {
        /// Column as written.
        column: String,
        /// `field list` or `where clause`.
        clause: &'static str,
    },
}

impl From<PlanError> for MysqlError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::NoDatabase => MysqlError::no_database(),
            PlanError::NoSuchTable { schema, table } => MysqlError::no_such_table(&schema, &table),
            PlanError::PkRequired => MysqlError::pk_required(),
            PlanError::PkPredicate(detail) => MysqlError::pk_predicate(detail),
            PlanError::DiffWindow(limit) => MysqlError::diff_window(&reads::format_window(limit)),
            PlanError::UnknownColumn { column, clause } => {
                MysqlError::unknown_column(&column, clause)
            }
        }
    }
}

/// Everything needed to answer one time-travel query.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashbackPlan {
    /// The agent request.
    pub request: FlashbackRequest,
    /// Output columns: `(source column name, output name)` in select-list order; `None` for `*`.
    pub projection: Option<Vec<(String, String)>>,
    /// Conditions not answered by the key read, applied to each returned row.
    pub filters: Vec<Condition>,
    /// Maximum rows to return.
    pub limit: Option<u64>,
}

/// Plans `query` against `table` (its current metadata) for source `server_id` at `as_of_us`
/// (µs since the Unix epoch).
pub fn plan_flashback(
    query: &FlashbackQuery,
    table: &TableInfo,
    server_id: u32,
    as_of_us: i64,
) -> Result<FlashbackPlan, PlanError> {
    let projection = projection(query, table)?;
    for condition in &query.conditions {
        for name in filter::columns_of(condition) {
            column(table, name, "where clause")?;
        }
    }
    let (key, filters) = key::extract(&query.conditions, table)?;
    Ok(FlashbackPlan {
        request: FlashbackRequest {
            server_id,
            schema: table.schema.clone(),
            table: table.name.clone(),
            as_of_us,
            key,
            known_schema: None,
        },
        projection,
        filters,
        limit: query.limit,
    })
}

/// `(source column, output name)` of the select list; `None` for `*`.
fn projection(
    query: &FlashbackQuery,
    table: &TableInfo,
) -> Result<Option<Vec<(String, String)>>, PlanError> {
    let Projection::Columns(columns) = &query.projection else {
        return Ok(None);
    };
    columns
        .iter()
        .map(|c| {
            let index = column(table, &c.column, "field list")?;
            let name = table.columns[index].name.clone();
            let output = c.alias.clone().unwrap_or_else(|| c.column.clone());
            Ok((name, output))
        })
        .collect::<Result<Vec<_>, PlanError>>()
        .map(Some)
}

fn column(table: &TableInfo, name: &str, clause: &'static str) -> Result<usize, PlanError> {
    table
        .column_index(name)
        .ok_or_else(|| PlanError::UnknownColumn {
            column: name.to_owned(),
            clause,
        })
}
