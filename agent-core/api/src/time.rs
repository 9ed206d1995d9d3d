//! Conversion between µs since the Unix epoch (UTC) and civil date-times.
//!
//! Proleptic Gregorian calendar, days counted from 1970-01-01 (the "days from civil" algorithm
//! published by Howard Hinnant). Both binaries use it: the shim to turn time literals into instants,
//! agent-core to print times in messages.

use crate::value::{Date, DateTime};

/// µs per second.
pub const MICROS_PER_SEC: i64 = 1_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC wall time of an instant given in µs since the Unix epoch.
pub fn datetime_from_unix_micros(us: i64) -> DateTime {
    let days = us.div_euclid(86_400 * MICROS_PER_SEC);
    let rem = us.rem_euclid(86_400 * MICROS_PER_SEC);
    let (year, month, day) = civil_from_days(days);
    let secs = rem / MICROS_PER_SEC;
    DateTime {
        date: Date {
            year: year.clamp(0, 9999) as u16,
            month: month as u8,
            day: day as u8,
        },
        hour: (secs / 3600) as u8,
        minute: (secs / 60 % 60) as u8,
        second: (secs % 60) as u8,
        micros: (rem % MICROS_PER_SEC) as u32,
    }
}

/// µs since the Unix epoch of a UTC wall time.
pub fn unix_micros_from_datetime(dt: &DateTime) -> i64 {
    let days = days_from_civil(
        i64::from(dt.date.year),
        u32::from(dt.date.month),
        u32::from(dt.date.day),
    );
    let secs = days * 86_400
        + i64::from(dt.hour) * 3600
        + i64::from(dt.minute) * 60
        + i64::from(dt.second);
    secs * MICROS_PER_SEC + i64::from(dt.micros)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of an instant, for messages.
pub fn format_unix_micros(us: i64) -> String {
    datetime_from_unix_micros(us).to_text(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_unix_micros(0), "1970-01-01 00:00:00.000000");
        assert_eq!(
            format_unix_micros(1_777_281_119_000_001),
            "2026-04-27 09:11:59.000001"
        );
        assert_eq!(format_unix_micros(-1), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn round_trips_over_four_centuries() {
        let mut us = -11_000_000_000_000_000i64;
        while us < 11_000_000_000_000_000 {
            let dt = datetime_from_unix_micros(us);
            assert_eq!(unix_micros_from_datetime(&dt), us, "{dt}");
            us += 86_399_999_999 * 7 + 13;
        }
    }
}
