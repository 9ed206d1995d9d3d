//! Session time zones and the resolution of [`TimeExpr`] into an instant (µs since the Unix epoch).

use std::fmt;

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::time::{datetime_from_unix_micros, unix_micros_from_datetime, MICROS_PER_SEC};
use agent_api::value::DateTime;
use agent_api::Value;
use jiff::tz::{AmbiguousOffset, Offset};

use crate::classify::time_literal::{parse_offset, TimeExpr};

/// A session `time_zone`: UTC, a fixed offset (`+02:00`) or an IANA zone (`Europe/Paris`) whose
/// offset follows its daylight-saving rules. Names resolve against the IANA database bundled into
/// the binary (the `jiff` crate's copy), so every machine answers alike with or without
/// `/usr/share/zoneinfo`. Cheap to clone (shared rules).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeZone(jiff::tz::TimeZone);

impl TimeZone {
    /// `+00:00`.
    pub const UTC: TimeZone = TimeZone(jiff::tz::TimeZone::UTC);

    /// `UTC`, `Z`, `GMT`, `+02:00`, `-0530`, or an IANA name (`Europe/Paris`, compared
    /// case-insensitively as MySQL's time zone tables do); `None` for anything else. `SYSTEM` is
    /// the caller's to resolve (it means the configured default).
    pub fn parse(text: &str) -> Option<TimeZone> {
        let text = text.trim();
        if ["utc", "z", "gmt"]
            .iter()
            .any(|z| text.eq_ignore_ascii_case(z))
        {
            return Some(TimeZone::UTC);
        }
        if let Some(secs) = parse_offset(text) {
            return Offset::from_seconds(secs)
                .ok()
                .map(|o| TimeZone(jiff::tz::TimeZone::fixed(o)));
        }
        // Only names shaped like IANA zones (`Area/City`, `EST5EDT`): never a path.
        let plausible = !text.is_empty()
            && !text.contains("..")
            && !text.starts_with('/')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
        if !plausible {
            return None;
        }
        jiff::tz::db().get(text).ok().map(TimeZone)
    }

    /// Seconds east of UTC in force at `instant_us` (µs since the Unix epoch).
    pub fn offset_secs_at(&self, instant_us: i64) -> i32 {
        jiff::Timestamp::from_microsecond(instant_us).map_or(0, |ts| self.0.to_offset(ts).seconds())
    }

    /// The instant (µs since the Unix epoch) of the wall time `local` in this zone. Across a
    /// daylight-saving change it reads like MySQL's `UNIX_TIMESTAMP()`: a wall time the clocks
    /// skipped (spring forward) is the instant of the change; a wall time that occurs twice (fall
    /// back) is its first occurrence. Wall times outside years -9999..=9999 use offset 0.
    pub fn instant_of(&self, local: &DateTime) -> i64 {
        let naive_us = unix_micros_from_datetime(local);
        let Some(civil) = civil(naive_us) else {
            return naive_us;
        };
        let minus = |offset: Offset| naive_us - i64::from(offset.seconds()) * MICROS_PER_SEC;
        match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => minus(offset),
            AmbiguousOffset::Fold { before, .. } => minus(before),
            AmbiguousOffset::Gap { before, .. } => self.transition_at_or_before(minus(before)),
        }
    }

    /// The wall time in this zone of a TIMESTAMP value, which the agent carries as its UTC wall
    /// time (the binlog stores TIMESTAMP as seconds since the epoch, MySQL 8.0 reference
    /// §13.2.2 "The DATE, DATETIME, and TIMESTAMP Types": shown converted to the session
    /// `time_zone`). The zero TIMESTAMP `0000-00-00 00:00:00` stays as it is.
    pub fn local_of_utc(&self, utc: &DateTime) -> DateTime {
        if utc.date.year == 0 && utc.date.month == 0 && utc.date.day == 0 {
            return *utc;
        }
        let instant_us = unix_micros_from_datetime(utc);
        let offset = i64::from(self.offset_secs_at(instant_us));
        datetime_from_unix_micros(instant_us + offset * MICROS_PER_SEC)
    }

    /// `row` (aligned with `columns`) with every TIMESTAMP value shown in this zone; borrowed
    /// as it is when the zone is UTC or no column is a TIMESTAMP.
    pub fn localize_row<'a>(
        &self,
        columns: &[ColumnInfo],
        row: &'a [Value],
    ) -> std::borrow::Cow<'a, [Value]> {
        let is_ts = |c: &ColumnInfo| c.data_type == DataType::Timestamp;
        if *self == TimeZone::UTC || !columns.iter().any(is_ts) {
            return std::borrow::Cow::Borrowed(row);
        }
        let mut owned = row.to_vec();
        for (value, column) in owned.iter_mut().zip(columns) {
            if let (Value::DateTime(dt), true) = (&*value, is_ts(column)) {
                *value = Value::DateTime(self.local_of_utc(dt));
            }
        }
        std::borrow::Cow::Owned(owned)
    }

    /// The last offset change at or before `instant_us` (itself when the zone has none).
    fn transition_at_or_before(&self, instant_us: i64) -> i64 {
        let Ok(ts) = jiff::Timestamp::from_microsecond(instant_us.saturating_add(1)) else {
            return instant_us;
        };
        self.0
            .preceding(ts)
            .next()
            .map_or(instant_us, |t| t.timestamp().as_microsecond())
    }
}

