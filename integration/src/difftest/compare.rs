//! Asking one question of the shim and of MariaDB, and comparing what the client receives.
//!
//! Compared, column by column: name, original name, type, flags, length, decimals and character
//! set of every column definition, then every value as the client received it (text protocol:
//! the bytes; binary protocol: the decoded value, which keeps every bit MySQL sends — integer
//! width and sign, IEEE floats, every temporal field). Rows are compared as a bag (both sides
//! sorted): neither `_snapshot` nor `SELECT` without `ORDER BY` promises an order.
//!
//! What may differ ([`ALLOWED_DIFFERENCES`], nothing else): the column definition's `schema`,
//! `table` and `org_table` (the shim answers for `_flashback.<t>`/`_snapshot.<t>`, MariaDB for the
//! twin's epoch table), the key flags `PRI_KEY`/`UNIQUE_KEY`/`MULTIPLE_KEY`/`PART_KEY` (the twin's
//! keys include the hidden `row_end` column, and a view of one table's columns at an instant has
//! no keys of its own in MySQL's sense), `NO_DEFAULT_VALUE` (a column default is not part of a
//! row's history), and an error's message text (its code and SQLSTATE must match).

use anyhow::Result;
use mysql_async::consts::ColumnFlags;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Opts, Value};

use std::collections::BTreeSet;

use super::dims::{ClientCharset, ColdefField, Protocol};

/// The documented allow-list (see the module doc), printed with every run.
pub const ALLOWED_DIFFERENCES: &str = "column schema/table/org_table names; flags \
    PRI_KEY|UNIQUE_KEY|MULTIPLE_KEY|PART_KEY|NO_DEFAULT_VALUE; error message text (code and \
    SQLSTATE compared)";

/// Flags whose difference is allowed.
fn ignored_flags() -> ColumnFlags {
    ColumnFlags::PRI_KEY_FLAG
        | ColumnFlags::UNIQUE_KEY_FLAG
        | ColumnFlags::MULTIPLE_KEY_FLAG
        | ColumnFlags::PART_KEY_FLAG
        | ColumnFlags::NO_DEFAULT_VALUE_FLAG
}

/// A connection that re-connects (and replays its session setup) after a client-side failure.
pub struct Session {
    opts: Opts,
    setup: Vec<String>,
    conn: Option<Conn>,
}

impl Session {
    /// A session with `setup` statements run on every (re)connect (`SET NAMES …`, `SET
    /// time_zone …`).
    pub fn new(opts: Opts, setup: Vec<String>) -> Self {
        Self {
            opts,
            setup,
            conn: None,
        }
    }

