//! `SELECT ... FROM information_schema.<T>`: converted into the shim's own small expression tree
//! ([`SqlExpr`]) so the catalog evaluator (`chatter::information_schema`) never sees sqlparser
//! types. The subset is what JDBC/ODBC drivers and BI tools generate: column lists with
//! aliases, `CASE`, `IF`, scalar functions, `WHERE` with `AND/OR/NOT`, comparisons, `LIKE`, `IN`,
//! `IS NULL`, `DISTINCT`, `ORDER BY`, `LIMIT`.

use sqlparser::ast::{
    BinaryOperator, CastKind, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    LimitClause, OrderByKind, Query, SelectItem, SetExpr, TableFactor, UnaryOperator,
};

use super::literal::{column_ref, count, literal};
use super::{ClassifyError, Literal, ShimStatement};

/// A query over `information_schema` tables: one, or several joined (comma list or inner
/// `JOIN ... ON`, the `ON` conditions folded into [`InfoQuery::filter`]), as Connector/J's
/// `getPrimaryKeys` sends (`COLUMNS A, STATISTICS B WHERE A.TABLE_NAME = B.TABLE_NAME ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct InfoQuery {
    /// Table name of the first table, uppercased (`COLUMNS`, `TABLES`, ...).
    pub table: String,
    /// Every table read, in FROM order: `(table uppercased, qualifier)`, the qualifier being the
    /// alias or else the table name as written. Columns of a joined row are named
    /// `<qualifier>.<column>`.
    pub sources: Vec<(String, String)>,
    /// The select list.
    pub items: Vec<InfoItem>,
    /// `WHERE`.
    pub filter: Option<SqlExpr>,
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// `ORDER BY` keys; `true` = descending.
    pub order_by: Vec<(SqlExpr, bool)>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
}

/// One select-list item.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoItem {
    /// `*`.
    Star,
    /// An expression with its output name.
    Expr {
        /// What to compute.
        expr: SqlExpr,
        /// Alias, else the text as written.
        name: String,
    },
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlExpr {
    /// A column: its name, prefixed `<qualifier>.` when written qualified (`A.TABLE_NAME`;
    /// only the last qualifier part is kept).
    Column(String),
    /// A constant.
    Literal(Literal),
    /// A binary operator.
    Binary(Box<SqlExpr>, BinOp, Box<SqlExpr>),
    /// `NOT e`.
    Not(Box<SqlExpr>),
    /// `-e`.
    Neg(Box<SqlExpr>),
    /// `e [NOT] LIKE pattern`.
    Like(Box<SqlExpr>, Box<SqlExpr>, bool),
    /// `e [NOT] IN (...)`.
    InList(Box<SqlExpr>, Vec<SqlExpr>, bool),
    /// `e IS [NOT] NULL`.
    IsNull(Box<SqlExpr>, bool),
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// Simple-CASE operand.
        operand: Option<Box<SqlExpr>>,
        /// `(WHEN, THEN)` pairs.
        whens: Vec<(SqlExpr, SqlExpr)>,
        /// `ELSE`.
        otherwise: Option<Box<SqlExpr>>,
    },
    /// A function call, name lowercased.
    Function(String, Vec<SqlExpr>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum BinOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Plus,
    Minus,
    Mul,
}

/// `Some` when `query` reads `information_schema` tables (its first FROM table is one).
pub fn classify(query: &Query) -> Option<Result<ShimStatement, ClassifyError>> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let first = select.from.first()?;
    info_table(&first.relation)?;
    Some(sources(select).and_then(|(sources, on)| {
        convert(query, select, sources, on).map(ShimStatement::InformationSchema)
    }))
}

/// `(table uppercased, qualifier)`, see [`InfoQuery::sources`].
type Source = (String, String);

