//! The typed mapping between a table's schema version ([`TableSchema`]) and Arrow / Parquet, used
//! by baselines (and reusable by archives): one Arrow field per column, named after the column,
//! with the natural logical type, so DuckDB, pandas or the `parquet` crate read the files directly.
//!
//! | MySQL column (capture's [`Decode`]) | Arrow type | [`Value`] |
//! |---|---|---|
//! | TINYINT..BIGINT, YEAR | `Int64` | `Int` |
//! | TINYINT..BIGINT UNSIGNED | `UInt64` | `UInt` |
//! | FLOAT / DOUBLE | `Float32` / `Float64` | `Float` / `Double` |
//! | DECIMAL(p,s), p ≤ 38 | `Decimal128(p, s)` | `Decimal` (exact text with `s` digits) |
//! | DECIMAL(p,s), p > 38 | `Utf8` (exact text) | `Decimal` |
//! | CHAR, VARCHAR, TEXT, ENUM, SET (labels), UUID/INET | `Utf8` | `Text` |
//! | JSON (MySQL binary JSON) | `Utf8` | `Json` |
//! | BINARY, VARBINARY, BLOB, BIT, GEOMETRY | `Binary` | `Bytes` |
//! | DATE | `Date32` (days since 1970-01-01) | `Date` |
//! | DATETIME / TIMESTAMP | `Timestamp(µs)` / `Timestamp(µs, "UTC")` (wall time as if UTC) | `DateTime` |
//! | TIME | `Int64` µs, signed (TIME spans ±838 h, beyond Arrow's `Time64`) | `Time` |
//!
//! MySQL dates that are not calendar dates (the zero date `0000-00-00`, a zero month or day) have
//! no Arrow form; they are stored as day numbers `-1_000_000 - yyyymmdd`, far below any real date
//! (year 0 starts at day −719,528), and DATETIMEs as that day number × 86,400 s plus the time of
//! day, so every value round-trips exactly. Each field carries the MySQL type in its metadata
//! (`mysql.column_type`, e.g. `decimal(10,2)`).

use std::sync::Arc;

