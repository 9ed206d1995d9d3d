//! Table schemas as capture sees them: column types, names, PK and ENUM/SET labels, from the
//! TABLE_MAP event's optional metadata (`binlog_row_metadata=FULL`, MySQL 8.0.1+ / MariaDB 10.5+),
//! completed from `information_schema` when the source does not send it.

use std::collections::HashMap;

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};
use serde::{Deserialize, Serialize};

/// Binlog column type codes (`enum_field_types` in MySQL's `include/field_types.h`).
#[allow(missing_docs)]
pub mod binlog_type {
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    /// MySQL 9 `VECTOR(n)`: `n` little-endian float32 behind a length prefix.
    pub const VECTOR: u8 = 242;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// The MySQL collation id of the `binary` pseudo-charset.
pub const BINARY_COLLATION: u16 = 63;

/// A collation of the source, from `information_schema.COLLATIONS` (built-in defaults otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    /// Collation name, e.g. `utf8mb4_general_ci`.
    pub name: String,
    /// Character set name, e.g. `utf8mb4`.
    pub charset: String,
    /// Maximum bytes per character (`CHARACTER_SETS.MAXLEN`).
    pub max_len: u8,
}

impl Collation {
    /// Case- (and accent-) insensitive comparison, as the `_ci` suffix says.
    pub fn is_case_insensitive(&self) -> bool {
        self.name.contains("_ci")
    }

    /// Trailing spaces are insignificant in comparisons (PAD SPACE); NO PAD collations are MySQL 8's
    /// `_0900_` family and MariaDB's `_nopad_` ones.
    pub fn pads_space(&self) -> bool {
        !(self.name.contains("_0900_") || self.name.contains("nopad") || self.charset == "binary")
    }
}

/// Collation id → collation, as the source reports them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Collations(pub HashMap<u16, Collation>);

impl Collations {
    /// The collations every MySQL and MariaDB server has, used until the source's list is loaded.
    pub fn builtin() -> Self {
        let rows: [(u16, &str, &str, u8); 19] = [
            (8, "latin1_swedish_ci", "latin1", 1),
            (35, "ucs2_general_ci", "ucs2", 2),
            (54, "utf16_general_ci", "utf16", 4),
            (55, "utf16_bin", "utf16", 4),
            (56, "utf16le_general_ci", "utf16le", 4),
            (60, "utf32_general_ci", "utf32", 4),
            (61, "utf32_bin", "utf32", 4),
            (90, "ucs2_bin", "ucs2", 2),
            (11, "ascii_general_ci", "ascii", 1),
            (33, "utf8mb3_general_ci", "utf8mb3", 3),
            (45, "utf8mb4_general_ci", "utf8mb4", 4),
            (46, "utf8mb4_bin", "utf8mb4", 4),
            (47, "latin1_bin", "latin1", 1),
            (48, "latin1_general_ci", "latin1", 1),
            (63, "binary", "binary", 1),
            (83, "utf8mb3_bin", "utf8mb3", 3),
            (192, "utf8mb3_unicode_ci", "utf8mb3", 3),
            (224, "utf8mb4_unicode_ci", "utf8mb4", 4),
            (255, "utf8mb4_0900_ai_ci", "utf8mb4", 4),
        ];
        Collations(
            rows.into_iter()
                .map(|(id, name, charset, max_len)| {
                    let c = Collation {
                        name: name.into(),
                        charset: charset.into(),
                        max_len,
                    };
                    (id, c)
                })
                .collect(),
        )
    }

    /// The collation with this id; unknown ids are treated as a 4-byte UTF-8 collation.
    pub fn get(&self, id: u16) -> Collation {
        self.0.get(&id).cloned().unwrap_or_else(|| Collation {
            name: format!("collation_{id}"),
            charset: "utf8mb4".into(),
            max_len: 4,
        })
    }
}

