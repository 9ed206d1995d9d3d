//! Whole-table reads of a table without a PK (and without a UNIQUE NOT NULL key standing in for
//! one): the table is a bag, where two identical rows are two rows.
//!
//! Capture stores such a row's changes under the encoding of its whole image, so identical rows
//! share one index key. The state at a seq is a multiplicity per distinct image: the number of
//! INSERTs of it minus the number of DELETEs (an UPDATE counts −1 for its before image and +1 for
//! its after image), counted over the changes after the last TRUNCATE (or after the baseline, whose
//! rows count once each). Every image is then emitted that many times.
//!
//! Memory: images are compared by their exact encoding ([`keys::encode_image`]) after projection
//! onto the output columns. While the table has one schema version, identical images share an
//! index key, so one key's counts are final when the scan leaves it: memory holds one key's images,
//! plus, with a baseline, the images deleted since it (matched against its rows). After an ALTER the
//! same row may sit under two keys (its image encodes differently per version), so every changed
//! image is counted before anything is emitted: memory then holds the images changed in the window.
//!
//! A deletion that matches no row (more DELETEs of an image than the table held) means the history
//! does not add up, e.g. an ALTER whose new column values the binlog never showed for old rows: the
//! read fails with `Internal` rather than return a bag that may be wrong.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use agent_api::{ErrorCode, Value};

use super::snapshot::BaselineUse;
use super::{project, ApiError, Clears};
use crate::archive::merge::TierView;
use crate::baseline::reader::RowStream;
use crate::index::{keys, ChangeKind, Index, StoredChange, TableEntry};
use crate::schema::{ColumnDef, TableSchema};

/// An image with its multiplicity.
type Counted = (i64, Vec<Value>);
/// One index key's images by exact encoding (emitted in encoding order).
type KeyBag = Bag<BTreeMap<Vec<u8>, Counted>>;
/// Images across keys by exact encoding.
type Pending = Bag<HashMap<Vec<u8>, Counted>>;

/// Multiplicities of distinct images, keyed by their exact encoding.
#[derive(Default)]
struct Bag<M> {
    counts: M,
}

/// The map operations [`Bag`] needs (a `BTreeMap` per key: emitted in encoding order; a
/// `HashMap` across keys).
trait CountMap: Default {
    fn entry_mut(&mut self, key: Vec<u8>, image: Vec<Value>) -> &mut Counted;
}

impl CountMap for BTreeMap<Vec<u8>, Counted> {
    fn entry_mut(&mut self, key: Vec<u8>, image: Vec<Value>) -> &mut Counted {
        self.entry(key).or_insert((0, image))
    }
}

impl CountMap for HashMap<Vec<u8>, Counted> {
    fn entry_mut(&mut self, key: Vec<u8>, image: Vec<Value>) -> &mut Counted {
        self.entry(key).or_insert((0, image))
    }
}

impl<M: CountMap> Bag<M> {
    fn add(&mut self, image: Vec<Value>, n: i64, cols: &[&ColumnDef]) {
        let key = keys::encode_image(&image, cols);
        self.counts.entry_mut(key, image).0 += n;
    }
}

/// The error for a history whose deletions outnumber the rows they delete.
fn does_not_add_up(out: &TableSchema, image: &[Value]) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!(
            "the captured history of {}.{} (no primary key) deletes a row it never held ({}): the rows cannot be reconstructed exactly (an ALTER TABLE may have changed rows the binlog does not show; take a baseline after it)",
            out.schema,
            out.name,
            serde_json::to_string(image).unwrap_or_default()
        ),
    )
}

