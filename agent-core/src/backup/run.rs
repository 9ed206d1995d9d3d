//! One run of a schedule: baselines of its tables on each of its sources, the copy to its
//! destination, then its retention. The outcome (per table and overall) goes to the history.

use std::sync::Arc;

use agent_api::backup::{BackupRun, RunStatus, RunTrigger, Schedule, TableRun};
use agent_api::baseline::BaselineRequest;
use tracing::{info, warn, Instrument};

use super::destination::Destination;
use super::BackupError;
use crate::App;

/// Records a new run of `schedule_id` and carries it out in the background; returns its id.
///
/// Errors: `NotFound` for an unknown schedule, `Busy` while a run of it is going.
pub fn start(app: Arc<App>, schedule_id: &str, trigger: RunTrigger) -> Result<String, BackupError> {
    let schedule = app.backups.schedule(schedule_id)?;
    let run = app.backups.begin(schedule_id, trigger)?;
    let id = run.id.clone();
    let span = tracing::info_span!("backup", schedule = %schedule.id, run = %run.id);
    tokio::spawn(
        async move {
            let run = execute(&app, &schedule, run).await;
            let status = run.status;
            if let Err(e) = app.backups.finish(run) {
                warn!(error = %e, "backup run result not stored");
            }
            info!(?status, "backup run finished");
        }
        .instrument(span),
    );
    Ok(id)
}

/// Takes the baselines, copies them, applies retention; the run as it ended.
async fn execute(app: &App, schedule: &Schedule, mut run: BackupRun) -> BackupRun {
    let sources: Vec<u32> = match schedule.server_id {
        Some(id) => vec![id],
        None => app.config.sources.iter().map(|s| s.server_id).collect(),
    };
    let destination = match schedule
        .destination
        .as_deref()
        .map(|d| Destination::open(app, d))
    {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return failed(run, format!("destination: {e}")),
        None => None,
    };
    let run_dir = destination
        .as_ref()
        .map(|_| super::destination::run_dir(schedule, &run));
    for server_id in sources {
        let req = BaselineRequest {
            server_id,
            tables: schedule.tables.clone(),
        };
        match crate::baseline::take::take(app, &req).await {
            Ok(resp) => {
                for b in resp.baselines {
                    run.rows += b.rows;
                    run.bytes += b.bytes;
                    run.tables.push(TableRun {
                        server_id,
                        schema: b.schema,
                        table: b.table,
                        status: RunStatus::Succeeded,
                        baseline_id: Some(b.id),
                        seq: Some(b.seq),
                        rows: b.rows,
                        bytes: b.bytes,
                        error: None,
                    });
                }
                app.backups.progress(&run);
            }
            Err(e) => {
                let msg = format!("source {server_id}: {e}");
                for t in &schedule.tables {
                    if let Ok((schema, table)) = super::split_table(t) {
                        run.tables.push(TableRun {
                            server_id,
                            schema,
                            table,
                            status: RunStatus::Failed,
                            baseline_id: None,
                            seq: None,
                            rows: 0,
                            bytes: 0,
                            error: Some(msg.clone()),
                        });
                    }
                }
                return failed(run, msg);
            }
        }
    }
    if let (Some(dest), Some(dir)) = (&destination, &run_dir) {
        run.destination = Some(dest.url_of(dir));
        if let Err(e) = dest.copy_run(app, dir, &mut run.tables).await {
            return failed(run, format!("copy to {}: {e}", dest.url_of(dir)));
        }
    }
    run.status = RunStatus::Succeeded;
    if let Err(e) = super::retention::apply(app, schedule, destination.as_ref(), &run).await {
        // The backup itself is complete; retention failing is reported on the run.
        run.error = Some(format!("retention: {e}"));
    }
    run
}

fn failed(mut run: BackupRun, error: String) -> BackupRun {
    warn!(run = %run.id, error = %error, "backup run failed");
    run.status = RunStatus::Failed;
    run.error = Some(error);
    run
}
