//! `dbtrail-shim proxysql-config`: prints or writes the ProxySQL admin script.

use std::path::PathBuf;

use super::{generate_admin_script, write_script, BackendAuth, ProxysqlError, ScriptOptions};
use crate::config::Config;

/// Arguments of `dbtrail-shim proxysql-config`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProxysqlConfigArgs {
    /// The shim's `shim.yaml` (tenants, `listen`).
    #[arg(long)]
    pub config: PathBuf,
    /// The real MySQL as ProxySQL reaches it: `host:port` (`[addr]:port` for IPv6).
    #[arg(long)]
    pub mysql: String,
    /// Where to write the script; `-` for standard output. Files are created with mode 0600.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Hostgroup id of the real MySQL (the tenants' default_hostgroup).
    #[arg(long, default_value_t = ScriptOptions::default().mysql_hostgroup)]
    pub mysql_hostgroup: u32,
    /// Hostgroup id of the shim (the query rules' destination).
    #[arg(long, default_value_t = ScriptOptions::default().shim_hostgroup)]
    pub shim_hostgroup: u32,
    /// Host ProxySQL uses to reach the shim, when `listen` is a wildcard address.
    #[arg(long)]
    pub shim_host: Option<String>,
    /// Backend authentication: `native` stores `*<40 hex>` hashes, `caching-sha2` stores the
    /// cleartext password.
    #[arg(long, value_enum, default_value_t = AuthArg::Native)]
    pub backend_auth: AuthArg,
}

/// `--backend-auth` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthArg {
    /// `mysql_native_password`.
    Native,
    /// `caching_sha2_password`.
    CachingSha2,
}

impl ProxysqlConfigArgs {
    /// The [`ScriptOptions`] these arguments select.
    pub fn options(&self) -> ScriptOptions {
        ScriptOptions {
            mysql_hostgroup: self.mysql_hostgroup,
            shim_hostgroup: self.shim_hostgroup,
            shim_host: self.shim_host.clone(),
            backend_auth: match self.backend_auth {
                AuthArg::Native => BackendAuth::NativePassword,
                AuthArg::CachingSha2 => BackendAuth::CachingSha2Password,
            },
        }
    }
}

/// Loads the config, generates the script and writes it where `--output` says.
pub fn run(args: &ProxysqlConfigArgs) -> Result<(), ProxysqlError> {
    let config = Config::load(&args.config)?;
    let text = generate_admin_script(&config, &args.mysql, &args.options())?;
    write_script(&args.output, &text, args.force)
}
