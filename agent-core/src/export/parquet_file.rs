//! `--format parquet`: one Parquet file (zstd) with one column per table column, typed by the
//! Arrow mapping of [`crate::columnar`] (its module doc gives the layout; each field carries the
//! MySQL `COLUMN_TYPE` in its metadata), readable by DuckDB, pandas or the `parquet` crate.
//!
//! The export sees the table through the HTTP API ([`ColumnInfo`]), so each column's decode plan
//! is rebuilt from its `information_schema`-style description ([`column_def`]); only the parts that
//! choose the Arrow type matter (integer signedness, DECIMAL precision/scale, binary vs text).

use std::fs::File;
use std::path::{Path, PathBuf};

use agent_api::catalog::{ColumnInfo, DataType as D};
use agent_api::Value;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{io_err, partial_path, ExportError, ExportTable, RowSink};
use crate::columnar::RowBatchBuilder;
use crate::schema::{ColumnDef, Decode, SpecialType, TableSchema, BINARY_COLLATION};

/// Rows per Arrow batch handed to the writer (and at most buffered).
const BATCH_ROWS: usize = 4096;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;
/// `utf8mb4_general_ci`: stands in for a text column whose collation is not known.
const DEFAULT_TEXT_COLLATION: u16 = 45;

/// The decode plan of a column as the API describes it (see the module doc).
pub fn column_def(info: &ColumnInfo) -> ColumnDef {
    let text = info
        .collation_id
        .filter(|c| *c != BINARY_COLLATION)
        .or_else(|| (info.charset.as_deref() != Some("binary")).then_some(DEFAULT_TEXT_COLLATION))
        .unwrap_or(BINARY_COLLATION);
    let int = |bytes| Decode::Int {
        bytes,
        unsigned: info.unsigned,
    };
    let fsp = info.scale.min(6);
    let max_len = u16::try_from(info.length).unwrap_or(u16::MAX);
    let blob = |collation, json| Decode::Blob {
        prefix: 4,
        collation,
        json,
    };
    let decode = match info.data_type {
        D::TinyInt => int(1),
        D::SmallInt => int(2),
        D::MediumInt => int(3),
        D::Int => int(4),
        D::BigInt => int(8),
        D::Year => Decode::Year,
        D::Float => Decode::Float,
        D::Double => Decode::Double,
        D::Decimal => Decode::Decimal {
            precision: u8::try_from(info.length.clamp(1, 65)).unwrap_or(65),
            scale: info.scale,
        },
        D::Date => Decode::Date,
        D::Time => Decode::Time2 { fsp },
        D::DateTime => Decode::DateTime2 { fsp },
        D::Timestamp => Decode::Timestamp2 { fsp },
        D::Char | D::VarChar => Decode::String {
            max_len,
            collation: text,
            pad_binary: false,
        },
        D::Binary => Decode::String {
            max_len,
            collation: BINARY_COLLATION,
            pad_binary: true,
        },
        D::VarBinary => Decode::String {
            max_len,
            collation: BINARY_COLLATION,
            pad_binary: false,
        },
        D::TinyText | D::Text | D::MediumText | D::LongText => blob(text, false),
        D::TinyBlob | D::Blob | D::MediumBlob | D::LongBlob | D::Geometry => {
            blob(BINARY_COLLATION, false)
        }
        D::Json => blob(BINARY_COLLATION, true),
        D::Bit => Decode::Bit {
            bytes: u8::try_from(info.length.div_ceil(8).clamp(1, 8)).unwrap_or(8),
        },
        D::Enum => Decode::Enum { bytes: 2 },
        D::Set => Decode::Set { bytes: 8 },
        D::Uuid => Decode::Special {
            kind: SpecialType::Uuid,
            max_len: 16,
        },
        D::Inet4 => Decode::Special {
            kind: SpecialType::Inet4,
            max_len: 4,
        },
        D::Inet6 => Decode::Special {
            kind: SpecialType::Inet6,
            max_len: 16,
        },
    };
    ColumnDef {
        info: info.clone(),
        decode,
        collation: None,
    }
}

/// The table as [`crate::columnar`] takes it.
pub fn table_schema(table: &ExportTable) -> TableSchema {
    TableSchema {
        schema: table.schema.clone(),
        name: table.name.clone(),
        columns: table.columns.iter().map(column_def).collect(),
        pk: table.pk.clone(),
    }
}

/// Writes `<out>.partial`, renamed to `out` by [`RowSink::finish`].
pub(super) struct ParquetFile {
    out: PathBuf,
    partial: PathBuf,
    builder: RowBatchBuilder,
    writer: ArrowWriter<File>,
}

