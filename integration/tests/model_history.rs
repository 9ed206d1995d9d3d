//! Model-based time travel: random histories of DML and table-level DDL run against a real
//! MariaDB; MariaDB's own table contents after every commit are the model. agent-core, started
//! afterwards on a fresh data dir, must answer every recorded instant exactly: whole tables
//! (`Range` unbounded) and point lookups (`IN` with present and absent keys, evaluated by MariaDB
//! itself at record time, so collation rules are MariaDB's).
//!
//! Tables per case (schema `m<case>`): `a` (INT PK), `b` ((INT, VARCHAR) PK under
//! `utf8mb4_general_ci`: `'x' = 'X'`, `'é' = 'E'`, `'y' = 'y '`), `c` (BIGINT UNSIGNED PK with keys
//! above 2^63). Operations: upserts, updates, deletes and re-inserts of a small key domain, PK
//! changes (including collation-equal ones), multi-row updates, multi-statement transactions,
//! TRUNCATE, and RENAME TABLE there and back with writes in between. Every commit gets its own
//! synthetic second (`SET timestamp`), so no sleeping between commits.
//!
//! One MariaDB serves all cases. A failing case is shrunk (bounded) and its seed saved in
//! `integration/proptest-regressions/model_history.txt`, replayed first on later runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_api::flashback::KeyPredicate;
use agent_api::{ClientError, ErrorCode, Value as ApiValue};
use anyhow::{bail, Context, Result};
use integration::canon::{agent_row, diff_rows, query_canon, CanonRow};
use integration::history::{
    flashback, instant_after, wait_caught_up_strict, whole_table, SyntheticClock,
};
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError, TestError, TestRunner};

/// The three tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tbl {
    A,
    B,
    C,
}

const TABLES: [Tbl; 3] = [Tbl::A, Tbl::B, Tbl::C];

/// Key domain of `a`.
const A_KEYS: [i64; 6] = [0, 1, 2, 3, 4, 5];
/// Key domain of `b`: collation-equal pairs on purpose (case, trailing space). The last two are
/// equal only accent-insensitively and are used by the [`Features::accents`] histories.
const B_KEYS: [(i64, &str); 8] = [
    (1, "x"),
    (1, "X"),
    (1, "y"),
    (1, "y "),
    (2, "x"),
    (2, "zz"),
    (2, "é"),
    (2, "E"),
];
/// `b` keys without the accent pair.
const B_KEYS_PLAIN: usize = 6;
/// Key domain of `c`, around 2^63.
const C_KEYS: [u64; 6] = [0, 1, 42, i64::MAX as u64, 1 << 63, u64::MAX];

impl Tbl {
    fn name(self) -> &'static str {
        match self {
            Tbl::A => "a",
            Tbl::B => "b",
            Tbl::C => "c",
        }
    }

    fn keys(self) -> usize {
        match self {
            Tbl::A => A_KEYS.len(),
            Tbl::B => B_KEYS.len(),
            Tbl::C => C_KEYS.len(),
        }
    }

    fn create(self) -> &'static str {
        match self {
            Tbl::A => "CREATE TABLE a (id INT PRIMARY KEY, n INT NOT NULL, s VARCHAR(20))",
            Tbl::B => {
                "CREATE TABLE b (k1 INT, k2 VARCHAR(10) CHARACTER SET utf8mb4 \
                 COLLATE utf8mb4_general_ci, n INT NOT NULL, PRIMARY KEY (k1, k2))"
            }
            Tbl::C => "CREATE TABLE c (id BIGINT UNSIGNED PRIMARY KEY, n INT NOT NULL)",
        }
    }

    /// The PK column list.
    fn pk(self) -> &'static str {
        match self {
            Tbl::B => "k1, k2",
            _ => "id",
        }
    }

    /// SQL literal tuple of key `k` (without parentheses for single columns).
    fn key_sql(self, k: usize) -> String {
        match self {
            Tbl::A => A_KEYS[k].to_string(),
            Tbl::B => format!("{}, '{}'", B_KEYS[k].0, B_KEYS[k].1),
            Tbl::C => C_KEYS[k].to_string(),
        }
    }

    /// `pk = key` condition.
    fn key_where(self, k: usize) -> String {
        match self {
            Tbl::B => format!("k1 = {} AND k2 = '{}'", B_KEYS[k].0, B_KEYS[k].1),
            _ => format!("id = {}", self.key_sql(k)),
        }
    }

    /// `pk = key` assignments.
    fn key_set(self, k: usize) -> String {
        match self {
            Tbl::B => format!("k1 = {}, k2 = '{}'", B_KEYS[k].0, B_KEYS[k].1),
            _ => format!("id = {}", self.key_sql(k)),
        }
    }

    /// Key `k` as agent-core key values.
    fn key_values(self, k: usize) -> Vec<ApiValue> {
        match self {
            Tbl::A => vec![ApiValue::Int(A_KEYS[k])],
            Tbl::B => vec![
                ApiValue::Int(B_KEYS[k].0),
                ApiValue::Text(B_KEYS[k].1.to_owned()),
            ],
            Tbl::C => vec![ApiValue::UInt(C_KEYS[k])],
        }
    }

    /// A key outside the domain (never present).
    fn absent_key(self) -> (String, Vec<ApiValue>) {
        match self {
            Tbl::A => ("99".to_owned(), vec![ApiValue::Int(99)]),
            Tbl::B => (
                "3, 'x'".to_owned(),
                vec![ApiValue::Int(3), ApiValue::Text("x".to_owned())],
            ),
            Tbl::C => ("7".to_owned(), vec![ApiValue::UInt(7)]),
        }
    }
}

