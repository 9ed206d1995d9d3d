//! The shim under hostile or stuck peers, through real sockets and a real client (mysql_async)
//! with a fake backend: statements too complex to parse safely, sockets that never log in,
//! oversized pre-auth packets, failed-handshake floods, password guessing, `KILL`.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect_as(server: &TestServer, user: &str, password: &str) -> Conn {
    let opts = Opts::from_url(&server.url(user, password, Some("shop"))).unwrap();
    Conn::new(opts).await.expect("connect")
}

fn server_error(result: Result<impl std::fmt::Debug, mysql_async::Error>) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

/// One packet's payload from a raw socket.
async fn read_packet(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await?;
    Ok(payload)
}

/// Reads until the server closes the socket; how long that took.
async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server kept the socket open past {limit:?}"),
        }
    }
}

fn chain(first: &str, op: &str, term: &str, terms: usize) -> String {
    let mut sql = first.to_owned();
    for i in 0..terms {
        if i > 0 {
            sql.push_str(op);
        }
        sql.push_str(term);
    }
    sql
}

/// `SELECT 1 + 1 + … + 1` with 6,000 terms (24 KB) and 8,000 ANDed equalities overflowed a
/// worker stack and aborted the process; now both are a 1064 and the shim serves on.
#[tokio::test]
async fn long_flat_chains_answer_1064_and_the_shim_survives() {
    let server = TestServer::start().await;
    let mut conn = connect_as(&server, USER, PASSWORD).await;
    let statements = [
        chain("SELECT ", " + ", "1", 6000),
        chain(
            "SELECT * FROM _flashback.orders AS OF '2026-04-27 09:00' WHERE ",
            " AND ",
            "id = 1",
            8000,
        ),
    ];
    for sql in &statements {
        let (code, state, message) = server_error(conn.query_drop(sql).await);
        assert_eq!((code, state.as_str()), (1064, "42000"), "{message}");
        assert!(message.contains("too complex"), "{message}");
        let one: Option<i64> = conn.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1), "the same connection still answers");
        // Through the prepared-statement path too.
        let (code, _, _) = server_error(conn.prep(sql).await);
        assert_eq!(code, 1064);
    }
    let mut other = connect_as(&server, USER, PASSWORD).await;
    other.ping().await.unwrap();
}

/// A socket that connects and never answers the greeting is closed after `connect_timeout`.
#[tokio::test]
async fn idle_sockets_are_closed_after_connect_timeout() {
    let server = TestServer::start_with("connect_timeout: 1s\n").await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let greeting = read_packet(&mut idle).await.unwrap();
    assert_eq!(greeting[0], 10, "protocol version 10 greeting");
    let waited = closed_after(&mut idle, Duration::from_secs(5)).await;
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
}

/// A header announcing a 16 MiB handshake response is answered with 1153 at once, before any of
/// its payload is sent or buffered.
#[tokio::test]
async fn a_16_mib_pre_auth_header_is_refused_without_buffering() {
    let server = TestServer::start().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    read_packet(&mut stream).await.unwrap();
    let started = Instant::now();
    stream.write_all(&[0xff, 0xff, 0xff, 1]).await.unwrap();
    let err = read_packet(&mut stream).await.unwrap();
    assert_eq!(err[0], 0xff, "an ERR packet");
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1153);
    closed_after(&mut stream, Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    // A response just over the pre-auth limit inside TLS-less framing is refused too.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    read_packet(&mut stream).await.unwrap();
    let len: u32 = 16 * 1024 + 1;
    stream
        .write_all(&(len | 1 << 24).to_le_bytes())
        .await
        .unwrap();
    let err = read_packet(&mut stream).await.unwrap();
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1153);
}

/// 1,000 sockets that never log in (as many as `max_connections`) do not lock out a real user:
/// they are counted apart from logged-in sessions, and the oldest gives way to a newcomer.
#[tokio::test]
async fn a_thousand_idle_sockets_do_not_lock_out_a_real_user() {
    let server = TestServer::start_with("max_connections: 1000\n").await;
    let mut idle = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        read_packet(&mut stream).await.unwrap();
        idle.push(stream);
    }
    let started = Instant::now();
    let mut conn = connect_as(&server, USER, PASSWORD).await;
    let one: Option<i64> = conn.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    // The newcomer took the place of the oldest idle socket, which was closed.
    closed_after(&mut idle[0], Duration::from_secs(2)).await;
}

