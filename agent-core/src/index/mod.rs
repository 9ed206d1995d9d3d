//! The embedded change index (fjall, an LSM key-value store in one directory).
//!
//! Keyspaces and key layouts (all integers big-endian so byte order = numeric order):
//! - `rows`: `table_no u32 | pk (memcomparable, see [`keys`]) | seq u64 | ordinal u32` →
//!   `op u8 | schema_version varint | image` where the image is the after row (INSERT), the before
//!   row (DELETE), or the after row plus a delta giving the before row (UPDATE); one entry per
//!   row change, so a PK's history is one contiguous key range.
//! - `txns`: `server_id u32 | seq u64` → [`TxnRecord`] (JSON): visible/commit time, GTID, position.
//! - `time`: `server_id u32 | visible_us (sign-flipped i64) | seq u64` → empty: time → seq seeks.
//! - `clears`: `table_no u32 | seq u64` → empty: TRUNCATEs, honoured by reconstruction.
//! - `meta`: checkpoints, and per table name its entries (table number, seq span, schema versions).
//!
//! A capture batch (row changes of whole transactions, their txn/time records, and the new
//! checkpoint) is one atomic, fsynced write batch: after a crash the index ends exactly at a
//! checkpoint, so capture resumes with nothing lost and nothing twice.

pub mod codec;
mod collation_tables;
pub mod keys;

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, RwLock};

use agent_api::Value;
use fjall::config::{BlockSizePolicy, CompressionPolicy, FilterPolicy, RestartIntervalPolicy};
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

use crate::capture::ddl::TableOp;
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
    /// The index was written by a version of agent-core with another on-disk format.
    #[error(
        "index format {found} found, this agent-core reads format {FORMAT_VERSION} only \
         (primary key encoding changed); move the data dir aside and capture again"
    )]
    Format {
        /// The format the index records (1 = indexes from before the format was recorded).
        found: u32,
    },
}

/// On-disk format of the index, recorded under `meta` key `format`: 2 = string primary keys
/// encoded by collation weights with PAD SPACE markers ([`keys`]); 1 (no record) = before.
pub const FORMAT_VERSION: u32 = 2;

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
    /// Row changes in binlog order (those not staged earlier).
    pub changes: Vec<RowChange>,
    /// Ordinal of the first entry of `changes` (rows staged before it took the lower ones).
    pub ordinal_base: u32,
    /// Tables emptied by this transaction (TRUNCATE), by table number.
    pub clears: Vec<u32>,
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
    /// Holes in the captured history (binlogs purged before capture read them).
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

/// A range of the source's history that capture never saw (its binlogs were purged first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Last seq captured before the hole.
    pub after_seq: u64,
    /// Visible time of that seq, µs: the hole starts after it.
    pub from_us: i64,
    /// Time of the first event read after the hole, µs (`None` until capture resumes).
    pub until_us: Option<i64>,
    /// Binlog position where capture stood and where it resumed, for operators.
    pub description: String,
}

impl Gap {
    /// `YYYY-MM-DD HH:MM:SS.ffffff and YYYY-MM-DD ...` for messages.
    pub fn range_text(&self) -> String {
        let until = self
            .until_us
            .map_or_else(|| "now".to_owned(), agent_api::time::format_unix_micros);
        format!(
            "{} UTC and {until} UTC",
            agent_api::time::format_unix_micros(self.from_us)
        )
    }
}

/// A stored row change as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChange {
    /// Sequence number of its transaction.
    pub seq: u64,
    /// Position of the change within its transaction.
    pub ordinal: u32,
    /// Insert, update or delete.
    pub kind: ChangeKind,
    /// Schema version of the images.
    pub schema_version: u32,
    /// Image before.
    pub before: Option<Vec<Value>>,
    /// Image after.
    pub after: Option<Vec<Value>>,
}

/// One table's identity over a span of seqs, with its schema versions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// Internal table number (key prefix in `rows`).
    pub table_no: u32,
    /// First seq the entry applies to (its first TABLE_MAP, or the rename that named it).
    pub from_seq: u64,
    /// Seq of the DROP / RENAME away / CREATE OR REPLACE that ended it under this name.
    #[serde(default)]
    pub until_seq: Option<u64>,
    /// Versions in order; index = version number; each with the first seq it applies to.
    pub versions: Vec<(u64, Arc<TableSchema>)>,
    /// First seq from which the index holds every row of the table: its CREATE or a TRUNCATE was
    /// captured. Whole-table answers need this (or a baseline).
    #[serde(default)]
    pub complete_from_seq: Option<u64>,
    /// `from_seq` is when the table got this name (its CREATE or a RENAME was captured), not just
    /// when capture first saw it: before it, the name did not refer to this table.
    #[serde(default)]
    pub named_exactly: bool,
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

    fn active(&self) -> bool {
        self.until_seq.is_none()
    }
}

type TableKey = (u32, String, String);

