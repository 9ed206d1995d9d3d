//! Reproductions of mismatches: shrinking a failing history and writing it as files.
//!
//! A reproduction directory holds `history.sql` (the source history: `SET timestamp` per
//! transaction, as written), `query.sql` (session setup and the question to the shim, with
//! MariaDB's equivalent on the twin as a comment), `mismatch.txt` (class, expected vs got, both
//! answers in full) and `repro.json`, which `difftest --replay <file>` runs again on a fresh server.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::json;

use super::dims::{ClientCharset, Protocol, QueryKind};
use super::gen::{History, Tx, TxKind};
use super::run::{run_batch_focused, Config, Focus, Mismatch, Question, Report};
use super::writer::source_sql;
use crate::MariaDb;

/// The source history as an SQL script with commit seconds relative to `base` (`SET timestamp =
/// @base + k`, with `@base` set first to a second after the server's start).
pub fn history_sql(h: &History, schema: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "-- {}", h.summary);
    let _ = writeln!(
        s,
        "-- Each transaction commits at its own second: set @base to a recent Unix time first."
    );
    let _ = writeln!(s, "SET @base = UNIX_TIMESTAMP() + 1;");
    let _ = writeln!(s, "CREATE DATABASE `{schema}` CHARACTER SET utf8mb4;");
    let _ = writeln!(s, "USE `{schema}`;");
    for (k, tx) in h.txs.iter().enumerate() {
        let _ = writeln!(s, "SET timestamp = @base + {k};");
        match tx.kind {
            TxKind::Ddl => {
                for st in &tx.statements {
                    let _ = writeln!(s, "{};", source_sql(st));
                }
            }
            kind => {
                let _ = writeln!(s, "BEGIN;");
                for st in &tx.statements {
                    let _ = writeln!(s, "{};", source_sql(st));
                }
                let end = if kind == TxKind::Rollback {
                    "ROLLBACK"
                } else {
                    "COMMIT"
                };
                let _ = writeln!(s, "{end};");
            }
        }
    }
    s
}

/// `repro.json` of a mismatch: enough to run it again.
pub fn repro_json(config: &Config, h: &History, m: &Mismatch) -> serde_json::Value {
    json!({
        "seed": config.seed,
        "history_index": m.history,
        "time_zone": config.time_zone,
        "class": m.class,
        "history": h.to_json(),
        "tx": m.tx,
        "question": {
            "kind": m.question.kind.name(),
            "name": m.question.name,
            "shim": m.question.shim,
            "native": m.question.native,
        },
        "protocol": m.protocol.name(),
        "charset": m.charset.name(),
        "detail": m.detail,
    })
}

/// Reads `repro.json` back: the history's transactions and the focus question.
pub fn read_repro(path: &Path) -> Result<(Vec<Tx>, Focus, String)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let txs = v["history"]["txs"]
        .as_array()
        .context("history.txs")?
        .iter()
        .map(Tx::from_json)
        .collect::<Result<Vec<_>>>()?;
    let q = &v["question"];
    let name: &'static str = match q["name"].as_str() {
        Some("r") => "r",
        _ => "t",
    };
    let focus = Focus {
        tx: v["tx"].as_u64().context("tx")? as usize,
        question: Question {
            kind: q["kind"].as_str().context("kind")?.parse::<QueryKind>()?,
            name,
            shim: q["shim"].as_str().context("shim")?.to_owned(),
            native: q["native"].as_str().context("native")?.to_owned(),
        },
        protocol: v["protocol"]
            .as_str()
            .context("protocol")?
            .parse::<Protocol>()?,
        charset: v["charset"]
            .as_str()
            .context("charset")?
            .parse::<ClientCharset>()?,
    };
    let class = v["class"].as_str().unwrap_or_default().to_owned();
    Ok((txs, focus, class))
}

