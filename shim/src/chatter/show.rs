//! Server facts clients read at connect: `SHOW VARIABLES`, `SHOW COLLATION`,
//! `SHOW CHARACTER SET`, `SHOW ENGINES` (column sets as MySQL 8.0 prints them), and the pieces
//! every SHOW answer shares: [`table`] and [`like`].

use super::{variable_text, SessionState, TextResult, VARIABLES};
use crate::classify::NameFilter;
use crate::encode::{simple_column, SimpleType};

/// Collations the shim announces: `(name, charset, id, default)`: utf8mb4's and the defaults
/// clients ask for by name (`SET NAMES` accepts every charset [`crate::charset`] converts).
const COLLATIONS: &[(&str, &str, u16, bool)] = &[
    ("utf8mb4_0900_ai_ci", "utf8mb4", 255, true),
    ("utf8mb4_general_ci", "utf8mb4", 45, false),
    ("utf8mb4_unicode_ci", "utf8mb4", 224, false),
    ("utf8mb4_bin", "utf8mb4", 46, false),
    ("utf8mb3_general_ci", "utf8mb3", 33, true),
    ("latin1_swedish_ci", "latin1", 8, true),
    ("ascii_general_ci", "ascii", 11, true),
    ("binary", "binary", 63, true),
];

/// Character sets: `(name, description, default collation, max bytes per character)`.
const CHARSETS: &[(&str, &str, &str, i64)] = &[
    ("utf8mb4", "UTF-8 Unicode", "utf8mb4_0900_ai_ci", 4),
    ("utf8mb3", "UTF-8 Unicode", "utf8mb3_general_ci", 3),
    ("latin1", "cp1252 West European", "latin1_swedish_ci", 1),
    ("ascii", "US ASCII", "ascii_general_ci", 1),
    ("binary", "Binary pseudo charset", "binary", 1),
];

/// A text result with `columns` (`name`, type) and `rows`; column lengths fit the longest value.
pub fn table(columns: &[(&str, SimpleType)], rows: Vec<Vec<Option<String>>>) -> TextResult {
    let definitions = columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            let longest = rows
                .iter()
                .filter_map(|r| r.get(i)?.as_ref().map(|v| v.chars().count()))
                .max()
                .unwrap_or(1);
            let len = u32::try_from(longest.max(1)).unwrap_or(u32::MAX);
            simple_column(name, *kind, len)
        })
        .collect();
    TextResult {
        columns: definitions,
        rows,
    }
}

/// True when `name` passes `filter` (names compare case-insensitively, as MySQL's
/// `SHOW ... LIKE` does under the default collation).
pub fn like(filter: &NameFilter, name: &str) -> bool {
    match filter {
        NameFilter::All => true,
        NameFilter::In(names) => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
        NameFilter::Like(pattern) => {
            let p: Vec<char> = pattern.to_lowercase().chars().collect();
            let n: Vec<char> = name.to_lowercase().chars().collect();
            like_match(&p, &n)
        }
    }
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes the next.
fn like_match(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('%', rest)) => (0..=name.len()).any(|i| like_match(rest, &name[i..])),
        Some(('_', rest)) => !name.is_empty() && like_match(rest, &name[1..]),
        Some(('\\', rest)) if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && like_match(&rest[1..], &name[1..])
        }
        Some((c, rest)) => name.first() == Some(c) && like_match(rest, &name[1..]),
    }
}

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// `SHOW VARIABLES`: `Variable_name`, `Value`.
pub fn variables(filter: &NameFilter, state: &SessionState) -> TextResult {
    let rows = VARIABLES
        .iter()
        .filter(|name| like(filter, name))
        .map(|name| {
            vec![
                text(name),
                Some(variable_text(name, state).unwrap_or_default()),
            ]
        })
        .collect();
    table(
        &[
            ("Variable_name", SimpleType::Text),
            ("Value", SimpleType::Text),
        ],
        rows,
    )
}

/// `SHOW COLLATION`: `Collation, Charset, Id, Default, Compiled, Sortlen, Pad_attribute`.
pub fn collations(filter: &NameFilter) -> TextResult {
    let rows = COLLATIONS
        .iter()
        .filter(|(name, ..)| like(filter, name))
        .map(|(name, charset, id, default)| {
            let pad = if name.contains("0900") {
                "NO PAD"
            } else {
                "PAD SPACE"
            };
            vec![
                text(name),
                text(charset),
                Some(id.to_string()),
                text(if *default { "Yes" } else { "" }),
                text("Yes"),
                Some("1".into()),
                text(pad),
            ]
        })
        .collect();
    table(
        &[
            ("Collation", SimpleType::Text),
            ("Charset", SimpleType::Text),
            ("Id", SimpleType::Int),
            ("Default", SimpleType::Text),
            ("Compiled", SimpleType::Text),
            ("Sortlen", SimpleType::Int),
            ("Pad_attribute", SimpleType::Text),
        ],
        rows,
    )
}

/// `SHOW CHARACTER SET`: `Charset, Description, Default collation, Maxlen`.
pub fn charsets(filter: &NameFilter) -> TextResult {
    let rows = CHARSETS
        .iter()
        .filter(|(name, ..)| like(filter, name))
        .map(|(name, description, collation, maxlen)| {
            vec![
                text(name),
                text(description),
                text(collation),
                Some(maxlen.to_string()),
            ]
        })
        .collect();
    table(
        &[
            ("Charset", SimpleType::Text),
            ("Description", SimpleType::Text),
            ("Default collation", SimpleType::Text),
            ("Maxlen", SimpleType::Int),
        ],
        rows,
    )
}

/// `SHOW ENGINES`: InnoDB, the engine of every captured table.
pub fn engines() -> TextResult {
    let row = vec![
        text("InnoDB"),
        text("DEFAULT"),
        text("Supports transactions, row-level locking, and foreign keys"),
        text("YES"),
        text("YES"),
        text("YES"),
    ];
    table(
        &[
            ("Engine", SimpleType::Text),
            ("Support", SimpleType::Text),
            ("Comment", SimpleType::Text),
            ("Transactions", SimpleType::Text),
            ("XA", SimpleType::Text),
            ("Savepoints", SimpleType::Text),
        ],
        vec![row],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let l = |p: &str, n: &str| like(&NameFilter::Like(p.into()), n);
        assert!(l("utf8%", "UTF8MB4_bin"));
        assert!(l("%_timeout", "wait_timeout"));
        assert!(l("wait\\_timeout", "wait_timeout"));
        assert!(!l("wait\\_timeout", "waitXtimeout"));
        assert!(l("a_c", "abc"));
        assert!(!l("a_c", "abbc"));
        assert!(like(&NameFilter::In(vec!["Time_Zone".into()]), "time_zone"));
    }
}
