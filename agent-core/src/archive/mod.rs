//! The cold tier: index ranges older than `retention.hot` rotated into Parquet files on a local
//! directory or S3 (`object_store`), a catalog of which file covers which seq/time range, and the
//! read side that merges index and archives for flashback, diff and snapshot.
//!
//! Tier boundary per source: every row change with seq ≤ `archived_through_seq` lives in archive
//! files, every later one in the index. Rotation uploads files first, then (under the tier lock,
//! so no reader sees a half-moved range) registers them in the catalog together with the new
//! boundary, then drops the range from the index. Readers hold the tier lock's read side for the
//! whole request. TRUNCATEs stay in the index's `clears` (they are also written to the files as
//! `TRUNCATE` events for outside readers), and so do transaction records (times, GTID, binlog
//! position) and the time → seq index: they are one small entry per transaction.

pub mod catalog;
pub mod format;
pub mod merge;
pub mod rotate;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use agent_api::ErrorCode;
use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tokio::sync::RwLock as TierLock;

use crate::config::Config;
use crate::index::{Index, IndexError};
use crate::reconstruct::ApiError;
use catalog::{ArchiveFile, Catalog, CatalogError};

pub use merge::TierView;

/// Archive failures.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The object store failed (unreachable, missing object, denied).
    #[error("archive store: {0}")]
    Store(#[from] object_store::Error),
    /// Parquet encoding or decoding failed.
    #[error("archive parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow refused a batch.
    #[error("archive arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Row images do not fit their columns.
    #[error("archive columns: {0}")]
    Columnar(#[from] crate::columnar::ColumnarError),
    /// A file's content is not what this module writes.
    #[error("archive file corrupt: {0}")]
    Corrupt(String),
    /// The catalog manifest failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// `archive.url` or its options are unusable.
    #[error("archive configuration: {0}")]
    Config(String),
}

impl ArchiveError {
    /// The API error for a read that needed archive file `path`: `Unavailable` when the store
    /// cannot deliver it, `Internal` when it does not decode. Never an empty answer.
    pub fn reading(self, path: &str) -> ApiError {
        let code = match self {
            ArchiveError::Store(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, format!("archive file {path} cannot be read: {self}"))
    }
}

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> Self {
        ApiError::new(ErrorCode::Internal, e.to_string())
    }
}

/// Where archive files are put.
struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Key prefix under the bucket (`s3://bucket/prefix`); empty for `file://`.
    prefix: String,
    /// The directory of a `file://` store, to fsync uploads there.
    local_root: Option<PathBuf>,
}

/// Bytes of archive files kept in memory between requests.
const CACHE_BYTES: usize = 256 << 20;

/// The archive tier of one agent: store, catalog and the lock between rotation and readers.
pub struct Archive {
    store: Option<Store>,
    catalog_path: PathBuf,
    catalog: RwLock<Arc<Catalog>>,
    /// Readers hold the read side during a request; rotation takes the write side while it moves
    /// the tier boundary and drops the rotated range from the index.
    tiers: Arc<TierLock<()>>,
    /// One rotation or prune at a time.
    rotating: tokio::sync::Mutex<()>,
    cache: Mutex<HashMap<String, Bytes>>,
    /// `encryption.key_file`: files are sealed on upload and opened on fetch ([`crate::crypt`]).
    keys: Option<crate::crypt::Keyring>,
}

impl Archive {
    /// Opens the catalog (`<data_dir>/archive-catalog.json`) and the store of `config.archive`,
    /// and finishes a rotation that crashed between registering its files and dropping the
    /// rotated range from `index`.
    pub fn open(config: &Config, index: &Index) -> Result<Self, ArchiveError> {
        let catalog_path = config.data_dir.join("archive-catalog.json");
        let catalog = Catalog::load(&catalog_path)?;
        let store = config
            .archive
            .as_ref()
            .map(|a| {
                open_store(&StoreSpec {
                    url: &a.url,
                    endpoint: a.endpoint.as_deref(),
                    region: a.region.as_deref(),
                    allow_http: a.allow_http,
                    sse_kms_key_id: a.sse_kms_key_id.as_deref(),
                })
            })
            .transpose()?
            .map(|(inner, prefix)| Store {
                local_root: config
                    .archive
                    .as_ref()
                    .and_then(|a| a.url.strip_prefix("file://"))
                    .map(PathBuf::from),
                inner,
                prefix,
            });
        let keys = crate::crypt::Keyring::from_config(config)
            .map_err(|e| ArchiveError::Config(e.to_string()))?;
        let archive = Self {
            store,
            catalog_path,
            catalog: RwLock::new(Arc::new(catalog)),
            tiers: Arc::new(TierLock::new(())),
            rotating: tokio::sync::Mutex::new(()),
            cache: Mutex::new(HashMap::new()),
            keys,
        };
        rotate::finish_drops(&archive, index)?;
        Ok(archive)
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace_catalog(&self, next: Catalog) -> Result<(), ArchiveError> {
        next.store(&self.catalog_path)?;
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(())
    }

    fn store(&self) -> Result<&Store, ArchiveError> {
        self.store
            .as_ref()
            .ok_or_else(|| ArchiveError::Config("no archive.url configured".into()))
    }

    fn object_path(&self, store: &Store, path: &str) -> ObjectPath {
        if store.prefix.is_empty() {
            ObjectPath::from(path)
        } else {
            ObjectPath::from(format!("{}/{path}", store.prefix))
        }
    }

    /// Uploads one file and returns once the store has it durably (for `file://`, after fsync of
    /// the file and its directory).
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        let store = self.store()?;
        let target = self.object_path(store, path);
        let bytes = match &self.keys {
            Some(k) => k.seal(&bytes),
            None => bytes,
        };
        store.inner.put(&target, PutPayload::from(bytes)).await?;
        if let Some(root) = &store.local_root {
            let file = root.join(path);
            let sync = |p: &std::path::Path| std::fs::File::open(p).and_then(|f| f.sync_all());
            sync(&file)
                .and_then(|()| file.parent().map_or(Ok(()), sync))
                .map_err(|e| ArchiveError::Config(format!("fsync {}: {e}", file.display())))?;
        }
        Ok(())
    }

