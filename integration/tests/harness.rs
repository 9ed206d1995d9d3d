//! The harness itself: a private MariaDB starts with a ROW binlog, takes writes, and goes away.

use integration::MariaDb;
use mysql_async::prelude::Queryable;

#[tokio::test]
async fn mariadb_starts_with_row_binlog_and_cleans_up() -> anyhow::Result<()> {
    let db = MariaDb::start().await?;
    let datadir = db.datadir().to_owned();

    let variables = [
        ("binlog_format", "ROW"),
        ("log_bin", "ON"),
        ("binlog_row_image", "FULL"),
        ("binlog_row_metadata", "FULL"),
        ("server_id", "1"),
        ("time_zone", "+00:00"),
    ];
    for (name, want) in variables {
        let got = db
            .sql_text(&format!("SELECT @@{name}"))
            .await?
            .unwrap_or_default();
        let got = if got == "1" && want == "ON" {
            "ON".to_owned()
        } else {
            got
        };
        assert_eq!(got, want, "@@{name}");
    }
    let rows = db.sql("SHOW VARIABLES LIKE 'binlog_format'").await?;
    let value: String = rows[0].get(1).expect("Value column");
    assert_eq!(value, "ROW");

    // A write over TCP as the application user, read back as root.
    let mut app = mysql_async::Conn::new(db.tcp_opts("app", "app", None)).await?;
    app.query_drop("CREATE DATABASE shop").await?;
    app.query_drop("CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))")
        .await?;
    app.query_drop("INSERT INTO shop.t VALUES (1, 'one')")
        .await?;
    app.disconnect().await?;
    assert_eq!(
        db.sql_text("SELECT v FROM shop.t WHERE id = 1").await?,
        Some("one".to_owned())
    );

    // The binlog exists and the replication account may read its list.
    let logs = db.sql("SHOW BINARY LOGS").await?;
    let first: String = logs[0].get(0).expect("Log_name column");
    assert!(first.starts_with("binlog."), "{first}");
    assert!(datadir.join(&first).is_file());
    let mut repl = mysql_async::Conn::new(db.tcp_opts("dbtrail", "dbtrail", None)).await?;
    let listed: Vec<(String, u64)> = repl.query("SHOW BINARY LOGS").await?;
    assert_eq!(listed[0].0, first);
    repl.disconnect().await?;

    // The mariadb CLI reaches it over TCP.
    let out =
        integration::mariadb_cli(db.port(), "app", "app", Some("shop"), "SELECT * FROM t").await?;
    assert_eq!(out, "id\tv\n1\tone\n");

    drop(db);
    assert!(
        !datadir.exists(),
        "datadir {} left behind",
        datadir.display()
    );
    Ok(())
}

#[test]
fn missing_binary_message_says_how_to_build() {
    let err = integration::workspace_binary("no-such-binary").expect_err("no such binary");
    assert!(
        format!("{err:#}").contains("cargo build --workspace --bins"),
        "{err:#}"
    );
}
