//! The `mariadb` command-line client against the shim (needs Debian's `mariadb-client`).

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::*;

const CLIENT: &str = "/usr/bin/mariadb";

fn run(server: &TestServer, args: &[&str]) -> std::process::Output {
    let port = server.addr.port().to_string();
    let output = Command::new(CLIENT)
        .args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port, "-u", USER])
        .arg(format!("-p{PASSWORD}"))
        .args(["--skip-ssl", "--batch"])
        .args(args)
        .output()
        .expect("run mariadb");
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_cli_reads_a_flashback_row() {
    assert!(
        std::path::Path::new(CLIENT).exists(),
        "{CLIENT} is missing: install mariadb-client (integration/test.sh does)"
    );
    let server = TestServer::start().await;
    let out = tokio::task::spawn_blocking(move || {
        let out = run(
            &server,
            &[
                "-D",
                "shop",
                "-e",
                "select @@version_comment limit 1; SELECT id, note, big, created FROM _flashback.orders AS OF '2026-04-27 09:11:59' WHERE id IN (42, 44);",
            ],
        );
        let err = run(&server, &["-D", "shop", "-e", "SELECT * FROM _flashback.orders AS OF 'now' WHERE note = 'x'"]);
        (out, err)
    })
    .await
    .expect("join");
    let (out, err) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("42\tNULL\t18446744073709551615\t2026-04-27 09:11:58.123456"),
        "{stdout}"
    );
    assert!(
        stdout.contains("44\torder 44\t18446744073709551615"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(!err.status.success());
    assert!(
        stderr.contains("ERROR 1064 (HY000)")
            && stderr.contains("dbtrail-shim: time-travel queries require a PK predicate"),
        "{stderr}"
    );
}
