//! Backup schedules end to end on a real MariaDB: schedules created, edited, disabled and deleted
//! through `/v1/backups/...`; runs started by hand with their history (rows, bytes, duration,
//! per table); a run whose source is unreachable shows as failed in the history, `/health`
//! (`degraded` with the reason) and `/metrics`; retention by count deletes the oldest copy;
//! schedules and history survive an agent restart. With `encryption.key_file` set, the copies at
//! the destination and the archive files hold no plaintext of a known row and still read back,
//! and a wrong key is a clear error.
//!
//! Needs the binaries: `cargo build --workspace --bins`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agent_api::flashback::KeyPredicate;
use agent_api::Value as ApiValue;
use anyhow::{bail, ensure, Context, Result};
use integration::agent::SOURCE_SERVER_ID;
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;
use serde_json::{json, Value as Json};

/// A value of one row that must never appear in encrypted bytes.
const MARKER: &str = "backup-plaintext-marker-4f1c9e";
/// `server_id` of a second configured source nobody listens for.
const DEAD_SOURCE: u32 = 2;
const KEY_V1: &str = "v1 5b0c7f3e2a1d4c6b8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f";
const KEY_V1_WRONG: &str = "v1 00000000000000000000000000000000000000000000000000000000000000ff";

/// A bearer-token JSON client for one agent.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(agent: &AgentCore) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: agent.url(),
            token: agent.token().to_owned(),
        }
    }

    /// `method path` with an optional JSON body: the status and the JSON answer.
    async fn call(&self, method: &str, path: &str, body: Option<Json>) -> Result<(u16, Json)> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        Ok((status, json))
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Json>) -> Result<Json> {
        let (status, json) = self.call(method, path, body).await?;
        ensure!(
            (200..300).contains(&status),
            "{method} {path}: HTTP {status}: {json}"
        );
        Ok(json)
    }

    async fn text(&self, path: &str) -> Result<String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(resp.text().await?)
    }

    /// Starts a run of `schedule` and waits for it to end; the run.
    async fn run_to_end(&self, schedule: &str) -> Result<Json> {
        let started = self
            .ok(
                "POST",
                &format!("/v1/backups/schedules/{schedule}/run"),
                None,
            )
            .await?;
        let run_id = started["run_id"].as_str().context("run_id")?.to_owned();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let runs = self
                .ok(
                    "GET",
                    &format!("/v1/backups/runs?schedule_id={schedule}&limit=10"),
                    None,
                )
                .await?;
            let run = runs["runs"]
                .as_array()
                .context("runs")?
                .iter()
                .find(|r| r["id"] == run_id.as_str())
                .cloned()
                .with_context(|| format!("{run_id} not in the history: {runs}"))?;
            if run["status"] != "running" {
                return Ok(run);
            }
            if Instant::now() > deadline {
                bail!("{run_id} still running after 120 s: {run}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Every file named `name` under `dir`.
fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find_files(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Adds the unreachable second source, the key file and a `file://` archive to `agent.yaml`.
fn configure(yaml: &mut String, key_file: &Path, archive: &Path) {
    *yaml = yaml.replacen(
        "sources:\n",
        &format!(
            "sources:\n  - server_id: {DEAD_SOURCE}\n    dsn: mysql://u:p@127.0.0.1:1\n    replica_server_id: 4002\n"
        ),
        1,
    );
    yaml.push_str(&format!(
        "encryption:\n  key_file: {}\narchive:\n  url: file://{}\n",
        json!(key_file.to_string_lossy()),
        archive.display()
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn schedules_history_health_encryption_and_restart() -> Result<()> {
    let db = MariaDb::start().await?;
    let mut conn = db.admin_conn().await?;
    conn.query_drop("CREATE DATABASE shop").await?;
    conn.query_drop(
        "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, qty INT NOT NULL)",
    )
    .await?;
    let files = tempfile::tempdir()?;
    let key_file = files.path().join("keys");
    std::fs::write(&key_file, format!("# dbtrail keys\n{KEY_V1}\n"))?;
    let archive_dir = files.path().join("archive");
    let dest_dir = files.path().join("dest");
    let mut agent = AgentCore::start_with(&db, &["shop"], |_, yaml| {
        configure(yaml, &key_file, &archive_dir);
        Ok(())
    })
    .await?;
    conn.query_drop(format!(
        "INSERT INTO shop.items VALUES (1, '{MARKER}', 3), (2, 'plain', 4), (3, 'other', 5)"
    ))
    .await?;
    agent.wait_caught_up(&db).await?;
    let api = Api::new(&agent);

    // Validation names the field.
    let (status, body) = api
        .call(
            "POST",
            "/v1/backups/schedules",
            Some(json!({"cron": "0 25 * * *"})),
        )
        .await?;
    ensure!(
        status == 400 && body.to_string().contains("cron"),
        "{status} {body}"
    );
    let (status, body) = api
        .call(
            "POST",
            "/v1/backups/schedules",
            Some(json!({"cron": "0 3 * * *", "destination": "ftp://x"})),
        )
        .await?;
    ensure!(
        status == 400 && body.to_string().contains("destination"),
        "{status} {body}"
    );

    let dest_url = format!("file://{}", dest_dir.display());
    let good = api
        .ok(
            "POST",
            "/v1/backups/schedules",
            Some(json!({
                "cron": "0 3 1 1 *", "server_id": SOURCE_SERVER_ID, "tables": ["shop.items"],
                "keep": {"count": 2}, "destination": dest_url,
            })),
        )
        .await?["schedule"]
        .clone();
    let good_id = good["id"].as_str().context("id")?.to_owned();
    ensure!(
        good["enabled"] == true && good["next_run_us"].is_i64(),
        "{good}"
    );
    let bad = api
        .ok(
            "POST",
            "/v1/backups/schedules",
            Some(json!({"cron": "0 4 1 1 *", "server_id": DEAD_SOURCE, "tables": ["shop.items"]})),
        )
        .await?["schedule"]
        .clone();
    let bad_id = bad["id"].as_str().context("id")?.to_owned();

    // Edit: disable, then enable again with the same settings.
    let mut edit = json!({
        "cron": "30 3 2 1 *", "server_id": SOURCE_SERVER_ID, "tables": ["shop.items"],
        "keep": {"count": 2}, "destination": dest_url, "enabled": false,
    });
    let edited = api
        .ok(
            "PUT",
            &format!("/v1/backups/schedules/{good_id}"),
            Some(edit.clone()),
        )
        .await?;
    ensure!(
        edited["schedule"]["enabled"] == false
            && edited["schedule"]["cron"] == "30 3 2 1 *"
            && edited["schedule"].get("next_run_us").is_none(),
        "{edited}"
    );
    edit["enabled"] = json!(true);
    api.ok(
        "PUT",
        &format!("/v1/backups/schedules/{good_id}"),
        Some(edit),
    )
    .await?;
    let (status, _) = api
        .call("GET", "/v1/backups/schedules/bkp-999", None)
        .await?;
    ensure!(status == 404, "unknown schedule: HTTP {status}");
    let listed = api.ok("GET", "/v1/backups/schedules", None).await?;
    ensure!(
        listed["schedules"].as_array().map(Vec::len) == Some(2),
        "{listed}"
    );

    // A successful run: its history, and the copy at the destination sealed.
    let run = api.run_to_end(&good_id).await?;
    ensure!(run["status"] == "succeeded", "{run}");
    ensure!(run["rows"] == 3 && run["bytes"].as_u64() > Some(0), "{run}");
    ensure!(
        run["duration_ms"].is_u64() && run["finished_at_us"].is_i64(),
        "{run}"
    );
    let tables = run["tables"].as_array().context("tables")?;
    ensure!(
        tables.len() == 1 && tables[0]["table"] == "items" && tables[0]["rows"] == 3,
        "{run}"
    );
    check_sealed_copy(&agent, &dest_dir).await?;

    // A run against the unreachable source fails, and says so everywhere.
    let failed = api.run_to_end(&bad_id).await?;
    ensure!(failed["status"] == "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    ensure!(error.contains(&format!("source {DEAD_SOURCE}")), "{failed}");
    ensure!(failed["tables"][0]["status"] == "failed", "{failed}");
    let health = api.ok("GET", "/health", None).await?;
    ensure!(
        health["success"] == true && health["status"] == "degraded",
        "{health}"
    );
    let warnings = health["warnings"].to_string();
    ensure!(
        warnings.contains(&bad_id) && warnings.contains("failed"),
        "{health}"
    );
    let metrics = api.text("/metrics").await?;
    for line in [
        format!("agent_backup_last_run_failed{{schedule_id=\"{bad_id}\"}} 1"),
        format!("agent_backup_last_run_failed{{schedule_id=\"{good_id}\"}} 0"),
        format!("agent_backup_last_run_rows{{schedule_id=\"{good_id}\"}} 3"),
        "agent_backup_runs_total{status=\"failed\"} 1".to_owned(),
        "agent_backup_runs_total{status=\"succeeded\"} 1".to_owned(),
    ] {
        ensure!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in:\n{metrics}"
        );
    }
    // Per table: both schedules' runs name shop.items.
    let per_table = api
        .ok("GET", "/v1/backups/runs?table=shop.items&limit=10", None)
        .await?;
    ensure!(
        per_table["runs"].as_array().map(Vec::len) == Some(2),
        "{per_table}"
    );

    // Retention: keep 2 → after two more runs the first run's copy is gone.
    let first_id = run["id"].as_str().context("id")?.to_owned();
    let first_dir = run["destination"]
        .as_str()
        .context("destination")?
        .to_owned();
    for _ in 0..2 {
        conn.query_drop("UPDATE shop.items SET qty = qty + 1 WHERE id = 2")
            .await?;
        agent.wait_caught_up(&db).await?;
        let r = api.run_to_end(&good_id).await?;
        ensure!(r["status"] == "succeeded", "{r}");
    }
    let runs = api
        .ok(
            "GET",
            &format!("/v1/backups/runs?schedule_id={good_id}"),
            None,
        )
        .await?;
    let first = runs["runs"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == first_id.as_str()))
        .context("first run")?;
    ensure!(first["expired_at_us"].is_i64(), "{runs}");
    let first_path = PathBuf::from(first_dir.trim_start_matches("file://"));
    ensure!(
        find_files(&first_path, "rows.parquet").is_empty(),
        "expired copy still at {}",
        first_path.display()
    );
    ensure!(
        find_files(&dest_dir, "rows.parquet").len() == 2,
        "two copies kept"
    );

    // Archives are sealed too, and still read.
    check_sealed_archive(&api, &agent, &archive_dir).await?;

    // Restart: schedules and history persist, the failure is still reported.
    agent.restart().await?;
    agent.wait_caught_up(&db).await?;
    let listed = api.ok("GET", "/v1/backups/schedules", None).await?;
    let ids: Vec<_> = listed["schedules"]
        .as_array()
        .context("schedules")?
        .iter()
        .map(|s| {
            (
                s["id"].clone(),
                s["cron"].clone(),
                s["keep"]["count"].clone(),
            )
        })
        .collect();
    ensure!(
        ids == vec![
            (json!(good_id), json!("30 3 2 1 *"), json!(2)),
            (json!(bad_id), json!("0 4 1 1 *"), Json::Null)
        ],
        "{listed}"
    );
    let runs = api.ok("GET", "/v1/backups/runs", None).await?;
    ensure!(runs["runs"].as_array().map(Vec::len) == Some(4), "{runs}");
    let health = api.ok("GET", "/health", None).await?;
    ensure!(health["status"] == "degraded", "{health}");
    // Deleting the failing schedule clears the warning; its history stays.
    api.ok("DELETE", &format!("/v1/backups/schedules/{bad_id}"), None)
        .await?;
    let health = api.ok("GET", "/health", None).await?;
    ensure!(
        health["status"] == "ok" && health.get("warnings").is_none(),
        "{health}"
    );
    let runs = api
        .ok(
            "GET",
            &format!("/v1/backups/runs?schedule_id={bad_id}"),
            None,
        )
        .await?;
    ensure!(runs["runs"].as_array().map(Vec::len) == Some(1), "{runs}");

    // A wrong key under the same id: archive reads fail with a clear error, never rows.
    agent.stop()?;
    std::fs::write(&key_file, format!("{KEY_V1_WRONG}\n"))?;
    agent.restart().await?;
    let err = match agent.client().diff(&diff_request(1)).await {
        Ok(answer) => bail!("a wrong key must not answer: {answer:?}"),
        Err(e) => format!("{e:?}"),
    };
    ensure!(err.contains("wrong key or damaged file"), "{err}");
    Ok(())
}

/// The copy of the first run: every file starts with the sealed-file magic, holds neither the
/// marker nor the table name, and opens with the key file into the real Parquet, which does hold
/// the marker (so the plaintext check could fail).
async fn check_sealed_copy(agent: &AgentCore, dest: &Path) -> Result<()> {
    let copies = find_files(dest, "rows.parquet");
    ensure!(copies.len() == 1, "one copy expected: {copies:?}");
    let key_text = std::fs::read_to_string(key_path(agent)?)?;
    let keys = agent_core::crypt::Keyring::parse(&key_text, None).map_err(anyhow::Error::msg)?;
    let local = find_files(&agent.data_dir().join("baselines"), "rows.parquet");
    let plain_local = std::fs::read(local.first().context("no local baseline")?)?;
    ensure!(
        contains(&plain_local, MARKER.as_bytes()),
        "the plaintext Parquet should hold the marker (its column statistics)"
    );
    for name in ["rows.parquet", "manifest.json", "create_table.sql"] {
        let path = copies[0].with_file_name(name);
        let sealed = std::fs::read(&path)?;
        ensure!(
            sealed.starts_with(b"DBTRENC1"),
            "{} is not sealed",
            path.display()
        );
        ensure!(
            !contains(&sealed, MARKER.as_bytes()) && !contains(&sealed, b"items"),
            "{} holds plaintext",
            path.display()
        );
        let opened = agent_core::crypt::Keyring::open(Some(&keys), &sealed, name)?;
        if name == "rows.parquet" {
            ensure!(opened == plain_local, "the copy opens to the local Parquet");
        }
        if name == "manifest.json" {
            let m: Json = serde_json::from_slice(&opened)?;
            ensure!(m["table"] == "items" && m["rows"] == 3, "{m}");
        }
    }
    Ok(())
}

/// The key file named in `agent.yaml`.
fn key_path(agent: &AgentCore) -> Result<PathBuf> {
    let yaml = std::fs::read_to_string(agent.config_path())?;
    let line = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("key_file: "))
        .context("key_file in agent.yaml")?;
    Ok(PathBuf::from(serde_json::from_str::<String>(line)?))
}

/// Every change of key `id` of `shop.items` in the last hour.
fn diff_request(id: i32) -> agent_api::diff::DiffRequest {
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    agent_api::diff::DiffRequest {
        server_id: SOURCE_SERVER_ID,
        schema: "shop".into(),
        table: "items".into(),
        from_us: now_us - 3_600_000_000,
        to_us: now_us,
        key: KeyPredicate::In(vec![vec![ApiValue::Int(i64::from(id))]]),
    }
}

/// Rotates the whole history into the archive: the files are sealed (no marker) and flashback
/// still finds the marker row.
async fn check_sealed_archive(api: &Api, agent: &AgentCore, archive: &Path) -> Result<()> {
    let report = api
        .ok(
            "POST",
            "/v1/archive/rotate",
            Some(json!({"older_than": "0s"})),
        )
        .await?;
    ensure!(
        report["events"].as_u64() > Some(0),
        "nothing rotated: {report}"
    );
    let files = find_files_ext(archive, "parquet");
    ensure!(
        !files.is_empty(),
        "no archive files under {}",
        archive.display()
    );
    for f in &files {
        let bytes = std::fs::read(f)?;
        ensure!(
            bytes.starts_with(b"DBTRENC1"),
            "{} is not sealed",
            f.display()
        );
        ensure!(
            !contains(&bytes, MARKER.as_bytes()),
            "{} holds the marker",
            f.display()
        );
    }
    let answer = agent.client().diff(&diff_request(1)).await?;
    let text = format!("{answer:?}");
    ensure!(text.contains(MARKER), "diff after rotation: {text}");
    Ok(())
}

fn find_files_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find_files_ext(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out
}
