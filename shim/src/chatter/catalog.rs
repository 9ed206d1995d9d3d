//! The virtual catalog: `SHOW DATABASES`, `SHOW [FULL] TABLES`, `SHOW [FULL] COLUMNS` /
//! `DESCRIBE`, `SHOW CREATE TABLE`, `SHOW KEYS`, `SHOW TABLE STATUS`, answered from the agent's
//! `GET /v1/tables` with MySQL 8.0's column sets, so BI table pickers can browse
//! `_flashback.<t>` like a real schema.
//!
//! A virtual schema name (`_flashback`, `_snapshot`, `_diff`) stands for the current database:
//! `_flashback.orders` after `USE shop` is `shop.orders` as of a time; without a real current
//! database it is the one captured schema holding `orders` ([`virtual_tables`]).

use agent_api::catalog::{ColumnInfo, TableInfo};

use super::show::{like, table};
use super::TextResult;
use crate::classify::{CatalogQuery, NameFilter};
use crate::encode::SimpleType;
use crate::error::MysqlError;

/// The schemas the shim serves in front of every captured one.
pub const VIRTUAL_SCHEMAS: [&str; 3] = ["_flashback", "_snapshot", "_diff"];

/// True for `_flashback`, `_snapshot`, `_diff` (any case).
pub fn is_virtual(schema: &str) -> bool {
    VIRTUAL_SCHEMAS
        .iter()
        .any(|v| v.eq_ignore_ascii_case(schema))
}

/// Which captured tables a catalog query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// Every captured table (`SHOW DATABASES`).
    All,
    /// The tables of this real schema (written in the query, or the current database).
    Schema(String),
    /// The tables a virtual schema shows in this session: see [`virtual_tables`].
    Virtual,
}

/// The tables `query` reads: a real schema written is that schema; a virtual one written, or
/// none written with a current database, is the virtual listing (the current real database's
/// tables, see [`virtual_tables`]); none written and no current database is ERR 1046.
pub fn listing(query: &CatalogQuery, current: Option<&str>) -> Result<Listing, MysqlError> {
    let written = match query {
        CatalogQuery::Databases { .. } => return Ok(Listing::All),
        CatalogQuery::Tables { schema, .. }
        | CatalogQuery::Columns { schema, .. }
        | CatalogQuery::CreateTable { schema, .. }
        | CatalogQuery::Keys { schema, .. }
        | CatalogQuery::TableStatus { schema, .. } => schema.as_deref(),
    };
    match (written, current) {
        (Some(s), _) if !is_virtual(s) => Ok(Listing::Schema(s.to_owned())),
        (Some(_), _) => Ok(Listing::Virtual),
        (None, Some(c)) if !is_virtual(c) => Ok(Listing::Schema(c.to_owned())),
        (None, Some(_)) => Ok(Listing::Virtual),
        (None, None) => Err(MysqlError::no_database()),
    }
}

/// True for `_diff` (any case): the virtual schema whose tables are change logs.
pub fn is_diff(schema: &str) -> bool {
    schema.eq_ignore_ascii_case("_diff")
}

/// True when `query` describes tables of `_diff`: the schema it names, else the current one.
pub fn describes_diff(query: &CatalogQuery, current: Option<&str>) -> bool {
    let written = match query {
        CatalogQuery::Databases { .. } => return false,
        CatalogQuery::Tables { schema, .. }
        | CatalogQuery::Columns { schema, .. }
        | CatalogQuery::CreateTable { schema, .. }
        | CatalogQuery::Keys { schema, .. }
        | CatalogQuery::TableStatus { schema, .. } => schema.as_deref(),
    };
    written.or(current).is_some_and(is_diff)
}

/// `table` as `_diff.<table>` describes itself everywhere (`DESCRIBE`, `SHOW COLUMNS`, `SHOW
/// CREATE TABLE`, `SHOW KEYS`, COM_FIELD_LIST, `information_schema`): the eight change columns
/// `SELECT * FROM _diff.<table>` returns, with the types it returns
/// ([`crate::plan::reads::diff_columns`]), and no key (a key can change many times).
pub fn as_diff_table(table: TableInfo) -> TableInfo {
    TableInfo {
        columns: crate::plan::reads::diff_columns(),
        primary_key: Vec::new(),
        ..table
    }
}

/// The tables a virtual schema (`_flashback`, `_snapshot`, `_diff`) shows, from `captured`
/// (every schema the tenant may read): a virtual schema has no tables of its own, its `<t>` is
/// resolved as `_flashback.<t>` is read. With a real current database (`USE shop`) that is
/// `shop`'s tables (filter `captured` to it first); without one (`USE _flashback`, or a
/// ProxySQL connection with schemaname `_flashback`), every captured table whose name is in
/// exactly one schema: a name captured in several schemas is ambiguous until a real database is
/// chosen, so it is not listed (reading it is ERR 1046 naming the schemas).
pub fn virtual_tables(captured: Vec<TableInfo>) -> Vec<TableInfo> {
    let count = |name: &str| {
        captured
            .iter()
            .filter(|t| t.name.eq_ignore_ascii_case(name))
            .count()
    };
    let unique: Vec<bool> = captured.iter().map(|t| count(&t.name) == 1).collect();
    captured
        .into_iter()
        .zip(unique)
        .filter_map(|(t, keep)| keep.then_some(t))
        .collect()
}

