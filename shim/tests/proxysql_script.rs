//! The ProxySQL admin script: golden output, idempotence-relevant shape, password forms, and the
//! 0600 output file.

use dbtrail_shim::config::Config;
use dbtrail_shim::proxysql::{
    generate_admin_script, native_password_hash, query_rules, write_script, BackendAuth,
    ProxysqlError, ScriptOptions,
};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../proxysql/golden/admin_script.sql"
);

const YAML: &str = "\
listen: 127.0.0.1:3308
agent_url: http://127.0.0.1:8600
tenants:
  - { mysql_user: app, mysql_password: '*6bb4837eb74329105ee4568dda7dc67ed2ca2ad9', server_id: 1 }
  - { mysql_user: \"o'brien\", mysql_password: 'analyst-secret', server_id: 2 }
";

fn config(yaml: &str) -> Config {
    Config::from_yaml(yaml, &|_| None).expect("test config is valid")
}

fn script(options: &ScriptOptions) -> Result<String, ProxysqlError> {
    generate_admin_script(&config(YAML), "10.0.0.5:3306", options)
}

#[test]
fn golden_script() {
    let text = script(&ScriptOptions::default()).expect("script");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).expect("golden file is writable");
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("golden file is readable");
    assert_eq!(
        text, golden,
        "rerun with UPDATE_GOLDEN=1 after a deliberate change"
    );
}

#[test]
fn script_shape_is_safe_for_the_admin_interface() {
    let text = script(&ScriptOptions::default()).expect("script");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"BEGIN;"));
    for line in &lines {
        assert!(line.ends_with(';'), "unterminated: {line}");
        assert_eq!(
            line.matches(';').count(),
            1,
            "a ';' inside a statement: {line}"
        );
        for marker in ["--", "#", "/*", "*/", "\\'"] {
            assert!(!line.contains(marker), "{marker} in: {line}");
        }
    }
    let commit = lines.iter().position(|l| *l == "COMMIT;").expect("COMMIT");
    assert!(lines[commit + 1..]
        .iter()
        .all(|l| l.starts_with("LOAD ") || l.starts_with("SAVE ")));
    for table in ["SERVERS", "USERS", "QUERY RULES"] {
        assert!(text.contains(&format!("LOAD MYSQL {table} TO RUNTIME;")));
        assert!(text.contains(&format!("SAVE MYSQL {table} TO DISK;")));
    }
    // Each table is cleared only where it is ours, before our rows go in.
    let deletes: Vec<&&str> = lines.iter().filter(|l| l.starts_with("DELETE")).collect();
    assert_eq!(
        deletes,
        [
            &"DELETE FROM mysql_servers WHERE hostgroup_id IN (9100, 9101);",
            &"DELETE FROM mysql_users WHERE username IN ('app', 'o''brien');",
            &"DELETE FROM mysql_query_rules WHERE rule_id BETWEEN 9100 AND 9199;",
        ]
    );
}

/// Reading the rule patterns back out of the SQL literals gives the patterns of the rules.
#[test]
fn script_carries_the_rules_verbatim() {
    let text = script(&ScriptOptions::default()).expect("script");
    for rule in query_rules() {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("VALUES ({}, 1, ", rule.id)))
            .unwrap_or_else(|| panic!("rule {} missing", rule.id));
        if let Some(pattern) = rule.match_pattern {
            let literal = format!("'{}'", pattern.replace('\'', "''"));
            assert!(line.contains(&literal), "rule {}: {line}", rule.id);
        }
        assert!(
            line.contains(", 9101, 1, "),
            "destination/apply of rule {}",
            rule.id
        );
    }
}

#[test]
fn native_backends_get_hashes_only() {
    let text = script(&ScriptOptions::default()).expect("script");
    assert!(!text.contains("analyst-secret"));
    assert!(text.contains(&format!("'{}'", native_password_hash("analyst-secret"))));
    assert!(text.contains("'*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9'"));
    assert!(text.contains("VALUES ('o''brien', "));
}

