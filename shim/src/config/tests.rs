//! Loading and validation of `shim.yaml`.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn example_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shim.yaml.example");
    let text = std::fs::read_to_string(path).expect("shim.yaml.example is readable");
    let env = |name: &str| Some(format!("env:{name}"));
    let config = Config::from_yaml(&text, &env).expect("example is valid");
    assert_eq!(
        config.agent_token.as_deref(),
        Some("env:DBTRAIL_AGENT_TOKEN")
    );
    assert_eq!(config.tenants[1].mysql_password, "env:ANALYST_PASSWORD");
    assert!(!config.tenants.is_empty());
    assert_eq!(config.limits.max_diff_window, Duration::from_secs(86_400));
    assert_eq!(config.limits.query_timeout, None);
    assert!(config.tenants[1].allows("crm") && !config.tenants[1].allows("hr"));
    assert!(config.tenants[0].allows("anything"));
    assert!(
        config.tenants[1].allows("CRM"),
        "schema names compare case-insensitively"
    );
    assert_eq!(
        config.unrestricted_tenants(),
        [config.tenants[0].mysql_user.as_str()]
    );
    assert_eq!(config.connect_timeout, Duration::from_secs(10));
    assert_eq!(config.max_connect_errors, 100);
    assert_eq!(config.agent_timeout, Duration::from_secs(30));
    assert!(!config.tenants[0].allow_wide_diff && config.tenants[1].allow_wide_diff);
}

#[test]
fn connection_guards_default_and_validate() {
    let defaults = Config::default();
    assert_eq!(
        (
            defaults.connect_timeout,
            defaults.max_connect_errors,
            defaults.agent_timeout
        ),
        (Duration::from_secs(10), 100, Duration::from_secs(30))
    );
    for (yaml, field) in [
        ("connect_timeout: 0s\n", "connect_timeout"),
        ("max_connect_errors: 0\n", "max_connect_errors"),
        ("agent_timeout: 0s\n", "agent_timeout"),
    ] {
        let err = Config::from_yaml(yaml, &no_env).unwrap_err();
        assert!(err.to_string().starts_with(field), "{err}");
    }
    let config = Config::from_yaml("connect_timeout: 3s\nagent_timeout: 2m\n", &no_env).unwrap();
    assert_eq!(config.connect_timeout, Duration::from_secs(3));
    assert_eq!(config.agent_timeout, Duration::from_secs(120));
}

#[test]
fn a_single_tenant_without_a_schema_list_is_not_flagged() {
    let yaml = "agent_url: http://a:8600\ntenants:\n  - { mysql_user: u, mysql_password: pw, server_id: 1 }\n";
    let config = Config::from_yaml(yaml, &no_env).unwrap();
    assert!(config.unrestricted_tenants().is_empty());
    let two = format!(
        "{yaml}  - {{ mysql_user: v, mysql_password: pw, server_id: 2, allowed_schemas: [a] }}\n"
    );
    let config = Config::from_yaml(&two, &no_env).unwrap();
    assert_eq!(config.unrestricted_tenants(), ["u"]);
}

#[test]
fn empty_file_gives_defaults() {
    let config = Config::from_yaml("", &no_env).unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.listen, "127.0.0.1:3308");
}

#[test]
fn unknown_key_is_rejected() {
    let err = Config::from_yaml("listne: 1.2.3.4:5\n", &no_env).unwrap_err();
    assert!(err.to_string().contains("listne"), "{err}");
}

#[test]
fn errors_name_the_field() {
    let yaml = "agent_url: http://a:8600\ntenants:\n  - { mysql_user: u, mysql_password: '*12', server_id: 1 }\n";
    let err = Config::from_yaml(yaml, &no_env).unwrap_err();
    assert!(
        err.to_string().starts_with("tenants[0].mysql_password"),
        "{err}"
    );
    let err = Config::from_yaml("agent_token: ${NOPE}\n", &no_env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "agent_token: environment variable NOPE is not set"
    );
    let yaml = "tenants:\n  - { mysql_user: u, mysql_password: p, server_id: 1 }\n";
    let err = Config::from_yaml(yaml, &no_env).unwrap_err();
    assert!(err.to_string().starts_with("tenants[0].agent_url"), "{err}");
    let err = Config::from_yaml("default_time_zone: Mars/Base\n", &no_env).unwrap_err();
    assert!(err.to_string().starts_with("default_time_zone"), "{err}");
}

#[test]
fn durations() {
    assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
    assert_eq!(parse_duration("7"), None);
    assert_eq!(parse_duration("h"), None);
    assert_eq!(parse_duration("3w"), None);
    let err = Config::from_yaml("limits: { max_diff_window: 3 weeks }\n", &no_env);
    assert!(err.is_err());
}

#[test]
fn tenant_overrides_endpoint() {
    let yaml = "agent_url: http://a:1\nagent_token: t\ntenants:\n  - { mysql_user: u, mysql_password: p, server_id: 1, agent_url: 'http://b:2' }\n";
    let config = Config::from_yaml(yaml, &no_env).unwrap();
    let endpoint = config.endpoint(&config.tenants[0]).unwrap();
    assert_eq!(endpoint.url, "http://b:2");
    assert_eq!(endpoint.token, "t");
}

#[test]
fn monitor_and_connection_limit() {
    let yaml = "agent_url: http://a:1\nmax_connections: 5\nmonitor: { user: monitor, password: m }\ntenants:\n  - { mysql_user: u, mysql_password: p, server_id: 1 }\n";
    let config = Config::from_yaml(yaml, &no_env).unwrap();
    assert_eq!(config.max_connections, 5);
    assert_eq!(config.monitor.unwrap().user, "monitor");
    let clash = "agent_url: http://a:1\nmonitor: { user: u, password: m }\ntenants:\n  - { mysql_user: u, mysql_password: p, server_id: 1 }\n";
    let err = Config::from_yaml(clash, &no_env).unwrap_err();
    assert!(err.to_string().starts_with("monitor.user"), "{err}");
    let err = Config::from_yaml("max_connections: 0\n", &no_env).unwrap_err();
    assert!(err.to_string().starts_with("max_connections"), "{err}");
    assert_eq!(Config::default().max_connections, 1000);
}

#[test]
fn query_timeout() {
    let config = Config::from_yaml("limits: { query_timeout: 90s }\n", &no_env).unwrap();
    assert_eq!(config.limits.query_timeout, Some(Duration::from_secs(90)));
    let err = Config::from_yaml("limits: { query_timeout: 0s }\n", &no_env).unwrap_err();
    assert!(err.to_string().starts_with("limits.query_timeout"), "{err}");
}

#[test]
fn tls_files_are_checked_at_start_up() {
    let config = Config::from_yaml(
        "tls: { cert: /nonexistent/cert.pem, key: /nonexistent/key.pem }\n",
        &no_env,
    )
    .unwrap();
    let tls = config.tls.unwrap();
    assert!(!tls.require);
    let Err(err) = tls.acceptor() else {
        panic!("missing files accepted")
    };
    assert!(
        err.to_string()
            .starts_with("tls.cert: cannot read /nonexistent/cert.pem"),
        "{err}"
    );
}
