//! `shim.yaml`: the one typed configuration of the binary, loaded and validated once at start-up.
//!
//! `${NAME}` anywhere in a string value is replaced by the environment variable `NAME` (for
//! secrets such as `agent_token`); an unset variable is an error naming the field.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::plan::TimeZone;

mod tls;
pub use self::tls::TlsConfig;

/// Why the configuration cannot be used; every variant names the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The path given on the command line.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not YAML, an unknown key, or a value of the wrong type.
    #[error("invalid shim config: {0}")]
    Syntax(#[from] serde_yaml::Error),
    /// `${NAME}` with `NAME` unset.
    #[error("{field}: environment variable {var} is not set")]
    MissingEnv {
        /// Dotted path of the field.
        field: String,
        /// The variable name.
        var: String,
    },
    /// A value that parses but is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// Dotted path of the field, e.g. `tenants[1].server_id`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole `shim.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the MySQL protocol listener binds, e.g. `127.0.0.1:3308`.
    pub listen: String,
    /// Base URL of agent-core (`http://host:8600` or `https://...`); tenants may override it.
    pub agent_url: Option<String>,
    /// Bearer token for agent-core; tenants may override it.
    pub agent_token: Option<String>,
    /// Session `time_zone` at connect (what `SYSTEM` means): `UTC`, `+02:00`, `-05:30` or an IANA
    /// name like `Europe/Paris`. UTC when absent.
    pub default_time_zone: Option<String>,
    /// The MySQL users allowed to issue time-travel queries, one per tenant source.
    pub tenants: Vec<TenantConfig>,
    /// Guard rails.
    pub limits: Limits,
    /// Most simultaneous logged-in client connections; one more is refused with ERR 1040
    /// (08004) before the handshake, as MySQL does past `max_connections`. Connections still in
    /// the connection phase are counted apart, up to the same number: past it the oldest of
    /// them is closed, so sockets that never log in cannot lock real users out.
    pub max_connections: usize,
    /// Longest the whole connection phase (greeting, TLS, authentication) may take before the
    /// socket is closed, as MySQL's `connect_timeout` (default 10 s).
    #[serde(deserialize_with = "deserialize_duration")]
    pub connect_timeout: Duration,
    /// Consecutive connection phases from one address that end without a login (timeout,
    /// hang-up, malformed packet) before the address is refused with ERR 1129 for 5 minutes, as
    /// MySQL's `max_connect_errors` (default 100). A successful login resets the count.
    pub max_connect_errors: u32,
    /// Longest the shim waits for agent-core: for a connection, and then for each part of an
    /// answer (the headers, each chunk of a streamed body). Past it the query fails with ERR
    /// 2002 and the connection stays usable. Default 30 s.
    #[serde(deserialize_with = "deserialize_duration")]
    pub agent_timeout: Duration,
    /// ProxySQL's monitor account (`mysql-monitor_username`): it may only ping, read
    /// `@@global.read_only` and `SET wait_timeout`. Without it the monitor's logins get 1045.
    pub monitor: Option<MonitorConfig>,
    /// TLS on the MySQL port.
    pub tls: Option<TlsConfig>,
    /// In-memory caches in front of the agent.
    pub cache: CacheConfig,
}

/// `cache:` section: what the shim keeps in memory per agent endpoint (shared by its sessions).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// How long table metadata (`GET /v1/tables`: columns, PK) is reused, e.g. `5s`. Dropped
    /// sooner when the agent rejects a request built from it or a table is not in it.
    #[serde(deserialize_with = "deserialize_duration")]
    pub tables_ttl: Duration,
    /// Most bytes of `_flashback` answers kept (each weighed by its approximate size: cell payloads
    /// plus a fixed cost per cell and column); 0 turns the answer cache off. Only answers for times
    /// before the agent's capture position (immutable history) and without warnings are kept; the
    /// least recently used go first.
    pub answers_max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            tables_ttl: Duration::from_secs(5),
            answers_max_bytes: 64 << 20,
        }
    }
}

/// `monitor:` section: the account ProxySQL's monitor logs in with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    /// MySQL user name (ProxySQL `mysql-monitor_username`).
    pub user: String,
    /// Cleartext password or `*<40 hex>` native hash (ProxySQL `mysql-monitor_password`).
    pub password: String,
}

