//! The agent behind the shim: the [`Backend`] trait, its HTTP implementation on
//! [`agent_api::AgentClient`], the caches in front of it (short-lived table metadata, answers
//! from immutable history), and the one mapping from agent failures to MySQL errors.

use std::sync::Arc;

use agent_api::catalog::{ColumnInfo, TableInfo, TablesQuery};
use agent_api::diff::{DiffRequest, DiffResponse};
use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::snapshot::{SnapshotHeader, SnapshotRequest};
use agent_api::wire;
use agent_api::{AgentClient, ClientError, ErrorCode, Value};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use moka::future::Cache;

use crate::config::CacheConfig;
use crate::error::MysqlError;

/// What the shim needs from agent-core. Implemented by [`AgentClient`] (HTTP) and by test fakes.
pub trait Backend: Send + Sync + 'static {
    /// `GET /v1/tables?server_id=&schema=`: the current metadata of every table of `schema`
    /// (of every captured schema when `None`).
    fn tables<'a>(
        &'a self,
        server_id: u32,
        schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>, ClientError>>;

    /// `POST /v1/flashback`: rows matching a key predicate as of an instant.
    fn flashback<'a>(
        &'a self,
        request: &'a FlashbackRequest,
    ) -> BoxFuture<'a, Result<FlashbackResponse, ClientError>>;

    /// `POST /v1/diff`: the changes to the matching keys in a window.
    fn diff<'a>(
        &'a self,
        request: &'a DiffRequest,
    ) -> BoxFuture<'a, Result<DiffResponse, ClientError>>;

    /// `POST /v1/snapshot`: resolves once the header arrived; rows follow as the agent sends them.
    fn snapshot<'a>(
        &'a self,
        request: &'a SnapshotRequest,
    ) -> BoxFuture<'a, Result<Snapshot, ClientError>>;
}

/// A whole-table answer in flight: the header, then rows one by one (never buffered whole). A
/// cut stream or a mid-stream agent failure ends with an `Err` item.
pub struct Snapshot {
    /// Columns, seq, warnings.
    pub header: SnapshotHeader,
    /// Rows aligned with `header.columns`, in PK order.
    pub rows: BoxStream<'static, Result<Vec<Value>, ClientError>>,
}

impl Backend for AgentClient {
    fn tables<'a>(
        &'a self,
        server_id: u32,
        schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>, ClientError>> {
        Box::pin(async move {
            let query = TablesQuery {
                server_id,
                schema: schema.map(str::to_owned),
            };
            AgentClient::tables(self, &query).await.map(|r| r.tables)
        })
    }

    fn flashback<'a>(
        &'a self,
        request: &'a FlashbackRequest,
    ) -> BoxFuture<'a, Result<FlashbackResponse, ClientError>> {
        Box::pin(AgentClient::flashback(self, request))
    }

    fn diff<'a>(
        &'a self,
        request: &'a DiffRequest,
    ) -> BoxFuture<'a, Result<DiffResponse, ClientError>> {
        Box::pin(AgentClient::diff(self, request))
    }

    fn snapshot<'a>(
        &'a self,
        request: &'a SnapshotRequest,
    ) -> BoxFuture<'a, Result<Snapshot, ClientError>> {
        Box::pin(async move {
            let stream = AgentClient::snapshot(self, request).await?;
            let header = stream.header().clone();
            // `None` state after an error: the stream ends instead of retrying a broken body.
            let rows = futures_util::stream::unfold(Some(stream), |state| async move {
                let mut stream = state?;
                match stream.next_row().await {
                    Ok(Some(row)) => Some((Ok(row), Some(stream))),
                    Ok(None) => None,
                    Err(e) => Some((Err(e), None)),
                }
            });
            Ok(Snapshot {
                header,
                rows: Box::pin(rows),
            })
        })
    }
}

