//! Chatter statements: `SELECT` without FROM, `SET`, `USE`, transactions, `SHOW WARNINGS`.

use sqlparser::ast::{
    ContextModifier, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, KillType, ObjectName,
    Select, SelectItem, Set, Statement, Use,
};

use super::literal::literal;
use super::{Chatter, ChatterExpr, ChatterFunction, ChatterItem, ClassifyError, SetItem, SetValue};

/// A non-query statement.
pub fn classify_statement(statement: Statement) -> Result<Chatter, ClassifyError> {
    match statement {
        Statement::Set(set) => classify_set(set),
        Statement::Use(Use::Object(name) | Use::Database(name) | Use::Schema(name)) => {
            Ok(Chatter::Use(object_name(&name)))
        }
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback {
            savepoint: None, ..
        } => Ok(Chatter::Transaction),
        Statement::ShowVariable { variable } if matches!(variable.as_slice(), [w] if w.value.eq_ignore_ascii_case("warnings")) => {
            Ok(Chatter::ShowWarnings)
        }
        Statement::Kill { modifier, id } => match modifier {
            None | Some(KillType::Connection) => Ok(Chatter::Kill { query: false, id }),
            Some(KillType::Query) => Ok(Chatter::Kill { query: true, id }),
            Some(other) => Err(ClassifyError::Unsupported(format!("KILL {other}"))),
        },
        other => Err(ClassifyError::Unsupported(super::truncate(
            &other.to_string(),
        ))),
    }
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .unwrap_or_default()
}

fn classify_set(set: Set) -> Result<Chatter, ClassifyError> {
    match set {
        Set::SingleAssignment {
            scope,
            variable,
            values,
            ..
        } => {
            let [value] = values.as_slice() else {
                return Err(ClassifyError::Unsupported(format!(
                    "SET {variable} = <list>"
                )));
            };
            Ok(Chatter::Set(vec![set_item(scope, &variable, value)?]))
        }
        Set::MultipleAssignments { assignments } => assignments
            .iter()
            .map(|a| set_item(a.scope, &a.name, &a.value))
            .collect::<Result<_, _>>()
            .map(Chatter::Set),
        Set::SetNames {
            charset_name,
            collation_name,
        } => Ok(Chatter::SetNames {
            charset: charset_name.value,
            collation: collation_name,
        }),
        Set::SetNamesDefault {} => Ok(Chatter::SetNames {
            charset: "utf8mb4".into(),
            collation: None,
        }),
        Set::SetTimeZone { value, .. } => Ok(Chatter::Set(vec![SetItem {
            name: "time_zone".into(),
            global: false,
            value: set_value(&value)?,
        }])),
        Set::SetTransaction { .. } => Ok(Chatter::SetTransaction),
        other => Err(ClassifyError::Unsupported(other.to_string())),
    }
}

fn set_item(
    scope: Option<ContextModifier>,
    variable: &ObjectName,
    value: &Expr,
) -> Result<SetItem, ClassifyError> {
    let parts: Vec<String> = variable
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect();
    let (name, var_scope) = variable_name(&parts.join("."));
    let global = matches!(scope, Some(ContextModifier::Global)) || var_scope == Scope::Global;
    Ok(SetItem {
        name,
        global,
        value: set_value(value)?,
    })
}

fn set_value(value: &Expr) -> Result<SetValue, ClassifyError> {
    if let Some(lit) = literal(value) {
        return Ok(SetValue::Literal(lit));
    }
    match value {
        Expr::Identifier(ident) if ident.value.starts_with("@@") => {
            Ok(SetValue::SystemVariable(variable_name(&ident.value).0))
        }
        Expr::Identifier(ident) => Ok(SetValue::Word(ident.value.clone())),
        Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("concat") => match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => set_value(e),
                    other => Err(ClassifyError::Unsupported(format!(
                        "SET to CONCAT({other})"
                    ))),
                })
                .collect::<Result<_, _>>()
                .map(SetValue::Concat),
            _ => Err(ClassifyError::Unsupported(format!("SET to {value}"))),
        },
        other => Err(ClassifyError::Unsupported(format!("SET to {other}"))),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Scope {
    Session,
    Global,
}

/// `@@global.x` → (`x`, Global); `@@x`, `@@session.x` → (`x`, Session); `@x` → (`@x`, Session);
/// `x` → (`x`, Session). Names are lowercased (MySQL variable names are case-insensitive).
fn variable_name(text: &str) -> (String, Scope) {
    let lower = text.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("@@") else {
        return (lower, Scope::Session);
    };
    for (prefix, scope) in [
        ("global.", Scope::Global),
        ("session.", Scope::Session),
        ("local.", Scope::Session),
    ] {
        if let Some(name) = rest.strip_prefix(prefix) {
            return (name.to_owned(), scope);
        }
    }
    (rest.to_owned(), Scope::Session)
}

/// `SELECT <exprs> [LIMIT n]` without FROM.
pub fn classify_chatter_select(
    select: &Select,
    limit: Option<u64>,
) -> Result<Chatter, ClassifyError> {
    if select.selection.is_some() {
        return Err(ClassifyError::Unsupported("WHERE without FROM".into()));
    }
    let items = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(expr) => chatter_expr(expr).map(|e| ChatterItem {
                name: expr.to_string(),
                expr: e,
            }),
            SelectItem::ExprWithAlias { expr, alias } => chatter_expr(expr).map(|e| ChatterItem {
                name: alias.value.clone(),
                expr: e,
            }),
            other => Err(ClassifyError::Unsupported(format!("SELECT {other}"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Chatter::Select { items, limit })
}

fn chatter_expr(expr: &Expr) -> Result<ChatterExpr, ClassifyError> {
    if let Some(lit) = literal(expr) {
        return Ok(ChatterExpr::Literal(lit));
    }
    let unsupported =
        || ClassifyError::Unsupported(format!("SELECT {}", super::truncate(&expr.to_string())));
    match expr {
        Expr::Value(v) => Err(ClassifyError::Parse(format!("unexpected {v}"))),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            let text = match expr {
                Expr::Identifier(i) => i.value.clone(),
                Expr::CompoundIdentifier(parts) => parts
                    .iter()
                    .map(|p| p.value.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
                _ => return Err(unsupported()),
            };
            if text.starts_with('$') {
                // `SELECT $$` is how the mysql 8.1+ CLI probes for dollar quoting; MySQL answers 1064.
                return Err(ClassifyError::Parse(format!("near '{text}'")));
            }
            if !text.starts_with('@') {
                return Err(unsupported());
            }
            match variable_name(&text) {
                (name, _) if name.starts_with('@') => Ok(ChatterExpr::UserVariable(name)),
                (name, _) if text.starts_with("@@") => Ok(ChatterExpr::SystemVariable(name)),
                _ => Err(unsupported()),
            }
        }
        Expr::Function(f) if no_args(&f.args) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let function = match name.as_str() {
                "database" | "schema" => ChatterFunction::Database,
                "version" => ChatterFunction::Version,
                "user" | "session_user" | "system_user" => ChatterFunction::User,
                "current_user" => ChatterFunction::CurrentUser,
                "connection_id" => ChatterFunction::ConnectionId,
                _ => return Err(unsupported()),
            };
            Ok(ChatterExpr::Function(function))
        }
        _ => Err(unsupported()),
    }
}

fn no_args(args: &FunctionArguments) -> bool {
    match args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => list.args.is_empty(),
        FunctionArguments::Subquery(_) => false,
    }
}
