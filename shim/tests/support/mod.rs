//! A server on port 0 with a fake backend: canned metadata for `shop.orders`, canned rows, and
//! failure modes keyed by the requested id.
#![allow(dead_code)] // shared by several test crates, each using a subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};
use agent_api::diff::{ChangeRow, ChangeType, DiffRequest, DiffResponse};
use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyBound, KeyPredicate};
use agent_api::snapshot::{SnapshotHeader, SnapshotRequest};
use agent_api::{ClientError, ErrorBody, ErrorCode, Value};
use dbtrail_shim::backend::{Backend, Snapshot};
use dbtrail_shim::config::Config;
use dbtrail_shim::server::{Server, Shared};
use futures_util::future::BoxFuture;

pub const USER: &str = "app";
pub const PASSWORD: &str = "s3cret";

/// Ids that make the fake fail in a given way.
pub const ID_UNREACHABLE: i64 = 9001;
pub const ID_5XX: i64 = 9002;
pub const ID_4XX: i64 = 9003;
pub const ID_FAILURE: i64 = 9004;
pub const ID_GAP: i64 = 9005;
/// A snapshot whose range starts here fails after three rows.
pub const ID_CUT: i64 = 9006;
/// A flashback of this id answers after 3 s.
pub const ID_SLOW: i64 = 9007;
/// A flashback of this id reports a capture position equal to the requested instant: the
/// answer is not yet immutable history.
pub const ID_LIVE: i64 = 9008;
/// A flashback of this id finds no captured history: no row and a warning saying why.
pub const ID_NO_HISTORY: i64 = 9009;
/// Flashbacks of only these ids report a capture position an hour past the requested instant
/// (cacheable history); all others report none, as an agent that does not say.
pub const CAPTURED_IDS: std::ops::Range<i64> = 500..600;
/// The warning the fake gives for [`ID_NO_HISTORY`].
pub const NO_HISTORY_WARNING: &str = "no captured change for key (9009) in shop.orders: a row that existed before capture began and never changed since is not visible without a baseline";
/// A snapshot whose range starts here never ends: a row every millisecond until dropped.
pub const ID_ENDLESS: i64 = 9010;
/// Rows of the fake `_snapshot.orders`: ids 1..=SNAPSHOT_ROWS.
pub const SNAPSHOT_ROWS: i64 = 5000;

#[derive(Default)]
pub struct FakeBackend {
    /// Every flashback request received.
    pub requests: Mutex<Vec<FlashbackRequest>>,
    /// Every diff request received.
    pub diffs: Mutex<Vec<DiffRequest>>,
    /// Every snapshot request received.
    pub snapshots: Mutex<Vec<SnapshotRequest>>,
    /// Set when an endless snapshot stream ([`ID_ENDLESS`]) is dropped: the shim stopped
    /// reading it (over HTTP this closes the connection and the agent stops its scan).
    pub endless_dropped: Arc<std::sync::atomic::AtomicBool>,
}

/// Sets its flag when dropped.
struct DropFlag(Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn column(name: &str, data_type: DataType, nullable: bool) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        data_type,
        column_type: data_type.sql_name().into(),
        unsigned: false,
        nullable,
        length: 0,
        scale: 0,
        charset: None,
        collation_id: None,
        elements: Vec::new(),
    }
}

pub fn orders() -> TableInfo {
    let mut total = column("total", DataType::Decimal, true);
    total.length = 12;
    total.scale = 2;
    let mut big = column("big", DataType::BigInt, true);
    big.unsigned = true;
    let mut note = column("note", DataType::VarChar, true);
    note.length = 100;
    note.charset = Some("utf8mb4".into());
    note.collation_id = Some(255);
    let mut status = column("status", DataType::Enum, false);
    status.elements = vec!["new".into(), "paid".into()];
    status.charset = Some("utf8mb4".into());
    let mut created = column("created", DataType::DateTime, false);
    created.scale = 6;
    TableInfo {
        schema: "shop".into(),
        name: "orders".into(),
        columns: vec![
            column("id", DataType::Int, false),
            total,
            big,
            note,
            status,
            created,
            column("payload", DataType::Blob, true),
            column("ratio", DataType::Double, true),
        ],
        primary_key: vec!["id".into()],
    }
}

