//! Backup schedules and their run history (`/v1/backups/...`, types in [`agent_api::backup`]).
//!
//! A run takes baselines ([`crate::baseline::take`]) of a schedule's tables, records per table
//! what was written, copies the files to the schedule's destination ([`destination`]; sealed by
//! [`crate::crypt`] when a key file is configured) and applies the schedule's retention.
//!
//! Everything lives in `data_dir/backups/state.json` (written whole to a temporary file, fsynced,
//! renamed): schedules, the newest [`MAX_RUNS`] runs, and the last minute the scheduler checked,
//! from which a restart finds the cron matches it missed while the agent was down. A run found
//! `running` at start-up was cut short by a stop and is recorded as failed.
//!
//! `baselines.schedule` in `agent.yaml` bootstraps the schedule `config` the first time the agent
//! starts with it; from then on the API owns it (edit or delete it there).

pub mod destination;
pub mod http;
pub mod metrics;
pub mod retention;
pub mod run;
pub mod runner;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use agent_api::backup::{
    BackupRun, KeepPolicy, RunStatus, RunTrigger, RunsQuery, Schedule, ScheduleOrigin,
    ScheduleRequest,
};
use serde::{Deserialize, Serialize};

use crate::baseline::schedule::Cron;
use crate::capture::state::now_us;
use crate::config::Config;

/// Runs kept in the history (all schedules together); older ones are forgotten.
pub const MAX_RUNS: usize = 2_000;
/// Runs answered by `GET /v1/backups/runs` without `limit`.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit`.
pub const MAX_LIMIT: usize = 1_000;

/// Failures of the schedule store and of requests against it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A request field is invalid (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// No schedule has this id.
    #[error("no backup schedule with id {0:?}")]
    NotFound(String),
    /// A run of this schedule is still going.
    #[error("backup schedule {schedule:?} is already running ({run})")]
    Busy {
        /// The schedule.
        schedule: String,
        /// The run still going.
        run: String,
    },
    /// `state.json` cannot be read or written.
    #[error("backup state {path}: {message}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

impl BackupError {
    /// The protocol-neutral code: the caller's mistakes are `BadRequest`/`TableNotFound`, a
    /// store failure is ours.
    pub fn api_code(&self) -> agent_api::ErrorCode {
        use agent_api::ErrorCode;
        match self {
            BackupError::Invalid(_) | BackupError::Busy { .. } => ErrorCode::BadRequest,
            BackupError::NotFound(_) => ErrorCode::TableNotFound,
            BackupError::Store { .. } => ErrorCode::Internal,
        }
    }
}

/// The persisted state (`state.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// Number of the last schedule id handed out.
    #[serde(default)]
    last_schedule: u64,
    /// Number of the last run id handed out.
    #[serde(default)]
    last_run: u64,
    /// The last minute (Unix minutes) the scheduler looked at.
    #[serde(default)]
    checked_minute: Option<i64>,
    /// Schedules, by id (`next_run_us`/`last_run` are not stored).
    #[serde(default)]
    schedules: Vec<Schedule>,
    /// Runs, oldest first.
    #[serde(default)]
    runs: Vec<BackupRun>,
}

/// Schedules and runs of one agent.
#[derive(Debug)]
pub struct Backups {
    path: PathBuf,
    state: Mutex<State>,
    /// Schedules with a run going in this process.
    running: Mutex<HashSet<String>>,
    /// Runs finished since the process started, by status (succeeded, failed, missed).
    pub(crate) finished: metrics::RunCounters,
}

