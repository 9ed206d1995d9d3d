//! Binary-protocol result rows (`ProtocolBinary::ResultsetRow`, the answer to COM_STMT_EXECUTE).
//!
//! A row is `0x00`, a NULL bitmap of `(columns + 7 + 2) / 8` bytes whose bit `i + 2` marks column
//! `i` NULL, then the non-NULL values in the form the column *type* dictates (MySQL Client/Server
//! Protocol, "Binary Protocol Value"): TINY 1 byte, SHORT/YEAR 2, LONG/INT24 4, LONGLONG 8 (all
//! little-endian, two's complement or unsigned per the UNSIGNED flag), FLOAT 4 and DOUBLE 8 bytes
//! IEEE 754, DATE/DATETIME/TIMESTAMP and TIME as a length byte plus fields, everything else
//! (DECIMAL, strings, BLOB, JSON, BIT, ENUM, SET) as a length-encoded string.

use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;
use mysql_common::constants::ColumnType;
use mysql_common::io::BufMutExt;
use mysql_common::packets::Column;

use super::number;
use super::text::put_lenenc_with;

/// Offset of column 0 in a result-row NULL bitmap.
const NULL_BITMAP_OFFSET: usize = 2;

/// Appends one binary row: `values[i]` encoded for `columns[i]`'s type.
pub fn write_row<'a>(buf: &mut Vec<u8>, values: &[(&'a Value, &'a Column)]) {
    buf.push(0x00);
    let bitmap_at = buf.len();
    buf.resize(bitmap_at + (values.len() + 7 + NULL_BITMAP_OFFSET) / 8, 0);
    for (i, (value, column)) in values.iter().enumerate() {
        if value.is_null() {
            let bit = i + NULL_BITMAP_OFFSET;
            buf[bitmap_at + bit / 8] |= 1 << (bit % 8);
        } else {
            write_value(buf, value, column);
        }
    }
}

/// Appends one non-NULL value in the binary form of `column`'s type.
pub fn write_value(buf: &mut Vec<u8>, value: &Value, column: &Column) {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_TINY => buf.push(int_bits(value) as u8),
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
            buf.extend_from_slice(&(int_bits(value) as u16).to_le_bytes())
        }
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
            buf.extend_from_slice(&(int_bits(value) as u32).to_le_bytes())
        }
        MYSQL_TYPE_LONGLONG => buf.extend_from_slice(&int_bits(value).to_le_bytes()),
        MYSQL_TYPE_FLOAT => buf.extend_from_slice(&float(value).to_le_bytes()),
        MYSQL_TYPE_DOUBLE => buf.extend_from_slice(&double(value).to_le_bytes()),
        MYSQL_TYPE_DATE
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2
        | MYSQL_TYPE_NEWDATE => match value {
            Value::DateTime(dt) => write_datetime(buf, dt),
            Value::Date(d) => write_datetime(buf, &midnight(*d)),
            other => put_text(buf, other, column.decimals()),
        },
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => match value {
            Value::Time(t) => write_time(buf, t),
            other => put_text(buf, other, column.decimals()),
        },
        _ => match value {
            Value::Bytes(b) => buf.put_lenenc_str(b),
            other => put_text(buf, other, column.decimals()),
        },
    }
}

/// The 64 bits of an integer value (callers truncate to the column width); text parses, other
/// kinds give 0.
fn int_bits(value: &Value) -> u64 {
    match value {
        Value::Int(n) => *n as u64,
        Value::UInt(n) => *n,
        Value::Float(f) => *f as i64 as u64,
        Value::Double(f) => *f as i64 as u64,
        Value::Text(s) | Value::Decimal(s) => s
            .trim()
            .parse::<i64>()
            .map(|n| n as u64)
            .or_else(|_| s.trim().parse::<u64>())
            .unwrap_or(0),
        _ => 0,
    }
}

fn float(value: &Value) -> f32 {
    match value {
        Value::Float(f) => *f,
        other => double(other) as f32,
    }
}

fn double(value: &Value) -> f64 {
    match value {
        Value::Double(f) => *f,
        Value::Float(f) => f64::from(*f),
        Value::Int(n) => *n as f64,
        Value::UInt(n) => *n as f64,
        Value::Text(s) | Value::Decimal(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Appends the text form of a value sent as a length-encoded string; `decimals` is the column's
/// fractional-second digits for temporal values.
fn put_text(buf: &mut Vec<u8>, value: &Value, decimals: u8) {
    match value {
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => buf.put_lenenc_str(s.as_bytes()),
        Value::Bytes(b) => buf.put_lenenc_str(String::from_utf8_lossy(b).as_bytes()),
        other => put_lenenc_with(buf, |out| match other {
            Value::Int(n) => number::put_int(out, *n),
            Value::UInt(n) => number::put_uint(out, *n),
            Value::Float(f) => number::put_float(out, *f),
            Value::Double(f) => number::put_double(out, *f),
            Value::Date(d) => d.write_text(out),
            Value::Time(t) => t.write_text(decimals.min(6), out),
            Value::DateTime(dt) => dt.write_text(decimals.min(6), out),
            Value::Null | Value::Decimal(_) | Value::Text(_) | Value::Json(_) | Value::Bytes(_) => {
            }
        }),
    }
}

fn midnight(date: Date) -> DateTime {
    DateTime {
        date,
        ..DateTime::default()
    }
}

/// Length 0 (zero date), 4 (date), 7 (+ time) or 11 (+ µs).
fn write_datetime(buf: &mut Vec<u8>, dt: &DateTime) {
    let has_time = dt.hour != 0 || dt.minute != 0 || dt.second != 0 || dt.micros != 0;
    let zero = dt.date == Date::default() && !has_time;
    let len: u8 = match (zero, has_time, dt.micros != 0) {
        (true, _, _) => 0,
        (false, false, _) => 4,
        (false, true, false) => 7,
        (false, true, true) => 11,
    };
    buf.push(len);
    if len >= 4 {
        buf.extend_from_slice(&dt.date.year.to_le_bytes());
        buf.extend_from_slice(&[dt.date.month, dt.date.day]);
    }
    if len >= 7 {
        buf.extend_from_slice(&[dt.hour, dt.minute, dt.second]);
    }
    if len == 11 {
        buf.extend_from_slice(&dt.micros.to_le_bytes());
    }
}

/// Length 0 (zero), 8 (sign, days, h, m, s) or 12 (+ µs); hours above 23 carry into days.
fn write_time(buf: &mut Vec<u8>, t: &Time) {
    let zero = t.hours == 0 && t.minutes == 0 && t.seconds == 0 && t.micros == 0;
    if zero {
        return buf.push(0);
    }
    buf.push(if t.micros == 0 { 8 } else { 12 });
    buf.push(u8::from(t.negative));
    buf.extend_from_slice(&(t.hours / 24).to_le_bytes());
    buf.extend_from_slice(&[(t.hours % 24) as u8, t.minutes, t.seconds]);
    if t.micros != 0 {
        buf.extend_from_slice(&t.micros.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
