//! Reads a baseline's `rows.parquet` back: a PK-ordered stream for `_snapshot` merges, and point
//! lookups for `_flashback`.
//!
//! Cost of a point lookup: the footer is read once per request; row groups whose `__pk` min/max
//! statistics cannot hold the key are skipped, so each distinct row group holding a requested key
//! is decoded once (at most [`super::writer::ROW_GROUP_ROWS`] rows, ~16k), then binary-searched.
//! Streaming keeps one Arrow batch of 1,024 rows in memory.

use std::collections::VecDeque;
use std::fs::File;

use agent_api::Value;
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use super::writer::PK_COLUMN;
use super::{Baseline, BaselineError};
use crate::columnar::RowReader;
use crate::schema::TableSchema;

/// Rows per Arrow batch while reading.
const BATCH_ROWS: usize = 1_024;

/// A baseline row: memcomparable PK and values in the baseline's column order.
pub type KeyedRow = (Vec<u8>, Vec<Value>);

/// The row groups whose `__pk` statistics overlap `[lo, hi]` (`hi` prefix-inclusive; `None` =
/// unbounded). Row groups without statistics are kept.
fn row_groups_in(meta: &ParquetMetaData, lo: Option<&[u8]>, hi: Option<&[u8]>) -> Vec<usize> {
    let pk_idx = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == PK_COLUMN);
    (0..meta.num_row_groups())
        .filter(|&i| {
            let Some(Statistics::ByteArray(s)) =
                pk_idx.and_then(|c| meta.row_group(i).column(c).statistics())
            else {
                return true;
            };
            let (Some(min), Some(max)) = (s.min_opt(), s.max_opt()) else {
                return true;
            };
            let below = lo.is_some_and(|lo| max.data() < lo);
            let above = hi.is_some_and(|hi| &min.data()[..hi.len().min(min.data().len())] > hi);
            !(below || above)
        })
        .collect()
}

/// PK-ordered rows of a baseline within a key range.
pub struct RowStream {
    reader: ParquetRecordBatchReader,
    table: TableSchema,
    pending: VecDeque<KeyedRow>,
}

