//! `reliability`: hostile table names through baselines, exports, archives and imports; a full
//! disk under capture; SIGTERM latency (see `integration::reliability`). Loopback only, bounded
//! by `--timeout` (default 600 s).
//!
//! `cargo build -p agent-core --bin agent-core && cargo run -p integration --bin reliability --
//! [--rows N] [--txns N] [--tmpfs-mib N] [--timeout SECONDS]`. Needs root for the tmpfs mount;
//! `DBTRAIL_RELIABILITY_NO_MOUNT=1` skips the full-disk part explicitly (reported as skipped).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use integration::reliability::{self, Options};

const USAGE: &str =
    "usage: reliability [--rows N] [--txns N] [--tmpfs-mib N] [--timeout SECONDS]\n";

fn parse(args: impl Iterator<Item = String>) -> Result<(Options, Duration)> {
    let mut opts = Options {
        rows: 200,
        full_disk_txns: 2000,
        tmpfs_mib: 128,
    };
    let mut timeout = Duration::from_secs(600);
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || -> Result<u64> {
            args.next()
                .with_context(|| format!("{flag} needs a value"))?
                .parse()
                .with_context(|| format!("{flag} takes a number"))
        };
        match flag.as_str() {
            "--rows" => opts.rows = value()? as usize,
            "--txns" => opts.full_disk_txns = value()? as usize,
            "--tmpfs-mib" => opts.tmpfs_mib = value()?,
            "--timeout" => timeout = Duration::from_secs(value()?),
            _ => bail!("unknown argument {flag}\n{USAGE}"),
        }
    }
    Ok((opts, timeout))
}

fn main() -> ExitCode {
    let (opts, timeout) = match parse(std::env::args().skip(1)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("reliability: {e:#}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("DBTRAIL_AGENT_CORE_BIN").is_none() {
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Into::into))
        {
            let path: std::path::PathBuf = dir;
            // Set before the runtime starts any thread.
            std::env::set_var("DBTRAIL_AGENT_CORE_BIN", path.join("agent-core"));
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("reliability: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("reliability: {opts:?}");
    let result = runtime.block_on(async {
        tokio::time::timeout(timeout, reliability::run(opts))
            .await
            .map_err(|_| anyhow::anyhow!("did not finish within {timeout:?}"))?
    });
    match result {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reliability: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
