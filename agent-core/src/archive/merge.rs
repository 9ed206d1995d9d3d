//! Reads over both tiers: the index answers for seqs above the tier boundary, archive files for
//! seqs at or below it. The three functions mirror the index's own read functions, so
//! reconstruction calls them in the same places.

use agent_api::time::format_unix_micros;
use agent_api::ErrorCode;
use bytes::Bytes;
use tokio::sync::OwnedRwLockReadGuard;

use super::catalog::{ArchiveFile, Coverage};
use super::format::{self, Event, EventKind};
use crate::index::{ChangeKind, Index, StoredChange};
use crate::reconstruct::ApiError;

/// Both tiers of one table number, with the tier boundary held still while this lives.
pub struct TierView {
    table_no: u32,
    coverage: Coverage,
    files: Vec<(ArchiveFile, Bytes)>,
    _guard: OwnedRwLockReadGuard<()>,
}

impl TierView {
    pub(super) fn new(
        table_no: u32,
        coverage: Coverage,
        files: Vec<(ArchiveFile, Bytes)>,
        guard: OwnedRwLockReadGuard<()>,
    ) -> Self {
        Self {
            table_no,
            coverage,
            files,
            _guard: guard,
        }
    }

    /// Row changes with seq ≤ this are in archive files (0 = nothing archived).
    pub fn archived_through_seq(&self) -> u64 {
        self.coverage.archived_through_seq
    }

    /// Like [`Index::key_history_around`] over both tiers: the newest change of `pk` with
    /// seq ≤ `seq_max` and the oldest one after it.
    ///
    /// `baseline_seq` is the seq of the baseline the caller merges with (0 = none): pruned
    /// history at or before it is stood for by the baseline, so it does not make the answer
    /// incomplete.
    ///
    /// Errors: `CoverageGap` when `seq_max` lies in pruned history, or when the key has no change
    /// after the pruned range (it may exist unchanged since) and no baseline covers that range;
    /// `Unavailable`/`Internal` when an archive file cannot be read.
    pub fn key_history_around(
        &self,
        index: &Index,
        pk: &[u8],
        seq_max: u64,
        baseline_seq: u64,
    ) -> Result<(Option<StoredChange>, Option<StoredChange>), ApiError> {
        let indexed = |pk: &[u8]| index.key_history_around(self.table_no, pk, seq_max);
        self.around(indexed, pk, seq_max, baseline_seq)
    }

    /// Like [`Self::key_history_around`] with what the row's state as of `seq_max` needs (see
    /// [`Index::key_state_around`]): the newest change at or before it without an UPDATE's before
    /// image; the oldest after it may be left out when there is one. Same errors.
    pub fn key_state_around(
        &self,
        index: &Index,
        pk: &[u8],
        seq_max: u64,
        baseline_seq: u64,
    ) -> Result<(Option<StoredChange>, Option<StoredChange>), ApiError> {
        let indexed = |pk: &[u8]| index.key_state_around(self.table_no, pk, seq_max);
        self.around(indexed, pk, seq_max, baseline_seq)
    }

    /// The index's answer (`indexed`) completed from archive files.
    fn around(
        &self,
        indexed: impl FnOnce(&[u8]) -> Result<IndexAnswer, crate::index::IndexError>,
        pk: &[u8],
        seq_max: u64,
        baseline_seq: u64,
    ) -> Result<IndexAnswer, ApiError> {
        self.check_pruned(seq_max, "the row")?;
        let (mut at, mut after) = indexed(pk)?;
        if !self.files.is_empty() {
            let archived = self.events(pk)?;
            if at.is_none() {
                at = archived.iter().rev().find(|c| c.seq <= seq_max).cloned();
            }
            if let Some(c) = archived.into_iter().find(|c| c.seq > seq_max) {
                after = Some(c);
            }
        }
        if self.coverage.pruned_through_seq > baseline_seq && at.is_none() && after.is_none() {
            return Err(self.pruned_error("the row"));
        }
        Ok((at, after))
    }

