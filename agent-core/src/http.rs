//! The HTTP API (axum): `/health`, `/metrics`, `/v1/tables`, `/v1/flashback`, ...; every route
//! needs the bearer token, `/health` and `/metrics` only unless `health_public: true` (they show
//! binlog positions, GTIDs and table names). Bodies and error shape are defined in the `agent-api`
//! crate.

use std::sync::Arc;

use agent_api::catalog::{TablesQuery, TablesResponse};
use agent_api::diff::DiffRequest;
use agent_api::flashback::{FlashbackRequest, FlashbackResponse};
use agent_api::health::{HealthResponse, HealthStatus};
use agent_api::recover::RecoverRequest;
use agent_api::snapshot::SnapshotRequest;
use agent_api::{wire, ErrorBody, ErrorCode};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use tracing::{info_span, warn, Instrument};

use crate::reconstruct::{self, ApiError};
use crate::App;

/// The router over shared state.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/tables", get(tables))
        .route("/v1/flashback", post(flashback))
        .route("/v1/diff", post(diff))
        .route("/v1/snapshot", post(snapshot))
        .route("/v1/baselines", post(baselines))
        .route("/v1/baselines/import", post(baselines_import))
        .route("/v1/recover", post(recover))
        .route("/v1/archive/rotate", post(archive_rotate))
        .merge(crate::backup::http::routes())
        .with_state(app)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The one kind → status mapping lives with the kinds (`ErrorCode::http_status`).
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            warn!(code = ?self.code, message = %self.message, "request failed");
        }
        (status, Json(ErrorBody::new(self.code, self.message))).into_response()
    }
}

/// An `application/json` 200 answer serialized into one `Vec` (axum's `Json` writes through a
/// `BytesMut` writer grown from 128 bytes, which cost the point-query path about a third more
/// instructions per answer).
fn json_body<T: serde::Serialize>(value: &T) -> Response {
    typed_body(value, "application/json", |_| {})
}

/// `value` as JSON, then whatever `append` adds, answered with `content_type`.
fn typed_body<T: serde::Serialize>(
    value: &T,
    content_type: &'static str,
    append: impl FnOnce(&mut Vec<u8>),
) -> Response {
    match serde_json::to_vec(value) {
        Ok(mut bytes) => {
            append(&mut bytes);
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static(content_type),
                )],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            ApiError::new(ErrorCode::Internal, format!("encoding the answer: {e}")).into_response()
        }
    }
}

/// True when the request's `Accept` names the binary row form ([`agent_api::wire`]).
fn accepts_rows(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().map(str::trim) == Some(wire::ROWS_MEDIA_TYPE))
}

/// A flashback answer in the binary row form: the answer's JSON without rows, `\n`, row records.
fn rows_body(mut resp: FlashbackResponse) -> Response {
    let rows = std::mem::take(&mut resp.rows);
    typed_body(&resp, wire::ROWS_MEDIA_TYPE, |bytes| {
        bytes.push(b'\n');
        for row in &rows {
            wire::put_row(bytes, row);
        }
    })
}

pub(crate) fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), app.config.token.as_bytes()) => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "missing or invalid bearer token",
        )),
    }
}

/// Checks the bearer token, then reads the JSON body as a `what` request.
///
/// Errors: `Unauthorized` for a missing or wrong token, `BadRequest` naming `what` for a body
/// that is not a valid request.
pub(crate) fn authorized_request<T: serde::de::DeserializeOwned>(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    authorize(app, headers)?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("invalid {what} request: {e}"),
        )
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer check of `/health` and `/metrics`: none with `health_public: true`.
fn authorize_status(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    if app.config.health_public {
        return Ok(());
    }
    authorize(app, headers)
}

