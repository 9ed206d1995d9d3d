//! Prepared statements: COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_SEND_LONG_DATA,
//! COM_STMT_CLOSE and COM_STMT_RESET (MySQL Client/Server Protocol, "Prepared Statements").
//!
//! The statement is kept as text; EXECUTE splices the bound parameters in as SQL literals
//! ([`crate::classify::placeholder`]) and runs the result like COM_QUERY, with binary rows.

use mysql_common::constants::{CapabilityFlags, ColumnType};
use mysql_common::packets::Column;
use tracing::{info_span, Instrument};

use super::query::{Failure, RowFormat};
use super::{packets, Session};
use crate::classify::placeholder::{bind, placeholders};
use crate::classify::{classify, truncate, Projection, ShimStatement};
use crate::encode::{column_definition, BINARY_COLLATION};
use crate::error::MysqlError;

/// Length of the COM_STMT_EXECUTE header after the command byte: statement id (4), flags (1),
/// iteration count (4).
const EXECUTE_HEADER: usize = 9;

impl Session {
    /// COM_STMT_PREPARE: statement id, column and parameter counts, then the parameter and (when
    /// known from the table metadata) column definitions.
    pub(super) async fn stmt_prepare(&mut self, body: &[u8]) -> std::io::Result<()> {
        let sql = self.state.client_charset.decode(body).into_owned();
        // What COM_QUERY would refuse before parsing is refused here, before it is kept.
        if let Err(e) = crate::classify::complexity::check_text(&sql) {
            return self.send_err(&e.into()).await;
        }
        let offsets = placeholders(&sql);
        let Ok(params) = u16::try_from(offsets.len()) else {
            let e = MysqlError::new(
                1390,
                b"HY000",
                "Prepared statement contains too many placeholders",
            );
            return self.send_err(&e).await;
        };
        let columns = match self.prepared_columns(&sql, &offsets).await {
            Ok(columns) => columns,
            Err(_) => return Err(std::io::ErrorKind::ConnectionAborted.into()),
        };
        let id = self.statements.insert(sql, offsets);
        let count = u16::try_from(columns.len()).unwrap_or(u16::MAX);
        self.writer.write(&prepare_ok(id, count, params)).await?;
        let param_definitions = vec![parameter_definition(); usize::from(params)];
        self.send_definitions(&param_definitions).await?;
        self.send_definitions(&columns).await
    }

