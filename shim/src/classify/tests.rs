//! Classifier shapes: what becomes a time-travel query, what is chatter, what is refused.

use super::*;

fn flashback(sql: &str) -> FlashbackQuery {
    match classify(sql) {
        Ok(ShimStatement::Flashback(q)) => q,
        other => panic!("{sql}: {other:?}"),
    }
}

fn eq(column: &str, value: Literal) -> Condition {
    Condition::Compare {
        column: column.into(),
        op: CmpOp::Eq,
        value,
    }
}

#[test]
fn point_lookup_with_table_factor_as_of() {
    let q = flashback("SELECT * FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id = 42;");
    assert_eq!((q.schema, q.table.as_str()), (None, "orders"));
    assert_eq!(q.projection, Projection::Star);
    assert_eq!(q.conditions, vec![eq("id", Literal::Int(42))]);
    assert!(matches!(q.as_of, Some(TimeExpr::Local(_))));
}

#[test]
fn statement_final_as_of_comments_and_timestamp_keyword() {
    let q = flashback(
        "/* ApplicationName=DBeaver */ select id, total AS t from _flashback.orders where 42 = id AS OF TIMESTAMP 'now' limit 5",
    );
    assert_eq!(q.as_of, Some(TimeExpr::Now));
    assert_eq!(q.limit, Some(5));
    assert_eq!(q.conditions, vec![eq("id", Literal::Int(42))]);
    let Projection::Columns(cols) = q.projection else {
        panic!()
    };
    assert_eq!(
        cols[1],
        ProjectedColumn {
            column: "total".into(),
            alias: Some("t".into())
        }
    );
}

#[test]
fn predicate_shapes() {
    let q = flashback(
        "SELECT * FROM _flashback.t o AS OF 'now' WHERE (a, b) IN ((1, 'x'), (2, 'y')) AND c BETWEEN -5 AND 18446744073709551615 AND d IS NOT NULL AND e >= X'00ff' AND o.f <> 1.50",
    );
    assert_eq!(q.conditions.len(), 5);
    assert_eq!(
        q.conditions[0],
        Condition::InList {
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                vec![Literal::Int(1), Literal::Text("x".into())],
                vec![Literal::Int(2), Literal::Text("y".into())],
            ],
            negated: false,
        }
    );
    assert_eq!(
        q.conditions[1],
        Condition::Between {
            column: "c".into(),
            low: Literal::Int(-5),
            high: Literal::UInt(u64::MAX),
            negated: false,
        }
    );
    assert_eq!(
        q.conditions[2],
        Condition::IsNull {
            column: "d".into(),
            negated: true
        }
    );
    assert_eq!(
        q.conditions[3],
        Condition::Compare {
            column: "e".into(),
            op: CmpOp::GtEq,
            value: Literal::Bytes(vec![0, 255])
        }
    );
}

#[test]
fn bare_form_with_schema() {
    let q = flashback("SELECT * FROM shop.orders WHERE id IN (1, 2) AS OF '2026-04-27'");
    assert_eq!(q.schema.as_deref(), Some("shop"));
    assert!(matches!(&q.conditions[0], Condition::InList { rows, .. } if rows.len() == 2));
}

#[test]
fn an_alias_named_of_is_not_a_clause() {
    assert!(matches!(
        classify("SELECT 1 AS of"),
        Ok(ShimStatement::Chatter(_))
    ));
}

#[test]
fn refusals() {
    let unsupported = |sql: &str| match classify(sql) {
        Err(ClassifyError::Unsupported(_)) => {}
        other => panic!("{sql}: {other:?}"),
    };
    unsupported("SELECT * FROM shop.orders WHERE id = 1");
    unsupported("SELECT * FROM _flashback.orders AS OF 'now' WHERE id = 1 OR id = 2");
    assert!(matches!(
        classify("SELECT * FROM _diff.orders AS OF 'now' WHERE id = 1"),
        Err(ClassifyError::BadTime(_))
    ));
    unsupported("SELECT * FROM _flashback.orders AS OF 'now' WHERE id = 1 ORDER BY id");
    unsupported("SELECT count(*) FROM _flashback.orders AS OF 'now' WHERE id = 1");
    unsupported("DELETE FROM orders");
    unsupported("SHOW PLUGINS");
    assert_eq!(
        classify(
            "SELECT * FROM _flashback.orders o JOIN shop.customers c ON o.c = c.id AS OF 'now'"
        ),
        Err(ClassifyError::VirtualJoin("_flashback".into()))
    );
    assert!(matches!(
        classify("SELECT * FROM _flashback.o AS OF 'yesterday' WHERE id = 1"),
        Err(ClassifyError::BadTime(_))
    ));
    assert!(matches!(classify("SELEC 1"), Err(ClassifyError::Parse(_))));
    assert_eq!(classify(" ; "), Err(ClassifyError::Empty));
}

