//! `agent.yaml`: one typed configuration, validated once at start-up.
//!
//! Any string value may contain `${NAME}`, replaced by the environment variable `NAME` (for secrets:
//! `token: ${DBTRAIL_AGENT_TOKEN}`, `dsn: mysql://dbtrail:${DBTRAIL_SOURCE_PASSWORD}@db:3306`).
//! Stream parameters follow the product's stream configuration (`schemas`, `tables`, `batch_size`,
//! `checkpoint_interval`, `ssl_mode` + `ssl_ca/cert/key`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Configuration errors; each names the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YAML syntax, unknown field or wrong type.
    #[error("invalid configuration: {0}")]
    Parse(#[from] serde_yaml::Error),
    /// A value is semantically wrong.
    #[error("invalid configuration: {field}: {message}")]
    Invalid {
        /// Dotted path of the field, e.g. `sources[0].dsn`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// `${NAME}` names an unset variable.
    #[error("invalid configuration: environment variable {0} is not set")]
    MissingEnv(String),
}

/// The whole agent configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address (default `127.0.0.1:8600`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Bearer token the shim must send.
    pub token: String,
    /// Whether `GET /health` and `GET /metrics` answer without the bearer token (default false:
    /// they reveal binlog positions, GTIDs and table names, so they need it like every route).
    #[serde(default)]
    pub health_public: bool,
    /// Directory of the change index (created if missing).
    pub data_dir: PathBuf,
    /// How long `AS OF` beyond the capture position waits for capture to pass it (default `2s`).
    #[serde(default = "default_catch_up_wait", deserialize_with = "de_duration")]
    pub catch_up_wait: Duration,
    /// Sources to capture.
    pub sources: Vec<SourceConfig>,
    /// How long history stays in each tier (`retention.hot`, `retention.archive`).
    #[serde(default)]
    pub retention: RetentionConfig,
    /// The cold tier: Parquet archives on a local directory or S3; no archiving when absent.
    #[serde(default)]
    pub archive: Option<ArchiveConfig>,
    /// Full-table baselines: scheduled runs and how many to keep per table.
    #[serde(default)]
    pub baselines: BaselinesConfig,
    /// Client-side encryption at rest of archive files and backup copies; none when absent.
    #[serde(default)]
    pub encryption: Option<EncryptionConfig>,
}

/// `encryption:`: AES-256-GCM sealing of every archive file and backup copy the agent writes
/// (format and key file: [`crate::crypt`]). Files written before it was turned on stay readable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// The key file: `<key id> <64 hex digits>` per line; older keys stay listed so the files
    /// they sealed still open.
    pub key_file: PathBuf,
    /// The id of the key new files are sealed with (default: the last one in the file).
    #[serde(default)]
    pub key_id: Option<String>,
}

/// S3 options of backup destinations (`baselines.s3`); credentials come from the standard AWS
/// chain, as for archives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Options {
    /// Endpoint of an S3-compatible store (AWS when unset).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region (default `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Allow plain `http://` endpoints (test stores); default false.
    #[serde(default)]
    pub allow_http: bool,
    /// Server-side encryption with this AWS KMS key id (SSE-KMS, header
    /// `x-amz-server-side-encryption: aws:kms`); the bucket default when unset.
    #[serde(default)]
    pub sse_kms_key_id: Option<String>,
}

/// `baselines:`: when agent-core takes baselines by itself and how many it keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinesConfig {
    /// Cron expression in UTC (`minute hour day-of-month month day-of-week`, e.g. `0 3 * * *`):
    /// every captured table of every source is baselined then. None (default): on demand only.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Newest baselines kept per table (default 7, at least 1).
    #[serde(default = "default_baselines_keep")]
    pub keep: usize,
    /// Absolute directories under which `POST /v1/baselines/import` (`agent-core
    /// import-mydumper`) may read a dump; none (default): imports are refused.
    #[serde(default)]
    pub import_roots: Vec<PathBuf>,
    /// S3 options of `s3://` backup destinations (`/v1/backups/schedules`).
    #[serde(default)]
    pub s3: S3Options,
}

impl Default for BaselinesConfig {
    fn default() -> Self {
        Self {
            schedule: None,
            keep: default_baselines_keep(),
            import_roots: Vec::new(),
            s3: S3Options::default(),
        }
    }
}

fn default_baselines_keep() -> usize {
    7
}

/// History retention per storage tier (DESIGN.md "Storage tiers").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Age after which index ranges are rotated into archives (e.g. `7d`); never when unset.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub hot: Option<Duration>,
    /// Age after which archive files are deleted (e.g. `365d`); kept forever when unset.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub archive: Option<Duration>,
}

