//! Renders selected changes as a reversal script (see [`agent_api::recover`] for the shapes).

use std::fmt::Write as _;

use agent_api::catalog::ColumnInfo;
use agent_api::diff::{ChangeRow, ChangeType};
use agent_api::recover::RecoverSummary;
use agent_api::time::format_unix_micros;
use agent_api::Value;

use super::literal::{ident, push_column_literal, qualified, LiteralError};

/// The table and window a script is for.
#[derive(Debug, Clone, Copy)]
pub struct ScriptTable<'a> {
    /// The source's MySQL `server_id` (for the header).
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: &'a str,
    /// Table name.
    pub table: &'a str,
    /// Columns the images are aligned with.
    pub columns: &'a [ColumnInfo],
    /// Indexes into `columns` of the PK, in key order; empty for a table without a PK (then each
    /// UPDATE/DELETE carries `LIMIT 1`, as duplicates are indistinguishable).
    pub pk: &'a [usize],
    /// Window start, µs since the Unix epoch (for the header).
    pub from_us: i64,
    /// Window end, µs since the Unix epoch (for the header).
    pub to_us: i64,
}

/// The reversal script of `changes` (given oldest first, as `POST /v1/diff` returns them) and its
/// summary. An UPDATE whose images are equal needs no reversal and gets a comment only.
///
/// Errors: a value without an SQL literal (NaN, malformed DECIMAL text), or a change lacking the
/// image its reversal needs (the source must log `binlog_row_image=FULL`).
pub fn build_script(
    t: &ScriptTable<'_>,
    changes: &[ChangeRow],
) -> Result<(String, RecoverSummary), LiteralError> {
    let mut summary = RecoverSummary::default();
    let mut body = String::new();
    for c in changes.iter().rev() {
        let _ = writeln!(
            body,
            "-- seq {}, {} UTC, {}{}:{}, reverses {}",
            c.seq,
            format_unix_micros(c.event_time_us),
            c.gtid
                .as_deref()
                .map(|g| format!("GTID {}, ", comment_safe(g)))
                .unwrap_or_default(),
            comment_safe(&c.binlog_file),
            c.binlog_pos,
            type_name(c.event_type)
        );
        let written = match (c.event_type, &c.row_before, &c.row_after) {
            (ChangeType::Insert, _, Some(after)) => delete_stmt(&mut body, t, after)?,
            (ChangeType::Update, Some(before), Some(after)) => {
                update_stmt(&mut body, t, before, after)?
            }
            (ChangeType::Delete, Some(before), _) => insert_stmt(&mut body, t, before)?,
            _ => {
                let _ = writeln!(
                    body,
                    "-- skipped: the row image this reversal needs was not captured (binlog_row_image must be FULL)"
                );
                false
            }
        };
        if written {
            summary.first_seq = Some(summary.first_seq.map_or(c.seq, |s| s.min(c.seq)));
            summary.last_seq = Some(summary.last_seq.map_or(c.seq, |s| s.max(c.seq)));
            match c.event_type {
                ChangeType::Insert => summary.inserts += 1,
                ChangeType::Update => summary.updates += 1,
                ChangeType::Delete => summary.deletes += 1,
            }
        }
    }
    let mut out = header(t, &summary);
    out.push_str("SET NAMES utf8mb4;\nSET time_zone = '+00:00';\nSTART TRANSACTION;\n");
    out.push_str(&body);
    out.push_str("COMMIT;\n");
    Ok((out, summary))
}

fn header(t: &ScriptTable<'_>, s: &RecoverSummary) -> String {
    let seqs = match (s.first_seq, s.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "no change matched".to_owned(),
    };
    format!(
        "-- dbtrail recovery script: review it, then apply it yourself; dbtrail executed nothing on the source.\n\
         -- table:    {} (server_id {})\n\
         -- window:   {} UTC .. {} UTC (visible time of the transactions, both inclusive)\n\
         -- reverses: {seqs}: {} INSERT, {} UPDATE, {} DELETE; {} statement(s), newest first, one transaction\n\
         -- An UPDATE or DELETE below only matches a row still exactly as the change left it; the\n\
         -- `SET @dbtrail_guard` after it stops the script with error 1242 unless it changed exactly one\n\
         -- row (the row changed again since), so nothing is committed. A duplicate key stops an INSERT\n\
         -- the same way. For a dry run, replace the final COMMIT with ROLLBACK.\n",
        comment_safe(&qualified(t.schema, t.table)),
        t.server_id,
        format_unix_micros(t.from_us),
        format_unix_micros(t.to_us),
        s.inserts,
        s.updates,
        s.deletes,
        s.statements()
    )
}

