//! Binary row encoding for answers that carry rows (`/v1/flashback`, `/v1/snapshot`).
//!
//! A client that sends `Accept: application/x-dbtrail-rows` ([`ROWS_MEDIA_TYPE`]) may get its answer
//! in this form instead of JSON; the agent says which with the answer's `Content-Type`. A client that
//! does not ask, or an agent that does not know the form, keeps the JSON of [`crate::flashback`] and
//! [`crate::snapshot`], so old and new peers interoperate.
//!
//! Body layout: the answer's JSON document without its rows (`"rows": []` for flashback; the
//! [`crate::snapshot::SnapshotHeader`] for snapshot), one `\n` (JSON text never holds a raw newline),
//! then records:
//! - `R` + a row: varint column count, then one value per column;
//! - `E` + varint length + the JSON [`crate::snapshot::SnapshotEnd`] trailer (snapshot only; a
//!   snapshot body without it was cut).
//!
//! Values start with a tag byte: 0 NULL; 1 Int (zigzag varint); 2 UInt (varint); 3 Float (4 bytes
//! LE IEEE 754); 4 Double (8 bytes LE); 5 Decimal, 6 Text, 7 Bytes, 11 Json (varint length +
//! bytes, text as UTF-8); 8 Date (year u16 LE, month, day); 9 Time (sign byte 0/1, hours u32 LE,
//! minutes, seconds, µs u32 LE); 10 DateTime (Date, hour, minute, second, µs u32 LE). Varints are
//! LEB128 (7 bits a byte, low group first, at most 10 bytes).
//!
//! Compared with the JSON form this skips base64 for binary strings, text dates and per-value
//! object keys: a 15-column OLTP row is about half the bytes and decodes without a parser.

use crate::value::{Date, DateTime, Time, Value};

/// The media type of the binary form, sent in `Accept` and answered in `Content-Type`.
pub const ROWS_MEDIA_TYPE: &str = "application/x-dbtrail-rows";

/// Record tag of a row.
pub const ROW_RECORD: u8 = b'R';
/// Record tag of the snapshot trailer.
pub const END_RECORD: u8 = b'E';

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ends inside a record: read more bytes, then try again from the record's start.
    #[error("record continues past the bytes received")]
    Incomplete,
    /// The bytes are not a record of this encoding.
    #[error("malformed row record: {0}")]
    Malformed(&'static str),
}

/// Appends a row record (`R`, column count, values).
pub fn put_row(out: &mut Vec<u8>, row: &[Value]) {
    out.push(ROW_RECORD);
    put_varint(out, row.len() as u64);
    for value in row {
        put_value(out, value);
    }
}

/// Appends an end record (`E`, length, `json`).
pub fn put_end(out: &mut Vec<u8>, json: &[u8]) {
    out.push(END_RECORD);
    put_varint(out, json.len() as u64);
    out.extend_from_slice(json);
}

/// One record read from the front of a buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// A row.
    Row(Vec<Value>),
    /// A trailer's JSON text.
    End(&'a [u8]),
}

/// Reads the record at the start of `input` and advances it past the record. On
/// [`WireError::Incomplete`] `input` is left unchanged.
pub fn take_record<'a>(input: &mut &'a [u8]) -> Result<Record<'a>, WireError> {
    let mut cursor = Cursor(input);
    let record = match cursor.byte()? {
        ROW_RECORD => {
            let n = cursor.len()?;
            // Every value takes at least one byte: a count beyond the bytes left is either
            // incomplete or garbage; never reserve more than the input could hold.
            let mut row = Vec::with_capacity(n.min(cursor.0.len()));
            for _ in 0..n {
                row.push(cursor.value()?);
            }
            Record::Row(row)
        }
        END_RECORD => {
            let n = cursor.len()?;
            Record::End(cursor.bytes(n)?)
        }
        _ => return Err(WireError::Malformed("unknown record tag")),
    };
    *input = cursor.0;
    Ok(record)
}

/// Appends one value (tag + payload).
pub fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0),
        Value::Int(n) => {
            out.push(1);
            put_varint(out, ((n << 1) ^ (n >> 63)) as u64);
        }
        Value::UInt(n) => {
            out.push(2);
            put_varint(out, *n);
        }
        Value::Float(f) => {
            out.push(3);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Double(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Decimal(s) => put_bytes(out, 5, s.as_bytes()),
        Value::Text(s) => put_bytes(out, 6, s.as_bytes()),
        Value::Bytes(b) => put_bytes(out, 7, b),
        Value::Json(s) => put_bytes(out, 11, s.as_bytes()),
        Value::Date(d) => {
            out.push(8);
            put_date(out, d);
        }
        Value::Time(t) => {
            out.push(9);
            out.push(u8::from(t.negative));
            out.extend_from_slice(&t.hours.to_le_bytes());
            out.extend_from_slice(&[t.minutes, t.seconds]);
            out.extend_from_slice(&t.micros.to_le_bytes());
        }
        Value::DateTime(dt) => {
            out.push(10);
            put_date(out, &dt.date);
            out.extend_from_slice(&[dt.hour, dt.minute, dt.second]);
            out.extend_from_slice(&dt.micros.to_le_bytes());
        }
    }
}