/// Where archives go (`archive.url`) and how often rotation runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// `file:///abs/dir` or `s3://bucket/prefix` (credentials from the standard AWS chain:
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profile, instance role).
    pub url: String,
    /// Endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000` (AWS when unset).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region (default `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Allow plain `http://` endpoints (test stores); default false.
    #[serde(default)]
    pub allow_http: bool,
    /// Server-side encryption of archive objects with this AWS KMS key id (SSE-KMS); the
    /// bucket default when unset.
    #[serde(default)]
    pub sse_kms_key_id: Option<String>,
    /// How often the rotation task checks `retention.hot` / `retention.archive` (default `1h`).
    #[serde(default = "default_rotate_every", deserialize_with = "de_duration")]
    pub rotate_every: Duration,
}

/// One MySQL/MariaDB source captured as a replica.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The source's own `@@server_id`; names it in the API.
    pub server_id: u32,
    /// `mysql://user:password@host:port`.
    pub dsn: String,
    /// Server id this agent registers with as a replica; unique among the source's replicas
    /// (default `0x7A000000 + server_id`).
    #[serde(default)]
    pub replica_server_id: Option<u32>,
    /// Schemas to capture (all when empty). Accepts a YAML list or a comma-separated string.
    #[serde(default, deserialize_with = "de_list")]
    pub schemas: Vec<String>,
    /// Tables `schema.table` to capture (all when empty). List or comma-separated string.
    #[serde(default, deserialize_with = "de_list")]
    pub tables: Vec<String>,
    /// Maximum row events per index write batch (default 1000).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest time a captured transaction waits before its batch is committed (default `10s`;
    /// batches also commit as soon as the stream is idle).
    #[serde(
        default = "default_checkpoint_interval",
        deserialize_with = "de_duration"
    )]
    pub checkpoint_interval: Duration,
    /// `disabled`, `preferred` (default), `required`, `verify-ca`, `verify-full`.
    #[serde(default)]
    pub ssl_mode: SslMode,
    /// CA certificate (PEM) for `verify-ca` / `verify-full`.
    #[serde(default)]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate (PEM).
    #[serde(default)]
    pub ssl_cert: Option<PathBuf>,
    /// Client key (PEM).
    #[serde(default)]
    pub ssl_key: Option<PathBuf>,
}

/// TLS policy for the source connection (names as in MySQL's `--ssl-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain TCP.
    Disabled,
    /// TLS when the server offers it, without certificate checks.
    #[default]
    Preferred,
    /// TLS required, certificate not verified.
    Required,
    /// TLS with the certificate verified against `ssl_ca`, host name not checked.
    VerifyCa,
    /// TLS with certificate and host name verified.
    VerifyFull,
}

impl SourceConfig {
    /// The replica server id to register with.
    pub fn replica_id(&self) -> u32 {
        self.replica_server_id
            .unwrap_or(0x7A00_0000 + self.server_id)
    }

    /// Whether row events of `schema.table` are captured.
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        let schema_ok =
            self.schemas.is_empty() || self.schemas.iter().any(|s| s.eq_ignore_ascii_case(schema));
        let table_ok = self.tables.is_empty()
            || self.tables.iter().any(|t| {
                t.split_once('.').is_some_and(|(s, n)| {
                    s.eq_ignore_ascii_case(schema) && n.eq_ignore_ascii_case(table)
                })
            });
        schema_ok && table_ok
    }
}

impl SourceConfig {
    /// Whether a DDL table operation concerns a captured table (either side of a RENAME).
    pub fn captures_op(&self, op: &crate::capture::ddl::TableOp) -> bool {
        use crate::capture::ddl::TableOp;
        match op {
            TableOp::Truncate(n) | TableOp::Drop(n) | TableOp::Create(n) => {
                self.captures(&n.schema, &n.table)
            }
            TableOp::Rename { from, to } => {
                self.captures(&from.schema, &from.table) || self.captures(&to.schema, &to.table)
            }
        }
    }
}