impl Backups {
    /// Loads `data_dir/backups/state.json` (bootstrapping `config` from `baselines.schedule`
    /// when the file does not exist yet) and fails runs a stop cut short.
    pub fn open(config: &Config) -> Result<Self, BackupError> {
        let dir = config.data_dir.join("backups");
        let path = dir.join("state.json");
        let store_err = |e: &dyn std::fmt::Display| BackupError::Store {
            path: path.clone(),
            message: e.to_string(),
        };
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| store_err(&e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bootstrap(config),
            Err(e) => return Err(store_err(&e)),
        };
        let backups = Self {
            path,
            state: Mutex::new(state),
            running: Mutex::new(HashSet::new()),
            finished: metrics::RunCounters::default(),
        };
        backups.update(|s| {
            let now = now_us();
            for r in s.runs.iter_mut().filter(|r| r.status == RunStatus::Running) {
                r.status = RunStatus::Failed;
                r.error = Some("the agent stopped before the run finished".into());
                finish_times(r, now);
            }
            Ok(())
        })?;
        Ok(backups)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `change` and writes the state durably; on a write failure the change is undone.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, BackupError>,
    ) -> Result<T, BackupError> {
        let mut state = self.lock();
        let before = serde_json::to_vec(&*state).map_err(|e| self.store_err(&e))?;
        let out = change(&mut state)?;
        if let Err(e) = self.write(&state) {
            if let Ok(old) = serde_json::from_slice(&before) {
                *state = old;
            }
            return Err(e);
        }
        Ok(out)
    }

    fn store_err(&self, e: &dyn std::fmt::Display) -> BackupError {
        BackupError::Store {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn write(&self, state: &State) -> Result<(), BackupError> {
        use std::io::Write;
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| self.store_err(&e))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.store_err(&e))?;
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| self.store_err(&e))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| self.store_err(&e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.store_err(&e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| self.store_err(&e))
    }

    /// Every schedule with its next match and last run, by id.
    pub fn schedules(&self) -> Vec<Schedule> {
        let state = self.lock();
        let mut out: Vec<_> = state.schedules.iter().map(|s| view(&state, s)).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// One schedule with its next match and last run.
    pub fn schedule(&self, id: &str) -> Result<Schedule, BackupError> {
        let state = self.lock();
        state
            .schedules
            .iter()
            .find(|s| s.id == id)
            .map(|s| view(&state, s))
            .ok_or_else(|| BackupError::NotFound(id.into()))
    }

    /// Creates a schedule from a validated request.
    pub fn create(&self, config: &Config, req: &ScheduleRequest) -> Result<Schedule, BackupError> {
        validate(config, req)?;
        let id = self.update(|s| {
            s.last_schedule += 1;
            let id = format!("bkp-{}", s.last_schedule);
            let now = now_us();
            s.schedules
                .push(stored(id.clone(), req, ScheduleOrigin::Api, now, now));
            Ok(id)
        })?;
        self.schedule(&id)
    }

    /// Replaces a schedule's settings (its id, origin and history stay).
    pub fn replace(
        &self,
        config: &Config,
        id: &str,
        req: &ScheduleRequest,
    ) -> Result<Schedule, BackupError> {
        validate(config, req)?;
        self.update(|s| {
            let old = s
                .schedules
                .iter_mut()
                .find(|x| x.id == id)
                .ok_or_else(|| BackupError::NotFound(id.into()))?;
            *old = stored(id.into(), req, old.origin, old.created_at_us, now_us());
            Ok(())
        })?;
        self.schedule(id)
    }

    /// Deletes a schedule; its runs stay in the history.
    pub fn delete(&self, id: &str) -> Result<(), BackupError> {
        self.update(|s| {
            let before = s.schedules.len();
            s.schedules.retain(|x| x.id != id);
            match s.schedules.len() < before {
                true => Ok(()),
                false => Err(BackupError::NotFound(id.into())),
            }
        })
    }

    /// Runs matching `query`, newest first.
    pub fn runs(&self, query: &RunsQuery) -> Result<Vec<BackupRun>, BackupError> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(BackupError::Invalid(format!(
                "limit must be 1-{MAX_LIMIT}, not {limit}"
            )));
        }
        let table = query.table.as_deref().map(split_table).transpose()?;
        let state = self.lock();
        let runs = state.runs.iter().rev();
        let runs = runs.filter(|r| {
            query
                .schedule_id
                .as_ref()
                .is_none_or(|s| &r.schedule_id == s)
        });
        let mut out = Vec::new();
        for r in runs {
            let mut r = r.clone();
            if let Some((schema, name)) = &table {
                r.tables.retain(|t| {
                    t.schema.eq_ignore_ascii_case(schema) && t.table.eq_ignore_ascii_case(name)
                });
                if r.tables.is_empty() {
                    continue;
                }
            }
            out.push(r);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// One run by id.
    pub fn run(&self, run_id: &str) -> Option<BackupRun> {
        self.lock().runs.iter().find(|r| r.id == run_id).cloned()
    }

    /// Records a new `running` run of `schedule_id`, unless one is going already (then
    /// [`BackupError::Busy`]; a scheduled trigger records that as a missed run).
    pub fn begin(&self, schedule_id: &str, trigger: RunTrigger) -> Result<BackupRun, BackupError> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains(schedule_id) {
            let busy_run = self
                .lock()
                .runs
                .iter()
                .rev()
                .find(|r| r.schedule_id == schedule_id && r.status == RunStatus::Running)
                .map_or_else(|| "a run".to_owned(), |r| r.id.clone());
            let err = BackupError::Busy {
                schedule: schedule_id.into(),
                run: busy_run,
            };
            if trigger == RunTrigger::Scheduled {
                self.missed(schedule_id, now_us(), &err.to_string())?;
            }
            return Err(err);
        }
        let run = self.update(|s| {
            if !s.schedules.iter().any(|x| x.id == schedule_id) {
                return Err(BackupError::NotFound(schedule_id.into()));
            }
            let run = new_run(s, schedule_id, trigger, RunStatus::Running, now_us());
            s.runs.push(run.clone());
            trim(s);
            Ok(run)
        })?;
        running.insert(schedule_id.to_owned());
        Ok(run)
    }

