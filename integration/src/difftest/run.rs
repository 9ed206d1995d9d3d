//! A run: batches of generated histories written to the source and their twins, then agent-core
//! and the shim started on a fresh data dir, and every question asked of both at every instant.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use super::compare::{compare, set_names, Answer, Session};
use super::dims::{ClientCharset, Dims, KeyKind, Protocol, QueryKind};
use super::gen::{self, History};
use super::writer::{self, Placed};
use crate::history::{wait_caught_up_strict, SyntheticClock};
use crate::{AgentCore, MariaDb, Shim, Tenant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seed of the whole run; history `i` uses a seed derived from it ([`history_seed`]).
    pub seed: u64,
    /// Number of histories.
    pub histories: usize,
    /// Histories written and checked together (one agent-core per batch).
    pub batch: usize,
    /// Transactions per history (inclusive range).
    pub length: (usize, usize),
    /// Dimensions.
    pub dims: Dims,
    /// Session `time_zone` of both clients, a fixed offset such as `+05:30`.
    pub time_zone: String,
    /// First history index (a run over `first..first + histories`; replays use one index).
    pub first: usize,
    /// Schema name prefix (distinct per run on a shared server).
    pub prefix: String,
}

/// One question at one instant of one history, under one protocol and client charset: what a
/// shrink attempt or a replay asks instead of the generated questions.
#[derive(Debug, Clone)]
pub struct Focus {
    /// The transaction after which it is asked.
    pub tx: usize,
    /// The question.
    pub question: Question,
    /// Protocol.
    pub protocol: Protocol,
    /// Client charset.
    pub charset: ClientCharset,
}

impl Config {
    /// A config with the given seed, histories and dimensions, other fields at their defaults.
    pub fn new(seed: u64, histories: usize, dims: Dims) -> Self {
        Self {
            seed,
            histories,
            batch: 6,
            length: (8, 18),
            dims,
            time_zone: "+00:00".to_owned(),
            first: 0,
            prefix: "dt".to_owned(),
        }
    }
}

/// The seed of history `index` of a run with `seed` (splitmix64 of both).
pub fn history_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One question, as templates: `{asof}` is the instant's literal, `{twin}` the twin table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Its kind.
    pub kind: QueryKind,
    /// The source table name asked about (`t` or `r`).
    pub name: &'static str,
    /// What the shim is asked.
    pub shim: String,
    /// What MariaDB is asked.
    pub native: String,
}

impl Question {
    /// The two statements at an instant.
    pub fn render(&self, asof: &str, twin: &str) -> (String, String) {
        let r = |s: &str| s.replace("{asof}", asof).replace("{twin}", twin);
        (r(&self.shim), r(&self.native))
    }
}

/// One mismatch between the shim and MariaDB.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// `<what> <column type>`, e.g. `coldef.charset varchar/latin1`.
    pub class: String,
    /// History index in the run.
    pub history: usize,
    /// Transaction after which the question was asked.
    pub tx: usize,
    /// The question.
    pub question: Question,
    /// Protocol.
    pub protocol: Protocol,
    /// Client charset.
    pub charset: ClientCharset,
    /// The statements as sent (shim, MariaDB).
    pub sent: (String, String),
    /// Expected vs got.
    pub detail: String,
    /// MariaDB's whole answer (at most [`SHOWN_ROWS`] rows).
    pub expected: String,
    /// The shim's whole answer (at most [`SHOWN_ROWS`] rows).
    pub got: String,
}

/// Rows of an answer kept in a mismatch.
pub const SHOWN_ROWS: usize = 30;

/// Totals and findings of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Histories written.
    pub histories: usize,
    /// Instants questions were asked at.
    pub instants: usize,
    /// Answers compared (question × protocol × client charset).
    pub compared: usize,
    /// Every mismatch.
    pub mismatches: Vec<Mismatch>,
    /// Histories whose twin diverged from the source (their questions are skipped).
    pub divergences: Vec<String>,
    /// The placed histories (for repro files), by index.
    pub placed: BTreeMap<usize, Placed>,
}

impl Report {
    /// Mismatches grouped by class: class → indexes into `mismatches`.
    pub fn classes(&self) -> BTreeMap<String, Vec<usize>> {
        let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in self.mismatches.iter().enumerate() {
            out.entry(m.class.clone()).or_default().push(i);
        }
        out
    }