/// A row-level statement.
#[derive(Debug, Clone)]
enum Dml {
    /// `INSERT ... ON DUPLICATE KEY UPDATE n = ...`.
    Upsert(Tbl, usize, i32),
    /// `UPDATE ... SET n = ... WHERE pk = ...`.
    Update(Tbl, usize, i32),
    /// `DELETE ... WHERE pk = ...`.
    Delete(Tbl, usize),
    /// `UPDATE IGNORE ... SET pk = new WHERE pk = old`.
    ChangePk(Tbl, usize, usize),
    /// `UPDATE ... SET n = n + d` on every row.
    AddAll(Tbl, i32),
}

/// One step of a history: each commits once, except `RenameAway`, which commits two or three
/// times (rename away, optionally write under the new name, rename back).
#[derive(Debug, Clone)]
enum Op {
    /// An autocommit statement.
    Auto(Dml),
    /// `BEGIN; ...; COMMIT` over several tables.
    Txn(Vec<Dml>),
    /// `TRUNCATE TABLE`.
    Truncate(Tbl),
    /// `RENAME TABLE t TO t_tmp`, optionally a write to `t_tmp`, `RENAME TABLE t_tmp TO t`.
    RenameAway(Tbl, Option<Dml>),
}

impl Dml {
    fn sql(&self, renamed: Option<Tbl>) -> String {
        let name = |t: Tbl| {
            if renamed == Some(t) {
                format!("{}_tmp", t.name())
            } else {
                t.name().to_owned()
            }
        };
        match *self {
            Dml::Upsert(t, k, n) => format!(
                "INSERT INTO {} ({}, n) VALUES ({}, {n}) ON DUPLICATE KEY UPDATE n = {n}",
                name(t),
                t.pk(),
                t.key_sql(k)
            ),
            Dml::Update(t, k, n) => {
                format!("UPDATE {} SET n = {n} WHERE {}", name(t), t.key_where(k))
            }
            Dml::Delete(t, k) => format!("DELETE FROM {} WHERE {}", name(t), t.key_where(k)),
            Dml::ChangePk(t, from, to) => format!(
                "UPDATE IGNORE {} SET {} WHERE {}",
                name(t),
                t.key_set(to),
                t.key_where(from)
            ),
            Dml::AddAll(t, d) => format!("UPDATE {} SET n = n + {d}", name(t)),
        }
    }
}

/// What the generated histories may contain beyond DML, transactions and TRUNCATE.
#[derive(Debug, Clone, Copy)]
struct Features {
    /// RENAME TABLE there and back.
    renames: bool,
    /// `b` keys equal only accent-insensitively (`'é' = 'E'` under `utf8mb4_general_ci`).
    accents: bool,
}

impl Features {
    /// The key indexes of `t` histories may use.
    fn keys(self, t: Tbl) -> std::ops::Range<usize> {
        match t {
            Tbl::B if !self.accents => 0..B_KEYS_PLAIN,
            _ => 0..t.keys(),
        }
    }
}

fn tbl() -> impl Strategy<Value = Tbl> {
    prop_oneof![Just(Tbl::A), Just(Tbl::B), Just(Tbl::C)]
}

