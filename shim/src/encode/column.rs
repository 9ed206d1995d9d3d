//! Column definitions (`Protocol::ColumnDefinition41`) for agent [`ColumnInfo`].

use agent_api::catalog::{ColumnInfo, DataType};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::io::BufMutExt;
use mysql_common::packets::Column;

use crate::charset::ClientCharset;

/// Collation id 63: `binary`.
pub const BINARY_COLLATION: u16 = 63;
/// Collation id 255: `utf8mb4_0900_ai_ci`, MySQL 8's default.
pub const UTF8MB4_COLLATION: u16 = 255;
/// `decimals` value MySQL sends for FLOAT/DOUBLE without a declared scale.
const NOT_FIXED_DEC: u8 = 31;

/// The column definition for `column` of `_flashback.<table>`, named `name` in the result.
pub fn column_definition(
    column: &ColumnInfo,
    table: &str,
    name: &str,
    primary_key: bool,
) -> Column {
    let (column_type, mut flags) = type_and_flags(column);
    if !column.nullable {
        flags |= ColumnFlags::NOT_NULL_FLAG;
    }
    if primary_key {
        flags |= ColumnFlags::PRI_KEY_FLAG | ColumnFlags::PART_KEY_FLAG;
    }
    if column.unsigned {
        flags |= ColumnFlags::UNSIGNED_FLAG;
    }
    let binary = is_binary(column);
    if binary {
        flags |= ColumnFlags::BINARY_FLAG;
    }
    Column::new(column_type)
        .with_schema(b"_flashback")
        .with_table(table.as_bytes())
        .with_org_table(table.as_bytes())
        .with_name(name.as_bytes())
        .with_org_name(column.name.as_bytes())
        .with_character_set(if binary {
            BINARY_COLLATION
        } else {
            text_collation(column)
        })
        .with_column_length(length(column))
        .with_flags(flags)
        .with_decimals(decimals(column))
}

fn type_and_flags(column: &ColumnInfo) -> (ColumnType, ColumnFlags) {
    use ColumnType::*;
    use DataType as D;
    let num = ColumnFlags::NUM_FLAG;
    let blob = ColumnFlags::BLOB_FLAG;
    match column.data_type {
        D::TinyInt => (MYSQL_TYPE_TINY, num),
        D::SmallInt => (MYSQL_TYPE_SHORT, num),
        D::MediumInt => (MYSQL_TYPE_INT24, num),
        D::Int => (MYSQL_TYPE_LONG, num),
        D::BigInt => (MYSQL_TYPE_LONGLONG, num),
        D::Decimal => (MYSQL_TYPE_NEWDECIMAL, num),
        D::Float => (MYSQL_TYPE_FLOAT, num),
        D::Double => (MYSQL_TYPE_DOUBLE, num),
        D::Bit => (MYSQL_TYPE_BIT, ColumnFlags::UNSIGNED_FLAG),
        D::Year => (
            MYSQL_TYPE_YEAR,
            num | ColumnFlags::UNSIGNED_FLAG | ColumnFlags::ZEROFILL_FLAG,
        ),
        D::Date => (MYSQL_TYPE_DATE, ColumnFlags::empty()),
        D::Time => (MYSQL_TYPE_TIME, ColumnFlags::empty()),
        D::DateTime => (MYSQL_TYPE_DATETIME, ColumnFlags::empty()),
        D::Timestamp => (MYSQL_TYPE_TIMESTAMP, ColumnFlags::TIMESTAMP_FLAG),
        D::Char | D::Binary | D::Uuid | D::Inet4 | D::Inet6 => {
            (MYSQL_TYPE_STRING, ColumnFlags::empty())
        }
        D::VarChar | D::VarBinary => (MYSQL_TYPE_VAR_STRING, ColumnFlags::empty()),
        D::TinyText | D::Text | D::MediumText | D::LongText => (MYSQL_TYPE_BLOB, blob),
        D::TinyBlob | D::Blob | D::MediumBlob | D::LongBlob => (MYSQL_TYPE_BLOB, blob),
        D::Enum => (MYSQL_TYPE_STRING, ColumnFlags::ENUM_FLAG),
        D::Set => (MYSQL_TYPE_STRING, ColumnFlags::SET_FLAG),
        D::Json => (MYSQL_TYPE_JSON, blob),
        D::Geometry => (MYSQL_TYPE_GEOMETRY, blob),
    }
}

/// Binary charset: numbers, temporal types, BINARY/VARBINARY/BLOB, BIT, GEOMETRY, JSON (MySQL 8
/// reports JSON with charset 63).
fn is_binary(column: &ColumnInfo) -> bool {
    use DataType as D;
    match column.data_type {
        D::Char
        | D::VarChar
        | D::TinyText
        | D::Text
        | D::MediumText
        | D::LongText
        | D::Enum
        | D::Set
        | D::Uuid
        | D::Inet4
        | D::Inet6 => column.charset.as_deref() == Some("binary"),
        _ => true,
    }
}

