//! Taking a baseline from the live source without blocking writes.
//!
//! - **MariaDB**: `START TRANSACTION WITH CONSISTENT SNAPSHOT`, then `SHOW STATUS LIKE
//!   'binlog_snapshot_%'` on the same connection: `Binlog_snapshot_file/position` is the binlog
//!   position consistent with the snapshot (MariaDB KB "Enhancements for START TRANSACTION WITH
//!   CONSISTENT SNAPSHOT"), taken without any lock.
//! - **MySQL 8** (no such status): `LOCK INSTANCE FOR BACKUP` (blocks DDL, not DML), then the
//!   position from `performance_schema.log_status` read before and after `START TRANSACTION WITH
//!   CONSISTENT SNAPSHOT`; equal positions prove no transaction committed in between, so the
//!   snapshot holds exactly the transactions up to it; otherwise retry ([`MYSQL_ATTEMPTS`]).
//!
//! Each table is then read in PK order over the binary protocol inside that one transaction
//! (`REPEATABLE READ`, `time_zone = '+00:00'` so TIMESTAMPs come as UTC wall time like capture's)
//! and streamed into Parquet on a blocking thread. Once capture has passed the snapshot position,
//! the position is mapped to the capture seq and each baseline is published.

use std::time::Duration;

use agent_api::baseline::{BaselineRequest, BaselineResponse};
use agent_api::Value;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::mpsc;
use tracing::info;

use super::position::{seq_at_position, wait_captured};
use super::source_schema::{read_schema, value_from_mysql};
use super::writer::{BaselineWriter, Closed};
use super::{BaselineError, BaselineOrigin, Manifest, MANIFEST_VERSION};
use crate::capture::load_collations;
use crate::capture::state::now_us;
use crate::config::SourceConfig;
use crate::schema::TableSchema;
use crate::App;

/// How long a baseline waits for capture to pass the snapshot position.
const CAPTURE_WAIT: Duration = Duration::from_secs(60);
/// Rows per chunk handed to the writer thread.
const CHUNK_ROWS: usize = 1_024;
/// MySQL 8: attempts to find a snapshot with no commit between the two `log_status` reads.
pub const MYSQL_ATTEMPTS: usize = 20;

/// A consistent point of the source: binlog position and GTID position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistentPoint {
    /// Binlog file.
    pub file: String,
    /// Position in it.
    pub pos: u64,
    /// GTID position, when the server reports one.
    pub gtid: Option<String>,
}

/// Takes a baseline of the requested tables of one source; returns their manifests.
pub async fn take(app: &App, req: &BaselineRequest) -> Result<BaselineResponse, BaselineError> {
    let (source, state) = super::source_of(app, req.server_id)?;
    let mut conn = connect(source).await?;
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await?;
    conn.query_drop("SET time_zone = '+00:00'").await?;
    let tables = match req.tables.is_empty() {
        true => captured_tables(&mut conn, source).await?,
        false => req
            .tables
            .iter()
            .map(|t| split_name(t))
            .collect::<Result<_, _>>()?,
    };
    let collations = load_collations(&mut conn).await?;
    let mut schemas = Vec::with_capacity(tables.len());
    for (schema, table) in &tables {
        let from_source = read_schema(&mut conn, &collations, schema, table).await?;
        schemas.push(choose_schema(app, req.server_id, from_source));
    }
    let point = start_snapshot(&mut conn).await?;
    let taken_at_us = now_us();
    info!(server_id = req.server_id, file = %point.file, pos = point.pos, tables = tables.len(), "baseline snapshot started");
    let mut written = Vec::with_capacity(tables.len());
    for (table, version) in schemas {
        let create_sql = show_create(&mut conn, &table.schema, &table.name).await?;
        let dir = super::table_dir(
            &app.config.data_dir,
            req.server_id,
            &table.schema,
            &table.name,
        );
        let closed = copy_table(&mut conn, &dir, &table, taken_at_us).await;
        match closed {
            Ok(c) => written.push((table, version, create_sql, c)),
            Err(e) => {
                written
                    .into_iter()
                    .for_each(|(_, _, _, c): (_, _, _, Closed)| c.discard());
                return Err(e);
            }
        }
    }
    conn.query_drop("COMMIT").await?;
    let _ = conn.disconnect().await;
    let anchored = match wait_captured(state, &point.file, point.pos, CAPTURE_WAIT).await {
        Ok(last_seq) => {
            seq_at_position(&app.index, req.server_id, last_seq, &point.file, point.pos)
        }
        Err(e) => Err(e),
    };
    let seq = match anchored {
        Ok(seq) => seq,
        Err(e) => {
            written.into_iter().for_each(|(_, _, _, c)| c.discard());
            return Err(e);
        }
    };
    let gtid = match seq {
        0 => point.gtid.clone(),
        s => app
            .index
            .txn(req.server_id, s)?
            .and_then(|t| t.gtid)
            .or(point.gtid.clone()),
    };
    let mut out = BaselineResponse {
        success: true,
        baselines: Vec::new(),
        removed: Vec::new(),
    };
    for (table, version, create_sql, closed) in written {
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            id: Manifest::make_id(seq, taken_at_us),
            server_id: req.server_id,
            schema: table.schema.clone(),
            table: table.name.clone(),
            origin: BaselineOrigin::ConsistentSnapshot,
            taken_at_us,
            binlog_file: point.file.clone(),
            binlog_pos: point.pos,
            gtid: gtid.clone(),
            seq,
            schema_version: version,
            rows: closed.rows,
            bytes: closed.bytes,
            table_schema: table,
        };
        let b = closed.publish(&create_sql, manifest)?;
        info!(server_id = req.server_id, table = %format!("{}.{}", b.manifest.schema, b.manifest.table), seq, rows = b.manifest.rows, bytes = b.manifest.bytes, "baseline written");
        out.removed.extend(super::prune(
            &app.config.data_dir,
            req.server_id,
            &b.manifest.schema,
            &b.manifest.table,
            app.config.baselines.keep,
        )?);
        out.baselines.push(super::summary(&b.manifest));
    }
    Ok(out)
}

