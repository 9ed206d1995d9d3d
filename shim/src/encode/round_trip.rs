//! One row holding every `agent_api::Value` variant, encoded by both protocols and decoded by
//! mysql_common's own row decoders (text: `Text` rows, binary: `Binary` rows), so the shim's
//! wire form is checked against the client library's reading of it, not against itself.

use std::sync::Arc;

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::proto::{Binary, MyDeserialize, Text};
use mysql_common::row::RowDeserializer;
use mysql_common::value::ServerSide;
use mysql_common::Value as My;

use super::column_definition;

/// A nullable column `c` of `data_type`; also the binary encoder tests' column.
pub(super) fn info(data_type: DataType, unsigned: bool, scale: u8) -> ColumnInfo {
    ColumnInfo {
        name: "c".into(),
        data_type,
        column_type: data_type.sql_name().into(),
        unsigned,
        nullable: true,
        length: 0,
        scale,
        charset: None,
        collation_id: None,
        elements: Vec::new(),
    }
}

/// A cell: the value, its column, the bytes a text row must carry (`None`: NULL) and the value
/// mysql_common must decode from a binary row.
struct Case {
    value: Value,
    column: ColumnInfo,
    text: Option<Vec<u8>>,
    binary: My,
}

fn case(value: Value, column: ColumnInfo, text: Option<&[u8]>, binary: My) -> Case {
    Case {
        value,
        column,
        text: text.map(<[u8]>::to_vec),
        binary,
    }
}

/// A case for every variant; the `match` has no `_` arm, so a new variant fails to compile until
/// it gets a case here.
fn cases() -> Vec<Case> {
    use DataType as D;
    let every_byte: Vec<u8> = (0..=255).collect();
    let all = vec![
        case(Value::Null, info(D::BigInt, false, 0), None, My::NULL),
        case(Value::Null, info(D::DateTime, false, 6), None, My::NULL),
        case(
            Value::Int(i64::MIN),
            info(D::BigInt, false, 0),
            Some(b"-9223372036854775808"),
            My::Int(i64::MIN),
        ),
        case(
            Value::Int(-1),
            info(D::TinyInt, false, 0),
            Some(b"-1"),
            My::Int(-1),
        ),
        case(
            Value::UInt((1 << 63) + 1),
            info(D::BigInt, true, 0),
            Some(b"9223372036854775809"),
            My::UInt((1 << 63) + 1),
        ),
        case(
            Value::UInt(u64::MAX),
            info(D::BigInt, true, 0),
            Some(b"18446744073709551615"),
            My::UInt(u64::MAX),
        ),
        case(
            Value::Float(1.5),
            info(D::Float, false, 0),
            Some(b"1.5"),
            My::Float(1.5),
        ),
        case(
            Value::Double(-0.1),
            info(D::Double, false, 0),
            Some(b"-0.1"),
            My::Double(-0.1),
        ),
        case(
            Value::Decimal("-0.000001".into()),
            info(D::Decimal, false, 6),
            Some(b"-0.000001"),
            My::Bytes(b"-0.000001".to_vec()),
        ),
        case(
            Value::Decimal("99999999999999999999999999999999999.99".into()),
            info(D::Decimal, true, 2),
            Some(b"99999999999999999999999999999999999.99"),
            My::Bytes(b"99999999999999999999999999999999999.99".to_vec()),
        ),
        case(
            Value::Text("caf\u{e9} \u{2713}".into()),
            info(D::VarChar, false, 0),
            Some("caf\u{e9} \u{2713}".as_bytes()),
            My::Bytes("caf\u{e9} \u{2713}".as_bytes().to_vec()),
        ),
        case(
            Value::Text(String::new()),
            info(D::VarChar, false, 0),
            Some(b""),
            My::Bytes(Vec::new()),
        ),
        case(
            Value::Text("a,b".into()),
            info(D::Set, false, 0),
            Some(b"a,b"),
            My::Bytes(b"a,b".to_vec()),
        ),
        case(
            Value::Bytes(every_byte.clone()),
            info(D::VarBinary, false, 0),
            Some(&every_byte),
            My::Bytes(every_byte.clone()),
        ),
        case(
            Value::Date("2026-04-27".parse().expect("date")),
            info(D::Date, false, 0),
            Some(b"2026-04-27"),
            My::Date(2026, 4, 27, 0, 0, 0, 0),
        ),
        case(
            Value::Time("-12:30:00.250000".parse().expect("time")),
            info(D::Time, false, 6),
            Some(b"-12:30:00.250000"),
            My::Time(true, 0, 12, 30, 0, 250_000),
        ),
        case(
            Value::Time("838:59:59".parse().expect("time")),
            info(D::Time, false, 0),
            Some(b"838:59:59"),
            My::Time(false, 34, 22, 59, 59, 0),
        ),
        case(
            Value::DateTime("2026-04-27 09:11:59.000001".parse().expect("datetime")),
            info(D::DateTime, false, 6),
            Some(b"2026-04-27 09:11:59.000001"),
            My::Date(2026, 4, 27, 9, 11, 59, 1),
        ),
        case(
            Value::DateTime("1970-01-01 00:00:01".parse().expect("datetime")),
            info(D::Timestamp, false, 0),
            Some(b"1970-01-01 00:00:01"),
            My::Date(1970, 1, 1, 0, 0, 1, 0),
        ),
        case(
            Value::Json("{\"k\": [1, null, \"\u{e9}\"]}".into()),
            info(D::Json, false, 0),
            Some("{\"k\": [1, null, \"\u{e9}\"]}".as_bytes()),
            My::Bytes("{\"k\": [1, null, \"\u{e9}\"]}".as_bytes().to_vec()),
        ),
    ];
    for c in &all {
        match c.value {
            Value::Null
            | Value::Int(_)
            | Value::UInt(_)
            | Value::Float(_)
            | Value::Double(_)
            | Value::Decimal(_)
            | Value::Text(_)
            | Value::Bytes(_)
            | Value::Date(_)
            | Value::Time(_)
            | Value::DateTime(_)
            | Value::Json(_) => {}
        }
    }
    all
}

