//! Bounds on a statement's size and shape, checked before the parser builds an AST.
//!
//! sqlparser refuses nesting deeper than its recursion limit (parentheses, function calls, unary
//! operators), but a flat chain of infix operators (`1 + 1 + … + 1`, `a = 1 AND a = 1 AND …`)
//! is parsed in a loop into a left-deep tree whose depth is the chain's length. Every later walk
//! over that tree recurses once per level: the shim's own conversion, `Display` in error
//! messages, the information_schema evaluator, and `Drop` of the AST itself. 6,000 terms
//! overflow a 2 MiB tokio worker stack in a debug build and abort the process for every tenant.
//!
//! So the tokens are counted first: at most [`MAX_STATEMENT_BYTES`] of text and
//! [`MAX_OPERATORS`] infix operators (each adds at most one level to any expression tree), which
//! bounds the depth of every tree the parser can build to `MAX_OPERATORS` plus its recursion
//! limit. The tests run the deepest accepted statement through classification, evaluation and
//! drop on a tokio worker thread of a debug build.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::ClassifyError;

/// Deepest nesting (parentheses, function calls, unary operators) sqlparser may recurse into
/// (its default is 50; each level costs tens of KiB of stack in a debug build).
pub const PARSER_RECURSION_LIMIT: usize = 32;

/// Longest statement text the shim parses: 1 MiB (an `IN` list of some 80,000 integer keys).
/// Tokens cost ~80 bytes each in memory, so this also bounds the parser's memory per statement.
pub const MAX_STATEMENT_BYTES: usize = 1 << 20;

/// Most infix operators (and set operations such as `UNION`) in one statement. Time-travel
/// WHERE clauses need one per condition (key lists go in `IN (...)`, which has none); the
/// information_schema queries of JDBC drivers and BI tools stay under 100. The bound keeps the
/// deepest tree within a tokio worker's stack with a 2× margin in a debug build (see the tests).
pub const MAX_OPERATORS: usize = 200;

/// Refuses text over [`MAX_STATEMENT_BYTES`] before it is tokenized.
pub fn check_length(sql: &str) -> Result<(), ClassifyError> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err(ClassifyError::TooComplex(format!(
            "statement too long ({} bytes; the limit is {MAX_STATEMENT_BYTES})",
            sql.len()
        )));
    }
    Ok(())
}

/// Both checks on statement text (tokenized with the MySQL dialect); text that does not
/// tokenize passes, the parser reports it.
pub fn check_text(sql: &str) -> Result<(), ClassifyError> {
    check_length(sql)?;
    let dialect = sqlparser::dialect::MySqlDialect {};
    match sqlparser::tokenizer::Tokenizer::new(&dialect, sql).tokenize_with_location() {
        Ok(tokens) => check_tokens(&tokens),
        Err(_) => Ok(()),
    }
}

/// Refuses a token stream with more than [`MAX_OPERATORS`] infix operators.
pub fn check_tokens(tokens: &[TokenWithSpan]) -> Result<(), ClassifyError> {
    let mut operators = 0usize;
    let mut after_operand = false;
    for token in tokens {
        let token = &token.token;
        if matches!(token, Token::Whitespace(_)) {
            continue;
        }
        if is_operator(token, after_operand) {
            operators += 1;
            if operators > MAX_OPERATORS {
                return Err(ClassifyError::TooComplex(format!(
                    "statement too complex (more than {MAX_OPERATORS} operators); \
                     split it, or list keys with IN (...)"
                )));
            }
        }
        after_operand = ends_operand(token);
    }
    Ok(())
}

/// True when `token` can join two expressions into a deeper one. `+` and `-` after something
/// that is not an operand are signs (`IN (-1, -2)`), which sqlparser parses recursively under
/// its own recursion limit.
fn is_operator(token: &Token, after_operand: bool) -> bool {
    match token {
        Token::Word(w) => w.quote_style.is_none() && OPERATOR_KEYWORDS.contains(&w.keyword),
        Token::Plus | Token::Minus => after_operand,
        Token::Comma
        | Token::LParen
        | Token::RParen
        | Token::Period
        | Token::SemiColon
        | Token::EOF
        | Token::Number(..)
        | Token::Placeholder(_) => false,
        other => !is_literal(other),
    }
}

