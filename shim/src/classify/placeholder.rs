//! `?` placeholders of prepared statements (COM_STMT_PREPARE).
//!
//! A prepared statement is kept as text with the byte offsets of its `?` markers; COM_STMT_EXECUTE
//! splices each bound parameter in as a SQL literal and the result is classified like any query.
//! So `AS OF ?` works exactly as `AS OF '<time>'`, and `WHERE id = ?` as `WHERE id = 42`.
//! Markers inside quoted strings, quoted identifiers and comments are not placeholders
//! (MySQL lexer rules: `'..'`, `".."`, `` `..` ``, backslash escapes, `#`, `-- `, `/* */`).

/// Byte offsets of the `?` placeholders of `sql`, in order.
pub fn placeholders(sql: &str) -> Vec<usize> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'?' => {
                found.push(i);
                i + 1
            }
            quote @ (b'\'' | b'"' | b'`') => skip_quoted(bytes, i, quote),
            b'#' => skip_line(bytes, i),
            b'-' if bytes.get(i + 1) == Some(&b'-')
                && bytes.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                skip_line(bytes, i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            _ => i + 1,
        };
    }
    found
}

/// Position after the quoted token opened at `start`; a doubled quote is an escaped quote, and a
/// backslash escapes the next byte in strings (not in backquoted identifiers).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(bytes.len(), |n| start + n + 1)
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    bytes[start + 2..]
        .windows(2)
        .position(|w| w == b"*/")
        .map_or(bytes.len(), |n| start + 2 + n + 2)
}

/// `sql` with the placeholder at `offsets[i]` replaced by `literals[i]` (SQL text).
/// `offsets` and `literals` have the same length (checked by the caller).
pub fn bind(sql: &str, offsets: &[usize], literals: &[String]) -> String {
    let extra: usize = literals.iter().map(String::len).sum();
    let mut out = String::with_capacity(sql.len() + extra);
    let mut from = 0;
    for (&at, literal) in offsets.iter().zip(literals) {
        out.push_str(&sql[from..at]);
        out.push_str(literal);
        from = at + 1;
    }
    out.push_str(&sql[from..]);
    out
}

/// `text` as a single-quoted MySQL string literal (quotes doubled, backslashes escaped).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{classify, Condition, Literal, ShimStatement};

    #[test]
    fn finds_markers_outside_strings_and_comments() {
        let sql = "SELECT '?', \"?\", `?` /* ? */ FROM t -- ?\n WHERE a = ? # ?\n AND b IN (?, ?)";
        let found = placeholders(sql);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|&i| &sql[i..=i] == "?"));
        assert_eq!(placeholders(r"SELECT 'it''s \' ?' , ?").len(), 1);
        assert_eq!(placeholders("SELECT 1--?").len(), 1, "`--` without a space");
    }

    #[test]
    fn bound_text_classifies_like_literal_sql() {
        let sql = "SELECT * FROM _flashback.orders AS OF ? WHERE id = ?";
        let offsets = placeholders(sql);
        let text = bind(
            sql,
            &offsets,
            &[quote("2026-04-27 09:11:59"), "42".to_owned()],
        );
        let Ok(ShimStatement::Flashback(q)) = classify(&text) else {
            panic!("{text}")
        };
        assert_eq!(
            q.conditions,
            vec![Condition::Compare {
                column: "id".into(),
                op: crate::classify::CmpOp::Eq,
                value: Literal::Int(42)
            }]
        );
    }

    #[test]
    fn quoting_escapes() {
        assert_eq!(quote(r"a'b\c"), r"'a''b\\c'");
        let sql = format!("SELECT {}", quote(r"a'b\c"));
        let Ok(ShimStatement::Chatter(crate::classify::Chatter::Select { items, .. })) =
            classify(&sql)
        else {
            panic!()
        };
        assert_eq!(
            items[0].expr,
            crate::classify::ChatterExpr::Literal(Literal::Text(r"a'b\c".into()))
        );
    }
}
