//! The column side of a time-travel SELECT: which names belong to the one table read
//! ([`Qualifiers`]), the select list, and the WHERE clause as ANDed conditions.

use sqlparser::ast::{BinaryOperator, Expr, SelectItem};

use super::literal::{column_ref, require_literal};
use super::{ClassifyError, CmpOp, Condition, Literal, ProjectedColumn, Projection};

/// Names a column may be qualified with.
pub struct Qualifiers {
    /// Schema qualifier accepted in `schema.table.column`.
    pub schema: Option<String>,
    /// Table name.
    pub table: String,
    /// FROM alias.
    pub alias: Option<String>,
}

impl Qualifiers {
    /// The column name of `expr` if it is a column of this table.
    fn column(&self, expr: &Expr) -> Result<Option<String>, ClassifyError> {
        let Some((qualifier, column)) = column_ref(expr) else {
            return Ok(None);
        };
        let ok = match qualifier.as_slice() {
            [] => true,
            [t] => self
                .alias
                .as_deref()
                .map_or(t.eq_ignore_ascii_case(&self.table), |a| a == t),
            [s, t] => {
                let schema = self.schema.as_deref().unwrap_or("_flashback");
                s.eq_ignore_ascii_case(schema) && t.eq_ignore_ascii_case(&self.table)
            }
            _ => false,
        };
        if ok {
            Ok(Some(column))
        } else {
            Err(ClassifyError::Unsupported(format!(
                "column {expr} of another table"
            )))
        }
    }

    fn require_column(&self, expr: &Expr) -> Result<String, ClassifyError> {
        self.column(expr)?.ok_or_else(|| {
            ClassifyError::Unsupported(format!("{expr} (expected a column of {})", self.table))
        })
    }
}

pub fn projection(items: &[SelectItem], q: &Qualifiers) -> Result<Projection, ClassifyError> {
    if let [SelectItem::Wildcard(_)] = items {
        return Ok(Projection::Star);
    }
    items
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => Ok(ProjectedColumn {
                column: q.require_column(expr)?,
                alias: None,
            }),
            SelectItem::ExprWithAlias { expr, alias } => Ok(ProjectedColumn {
                column: q.require_column(expr)?,
                alias: Some(alias.value.clone()),
            }),
            other => Err(ClassifyError::Unsupported(format!(
                "select item {other} (use * or column names)"
            ))),
        })
        .collect::<Result<_, _>>()
        .map(Projection::Columns)
}

/// Flattens `a AND (b AND c)` into conditions.
pub fn conjuncts(
    expr: &Expr,
    q: &Qualifiers,
    out: &mut Vec<Condition>,
) -> Result<(), ClassifyError> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(left, q, out)?;
            conjuncts(right, q, out)
        }
        Expr::Nested(inner) => conjuncts(inner, q, out),
        other => {
            out.push(condition(other, q)?);
            Ok(())
        }
    }
}

fn condition(expr: &Expr, q: &Qualifiers) -> Result<Condition, ClassifyError> {
    let unsupported = || {
        ClassifyError::Unsupported(format!(
            "WHERE {} (time-travel WHERE clauses are ANDed =, <>, <, <=, >, >=, IN, BETWEEN, IS NULL on columns)",
            super::truncate(&expr.to_string())
        ))
    };
    match expr {
        Expr::BinaryOp { left, op, right } => {
            let op = cmp_op(op).ok_or_else(unsupported)?;
            match (q.column(left)?, q.column(right)?) {
                (Some(column), None) => Ok(Condition::Compare {
                    column,
                    op,
                    value: require_literal(right)?,
                }),
                (None, Some(column)) => Ok(Condition::Compare {
                    column,
                    op: flip(op),
                    value: require_literal(left)?,
                }),
                _ => Err(unsupported()),
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => in_list(expr, list, *negated, q),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => Ok(Condition::Between {
            column: q.require_column(expr)?,
            low: require_literal(low)?,
            high: require_literal(high)?,
            negated: *negated,
        }),
        Expr::IsNull(e) | Expr::IsNotNull(e) => Ok(Condition::IsNull {
            column: q.require_column(e)?,
            negated: matches!(expr, Expr::IsNotNull(_)),
        }),
        _ => Err(unsupported()),
    }
}

fn in_list(
    expr: &Expr,
    list: &[Expr],
    negated: bool,
    q: &Qualifiers,
) -> Result<Condition, ClassifyError> {
    let columns = match expr {
        Expr::Tuple(items) => items
            .iter()
            .map(|e| q.require_column(e))
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![q.require_column(single)?],
    };
    let rows = list
        .iter()
        .map(|item| in_row(item, columns.len()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Condition::InList {
        columns,
        rows,
        negated,
    })
}

fn in_row(item: &Expr, width: usize) -> Result<Vec<Literal>, ClassifyError> {
    let row = match item {
        Expr::Tuple(values) => values
            .iter()
            .map(require_literal)
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![require_literal(single)?],
    };
    if row.len() == width {
        Ok(row)
    } else {
        Err(ClassifyError::Parse(format!(
            "Operand should contain {width} column(s)"
        )))
    }
}

fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::NotEq,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::LtEq,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}

/// The operator with its operands swapped: `5 < id` is `id > 5`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        same @ (CmpOp::Eq | CmpOp::NotEq) => same,
    }
}
