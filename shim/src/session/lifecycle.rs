//! Connection lifecycle commands of ProxySQL's pool and the mysql CLI: COM_CHANGE_USER,
//! COM_SET_OPTION, COM_FIELD_LIST, and what the monitor account may run.

use mysql_common::constants::CapabilityFlags;

use super::auth::verify_native;
use super::handshake::{salt, switch_to_native, HandshakeError};
use super::query::Failure;
use super::Session;
use crate::backend::mysql_error;
use crate::chatter::SessionState;
use crate::classify::{Chatter, ChatterExpr, ShimStatement};
use crate::encode::column_definition;
use crate::error::MysqlError;
use crate::server::Account;

/// The fields of COM_CHANGE_USER the shim uses (MySQL Client/Server Protocol,
/// "COM_CHANGE_USER"; CLIENT_SECURE_CONNECTION layout).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChangeUser {
    user: String,
    scramble: Vec<u8>,
    database: Option<String>,
    /// Auth plugin named by the client, when it sent one.
    plugin: Option<String>,
    /// The collation id the client switches to, when it sent one.
    collation: Option<u16>,
}

impl ChangeUser {
    /// Parses the body after the command byte.
    fn parse(body: &[u8], caps: CapabilityFlags) -> Option<Self> {
        let (user, rest) = split_nul(body)?;
        let (&len, rest) = rest.split_first()?;
        let scramble = rest.get(..usize::from(len))?.to_vec();
        let rest = &rest[usize::from(len)..];
        let (database, rest) = split_nul(rest).unwrap_or((rest, &[]));
        let collation = rest.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        let plugin = match rest.get(2..) {
            Some(after_charset) if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) => {
                split_nul(after_charset).map(|(p, _)| text(p))
            }
            _ => None,
        };
        Some(Self {
            user: text(user),
            scramble,
            database: Some(text(database)).filter(|d| !d.is_empty()),
            plugin: plugin.filter(|p| !p.is_empty()),
            collation,
        })
    }
}

/// `(bytes before the first NUL, bytes after it)`.
fn split_nul(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == 0)?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Statements the monitor account may run: `SELECT` of system variables and constants
/// (`@@global.read_only`, and what connectors probe at connect such as `@@max_allowed_packet`),
/// `SET wait_timeout = n`. Nothing that reads a tenant's data or changes session state.
pub(super) fn monitor_may_run(statement: &ShimStatement) -> bool {
    match statement {
        ShimStatement::Chatter(Chatter::Select { items, .. }) => items.iter().all(|i| {
            matches!(
                i.expr,
                ChatterExpr::SystemVariable(_) | ChatterExpr::Literal(_)
            )
        }),
        ShimStatement::Chatter(Chatter::Set(items)) => {
            items.iter().all(|i| i.name == "wait_timeout")
        }
        _ => false,
    }
}

impl Session {
    /// COM_CHANGE_USER: authenticates the new user (the packet's scramble against the
    /// connection's salt, else an AuthSwitchRequest with a fresh salt), then resets the session:
    /// database, variables, warnings, prepared statements. A refusal closes the connection, as
    /// in MySQL.
    pub(super) async fn change_user(&mut self, body: &[u8]) -> std::io::Result<()> {
        let Some(request) = ChangeUser::parse(body, self.caps) else {
            let e = MysqlError::malformed_packet("COM_CHANGE_USER");
            self.send_err(&e).await?;
            return self.close_after_refusal().await;
        };
        // As at login: one check at a time per address with failures, an unknown user refused
        // exactly as a wrong password (the log keeps the real reason), each failure delayed.
        let ip = self.state.host.parse().ok();
        let turn = match ip {
            Some(ip) => self.shared.hosts.auth_turn(ip).await,
            None => None,
        };
        let known = self.shared.account(&request.user);
        let password = match &known {
            Some((_, password)) => (*password).to_owned(),
            None => super::handshake::unguessable(),
        };
        let native = request
            .plugin
            .as_deref()
            .is_none_or(|p| p == "mysql_native_password");
        let mut proof_salt = self.salt;
        let mut proved = native && verify_native(&proof_salt, &password, &request.scramble);
        let mut sent = !request.scramble.is_empty();
        if !proved {
            proof_salt = salt();
            let scramble = switch_to_native(&mut self.reader, &mut self.writer, &proof_salt)
                .await
                .map_err(|e| match e {
                    HandshakeError::Io(e) => e,
                    HandshakeError::Refused(_) => std::io::ErrorKind::ConnectionAborted.into(),
                })?;
            sent = !scramble.is_empty();
            proved = verify_native(&proof_salt, &password, &scramble);
        }
        let account = match known {
            Some((account, _)) if proved => account,
            known => {
                let e = MysqlError::access_denied(&request.user, &self.state.host, sent);
                let reason = match known {
                    Some(_) => e.message.clone(),
                    None => MysqlError::unknown_tenant(&request.user).message,
                };
                let now = std::time::Instant::now();
                self.shared.denials.record(&request.user, &reason, now);
                if let Some(ip) = ip {
                    tokio::time::sleep(self.shared.hosts.auth_failed(ip, now)).await;
                }
                drop(turn);
                self.send_err(&e).await?;
                return self.close_after_refusal().await;
            }
        };
        drop(turn);
        if let (Account::Tenant(tenant), Some(db)) = (&account, &request.database) {
            if !tenant.may_use(db) {
                let e = MysqlError::schema_denied(&request.user, &self.state.host, db);
                self.send_err(&e).await?;
                return self.close_after_refusal().await;
            }
        }
        tracing::info!(user = %request.user, "change user");
        self.handle.set_user(&request.user);
        self.account = account;
        self.salt = proof_salt;
        let charset = match request.collation {
            Some(id) => crate::charset::ClientCharset::from_handshake(id),
            None => self.state.handshake_charset,
        };
        self.state = SessionState::new(
            request.user,
            self.state.host.clone(),
            self.state.connection_id,
            self.shared.default_time_zone.clone(),
        );
        self.state.database = request.database;
        self.state.set_handshake_charset(charset);
        self.state.tls_configured = self.shared.tls.is_some();
        self.statements.clear();
        self.send_ok().await
    }

