//! A table's schema read from the source's `information_schema` (for tables the change index has
//! not seen yet), and the conversion of rows read over the MySQL binary protocol into [`Value`]s
//! equal to what capture decodes from row images.

use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::schema::{
    describe, parse_elements, Collations, ColumnDef, Decode, SpecialType, TableSchema,
    BINARY_COLLATION,
};

use super::BaselineError;

/// One row of `information_schema.COLUMNS` with the column's PK position.
type ColumnRow = (
    String,         // COLUMN_NAME
    String,         // DATA_TYPE
    String,         // COLUMN_TYPE
    String,         // IS_NULLABLE
    Option<u64>,    // NUMERIC_PRECISION
    Option<u64>,    // NUMERIC_SCALE
    Option<u64>,    // DATETIME_PRECISION
    Option<u64>,    // CHARACTER_OCTET_LENGTH
    Option<String>, // COLLATION_NAME
    (String, u32),  // EXTRA, SEQ_IN_INDEX of PRIMARY (0 = not in the PK)
);

/// The stored columns (VIRTUAL generated ones are absent from row images and skipped) and PK of
/// `schema.table` (or the UNIQUE NOT NULL key standing in for it, [`crate::source::identity_index`]),
/// as capture would describe them. Errors when the table does not exist.
pub async fn read_schema(
    conn: &mut Conn,
    collations: &Collations,
    schema: &str,
    table: &str,
) -> Result<TableSchema, BaselineError> {
    // The PK, or the UNIQUE NOT NULL key the server uses in its place (`SEQ_IN_INDEX` 0: not in it).
    let identity = crate::source::identity_index(conn, schema, table).await?;
    let rows: Vec<mysql_async::Row> = conn
        .exec(
            "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, \
               CAST(c.NUMERIC_PRECISION AS UNSIGNED), CAST(c.NUMERIC_SCALE AS UNSIGNED), \
               CAST(c.DATETIME_PRECISION AS UNSIGNED), CAST(c.CHARACTER_OCTET_LENGTH AS UNSIGNED), \
               c.COLLATION_NAME, c.EXTRA, CAST(IFNULL(s.SEQ_IN_INDEX, 0) AS UNSIGNED) \
             FROM information_schema.COLUMNS c \
             LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA \
               AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = ? \
             WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION",
            (identity.as_deref().unwrap_or(""), schema, table),
        )
        .await?;
    if rows.is_empty() {
        return Err(BaselineError::Invalid(format!(
            "table {schema}.{table} does not exist on the source"
        )));
    }
    let mut columns = Vec::with_capacity(rows.len());
    let mut pk: Vec<(u32, usize)> = Vec::new();
    for row in rows {
        let r: ColumnRow = column_row(row)?;
        if r.9 .0.to_ascii_uppercase().contains("VIRTUAL") {
            continue;
        }
        if r.9 .1 > 0 {
            pk.push((r.9 .1, columns.len()));
        }
        columns.push(column_def(&r, collations));
    }
    pk.sort();
    Ok(TableSchema {
        schema: schema.to_owned(),
        name: table.to_owned(),
        columns,
        pk: pk.into_iter().map(|(_, i)| i).collect(),
    })
}

/// Whether `schema.table` exists on the source now, per `information_schema.TABLES` (base tables
/// and views alike). Opens its own connection with the source's DSN and TLS settings
/// ([`super::take::connect`]) and closes it before returning.
pub async fn table_exists(
    source: &crate::config::SourceConfig,
    schema: &str,
    table: &str,
) -> Result<bool, BaselineError> {
    let mut conn = super::take::connect(source).await?;
    let found: Result<Option<u64>, _> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (schema, table),
        )
        .await;
    let _ = conn.disconnect().await;
    Ok(found?.unwrap_or(0) > 0)
}

fn column_row(row: mysql_async::Row) -> Result<ColumnRow, BaselineError> {
    let bad = || BaselineError::Invalid("unexpected information_schema.COLUMNS row".into());
    let mut r = row;
    macro_rules! get {
        ($i:expr) => {
            r.take_opt($i).ok_or_else(bad)?.map_err(|_| bad())?
        };
    }
    Ok((
        get!(0),
        get!(1),
        get!(2),
        get!(3),
        get!(4),
        get!(5),
        get!(6),
        get!(7),
        get!(8),
        (get!(9), get!(10)),
    ))
}

