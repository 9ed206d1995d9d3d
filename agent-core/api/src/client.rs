//! `AgentClient`: the shim's HTTP(S) client for agent-core (reqwest on rustls with the ring provider).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::catalog::{TablesQuery, TablesResponse};
use crate::diff::{DiffRequest, DiffResponse};
use crate::error::ErrorBody;
use crate::flashback::{FlashbackRequest, FlashbackResponse};
use crate::health::HealthResponse;
use crate::plain_http::PlainPool;
use crate::recover::{RecoverRequest, RecoverResponse};
use crate::snapshot::{SnapshotEnd, SnapshotHeader, SnapshotLine, SnapshotRequest};
use crate::value::Value;
use crate::wire::{self, Record, WireError, ROWS_MEDIA_TYPE};

/// Why a call to the agent failed, in the classes the shim's error contract distinguishes.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: DNS failure, connection refused or reset, the agent died mid-response.
    #[error("Can't connect to dbtrail backend: {0}")]
    Unreachable(String),
    /// The agent answered a non-2xx status; `body` is its error body when it sent one.
    #[error("dbtrail backend returned HTTP {status}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The parsed `{ "success": false, ... }` body, if any.
        body: Option<ErrorBody>,
    },
    /// A 2xx answer with `success: false`.
    #[error("{0}")]
    Failure(ErrorBody),
    /// A 2xx answer that is not the documented JSON.
    #[error("invalid response from dbtrail backend: {0}")]
    Decode(String),
    /// The client could not be built (bad URL, TLS setup).
    #[error("invalid agent client configuration: {0}")]
    Config(String),
}

/// How long a client waits for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP connection (5 s by default).
    pub connect: Duration,
    /// Each wait for bytes of an answer: the status and headers, then each chunk of the body (so
    /// a long snapshot stream is fine while rows keep coming). `None`: no limit, the caller
    /// cancels by dropping the future. A call past it fails with [`ClientError::Unreachable`].
    pub read: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            read: None,
        }
    }
}

/// Idle keep-alive connections kept per agent by the reqwest pool.
const MAX_IDLE_PER_HOST: usize = 16;
/// An idle keep-alive connection (either pool) is closed after this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for one agent-core base URL (`http://host:8600` or `https://...`) and bearer token.
///
/// Cheap to clone (reqwest pools connections inside). No request timeout is set: the shim imposes
/// none by default, and dropping the future (client disconnect) cancels the call.
#[derive(Debug, Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    base_url: String,
    /// `Bearer <token>`, built once and marked sensitive (kept out of debug output).
    authorization: HeaderValue,
    /// `POST /v1/flashback`, parsed once: the point-query path would otherwise parse the URL text
    /// on every call (~17k instructions a query under callgrind).
    flashback_url: reqwest::Url,
    /// Keep-alive connections for `/v1/flashback` when the agent is plain `http://`
    /// ([`crate::plain_http`]); `https://` goes through reqwest.
    plain: Option<Arc<PlainPool>>,
}

