//! The `mysql_query_rules` rows that send time-travel SQL to the shim's hostgroup.
//!
//! ProxySQL 2.x compiles `match_pattern` with PCRE (`mysql-query_processor_regex=1`, the default)
//! through `pcrecpp::RE`, sets only the CASELESS option when the rule's `re_modifiers` contains
//! `CASELESS` (the column default), and tests it with `PartialMatch` against the raw query text:
//! no DOTALL, no MULTILINE, no EXTENDED. The patterns below therefore never use `.` (it would stop
//! at a newline), anchor with `^` / `$` only at the ends of the whole text, and spell both cases
//! in every character class so that they do not depend on CASELESS either.
//!
//! # How string literals are kept out
//! A pattern that looks for `_flashback.` anywhere would also match
//! `WHERE note = 'see _flashback.orders'`. Every content rule is instead anchored at `^` and walks
//! the statement as a sequence of units, each consumed possessively (no backtracking):
//! a run of ordinary characters, a `'...'` / `"..."` literal (backslash escapes and doubled quotes),
//! a `` `...` `` identifier, a `/* */` or `#` / `-- ` comment, or one "interesting" character where
//! the rule's token does not start. The walk stops at the first place where the token starts
//! outside literals and comments, and the token must match exactly there. Matching is linear in the
//! statement length.
//!
//! # Why `;` is written `\x3b`
//! The admin script and `proxysql.cnf` carry the patterns inside SQL / libconfig strings. A `;`
//! inside them would be the only `;` in the script that is not a statement terminator, which
//! breaks every tool that splits SQL on `;` without parsing quotes. PCRE reads `\x3b` as the same
//! byte, so the rules never contain a literal `;`. For the same reason the patterns contain no
//! comment openers or closers: `#` is written `\x23`, `--` is `-{2}`, and `*/` is `*\/`.

/// The hostgroup a rule sends its statements to. Our rules only ever name the shim: everything
/// else reaches MySQL through the users' `default_hostgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The hostgroup holding the `dbtrail-shim` servers ([`super::ScriptOptions::shim_hostgroup`]).
    Shim,
}

/// One row of `mysql_query_rules` as this product installs it (`active=1`,
/// `re_modifiers='CASELESS'`, `flagIN=0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryRule {
    /// `rule_id`, inside the reserved range [`RULE_ID_MIN`]..=[`RULE_ID_MAX`]; ProxySQL evaluates
    /// rules by ascending id.
    pub id: u32,
    /// `schemaname`: when set, the rule matches only while the client's default schema is this
    /// one (after `USE` / COM_INIT_DB, which ProxySQL handles itself without a query rule).
    pub schemaname: Option<&'static str>,
    /// `match_pattern`: a PCRE tested with partial-match semantics against the raw query text.
    pub match_pattern: Option<&'static str>,
    /// `destination_hostgroup`.
    pub destination: Destination,
    /// `apply`: when true a match ends rule evaluation.
    pub apply: bool,
    /// `comment`, shown in `runtime_mysql_query_rules`.
    pub comment: &'static str,
}

/// Lowest `rule_id` reserved for this product; the admin script deletes the whole range.
pub const RULE_ID_MIN: u32 = 9100;
/// Highest `rule_id` reserved for this product.
pub const RULE_ID_MAX: u32 = 9199;

/// The virtual schemas the shim serves.
pub const VIRTUAL_SCHEMAS: [&str; 3] = ["_flashback", "_diff", "_snapshot"];

