//! Text-protocol row values (`ProtocolText::ResultsetRow`): each value a length-encoded string,
//! NULL as the single byte `0xFB`. The empty string is a zero length, distinct from NULL.

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;
use mysql_common::io::BufMutExt;

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
        other => buf.put_lenenc_str(render(other, column).as_bytes()),
    }
}

/// The text of a non-string value: integers exact, floats shortest round-trip, temporal values
/// with the column's fractional-second digits.
pub fn render(value: &Value, column: &ColumnInfo) -> String {
    match value {
        Value::Null => String::new(),
        Value::Int(n) if column.data_type == DataType::Year => format!("{n:04}"),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) => format_float(*f),
        Value::Double(f) => format_double(*f),
        Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_text(column.scale.min(6)),
        Value::DateTime(dt) => dt.to_text(column.scale.min(6)),
    }
}

/// DOUBLE as MySQL 8 prints it: the shortest digits that read back to the same value,
/// positional for decimal exponents -5..15, else `1.5e300` / `1e-7`.
pub fn format_double(f: f64) -> String {
    let exp = decimal_exponent(&format!("{f:e}"));
    if f == 0.0 || (-5..15).contains(&exp) {
        format!("{f}")
    } else {
        format!("{f:e}")
    }
}

/// FLOAT (single precision) likewise, with its own shortest digits.
pub fn format_float(f: f32) -> String {
    let exp = decimal_exponent(&format!("{f:e}"));
    if f == 0.0 || (-5..15).contains(&exp) {
        format!("{f}")
    } else {
        format!("{f:e}")
    }
}

fn decimal_exponent(scientific: &str) -> i32 {
    scientific
        .rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
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
        assert_eq!(format_float(3.4028235e38), "3.4028235e38");
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
        for f in [0.1f32, 1.0 / 3.0, f32::MAX, 16777217.0] {
            let text = bytes(&Value::Float(f), &col(DataType::Float, 0));
            let back: f32 = std::str::from_utf8(&text).unwrap().parse().unwrap();
            assert_eq!(back, f);
        }
    }
}