/// The schema a virtual read of `table` resolves to without a real current database: the one
/// captured schema holding a table of that name. Several → ERR 1046 naming them (the user must
/// `USE` one); none → ERR 1146 `<current>.<table>` after `USE _flashback` (`current`), ERR 1046
/// without any current database.
pub fn resolve_unqualified(
    table: &str,
    captured: &[TableInfo],
    current: Option<&str>,
) -> Result<String, MysqlError> {
    let mut schemas: Vec<&str> = captured
        .iter()
        .filter(|t| t.name.eq_ignore_ascii_case(table))
        .map(|t| t.schema.as_str())
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    match schemas.as_slice() {
        [] => Err(current.map_or_else(MysqlError::no_database, |c| {
            MysqlError::no_such_table(c, table)
        })),
        [one] => Ok((*one).to_owned()),
        several => Err(MysqlError::ambiguous_table(table, several)),
    }
}

/// Answers `query` from `tables` (those of the source schema, or all for `SHOW DATABASES`).
/// `current` is the session database, for the `Tables_in_<db>` header.
pub fn answer(
    query: &CatalogQuery,
    tables: &[TableInfo],
    current: Option<&str>,
) -> Result<TextResult, MysqlError> {
    match query {
        CatalogQuery::Databases { like: filter } => Ok(databases(filter, tables)),
        CatalogQuery::Tables {
            schema,
            full,
            like: filter,
        } => {
            let shown = schema.as_deref().or(current).unwrap_or("");
            Ok(table_names(shown, *full, filter, tables))
        }
        CatalogQuery::Columns {
            table: name, full, ..
        } => find(tables, name).map(|t| columns(t, *full)),
        CatalogQuery::CreateTable { table: name, .. } => find(tables, name).map(create_table),
        CatalogQuery::Keys { table: name, .. } => find(tables, name).map(keys),
        CatalogQuery::TableStatus { like: filter, .. } => Ok(table_status(tables, filter)),
    }
}

fn find<'a>(tables: &'a [TableInfo], name: &str) -> Result<&'a TableInfo, MysqlError> {
    tables
        .iter()
        .find(|t| t.name == name)
        .or_else(|| tables.iter().find(|t| t.name.eq_ignore_ascii_case(name)))
        .ok_or_else(|| {
            let schema = tables.first().map_or("", |t| t.schema.as_str());
            MysqlError::no_such_table(schema, name)
        })
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn databases(filter: &NameFilter, tables: &[TableInfo]) -> TextResult {
    let mut names: Vec<&str> = VIRTUAL_SCHEMAS.to_vec();
    for t in tables {
        if !names.contains(&t.schema.as_str()) {
            names.push(&t.schema);
        }
    }
    let rows = names
        .into_iter()
        .filter(|n| like(filter, n))
        .map(|n| vec![text(n)])
        .collect();
    table(&[("Database", SimpleType::Text)], rows)
}

fn table_names(shown: &str, full: bool, filter: &NameFilter, tables: &[TableInfo]) -> TextResult {
    let header = format!("Tables_in_{shown}");
    let rows = tables
        .iter()
        .filter(|t| like(filter, &t.name))
        .map(|t| {
            let mut row = vec![text(&t.name)];
            if full {
                row.push(text("BASE TABLE"));
            }
            row
        })
        .collect();
    let mut columns = vec![(header.as_str(), SimpleType::Text)];
    if full {
        columns.push(("Table_type", SimpleType::Text));
    }
    table(&columns, rows)
}

/// `COLUMN_TYPE` as MySQL prints it, e.g. `decimal(12,2)`.
fn column_type(c: &ColumnInfo) -> String {
    if c.column_type.is_empty() {
        c.data_type.sql_name().to_owned()
    } else {
        c.column_type.clone()
    }
}

fn is_pk(t: &TableInfo, column: &str) -> bool {
    t.primary_key.iter().any(|k| k.eq_ignore_ascii_case(column))
}

/// The table's default collation as far as the agent's metadata shows it: that of its first
/// non-binary string column (columns inherit the table default unless declared otherwise);
/// `None` for a table without one (unknown, not guessed).
fn table_collation(t: &TableInfo) -> Option<String> {
    t.columns
        .iter()
        .filter(|c| c.charset.as_deref().is_some_and(|cs| cs != "binary"))
        .find_map(collation)
}

/// Collation name of a string column (utf8mb4's default when the id is not one the shim names).
fn collation(c: &ColumnInfo) -> Option<String> {
    c.charset.as_ref()?;
    let name = match c.collation_id {
        Some(45) => "utf8mb4_general_ci",
        Some(46) => "utf8mb4_bin",
        Some(224) => "utf8mb4_unicode_ci",
        Some(8) => "latin1_swedish_ci",
        Some(63) => "binary",
        _ => "utf8mb4_0900_ai_ci",
    };
    text(name)
}

