//! `_snapshot.<t> AS OF <time> [WHERE ...] [LIMIT n]`: the whole table streamed from the agent
//! to the client row by row. Nothing is buffered beyond one row and the socket buffer; a cut
//! stream or an agent failure after the first rows ends the result with an ERR packet (the
//! client sees an error, never a short table). Reading stops at LIMIT.

use std::sync::Arc;

use futures_util::StreamExt;

use super::definitions::Shape;
use super::query::{encode_picked, Failure, RowFormat};
use super::Session;
use crate::backend::mysql_error;
use crate::classify::FlashbackQuery;
use crate::plan::filter;
use crate::plan::reads::plan_snapshot;

impl Session {
    pub(super) async fn snapshot(
        &mut self,
        query: &FlashbackQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let (tenant, table) = self.read_target(query).await?;
        let as_of_us = self.as_of_us(query)?;
        let plan = plan_snapshot(query, &table, tenant.config.server_id, as_of_us)?;
        tracing::debug!(request = ?plan.request, "snapshot");
        let mut snapshot = self
            .until_disconnect(tenant.backend.snapshot(&plan.request))
            .await?
            .map_err(|e| mysql_error(&e))?;
        let columns = Arc::new(std::mem::take(&mut snapshot.header.columns));
        let definitions = self.definitions.get(&Shape {
            schema: b"_snapshot",
            table: &table.name,
            primary_key: &table.primary_key,
            projection: plan.projection.as_deref(),
            columns: &columns,
            results: self.state.results().copied(),
        })?;
        self.state.warnings = snapshot
            .header
            .warnings
            .iter()
            .map(|w| (1105, w.clone()))
            .collect();
        self.send_column_packets(&definitions.packets).await?;
        let mut left = self.row_limit(plan.limit);
        let mut buf = Vec::new();
        while left > 0 {
            let row = match snapshot.rows.next().await {
                None => break,
                Some(Ok(row)) => row,
                Some(Err(e)) => return Err(Failure::Mysql(mysql_error(&e))),
            };
            // TIMESTAMP values in the session zone, before WHERE compares them with wall times.
            let row = self.state.time_zone.localize_row(&columns, &row);
            if !filter::row_matches(&plan.filters, &columns, &row) {
                continue;
            }
            buf.clear();
            let results = self.state.results();
            encode_picked(&mut buf, &row, &definitions, &columns, format, results);
            self.writer.write(&buf).await?;
            left -= 1;
        }
        Ok(self.send_end_of_rows(self.warning_count()).await?)
    }
}
