//! The `/v1/backups/...` routes (bodies in [`agent_api::backup`]); every one needs the bearer
//! token.

use std::sync::Arc;

use agent_api::backup::{
    DeletedResponse, RunStartedResponse, RunTrigger, RunsQuery, RunsResponse, ScheduleRequest,
    ScheduleResponse, SchedulesResponse,
};
use agent_api::ErrorCode;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::BackupError;
use crate::http::{authorize, authorized_request};
use crate::reconstruct::ApiError;
use crate::App;

/// The backup routes, to be merged into [`crate::http::router`].
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/backups/schedules",
            get(list_schedules).post(create_schedule),
        )
        .route(
            "/v1/backups/schedules/{id}",
            get(get_schedule)
                .put(replace_schedule)
                .delete(delete_schedule),
        )
        .route("/v1/backups/schedules/{id}/run", post(run_now))
        .route("/v1/backups/runs", get(list_runs))
}

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        ApiError::new(e.api_code(), e.to_string())
    }
}

async fn list_schedules(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<SchedulesResponse>, ApiError> {
    authorize(&app, &headers)?;
    Ok(Json(SchedulesResponse {
        success: true,
        schedules: app.backups.schedules(),
    }))
}

async fn create_schedule(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: ScheduleRequest = authorized_request(&app, &headers, &body, "backup schedule")?;
    let schedule = app.backups.create(&app.config, &req)?;
    let body = ScheduleResponse {
        success: true,
        schedule,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn get_schedule(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ScheduleResponse>, ApiError> {
    authorize(&app, &headers)?;
    Ok(Json(ScheduleResponse {
        success: true,
        schedule: app.backups.schedule(&id)?,
    }))
}

async fn replace_schedule(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ScheduleResponse>, ApiError> {
    let req: ScheduleRequest = authorized_request(&app, &headers, &body, "backup schedule")?;
    Ok(Json(ScheduleResponse {
        success: true,
        schedule: app.backups.replace(&app.config, &id, &req)?,
    }))
}

async fn delete_schedule(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<DeletedResponse>, ApiError> {
    authorize(&app, &headers)?;
    app.backups.delete(&id)?;
    Ok(Json(DeletedResponse { success: true, id }))
}

/// Starts a run in the background: 202 with its id.
async fn run_now(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let run_id = super::run::start(app.clone(), &id, RunTrigger::Manual)?;
    let body = RunStartedResponse {
        success: true,
        run_id,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn list_runs(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RunsResponse>, ApiError> {
    authorize(&app, &headers)?;
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadRequest, e.body_text()))?;
    Ok(Json(RunsResponse {
        success: true,
        runs: app.backups.runs(&q)?,
    }))
}