/// How a column's bytes in a row image decode; one per column, built once per TABLE_MAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decode {
    /// Little-endian integer of 1, 2, 3, 4 or 8 bytes.
    Int {
        /// Width in bytes.
        bytes: u8,
        /// UNSIGNED.
        unsigned: bool,
    },
    /// 4-byte IEEE float.
    Float,
    /// 8-byte IEEE double.
    Double,
    /// Binary DECIMAL (see `capture::decimal`).
    Decimal {
        /// Total digits.
        precision: u8,
        /// Fraction digits.
        scale: u8,
    },
    /// 1 byte, 0 or 1900 + n.
    Year,
    /// 3 bytes little-endian `day | month << 5 | year << 9`.
    Date,
    /// Pre-5.6 TIME: 3-byte little-endian signed `HHMMSS`.
    TimeOld,
    /// TIME2 with `fsp` fractional digits.
    Time2 {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// Pre-5.6 DATETIME: 8-byte little-endian `YYYYMMDDhhmmss`.
    DateTimeOld,
    /// DATETIME2 with `fsp` fractional digits.
    DateTime2 {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// Pre-5.6 TIMESTAMP: 4-byte little-endian seconds since the epoch.
    TimestampOld,
    /// TIMESTAMP2: 4-byte big-endian seconds plus fraction.
    Timestamp2 {
        /// Fractional-second digits.
        fsp: u8,
    },
    /// Length-prefixed string (VARCHAR, CHAR, BINARY): prefix of 1 byte when `max_len < 256`, else 2.
    String {
        /// Maximum length in bytes.
        max_len: u16,
        /// Collation id (63 = binary).
        collation: u16,
        /// BINARY(n): re-pad with 0x00 to `max_len` (MySQL strips the pad in row images).
        pad_binary: bool,
    },
    /// BLOB/TEXT/JSON/GEOMETRY: a `prefix`-byte little-endian length then the bytes.
    Blob {
        /// Length prefix width, 1..=4.
        prefix: u8,
        /// Collation id (63 = binary).
        collation: u16,
        /// MySQL binary JSON (type 245).
        json: bool,
    },
    /// ENUM stored as a 1- or 2-byte index (1-based).
    Enum {
        /// Width in bytes.
        bytes: u8,
    },
    /// SET stored as a 1..=8-byte little-endian bitmask.
    Set {
        /// Width in bytes.
        bytes: u8,
    },
    /// MariaDB's UUID, INET4 and INET6: fixed binary in the row image, served as text.
    Special {
        /// Which type.
        kind: SpecialType,
        /// Bytes in the row image (16, 4 or 16).
        max_len: u16,
    },
    /// BIT(n): `bytes` big-endian bytes.
    Bit {
        /// Width in bytes.
        bytes: u8,
    },
}

/// MariaDB data types that the binlog shows as BINARY(n) (MariaDB 10.7+ UUID, 10.10+ INET4, 10.5+
/// INET6); only `information_schema.COLUMNS.DATA_TYPE` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpecialType {
    /// 16 bytes, shown `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    Uuid,
    /// 4 bytes, shown dotted-quad.
    Inet4,
    /// 16 bytes, shown as an IPv6 address (IPv4-mapped ones as `::ffff:a.b.c.d`).
    Inet6,
}

impl SpecialType {
    /// The type named by a `COLUMN_TYPE` / `DATA_TYPE`, if it is one of these.
    pub fn from_column_type(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "uuid" => Some(Self::Uuid),
            "inet4" => Some(Self::Inet4),
            "inet6" => Some(Self::Inet6),
            _ => None,
        }
    }

    /// The text form of the stored bytes (MariaDB keeps them in display order).
    pub fn render(self, b: &[u8]) -> Option<String> {
        match (self, b.len()) {
            (Self::Uuid, 16) => {
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                Some(format!(
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                ))
            }
            (Self::Inet4, 4) => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
            (Self::Inet6, 16) => {
                let octets: [u8; 16] = b.try_into().ok()?;
                Some(std::net::Ipv6Addr::from(octets).to_string())
            }
            _ => None,
        }
    }

    /// Canonical text of a literal (parsed and printed back), so equal values compare equal.
    pub fn canonical(self, text: &str) -> Option<String> {
        let t = text.trim();
        match self {
            Self::Uuid => {
                let hex: String = t.chars().filter(|c| *c != '-').collect();
                let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect();
                bytes
                    .filter(|b| b.len() == 16 && hex.len() == 32)
                    .and_then(|b| self.render(&b))
            }
            Self::Inet4 => t.parse::<std::net::Ipv4Addr>().ok().map(|a| a.to_string()),
            Self::Inet6 => t.parse::<std::net::Ipv6Addr>().ok().map(|a| a.to_string()),
        }
    }
}

