//! Wire errors: the MySQL error code, SQLSTATE and message the client sees in an ERR packet.
//!
//! Every failure of a command ends as exactly one [`MysqlError`]. Messages follow the contract in
//! `seeds/troubleshooting.txt` (the "ProxySQL time-travel" section) word for word; codes and
//! SQLSTATEs for situations it does not name are MySQL's own (`include/mysqld_error.h`,
//! `include/errmsg.h`).

use std::fmt;

/// One MySQL error as sent in an ERR packet: `0xFF <code> '#' <sqlstate> <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MysqlError {
    /// MySQL error number, e.g. 1064.
    pub code: u16,
    /// Five-character SQLSTATE, e.g. `*b"42000"`.
    pub state: [u8; 5],
    /// Human-readable message (UTF-8).
    pub message: String,
}

impl fmt::Display for MysqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = String::from_utf8_lossy(&self.state);
        write!(f, "ERROR {} ({state}): {}", self.code, self.message)
    }
}

/// Prefix of every message the shim itself originates.
const SHIM: &str = "dbtrail-shim";

impl MysqlError {
    /// An error with an explicit code, SQLSTATE and message.
    pub fn new(code: u16, state: &[u8; 5], message: impl Into<String>) -> Self {
        Self {
            code,
            state: *state,
            message: message.into(),
        }
    }

    /// 1064 (42000): SQL the parser cannot read (MySQL's `ER_PARSE_ERROR`).
    pub fn parse(detail: impl fmt::Display) -> Self {
        Self::new(
            1064,
            b"42000",
            format!("You have an error in your SQL syntax: {detail}"),
        )
    }

    /// 1064 (HY000): a time-travel query without a usable primary-key predicate.
    pub fn pk_required() -> Self {
        Self::new(
            1064,
            b"HY000",
            format!("{SHIM}: time-travel queries require a PK predicate"),
        )
    }

    /// 1064 (HY000): a time-travel query whose PK predicate is present but cannot be used, e.g.
    /// several prefixes combined with a range.
    pub fn pk_predicate(detail: impl fmt::Display) -> Self {
        Self::new(
            1064,
            b"HY000",
            format!("{SHIM}: time-travel queries require a PK predicate: {detail}"),
        )
    }

    /// 1064 (HY000): a `_diff` window wider than `limits.max_diff_window` (`limit` as written,
    /// e.g. `24h`) without `SET @dbtrail_allow_wide_diff = ON`.
    pub fn diff_window(limit: &str) -> Self {
        Self::new(
            1064,
            b"HY000",
            format!("{SHIM}: _diff window exceeds limit ({limit})"),
        )
    }

    /// 1064 (HY000): `_flashback` / `_snapshot` without `AS OF` and no session default.
    pub fn as_of_required(table: &str) -> Self {
        Self::new(
            1064,
            b"HY000",
            format!(
                "{SHIM}: AS OF '<time>' is required for {table} (or SET @dbtrail_as_of = '<time>' for the session)"
            ),
        )
    }

    /// 1064 (HY000): a time literal the shim cannot read.
    pub fn bad_time(detail: impl fmt::Display) -> Self {
        Self::new(1064, b"HY000", format!("{SHIM}: {detail}"))
    }

    /// 1235 (42000): a statement the shim does not implement (MySQL's `ER_NOT_SUPPORTED_YET`).
    pub fn unsupported(what: impl fmt::Display) -> Self {
        Self::new(
            1235,
            b"42000",
            format!("{SHIM}: this statement is not supported: {what}"),
        )
    }

    /// 1046 (3D000): `_flashback.<t>` without a current database.
    pub fn no_database() -> Self {
        Self::new(1046, b"3D000", "No database selected")
    }

    /// 1046 (3D000): a virtual read of `table` without a real current database, when `table`
    /// is captured in several `schemas`: the user must `USE` one of them.
    pub fn ambiguous_table(table: &str, schemas: &[&str]) -> Self {
        Self::new(
            1046,
            b"3D000",
            format!(
                "No database selected: {SHIM}: table '{table}' is captured in schemas {}; USE one",
                schemas.join(", ")
            ),
        )
    }

    /// 1146 (42S02): the agent does not know the table.
    pub fn no_such_table(schema: &str, table: &str) -> Self {
        Self::new(
            1146,
            b"42S02",
            format!("Table '{schema}.{table}' doesn't exist"),
        )
    }

    /// 1054 (42S22): a column the table does not have; `clause` is `field list` or `where clause`.
    pub fn unknown_column(column: &str, clause: &str) -> Self {
        Self::new(
            1054,
            b"42S22",
            format!("Unknown column '{column}' in '{clause}'"),
        )
    }

    /// 1193 (HY000): `SET` or `SELECT @@` of a variable the shim does not know.
    pub fn unknown_variable(name: &str) -> Self {
        Self::new(1193, b"HY000", format!("Unknown system variable '{name}'"))
    }

    /// 1298 (HY000): a `time_zone` value that is not UTC, `SYSTEM`, a fixed offset or an IANA
    /// zone name.
    pub fn unknown_time_zone(name: &str) -> Self {
        Self::new(
            1298,
            b"HY000",
            format!("Unknown or incorrect time zone: '{name}'"),
        )
    }

    /// 1045 (28000): the MySQL user is not in `tenants[]`.
    pub fn unknown_tenant(user: &str) -> Self {
        Self::new(
            1045,
            b"28000",
            format!("unknown tenant for MySQL user \"{user}\""),
        )
    }

    /// 1045 (28000): wrong password, worded as MySQL does.
    pub fn access_denied(user: &str, host: &str, used_password: bool) -> Self {
        let yes_no = if used_password { "YES" } else { "NO" };
        Self::new(
            1045,
            b"28000",
            format!("Access denied for user '{user}'@'{host}' (using password: {yes_no})"),
        )
    }

