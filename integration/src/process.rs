//! A spawned child process whose stdout and stderr go to a log file, stopped on drop.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long [`ChildProcess`]'s `Drop` waits after SIGTERM before SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// Lines of a log file shown in error messages and on test failure.
pub const LOG_TAIL_LINES: usize = 40;

/// A child process owned by the harness.
///
/// Its stdout and stderr are appended to one log file (so a restarted process keeps one history).
/// Dropping it sends SIGTERM, waits up to [`DEFAULT_GRACE`], then SIGKILLs; when the current thread
/// is panicking (a failed assertion) the log tail is printed to stderr first.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ChildProcess {
    /// Spawns `cmd` with stdin closed and stdout/stderr appended to `log`.
    ///
    /// `name` appears in messages (`"mariadbd"`, `"agent-core"`).
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = open_log(log)?;
        let err = out
            .try_clone()
            .with_context(|| format!("duplicating log handle {}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// The process name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The OS process id, while the process has not been reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The log file receiving stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log file (empty when it cannot be read).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_file(&self.log, lines)
    }

    /// `Ok(Some(status))` once the process has exited, `Ok(None)` while it runs.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            None => bail!("{} was already stopped", self.name),
            Some(child) => child
                .try_wait()
                .with_context(|| format!("polling {}", self.name)),
        }
    }

    /// Fails with the log tail when the process has exited; used while waiting for readiness.
    pub fn ensure_running(&mut self) -> Result<()> {
        if let Some(status) = self.exit_status()? {
            bail!(
                "{} exited during start-up ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(LOG_TAIL_LINES)
            );
        }
        Ok(())
    }

    /// Graceful stop: SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status.
    ///
    /// Blocks the calling thread for at most `grace` plus the time to reap after SIGKILL.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("{} was already stopped", self.name);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        // The child is not reaped yet, so its pid cannot have been reused.
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if sent {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait()? {
                    return Ok(status);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!(
                "{} ignored SIGTERM for {grace:?}; sending SIGKILL",
                self.name
            );
        }
        child
            .kill()
            .with_context(|| format!("SIGKILL {}", self.name))?;
        child
            .wait()
            .with_context(|| format!("reaping {}", self.name))
    }

    /// Crash stop: SIGKILL now, no chance to flush anything. Returns the exit status.
    pub fn kill9(&mut self) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("{} was already stopped", self.name);
        };
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        child
            .kill()
            .with_context(|| format!("SIGKILL {}", self.name))?;
        child
            .wait()
            .with_context(|| format!("reaping {}", self.name))
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- last lines of {} ({}) ----\n{}",
                self.name,
                self.log.display(),
                self.log_tail(LOG_TAIL_LINES)
            );
        }
        if self.child.is_some() {
            if let Err(e) = self.terminate(DEFAULT_GRACE) {
                eprintln!("stopping {}: {e:#}", self.name);
            }
        }
    }
}

fn open_log(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening log file {}", path.display()))
}

/// The last `lines` lines of a text file; empty when it cannot be read.
pub fn tail_file(path: &Path, lines: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
