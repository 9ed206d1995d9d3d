//! The ProxySQL admin script (port 6032): hostgroups, tenant users, query rules.
//!
//! The script is idempotent and touches only what belongs to this product: the two hostgroups
//! of [`ScriptOptions`], the `mysql_users` rows of the tenants in `shim.yaml`, and the rule ids
//! [`RULE_ID_MIN`]..=[`RULE_ID_MAX`]. Each part is deleted then inserted inside one
//! `BEGIN`/`COMMIT`, then loaded to runtime and saved to disk. It contains no `--` comments
//! (ProxySQL's admin rejects them) and no `;` other than statement terminators.

use std::io::Write as _;
use std::net::SocketAddr;

use sha1::{Digest, Sha1};

use super::rules::{query_rules, Destination, QueryRule, RULE_ID_MAX, RULE_ID_MIN};
use super::{BackendAuth, ProxysqlError, ScriptOptions};
use crate::config::{is_native_hash, Config, TenantConfig};

/// Generates the admin SQL script for `config`'s tenants and shim, with the real MySQL at
/// `mysql_backend` (`host:port`, `[v6]:port` for IPv6).
///
/// Errors: a malformed `mysql_backend`, a wildcard `listen` without
/// [`ScriptOptions::shim_host`], no tenants, equal hostgroups, or a hashed password when
/// [`BackendAuth::CachingSha2Password`] is asked for.
pub fn generate_admin_script(
    config: &Config,
    mysql_backend: &str,
    options: &ScriptOptions,
) -> Result<String, ProxysqlError> {
    if options.mysql_hostgroup == options.shim_hostgroup {
        return Err(ProxysqlError::SameHostgroup(options.mysql_hostgroup));
    }
    if config.tenants.is_empty() {
        return Err(ProxysqlError::NoTenants);
    }
    let (mysql_host, mysql_port) = parse_backend(mysql_backend)?;
    let (shim_host, shim_port) = shim_address(config, options)?;
    let mut out = String::new();
    out.push_str("BEGIN;\n");
    servers(
        &mut out,
        options,
        (&mysql_host, mysql_port),
        (&shim_host, shim_port),
    );
    users(&mut out, &config.tenants, options)?;
    rules(&mut out, query_rules(), options);
    out.push_str("COMMIT;\n");
    for table in ["SERVERS", "USERS", "QUERY RULES"] {
        out.push_str(&format!("LOAD MYSQL {table} TO RUNTIME;\n"));
        out.push_str(&format!("SAVE MYSQL {table} TO DISK;\n"));
    }
    Ok(out)
}

/// MySQL's `mysql_native_password` hash of `password`: `*` and the upper-case hex of
/// SHA1(SHA1(password)), as `mysql.user.authentication_string` shows it.
pub fn native_password_hash(password: &str) -> String {
    let stage1 = Sha1::digest(password.as_bytes());
    let stage2 = Sha1::digest(stage1);
    let mut out = String::with_capacity(41);
    out.push('*');
    for byte in stage2 {
        out.push_str(&format!("{byte:02X}"));
    }
    out
}

/// Writes `text` to `path`, or to standard output when `path` is `-`.
///
/// A file is created with mode 0600 (it holds password hashes, or cleartext). An existing file
/// is an error unless `force`, in which case it is truncated and its mode reset to 0600.
pub fn write_script(path: &str, text: &str, force: bool) -> Result<(), ProxysqlError> {
    let write_err = |source| ProxysqlError::Write {
        path: path.to_owned(),
        source,
    };
    if path == "-" {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(write_err);
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut file = open.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            ProxysqlError::Exists {
                path: path.to_owned(),
            }
        } else {
            write_err(e)
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write_err)?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_err)
}

fn servers(out: &mut String, options: &ScriptOptions, mysql: (&str, u16), shim: (&str, u16)) {
    out.push_str(&format!(
        "DELETE FROM mysql_servers WHERE hostgroup_id IN ({}, {});\n",
        options.mysql_hostgroup, options.shim_hostgroup
    ));
    for (hostgroup, (host, port), comment) in [
        (options.mysql_hostgroup, mysql, "dbtrail: real MySQL"),
        (options.shim_hostgroup, shim, "dbtrail: dbtrail-shim"),
    ] {
        out.push_str(&format!(
            "INSERT INTO mysql_servers (hostgroup_id, hostname, port, comment) \
             VALUES ({hostgroup}, {}, {port}, {});\n",
            quote(host),
            quote(comment)
        ));
    }
}

