//! Prepared statements (COM_STMT_PREPARE / EXECUTE / CLOSE) through mysql_async's `exec`, which
//! decodes the binary-protocol rows with mysql_common.

#![allow(clippy::unwrap_used)]

mod support;

use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use support::*;

async fn connect(server: &TestServer) -> Conn {
    let opts = Opts::from_url(&server.url(USER, PASSWORD, Some("shop"))).expect("url");
    Conn::new(opts).await.expect("connect")
}

fn server_error(result: Result<impl std::fmt::Debug, mysql_async::Error>) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

const BY_TIME_AND_ID: &str = "SELECT * FROM _flashback.orders AS OF ? WHERE id = ?";

#[tokio::test]
async fn placeholders_in_as_of_and_where_give_typed_binary_rows() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let statement = conn.prep(BY_TIME_AND_ID).await.unwrap();
    assert_eq!(statement.num_params(), 2);
    assert_eq!(
        statement.columns().len(),
        8,
        "columns known at prepare time"
    );
    let rows: Vec<Row> = conn
        .exec(&statement, ("2026-04-27 09:11:59", 44))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let types: Vec<ColumnType> = rows[0]
        .columns_ref()
        .iter()
        .map(|c| c.column_type())
        .collect();
    assert_eq!(types[0], ColumnType::MYSQL_TYPE_LONG);
    assert_eq!(
        rows[0].clone().unwrap(),
        vec![
            Value::Int(44),
            Value::Bytes(b"1234.50".to_vec()),
            Value::UInt(u64::MAX),
            Value::Bytes(b"order 44".to_vec()),
            Value::Bytes(b"paid".to_vec()),
            Value::Date(2026, 4, 27, 9, 11, 58, 123_456),
            Value::Bytes(vec![0, 0xFF, 0xFB]),
            Value::Double(0.1),
        ]
    );
    let request = server
        .backend
        .requests
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(request.as_of_us, 1_777_281_119_000_000);

    // Re-execution of the same statement, a DATETIME parameter for the time.
    let at = Value::Date(2026, 4, 27, 9, 11, 59, 0);
    let rows: Vec<Row> = conn.exec(&statement, (at, 42)).await.unwrap();
    assert_eq!(rows[0].as_ref(3), Some(&Value::NULL));
    let rows: Vec<Row> = conn
        .exec(&statement, ("2026-04-27 09:11:59", 43))
        .await
        .unwrap();
    assert_eq!(rows[0].as_ref(3), Some(&Value::Bytes(Vec::new())));
}

#[tokio::test]
async fn column_lists_in_lists_and_errors() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let rows: Vec<(i64, Option<String>)> = conn
        .exec(
            "SELECT id, note AS n FROM _flashback.orders AS OF 'now' WHERE id IN (?, ?)",
            (42, 44),
        )
        .await
        .unwrap();
    assert_eq!(rows, vec![(42, None), (44, Some("order 44".into()))]);
    let (code, state, message) = server_error(
        conn.exec_drop(
            "SELECT * FROM _flashback.orders AS OF ? WHERE status = ?",
            ("now", "paid"),
        )
        .await,
    );
    assert_eq!((code, state.as_str()), (1064, "HY000"));
    assert_eq!(
        message,
        "dbtrail-shim: time-travel queries require a PK predicate"
    );
    let (code, _, message) = server_error(conn.exec_drop(BY_TIME_AND_ID, ("now", ID_5XX)).await);
    assert_eq!(
        (code, message.as_str()),
        (1317, "dbtrail backend returned HTTP 503")
    );
    conn.ping().await.unwrap();
}

#[tokio::test]
async fn chatter_through_prepared_statements() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let row: Option<(i64, String, Option<String>)> = conn
        .exec_first(
            "SELECT @@auto_increment_increment, @@version_comment, ?",
            (Value::NULL,),
        )
        .await
        .unwrap();
    let (increment, comment, null) = row.unwrap();
    assert_eq!((increment, null), (1, None));
    assert_eq!(comment, dbtrail_shim::chatter::VERSION_COMMENT);
    conn.exec_drop("SET time_zone = ?", ("+02:00",))
        .await
        .unwrap();
    let zone: Option<String> = conn.exec_first("SELECT @@time_zone", ()).await.unwrap();
    assert_eq!(zone.as_deref(), Some("+02:00"));
}

#[tokio::test]
async fn closed_statement_is_1243() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let statement = conn.prep(BY_TIME_AND_ID).await.unwrap();
    conn.close(statement.clone()).await.unwrap();
    let (code, state, message) = server_error(conn.exec_drop(&statement, ("now", 44)).await);
    assert_eq!((code, state.as_str()), (1243, "HY000"));
    assert_eq!(
        message,
        format!(
            "Unknown prepared statement handler ({}) given to mysqld_stmt_execute",
            statement.id()
        )
    );
    let again: Vec<Row> = conn.exec(BY_TIME_AND_ID, ("now", 44)).await.unwrap();
    assert_eq!(again.len(), 1);
}
