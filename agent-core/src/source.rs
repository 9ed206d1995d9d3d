//! Every connection agent-core opens to a source: capture's replica connection and its
//! `information_schema` side connection, baselines, dump imports and the unseen-table checks all
//! connect through [`connect`], so the DSN and every TLS setting of `sources[]` (`ssl_mode`,
//! `ssl_ca`, `ssl_cert`, `ssl_key`) apply to all of them alike.
//!
//! Also here: which index of a table is its row identity when `information_schema` has to say
//! ([`identity_index`]).

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Conn, Opts, OptsBuilder, SslOpts};
use tracing::info;

use crate::config::{SourceConfig, SslMode};

/// Why a source connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `sources[].dsn` does not parse as a MySQL URL.
    #[error("sources[].dsn: {0}")]
    Dsn(String),
    /// The server refused or the network failed (TLS handshake included).
    #[error(transparent)]
    Mysql(#[from] mysql_async::Error),
}

/// The TLS options `source.ssl_mode` asks for (`None`: plain TCP).
///
/// - `disabled`: none;
/// - `preferred`, `required`: TLS without certificate checks;
/// - `verify-ca`: the server certificate checked against `ssl_ca` (system roots without it), host
///   name not checked; `verify-full`: host name checked too.
///
/// In every TLS mode `ssl_cert` + `ssl_key` (PEM files) are presented as the client identity, for
/// accounts created `REQUIRE X509` / `REQUIRE SUBJECT`.
pub fn ssl_opts(source: &SourceConfig) -> Option<SslOpts> {
    let mut ssl = match source.ssl_mode {
        SslMode::Disabled => return None,
        SslMode::Preferred | SslMode::Required => {
            SslOpts::default().with_danger_accept_invalid_certs(true)
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &source.ssl_ca {
                ssl = ssl.with_root_certs(vec![ca.clone().into()]);
            }
            ssl.with_danger_skip_domain_validation(source.ssl_mode == SslMode::VerifyCa)
        }
    };
    if let (Some(cert), Some(key)) = (&source.ssl_cert, &source.ssl_key) {
        ssl = ssl.with_client_identity(Some(ClientIdentity::new(
            cert.clone().into(),
            key.clone().into(),
        )));
    }
    Some(ssl)
}

/// The connection options of `source`: its DSN over TCP (never a local socket: the DSN's host is
/// the source) with [`ssl_opts`].
///
/// Errors: [`ConnectError::Dsn`] when the DSN does not parse.
pub fn opts(source: &SourceConfig) -> Result<OptsBuilder, ConnectError> {
    let base = Opts::from_url(&source.dsn).map_err(|e| ConnectError::Dsn(e.to_string()))?;
    Ok(OptsBuilder::from_opts(base)
        .prefer_socket(false)
        .ssl_opts(ssl_opts(source)))
}