fn dml(f: Features) -> impl Strategy<Value = Dml> {
    tbl().prop_flat_map(move |t| {
        let k = f.keys(t);
        prop_oneof![
            4 => (k.clone(), -5..100i32).prop_map(move |(k, n)| Dml::Upsert(t, k, n)),
            2 => (k.clone(), -5..100i32).prop_map(move |(k, n)| Dml::Update(t, k, n)),
            2 => k.clone().prop_map(move |k| Dml::Delete(t, k)),
            2 => (k.clone(), k).prop_map(move |(a, b)| Dml::ChangePk(t, a, b)),
            1 => (1..3i32).prop_map(move |d| Dml::AddAll(t, d)),
        ]
    })
}

fn op(f: Features) -> BoxedStrategy<Op> {
    let common = prop_oneof![
        8 => dml(f).prop_map(Op::Auto),
        3 => prop::collection::vec(dml(f), 2..5).prop_map(Op::Txn),
        1 => tbl().prop_map(Op::Truncate),
    ];
    if !f.renames {
        return common.boxed();
    }
    let rename = (tbl(), proptest::option::of(dml(f))).prop_map(|(t, d)| {
        // The write in between goes to the renamed table.
        Op::RenameAway(t, d.map(|d| retarget(d, t)))
    });
    prop_oneof![12 => common, 1 => rename].boxed()
}

/// The same statement aimed at table `t` (keys clamped to its domain).
fn retarget(d: Dml, t: Tbl) -> Dml {
    let k = |k: usize| k % t.keys();
    match d {
        Dml::Upsert(_, key, n) => Dml::Upsert(t, k(key), n),
        Dml::Update(_, key, n) => Dml::Update(t, k(key), n),
        Dml::Delete(_, key) => Dml::Delete(t, k(key)),
        Dml::ChangePk(_, a, b) => Dml::ChangePk(t, k(a), k(b)),
        Dml::AddAll(_, n) => Dml::AddAll(t, n),
    }
}

/// A case: the operations and, per table, which keys the `IN` lookups probe.
#[derive(Debug, Clone)]
struct History {
    ops: Vec<Op>,
    probes: [Vec<usize>; 3],
}

fn history(f: Features) -> impl Strategy<Value = History> {
    let probes = |t: Tbl| prop::collection::vec(f.keys(t), 1..4);
    (
        prop::collection::vec(op(f), 6..18),
        probes(Tbl::A),
        probes(Tbl::B),
        probes(Tbl::C),
    )
        .prop_map(|(ops, a, b, c)| History {
            ops,
            probes: [a, b, c],
        })
}

/// MariaDB's answers right after one commit: per table name (the three and their `_tmp`
/// names), `None` when no such table exists, else the whole table and the `IN` probe result.
struct Recorded {
    what: String,
    second: i64,
    tables: BTreeMap<String, Option<Truth>>,
}

struct Truth {
    names: Vec<String>,
    whole: Vec<CanonRow>,
    probed: Vec<CanonRow>,
}

/// Histories of DML, transactions and TRUNCATE; `b` keys differing in case and trailing spaces.
#[test]
fn reconstruction_equals_mariadb_at_every_commit() -> Result<()> {
    let plain = Features {
        renames: false,
        accents: false,
    };
    run_model(plain, "proptest-regressions/model_history.txt")
}

/// The full model: also RENAME TABLE there and back (with writes under the temporary name) and
/// accent-insensitive key pairs. Ignored while the two agent-core bugs pinned down by
/// [`renamed_table_exists_under_one_name_at_a_time`] and [`accent_insensitive_key_finds_the_row`]
/// stand; run with `--ignored`.
#[test]
fn reconstruction_equals_mariadb_across_renames_and_accents() -> Result<()> {
    let full = Features {
        renames: true,
        accents: true,
    };
    run_model(full, "proptest-regressions/model_history_full.txt")
}

/// Minimal history: `RENAME TABLE c TO c_tmp; RENAME TABLE c_tmp TO c`. MariaDB has no `c_tmp`
/// before the first rename nor after the second, and no `c` in between; agent-core answers both
/// names at every instant: the entry moved to the new name keeps the old entry's `from_seq`, and
/// `table_at` answers a seq before an entry's start with that entry (agent-core `index/mod.rs`,
/// `apply_table_op` / `table_at`).
#[test]
fn renamed_table_exists_under_one_name_at_a_time() -> Result<()> {
    let h = History {
        ops: vec![Op::RenameAway(Tbl::C, None)],
        probes: [vec![0], vec![0], vec![0]],
    };
    run_fixed(&h)
}

/// Minimal history: insert `b` key `(2, 'é')`, look up `(2, 'E')`. Under `utf8mb4_general_ci`
/// they are equal and MariaDB finds the row; agent-core's key encoding folds case but not accents
/// (agent-core `index/keys.rs`, `collation_form`), so the lookup finds nothing.
#[test]
fn accent_insensitive_key_finds_the_row() -> Result<()> {
    let h = History {
        ops: vec![Op::Auto(Dml::Upsert(Tbl::B, 6, 1))],
        probes: [vec![0], vec![7], vec![0]],
    };
    run_fixed(&h)
}

