//! `_diff`, `_snapshot`, the session default time and the other AS OF spellings, through
//! mysql_async (text and binary protocol) against the fake backend.

#![allow(clippy::unwrap_used)]

mod support;

use agent_api::flashback::{KeyBound, KeyPredicate};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row, Value};
use support::*;

async fn connect(server: &TestServer) -> Conn {
    let opts = Opts::from_url(&server.url(USER, PASSWORD, Some("shop"))).unwrap();
    Conn::new(opts).await.unwrap()
}

fn server_error(result: Result<impl std::fmt::Debug, mysql_async::Error>) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// 2026-04-27 09:11:59 UTC.
const T: i64 = 1_777_281_119_000_000;
const HOUR: i64 = 3_600_000_000;

#[tokio::test]
async fn diff_rows_in_the_session_time_zone() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    conn.query_drop("SET time_zone = '+02:00'").await.unwrap();
    let rows: Vec<Row> = conn
        .query("SELECT * FROM _diff.orders BETWEEN '2026-04-27 10:00' AND '2026-04-27 12:00' WHERE id = 44")
        .await
        .unwrap();
    let request = server
        .backend
        .diffs
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        request.from_us,
        T - 11 * 60 * 1_000_000 - 59 * 1_000_000 - HOUR
    );
    assert_eq!(request.to_us, request.from_us + 2 * HOUR);
    assert_eq!(
        request.key,
        KeyPredicate::In(vec![vec![agent_api::Value::Int(44)]])
    );
    assert_eq!(rows.len(), 2);
    let columns: Vec<String> = rows[0]
        .columns_ref()
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    assert_eq!(
        columns,
        [
            "event_time",
            "event_type",
            "gtid",
            "binlog_file",
            "binlog_pos",
            "changed_columns",
            "row_before",
            "row_after"
        ]
    );
    let event_time = &rows[0].columns_ref()[0];
    assert_eq!(
        (event_time.column_type(), event_time.decimals()),
        (ColumnType::MYSQL_TYPE_DATETIME, 6)
    );
    assert_eq!(
        rows[0].columns_ref()[7].column_type(),
        ColumnType::MYSQL_TYPE_JSON
    );
    assert_eq!(
        rows[0].get::<String, _>(0).unwrap(),
        "2026-04-27 11:00:00.000000"
    );
    assert_eq!(
        rows[1].get::<String, _>(0).unwrap(),
        "2026-04-27 11:11:58.500000"
    );
    assert_eq!(rows[0].get::<String, _>(1).unwrap(), "INSERT");
    assert_eq!(rows[0].as_ref(2), Some(&Value::NULL));
    assert_eq!(rows[1].get::<String, _>(2).unwrap(), "0-1-2");
    assert_eq!(rows[1].get::<u64, _>(4), Some(u64::MAX));
    assert_eq!(
        rows[0].as_ref(6),
        Some(&Value::NULL),
        "no before image for INSERT"
    );
    assert_eq!(rows[1].get::<String, _>(5).unwrap(), "[\"note\"]");
    let after_text = rows[1].get::<String, _>(7).unwrap();
    assert!(
        after_text.contains("\"total\":1234.50"),
        "DECIMAL stays exact: {after_text}"
    );
    let before: serde_json::Value =
        serde_json::from_str(&rows[1].get::<String, _>(6).unwrap()).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&rows[1].get::<String, _>(7).unwrap()).unwrap();
    assert_eq!(
        (before["note"].as_str(), after["note"].as_str()),
        (Some("old"), Some("order 44"))
    );
    assert_eq!(after["id"], 44);
    assert_eq!(after["big"], u64::MAX);
    assert_eq!(after["created"], "2026-04-27 09:11:58.123456");
}

