//! The scripted `shop.orders` history shared by the end-to-end tests, with the expected row of
//! each key after every step, and how a row looks on the wire (text and binary protocol, CLI).

#![allow(dead_code)]

use std::time::Duration;

use agent_api::Value as ApiValue;
use anyhow::{bail, Context, Result};
use integration::MariaDb;
use mysql_async::prelude::Queryable;
use mysql_async::{Row, Value};

/// `shop.orders`: one column per type family the product must serve exactly.
pub const CREATE_TABLE: &str = "CREATE TABLE shop.orders (
    id INT PRIMARY KEY,
    customer VARCHAR(64) NOT NULL,
    amount DECIMAL(12,2),
    placed_at DATETIME(6),
    attrs JSON,
    status ENUM('new','paid','shipped','cancelled'),
    big BIGINT UNSIGNED,
    note VARCHAR(100) NULL
)";

/// Column names in table order.
pub const COLUMNS: [&str; 8] = [
    "id",
    "customer",
    "amount",
    "placed_at",
    "attrs",
    "status",
    "big",
    "note",
];

/// Pause after each step: MariaDB binlog event times have 1 s resolution, so a step's recorded
/// time must lie in an earlier second than the next step's commit.
pub const STEP_PAUSE: Duration = Duration::from_millis(1200);

/// One row of `shop.orders` as the test expects it. Text fields hold exactly what MariaDB prints:
/// `amount` with its 2 decimals, `placed_at` as `YYYY-MM-DD HH:MM:SS.ffffff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i32,
    pub customer: &'static str,
    pub amount: Option<&'static str>,
    pub placed_at: Option<&'static str>,
    pub attrs: Option<&'static str>,
    pub status: Option<&'static str>,
    pub big: Option<u64>,
    pub note: Option<&'static str>,
}

impl Order {
    /// The row as text-protocol cells (`None` = SQL NULL).
    pub fn cells(&self) -> Vec<Option<String>> {
        vec![
            Some(self.id.to_string()),
            Some(self.customer.to_owned()),
            self.amount.map(str::to_owned),
            self.placed_at.map(str::to_owned),
            self.attrs.map(str::to_owned),
            self.status.map(str::to_owned),
            self.big.map(|b| b.to_string()),
            self.note.map(str::to_owned),
        ]
    }

    /// The row as `mariadb --batch --raw` prints it: tab-separated, NULL as `NULL`.
    pub fn tsv(&self) -> String {
        self.cells()
            .into_iter()
            .map(|c| c.unwrap_or_else(|| "NULL".to_owned()))
            .collect::<Vec<_>>()
            .join("\t")
    }

    /// The row as binary-protocol values, as mysql_common decodes them from a server that types
    /// the columns like MariaDB: INT → `Int`, BIGINT UNSIGNED → `Int` up to 2^63-1 and `UInt`
    /// above (mysql_common's rule, so the UNSIGNED flag decides 2^63 and 2^64-1), DATETIME(6) →
    /// `Date` with µs, DECIMAL/strings/ENUM/JSON → `Bytes`.
    pub fn binary_values(&self) -> Vec<Value> {
        let bytes = |s: Option<&str>| s.map_or(Value::NULL, |s| Value::Bytes(s.into()));
        vec![
            Value::Int(i64::from(self.id)),
            Value::Bytes(self.customer.into()),
            bytes(self.amount),
            self.placed_at.map_or(Value::NULL, datetime_value),
            bytes(self.attrs),
            bytes(self.status),
            self.big.map_or(Value::NULL, |b| {
                i64::try_from(b).map_or(Value::UInt(b), Value::Int)
            }),
            bytes(self.note),
        ]
    }
}

