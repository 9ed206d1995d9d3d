//! `information_schema` over the virtual catalog: SCHEMATA, TABLES, COLUMNS, STATISTICS,
//! KEY_COLUMN_USAGE, TABLE_CONSTRAINTS (primary keys) and REFERENTIAL_CONSTRAINTS (empty), with
//! MySQL 8.0's column names and order, evaluated by a small interpreter of
//! [`crate::classify::info_schema`] queries: enough for the CASE/IF column queries JDBC drivers
//! generate and Grafana's schema pickers, without an SQL engine dependency.

mod eval;
mod rows;

use agent_api::catalog::TableInfo;

use self::eval::{compare, evaluate, truthy, Row, Val};
use super::catalog::{as_diff_table, is_diff, VIRTUAL_SCHEMAS};
use super::show::table;
use super::TextResult;
use crate::classify::info_schema::{BinOp, InfoItem, InfoQuery, SqlExpr};
use crate::encode::SimpleType;
use crate::error::MysqlError;

/// Answers `query` from every captured table (`tables`, listed under their source schema) and
/// the tables the virtual schemas show in this session (`shown`, see
/// [`super::catalog::virtual_tables`]), listed under `_flashback` and `_snapshot` with the
/// source columns and key, and under `_diff` with the change-row columns of `SELECT * FROM
/// _diff.<t>` (no key); `database` is `DATABASE()`.
pub fn answer(
    query: &InfoQuery,
    tables: &[TableInfo],
    shown: &[TableInfo],
    database: Option<&str>,
) -> Result<TextResult, MysqlError> {
    let all = with_virtual(tables, shown);
    let (owned_columns, source) = joined_rows(query, &all, database)?;
    let columns: Vec<&str> = owned_columns.iter().map(String::as_str).collect();
    let names = output_names(query, &columns);
    let mut out: Vec<(Vec<Val>, Vec<Val>)> = Vec::new();
    for values in source {
        let row = Row {
            columns: &columns,
            values: &values,
            database,
        };
        if let Some(filter) = &query.filter {
            if !truthy(&evaluate(filter, &row)?) {
                continue;
            }
        }
        let output = project(query, &row)?;
        let extended = extend(&names, &output, &columns, &values);
        let ext_row = Row {
            columns: &extended.0,
            values: &extended.1,
            database,
        };
        let keys = query
            .order_by
            .iter()
            .map(|(e, _)| evaluate(e, &ext_row))
            .collect::<Result<Vec<_>, _>>()?;
        out.push((output, keys));
    }
    sort(&mut out, query);
    if query.distinct {
        let mut seen: Vec<Vec<Val>> = Vec::new();
        out.retain(|(o, _)| {
            !seen.contains(o) && {
                seen.push(o.clone());
                true
            }
        });
    }
    if let Some(n) = query.limit {
        out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    }
    Ok(result(&names, out.into_iter().map(|(o, _)| o).collect()))
}

/// The rows `query` reads: one table's rows as they are, or the cross product of several
/// tables' rows with columns named `<qualifier>.<column>` (the `WHERE` then joins them). Before
/// the product each table's rows are narrowed by the `WHERE` conjuncts naming only its own
/// columns (`A.TABLE_SCHEMA = '_flashback'`), so a large catalog is not multiplied whole.
fn joined_rows(
    query: &InfoQuery,
    all: &[TableInfo],
    database: Option<&str>,
) -> Result<(Vec<String>, Vec<Vec<Val>>), MysqlError> {
    let read = |table: &str| {
        rows::table_rows(table, all)
            .ok_or_else(|| MysqlError::unsupported(format!("information_schema.{table}")))
    };
    if query.sources.len() <= 1 {
        let (columns, rows) = read(&query.table)?;
        return Ok((columns.iter().map(|c| (*c).to_owned()).collect(), rows));
    }
    let mut conjuncts = Vec::new();
    if let Some(filter) = &query.filter {
        split_and(filter, &mut conjuncts);
    }
    let mut columns: Vec<String> = Vec::new();
    let mut out: Vec<Vec<Val>> = vec![Vec::new()];
    for (table, qualifier) in &query.sources {
        let (names, rows) = read(table)?;
        let names: Vec<String> = names.iter().map(|n| format!("{qualifier}.{n}")).collect();
        let local: Vec<&SqlExpr> = conjuncts
            .iter()
            .copied()
            .filter(|c| only_columns_of(c, qualifier))
            .collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let rows: Vec<Vec<Val>> = rows
            .into_iter()
            .filter(|values| {
                let row = Row {
                    columns: &name_refs,
                    values,
                    database,
                };
                // An evaluation error keeps the row: the whole WHERE reports it later.
                local
                    .iter()
                    .all(|c| evaluate(c, &row).map_or(true, |v| truthy(&v)))
            })
            .collect();
        columns.extend(names);
        out = out
            .iter()
            .flat_map(|left| {
                rows.iter().map(move |right| {
                    let mut row = left.clone();
                    row.extend(right.iter().cloned());
                    row
                })
            })
            .collect();
    }
    Ok((columns, out))
}

