//! Writes one table's baseline: rows streamed into `rows.parquet` in PK order with bounded memory
//! (one row group of [`ROW_GROUP_ROWS`] rows at most is buffered), then published atomically.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use agent_api::Value;
use arrow_array::builder::BinaryBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{Baseline, BaselineError, Manifest};
use crate::columnar::RowBatchBuilder;
use crate::index::keys;
use crate::schema::{ColumnDef, TableSchema};

/// Rows per Parquet row group: the unit a point lookup decodes (see [`super::reader`]).
pub const ROW_GROUP_ROWS: usize = 16_384;
/// Rows per Arrow batch handed to the Parquet writer.
const BATCH_ROWS: usize = 4_096;
/// Name of the column holding the memcomparable PK encoding.
pub const PK_COLUMN: &str = "__pk";

/// A baseline being written in a `.partial-*` directory.
pub struct BaselineWriter {
    dir: PathBuf,
    table: TableSchema,
    builder: RowBatchBuilder,
    pk: BinaryBuilder,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    last_pk: Option<Vec<u8>>,
    rows: u64,
}

/// A closed, unpublished baseline: its partial directory, row count and file size.
pub struct Closed {
    dir: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Size of `rows.parquet`, bytes.
    pub bytes: u64,
}

impl BaselineWriter {
    /// Starts `table_dir/.partial-<tag>/rows.parquet` for rows of `table`. A table without a PK
    /// is a bag: its rows come in any order, duplicates included, each with the encoding of its
    /// whole image as `__pk` (see `reconstruct::bag`, which reads such a baseline whole).
    pub fn create(table_dir: &Path, table: TableSchema, tag: &str) -> Result<Self, BaselineError> {
        let dir = table_dir.join(format!(".partial-{tag}"));
        std::fs::create_dir_all(&dir).map_err(|e| BaselineError::io(&dir, e))?;
        let path = dir.join("rows.parquet");
        let file = File::create(&path).map_err(|e| BaselineError::io(&path, e))?;
        let builder = RowBatchBuilder::new(&table)?;
        let mut fields: Vec<Field> = builder.fields().to_vec();
        fields.push(Field::new(PK_COLUMN, DataType::Binary, false));
        let schema = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_column_statistics_enabled(ColumnPath::from(PK_COLUMN), EnabledStatistics::Page)
            .set_statistics_truncate_length(None)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        Ok(Self {
            dir,
            table,
            builder,
            pk: BinaryBuilder::new(),
            schema,
            writer,
            last_pk: None,
            rows: 0,
        })
    }

    /// Appends one row (values in column order). Rows must come in strictly ascending PK order
    /// as the index orders keys; a row out of order fails the baseline rather than produce a file
    /// the merge would misread. Rows of a table without a PK are taken as they come.
    pub fn append(&mut self, row: &[Value]) -> Result<(), BaselineError> {
        if self.table.pk.is_empty() {
            let cols: Vec<&ColumnDef> = self.table.columns.iter().collect();
            let key = keys::encode_image(row, &cols);
            return self.push(row, &key);
        }
        let pk_cols: Vec<&ColumnDef> = self
            .table
            .pk
            .iter()
            .map(|&i| &self.table.columns[i])
            .collect();
        let pk_vals: Vec<&Value> = self.table.pk.iter().map(|&i| &row[i]).collect();
        let pk = keys::encode_key(&pk_vals, &pk_cols);
        if self.last_pk.as_ref().is_some_and(|last| *last >= pk) {
            return Err(BaselineError::Invalid(format!(
                "rows of {}.{} did not arrive in ascending key order at row {} (key {:?}): the source's collation orders this PK differently from the index",
                self.table.schema,
                self.table.name,
                self.rows + 1,
                pk_vals
            )));
        }
        self.push(row, &pk)?;
        self.last_pk = Some(pk);
        Ok(())
    }

    fn push(&mut self, row: &[Value], key: &[u8]) -> Result<(), BaselineError> {
        self.builder.append(row)?;
        self.pk.append_value(key);
        self.rows += 1;
        if self.builder.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), BaselineError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = self.builder.finish_columns();
        columns.push(Arc::new(self.pk.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(crate::columnar::ColumnarError::from)?;
        self.writer.write(&batch)?;
        Ok(())
    }

    /// Writes the last rows and the Parquet footer and fsyncs the file.
    pub fn close(mut self) -> Result<Closed, BaselineError> {
        self.flush_batch()?;
        let file = self.writer.into_inner()?;
        let path = self.dir.join("rows.parquet");
        file.sync_all().map_err(|e| BaselineError::io(&path, e))?;
        let bytes = file
            .metadata()
            .map_err(|e| BaselineError::io(&path, e))?
            .len();
        Ok(Closed {
            dir: self.dir,
            rows: self.rows,
            bytes,
        })
    }
}

impl Closed {
    /// Publishes the baseline: writes `create_table.sql`, renames the partial directory to the
    /// manifest's id, then writes `manifest.json` through a temporary file and an atomic rename
    /// (the baseline becomes visible only then).
    pub fn publish(self, create_sql: &str, manifest: Manifest) -> Result<Baseline, BaselineError> {
        write_synced(&self.dir.join("create_table.sql"), create_sql.as_bytes())?;
        let parent = self
            .dir
            .parent()
            .ok_or_else(|| BaselineError::Invalid("baseline directory has no parent".into()))?;
        let dir = parent.join(&manifest.id);
        std::fs::rename(&self.dir, &dir).map_err(|e| BaselineError::io(&dir, e))?;
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BaselineError::Invalid(e.to_string()))?;
        let tmp = dir.join("manifest.json.tmp");
        write_synced(&tmp, &json)?;
        let path = dir.join("manifest.json");
        let renamed = std::fs::rename(&tmp, &path);
        super::changed();
        renamed.map_err(|e| BaselineError::io(&path, e))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(Baseline { dir, manifest })
    }

    /// Removes the partial directory (the baseline was abandoned).
    pub fn discard(self) {
        // Only the partial directory this writer created, never through a symlink.
        let ours = std::fs::symlink_metadata(&self.dir).is_ok_and(|m| m.is_dir());
        if ours {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    let mut f = File::create(path).map_err(|e| BaselineError::io(path, e))?;
    f.write_all(bytes).map_err(|e| BaselineError::io(path, e))?;
    f.sync_all().map_err(|e| BaselineError::io(path, e))
}