    /// Stores the final state of a run begun with [`Self::begin`].
    pub fn finish(&self, mut run: BackupRun) -> Result<(), BackupError> {
        finish_times(&mut run, now_us());
        self.finished.count(run.status);
        let schedule = run.schedule_id.clone();
        let stored = self.update(|s| {
            if let Some(r) = s.runs.iter_mut().find(|r| r.id == run.id) {
                *r = run;
            }
            Ok(())
        });
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&schedule);
        stored
    }

    /// Updates the rows/bytes/tables of a run while it goes (not persisted until it finishes).
    pub fn progress(&self, run: &BackupRun) {
        if let Some(r) = self.lock().runs.iter_mut().find(|r| r.id == run.id) {
            *r = run.clone();
        }
    }

    /// Records that the cron of `schedule_id` matched at `at_us` but no run started.
    pub fn missed(&self, schedule_id: &str, at_us: i64, why: &str) -> Result<(), BackupError> {
        self.finished.count(RunStatus::Missed);
        self.update(|s| {
            let mut run = new_run(
                s,
                schedule_id,
                RunTrigger::Scheduled,
                RunStatus::Missed,
                at_us,
            );
            run.error = Some(why.into());
            finish_times(&mut run, at_us);
            s.runs.push(run);
            trim(s);
            Ok(())
        })
    }

    /// The last minute the scheduler looked at (Unix minutes).
    pub fn checked_minute(&self) -> Option<i64> {
        self.lock().checked_minute
    }

    /// Records the last minute the scheduler looked at.
    pub fn set_checked_minute(&self, minute: i64) -> Result<(), BackupError> {
        self.update(|s| {
            s.checked_minute = Some(minute);
            Ok(())
        })
    }

    /// Marks runs whose files retention deleted.
    pub fn expired(&self, run_ids: &[String]) -> Result<(), BackupError> {
        let now = now_us();
        self.update(|s| {
            for r in s.runs.iter_mut().filter(|r| run_ids.contains(&r.id)) {
                r.expired_at_us = Some(now);
            }
            Ok(())
        })
    }

    /// One sentence per enabled schedule whose newest finished run failed or was missed: the
    /// reasons `/health` gives for `degraded`.
    pub fn warnings(&self) -> Vec<String> {
        let state = self.lock();
        let mut out = Vec::new();
        for s in state.schedules.iter().filter(|s| s.enabled) {
            let last = state
                .runs
                .iter()
                .rev()
                .find(|r| r.schedule_id == s.id && r.status != RunStatus::Running);
            let Some(r) =
                last.filter(|r| matches!(r.status, RunStatus::Failed | RunStatus::Missed))
            else {
                continue;
            };
            let what = match r.status {
                RunStatus::Missed => "was missed",
                _ => "failed",
            };
            out.push(format!(
                "backup schedule {}: last run {} {what} at {}: {}",
                s.id,
                r.id,
                agent_api::time::format_unix_micros(r.started_at_us),
                r.error.as_deref().unwrap_or("no error recorded")
            ));
        }
        out
    }

    /// A snapshot of the schedules and the newest run of each, for `/metrics`.
    pub(crate) fn latest(&self) -> Vec<(Schedule, Option<BackupRun>)> {
        let state = self.lock();
        state
            .schedules
            .iter()
            .map(|s| {
                let last = state
                    .runs
                    .iter()
                    .rev()
                    .find(|r| r.schedule_id == s.id && r.status != RunStatus::Running)
                    .cloned();
                (s.clone(), last)
            })
            .collect()
    }

    /// Start of the newest successful run of a schedule in the history, µs since the epoch.
    pub fn last_success_us(&self, schedule_id: &str) -> Option<i64> {
        self.lock()
            .runs
            .iter()
            .rev()
            .find(|r| r.schedule_id == schedule_id && r.status == RunStatus::Succeeded)
            .map(|r| r.started_at_us)
    }

    /// The finished, unexpired, successful runs of a schedule, oldest first (retention input).
    pub(crate) fn kept_runs(&self, schedule_id: &str) -> Vec<BackupRun> {
        self.lock()
            .runs
            .iter()
            .filter(|r| {
                r.schedule_id == schedule_id
                    && r.status == RunStatus::Succeeded
                    && r.expired_at_us.is_none()
            })
            .cloned()
            .collect()
    }
}

