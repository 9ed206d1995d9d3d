//! Point lookups and key scans of the change index against the history they were written from.

use super::*;

const TABLE: u32 = 7;

/// One committed change of a key in these tests: `(seq, kind, image id)`.
type Written = (u64, ChangeKind, i64);

fn image(id: i64) -> Vec<Value> {
    vec![Value::Int(id), Value::Text(format!("row image {id}"))]
}

fn change(pk: &[u8], kind: ChangeKind, id: i64) -> RowChange {
    let (before, after) = match kind {
        ChangeKind::Insert => (None, Some(image(id))),
        ChangeKind::Update => (Some(image(id - 1)), Some(image(id))),
        ChangeKind::Delete => (Some(image(id)), None),
    };
    RowChange {
        table_no: TABLE,
        schema_version: 0,
        kind,
        pk: pk.to_vec(),
        before,
        after,
    }
}

/// Commits one transaction per seq with the given changes.
fn write(index: &Index, history: &[(u64, Vec<RowChange>)]) {
    let txns: Vec<CommittedTxn> = history
        .iter()
        .map(|(seq, changes)| CommittedTxn {
            seq: *seq,
            record: TxnRecord {
                visible_us: *seq as i64 * 1_000,
                commit_us: *seq as i64 * 1_000,
                gtid: None,
                binlog_file: "binlog.000001".into(),
                binlog_pos: 4 + *seq,
                rows: changes.len() as u32,
            },
            changes: changes.clone(),
            ordinal_base: 0,
            clears: Vec::new(),
        })
        .collect();
    let cp = Checkpoint {
        seq: history.last().map_or(0, |(s, _)| *s),
        ..Checkpoint::default()
    };
    index.commit(1, &txns, &cp, false).unwrap();
}

/// What `key_history_around` must answer, computed from the written list.
fn expected(written: &[Written], seq_max: u64) -> (Option<Written>, Option<Written>) {
    let at = written.iter().rev().find(|w| w.0 <= seq_max).copied();
    let after = written.iter().find(|w| w.0 > seq_max).copied();
    (at, after)
}

fn summary(c: &Option<StoredChange>) -> Option<Written> {
    c.as_ref().map(|c| {
        let img = c.after.as_ref().or(c.before.as_ref()).unwrap();
        let Value::Int(id) = img[0] else {
            panic!("image {img:?}")
        };
        (c.seq, c.kind, id)
    })
}

/// Checks every split point from before the first change to after the last, on a memtable and
/// again on sorted tables.
fn check_all_splits(index: &Index, pk: &[u8], written: &[Written]) {
    let last = written.last().map_or(0, |w| w.0);
    for seq_max in 0..=last + 1 {
        let (at, after) = index.key_history_around(TABLE, pk, seq_max).unwrap();
        assert_eq!(
            (summary(&at), summary(&after)),
            expected(written, seq_max),
            "pk {pk:?} at seq {seq_max}"
        );
        for c in at.iter().chain(&after) {
            assert_eq!(c.schema_version, 0);
            if c.kind == ChangeKind::Update {
                let Some(Value::Int(id)) = c.after.as_ref().map(|a| a[0].clone()) else {
                    panic!("update without after image: {c:?}")
                };
                assert_eq!(c.before, Some(image(id - 1)), "before image of {c:?}");
            }
        }
        // The state lookup: the same newest change without an UPDATE's before image, the later
        // change only when there is no newest one.
        let (s_at, s_after) = index.key_state_around(TABLE, pk, seq_max).unwrap();
        match &at {
            Some(c) => {
                let want = StoredChange {
                    before: c.before.clone().filter(|_| c.kind != ChangeKind::Update),
                    ..c.clone()
                };
                assert_eq!(
                    (s_at, s_after),
                    (Some(want), None),
                    "pk {pk:?} at {seq_max}"
                );
            }
            None => assert_eq!((s_at, s_after), (None, after), "pk {pk:?} at {seq_max}"),
        }
    }
}

/// Writes `versions` changes of `pk` at seqs 2, 4, 6, ... (insert, updates, a delete as newest).
fn key_with_versions(pk: &[u8], versions: u64) -> (Vec<(u64, Vec<RowChange>)>, Vec<Written>) {
    let mut history = Vec::new();
    let mut written = Vec::new();
    for v in 0..versions {
        let seq = 2 + 2 * v;
        let kind = match v {
            0 => ChangeKind::Insert,
            v if v + 1 == versions => ChangeKind::Delete,
            _ => ChangeKind::Update,
        };
        let id = if kind == ChangeKind::Delete {
            v as i64 - 1
        } else {
            v as i64
        };
        history.push((seq, vec![change(pk, kind, id)]));
        written.push((seq, kind, id));
    }
    (history, written)
}