/// Runs one given history on a fresh MariaDB.
fn run_fixed(h: &History) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let db = MariaDb::start().await?;
        let start = SyntheticClock::start(&db).await?.last();
        run_case(&db, start, 0, h).await
    })
}

/// Runs the model with a fresh MariaDB shared by all cases; failures persist in `regressions`
/// (relative to the package directory).
fn run_model(features: Features, regressions: &'static str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let db = rt.block_on(MariaDb::start())?;
    let start = rt.block_on(SyntheticClock::start(&db))?.last();
    let config = ProptestConfig {
        cases: 10,
        max_shrink_iters: 24,
        max_shrink_time: 180_000,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    };
    let case_no = AtomicUsize::new(0);
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&history(features), |h| {
        let n = case_no.fetch_add(1, Ordering::Relaxed);
        rt.block_on(run_case(&db, start, n, &h))
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))
    });
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, h)) => {
            bail!("{reason}\nminimal failing history: {h:?}")
        }
        Err(TestError::Abort(reason)) => bail!("aborted: {reason}"),
    }
}

/// Runs one history in schema `m<n>` with commit seconds after `start`, then checks agent-core.
async fn run_case(db: &MariaDb, start: i64, n: usize, h: &History) -> Result<()> {
    let schema = format!("m{n}");
    let mut clock = SyntheticClock::after(start);
    let mut conn = db.admin_conn().await?;
    clock.tick(&mut conn).await?;
    conn.query_drop(format!("CREATE DATABASE {schema} CHARACTER SET utf8mb4"))
        .await?;
    conn.query_drop(format!("USE {schema}")).await?;
    for t in TABLES {
        conn.query_drop(t.create()).await?;
    }
    // One row per table first, so every table has captured history at every recorded instant.
    let seed: Vec<Dml> = TABLES.iter().map(|&t| Dml::Upsert(t, 0, 0)).collect();
    let mut recorded = Vec::new();
    commit(&mut conn, &mut clock, &seed, None).await?;
    recorded.push(record(&mut conn, &clock, "seed", h).await?);
    for op in &h.ops {
        match op {
            Op::Auto(d) => commit(&mut conn, &mut clock, std::slice::from_ref(d), None).await?,
            Op::Txn(ds) => commit(&mut conn, &mut clock, ds, None).await?,
            Op::Truncate(t) => {
                ddl(
                    &mut conn,
                    &mut clock,
                    &format!("TRUNCATE TABLE {}", t.name()),
                )
                .await?
            }
            Op::RenameAway(t, d) => {
                let (from, to) = (t.name(), format!("{}_tmp", t.name()));
                ddl(
                    &mut conn,
                    &mut clock,
                    &format!("RENAME TABLE {from} TO {to}"),
                )
                .await?;
                if let Some(d) = d {
                    recorded.push(record(&mut conn, &clock, &format!("{op:?} (away)"), h).await?);
                    commit(&mut conn, &mut clock, std::slice::from_ref(d), Some(*t)).await?;
                }
                recorded.push(record(&mut conn, &clock, &format!("{op:?} (renamed)"), h).await?);
                ddl(
                    &mut conn,
                    &mut clock,
                    &format!("RENAME TABLE {to} TO {from}"),
                )
                .await?;
            }
        }
        recorded.push(record(&mut conn, &clock, &format!("{op:?}"), h).await?);
    }
    conn.disconnect().await?;
    clock.wait_until_past().await;

    let agent = AgentCore::start(db, &[&schema]).await?;
    wait_caught_up_strict(&agent, db).await?;
    let mut mismatches = Vec::new();
    for rec in &recorded {
        for (table, truth) in &rec.tables {
            check(
                &agent,
                &schema,
                table,
                rec,
                truth.as_ref(),
                h,
                &mut mismatches,
            )
            .await?;
        }
    }
    if !mismatches.is_empty() {
        bail!(
            "{} mismatches in {schema} ({} commits):\n{}",
            mismatches.len(),
            recorded.len(),
            mismatches.join("\n")
        );
    }
    Ok(())
}

