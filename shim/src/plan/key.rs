//! Primary-key predicate extraction: which WHERE conditions become the agent's [`KeyPredicate`].

use agent_api::catalog::TableInfo;
use agent_api::flashback::{KeyBound, KeyPredicate};
use agent_api::Value;

use super::PlanError;
use crate::classify::{CmpOp, Condition, Literal};

/// A bound value and whether it is inclusive.
type Bound = Option<(Value, bool)>;
/// Index of the condition used, and the key tuples it gives.
type UsedKeys = Option<(usize, Vec<Vec<Value>>)>;

/// Most keys one `IN` / cross product may ask for.
const MAX_KEYS: usize = 100_000;

/// Splits `conditions` into the key predicate and the conditions left to filter rows with.
pub fn extract(
    conditions: &[Condition],
    table: &TableInfo,
) -> Result<(KeyPredicate, Vec<Condition>), PlanError> {
    let pk = &table.primary_key;
    if pk.is_empty() {
        return Err(PlanError::PkPredicate(format!(
            "table {}.{} has no primary key",
            table.schema, table.name
        )));
    }
    let mut used = vec![false; conditions.len()];
    if let Some((i, rows)) = row_value_in(conditions, pk)? {
        used[i] = true;
        return Ok((KeyPredicate::In(rows), rest(conditions, &used)));
    }
    let mut prefix: Vec<Vec<Value>> = Vec::new();
    for column in pk {
        let Some((i, values)) = equality(conditions, &used, column)? else {
            break;
        };
        used[i] = true;
        prefix.push(values);
    }
    let key = if prefix.len() == pk.len() {
        KeyPredicate::In(cross_product(&prefix)?)
    } else {
        range(conditions, &mut used, &pk[prefix.len()], &prefix)?
    };
    Ok((key, rest(conditions, &used)))
}

fn rest(conditions: &[Condition], used: &[bool]) -> Vec<Condition> {
    conditions
        .iter()
        .zip(used)
        .filter(|(_, used)| !**used)
        .map(|(c, _)| c.clone())
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `(a, b) IN ((..), ..)` whose columns are exactly the PK, rows reordered to PK order.
fn row_value_in(conditions: &[Condition], pk: &[String]) -> Result<UsedKeys, PlanError> {
    for (i, condition) in conditions.iter().enumerate() {
        let Condition::InList {
            columns,
            rows,
            negated: false,
        } = condition
        else {
            continue;
        };
        if columns.len() < 2 || columns.len() != pk.len() {
            continue;
        }
        let order: Option<Vec<usize>> = pk
            .iter()
            .map(|k| columns.iter().position(|c| same(c, k)))
            .collect();
        let Some(order) = order else { continue };
        let keys = rows
            .iter()
            .map(|row| order.iter().map(|&j| key_value(&row[j])).collect())
            .collect::<Result<_, _>>()?;
        return Ok(Some((i, keys)));
    }
    Ok(None)
}

/// The first unused `col = v` or `col IN (...)` on `column`.
fn equality(
    conditions: &[Condition],
    used: &[bool],
    column: &str,
) -> Result<Option<(usize, Vec<Value>)>, PlanError> {
    for (i, condition) in conditions.iter().enumerate().filter(|(i, _)| !used[*i]) {
        match condition {
            Condition::Compare {
                column: c,
                op: CmpOp::Eq,
                value,
            } if same(c, column) => return Ok(Some((i, vec![key_value(value)?]))),
            Condition::InList {
                columns,
                rows,
                negated: false,
            } if columns.len() == 1 && same(&columns[0], column) => {
                let values = rows
                    .iter()
                    .map(|r| key_value(&r[0]))
                    .collect::<Result<_, _>>()?;
                return Ok(Some((i, values)));
            }
            _ => {}
        }
    }
    Ok(None)
}

fn cross_product(sets: &[Vec<Value>]) -> Result<Vec<Vec<Value>>, PlanError> {
    let mut keys: Vec<Vec<Value>> = vec![Vec::new()];
    for set in sets {
        if keys.len().saturating_mul(set.len()) > MAX_KEYS {
            return Err(PlanError::PkPredicate(format!("more than {MAX_KEYS} keys")));
        }
        keys = keys
            .iter()
            .flat_map(|k| {
                set.iter().map(move |v| {
                    let mut key = k.clone();
                    key.push(v.clone());
                    key
                })
            })
            .collect();
    }
    Ok(keys)
}

/// A range on `column` after a single-valued `prefix` of leading key columns.
fn range(
    conditions: &[Condition],
    used: &mut [bool],
    column: &str,
    prefix: &[Vec<Value>],
) -> Result<KeyPredicate, PlanError> {
    let (lower, upper) = bounds(conditions, used, column)?;
    if prefix.is_empty() && lower.is_none() && upper.is_none() {
        return Err(PlanError::PkRequired);
    }
    let prefix: Vec<Value> = match prefix.iter().map(|set| set.as_slice()).collect::<Vec<_>>() {
        sets if sets.iter().all(|s| s.len() == 1) => sets.iter().map(|s| s[0].clone()).collect(),
        _ => {
            return Err(PlanError::PkPredicate(
                "a partial key or a range needs one value for each leading key column".into(),
            ))
        }
    };
    let bound = |b: Option<(Value, bool)>| -> Option<KeyBound> {
        match b {
            Some((v, inclusive)) => {
                let mut key = prefix.clone();
                key.push(v);
                Some(KeyBound { key, inclusive })
            }
            None if prefix.is_empty() => None,
            None => Some(KeyBound {
                key: prefix.clone(),
                inclusive: true,
            }),
        }
    };
    Ok(KeyPredicate::Range {
        lower: bound(lower),
        upper: bound(upper),
    })
}

/// The first unused lower and upper bound on `column` (`>`, `>=`, `<`, `<=`, `BETWEEN`).
fn bounds(
    conditions: &[Condition],
    used: &mut [bool],
    column: &str,
) -> Result<(Bound, Bound), PlanError> {
    let (mut lower, mut upper): (Bound, Bound) = (None, None);
    for (i, condition) in conditions.iter().enumerate() {
        if used[i] {
            continue;
        }
        match condition {
            Condition::Between {
                column: c,
                low,
                high,
                negated: false,
            } if same(c, column) && lower.is_none() && upper.is_none() => {
                lower = Some((key_value(low)?, true));
                upper = Some((key_value(high)?, true));
                used[i] = true;
            }
            Condition::Compare {
                column: c,
                op,
                value,
            } if same(c, column) => {
                let slot = match op {
                    CmpOp::Gt | CmpOp::GtEq if lower.is_none() => &mut lower,
                    CmpOp::Lt | CmpOp::LtEq if upper.is_none() => &mut upper,
                    _ => continue,
                };
                *slot = Some((key_value(value)?, matches!(op, CmpOp::GtEq | CmpOp::LtEq)));
                used[i] = true;
            }
            _ => {}
        }
    }
    Ok((lower, upper))
}

/// A literal as a key value; the agent coerces it to the key column's type.
fn key_value(literal: &Literal) -> Result<Value, PlanError> {
    Ok(match literal {
        Literal::Null => {
            return Err(PlanError::PkPredicate(
                "NULL never matches a primary key".into(),
            ))
        }
        Literal::Int(n) => Value::Int(*n),
        Literal::UInt(n) => Value::UInt(*n),
        Literal::Number(text) => Value::Decimal(text.clone()),
        Literal::Text(text) => Value::Text(text.clone()),
        Literal::Bytes(bytes) => Value::Bytes(bytes.clone()),
    })
}
