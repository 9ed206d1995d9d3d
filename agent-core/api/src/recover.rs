//! Reversal SQL for the changes of a table in a window: `POST /v1/recover`.
//!
//! The agent writes a script for a DBA to review and apply; it never executes anything on the
//! source. The script undoes the selected changes newest first, in one transaction:
//!
//! | change | reversal |
//! |---|---|
//! | INSERT | `DELETE ... WHERE` every column `<=>` the after image |
//! | UPDATE | `UPDATE ... SET` the changed columns back to the before image `WHERE` every column `<=>` the after image |
//! | DELETE | `INSERT` of the before image |
//!
//! An UPDATE or DELETE therefore only touches a row that is still exactly as the change left it
//! (NULL-safe comparison). Each is followed by a guard,
//! `SET @dbtrail_guard = (SELECT 1 UNION ALL SELECT 1 FROM DUAL WHERE ROW_COUNT() <> 1)`, which
//! fails with error 1242 unless that statement changed exactly one row: a row changed again since
//! stops the script before `COMMIT`, so the script applies whole or not at all (a duplicate key
//! stops a reversal INSERT likewise). An UPDATE that changed the PK is captured as a DELETE of the old key plus an INSERT
//! of the new one, so its reversal is a DELETE of the new key followed by an INSERT of the old row
//! (both only selected when `types` includes both DELETE and INSERT, or is empty).
//!
//! A TRUNCATE, DROP TABLE, RENAME TABLE or CREATE OR REPLACE of the table inside the window is
//! refused (`bad_request`): row-level reversal cannot bring back a table emptied or replaced without
//! row events. Split the window around it, and use `agent-core export --as-of <just before>` for the
//! table as it was before it.

use serde::{Deserialize, Serialize};

use crate::diff::ChangeType;
use crate::flashback::KeyPredicate;

/// Body of `POST /v1/recover`: which changes to reverse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoverRequest {
    /// The source's MySQL `server_id`.
    pub server_id: u32,
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Window start, µs since the Unix epoch (UTC), inclusive (visible time of the transaction).
    pub from_us: i64,
    /// Window end, µs since the Unix epoch (UTC), inclusive.
    pub to_us: i64,
    /// Only changes of these keys; every key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyPredicate>,
    /// Only changes of these kinds (of the original change, not of its reversal); all when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<ChangeType>,
}

/// Answer of `POST /v1/recover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoverResponse {
    /// Always `true`.
    pub success: bool,
    /// The reversal script: header comment, `SET NAMES utf8mb4`, `SET time_zone = '+00:00'`,
    /// `START TRANSACTION`, one statement per reversed change (newest first), `COMMIT`. UTF-8 text;
    /// every statement ends with `;` and a newline, and no literal spans lines.
    pub script: String,
    /// What the script reverses.
    pub summary: RecoverSummary,
    /// Notes for the reviewer (e.g. a schema change inside the window).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Counts and range of the reversed changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverSummary {
    /// Lowest `seq` among the reversed changes; absent when nothing matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<u64>,
    /// Highest `seq` among the reversed changes; absent when nothing matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<u64>,
    /// INSERTs reversed (by a DELETE).
    pub inserts: u64,
    /// UPDATEs reversed (by an UPDATE).
    pub updates: u64,
    /// DELETEs reversed (by an INSERT).
    pub deletes: u64,
}

impl RecoverSummary {
    /// Statements in the script (one per reversed change).
    pub fn statements(&self) -> u64 {
        self.inserts + self.updates + self.deletes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_defaults_to_every_key_and_type() {
        let req: RecoverRequest = serde_json::from_str(
            r#"{"server_id":1,"schema":"shop","table":"orders","from_us":1,"to_us":2}"#,
        )
        .unwrap();
        assert_eq!(req.key, None);
        assert!(req.types.is_empty());
        let json = serde_json::to_string(&RecoverRequest {
            types: vec![ChangeType::Update],
            ..req
        })
        .unwrap();
        assert!(json.ends_with(r#""types":["UPDATE"]}"#), "{json}");
    }
}
