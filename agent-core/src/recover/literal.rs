//! Exact SQL literals and quoted identifiers for generated scripts (recovery, export).
//!
//! Every [`Value`] becomes text that MySQL and MariaDB read back as the same value, whatever the
//! session's `sql_mode` (no backslash escapes are relied on), provided the script first runs
//! `SET NAMES utf8mb4` and `SET time_zone = '+00:00'` (TIMESTAMP values travel as UTC wall time):
//!
//! | value | literal |
//! |---|---|
//! | NULL | `NULL` |
//! | Int / UInt | decimal digits, full 64-bit range (`18446744073709551615`) |
//! | Float | the FLOAT widened to DOUBLE, shortest round-trip form with exponent (`1.100000023841858e0`), so a FLOAT column compares equal to it and stores the same bits |
//! | Double | shortest round-trip form with exponent (`-2.5e300`): a DOUBLE literal, never DECIMAL |
//! | Decimal | the exact text (`-12.50`): an exact DECIMAL literal |
//! | Text (also ENUM/SET labels) | `'…'` with `'` doubled; text holding a backslash or a control character is `_utf8mb4 X'…'` instead, so it neither depends on `NO_BACKSLASH_ESCAPES` nor spans lines |
//! | Bytes | `X'…'` (`X''` when empty) |
//! | Date / Time / DateTime | `'2026-04-27'`, `'-838:59:59.000000'`, `'2026-04-27 09:11:59.000001'` (all six fraction digits) |
//! | Json | `CAST('…' AS JSON)` (only MySQL sends binary JSON; MariaDB's JSON is text) |
//!
//! [`push_column_literal`] knows the column: a BIT value (bytes, big-endian) is written as its
//! unsigned integer, since comparing a BIT column with a hex string is a DECIMAL conversion error
//! in strict mode (MariaDB error 1292).

use std::fmt::Write as _;

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;

/// A value that has no SQL literal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LiteralError {
    /// NaN or an infinity: MySQL columns cannot hold them.
    #[error("non-finite floating-point value {0} has no SQL literal")]
    NonFinite(f64),
    /// DECIMAL text that is not `[-+]digits[.digits]`.
    #[error("malformed DECIMAL text {0:?}")]
    Decimal(String),
}

/// `` `name` `` with embedded backquotes doubled.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `` `schema`.`table` ``.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// The literal of `v` as text (see the module table).
pub fn literal(v: &Value) -> Result<String, LiteralError> {
    let mut out = String::new();
    push_literal(&mut out, v)?;
    Ok(out)
}

/// Appends the literal of `v` as a value of column `col` (BIT as an integer, see the module doc).
pub fn push_column_literal(
    out: &mut String,
    v: &Value,
    col: &ColumnInfo,
) -> Result<(), LiteralError> {
    match v {
        Value::Bytes(b) if col.data_type == DataType::Bit && b.len() <= 8 => {
            let n = b.iter().fold(0u64, |acc, byte| acc << 8 | u64::from(*byte));
            let _ = write!(out, "{n}");
            Ok(())
        }
        _ => push_literal(out, v),
    }
}

/// Appends the literal of `v` to `out` (see the module table).
pub fn push_literal(out: &mut String, v: &Value) -> Result<(), LiteralError> {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => push_double(out, f64::from(*f))?,
        Value::Double(d) => push_double(out, *d)?,
        Value::Decimal(s) => {
            if !is_decimal_text(s) {
                return Err(LiteralError::Decimal(s.clone()));
            }
            out.push_str(s);
        }
        Value::Text(s) => push_text(out, s),
        Value::Bytes(b) => push_hex(out, b),
        Value::Date(d) => {
            let _ = write!(out, "'{d}'");
        }
        Value::Time(t) => {
            let _ = write!(out, "'{}'", t.to_text(6));
        }
        Value::DateTime(dt) => {
            let _ = write!(out, "'{}'", dt.to_text(6));
        }
        Value::Json(s) => {
            out.push_str("CAST(");
            push_text(out, s);
            out.push_str(" AS JSON)");
        }
    }
    Ok(())
}

fn push_double(out: &mut String, d: f64) -> Result<(), LiteralError> {
    if !d.is_finite() {
        return Err(LiteralError::NonFinite(d));
    }
    // `{:e}` is Rust's shortest round-trip digits with an exponent: MySQL reads it as a DOUBLE.
    let _ = write!(out, "{d:e}");
    Ok(())
}

fn push_text(out: &mut String, s: &str) {
    if s.chars().any(|c| c == '\\' || c.is_control()) {
        out.push_str("_utf8mb4 ");
        push_hex(out, s.as_bytes());
        return;
    }
    out.push('\'');
    out.push_str(&s.replace('\'', "''"));
    out.push('\'');
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    out.push_str("X'");
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out.push('\'');
}

