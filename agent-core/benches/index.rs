//! The change index's point lookup: time → seq (`Index::seq_at`) then one key's history around
//! that seq (`Index::key_history_around`, or `Index::key_state_around` as `_flashback` reads it),
//! the two reads behind every `_flashback` point query; and the whole-table key scan behind
//! `_snapshot` (`Index::scan_keys`).
//!
//! `cargo bench -p agent-core --bench index`

use std::hint::black_box;
use std::time::Duration;

use agent_api::Value;
use agent_core::index::{ChangeKind, Checkpoint, CommittedTxn, Index, RowChange, TxnRecord};
use criterion::{criterion_group, criterion_main, Criterion};

const SERVER_ID: u32 = 1;
const TABLE_NO: u32 = 1;
/// Distinct keys in the synthetic history.
const KEYS: u64 = 5_000;
/// Committed transactions, each changing `ROWS_PER_TXN` keys.
const TXNS: u64 = 4_000;
const ROWS_PER_TXN: u64 = 10;
/// Commit time of seq 1, µs since the epoch; one transaction per 10 ms after it.
const T0_US: i64 = 1_777_000_000_000_000;

/// 8-byte big-endian key: the memcomparable shape of a `BIGINT UNSIGNED` primary key.
fn pk(id: u64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

/// A 15-value order row of ~380 bytes whose changing fields depend on `version`.
fn row(id: u64, version: u64) -> Vec<Value> {
    let text = |s: String| Value::Text(s);
    vec![
        Value::UInt(id),
        Value::UInt(id * 7_919 % 100_003),
        text(["paid", "shipped", "delivered", "returned"][(version % 4) as usize].to_owned()),
        Value::Decimal(format!("{}.25", 100 + version)),
        text("USD".to_owned()),
        Value::Int(version as i64),
        Value::Double(version as f64 / 400.0),
        text(format!("user{id}@5d3b7e0c1a.example.com")),
        text(format!("Customer 9a1f3c55e2b04d17 {id}")),
        text(format!(
            "{id} 3f2b8c1d9e7a6b5c4d3e2f1a0b9c8d7e Street, Apt 42, Springfield, United States"
        )),
        text(format!(
            "web checkout; gift wrap no; ref 6c2e0a9d4b8f7e1a3c5d2b4f6e8a0c1d3e5f7a9b2c4d6e8f0a1b3c5d {id}"
        )),
        text("standard ground shipping".to_owned()),
        Value::Int(1_777_000_000 + id as i64),
        Value::Int(1_777_000_000 + (id + version) as i64),
        Value::Int(version as i64),
    ]
}

/// xorshift64: deterministic keys without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Commits the synthetic history: txn `s` updates keys `s*10 .. s*10+9` (mod KEYS), first
/// occurrence of a key as an insert.
fn fill(index: &Index) {
    let mut versions = vec![0u64; KEYS as usize + 1];
    let mut batch = Vec::new();
    for seq in 1..=TXNS {
        let mut changes = Vec::new();
        for i in 0..ROWS_PER_TXN {
            let id = (seq * ROWS_PER_TXN + i) % KEYS + 1;
            let v = &mut versions[id as usize];
            *v += 1;
            let (kind, before) = if *v == 1 {
                (ChangeKind::Insert, None)
            } else {
                (ChangeKind::Update, Some(row(id, *v - 1)))
            };
            changes.push(RowChange {
                table_no: TABLE_NO,
                schema_version: 0,
                kind,
                pk: pk(id),
                before,
                after: Some(row(id, *v)),
            });
        }
        let t = T0_US + seq as i64 * 10_000;
        batch.push(CommittedTxn {
            seq,
            record: TxnRecord {
                visible_us: t,
                commit_us: t,
                gtid: Some(format!("0-1-{seq}")),
                binlog_file: "binlog.000001".to_owned(),
                binlog_pos: 4 + seq * 4_000,
                rows: ROWS_PER_TXN as u32,
            },
            changes,
            ordinal_base: 0,
            clears: Vec::new(),
        });
        if batch.len() == 500 || seq == TXNS {
            let cp = Checkpoint {
                binlog_file: "binlog.000001".to_owned(),
                binlog_pos: 4 + seq * 4_000,
                seq,
                visible_us: t,
                history_start_us: T0_US,
                ..Checkpoint::default()
            };
            index
                .commit(SERVER_ID, &batch, &cp, false)
                .expect("commit synthetic history");
            batch.clear();
        }
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = Index::open(dir.path()).expect("open index");
    fill(&index);
    // Sorted tables, as a restarted agent reads them (the history would otherwise still sit in
    // memtables, which no long-running index answers from).
    index.flush().expect("flush memtables");
    let mut state = 0x9E37_79B9_7F4A_7C15;
    c.bench_function("index point lookup (seq_at + key_history_around)", |b| {
        b.iter(|| {
            let id = next(&mut state) % KEYS + 1;
            let t = T0_US + (next(&mut state) % (TXNS * 10_000)) as i64;
            let seq = index.seq_at(SERVER_ID, black_box(t)).expect("seq_at");
            index
                .key_history_around(TABLE_NO, &pk(id), seq)
                .expect("key history")
        })
    });
    c.bench_function("index state lookup (seq_at + key_state_around)", |b| {
        b.iter(|| {
            let id = next(&mut state) % KEYS + 1;
            let t = T0_US + (next(&mut state) % (TXNS * 10_000)) as i64;
            let seq = index.seq_at(SERVER_ID, black_box(t)).expect("seq_at");
            index
                .key_state_around(TABLE_NO, &pk(id), seq)
                .expect("key state")
        })
    });
    c.bench_function("index whole-table scan (scan_keys, 5,000 keys)", |b| {
        b.iter(|| {
            let mut rows = 0u32;
            index
                .scan_keys(TABLE_NO, None, None, TXNS / 2, |_, at, _| {
                    rows += u32::from(at.is_some());
                    true
                })
                .expect("scan keys");
            rows
        })
    });
}

criterion_group! {
    name = index;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(index);