/// Opens a connection to `source` with [`opts`]. With `ssl_mode: preferred` a failed TLS
/// connection is retried once over plain TCP (the server may not offer TLS).
pub async fn connect(source: &SourceConfig) -> Result<Conn, ConnectError> {
    let builder = opts(source)?;
    match Conn::new(builder.clone()).await {
        Ok(conn) => Ok(conn),
        Err(e) if source.ssl_mode == SslMode::Preferred => {
            info!(server_id = source.server_id, error = %e, "TLS unavailable, connecting without TLS (ssl_mode=preferred)");
            Ok(Conn::new(builder.ssl_opts(None)).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The index whose columns identify a row of `schema.table`, as the server itself chooses it
/// (InnoDB's clustered index, and what MariaDB/MySQL log as the table's primary key in a
/// TABLE_MAP's optional metadata): `PRIMARY` when there is one, else the first UNIQUE index whose
/// columns are all NOT NULL and whole (no prefix part) — `open_binary_frm()` in the server's
/// `sql/table.cc` promotes that one to primary key. `None`: the table has neither (rows are a
/// bag).
///
/// "First" is the server's key order, in which `information_schema.STATISTICS` lists indexes
/// (UNIQUE NOT NULL keys sort in definition order after `PRIMARY`).
pub async fn identity_index(
    conn: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Option<String>, mysql_async::Error> {
    let rows: Vec<(String, u64, String, Option<u64>)> = conn
        .exec(
            "SELECT INDEX_NAME, CAST(NON_UNIQUE AS UNSIGNED), NULLABLE, CAST(SUB_PART AS UNSIGNED) \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (schema, table),
        )
        .await?;
    Ok(choose_identity(&rows))
}

/// [`identity_index`]'s choice among `(INDEX_NAME, NON_UNIQUE, NULLABLE, SUB_PART)` rows in the
/// server's order.
fn choose_identity(rows: &[(String, u64, String, Option<u64>)]) -> Option<String> {
    if rows.iter().any(|r| r.0 == "PRIMARY") {
        return Some("PRIMARY".into());
    }
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        if !names.contains(&r.0.as_str()) {
            names.push(&r.0);
        }
    }
    names
        .into_iter()
        .find(|name| {
            rows.iter()
                .filter(|r| r.0 == *name)
                .all(|(_, non_unique, nullable, sub_part)| {
                    *non_unique == 0 && nullable.is_empty() && sub_part.is_none()
                })
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(extra: &str) -> SourceConfig {
        let yaml = format!(
            "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@db.example:3307/shop\n{extra}"
        );
        crate::config::Config::parse(&yaml)
            .unwrap()
            .sources
            .remove(0)
    }

    /// A file option (mysql_async's `PathOrBuf`, not exported) as text: `Path("/x")`.
    fn shown(p: impl std::fmt::Debug) -> String {
        format!("{p:?}")
    }

    #[test]
    fn every_option_of_the_source_is_carried() {
        let files = "    ssl_ca: /certs/ca.pem\n    ssl_cert: /certs/client.pem\n    ssl_key: /certs/client-key.pem\n";
        for mode in ["preferred", "required", "verify-ca", "verify-full"] {
            let s = source(&format!("    ssl_mode: {mode}\n{files}"));
            let opts: Opts = opts(&s).unwrap().into();
            assert_eq!(opts.ip_or_hostname(), "db.example");
            assert_eq!(opts.tcp_port(), 3307);
            assert_eq!(opts.user(), Some("u"));
            assert_eq!(opts.pass(), Some("p"));
            assert_eq!(opts.db_name(), Some("shop"));
            assert!(!opts.prefer_socket());
            let ssl = opts.ssl_opts().expect("TLS options");
            let id = ssl.client_identity().expect("client identity");
            assert_eq!(shown(id.cert_chain()), r#"Path("/certs/client.pem")"#);
            assert_eq!(shown(id.priv_key()), r#"Path("/certs/client-key.pem")"#);
            let verify = mode.starts_with("verify");
            assert_eq!(ssl.accept_invalid_certs(), !verify, "{mode}");
            assert_eq!(ssl.skip_domain_validation(), mode == "verify-ca", "{mode}");
            let roots: Vec<String> = ssl.root_certs().iter().map(shown).collect();
            match verify {
                true => assert_eq!(roots, vec![r#"Path("/certs/ca.pem")"#], "{mode}"),
                false => assert!(roots.is_empty(), "{mode}: {roots:?}"),
            }
        }
        let plain: Opts = opts(&source("    ssl_mode: disabled\n")).unwrap().into();
        assert!(plain.ssl_opts().is_none());
        let no_cert: Opts = opts(&source("    ssl_mode: required\n")).unwrap().into();
        assert!(no_cert.ssl_opts().unwrap().client_identity().is_none());
    }

    #[test]
    fn identity_is_primary_else_the_first_whole_unique_not_null_index() {
        let row = |n: &str, nu: u64, null: &str, sub: Option<u64>| {
            (n.to_owned(), nu, null.to_owned(), sub)
        };
        let rows = vec![
            row("u_null", 0, "YES", None),
            row("plain", 1, "", None),
            row("u_prefix", 0, "", Some(4)),
            row("u_ab", 0, "", None),
            row("u_ab", 0, "", None),
            row("u_c", 0, "", None),
        ];
        assert_eq!(choose_identity(&rows).as_deref(), Some("u_ab"));
        let mut with_pk = rows.clone();
        with_pk.push(row("PRIMARY", 0, "", None));
        assert_eq!(choose_identity(&with_pk).as_deref(), Some("PRIMARY"));
        let mixed = vec![row("u", 0, "", None), row("u", 0, "YES", None)];
        assert_eq!(choose_identity(&mixed), None);
        assert_eq!(choose_identity(&[]), None);
    }
}
