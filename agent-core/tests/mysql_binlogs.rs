//! Real MySQL binlog files (5.6 to 9.6) through the capture decoder and `import-binlogs` into a
//! fresh index: every row value, GTID and commit time the files' sidecars document.
//!
//! The files live outside the repository (`<workspace>/../shared/mysql-binlogs`, or the directory
//! named by `DBTRAIL_MYSQL_BINLOGS`); each has a `<name>.source.txt` saying where it comes from and
//! what it holds. A missing directory fails the tests: nothing here is skipped.

#![expect(
    clippy::unwrap_used,
    clippy::type_complexity,
    reason = "test helpers: a failed step is the test's failure"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use agent_api::Value;
use agent_core::capture::assembler::event_type as et;
use agent_core::capture::import::{import_files, import_files_with_schema, ImportReport};
use agent_core::config::{Config, SourceConfig};
use agent_core::index::{ChangeKind, CommittedTxn, Index};
use agent_core::schema::Collations;

fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("DBTRAIL_MYSQL_BINLOGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mysql-binlogs")
        });
    assert!(
        dir.join("README.md").is_file(),
        "the real-binlog corpus is missing at {} (set DBTRAIL_MYSQL_BINLOGS to its directory)",
        dir.display()
    );
    dir
}

fn source() -> SourceConfig {
    let yaml = "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@h:3306\n";
    Config::parse(yaml).unwrap().sources.remove(0)
}

/// One file imported into a fresh index.
struct Imported {
    report: ImportReport,
    txns: Vec<CommittedTxn>,
    index: Index,
    _dir: tempfile::TempDir,
}

impl Imported {
    /// Transactions with row changes: `(gtid, commit_us, [(kind, before, after)])`.
    fn changes(&self) -> Vec<Vec<(ChangeKind, Option<Vec<String>>, Option<Vec<String>>)>> {
        self.txns
            .iter()
            .filter(|t| !t.changes.is_empty())
            .map(|t| {
                t.changes
                    .iter()
                    .map(|c| {
                        (
                            c.kind,
                            c.before.as_ref().map(|r| r.iter().map(show).collect()),
                            c.after.as_ref().map(|r| r.iter().map(show).collect()),
                        )
                    })
                    .collect()
            })
            .collect()
    }

    fn count(&self, code: u8) -> u64 {
        self.report.events.get(&code).copied().unwrap_or(0)
    }

    fn column_names(&self, schema: &str, table: &str) -> Vec<String> {
        let entry = self
            .index
            .table_at(1, schema, table, u64::MAX)
            .unwrap_or_else(|| panic!("{schema}.{table} not in the index"));
        let (_, s) = entry.version_at(u64::MAX);
        s.columns.iter().map(|c| c.info.name.clone()).collect()
    }
}

fn import(name: &str) -> Imported {
    import_with_schema(name, "")
}

/// [`import`] with a `--schema-file` (its text: `mysql --batch` lines of `information_schema`
/// columns, `capture::schema_file`).
fn import_with_schema(name: &str, schema_file: &str) -> Imported {
    let path = corpus_dir().join(name);
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let mut txns = Vec::new();
    let schema = agent_core::capture::schema_file::parse(schema_file).unwrap();
    let report = import_files_with_schema(
        &index,
        &source(),
        Collations::builtin(),
        &[(name.to_owned(), path)],
        &schema,
        &mut |t| txns.push(t.clone()),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    Imported {
        report,
        txns,
        index,
        _dir: dir,
    }
}

/// One canonical text per value: integers and decimals as MySQL prints them, floats in Rust's
/// shortest form, bytes as `0x<hex>`, temporal values with 6 fractional digits.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) => format!("f{f}"),
        Value::Double(d) => format!("d{d}"),
        Value::Decimal(s) => s.clone(),
        Value::Text(s) => format!("'{s}'"),
        Value::Bytes(b) => format!(
            "0x{}",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_text(6),
        Value::DateTime(d) => d.to_text(6),
        Value::Json(j) => format!("json:{j}"),
    }
}

fn row(cells: &[&str]) -> Option<Vec<String>> {
    Some(cells.iter().map(|c| (*c).to_owned()).collect())
}

fn counts(imp: &Imported) -> BTreeMap<u8, u64> {
    imp.report.events.clone()
}

/// The events of a corpus file fed straight to the capture [`Assembler`]: the transactions it
/// committed, each event kind counted, and the error that stopped it (if any).
fn decode(name: &str) -> (Vec<CommittedTxn>, BTreeMap<u8, u64>, Option<String>) {
    use agent_core::capture::assembler::Assembler;
    use agent_core::capture::file::BinlogFileReader;
    use agent_core::index::Checkpoint;
    let path = corpus_dir().join(name);
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let mut asm = Assembler::new(source(), Collations::builtin(), Checkpoint::default());
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut txns = Vec::new();
    let mut kinds = BTreeMap::new();
    for fe in BinlogFileReader::new(file, name).unwrap() {
        let fe = fe.unwrap_or_else(|e| panic!("{e}"));
        *kinds.entry(fe.event.header().event_type_raw()).or_default() += 1;
        if let Err(e) = asm.on_event_at(&fe.event, fe.end, &index) {
            return (txns, kinds, Some(e.to_string()));
        }
        txns.extend(asm.take_committed());
    }
    (txns, kinds, None)
}

