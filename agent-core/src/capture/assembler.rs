//! Binlog events → committed transactions with seq and visible time.
//!
//! Event grouping (MySQL "Replication event sequences", MariaDB "GTID" docs): a transaction starts
//! with a GTID event (MariaDB type 162, MySQL 33/34) or `BEGIN`, holds TABLE_MAP + rows events and
//! ends with XID (16) or a `COMMIT` query; a DDL is a GTID event flagged standalone followed by one
//! QUERY event. The commit event's header time (s) is the commit time unless the MySQL GTID event
//! carried `immediate_commit_timestamp` (µs).

use std::collections::HashMap;
use std::sync::Arc;

use agent_api::Value;
use mysql_common::binlog::events::{
    Event, GtidEvent, PreviousGtidsEvent, QueryEvent, RotateEvent, RowsEventData, TableMapEvent,
};

use super::ddl::{self, TableOp};
use super::gtid::{uuid_text, GtidSet};
use super::rows::RowImageReader;
use super::table_map::{schema_from_table_map, Flavor};
use crate::config::SourceConfig;
use crate::index::{keys, ChangeKind, Checkpoint, CommittedTxn, Index, RowChange, TxnRecord};
use crate::schema::{
    apply_information_schema, apply_special_types, Collations, InformationSchemaColumn, TableSchema,
};

/// Raw event type codes we act on (MySQL `binlog_event.h`, MariaDB `log_event.h`).
pub mod event_type {
    #![allow(missing_docs)]
    pub const QUERY: u8 = 2;
    pub const ROTATE: u8 = 4;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const TABLE_MAP: u8 = 19;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const HEARTBEAT: u8 = 27;
    pub const WRITE_ROWS: u8 = 30;
    pub const UPDATE_ROWS: u8 = 31;
    pub const DELETE_ROWS: u8 = 32;
    pub const MYSQL_GTID: u8 = 33;
    pub const MYSQL_ANONYMOUS_GTID: u8 = 34;
    pub const MYSQL_PREVIOUS_GTIDS: u8 = 35;
    pub const ROWS_QUERY: u8 = 29;
    pub const PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const HEARTBEAT_V2: u8 = 41;
    pub const MYSQL_GTID_TAGGED: u8 = 42;
    pub const MARIADB_GTID: u8 = 162;
    pub const MARIADB_GTID_LIST: u8 = 163;
}

/// MariaDB GTID event flag: the group is a single statement without BEGIN/COMMIT (DDL).
const FL_STANDALONE: u8 = 1;
/// MariaDB GTID event flag: a commit id follows.
const FL_GROUP_COMMIT_ID: u8 = 2;