    /// 1251 (08004): a client without `CLIENT_PROTOCOL_41` / secure connection support.
    pub fn client_too_old() -> Self {
        Self::new(
            1251,
            b"08004",
            "Client does not support authentication protocol requested by server; consider upgrading MySQL client",
        )
    }

    /// 2002 (HY000): the agent could not be reached; the connection stays usable.
    pub fn backend_unreachable(detail: impl fmt::Display) -> Self {
        Self::new(
            2002,
            b"HY000",
            format!("Can't connect to dbtrail backend: {detail}"),
        )
    }

    /// 1317 (70100): the agent answered 5xx.
    pub fn backend_http_5xx(status: u16, detail: Option<&str>) -> Self {
        let mut message = format!("dbtrail backend returned HTTP {status}");
        if let Some(detail) = detail {
            message.push_str(": ");
            message.push_str(detail);
        }
        Self::new(1317, b"70100", message)
    }

    /// 1064 (HY000): the agent answered 4xx; `detail` is the agent's error text.
    pub fn backend_rejected(status: u16, detail: &str) -> Self {
        Self::new(
            1064,
            b"HY000",
            format!("dbtrail backend rejected request (HTTP {status}): {detail}"),
        )
    }

    /// The error number of [`MysqlError::coverage`].
    pub const COVERAGE: u16 = 1526;

    /// 1526 (HY000): the time is not covered by the agent's history; `detail` says which range
    /// and what to do.
    pub fn coverage(detail: &str) -> Self {
        Self::new(Self::COVERAGE, b"HY000", detail.to_owned())
    }

    /// 1815 (HY000): agent `success: false`, an undecodable answer, or another internal fault.
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(1815, b"HY000", format!("{SHIM}: {detail}"))
    }

    /// 1047 (08S01): a command byte the shim does not serve.
    pub fn unknown_command(command: u8) -> Self {
        Self::new(1047, b"08S01", format!("Unknown command 0x{command:02x}"))
    }

    /// 1047 (08S01): a packet that does not parse as the command it claims to be.
    pub fn malformed_packet(detail: impl fmt::Display) -> Self {
        Self::new(1047, b"08S01", format!("Malformed packet: {detail}"))
    }

    /// 1153 (08S01): a packet larger than `max_allowed_packet`; the connection closes after it.
    pub fn packet_too_large() -> Self {
        Self::new(
            1153,
            b"08S01",
            "Got a packet bigger than 'max_allowed_packet' bytes",
        )
    }

    /// 1044 (42000): a captured schema outside the tenant's `allowed_schemas`.
    pub fn schema_denied(user: &str, host: &str, schema: &str) -> Self {
        Self::new(
            1044,
            b"42000",
            format!("Access denied for user '{user}'@'{host}' to database '{schema}'"),
        )
    }

    /// 1317 (70100): the statement ran longer than `limits.query_timeout` (`limit` as written).
    pub fn query_timeout(limit: &str) -> Self {
        Self::new(
            1317,
            b"70100",
            format!(
                "Query execution was interrupted: {SHIM} limits.query_timeout ({limit}) exceeded"
            ),
        )
    }

    /// 3159 (HY000): a client without TLS while `tls.require` is on (MySQL's
    /// `ER_SECURE_TRANSPORT_REQUIRED`).
    pub fn insecure_transport() -> Self {
        Self::new(
            3159,
            b"HY000",
            "Connections using insecure transport are prohibited while tls.require is on",
        )
    }

    /// 1040 (08004): more than `max_connections` clients; sent instead of the handshake (in the
    /// pre-4.1 ERR form, so clients report HY000 as they do for MySQL).
    pub fn too_many_connections() -> Self {
        Self::new(1040, b"08004", "Too many connections")
    }

    /// 1227 (42000): the monitor account asked for more than ping, `@@read_only` and
    /// `SET wait_timeout` (MySQL's `ER_SPECIFIC_ACCESS_DENIED_ERROR`; wording from
    /// proxysql/README.md, "The monitor user").
    pub fn monitor_denied() -> Self {
        Self::new(
            1227,
            b"42000",
            format!("{SHIM}: the monitor user may only ping"),
        )
    }

    /// 1243 (HY000) `ER_UNKNOWN_STMT_HANDLER`; `command` names the server function as MySQL
    /// does (`mysqld_stmt_execute`, `mysqld_stmt_reset`).
    pub fn unknown_statement(id: u32, command: &str) -> Self {
        Self::new(
            1243,
            b"HY000",
            format!("Unknown prepared statement handler ({id}) given to {command}"),
        )
    }

    /// The SQLSTATE as text.
    pub fn state_str(&self) -> &str {
        std::str::from_utf8(&self.state).unwrap_or("HY000")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_messages_are_exact() {
        let e = MysqlError::pk_required();
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (
                1064,
                "HY000",
                "dbtrail-shim: time-travel queries require a PK predicate"
            )
        );
        let e = MysqlError::unknown_tenant("bob");
        assert_eq!(e.message, "unknown tenant for MySQL user \"bob\"");
        assert_eq!((e.code, e.state_str()), (1045, "28000"));
        let e = MysqlError::backend_http_5xx(503, None);
        assert_eq!(e.message, "dbtrail backend returned HTTP 503");
        assert_eq!((e.code, e.state_str()), (1317, "70100"));
        assert!(MysqlError::backend_unreachable("refused")
            .message
            .starts_with("Can't connect to dbtrail backend"));
        assert!(MysqlError::unsupported("SHOW ENGINES")
            .message
            .starts_with("dbtrail-shim: this statement is not supported: "));
    }
}
