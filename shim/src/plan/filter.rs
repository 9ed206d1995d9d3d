//! Row filters: conditions on non-key columns, evaluated on the rows a key read returns.
//!
//! Comparison follows MySQL where it is cheap to: NULL compares as unknown (the row is dropped),
//! integers and decimals compare exactly as decimal numbers, strings compare case-insensitively
//! with trailing spaces ignored (the `_ci` PAD SPACE collations that are MySQL's defaults),
//! temporal values compare with literals in their canonical text form.

use std::cmp::Ordering;

use agent_api::catalog::ColumnInfo;
use agent_api::Value;

use crate::classify::{CmpOp, Condition, Literal};

/// The column names a condition reads.
pub fn columns_of(condition: &Condition) -> Vec<&str> {
    match condition {
        Condition::Compare { column, .. }
        | Condition::Between { column, .. }
        | Condition::IsNull { column, .. } => vec![column.as_str()],
        Condition::InList { columns, .. } => columns.iter().map(String::as_str).collect(),
    }
}

/// True when `row` (aligned with `columns`) satisfies every filter. A column missing from the
/// row (dropped before the as-of time) reads as NULL.
pub fn row_matches(filters: &[Condition], columns: &[ColumnInfo], row: &[Value]) -> bool {
    let get = |name: &str| {
        columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
            .and_then(|i| row.get(i))
            .unwrap_or(&Value::Null)
    };
    filters.iter().all(|f| matches(f, &get))
}

fn matches<'a>(condition: &Condition, get: &dyn Fn(&str) -> &'a Value) -> bool {
    match condition {
        Condition::Compare { column, op, value } => {
            compare(get(column), value).is_some_and(|ord| holds(*op, ord))
        }
        Condition::Between {
            column,
            low,
            high,
            negated,
        } => {
            let v = get(column);
            match (compare(v, low), compare(v, high)) {
                (Some(l), Some(h)) => (l != Ordering::Less && h != Ordering::Greater) != *negated,
                _ => false,
            }
        }
        Condition::IsNull { column, negated } => get(column).is_null() != *negated,
        Condition::InList {
            columns,
            rows,
            negated,
        } => {
            let values: Vec<&Value> = columns.iter().map(|c| get(c)).collect();
            let found = rows.iter().any(|row| {
                row.iter()
                    .zip(&values)
                    .all(|(lit, v)| compare(v, lit) == Some(Ordering::Equal))
            });
            if values.iter().any(|v| v.is_null()) {
                return false;
            }
            found != *negated
        }
    }
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::NotEq => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::LtEq => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::GtEq => ord != Ordering::Less,
    }
}

/// `value` compared with `literal`; `None` when either is NULL or they are not comparable.
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    let lit_text = literal_text(literal)?;
    match value {
        Value::Null => None,
        Value::Int(n) => compare_numbers(&n.to_string(), &lit_text),
        Value::UInt(n) => compare_numbers(&n.to_string(), &lit_text),
        Value::Decimal(d) => compare_numbers(d, &lit_text),
        Value::Float(f) => f64::from(*f).partial_cmp(&lit_text.trim().parse().ok()?),
        Value::Double(f) => f.partial_cmp(&lit_text.trim().parse().ok()?),
        Value::Text(s) | Value::Json(s) => Some(collate(s).cmp(&collate(&lit_text))),
        Value::Bytes(b) => match literal {
            Literal::Bytes(l) => Some(b.as_slice().cmp(l.as_slice())),
            _ => Some(b.as_slice().cmp(lit_text.as_bytes())),
        },
        Value::Date(d) => Some(d.to_string().as_str().cmp(lit_text.trim())),
        Value::Time(t) => Some(t.to_text(6).as_str().cmp(&pad_fraction(lit_text.trim()))),
        Value::DateTime(dt) => Some(dt.to_text(6).as_str().cmp(&pad_fraction(lit_text.trim()))),
    }
}

fn literal_text(literal: &Literal) -> Option<String> {
    Some(match literal {
        Literal::Null => return None,
        Literal::Int(n) => n.to_string(),
        Literal::UInt(n) => n.to_string(),
        Literal::Number(s) | Literal::Text(s) => s.clone(),
        Literal::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    })
}

/// `_ci` PAD SPACE approximation: lowercase, trailing spaces ignored.
fn collate(s: &str) -> String {
    s.trim_end_matches(' ').to_lowercase()
}

/// `HH:MM:SS` or `... HH:MM:SS[.f]` with the fraction widened to 6 digits, so text order is
/// time order.
fn pad_fraction(text: &str) -> String {
    match text.split_once('.') {
        Some((whole, frac)) => format!("{whole}.{frac:0<6}"),
        None => format!("{text}.000000"),
    }
}

/// Exact comparison of two decimal numerals (`-12.50`, `7`, `0.125`); `None` if either is not a
/// plain decimal numeral.
pub fn compare_numbers(a: &str, b: &str) -> Option<Ordering> {
    let (a_neg, a_int, a_frac) = split_decimal(a)?;
    let (b_neg, b_int, b_frac) = split_decimal(b)?;
    let magnitude = a_int
        .len()
        .cmp(&b_int.len())
        .then_with(|| a_int.cmp(b_int))
        .then_with(|| {
            let width = a_frac.len().max(b_frac.len());
            format!("{a_frac:0<width$}").cmp(&format!("{b_frac:0<width$}"))
        });
    let zero = |int: &str, frac: &str| int.is_empty() && frac.is_empty();
    let a_neg = a_neg && !zero(a_int, a_frac);
    let b_neg = b_neg && !zero(b_int, b_frac);
    Some(match (a_neg, b_neg) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    })
}

/// `(negative, integer digits without leading zeros, fraction digits without trailing zeros)`.
fn split_decimal(text: &str) -> Option<(bool, &str, &str)> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    Some((
        negative,
        int.trim_start_matches('0'),
        frac.trim_end_matches('0'),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_comparison_is_exact() {
        assert_eq!(compare_numbers("12.50", "12.5"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("-0", "0.000"), Some(Ordering::Equal));
        assert_eq!(compare_numbers("-1.5", "-1.25"), Some(Ordering::Less));
        assert_eq!(
            compare_numbers("18446744073709551615", "18446744073709551614"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_numbers("9", "10"), Some(Ordering::Less));
        assert_eq!(compare_numbers("0.1", "0.09"), Some(Ordering::Greater));
        assert_eq!(compare_numbers("abc", "1"), None);
    }

    #[test]
    fn null_never_matches_a_comparison() {
        let lit = Literal::Int(1);
        assert_eq!(compare(&Value::Null, &lit), None);
        assert_eq!(
            compare(&Value::Text("Paid ".into()), &Literal::Text("paid".into())),
            Some(Ordering::Equal)
        );
    }
}