    async fn conn(&mut self) -> Result<&mut Conn> {
        if self.conn.is_none() {
            let mut conn = Conn::new(self.opts.clone()).await?;
            for s in &self.setup {
                conn.query_drop(s).await?;
            }
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    /// Asks `sql` over `protocol`. A server error is an answer; a lost connection is an answer
    /// too (code 0, the client's message) and the next question re-connects.
    pub async fn ask(&mut self, sql: &str, protocol: Protocol) -> Answer {
        let result = match self.conn().await {
            Ok(conn) => ask_on(conn, sql, protocol).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(a) => a,
            Err(e) => {
                if let Some(mysql_async::Error::Server(s)) = e.downcast_ref::<mysql_async::Error>()
                {
                    return Answer::Error {
                        code: s.code,
                        state: s.state.clone(),
                        message: s.message.clone(),
                    };
                }
                if let Some(conn) = self.conn.take() {
                    let _ = conn.disconnect().await;
                }
                Answer::Error {
                    code: 0,
                    state: String::new(),
                    message: format!("client error: {e:#}"),
                }
            }
        }
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        if let Some(c) = self.conn.take() {
            let _ = c.disconnect().await;
        }
    }
}

async fn ask_on(conn: &mut Conn, sql: &str, protocol: Protocol) -> Result<Answer> {
    Ok(match protocol {
        Protocol::Text => {
            let mut result = conn.query_iter(sql).await?;
            let columns = result.columns_ref().to_vec();
            let rows: Vec<mysql_async::Row> = result.collect().await?;
            drop(result);
            Answer::Rows {
                columns,
                rows: rows.into_iter().map(mysql_async::Row::unwrap).collect(),
            }
        }
        Protocol::Binary => {
            let stmt = conn.prep(sql).await?;
            let mut result = conn.exec_iter(&stmt, ()).await?;
            let columns = result.columns_ref().to_vec();
            let rows: Vec<mysql_async::Row> = result.collect().await?;
            drop(result);
            conn.close(stmt).await?;
            Answer::Rows {
                columns,
                rows: rows.into_iter().map(mysql_async::Row::unwrap).collect(),
            }
        }
    })
}

/// What a client received.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A result set.
    Rows {
        /// Column definitions.
        columns: Vec<Column>,
        /// Values.
        rows: Vec<Vec<Value>>,
    },
    /// An ERR packet (code 0: the client lost the connection).
    Error {
        /// MySQL error code.
        code: u16,
        /// SQLSTATE.
        state: String,
        /// Message.
        message: String,
    },
}

/// One difference found, before classification.
#[derive(Debug, Clone)]
pub struct Difference {
    /// A short class key (`coldef.flags`, `value`, `rows.count`, `error.code`, `refused`, …).
    pub what: String,
    /// Result column indexes involved (for the type tag of the class).
    pub columns: Vec<usize>,
    /// Expected (MariaDB) vs got (shim), human-readable.
    pub detail: String,
}

/// Compares `got` (shim) with `want` (MariaDB). Empty when equal.
pub fn compare(want: &Answer, got: &Answer, fields: &BTreeSet<ColdefField>) -> Vec<Difference> {
    match (want, got) {
        (
            Answer::Error {
                code: wc,
                state: ws,
                ..
            },
            Answer::Error {
                code: gc,
                state: gs,
                message,
            },
        ) => {
            if wc == gc && ws == gs {
                Vec::new()
            } else {
                vec![Difference {
                    what: "error.code".to_owned(),
                    columns: Vec::new(),
                    detail: format!("expected error {wc} ({ws}), got {gc} ({gs}): {message}"),
                }]
            }
        }
        (
            Answer::Error {
                code,
                state,
                message,
            },
            Answer::Rows { rows, .. },
        ) => vec![Difference {
            what: "answered.where.mariadb.refuses".to_owned(),
            columns: Vec::new(),
            detail: format!(
                "expected error {code} ({state}) {message}, got {} rows",
                rows.len()
            ),
        }],
        (
            Answer::Rows { rows, .. },
            Answer::Error {
                code,
                state,
                message,
            },
        ) => {
            let what = if *code == 0 {
                "connection.lost"
            } else {
                "refused"
            };
            vec![Difference {
                what: format!("{what}.{code}"),
                columns: Vec::new(),
                detail: format!(
                    "expected {} rows, got error {code} ({state}): {message}",
                    rows.len()
                ),
            }]
        }
        (
            Answer::Rows {
                columns: wc,
                rows: wr,
            },
            Answer::Rows {
                columns: gc,
                rows: gr,
            },
        ) => {
            let mut out = Vec::new();
            if wc.len() != gc.len() {
                out.push(Difference {
                    what: "columns.count".to_owned(),
                    columns: Vec::new(),
                    detail: format!(
                        "expected columns {:?}, got {:?}",
                        wc.iter().map(|c| c.name_str()).collect::<Vec<_>>(),
                        gc.iter().map(|c| c.name_str()).collect::<Vec<_>>()
                    ),
                });
                return out;
            }
            for (i, (w, g)) in wc.iter().zip(gc).enumerate() {
                out.extend(compare_column(i, w, g, fields));
            }
            out.extend(compare_rows(wr, gr));
            out
        }
    }
}

fn compare_column(
    i: usize,
    w: &Column,
    g: &Column,
    fields: &BTreeSet<ColdefField>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let name = w.name_str();
    let mut field = |what: &str, want: String, got: String| {
        let on = what
            .parse::<ColdefField>()
            .is_ok_and(|f| fields.contains(&f));
        if on && want != got {
            out.push(Difference {
                what: format!("coldef.{what}"),
                columns: vec![i],
                detail: format!("column {name}: {what} expected {want}, got {got}"),
            });
        }
    };
    field("name", w.name_str().into_owned(), g.name_str().into_owned());
    field(
        "org_name",
        w.org_name_str().into_owned(),
        g.org_name_str().into_owned(),
    );
    field(
        "type",
        format!("{:?}", w.column_type()),
        format!("{:?}", g.column_type()),
    );
    let mask = !ignored_flags();
    field(
        "flags",
        format!("{:?}", w.flags() & mask),
        format!("{:?}", g.flags() & mask),
    );
    field(
        "length",
        w.column_length().to_string(),
        g.column_length().to_string(),
    );
    field(
        "decimals",
        w.decimals().to_string(),
        g.decimals().to_string(),
    );
    field(
        "charset",
        w.character_set().to_string(),
        g.character_set().to_string(),
    );
    out
}

/// Sort key of a row: its values' debug text.
fn sorted(rows: &[Vec<Value>]) -> Vec<&Vec<Value>> {
    let mut v: Vec<&Vec<Value>> = rows.iter().collect();
    v.sort_by_cached_key(|r| format!("{r:?}"));
    v
}

fn compare_rows(want: &[Vec<Value>], got: &[Vec<Value>]) -> Vec<Difference> {
    let (w, g) = (sorted(want), sorted(got));
    if w == g {
        return Vec::new();
    }
    if w.len() != g.len() {
        let only = |a: &[&Vec<Value>], b: &[&Vec<Value>]| -> Vec<String> {
            let mut b: Vec<&Vec<Value>> = b.to_vec();
            a.iter()
                .filter(|r| match b.iter().position(|x| x == *r) {
                    Some(i) => {
                        b.remove(i);
                        false
                    }
                    None => true,
                })
                .take(3)
                .map(|r| show_row(r))
                .collect()
        };
        return vec![Difference {
            what: "rows.count".to_owned(),
            columns: Vec::new(),
            detail: format!(
                "expected {} rows, got {}; only expected: [{}]; only got: [{}]",
                w.len(),
                g.len(),
                only(&w, &g).join("; "),
                only(&g, &w).join("; ")
            ),
        }];
    }
    let mut cols = std::collections::BTreeSet::new();
    let mut examples = Vec::new();
    for (a, b) in w.iter().zip(&g) {
        for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            if x != y {
                cols.insert(i);
                if examples.len() < 4 {
                    examples.push(format!(
                        "column #{i}: expected {}, got {}",
                        show_value(x),
                        show_value(y)
                    ));
                }
            }
        }
    }
    vec![Difference {
        what: "value".to_owned(),
        columns: cols.into_iter().collect(),
        detail: examples.join("; "),
    }]
}

