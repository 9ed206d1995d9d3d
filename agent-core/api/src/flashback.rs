//! Point-in-time row lookup by primary key: `POST /v1/flashback`.

use serde::{Deserialize, Serialize};

use crate::catalog::ColumnInfo;
use crate::value::Value;

/// Body of `POST /v1/flashback`: the rows of one table matching a PK predicate, as of one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlashbackRequest {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// The instant, in µs since the Unix epoch (UTC). The shim resolves time literals and zones.
    pub as_of_us: i64,
    /// Which keys.
    pub key: KeyPredicate,
    /// The [`schema_id`] of the column list the client already holds for this table; when it
    /// equals the answer's `schema_id` the agent leaves `columns` out. Absent: always send them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_schema: Option<u64>,
}

/// A predicate on the primary key. Each key is a tuple of values in PK column order; the agent
/// coerces literals to the key column types the way MySQL compares them (`'42'` finds INT 42).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPredicate {
    /// `pk = v` (one key) or `pk IN (...)` / `(a, b) IN ((..), (..))`; answered in key order,
    /// duplicates once.
    In(Vec<Vec<Value>>),
    /// `pk BETWEEN a AND b`, `pk >= a`, `pk < b`, ...; bounds may be prefixes of a composite key.
    Range {
        /// Lower bound; unbounded when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<KeyBound>,
        /// Upper bound; unbounded when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<KeyBound>,
    },
}

/// One end of a key range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyBound {
    /// Leading PK values (a prefix of the key columns).
    pub key: Vec<Value>,
    /// Whether keys equal to the bound are included.
    pub inclusive: bool,
}

/// Answer of `POST /v1/flashback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlashbackResponse {
    /// Always `true`.
    pub success: bool,
    /// The table's columns as of the instant; empty when the request's `known_schema` equals
    /// `schema_id` (the client already holds them).
    #[serde(default)]
    pub columns: Vec<ColumnInfo>,
    /// [`schema_id`] of the table's columns as of the instant; absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<u64>,
    /// Matching rows in PK order, each aligned with `columns`.
    pub rows: Vec<Vec<Value>>,
    /// The `seq` of the last transaction included (0 when none).
    pub seq: u64,
    /// Notes for `SHOW WARNINGS`, e.g. why a key has no row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The instant (µs since the Unix epoch) up to which the source's captured record was
    /// complete when the answer was built (`/health`'s `complete_until_us`); absent from older
    /// agents and before capture knows it. An answer for an `as_of_us` before it is immutable
    /// history, which lets clients cache it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_until_us: Option<i64>,
}

/// A stable 64-bit id of a column list (FNV-1a over every field of every column, in order):
/// equal lists give equal ids in every process and release, so a client may keep the columns of
/// an id and send it back as `known_schema`. Any change a client could see (an added, dropped,
/// renamed or retyped column, a new charset, ENUM labels) changes the id.
pub fn schema_id<'a>(columns: impl IntoIterator<Item = &'a ColumnInfo>) -> u64 {
    let mut h = Fnv1a::default();
    let mut count = 0u64;
    for column in columns {
        count += 1;
        // Exhaustive on purpose: a new `ColumnInfo` field must be added here.
        let ColumnInfo {
            name,
            data_type,
            column_type,
            unsigned,
            nullable,
            length,
            scale,
            charset,
            collation_id,
            elements,
        } = column;
        h.text(name);
        h.text(data_type.sql_name());
        h.text(column_type);
        h.put(&[u8::from(*unsigned), u8::from(*nullable), *scale]);
        h.put(&length.to_le_bytes());
        match charset {
            Some(c) => {
                h.put(&[1]);
                h.text(c);
            }
            None => h.put(&[0]),
        }
        match collation_id {
            Some(c) => {
                h.put(&[1]);
                h.put(&c.to_le_bytes());
            }
            None => h.put(&[0]),
        }
        h.put(&(elements.len() as u64).to_le_bytes());
        for e in elements {
            h.text(e);
        }
    }
    h.put(&count.to_le_bytes());
    h.0
}

/// 64-bit FNV-1a state.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
    fn text(&mut self, s: &str) {
        self.put(&(s.len() as u64).to_le_bytes());
        self.put(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo {
            column_type: column_type.into(),
            ..ColumnInfo::int(name)
        }
    }

    #[test]
    fn schema_id_is_stable_and_sees_every_change() {
        let base = vec![column("id", "int(11)"), column("qty", "int(11)")];
        let id = schema_id(&base);
        assert_eq!(id, schema_id(&base.clone()));
        // Pinned: the id travels between processes and releases, so it must never drift.
        assert_eq!(id, 478_585_610_715_273_615);
        let mut added = base.clone();
        added.push(column("note", "int(11)"));
        let mut renamed = base.clone();
        renamed[1].name = "qtx".into();
        let mut retyped = base.clone();
        retyped[1].nullable = false;
        let mut split = base.clone();
        split[0].name = "idq".into();
        split[1].name = "ty".into();
        let ids = [
            id,
            schema_id(&added),
            schema_id(&renamed),
            schema_id(&retyped),
            schema_id(&split),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn old_peers_interoperate() {
        let req = FlashbackRequest {
            server_id: 1,
            schema: "s".into(),
            table: "t".into(),
            as_of_us: 5,
            key: KeyPredicate::In(vec![vec![Value::Int(1)]]),
            known_schema: None,
        };
        // What an older shim sends: no `known_schema` key at all.
        let old_request = serde_json::to_string(&req).expect("json");
        assert!(!old_request.contains("known_schema"));
        let parsed: FlashbackRequest = serde_json::from_str(&old_request).expect("old request");
        assert_eq!(parsed, req);
        let old_answer = r#"{"success":true,"columns":[],"rows":[],"seq":3}"#;
        let answer: FlashbackResponse = serde_json::from_str(old_answer).expect("old answer");
        assert_eq!(answer.schema_id, None);
    }
}
