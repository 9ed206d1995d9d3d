//! Statement classification: SQL text in, [`ShimStatement`] out.
//!
//! The one place that touches sqlparser. The text is tokenized with the MySQL dialect, an
//! `AS OF [TIMESTAMP] '<time>'` clause is cut out of the token stream ([`as_of`]), the rest is
//! parsed with `MySqlDialect`, and the AST is converted into the shim's own small types. Nothing
//! downstream matches on sqlparser types.

pub mod as_of;
mod chatter;
mod literal;
mod select;
#[cfg(test)]
mod tests;
pub mod time_literal;

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

pub use self::time_literal::TimeExpr;

/// A classified statement.
#[derive(Debug, Clone, PartialEq)]
pub enum ShimStatement {
    /// `SELECT ... FROM _flashback.<t> AS OF '<time>' WHERE <pk predicate>`.
    Flashback(FlashbackQuery),
    /// Connection chatter answered by the shim itself.
    Chatter(Chatter),
}

/// A point-in-time read of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct FlashbackQuery {
    /// Schema written in the bare form `FROM shop.orders AS OF ...`; `None` means the current
    /// database (`_flashback.orders`, `orders`).
    pub schema: Option<String>,
    /// Table name as written.
    pub table: String,
    /// Alias given in FROM (`_flashback.orders o`), used to qualify columns.
    pub alias: Option<String>,
    /// The select list.
    pub projection: Projection,
    /// The `AS OF` time.
    pub as_of: TimeExpr,
    /// The WHERE clause as a conjunction; empty without WHERE.
    pub conditions: Vec<Condition>,
    /// `LIMIT n` (rows).
    pub limit: Option<u64>,
}

/// The select list of a time-travel query.
#[derive(Debug, Clone, PartialEq)]
pub enum Projection {
    /// `*`.
    Star,
    /// Named columns, in order.
    Columns(Vec<ProjectedColumn>),
}

/// One `col [AS alias]` of a select list.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedColumn {
    /// Column name.
    pub column: String,
    /// Output name when it differs from the column.
    pub alias: Option<String>,
}

/// One conjunct of a WHERE clause; columns are unqualified names.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `col <op> literal` (a literal on the left is flipped).
    Compare {
        /// Column name.
        column: String,
        /// Operator with the column on the left.
        op: CmpOp,
        /// Right-hand literal.
        value: Literal,
    },
    /// `col [NOT] IN (v, ...)` or `(a, b) [NOT] IN ((1, 2), ...)`: each row has one value per column.
    InList {
        /// Columns of the row value (one for the scalar form).
        columns: Vec<String>,
        /// Candidate rows.
        rows: Vec<Vec<Literal>>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `col [NOT] BETWEEN low AND high`.
    Between {
        /// Column name.
        column: String,
        /// Inclusive lower bound.
        low: Literal,
        /// Inclusive upper bound.
        high: Literal,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `col IS [NOT] NULL`.
    IsNull {
        /// Column name.
        column: String,
        /// `IS NOT NULL`.
        negated: bool,
    },
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`, `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// A SQL literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// An integer that fits `i64`.
    Int(i64),
    /// A non-negative integer above `i64::MAX`.
    UInt(u64),
    /// Any other number, exactly as written (`12.50`, `1e3`, 30-digit integers).
    Number(String),
    /// A quoted string.
    Text(String),
    /// `X'..'` / `0x..` bytes.
    Bytes(Vec<u8>),
}

/// Statements the shim answers without the agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Chatter {
    /// `SELECT <exprs>` without FROM: `SELECT 1`, `SELECT @@version_comment LIMIT 1`, ...
    Select {
        /// The select list.
        items: Vec<ChatterItem>,
        /// `LIMIT n`.
        limit: Option<u64>,
    },
    /// `SET [SESSION|GLOBAL] var = value, @uvar = value, ...`.
    Set(Vec<SetItem>),
    /// `SET NAMES <charset> [COLLATE <collation>]`, `SET CHARACTER SET <charset>`.
    SetNames {
        /// Character set name.
        charset: String,
    },
    /// `SET [SESSION] TRANSACTION ...`: accepted, nothing to do for a read-only server.
    SetTransaction,
    /// `USE <db>`.
    Use(String),
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`: no-ops on a read-only server.
    Transaction,
    /// `SHOW WARNINGS`.
    ShowWarnings,
}

/// One item of a chatter select list.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatterItem {
    /// Column name: the alias, else the expression as written.
    pub name: String,
    /// What to compute.
    pub expr: ChatterExpr,
}

/// The expressions a chatter `SELECT` may contain.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatterExpr {
    /// A constant.
    Literal(Literal),
    /// `@@[session.|global.|local.]name` (name lowercased).
    SystemVariable(String),
    /// `@name` (name lowercased).
    UserVariable(String),
    /// A nullary function.
    Function(ChatterFunction),
}

/// Nullary functions clients probe with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatterFunction {
    /// `DATABASE()`, `SCHEMA()`.
    Database,
    /// `VERSION()`.
    Version,
    /// `USER()`, `CURRENT_USER()`, `SESSION_USER()`, `SYSTEM_USER()`.
    User,
    /// `CONNECTION_ID()`.
    ConnectionId,
}

/// One assignment of a `SET` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SetItem {
    /// Variable name, lowercased, without `@@`/scope; user variables keep their leading `@`.
    pub name: String,
    /// `SET GLOBAL` / `@@global.`.
    pub global: bool,
    /// The value.
    pub value: SetValue,
}

/// The right-hand side of an assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// A literal.
    Literal(Literal),
    /// A bare word such as `ON`, `OFF`, `DEFAULT`, `utf8mb4`.
    Word(String),
}

/// Why a statement cannot be classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassifyError {
    /// Empty text (only whitespace, comments or `;`).
    #[error("Query was empty")]
    Empty,
    /// Not SQL the MySQL grammar accepts.
    #[error("{0}")]
    Parse(String),
    /// Valid SQL the shim does not serve; the text names the construct.
    #[error("{0}")]
    Unsupported(String),
    /// A virtual schema joined with anything else.
    #[error("cannot join virtual schema {0} with a real table")]
    VirtualJoin(String),
    /// An `AS OF` value that is not a readable time literal.
    #[error("{0}")]
    BadTime(String),
}

/// Classifies one statement of text (a trailing `;` and comments are allowed).
pub fn classify(sql: &str) -> Result<ShimStatement, ClassifyError> {
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ClassifyError::Parse(e.to_string()))?;
    let (tokens, as_of) = as_of::cut(tokens)?;
    let mut statements = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| ClassifyError::Parse(e.to_string()))?;
    let statement = match statements.len() {
        0 => return Err(ClassifyError::Empty),
        1 => statements.remove(0),
        _ => return Err(ClassifyError::Unsupported("multiple statements".into())),
    };
    match statement {
        sqlparser::ast::Statement::Query(query) => select::classify_query(*query, as_of),
        other if as_of.is_some() => Err(ClassifyError::Unsupported(format!(
            "AS OF outside a SELECT: {}",
            truncate(&other.to_string())
        ))),
        other => chatter::classify_statement(other).map(ShimStatement::Chatter),
    }
}

/// The first 200 characters of a statement, for messages.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}