fn column_def(r: &ColumnRow, collations: &Collations) -> ColumnDef {
    let (name, data_type, column_type, nullable, precision, scale, fsp, octets, collation, _) = r;
    let collation = collation.as_ref().and_then(|n| {
        collations
            .0
            .iter()
            .find(|(_, c)| c.name.eq_ignore_ascii_case(n))
            .map(|(id, c)| (*id, c.clone()))
    });
    let coll_id = collation.as_ref().map_or(BINARY_COLLATION, |(id, _)| *id);
    let decode = decode_of(
        &data_type.to_ascii_lowercase(),
        &column_type.to_ascii_lowercase(),
        precision.unwrap_or(0),
        scale.unwrap_or(0),
        fsp.unwrap_or(0),
        octets.unwrap_or(0),
        coll_id,
    );
    let elements = if matches!(decode, Decode::Enum { .. } | Decode::Set { .. }) {
        parse_elements(column_type)
    } else {
        Vec::new()
    };
    let coll = collation.as_ref().map(|(_, c)| c.clone());
    let text_like = matches!(
        decode,
        Decode::String { .. } | Decode::Blob { json: false, .. }
    );
    let coll =
        coll.filter(|_| text_like || matches!(decode, Decode::Enum { .. } | Decode::Set { .. }));
    let (dt, ct, length, sc) = describe(&decode, coll.as_ref(), &elements);
    ColumnDef {
        info: agent_api::catalog::ColumnInfo {
            name: name.clone(),
            data_type: dt,
            column_type: ct,
            unsigned: column_type.to_ascii_lowercase().contains("unsigned"),
            nullable: nullable.eq_ignore_ascii_case("YES"),
            length,
            scale: sc,
            charset: coll.as_ref().map(|c| c.charset.clone()),
            collation_id: collation
                .as_ref()
                .map(|(id, _)| *id)
                .filter(|_| coll.is_some()),
            elements,
        },
        decode,
        collation: coll,
    }
}

/// The decode plan capture would build for a column of this `DATA_TYPE`.
fn decode_of(
    data_type: &str,
    column_type: &str,
    precision: u64,
    scale: u64,
    fsp: u64,
    octets: u64,
    collation: u16,
) -> Decode {
    let unsigned = column_type.contains("unsigned");
    let fsp = fsp.min(6) as u8;
    let max_len = octets.min(u64::from(u16::MAX)) as u16;
    let labels = parse_elements(column_type).len();
    match data_type {
        "tinyint" => Decode::Int { bytes: 1, unsigned },
        "smallint" => Decode::Int { bytes: 2, unsigned },
        "mediumint" => Decode::Int { bytes: 3, unsigned },
        "int" | "integer" => Decode::Int { bytes: 4, unsigned },
        "bigint" => Decode::Int { bytes: 8, unsigned },
        "float" => Decode::Float,
        "double" | "real" => Decode::Double,
        "decimal" | "numeric" => Decode::Decimal {
            precision: precision.min(65) as u8,
            scale: scale.min(30) as u8,
        },
        "year" => Decode::Year,
        "date" => Decode::Date,
        "time" => Decode::Time2 { fsp },
        "datetime" => Decode::DateTime2 { fsp },
        "timestamp" => Decode::Timestamp2 { fsp },
        "char" | "varchar" => Decode::String {
            max_len,
            collation,
            pad_binary: false,
        },
        "binary" => Decode::String {
            max_len,
            collation: BINARY_COLLATION,
            pad_binary: true,
        },
        "varbinary" => Decode::String {
            max_len,
            collation: BINARY_COLLATION,
            pad_binary: false,
        },
        "tinytext" | "tinyblob" => blob(1, data_type, collation),
        "text" | "blob" => blob(2, data_type, collation),
        "mediumtext" | "mediumblob" => blob(3, data_type, collation),
        "longtext" | "longblob" => blob(4, data_type, collation),
        "json" => Decode::Blob {
            prefix: 4,
            collation: BINARY_COLLATION,
            json: true,
        },
        "enum" => Decode::Enum {
            bytes: if labels > 255 { 2 } else { 1 },
        },
        "set" => Decode::Set {
            bytes: match labels.div_ceil(8) {
                0 | 1 => 1,
                2 => 2,
                3 => 3,
                4 => 4,
                _ => 8,
            },
        },
        "bit" => Decode::Bit {
            bytes: precision.div_ceil(8).max(1) as u8,
        },
        other => match SpecialType::from_column_type(other) {
            Some(kind) => Decode::Special {
                kind,
                max_len: if kind == SpecialType::Inet4 { 4 } else { 16 },
            },
            // GEOMETRY and its subtypes: WKB bytes.
            None => Decode::Blob {
                prefix: 4,
                collation: BINARY_COLLATION,
                json: false,
            },
        },
    }
}