/// `(table uppercased, qualifier)` when `factor` is `information_schema.<table> [alias]`.
fn info_table(factor: &TableFactor) -> Option<(String, String)> {
    let TableFactor::Table { name, alias, .. } = factor else {
        return None;
    };
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect();
    let [schema, table] = parts.as_slice() else {
        return None;
    };
    if !schema.eq_ignore_ascii_case("information_schema") {
        return None;
    }
    let qualifier = alias
        .as_ref()
        .map_or_else(|| table.clone(), |a| a.name.value.clone());
    Some((table.to_ascii_uppercase(), qualifier))
}

/// Every table of FROM and the `ON` conditions of inner joins. Joins with anything but
/// `information_schema` tables (virtual or real tables) and outer joins are refused.
fn sources(select: &sqlparser::ast::Select) -> Result<(Vec<Source>, Vec<SqlExpr>), ClassifyError> {
    use sqlparser::ast::{JoinConstraint, JoinOperator};
    let mut sources = Vec::new();
    let mut on = Vec::new();
    for from in &select.from {
        let mut factors = vec![&from.relation];
        for join in &from.joins {
            match &join.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => {
                    match c {
                        JoinConstraint::On(e) => on.push(expr(e)?),
                        JoinConstraint::None => {}
                        other => {
                            return Err(unsupported(format!(
                                "join constraint {other:?} in information_schema queries"
                            )));
                        }
                    }
                }
                _ => return Err(unsupported("outer joins in information_schema queries")),
            }
            factors.push(&join.relation);
        }
        for factor in factors {
            let source = info_table(factor).ok_or_else(|| {
                unsupported(format!(
                    "joining information_schema with {factor}: only information_schema tables \
                     join each other"
                ))
            })?;
            sources.push(source);
        }
    }
    Ok((sources, on))
}

fn unsupported(what: impl std::fmt::Display) -> ClassifyError {
    ClassifyError::Unsupported(super::truncate(&what.to_string()))
}

fn convert(
    query: &Query,
    select: &sqlparser::ast::Select,
    sources: Vec<(String, String)>,
    on: Vec<SqlExpr>,
) -> Result<InfoQuery, ClassifyError> {
    let items = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => Ok(InfoItem::Star),
            SelectItem::UnnamedExpr(e) => Ok(InfoItem::Expr {
                expr: expr(e)?,
                name: column_ref(e).map_or_else(|| e.to_string(), |(_, c)| c),
            }),
            SelectItem::ExprWithAlias { expr: e, alias } => Ok(InfoItem::Expr {
                expr: expr(e)?,
                name: alias.value.clone(),
            }),
            other => Err(unsupported(format!("select item {other}"))),
        })
        .collect::<Result<_, _>>()?;
    let order_by = match &query.order_by {
        None => Vec::new(),
        Some(o) => match &o.kind {
            OrderByKind::Expressions(list) => list
                .iter()
                .map(|k| Ok((expr(&k.expr)?, k.options.to_string().contains("DESC"))))
                .collect::<Result<_, ClassifyError>>()?,
            OrderByKind::All(_) => return Err(unsupported("ORDER BY ALL")),
        },
    };
    let limit = match &query.limit_clause {
        None => None,
        Some(LimitClause::LimitOffset {
            limit: Some(l),
            offset: None,
            ..
        }) => Some(count(l)?),
        Some(other) => return Err(unsupported(other)),
    };
    let filter = on
        .into_iter()
        .chain(select.selection.as_ref().map(expr).transpose()?)
        .reduce(|a, b| SqlExpr::Binary(Box::new(a), BinOp::And, Box::new(b)));
    Ok(InfoQuery {
        table: sources[0].0.clone(),
        sources,
        items,
        filter,
        distinct: matches!(select.distinct, Some(Distinct::Distinct)),
        order_by,
        limit,
    })
}

fn boxed(e: &Expr) -> Result<Box<SqlExpr>, ClassifyError> {
    expr(e).map(Box::new)
}