    /// Fetches one registered file (from the in-memory cache when present).
    async fn fetch(&self, path: &str) -> Result<Bytes, ArchiveError> {
        if let Some(b) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Ok(b.clone());
        }
        let store = self.store()?;
        let stored = store
            .inner
            .get(&self.object_path(store, path))
            .await?
            .bytes()
            .await?;
        let bytes = match crate::crypt::is_sealed(&stored) {
            true => Bytes::from(
                crate::crypt::Keyring::open(self.keys.as_ref(), &stored, path)
                    .map_err(|e| ArchiveError::Corrupt(e.to_string()))?,
            ),
            false => stored,
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let held: usize = cache.values().map(Bytes::len).sum();
        if held + bytes.len() > CACHE_BYTES {
            cache.clear();
        }
        cache.insert(path.to_owned(), bytes.clone());
        Ok(bytes)
    }

    async fn delete(&self, path: &str) -> Result<(), ArchiveError> {
        let store = self.store()?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(path);
        store.inner.delete(&self.object_path(store, path)).await?;
        Ok(())
    }

    /// Forgets cached file contents (tests that damage files on purpose).
    pub fn clear_cache(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The view of both tiers for one table number of `server_id`, valid while it lives: the tier
    /// boundary cannot move under it. Fetches the table's archive files; a file that cannot be
    /// fetched is an `Unavailable` error naming it.
    pub async fn view(&self, server_id: u32, table_no: u32) -> Result<TierView, ApiError> {
        let guard = self.tiers.clone().read_owned().await;
        let catalog = self.catalog();
        let mut files: Vec<(ArchiveFile, Bytes)> = Vec::new();
        for f in catalog.files_of(server_id, table_no) {
            let bytes = self.fetch(&f.path).await.map_err(|e| e.reading(&f.path))?;
            files.push((f.clone(), bytes));
        }
        Ok(TierView::new(
            table_no,
            catalog.coverage(server_id),
            files,
            guard,
        ))
    }
}

/// What [`open_store`] needs: the URL and the S3 options (`archive:` or `baselines.s3`).
#[derive(Debug, Clone, Copy)]
pub struct StoreSpec<'a> {
    /// `file:///absolute/dir` or `s3://bucket/prefix`.
    pub url: &'a str,
    /// S3-compatible endpoint (AWS when `None`).
    pub endpoint: Option<&'a str>,
    /// Region (else `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<&'a str>,
    /// Allow a plain-http endpoint.
    pub allow_http: bool,
    /// SSE-KMS key id passed to every PUT (`x-amz-server-side-encryption-aws-kms-key-id`).
    pub sse_kms_key_id: Option<&'a str>,
}

/// The object store of a `file://` or `s3://` URL and the key prefix under it (empty for
/// `file://`, whose directory is created).
pub fn open_store(cfg: &StoreSpec<'_>) -> Result<(Arc<dyn ObjectStore>, String), ArchiveError> {
    if let Some(dir) = cfg.url.strip_prefix("file://") {
        let root = PathBuf::from(dir);
        std::fs::create_dir_all(&root)
            .map_err(|e| ArchiveError::Config(format!("{}: {e}", root.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
        return Ok((Arc::new(fs), String::new()));
    }
    let Some(rest) = cfg.url.strip_prefix("s3://") else {
        return Err(ArchiveError::Config(format!(
            "{:?} must be file:///dir or s3://bucket/prefix",
            cfg.url
        )));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut b = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_allow_http(cfg.allow_http);
    if let Some(region) = cfg.region {
        b = b.with_region(region);
    } else if std::env::var_os("AWS_REGION").is_none()
        && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        b = b.with_region("us-east-1");
    }
    if let Some(endpoint) = cfg.endpoint {
        b = b.with_endpoint(endpoint);
    }
    if let Some(key) = cfg.sse_kms_key_id {
        b = b.with_sse_kms_encryption(key);
    }
    Ok((Arc::new(b.build()?), prefix.trim_matches('/').to_owned()))
}
