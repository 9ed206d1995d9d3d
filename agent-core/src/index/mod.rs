//! The embedded change index (fjall, an LSM key-value store in one directory).
//!
//! Keyspaces and key layouts (all integers big-endian so byte order = numeric order):
//! - `rows`: `table_no u32 | pk (memcomparable, see [`keys`]) | seq u64 | ordinal u32` →
//!   `op u8 | schema_version varint | [before row] | [after row]` (rows per [`codec`]); one entry per
//!   row change, so a PK's history is one contiguous key range.
//! - `txns`: `server_id u32 | seq u64` → [`TxnRecord`] (JSON): visible/commit time, GTID, position.
//! - `time`: `server_id u32 | visible_us (sign-flipped i64) | seq u64` → empty: time → seq seeks.
//! - `meta`: checkpoints, table numbers and schema versions (JSON values).
//!
//! A capture batch (row changes of whole transactions, their txn/time records, and the new
//! checkpoint) is one atomic, fsynced write batch: after a crash the index ends exactly at a
//! checkpoint, so capture resumes with nothing lost and nothing twice.

pub mod codec;
pub mod keys;

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, RwLock};

use agent_api::Value;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

use crate::schema::TableSchema;

/// Index failures.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The storage engine failed (I/O, corruption).
    #[error("index storage: {0}")]
    Storage(#[from] fjall::Error),
    /// A stored record does not decode.
    #[error("index record corrupt: {0}")]
    Corrupt(String),
}

/// Kind of a row change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// A new row (after image only).
    Insert = 1,
    /// A changed row (before and after image).
    Update = 2,
    /// A removed row (before image only).
    Delete = 3,
}

/// One row change of a captured transaction, ready to store.
#[derive(Debug, Clone)]
pub struct RowChange {
    /// Internal table number.
    pub table_no: u32,
    /// Schema version the images are encoded with.
    pub schema_version: u32,
    /// Insert, update or delete.
    pub kind: ChangeKind,
    /// Memcomparable PK of the row.
    pub pk: Vec<u8>,
    /// Image before the change (update, delete).
    pub before: Option<Vec<Value>>,
    /// Image after the change (insert, update).
    pub after: Option<Vec<Value>>,
}

/// What the index remembers of each transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnRecord {
    /// Running maximum of commit times, µs since the epoch (DESIGN.md "Time semantics").
    pub visible_us: i64,
    /// The transaction's own commit time, µs since the epoch.
    pub commit_us: i64,
    /// GTID (`domain-server-seq` on MariaDB, `uuid:n` on MySQL), when the source has them.
    pub gtid: Option<String>,
    /// Binlog file of the commit event.
    pub binlog_file: String,
    /// Position after the commit event.
    pub binlog_pos: u64,
    /// Row changes in the transaction.
    pub rows: u32,
}

/// A committed transaction with its changes.
#[derive(Debug, Clone)]
pub struct CommittedTxn {
    /// Sequence number, strictly increasing per source.
    pub seq: u64,
    /// Times and position.
    pub record: TxnRecord,
    /// Row changes in binlog order.
    pub changes: Vec<RowChange>,
}

/// Where capture stands: written atomically with the data it covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Binlog file to resume from.
    pub binlog_file: String,
    /// Position in it, just after the last captured transaction.
    pub binlog_pos: u64,
    /// GTID position at that point (MariaDB `gtid_binlog_pos` form), if known.
    pub gtid: Option<String>,
    /// Last assigned seq (0 = none yet).
    pub seq: u64,
    /// Visible time of that transaction, µs.
    pub visible_us: i64,
    /// Start of the captured history, µs: the first binlog event's time.
    pub history_start_us: i64,
}

/// A stored row change as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChange {
    /// Sequence number of its transaction.
    pub seq: u64,
    /// Insert, update or delete.
    pub kind: ChangeKind,
    /// Schema version of the images.
    pub schema_version: u32,
    /// Image before.
    pub before: Option<Vec<Value>>,
    /// Image after.
    pub after: Option<Vec<Value>>,
}

