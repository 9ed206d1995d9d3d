//! Writes histories to the source and to their system-versioned twins.
//!
//! Every history has a source schema (binlogged, captured by agent-core) and a twin schema
//! written on another connection with `sql_log_bin = 0`, so capture never sees it. Transaction k
//! of every history of a batch commits at second `base + k` on both connections (`SET
//! timestamp`): MariaDB stamps binlog events and system-versioning `row_start`/`row_end` with the
//! statement time, so the source's commit time and the twin's version boundary are the same whole
//! second. Histories of a batch share seconds (their tables are disjoint); agent-core's visible
//! time stays the commit time because every binlog transaction of the batch is in second order.
//!
//! The twin keeps one system-versioned table per *epoch*: the first is created with the table,
//! and each successful DDL (ALTER, RENAME, TRUNCATE, DROP, CREATE) ends the current epoch of every
//! name and starts a new one where the name exists: `CREATE TABLE … LIKE` the source's table,
//! `ADD SYSTEM VERSIONING`, and a copy of the source's rows, at the DDL's second. System versioning
//! cannot follow such DDL itself (TRUNCATE is refused on versioned tables, ALTER rewrites history
//! rows into the new shape), so each epoch answers only for the instants inside it.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::gen::{History, TxKind, R, T};
use crate::MariaDb;

/// The two table names a history uses, and their placeholders.
pub const NAMES: [(&str, &str); 2] = [(T, "t"), (R, "r")];

/// A history as written: where it lives and what the twin holds at each instant.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Index of the history in its run.
    pub index: usize,
    /// The generated history.
    pub history: History,
    /// Source schema (captured).
    pub src: String,
    /// Twin schema (`sql_log_bin = 0`).
    pub twin: String,
    /// One per transaction: the state right after it.
    pub instants: Vec<InstantState>,
    /// Statements whose outcome differed between source and twin (the oracle is not valid for
    /// this history then; its questions are skipped and the divergence reported).
    pub divergences: Vec<String>,
    /// Outcome of every statement on the source: `None` = OK with rows changed, `Some(0)` = OK
    /// without a row changed, else the MySQL error code.
    pub outcomes: Vec<Vec<Option<u16>>>,
    /// Per transaction: whether it committed at least one row change on the source.
    pub wrote: Vec<bool>,
}

impl Placed {
    /// Per transaction: whether the table incarnation in force after it (from its CREATE to
    /// its DROP) has a committed row change anywhere in the history.
    pub fn incarnation_written(&self) -> Vec<bool> {
        let mut out = vec![false; self.history.txs.len()];
        let mut start = 0;
        for k in 0..=self.history.txs.len() {
            let boundary = k == self.history.txs.len()
                || (k > 0
                    && self.history.txs[k].kind == TxKind::Ddl
                    && self.history.txs[k]
                        .statements
                        .iter()
                        .any(|s| s.starts_with("CREATE")));
            if boundary {
                let written = self.wrote[start..k].iter().any(|w| *w);
                out[start..k].iter_mut().for_each(|o| *o = written);
                start = k;
            }
        }
        out
    }
}

/// The state after one transaction.
#[derive(Debug, Clone)]
pub struct InstantState {
    /// Commit second (Unix seconds) of the transaction.
    pub second: i64,
    /// Index of the transaction in the history.
    pub tx: usize,
    /// Per source table name (`t`, `r`): the twin epoch table holding it, `None` when the name
    /// does not exist.
    pub tables: BTreeMap<&'static str, Option<String>>,
}

/// One history's two connections and current epoch tables.
struct Writing {
    src_conn: Conn,
    twin_conn: Conn,
    epochs: BTreeMap<&'static str, Option<String>>,
}

/// The first second a new batch may use: after the source's clock and after `after`.
pub async fn next_base(db: &MariaDb, after: i64) -> Result<i64> {
    let now: i64 = db
        .sql_text("SELECT UNIX_TIMESTAMP()")
        .await?
        .context("UNIX_TIMESTAMP() is NULL")?
        .parse()
        .context("UNIX_TIMESTAMP() is not an integer")?;
    Ok(now.max(after) + 1)
}

/// Writes `histories` (named `<prefix><i>` / `<prefix><i>_twin`) interleaved by second from
/// `base`. Returns them placed; the last second used is `base + longest - 1`.
pub async fn write_batch(
    db: &MariaDb,
    histories: Vec<(usize, History)>,
    prefix: &str,
    base: i64,
) -> Result<Vec<Placed>> {
    let mut placed = Vec::new();
    let mut writing = Vec::new();
    let mut admin = db.admin_conn().await?;
    admin.query_drop("SET sql_log_bin = 0").await?;
    for (index, history) in histories {
        let src = format!("{prefix}{index}");
        let twin = format!("{prefix}{index}_twin");
        admin
            .query_drop(format!("CREATE DATABASE `{twin}` CHARACTER SET utf8mb4"))
            .await?;
        let mut src_conn = db.admin_conn().await?;
        // The source schema is created in the binlog (capture sees the table created in it).
        src_conn
            .query_drop(format!("CREATE DATABASE `{src}` CHARACTER SET utf8mb4"))
            .await?;
        src_conn.query_drop(format!("USE `{src}`")).await?;
        let mut twin_conn = db.admin_conn().await?;
        twin_conn.query_drop("SET sql_log_bin = 0").await?;
        twin_conn.query_drop(format!("USE `{twin}`")).await?;
        writing.push(Writing {
            src_conn,
            twin_conn,
            epochs: NAMES.iter().map(|(_, n)| (*n, None)).collect(),
        });
        let outcomes = vec![Vec::new(); history.txs.len()];
        let wrote = vec![false; history.txs.len()];
        placed.push(Placed {
            index,
            history,
            src,
            twin,
            instants: Vec::new(),
            divergences: Vec::new(),
            outcomes,
            wrote,
        });
    }
    admin.disconnect().await.ok();
    let longest = placed
        .iter()
        .map(|p| p.history.txs.len())
        .max()
        .unwrap_or(0);
    for k in 0..longest {
        let second = base + k as i64;
        for (p, w) in placed.iter_mut().zip(writing.iter_mut()) {
            if k < p.history.txs.len() {
                run_tx(p, w, k, second)
                    .await
                    .with_context(|| format!("history {} transaction {k}", p.index))?;
                p.instants.push(InstantState {
                    second,
                    tx: k,
                    tables: w.epochs.clone(),
                });
            }
        }
    }
    for w in writing {
        w.src_conn.disconnect().await.ok();
        w.twin_conn.disconnect().await.ok();
    }
    Ok(placed)
}