fn is_decimal_text(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Value) -> String {
        literal(&v).unwrap()
    }

    #[test]
    fn null_and_integers_are_exact() {
        assert_eq!(lit(Value::Null), "NULL");
        assert_eq!(lit(Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(lit(Value::Int(0)), "0");
        assert_eq!(lit(Value::UInt(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn floats_are_double_literals_that_round_trip() {
        // FLOAT 1.1 is stored as the nearest binary32; widened, it is what MySQL compares with.
        let f = lit(Value::Float(1.1));
        assert_eq!(f, "1.100000023841858e0");
        assert_eq!(f.parse::<f64>().unwrap() as f32, 1.1f32);
        assert_eq!(lit(Value::Double(-2.5e300)), "-2.5e300");
        assert_eq!(lit(Value::Double(0.1)), "1e-1");
        assert_eq!(lit(Value::Double(123456.789)), "1.23456789e5");
        let third = lit(Value::Double(1.0 / 3.0));
        assert_eq!(third.parse::<f64>().unwrap(), 1.0 / 3.0);
        assert_eq!(
            literal(&Value::Double(f64::NAN)).unwrap_err().to_string(),
            "non-finite floating-point value NaN has no SQL literal"
        );
        assert!(literal(&Value::Float(f32::INFINITY)).is_err());
    }

    #[test]
    fn decimals_are_kept_as_text_and_checked() {
        assert_eq!(
            lit(Value::Decimal("-12345678901234567890.123456".into())),
            "-12345678901234567890.123456"
        );
        assert_eq!(lit(Value::Decimal("0.00".into())), "0.00");
        for bad in ["", "1.", ".5", "1e5", "1;DROP", "--1"] {
            assert!(literal(&Value::Decimal(bad.into())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_quotes_doubled_and_risky_text_as_hex() {
        assert_eq!(lit(Value::Text(String::new())), "''");
        assert_eq!(lit(Value::Text("it's".into())), "'it''s'");
        assert_eq!(lit(Value::Text("héllo ✓".into())), "'héllo ✓'");
        assert_eq!(lit(Value::Text("a\\b".into())), "_utf8mb4 X'615C62'");
        assert_eq!(lit(Value::Text("l1\nl2".into())), "_utf8mb4 X'6C310A6C32'");
        assert_eq!(lit(Value::Text("\0".into())), "_utf8mb4 X'00'");
        // ENUM and SET labels travel as text.
        assert_eq!(lit(Value::Text("paid,shipped".into())), "'paid,shipped'");
    }

    #[test]
    fn bytes_are_hex() {
        assert_eq!(lit(Value::Bytes(Vec::new())), "X''");
        assert_eq!(lit(Value::Bytes(vec![0, 0xff, b'\'', 0x80])), "X'00FF2780'");
    }

    #[test]
    fn temporal_values_keep_every_fraction_digit() {
        assert_eq!(
            lit(Value::Date("0000-00-00".parse().unwrap())),
            "'0000-00-00'"
        );
        assert_eq!(
            lit(Value::Time("-838:59:59.000001".parse().unwrap())),
            "'-838:59:59.000001'"
        );
        assert_eq!(
            lit(Value::DateTime("2026-04-27 09:11:59.5".parse().unwrap())),
            "'2026-04-27 09:11:59.500000'"
        );
    }

    #[test]
    fn json_is_cast() {
        assert_eq!(
            lit(Value::Json(r#"{"a": "it's"}"#.into())),
            r#"CAST('{"a": "it''s"}' AS JSON)"#
        );
    }

    #[test]
    fn bit_columns_take_integers() {
        let col = ColumnInfo {
            name: "b".into(),
            data_type: DataType::Bit,
            column_type: "bit(16)".into(),
            unsigned: false,
            nullable: true,
            length: 16,
            scale: 0,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        };
        let render = |v: Value, col: &ColumnInfo| {
            let mut out = String::new();
            push_column_literal(&mut out, &v, col).unwrap();
            out
        };
        assert_eq!(render(Value::Bytes(vec![0x0A, 0xAA]), &col), "2730");
        assert_eq!(
            render(Value::Bytes(vec![0xFF; 8]), &col),
            "18446744073709551615"
        );
        assert_eq!(render(Value::Null, &col), "NULL");
        let blob = ColumnInfo {
            data_type: DataType::Blob,
            ..col
        };
        assert_eq!(render(Value::Bytes(vec![0x0A, 0xAA]), &blob), "X'0AAA'");
    }

    #[test]
    fn identifiers_double_backquotes() {
        assert_eq!(ident("order"), "`order`");
        assert_eq!(ident("we`ird"), "`we``ird`");
        assert_eq!(qualified("shop", "t"), "`shop`.`t`");
    }
}