#[test]
fn chatter_shapes() {
    let chatter = |sql: &str| match classify(sql) {
        Ok(ShimStatement::Chatter(c)) => c,
        other => panic!("{sql}: {other:?}"),
    };
    assert!(
        matches!(chatter("SELECT @@global.read_only read_only"), Chatter::Select { items, .. } if items[0].name == "read_only" && items[0].expr == ChatterExpr::SystemVariable("read_only".into()))
    );
    assert!(
        matches!(chatter("select DATABASE(), USER() limit 1"), Chatter::Select { items, limit: Some(1) } if items.len() == 2)
    );
    assert_eq!(chatter("USE `shop`"), Chatter::Use("shop".into()));
    assert!(matches!(
        chatter("SET NAMES utf8mb4"),
        Chatter::SetNames { .. }
    ));
    assert!(
        matches!(chatter("SET @@session.autocommit = OFF, sql_mode = ''"), Chatter::Set(items) if items.len() == 2 && items[0].name == "autocommit")
    );
    assert_eq!(chatter("COMMIT"), Chatter::Transaction);
    assert_eq!(chatter("ROLLBACK"), Chatter::Transaction);
    assert_eq!(chatter("SHOW WARNINGS"), Chatter::ShowWarnings);
}

#[test]
fn session_default_time_and_other_as_of_spellings() {
    let q = flashback("SELECT * FROM _flashback.orders WHERE id = 1");
    assert_eq!(q.as_of, None, "read at @dbtrail_as_of");
    let q = flashback(
        "SELECT * FROM shop.orders FOR SYSTEM_TIME AS OF TIMESTAMP '2026-04-27 09:00' WHERE id = 1",
    );
    assert_eq!(q.schema.as_deref(), Some("shop"));
    assert!(matches!(q.as_of, Some(TimeExpr::Local(_))));
    let q = flashback("SELECT /*+ DBTRAIL_AT='2026-04-27 09:00' */ * FROM orders WHERE id = 1");
    assert!(matches!(q.as_of, Some(TimeExpr::Local(_))));
    assert_eq!(q.table, "orders");
    let q =
        flashback("SELECT * FROM _flashback.orders AS OF NOW() - INTERVAL 5 MINUTE WHERE id = 1");
    assert_eq!(
        q.as_of,
        Some(TimeExpr::Ago {
            micros: 300_000_000
        })
    );
    assert_eq!(q.conditions, vec![eq("id", Literal::Int(1))]);
}

#[test]
fn snapshot_and_diff_shapes() {
    let Ok(ShimStatement::Snapshot(q)) = classify(
        "SELECT * FROM _snapshot.orders AS OF '2026-04-27' WHERE status = 'paid' LIMIT 10",
    ) else {
        panic!()
    };
    assert_eq!((q.table.as_str(), q.limit), ("orders", Some(10)));
    let sql = "SELECT event_type, row_after FROM _diff.orders BETWEEN '2026-04-27 09:00' AND NOW() WHERE id BETWEEN 1 AND 5";
    let Ok(ShimStatement::Diff(d)) = classify(sql) else {
        panic!("{:?}", classify(sql))
    };
    assert!(matches!(d.from, TimeExpr::Local(_)));
    assert_eq!(d.to, TimeExpr::Now);
    assert!(matches!(&d.read.conditions[0], Condition::Between { column, .. } if column == "id"));
    assert!(matches!(
        classify("SELECT * FROM _diff.orders WHERE id = 1"),
        Err(ClassifyError::BadTime(_))
    ));
    assert_eq!(
        classify("SELECT * FROM _snapshot.orders s, shop.customers c AS OF 'now'"),
        Err(ClassifyError::VirtualJoin("_snapshot".into()))
    );
}

#[test]
fn show_table_status_filters() {
    let status = |sql: &str| match classify(sql) {
        Ok(ShimStatement::Catalog(q)) => q,
        other => panic!("{sql}: {other:?}"),
    };
    assert_eq!(
        status("SHOW TABLE STATUS FROM _flashback LIKE 'order%'"),
        CatalogQuery::TableStatus {
            schema: Some("_flashback".into()),
            like: NameFilter::Like("order%".into()),
        }
    );
    assert_eq!(
        status("/* c */ show table status where Name = 'orders';"),
        CatalogQuery::TableStatus {
            schema: None,
            like: NameFilter::In(vec!["orders".into()]),
        }
    );
    assert_eq!(
        status("SHOW TABLE STATUS IN shop"),
        CatalogQuery::TableStatus {
            schema: Some("shop".into()),
            like: NameFilter::All,
        }
    );
    assert!(classify("SHOW TABLE STATUS FROM shop LIKE").is_err());
}

#[test]
fn a_table_named_alone_is_marked_for_the_session_to_route() {
    assert!(flashback("SELECT * FROM orders AS OF 'now' WHERE id = 1").unqualified);
    assert!(flashback("SELECT * FROM orders WHERE id = 1").unqualified);
    assert!(!flashback("SELECT * FROM _flashback.orders AS OF 'now' WHERE id = 1").unqualified);
    assert!(!flashback("SELECT * FROM shop.orders AS OF 'now' WHERE id = 1").unqualified);
    // A schema-qualified table without AS OF is a query for the source itself.
    assert!(matches!(
        classify("SELECT * FROM shop.orders WHERE id = 1"),
        Err(ClassifyError::Unsupported(_))
    ));
}

#[test]
fn joins_of_virtual_tables_are_not_called_joins_with_real_tables() {
    let both = "SELECT * FROM _snapshot.a AS OF 'now' x JOIN _snapshot.b y ON x.id = y.id";
    match classify(both) {
        Err(ClassifyError::Unsupported(what)) => {
            assert!(what.contains("joins of virtual tables"), "{what}")
        }
        other => panic!("{other:?}"),
    }
    let mixed = "SELECT * FROM _snapshot.a AS OF 'now' x JOIN shop.b y ON x.id = y.id";
    assert_eq!(
        classify(mixed),
        Err(ClassifyError::VirtualJoin("_snapshot".into()))
    );
}
