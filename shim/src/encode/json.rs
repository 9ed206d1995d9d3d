//! JSON text for `_diff` rows: `changed_columns` as an array of names, `row_before` /
//! `row_after` as objects keyed by column name with typed JSON values. One rule per column type
//! (`docs/diff-json.md`), never a choice made from the bytes:
//! - integers, floats and DECIMALs: JSON numbers (exact digits, never through f64); a float
//!   that is not finite: `null`;
//! - character columns (CHAR, VARCHAR, TEXT, ENUM, SET) and temporal values: JSON strings in
//!   MySQL's text form;
//! - binary columns (BINARY, VARBINARY, the BLOBs, BIT, GEOMETRY, and character columns in the
//!   `binary` character set): always `"base64:type<N>:<base64>"`, MySQL's JSON spelling of
//!   opaque data, `N` the column's MySQL field type (254 BINARY, 15 VARBINARY, 252 BLOB, 16 BIT,
//!   255 GEOMETRY);
//! - JSON documents embedded as they are; NULL as `null`.
//!
//! A character value the agent could not decode from its character set arrives as bytes; it
//! is written like binary data (base64 with the column's field type), since a JSON string
//! cannot hold it without loss.

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;

use super::text::{format_double, format_float};

/// `["a","b"]`.
pub fn names(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| string(n)).collect();
    format!("[{}]", items.join(","))
}

/// `{"col": value, ...}` for `values` aligned with `columns`.
pub fn object(columns: &[ColumnInfo], values: &[Value]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .zip(values)
        .map(|(c, v)| format!("{}:{}", string(&c.name), value(v, c)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// One value as JSON text.
pub fn value(v: &Value, column: &ColumnInfo) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) if f.is_finite() => format_float(*f),
        Value::Double(f) if f.is_finite() => format_double(*f),
        Value::Float(_) | Value::Double(_) => "null".into(),
        Value::Decimal(s) if is_json_number(s) => s.clone(),
        Value::Text(s) if is_binary(column) => opaque(s.as_bytes(), column),
        Value::Decimal(s) | Value::Text(s) => string(s),
        Value::Json(doc) => doc.clone(),
        Value::Bytes(b) => opaque(b, column),
        Value::Date(d) => string(&d.to_string()),
        Value::Time(t) => string(&t.to_text(column.scale.min(6))),
        Value::DateTime(dt) => string(&dt.to_text(column.scale.min(6))),
    }
}

/// True for a column whose values are bytes, not characters: BINARY, VARBINARY, the BLOBs,
/// BIT, GEOMETRY, and any character column in the `binary` character set.
fn is_binary(column: &ColumnInfo) -> bool {
    use DataType::*;
    matches!(
        column.data_type,
        Binary | VarBinary | TinyBlob | Blob | MediumBlob | LongBlob | Bit | Geometry
    ) || column.charset.as_deref() == Some("binary")
}

/// The MySQL field type number of `column` as MySQL's JSON functions print it for opaque data
/// (`enum_field_types` in `include/field_types.h`): 16 BIT, 255 GEOMETRY, 252 BLOB and TEXT,
/// 254 BINARY and CHAR, 15 VARBINARY and VARCHAR (and any other type).
fn field_type(column: &ColumnInfo) -> u8 {
    use DataType::*;
    match column.data_type {
        Bit => 16,
        Geometry => 255,
        TinyBlob | Blob | MediumBlob | LongBlob | TinyText | Text | MediumText | LongText => 252,
        Binary | Char => 254,
        _ => 15,
    }
}

/// `"base64:type<N>:<base64>"`: bytes as MySQL's JSON functions spell opaque data.
fn opaque(bytes: &[u8], column: &ColumnInfo) -> String {
    string(&format!(
        "base64:type{}:{}",
        field_type(column),
        base64(bytes)
    ))
}

