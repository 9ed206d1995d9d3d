//! What every virtual read needs before it asks the agent: the target table's metadata and the
//! instant(s) it reads at; and the `_diff` read itself.

use std::sync::Arc;

use agent_api::catalog::ColumnInfo;
use agent_api::diff::{ChangeRow, ChangeType, DiffResponse};
use agent_api::time::datetime_from_unix_micros;
use agent_api::Value;

use super::query::{Failure, RowFormat};
use super::Session;
use crate::backend::{mysql_error, SharedTable};
use crate::classify::time_literal::parse_time_literal;
use crate::classify::{DiffQuery, FlashbackQuery, Literal, TimeExpr};
use crate::encode::{column_definition, json};
use crate::error::MysqlError;
use crate::plan::reads::{diff_columns, format_window, plan_diff, DiffPlan};
use crate::plan::{now_us, resolve, PlanError, TimeZone};
use crate::server::{Account, Tenant};

/// User variable holding the session's default `AS OF` time.
const DEFAULT_AS_OF: &str = "@dbtrail_as_of";
/// User variable that lifts the `_diff` window limit when ON.
const ALLOW_WIDE_DIFF: &str = "@dbtrail_allow_wide_diff";

impl Session {
    /// The tenant and the current metadata of the table `query` reads (schema written, else the
    /// current database).
    pub(super) async fn read_target(
        &mut self,
        query: &FlashbackQuery,
    ) -> Result<(Arc<Tenant>, SharedTable), Failure> {
        let schema = self
            .read_schema(query.schema.as_deref(), &query.table)
            .await?;
        let tenant = self.tenant()?;
        self.check_schema(&tenant, &schema)?;
        let lookup = tenant
            .backend
            .table(tenant.config.server_id, &schema, &query.table);
        let table = self
            .until_disconnect(lookup)
            .await?
            .map_err(|e| mysql_error(&e))?;
        match table {
            Some(table) => Ok((tenant, table)),
            None => Err(self.why_unknown(&tenant, schema, &query.table).await),
        }
    }

    /// The error for a table the agent does not list. The agent knows more than its list: a
    /// table that exists on the source but was never captured (created before capture began, no
    /// change since) needs a baseline, and the agent's coverage error (1526) says so with the
    /// `agent-core baseline` command; asking it costs one request on this path only. Anything
    /// else is 1146, as MySQL answers for a table that does not exist.
    async fn why_unknown(&mut self, tenant: &Tenant, schema: String, table: &str) -> Failure {
        let request = agent_api::snapshot::SnapshotRequest {
            server_id: tenant.config.server_id,
            schema: schema.clone(),
            table: table.to_owned(),
            as_of_us: now_us(),
            key: None,
        };
        let probe = tenant.backend.snapshot(&request);
        match self.until_disconnect(probe).await {
            Err(gone) => return gone,
            Ok(Err(e)) => {
                // The agent's coverage answer (1526) is the one worth passing on.
                let error = mysql_error(&e);
                if error.code == MysqlError::COVERAGE {
                    return Failure::Mysql(error);
                }
            }
            // A table that appeared since the list was read: the next query sees it.
            Ok(Ok(_)) => {}
        }
        // Anything else is the answer MySQL gives.
        PlanError::NoSuchTable {
            schema,
            table: table.to_owned(),
        }
        .into()
    }

    /// The most rows a time-travel `SELECT` returns: its `LIMIT`, capped by the session's
    /// `@@sql_select_limit` (MySQL applies it to every top-level `SELECT` without a smaller
    /// `LIMIT`).
    pub(super) fn row_limit(&self, limit: Option<u64>) -> u64 {
        let session = self.state.select_limit().unwrap_or(u64::MAX);
        limit.map_or(session, |n| n.min(session))
    }

