//! Scheduled baselines: `baselines.schedule`, a five-field cron expression evaluated in UTC
//! (`minute hour day-of-month month day-of-week`; `*`, lists `1,15`, ranges `1-5`, steps `*/10`;
//! day-of-week 0 or 7 = Sunday). As in cron, when both day fields are restricted a day matches
//! if either does. The schedules themselves run in [`crate::backup::runner`].

/// A parsed cron expression: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

impl Cron {
    /// Parses `m h dom mon dow`; the error names the field at fault.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "{text:?} must have 5 fields: minute hour day-of-month month day-of-week"
            ));
        }
        let mut weekdays = field(fields[4], 0, 7, "day-of-week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Self {
            minutes: field(fields[0], 0, 59, "minute")?,
            hours: field(fields[1], 0, 23, "hour")?,
            days: field(fields[2], 1, 31, "day-of-month")?,
            months: field(fields[3], 1, 12, "month")?,
            weekdays,
            days_restricted: fields[2] != "*",
            weekdays_restricted: fields[4] != "*",
        })
    }

    /// Whether the minute starting at `unix_secs` (UTC) matches.
    pub fn matches(&self, unix_secs: i64) -> bool {
        let days = unix_secs.div_euclid(86_400);
        let secs = unix_secs.rem_euclid(86_400);
        let (minute, hour) = (secs / 60 % 60, secs / 3600);
        let date = crate::columnar::date_from_days(days as i32);
        let weekday = (days + 4).rem_euclid(7); // 1970-01-01 was a Thursday
        let bit = |set: u64, v: i64| set & (1 << v) != 0;
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => bit(self.days, i64::from(date.day)) || bit(self.weekdays, weekday),
            _ => bit(self.days, i64::from(date.day)) && bit(self.weekdays, weekday),
        };
        bit(self.minutes, minute)
            && bit(self.hours, hour)
            && bit(self.months, i64::from(date.month))
            && day_ok
    }
}

fn field(text: &str, min: u32, max: u32, name: &str) -> Result<u64, String> {
    let bad = || format!("{name} field {text:?} is not valid cron ({min}-{max})");
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let v = r.parse().map_err(|_| bad())?;
                    (v, if step > 1 { max } else { v })
                }
            },
        };
        if step == 0 || lo < min || hi > max || lo > hi {
            return Err(bad());
        }
        for v in (lo..=hi).step_by(step as usize) {
            set |= 1 << v;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_at_three() {
        let c = Cron::parse("0 3 * * *").unwrap();
        // 2026-11-26 03:00:00 UTC and one minute later.
        assert!(c.matches(1_795_662_000));
        assert!(!c.matches(1_795_662_060));
    }

    #[test]
    fn steps_lists_and_weekdays() {
        let c = Cron::parse("*/15 0-6,22 * * 4").unwrap();
        // 2026-11-26 is a Thursday; 22:45.
        assert!(c.matches(1_795_662_000 - 3 * 3600 + 86_400 - 2 * 3600 + 45 * 60));
        assert!(Cron::parse("0 3 * *").is_err());
        assert!(Cron::parse("61 3 * * *").unwrap_err().contains("minute"));
        assert!(Cron::parse("0 3 * * 7")
            .unwrap()
            .matches(1_795_662_000 + 3 * 86_400));
    }
}
