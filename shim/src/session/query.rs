//! COM_QUERY: classify, then answer chatter locally or run a time-travel read through the backend.

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
        }
    }
}

impl Session {
    pub(super) async fn query(&mut self, body: &[u8]) -> std::io::Result<()> {
        let sql = String::from_utf8_lossy(body);
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
        let work = async {
            match statement {
                ShimStatement::Chatter(Chatter::Use(db)) => match self.check_use(&db) {
                    Ok(()) => {
                        self.state.database = Some(db);
                        self.send_ok().await.map_err(|_| Failure::Disconnected)
                    }
                    Err(e) => Err(Failure::Mysql(e)),
                },
                ShimStatement::Chatter(chatter) => match chatter::answer(&chatter, &mut self.state)
                {
                    Ok(reply) => self
                        .send_chatter(reply, format)
                        .await
                        .map_err(|_| Failure::Disconnected),
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
        let outcome = match timeout {
            None => work.await,
            Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                let written = crate::plan::reads::format_window(limit);
                Err(Failure::Mysql(MysqlError::query_timeout(&written)))
            }),
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(Failure::Mysql(e)) => self.send_err(&e).await,
            Err(Failure::Disconnected) => Err(std::io::ErrorKind::ConnectionAborted.into()),
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
                        RowFormat::Text => text_cells(&mut buf, &row),
                        RowFormat::Binary => binary_cells(&mut buf, &row, &columns),
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
        self.send_flashback(&plan, &table.primary_key, &response, format)
            .await
            .map_err(|_| Failure::Disconnected)
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
        })?;
        let response = &answer.response;
        self.state.warnings = response
            .warnings
            .iter()
            .map(|w| (1105, w.clone()))
            .collect();
        let io = |_: std::io::Error| Failure::Disconnected;
        self.send_column_packets(&definitions.packets)
            .await
            .map_err(io)?;
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
            encode_picked(&mut buf, &row, &definitions, columns, format);
            self.writer.write(&buf).await.map_err(io)?;
        }
        self.send_end_of_rows(self.warning_count())
            .await
            .map_err(io)
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

/// A chatter row as text cells.
fn text_cells(buf: &mut Vec<u8>, row: &[Option<String>]) {
    for cell in row {
        match cell {
            Some(text) => buf.put_lenenc_str(text.as_bytes()),
            None => buf.push(text::NULL),
        }
    }
}

/// A chatter row in the binary protocol: integer columns carry their parsed value.
fn binary_cells(buf: &mut Vec<u8>, row: &[Option<String>], columns: &[Column]) {
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
    let pairs: Vec<_> = values.iter().zip(columns).collect();
    binary::write_row(buf, &pairs);
}

/// Appends one row of agent values in `format`: each cell is the value, its column metadata
/// (text rendering) and its column definition (binary type).
pub(super) fn encode_row(
    buf: &mut Vec<u8>,
    cells: &[(&agent_api::Value, &ColumnInfo, &Column)],
    format: RowFormat,
) {
    match format {
        RowFormat::Text => text::write_row(buf, cells.iter().map(|(v, c, _)| (*v, *c))),
        RowFormat::Binary => {
            let pairs: Vec<_> = cells.iter().map(|(v, _, d)| (*v, *d)).collect();
            binary::write_row(buf, &pairs);
        }
    }
}

/// Appends the projected cells of one agent row: `definitions.picks` index into `columns`, and
/// `definitions.columns` are the result-set columns in pick order.
pub(super) fn encode_picked(
    buf: &mut Vec<u8>,
    row: &[agent_api::Value],
    definitions: &Definitions,
    columns: &[ColumnInfo],
    format: RowFormat,
) {
    let cell = |i: usize| row.get(i).unwrap_or(&agent_api::Value::Null);
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
