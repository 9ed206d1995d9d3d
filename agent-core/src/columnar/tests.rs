//! Round trips of the columnar mapping: Arrow in memory (proptest) and a Parquet file.

use super::*;
use crate::test_support::col;
use proptest::prelude::*;

/// One column of every kind.
fn table() -> TableSchema {
    let columns = vec![
        col(
            "i",
            Decode::Int {
                bytes: 8,
                unsigned: false,
            },
        ),
        col(
            "u",
            Decode::Int {
                bytes: 8,
                unsigned: true,
            },
        ),
        col("f", Decode::Float),
        col("d", Decode::Double),
        col(
            "dec",
            Decode::Decimal {
                precision: 20,
                scale: 4,
            },
        ),
        col(
            "big",
            Decode::Decimal {
                precision: 65,
                scale: 30,
            },
        ),
        col(
            "s",
            Decode::String {
                max_len: 400,
                collation: 45,
                pad_binary: false,
            },
        ),
        col(
            "j",
            Decode::Blob {
                prefix: 4,
                collation: 63,
                json: true,
            },
        ),
        col(
            "b",
            Decode::Blob {
                prefix: 2,
                collation: 63,
                json: false,
            },
        ),
        col("dt", Decode::Date),
        col("ts", Decode::DateTime2 { fsp: 6 }),
        col("t", Decode::Time2 { fsp: 6 }),
    ];
    TableSchema {
        schema: "s".into(),
        name: "t".into(),
        columns,
        pk: vec![0],
    }
}

fn date() -> impl Strategy<Value = Date> {
    (0u16..=9999, 0u8..=12, 0u8..=31).prop_map(|(year, month, day)| Date { year, month, day })
}

fn decimal(int_digits: usize, scale: usize) -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        proptest::collection::vec(0u8..10, 1..=int_digits),
        proptest::collection::vec(0u8..10, scale),
    )
        .prop_map(move |(neg, int, frac)| {
            let n = |d: &[u8]| d.iter().map(|x| char::from(b'0' + x)).collect::<String>();
            let int = n(&int).trim_start_matches('0').to_owned();
            let int = if int.is_empty() { "0".to_owned() } else { int };
            let frac = n(&frac);
            let zero = int == "0" && frac.bytes().all(|b| b == b'0');
            let sign = if neg && !zero { "-" } else { "" };
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        })
}

fn row() -> impl Strategy<Value = Vec<Value>> {
    let time = (any::<bool>(), 0u32..=838, 0u8..60, 0u8..60, 0u32..1_000_000).prop_map(
        |(negative, hours, minutes, seconds, micros)| {
            let zero = hours == 0 && minutes == 0 && seconds == 0 && micros == 0;
            Time {
                negative: negative && !zero,
                hours,
                minutes,
                seconds,
                micros,
            }
        },
    );
    let datetime = (date(), 0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000).prop_map(
        |(date, hour, minute, second, micros)| DateTime {
            date,
            hour,
            minute,
            second,
            micros,
        },
    );
    let values = (
        any::<i64>().prop_map(Value::Int),
        any::<u64>().prop_map(Value::UInt),
        any::<f32>()
            .prop_filter("no NaN", |f| !f.is_nan())
            .prop_map(Value::Float),
        any::<f64>()
            .prop_filter("no NaN", |f| !f.is_nan())
            .prop_map(Value::Double),
        decimal(16, 4).prop_map(Value::Decimal),
        decimal(35, 30).prop_map(Value::Decimal),
        ".{0,20}".prop_map(Value::Text),
        "\\{\"k\": [0-9]{1,5}\\}".prop_map(Value::Json),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        date().prop_map(Value::Date),
        datetime.prop_map(Value::DateTime),
        time.prop_map(Value::Time),
    );
    (values, proptest::collection::vec(any::<bool>(), 12)).prop_map(|(v, nulls)| {
        let row = vec![v.0, v.1, v.2, v.3, v.4, v.5, v.6, v.7, v.8, v.9, v.10, v.11];
        row.into_iter()
            .zip(nulls)
            .enumerate()
            // Column 0 stands for a PK: never NULL.
            .map(|(i, (v, null))| if null && i > 0 { Value::Null } else { v })
            .collect()
    })
}

proptest! {
    #[test]
    fn rows_round_trip_through_arrow(rows in proptest::collection::vec(row(), 1..20)) {
        let t = table();
        let mut b = RowBatchBuilder::new(&t).unwrap();
        for r in &rows {
            b.append(r).unwrap();
        }
        let batch = b.finish().unwrap();
        prop_assert_eq!(batch.schema(), arrow_schema(&t));
        let reader = RowReader::new(&batch, &t).unwrap();
        prop_assert_eq!(reader.len(), rows.len());
        for (i, r) in rows.iter().enumerate() {
            prop_assert_eq!(&reader.row(i), r);
        }
    }
}

#[test]
fn rows_round_trip_through_parquet() {
    let t = table();
    let mut b = RowBatchBuilder::new(&t).unwrap();
    let row = vec![
        Value::Int(-5),
        Value::UInt(u64::MAX),
        Value::Float(1.5),
        Value::Double(-2.25),
        Value::Decimal("-12.5000".into()),
        Value::Decimal("1.000000000000000000000000000001".into()),
        Value::Text("naïve".into()),
        Value::Json("{\"a\": 1}".into()),
        Value::Bytes(vec![0, 255]),
        Value::Date(Date {
            year: 0,
            month: 0,
            day: 0,
        }),
        Value::DateTime(DateTime {
            date: Date {
                year: 2026,
                month: 2,
                day: 29,
            },
            hour: 23,
            minute: 59,
            second: 59,
            micros: 999_999,
        }),
        Value::Time(Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        }),
    ];
    b.append(&row).unwrap();
    let batch = b.finish().unwrap();
    let file = tempfile::tempfile().unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(file.try_clone().unwrap(), batch.schema(), None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let back: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(RowReader::new(&back[0], &t).unwrap().row(0), row);
    let field = back[0].schema().field_with_name("dec").unwrap().clone();
    assert_eq!(field.metadata()[MYSQL_TYPE_KEY], "decimal(20,4)");
}

#[test]
fn decimal_text_is_exact_and_refuses_rounding() {
    assert_eq!(parse_decimal("-0.5", 2), Some(-50));
    assert_eq!(parse_decimal("12.340", 2), Some(1234));
    assert_eq!(parse_decimal("12.345", 2), None);
    assert_eq!(parse_decimal("1e5", 0), None);
    assert_eq!(format_decimal(-50, 2), "-0.50");
    assert_eq!(format_decimal(0, 0), "0");
    assert_eq!(format_decimal(7, 3), "0.007");
}

#[test]
fn odd_mysql_dates_stay_below_real_ones() {
    let zero = Date {
        year: 0,
        month: 0,
        day: 0,
    };
    assert!(
        date_days(&zero)
            < date_days(&Date {
                year: 0,
                month: 1,
                day: 1
            })
    );
    assert_eq!(date_from_days(date_days(&zero)), zero);
    let d = Date {
        year: 2026,
        month: 11,
        day: 26,
    };
    assert_eq!(date_days(&d), 20_783);
}

#[test]
fn a_value_of_the_wrong_kind_is_refused_with_the_column_name() {
    let t = table();
    let mut b = RowBatchBuilder::new(&t).unwrap();
    let mut row = vec![Value::Null; 12];
    row[0] = Value::Text("x".into());
    let e = b.append(&row).unwrap_err().to_string();
    assert!(e.starts_with("column i:"), "{e}");
}
