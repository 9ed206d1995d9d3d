//! `agent-core import-binlogs`: binlog files a server wrote, decoded by the capture path itself
//! ([`Assembler`]) and committed into the index as the source's history.
//!
//! Identity and order follow live capture:
//! - Files are read in the order of their numeric suffix (`mysql-bin.000041` before `.000042`).
//! - A transaction with a GTID that the source's tracked GTID set already holds is skipped
//!   (matched, not duplicated); one without a GTID is skipped when it ends at or before the
//!   checkpoint's file/position. Re-importing the same files therefore changes nothing.
//! - Imported transactions get the next seqs after the checkpoint and the checkpoint moves with
//!   them (atomically, batch by batch), so live capture resumes after them.
//! - A hole is recorded as a [`Gap`], never bridged: a file whose PREVIOUS_GTIDS names GTIDs the
//!   index does not hold, or (files without GTIDs) a file that does not continue the one before
//!   it or the checkpoint.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use mysql_common::binlog::events::{GtidEvent, PreviousGtidsEvent};

use super::assembler::{event_type, AssembleError, Assembler, Step};
use super::file::{BinlogFileReader, FileError};
use super::gtid::GtidSet;
use super::schema_file::SchemaColumns;
use crate::config::SourceConfig;
use crate::index::{Checkpoint, CommittedTxn, Gap, Index, IndexError};
use crate::schema::Collations;

/// Committed transactions are written in batches of about this many row changes.
const BATCH_ROWS: usize = 10_000;

/// Why an import stopped. Everything committed before the error stays (with its checkpoint).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read or framed.
    #[error(transparent)]
    File(#[from] FileError),
    /// An event could not be decoded into exact rows.
    #[error("{file}: {source}")]
    Assemble {
        /// File name.
        file: String,
        /// The decoder's error.
        source: AssembleError,
    },
    /// Index failures.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Listing the directory failed or the selection is empty.
    #[error("{0}")]
    Selection(String),
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    /// Files read.
    pub files: Vec<String>,
    /// Events read, by raw type code (events inside TRANSACTION_PAYLOADs counted as well).
    pub events: BTreeMap<u8, u64>,
    /// Transactions written with a new seq.
    pub imported: u64,
    /// Transactions already in the index (by GTID or position), skipped.
    pub skipped: u64,
    /// Row changes written.
    pub rows: u64,
    /// Gaps recorded by this import.
    pub gaps: Vec<Gap>,
    /// The checkpoint after the import.
    pub checkpoint: Checkpoint,
}

/// The binlog files of `dir` (names `<base>.<digits>`, the index file and anything else left
/// out), in numeric order, limited to `from..=to` (file names).
pub fn list_dir(
    dir: &Path,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<(String, PathBuf)>, ImportError> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| ImportError::Selection(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<(String, PathBuf)> = read
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| file_number(name).is_some())
        .collect();
    files.sort_by_key(|(name, _)| file_number(name));
    let number = |n: &str| {
        file_number(n).ok_or_else(|| ImportError::Selection(format!("{n}: not a binlog file name")))
    };
    let from = from.map(number).transpose()?;
    let to = to.map(number).transpose()?;
    files.retain(|(name, _)| {
        let n = file_number(name);
        from.as_ref().is_none_or(|f| n.as_ref() >= Some(f))
            && to.as_ref().is_none_or(|t| n.as_ref() <= Some(t))
    });
    if files.is_empty() {
        return Err(ImportError::Selection(format!(
            "{}: no binlog files (<name>.<number>) in the selection",
            dir.display()
        )));
    }
    let mut bases: Vec<String> = files
        .iter()
        .filter_map(|(n, _)| file_number(n).map(|f| f.0))
        .collect();
    bases.dedup();
    if bases.len() > 1 {
        return Err(ImportError::Selection(format!(
            "{}: binlogs of several series ({}): one directory per server",
            dir.display(),
            bases.join(", ")
        )));
    }
    Ok(files)
}

/// `(base, number)` of `mysql-bin.000042`.
pub fn file_number(name: &str) -> Option<(String, u64)> {
    let (base, digits) = name.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || base.is_empty() {
        return None;
    }
    Some((base.to_owned(), digits.parse().ok()?))
}

/// Imports `files` (name, path) in the given order for `source` into `index`. `on_txn` sees
/// every transaction as it is written (tests, progress).
pub fn import_files(
    index: &Index,
    source: &SourceConfig,
    collations: Collations,
    files: &[(String, PathBuf)],
    on_txn: &mut dyn FnMut(&CommittedTxn),
) -> Result<ImportReport, ImportError> {
    import_files_with_schema(
        index,
        source,
        collations,
        files,
        &SchemaColumns::new(),
        on_txn,
    )
}

