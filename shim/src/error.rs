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

/// Which client library is on the other end, as far as its ERR packet reading differs
/// ([`MysqlError::for_client`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientFamily {
    /// MariaDB Connector/C (libmariadb), or ProxySQL (whose backend connections use it).
    Libmariadb,
    /// Any other client (mysql_async, PyMySQL, Connector/J, Node mysql2, Oracle's libmysqlclient).
    #[default]
    Other,
}

impl ClientFamily {
    /// The family named by a HandshakeResponse's connection attributes: libmariadb sends
    /// `_client_name=libmariadb` (`mariadb_lib.c`, `mysql_init` defaults) and ProxySQL adds
    /// `program_name=proxysql`. A client that sends no attributes is `Other`.
    pub fn from_connect_attributes<'a>(
        attributes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let libmariadb = attributes.into_iter().any(|(key, value)| {
            (key == "_client_name" && value.eq_ignore_ascii_case("libmariadb"))
                || (key == "program_name" && value.eq_ignore_ascii_case("proxysql"))
        });
        if libmariadb {
            ClientFamily::Libmariadb
        } else {
            ClientFamily::Other
        }
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

    /// 2002 (HY000): the agent could not be reached; the connection stays usable. The message
    /// is the contract's, without the agent's address or the socket error (those go to the
    /// shim's log). A libmariadb client reads it as [`MysqlError::for_client`] rewrites it.
    pub fn backend_unreachable() -> Self {
        Self::new(2002, b"HY000", "Can't connect to dbtrail backend")
    }

    /// 1429 (HY000), MySQL's `ER_CONNECT_TO_FOREIGN_DATA_SOURCE`: the agent refused the shim's
    /// `agent_token`. A server-side misconfiguration, not the client's SQL or login: MySQL's
    /// FEDERATED engine answers a remote server refusing its stored credentials the same way.
    pub fn backend_refused_token() -> Self {
        Self::new(
            Self::BACKEND_CONNECT,
            b"HY000",
            format!(
                "{SHIM}: the dbtrail backend refused the shim's credentials: agent_token in shim.yaml does not match the agent's token"
            ),
        )
    }

    /// 1205 (HY000), MySQL's `ER_LOCK_WAIT_TIMEOUT`: the time asked for lies after what capture
    /// has replicated and it did not catch up within the agent's wait. Transient: drivers treat
    /// 1205 as retryable (Connector/J `SQLTransientException`, PyMySQL/mysqlclient
    /// `OperationalError`, Spring `CannotAcquireLockException`), which a replication lag is;
    /// `detail` is the agent's text with the lag.
    pub fn not_replicated_yet(detail: &str) -> Self {
        Self::new(
            1205,
            b"HY000",
            format!("{detail}; retry when capture has caught up"),
        )
    }

    /// 1146 (42S02): the agent knows no such table (at that time, or on that source); `detail`
    /// is its text, which says which.
    pub fn backend_no_such_table(detail: &str) -> Self {
        Self::new(1146, b"42S02", detail.to_owned())
    }

    /// The error number of [`MysqlError::backend_refused_token`], also sent to libmariadb
    /// clients in place of 2002 ([`MysqlError::for_client`]).
    pub const BACKEND_CONNECT: u16 = 1429;

    /// This error as `client` can read it. libmariadb (the `mariadb` CLI, mysqlclient, Ruby
    /// mysql2, ProxySQL's backend connections) rejects an ERR packet whose code lies in the
    /// client-only ranges 2001..=2061 and 5001..=5025: `ma_net_safe_read` in
    /// `libmariadb/mariadb_lib.c` reports CR_MALFORMED_PACKET (2027) instead (CONC-624), and
    /// ProxySQL treats any code ≥ 2000 as a network failure of the backend. Such a client gets
    /// the same message and SQLSTATE under 1429 (`ER_CONNECT_TO_FOREIGN_DATA_SOURCE`: the
    /// server could not reach its remote data source); every other client gets the code as is.
    pub fn for_client(&self, client: ClientFamily) -> std::borrow::Cow<'_, MysqlError> {
        let client_range = (2000..=2999).contains(&self.code) || (5000..=5999).contains(&self.code);
        match client {
            ClientFamily::Libmariadb if client_range => std::borrow::Cow::Owned(Self::new(
                Self::BACKEND_CONNECT,
                &self.state,
                self.message.clone(),
            )),
            ClientFamily::Libmariadb | ClientFamily::Other => std::borrow::Cow::Borrowed(self),
        }
    }

    /// 1317 (70100): the agent answered 5xx (or failed in a way it answers with 5xx).
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
        let e = MysqlError::backend_unreachable();
        assert_eq!(
            (e.code, e.state_str(), e.message.as_str()),
            (2002, "HY000", "Can't connect to dbtrail backend")
        );
        assert!(MysqlError::unsupported("SHOW ENGINES")
            .message
            .starts_with("dbtrail-shim: this statement is not supported: "));
    }

    #[test]
    fn libmariadb_gets_client_range_codes_as_1429() {
        let unreachable = MysqlError::backend_unreachable();
        let seen = unreachable.for_client(ClientFamily::Libmariadb);
        assert_eq!(
            (seen.code, seen.state_str(), seen.message.as_str()),
            (1429, "HY000", "Can't connect to dbtrail backend")
        );
        assert_eq!(*unreachable.for_client(ClientFamily::Other), unreachable);
        let parse = MysqlError::parse("near x");
        assert_eq!(*parse.for_client(ClientFamily::Libmariadb), parse);
        let attrs = |pairs: &[(&'static str, &'static str)]| {
            ClientFamily::from_connect_attributes(pairs.iter().copied())
        };
        assert_eq!(
            attrs(&[("_os", "Linux"), ("_client_name", "libmariadb")]),
            ClientFamily::Libmariadb
        );
        assert_eq!(
            attrs(&[("program_name", "proxysql")]),
            ClientFamily::Libmariadb
        );
        assert_eq!(attrs(&[("_client_name", "pymysql")]), ClientFamily::Other);
        assert_eq!(attrs(&[]), ClientFamily::Other);
    }
}