/// The `information_schema` columns that appear in row images, in order, when they line up with
/// the TABLE_MAP's columns: all of them, or all but VIRTUAL generated ones.
fn stored_columns<'a>(
    schema: &TableSchema,
    cols: &'a [InformationSchemaColumn],
) -> Option<Vec<&'a InformationSchemaColumn>> {
    let stored: Vec<&InformationSchemaColumn> = if cols.len() == schema.columns.len() {
        cols.iter().collect()
    } else {
        cols.iter().filter(|c| !c.is_virtual).collect()
    };
    (stored.len() == schema.columns.len()).then_some(stored)
}

/// Switches BINARY(16)/BINARY(4) columns that `information_schema` names UUID, INET4 or INET6 to
/// their text form (matched by position, like [`apply_information_schema`]).
pub fn apply_special_types(schema: &mut TableSchema, cols: &[InformationSchemaColumn]) {
    let Some(stored) = stored_columns(schema, cols) else {
        return;
    };
    for (col, info) in schema.columns.iter_mut().zip(stored) {
        let Decode::String {
            max_len,
            pad_binary: true,
            ..
        } = col.decode
        else {
            continue;
        };
        let Some(kind) = SpecialType::from_column_type(&info.column_type) else {
            continue;
        };
        let fits = matches!(
            (kind, max_len),
            (SpecialType::Uuid | SpecialType::Inet6, 16) | (SpecialType::Inet4, 4)
        );
        if !fits {
            continue;
        }
        col.decode = Decode::Special { kind, max_len };
        col.collation = None;
        let (data_type, column_type, length, scale) = describe(&col.decode, None, &[]);
        col.info.data_type = data_type;
        col.info.column_type = column_type;
        col.info.length = length;
        col.info.scale = scale;
        col.info.charset = None;
        col.info.collation_id = None;
    }
}

impl Decode {
    /// A binary string of 4 or 16 bytes: possibly MariaDB's UUID/INET4/INET6.
    pub fn may_be_special(&self) -> bool {
        matches!(
            self,
            Decode::String {
                max_len: 4 | 16,
                pad_binary: true,
                ..
            }
        )
    }
}

/// One column of a schema version: the API description plus how to decode it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// What clients see.
    pub info: ColumnInfo,
    /// How row images encode it.
    pub decode: Decode,
    /// Collation used to compare it as a key (strings only).
    #[serde(default)]
    pub collation: Option<Collation>,
}

/// A table at one schema version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<ColumnDef>,
    /// Indexes into `columns` of the PK, in key order.
    pub pk: Vec<usize>,
}

impl TableSchema {
    /// The API view of this schema version.
    pub fn to_info(&self) -> TableInfo {
        TableInfo {
            schema: self.schema.clone(),
            name: self.name.clone(),
            columns: self.columns.iter().map(|c| c.info.clone()).collect(),
            primary_key: self
                .pk
                .iter()
                .map(|&i| self.columns[i].info.name.clone())
                .collect(),
        }
    }
}

/// Column facts from `information_schema.COLUMNS`, for sources without full row metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InformationSchemaColumn {
    /// `COLUMN_NAME`.
    pub name: String,
    /// `COLUMN_TYPE`, e.g. `int(10) unsigned`, `enum('a','b')`.
    pub column_type: String,
    /// `COLLATION_NAME` (string columns).
    pub collation: Option<String>,
    /// Position within the PRIMARY index (`STATISTICS.SEQ_IN_INDEX`), 0 when not in the PK.
    pub pk_seq: u32,
    /// `EXTRA` mentions a VIRTUAL generated column (absent from row images on MariaDB).
    pub is_virtual: bool,
}

