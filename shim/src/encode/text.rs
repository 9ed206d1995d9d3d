//! Text-protocol row values (`ProtocolText::ResultsetRow`): each value a length-encoded string,
//! NULL as the single byte `0xFB`. The empty string is a zero length, distinct from NULL.

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;
use mysql_common::io::BufMutExt;

use super::number;

/// The NULL marker of a text row.
pub const NULL: u8 = 0xFB;

/// Appends one text row: `values[i]` encoded for `columns[i]`.
pub fn write_row<'a>(
    buf: &mut Vec<u8>,
    values: impl IntoIterator<Item = (&'a Value, &'a ColumnInfo)>,
) {
    for (value, column) in values {
        write_value(buf, value, column);
    }
}

/// Appends one value as MySQL would print it for `column`.
pub fn write_value(buf: &mut Vec<u8>, value: &Value, column: &ColumnInfo) {
    match value {
        Value::Null => buf.push(NULL),
        Value::Text(s) | Value::Decimal(s) | Value::Json(s) => buf.put_lenenc_str(s.as_bytes()),
        Value::Bytes(b) => buf.put_lenenc_str(b),
        other => put_lenenc_with(buf, |out| write_plain(out, other, column)),
    }
}

/// Appends `value`'s text (see [`render`]) without a length prefix.
pub fn write_plain(out: &mut Vec<u8>, value: &Value, column: &ColumnInfo) {
    match value {
        Value::Null => {}
        Value::Int(n) if column.data_type == DataType::Year => number::put_year(out, *n),
        Value::Int(n) => number::put_int(out, *n),
        Value::UInt(n) => number::put_uint(out, *n),
        Value::Float(f) => number::put_float(out, *f),
        Value::Double(f) => number::put_double(out, *f),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => out.extend_from_slice(s.as_bytes()),
        Value::Bytes(b) => out.extend_from_slice(b),
        Value::Date(d) => d.write_text(out),
        Value::Time(t) => t.write_text(column.scale.min(6), out),
        Value::DateTime(dt) => dt.write_text(column.scale.min(6), out),
    }
}

/// Appends a length-encoded string whose bytes `write` appends: the one-byte length is
/// patched in afterwards (numbers and temporal values are far below 251 bytes); a longer text
/// is moved to make room for its wider length.
pub fn put_lenenc_with(buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = buf.len();
    buf.push(0);
    write(buf);
    let len = buf.len() - at - 1;
    match u8::try_from(len) {
        Ok(short) if short < 0xFB => buf[at] = short,
        _ => {
            let text = buf.split_off(at + 1);
            buf.truncate(at);
            buf.put_lenenc_str(&text);
        }
    }
}

/// The text of a non-string value: integers exact, DOUBLE shortest round-trip, FLOAT 6 digits, temporal values
/// with the column's fractional-second digits (binary strings converted lossily to UTF-8).
pub fn render(value: &Value, column: &ColumnInfo) -> String {
    let mut out = Vec::new();
    write_plain(&mut out, value, column);
    String::from_utf8_lossy(&out).into_owned()
}

/// DOUBLE as MySQL 8 prints it: the shortest digits that read back to the same value,
/// positional for decimal exponents -5..15, else `1.5e300` / `1e-7`.
pub fn format_double(f: f64) -> String {
    let mut out = Vec::new();
    number::put_double(&mut out, f);
    String::from_utf8_lossy(&out).into_owned()
}

