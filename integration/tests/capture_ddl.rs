//! Capture survives DDL shapes that produce no row events.

use agent_api::time::format_unix_micros;
use agent_api::Value as ApiValue;
use anyhow::{ensure, Context, Result};
use integration::canon::agent_row;
use integration::history::{
    flashback, instant_after, keys_in, wait_caught_up_strict, wall_clock_us, SyntheticClock,
};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// A table created but never written, next to one that is: capture must go on and serve the
/// written table. (agent-core records `CREATE TABLE` as a table operation; the index commit once
/// looked the never-written table up among the tables with row history and panicked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_created_but_never_written_does_not_stop_capture() -> Result<()> {
    let db = MariaDb::start().await?;
    let mut conn = db.admin_conn().await?;
    for sql in [
        "CREATE DATABASE s",
        "CREATE TABLE s.written (id INT PRIMARY KEY, v VARCHAR(10))",
        "CREATE TABLE s.empty (id INT PRIMARY KEY)",
        "INSERT INTO s.written VALUES (1, 'one')",
    ] {
        conn.query_drop(sql).await?;
    }
    conn.disconnect().await?;
    let agent = AgentCore::start(&db, &["s"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let answer = flashback(
        &agent,
        "s",
        "written",
        wall_clock_us(),
        keys_in([ApiValue::Int(1)]),
    )
    .await?;
    let rows: Vec<_> = answer.rows.iter().map(|r| agent_row(r)).collect();
    ensure!(rows == [["1", "one"]], "s.written as of now: {rows:?}");
    Ok(())
}

/// `AS OF` before and after `ALTER TABLE ... ADD COLUMN`, alternating on one shim connection:
/// the shim holds one column list per table and sends its schema id as `known_schema`, the
/// agent leaves the columns out only when that id is the table's at the instant. Each answer
/// must carry the columns of its own instant (2 before the ALTER, 3 after), in both orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_before_and_after_add_column_on_one_connection() -> Result<()> {
    let db = MariaDb::start().await?;
    let mut conn = db.admin_conn().await?;
    for sql in [
        "CREATE DATABASE s",
        "CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(10))",
    ] {
        conn.query_drop(sql).await?;
    }
    let mut clock = SyntheticClock::start(&db).await?;
    let before = clock.tick(&mut conn).await?;
    conn.query_drop("INSERT INTO s.t VALUES (1, 'a')").await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("ALTER TABLE s.t ADD COLUMN w INT").await?;
    let after = clock.tick(&mut conn).await?;
    conn.query_drop("UPDATE s.t SET w = 7, v = 'b' WHERE id = 1")
        .await?;
    conn.disconnect().await?;
    clock.wait_until_past().await;

    let agent = AgentCore::start(&db, &["s"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let mut client = Conn::new(shim.mysql_opts("app", "app", Some("s"))).await?;
    let at = |second: i64| format_unix_micros(instant_after(second));
    let want_before = (vec!["id", "v"], vec![Some("1"), Some("a")]);
    let want_after = (vec!["id", "v", "w"], vec![Some("1"), Some("b"), Some("7")]);
    for (second, want) in [
        (before, &want_before),
        (after, &want_after),
        (after, &want_after),
        (before, &want_before),
        (after, &want_after),
    ] {
        let sql = format!(
            "SELECT * FROM _flashback.t AS OF '{}' WHERE id = 1",
            at(second)
        );
        let rows: Vec<Row> = client.query(&sql).await.with_context(|| sql.clone())?;
        ensure!(rows.len() == 1, "{sql}: {} rows", rows.len());
        let names: Vec<String> = (rows[0].columns_ref().iter())
            .map(|c| c.name_str().into_owned())
            .collect();
        let values: Vec<Option<String>> = (0..rows[0].len())
            .map(|i| rows[0].get::<Option<String>, _>(i).flatten())
            .collect();
        let want_values: Vec<Option<String>> =
            want.1.iter().map(|v| v.map(str::to_owned)).collect();
        ensure!(
            names == want.0 && values == want_values,
            "{sql}: got {names:?} {values:?}, want {:?} {want_values:?}",
            want.0
        );
    }
    client.disconnect().await?;
    Ok(())
}
