//! `SHOW ...` and `DESCRIBE` statements: server facts answered locally ([`Chatter`]) and the
//! virtual catalog answered from the agent's table list ([`CatalogQuery`]).
//!
//! sqlparser parses some forms (`SHOW VARIABLES`, `SHOW TABLES`, ...) and leaves the rest as a
//! list of words (`SHOW ENGINES`, `SHOW KEYS FROM t FROM db`, `SHOW TABLE STATUS`).

use sqlparser::ast::{
    BinaryOperator, Expr, ObjectName, ShowStatementFilter, ShowStatementFilterPosition,
    ShowStatementOptions, Statement,
};

use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::literal::{column_ref, literal};
use super::{CatalogQuery, Chatter, ClassifyError, Literal, NameFilter, ShimStatement};

/// The shim statement for a SHOW/DESCRIBE, `None` when `statement` is not one it serves.
pub fn classify_show(statement: &Statement) -> Option<Result<ShimStatement, ClassifyError>> {
    let chatter = |c| Some(Ok(ShimStatement::Chatter(c)));
    let catalog = |c: Result<CatalogQuery, ClassifyError>| Some(c.map(ShimStatement::Catalog));
    match statement {
        Statement::ShowVariables { filter, .. } => Some(
            filter_of(filter.as_ref()).map(|f| ShimStatement::Chatter(Chatter::ShowVariables(f))),
        ),
        Statement::ShowCollation { filter } => Some(
            filter_of(filter.as_ref()).map(|f| ShimStatement::Chatter(Chatter::ShowCollation(f))),
        ),
        Statement::ShowCharset(show) => Some(
            filter_of(show.filter.as_ref())
                .map(|f| ShimStatement::Chatter(Chatter::ShowCharset(f))),
        ),
        Statement::ShowDatabases { show_options, .. }
        | Statement::ShowSchemas { show_options, .. } => {
            catalog(options_filter(show_options).map(|like| CatalogQuery::Databases { like }))
        }
        Statement::ShowTables {
            full, show_options, ..
        } => catalog(show_tables(*full, show_options)),
        Statement::ShowColumns {
            full, show_options, ..
        } => catalog(show_columns(*full, show_options)),
        Statement::ExplainTable { table_name, .. } => catalog(split_name(table_name).map(
            |(schema, table)| CatalogQuery::Columns {
                schema,
                table,
                full: false,
            },
        )),
        Statement::ShowCreate { obj_type, obj_name } if obj_type.to_string() == "TABLE" => catalog(
            split_name(obj_name).map(|(schema, table)| CatalogQuery::CreateTable { schema, table }),
        ),
        Statement::ShowVariable { variable } => {
            let words: Vec<String> = variable
                .iter()
                .map(|w| w.value.to_ascii_uppercase())
                .collect();
            let names: Vec<&str> = variable.iter().map(|w| w.value.as_str()).collect();
            match words
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["ENGINES"] | ["STORAGE", "ENGINES"] => chatter(Chatter::ShowEngines),
                ["KEYS" | "INDEX" | "INDEXES", "FROM" | "IN", ..] => {
                    catalog(show_keys(&names[2..]))
                }
                ["TABLE", "STATUS", rest @ ..] => catalog(table_status(rest, &names[2..])),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `LIKE 'p'` or `WHERE <name column> = 'x' | IN (...) | LIKE 'p'`; a `WHERE` on another column
/// (`Table_type <> 'SEQUENCE'`) keeps every row.
fn filter_of(filter: Option<&ShowStatementFilter>) -> Result<NameFilter, ClassifyError> {
    match filter {
        None => Ok(NameFilter::All),
        Some(ShowStatementFilter::Like(p) | ShowStatementFilter::ILike(p)) => {
            Ok(NameFilter::Like(p.clone()))
        }
        Some(ShowStatementFilter::Where(expr)) => where_filter(expr),
        Some(other) => Err(ClassifyError::Unsupported(format!("SHOW ... {other}"))),
    }
}

fn where_filter(expr: &Expr) -> Result<NameFilter, ClassifyError> {
    let on_name = |e: &Expr| {
        column_ref(e).is_some_and(|(_, c)| {
            let c = c.to_ascii_lowercase();
            c == "variable_name"
                || c.starts_with("tables_in_")
                || c == "name"
                || c == "database"
                || c == "collation"
                || c == "charset"
        })
    };
    let text = |e: &Expr| match literal(e) {
        Some(Literal::Text(s)) => Ok(s),
        _ => Err(ClassifyError::Unsupported(format!("SHOW ... WHERE {expr}"))),
    };
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } if on_name(left) => Ok(NameFilter::In(vec![text(right)?])),
        Expr::InList {
            expr: e,
            list,
            negated: false,
        } if on_name(e) => list
            .iter()
            .map(text)
            .collect::<Result<_, _>>()
            .map(NameFilter::In),
        Expr::Like {
            expr: e,
            pattern,
            negated: false,
            ..
        } if on_name(e) => Ok(NameFilter::Like(text(pattern)?)),
        Expr::BinaryOp { left, .. } if !on_name(left) => Ok(NameFilter::All),
        _ => Err(ClassifyError::Unsupported(format!("SHOW ... WHERE {expr}"))),
    }
}

fn options_filter(options: &ShowStatementOptions) -> Result<NameFilter, ClassifyError> {
    match &options.filter_position {
        None => Ok(NameFilter::All),
        Some(ShowStatementFilterPosition::Suffix(f) | ShowStatementFilterPosition::Infix(f)) => {
            filter_of(Some(f))
        }
    }
}

/// The `FROM <db>` of a SHOW, as written.
fn show_in(options: &ShowStatementOptions) -> Option<Vec<String>> {
    let name = options.show_in.as_ref()?.parent_name.as_ref()?;
    Some(parts(name))
}

fn parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect()
}

