//! Rotation against a real index in a temporary directory: every read over both tiers answers
//! exactly as the index alone did before the rotation.

use super::*;
use crate::archive::catalog::Catalog;
use crate::archive::TierView;
use crate::config::Config;
use crate::index::{Checkpoint, CommittedTxn, RowChange, StoredChange, TxnRecord};
use crate::schema::{Decode, TableSchema};
use crate::test_support::{app, col, orders};
use agent_api::{ErrorCode, Value};

/// The source of [`app`].
const SID: u32 = 1;
const TXNS: u64 = 200;

/// `shop.orders` with a `qty INT` column after `note`.
fn schema() -> TableSchema {
    orders(vec![col(
        "qty",
        Decode::Int {
            bytes: 4,
            unsigned: false,
        },
    )])
}

struct Fixture {
    app: Arc<App>,
    table_no: u32,
    base_us: i64,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// An agent with one table whose 200 transactions (one per second, ending 100 s ago) insert,
/// update and delete 20 keys, with a TRUNCATE at seq 150.
fn fixture() -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let app = app(
        data.path(),
        &format!("archive:\n  url: file://{}\n", files.path().display()),
    );
    let (table_no, _) = app.index.resolve_table(SID, &schema(), 1).unwrap();
    let base_us = now_us() - (TXNS as i64 + 100) * 1_000_000;
    let mut live: HashMap<i64, Vec<Value>> = HashMap::new();
    let mut txns = Vec::new();
    for seq in 1..=TXNS {
        let id = (seq as i64 * 7) % 20 + 1;
        let row = vec![
            Value::Int(id),
            Value::Text(format!("note {seq}")),
            Value::Int(seq as i64 % 3),
        ];
        let (kind, before, after) = match live.get(&id).cloned() {
            None => (ChangeKind::Insert, None, Some(row)),
            Some(old) if seq % 5 == 0 => (ChangeKind::Delete, Some(old), None),
            Some(old) => (ChangeKind::Update, Some(old), Some(row)),
        };
        match &after {
            Some(r) => live.insert(id, r.clone()),
            None => live.remove(&id),
        };
        let clears = if seq == 150 {
            live.clear();
            vec![table_no]
        } else {
            Vec::new()
        };
        let changes = if seq == 150 {
            Vec::new()
        } else {
            vec![RowChange {
                table_no,
                schema_version: 0,
                kind,
                pk: id.to_be_bytes().to_vec(),
                before,
                after,
            }]
        };
        let t = base_us + seq as i64 * 1_000_000;
        txns.push(CommittedTxn {
            seq,
            record: TxnRecord {
                visible_us: t,
                commit_us: t,
                gtid: Some(format!("0-1-{seq}")),
                binlog_file: "bin.000001".into(),
                binlog_pos: 4 + seq,
                rows: 1,
            },
            changes,
            ordinal_base: 0,
            clears,
        });
    }
    let cp = Checkpoint {
        seq: TXNS,
        ..Checkpoint::default()
    };
    app.index.commit(SID, &txns, &cp, true).unwrap();
    Fixture {
        app,
        table_no,
        base_us,
        _dirs: (data, files),
    }
}

type Around = (Option<StoredChange>, Option<StoredChange>);

/// Every answer the three read functions give for this table.
#[derive(Debug, PartialEq)]
struct Answers {
    around: Vec<Around>,
    scans: Vec<Vec<(Vec<u8>, Around)>>,
    changes: Vec<(Vec<u8>, StoredChange)>,
    window: Vec<(Vec<u8>, StoredChange)>,
}

async fn answers(f: &Fixture) -> Answers {
    let view: TierView = f.app.archive.view(SID, f.table_no).await.unwrap();
    let index = &f.app.index;
    let mut around = Vec::new();
    let mut scans = Vec::new();
    for seq_max in 0..=TXNS + 1 {
        for id in 0..=21i64 {
            around.push(
                view.key_history_around(index, &id.to_be_bytes(), seq_max, 0)
                    .unwrap(),
            );
        }
        let mut scan = Vec::new();
        view.scan_keys(index, None, None, seq_max, 0, |pk, at, after| {
            scan.push((pk.to_vec(), (at, after)));
            true
        })
        .unwrap();
        scans.push(scan);
    }
    let collect = |lo: Option<&[u8]>, hi: Option<&[u8]>, after: u64, upto: u64| {
        let mut out = Vec::new();
        view.changes_between(index, lo, hi, after, upto, |pk, c| {
            out.push((pk.to_vec(), c));
            true
        })
        .unwrap();
        out
    };
    let changes = collect(None, None, 0, u64::MAX);
    let (lo, hi) = (3i64.to_be_bytes(), 12i64.to_be_bytes());
    let window = collect(Some(&lo), Some(&hi), 50, 150);
    Answers {
        around,
        scans,
        changes,
        window,
    }
}