    /// A summary: counts, then per class its count, where it was seen and its first example.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "histories {}, instants {}, compared answers {}, mismatches {} in {} classes, \
             oracle divergences {}\n",
            self.histories,
            self.instants,
            self.compared,
            self.mismatches.len(),
            self.classes().len(),
            self.divergences.len()
        );
        for d in &self.divergences {
            let _ = writeln!(s, "  DIVERGENCE {d}");
        }
        for (class, idx) in self.classes() {
            let ms: Vec<&Mismatch> = idx.iter().map(|i| &self.mismatches[*i]).collect();
            let set = |f: &dyn Fn(&Mismatch) -> String| {
                ms.iter()
                    .map(|m| f(m))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let m = ms[0];
            let _ = writeln!(
                s,
                "MISMATCH [{class}] ×{} (queries {}; protocols {}; charsets {})\n  \
                 history {} after transaction {}\n  shim:    {}\n  mariadb: {}\n  {}",
                ms.len(),
                set(&|m| m.question.kind.to_string()),
                set(&|m| m.protocol.to_string()),
                set(&|m| m.charset.to_string()),
                m.history,
                m.tx,
                m.sent.0,
                m.sent.1,
                m.detail
            );
        }
        s
    }
}

/// Runs `config` on `db` (a server the caller started with the options it wants). `log` gets
/// one line per phase and per batch.
pub async fn run(db: &MariaDb, config: &Config, log: &mut dyn FnMut(&str)) -> Result<Report> {
    let mut report = Report::default();
    let mut after = 0i64;
    let indexes: Vec<usize> = (config.first..config.first + config.histories).collect();
    for batch in indexes.chunks(config.batch.max(1)) {
        let histories: Vec<(usize, History)> =
            batch.iter().map(|&i| (i, generate(config, i))).collect();
        for (i, h) in &histories {
            log(&format!(
                "history {i} (seed {}): {} transactions; {}",
                history_seed(config.seed, *i),
                h.txs.len(),
                h.summary
            ));
        }
        after = run_batch(db, config, histories, after, &mut report, log).await?;
    }
    Ok(report)
}

/// History `index` of the run.
pub fn generate(config: &Config, index: usize) -> History {
    let mut rng = StdRng::seed_from_u64(history_seed(config.seed, index));
    let len = rng.random_range(config.length.0..=config.length.1.max(config.length.0));
    gen::history(&mut rng, &config.dims, len)
}

/// Writes one batch, checks it, adds to `report`; returns the last second used.
pub async fn run_batch(
    db: &MariaDb,
    config: &Config,
    histories: Vec<(usize, History)>,
    after: i64,
    report: &mut Report,
    log: &mut dyn FnMut(&str),
) -> Result<i64> {
    run_batch_focused(db, config, histories, &BTreeMap::new(), after, report, log).await
}

/// [`run_batch`] where the histories named in `focus` are asked only their focus question.
pub async fn run_batch_focused(
    db: &MariaDb,
    config: &Config,
    histories: Vec<(usize, History)>,
    focus: &BTreeMap<usize, Focus>,
    after: i64,
    report: &mut Report,
    log: &mut dyn FnMut(&str),
) -> Result<i64> {
    let base = writer::next_base(db, after).await?;
    let placed = writer::write_batch(db, histories, &config.prefix, base).await?;
    let last = placed
        .iter()
        .flat_map(|p| p.instants.last().map(|i| i.second))
        .max()
        .unwrap_or(base);
    SyntheticClock::after(last).wait_until_past().await;
    let schemas: Vec<&str> = placed.iter().map(|p| p.src.as_str()).collect();
    let agent = AgentCore::start(db, &schemas).await?;
    wait_caught_up_strict(&agent, db).await?;
    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let offset = parse_offset(&config.time_zone)?;
    for p in &placed {
        report.histories += 1;
        if !p.divergences.is_empty() {
            report.divergences.extend(
                p.divergences
                    .iter()
                    .map(|d| format!("history {}: {d}", p.index)),
            );
            continue;
        }
        let before = report.mismatches.len();
        check_history(db, &shim, config, p, offset, focus.get(&p.index), report).await?;
        log(&format!(
            "history {}: {} instants, {} mismatches so far",
            p.index,
            p.instants.len(),
            report.mismatches.len() - before
        ));
        report.placed.insert(p.index, p.clone());
    }
    drop(shim);
    drop(agent);
    Ok(last)
}

/// `+05:30` → 19800 seconds.
pub fn parse_offset(tz: &str) -> Result<i64> {
    let (sign, rest) = match tz.as_bytes().first() {
        Some(b'-') => (-1, &tz[1..]),
        Some(b'+') => (1, &tz[1..]),
        _ => anyhow::bail!("time zone {tz:?} is not a ±HH:MM offset"),
    };
    let (h, m) = rest
        .split_once(':')
        .with_context(|| format!("time zone {tz:?} is not a ±HH:MM offset"))?;
    Ok(sign * (h.parse::<i64>()? * 3600 + m.parse::<i64>()? * 60))
}