    async fn close_after_refusal(&mut self) -> std::io::Result<()> {
        self.writer.flush().await?;
        Err(std::io::ErrorKind::ConnectionAborted.into())
    }

    /// COM_SET_OPTION: 0 = multi-statements on, 1 = off; answered with EOF as MySQL does
    /// (an OK with header 0xFE under CLIENT_DEPRECATE_EOF); anything else is ERR 1047.
    pub(super) async fn set_option(&mut self, body: &[u8]) -> std::io::Result<()> {
        match body {
            [0 | 1, 0] => self.send_end_of_rows(0).await,
            _ => {
                self.send_err(&MysqlError::new(1047, b"08S01", "Unknown command"))
                    .await
            }
        }
    }

    /// COM_FIELD_LIST `<table>\0<wildcard>`: the column definitions of a table of the current
    /// database (as `_flashback.<table>` serves it), then EOF. The mysql CLI sends one per table
    /// for auto-rehash.
    pub(super) async fn field_list(&mut self, body: &[u8]) -> std::io::Result<()> {
        let name = split_nul(body).map_or(body, |(t, _)| t);
        let table_name = self.state.client_charset.decode(name).into_owned();
        let result = self.field_list_columns(&table_name).await;
        match result {
            Ok(columns) => {
                let mut buf = Vec::new();
                for column in &columns {
                    buf.clear();
                    self.write_definition(column, &mut buf);
                    self.writer.write(&buf).await?;
                }
                self.send_end_of_rows(0).await
            }
            Err(Some(e)) => self.send_err(&e).await,
            Err(None) => Err(std::io::ErrorKind::ConnectionAborted.into()),
        }
    }

    /// The definitions for COM_FIELD_LIST; `Err(None)` when the client went away.
    async fn field_list_columns(
        &mut self,
        table_name: &str,
    ) -> Result<Vec<mysql_common::packets::Column>, Option<MysqlError>> {
        if self.state.database.is_none() {
            return Err(Some(MysqlError::no_database()));
        }
        // After `USE _flashback` the table resolves as `_flashback.<t>` does.
        let schema = match self.read_schema(None, table_name).await {
            Ok(schema) => schema,
            Err(Failure::Mysql(e)) => return Err(Some(e)),
            Err(Failure::Disconnected) => return Err(None),
        };
        let tenant = self.tenant().map_err(Some)?;
        self.check_schema(&tenant, &schema).map_err(Some)?;
        let lookup = tenant
            .backend
            .table(tenant.config.server_id, &schema, table_name);
        let found = self.until_disconnect(lookup).await.map_err(|_| None)?;
        let table = found
            .map_err(|e| Some(mysql_error(&e)))?
            .ok_or_else(|| Some(MysqlError::no_such_table(&schema, table_name)))?;
        // After `USE _diff` a table describes itself as its change rows.
        let described;
        let table: &agent_api::catalog::TableInfo = match &self.state.database {
            Some(db) if crate::chatter::catalog::is_diff(db) => {
                described = crate::chatter::catalog::as_diff_table((*table).clone());
                &described
            }
            _ => &table,
        };
        let is_pk = |name: &str| {
            table
                .primary_key
                .iter()
                .any(|k| k.eq_ignore_ascii_case(name))
        };
        Ok(table
            .columns
            .iter()
            .map(|c| column_definition(c, &table.name, &c.name, is_pk(&c.name)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;

    #[test]
    fn parses_change_user() {
        let mut body = b"bob\0".to_vec();
        body.push(20);
        body.extend_from_slice(&[7; 20]);
        body.extend_from_slice(b"shop\0");
        body.extend_from_slice(&[45, 0]);
        body.extend_from_slice(b"mysql_native_password\0");
        let caps = CapabilityFlags::CLIENT_PLUGIN_AUTH;
        let parsed = ChangeUser::parse(&body, caps).unwrap();
        assert_eq!(parsed.user, "bob");
        assert_eq!(parsed.scramble, vec![7; 20]);
        assert_eq!(parsed.database.as_deref(), Some("shop"));
        assert_eq!(parsed.plugin.as_deref(), Some("mysql_native_password"));
        assert_eq!(parsed.collation, Some(45));
        let short = ChangeUser::parse(b"bob\0\0", caps).unwrap();
        assert_eq!((short.database, short.plugin), (None, None));
        assert!(ChangeUser::parse(b"bob", caps).is_none());
    }

    #[test]
    fn monitor_statements() {
        let may = |sql: &str| monitor_may_run(&classify(sql).unwrap());
        assert!(may("SELECT @@global.read_only read_only"));
        assert!(may("SELECT 1"));
        assert!(may("SET wait_timeout=2000"));
        assert!(may("SELECT @@max_allowed_packet, @@wait_timeout"));
        assert!(!may("SELECT USER()"));
        assert!(!may("USE shop"));
        assert!(!may("SET sql_mode=''"));
        assert!(!may(
            "SELECT * FROM _flashback.orders AS OF 'now' WHERE id = 1"
        ));
    }
}
