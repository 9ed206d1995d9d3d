//! Importing a mydumper dump directory as baselines.
//!
//! A dump holds `metadata` (the source's binlog position and GTID when the dump's consistent
//! snapshot was taken), `<db>.<table>-schema.sql` (CREATE TABLE) and the rows as INSERT
//! statements in `<db>.<table>.sql` or chunks `<db>.<table>.<n>.sql`, written with
//! `SET NAMES binary` (string bytes in the column's own charset) and `TIME_ZONE='+00:00'`.
//!
//! `metadata` comes in two layouts, both read here:
//! - mydumper ≤ 0.11: `SHOW MASTER STATUS:` then tab-indented `Log: <file>`, `Pos: <n>`,
//!   `GTID:<set>` lines;
//! - mydumper ≥ 0.12: an INI file whose `[source]` (or `[master]`) section has `File = <file>`,
//!   `Position = <n>`, `Executed_Gtid_Set = <set>`.
//!
//! A `SHOW SLAVE STATUS` / `[replication]` section (dump taken on a replica) names the replica's
//! upstream and is ignored: the position must be the dumped server's own.
//!
//! Rows are streamed file by file into the baseline writer, which requires PK order (InnoDB
//! dumps come in clustered-index order); compressed dumps are refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agent_api::baseline::{BaselineResponse, ImportRequest};
use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;

use super::position::{seq_at_position, wait_captured};
use super::writer::BaselineWriter;
use super::{BaselineError, BaselineOrigin, Manifest, MANIFEST_VERSION};
use crate::App;

mod values;

use crate::capture::state::now_us;
use crate::columnar::{format_decimal, parse_decimal, ColumnKind};
use crate::schema::{ColumnDef, Decode, TableSchema};
pub use values::{Literal, ValuesReader};

/// How long an import waits for capture to reach the dump's position.
const CAPTURE_WAIT: Duration = Duration::from_secs(10);

/// The consistent point recorded in a dump's `metadata` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpMetadata {
    /// Binlog file.
    pub file: String,
    /// Binlog position.
    pub pos: u64,
    /// GTID set / position, when recorded.
    pub gtid: Option<String>,
}

/// Reads the source position from a `metadata` file's text (either layout, see module doc).
pub fn parse_metadata(text: &str) -> Result<DumpMetadata, BaselineError> {
    let mut section = String::new();
    let (mut file, mut pos, mut gtid) = (None, None, None);
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].to_ascii_lowercase();
            continue;
        }
        if line.ends_with("STATUS:") {
            section = line.to_ascii_lowercase();
            continue;
        }
        let own = matches!(
            section.as_str(),
            "source" | "master" | "show master status:"
        );
        if !own {
            continue;
        }
        let Some((k, v)) = line.split_once([':', '=']) else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim().to_ascii_lowercase().as_str() {
            "log" | "file" => file = Some(v),
            "pos" | "position" => pos = v.parse().ok(),
            "gtid" | "executed_gtid_set" => gtid = Some(v).filter(|g| !g.is_empty()),
            _ => {}
        }
    }
    match (file, pos) {
        (Some(file), Some(pos)) if !file.is_empty() => Ok(DumpMetadata { file, pos, gtid }),
        _ => Err(BaselineError::Invalid(
            "the dump's metadata file records no binlog position (was binary logging on, and is this a mydumper directory?)".into(),
        )),
    }
}

/// A table of the dump: its schema file and data files (chunk order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpTable {
    /// Database.
    pub schema: String,
    /// Table.
    pub table: String,
    /// `<db>.<table>-schema.sql`.
    pub schema_file: PathBuf,
    /// `<db>.<table>.sql` and `<db>.<table>.<n>.sql`, in chunk order.
    pub data_files: Vec<PathBuf>,
}

