//! One archive file: the row changes of one table number and schema version over a seq range, as
//! Parquet (layout in `docs/archive-format.md`).
//!
//! Rows are ordered by `(pk, seq, ordinal)`, like the index, so the versions of one key are
//! adjacent. The `after` image is stored for INSERT and UPDATE (null = a delete marker); the
//! `before` image only where it cannot be derived, i.e. when the previous row of the file is not
//! the same key with an `after` equal to it (the first change of a key in the file, or a
//! history hole). Readers derive every other before image from the previous row's `after`.

use std::sync::Arc;

use agent_api::Value;
use arrow_array::builder::{BinaryBuilder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, RecordBatch, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{
    EnabledStatistics, ReaderProperties, WriterProperties, WriterVersion,
};
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::{ReadOptionsBuilder, SerializedFileReader};
use parquet::schema::types::ColumnPath;

use super::ArchiveError;
use crate::columnar::{RowBatchBuilder, RowReader};
use crate::schema::TableSchema;

/// Rows per Parquet row group (each with its own statistics and PK bloom filter).
pub const ROW_GROUP_ROWS: usize = 32 * 1024;
/// Leaf column index of `pk` (after `seq`, `event_time`, `event_type`).
const PK_LEAF: usize = 3;
/// Key-value metadata: the [`TableSchema`] (JSON) of every image in the file.
pub const META_SCHEMA: &str = "dbtrail.schema";
/// Key-value metadata: the schema version number within the table's history.
pub const META_VERSION: &str = "dbtrail.schema_version";
/// Key-value metadata: the source `server_id`.
pub const META_SERVER: &str = "dbtrail.server_id";
/// Key-value metadata: the internal table number.
pub const META_TABLE_NO: &str = "dbtrail.table_no";

/// What an archived event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A new row.
    Insert,
    /// A changed row.
    Update,
    /// A removed row.
    Delete,
    /// The whole table emptied (`pk` is empty, no images).
    Truncate,
}

impl EventKind {
    /// The `event_type` text.
    pub fn name(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Truncate => "TRUNCATE",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "INSERT" => Self::Insert,
            "UPDATE" => Self::Update,
            "DELETE" => Self::Delete,
            "TRUNCATE" => Self::Truncate,
            _ => return None,
        })
    }
}

/// One archived event with complete images.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seq of its transaction.
    pub seq: u64,
    /// Visible time of its transaction, µs since the epoch.
    pub time_us: i64,
    /// What it did.
    pub kind: EventKind,
    /// Memcomparable PK (empty for TRUNCATE).
    pub pk: Vec<u8>,
    /// Image before (UPDATE, DELETE).
    pub before: Option<Vec<Value>>,
    /// Image after (INSERT, UPDATE).
    pub after: Option<Vec<Value>>,
}

/// What a file is about, stored in its key-value metadata.
#[derive(Debug, Clone)]
pub struct FileHeader {
    /// Source `server_id`.
    pub server_id: u32,
    /// Internal table number.
    pub table_no: u32,
    /// Schema version of the images.
    pub schema_version: u32,
    /// That version's schema.
    pub schema: Arc<TableSchema>,
}

/// Encodes `events` (sorted by pk, then seq) as one zstd Parquet file.
pub fn write_file(header: &FileHeader, events: &[Event]) -> Result<Vec<u8>, ArchiveError> {
    let image_fields = Fields::from(crate::columnar::arrow_fields(&header.schema));
    let arrow_schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new_dictionary("event_type", DataType::Int8, DataType::Utf8, false),
        Field::new("pk", DataType::Binary, false),
        Field::new_struct("after", image_fields.clone(), true),
        Field::new_struct("before", image_fields.clone(), true),
    ]));
    let mut buf = Vec::new();
    let props = properties(header, events)?;
    let mut writer = ArrowWriter::try_new(&mut buf, arrow_schema.clone(), Some(props))?;
    for (n, chunk) in events.chunks(ROW_GROUP_ROWS).enumerate() {
        let prev = (n * ROW_GROUP_ROWS).checked_sub(1).map(|i| &events[i]);
        writer.write(&encode_batch(
            &arrow_schema,
            &image_fields,
            header,
            prev,
            chunk,
        )?)?;
    }
    writer.close()?;
    Ok(buf)
}

fn properties(header: &FileHeader, events: &[Event]) -> Result<WriterProperties, ArchiveError> {
    let distinct = events.windows(2).filter(|w| w[0].pk != w[1].pk).count() as u64 + 1;
    let ndv = distinct.min(ROW_GROUP_ROWS as u64);
    let schema_json =
        serde_json::to_string(&*header.schema).map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    let meta = vec![
        KeyValue::new(META_SCHEMA.to_owned(), schema_json),
        KeyValue::new(META_VERSION.to_owned(), header.schema_version.to_string()),
        KeyValue::new(META_SERVER.to_owned(), header.server_id.to_string()),
        KeyValue::new(META_TABLE_NO.to_owned(), header.table_no.to_string()),
    ];
    let zstd = ZstdLevel::try_new(6)?;
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::ZSTD(zstd))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_bloom_filter_enabled(ColumnPath::from("pk"), true)
        .set_column_bloom_filter_fpp(ColumnPath::from("pk"), 0.01)
        .set_column_bloom_filter_max_ndv(ColumnPath::from("pk"), ndv.max(1))
        .set_key_value_metadata(Some(meta));
    for col in ["seq", "event_time"] {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(col), false)
            .set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED);
    }
    Ok(b.build())
}

