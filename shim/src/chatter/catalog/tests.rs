//! Catalog answers over a fixed table list.

use agent_api::catalog::{ColumnInfo, DataType, TableInfo};

use super::*;

fn orders() -> TableInfo {
    let column = |name: &str, data_type: DataType, column_type: &str, nullable: bool| ColumnInfo {
        name: name.into(),
        data_type,
        column_type: column_type.into(),
        unsigned: false,
        nullable,
        length: 0,
        scale: 0,
        charset: (data_type == DataType::VarChar).then(|| "utf8mb4".into()),
        collation_id: None,
        elements: Vec::new(),
    };
    TableInfo {
        schema: "shop".into(),
        name: "orders".into(),
        columns: vec![
            column("id", DataType::Int, "int", false),
            column("note", DataType::VarChar, "varchar(100)", true),
        ],
        primary_key: vec!["id".into()],
    }
}

fn cells(result: &TextResult) -> Vec<Vec<Option<String>>> {
    result.rows.clone()
}

#[test]
fn schemas_resolve_through_virtual_names() {
    let q = |schema: Option<&str>| CatalogQuery::Tables {
        schema: schema.map(str::to_owned),
        full: false,
        like: NameFilter::All,
    };
    assert_eq!(
        source_schema(&q(Some("_flashback")), Some("shop"))
            .unwrap()
            .as_deref(),
        Some("shop")
    );
    assert_eq!(
        source_schema(&q(Some("crm")), Some("shop"))
            .unwrap()
            .as_deref(),
        Some("crm")
    );
    assert_eq!(source_schema(&q(None), None).unwrap_err().code, 1046);
    assert_eq!(
        source_schema(&q(Some("_diff")), Some("_flashback"))
            .unwrap_err()
            .code,
        1046
    );
    let all = CatalogQuery::Databases {
        like: NameFilter::All,
    };
    assert_eq!(source_schema(&all, None).unwrap(), None);
}

#[test]
fn databases_tables_and_columns() {
    let tables = vec![orders()];
    let dbs = answer(
        &CatalogQuery::Databases {
            like: NameFilter::All,
        },
        &tables,
        None,
    )
    .unwrap();
    let names: Vec<_> = cells(&dbs)
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(names, ["_flashback", "_snapshot", "_diff", "shop"]);
    let full = CatalogQuery::Tables {
        schema: Some("_flashback".into()),
        full: true,
        like: NameFilter::Like("ord%".into()),
    };
    let result = answer(&full, &tables, Some("shop")).unwrap();
    assert_eq!(result.columns[0].name_str(), "Tables_in__flashback");
    assert_eq!(
        cells(&result),
        vec![vec![Some("orders".into()), Some("BASE TABLE".into())]]
    );
    let desc = CatalogQuery::Columns {
        schema: None,
        table: "ORDERS".into(),
        full: false,
    };
    let result = answer(&desc, &tables, Some("shop")).unwrap();
    assert_eq!(result.columns.len(), 6);
    assert_eq!(
        cells(&result)[0],
        vec![
            Some("id".into()),
            Some("int".into()),
            Some("NO".into()),
            Some("PRI".into()),
            None,
            Some(String::new())
        ]
    );
    let missing = CatalogQuery::Keys {
        schema: None,
        table: "nope".into(),
    };
    assert_eq!(
        answer(&missing, &tables, Some("shop")).unwrap_err().code,
        1146
    );
}

#[test]
fn create_table_is_mysql_ddl() {
    let q = CatalogQuery::CreateTable {
        schema: None,
        table: "orders".into(),
    };
    let result = answer(&q, &[orders()], Some("shop")).unwrap();
    let ddl = result.rows[0][1].clone().unwrap();
    assert_eq!(
        ddl,
        "CREATE TABLE `orders` (\n  `id` int NOT NULL,\n  `note` varchar(100) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci"
    );
    let keys = answer(
        &CatalogQuery::Keys {
            schema: None,
            table: "orders".into(),
        },
        &[orders()],
        None,
    )
    .unwrap();
    assert_eq!(keys.columns.len(), 15);
    let status = answer(
        &CatalogQuery::TableStatus { schema: None },
        &[orders()],
        None,
    )
    .unwrap();
    assert_eq!(status.columns.len(), 18);
    assert_eq!(status.rows[0].len(), 18);
}
