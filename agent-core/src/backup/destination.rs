//! Where a schedule's backups are copied: `file:///absolute/dir` or `s3://bucket/prefix`, through
//! the same object store code as archives ([`crate::archive::open_store`]), with the S3 options
//! of `baselines.s3` (endpoint, region, plain HTTP, SSE-KMS key id) and, when
//! `encryption.key_file` is set, every file sealed by [`crate::crypt`] before it leaves the agent.
//!
//! Layout of one run: `<destination>/<schedule id>/<YYYY-MM-DD>/<HHMMSS>-<run id>/<server_id>/
//! <schema>/<table>/{rows.parquet,create_table.sql,manifest.json}`, schema and table names as
//! their [`crate::fsname::encode`] segments (never a raw name from the source in a path).

use std::path::PathBuf;
use std::sync::Arc;

use agent_api::backup::{BackupRun, RunStatus, Schedule, TableRun};
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::crypt::Keyring;
use crate::App;

/// The files of a baseline directory copied to a destination.
pub const FILES: [&str; 3] = ["rows.parquet", "create_table.sql", "manifest.json"];

/// Checks a destination URL: `file:///absolute/dir` (no `..`) or `s3://bucket[/prefix]`.
pub fn parse(url: &str) -> Result<(), String> {
    if let Some(dir) = url.strip_prefix("file://") {
        let p = std::path::Path::new(dir);
        let dotdot = p
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
        if !p.is_absolute() || dotdot {
            return Err(format!("{url:?} must be file:///absolute/dir without '..'"));
        }
        return Ok(());
    }
    match url.strip_prefix("s3://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(format!(
            "{url:?} must be file:///absolute/dir or s3://bucket/prefix"
        )),
    }
}

/// An opened destination.
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
    keys: Option<Arc<Keyring>>,
}

impl Destination {
    /// Opens `url` with the agent's S3 options and key file.
    pub fn open(app: &App, url: &str) -> Result<Self, String> {
        parse(url)?;
        let s3 = &app.config.baselines.s3;
        let spec = crate::archive::StoreSpec {
            url,
            endpoint: s3.endpoint.as_deref(),
            region: s3.region.as_deref(),
            allow_http: s3.allow_http,
            sse_kms_key_id: s3.sse_kms_key_id.as_deref(),
        };
        let (store, prefix) = crate::archive::open_store(&spec).map_err(|e| e.to_string())?;
        Ok(Self {
            store,
            prefix,
            url: url.trim_end_matches('/').to_owned(),
            keys: app.keys.clone(),
        })
    }

    /// The URL of a run directory (relative path from [`run_dir`]).
    pub fn url_of(&self, dir: &str) -> String {
        format!("{}/{dir}", self.url)
    }

    /// The run directory relative to this destination, when `url` (a run's
    /// [`BackupRun::destination`]) lies in it.
    pub fn relative<'a>(&self, url: &'a str) -> Option<&'a str> {
        url.strip_prefix(&self.url)?.strip_prefix('/')
    }

    fn object(&self, rel: &str) -> ObjectPath {
        match self.prefix.is_empty() {
            true => ObjectPath::from(rel),
            false => ObjectPath::from(format!("{}/{rel}", self.prefix)),
        }
    }

    /// Copies the files of every written table of a run under `dir`; a table whose copy fails
    /// is marked failed with the error, which is also returned.
    pub async fn copy_run(
        &self,
        app: &App,
        dir: &str,
        tables: &mut [TableRun],
    ) -> Result<(), String> {
        for t in tables
            .iter_mut()
            .filter(|t| t.status == RunStatus::Succeeded)
        {
            let Some(id) = t.baseline_id.clone() else {
                continue;
            };
            let local =
                crate::baseline::table_dir(&app.config.data_dir, t.server_id, &t.schema, &t.table)
                    .join(&id);
            let rel_table = format!(
                "{dir}/{}/{}/{}",
                t.server_id,
                crate::fsname::encode(&t.schema),
                crate::fsname::encode(&t.table)
            );
            if let Err(e) = self.copy_files(&local, &rel_table).await {
                t.status = RunStatus::Failed;
                t.error = Some(e.clone());
                return Err(e);
            }
        }
        Ok(())
    }

    async fn copy_files(&self, local: &std::path::Path, rel: &str) -> Result<(), String> {
        for name in FILES {
            let path: PathBuf = local.join(name);
            let read_path = path.clone();
            let bytes = tokio::task::spawn_blocking(move || std::fs::read(&read_path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let keys = self.keys.clone();
            let sealed = match keys {
                Some(k) => tokio::task::spawn_blocking(move || k.seal(&bytes))
                    .await
                    .map_err(|e| e.to_string())?,
                None => bytes,
            };
            self.store
                .put(
                    &self.object(&format!("{rel}/{name}")),
                    PutPayload::from(sealed),
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Deletes every object under a run directory.
    pub async fn delete_run(&self, dir: &str) -> Result<u64, String> {
        let prefix = self.object(dir);
        let mut listing = self.store.list(Some(&prefix));
        let mut paths = Vec::new();
        while let Some(meta) = listing.next().await {
            paths.push(meta.map_err(|e| e.to_string())?.location);
        }
        for p in &paths {
            self.store.delete(p).await.map_err(|e| e.to_string())?;
        }
        Ok(paths.len() as u64)
    }

    /// Reads back one copied file, opened with the key file (tests, restores).
    pub async fn read(&self, rel: &str) -> Result<Vec<u8>, String> {
        let bytes = self
            .store
            .get(&self.object(rel))
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        Keyring::open(self.keys.as_deref(), &bytes, &self.url_of(rel)).map_err(|e| e.to_string())
    }
}

/// `<schedule id>/<YYYY-MM-DD>/<HHMMSS>-<run id>` of a run (its start in UTC).
pub fn run_dir(schedule: &Schedule, run: &BackupRun) -> String {
    let text = agent_api::time::format_unix_micros(run.started_at_us);
    // `YYYY-MM-DD HH:MM:SS.ffffff`
    let (date, time) = text.split_once(' ').unwrap_or((&text, "00:00:00"));
    let hms: String = time.chars().take(8).filter(char::is_ascii_digit).collect();
    format!("{}/{date}/{hms}-{}", schedule.id, run.id)
}
