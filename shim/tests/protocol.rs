//! The shim against a real client (mysql_async) over TCP, with a fake backend.

#![allow(clippy::unwrap_used)]

mod support;

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use support::*;

async fn connect(server: &TestServer, db: Option<&str>) -> Conn {
    let opts = Opts::from_url(&server.url(USER, PASSWORD, db)).expect("url");
    Conn::new(opts).await.expect("connect")
}

/// `(code, sqlstate, message)` of a server error.
fn server_error(result: Result<impl std::fmt::Debug, mysql_async::Error>) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

async fn rows(conn: &mut Conn, sql: &str) -> Vec<Row> {
    conn.query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn wrong_password_is_1045() {
    let server = TestServer::start().await;
    let opts = Opts::from_url(&server.url(USER, "nope", None)).unwrap();
    let (code, state, message) = server_error(Conn::new(opts).await);
    assert_eq!((code, state.as_str()), (1045, "28000"));
    assert!(
        message.starts_with("Access denied for user 'app'@'127.0.0.1'"),
        "{message}"
    );
}

/// An unknown user gets the same answer as a wrong password (1045, MySQL's `Access denied`
/// text), so user names cannot be enumerated; the shim's log names the real reason.
#[tokio::test]
async fn unknown_user_reads_like_a_wrong_password() {
    let server = TestServer::start().await;
    let opts = Opts::from_url(&server.url("mallory", "x", None)).unwrap();
    let (code, state, message) = server_error(Conn::new(opts).await);
    assert_eq!((code, state.as_str()), (1045, "28000"));
    assert_eq!(
        message,
        "Access denied for user 'mallory'@'127.0.0.1' (using password: YES)"
    );
    let opts = Opts::from_url(&server.url(USER, "x", None)).unwrap();
    let (_, _, wrong) = server_error(Conn::new(opts).await);
    assert_eq!(wrong.replace("'app'", "'mallory'"), message);
}

#[tokio::test]
async fn hashed_password_authenticates() {
    let server = TestServer::start().await;
    let opts = Opts::from_url(&server.url("hashed", "123456", None)).unwrap();
    let mut conn = Conn::new(opts).await.expect("login with the *HEX form");
    conn.ping().await.unwrap();
}

#[tokio::test]
async fn chatter_selects() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, None).await;
    let one = rows(&mut conn, "SELECT 1").await;
    assert_eq!(one[0].as_ref(0), Some(&Value::Bytes(b"1".to_vec())));
    assert_eq!(
        one[0].columns_ref()[0].column_type(),
        ColumnType::MYSQL_TYPE_LONGLONG
    );
    let comment = rows(&mut conn, "select @@version_comment limit 1").await;
    assert_eq!(
        comment[0].get::<String, _>(0).unwrap(),
        dbtrail_shim::chatter::VERSION_COMMENT
    );
    let db = rows(
        &mut conn,
        "/* ApplicationName=DBeaver */ SELECT DATABASE();",
    )
    .await;
    assert_eq!(db[0].as_ref(0), Some(&Value::NULL));
    conn.query_drop("SET NAMES utf8mb4").await.unwrap();
    conn.query_drop("SET autocommit=1").await.unwrap();
    conn.query_drop("USE shop").await.unwrap();
    let db = rows(&mut conn, "SELECT DATABASE()").await;
    assert_eq!(db[0].get::<String, _>(0).unwrap(), "shop");
}

#[tokio::test]
async fn flashback_returns_typed_columns_and_exact_values() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, None).await;
    conn.query_drop("USE shop").await.unwrap();
    let result = rows(
        &mut conn,
        "SELECT * FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 44",
    )
    .await;
    assert_eq!(result.len(), 1);
    let row = &result[0];
    let cols = row.columns_ref();
    let types: Vec<ColumnType> = cols.iter().map(|c| c.column_type()).collect();
    assert_eq!(
        types,
        [
            ColumnType::MYSQL_TYPE_LONG,
            ColumnType::MYSQL_TYPE_NEWDECIMAL,
            ColumnType::MYSQL_TYPE_LONGLONG,
            ColumnType::MYSQL_TYPE_VAR_STRING,
            ColumnType::MYSQL_TYPE_STRING,
            ColumnType::MYSQL_TYPE_DATETIME,
            ColumnType::MYSQL_TYPE_BLOB,
            ColumnType::MYSQL_TYPE_DOUBLE,
        ]
    );
    assert!(cols[0]
        .flags()
        .contains(ColumnFlags::PRI_KEY_FLAG | ColumnFlags::NOT_NULL_FLAG));
    assert!(cols[2].flags().contains(ColumnFlags::UNSIGNED_FLAG));
    assert!(cols[4].flags().contains(ColumnFlags::ENUM_FLAG));
    assert_eq!(cols[1].decimals(), 2);
    assert_eq!(cols[5].decimals(), 6);
    assert_eq!(cols[3].column_length(), 400);
    assert_eq!(cols[6].character_set(), 63);
    assert!(cols.iter().all(|c| c.column_length() > 0));
    assert_eq!(cols[0].schema_str(), "_flashback");
    assert_eq!(cols[0].org_table_str(), "orders");
    assert_eq!(row.get::<i32, _>(0), Some(44));
    assert_eq!(row.as_ref(1), Some(&Value::Bytes(b"1234.50".to_vec())));
    assert_eq!(row.get::<u64, _>(2), Some(u64::MAX));
    assert_eq!(row.get::<String, _>(3).as_deref(), Some("order 44"));
    assert_eq!(
        row.as_ref(5),
        Some(&Value::Bytes(b"2026-04-27 09:11:58.123456".to_vec()))
    );
    assert_eq!(row.as_ref(6), Some(&Value::Bytes(vec![0, 0xFF, 0xFB])));
    assert_eq!(row.get::<f64, _>(7), Some(0.1));

    let requests = server.backend.requests.lock().unwrap().clone();
    let request = requests.last().unwrap();
    assert_eq!(
        (
            request.server_id,
            request.schema.as_str(),
            request.table.as_str()
        ),
        (7, "shop", "orders")
    );
    assert_eq!(request.as_of_us, 1_777_281_119_000_000);
}