/// The `AS OF` literal of the instant half a second after `second`, as wall time at `offset`.
pub fn asof_literal(second: i64, offset: i64) -> String {
    agent_api::time::format_unix_micros((second + offset) * 1_000_000 + 500_000)
}

/// Column type tags of a twin table, in `SELECT *` order (`varchar/latin1`, `int unsigned`).
async fn type_tags(conn: &mut mysql_async::Conn, schema: &str, table: &str) -> Result<Vec<String>> {
    let rows: Vec<(String, Option<String>, String)> = conn
        .exec(
            "SELECT COLUMN_TYPE, CHARACTER_SET_NAME, IS_GENERATED FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME NOT IN ('row_start', 'row_end') \
             ORDER BY ORDINAL_POSITION",
            (schema, table),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(ty, cs, generated)| {
            let base: String = ty
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let mut tag = base;
            if ty.contains("unsigned") {
                tag.push_str(" unsigned");
            }
            if let Some(cs) = cs {
                tag.push('/');
                tag.push_str(&cs);
            }
            if generated != "NEVER" {
                tag.push_str(" generated");
            }
            tag
        })
        .collect())
}

/// The questions at one instant for name `name` (present: `Some(twin table)`).
pub fn questions(
    rng: &mut StdRng,
    dims: &Dims,
    h: &History,
    name: &'static str,
    present: bool,
) -> Vec<Question> {
    let q = |kind, shim: String, native: String| Question {
        kind,
        name,
        shim,
        native,
    };
    if !present {
        if !dims.queries.contains(&QueryKind::Absent) {
            return Vec::new();
        }
        return vec![q(
            QueryKind::Absent,
            format!("SELECT * FROM _snapshot.`{name}` AS OF '{{asof}}'"),
            format!("SELECT * FROM `{name}__absent` FOR SYSTEM_TIME AS OF TIMESTAMP '{{asof}}'"),
        )];
    }
    let mut out = Vec::new();
    let native_from = "`{twin}` FOR SYSTEM_TIME AS OF TIMESTAMP '{asof}'";
    if dims.queries.contains(&QueryKind::Snapshot) {
        out.push(q(
            QueryKind::Snapshot,
            format!("SELECT * FROM _snapshot.`{name}` AS OF '{{asof}}'"),
            format!("SELECT * FROM {native_from}"),
        ));
    }
    let keyed = h.key.kind != KeyKind::None;
    if keyed && dims.queries.contains(&QueryKind::FlashbackIn) {
        let n = rng.random_range(1..=h.key.domain.len().min(4));
        let picked: Vec<&Vec<String>> = h.key.domain.choose_multiple(rng, n).collect();
        let pred = h.key.in_predicate(&picked);
        out.push(q(
            QueryKind::FlashbackIn,
            format!("SELECT * FROM _flashback.`{name}` AS OF '{{asof}}' WHERE {pred}"),
            format!("SELECT * FROM {native_from} WHERE {pred}"),
        ));
    }
    if keyed && dims.queries.contains(&QueryKind::FlashbackRange) {
        let col = &h.key.columns[0].name;
        let a = &h.key.domain.choose(rng).expect("domain")[0];
        let b = &h.key.domain.choose(rng).expect("domain")[0];
        let pred = if a == "NULL" || b == "NULL" {
            format!("`{col}` >= {}", if a == "NULL" { b } else { a })
        } else {
            format!("`{col}` BETWEEN {a} AND {b}")
        };
        out.push(q(
            QueryKind::FlashbackRange,
            format!("SELECT * FROM _flashback.`{name}` AS OF '{{asof}}' WHERE {pred}"),
            format!("SELECT * FROM {native_from} WHERE {pred}"),
        ));
    }
    out
}

