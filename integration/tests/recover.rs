//! Recovery SQL and point-in-time export against a real MariaDB, through the `agent-core recover`
//! and `agent-core export` commands talking to a running agent-core.
//!
//! Both tests use a table of mixed types (BIGINT UNSIGNED above 2^63, DECIMAL(30,10), DOUBLE,
//! FLOAT, DATETIME(6), TIMESTAMP(6), TIME(3), YEAR, utf8mb4 and latin1 text with quotes,
//! backslashes and newlines, CHAR, VARBINARY, BINARY padding, BLOB, ENUM, SET, JSON, BIT, NULLs and
//! empty strings) created after capture began. Histories get synthetic commit seconds
//! ([`SyntheticClock`]) and are written before agent-core starts. Table states are compared cell by
//! cell in the canonical text of [`integration::canon`] (binary protocol: no rounding).
//!
//! Needs the binaries (`cargo build --workspace --bins`) and Debian's `mydumper` package (myloader).

use std::path::Path;

use agent_api::recover::RecoverRequest;
use agent_api::time::format_unix_micros;
use agent_api::{ClientError, ErrorCode};
use anyhow::{bail, ensure, Context, Result};
use integration::agent::{run_agent_cli, source_now_us};
use integration::canon::{diff_rows, query_canon, CanonRow};
use integration::history::{instant_after, wait_caught_up_strict, SyntheticClock};
use integration::{mariadb_cli, AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The myloader binary from Debian's `mydumper` package.
const MYLOADER: &str = "/usr/bin/myloader";

const CREATE_TABLE: &str = "CREATE TABLE shop.mixed (
    id INT NOT NULL PRIMARY KEY,
    big BIGINT UNSIGNED NOT NULL,
    amount DECIMAL(30,10) NULL,
    ratio DOUBLE NULL,
    f FLOAT NULL,
    at DATETIME(6) NULL,
    ts TIMESTAMP(6) NULL,
    d DATE NULL,
    tm TIME(3) NULL,
    yr YEAR NULL,
    name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    l1 VARCHAR(20) CHARACTER SET latin1 NULL,
    code CHAR(4) NULL,
    bin VARBINARY(16) NULL,
    fixed BINARY(4) NULL,
    payload BLOB NULL,
    state ENUM('new','paid','shipped') NULL,
    tags SET('a','b','c') NULL,
    doc JSON NULL,
    bits BIT(12) NULL
)";

const SEED: &str = "INSERT INTO shop.mixed VALUES
    (1, 18446744073709551615, -12345678901234567890.0123456789, 0.1, 1.1,
     '2026-01-02 03:04:05.000001', '2026-01-02 03:04:05.123456', '2026-01-02', '-838:59:59.000',
     2026, 'it''s a \\\\ test\\nline2 \u{2713} \u{1F600}', 'caf\u{e9}', 'ab', X'00FF27', X'0102',
     X'00', 'paid', 'a,c', '{\"k\": [1, \"x\"]}', b'101010101010'),
    (2, 0, 0.0000000001, -2.5e300, 1e-7, '1999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
     '1000-01-01', '12:34:56.789', 1901, 'plain', 'x', 'abcd', X'', X'FFFFFFFF', X'',
     'new', '', '[]', b'0'),
    (3, 9223372036854775808, 1, 0.3333333333333333, 0.5, '2026-06-30 12:00:00.500000', NULL,
     '9999-12-31', '838:59:59.999', NULL, 'three', NULL, NULL, X'03', NULL, X'0A0D5C27',
     'shipped', 'a,b,c', 'null', b'111111111111'),
    (4, 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL),
    (5, 5, -0.5, 1e10, -3.25, '2026-01-01 00:00:00', '1970-01-01 00:00:01', '2026-01-01',
     '00:00:00', 2000, '', '', '', X'', X'', X'', 'new', '', '{}', b'1'),
    (6, 6, 6.5, 6.5, 6.5, '2026-01-06 06:06:06', '2026-01-06 06:06:06', '2026-01-06', '06:06:06',
     2006, 'six', 'six', 'six', X'06', X'06', X'06', 'paid', 'b', '6', b'110')";

/// `SELECT * ... ORDER BY id` of `db.mixed` as canonical rows (with the column names).
async fn state(conn: &mut Conn, db: &str) -> Result<(Vec<String>, Vec<CanonRow>)> {
    query_canon(conn, &format!("SELECT * FROM {db}.mixed ORDER BY id")).await
}

