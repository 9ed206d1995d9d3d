//! `difftest`: the long-run differential test. Generates `--histories N` random tables and
//! histories from `--seed S`, writes each to a private MariaDB and to a `WITH SYSTEM VERSIONING`
//! twin, asks agent-core through the shim and MariaDB the same questions at every instant, and
//! prints histories, instants, compared answers and mismatches. Each mismatch class gets a
//! (optionally shrunk) reproduction directory; `--replay <repro.json>` runs one again.
//!
//! Build the product binaries in the same profile first:
//! `cargo build -p agent-core -p dbtrail-shim -p integration --bins`, then
//! `target/debug/difftest --seed 7 --histories 40`. See integration/README.md.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use integration::difftest::compare::ALLOWED_DIFFERENCES;
use integration::difftest::dims::{
    parse_set, ClientCharset, ColdefField, ColumnCharset, DdlKind, Dims, KeyKind, Protocol,
    QueryKind, TypeClass,
};
use integration::difftest::gen::History;
use integration::difftest::repro::{read_repro, shrink, write_repro};
use integration::difftest::run::{run, run_batch_focused, Config, Report};
use integration::MariaDb;

const USAGE: &str = "\
difftest: dbtrail's answers against MariaDB's system-versioned twin on random histories

  --seed S                run seed (default: random, printed)
  --histories N           histories (default 12)
  --batch B               histories per agent-core run (default 6)
  --length A..B           transactions per history (default 8..18)
  --types LIST            int,year,bit,decimal,float,temporal,text,char,binary,enumset,json,geometry,fbt,generated | all
  --key-types LIST        key column classes: int,decimal,temporal,text,binary | all
  --column-charsets LIST  utf8mb4,utf8mb3,latin1,binary | all
  --keys LIST             single,composite,unique,none | all
  --ddl LIST              add,drop,modify,renamecol,enumgrow,rename,truncate,dropcreate | all | none
  --client-charsets LIST  utf8mb4,latin1,binary | all
  --protocols LIST        text,binary | all
  --queries LIST          snapshot,in,range,absent | all
  --no-big                no transaction over 10,000 rows
  --no-unwritten          skip tables never written between their CREATE and DROP
  --coldefs LIST          column-definition fields compared: name,org_name,type,flags,length,decimals,charset | all | none
  --time-zone TZ          session time zone of both clients, ±HH:MM (default +00:00)
  --server-time-zone TZ   the server's default time zone (default +00:00)
  --minimal-metadata      binlog_row_metadata=MINIMAL on the source
  --repro DIR             where reproductions go (default difftest-repro)
  --shrink R              shrink each class's first mismatch, at most R rounds (default 0: no)
  --max-repros N          reproductions written (default 20)
  --replay FILE           run one repro.json again
  -v, --verbose           print every history's SQL
Exit status: 0 no mismatch, 1 mismatches (or divergences), 2 usage, 3 harness failure.
";

struct Args {
    config: Config,
    server_tz: String,
    minimal: bool,
    repro: PathBuf,
    shrink: usize,
    max_repros: usize,
    replay: Option<PathBuf>,
    verbose: bool,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>> {
    let mut dims = Dims::all();
    let mut config = Config::new(rand::random::<u64>() >> 11, 12, Dims::all());
    let mut a = Args {
        config: config.clone(),
        server_tz: "+00:00".to_owned(),
        minimal: false,
        repro: PathBuf::from("difftest-repro"),
        shrink: 0,
        max_repros: 20,
        replay: None,
        verbose: false,
    };
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--seed" => config.seed = val()?.parse()?,
            "--histories" => config.histories = val()?.parse()?,
            "--batch" => config.batch = val()?.parse()?,
            "--length" => {
                let v = val()?;
                let (x, y) = v.split_once("..").context("--length A..B")?;
                config.length = (x.parse()?, y.parse()?);
            }
            "--types" => dims.types = parse_set(&val()?, TypeClass::ALL)?,
            "--key-types" => dims.key_types = parse_set(&val()?, TypeClass::ALL)?,
            "--column-charsets" => dims.column_charsets = parse_set(&val()?, ColumnCharset::ALL)?,
            "--keys" => dims.keys = parse_set(&val()?, KeyKind::ALL)?,
            "--ddl" => dims.ddl = parse_set(&val()?, DdlKind::ALL)?,
            "--client-charsets" => dims.client_charsets = parse_set(&val()?, ClientCharset::ALL)?,
            "--protocols" => dims.protocols = parse_set(&val()?, Protocol::ALL)?,
            "--queries" => dims.queries = parse_set(&val()?, QueryKind::ALL)?,
            "--no-big" => dims.big_transactions = false,
            "--no-unwritten" => dims.unwritten = false,
            "--coldefs" => dims.coldefs = parse_set(&val()?, ColdefField::ALL)?,
            "--time-zone" => config.time_zone = val()?,
            "--server-time-zone" => a.server_tz = val()?,
            "--minimal-metadata" => a.minimal = true,
            "--repro" => a.repro = PathBuf::from(val()?),
            "--shrink" => a.shrink = val()?.parse()?,
            "--max-repros" => a.max_repros = val()?.parse()?,
            "--replay" => a.replay = Some(PathBuf::from(val()?)),
            "-v" | "--verbose" => a.verbose = true,
            other => bail!("unknown argument {other:?}"),
        }
    }
    if dims.keys.is_empty() || dims.client_charsets.is_empty() || dims.protocols.is_empty() {
        bail!("--keys, --client-charsets and --protocols need at least one value");
    }
    config.dims = dims;
    a.config = config;
    Ok(Some(a))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("difftest: {e:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = locate_binaries() {
        eprintln!("difftest: {e:#}");
        return ExitCode::from(3);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("difftest: {e}");
            return ExitCode::from(3);
        }
    };
    match rt.block_on(main_async(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("difftest: {e:#}");
            ExitCode::from(3)
        }
    }
}