/// Upper bound of memtable bytes across keyspaces (64 MiB).
const WRITE_BUFFER_BYTES: u64 = 64 << 20;

/// Upper bound of sealed journal bytes (64 MiB, fjall's minimum; its default is 512 MiB). Past it
/// fjall flushes the keyspaces that still pin the oldest journal (the small `txns`, `time` and
/// `meta` ones rarely fill a memtable), so the data dir stays near the sorted tables' size.
const JOURNAL_BYTES: u64 = 64 << 20;

/// Versions of one key [`Index::key_history_around`] reads forward before it seeks from the split
/// point instead (two seeks, each costing about as much as the forward read of ~8 versions).
const FORWARD_VERSIONS: usize = 8;

/// Name → table entries, with what changed since the last commit of each source.
#[derive(Default)]
struct Registry {
    names: HashMap<TableKey, Vec<TableEntry>>,
    dirty: HashSet<TableKey>,
    next_table_no: u32,
    /// Names whose CREATE was captured but whose first TABLE_MAP has not arrived yet, with the
    /// CREATE's seq.
    created: HashMap<TableKey, u64>,
}

impl Registry {
    fn key(server_id: u32, schema: &str, name: &str) -> TableKey {
        (server_id, schema.to_owned(), name.to_owned())
    }

    /// Finds the entries of a name, case-insensitively when no exact match exists (MySQL table
    /// names are case-insensitive on most installs: `lower_case_table_names`).
    fn lookup(&self, server_id: u32, schema: &str, name: &str) -> Option<&Vec<TableEntry>> {
        self.names
            .get(&Self::key(server_id, schema, name))
            .or_else(|| {
                self.names
                    .iter()
                    .find(|((sid, s, n), _)| {
                        *sid == server_id
                            && s.eq_ignore_ascii_case(schema)
                            && n.eq_ignore_ascii_case(name)
                    })
                    .map(|(_, e)| e)
            })
    }

    fn active_mut(&mut self, key: &TableKey) -> Option<&mut TableEntry> {
        self.names.get_mut(key)?.last_mut().filter(|e| e.active())
    }
}

/// The change index.
pub struct Index {
    db: Database,
    rows: Keyspace,
    txns: Keyspace,
    time: Keyspace,
    clears: Keyspace,
    meta: Keyspace,
    registry: RwLock<Registry>,
    /// Table numbers with a TRUNCATE in `clears` (added before the batch holding it commits), so
    /// the TRUNCATE lookups of every read answer a table never truncated without a range read.
    truncated: RwLock<HashSet<u32>>,
}

