//! Time literals of `AS OF <time>`, parsed without reference to a clock or zone.
//!
//! Accepted (DESIGN.md, "Time semantics"): `'YYYY-MM-DD'`, `'YYYY-MM-DD HH:MM[:SS[.ffffff]]'`
//! (read later in the session `time_zone`), RFC 3339 with `Z` or `±HH:MM` (`T` or space between
//! date and time), `'now'`, and `'<n> second|minute|hour|day|week[s] ago'`.

use agent_api::value::{Date, DateTime};

/// A point in time as written, before the session zone and the clock are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeExpr {
    /// Wall time without a zone; read in the session `time_zone`.
    Local(DateTime),
    /// Wall time with an explicit UTC offset in seconds (east positive).
    Offset {
        /// The wall time as written.
        local: DateTime,
        /// Offset from UTC, seconds.
        offset_secs: i32,
    },
    /// `'now'`: the instant the query is planned.
    Now,
    /// `'<n> <unit> ago'`: this many µs before the instant the query is planned.
    Ago {
        /// µs to subtract from now.
        micros: i64,
    },
}

/// Parses the text inside the quotes of a time literal; the error says what was expected.
pub fn parse_time_literal(text: &str) -> Result<TimeExpr, String> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(TimeExpr::Now);
    }
    if let Some(ago) = parse_ago(trimmed) {
        return ago;
    }
    parse_date_time(trimmed).ok_or_else(|| {
        format!(
            "invalid time literal '{text}': expected 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]', \
             RFC 3339 with an offset, 'now' or '<n> minutes ago'"
        )
    })
}

/// `<n> <unit>[s] ago`; `None` when the text does not end in `ago`.
fn parse_ago(text: &str) -> Option<Result<TimeExpr, String>> {
    let lower = text.to_ascii_lowercase();
    let body = lower.strip_suffix("ago")?.trim_end();
    let mut words = body.split_whitespace();
    let (Some(n), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Some(Err(format!(
            "invalid time literal '{text}': expected '<n> <unit> ago'"
        )));
    };
    let Ok(n) = n.parse::<i64>() else {
        return Some(Err(format!(
            "invalid time literal '{text}': {n:?} is not a whole number"
        )));
    };
    let unit_secs = match unit.strip_suffix('s').unwrap_or(unit) {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => {
            return Some(Err(format!(
                "invalid time literal '{text}': unit must be seconds, minutes, hours, days or weeks"
            )));
        }
    };
    let micros = n
        .checked_mul(unit_secs)
        .and_then(|s| s.checked_mul(1_000_000))
        .filter(|m| *m >= 0);
    Some(
        micros
            .map(|micros| TimeExpr::Ago { micros })
            .ok_or_else(|| format!("invalid time literal '{text}': out of range")),
    )
}

fn parse_date_time(text: &str) -> Option<TimeExpr> {
    let (date_text, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], Some(text[i + 1..].trim_start())),
        None => (text, None),
    };
    let date = parse_date(date_text)?;
    let Some(rest) = rest else {
        return Some(TimeExpr::Local(at_midnight(date)));
    };
    let (clock, offset) = split_offset(rest)?;
    let mut local = parse_clock(clock)?;
    local.date = date;
    Some(match offset {
        None => TimeExpr::Local(local),
        Some(offset_secs) => TimeExpr::Offset { local, offset_secs },
    })
}

fn at_midnight(date: Date) -> DateTime {
    DateTime {
        date,
        ..DateTime::default()
    }
}

/// `YYYY-MM-DD` with a real calendar day.
fn parse_date(text: &str) -> Option<Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.is_empty() || d.is_empty() {
        return None;
    }
    let date = Date {
        year: digits(y)? as u16,
        month: digits(m)? as u8,
        day: digits(d)? as u8,
    };
    let valid = (1..=12).contains(&date.month)
        && date.day >= 1
        && u32::from(date.day) <= days_in_month(i64::from(date.year), u32::from(date.month));
    valid.then_some(date)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    use agent_api::time::days_from_civil;
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    (days_from_civil(next_year, next_month, 1) - days_from_civil(year, month, 1)) as u32
}

/// Splits a trailing `Z` or `±HH:MM` / `±HHMM` off the clock part.
fn split_offset(text: &str) -> Option<(&str, Option<i32>)> {
    if let Some(clock) = text.strip_suffix(['Z', 'z']) {
        return Some((clock, Some(0)));
    }
    let Some(i) = text.rfind(['+', '-']) else {
        return Some((text, None));
    };
    let (clock, zone) = (text[..i].trim_end(), &text[i..]);
    Some((clock, Some(parse_offset(zone)?)))
}

