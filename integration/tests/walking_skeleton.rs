//! End to end: a scripted history on a real MariaDB, captured by agent-core from the binlog, read
//! back through dbtrail-shim with `AS OF` at every recorded time, by mysql_async (text and binary
//! protocol) and by the `mariadb` CLI.
//!
//! Needs the binaries: `cargo build --workspace --bins` (or `integration/test.sh`).

mod common;

use agent_api::flashback::{FlashbackRequest, FlashbackResponse, KeyPredicate};
use agent_api::snapshot::{SnapshotEnd, SnapshotHeader, SnapshotLine, SnapshotRequest};
use anyhow::{ensure, Context, Result};
use common::{
    apply, expected_tsv, history, normalize_agent_row, text_cells, Order, Recorded, COLUMNS,
};
use integration::{mariadb_cli, AgentCore, MariaDb, Shim, Tenant};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

/// Steps applied before agent-core starts in [`agent_started_mid_history`]: the capture must
/// begin at the start of the binlog, not at its end.
const STEPS_BEFORE_AGENT: usize = 5;

/// History partly before agent-core exists (catch-up from the first binlog), the rest while it
/// runs (live capture); then every recorded time through the shim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_started_mid_history() -> Result<()> {
    let db = MariaDb::start().await?;
    let steps = history();
    let mut recorded = Vec::new();
    for step in &steps[..STEPS_BEFORE_AGENT] {
        recorded.push(apply(&db, step).await?);
    }
    let agent = AgentCore::start(&db, &["shop"]).await?;
    agent
        .wait_caught_up(&db)
        .await
        .context("catch-up from the first binlog")?;
    for step in &steps[STEPS_BEFORE_AGENT..] {
        recorded.push(apply(&db, step).await?);
    }
    agent.wait_caught_up(&db).await.context("live capture")?;
    explain(verify_agent(&agent, &recorded).await, &agent, None)?;
    explain(verify_snapshot_forms(&agent, &recorded).await, &agent, None)?;
    verify(&db, &agent, &recorded).await
}

/// agent-core runs before the schema exists, is killed with SIGKILL mid-history, misses two steps
/// while down and must resume exactly where its index ends; then every recorded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_started_first_survives_kill9() -> Result<()> {
    let db = MariaDb::start().await?;
    let mut agent = AgentCore::start(&db, &["shop"]).await?;
    agent.wait_connected().await?;
    let steps = history();
    let mut recorded = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if step.name == "delete 42" {
            agent.wait_caught_up(&db).await?;
            // Leaves the client's keep-alive connections open to the process about to die: the
            // reads after the restart must not fail on them.
            explain(verify_agent(&agent, &recorded).await, &agent, None)?;
            agent.kill9()?;
        }
        if i == steps.len() - 1 {
            agent.restart().await?;
            agent
                .wait_caught_up(&db)
                .await
                .context("resume after SIGKILL")?;
        }
        recorded.push(apply(&db, step).await?);
    }
    agent.wait_caught_up(&db).await?;
    explain(verify_agent(&agent, &recorded).await, &agent, None)?;
    verify(&db, &agent, &recorded).await
}

/// Asks agent-core directly (`POST /v1/flashback`) for key 42 at every recorded time and compares
/// the typed values: proves capture and reconstruction before any SQL is involved.
async fn verify_agent(agent: &AgentCore, recorded: &[Recorded]) -> Result<()> {
    for rec in recorded {
        let at: agent_api::value::DateTime = rec.at.parse().context("recorded time")?;
        let request = FlashbackRequest {
            server_id: 1,
            schema: "shop".to_owned(),
            table: "orders".to_owned(),
            as_of_us: agent_api::time::unix_micros_from_datetime(&at),
            key: KeyPredicate::In(vec![vec![agent_api::Value::Int(42)]]),
            known_schema: None,
        };
        let answer = agent
            .client()
            .flashback(&request)
            .await
            .with_context(|| format!("POST /v1/flashback as of {} ({})", rec.at, rec.step))?;
        let json = flashback_as_json(agent, &request).await?;
        ensure!(
            json.rows == answer.rows && json.seq == answer.seq,
            "as of {}: the JSON form says {:?}, the binary form {:?}",
            rec.at,
            json.rows,
            answer.rows
        );
        let got: Vec<_> = answer.rows.into_iter().map(normalize_agent_row).collect();
        let want: Vec<_> = rec.row42.iter().map(Order::agent_values).collect();
        ensure!(
            got == want,
            "agent-core as of {} ({}): got {got:?}, want {want:?}",
            rec.at,
            rec.step
        );
    }
    Ok(())
}

