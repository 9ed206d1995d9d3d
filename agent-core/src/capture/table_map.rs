//! TABLE_MAP event → [`TableSchema`] (a decode plan per column).
//!
//! Layout facts from the MySQL source (`libbinlogevents/include/rows_event.h`, "Table_map_event"):
//! per-column metadata is 0, 1 or 2 bytes depending on the type; `MYSQL_TYPE_STRING` hides ENUM and
//! SET in its metadata (`real_type`, `length` with the length's high bits folded into `real_type`).
//! Optional metadata (`binlog_row_metadata=FULL`) carries signedness for numeric columns, charsets
//! for character columns, ENUM/SET labels, column names and the PK.

use agent_api::catalog::ColumnInfo;
use mysql_common::binlog::events::{OptionalMetadataField, TableMapEvent};

use crate::schema::{
    binlog_type as bt, describe, Collations, ColumnDef, Decode, TableSchema, BINARY_COLLATION,
};

/// Why a TABLE_MAP could not become a schema.
#[derive(Debug, thiserror::Error)]
pub enum TableMapError {
    /// A column type this decoder does not know.
    #[error("table {table}: column {index} has unsupported binlog type {code}")]
    UnsupportedType {
        /// `schema.table`.
        table: String,
        /// 0-based column index.
        index: usize,
        /// Binlog type code.
        code: u8,
    },
    /// The optional metadata block could not be parsed.
    #[error("table {table}: malformed optional metadata: {source}")]
    Metadata {
        /// `schema.table`.
        table: String,
        /// The parse error.
        source: std::io::Error,
    },
}

/// Optional metadata in per-column form.
#[derive(Default)]
struct OptionalMeta {
    names: Vec<String>,
    unsigned: Vec<bool>,
    charsets: Vec<u16>,
    default_charset: Option<u16>,
    enum_set_charsets: Vec<u16>,
    enum_set_default: Option<u16>,
    enum_values: Vec<Vec<String>>,
    set_values: Vec<Vec<String>>,
    pk: Vec<usize>,
}

/// The server that wrote a binlog: the optional metadata differs in one point (see
/// [`schema_from_table_map`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// MySQL (and Percona Server).
    #[default]
    MySql,
    /// MariaDB.
    MariaDb,
}

impl Flavor {
    /// From the FORMAT_DESCRIPTION's server version (`10.11.6-MariaDB-log`, `8.4.8`).
    pub fn from_server_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}