/// Runs `statements` in one transaction at the next synthetic second.
async fn commit(
    conn: &mut Conn,
    clock: &mut SyntheticClock,
    statements: &[Dml],
    renamed: Option<Tbl>,
) -> Result<()> {
    clock.tick(conn).await?;
    conn.query_drop("BEGIN").await?;
    for d in statements {
        let sql = d.sql(renamed);
        conn.query_drop(&sql).await.with_context(|| sql.clone())?;
    }
    conn.query_drop("COMMIT").await?;
    Ok(())
}

async fn ddl(conn: &mut Conn, clock: &mut SyntheticClock, sql: &str) -> Result<()> {
    clock.tick(conn).await?;
    conn.query_drop(sql).await.with_context(|| sql.to_owned())
}

/// MariaDB's contents of every table name right after the last commit.
async fn record(
    conn: &mut Conn,
    clock: &SyntheticClock,
    what: &str,
    h: &History,
) -> Result<Recorded> {
    let mut tables = BTreeMap::new();
    for (i, t) in TABLES.iter().enumerate() {
        for name in [t.name().to_owned(), format!("{}_tmp", t.name())] {
            tables.insert(name.clone(), truth(conn, *t, &name, &h.probes[i]).await?);
        }
    }
    Ok(Recorded {
        what: what.to_owned(),
        second: clock.last(),
        tables,
    })
}

/// Whole table and the `IN` probe (probe keys plus an absent one) of `name`, or `None` when the
/// table does not exist.
async fn truth(conn: &mut Conn, t: Tbl, name: &str, probes: &[usize]) -> Result<Option<Truth>> {
    let exists: Option<String> = conn
        .query_first(format!("SHOW TABLES LIKE '{name}'"))
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let order = t.pk();
    let (names, whole) =
        query_canon(conn, &format!("SELECT * FROM {name} ORDER BY {order}")).await?;
    let mut list: Vec<String> = probes
        .iter()
        .map(|&k| format!("({})", t.key_sql(k)))
        .collect();
    list.push(format!("({})", t.absent_key().0));
    let sql = format!(
        "SELECT * FROM {name} WHERE ({order}) IN ({}) ORDER BY {order}",
        list.join(", ")
    );
    let (_, probed) = query_canon(conn, &sql).await?;
    Ok(Some(Truth {
        names,
        whole,
        probed,
    }))
}

/// Compares agent-core with one recorded table state; appends differences to `out`.
async fn check(
    agent: &AgentCore,
    schema: &str,
    table: &str,
    rec: &Recorded,
    truth: Option<&Truth>,
    h: &History,
    out: &mut Vec<String>,
) -> Result<()> {
    let at = instant_after(rec.second);
    let here = format!("{table} after {}", rec.what);
    let t = TABLES
        .into_iter()
        .find(|t| table.starts_with(t.name()))
        .context("table name")?;
    let mut keys: Vec<Vec<ApiValue>> = h.probes[TABLES.iter().position(|x| *x == t).unwrap_or(0)]
        .iter()
        .map(|&k| t.key_values(k))
        .collect();
    keys.push(t.absent_key().1);
    let whole = flashback(agent, schema, table, at, whole_table()).await;
    let probed = flashback(agent, schema, table, at, KeyPredicate::In(keys)).await;
    let Some(truth) = truth else {
        for (what, answer) in [("whole table", &whole), ("IN", &probed)] {
            match answer {
                Err(e) if is_table_not_found(e) => {}
                Err(e) => out.push(format!("{here}, {what}: absent table answered {e:#}")),
                Ok(r) => out.push(format!(
                    "{here}, {what}: table does not exist in MariaDB, agent-core answered {} rows",
                    r.rows.len()
                )),
            }
        }
        return Ok(());
    };
    for (what, answer, want) in [
        ("whole table", whole, &truth.whole),
        ("IN", probed, &truth.probed),
    ] {
        let answer = answer.with_context(|| format!("{here}, {what}"))?;
        let names: Vec<String> = answer.columns.iter().map(|c| c.name.clone()).collect();
        if names != truth.names {
            out.push(format!(
                "{here}, {what}: columns {names:?}, MariaDB has {:?}",
                truth.names
            ));
        }
        let got: Vec<CanonRow> = answer.rows.iter().map(|r| agent_row(r)).collect();
        for d in diff_rows(&truth.names, want, &got) {
            let mut line = format!("{here}, {what}: {d}");
            if got.len() != want.len() {
                let _ = write!(line, " (want {want:?}, got {got:?})");
            }
            out.push(line);
        }
    }
    Ok(())
}

/// Whether a flashback failed with `TableNotFound`.
fn is_table_not_found(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<ClientError>(),
        Some(ClientError::Http { body: Some(body), .. }) if body.error.code == ErrorCode::TableNotFound
    )
}