use agent_api::time::{civil_from_days, days_from_civil};
use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;
use arrow_array::builder::{
    BinaryBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int64Type, TimestampMicrosecondType,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::schema::{ColumnDef, Decode, TableSchema, BINARY_COLLATION};

/// Field metadata key holding the column's MySQL `COLUMN_TYPE`.
pub const MYSQL_TYPE_KEY: &str = "mysql.column_type";

/// µs per day.
const DAY_US: i64 = 86_400_000_000;
/// Day numbers at or below this encode a non-calendar MySQL date (see the module doc).
const ODD_DATE_BASE: i32 = -1_000_000;

/// Failures converting between rows and columns.
#[derive(Debug, thiserror::Error)]
pub enum ColumnarError {
    /// A value does not fit its column's Arrow type (wrong variant, out of range, bad text).
    #[error("column {column}: {reason}")]
    Value {
        /// Column name.
        column: String,
        /// What was wrong.
        reason: String,
    },
    /// A column of the schema is missing from a batch, or has another type.
    #[error("batch does not match the table schema: {0}")]
    Shape(String),
    /// Arrow refused the batch.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// How one column is held in Arrow; derived from the column's decode plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// `Int64`.
    Int,
    /// `UInt64`.
    UInt,
    /// `Float32`.
    Float,
    /// `Float64`.
    Double,
    /// `Decimal128(precision, scale)`.
    Decimal {
        /// Total digits (≤ 38).
        precision: u8,
        /// Fraction digits.
        scale: u8,
    },
    /// `Utf8` holding exact decimal text (precision > 38).
    DecimalText,
    /// `Utf8` → `Value::Text`.
    Text,
    /// `Utf8` → `Value::Json`.
    Json,
    /// `Binary` → `Value::Bytes`.
    Bytes,
    /// `Date32`.
    Date,
    /// `Timestamp(µs)`; `utc` for TIMESTAMP columns.
    DateTime {
        /// The column is a TIMESTAMP (values are UTC).
        utc: bool,
    },
    /// `Int64` µs, signed.
    Time,
}

impl ColumnKind {
    /// The kind for a column.
    pub fn of(col: &ColumnDef) -> Self {
        match col.decode {
            Decode::Int { unsigned: true, .. } => Self::UInt,
            Decode::Int { .. } | Decode::Year => Self::Int,
            Decode::Float => Self::Float,
            Decode::Double => Self::Double,
            Decode::Decimal { precision, scale } if precision <= 38 => {
                Self::Decimal { precision, scale }
            }
            Decode::Decimal { .. } => Self::DecimalText,
            Decode::Date => Self::Date,
            Decode::DateTimeOld | Decode::DateTime2 { .. } => Self::DateTime { utc: false },
            Decode::TimestampOld | Decode::Timestamp2 { .. } => Self::DateTime { utc: true },
            Decode::TimeOld | Decode::Time2 { .. } => Self::Time,
            Decode::String {
                pad_binary: true, ..
            }
            | Decode::Bit { .. } => Self::Bytes,
            Decode::String { collation, .. }
            | Decode::Blob {
                collation,
                json: false,
                ..
            } => {
                if collation == BINARY_COLLATION {
                    Self::Bytes
                } else {
                    Self::Text
                }
            }
            Decode::Blob { json: true, .. } => Self::Json,
            Decode::Enum { .. } | Decode::Set { .. } | Decode::Special { .. } => Self::Text,
        }
    }

    /// The Arrow type of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            Self::Int | Self::Time => DataType::Int64,
            Self::UInt => DataType::UInt64,
            Self::Float => DataType::Float32,
            Self::Double => DataType::Float64,
            Self::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
            Self::DecimalText | Self::Text | Self::Json => DataType::Utf8,
            Self::Bytes => DataType::Binary,
            Self::Date => DataType::Date32,
            Self::DateTime { utc: false } => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::DateTime { utc: true } => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
        }
    }
}

/// The Arrow field of one column: its name, type, nullable, and the MySQL type as metadata.
pub fn arrow_field(col: &ColumnDef) -> Field {
    Field::new(&col.info.name, ColumnKind::of(col).data_type(), true).with_metadata(
        [(MYSQL_TYPE_KEY.to_owned(), col.info.column_type.clone())]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    )
}

/// The Arrow fields of a schema version, in column order.
pub fn arrow_fields(table: &TableSchema) -> Vec<Field> {
    table.columns.iter().map(arrow_field).collect()
}

/// The Arrow schema of a schema version (one field per column, in column order).
pub fn arrow_schema(table: &TableSchema) -> SchemaRef {
    Arc::new(Schema::new(arrow_fields(table)))
}

