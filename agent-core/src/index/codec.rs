//! Compact binary encoding of row images stored in the index (typed, no column names).
//!
//! A row is a sequence of values, each a tag byte and a payload: integers as LEB128 varints
//! (signed ones zigzag-encoded), floats as IEEE bytes, strings as varint length + bytes, temporal
//! values as packed fields. Column names and types live in the table's schema version.

use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;

const NULL: u8 = 0;
const INT: u8 = 1;
const UINT: u8 = 2;
const FLOAT: u8 = 3;
const DOUBLE: u8 = 4;
const DECIMAL: u8 = 5;
const TEXT: u8 = 6;
const BYTES: u8 = 7;
const DATE: u8 = 8;
const TIME: u8 = 9;
const DATETIME: u8 = 10;
const JSON: u8 = 11;

/// Stored bytes that do not decode (index corruption or a format change).
#[derive(Debug, thiserror::Error)]
#[error("corrupt row encoding at byte {0}")]
pub struct CorruptRow(pub usize);

/// Appends the encoding of `row` to `out`.
pub fn encode_row(out: &mut Vec<u8>, row: &[Value]) {
    put_varint(out, row.len() as u64);
    for v in row {
        encode_value(out, v);
    }
}

fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Int(i) => {
            out.push(INT);
            put_varint(out, ((*i << 1) ^ (*i >> 63)) as u64);
        }
        Value::UInt(u) => {
            out.push(UINT);
            put_varint(out, *u);
        }
        Value::Float(f) => {
            out.push(FLOAT);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Double(f) => {
            out.push(DOUBLE);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Decimal(s) => put_bytes(out, DECIMAL, s.as_bytes()),
        Value::Text(s) => put_bytes(out, TEXT, s.as_bytes()),
        Value::Bytes(b) => put_bytes(out, BYTES, b),
        Value::Json(s) => put_bytes(out, JSON, s.as_bytes()),
        Value::Date(d) => {
            out.push(DATE);
            put_date(out, d);
        }
        Value::Time(t) => {
            out.push(TIME);
            out.push(u8::from(t.negative));
            put_varint(out, u64::from(t.hours));
            out.extend_from_slice(&[t.minutes, t.seconds]);
            put_varint(out, u64::from(t.micros));
        }
        Value::DateTime(dt) => {
            out.push(DATETIME);
            put_date(out, &dt.date);
            out.extend_from_slice(&[dt.hour, dt.minute, dt.second]);
            put_varint(out, u64::from(dt.micros));
        }
    }
}

/// Appends the before image of an UPDATE as a delta against its after image: a varint count, then
/// `(column index varint, value)` for each column whose value differs. Typical OLTP updates touch a
/// few columns, so this costs bytes instead of a second full row.
pub fn encode_delta(out: &mut Vec<u8>, before: &[Value], after: &[Value]) {
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| after.get(i) != before.get(i))
        .collect();
    put_varint(out, changed.len() as u64);
    for i in changed {
        put_varint(out, i as u64);
        encode_value(out, &before[i]);
    }
}

/// Rebuilds a before image from its after image and a delta written by [`encode_delta`].
pub fn decode_delta(bytes: &[u8], after: &[Value]) -> Result<(Vec<Value>, usize), CorruptRow> {
    let mut r = Reader { bytes, pos: 0 };
    let mut before = after.to_vec();
    let n = r.varint()? as usize;
    for _ in 0..n {
        let i = r.varint()? as usize;
        let v = r.value()?;
        *before.get_mut(i).ok_or(CorruptRow(r.pos))? = v;
    }
    Ok((before, r.pos))
}