/// The state of a fresh data dir: the `config` schedule when `baselines.schedule` is set.
fn bootstrap(config: &Config) -> State {
    let mut state = State::default();
    if let Some(cron) = &config.baselines.schedule {
        let now = now_us();
        let req = ScheduleRequest {
            cron: cron.clone(),
            server_id: None,
            tables: Vec::new(),
            keep: KeepPolicy::default(),
            destination: None,
            enabled: true,
        };
        state.schedules.push(stored(
            "config".into(),
            &req,
            ScheduleOrigin::Config,
            now,
            now,
        ));
    }
    state
}

fn stored(
    id: String,
    req: &ScheduleRequest,
    origin: ScheduleOrigin,
    created_at_us: i64,
    updated_at_us: i64,
) -> Schedule {
    Schedule {
        id,
        cron: req.cron.trim().to_owned(),
        server_id: req.server_id,
        tables: req.tables.clone(),
        keep: req.keep.clone(),
        destination: req.destination.clone(),
        enabled: req.enabled,
        origin,
        created_at_us,
        updated_at_us,
        next_run_us: None,
        last_run: None,
    }
}

/// A stored schedule with its next match and newest run filled in.
fn view(state: &State, s: &Schedule) -> Schedule {
    let mut out = s.clone();
    out.last_run = state
        .runs
        .iter()
        .rev()
        .find(|r| r.schedule_id == s.id)
        .cloned();
    out.next_run_us = match s.enabled {
        true => Cron::parse(&s.cron)
            .ok()
            .and_then(|c| runner::next_match(&c, now_us())),
        false => None,
    };
    out
}

fn new_run(
    s: &mut State,
    schedule_id: &str,
    trigger: RunTrigger,
    status: RunStatus,
    at_us: i64,
) -> BackupRun {
    s.last_run += 1;
    BackupRun {
        id: format!("run-{}", s.last_run),
        schedule_id: schedule_id.into(),
        trigger,
        status,
        started_at_us: at_us,
        finished_at_us: None,
        duration_ms: None,
        rows: 0,
        bytes: 0,
        error: None,
        destination: None,
        expired_at_us: None,
        tables: Vec::new(),
    }
}

fn finish_times(r: &mut BackupRun, now: i64) {
    let end = now.max(r.started_at_us);
    r.finished_at_us = Some(end);
    r.duration_ms = Some(((end - r.started_at_us) / 1000) as u64);
}

fn trim(s: &mut State) {
    let extra = s.runs.len().saturating_sub(MAX_RUNS);
    s.runs.drain(..extra);
}

