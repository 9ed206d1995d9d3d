//! Finds and removes the time clauses MySQL's grammar lacks, before parsing:
//!
//! - `AS OF [TIMESTAMP] <time>` anywhere (table-factor form `FROM _flashback.orders AS OF ...`
//!   and statement-final form `... WHERE id = 1 AS OF ...`), also as MariaDB's
//!   `FOR SYSTEM_TIME AS OF [TIMESTAMP] <time>`;
//! - the optimizer-hint form `SELECT /*+ DBTRAIL_AT='<time>' */ ...` when there is no `AS OF`;
//! - `_diff.<t> BETWEEN <time> AND <time>` directly after the table name.
//!
//! `<time>` is read by `time_tokens::read_time`: a quoted literal or `NOW() [- INTERVAL n unit]`.
//! `x AS of` (an alias named `of`) is left alone because no time follows.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::time_literal::{parse_time_literal, TimeExpr};
use super::time_tokens::read_time;
use super::ClassifyError;

/// The time clauses cut from a statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeClauses {
    /// `AS OF <time>` or the `DBTRAIL_AT` hint.
    pub as_of: Option<TimeExpr>,
    /// `_diff.<t> BETWEEN <from> AND <to>`.
    pub between: Option<(TimeExpr, TimeExpr)>,
}

/// Returns the tokens without the clauses, and the times they named.
pub fn cut(
    mut tokens: Vec<TokenWithSpan>,
) -> Result<(Vec<TokenWithSpan>, TimeClauses), ClassifyError> {
    let mut clauses = TimeClauses::default();
    if let Some((start, end, time)) = find_as_of(&tokens)? {
        tokens.drain(start..=end);
        if find_as_of(&tokens)?.is_some() {
            return Err(ClassifyError::Unsupported(
                "more than one AS OF clause".into(),
            ));
        }
        clauses.as_of = Some(time);
    } else {
        clauses.as_of = hint(&tokens)?;
    }
    if let Some((start, end, from, to)) = find_between(&tokens)? {
        tokens.drain(start..=end);
        clauses.between = Some((from, to));
    }
    Ok((tokens, clauses))
}

/// Indexes of the tokens that are not whitespace or comments.
fn significant(tokens: &[TokenWithSpan]) -> Vec<usize> {
    let mut sig = Vec::with_capacity(tokens.len());
    sig.extend((0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))));
    sig
}

/// The significant tokens from position `n` of `sig` on.
fn from<'a>(tokens: &'a [TokenWithSpan], sig: &[usize], n: usize) -> Vec<&'a Token> {
    sig.get(n..)
        .unwrap_or_default()
        .iter()
        .map(|&j| &tokens[j].token)
        .collect()
}

/// `(first, last, time)` token positions of the first `AS OF` clause.
fn find_as_of(tokens: &[TokenWithSpan]) -> Result<Option<(usize, usize, TimeExpr)>, ClassifyError> {
    let sig = significant(tokens);
    for (n, &i) in sig.iter().enumerate() {
        if !is_keyword(&tokens[i].token, Keyword::AS) {
            continue;
        }
        let at = |k: usize| sig.get(n + k).map(|&j| &tokens[j].token);
        if !at(1).is_some_and(|t| is_keyword(t, Keyword::OF)) {
            continue;
        }
        let mut k = 2;
        if at(k).is_some_and(|t| is_keyword(t, Keyword::TIMESTAMP)) {
            k += 1;
        }
        let rest = from(tokens, &sig, n + k);
        match read_time(&rest).map_err(ClassifyError::BadTime)? {
            Some((time, used)) => {
                let start = system_time_prefix(tokens, &sig, n).unwrap_or(i);
                return Ok(Some((start, sig[n + k + used - 1], time)));
            }
            None if k == 3 || !matches!(rest.first(), Some(Token::Word(_)) | None) => {
                let found = rest.first().map_or("nothing".to_owned(), |t| t.to_string());
                return Err(ClassifyError::BadTime(format!(
                    "AS OF needs a time such as '2026-04-27 09:11:59' or NOW() - INTERVAL 5 MINUTE, found {found}"
                )));
            }
            None => continue,
        }
    }
    Ok(None)
}

/// Position of `FOR SYSTEM_TIME` right before the `AS` at `sig[n]`, if written.
fn system_time_prefix(tokens: &[TokenWithSpan], sig: &[usize], n: usize) -> Option<usize> {
    let before = |k: usize| n.checked_sub(k).map(|m| (sig[m], &tokens[sig[m]].token));
    let (_, system_time) = before(1)?;
    let (start, for_word) = before(2)?;
    let is_word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    (is_word(system_time, "system_time") && is_word(for_word, "for")).then_some(start)
}

/// The time of a `/*+ ... DBTRAIL_AT='<time>' ... */` optimizer hint.
fn hint(tokens: &[TokenWithSpan]) -> Result<Option<TimeExpr>, ClassifyError> {
    for token in tokens {
        let Token::Whitespace(Whitespace::MultiLineComment(text)) = &token.token else {
            continue;
        };
        let Some(body) = text.strip_prefix('+') else {
            continue;
        };
        let upper = body.to_ascii_uppercase();
        let Some(at) = upper.find("DBTRAIL_AT") else {
            continue;
        };
        let rest = body[at + "DBTRAIL_AT".len()..].trim_start();
        let value = rest
            .strip_prefix('=')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('\''))
            .and_then(|r| r.split_once('\''))
            .map(|(v, _)| v)
            .ok_or_else(|| {
                ClassifyError::BadTime("the hint is written DBTRAIL_AT='<time>'".into())
            })?;
        return parse_time_literal(value)
            .map(Some)
            .map_err(ClassifyError::BadTime);
    }
    Ok(None)
}

/// `(first, last, from, to)` of `BETWEEN <time> AND <time>` right after `_diff.<table>`.
fn find_between(
    tokens: &[TokenWithSpan],
) -> Result<Option<(usize, usize, TimeExpr, TimeExpr)>, ClassifyError> {
    let sig = significant(tokens);
    let is_diff = |t: &Token| matches!(t, Token::Word(w) if w.value.eq_ignore_ascii_case("_diff"));
    for (n, &i) in sig.iter().enumerate() {
        if !is_diff(&tokens[i].token) {
            continue;
        }
        let at = |k: usize| sig.get(n + k).map(|&j| &tokens[j].token);
        let named = matches!(at(1), Some(Token::Period)) && matches!(at(2), Some(Token::Word(_)));
        if !named || !at(3).is_some_and(|t| is_keyword(t, Keyword::BETWEEN)) {
            continue;
        }
        let bad = |what: &str| {
            ClassifyError::BadTime(format!("_diff.<table> BETWEEN <time> AND <time>: {what}"))
        };
        let rest = from(tokens, &sig, n + 4);
        let (start, used) = read_time(&rest)
            .map_err(|e| bad(&e))?
            .ok_or_else(|| bad("the start is not a time"))?;
        if !rest.get(used).is_some_and(|t| is_keyword(t, Keyword::AND)) {
            return Err(bad("AND expected after the start"));
        }
        let (end, used_end) = read_time(&rest[used + 1..])
            .map_err(|e| bad(&e))?
            .ok_or_else(|| bad("the end is not a time"))?;
        let last = sig[n + 4 + used + used_end];
        return Ok(Some((sig[n + 3], last, start, end)));
    }
    Ok(None)
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword)
}