impl AgentClient {
    /// Builds a client; `base_url` without a trailing slash is fine either way.
    ///
    /// Errors: [`ClientError::Config`] when the URL has no `http://`/`https://` scheme or does not
    /// parse, the token is not a valid header value, or TLS fails to initialise.
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        Self::with_timeouts(base_url, token, Timeouts::default())
    }

    /// [`AgentClient::new`] with explicit [`Timeouts`].
    pub fn with_timeouts(
        base_url: &str,
        token: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ClientError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "agent url {base_url:?} must start with http:// or https://"
            )));
        }
        // A second install attempt fails harmlessly when the provider is already set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST);
        if let Some(read) = timeouts.read {
            builder = builder.read_timeout(read);
        }
        let http = builder
            .tcp_nodelay(true)
            // agent-core never redirects; following would re-parse every answer's URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        let flashback_url = reqwest::Url::parse(&format!("{base_url}/v1/flashback"))
            .map_err(|e| ClientError::Config(format!("agent url {base_url:?}: {e}")))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::Config("agent token is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        let plain = match (flashback_url.scheme(), flashback_url.host_str()) {
            ("http", Some(host)) => {
                let port = flashback_url.port_or_known_default().unwrap_or(80);
                Some(Arc::new(PlainPool::new(
                    &format!("{host}:{port}"),
                    timeouts,
                )?))
            }
            _ => None,
        };
        Ok(Self {
            http,
            base_url,
            authorization,
            flashback_url,
            plain,
        })
    }

    /// The base URL this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<HealthResponse, ClientError> {
        let req = self.http.get(format!("{}/health", self.base_url));
        self.send(req).await
    }

    /// `GET /v1/tables?server_id=&schema=`.
    pub async fn tables(&self, query: &TablesQuery) -> Result<TablesResponse, ClientError> {
        let mut url = format!("{}/v1/tables?server_id={}", self.base_url, query.server_id);
        if let Some(schema) = &query.schema {
            url.push_str("&schema=");
            url.push_str(&percent_encode(schema));
        }
        self.send(self.http.get(url)).await
    }

    /// `POST /v1/flashback`.
    ///
    /// Asks for the binary row form ([`crate::wire`]) and reads whichever form the agent answers.
    pub async fn flashback(
        &self,
        request: &FlashbackRequest,
    ) -> Result<FlashbackResponse, ClientError> {
        let (status, content_type, body) = match &self.plain {
            Some(pool) => {
                let body =
                    serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
                let answer = pool
                    .post(self.flashback_url.path(), &self.authorization, body)
                    .await?;
                (answer.status, answer.content_type, answer.body)
            }
            None => {
                let resp = self
                    .post_request(self.flashback_url.clone(), request)?
                    .header(reqwest::header::ACCEPT, ROWS_MEDIA_TYPE)
                    .header(AUTHORIZATION, self.authorization.clone())
                    .send()
                    .await
                    .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
                let status = resp.status().as_u16();
                let content_type = resp.headers().get(CONTENT_TYPE).cloned();
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
                (status, content_type, body)
            }
        };
        if !(200..300).contains(&status) {
            return Err(http_error(status, &body));
        }
        decode_flashback(is_rows(content_type.as_ref()), &body)
    }

    /// `POST /v1/diff`.
    pub async fn diff(&self, request: &DiffRequest) -> Result<DiffResponse, ClientError> {
        self.post(self.url("/v1/diff"), request).await
    }

    /// `POST /v1/recover`: the reversal script for the selected changes (nothing is executed).
    pub async fn recover(&self, request: &RecoverRequest) -> Result<RecoverResponse, ClientError> {
        self.post(self.url("/v1/recover"), request).await
    }

    /// `POST /v1/archive/rotate`: rotates index ranges into archives (and prunes) now.
    pub async fn rotate_archives(
        &self,
        request: &crate::archive::RotateRequest,
    ) -> Result<crate::archive::RotationReport, ClientError> {
        self.post(self.url("/v1/archive/rotate"), request).await
    }

    /// `POST /v1/baselines`: takes baselines and answers when they are written.
    pub async fn baselines(
        &self,
        request: &crate::baseline::BaselineRequest,
    ) -> Result<crate::baseline::BaselineResponse, ClientError> {
        self.post(self.url("/v1/baselines"), request).await
    }

    /// `POST /v1/baselines/import`: imports a mydumper dump directory as baselines.
    pub async fn import_mydumper(
        &self,
        request: &crate::baseline::ImportRequest,
    ) -> Result<crate::baseline::BaselineResponse, ClientError> {
        self.post(self.url("/v1/baselines/import"), request).await
    }

    /// `POST /v1/snapshot`: returns once the header line arrived; rows follow from
    /// [`SnapshotStream::next_row`] as the agent produces them (bounded memory on both sides).
    /// Asks for the binary row form ([`crate::wire`]) and reads whichever form the agent answers.
    pub async fn snapshot(&self, request: &SnapshotRequest) -> Result<SnapshotStream, ClientError> {
        let req = self
            .post_request(self.url("/v1/snapshot"), request)?
            .header(reqwest::header::ACCEPT, ROWS_MEDIA_TYPE);
        let resp = self.start(req).await?;
        let binary = is_rows(resp.headers().get(CONTENT_TYPE));
        let mut lines = BodyReader {
            resp,
            buf: Vec::new(),
            start: 0,
        };
        let line = lines.next_line().await?.ok_or_else(|| {
            ClientError::Unreachable("snapshot stream ended before its header".into())
        })?;
        if let Ok(failure) = serde_json::from_slice::<ErrorBody>(&line) {
            if !failure.success {
                return Err(ClientError::Failure(failure));
            }
        }
        let header: SnapshotHeader =
            serde_json::from_slice(&line).map_err(|e| ClientError::Decode(e.to_string()))?;
        Ok(SnapshotStream {
            lines,
            binary,
            header,
            done: false,
            rows: 0,
        })
    }

    /// `path` (`/v1/...`) on the agent.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A JSON POST to `url` (a [`Self::url`] or a URL parsed beforehand).
    fn post_request<B: Serialize>(
        &self,
        url: impl reqwest::IntoUrl,
        body: &B,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes))
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        url: impl reqwest::IntoUrl,
        body: &B,
    ) -> Result<R, ClientError> {
        let req = self.post_request(url, body)?;
        self.send(req).await
    }

    /// Sends and checks the status; a non-2xx answer becomes [`ClientError::Http`].
    async fn start(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let resp = req
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        Err(http_error(status.as_u16(), &body))
    }

    async fn send<R: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<R, ClientError> {
        let resp = req
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        if !status.is_success() {
            return Err(http_error(status.as_u16(), &body));
        }
        decode_answer(&body)
    }
}

