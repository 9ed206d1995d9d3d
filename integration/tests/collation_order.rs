//! The primary key encoding (agent-core `index/keys.rs`) orders and groups strings exactly as
//! MariaDB compares them, for every collation the encoding implements exactly: a real server
//! compares every pair of a set of tricky strings (`STRCMP` under the column's collation) and
//! each pair's encoded keys must compare the same way.

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::Value;
use agent_core::index::keys::{encode_value, ExactCollation};
use agent_core::schema::{Collations, ColumnDef, Decode};
use anyhow::{ensure, Result};
use integration::MariaDb;
use mysql_async::prelude::Queryable;

/// Strings around the edges: characters below space before PAD SPACE's endless spaces, leading
/// and trailing spaces, accents, case, latin1's Swedish letters, 4-byte characters.
const TRICKY: &[&str] = &[
    "",
    " ",
    "  ",
    "\t",
    "\n\n",
    "a",
    "a ",
    "a\t",
    "a\t ",
    "a \t",
    "a  b",
    "a b",
    "A",
    "á",
    "Á ",
    "ab",
    "aB",
    "b",
    "\u{0}",
    "a\u{0}",
    "E",
    "É  ",
    "é",
    "e\t",
    "Z",
    "Ä",
    "Å",
    "Ö",
    "ö",
    "ü",
    "Y",
    "y",
    "ÿ",
    "Ü",
    "ß",
    "ss",
    "Æ",
    "Ø",
    "_",
    "~",
    "€",
    "Œ",
    "œ",
    "中",
    " 中",
    "中文",
    "😀",
    "😁",
    "a😀",
    "a😁",
    "\u{FFFD}",
    "\u{FFFF}",
    "\u{1F600} ",
    "ǅ",
    "ǆ",
    "Ǆ",
    "ı",
    "I",
    "İ",
    "i",
    "ﬀ",
    "ＡＢ",
    "ab ",
];

/// `(collation name, collation id, charset)` of the collations implemented exactly.
const COLLATIONS: &[(&str, u16, &str)] = &[
    ("utf8mb4_general_ci", 45, "utf8mb4"),
    ("utf8mb4_bin", 46, "utf8mb4"),
    ("utf8mb3_general_ci", 33, "utf8mb3"),
    ("utf8mb3_bin", 83, "utf8mb3"),
    ("latin1_swedish_ci", 8, "latin1"),
    ("latin1_bin", 47, "latin1"),
];

fn column(id: u16) -> ColumnDef {
    ColumnDef {
        info: ColumnInfo {
            name: "s".into(),
            data_type: DataType::VarChar,
            column_type: "varchar(40)".into(),
            unsigned: false,
            nullable: false,
            length: 40,
            scale: 0,
            charset: None,
            collation_id: Some(id),
            elements: vec![],
        },
        decode: Decode::String {
            max_len: 160,
            collation: id,
            pad_binary: false,
        },
        collation: Some(Collations::builtin().get(id)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_encoding_orders_like_mariadb() -> Result<()> {
    let db = MariaDb::start().await?;
    let mut conn = db.admin_conn().await?;
    conn.query_drop("SET NAMES utf8mb4").await?;
    conn.query_drop("CREATE DATABASE co").await?;
    let mut checked = 0;
    for &(name, id, charset) in COLLATIONS {
        let col = column(id);
        ensure!(
            col.collation
                .as_ref()
                .and_then(ExactCollation::of)
                .is_some(),
            "{name} is not implemented exactly"
        );
        let strings: Vec<&str> = TRICKY
            .iter()
            .copied()
            .filter(|s| match charset {
                "latin1" => s
                    .chars()
                    .all(|c| agent_core::index::keys::latin1_byte(c).is_some()),
                "utf8mb3" => s.chars().all(|c| u32::from(c) <= 0xFFFF),
                _ => true,
            })
            .collect();
        let table = format!("co.t_{name}");
        conn.query_drop(format!(
            "CREATE TABLE {table} (id INT PRIMARY KEY, s VARCHAR(40) CHARACTER SET {charset} \
             COLLATE {name} NOT NULL)"
        ))
        .await?;
        for (i, s) in strings.iter().enumerate() {
            conn.exec_drop(format!("INSERT INTO {table} VALUES (?, ?)"), (i, *s))
                .await?;
        }
        let pairs: Vec<(usize, usize, i32)> = conn
            .query(format!(
                "SELECT a.id, b.id, STRCMP(a.s, b.s) FROM {table} a, {table} b"
            ))
            .await?;
        ensure!(pairs.len() == strings.len() * strings.len());
        let keys: Vec<Vec<u8>> = strings
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                encode_value(&mut out, &Value::Text((*s).to_owned()), &col);
                out
            })
            .collect();
        let mut wrong = Vec::new();
        for (a, b, mariadb) in pairs {
            let ours = keys[a].cmp(&keys[b]) as i32;
            if ours != mariadb {
                wrong.push(format!(
                    "{:?} vs {:?}: MariaDB {mariadb}, key encoding {ours}",
                    strings[a], strings[b]
                ));
            }
            checked += 1;
        }
        ensure!(wrong.is_empty(), "{name}: {}", wrong.join("; "));
    }
    ensure!(checked > 6 * 40 * 40, "only {checked} pairs compared");
    Ok(())
}
