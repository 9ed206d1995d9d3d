//! Point-in-time export (`agent-core export`): a table as it was at an instant, in a form that
//! loads anywhere.
//!
//! Rows come from `POST /v1/snapshot` of the running agent (answered by
//! [`crate::reconstruct::snapshot`]; the CLI cannot open the change index itself while the agent
//! holds its lock), streamed row by row: memory stays bounded by one INSERT batch.
//!
//! | format | output |
//! |---|---|
//! | `sql` | one file: header comment, `SET NAMES utf8mb4`, `SET time_zone = '+00:00'`, `CREATE TABLE` (unqualified, so it loads into any database), multi-row `INSERT`s of at most [`BATCH_ROWS`] rows / [`BATCH_BYTES`] bytes |
//! | `mydumper` | a directory in mydumper 0.10's layout, loadable by `myloader -d <dir> [-B <db>]`: `metadata`, `<db>-schema-create.sql`, `<db>.<t>-schema.sql`, `<db>.<t>.00000.sql` (a new numbered file every [`CHUNK_BYTES`] bytes); `<db>` and `<t>` in [`crate::fsname`]'s encoding (a name other than letters, digits and `_` loads with `-B`) |
//! | `parquet` | one Parquet file (zstd), typed columns as [`crate::columnar`] documents (see [`parquet_file`]) |
//!
//! The `CREATE TABLE` is a baseline's real `create_table.sql` when one at or before the instant has
//! the same columns ([`baseline_create_table`]); otherwise it is built from the captured schema as
//! of the instant (column types, NULL-ability, character set and, when known, collation) and the
//! PRIMARY KEY the table has now (`GET /v1/tables`; left out when those columns no longer exist);
//! secondary indexes, defaults and table options are not captured and so not reproduced. Output is
//! written under a `.partial` name and renamed when the stream ended with its trailer, so a cut
//! stream never leaves a complete-looking export.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use agent_api::catalog::{ColumnInfo, TablesQuery};
use agent_api::snapshot::SnapshotRequest;
use agent_api::{AgentClient, ClientError, Value};

use crate::recover::literal::LiteralError;

mod ddl;
pub mod parquet_file;
mod sql;

pub use ddl::{baseline_create_table, create_table, generated_create_table};
pub use sql::{BATCH_BYTES, BATCH_ROWS, CHUNK_BYTES};

/// Output format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One SQL file.
    Sql,
    /// A mydumper directory.
    Mydumper,
    /// One Parquet file.
    Parquet,
}