#[tokio::test]
async fn reads_are_identical_before_and_after_rotation_in_two_steps() {
    let f = fixture();
    let before = answers(&f).await;
    assert_eq!(before.changes.len(), TXNS as usize - 1);
    // Older than 250 s: seqs up to 50 move to the archive, the rest stays hot.
    let report = rotate(f.app.clone(), Duration::from_secs(250))
        .await
        .unwrap();
    assert_eq!(report.events, 50);
    assert_eq!(report.dropped_index_rows, 50);
    let cov = f.app.archive.catalog().coverage(SID);
    assert_eq!(cov.archived_through_seq, 50);
    assert_eq!(cov.dropped_through_seq, 50);
    assert_eq!(cov.archived_through_us, f.base_us + 50 * 1_000_000);
    assert_eq!(answers(&f).await, before, "after the first rotation");
    // Everything else, including the TRUNCATE at seq 150.
    let report = rotate(f.app.clone(), Duration::ZERO).await.unwrap();
    assert_eq!(report.events, TXNS - 50);
    let mut left = 0;
    f.app
        .index
        .changes_between(f.table_no, None, None, 0, u64::MAX, |_, _| {
            left += 1;
            true
        })
        .unwrap();
    assert_eq!(left, 0, "rotated rows are gone from the index");
    assert_eq!(answers(&f).await, before, "after the second rotation");
    // Nothing new to rotate: no files, no change.
    let again = rotate(f.app.clone(), Duration::ZERO).await.unwrap();
    assert!(again.files.is_empty());
}

#[tokio::test]
async fn files_follow_the_partition_layout() {
    let f = fixture();
    let report = rotate(f.app.clone(), Duration::ZERO).await.unwrap();
    for file in &report.files {
        let date = utc_date(file.time_from_us);
        assert!(
            file.path
                .starts_with(&format!("server=1/table=shop.orders/date={date}/")),
            "{}",
            file.path
        );
        assert!(file
            .path
            .ends_with(&format!("{}-{}.parquet", file.seq_from, file.seq_to)));
    }
    let catalog = Catalog::load(&f.app.config.data_dir.join("archive-catalog.json")).unwrap();
    assert_eq!(
        catalog.files, report.files,
        "the catalog on disk lists exactly the files"
    );
}