/// Completes a schema built from a TABLE_MAP without optional metadata with what
/// `information_schema` says: names, PK, signedness, ENUM/SET labels and collations. Columns are
/// matched by position; VIRTUAL generated columns are dropped first when the counts differ.
///
/// This is racy against DDL that runs between the logged change and the lookup; sources should
/// use `binlog_row_metadata=FULL`, which makes the fallback unnecessary.
pub fn apply_information_schema(
    schema: &mut TableSchema,
    cols: &[InformationSchemaColumn],
    collations: &Collations,
) {
    let Some(stored) = stored_columns(schema, cols) else {
        return;
    };
    let mut pk: Vec<(u32, usize)> = Vec::new();
    for (i, (col, info)) in schema.columns.iter_mut().zip(&stored).enumerate() {
        col.info.name = info.name.clone();
        let lower = info.column_type.to_ascii_lowercase();
        if let Decode::Int { unsigned, .. } = &mut col.decode {
            *unsigned = lower.contains("unsigned");
        }
        col.info.unsigned = lower.contains("unsigned");
        if matches!(col.decode, Decode::Enum { .. } | Decode::Set { .. }) {
            col.info.elements = parse_elements(&info.column_type);
        }
        if let Some(name) = &info.collation {
            if let Some((id, c)) = collations
                .0
                .iter()
                .find(|(_, c)| c.name.eq_ignore_ascii_case(name))
            {
                col.collation = Some(c.clone());
                col.info.collation_id = Some(*id);
                col.info.charset = Some(c.charset.clone());
                match &mut col.decode {
                    Decode::String { collation, .. } | Decode::Blob { collation, .. } => {
                        *collation = *id
                    }
                    _ => {}
                }
            }
        }
        let (data_type, column_type, length, scale) =
            describe(&col.decode, col.collation.as_ref(), &col.info.elements);
        col.info.data_type = data_type;
        col.info.column_type = column_type;
        col.info.length = length;
        col.info.scale = scale;
        if info.pk_seq > 0 {
            pk.push((info.pk_seq, i));
        }
    }
    pk.sort();
    schema.pk = pk.into_iter().map(|(_, i)| i).collect();
}

/// The ENUM/SET labels parsed from a `COLUMN_TYPE` such as `enum('a','it''s')`.
pub fn parse_elements(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[open + 1..column_type.rfind(')').unwrap_or(column_type.len())];
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut label = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    label.push('\'');
                } else {
                    break;
                }
            } else if c == '\\' {
                if let Some(n) = chars.next() {
                    label.push(n);
                }
            } else {
                label.push(c);
            }
        }
        out.push(label);
    }
    out
}