impl FromStr for ExportFormat {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sql" => Ok(Self::Sql),
            "mydumper" => Ok(Self::Mydumper),
            "parquet" => Ok(Self::Parquet),
            _ => Err(ExportError::Usage(format!(
                "unknown export format {s:?}: use sql, mydumper or parquet"
            ))),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// Arrow or Parquet refused the rows or the file.
    #[error("parquet: {0}")]
    Parquet(String),
    /// The agent refused or the stream broke (a cut stream is an error, never a short table).
    #[error("{}", crate::recover::cli::client_error_text(.0))]
    Agent(#[from] ClientError),
    /// Writing the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A value without an SQL literal.
    #[error(transparent)]
    Literal(#[from] LiteralError),
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: u64,
    /// The `seq` of the last transaction the rows include.
    pub seq: u64,
    /// The final path (file or directory).
    pub path: PathBuf,
}

/// The table being exported, as the snapshot header and `/v1/tables` describe it.
#[derive(Debug, Clone)]
pub struct ExportTable {
    /// Schema (database) name on the source.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns at the instant, rows aligned with them.
    pub columns: Vec<ColumnInfo>,
    /// Indexes into `columns` of the PK in key order (empty: no PRIMARY KEY clause).
    pub pk: Vec<usize>,
    /// The instant, µs since the Unix epoch.
    pub as_of_us: i64,
    /// The `seq` of the last transaction included.
    pub seq: u64,
    /// The `create_table.sql` of a baseline with the same columns, used instead of the generated
    /// `CREATE TABLE` (see [`baseline_create_table`]); without a trailing `;`.
    pub create_sql: Option<String>,
}

/// Exports `req`'s table as of `req.as_of_us` to `out` (which must not exist yet). With the
/// agent's `data_dir`, a baseline's real `CREATE TABLE` is used when it still fits.
///
/// Errors: `out` exists, the agent refuses (e.g. 1526-class coverage error when no baseline covers
/// the table), the stream is cut, or writing fails.
pub async fn export(
    client: &AgentClient,
    req: &SnapshotRequest,
    format: ExportFormat,
    out: &Path,
    data_dir: Option<&Path>,
) -> Result<ExportSummary, ExportError> {
    if out.exists() {
        return Err(ExportError::Usage(format!(
            "{} already exists; choose a new path",
            out.display()
        )));
    }
    let pk_names = client
        .tables(&TablesQuery {
            server_id: req.server_id,
            schema: Some(req.schema.clone()),
        })
        .await?
        .tables
        .into_iter()
        .find(|t| t.name == req.table)
        .map(|t| t.primary_key)
        .unwrap_or_default();
    let mut stream = client.snapshot(req).await?;
    let header = stream.header().clone();
    let pk = pk_names
        .iter()
        .filter_map(|n| {
            header
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(n))
        })
        .collect::<Vec<_>>();
    let table = ExportTable {
        schema: req.schema.clone(),
        name: req.table.clone(),
        pk: if pk.len() == pk_names.len() {
            pk
        } else {
            Vec::new()
        },
        columns: header.columns.clone(),
        as_of_us: req.as_of_us,
        seq: header.seq,
        create_sql: data_dir.and_then(|d| {
            baseline_create_table(
                d,
                req.server_id,
                &req.schema,
                &req.table,
                header.seq,
                &header.columns,
            )
        }),
    };
    let mut sink: Box<dyn RowSink> = match format {
        ExportFormat::Sql => Box::new(sql::SqlFile::create(out, &table)?),
        ExportFormat::Mydumper => Box::new(sql::MydumperDir::create(out, &table)?),
        ExportFormat::Parquet => Box::new(parquet_file::ParquetFile::create(out, &table)?),
    };
    let mut rows = 0u64;
    while let Some(row) = stream.next_row().await? {
        sink.row(&row)?;
        rows += 1;
    }
    sink.finish()?;
    Ok(ExportSummary {
        rows,
        seq: table.seq,
        path: out.to_owned(),
    })
}

/// A destination fed one row at a time.
pub trait RowSink {
    /// Writes one row aligned with the table's columns.
    fn row(&mut self, row: &[Value]) -> Result<(), ExportError>;
    /// Flushes and moves the output to its final name.
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}

pub(crate) fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_api::catalog::DataType;

    /// A two-column table with a backquote in its name, for the format tests.
    pub(crate) fn table() -> ExportTable {
        let col = |name: &str, dt: DataType, ct: &str, nullable: bool, charset: Option<&str>| {
            ColumnInfo {
                name: name.into(),
                data_type: dt,
                column_type: ct.into(),
                unsigned: false,
                nullable,
                length: 0,
                scale: 0,
                charset: charset.map(Into::into),
                collation_id: charset.map(|_| 45),
                elements: Vec::new(),
            }
        };
        ExportTable {
            schema: "shop".into(),
            name: "or`ders".into(),
            columns: vec![
                col("id", DataType::BigInt, "bigint(20) unsigned", false, None),
                col(
                    "note",
                    DataType::VarChar,
                    "varchar(64)",
                    true,
                    Some("utf8mb4"),
                ),
            ],
            pk: vec![0],
            as_of_us: 0,
            seq: 3,
            create_sql: None,
        }
    }

    #[test]
    fn unknown_format_is_a_usage_error() {
        assert_eq!(
            "csv".parse::<ExportFormat>().unwrap_err().to_string(),
            "unknown export format \"csv\": use sql, mydumper or parquet"
        );
        assert_eq!(
            "MyDumper".parse::<ExportFormat>().unwrap(),
            ExportFormat::Mydumper
        );
    }
}