#[test]
fn key_history_around_splits_few_and_many_versions() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    // Below, at and well above the number of versions read forward before seeking.
    let cases: Vec<(Vec<u8>, u64)> = [1, 3, FORWARD_VERSIONS as u64, 9, 40]
        .iter()
        .enumerate()
        .map(|(i, v)| ((i as u64 + 1).to_be_bytes().to_vec(), *v))
        .collect();
    let mut all = Vec::new();
    for (pk, versions) in &cases {
        let (history, written) = key_with_versions(pk, *versions);
        write(&index, &history);
        all.push((pk.clone(), written));
    }
    for (pk, written) in &all {
        check_all_splits(&index, pk, written);
    }
    index.flush().unwrap();
    assert!(index.rows.table_count() > 0);
    for (pk, written) in &all {
        check_all_splits(&index, pk, written);
    }
    // A key never written, between and beyond written ones.
    for pk in [0u64, 99] {
        let none = index.key_history_around(TABLE, &pk.to_be_bytes(), 100);
        assert_eq!(none.unwrap(), (None, None));
    }
    // Another table number with the same PK sees nothing of this one.
    let other = index.key_history_around(TABLE + 1, &cases[4].0, 100);
    assert_eq!(other.unwrap(), (None, None));
}

#[test]
fn pks_sharing_a_prefix_never_mix() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    // Raw bytes, not the prefix-free string encoding: "ab" is a prefix of "abc", so the keys of
    // "abc" lie inside the key range of "ab" and must be told apart by their length.
    let (ab, abc) = (b"ab".as_slice(), b"abc".as_slice());
    let mut history = Vec::new();
    let (mut w_ab, mut w_abc) = (Vec::new(), Vec::new());
    for seq in 1..=30u64 {
        // "abc" changes at every seq, "ab" at every third: both with more versions than read
        // forward, and "abc" entries between any two of "ab".
        let mut changes = Vec::new();
        let id = seq as i64 * 10;
        if seq % 3 == 0 {
            let kind = if seq == 3 {
                ChangeKind::Insert
            } else {
                ChangeKind::Update
            };
            changes.push(change(ab, kind, id));
            w_ab.push((seq, kind, id));
        }
        let kind = if seq == 1 {
            ChangeKind::Insert
        } else {
            ChangeKind::Update
        };
        changes.push(change(abc, kind, id + 1));
        w_abc.push((seq, kind, id + 1));
        history.push((seq, changes));
    }
    write(&index, &history);
    check_all_splits(&index, ab, &w_ab);
    check_all_splits(&index, abc, &w_abc);
    index.flush().unwrap();
    check_all_splits(&index, ab, &w_ab);
    check_all_splits(&index, abc, &w_abc);
}

#[test]
fn scan_keys_gives_each_key_its_split_once() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path()).unwrap();
    let mut model: Vec<(Vec<u8>, Vec<Written>)> = Vec::new();
    for (i, versions) in [1u64, 5, 12, 2].iter().enumerate() {
        let pk = (i as u64 * 10).to_be_bytes().to_vec();
        let (history, written) = key_with_versions(&pk, *versions);
        write(&index, &history);
        model.push((pk, written));
    }
    index.flush().unwrap();
    for seq_max in [0, 1, 2, 3, 9, 10, 11, 30] {
        let mut seen = Vec::new();
        index
            .scan_keys(TABLE, None, None, seq_max, |pk, at, after| {
                seen.push((pk.to_vec(), summary(&at), summary(&after)));
                true
            })
            .unwrap();
        let want: Vec<_> = model
            .iter()
            .map(|(pk, w)| {
                // State-only: the change after the split only when none lies at or before it.
                let (at, after) = expected(w, seq_max);
                (pk.clone(), at, after.filter(|_| at.is_none()))
            })
            .collect();
        assert_eq!(seen, want, "seq {seq_max}");
    }
    // Stopping after the first key.
    let mut calls = 0;
    index
        .scan_keys(TABLE, None, None, 5, |_, _, _| {
            calls += 1;
            false
        })
        .unwrap();
    assert_eq!(calls, 1);
}

#[test]
fn truncates_are_found_for_truncated_tables_only_also_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let truncate = |seq: u64, tables: Vec<u32>| CommittedTxn {
        seq,
        record: TxnRecord {
            visible_us: seq as i64,
            commit_us: seq as i64,
            gtid: None,
            binlog_file: "binlog.000001".into(),
            binlog_pos: seq,
            rows: 0,
        },
        changes: Vec::new(),
        ordinal_base: 0,
        clears: tables,
    };
    let check = |index: &Index| {
        assert_eq!(index.next_clear(TABLE, 0).unwrap(), Some(5));
        assert_eq!(index.next_clear(TABLE, 5).unwrap(), Some(9));
        assert_eq!(index.next_clear(TABLE, 9).unwrap(), None);
        assert_eq!(index.last_clear(TABLE, 0, 8).unwrap(), Some(5));
        assert_eq!(index.last_clear(TABLE, 0, 100).unwrap(), Some(9));
        assert_eq!(index.last_clear(TABLE, 5, 8).unwrap(), None);
        assert_eq!(index.next_clear(u32::MAX, 0).unwrap(), Some(9));
        assert_eq!(index.last_clear(u32::MAX, 0, 9).unwrap(), Some(9));
        for never in [0, TABLE - 1, TABLE + 1] {
            assert_eq!(index.next_clear(never, 0).unwrap(), None);
            assert_eq!(index.last_clear(never, 0, 100).unwrap(), None);
        }
    };
    {
        let index = Index::open(dir.path()).unwrap();
        assert_eq!(index.next_clear(TABLE, 0).unwrap(), None);
        let txns = [truncate(5, vec![TABLE]), truncate(9, vec![TABLE, u32::MAX])];
        index
            .commit(1, &txns, &Checkpoint::default(), true)
            .unwrap();
        check(&index);
        index.flush().unwrap();
    }
    check(&Index::open(dir.path()).unwrap());
}
