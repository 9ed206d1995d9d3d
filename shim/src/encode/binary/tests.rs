//! Every binary encoder decoded by mysql_common's binary-protocol row decoder.

use std::sync::Arc;

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::proto::MyDeserialize;
use mysql_common::row::RowDeserializer;
use mysql_common::value::ServerSide;
use mysql_common::Value as My;

use super::write_row;
use crate::encode::column_definition;
use crate::encode::round_trip::info;

/// Encodes `cells` as one row and decodes it with mysql_common (`Binary`, server side).
fn round_trip(cells: &[(Value, ColumnInfo)]) -> Vec<My> {
    let columns: Vec<Column> = cells
        .iter()
        .map(|(_, c)| column_definition(c, "t", &c.name, false))
        .collect();
    let pairs: Vec<(&Value, &Column)> = cells.iter().map(|(v, _)| v).zip(&columns).collect();
    let mut buf = Vec::new();
    write_row(&mut buf, &pairs);
    let mut parse = ParseBuf(&buf);
    let row = RowDeserializer::<ServerSide, mysql_common::proto::Binary>::deserialize(
        Arc::from(columns),
        &mut parse,
    )
    .expect("decodes")
    .into_inner();
    assert!(parse.is_empty(), "trailing bytes");
    row.unwrap()
}

fn one(value: Value, column: ColumnInfo) -> My {
    round_trip(&[(value, column)]).remove(0)
}

#[test]
fn integers_by_width_and_sign() {
    use DataType as D;
    assert_eq!(
        one(Value::Int(-128), info(D::TinyInt, false, 0)),
        My::Int(-128)
    );
    assert_eq!(
        one(Value::UInt(255), info(D::TinyInt, true, 0)),
        My::Int(255)
    );
    assert_eq!(
        one(Value::Int(-32768), info(D::SmallInt, false, 0)),
        My::Int(-32768)
    );
    assert_eq!(
        one(Value::UInt(65535), info(D::SmallInt, true, 0)),
        My::Int(65535)
    );
    assert_eq!(
        one(Value::Int(-8_388_608), info(D::MediumInt, false, 0)),
        My::Int(-8_388_608)
    );
    assert_eq!(
        one(Value::Int(i64::from(i32::MIN)), info(D::Int, false, 0)),
        My::Int(i64::from(i32::MIN))
    );
    assert_eq!(
        one(Value::UInt(u64::from(u32::MAX)), info(D::Int, true, 0)),
        My::Int(i64::from(u32::MAX))
    );
    assert_eq!(
        one(Value::Int(i64::MIN), info(D::BigInt, false, 0)),
        My::Int(i64::MIN)
    );
    assert_eq!(
        one(Value::UInt(u64::MAX), info(D::BigInt, true, 0)),
        My::UInt(u64::MAX)
    );
    assert_eq!(
        one(Value::Int(2026), info(D::Year, false, 0)),
        My::Int(2026)
    );
}

#[test]
fn floats_decimals_and_strings() {
    use DataType as D;
    assert_eq!(
        one(Value::Float(0.1), info(D::Float, false, 0)),
        My::Float(0.1)
    );
    assert_eq!(
        one(Value::Double(0.1), info(D::Double, false, 0)),
        My::Double(0.1)
    );
    assert_eq!(
        one(
            Value::Decimal("-12345678901234567890.50".into()),
            info(D::Decimal, false, 2)
        ),
        My::Bytes(b"-12345678901234567890.50".to_vec())
    );
    assert_eq!(
        one(Value::Text(String::new()), info(D::VarChar, false, 0)),
        My::Bytes(Vec::new())
    );
    assert_eq!(
        one(Value::Text("paid".into()), info(D::Enum, false, 0)),
        My::Bytes(b"paid".to_vec())
    );
    let blob = vec![0u8, 0xFB, 0xFF, 0x80];
    assert_eq!(
        one(Value::Bytes(blob.clone()), info(D::Blob, false, 0)),
        My::Bytes(blob)
    );
    assert_eq!(
        one(Value::Json("{\"a\": 1}".into()), info(D::Json, false, 0)),
        My::Bytes(b"{\"a\": 1}".to_vec())
    );
    let long = "x".repeat(70_000);
    assert_eq!(
        one(Value::Text(long.clone()), info(D::Text, false, 0)),
        My::Bytes(long.into_bytes())
    );
}

#[test]
fn temporal_forms_keep_micros() {
    use DataType as D;
    let dt = |s: &str| Value::DateTime(s.parse().unwrap());
    assert_eq!(
        one(
            dt("2026-04-27 09:11:59.123456"),
            info(D::DateTime, false, 6)
        ),
        My::Date(2026, 4, 27, 9, 11, 59, 123_456)
    );
    assert_eq!(
        one(dt("2026-04-27 09:11:59"), info(D::Timestamp, false, 0)),
        My::Date(2026, 4, 27, 9, 11, 59, 0)
    );
    assert_eq!(
        one(dt("2026-04-27 00:00:00"), info(D::DateTime, false, 0)),
        My::Date(2026, 4, 27, 0, 0, 0, 0)
    );
    assert_eq!(
        one(dt("0000-00-00 00:00:00"), info(D::DateTime, false, 0)),
        My::Date(0, 0, 0, 0, 0, 0, 0)
    );
    assert_eq!(
        one(
            Value::Date("2026-04-27".parse().unwrap()),
            info(D::Date, false, 0)
        ),
        My::Date(2026, 4, 27, 0, 0, 0, 0)
    );
    let time = |s: &str| Value::Time(s.parse().unwrap());
    assert_eq!(
        one(time("-838:59:59.000001"), info(D::Time, false, 6)),
        My::Time(true, 34, 22, 59, 59, 1)
    );
    assert_eq!(
        one(time("25:00:01"), info(D::Time, false, 0)),
        My::Time(false, 1, 1, 0, 1, 0)
    );
    assert_eq!(
        one(time("00:00:00"), info(D::Time, false, 0)),
        My::Time(false, 0, 0, 0, 0, 0)
    );
}

#[test]
fn null_bitmap_uses_offset_two() {
    use DataType as D;
    let mut cells: Vec<(Value, ColumnInfo)> = Vec::new();
    for i in 0..11 {
        let value = if i % 3 == 0 {
            Value::Null
        } else {
            Value::Int(i)
        };
        cells.push((value, info(D::BigInt, false, 0)));
    }
    let row = round_trip(&cells);
    for (i, v) in row.iter().enumerate() {
        let want = if i % 3 == 0 {
            My::NULL
        } else {
            My::Int(i as i64)
        };
        assert_eq!(v, &want, "column {i}");
    }
}