/// True when an infix operator may follow `token`.
fn ends_operand(token: &Token) -> bool {
    match token {
        Token::Word(w) => w.quote_style.is_some() || !OPERATOR_KEYWORDS.contains(&w.keyword),
        Token::Number(..) | Token::Placeholder(_) | Token::RParen | Token::RBracket => true,
        other => is_literal(other),
    }
}

fn is_literal(token: &Token) -> bool {
    matches!(
        token,
        Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

/// Keywords that join expressions (MySQL's operator list, "Operators" in the reference manual)
/// or queries (set operations).
const OPERATOR_KEYWORDS: &[Keyword] = &[
    Keyword::AND,
    Keyword::OR,
    Keyword::XOR,
    Keyword::NOT,
    Keyword::DIV,
    Keyword::MOD,
    Keyword::IS,
    Keyword::LIKE,
    Keyword::ILIKE,
    Keyword::RLIKE,
    Keyword::REGEXP,
    Keyword::SIMILAR,
    Keyword::BETWEEN,
    Keyword::IN,
    Keyword::COLLATE,
    Keyword::ESCAPE,
    Keyword::MEMBER,
    Keyword::OVERLAPS,
    Keyword::AT,
    Keyword::UNION,
    Keyword::EXCEPT,
    Keyword::INTERSECT,
    Keyword::MINUS,
];

#[cfg(test)]
mod tests {
    use agent_api::catalog::{ColumnInfo, DataType, TableInfo};

    use super::*;
    use crate::classify::{classify, ShimStatement};

    /// `first op term op term …` with `terms` terms.
    fn chain(first: &str, op: &str, term: &str, terms: usize) -> String {
        let mut sql = first.to_owned();
        for i in 0..terms {
            if i > 0 {
                sql.push_str(op);
            }
            sql.push_str(term);
        }
        sql
    }

    fn too_complex(sql: &str) {
        match classify(sql) {
            Err(ClassifyError::TooComplex(message)) => {
                assert!(message.contains("too"), "{message}")
            }
            other => panic!("{}: {other:?}", &sql[..60]),
        }
    }

    #[test]
    fn long_flat_chains_are_refused_before_parsing() {
        // The two statements of the report: 24 KB of `+ 1`, 8,000 ANDed equalities.
        too_complex(&chain("SELECT ", " + ", "1", 6000));
        too_complex(&chain(
            "SELECT * FROM _flashback.t AS OF '2026-01-01' WHERE ",
            " AND ",
            "id = 1",
            8000,
        ));
        too_complex(&chain("SELECT 1", " UNION SELECT ", "1", 1200));
        let long = format!("SELECT '{}'", "x".repeat(MAX_STATEMENT_BYTES));
        too_complex(&long);
    }

    #[test]
    fn signs_and_lists_are_not_operators() {
        // 5,000 negative keys: signs, no infix operator.
        let keys: Vec<String> = (1..=5000).map(|i| format!("-{i}")).collect();
        let sql = format!(
            "SELECT * FROM _flashback.t AS OF '2026-01-01' WHERE id IN ({})",
            keys.join(", ")
        );
        assert!(matches!(classify(&sql), Ok(ShimStatement::Flashback(_))));
    }

    fn catalog() -> Vec<TableInfo> {
        let column = ColumnInfo {
            name: "id".into(),
            data_type: DataType::Int,
            column_type: "int".into(),
            unsigned: false,
            nullable: false,
            length: 0,
            scale: 0,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        };
        vec![TableInfo {
            schema: "shop".into(),
            name: "t".into(),
            columns: vec![column],
            primary_key: vec!["id".into()],
        }]
    }

    /// The deepest statements the bound admits, each as one chain of [`MAX_OPERATORS`] operators
    /// (some inside the deepest nesting the parser allows), classified, planned or evaluated,
    /// shown in an error message and dropped on a tokio worker thread of this build with 3/4 of
    /// the default 2 MiB stack. (In a debug build the information_schema path needs 4-8 KiB per
    /// level: 500 operators overflowed 2 MiB, 250 fit; sqlparser's default nesting limit of 50
    /// with 200 operators inside overflowed 1 MiB.)
    fn deepest() -> Vec<String> {
        let nested = |inner: String| {
            format!(
                "SELECT {}{inner}{}",
                "(".repeat(PARSER_RECURSION_LIMIT - 2),
                ")".repeat(PARSER_RECURSION_LIMIT - 2)
            )
        };
        vec![
            chain("SELECT ", " + ", "1", MAX_OPERATORS + 1),
            chain("SELECT ", " AND ", "1", MAX_OPERATORS + 1),
            chain(
                "SELECT * FROM _flashback.t AS OF '2026-01-01' WHERE id = 1 AND ",
                " AND ",
                "id",
                // `*`, `=` and the first AND are operators too.
                MAX_OPERATORS - 2,
            ),
            chain(
                "SELECT * FROM _snapshot.t AS OF '2026-01-01' WHERE ",
                " AND ",
                "id > 1",
                MAX_OPERATORS / 2,
            ),
            chain(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE ",
                " + ",
                "0",
                MAX_OPERATORS - 1,
            ) + " = 0",
            chain(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME = 't' OR ",
                " OR ",
                "1 = 0",
                MAX_OPERATORS / 2 - 1,
            ),
            nested(chain("", " - ", "1", MAX_OPERATORS + 1)),
            format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE {}{}{} = 0",
                "(".repeat(PARSER_RECURSION_LIMIT - 2),
                chain("", " + ", "0", MAX_OPERATORS - 1),
                ")".repeat(PARSER_RECURSION_LIMIT - 2)
            ),
            chain("SELECT 1 UNION ", " UNION ", "SELECT 1", MAX_OPERATORS),
        ]
    }

    fn exercise(sql: &str) {
        check_length(sql).unwrap();
        let tokens =
            sqlparser::tokenizer::Tokenizer::new(&sqlparser::dialect::MySqlDialect {}, sql)
                .tokenize_with_location()
                .unwrap();
        check_tokens(&tokens).unwrap_or_else(|e| panic!("{e}: {}", &sql[..80]));
        let tables = catalog();
        match classify(sql) {
            Ok(ShimStatement::InformationSchema(query)) => {
                let shown = crate::chatter::catalog::virtual_tables(tables.clone());
                let result =
                    crate::chatter::information_schema::answer(&query, &tables, &shown, None)
                        .unwrap();
                assert!(!result.rows.is_empty(), "the filter holds for every row");
            }
            Ok(ShimStatement::Flashback(query)) | Ok(ShimStatement::Snapshot(query)) => {
                let _ = crate::plan::plan_flashback(&query, &tables[0], 1, 0);
                let _ = crate::plan::reads::plan_snapshot(&query, &tables[0], 1, 0);
            }
            Ok(ShimStatement::Chatter(chatter)) => {
                let mut state = crate::chatter::SessionState::new(
                    "u".into(),
                    "h".into(),
                    1,
                    crate::plan::TimeZone::UTC,
                );
                let _ = crate::chatter::answer(&chatter, &mut state);
            }
            Ok(other) => panic!("{other:?}"),
            // Errors render the expression (`Display` recurses over it).
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn the_deepest_accepted_statements_fit_a_worker_stack() {
        // Three quarters of a worker's default 2 MiB: the session's own frames sit below.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(3 << 19)
            .build()
            .unwrap();
        for sql in deepest() {
            let shown = sql[..60].to_owned();
            runtime
                .block_on(runtime.spawn(async move { exercise(&sql) }))
                .unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
    }
}