/// After `max_connect_errors` consecutive connection phases that end without a login, the address
/// is refused with 1129 before the greeting; logged-in sessions are not affected.
#[tokio::test]
async fn failed_handshake_floods_block_the_host_with_1129() {
    let server = TestServer::start_with("max_connect_errors: 3\n").await;
    let mut conn = connect_as(&server, USER, PASSWORD).await;
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        read_packet(&mut stream).await.unwrap();
        // A handshake response that is not one.
        stream.write_all(&[1, 0, 0, 1, 0xee]).await.unwrap();
        closed_after(&mut stream, Duration::from_secs(2)).await;
    }
    let opts = Opts::from_url(&server.url(USER, PASSWORD, None)).unwrap();
    let (code, _, message) = server_error(Conn::new(opts).await);
    assert_eq!(code, 1129, "{message}");
    assert!(
        message.starts_with("Host '127.0.0.1' is blocked because of many connection errors"),
        "{message}"
    );
    conn.ping().await.unwrap();
}

/// Failed logins from one address are answered later and later (and checked one at a time),
/// so guessing passwords is slow; a wrong password and an unknown user look alike.
#[tokio::test]
async fn failed_logins_back_off() {
    let server = TestServer::start().await;
    let mut times = Vec::new();
    for user in [USER, "nobody", USER] {
        let opts = Opts::from_url(&server.url(user, "guess", None)).unwrap();
        let started = Instant::now();
        let (code, _, _) = server_error(Conn::new(opts).await);
        assert_eq!(code, 1045);
        times.push(started.elapsed());
    }
    assert!(times[0] >= Duration::from_millis(200), "{times:?}");
    assert!(times[1] >= Duration::from_millis(400), "{times:?}");
    assert!(times[2] >= Duration::from_millis(800), "{times:?}");
    // Parallel guesses wait for each other: four more take at least 1.6 + 3 + 3 + 3 s in all
    // (capped at 3 s each); two seconds is enough to show they are not parallel.
    let started = Instant::now();
    let guesses = (0..2).map(|_| {
        let opts = Opts::from_url(&server.url(USER, "guess", None)).unwrap();
        tokio::spawn(async move { Conn::new(opts).await.map(|_| ()) })
    });
    for guess in guesses.collect::<Vec<_>>() {
        assert!(guess.await.unwrap().is_err());
    }
    assert!(started.elapsed() >= Duration::from_millis(1600 + 2900));
    // The right password still gets in (after its turn), and resets the backoff.
    let mut conn = connect_as(&server, USER, PASSWORD).await;
    conn.ping().await.unwrap();
    let opts = Opts::from_url(&server.url(USER, "guess", None)).unwrap();
    let started = Instant::now();
    server_error(Conn::new(opts).await);
    assert!(started.elapsed() < Duration::from_millis(700));
}

async fn connection_id(conn: &mut Conn) -> u64 {
    conn.query_first("SELECT CONNECTION_ID()")
        .await
        .unwrap()
        .unwrap()
}

