//! Keep-alive HTTP/1.1 connections to a plain `http://` agent for the point-query path
//! (`POST /v1/flashback`), on hyper's connection API.
//!
//! reqwest serves every other call. For the one call made per point query it costs about a fifth
//! of the shim's instructions: its redirect layer re-parses the request URL from text on every
//! request even with redirects off, and again on the response, and the request passes its retry,
//! redirect and pool-key layers. Here a request is written on an idle connection taken from a
//! small pool and the whole body is read before the connection goes back. A connection that
//! fails is dropped; a request that fails on a reused connection (the agent closed it while it
//! sat idle) is sent once more on a fresh one, which is safe because a flashback read has no
//! side effect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;

use crate::client::{ClientError, Timeouts, IDLE_TIMEOUT};
use crate::wire::ROWS_MEDIA_TYPE;

/// Idle connections kept per agent; more concurrent requests open more, and the surplus is closed
/// when they finish.
const MAX_IDLE: usize = 64;

/// An answer: status, `Content-Type`, body.
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: Option<HeaderValue>,
    pub body: Bytes,
}

/// An idle connection and the instant it went idle.
type IdleSender = (SendRequest<Full<Bytes>>, Instant);

/// Pooled connections to one `host:port`.
#[derive(Debug)]
pub(crate) struct PlainPool {
    /// `host:port` to connect to and to send as `Host`.
    authority: String,
    host: HeaderValue,
    timeouts: Timeouts,
    /// Idle connections with the instant each went idle; older than [`IDLE_TIMEOUT`] ones are
    /// closed by a reaper task that runs while the list is not empty.
    idle: Arc<Mutex<Vec<IdleSender>>>,
    reaping: Arc<AtomicBool>,
}

impl PlainPool {
    /// A pool for `authority` (`host:port`); nothing connects until the first request.
    pub(crate) fn new(authority: &str, timeouts: Timeouts) -> Result<Self, ClientError> {
        let host = HeaderValue::from_str(authority)
            .map_err(|_| ClientError::Config(format!("agent address {authority:?}")))?;
        Ok(Self {
            authority: authority.to_owned(),
            host,
            timeouts,
            idle: Arc::new(Mutex::new(Vec::new())),
            reaping: Arc::new(AtomicBool::new(false)),
        })
    }

    /// `POST path` with a JSON `body`, asking for the binary row form; the whole answer.
    ///
    /// Errors: [`ClientError::Unreachable`] when no connection can be made, the agent closes it
    /// before the whole answer arrived, or the whole answer takes longer than the read timeout.
    pub(crate) async fn post(
        &self,
        path: &str,
        authorization: &HeaderValue,
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        let call = self.post_once(path, authorization, body);
        match self.timeouts.read {
            None => call.await,
            Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                Err(ClientError::Unreachable(format!(
                    "{}: no answer within {} s",
                    self.authority,
                    limit.as_secs_f64()
                )))
            }),
        }
    }

    async fn post_once(
        &self,
        path: &str,
        authorization: &HeaderValue,
        body: Vec<u8>,
    ) -> Result<Answer, ClientError> {
        let body = Bytes::from(body);
        if let Some(sender) = self.take_idle() {
            if let Ok(answer) = self.send(sender, path, authorization, &body).await {
                return Ok(answer);
            }
        }
        let sender = self.connect().await?;
        self.send(sender, path, authorization, &body)
            .await
            .map_err(|e| ClientError::Unreachable(format!("{}: {e}", self.authority)))
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((sender, since)) = idle.pop() {
            if sender.is_ready() && since.elapsed() < IDLE_TIMEOUT {
                return Some(sender);
            }
        }
        None
    }

    /// Keeps `sender` for reuse (up to [`MAX_IDLE`]) and makes sure a reaper closes it once it
    /// sat idle for [`IDLE_TIMEOUT`].
    fn put_idle(&self, sender: SendRequest<Full<Bytes>>) {
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() >= MAX_IDLE {
                return;
            }
            idle.push((sender, Instant::now()));
        }
        if self.reaping.swap(true, Ordering::AcqRel) {
            return;
        }
        let (idle, reaping) = (Arc::clone(&self.idle), Arc::clone(&self.reaping));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(IDLE_TIMEOUT / 2).await;
                let mut list = idle.lock().unwrap_or_else(|p| p.into_inner());
                // Dropping a sender lets its connection task finish and close the socket.
                list.retain(|(sender, since)| {
                    !sender.is_closed() && since.elapsed() < IDLE_TIMEOUT
                });
                if list.is_empty() {
                    reaping.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }

    async fn send(
        &self,
        mut sender: SendRequest<Full<Bytes>>,
        path: &str,
        authorization: &HeaderValue,
        body: &Bytes,
    ) -> Result<Answer, hyper::Error> {
        sender.ready().await?;
        let mut request = hyper::Request::post(path)
            .body(Full::new(body.clone()))
            .expect("a path from a parsed URL and fixed headers make a request");
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(AUTHORIZATION, authorization.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(ROWS_MEDIA_TYPE));
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let content_type = response.headers().get(CONTENT_TYPE).cloned();
        let body = response.into_body().collect().await?.to_bytes();
        if !sender.is_closed() {
            self.put_idle(sender);
        }
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ClientError::Unreachable(format!("{}: {e}", self.authority))
        };
        let stream = tokio::time::timeout(
            self.timeouts.connect,
            tokio::net::TcpStream::connect(&self.authority),
        )
        .await
        .map_err(|_| unreachable(&"connect timed out"))?
        .map_err(|e| unreachable(&e))?;
        stream.set_nodelay(true).map_err(|e| unreachable(&e))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        // The connection task ends when the agent or the last sender closes it.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}
