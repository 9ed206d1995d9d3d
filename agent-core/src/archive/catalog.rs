//! The archive catalog: which Parquet file covers which server, table, seq range and time range,
//! and how far each source's history has been rotated out of the index or pruned.
//!
//! Stored as one JSON manifest (`<data_dir>/archive-catalog.json`), replaced by writing a temporary
//! file, fsyncing it, renaming it over the old one and fsyncing the directory: a crash leaves either
//! the old or the new manifest, never a torn one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use agent_api::archive::ArchiveFile;

/// How far one source's history has moved between tiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Every row change with seq ≤ this lives in archive files, not in the index (0 = none).
    pub archived_through_seq: u64,
    /// Visible time of `archived_through_seq`, µs.
    pub archived_through_us: i64,
    /// The index no longer holds row changes with seq ≤ this; lags `archived_through_seq` only
    /// after a crash between registering files and dropping their range (finished at start-up).
    #[serde(default)]
    pub dropped_through_seq: u64,
    /// Archive files holding only seqs ≤ this were deleted by `retention.archive` (0 = none).
    pub pruned_through_seq: u64,
    /// Visible time of `pruned_through_seq`, µs.
    pub pruned_through_us: i64,
}

/// The whole catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Registered files, in registration order.
    pub files: Vec<ArchiveFile>,
    /// Tier boundaries per source `server_id`.
    pub coverage: BTreeMap<u32, Coverage>,
}

/// Catalog persistence failures.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Reading, writing or renaming the manifest failed.
    #[error("archive catalog {path}: {source}")]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest does not parse.
    #[error("archive catalog {path} is corrupt: {message}")]
    Corrupt {
        /// The manifest path.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

impl Catalog {
    /// Loads the manifest at `path`; an absent file is an empty catalog.
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CatalogError::Corrupt {
                path: path.to_owned(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(CatalogError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the manifest durably: temp file, fsync, rename, fsync of the directory.
    pub fn store(&self, path: &Path) -> Result<(), CatalogError> {
        let io = |source| CatalogError::Io {
            path: path.to_owned(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| CatalogError::Corrupt {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// The tier boundaries of `server_id` (all zero before its first rotation).
    pub fn coverage(&self, server_id: u32) -> Coverage {
        self.coverage.get(&server_id).copied().unwrap_or_default()
    }

    /// Files of one table number of `server_id`, ordered by `seq_from`.
    pub fn files_of(&self, server_id: u32, table_no: u32) -> Vec<&ArchiveFile> {
        let mut out: Vec<_> = self
            .files
            .iter()
            .filter(|f| f.server_id == server_id && f.table_no == table_no)
            .collect();
        out.sort_by_key(|f| (f.seq_from, f.seq_to));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, table_no: u32, seq_from: u64, seq_to: u64) -> ArchiveFile {
        ArchiveFile {
            path: path.into(),
            server_id: 1,
            schema: "shop".into(),
            table: "orders".into(),
            table_no,
            schema_version: 0,
            seq_from,
            seq_to,
            time_from_us: 1,
            time_to_us: 2,
            events: 3,
            bytes: 4,
        }
    }

    #[test]
    fn round_trips_through_an_atomic_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive-catalog.json");
        assert_eq!(Catalog::load(&path).unwrap(), Catalog::default());
        let mut c = Catalog::default();
        c.files.push(file("b", 7, 50, 90));
        c.files.push(file("a", 7, 10, 40));
        c.files.push(file("other", 8, 10, 40));
        c.coverage.insert(
            1,
            Coverage {
                archived_through_seq: 90,
                archived_through_us: 5,
                ..Coverage::default()
            },
        );
        c.store(&path).unwrap();
        assert!(!path.with_extension("json.tmp").exists());
        let back = Catalog::load(&path).unwrap();
        assert_eq!(back, c);
        let paths: Vec<_> = back.files_of(1, 7).iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths, ["a", "b"]);
        assert_eq!(back.coverage(1).archived_through_seq, 90);
        assert_eq!(back.coverage(2), Coverage::default());
    }

    #[test]
    fn a_corrupt_manifest_is_an_error_not_an_empty_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive-catalog.json");
        std::fs::write(&path, b"{\"files\": [").unwrap();
        let err = Catalog::load(&path).unwrap_err();
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