/// Capture failures inside the event stream.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// An event did not parse.
    #[error("cannot parse {what} event at {file}:{pos}: {source}")]
    Parse {
        /// Event kind.
        what: &'static str,
        /// Binlog file.
        file: String,
        /// Event end position.
        pos: u64,
        /// The parse error.
        source: std::io::Error,
    },
    /// A rows event for a table without a preceding TABLE_MAP.
    #[error("rows event for unknown table id {0}")]
    UnknownTableId(u64),
    /// Table map or row image problems.
    #[error(transparent)]
    TableMap(#[from] super::table_map::TableMapError),
    /// Row image problems.
    #[error(transparent)]
    Row(#[from] super::rows::RowDecodeError),
    /// Index failures.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// A TABLE_MAP without signedness (no optional metadata) of a table with integer columns,
    /// and no `information_schema` columns for it (an import without `--schema-file`): an
    /// UNSIGNED value could not be told from a negative one.
    #[error("table {0}: the binlog carries no signedness for its integer columns (no TABLE_MAP optional metadata: MySQL before 8.0.1, binlog_row_metadata unset, or MariaDB NO_LOG) and no information_schema columns are known for it, so an UNSIGNED value cannot be told from a negative one; import these files with --schema-file (docs/import-binlogs.md)")]
    NoSignedness(String),
    /// An event this decoder cannot turn into exact row images.
    #[error("{what} at {file}:{pos}: {why}")]
    Unsupported {
        /// Event kind.
        what: &'static str,
        /// Binlog file.
        file: String,
        /// Event end position.
        pos: u64,
        /// What is missing.
        why: String,
    },
}

/// A table as mapped by the current TABLE_MAP event for its table id.
struct MappedTable {
    raw: Vec<u8>,
    target: Option<(u32, u32, Arc<TableSchema>)>,
}

#[derive(Default)]
struct OpenTxn {
    gtid: Option<String>,
    immediate_commit_us: Option<i64>,
    standalone: bool,
    /// MySQL GTID `(uuid, tag, gno)` of the transaction (tag empty when untagged).
    mysql_gtid: Option<([u8; 16], String, u64)>,
    /// An explicit `BEGIN` was seen: statements until COMMIT/XID belong to this transaction.
    begun: bool,
    changes: Vec<RowChange>,
    table_ops: Vec<TableOp>,
    /// Rows already written ahead of the commit ([`Index::stage`]), with their keys for a rollback.
    staged: StagedKeys,
}

/// Keys of staged rows, packed (`table_no u32 | pk length u16 | pk`), about 15 bytes a row.
#[derive(Default)]
pub struct StagedKeys {
    bytes: Vec<u8>,
    count: usize,
}

impl StagedKeys {
    fn push(&mut self, table_no: u32, pk: &[u8]) {
        self.bytes.extend_from_slice(&table_no.to_be_bytes());
        self.bytes
            .extend_from_slice(&(pk.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(pk);
        self.count += 1;
    }

    /// Number of staged rows.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing was staged.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `(table_no, pk)` in staging order (= ordinal order).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        let mut rest = self.bytes.as_slice();
        std::iter::from_fn(move || {
            let table_no = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
            let len = usize::from(u16::from_be_bytes(rest.get(4..6)?.try_into().ok()?));
            let pk = rest.get(6..6 + len)?;
            rest = &rest[6 + len..];
            Some((table_no, pk))
        })
    }
}

/// Open-transaction row changes kept in memory before they are staged into the index.
const STAGE_ROWS: usize = 10_000;

/// What an event meant for the caller.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do.
    Continue,
    /// A transaction committed (it is in [`Assembler::take_committed`]).
    Committed,
    /// The source is idle and we have everything it logged.
    Heartbeat,
}

/// Turns the event stream of one source into [`CommittedTxn`]s.
pub struct Assembler {
    server_id: u32,
    source: SourceConfig,
    collations: Collations,
    tables: HashMap<u64, MappedTable>,
    txn: Option<OpenTxn>,
    committed: Vec<CommittedTxn>,
    /// Checkpoint after the last event that ended a transaction (whether captured or filtered).
    pub checkpoint: Checkpoint,
    gtid_domains: HashMap<u32, String>,
    /// MySQL: every GTID up to the checkpoint (from PREVIOUS_GTIDS plus each transaction).
    mysql_gtids: GtidSet,
    /// Lowest visible time the next transaction may get (complete-until already announced + 1 µs).
    pub visible_floor_us: i64,
    /// A FORMAT_DESCRIPTION event was seen on this stream.
    seen_fde: bool,
    /// `information_schema` columns per `(schema, table)` for sources without full row metadata.
    information_schema: HashMap<(String, String), Vec<InformationSchemaColumn>>,
    /// The source checksums events (`@@binlog_checksum` is not NONE).
    source_checksums: bool,
}

impl Assembler {
    /// Starts after `checkpoint`.
    pub fn new(source: SourceConfig, collations: Collations, checkpoint: Checkpoint) -> Self {
        let mysql_gtids = checkpoint
            .gtid
            .as_deref()
            .filter(|g| g.contains(':'))
            .and_then(GtidSet::parse)
            .unwrap_or_default();
        let gtid_domains = checkpoint
            .gtid
            .iter()
            .filter(|g| !g.contains(':'))
            .flat_map(|g| g.split(','))
            .filter_map(|g| {
                Some((
                    g.split('-').next()?.trim().parse().ok()?,
                    g.trim().to_owned(),
                ))
            })
            .collect();
        Self {
            server_id: source.server_id,
            source,
            collations,
            tables: HashMap::new(),
            txn: None,
            committed: Vec::new(),
            checkpoint,
            gtid_domains,
            mysql_gtids,
            visible_floor_us: i64::MIN,
            seen_fde: false,
            information_schema: HashMap::new(),
            source_checksums: true,
        }
    }

    /// Tells whether the source appends a CRC32 to events (`@@global.binlog_checksum`).
    pub fn with_source_checksums(mut self, on: bool) -> Self {
        self.source_checksums = on;
        self
    }

    /// For a TABLE_MAP of a captured table that lacks column names (no `binlog_row_metadata=FULL`)
    /// and whose `information_schema` columns are not known yet: its `(schema, table)`.
    pub fn needs_information_schema(&self, event: &Event) -> Option<(String, String)> {
        if event.header().event_type_raw() != event_type::TABLE_MAP
            || self
                .tables
                .values()
                .any(|m| m.raw.as_slice() == event.data())
        {
            return None;
        }
        let tme: TableMapEvent<'_> = event.read_event().ok()?;
        let key = (
            tme.database_name().into_owned(),
            tme.table_name().into_owned(),
        );
        if !self.source.captures(&key.0, &key.1) || self.information_schema.contains_key(&key) {
            return None;
        }
        let has_names = tme.iter_optional_meta().any(|f| {
            matches!(
                f,
                Ok(mysql_common::binlog::events::OptionalMetadataField::ColumnName(_))
            )
        });
        // MariaDB's UUID/INET4/INET6 look like BINARY(16)/BINARY(4) in a TABLE_MAP.
        let flavor = Flavor::from_server_version(&event.fde().server_version());
        let may_be_special = schema_from_table_map(&tme, &self.collations, flavor)
            .map(|s| s.columns.iter().any(|c| c.decode.may_be_special()))
            .unwrap_or(false);
        (!has_names || may_be_special).then_some(key)
    }

    /// Supplies the `information_schema` columns of a table (see [`Self::needs_information_schema`]).
    pub fn set_information_schema(
        &mut self,
        key: (String, String),
        columns: Vec<InformationSchemaColumn>,
    ) {
        self.information_schema.insert(key, columns);
    }

    /// MySQL: every GTID up to the checkpoint (PREVIOUS_GTIDS plus each transaction seen).
    pub fn mysql_gtid_set(&self) -> &GtidSet {
        &self.mysql_gtids
    }

    /// Adds GTIDs to the tracked set (a file's PREVIOUS_GTIDS, a recorded gap) and to the
    /// checkpoint, so a resume by GTID set does not ask for them again.
    pub fn add_mysql_gtids(&mut self, set: &GtidSet) {
        if set.is_empty() {
            return;
        }
        self.mysql_gtids.extend(set);
        self.checkpoint.gtid = Some(self.mysql_gtids.to_string());
    }

    /// Committed transactions not yet taken.
    pub fn take_committed(&mut self) -> Vec<CommittedTxn> {
        std::mem::take(&mut self.committed)
    }

    /// Row changes waiting in committed transactions.
    pub fn pending_rows(&self) -> usize {
        self.committed.iter().map(|t| t.changes.len()).sum()
    }

    /// Feeds one event.
    pub fn on_event(&mut self, event: &Event, index: &Index) -> Result<Step, AssembleError> {
        self.on_event_at(event, u64::from(event.header().log_pos()), index)
    }

    /// Feeds one event whose end position in the binlog is `pos` (a file reader knows it even
    /// where the header's `log_pos` is not an offset in the file).
    pub fn on_event_at(
        &mut self,
        event: &Event,
        pos: u64,
        index: &Index,
    ) -> Result<Step, AssembleError> {
        let header = event.header();
        let parse_err = |what, source| AssembleError::Parse {
            what,
            file: self.checkpoint.binlog_file.clone(),
            pos,
            source,
        };
        if header.timestamp() > 0 {
            let ts_us = i64::from(header.timestamp()) * 1_000_000;
            if self.checkpoint.history_start_us == 0 {
                self.checkpoint.history_start_us = ts_us;
            }
            if let Some(gap) = self
                .checkpoint
                .gaps
                .last_mut()
                .filter(|g| g.until_us.is_none())
            {
                gap.until_us = Some(ts_us);
            }
        }
        match header.event_type_raw() {
            event_type::ROTATE => {
                let re: RotateEvent<'_> = event.read_event().map_err(|e| parse_err("ROTATE", e))?;
                self.checkpoint.binlog_file =
                    rotate_file_name(re.name_raw(), self.seen_fde, self.source_checksums);
                if self.txn.is_none() {
                    self.checkpoint.binlog_pos = re.position();
                }
            }
            event_type::MARIADB_GTID => {
                let (gtid, flags) = mariadb_gtid(event.data(), header.server_id())
                    .ok_or_else(|| parse_err("GTID", std::io::ErrorKind::UnexpectedEof.into()))?;
                self.begin(Some(gtid), None, flags & FL_STANDALONE != 0);
            }
            event_type::MYSQL_GTID
            | event_type::MYSQL_ANONYMOUS_GTID
            | event_type::MYSQL_GTID_TAGGED => {
                let ge: GtidEvent = event.read_event().map_err(|e| parse_err("GTID", e))?;
                let mysql_gtid = (header.event_type_raw() != event_type::MYSQL_ANONYMOUS_GTID)
                    .then(|| {
                        let tag = ge.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
                        (ge.sid(), tag, ge.gno())
                    });
                let ts = Some(ge.immediate_commit_timestamp())
                    .filter(|t| *t > 0)
                    .map(|t| t as i64);
                self.begin(
                    mysql_gtid.as_ref().map(|(sid, tag, gno)| {
                        if tag.is_empty() {
                            format!("{}:{gno}", uuid_text(sid))
                        } else {
                            format!("{}:{tag}:{gno}", uuid_text(sid))
                        }
                    }),
                    ts,
                    false,
                );
                if let Some(txn) = self.txn.as_mut() {
                    txn.mysql_gtid = mysql_gtid;
                }
            }
            event_type::MYSQL_PREVIOUS_GTIDS if self.mysql_gtids.is_empty() => {
                let pg: PreviousGtidsEvent<'_> = event
                    .read_event()
                    .map_err(|e| parse_err("PREVIOUS_GTIDS", e))?;
                for sid in pg.sids() {
                    let tag = sid.tag().map(|t| t.as_str()).unwrap_or("");
                    for interval in sid.intervals() {
                        self.mysql_gtids.add_tagged_interval(
                            sid.uuid(),
                            tag,
                            interval.start(),
                            interval.end(),
                        );
                    }
                }
            }
            event_type::QUERY => {
                let qe: QueryEvent<'_> = event.read_event().map_err(|e| parse_err("QUERY", e))?;
                return Ok(self.on_query(
                    &qe.query(),
                    &qe.schema(),
                    header.timestamp(),
                    pos,
                    index,
                ));
            }
            event_type::TABLE_MAP => {
                let tme: TableMapEvent<'_> =
                    event.read_event().map_err(|e| parse_err("TABLE_MAP", e))?;
                let flavor = Flavor::from_server_version(&event.fde().server_version());
                self.on_table_map(&tme, event.data(), flavor, index)?;
            }
            event_type::WRITE_ROWS_V1
            | event_type::UPDATE_ROWS_V1
            | event_type::DELETE_ROWS_V1
            | event_type::WRITE_ROWS
            | event_type::UPDATE_ROWS
            | event_type::DELETE_ROWS => {
                let Some(mysql_common::binlog::events::EventData::RowsEvent(rows)) =
                    event.read_data().map_err(|e| parse_err("ROWS", e))?
                else {
                    return Ok(Step::Continue);
                };
                self.on_rows(&rows, index)?;
            }
            event_type::PARTIAL_UPDATE_ROWS => {
                let rows: mysql_common::binlog::events::PartialUpdateRowsEvent<'_> = event
                    .read_event()
                    .map_err(|e| parse_err("PARTIAL_UPDATE_ROWS", e))?;
                self.on_partial_update(&rows, index)?;
            }
            event_type::TRANSACTION_PAYLOAD => {
                let mut step = Step::Continue;
                for inner in
                    payload_events(event).map_err(|e| parse_err("TRANSACTION_PAYLOAD", e))?
                {
                    if self.on_event_at(&inner, pos, index)? == Step::Committed {
                        step = Step::Committed;
                    }
                }
                return Ok(step);
            }
            event_type::XID => return Ok(self.commit(header.timestamp(), pos, index)),
            event_type::HEARTBEAT | event_type::HEARTBEAT_V2 => return Ok(Step::Heartbeat),
            event_type::FORMAT_DESCRIPTION => self.seen_fde = true,
            _ => {}
        }
        Ok(Step::Continue)
    }

    fn begin(&mut self, gtid: Option<String>, immediate_commit_us: Option<i64>, standalone: bool) {
        self.txn = Some(OpenTxn {
            gtid,
            immediate_commit_us,
            standalone,
            ..OpenTxn::default()
        });
    }

    fn on_query(&mut self, sql: &str, schema: &str, ts: u32, pos: u64, index: &Index) -> Step {
        let verb = sql
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "BEGIN" | "XA" => {
                if self.txn.is_none() {
                    self.begin(None, None, false);
                }
                if let Some(t) = self.txn.as_mut() {
                    t.begun = true;
                }
            }
            "COMMIT" => return self.commit(ts, pos, index),
            "ROLLBACK" => {
                if let Some(txn) = self.txn.take() {
                    if !txn.staged.is_empty() {
                        if let Err(e) = index.unstage(self.checkpoint.seq + 1, txn.staged.iter()) {
                            tracing::error!(error = %e, "cannot remove staged rows of a rolled-back transaction");
                        }
                    }
                }
                self.checkpoint.binlog_pos = pos;
            }
            _ => {
                // A DDL (or other standalone statement): its own transaction. Table maps after it
                // are rebuilt, so later rows decode with the new definition.
                self.tables.clear();
                self.information_schema.clear();
                let ops = ddl::table_ops(sql, schema);
                let standalone = self.txn.as_ref().is_none_or(|t| t.standalone || !t.begun);
                if self.txn.is_none() {
                    self.begin(None, None, true);
                }
                if let Some(txn) = self.txn.as_mut() {
                    txn.table_ops
                        .extend(ops.into_iter().filter(|op| self.source.captures_op(op)));
                }
                if standalone {
                    return self.commit(ts, pos, index);
                }
            }
        }
        Step::Continue
    }

    fn on_table_map(
        &mut self,
        tme: &TableMapEvent<'_>,
        raw: &[u8],
        flavor: Flavor,
        index: &Index,
    ) -> Result<(), AssembleError> {
        if self
            .tables
            .get(&tme.table_id())
            .is_some_and(|m| m.raw == raw)
        {
            return Ok(());
        }
        let (schema, table) = (tme.database_name(), tme.table_name());
        let target = if self.source.captures(&schema, &table) {
            let mut ts = schema_from_table_map(tme, &self.collations, flavor)?;
            if let Some(cols) = self
                .information_schema
                .get(&(schema.to_string(), table.to_string()))
            {
                if ts.columns.iter().any(|c| c.info.name.starts_with('@')) {
                    apply_information_schema(&mut ts, cols, &self.collations);
                }
                apply_special_types(&mut ts, cols);
            }
            let unnamed_int = ts.columns.iter().any(|c| {
                c.info.name.starts_with('@')
                    && matches!(c.decode, crate::schema::Decode::Int { .. })
            });
            if unnamed_int && !super::table_map::has_signedness(tme) {
                return Err(AssembleError::NoSignedness(format!("`{schema}`.`{table}`")));
            }
            let next_seq = self.checkpoint.seq + 1;
            let (table_no, version) = index.resolve_table(self.server_id, &ts, next_seq)?;
            Some((table_no, version, Arc::new(ts)))
        } else {
            None
        };
        self.tables.insert(
            tme.table_id(),
            MappedTable {
                raw: raw.to_vec(),
                target,
            },
        );
        Ok(())
    }

    fn on_rows(&mut self, rows: &RowsEventData<'_>, index: &Index) -> Result<(), AssembleError> {
        let mapped = self
            .tables
            .get(&rows.table_id())
            .ok_or(AssembleError::UnknownTableId(rows.table_id()))?;
        let Some((table_no, version, schema)) = &mapped.target else {
            return Ok(());
        };
        let txn = self.txn.get_or_insert_with(OpenTxn::default);
        let before_cols = rows.columns_before_image();
        let after_cols = rows.columns_after_image();
        let mut reader = RowImageReader::new(rows.rows_data());
        let cols = &schema.columns;
        while !reader.is_empty() {
            let (kind, before, after) = match rows {
                RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => (
                    ChangeKind::Insert,
                    None,
                    Some(reader.next_image(cols, present(after_cols))?),
                ),
                RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => (
                    ChangeKind::Delete,
                    Some(reader.next_image(cols, present(before_cols))?),
                    None,
                ),
                _ => {
                    let b = reader.next_image(cols, present(before_cols))?;
                    let a = reader.next_image(cols, present(after_cols))?;
                    (ChangeKind::Update, Some(b), Some(a))
                }
            };
            push_change(txn, *table_no, *version, schema, kind, before, after);
        }
        if txn.changes.len() >= STAGE_ROWS {
            let seq = self.checkpoint.seq + 1;
            index.stage(seq, txn.staged.len() as u32, &txn.changes)?;
            for c in txn.changes.drain(..) {
                txn.staged.push(c.table_no, &c.pk);
            }
        }
        Ok(())
    }

    /// PARTIAL_UPDATE_ROWS: before image as usual, after image with JSON diffs applied to the
    /// before document ([`RowImageReader::next_partial_after_image`]).
    fn on_partial_update(
        &mut self,
        rows: &mysql_common::binlog::events::PartialUpdateRowsEvent<'_>,
        index: &Index,
    ) -> Result<(), AssembleError> {
        let mapped = self
            .tables
            .get(&rows.table_id())
            .ok_or(AssembleError::UnknownTableId(rows.table_id()))?;
        let Some((table_no, version, schema)) = &mapped.target else {
            return Ok(());
        };
        let txn = self.txn.get_or_insert_with(OpenTxn::default);
        let before_cols = Some(rows.columns_before_image());
        let after_cols = Some(rows.columns_after_image());
        let mut reader = RowImageReader::new(rows.rows_data());
        let cols = &schema.columns;
        while !reader.is_empty() {
            let b = reader.next_image(cols, present(before_cols))?;
            let a = reader.next_partial_after_image(cols, present(after_cols), &b)?;
            push_change(
                txn,
                *table_no,
                *version,
                schema,
                ChangeKind::Update,
                Some(b),
                Some(a),
            );
        }
        if txn.changes.len() >= STAGE_ROWS {
            let seq = self.checkpoint.seq + 1;
            index.stage(seq, txn.staged.len() as u32, &txn.changes)?;
            for c in txn.changes.drain(..) {
                txn.staged.push(c.table_no, &c.pk);
            }
        }
        Ok(())
    }

    fn commit(&mut self, ts: u32, pos: u64, index: &Index) -> Step {
        let Some(txn) = self.txn.take() else {
            self.checkpoint.binlog_pos = pos;
            return Step::Continue;
        };
        self.checkpoint.binlog_pos = pos;
        if let Some((uuid, tag, gno)) = &txn.mysql_gtid {
            self.mysql_gtids.add_tagged(*uuid, tag, *gno);
            self.checkpoint.gtid = Some(self.mysql_gtids.to_string());
        } else if let Some(g) = &txn.gtid {
            if let Some(domain) = g.split('-').next().and_then(|d| d.parse::<u32>().ok()) {
                self.gtid_domains.insert(domain, g.clone());
                let mut all: Vec<_> = self.gtid_domains.iter().collect();
                all.sort();
                self.checkpoint.gtid = Some(
                    all.into_iter()
                        .map(|(_, g)| g.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                );
            } else {
                self.checkpoint.gtid = Some(g.clone());
            }
        }
        if txn.changes.is_empty() && txn.table_ops.is_empty() && txn.staged.is_empty() {
            return Step::Continue;
        }
        let commit_us = txn.immediate_commit_us.unwrap_or(i64::from(ts) * 1_000_000);
        let visible_us = commit_us
            .max(self.checkpoint.visible_us)
            .max(self.visible_floor_us);
        self.checkpoint.seq += 1;
        self.checkpoint.visible_us = visible_us;
        let clears = txn
            .table_ops
            .iter()
            .filter_map(|op| index.apply_table_op(self.server_id, op, self.checkpoint.seq))
            .collect();
        self.committed.push(CommittedTxn {
            seq: self.checkpoint.seq,
            record: TxnRecord {
                visible_us,
                commit_us,
                gtid: txn.gtid,
                binlog_file: self.checkpoint.binlog_file.clone(),
                binlog_pos: pos,
                rows: (txn.staged.len() + txn.changes.len()) as u32,
            },
            ordinal_base: txn.staged.len() as u32,
            changes: txn.changes,
            clears,
        });
        Step::Committed
    }
}

/// The events inside a TRANSACTION_PAYLOAD (MySQL 8.0.20+ `binlog_transaction_compression`):
/// the payload (zstd or uncompressed) is a run of ordinary events without checksums (WL#3549),
/// one whole transaction. Framed here so a corrupt payload is an error, never a panic; the
/// uncompressed size is capped at [`super::file::MAX_EVENT_SIZE`].
pub fn payload_events(event: &Event) -> std::io::Result<Vec<Event>> {
    use mysql_common::binlog::events::TransactionPayloadEvent;
    use std::io::Read;
    let tpe: TransactionPayloadEvent<'_> = event.read_event()?;
    let limit = u64::from(super::file::MAX_EVENT_SIZE);
    if tpe.uncompressed_size() > limit {
        return Err(std::io::Error::other(format!(
            "uncompressed payload of {} bytes exceeds {limit}",
            tpe.uncompressed_size()
        )));
    }
    let mut bytes = Vec::new();
    tpe.decompressed()?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other("uncompressed payload too large"));
    }
    let mut fde = event.fde().clone();
    let mut footer = event.fde().footer();
    footer.set_checksum_enabled(false);
    fde = fde.with_footer(footer);
    let mut events = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let size = rest
            .get(9..13)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .filter(|&n| n >= 19 && n <= rest.len())
            .ok_or_else(|| std::io::Error::other("event cut short inside the payload"))?;
        let inner = Event::read(&fde, &rest[..size])?;
        if inner.header().event_type_raw() == event_type::TRANSACTION_PAYLOAD {
            return Err(std::io::Error::other("a payload nested in a payload"));
        }
        events.push(inner);
        rest = &rest[size..];
    }
    Ok(events)
}