/// The index's newest schema version of the table when it lists the same columns as the source
/// (then keys encode exactly as capture's), else the schema read from `information_schema`.
fn choose_schema(
    app: &App,
    server_id: u32,
    from_source: TableSchema,
) -> (TableSchema, Option<u32>) {
    let Some(entry) =
        app.index
            .table_at(server_id, &from_source.schema, &from_source.name, u64::MAX)
    else {
        return (from_source, None);
    };
    let (version, indexed) = entry.version_at(u64::MAX);
    let same = indexed.columns.len() == from_source.columns.len()
        && indexed.pk == from_source.pk
        && indexed
            .columns
            .iter()
            .zip(&from_source.columns)
            .all(|(a, b)| a.info.name.eq_ignore_ascii_case(&b.info.name) && a.decode == b.decode);
    if same {
        let mut t = (**indexed).clone();
        (t.schema, t.name) = (from_source.schema, from_source.name);
        (t, Some(version))
    } else {
        (from_source, None)
    }
}

/// Starts the snapshot transaction and returns the position it is consistent with.
async fn start_snapshot(conn: &mut Conn) -> Result<ConsistentPoint, BaselineError> {
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await?
        .unwrap_or_default();
    if version.to_ascii_lowercase().contains("mariadb") {
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await?;
        let status: Vec<(String, String)> =
            conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'").await?;
        let gtid: Option<String> = conn.query_first("SELECT @@gtid_binlog_pos").await?;
        return mariadb_point(&status, gtid);
    }
    conn.query_drop("LOCK INSTANCE FOR BACKUP").await?;
    let result = mysql_snapshot(conn).await;
    let _ = conn.query_drop("UNLOCK INSTANCE").await;
    result
}

async fn mysql_snapshot(conn: &mut Conn) -> Result<ConsistentPoint, BaselineError> {
    for _ in 0..MYSQL_ATTEMPTS {
        let before: Option<String> = conn
            .query_first("SELECT LOCAL FROM performance_schema.log_status")
            .await?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .await?;
        let after: Option<String> = conn
            .query_first("SELECT LOCAL FROM performance_schema.log_status")
            .await?;
        if let Some(point) = stable_point(before.as_deref(), after.as_deref())? {
            return Ok(point);
        }
        conn.query_drop("ROLLBACK").await?;
    }
    Err(BaselineError::Invalid(format!(
        "the source committed between every pair of performance_schema.log_status reads in {MYSQL_ATTEMPTS} attempts: retry when it is less busy"
    )))
}