/// Adds one stored change's images, projected onto `out`, to `bag`.
fn count_change<M: CountMap>(
    bag: &mut Bag<M>,
    entry: &TableEntry,
    c: StoredChange,
    out: &Arc<TableSchema>,
    cols: &[&ColumnDef],
) {
    let (minus, plus) = match c.kind {
        ChangeKind::Insert => (None, c.after),
        ChangeKind::Delete => (c.before, None),
        ChangeKind::Update => (c.before, c.after),
    };
    if let Some(img) = minus.and_then(|i| project(entry, i, c.schema_version, out)) {
        bag.add(img, -1, cols);
    }
    if let Some(img) = plus.and_then(|i| project(entry, i, c.schema_version, out)) {
        bag.add(img, 1, cols);
    }
}

/// Calls `emit` with every row of the table as of `seq_max` (output columns `out`), each as many
/// times as the table held it; stops when `emit` returns false. `base` is the baseline the index
/// changes after it are merged with (`None`: the index holds the whole table after
/// `clears.before`).
///
/// Errors: those of [`TierView::changes_between`] and of reading the baseline; `Internal` when the
/// deletions do not add up (see the module documentation).
#[allow(clippy::too_many_arguments)]
pub(crate) fn bag_scan(
    index: &Index,
    tiers: &TierView,
    entry: &TableEntry,
    seq_max: u64,
    clears: &Clears,
    base: Option<&BaselineUse>,
    out: &Arc<TableSchema>,
    mut emit: impl FnMut(Vec<Value>) -> bool,
) -> Result<(), ApiError> {
    let cols: Vec<&ColumnDef> = out.columns.iter().collect();
    let start = clears
        .before
        .unwrap_or(0)
        .max(base.map_or(0, BaselineUse::seq));
    // One schema version: identical images share one index key, so a key's counts are final at
    // its end. Otherwise counts are gathered across keys first.
    let per_key = entry.versions.len() == 1;
    let mut pending = Pending::default();
    let mut key_bag = KeyBag::default();
    let mut current: Option<Vec<u8>> = None;
    let mut failed: Option<ApiError> = None;
    let mut stopped = false;
    // Ends one index key: emits its positive counts, keeps its negative ones for the baseline.
    let finish_key = |key_bag: &mut KeyBag,
                      pending: &mut Pending,
                      emit: &mut dyn FnMut(Vec<Value>) -> bool|
     -> Result<bool, ApiError> {
        for (k, (n, image)) in std::mem::take(&mut key_bag.counts) {
            if !per_key {
                pending.counts.entry_mut(k, image).0 += n;
                continue;
            }
            if n < 0 {
                if base.is_none() {
                    return Err(does_not_add_up(out, &image));
                }
                pending.counts.entry_mut(k, image).0 += n;
                continue;
            }
            for _ in 0..n {
                if !emit(image.clone()) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    };
    tiers.changes_between(index, None, None, start, seq_max, |pk, c| {
        if current.as_deref() != Some(pk) {
            match finish_key(&mut key_bag, &mut pending, &mut emit) {
                Ok(true) => {}
                Ok(false) => {
                    stopped = true;
                    return false;
                }
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
            current = Some(pk.to_vec());
        }
        count_change(&mut key_bag, entry, c, out, &cols);
        true
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if stopped || !finish_key(&mut key_bag, &mut pending, &mut emit)? {
        return Ok(());
    }
    if let Some(base) = base {
        let mut rows = RowStream::open(&base.baseline, None, None)?;
        while let Some((_, row)) = rows.next_row()? {
            let row = base.project(row);
            let k = keys::encode_image(&row, &cols);
            if let Some((n, _)) = pending.counts.get_mut(&k) {
                if *n < 0 {
                    *n += 1;
                    continue;
                }
            }
            if !emit(row) {
                return Ok(());
            }
        }
    }
    let mut left: Vec<(Vec<u8>, Counted)> = pending.counts.into_iter().collect();
    left.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, (n, image)) in left {
        if n < 0 {
            return Err(does_not_add_up(out, &image));
        }
        for _ in 0..n {
            if !emit(image.clone()) {
                return Ok(());
            }
        }
    }
    Ok(())
}