/// Asks every question of one history at every instant, under every client charset and
/// protocol; adds counts and mismatches to `report`.
async fn check_history(
    db: &MariaDb,
    shim: &Shim,
    config: &Config,
    p: &Placed,
    offset: i64,
    focus: Option<&Focus>,
    report: &mut Report,
) -> Result<()> {
    let dims = &config.dims;
    let charsets: Vec<ClientCharset> = match focus {
        Some(f) => vec![f.charset],
        None => dims.client_charsets.iter().copied().collect(),
    };
    let protocols: Vec<Protocol> = match focus {
        Some(f) => vec![f.protocol],
        None => dims.protocols.iter().copied().collect(),
    };
    let mut admin = db.admin_conn().await?;
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let tz = format!("SET time_zone = '{}'", config.time_zone);
    // Names that exist at some instant: only those are asked about while absent.
    let ever: BTreeSet<&str> = p
        .instants
        .iter()
        .flat_map(|i| {
            i.tables
                .iter()
                .filter(|(_, t)| t.is_some())
                .map(|(n, _)| *n)
        })
        .collect();
    for &cs in &charsets {
        let mut shim_s = Session::new(
            shim.mysql_opts("app", "app", Some(&p.src)),
            vec![set_names(cs), tz.clone()],
        );
        let (user, pass) = crate::mariadb::APP_USER;
        let mut native_s = Session::new(
            db.tcp_opts(user, pass, Some(&p.twin)),
            vec![set_names(cs), tz.clone()],
        );
        let written = p.incarnation_written();
        for inst in &p.instants {
            if !dims.unwritten && !written[inst.tx] {
                continue;
            }
            if focus.is_some_and(|f| f.tx != inst.tx) {
                continue;
            }
            report.instants += usize::from(cs == charsets[0]);
            let asof = asof_literal(inst.second, offset);
            let mut rng = StdRng::seed_from_u64(
                history_seed(config.seed, p.index) ^ (inst.tx as u64).wrapping_mul(7919),
            );
            for (name, twin) in &inst.tables {
                if twin.is_none() && !ever.contains(name) {
                    continue;
                }
                let twin_table = twin.clone().unwrap_or_default();
                let asked = match focus {
                    Some(f) if f.question.name == *name => vec![f.question.clone()],
                    Some(_) => Vec::new(),
                    None => questions(&mut rng, dims, &p.history, name, twin.is_some()),
                };
                for question in asked {
                    let (shim_sql, native_sql) = question.render(&asof, &twin_table);
                    for &protocol in &protocols {
                        let want = native_s.ask(&native_sql, protocol).await;
                        let got = shim_s.ask(&shim_sql, protocol).await;
                        report.compared += 1;
                        let diffs = compare(&want, &got, &dims.coldefs);
                        if diffs.is_empty() {
                            continue;
                        }
                        if !tags.contains_key(&twin_table) && !twin_table.is_empty() {
                            let t = type_tags(&mut admin, &p.twin, &twin_table).await?;
                            tags.insert(twin_table.clone(), t);
                        }
                        let table_tags = tags.get(&twin_table).cloned().unwrap_or_default();
                        for d in diffs {
                            let mut classes: Vec<String> = d
                                .columns
                                .iter()
                                .map(|i| {
                                    let tag = table_tags.get(*i).map_or("?", String::as_str);
                                    format!("{} {tag}", d.what)
                                })
                                .collect::<BTreeSet<_>>()
                                .into_iter()
                                .collect();
                            if classes.is_empty() {
                                classes.push(format!("{} ({})", d.what, question.kind));
                            }
                            for class in classes {
                                report.mismatches.push(Mismatch {
                                    class,
                                    history: p.index,
                                    tx: inst.tx,
                                    question: question.clone(),
                                    protocol,
                                    charset: cs,
                                    sent: (shim_sql.clone(), native_sql.clone()),
                                    detail: d.detail.clone(),
                                    expected: show_answer(&want),
                                    got: show_answer(&got),
                                });
                            }
                        }
                    }
                }
            }
        }
        shim_s.close().await;
        native_s.close().await;
    }
    admin.disconnect().await.ok();
    Ok(())
}

/// A mismatch's answer pair re-asked, for repro files: both answers in full.
pub fn show_answer(a: &Answer) -> String {
    match a {
        Answer::Error {
            code,
            state,
            message,
        } => format!("ERROR {code} ({state}): {message}\n"),
        Answer::Rows { columns, rows } => {
            let mut s = String::new();
            for c in columns {
                let _ = writeln!(
                    s,
                    "column {} org_name={} type={:?} flags={:?} length={} decimals={} charset={}",
                    c.name_str(),
                    c.org_name_str(),
                    c.column_type(),
                    c.flags(),
                    c.column_length(),
                    c.decimals(),
                    c.character_set()
                );
            }
            for r in rows.iter().take(SHOWN_ROWS) {
                let cells: Vec<String> = r.iter().map(super::compare::show_value).collect();
                let _ = writeln!(s, "row {}", cells.join(" | "));
            }
            let _ = writeln!(s, "({} rows)", rows.len());
            s
        }
    }
}