/// A table's identity and schema versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// Internal table number (key prefix in `rows`).
    pub table_no: u32,
    /// Versions in order; index = version number; each with the first seq it applies to.
    pub versions: Vec<(u64, Arc<TableSchema>)>,
}

impl TableEntry {
    /// The schema version in force at `seq` (the newest whose first seq ≤ `seq`, else the oldest).
    pub fn version_at(&self, seq: u64) -> (u32, &Arc<TableSchema>) {
        let idx = self
            .versions
            .iter()
            .rposition(|(from, _)| *from <= seq)
            .unwrap_or(0);
        (idx as u32, &self.versions[idx].1)
    }
}

type TableKey = (u32, String, String);

/// The change index.
pub struct Index {
    db: Database,
    rows: Keyspace,
    txns: Keyspace,
    time: Keyspace,
    meta: Keyspace,
    tables: RwLock<HashMap<TableKey, TableEntry>>,
}

impl Index {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        let db = Database::builder(dir).cache_size(64 << 20).open()?;
        let rows = db.keyspace("rows", KeyspaceCreateOptions::default)?;
        let txns = db.keyspace("txns", KeyspaceCreateOptions::default)?;
        let time = db.keyspace("time", KeyspaceCreateOptions::default)?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default)?;
        let index = Self {
            db,
            rows,
            txns,
            time,
            meta,
            tables: RwLock::new(HashMap::new()),
        };
        index.load_tables()?;
        Ok(index)
    }

    fn load_tables(&self) -> Result<(), IndexError> {
        let mut map = HashMap::new();
        for kv in self.meta.prefix("table/") {
            let (key, value) = kv.into_inner()?;
            let entry: TableEntry =
                serde_json::from_slice(&value).map_err(|e| IndexError::Corrupt(e.to_string()))?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.splitn(4, '/').skip(1);
            let (Some(sid), Some(schema), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(IndexError::Corrupt(format!("bad table key {key}")));
            };
            let sid = sid.parse().map_err(|_| IndexError::Corrupt(key.clone()))?;
            map.insert((sid, schema.to_owned(), name.to_owned()), entry);
        }
        *self.tables.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// The checkpoint of `server_id`, if capture ever committed one.
    pub fn checkpoint(&self, server_id: u32) -> Result<Option<Checkpoint>, IndexError> {
        let Some(bytes) = self.meta.get(format!("checkpoint/{server_id}"))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| IndexError::Corrupt(e.to_string()))
    }

    /// Registers `schema` for a table at `seq` and returns `(table_no, version)`; a schema equal to
    /// the newest version reuses it. New versions are written (durably) before any row uses them.
    pub fn resolve_table(
        &self,
        server_id: u32,
        schema: &TableSchema,
        seq: u64,
    ) -> Result<(u32, u32), IndexError> {
        let key = (server_id, schema.schema.clone(), schema.name.clone());
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = tables.get(&key) {
            if let Some((_, newest)) = entry.versions.last() {
                if **newest == *schema {
                    return Ok((entry.table_no, entry.versions.len() as u32 - 1));
                }
            }
        }
        let table_no = match tables.get(&key) {
            Some(e) => e.table_no,
            None => tables.values().map(|e| e.table_no + 1).max().unwrap_or(1),
        };
        let entry = tables.entry(key).or_insert_with(|| TableEntry {
            table_no,
            versions: Vec::new(),
        });
        entry.versions.push((seq, Arc::new(schema.clone())));
        let json = serde_json::to_vec(&*entry).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        batch.insert(
            &self.meta,
            format!("table/{server_id}/{}/{}", schema.schema, schema.name),
            json,
        );
        batch.commit()?;
        Ok((entry.table_no, entry.versions.len() as u32 - 1))
    }

    /// The table entry of `schema.name` on `server_id`.
    pub fn table(&self, server_id: u32, schema: &str, name: &str) -> Option<TableEntry> {
        let tables = self.tables.read().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = tables.get(&(server_id, schema.to_owned(), name.to_owned())) {
            return Some(e.clone());
        }
        // MySQL table names are case-insensitive on most installs (lower_case_table_names).
        tables
            .iter()
            .find(|((sid, s, n), _)| {
                *sid == server_id && s.eq_ignore_ascii_case(schema) && n.eq_ignore_ascii_case(name)
            })
            .map(|(_, e)| e.clone())
    }

    /// All tables of `server_id` (optionally one schema) with their newest schema version.
    pub fn tables(&self, server_id: u32, schema: Option<&str>) -> Vec<Arc<TableSchema>> {
        let tables = self.tables.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = tables
            .iter()
            .filter(|((sid, s, _), _)| {
                *sid == server_id && schema.is_none_or(|want| want.eq_ignore_ascii_case(s))
            })
            .filter_map(|(_, e)| e.versions.last().map(|(_, s)| s.clone()))
            .collect();
        out.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        out
    }

    /// Writes transactions and the checkpoint after them in one atomic, fsynced batch.
    pub fn commit(
        &self,
        server_id: u32,
        txns: &[CommittedTxn],
        checkpoint: &Checkpoint,
    ) -> Result<(), IndexError> {
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        let mut value = Vec::with_capacity(512);
        for txn in txns {
            for (ordinal, change) in txn.changes.iter().enumerate() {
                let mut key = Vec::with_capacity(4 + change.pk.len() + 12);
                key.extend_from_slice(&change.table_no.to_be_bytes());
                key.extend_from_slice(&change.pk);
                key.extend_from_slice(&txn.seq.to_be_bytes());
                key.extend_from_slice(&(ordinal as u32).to_be_bytes());
                value.clear();
                value.push(change.kind as u8);
                codec::put_varint(&mut value, u64::from(change.schema_version));
                if let Some(before) = &change.before {
                    codec::encode_row(&mut value, before);
                }
                if let Some(after) = &change.after {
                    codec::encode_row(&mut value, after);
                }
                batch.insert(&self.rows, key, value.as_slice());
            }
            let record =
                serde_json::to_vec(&txn.record).map_err(|e| IndexError::Corrupt(e.to_string()))?;
            batch.insert(&self.txns, txn_key(server_id, txn.seq), record);
            batch.insert(
                &self.time,
                time_key(server_id, txn.record.visible_us, txn.seq),
                [],
            );
        }
        let cp = serde_json::to_vec(checkpoint).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        batch.insert(&self.meta, format!("checkpoint/{server_id}"), cp);
        batch.commit()?;
        Ok(())
    }

    /// The last seq whose visible time ≤ `as_of_us` (0 when none).
    pub fn seq_at(&self, server_id: u32, as_of_us: i64) -> Result<u64, IndexError> {
        let lo = time_key(server_id, i64::MIN, 0);
        let hi = time_key(server_id, as_of_us, u64::MAX);
        match self.time.range(lo..=hi).next_back() {
            None => Ok(0),
            Some(kv) => {
                let key = kv.key()?;
                Ok(be_u64(&key[key.len() - 8..]))
            }
        }
    }

    /// The transaction record of `seq`.
    pub fn txn(&self, server_id: u32, seq: u64) -> Result<Option<TxnRecord>, IndexError> {
        let Some(bytes) = self.txns.get(txn_key(server_id, seq))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| IndexError::Corrupt(e.to_string()))
    }

    /// The newest change of one PK with seq ≤ `seq_max`, and the oldest one after it.
    pub fn key_history_around(
        &self,
        table_no: u32,
        pk: &[u8],
        seq_max: u64,
    ) -> Result<(Option<StoredChange>, Option<StoredChange>), IndexError> {
        let mut prefix = Vec::with_capacity(4 + pk.len() + 12);
        prefix.extend_from_slice(&table_no.to_be_bytes());
        prefix.extend_from_slice(pk);
        let mut split = prefix.clone();
        split.extend_from_slice(&seq_max.to_be_bytes());
        split.extend_from_slice(&u32::MAX.to_be_bytes());
        let before = match self
            .rows
            .range(prefix.as_slice()..=split.as_slice())
            .next_back()
        {
            Some(kv) => Some(decode_change(kv.into_inner()?)?),
            None => None,
        };
        let mut end = prefix.clone();
        end.extend_from_slice(&[0xFF; 12]);
        let range = (
            Bound::Excluded(split.as_slice()),
            Bound::Included(end.as_slice()),
        );
        let after = match self.rows.range::<&[u8], _>(range).next() {
            Some(kv) => Some(decode_change(kv.into_inner()?)?),
            None => None,
        };
        Ok((before, after))
    }

    /// Every distinct PK of `table_no` whose encoding lies in `[lower, upper]` (prefix-inclusive;
    /// `None` = unbounded), with its newest change at or before `seq_max` and oldest after it.
    /// Calls `f(pk, before, after)` in PK order; stops when `f` returns false.
    pub fn scan_keys(
        &self,
        table_no: u32,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        seq_max: u64,
        mut f: impl FnMut(&[u8], Option<StoredChange>, Option<StoredChange>) -> bool,
    ) -> Result<(), IndexError> {
        let mut start = table_no.to_be_bytes().to_vec();
        start.extend_from_slice(lower.unwrap_or_default());
        let mut end = table_no.to_be_bytes().to_vec();
        match upper {
            Some(u) => {
                end.extend_from_slice(u);
                end.extend_from_slice(&[0xFF; 16]);
            }
            None => end = (table_no + 1).to_be_bytes().to_vec(),
        }
        let mut current: Option<Vec<u8>> = None;
        let (mut at, mut after): (Option<StoredChange>, Option<StoredChange>) = (None, None);
        for kv in self.rows.range(start.as_slice()..end.as_slice()) {
            let (key, value) = kv.into_inner()?;
            if key.len() < 16 {
                return Err(IndexError::Corrupt("short row key".into()));
            }
            let pk = &key[4..key.len() - 12];
            if current.as_deref() != Some(pk) {
                if let Some(prev) = current.take() {
                    if !f(&prev, at.take(), after.take()) {
                        return Ok(());
                    }
                }
                current = Some(pk.to_vec());
            }
            let seq = be_u64(&key[key.len() - 12..key.len() - 4]);
            if seq <= seq_max {
                at = Some(decode_value(seq, &value)?);
            } else if after.is_none() {
                after = Some(decode_value(seq, &value)?);
            }
        }
        if let Some(prev) = current {
            f(&prev, at, after);
        }
        Ok(())
    }

    /// Bytes on disk (all keyspaces and the journal).
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

