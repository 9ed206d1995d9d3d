//! The switchable dimensions of the differential test: which column types, key kinds, DDL kinds,
//! client charsets, protocols and question kinds a run generates. Each has a stable lowercase name
//! used by the `difftest` command line (`--types int,decimal`) and in mismatch classes.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The stable name (command line, mismatch classes).
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $name {
            type Err = anyhow::Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$v),)+
                    _ => bail!(
                        "unknown {} {s:?}; one of: {}",
                        stringify!($name),
                        [$($s),+].join(", ")
                    ),
                }
            }
        }
    };
}

named_enum!(
    /// Column type classes.
    TypeClass {
        /// TINYINT … BIGINT, signed and unsigned.
        Int = "int",
        /// YEAR.
        Year = "year",
        /// BIT(1..64).
        Bit = "bit",
        /// DECIMAL up to (65,30), signed and unsigned.
        Decimal = "decimal",
        /// FLOAT and DOUBLE.
        Float = "float",
        /// DATE, TIME, DATETIME, TIMESTAMP with 0–6 fractional digits.
        Temporal = "temporal",
        /// VARCHAR and TEXT in the column charsets of [`Dims::column_charsets`].
        Text = "text",
        /// CHAR in the column charsets of [`Dims::column_charsets`].
        Char = "char",
        /// BINARY, VARBINARY, BLOB.
        Binary = "binary",
        /// ENUM and SET.
        EnumSet = "enumset",
        /// JSON (MariaDB: LONGTEXT with a JSON_VALID check).
        Json = "json",
        /// GEOMETRY and POINT.
        Geometry = "geometry",
        /// UUID, INET4, INET6.
        Fbt = "fbt",
        /// Generated columns (VIRTUAL and STORED).
        Generated = "generated",
    }
);

named_enum!(
    /// Character sets of string columns.
    ColumnCharset {
        /// utf8mb4, `_general_ci` or `_bin`.
        Utf8mb4 = "utf8mb4",
        /// utf8mb3, `_general_ci` or `_bin`.
        Utf8mb3 = "utf8mb3",
        /// latin1 (MariaDB's cp1252), `_swedish_ci` or `_bin`.
        Latin1 = "latin1",
        /// `CHARACTER SET binary`.
        Binary = "binary",
    }
);

named_enum!(
    /// What identifies rows.
    KeyKind {
        /// A one-column PRIMARY KEY.
        Single = "single",
        /// A PRIMARY KEY over 2–3 columns.
        Composite = "composite",
        /// No PRIMARY KEY, one UNIQUE key.
        UniqueOnly = "unique",
        /// No key at all; duplicate rows happen.
        None = "none",
    }
);

named_enum!(
    /// Table-level DDL in histories.
    DdlKind {
        /// ALTER TABLE … ADD COLUMN.
        AddColumn = "add",
        /// ALTER TABLE … DROP COLUMN.
        DropColumn = "drop",
        /// ALTER TABLE … MODIFY COLUMN (a wider type).
        ModifyColumn = "modify",
        /// ALTER TABLE … RENAME COLUMN.
        RenameColumn = "renamecol",
        /// ENUM/SET label lists grown at the end.
        EnumGrowth = "enumgrow",
        /// RENAME TABLE away and back.
        RenameTable = "rename",
        /// TRUNCATE TABLE.
        Truncate = "truncate",
        /// DROP TABLE and CREATE of the same name.
        DropCreate = "dropcreate",
    }
);

named_enum!(
    /// The client character set both connections use (`SET NAMES`).
    ClientCharset {
        /// utf8mb4 (the handshake default).
        Utf8mb4 = "utf8mb4",
        /// latin1.
        Latin1 = "latin1",
        /// binary (no conversion).
        Binary = "binary",
    }
);

named_enum!(
    /// Result-set protocol.
    Protocol {
        /// COM_QUERY, text rows.
        Text = "text",
        /// COM_STMT_PREPARE + COM_STMT_EXECUTE, binary rows.
        Binary = "binary",
    }
);

named_enum!(
    /// Questions asked at each instant.
    QueryKind {
        /// `_snapshot.<t> AS OF`, compared as a bag.
        Snapshot = "snapshot",
        /// `_flashback.<t> AS OF … WHERE <key> IN (…)`.
        FlashbackIn = "in",
        /// `_flashback.<t> AS OF … WHERE <key> BETWEEN …` (first key column).
        FlashbackRange = "range",
        /// `_diff.<t> BETWEEN <instant> AND <later instant> WHERE <key> IN (…)`.
        Diff = "diff",
        /// A table name that does not exist at the instant: both must refuse.
        Absent = "absent",
    }
);