/// MySQL 8.4.8, `binlog_row_metadata=FULL`: 26 column types, every value asserted upstream.
#[test]
fn mysql_8_4_8_fullmeta_every_type() {
    check_zongji(
        "mysql-8.4.8__zongji__fullmeta__mysql-bin.000002.reconstructed",
        true,
    );
}

/// The same statements with `binlog_row_metadata=MINIMAL`: signedness and charsets only.
#[test]
fn mysql_8_4_8_minimal_every_type() {
    check_zongji(
        "mysql-8.4.8__zongji__minimal__mysql-bin.000002.reconstructed",
        false,
    );
}

/// The server ran with `binlog_row_image=NOBLOB`: the UPDATE's images lack the TEXT/BLOB
/// columns, which capture refuses (a row it cannot rebuild exactly) naming the column; the
/// INSERT before it decodes completely. The import stops at the same place with the same error.
fn check_zongji(name: &str, full: bool) {
    let (txns, kinds, error) = decode(name);
    let error = error.expect("the NOBLOB UPDATE is refused");
    assert!(
        error.contains("lacks column 8") && error.contains("binlog_row_image must be FULL"),
        "{error}"
    );
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let import_error = import_files(
        &index,
        &source(),
        Collations::builtin(),
        &[(name.to_owned(), corpus_dir().join(name))],
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(import_error.contains("lacks column 8"), "{import_error}");
    assert!(
        index.checkpoint(1).unwrap().is_none(),
        "nothing half-imported"
    );
    // Up to the UPDATE: FDE, then GTID+DDL, GTID+BEGIN+TABLE_MAP+WRITE+XID, GTID+BEGIN+TABLE_MAP.
    assert_eq!(kinds.get(&et::FORMAT_DESCRIPTION), Some(&1));
    assert_eq!(kinds.get(&et::MYSQL_GTID), Some(&3));
    assert_eq!(kinds.get(&et::WRITE_ROWS), Some(&1));
    assert_eq!(kinds.get(&et::UPDATE_ROWS), Some(&1));
    let first = row(&[
        "1",
        "9223372036854775807",
        "18446744073709551615",
        "-12345678901234567.0123456789",
        "'héllo wörld'",
        "'abc'",
        "0xdeadbeef",
        "0x0102",
        "'text value'",
        "0xcafe",
        "f1.25",
        "d-2.5",
        "2024-06-15 12:34:56.789000",
        "2024-06-15 12:34:56.000000",
        "2024-06-15",
        "-01:02:03.500000",
        "2024",
        if full { "'b'" } else { "'2'" },
        if full { "'c'd'" } else { "'2'" },
        if full { "'x,z'" } else { "'5'" },
        "0x0201",
        r#"json:{"a":1,"arr":["x",true,null],"big":9223372036854775807,"d":1.5}"#,
        "0x000000000101000000000000000000f03f0000000000000040",
        "'café ñ'",
        "'Ÿ€ señor'",
        "'héllo'",
    ]);
    assert_eq!(txns.len(), 2, "the CREATE TABLE and the INSERT");
    let inserted: Vec<_> = txns[1]
        .changes
        .iter()
        .map(|c| {
            (
                c.kind,
                c.before
                    .as_ref()
                    .map(|r| r.iter().map(show).collect::<Vec<_>>()),
                c.after
                    .as_ref()
                    .map(|r| r.iter().map(show).collect::<Vec<_>>()),
            )
        })
        .collect();
    assert_eq!(inserted, vec![(ChangeKind::Insert, None, first)]);
    for t in &txns {
        let gtid = t.record.gtid.as_deref().unwrap();
        assert!(
            gtid.starts_with("75029619-787e-11f1-88ef-6acb2cd49b0e:"),
            "{gtid}"
        );
    }
}

/// The transactions with row changes as `(gtid, commit_us, end position)`.
fn row_txns(imp: &Imported) -> Vec<(Option<String>, i64, u64)> {
    imp.txns
        .iter()
        .filter(|t| !t.changes.is_empty())
        .map(|t| {
            (
                t.record.gtid.clone(),
                t.record.commit_us,
                t.record.binlog_pos,
            )
        })
        .collect()
}

/// MySQL 8.2.0, MINIMAL metadata (no names, no PK: a row is identified by all its columns, so
/// the UPDATE is a DELETE of the old row plus an INSERT); real `mysqlbinlog -vv` output:
/// INSERT (1,11,111,1111,11111,1), UPDATE SET @2=22 @3=222, DELETE.
#[test]
fn mysql_8_2_0_integers_insert_update_delete() {
    let imp = import("mysql-8.2.0__cdc__32_delete_rows_v2__binlog.000001");
    assert_eq!(imp.count(et::MYSQL_ANONYMOUS_GTID), 5);
    assert_eq!(imp.count(et::QUERY), 5);
    assert_eq!(imp.count(et::TABLE_MAP), 3);
    assert_eq!(imp.count(et::WRITE_ROWS), 1);
    assert_eq!(imp.count(et::UPDATE_ROWS), 1);
    assert_eq!(imp.count(et::DELETE_ROWS), 1);
    assert_eq!(imp.count(et::XID), 3);
    let before = row(&["1", "11", "111", "1111", "11111", "1"]);
    let after = row(&["1", "22", "222", "1111", "11111", "1"]);
    assert_eq!(
        imp.changes(),
        vec![
            vec![(ChangeKind::Insert, None, before.clone())],
            vec![
                (ChangeKind::Delete, before, None),
                (ChangeKind::Insert, None, after.clone())
            ],
            vec![(ChangeKind::Delete, after, None)],
        ]
    );
    // immediate_commit_timestamp of each ANONYMOUS_GTID (µs), as mysqlbinlog prints it.
    assert_eq!(
        row_txns(&imp),
        vec![
            (None, 1_703_581_281_258_304, 1132),
            (None, 1_703_581_289_681_456, 1462),
            (None, 1_703_582_341_315_113, 1762)
        ]
    );
    assert_eq!(imp.report.checkpoint.binlog_pos, 1762);
}

/// The columns of the 5.7.30 files' `boxercrab` tables as `information_schema` gives them (from
/// the sidecars' CREATE TABLE), in `--schema-file` form.
const BOXERCRAB_DELETE_COLUMNS: &str =
    "TABLE_SCHEMA\tTABLE_NAME\tCOLUMN_NAME\tCOLUMN_TYPE\tCOLLATION_NAME\tPK_SEQ\tEXTRA
default\tboxercrab\tid\tint(10) unsigned\tNULL\t1\tauto_increment
default\tboxercrab\ttitle\tvarchar(40)\tutf8mb4_general_ci\t0\t
";

/// MySQL 5.7.30 files carry no optional metadata: without a schema file the `INT UNSIGNED` id
/// could come back negative, so the import refuses the table, naming it and the way out;
/// nothing is written.
#[test]
fn mysql_5_7_30_without_signedness_is_refused() {
    for name in [
        "mysql-5.7.30__boxercrab__32_delete_rows_v2__log.bin",
        "mysql-5.7.30__boxercrab__31_update_rows_v2__log.bin",
        "percona-5.6.16-64.2__go-mysql__tcb-eval002c-bin.003320",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let e = import_files(
            &index,
            &source(),
            Collations::builtin(),
            &[(name.to_owned(), corpus_dir().join(name))],
            &mut |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no signedness") && e.contains("--schema-file"),
            "{name}: {e}"
        );
        assert!(
            e.contains("`boxercrab`") || e.contains("`test`.`decodedecimal`"),
            "{e}"
        );
        assert!(
            index.checkpoint(1).unwrap().is_none_or(|c| c.seq == 0),
            "{name}: nothing imported"
        );
    }
}

/// MySQL 5.7.30: GTIDs without commit timestamps (the XID header's second is the commit time),
/// ROWS_QUERY events, no optional metadata: names, PK, signedness and the utf8mb4 collation
/// come from the schema file.
#[test]
fn mysql_5_7_30_gtids_rows_query_insert_delete() {
    let imp = import_with_schema(
        "mysql-5.7.30__boxercrab__32_delete_rows_v2__log.bin",
        BOXERCRAB_DELETE_COLUMNS,
    );
    assert_eq!(imp.count(et::MYSQL_GTID), 4);
    assert_eq!(imp.count(et::MYSQL_PREVIOUS_GTIDS), 1);
    assert_eq!(imp.count(et::ROWS_QUERY), 2);
    assert_eq!(imp.count(et::TABLE_MAP), 2);
    assert_eq!(imp.count(et::WRITE_ROWS), 1);
    assert_eq!(imp.count(et::DELETE_ROWS), 1);
    assert_eq!(imp.count(et::XID), 2);
    let r = row(&["1", "'abcde'"]);
    assert_eq!(
        imp.changes(),
        vec![
            vec![(ChangeKind::Insert, None, r.clone())],
            vec![(ChangeKind::Delete, r, None)]
        ]
    );
    let uuid = "80549ecc-d2f2-11ea-b790-0242ac130002";
    assert_eq!(
        row_txns(&imp),
        vec![
            (Some(format!("{uuid}:3")), 1_596_180_685_000_000, 1011),
            (Some(format!("{uuid}:4")), 1_596_180_685_000_000, 1333)
        ]
    );
    assert_eq!(
        imp.report.checkpoint.gtid.as_deref(),
        Some(format!("{uuid}:1-4").as_str())
    );
    assert_eq!(imp.column_names("default", "boxercrab"), ["id", "title"]);
    let entry = imp
        .index
        .table_at(1, "default", "boxercrab", u64::MAX)
        .unwrap();
    let (_, schema) = entry.version_at(u64::MAX);
    assert!(schema.columns[0].info.unsigned, "id is INT UNSIGNED");
    assert_eq!(schema.pk, [0]);
}

/// MySQL 5.7.30: one UPDATE_ROWS over VARCHAR/TEXT/MEDIUMTEXT/LONGTEXT/FLOAT/DOUBLE/DECIMAL
/// (the schema file gives the PK, so it is one UPDATE of id 1).
#[test]
fn mysql_5_7_30_update_every_text_and_number_type() {
    let columns = "default\tboxercrab\tid\tint(10) unsigned\tNULL\t1\tauto_increment
default\tboxercrab\tvarchar_l\tvarchar(100)\tutf8mb4_general_ci\t0\t
default\tboxercrab\tvarchar_s\tvarchar(40)\tutf8mb4_general_ci\t0\t
default\tboxercrab\ttext_s\ttext\tutf8mb4_general_ci\t0\t
default\tboxercrab\ttext_m\tmediumtext\tutf8mb4_general_ci\t0\t
default\tboxercrab\ttext_l\tlongtext\tutf8mb4_general_ci\t0\t
default\tboxercrab\tnum_float\tfloat\tNULL\t0\t
default\tboxercrab\tnum_double\tdouble\tNULL\t0\t
default\tboxercrab\tnum_decimal\tdecimal(10,4)\tNULL\t0\t
";
    let imp = import_with_schema(
        "mysql-5.7.30__boxercrab__31_update_rows_v2__log.bin",
        columns,
    );
    assert_eq!(imp.count(et::UPDATE_ROWS), 1);
    assert_eq!(imp.count(et::MYSQL_GTID), 1);
    let abc = "'abc'";
    let xd = "'xd'";
    let before = row(&["1", abc, abc, abc, abc, abc, "f1", "d2", "3.0000"]);
    let after = row(&["1", xd, xd, xd, xd, xd, "f4", "d4", "4.0000"]);
    assert_eq!(
        imp.changes(),
        vec![vec![(ChangeKind::Update, before, after)]]
    );
    assert_eq!(
        row_txns(&imp),
        vec![(
            Some("e3e2a4ee-b6dc-11ea-8bcf-0242ac150002:1".into()),
            1_595_949_569_000_000,
            533
        )]
    );
}

/// MySQL 8.0.40: TIME '-507:48:27' (asserted upstream).
#[test]
fn mysql_8_0_40_negative_time() {
    let imp = import("mysql-8.0.40__rmc__time_issue.000001");
    assert_eq!(
        imp.changes(),
        vec![vec![(
            ChangeKind::Insert,
            None,
            row(&["-507:48:27.000000"])
        )]]
    );
    assert_eq!(row_txns(&imp), vec![(None, 1_746_458_055_436_563, 428)]);
}

/// MySQL 8.0.40, MINIMAL metadata: the INSERT's image lacks the TEXT column `@2` (the server
/// did not log it: `binlog_row_image` was not FULL), so capture refuses it, naming the column,
/// instead of guessing a value.
#[test]
fn mysql_8_0_40_partial_insert_image_is_refused() {
    let (txns, kinds, error) = decode("mysql-8.0.40__rmc__minimal_row_metadata.000001");
    let error = error.unwrap();
    assert!(error.contains("lacks column 1 (@2)"), "{error}");
    assert!(txns.iter().all(|t| t.changes.is_empty()));
    assert_eq!(kinds.get(&et::WRITE_ROWS), Some(&1));
    assert_eq!(kinds.get(&et::TABLE_MAP), Some(&1));
}

/// MySQL 8.0.26: BIT(3) b'100', TEXT 'foo', BIT(8) b'00100000' (asserted upstream).
#[test]
fn mysql_8_0_26_bit_columns() {
    let imp = import("mysql-8.0.26__rmc__mysql_type_bit.000001");
    assert_eq!(
        imp.changes(),
        vec![vec![(
            ChangeKind::Insert,
            None,
            row(&["0x04", "'foo'", "0x20"])
        )]]
    );
    assert_eq!(
        row_txns(&imp),
        vec![(
            Some("fbda2ad0-7c46-11ec-ae30-4ef7efc81a2a:3".into()),
            1_642_940_552_829_769,
            1001
        )]
    );
    assert_eq!(imp.column_names("mysql", "foo"), ["a", "b", "c"]);
}

/// MySQL 8.0.22 with `binlog_row_image=MINIMAL` (its PARTIAL_UPDATE_ROWS has a before image of
/// the id alone): capture cannot rebuild whole rows and refuses at the first rows event, naming
/// the column; nothing is imported.
#[test]
fn mysql_8_0_22_minimal_row_image_is_refused() {
    let name = "mysql-8.0.22__rmc__json.binlog.000001";
    let (txns, kinds, error) = decode(name);
    let error = error.unwrap();
    assert!(error.contains("lacks column 1 (@2)"), "{error}");
    assert!(kinds.get(&et::WRITE_ROWS).is_some_and(|n| *n >= 1));
    let _ = txns;
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let e = import_files(
        &index,
        &source(),
        Collations::builtin(),
        &[(name.to_owned(), corpus_dir().join(name))],
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("binlog_row_image must be FULL"),
        "{e}"
    );
}

/// MySQL 8.0.26 invisible columns (`f1`, `f2`, `f6` INVISIBLE): they are in FULL row images and
/// decode like any other column; COLUMN_VISIBILITY parses.
#[test]
fn mysql_8_0_26_invisible_columns() {
    let imp = import("mysql-8.0.26__rmc__binlog-invisible-columns.000001");
    assert_eq!(imp.count(et::MYSQL_GTID), 5);
    assert_eq!(imp.count(et::WRITE_ROWS), 2);
    assert_eq!(imp.count(et::UPDATE_ROWS), 1);
    assert_eq!(
        imp.column_names("mysql", "t1"),
        ["f1", "f2", "f3", "f4", "f5", "f6"]
    );
    let second = row(&["NULL", "NULL", "-33", "'44'", "0x55", "NULL"]);
    assert_eq!(
        imp.changes(),
        vec![
            vec![(
                ChangeKind::Insert,
                None,
                row(&["1", "2", "-3", "'4'", "0x05", "6000000000"])
            )],
            vec![(ChangeKind::Insert, None, second.clone())],
            vec![
                (ChangeKind::Delete, second, None),
                (
                    ChangeKind::Insert,
                    None,
                    row(&["111", "222", "-333", "'444'", "0x55", "NULL"])
                )
            ],
        ]
    );
}

/// MySQL 8.0.28 CHAR/VARCHAR(300)/ENUM/SET/TEXT with FULL metadata (asserted upstream).
#[test]
fn mysql_8_0_28_enum_set_strings() {
    let imp = import("mysql-8.0.28__rmc__mysql-enum-string-set.000001");
    let d100 = "0123456789".repeat(10);
    let changes = imp.changes();
    assert_eq!(changes.len(), 3);
    let inserted = changes[0][0].2.clone().unwrap();
    assert_eq!(inserted[0], format!("'{d100}'"));
    assert!(inserted[1].len() > 200 && inserted[1].bytes().skip(1).take(10).eq(*b"0123456789"));
    assert_eq!(inserted[2..], ["'var1'", "'one,three'", "'0123456789'"]);
    let updated = changes[1][1].2.clone().unwrap();
    assert_eq!(
        updated[..4],
        ["'field1'", "'field_2'", "'variant2'", "'two,four'"]
    );
    assert_eq!(
        updated[4], inserted[1],
        "f5 takes the long digit string f2 had"
    );
    assert_eq!(changes[2], vec![(ChangeKind::Delete, Some(updated), None)]);
    assert_eq!(
        imp.column_names("mysql", "t"),
        ["f1", "f2", "f3", "f4", "f5"]
    );
}

/// MySQL 8.0.31: two zstd TRANSACTION_PAYLOADs (QUERY, ROWS_QUERY, TABLE_MAP, rows, XID inside)
/// between GTID events; the inner events are counted and decoded at the payload's position.
#[test]
fn mysql_8_0_31_compressed_transactions() {
    let imp = import("mysql-8.0.31__ape__mysql-bin.000057");
    assert_eq!(imp.count(et::TRANSACTION_PAYLOAD), 2);
    assert_eq!(imp.count(et::MYSQL_GTID), 3);
    assert_eq!(imp.count(et::ROWS_QUERY), 3);
    assert_eq!(imp.count(et::TABLE_MAP), 3);
    assert_eq!(imp.count(et::WRITE_ROWS), 2);
    assert_eq!(imp.count(et::UPDATE_ROWS), 1);
    assert_eq!(imp.count(et::XID), 2);
    let uuid = "76f3e7be-6720-11ed-9cad-0242ac110002";
    assert_eq!(
        row_txns(&imp),
        vec![
            (Some(format!("{uuid}:12")), 1_668_952_358_419_905, 651),
            (Some(format!("{uuid}:13")), 1_668_952_413_513_328, 1283)
        ]
    );
    assert_eq!(
        imp.changes()[0],
        vec![(ChangeKind::Insert, None, row(&["1"]))]
    );
    // `update test_table_3 set enum_field='large', set_field='c', product_item_2=... where
    // product_id=55555`, then `insert ... values(6666, ...)`: MINIMAL metadata has no ENUM/SET
    // labels, so they come out as their numbers (ENUM index, SET mask), never as empty labels.
    let changes = &imp.changes()[1];
    assert_eq!(changes.len(), 3);
    let after = changes[1].2.clone().unwrap();
    assert_eq!(after[0], "55555");
    assert_eq!(after[9], r#"json:{"c":1}"#);
    assert_eq!(after[10], "'product_3_value'");
    assert_ne!(
        after[7], "''",
        "a SET member without a label is not an empty set"
    );
    assert_eq!(changes[2].2.clone().unwrap()[0], "6666");
    assert_eq!(
        imp.report.checkpoint.gtid.as_deref(),
        Some(format!("{uuid}:1-13").as_str())
    );
}

/// MySQL 8.0.32: one zstd TRANSACTION_PAYLOAD holding QUERY, TABLE_MAP, WRITE_ROWS, XID.
#[test]
fn mysql_8_0_32_transaction_payload() {
    let imp = import("mysql-8.0.32__rmc__transaction_compression.000001");
    assert_eq!(imp.count(et::TRANSACTION_PAYLOAD), 1);
    assert_eq!(imp.count(et::QUERY), 1);
    assert_eq!(imp.count(et::TABLE_MAP), 1);
    assert_eq!(imp.count(et::WRITE_ROWS), 1);
    assert_eq!(imp.count(et::XID), 1);
    assert_eq!(
        imp.changes(),
        vec![vec![(ChangeKind::Insert, None, row(&["1"]))]]
    );
    assert_eq!(row_txns(&imp), vec![(None, 1_695_159_109_445_737, 431)]);
}

/// MySQL 8.0.31, MINIMAL metadata: the LINEITEM session of the side SQL file, DECIMALs, DATEs and
/// a long Chinese VARCHAR; DDL (CREATE/DROP/CREATE of `Demo`) between.
#[test]
fn mysql_8_0_31_lineitem_session() {
    let imp = import("mysql-8.0.31__cdc__02_query_bigger__binlog.000733");
    assert_eq!(imp.count(et::MYSQL_ANONYMOUS_GTID), 11);
    assert_eq!(imp.count(et::QUERY), 11);
    assert_eq!(imp.count(et::TABLE_MAP), 6);
    assert_eq!(imp.count(et::WRITE_ROWS), 3);
    assert_eq!(imp.count(et::UPDATE_ROWS), 1);
    assert_eq!(imp.count(et::DELETE_ROWS), 2);
    assert_eq!(imp.count(et::XID), 6);
    let line = |k: &str, p: &str, s: &str, n: &str, q: &str, e: &str, d: &str, t: &str, c: &str| {
        row(&[
            k,
            p,
            s,
            n,
            q,
            e,
            d,
            t,
            "'code'",
            "'Y'",
            "1990-08-01",
            "1990-06-01",
            "1990-01-01",
            "'test@test.com'",
            "'test'",
            c,
        ])
    };
    let com = "'com'";
    let chinese = "'使用箭头标记 -> 不是 SQL 语句的一部分，它仅仅表示一个新行，如果一条 SQL 语句太长，我们可以通过回车键来创建一个新行来编写 SQL 语句，SQL 语句的命令结束符为分号 ;。'";
    let r77 = line(
        "12345678909877",
        "12356790",
        "13789",
        "888878788",
        "99.997",
        "76.88",
        "888.1",
        "109.8",
        com,
    );
    let r79 = line(
        "12345678909879",
        "12356792",
        "13791",
        "888878790",
        "99.995",
        "76.01",
        "888.3",
        "109.1",
        com,
    );
    let r80 = line(
        "12345678909880",
        "12356792",
        "13791",
        "888878791",
        "99.999",
        "76.22",
        "888.8",
        "109.0",
        com,
    );
    let changes = imp.changes();
    assert_eq!(
        changes[0],
        vec![(
            ChangeKind::Insert,
            None,
            line(
                "1234567890111",
                "1235111",
                "13711",
                "888878711",
                "99.911",
                "76.11",
                "888.1",
                "109.1",
                com
            )
        )]
    );
    assert_eq!(
        changes[1],
        vec![
            (
                ChangeKind::Insert,
                None,
                line(
                    "12345678909876",
                    "12356789",
                    "13789",
                    "888878787",
                    "99.998",
                    "76.77",
                    "888.7",
                    "109.7",
                    com
                )
            ),
            (ChangeKind::Insert, None, r77.clone()),
            (
                ChangeKind::Insert,
                None,
                line(
                    "12345678909878",
                    "12356791",
                    "13790",
                    "888878789",
                    "99.999",
                    "76.99",
                    "888.5",
                    "109.9",
                    chinese
                )
            ),
            (ChangeKind::Insert, None, r79.clone()),
            (ChangeKind::Insert, None, r80.clone()),
        ]
    );
    let mut u77 = r77.clone().unwrap();
    u77[4] = "88.880".into();
    u77[8] = "'update L_RETURNFLAG '".into();
    assert_eq!(
        changes[2],
        vec![
            (ChangeKind::Delete, r77, None),
            (ChangeKind::Insert, None, Some(u77))
        ]
    );
    assert_eq!(changes[3], vec![(ChangeKind::Delete, r80, None)]);
    assert_eq!(changes[4], vec![(ChangeKind::Delete, r79, None)]);
    assert_eq!(changes[5].len(), 5, "the Demo INSERT");
    assert_eq!(imp.report.checkpoint.binlog_pos, 7843);
    assert_eq!(imp.txns.len(), 11, "every DDL is its own transaction");
}

/// MySQL 9.0.1 VECTOR columns: float32 little-endian bytes (asserted upstream for `foo`).
#[test]
fn mysql_9_0_1_vectors() {
    let imp = import("mysql-9.0.1__rmc__vector.binlog");
    assert_eq!(imp.count(et::MYSQL_ANONYMOUS_GTID), 10);
    assert_eq!(imp.count(et::TABLE_MAP), 6);
    assert_eq!(imp.count(et::WRITE_ROWS), 5);
    assert_eq!(imp.count(et::DELETE_ROWS), 1);
    let changes = imp.changes();
    assert_eq!(
        changes[0][..2],
        [
            (
                ChangeKind::Insert,
                None,
                row(&["1", "0xcdcc8c3fcdcc0c4033335340"])
            ),
            (
                ChangeKind::Insert,
                None,
                row(&["2", "0x0000803f000080bf00000000"])
            ),
        ]
    );
    assert_eq!(imp.column_names("dtb", "foo"), ["id", "vector_column"]);
}

/// MySQL 9.6.0 tagged GTIDs: PREVIOUS_GTIDS `uuid:1-13:mytag:1-2`, a GTID_TAGGED_LOG event
/// `uuid:mytag:3`.
#[test]
fn mysql_9_6_0_tagged_gtids() {
    let imp = import("mysql-9.6.0__rmc__binlog_transaction_with_GTID_TAG.000001");
    assert_eq!(imp.count(et::MYSQL_GTID_TAGGED), 1);
    assert_eq!(imp.count(et::MYSQL_PREVIOUS_GTIDS), 1);
    assert_eq!(imp.count(et::WRITE_ROWS), 1);
    let uuid = "55778904-0299-11f1-b1b8-4ef0c4956feb";
    let txns = row_txns(&imp);
    assert_eq!(txns.len(), 1);
    assert_eq!(
        txns[0].0.as_deref(),
        Some(format!("{uuid}:mytag:3").as_str())
    );
    assert_eq!(
        imp.report.checkpoint.gtid.as_deref(),
        Some(format!("{uuid}:1-13:mytag:1-3").as_str())
    );
}

/// MySQL 8.0.40: PREVIOUS_GTIDS `uuid:1-2` without tags, nothing else.
#[test]
fn mysql_8_0_40_previous_gtids_without_tag() {
    let imp = import("mysql-8.0.40__rmc__binlog_transaction_previous_GTID_no_tag.000001");
    assert_eq!(imp.count(et::MYSQL_PREVIOUS_GTIDS), 1);
    assert_eq!(
        imp.report.checkpoint.gtid.as_deref(),
        Some("b9b88c66-0755-11f1-9899-4a9da94c4d71:1-2")
    );
    assert!(imp.txns.is_empty());
}

/// Percona Server 5.6: 17 rows x 11 DECIMAL columns, compared with the `SELECT *` table the
/// sidecar quotes (parsed from it here).
#[test]
fn percona_5_6_decimals() {
    let name = "percona-5.6.16-64.2__go-mysql__tcb-eval002c-bin.003320";
    let mut columns = "test\tdecodedecimal\tid\tint(11)\tNULL\t1\tauto_increment\n".to_owned();
    for (c, t) in [
        ("v4_2", "decimal(4,2)"),
        ("v5_0", "decimal(5,0)"),
        ("v7_3", "decimal(7,3)"),
        ("v10_2", "decimal(10,2)"),
        ("v10_3", "decimal(10,3)"),
        ("v13_2", "decimal(13,2)"),
        ("v15_14", "decimal(15,14)"),
        ("v20_10", "decimal(20,10)"),
        ("v30_5", "decimal(30,5)"),
        ("v30_20", "decimal(30,20)"),
        ("v30_25", "decimal(30,25)"),
        ("prec", "int(11)"),
        ("scale", "int(11)"),
    ] {
        columns.push_str(&format!("test\tdecodedecimal\t{c}\t{t}\tNULL\t0\t\n"));
    }
    let imp = import_with_schema(name, &columns);
    let sidecar = std::fs::read_to_string(corpus_dir().join(format!("{name}.source.txt"))).unwrap();
    let want: Vec<Vec<String>> = sidecar
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.split('|')
                .next()
                .is_some_and(|c| c.trim().parse::<u32>().is_ok())
        })
        .map(|l| l.split('|').map(|c| c.trim().to_owned()).collect())
        .collect();
    assert_eq!(want.len(), 17);
    let changes = imp.changes();
    assert_eq!(changes.len(), 1);
    let got: Vec<Vec<String>> = changes[0].iter().map(|c| c.2.clone().unwrap()).collect();
    assert_eq!(got, want);
}