/// A whole-table answer arriving row by row (see [`crate::snapshot`] and [`crate::wire`] for the
/// framings).
#[derive(Debug)]
pub struct SnapshotStream {
    lines: BodyReader,
    /// Rows come as [`crate::wire`] records instead of JSON lines.
    binary: bool,
    header: SnapshotHeader,
    done: bool,
    rows: u64,
}

/// Reads a streamed body in pieces: `\n`-terminated lines or binary records.
///
/// Bytes not yet consumed are `buf[start..]`; consumed bytes are dropped only when the buffer is
/// refilled, so taking a line or record never moves the rest of a chunk (a chunk holds thousands
/// of rows).
#[derive(Debug)]
struct BodyReader {
    resp: reqwest::Response,
    buf: Vec<u8>,
    start: usize,
}

impl SnapshotStream {
    /// The header: columns, seq, warnings.
    pub fn header(&self) -> &SnapshotHeader {
        &self.header
    }

    /// The next row, `None` after the trailer. A cut stream or a mid-stream agent error is an
    /// error, never a short table.
    pub async fn next_row(&mut self) -> Result<Option<Vec<Value>>, ClientError> {
        if self.done {
            return Ok(None);
        }
        let line = match self.binary {
            true => self.lines.next_record().await?,
            false => match self.lines.next_line().await? {
                None => None,
                Some(line) => Some(
                    SnapshotLine::parse(&line).map_err(|e| ClientError::Decode(e.to_string()))?,
                ),
            },
        };
        let Some(line) = line else {
            return Err(ClientError::Unreachable(format!(
                "snapshot stream cut after {} rows",
                self.rows
            )));
        };
        match line {
            SnapshotLine::Row(row) => {
                self.rows += 1;
                Ok(Some(row))
            }
            SnapshotLine::End(SnapshotEnd::End { rows }) => {
                self.done = true;
                if rows != self.rows {
                    return Err(ClientError::Decode(format!(
                        "snapshot trailer says {rows} rows, {} received",
                        self.rows
                    )));
                }
                Ok(None)
            }
            SnapshotLine::End(SnapshotEnd::Error(detail)) => {
                self.done = true;
                Err(ClientError::Failure(ErrorBody {
                    success: false,
                    error: detail,
                }))
            }
        }
    }
}

impl BodyReader {
    /// The next `\n`-terminated line, `None` at the end of the body.
    async fn next_line(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        loop {
            let pending = &self.buf[self.start..];
            if let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                let line = pending[..nl].to_vec();
                self.start += nl + 1;
                return Ok(Some(line));
            }
            if !self.fill().await? {
                let rest = self.buf.split_off(self.start);
                self.start = 0;
                return Ok((!rest.is_empty()).then_some(rest));
            }
        }
    }

    /// The next binary record as a snapshot line, `None` at the end of the body. Bytes left over
    /// at the end that do not make a whole record are an error.
    async fn next_record(&mut self) -> Result<Option<SnapshotLine>, ClientError> {
        loop {
            let mut pending = &self.buf[self.start..];
            let before = pending.len();
            match wire::take_record(&mut pending) {
                Ok(record) => {
                    let line = match record {
                        Record::Row(row) => SnapshotLine::Row(row),
                        Record::End(json) => SnapshotLine::End(
                            serde_json::from_slice(json)
                                .map_err(|e| ClientError::Decode(e.to_string()))?,
                        ),
                    };
                    self.start += before - pending.len();
                    return Ok(Some(line));
                }
                Err(WireError::Incomplete) => {}
                Err(e) => return Err(decode_error(e)),
            }
            if !self.fill().await? {
                if self.start == self.buf.len() {
                    return Ok(None);
                }
                return Err(ClientError::Unreachable(
                    "snapshot stream cut inside a row".into(),
                ));
            }
        }
    }

    /// Appends the next chunk after dropping consumed bytes; false at the end of the body.
    async fn fill(&mut self) -> Result<bool, ClientError> {
        match self.resp.chunk().await {
            Ok(Some(chunk)) => {
                self.buf.drain(..self.start);
                self.start = 0;
                self.buf.extend_from_slice(&chunk);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(ClientError::Unreachable(error_chain(&e))),
        }
    }
}

