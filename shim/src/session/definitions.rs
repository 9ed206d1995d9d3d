//! The column definitions of a time-travel result, encoded once per table version and kept
//! by the connection: a point query on a table read before sends the cached packets instead of
//! building and serializing one `ColumnDefinition41` per column again.
//!
//! An entry is found by what the packets are made of: the virtual schema, the table name, its
//! primary key, the projection, and the column list (the same shared list the backend hands out
//! per schema version, else an equal one). A new schema version is a different column list, so
//! it never finds the old packets.

use std::sync::Arc;

use agent_api::catalog::ColumnInfo;
use mysql_common::packets::Column;

use super::query::pick_columns;
use crate::charset::ClientCharset;
use crate::encode::{column_definition, for_results, write_column_definition};
use crate::error::MysqlError;

/// Entries kept per connection (most recently used first).
const ENTRIES: usize = 8;

/// A result set's columns, ready to send.
#[derive(Debug)]
pub(super) struct Definitions {
    /// For each result column, its index in the agent's column list.
    pub picks: Vec<usize>,
    /// The definitions (the binary row encoder reads their types).
    pub columns: Vec<Column>,
    /// Each definition serialized (`Protocol::ColumnDefinition41`), one packet payload each.
    pub packets: Vec<Vec<u8>>,
}

/// What one result's definitions depend on.
pub(super) struct Shape<'a> {
    /// `_flashback` or `_snapshot`.
    pub schema: &'static [u8],
    /// The table name sent in the definitions.
    pub table: &'a str,
    /// Primary-key column names (their definitions carry PRI_KEY_FLAG).
    pub primary_key: &'a [String],
    /// `(column, output name)` pairs; `None` is `SELECT *`.
    pub projection: Option<&'a [(String, String)]>,
    /// The agent's columns the rows are aligned with.
    pub columns: &'a Arc<Vec<ColumnInfo>>,
    /// The session's `character_set_results` (names and text columns are sent in it).
    pub results: Option<ClientCharset>,
}

struct Entry {
    schema: &'static [u8],
    table: String,
    primary_key: Vec<String>,
    projection: Option<Vec<(String, String)>>,
    columns: Arc<Vec<ColumnInfo>>,
    results: Option<ClientCharset>,
    built: Arc<Definitions>,
}

impl Entry {
    fn matches(&self, shape: &Shape<'_>) -> bool {
        self.schema == shape.schema
            && self.table == shape.table
            && self.primary_key == shape.primary_key
            && self.projection.as_deref() == shape.projection
            && self.results == shape.results
            && (Arc::ptr_eq(&self.columns, shape.columns) || self.columns == *shape.columns)
    }
}

/// The few most recently used result shapes of one connection.
#[derive(Default)]
pub(super) struct DefinitionCache {
    entries: Vec<Entry>,
}

impl DefinitionCache {
    /// The definitions for `shape`, built on a miss; ERR 1054 when the projection names a
    /// column the table does not have.
    pub fn get(&mut self, shape: &Shape<'_>) -> Result<Arc<Definitions>, MysqlError> {
        if let Some(i) = self.entries.iter().position(|e| e.matches(shape)) {
            let entry = self.entries.remove(i);
            let built = Arc::clone(&entry.built);
            self.entries.insert(0, entry);
            return Ok(built);
        }
        let built = Arc::new(build(shape)?);
        self.entries.truncate(ENTRIES - 1);
        self.entries.insert(
            0,
            Entry {
                schema: shape.schema,
                table: shape.table.to_owned(),
                primary_key: shape.primary_key.to_vec(),
                projection: shape.projection.map(<[_]>::to_vec),
                columns: Arc::clone(shape.columns),
                results: shape.results,
                built: Arc::clone(&built),
            },
        );
        Ok(built)
    }
}

fn build(shape: &Shape<'_>) -> Result<Definitions, MysqlError> {
    let picks = pick_columns(shape.columns, shape.projection)?;
    let is_pk = |name: &str| {
        shape
            .primary_key
            .iter()
            .any(|k| k.eq_ignore_ascii_case(name))
    };
    let columns: Vec<Column> = (picks.iter())
        .map(|(i, name)| {
            let column = &shape.columns[*i];
            column_definition(column, shape.table, name, is_pk(&column.name))
                .with_schema(shape.schema)
        })
        .collect();
    let packets = (columns.iter())
        .map(|c| {
            let mut packet = Vec::new();
            write_column_definition(&for_results(c, shape.results.as_ref()), &mut packet);
            packet
        })
        .collect();
    Ok(Definitions {
        picks: picks.into_iter().map(|(i, _)| i).collect(),
        columns,
        packets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Arc<Vec<ColumnInfo>> {
        Arc::new(names.iter().map(|n| ColumnInfo::int(n)).collect())
    }

    fn shape<'a>(
        columns: &'a Arc<Vec<ColumnInfo>>,
        pk: &'a [String],
        projection: Option<&'a [(String, String)]>,
    ) -> Shape<'a> {
        Shape {
            schema: b"_flashback",
            table: "t",
            primary_key: pk,
            projection,
            columns,
            results: Some(ClientCharset::server_default()),
        }
    }

    #[test]
    fn one_build_per_shape_and_a_new_one_when_columns_change() {
        let mut cache = DefinitionCache::default();
        let pk = vec!["id".to_owned()];
        let v1 = columns(&["id", "v"]);
        let first = cache.get(&shape(&v1, &pk, None)).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &cache.get(&shape(&v1, &pk, None)).unwrap()
        ));
        let equal = columns(&["id", "v"]);
        assert!(Arc::ptr_eq(
            &first,
            &cache.get(&shape(&equal, &pk, None)).unwrap()
        ));
        let v2 = columns(&["id", "v", "w"]);
        let second = cache.get(&shape(&v2, &pk, None)).unwrap();
        assert_eq!(second.picks, [0, 1, 2]);
        assert!(!Arc::ptr_eq(&first, &second));
        let other_pk = vec!["v".to_owned()];
        let third = cache.get(&shape(&v1, &other_pk, None)).unwrap();
        assert!(!Arc::ptr_eq(&first, &third));
    }

    #[test]
    fn packets_are_the_definitions_serialized_in_pick_order() {
        let mut cache = DefinitionCache::default();
        let pk = vec!["id".to_owned()];
        let cols = columns(&["id", "v"]);
        let projection = [("V".to_owned(), "x".to_owned())];
        let built = cache.get(&shape(&cols, &pk, Some(&projection))).unwrap();
        assert_eq!(built.picks, [1]);
        let want = column_definition(&cols[1], "t", "x", false).with_schema(b"_flashback");
        let mut packet = Vec::new();
        write_column_definition(&want, &mut packet);
        assert_eq!(
            (&built.columns[..], &built.packets[..]),
            (&[want][..], &[packet][..])
        );
        let unknown = [("nope".to_owned(), "nope".to_owned())];
        let err = cache.get(&shape(&cols, &pk, Some(&unknown))).unwrap_err();
        assert_eq!(err.code, 1054);
    }
}