#[tokio::test]
async fn diff_window_limit_and_binary_protocol() {
    let server = TestServer::start_with("limits: { max_diff_window: 24h }\n").await;
    let mut conn = connect(&server).await;
    let wide =
        "SELECT event_type FROM _diff.orders BETWEEN '2026-04-20' AND '2026-04-27' WHERE id = 44";
    let (code, state, message) = server_error(conn.query_drop(wide).await);
    assert_eq!((code, state.as_str()), (1064, "HY000"));
    assert_eq!(message, "dbtrail-shim: _diff window exceeds limit (24h)");
    // The session switch lifts the limit only for a tenant with `allow_wide_diff: true`.
    conn.query_drop("SET @dbtrail_allow_wide_diff = ON")
        .await
        .unwrap();
    let (code, state, message) = server_error(conn.query_drop(wide).await);
    assert_eq!((code, state.as_str()), (1227, "42000"));
    assert!(message.contains("allow_wide_diff"), "{message}");
    let opts = Opts::from_url(&server.url("wide", "w", Some("shop"))).unwrap();
    let mut permitted = Conn::new(opts).await.unwrap();
    let (code, _, _) = server_error(permitted.query_drop(wide).await);
    assert_eq!(
        code, 1064,
        "the limit holds until the session asks to lift it"
    );
    permitted
        .query_drop("SET @dbtrail_allow_wide_diff = ON")
        .await
        .unwrap();
    let kinds: Vec<String> = permitted.query(wide).await.unwrap();
    assert_eq!(kinds, ["INSERT", "UPDATE"]);
    let kinds: Vec<String> = conn
        .query(wide.replace("2026-04-20", "2026-04-26 12:00"))
        .await
        .unwrap();
    assert_eq!(
        kinds,
        ["INSERT", "UPDATE"],
        "a window inside the limit needs no permission"
    );
    let rows: Vec<Row> = permitted
        .exec(
            "SELECT event_time, binlog_pos, row_after FROM _diff.orders BETWEEN ? AND NOW() WHERE id = ?",
            ("2026-04-27 09:00", 43),
        )
        .await
        .unwrap();
    assert_eq!(
        rows[0].as_ref(0),
        Some(&Value::Date(2026, 4, 27, 9, 0, 0, 0))
    );
    assert_eq!(
        rows[1].as_ref(0),
        Some(&Value::Date(2026, 4, 27, 9, 11, 58, 500_000))
    );
    assert_eq!(rows[1].as_ref(1), Some(&Value::UInt(u64::MAX)));
    let (code, _, message) = server_error(
        permitted
            .query_drop("SELECT * FROM _diff.orders BETWEEN 'now' AND 'now' WHERE note = 'x'")
            .await,
    );
    assert_eq!(code, 1064);
    assert!(
        message.starts_with("dbtrail-shim: time-travel queries require a PK predicate"),
        "{message}"
    );
}

#[tokio::test]
async fn snapshot_streams_the_whole_table() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let ids: Vec<i64> = conn
        .query("SELECT id FROM _snapshot.orders AS OF '2026-04-27 09:11:59'")
        .await
        .unwrap();
    assert_eq!(ids.len(), SNAPSHOT_ROWS as usize);
    assert_eq!(ids.first(), Some(&1));
    let request = server
        .backend
        .snapshots
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!((request.as_of_us, request.key), (T, None));
    let warnings: Vec<(String, u16, String)> = conn.query("SHOW WARNINGS").await.unwrap();
    assert_eq!(warnings[0].2, "baseline of 2026-04-27 00:00 used");

    let paid: Vec<i64> = conn
        .query("SELECT id FROM _snapshot.orders AS OF 'now' WHERE status = 'paid' LIMIT 3")
        .await
        .unwrap();
    assert_eq!(paid, [2, 4, 6]);
    let ranged: Vec<i64> = conn
        .exec(
            "SELECT id FROM _snapshot.orders AS OF ? WHERE id >= ? LIMIT 2",
            ("now", 100),
        )
        .await
        .unwrap();
    assert_eq!(ranged, [100, 101]);
    let request = server
        .backend
        .snapshots
        .lock()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    let lower = KeyBound {
        key: vec![agent_api::Value::Int(100)],
        inclusive: true,
    };
    assert_eq!(
        request.key,
        Some(KeyPredicate::Range {
            lower: Some(lower),
            upper: None
        })
    );

    let cut = conn
        .query::<i64, _>(format!(
            "SELECT id FROM _snapshot.orders AS OF 'now' WHERE id >= {ID_CUT}"
        ))
        .await;
    let (code, _, message) = server_error(cut);
    // The cut is logged; the client gets the contract's message without the agent's details.
    assert_eq!(
        (code, message.as_str()),
        (2002, "Can't connect to dbtrail backend")
    );
    let (code, _, _) = server_error(
        conn.query_drop(format!(
            "SELECT * FROM _snapshot.orders AS OF 'now' WHERE id >= {ID_GAP}"
        ))
        .await,
    );
    assert_eq!(code, 1526);
    conn.ping().await.unwrap();
}