/// One MySQL user and the captured source its queries read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The MySQL user name the client (or ProxySQL) logs in with.
    pub mysql_user: String,
    /// Cleartext password, or MySQL's `*<40 hex>` double-SHA1 hash (`mysql.user.authentication_string`
    /// of a `mysql_native_password` account).
    pub mysql_password: String,
    /// The source's MySQL `server_id`, as agent-core knows it.
    pub server_id: u32,
    /// Overrides the top-level `agent_url`.
    #[serde(default)]
    pub agent_url: Option<String>,
    /// Overrides the top-level `agent_token`.
    #[serde(default)]
    pub agent_token: Option<String>,
    /// Captured schemas this user may read (compared case-insensitively); all when absent.
    /// Others answer ERR 1044 (also for `USE`) and are left out of `SHOW DATABASES` and
    /// `information_schema`.
    #[serde(default)]
    pub allowed_schemas: Option<Vec<String>>,
    /// May lift `limits.max_diff_window` for its sessions with `SET @dbtrail_allow_wide_diff =
    /// ON`; off by default (a wide `_diff` is a heavy scan on the agent every tenant shares).
    #[serde(default)]
    pub allow_wide_diff: bool,
}

impl TenantConfig {
    /// True when this tenant may read captured schema `schema`.
    pub fn allows(&self, schema: &str) -> bool {
        self.allowed_schemas
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| s.eq_ignore_ascii_case(schema)))
    }
}

/// `limits:` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Widest `_diff` window without `@dbtrail_allow_wide_diff = ON`; text like `24h`, `90m`, `7d`.
    #[serde(deserialize_with = "deserialize_duration")]
    pub max_diff_window: Duration,
    /// Longest a statement may run before it is interrupted with ERR 1317 (`30s`, `5m`); none
    /// by default (ProxySQL's `mysql-default_query_timeout` is the source of truth).
    #[serde(deserialize_with = "deserialize_opt_duration")]
    pub query_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3308".to_owned(),
            agent_url: None,
            agent_token: None,
            default_time_zone: None,
            tenants: Vec::new(),
            limits: Limits::default(),
            max_connections: 1000,
            connect_timeout: Duration::from_secs(10),
            max_connect_errors: 100,
            agent_timeout: Duration::from_secs(30),
            monitor: None,
            tls: None,
            cache: CacheConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_diff_window: Duration::from_secs(24 * 3600),
            query_timeout: None,
        }
    }
}

/// A tenant with its agent endpoint resolved (override or top-level).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentEndpoint {
    /// Base URL.
    pub url: String,
    /// Bearer token (may be empty).
    pub token: String,
}