/// Builds the display `COLUMN_TYPE` and `DataType` of a column from its decode plan.
pub fn describe(
    decode: &Decode,
    collation: Option<&Collation>,
    elements: &[String],
) -> (DataType, String, u32, u8) {
    let binary = collation.is_none_or(|c| c.charset == "binary");
    let max_chars = |bytes: u32| bytes / u32::from(collation.map_or(1, |c| c.max_len.max(1)));
    let quoted = || {
        elements
            .iter()
            .map(|e| format!("'{}'", e.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",")
    };
    match *decode {
        Decode::Int { bytes, unsigned } => {
            let (t, w, uw) = match bytes {
                1 => (DataType::TinyInt, 4, 3),
                2 => (DataType::SmallInt, 6, 5),
                3 => (DataType::MediumInt, 9, 8),
                4 => (DataType::Int, 11, 10),
                _ => (DataType::BigInt, 20, 20),
            };
            let width = if unsigned { uw } else { w };
            let suffix = if unsigned { " unsigned" } else { "" };
            (t, format!("{}({width}){suffix}", t.sql_name()), width, 0)
        }
        Decode::Float => (DataType::Float, "float".into(), 12, 31),
        Decode::Double => (DataType::Double, "double".into(), 22, 31),
        Decode::Decimal { precision, scale } => (
            DataType::Decimal,
            format!("decimal({precision},{scale})"),
            u32::from(precision),
            scale,
        ),
        Decode::Year => (DataType::Year, "year(4)".into(), 4, 0),
        Decode::Date => (DataType::Date, "date".into(), 10, 0),
        Decode::TimeOld => (DataType::Time, "time".into(), 10, 0),
        Decode::Time2 { fsp } => (
            DataType::Time,
            with_fsp("time", fsp),
            10 + fsp_len(fsp),
            fsp,
        ),
        Decode::DateTimeOld => (DataType::DateTime, "datetime".into(), 19, 0),
        Decode::DateTime2 { fsp } => (
            DataType::DateTime,
            with_fsp("datetime", fsp),
            19 + fsp_len(fsp),
            fsp,
        ),
        Decode::TimestampOld => (DataType::Timestamp, "timestamp".into(), 19, 0),
        Decode::Timestamp2 { fsp } => (
            DataType::Timestamp,
            with_fsp("timestamp", fsp),
            19 + fsp_len(fsp),
            fsp,
        ),
        Decode::String {
            max_len,
            pad_binary,
            ..
        } => {
            let n = max_chars(u32::from(max_len));
            let t = match (pad_binary, binary) {
                (true, _) => DataType::Binary,
                (false, true) => DataType::VarBinary,
                (false, false) => DataType::VarChar,
            };
            (t, format!("{}({n})", t.sql_name()), n, 0)
        }
        Decode::Blob { prefix, json, .. } => {
            let t = match (json, binary, prefix) {
                (true, _, _) => DataType::Json,
                (false, true, 1) => DataType::TinyBlob,
                (false, true, 2) => DataType::Blob,
                (false, true, 3) => DataType::MediumBlob,
                (false, true, _) => DataType::LongBlob,
                (false, false, 1) => DataType::TinyText,
                (false, false, 2) => DataType::Text,
                (false, false, 3) => DataType::MediumText,
                (false, false, _) => DataType::LongText,
            };
            let len = match prefix {
                1 => 255,
                2 => 65_535,
                3 => 16_777_215,
                _ => u32::MAX,
            };
            (t, t.sql_name().into(), len, 0)
        }
        Decode::Enum { .. } => {
            let len = elements
                .iter()
                .map(|e| e.chars().count())
                .max()
                .unwrap_or(1) as u32;
            (DataType::Enum, format!("enum({})", quoted()), len, 0)
        }
        Decode::Set { .. } => {
            let len = elements
                .iter()
                .map(|e| e.chars().count() + 1)
                .sum::<usize>()
                .max(1) as u32;
            (DataType::Set, format!("set({})", quoted()), len, 0)
        }
        Decode::Special { kind, .. } => match kind {
            SpecialType::Uuid => (DataType::Uuid, "uuid".into(), 36, 0),
            SpecialType::Inet4 => (DataType::Inet4, "inet4".into(), 15, 0),
            SpecialType::Inet6 => (DataType::Inet6, "inet6".into(), 39, 0),
        },
        Decode::Bit { bytes } => (
            DataType::Bit,
            format!("bit({})", u32::from(bytes) * 8),
            u32::from(bytes) * 8,
            0,
        ),
    }
}

fn with_fsp(name: &str, fsp: u8) -> String {
    if fsp == 0 {
        name.to_owned()
    } else {
        format!("{name}({fsp})")
    }
}

fn fsp_len(fsp: u8) -> u32 {
    if fsp == 0 {
        0
    } else {
        1 + u32::from(fsp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enum_labels_with_quotes() {
        assert_eq!(
            parse_elements("enum('new','it''s','a,b')"),
            vec!["new", "it's", "a,b"]
        );
        assert!(parse_elements("int(11)").is_empty());
    }

    #[test]
    fn describes_common_types() {
        let utf8 = Collations::builtin().get(45);
        let (t, ct, len, _) = describe(
            &Decode::String {
                max_len: 256,
                collation: 45,
                pad_binary: false,
            },
            Some(&utf8),
            &[],
        );
        assert_eq!(
            (t, ct.as_str(), len),
            (DataType::VarChar, "varchar(64)", 64)
        );
        let (t, ct, _, _) = describe(
            &Decode::Int {
                bytes: 8,
                unsigned: true,
            },
            None,
            &[],
        );
        assert_eq!((t, ct.as_str()), (DataType::BigInt, "bigint(20) unsigned"));
        let (_, ct, _, scale) = describe(&Decode::DateTime2 { fsp: 6 }, None, &[]);
        assert_eq!((ct.as_str(), scale), ("datetime(6)", 6));
    }
}
