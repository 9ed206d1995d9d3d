//! The virtual `information_schema` tables: MySQL 8.0's column names in order, one row per
//! captured schema / table / column / primary-key column.

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};

use super::eval::Val;
use crate::chatter::catalog::VIRTUAL_SCHEMAS;

/// Column names and rows of `information_schema.<table>`; `None` for tables the shim does not
/// model.
pub fn table_rows(table: &str, tables: &[TableInfo]) -> Option<(Vec<&'static str>, Vec<Vec<Val>>)> {
    Some(match table {
        "SCHEMATA" => (SCHEMATA.to_vec(), schemata(tables)),
        "TABLES" => (TABLES.to_vec(), tables.iter().map(table_row).collect()),
        "COLUMNS" => (
            COLUMNS.to_vec(),
            tables.iter().flat_map(column_rows).collect(),
        ),
        "STATISTICS" => (
            STATISTICS.to_vec(),
            tables.iter().flat_map(statistics_rows).collect(),
        ),
        "KEY_COLUMN_USAGE" => (
            KEY_COLUMN_USAGE.to_vec(),
            tables.iter().flat_map(key_usage_rows).collect(),
        ),
        "TABLE_CONSTRAINTS" => (
            TABLE_CONSTRAINTS.to_vec(),
            tables
                .iter()
                .filter(|t| !t.primary_key.is_empty())
                .map(constraint_row)
                .collect(),
        ),
        "REFERENTIAL_CONSTRAINTS" => (REFERENTIAL_CONSTRAINTS.to_vec(), Vec::new()),
        _ => return None,
    })
}

const SCHEMATA: &[&str] = &[
    "CATALOG_NAME",
    "SCHEMA_NAME",
    "DEFAULT_CHARACTER_SET_NAME",
    "DEFAULT_COLLATION_NAME",
    "SQL_PATH",
    "DEFAULT_ENCRYPTION",
];
const TABLES: &[&str] = &[
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "TABLE_TYPE",
    "ENGINE",
    "VERSION",
    "ROW_FORMAT",
    "TABLE_ROWS",
    "AVG_ROW_LENGTH",
    "DATA_LENGTH",
    "MAX_DATA_LENGTH",
    "INDEX_LENGTH",
    "DATA_FREE",
    "AUTO_INCREMENT",
    "CREATE_TIME",
    "UPDATE_TIME",
    "CHECK_TIME",
    "TABLE_COLLATION",
    "CHECKSUM",
    "CREATE_OPTIONS",
    "TABLE_COMMENT",
];
const COLUMNS: &[&str] = &[
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "COLUMN_DEFAULT",
    "IS_NULLABLE",
    "DATA_TYPE",
    "CHARACTER_MAXIMUM_LENGTH",
    "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION",
    "NUMERIC_SCALE",
    "DATETIME_PRECISION",
    "CHARACTER_SET_NAME",
    "COLLATION_NAME",
    "COLUMN_TYPE",
    "COLUMN_KEY",
    "EXTRA",
    "PRIVILEGES",
    "COLUMN_COMMENT",
    "GENERATION_EXPRESSION",
    "SRS_ID",
];
const STATISTICS: &[&str] = &[
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "NON_UNIQUE",
    "INDEX_SCHEMA",
    "INDEX_NAME",
    "SEQ_IN_INDEX",
    "COLUMN_NAME",
    "COLLATION",
    "CARDINALITY",
    "SUB_PART",
    "PACKED",
    "NULLABLE",
    "INDEX_TYPE",
    "COMMENT",
    "INDEX_COMMENT",
    "IS_VISIBLE",
    "EXPRESSION",
];
const KEY_COLUMN_USAGE: &[&str] = &[
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "POSITION_IN_UNIQUE_CONSTRAINT",
    "REFERENCED_TABLE_SCHEMA",
    "REFERENCED_TABLE_NAME",
    "REFERENCED_COLUMN_NAME",
];
const TABLE_CONSTRAINTS: &[&str] = &[
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "CONSTRAINT_TYPE",
    "ENFORCED",
];
const REFERENTIAL_CONSTRAINTS: &[&str] = &[
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "UNIQUE_CONSTRAINT_CATALOG",
    "UNIQUE_CONSTRAINT_SCHEMA",
    "UNIQUE_CONSTRAINT_NAME",
    "MATCH_OPTION",
    "UPDATE_RULE",
    "DELETE_RULE",
    "TABLE_NAME",
    "REFERENCED_TABLE_NAME",
];

fn t(s: &str) -> Val {
    Val::Text(s.to_owned())
}

fn int(n: impl TryInto<i64>) -> Val {
    n.try_into().map_or(Val::Null, Val::Int)
}

fn schemata(tables: &[TableInfo]) -> Vec<Vec<Val>> {
    let mut names: Vec<&str> = VIRTUAL_SCHEMAS.to_vec();
    for table in tables {
        if !names.contains(&table.schema.as_str()) {
            names.push(&table.schema);
        }
    }
    names
        .into_iter()
        .map(|n| {
            vec![
                t("def"),
                t(n),
                t("utf8mb4"),
                t("utf8mb4_0900_ai_ci"),
                Val::Null,
                t("NO"),
            ]
        })
        .collect()
}