/// Whether column `i` is in a rows event's column bitmap (absent bitmap = all columns).
fn present(bits: Option<&bitvec::slice::BitSlice<u8>>) -> impl Fn(usize) -> bool + '_ {
    move |i: usize| bits.is_none_or(|b| b.get(i).is_some_and(|x| *x))
}

/// Appends a change; an UPDATE that changes the PK becomes a DELETE of the old key plus an INSERT
/// of the new one.
fn push_change(
    txn: &mut OpenTxn,
    table_no: u32,
    schema_version: u32,
    schema: &TableSchema,
    kind: ChangeKind,
    before: Option<Vec<Value>>,
    after: Option<Vec<Value>>,
) {
    let pk_of = |row: &Vec<Value>| row_key(schema, row);
    let change = |kind, pk, before, after| RowChange {
        table_no,
        schema_version,
        kind,
        pk,
        before,
        after,
    };
    match (kind, before, after) {
        (ChangeKind::Update, Some(b), Some(a)) => {
            let (old, new) = (pk_of(&b), pk_of(&a));
            if old == new {
                txn.changes
                    .push(change(ChangeKind::Update, new, Some(b), Some(a)));
            } else {
                txn.changes
                    .push(change(ChangeKind::Delete, old, Some(b), None));
                txn.changes
                    .push(change(ChangeKind::Insert, new, None, Some(a)));
            }
        }
        (kind, before, after) => {
            let pk = after
                .as_ref()
                .or(before.as_ref())
                .map(pk_of)
                .unwrap_or_default();
            txn.changes.push(change(kind, pk, before, after));
        }
    }
}

