//! `information_schema` over the virtual catalog: SCHEMATA, TABLES, COLUMNS, STATISTICS,
//! KEY_COLUMN_USAGE, TABLE_CONSTRAINTS (primary keys) and REFERENTIAL_CONSTRAINTS (empty), with
//! MySQL 8.0's column names and order, evaluated by a small interpreter of
//! [`crate::classify::info_schema`] queries: enough for the CASE/IF column queries JDBC drivers
//! generate and Grafana's schema pickers, without an SQL engine dependency.

mod eval;
mod rows;

use agent_api::catalog::TableInfo;

use self::eval::{compare, evaluate, truthy, Row, Val};
use super::show::table;
use super::TextResult;
use crate::classify::info_schema::{InfoItem, InfoQuery};
use crate::encode::SimpleType;
use crate::error::MysqlError;

/// Answers `query` from every captured table; `database` is `DATABASE()`.
pub fn answer(
    query: &InfoQuery,
    tables: &[TableInfo],
    database: Option<&str>,
) -> Result<TextResult, MysqlError> {
    let (columns, source) = rows::table_rows(&query.table, tables)
        .ok_or_else(|| MysqlError::unsupported(format!("information_schema.{}", query.table)))?;
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
