//! `--format sql` (one file) and `--format mydumper` (a directory myloader loads): multi-row
//! INSERTs with exact literals ([`crate::recover::literal`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use agent_api::catalog::ColumnInfo;
use agent_api::time::format_unix_micros;
use agent_api::Value;

use super::{create_table, io_err, partial_path, ExportError, ExportTable, RowSink};
use crate::recover::literal::{ident, LiteralError};
use crate::recover::script::comment_safe;

/// Rows per multi-row INSERT.
pub const BATCH_ROWS: usize = 1000;
/// An INSERT is closed once its text passes this many bytes (well under `max_allowed_packet`).
pub const BATCH_BYTES: usize = 1 << 20;
/// A mydumper data file is closed at the next statement once it passes this many bytes.
pub const CHUNK_BYTES: u64 = 64 << 20;

/// Accumulates multi-row INSERT statements for one table.
struct InsertBatcher {
    prefix: String,
    columns: Vec<ColumnInfo>,
    stmt: String,
    rows: usize,
}

impl InsertBatcher {
    fn new(table: &ExportTable) -> Self {
        let cols: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        Self {
            prefix: format!(
                "INSERT INTO {} ({}) VALUES\n",
                ident(&table.name),
                cols.join(", ")
            ),
            columns: table.columns.clone(),
            stmt: String::new(),
            rows: 0,
        }
    }

    /// Adds a row; returns a complete statement (ending `;\n`) when the batch is full.
    fn push(&mut self, row: &[Value]) -> Result<Option<String>, LiteralError> {
        if self.rows == 0 {
            self.stmt.push_str(&self.prefix);
        } else {
            self.stmt.push_str(",\n");
        }
        self.stmt.push('(');
        crate::recover::push_row(&mut self.stmt, row, &self.columns)?;
        self.stmt.push(')');
        self.rows += 1;
        Ok((self.rows >= BATCH_ROWS || self.stmt.len() >= BATCH_BYTES).then(|| self.take()))
    }

    /// The pending statement, if any rows are buffered.
    fn flush(&mut self) -> Option<String> {
        (self.rows > 0).then(|| self.take())
    }

    fn take(&mut self) -> String {
        self.rows = 0;
        self.stmt.push_str(";\n");
        std::mem::take(&mut self.stmt)
    }
}

/// Session settings every generated data file starts with (values are UTF-8, TIMESTAMPs UTC).
const SESSION_SQL: &str = "/*!40101 SET NAMES utf8mb4*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n/*!40103 SET TIME_ZONE='+00:00'*/;\n";

fn create_file(path: &Path) -> Result<BufWriter<File>, ExportError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(io_err(path))
}

fn close_file(w: BufWriter<File>, path: &Path) -> Result<(), ExportError> {
    let f = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
    f.sync_all().map_err(io_err(path))
}

/// `--format sql`: one file.
pub(super) struct SqlFile {
    out: PathBuf,
    partial: PathBuf,
    w: BufWriter<File>,
    batch: InsertBatcher,
}

impl SqlFile {
    pub(super) fn create(out: &Path, table: &ExportTable) -> Result<Self, ExportError> {
        let partial = partial_path(out);
        let mut w = create_file(&partial)?;
        let head = format!(
            "-- dbtrail export of {}.{} as of {} UTC (seq {}): {} column(s)\n\
             -- Load into any database: mariadb <db> < this-file\n{SESSION_SQL}{};\n{SESSION_SQL}",
            comment_safe(&ident(&table.schema)),
            comment_safe(&ident(&table.name)),
            format_unix_micros(table.as_of_us),
            table.seq,
            table.columns.len(),
            create_table(table),
        );
        w.write_all(head.as_bytes()).map_err(io_err(&partial))?;
        Ok(Self {
            out: out.to_owned(),
            partial,
            w,
            batch: InsertBatcher::new(table),
        })
    }
}

