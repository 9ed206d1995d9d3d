//! COM_QUERY: classify, then answer chatter locally or run a time-travel read through the backend.

use std::borrow::Cow;
use std::future::Future;

use agent_api::catalog::ColumnInfo;
use agent_api::ClientError;
use futures_util::StreamExt;
use mysql_common::io::BufMutExt;
use mysql_common::packets::Column;
use tracing::{info_span, Instrument};

use super::definitions::{Definitions, Shape};
use super::Session;
use crate::backend::{mysql_error, FlashbackAnswer};
use crate::charset::ClientCharset;
use crate::chatter::{self, ChatterReply, TextResult};
use crate::classify::{classify, truncate, Chatter, ClassifyError, FlashbackQuery, ShimStatement};
use crate::encode::{binary, text};
use crate::error::MysqlError;
use crate::plan::{filter, plan_flashback, FlashbackPlan, PlanError};

/// How result rows are encoded: text for COM_QUERY, binary for COM_STMT_EXECUTE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowFormat {
    /// `ProtocolText::ResultsetRow`.
    Text,
    /// `ProtocolBinary::ResultsetRow`.
    Binary,
}

/// How a command ended when it did not produce a reply of its own.
pub(super) enum Failure {
    /// Answer with this ERR packet.
    Mysql(MysqlError),
    /// The client went away while the backend worked; nothing to answer.
    Disconnected,
}

impl From<MysqlError> for Failure {
    fn from(e: MysqlError) -> Self {
        Failure::Mysql(e)
    }
}

/// A failed socket write: the client is gone, so there is nobody to answer. Only an
/// `std::io::Error` converts to [`Failure::Disconnected`]; a statement error stays a
/// [`Failure::Mysql`] and is answered with an ERR packet on the open connection.
impl From<std::io::Error> for Failure {
    fn from(_: std::io::Error) -> Self {
        Failure::Disconnected
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        Failure::Mysql(e.into())
    }
}

impl From<ClassifyError> for MysqlError {
    fn from(e: ClassifyError) -> Self {
        match e {
            ClassifyError::Empty => MysqlError::new(1065, b"42000", "Query was empty"),
            ClassifyError::Parse(detail) => MysqlError::parse(detail),
            ClassifyError::Unsupported(what) => MysqlError::unsupported(what),
            ClassifyError::VirtualJoin(schema) => MysqlError::new(
                1064,
                b"HY000",
                format!("dbtrail-shim: cannot join virtual schema {schema} with a real table"),
            ),
            ClassifyError::BadTime(detail) => MysqlError::bad_time(detail),
            ClassifyError::TooComplex(detail) => {
                MysqlError::new(1064, b"42000", format!("dbtrail-shim: {detail}"))
            }
        }
    }
}

impl Session {
    pub(super) async fn query(&mut self, body: &[u8]) -> std::io::Result<()> {
        // Statement text is in `character_set_client` (a latin1 client's 'Zoë' is 5A 6F EB).
        let sql = self.state.client_charset.decode(body).into_owned();
        let span = info_span!("query", sql = %truncate(&sql));
        self.run_query(&sql, RowFormat::Text).instrument(span).await
    }