/// `naive_us` (a wall time counted as if it were UTC) as a civil date-time.
fn civil(naive_us: i64) -> Option<jiff::civil::DateTime> {
    let ts = jiff::Timestamp::from_microsecond(naive_us).ok()?;
    Some(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime())
}

impl fmt::Display for TimeZone {
    /// The IANA name for named zones, `+HH:MM` (as MySQL prints `@@time_zone`) for offsets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.0.iana_name() {
            return f.write_str(name);
        }
        let secs = self.offset_secs_at(0);
        let sign = if secs < 0 { '-' } else { '+' };
        let abs = secs.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
    }
}

/// The instant of `expr` in µs since the Unix epoch, reading zone-less wall times in `zone` and
/// relative forms against `now_us`.
pub fn resolve(expr: &TimeExpr, zone: &TimeZone, now_us: i64) -> i64 {
    match expr {
        TimeExpr::Local(local) => zone.instant_of(local),
        TimeExpr::Offset { local, offset_secs } => {
            unix_micros_from_datetime(local) - i64::from(*offset_secs) * MICROS_PER_SEC
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

    #[test]
    fn timestamps_show_as_wall_time_in_the_session_zone() {
        let show = |zone: &str, utc: &str| {
            let utc: DateTime = utc.parse().unwrap();
            TimeZone::parse(zone).unwrap().local_of_utc(&utc).to_text(6)
        };
        assert_eq!(
            show("+05:30", "2013-10-03 13:24:49.5"),
            "2013-10-03 18:54:49.500000"
        );
        assert_eq!(
            show("-03:00", "2013-10-03 01:00:00"),
            "2013-10-02 22:00:00.000000"
        );
        // Europe/Paris: +01:00 in winter, +02:00 in summer.
        assert_eq!(
            show("Europe/Paris", "2026-01-15 10:00:00"),
            "2026-01-15 11:00:00.000000"
        );
        assert_eq!(
            show("Europe/Paris", "2026-07-15 10:00:00"),
            "2026-07-15 12:00:00.000000"
        );
        assert_eq!(
            show("UTC", "2026-07-15 10:00:00"),
            "2026-07-15 10:00:00.000000"
        );
        // The zero TIMESTAMP is no instant: shown as it is.
        assert_eq!(
            show("+05:30", "0000-00-00 00:00:00"),
            "0000-00-00 00:00:00.000000"
        );
    }
    const HOUR: i64 = 3_600_000_000;

    fn at(text: &str, zone: &TimeZone) -> i64 {
        resolve(&parse_time_literal(text).unwrap(), zone, T)
    }

    fn utc(text: &str) -> i64 {
        at(text, &TimeZone::UTC)
    }

    #[test]
    fn zones_apply_to_local_times_only() {
        let plus2 = TimeZone::parse("+02:00").unwrap();
        assert_eq!(at("2026-04-27 09:11:59", &TimeZone::UTC), T);
        assert_eq!(at("2026-04-27 11:11:59", &plus2), T);
        assert_eq!(at("2026-04-27T09:11:59Z", &plus2), T);
        assert_eq!(at("2026-04-27T04:41:59-04:30", &plus2), T);
        assert_eq!(at("now", &plus2), T);
        assert_eq!(at("1 minute ago", &plus2), T - 60_000_000);
        assert_eq!(
            at("2026-04-27", &TimeZone::UTC),
            T - (9 * 3600 + 11 * 60 + 59) * 1_000_000
        );
    }

    #[test]
    fn zone_text() {
        assert_eq!(TimeZone::parse("UTC"), Some(TimeZone::UTC));
        assert_eq!(TimeZone::parse("-05:30").unwrap().to_string(), "-05:30");
        assert_eq!(TimeZone::parse("+0200").unwrap().to_string(), "+02:00");
        assert_eq!(
            TimeZone::parse("Europe/Berlin").unwrap().to_string(),
            "Europe/Berlin"
        );
        assert!(TimeZone::parse("europe/paris").is_some());
        for bad in [
            "+14:01",
            "Mars/Olympus",
            "",
            "../etc/passwd",
            "/etc/localtime",
            "SYSTEM",
            "+\u{baaa}0",
        ] {
            assert_eq!(TimeZone::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn named_zone_follows_daylight_saving() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            at("2026-01-15 12:00:00", &paris),
            utc("2026-01-15 11:00:00")
        );
        assert_eq!(
            at("2026-04-27 11:11:59", &paris),
            T,
            "CEST is UTC+2 in April"
        );
        assert_eq!(paris.offset_secs_at(T), 7200);
        assert_eq!(paris.offset_secs_at(utc("2026-01-15 11:00:00")), 3600);
    }

    #[test]
    fn wall_times_across_the_spring_and_autumn_changes() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        // 2026-03-29: clocks go 02:00 CET → 03:00 CEST at 01:00 UTC.
        let change = utc("2026-03-29 01:00:00");
        assert_eq!(at("2026-03-29 01:59:59", &paris), change - 1_000_000);
        assert_eq!(
            at("2026-03-29 02:30:00", &paris),
            change,
            "skipped wall time"
        );
        assert_eq!(at("2026-03-29 03:00:00", &paris), change);
        assert_eq!(at("2026-03-29 03:30:00", &paris), change + HOUR / 2);
        // 2026-10-25: clocks go 03:00 CEST → 02:00 CET at 01:00 UTC; 02:30 happens twice.
        assert_eq!(
            at("2026-10-25 02:30:00", &paris),
            utc("2026-10-25 00:30:00"),
            "first occurrence"
        );
        assert_eq!(
            at("2026-10-25 03:00:00", &paris),
            utc("2026-10-25 02:00:00")
        );
        assert_eq!(
            at("2026-10-25 01:59:59", &paris),
            utc("2026-10-24 23:59:59")
        );
    }

    #[test]
    fn southern_hemisphere_and_fixed_offsets_have_no_changes() {
        let sydney = TimeZone::parse("Australia/Sydney").unwrap();
        // January is summer (AEDT, UTC+11), July winter (AEST, UTC+10).
        assert_eq!(
            at("2026-01-10 11:00:00", &sydney),
            utc("2026-01-10 00:00:00")
        );
        assert_eq!(
            at("2026-07-10 10:00:00", &sydney),
            utc("2026-07-10 00:00:00")
        );
        let fixed = TimeZone::parse("+01:00").unwrap();
        assert_eq!(
            at("2026-03-29 02:30:00", &fixed),
            utc("2026-03-29 01:30:00")
        );
    }
}