enum ColumnBuilder {
    Int(Int64Builder),
    UInt(UInt64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    Decimal(Decimal128Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    DateTime(TimestampMicrosecondBuilder),
}

impl ColumnBuilder {
    fn new(kind: ColumnKind) -> Result<Self, ArrowError> {
        Ok(match kind {
            ColumnKind::Int | ColumnKind::Time => Self::Int(Int64Builder::new()),
            ColumnKind::UInt => Self::UInt(UInt64Builder::new()),
            ColumnKind::Float => Self::Float(Float32Builder::new()),
            ColumnKind::Double => Self::Double(Float64Builder::new()),
            ColumnKind::Decimal { precision, scale } => Self::Decimal(
                Decimal128Builder::new().with_precision_and_scale(precision, scale as i8)?,
            ),
            ColumnKind::DecimalText | ColumnKind::Text | ColumnKind::Json => {
                Self::Utf8(StringBuilder::new())
            }
            ColumnKind::Bytes => Self::Binary(BinaryBuilder::new()),
            ColumnKind::Date => Self::Date(Date32Builder::new()),
            ColumnKind::DateTime { utc } => {
                let b = TimestampMicrosecondBuilder::new();
                Self::DateTime(if utc { b.with_timezone("UTC") } else { b })
            }
        })
    }

    fn append_null(&mut self) {
        match self {
            Self::Int(b) => b.append_null(),
            Self::UInt(b) => b.append_null(),
            Self::Float(b) => b.append_null(),
            Self::Double(b) => b.append_null(),
            Self::Decimal(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::DateTime(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int(b) => Arc::new(b.finish()),
            Self::UInt(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Double(b) => Arc::new(b.finish()),
            Self::Decimal(b) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::DateTime(b) => Arc::new(b.finish()),
        }
    }
}

/// Appends rows of [`Value`]s (one per column, in column order) and yields Arrow columns.
pub struct RowBatchBuilder {
    names: Vec<String>,
    kinds: Vec<ColumnKind>,
    builders: Vec<ColumnBuilder>,
    fields: Vec<Field>,
    rows: usize,
}

impl RowBatchBuilder {
    /// A builder for rows of `table`.
    pub fn new(table: &TableSchema) -> Result<Self, ColumnarError> {
        let kinds: Vec<ColumnKind> = table.columns.iter().map(ColumnKind::of).collect();
        Ok(Self {
            names: table.columns.iter().map(|c| c.info.name.clone()).collect(),
            builders: kinds
                .iter()
                .map(|k| ColumnBuilder::new(*k))
                .collect::<Result<_, _>>()?,
            kinds,
            fields: arrow_fields(table),
            rows: 0,
        })
    }

    /// Rows appended since the last finish.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// No rows appended since the last finish.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The Arrow fields, in column order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Appends one row. On error nothing of the row is kept: the builders are left as they were
    /// only up to the failing column, so callers must abandon the batch (the baseline fails).
    pub fn append(&mut self, row: &[Value]) -> Result<(), ColumnarError> {
        if row.len() != self.kinds.len() {
            return Err(ColumnarError::Shape(format!(
                "row has {} values, the table {} columns",
                row.len(),
                self.kinds.len()
            )));
        }
        for (i, v) in row.iter().enumerate() {
            self.append_value(i, v)
                .map_err(|reason| ColumnarError::Value {
                    column: self.names[i].clone(),
                    reason,
                })?;
        }
        self.rows += 1;
        Ok(())
    }

    fn append_value(&mut self, i: usize, v: &Value) -> Result<(), String> {
        if v.is_null() {
            self.builders[i].append_null();
            return Ok(());
        }
        let kind = self.kinds[i];
        let mismatch = || format!("{kind:?} column cannot hold {v:?}");
        match (&mut self.builders[i], kind, v) {
            (ColumnBuilder::Int(b), ColumnKind::Time, Value::Time(t)) => b.append_value(time_us(t)),
            (ColumnBuilder::Int(b), ColumnKind::Int, Value::Int(x)) => b.append_value(*x),
            (ColumnBuilder::Int(b), ColumnKind::Int, Value::UInt(x)) => {
                b.append_value(i64::try_from(*x).map_err(|_| mismatch())?)
            }
            (ColumnBuilder::UInt(b), _, Value::UInt(x)) => b.append_value(*x),
            (ColumnBuilder::UInt(b), _, Value::Int(x)) => {
                b.append_value(u64::try_from(*x).map_err(|_| mismatch())?)
            }
            (ColumnBuilder::Float(b), _, Value::Float(x)) => b.append_value(*x),
            (ColumnBuilder::Double(b), _, Value::Double(x)) => b.append_value(*x),
            (ColumnBuilder::Decimal(b), ColumnKind::Decimal { scale, .. }, Value::Decimal(s)) => {
                b.append_value(parse_decimal(s, scale).ok_or_else(mismatch)?)
            }
            (ColumnBuilder::Utf8(b), ColumnKind::DecimalText, Value::Decimal(s))
            | (ColumnBuilder::Utf8(b), ColumnKind::Text, Value::Text(s))
            | (ColumnBuilder::Utf8(b), ColumnKind::Json, Value::Json(s) | Value::Text(s)) => {
                b.append_value(s)
            }
            (ColumnBuilder::Binary(b), _, Value::Bytes(x)) => b.append_value(x),
            (ColumnBuilder::Date(b), _, Value::Date(d)) => b.append_value(date_days(d)),
            (ColumnBuilder::DateTime(b), _, Value::DateTime(dt)) => b.append_value(datetime_us(dt)),
            _ => return Err(mismatch()),
        }
        Ok(())
    }

    /// The appended rows as Arrow arrays (one per column) and a fresh start.
    pub fn finish_columns(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        self.builders
            .iter_mut()
            .map(ColumnBuilder::finish)
            .collect()
    }

    /// The appended rows as a [`RecordBatch`] of [`arrow_schema()`]'s shape, and a fresh start.
    pub fn finish(&mut self) -> Result<RecordBatch, ColumnarError> {
        let schema = Arc::new(Schema::new(self.fields.clone()));
        Ok(RecordBatch::try_new(schema, self.finish_columns())?)
    }
}

/// Reads rows back out of a batch written by [`RowBatchBuilder`] (columns found by name, so
/// extra columns in the batch are ignored).
pub struct RowReader {
    kinds: Vec<ColumnKind>,
    columns: Vec<ArrayRef>,
}

impl RowReader {
    /// Prepares to read `batch` as rows of `table`. Errors when a column is missing or typed
    /// differently from what [`arrow_field`] gives.
    pub fn new(batch: &RecordBatch, table: &TableSchema) -> Result<Self, ColumnarError> {
        let mut kinds = Vec::with_capacity(table.columns.len());
        let mut columns = Vec::with_capacity(table.columns.len());
        for col in &table.columns {
            let kind = ColumnKind::of(col);
            let array = batch
                .column_by_name(&col.info.name)
                .ok_or_else(|| ColumnarError::Shape(format!("no column {}", col.info.name)))?;
            if array.data_type() != &kind.data_type() {
                return Err(ColumnarError::Shape(format!(
                    "column {} is {}, expected {}",
                    col.info.name,
                    array.data_type(),
                    kind.data_type()
                )));
            }
            kinds.push(kind);
            columns.push(array.clone());
        }
        Ok(Self { kinds, columns })
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, |c| c.len())
    }

    /// The batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as values in column order.
    pub fn row(&self, i: usize) -> Vec<Value> {
        self.kinds
            .iter()
            .zip(&self.columns)
            .map(|(kind, a)| read_value(*kind, a.as_ref(), i))
            .collect()
    }
}

fn read_value(kind: ColumnKind, a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match kind {
        ColumnKind::Int => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        ColumnKind::Time => Value::Time(time_from_us(a.as_primitive::<Int64Type>().value(i))),
        ColumnKind::UInt => Value::UInt(a.as_primitive::<UInt64Type>().value(i)),
        ColumnKind::Float => Value::Float(a.as_primitive::<Float32Type>().value(i)),
        ColumnKind::Double => Value::Double(a.as_primitive::<Float64Type>().value(i)),
        ColumnKind::Decimal { scale, .. } => Value::Decimal(format_decimal(
            a.as_primitive::<Decimal128Type>().value(i),
            scale,
        )),
        ColumnKind::DecimalText => Value::Decimal(a.as_string::<i32>().value(i).to_owned()),
        ColumnKind::Text => Value::Text(a.as_string::<i32>().value(i).to_owned()),
        ColumnKind::Json => Value::Json(a.as_string::<i32>().value(i).to_owned()),
        ColumnKind::Bytes => Value::Bytes(a.as_binary::<i32>().value(i).to_vec()),
        ColumnKind::Date => Value::Date(date_from_days(a.as_primitive::<Date32Type>().value(i))),
        ColumnKind::DateTime { .. } => Value::DateTime(datetime_from_us(
            a.as_primitive::<TimestampMicrosecondType>().value(i),
        )),
    }
}

/// Decimal text (`-12.5`, `+3`, `.25`) as an integer of `scale` fraction digits; `None` when
/// malformed, when fraction digits beyond `scale` are not zeros, or on overflow.
pub fn parse_decimal(text: &str, scale: u8) -> Option<i128> {
    let t = text.trim();
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let scale = usize::from(scale);
    if frac.len() > scale && frac[scale..].bytes().any(|b| b != b'0') {
        return None;
    }
    let mut n: i128 = 0;
    let frac_digits = frac.bytes().chain(std::iter::repeat(b'0')).take(scale);
    for b in int.bytes().chain(frac_digits) {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

/// The canonical text of a scaled decimal integer: no leading zeros, exactly `scale` fraction
/// digits, no sign on zero (the form capture's DECIMAL decoder gives).
pub fn format_decimal(n: i128, scale: u8) -> String {
    let digits = n.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if n < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

fn is_calendar_date(d: &Date) -> bool {
    let leap =
        d.year.is_multiple_of(4) && (!d.year.is_multiple_of(100) || d.year.is_multiple_of(400));
    let days_in_month = match d.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    d.year <= 9999 && (1..=days_in_month).contains(&d.day)
}

/// The `Date32` day number of a MySQL date (non-calendar dates per the module doc).
pub fn date_days(d: &Date) -> i32 {
    if is_calendar_date(d) {
        days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day)) as i32
    } else {
        ODD_DATE_BASE - (i32::from(d.year) * 10_000 + i32::from(d.month) * 100 + i32::from(d.day))
    }
}

/// The MySQL date of a `Date32` day number written by [`date_days`].
pub fn date_from_days(days: i32) -> Date {
    if days <= ODD_DATE_BASE {
        let code = ODD_DATE_BASE - days;
        return Date {
            year: (code / 10_000) as u16,
            month: (code / 100 % 100) as u8,
            day: (code % 100) as u8,
        };
    }
    let (y, m, d) = civil_from_days(i64::from(days));
    Date {
        year: y as u16,
        month: m as u8,
        day: d as u8,
    }
}

/// µs of a DATETIME on the `Timestamp(µs)` axis (non-calendar dates per the module doc).
pub fn datetime_us(dt: &DateTime) -> i64 {
    let tod = ((i64::from(dt.hour) * 60 + i64::from(dt.minute)) * 60 + i64::from(dt.second))
        * 1_000_000
        + i64::from(dt.micros);
    i64::from(date_days(&dt.date)) * DAY_US + tod
}

/// The DATETIME of a `Timestamp(µs)` value written by [`datetime_us`].
pub fn datetime_from_us(us: i64) -> DateTime {
    let days = us.div_euclid(DAY_US);
    let tod = us.rem_euclid(DAY_US);
    let secs = tod / 1_000_000;
    DateTime {
        date: date_from_days(days as i32),
        hour: (secs / 3600) as u8,
        minute: (secs / 60 % 60) as u8,
        second: (secs % 60) as u8,
        micros: (tod % 1_000_000) as u32,
    }
}

/// Signed µs of a TIME value.
pub fn time_us(t: &Time) -> i64 {
    let us = ((i64::from(t.hours) * 60 + i64::from(t.minutes)) * 60 + i64::from(t.seconds))
        * 1_000_000
        + i64::from(t.micros);
    if t.negative {
        -us
    } else {
        us
    }
}

/// The TIME value of signed µs.
pub fn time_from_us(us: i64) -> Time {
    let abs = us.unsigned_abs();
    let secs = abs / 1_000_000;
    Time {
        negative: us < 0,
        hours: (secs / 3600) as u32,
        minutes: (secs / 60 % 60) as u8,
        seconds: (secs % 60) as u8,
        micros: (abs % 1_000_000) as u32,
    }
}

#[cfg(test)]
mod tests;
