//! Command-line flags of the bench runner.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// Largest history the runner accepts, in row events (rows × versions).
pub const MAX_EVENTS: u64 = 10_000_000;

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Rows in the history table (`--rows`).
    pub rows: u64,
    /// Versions per row: one INSERT then `versions - 1` UPDATE rounds (`--versions`).
    pub versions: u32,
    /// Rows per transaction while building the history and the write workload (`--batch`).
    pub batch: u64,
    /// Point queries per concurrency level and per system (`--queries`).
    pub queries: usize,
    /// Client concurrency levels for point queries (`--concurrency 1,16`).
    pub concurrency: Vec<usize>,
    /// Rows inserted (then updated once) by the source-overhead write workload (`--write-rows`).
    pub write_rows: u64,
    /// Use prepared statements (`exec`) for point queries instead of the text protocol.
    pub prepared: bool,
    /// Where to write the JSON report (`--json`).
    pub json: Option<PathBuf>,
    /// Seed for keys and times of point queries (`--seed`).
    pub seed: u64,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            rows: 100_000,
            versions: 5,
            batch: 1_000,
            queries: 20_000,
            concurrency: vec![1, 16],
            write_rows: 50_000,
            prepared: false,
            json: None,
            seed: 42,
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
bench: capture, point AS OF, snapshot, storage and source-overhead numbers against a private MariaDB

usage: bench [--rows N] [--versions M] [--batch B] [--queries Q] [--concurrency 1,16]
             [--write-rows W] [--prepared] [--seed S] [--json out.json]

  --rows N          rows in the history table (default 100000)
  --versions M      versions per row: 1 INSERT + M-1 UPDATE rounds (default 5); N*M <= 10M events
  --batch B         rows per transaction (default 1000)
  --queries Q       point queries per concurrency level and system (default 20000)
  --concurrency L   comma-separated client counts for point queries (default 1,16)
  --write-rows W    rows of the source-overhead workload, inserted then updated (default 50000)
  --prepared        point queries as prepared statements (COM_STMT_EXECUTE) instead of text
  --seed S          seed for random keys and times (default 42)
  --json PATH       also write the report as JSON to PATH
";

impl Opts {
    /// Parses `args` (without the program name). `Ok(None)` means `--help` was asked for.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Self>> {
        let mut opts = Self::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--rows" => opts.rows = number(&flag, &value()?)?,
                "--versions" => opts.versions = number(&flag, &value()?)?,
                "--batch" => opts.batch = number(&flag, &value()?)?,
                "--queries" => opts.queries = number(&flag, &value()?)?,
                "--write-rows" => opts.write_rows = number(&flag, &value()?)?,
                "--seed" => opts.seed = number(&flag, &value()?)?,
                "--json" => opts.json = Some(PathBuf::from(value()?)),
                "--prepared" => opts.prepared = true,
                "--concurrency" => {
                    opts.concurrency = value()?
                        .split(',')
                        .map(|c| number(&flag, c.trim()))
                        .collect::<Result<_>>()?;
                }
                other => bail!("unknown flag {other:?}\n\n{USAGE}"),
            }
        }
        opts.validate()?;
        Ok(Some(opts))
    }

    /// Row events the history produces: one per row and version.
    pub fn events(&self) -> u64 {
        self.rows * u64::from(self.versions)
    }

    fn validate(&self) -> Result<()> {
        if self.rows == 0 || self.versions == 0 || self.batch == 0 {
            bail!("--rows, --versions and --batch must be positive");
        }
        if self.events() > MAX_EVENTS {
            bail!(
                "--rows × --versions = {} exceeds {MAX_EVENTS} events",
                self.events()
            );
        }
        if self.concurrency.contains(&0) {
            bail!("--concurrency levels must be positive");
        }
        Ok(())
    }
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T> {
    text.replace('_', "")
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag}: {text:?} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Opts>> {
        Opts::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags_override_defaults() {
        let o = parse(&["--rows", "1_000", "--versions", "3", "--concurrency", "2,8"])
            .expect("valid")
            .expect("not help");
        assert_eq!((o.rows, o.versions, o.events()), (1_000, 3, 3_000));
        assert_eq!(o.concurrency, vec![2, 8]);
    }

    #[test]
    fn refuses_more_than_ten_million_events() {
        assert!(parse(&["--rows", "5000000", "--versions", "3"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