fn definitions(cases: &[Case]) -> Vec<Column> {
    cases
        .iter()
        .map(|c| column_definition(&c.column, "t", &c.column.name, false))
        .collect()
}

fn decode<P>(buf: &[u8], columns: Vec<Column>) -> Vec<My>
where
    RowDeserializer<ServerSide, P>: for<'de> MyDeserialize<'de, Ctx = Arc<[Column]>>,
{
    let mut parse = ParseBuf(buf);
    let row = RowDeserializer::<ServerSide, P>::deserialize(Arc::from(columns), &mut parse)
        .expect("mysql_common decodes the row")
        .into_inner();
    assert!(parse.is_empty(), "trailing bytes after the row");
    row.unwrap()
}

#[test]
fn every_variant_through_text_rows() {
    let cases = cases();
    let mut buf = Vec::new();
    super::text::write_row(&mut buf, cases.iter().map(|c| (&c.value, &c.column)));
    let row = decode::<Text>(&buf, definitions(&cases));
    assert_eq!(row.len(), cases.len());
    for (decoded, c) in row.iter().zip(&cases) {
        let want = c.text.clone().map_or(My::NULL, My::Bytes);
        assert_eq!(decoded, &want, "{:?} as {:?}", c.value, c.column.data_type);
    }
}

#[test]
fn every_variant_through_binary_rows() {
    let cases = cases();
    let columns = definitions(&cases);
    let pairs: Vec<(&Value, &Column)> = cases.iter().map(|c| &c.value).zip(&columns).collect();
    let mut buf = Vec::new();
    super::binary::write_row(&mut buf, &pairs);
    let row = decode::<Binary>(&buf, columns.clone());
    assert_eq!(row.len(), cases.len());
    for (decoded, c) in row.iter().zip(&cases) {
        assert_eq!(
            decoded, &c.binary,
            "{:?} as {:?}",
            c.value, c.column.data_type
        );
    }
}