/// `SHOW [FULL] COLUMNS`: `Field, Type, [Collation,] Null, Key, Default, Extra[, Privileges,
/// Comment]`. Defaults are not in the agent's metadata: NULL.
fn columns(t: &TableInfo, full: bool) -> TextResult {
    let rows = t
        .columns
        .iter()
        .map(|c| {
            let mut row = vec![text(&c.name), Some(column_type(c))];
            if full {
                row.push(collation(c));
            }
            row.push(text(if c.nullable { "YES" } else { "NO" }));
            row.push(text(if is_pk(t, &c.name) { "PRI" } else { "" }));
            row.push(None);
            row.push(text(""));
            if full {
                row.push(text("select"));
                row.push(text(""));
            }
            row
        })
        .collect();
    let names: &[&str] = if full {
        &[
            "Field",
            "Type",
            "Collation",
            "Null",
            "Key",
            "Default",
            "Extra",
            "Privileges",
            "Comment",
        ]
    } else {
        &["Field", "Type", "Null", "Key", "Default", "Extra"]
    };
    let columns: Vec<_> = names.iter().map(|n| (*n, SimpleType::Text)).collect();
    table(&columns, rows)
}

fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `SHOW CREATE TABLE`: `Table`, `Create Table` with MySQL-shaped DDL (one column per line,
/// `PRIMARY KEY`, `ENGINE=InnoDB`), as SQLAlchemy's reflection regexes expect.
fn create_table(t: &TableInfo) -> TextResult {
    let default = table_collation(t);
    let mut lines: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable {
                "DEFAULT NULL"
            } else {
                "NOT NULL"
            };
            let charset = match (&c.charset, collation(c)) {
                (Some(cs), Some(coll)) if cs != "binary" && Some(&coll) != default.as_ref() => {
                    format!(" CHARACTER SET {cs} COLLATE {coll}")
                }
                _ => String::new(),
            };
            format!(
                "  {} {}{charset} {null}",
                quote_ident(&c.name),
                column_type(c)
            )
        })
        .collect();
    if !t.primary_key.is_empty() {
        let key: Vec<String> = t.primary_key.iter().map(|k| quote_ident(k)).collect();
        lines.push(format!("  PRIMARY KEY ({})", key.join(",")));
    }
    let ddl = format!(
        "CREATE TABLE {} (\n{}\n) ENGINE=InnoDB{}",
        quote_ident(&t.name),
        lines.join(",\n"),
        default.as_ref().map_or(String::new(), |d| format!(
            " DEFAULT CHARSET={} COLLATE={d}",
            d.split('_').next().unwrap_or(d)
        )),
    );
    table(
        &[
            ("Table", SimpleType::Text),
            ("Create Table", SimpleType::Text),
        ],
        vec![vec![text(&t.name), Some(ddl)]],
    )
}

/// `SHOW KEYS`: MySQL 8.0's 15 columns, one row per primary-key column.
fn keys(t: &TableInfo) -> TextResult {
    let rows = t
        .primary_key
        .iter()
        .enumerate()
        .map(|(i, k)| {
            vec![
                text(&t.name),
                Some("0".into()),
                text("PRIMARY"),
                Some((i + 1).to_string()),
                text(k),
                text("A"),
                None,
                None,
                None,
                text(""),
                text("BTREE"),
                text(""),
                text(""),
                text("YES"),
                None,
            ]
        })
        .collect();
    let names = [
        "Table",
        "Non_unique",
        "Key_name",
        "Seq_in_index",
        "Column_name",
        "Collation",
        "Cardinality",
        "Sub_part",
        "Packed",
        "Null",
        "Index_type",
        "Comment",
        "Index_comment",
        "Visible",
        "Expression",
    ];
    let columns: Vec<_> = names
        .iter()
        .map(|n| match *n {
            "Non_unique" | "Seq_in_index" => (*n, SimpleType::Int),
            _ => (*n, SimpleType::Text),
        })
        .collect();
    table(&columns, rows)
}

/// `SHOW TABLE STATUS`: MySQL 8.0's 18 columns; sizes and times are unknown (NULL).
fn table_status(tables: &[TableInfo], filter: &NameFilter) -> TextResult {
    let rows = tables
        .iter()
        .filter(|t| like(filter, &t.name))
        .map(|t| {
            let mut row = vec![
                text(&t.name),
                text("InnoDB"),
                Some("10".into()),
                text("Dynamic"),
            ];
            row.extend(std::iter::repeat_n(None, 10));
            row.extend([table_collation(t), None, text(""), text("")]);
            row
        })
        .collect();
    let names = [
        "Name",
        "Engine",
        "Version",
        "Row_format",
        "Rows",
        "Avg_row_length",
        "Data_length",
        "Max_data_length",
        "Index_length",
        "Data_free",
        "Auto_increment",
        "Create_time",
        "Update_time",
        "Check_time",
        "Collation",
        "Checksum",
        "Create_options",
        "Comment",
    ];
    let columns: Vec<_> = names.iter().map(|n| (*n, SimpleType::Text)).collect();
    table(&columns, rows)
}

#[cfg(test)]
mod tests;