fn txn_key(server_id: u32, seq: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&server_id.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn time_key(server_id: u32, us: i64, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..4].copy_from_slice(&server_id.to_be_bytes());
    k[4..12].copy_from_slice(&((us as u64) ^ (1 << 63)).to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn be_u64(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .fold(0, |acc, x| (acc << 8) | u64::from(*x))
}

fn decode_change(
    (key, value): (fjall::UserKey, fjall::UserValue),
) -> Result<StoredChange, IndexError> {
    if key.len() < 16 {
        return Err(IndexError::Corrupt("short row key".into()));
    }
    decode_value(be_u64(&key[key.len() - 12..key.len() - 4]), &value)
}

fn decode_value(seq: u64, value: &[u8]) -> Result<StoredChange, IndexError> {
    let corrupt = |e: codec::CorruptRow| IndexError::Corrupt(e.to_string());
    let kind = match value.first() {
        Some(1) => ChangeKind::Insert,
        Some(2) => ChangeKind::Update,
        Some(3) => ChangeKind::Delete,
        _ => return Err(IndexError::Corrupt("bad change kind".into())),
    };
    let mut pos = 1;
    let mut version = 0u64;
    for shift in (0..35).step_by(7) {
        let b = *value
            .get(pos)
            .ok_or_else(|| IndexError::Corrupt("truncated change".into()))?;
        pos += 1;
        version |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            break;
        }
    }
    let mut next_row = || -> Result<Vec<Value>, IndexError> {
        let (row, used) = codec::decode_row(&value[pos..]).map_err(corrupt)?;
        pos += used;
        Ok(row)
    };
    let (before, after) = match kind {
        ChangeKind::Insert => (None, Some(next_row()?)),
        ChangeKind::Update => (Some(next_row()?), Some(next_row()?)),
        ChangeKind::Delete => (Some(next_row()?), None),
    };
    Ok(StoredChange {
        seq,
        kind,
        schema_version: version as u32,
        before,
        after,
    })
}
