//! Literals and column references out of sqlparser expressions.

use sqlparser::ast::{Expr, Ident, UnaryOperator, Value};

use super::{ClassifyError, Literal};

/// A literal expression (`42`, `-7`, `'x'`, `X'00ff'`, `NULL`, `TRUE`); `None` for anything else.
pub fn literal(expr: &Expr) -> Option<Literal> {
    match expr {
        Expr::Value(v) => value(&v.value),
        Expr::Nested(inner) => literal(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match literal(expr)? {
            Literal::Int(n) => Some(
                n.checked_neg()
                    .map_or_else(|| Literal::Number(format!("-{n}")), Literal::Int),
            ),
            Literal::UInt(n) if n == i64::MAX as u64 + 1 => Some(Literal::Int(i64::MIN)),
            Literal::UInt(n) => Some(Literal::Number(format!("-{n}"))),
            Literal::Number(s) => Some(Literal::Number(negate(&s))),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => literal(expr),
        _ => None,
    }
}

fn negate(number: &str) -> String {
    match number.strip_prefix('-') {
        Some(positive) => positive.to_owned(),
        None => format!("-{number}"),
    }
}

fn value(v: &Value) -> Option<Literal> {
    Some(match v {
        Value::Number(text, _) => number(text),
        Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Literal::Text(s.clone()),
        Value::HexStringLiteral(hex) => Literal::Bytes(decode_hex(hex)?),
        Value::Boolean(b) => Literal::Int(i64::from(*b)),
        Value::Null => Literal::Null,
        _ => return None,
    })
}

/// An unsigned numeric token: `Int` when it fits, `UInt` above `i64::MAX`, else exact text.
fn number(text: &str) -> Literal {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return decode_hex(hex).map_or_else(|| Literal::Number(text.to_owned()), Literal::Bytes);
    }
    if let Ok(n) = text.parse::<i64>() {
        Literal::Int(n)
    } else if let Ok(n) = text.parse::<u64>() {
        Literal::UInt(n)
    } else {
        Literal::Number(text.to_owned())
    }
}

/// Hex digits to bytes; an odd count gets a leading zero as in MySQL (`X'abc'` is invalid there,
/// `0xabc` is `0x0abc`).
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    let padded = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_owned()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(padded.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A column reference `col`, `t.col` or `_flashback.t.col`; returns the qualifier parts and the
/// column name, or `None` when the expression is not a column.
pub fn column_ref(expr: &Expr) -> Option<(Vec<String>, String)> {
    match expr {
        Expr::Identifier(ident) => Some((Vec::new(), ident.value.clone())),
        Expr::CompoundIdentifier(parts) => {
            let (last, qualifier) = parts.split_last()?;
            Some((idents(qualifier), last.value.clone()))
        }
        Expr::Nested(inner) => column_ref(inner),
        _ => None,
    }
}

fn idents(parts: &[Ident]) -> Vec<String> {
    parts.iter().map(|p| p.value.clone()).collect()
}

/// A literal, or an `Unsupported` error naming `expr`.
pub fn require_literal(expr: &Expr) -> Result<Literal, ClassifyError> {
    literal(expr).ok_or_else(|| {
        ClassifyError::Unsupported(format!(
            "{expr} (only literals can be compared with columns)"
        ))
    })
}

/// A non-negative integer literal (LIMIT).
pub fn count(expr: &Expr) -> Result<u64, ClassifyError> {
    match literal(expr) {
        Some(Literal::Int(n)) if n >= 0 => Ok(n as u64),
        Some(Literal::UInt(n)) => Ok(n),
        _ => Err(ClassifyError::Unsupported(format!("LIMIT {expr}"))),
    }
}