/// Writes the reproduction of `m` (history `h`) into `dir/<n>-<slug>/`; returns the directory.
pub fn write_repro(
    dir: &Path,
    n: usize,
    config: &Config,
    h: &History,
    m: &Mismatch,
) -> Result<PathBuf> {
    let slug: String = m
        .class
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug.trim_matches('-').chars().take(60).collect::<String>();
    let out = dir.join(format!("{n:03}-{slug}"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("history.sql"), history_sql(h, "repro"))?;
    let mut q = String::new();
    let _ = writeln!(
        q,
        "-- Ask the shim (database `repro`) after transaction {} of history.sql, i.e. AS OF \
         @base + {} + 0.5 s in the session time zone.",
        m.tx, m.tx
    );
    let _ = writeln!(q, "SET NAMES {};", m.charset.name());
    let _ = writeln!(q, "SET time_zone = '{}';", config.time_zone);
    let _ = writeln!(q, "-- protocol: {}", m.protocol.name());
    let _ = writeln!(q, "{};", m.question.shim);
    let _ = writeln!(
        q,
        "-- MariaDB's answer, on a WITH SYSTEM VERSIONING twin written with the same statements \
         and timestamps:\n-- {};",
        m.question.native
    );
    std::fs::write(out.join("query.sql"), q)?;
    let text = format!(
        "class: {}\nhistory {} (run seed {}), after transaction {}\nprotocol {}, client charset \
         {}, time zone {}\nshim:    {}\nmariadb: {}\n\n{}\n\n--- expected (MariaDB) ---\n{}\n--- \
         got (shim) ---\n{}",
        m.class,
        m.history,
        config.seed,
        m.tx,
        m.protocol,
        m.charset,
        config.time_zone,
        m.sent.0,
        m.sent.1,
        m.detail,
        m.expected,
        m.got
    );
    std::fs::write(out.join("mismatch.txt"), text)?;
    std::fs::write(
        out.join("repro.json"),
        serde_json::to_string_pretty(&repro_json(config, h, m))?,
    )?;
    Ok(out)
}

/// A history without transaction `j` (never the CREATE at 0), and where instant `tx` moves.
fn without(h: &History, j: usize) -> History {
    let mut h = h.clone();
    h.txs.remove(j);
    h
}

/// A history without statement `s` of transaction `j`.
fn without_statement(h: &History, j: usize, s: usize) -> History {
    let mut h = h.clone();
    h.txs[j].statements.remove(s);
    h
}

/// Whether each candidate (history, focus) reproduces `class`: one batch, one agent-core.
async fn attempt(
    db: &MariaDb,
    config: &Config,
    candidates: &[(History, Focus)],
    class: &str,
    after: &mut i64,
    n: usize,
) -> Result<Vec<Option<Mismatch>>> {
    static ATTEMPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let unique = ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _ = n;
    let mut cfg = config.clone();
    cfg.prefix = format!("{}s{unique}_", config.prefix);
    let base_index = 1_000_000;
    let histories: Vec<(usize, History)> = candidates
        .iter()
        .enumerate()
        .map(|(i, (h, _))| (base_index + i, h.clone()))
        .collect();
    let focus: BTreeMap<usize, Focus> = candidates
        .iter()
        .enumerate()
        .map(|(i, (_, f))| (base_index + i, f.clone()))
        .collect();
    let mut report = Report::default();
    *after = run_batch_focused(
        db,
        &cfg,
        histories,
        &focus,
        *after,
        &mut report,
        &mut |_| {},
    )
    .await?;
    Ok((0..candidates.len())
        .map(|i| {
            report
                .mismatches
                .iter()
                .find(|m| m.history == base_index + i && m.class == class)
                .cloned()
        })
        .collect())
}

/// Shrinks the history of `m` (greedy: drop the transactions after the instant, then single
/// transactions and single statements, `config.batch` candidates per agent-core run) while the
/// same class of mismatch stays. At most `rounds` rounds. Returns the smallest history found and
/// its mismatch.
pub async fn shrink(
    db: &MariaDb,
    config: &Config,
    h: &History,
    m: &Mismatch,
    rounds: usize,
    log: &mut dyn FnMut(&str),
) -> Result<(History, Mismatch)> {
    let mut best = h.clone();
    best.txs.truncate(m.tx + 1);
    let mut focus = Focus {
        tx: m.tx,
        question: m.question.clone(),
        protocol: m.protocol,
        charset: m.charset,
    };
    let mut best_m = m.clone();
    let mut after = 0i64;
    // The cut history first: later transactions cannot change an earlier instant's answer, but
    // check (capture state could).
    let mut attempts = 0usize;
    let first = attempt(
        db,
        config,
        &[(best.clone(), focus.clone())],
        &m.class,
        &mut after,
        attempts,
    )
    .await?;
    match first.into_iter().next().flatten() {
        Some(found) => best_m = found,
        None => {
            log("shrink: the history cut after the instant does not reproduce; keeping it whole");
            best = h.clone();
        }
    }
    let per_round = config.batch.max(2);
    // Candidate generator position: transactions from the last to the first, then statements.
    for round in 1..=rounds {
        let mut candidates: Vec<(History, Focus)> = Vec::new();
        for j in (1..best.txs.len()).rev() {
            // Removing a transaction at or before the instant moves the instant one back
            // (removing the asked-after one asks after its predecessor).
            let mut f = focus.clone();
            if j <= focus.tx {
                f.tx -= 1;
            }
            candidates.push((without(&best, j), f));
        }
        for (j, tx) in best.txs.iter().enumerate() {
            if tx.statements.len() > 1 {
                for s in 0..tx.statements.len() {
                    candidates.push((without_statement(&best, j, s), focus.clone()));
                }
            }
        }
        if candidates.is_empty() {
            break;
        }
        let mut progressed = false;
        for chunk in candidates.chunks(per_round) {
            attempts += 1;
            let found = attempt(db, config, chunk, &m.class, &mut after, attempts).await?;
            if let Some((i, found)) = found
                .into_iter()
                .enumerate()
                .find_map(|(i, f)| f.map(|f| (i, f)))
            {
                best = chunk[i].0.clone();
                focus = chunk[i].1.clone();
                best_m = found;
                progressed = true;
                break;
            }
        }
        log(&format!(
            "shrink round {round}: {} transactions, {} statements",
            best.txs.len(),
            best.txs.iter().map(|t| t.statements.len()).sum::<usize>()
        ));
        if !progressed {
            break;
        }
    }
    best_m.tx = focus.tx;
    Ok((best, best_m))
}
