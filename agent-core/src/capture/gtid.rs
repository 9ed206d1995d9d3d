//! MySQL GTID sets (`uuid:1-5:7-9,uuid2:1-3`), tracked through the stream so capture can resume
//! with `COM_BINLOG_DUMP_GTID` (MySQL "Replication with Global Transaction Identifiers").
//!
//! Intervals are kept as MySQL sends them on the wire: `[start, end)`, end exclusive; the text form
//! is MySQL's, with inclusive ends. Tagged GTIDs (MySQL 8.4+, `uuid:tag:n`, "GTID Format and
//! Storage") are their own series next to the untagged one of the same UUID; in text a tag
//! switches the series for the intervals after it: `uuid:1-13:mytag:1-2`.

use std::collections::BTreeMap;
use std::fmt;

use mysql_common::packets::{GnoInterval, Sid, Tag};

/// One GTID series: the server UUID and the tag (empty when untagged).
type SeriesKey = ([u8; 16], String);

/// A set of MySQL GTIDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet {
    /// `(uuid, tag)` → intervals; the untagged series has the empty tag.
    sids: BTreeMap<SeriesKey, Vec<(u64, u64)>>,
}

impl GtidSet {
    /// Adds one transaction `uuid:gno`.
    pub fn add(&mut self, uuid: [u8; 16], gno: u64) {
        self.add_interval(uuid, gno, gno + 1);
    }

    /// Adds one transaction `uuid:tag:gno` (`tag` empty = untagged).
    pub fn add_tagged(&mut self, uuid: [u8; 16], tag: &str, gno: u64) {
        self.add_tagged_interval(uuid, tag, gno, gno + 1);
    }

    /// Adds `[start, end)` for `uuid`, merging touching or overlapping intervals.
    pub fn add_interval(&mut self, uuid: [u8; 16], start: u64, end: u64) {
        self.add_tagged_interval(uuid, "", start, end);
    }

    /// Adds `[start, end)` for `uuid:tag` (`tag` empty = untagged).
    pub fn add_tagged_interval(&mut self, uuid: [u8; 16], tag: &str, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let list = self.sids.entry((uuid, tag.to_owned())).or_default();
        list.push((start, end));
        list.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(list.len());
        for &(s, e) in list.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *list = merged;
    }

    /// Adds every GTID of `other`.
    pub fn extend(&mut self, other: &GtidSet) {
        for ((uuid, tag), intervals) in &other.sids {
            for &(s, e) in intervals {
                self.add_tagged_interval(*uuid, tag, s, e);
            }
        }
    }

    /// True when `uuid:tag:gno` is in the set.
    pub fn contains(&self, uuid: [u8; 16], tag: &str, gno: u64) -> bool {
        self.sids
            .get(&(uuid, tag.to_owned()))
            .is_some_and(|l| l.iter().any(|&(s, e)| s <= gno && gno < e))
    }

    /// True when every GTID of `self` is in `other`.
    pub fn is_subset_of(&self, other: &GtidSet) -> bool {
        self.sids.iter().all(|(key, intervals)| {
            let Some(theirs) = other.sids.get(key) else {
                return false;
            };
            intervals
                .iter()
                .all(|&(s, e)| theirs.iter().any(|&(ts, te)| ts <= s && e <= te))
        })
    }

    /// True when `self` (a file's PREVIOUS_GTIDS) names a GTID that `known` lacks although it lies
    /// inside `known`'s history: a series `known` has never seen, or a number at or above the
    /// first one `known` holds for its series. GTIDs below a series' first known number were
    /// written before the history began and are no hole.
    pub fn has_hole_against(&self, known: &GtidSet) -> bool {
        self.sids.iter().any(|(key, intervals)| {
            let Some(theirs) = known.sids.get(key) else {
                return true;
            };
            let first = theirs.first().map_or(u64::MAX, |i| i.0);
            intervals.iter().any(|&(s, e)| {
                let s = s.max(first);
                s < e && !theirs.iter().any(|&(ts, te)| ts <= s && e <= te)
            })
        })
    }