impl Config {
    /// Reads, expands `${ENV}` and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml(&text, &|name| std::env::var(name).ok())
    }

    /// Parses YAML text, expanding `${NAME}` through `env`, then validates.
    pub fn from_yaml(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut raw: serde_yaml::Value = serde_yaml::from_str(text)?;
        if raw.is_null() {
            raw = serde_yaml::Value::Mapping(Default::default());
        }
        expand_env(&mut raw, "", env)?;
        let config: Config = serde_yaml::from_value(raw)?;
        config.validate()?;
        Ok(config)
    }

    /// The parsed `listen` address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|e| invalid("listen", format!("{e}")))
    }

    /// MySQL users of tenants without `allowed_schemas` when there are several tenants: each of
    /// them reads every captured schema of its source, which in a shared shim is usually an
    /// oversight (logged as a warning at start-up). Empty with one tenant.
    pub fn unrestricted_tenants(&self) -> Vec<&str> {
        if self.tenants.len() < 2 {
            return Vec::new();
        }
        self.tenants
            .iter()
            .filter(|t| t.allowed_schemas.is_none())
            .map(|t| t.mysql_user.as_str())
            .collect()
    }

    /// The session time zone at connect.
    pub fn time_zone(&self) -> Result<TimeZone, ConfigError> {
        match &self.default_time_zone {
            None => Ok(TimeZone::UTC),
            Some(text) => TimeZone::parse(text).ok_or_else(|| {
                invalid(
                    "default_time_zone",
                    format!("{text:?} is not UTC, a fixed offset like +02:00 or an IANA zone like Europe/Paris"),
                )
            }),
        }
    }

    /// The agent endpoint a tenant uses: its overrides, else the top-level values.
    pub fn endpoint(&self, tenant: &TenantConfig) -> Option<AgentEndpoint> {
        let url = tenant.agent_url.as_ref().or(self.agent_url.as_ref())?;
        let token = tenant
            .agent_token
            .as_ref()
            .or(self.agent_token.as_ref())
            .cloned()
            .unwrap_or_default();
        Some(AgentEndpoint {
            url: url.clone(),
            token,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.time_zone()?;
        if let Some(url) = &self.agent_url {
            validate_url("agent_url", url)?;
        }
        if self.limits.max_diff_window.is_zero() {
            return Err(invalid("limits.max_diff_window", "must be positive"));
        }
        if self.limits.query_timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("limits.query_timeout", "must be positive"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be positive"));
        }
        if self.connect_timeout.is_zero() {
            return Err(invalid("connect_timeout", "must be positive"));
        }
        if self.max_connect_errors == 0 {
            return Err(invalid("max_connect_errors", "must be positive"));
        }
        if self.agent_timeout.is_zero() {
            return Err(invalid("agent_timeout", "must be positive"));
        }
        self.validate_monitor()?;
        let mut users = HashSet::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            let field = |name: &str| format!("tenants[{i}].{name}");
            if tenant.mysql_user.is_empty() {
                return Err(invalid(&field("mysql_user"), "must not be empty"));
            }
            if !users.insert(tenant.mysql_user.as_str()) {
                return Err(invalid(
                    &field("mysql_user"),
                    format!("{:?} is listed twice", tenant.mysql_user),
                ));
            }
            if tenant.mysql_password.starts_with('*') && !is_native_hash(&tenant.mysql_password) {
                return Err(invalid(
                    &field("mysql_password"),
                    "a value starting with '*' must be a 41-character native password hash",
                ));
            }
            match &tenant.agent_url {
                Some(url) => validate_url(&field("agent_url"), url)?,
                None if self.agent_url.is_none() => {
                    return Err(invalid(
                        &field("agent_url"),
                        "no agent_url here and none at the top level",
                    ));
                }
                None => {}
            }
        }
        Ok(())
    }
}

impl Config {
    fn validate_monitor(&self) -> Result<(), ConfigError> {
        let Some(monitor) = &self.monitor else {
            return Ok(());
        };
        if monitor.user.is_empty() {
            return Err(invalid("monitor.user", "must not be empty"));
        }
        if self.tenants.iter().any(|t| t.mysql_user == monitor.user) {
            return Err(invalid(
                "monitor.user",
                format!("{:?} is also a tenant user", monitor.user),
            ));
        }
        if monitor.password.starts_with('*') && !is_native_hash(&monitor.password) {
            return Err(invalid(
                "monitor.password",
                "a value starting with '*' must be a 41-character native password hash",
            ));
        }
        Ok(())
    }
}

/// True for `*` followed by 40 hex digits (MySQL's `PASSWORD()` output).
pub fn is_native_hash(text: &str) -> bool {
    text.len() == 41 && text.starts_with('*') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn validate_url(field: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{url:?} must start with http:// or https://"),
        ))
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Replaces `${NAME}` in every string of the YAML tree.
fn expand_env(
    value: &mut serde_yaml::Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        serde_yaml::Value::String(text) => *text = expand_str(text, path, env)?,
        serde_yaml::Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_env(item, &format!("{path}[{i}]"), env)?;
            }
        }
        serde_yaml::Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                let child = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                expand_env(item, &child, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn expand_str(
    text: &str,
    field: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(invalid(field, "unterminated ${...}"));
        };
        let var = &after[..end];
        let value = env(var).ok_or_else(|| ConfigError::MissingEnv {
            field: field.to_owned(),
            var: var.to_owned(),
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses `30s`, `90m`, `24h`, `7d` (an integer and one unit).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

fn deserialize_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{text:?} is not a duration like 30s, 90m, 24h or 7d"
        ))
    })
}

fn deserialize_opt_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize_duration(d).map(Some)
}

#[cfg(test)]
mod tests;