/// MariaDB: the point from `SHOW STATUS LIKE 'binlog_snapshot_%'` rows.
pub fn mariadb_point(
    status: &[(String, String)],
    gtid: Option<String>,
) -> Result<ConsistentPoint, BaselineError> {
    let get = |name: &str| {
        status
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let (Some(file), Some(pos)) = (get("Binlog_snapshot_file"), get("Binlog_snapshot_position"))
    else {
        return Err(BaselineError::Invalid(
            "the source reports no Binlog_snapshot_file/position: is log_bin on?".into(),
        ));
    };
    let pos = pos
        .parse()
        .map_err(|_| BaselineError::Invalid(format!("Binlog_snapshot_position {pos:?}")))?;
    if file.is_empty() {
        return Err(BaselineError::Invalid(
            "Binlog_snapshot_file is empty: binary logging is off on the source".into(),
        ));
    }
    Ok(ConsistentPoint {
        file,
        pos,
        gtid: get("Binlog_snapshot_gtid")
            .or(gtid)
            .filter(|g| !g.is_empty()),
    })
}

/// MySQL 8: the point when the `log_status.LOCAL` JSON read before and after starting the
/// snapshot name the same binlog position (no commit in between), else `None` (retry).
/// `LOCAL` looks like `{"gtid_executed": "uuid:1-5", "binary_log_file": "binlog.000003",
/// "binary_log_position": 1234}` (MySQL manual, "The log_status Table").
pub fn stable_point(
    before: Option<&str>,
    after: Option<&str>,
) -> Result<Option<ConsistentPoint>, BaselineError> {
    let parse = |text: Option<&str>| -> Result<ConsistentPoint, BaselineError> {
        let v: serde_json::Value = serde_json::from_str(text.unwrap_or("null"))
            .map_err(|e| BaselineError::Invalid(format!("performance_schema.log_status: {e}")))?;
        let file = v["binary_log_file"].as_str().unwrap_or_default().to_owned();
        let pos = v["binary_log_position"].as_u64();
        match (file.is_empty(), pos) {
            (false, Some(pos)) => Ok(ConsistentPoint {
                file,
                pos,
                gtid: v["gtid_executed"]
                    .as_str()
                    .map(|g| g.replace('\n', ""))
                    .filter(|g| !g.is_empty()),
            }),
            _ => Err(BaselineError::Invalid(
                "performance_schema.log_status has no binary log position: is log_bin on?".into(),
            )),
        }
    };
    let (a, b) = (parse(before)?, parse(after)?);
    Ok((a.file == b.file && a.pos == b.pos).then_some(b))
}

/// Reads one table in PK order into a partial baseline.
async fn copy_table(
    conn: &mut Conn,
    table_dir: &std::path::Path,
    table: &TableSchema,
    taken_at_us: i64,
) -> Result<Closed, BaselineError> {
    let writer = BaselineWriter::create(table_dir, table.clone(), &taken_at_us.to_string())?;
    let (tx, mut rx) = mpsc::channel::<Vec<Vec<Value>>>(4);
    let write = tokio::task::spawn_blocking(move || {
        let mut writer = writer;
        while let Some(chunk) = rx.blocking_recv() {
            for row in chunk {
                writer.append(&row)?;
            }
        }
        writer.close()
    });
    let read = read_rows(conn, table, &tx).await;
    drop(tx);
    let closed = write
        .await
        .map_err(|e| BaselineError::Invalid(format!("baseline writer failed: {e}")))?;
    match (read, closed) {
        (Ok(()), Ok(c)) => Ok(c),
        (Err(e), Ok(c)) => {
            c.discard();
            Err(e)
        }
        (_, Err(e)) => Err(e),
    }
}

async fn read_rows(
    conn: &mut Conn,
    table: &TableSchema,
    tx: &mpsc::Sender<Vec<Vec<Value>>>,
) -> Result<(), BaselineError> {
    let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.info.name)).collect();
    let order: Vec<String> = table
        .pk
        .iter()
        .map(|&i| quote(&table.columns[i].info.name))
        .collect();
    // A table without a PK is a bag: its rows are read in any order (see `BaselineWriter`).
    let order = match order.is_empty() {
        true => String::new(),
        false => format!(" ORDER BY {}", order.join(", ")),
    };
    let sql = format!(
        "SELECT {} FROM {}.{}{order}",
        cols.join(", "),
        quote(&table.schema),
        quote(&table.name),
    );
    let mut result = conn.exec_iter(sql, ()).await?;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    let mut failed = None;
    while let Some(row) = result.next().await? {
        if failed.is_some() {
            continue;
        }
        let values: Result<Vec<Value>, _> = row
            .unwrap()
            .into_iter()
            .zip(&table.columns)
            .map(|(v, c)| value_from_mysql(v, c))
            .collect();
        match values {
            Ok(v) => chunk.push(v),
            Err(e) => failed = Some(e),
        }
        if chunk.len() >= CHUNK_ROWS && tx.send(std::mem::take(&mut chunk)).await.is_err() {
            failed.get_or_insert(BaselineError::Invalid("baseline writer stopped".into()));
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if !chunk.is_empty() {
        let _ = tx.send(chunk).await;
    }
    Ok(())
}

async fn show_create(conn: &mut Conn, schema: &str, table: &str) -> Result<String, BaselineError> {
    let row: Option<(String, String)> = conn
        .query_first(format!(
            "SHOW CREATE TABLE {}.{}",
            quote(schema),
            quote(table)
        ))
        .await?;
    Ok(row.map(|(_, sql)| sql + ";\n").unwrap_or_default())
}

/// Base tables of the source that capture follows (system schemas excluded).
async fn captured_tables(
    conn: &mut Conn,
    source: &SourceConfig,
) -> Result<Vec<(String, String)>, BaselineError> {
    let all: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN \
             ('mysql', 'information_schema', 'performance_schema', 'sys') \
             ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .await?;
    Ok(all
        .into_iter()
        .filter(|(s, t)| source.captures(s, t))
        .collect())
}

/// `schema.table` → (schema, table).
pub fn split_name(name: &str) -> Result<(String, String), BaselineError> {
    match name.trim().split_once('.') {
        Some((s, t)) if !s.is_empty() && !t.is_empty() => Ok((
            s.trim_matches('`').to_owned(),
            t.trim_matches('`').to_owned(),
        )),
        _ => Err(BaselineError::Invalid(format!(
            "table {name:?} must be given as schema.table"
        ))),
    }
}

/// A backquoted identifier.
pub fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// Connects to the source with its DSN and TLS settings ([`crate::source::connect`]).
pub(crate) async fn connect(source: &SourceConfig) -> Result<Conn, BaselineError> {
    crate::source::connect(source).await.map_err(|e| match e {
        crate::source::ConnectError::Dsn(d) => BaselineError::Invalid(d),
        crate::source::ConnectError::Mysql(e) => BaselineError::Mysql(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_snapshot_status_gives_the_point() {
        let rows = vec![
            (
                "Binlog_snapshot_file".to_owned(),
                "mariadb-bin.000002".to_owned(),
            ),
            ("Binlog_snapshot_position".to_owned(), "1234".to_owned()),
        ];
        let p = mariadb_point(&rows, Some("0-1-7".into())).unwrap();
        assert_eq!(
            (p.file.as_str(), p.pos, p.gtid.as_deref()),
            ("mariadb-bin.000002", 1234, Some("0-1-7"))
        );
        assert!(mariadb_point(&rows[..1], None).is_err());
    }

    #[test]
    fn mysql_point_needs_equal_log_status_reads() {
        let a = r#"{"gtid_executed": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "binary_log_file": "binlog.000003", "binary_log_position": 1234}"#;
        let b = r#"{"gtid_executed": "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6", "binary_log_file": "binlog.000003", "binary_log_position": 1500}"#;
        let p = stable_point(Some(a), Some(a)).unwrap().unwrap();
        assert_eq!((p.file.as_str(), p.pos), ("binlog.000003", 1234));
        assert_eq!(
            p.gtid.as_deref(),
            Some("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5")
        );
        assert_eq!(stable_point(Some(a), Some(b)).unwrap(), None);
        assert!(stable_point(Some("{}"), Some(a)).is_err());
    }

    #[test]
    fn table_names_need_a_schema() {
        assert_eq!(
            split_name("shop.orders").unwrap(),
            ("shop".into(), "orders".into())
        );
        assert!(split_name("orders").is_err());
    }
}
