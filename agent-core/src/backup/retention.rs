//! Retention of a schedule's backups by count and age ([`agent_api::backup::KeepPolicy`]),
//! applied after each successful run: an expired run's copy at the destination is deleted, and so
//! are its baselines in `data_dir` unless one is the newest of its table. The newest successful
//! run is always kept. `baselines.keep` still caps the baselines each table keeps in `data_dir`.

use agent_api::backup::{BackupRun, Schedule, TableRun};
use tracing::{info, warn};

use super::destination::Destination;
use crate::capture::state::now_us;
use crate::App;

const DAY_US: i64 = 86_400_000_000;

/// The runs (oldest first, `current` last) that `schedule.keep` expires now.
pub fn expired<'a>(schedule: &Schedule, runs: &'a [BackupRun], now_us: i64) -> Vec<&'a BackupRun> {
    let n = runs.len();
    runs.iter()
        .enumerate()
        .take(n.saturating_sub(1))
        .filter(|(i, r)| {
            let by_count = schedule.keep.count.is_some_and(|c| n - i > c as usize);
            let by_age = schedule
                .keep
                .max_age_days
                .is_some_and(|d| now_us - r.started_at_us > i64::from(d) * DAY_US);
            by_count || by_age
        })
        .map(|(_, r)| r)
        .collect()
}

/// Expires the runs of `schedule` that its policy no longer keeps, `current` (just succeeded)
/// counted as the newest.
pub async fn apply(
    app: &App,
    schedule: &Schedule,
    destination: Option<&Destination>,
    current: &BackupRun,
) -> Result<(), String> {
    let mut runs = app.backups.kept_runs(&schedule.id);
    runs.retain(|r| r.id != current.id);
    runs.push(current.clone());
    let expired = expired(schedule, &runs, now_us());
    let mut done = Vec::new();
    for r in expired {
        if let (Some(dest), Some(url)) = (destination, &r.destination) {
            match dest.relative(url) {
                Some(dir) => {
                    let n = dest.delete_run(dir).await?;
                    info!(run = %r.id, objects = n, "expired backup copy deleted");
                }
                None => {
                    warn!(run = %r.id, url = %url, "expired backup is in another destination: left in place")
                }
            }
        }
        for t in &r.tables {
            remove_local(app, t)?;
        }
        done.push(r.id.clone());
    }
    if !done.is_empty() {
        app.backups.expired(&done).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Deletes a table's baseline written by an expired run, unless it is the table's newest.
fn remove_local(app: &App, t: &TableRun) -> Result<(), String> {
    let Some(id) = &t.baseline_id else {
        return Ok(());
    };
    let data_dir = &app.config.data_dir;
    let all = crate::baseline::list(data_dir, t.server_id, &t.schema, &t.table)
        .map_err(|e| e.to_string())?;
    let newest = all.last().map(|b| b.manifest.id.clone());
    let Some(b) = all
        .iter()
        .find(|b| &b.manifest.id == id && Some(id) != newest.as_ref())
    else {
        return Ok(());
    };
    let gone = crate::fsname::remove_dir_all_inside(&crate::baseline::root(data_dir), &b.dir);
    crate::baseline::changed();
    gone.map_err(|e| format!("{}: {e}", b.dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_api::backup::{KeepPolicy, RunStatus, RunTrigger, ScheduleOrigin};

    fn run(id: &str, at: i64) -> BackupRun {
        BackupRun {
            id: id.into(),
            schedule_id: "s".into(),
            trigger: RunTrigger::Scheduled,
            status: RunStatus::Succeeded,
            started_at_us: at,
            finished_at_us: Some(at),
            duration_ms: Some(0),
            rows: 0,
            bytes: 0,
            error: None,
            destination: None,
            expired_at_us: None,
            tables: Vec::new(),
        }
    }

    fn schedule(count: Option<u32>, max_age_days: Option<u32>) -> Schedule {
        Schedule {
            id: "s".into(),
            cron: "0 2 * * *".into(),
            server_id: None,
            tables: Vec::new(),
            keep: KeepPolicy {
                count,
                max_age_days,
            },
            destination: None,
            enabled: true,
            origin: ScheduleOrigin::Api,
            created_at_us: 0,
            updated_at_us: 0,
            next_run_us: None,
            last_run: None,
        }
    }

    #[test]
    fn count_and_age_expire_but_never_the_newest() {
        let now = 100 * DAY_US;
        let runs: Vec<_> = (0..5)
            .map(|i| run(&format!("r{i}"), now - (40 - i * 10) * DAY_US))
            .collect();
        let ids = |v: Vec<&BackupRun>| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(expired(&schedule(Some(2), None), &runs, now)),
            ["r0", "r1", "r2"]
        );
        // Ages 40, 30, 20, 10, 0 days; keep 15 days.
        assert_eq!(
            ids(expired(&schedule(None, Some(15)), &runs, now)),
            ["r0", "r1", "r2"]
        );
        assert_eq!(
            ids(expired(&schedule(Some(4), Some(35)), &runs, now)),
            ["r0"]
        );
        // Everything is old, yet the newest stays.
        assert_eq!(
            expired(&schedule(None, Some(1)), &runs, now + 100 * DAY_US).len(),
            4
        );
        assert!(expired(&schedule(None, None), &runs, now).is_empty());
    }
}
