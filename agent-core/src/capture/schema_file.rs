//! `import-binlogs --schema-file`: the columns of the tables a binlog file maps, for files written
//! without optional metadata (MySQL before 8.0.1, `binlog_row_metadata` unset, MariaDB's
//! `NO_LOG`), where no live `information_schema` can be asked.
//!
//! Such a TABLE_MAP gives types but no names, no PK and no signedness: an `INT UNSIGNED` of
//! 3,230,202,323 and an `INT` of -1,064,764,973 are the same four bytes. The file is what
//! `mysql --batch` prints for this query on the server (or a restored copy of its schema):
//!
//! ```sql
//! SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.COLLATION_NAME,
//!        IFNULL(s.SEQ_IN_INDEX, 0) AS PK_SEQ, c.EXTRA
//! FROM information_schema.COLUMNS c
//! LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA
//!   AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = 'PRIMARY'
//! ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION;
//! ```
//!
//! One line per column, tab-separated, in ordinal order per table; an optional header line
//! starting with `TABLE_SCHEMA`; `NULL` for a missing collation; `\t`, `\n`, `\\` and `\0`
//! escaped as the batch mode writes them. The columns then complete each TABLE_MAP exactly as
//! live capture's `information_schema` fallback does ([`crate::schema::apply_information_schema`]).

use std::collections::HashMap;
use std::path::Path;

use crate::schema::InformationSchemaColumn;

/// Columns per `(schema, table)`, in ordinal order.
pub type SchemaColumns = HashMap<(String, String), Vec<InformationSchemaColumn>>;

/// Why a schema file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaFileError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The path given.
        file: String,
        /// The read error.
        source: std::io::Error,
    },
    /// A line does not have the seven fields.
    #[error("{file} line {line}: {why}")]
    Line {
        /// The path given.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// Reads a schema file (format in the module documentation).
pub fn read(path: &Path) -> Result<SchemaColumns, SchemaFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaFileError::Io {
        file: path.display().to_string(),
        source,
    })?;
    parse(&text).map_err(|(line, why)| SchemaFileError::Line {
        file: path.display().to_string(),
        line,
        why,
    })
}

/// Parses the text of a schema file; an error names the 1-based line.
pub fn parse(text: &str) -> Result<SchemaColumns, (usize, String)> {
    let mut out = SchemaColumns::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || (i == 0 && line.starts_with("TABLE_SCHEMA")) {
            continue;
        }
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let [schema, table, name, column_type, collation, pk_seq, extra] =
            <[String; 7]>::try_from(fields).map_err(|f| {
                (
                    i + 1,
                    format!("{} fields, expected 7 separated by tabs", f.len()),
                )
            })?;
        let pk_seq = pk_seq
            .parse()
            .map_err(|_| (i + 1, format!("PK_SEQ {pk_seq:?} is not a number")))?;
        out.entry((schema, table))
            .or_default()
            .push(InformationSchemaColumn {
                name,
                column_type,
                collation: (collation != "NULL").then_some(collation),
                pk_seq,
                is_virtual: extra.to_ascii_uppercase().contains("VIRTUAL"),
            });
    }
    Ok(out)
}

/// Undoes `mysql --batch` escaping (`\t`, `\n`, `\\`, `\0`).
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_output_with_header_nulls_and_escapes() {
        let text =
            "TABLE_SCHEMA\tTABLE_NAME\tCOLUMN_NAME\tCOLUMN_TYPE\tCOLLATION_NAME\tPK_SEQ\tEXTRA\n\
                    s\tt\tid\tint(10) unsigned\tNULL\t1\tauto_increment\n\
                    s\tt\tv\tenum('a\\tb','c')\tutf8mb4_general_ci\t0\t\n\
                    s\tt\tg\tint(11)\tNULL\t0\tVIRTUAL GENERATED\n";
        let cols = parse(text).unwrap();
        let t = &cols[&("s".to_owned(), "t".to_owned())];
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].name.as_str(), t[0].pk_seq, &t[0].collation),
            ("id", 1, &None)
        );
        assert_eq!(t[1].column_type, "enum('a\tb','c')");
        assert_eq!(t[1].collation.as_deref(), Some("utf8mb4_general_ci"));
        assert!(t[2].is_virtual && !t[1].is_virtual);
    }

    #[test]
    fn a_short_line_is_an_error_naming_it() {
        assert_eq!(
            parse("s\tt\tid\tint\n").unwrap_err(),
            (1, "4 fields, expected 7 separated by tabs".to_owned())
        );
        assert!(parse("s\tt\tid\tint\tNULL\tx\t\n").is_err());
    }
}
