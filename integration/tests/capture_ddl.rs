//! Capture survives DDL shapes that produce no row events.

use agent_api::Value as ApiValue;
use anyhow::{ensure, Result};
use integration::canon::agent_row;
use integration::history::{flashback, keys_in, wait_caught_up_strict, wall_clock_us};
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;

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
