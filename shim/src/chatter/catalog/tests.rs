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
    let schema = |s: &str| Listing::Schema(s.to_owned());
    assert_eq!(
        listing(&q(Some("_flashback")), Some("shop")).unwrap(),
        Listing::Virtual
    );
    assert_eq!(
        listing(&q(Some("crm")), Some("shop")).unwrap(),
        schema("crm")
    );
    assert_eq!(listing(&q(None), Some("shop")).unwrap(), schema("shop"));
    assert_eq!(listing(&q(None), None).unwrap_err().code, 1046);
    assert_eq!(
        listing(&q(Some("_diff")), Some("_flashback")).unwrap(),
        Listing::Virtual
    );
    assert_eq!(
        listing(&q(None), Some("_FLASHBACK")).unwrap(),
        Listing::Virtual
    );
    let all = CatalogQuery::Databases {
        like: NameFilter::All,
    };
    assert_eq!(listing(&all, None).unwrap(), Listing::All);
}

#[test]
fn virtual_schemas_list_names_captured_once() {
    let mut crm_orders = orders();
    crm_orders.schema = "crm".into();
    let mut lines = orders();
    lines.name = "order_lines".into();
    let captured = vec![orders(), lines.clone(), crm_orders];
    let names: Vec<String> = virtual_tables(captured.clone())
        .into_iter()
        .map(|t| format!("{}.{}", t.schema, t.name))
        .collect();
    assert_eq!(names, ["shop.order_lines"]);
    assert_eq!(
        resolve_unqualified("ORDER_LINES", &captured, None).unwrap(),
        "shop"
    );
    let ambiguous = resolve_unqualified("orders", &captured, Some("_flashback")).unwrap_err();
    assert_eq!(ambiguous.code, 1046);
    assert!(
        ambiguous.message.contains("captured in schemas crm, shop"),
        "{}",
        ambiguous.message
    );
    let missing = resolve_unqualified("nope", &captured, None).unwrap_err();
    assert_eq!(missing.code, 1046);
    let missing = resolve_unqualified("nope", &captured, Some("_flashback")).unwrap_err();
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (1146, "Table '_flashback.nope' doesn't exist")
    );
}

#[test]
fn table_status_filters_on_name() {
    let mut lines = orders();
    lines.name = "order_lines".into();
    let tables = vec![orders(), lines];
    let status = |like: NameFilter| {
        let q = CatalogQuery::TableStatus { schema: None, like };
        let r = answer(&q, &tables, Some("shop")).unwrap();
        r.rows
            .iter()
            .map(|r| r[0].clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        status(NameFilter::Like("order\\_%".into())),
        ["order_lines"]
    );
    assert_eq!(status(NameFilter::In(vec!["ORDERS".into()])), ["orders"]);
    assert_eq!(status(NameFilter::All).len(), 2);
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
        &CatalogQuery::TableStatus {
            schema: None,
            like: NameFilter::All,
        },
        &[orders()],
        None,
    )
    .unwrap();
    assert_eq!(status.columns.len(), 18);
    assert_eq!(status.rows[0].len(), 18);
}
