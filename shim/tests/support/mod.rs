//! A server on port 0 with a fake backend: canned metadata for `shop.orders`, canned rows, and
//! failure modes keyed by the requested id.
#![allow(dead_code)] // shared by several test crates, each using a subset

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};
use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::{ClientError, ErrorBody, ErrorCode, Value};
use dbtrail_shim::backend::Backend;
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

#[derive(Default)]
pub struct FakeBackend {
    /// Every flashback request received.
    pub requests: Mutex<Vec<FlashbackRequest>>,
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

fn row(id: i64) -> Vec<Value> {
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
        schema: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TableInfo>, ClientError>> {
        Box::pin(async move {
            Ok(if schema == "shop" {
                vec![orders()]
            } else {
                Vec::new()
            })
        })
    }

    fn flashback<'a>(
        &'a self,
        request: &'a FlashbackRequest,
    ) -> BoxFuture<'a, Result<FlashbackResponse, ClientError>> {
        Box::pin(async move {
            self.requests.lock().expect("lock").push(request.clone());
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
                rows: ids
                    .iter()
                    .filter(|id| **id < 1000)
                    .map(|id| row(*id))
                    .collect(),
                seq: 7,
                warnings: Vec::new(),
            })
        })
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub backend: Arc<FakeBackend>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let yaml = format!(
            "listen: 127.0.0.1:0\nagent_url: http://127.0.0.1:1\ntenants:\n  - {{ mysql_user: {USER}, mysql_password: {PASSWORD}, server_id: 7 }}\n  - {{ mysql_user: hashed, mysql_password: '*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9', server_id: 7 }}\n"
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