#[tokio::test]
async fn session_default_time_and_as_of_spellings() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let (code, _, message) = server_error(
        conn.query_drop("SELECT * FROM _flashback.orders WHERE id = 44")
            .await,
    );
    assert_eq!(code, 1064);
    assert!(message.contains("AS OF '<time>' is required"), "{message}");
    conn.query_drop("SET @dbtrail_as_of = '2026-04-27 09:11:59'")
        .await
        .unwrap();
    let last = |s: &TestServer| s.backend.requests.lock().unwrap().last().cloned().unwrap();
    for sql in [
        "SELECT * FROM _flashback.orders WHERE id = 44",
        "SELECT * FROM shop.orders FOR SYSTEM_TIME AS OF TIMESTAMP '2026-04-27 09:11:59' WHERE id = 44",
        "SELECT /*+ DBTRAIL_AT='2026-04-27 09:11:59' */ * FROM orders WHERE id = 44",
        "SELECT * FROM orders WHERE id = 44 AS OF '2026-04-27T11:11:59+02:00'",
    ] {
        let rows: Vec<Row> = conn
            .query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(rows.len(), 1, "{sql}");
        assert_eq!(last(&server).as_of_us, T, "{sql}");
    }
    let ids: Vec<i64> = conn
        .query("SELECT id FROM _snapshot.orders LIMIT 1")
        .await
        .unwrap();
    assert_eq!(ids, [1]);
    conn.query_drop("SELECT * FROM _flashback.orders AS OF NOW() - INTERVAL 1 HOUR WHERE id = 44")
        .await
        .unwrap();
    let at = last(&server).as_of_us;
    let now = dbtrail_shim::plan::now_us();
    assert!((now - HOUR - at).abs() < 60_000_000, "{at} vs {now}");
    let (code, state, message) = server_error(
        conn.query_drop(
            "SELECT * FROM _flashback.orders o JOIN shop.customers c ON o.id = c.id AS OF 'now'",
        )
        .await,
    );
    assert_eq!((code, state.as_str()), (1064, "HY000"));
    assert_eq!(
        message,
        "dbtrail-shim: cannot join virtual schema _flashback with a real table"
    );
}