/// Strings are sent as UTF-8: keep the column's collation when it is a utf8mb4 one, else
/// announce MySQL 8's default utf8mb4 collation.
fn text_collation(column: &ColumnInfo) -> u16 {
    match (column.charset.as_deref(), column.collation_id) {
        (Some("utf8mb4"), Some(id)) => id,
        _ => UTF8MB4_COLLATION,
    }
}

/// Maximum display length in bytes of the encoded text (never 0: ODBC rejects 0).
fn length(column: &ColumnInfo) -> u32 {
    use DataType as D;
    let declared = column.length;
    let chars = |n: u32| n.saturating_mul(if is_binary(column) { 1 } else { 4 });
    let or = |default: u32| if declared > 0 { declared } else { default };
    let sign = u32::from(!column.unsigned);
    let fsp = u32::from(column.scale);
    let frac = if fsp > 0 { fsp + 1 } else { 0 };
    let len = match column.data_type {
        D::TinyInt => or(3 + sign),
        D::SmallInt => or(5 + sign),
        D::MediumInt => or(8 + sign),
        D::Int => or(10 + sign),
        D::BigInt => or(20),
        D::Decimal => or(10) + u32::from(column.scale > 0) + sign,
        D::Float => or(12),
        D::Double => or(22),
        D::Bit => or(1),
        D::Year => 4,
        D::Date => 10,
        D::Time => 10 + frac,
        D::DateTime | D::Timestamp => 19 + frac,
        D::Char | D::VarChar | D::Binary | D::VarBinary => chars(or(1)),
        D::TinyText | D::TinyBlob => chars(255),
        D::Text | D::Blob => chars(65_535),
        D::MediumText | D::MediumBlob => chars(16_777_215),
        D::LongText | D::LongBlob | D::Json | D::Geometry => u32::MAX,
        D::Enum | D::Set => chars(enum_length(column).max(1)),
        D::Uuid => chars(36),
        D::Inet4 => chars(15),
        D::Inet6 => chars(39),
    };
    len.max(1)
}

/// Longest ENUM label, or all SET labels joined by commas (characters).
fn enum_length(column: &ColumnInfo) -> u32 {
    let lens = column.elements.iter().map(|e| e.chars().count() as u32);
    match column.data_type {
        DataType::Set => lens.clone().sum::<u32>() + lens.count().saturating_sub(1) as u32,
        _ => lens.max().unwrap_or(column.length),
    }
}

fn decimals(column: &ColumnInfo) -> u8 {
    use DataType as D;
    match column.data_type {
        D::Decimal | D::Time | D::DateTime | D::Timestamp => column.scale,
        D::Float | D::Double if column.scale == 0 => NOT_FIXED_DEC,
        D::Float | D::Double => column.scale,
        _ => 0,
    }
}

/// Types of the computed columns chatter answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimpleType {
    /// BIGINT NOT NULL (`SELECT 1`, numeric variables).
    Int,
    /// BIGINT that may be NULL (catalog columns such as `CHARACTER_MAXIMUM_LENGTH`).
    NullableInt,
    /// VARCHAR in utf8mb4.
    Text,
    /// The NULL literal.
    Null,
}

/// A column definition for a computed value, as MySQL describes `SELECT 1`, `SELECT 'x'` and
/// `SELECT NULL`: no schema or table; `max_len` in characters.
pub fn simple_column(name: &str, kind: SimpleType, max_len: u32) -> Column {
    let (column_type, charset, flags, len) = match kind {
        SimpleType::Int => (
            ColumnType::MYSQL_TYPE_LONGLONG,
            BINARY_COLLATION,
            ColumnFlags::NOT_NULL_FLAG | ColumnFlags::BINARY_FLAG | ColumnFlags::NUM_FLAG,
            max_len.max(1),
        ),
        SimpleType::NullableInt => (
            ColumnType::MYSQL_TYPE_LONGLONG,
            BINARY_COLLATION,
            ColumnFlags::BINARY_FLAG | ColumnFlags::NUM_FLAG,
            max_len.max(1),
        ),
        SimpleType::Text => (
            ColumnType::MYSQL_TYPE_VAR_STRING,
            UTF8MB4_COLLATION,
            ColumnFlags::empty(),
            max_len.max(1).saturating_mul(4),
        ),
        SimpleType::Null => (
            ColumnType::MYSQL_TYPE_NULL,
            BINARY_COLLATION,
            ColumnFlags::BINARY_FLAG,
            1,
        ),
    };
    Column::new(column_type)
        .with_name(name.as_bytes())
        .with_character_set(charset)
        .with_column_length(len)
        .with_flags(flags)
}