/// A JSON string literal.
fn string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `-?digits[.digits]`: the DECIMAL text forms that are also JSON numbers.
fn is_json_number(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && (int == "0" || !int.starts_with('0'))
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, data_type: DataType) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            data_type,
            column_type: String::new(),
            unsigned: false,
            nullable: true,
            length: 0,
            scale: 6,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        }
    }

    #[test]
    fn typed_values_parse_back() {
        let columns = vec![
            col("id", DataType::Int),
            col("big", DataType::BigInt),
            col("amount", DataType::Decimal),
            col("note", DataType::VarChar),
            col("at", DataType::DateTime),
            col("attrs", DataType::Json),
            col("raw", DataType::Blob),
            col("gone", DataType::VarChar),
        ];
        let values = vec![
            Value::Int(-42),
            Value::UInt(u64::MAX),
            Value::Decimal("12345678901234567890.50".into()),
            Value::Text("say \"hi\"\n".into()),
            Value::DateTime("2026-04-27 09:11:59.5".parse().unwrap()),
            Value::Json("{\"a\": [1, 2]}".into()),
            Value::Bytes(vec![0xFF, 0x00, 0x01]),
            Value::Null,
        ];
        let text = object(&columns, &values);
        assert!(
            text.contains("\"amount\":12345678901234567890.50"),
            "{text}"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["id"], -42);
        assert_eq!(parsed["big"], u64::MAX);
        assert_eq!(parsed["note"], "say \"hi\"\n");
        assert_eq!(parsed["at"], "2026-04-27 09:11:59.500000");
        assert_eq!(parsed["attrs"]["a"][1], 2);
        assert_eq!(parsed["raw"], "base64:type252:/wAB");
        assert!(parsed["gone"].is_null());
        assert_eq!(names(&["a".into(), "b\"".into()]), "[\"a\",\"b\\\"\"]");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert!(!is_json_number("01.5") && is_json_number("0.5") && !is_json_number("1."));
    }

    /// Binary columns are base64 whatever their bytes are (valid UTF-8 included); character
    /// columns are text; undecodable character bytes are base64 under the column's type.
    #[test]
    fn one_rule_per_column_type() {
        let mut char_binary = col("cb", DataType::Char);
        char_binary.charset = Some("binary".into());
        let cases = [
            (
                col("b", DataType::Binary),
                Value::Bytes(b"ab".to_vec()),
                "\"base64:type254:YWI=\"",
            ),
            (
                col("vb", DataType::VarBinary),
                Value::Bytes(b"abc".to_vec()),
                "\"base64:type15:YWJj\"",
            ),
            (
                col("bl", DataType::TinyBlob),
                Value::Bytes(b"abc".to_vec()),
                "\"base64:type252:YWJj\"",
            ),
            (
                col("bl", DataType::LongBlob),
                Value::Bytes(vec![0xFF]),
                "\"base64:type252:/w==\"",
            ),
            (
                col("bit", DataType::Bit),
                Value::Bytes(vec![0x05]),
                "\"base64:type16:BQ==\"",
            ),
            (
                col("g", DataType::Geometry),
                Value::Bytes(vec![0, 0, 0, 0, 1]),
                "\"base64:type255:AAAAAAE=\"",
            ),
            (
                char_binary,
                Value::Bytes(b"a".to_vec()),
                "\"base64:type254:YQ==\"",
            ),
            (
                col("vb", DataType::VarBinary),
                Value::Text("abc".into()),
                "\"base64:type15:YWJj\"",
            ),
            (
                col("v", DataType::VarChar),
                Value::Text("abc".into()),
                "\"abc\"",
            ),
            (col("t", DataType::Text), Value::Text("é".into()), "\"é\""),
            (
                col("e", DataType::Enum),
                Value::Text("new".into()),
                "\"new\"",
            ),
            (
                col("v", DataType::VarChar),
                Value::Bytes(vec![0xFF, 0x41]),
                "\"base64:type15:/0E=\"",
            ),
            (
                col("t", DataType::MediumText),
                Value::Bytes(vec![0xFF]),
                "\"base64:type252:/w==\"",
            ),
        ];
        for (column, v, want) in cases {
            assert_eq!(value(&v, &column), want, "{:?} {v:?}", column.data_type);
        }
    }
}
