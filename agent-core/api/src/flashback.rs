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
    /// The table's columns as of the instant.
    pub columns: Vec<ColumnInfo>,
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