    /// Classifies and answers one statement, rows in `format`.
    pub(super) async fn run_query(&mut self, sql: &str, format: RowFormat) -> std::io::Result<()> {
        let statement = match classify(sql) {
            Ok(statement) => statement,
            Err(e) => {
                self.state.warnings.clear();
                return self.send_err(&e.into()).await;
            }
        };
        let statement = match self.route_unqualified(statement) {
            Ok(statement) => statement,
            Err(e) => {
                self.state.warnings.clear();
                return self.send_err(&e).await;
            }
        };
        if matches!(self.account, crate::server::Account::Monitor)
            && !super::lifecycle::monitor_may_run(&statement)
        {
            return self.send_err(&MysqlError::monitor_denied()).await;
        }
        // Every statement but SHOW WARNINGS starts a fresh warning list (MySQL's diagnostics area).
        if statement != ShimStatement::Chatter(Chatter::ShowWarnings) {
            self.state.warnings.clear();
        }
        let timeout = self.shared.limits.query_timeout;
        let handle = std::sync::Arc::clone(&self.handle);
        let interrupt = handle.begin_query();
        let work = async {
            match statement {
                ShimStatement::Chatter(Chatter::Kill { query, id }) => {
                    let user = self.state.user.clone();
                    match self.shared.sessions.kill(id, &user, query) {
                        // KILL of this very connection ends it after the answer.
                        Ok(()) => Ok(self.send_ok().await?),
                        Err(e) => Err(Failure::Mysql(e)),
                    }
                }
                ShimStatement::Chatter(Chatter::Use(db)) => {
                    self.check_use(&db).await?;
                    self.state.database = Some(db);
                    Ok(self.send_ok().await?)
                }
                ShimStatement::Chatter(chatter) => match chatter::answer(&chatter, &mut self.state)
                {
                    Ok(reply) => Ok(self.send_chatter(reply, format).await?),
                    Err(e) => Err(Failure::Mysql(e)),
                },
                ShimStatement::Flashback(query) => self.flashback(&query, format).await,
                ShimStatement::Snapshot(query) => self.snapshot(&query, format).await,
                ShimStatement::Diff(query) => self.diff(&query, format).await,
                ShimStatement::Catalog(query) => self.catalog(&query, format).await,
                ShimStatement::InformationSchema(query) => {
                    self.information_schema(&query, format).await
                }
            }
        };
        let limited = async {
            match timeout {
                None => work.await,
                Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                    let written = crate::plan::reads::format_window(limit);
                    Err(Failure::Mysql(MysqlError::query_timeout(&written)))
                }),
            }
        };
        // KILL [QUERY] from another connection drops the work (and its agent call or stream).
        let outcome = tokio::select! {
            biased;
            outcome = limited => outcome,
            () = interrupt.cancelled() => Err(Failure::Mysql(
                if handle.killed().is_cancelled() {
                    super::kill::connection_killed()
                } else {
                    super::kill::interrupted()
                },
            )),
        };
        handle.end_query();
        match outcome {
            Ok(()) => Ok(()),
            Err(Failure::Mysql(e)) => self.send_err(&e).await,
            Err(Failure::Disconnected) => Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
    }

    /// A table named alone (`FROM orders`) reads the virtual schema the session is in: after
    /// `USE _snapshot` a `_snapshot` read, after `USE _flashback` or in a real database a
    /// `_flashback` read; after `USE _diff` an `AS OF` read is refused (a `_diff` read names
    /// `_diff.<t> BETWEEN ...`). In a real database a read without `AS OF` is refused (it is a
    /// query for the source itself).
    fn route_unqualified(&self, statement: ShimStatement) -> Result<ShimStatement, MysqlError> {
        let current = self.state.database.as_deref().unwrap_or_default();
        let in_schema = |name: &str| current.eq_ignore_ascii_case(name);
        match statement {
            ShimStatement::Flashback(query) if query.unqualified => {
                if in_schema("_snapshot") {
                    Ok(ShimStatement::Snapshot(query))
                } else if in_schema("_diff") && query.as_of.is_some() {
                    Err(MysqlError::unsupported(
                        "AS OF in a _diff query (the window is BETWEEN <a> AND <b>)",
                    ))
                } else if in_schema("_diff") {
                    Err(MysqlError::bad_time(
                        "_diff queries need a window: _diff.<table> BETWEEN <time> AND <time>",
                    ))
                } else if in_schema("_flashback") || query.as_of.is_some() {
                    Ok(ShimStatement::Flashback(query))
                } else {
                    Err(MysqlError::unsupported(format!(
                        "a query on {} without AS OF '<time>'",
                        query.table
                    )))
                }
            }
            other => Ok(other),
        }
    }

    pub(super) async fn send_chatter(
        &mut self,
        reply: ChatterReply,
        format: RowFormat,
    ) -> std::io::Result<()> {
        match reply {
            ChatterReply::Ok => self.send_ok().await,
            ChatterReply::Rows(TextResult { columns, rows }) => {
                self.send_columns(&columns).await?;
                let mut buf = Vec::new();
                for row in rows {
                    buf.clear();
                    match format {
                        RowFormat::Text => text_cells(&mut buf, &row, self.state.results()),
                        RowFormat::Binary => {
                            binary_cells(&mut buf, &row, &columns, self.state.results())
                        }
                    }
                    self.writer.write(&buf).await?;
                }
                self.send_end_of_rows(self.warning_count()).await
            }
        }
    }

    async fn flashback(
        &mut self,
        query: &FlashbackQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let (tenant, table) = self.read_target(query).await?;
        let server_id = tenant.config.server_id;
        let backend = &tenant.backend;
        let as_of_us = self.as_of_us(query)?;
        let plan = plan_flashback(query, &table, server_id, as_of_us)?;
        tracing::debug!(request = ?plan.request, "flashback");
        let response = self
            .until_disconnect(backend.flashback(&plan.request))
            .await?
            .map_err(|e: ClientError| mysql_error(&e))?;
        // A column the table did not have at that time is a 1054 from here, answered on the
        // open connection like any other statement error.
        self.send_flashback(&plan, &table.primary_key, &response, format)
            .await
    }

    async fn send_flashback(
        &mut self,
        plan: &FlashbackPlan,
        primary_key: &[String],
        answer: &FlashbackAnswer,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let columns = &answer.columns;
        let definitions = self.definitions.get(&Shape {
            schema: b"_flashback",
            table: &plan.request.table,
            primary_key,
            projection: plan.projection.as_deref(),
            columns,
            results: self.state.results().copied(),
        })?;
        let response = &answer.response;
        self.state.warnings = response
            .warnings
            .iter()
            .map(|w| (1105, w.clone()))
            .collect();
        self.send_column_packets(&definitions.packets).await?;
        let limit = usize::try_from(self.row_limit(plan.limit)).unwrap_or(usize::MAX);
        // TIMESTAMP values in the session zone before filtering: WHERE literals are wall times.
        let zone = &self.state.time_zone;
        let rows = response
            .rows
            .iter()
            .map(|row| zone.localize_row(columns, row))
            .filter(|row| filter::row_matches(&plan.filters, columns, row))
            .take(limit);
        let mut buf = Vec::new();
        for row in rows {
            buf.clear();
            encode_picked(
                &mut buf,
                &row,
                &definitions,
                columns,
                format,
                self.state.results(),
            );
            self.writer.write(&buf).await?;
        }
        Ok(self.send_end_of_rows(self.warning_count()).await?)
    }

    /// Awaits `work`, watching the socket meanwhile: a client that disconnects cancels the work
    /// (the future is dropped); a pipelined packet is kept for the next command.
    pub(super) async fn until_disconnect<T>(
        &mut self,
        work: impl Future<Output = T>,
    ) -> Result<T, Failure> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return Ok(result),
                next = self.reader.next(), if self.pending.is_none() => match next {
                    Some(Ok(packet)) => self.pending = Some(packet),
                    _ => return Err(Failure::Disconnected),
                },
            }
        }
    }
}

