//! The scheduler: once a minute, every enabled schedule whose cron matches that minute (UTC)
//! starts a run. At start-up, matches between the last minute checked before the stop and now
//! (at most a week back) are recorded as missed runs, one per schedule naming how many.

use std::sync::Arc;
use std::time::Duration;

use agent_api::backup::RunTrigger;
use tokio::sync::watch;
use tracing::warn;

use crate::baseline::schedule::Cron;
use crate::capture::state::now_us;
use crate::App;

const MINUTE_US: i64 = 60_000_000;

/// The start of the first minute after `after_us` that `cron` matches (µs since the epoch),
/// looking a year ahead.
pub fn next_match(cron: &Cron, after_us: i64) -> Option<i64> {
    let first = after_us.div_euclid(MINUTE_US) + 1;
    (first..first + 366 * 24 * 60)
        .find(|m| cron.matches(m * 60))
        .map(|m| m * MINUTE_US)
}

/// Runs the scheduler until `shutdown` turns true.
pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let now_minute = now_us().div_euclid(MINUTE_US);
    if let Some(last) = app.backups.checked_minute() {
        record_missed(&app, last, now_minute);
    }
    let mut last_minute = now_minute;
    save_checked(&app, now_minute);
    loop {
        let now = now_us();
        let next = now.div_euclid(MINUTE_US) + 1;
        let wait = Duration::from_micros((next * MINUTE_US - now).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let minute = now_us().div_euclid(MINUTE_US);
        if minute <= last_minute {
            continue;
        }
        // A stalled process (suspended VM) may skip minutes: those matches were missed.
        if minute > last_minute + 1 {
            record_missed(&app, last_minute, minute - 1);
        }
        last_minute = minute;
        for s in app.backups.schedules() {
            let due = s.enabled && Cron::parse(&s.cron).is_ok_and(|c| c.matches(minute * 60));
            if due {
                if let Err(e) = super::run::start(app.clone(), &s.id, RunTrigger::Scheduled) {
                    warn!(schedule = %s.id, error = %e, "scheduled backup did not start");
                }
            }
        }
        save_checked(&app, minute);
    }
}

fn save_checked(app: &App, minute: i64) {
    if let Err(e) = app.backups.set_checked_minute(minute) {
        warn!(error = %e, "backup scheduler state not saved");
    }
}

/// Records, per enabled schedule, the cron matches in the minutes after `last_checked` up to and
/// including `until` (Unix minutes) as one missed run at the newest of them.
fn record_missed(app: &App, last_checked: i64, until: i64) {
    let from = (last_checked + 1).max(until - MISSED_LOOKBACK);
    for s in app.backups.schedules().into_iter().filter(|s| s.enabled) {
        let Ok(cron) = Cron::parse(&s.cron) else {
            continue;
        };
        let matches: Vec<i64> = (from..=until).filter(|m| cron.matches(m * 60)).collect();
        let Some(&newest) = matches.last() else {
            continue;
        };
        let why = match matches.len() {
            1 => "the agent was not running when the schedule was due".to_owned(),
            n => format!("the agent was not running when the schedule was due ({n} times)"),
        };
        warn!(schedule = %s.id, missed = matches.len(), "backup runs missed");
        if let Err(e) = app.backups.missed(&s.id, newest * MINUTE_US, &why) {
            warn!(schedule = %s.id, error = %e, "missed backup run not recorded");
        }
    }
}

/// How far back missed matches are looked for, minutes.
const MISSED_LOOKBACK: i64 = 7 * 24 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_match_is_the_next_minute_that_matches() {
        let c = Cron::parse("0 3 * * *").unwrap();
        // 2026-11-26 03:00:00 UTC.
        let at = 1_795_662_000 * 1_000_000;
        assert_eq!(next_match(&c, at - 1), Some(at));
        assert_eq!(next_match(&c, at), Some(at + 86_400_000_000));
        let never = Cron::parse("0 0 31 2 *").unwrap();
        assert_eq!(next_match(&never, at), None);
    }

    #[test]
    fn matches_while_down_are_one_missed_run() {
        use agent_api::backup::{RunStatus, RunsQuery};
        let dir = tempfile::tempdir().unwrap();
        let app = crate::test_support::app(dir.path(), "");
        let req = serde_json::from_value(serde_json::json!({ "cron": "*/10 * * * *" })).unwrap();
        let s = app.backups.create(&app.config, &req).unwrap();
        // Down from 03:00 (checked) to 04:00: 03:10 ... 04:00 matched, six times.
        let at = 1_795_662_000 / 60;
        record_missed(&app, at, at + 60);
        let runs = app.backups.runs(&RunsQuery::default()).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(
            (runs[0].status, runs[0].schedule_id.as_str()),
            (RunStatus::Missed, s.id.as_str())
        );
        assert_eq!(runs[0].started_at_us, (at + 60) * MINUTE_US);
        assert!(runs[0].error.as_deref().unwrap().contains("6 times"));
        assert!(app.backups.warnings()[0].contains("was missed"));
    }
}