impl RowStream {
    /// Opens `baseline`'s rows whose key may lie in `[lo, hi]` (prefix-inclusive bounds; the
    /// caller still tests each key exactly).
    pub fn open(
        baseline: &Baseline,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Self, BaselineError> {
        let path = baseline.rows_path();
        let file = File::open(&path).map_err(|e| BaselineError::io(&path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let groups = row_groups_in(builder.metadata(), lo, hi);
        let reader = builder
            .with_row_groups(groups)
            .with_batch_size(BATCH_ROWS)
            .build()?;
        Ok(Self {
            reader,
            table: baseline.manifest.table_schema.clone(),
            pending: VecDeque::new(),
        })
    }

    /// The next row, or `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<KeyedRow>, BaselineError> {
        while self.pending.is_empty() {
            let Some(batch) = self.reader.next() else {
                return Ok(None);
            };
            self.pending = keyed_rows(
                &batch.map_err(crate::columnar::ColumnarError::from)?,
                &self.table,
            )?
            .into();
        }
        Ok(self.pending.pop_front())
    }
}

fn keyed_rows(batch: &RecordBatch, table: &TableSchema) -> Result<Vec<KeyedRow>, BaselineError> {
    let rows = RowReader::new(batch, table)?;
    let pk = batch.column_by_name(PK_COLUMN).ok_or_else(|| {
        BaselineError::Invalid(format!("baseline file has no {PK_COLUMN} column"))
    })?;
    let pk = pk.as_binary_opt::<i32>().ok_or_else(|| {
        BaselineError::Invalid(format!("baseline column {PK_COLUMN} is not binary"))
    })?;
    Ok((0..rows.len())
        .map(|i| (pk.value(i).to_vec(), rows.row(i)))
        .collect())
}

/// Looks up encoded keys (sorted ascending, distinct) in a baseline; returns the row of each key
/// found, in key order.
pub fn lookup(baseline: &Baseline, keys: &[Vec<u8>]) -> Result<Vec<KeyedRow>, BaselineError> {
    let path = baseline.rows_path();
    let file = File::open(&path).map_err(|e| BaselineError::io(&path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let meta = builder.metadata().clone();
    let mut groups: Vec<usize> = keys
        .iter()
        .flat_map(|k| row_groups_in(&meta, Some(k), Some(k)))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let reader = builder
        .with_row_groups(groups)
        .with_batch_size(BATCH_ROWS)
        .build()?;
    let mut found = Vec::new();
    for batch in reader {
        let batch = batch.map_err(crate::columnar::ColumnarError::from)?;
        let pk = batch
            .column_by_name(PK_COLUMN)
            .and_then(|c| c.as_binary_opt::<i32>().cloned())
            .ok_or_else(|| {
                BaselineError::Invalid(format!("baseline file has no {PK_COLUMN} column"))
            })?;
        let hits: Vec<usize> = keys
            .iter()
            .filter_map(|k| {
                let (mut lo, mut hi) = (0, pk.len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if pk.value(mid) < k.as_slice() {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                (lo < pk.len() && pk.value(lo) == k.as_slice()).then_some(lo)
            })
            .collect();
        if hits.is_empty() {
            continue;
        }
        let rows = RowReader::new(&batch, &baseline.manifest.table_schema)?;
        found.extend(
            hits.into_iter()
                .map(|i| (pk.value(i).to_vec(), rows.row(i))),
        );
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::writer::{BaselineWriter, ROW_GROUP_ROWS};
    use crate::baseline::{BaselineOrigin, Manifest, MANIFEST_VERSION};
    use crate::schema::Decode;
    use crate::test_support::col;

    fn table() -> TableSchema {
        TableSchema {
            schema: "shop".into(),
            name: "t".into(),
            columns: vec![
                col("v", Decode::Double),
                col(
                    "id",
                    Decode::Int {
                        bytes: 8,
                        unsigned: false,
                    },
                ),
            ],
            pk: vec![1],
        }
    }

    fn write(dir: &std::path::Path, ids: impl Iterator<Item = i64>) -> Baseline {
        write_at(dir, ids, 5)
    }

    fn write_at(dir: &std::path::Path, ids: impl Iterator<Item = i64>, seq: u64) -> Baseline {
        write_named(dir, ids, seq, "shop", "t")
    }

    fn write_named(
        dir: &std::path::Path,
        ids: impl Iterator<Item = i64>,
        seq: u64,
        schema: &str,
        name: &str,
    ) -> Baseline {
        let mut t = table();
        (t.schema, t.name) = (schema.into(), name.into());
        let mut w = BaselineWriter::create(dir, t.clone(), &seq.to_string()).unwrap();
        for id in ids {
            w.append(&[Value::Double(id as f64 / 2.0), Value::Int(id)])
                .unwrap();
        }
        let closed = w.close().unwrap();
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            id: Manifest::make_id(seq, 1),
            server_id: 1,
            schema: schema.into(),
            table: name.into(),
            origin: BaselineOrigin::ConsistentSnapshot,
            taken_at_us: 1,
            binlog_file: "b.000001".into(),
            binlog_pos: 4,
            gtid: None,
            seq,
            schema_version: None,
            table_schema: t,
            rows: closed.rows,
            bytes: closed.bytes,
        };
        closed.publish("CREATE TABLE t (...);\n", manifest).unwrap()
    }

    fn key(id: i64) -> Vec<u8> {
        let t = table();
        crate::index::keys::encode_key(&[&Value::Int(id)], &[&t.columns[1]])
    }

    #[test]
    fn streams_in_key_order_and_finds_keys_across_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let n = 2 * ROW_GROUP_ROWS as i64 + 10;
        // Negative and positive ids: the key encoding, not the integer, gives the order.
        let b = write(dir.path(), (0..n).map(|i| i - 100));
        assert_eq!(b.manifest.rows, n as u64);
        let listed = crate::baseline::list(dir.path().parent().unwrap(), 1, "x", "y").unwrap();
        assert!(listed.is_empty());
        let mut s = RowStream::open(&b, None, None).unwrap();
        let mut seen = 0i64;
        while let Some((k, row)) = s.next_row().unwrap() {
            assert_eq!(k, key(seen - 100));
            assert_eq!(
                row,
                vec![
                    Value::Double((seen - 100) as f64 / 2.0),
                    Value::Int(seen - 100)
                ]
            );
            seen += 1;
        }
        assert_eq!(seen, n);
        let wanted = vec![key(-100), key(7), key(20_000), key(n)];
        let found = lookup(&b, &wanted).unwrap();
        let ids: Vec<Value> = found.iter().map(|(_, r)| r[1].clone()).collect();
        assert_eq!(
            ids,
            vec![Value::Int(-100), Value::Int(7), Value::Int(20_000)]
        );
        let lo = key(20_000);
        let mut ranged = RowStream::open(&b, Some(&lo), None).unwrap();
        // Row groups wholly below the bound are skipped.
        let first = ranged.next_row().unwrap().unwrap();
        assert!(first.0 > key(ROW_GROUP_ROWS as i64 - 101));
    }

    #[test]
    fn newest_at_picks_by_seq_and_prune_keeps_the_newest() {
        let data = tempfile::tempdir().unwrap();
        let dir = crate::baseline::table_dir(data.path(), 1, "shop", "t");
        for seq in [3, 9, 20] {
            write_at(&dir, 0..3, seq);
        }
        // A write that never got its manifest is never read.
        std::fs::create_dir_all(dir.join(".partial-x")).unwrap();
        let at = |seq| {
            crate::baseline::newest_at(data.path(), 1, "shop", "T", seq)
                .unwrap()
                .map(|b| b.manifest.seq)
        };
        assert_eq!(
            (at(2), at(9), at(19), at(u64::MAX)),
            (None, Some(9), Some(9), Some(20))
        );
        let removed = crate::baseline::prune(data.path(), 1, "shop", "t", 2).unwrap();
        assert_eq!(removed, vec![Manifest::make_id(3, 1)]);
        assert_eq!(at(8), None);
        assert!(
            dir.join(".partial-x").exists(),
            "a fresh partial write is left alone"
        );
    }

    /// A table name is never a path: baselines of hostile names are written, listed and pruned
    /// inside `data_dir/baselines`, and directories their raw names point at stay untouched.
    #[test]
    fn hostile_names_stay_inside_data_dir() {
        let outer = tempfile::tempdir().unwrap();
        let data = outer.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let sentinel = outer.path().join("x");
        std::fs::create_dir_all(sentinel.join("keep")).unwrap();
        let abs = sentinel.to_string_lossy().into_owned();
        let server_dir = data.join("baselines").join("1");
        for (schema, name) in [
            ("shop", "../../../x"),
            ("..", ".."),
            ("../..", "x"),
            (abs.as_str(), abs.as_str()),
            ("shop", ".hidden"),
            ("shop", ""),
            ("a.b", "c"),
            ("a", "b.c"),
        ] {
            let dir = crate::baseline::table_dir(&data, 1, schema, name);
            assert_eq!(dir.parent().unwrap().parent().unwrap(), server_dir);
            for seq in [3, 9, 20] {
                write_named(&dir, 0..3, seq, schema, name);
            }
            let listed = crate::baseline::list(&data, 1, schema, name).unwrap();
            assert_eq!(listed.len(), 3, "{schema:?}.{name:?}");
            assert!(listed.iter().all(|b| b.dir.starts_with(&dir)));
            let removed = crate::baseline::prune(&data, 1, schema, name, 1).unwrap();
            assert_eq!(removed.len(), 2, "{schema:?}.{name:?}");
            assert!(sentinel.join("keep").is_dir(), "{schema:?}.{name:?}");
        }
        // `a.b`.`c` and `a`.`b.c` are two tables, each with its own newest baseline.
        let listed = |s, t| crate::baseline::list(&data, 1, s, t).unwrap();
        assert_eq!(listed("a.b", "c")[0].manifest.schema, "a.b");
        assert_eq!(listed("a", "b.c")[0].manifest.table, "b.c");
        let mut names: Vec<(String, String)> = crate::baseline::tables(&data, 1, None)
            .into_iter()
            .map(|t| (t.schema, t.name))
            .collect();
        names.sort();
        assert!(names.contains(&("../..".into(), "x".into())), "{names:?}");
        assert!(names.contains(&(abs.clone(), abs.clone())), "{names:?}");
        assert_eq!(names.len(), 8, "{names:?}");
    }

    /// Older versions named directories by the raw names: a harmless raw name is still read, and
    /// a directory holding another table's manifests never answers for this one.
    #[test]
    fn layouts_with_raw_names_are_still_read() {
        let data = tempfile::tempdir().unwrap();
        let raw = data.path().join("baselines/1/shop/caf\u{e9}-x");
        write_named(&raw, 0..3, 4, "shop", "caf\u{e9}-x");
        let listed = crate::baseline::list(data.path(), 1, "shop", "caf\u{e9}-x").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].dir.parent().unwrap(), raw);
        let other = data.path().join("baselines/1/shop/other");
        write_named(&other, 0..3, 4, "shop", "someone_else");
        assert!(crate::baseline::list(data.path(), 1, "shop", "other")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rows_out_of_key_order_fail_the_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BaselineWriter::create(dir.path(), table(), "t").unwrap();
        w.append(&[Value::Null, Value::Int(2)]).unwrap();
        let e = w
            .append(&[Value::Null, Value::Int(1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ascending key order"), "{e}");
    }
}
