//! Table-level effects of DDL statements in QUERY events.
//!
//! `TRUNCATE`, `DROP TABLE`, `RENAME TABLE`, `ALTER TABLE ... RENAME` and `CREATE OR REPLACE TABLE`
//! produce no row events, so capture records them as table operations at their seq and
//! reconstruction honours them. Statements are read with sqlparser's MySQL tokenizer (comments,
//! backticks and quoting handled), then the few head forms we act on are matched on tokens.

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// `schema.table`, the schema defaulted from the QUERY event's current database.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualName {
    /// Schema (database).
    pub schema: String,
    /// Table.
    pub table: String,
}

/// What a DDL statement does to a table's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOp {
    /// All rows gone; the table stays.
    Truncate(QualName),
    /// The table is gone; a later table of that name is a new table.
    Drop(QualName),
    /// A table of this name starts, empty, inside the captured history.
    Create(QualName),
    /// The table continues under a new name.
    Rename {
        /// Old name.
        from: QualName,
        /// New name.
        to: QualName,
    },
}

/// The table operations of one statement (empty for anything else, e.g. `ALTER TABLE t ADD ...`,
/// whose effect arrives with the next TABLE_MAP as a new schema version).
pub fn table_ops(sql: &str, default_schema: &str) -> Vec<TableOp> {
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize() else {
        return Vec::new();
    };
    let words: Vec<Token> = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut p = Cursor {
        t: &words,
        i: 0,
        default_schema,
    };
    p.statement()
}

struct Cursor<'a> {
    t: &'a [Token],
    i: usize,
    default_schema: &'a str,
}

impl Cursor<'_> {
    fn keyword(&mut self, kw: &str) -> bool {
        match self.t.get(self.i) {
            Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }

    fn token(&mut self, tok: &Token) -> bool {
        if self.t.get(self.i) == Some(tok) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        match self.t.get(self.i) {
            Some(Token::Word(w)) => {
                self.i += 1;
                Some(w.value.clone())
            }
            _ => None,
        }
    }

    fn name(&mut self) -> Option<QualName> {
        let first = self.ident()?;
        if self.token(&Token::Period) {
            let table = self.ident()?;
            return Some(QualName {
                schema: first,
                table,
            });
        }
        Some(QualName {
            schema: self.default_schema.to_owned(),
            table: first,
        })
    }

    fn names(&mut self) -> Vec<QualName> {
        let mut out = Vec::new();
        while let Some(n) = self.name() {
            out.push(n);
            if !self.token(&Token::Comma) {
                break;
            }
        }
        out
    }

    fn statement(&mut self) -> Vec<TableOp> {
        if self.keyword("TRUNCATE") {
            self.keyword("TABLE");
            return self.name().map(TableOp::Truncate).into_iter().collect();
        }
        if self.keyword("DROP") {
            if self.keyword("TEMPORARY") || !self.keyword("TABLE") {
                return Vec::new();
            }
            if self.keyword("IF") {
                self.keyword("EXISTS");
            }
            return self.names().into_iter().map(TableOp::Drop).collect();
        }
        if self.keyword("RENAME") {
            if !self.keyword("TABLE") && !self.keyword("TABLES") {
                return Vec::new();
            }
            let mut ops = Vec::new();
            while let Some(from) = self.name() {
                if !self.keyword("TO") {
                    break;
                }
                let Some(to) = self.name() else { break };
                ops.push(TableOp::Rename { from, to });
                if !self.token(&Token::Comma) {
                    break;
                }
            }
            return ops;
        }
        if self.keyword("CREATE") {
            let replace = self.keyword("OR") && self.keyword("REPLACE");
            if self.keyword("TEMPORARY") || !self.keyword("TABLE") {
                return Vec::new();
            }
            if self.keyword("IF") {
                self.keyword("NOT");
                self.keyword("EXISTS");
            }
            let Some(name) = self.name() else {
                return Vec::new();
            };
            return if replace {
                vec![TableOp::Drop(name.clone()), TableOp::Create(name)]
            } else {
                vec![TableOp::Create(name)]
            };
        }
        if self.keyword("ALTER") {
            self.keyword("ONLINE");
            self.keyword("IGNORE");
            if !self.keyword("TABLE") {
                return Vec::new();
            }
            if self.keyword("IF") {
                self.keyword("EXISTS");
            }
            let Some(from) = self.name() else {
                return Vec::new();
            };
            // Find a top-level `RENAME [TO|AS] name` among the alter specifications.
            let mut depth = 0i32;
            while let Some(tok) = self.t.get(self.i) {
                match tok {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                if depth == 0 && self.keyword("RENAME") {
                    if self.keyword("COLUMN") || self.keyword("INDEX") || self.keyword("KEY") {
                        continue;
                    }
                    let _ = self.keyword("TO") || self.keyword("AS");
                    return self
                        .name()
                        .map(|to| TableOp::Rename {
                            from: from.clone(),
                            to,
                        })
                        .into_iter()
                        .collect();
                }
                self.i += 1;
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str, t: &str) -> QualName {
        QualName {
            schema: s.into(),
            table: t.into(),
        }
    }

    #[test]
    fn recognises_table_level_ddl() {
        assert_eq!(
            table_ops("TRUNCATE TABLE `orders`", "shop"),
            vec![TableOp::Truncate(q("shop", "orders"))]
        );
        assert_eq!(
            table_ops("truncate crm.users", "shop"),
            vec![TableOp::Truncate(q("crm", "users"))]
        );
        assert_eq!(
            table_ops(
                "DROP TABLE IF EXISTS `a`,`b`.`c` /* generated by server */",
                "s"
            ),
            vec![TableOp::Drop(q("s", "a")), TableOp::Drop(q("b", "c"))]
        );
        assert_eq!(
            table_ops("RENAME TABLE a TO b, x.c TO x.d", "s"),
            vec![
                TableOp::Rename {
                    from: q("s", "a"),
                    to: q("s", "b")
                },
                TableOp::Rename {
                    from: q("x", "c"),
                    to: q("x", "d")
                }
            ]
        );
        assert_eq!(
            table_ops("CREATE OR REPLACE TABLE t (id int)", "s"),
            vec![TableOp::Drop(q("s", "t")), TableOp::Create(q("s", "t"))]
        );
        assert_eq!(
            table_ops("CREATE TABLE IF NOT EXISTS `x`.`t` (id int)", "s"),
            vec![TableOp::Create(q("x", "t"))]
        );
        assert_eq!(
            table_ops("ALTER TABLE t ADD COLUMN x INT, RENAME TO u", "s"),
            vec![TableOp::Rename {
                from: q("s", "t"),
                to: q("s", "u")
            }]
        );
    }

    #[test]
    fn ignores_everything_else() {
        assert!(table_ops("DROP TEMPORARY TABLE IF EXISTS t", "s").is_empty());
        assert!(table_ops("ALTER TABLE t RENAME COLUMN a TO b", "s").is_empty());
        assert!(table_ops("CREATE TEMPORARY TABLE t (id int)", "s").is_empty());
        assert!(table_ops(
            "ALTER TABLE t ADD COLUMN note VARCHAR(10) DEFAULT 'RENAME TO x'",
            "s"
        )
        .is_empty());
        assert!(table_ops("INSERT INTO t VALUES ('TRUNCATE t')", "s").is_empty());
    }
}
