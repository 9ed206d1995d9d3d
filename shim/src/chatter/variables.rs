//! System variables: what `SELECT @@name` and `SHOW VARIABLES` answer, and what `SET` accepts
//! (the variables ProxySQL tracks and replays on pooled connections; anything else is ERR 1193,
//! which ProxySQL takes as "not supported here" and carries on).

use super::{Cell, SessionState, MAX_ALLOWED_PACKET, SERVER_VERSION, VERSION_COMMENT};
use crate::charset::ClientCharset;
use crate::classify::{Literal, SetItem, SetValue};
use crate::error::MysqlError;
use crate::plan::TimeZone;

/// Every variable [`variable`] answers, for `SHOW VARIABLES`.
pub(crate) const VARIABLES: &[&str] = &[
    "auto_increment_increment",
    "autocommit",
    "character_set_client",
    "character_set_connection",
    "character_set_database",
    "character_set_results",
    "character_set_server",
    "character_set_system",
    "collation_connection",
    "collation_database",
    "collation_server",
    "have_openssl",
    "have_ssl",
    "hostname",
    "init_connect",
    "interactive_timeout",
    "license",
    "lower_case_table_names",
    "max_allowed_packet",
    "max_execution_time",
    "net_buffer_length",
    "net_read_timeout",
    "net_write_timeout",
    "performance_schema",
    "port",
    "query_cache_size",
    "query_cache_type",
    "read_only",
    "sql_mode",
    "sql_select_limit",
    "super_read_only",
    "system_time_zone",
    "time_zone",
    "transaction_isolation",
    "transaction_read_only",
    "tx_isolation",
    "tx_read_only",
    "version",
    "version_comment",
    "wait_timeout",
];

/// The text `SHOW VARIABLES` prints for `name`, `None` when unknown.
pub(crate) fn variable_text(name: &str, state: &SessionState) -> Option<String> {
    match variable(name, state).ok()? {
        Cell::Int(n) => Some(n.to_string()),
        Cell::Text(s) => Some(s),
        Cell::Null => None,
    }
}

/// Session/global system variables the shim answers; unknown names are 1193 as in MySQL.
pub(super) fn variable(name: &str, state: &SessionState) -> Result<Cell, MysqlError> {
    let default = default_variable(name, state)?;
    Ok(match (state.system_variable(name), default) {
        (Some(set), Cell::Int(_)) => set
            .parse()
            .map_or_else(|_| Cell::Text(set.into()), Cell::Int),
        (Some(set), _) => Cell::Text(set.into()),
        (None, default) => default,
    })
}

