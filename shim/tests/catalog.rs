//! Connect-time probes and catalog browsing as connectors and BI tools send them (CLIENTS.md).

#![allow(clippy::unwrap_used)]

mod support;

use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Row};
use support::*;

async fn connect(server: &TestServer, db: Option<&str>) -> Conn {
    let opts = Opts::from_url(&server.url(USER, PASSWORD, db)).unwrap();
    Conn::new(opts).await.unwrap()
}

async fn rows(conn: &mut Conn, sql: &str) -> Vec<Row> {
    conn.query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn strings(rows: &[Row], column: usize) -> Vec<String> {
    rows.iter()
        .map(|r| r.get::<String, _>(column).unwrap())
        .collect()
}

/// MySQL Connector/J 8's connect-time probe: one row, numeric variables as integers.
#[tokio::test]
async fn connector_j_variable_probe() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, None).await;
    let sql = "/* mysql-connector-j-8.4.0 (Revision: abc) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@query_cache_size AS query_cache_size, @@query_cache_type AS query_cache_type, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout";
    let result = rows(&mut conn, sql).await;
    assert_eq!(result.len(), 1);
    let row = &result[0];
    let column = |name: &str| {
        row.columns_ref()
            .iter()
            .position(|c| c.name_str() == name)
            .unwrap()
    };
    for numeric in [
        "auto_increment_increment",
        "lower_case_table_names",
        "max_allowed_packet",
        "wait_timeout",
        "performance_schema",
    ] {
        let i = column(numeric);
        assert_eq!(
            row.columns_ref()[i].column_type(),
            ColumnType::MYSQL_TYPE_LONGLONG,
            "{numeric}"
        );
        let text: String = row.get(i).unwrap();
        text.parse::<i64>()
            .unwrap_or_else(|_| panic!("{numeric} = {text}"));
    }
    assert_eq!(
        row.get::<i64, _>(column("max_allowed_packet")),
        Some(67_108_864)
    );
    assert_eq!(
        row.get::<String, _>(column("license")).as_deref(),
        Some("GPL")
    );
    assert_eq!(
        row.get::<String, _>(column("init_connect")).as_deref(),
        Some("")
    );
    assert!(row
        .get::<String, _>(column("sql_mode"))
        .unwrap()
        .contains("STRICT_TRANS_TABLES"));
}

#[tokio::test]
async fn show_variables_collation_charset_engines() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, None).await;
    let vars = rows(&mut conn, "SHOW VARIABLES WHERE Variable_name in ('max_allowed_packet','system_time_zone','time_zone','auto_increment_increment')").await;
    assert_eq!(
        strings(&vars, 0),
        [
            "auto_increment_increment",
            "max_allowed_packet",
            "system_time_zone",
            "time_zone"
        ]
    );
    let like = rows(&mut conn, "SHOW SESSION VARIABLES LIKE 'wait\\_timeout'").await;
    assert_eq!(strings(&like, 1), ["28800"]);
    let none = rows(&mut conn, "SHOW VARIABLES LIKE 'partial_revokes'").await;
    assert!(none.is_empty());
    let collations = rows(&mut conn, "SHOW COLLATION").await;
    let first = &collations[0];
    assert_eq!(first.columns_ref()[0].name_str(), "Collation");
    assert_eq!(first.get::<i64, _>("Id"), Some(255));
    assert_eq!(
        first.get::<String, _>("Charset").as_deref(),
        Some("utf8mb4")
    );
    let charsets = rows(&mut conn, "SHOW CHARACTER SET LIKE 'utf8%'").await;
    assert_eq!(strings(&charsets, 0), ["utf8mb4", "utf8mb3"]);
    let engines = rows(&mut conn, "/* ApplicationName=DBeaver */ SHOW ENGINES").await;
    assert_eq!(strings(&engines, 0), ["InnoDB"]);
    conn.query_drop("START TRANSACTION READ ONLY")
        .await
        .unwrap();
    conn.query_drop("COMMIT").await.unwrap();
}

#[tokio::test]
async fn browsing_the_virtual_schemas() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, Some("shop")).await;
    let dbs = rows(&mut conn, "SHOW DATABASES").await;
    assert_eq!(
        strings(&dbs, 0),
        ["_flashback", "_snapshot", "_diff", "shop"]
    );
    let tables = rows(&mut conn, "SHOW FULL TABLES FROM _flashback").await;
    assert_eq!(
        tables[0].columns_ref()[0].name_str(),
        "Tables_in__flashback"
    );
    assert_eq!(strings(&tables, 0), ["orders"]);
    assert_eq!(strings(&tables, 1), ["BASE TABLE"]);
    let columns = rows(&mut conn, "DESCRIBE _flashback.orders").await;
    assert_eq!(strings(&columns, 0)[..3], ["id", "total", "big"]);
    assert_eq!(columns[0].get::<String, _>("Key").as_deref(), Some("PRI"));
    let full = rows(&mut conn, "SHOW FULL COLUMNS FROM orders FROM shop").await;
    assert_eq!(full[0].columns_ref().len(), 9);
    let create = rows(&mut conn, "SHOW CREATE TABLE _flashback.orders").await;
    let ddl: String = create[0].get(1).unwrap();
    assert!(
        ddl.starts_with("CREATE TABLE `orders` (\n  `id` int NOT NULL,"),
        "{ddl}"
    );
    assert!(ddl.contains("PRIMARY KEY (`id`)"), "{ddl}");
    let keys = rows(&mut conn, "SHOW KEYS FROM orders FROM shop").await;
    assert_eq!(keys[0].columns_ref().len(), 15);
    assert_eq!(
        keys[0].get::<String, _>("Column_name").as_deref(),
        Some("id")
    );
    let status = rows(&mut conn, "SHOW TABLE STATUS FROM shop").await;
    assert_eq!(status[0].columns_ref().len(), 18);
    let empty = rows(&mut conn, "SHOW TABLES LIKE 'zzz%'").await;
    assert!(empty.is_empty());
    let r = conn.query_drop("DESCRIBE _flashback.nope").await;
    assert!(matches!(r, Err(mysql_async::Error::Server(e)) if e.code == 1146));
}