/// [`import_files`] with the columns of tables whose TABLE_MAPs lack optional metadata (a
/// `--schema-file`, [`super::schema_file`]): they name the columns, give the PK and tell
/// UNSIGNED integers from signed ones, as `information_schema` does for live capture. A table
/// mapped without signedness that has integer columns and is not in `schema` stops the import
/// ([`AssembleError::NoSignedness`]): never a wrong sign.
pub fn import_files_with_schema(
    index: &Index,
    source: &SourceConfig,
    collations: Collations,
    files: &[(String, PathBuf)],
    schema: &SchemaColumns,
    on_txn: &mut dyn FnMut(&CommittedTxn),
) -> Result<ImportReport, ImportError> {
    let start = index.checkpoint(source.server_id)?;
    let had_history = start.as_ref().is_some_and(|c| c.seq > 0);
    let start = start.unwrap_or(Checkpoint {
        binlog_pos: 4,
        ..Checkpoint::default()
    });
    let mut report = ImportReport::default();
    let mut asm = Assembler::new(source.clone(), collations, start.clone());
    let mut written = start.clone();
    // The previous file read (name, whether it ended in a ROTATE naming the next).
    let mut previous: Option<(String, Option<String>)> = None;
    for (name, path) in files {
        let f = std::fs::File::open(path).map_err(|source| FileError::Io {
            file: name.clone(),
            source,
        })?;
        let reader = BinlogFileReader::new(BufReader::new(f), name.clone())?;
        report.files.push(name.clone());
        let mut state = FileState::default();
        for item in reader {
            let fe = item?;
            let code = fe.event.header().event_type_raw();
            *report.events.entry(code).or_default() += 1;
            if code == event_type::TRANSACTION_PAYLOAD {
                if let Ok(inner) = super::assembler::payload_events(&fe.event) {
                    for e in &inner {
                        *report
                            .events
                            .entry(e.header().event_type_raw())
                            .or_default() += 1;
                    }
                }
            }
            let err = |source| ImportError::Assemble {
                file: name.clone(),
                source,
            };
            match code {
                event_type::FORMAT_DESCRIPTION | event_type::ROTATE | 3 /* STOP */ => {
                    if code == event_type::ROTATE {
                        if let Ok(re) = fe
                            .event
                            .read_event::<mysql_common::binlog::events::RotateEvent<'_>>()
                        {
                            state.rotates_to =
                                Some(String::from_utf8_lossy(re.name_raw()).into_owned());
                        }
                    }
                    continue;
                }
                event_type::MYSQL_PREVIOUS_GTIDS => {
                    let pg: PreviousGtidsEvent<'_> = fe
                        .event
                        .read_event()
                        .map_err(|e| FileError::Parse {
                            file: name.clone(),
                            offset: fe.start,
                            event_type: code,
                            source: e,
                        })?;
                    let mut prev = GtidSet::default();
                    for sid in pg.sids() {
                        let tag = sid.tag().map(|t| t.as_str()).unwrap_or("");
                        for i in sid.intervals() {
                            prev.add_tagged_interval(sid.uuid(), tag, i.start(), i.end());
                        }
                    }
                    state.has_gtids = !prev.is_empty();
                    let known = asm.mysql_gtid_set().clone();
                    if (had_history || report.imported > 0) && prev.has_hole_against(&known) {
                        record_gap(
                            &mut asm,
                            &mut report,
                            format!(
                                "{name} starts after GTIDs {prev}, the index holds {known}: the binlogs between were not imported"
                            ),
                        );
                    }
                    asm.add_mysql_gtids(&prev);
                    continue;
                }
                _ => {}
            }
            // Transaction identity: a GTID event decides for its whole transaction.
            if matches!(code, event_type::MYSQL_GTID | event_type::MYSQL_GTID_TAGGED) {
                state.has_gtids = true;
                let ge: GtidEvent = fe.event.read_event().map_err(|e| FileError::Parse {
                    file: name.clone(),
                    offset: fe.start,
                    event_type: code,
                    source: e,
                })?;
                let tag = ge.tag().map(|t| t.as_str().to_owned()).unwrap_or_default();
                state.skipping = asm.mysql_gtid_set().contains(ge.sid(), &tag, ge.gno());
            } else if code == event_type::MYSQL_ANONYMOUS_GTID
                || (!state.has_gtids && !state.in_txn)
            {
                state.skipping = at_or_before(name, fe.end, &written);
            }
            let ends = ends_txn(&fe.event);
            state.in_txn = !ends;
            if state.skipping {
                if ends {
                    report.skipped += 1;
                }
                continue;
            }
            if !state.applying {
                // First event applied from this file: check it continues what the index holds.
                state.applying = true;
                if !state.has_gtids && (had_history || report.imported > 0) {
                    let continues = match &previous {
                        Some((prev, rotates_to)) => {
                            rotates_to.as_deref() == Some(name.as_str())
                                || next_number(prev).as_deref() == Some(name.as_str())
                        }
                        None => written.binlog_file == *name,
                    } || (written.binlog_file == *name);
                    if !continues {
                        record_gap(
                            &mut asm,
                            &mut report,
                            format!(
                                "{name} does not continue {}:{}: the binlogs between were not imported",
                                written.binlog_file, written.binlog_pos
                            ),
                        );
                    }
                }
                if asm.checkpoint.binlog_file != *name {
                    asm.checkpoint.binlog_file = name.clone();
                    asm.checkpoint.binlog_pos = fe.start;
                }
            }
            supply_columns(&mut asm, &fe.event, schema);
            let step = asm.on_event_at(&fe.event, fe.end, index).map_err(err)?;
            if step == Step::Committed && asm.pending_rows() >= BATCH_ROWS {
                flush(
                    index,
                    source.server_id,
                    &mut asm,
                    &mut written,
                    &mut report,
                    on_txn,
                )?;
            }
        }
        flush(
            index,
            source.server_id,
            &mut asm,
            &mut written,
            &mut report,
            on_txn,
        )?;
        previous = Some((name.clone(), state.rotates_to));
    }
    flush(
        index,
        source.server_id,
        &mut asm,
        &mut written,
        &mut report,
        on_txn,
    )?;
    report.checkpoint = written;
    Ok(report)
}