named_enum!(
    /// Fields of a column definition that are compared.
    ColdefField {
        /// The column name.
        Name = "name",
        /// The original column name.
        OrgName = "org_name",
        /// The protocol type.
        Type = "type",
        /// Flags (minus the allow-listed ones).
        Flags = "flags",
        /// Display length.
        Length = "length",
        /// Decimals.
        Decimals = "decimals",
        /// Character set (collation id).
        Charset = "charset",
    }
);

/// One run's switches. [`Dims::all`] turns everything on.
///
/// `unwritten`: also ask about a table incarnation (CREATE to DROP) that never has a row written
/// in the history (capture sees its CREATE but never a TABLE_MAP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dims {
    /// Column type classes generated.
    pub types: BTreeSet<TypeClass>,
    /// Type classes key columns are drawn from (of int, decimal, temporal, text, binary; int
    /// always qualifies).
    pub key_types: BTreeSet<TypeClass>,
    /// Charsets of string columns (for [`TypeClass::Text`] and ENUM/SET).
    pub column_charsets: BTreeSet<ColumnCharset>,
    /// Key kinds of generated tables.
    pub keys: BTreeSet<KeyKind>,
    /// DDL kinds in histories (none: DML only).
    pub ddl: BTreeSet<DdlKind>,
    /// Client charsets every question is asked under.
    pub client_charsets: BTreeSet<ClientCharset>,
    /// Protocols every question is asked over.
    pub protocols: BTreeSet<Protocol>,
    /// Question kinds.
    pub queries: BTreeSet<QueryKind>,
    /// One transaction of more than 10,000 row changes in some histories.
    pub big_transactions: bool,
    /// Column-definition fields compared (none: values only).
    pub coldefs: BTreeSet<ColdefField>,
    /// Ask about table incarnations that never get a row (see the type doc).
    pub unwritten: bool,
}

impl Dims {
    /// Every dimension on.
    pub fn all() -> Self {
        Self {
            types: TypeClass::ALL.iter().copied().collect(),
            key_types: TypeClass::ALL.iter().copied().collect(),
            column_charsets: ColumnCharset::ALL.iter().copied().collect(),
            keys: KeyKind::ALL.iter().copied().collect(),
            ddl: DdlKind::ALL.iter().copied().collect(),
            client_charsets: ClientCharset::ALL.iter().copied().collect(),
            protocols: Protocol::ALL.iter().copied().collect(),
            queries: QueryKind::ALL.iter().copied().collect(),
            big_transactions: true,
            coldefs: ColdefField::ALL.iter().copied().collect(),
            unwritten: true,
        }
    }

    /// A one-line description (`types=int,year keys=single …`), printed with every run.
    pub fn describe(&self) -> String {
        fn list<T: fmt::Display>(s: &BTreeSet<T>) -> String {
            if s.is_empty() {
                return "-".to_owned();
            }
            s.iter().map(T::to_string).collect::<Vec<_>>().join(",")
        }
        format!(
            "types={} key-types={} column-charsets={} keys={} ddl={} client-charsets={} protocols={} \
             queries={} big-txn={} coldefs={} unwritten={}",
            list(&self.types),
            list(&self.key_types),
            list(&self.column_charsets),
            list(&self.keys),
            list(&self.ddl),
            list(&self.client_charsets),
            list(&self.protocols),
            list(&self.queries),
            self.big_transactions,
            list(&self.coldefs),
            self.unwritten
        )
    }
}

/// Parses a comma-separated list of names (`all` = every value, `none` or empty = no value).
pub fn parse_set<T: FromStr<Err = anyhow::Error> + Ord + Copy>(
    text: &str,
    all: &[T],
) -> Result<BTreeSet<T>> {
    match text.trim() {
        "all" => Ok(all.iter().copied().collect()),
        "" | "none" => Ok(BTreeSet::new()),
        t => t.split(',').map(|s| s.trim().parse()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in TypeClass::ALL {
            assert_eq!(t.name().parse::<TypeClass>().expect("name"), *t);
        }
        let set = parse_set("int,json", TypeClass::ALL).expect("set");
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            [TypeClass::Int, TypeClass::Json]
        );
        assert!(parse_set::<KeyKind>("nope", KeyKind::ALL).is_err());
        assert_eq!(parse_set("all", DdlKind::ALL).expect("all").len(), 8);
        assert_eq!(parse_set("all", TypeClass::ALL).expect("all").len(), 14);
    }
}
