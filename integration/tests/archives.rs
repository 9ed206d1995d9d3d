//! Archives end to end: a 16-column OLTP table's history on a real MariaDB, captured by agent-core,
//! rotated entirely into Parquet archives, on a `file://` directory (`POST /v1/archive/rotate`) and
//! on `s3://` against moto's S3-protocol server (`agent-core archive`). Flashback, diff and
//! whole-table snapshot answers must be identical before and after rotation; an archive file that
//! is damaged or gone must fail the read (never an empty answer); the files are read back with the
//! `parquet` crate's plain row reader (no Arrow) and every column checked against MariaDB's own
//! table. Prints bytes/event.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use agent_api::diff::DiffRequest;
use agent_api::flashback::KeyPredicate;
use agent_api::time::{civil_from_days, format_unix_micros};
use agent_api::{ClientError, Value as ApiValue};
use anyhow::{bail, ensure, Context, Result};
use integration::agent::SOURCE_SERVER_ID;
use integration::history::{
    flashback, instant_after, keys_in, wait_caught_up_strict, whole_table, SyntheticClock,
};
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CREATE: &str = "CREATE TABLE arch.orders (
    id BIGINT PRIMARY KEY,
    customer_id INT NOT NULL,
    status ENUM('new','paid','shipped','cancelled') NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    price DECIMAL(10,2),
    qty INT NOT NULL,
    sku CHAR(12) NOT NULL,
    note VARCHAR(100),
    region VARCHAR(16) NOT NULL,
    weight DOUBLE,
    flag TINYINT NOT NULL,
    ship_date DATE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    version INT UNSIGNED NOT NULL,
    token VARBINARY(16)
)";

/// MariaDB's view of the table, one canonical text per column (as the Parquet cells print).
const CANON_SELECT: &str = "SELECT id, customer_id, status, CAST(amount AS CHAR), CAST(price AS CHAR),
    qty, sku, note, region, weight, flag, DATE_FORMAT(ship_date, '%Y-%m-%d'),
    DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f'),
    version, HEX(token) FROM arch.orders ORDER BY id";

const ROWS: i64 = 1000;
/// Update transactions; each updates half of the rows.
const UPDATE_TXNS: i64 = 30;