/// Reverses an INSERT: `DELETE FROM t WHERE <after image>`.
fn delete_stmt(
    out: &mut String,
    t: &ScriptTable<'_>,
    after: &[Value],
) -> Result<bool, LiteralError> {
    let _ = write!(out, "DELETE FROM {} WHERE ", qualified(t.schema, t.table));
    push_match(out, t, after)?;
    finish(out, t);
    Ok(true)
}

/// Reverses an UPDATE: the changed columns back to the before image, only where the row still
/// equals the after image.
fn update_stmt(
    out: &mut String,
    t: &ScriptTable<'_>,
    before: &[Value],
    after: &[Value],
) -> Result<bool, LiteralError> {
    let changed: Vec<usize> = (0..t.columns.len())
        .filter(|&i| before.get(i) != after.get(i))
        .collect();
    if changed.is_empty() {
        let _ = writeln!(out, "-- no column changed: nothing to reverse");
        return Ok(false);
    }
    let _ = write!(out, "UPDATE {} SET ", qualified(t.schema, t.table));
    for (n, &i) in changed.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{} = ", ident(&t.columns[i].name));
        push_column_literal(out, before.get(i).unwrap_or(&Value::Null), &t.columns[i])?;
    }
    out.push_str(" WHERE ");
    push_match(out, t, after)?;
    finish(out, t);
    Ok(true)
}

/// Reverses a DELETE: `INSERT INTO t (<columns>) VALUES (<before image>)`.
fn insert_stmt(
    out: &mut String,
    t: &ScriptTable<'_>,
    before: &[Value],
) -> Result<bool, LiteralError> {
    let cols: Vec<String> = t.columns.iter().map(|c| ident(&c.name)).collect();
    let _ = write!(
        out,
        "INSERT INTO {} ({}) VALUES (",
        qualified(t.schema, t.table),
        cols.join(", ")
    );
    push_row(out, before, t.columns)?;
    out.push_str(");\n");
    Ok(true)
}

/// `v1, v2, ...` (without the parentheses) of a row aligned with `columns`, NULL-padded.
pub(crate) fn push_row(
    out: &mut String,
    row: &[Value],
    columns: &[ColumnInfo],
) -> Result<(), LiteralError> {
    for (i, col) in columns.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_column_literal(out, row.get(i).unwrap_or(&Value::Null), col)?;
    }
    Ok(())
}

/// `pk <=> v AND ... AND other <=> v ...`: PK columns first, then every other column.
fn push_match(out: &mut String, t: &ScriptTable<'_>, image: &[Value]) -> Result<(), LiteralError> {
    let order =
        t.pk.iter()
            .copied()
            .chain((0..t.columns.len()).filter(|i| !t.pk.contains(i)));
    for (n, i) in order.enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        let _ = write!(out, "{} <=> ", ident(&t.columns[i].name));
        push_column_literal(out, image.get(i).unwrap_or(&Value::Null), &t.columns[i])?;
    }
    Ok(())
}

/// Fails the statement it runs in (error 1242, "Subquery returns more than 1 row") unless the
/// previous statement changed exactly one row: a portable assertion (no stored program needed).
pub const GUARD: &str =
    "SET @dbtrail_guard = (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE ROW_COUNT() <> 1)";

/// Ends an UPDATE/DELETE (`LIMIT 1` without a PK) and adds the one-row [`GUARD`].
fn finish(out: &mut String, t: &ScriptTable<'_>) {
    if t.pk.is_empty() {
        out.push_str(" LIMIT 1");
    }
    out.push_str(";\n");
    out.push_str(GUARD);
    out.push_str(";\n");
}

fn type_name(t: ChangeType) -> &'static str {
    match t {
        ChangeType::Insert => "INSERT",
        ChangeType::Update => "UPDATE",
        ChangeType::Delete => "DELETE",
    }
}