/// `column` as sent to a client whose `character_set_results` is `results`, as MySQL's
/// `Protocol_classic::send_field_metadata` does: the names in that charset (`?` for what it
/// cannot represent); a text column (any charset but binary) announces the results collation,
/// its length scaled from utf8mb4's 4 bytes per character to the results charset's width; a
/// binary column (numbers, temporal types, BLOB, JSON) keeps charset 63. `None`
/// (`character_set_results = NULL`) sends the definition unchanged.
pub fn for_results(column: &Column, results: Option<&ClientCharset>) -> Column {
    let Some(results) = results else {
        return column.clone();
    };
    let name = |bytes: &[u8]| -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) => results.encode(text).into_owned(),
            Err(_) => bytes.to_vec(),
        }
    };
    let mut out = column
        .clone()
        .with_schema(&name(column.schema_ref()))
        .with_table(&name(column.table_ref()))
        .with_org_table(&name(column.org_table_ref()))
        .with_name(&name(column.name_ref()))
        .with_org_name(&name(column.org_name_ref()));
    if column.character_set() != BINARY_COLLATION && results.collation_id != column.character_set()
    {
        // A length already clamped to 2^32 - 1 (LONGTEXT, JSON) stays clamped: the server
        // computes it from the column's byte length × the results charset's width, which is
        // past 2^32 - 1 for every charset.
        let length = match column.column_length() {
            u32::MAX => u64::from(u32::MAX),
            bytes => {
                (u64::from(bytes) / 4 * u64::from(results.max_len)).clamp(1, u64::from(u32::MAX))
            }
        };
        out = out
            .with_character_set(results.collation_id)
            .with_column_length(u32::try_from(length).unwrap_or(u32::MAX));
    }
    out
}

/// Serializes a column definition (`Protocol::ColumnDefinition41`) in wire order.
///
/// mysql_common 0.37's own `Column::serialize` writes `column_length` before `character_set`
/// (its deserializer reads them the right way round), so the shim writes the packet itself.
pub fn write_column_definition(column: &Column, buf: &mut Vec<u8>) {
    buf.put_lenenc_str(b"def");
    buf.put_lenenc_str(column.schema_ref());
    buf.put_lenenc_str(column.table_ref());
    buf.put_lenenc_str(column.org_table_ref());
    buf.put_lenenc_str(column.name_ref());
    buf.put_lenenc_str(column.org_name_ref());
    buf.put_lenenc_int(0x0c);
    buf.extend_from_slice(&column.character_set().to_le_bytes());
    buf.extend_from_slice(&column.column_length().to_le_bytes());
    buf.push(column.column_type() as u8);
    buf.extend_from_slice(&column.flags().bits().to_le_bytes());
    buf.push(column.decimals());
    buf.extend_from_slice(&[0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::io::ParseBuf;

    #[test]
    fn definition_round_trips_through_mysql_common() {
        let column = Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
            .with_schema(b"_flashback")
            .with_table(b"orders")
            .with_org_table(b"orders")
            .with_name(b"n")
            .with_org_name(b"note")
            .with_character_set(255)
            .with_column_length(400)
            .with_flags(ColumnFlags::NOT_NULL_FLAG)
            .with_decimals(0);
        let mut buf = Vec::new();
        write_column_definition(&column, &mut buf);
        let decoded: Column = ParseBuf(&buf).parse(()).unwrap();
        assert_eq!(decoded, column);
    }

    #[test]
    fn results_charset_rewrites_names_charset_and_length_of_text_columns() {
        let text = Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
            .with_schema(b"_flashback")
            .with_table("café".as_bytes())
            .with_name("naïve Ω".as_bytes())
            .with_org_name("naïve Ω".as_bytes())
            .with_character_set(UTF8MB4_COLLATION)
            .with_column_length(128);
        let latin1 = ClientCharset::by_charset("latin1").unwrap();
        let sent = for_results(&text, Some(&latin1));
        assert_eq!(sent.name_ref(), b"na\xEFve ?");
        assert_eq!(sent.org_name_ref(), b"na\xEFve ?");
        assert_eq!((sent.character_set(), sent.column_length()), (8, 32));
        let number = Column::new(ColumnType::MYSQL_TYPE_LONG)
            .with_name(b"id")
            .with_character_set(BINARY_COLLATION)
            .with_column_length(11);
        let sent = for_results(&number, Some(&latin1));
        assert_eq!((sent.character_set(), sent.column_length()), (63, 11));
        assert_eq!(for_results(&text, None), text);
        let long = text.clone().with_column_length(u32::MAX);
        let mb3 = ClientCharset::by_charset("utf8mb3").unwrap();
        let sent = for_results(&long, Some(&mb3));
        // MariaDB's send_result_set_metadata: a BLOB-type length in characters (bytes /
        // mbminlen, here 2^32 - 1) times the results charset's mbmaxlen, clamped to 2^32 - 1.
        assert_eq!((sent.character_set(), sent.column_length()), (33, u32::MAX));
    }
}
