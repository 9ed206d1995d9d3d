//! The expression interpreter: values are NULL, integers or text; comparisons of text are
//! case-insensitive (information_schema names use `utf8mb3_tolower_ci`-like rules), a number
//! and a numeric string compare as numbers, NULL compares as unknown.

use std::cmp::Ordering;

use crate::chatter::show::like;
use crate::classify::info_schema::{BinOp, SqlExpr};
use crate::classify::{Literal, NameFilter};
use crate::error::MysqlError;

/// A value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
}

impl Val {
    /// The text form a result cell carries (`None` = NULL).
    pub fn into_text(self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Int(n) => Some(n.to_string()),
            Val::Text(s) => Some(s),
        }
    }

    fn text(&self) -> Option<String> {
        self.clone().into_text()
    }

    fn number(&self) -> Option<i64> {
        match self {
            Val::Int(n) => Some(*n),
            Val::Text(s) => s.trim().parse().ok(),
            Val::Null => None,
        }
    }
}

/// One source row: column names (case-insensitive) and values.
pub struct Row<'a> {
    /// Column names.
    pub columns: &'a [&'a str],
    /// Values aligned with `columns`.
    pub values: &'a [Val],
    /// `DATABASE()`.
    pub database: Option<&'a str>,
}

/// SQL truth: non-zero numbers, numeric strings that are non-zero.
pub fn truthy(v: &Val) -> bool {
    v.number().is_some_and(|n| n != 0)
}

fn bool_val(b: Option<bool>) -> Val {
    b.map_or(Val::Null, |b| Val::Int(i64::from(b)))
}

/// Orders two values; `None` when either is NULL.
pub fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Text(x), Val::Text(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        _ => match (a.number(), b.number()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => Some(a.text()?.to_lowercase().cmp(&b.text()?.to_lowercase())),
        },
    }
}

/// Evaluates `expr` on `row`.
pub fn evaluate(expr: &SqlExpr, row: &Row<'_>) -> Result<Val, MysqlError> {
    Ok(match expr {
        SqlExpr::Column(name) => column(name, row)?,
        SqlExpr::Literal(lit) => literal(lit),
        SqlExpr::Binary(l, op, r) => binary(evaluate(l, row)?, *op, evaluate(r, row)?),
        SqlExpr::Not(e) => {
            let v = evaluate(e, row)?;
            bool_val(v.number().map(|n| n == 0))
        }
        SqlExpr::Neg(e) => evaluate(e, row)?
            .number()
            .map_or(Val::Null, |n| Val::Int(-n)),
        SqlExpr::Like(e, p, negated) => {
            match (evaluate(e, row)?.text(), evaluate(p, row)?.text()) {
                (Some(v), Some(p)) => bool_val(Some(like(&NameFilter::Like(p), &v) != *negated)),
                _ => Val::Null,
            }
        }
        SqlExpr::InList(e, list, negated) => {
            let v = evaluate(e, row)?;
            let mut found = false;
            for item in list {
                found |= compare(&v, &evaluate(item, row)?) == Some(Ordering::Equal);
            }
            if matches!(v, Val::Null) {
                Val::Null
            } else {
                bool_val(Some(found != *negated))
            }
        }
        SqlExpr::IsNull(e, negated) => {
            bool_val(Some(matches!(evaluate(e, row)?, Val::Null) != *negated))
        }
        SqlExpr::Case {
            operand,
            whens,
            otherwise,
        } => case(operand.as_deref(), whens, otherwise.as_deref(), row)?,
        SqlExpr::Function(name, args) => {
            let values = args
                .iter()
                .map(|a| evaluate(a, row))
                .collect::<Result<Vec<_>, _>>()?;
            function(name, values, row)?
        }
    })
}

/// A column by name: the exact (case-insensitive) name first; else, when one side is qualified
/// and the other is not, by the part after the qualifier (`COLUMNS.TABLE_NAME` on a one-table
/// row, `TABLE_NAME` on a joined row, whose columns are `<qualifier>.<column>`; the first
/// table's wins, where MySQL would call the name ambiguous).
fn column(name: &str, row: &Row<'_>) -> Result<Val, MysqlError> {
    fn base(n: &str) -> &str {
        n.rsplit('.').next().unwrap_or(n)
    }
    let qualified = |n: &str| n.contains('.');
    row.columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .or_else(|| {
            row.columns.iter().position(|c| {
                qualified(c) != qualified(name) && base(c).eq_ignore_ascii_case(base(name))
            })
        })
        .and_then(|i| row.values.get(i).cloned())
        .ok_or_else(|| MysqlError::unknown_column(name, "field list"))
}