    /// True when no GTID is in the set.
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }

    /// The set as `COM_BINLOG_DUMP_GTID` entries.
    pub fn to_sids(&self) -> Vec<Sid<'static>> {
        self.sids
            .iter()
            .map(|((uuid, tag), intervals)| {
                let sid = match Tag::new(tag.clone()) {
                    Ok(t) if !tag.is_empty() => Sid::new(*uuid).with_tag(t),
                    _ => Sid::new(*uuid),
                };
                intervals.iter().fold(sid, |sid, &(s, e)| {
                    sid.with_interval(GnoInterval::new(s, e))
                })
            })
            .collect()
    }

    /// Parses MySQL's text form (`@@gtid_executed` style; whitespace and newlines ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let mut set = GtidSet::default();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for part in compact.split(',').filter(|p| !p.is_empty()) {
            let mut pieces = part.split(':');
            let uuid = parse_uuid(pieces.next()?)?;
            let mut tag = String::new();
            for range in pieces {
                if range
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                {
                    tag = Tag::new(range).ok()?.as_str().to_owned();
                    continue;
                }
                let (a, b) = match range.split_once('-') {
                    Some((a, b)) => (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?),
                    None => {
                        let n = range.parse::<u64>().ok()?;
                        (n, n)
                    }
                };
                if a == 0 || b < a {
                    return None;
                }
                set.add_tagged_interval(uuid, &tag, a, b + 1);
            }
        }
        Some(set)
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last_uuid: Option<[u8; 16]> = None;
        for ((uuid, tag), intervals) in &self.sids {
            if last_uuid != Some(*uuid) {
                if last_uuid.is_some() {
                    f.write_str(",")?;
                }
                f.write_str(&uuid_text(uuid))?;
                last_uuid = Some(*uuid);
            }
            if !tag.is_empty() {
                write!(f, ":{tag}")?;
            }
            for &(s, e) in intervals {
                if e - 1 == s {
                    write!(f, ":{s}")?;
                } else {
                    write!(f, ":{s}-{}", e - 1)?;
                }
            }
        }
        Ok(())
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` of a 16-byte UUID.
pub fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn parses_merges_and_prints_like_mysql() {
        let mut set = GtidSet::parse(&format!("{U1}:1-5:7, {U1}:6")).unwrap();
        assert_eq!(set.to_string(), format!("{U1}:1-7"));
        set.add(parse_uuid(U1).unwrap(), 9);
        assert_eq!(set.to_string(), format!("{U1}:1-7:9"));
        let sids = set.to_sids();
        assert_eq!(sids.len(), 1);
        assert_eq!(
            sids[0]
                .intervals()
                .iter()
                .map(|i| (i.start(), i.end()))
                .collect::<Vec<_>>(),
            vec![(1, 8), (9, 10)]
        );
    }

    /// MySQL 8.4 text: the untagged series first, then each tag with its intervals.
    #[test]
    fn tagged_series_stay_apart() {
        let u = parse_uuid(U1).unwrap();
        let mut set = GtidSet::default();
        set.add_interval(u, 1, 14);
        set.add_tagged_interval(u, "mytag", 1, 3);
        assert_eq!(set.to_string(), format!("{U1}:1-13:mytag:1-2"));
        assert_eq!(GtidSet::parse(&set.to_string()).unwrap(), set);
        assert!(set.contains(u, "mytag", 2) && !set.contains(u, "mytag", 3));
        assert!(set.contains(u, "", 13) && !set.contains(u, "other", 1));
        set.add_tagged(u, "mytag", 3);
        assert_eq!(set.to_string(), format!("{U1}:1-13:mytag:1-3"));
        let sids = set.to_sids();
        assert_eq!(sids.len(), 2);
        assert_eq!(sids[1].tag().map(|t| t.as_str()), Some("mytag"));
        assert!(GtidSet::parse(&format!("{U1}:1-13"))
            .unwrap()
            .is_subset_of(&set));
        assert!(!GtidSet::parse(&format!("{U1}:1-14"))
            .unwrap()
            .is_subset_of(&set));
        assert!(GtidSet::parse(&format!("{U1}:Bad:1")).is_none());
        let known = GtidSet::parse(&format!("{U1}:105-109")).unwrap();
        assert!(!GtidSet::parse(&format!("{U1}:1-109"))
            .unwrap()
            .has_hole_against(&known));
        assert!(GtidSet::parse(&format!("{U1}:1-111"))
            .unwrap()
            .has_hole_against(&known));
        assert!(GtidSet::parse(&format!("{U1}:mytag:1"))
            .unwrap()
            .has_hole_against(&known));
    }

    #[test]
    fn rejects_malformed_sets() {
        assert!(GtidSet::parse("nonsense:1").is_none());
        assert!(GtidSet::parse(&format!("{U1}:5-3")).is_none());
        assert!(GtidSet::parse(&format!("{U1}:0")).is_none());
        assert_eq!(GtidSet::parse("").unwrap(), GtidSet::default());
    }
}
