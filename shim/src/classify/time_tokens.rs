//! A time written in SQL tokens: a quoted literal (`'2026-04-27 09:11'`, `'5 minutes ago'`), or
//! `NOW()` / `CURRENT_TIMESTAMP` / `SYSDATE()` with an optional `- INTERVAL n unit` (MySQL's
//! `DATE_SUB` arithmetic; units MICROSECOND, SECOND, MINUTE, HOUR, DAY, WEEK).

use sqlparser::tokenizer::Token;

use super::time_literal::{parse_time_literal, TimeExpr};

/// Reads a time starting at `tokens[0]` (whitespace already removed). `Ok(None)` when the first
/// token cannot start a time; otherwise the time and how many tokens it used.
pub fn read_time(tokens: &[&Token]) -> Result<Option<(TimeExpr, usize)>, String> {
    match tokens.first() {
        Some(Token::SingleQuotedString(s) | Token::DoubleQuotedString(s)) => {
            parse_time_literal(s).map(|t| Some((t, 1)))
        }
        Some(Token::Word(w)) if w.quote_style.is_none() && is_now(&w.value) => {
            let mut used = 1;
            if matches!(tokens.get(1), Some(Token::LParen)) {
                used = match (tokens.get(2), tokens.get(3)) {
                    (Some(Token::RParen), _) => 3,
                    (Some(Token::Number(..)), Some(Token::RParen)) => 4,
                    _ => return Err("expected NOW() or NOW(<fsp>)".into()),
                };
            }
            match interval(&tokens[used..])? {
                Some((micros, n)) => Ok(Some((TimeExpr::Ago { micros }, used + n))),
                None => Ok(Some((TimeExpr::Now, used))),
            }
        }
        _ => Ok(None),
    }
}

fn is_now(word: &str) -> bool {
    [
        "now",
        "current_timestamp",
        "localtimestamp",
        "localtime",
        "sysdate",
        "utc_timestamp",
    ]
    .iter()
    .any(|n| word.eq_ignore_ascii_case(n))
}

/// `- INTERVAL n unit` → (µs, tokens used); `None` when the tokens do not start with `-`
/// followed by `INTERVAL`.
fn interval(tokens: &[&Token]) -> Result<Option<(i64, usize)>, String> {
    let is_word = |t: Option<&&Token>, w: &str| matches!(t, Some(Token::Word(x)) if x.value.eq_ignore_ascii_case(w));
    if !matches!(tokens.first(), Some(Token::Minus)) || !is_word(tokens.get(1), "interval") {
        return Ok(None);
    }
    let n: i64 = match tokens.get(2) {
        Some(Token::Number(n, _)) => n
            .parse()
            .map_err(|_| format!("INTERVAL {n}: not a whole number"))?,
        Some(Token::SingleQuotedString(n)) => n
            .trim()
            .parse()
            .map_err(|_| format!("INTERVAL '{n}': not a whole number"))?,
        other => {
            return Err(format!(
                "INTERVAL needs a number, found {}",
                describe(other)
            ))
        }
    };
    let unit = match tokens.get(3) {
        Some(Token::Word(w)) => w.value.to_ascii_lowercase(),
        other => return Err(format!("INTERVAL needs a unit, found {}", describe(other))),
    };
    let micros_per: i64 = match unit.as_str() {
        "microsecond" => 1,
        "second" => 1_000_000,
        "minute" => 60_000_000,
        "hour" => 3_600_000_000,
        "day" => 86_400_000_000,
        "week" => 604_800_000_000,
        other => {
            return Err(format!(
                "INTERVAL unit {other} is not supported (MICROSECOND..WEEK)"
            ))
        }
    };
    let micros = n
        .checked_mul(micros_per)
        .filter(|m| *m >= 0)
        .ok_or_else(|| format!("INTERVAL {n} {unit} is out of range"))?;
    Ok(Some((micros, 4)))
}

fn describe(token: Option<&&Token>) -> String {
    token.map_or_else(|| "the end of the statement".to_owned(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn read(sql: &str) -> Result<Option<(TimeExpr, usize)>, String> {
        let tokens = Tokenizer::new(&MySqlDialect {}, sql).tokenize().unwrap();
        let significant: Vec<&Token> = tokens
            .iter()
            .filter(|t| !matches!(t, Token::Whitespace(_)))
            .collect();
        read_time(&significant)
    }

    #[test]
    fn now_minus_interval() {
        assert_eq!(
            read("NOW() - INTERVAL 5 MINUTE").unwrap(),
            Some((
                TimeExpr::Ago {
                    micros: 300_000_000
                },
                7
            ))
        );
        assert_eq!(read("now()").unwrap(), Some((TimeExpr::Now, 3)));
        assert_eq!(
            read("CURRENT_TIMESTAMP - INTERVAL '2' hour").unwrap(),
            Some((
                TimeExpr::Ago {
                    micros: 7_200_000_000
                },
                5
            ))
        );
        assert_eq!(read("NOW(6) WHERE").unwrap(), Some((TimeExpr::Now, 4)));
        assert!(read("NOW() - INTERVAL 1 MONTH").is_err());
        assert_eq!(read("id").unwrap(), None);
        assert!(matches!(
            read("'2026-04-27'").unwrap(),
            Some((TimeExpr::Local(_), 1))
        ));
    }
}