/// `[schema.]table` → `(schema, table)`.
fn split_name(name: &ObjectName) -> Result<(Option<String>, String), ClassifyError> {
    match parts(name).as_slice() {
        [table] => Ok((None, table.clone())),
        [schema, table] => Ok((Some(schema.clone()), table.clone())),
        _ => Err(ClassifyError::Unsupported(format!("table name {name}"))),
    }
}

fn show_tables(full: bool, options: &ShowStatementOptions) -> Result<CatalogQuery, ClassifyError> {
    let schema = show_in(options).and_then(|p| p.last().cloned());
    let like = options_filter(options)?;
    Ok(CatalogQuery::Tables { schema, full, like })
}

/// `SHOW COLUMNS FROM t [FROM db]`: sqlparser folds both into one name (`db.t`).
fn show_columns(full: bool, options: &ShowStatementOptions) -> Result<CatalogQuery, ClassifyError> {
    let name = show_in(options).unwrap_or_default();
    let (schema, table) = match name.as_slice() {
        [table] => (None, table.clone()),
        [schema, table] => (Some(schema.clone()), table.clone()),
        _ => {
            return Err(ClassifyError::Unsupported(
                "SHOW COLUMNS without a table".into(),
            ));
        }
    };
    Ok(CatalogQuery::Columns {
        schema,
        table,
        full,
    })
}

/// The words after `SHOW KEYS FROM`: `t`, `db t` (`db.t` is split by the tokenizer), `t FROM db`.
fn show_keys(words: &[&str]) -> Result<CatalogQuery, ClassifyError> {
    let (schema, table) = match words {
        [table] => (None, table),
        [table, from, schema]
            if from.eq_ignore_ascii_case("from") || from.eq_ignore_ascii_case("in") =>
        {
            (Some(schema.to_string()), table)
        }
        [schema, table] => (Some(schema.to_string()), table),
        _ => {
            return Err(ClassifyError::Unsupported(format!(
                "SHOW KEYS FROM {}",
                words.join(" ")
            )));
        }
    };
    Ok(CatalogQuery::Keys {
        schema,
        table: table.to_string(),
    })
}

/// `SHOW TABLE STATUS [FROM db] [LIKE | WHERE]` shares the grammar of `SHOW TABLES` past its
/// keywords, which sqlparser does not parse for it: when `tokens` start with `SHOW TABLE STATUS`,
/// the two words become `TABLES` and the result says so; [`table_status_of`] maps the parsed
/// `SHOW TABLES` back.
pub fn table_status_tokens(mut tokens: Vec<TokenWithSpan>) -> (Vec<TokenWithSpan>, bool) {
    let words: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t.token, Token::Whitespace(_)))
        .map(|(i, _)| i)
        .take(3)
        .collect();
    let is = |i: usize, w: &str| matches!(&tokens[i].token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let [show, table, status] = words.as_slice() else {
        return (tokens, false);
    };
    if !(is(*show, "SHOW") && is(*table, "TABLE") && is(*status, "STATUS")) {
        return (tokens, false);
    }
    tokens[*table].token = Token::make_keyword("TABLES");
    tokens.drain(*table + 1..=*status);
    (tokens, true)
}

/// The `SHOW TABLE STATUS` a `SHOW TABLES` parsed by [`table_status_tokens`] stands for.
pub fn table_status_of(statement: &Statement) -> Result<ShimStatement, ClassifyError> {
    match statement {
        Statement::ShowTables {
            full: false,
            extended: false,
            show_options,
            ..
        } => {
            let schema = show_in(show_options).and_then(|p| p.last().cloned());
            let like = options_filter(show_options)?;
            Ok(ShimStatement::Catalog(CatalogQuery::TableStatus {
                schema,
                like,
            }))
        }
        other => Err(ClassifyError::Unsupported(format!(
            "SHOW TABLE STATUS: {other}"
        ))),
    }
}

/// `SHOW TABLE STATUS [FROM db]` as left in words by sqlparser (when not caught by
/// [`table_status_tokens`], e.g. after a leading comment).
fn table_status(upper: &[&str], words: &[&str]) -> Result<CatalogQuery, ClassifyError> {
    match upper {
        [] => Ok(CatalogQuery::TableStatus {
            schema: None,
            like: NameFilter::All,
        }),
        [from, _] if *from == "FROM" || *from == "IN" => Ok(CatalogQuery::TableStatus {
            schema: words.get(1).map(|s| s.to_string()),
            like: NameFilter::All,
        }),
        _ => Err(ClassifyError::Unsupported(format!(
            "SHOW TABLE STATUS {}",
            words.join(" ")
        ))),
    }
}