impl Order {
    /// The row as agent-core's typed values (`POST /v1/flashback`): INT → `Int`, BIGINT UNSIGNED
    /// → `UInt`, DECIMAL → exact `Decimal` text, DATETIME(6) → `DateTime` with µs, strings and
    /// ENUM labels → `Text`, JSON → `Text` (MariaDB's JSON is LONGTEXT; [`normalize_agent_row`]
    /// folds `Json` into `Text`).
    pub fn agent_values(&self) -> Vec<ApiValue> {
        let text = |s: Option<&str>| s.map_or(ApiValue::Null, |s| ApiValue::Text(s.to_owned()));
        vec![
            ApiValue::Int(i64::from(self.id)),
            ApiValue::Text(self.customer.to_owned()),
            self.amount
                .map_or(ApiValue::Null, |a| ApiValue::Decimal(a.to_owned())),
            self.placed_at.map_or(ApiValue::Null, |p| {
                ApiValue::DateTime(p.parse().expect("datetime literal"))
            }),
            text(self.attrs),
            text(self.status),
            self.big.map_or(ApiValue::Null, ApiValue::UInt),
            text(self.note),
        ]
    }
}

/// An agent row with `Json` documents folded into `Text` (either is a faithful JSON column).
pub fn normalize_agent_row(row: Vec<ApiValue>) -> Vec<ApiValue> {
    row.into_iter()
        .map(|v| match v {
            ApiValue::Json(s) => ApiValue::Text(s),
            other => other,
        })
        .collect()
}

/// `"2026-04-27 09:11:59.123456"` → `Value::Date(2026, 4, 27, 9, 11, 59, 123456)`.
fn datetime_value(text: &str) -> Value {
    let n: Vec<u32> = text
        .split(['-', ' ', ':', '.'])
        .map(|p| p.parse().expect("numeric datetime part"))
        .collect();
    let b = |i: usize| u8::try_from(n[i]).expect("datetime part fits u8");
    Value::Date(
        u16::try_from(n[0]).expect("year"),
        b(1),
        b(2),
        b(3),
        b(4),
        b(5),
        n[6],
    )
}

/// A step of the history: statements run in order on one connection, and the expected state.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub statements: Vec<&'static str>,
    pub row42: Option<Order>,
    pub row43: Option<Order>,
}

/// A step after it ran: the source's `NOW(6)` right after its commit, UTC.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub step: &'static str,
    /// `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub at: String,
    pub row42: Option<Order>,
    pub row43: Option<Order>,
}

