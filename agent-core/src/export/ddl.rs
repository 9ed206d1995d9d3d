//! The `CREATE TABLE` of an export: a baseline's real one while it fits, else generated from the
//! captured columns.

use std::path::Path;

use agent_api::catalog::ColumnInfo;

use super::ExportTable;
use crate::recover::literal::ident;
use crate::schema::Collations;

/// The `create_table.sql` of the newest baseline of the table at or before `seq`, when its columns
/// (names, `COLUMN_TYPE`, NULL-ability) are those of the export, i.e. no ALTER came in between;
/// the text without a trailing `;`. `None` when there is no such baseline or it cannot be read
/// (the generated `CREATE TABLE` is used then).
pub fn baseline_create_table(
    data_dir: &Path,
    server_id: u32,
    schema: &str,
    table: &str,
    seq: u64,
    columns: &[ColumnInfo],
) -> Option<String> {
    let baseline = crate::baseline::newest_at(data_dir, server_id, schema, table, seq)
        .map_err(|e| tracing::warn!(error = %e, "baselines unreadable; generating CREATE TABLE"))
        .ok()??;
    let shape = |c: &ColumnInfo| {
        (
            c.name.to_lowercase(),
            c.column_type.to_lowercase(),
            c.nullable,
        )
    };
    let same = baseline.manifest.table_schema.columns.len() == columns.len()
        && baseline
            .manifest
            .table_schema
            .columns
            .iter()
            .zip(columns)
            .all(|(b, c)| shape(&b.info) == shape(c));
    if !same {
        return None;
    }
    let text = std::fs::read_to_string(baseline.dir.join("create_table.sql")).ok()?;
    let text = text.trim().trim_end_matches(';').trim_end();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The `CREATE TABLE` statement without a trailing `;`: a baseline's real one when
/// [`ExportTable::create_sql`] holds it, else built from the captured columns and PK.
pub fn create_table(table: &ExportTable) -> String {
    match &table.create_sql {
        Some(sql) => sql.clone(),
        None => generated_create_table(table),
    }
}

/// `CREATE TABLE <name> (...)` from the captured columns and PK, without a trailing `;`.
pub fn generated_create_table(table: &ExportTable) -> String {
    let collations = Collations::builtin();
    let mut lines: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("  {} {}", ident(&c.name), c.column_type);
            if let Some(cs) = c.charset.as_deref().filter(|cs| *cs != "binary") {
                line.push_str(&format!(" CHARACTER SET {cs}"));
                if let Some(coll) = c
                    .collation_id
                    .and_then(|id| collations.0.get(&id))
                    .filter(|coll| coll.charset == cs)
                {
                    line.push_str(&format!(" COLLATE {}", coll.name));
                }
            }
            line.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
            line
        })
        .collect();
    if !table.pk.is_empty() {
        let cols: Vec<String> = table
            .pk
            .iter()
            .map(|&i| ident(&table.columns[i].name))
            .collect();
        lines.push(format!("  PRIMARY KEY ({})", cols.join(", ")));
    }
    format!(
        "CREATE TABLE {} (\n{}\n)",
        ident(&table.name),
        lines.join(",\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::parquet_file;
    use crate::export::tests::table;

    #[test]
    fn create_table_has_types_charsets_and_pk() {
        assert_eq!(
            create_table(&table()),
            "CREATE TABLE `or``ders` (\n  `id` bigint(20) unsigned NOT NULL,\n  \
             `note` varchar(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL,\n  \
             PRIMARY KEY (`id`)\n)"
        );
    }

    #[test]
    fn baseline_create_table_is_used_only_while_columns_match() {
        use crate::baseline::{BaselineOrigin, Manifest, MANIFEST_VERSION};
        let data = tempfile::tempdir().unwrap();
        let t = table();
        let manifest = Manifest {
            format: MANIFEST_VERSION,
            id: Manifest::make_id(5, 1),
            server_id: 1,
            schema: t.schema.clone(),
            table: t.name.clone(),
            origin: BaselineOrigin::ConsistentSnapshot,
            taken_at_us: 1,
            binlog_file: "binlog.000001".into(),
            binlog_pos: 4,
            gtid: None,
            seq: 5,
            schema_version: None,
            table_schema: parquet_file::table_schema(&t),
            rows: 0,
            bytes: 0,
        };
        let dir = crate::baseline::table_dir(data.path(), 1, &t.schema, &t.name).join(&manifest.id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let ddl =
            "CREATE TABLE `or``ders` (\n  `id` bigint(20) unsigned NOT NULL\n) ENGINE=InnoDB;\n";
        std::fs::write(dir.join("create_table.sql"), ddl).unwrap();
        let find = |seq, columns: &[ColumnInfo]| {
            baseline_create_table(data.path(), 1, &t.schema, &t.name, seq, columns)
        };
        assert_eq!(
            find(5, &t.columns).as_deref(),
            Some(ddl.trim_end().trim_end_matches(';'))
        );
        assert_eq!(find(4, &t.columns), None, "baseline after the instant");
        let mut altered = t.columns.clone();
        altered[1].column_type = "varchar(128)".into();
        assert_eq!(
            find(9, &altered),
            None,
            "columns changed since the baseline"
        );
        let with = ExportTable {
            create_sql: find(5, &t.columns),
            ..t
        };
        assert!(create_table(&with).ends_with("ENGINE=InnoDB"));
    }
}