/// The tables of a dump directory: its regular files only (a symlink could lead out of the
/// directory). Errors on compressed data files.
pub fn dump_tables(dir: &Path) -> Result<Vec<DumpTable>, BaselineError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| BaselineError::io(dir, e))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if let Some(z) = names
        .iter()
        .find(|n| n.ends_with(".sql.gz") || n.ends_with(".sql.zst"))
    {
        return Err(BaselineError::Invalid(format!(
            "{z} is compressed: import needs a dump taken without --compress"
        )));
    }
    let mut out = Vec::new();
    for n in &names {
        let Some(stem) = n.strip_suffix("-schema.sql") else {
            continue;
        };
        let Some((schema, table)) = stem.split_once('.') else {
            continue;
        };
        let prefix = format!("{stem}.");
        let mut data: Vec<(u64, PathBuf)> = names
            .iter()
            .filter_map(|d| {
                let middle = d.strip_prefix(&prefix)?.strip_suffix("sql")?;
                match middle {
                    "" => Some((0, dir.join(d))),
                    m => m
                        .strip_suffix('.')?
                        .parse::<u64>()
                        .ok()
                        .map(|i| (i + 1, dir.join(d))),
                }
            })
            .collect();
        data.sort();
        out.push(DumpTable {
            schema: schema.to_owned(),
            table: table.to_owned(),
            schema_file: dir.join(n),
            data_files: data.into_iter().map(|(_, p)| p).collect(),
        });
    }
    Ok(out)
}

/// A dumped literal as the [`Value`] capture decodes for the column (strings are in the column's
/// charset: `SET NAMES binary`).
pub fn value_from_literal(lit: Literal, col: &ColumnDef) -> Result<Value, BaselineError> {
    let bad = |what: &dyn std::fmt::Debug| {
        BaselineError::Invalid(format!(
            "column {} ({}): cannot read dumped value {what:?}",
            col.info.name, col.info.column_type
        ))
    };
    let text = match lit {
        Literal::Null => return Ok(Value::Null),
        Literal::Number(n) => n,
        Literal::Bytes(b) => match ColumnKind::of(col) {
            ColumnKind::Bytes => {
                return Ok(Value::Bytes(crate::capture::rows::binary_padded(b, col)));
            }
            ColumnKind::Text | ColumnKind::Json => {
                return charset_text(b, col).ok_or_else(|| bad(&"text"));
            }
            _ => String::from_utf8(b).map_err(|e| bad(&e.into_bytes()))?,
        },
    };
    let t = text.trim();
    Ok(match ColumnKind::of(col) {
        ColumnKind::Int => Value::Int(t.parse().map_err(|_| bad(&t))?),
        ColumnKind::UInt => Value::UInt(t.parse().map_err(|_| bad(&t))?),
        ColumnKind::Float => Value::Float(t.parse().map_err(|_| bad(&t))?),
        ColumnKind::Double => Value::Double(t.parse().map_err(|_| bad(&t))?),
        ColumnKind::Decimal { scale, .. } => Value::Decimal(format_decimal(
            parse_decimal(t, scale).ok_or_else(|| bad(&t))?,
            scale,
        )),
        ColumnKind::DecimalText => Value::Decimal(t.to_owned()),
        ColumnKind::Date => Value::Date(t.parse::<Date>().map_err(|_| bad(&t))?),
        ColumnKind::DateTime { .. } => Value::DateTime(t.parse::<DateTime>().map_err(|_| bad(&t))?),
        ColumnKind::Time => Value::Time(t.parse::<Time>().map_err(|_| bad(&t))?),
        ColumnKind::Bytes => {
            // BIT written as a number.
            let n: u64 = t.parse().map_err(|_| bad(&t))?;
            let width = match col.decode {
                Decode::Bit { bytes } => usize::from(bytes),
                _ => 8,
            };
            Value::Bytes(n.to_be_bytes()[8 - width.min(8)..].to_vec())
        }
        ColumnKind::Text => Value::Text(t.to_owned()),
        ColumnKind::Json => Value::Json(t.to_owned()),
    })
}

/// Column-charset bytes as text, decoded as capture decodes them (see
/// [`crate::capture::rows::charset_text`]).
fn charset_text(b: Vec<u8>, col: &ColumnDef) -> Option<Value> {
    let text = crate::capture::rows::charset_text(&b, col)?;
    Some(match ColumnKind::of(col) {
        ColumnKind::Json => Value::Json(text),
        _ => Value::Text(text),
    })
}

/// The one answer to an import of a directory that is not allowed or not there: the same
/// whether the path exists, is outside `baselines.import_roots` or is unreadable, so the API cannot
/// be used to probe the agent host's files.
pub const IMPORT_REFUSED: &str = "import refused: not a readable mydumper directory (with a `metadata` file) under baselines.import_roots";