pub fn row(id: i64) -> Vec<Value> {
    let note = match id {
        42 => Value::Null,
        43 => Value::Text(String::new()),
        _ => Value::Text(format!("order {id}")),
    };
    vec![
        Value::Int(id),
        Value::Decimal("1234.50".into()),
        Value::UInt(u64::MAX),
        note,
        Value::Text(if id % 2 == 0 { "paid" } else { "new" }.into()),
        Value::DateTime("2026-04-27 09:11:58.123456".parse().expect("datetime")),
        Value::Bytes(vec![0, 0xFF, 0xFB]),
        Value::Double(0.1),
    ]
}

fn failure(id: i64) -> Option<ClientError> {
    Some(match id {
        ID_UNREACHABLE => {
            ClientError::Unreachable("error sending request: connection refused".into())
        }
        ID_5XX => ClientError::Http {
            status: 503,
            body: None,
        },
        ID_4XX => ClientError::Http {
            status: 400,
            body: Some(ErrorBody::new(
                ErrorCode::BadRequest,
                "key literal 'x' is not an INT",
            )),
        },
        ID_FAILURE => ClientError::Failure(ErrorBody::new(ErrorCode::Internal, "index is closed")),
        ID_GAP => ClientError::Http {
            status: 409,
            body: Some(ErrorBody::new(
                ErrorCode::CoverageGap,
                "binlogs before 2026-04-27 08:00 were purged",
            )),
        },
        _ => return None,
    })
}

impl Backend for FakeBackend {
    fn tables<'a>(
        &'a self,
        _server_id: u32,
        schema: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>, ClientError>> {
        Box::pin(async move {
            Ok(match schema {
                Some("shop") | None => vec![orders()],
                Some(_) => Vec::new(),
            })
        })
    }

    fn flashback<'a>(
        &'a self,
        request: &'a FlashbackRequest,
    ) -> BoxFuture<'a, Result<FlashbackResponse, ClientError>> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push(request.clone());
            if first_key(&request.key) == Some(ID_SLOW) {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            }
            let ids: Vec<i64> = match &request.key {
                KeyPredicate::In(keys) => keys
                    .iter()
                    .filter_map(|k| match k.first() {
                        Some(Value::Int(n)) => Some(*n),
                        _ => None,
                    })
                    .collect(),
                KeyPredicate::Range { .. } => (40..45).collect(),
            };
            if let Some(e) = ids.iter().find_map(|id| failure(*id)) {
                return Err(e);
            }
            Ok(FlashbackResponse {
                success: true,
                columns: orders().columns,
                schema_id: None,
                rows: ids
                    .iter()
                    .filter(|id| **id < 1000)
                    .map(|id| row(*id))
                    .collect(),
                seq: 7,
                warnings: ids
                    .iter()
                    .filter(|id| **id == ID_NO_HISTORY)
                    .map(|_| NO_HISTORY_WARNING.to_owned())
                    .collect(),
                complete_until_us: if ids.iter().all(|id| CAPTURED_IDS.contains(id)) {
                    Some(request.as_of_us + 3_600_000_000)
                } else if ids.contains(&ID_LIVE) {
                    Some(request.as_of_us)
                } else {
                    None
                },
            })
        })
    }

    fn diff<'a>(
        &'a self,
        request: &'a DiffRequest,
    ) -> BoxFuture<'a, Result<DiffResponse, ClientError>> {
        Box::pin(async move { self.diff_answer(request) })
    }

    fn snapshot<'a>(
        &'a self,
        request: &'a SnapshotRequest,
    ) -> BoxFuture<'a, Result<Snapshot, ClientError>> {
        Box::pin(async move { self.snapshot_answer(request) })
    }
}

fn first_key(key: &KeyPredicate) -> Option<i64> {
    let value = match key {
        KeyPredicate::In(keys) => keys.first()?.first()?,
        KeyPredicate::Range {
            lower: Some(KeyBound { key, .. }),
            ..
        } => key.first()?,
        KeyPredicate::Range { .. } => return None,
    };
    match value {
        Value::Int(n) => Some(*n),
        _ => None,
    }
}

