//! Generated statements with long and deep expressions through the whole statement path:
//! classify → plan (`_flashback`, `_snapshot`) or evaluate (chatter, information_schema), then
//! drop, on a thread with a tokio worker's 2 MiB stack. Never a panic, never a stack overflow:
//! anything too long or too complex is a classification error.
//!
//! The input bytes drive a small generator (not raw SQL): a statement shape, then an expression
//! built from chains of up to 4,000 infix operators, nesting up to 120 parentheses, runs of
//! unary operators, function calls, IN lists and literals.
#![no_main]

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};
use dbtrail_shim::chatter::SessionState;
use dbtrail_shim::classify::{classify, ShimStatement};
use dbtrail_shim::plan::TimeZone;
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

const PREFIXES: &[&str] = &[
    "SELECT ",
    "SELECT * FROM _flashback.t AS OF '2026-01-01' WHERE ",
    "SELECT id FROM _snapshot.t AS OF '2026-01-01' WHERE ",
    "SELECT * FROM _diff.t BETWEEN '2026-01-01' AND '2026-01-02' WHERE ",
    "SELECT TABLE_NAME FROM information_schema.TABLES WHERE ",
    "SELECT * FROM t AS OF '2026-01-01' WHERE id = 1 AND ",
    "SET @x = ",
];
const INFIX: &[&str] = &[
    " + ", " - ", " * ", " / ", " AND ", " OR ", " XOR ", " = ", " <> ", " < ", " >= ", " || ",
    " DIV ", " MOD ", " LIKE ", " IS ", " & ", " | ", " ^ ", " << ", " UNION SELECT ",
];
const TERMS: &[&str] = &["1", "id", "-1", "'x'", "NULL", "TRUE", "?", "@@version", "0x1f", "1.5"];

fn expr(u: &mut Unstructured<'_>, out: &mut String, depth: u32) -> libfuzzer_sys::arbitrary::Result<()> {
    match u.int_in_range(0..=6u8)? {
        0 | 1 if depth < 120 => {
            // A long flat chain.
            let terms = u.int_in_range(1..=4000u16)?;
            let op = *u.choose(INFIX)?;
            let term = *u.choose(TERMS)?;
            for i in 0..terms {
                if i > 0 {
                    out.push_str(op);
                }
                out.push_str(term);
            }
        }
        2 if depth < 120 => {
            let levels = u.int_in_range(1..=120u8)?;
            out.extend(std::iter::repeat_n('(', usize::from(levels)));
            expr(u, out, depth + u32::from(levels))?;
            out.extend(std::iter::repeat_n(')', usize::from(levels)));
        }
        3 if depth < 120 => {
            let unary = *u.choose(&["-", "NOT ", "~", "+", "!"])?;
            let n = u.int_in_range(1..=200u8)?;
            for _ in 0..n {
                out.push_str(unary);
            }
            expr(u, out, depth + u32::from(n))?;
        }
        4 if depth < 120 => {
            let f = *u.choose(&["CONCAT(", "IF(", "COALESCE(", "LOWER(", "SUBSTRING("])?;
            out.push_str(f);
            expr(u, out, depth + 1)?;
            out.push_str(", ");
            expr(u, out, depth + 1)?;
            out.push(')');
        }
        5 => {
            let n = u.int_in_range(1..=3000u16)?;
            out.push_str("id IN (");
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("-{i}"));
            }
            out.push(')');
        }
        _ => out.push_str(u.choose(TERMS)?),
    }
    // Sometimes join with another expression.
    if depth < 120 && u.ratio(1u8, 4u8)? {
        out.push_str(u.choose(INFIX)?);
        expr(u, out, depth + 1)?;
    }
    Ok(())
}

fn table() -> TableInfo {
    TableInfo {
        schema: "shop".into(),
        name: "t".into(),
        columns: vec![ColumnInfo {
            name: "id".into(),
            data_type: DataType::Int,
            column_type: "int".into(),
            unsigned: false,
            nullable: false,
            length: 0,
            scale: 0,
            charset: None,
            collation_id: None,
            elements: Vec::new(),
        }],
        primary_key: vec!["id".into()],
    }
}

fn run(sql: &str) {
    let tables = vec![table()];
    match classify(sql) {
        Ok(ShimStatement::Flashback(q)) | Ok(ShimStatement::Snapshot(q)) => {
            let _ = dbtrail_shim::plan::plan_flashback(&q, &tables[0], 1, 0);
            let _ = dbtrail_shim::plan::reads::plan_snapshot(&q, &tables[0], 1, 0);
        }
        Ok(ShimStatement::InformationSchema(q)) => {
            let shown = dbtrail_shim::chatter::catalog::virtual_tables(tables.clone());
            let _ = dbtrail_shim::chatter::information_schema::answer(&q, &tables, &shown, None);
        }
        Ok(ShimStatement::Chatter(c)) => {
            let mut state = SessionState::new("u".into(), "h".into(), 1, TimeZone::UTC);
            let _ = dbtrail_shim::chatter::answer(&c, &mut state);
        }
        Ok(_) => {}
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(prefix) = u.choose(PREFIXES) else {
        return;
    };
    let mut sql = (*prefix).to_owned();
    if expr(&mut u, &mut sql, 0).is_err() {
        return;
    }
    // The statement path runs on tokio workers: 2 MiB stacks.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || run(&sql))
        .expect("thread")
        .join()
        .expect("no panic");
});