impl RowSink for SqlFile {
    fn row(&mut self, row: &[Value]) -> Result<(), ExportError> {
        if let Some(stmt) = self.batch.push(row)? {
            self.w
                .write_all(stmt.as_bytes())
                .map_err(io_err(&self.partial))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        if let Some(stmt) = self.batch.flush() {
            self.w
                .write_all(stmt.as_bytes())
                .map_err(io_err(&self.partial))?;
        }
        let Self {
            out, partial, w, ..
        } = *self;
        close_file(w, &partial)?;
        std::fs::rename(&partial, &out).map_err(io_err(&out))
    }
}

/// `--format mydumper`: a directory myloader loads.
pub(super) struct MydumperDir {
    out: PathBuf,
    partial: PathBuf,
    prefix: String,
    chunk: u32,
    written: u64,
    w: BufWriter<File>,
    path: PathBuf,
    batch: InsertBatcher,
}

impl MydumperDir {
    pub(super) fn create(out: &Path, table: &ExportTable) -> Result<Self, ExportError> {
        let partial = partial_path(out);
        std::fs::create_dir(&partial).map_err(io_err(&partial))?;
        let started = format_unix_micros(crate::capture::state::now_us());
        // File names carry the names in agent-core's file-name encoding (`crate::fsname`): a
        // plain name is itself, anything else (`a.b`, `../x`) is one safe segment. myloader 0.10
        // takes the database to `USE` from the file name and runs the files' statements, which
        // name the real table: such a schema loads with `-B <database>`.
        let db = crate::fsname::encode(&table.schema);
        let name = crate::fsname::encode(&table.name);
        let write = |file: String, text: String| {
            let path = partial.join(file);
            std::fs::write(&path, text).map_err(io_err(&path))
        };
        write(
            format!("{db}-schema-create.sql"),
            format!("CREATE DATABASE IF NOT EXISTS {};\n", ident(&table.schema)),
        )?;
        write(
            format!("{db}.{name}-schema.sql"),
            format!("{SESSION_SQL}{};\n", create_table(table)),
        )?;
        // myloader checks that the file exists; mydumper 0.10's layout, without a binlog position
        // (the export is consistent with our seq, named in the data files' header).
        write(
            "metadata".into(),
            format!(
                "Started dump at: {}\nFinished dump at: {}\n",
                &started[..19],
                &started[..19]
            ),
        )?;
        let prefix = format!("{db}.{name}");
        let path = partial.join(format!("{prefix}.00000.sql"));
        let mut w = create_file(&path)?;
        w.write_all(Self::data_header(table).as_bytes())
            .map_err(io_err(&path))?;
        Ok(Self {
            out: out.to_owned(),
            partial,
            prefix,
            chunk: 0,
            written: 0,
            w,
            path,
            batch: InsertBatcher::new(table),
        })
    }

    fn data_header(table: &ExportTable) -> String {
        format!(
            "-- dbtrail export of {}.{} as of {} UTC (seq {})\n{SESSION_SQL}",
            comment_safe(&ident(&table.schema)),
            comment_safe(&ident(&table.name)),
            format_unix_micros(table.as_of_us),
            table.seq
        )
    }

    fn write_stmt(&mut self, stmt: &str) -> Result<(), ExportError> {
        if self.written >= CHUNK_BYTES {
            self.chunk += 1;
            let path = self
                .partial
                .join(format!("{}.{:05}.sql", self.prefix, self.chunk));
            let next = create_file(&path)?;
            let done = std::mem::replace(&mut self.w, next);
            close_file(done, &self.path)?;
            self.path = path;
            self.written = 0;
            self.w
                .write_all(SESSION_SQL.as_bytes())
                .map_err(io_err(&self.path))?;
        }
        self.w
            .write_all(stmt.as_bytes())
            .map_err(io_err(&self.path))?;
        self.written += stmt.len() as u64;
        Ok(())
    }
}

impl RowSink for MydumperDir {
    fn row(&mut self, row: &[Value]) -> Result<(), ExportError> {
        if let Some(stmt) = self.batch.push(row)? {
            self.write_stmt(&stmt)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        if let Some(stmt) = self.batch.flush() {
            self.write_stmt(&stmt)?;
        }
        let Self {
            out,
            partial,
            w,
            path,
            ..
        } = *self;
        close_file(w, &path)?;
        std::fs::rename(&partial, &out).map_err(io_err(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::tests::table;

    #[test]
    fn inserts_are_batched_and_end_with_semicolon_newline() {
        let mut b = InsertBatcher::new(&table());
        let mut full = Vec::new();
        for i in 0..(BATCH_ROWS as u64 + 2) {
            if let Some(s) = b.push(&[Value::UInt(u64::MAX - i), Value::Null]).unwrap() {
                full.push(s);
            }
        }
        assert_eq!(full.len(), 1);
        assert!(full[0].starts_with(
            "INSERT INTO `or``ders` (`id`, `note`) VALUES\n(18446744073709551615, NULL),\n"
        ));
        assert!(full[0].ends_with(");\n"));
        let rest = b.flush().unwrap();
        assert_eq!(rest.matches("),\n(").count(), 1, "{rest}");
        assert_eq!(b.flush(), None);
    }
}