#[test]
fn caching_sha2_backends_get_the_cleartext() {
    let options = ScriptOptions {
        backend_auth: BackendAuth::CachingSha2Password,
        ..ScriptOptions::default()
    };
    let err = script(&options).expect_err("a hashed tenant cannot be given in cleartext");
    assert!(matches!(err, ProxysqlError::CleartextRequired { ref user } if user == "app"));
    let yaml = YAML.replace("'*6bb4837eb74329105ee4568dda7dc67ed2ca2ad9'", "'123456'");
    let text = generate_admin_script(&config(&yaml), "db:3306", &options).expect("script");
    assert!(
        text.contains("VALUES ('app', '123456', 1, 9100, 0);"),
        "{text}"
    );
}

#[test]
fn hostgroups_and_shim_host_follow_the_options() {
    let options = ScriptOptions {
        mysql_hostgroup: 0,
        shim_hostgroup: 42,
        shim_host: Some("shim.internal".into()),
        ..ScriptOptions::default()
    };
    let text = script(&options).expect("script");
    assert!(text.contains("VALUES (42, 'shim.internal', 3308, 'dbtrail: dbtrail-shim');"));
    assert!(text.contains("VALUES (0, '10.0.0.5', 3306, 'dbtrail: real MySQL');"));
    assert!(text.contains("DELETE FROM mysql_servers WHERE hostgroup_id IN (0, 42);"));
    let same = ScriptOptions {
        shim_hostgroup: 9100,
        ..ScriptOptions::default()
    };
    assert!(matches!(
        script(&same),
        Err(ProxysqlError::SameHostgroup(9100))
    ));
}

#[test]
fn bad_inputs_name_the_problem() {
    let wildcard = YAML.replace("127.0.0.1:3308", "0.0.0.0:3308");
    let err = generate_admin_script(&config(&wildcard), "db:3306", &ScriptOptions::default())
        .expect_err("wildcard listen");
    assert!(err.to_string().contains("--shim-host"), "{err}");
    let err = script_with_backend("db");
    assert!(err.to_string().starts_with("--mysql \"db\""), "{err}");
    let empty = config("agent_url: http://a:1\n");
    let err = generate_admin_script(&empty, "db:3306", &ScriptOptions::default())
        .expect_err("no tenants");
    assert!(matches!(err, ProxysqlError::NoTenants));
}

fn script_with_backend(backend: &str) -> ProxysqlError {
    generate_admin_script(&config(YAML), backend, &ScriptOptions::default())
        .expect_err("bad backend")
}

#[cfg(unix)]
#[test]
fn output_file_is_private_and_not_overwritten() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("dbtrail-proxysql-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("admin.sql");
    let path_str = path.to_str().expect("utf-8 temp path");
    let _ = std::fs::remove_file(&path);
    write_script(path_str, "BEGIN;\n", false).expect("first write");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let err = write_script(path_str, "X;\n", false).expect_err("exists");
    assert!(matches!(err, ProxysqlError::Exists { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "BEGIN;\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    write_script(path_str, "COMMIT;\n", true).expect("forced write");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "COMMIT;\n");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn cli_arguments_parse() {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: dbtrail_shim::proxysql::cli::ProxysqlConfigArgs,
    }
    let cli = Cli::try_parse_from([
        "x",
        "--config",
        "shim.yaml",
        "--mysql",
        "db:3306",
        "--backend-auth",
        "caching-sha2",
    ])
    .expect("parses");
    assert_eq!(cli.args.output, "-");
    assert!(!cli.args.force);
    let options = cli.args.options();
    assert_eq!(options.backend_auth, BackendAuth::CachingSha2Password);
    assert_eq!(
        (options.mysql_hostgroup, options.shim_hostgroup),
        (9100, 9101)
    );
}