/// Checks a create/replace request against the configuration; the error names the field.
pub fn validate(config: &Config, req: &ScheduleRequest) -> Result<(), BackupError> {
    let bad = |m: String| Err(BackupError::Invalid(m));
    if let Err(e) = Cron::parse(req.cron.trim()) {
        return bad(format!("cron: {e}"));
    }
    if let Some(id) = req.server_id {
        if !config.sources.iter().any(|s| s.server_id == id) {
            return bad(format!(
                "server_id: no configured source has server_id {id}"
            ));
        }
    }
    for t in &req.tables {
        split_table(t).map_err(|e| BackupError::Invalid(format!("tables: {e}")))?;
    }
    if req.keep.count == Some(0) {
        return bad("keep.count must be at least 1".into());
    }
    if req
        .keep
        .max_age_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return bad("keep.max_age_days must be 1-3650".into());
    }
    if let Some(d) = &req.destination {
        destination::parse(d).map_err(|e| BackupError::Invalid(format!("destination: {e}")))?;
    }
    Ok(())
}

/// `schema.table` → its two names; the error quotes the text.
pub fn split_table(text: &str) -> Result<(String, String), BackupError> {
    match text.split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => Ok((s.to_owned(), t.to_owned())),
        _ => Err(BackupError::Invalid(format!(
            "{text:?} is not schema.table"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cron: &str) -> ScheduleRequest {
        serde_json::from_value(serde_json::json!({ "cron": cron, "tables": ["shop.orders"] }))
            .unwrap()
    }

    #[test]
    fn schedules_and_history_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::test_support::app(dir.path(), "");
        let b = &app.backups;
        let s = b.create(&app.config, &request("0 2 * * *")).unwrap();
        assert_eq!((s.id.as_str(), s.origin), ("bkp-1", ScheduleOrigin::Api));
        let err = b.create(&app.config, &request("0 2 * *")).unwrap_err();
        assert!(err.to_string().starts_with("cron:"), "{err}");
        let mut off = request("5 2 * * *");
        off.enabled = false;
        assert!(b
            .replace(&app.config, "bkp-1", &off)
            .unwrap()
            .next_run_us
            .is_none());
        b.replace(&app.config, "bkp-1", &request("0 2 * * *"))
            .unwrap();
        let run = b.begin("bkp-1", RunTrigger::Manual).unwrap();
        assert!(matches!(
            b.begin("bkp-1", RunTrigger::Manual),
            Err(BackupError::Busy { .. })
        ));
        let mut failed = run.clone();
        failed.status = RunStatus::Failed;
        failed.error = Some("source 1: connection refused".into());
        b.finish(failed).unwrap();
        let w = b.warnings();
        assert!(
            w.len() == 1 && w[0].contains("bkp-1") && w[0].contains("refused"),
            "{w:?}"
        );
        // A second run left `running` by a stop is failed on reopen.
        b.begin("bkp-1", RunTrigger::Manual).unwrap();
        let again = Backups::open(&app.config).unwrap();
        let runs = again.runs(&RunsQuery::default()).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status, RunStatus::Failed);
        assert!(runs[0].error.as_deref().unwrap().contains("agent stopped"));
        assert_eq!(again.schedule("bkp-1").unwrap().cron, "0 2 * * *");
        let q = RunsQuery {
            table: Some("shop.nope".into()),
            ..RunsQuery::default()
        };
        assert!(again.runs(&q).unwrap().is_empty());
        again.delete("bkp-1").unwrap();
        assert!(again.warnings().is_empty());
        assert!(matches!(
            again.delete("bkp-1"),
            Err(BackupError::NotFound(_))
        ));
    }

    #[test]
    fn config_schedule_bootstraps_once_and_missed_runs_show() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "baselines:\n  schedule: \"0 3 * * *\"\n";
        let app = crate::test_support::app(dir.path(), yaml);
        let all = app.backups.schedules();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].id.as_str(), all[0].origin),
            ("config", ScheduleOrigin::Config)
        );
        app.backups.delete("config").unwrap();
        // Deleted through the API: agent.yaml does not bring it back.
        let again = Backups::open(&app.config).unwrap();
        assert!(again.schedules().is_empty());
        let s = again.create(&app.config, &request("0 3 * * *")).unwrap();
        again.missed(&s.id, 0, "the agent was not running").unwrap();
        let w = again.warnings();
        assert!(w[0].contains("was missed"), "{w:?}");
        let mut metrics = String::new();
        metrics::render(&again, &mut metrics);
        assert!(metrics.contains("agent_backup_last_run_failed{schedule_id=\"bkp-1\"} 1"));
        assert!(metrics.contains("agent_backup_runs_total{status=\"missed\"} 1"));
    }
}
