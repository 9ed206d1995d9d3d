//! Argument parsing shared by the `agent-core recover` and `agent-core export` subcommands, which
//! talk to the running agent named by `agent.yaml` (its `listen` address and bearer `token`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use agent_api::diff::ChangeType;
use agent_api::flashback::KeyPredicate;
use agent_api::time::{unix_micros_from_datetime, MICROS_PER_SEC};
use agent_api::value::DateTime;
use agent_api::{AgentClient, ClientError, Value};

use crate::config::Config;

/// A client for the agent configured in `config` (a wildcard `listen` address is reached on the
/// loopback address of its family).
pub fn client_for(config: &Config) -> Result<AgentClient, ClientError> {
    let mut addr = config.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    AgentClient::new(&format!("http://{addr}"), &config.token)
}

/// The agent's own message for a refused call (`dbtrail backend returned HTTP 400: <message>`).
pub fn client_error_text(e: &ClientError) -> String {
    match e {
        ClientError::Http {
            body: Some(body), ..
        } => format!("{e}: {}", body.error.message),
        _ => e.to_string(),
    }
}

/// An instant from `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (`T` also accepted between date
/// and time) read as UTC, optionally followed by `Z` or an offset `±HH:MM`; µs since the epoch.
pub fn parse_instant(text: &str) -> Result<i64, String> {
    let err = || {
        format!(
            "invalid time {text:?}: use 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC) or append Z / +HH:MM"
        )
    };
    let t = text.trim();
    let (body, offset_us) = split_offset(t).ok_or_else(err)?;
    let body = body.replacen('T', " ", 1);
    let (date, time) = body.split_once(' ').unwrap_or((&body, "00:00:00"));
    let time = match time.matches(':').count() {
        1 => format!("{time}:00"),
        2 => time.to_owned(),
        _ => return Err(err()),
    };
    let dt: DateTime = format!("{date} {time}").parse().map_err(|_| err())?;
    if !(1..=12).contains(&dt.date.month) || !(1..=31).contains(&dt.date.day) {
        return Err(err());
    }
    Ok(unix_micros_from_datetime(&dt) - offset_us)
}

/// Splits a trailing `Z` / `±HH:MM` zone off; the offset in µs (east positive).
fn split_offset(t: &str) -> Option<(&str, i64)> {
    if let Some(body) = t.strip_suffix(['Z', 'z']) {
        return Some((body, 0));
    }
    // An offset follows the time part: a sign after the last ':'-bearing time, e.g. "+02:00".
    if t.len() > 16 {
        let (body, zone) = t.split_at(t.len() - 6);
        let sign = match zone.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Some((t, 0)),
        };
        let (h, m) = zone[1..].split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        return Some((body, sign * (h * 3600 + m * 60) * MICROS_PER_SEC));
    }
    Some((t, 0))
}

/// `schema.table` → `(schema, table)`.
pub fn parse_table(text: &str) -> Result<(String, String), String> {
    match text.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => Ok((s.to_owned(), t.to_owned())),
        _ => Err(format!("invalid table {text:?}: use schema.table")),
    }
}

/// `delete,update,insert` (any subset, any case) → change kinds.
pub fn parse_types(text: &str) -> Result<Vec<ChangeType>, String> {
    text.split(',')
        .map(|t| match t.trim().to_ascii_lowercase().as_str() {
            "insert" => Ok(ChangeType::Insert),
            "update" => Ok(ChangeType::Update),
            "delete" => Ok(ChangeType::Delete),
            other => Err(format!(
                "invalid change type {other:?}: use insert, update and/or delete"
            )),
        })
        .collect()
}

/// `--where-pk` values (each one key: its PK column values separated by `,`) → an `In` predicate.
/// Values travel as text; the agent coerces them to the key column types as MySQL compares them.
pub fn parse_keys(keys: &[String]) -> Option<KeyPredicate> {
    if keys.is_empty() {
        return None;
    }
    Some(KeyPredicate::In(
        keys.iter()
            .map(|k| k.split(',').map(|v| Value::Text(v.to_owned())).collect())
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_utc_or_with_offset() {
        let base = parse_instant("2026-04-27 09:11:59").unwrap();
        assert_eq!(base, 1_777_281_119_000_000);
        assert_eq!(parse_instant("2026-04-27T09:11:59Z").unwrap(), base);
        assert_eq!(parse_instant("2026-04-27 11:11:59+02:00").unwrap(), base);
        assert_eq!(
            parse_instant("2026-04-27 09:11:59.000001").unwrap(),
            base + 1
        );
        assert_eq!(
            parse_instant("2026-04-27 09:11").unwrap(),
            base - 59_000_000
        );
        assert_eq!(
            parse_instant("2026-04-27").unwrap(),
            base - (9 * 3600 + 11 * 60 + 59) * MICROS_PER_SEC
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "2026-04-27 25:00:00",
            "2026-04-27 09",
        ] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tables_types_and_keys() {
        assert_eq!(
            parse_table("shop.orders").unwrap(),
            ("shop".into(), "orders".into())
        );
        assert!(parse_table("orders").is_err());
        assert_eq!(
            parse_types("Delete,update").unwrap(),
            [ChangeType::Delete, ChangeType::Update]
        );
        assert!(parse_types("drop").is_err());
        assert_eq!(parse_keys(&[]), None);
        assert_eq!(
            parse_keys(&["1,a".into()]),
            Some(KeyPredicate::In(vec![vec![
                Value::Text("1".into()),
                Value::Text("a".into())
            ]]))
        );
    }
}