/// The value of `name` before any `SET`.
fn default_variable(name: &str, state: &SessionState) -> Result<Cell, MysqlError> {
    let text = |s: &str| Cell::Text(s.to_owned());
    Ok(match name {
        "version" => text(SERVER_VERSION),
        "version_comment" => text(VERSION_COMMENT),
        "autocommit" => Cell::Int(i64::from(state.autocommit)),
        "time_zone" => Cell::Text(state.time_zone_name.clone()),
        "system_time_zone" => text("UTC"),
        "sql_mode" => Cell::Text(state.sql_mode.clone()),
        "character_set_client" => text(state.client_charset.charset),
        "character_set_connection" => text(state.connection_charset.charset),
        "character_set_results" => match state.results() {
            Some(charset) => text(charset.charset),
            None => Cell::Null,
        },
        "character_set_server" | "character_set_database" | "character_set_system" => {
            text("utf8mb4")
        }
        "collation_connection" => text(state.connection_charset.collation),
        "collation_server" | "collation_database" => text("utf8mb4_0900_ai_ci"),
        "max_allowed_packet" => Cell::Int(MAX_ALLOWED_PACKET),
        "net_buffer_length" => Cell::Int(16_384),
        "lower_case_table_names" => Cell::Int(0),
        "auto_increment_increment" => Cell::Int(1),
        "wait_timeout" | "interactive_timeout" => Cell::Int(28_800),
        "net_write_timeout" => Cell::Int(60),
        "net_read_timeout" => Cell::Int(30),
        "max_execution_time" => Cell::Int(0),
        // The shim never writes: ProxySQL's monitor reads `@@global.read_only` = 1 (a reader).
        "read_only" | "super_read_only" => Cell::Int(1),
        "transaction_read_only" | "tx_read_only" => Cell::Int(0),
        "transaction_isolation" | "tx_isolation" => text("REPEATABLE-READ"),
        // Connector/J reads `license` to decide on GPL-only features; MySQL Community says GPL.
        "license" => text("GPL"),
        "init_connect" => text(""),
        "performance_schema" => Cell::Int(0),
        "query_cache_size" => Cell::Int(0),
        "query_cache_type" => text("OFF"),
        "sql_select_limit" => Cell::Text("18446744073709551615".into()),
        "have_ssl" | "have_openssl" => text(if state.tls_configured {
            "YES"
        } else {
            "DISABLED"
        }),
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
    "max_join_size",
    "sql_big_selects",
    "lc_time_names",
    "innodb_lock_wait_timeout",
    "lock_wait_timeout",
    "optimizer_switch",
    "default_storage_engine",
    "default_tmp_storage_engine",
    "character_set_database",
    "join_buffer_size",
    "sort_buffer_size",
    "tmp_table_size",
    "max_heap_table_size",
    "long_query_time",
    "optimizer_search_depth",
    "optimizer_prune_level",
    "query_cache_type",
];

pub(super) fn set(item: &SetItem, state: &mut SessionState) -> Result<(), MysqlError> {
    if item.name.starts_with('@') {
        let value = match &item.value {
            SetValue::Literal(lit) => lit.clone(),
            SetValue::Word(w) => Literal::Text(w.clone()),
            other => Literal::Text(value_text(other, state)?),
        };
        state.user_variables.retain(|(n, _)| n != &item.name);
        state.user_variables.push((item.name.clone(), value));
        return Ok(());
    }
    let text = value_text(&item.value, state)?;
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
        "character_set_client"
        | "character_set_connection"
        | "character_set_results"
        | "collation_connection" => set_charset(&item.name, &item.value, &text, state)?,
        name if ACCEPTED_SET.contains(&name) => store(name, &item.value, text, state)?,
        name => return Err(MysqlError::unknown_variable(name)),
    }
    Ok(())
}

/// `SET character_set_client | character_set_connection | character_set_results |
/// collation_connection`: the conversion the session applies from then on. `DEFAULT` is the
/// server default (utf8mb4); `character_set_results = NULL` (Connector/J sends it) turns result
/// conversion off. ERR 1115 / 1273 for a charset or collation the shim cannot convert.
fn set_charset(
    name: &str,
    value: &SetValue,
    text: &str,
    state: &mut SessionState,
) -> Result<(), MysqlError> {
    let is_default = matches!(value, SetValue::Word(w) if w.eq_ignore_ascii_case("default"));
    let is_null = matches!(value, SetValue::Literal(Literal::Null))
        || matches!(value, SetValue::Word(w) if w.eq_ignore_ascii_case("null"));
    if is_null {
        return match name {
            "character_set_results" => {
                state.results_charset = None;
                Ok(())
            }
            _ => Err(wrong_value(name, "NULL")),
        };
    }
    let charset = match (is_default, name) {
        (true, _) => ClientCharset::server_default(),
        (false, "collation_connection") => ClientCharset::by_collation(text)?,
        (false, _) => ClientCharset::by_charset(text)?,
    };
    match name {
        "character_set_client" => state.client_charset = charset,
        "character_set_results" => state.results_charset = Some(charset),
        _ => state.connection_charset = charset,
    }
    Ok(())
}

/// Numeric variables whose session value `SELECT @@name` answers after `SET` (integers only).
const NUMERIC_SET: &[&str] = &[
    "wait_timeout",
    "interactive_timeout",
    "net_read_timeout",
    "net_write_timeout",
    "sql_select_limit",
    "max_execution_time",
];

/// Keeps the session value of an accepted variable: `DEFAULT` forgets it; a numeric variable
/// takes an unsigned integer only (1232 otherwise, as MySQL).
fn store(
    name: &str,
    value: &SetValue,
    text: String,
    state: &mut SessionState,
) -> Result<(), MysqlError> {
    state.system_variables.retain(|(n, _)| n != name);
    if matches!(value, SetValue::Word(w) if w.eq_ignore_ascii_case("default")) {
        return Ok(());
    }
    if NUMERIC_SET.contains(&name) {
        let n: u64 = text.trim().parse().map_err(|_| wrong_type(name))?;
        state
            .system_variables
            .push((name.to_owned(), n.to_string()));
    } else if default_variable(name, state).is_ok() {
        state.system_variables.push((name.to_owned(), text));
    }
    Ok(())
}

/// 1232 (42000) `ER_WRONG_TYPE_FOR_VAR`.
fn wrong_type(name: &str) -> MysqlError {
    MysqlError::new(
        1232,
        b"42000",
        format!("Incorrect argument type to variable '{name}'"),
    )
}

fn set_time_zone(text: &str, state: &mut SessionState) -> Result<(), MysqlError> {
    let zone = if text.eq_ignore_ascii_case("system") || text.eq_ignore_ascii_case("default") {
        state.default_time_zone.clone()
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

/// The text of an assigned value; `@@name` reads the session (1193 when unknown).
fn value_text(value: &SetValue, state: &SessionState) -> Result<String, MysqlError> {
    Ok(match value {
        SetValue::SystemVariable(name) => match variable(name, state)? {
            Cell::Int(n) => n.to_string(),
            Cell::Text(s) => s,
            Cell::Null => String::new(),
        },
        SetValue::Concat(parts) => parts
            .iter()
            .map(|p| value_text(p, state))
            .collect::<Result<String, _>>()?,
        SetValue::Word(w) => w.clone(),
        SetValue::Literal(Literal::Null) => String::new(),
        SetValue::Literal(Literal::Int(n)) => n.to_string(),
        SetValue::Literal(Literal::UInt(n)) => n.to_string(),
        SetValue::Literal(Literal::Number(s) | Literal::Text(s)) => s.clone(),
        SetValue::Literal(Literal::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
    })
}

/// 1231 (42000) `ER_WRONG_VALUE_FOR_VAR`.
fn wrong_value(name: &str, value: &str) -> MysqlError {
    MysqlError::new(
        1231,
        b"42000",
        format!("Variable '{name}' can't be set to the value of '{value}'"),
    )
}
