//! `SELECT` statements: time-travel reads, or chatter selects without FROM.

use sqlparser::ast::{
    LimitClause, ObjectName, Query, Select, SetExpr, TableFactor, TableWithJoins,
};

use super::as_of::TimeClauses;
use super::chatter::classify_chatter_select;
use super::columns::{conjuncts, projection, Qualifiers};
use super::literal::count;
use super::{ClassifyError, DiffQuery, FlashbackQuery, ShimStatement};

/// What a FROM reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flashback,
    Snapshot,
    Diff,
    /// `FROM [db.]t` without a virtual schema: a flashback read when `AS OF` is present.
    Bare,
}

/// Virtual schemas by name.
const VIRTUAL_SCHEMAS: [(&str, Kind); 3] = [
    ("_flashback", Kind::Flashback),
    ("_diff", Kind::Diff),
    ("_snapshot", Kind::Snapshot),
];

pub fn classify_query(query: Query, times: TimeClauses) -> Result<ShimStatement, ClassifyError> {
    if let Some(result) = super::info_schema::classify(&query) {
        return result;
    }
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
    if select.from.is_empty() || is_dual(&select.from) {
        if times.as_of.is_some() {
            return unsupported("AS OF without FROM");
        }
        return classify_chatter_select(&select, limit).map(ShimStatement::Chatter);
    }
    classify_time_travel(*select, times, limit)
}

/// `FROM DUAL`: MySQL's name for "no table" (`SELECT 1 FROM DUAL`).
fn is_dual(from: &[TableWithJoins]) -> bool {
    matches!(from, [t] if t.joins.is_empty() && matches!(
        &t.relation,
        TableFactor::Table { name, alias: None, .. }
            if name.0.len() == 1 && name.to_string().eq_ignore_ascii_case("dual")
    ))
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
    times: TimeClauses,
    limit: Option<u64>,
) -> Result<ShimStatement, ClassifyError> {
    let (kind, schema, table, alias) = single_table(&select.from)?;
    let virtual_name = VIRTUAL_SCHEMAS
        .iter()
        .find(|(_, k)| *k == kind)
        .map(|(name, _)| (*name).to_owned());
    let read = table_read(&select, schema.clone(), virtual_name, table, alias, limit)?;
    let read = FlashbackQuery {
        as_of: times.as_of,
        ..read
    };
    let unsupported = |what: String| Err(ClassifyError::Unsupported(what));
    match (kind, times.between) {
        (Kind::Diff, Some((from, to))) if read.as_of.is_none() => {
            Ok(ShimStatement::Diff(DiffQuery { read, from, to }))
        }
        (Kind::Diff, Some(_)) => {
            unsupported("AS OF in a _diff query (the window is BETWEEN <a> AND <b>)".into())
        }
        (Kind::Diff, None) => Err(ClassifyError::BadTime(
            "_diff queries need a window: _diff.<table> BETWEEN <time> AND <time>".into(),
        )),
        (_, Some(_)) => unsupported("BETWEEN <time> AND <time> outside _diff".into()),
        (Kind::Bare, None) if read.as_of.is_none() && !read.unqualified => unsupported(format!(
            "a query on {}{} without AS OF '<time>'",
            schema.map(|s| format!("{s}.")).unwrap_or_default(),
            read.table
        )),
        (Kind::Snapshot, None) => Ok(ShimStatement::Snapshot(read)),
        (Kind::Flashback | Kind::Bare, None) => Ok(ShimStatement::Flashback(read)),
    }
}

/// The parts every virtual read shares: table, select list, WHERE, LIMIT (`as_of` unset).
fn table_read(
    select: &Select,
    schema: Option<String>,
    virtual_name: Option<String>,
    table: String,
    alias: Option<String>,
    limit: Option<u64>,
) -> Result<FlashbackQuery, ClassifyError> {
    reject_extras(select)?;
    let virtual_unnamed = virtual_name.is_none();
    let qualifiers = Qualifiers {
        schema: virtual_name.or_else(|| schema.clone()),
        table: table.clone(),
        alias: alias.clone(),
    };
    let projection = projection(&select.projection, &qualifiers)?;
    let mut conditions = Vec::new();
    if let Some(expr) = &select.selection {
        conjuncts(expr, &qualifiers, &mut conditions)?;
    }
    Ok(FlashbackQuery {
        unqualified: schema.is_none() && virtual_unnamed,
        schema,
        table,
        alias,
        projection,
        as_of: None,
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

/// `(kind, schema, table, alias)` of the one table in FROM. `_flashback.t` gives no schema
/// (current database); the bare form `db.t AS OF ...` gives `db`.
fn single_table(
    from: &[TableWithJoins],
) -> Result<(Kind, Option<String>, String, Option<String>), ClassifyError> {
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
            let all_virtual = from.iter().flat_map(tables_of).all(|name| {
                first_part(name).is_some_and(|first| {
                    name.0.len() == 2
                        && VIRTUAL_SCHEMAS
                            .iter()
                            .any(|(v, _)| v.eq_ignore_ascii_case(&first))
                })
            });
            return Err(match virtual_schema {
                Some(_) if all_virtual => ClassifyError::Unsupported(
                    "joins of virtual tables (_flashback, _snapshot, _diff) are not supported yet"
                        .into(),
                ),
                Some(v) => ClassifyError::VirtualJoin(v.to_owned()),
                None => ClassifyError::Unsupported("joins".into()),
            });
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
            Some((_, kind)) => Ok((*kind, None, table.clone(), alias)),
            None => Ok((Kind::Bare, Some(schema.clone()), table.clone(), alias)),
        },
        [table] => Ok((Kind::Bare, None, table.clone(), alias)),
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
