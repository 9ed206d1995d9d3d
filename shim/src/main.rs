//! `dbtrail-shim --config shim.yaml`: loads the config, binds, serves until killed.
//! `dbtrail-shim proxysql-config --config shim.yaml --mysql host:port`: prints the ProxySQL admin
//! script (hostgroups, tenant users, query rules).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dbtrail_shim::config::Config;
use dbtrail_shim::server::{Server, Shared};
use tracing_subscriber::EnvFilter;

/// MySQL wire-protocol server for time-travel SQL over agent-core.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Path of shim.yaml.
    #[arg(long, default_value = "shim.yaml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Prints or writes the ProxySQL admin script (hostgroups, tenant users, query rules).
    ProxysqlConfig(dbtrail_shim::proxysql::cli::ProxysqlConfigArgs),
}

/// Each query allocates and frees its request, answer cells and packets; mimalloc costs far fewer
/// instructions per allocation than glibc malloc on that pattern (as in agent-core).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dbtrail-shim: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(Command::ProxysqlConfig(p)) = &args.command {
        return dbtrail_shim::proxysql::cli::run(p).context("proxysql-config");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::load(&args.config)
        .with_context(|| format!("invalid config {}", args.config.display()))?;
    let addr = config.listen_addr()?;
    let shared = Shared::from_config(&config)?;
    let server = Server::bind(addr, shared).await?;
    tracing::info!("dbtrail-shim listening on {}", server.local_addr()?);
    server.serve().await;
    Ok(())
}
