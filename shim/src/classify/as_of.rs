//! Finds and removes the `AS OF [TIMESTAMP] '<time>'` clause from a token stream.
//!
//! MySQL has no `AS OF` grammar, so the clause is cut before parsing: wherever the words `AS OF`
//! are followed (comments and whitespace aside) by an optional `TIMESTAMP` and a quoted string.
//! That covers the table-factor form (`FROM _flashback.orders AS OF '...' WHERE ...`) and the
//! statement-final form (`... WHERE id = 1 AS OF '...'`). `x AS of` (an alias named `of`) is left
//! alone because no string follows.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::time_literal::{parse_time_literal, TimeExpr};
use super::ClassifyError;

/// Returns the tokens without the clause, and its parsed time when there was one.
pub fn cut(
    mut tokens: Vec<TokenWithSpan>,
) -> Result<(Vec<TokenWithSpan>, Option<TimeExpr>), ClassifyError> {
    let Some((start, end, text)) = find(&tokens)? else {
        return Ok((tokens, None));
    };
    let time = parse_time_literal(&text).map_err(ClassifyError::BadTime)?;
    tokens.drain(start..=end);
    if find(&tokens)?.is_some() {
        return Err(ClassifyError::Unsupported(
            "more than one AS OF clause".into(),
        ));
    }
    Ok((tokens, Some(time)))
}

/// `(first, last, literal)` token positions of the first `AS OF` clause.
fn find(tokens: &[TokenWithSpan]) -> Result<Option<(usize, usize, String)>, ClassifyError> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    for (n, &i) in significant.iter().enumerate() {
        if !is_keyword(&tokens[i].token, Keyword::AS) {
            continue;
        }
        let next = |k: usize| significant.get(n + k).map(|&j| (j, &tokens[j].token));
        let Some((_, of)) = next(1) else { continue };
        if !is_keyword(of, Keyword::OF) {
            continue;
        }
        let mut k = 2;
        if next(k).is_some_and(|(_, t)| is_keyword(t, Keyword::TIMESTAMP)) {
            k += 1;
        }
        match next(k) {
            Some((j, Token::SingleQuotedString(s) | Token::DoubleQuotedString(s))) => {
                return Ok(Some((i, j, s.clone())))
            }
            Some((_, other)) if k == 3 || !matches!(other, Token::Word(_)) => {
                return Err(ClassifyError::BadTime(format!(
                    "AS OF needs a quoted time literal such as '2026-04-27 09:11:59', found {other}"
                )))
            }
            _ => continue,
        }
    }
    Ok(None)
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword)
}