fn encode_batch<'a>(
    schema: &Arc<Schema>,
    image_fields: &Fields,
    header: &FileHeader,
    mut prev: Option<&'a Event>,
    events: &'a [Event],
) -> Result<RecordBatch, ArchiveError> {
    let n = events.len();
    let width = header.schema.columns.len();
    let nulls = vec![Value::Null; width];
    let mut seq = UInt64Builder::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut pk = BinaryBuilder::with_capacity(n, n * 8);
    let mut after = RowBatchBuilder::new(&header.schema)?;
    let mut before = RowBatchBuilder::new(&header.schema)?;
    let (mut after_valid, mut before_valid) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for e in events {
        seq.append_value(e.seq);
        time.push(e.time_us);
        pk.append_value(&e.pk);
        after_valid.push(e.after.is_some());
        after.append(e.after.as_deref().unwrap_or(&nulls))?;
        let derivable = prev.is_some_and(|p| p.pk == e.pk && p.after == e.before);
        let stored = e.before.as_deref().filter(|_| !derivable);
        before_valid.push(stored.is_some());
        before.append(stored.unwrap_or(&nulls))?;
        prev = Some(e);
    }
    let kinds: DictionaryArray<Int8Type> = events.iter().map(|e| e.kind.name()).collect();
    let image = |b: &mut RowBatchBuilder, valid: Vec<bool>| -> Result<ArrayRef, ArchiveError> {
        Ok(Arc::new(StructArray::try_new(
            image_fields.clone(),
            b.finish_columns(),
            Some(valid.into()),
        )?))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        Arc::new(TimestampMicrosecondArray::from(time).with_timezone("UTC")),
        Arc::new(kinds),
        Arc::new(pk.finish()),
        image(&mut after, after_valid)?,
        image(&mut before, before_valid)?,
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Reads a file's header (key-value metadata).
pub fn read_header(bytes: &Bytes) -> Result<FileHeader, ArchiveError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
    header_of(builder.metadata().file_metadata().key_value_metadata())
}

fn header_of(kv: Option<&Vec<KeyValue>>) -> Result<FileHeader, ArchiveError> {
    let get = |k: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == k))
            .and_then(|e| e.value.clone())
            .ok_or_else(|| ArchiveError::Corrupt(format!("archive file lacks {k}")))
    };
    let num = |k: &str| -> Result<u32, ArchiveError> {
        get(k)?
            .parse()
            .map_err(|_| ArchiveError::Corrupt(format!("bad {k}")))
    };
    let schema: TableSchema = serde_json::from_str(&get(META_SCHEMA)?)
        .map_err(|e| ArchiveError::Corrupt(format!("{META_SCHEMA}: {e}")))?;
    Ok(FileHeader {
        server_id: num(META_SERVER)?,
        table_no: num(META_TABLE_NO)?,
        schema_version: num(META_VERSION)?,
        schema: Arc::new(schema),
    })
}

/// A file's events in file order, decoded one batch at a time (bounded memory), with every
/// before image filled in.
pub struct EventStream {
    header: FileHeader,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    pending: std::vec::IntoIter<Event>,
    /// The last event decoded: the before image of the next batch's first row may derive from it.
    last: Option<Event>,
}

impl EventStream {
    /// Opens a file for streaming.
    pub fn open(bytes: &Bytes) -> Result<Self, ArchiveError> {
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
        let header = header_of(builder.metadata().file_metadata().key_value_metadata())?;
        Ok(Self {
            header,
            reader: builder.with_batch_size(8192).build()?,
            pending: Vec::new().into_iter(),
            last: None,
        })
    }

    /// The file's header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The next event, `None` at the end of the file.
    pub fn next_event(&mut self) -> Result<Option<Event>, ArchiveError> {
        loop {
            if let Some(e) = self.pending.next() {
                return Ok(Some(e));
            }
            let Some(batch) = self.reader.next() else {
                return Ok(None);
            };
            let seeded = self.last.is_some();
            let mut out: Vec<Event> = self.last.take().into_iter().collect();
            decode_batch(&batch?, &self.header.schema, None, &mut out)?;
            self.last = out.last().cloned();
            let mut events = out.into_iter();
            if seeded {
                events.next();
            }
            self.pending = events;
        }
    }
}