fn literal(lit: &Literal) -> Val {
    match lit {
        Literal::Null => Val::Null,
        Literal::Int(n) => Val::Int(*n),
        Literal::UInt(n) => Val::Text(n.to_string()),
        Literal::Number(s) | Literal::Text(s) => Val::Text(s.clone()),
        Literal::Bytes(b) => Val::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

fn binary(a: Val, op: BinOp, b: Val) -> Val {
    let cmp = || compare(&a, &b);
    match op {
        BinOp::Eq => bool_val(cmp().map(Ordering::is_eq)),
        BinOp::NotEq => bool_val(cmp().map(Ordering::is_ne)),
        BinOp::Lt => bool_val(cmp().map(Ordering::is_lt)),
        BinOp::LtEq => bool_val(cmp().map(Ordering::is_le)),
        BinOp::Gt => bool_val(cmp().map(Ordering::is_gt)),
        BinOp::GtEq => bool_val(cmp().map(Ordering::is_ge)),
        BinOp::And => match (truthy(&a), truthy(&b)) {
            (false, _) if !matches!(a, Val::Null) => Val::Int(0),
            (_, false) if !matches!(b, Val::Null) => Val::Int(0),
            (true, true) => Val::Int(1),
            _ => Val::Null,
        },
        BinOp::Or => match (truthy(&a), truthy(&b)) {
            (true, _) | (_, true) => Val::Int(1),
            _ if matches!(a, Val::Null) || matches!(b, Val::Null) => Val::Null,
            _ => Val::Int(0),
        },
        BinOp::Plus | BinOp::Minus | BinOp::Mul => match (a.number(), b.number()) {
            (Some(x), Some(y)) => Val::Int(match op {
                BinOp::Plus => x.saturating_add(y),
                BinOp::Minus => x.saturating_sub(y),
                _ => x.saturating_mul(y),
            }),
            _ => Val::Null,
        },
    }
}

fn case(
    operand: Option<&SqlExpr>,
    whens: &[(SqlExpr, SqlExpr)],
    otherwise: Option<&SqlExpr>,
    row: &Row<'_>,
) -> Result<Val, MysqlError> {
    let subject = operand.map(|o| evaluate(o, row)).transpose()?;
    for (when, then) in whens {
        let w = evaluate(when, row)?;
        let hit = match &subject {
            Some(s) => compare(s, &w) == Some(Ordering::Equal),
            None => truthy(&w),
        };
        if hit {
            return evaluate(then, row);
        }
    }
    otherwise.map_or(Ok(Val::Null), |e| evaluate(e, row))
}

/// Scalar functions drivers use in catalog queries.
fn function(name: &str, args: Vec<Val>, row: &Row<'_>) -> Result<Val, MysqlError> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Val::Null);
    let text_fn =
        |f: &dyn Fn(String) -> String| arg(0).text().map_or(Val::Null, |s| Val::Text(f(s)));
    Ok(match name {
        "database" | "schema" => row.database.map_or(Val::Null, |d| Val::Text(d.to_owned())),
        "upper" | "ucase" => text_fn(&|s| s.to_uppercase()),
        "lower" | "lcase" => text_fn(&|s| s.to_lowercase()),
        "concat" => {
            let parts: Option<Vec<String>> = args.iter().map(Val::text).collect();
            parts.map_or(Val::Null, |p| Val::Text(p.concat()))
        }
        "ifnull" | "coalesce" | "nvl" => args
            .into_iter()
            .find(|v| !matches!(v, Val::Null))
            .unwrap_or(Val::Null),
        "if" => {
            if truthy(&arg(0)) {
                arg(1)
            } else {
                arg(2)
            }
        }
        "length" | "char_length" | "character_length" => arg(0)
            .text()
            .map_or(Val::Null, |s| Val::Int(s.chars().count() as i64)),
        "substring" | "substr" | "mid" => substring(&arg(0), &arg(1), args.get(2)),
        "locate" | "instr" => {
            let (needle, hay) = if name == "instr" {
                (arg(1), arg(0))
            } else {
                (arg(0), arg(1))
            };
            match (needle.text(), hay.text()) {
                (Some(n), Some(h)) => Val::Int(
                    h.to_lowercase()
                        .find(&n.to_lowercase())
                        .map_or(0, |i| h[..i].chars().count() as i64 + 1),
                ),
                _ => Val::Null,
            }
        }
        // MySQL: NULL if any argument is NULL (JDBC drivers' getColumns uses LEAST).
        "least" | "greatest" if args.iter().any(|v| matches!(v, Val::Null)) => Val::Null,
        "least" | "greatest" => {
            let want = if name == "least" {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            args.into_iter()
                .reduce(|best, v| {
                    if compare(&v, &best) == Some(want) {
                        v
                    } else {
                        best
                    }
                })
                .unwrap_or(Val::Null)
        }
        "replace" => match (arg(0).text(), arg(1).text(), arg(2).text()) {
            (Some(s), Some(from), Some(to)) => Val::Text(s.replace(&from, &to)),
            _ => Val::Null,
        },
        other => {
            return Err(MysqlError::unsupported(format!(
                "function {other}() in an information_schema query"
            )));
        }
    })
}

/// `SUBSTRING(s, pos[, len])` with MySQL's 1-based, negative-from-the-end positions.
fn substring(s: &Val, pos: &Val, len: Option<&Val>) -> Val {
    let (Some(s), Some(pos)) = (s.text(), pos.number()) else {
        return Val::Null;
    };
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let start = match pos {
        0 => return Val::Text(String::new()),
        p if p > 0 => p - 1,
        p => n + p,
    };
    if start < 0 || start >= n {
        return Val::Text(String::new());
    }
    let take = len.and_then(Val::number).unwrap_or(n).max(0);
    let end = (start + take).min(n);
    Val::Text(chars[start as usize..end as usize].iter().collect())
}