/// Runs `statements` in one transaction at the clock's next second; returns that second.
async fn commit_at_next_second(
    conn: &mut Conn,
    clock: &mut SyntheticClock,
    statements: &[&str],
) -> Result<i64> {
    let second = clock.tick(conn).await?;
    conn.query_drop("START TRANSACTION").await?;
    for sql in statements {
        conn.query_drop(*sql)
            .await
            .with_context(|| format!("MariaDB: {sql}"))?;
    }
    conn.query_drop("COMMIT").await?;
    Ok(second)
}

/// Creates `shop`, `shop.mixed` (seeded) and `shop.other`, each DDL at its own second.
async fn create_and_seed(conn: &mut Conn, clock: &mut SyntheticClock) -> Result<()> {
    for ddl in [
        "CREATE DATABASE shop",
        CREATE_TABLE,
        "CREATE TABLE shop.other (id INT PRIMARY KEY)",
    ] {
        clock.tick(conn).await?;
        conn.query_drop(ddl)
            .await
            .with_context(|| format!("MariaDB: {ddl}"))?;
    }
    commit_at_next_second(conn, clock, &[SEED]).await?;
    Ok(())
}

/// A new server with `shop` created and seeded ([`create_and_seed`]), a connection as `app`, and
/// the clock that stamped the history.
async fn seeded_server() -> Result<(MariaDb, Conn, SyntheticClock)> {
    let db = MariaDb::start().await?;
    let mut conn = Conn::new(db.tcp_opts("app", "app", None)).await?;
    let mut clock = SyntheticClock::start(&db).await?;
    create_and_seed(&mut conn, &mut clock).await?;
    Ok((db, conn, clock))
}

/// Starts agent-core on `shop` once the wall clock is past the history `clock` wrote, and waits
/// until it has captured all of it.
async fn agent_after_history(db: &MariaDb, clock: &SyntheticClock) -> Result<AgentCore> {
    clock.wait_until_past().await;
    let agent = AgentCore::start(db, &["shop"]).await?;
    wait_caught_up_strict(&agent, db).await?;
    Ok(agent)
}

/// `agent-core recover` of `table` from source 1 over the window `from`..`to` (UTC text), with
/// `extra` arguments; stdout on success.
async fn recover_cli(
    config: &Path,
    table: &str,
    from: &str,
    to: &str,
    extra: &[&str],
) -> Result<String> {
    let mut args = vec![
        "recover",
        "--config",
        path_str(config)?,
        "--source",
        "1",
        "--table",
        table,
        "--from",
        from,
        "--to",
        to,
    ];
    args.extend_from_slice(extra);
    run_agent_cli(&args).await
}

/// Fails with the differing cells unless `got` equals `want`.
fn ensure_same(
    what: &str,
    (names, want): &(Vec<String>, Vec<CanonRow>),
    got: &(Vec<String>, Vec<CanonRow>),
) -> Result<()> {
    ensure!(
        *names == got.0,
        "{what}: columns {:?}, expected {names:?}",
        got.0
    );
    let diffs = diff_rows(names, want, &got.1);
    ensure!(diffs.is_empty(), "{what}:\n{}", diffs.join("\n"));
    Ok(())
}