/// A `'...'` literal: backslash escapes and doubled quotes.
macro_rules! sq {
    () => {
        r"'(?:[^'\\]++|\\[\s\S]|'')*+'"
    };
}
/// A `"..."` literal (a string in MySQL's default `sql_mode`).
macro_rules! dq {
    () => {
        r#""(?:[^"\\]++|\\[\s\S]|"")*+""#
    };
}
/// A `` `...` `` quoted identifier with doubled backticks.
macro_rules! bq {
    () => {
        r"`(?:[^`]++|``)*+`"
    };
}
/// A `/* ... */` comment (also optimizer hints `/*+ */` and `/*! */`).
macro_rules! bc {
    () => {
        r"/\*(?:[^*]++|\*(?!\/))*+\*\/"
    };
}
/// A `# ...` or `-- ...` comment up to the end of the line.
macro_rules! lc {
    () => {
        r"(?:\x23|-{2}(?=\s))[^\n]*+"
    };
}
/// A `/` or `-` that does not open a comment.
macro_rules! lone_punct {
    () => {
        r"/(?!\*)|-(?!-\s)"
    };
}
/// Whitespace and comments.
macro_rules! gap {
    () => {
        concat!(r"(?:\s++|", bc!(), "|", lc!(), ")*+")
    };
}
/// A virtual schema name, bare (not part of a longer identifier) or backticked.
macro_rules! vs_name {
    () => {
        r"(?:(?<![\w$])_(?:flashback|diff|snapshot)(?![\w$])|`_(?:flashback|diff|snapshot)`)"
    };
}
/// Reference token: a virtual schema qualifying a table.
macro_rules! ref_token {
    () => {
        concat!(vs_name!(), r"\s*+\.")
    };
}
/// Hint token: `/*+ ... DBTRAIL_AT =` inside one optimizer-hint comment.
macro_rules! hint_token {
    () => {
        r"/\*\+(?:[^*]|\*(?!\/))*?(?<![\w$])DBTRAIL_AT\s*+="
    };
}
/// `FOR SYSTEM_TIME AS OF` token.
macro_rules! system_time_token {
    () => {
        r"(?<![\w$])[fF][oO][rR]\s++SYSTEM_TIME\s++AS\s++OF(?![\w$])"
    };
}
/// Statement-final `AS OF [TIMESTAMP] '<time>'` token, up to the end of the text.
macro_rules! final_as_of_token {
    () => {
        concat!(
            r"(?<![\w$])[aA][sS]\s++OF\s++(?:TIMESTAMP\s*+)?(?:",
            sq!(),
            "|",
            dq!(),
            ")",
            gap!(),
            r"(?:\x3b",
            gap!(),
            ")?$"
        )
    };
}

/// Rule 9120: `_flashback.` / `_diff.` / `_snapshot.` (bare or backticked) outside literals and
/// comments.
pub const REFERENCE_PATTERN: &str = concat!(
    r#"^(?:[^'"`/\x23_-]++|"#,
    sq!(),
    "|",
    dq!(),
    "|(?!",
    ref_token!(),
    ")",
    bq!(),
    "|",
    bc!(),
    "|",
    lc!(),
    "|(?!",
    ref_token!(),
    ")_|",
    lone_punct!(),
    ")*+",
    ref_token!()
);

/// Rule 9130: an optimizer-hint comment `/*+ ... DBTRAIL_AT = ... */` outside literals.
pub const HINT_PATTERN: &str = concat!(
    r#"^(?:[^'"`/\x23-]++|"#,
    sq!(),
    "|",
    dq!(),
    "|",
    bq!(),
    "|(?!",
    hint_token!(),
    ")",
    bc!(),
    "|",
    lc!(),
    "|",
    lone_punct!(),
    ")*+",
    hint_token!()
);

/// Rule 9140: `FOR SYSTEM_TIME AS OF` outside literals and comments.
pub const SYSTEM_TIME_PATTERN: &str = concat!(
    r#"^(?:[^'"`/\x23fF-]++|"#,
    sq!(),
    "|",
    dq!(),
    "|",
    bq!(),
    "|",
    bc!(),
    "|",
    lc!(),
    "|(?!",
    system_time_token!(),
    ")[fF]|",
    lone_punct!(),
    ")*+",
    system_time_token!()
);

