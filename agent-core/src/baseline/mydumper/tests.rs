use super::*;

#[test]
fn reads_both_metadata_layouts() {
    let old = "Started dump at: 2026-11-26 12:40:37\nSHOW MASTER STATUS:\n\tLog: mb.000001\n\tPos: 1502\n\tGTID:0-7-5\n\nSHOW SLAVE STATUS:\n\tHost: x\n\tLog: other.000009\n\tPos: 4\n\nFinished dump at: 2026-11-26 12:40:37\n";
    assert_eq!(
        parse_metadata(old).unwrap(),
        DumpMetadata {
            file: "mb.000001".into(),
            pos: 1502,
            gtid: Some("0-7-5".into())
        }
    );
    let new = "# Started dump at: 2026-11-26 12:40:37\n[config]\nquote-character = BACKTICK\n\n[source]\n# Channel_Name = '' # It can be use to setup replication FOR CHANNEL\nFile = mysql-bin.000003\nPosition = 157\nExecuted_Gtid_Set = \n";
    assert_eq!(
        parse_metadata(new).unwrap(),
        DumpMetadata {
            file: "mysql-bin.000003".into(),
            pos: 157,
            gtid: None
        }
    );
    assert!(parse_metadata("Started dump at: x\n").is_err());
}

#[test]
fn reads_values_with_escapes_hex_and_null() {
    let data = b"/*!40101 SET NAMES binary*/;\n/*!40103 SET TIME_ZONE='+00:00' */;\nINSERT INTO `t` VALUES\n(1,\"it\\'s \\\"x\\\"\\\\ \\n new\",1.50,\"\\0\xff\\'\",NULL),\n(2,'a''b',-2.00,0x00FF,5);\nINSERT INTO `t` (`b`,`a`) VALUES(3,4);\n";
    let mut r = ValuesReader::new(data);
    let first = r.next_tuple().unwrap().unwrap();
    assert_eq!(first[1], Literal::Bytes(b"it's \"x\"\\ \n new".to_vec()));
    assert_eq!(first[3], Literal::Bytes(vec![0, 0xff, b'\'']));
    assert_eq!(first[4], Literal::Null);
    let second = r.next_tuple().unwrap().unwrap();
    assert_eq!(second[1], Literal::Bytes(b"a'b".to_vec()));
    assert_eq!(second[2], Literal::Number("-2.00".into()));
    assert_eq!(second[3], Literal::Bytes(vec![0, 0xff]));
    let third = r.next_tuple().unwrap().unwrap();
    assert_eq!(r.columns, vec!["b", "a"]);
    assert_eq!(
        third,
        vec![Literal::Number("3".into()), Literal::Number("4".into())]
    );
    assert!(r.next_tuple().unwrap().is_none());
    assert!(ValuesReader::new(b"INSERT INTO t VALUES (1,'x")
        .next_tuple()
        .is_err());
}

#[test]
fn finds_tables_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "metadata",
        "shop-schema-create.sql",
        "shop.t-schema.sql",
        "shop.t.00001.sql",
        "shop.t.00000.sql",
        "shop.tx.sql",
        "shop.tx-schema.sql",
    ] {
        std::fs::write(dir.path().join(f), "").unwrap();
    }
    let tables = dump_tables(dir.path()).unwrap();
    assert_eq!(tables.len(), 2);
    let names: Vec<_> = tables[0]
        .data_files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["shop.t.00000.sql", "shop.t.00001.sql"]);
    assert_eq!(tables[1].table, "tx");
}

#[test]
fn create_table_column_names() {
    let sql = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `na``me` varchar(20),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;";
    assert_eq!(create_table_columns(sql), vec!["id", "na"]);
}

/// Imports read only under `baselines.import_roots`, and every refusal reads the same, so the
/// API cannot tell which paths exist on the agent host.
#[test]
fn imports_only_under_the_roots_with_one_refusal() {
    let root = tempfile::tempdir().unwrap();
    let dump = root.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    std::fs::write(dump.join("metadata"), "Started dump at: x\n").unwrap();
    let roots = vec![root.path().to_path_buf()];
    let ok = super::import_dir(&roots, dump.to_str().unwrap()).unwrap();
    assert_eq!(ok, dump.canonicalize().unwrap());
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("metadata"), "x").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
    let escape = format!(
        "{}/dump/../../{}",
        root.path().display(),
        outside.path().display()
    );
    for dir in [
        outside.path().to_str().unwrap(),
        root.path().join("link").to_str().unwrap(),
        escape.as_str(),
        "/etc",
        "/nonexistent",
        "relative/dump",
        root.path().to_str().unwrap(),
    ] {
        let e = super::import_dir(&roots, dir).unwrap_err().to_string();
        assert_eq!(e, super::IMPORT_REFUSED, "{dir}");
    }
    let e = super::import_dir(&[], dump.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(e, super::IMPORT_REFUSED);
}