impl Config {
    /// Reads, expands `${ENV}` and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates YAML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = serde_yaml::from_str(&expand_env(text)?)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: String, message: &str| ConfigError::Invalid {
            field,
            message: message.into(),
        };
        if self.token.trim().is_empty() {
            return Err(invalid("token".into(), "must not be empty"));
        }
        if self.sources.is_empty() {
            return Err(invalid("sources".into(), "at least one source is required"));
        }
        if let Some(a) = &self.archive {
            if !(a.url.starts_with("file:///") || a.url.starts_with("s3://")) {
                return Err(invalid(
                    "archive.url".into(),
                    "must be file:///absolute/dir or s3://bucket/prefix",
                ));
            }
        }
        if self.baselines.keep == 0 {
            return Err(invalid("baselines.keep".into(), "must be at least 1"));
        }
        if let Some((i, _)) =
            (self.baselines.import_roots.iter().enumerate()).find(|(_, r)| !r.is_absolute())
        {
            return Err(invalid(
                format!("baselines.import_roots[{i}]"),
                "must be an absolute directory",
            ));
        }
        if let Some(e) = &self.encryption {
            if let Err(err) = crate::crypt::Keyring::load(&e.key_file, e.key_id.as_deref()) {
                return Err(invalid("encryption.key_file".into(), &err.to_string()));
            }
        }
        if let Some(cron) = &self.baselines.schedule {
            if let Err(e) = crate::baseline::schedule::Cron::parse(cron) {
                return Err(invalid("baselines.schedule".into(), &e));
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            if !s.dsn.starts_with("mysql://") {
                return Err(invalid(
                    format!("sources[{i}].dsn"),
                    "must look like mysql://user:password@host:port",
                ));
            }
            if mysql_async::Opts::from_url(&s.dsn).is_err() {
                return Err(invalid(
                    format!("sources[{i}].dsn"),
                    "is not a valid MySQL URL",
                ));
            }
            if s.batch_size == 0 {
                return Err(invalid(
                    format!("sources[{i}].batch_size"),
                    "must be at least 1",
                ));
            }
            if matches!(s.ssl_mode, SslMode::VerifyCa | SslMode::VerifyFull) && s.ssl_ca.is_none() {
                return Err(invalid(
                    format!("sources[{i}].ssl_ca"),
                    "is required for verify-ca / verify-full",
                ));
            }
            if self.sources[..i].iter().any(|o| o.server_id == s.server_id) {
                return Err(invalid(
                    format!("sources[{i}].server_id"),
                    "is used by another source",
                ));
            }
            if s.replica_id() == s.server_id {
                return Err(invalid(
                    format!("sources[{i}].replica_server_id"),
                    "must differ from the source's own server_id",
                ));
            }
            if self.sources[..i]
                .iter()
                .any(|o| o.replica_id() == s.replica_id())
            {
                return Err(invalid(
                    format!("sources[{i}].replica_server_id"),
                    "is used by another source: each replica connection needs its own server id",
                ));
            }
            if let Some(t) = s.tables.iter().find(|t| !t.contains('.')) {
                return Err(invalid(
                    format!("sources[{i}].tables"),
                    &format!("{t:?} must be schema.table"),
                ));
            }
        }
        Ok(())
    }
}

/// Replaces `${NAME}` with the environment variable's value (comment lines are left alone).
fn expand_env(text: &str) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| ConfigError::Invalid {
                field: "${...}".into(),
                message: "unterminated environment reference".into(),
            })?;
            let name = &after[..end];
            out.push_str(&std::env::var(name).map_err(|_| ConfigError::MissingEnv(name.into()))?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// Parses `500ms`, `10s`, `5m`, `24h`, `7d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid duration {t:?}"))),
    }
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

fn default_rotate_every() -> Duration {
    Duration::from_secs(3600)
}

fn de_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(l) => l,
        Raw::Text(t) => t.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8600))
}

fn default_batch_size() -> usize {
    1000
}

fn default_checkpoint_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_catch_up_wait() -> Duration {
    Duration::from_secs(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_loads() {
        std::env::set_var("DBTRAIL_AGENT_TOKEN", "example-token");
        std::env::set_var("DBTRAIL_SOURCE_PASSWORD", "example-password");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent.yaml.example");
        let config = Config::load(&path).unwrap();
        assert_eq!(config.sources[0].batch_size, 1000);
        assert_eq!(
            config.sources[0].checkpoint_interval,
            Duration::from_secs(10)
        );
        assert!(config.sources[0].captures("shop", "orders"));
    }

    #[test]
    fn baselines_schedule_is_checked() {
        let base =
            "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@h:3306\n";
        let err =
            Config::parse(&format!("{base}baselines:\n  schedule: \"0 25 * * *\"\n")).unwrap_err();
        assert!(err.to_string().contains("baselines.schedule"), "{err}");
        let ok = Config::parse(&format!(
            "{base}baselines:\n  schedule: \"0 3 * * *\"\n  keep: 2\n"
        ))
        .unwrap();
        assert_eq!(ok.baselines.keep, 2);
        assert_eq!(Config::parse(base).unwrap().baselines.keep, 7);
        let err =
            Config::parse(&format!("{base}baselines:\n  import_roots: [dumps]\n")).unwrap_err();
        assert!(
            err.to_string().contains("baselines.import_roots[0]"),
            "{err}"
        );
        let ok = Config::parse(&format!("{base}baselines:\n  import_roots: [/backups]\n")).unwrap();
        assert_eq!(ok.baselines.import_roots, vec![PathBuf::from("/backups")]);
        assert!(!ok.health_public);
    }

    #[test]
    fn errors_name_the_field() {
        let err = Config::parse(
            "token: t\ndata_dir: /tmp/x\nsources:\n  - server_id: 1\n    dsn: postgres://x\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("sources[0].dsn"), "{err}");
        let err = Config::parse("token: t\ndata_dir: /x\nsources: []\nbogus: 1\n").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn lists_accept_comma_strings_and_filters_apply() {
        let c = Config::parse(
            "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@h:3306\n    schemas: \"shop, crm\"\n    tables: shop.orders\n",
        )
        .unwrap();
        assert_eq!(c.sources[0].schemas, vec!["shop", "crm"]);
        assert!(c.sources[0].captures("SHOP", "Orders"));
        assert!(!c.sources[0].captures("shop", "users"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("3 parsecs"), None);
    }
}