    /// ERR 1044 unless the tenant's `allowed_schemas` lists `schema`.
    pub(super) fn check_schema(&self, tenant: &Tenant, schema: &str) -> Result<(), MysqlError> {
        if tenant.config.allows(schema) {
            Ok(())
        } else {
            Err(MysqlError::schema_denied(
                &self.state.user,
                &self.state.host,
                schema,
            ))
        }
    }

    /// `USE <db>` / COM_INIT_DB: the virtual schemas and `information_schema` are open to every
    /// account; another name is ERR 1044 outside the tenant's `allowed_schemas`, and ERR 1049
    /// (42000) `Unknown database` unless agent-core has captured a table in it (names compare
    /// exactly, as MySQL's do with `lower_case_table_names=0`).
    pub(super) async fn check_use(&mut self, db: &str) -> Result<(), Failure> {
        let tenant = match &self.account {
            Account::Tenant(tenant) => Arc::clone(tenant),
            Account::Monitor => return Ok(()),
        };
        if !tenant.may_use(db) {
            let denied = MysqlError::schema_denied(&self.state.user, &self.state.host, db);
            return Err(denied.into());
        }
        let open = crate::chatter::catalog::is_virtual(db)
            || db.eq_ignore_ascii_case("information_schema");
        if open {
            return Ok(());
        }
        let captured = self.captured_tables(None).await?;
        if captured.iter().any(|t| t.schema == db) {
            Ok(())
        } else {
            Err(MysqlError::new(1049, b"42000", format!("Unknown database '{db}'")).into())
        }
    }

    /// The instant `query` reads at, µs since the epoch: its `AS OF`, else `@dbtrail_as_of`.
    pub(super) fn as_of_us(&self, query: &FlashbackQuery) -> Result<i64, MysqlError> {
        let time = match query.as_of {
            Some(time) => time,
            None => self
                .default_as_of()?
                .ok_or_else(|| MysqlError::as_of_required(&query.table))?,
        };
        Ok(self.instant(&time))
    }

    fn default_as_of(&self) -> Result<Option<TimeExpr>, MysqlError> {
        let Some(value) = self.user_variable(DEFAULT_AS_OF) else {
            return Ok(None);
        };
        match value {
            Literal::Null => Ok(None),
            Literal::Text(text) => parse_time_literal(text)
                .map(Some)
                .map_err(|e| MysqlError::bad_time(format!("@dbtrail_as_of: {e}"))),
            other => Err(MysqlError::bad_time(format!(
                "@dbtrail_as_of must be a quoted time, not {other:?}"
            ))),
        }
    }