impl ParquetFile {
    pub(super) fn create(out: &Path, table: &ExportTable) -> Result<Self, ExportError> {
        let partial = partial_path(out);
        let file = File::create(&partial).map_err(io_err(&partial))?;
        let builder = RowBatchBuilder::new(&table_schema(table)).map_err(parquet_err)?;
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(builder.fields().to_vec()));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(parquet_err)?;
        Ok(Self {
            out: out.to_owned(),
            partial,
            builder,
            writer,
        })
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let batch = self.builder.finish().map_err(parquet_err)?;
        self.writer.write(&batch).map_err(parquet_err)
    }
}

impl RowSink for ParquetFile {
    fn row(&mut self, row: &[Value]) -> Result<(), ExportError> {
        self.builder.append(row).map_err(parquet_err)?;
        if self.builder.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush()?;
        let Self {
            out,
            partial,
            writer,
            ..
        } = *self;
        let file = writer.into_inner().map_err(parquet_err)?;
        file.sync_all().map_err(io_err(&partial))?;
        std::fs::rename(&partial, &out).map_err(io_err(&out))
    }
}

fn parquet_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Parquet(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columnar::RowReader;
    use crate::test_support::column_info as col;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Rows written through the sink and read back with the `parquet` crate's Arrow reader are
    /// the same values, every type.
    #[test]
    fn parquet_export_round_trips_every_value_kind() {
        let columns = vec![
            ColumnInfo {
                unsigned: true,
                ..col("id", D::BigInt, "bigint(20) unsigned")
            },
            col("i", D::Int, "int(11)"),
            ColumnInfo {
                length: 30,
                scale: 10,
                ..col("amount", D::Decimal, "decimal(30,10)")
            },
            col("f", D::Float, "float"),
            col("r", D::Double, "double"),
            ColumnInfo {
                scale: 6,
                ..col("at", D::DateTime, "datetime(6)")
            },
            ColumnInfo {
                scale: 6,
                ..col("ts", D::Timestamp, "timestamp(6)")
            },
            col("d", D::Date, "date"),
            ColumnInfo {
                scale: 3,
                ..col("tm", D::Time, "time(3)")
            },
            ColumnInfo {
                charset: Some("utf8mb4".into()),
                collation_id: Some(45),
                ..col("name", D::VarChar, "varchar(64)")
            },
            col("bin", D::VarBinary, "varbinary(16)"),
            ColumnInfo {
                length: 12,
                ..col("bits", D::Bit, "bit(16)")
            },
            ColumnInfo {
                charset: Some("utf8mb4".into()),
                ..col("state", D::Enum, "enum('a','b')")
            },
            col("doc", D::Json, "json"),
        ];
        let table = ExportTable {
            schema: "shop".into(),
            name: "t".into(),
            columns,
            pk: vec![0],
            as_of_us: 0,
            seq: 1,
            create_sql: None,
        };
        let rows = vec![
            vec![
                Value::UInt(u64::MAX),
                Value::Int(i64::from(i32::MIN)),
                Value::Decimal("-12345678901234567890.0123456789".into()),
                Value::Float(1.1),
                Value::Double(-2.5e300),
                Value::DateTime("2026-01-02 03:04:05.000001".parse().unwrap()),
                Value::DateTime("2038-01-19 03:14:07.999999".parse().unwrap()),
                Value::Date("0000-00-00".parse().unwrap()),
                Value::Time("-838:59:59.999000".parse().unwrap()),
                Value::Text("it's ✓".into()),
                Value::Bytes(vec![0, 0xff]),
                Value::Bytes(vec![0x0a, 0xaa]),
                Value::Text("b".into()),
                Value::Json(r#"{"k": [1]}"#.into()),
            ],
            std::iter::once(Value::UInt(0))
                .chain(std::iter::repeat_n(Value::Null, 13))
                .collect(),
        ];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.parquet");
        let mut sink: Box<dyn RowSink> = Box::new(ParquetFile::create(&out, &table).unwrap());
        for r in &rows {
            sink.row(r).unwrap();
        }
        sink.finish().unwrap();
        assert!(!partial_path(&out).exists());

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&out).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let schema = table_schema(&table);
        let mut back = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            let rows = RowReader::new(&batch, &schema).unwrap();
            back.extend((0..rows.len()).map(|i| rows.row(i)));
        }
        assert_eq!(back, rows);
    }
}
