//! agent-core frozen with SIGSTOP (its socket still accepts connections, nothing answers): the
//! shim's queries fail with 2002 within `agent_timeout` instead of hanging, `KILL QUERY` from a
//! second connection interrupts one that waits, and after SIGCONT the same connection reads
//! again.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use integration::shim::{Shim, Tenant};
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

fn signal(pid: u32, name: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{name} {pid} failed");
    }
    Ok(())
}

fn server_code(result: Result<(), mysql_async::Error>) -> Result<u16> {
    match result {
        Err(mysql_async::Error::Server(e)) => Ok(e.code),
        other => bail!("expected a server error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_agent_fails_queries_within_agent_timeout() -> Result<()> {
    let db = MariaDb::start().await?;
    db.sql("CREATE DATABASE shop").await?;
    db.sql("CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))")
        .await?;
    let agent = AgentCore::start(&db, &["shop"]).await?;
    agent.wait_connected().await?;
    db.sql("INSERT INTO shop.t VALUES (1, 'one'), (2, 'two')")
        .await?;
    agent.wait_caught_up(&db).await?;
    let tenants = [Tenant::new("app", "app", 1)];
    let shim =
        Shim::start_with(&agent.url(), agent.token(), &tenants, "agent_timeout: 2s\n").await?;
    let mut conn = Conn::new(shim.mysql_opts("app", "app", Some("shop"))).await?;
    let point = "SELECT v FROM _flashback.t AS OF NOW() WHERE id = 1";
    let v: Option<String> = conn.query_first(point).await?;
    assert_eq!(v.as_deref(), Some("one"));

    let pid = agent.pid().context("agent pid")?;
    signal(pid, "STOP")?;
    let outcome = async {
        for sql in [point, "SELECT * FROM _snapshot.t AS OF NOW()"] {
            let started = Instant::now();
            let code = server_code(conn.query_drop(sql).await)?;
            let took = started.elapsed();
            if code != 2002 || took > Duration::from_secs(6) {
                bail!("{sql}: {code} after {took:?}, expected 2002 within the 2 s timeout");
            }
        }
        // A waiting query is also interrupted by KILL QUERY from a second connection.
        let id = conn.id();
        let mut killer = Conn::new(shim.mysql_opts("app", "app", Some("shop"))).await?;
        let waiting = tokio::spawn(async move {
            let started = Instant::now();
            let result = conn
                .query_drop("SELECT v FROM _flashback.t AS OF NOW() WHERE id = 2")
                .await;
            (result, started.elapsed(), conn)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        killer.query_drop(format!("KILL QUERY {id}")).await?;
        let (result, took, conn) = waiting.await?;
        let code = server_code(result)?;
        if code != 1317 || took > Duration::from_secs(1) {
            bail!("KILL QUERY: {code} after {took:?}, expected 1317 at once");
        }
        anyhow::Ok(conn)
    }
    .await;
    signal(pid, "CONT")?;
    let mut conn = outcome?;
    let v: Option<String> = conn.query_first(point).await?;
    assert_eq!(v.as_deref(), Some("one"), "the same connection reads again");
    Ok(())
}
