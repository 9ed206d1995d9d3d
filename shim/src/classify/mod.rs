//! Statement classification: SQL text in, [`ShimStatement`] out.
//!
//! The one place that touches sqlparser. The text is tokenized with the MySQL dialect, an
//! `AS OF [TIMESTAMP] '<time>'` clause is cut out of the token stream ([`as_of`]), the rest is
//! parsed with `MySqlDialect`, and the AST is converted into the shim's own small types. Nothing
//! downstream matches on sqlparser types.

pub mod as_of;
mod chatter;
mod columns;
pub mod complexity;
pub mod info_schema;
mod literal;
pub mod placeholder;
mod select;
mod show;
#[cfg(test)]
mod tests;
pub mod time_literal;
mod time_tokens;

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

pub use self::time_literal::TimeExpr;

/// A classified statement.
#[derive(Debug, Clone, PartialEq)]
pub enum ShimStatement {
    /// `SELECT ... FROM _flashback.<t> AS OF '<time>' WHERE <pk predicate>` (also the bare
    /// `FROM [db.]t ... AS OF`, the `DBTRAIL_AT` hint and `FOR SYSTEM_TIME AS OF` forms).
    Flashback(FlashbackQuery),
    /// `SELECT ... FROM _snapshot.<t> AS OF '<time>' [WHERE ...] [LIMIT n]`: the whole table.
    Snapshot(FlashbackQuery),
    /// `SELECT ... FROM _diff.<t> BETWEEN <a> AND <b> WHERE <pk predicate>`.
    Diff(DiffQuery),
    /// Connection chatter answered by the shim itself.
    Chatter(Chatter),
    /// A question about the virtual catalog, answered from the agent's table list.
    Catalog(CatalogQuery),
    /// `SELECT ... FROM information_schema.<T>`, evaluated over the virtual catalog.
    InformationSchema(info_schema::InfoQuery),
}

/// Which names a `SHOW ... [LIKE | WHERE]` keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    /// Every row.
    All,
    /// SQL `LIKE` pattern (`%`, `_`, `\` escape), case-insensitive.
    Like(String),
    /// Exactly these names, case-insensitive.
    In(Vec<String>),
}

/// Catalog statements. `schema` is as written: a virtual schema (`_flashback`, `_snapshot`,
/// `_diff`) stands for the current database's tables; `None` is the current database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogQuery {
    /// `SHOW DATABASES|SCHEMAS [LIKE ...]`.
    Databases {
        /// Filter on the name.
        like: NameFilter,
    },
    /// `SHOW [FULL] TABLES [FROM db] [LIKE | WHERE]`.
    Tables {
        /// `FROM db`.
        schema: Option<String>,
        /// `FULL` adds `Table_type`.
        full: bool,
        /// Filter on the name.
        like: NameFilter,
    },
    /// `SHOW [FULL] COLUMNS FROM t [FROM db]`, `DESCRIBE t`.
    Columns {
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: String,
        /// `FULL` adds `Collation`, `Privileges`, `Comment`.
        full: bool,
    },
    /// `SHOW CREATE TABLE t`.
    CreateTable {
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: String,
    },
    /// `SHOW KEYS|INDEX FROM t [FROM db]`.
    Keys {
        /// Schema.
        schema: Option<String>,
        /// Table.
        table: String,
    },
    /// `SHOW TABLE STATUS [FROM db] [LIKE | WHERE]`.
    TableStatus {
        /// Schema.
        schema: Option<String>,
        /// Filter on `Name`.
        like: NameFilter,
    },
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
    /// The `AS OF` time; `None` reads the session default `@dbtrail_as_of`.
    pub as_of: Option<TimeExpr>,
    /// The WHERE clause as a conjunction; empty without WHERE.
    pub conditions: Vec<Condition>,
    /// `LIMIT n` (rows).
    pub limit: Option<u64>,
    /// FROM named the table alone (`FROM orders`, no schema): the current database decides
    /// what it reads, so after `USE _snapshot` it is a `_snapshot` read.
    pub unqualified: bool,
}

/// A `_diff` query: the table read (its `as_of` unused) and the window.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffQuery {
    /// Table, select list (over the change columns), WHERE, LIMIT.
    pub read: FlashbackQuery,
    /// Window start (inclusive).
    pub from: TimeExpr,
    /// Window end (inclusive).
    pub to: TimeExpr,
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
        /// `COLLATE <collation>`, when written.
        collation: Option<String>,
    },
    /// `SET [SESSION] TRANSACTION ...`: accepted, nothing to do for a read-only server.
    SetTransaction,
    /// `USE <db>`.
    Use(String),
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `ROLLBACK`: no-ops on a read-only server.
    Transaction,
    /// `SHOW WARNINGS`.
    ShowWarnings,
    /// `SHOW [SESSION|GLOBAL] VARIABLES [LIKE | WHERE]`.
    ShowVariables(NameFilter),
    /// `SHOW COLLATION [LIKE | WHERE]`.
    ShowCollation(NameFilter),
    /// `SHOW CHARACTER SET | CHARSET [LIKE | WHERE]`.
    ShowCharset(NameFilter),
    /// `SHOW [STORAGE] ENGINES`.
    ShowEngines,
    /// `KILL [QUERY | CONNECTION] <id>`; answered by the session (it acts on other sessions).
    Kill {
        /// `KILL QUERY`: only the running statement.
        query: bool,
        /// The connection id.
        id: u64,
    },
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
    /// `USER()`, `SESSION_USER()`, `SYSTEM_USER()`: `user@client host`.
    User,
    /// `CURRENT_USER()`: the account matched, `user@host pattern`.
    CurrentUser,
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
    /// A system variable's current value, `@@name` (lowercased, without `@@` or scope).
    SystemVariable(String),
    /// `CONCAT(<value>, ...)`, e.g. MariaDB Connector/J's connect-time
    /// `sql_mode = concat(@@sql_mode, ',STRICT_TRANS_TABLES')`; evaluated against the session.
    Concat(Vec<SetValue>),
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
    /// Longer or with more operators than [`complexity`] allows.
    #[error("{0}")]
    TooComplex(String),
}

/// Classifies one statement of text (a trailing `;` and comments are allowed).
pub fn classify(sql: &str) -> Result<ShimStatement, ClassifyError> {
    complexity::check_length(sql)?;
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ClassifyError::Parse(e.to_string()))?;
    complexity::check_tokens(&tokens)?;
    let (tokens, times) = as_of::cut(tokens)?;
    let (tokens, table_status) = show::table_status_tokens(tokens);
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(complexity::PARSER_RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| ClassifyError::Parse(e.to_string()))?;
    let statement = match statements.len() {
        0 => return Err(ClassifyError::Empty),
        1 => statements.remove(0),
        _ => return Err(ClassifyError::Unsupported("multiple statements".into())),
    };
    match statement {
        _ if table_status && times.as_of.is_none() => show::table_status_of(&statement),
        sqlparser::ast::Statement::Query(query) => select::classify_query(*query, times),
        other if times.as_of.is_some() => Err(ClassifyError::Unsupported(format!(
            "AS OF outside a SELECT: {}",
            truncate(&other.to_string())
        ))),
        other => match show::classify_show(&other) {
            Some(result) => result,
            None => chatter::classify_statement(other).map(ShimStatement::Chatter),
        },
    }
}

/// The first 200 characters of a statement, for messages.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}