/// `agent-core` and `dbtrail-shim` beside this executable unless `DBTRAIL_*_BIN` name them.
fn locate_binaries() -> Result<()> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("executable has no directory")?;
    for (var, name) in [
        ("DBTRAIL_AGENT_CORE_BIN", "agent-core"),
        ("DBTRAIL_DBTRAIL_SHIM_BIN", "dbtrail-shim"),
    ] {
        if std::env::var_os(var).is_none() {
            let path = dir.join(name);
            anyhow::ensure!(
                path.is_file(),
                "{} not found: cargo build -p agent-core -p dbtrail-shim (same profile)",
                path.display()
            );
            // Set before the runtime starts any thread.
            std::env::set_var(var, &path);
        }
    }
    Ok(())
}

async fn main_async(args: &Args) -> Result<bool> {
    let mut server = vec![format!("--default-time-zone={}", args.server_tz)];
    if args.minimal {
        server.push("--binlog-row-metadata=MINIMAL".to_owned());
    }
    let server_refs: Vec<&str> = server.iter().map(String::as_str).collect();
    let config = &args.config;
    println!(
        "difftest --seed {} --histories {}  ({}; session tz {}, server tz {}, metadata {})",
        config.seed,
        config.histories,
        config.dims.describe(),
        config.time_zone,
        args.server_tz,
        if args.minimal { "MINIMAL" } else { "FULL" }
    );
    println!("allowed differences: {ALLOWED_DIFFERENCES}");
    let db = MariaDb::start_with(&server_refs).await?;
    let mut log = |line: &str| println!("{line}");
    if let Some(path) = &args.replay {
        let (txs, focus, class) = read_repro(path)?;
        let h = History {
            txs,
            key: integration::difftest::gen::history(
                &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0),
                &config.dims,
                1,
            )
            .key,
            summary: format!("replay of {}", path.display()),
        };
        let mut report = Report::default();
        let focus_map = [(0usize, focus)].into_iter().collect();
        run_batch_focused(
            &db,
            config,
            vec![(0, h)],
            &focus_map,
            0,
            &mut report,
            &mut log,
        )
        .await?;
        println!("replay (class was {class}):");
        print!("{}", report.summary());
        for m in &report.mismatches {
            println!("--- expected ---\n{}--- got ---\n{}", m.expected, m.got);
        }
        return Ok(report.mismatches.is_empty());
    }
    let report = run(&db, config, &mut log).await?;
    if args.verbose {
        for (i, p) in &report.placed {
            println!(
                "--- history {i} ---\n{}",
                integration::difftest::repro::history_sql(&p.history, &p.src)
            );
        }
    }
    print!("{}", report.summary());
    let classes = report.classes();
    if !classes.is_empty() {
        std::fs::create_dir_all(&args.repro)?;
    }
    for (n, (class, idx)) in classes.iter().enumerate().take(args.max_repros) {
        let m = &report.mismatches[idx[0]];
        let Some(p) = report.placed.get(&m.history) else {
            continue;
        };
        let (h, m) = if args.shrink > 0 {
            println!(
                "shrinking [{class}] (history {}, {} transactions)",
                m.history,
                p.history.txs.len()
            );
            shrink(&db, config, &p.history, m, args.shrink, &mut log).await?
        } else {
            (p.history.clone(), m.clone())
        };
        let dir = write_repro(&args.repro, n, config, &h, &m)?;
        println!(
            "repro [{class}]: {} ({} transactions)",
            dir.display(),
            h.txs.len()
        );
    }
    println!(
        "RESULT seed {}: histories {}, instants {}, compared answers {}, mismatches {} ({} classes), divergences {}",
        config.seed,
        report.histories,
        report.instants,
        report.compared,
        report.mismatches.len(),
        classes.len(),
        report.divergences.len()
    );
    Ok(report.mismatches.is_empty() && report.divergences.is_empty())
}
