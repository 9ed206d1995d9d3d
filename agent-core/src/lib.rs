//! agent-core: binlog capture, change index, reconstruction and the HTTP API.
//!
//! Module map (the path a change takes, then the path a query takes):
//! [`capture`] (replica connection, event assembly, row decoding) → [`schema`] (table versions) →
//! [`index`] (fjall change index) → [`reconstruct`] (AS OF answers) → [`http`] (axum API).

pub mod archive;
pub mod backup;
pub mod baseline;
pub mod capture;
pub mod columnar;
pub mod config;
pub mod crypt;
pub mod export;
pub mod fsname;
pub mod http;
pub mod index;
pub mod metrics;
pub mod reconstruct;
pub mod recover;
pub mod schema;
pub mod source;
pub mod storage;
#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::sync::Arc;

use capture::state::SourceState;
use config::Config;
use index::Index;

/// Everything a request handler needs.
pub struct App {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The change index.
    pub index: Arc<Index>,
    /// Capture state per source `server_id`.
    pub sources: HashMap<u32, Arc<SourceState>>,
    /// The cold tier (Parquet archives and their catalog); reads merge it with the index.
    pub archive: Arc<archive::Archive>,
    /// The source's recent answers about tables capture never saw
    /// ([`reconstruct::SourceTableChecks`]).
    pub source_checks: reconstruct::SourceTableChecks,
    /// Whether the index storage failed (capture stopped until the disk has room again).
    pub storage: Arc<storage::StorageHealth>,
    /// Backup schedules and their run history ([`backup`]).
    pub backups: backup::Backups,
    /// The keys of `encryption.key_file`, when configured ([`crypt`]).
    pub keys: Option<Arc<crypt::Keyring>>,
}

impl App {
    /// Opens the index under `config.data_dir` and prepares per-source state.
    pub fn open(config: Arc<Config>) -> Result<Self, index::IndexError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            index::IndexError::Corrupt(format!("{}: {e}", config.data_dir.display()))
        })?;
        let index = Arc::new(Index::open(&config.data_dir)?);
        let keys = crypt::Keyring::from_config(&config)
            .map_err(|e| index::IndexError::Corrupt(e.to_string()))?
            .map(Arc::new);
        let archive = archive::Archive::open(&config, &index)
            .map_err(|e| index::IndexError::Corrupt(e.to_string()))?;
        let backups = backup::Backups::open(&config)
            .map_err(|e| index::IndexError::Corrupt(e.to_string()))?;
        let sources = config
            .sources
            .iter()
            .map(|s| (s.server_id, Arc::new(SourceState::new(s.server_id))))
            .collect();
        Ok(Self {
            config,
            index,
            sources,
            archive: Arc::new(archive),
            source_checks: reconstruct::source_table_checks(),
            storage: Arc::default(),
            backups,
            keys,
        })
    }
}
