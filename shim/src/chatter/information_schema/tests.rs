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
    let all = tables();
    let shown: Vec<TableInfo> = match database.filter(|d| !d.starts_with('_')) {
        Some(db) => all.iter().filter(|t| t.schema == db).cloned().collect(),
        None => crate::chatter::catalog::virtual_tables(all.clone()),
    };
    answer(&query, &all, &shown, database).unwrap_or_else(|e| panic!("{sql}: {e}"))
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
    let schemas = ["_diff", "_flashback", "_snapshot", "crm", "shop"];
    assert_eq!(column(&r, 0), schemas.map(|s| Some(s.to_owned())));
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
        "SELECT * FROM information_schema.STATISTICS WHERE TABLE_NAME = 'orders' AND TABLE_SCHEMA = 'shop'",
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
    assert_eq!(answer(&q, &tables(), &[], None).unwrap_err().code, 1235);
}

#[test]
fn virtual_schemas_list_the_tables_they_read() {
    let r = run(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES ORDER BY TABLE_SCHEMA, TABLE_NAME",
        Some("shop"),
    );
    let pairs: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            format!(
                "{}.{}",
                row[0].as_deref().unwrap(),
                row[1].as_deref().unwrap()
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            "_diff.orders",
            "_flashback.orders",
            "_snapshot.orders",
            "crm.users",
            "shop.orders"
        ]
    );
    // Without a real database every name captured once is listed.
    let r = run(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '_flashback' ORDER BY 1",
        Some("_flashback"),
    );
    assert_eq!(column(&r, 0), [Some("orders".into()), Some("users".into())]);
    let r = run(
        "SELECT COLUMN_NAME, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '_snapshot' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION",
        Some("shop"),
    );
    assert_eq!(
        column(&r, 0),
        ["id", "customer", "big"].map(|s| Some(s.to_owned()))
    );
    assert_eq!(column(&r, 1), ["PRI", "", ""].map(|s| Some(s.to_owned())));
    let r = run(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '_diff' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION",
        Some("shop"),
    );
    let names: Vec<Option<String>> = crate::plan::reads::DIFF_COLUMNS
        .iter()
        .map(|c| Some((*c).to_owned()))
        .collect();
    assert_eq!(column(&r, 0), names);
    assert_eq!(r.rows[0][1].as_deref(), Some("datetime"));
    let r = run(
        "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '_diff'",
        Some("shop"),
    );
    assert!(r.rows.is_empty());
}

#[test]
fn joins_between_information_schema_tables() {
    // MariaDB Connector/J 2.7 getPrimaryKeys("_flashback", null, "orders").
    let r = run(
        "SELECT A.TABLE_SCHEMA TABLE_CAT, NULL TABLE_SCHEM, A.TABLE_NAME, A.COLUMN_NAME, \
         B.SEQ_IN_INDEX KEY_SEQ, B.INDEX_NAME PK_NAME  FROM INFORMATION_SCHEMA.COLUMNS A, \
         INFORMATION_SCHEMA.STATISTICS B WHERE A.COLUMN_KEY in ('PRI','pri') AND \
         B.INDEX_NAME='PRIMARY'  AND A.TABLE_SCHEMA = '_flashback' AND B.TABLE_SCHEMA = \
         '_flashback' AND A.TABLE_NAME = 'orders' AND B.TABLE_NAME = 'orders' AND \
         A.TABLE_SCHEMA = B.TABLE_SCHEMA AND A.TABLE_NAME = B.TABLE_NAME AND A.COLUMN_NAME = \
         B.COLUMN_NAME  ORDER BY A.COLUMN_NAME",
        Some("shop"),
    );
    let names: Vec<String> = r
        .columns
        .iter()
        .map(|c| c.name_str().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "TABLE_CAT",
            "TABLE_SCHEM",
            "TABLE_NAME",
            "COLUMN_NAME",
            "KEY_SEQ",
            "PK_NAME"
        ]
    );
    assert_eq!(
        r.rows,
        [[
            Some("_flashback".to_owned()),
            None,
            Some("orders".to_owned()),
            Some("id".to_owned()),
            Some("1".to_owned()),
            Some("PRIMARY".to_owned()),
        ]]
    );
    // JOIN ... ON and an unqualified name over a joined row.
    let r = run(
        "SELECT k.COLUMN_NAME FROM information_schema.TABLE_CONSTRAINTS c JOIN \
         information_schema.KEY_COLUMN_USAGE k ON c.TABLE_NAME = k.TABLE_NAME AND \
         c.TABLE_SCHEMA = k.TABLE_SCHEMA WHERE CONSTRAINT_TYPE = 'PRIMARY KEY' AND \
         c.TABLE_SCHEMA = 'crm'",
        None,
    );
    assert_eq!(column(&r, 0), [Some("id".into())]);
    for sql in [
        "SELECT * FROM information_schema.COLUMNS c JOIN _flashback.orders o ON c.TABLE_NAME = 'x'",
        "SELECT * FROM information_schema.COLUMNS c, shop.orders",
        "SELECT * FROM information_schema.COLUMNS c LEFT JOIN information_schema.TABLES t ON 1",
    ] {
        let Err(e) = classify(sql) else {
            panic!("{sql} classified")
        };
        assert_eq!(crate::error::MysqlError::from(e).code, 1235, "{sql}");
    }
}

#[test]
fn joins_narrow_each_table_before_the_product() {
    // 400 tables of 3 columns: COLUMNS has 4 800 rows with the virtual schemas, STATISTICS
    // 1 600; the product alone would be 7.7 million rows.
    let base = tables().remove(0);
    let all: Vec<TableInfo> = (0..400)
        .map(|i| TableInfo {
            name: format!("t{i}"),
            ..base.clone()
        })
        .collect();
    let shown = all.clone();
    let sql =
        "SELECT A.TABLE_NAME, A.COLUMN_NAME, B.SEQ_IN_INDEX FROM INFORMATION_SCHEMA.COLUMNS A, \
               INFORMATION_SCHEMA.STATISTICS B WHERE A.COLUMN_KEY in ('PRI','pri') AND \
               B.INDEX_NAME='PRIMARY' AND A.TABLE_SCHEMA = '_flashback' AND B.TABLE_SCHEMA = \
               '_flashback' AND A.TABLE_NAME = 't399' AND B.TABLE_NAME = 't399' AND \
               A.TABLE_SCHEMA = B.TABLE_SCHEMA AND A.TABLE_NAME = B.TABLE_NAME AND \
               A.COLUMN_NAME = B.COLUMN_NAME";
    let Ok(ShimStatement::InformationSchema(query)) = classify(sql) else {
        panic!()
    };
    let started = std::time::Instant::now();
    let r = answer(&query, &all, &shown, Some("shop")).unwrap();
    assert_eq!(
        r.rows,
        [[Some("t399".into()), Some("id".into()), Some("1".into())]]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