/// `CONNECTION_ID()` is the thread id of the handshake; `KILL QUERY` from a second connection
/// interrupts a running `_snapshot` stream (1317) and drops the stream from the backend; the
/// killed connection keeps working.
#[tokio::test]
async fn kill_query_stops_a_running_snapshot_stream() {
    let server = TestServer::start().await;
    let mut victim = connect_as(&server, USER, PASSWORD).await;
    let id = connection_id(&mut victim).await;
    assert_eq!(
        id,
        u64::from(victim.id()),
        "CONNECTION_ID() = handshake thread id"
    );
    let sql = format!(
        "SELECT id FROM _snapshot.orders AS OF '2026-04-27 09:00' WHERE id >= {ID_ENDLESS}"
    );
    let running = tokio::spawn(async move {
        let started = Instant::now();
        let result = victim.query_iter(sql).await;
        let outcome = match result {
            Ok(mut rows) => rows.collect::<mysql_async::Row>().await.map(|r| r.len()),
            Err(e) => Err(e),
        };
        (outcome, started.elapsed(), victim)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut killer = connect_as(&server, USER, PASSWORD).await;
    killer.query_drop(format!("KILL QUERY {id}")).await.unwrap();
    let (outcome, took, mut victim) = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the stream stops")
        .unwrap();
    let (code, state, message) = server_error(outcome);
    assert_eq!(
        (code, state.as_str(), message.as_str()),
        (1317, "70100", "Query execution was interrupted")
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(server.backend.endless_dropped.load(Ordering::SeqCst));
    let one: Option<i64> = victim.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1), "KILL QUERY leaves the connection open");
}

/// KILL of another user's thread is 1095, of an unknown id 1094; `KILL <id>` of one's own other
/// connection closes it.
#[tokio::test]
async fn kill_rules() {
    let server = TestServer::start().await;
    let mut mine = connect_as(&server, USER, PASSWORD).await;
    let mut other_user = connect_as(&server, "wide", "w").await;
    let theirs = connection_id(&mut other_user).await;
    let (code, state, message) = server_error(mine.query_drop(format!("KILL {theirs}")).await);
    assert_eq!((code, state.as_str()), (1095, "HY000"));
    assert_eq!(message, format!("You are not owner of thread {theirs}"));
    let (code, _, message) = server_error(mine.query_drop(format!("KILL QUERY {theirs}")).await);
    assert_eq!(code, 1095, "{message}");
    let (code, _, message) = server_error(mine.query_drop("KILL 4000000").await);
    assert_eq!(
        (code, message.as_str()),
        (1094, "Unknown thread id: 4000000")
    );
    other_user.ping().await.unwrap();

    let mut second = connect_as(&server, USER, PASSWORD).await;
    let second_id = connection_id(&mut second).await;
    mine.query_drop(format!("KILL CONNECTION {second_id}"))
        .await
        .unwrap();
    assert!(
        second.ping().await.is_err(),
        "the killed connection is closed"
    );
    mine.ping().await.unwrap();
}

/// A stand-in for an agent that accepts connections and then stops answering, as agent-core
/// under SIGSTOP does (the kernel still completes TCP handshakes): `GET /v1/tables` is answered
/// when `tables` is set, every other request hangs.
async fn stuck_agent(tables: bool) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let head = String::from_utf8_lossy(&seen).into_owned();
                    if !head.contains("\r\n\r\n") {
                        continue;
                    }
                    if !(tables && head.starts_with("GET /v1/tables")) {
                        // Hold the connection, never answer.
                        std::future::pending::<()>().await;
                    }
                    seen.clear();
                    let body =
                        serde_json::json!({ "success": true, "tables": [orders()] }).to_string();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// With the agent stopped, queries fail with 2002 within `agent_timeout` (the metadata call
/// over reqwest, the flashback call over the keep-alive pool, a snapshot stream), and the
/// connection stays usable.
#[tokio::test]
async fn a_stuck_agent_fails_queries_within_agent_timeout() {
    for tables in [false, true] {
        let agent = stuck_agent(tables).await;
        let yaml = format!(
            "listen: 127.0.0.1:0\nagent_url: http://{agent}\nagent_timeout: 1s\ntenants:\n  - {{ mysql_user: {USER}, mysql_password: {PASSWORD}, server_id: 7 }}\n"
        );
        let config = dbtrail_shim::config::Config::from_yaml(&yaml, &|_| None).unwrap();
        let shared = dbtrail_shim::server::Shared::from_config(&config).unwrap();
        let server = dbtrail_shim::server::Server::bind(config.listen_addr().unwrap(), shared)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.serve());
        let url = format!("mysql://{USER}:{PASSWORD}@{addr}/shop?prefer_socket=false");
        let mut conn = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
        for sql in [
            "SELECT * FROM _flashback.orders AS OF '2026-04-27 09:00' WHERE id = 1",
            "SELECT * FROM _snapshot.orders AS OF '2026-04-27 09:00'",
        ] {
            let started = Instant::now();
            let (code, _, message) = server_error(conn.query_drop(sql).await);
            let took = started.elapsed();
            assert_eq!(code, 2002, "{message}");
            assert!(took < Duration::from_secs(4), "{sql}: {took:?}");
        }
        let one: Option<i64> = conn.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
    }
}
