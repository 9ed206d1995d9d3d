//! Test harness: a private MariaDB, agent-core and the shim on free loopback ports.
//!
//! Nothing is installed here: MariaDB comes from the system packages (`/usr/sbin/mariadbd`,
//! `mariadb-install-db`, `/usr/bin/mariadb`), the product binaries from the cargo target directory
//! (`cargo build --workspace --bins` first; `integration/test.sh` does both). Every process gets a
//! private temp directory holding its config, data and log; dropping a handle stops the process and
//! removes the directory. A failing test prints the tail of each log as its handles drop.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use integration::{AgentCore, MariaDb, Shim, Tenant};
//! let db = MariaDb::start().await?;
//! let agent = AgentCore::start(&db, &["shop"]).await?;
//! agent.wait_caught_up(&db).await?;
//! let shim = Shim::start(&agent.url(), agent.token(), &[Tenant::new("app", "app", 1)]).await?;
//! let opts = shim.mysql_opts("app", "app", Some("shop"));
//! # Ok(()) }
//! ```

pub mod agent;
pub mod canon;
pub mod cli;
pub mod difftest;
pub mod history;
pub mod mariadb;
pub mod process;
pub mod reliability;
pub mod shim;

pub use agent::AgentCore;
pub use cli::{mariadb_cli, mariadb_cli_table};
pub use mariadb::MariaDb;
pub use process::ChildProcess;
pub use shim::{Shim, Tenant};

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A loopback TCP port that was free a moment ago (bind `127.0.0.1:0`, read the port, release it).
///
/// Another process may take it before the caller binds it; callers that can retry do so.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0 for a port")?;
    Ok(listener.local_addr()?.port())
}

/// Path of a workspace binary (`agent-core`, `dbtrail-shim`) next to the running test executable.
///
/// Test executables live in `<target>/<profile>/deps/`, the binaries in `<target>/<profile>/`, so
/// this follows `CARGO_TARGET_DIR` and the profile. The environment variable `DBTRAIL_<NAME>_BIN`
/// (name upper-cased, `-` as `_`, e.g. `DBTRAIL_AGENT_CORE_BIN`) overrides the lookup.
///
/// Errors when the file does not exist, telling to build the binaries first.
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let var = format!("DBTRAIL_{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(path) = std::env::var_os(&var) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!("{var}={} does not name a file", path.display());
    }
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .with_context(|| format!("{} has no grandparent directory", exe.display()))?;
    let path = profile_dir.join(name);
    if !path.is_file() {
        bail!(
            "binary {} not found; run `cargo build --workspace --bins` (same profile as the tests) \
             first, or use integration/test.sh which does",
            path.display()
        );
    }
    Ok(path)
}

/// A random 128-bit token as 32 lowercase hex digits.
pub fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Waits until `addr` accepts a TCP connection, polling every 50 ms up to `timeout`.
///
/// `check` runs before each attempt and aborts the wait when it fails (e.g. the server exited).
pub async fn wait_for_tcp(
    addr: SocketAddr,
    timeout: Duration,
    mut check: impl FnMut() -> Result<()>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        check()?;
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                bail!("{addr} did not accept connections within {timeout:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The environment value for `RUST_LOG` given to child binaries: the caller's, else `info`.
pub(crate) fn child_rust_log() -> String {
    std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned())
}