    /// Column definitions followed by EOF (unless CLIENT_DEPRECATE_EOF); nothing when empty.
    async fn send_definitions(&mut self, columns: &[Column]) -> std::io::Result<()> {
        if columns.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for column in columns {
            buf.clear();
            self.write_definition(column, &mut buf);
            self.writer.write(&buf).await?;
        }
        if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.writer.write(&packets::eof(self.status(), 0)).await?;
        }
        Ok(())
    }

    /// The result columns of a time-travel statement from the table's current metadata; empty
    /// when they cannot be known before EXECUTE (0 columns is legal: the EXECUTE result carries
    /// its own definitions).
    async fn prepared_columns(
        &mut self,
        sql: &str,
        offsets: &[usize],
    ) -> Result<Vec<Column>, Failure> {
        let probe = bind(sql, offsets, &vec!["'now'".to_owned(); offsets.len()]);
        let Ok(ShimStatement::Flashback(query)) = classify(&probe) else {
            return Ok(Vec::new());
        };
        let schema = match self
            .read_schema(query.schema.as_deref(), &query.table)
            .await
        {
            Ok(schema) => schema,
            Err(Failure::Disconnected) => return Err(Failure::Disconnected),
            Err(Failure::Mysql(_)) => return Ok(Vec::new()),
        };
        let Ok(tenant) = self.tenant() else {
            return Ok(Vec::new());
        };
        if !tenant.config.allows(&schema) {
            return Ok(Vec::new());
        }
        let backend = &tenant.backend;
        let server_id = tenant.config.server_id;
        let lookup = backend.table(server_id, &schema, &query.table);
        let Ok(Some(table)) = self.until_disconnect(lookup).await? else {
            return Ok(Vec::new());
        };
        let is_pk = |name: &str| {
            table
                .primary_key
                .iter()
                .any(|k| k.eq_ignore_ascii_case(name))
        };
        let definition = |index: usize, output: &str| {
            let column = &table.columns[index];
            column_definition(column, &table.name, output, is_pk(&column.name))
        };
        Ok(match &query.projection {
            Projection::Star => (0..table.columns.len())
                .map(|i| definition(i, &table.columns[i].name))
                .collect(),
            Projection::Columns(list) => list
                .iter()
                .map(|c| {
                    let output = c.alias.as_deref().unwrap_or(&c.column);
                    table.column_index(&c.column).map(|i| definition(i, output))
                })
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default(),
        })
    }

    /// COM_STMT_EXECUTE: binds the parameters and runs the statement with binary rows.
    pub(super) async fn stmt_execute(&mut self, body: &[u8]) -> std::io::Result<()> {
        let Some(id) = statement_id(body) else {
            return self
                .send_err(&MysqlError::malformed_packet("COM_STMT_EXECUTE header"))
                .await;
        };
        let Some(statement) = self.statements.get_mut(id) else {
            return self
                .send_err(&MysqlError::unknown_statement(id, "mysqld_stmt_execute"))
                .await;
        };
        let params = body.get(EXECUTE_HEADER..).unwrap_or_default();
        let values = match statement.bind_params(params) {
            Ok(values) => values,
            Err(e) => return self.send_err(&e).await,
        };
        let no_backslash_escapes = false;
        let client = self.state.client_charset;
        let literals: Vec<String> = values
            .into_iter()
            .map(|v| match v {
                // String parameters are in `character_set_client`, like statement text.
                mysql_common::Value::Bytes(bytes) if !client.sends_utf8() => {
                    mysql_common::Value::Bytes(client.decode(&bytes).into_owned().into_bytes())
                }
                other => other,
            })
            .map(|v| v.as_sql(no_backslash_escapes))
            .collect();
        let sql = bind(&statement.sql, &statement.placeholders, &literals);
        let span = info_span!("execute", statement = id, sql = %truncate(&sql));
        self.run_query(&sql, RowFormat::Binary)
            .instrument(span)
            .await
    }

    /// COM_STMT_SEND_LONG_DATA: appends to a parameter; never answered (not even on error).
    pub(super) fn stmt_send_long_data(&mut self, body: &[u8]) {
        let (Some(id), Some(index)) = (statement_id(body), body.get(4..6)) else {
            return;
        };
        let index = u16::from_le_bytes([index[0], index[1]]);
        (self.statements).append_long_data(id, index, body.get(6..).unwrap_or_default());
    }

    /// COM_STMT_CLOSE: forgets the statement; never answered.
    pub(super) fn stmt_close(&mut self, body: &[u8]) {
        if let Some(id) = statement_id(body) {
            self.statements.remove(id);
        }
    }

    /// COM_STMT_RESET: drops collected long data; OK, or ERR 1243 for an unknown id.
    pub(super) async fn stmt_reset(&mut self, body: &[u8]) -> std::io::Result<()> {
        let id = statement_id(body).unwrap_or(0);
        match self.statements.get_mut(id) {
            Some(statement) => {
                statement.reset();
                self.send_ok().await
            }
            None => {
                self.send_err(&MysqlError::unknown_statement(id, "mysqld_stmt_reset"))
                    .await
            }
        }
    }
}

/// `COM_STMT_PREPARE_OK`: 0x00, statement id, column count, parameter count, filler, warnings.
fn prepare_ok(id: u32, columns: u16, params: u16) -> Vec<u8> {
    let mut buf = vec![0x00];
    buf.extend_from_slice(&id.to_le_bytes());
    buf.extend_from_slice(&columns.to_le_bytes());
    buf.extend_from_slice(&params.to_le_bytes());
    buf.extend_from_slice(&[0, 0, 0]);
    buf
}

/// The little-endian statement id at the start of a COM_STMT_* body.
fn statement_id(body: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = body.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The definition MySQL sends for each `?`: name `?`, binary VAR_STRING.
fn parameter_definition() -> Column {
    Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
        .with_name(b"?")
        .with_character_set(BINARY_COLLATION)
        .with_column_length(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_ok_decodes_with_mysql_common() {
        use mysql_common::io::ParseBuf;
        use mysql_common::packets::StmtPacket;
        let buf = prepare_ok(9, 8, 2);
        let packet: StmtPacket = ParseBuf(&buf).parse(()).unwrap();
        assert_eq!(
            (
                packet.statement_id(),
                packet.num_columns(),
                packet.num_params()
            ),
            (9, 8, 2)
        );
    }

    #[test]
    fn statement_ids_and_errors() {
        assert_eq!(statement_id(&[7, 0, 0, 0, 1]), Some(7));
        assert_eq!(statement_id(&[7, 0]), None);
        let e = MysqlError::unknown_statement(12, "mysqld_stmt_execute");
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (
                1243,
                "HY000",
                "Unknown prepared statement handler (12) given to mysqld_stmt_execute"
            )
        );
    }
}
