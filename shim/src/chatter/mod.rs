//! Answers to connection chatter: `SELECT @@var`, `SELECT DATABASE()`, `SET ...`, `USE`, no-op
//! transactions, `SHOW WARNINGS` (CLIENTS.md lists who sends what).

use mysql_common::packets::Column;

use crate::classify::{
    Chatter, ChatterExpr, ChatterFunction, ChatterItem, Literal, SetItem, SetValue,
};
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
    /// The zone `SYSTEM` stands for (config `default_time_zone`).
    pub default_time_zone: TimeZone,
    /// `@@autocommit`.
    pub autocommit: bool,
    /// `@@sql_mode` as set.
    pub sql_mode: String,
    /// Character set from `SET NAMES`.
    pub charset: String,
    /// User variables (`@name`, lowercase) as set.
    pub user_variables: Vec<(String, Literal)>,
    /// Warnings of the last statement, for `SHOW WARNINGS`: `(code, message)`.
    pub warnings: Vec<(u16, String)>,
}

impl SessionState {
    /// A fresh session for `user`.
    pub fn new(user: String, host: String, connection_id: u32, zone: TimeZone) -> Self {
        Self {
            user,
            host,
            connection_id,
            database: None,
            time_zone: zone,
            time_zone_name: "SYSTEM".into(),
            default_time_zone: zone,
            autocommit: true,
            sql_mode: "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION".into(),
            charset: "utf8mb4".into(),
            user_variables: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// COM_RESET_CONNECTION: session variables back to defaults; user and database stay.
    pub fn reset(&mut self) {
        let fresh = Self::new(
            self.user.clone(),
            self.host.clone(),
            self.connection_id,
            self.default_time_zone,
        );
        *self = Self {
            database: self.database.take(),
            ..fresh
        };
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
        Chatter::SetNames { charset } => {
            state.charset = charset.to_ascii_lowercase();
            Ok(ChatterReply::Ok)
        }
        Chatter::SetTransaction | Chatter::Transaction => Ok(ChatterReply::Ok),
        Chatter::Use(db) => {
            state.database = Some(db.clone());
            Ok(ChatterReply::Ok)
        }
        Chatter::ShowWarnings => Ok(ChatterReply::Rows(show_warnings(state))),
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

/// Session/global system variables the shim answers; unknown names are 1193 as in MySQL.
fn variable(name: &str, state: &SessionState) -> Result<Cell, MysqlError> {
    let text = |s: &str| Cell::Text(s.to_owned());
    Ok(match name {
        "version" => text(SERVER_VERSION),
        "version_comment" => text(VERSION_COMMENT),
        "autocommit" => Cell::Int(i64::from(state.autocommit)),
        "time_zone" => Cell::Text(state.time_zone_name.clone()),
        "system_time_zone" => text("UTC"),
        "sql_mode" => Cell::Text(state.sql_mode.clone()),
        "character_set_client" | "character_set_connection" | "character_set_results" => {
            Cell::Text(state.charset.clone())
        }
        "character_set_server" | "character_set_database" | "character_set_system" => {
            text("utf8mb4")
        }
        "collation_connection" | "collation_server" | "collation_database" => {
            text("utf8mb4_0900_ai_ci")
        }
        "max_allowed_packet" => Cell::Int(MAX_ALLOWED_PACKET),
        "net_buffer_length" => Cell::Int(16_384),
        "lower_case_table_names" => Cell::Int(0),
        "auto_increment_increment" => Cell::Int(1),
        "wait_timeout" | "interactive_timeout" => Cell::Int(28_800),
        "net_write_timeout" => Cell::Int(60),
        "read_only" | "super_read_only" => Cell::Int(0),
        "transaction_read_only" | "tx_read_only" => Cell::Int(0),
        "transaction_isolation" | "tx_isolation" => text("REPEATABLE-READ"),
        "license" => text("Apache-2.0"),
        "init_connect" => text(""),
        "performance_schema" => Cell::Int(0),
        "query_cache_size" => Cell::Int(0),
        "query_cache_type" => text("OFF"),
        "sql_select_limit" => Cell::Text("18446744073709551615".into()),
        "have_ssl" | "have_openssl" => text("DISABLED"),
        "port" => Cell::Int(3308),
        "hostname" => text("dbtrail-shim"),
        _ => return Err(MysqlError::unknown_variable(name)),
    })
}

/// Variables `SET` accepts (they are tracked by ProxySQL and replayed on pooled connections).
const ACCEPTED_SET: &[&str] = &[
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "collation_connection",
    "sql_auto_is_null",
    "sql_safe_updates",
    "sql_select_limit",
    "net_write_timeout",
    "net_read_timeout",
    "wait_timeout",
    "interactive_timeout",
    "transaction_isolation",
    "tx_isolation",
    "transaction_read_only",
    "session_track_schema",
    "session_track_system_variables",
    "session_track_state_change",
    "session_track_gtids",
    "max_execution_time",
    "group_concat_max_len",
    "foreign_key_checks",
    "unique_checks",
    "sql_quote_show_create",
    "names",
];

fn set(item: &SetItem, state: &mut SessionState) -> Result<(), MysqlError> {
    if item.name.starts_with('@') {
        let value = match &item.value {
            SetValue::Literal(lit) => lit.clone(),
            SetValue::Word(w) => Literal::Text(w.clone()),
        };
        state.user_variables.retain(|(n, _)| n != &item.name);
        state.user_variables.push((item.name.clone(), value));
        return Ok(());
    }
    let text = value_text(&item.value);
    match item.name.as_str() {
        "autocommit" => {
            state.autocommit = match text.to_ascii_lowercase().as_str() {
                "1" | "on" | "true" => true,
                "0" | "off" | "false" => false,
                _ => return Err(wrong_value(&item.name, &text)),
            }
        }
        "time_zone" => set_time_zone(&text, state)?,
        "sql_mode" => state.sql_mode = text,
        name if ACCEPTED_SET.contains(&name) => {}
        name => return Err(MysqlError::unknown_variable(name)),
    }
    Ok(())
}

fn set_time_zone(text: &str, state: &mut SessionState) -> Result<(), MysqlError> {
    let zone = if text.eq_ignore_ascii_case("system") || text.eq_ignore_ascii_case("default") {
        state.default_time_zone
    } else {
        TimeZone::parse(text).ok_or_else(|| MysqlError::unknown_time_zone(text))?
    };
    state.time_zone = zone;
    state.time_zone_name = if text.eq_ignore_ascii_case("default") {
        "SYSTEM".into()
    } else {
        text.to_owned()
    };
    Ok(())
}

fn value_text(value: &SetValue) -> String {
    match value {
        SetValue::Word(w) => w.clone(),
        SetValue::Literal(Literal::Null) => String::new(),
        SetValue::Literal(Literal::Int(n)) => n.to_string(),
        SetValue::Literal(Literal::UInt(n)) => n.to_string(),
        SetValue::Literal(Literal::Number(s) | Literal::Text(s)) => s.clone(),
        SetValue::Literal(Literal::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// 1231 (42000) `ER_WRONG_VALUE_FOR_VAR`.
fn wrong_value(name: &str, value: &str) -> MysqlError {
    MysqlError::new(
        1231,
        b"42000",
        format!("Variable '{name}' can't be set to the value of '{value}'"),
    )
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
mod tests {
    use super::*;
    use crate::classify::{classify, ShimStatement};

    fn run(sql: &str, state: &mut SessionState) -> Result<ChatterReply, MysqlError> {
        let Ok(ShimStatement::Chatter(chatter)) = classify(sql) else {
            panic!("{sql} is not chatter");
        };
        answer(&chatter, state)
    }

    fn state() -> SessionState {
        SessionState::new("app".into(), "127.0.0.1".into(), 7, TimeZone::UTC)
    }

    #[test]
    fn variables_and_functions() {
        let mut s = state();
        let Ok(ChatterReply::Rows(r)) = run("SELECT @@version_comment LIMIT 1", &mut s) else {
            panic!()
        };
        assert_eq!(r.rows, vec![vec![Some(VERSION_COMMENT.to_owned())]]);
        assert_eq!(r.columns[0].name_str(), "@@version_comment");
        let Ok(ChatterReply::Rows(r)) = run(
            "select @@session.autocommit, @@max_allowed_packet, DATABASE(), CONNECTION_ID()",
            &mut s,
        ) else {
            panic!()
        };
        assert_eq!(
            r.rows[0],
            vec![
                Some("1".into()),
                Some(MAX_ALLOWED_PACKET.to_string()),
                None,
                Some("7".into())
            ]
        );
        let e = run("SELECT @@nope", &mut s).unwrap_err();
        assert_eq!(e.code, 1193);
    }

    #[test]
    fn set_statements() {
        let mut s = state();
        for sql in [
            "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
            "SET autocommit=1",
            "SET character_set_results = NULL",
            "SET sql_mode='STRICT_TRANS_TABLES'",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET @dbtrail_as_of = '2026-04-27 09:00'",
        ] {
            assert_eq!(run(sql, &mut s), Ok(ChatterReply::Ok), "{sql}");
        }
        assert_eq!(
            run("SET time_zone = '+02:00'", &mut s),
            Ok(ChatterReply::Ok)
        );
        assert_eq!(s.time_zone.offset_secs, 7200);
        assert_eq!(
            run("SET time_zone = 'Mars/Olympus'", &mut s)
                .unwrap_err()
                .code,
            1298
        );
        assert_eq!(run("SET autocommit = 0", &mut s), Ok(ChatterReply::Ok));
        assert!(!s.autocommit);
        assert_eq!(run("SET nonsense_var = 1", &mut s).unwrap_err().code, 1193);
        assert_eq!(run("USE shop", &mut s), Ok(ChatterReply::Ok));
        assert_eq!(s.database.as_deref(), Some("shop"));
    }
}
