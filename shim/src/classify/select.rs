//! `SELECT` statements: time-travel reads, or chatter selects without FROM.

use sqlparser::ast::{
    BinaryOperator, Expr, LimitClause, ObjectName, Query, Select, SelectItem, SetExpr, TableFactor,
    TableWithJoins,
};

use super::chatter::classify_chatter_select;
use super::literal::{column_ref, count, require_literal};
use super::{
    ClassifyError, CmpOp, Condition, FlashbackQuery, Literal, ProjectedColumn, Projection,
    ShimStatement, TimeExpr,
};

/// Virtual schemas and whether this build serves them.
const VIRTUAL_SCHEMAS: [(&str, bool); 3] =
    [("_flashback", true), ("_diff", false), ("_snapshot", false)];

pub fn classify_query(
    query: Query,
    as_of: Option<TimeExpr>,
) -> Result<ShimStatement, ClassifyError> {
    let unsupported = |what: &str| Err(ClassifyError::Unsupported(what.to_owned()));
    if query.with.is_some() {
        return unsupported("WITH");
    }
    if query.order_by.is_some() {
        return unsupported("ORDER BY (rows come in primary-key order)");
    }
    if query.fetch.is_some() || !query.locks.is_empty() {
        return unsupported("FETCH / locking clauses");
    }
    let limit = limit(query.limit_clause.as_ref())?;
    let SetExpr::Select(select) = *query.body else {
        return unsupported(&format!(
            "{} (set operations)",
            super::truncate(&query.body.to_string())
        ));
    };
    if select.from.is_empty() {
        if as_of.is_some() {
            return unsupported("AS OF without FROM");
        }
        return classify_chatter_select(&select, limit).map(ShimStatement::Chatter);
    }
    classify_time_travel(*select, as_of, limit).map(ShimStatement::Flashback)
}

fn limit(clause: Option<&LimitClause>) -> Result<Option<u64>, ClassifyError> {
    match clause {
        None => Ok(None),
        Some(LimitClause::LimitOffset {
            limit,
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => limit.as_ref().map(count).transpose(),
        Some(other) => Err(ClassifyError::Unsupported(format!("{other} (OFFSET)"))),
    }
}

fn classify_time_travel(
    select: Select,
    as_of: Option<TimeExpr>,
    limit: Option<u64>,
) -> Result<FlashbackQuery, ClassifyError> {
    let (schema, table, alias) = single_table(&select.from)?;
    let Some(as_of) = as_of else {
        return Err(ClassifyError::Unsupported(format!(
            "a query on {} without AS OF '<time>'",
            schema.as_deref().unwrap_or("_flashback")
        )));
    };
    reject_extras(&select)?;
    let qualifiers = Qualifiers {
        schema: schema.clone(),
        table: table.clone(),
        alias: alias.clone(),
    };
    let projection = projection(&select.projection, &qualifiers)?;
    let mut conditions = Vec::new();
    if let Some(expr) = &select.selection {
        conjuncts(expr, &qualifiers, &mut conditions)?;
    }
    Ok(FlashbackQuery {
        schema,
        table,
        alias,
        projection,
        as_of,
        conditions,
        limit,
    })
}

fn reject_extras(select: &Select) -> Result<(), ClassifyError> {
    let extra = if select.distinct.is_some() {
        Some("DISTINCT")
    } else if select.having.is_some() {
        Some("HAVING")
    } else if !matches!(&select.group_by, sqlparser::ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
    {
        Some("GROUP BY")
    } else if select.into.is_some() {
        Some("SELECT ... INTO")
    } else {
        None
    };
    match extra {
        Some(what) => Err(ClassifyError::Unsupported(format!(
            "{what} in a time-travel query"
        ))),
        None => Ok(()),
    }
}

/// `(schema, table, alias)` of the one table in FROM. `_flashback.t` gives no schema (current
/// database); the bare form `db.t AS OF ...` gives `db`.
fn single_table(
    from: &[TableWithJoins],
) -> Result<(Option<String>, String, Option<String>), ClassifyError> {
    let virtual_schema = from.iter().flat_map(tables_of).find_map(|name| {
        let first = first_part(name)?;
        VIRTUAL_SCHEMAS
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(&first))
            .map(|(v, _)| *v)
    });
    let single = match from {
        [one] if one.joins.is_empty() => &one.relation,
        _ => {
            return Err(match virtual_schema {
                Some(v) => ClassifyError::VirtualJoin(v.to_owned()),
                None => ClassifyError::Unsupported("joins".into()),
            })
        }
    };
    let TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = single
    else {
        return Err(ClassifyError::Unsupported(format!("FROM {single}")));
    };
    let alias = alias.as_ref().map(|a| a.name.value.clone());
    let parts = name_parts(name)?;
    match parts.as_slice() {
        [schema, table] => match VIRTUAL_SCHEMAS
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(schema))
        {
            Some((_, true)) => Ok((None, table.clone(), alias)),
            Some((v, false)) => Err(ClassifyError::Unsupported(format!(
                "{v} is not available yet"
            ))),
            None => Ok((Some(schema.clone()), table.clone(), alias)),
        },
        [table] => Ok((None, table.clone(), alias)),
        _ => Err(ClassifyError::Unsupported(format!(
            "FROM {name} (write USE <schema>; then _flashback.<table>)"
        ))),
    }
}

fn tables_of(t: &TableWithJoins) -> Vec<&ObjectName> {
    std::iter::once(&t.relation)
        .chain(t.joins.iter().map(|j| &j.relation))
        .filter_map(|f| match f {
            TableFactor::Table { name, .. } => Some(name),
            _ => None,
        })
        .collect()
}

fn first_part(name: &ObjectName) -> Option<String> {
    name.0.first()?.as_ident().map(|i| i.value.clone())
}

fn name_parts(name: &ObjectName) -> Result<Vec<String>, ClassifyError> {
    name.0
        .iter()
        .map(|p| {
            p.as_ident()
                .map(|i| i.value.clone())
                .ok_or_else(|| ClassifyError::Unsupported(format!("table name {name}")))
        })
        .collect()
}

/// Names a column may be qualified with.
struct Qualifiers {
    schema: Option<String>,
    table: String,
    alias: Option<String>,
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

fn projection(items: &[SelectItem], q: &Qualifiers) -> Result<Projection, ClassifyError> {
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
fn conjuncts(expr: &Expr, q: &Qualifiers, out: &mut Vec<Condition>) -> Result<(), ClassifyError> {
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