/// Rule 9150: the statement ends with `AS OF '<time>'` (optionally `TIMESTAMP`, trailing
/// comments and one `;`), the `AS OF` being outside literals and comments.
pub const FINAL_AS_OF_PATTERN: &str = concat!(
    r#"^(?:[^'"`/\x23aA-]++|"#,
    sq!(),
    "|",
    dq!(),
    "|",
    bq!(),
    "|",
    bc!(),
    "|",
    lc!(),
    "|(?!",
    final_as_of_token!(),
    ")[aA]|",
    lone_punct!(),
    ")*+",
    final_as_of_token!()
);

/// Rule 9110: `USE <virtual schema>` sent as a query. ProxySQL normally answers `USE` itself;
/// the rule is a safety net for versions or paths that forward it.
pub const USE_PATTERN: &str = concat!(
    "^",
    gap!(),
    r"USE\s++",
    vs_name!(),
    gap!(),
    r"(?:\x3b",
    gap!(),
    ")?$"
);

/// Rule 9111: `SHOW [FULL] TABLES FROM|IN <virtual schema> ...` (leading comments allowed).
pub const SHOW_TABLES_PATTERN: &str = concat!(
    "^",
    gap!(),
    r"SHOW\s++(?:FULL\s++)?TABLES\s++(?:FROM|IN)\s++",
    vs_name!()
);

static RULES: [QueryRule; 9] = [
    schema_rule(9100, "_flashback"),
    schema_rule(9101, "_diff"),
    schema_rule(9102, "_snapshot"),
    pattern_rule(9110, USE_PATTERN, "dbtrail: USE of a virtual schema"),
    pattern_rule(
        9111,
        SHOW_TABLES_PATTERN,
        "dbtrail: SHOW [FULL] TABLES FROM|IN a virtual schema",
    ),
    pattern_rule(
        9120,
        REFERENCE_PATTERN,
        "dbtrail: _flashback. / _diff. / _snapshot. outside literals",
    ),
    pattern_rule(9130, HINT_PATTERN, "dbtrail: DBTRAIL_AT optimizer hint"),
    pattern_rule(9140, SYSTEM_TIME_PATTERN, "dbtrail: FOR SYSTEM_TIME AS OF"),
    pattern_rule(
        9150,
        FINAL_AS_OF_PATTERN,
        "dbtrail: statement-final AS OF '<time>'",
    ),
];

const fn schema_rule(id: u32, schema: &'static str) -> QueryRule {
    QueryRule {
        id,
        schemaname: Some(schema),
        match_pattern: None,
        destination: Destination::Shim,
        apply: true,
        comment: "dbtrail: default schema is a virtual schema",
    }
}

const fn pattern_rule(id: u32, pattern: &'static str, comment: &'static str) -> QueryRule {
    QueryRule {
        id,
        schemaname: None,
        match_pattern: Some(pattern),
        destination: Destination::Shim,
        apply: true,
        comment,
    }
}

/// The rules, in ascending `rule_id` order, all inside [`RULE_ID_MIN`]..=[`RULE_ID_MAX`].
pub fn query_rules() -> &'static [QueryRule] {
    &RULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_ascend_inside_the_reserved_range() {
        let ids: Vec<u32> = query_rules().iter().map(|r| r.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids
            .iter()
            .all(|id| (RULE_ID_MIN..=RULE_ID_MAX).contains(id)));
    }

    #[test]
    fn patterns_never_contain_a_semicolon_a_comment_marker_or_a_dot_wildcard() {
        for rule in query_rules() {
            for text in [rule.comment, rule.match_pattern.unwrap_or_default()] {
                for marker in [";", "#", "--", "/*", "*/", "\\'"] {
                    assert!(!text.contains(marker), "rule {} has {marker}", rule.id);
                }
            }
            if let Some(p) = rule.match_pattern {
                let unescaped_dot = p
                    .char_indices()
                    .any(|(i, c)| c == '.' && !p[..i].ends_with('\\'));
                assert!(!unescaped_dot, "rule {} uses '.'", rule.id);
            }
        }
    }
}
