//! ProxySQL in front of the shim: the query rules that route time-travel SQL to the shim's
//! hostgroup, and the `dbtrail-shim proxysql-config` generator of an idempotent admin script.
//!
//! Deployment: applications connect to ProxySQL (`:6033`); statements that read a virtual schema
//! go to the hostgroup holding `dbtrail-shim`, everything else to the real MySQL, which is every
//! tenant user's `default_hostgroup`. `proxysql/README.md` at the repository root is the
//! operator's guide; `proxysql/corpus/` holds the statements the rules are tested against.

pub mod cli;
pub mod rules;
pub mod script;

pub use rules::{query_rules, Destination, QueryRule, RULE_ID_MAX, RULE_ID_MIN};
pub use script::{generate_admin_script, native_password_hash, write_script};

use crate::config::ConfigError;

/// How ProxySQL authenticates the tenant users to the backends, which decides what the script
/// stores in `mysql_users.password`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendAuth {
    /// `mysql_native_password`: store MySQL's `*<40 hex>` double-SHA1 hash, never the cleartext.
    #[default]
    NativePassword,
    /// `caching_sha2_password`: ProxySQL needs the cleartext, so the script stores it (and the
    /// tenant's `mysql_password` in `shim.yaml` must be cleartext).
    CachingSha2Password,
}

/// Choices of the admin script that `shim.yaml` does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOptions {
    /// Hostgroup of the real MySQL (every tenant's `default_hostgroup`). Default 9100, chosen
    /// far from the 0/1/10/20 of most installations because the script deletes its servers.
    pub mysql_hostgroup: u32,
    /// Hostgroup of the shim servers, the rules' destination. Default 9101.
    pub shim_hostgroup: u32,
    /// Host ProxySQL uses to reach the shim. Default: the host of `shim.yaml`'s `listen`, which
    /// must then not be a wildcard such as `0.0.0.0`.
    pub shim_host: Option<String>,
    /// What `mysql_users.password` holds.
    pub backend_auth: BackendAuth,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        Self {
            mysql_hostgroup: 9100,
            shim_hostgroup: 9101,
            shim_host: None,
            backend_auth: BackendAuth::NativePassword,
        }
    }
}

/// Why the admin script cannot be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum ProxysqlError {
    /// `shim.yaml` cannot be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--mysql` is not `host:port`.
    #[error("--mysql {value:?}: {reason}")]
    MysqlBackend {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The shim's address cannot be derived from `listen`.
    #[error("listen {listen:?}: {reason}")]
    ShimAddress {
        /// `shim.yaml`'s `listen`.
        listen: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `tenants` is empty: no user could reach the shim.
    #[error("tenants: shim.yaml lists no tenant, so no ProxySQL user could reach the shim")]
    NoTenants,
    /// The two hostgroups are the same number.
    #[error("the MySQL and shim hostgroups must differ (both are {0})")]
    SameHostgroup(u32),
    /// `caching_sha2_password` was asked for but the tenant's password is only a hash.
    #[error(
        "tenant {user:?}: caching_sha2_password backends need the cleartext password, \
         but shim.yaml holds its native hash"
    )]
    CleartextRequired {
        /// The tenant's `mysql_user`.
        user: String,
    },
    /// The output file exists and `--force` was not given.
    #[error("{path} exists; pass --force to overwrite it")]
    Exists {
        /// The output path.
        path: String,
    },
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path (`-` for standard output).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}