    /// Like [`Index::scan_keys`] over both tiers: every key of the table within
    /// `[lower, upper]` (prefix-inclusive) with what its state at `seq_max` needs (the newest
    /// change at or before it without an UPDATE's before image, else the oldest after it), in PK
    /// order. Archive files are merged as streams: memory holds one
    /// decoded batch per file and one key's archived changes.
    ///
    /// `baseline_seq` as for [`Self::key_history_around`].
    ///
    /// Errors: `CoverageGap` once anything was pruned after `baseline_seq` (a key whose whole
    /// history was pruned would silently be missing); `Unavailable`/`Internal` when an archive
    /// file cannot be read.
    pub fn scan_keys(
        &self,
        index: &Index,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        seq_max: u64,
        baseline_seq: u64,
        mut f: impl FnMut(&[u8], Option<StoredChange>, Option<StoredChange>) -> bool,
    ) -> Result<(), ApiError> {
        self.check_pruned(seq_max, "the rows")?;
        if self.coverage.pruned_through_seq > baseline_seq {
            return Err(self.pruned_error("a range of rows"));
        }
        let mut archived = AheadKeys::new(Some(ArchivedKeys::open(&self.files, lower, upper)?))?;
        let mut stopped = false;
        // Archive changes of one key, split at seq_max, in the index's state-only form.
        let split = |changes: Vec<StoredChange>| {
            let at = changes.iter().rev().find(|c| c.seq <= seq_max).cloned();
            let after = changes.into_iter().find(|c| c.seq > seq_max);
            state_only(at, after)
        };
        index.scan_keys(self.table_no, lower, upper, seq_max, |pk, at, after| {
            // Archived keys below this one first.
            while let Some((k, changes)) = archived.pop_if(|k| k < pk) {
                let (a_at, a_after) = split(changes);
                if !f(&k, a_at, a_after) {
                    stopped = true;
                    return false;
                }
            }
            let same = archived.pop_if(|k| k == pk);
            if archived.failed.is_some() {
                return false;
            }
            let (mut at, mut after) = (at, after);
            if let Some((_, changes)) = same {
                let (a_at, a_after) = split(changes);
                at = at.or(a_at);
                after = a_after.or(after);
            }
            let (at, after) = state_only(at, after);
            stopped = !f(pk, at, after);
            !stopped
        })?;
        while !stopped {
            let Some((k, changes)) = archived.pop_if(|_| true) else {
                break;
            };
            let (at, after) = split(changes);
            stopped = !f(&k, at, after);
        }
        archived.finish()
    }

    /// Like [`Index::changes_between`] over both tiers: every change of the keys within
    /// `[lower, upper]` with seq in `(seq_after, seq_upto]`, in key order, then seq order.
    ///
    /// Errors: `CoverageGap` when the window reaches into pruned history.
    pub fn changes_between(
        &self,
        index: &Index,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        seq_after: u64,
        seq_upto: u64,
        mut f: impl FnMut(&[u8], StoredChange) -> bool,
    ) -> Result<(), ApiError> {
        if seq_after < self.coverage.pruned_through_seq {
            return Err(self.pruned_error("changes in the window"));
        }
        let keys = if seq_after < self.coverage.archived_through_seq {
            Some(ArchivedKeys::open(&self.files, lower, upper)?)
        } else {
            None
        };
        let mut archived = AheadKeys::new(keys)?;
        let in_window = |c: &StoredChange| c.seq > seq_after && c.seq <= seq_upto;
        let mut stopped = false;
        index.changes_between(self.table_no, lower, upper, seq_after, seq_upto, |pk, c| {
            // Archived changes of keys up to this one first (their seqs precede the index's).
            while let Some((k, changes)) = archived.pop_if(|k| k <= pk) {
                for a in changes.into_iter().filter(in_window) {
                    if !f(&k, a) {
                        stopped = true;
                        return false;
                    }
                }
            }
            if archived.failed.is_some() {
                return false;
            }
            stopped = !f(pk, c);
            !stopped
        })?;
        while !stopped {
            let Some((k, changes)) = archived.pop_if(|_| true) else {
                break;
            };
            for a in changes.into_iter().filter(in_window) {
                if !f(&k, a) {
                    stopped = true;
                    break;
                }
            }
        }
        archived.finish()
    }

    /// Archived changes of one key in seq order, read through each file's PK statistics and
    /// bloom filters; TRUNCATE events left out (the index's `clears` hold them).
    fn events(&self, pk: &[u8]) -> Result<Vec<StoredChange>, ApiError> {
        let mut out = Vec::new();
        for (file, bytes) in &self.files {
            let (header, events) =
                format::read_file(bytes, Some(pk)).map_err(|e| e.reading(&file.path))?;
            out.extend(
                events
                    .into_iter()
                    .filter_map(|e| stored(e, header.schema_version)),
            );
        }
        out.sort_by_key(|c| c.seq);
        Ok(out)
    }

    fn check_pruned(&self, seq_max: u64, what: &str) -> Result<(), ApiError> {
        if seq_max < self.coverage.pruned_through_seq {
            return Err(self.pruned_error(what));
        }
        Ok(())
    }

    fn pruned_error(&self, what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::CoverageGap,
            format!(
                "history up to {} UTC (seq {}) was pruned from the archives (retention.archive) and is neither in the index nor archived: {what} cannot be known without a baseline taken after it",
                format_unix_micros(self.coverage.pruned_through_us),
                self.coverage.pruned_through_seq
            ),
        )
    }
}