#[tokio::test]
async fn null_and_empty_string_stay_distinct_and_in_lists_work() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, Some("shop")).await;
    let result = rows(
        &mut conn,
        "SELECT id, note AS n FROM _flashback.orders AS OF TIMESTAMP '2026-04-27T09:11:59Z' WHERE id IN (42, 43)",
    )
    .await;
    assert_eq!(result.len(), 2);
    assert_eq!(result[0].columns_ref()[1].name_str(), "n");
    assert_eq!(result[0].as_ref(1), Some(&Value::NULL));
    assert_eq!(result[1].as_ref(1), Some(&Value::Bytes(Vec::new())));
}

#[tokio::test]
async fn non_pk_predicates_filter_but_never_act_as_the_key() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, Some("shop")).await;
    let only_status = conn
        .query_drop("SELECT * FROM _flashback.orders AS OF '2026-04-27' WHERE status = 'paid'")
        .await;
    let (code, state, message) = server_error(only_status);
    assert_eq!((code, state.as_str()), (1064, "HY000"));
    assert_eq!(
        message,
        "dbtrail-shim: time-travel queries require a PK predicate"
    );
    let no_where = conn
        .query_drop("SELECT * FROM _flashback.orders AS OF 'now'")
        .await;
    assert_eq!(
        server_error(no_where).2,
        "dbtrail-shim: time-travel queries require a PK predicate"
    );
    let filtered = rows(
        &mut conn,
        "SELECT id FROM _flashback.orders AS OF '5 minutes ago' WHERE id BETWEEN 40 AND 44 AND status = 'paid' LIMIT 2",
    )
    .await;
    let ids: Vec<i64> = filtered.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(ids, [40, 42]);
}

#[tokio::test]
async fn no_database_and_unknown_statements() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, None).await;
    // Without a current database a virtual read resolves to the one captured schema holding
    // the table (`shop` here); a name no schema holds is 1046.
    let found: Vec<i64> = conn
        .query("SELECT id FROM _flashback.orders AS OF 'now' WHERE id = 1")
        .await
        .expect("orders resolves to shop");
    assert_eq!(found, [1]);
    let r = conn
        .query_drop("SELECT * FROM _flashback.nosuch AS OF 'now' WHERE id = 1")
        .await;
    let (code, state, _) = server_error(r);
    assert_eq!((code, state.as_str()), (1046, "3D000"));
    let (code, state, message) =
        server_error(conn.query_drop("DELETE FROM orders WHERE id = 1").await);
    assert_eq!((code, state.as_str()), (1235, "42000"));
    assert!(
        message.starts_with("dbtrail-shim: this statement is not supported: "),
        "{message}"
    );
    let (code, _, _) = server_error(conn.query_drop("SELECT $$").await);
    assert_eq!(code, 1064);
    conn.ping().await.expect("connection still usable");
}

#[tokio::test]
async fn backend_failures_map_to_contract_codes_and_keep_the_connection() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, Some("shop")).await;
    let q = |id: i64| format!("SELECT * FROM _flashback.orders AS OF 'now' WHERE id = {id}");

    let (code, state, message) = server_error(conn.query_drop(q(ID_UNREACHABLE)).await);
    assert_eq!((code, state.as_str()), (2002, "HY000"));
    assert!(
        message.starts_with("Can't connect to dbtrail backend"),
        "{message}"
    );
    let one = rows(&mut conn, "SELECT 1").await;
    assert_eq!(one.len(), 1, "same connection answers after 2002");

    let (code, state, message) = server_error(conn.query_drop(q(ID_5XX)).await);
    assert_eq!(
        (code, state.as_str(), message.as_str()),
        (1317, "70100", "dbtrail backend returned HTTP 503")
    );

    let (code, state, message) = server_error(conn.query_drop(q(ID_4XX)).await);
    assert_eq!((code, state.as_str()), (1064, "HY000"));
    assert_eq!(
        message,
        "dbtrail backend rejected request (HTTP 400): key literal 'x' is not an INT"
    );

    let (code, _, message) = server_error(conn.query_drop(q(ID_FAILURE)).await);
    assert_eq!(
        (code, message.as_str()),
        (1815, "dbtrail-shim: index is closed")
    );

    let (code, _, message) = server_error(conn.query_drop(q(ID_GAP)).await);
    assert_eq!(
        (code, message.as_str()),
        (1526, "binlogs before 2026-04-27 08:00 were purged")
    );

    let result = rows(&mut conn, &q(44)).await;
    assert_eq!(result.len(), 1);
}

#[tokio::test]
async fn unknown_table_and_column() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, Some("shop")).await;
    let (code, state, _) = server_error(
        conn.query_drop("SELECT * FROM _flashback.nope AS OF 'now' WHERE id = 1")
            .await,
    );
    assert_eq!((code, state.as_str()), (1146, "42S02"));
    let (code, _, _) = server_error(
        conn.query_drop("SELECT nope FROM _flashback.orders AS OF 'now' WHERE id = 1")
            .await,
    );
    assert_eq!(code, 1054);
}
