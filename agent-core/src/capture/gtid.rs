//! MySQL GTID sets (`uuid:1-5:7-9,uuid2:1-3`), tracked through the stream so capture can resume
//! with `COM_BINLOG_DUMP_GTID` (MySQL "Replication with Global Transaction Identifiers").
//!
//! Intervals are kept as MySQL sends them on the wire: `[start, end)`, end exclusive; the text form
//! is MySQL's, with inclusive ends. Tagged GTIDs (MySQL 8.4 `uuid:tag:n`) are not tracked yet.

use std::collections::BTreeMap;
use std::fmt;

use mysql_common::packets::{GnoInterval, Sid};

/// A set of MySQL GTIDs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet {
    sids: BTreeMap<[u8; 16], Vec<(u64, u64)>>,
}

impl GtidSet {
    /// Adds one transaction `uuid:gno`.
    pub fn add(&mut self, uuid: [u8; 16], gno: u64) {
        self.add_interval(uuid, gno, gno + 1);
    }

    /// Adds `[start, end)` for `uuid`, merging touching or overlapping intervals.
    pub fn add_interval(&mut self, uuid: [u8; 16], start: u64, end: u64) {
        if start >= end {
            return;
        }
        let list = self.sids.entry(uuid).or_default();
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

    /// True when no GTID is in the set.
    pub fn is_empty(&self) -> bool {
        self.sids.is_empty()
    }

    /// The set as `COM_BINLOG_DUMP_GTID` entries.
    pub fn to_sids(&self) -> Vec<Sid<'static>> {
        self.sids
            .iter()
            .map(|(uuid, intervals)| {
                intervals.iter().fold(Sid::new(*uuid), |sid, &(s, e)| {
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
            for range in pieces {
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
                set.add_interval(uuid, a, b + 1);
            }
        }
        Some(set)
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (uuid, intervals)) in self.sids.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&uuid_text(uuid))?;
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

    #[test]
    fn rejects_malformed_sets() {
        assert!(GtidSet::parse("nonsense:1").is_none());
        assert!(GtidSet::parse(&format!("{U1}:5-3")).is_none());
        assert!(GtidSet::parse(&format!("{U1}:0")).is_none());
        assert_eq!(GtidSet::parse("").unwrap(), GtidSet::default());
    }
}
