//! Answers to connection chatter: `SELECT @@var`, `SELECT DATABASE()`, `SET ...`, `USE`, no-op
//! transactions, `SHOW WARNINGS` (CLIENTS.md lists who sends what); `SHOW VARIABLES`,
//! `SHOW COLLATION`, `SHOW CHARACTER SET`, `SHOW ENGINES` in `show`; the virtual catalog
//! (`SHOW DATABASES/TABLES/COLUMNS`, `SHOW CREATE TABLE`, ...) in [`catalog`].

pub mod catalog;
pub mod information_schema;
mod show;
mod variables;

use self::variables::{set, variable};
pub(crate) use self::variables::{variable_text, VARIABLES};

use mysql_common::packets::Column;

use crate::charset::ClientCharset;
use crate::classify::{Chatter, ChatterExpr, ChatterFunction, ChatterItem, Literal};
use crate::encode::{simple_column, SimpleType};
use crate::error::MysqlError;
use crate::plan::TimeZone;

/// Version string announced in the handshake and by `VERSION()` / `@@version`.
pub const SERVER_VERSION: &str = concat!("8.0.35-dbtrail-shim-", env!("CARGO_PKG_VERSION"));
/// `@@version_comment`.
pub const VERSION_COMMENT: &str = "dbtrail-shim (time-travel SQL over agent-core)";
/// `@@max_allowed_packet`, bytes (the shim's packet limit).
pub const MAX_ALLOWED_PACKET: i64 = 64 << 20;

/// Per-connection state chatter reads and writes.
#[derive(Debug, Clone)]
pub struct SessionState {
    /// Authenticated MySQL user.
    pub user: String,
    /// Client host, for `USER()`.
    pub host: String,
    /// Connection id from the handshake.
    pub connection_id: u32,
    /// Current database (`USE`, COM_INIT_DB, connect-time database).
    pub database: Option<String>,
    /// Session `time_zone` used to read time literals.
    pub time_zone: TimeZone,
    /// `@@time_zone` as set (`SYSTEM`, `+02:00`, `UTC`).
    pub time_zone_name: String,
    /// TLS is configured on the shim port (`@@have_ssl` = `YES`, else `DISABLED`).
    pub tls_configured: bool,
    /// The zone `SYSTEM` stands for (config `default_time_zone`).
    pub default_time_zone: TimeZone,
    /// `@@autocommit`.
    pub autocommit: bool,
    /// `@@sql_mode` as set.
    pub sql_mode: String,
    /// `@@character_set_client`: statement text and string parameters arrive in it.
    pub client_charset: ClientCharset,
    /// `@@character_set_connection` / `@@collation_connection`.
    pub connection_charset: ClientCharset,
    /// `@@character_set_results`: result text, column names and error messages leave in it;
    /// `None` is `NULL` (strings unconverted).
    pub results_charset: Option<ClientCharset>,
    /// The collation of the handshake (or COM_CHANGE_USER): what a session starts with and
    /// COM_RESET_CONNECTION restores.
    pub handshake_charset: ClientCharset,
    /// User variables (`@name`, lowercase) as set.
    pub user_variables: Vec<(String, Literal)>,
    /// Warnings of the last statement, for `SHOW WARNINGS`: `(code, message)`.
    pub warnings: Vec<(u16, String)>,
    /// Session values of system variables set with `SET` (`wait_timeout`, `sql_select_limit`,
    /// ...): `(name, value as text)`; `SELECT @@name` answers them, `DEFAULT` removes one.
    pub system_variables: Vec<(String, String)>,
}

impl SessionState {
    /// A fresh session for `user`.
    pub fn new(user: String, host: String, connection_id: u32, zone: TimeZone) -> Self {
        Self {
            user,
            host,
            connection_id,
            database: None,
            time_zone: zone.clone(),
            time_zone_name: "SYSTEM".into(),
            default_time_zone: zone,
            tls_configured: false,
            autocommit: true,
            sql_mode: "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION".into(),
            client_charset: ClientCharset::server_default(),
            connection_charset: ClientCharset::server_default(),
            results_charset: Some(ClientCharset::server_default()),
            handshake_charset: ClientCharset::server_default(),
            user_variables: Vec::new(),
            warnings: Vec::new(),
            system_variables: Vec::new(),
        }
    }

    /// The session value of system variable `name` as set, `None` when at its default.
    pub fn system_variable(&self, name: &str) -> Option<&str> {
        self.system_variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The collation the client announced at login: `character_set_client`,
    /// `character_set_connection` and `character_set_results` all take it, as in MySQL.
    pub fn set_handshake_charset(&mut self, charset: ClientCharset) {
        self.handshake_charset = charset;
        self.set_names(charset);
    }

    /// `SET NAMES`: client, connection and results charset at once.
    pub fn set_names(&mut self, charset: ClientCharset) {
        self.client_charset = charset;
        self.connection_charset = charset;
        self.results_charset = Some(charset);
    }

    /// The charset result text is converted to, `None` when it is sent as it is
    /// (`character_set_results` `NULL`).
    pub fn results(&self) -> Option<&ClientCharset> {
        self.results_charset.as_ref()
    }

    /// `@@sql_select_limit`: the most rows a time-travel `SELECT` returns; `None` when at its
    /// default (unlimited, 2^64-1).
    pub fn select_limit(&self) -> Option<u64> {
        self.system_variable("sql_select_limit")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n != u64::MAX)
    }