    fn user_variable(&self, name: &str) -> Option<&Literal> {
        let vars = &self.state.user_variables;
        vars.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn instant(&self, time: &TimeExpr) -> i64 {
        resolve(time, &self.state.time_zone, now_us())
    }

    fn allow_wide_diff(&self) -> bool {
        match self.user_variable(ALLOW_WIDE_DIFF) {
            Some(Literal::Int(n)) => *n != 0,
            Some(Literal::Text(t)) => {
                ["on", "true", "1", "yes"].contains(&t.to_ascii_lowercase().as_str())
            }
            _ => false,
        }
    }

    /// `_diff.<t> BETWEEN <a> AND <b> WHERE <pk predicate>`: one row per change.
    pub(super) async fn diff(
        &mut self,
        query: &DiffQuery,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let (tenant, table) = self.read_target(&query.read).await?;
        let window = (self.instant(&query.from), self.instant(&query.to));
        // `@dbtrail_allow_wide_diff = ON` lifts the window limit only for a tenant configured
        // with `allow_wide_diff: true`; for any other it is refused (1227), not ignored.
        let wants_wide = self.allow_wide_diff();
        let permitted = tenant.config.allow_wide_diff;
        let limits = (self.shared.limits.max_diff_window, wants_wide && permitted);
        let plan = match plan_diff(query, &table, tenant.config.server_id, window, limits) {
            Err(PlanError::DiffWindow(limit)) if wants_wide => {
                return Err(Failure::Mysql(wide_diff_denied(&format_window(limit))));
            }
            planned => planned?,
        };
        tracing::debug!(request = ?plan.request, "diff");
        let response = self
            .until_disconnect(tenant.backend.diff(&plan.request))
            .await?
            .map_err(|e| mysql_error(&e))?;
        self.state.warnings = response
            .warnings
            .iter()
            .map(|w| (1105, w.clone()))
            .collect();
        self.send_diff(&plan, &table.name, &response, format).await
    }

    async fn send_diff(
        &mut self,
        plan: &DiffPlan,
        table: &str,
        response: &DiffResponse,
        format: RowFormat,
    ) -> Result<(), Failure> {
        let infos = diff_columns();
        let picked: Vec<(&ColumnInfo, &str)> = plan
            .projection
            .iter()
            .map(|(i, name)| (&infos[*i], name.as_str()))
            .collect();
        let definitions: Vec<_> = picked
            .iter()
            .map(|(info, name)| column_definition(info, table, name, false).with_schema(b"_diff"))
            .collect();
        self.send_columns(&definitions).await?;
        let limit = usize::try_from(self.row_limit(plan.limit)).unwrap_or(usize::MAX);
        let zone = self.state.time_zone.clone();
        let mut buf = Vec::new();
        for change in response.changes.iter().take(limit) {
            let row = diff_row(change, &response.columns, &zone);
            let cells: Vec<_> = plan
                .projection
                .iter()
                .zip(&picked)
                .zip(&definitions)
                .map(|(((i, _), (info, _)), def)| (&row[*i], *info, def))
                .collect();
            buf.clear();
            super::query::encode_row(&mut buf, &cells, format, self.state.results());
            self.writer.write(&buf).await?;
        }
        Ok(self.send_end_of_rows(self.warning_count()).await?)
    }
}

/// 1227 (42000, MySQL's `ER_SPECIFIC_ACCESS_DENIED_ERROR`): `@dbtrail_allow_wide_diff = ON` for a
/// tenant without `allow_wide_diff: true`, on a window wider than `limit` (as written).
fn wide_diff_denied(limit: &str) -> MysqlError {
    MysqlError::new(
        1227,
        b"42000",
        format!(
            "Access denied; you need (at least one of) the allow_wide_diff privilege(s) for this operation \
             (dbtrail-shim: the _diff window exceeds limits.max_diff_window ({limit}); \
             @dbtrail_allow_wide_diff = ON needs allow_wide_diff: true for this tenant in shim.yaml)"
        ),
    )
}

/// The change columns as column metadata: `event_time` DATETIME(6), strings, `binlog_pos`
/// BIGINT UNSIGNED, JSON documents.
/// One change as values of [`crate::plan::reads::DIFF_COLUMNS`]; `event_time` as wall time in `zone`.
fn diff_row(change: &ChangeRow, columns: &[ColumnInfo], zone: &TimeZone) -> Vec<Value> {
    let offset_secs = zone.offset_secs_at(change.event_time_us);
    let local_us = change.event_time_us + i64::from(offset_secs) * 1_000_000;
    let kind = match change.event_type {
        ChangeType::Insert => "INSERT",
        ChangeType::Update => "UPDATE",
        ChangeType::Delete => "DELETE",
    };
    let image = |values: &Option<Vec<Value>>| {
        values.as_ref().map_or(Value::Null, |v| {
            Value::Json(json::object(columns, &zone.localize_row(columns, v)))
        })
    };
    vec![
        Value::DateTime(datetime_from_unix_micros(local_us)),
        Value::Text(kind.into()),
        change.gtid.clone().map_or(Value::Null, Value::Text),
        Value::Text(change.binlog_file.clone()),
        Value::UInt(change.binlog_pos),
        Value::Json(json::names(&change.changed_columns)),
        image(&change.row_before),
        image(&change.row_after),
    ]
}