fn users(
    out: &mut String,
    tenants: &[TenantConfig],
    options: &ScriptOptions,
) -> Result<(), ProxysqlError> {
    let names: Vec<String> = tenants.iter().map(|t| quote(&t.mysql_user)).collect();
    out.push_str(&format!(
        "DELETE FROM mysql_users WHERE username IN ({});\n",
        names.join(", ")
    ));
    for (tenant, name) in tenants.iter().zip(&names) {
        let password = stored_password(tenant, options.backend_auth)?;
        out.push_str(&format!(
            "INSERT INTO mysql_users (username, password, active, default_hostgroup, \
             transaction_persistent) VALUES ({name}, {}, 1, {}, 0);\n",
            quote(&password),
            options.mysql_hostgroup
        ));
    }
    Ok(())
}

fn stored_password(tenant: &TenantConfig, auth: BackendAuth) -> Result<String, ProxysqlError> {
    let hashed = is_native_hash(&tenant.mysql_password);
    match auth {
        BackendAuth::NativePassword if hashed => Ok(tenant.mysql_password.to_ascii_uppercase()),
        BackendAuth::NativePassword => Ok(native_password_hash(&tenant.mysql_password)),
        BackendAuth::CachingSha2Password if hashed => Err(ProxysqlError::CleartextRequired {
            user: tenant.mysql_user.clone(),
        }),
        BackendAuth::CachingSha2Password => Ok(tenant.mysql_password.clone()),
    }
}

fn rules(out: &mut String, rules: &[QueryRule], options: &ScriptOptions) {
    out.push_str(&format!(
        "DELETE FROM mysql_query_rules WHERE rule_id BETWEEN {RULE_ID_MIN} AND {RULE_ID_MAX};\n"
    ));
    for rule in rules {
        let hostgroup = match rule.destination {
            Destination::Shim => options.shim_hostgroup,
        };
        out.push_str(&format!(
            "INSERT INTO mysql_query_rules (rule_id, active, schemaname, match_pattern, \
             re_modifiers, destination_hostgroup, apply, comment) \
             VALUES ({}, 1, {}, {}, 'CASELESS', {hostgroup}, {}, {});\n",
            rule.id,
            quote_opt(rule.schemaname),
            quote_opt(rule.match_pattern),
            u8::from(rule.apply),
            quote(rule.comment)
        ));
    }
}

/// An SQLite string literal (ProxySQL's admin tables are SQLite): quotes doubled, backslashes
/// kept as they are.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn quote_opt(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), quote)
}

fn parse_backend(value: &str) -> Result<(String, u16), ProxysqlError> {
    let bad = |reason: &str| ProxysqlError::MysqlBackend {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port"))?;
    let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let host = bracketed.unwrap_or(host);
    let forbidden = |c: char| {
        c.is_whitespace()
            || matches!(c, '\'' | '"' | '\\' | '[' | ']')
            || (c == ':' && bracketed.is_none())
    };
    if host.is_empty() || host.contains(forbidden) {
        return Err(bad("expected host:port ([addr]:port for IPv6)"));
    }
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if port == 0 {
        return Err(bad("the port must not be 0"));
    }
    Ok((host.to_owned(), port))
}

fn shim_address(config: &Config, options: &ScriptOptions) -> Result<(String, u16), ProxysqlError> {
    let addr: SocketAddr = config
        .listen
        .parse()
        .map_err(|e| ProxysqlError::ShimAddress {
            listen: config.listen.clone(),
            reason: format!("{e}"),
        })?;
    match &options.shim_host {
        Some(host) => Ok((host.clone(), addr.port())),
        None if addr.ip().is_unspecified() => Err(ProxysqlError::ShimAddress {
            listen: config.listen.clone(),
            reason: "a wildcard address; give the shim's reachable host with --shim-host".into(),
        }),
        None => Ok((addr.ip().to_string(), addr.port())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_hash_matches_mysql() {
        assert_eq!(
            native_password_hash("123456"),
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9"
        );
    }

    #[test]
    fn backend_addresses() {
        assert_eq!(parse_backend("db:3306").unwrap(), ("db".into(), 3306));
        assert_eq!(parse_backend("[::1]:3306").unwrap(), ("::1".into(), 3306));
        assert!(parse_backend("db").is_err());
        assert!(parse_backend(":3306").is_err());
        assert!(parse_backend("db:x").is_err());
        assert!(parse_backend("d'b:3306").is_err());
        assert!(parse_backend("::1:3306").is_err());
    }

    #[test]
    fn quoting_doubles_single_quotes_only() {
        assert_eq!(quote(r"a'b\s"), r"'a''b\s'");
    }
}
