use super::*;
use crate::test_support::orders;

fn header() -> FileHeader {
    FileHeader {
        server_id: 1,
        table_no: 7,
        schema_version: 2,
        schema: Arc::new(orders(Vec::new())),
    }
}

fn row(id: i64, note: &str) -> Vec<Value> {
    vec![Value::Int(id), Value::Text(note.into())]
}

fn key(id: i64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

fn event(seq: u64, kind: EventKind, id: i64, before: Option<&str>, after: Option<&str>) -> Event {
    Event {
        seq,
        time_us: 1_700_000_000_000_000 + seq as i64,
        kind,
        pk: if kind == EventKind::Truncate {
            Vec::new()
        } else {
            key(id)
        },
        before: before.map(|n| row(id, n)),
        after: after.map(|n| row(id, n)),
    }
}

/// A history with derivable and non-derivable before images, sorted by (pk, seq).
fn history() -> Vec<Event> {
    vec![
        event(3, EventKind::Truncate, 0, None, None),
        // First change of key 1 in the file is an UPDATE: its before image must be stored.
        event(1, EventKind::Update, 1, Some("a"), Some("b")),
        event(4, EventKind::Update, 1, Some("b"), Some("c")),
        event(5, EventKind::Delete, 1, Some("c"), None),
        event(2, EventKind::Insert, 2, None, Some("x")),
        // A hole: the before image differs from the previous after, so it is stored too.
        event(6, EventKind::Update, 2, Some("y"), Some("z")),
    ]
}

#[test]
fn events_round_trip_with_derived_before_images() {
    let bytes = Bytes::from(write_file(&header(), &history()).unwrap());
    let (h, back) = read_file(&bytes, None).unwrap();
    assert_eq!((h.server_id, h.table_no, h.schema_version), (1, 7, 2));
    assert_eq!(*h.schema, *header().schema);
    assert_eq!(back, history());
}

#[test]
fn only_derivable_before_images_are_left_out() {
    let bytes = Bytes::from(write_file(&header(), &history()).unwrap());
    let batch = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let before = batch.column_by_name("before").unwrap().as_struct().clone();
    let stored: Vec<bool> = (0..batch.num_rows()).map(|i| before.is_valid(i)).collect();
    assert_eq!(stored, [false, true, false, false, false, true]);
    let after = batch.column_by_name("after").unwrap().as_struct().clone();
    let present: Vec<bool> = (0..batch.num_rows()).map(|i| after.is_valid(i)).collect();
    assert_eq!(present, [false, true, true, false, true, true]);
}

#[test]
fn a_key_lookup_reads_only_that_key() {
    let bytes = Bytes::from(write_file(&header(), &history()).unwrap());
    let (_, back) = read_file(&bytes, Some(&key(1))).unwrap();
    assert_eq!(back, history()[1..4].to_vec());
    let (_, none) = read_file(&bytes, Some(&key(99))).unwrap();
    assert!(none.is_empty());
}

#[test]
fn row_groups_are_skipped_by_bloom_filter_and_statistics() {
    let events: Vec<Event> = (0..(ROW_GROUP_ROWS as i64 * 2 + 10))
        .map(|id| event(id as u64 + 1, EventKind::Insert, id, None, Some("n")))
        .collect();
    let bytes = Bytes::from(write_file(&header(), &events).unwrap());
    assert_eq!(row_groups_with(&bytes, &key(5)).unwrap(), [0]);
    assert_eq!(
        row_groups_with(&bytes, &key(ROW_GROUP_ROWS as i64 * 2 + 3)).unwrap(),
        [2]
    );
    assert!(row_groups_with(&bytes, &key(-5)).unwrap().is_empty());
    let (_, back) = read_file(&bytes, Some(&key(ROW_GROUP_ROWS as i64 + 1))).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].after, Some(row(ROW_GROUP_ROWS as i64 + 1, "n")));
}

#[test]
fn a_damaged_file_is_an_error() {
    let mut raw = write_file(&header(), &history()).unwrap();
    let mid = raw.len() / 2;
    raw.truncate(mid);
    assert!(read_file(&Bytes::from(raw), None).is_err());
}

#[test]
fn streamed_events_derive_before_images_across_batches() {
    // One key's 9,000 versions: the chain crosses the reader's 8,192-row batch boundary.
    let mut events = vec![event(1, EventKind::Insert, 5, None, Some("v1"))];
    for seq in 2..=9000u64 {
        let (b, a) = (format!("v{}", seq - 1), format!("v{seq}"));
        events.push(event(seq, EventKind::Update, 5, Some(&b), Some(&a)));
    }
    let bytes = Bytes::from(write_file(&header(), &events).unwrap());
    let mut stream = EventStream::open(&bytes).unwrap();
    let mut back = Vec::new();
    while let Some(e) = stream.next_event().unwrap() {
        back.push(e);
    }
    assert_eq!(back, events);
}