    /// COM_RESET_CONNECTION: session variables back to defaults; user and database stay.
    pub fn reset(&mut self) {
        let fresh = Self::new(
            self.user.clone(),
            self.host.clone(),
            self.connection_id,
            self.default_time_zone.clone(),
        );
        let handshake = self.handshake_charset;
        *self = Self {
            database: self.database.take(),
            tls_configured: self.tls_configured,
            ..fresh
        };
        self.set_handshake_charset(handshake);
    }
}

/// What chatter answers with.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatterReply {
    /// An OK packet.
    Ok,
    /// A small text result set.
    Rows(TextResult),
}

/// Column definitions and text rows (`None` = NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct TextResult {
    /// Column definitions.
    pub columns: Vec<Column>,
    /// Rows of text values.
    pub rows: Vec<Vec<Option<String>>>,
}

/// A computed value with its result type.
enum Cell {
    Int(i64),
    Text(String),
    Null,
}

/// Answers `chatter`, updating `state`.
pub fn answer(chatter: &Chatter, state: &mut SessionState) -> Result<ChatterReply, MysqlError> {
    match chatter {
        Chatter::Select { items, limit } => select(items, *limit, state).map(ChatterReply::Rows),
        Chatter::Set(items) => {
            for item in items {
                set(item, state)?;
            }
            Ok(ChatterReply::Ok)
        }
        Chatter::SetNames { charset, collation } => {
            state.set_names(ClientCharset::for_set_names(charset, collation.as_deref())?);
            Ok(ChatterReply::Ok)
        }
        Chatter::SetTransaction | Chatter::Transaction => Ok(ChatterReply::Ok),
        Chatter::Use(db) => {
            state.database = Some(db.clone());
            Ok(ChatterReply::Ok)
        }
        Chatter::ShowWarnings => Ok(ChatterReply::Rows(show_warnings(state))),
        Chatter::ShowVariables(filter) => Ok(ChatterReply::Rows(show::variables(filter, state))),
        Chatter::ShowCollation(filter) => Ok(ChatterReply::Rows(show::collations(filter))),
        Chatter::ShowCharset(filter) => Ok(ChatterReply::Rows(show::charsets(filter))),
        Chatter::ShowEngines => Ok(ChatterReply::Rows(show::engines())),
        // The session answers KILL itself (it needs the other sessions).
        Chatter::Kill { .. } => Err(MysqlError::unsupported("KILL here")),
    }
}

fn select(
    items: &[ChatterItem],
    limit: Option<u64>,
    state: &SessionState,
) -> Result<TextResult, MysqlError> {
    let cells = items
        .iter()
        .map(|item| evaluate(&item.expr, state))
        .collect::<Result<Vec<_>, _>>()?;
    let columns = items
        .iter()
        .zip(&cells)
        .map(|(item, cell)| match cell {
            Cell::Int(n) => simple_column(&item.name, SimpleType::Int, n.to_string().len() as u32),
            Cell::Text(s) => simple_column(&item.name, SimpleType::Text, s.chars().count() as u32),
            Cell::Null => simple_column(&item.name, SimpleType::Null, 0),
        })
        .collect();
    let row: Vec<Option<String>> = cells
        .into_iter()
        .map(|cell| match cell {
            Cell::Int(n) => Some(n.to_string()),
            Cell::Text(s) => Some(s),
            Cell::Null => None,
        })
        .collect();
    let rows = if limit == Some(0) {
        Vec::new()
    } else {
        vec![row]
    };
    Ok(TextResult { columns, rows })
}

fn evaluate(expr: &ChatterExpr, state: &SessionState) -> Result<Cell, MysqlError> {
    Ok(match expr {
        ChatterExpr::Literal(lit) => literal_cell(lit),
        ChatterExpr::SystemVariable(name) => variable(name, state)?,
        ChatterExpr::UserVariable(name) => state
            .user_variables
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Cell::Null, |(_, lit)| literal_cell(lit)),
        ChatterExpr::Function(f) => match f {
            ChatterFunction::Database => state.database.clone().map_or(Cell::Null, Cell::Text),
            ChatterFunction::Version => Cell::Text(SERVER_VERSION.into()),
            ChatterFunction::User => Cell::Text(format!("{}@{}", state.user, state.host)),
            // Tenants (and the monitor user) carry no host restriction in the shim's config: the
            // account is MySQL's `'app'@'%'`.
            ChatterFunction::CurrentUser => Cell::Text(format!("{}@%", state.user)),
            ChatterFunction::ConnectionId => Cell::Int(i64::from(state.connection_id)),
        },
    })
}

fn literal_cell(lit: &Literal) -> Cell {
    match lit {
        Literal::Null => Cell::Null,
        Literal::Int(n) => Cell::Int(*n),
        Literal::UInt(n) => Cell::Text(n.to_string()),
        Literal::Number(s) | Literal::Text(s) => Cell::Text(s.clone()),
        Literal::Bytes(b) => Cell::Text(String::from_utf8_lossy(b).into_owned()),
    }
}

fn show_warnings(state: &SessionState) -> TextResult {
    let longest = state
        .warnings
        .iter()
        .map(|(_, m)| m.chars().count())
        .max()
        .unwrap_or(1);
    TextResult {
        columns: vec![
            simple_column("Level", SimpleType::Text, 7),
            simple_column("Code", SimpleType::Int, 4),
            simple_column("Message", SimpleType::Text, longest as u32),
        ],
        rows: state
            .warnings
            .iter()
            .map(|(code, message)| {
                vec![
                    Some("Warning".into()),
                    Some(code.to_string()),
                    Some(message.clone()),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