/// The scripted history of keys 42 and 43 (plus neighbours 4, 420, 4200 that must never match).
pub fn history() -> Vec<Step> {
    let inserted = Order {
        id: 42,
        customer: "alice",
        amount: Some("10.00"),
        placed_at: Some("2026-04-27 09:00:00.000000"),
        attrs: Some(r#"{"sku": "A-1", "qty": 2}"#),
        status: Some("new"),
        big: Some(0),
        note: None,
    };
    let repriced = Order {
        amount: Some("12.50"),
        ..inserted.clone()
    };
    let paid = Order {
        status: Some("paid"),
        note: Some(""),
        ..repriced.clone()
    };
    let maxed = Order {
        note: Some("x"),
        big: Some(u64::MAX),
        ..paid.clone()
    };
    let rescheduled = Order {
        placed_at: Some("2026-04-27 09:11:59.123456"),
        attrs: Some(r#"{"sku": "A-1", "qty": 3}"#),
        ..maxed.clone()
    };
    let reinserted = Order {
        id: 42,
        customer: "bob ünïcode ✓",
        amount: Some("-3.10"),
        placed_at: Some("2026-04-27 09:30:00.000001"),
        attrs: Some("[1, 2]"),
        status: Some("new"),
        big: Some(1 << 63),
        note: Some("back"),
    };
    let shipped = Order {
        amount: Some("-2.10"),
        status: Some("shipped"),
        ..reinserted.clone()
    };
    let other = Order {
        id: 43,
        customer: "carol",
        amount: Some("0.01"),
        placed_at: None,
        attrs: None,
        status: Some("cancelled"),
        big: None,
        note: None,
    };
    vec![
        step("create table", &[
            "CREATE DATABASE shop CHARACTER SET utf8mb4",
            CREATE_TABLE,
            "INSERT INTO shop.orders (id, customer) VALUES (4, 'n4'), (420, 'n420'), (4200, 'n4200')",
        ], None, None),
        step("insert 42", &[
            r#"INSERT INTO shop.orders VALUES (42, 'alice', 10, '2026-04-27 09:00:00', '{"sku": "A-1", "qty": 2}', 'new', 0, NULL)"#,
        ], Some(inserted), None),
        step("update amount", &["UPDATE shop.orders SET amount = 12.50 WHERE id = 42"],
            Some(repriced), None),
        step("update status, note NULL -> ''", &[
            "UPDATE shop.orders SET status = 'paid', note = '' WHERE id = 42",
        ], Some(paid), None),
        step("update note '' -> 'x', big = 2^64-1", &[
            "UPDATE shop.orders SET note = 'x', big = 18446744073709551615 WHERE id = 42",
        ], Some(maxed), None),
        step("update placed_at micros, attrs", &[
            "UPDATE shop.orders SET placed_at = '2026-04-27 09:11:59.123456', \
             attrs = JSON_SET(attrs, '$.qty', 3) WHERE id = 42",
        ], Some(rescheduled), None),
        step("delete 42", &["DELETE FROM shop.orders WHERE id = 42"], None, None),
        step("re-insert 42", &[
            "INSERT INTO shop.orders VALUES (42, 'bob ünïcode ✓', -3.10, \
             '2026-04-27 09:30:00.000001', '[1, 2]', 'new', 9223372036854775808, 'back')",
        ], Some(reinserted), None),
        step("transaction: update 42, insert 43", &[
            "BEGIN",
            "UPDATE shop.orders SET amount = amount + 1, status = 'shipped' WHERE id = 42",
            "INSERT INTO shop.orders (id, customer, amount, status) VALUES (43, 'carol', 0.01, 'cancelled')",
            "COMMIT",
        ], Some(shipped), Some(other)),
    ]
}

fn step(
    name: &'static str,
    statements: &[&'static str],
    row42: Option<Order>,
    row43: Option<Order>,
) -> Step {
    Step {
        name,
        statements: statements.to_vec(),
        row42,
        row43,
    }
}

/// Runs `step` on one root connection, records the source's `NOW(6)`, checks MariaDB's own view
/// of keys 42 and 43 against the expectation, then pauses [`STEP_PAUSE`].
pub async fn apply(db: &MariaDb, step: &Step) -> Result<Recorded> {
    let mut conn = db.admin_conn().await?;
    for stmt in &step.statements {
        conn.query_drop(*stmt)
            .await
            .with_context(|| format!("step {:?}: {stmt}", step.name))?;
    }
    let at: String = conn
        .query_first("SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f')")
        .await?
        .context("NOW(6) returned no row")?;
    let rows: Vec<Row> = conn
        .query("SELECT * FROM shop.orders WHERE id IN (42, 43) ORDER BY id")
        .await?;
    conn.disconnect().await?;
    let expected: Vec<Vec<Option<String>>> = [&step.row42, &step.row43]
        .into_iter()
        .flatten()
        .map(Order::cells)
        .collect();
    let actual = rows
        .into_iter()
        .map(text_cells)
        .collect::<Result<Vec<_>>>()?;
    if actual != expected {
        bail!(
            "after step {:?} MariaDB itself holds {actual:?}, the test expects {expected:?}",
            step.name
        );
    }
    tokio::time::sleep(STEP_PAUSE).await;
    Ok(Recorded {
        step: step.name,
        at,
        row42: step.row42.clone(),
        row43: step.row43.clone(),
    })
}

/// A text-protocol row as cells: `None` for NULL, else the UTF-8 text.
pub fn text_cells(row: Row) -> Result<Vec<Option<String>>> {
    row.unwrap()
        .into_iter()
        .map(|v| match v {
            Value::NULL => Ok(None),
            Value::Bytes(b) => Ok(Some(String::from_utf8(b).context("cell is not UTF-8")?)),
            other => bail!("text protocol cell arrived as {other:?}"),
        })
        .collect()
}

/// The `mariadb --batch --raw` output for `rows`: header line plus one line per row, or nothing
/// at all for an empty result (the client prints no header then).
pub fn expected_tsv(rows: &[&Order]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = COLUMNS.join("\t");
    out.push('\n');
    for row in rows {
        out.push_str(&row.tsv());
        out.push('\n');
    }
    out
}