/// Builds the schema of a TABLE_MAP event. Names, PK, signedness and ENUM/SET labels come from the
/// optional metadata; a column without a name is called `@<n>` (1-based) until `information_schema`
/// fills it in.
///
/// The COLUMN_CHARSET list has one entry per character column; MariaDB counts GEOMETRY among
/// them (a BLOB underneath, charset binary), MySQL does not (MySQL 8.4.8 `capture_types`: nine
/// entries for nine CHAR/VARCHAR/BINARY/TEXT/BLOB columns next to a GEOMETRY).
pub fn schema_from_table_map(
    tme: &TableMapEvent<'_>,
    collations: &Collations,
    flavor: Flavor,
) -> Result<TableSchema, TableMapError> {
    let table = format!("{}.{}", tme.database_name(), tme.table_name());
    let meta = read_optional_meta(tme).map_err(|source| TableMapError::Metadata {
        table: table.clone(),
        source,
    })?;
    let nulls = tme.null_bitmask();
    let (mut numeric_i, mut char_i, mut enum_i, mut set_i, mut enum_set_i) = (0, 0, 0, 0, 0);
    let mut columns = Vec::with_capacity(tme.columns_count() as usize);
    for index in 0..tme.columns_count() as usize {
        let code = tme
            .get_raw_column_type(index)
            .ok()
            .flatten()
            .map(|t| t as u8)
            .unwrap_or(u8::MAX - 1);
        let raw = tme.get_column_metadata(index).unwrap_or(&[]);
        let (real, meta_bytes) = real_type(code, raw);
        let unsupported = || TableMapError::UnsupportedType {
            table: table.clone(),
            index,
            code: real,
        };
        let counted = takes_signedness_bit(real);
        // YEAR takes a bit (always set: the server stores it as an unsigned TINYINT) but has no
        // UNSIGNED attribute of its own.
        let unsigned =
            counted && real != bt::YEAR && meta.unsigned.get(numeric_i).copied().unwrap_or(false);
        if counted {
            numeric_i += 1;
        }
        let is_char = matches!(
            real,
            bt::STRING
                | bt::VARCHAR
                | bt::VAR_STRING
                | bt::BLOB
                | bt::TINY_BLOB
                | bt::MEDIUM_BLOB
                | bt::LONG_BLOB
        ) || (real == bt::GEOMETRY && flavor == Flavor::MariaDb);
        let collation_id = if is_char {
            let c = meta
                .charsets
                .get(char_i)
                .copied()
                .or(meta.default_charset)
                .unwrap_or(BINARY_COLLATION);
            char_i += 1;
            Some(c)
        } else if matches!(real, bt::ENUM | bt::SET) {
            let c = meta
                .enum_set_charsets
                .get(enum_set_i)
                .copied()
                .or(meta.enum_set_default);
            enum_set_i += 1;
            c
        } else {
            None
        };
        let elements = match real {
            bt::ENUM => {
                enum_i += 1;
                meta.enum_values
                    .get(enum_i - 1)
                    .cloned()
                    .unwrap_or_default()
            }
            bt::SET => {
                set_i += 1;
                meta.set_values.get(set_i - 1).cloned().unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let decode = decode_plan(
            real,
            meta_bytes,
            unsigned,
            collation_id.unwrap_or(BINARY_COLLATION),
        )
        .ok_or_else(unsupported)?;
        let collation = collation_id.map(|id| collations.get(id));
        let (data_type, column_type, length, scale) =
            describe(&decode, collation.as_ref(), &elements);
        let name = meta
            .names
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("@{}", index + 1));
        columns.push(ColumnDef {
            info: ColumnInfo {
                name,
                data_type,
                column_type,
                unsigned,
                nullable: nulls.get(index).map(|b| *b).unwrap_or(true),
                length,
                scale,
                charset: collation.as_ref().map(|c| c.charset.clone()),
                collation_id,
                elements,
            },
            decode,
            collation,
        });
    }
    Ok(TableSchema {
        schema: tme.database_name().into_owned(),
        name: tme.table_name().into_owned(),
        columns,
        pk: meta.pk,
    })
}

/// Whether the TABLE_MAP carries the SIGNEDNESS optional metadata field. The server writes it
/// whenever the table has a numeric column and `binlog_row_metadata` is MINIMAL or FULL
/// (`Table_map_log_event::init_signedness_field`); without it integers decode as signed.
pub fn has_signedness(tme: &TableMapEvent<'_>) -> bool {
    tme.iter_optional_meta()
        .any(|f| matches!(f, Ok(OptionalMetadataField::Signedness(_))))
}

/// Whether a column of binlog type `real` owns a bit of the SIGNEDNESS optional metadata.
///
/// The servers count the integer types, DECIMAL (old and new), FLOAT, DOUBLE **and YEAR** (a
/// `Field_tiny` underneath, always flagged unsigned); BIT, temporal, string, ENUM/SET, JSON and
/// GEOMETRY take no bit. Observed in TABLE_MAP events written by MariaDB 10.11
/// (`(y YEAR, b TINYINT UNSIGNED, c TINYINT)` → bits `110`, `(x BIT(8), b TINYINT UNSIGNED, c
/// TINYINT)` → `10`) and by MySQL 8.4.8 (`capture_types`: seven bits for six numeric columns
/// before a YEAR); `mysql_common`'s own counter (`ColumnType::is_numeric_type`) agrees, and it cuts
/// the bitmap to that count before we see it.
pub fn takes_signedness_bit(real: u8) -> bool {
    matches!(
        real,
        bt::TINY
            | bt::SHORT
            | bt::INT24
            | bt::LONG
            | bt::LONGLONG
            | bt::DECIMAL
            | bt::NEWDECIMAL
            | bt::FLOAT
            | bt::DOUBLE
            | bt::YEAR
    )
}

/// Resolves `MYSQL_TYPE_STRING`'s hidden real type; returns the real type and normalised 2-byte
/// metadata `[a, b]` (for STRING: `a` = unused, `b..` = max length as u16 LE in `[len_lo, len_hi]`).
fn real_type(code: u8, raw: &[u8]) -> (u8, [u8; 2]) {
    let m0 = raw.first().copied().unwrap_or(0);
    let m1 = raw.get(1).copied().unwrap_or(0);
    if code == bt::STRING {
        let (real, len) = if m0 & 0x30 != 0x30 {
            (
                m0 | 0x30,
                u16::from(m1) | (u16::from((m0 & 0x30) ^ 0x30) << 4),
            )
        } else {
            (m0, u16::from(m1))
        };
        let [lo, hi] = len.to_le_bytes();
        return (real, [lo, hi]);
    }
    (code, [m0, m1])
}

fn decode_plan(real: u8, m: [u8; 2], unsigned: bool, collation: u16) -> Option<Decode> {
    let le16 = u16::from_le_bytes(m);
    Some(match real {
        bt::TINY => Decode::Int { bytes: 1, unsigned },
        bt::SHORT => Decode::Int { bytes: 2, unsigned },
        bt::INT24 => Decode::Int { bytes: 3, unsigned },
        bt::LONG => Decode::Int { bytes: 4, unsigned },
        bt::LONGLONG => Decode::Int { bytes: 8, unsigned },
        bt::FLOAT => Decode::Float,
        bt::DOUBLE => Decode::Double,
        bt::NEWDECIMAL => Decode::Decimal {
            precision: m[0],
            scale: m[1],
        },
        bt::YEAR => Decode::Year,
        bt::DATE | bt::NEWDATE => Decode::Date,
        bt::TIME => Decode::TimeOld,
        bt::TIME2 => Decode::Time2 { fsp: m[0].min(6) },
        bt::DATETIME => Decode::DateTimeOld,
        bt::DATETIME2 => Decode::DateTime2 { fsp: m[0].min(6) },
        bt::TIMESTAMP => Decode::TimestampOld,
        bt::TIMESTAMP2 => Decode::Timestamp2 { fsp: m[0].min(6) },
        bt::VARCHAR | bt::VAR_STRING => Decode::String {
            max_len: le16,
            collation,
            pad_binary: false,
        },
        bt::STRING => Decode::String {
            max_len: le16,
            collation,
            pad_binary: collation == BINARY_COLLATION,
        },
        // `real_type` leaves ENUM/SET's pack length (1, 2 / 1..=4, 8) in the first byte.
        bt::ENUM => Decode::Enum { bytes: m[0].max(1) },
        bt::SET => Decode::Set { bytes: m[0].max(1) },
        bt::BIT => Decode::Bit {
            bytes: m[1] + u8::from(m[0] > 0),
        },
        bt::BLOB | bt::TINY_BLOB | bt::MEDIUM_BLOB | bt::LONG_BLOB | bt::GEOMETRY => Decode::Blob {
            prefix: m[0].clamp(1, 4),
            collation: if real == bt::GEOMETRY {
                BINARY_COLLATION
            } else {
                collation
            },
            json: false,
        },
        // MySQL 9 VECTOR: a binary string of float32 LE (what `SELECT` returns), length-prefixed
        // like a BLOB (metadata byte = prefix width, `Field_vector`).
        bt::VECTOR => Decode::Blob {
            prefix: m[0].clamp(1, 4),
            collation: BINARY_COLLATION,
            json: false,
        },
        bt::JSON => Decode::Blob {
            prefix: m[0].clamp(1, 4),
            collation: 46,
            json: true,
        },
        _ => return None,
    })
}

fn read_optional_meta(tme: &TableMapEvent<'_>) -> std::io::Result<OptionalMeta> {
    let mut meta = OptionalMeta::default();
    for field in tme.iter_optional_meta() {
        match field? {
            OptionalMetadataField::Signedness(bits) => {
                meta.unsigned = bits.iter().by_vals().collect();
            }
            OptionalMetadataField::DefaultCharset(d) => {
                meta.default_charset = Some(d.default_charset());
                for nd in d.iter_non_default() {
                    let nd = nd?;
                    meta.charsets_override(nd.column_index() as usize, nd.charset());
                }
            }
            OptionalMetadataField::ColumnCharset(c) => {
                meta.charsets = c.iter_charsets().collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::ColumnName(names) => {
                meta.names = names
                    .iter_names()
                    .map(|n| n.map(|n| n.name().into_owned()))
                    .collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::EnumStrValue(values) => {
                meta.enum_values = values
                    .iter_values()
                    .map(|v| v.map(|v| v.values().iter().map(|s| s.value().into_owned()).collect()))
                    .collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::SetStrValue(values) => {
                meta.set_values = values
                    .iter_values()
                    .map(|v| v.map(|v| v.values().iter().map(|s| s.value().into_owned()).collect()))
                    .collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::SimplePrimaryKey(pk) => {
                meta.pk = pk
                    .iter_indexes()
                    .map(|i| i.map(|i| i as usize))
                    .collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::PrimaryKeyWithPrefix(pk) => {
                meta.pk = pk
                    .iter_keys()
                    .map(|k| k.map(|k| k.column_index() as usize))
                    .collect::<Result<_, _>>()?;
            }
            OptionalMetadataField::EnumAndSetDefaultCharset(d) => {
                meta.enum_set_default = Some(d.default_charset());
            }
            OptionalMetadataField::EnumAndSetColumnCharset(c) => {
                meta.enum_set_charsets = c.iter_charsets().collect::<Result<_, _>>()?;
            }
            _ => {}
        }
    }
    Ok(meta)
}

impl OptionalMeta {
    /// DEFAULT_CHARSET lists exceptions by index among character columns.
    fn charsets_override(&mut self, char_index: usize, charset: u16) {
        let default = self.default_charset.unwrap_or(BINARY_COLLATION);
        if self.charsets.len() <= char_index {
            self.charsets.resize(char_index + 1, default);
        }
        self.charsets[char_index] = charset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MYSQL_TYPE_STRING` metadata of ENUM/SET is `[real_type, pack_length]`: an ENUM of more
    /// than 255 labels packs in 2 bytes, a SET of 20 members in 3.
    #[test]
    fn enum_and_set_pack_lengths_come_from_the_metadata() {
        let plan = |raw: &[u8]| {
            let (real, m) = real_type(bt::STRING, raw);
            decode_plan(real, m, false, 45)
        };
        assert_eq!(plan(&[bt::ENUM, 1]), Some(Decode::Enum { bytes: 1 }));
        assert_eq!(plan(&[bt::ENUM, 2]), Some(Decode::Enum { bytes: 2 }));
        assert_eq!(plan(&[bt::SET, 3]), Some(Decode::Set { bytes: 3 }));
        assert_eq!(plan(&[bt::SET, 8]), Some(Decode::Set { bytes: 8 }));
    }

    /// A TABLE_MAP body written by MariaDB 10.11 for `x.g (id INT PRIMARY KEY, g GEOMETRY,
    /// v VARCHAR(5))` in a utf8mb4_general_ci table: COLUMN_CHARSET lists `[63, 45]`, one entry for
    /// `g` and one for `v`.
    #[test]
    fn geometry_takes_a_slot_in_the_charset_list() {
        use mysql_common::binlog::consts::BinlogVersion;
        use mysql_common::binlog::events::FormatDescriptionEvent;
        use mysql_common::binlog::BinlogCtx;
        let body: Vec<u8> = (0..TABLE_MAP_GEOMETRY_THEN_VARCHAR.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&TABLE_MAP_GEOMETRY_THEN_VARCHAR[i..i + 2], 16).unwrap())
            .collect();
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let ctx = BinlogCtx::new(body.len(), &fde, 19);
        let tme: TableMapEvent<'_> = mysql_common::io::ParseBuf(&body).parse(ctx).unwrap();
        let schema = schema_from_table_map(&tme, &Collations::builtin(), Flavor::MariaDb).unwrap();
        let names: Vec<_> = schema
            .columns
            .iter()
            .map(|c| c.info.name.as_str())
            .collect();
        assert_eq!(names, ["id", "g", "v"]);
        assert_eq!(schema.columns[1].info.charset.as_deref(), Some("binary"));
        assert_eq!(schema.columns[2].info.collation_id, Some(45));
        assert_eq!(schema.columns[2].info.charset.as_deref(), Some("utf8mb4"));
    }

    fn parse_body(body: &[u8]) -> TableSchema {
        use mysql_common::binlog::consts::BinlogVersion;
        use mysql_common::binlog::events::FormatDescriptionEvent;
        use mysql_common::binlog::BinlogCtx;
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let ctx = BinlogCtx::new(body.len(), &fde, 19);
        let tme: TableMapEvent<'_> = mysql_common::io::ParseBuf(body).parse(ctx).unwrap();
        schema_from_table_map(&tme, &Collations::builtin(), Flavor::MariaDb).unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A TABLE_MAP body for `p.t` with the given `(type, metadata)` columns and a SIGNEDNESS
    /// bitmap (MSB first) holding `bits`, as the server lays it out (`rows_event.h`).
    fn table_map_body(columns: &[(u8, &[u8])], bits: &[bool]) -> Vec<u8> {
        let mut b = vec![1, 0, 0, 0, 0, 0, 1, 0];
        b.extend_from_slice(&[1, b'p', 0, 1, b't', 0]);
        b.push(columns.len() as u8);
        b.extend(columns.iter().map(|c| c.0));
        let meta: Vec<u8> = columns.iter().flat_map(|c| c.1.iter().copied()).collect();
        b.push(meta.len() as u8);
        b.extend_from_slice(&meta);
        b.extend(std::iter::repeat_n(0xff, columns.len().div_ceil(8)));
        let mut bitmap = vec![0u8; bits.len().div_ceil(8)];
        for (i, bit) in bits.iter().enumerate() {
            if *bit {
                bitmap[i / 8] |= 0x80 >> (i % 8);
            }
        }
        b.push(1);
        b.push(bitmap.len() as u8);
        b.extend_from_slice(&bitmap);
        b
    }

    /// Every column type the decoder knows, with its TABLE_MAP metadata and whether the server
    /// gives it a SIGNEDNESS bit (the facts observed in MariaDB 10.11 and MySQL 8.4 TABLE_MAPs).
    const PROBES: &[(&str, u8, &[u8], bool)] = &[
        ("TINYINT", bt::TINY, &[], true),
        ("SMALLINT", bt::SHORT, &[], true),
        ("MEDIUMINT", bt::INT24, &[], true),
        ("INT", bt::LONG, &[], true),
        ("BIGINT", bt::LONGLONG, &[], true),
        ("DECIMAL(10,2)", bt::NEWDECIMAL, &[10, 2], true),
        ("FLOAT", bt::FLOAT, &[4], true),
        ("DOUBLE", bt::DOUBLE, &[8], true),
        ("YEAR", bt::YEAR, &[], true),
        ("BIT(10)", bt::BIT, &[2, 1], false),
        ("DATE", bt::DATE, &[], false),
        ("TIME(3)", bt::TIME2, &[3], false),
        ("DATETIME(6)", bt::DATETIME2, &[6], false),
        ("TIMESTAMP", bt::TIMESTAMP2, &[0], false),
        ("VARCHAR(10)", bt::VARCHAR, &[40, 0], false),
        ("CHAR(4)", bt::STRING, &[bt::STRING, 16], false),
        ("ENUM", bt::STRING, &[bt::ENUM, 1], false),
        ("SET", bt::STRING, &[bt::SET, 1], false),
        ("BLOB", bt::BLOB, &[2], false),
        ("JSON", bt::JSON, &[4], false),
        ("GEOMETRY", bt::GEOMETRY, &[4], false),
    ];

    /// Each type in every position among integer witnesses of alternating signedness: every
    /// witness (and the probe itself, when it has an UNSIGNED attribute) reads its own bit.
    #[test]
    fn signedness_bits_line_up_for_every_type_in_every_position() {
        const WITNESSES: usize = 5;
        for &(name, code, meta, counted) in PROBES {
            for probe_unsigned in [false, true] {
                for pos in 0..=WITNESSES {
                    let mut columns: Vec<(u8, &[u8])> = Vec::new();
                    let mut want: Vec<Option<bool>> = Vec::new();
                    for w in 0..WITNESSES {
                        if w == pos {
                            columns.push((code, meta));
                            want.push(None);
                        }
                        columns.push((bt::TINY, &[]));
                        want.push(Some(w % 2 == 0));
                    }
                    if pos == WITNESSES {
                        columns.push((code, meta));
                        want.push(None);
                    }
                    // The server's bitmap: one bit per counted column, YEAR always set.
                    let bits: Vec<bool> = columns
                        .iter()
                        .zip(&want)
                        .filter(|(c, w)| w.is_some() || (c.0 == code && counted))
                        .map(|(_, w)| w.unwrap_or(code == bt::YEAR || probe_unsigned))
                        .collect();
                    let schema = parse_body(&table_map_body(&columns, &bits));
                    for (i, w) in want.iter().enumerate() {
                        let got = schema.columns[i].info.unsigned;
                        let expected = w.unwrap_or(counted && code != bt::YEAR && probe_unsigned);
                        assert_eq!(
                            got, expected,
                            "{name} (unsigned: {probe_unsigned}) at position {pos}: column {i}"
                        );
                        if w.is_some() {
                            assert_eq!(
                                schema.columns[i].decode,
                                Decode::Int {
                                    bytes: 1,
                                    unsigned: expected
                                }
                            );
                        }
                    }
                }
            }
        }
    }

    /// Issue 12: `(id INT PRIMARY KEY, y YEAR, ti TINYINT, mu MEDIUMINT UNSIGNED)` as MariaDB
    /// 10.11 logs it: SIGNEDNESS `0101` — the second bit is YEAR's.
    #[test]
    fn mariadb_year_owns_a_signedness_bit() {
        let schema = parse_body(&hex(TABLE_MAP_ISSUE_12));
        let flags: Vec<_> = schema
            .columns
            .iter()
            .map(|c| (c.info.name.as_str(), c.info.unsigned))
            .collect();
        assert_eq!(
            flags,
            [("id", false), ("y", false), ("ti", false), ("mu", true)]
        );
        assert_eq!(
            schema.columns[2].decode,
            Decode::Int {
                bytes: 1,
                unsigned: false
            }
        );
        assert_eq!(
            schema.columns[3].decode,
            Decode::Int {
                bytes: 3,
                unsigned: true
            }
        );
        // `(x BIT(8), b TINYINT UNSIGNED, c TINYINT)`: BIT takes no bit (`10`).
        let schema = parse_body(&hex(TABLE_MAP_BIT_FIRST));
        let flags: Vec<_> = schema.columns.iter().map(|c| c.info.unsigned).collect();
        assert_eq!(flags, [false, true, false]);
    }

    /// MariaDB 10.11, `p.t_issue` (see [`mariadb_year_owns_a_signedness_bit`]).
    const TABLE_MAP_ISSUE_12: &str = "1b0000000000010001700007745f69737375650004030d0109000e010150040b0269640179027469026d75080100";
    /// MariaDB 10.11, `p.t_bit (x BIT(8), b TINYINT UNSIGNED, c TINYINT)`.
    const TABLE_MAP_BIT_FIRST: &str =
        "160000000000010001700005745f6269740003100101020001070101800406017801620163";

    const TABLE_MAP_GEOMETRY_THEN_VARCHAR: &str =
        "16000000000001000178000167000303ff0f030414000601010003023f2d070100040702696401670176080100";
}
