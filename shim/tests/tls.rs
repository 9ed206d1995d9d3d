//! TLS on the MySQL port: mysql_async upgrades with SSLRequest; `tls.require` refuses clients
//! that do not. The certificate is a self-signed localhost test fixture (`tests/fixtures/`,
//! valid until 2126), made with `openssl req -x509 -newkey rsa:2048 -nodes -days 36500`.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use support::*;

fn tls_yaml(dir: &Path, require: bool) -> String {
    format!(
        "tls: {{ cert: '{}', key: '{}', require: {require} }}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    )
}

fn opts(server: &TestServer, tls: bool) -> OptsBuilder {
    let builder =
        OptsBuilder::from_opts(Opts::from_url(&server.url(USER, PASSWORD, Some("shop"))).unwrap());
    if tls {
        let ssl = SslOpts::default()
            .with_danger_accept_invalid_certs(true)
            .with_danger_skip_domain_validation(true);
        builder.ssl_opts(ssl)
    } else {
        builder
    }
}

#[tokio::test]
async fn tls_upgrade_and_require() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let server = TestServer::start_with(&tls_yaml(&dir, false)).await;
    let mut secure = Conn::new(opts(&server, true)).await.expect("TLS login");
    let ids: Vec<i64> = secure
        .query("SELECT id FROM _flashback.orders AS OF 'now' WHERE id IN (42, 44)")
        .await
        .unwrap();
    assert_eq!(ids, [42, 44]);
    let cipher: Vec<(String, String)> = secure
        .query("SHOW SESSION VARIABLES LIKE 'have_ssl'")
        .await
        .unwrap();
    assert_eq!(cipher, [("have_ssl".to_owned(), "YES".to_owned())]);
    let mut plain = Conn::new(opts(&server, false))
        .await
        .expect("plain login allowed");
    plain.ping().await.unwrap();
    let have: Vec<(String, String)> = plain
        .query("SELECT @@have_ssl, @@have_openssl")
        .await
        .unwrap();
    assert_eq!(
        have,
        [("YES".to_owned(), "YES".to_owned())],
        "TLS is offered"
    );
    let without = TestServer::start().await;
    let mut conn = Conn::new(opts(&without, false)).await.unwrap();
    let have: Option<String> = conn.query_first("SELECT @@have_ssl").await.unwrap();
    assert_eq!(have.as_deref(), Some("DISABLED"));

    let required = TestServer::start_with(&tls_yaml(&dir, true)).await;
    let mut secure = Conn::new(opts(&required, true)).await.expect("TLS login");
    secure.ping().await.unwrap();
    match Conn::new(opts(&required, false)).await {
        Err(mysql_async::Error::Server(e)) => {
            assert_eq!((e.code, e.state.as_str()), (3159, "HY000"))
        }
        other => panic!("expected 3159, got {other:?}"),
    }
}
