//! Differential test: what a client receives from the shim equals what MariaDB answers for the
//! same question on a `WITH SYSTEM VERSIONING` twin of the same history (`integration::difftest`).
//!
//! The fixed-seed run enables the dimensions that pass; each dimension known to fail has its own
//! test, ignored with the defect it finds, so it can be switched on once that is fixed (`cargo
//! test -p integration --test differential -- --ignored <name>`). `DBTRAIL_DIFFTEST_SEED`
//! overrides the seed of every test here (the seed is printed either way); failing seeds worth
//! keeping go into `REGRESSION_SEEDS`. The long-run command is `difftest` (integration/README.md).

use std::collections::BTreeSet;

use anyhow::{ensure, Result};
use integration::difftest::dims::{
    ClientCharset, ColdefField, ColumnCharset, DdlKind, Dims, KeyKind, Protocol, QueryKind,
    TypeClass,
};
use integration::difftest::run::{run, Config};
use integration::MariaDb;

/// Seeds that once failed: replayed by [`passing_dimensions_match_mariadb`] with the same
/// dimensions, after the fixed seed.
const REGRESSION_SEEDS: &[u64] = &[];

/// The fixed seed of the in-suite run.
const SEED: u64 = 20_261_206;

fn set<T: Ord + Copy>(v: &[T]) -> BTreeSet<T> {
    v.iter().copied().collect()
}

/// The dimensions that pass on this branch.
fn passing() -> Dims {
    Dims {
        types: set(&[
            TypeClass::Int,
            TypeClass::Decimal,
            TypeClass::Temporal,
            TypeClass::Text,
            TypeClass::Binary,
            TypeClass::EnumSet,
            TypeClass::Json,
            TypeClass::Fbt,
            TypeClass::Generated,
        ]),
        key_types: set(&[
            TypeClass::Int,
            TypeClass::Decimal,
            TypeClass::Temporal,
            TypeClass::Binary,
        ]),
        column_charsets: set(&[
            ColumnCharset::Utf8mb4,
            ColumnCharset::Utf8mb3,
            ColumnCharset::Binary,
        ]),
        keys: set(&[KeyKind::Single, KeyKind::Composite]),
        ddl: BTreeSet::new(),
        client_charsets: set(&[ClientCharset::Utf8mb4]),
        protocols: set(&[Protocol::Text, Protocol::Binary]),
        queries: set(&[
            QueryKind::Snapshot,
            QueryKind::FlashbackIn,
            QueryKind::FlashbackRange,
        ]),
        big_transactions: true,
        coldefs: set(&[
            ColdefField::Name,
            ColdefField::OrgName,
            ColdefField::Type,
            ColdefField::Length,
            ColdefField::Decimals,
        ]),
        unwritten: false,
    }
}

fn seed() -> u64 {
    std::env::var("DBTRAIL_DIFFTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}

/// Runs `histories` histories of `dims` from `seed` on a fresh MariaDB started with `server`
/// options; fails with the summary of every mismatch class.
fn check(seed: u64, histories: usize, dims: Dims, tz: &str, server: &[&str]) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let db = MariaDb::start_with(server).await?;
        let mut config = Config::new(seed, histories, dims);
        config.time_zone = tz.to_owned();
        println!(
            "difftest seed {seed}, {histories} histories, {}, session tz {tz}, server {server:?}",
            config.dims.describe()
        );
        let report = run(&db, &config, &mut |l| println!("{l}")).await?;
        let summary = report.summary();
        println!("{summary}");
        ensure!(
            report.mismatches.is_empty() && report.divergences.is_empty(),
            "seed {seed}: {summary}"
        );
        // Not vacuous: every history was asked about at every instant.
        ensure!(report.histories == histories, "{summary}");
        ensure!(report.compared >= report.instants, "{summary}");
        Ok(())
    })
}

/// The in-suite run: the fixed seed (then the regression seeds) over every dimension that
/// passes. About two minutes in a debug build.
#[test]
fn passing_dimensions_match_mariadb() -> Result<()> {
    check(seed(), 12, passing(), "+00:00", &[])?;
    for s in REGRESSION_SEEDS {
        check(*s, 6, passing(), "+00:00", &[])?;
    }
    Ok(())
}

/// [`passing`] with one dimension changed by `f`.
fn with(f: impl FnOnce(&mut Dims)) -> Dims {
    let mut d = passing();
    f(&mut d);
    d
}

/// DDL in histories: ADD/DROP/MODIFY/RENAME COLUMN, ENUM/SET growth, RENAME TABLE, TRUNCATE,
/// DROP and re-CREATE.
#[test]
#[ignore = "fails on main: column definitions before a later ALTER use the newest schema; after an ALTER the old one until the next row event; a name before RENAME TABLE answers 1146"]
fn ddl_histories_match_mariadb() -> Result<()> {
    check(
        seed(),
        6,
        with(|d| d.ddl = DdlKind::ALL.iter().copied().collect()),
        "+00:00",
        &[],
    )
}