/// `GET /health`: 200 with `success: true` (`status` `ok`, or `degraded` with `warnings`: a
/// backup schedule whose last run failed or was missed), or 503 with `success: false`, `status`
/// `unavailable` and the reason while capture is stopped by a storage failure
/// ([`crate::storage`]).
async fn health(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize_status(&app, &headers)?;
    let mut sources: Vec<_> = app.sources.values().map(|s| s.health()).collect();
    sources.sort_by_key(|s| s.server_id);
    let reason = app.storage.failed();
    let status = if reason.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let warnings = app.backups.warnings();
    let health = match (&reason, warnings.is_empty()) {
        (Some(_), _) => HealthStatus::Unavailable,
        (None, false) => HealthStatus::Degraded,
        (None, true) => HealthStatus::Ok,
    };
    let body = HealthResponse {
        success: reason.is_none(),
        sources,
        reason,
        status: health,
        warnings,
    };
    Ok((status, Json(body)).into_response())
}

async fn tables(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<TablesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TablesResponse>, ApiError> {
    authorize(&app, &headers)?;
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadRequest, e.body_text()))?;
    if !app.sources.contains_key(&q.server_id) {
        return Err(ApiError::new(
            ErrorCode::TableNotFound,
            format!("unknown server_id {}", q.server_id),
        ));
    }
    let mut tables: Vec<_> = app
        .index
        .tables(q.server_id, q.schema.as_deref())
        .iter()
        .map(|t| t.to_info())
        .collect();
    // Tables no captured change has touched yet are known from their baselines.
    tables.extend(
        crate::baseline::tables(&app.config.data_dir, q.server_id, q.schema.as_deref())
            .into_iter()
            .filter(|t| !app.index.knows_table(q.server_id, &t.schema, &t.name))
            .map(|t| t.to_info()),
    );
    Ok(Json(TablesResponse {
        success: true,
        tables,
    }))
}

async fn flashback(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: FlashbackRequest = authorized_request(&app, &headers, &body, "flashback")?;
    let span = info_span!("flashback", server_id = req.server_id, schema = %req.schema, table = %req.table, as_of_us = req.as_of_us);
    let binary = accepts_rows(&headers);
    let answer = reconstruct::flashback_body(app.clone(), &req, binary)
        .instrument(span)
        .await?;
    let mut rx = match answer {
        reconstruct::FlashbackBody::Whole(resp) if binary => return Ok(rows_body(resp)),
        reconstruct::FlashbackBody::Whole(resp) => return Ok(json_body(&resp)),
        reconstruct::FlashbackBody::Stream(rx) => rx,
    };
    // The status waits for the first chunk (up to 64 KiB of rows, or the whole answer): a
    // failure found before it (a damaged or missing archive file, say) is still an error status
    // with its kind, not a broken body.
    let first = match rx.recv().await {
        Some(Ok(chunk)) => Bytes::from(chunk),
        Some(Err(e)) => return Err(e),
        None => {
            return Err(ApiError::new(
                ErrorCode::Internal,
                "the flashback range scan ended without an answer",
            ))
        }
    };
    // Past the first chunk an error aborts the body (see `reconstruct::range`), so the client
    // never takes a cut answer for a whole one.
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        let item = item.map(Bytes::from).map_err(|e| {
            warn!(code = ?e.code, message = %e.message, "flashback range broke off");
            std::io::Error::other(e.message)
        });
        Some((item, rx))
    });
    let stream = futures_util::stream::once(async move { Ok(first) }).chain(rest);
    let json = "application/json";
    Ok(streamed(
        stream,
        if binary { wire::ROWS_MEDIA_TYPE } else { json },
    ))
}