/// Decodes a row written by [`encode_row`]; returns the row and the bytes consumed.
pub fn decode_row(bytes: &[u8]) -> Result<(Vec<Value>, usize), CorruptRow> {
    let mut r = Reader { bytes, pos: 0 };
    let n = r.varint()? as usize;
    let mut row = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        row.push(r.value()?);
    }
    Ok((row, r.pos))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self) -> CorruptRow {
        CorruptRow(self.pos)
    }

    fn byte(&mut self) -> Result<u8, CorruptRow> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| self.err())?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CorruptRow> {
        let s = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or(CorruptRow(self.pos))?;
        self.pos += n;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, CorruptRow> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err())
    }

    fn string(&mut self) -> Result<String, CorruptRow> {
        let n = self.varint()? as usize;
        let pos = self.pos;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| CorruptRow(pos))
    }

    fn date(&mut self) -> Result<Date, CorruptRow> {
        let year = self.varint()? as u16;
        Ok(Date {
            year,
            month: self.byte()?,
            day: self.byte()?,
        })
    }

    fn value(&mut self) -> Result<Value, CorruptRow> {
        Ok(match self.byte()? {
            NULL => Value::Null,
            INT => {
                let z = self.varint()?;
                Value::Int((z >> 1) as i64 ^ -((z & 1) as i64))
            }
            UINT => Value::UInt(self.varint()?),
            FLOAT => Value::Float(f32::from_le_bytes(
                self.take(4)?.try_into().map_err(|_| self.err())?,
            )),
            DOUBLE => Value::Double(f64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| self.err())?,
            )),
            DECIMAL => Value::Decimal(self.string()?),
            TEXT => Value::Text(self.string()?),
            BYTES => {
                let n = self.varint()? as usize;
                Value::Bytes(self.take(n)?.to_vec())
            }
            JSON => Value::Json(self.string()?),
            DATE => Value::Date(self.date()?),
            TIME => Value::Time(Time {
                negative: self.byte()? != 0,
                hours: self.varint()? as u32,
                minutes: self.byte()?,
                seconds: self.byte()?,
                micros: self.varint()? as u32,
            }),
            DATETIME => Value::DateTime(DateTime {
                date: self.date()?,
                hour: self.byte()?,
                minute: self.byte()?,
                second: self.byte()?,
                micros: self.varint()? as u32,
            }),
            _ => return Err(CorruptRow(self.pos - 1)),
        })
    }
}

/// Appends `v` as an LEB128 varint (7 bits a byte, low bits first).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_date(out: &mut Vec<u8>, d: &Date) {
    put_varint(out, u64::from(d.year));
    out.extend_from_slice(&[d.month, d.day]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let row = vec![
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::UInt(u64::MAX),
            Value::Float(-0.5),
            Value::Double(1e300),
            Value::Decimal("-12.50".into()),
            Value::Text(String::new()),
            Value::Text("héllo".into()),
            Value::Bytes(vec![0, 1, 255]),
            Value::Json("{}".into()),
            Value::Date("2026-04-27".parse().unwrap()),
            Value::Time("-838:59:59.999999".parse().unwrap()),
            Value::DateTime("2026-04-27 09:11:59.000001".parse().unwrap()),
        ];
        let mut buf = Vec::new();
        encode_row(&mut buf, &row);
        let (back, used) = decode_row(&buf).unwrap();
        assert_eq!(back, row);
        assert_eq!(used, buf.len());
        assert!(decode_row(&buf[..buf.len() - 1]).is_err());
    }

    #[test]
    fn update_deltas_rebuild_the_before_image() {
        let before = vec![
            Value::Int(1),
            Value::Text("a".into()),
            Value::Null,
            Value::UInt(7),
        ];
        let after = vec![
            Value::Int(1),
            Value::Text("b".into()),
            Value::Decimal("1.00".into()),
            Value::UInt(7),
        ];
        let mut buf = Vec::new();
        encode_delta(&mut buf, &before, &after);
        assert!(buf.len() < 10, "{buf:?}");
        let (back, used) = decode_delta(&buf, &after).unwrap();
        assert_eq!((back, used), (before, buf.len()));
        let mut same = Vec::new();
        encode_delta(&mut same, &after, &after);
        assert_eq!(same, vec![0]);
    }
}