#[tokio::test]
async fn a_missing_or_damaged_file_is_an_error_never_an_empty_answer() {
    let f = fixture();
    let report = rotate(f.app.clone(), Duration::ZERO).await.unwrap();
    let root = f._dirs.1.path();
    let victim = root.join(&report.files[0].path);
    std::fs::write(&victim, b"PAR1 not a parquet file PAR1").unwrap();
    f.app.archive.clear_cache();
    let view = f.app.archive.view(SID, f.table_no).await.unwrap();
    let err = view
        .key_history_around(&f.app.index, &3i64.to_be_bytes(), TXNS, 0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal, "{}", err.message);
    assert!(
        err.message.contains(&report.files[0].path),
        "{}",
        err.message
    );
    drop(view);
    std::fs::remove_file(&victim).unwrap();
    f.app.archive.clear_cache();
    let Err(err) = f.app.archive.view(SID, f.table_no).await else {
        panic!("a removed archive file must fail the read");
    };
    assert_eq!(err.code, ErrorCode::Unavailable, "{}", err.message);
    assert!(
        err.message.contains(&report.files[0].path),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn pruned_history_is_a_coverage_gap() {
    let f = fixture();
    rotate(f.app.clone(), Duration::from_secs(250))
        .await
        .unwrap();
    rotate(f.app.clone(), Duration::ZERO).await.unwrap();
    // Prune what is older than 200 s: seqs up to 100.
    let pruned = prune(f.app.clone(), Duration::from_secs(200))
        .await
        .unwrap();
    let catalog = f.app.archive.catalog();
    assert_eq!(catalog.coverage(SID).pruned_through_seq, 100);
    assert!(catalog.files.iter().all(|f| f.seq_to > 100));
    assert!(pruned >= 1, "the file of seqs 1..=50 is deleted");
    let view = f.app.archive.view(SID, f.table_no).await.unwrap();
    let err = view
        .key_history_around(&f.app.index, &3i64.to_be_bytes(), 60, 0)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::CoverageGap);
    assert!(err.message.contains("seq 100"), "{}", err.message);
    let err = view
        .changes_between(&f.app.index, None, None, 10, 180, |_, _| true)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::CoverageGap);
    // After the pruned range, keys changed since are still answered.
    let (at, _) = view
        .key_history_around(
            &f.app.index,
            &((199i64 * 7) % 20 + 1).to_be_bytes(),
            TXNS,
            0,
        )
        .unwrap();
    assert_eq!(at.map(|c| c.seq), Some(199));
    // A baseline at or after the pruned range stands for it: a key unchanged since is no gap,
    // and a scan is allowed; one taken inside the pruned range is not enough.
    let unchanged = 10_000i64.to_be_bytes();
    assert_eq!(
        view.key_history_around(&f.app.index, &unchanged, TXNS, 0)
            .unwrap_err()
            .code,
        ErrorCode::CoverageGap
    );
    let (at, after) = view
        .key_history_around(&f.app.index, &unchanged, TXNS, 100)
        .unwrap();
    assert!(at.is_none() && after.is_none());
    let mut keys = 0;
    view.scan_keys(&f.app.index, None, None, TXNS, 100, |_, _, _| {
        keys += 1;
        true
    })
    .unwrap();
    assert!(keys > 0);
    let err = view
        .scan_keys(&f.app.index, None, None, TXNS, 99, |_, _, _| true)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::CoverageGap);
}

#[tokio::test]
async fn rotation_without_an_archive_url_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let app = app(data.path(), "");
    let err = rotate(app.clone(), Duration::ZERO).await.unwrap_err();
    assert!(err.to_string().contains("archive.url"), "{err}");
    let err = on_request(app, &RotateRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest);
}

#[tokio::test]
async fn an_interrupted_drop_is_finished_when_the_archive_opens() {
    let f = fixture();
    rotate(f.app.clone(), Duration::from_secs(250))
        .await
        .unwrap();
    // As if a rotation up to seq 120 crashed after its catalog update, before the index drop.
    let path = f.app.config.data_dir.join("archive-catalog.json");
    let mut catalog = Catalog::load(&path).unwrap();
    let cov = catalog.coverage.get_mut(&SID).unwrap();
    assert_eq!(cov.dropped_through_seq, 50);
    cov.archived_through_seq = 120;
    catalog.store(&path).unwrap();
    let reopened = Archive::open(&f.app.config, &f.app.index).unwrap();
    assert_eq!(reopened.catalog().coverage(SID).dropped_through_seq, 120);
    let mut oldest = u64::MAX;
    f.app
        .index
        .changes_between(f.table_no, None, None, 0, u64::MAX, |_, c| {
            oldest = oldest.min(c.seq);
            true
        })
        .unwrap();
    assert_eq!(
        oldest, 121,
        "rows up to the registered boundary are dropped"
    );
}

#[test]
fn archive_settings_parse_and_a_bad_url_names_the_field() {
    let base = "token: t\ndata_dir: /x\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@h:3306\n";
    let c = Config::parse(&format!(
        "{base}retention:\n  hot: 7d\n  archive: 365d\narchive:\n  url: s3://b/p\n  endpoint: http://127.0.0.1:9000\n  allow_http: true\n"
    ))
    .unwrap();
    assert_eq!(c.retention.hot, Some(Duration::from_secs(7 * 86_400)));
    assert_eq!(c.retention.archive, Some(Duration::from_secs(365 * 86_400)));
    let a = c.archive.unwrap();
    assert_eq!(a.rotate_every, Duration::from_secs(3600));
    assert!(a.allow_http);
    let err = Config::parse(&format!("{base}archive:\n  url: ftp://x\n")).unwrap_err();
    assert!(err.to_string().contains("archive.url"), "{err}");
    let err = Config::parse(&format!("{base}retention:\n  hot: soon\n")).unwrap_err();
    assert!(err.to_string().contains("soon"), "{err}");
}