/// A 2xx flashback body in either form (JSON, or [`crate::wire`] when `binary`).
fn decode_flashback(binary: bool, body: &[u8]) -> Result<FlashbackResponse, ClientError> {
    if !binary {
        return decode_answer(body);
    }
    let header_end = body
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| ClientError::Decode("binary flashback answer without header".into()))?;
    let mut answer: FlashbackResponse = decode_answer(&body[..header_end])?;
    let mut records = &body[header_end + 1..];
    while !records.is_empty() {
        match wire::take_record(&mut records).map_err(decode_error)? {
            Record::Row(row) => answer.rows.push(row),
            Record::End(_) => {
                return Err(ClientError::Decode(
                    "unexpected end record in a flashback answer".into(),
                ))
            }
        }
    }
    Ok(answer)
}

/// True when an answer's `Content-Type` is [`ROWS_MEDIA_TYPE`].
fn is_rows(content_type: Option<&HeaderValue>) -> bool {
    content_type.is_some_and(|v| v.as_bytes() == ROWS_MEDIA_TYPE.as_bytes())
}

/// A non-2xx answer, with its error body when it holds one.
fn http_error(status: u16, body: &[u8]) -> ClientError {
    ClientError::Http {
        status,
        body: serde_json::from_slice::<ErrorBody>(body).ok(),
    }
}

fn decode_error(e: WireError) -> ClientError {
    ClientError::Decode(e.to_string())
}

/// A 2xx body as `R`, or the `{ "success": false, ... }` failure it holds instead.
///
/// The body is parsed as `R` first, so an answer is read once: every response type has a required
/// field an error body lacks (`tests::error_bodies_are_not_answers`), so a failure never passes
/// for an answer.
fn decode_answer<R: DeserializeOwned>(body: &[u8]) -> Result<R, ClientError> {
    serde_json::from_slice(body).map_err(|e| match serde_json::from_slice::<ErrorBody>(body) {
        Ok(failure) if !failure.success => ClientError::Failure(failure),
        _ => ClientError::Decode(e.to_string()),
    })
}

/// The error and its causes joined by `: ` (reqwest hides the useful part in the source chain).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass through).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_url_without_scheme() {
        assert!(matches!(
            AgentClient::new("127.0.0.1:8600", "t"),
            Err(ClientError::Config(_))
        ));
    }

    #[test]
    fn error_bodies_are_not_answers() {
        let body =
            br#"{"success":false,"error":{"code":"not_yet_replicated","message":"lag 3 s"}}"#;
        fn failure<R: DeserializeOwned + std::fmt::Debug>(body: &[u8]) {
            match decode_answer::<R>(body) {
                Err(ClientError::Failure(f)) => assert!(f.error.message.contains("lag")),
                other => panic!("{} decoded as {other:?}", std::any::type_name::<R>()),
            }
        }
        failure::<HealthResponse>(body);
        failure::<TablesResponse>(body);
        failure::<FlashbackResponse>(body);
        failure::<DiffResponse>(body);
        failure::<RecoverResponse>(body);
        failure::<crate::baseline::BaselineResponse>(body);
        assert!(matches!(
            decode_answer::<TablesResponse>(br#"{"success":true}"#),
            Err(ClientError::Decode(_))
        ));
    }

    #[test]
    fn rejects_token_that_is_no_header_value() {
        assert!(matches!(
            AgentClient::new("http://127.0.0.1:8600", "tok\nen"),
            Err(ClientError::Config(_))
        ));
        let client = AgentClient::new("http://127.0.0.1:8600/", "t").expect("valid");
        assert_eq!(
            client.flashback_url.as_str(),
            "http://127.0.0.1:8600/v1/flashback"
        );
        assert_eq!(client.url("/v1/diff"), "http://127.0.0.1:8600/v1/diff");
    }

    #[test]
    fn percent_encodes_schema_names() {
        assert_eq!(percent_encode("my db&x"), "my%20db%26x");
    }
}