/// The MySQL error for an agent failure (contract: `seeds/troubleshooting.txt`; the table is
/// in `docs/errors.md`). Every agent answer is decided by its error kind in [`agent_error`];
/// only what never reached the agent or came back unreadable is decided here.
pub fn mysql_error(error: &ClientError) -> MysqlError {
    match error {
        ClientError::Unreachable(detail) => {
            // The address and socket error are for the operator, not the client.
            tracing::warn!(%detail, "dbtrail backend unreachable");
            MysqlError::backend_unreachable()
        }
        ClientError::Http { status, body } => match body {
            Some(body) => agent_error(body.error.code, Some(&body.error.message), Some(*status)),
            // No agent error body (a proxy between, or a failure before the body was written):
            // the status stands for the kind.
            None => agent_error(ErrorCode::from_http_status(*status), None, Some(*status)),
        },
        // A failure inside a 2xx answer (`success: false`, a snapshot stream's trailer).
        ClientError::Failure(body) => agent_error(body.error.code, Some(&body.error.message), None),
        ClientError::Decode(detail) => {
            MysqlError::internal(format!("invalid response from dbtrail backend: {detail}"))
        }
        ClientError::Config(detail) => MysqlError::internal(detail),
    }
}

/// The one mapping from the agent's protocol-neutral error kind to a MySQL code and SQLSTATE
/// (no `_` arm: a new kind does not compile until it is mapped here). `message` is the agent's
/// text (`None`: the answer had no error body); `status` the HTTP status the failure came with
/// (`None`: inside a 2xx answer), which only the contract's wording shows.
///
/// | kind | MySQL error |
/// |---|---|
/// | `BadRequest` | 1064 (HY000) `dbtrail backend rejected request (HTTP 400): …` (contract) |
/// | `TableNotFound` | 1146 (42S02), as MySQL answers for a missing table |
/// | `OutsideRetention`, `CoverageGap` | 1526 (HY000), the agent's text names the range |
/// | `NotYetReplicated` | 1205 (HY000), retryable lag |
/// | `Unauthorized` | 1429 (HY000), the shim's `agent_token` is wrong |
/// | `Unavailable`, `Internal` | 1317 (70100) `dbtrail backend returned HTTP 5xx: …` (contract), 1815 (HY000) inside a 2xx answer (contract: `success: false`) |
pub fn agent_error(kind: ErrorCode, message: Option<&str>, status: Option<u16>) -> MysqlError {
    match kind {
        ErrorCode::BadRequest => MysqlError::backend_rejected(
            status.unwrap_or(kind.http_status()),
            message.unwrap_or("no error body"),
        ),
        ErrorCode::TableNotFound => MysqlError::backend_no_such_table(
            message.unwrap_or("the dbtrail backend knows no such table"),
        ),
        ErrorCode::OutsideRetention | ErrorCode::CoverageGap => MysqlError::coverage(
            message.unwrap_or("the time is not covered by the captured history"),
        ),
        ErrorCode::NotYetReplicated => {
            MysqlError::not_replicated_yet(message.unwrap_or("the time is not replicated yet"))
        }
        ErrorCode::Unauthorized => {
            tracing::warn!(message, "dbtrail backend refused the agent_token");
            MysqlError::backend_refused_token()
        }
        ErrorCode::Unavailable | ErrorCode::Internal => match status {
            Some(status) => MysqlError::backend_http_5xx(status, message),
            None => MysqlError::internal(message.unwrap_or("the dbtrail backend failed")),
        },
    }
}

/// `(server_id, schema)`; `None` is every schema.
type TablesKey = (u32, Option<String>);

/// `(server_id, schema, table)`.
type ColumnsKey = (u32, String, String);

/// The column list of one table last received in a `_flashback` answer, under its
/// `agent_api::flashback::schema_id`.
struct HeldColumns {
    schema_id: u64,
    columns: Arc<Vec<ColumnInfo>>,
}

/// A [`Backend`] with three caches shared by all sessions of one agent endpoint: table metadata
/// for `cache.tables_ttl`; per table, the column list of the last `_flashback` answer under its
/// schema id (sent back as `known_schema`, so the agent leaves out columns the shim holds); and
/// `_flashback` answers for times the agent has fully captured (immutable history), bounded by
/// `cache.answers_max_bytes`.
#[derive(Clone)]
pub struct CachedBackend {
    inner: Arc<dyn Backend>,
    tables: Cache<TablesKey, Arc<Vec<TableInfo>>>,
    /// One column list per table (the schema version last answered); validated by its id on
    /// every request, so it never needs a TTL.
    columns: Cache<ColumnsKey, Arc<HeldColumns>>,
    /// Keyed by the request (server, table, instant, key predicate); `None` when off.
    answers: Option<Cache<AnswerKey, Arc<FlashbackAnswer>>>,
}