/// FLOAT (single precision) as MySQL prints it: 6 significant digits (`1.80859`,
/// `3.40282e38`), positional for decimal exponents -15..=14.
pub fn format_float(f: f32) -> String {
    let mut out = Vec::new();
    number::put_float(&mut out, f);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_api::value::{DateTime, Time};
    use mysql_common::io::ParseBuf;
    use mysql_common::proto::MyDeserialize;
    use mysql_common::value::{TextValue, ValueDeserializer};
    use mysql_common::Value as MyValue;

    fn col(data_type: DataType, scale: u8) -> ColumnInfo {
        ColumnInfo {
            name: "c".into(),
            data_type,
            column_type: String::new(),
            unsigned: false,
            nullable: true,
            length: 0,
            scale,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        }
    }

    /// Encodes, then decodes with mysql_common's text-protocol value decoder.
    fn round_trip(value: &Value, column: &ColumnInfo) -> MyValue {
        let mut buf = Vec::new();
        write_value(&mut buf, value, column);
        let mut parse = ParseBuf(&buf);
        let decoded = ValueDeserializer::<TextValue>::deserialize((), &mut parse)
            .unwrap()
            .0;
        assert!(parse.is_empty(), "trailing bytes for {value:?}");
        decoded
    }

    fn bytes(value: &Value, column: &ColumnInfo) -> Vec<u8> {
        match round_trip(value, column) {
            MyValue::Bytes(b) => b,
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    #[test]
    fn null_and_empty_string_are_distinct() {
        let c = col(DataType::VarChar, 0);
        assert_eq!(round_trip(&Value::Null, &c), MyValue::NULL);
        assert_eq!(
            round_trip(&Value::Text(String::new()), &c),
            MyValue::Bytes(Vec::new())
        );
    }

    #[test]
    fn integers_are_exact() {
        let c = col(DataType::BigInt, 0);
        assert_eq!(bytes(&Value::UInt(u64::MAX), &c), b"18446744073709551615");
        assert_eq!(bytes(&Value::Int(i64::MIN), &c), b"-9223372036854775808");
        assert_eq!(bytes(&Value::Int(2026), &col(DataType::Year, 0)), b"2026");
        assert_eq!(bytes(&Value::Int(0), &col(DataType::Year, 0)), b"0000");
    }

    #[test]
    fn decimals_and_binary_pass_through() {
        let c = col(DataType::Decimal, 2);
        assert_eq!(
            bytes(&Value::Decimal("-12345678901234567890.50".into()), &c),
            b"-12345678901234567890.50"
        );
        let blob = vec![0u8, 0xFB, 0xFF, b'\n', 0x80];
        assert_eq!(
            bytes(&Value::Bytes(blob.clone()), &col(DataType::Blob, 0)),
            blob
        );
        let long = "x".repeat(70_000);
        assert_eq!(
            bytes(&Value::Text(long.clone()), &col(DataType::Text, 0)),
            long.as_bytes()
        );
    }

    #[test]
    fn temporal_values_honour_fsp() {
        let dt: DateTime = "2026-04-27 09:11:59.120000".parse().unwrap();
        assert_eq!(
            bytes(&Value::DateTime(dt), &col(DataType::DateTime, 6)),
            b"2026-04-27 09:11:59.120000"
        );
        assert_eq!(
            bytes(&Value::DateTime(dt), &col(DataType::DateTime, 0)),
            b"2026-04-27 09:11:59"
        );
        assert_eq!(
            bytes(&Value::DateTime(dt), &col(DataType::DateTime, 3)),
            b"2026-04-27 09:11:59.120"
        );
        let t: Time = "-838:59:59.000001".parse().unwrap();
        assert_eq!(
            bytes(&Value::Time(t), &col(DataType::Time, 6)),
            b"-838:59:59.000001"
        );
        assert_eq!(
            bytes(
                &Value::Date("0000-00-00".parse().unwrap()),
                &col(DataType::Date, 0)
            ),
            b"0000-00-00"
        );
    }

    #[test]
    fn patched_lengths_hold_at_every_width() {
        for len in [0usize, 1, 250, 251, 252, 65_535, 65_536, 70_000] {
            let mut buf = vec![7u8];
            put_lenenc_with(&mut buf, |out| out.extend(std::iter::repeat_n(b'x', len)));
            let mut parse = ParseBuf(&buf[1..]);
            let decoded = ValueDeserializer::<TextValue>::deserialize((), &mut parse)
                .unwrap()
                .0;
            assert!(parse.is_empty(), "trailing bytes at {len}");
            assert_eq!(decoded, MyValue::Bytes(vec![b'x'; len]), "length {len}");
            assert_eq!(buf[0], 7);
        }
    }

    #[test]
    fn written_values_equal_their_rendered_text() {
        let cases = [
            (Value::Int(i64::MIN), col(DataType::BigInt, 0)),
            (Value::UInt(u64::MAX), col(DataType::BigInt, 0)),
            (Value::Int(70), col(DataType::Year, 0)),
            (Value::Int(0), col(DataType::Year, 0)),
            (Value::Double(-0.0), col(DataType::Double, 0)),
            (Value::Float(1e15), col(DataType::Float, 0)),
            (
                Value::Time("-00:00:01.5".parse().unwrap()),
                col(DataType::Time, 1),
            ),
            (
                Value::Time("-838:59:59".parse().unwrap()),
                col(DataType::Time, 0),
            ),
            (
                Value::DateTime("0000-00-00 00:00:00".parse().unwrap()),
                col(DataType::DateTime, 6),
            ),
            (
                Value::Date("0000-00-00".parse().unwrap()),
                col(DataType::Date, 0),
            ),
        ];
        let want = [
            "-9223372036854775808",
            "18446744073709551615",
            "0070",
            "0000",
            "-0",
            "1e15",
            "-00:00:01.5",
            "-838:59:59",
            "0000-00-00 00:00:00.000000",
            "0000-00-00",
        ];
        for ((value, column), want) in cases.iter().zip(want) {
            assert_eq!(bytes(value, column), want.as_bytes(), "{value:?}");
            assert_eq!(render(value, column), want, "{value:?}");
        }
        for fsp in 0..=6 {
            let dt: DateTime = "2026-04-27 09:11:59.123456".parse().unwrap();
            let c = col(DataType::DateTime, fsp);
            assert_eq!(bytes(&Value::DateTime(dt), &c), dt.to_text(fsp).as_bytes());
        }
    }

    #[test]
    fn floats_print_shortest_round_trip() {
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(1e15), "1e15");
        assert_eq!(format_double(123456789012345.0), "123456789012345");
        assert_eq!(format_double(1e-7), "1e-7");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(-2.5e300), "-2.5e300");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(3.4028235e38), "3.40282e38");
        assert_eq!(format_float(1.808_593_9), "1.80859");
        for f in [
            0.1f64,
            1.0 / 3.0,
            2.5e-300,
            9007199254740993.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = bytes(&Value::Double(f), &col(DataType::Double, 0));
            let back: f64 = std::str::from_utf8(&text).unwrap().parse().unwrap();
            assert_eq!(back, f);
        }
        // FLOAT keeps 6 significant digits (FLT_DIG), as MySQL prints it.
        for (f, want) in [
            (0.1f32, "0.1"),
            (1.0 / 3.0, "0.333333"),
            (16777217.0, "16777200"),
        ] {
            assert_eq!(
                bytes(&Value::Float(f), &col(DataType::Float, 0)),
                want.as_bytes()
            );
        }
    }
}