/// A bad multi-row UPDATE, a PK-changing UPDATE, a bad DELETE and a stray INSERT (plus a change
/// to another table) are reversed by the generated script, applied with the `mariadb` CLI: the
/// table equals its state before the mistakes, every cell. `--where-pk` and `--types` narrow the
/// script to the chosen keys and kinds. A row changed again since stops the script at its guard
/// with nothing applied. Applying the script a second time
/// fails on its first INSERT and, being one transaction, changes nothing. A TRUNCATE inside the
/// window is refused with a clear message, and so is a DROP TABLE; so are an inverted window and
/// an unknown table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_script_restores_the_table_before_the_mistakes() -> Result<()> {
    let (db, mut conn, mut clock) = seeded_server().await?;
    let before = state(&mut conn, "shop").await?;

    let first_mistake = commit_at_next_second(
        &mut conn,
        &mut clock,
        &[
            "UPDATE shop.mixed SET amount = 0, name = 'oops', ratio = NULL, f = 2, at = NULL, \
             ts = '2030-01-01 00:00:00', tags = 'b', doc = '{}', bits = b'1', payload = 'x', \
             big = big DIV 2, fixed = X'AA' WHERE id IN (1, 2)",
            "UPDATE shop.mixed SET id = 30, name = 'moved' WHERE id = 3",
        ],
    )
    .await?;
    commit_at_next_second(
        &mut conn,
        &mut clock,
        &[
            "DELETE FROM shop.mixed WHERE id IN (4, 5)",
            "INSERT INTO shop.other VALUES (1)",
        ],
    )
    .await?;
    let last = commit_at_next_second(
        &mut conn,
        &mut clock,
        &["INSERT INTO shop.mixed (id, big, name) VALUES (99, 1, 'stray')"],
    )
    .await?;
    let damaged = state(&mut conn, "shop").await?;
    ensure!(
        diff_rows(&before.0, &before.1, &damaged.1).len() > 10,
        "the mistakes did not change the table"
    );
    let agent = agent_after_history(&db, &clock).await?;
    let dir = tempfile::tempdir()?;
    let script_path = dir.path().join("recover.sql");
    let config = agent.config_path();
    let from = format_unix_micros(first_mistake * 1_000_000);
    let to = format_unix_micros(instant_after(last));
    recover_cli(
        &config,
        "shop.mixed",
        &from,
        &to,
        &["--out", path_str(&script_path)?],
    )
    .await?;
    let script = std::fs::read_to_string(&script_path)?;
    ensure!(
        script.contains("2 INSERT, 2 UPDATE, 3 DELETE; 7 statement(s)"),
        "unexpected summary in:\n{script}"
    );
    ensure!(
        !script.contains("`other`"),
        "another table's change leaked into the script:\n{script}"
    );

    let only_4 = recover_cli(
        &config,
        "shop.mixed",
        &from,
        &to,
        &["--where-pk", "4", "--where-pk", "1", "--types", "delete"],
    )
    .await?;
    ensure!(
        only_4.contains("0 INSERT, 0 UPDATE, 1 DELETE; 1 statement(s)")
            && only_4.contains("VALUES (4, 4, NULL")
            && !only_4.contains("UPDATE `shop`"),
        "--where-pk 4 --where-pk 1 --types delete selected the wrong changes:\n{only_4}"
    );

    // A row changed again after the window: its guarded UPDATE matches nothing, the script stops
    // (error 1242) and, being one transaction, changes nothing at all.
    conn.query_drop("SET timestamp = DEFAULT").await?;
    conn.query_drop("UPDATE shop.mixed SET code = 'zz' WHERE id = 1")
        .await?;
    let touched = state(&mut conn, "shop").await?;
    match mariadb_cli(db.port(), "app", "app", None, &script).await {
        Err(e) if e.to_string().contains("ERROR 1242") => {}
        other => bail!("the script applied over a row changed since: {other:?}"),
    }
    ensure_same(
        "after a script stopped by its guard",
        &touched,
        &state(&mut conn, "shop").await?,
    )?;
    conn.query_drop("UPDATE shop.mixed SET code = 'ab' WHERE id = 1")
        .await?;

    mariadb_cli(db.port(), "app", "app", None, &script)
        .await
        .with_context(|| format!("applying:\n{script}"))?;
    let restored = state(&mut conn, "shop").await?;
    ensure_same("after the recovery script", &before, &restored)
        .with_context(|| format!("script:\n{script}"))?;

    let again = mariadb_cli(db.port(), "app", "app", None, &script).await;
    ensure!(again.is_err(), "the script applied a second time");
    ensure_same(
        "after a refused second run",
        &before,
        &state(&mut conn, "shop").await?,
    )?;

    conn.query_drop("TRUNCATE TABLE shop.mixed").await?;
    wait_caught_up_strict(&agent, &db).await?;
    let now = format_unix_micros(source_now_us(&db).await?);
    let refused = recover_cli(&config, "shop.mixed", &from, &now, &[]).await;
    match refused {
        Err(e) if e.to_string().contains("was truncated inside the window") => {}
        other => bail!("a window over a TRUNCATE was not refused: {other:?}"),
    }
    conn.query_drop("DROP TABLE shop.other").await?;
    wait_caught_up_strict(&agent, &db).await?;
    let now = format_unix_micros(source_now_us(&db).await?);
    let refused = recover_cli(&config, "shop.other", &from, &now, &[]).await;
    match refused {
        Err(e)
            if e.to_string()
                .contains("was dropped, renamed or replaced inside the window") => {}
        other => bail!("a window over a DROP TABLE was not refused: {other:?}"),
    }

    // Bad requests over HTTP: an inverted window, an unknown table.
    let request = |table: &str, from_us: i64, to_us: i64| RecoverRequest {
        server_id: 1,
        schema: "shop".into(),
        table: table.into(),
        from_us,
        to_us,
        key: None,
        types: Vec::new(),
    };
    for (req, status, code) in [
        (request("mixed", 2, 1), 400, ErrorCode::BadRequest),
        (
            request("nope", first_mistake * 1_000_000, instant_after(last)),
            404,
            ErrorCode::TableNotFound,
        ),
    ] {
        match agent.client().recover(&req).await {
            Err(ClientError::Http {
                status: s,
                body: Some(body),
            }) if s == status && body.error.code == code => {}
            other => bail!("{req:?}: expected HTTP {status} {code:?}, got {other:?}"),
        }
    }
    conn.disconnect().await?;
    Ok(())
}