fn put_date(out: &mut Vec<u8>, d: &Date) {
    out.extend_from_slice(&d.year.to_le_bytes());
    out.extend_from_slice(&[d.month, d.day]);
}

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends `n` as LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A read position; every read fails with `Incomplete` at the end of the bytes.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, WireError> {
        let (&b, rest) = self.0.split_first().ok_or(WireError::Incomplete)?;
        self.0 = rest;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Incomplete);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(WireError::Malformed("varint longer than 10 bytes"))
    }

    fn len(&mut self) -> Result<usize, WireError> {
        usize::try_from(self.varint()?).map_err(|_| WireError::Malformed("length beyond usize"))
    }

    fn text(&mut self) -> Result<String, WireError> {
        let n = self.len()?;
        let bytes = self.bytes(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| WireError::Malformed("text value is not UTF-8"))
    }

    fn date(&mut self) -> Result<Date, WireError> {
        let [y0, y1, month, day] = self.array::<4>()?;
        Ok(Date {
            year: u16::from_le_bytes([y0, y1]),
            month,
            day,
        })
    }

    fn value(&mut self) -> Result<Value, WireError> {
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => {
                let z = self.varint()?;
                Value::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => Value::UInt(self.varint()?),
            3 => Value::Float(f32::from_le_bytes(self.array()?)),
            4 => Value::Double(f64::from_le_bytes(self.array()?)),
            5 => Value::Decimal(self.text()?),
            6 => Value::Text(self.text()?),
            7 => {
                let n = self.len()?;
                Value::Bytes(self.bytes(n)?.to_vec())
            }
            8 => Value::Date(self.date()?),
            9 => {
                let negative = match self.byte()? {
                    0 => false,
                    1 => true,
                    _ => return Err(WireError::Malformed("TIME sign byte")),
                };
                let hours = u32::from_le_bytes(self.array()?);
                let [minutes, seconds] = self.array::<2>()?;
                let micros = u32::from_le_bytes(self.array()?);
                Value::Time(Time {
                    negative,
                    hours,
                    minutes,
                    seconds,
                    micros,
                })
            }
            10 => {
                let date = self.date()?;
                let [hour, minute, second] = self.array::<3>()?;
                let micros = u32::from_le_bytes(self.array()?);
                Value::DateTime(DateTime {
                    date,
                    hour,
                    minute,
                    second,
                    micros,
                })
            }
            11 => Value::Json(self.text()?),
            _ => return Err(WireError::Malformed("unknown value tag")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant, with the edge values of each.
    fn every_value() -> Vec<Value> {
        let date = Date {
            year: 2026,
            month: 4,
            day: 27,
        };
        vec![
            Value::Null,
            Value::Int(0),
            Value::Int(-1),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::UInt(u64::MAX),
            Value::UInt(127),
            Value::UInt(128),
            Value::Float(-0.0),
            Value::Float(f32::MAX),
            Value::Double(2.25e300),
            Value::Decimal("-12.50".into()),
            Value::Text(String::new()),
            Value::Text("héllo\n\0".into()),
            Value::Bytes(vec![0, 0xFF, b'\n', b'R', b'E']),
            Value::Bytes(Vec::new()),
            Value::Date(Date::default()),
            Value::Date(date),
            Value::Time(Time {
                negative: true,
                hours: 838,
                minutes: 59,
                seconds: 59,
                micros: 999_999,
            }),
            Value::DateTime(DateTime {
                date,
                hour: 23,
                minute: 59,
                second: 58,
                micros: 1,
            }),
            Value::Json(r#"{"a": [1, "x"]}"#.into()),
        ]
    }

    #[test]
    fn every_value_round_trips_and_a_cut_anywhere_is_incomplete() {
        let row = every_value();
        let mut buf = Vec::new();
        put_row(&mut buf, &row);
        put_row(&mut buf, &[]);
        put_end(&mut buf, br#"{"end":{"rows":2}}"#);
        let mut input = buf.as_slice();
        assert_eq!(take_record(&mut input), Ok(Record::Row(row.clone())));
        assert_eq!(take_record(&mut input), Ok(Record::Row(Vec::new())));
        assert_eq!(
            take_record(&mut input),
            Ok(Record::End(&br#"{"end":{"rows":2}}"#[..]))
        );
        assert!(input.is_empty());
        // Every prefix of the first record is incomplete and leaves the input where it was.
        let mut one = Vec::new();
        put_row(&mut one, &row);
        for cut in 0..one.len() {
            let mut part = &one[..cut];
            assert_eq!(
                take_record(&mut part),
                Err(WireError::Incomplete),
                "cut {cut}"
            );
            assert_eq!(part.len(), cut);
        }
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bad in [
            &b"X"[..],
            &b"R\x01\x63"[..],
            &b"R\x01\x06\x02\xFF\xFE"[..],
            &b"R\x01\x09\x07"[..],
            &b"R\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01"[..],
        ] {
            let mut input = bad;
            assert!(
                matches!(take_record(&mut input), Err(WireError::Malformed(_))),
                "{bad:?}"
            );
        }
        // A huge column count with few bytes behind it does not allocate for the count.
        let mut input = &b"R\xFF\xFF\xFF\xFF\x0F\x00"[..];
        assert_eq!(take_record(&mut input), Err(WireError::Incomplete));
    }

    #[test]
    fn a_typical_row_is_smaller_than_its_json() {
        let row = every_value();
        let mut buf = Vec::new();
        put_row(&mut buf, &row);
        let json = serde_json::to_vec(&row).expect("json");
        assert!(
            buf.len() * 2 < json.len(),
            "{} vs {}",
            buf.len(),
            json.len()
        );
    }
}