/// Re-importing the same file changes nothing: transactions are matched by GTID (5.7 file) or
/// by position (8.2 file without GTIDs, and a compressed one).
#[test]
fn reimport_changes_nothing() {
    for name in [
        "mysql-5.7.30__boxercrab__32_delete_rows_v2__log.bin",
        "mysql-8.2.0__cdc__32_delete_rows_v2__binlog.000001",
        "mysql-8.0.32__rmc__transaction_compression.000001",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let files = [(name.to_owned(), corpus_dir().join(name))];
        let schema = agent_core::capture::schema_file::parse(BOXERCRAB_DELETE_COLUMNS).unwrap();
        let run = || {
            import_files_with_schema(
                &index,
                &source(),
                Collations::builtin(),
                &files,
                &schema,
                &mut |_| {},
            )
            .unwrap()
        };
        let first = run();
        assert!(first.imported > 0, "{name}");
        let again = run();
        assert_eq!(again.imported, 0, "{name}");
        assert_eq!(again.skipped, first.imported, "{name}");
        assert_eq!(
            index.checkpoint(1).unwrap().unwrap(),
            first.checkpoint,
            "{name}"
        );
        assert!(again.gaps.is_empty(), "{name}");
    }
}

/// A hole between what the index holds and the next imported file is a recorded gap: by GTID
/// (PREVIOUS_GTIDS names a server the index never saw) and by position (a file that does not
/// continue the checkpoint's).
#[test]
fn a_hole_before_an_imported_file_is_a_gap() {
    for (first, second) in [
        (
            "mysql-8.0.26__rmc__mysql_type_bit.000001",
            "mysql-9.6.0__rmc__binlog_transaction_with_GTID_TAG.000001",
        ),
        (
            "mysql-8.2.0__cdc__32_delete_rows_v2__binlog.000001",
            "mysql-8.0.31__cdc__02_query_bigger__binlog.000733",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let files = |n: &str| [(n.to_owned(), corpus_dir().join(n))];
        let a = import_files(
            &index,
            &source(),
            Collations::builtin(),
            &files(first),
            &mut |_| {},
        )
        .unwrap();
        assert!(a.gaps.is_empty());
        let b = import_files(
            &index,
            &source(),
            Collations::builtin(),
            &files(second),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(b.gaps.len(), 1, "{second} after {first}");
        assert_eq!(b.gaps[0].after_seq, a.checkpoint.seq);
        assert!(b.imported > 0);
        let cp = index.checkpoint(1).unwrap().unwrap();
        assert_eq!(cp.gaps.len(), 1);
        assert!(
            cp.gaps[0].until_us.is_some(),
            "the gap closes at the next event"
        );
    }
}

/// MySQL 8.4 PREVIOUS_GTIDS becomes the tracked GTID set of the checkpoint.
#[test]
fn mysql_8_4_8_previous_gtids() {
    let imp = import("mysql-8.4.8__zongji__fullmeta__mysql-bin.000003-head");
    assert_eq!(imp.count(et::FORMAT_DESCRIPTION), 1);
    assert_eq!(imp.count(et::MYSQL_PREVIOUS_GTIDS), 1);
    assert_eq!(
        imp.report.checkpoint.gtid.as_deref(),
        Some("75029619-787e-11f1-88ef-6acb2cd49b0e:1-109")
    );
    assert!(imp.txns.is_empty());
}

/// Keeps the test list honest: every file of the corpus has a test here.
#[test]
fn every_corpus_file_has_a_test() {
    let source = include_str!("mysql_binlogs.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".txt") || name.ends_with(".json") || name == "README.md" {
            continue;
        }
        if !source.contains(&format!("\"{name}\"")) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "files without a test: {missing:?}");
}

#[test]
#[ignore = "prints what every corpus file decodes to"]
fn dump_all() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".txt") && !n.ends_with(".json") && n != "README.md")
        .collect();
    names.sort();
    for name in names {
        eprintln!("===== {name}");
        let path = corpus_dir().join(&name);
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(dir.path()).unwrap();
        let mut txns = Vec::new();
        match import_files(
            &index,
            &source(),
            Collations::builtin(),
            &[(name.clone(), path)],
            &mut |t| txns.push(t.clone()),
        ) {
            Ok(report) => {
                let imp = Imported {
                    report,
                    txns,
                    index,
                    _dir: dir,
                };
                eprintln!("checkpoint {:?}", imp.report.checkpoint);
                dump(&imp);
            }
            Err(e) => eprintln!("ERROR {e}; {} txns before", txns.len()),
        }
    }
}

fn dump(imp: &Imported) {
    eprintln!("{:?}", counts(imp));
    for t in &imp.txns {
        eprintln!("seq {} {:?}", t.seq, t.record);
        for c in &t.changes {
            eprintln!(
                "  {:?} {:?} -> {:?}",
                c.kind,
                c.before
                    .as_ref()
                    .map(|r| r.iter().map(show).collect::<Vec<_>>()),
                c.after
                    .as_ref()
                    .map(|r| r.iter().map(show).collect::<Vec<_>>())
            );
        }
    }
}