/// `POST /v1/flashback` without `Accept`, as a client that predates the binary row form: the
/// answer must be the JSON document.
async fn flashback_as_json(
    agent: &AgentCore,
    request: &FlashbackRequest,
) -> Result<FlashbackResponse> {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/flashback", agent.url()))
        .bearer_auth(agent.token())
        .json(request)
        .send()
        .await?
        .error_for_status()?;
    let content_type = resp.headers().get("content-type").cloned();
    ensure!(
        content_type.as_ref().and_then(|v| v.to_str().ok()) == Some("application/json"),
        "flashback without Accept answered {content_type:?}"
    );
    Ok(resp.json().await?)
}

/// The whole table at every recorded time in both row forms of `/v1/snapshot`: the client's
/// binary records and the NDJSON lines a client without `Accept` gets are the same rows, and the
/// binary form is what the client was answered in.
async fn verify_snapshot_forms(agent: &AgentCore, recorded: &[Recorded]) -> Result<()> {
    for rec in recorded {
        let at: agent_api::value::DateTime = rec.at.parse().context("recorded time")?;
        let request = SnapshotRequest {
            server_id: 1,
            schema: "shop".to_owned(),
            table: "orders".to_owned(),
            as_of_us: agent_api::time::unix_micros_from_datetime(&at),
            key: None,
        };
        let mut stream = agent.client().snapshot(&request).await?;
        let mut binary = Vec::new();
        while let Some(row) = stream.next_row().await? {
            binary.push(row);
        }
        let http = reqwest::Client::new();
        let url = format!("{}/v1/snapshot", agent.url());
        let asked = http
            .post(&url)
            .bearer_auth(agent.token())
            .header("accept", agent_api::wire::ROWS_MEDIA_TYPE)
            .json(&request)
            .send()
            .await?
            .error_for_status()?;
        ensure!(
            asked
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                == Some(agent_api::wire::ROWS_MEDIA_TYPE),
            "snapshot with Accept answered {:?}",
            asked.headers().get("content-type")
        );
        let body = http
            .post(&url)
            .bearer_auth(agent.token())
            .json(&request)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let mut lines = body.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let _header: SnapshotHeader = serde_json::from_slice(lines.next().context("header")?)?;
        let mut json = Vec::new();
        for line in lines {
            match SnapshotLine::parse(line)? {
                SnapshotLine::Row(row) => json.push(row),
                SnapshotLine::End(SnapshotEnd::End { rows }) => {
                    ensure!(rows as usize == json.len(), "trailer says {rows} rows")
                }
                SnapshotLine::End(SnapshotEnd::Error(e)) => anyhow::bail!("snapshot failed: {e:?}"),
            }
        }
        ensure!(
            json == binary,
            "as of {}: NDJSON rows {json:?}, binary rows {binary:?}",
            rec.at
        );
        ensure!(
            binary
                .iter()
                .any(|row| row.first() == Some(&agent_api::Value::Int(42)))
                == rec.row42.is_some(),
            "as of {}: key 42 in the snapshot disagrees with the history",
            rec.at
        );
    }
    Ok(())
}

/// Starts a shim on `agent` and checks every recorded time: point lookups of key 42 (text
/// protocol), `IN (42, 43)` at the last time, the same through the `mariadb` CLI, then the point
/// lookups again as prepared statements (binary protocol).
async fn verify(db: &MariaDb, agent: &AgentCore, recorded: &[Recorded]) -> Result<()> {
    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let checked = verify_client(db, &shim, recorded).await;
    explain(checked, agent, Some(&shim))
}

/// The checks of [`verify`] once the shim runs.
async fn verify_client(db: &MariaDb, shim: &Shim, recorded: &[Recorded]) -> Result<()> {
    let mut conn = Conn::new(shim.mysql_opts("app", "app", Some("shop")))
        .await
        .context("mysql_async login to the shim")?;
    let reference = mariadb_columns(db).await?;

    for rec in recorded {
        let sql = flashback_sql(&rec.at, "= 42");
        let rows: Vec<Row> = conn.query(&sql).await.with_context(|| sql.clone())?;
        check_rows(rec, &sql, rows, &[&rec.row42], Some(&reference))?;
    }

    let last = recorded.last().context("empty history")?;
    let sql = flashback_sql(&last.at, "IN (42, 43)");
    let rows: Vec<Row> = conn.query(&sql).await.with_context(|| sql.clone())?;
    check_rows(last, &sql, rows, &[&last.row42, &last.row43], None)?;

    verify_cli(db, shim, recorded).await?;

    // Binary protocol: the same lookups as a prepared statement with the key as a parameter.
    for rec in recorded {
        let sql = flashback_sql(&rec.at, "= ?");
        let rows: Vec<Row> = conn.exec(&sql, (42,)).await.with_context(|| sql.clone())?;
        let got: Vec<_> = rows.into_iter().map(Row::unwrap).collect();
        let want: Vec<_> = rec.row42.iter().map(Order::binary_values).collect();
        ensure!(
            got == want,
            "binary protocol at {:?} ({}): got {got:?}, want {want:?}",
            rec.at,
            rec.step
        );
    }
    conn.disconnect().await?;
    Ok(())
}