/// Gives the assembler the schema file's columns for a TABLE_MAP (also one inside a
/// TRANSACTION_PAYLOAD) that lacks names or signedness.
fn supply_columns(
    asm: &mut Assembler,
    event: &mysql_common::binlog::events::Event,
    schema: &SchemaColumns,
) {
    if schema.is_empty() {
        return;
    }
    let inner;
    let events = if event.header().event_type_raw() == event_type::TRANSACTION_PAYLOAD {
        inner = super::assembler::payload_events(event).unwrap_or_default();
        inner.iter().collect::<Vec<_>>()
    } else {
        vec![event]
    };
    for e in events {
        if let Some(key) = asm.needs_information_schema(e) {
            if let Some(columns) = schema.get(&key) {
                asm.set_information_schema(key, columns.clone());
            }
        }
    }
}

#[derive(Default)]
struct FileState {
    has_gtids: bool,
    skipping: bool,
    applying: bool,
    in_txn: bool,
    rotates_to: Option<String>,
}

fn flush(
    index: &Index,
    server_id: u32,
    asm: &mut Assembler,
    written: &mut Checkpoint,
    report: &mut ImportReport,
    on_txn: &mut dyn FnMut(&CommittedTxn),
) -> Result<(), ImportError> {
    let txns = asm.take_committed();
    if txns.is_empty() && asm.checkpoint == *written {
        return Ok(());
    }
    index.commit(server_id, &txns, &asm.checkpoint, true)?;
    for t in &txns {
        report.imported += 1;
        report.rows += u64::from(t.record.rows);
        on_txn(t);
    }
    *written = asm.checkpoint.clone();
    Ok(())
}

fn record_gap(asm: &mut Assembler, report: &mut ImportReport, description: String) {
    let gap = Gap {
        after_seq: asm.checkpoint.seq,
        from_us: asm.checkpoint.visible_us,
        until_us: None,
        description,
    };
    tracing::warn!(description = %gap.description, "import: recording a gap in history");
    asm.checkpoint.gaps.push(gap.clone());
    report.gaps.push(gap);
}

/// True when an event ends a transaction (XID, COMMIT/ROLLBACK, a DDL or a compressed payload).
fn ends_txn(event: &mysql_common::binlog::events::Event) -> bool {
    match event.header().event_type_raw() {
        event_type::XID | event_type::TRANSACTION_PAYLOAD => true,
        event_type::QUERY => event
            .read_event::<mysql_common::binlog::events::QueryEvent<'_>>()
            .map(|q| {
                let sql = q.query();
                let verb = sql.split_whitespace().next().unwrap_or("");
                !verb.eq_ignore_ascii_case("BEGIN") && !verb.eq_ignore_ascii_case("XA")
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// True when `(file, end)` lies at or before the checkpoint's position.
fn at_or_before(file: &str, end: u64, cp: &Checkpoint) -> bool {
    if cp.binlog_file.is_empty() || cp.seq == 0 {
        return false;
    }
    match (file_number(file), file_number(&cp.binlog_file)) {
        (Some(a), Some(b)) if a.0 == b.0 => (a.1, end) <= (b.1, cp.binlog_pos),
        _ => false,
    }
}

/// `mysql-bin.000043` after `mysql-bin.000042` (same width).
fn next_number(name: &str) -> Option<String> {
    let (base, digits) = name.rsplit_once('.')?;
    let n: u64 = digits.parse().ok()?;
    Some(format!("{base}.{:0width$}", n + 1, width = digits.len()))
}