/// `dir` canonicalised, when it is an absolute path lying under one of `roots` (canonicalised:
/// symlinks and `..` cannot lead out) and holds a regular `metadata` file. Errors: `Invalid`
/// with [`IMPORT_REFUSED`], whatever the reason.
pub fn import_dir(roots: &[PathBuf], dir: &str) -> Result<PathBuf, BaselineError> {
    let refused = || BaselineError::Invalid(IMPORT_REFUSED.to_owned());
    let given = Path::new(dir);
    if !given.is_absolute() {
        return Err(refused());
    }
    let dir = given.canonicalize().map_err(|_| refused())?;
    let under = roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .any(|r| dir.starts_with(&r));
    let meta = std::fs::symlink_metadata(dir.join("metadata")).map_err(|_| refused())?;
    if !under || !meta.is_file() {
        return Err(refused());
    }
    Ok(dir)
}

/// Imports a dump directory (see module doc); the schema of each table is the index's version at
/// the dump's seq when the index knows the table, else the source's current `information_schema`,
/// and must name the same columns as the dump's CREATE TABLE.
pub async fn import(app: &App, req: &ImportRequest) -> Result<BaselineResponse, BaselineError> {
    let (source, state) = crate::baseline::source_of(app, req.server_id)?;
    let dir = import_dir(&app.config.baselines.import_roots, &req.dir)?;
    let meta_path = dir.join("metadata");
    let meta = parse_metadata(
        &std::fs::read_to_string(&meta_path).map_err(|e| BaselineError::io(&meta_path, e))?,
    )?;
    let last_seq = wait_captured(state, &meta.file, meta.pos, CAPTURE_WAIT).await?;
    let seq = seq_at_position(&app.index, req.server_id, last_seq, &meta.file, meta.pos)?;
    if seq == 0 {
        let first = app.index.txn(req.server_id, 1)?;
        return Err(BaselineError::Invalid(format!(
            "the dump's position {}:{} is not after any captured transaction{}: changes between the dump and the start of capture are unknown, so it cannot anchor history; take a new dump or a baseline",
            meta.file,
            meta.pos,
            first
                .map(|t| format!(" (the first ends at {}:{})", t.binlog_file, t.binlog_pos))
                .unwrap_or_default()
        )));
    }
    let wanted: Vec<(String, String)> = req
        .tables
        .iter()
        .map(|t| super::take::split_name(t))
        .collect::<Result<_, _>>()?;
    let tables: Vec<DumpTable> = dump_tables(&dir)?
        .into_iter()
        .filter(|t| {
            wanted.is_empty()
                || wanted.iter().any(|(s, n)| {
                    s.eq_ignore_ascii_case(&t.schema) && n.eq_ignore_ascii_case(&t.table)
                })
        })
        .collect();
    if tables.is_empty() {
        return Err(BaselineError::Invalid(format!(
            "no table of {} to import (no <db>.<table>-schema.sql matches)",
            dir.display()
        )));
    }
    let mut conn = None;
    let taken_at_us = std::fs::metadata(&meta_path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(now_us, |d| d.as_micros() as i64);
    let mut out = BaselineResponse {
        success: true,
        baselines: Vec::new(),
        removed: Vec::new(),
    };
    for t in tables {
        let create_sql = std::fs::read_to_string(&t.schema_file)
            .map_err(|e| BaselineError::io(&t.schema_file, e))?;
        let (schema, version) = match app.index.table_at(req.server_id, &t.schema, &t.table, seq) {
            Some(entry) => {
                let (v, s) = entry.version_at(seq);
                let mut s = (**s).clone();
                (s.schema, s.name) = (t.schema.clone(), t.table.clone());
                (s, Some(v))
            }
            None => {
                let c = match &mut conn {
                    Some(c) => c,
                    None => conn.insert(super::take::connect(source).await?),
                };
                let collations = crate::capture::load_collations(c).await?;
                let s =
                    super::source_schema::read_schema(c, &collations, &t.schema, &t.table).await?;
                (s, None)
            }
        };
        check_columns(&schema, &create_sql)?;
        let table_dir = super::table_dir(&app.config.data_dir, req.server_id, &t.schema, &t.table);
        let files = t.data_files.clone();
        let tag = format!("import-{taken_at_us}");
        let closed = tokio::task::spawn_blocking({
            let schema = schema.clone();
            move || write_table(&table_dir, schema, &tag, &files)
        })
        .await
        .map_err(|e| BaselineError::Invalid(format!("import failed: {e}")))??;
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            id: Manifest::make_id(seq, taken_at_us),
            server_id: req.server_id,
            schema: t.schema.clone(),
            table: t.table.clone(),
            origin: BaselineOrigin::Mydumper,
            taken_at_us,
            binlog_file: meta.file.clone(),
            binlog_pos: meta.pos,
            gtid: meta.gtid.clone(),
            seq,
            schema_version: version,
            rows: closed.rows,
            bytes: closed.bytes,
            table_schema: schema,
        };
        let b = closed.publish(&create_sql, manifest)?;
        out.removed.extend(super::prune(
            &app.config.data_dir,
            req.server_id,
            &t.schema,
            &t.table,
            app.config.baselines.keep,
        )?);
        out.baselines.push(super::summary(&b.manifest));
    }
    if let Some(c) = conn {
        let _ = c.disconnect().await;
    }
    Ok(out)
}

