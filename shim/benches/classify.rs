//! Hot paths of one `_flashback` point query in the shim: classifying the statement text and
//! encoding the answer row for the text protocol.
//!
//! `cargo bench -p dbtrail-shim --bench classify`

use std::hint::black_box;
use std::time::Duration;

use agent_api::catalog::{ColumnInfo, DataType};
use agent_api::value::{Date, DateTime};
use agent_api::Value;
use criterion::{criterion_group, criterion_main, Criterion};
use dbtrail_shim::classify::classify;
use dbtrail_shim::encode::text;

/// The statement an application sends for one row as of an instant.
const POINT_QUERY: &str =
    "SELECT * FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 4242";

fn column(name: &str, data_type: DataType, column_type: &str, scale: u8) -> ColumnInfo {
    let text = matches!(data_type, DataType::VarChar | DataType::Char);
    ColumnInfo {
        name: name.to_owned(),
        data_type,
        column_type: column_type.to_owned(),
        unsigned: column_type.ends_with("unsigned"),
        nullable: false,
        length: 0,
        scale,
        charset: text.then(|| "utf8mb4".to_owned()),
        collation_id: text.then_some(45),
        elements: Vec::new(),
    }
}

/// A 15-column order row (~380 bytes), as the bench runner's `orders` table holds.
fn order_row() -> (Vec<ColumnInfo>, Vec<Value>) {
    let dt = Value::DateTime(DateTime {
        date: Date {
            year: 2026,
            month: 4,
            day: 27,
        },
        hour: 9,
        minute: 11,
        second: 59,
        micros: 123_456,
    });
    let text = |s: &str| Value::Text(s.to_owned());
    let columns = vec![
        column("id", DataType::BigInt, "bigint(20) unsigned", 0),
        column("customer_id", DataType::Int, "int(10) unsigned", 0),
        column("status", DataType::VarChar, "varchar(16)", 0),
        column("amount", DataType::Decimal, "decimal(12,2)", 2),
        column("currency", DataType::Char, "char(3)", 0),
        column("quantity", DataType::Int, "int(11)", 0),
        column("discount", DataType::Double, "double", 0),
        column("email", DataType::VarChar, "varchar(100)", 0),
        column("name", DataType::VarChar, "varchar(80)", 0),
        column("address", DataType::VarChar, "varchar(160)", 0),
        column("note", DataType::VarChar, "varchar(200)", 0),
        column("shipping", DataType::VarChar, "varchar(40)", 0),
        column("created_at", DataType::DateTime, "datetime(6)", 6),
        column("updated_at", DataType::DateTime, "datetime(6)", 6),
        column("version", DataType::Int, "int(11)", 0),
    ];
    let values = vec![
        Value::UInt(4242),
        Value::UInt(33_711),
        text("shipped"),
        Value::Decimal("607.99".to_owned()),
        text("USD"),
        Value::Int(3),
        Value::Double(0.105),
        text("user4242@5d3b7e0c1a.example.com"),
        text("Customer 9a1f3c55e2b04d17 4242"),
        text("4242 3f2b8c1d9e7a6b5c4d3e2f1a0b9c8d7e Street, Apt 42, Springfield, 14242, United States"),
        text("web checkout; gift wrap no; ref 6c2e0a9d4b8f7e1a3c5d2b4f6e8a0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b 8e3d1c5b7a9f2e4d6c8b0a1f"),
        text("standard ground shipping"),
        dt.clone(),
        dt,
        Value::Int(3),
    ];
    (columns, values)
}

fn benches(c: &mut Criterion) {
    c.bench_function("classify _flashback point query", |b| {
        b.iter(|| classify(black_box(POINT_QUERY)))
    });
    let (columns, values) = order_row();
    let mut buf = Vec::with_capacity(512);
    c.bench_function("encode text row (15 columns)", |b| {
        b.iter(|| {
            buf.clear();
            text::write_row(&mut buf, black_box(&values).iter().zip(&columns));
            buf.len()
        })
    });
}

criterion_group! {
    name = shim;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(shim);
