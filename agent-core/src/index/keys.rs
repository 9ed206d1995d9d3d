//! Order-preserving ("memcomparable") typed encoding of primary keys, and literal coercion.
//!
//! Comparing two encoded keys bytewise gives the same order as MySQL comparing the key values, so
//! `=`, `IN` and ranges on the PK (composite too) are seeks in the index. Per type:
//! - signed integers and YEAR: 8-byte big-endian with the sign bit flipped;
//! - unsigned integers and ENUM (by index, as MySQL orders ENUM): 8-byte big-endian;
//! - DECIMAL: MySQL's binary decimal, memcomparable for a fixed precision and scale;
//! - FLOAT/DOUBLE: IEEE bits, sign-flipped (all bits inverted for negatives);
//! - DATE/DATETIME/TIMESTAMP/TIME: packed integers in field order;
//! - strings under a collation implemented exactly ([`ExactCollation`]: `utf8mb3`/`utf8mb4`
//!   `_general_ci` and `_bin`, `latin1_swedish_ci`, `latin1_bin`): the collation's weights, each
//!   fixed-width big-endian and followed by one marker byte saying how the rest of the string
//!   compares with the endless spaces PAD SPACE appends (`0x01` less, `0x02` equal = end, `0x03`
//!   greater); trailing space weights are dropped first, the empty string is one space weight.
//!   So 'a\t' < 'a' = 'a ' < 'a b', as MySQL compares them;
//! - `binary` strings and BLOBs: the bytes escaped so that a shorter key sorts before its
//!   extensions: `0x00` → `0x00 0xFF`, terminated by `0x00 0x00`;
//! - strings under other collations: an approximation (case-folded, accents dropped, trailing
//!   spaces dropped) that only keys the index; predicates on such keys are refused
//!   ([`check_predicate_collation`]).

use agent_api::value::{Date, DateTime, Time};
use agent_api::Value;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::capture::decimal;
use crate::schema::{ColumnDef, Decode};

/// A key literal that does not fit the key column's type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("value {value} does not fit key column {column} ({column_type})")]
pub struct KeyTypeError {
    /// Column name.
    pub column: String,
    /// Its `COLUMN_TYPE`.
    pub column_type: String,
    /// The offending literal, shown as JSON.
    pub value: String,
}