/// Decodes a file's events in file order with every before image filled in. With `only_pk`, only
/// that key's events are returned and only the row groups whose bloom filter and PK statistics
/// admit it are read.
pub fn read_file(
    bytes: &Bytes,
    only_pk: Option<&[u8]>,
) -> Result<(FileHeader, Vec<Event>), ArchiveError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
    let header = header_of(builder.metadata().file_metadata().key_value_metadata())?;
    let builder = match only_pk {
        Some(pk) => {
            let groups = row_groups_with(bytes, pk)?;
            if groups.is_empty() {
                return Ok((header, Vec::new()));
            }
            builder.with_row_groups(groups)
        }
        None => builder,
    };
    let mut out: Vec<Event> = Vec::new();
    for batch in builder.with_batch_size(8192).build()? {
        decode_batch(&batch?, &header.schema, only_pk, &mut out)?;
    }
    Ok((header, out))
}

/// Row groups whose PK min/max statistics and bloom filter may contain `pk`.
fn row_groups_with(bytes: &Bytes, pk: &[u8]) -> Result<Vec<usize>, ArchiveError> {
    let options = ReadOptionsBuilder::new()
        .with_reader_properties(
            ReaderProperties::builder()
                .set_read_bloom_filter(true)
                .build(),
        )
        .build();
    let reader = SerializedFileReader::new_with_options(bytes.clone(), options)?;
    let mut groups = Vec::new();
    for i in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(i)?;
        let in_range = match rg.metadata().column(PK_LEAF).statistics() {
            Some(stats) => {
                let lo = stats.min_bytes_opt();
                let hi = stats.max_bytes_opt();
                lo.is_none_or(|lo| lo <= pk) && hi.is_none_or(|hi| pk <= hi)
            }
            None => true,
        };
        let maybe = rg
            .get_column_bloom_filter(PK_LEAF)
            .is_none_or(|bf| bf.check(pk));
        if in_range && maybe {
            groups.push(i);
        }
    }
    Ok(groups)
}

fn decode_batch(
    batch: &RecordBatch,
    schema: &TableSchema,
    only_pk: Option<&[u8]>,
    out: &mut Vec<Event>,
) -> Result<(), ArchiveError> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| ArchiveError::Corrupt(format!("archive file lacks column {name}")))
    };
    let seq = col("seq")?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| ArchiveError::Corrupt("seq is not UInt64".into()))?;
    let time = col("event_time")?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| ArchiveError::Corrupt("event_time is not a µs timestamp".into()))?;
    let kinds = event_types(col("event_type")?.as_ref())?;
    let pk = col("pk")?
        .as_binary_opt::<i32>()
        .ok_or_else(|| ArchiveError::Corrupt("pk is not Binary".into()))?;
    let image = |name: &str| -> Result<(StructArray, RowReader), ArchiveError> {
        let s = col(name)?
            .as_struct_opt()
            .ok_or_else(|| ArchiveError::Corrupt(format!("{name} is not a struct")))?
            .clone();
        let fields = Arc::new(Schema::new(s.fields().clone()));
        let rows = RowReader::new(&RecordBatch::try_new(fields, s.columns().to_vec())?, schema)?;
        Ok((s, rows))
    };
    let (after_s, after_rows) = image("after")?;
    let (before_s, before_rows) = image("before")?;
    for (i, kind) in kinds.into_iter().enumerate() {
        let key = pk.value(i);
        if only_pk.is_some_and(|want| want != key) {
            continue;
        }
        let after = after_s.is_valid(i).then(|| after_rows.row(i));
        let before = if before_s.is_valid(i) {
            Some(before_rows.row(i))
        } else if matches!(kind, EventKind::Update | EventKind::Delete) {
            let prev = out
                .last()
                .filter(|p| p.pk == key)
                .and_then(|p| p.after.clone());
            Some(prev.ok_or_else(|| {
                ArchiveError::Corrupt(format!(
                    "seq {}: before image neither stored nor derivable",
                    seq.value(i)
                ))
            })?)
        } else {
            None
        };
        out.push(Event {
            seq: seq.value(i),
            time_us: time.value(i),
            kind,
            pk: key.to_vec(),
            before,
            after,
        });
    }
    Ok(())
}

fn event_types(a: &dyn Array) -> Result<Vec<EventKind>, ArchiveError> {
    let bad = |s: &str| ArchiveError::Corrupt(format!("unknown event_type {s:?}"));
    if let Some(dict) = a.as_dictionary_opt::<Int8Type>() {
        let names = dict
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| ArchiveError::Corrupt("event_type values are not Utf8".into()))?;
        let labels: Vec<EventKind> = (0..names.len())
            .map(|i| EventKind::parse(names.value(i)).ok_or_else(|| bad(names.value(i))))
            .collect::<Result<_, _>>()?;
        return dict
            .keys()
            .iter()
            .map(|k| {
                k.and_then(|k| labels.get(k as usize).copied())
                    .ok_or_else(|| bad("null"))
            })
            .collect();
    }
    let s = a
        .as_string_opt::<i32>()
        .ok_or_else(|| ArchiveError::Corrupt("event_type is not a string".into()))?;
    (0..s.len())
        .map(|i| EventKind::parse(s.value(i)).ok_or_else(|| bad(s.value(i))))
        .collect()
}

#[cfg(test)]
mod tests;