/// The dump's CREATE TABLE must list the schema's columns (names, in order).
fn check_columns(schema: &TableSchema, create_sql: &str) -> Result<(), BaselineError> {
    let dumped = create_table_columns(create_sql);
    let ours: Vec<String> = schema
        .columns
        .iter()
        .map(|c| c.info.name.to_ascii_lowercase())
        .collect();
    let dumped_lower: Vec<String> = dumped.iter().map(|c| c.to_ascii_lowercase()).collect();
    // VIRTUAL generated columns are in the CREATE TABLE but not in row images.
    if ours.iter().all(|c| dumped_lower.contains(c)) && dumped_lower.len() >= ours.len() {
        return Ok(());
    }
    Err(BaselineError::Invalid(format!(
        "the dump's CREATE TABLE {}.{} has columns ({}) but the table at the dump's position has ({}): the table changed since; take a baseline instead",
        schema.schema,
        schema.name,
        dumped.join(", "),
        ours.join(", ")
    )))
}

/// Column names of a `CREATE TABLE` (lines starting with a backquoted name).
fn create_table_columns(sql: &str) -> Vec<String> {
    let Some(body) = sql.find("CREATE TABLE").map(|i| &sql[i..]) else {
        return Vec::new();
    };
    body.lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('`')?;
            let end = rest.find('`')?;
            Some(rest[..end].to_owned())
        })
        .collect()
}

/// Streams one table's data files into a closed (unpublished) baseline.
fn write_table(
    table_dir: &Path,
    schema: TableSchema,
    tag: &str,
    files: &[PathBuf],
) -> Result<super::writer::Closed, BaselineError> {
    let mut writer = BaselineWriter::create(table_dir, schema.clone(), tag)?;
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| BaselineError::io(f, e))?;
        let mut reader = ValuesReader::new(&bytes);
        while let Some(tuple) = reader.next_tuple()? {
            let row = order_row(&schema, &reader.columns, tuple)
                .map_err(|e| BaselineError::Invalid(format!("{}: {e}", f.display())))?;
            writer.append(&row)?;
        }
    }
    writer.close()
}

/// A tuple as values in the schema's column order (by the INSERT's column list when it has one).
fn order_row(
    schema: &TableSchema,
    names: &[String],
    tuple: Vec<Literal>,
) -> Result<Vec<Value>, BaselineError> {
    if names.is_empty() {
        if tuple.len() < schema.columns.len() {
            return Err(BaselineError::Invalid(format!(
                "a row has {} values, the table {} columns",
                tuple.len(),
                schema.columns.len()
            )));
        }
        return tuple
            .into_iter()
            .zip(&schema.columns)
            .map(|(l, c)| value_from_literal(l, c))
            .collect();
    }
    let mut lits: Vec<Option<Literal>> = tuple.into_iter().map(Some).collect();
    schema
        .columns
        .iter()
        .map(|c| {
            let i = names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&c.info.name))
                .ok_or_else(|| {
                    BaselineError::Invalid(format!("the INSERT has no column {}", c.info.name))
                })?;
            value_from_literal(
                lits.get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or(Literal::Null),
                c,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