#[tokio::test]
async fn allowed_schemas_and_query_timeout() {
    let server = TestServer::start_with("limits: { query_timeout: 1s }\n").await;
    let opts = Opts::from_url(&server.url("narrow", "n", Some("SHOP"))).unwrap();
    let (code, state, message) = server_error(Conn::new(opts).await);
    assert_eq!(
        (code, state.as_str()),
        (1044, "42000"),
        "connect-time database"
    );
    assert_eq!(
        message,
        "Access denied for user 'narrow'@'127.0.0.1' to database 'SHOP'"
    );
    let opts = Opts::from_url(&server.url("narrow", "n", Some("crm"))).unwrap();
    let mut narrow = Conn::new(opts).await.unwrap();
    let (code, state, message) = server_error(
        narrow
            .query_drop("SELECT * FROM shop.orders WHERE id = 44 AS OF 'now'")
            .await,
    );
    assert_eq!((code, state.as_str()), (1044, "42000"));
    assert_eq!(
        message,
        "Access denied for user 'narrow'@'127.0.0.1' to database 'shop'"
    );
    let dbs: Vec<String> = narrow.query("SHOW DATABASES").await.unwrap();
    assert_eq!(dbs, ["_flashback", "_snapshot", "_diff"]);
    let (code, _, _) = server_error(narrow.query_drop("SHOW TABLES FROM shop").await);
    assert_eq!(code, 1044);
    for db in ["shop", "SHOP", "`Shop`"] {
        let (code, state, message) = server_error(narrow.query_drop(format!("USE {db}")).await);
        assert_eq!((code, state.as_str()), (1044, "42000"), "USE {db}");
        assert!(
            message.starts_with("Access denied for user 'narrow'"),
            "{message}"
        );
    }
    let current: Option<String> = narrow.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(
        current.as_deref(),
        Some("crm"),
        "a refused USE keeps the database"
    );
    // Allowed, but no table of `CRM` is captured (names compare exactly, as MySQL's on Linux
    // with `lower_case_table_names=0`): 1049, not 1044.
    let (code, state, _) = server_error(narrow.query_drop("USE CRM").await);
    assert_eq!((code, state.as_str()), (1049, "42000"), "USE CRM");
    for db in ["_flashback", "information_schema"] {
        narrow.query_drop(format!("USE {db}")).await.unwrap();
    }
    let current: Option<String> = narrow.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(current.as_deref(), Some("information_schema"));

    let mut conn = connect(&server).await;
    let started = std::time::Instant::now();
    let (code, state, message) = server_error(
        conn.query_drop(format!(
            "SELECT * FROM _flashback.orders AS OF 'now' WHERE id = {ID_SLOW}"
        ))
        .await,
    );
    assert_eq!((code, state.as_str()), (1317, "70100"));
    assert!(message.contains("query_timeout (1s)"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
    conn.ping().await.unwrap();
}

/// `SET time_zone` with an IANA name: zone-less AS OF literals follow its daylight-saving rules,
/// `_diff` shows event times in it, and an unknown name is ERR 1298.
#[tokio::test]
async fn named_time_zones_follow_daylight_saving() {
    const JAN_15_11H_UTC: i64 = 1_768_474_800_000_000;
    const SPRING_CHANGE: i64 = 1_774_746_000_000_000; // 2026-03-29 01:00 UTC, 02:00 CET → 03:00 CEST
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    assert_eq!(
        server_error(conn.query_drop("SET time_zone = 'Mars/Olympus'").await),
        (
            1298,
            "HY000".into(),
            "Unknown or incorrect time zone: 'Mars/Olympus'".into()
        )
    );
    conn.query_drop("SET time_zone = 'Europe/Paris'")
        .await
        .unwrap();
    let zone: Option<String> = conn.query_first("SELECT @@time_zone").await.unwrap();
    assert_eq!(zone.as_deref(), Some("Europe/Paris"));
    for time in [
        "2026-04-27 11:11:59",
        "2026-01-15 12:00:00",
        "2026-03-29 02:30:00",
    ] {
        let sql = format!("SELECT id FROM _flashback.orders AS OF '{time}' WHERE id = 1");
        let ids: Vec<i64> = conn.query(sql).await.unwrap();
        assert_eq!(ids, [1]);
    }
    let _: Vec<i64> = conn
        .exec(
            "SELECT id FROM _flashback.orders AS OF ? WHERE id = 1",
            ("2026-04-27 11:11:59",),
        )
        .await
        .unwrap();
    let instants: Vec<i64> = server
        .backend
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.as_of_us)
        .collect();
    assert_eq!(instants, [T, JAN_15_11H_UTC, SPRING_CHANGE, T]);

    let times: Vec<String> = conn
        .query("SELECT event_time FROM _diff.orders BETWEEN '2026-04-27 10:00' AND '2026-04-27 12:00' WHERE id = 44")
        .await
        .unwrap();
    assert_eq!(
        times,
        ["2026-04-27 11:00:00.000000", "2026-04-27 11:11:58.500000"]
    );
    conn.query_drop("SET time_zone = SYSTEM").await.unwrap();
    let _: Vec<i64> = conn
        .query("SELECT id FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 1")
        .await
        .unwrap();
    let last = server.backend.requests.lock().unwrap().last().cloned();
    assert_eq!(
        last.map(|r| r.as_of_us),
        Some(T),
        "SYSTEM is the UTC default"
    );
}

fn flashback_count(server: &TestServer) -> usize {
    server.backend.requests.lock().unwrap().len()
}

/// Answers for times the agent has fully captured come from the cache the second time; answers
/// at the capture position, with warnings, or without a reported position always reach the agent.
#[tokio::test]
async fn immutable_answers_are_cached_and_live_ones_are_not() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let sql = "SELECT id, note FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 501";
    let first: Vec<(i64, String)> = conn.query(sql).await.unwrap();
    assert_eq!(first, [(501, "order 501".to_owned())]);
    assert_eq!(flashback_count(&server), 1);
    // Same request, text and binary protocol, another connection: served from the cache.
    let again: Vec<(i64, String)> = conn.query(sql).await.unwrap();
    let prepared: Vec<(i64, String)> = conn
        .exec(
            "SELECT id, note FROM _flashback.orders AS OF ? WHERE id = ?",
            ("2026-04-27 09:11:59", 501),
        )
        .await
        .unwrap();
    let mut other = connect(&server).await;
    let elsewhere: Vec<(i64, String)> = other.query(sql).await.unwrap();
    assert_eq!((&again, &prepared, &elsewhere), (&first, &first, &first));
    assert_eq!(flashback_count(&server), 1, "served from the cache");
    // Another instant or key is another answer.
    let _: Vec<i64> = conn
        .query("SELECT id FROM _flashback.orders AS OF '2026-04-27 09:12:00' WHERE id = 501")
        .await
        .unwrap();
    assert_eq!(flashback_count(&server), 2);

    for sql in [
        format!(
            "SELECT id FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = {ID_LIVE}"
        ),
        format!(
            "SELECT id FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = {ID_NO_HISTORY}"
        ),
        "SELECT id FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 1".to_owned(),
    ] {
        let before = flashback_count(&server);
        for _ in 0..2 {
            let _: Vec<i64> = conn.query(&sql).await.unwrap();
        }
        assert_eq!(flashback_count(&server), before + 2, "not cached: {sql}");
    }
}