fn blob(prefix: u8, data_type: &str, collation: u16) -> Decode {
    let collation = if data_type.ends_with("blob") {
        BINARY_COLLATION
    } else {
        collation
    };
    Decode::Blob {
        prefix,
        collation,
        json: false,
    }
}

/// A value read over the binary protocol (connection in UTF-8, `time_zone = '+00:00'`) as the
/// [`Value`] capture would decode for the same column.
pub fn value_from_mysql(v: mysql_async::Value, col: &ColumnDef) -> Result<Value, BaselineError> {
    use mysql_async::Value as M;
    let bad = |v: &M| {
        BaselineError::Invalid(format!(
            "column {} ({}): unexpected value {v:?} from the source",
            col.info.name, col.info.column_type
        ))
    };
    Ok(match (v, &col.decode) {
        (M::NULL, _) => Value::Null,
        (M::Int(i), Decode::Int { unsigned: true, .. }) if i >= 0 => Value::UInt(i as u64),
        (M::Int(i), _) => Value::Int(i),
        (M::UInt(u), Decode::Int { unsigned: true, .. }) => Value::UInt(u),
        (M::UInt(u), _) if u <= i64::MAX as u64 => Value::Int(u as i64),
        (M::Float(f), _) => Value::Float(f),
        (M::Double(d), Decode::Float) => Value::Float(d as f32),
        (M::Double(d), _) => Value::Double(d),
        (M::Bytes(b), Decode::Decimal { .. }) => {
            Value::Decimal(String::from_utf8(b).map_err(|e| bad(&M::Bytes(e.into_bytes())))?)
        }
        (M::Bytes(b), Decode::Int { .. } | Decode::Year) => {
            let text = String::from_utf8_lossy(&b).into_owned();
            let unsigned = matches!(col.decode, Decode::Int { unsigned: true, .. });
            match (unsigned, text.parse::<i64>(), text.parse::<u64>()) {
                (true, _, Ok(u)) => Value::UInt(u),
                (_, Ok(i), _) => Value::Int(i),
                _ => return Err(bad(&M::Bytes(b))),
            }
        }
        (M::Bytes(b), _) => match crate::columnar::ColumnKind::of(col) {
            crate::columnar::ColumnKind::Bytes => {
                Value::Bytes(crate::capture::rows::binary_padded(b, col))
            }
            crate::columnar::ColumnKind::Json => {
                Value::Json(String::from_utf8(b).map_err(|e| bad(&M::Bytes(e.into_bytes())))?)
            }
            _ => Value::Text(String::from_utf8(b).map_err(|e| bad(&M::Bytes(e.into_bytes())))?),
        },
        (M::Date(y, mo, d, h, mi, s, us), decode) => {
            let date = Date {
                year: y,
                month: mo,
                day: d,
            };
            match decode {
                Decode::Date => Value::Date(date),
                _ => Value::DateTime(DateTime {
                    date,
                    hour: h,
                    minute: mi,
                    second: s,
                    micros: us,
                }),
            }
        }
        (M::Time(neg, days, h, mi, s, us), _) => Value::Time(Time {
            negative: neg,
            hours: days * 24 + u32::from(h),
            minutes: mi,
            seconds: s,
            micros: us,
        }),
        (other, _) => return Err(bad(&other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_plans_follow_data_types() {
        assert_eq!(
            decode_of("bigint", "bigint(20) unsigned", 20, 0, 0, 0, 63),
            Decode::Int {
                bytes: 8,
                unsigned: true
            }
        );
        assert_eq!(
            decode_of("varchar", "varchar(64)", 0, 0, 0, 256, 45),
            Decode::String {
                max_len: 256,
                collation: 45,
                pad_binary: false
            }
        );
        assert_eq!(
            decode_of("longblob", "longblob", 0, 0, 0, 0, 63),
            Decode::Blob {
                prefix: 4,
                collation: 63,
                json: false
            }
        );
        assert_eq!(
            decode_of("bit", "bit(9)", 9, 0, 0, 0, 63),
            Decode::Bit { bytes: 2 }
        );
        assert_eq!(
            decode_of("datetime", "datetime(3)", 0, 0, 3, 0, 63),
            Decode::DateTime2 { fsp: 3 }
        );
    }
}