/// Text safe inside a `--` comment line (control characters replaced).
/// `s` for an SQL `--` comment line: control characters (a newline would end the comment and
/// start a statement) become `?`.
pub(crate) fn comment_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::column_info;
    use agent_api::catalog::DataType;

    fn col(name: &str, data_type: DataType) -> ColumnInfo {
        column_info(name, data_type, data_type.sql_name())
    }

    fn change(
        seq: u64,
        event_type: ChangeType,
        before: Option<Vec<Value>>,
        after: Option<Vec<Value>>,
    ) -> ChangeRow {
        ChangeRow {
            event_time_us: 1_777_281_119_000_000,
            event_type,
            seq,
            gtid: Some("0-1-9".into()),
            binlog_file: "binlog.000001".into(),
            binlog_pos: 400,
            changed_columns: Vec::new(),
            row_before: before,
            row_after: after,
        }
    }

    #[test]
    fn reverses_newest_first_with_after_image_guards() {
        let columns = vec![col("id", DataType::Int), col("note", DataType::VarChar)];
        let t = ScriptTable {
            server_id: 1,
            schema: "shop",
            table: "t",
            columns: &columns,
            pk: &[0],
            from_us: 0,
            to_us: 1,
        };
        let row = |id, note: Option<&str>| {
            vec![
                Value::Int(id),
                note.map_or(Value::Null, |n| Value::Text(n.into())),
            ]
        };
        let changes = vec![
            change(7, ChangeType::Insert, None, Some(row(3, Some("new")))),
            change(
                8,
                ChangeType::Update,
                Some(row(1, Some("a"))),
                Some(row(1, None)),
            ),
            change(9, ChangeType::Delete, Some(row(2, Some("it's"))), None),
        ];
        let (script, summary) = build_script(&t, &changes).unwrap();
        let guard = format!("{GUARD};");
        let stmts: Vec<&str> = script.lines().filter(|l| !l.starts_with("--")).collect();
        assert_eq!(
            stmts,
            [
                "SET NAMES utf8mb4;",
                "SET time_zone = '+00:00';",
                "START TRANSACTION;",
                "INSERT INTO `shop`.`t` (`id`, `note`) VALUES (2, 'it''s');",
                "UPDATE `shop`.`t` SET `note` = 'a' WHERE `id` <=> 1 AND `note` <=> NULL;",
                guard.as_str(),
                "DELETE FROM `shop`.`t` WHERE `id` <=> 3 AND `note` <=> 'new';",
                guard.as_str(),
                "COMMIT;",
            ]
        );
        assert_eq!(
            summary,
            RecoverSummary {
                first_seq: Some(7),
                last_seq: Some(9),
                inserts: 1,
                updates: 1,
                deletes: 1
            }
        );
        assert!(
            script.contains("-- reverses: seq 7..9: 1 INSERT, 1 UPDATE, 1 DELETE; 3 statement(s)")
        );
        assert!(script.contains("-- seq 9, 2026-04-27 09:11:59.000000 UTC, GTID 0-1-9, binlog.000001:400, reverses DELETE"));
    }

    #[test]
    fn table_without_pk_limits_each_statement_to_one_row() {
        let columns = vec![col("a", DataType::Int)];
        let t = ScriptTable {
            server_id: 1,
            schema: "s",
            table: "nopk",
            columns: &columns,
            pk: &[],
            from_us: 0,
            to_us: 1,
        };
        let changes = vec![change(
            2,
            ChangeType::Update,
            Some(vec![Value::Int(1)]),
            Some(vec![Value::Int(2)]),
        )];
        let (script, _) = build_script(&t, &changes).unwrap();
        assert!(script.contains(&format!(
            "UPDATE `s`.`nopk` SET `a` = 1 WHERE `a` <=> 2 LIMIT 1;\n{GUARD};\n"
        )));
    }

    #[test]
    fn unchanged_update_and_missing_image_write_no_statement() {
        let columns = vec![col("id", DataType::Int)];
        let t = ScriptTable {
            server_id: 1,
            schema: "s",
            table: "t",
            columns: &columns,
            pk: &[0],
            from_us: 0,
            to_us: 1,
        };
        let same = Some(vec![Value::Int(1)]);
        let changes = vec![
            change(2, ChangeType::Update, same.clone(), same),
            change(3, ChangeType::Delete, None, None),
        ];
        let (script, summary) = build_script(&t, &changes).unwrap();
        assert_eq!(summary.statements(), 0);
        assert!(script.contains("no change matched"));
        assert!(!script.contains("UPDATE `s`"));
        assert!(!script.contains("INSERT INTO"));
    }
}