#[tokio::test]
async fn answer_cache_can_be_turned_off() {
    let server = TestServer::start_with("cache: { answers_max_bytes: 0, tables_ttl: 1s }\n").await;
    let mut conn = connect(&server).await;
    let sql = "SELECT id FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 501";
    for _ in 0..2 {
        let ids: Vec<i64> = conn.query(sql).await.unwrap();
        assert_eq!(ids, [501]);
    }
    assert_eq!(flashback_count(&server), 2);
}

/// A key without captured history: no row, the EOF/OK packet counts one warning, and
/// `SHOW WARNINGS` says why; the next statement clears it.
#[tokio::test]
async fn missing_history_is_a_warning_with_a_matching_count() {
    let server = TestServer::start().await;
    let mut conn = connect(&server).await;
    let sql = format!(
        "SELECT * FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id IN (44, {ID_NO_HISTORY})"
    );
    for binary in [false, true] {
        let ids: Vec<i64> = if binary {
            conn.exec(sql.replace("SELECT *", "SELECT id"), ())
                .await
                .unwrap()
        } else {
            conn.query(sql.replace("SELECT *", "SELECT id"))
                .await
                .unwrap()
        };
        assert_eq!(ids, [44]);
        assert_eq!(
            conn.get_warnings(),
            1,
            "warning count in the EOF (binary: {binary})"
        );
        let warnings: Vec<(String, u16, String)> = conn.query("SHOW WARNINGS").await.unwrap();
        assert_eq!(
            warnings,
            [("Warning".to_owned(), 1105, NO_HISTORY_WARNING.to_owned())]
        );
        conn.query_drop("SELECT 1").await.unwrap();
        assert_eq!(conn.get_warnings(), 0);
        let warnings: Vec<(String, u16, String)> = conn.query("SHOW WARNINGS").await.unwrap();
        assert!(warnings.is_empty());
    }
}