/// The operands of a chain of `AND`s.
fn split_and<'a>(e: &'a SqlExpr, out: &mut Vec<&'a SqlExpr>) {
    match e {
        SqlExpr::Binary(l, BinOp::And, r) => {
            split_and(l, out);
            split_and(r, out);
        }
        other => out.push(other),
    }
}

/// True when `e` names columns and every one is qualified with `qualifier`.
fn only_columns_of(e: &SqlExpr, qualifier: &str) -> bool {
    let mut names = Vec::new();
    column_names(e, &mut names);
    let prefix = format!("{qualifier}.");
    !names.is_empty()
        && names.iter().all(|n| {
            n.len() > prefix.len()
                && n.is_char_boundary(prefix.len())
                && n[..prefix.len()].eq_ignore_ascii_case(&prefix)
                && !n[prefix.len()..].contains('.')
        })
}

fn column_names<'a>(e: &'a SqlExpr, out: &mut Vec<&'a str>) {
    match e {
        SqlExpr::Column(name) => out.push(name),
        SqlExpr::Literal(_) => {}
        SqlExpr::Binary(l, _, r) | SqlExpr::Like(l, r, _) => {
            column_names(l, out);
            column_names(r, out);
        }
        SqlExpr::Not(e) | SqlExpr::Neg(e) | SqlExpr::IsNull(e, _) => column_names(e, out),
        SqlExpr::InList(e, list, _) => {
            column_names(e, out);
            list.iter().for_each(|x| column_names(x, out));
        }
        SqlExpr::Case {
            operand,
            whens,
            otherwise,
        } => {
            operand.iter().for_each(|x| column_names(x, out));
            for (w, t) in whens {
                column_names(w, out);
                column_names(t, out);
            }
            otherwise.iter().for_each(|x| column_names(x, out));
        }
        SqlExpr::Function(_, args) => args.iter().for_each(|x| column_names(x, out)),
    }
}

/// `tables` followed by `shown` under each virtual schema.
fn with_virtual(tables: &[TableInfo], shown: &[TableInfo]) -> Vec<TableInfo> {
    let mut all = tables.to_vec();
    for schema in VIRTUAL_SCHEMAS {
        all.extend(shown.iter().map(|t| {
            if is_diff(schema) {
                as_diff_table(TableInfo {
                    schema: schema.to_owned(),
                    ..t.clone()
                })
            } else {
                TableInfo {
                    schema: schema.to_owned(),
                    ..t.clone()
                }
            }
        }));
    }
    all
}

/// Output column names, `*` expanded.
fn output_names(query: &InfoQuery, columns: &[&str]) -> Vec<String> {
    query
        .items
        .iter()
        .flat_map(|item| match item {
            InfoItem::Star => columns.iter().map(|c| (*c).to_owned()).collect(),
            InfoItem::Expr { name, .. } => vec![name.clone()],
        })
        .collect()
}

fn project(query: &InfoQuery, row: &Row<'_>) -> Result<Vec<Val>, MysqlError> {
    let mut out = Vec::new();
    for item in &query.items {
        match item {
            InfoItem::Star => out.extend(row.values.iter().cloned()),
            InfoItem::Expr { expr, .. } => out.push(evaluate(expr, row)?),
        }
    }
    Ok(out)
}

/// The source row with the output aliases in front, so ORDER BY may name either.
fn extend<'a>(
    names: &'a [String],
    output: &[Val],
    columns: &[&'a str],
    values: &[Val],
) -> (Vec<&'a str>, Vec<Val>) {
    let mut cols: Vec<&str> = names.iter().map(String::as_str).collect();
    cols.extend_from_slice(columns);
    let mut vals = output.to_vec();
    vals.extend_from_slice(values);
    (cols, vals)
}

fn sort(out: &mut [(Vec<Val>, Vec<Val>)], query: &InfoQuery) {
    out.sort_by(|(_, a), (_, b)| {
        for (i, (_, desc)) in query.order_by.iter().enumerate() {
            let ord = compare(&a[i], &b[i]).unwrap_or(std::cmp::Ordering::Equal);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

/// Column types from the values: integers where every non-NULL value is one, else text.
fn result(names: &[String], rows: Vec<Vec<Val>>) -> TextResult {
    let kinds: Vec<SimpleType> = (0..names.len())
        .map(|i| {
            let mut values = rows
                .iter()
                .map(|r| &r[i])
                .filter(|v| !matches!(v, Val::Null));
            let first = values.clone().next();
            match first {
                Some(_) if values.all(|v| matches!(v, Val::Int(_))) => SimpleType::NullableInt,
                _ => SimpleType::Text,
            }
        })
        .collect();
    let columns: Vec<(&str, SimpleType)> = names.iter().map(String::as_str).zip(kinds).collect();
    let text_rows = rows
        .into_iter()
        .map(|r| r.into_iter().map(Val::into_text).collect())
        .collect();
    table(&columns, text_rows)
}

#[cfg(test)]
mod tests;
