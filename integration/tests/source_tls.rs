//! Every connection agent-core opens to the source carries the same TLS settings: against a
//! MariaDB whose replication account is created `REQUIRE X509`, capture and a baseline both
//! connect with the client certificate of `sources[].ssl_cert`/`ssl_key` (certificates made with
//! `openssl` for the test). The same baseline without the certificate is refused by the server.
//!
//! Needs the binaries (`cargo build --workspace --bins`) and the `openssl` command.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use integration::history::wait_caught_up_strict;
use integration::{AgentCore, MariaDb};
use mysql_async::prelude::Queryable;

/// Runs `openssl <args>` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl")?;
    ensure!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate it signed (X.509 v3, as
/// rustls requires), in `dir`.
fn make_certificates(dir: &Path) -> Result<()> {
    let subj = |cn: &str| format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-subj",
            &subj("dbtrail test CA"),
        ],
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )?;
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )?;
    for (name, cn) in [("server", "127.0.0.1"), ("client", "dbtrail agent")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &subj(cn),
            ],
        )?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        )?;
    }
    Ok(())
}

/// `agent.yaml` with the source's DSN switched to the X509 account and the TLS lines right after
/// it, in the source's mapping (`with_cert`: the client certificate and key too).
fn tls_config(original: &str, port: u16, certs: &Path, with_cert: bool) -> String {
    let q = |p: &str| serde_json::Value::from(certs.join(p).to_string_lossy().as_ref()).to_string();
    let mut tls = format!("    ssl_mode: verify-ca\n    ssl_ca: {}", q("ca.pem"));
    if with_cert {
        tls.push_str(&format!(
            "\n    ssl_cert: {}\n    ssl_key: {}",
            q("client.pem"),
            q("client-key.pem")
        ));
    }
    let mut yaml: String = original
        .lines()
        .map(|l| match l.trim_start().starts_with("dsn:") {
            true => format!("    dsn: \"mysql://x509:x509@127.0.0.1:{port}\"\n{tls}"),
            false => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    yaml.push('\n');
    yaml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_and_baselines_present_the_client_certificate() -> Result<()> {
    let certs = tempfile::tempdir()?;
    make_certificates(certs.path())?;
    let file = |n: &str| certs.path().join(n).to_string_lossy().into_owned();
    let tls_args = [
        format!("--ssl-ca={}", file("ca.pem")),
        format!("--ssl-cert={}", file("server.pem")),
        format!("--ssl-key={}", file("server-key.pem")),
    ];
    let tls_args: Vec<&str> = tls_args.iter().map(String::as_str).collect();
    let db = MariaDb::start_with(&tls_args).await?;
    let mut admin = db.admin_conn().await?;
    for sql in [
        "CREATE USER 'x509'@'%' IDENTIFIED BY 'x509' REQUIRE X509",
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'x509'@'%'",
        "CREATE DATABASE shop",
        "CREATE TABLE shop.t (id INT PRIMARY KEY, v VARCHAR(10))",
        "INSERT INTO shop.t VALUES (1, 'one'), (2, 'two')",
    ] {
        admin
            .query_drop(sql)
            .await
            .with_context(|| sql.to_owned())?;
    }
    let mut agent = AgentCore::start(&db, &["shop"]).await?;
    let original = std::fs::read_to_string(agent.config_path())?;
    let with_cert = tls_config(&original, db.port(), certs.path(), true);
    std::fs::write(agent.config_path(), &with_cert)?;
    agent.restart().await?;
    // Capture over TLS with the client certificate (the account admits nothing else).
    admin
        .query_drop("INSERT INTO shop.t VALUES (3, 'three')")
        .await?;
    wait_caught_up_strict(&agent, &db).await?;

    // A baseline connects the same way.
    let printed = agent
        .cli(&["baseline", "--source", "1", "--tables", "shop.t"])
        .await?;
    ensure!(
        printed
            .lines()
            .any(|l| l.starts_with("shop.t\t") && l.contains("\t3 rows\t")),
        "baseline output: {printed}"
    );

    // Without the certificate the server refuses the account: the check above can fail.
    let without = tls_config(&original, db.port(), certs.path(), false);
    std::fs::write(agent.config_path(), without)?;
    agent.restart().await?;
    let refused = agent
        .cli(&["baseline", "--source", "1", "--tables", "shop.t"])
        .await;
    let message = format!(
        "{:#}",
        refused
            .err()
            .context("baseline without a certificate succeeded")?
    );
    ensure!(
        message.contains("1045") || message.contains("Access denied"),
        "baseline without a certificate: {message}"
    );
    Ok(())
}