fn expr(e: &Expr) -> Result<SqlExpr, ClassifyError> {
    if let Some(lit) = literal(e) {
        return Ok(SqlExpr::Literal(lit));
    }
    if let Some((qualifier, column)) = column_ref(e) {
        return Ok(SqlExpr::Column(match qualifier.last() {
            Some(q) => format!("{q}.{column}"),
            None => column,
        }));
    }
    Ok(match e {
        Expr::BinaryOp { left, op, right } => {
            SqlExpr::Binary(boxed(left)?, bin_op(op)?, boxed(right)?)
        }
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => SqlExpr::Not(boxed(inner)?),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => SqlExpr::Neg(boxed(inner)?),
        Expr::Nested(inner) => expr(inner)?,
        Expr::Like {
            negated,
            expr: l,
            pattern,
            ..
        }
        | Expr::ILike {
            negated,
            expr: l,
            pattern,
            ..
        } => SqlExpr::Like(boxed(l)?, boxed(pattern)?, *negated),
        Expr::InList {
            expr: l,
            list,
            negated,
        } => SqlExpr::InList(
            boxed(l)?,
            list.iter().map(expr).collect::<Result<_, _>>()?,
            *negated,
        ),
        Expr::IsNull(inner) => SqlExpr::IsNull(boxed(inner)?, false),
        Expr::IsNotNull(inner) => SqlExpr::IsNull(boxed(inner)?, true),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => SqlExpr::Case {
            operand: operand.as_deref().map(boxed).transpose()?,
            whens: conditions
                .iter()
                .map(|c| Ok((expr(&c.condition)?, expr(&c.result)?)))
                .collect::<Result<_, ClassifyError>>()?,
            otherwise: else_result.as_deref().map(boxed).transpose()?,
        },
        Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr: inner,
            ..
        } => expr(inner)?,
        // `CONVERT(x, UNSIGNED INTEGER)` / `CONVERT(x USING utf8)`, as in JDBC drivers'
        // getColumns: the value passes through, as with CAST above.
        Expr::Convert {
            is_try: false,
            expr: inner,
            ..
        } => expr(inner)?,
        Expr::Function(f) => SqlExpr::Function(
            f.name.to_string().to_ascii_lowercase(),
            function_args(&f.args)?,
        ),
        // sqlparser gives SUBSTRING(s, pos[, len]) its own node (JDBC drivers' getColumns).
        Expr::Substring {
            expr: inner,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![expr(inner)?];
            args.push(match substring_from {
                Some(from) => expr(from)?,
                None => SqlExpr::Literal(Literal::Int(1)),
            });
            if let Some(len) = substring_for {
                args.push(expr(len)?);
            }
            SqlExpr::Function("substring".into(), args)
        }
        other => {
            return Err(unsupported(format!(
                "{other} in an information_schema query"
            )));
        }
    })
}

fn function_args(args: &FunctionArguments) -> Result<Vec<SqlExpr>, ClassifyError> {
    match args {
        FunctionArguments::None => Ok(Vec::new()),
        FunctionArguments::List(list) => list
            .args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => expr(e),
                other => Err(unsupported(format!("argument {other}"))),
            })
            .collect(),
        FunctionArguments::Subquery(_) => Err(unsupported("subqueries")),
    }
}

fn bin_op(op: &BinaryOperator) -> Result<BinOp, ClassifyError> {
    Ok(match op {
        BinaryOperator::Eq => BinOp::Eq,
        BinaryOperator::NotEq => BinOp::NotEq,
        BinaryOperator::Lt => BinOp::Lt,
        BinaryOperator::LtEq => BinOp::LtEq,
        BinaryOperator::Gt => BinOp::Gt,
        BinaryOperator::GtEq => BinOp::GtEq,
        BinaryOperator::And => BinOp::And,
        BinaryOperator::Or => BinOp::Or,
        BinaryOperator::Plus => BinOp::Plus,
        BinaryOperator::Minus => BinOp::Minus,
        BinaryOperator::Multiply => BinOp::Mul,
        other => return Err(unsupported(format!("operator {other}"))),
    })
}