/// The table as of an instant, exported as SQL and as a mydumper directory and loaded into fresh
/// databases on the same server (`mariadb` CLI, `myloader -B`), equals the table at that instant;
/// later changes are absent. The Parquet export is written whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_loads_into_a_fresh_database_as_the_table_was() -> Result<()> {
    let (db, mut conn, mut clock) = seeded_server().await?;
    let at = commit_at_next_second(
        &mut conn,
        &mut clock,
        &[
            "UPDATE shop.mixed SET name = 'v2', amount = amount + 0.0000000001 WHERE id = 1",
            "DELETE FROM shop.mixed WHERE id = 5",
        ],
    )
    .await?;
    let expected = state(&mut conn, "shop").await?;
    commit_at_next_second(
        &mut conn,
        &mut clock,
        &[
            "UPDATE shop.mixed SET name = 'later'",
            "DELETE FROM shop.mixed WHERE id = 2",
            "INSERT INTO shop.mixed (id, big) VALUES (7, 7)",
        ],
    )
    .await?;
    let agent = agent_after_history(&db, &clock).await?;
    let dir = tempfile::tempdir()?;
    let config = agent.config_path();
    let as_of = format_unix_micros(instant_after(at));
    let export = |format: &'static str, out: std::path::PathBuf| {
        let config = config.clone();
        let as_of = as_of.clone();
        async move {
            run_agent_cli(&[
                "export",
                "--config",
                path_str(&config)?,
                "--source",
                "1",
                "--table",
                "shop.mixed",
                "--as-of",
                &as_of,
                "--format",
                format,
                "--out",
                path_str(&out)?,
            ])
            .await
        }
    };

    let sql_path = dir.path().join("mixed.sql");
    export("sql", sql_path.clone()).await?;
    let sql = std::fs::read_to_string(&sql_path)?;
    conn.query_drop("CREATE DATABASE exp_sql").await?;
    mariadb_cli(db.port(), "app", "app", Some("exp_sql"), &sql)
        .await
        .with_context(|| format!("loading:\n{sql}"))?;
    ensure_same(
        "sql export loaded",
        &expected,
        &state(&mut conn, "exp_sql").await?,
    )?;

    let dump = dir.path().join("dump");
    export("mydumper", dump.clone()).await?;
    for file in [
        "metadata",
        "shop-schema-create.sql",
        "shop.mixed-schema.sql",
        "shop.mixed.00000.sql",
    ] {
        ensure!(dump.join(file).is_file(), "mydumper layout lacks {file}");
    }
    myloader(&db, &dump, "exp_my").await?;
    ensure_same(
        "mydumper export loaded by myloader",
        &expected,
        &state(&mut conn, "exp_my").await?,
    )?;

    // Values are proven by the agent-core unit test that reads a Parquet export back; here the
    // file must be a complete Parquet file (magic at both ends) under its final name.
    let parquet = dir.path().join("mixed.parquet");
    export("parquet", parquet.clone()).await?;
    let bytes = std::fs::read(&parquet)?;
    ensure!(
        bytes.len() > 8 && bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
        "mixed.parquet is not a complete Parquet file ({} bytes)",
        bytes.len()
    );
    conn.disconnect().await?;
    Ok(())
}

/// `myloader -d <dir> -B <database>` as `app` over TCP.
async fn myloader(db: &MariaDb, dir: &Path, database: &str) -> Result<()> {
    let port = db.port().to_string();
    let out = tokio::process::Command::new(MYLOADER)
        .args(["-h", "127.0.0.1", "-P", &port, "-u", "app", "-p", "app"])
        .args(["-t", "1", "-v", "3", "-B", database, "-d"])
        .arg(dir)
        .output()
        .await
        .with_context(|| format!("running {MYLOADER} (install Debian's mydumper package)"))?;
    ensure!(
        out.status.success(),
        "myloader failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}
