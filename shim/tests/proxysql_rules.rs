//! The ProxySQL query rules compiled as ProxySQL compiles them (PCRE, CASELESS, partial match)
//! and evaluated as ProxySQL evaluates them (ascending `rule_id`, `schemaname` filter, `apply`)
//! over `proxysql/corpus/{route,stay}.txt`.

use std::collections::BTreeSet;

use dbtrail_shim::proxysql::{query_rules, QueryRule};
use pcre2::bytes::{Regex, RegexBuilder};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../proxysql/corpus");
const CNF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../proxysql/proxysql.cnf");

/// One corpus statement.
struct Entry {
    line: usize,
    schema: Option<String>,
    sql: String,
}

/// Parses the corpus format described at the top of `route.txt`.
fn load(name: &str) -> Vec<Entry> {
    let path = format!("{CORPUS}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut entries = Vec::new();
    let mut block: Option<(usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if let Some((start, lines)) = block.as_mut() {
            if line == ">>>" {
                let sql = lines.join("\n");
                entries.push(entry(*start, &sql));
                block = None;
            } else {
                lines.push(line);
            }
            continue;
        }
        match line {
            "<<<" => block = Some((line_no, Vec::new())),
            l if l.trim().is_empty() || l.starts_with('%') => {}
            l => entries.push(entry(line_no, l)),
        }
    }
    assert!(block.is_none(), "{name}: unterminated <<< block");
    entries
}

fn entry(line: usize, text: &str) -> Entry {
    match text
        .strip_prefix("[schema=")
        .and_then(|rest| rest.split_once("] "))
    {
        Some((schema, sql)) => Entry {
            line,
            schema: Some(schema.to_owned()),
            sql: sql.to_owned(),
        },
        None => Entry {
            line,
            schema: None,
            sql: text.to_owned(),
        },
    }
}

/// Compiles a pattern the way ProxySQL does with `re_modifiers='CASELESS'`: PCRE, caseless,
/// no UTF, no DOTALL / MULTILINE / EXTENDED.
fn compile(pattern: &str) -> Regex {
    RegexBuilder::new()
        .caseless(true)
        .build(pattern)
        .unwrap_or_else(|e| panic!("pattern does not compile: {e}\n{pattern}"))
}

struct Compiled {
    rule: &'static QueryRule,
    regex: Option<Regex>,
}

fn compiled() -> Vec<Compiled> {
    query_rules()
        .iter()
        .map(|rule| Compiled {
            rule,
            regex: rule.match_pattern.map(compile),
        })
        .collect()
}

/// The id of the rule that decides the statement's route, `None` when no rule applies (the
/// statement goes to the user's default hostgroup, the real MySQL).
fn route(rules: &[Compiled], schema: Option<&str>, sql: &str) -> Option<u32> {
    for c in rules {
        if let Some(wanted) = c.rule.schemaname {
            if schema != Some(wanted) {
                continue;
            }
        }
        if let Some(regex) = &c.regex {
            let hit = regex
                .is_match(sql.as_bytes())
                .unwrap_or_else(|e| panic!("rule {} failed to run: {e}\n{sql}", c.rule.id));
            if !hit {
                continue;
            }
        }
        if c.rule.apply {
            return Some(c.rule.id);
        }
    }
    None
}

#[test]
fn corpus_is_large_enough() {
    let total = load("route.txt").len() + load("stay.txt").len();
    assert!(total >= 100, "only {total} statements");
}

#[test]
fn every_route_statement_reaches_the_shim() {
    let rules = compiled();
    let failures: Vec<String> = load("route.txt")
        .iter()
        .filter(|e| route(&rules, e.schema.as_deref(), &e.sql).is_none())
        .map(|e| format!("route.txt:{}: {}", e.line, e.sql))
        .collect();
    assert!(
        failures.is_empty(),
        "stayed on MySQL:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_stay_statement_stays_on_mysql() {
    let rules = compiled();
    let failures: Vec<String> = load("stay.txt")
        .iter()
        .filter_map(|e| {
            route(&rules, e.schema.as_deref(), &e.sql)
                .map(|id| format!("stay.txt:{}: rule {id}: {}", e.line, e.sql))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "sent to the shim:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_rule_is_exercised_by_the_corpus() {
    let rules = compiled();
    let hit: BTreeSet<u32> = load("route.txt")
        .iter()
        .filter_map(|e| route(&rules, e.schema.as_deref(), &e.sql))
        .collect();
    let all: BTreeSet<u32> = query_rules().iter().map(|r| r.id).collect();
    let unused: Vec<_> = all.difference(&hit).collect();
    assert!(
        unused.is_empty(),
        "rules never deciding a route: {unused:?}"
    );
}

/// Each content rule on its own, so that a later rule cannot hide a hole in an earlier one.
#[test]
fn content_rules_hold_individually() {
    let rules = compiled();
    let expect = [
        (
            9120,
            "SELECT * FROM _flashback.orders AS OF '2026-04-27' WHERE id = 1",
            true,
        ),
        (
            9120,
            "SELECT * FROM t WHERE a = 'x _flashback.orders'",
            false,
        ),
        (
            9130,
            "SELECT /*+ DBTRAIL_AT='2026-04-27' */ * FROM t WHERE id = 1",
            true,
        ),
        (9130, "SELECT '/*+ DBTRAIL_AT=''x'' */' FROM t", false),
        (
            9140,
            "SELECT * FROM t FOR SYSTEM_TIME AS OF '2026-04-27'",
            true,
        ),
        (9140, "SELECT 'FOR SYSTEM_TIME AS OF x' FROM t", false),
        (
            9150,
            "SELECT * FROM t WHERE id = 1 AS OF '2026-04-27'",
            true,
        ),
        (
            9150,
            "SELECT * FROM t WHERE a = 'AS OF ''x''' AND id = 1",
            false,
        ),
        (
            9150,
            "SELECT * FROM _flashback.t AS OF '2026-04-27' WHERE id = 1",
            false,
        ),
        (9111, "SHOW TABLES FROM _diff", true),
        (9110, "USE _snapshot", true),
    ];
    for (id, sql, want) in expect {
        let c = rules.iter().find(|c| c.rule.id == id).expect("rule exists");
        let regex = c.regex.as_ref().expect("content rule");
        assert_eq!(
            regex.is_match(sql.as_bytes()).ok(),
            Some(want),
            "rule {id}: {sql}"
        );
    }
}

/// ProxySQL hands the whole query text to PCRE: a multi-megabyte INSERT must be scanned in
/// linear time, without hitting PCRE's match limit.
#[test]
fn huge_statements_match_without_backtracking() {
    let rules = compiled();
    let mut sql = String::from("INSERT INTO notes (id, body) VALUES ");
    for i in 0..100_000 {
        sql.push_str(&format!("({i}, 'as of _flashback. a\\'s -- x /* y'), "));
    }
    sql.push_str("(0, 'end')");
    let started = std::time::Instant::now();
    assert_eq!(route(&rules, None, &sql), None);
    let with_reference = format!("{sql} /* */ , (SELECT 1 FROM _flashback.t WHERE id = 1)");
    assert_eq!(route(&rules, None, &with_reference), Some(9120));
    let elapsed = started.elapsed();
    assert!(
        elapsed.as_secs() < 20,
        "{} bytes took {elapsed:?}",
        sql.len()
    );
}

/// `proxysql.cnf` carries the same patterns, in libconfig string escaping.
#[test]
fn cnf_example_carries_the_same_rules() {
    let cnf = std::fs::read_to_string(CNF).expect("proxysql.cnf is readable");
    for rule in query_rules() {
        assert!(
            cnf.contains(&format!("rule_id={}", rule.id)),
            "rule {} missing",
            rule.id
        );
        if let Some(pattern) = rule.match_pattern {
            let escaped = pattern.replace('\\', "\\\\").replace('"', "\\\"");
            let line = format!("match_pattern=\"{escaped}\"");
            assert!(cnf.contains(&line), "rule {}: expected\n{line}", rule.id);
        }
        if let Some(schema) = rule.schemaname {
            assert!(cnf.contains(&format!("schemaname=\"{schema}\"")));
        }
    }
}
