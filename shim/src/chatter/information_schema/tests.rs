//! information_schema queries as BI tools and JDBC drivers send them.

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};

use super::*;
use crate::classify::{classify, ShimStatement};

fn tables() -> Vec<TableInfo> {
    let column = |name: &str, data_type: DataType, column_type: &str, unsigned: bool| ColumnInfo {
        name: name.into(),
        data_type,
        column_type: column_type.into(),
        unsigned,
        nullable: name != "id",
        length: if data_type == DataType::VarChar {
            64
        } else {
            0
        },
        scale: 0,
        charset: (data_type == DataType::VarChar).then(|| "utf8mb4".into()),
        collation_id: None,
        elements: Vec::new(),
    };
    let orders = TableInfo {
        schema: "shop".into(),
        name: "orders".into(),
        columns: vec![
            column("id", DataType::Int, "int", false),
            column("customer", DataType::VarChar, "varchar(64)", false),
            column("big", DataType::BigInt, "bigint unsigned", true),
        ],
        primary_key: vec!["id".into()],
    };
    let mut users = orders.clone();
    users.schema = "crm".into();
    users.name = "users".into();
    vec![orders, users]
}

fn run(sql: &str, database: Option<&str>) -> TextResult {
    let Ok(ShimStatement::InformationSchema(query)) = classify(sql) else {
        panic!("{sql}: {:?}", classify(sql))
    };
    answer(&query, &tables(), database).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn column(result: &TextResult, i: usize) -> Vec<Option<String>> {
    result.rows.iter().map(|r| r[i].clone()).collect()
}

#[test]
fn grafana_schema_pickers() {
    let r = run(
        "SELECT DISTINCT TABLE_SCHEMA from information_schema.TABLES where TABLE_TYPE != 'SYSTEM VIEW' ORDER BY TABLE_SCHEMA",
        None,
    );
    assert_eq!(column(&r, 0), [Some("crm".into()), Some("shop".into())]);
    let r = run(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = database()",
        Some("shop"),
    );
    assert_eq!(r.columns[0].name_str(), "table_name");
    assert_eq!(column(&r, 0), [Some("orders".into())]);
    let r = run(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME DESC LIMIT 2",
        None,
    );
    assert_eq!(column(&r, 0), [Some("shop".into()), Some("crm".into())]);
}

#[test]
fn jdbc_get_columns_with_case_and_if() {
    let sql = "SELECT TABLE_SCHEMA AS TABLE_CAT, NULL AS TABLE_SCHEM, TABLE_NAME, COLUMN_NAME, \
        CASE data_type WHEN 'int' THEN IF(COLUMN_TYPE LIKE '%unsigned%', 4, 4) WHEN 'bigint' THEN IF(COLUMN_TYPE LIKE '%unsigned%', -5, -5) ELSE 12 END AS DATA_TYPE, \
        UPPER(CASE WHEN LOCATE('unsigned', COLUMN_TYPE) != 0 AND LOCATE('unsigned', DATA_TYPE) = 0 THEN CONCAT(DATA_TYPE, ' unsigned') ELSE DATA_TYPE END) AS TYPE_NAME, \
        IFNULL(CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION) AS COLUMN_SIZE, \
        CASE IS_NULLABLE WHEN 'NO' THEN 0 ELSE 1 END AS NULLABLE, ORDINAL_POSITION \
        FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME LIKE 'ord%' AND COLUMN_NAME LIKE '%' \
        ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION";
    let r = run(sql, None);
    assert_eq!(r.rows.len(), 3);
    assert_eq!(
        r.rows[2],
        vec![
            Some("shop".into()),
            None,
            Some("orders".into()),
            Some("big".into()),
            Some("-5".into()),
            Some("BIGINT UNSIGNED".into()),
            Some("20".into()),
            Some("1".into()),
            Some("3".into()),
        ]
    );
    assert_eq!(
        r.rows[1][6].as_deref(),
        Some("64"),
        "CHARACTER_MAXIMUM_LENGTH of varchar(64)"
    );
    assert_eq!(r.rows[0][7].as_deref(), Some("0"), "id is NOT NULL");
    assert_eq!(
        r.columns[4].column_type(),
        mysql_common::constants::ColumnType::MYSQL_TYPE_LONGLONG
    );
}

#[test]
fn keys_constraints_and_empty_tables_keep_their_columns() {
    let r = run(
        "SELECT * FROM information_schema.STATISTICS WHERE TABLE_NAME = 'orders'",
        None,
    );
    assert_eq!(r.columns.len(), 18);
    assert_eq!(r.rows.len(), 1);
    let r = run(
        "SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS",
        None,
    );
    assert_eq!((r.columns.len(), r.rows.len()), (11, 0));
    assert!(r.columns.iter().all(|c| c.column_length() > 0));
    let r = run(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA = 'crm'",
        None,
    );
    assert_eq!(column(&r, 0), [Some("id".into())]);
    let Ok(ShimStatement::InformationSchema(q)) =
        classify("SELECT * FROM information_schema.ROUTINES")
    else {
        panic!()
    };
    assert_eq!(answer(&q, &tables(), None).unwrap_err().code, 1235);
}