/// `sql` with the placeholders replaced by source names.
pub fn source_sql(sql: &str) -> String {
    let mut s = sql.to_owned();
    for (ph, name) in NAMES {
        s = s.replace(ph, &format!("`{name}`"));
    }
    s
}

fn twin_sql(sql: &str, epochs: &BTreeMap<&'static str, Option<String>>) -> String {
    let mut s = sql.to_owned();
    for (ph, name) in NAMES {
        let table = epochs
            .get(name)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("{name}__absent"));
        s = s.replace(ph, &format!("`{table}`"));
    }
    s
}

/// The MySQL error code of a failed statement, `None` on success; other failures propagate.
async fn exec(conn: &mut Conn, sql: &str) -> Result<Option<u16>> {
    match conn.query_drop(sql).await {
        Ok(()) if conn.affected_rows() > 0 => Ok(None),
        Ok(()) => Ok(Some(0)),
        Err(mysql_async::Error::Server(e)) => Ok(Some(e.code)),
        Err(e) => Err(e).with_context(|| sql.to_owned()),
    }
}

async fn run_tx(p: &mut Placed, w: &mut Writing, k: usize, second: i64) -> Result<()> {
    let tx = p.history.txs[k].clone();
    for conn in [&mut w.src_conn, &mut w.twin_conn] {
        conn.query_drop(format!("SET timestamp = {second}")).await?;
    }
    if tx.kind == TxKind::Ddl {
        let mut ok = true;
        for stmt in &tx.statements {
            let code = exec(&mut w.src_conn, &source_sql(stmt)).await?;
            p.outcomes[k].push(code);
            ok &= matches!(code, None | Some(0));
        }
        if ok {
            new_epochs(p, w, k).await?;
        }
        return Ok(());
    }
    for conn in [&mut w.src_conn, &mut w.twin_conn] {
        conn.query_drop("BEGIN").await?;
    }
    for stmt in &tx.statements {
        let on_src = exec(&mut w.src_conn, &source_sql(stmt)).await?;
        let twin_stmt = twin_sql(stmt, &w.epochs);
        let on_twin = exec(&mut w.twin_conn, &twin_stmt).await?;
        p.outcomes[k].push(on_src);
        p.wrote[k] |= on_src.is_none() && tx.kind == TxKind::Commit;
        let error = |c: Option<u16>| c.filter(|c| *c != 0);
        if error(on_src) != error(on_twin) {
            p.divergences.push(format!(
                "transaction {k}: {} gave {on_src:?} on the source, {on_twin:?} on the twin",
                source_sql(stmt)
            ));
        }
    }
    let end = if tx.kind == TxKind::Rollback {
        "ROLLBACK"
    } else {
        "COMMIT"
    };
    for conn in [&mut w.src_conn, &mut w.twin_conn] {
        conn.query_drop(end).await?;
    }
    Ok(())
}

/// After a DDL: a fresh versioned copy of every existing name (see the module doc).
async fn new_epochs(p: &Placed, w: &mut Writing, k: usize) -> Result<()> {
    for (_, name) in NAMES {
        let exists: Option<u64> = w
            .twin_conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&p.src, name),
            )
            .await?;
        if exists.unwrap_or(0) == 0 {
            w.epochs.insert(name, None);
            continue;
        }
        let epoch = format!("{name}__{k}");
        let (src, twin) = (&p.src, &p.twin);
        let columns: Vec<String> = w
            .twin_conn
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_GENERATED = 'NEVER' \
                 ORDER BY ORDINAL_POSITION",
                (src, name),
            )
            .await?;
        let cols = columns
            .iter()
            .map(|c| format!("`{}`", c.replace('`', "``")))
            .collect::<Vec<_>>()
            .join(", ");
        for sql in [
            format!("CREATE TABLE `{twin}`.`{epoch}` LIKE `{src}`.`{name}`"),
            format!("ALTER TABLE `{twin}`.`{epoch}` ADD SYSTEM VERSIONING"),
            format!("INSERT INTO `{twin}`.`{epoch}` ({cols}) SELECT {cols} FROM `{src}`.`{name}`"),
        ] {
            w.twin_conn
                .query_drop(&sql)
                .await
                .with_context(|| sql.clone())?;
        }
        w.epochs.insert(name, Some(epoch));
    }
    Ok(())
}