/// A session time zone and a server time zone other than UTC (`AS OF` literals and TIMESTAMP
/// values are wall times in the session zone on both sides).
#[test]
fn non_utc_time_zones_match_mariadb() -> Result<()> {
    // Temporal columns only (besides keys), so TIMESTAMP columns occur.
    let dims = with(|d| d.types = set(&[TypeClass::Int, TypeClass::Temporal]));
    check(seed(), 6, dims, "+05:30", &["--default-time-zone=-03:00"])
}

/// FLOAT and DOUBLE columns over both protocols: FLOAT's text form has 6 significant digits
/// (`1.80859`, `3.40282e38`), DOUBLE's the shortest round-trip ones.
#[test]
#[ignore = "fails on main: DOUBLE text form of exponent 15 (MariaDB -2902278003340431.5, shim -2.9022780033404315e15); FLOAT histories pass"]
fn float_columns_match_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| d.types = set(&[TypeClass::Int, TypeClass::Float])),
        "+00:00",
        &[],
    )
}

/// `binlog_row_metadata=MINIMAL` on the source: names, PK, signedness and labels come from
/// information_schema.
#[test]
fn minimal_row_metadata_matches_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        passing(),
        "+00:00",
        &["--binlog-row-metadata=MINIMAL"],
    )
}

/// latin1 and binary client charsets (`SET NAMES`).
#[test]
fn latin1_and_binary_clients_match_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| d.client_charsets = set(&[ClientCharset::Latin1, ClientCharset::Binary])),
        "+00:00",
        &[],
    )
}

/// Tables without a PRIMARY KEY: UNIQUE-only, and no key at all (duplicate rows).
#[test]
#[ignore = "fails: _snapshot of PK-less tables now matches as a bag; _flashback IN/range on the UNIQUE-only table (dt3, seed 20261206) is refused with 1064 'no primary key' where MariaDB answers (0 rows): the harness does not yet tell a nullable UNIQUE key (a bag, refusal documented) from a NOT NULL one (identity)"]
fn pk_less_tables_match_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| d.keys = set(&[KeyKind::UniqueOnly, KeyKind::None])),
        "+00:00",
        &[],
    )
}

/// String key columns in utf8mb4/utf8mb3/latin1, `_ci` and `_bin`, with characters below the
/// space (PAD SPACE collations order them before the empty string).
#[test]
#[ignore = "fails: CHAR key columns described as VAR_STRING (coldef.type), and IN lists on string keys miss rows (rows.count, 24 of 300 answers at the fixed seed); ranges and snapshots on string keys now match"]
fn string_keys_match_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| {
            d.key_types = set(&[TypeClass::Text, TypeClass::Char]);
            d.column_charsets.insert(ColumnCharset::Latin1);
        }),
        "+00:00",
        &[],
    )
}

/// YEAR, BIT, FLOAT/DOUBLE, GEOMETRY and CHAR columns.
#[test]
#[ignore = "fails: BIT(n) length, POINT sent as BLOB, CHAR as VAR_STRING (signedness after YEAR is fixed)"]
fn remaining_types_match_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| {
            d.types = set(&[
                TypeClass::Year,
                TypeClass::Bit,
                TypeClass::Float,
                TypeClass::Geometry,
                TypeClass::Char,
                TypeClass::Int,
            ])
        }),
        "+00:00",
        &[],
    )
}

/// Every column-definition field, flags and charset included.
#[test]
#[ignore = "fails on main: flags (BINARY/NUM on numbers, BINARY on _bin strings) and result charsets differ from MariaDB"]
fn every_column_definition_field_matches_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| d.coldefs = ColdefField::ALL.iter().copied().collect()),
        "+00:00",
        &[],
    )
}

/// Names that do not exist at the instant (renamed away, dropped): the same error as MariaDB.
#[test]
#[ignore = "fails on main: 1064 (HY000) instead of 1146 (42S02) for a table absent at the instant"]
fn absent_tables_refused_like_mariadb() -> Result<()> {
    check(
        seed(),
        4,
        with(|d| {
            d.ddl = set(&[DdlKind::RenameTable, DdlKind::DropCreate]);
            d.queries = set(&[QueryKind::Absent]);
        }),
        "+00:00",
        &[],
    )
}

/// A table created (and maybe dropped) without a row ever written: it exists, empty.
#[test]
#[ignore = "fails on main: 1526 (no TABLE_MAP seen) or 1146 where MariaDB answers an empty table"]
fn never_written_tables_match_mariadb() -> Result<()> {
    check(
        seed(),
        6,
        with(|d| {
            d.unwritten = true;
            d.ddl = set(&[DdlKind::DropCreate]);
            d.queries = set(&[QueryKind::Snapshot]);
        }),
        "+00:00",
        &[],
    )
}