/// Two changes of key `id`: its insert at 09:00:00 UTC and an update of `note` at 09:11:58.5.
fn changes(id: i64) -> Vec<ChangeRow> {
    let mut before = row(id);
    before[3] = Value::Text("old".into());
    vec![
        ChangeRow {
            event_time_us: 1_777_280_400_000_000,
            event_type: ChangeType::Insert,
            seq: 1,
            gtid: None,
            binlog_file: "binlog.000001".into(),
            binlog_pos: 4_000,
            changed_columns: orders().columns.iter().map(|c| c.name.clone()).collect(),
            row_before: None,
            row_after: Some(before.clone()),
        },
        ChangeRow {
            event_time_us: 1_777_281_118_500_000,
            event_type: ChangeType::Update,
            seq: 2,
            gtid: Some("0-1-2".into()),
            binlog_file: "binlog.000001".into(),
            binlog_pos: 18_446_744_073_709_551_615,
            changed_columns: vec!["note".into()],
            row_before: Some(before),
            row_after: Some(row(id)),
        },
    ]
}

impl FakeBackend {
    fn diff_answer(&self, request: &DiffRequest) -> Result<DiffResponse, ClientError> {
        self.diffs.lock().expect("lock").push(request.clone());
        let id = first_key(&request.key).unwrap_or(0);
        if let Some(e) = failure(id) {
            return Err(e);
        }
        Ok(DiffResponse {
            success: true,
            columns: orders().columns,
            changes: changes(id),
            warnings: Vec::new(),
        })
    }

    fn snapshot_answer(&self, request: &SnapshotRequest) -> Result<Snapshot, ClientError> {
        self.snapshots.lock().expect("lock").push(request.clone());
        let start = request.key.as_ref().and_then(first_key).unwrap_or(1);
        if let Some(e) = failure(start).filter(|_| start != ID_CUT) {
            return Err(e);
        }
        let header = SnapshotHeader {
            success: true,
            columns: orders().columns,
            seq: 7,
            warnings: vec!["baseline of 2026-04-27 00:00 used".into()],
        };
        let rows: futures_util::stream::BoxStream<'static, _> = if start == ID_ENDLESS {
            let flag = DropFlag(Arc::clone(&self.endless_dropped));
            Box::pin(futures_util::stream::unfold(
                (1i64, flag),
                |(id, flag)| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    Some((Ok(row(id)), (id + 1, flag)))
                },
            ))
        } else if start == ID_CUT {
            let cut = ClientError::Unreachable("snapshot stream cut after 3 rows".into());
            let items: Vec<Result<Vec<Value>, ClientError>> =
                vec![Ok(row(1)), Ok(row(2)), Ok(row(3)), Err(cut)];
            Box::pin(futures_util::stream::iter(items))
        } else {
            Box::pin(futures_util::stream::iter(
                (start..=SNAPSHOT_ROWS).map(|id| Ok(row(id))),
            ))
        };
        Ok(Snapshot { header, rows })
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub backend: Arc<FakeBackend>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with("").await
    }

    /// A server whose shim.yaml also holds `extra` (top-level YAML lines).
    pub async fn start_with(extra: &str) -> TestServer {
        let yaml = format!(
            "listen: 127.0.0.1:0\nagent_url: http://127.0.0.1:1\ntenants:\n  - {{ mysql_user: {USER}, mysql_password: {PASSWORD}, server_id: 7 }}\n  - {{ mysql_user: hashed, mysql_password: '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9', server_id: 7 }}\n  - {{ mysql_user: narrow, mysql_password: n, server_id: 7, allowed_schemas: [crm] }}\n  - {{ mysql_user: wide, mysql_password: w, server_id: 7, allow_wide_diff: true }}\n{extra}"
        );
        let config = Config::from_yaml(&yaml, &|_| None).expect("config");
        let backend = Arc::new(FakeBackend::default());
        let shared = Shared::with_backend(&config, backend.clone()).expect("shared");
        let server = Server::bind(config.listen_addr().expect("addr"), shared)
            .await
            .expect("bind");
        let addr = server.local_addr().expect("addr");
        tokio::spawn(server.serve());
        TestServer { addr, backend }
    }

    pub fn url(&self, user: &str, password: &str, db: Option<&str>) -> String {
        format!(
            "mysql://{user}:{password}@{}/{}?prefer_socket=false",
            self.addr,
            db.unwrap_or("")
        )
    }
}
