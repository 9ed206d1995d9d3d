//! Fixtures shared by the unit tests of several modules: catalog columns, the `shop.orders`
//! table the archive tests write, and an agent over a temporary directory.

use std::path::Path;
use std::sync::Arc;

use agent_api::catalog::{ColumnInfo, DataType};

use crate::config::Config;
use crate::schema::{describe, Collations, ColumnDef, Decode, TableSchema};
use crate::App;

/// A nullable column of the source catalog with `data_type` and `column_type` (SQL text, e.g.
/// `"bigint(20) unsigned"`); length, scale, charset and collation unset.
pub(crate) fn column_info(name: &str, data_type: DataType, column_type: &str) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        data_type,
        column_type: column_type.into(),
        unsigned: false,
        nullable: true,
        length: 0,
        scale: 0,
        charset: None,
        collation_id: None,
        elements: Vec::new(),
    }
}

/// A nullable column decoded as `decode`, described as capture describes it: the collation of a
/// string or blob comes from the built-in table, `unsigned` from an unsigned integer.
pub(crate) fn col(name: &str, decode: Decode) -> ColumnDef {
    let collation = match decode {
        Decode::String { collation, .. } | Decode::Blob { collation, .. } => {
            Some(Collations::builtin().get(collation))
        }
        _ => None,
    };
    let (data_type, column_type, length, scale) = describe(&decode, collation.as_ref(), &[]);
    ColumnDef {
        info: ColumnInfo {
            length,
            scale,
            unsigned: matches!(decode, Decode::Int { unsigned: true, .. }),
            ..column_info(name, data_type, &column_type)
        },
        decode,
        collation,
    }
}

/// `shop.orders (id BIGINT PRIMARY KEY, note VARCHAR(100) utf8mb4)` followed by `extra` columns.
pub(crate) fn orders(extra: Vec<ColumnDef>) -> TableSchema {
    let mut columns = vec![
        col(
            "id",
            Decode::Int {
                bytes: 8,
                unsigned: false,
            },
        ),
        col(
            "note",
            Decode::String {
                max_len: 400,
                collation: 45,
                pad_binary: false,
            },
        ),
    ];
    columns.extend(extra);
    TableSchema {
        schema: "shop".into(),
        name: "orders".into(),
        columns,
        pk: vec![0],
    }
}

/// An agent over `data_dir` with one source (`server_id` 1, an unreachable DSN: nothing connects
/// in unit tests); `extra` is appended to the YAML configuration (e.g. an `archive:` section).
pub(crate) fn app(data_dir: &Path, extra: &str) -> Arc<App> {
    let yaml = format!(
        "token: t\ndata_dir: {}\nsources:\n  - server_id: 1\n    dsn: mysql://u:p@127.0.0.1:1\n{extra}",
        data_dir.display()
    );
    Arc::new(App::open(Arc::new(Config::parse(&yaml).unwrap())).unwrap())
}