fn table_row(table: &TableInfo) -> Vec<Val> {
    let mut row = vec![
        t("def"),
        t(&table.schema),
        t(&table.name),
        t("BASE TABLE"),
        t("InnoDB"),
        int(10),
        t("Dynamic"),
    ];
    row.extend(std::iter::repeat_n(Val::Null, 10));
    row.extend([t("utf8mb4_0900_ai_ci"), Val::Null, t(""), t("")]);
    row
}

fn is_pk(table: &TableInfo, column: &str) -> bool {
    table
        .primary_key
        .iter()
        .any(|k| k.eq_ignore_ascii_case(column))
}

fn column_rows(table: &TableInfo) -> Vec<Vec<Val>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (chars, octets) = character_lengths(c);
            let (precision, scale) = numeric_precision(c);
            let temporal = matches!(
                c.data_type,
                DataType::Time | DataType::DateTime | DataType::Timestamp
            );
            let column_type = if c.column_type.is_empty() {
                c.data_type.sql_name().to_owned()
            } else {
                c.column_type.clone()
            };
            vec![
                t("def"),
                t(&table.schema),
                t(&table.name),
                t(&c.name),
                int(i + 1),
                Val::Null,
                t(if c.nullable { "YES" } else { "NO" }),
                t(c.data_type.sql_name()),
                chars,
                octets,
                precision,
                scale,
                if temporal { int(c.scale) } else { Val::Null },
                c.charset.as_deref().map_or(Val::Null, t),
                c.charset
                    .as_ref()
                    .map_or(Val::Null, |_| t("utf8mb4_0900_ai_ci")),
                Val::Text(column_type),
                t(if is_pk(table, &c.name) { "PRI" } else { "" }),
                t(""),
                t("select"),
                t(""),
                t(""),
                Val::Null,
            ]
        })
        .collect()
}

/// `(CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH)` for string types, NULL otherwise.
fn character_lengths(c: &ColumnInfo) -> (Val, Val) {
    use DataType as D;
    let max = match c.data_type {
        D::Char | D::VarChar | D::Binary | D::VarBinary => i64::from(c.length),
        D::TinyText | D::TinyBlob => 255,
        D::Text | D::Blob => 65_535,
        D::MediumText | D::MediumBlob => 16_777_215,
        D::LongText | D::LongBlob => 4_294_967_295,
        D::Enum | D::Set => c
            .elements
            .iter()
            .map(|e| e.chars().count() as i64)
            .max()
            .unwrap_or(0),
        _ => return (Val::Null, Val::Null),
    };
    let per_char = if c.charset.as_deref() == Some("utf8mb4") {
        4
    } else {
        1
    };
    (Val::Int(max), Val::Int(max.saturating_mul(per_char)))
}

/// `(NUMERIC_PRECISION, NUMERIC_SCALE)`.
fn numeric_precision(c: &ColumnInfo) -> (Val, Val) {
    use DataType as D;
    match c.data_type {
        D::TinyInt => (int(3), int(0)),
        D::SmallInt => (int(5), int(0)),
        D::MediumInt => (int(7), int(0)),
        D::Int => (int(10), int(0)),
        D::BigInt => (int(if c.unsigned { 20 } else { 19 }), int(0)),
        D::Decimal => (int(c.length), int(c.scale)),
        D::Float => (int(12), Val::Null),
        D::Double => (int(22), Val::Null),
        D::Bit => (int(c.length.max(1)), Val::Null),
        _ => (Val::Null, Val::Null),
    }
}

fn statistics_rows(table: &TableInfo) -> Vec<Vec<Val>> {
    table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| {
            vec![
                t("def"),
                t(&table.schema),
                t(&table.name),
                int(0),
                t(&table.schema),
                t("PRIMARY"),
                int(i + 1),
                t(k),
                t("A"),
                Val::Null,
                Val::Null,
                Val::Null,
                t(""),
                t("BTREE"),
                t(""),
                t(""),
                t("YES"),
                Val::Null,
            ]
        })
        .collect()
}

fn key_usage_rows(table: &TableInfo) -> Vec<Vec<Val>> {
    table
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| {
            vec![
                t("def"),
                t(&table.schema),
                t("PRIMARY"),
                t("def"),
                t(&table.schema),
                t(&table.name),
                t(k),
                int(i + 1),
                Val::Null,
                Val::Null,
                Val::Null,
                Val::Null,
            ]
        })
        .collect()
}

fn constraint_row(table: &TableInfo) -> Vec<Val> {
    vec![
        t("def"),
        t(&table.schema),
        t("PRIMARY"),
        t(&table.schema),
        t(&table.name),
        t("PRIMARY KEY"),
        t("YES"),
    ]
}
