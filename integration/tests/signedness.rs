//! Issue 12 item 1: the TABLE_MAP SIGNEDNESS bitmap has a bit for YEAR, so a signed TINYINT and
//! an unsigned MEDIUMINT after a YEAR column must keep their own signedness in `_flashback`,
//! `_snapshot` and `_diff` (read through the shim by mysql_async, from a real MariaDB's binlog).
//!
//! Needs the binaries: `cargo build --workspace --bins` (or `integration/test.sh`).

use agent_api::time::format_unix_micros;
use anyhow::{ensure, Context, Result};
use integration::history::{instant_after, wait_caught_up_strict, SyntheticClock};
use integration::{AgentCore, MariaDb, Shim, Tenant};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

fn cells(row: &Row) -> Vec<Option<String>> {
    (0..row.len())
        .map(|i| {
            row.get::<Option<Vec<u8>>, _>(i)
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_and_unsigned_columns_after_a_year_column_keep_their_sign() -> Result<()> {
    let db = MariaDb::start().await?;
    let agent = AgentCore::start(&db, &["s"]).await?;
    agent.wait_connected().await?;
    let mut conn = db.admin_conn().await?;
    let mut clock = SyntheticClock::start(&db).await?;
    clock.tick(&mut conn).await?;
    conn.query_drop("CREATE DATABASE s").await?;
    conn.query_drop(
        "CREATE TABLE s.t (id INT PRIMARY KEY, y YEAR, ti TINYINT, mu MEDIUMINT UNSIGNED)",
    )
    .await?;
    // Every numeric type around YEAR, signed and unsigned at their extremes.
    conn.query_drop(
        "CREATE TABLE s.w (id INT PRIMARY KEY, y1 YEAR, a TINYINT UNSIGNED, b SMALLINT,
            y2 YEAR, c MEDIUMINT, d INT UNSIGNED, bt BIT(8), e BIGINT, f BIGINT UNSIGNED,
            y3 YEAR, g DECIMAL(5,2) UNSIGNED, h FLOAT, i DOUBLE, j TINYINT)",
    )
    .await?;
    let inserted = clock.tick(&mut conn).await?;
    conn.query_drop("INSERT INTO s.t VALUES (1, 2155, -128, 16777215)")
        .await?;
    conn.query_drop(
        "INSERT INTO s.w VALUES (1, 1901, 255, -32768, 2155, -8388608, 4294967295, b'10000001',
            -9223372036854775808, 18446744073709551615, 2000, 999.99, -1.5, -2.25, -1)",
    )
    .await?;
    let mut want_w: Vec<Option<String>> = some(&[
        "1",
        "1901",
        "255",
        "-32768",
        "2155",
        "-8388608",
        "4294967295",
    ]);
    want_w.push(None); // BIT: compared separately as bytes
    want_w.extend(some(&[
        "-9223372036854775808",
        "18446744073709551615",
        "2000",
        "999.99",
        "-1.5",
        "-2.25",
        "-1",
    ]));
    let truth: Vec<Row> = conn.query("SELECT * FROM s.t").await?;
    ensure!(
        cells(&truth[0]) == some(&["1", "2155", "-128", "16777215"]),
        "MariaDB itself: {:?}",
        cells(&truth[0])
    );
    let updated = clock.tick(&mut conn).await?;
    conn.query_drop("UPDATE s.t SET ti = 127, mu = 1 WHERE id = 1")
        .await?;
    conn.disconnect().await?;
    clock.wait_until_past().await;
    wait_caught_up_strict(&agent, &db).await?;

    let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
    let mut client = Conn::new(shim.mysql_opts("app", "app", Some("s"))).await?;
    let at = |second: i64| format_unix_micros(instant_after(second));

    let sql = format!(
        "SELECT * FROM _flashback.t AS OF '{}' WHERE id = 1",
        at(inserted)
    );
    let rows: Vec<Row> = client.query(&sql).await.with_context(|| sql.clone())?;
    ensure!(
        rows.len() == 1 && cells(&rows[0]) == some(&["1", "2155", "-128", "16777215"]),
        "{sql}: {:?}",
        rows.iter().map(cells).collect::<Vec<_>>()
    );
    let sql = format!("SELECT * FROM _snapshot.t AS OF '{}'", at(inserted));
    let rows: Vec<Row> = client.query(&sql).await.with_context(|| sql.clone())?;
    ensure!(
        rows.len() == 1 && cells(&rows[0]) == some(&["1", "2155", "-128", "16777215"]),
        "{sql}: {:?}",
        rows.iter().map(cells).collect::<Vec<_>>()
    );
    let sql = format!(
        "SELECT event_type, row_before, row_after FROM _diff.t BETWEEN '{}' AND '{}' WHERE id = 1",
        at(inserted - 1),
        at(updated)
    );
    let rows: Vec<Row> = client.query(&sql).await.with_context(|| sql.clone())?;
    let got: Vec<_> = rows.iter().map(cells).collect();
    let json = |ti: i64, mu: u64| format!(r#"{{"id":1,"y":2155,"ti":{ti},"mu":{mu}}}"#);
    let want = vec![
        vec![Some("INSERT".into()), None, Some(json(-128, 16_777_215))],
        vec![
            Some("UPDATE".into()),
            Some(json(-128, 16_777_215)),
            Some(json(127, 1)),
        ],
    ];
    ensure!(got == want, "{sql}:\n got {got:?}\nwant {want:?}");

    let sql = format!(
        "SELECT * FROM _flashback.w AS OF '{}' WHERE id = 1",
        at(inserted)
    );
    let rows: Vec<Row> = client.query(&sql).await.with_context(|| sql.clone())?;
    ensure!(rows.len() == 1, "{sql}: {} rows", rows.len());
    let mut got = cells(&rows[0]);
    let bit: Option<Vec<u8>> = rows[0].get(7).flatten();
    got[7] = None;
    ensure!(got == want_w, "{sql}:\n got {got:?}\nwant {want_w:?}");
    ensure!(bit == Some(vec![0x81]), "{sql}: BIT(8) {bit:?}");
    client.disconnect().await?;
    Ok(())
}
