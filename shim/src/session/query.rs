//! COM_QUERY: classify, then answer chatter locally or run a time-travel read through the backend.

use std::future::Future;

use agent_api::flashback::FlashbackResponse;
use agent_api::ClientError;
use futures_util::StreamExt;
use mysql_common::io::BufMutExt;
use tracing::{info_span, Instrument};

use super::Session;
use crate::backend::mysql_error;
use crate::chatter::{self, ChatterReply, TextResult};
use crate::classify::{classify, truncate, ClassifyError, FlashbackQuery, ShimStatement};
use crate::encode::{column_definition, text};
use crate::error::MysqlError;
use crate::plan::{filter, now_us, plan_flashback, resolve, FlashbackPlan, PlanError};

/// How a command ended when it did not produce a reply of its own.
enum Failure {
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
        let sql = String::from_utf8_lossy(body).into_owned();
        let span = info_span!("query", sql = %truncate(&sql));
        self.run_query(&sql).instrument(span).await
    }

    async fn run_query(&mut self, sql: &str) -> std::io::Result<()> {
        let statement = match classify(sql) {
            Ok(statement) => statement,
            Err(e) => return self.send_err(&e.into()).await,
        };
        let outcome = match statement {
            ShimStatement::Chatter(chatter) => match chatter::answer(&chatter, &mut self.state) {
                Ok(reply) => return self.send_chatter(reply).await,
                Err(e) => Err(Failure::Mysql(e)),
            },
            ShimStatement::Flashback(query) => self.flashback(&query).await,
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(Failure::Mysql(e)) => self.send_err(&e).await,
            Err(Failure::Disconnected) => Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
    }

    async fn send_chatter(&mut self, reply: ChatterReply) -> std::io::Result<()> {
        match reply {
            ChatterReply::Ok => self.send_ok().await,
            ChatterReply::Rows(TextResult { columns, rows }) => {
                self.send_columns(&columns).await?;
                let mut buf = Vec::new();
                for row in rows {
                    buf.clear();
                    for cell in row {
                        match cell {
                            Some(text) => buf.put_lenenc_str(text.as_bytes()),
                            None => buf.push(text::NULL),
                        }
                    }
                    self.writer.write(&buf).await?;
                }
                self.send_end_of_rows(self.warning_count()).await
            }
        }
    }

    async fn flashback(&mut self, query: &FlashbackQuery) -> Result<(), Failure> {
        let schema = query
            .schema
            .clone()
            .or_else(|| self.state.database.clone())
            .ok_or(PlanError::NoDatabase)?;
        let server_id = self.tenant.config.server_id;
        let backend = self.tenant.backend.clone();
        let table = self
            .until_disconnect(backend.table(server_id, &schema, &query.table))
            .await?
            .map_err(|e| mysql_error(&e))?
            .ok_or_else(|| PlanError::NoSuchTable {
                schema: schema.clone(),
                table: query.table.clone(),
            })?;
        let as_of_us = resolve(&query.as_of, self.state.time_zone, now_us());
        let plan = plan_flashback(query, &table, server_id, as_of_us)?;
        tracing::debug!(request = ?plan.request, "flashback");
        let response = self
            .until_disconnect(backend.flashback(&plan.request))
            .await?
            .map_err(|e: ClientError| mysql_error(&e))?;
        self.send_flashback(&plan, &table.primary_key, response)
            .await
            .map_err(|_| Failure::Disconnected)
    }

    async fn send_flashback(
        &mut self,
        plan: &FlashbackPlan,
        primary_key: &[String],
        response: FlashbackResponse,
    ) -> Result<(), Failure> {
        let columns = &response.columns;
        let picks: Vec<(usize, String)> = match &plan.projection {
            None => columns
                .iter()
                .enumerate()
                .map(|(i, c)| (i, c.name.clone()))
                .collect(),
            Some(list) => list
                .iter()
                .map(|(name, output)| {
                    columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(name))
                        .map(|i| (i, output.clone()))
                        .ok_or_else(|| MysqlError::unknown_column(name, "field list"))
                })
                .collect::<Result<_, _>>()?,
        };
        let table = &plan.request.table;
        let definitions: Vec<_> = picks
            .iter()
            .map(|(i, name)| {
                let column = &columns[*i];
                let pk = primary_key
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&column.name));
                column_definition(column, table, name, pk)
            })
            .collect();
        self.state.warnings = response
            .warnings
            .iter()
            .map(|w| (1105, w.clone()))
            .collect();
        let io = |_: std::io::Error| Failure::Disconnected;
        self.send_columns(&definitions).await.map_err(io)?;
        let limit = plan
            .limit
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let rows = response
            .rows
            .iter()
            .filter(|row| filter::row_matches(&plan.filters, columns, row))
            .take(limit);
        let mut buf = Vec::new();
        for row in rows {
            buf.clear();
            let values = picks
                .iter()
                .map(|(i, _)| (row.get(*i).unwrap_or(&agent_api::Value::Null), &columns[*i]));
            text::write_row(&mut buf, values);
            self.writer.write(&buf).await.map_err(io)?;
        }
        self.send_end_of_rows(self.warning_count())
            .await
            .map_err(io)
    }

    /// Awaits `work`, watching the socket meanwhile: a client that disconnects cancels the work
    /// (the future is dropped); a pipelined packet is kept for the next command.
    async fn until_disconnect<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Failure> {
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