/// Where the archive goes.
enum Target {
    Dir(tempfile::TempDir),
    S3(Moto),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_on_a_local_directory() -> Result<()> {
    let dir = tempfile::tempdir()?;
    scenario(Target::Dir(dir)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_on_s3() -> Result<()> {
    let moto = Moto::start().await?;
    scenario(Target::S3(moto)).await
}

async fn scenario(target: Target) -> Result<()> {
    let db = MariaDb::start().await?;
    let ticks = write_history(&db).await?;
    let mut agent = AgentCore::start(&db, &["arch"]).await?;
    wait_caught_up_strict(&agent, &db).await?;
    let url = match &target {
        Target::Dir(d) => format!("file://{}", d.path().display()),
        Target::S3(m) => {
            // The standard AWS credential chain, from the environment the agent inherits.
            std::env::set_var("AWS_ACCESS_KEY_ID", "dbtrail-test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "dbtrail-test");
            std::env::set_var("AWS_REGION", "us-east-1");
            format!(
                "s3://{}/history/v1\n  endpoint: http://{}\n  allow_http: true",
                m.bucket, m.addr
            )
        }
    };
    let mut yaml = std::fs::read_to_string(agent.config_path())?;
    yaml.push_str(&format!("\narchive:\n  url: {url}\n"));
    std::fs::write(agent.config_path(), yaml)?;
    agent.restart().await?;
    wait_caught_up_strict(&agent, &db).await?;

    let started = std::time::Instant::now();
    let before = answers(&agent, &ticks).await?;
    println!(
        "answers from the index: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let report = match &target {
        Target::Dir(_) => {
            // First the older half only: answers then merge both tiers.
            let age = integration::history::wall_clock_us() / 1_000_000 - ticks[25];
            let first = rotate(&agent, &format!("{age}s")).await?;
            let cut = first["files"][0]["seq_to"].as_u64().unwrap_or(0);
            ensure!(cut > 0, "the first rotation archived nothing: {first}");
            compare(&before, &answers(&agent, &ticks).await?)
                .context("with part of the history archived")?;
            let rest = rotate(&agent, "0s").await?;
            let mut files = first["files"].as_array().cloned().unwrap_or_default();
            files.extend(rest["files"].as_array().cloned().unwrap_or_default());
            let sum = |k: &str| first[k].as_u64().unwrap_or(0) + rest[k].as_u64().unwrap_or(0);
            serde_json::json!({ "events": sum("events"), "bytes": sum("bytes"), "files": files })
        }
        Target::S3(_) => rotate_with_cli(&agent).await?,
    };
    let files = report["files"].as_array().context("report.files")?.clone();
    let events = report["events"].as_u64().context("report.events")?;
    let bytes = report["bytes"].as_u64().context("report.bytes")?;
    ensure!(!files.is_empty(), "rotation wrote no file: {report}");
    ensure!(
        events >= (ROWS + ROWS / 2 * UPDATE_TXNS) as u64,
        "only {events} events archived"
    );
    println!(
        "archive: {events} events of a 16-column OLTP table in {} files, {bytes} B, {:.1} B/event",
        files.len(),
        bytes as f64 / events as f64
    );
    let started = std::time::Instant::now();
    let after = answers(&agent, &ticks).await?;
    println!(
        "answers from the archive: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    compare(&before, &after)?;

    if let Target::Dir(dir) = &target {
        read_back_and_check(&db, dir.path(), &files).await?;
        damaged_files_fail_reads(&mut agent, dir.path(), &files, &ticks, &before).await?;
    }
    // A restart reads the catalog from disk and gives the same answers.
    agent.restart().await?;
    wait_caught_up_strict(&agent, &db).await?;
    compare(&before, &answers(&agent, &ticks).await?)?;
    Ok(())
}

/// Inserts `ROWS` rows, then `UPDATE_TXNS` transactions updating half of them each, then
/// deletes and re-inserts: one synthetic commit second each. Returns the commit seconds.
async fn write_history(db: &MariaDb) -> Result<Vec<i64>> {
    db.sql("CREATE DATABASE arch").await?;
    db.sql(CREATE).await?;
    let mut conn = db.admin_conn().await?;
    let mut clock = SyntheticClock::start(db).await?;
    let mut ticks = Vec::new();
    for batch in 0..10 {
        ticks.push(clock.tick(&mut conn).await?);
        let values: Vec<String> = (batch * 100 + 1..=batch * 100 + 100)
            .map(|id| {
                format!(
                    "({id}, {c}, 'new', {a}.25, {p}, {q}, 'SKU{id:09}', {note}, '{r}', {w}, {f}, {ship}, \
                     FROM_UNIXTIME({t}), FROM_UNIXTIME({t}), 1, {tok})",
                    c = id % 97,
                    a = id * 3,
                    p = if id % 7 == 0 { "NULL".to_owned() } else { format!("{}.50", id % 50) },
                    q = id % 5 + 1,
                    note = if id % 3 == 0 { "NULL".to_owned() } else { format!("'note {id}'") },
                    r = ["eu-west", "us-east", "ap-south"][(id % 3) as usize],
                    w = if id % 11 == 0 { "NULL".to_owned() } else { format!("{}.5", id % 20) },
                    f = id % 2,
                    ship = if id % 4 == 0 { "NULL".to_owned() } else { format!("'2026-0{}-1{}'", id % 9 + 1, id % 9) },
                    t = clock.last(),
                    tok = if id % 5 == 0 { "NULL".to_owned() } else { format!("UNHEX('{:016X}')", id * 7919) },
                )
            })
            .collect();
        conn.query_drop(format!(
            "INSERT INTO arch.orders VALUES {}",
            values.join(",")
        ))
        .await?;
    }
    for k in 0..UPDATE_TXNS {
        let t = clock.tick(&mut conn).await?;
        ticks.push(t);
        // Like OLTP traffic: a status change, a new amount and quantity, a version bump and a
        // per-row timestamp on every update; a free-text edit on one update in seven.
        conn.query_drop(format!(
            "UPDATE arch.orders SET status = ELT(1 + (id + {k}) % 4, 'new', 'paid', 'shipped', 'cancelled'), \
             amount = ROUND(RAND(id * 1000 + {k}) * 5000, 2), qty = 1 + FLOOR(RAND(id + {k}) * 9), \
             note = IF(id % 7 = {k} % 7, CONCAT('edited ', LEFT(MD5(CONCAT(id, '/', {k})), 20)), note), \
             version = version + 1, \
             updated_at = FROM_UNIXTIME({t}) + INTERVAL (id * 7919 % 1000000) MICROSECOND \
             WHERE id % 2 = {}",
            k % 2
        ))
        .await?;
    }
    for k in 0..5 {
        ticks.push(clock.tick(&mut conn).await?);
        conn.query_drop(format!("DELETE FROM arch.orders WHERE id % 50 = {k}"))
            .await?;
    }
    ticks.push(clock.tick(&mut conn).await?);
    conn.query_drop(format!(
        "INSERT INTO arch.orders (id, customer_id, status, amount, qty, sku, region, flag, created_at, updated_at, version) \
         SELECT seq, 1, 'paid', 9.99, 1, 'REINSERTED', 'eu-west', 1, FROM_UNIXTIME({t}), FROM_UNIXTIME({t}), 7 \
         FROM arch.seq_1_to_1000 WHERE seq % 50 = 1",
        t = clock.last()
    ))
    .await?;
    clock.wait_until_past().await;
    Ok(ticks)
}

/// Flashback (whole table and point lookups), snapshot (whole table) and diff (keys and ranges)
/// at chosen instants.
async fn answers(agent: &AgentCore, ticks: &[i64]) -> Result<Vec<Json>> {
    let mut out = Vec::new();
    let picks = [0, 4, 9, 10, 17, 25, 39, 40, 43, ticks.len() - 1];
    for &i in &picks {
        let at = instant_after(ticks[i]);
        let all = flashback(agent, "arch", "orders", at, whole_table()).await?;
        out.push(serde_json::json!({ "at": at, "rows": all.rows, "warnings": all.warnings }));
        let keys = keys_in([1, 2, 50, 51, 500, 999, 1000, 1001].map(ApiValue::Int));
        let some = flashback(agent, "arch", "orders", at, keys).await?;
        out.push(serde_json::json!({ "at": at, "rows": some.rows, "warnings": some.warnings }));
    }
    for &i in &[9, 25, ticks.len() - 1] {
        let request = agent_api::snapshot::SnapshotRequest {
            server_id: SOURCE_SERVER_ID,
            schema: "arch".into(),
            table: "orders".into(),
            as_of_us: instant_after(ticks[i]),
            key: None,
        };
        let mut stream = agent.client().snapshot(&request).await?;
        let mut rows = Vec::new();
        while let Some(row) = stream.next_row().await? {
            rows.push(row);
        }
        ensure!(!rows.is_empty(), "empty snapshot at tick {i}");
        out.push(serde_json::json!({ "snapshot_at": request.as_of_us, "rows": rows }));
    }
    let diff = |from: i64, to: i64, key: KeyPredicate| DiffRequest {
        server_id: SOURCE_SERVER_ID,
        schema: "arch".into(),
        table: "orders".into(),
        from_us: from,
        to_us: to,
        key,
    };
    let (first, last) = (ticks[0] * 1_000_000, instant_after(ticks[ticks.len() - 1]));
    let requests = [
        diff(first, last, keys_in([1, 7, 50, 500].map(ApiValue::Int))),
        diff(ticks[12] * 1_000_000, ticks[20] * 1_000_000, whole_table()),
        diff(ticks[35] * 1_000_000, last, whole_table()),
    ];
    for req in &requests {
        let resp = agent.client().diff(req).await?;
        ensure!(!resp.changes.is_empty(), "diff found nothing: {req:?}");
        out.push(serde_json::to_value(&resp.changes)?);
    }
    Ok(out)
}

fn compare(before: &[Json], after: &[Json]) -> Result<()> {
    ensure!(before.len() == after.len(), "different number of answers");
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        if b != a {
            let (bs, as_) = (b.to_string(), a.to_string());
            let at = bs
                .chars()
                .zip(as_.chars())
                .take_while(|(x, y)| x == y)
                .count();
            bail!(
                "answer {i} changed after rotation near byte {at}: before …{}… after …{}…",
                &bs[at.saturating_sub(80)..(at + 80).min(bs.len())],
                &as_[at.saturating_sub(80)..(at + 80).min(as_.len())]
            );
        }
    }
    Ok(())
}

/// `POST /v1/archive/rotate` with `{"older_than": age}`; the report as JSON.
async fn rotate(agent: &AgentCore, age: &str) -> Result<Json> {
    let body = serde_json::json!({ "older_than": age }).to_string();
    let (status, reply) = http(
        &agent.addr().to_string(),
        "POST",
        "/v1/archive/rotate",
        &[("Authorization", format!("Bearer {}", agent.token()))],
        body.as_bytes(),
    )
    .await?;
    ensure!(
        status == 200,
        "rotate: HTTP {status}: {}",
        String::from_utf8_lossy(&reply)
    );
    Ok(serde_json::from_slice(&reply)?)
}

/// `agent-core archive --config agent.yaml --older-than 0s` against the running agent; the files
/// as the catalog (`<data_dir>/archive-catalog.json`) lists them, with their totals.
async fn rotate_with_cli(agent: &AgentCore) -> Result<Json> {
    let stdout = agent.cli(&["archive", "--older-than", "0s"]).await?;
    ensure!(
        stdout.contains(" events, "),
        "agent-core archive printed no totals: {stdout}"
    );
    let catalog: Json = serde_json::from_slice(&std::fs::read(
        agent.data_dir().join("archive-catalog.json"),
    )?)?;
    let files = catalog["files"]
        .as_array()
        .context("catalog.files")?
        .clone();
    let sum = |k: &str| files.iter().filter_map(|f| f[k].as_u64()).sum::<u64>();
    Ok(serde_json::json!({ "events": sum("events"), "bytes": sum("bytes"), "files": files }))
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`); returns status and body.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of HTTP headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .context("no HTTP status")?
        .parse()?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// Reads every archive file with the plain row reader and checks each column: `seq`,
/// `event_time`, `event_type`, `pk` (the memcomparable BIGINT), and every `after.<col>` of each
/// key's last event against MariaDB's current row.
async fn read_back_and_check(db: &MariaDb, root: &Path, files: &[Json]) -> Result<()> {
    let mut last: BTreeMap<i64, (u64, Option<Vec<String>>)> = BTreeMap::new();
    let mut stored_before = 0usize;
    let mut rows = 0usize;
    for f in files {
        let path = root.join(f["path"].as_str().context("file path")?);
        let reader = SerializedFileReader::new(std::fs::File::open(&path)?)?;
        let (seq_from, seq_to) = (
            f["seq_from"].as_u64().unwrap_or(0),
            f["seq_to"].as_u64().unwrap_or(0),
        );
        for row in reader.get_row_iter(None)? {
            let row = row?;
            rows += 1;
            let cell = |name: &str| field(&row, name);
            let seq = match cell("seq")? {
                Field::ULong(s) => *s,
                other => bail!("seq is {other:?}"),
            };
            ensure!(
                (seq_from..=seq_to).contains(&seq),
                "seq {seq} outside {path:?}'s range"
            );
            match cell("event_time")? {
                Field::TimestampMicros(us) => ensure!(
                    (f["time_from_us"].as_i64().unwrap_or(0)
                        ..=f["time_to_us"].as_i64().unwrap_or(0))
                        .contains(us),
                    "event_time {us} outside the file's range"
                ),
                other => bail!("event_time is {other:?}"),
            }
            let kind = match cell("event_type")? {
                Field::Str(s) => s.clone(),
                other => bail!("event_type is {other:?}"),
            };
            let pk = match cell("pk")? {
                Field::Bytes(b) => b.data().to_vec(),
                other => bail!("pk is {other:?}"),
            };
            // Memcomparable BIGINT: a non-NULL marker, then big-endian with the sign bit flipped.
            ensure!(
                pk.len() == 9 && pk[0] == 1,
                "BIGINT pk encodes in 1 + 8 bytes, got {pk:?}"
            );
            let id = (u64::from_be_bytes(pk[1..].try_into()?) ^ (1 << 63)) as i64;
            let after = match cell("after")? {
                Field::Group(g) => Some(canon_row(g)?),
                Field::Null => None,
                other => bail!("after is {other:?}"),
            };
            match (kind.as_str(), &after) {
                ("INSERT" | "UPDATE", Some(a)) => {
                    ensure!(a[0] == id.to_string(), "after.id {} ≠ pk {id}", a[0])
                }
                ("DELETE", None) => {}
                _ => bail!("seq {seq}: event_type {kind} with after {after:?}"),
            }
            match cell("before")? {
                Field::Group(g) => {
                    ensure!(kind != "INSERT", "an INSERT carries a before image");
                    ensure!(canon_row(g)?[0] == id.to_string(), "before.id ≠ pk");
                    stored_before += 1;
                }
                Field::Null => {}
                other => bail!("before is {other:?}"),
            }
            let slot = last.entry(id).or_insert((0, None));
            if seq >= slot.0 {
                *slot = (seq, after);
            }
        }
    }
    let mut conn = db.admin_conn().await?;
    let want: Vec<mysql_async::Row> = conn.query(CANON_SELECT).await?;
    let mut live = BTreeMap::new();
    for r in want {
        let cells: Vec<String> = (0..r.len())
            .map(|i| {
                r.get::<Option<String>, _>(i)
                    .flatten()
                    .unwrap_or_else(|| "NULL".into())
            })
            .collect();
        live.insert(cells[0].parse::<i64>()?, cells);
    }
    let from_files: BTreeMap<i64, Vec<String>> = last
        .into_iter()
        .filter_map(|(id, (_, after))| after.map(|a| (id, a)))
        .collect();
    for (id, want) in &live {
        let got = from_files
            .get(id)
            .with_context(|| format!("id {id} missing from archives"))?;
        ensure!(got == want, "id {id}: archive {got:?} ≠ MariaDB {want:?}");
    }
    ensure!(
        from_files.len() == live.len(),
        "archives hold rows MariaDB deleted"
    );
    println!(
        "archive read back: {rows} rows, {stored_before} stored before images (the rest derived)"
    );
    ensure!(
        stored_before <= ROWS as usize,
        "before images stored where derivable"
    );
    Ok(())
}

fn field<'a>(row: &'a Row, name: &str) -> Result<&'a Field> {
    row.get_column_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, f)| f)
        .with_context(|| format!("no column {name}"))
}

/// A row image group as MariaDB's canonical texts (see [`CANON_SELECT`]).
fn canon_row(g: &Row) -> Result<Vec<String>> {
    g.get_column_iter().map(|(_, f)| canon(f)).collect()
}

fn canon(f: &Field) -> Result<String> {
    Ok(match f {
        Field::Null => "NULL".into(),
        Field::Long(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Double(v) => v.to_string(),
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => b.data().iter().map(|x| format!("{x:02X}")).collect(),
        Field::Date(days) => {
            let (y, m, d) = civil_from_days(i64::from(*days));
            format!("{y:04}-{m:02}-{d:02}")
        }
        Field::TimestampMicros(us) => format_unix_micros(*us),
        Field::Decimal(d) => {
            let data = d.data();
            let neg = data.first().is_some_and(|b| b & 0x80 != 0);
            let mut v: i128 = if neg { -1 } else { 0 };
            for b in data {
                v = (v << 8) | i128::from(*b);
            }
            let scale = d.scale() as u32;
            let p = 10i128.pow(scale);
            let sign = if v < 0 { "-" } else { "" };
            format!(
                "{sign}{}.{:0w$}",
                (v / p).abs(),
                (v % p).abs(),
                w = scale as usize
            )
        }
        other => bail!("unexpected cell {other:?}"),
    })
}

/// A damaged file fails reads with 500 (Internal), a missing one with 503 (Unavailable); with the
/// file back, the answers are the same as before.
async fn damaged_files_fail_reads(
    agent: &mut AgentCore,
    root: &Path,
    files: &[Json],
    ticks: &[i64],
    before: &[Json],
) -> Result<()> {
    let victim: PathBuf = root.join(files[0]["path"].as_str().context("path")?);
    let saved = std::fs::read(&victim)?;
    let at = instant_after(ticks[ticks.len() - 1]);
    for (damage, want) in [("corrupt", 500u16), ("missing", 503)] {
        agent.stop()?;
        if damage == "corrupt" {
            let mut bad = saved.clone();
            let mid = bad.len() / 2;
            bad[mid..].iter_mut().for_each(|b| *b = !*b);
            std::fs::write(&victim, bad)?;
        } else {
            std::fs::remove_file(&victim)?;
        }
        agent.restart().await?;
        match flashback(agent, "arch", "orders", at, whole_table()).await {
            Ok(resp) => bail!(
                "{damage} archive file answered {} rows instead of failing",
                resp.rows.len()
            ),
            Err(e) => match e.downcast_ref::<ClientError>() {
                Some(ClientError::Http { status, body }) => {
                    ensure!(
                        *status == want,
                        "{damage} file: HTTP {status}, want {want}: {body:?}"
                    );
                    let message = body
                        .as_ref()
                        .map(|b| b.error.message.clone())
                        .unwrap_or_default();
                    ensure!(
                        message.contains(files[0]["path"].as_str().unwrap_or("?")),
                        "the error must name the file: {message}"
                    );
                }
                _ => bail!("{damage} file: unexpected error {e:#}"),
            },
        }
    }
    agent.stop()?;
    std::fs::write(&victim, saved)?;
    agent.restart().await?;
    let again = answers(agent, ticks).await?;
    compare(before, &again)
}

/// moto's S3-protocol server on a free port, with one bucket; killed on drop.
struct Moto {
    child: Child,
    addr: String,
    bucket: String,
    _log: tempfile::NamedTempFile,
}

impl Moto {
    async fn start() -> Result<Self> {
        let port = integration::free_port()?;
        let log = tempfile::NamedTempFile::new()?;
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen()?)
            .spawn()
            .context(
                "moto_server not found: the S3 archive test needs moto's S3-protocol server \
                 (pip install 'moto[server]'; .ci/run installs it)",
            )?;
        let addr = format!("127.0.0.1:{port}");
        let moto = Self {
            child,
            addr,
            bucket: "dbtrail-archive".into(),
            _log: log,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match http(&moto.addr, "PUT", &format!("/{}", moto.bucket), &[], b"").await {
                Ok((200, _)) => return Ok(moto),
                Ok((status, body)) => bail!(
                    "moto: creating the bucket answered {status}: {}",
                    String::from_utf8_lossy(&body)
                ),
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
                Err(e) => bail!("moto_server did not start within 30 s: {e}"),
            }
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