/// Appends the tail of the agent-core (and shim) log to a failed check.
fn explain<T>(result: Result<T>, agent: &AgentCore, shim: Option<&Shim>) -> Result<T> {
    result.map_err(|e| {
        let mut msg = format!("{e:#}\n---- agent-core log ----\n{}", agent.log_tail(40));
        if let Some(shim) = shim {
            msg.push_str(&format!(
                "\n---- dbtrail-shim log ----\n{}",
                shim.log_tail(40)
            ));
        }
        anyhow::anyhow!(msg)
    })
}

/// The `mariadb` CLI through the shim: key 42 at every recorded time, then `IN (42, 43)` at the
/// last time byte-for-byte equal to MariaDB's own answer for the current table.
async fn verify_cli(db: &MariaDb, shim: &Shim, recorded: &[Recorded]) -> Result<()> {
    for rec in recorded {
        let sql = flashback_sql(&rec.at, "= 42");
        let out = mariadb_cli(shim.port(), "app", "app", Some("shop"), &sql).await?;
        let want = expected_tsv(&rec.row42.iter().collect::<Vec<_>>());
        ensure!(
            out == want,
            "CLI at {:?} ({}):\n{out}\nwant:\n{want}",
            rec.at,
            rec.step
        );
    }
    let last = recorded.last().context("empty history")?;
    let sql = flashback_sql(&last.at, "IN (42, 43)");
    let through_shim = mariadb_cli(shim.port(), "app", "app", Some("shop"), &sql).await?;
    let from_mariadb = mariadb_cli(
        db.port(),
        "app",
        "app",
        Some("shop"),
        "SELECT * FROM orders WHERE id IN (42, 43)",
    )
    .await?;
    ensure!(
        sorted_lines(&through_shim) == sorted_lines(&from_mariadb),
        "CLI through the shim:\n{through_shim}\nMariaDB:\n{from_mariadb}"
    );
    Ok(())
}

/// `SELECT * FROM _flashback.orders AS OF '<at>' WHERE id <predicate>` (default database `shop`).
fn flashback_sql(at: &str, predicate: &str) -> String {
    format!("SELECT * FROM _flashback.orders AS OF '{at}' WHERE id {predicate}")
}

/// Compares a text-protocol answer with the expected rows (any order), and, when `reference` is
/// given and a row came back, the column names and the wire types that carry exact values.
fn check_rows(
    rec: &Recorded,
    sql: &str,
    rows: Vec<Row>,
    expected: &[&Option<Order>],
    reference: Option<&[ColumnShape]>,
) -> Result<()> {
    if let (Some(reference), Some(row)) = (reference, rows.first()) {
        let shapes = column_shapes(row.columns_ref());
        ensure!(
            shapes == reference,
            "{sql} ({}): columns {shapes:?}, MariaDB has {reference:?}",
            rec.step
        );
    }
    let mut got = rows
        .into_iter()
        .map(text_cells)
        .collect::<Result<Vec<_>>>()?;
    got.sort();
    let mut want: Vec<_> = expected
        .iter()
        .copied()
        .flatten()
        .map(Order::cells)
        .collect();
    want.sort();
    ensure!(
        got == want,
        "{sql} (after step {:?}): got {got:?}, want {want:?}",
        rec.step
    );
    Ok(())
}

/// What the test requires of a result column: its name, and for the columns whose values must
/// arrive exactly typed (INT, DECIMAL(12,2), DATETIME(6), BIGINT UNSIGNED) the wire type, the
/// UNSIGNED flag and the number of decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnShape {
    name: String,
    wire: Option<(ColumnType, bool, u8)>,
}

fn column_shapes(columns: &[mysql_async::Column]) -> Vec<ColumnShape> {
    columns
        .iter()
        .map(|c| {
            let name = c.name_str().into_owned();
            let typed = ["id", "amount", "placed_at", "big"].contains(&name.as_str());
            ColumnShape {
                wire: typed.then(|| {
                    (
                        c.column_type(),
                        c.flags().contains(ColumnFlags::UNSIGNED_FLAG),
                        c.decimals(),
                    )
                }),
                name,
            }
        })
        .collect()
}

/// MariaDB's own column shapes for `SELECT * FROM shop.orders` (ground truth for the shim).
async fn mariadb_columns(db: &MariaDb) -> Result<Vec<ColumnShape>> {
    let rows = db.sql("SELECT * FROM shop.orders LIMIT 1").await?;
    let row = rows.first().context("shop.orders is empty")?;
    let shapes = column_shapes(row.columns_ref());
    let names: Vec<_> = shapes.iter().map(|s| s.name.as_str()).collect();
    ensure!(names == COLUMNS, "unexpected columns {names:?}");
    Ok(shapes)
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}