/// Appends the encoding of one key column value to `out`. `value` must already have the column's
/// own variant (see [`coerce`]); NULL sorts first (a PK column is never NULL, but a bound may be).
pub fn encode_value(out: &mut Vec<u8>, value: &Value, col: &ColumnDef) {
    match value {
        Value::Null => out.push(0x00),
        Value::Int(v) => {
            out.push(0x01);
            out.extend_from_slice(&((*v as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::UInt(v) => {
            out.push(0x01);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Value::Float(f) => {
            out.push(0x01);
            out.extend_from_slice(&order_float(f64::from(*f)).to_be_bytes());
        }
        Value::Double(f) => {
            out.push(0x01);
            out.extend_from_slice(&order_float(*f).to_be_bytes());
        }
        Value::Decimal(text) => {
            out.push(0x01);
            if let Decode::Decimal { precision, scale } = col.decode {
                out.extend(decimal::encode(text, precision, scale).unwrap_or_default());
            } else {
                escape(out, text.as_bytes());
            }
        }
        Value::Text(s) => {
            out.push(0x01);
            if let Decode::Enum { .. } = col.decode {
                let idx = col
                    .info
                    .elements
                    .iter()
                    .position(|e| e == s)
                    .map_or(0, |i| i + 1);
                out.extend_from_slice(&(idx as u64).to_be_bytes());
            } else if let Some(exact) = col.collation.as_ref().and_then(ExactCollation::of) {
                encode_weights(out, s, exact);
            } else {
                escape(out, &collation_form(s, col));
            }
        }
        Value::Bytes(b) => {
            out.push(0x01);
            escape(out, b);
        }
        Value::Json(s) => {
            out.push(0x01);
            escape(out, s.as_bytes());
        }
        Value::Date(d) => {
            out.push(0x01);
            out.extend_from_slice(&date_ord(d).to_be_bytes());
        }
        Value::DateTime(dt) => {
            out.push(0x01);
            out.extend_from_slice(&datetime_ord(dt).to_be_bytes());
        }
        Value::Time(t) => {
            out.push(0x01);
            out.extend_from_slice(&((time_ord(t) as u64) ^ (1 << 63)).to_be_bytes());
        }
    }
}

/// Encodes a whole key (one value per PK column, in key order).
pub fn encode_key(values: &[&Value], pk_columns: &[&ColumnDef]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for (v, c) in values.iter().zip(pk_columns) {
        encode_value(&mut out, v, c);
    }
    out
}

/// Encodes a whole row image exactly: the identity of a row of a table without a PK (a bag, where
/// two rows are the same only when every value is). Unlike [`encode_key`], strings keep their
/// bytes (no case folding, no dropped trailing spaces): `'a'` and `'A'` are two rows even under a
/// `_ci` collation. Values must be in `columns` order; one value per column.
pub fn encode_image(values: &[Value], columns: &[&ColumnDef]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 * values.len());
    for (v, c) in values.iter().zip(columns) {
        match v {
            Value::Text(s) if !matches!(c.decode, Decode::Enum { .. }) => {
                out.push(0x01);
                escape(&mut out, s.as_bytes());
            }
            _ => encode_value(&mut out, v, c),
        }
    }
    out
}

/// Converts a key literal from a query into the column's own variant, the way MySQL compares a
/// literal with a column: `'42'` matches INT 42, `42` matches DECIMAL `42.00`, `'2026-04-27'`
/// matches a DATE, an ENUM matches by label or by 1-based index.
pub fn coerce(value: &Value, col: &ColumnDef) -> Result<Value, KeyTypeError> {
    let err = || KeyTypeError {
        column: col.info.name.clone(),
        column_type: col.info.column_type.clone(),
        value: serde_json::to_string(value).unwrap_or_default(),
    };
    let as_text = || -> Option<String> {
        match value {
            Value::Int(v) => Some(v.to_string()),
            Value::UInt(v) => Some(v.to_string()),
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => Some(s.trim().to_owned()),
            Value::Bytes(b) => String::from_utf8(b.clone()).ok(),
            Value::Double(f) => Some(f.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Date(d) => Some(d.to_string()),
            Value::DateTime(d) => Some(d.to_string()),
            Value::Time(t) => Some(t.to_string()),
            Value::Null => None,
        }
    };
    if value.is_null() {
        return Ok(Value::Null);
    }
    let coerced = match col.decode {
        Decode::Int { unsigned: true, .. } => as_text()
            .and_then(|t| integral(&t)?.parse().ok())
            .map(Value::UInt),
        Decode::Int {
            unsigned: false, ..
        }
        | Decode::Year => as_text()
            .and_then(|t| integral(&t)?.parse().ok())
            .map(Value::Int),
        Decode::Float => as_text().and_then(|t| t.parse().ok()).map(Value::Float),
        Decode::Double => as_text().and_then(|t| t.parse().ok()).map(Value::Double),
        Decode::Decimal { precision, scale } => as_text()
            .filter(|t| decimal::encode(t, precision, scale).is_some())
            .and_then(|t| {
                let bin = decimal::encode(&t, precision, scale)?;
                decimal::decode(&bin, precision, scale)
            })
            .map(Value::Decimal),
        Decode::Date => as_text()
            .and_then(|t| t.parse::<Date>().ok())
            .map(Value::Date),
        Decode::DateTimeOld
        | Decode::DateTime2 { .. }
        | Decode::TimestampOld
        | Decode::Timestamp2 { .. } => as_text()
            .and_then(|t| parse_datetime(&t))
            .map(Value::DateTime),
        Decode::TimeOld | Decode::Time2 { .. } => as_text()
            .and_then(|t| t.parse::<Time>().ok())
            .map(Value::Time),
        Decode::Enum { .. } => match value {
            Value::Int(n) if *n >= 1 => col
                .info
                .elements
                .get(*n as usize - 1)
                .cloned()
                .map(Value::Text),
            Value::UInt(n) if *n >= 1 => col
                .info
                .elements
                .get(*n as usize - 1)
                .cloned()
                .map(Value::Text),
            _ => as_text()
                .filter(|t| col.info.elements.iter().any(|e| e.eq_ignore_ascii_case(t)))
                .map(|t| {
                    let label = col
                        .info
                        .elements
                        .iter()
                        .find(|e| e.eq_ignore_ascii_case(&t))
                        .cloned();
                    Value::Text(label.unwrap_or(t))
                }),
        },
        Decode::String { collation, .. } | Decode::Blob { collation, .. }
            if collation == crate::schema::BINARY_COLLATION =>
        {
            match value {
                Value::Bytes(b) => Some(Value::Bytes(b.clone())),
                _ => as_text().map(|t| Value::Bytes(t.into_bytes())),
            }
        }
        Decode::String {
            max_len,
            pad_binary: true,
            ..
        } => as_text().map(|t| {
            let mut b = t.into_bytes();
            b.resize(usize::from(max_len).max(b.len()), 0);
            Value::Bytes(b)
        }),
        Decode::String { .. } | Decode::Blob { .. } => {
            // A string literal keeps its leading and trailing whitespace: '\t' and ' a' are
            // keys of their own.
            let text = match value {
                Value::Text(s) => Some(s.clone()),
                _ => as_text(),
            };
            let latin1 = col
                .collation
                .as_ref()
                .is_some_and(|c| c.charset == "latin1");
            text.filter(|t| !latin1 || t.chars().all(|ch| latin1_byte(ch).is_some()))
                .map(Value::Text)
        }
        Decode::Set { .. } => as_text().map(Value::Text),
        Decode::Special { kind, .. } => as_text().and_then(|t| kind.canonical(&t)).map(Value::Text),
        Decode::Bit { .. } => match value {
            Value::Bytes(b) => Some(Value::Bytes(b.clone())),
            _ => None,
        },
    };
    coerced.ok_or_else(err)
}

/// `"42"`, `"42.000"` → `"42"`; `"42.5"` → None (it matches no integer key).
fn integral(text: &str) -> Option<&str> {
    match text.split_once('.') {
        None => Some(text),
        Some((int, frac)) if frac.bytes().all(|b| b == b'0') => Some(int),
        Some(_) => None,
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.f]]` and the ISO `T` separator.
fn parse_datetime(text: &str) -> Option<DateTime> {
    let text = text.replacen('T', " ", 1);
    if let Ok(dt) = text.parse::<DateTime>() {
        return Some(dt);
    }
    text.parse::<Date>().ok().map(|date| DateTime {
        date,
        ..DateTime::default()
    })
}

/// A collation whose order and equality the key encoding reproduces exactly (weights from
/// [`super::collation_tables`], checked against MariaDB by `integration/tests/collation_order.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactCollation {
    /// `utf8mb3_general_ci` / `utf8mb4_general_ci`: one 16-bit weight per character (the BMP
    /// table); every supplementary character weighs U+FFFD (MariaDB `strings/ctype-utf8.c`).
    Utf8GeneralCi,
    /// `utf8mb3_bin` / `utf8mb4_bin`: the code point, PAD SPACE.
    Utf8Bin,
    /// `latin1_swedish_ci`: MariaDB `sort_order_latin1` over the cp1252 byte.
    Latin1SwedishCi,
    /// `latin1_bin`: the cp1252 byte, PAD SPACE.
    Latin1Bin,
}

impl ExactCollation {
    /// The exact implementation of `c`, if there is one.
    pub fn of(c: &crate::schema::Collation) -> Option<Self> {
        match c.name.as_str() {
            "utf8mb4_general_ci" | "utf8mb3_general_ci" | "utf8_general_ci" => {
                Some(Self::Utf8GeneralCi)
            }
            "utf8mb4_bin" | "utf8mb3_bin" | "utf8_bin" => Some(Self::Utf8Bin),
            "latin1_swedish_ci" => Some(Self::Latin1SwedishCi),
            "latin1_bin" => Some(Self::Latin1Bin),
            _ => None,
        }
    }

    /// Bytes per weight.
    fn width(self) -> usize {
        match self {
            Self::Utf8GeneralCi => 2,
            Self::Utf8Bin => 3,
            Self::Latin1SwedishCi | Self::Latin1Bin => 1,
        }
    }

    /// The weight of one character. Characters latin1 cannot hold (never in captured data; a
    /// literal with one is refused by [`coerce`]) weigh as `?`, the character MySQL converts
    /// them to.
    fn weight(self, ch: char) -> u32 {
        match self {
            Self::Utf8GeneralCi => {
                let cp = u32::from(ch);
                if cp > 0xFFFF {
                    return 0xFFFD;
                }
                let t = super::collation_tables::GENERAL_CI_EXCEPTIONS;
                match t.binary_search_by_key(&(cp as u16), |&(c, _)| c) {
                    Ok(i) => u32::from(t[i].1),
                    Err(_) => cp,
                }
            }
            Self::Utf8Bin => u32::from(ch),
            Self::Latin1SwedishCi => u32::from(
                super::collation_tables::LATIN1_SWEDISH_CI
                    [usize::from(latin1_byte(ch).unwrap_or(b'?'))],
            ),
            Self::Latin1Bin => u32::from(latin1_byte(ch).unwrap_or(b'?')),
        }
    }
}

/// The latin1 (cp1252, as MySQL defines latin1) byte of `ch`, if latin1 has it.
pub fn latin1_byte(ch: char) -> Option<u8> {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    let cp = u32::from(ch);
    match cp {
        0..=0x7F | 0xA0..=0xFF => Some(cp as u8),
        _ => HIGH.iter().position(|&c| c == ch).map(|i| 0x80 + i as u8),
    }
}

/// Space weight of every [`ExactCollation`] (U+0020 weighs 0x20 in each).
const SPACE_WEIGHT: u32 = 0x20;

/// Appends the PAD SPACE weight encoding of `s` (see the module comment).
fn encode_weights(out: &mut Vec<u8>, s: &str, c: ExactCollation) {
    let mut weights: Vec<u32> = s.chars().map(|ch| c.weight(ch)).collect();
    while weights.last() == Some(&SPACE_WEIGHT) {
        weights.pop();
    }
    if weights.is_empty() {
        weights.push(SPACE_WEIGHT);
    }
    // markers[i]: how weights[i+1..] compare with endless spaces.
    let mut markers = vec![0x02u8; weights.len()];
    let mut rest = 0x02u8;
    for i in (0..weights.len()).rev() {
        markers[i] = rest;
        rest = match weights[i].cmp(&SPACE_WEIGHT) {
            std::cmp::Ordering::Less => 0x01,
            std::cmp::Ordering::Equal => rest,
            std::cmp::Ordering::Greater => 0x03,
        };
    }
    let width = c.width();
    for (w, m) in weights.iter().zip(markers) {
        out.extend_from_slice(&w.to_be_bytes()[4 - width..]);
        out.push(m);
    }
}

/// Refuses a key predicate (`=`, `IN`, range) on a string key column whose collation the key
/// encoding only approximates: its answer could hold wrong rows or miss right ones. The error
/// names the column and the collation.
pub fn check_predicate_collation(col: &ColumnDef) -> Result<(), String> {
    let stringy = matches!(col.decode, Decode::String { .. } | Decode::Blob { .. })
        && !matches!(col.decode, Decode::Enum { .. });
    match &col.collation {
        Some(c) if stringy && c.charset != "binary" && ExactCollation::of(c).is_none() => {
            Err(format!(
            "key column {} uses collation {}, whose order the index does not reproduce exactly; \
             conditions on it as a key are not supported (use a condition on another column, or \
             read the table without one)",
            col.info.name, c.name
        ))
        }
        _ => Ok(()),
    }
}

/// The comparison form of a string under the column's collation: trailing spaces dropped for PAD
/// SPACE collations; for `_ci` collations, accents removed (canonical decomposition without
/// combining marks, unless the collation is accent-sensitive `_as_`) and letters upper-cased. This
/// is the equivalence `utf8mb4_general_ci` / `_unicode_ci` / `_0900_ai_ci` apply to Latin text
/// ('é' = 'E'); language-specific tailorings (e.g. German ß = ss) are not modelled.
fn collation_form(s: &str, col: &ColumnDef) -> Vec<u8> {
    let Some(c) = &col.collation else {
        return s.as_bytes().to_vec();
    };
    let s = if c.pads_space() {
        s.trim_end_matches(' ')
    } else {
        s
    };
    if !c.is_case_insensitive() {
        return s.as_bytes().to_vec();
    }
    let strip_accents = !c.name.contains("_as_");
    s.nfd()
        .filter(|ch| !(strip_accents && is_combining_mark(*ch)))
        .flat_map(char::to_uppercase)
        .collect::<String>()
        .into_bytes()
}

fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn order_float(f: f64) -> u64 {
    let bits = f.to_bits();
    if f.is_sign_negative() {
        !bits
    } else {
        bits | (1 << 63)
    }
}

fn date_ord(d: &Date) -> u32 {
    u32::from(d.year) << 9 | u32::from(d.month) << 5 | u32::from(d.day)
}

fn datetime_ord(dt: &DateTime) -> u64 {
    let hms = u64::from(dt.hour) << 12 | u64::from(dt.minute) << 6 | u64::from(dt.second);
    (u64::from(date_ord(&dt.date)) << 17 | hms) << 20 | u64::from(dt.micros)
}

fn time_ord(t: &Time) -> i64 {
    let abs = ((i64::from(t.hours) * 60 + i64::from(t.minutes)) * 60 + i64::from(t.seconds))
        * 1_000_000
        + i64::from(t.micros);
    if t.negative {
        -abs
    } else {
        abs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Collations, TableSchema};
    use agent_api::catalog::{ColumnInfo, DataType};

    fn col(decode: Decode, collation: Option<u16>) -> ColumnDef {
        ColumnDef {
            info: ColumnInfo {
                name: "k".into(),
                data_type: DataType::Int,
                column_type: "int".into(),
                unsigned: false,
                nullable: false,
                length: 11,
                scale: 0,
                charset: None,
                collation_id: collation,
                elements: vec![],
            },
            decode,
            collation: collation.map(|id| Collations::builtin().get(id)),
        }
    }

    fn key(v: Value, c: &ColumnDef) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&mut out, &coerce(&v, c).unwrap(), c);
        out
    }

    #[test]
    fn whole_images_are_compared_exactly() {
        let ci = col(
            Decode::String {
                max_len: 40,
                collation: 45,
                pad_binary: false,
            },
            Some(45),
        );
        let n = col(
            Decode::Int {
                bytes: 4,
                unsigned: false,
            },
            None,
        );
        let cols = [&n, &ci];
        let image = |a: i64, b: &str| vec![Value::Int(a), Value::Text(b.into())];
        let enc = |v: &[Value]| encode_image(v, &cols);
        // The PK encoding folds case and trailing spaces; a bag's identity does not.
        assert_eq!(
            key(Value::Text("a".into()), &ci),
            key(Value::Text("A ".into()), &ci)
        );
        assert_ne!(enc(&image(1, "a")), enc(&image(1, "A")));
        assert_ne!(enc(&image(1, "a")), enc(&image(1, "a ")));
        assert_eq!(enc(&image(1, "a")), enc(&image(1, "a")));
        assert_ne!(enc(&image(1, "a")), enc(&image(2, "a")));
        assert_ne!(
            enc(&[Value::Int(1), Value::Null]),
            enc(&[Value::Int(1), Value::Text(String::new())])
        );
    }

    #[test]
    fn signed_integers_order() {
        let c = col(
            Decode::Int {
                bytes: 4,
                unsigned: false,
            },
            None,
        );
        let keys: Vec<_> = [-5i64, -1, 0, 1, 42]
            .iter()
            .map(|v| key(Value::Int(*v), &c))
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(key(Value::Text("42".into()), &c), key(Value::Int(42), &c));
        assert!(coerce(&Value::Text("42.5".into()), &c).is_err());
    }

    #[test]
    fn strings_follow_the_collation() {
        let ci = col(
            Decode::String {
                max_len: 256,
                collation: 45,
                pad_binary: false,
            },
            Some(45),
        );
        assert_eq!(
            key(Value::Text("Abc ".into()), &ci),
            key(Value::Text("aBC".into()), &ci)
        );
        assert_eq!(
            key(Value::Text("é".into()), &ci),
            key(Value::Text("E".into()), &ci)
        );
        assert_ne!(
            key(Value::Text("é".into()), &ci),
            key(Value::Text("F".into()), &ci)
        );
        let bin = col(
            Decode::String {
                max_len: 256,
                collation: 46,
                pad_binary: false,
            },
            Some(46),
        );
        assert_ne!(
            key(Value::Text("Abc".into()), &bin),
            key(Value::Text("abc".into()), &bin)
        );
        // PAD SPACE: characters below space sort before the end of a shorter string.
        assert!(key(Value::Text("ab".into()), &bin) > key(Value::Text("ab\0".into()), &bin));
        assert!(key(Value::Text("ab".into()), &bin) < key(Value::Text("abc".into()), &bin));
        let t = |s: &str, c: &ColumnDef| key(Value::Text(s.into()), c);
        assert!(t("a\t", &ci) < t("a", &ci));
        assert_eq!(t("a", &ci), t("a  ", &ci));
        assert!(t("a", &ci) < t("a b", &ci));
        assert!(t("a  b", &ci) < t("a b", &ci));
        assert!(t("\t", &ci) < t("", &ci));
        // Leading whitespace is kept by literals.
        assert_ne!(t("\n\n", &ci), t("", &ci));
        // Every supplementary character weighs U+FFFD under general_ci.
        assert_eq!(t("😀", &ci), t("😁", &ci));
        assert_eq!(t("a😀", &ci), t("a\u{FFFD}", &ci));
        assert_ne!(t("😀", &bin), t("😁", &bin));
        let sw = col(
            Decode::String {
                max_len: 40,
                collation: 8,
                pad_binary: false,
            },
            Some(8),
        );
        assert_eq!(t("É  ", &sw), t("e", &sw));
        assert!(t("Z", &sw) < t("Ä", &sw));
        assert!(coerce(&Value::Text("中".into()), &sw).is_err());
    }

    #[test]
    fn inexact_collations_refuse_key_predicates() {
        let unicode = col(
            Decode::String {
                max_len: 40,
                collation: 224,
                pad_binary: false,
            },
            Some(224),
        );
        let err = check_predicate_collation(&unicode).unwrap_err();
        assert!(err.contains("utf8mb4_unicode_ci"), "{err}");
        let general = col(
            Decode::String {
                max_len: 40,
                collation: 45,
                pad_binary: false,
            },
            Some(45),
        );
        assert!(check_predicate_collation(&general).is_ok());
    }

    #[test]
    fn composite_prefixes_sort_first() {
        let a = col(
            Decode::Int {
                bytes: 4,
                unsigned: false,
            },
            None,
        );
        let b = col(
            Decode::String {
                max_len: 40,
                collation: 46,
                pad_binary: false,
            },
            Some(46),
        );
        let k1 = encode_key(&[&Value::Int(1), &Value::Text("a".into())], &[&a, &b]);
        let k2 = encode_key(&[&Value::Int(1), &Value::Text("b".into())], &[&a, &b]);
        let k3 = encode_key(&[&Value::Int(2), &Value::Text("".into())], &[&a, &b]);
        assert!(k1 < k2 && k2 < k3);
        let _ = TableSchema {
            schema: String::new(),
            name: String::new(),
            columns: vec![],
            pk: vec![],
        };
    }

    #[test]
    fn decimals_and_times_order() {
        let d = col(
            Decode::Decimal {
                precision: 12,
                scale: 2,
            },
            None,
        );
        assert!(key(Value::Decimal("-1.5".into()), &d) < key(Value::Int(0), &d));
        assert_eq!(
            key(Value::Int(42), &d),
            key(Value::Decimal("42.00".into()), &d)
        );
        let t = col(Decode::Time2 { fsp: 0 }, None);
        assert!(key(Value::Text("-01:00:00".into()), &t) < key(Value::Text("00:00:00".into()), &t));
        let dt = col(Decode::DateTime2 { fsp: 6 }, None);
        assert!(
            key(Value::Text("2026-04-27".into()), &dt)
                < key(Value::Text("2026-04-27 00:00:00.000001".into()), &dt)
        );
    }
}
