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

    /// 1298 (HY000): a `time_zone` value that is not a fixed offset or UTC.
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

    /// 1526 (HY000): the time is not covered by the agent's history; `detail` says which range
    /// and what to do.
    pub fn coverage(detail: &str) -> Self {
        Self::new(1526, b"HY000", detail.to_owned())
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