impl CachedBackend {
    /// Wraps `inner` with the default cache settings.
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        Self::with_config(inner, &CacheConfig::default())
    }

    /// Wraps `inner` with the caches `config` describes.
    pub fn with_config(inner: Arc<dyn Backend>, config: &CacheConfig) -> Self {
        let tables = Cache::builder()
            .max_capacity(10_000)
            .time_to_live(config.tables_ttl)
            .build();
        let answers = (config.answers_max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(config.answers_max_bytes)
                .weigher(|key: &AnswerKey, answer: &Arc<FlashbackAnswer>| {
                    let bytes = key.0.len() + answer_bytes(answer);
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self {
            inner,
            tables,
            columns: Cache::new(10_000),
            answers,
        }
    }

    /// The table `schema.table` of `server_id`, from cache when fresh. Table names compare
    /// exactly first, then case-insensitively. A table missing from a cached list is looked up
    /// once more at the agent (it may be newer than the list). `Ok(None)`: the agent does not
    /// list it. The entry is shared with the cached list, so a hit copies nothing.
    pub async fn table(
        &self,
        server_id: u32,
        schema: &str,
        table: &str,
    ) -> Result<Option<SharedTable>, ClientError> {
        let key = (server_id, Some(schema.to_owned()));
        if let Some(cached) = self.tables.get(&key).await {
            if let Some(found) = SharedTable::find(&cached, table) {
                return Ok(Some(found));
            }
            self.tables.invalidate(&key).await;
        }
        let tables = self.fetch_tables(key, server_id, Some(schema)).await?;
        Ok(SharedTable::find(&tables, table))
    }

    /// Every table of `schema` (of every captured schema when `None`), from cache when fresh.
    pub async fn tables(
        &self,
        server_id: u32,
        schema: Option<&str>,
    ) -> Result<Arc<Vec<TableInfo>>, ClientError> {
        let key = (server_id, schema.map(str::to_owned));
        if let Some(hit) = self.tables.get(&key).await {
            return Ok(hit);
        }
        self.fetch_tables(key, server_id, schema).await
    }

    /// Asks the agent for the tables under `key` (a cache miss) and caches them.
    async fn fetch_tables(
        &self,
        key: TablesKey,
        server_id: u32,
        schema: Option<&str>,
    ) -> Result<Arc<Vec<TableInfo>>, ClientError> {
        let fresh = Arc::new(self.inner.tables(server_id, schema).await?);
        self.tables.insert(key, Arc::clone(&fresh)).await;
        Ok(fresh)
    }

    /// Drops the cached metadata of `schema` (after the agent rejected a request built from it).
    pub async fn invalidate(&self, server_id: u32, schema: &str) {
        self.tables
            .invalidate(&(server_id, Some(schema.to_owned())))
            .await;
    }

    /// `POST /v1/diff`; on failure the schema's metadata is dropped.
    pub async fn diff(&self, request: &DiffRequest) -> Result<DiffResponse, ClientError> {
        let result = self.inner.diff(request).await;
        if result.is_err() {
            self.invalidate(request.server_id, &request.schema).await;
        }
        result
    }

    /// `POST /v1/snapshot`; on failure before the header the schema's metadata is dropped.
    pub async fn snapshot(&self, request: &SnapshotRequest) -> Result<Snapshot, ClientError> {
        let result = self.inner.snapshot(request).await;
        if result.is_err() {
            self.invalidate(request.server_id, &request.schema).await;
        }
        result
    }

    /// `POST /v1/flashback`, answered from cache when the same request was answered for a time
    /// the agent had fully captured. The request goes out with the schema id of the table's
    /// held column list as `known_schema`; the answer carries the columns either way (the held
    /// list, shared, when the agent left them out). On failure the schema's metadata is dropped
    /// so the next query re-reads it. Shared, so a cache hit copies no rows.
    pub async fn flashback(
        &self,
        request: &FlashbackRequest,
    ) -> Result<Arc<FlashbackAnswer>, ClientError> {
        let key = self.answers.as_ref().map(|_| AnswerKey::new(request));
        if let (Some(cache), Some(key)) = (&self.answers, &key) {
            if let Some(hit) = cache.get(key).await {
                return Ok(hit);
            }
        }
        let result = self.flashback_with_columns(request).await.map(Arc::new);
        match &result {
            Err(_) => self.invalidate(request.server_id, &request.schema).await,
            Ok(answer) if is_immutable(request, &answer.response) => {
                if let (Some(cache), Some(key)) = (&self.answers, key) {
                    cache.insert(key, Arc::clone(answer)).await;
                }
            }
            Ok(_) => {}
        }
        result
    }
}

impl CachedBackend {
    /// One agent round trip, sending the held schema id and attaching the columns.
    async fn flashback_with_columns(
        &self,
        request: &FlashbackRequest,
    ) -> Result<FlashbackAnswer, ClientError> {
        let key = (
            request.server_id,
            request.schema.clone(),
            request.table.clone(),
        );
        let held = self.columns.get(&key).await;
        let mut response = match &held {
            Some(h) if request.known_schema.is_none() => {
                let mut asking = request.clone();
                asking.known_schema = Some(h.schema_id);
                self.inner.flashback(&asking).await?
            }
            _ => self.inner.flashback(request).await?,
        };
        let sent = Arc::new(std::mem::take(&mut response.columns));
        let Some(id) = response.schema_id else {
            // An older agent: columns always present, nothing to hold.
            return Ok(FlashbackAnswer {
                response,
                columns: sent,
            });
        };
        if !sent.is_empty() {
            let columns = match held.filter(|h| h.schema_id == id) {
                Some(h) => Arc::clone(&h.columns),
                None => {
                    let fresh = HeldColumns {
                        schema_id: id,
                        columns: Arc::clone(&sent),
                    };
                    self.columns.insert(key, Arc::new(fresh)).await;
                    sent
                }
            };
            return Ok(FlashbackAnswer { response, columns });
        }
        match held.filter(|h| h.schema_id == id) {
            Some(h) => Ok(FlashbackAnswer {
                response,
                columns: Arc::clone(&h.columns),
            }),
            None => Err(ClientError::Decode(format!(
                "answer for {}.{} left out the columns of schema id {id:#x}, which were not sent",
                request.schema, request.table
            ))),
        }
    }
}

/// A `_flashback` answer with the columns its rows are aligned with.
#[derive(Debug)]
pub struct FlashbackAnswer {
    /// The agent's answer; its `columns` were moved to [`FlashbackAnswer::columns`].
    pub response: FlashbackResponse,
    /// The table's columns as of the instant, shared by every answer of the same schema
    /// version (the same `Arc` while the version holds, so callers may key caches on it).
    pub columns: Arc<Vec<ColumnInfo>>,
}

/// One table of a cached table list, shared with the list (no copy of its columns).
#[derive(Debug, Clone)]
pub struct SharedTable {
    list: Arc<Vec<TableInfo>>,
    index: usize,
}

impl SharedTable {
    /// `table` in `list`: the exact name first, then case-insensitively.
    fn find(list: &Arc<Vec<TableInfo>>, table: &str) -> Option<Self> {
        let exact = list.iter().position(|t| t.name == table);
        let index =
            exact.or_else(|| list.iter().position(|t| t.name.eq_ignore_ascii_case(table)))?;
        Some(Self {
            list: Arc::clone(list),
            index,
        })
    }
}

impl std::ops::Deref for SharedTable {
    type Target = TableInfo;
    fn deref(&self) -> &TableInfo {
        &self.list[self.index]
    }
}

/// The answer cache's key: a whole `_flashback` request in `agent_api::wire`'s value encoding
/// (floats by their bits, as the request's JSON text compared them: `-0.0` and `0.0` stay apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AnswerKey(Vec<u8>);

impl AnswerKey {
    fn new(r: &FlashbackRequest) -> Self {
        let mut b = Vec::with_capacity(64);
        b.extend_from_slice(&r.server_id.to_le_bytes());
        b.extend_from_slice(&r.as_of_us.to_le_bytes());
        match r.known_schema {
            None => b.push(0),
            Some(id) => {
                b.push(1);
                b.extend_from_slice(&id.to_le_bytes());
            }
        }
        for name in [&r.schema, &r.table] {
            wire::put_varint(&mut b, name.len() as u64);
            b.extend_from_slice(name.as_bytes());
        }
        match &r.key {
            KeyPredicate::In(keys) => {
                b.push(0);
                wire::put_varint(&mut b, keys.len() as u64);
                keys.iter().for_each(|k| wire::put_row(&mut b, k));
            }
            KeyPredicate::Range { lower, upper } => {
                b.push(1);
                for bound in [lower, upper] {
                    match bound {
                        None => b.push(0),
                        Some(kb) => {
                            b.push(1 + u8::from(kb.inclusive));
                            wire::put_row(&mut b, &kb.key);
                        }
                    }
                }
            }
        }
        Self(b)
    }
}

/// Approximate bytes of a cached answer for the `answers_max_bytes` budget: cell payloads plus a
/// fixed cost per cell and per column, counted without serializing the answer (its JSON form cost
/// as many instructions as decoding it).
fn answer_bytes(answer: &FlashbackAnswer) -> usize {
    let columns: usize = (answer.columns.iter())
        .map(|c| 64 + c.name.len() + c.column_type.len())
        .sum();
    let response = &answer.response;
    let cells: usize = (response.rows.iter().flatten())
        .map(|v| match v {
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => 32 + s.len(),
            Value::Bytes(b) => 32 + b.len(),
            _ => 32,
        })
        .sum();
    columns + cells + response.warnings.iter().map(String::len).sum::<usize>()
}

/// True when `answer` can never change: its instant lies before the capture position the agent
/// reported with it, and it carries no warning (a key without captured history may gain a row
/// once a baseline covers it).
fn is_immutable(request: &FlashbackRequest, answer: &FlashbackResponse) -> bool {
    answer.warnings.is_empty()
        && answer
            .complete_until_us
            .is_some_and(|complete| request.as_of_us < complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_api::ErrorBody;

    fn http(status: u16, code: ErrorCode, message: &str) -> ClientError {
        ClientError::Http {
            status,
            body: Some(ErrorBody::new(code, message)),
        }
    }

    /// Protocol fake of the agent's `known_schema` contract: one table whose columns change at
    /// `as_of_us` 100 (2 columns before, 3 from then on); `honest: false` leaves the columns out
    /// whatever the client holds. Records the `known_schema` of every request.
    struct Versioned {
        honest: bool,
        sent: std::sync::Mutex<Vec<Option<u64>>>,
    }

    fn columns_at(as_of_us: i64) -> Vec<ColumnInfo> {
        let names: &[&str] = if as_of_us < 100 {
            &["id", "v"]
        } else {
            &["id", "v", "w"]
        };
        names.iter().map(|n| ColumnInfo::int(n)).collect()
    }

    impl Backend for Versioned {
        fn tables<'a>(
            &'a self,
            _: u32,
            _: Option<&'a str>,
        ) -> BoxFuture<'a, Result<Vec<TableInfo>, ClientError>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn flashback<'a>(
            &'a self,
            request: &'a FlashbackRequest,
        ) -> BoxFuture<'a, Result<FlashbackResponse, ClientError>> {
            Box::pin(async move {
                self.sent.lock().expect("lock").push(request.known_schema);
                let columns = columns_at(request.as_of_us);
                let id = agent_api::flashback::schema_id(&columns);
                let leave_out = !self.honest || request.known_schema == Some(id);
                Ok(FlashbackResponse {
                    success: true,
                    columns: if leave_out { Vec::new() } else { columns },
                    schema_id: Some(id),
                    rows: Vec::new(),
                    seq: 1,
                    warnings: Vec::new(),
                    complete_until_us: None,
                })
            })
        }

        fn diff<'a>(
            &'a self,
            _: &'a DiffRequest,
        ) -> BoxFuture<'a, Result<DiffResponse, ClientError>> {
            Box::pin(async { Err(ClientError::Config("not in this fake".into())) })
        }

        fn snapshot<'a>(
            &'a self,
            _: &'a SnapshotRequest,
        ) -> BoxFuture<'a, Result<Snapshot, ClientError>> {
            Box::pin(async { Err(ClientError::Config("not in this fake".into())) })
        }
    }

    fn request(as_of_us: i64) -> FlashbackRequest {
        FlashbackRequest {
            server_id: 1,
            schema: "s".into(),
            table: "t".into(),
            as_of_us,
            key: agent_api::flashback::KeyPredicate::In(vec![vec![Value::Int(1)]]),
            known_schema: None,
        }
    }

    #[tokio::test]
    async fn sends_the_held_schema_id_and_fills_the_columns_back_in() {
        let fake = Arc::new(Versioned {
            honest: true,
            sent: Default::default(),
        });
        let backend = CachedBackend::new(fake.clone());
        let before = agent_api::flashback::schema_id(&columns_at(0));
        let after = agent_api::flashback::schema_id(&columns_at(100));
        for as_of_us in [0, 0, 100, 100, 0] {
            let answer = backend.flashback(&request(as_of_us)).await.expect("answer");
            assert_eq!(*answer.columns, columns_at(as_of_us), "as of {as_of_us}");
        }
        let sent = fake.sent.lock().expect("lock").clone();
        assert_eq!(
            sent,
            [None, Some(before), Some(before), Some(after), Some(after)]
        );
    }

    #[tokio::test]
    async fn answers_of_one_schema_version_share_one_column_list() {
        let fake = Arc::new(Versioned {
            honest: true,
            sent: Default::default(),
        });
        let backend = CachedBackend::new(fake);
        let first = backend.flashback(&request(0)).await.expect("answer");
        let second = backend.flashback(&request(1)).await.expect("answer");
        let later = backend.flashback(&request(100)).await.expect("answer");
        assert!(Arc::ptr_eq(&first.columns, &second.columns));
        assert!(!Arc::ptr_eq(&first.columns, &later.columns));
        assert!(first.response.columns.is_empty());
    }

    #[test]
    fn answer_keys_compare_whole_requests_with_floats_by_bits() {
        use std::hash::BuildHasher;
        let keyed = |value: Value, as_of_us: i64| {
            let mut r = request(as_of_us);
            r.key = KeyPredicate::In(vec![vec![value]]);
            AnswerKey::new(&r)
        };
        let state = std::collections::hash_map::RandomState::new();
        let a = keyed(Value::Double(1.5), 7);
        assert_eq!(a, keyed(Value::Double(1.5), 7));
        assert_eq!(
            state.hash_one(&a),
            state.hash_one(keyed(Value::Double(1.5), 7))
        );
        assert_ne!(a, keyed(Value::Double(1.5), 8));
        assert_ne!(a, keyed(Value::Int(1), 7));
        assert_ne!(keyed(Value::Double(0.0), 7), keyed(Value::Double(-0.0), 7));
        assert_eq!(
            keyed(Value::Double(f64::NAN), 7),
            keyed(Value::Double(f64::NAN), 7)
        );
        let range = |inclusive: bool| {
            let mut r = request(7);
            r.key = KeyPredicate::Range {
                lower: Some(agent_api::flashback::KeyBound {
                    key: vec![Value::Int(1)],
                    inclusive,
                }),
                upper: None,
            };
            AnswerKey::new(&r)
        };
        assert_eq!(range(true), range(true));
        assert_ne!(range(true), range(false));
    }

    #[tokio::test]
    async fn an_answer_without_columns_the_shim_lacks_is_an_error() {
        let fake = Arc::new(Versioned {
            honest: false,
            sent: Default::default(),
        });
        let backend = CachedBackend::new(fake);
        let err = backend
            .flashback(&request(0))
            .await
            .expect_err("no columns");
        assert_eq!(mysql_error(&err).code, 1815);
    }

    #[test]
    fn maps_every_class_to_the_contract() {
        let e = mysql_error(&ClientError::Unreachable(
            "127.0.0.1:8600: connection refused".into(),
        ));
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (2002, "HY000", "Can't connect to dbtrail backend")
        );

        let e = mysql_error(&ClientError::Http {
            status: 502,
            body: None,
        });
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (1317, "70100", "dbtrail backend returned HTTP 502")
        );

        let e = mysql_error(&http(
            400,
            ErrorCode::BadRequest,
            "diff window ends before it starts",
        ));
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (
                1064,
                "HY000",
                "dbtrail backend rejected request (HTTP 400): diff window ends before it starts"
            )
        );

        let e = mysql_error(&http(
            409,
            ErrorCode::CoverageGap,
            "binlogs purged before 09:00; restore a baseline",
        ));
        assert_eq!(
            (e.code, e.message.as_str()),
            (1526, "binlogs purged before 09:00; restore a baseline")
        );

        let e = mysql_error(&ClientError::Failure(ErrorBody::new(
            ErrorCode::Internal,
            "index closed",
        )));
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (1815, "HY000", "dbtrail-shim: index closed")
        );
        let e = mysql_error(&http(500, ErrorCode::Internal, "index closed"));
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (
                1317,
                "70100",
                "dbtrail backend returned HTTP 500: index closed"
            )
        );

        let e = mysql_error(&ClientError::Decode("expected value".into()));
        assert_eq!((e.code, e.state_str()), (1815, "HY000"));
    }

    /// The one kind → MySQL mapping, kind by kind: code, SQLSTATE, and no HTTP wording where the
    /// contract does not ask for it.
    #[test]
    fn every_agent_kind_has_its_code_and_sqlstate() {
        for kind in ErrorCode::ALL {
            let e = mysql_error(&http(kind.http_status(), kind, "detail"));
            let expected: (u16, &str) = match kind {
                ErrorCode::BadRequest => (1064, "HY000"),
                ErrorCode::TableNotFound => (1146, "42S02"),
                ErrorCode::OutsideRetention | ErrorCode::CoverageGap => (1526, "HY000"),
                ErrorCode::NotYetReplicated => (1205, "HY000"),
                ErrorCode::Unauthorized => (1429, "HY000"),
                ErrorCode::Unavailable | ErrorCode::Internal => (1317, "70100"),
            };
            assert_eq!((e.code, e.state_str()), expected, "{kind:?}");
            let contract_names_http = matches!(
                kind,
                ErrorCode::BadRequest | ErrorCode::Unavailable | ErrorCode::Internal
            );
            assert_eq!(
                e.message.contains("HTTP"),
                contract_names_http,
                "{kind:?}: {}",
                e.message
            );
            // Inside a 2xx answer (a stream's trailer) only the agent-side failures differ: the
            // contract's `success: false` row, 1815.
            let inside = mysql_error(&ClientError::Failure(ErrorBody::new(kind, "detail")));
            let expected = match kind {
                ErrorCode::Unavailable | ErrorCode::Internal => (1815, "HY000"),
                _ => expected,
            };
            assert_eq!((inside.code, inside.state_str()), expected, "{kind:?}");
        }
        let lag = agent_error(
            ErrorCode::NotYetReplicated,
            Some("2026-04-27 09:12:00.000000 UTC is not replicated yet (lag 3.0 s)"),
            Some(425),
        );
        assert_eq!(
            lag.message,
            "2026-04-27 09:12:00.000000 UTC is not replicated yet (lag 3.0 s); retry when capture has caught up"
        );
        let token = agent_error(
            ErrorCode::Unauthorized,
            Some("missing or invalid bearer token"),
            Some(401),
        );
        assert!(token.message.contains("agent_token"), "{}", token.message);
    }

    /// An answer without the agent's body is read by its status, through the same mapping.
    #[test]
    fn bodyless_answers_map_through_their_status() {
        let code = |status: u16| mysql_error(&ClientError::Http { status, body: None }).code;
        assert_eq!(code(400), 1064);
        assert_eq!(code(401), 1429);
        assert_eq!(code(404), 1146);
        assert_eq!(code(425), 1205);
        assert_eq!(code(503), 1317);
        assert_eq!(code(599), 1317);
    }
}