/// `+HH:MM`, `-HH:MM` or `+HHMM` → seconds east of UTC; at most ±14:00 as MySQL allows.
pub fn parse_offset(text: &str) -> Option<i32> {
    let (sign, body) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h, m),
        // `is_ascii`: splitting at byte 2 must not cut a multi-byte character.
        None if body.len() == 4 && body.is_ascii() => body.split_at(2),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (digits(h)? as i32, digits(m)? as i32);
    let secs = h * 3600 + m * 60;
    (m < 60 && secs <= 14 * 3600).then_some(sign * secs)
}

/// `HH:MM[:SS[.f{1,6}]]` into a `DateTime` whose date is left at its default.
fn parse_clock(text: &str) -> Option<DateTime> {
    let (hms, micros) = match text.split_once('.') {
        Some((hms, frac)) if !frac.is_empty() && frac.len() <= 6 => {
            (hms, digits(frac)? * 10u32.pow(6 - frac.len() as u32))
        }
        Some(_) => return None,
        None => (text, 0),
    };
    let mut parts = hms.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = match parts.next() {
        Some(s) => two_digits(s)?,
        None if micros == 0 => 0,
        None => return None,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(DateTime {
        date: Date::default(),
        hour,
        minute,
        second,
        micros,
    })
}

fn two_digits(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 2 {
        return None;
    }
    digits(text).map(|n| n as u8)
}

/// ASCII digits only (no sign, no spaces) as a number.
fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(text: &str) -> DateTime {
        text.parse().unwrap()
    }

    #[test]
    fn local_forms() {
        assert_eq!(
            parse_time_literal("2026-04-27"),
            Ok(TimeExpr::Local(dt("2026-04-27 00:00:00")))
        );
        assert_eq!(
            parse_time_literal("2026-04-27 09:11"),
            Ok(TimeExpr::Local(dt("2026-04-27 09:11:00")))
        );
        assert_eq!(
            parse_time_literal(" 2026-04-27 09:11:59 "),
            Ok(TimeExpr::Local(dt("2026-04-27 09:11:59")))
        );
        assert_eq!(
            parse_time_literal("2026-04-27 09:11:59.5"),
            Ok(TimeExpr::Local(dt("2026-04-27 09:11:59.500000")))
        );
        assert_eq!(
            parse_time_literal("2026-04-27 09:11:59.000001"),
            Ok(TimeExpr::Local(dt("2026-04-27 09:11:59.000001")))
        );
    }

    #[test]
    fn rfc3339_forms() {
        let local = dt("2026-04-27 09:11:59");
        assert_eq!(
            parse_time_literal("2026-04-27T09:11:59Z"),
            Ok(TimeExpr::Offset {
                local,
                offset_secs: 0
            })
        );
        assert_eq!(
            parse_time_literal("2026-04-27T09:11:59+02:00"),
            Ok(TimeExpr::Offset {
                local,
                offset_secs: 7200
            })
        );
        assert_eq!(
            parse_time_literal("2026-04-27 09:11:59-05:30"),
            Ok(TimeExpr::Offset {
                local,
                offset_secs: -19_800
            })
        );
        let local = dt("2026-04-27 09:11:59.250000");
        assert_eq!(
            parse_time_literal("2026-04-27T09:11:59.25+0100"),
            Ok(TimeExpr::Offset {
                local,
                offset_secs: 3600
            })
        );
    }

    #[test]
    fn relative_forms() {
        assert_eq!(parse_time_literal("now"), Ok(TimeExpr::Now));
        assert_eq!(parse_time_literal("NOW"), Ok(TimeExpr::Now));
        assert_eq!(
            parse_time_literal("5 minutes ago"),
            Ok(TimeExpr::Ago {
                micros: 300_000_000
            })
        );
        assert_eq!(
            parse_time_literal("1 hour ago"),
            Ok(TimeExpr::Ago {
                micros: 3_600_000_000
            })
        );
        assert_eq!(
            parse_time_literal("2 Weeks Ago"),
            Ok(TimeExpr::Ago {
                micros: 1_209_600_000_000
            })
        );
        assert_eq!(
            parse_time_literal("30 seconds ago"),
            Ok(TimeExpr::Ago { micros: 30_000_000 })
        );
        assert_eq!(
            parse_time_literal("3 days ago"),
            Ok(TimeExpr::Ago {
                micros: 259_200_000_000
            })
        );
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-29",
            "2026-04-31",
            "2026-04-27 24:00",
            "2026-04-27 09:60",
            "2026-04-27 09:11:59.1234567",
            "2026-04-27T09:11:59+15:00",
            "4052-03-29T02:3/_-\u{baaa}0",
            "2026-04-27 09:11:59+\u{e9}00",
            "26-04-27",
            "5 fortnights ago",
            "-5 minutes ago",
            "x minutes ago",
            "minutes ago",
            "2026-04-27 09:11:59 +02",
        ] {
            assert!(parse_time_literal(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_time_literal("2024-02-29").is_ok());
    }
}
