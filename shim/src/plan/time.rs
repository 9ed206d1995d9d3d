//! Session time zones and the resolution of [`TimeExpr`] into an instant (µs since the Unix epoch).

use std::fmt;

use agent_api::time::{unix_micros_from_datetime, MICROS_PER_SEC};

use crate::classify::time_literal::{parse_offset, TimeExpr};

/// A session `time_zone`: UTC or a fixed offset (named zones need a tz database the shim does not
/// carry; MySQL answers 1298 for unknown names too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone {
    /// Seconds east of UTC.
    pub offset_secs: i32,
}

impl TimeZone {
    /// `+00:00`.
    pub const UTC: TimeZone = TimeZone { offset_secs: 0 };

    /// `UTC`, `Z`, `+02:00`, `-0530`; `None` for anything else.
    pub fn parse(text: &str) -> Option<TimeZone> {
        let text = text.trim();
        if ["utc", "z", "gmt"]
            .iter()
            .any(|z| text.eq_ignore_ascii_case(z))
        {
            return Some(TimeZone::UTC);
        }
        parse_offset(text).map(|offset_secs| TimeZone { offset_secs })
    }
}

impl fmt::Display for TimeZone {
    /// `+HH:MM` as MySQL prints `@@time_zone` for offsets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.offset_secs < 0 { '-' } else { '+' };
        let abs = self.offset_secs.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
    }
}

/// The instant of `expr` in µs since the Unix epoch, reading zone-less wall times in `zone` and
/// relative forms against `now_us`.
pub fn resolve(expr: &TimeExpr, zone: TimeZone, now_us: i64) -> i64 {
    let offset_us = |secs: i32| i64::from(secs) * MICROS_PER_SEC;
    match expr {
        TimeExpr::Local(local) => unix_micros_from_datetime(local) - offset_us(zone.offset_secs),
        TimeExpr::Offset { local, offset_secs } => {
            unix_micros_from_datetime(local) - offset_us(*offset_secs)
        }
        TimeExpr::Now => now_us,
        TimeExpr::Ago { micros } => now_us.saturating_sub(*micros),
    }
}

/// The wall clock now, µs since the Unix epoch.
pub fn now_us() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::time_literal::parse_time_literal;

    const T: i64 = 1_777_281_119_000_000; // 2026-04-27 09:11:59 UTC

    fn at(text: &str, zone: TimeZone) -> i64 {
        resolve(&parse_time_literal(text).unwrap(), zone, T)
    }

    #[test]
    fn zones_apply_to_local_times_only() {
        let plus2 = TimeZone::parse("+02:00").unwrap();
        assert_eq!(at("2026-04-27 09:11:59", TimeZone::UTC), T);
        assert_eq!(at("2026-04-27 11:11:59", plus2), T);
        assert_eq!(at("2026-04-27T09:11:59Z", plus2), T);
        assert_eq!(at("2026-04-27T04:41:59-04:30", plus2), T);
        assert_eq!(at("now", plus2), T);
        assert_eq!(at("1 minute ago", plus2), T - 60_000_000);
        assert_eq!(
            at("2026-04-27", TimeZone::UTC),
            T - (9 * 3600 + 11 * 60 + 59) * 1_000_000
        );
    }

    #[test]
    fn zone_text() {
        assert_eq!(TimeZone::parse("UTC"), Some(TimeZone::UTC));
        assert_eq!(TimeZone::parse("-05:30").unwrap().to_string(), "-05:30");
        assert_eq!(TimeZone::parse("+0200").unwrap().to_string(), "+02:00");
        assert_eq!(TimeZone::parse("Europe/Berlin"), None);
        assert_eq!(TimeZone::parse("+14:01"), None);
    }
}