/// A chatter row as text cells, in `character_set_results`.
fn text_cells(buf: &mut Vec<u8>, row: &[Option<String>], results: Option<&ClientCharset>) {
    for cell in row {
        match (cell, results) {
            (Some(text), Some(results)) => buf.put_lenenc_str(&results.encode(text)),
            (Some(text), None) => buf.put_lenenc_str(text.as_bytes()),
            (None, _) => buf.push(text::NULL),
        }
    }
}

/// A chatter row in the binary protocol: integer columns carry their parsed value.
fn binary_cells(
    buf: &mut Vec<u8>,
    row: &[Option<String>],
    columns: &[Column],
    results: Option<&ClientCharset>,
) {
    let values: Vec<agent_api::Value> = row
        .iter()
        .map(|cell| match cell {
            None => agent_api::Value::Null,
            Some(text) => match text.parse::<i64>() {
                Ok(n) => agent_api::Value::Int(n),
                Err(_) => agent_api::Value::Text(text.clone()),
            },
        })
        .collect();
    let values = for_client(values.iter(), results);
    let pairs: Vec<_> = values.iter().map(|v| &**v).zip(columns).collect();
    binary::write_row(buf, &pairs);
}

/// `value` as the client reads it: text and JSON in `results` (`?` for what it cannot
/// represent), as bytes; every other value, and any value when `results` sends UTF-8 as it is,
/// unchanged. The charsets the shim converts to are ASCII-compatible, so ASCII text stays.
pub(super) fn for_client<'a>(
    values: impl Iterator<Item = &'a agent_api::Value>,
    results: Option<&ClientCharset>,
) -> Vec<Cow<'a, agent_api::Value>> {
    let convert = results.filter(|r| !r.is_identity());
    values
        .map(|value| match (value, convert) {
            (agent_api::Value::Text(s) | agent_api::Value::Json(s), Some(results))
                if !s.is_ascii() =>
            {
                Cow::Owned(agent_api::Value::Bytes(results.encode(s).into_owned()))
            }
            _ => Cow::Borrowed(value),
        })
        .collect()
}

