//! The short form of the `reliability` command (`integration::reliability`): hostile table names
//! never leave `data_dir` (baselines, pruning, exports loaded back by myloader, archives,
//! imports), imports outside `baselines.import_roots` get one answer, a full disk on tmpfs stops
//! capture with 503 and resumes by itself with nothing lost or doubled, SIGTERM is honoured
//! promptly in both states. Needs root for the tmpfs mount, or `DBTRAIL_RELIABILITY_NO_MOUNT=1`
//! to skip that part explicitly. Needs the binaries (`cargo build --workspace --bins`) and
//! Debian's `mydumper` package.

use integration::reliability::{run, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_full_disk_and_sigterm() -> anyhow::Result<()> {
    let report = run(Options::short()).await?;
    for line in &report.lines {
        println!("{line}");
    }
    Ok(())
}