fn stored(e: Event, schema_version: u32) -> Option<StoredChange> {
    let kind = match e.kind {
        EventKind::Insert => ChangeKind::Insert,
        EventKind::Update => ChangeKind::Update,
        EventKind::Delete => ChangeKind::Delete,
        EventKind::Truncate => return None,
    };
    Some(StoredChange {
        seq: e.seq,
        ordinal: 0,
        kind,
        schema_version,
        before: e.before,
        after: e.after,
    })
}

/// What [`Index::scan_keys`] gives for a key, whichever tier its changes came from: the change at
/// or before the split without an UPDATE's before image, else the one after it.
fn state_only(at: Option<StoredChange>, after: Option<StoredChange>) -> IndexAnswer {
    match at {
        Some(mut c) => {
            if c.kind == crate::index::ChangeKind::Update {
                c.before = None;
            }
            (Some(c), None)
        }
        None => (None, after),
    }
}

/// A key's newest change at or before a seq and its oldest after it.
type IndexAnswer = (Option<StoredChange>, Option<StoredChange>);

/// One encoded PK with its archived changes in seq order.
type KeyChanges = (Vec<u8>, Vec<StoredChange>);

/// One file's event stream with its next event looked at.
struct Cursor<'a> {
    path: &'a str,
    version: u32,
    stream: format::EventStream,
    head: Option<Event>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<Option<Event>, ApiError> {
        let next = self.stream.next_event().map_err(|e| e.reading(self.path))?;
        Ok(std::mem::replace(&mut self.head, next))
    }
}

/// The archived keys of a PK range in PK order, merged across files, one key at a time: memory
/// holds one decoded batch per file and one key's changes.
struct ArchivedKeys<'a> {
    cursors: Vec<Cursor<'a>>,
    lower: Option<&'a [u8]>,
    upper: Option<&'a [u8]>,
}

impl<'a> ArchivedKeys<'a> {
    fn open(
        files: &'a [(ArchiveFile, Bytes)],
        lower: Option<&'a [u8]>,
        upper: Option<&'a [u8]>,
    ) -> Result<Self, ApiError> {
        let mut cursors = Vec::with_capacity(files.len());
        for (file, bytes) in files {
            let stream = format::EventStream::open(bytes).map_err(|e| e.reading(&file.path))?;
            let mut c = Cursor {
                path: &file.path,
                version: stream.header().schema_version,
                stream,
                head: None,
            };
            c.advance()?;
            cursors.push(c);
        }
        Ok(Self {
            cursors,
            lower,
            upper,
        })
    }

    /// The next key within the range with its changes in seq order (TRUNCATEs left out).
    fn next_key(&mut self) -> Result<Option<KeyChanges>, ApiError> {
        loop {
            let Some(pk) = self
                .cursors
                .iter()
                .filter_map(|c| c.head.as_ref().map(|e| &e.pk))
                .min()
                .cloned()
            else {
                return Ok(None);
            };
            if self
                .upper
                .is_some_and(|hi| pk[..hi.len().min(pk.len())] > *hi)
            {
                return Ok(None);
            }
            let mut changes = Vec::new();
            for c in &mut self.cursors {
                while c.head.as_ref().is_some_and(|e| e.pk == pk) {
                    if let Some(e) = c.advance()? {
                        changes.extend(stored(e, c.version));
                    }
                }
            }
            if changes.is_empty() || self.lower.is_some_and(|lo| pk.as_slice() < lo) {
                continue;
            }
            changes.sort_by_key(|c| c.seq);
            return Ok(Some((pk, changes)));
        }
    }
}

/// [`ArchivedKeys`] (or none) with the next key read ahead, for merging archived keys into an
/// index scan whose callback cannot return an error: a failed read ends the keys and is kept for
/// [`Self::finish`].
struct AheadKeys<'a> {
    keys: Option<ArchivedKeys<'a>>,
    head: Option<KeyChanges>,
    failed: Option<ApiError>,
}

impl<'a> AheadKeys<'a> {
    fn new(mut keys: Option<ArchivedKeys<'a>>) -> Result<Self, ApiError> {
        let head = match &mut keys {
            Some(k) => k.next_key()?,
            None => None,
        };
        Ok(Self {
            keys,
            head,
            failed: None,
        })
    }

    /// The next archived key when `take(pk)` holds, reading the one after it. `None` as well once
    /// that read failed (the taken key is dropped: the scan is ending with the error).
    fn pop_if(&mut self, take: impl FnOnce(&[u8]) -> bool) -> Option<KeyChanges> {
        let taken = self.head.take_if(|(k, _)| take(k))?;
        let next = match &mut self.keys {
            Some(k) => k.next_key(),
            None => Ok(None),
        };
        match next {
            Ok(next) => {
                self.head = next;
                Some(taken)
            }
            Err(e) => {
                self.failed = Some(e);
                None
            }
        }
    }

    /// The read error that ended the keys early, if any.
    fn finish(self) -> Result<(), ApiError> {
        self.failed.map_or(Ok(()), Err)
    }
}
