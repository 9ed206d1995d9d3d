//! Capture: connect to a source as a replica, turn its ROW binlog into committed transactions and
//! write them, with the checkpoint, into the change index.
//!
//! One task per source: pre-flight checks, `COM_REGISTER_SLAVE` + `COM_BINLOG_DUMP` from the
//! checkpoint (or the first binlog), then a loop that batches committed transactions and commits
//! each batch atomically with its checkpoint. Errors are recorded in `/health` and the task
//! reconnects with exponential backoff (1 s doubling to 30 s).

pub mod assembler;
pub mod ddl;
pub mod decimal;
pub mod file;
pub mod gtid;
pub mod import;
pub mod jsondiff;
pub mod rows;
pub mod schema_file;
pub mod state;
pub mod table_map;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::SourceConfig;
use crate::index::{Checkpoint, Gap, Index};
use crate::schema::{Collation, Collations, InformationSchemaColumn};
use assembler::{Assembler, Step};
use state::{now_us, SourceState};

/// Why a capture attempt stopped.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The source is not set up for ROW capture (not retried quickly: an operator must act).
    #[error("source not ready for capture: {0}")]
    Preflight(String),
    /// Network or protocol failure (retried).
    #[error("source connection: {0}")]
    Mysql(#[from] mysql_async::Error),
    /// Stream content problems.
    #[error(transparent)]
    Assemble(#[from] assembler::AssembleError),
    /// Index failures.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// A bug inside capture (a caught panic).
    #[error("internal error: {0}")]
    Internal(String),
    /// The binlog to resume from is gone.
    #[error(
        "{0} needed to resume were purged from the source: a gap was recorded and capture resumes from the oldest binlog"
    )]
    Purged(String),
}

impl From<crate::source::ConnectError> for CaptureError {
    fn from(e: crate::source::ConnectError) -> Self {
        match e {
            crate::source::ConnectError::Dsn(d) => CaptureError::Preflight(d),
            crate::source::ConnectError::Mysql(e) => CaptureError::Mysql(e),
        }
    }
}