impl Index {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        // Bound the memtables waiting to be flushed (writers stall past it) so a large transaction
        // or a fast catch-up cannot grow memory with the data: fjall marks the knob unstable.
        #[allow(deprecated)]
        let db = Database::builder(dir)
            .max_write_buffer_size(Some(WRITE_BUFFER_BYTES))
            .max_journaling_size(JOURNAL_BYTES)
            // One flush/compaction thread. With two, fjall's first worker hands each compaction
            // request back to the queue while the other is busy and spins on it (86% of agent-core
            // instructions in a callgrind profile of the bench), a core lost on small machines.
            .worker_threads(1)
            .cache_size(64 << 20)
            .open()?;
        // Row images compress well (repeated values across versions of a key): LZ4 on every level,
        // not only the deeper ones as fjall's default does. `rows` is only read by range scans
        // (a key's history around a seq, key ranges), which bloom filters do not serve: none are
        // built (they cost 1.3-2.4 B per change).
        let rows = db.keyspace("rows", || {
            KeyspaceCreateOptions::default()
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::Lz4))
                .data_block_size_policy(BlockSizePolicy::all(16 * 1024))
                .filter_policy(FilterPolicy::disabled())
        })?;
        let txns = db.keyspace("txns", KeyspaceCreateOptions::default)?;
        // `time` is read by one reverse seek per query (`seq_at`), which decodes a whole restart
        // interval of keys: 4 instead of 16 (a few bytes per transaction, not per change).
        let time = db.keyspace("time", || {
            KeyspaceCreateOptions::default()
                .data_block_restart_interval_policy(RestartIntervalPolicy::all(4))
        })?;
        let clears = db.keyspace("clears", KeyspaceCreateOptions::default)?;
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default)?;
        let index = Self {
            db,
            rows,
            txns,
            time,
            clears,
            meta,
            registry: RwLock::new(Registry::default()),
            truncated: RwLock::default(),
        };
        index.check_format()?;
        index.load_registry()?;
        index.load_truncated()?;
        Ok(index)
    }

    /// Records [`FORMAT_VERSION`] in a new index; refuses an index of another format (an index
    /// with data but no record is format 1).
    fn check_format(&self) -> Result<(), IndexError> {
        match self.meta.get("format")? {
            Some(v) => {
                let found = <[u8; 4]>::try_from(&*v)
                    .map(u32::from_be_bytes)
                    .map_err(|_| IndexError::Corrupt("format record".into()))?;
                if found != FORMAT_VERSION {
                    return Err(IndexError::Format { found });
                }
            }
            None => {
                if !(self.rows.is_empty()? && self.txns.is_empty()? && self.meta.is_empty()?) {
                    return Err(IndexError::Format { found: 1 });
                }
                self.meta.insert("format", FORMAT_VERSION.to_be_bytes())?;
                self.db.persist(PersistMode::SyncAll)?;
            }
        }
        Ok(())
    }

    /// Fills the set of truncated tables: one seek per table number found in `clears`.
    fn load_truncated(&self) -> Result<(), IndexError> {
        let mut found = HashSet::new();
        let mut from = 0u32;
        while let Some(kv) = self.clears.range(clear_key(from, 0)..).next() {
            let key = kv.key()?;
            let Some(table_no) = key.get(..4).map(|b| be_u64(b) as u32) else {
                return Err(IndexError::Corrupt("short clear key".into()));
            };
            found.insert(table_no);
            match table_no.checked_add(1) {
                Some(next) => from = next,
                None => break,
            }
        }
        *self.truncated.write().unwrap_or_else(|p| p.into_inner()) = found;
        Ok(())
    }

    /// Whether `table_no` has (or is about to have) a TRUNCATE in `clears`.
    fn ever_truncated(&self, table_no: u32) -> bool {
        let truncated = self.truncated.read().unwrap_or_else(|p| p.into_inner());
        truncated.contains(&table_no)
    }

    fn load_registry(&self) -> Result<(), IndexError> {
        let mut reg = Registry::default();
        for kv in self.meta.prefix("table/") {
            let (key, value) = kv.into_inner()?;
            let entries: Vec<TableEntry> = serde_json::from_slice(&value).map_err(corrupt)?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.splitn(4, '/').skip(1);
            let (Some(sid), Some(schema), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(IndexError::Corrupt(format!("bad table key {key}")));
            };
            let sid = sid.parse().map_err(|_| IndexError::Corrupt(key.clone()))?;
            for e in &entries {
                reg.next_table_no = reg.next_table_no.max(e.table_no + 1);
            }
            reg.names
                .insert((sid, schema.to_owned(), name.to_owned()), entries);
        }
        for kv in self.meta.prefix("created/") {
            let (key, value) = kv.into_inner()?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let mut parts = key.splitn(4, '/').skip(1);
            if let (Some(sid), Some(schema), Some(name)) =
                (parts.next(), parts.next(), parts.next())
            {
                let sid = sid.parse().map_err(|_| IndexError::Corrupt(key.clone()))?;
                reg.created
                    .insert((sid, schema.to_owned(), name.to_owned()), be_u64(&value));
            }
        }
        if let Some(v) = self.meta.get("next_table_no")? {
            let stored: u32 = serde_json::from_slice(&v).map_err(corrupt)?;
            reg.next_table_no = reg.next_table_no.max(stored);
        }
        reg.next_table_no = reg.next_table_no.max(1);
        *self.registry.write().unwrap_or_else(|p| p.into_inner()) = reg;
        Ok(())
    }

    /// The checkpoint of `server_id`, if capture ever committed one.
    pub fn checkpoint(&self, server_id: u32) -> Result<Option<Checkpoint>, IndexError> {
        let Some(bytes) = self.meta.get(format!("checkpoint/{server_id}"))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(corrupt)
    }

    /// Registers `schema` for a table at `seq` and returns `(table_no, version)`; a schema equal to
    /// the newest version reuses it, a table with no live entry gets a new table number. The change
    /// is persisted with the next [`Index::commit`] of this source.
    pub fn resolve_table(
        &self,
        server_id: u32,
        schema: &TableSchema,
        seq: u64,
    ) -> Result<(u32, u32), IndexError> {
        let key = Registry::key(server_id, &schema.schema, &schema.name);
        let mut reg = self.registry.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = reg.active_mut(&key) {
            if entry
                .versions
                .last()
                .is_some_and(|(_, newest)| **newest == *schema)
            {
                return Ok((entry.table_no, entry.versions.len() as u32 - 1));
            }
            entry.versions.push((seq, Arc::new(schema.clone())));
            let ids = (entry.table_no, entry.versions.len() as u32 - 1);
            reg.dirty.insert(key);
            return Ok(ids);
        }
        let table_no = reg.next_table_no;
        reg.next_table_no += 1;
        let created = reg.created.remove(&key);
        let entry = TableEntry {
            table_no,
            from_seq: created.unwrap_or(seq),
            until_seq: None,
            versions: vec![(created.unwrap_or(seq), Arc::new(schema.clone()))],
            complete_from_seq: created,
            named_exactly: created.is_some(),
        };
        reg.names.entry(key.clone()).or_default().push(entry);
        reg.dirty.insert(key);
        Ok((table_no, 0))
    }

    /// Applies a DDL table operation at `seq`; returns the table number to clear (TRUNCATE).
    pub fn apply_table_op(&self, server_id: u32, op: &TableOp, seq: u64) -> Option<u32> {
        let mut reg = self.registry.write().unwrap_or_else(|p| p.into_inner());
        match op {
            TableOp::Truncate(n) => {
                let key = Registry::key(server_id, &n.schema, &n.table);
                let e = reg.active_mut(&key)?;
                let table_no = e.table_no;
                if e.complete_from_seq.is_none() {
                    e.complete_from_seq = Some(seq);
                    reg.dirty.insert(key);
                }
                Some(table_no)
            }
            TableOp::Create(n) => {
                let key = Registry::key(server_id, &n.schema, &n.table);
                if reg.active_mut(&key).is_none() {
                    reg.created.insert(key.clone(), seq);
                    reg.dirty.insert(key);
                }
                None
            }
            TableOp::Drop(n) => {
                let key = Registry::key(server_id, &n.schema, &n.table);
                if let Some(e) = reg.active_mut(&key) {
                    e.until_seq = Some(seq);
                    reg.dirty.insert(key);
                }
                None
            }
            TableOp::Rename { from, to } => {
                let from_key = Registry::key(server_id, &from.schema, &from.table);
                let e = reg.active_mut(&from_key)?;
                let mut moved = e.clone();
                e.until_seq = Some(seq);
                let to_key = Registry::key(server_id, &to.schema, &to.table);
                if let Some(old) = reg.active_mut(&to_key) {
                    old.until_seq = Some(seq);
                }
                // The name refers to this table from the rename on: a table is known under one name
                // at a time (a gh-ost/pt-osc swap must show the old table under the old name).
                moved.until_seq = None;
                moved.from_seq = seq;
                moved.named_exactly = true;
                reg.names.entry(to_key.clone()).or_default().push(moved);
                reg.dirty.insert(from_key);
                reg.dirty.insert(to_key);
                None
            }
        }
    }

    /// Every name table number `table_no` of `server_id` has had (RENAMEs move a table's number
    /// to its new name), with the entry giving its seq span under that name.
    pub fn names_of(&self, server_id: u32, table_no: u32) -> Vec<(String, String, TableEntry)> {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        reg.names
            .iter()
            .filter(|((sid, _, _), _)| *sid == server_id)
            .flat_map(|((_, schema, name), entries)| {
                entries
                    .iter()
                    .filter(|e| e.table_no == table_no)
                    .map(move |e| (schema.clone(), name.clone(), e.clone()))
            })
            .collect()
    }

    /// The entry of `schema.name` on `server_id` that covers `seq`: the one whose span contains it,
    /// or, for a seq before capture first saw a table of unknown creation, the first entry.
    pub fn table_at(
        &self,
        server_id: u32,
        schema: &str,
        name: &str,
        seq: u64,
    ) -> Option<TableEntry> {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        let entries = reg.lookup(server_id, schema, name)?;
        entries
            .iter()
            .rev()
            .find(|e| e.from_seq <= seq && e.until_seq.is_none_or(|u| seq < u))
            .or_else(|| {
                entries
                    .first()
                    .filter(|e| seq < e.from_seq && !e.named_exactly)
            })
            .cloned()
    }

    /// Whether `schema.name` was ever captured on `server_id`.
    pub fn knows_table(&self, server_id: u32, schema: &str, name: &str) -> bool {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        reg.lookup(server_id, schema, name).is_some()
    }

    /// Live tables of `server_id` (optionally one schema) with their newest schema version.
    pub fn tables(&self, server_id: u32, schema: Option<&str>) -> Vec<Arc<TableSchema>> {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = reg
            .names
            .iter()
            .filter(|((sid, s, _), _)| {
                *sid == server_id && schema.is_none_or(|want| want.eq_ignore_ascii_case(s))
            })
            .filter_map(|((_, s, n), entries)| {
                let e = entries.last().filter(|e| e.active())?;
                let (_, newest) = e.versions.last()?;
                let mut t = (**newest).clone();
                (t.schema, t.name) = (s.clone(), n.clone());
                Some(Arc::new(t))
            })
            .collect();
        out.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        out
    }

    /// The seq of the first TRUNCATE of `table_no` after `after`, if any.
    pub fn next_clear(&self, table_no: u32, after: u64) -> Result<Option<u64>, IndexError> {
        if !self.ever_truncated(table_no) {
            return Ok(None);
        }
        let lo = clear_key(table_no, after.saturating_add(1));
        let hi = clear_key(table_no, u64::MAX);
        match self.clears.range(lo..=hi).next() {
            Some(kv) => Ok(Some(be_u64(&kv.key()?[4..]))),
            None => Ok(None),
        }
    }

    /// The seq of the last TRUNCATE of `table_no` in `(after, upto]`, if any.
    pub fn last_clear(
        &self,
        table_no: u32,
        after: u64,
        upto: u64,
    ) -> Result<Option<u64>, IndexError> {
        if upto <= after || !self.ever_truncated(table_no) {
            return Ok(None);
        }
        let lo = clear_key(table_no, after.saturating_add(1));
        let hi = clear_key(table_no, upto);
        match self.clears.range(lo..=hi).next_back() {
            Some(kv) => Ok(Some(be_u64(&kv.key()?[4..]))),
            None => Ok(None),
        }
    }

    /// Writes transactions and the checkpoint after them in one atomic batch, handed to the OS
    /// before returning and fsynced when `sync`.
    pub fn commit(
        &self,
        server_id: u32,
        txns: &[CommittedTxn],
        checkpoint: &Checkpoint,
        sync: bool,
    ) -> Result<(), IndexError> {
        let mode = if sync {
            PersistMode::SyncData
        } else {
            PersistMode::Buffer
        };
        let mut batch = self.db.batch().durability(Some(mode));
        let mut value = Vec::with_capacity(512);
        for txn in txns {
            self.put_changes(
                &mut batch,
                txn.seq,
                txn.ordinal_base,
                &txn.changes,
                &mut value,
            );
            for table_no in &txn.clears {
                batch.insert(&self.clears, clear_key(*table_no, txn.seq), []);
            }
            let record = serde_json::to_vec(&txn.record).map_err(corrupt)?;
            batch.insert(&self.txns, txn_key(server_id, txn.seq), record);
            batch.insert(
                &self.time,
                time_key(server_id, txn.record.visible_us, txn.seq),
                [],
            );
        }
        let cp = serde_json::to_vec(checkpoint).map_err(corrupt)?;
        batch.insert(&self.meta, format!("checkpoint/{server_id}"), cp);
        // Known before the TRUNCATEs are readable, so no read skips one.
        if txns.iter().any(|t| !t.clears.is_empty()) {
            let mut truncated = self.truncated.write().unwrap_or_else(|p| p.into_inner());
            truncated.extend(txns.iter().flat_map(|t| t.clears.iter().copied()));
        }
        let mut reg = self.registry.write().unwrap_or_else(|p| p.into_inner());
        let dirty: Vec<TableKey> = reg
            .dirty
            .iter()
            .filter(|k| k.0 == server_id)
            .cloned()
            .collect();
        for key in &dirty {
            let name = format!("{}/{}/{}", key.0, key.1, key.2);
            if let Some(entries) = reg.names.get(key) {
                let json = serde_json::to_vec(entries).map_err(corrupt)?;
                batch.insert(&self.meta, format!("table/{name}"), json);
            }
            match reg.created.get(key) {
                Some(seq) => batch.insert(&self.meta, format!("created/{name}"), seq.to_be_bytes()),
                None => batch.remove(&self.meta, format!("created/{name}")),
            }
        }
        batch.insert(
            &self.meta,
            "next_table_no",
            serde_json::to_vec(&reg.next_table_no).map_err(corrupt)?,
        );
        batch.commit()?;
        for key in dirty {
            reg.dirty.remove(&key);
        }
        Ok(())
    }

    /// Writes part of a large, still open transaction ahead of its commit (bounded memory).
    ///
    /// The rows carry the seq the transaction will get; readers never see them before the commit
    /// writes the transaction's time entry, and a crash before that commit re-captures the same
    /// transaction with the same seq and ordinals, overwriting them.
    pub fn stage(
        &self,
        seq: u64,
        ordinal_base: u32,
        changes: &[RowChange],
    ) -> Result<(), IndexError> {
        let mut batch = self.db.batch();
        let mut value = Vec::with_capacity(512);
        self.put_changes(&mut batch, seq, ordinal_base, changes, &mut value);
        batch.commit()?;
        Ok(())
    }

    /// Removes staged rows of a transaction that was rolled back.
    pub fn unstage<'a>(
        &self,
        seq: u64,
        keys: impl Iterator<Item = (u32, &'a [u8])>,
    ) -> Result<(), IndexError> {
        let mut batch = self.db.batch();
        for (ordinal, (table_no, pk)) in keys.enumerate() {
            batch.remove(&self.rows, row_key(table_no, pk, seq, ordinal as u32));
        }
        batch.commit()?;
        Ok(())
    }

    fn put_changes(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        seq: u64,
        ordinal_base: u32,
        changes: &[RowChange],
        value: &mut Vec<u8>,
    ) {
        for (i, change) in changes.iter().enumerate() {
            let key = row_key(change.table_no, &change.pk, seq, ordinal_base + i as u32);
            value.clear();
            value.push(change.kind as u8);
            codec::put_varint(value, u64::from(change.schema_version));
            match (&change.before, &change.after) {
                (Some(before), Some(after)) => {
                    codec::encode_row(value, after);
                    codec::encode_delta(value, before, after);
                }
                (Some(row), None) | (None, Some(row)) => codec::encode_row(value, row),
                (None, None) => {}
            }
            batch.insert(&self.rows, key, value.as_slice());
        }
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

    /// The newest change of one PK with seq ≤ `seq_max`, and the oldest one after it, with all
    /// their images.
    ///
    /// One forward range over the key's versions answers when at most [`FORWARD_VERSIONS`] of
    /// them lie at or before `seq_max` (every key of a typical table): creating a range and
    /// seeking is most of what a read costs in fjall, and a forward step within a cached block is
    /// cheap. A key with more versions there falls back to a reverse seek from the split point and
    /// a forward one after it, so a hot key never makes a lookup O(versions). Only the two
    /// answers are decoded.
    pub fn key_history_around(
        &self,
        table_no: u32,
        pk: &[u8],
        seq_max: u64,
    ) -> Result<(Option<StoredChange>, Option<StoredChange>), IndexError> {
        let (at, after) = self.raw_around(table_no, pk, seq_max)?;
        Ok((decode_raw(at, true)?, decode_raw(after, true)?))
    }

    /// What the row of one PK is as of `seq_max` needs of [`Self::key_history_around`]: the newest
    /// change with seq ≤ `seq_max` without the before image of an UPDATE (its after image is the
    /// row), and the oldest change after it only when there is none (its before image is the row);
    /// `(Some(change), None)` otherwise. The same read, two fewer row decodes.
    pub fn key_state_around(
        &self,
        table_no: u32,
        pk: &[u8],
        seq_max: u64,
    ) -> Result<(Option<StoredChange>, Option<StoredChange>), IndexError> {
        let (at, after) = self.raw_around(table_no, pk, seq_max)?;
        decode_state(at, after)
    }

    /// The raw changes [`Self::key_history_around`] decodes.
    fn raw_around(
        &self,
        table_no: u32,
        pk: &[u8],
        seq_max: u64,
    ) -> Result<(Option<RawChange>, Option<RawChange>), IndexError> {
        let mut prefix = Vec::with_capacity(4 + pk.len());
        prefix.extend_from_slice(&table_no.to_be_bytes());
        prefix.extend_from_slice(pk);
        // No upper bound: fjall then skips locating the range's end in every table and block it
        // opens; the loop stops at the first key past this PK instead.
        let mut versions = self.rows.range(prefix.as_slice()..);
        let mut at = None;
        for _ in 0..FORWARD_VERSIONS {
            let Some(kv) = versions.next() else {
                return Ok((at, None));
            };
            let (key, value) = kv.into_inner()?;
            if !key.starts_with(&prefix) {
                return Ok((at, None));
            }
            // Only this PK's keys have exactly this length (PK encodings are prefix-free; the
            // check keeps a longer PK sharing the prefix out even if one were not).
            if key.len() != prefix.len() + 12 {
                continue;
            }
            let seq = be_u64(&key[prefix.len()..]);
            if seq > seq_max {
                return Ok((at, Some((seq, value))));
            }
            at = Some((seq, value));
        }
        drop(versions);
        self.raw_split(&prefix, seq_max)
    }

    /// [`Self::raw_around`] for a key with many versions at or before `seq_max`: a reverse seek
    /// ending at the split point, then a forward seek after it.
    fn raw_split(
        &self,
        prefix: &[u8],
        seq_max: u64,
    ) -> Result<(Option<RawChange>, Option<RawChange>), IndexError> {
        let mut split = Vec::with_capacity(prefix.len() + 12);
        split.extend_from_slice(prefix);
        split.extend_from_slice(&seq_max.to_be_bytes());
        split.extend_from_slice(&u32::MAX.to_be_bytes());
        let before = first_of_key(self.rows.range(prefix..=split.as_slice()).rev(), &split)?;
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xFF; 12]);
        let range = (
            Bound::Excluded(split.as_slice()),
            Bound::Included(end.as_slice()),
        );
        let after = first_of_key(self.rows.range::<&[u8], _>(range), &split)?;
        Ok((before, after))
    }

    /// Every distinct PK of `table_no` whose encoding lies in `[lower, upper]` (prefix-inclusive;
    /// `None` = unbounded), with what its state as of `seq_max` needs, as
    /// [`Self::key_state_around`] gives it: the newest change at or before `seq_max` without an
    /// UPDATE's before image, else the oldest change after it. Calls `f(pk, at, after)` in PK
    /// order; stops when `f` returns false.
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
        // The current PK's newest raw change at or before `seq_max` and its oldest after it, kept
        // undecoded until the key ends (only those two of its versions are decoded), and the key
        // it was read from (a cheap handle: no copy per key).
        let mut current: Option<fjall::UserKey> = None;
        let mut at: Option<RawChange> = None;
        let mut after: Option<RawChange> = None;
        for kv in self.rows.range(start.as_slice()..end.as_slice()) {
            let (key, value) = kv.into_inner()?;
            if key.len() < 16 {
                return Err(IndexError::Corrupt("short row key".into()));
            }
            let pk = &key[4..key.len() - 12];
            if current.as_ref().is_none_or(|c| &c[4..c.len() - 12] != pk) {
                if let Some(prev) = current.take() {
                    let (a, b) = decode_state(at.take(), after.take())?;
                    if !f(&prev[4..prev.len() - 12], a, b) {
                        return Ok(());
                    }
                }
                current = Some(key.clone());
            }
            let seq = be_u64(&key[key.len() - 12..key.len() - 4]);
            if seq <= seq_max {
                at = Some((seq, value));
            } else if after.is_none() {
                after = Some((seq, value));
            }
        }
        if let Some(prev) = current {
            let (a, b) = decode_state(at, after)?;
            f(&prev[4..prev.len() - 12], a, b);
        }
        Ok(())
    }

    /// Every change of the keys of `table_no` within `[lower, upper]` (prefix-inclusive, `None` =
    /// unbounded) whose seq lies in `(seq_after, seq_upto]`, in key order, then seq order per key.
    /// Calls `f(pk, change)`; stops when it returns false.
    pub fn changes_between(
        &self,
        table_no: u32,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        seq_after: u64,
        seq_upto: u64,
        mut f: impl FnMut(&[u8], StoredChange) -> bool,
    ) -> Result<(), IndexError> {
        let mut start = table_no.to_be_bytes().to_vec();
        start.extend_from_slice(lower.unwrap_or_default());
        let end = match upper {
            Some(u) => {
                let mut e = table_no.to_be_bytes().to_vec();
                e.extend_from_slice(u);
                e.extend_from_slice(&[0xFF; 16]);
                e
            }
            None => (table_no + 1).to_be_bytes().to_vec(),
        };
        for kv in self.rows.range(start.as_slice()..end.as_slice()) {
            let (key, value) = kv.into_inner()?;
            if key.len() < 16 {
                return Err(IndexError::Corrupt("short row key".into()));
            }
            let seq = be_u64(&key[key.len() - 12..key.len() - 4]);
            if seq <= seq_after || seq > seq_upto {
                continue;
            }
            let pk = &key[4..key.len() - 12];
            let change = decode_change((key.clone(), value))?;
            if !f(pk, change) {
                break;
            }
        }
        Ok(())
    }

    /// Every table entry of `server_id` under every name it had, as `(schema, table, entry)`
    /// (dropped and renamed-away ones included): what archive rotation walks.
    pub fn table_entries(&self, server_id: u32) -> Vec<(String, String, TableEntry)> {
        let reg = self.registry.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = reg
            .names
            .iter()
            .filter(|((sid, _, _), _)| *sid == server_id)
            .flat_map(|((_, s, n), entries)| {
                entries.iter().map(|e| (s.clone(), n.clone(), e.clone()))
            })
            .collect();
        out.sort_by_key(|(_, _, e)| (e.table_no, e.from_seq));
        out
    }

    /// Removes every row change of `table_no` with seq ≤ `seq_upto` (the range archive rotation
    /// has moved to archive files), in fsynced batches; returns how many were removed.
    pub fn drop_changes(&self, table_no: u32, seq_upto: u64) -> Result<u64, IndexError> {
        let start = table_no.to_be_bytes().to_vec();
        let end = (table_no + 1).to_be_bytes().to_vec();
        let mut removed = 0u64;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
        let mut pending = 0usize;
        for kv in self.rows.range(start.as_slice()..end.as_slice()) {
            let key = kv.key()?;
            if key.len() < 16 {
                return Err(IndexError::Corrupt("short row key".into()));
            }
            if be_u64(&key[key.len() - 12..key.len() - 4]) > seq_upto {
                continue;
            }
            batch.remove(&self.rows, key);
            pending += 1;
            if pending == 10_000 {
                batch.commit()?;
                batch = self.db.batch().durability(Some(PersistMode::SyncData));
                removed += pending as u64;
                pending = 0;
            }
        }
        batch.commit()?;
        Ok(removed + pending as u64)
    }

    /// Bytes on disk (all keyspaces and the journal).
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }

    /// Writes every keyspace's memtable to sorted tables and waits for it, so fjall can delete the
    /// sealed journals that held them (called on shutdown: the data dir then holds the index at
    /// about its sorted-table size, and the next start has little journal to replay). Durability
    /// does not depend on it: every committed batch is already in the journal.
    pub fn flush(&self) -> Result<(), IndexError> {
        for keyspace in [&self.rows, &self.txns, &self.time, &self.clears, &self.meta] {
            // Public in fjall 3.1 but hidden from its docs: seals the memtable, queues its flush
            // and returns when no sealed memtable is left.
            keyspace.rotate_memtable_and_wait()?;
        }
        // The worker deletes sealed journals just after the last flush lands: give it a moment
        // (bounded) so a shutdown does not leave them behind.
        for _ in 0..100 {
            if self.db.journal_count() <= 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }
}