/// A value for messages: bytes as text when printable UTF-8, else hex.
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if s.chars().all(|c| !c.is_control() || c == '\t') && s.len() <= 200 => {
                format!("{s:?}")
            }
            _ if b.len() > 100 => format!(
                "0x{}… ({} bytes)",
                crate::canon::hex(&b[..50]).trim_start_matches("0x"),
                b.len()
            ),
            _ => crate::canon::hex(b),
        },
        other => format!("{other:?}"),
    }
}

fn show_row(r: &[Value]) -> String {
    r.iter().map(show_value).collect::<Vec<_>>().join(", ")
}

/// The `SET NAMES` statement of a client charset.
pub fn set_names(cs: ClientCharset) -> String {
    format!("SET NAMES {}", cs.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bags_ignore_order_but_not_multiplicity() {
        let cols = Vec::new();
        let a = Answer::Rows {
            columns: cols.clone(),
            rows: vec![
                vec![Value::Int(1)],
                vec![Value::Int(2)],
                vec![Value::Int(2)],
            ],
        };
        let b = Answer::Rows {
            columns: cols.clone(),
            rows: vec![
                vec![Value::Int(2)],
                vec![Value::Int(1)],
                vec![Value::Int(2)],
            ],
        };
        let c = Answer::Rows {
            columns: cols,
            rows: vec![
                vec![Value::Int(2)],
                vec![Value::Int(1)],
                vec![Value::Int(1)],
            ],
        };
        let all = ColdefField::ALL.iter().copied().collect();
        assert!(compare(&a, &b, &all).is_empty());
        let d = compare(&a, &c, &all);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].what, "value");
    }
}