/// Appends one row of agent values in `format`: each cell is the value, its column metadata
/// (text rendering) and its column definition (binary type); text in `results`.
pub(super) fn encode_row(
    buf: &mut Vec<u8>,
    cells: &[(&agent_api::Value, &ColumnInfo, &Column)],
    format: RowFormat,
    results: Option<&ClientCharset>,
) {
    let values = for_client(cells.iter().map(|(v, _, _)| *v), results);
    match format {
        RowFormat::Text => text::write_row(
            buf,
            values.iter().zip(cells).map(|(v, (_, c, _))| (&**v, *c)),
        ),
        RowFormat::Binary => {
            let pairs: Vec<_> = (values.iter().zip(cells))
                .map(|(v, (_, _, d))| (&**v, *d))
                .collect();
            binary::write_row(buf, &pairs);
        }
    }
}

/// Appends the projected cells of one agent row: `definitions.picks` index into `columns`, and
/// `definitions.columns` are the result-set columns in pick order; text in `results`.
pub(super) fn encode_picked(
    buf: &mut Vec<u8>,
    row: &[agent_api::Value],
    definitions: &Definitions,
    columns: &[ColumnInfo],
    format: RowFormat,
    results: Option<&ClientCharset>,
) {
    let cell = |i: usize| row.get(i).unwrap_or(&agent_api::Value::Null);
    if results.is_some_and(|r| !r.is_identity()) {
        let values = for_client(definitions.picks.iter().map(|&i| cell(i)), results);
        match format {
            RowFormat::Text => text::write_row(
                buf,
                (values.iter().zip(&definitions.picks)).map(|(v, &i)| (&**v, &columns[i])),
            ),
            RowFormat::Binary => {
                let pairs: Vec<_> = (values.iter().zip(&definitions.columns))
                    .map(|(v, d)| (&**v, d))
                    .collect();
                binary::write_row(buf, &pairs);
            }
        }
        return;
    }
    match format {
        RowFormat::Text => text::write_row(
            buf,
            (definitions.picks.iter()).map(|&i| (cell(i), &columns[i])),
        ),
        RowFormat::Binary => {
            let pairs: Vec<_> = (definitions.picks.iter())
                .zip(&definitions.columns)
                .map(|(&i, d)| (cell(i), d))
                .collect();
            binary::write_row(buf, &pairs);
        }
    }
}

/// The `(index in the agent's columns, output name)` pairs a projection selects: every column for
/// `SELECT *`, else each listed column (case-insensitive) or ERR 1054.
pub(super) fn pick_columns(
    columns: &[agent_api::catalog::ColumnInfo],
    projection: Option<&[(String, String)]>,
) -> Result<Vec<(usize, String)>, MysqlError> {
    match projection {
        None => Ok(columns
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.name.clone()))
            .collect()),
        Some(list) => list
            .iter()
            .map(|(name, output)| {
                columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(name))
                    .map(|i| (i, output.clone()))
                    .ok_or_else(|| MysqlError::unknown_column(name, "field list"))
            })
            .collect(),
    }
}