/// A chunked answer with its `Content-Type`; an `Err` item aborts the body.
fn streamed<S, E>(stream: S, content_type: &'static str) -> Response
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<axum::BoxError>,
{
    let mut resp = axum::body::Body::from_stream(stream).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    resp
}

async fn diff(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: DiffRequest = authorized_request(&app, &headers, &body, "diff")?;
    let span = info_span!("diff", server_id = req.server_id, table = %format!("{}.{}", req.schema, req.table));
    let resp = reconstruct::diff(&app, &req).instrument(span).await?;
    Ok(json_body(&resp))
}

async fn snapshot(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: SnapshotRequest = authorized_request(&app, &headers, &body, "snapshot")?;
    let span =
        info_span!("snapshot", server_id = req.server_id, schema = %req.schema, table = %req.table);
    let binary = accepts_rows(&headers);
    let rx = reconstruct::snapshot(app.clone(), &req, binary)
        .instrument(span)
        .await?;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(Bytes::from(chunk)), rx))
    });
    let ndjson = "application/x-ndjson";
    Ok(streamed(
        stream,
        if binary {
            wire::ROWS_MEDIA_TYPE
        } else {
            ndjson
        },
    ))
}

async fn recover(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: RecoverRequest = authorized_request(&app, &headers, &body, "recover")?;
    let span = info_span!("recover", server_id = req.server_id, table = %format!("{}.{}", req.schema, req.table));
    let resp = crate::recover::recover(&app, &req).instrument(span).await?;
    Ok(json_body(&resp))
}

async fn archive_rotate(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: crate::archive::rotate::RotateRequest =
        authorized_request(&app, &headers, &body, "rotate")?;
    let resp = crate::archive::rotate::on_request(app, &req).await?;
    Ok(json_body(&resp))
}

/// `POST /v1/baselines`: answers once the baselines are written (may take minutes for big tables).
async fn baselines(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: agent_api::baseline::BaselineRequest =
        authorized_request(&app, &headers, &body, "baseline")?;
    let span = info_span!("baseline", server_id = req.server_id);
    let resp = crate::baseline::take::take(&app, &req)
        .instrument(span)
        .await
        .map_err(|e| ApiError::new(crate::baseline::api_code(&e), e.to_string()))?;
    Ok(json_body(&resp))
}

/// `POST /v1/baselines/import`: a mydumper directory on this host becomes baselines.
async fn baselines_import(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: agent_api::baseline::ImportRequest =
        authorized_request(&app, &headers, &body, "import")?;
    let span = info_span!("baseline_import", server_id = req.server_id, dir = %req.dir);
    let resp = crate::baseline::mydumper::import(&app, &req)
        .instrument(span)
        .await
        .map_err(|e| ApiError::new(crate::baseline::api_code(&e), e.to_string()))?;
    Ok(json_body(&resp))
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize_status(&app, &headers) {
        return e.into_response();
    }
    let mut resp = crate::metrics::render(&app).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `GET path` over a raw HTTP/1.0 connection: the status code and body.
    async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n{auth}\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        (status, body)
    }

    /// `/health` and `/metrics` reveal positions and GTIDs: token-protected unless
    /// `health_public: true`; a storage failure makes `/health` 503 with the reason.
    #[tokio::test]
    async fn health_and_metrics_need_the_token_unless_public() {
        for public in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let extra = if public { "health_public: true\n" } else { "" };
            let app = crate::test_support::app(dir.path(), extra);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(axum::serve(listener, super::router(app.clone())).into_future());
            let open = if public { 200 } else { 401 };
            for path in ["/health", "/metrics"] {
                assert_eq!(
                    get(addr, path, None).await.0,
                    open,
                    "{path} public={public}"
                );
                assert_eq!(get(addr, path, Some("wrong")).await.0, open, "{path}");
                assert_eq!(get(addr, path, Some("t")).await.0, 200, "{path}");
            }
            assert_eq!(get(addr, "/v1/tables?server_id=1", None).await.0, 401);
            app.storage.fail("index storage: No space left on device");
            let (status, body) = get(addr, "/health", Some("t")).await;
            assert_eq!(status, 503, "{body}");
            assert!(
                body.contains("\"success\":false") && body.contains("No space left"),
                "{body}"
            );
            let (_, metrics) = get(addr, "/metrics", Some("t")).await;
            assert!(
                metrics.lines().any(|l| l == "agent_storage_failed 1"),
                "{metrics}"
            );
        }
    }
}