/// Longest whole-row key of a table without a PK kept as it is; a longer one is cut to this many
/// bytes followed by the SHA-256 of the whole encoding (fjall keys are limited to 64 KiB, and a
/// TEXT or BLOB row can be far longer).
pub const BAG_KEY_BYTES: usize = 4096;

/// The memcomparable key of a row: its PK columns, or every column for a table without a PK (its
/// identity is the whole image; `reconstruct::bag` tells identical rows apart from rows sharing a
/// key by their images).
///
/// A whole-row key longer than [`BAG_KEY_BYTES`] is cut and completed with a hash, so every key
/// has a bounded length while identical images still share a key, and keys stay prefix-free (a
/// complete encoding is never a prefix of another; cut keys all have one length).
pub fn row_key(schema: &TableSchema, row: &[Value]) -> Vec<u8> {
    if schema.pk.is_empty() {
        let values: Vec<&Value> = row.iter().collect();
        let cols: Vec<_> = schema.columns.iter().collect();
        let mut key = keys::encode_key(&values, &cols);
        if key.len() > BAG_KEY_BYTES {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(&key);
            key.truncate(BAG_KEY_BYTES);
            key.extend_from_slice(&digest);
        }
        return key;
    }
    let values: Vec<&Value> = schema.pk.iter().filter_map(|&i| row.get(i)).collect();
    let cols: Vec<_> = schema.pk.iter().map(|&i| &schema.columns[i]).collect();
    keys::encode_key(&values, &cols)
}