/// Runs capture for one source until `shutdown` turns true.
pub async fn run_source(
    source: SourceConfig,
    index: Arc<Index>,
    state: Arc<SourceState>,
    storage: Arc<crate::storage::StorageHealth>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        // A panic inside capture is a bug, but it must not leave `/health` saying "connected":
        // it is caught, reported as the last error, and capture reconnects.
        let attempt = std::panic::AssertUnwindSafe(capture_once(&source, &index, &state));
        let result = tokio::select! {
            r = futures_util::FutureExt::catch_unwind(attempt) => r.unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(CaptureError::Internal(format!("capture panicked: {what}")))
            }),
            _ = shutdown.wait_for(|s| *s) => return,
        };
        state.update(|s| s.connected = false);
        if let Err(e) = result {
            warn!(server_id = source.server_id, error = %e, "capture stopped");
            state.update(|s| s.last_error = Some(e.to_string()));
            if let CaptureError::Index(crate::index::IndexError::Storage(_)) = &e {
                // The engine refuses writes from now on: stop until the restart that reopens it
                // (crate::storage), with the last checkpoint intact.
                storage.fail(&e.to_string());
            }
        }
        if storage.failed().is_some() {
            let _ = shutdown.wait_for(|s| *s).await;
            return;
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

async fn capture_once(
    source: &SourceConfig,
    index: &Index,
    state: &SourceState,
) -> Result<(), CaptureError> {
    let mut conn = crate::source::connect(source).await?;
    preflight(&mut conn).await?;
    let collations = load_collations(&mut conn).await?;
    let checkpoint = match index.checkpoint(source.server_id)? {
        Some(cp) => cp,
        None => Checkpoint {
            binlog_pos: 4,
            ..Checkpoint::default()
        },
    };
    let logs: Vec<(String, u64)> = conn
        .query_map("SHOW BINARY LOGS", |row: mysql_async::Row| {
            (
                row.get::<String, _>(0).unwrap_or_default(),
                row.get::<u64, _>(1).unwrap_or(0),
            )
        })
        .await?;
    let checksum: Option<String> = conn.query_first("SELECT @@global.binlog_checksum").await?;
    let checksums = checksum.is_some_and(|c| !c.eq_ignore_ascii_case("NONE"));
    let is_mariadb = conn.server_version() < (8, 0, 0) || is_mariadb(&mut conn).await;
    let mut start = checkpoint.clone();
    // MariaDB resumes by GTID when we have one: it survives RESET MASTER, renamed binlogs and
    // failover to another server of the replication topology.
    let gtid_resume = start.gtid.clone().filter(|g| {
        is_mariadb
            && !g.is_empty()
            && g.bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b',')
    });
    if is_mariadb {
        conn.query_drop("SET @mariadb_slave_capability = 4").await?;
    }
    if let Some(gtid) = &gtid_resume {
        conn.query_drop(format!("SET @slave_connect_state = '{gtid}'"))
            .await?;
        start.binlog_pos = 4;
    } else if start.binlog_file.is_empty() {
        start.binlog_file = logs
            .first()
            .map(|l| l.0.clone())
            .ok_or_else(|| CaptureError::Preflight("SHOW BINARY LOGS is empty".into()))?;
        start.binlog_pos = 4;
    } else if !logs.iter().any(|l| l.0 == start.binlog_file) {
        start = record_gap(index, source.server_id, start, &logs)?;
    }
    // Ask for a heartbeat every 200 ms while idle (value in ns; both servers read this variable):
    // each one proves the record complete up to now, so `AS OF now` answers within that time.
    conn.query_drop("SET @master_heartbeat_period = 200000000")
        .await?;
    info!(server_id = source.server_id, file = %start.binlog_file, pos = start.binlog_pos, gtid = ?gtid_resume, seq = start.seq, "capture starting");
    // MySQL resumes by GTID set (COM_BINLOG_DUMP_GTID) when the checkpoint has one.
    let mysql_set = start
        .gtid
        .as_deref()
        .filter(|g| !is_mariadb && g.contains(':'))
        .and_then(gtid::GtidSet::parse)
        .filter(|s| !s.is_empty());
    let request = match (&gtid_resume, &mysql_set) {
        (_, Some(set)) => BinlogStreamRequest::new(source.replica_id())
            .with_gtid()
            .with_gtid_set(set.to_sids())
            .with_pos(4),
        (Some(_), None) => BinlogStreamRequest::new(source.replica_id()).with_pos(4),
        (None, None) => BinlogStreamRequest::new(source.replica_id())
            .with_filename(start.binlog_file.as_bytes())
            .with_pos(start.binlog_pos),
    };
    let mut stream = conn.get_binlog_stream(request).await?;
    state.update(|s| {
        s.connected = true;
        s.last_error = None;
        s.binlog_file = start.binlog_file.clone();
        s.binlog_pos = start.binlog_pos;
        s.seq = start.seq;
        s.gtid = start.gtid.clone();
        s.history_start_us = start.history_start_us;
        s.gaps = start.gaps.clone();
    });
    if start.seq > 0 {
        state.advance_complete(start.visible_us);
    }
    let mut asm =
        Assembler::new(source.clone(), collations, start).with_source_checksums(checksums);
    let mut written = Written {
        checkpoint,
        last_sync: Instant::now(),
    };
    let mut first_pending: Option<Instant> = None;
    let mut side_conn: Option<Conn> = None;
    const IDLE_FLUSH: Duration = Duration::from_millis(2);
    loop {
        let deadline = match first_pending {
            Some(t) => (t + source.checkpoint_interval).min(Instant::now() + IDLE_FLUSH),
            None => Instant::now() + Duration::from_secs(3600),
        };
        let event = tokio::select! {
            biased;
            ev = stream.next() => ev,
            _ = tokio::time::sleep_until(deadline.into()) => {
                flush(index, &mut asm, &mut written, state, true)?;
                first_pending = None;
                continue;
            }
        };
        let Some(event) = event else {
            flush(index, &mut asm, &mut written, state, true)?;
            return Ok(());
        };
        let event = match event {
            Ok(e) => e,
            // MariaDB answers ER_MASTER_FATAL_ERROR_READING_BINLOG (1236) when the GTID position
            // lies in purged binlogs: record the hole, then resume from the oldest binlog.
            Err(mysql_async::Error::Server(e))
                if e.code == 1236
                    && gtid_resume.is_some()
                    && asm.checkpoint.seq == written.checkpoint.seq
                    && first_pending.is_none() =>
            {
                let mut cp = written.checkpoint.clone();
                cp.gtid = None;
                record_gap(index, source.server_id, cp, &logs)?;
                return Err(CaptureError::Purged(format!(
                    "the binlogs holding GTID {}",
                    gtid_resume.unwrap_or_default()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        // A compressed transaction (TRANSACTION_PAYLOAD) is fed event by event, each at the
        // payload's position, so its TABLE_MAPs get `information_schema` like any other.
        let pos = u64::from(event.header().log_pos());
        let events =
            if event.header().event_type_raw() == assembler::event_type::TRANSACTION_PAYLOAD {
                assembler::payload_events(&event).map_err(|e| assembler::AssembleError::Parse {
                    what: "TRANSACTION_PAYLOAD",
                    file: asm.checkpoint.binlog_file.clone(),
                    pos,
                    source: e,
                })?
            } else {
                vec![event]
            };
        let mut step = Step::Continue;
        for event in &events {
            if let Some(key) = asm.needs_information_schema(event) {
                let side = match &mut side_conn {
                    Some(c) => c,
                    None => side_conn.insert(crate::source::connect(source).await?),
                };
                let columns = information_schema_columns(side, &key.0, &key.1).await?;
                asm.set_information_schema(key, columns);
            }
            match asm.on_event_at(event, pos, index)? {
                Step::Continue => {}
                s => step = s,
            }
        }
        match step {
            Step::Continue => {}
            Step::Committed => {
                first_pending.get_or_insert_with(Instant::now);
                if asm.pending_rows() >= source.batch_size {
                    flush(index, &mut asm, &mut written, state, false)?;
                    first_pending = None;
                }
            }
            Step::Heartbeat => {
                flush(index, &mut asm, &mut written, state, true)?;
                first_pending = None;
                let now = now_us();
                state.advance_complete(now);
                asm.visible_floor_us = now + 1;
            }
        }
        if first_pending.is_none()
            && asm.checkpoint != written.checkpoint
            && asm.pending_rows() == 0
        {
            // Filtered or DDL-only progress: move the checkpoint along on the next idle flush.
            first_pending = Some(Instant::now());
        }
    }
}

/// The last checkpoint written, and when the journal was last fsynced.
struct Written {
    checkpoint: Checkpoint,
    last_sync: Instant,
}

/// How often the journal is fsynced while batches stream in. Each batch reaches the OS at once
/// (surviving a process kill) and is atomic with its checkpoint, so a power loss can only roll the
/// index back to an earlier checkpoint, from which capture re-reads the same transactions with the
/// same seqs.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Commits pending transactions and the checkpoint in one batch, then publishes them. `idle`
/// (stream caught up) forces an fsync.
fn flush(
    index: &Index,
    asm: &mut Assembler,
    written: &mut Written,
    state: &SourceState,
    idle: bool,
) -> Result<(), CaptureError> {
    let txns = asm.take_committed();
    if txns.is_empty() && asm.checkpoint == written.checkpoint {
        return Ok(());
    }
    let cp = asm.checkpoint.clone();
    let started = Instant::now();
    let sync = idle || written.last_sync.elapsed() >= SYNC_INTERVAL;
    index.commit(state.server_id, &txns, &cp, sync)?;
    if sync {
        written.last_sync = Instant::now();
    }
    let rows: u64 = txns.iter().map(|t| u64::from(t.record.rows)).sum();
    state.metrics.record_batch(
        rows,
        txns.len() as u64,
        started.elapsed().as_micros() as u64,
    );
    written.checkpoint = cp.clone();
    state.update(|s| {
        s.binlog_file = cp.binlog_file.clone();
        s.binlog_pos = cp.binlog_pos;
        s.gtid = cp.gtid.clone();
        s.seq = cp.seq;
        s.history_start_us = cp.history_start_us;
        s.gaps = cp.gaps.clone();
    });
    if let Some(last) = txns.last() {
        state.advance_complete(last.record.visible_us);
    }
    Ok(())
}

async fn is_mariadb(conn: &mut Conn) -> bool {
    let v: Option<String> = conn.query_first("SELECT VERSION()").await.ok().flatten();
    v.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"))
}

/// Checks `log_bin`, `binlog_format`, `binlog_row_image` and warns about `binlog_row_metadata`.
async fn preflight(conn: &mut Conn) -> Result<(), CaptureError> {
    let vars: Vec<(String, String)> = conn
        .query_map(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'binlog_row_value_options')",
            |(k, v): (String, String)| (k.to_ascii_lowercase(), v.to_ascii_uppercase()),
        )
        .await?;
    let vars: HashMap<String, String> = vars.into_iter().collect();
    let get = |k: &str| vars.get(k).map(String::as_str).unwrap_or("");
    if get("log_bin") != "ON" {
        return Err(CaptureError::Preflight(
            "log_bin is OFF: enable binary logging (log_bin) on the source".into(),
        ));
    }
    if get("binlog_format") != "ROW" {
        return Err(CaptureError::Preflight(format!(
            "binlog_format is {}: set binlog_format=ROW",
            get("binlog_format")
        )));
    }
    if get("binlog_row_image") != "FULL" {
        return Err(CaptureError::Preflight(format!(
            "binlog_row_image is {}: set binlog_row_image=FULL",
            get("binlog_row_image")
        )));
    }
    // binlog_row_value_options=PARTIAL_JSON is fine: PARTIAL_UPDATE_ROWS diffs are applied to the
    // (FULL) before image's document (`capture::jsondiff`).
    if get("binlog_row_metadata") != "FULL" {
        warn!(value = get("binlog_row_metadata"), "binlog_row_metadata is not FULL: column names, PK and ENUM/SET labels will be read from information_schema, which is racy against DDL");
    }
    Ok(())
}

/// The source's collations (id, name, charset, bytes per character) from `information_schema`
/// over the built-in table; rows without an ID are skipped. Capture and baselines both read them.
pub(crate) async fn load_collations(conn: &mut Conn) -> Result<Collations, mysql_async::Error> {
    let rows: Vec<(u16, String, String, u8)> = conn
        .query(
            "SELECT c.ID, c.COLLATION_NAME, c.CHARACTER_SET_NAME, s.MAXLEN \
             FROM information_schema.COLLATIONS c \
             JOIN information_schema.CHARACTER_SETS s ON s.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME \
             WHERE c.ID IS NOT NULL",
        )
        .await?;
    let mut collations = Collations::builtin();
    for (id, name, charset, max_len) in rows {
        collations.0.insert(
            id,
            Collation {
                name,
                charset,
                max_len,
            },
        );
    }
    Ok(collations)
}

/// Column names, types, collations and PK positions of one table, in ordinal order (the PK is
/// [`crate::source::identity_index`]: a UNIQUE NOT NULL key stands in for a missing one).
async fn information_schema_columns(
    conn: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Vec<InformationSchemaColumn>, CaptureError> {
    // The PK, or the UNIQUE NOT NULL key the server uses in its place (`SEQ_IN_INDEX` 0: not in it).
    let identity = crate::source::identity_index(conn, schema, table).await?;
    let rows: Vec<(String, String, Option<String>, u32, String)> = conn
        .exec(
            "SELECT c.COLUMN_NAME, c.COLUMN_TYPE, c.COLLATION_NAME, CAST(IFNULL(s.SEQ_IN_INDEX, 0) AS UNSIGNED), c.EXTRA \
             FROM information_schema.COLUMNS c \
             LEFT JOIN information_schema.STATISTICS s ON s.TABLE_SCHEMA = c.TABLE_SCHEMA \
               AND s.TABLE_NAME = c.TABLE_NAME AND s.COLUMN_NAME = c.COLUMN_NAME AND s.INDEX_NAME = ? \
             WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION",
            (identity.as_deref().unwrap_or(""), schema, table),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, column_type, collation, pk_seq, extra)| InformationSchemaColumn {
                name,
                column_type,
                collation,
                pk_seq,
                is_virtual: extra.to_ascii_uppercase().contains("VIRTUAL"),
            },
        )
        .collect())
}

/// Records that the binlogs after `checkpoint` are gone: a [`Gap`] after its seq, and a new
/// checkpoint at the start of the oldest binlog the source still has. Both are committed
/// atomically before capture continues, so the hole is never silently skipped.
fn record_gap(
    index: &Index,
    server_id: u32,
    mut checkpoint: Checkpoint,
    logs: &[(String, u64)],
) -> Result<Checkpoint, CaptureError> {
    let oldest = logs
        .first()
        .map(|l| l.0.clone())
        .ok_or_else(|| CaptureError::Preflight("SHOW BINARY LOGS is empty".into()))?;
    let description = format!(
        "capture stood at {}:{}{}, resumed at {oldest}:4",
        checkpoint.binlog_file,
        checkpoint.binlog_pos,
        checkpoint
            .gtid
            .as_ref()
            .map(|g| format!(" (GTID {g})"))
            .unwrap_or_default()
    );
    warn!(server_id, %description, "binlogs were purged before capture read them: recording a gap in history");
    checkpoint.gaps.push(Gap {
        after_seq: checkpoint.seq,
        from_us: checkpoint.visible_us,
        until_us: None,
        description,
    });
    checkpoint.binlog_file = oldest;
    checkpoint.binlog_pos = 4;
    checkpoint.gtid = None;
    index.commit(server_id, &[], &checkpoint, true)?;
    Ok(checkpoint)
}