/// `table_no u32 | pk | seq u64 | ordinal u32`.
fn row_key(table_no: u32, pk: &[u8], seq: u64, ordinal: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + pk.len() + 12);
    key.extend_from_slice(&table_no.to_be_bytes());
    key.extend_from_slice(pk);
    key.extend_from_slice(&seq.to_be_bytes());
    key.extend_from_slice(&ordinal.to_be_bytes());
    key
}

fn corrupt_row(e: codec::CorruptRow) -> IndexError {
    IndexError::Corrupt(e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> IndexError {
    IndexError::Corrupt(e.to_string())
}

fn clear_key(table_no: u32, seq: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&table_no.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
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

/// A stored change not decoded yet: its seq and the stored value.
type RawChange = (u64, fjall::UserValue);

/// The first entry of `entries` whose key has the length of `like` (`table_no | pk | seq |
/// ordinal` of one PK).
fn first_of_key(
    entries: impl Iterator<Item = fjall::Guard>,
    like: &[u8],
) -> Result<Option<RawChange>, IndexError> {
    for kv in entries {
        let (key, value) = kv.into_inner()?;
        if key.len() == like.len() {
            return Ok(Some((be_u64(&key[key.len() - 12..]), value)));
        }
    }
    Ok(None)
}

/// What a key's state as of a split point needs of its raw changes around it: the newest at or
/// before the split without an UPDATE's before image (its after image is the row; the later change
/// is not needed), else the oldest after it in full (its before image is the row).
fn decode_state(at: Option<RawChange>, after: Option<RawChange>) -> Result<StatePair, IndexError> {
    match at {
        Some(at) => Ok((decode_raw(Some(at), false)?, None)),
        None => Ok((None, decode_raw(after, true)?)),
    }
}

/// A key's change at or before a split point and the one after it.
type StatePair = (Option<StoredChange>, Option<StoredChange>);

/// Decodes a raw change, with the before image of an UPDATE when `before`.
fn decode_raw(raw: Option<RawChange>, before: bool) -> Result<Option<StoredChange>, IndexError> {
    raw.map(|(seq, value)| decode_images(seq, &value, before))
        .transpose()
}

fn decode_value(seq: u64, value: &[u8]) -> Result<StoredChange, IndexError> {
    decode_images(seq, value, true)
}

/// A stored change; the before image of an UPDATE (a delta against its after image) only when
/// `with_before`.
fn decode_images(seq: u64, value: &[u8], with_before: bool) -> Result<StoredChange, IndexError> {
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
    let body = &value[pos..];
    let (before, after) = match kind {
        ChangeKind::Insert => (None, Some(codec::decode_row(body).map_err(corrupt_row)?.0)),
        ChangeKind::Delete => (Some(codec::decode_row(body).map_err(corrupt_row)?.0), None),
        ChangeKind::Update => {
            let (after, used) = codec::decode_row(body).map_err(corrupt_row)?;
            let before = match with_before {
                true => Some(
                    codec::decode_delta(&body[used..], &after)
                        .map_err(corrupt_row)?
                        .0,
                ),
                false => None,
            };
            (before, Some(after))
        }
    };
    Ok(StoredChange {
        seq,
        ordinal: 0,
        kind,
        schema_version: version as u32,
        before,
        after,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod flush_tests {
    use super::*;

    #[test]
    fn flush_moves_memtables_to_sorted_tables_and_keeps_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let cp = Checkpoint {
            binlog_file: "binlog.000001".into(),
            binlog_pos: 300,
            ..Checkpoint::default()
        };
        let txn = CommittedTxn {
            seq: 1,
            record: TxnRecord {
                visible_us: 1_000,
                commit_us: 1_000,
                gtid: None,
                binlog_file: "binlog.000001".into(),
                binlog_pos: 300,
                rows: 0,
            },
            changes: Vec::new(),
            ordinal_base: 0,
            clears: Vec::new(),
        };
        index.commit(1, &[txn], &cp, true).unwrap();
        let tables = |i: &Index| [&i.txns, &i.time, &i.meta].map(|k| k.table_count());
        assert_eq!(tables(&index), [0, 0, 0], "small commits stay in memtables");
        index.flush().unwrap();
        assert_eq!(tables(&index), [1, 1, 1]);
        assert_eq!(
            index.db.journal_count(),
            1,
            "only the active journal is left"
        );
        drop(index);
        let index = Index::open(dir.path()).unwrap();
        assert_eq!(index.checkpoint(1).unwrap(), Some(cp));
        assert_eq!(index.seq_at(1, 1_000).unwrap(), 1);
    }
}