/// The file name of a ROTATE event. The fake ROTATE that opens a stream arrives before any
/// FORMAT_DESCRIPTION, so the reader cannot know to drop its 4-byte CRC32: drop it here.
fn rotate_file_name(name: &[u8], seen_fde: bool, checksums: bool) -> String {
    let name = if !seen_fde && checksums && name.len() > 4 {
        &name[..name.len() - 4]
    } else {
        name
    };
    String::from_utf8_lossy(name).into_owned()
}

/// MariaDB GTID event body: `seq_no u64 LE | domain_id u32 LE | flags u8 | [commit_id u64]`.
/// Returns `domain-server-seq` and the flags.
pub fn mariadb_gtid(data: &[u8], server_id: u32) -> Option<(String, u8)> {
    let seq = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
    let domain = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
    let flags = *data.get(12)?;
    if flags & FL_GROUP_COMMIT_ID != 0 && data.len() < 21 {
        return None;
    }
    Some((format!("{domain}-{server_id}-{seq}"), flags))
}

/// MariaDB GTID_LIST event body: `count u32 LE` (low 28 bits) then `domain u32 | server u32 | seq u64`
/// per entry; returns the `domain-server-seq` list.
pub fn mariadb_gtid_list(data: &[u8]) -> Option<Vec<String>> {
    let count = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?) & 0x0FFF_FFFF;
    (0..count as usize)
        .map(|i| {
            let e = data.get(4 + i * 16..4 + (i + 1) * 16)?;
            let domain = u32::from_le_bytes(e[0..4].try_into().ok()?);
            let server = u32::from_le_bytes(e[4..8].try_into().ok()?);
            let seq = u64::from_le_bytes(e[8..16].try_into().ok()?);
            Some(format!("{domain}-{server}-{seq}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::binlog::{consts::BinlogVersion, EventStreamReader};
    use mysql_common::proto::MySerialize;

    /// A v4 event (19-byte header, no checksum) as the stream reader would hand it over.
    fn event(type_code: u8, ts: u32, log_pos: u32, data: &[u8]) -> Event {
        let mut bytes = ts.to_le_bytes().to_vec();
        bytes.push(type_code);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&((19 + data.len()) as u32).to_le_bytes());
        bytes.extend_from_slice(&log_pos.to_le_bytes());
        bytes.extend_from_slice(&0u16.to_le_bytes());
        bytes.extend_from_slice(data);
        EventStreamReader::new(BinlogVersion::Version4)
            .read(&bytes[..])
            .unwrap()
            .unwrap()
    }

    fn query(sql: &str, schema: &str) -> Vec<u8> {
        let mut data = Vec::new();
        QueryEvent::new(Vec::new(), schema.as_bytes().to_vec())
            .with_query(sql.as_bytes().to_vec())
            .serialize(&mut data);
        data
    }

    fn source() -> SourceConfig {
        let yaml =
            "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@h:3306\n";
        crate::config::Config::parse(yaml)
            .unwrap()
            .sources
            .remove(0)
    }

    #[test]
    fn mysql_gtid_ddl_uses_immediate_commit_timestamp_and_tracks_the_gtid_set() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let cp = Checkpoint {
            binlog_file: "binlog.000007".into(),
            binlog_pos: 4,
            ..Checkpoint::default()
        };
        let mut asm = Assembler::new(source(), Collations::builtin(), cp);
        let uuid = [
            0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42,
            0x95, 0x62,
        ];
        let commit_us: u64 = 1_777_281_119_123_456;
        let mut gtid = Vec::new();
        GtidEvent::new(uuid, 42)
            .with_lc_typecode()
            .with_immediate_commit_timestamp(commit_us)
            .serialize(&mut gtid);
        assert_eq!(
            asm.on_event(
                &event(event_type::MYSQL_GTID, 1_777_281_100, 300, &gtid),
                &index
            )
            .unwrap(),
            Step::Continue
        );
        let ddl = event(
            event_type::QUERY,
            1_777_281_100,
            400,
            &query("CREATE TABLE t (id INT PRIMARY KEY)", "shop"),
        );
        assert_eq!(asm.on_event(&ddl, &index).unwrap(), Step::Committed);
        let txns = asm.take_committed();
        assert_eq!(txns.len(), 1);
        assert_eq!(
            txns[0].record.commit_us, commit_us as i64,
            "µs commit time from the GTID event, not the header's seconds"
        );
        assert_eq!(
            txns[0].record.gtid.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:42")
        );
        assert_eq!(
            asm.checkpoint.gtid.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:42")
        );
        assert_eq!((asm.checkpoint.binlog_pos, asm.checkpoint.seq), (400, 1));
        // A later transaction without changes still advances the GTID set and the position.
        let mut gtid = Vec::new();
        GtidEvent::new(uuid, 43).serialize(&mut gtid);
        asm.on_event(
            &event(event_type::MYSQL_GTID, 1_777_281_101, 500, &gtid),
            &index,
        )
        .unwrap();
        asm.on_event(
            &event(
                event_type::QUERY,
                1_777_281_101,
                600,
                &query("BEGIN", "shop"),
            ),
            &index,
        )
        .unwrap();
        asm.on_event(
            &event(event_type::XID, 1_777_281_101, 700, &7u64.to_le_bytes()),
            &index,
        )
        .unwrap();
        assert_eq!(
            asm.checkpoint.gtid.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:42-43")
        );
        assert_eq!((asm.checkpoint.binlog_pos, asm.checkpoint.seq), (700, 1));
    }

    #[test]
    fn visible_time_is_a_running_maximum_never_below_the_announced_floor() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let mut asm = Assembler::new(source(), Collations::builtin(), Checkpoint::default());
        let create = |ts| {
            event(
                event_type::QUERY,
                ts,
                100,
                &query("CREATE TABLE a (id INT PRIMARY KEY)", "shop"),
            )
        };
        asm.on_event(&create(1_000), &index).unwrap();
        asm.on_event(&create(900), &index).unwrap();
        asm.visible_floor_us = 5_000_000_000;
        asm.on_event(&create(950), &index).unwrap();
        let t = asm.take_committed();
        let visible: Vec<i64> = t.iter().map(|t| t.record.visible_us).collect();
        assert_eq!(visible, vec![1_000_000_000, 1_000_000_000, 5_000_000_000]);
        assert_eq!(
            t[1].record.commit_us, 900_000_000,
            "commit time itself is kept"
        );
    }

    #[test]
    fn parses_mariadb_gtid_events() {
        let mut body = 42u64.to_le_bytes().to_vec();
        body.extend_from_slice(&0u32.to_le_bytes());
        body.push(FL_STANDALONE);
        assert_eq!(
            mariadb_gtid(&body, 1),
            Some(("0-1-42".into(), FL_STANDALONE))
        );
        body[12] = FL_GROUP_COMMIT_ID;
        assert_eq!(mariadb_gtid(&body, 1), None, "commit id missing");
        let mut list = 2u32.to_le_bytes().to_vec();
        for (d, s, n) in [(0u32, 1u32, 7u64), (1, 2, 9)] {
            list.extend_from_slice(&d.to_le_bytes());
            list.extend_from_slice(&s.to_le_bytes());
            list.extend_from_slice(&n.to_le_bytes());
        }
        assert_eq!(
            mariadb_gtid_list(&list),
            Some(vec!["0-1-7".into(), "1-2-9".into()])
        );
    }
}
