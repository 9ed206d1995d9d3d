//! One canonical text per value, so a row MariaDB returned and the row agent-core reconstructed can
//! be compared cell by cell whatever their wire types.
//!
//! MariaDB's side is read with the binary protocol (prepared statements), which carries FLOAT and
//! DOUBLE as IEEE bits, temporals as fields with µs and integers as 64-bit values, so nothing is
//! rounded on the way. Rendering rules (both sides):
//!
//! | value | text |
//! |---|---|
//! | SQL NULL | `NULL` |
//! | integers, YEAR | decimal digits, full 64 bits |
//! | FLOAT / DOUBLE | `f32:` / `f64:` and Rust's shortest round-trip form |
//! | DECIMAL, character strings, ENUM, SET, JSON | the text itself |
//! | binary strings (charset `binary`: BINARY, VARBINARY, BLOB, BIT, GEOMETRY) | `0x` + lowercase hex |
//! | DATE | `YYYY-MM-DD` |
//! | DATETIME, TIMESTAMP | `YYYY-MM-DD HH:MM:SS.ffffff` (always 6 digits: no fraction may be lost) |
//! | TIME | `[-]HH:MM:SS.ffffff`, hours up to 838 |

use agent_api::Value as ApiValue;
use anyhow::{bail, Context, Result};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Row, Value};

/// The `binary` pseudo-charset id in column definitions.
const BINARY_CHARSET: u16 = 63;

/// A row as canonical cells, in column order.
pub type CanonRow = Vec<String>;

/// Canonical text of a cell MariaDB sent over the binary protocol, given its column definition.
pub fn mysql_cell(value: &Value, column: &Column) -> Result<String> {
    Ok(match value {
        Value::NULL => "NULL".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("f32:{f:?}"),
        Value::Double(d) => format!("f64:{d:?}"),
        Value::Bytes(b) if is_binary_string(column) => hex(b),
        Value::Bytes(b) => String::from_utf8(b.clone())
            .with_context(|| format!("column {} is not UTF-8", column.name_str()))?,
        Value::Date(y, mo, d, h, mi, s, us) => {
            if column.column_type() == ColumnType::MYSQL_TYPE_DATE {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = days * 24 + u32::from(*h);
            let sign = if *neg { "-" } else { "" };
            format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
        }
    })
}

/// Whether a column carries raw bytes: charset `binary` on a string, BLOB, BIT or GEOMETRY
/// column (DECIMAL text also arrives flagged `binary`, but is text).
fn is_binary_string(column: &Column) -> bool {
    column.character_set() == BINARY_CHARSET
        && !matches!(
            column.column_type(),
            ColumnType::MYSQL_TYPE_NEWDECIMAL | ColumnType::MYSQL_TYPE_DECIMAL
        )
}

/// Canonical text of a value agent-core answered.
pub fn agent_cell(value: &ApiValue) -> String {
    match value {
        ApiValue::Null => "NULL".to_owned(),
        ApiValue::Int(i) => i.to_string(),
        ApiValue::UInt(u) => u.to_string(),
        ApiValue::Float(f) => format!("f32:{f:?}"),
        ApiValue::Double(d) => format!("f64:{d:?}"),
        ApiValue::Decimal(s) | ApiValue::Text(s) | ApiValue::Json(s) => s.clone(),
        ApiValue::Bytes(b) => hex(b),
        ApiValue::Date(d) => d.to_string(),
        ApiValue::Time(t) => t.to_text(6),
        ApiValue::DateTime(dt) => dt.to_text(6),
    }
}

/// Canonical cells of an agent-core row.
pub fn agent_row(row: &[ApiValue]) -> CanonRow {
    row.iter().map(agent_cell).collect()
}

/// Canonical cells of a MariaDB binary-protocol row.
pub fn mysql_row(row: &Row) -> Result<CanonRow> {
    let columns = row.columns_ref();
    (0..row.len())
        .map(|i| {
            let value = row
                .as_ref(i)
                .with_context(|| format!("cell {i} was taken"))?;
            mysql_cell(value, &columns[i])
        })
        .collect()
}

/// Runs `sql` as a prepared statement (binary protocol) and returns the column names and the
/// canonical rows.
pub async fn query_canon(conn: &mut Conn, sql: &str) -> Result<(Vec<String>, Vec<CanonRow>)> {
    let stmt = conn
        .prep(sql)
        .await
        .with_context(|| format!("preparing {sql}"))?;
    let names = stmt
        .columns()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    let rows: Vec<Row> = conn
        .exec(&stmt, ())
        .await
        .with_context(|| format!("executing {sql}"))?;
    conn.close(stmt).await?;
    let rows = rows.iter().map(mysql_row).collect::<Result<_>>()?;
    Ok((names, rows))
}

/// `0x` and lowercase hex digits (`0x` alone for no bytes).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Lists every cell where `got` differs from `want` (rows aligned by position, columns named by
/// `names`), one line each; empty when equal. Extra or missing rows are listed whole.
pub fn diff_rows(names: &[String], want: &[CanonRow], got: &[CanonRow]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..want.len().max(got.len()) {
        match (want.get(i), got.get(i)) {
            (Some(w), Some(g)) => {
                for (c, name) in names.iter().enumerate() {
                    let (w, g) = (w.get(c), g.get(c));
                    if w != g {
                        out.push(format!(
                            "row {i} column {name}: expected {}, got {}",
                            w.map_or("<absent>", String::as_str),
                            g.map_or("<absent>", String::as_str)
                        ));
                    }
                }
                if g.len() != names.len() {
                    out.push(format!(
                        "row {i}: {} cells, expected {}",
                        g.len(),
                        names.len()
                    ));
                }
            }
            (Some(w), None) => out.push(format!("row {i} missing: expected {w:?}")),
            (None, Some(g)) => out.push(format!("row {i} unexpected: got {g:?}")),
            (None, None) => {}
        }
    }
    out
}

/// Fails unless `names` (agent-core's columns) equal `want` (MariaDB's).
pub fn ensure_same_columns(want: &[String], got: &[String], what: &str) -> Result<()> {
    if want != got {
        bail!("{what}: agent-core columns {got:?}, MariaDB has {want:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_api::value::{DateTime, Time};

    #[test]
    fn agent_values_render_canonically() {
        let t: Time = "-838:59:59.000001".parse().expect("time");
        let dt: DateTime = "2026-04-27 09:11:59.12".parse().expect("datetime");
        let row = [
            ApiValue::Null,
            ApiValue::UInt(u64::MAX),
            ApiValue::Float(0.1),
            ApiValue::Bytes(vec![0, 0xab]),
            ApiValue::Time(t),
            ApiValue::DateTime(dt),
        ];
        assert_eq!(
            agent_row(&row),
            [
                "NULL",
                "18446744073709551615",
                "f32:0.1",
                "0x00ab",
                "-838:59:59.000001",
                "2026-04-27 09:11:59.120000"
            ]
        );
    }

    #[test]
    fn diff_names_column_and_both_values() {
        let names = vec!["id".to_owned(), "v".to_owned()];
        let want = vec![vec!["1".to_owned(), "a".to_owned()]];
        let got = vec![vec!["1".to_owned(), "b".to_owned()]];
        assert_eq!(
            diff_rows(&names, &want, &got),
            ["row 0 column v: expected a, got b"]
        );
        assert!(diff_rows(&names, &want, &want).is_empty());
    }
}
