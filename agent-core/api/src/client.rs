//! `AgentClient`: the shim's HTTP(S) client for agent-core (reqwest on rustls with the ring provider).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::catalog::{TablesQuery, TablesResponse};
use crate::error::ErrorBody;
use crate::flashback::{FlashbackRequest, FlashbackResponse};
use crate::health::HealthResponse;

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

/// A client for one agent-core base URL (`http://host:8600` or `https://...`) and bearer token.
///
/// Cheap to clone (reqwest pools connections inside). No request timeout is set: the shim imposes
/// none by default, and dropping the future (client disconnect) cancels the call.
#[derive(Debug, Clone)]
pub struct AgentClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl AgentClient {
    /// Builds a client; `base_url` without a trailing slash is fine either way.
    ///
    /// Errors: [`ClientError::Config`] when the URL has no `http://`/`https://` scheme or TLS fails to
    /// initialise.
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "agent url {base_url:?} must start with http:// or https://"
            )));
        }
        // A second install attempt fails harmlessly when the provider is already set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
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
    pub async fn flashback(
        &self,
        request: &FlashbackRequest,
    ) -> Result<FlashbackResponse, ClientError> {
        self.post("/v1/flashback", request).await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Config(e.to_string()))?;
        let req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bytes);
        self.send(req).await
    }

    async fn send<R: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<R, ClientError> {
        let resp = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unreachable(error_chain(&e)))?;
        if !status.is_success() {
            return Err(ClientError::Http {
                status: status.as_u16(),
                body: serde_json::from_slice::<ErrorBody>(&body).ok(),
            });
        }
        if let Ok(failure) = serde_json::from_slice::<ErrorBody>(&body) {
            if !failure.success {
                return Err(ClientError::Failure(failure));
            }
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
    }
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
    fn percent_encodes_schema_names() {
        assert_eq!(percent_encode("my db&x"), "my%20db%26x");
    }
}
