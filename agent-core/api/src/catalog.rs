//! Table metadata: `GET /v1/tables?server_id=&schema=`.

use serde::{Deserialize, Serialize};

/// Query string of `GET /v1/tables`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablesQuery {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Only this schema (database); all captured schemas when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// Answer of `GET /v1/tables`: the newest schema version of every captured table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TablesResponse {
    /// Always `true`.
    pub success: bool,
    /// Tables sorted by schema, then name.
    pub tables: Vec<TableInfo>,
}

/// One table as the agent knows it at a given `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInfo {
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// Names of the primary key columns in key order; empty when the table has no PK.
    pub primary_key: Vec<String>,
}

/// One column, described the way `information_schema.COLUMNS` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// `DATA_TYPE`, e.g. `decimal`.
    pub data_type: DataType,
    /// `COLUMN_TYPE`, e.g. `decimal(12,2)`, `bigint(20) unsigned`, `enum('new','paid')`.
    pub column_type: String,
    /// UNSIGNED integer or decimal.
    #[serde(default)]
    pub unsigned: bool,
    /// NULL allowed.
    pub nullable: bool,
    /// Maximum length in characters for character types, bytes for binary types, display width or
    /// precision for numbers (what MySQL puts in the column definition's length, before charset scaling).
    #[serde(default)]
    pub length: u32,
    /// Digits after the point for DECIMAL, fractional-second digits (0..=6) for TIME/DATETIME/TIMESTAMP.
    #[serde(default)]
    pub scale: u8,
    /// Character set name (`utf8mb4`, `latin1`, `binary`); absent for non-string types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// MySQL collation id (e.g. 45 `utf8mb4_general_ci`, 63 `binary`); absent for non-string types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation_id: Option<u16>,
    /// ENUM/SET labels in definition order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<String>,
}

impl ColumnInfo {
    /// A nullable signed `int(11)` column named `name` (no charset, no elements): the shape
    /// examples and test fixtures start from (`ColumnInfo { column_type: ..., ..ColumnInfo::int(n) }`).
    pub fn int(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            data_type: DataType::Int,
            column_type: "int(11)".to_owned(),
            unsigned: false,
            nullable: true,
            length: 11,
            scale: 0,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        }
    }
}

/// `information_schema.COLUMNS.DATA_TYPE` values (MySQL 8 and MariaDB names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum DataType {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Decimal,
    Float,
    Double,
    Bit,
    Year,
    Date,
    Time,
    DateTime,
    Timestamp,
    Char,
    VarChar,
    Binary,
    VarBinary,
    TinyText,
    Text,
    MediumText,
    LongText,
    TinyBlob,
    Blob,
    MediumBlob,
    LongBlob,
    Enum,
    Set,
    Json,
    Geometry,
    Uuid,
    Inet4,
    Inet6,
}

impl DataType {
    /// The lowercase SQL name, as in `information_schema.COLUMNS.DATA_TYPE`.
    pub fn sql_name(self) -> &'static str {
        use DataType::*;
        match self {
            TinyInt => "tinyint",
            SmallInt => "smallint",
            MediumInt => "mediumint",
            Int => "int",
            BigInt => "bigint",
            Decimal => "decimal",
            Float => "float",
            Double => "double",
            Bit => "bit",
            Year => "year",
            Date => "date",
            Time => "time",
            DateTime => "datetime",
            Timestamp => "timestamp",
            Char => "char",
            VarChar => "varchar",
            Binary => "binary",
            VarBinary => "varbinary",
            TinyText => "tinytext",
            Text => "text",
            MediumText => "mediumtext",
            LongText => "longtext",
            TinyBlob => "tinyblob",
            Blob => "blob",
            MediumBlob => "mediumblob",
            LongBlob => "longblob",
            Enum => "enum",
            Set => "set",
            Json => "json",
            Geometry => "geometry",
            Uuid => "uuid",
            Inet4 => "inet4",
            Inet6 => "inet6",
        }
    }
}

impl TableInfo {
    /// Index of the column named `name`, compared case-insensitively as MySQL does for column names.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}
