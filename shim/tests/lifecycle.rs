//! Connection lifecycle as ProxySQL's pool drives it: COM_CHANGE_USER, COM_RESET_CONNECTION,
//! the monitor account, `max_connections`; and COM_FIELD_LIST as the mysql CLI sends it.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{ChangeUserOpts, Conn, Opts};
use support::*;

fn server_error(result: Result<impl std::fmt::Debug, mysql_async::Error>) -> (u16, String, String) {
    match result {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

async fn connect(server: &TestServer, user: &str, password: &str) -> Conn {
    let opts = Opts::from_url(&server.url(user, password, Some("shop"))).unwrap();
    Conn::new(opts).await.unwrap()
}

async fn database(conn: &mut Conn) -> Option<String> {
    conn.query_first::<Option<String>, _>("SELECT DATABASE()")
        .await
        .unwrap()
        .flatten()
}

#[tokio::test]
async fn change_user_reauthenticates_and_resets_the_session() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, USER, PASSWORD).await;
    conn.query_drop("SET time_zone = '+02:00', @@session.wait_timeout = 600")
        .await
        .unwrap();
    let statement = conn.prep("SELECT @@time_zone").await.unwrap();
    let opts = ChangeUserOpts::default()
        .with_user(Some("hashed".into()))
        .with_pass(Some("123456".into()))
        .with_db_name(None);
    conn.change_user(opts).await.unwrap();
    let user: Option<String> = conn.query_first("SELECT USER()").await.unwrap();
    assert_eq!(user.as_deref(), Some("hashed@127.0.0.1"));
    assert_eq!(database(&mut conn).await, None, "database reset");
    let zone: Option<String> = conn.query_first("SELECT @@time_zone").await.unwrap();
    assert_eq!(zone.as_deref(), Some("SYSTEM"), "variables reset");
    let wait: Option<i64> = conn.query_first("SELECT @@wait_timeout").await.unwrap();
    assert_eq!(
        wait,
        Some(28_800),
        "session values of system variables reset"
    );
    let (code, _, _) = server_error(conn.exec_drop(&statement, ()).await);
    assert_eq!(code, 1243, "prepared statements dropped");
}

#[tokio::test]
async fn change_user_with_a_wrong_password_is_refused() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, USER, PASSWORD).await;
    let opts = ChangeUserOpts::default().with_pass(Some("wrong".into()));
    let (code, state, _) = server_error(conn.change_user(opts).await);
    assert_eq!((code, state.as_str()), (1045, "28000"));
    let mut other = connect(&server, USER, PASSWORD).await;
    let opts = ChangeUserOpts::default().with_user(Some("mallory".into()));
    let (code, _, message) = server_error(other.change_user(opts).await);
    assert_eq!(
        (code, message.as_str()),
        (
            1045,
            "Access denied for user 'mallory'@'127.0.0.1' (using password: YES)"
        )
    );
}

#[tokio::test]
async fn change_user_into_a_schema_outside_allowed_schemas_is_1044() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, USER, PASSWORD).await;
    let opts = ChangeUserOpts::default()
        .with_user(Some("narrow".into()))
        .with_pass(Some("n".into()))
        .with_db_name(Some("Shop".into()));
    let (code, state, message) = server_error(conn.change_user(opts).await);
    assert_eq!((code, state.as_str()), (1044, "42000"));
    assert!(message.ends_with("to database 'Shop'"), "{message}");
    let mut other = connect(&server, USER, PASSWORD).await;
    let opts = ChangeUserOpts::default()
        .with_user(Some("narrow".into()))
        .with_pass(Some("n".into()))
        .with_db_name(Some("CRM".into()));
    other.change_user(opts).await.unwrap();
    let db: Option<String> = other.query_first("SELECT DATABASE()").await.unwrap();
    assert_eq!(db.as_deref(), Some("CRM"));
}

#[tokio::test]
async fn reset_connection_keeps_the_database_and_resets_variables() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, USER, PASSWORD).await;
    conn.query_drop("SET time_zone = '+02:00', sql_select_limit = 1, wait_timeout = 600")
        .await
        .unwrap();
    let limited: Vec<i64> = conn
        .query("SELECT id FROM _flashback.orders AS OF 'now' WHERE id IN (1, 2)")
        .await
        .unwrap();
    assert_eq!(limited, [1], "sql_select_limit caps the rows");
    assert!(conn.reset().await.unwrap(), "COM_RESET_CONNECTION used");
    let zone: Option<String> = conn.query_first("SELECT @@time_zone").await.unwrap();
    assert_eq!(zone.as_deref(), Some("SYSTEM"));
    let wait: Option<i64> = conn.query_first("SELECT @@wait_timeout").await.unwrap();
    assert_eq!(wait, Some(28_800));
    let all: Vec<i64> = conn
        .query("SELECT id FROM _flashback.orders AS OF 'now' WHERE id IN (1, 2)")
        .await
        .unwrap();
    assert_eq!(all, [1, 2], "sql_select_limit back to unlimited");
    assert_eq!(database(&mut conn).await.as_deref(), Some("shop"));
}

#[tokio::test]
async fn monitor_may_only_ping_read_only_and_set_wait_timeout() {
    let server = TestServer::start_with("monitor: { user: monitor, password: mon }\n").await;
    let mut conn = connect(&server, "monitor", "mon").await;
    conn.ping().await.unwrap();
    let read_only: Option<i64> = conn
        .query_first("SELECT @@global.read_only read_only")
        .await
        .unwrap();
    assert_eq!(read_only, Some(1));
    conn.query_drop("SET wait_timeout=2000").await.unwrap();
    let (code, state, _) = server_error(
        conn.query_drop("SELECT * FROM _flashback.orders AS OF 'now' WHERE id = 1")
            .await,
    );
    assert_eq!((code, state.as_str()), (1227, "42000"));
    let (code, _, _) = server_error(conn.query_drop("SET sql_mode = ''").await);
    assert_eq!(code, 1227);
    conn.ping().await.unwrap();

    let unconfigured = TestServer::start().await;
    let opts = Opts::from_url(&unconfigured.url("monitor", "mon", None)).unwrap();
    let (code, _, _) = server_error(Conn::new(opts).await);
    assert_eq!(code, 1045);
}

#[tokio::test]
async fn connections_past_the_limit_get_1040() {
    let server = TestServer::start_with("max_connections: 1\n").await;
    let first = connect(&server, USER, PASSWORD).await;
    let opts = Opts::from_url(&server.url(USER, PASSWORD, None)).unwrap();
    let (code, state, message) = server_error(Conn::new(opts).await);
    assert_eq!(
        (code, state.as_str(), message.as_str()),
        (1040, "HY000", "Too many connections")
    );
    first.disconnect().await.unwrap();
    let mut again = None;
    for _ in 0..50 {
        let opts = Opts::from_url(&server.url(USER, PASSWORD, None)).unwrap();
        if let Ok(conn) = Conn::new(opts).await {
            again = Some(conn);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "the slot is given back on disconnect");
}

/// Malformed commands (truncated COM_STMT_EXECUTE, length-encoded values longer than the
/// packet, unknown commands) each get an ERR; the connection and the prepared statement keep
/// working.
#[tokio::test]
async fn malformed_packets_get_an_err_and_the_connection_keeps_working() {
    let server = TestServer::start().await;
    let mut stream = raw::login(server.addr, "shop").await;
    let sql = "SELECT id FROM _flashback.orders AS OF ? WHERE id = ?";
    let id = raw::prepare(&mut stream, sql).await;
    let header = |id: u32| {
        let mut body = vec![0x17];
        body.extend_from_slice(&id.to_le_bytes());
        body.extend_from_slice(&[0x00, 1, 0, 0, 0]); // flags, iteration count 1
        body
    };
    // One NULL bitmap byte (two parameters), new-params-bound = 1, both VAR_STRING.
    let typed = |values: &[u8]| {
        let mut body = header(id);
        body.extend_from_slice(&[0x00, 0x01, 0xFD, 0x00, 0xFD, 0x00]);
        body.extend_from_slice(values);
        body
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("empty command packet", vec![], 1047),
        (
            "execute cut inside the statement id",
            vec![0x17, 1, 0],
            1047,
        ),
        (
            "execute cut after the statement id",
            header(id)[..5].to_vec(),
            0,
        ),
        ("execute without the NULL bitmap", header(id), 0),
        (
            "execute announcing types it does not carry",
            {
                let mut b = header(id);
                b.extend_from_slice(&[0x00, 0x01, 0xFD]);
                b
            },
            0,
        ),
        (
            "execute with a value longer than the packet",
            typed(&[0xFC, 0xFF, 0x00, b'a']),
            0,
        ),
        ("execute with one of two values", typed(b"\x03now"), 0),
        ("execute of an unknown statement", header(id + 100), 1243),
        ("unknown command", vec![0x50, 1, 2, 3], 1047),
    ];
    for (what, body, code) in cases {
        raw::write(&mut stream, 0, &body).await;
        let reply = tokio::time::timeout(Duration::from_secs(5), raw::read(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer"));
        assert_eq!(reply[0], 0xFF, "{what}: {reply:?}");
        if code != 0 {
            assert_eq!(u16::from_le_bytes([reply[1], reply[2]]), code, "{what}");
        }
        raw::write(&mut stream, 0, &[0x0E]).await;
        assert_eq!(
            raw::read(&mut stream).await[0],
            0x00,
            "{what}: ping after it"
        );
    }
    // The statement still runs with well-formed parameters (a string time, a BIGINT id): one
    // column, one row.
    let mut body = header(id);
    body.extend_from_slice(&[0x00, 0x01, 0xFD, 0x00, 0x08, 0x00]);
    body.extend_from_slice(b"\x132026-04-27 09:11:59");
    body.extend_from_slice(&44u64.to_le_bytes());
    raw::write(&mut stream, 0, &body).await;
    let packets = raw::result_set(&mut stream).await;
    assert_eq!(
        packets.len(),
        5,
        "column count, definition, EOF, row, EOF: {packets:?}"
    );
    assert_eq!(packets[0], [0x01]);
}

/// A raw protocol client: logs in with mysql_native_password, then sends COM_FIELD_LIST.
mod raw {
    use mysql_common::constants::CapabilityFlags;
    use mysql_common::io::ParseBuf;
    use mysql_common::packets::{AuthPlugin, Column, HandshakePacket, HandshakeResponse};
    use mysql_common::proto::MySerialize;
    use mysql_common::scramble::scramble_native;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub async fn read(stream: &mut TcpStream) -> Vec<u8> {
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).await.unwrap();
        let len =
            usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
        let mut payload = vec![0; len];
        stream.read_exact(&mut payload).await.unwrap();
        payload
    }

    pub async fn write(stream: &mut TcpStream, seq: u8, payload: &[u8]) {
        let len = payload.len() as u32;
        stream
            .write_all(&(len | u32::from(seq) << 24).to_le_bytes())
            .await
            .unwrap();
        stream.write_all(payload).await.unwrap();
    }

    /// Logs in (without CLIENT_DEPRECATE_EOF) and returns the stream in the command phase.
    pub async fn login(addr: std::net::SocketAddr, db: &str) -> TcpStream {
        let (stream, reply) = start(addr, db, false, super::PASSWORD).await;
        assert_eq!(reply[0], 0x00, "login OK");
        stream
    }

    /// Sends a HandshakeResponse (native or caching_sha2 scramble of `password`) and returns
    /// the server's first reply.
    pub async fn start(
        addr: std::net::SocketAddr,
        db: &str,
        sha2: bool,
        password: &str,
    ) -> (TcpStream, Vec<u8>) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let greeting = read(&mut stream).await;
        let handshake: HandshakePacket = ParseBuf(&greeting).parse(()).unwrap();
        let nonce = handshake.nonce();
        let (scramble, plugin) = if sha2 {
            let s = mysql_common::scramble::scramble_sha256(&nonce, password.as_bytes()).unwrap();
            (s.to_vec(), AuthPlugin::CachingSha2Password)
        } else {
            let s = scramble_native(&nonce, password.as_bytes()).unwrap();
            (s.to_vec(), AuthPlugin::MysqlNativePassword)
        };
        let caps = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_CONNECT_WITH_DB;
        let response = HandshakeResponse::new(
            Some(scramble),
            (8, 0, 35),
            Some(super::USER.as_bytes()),
            Some(db.as_bytes()),
            Some(plugin),
            caps,
            None,
            1 << 24,
        );
        let mut buf = Vec::new();
        response.serialize(&mut buf);
        write(&mut stream, 1, &buf).await;
        let reply = read(&mut stream).await;
        (stream, reply)
    }

    /// COM_STMT_PREPARE of `sql`; returns the statement id after reading the parameter and
    /// column definitions (each list followed by an EOF when not empty).
    pub async fn prepare(stream: &mut TcpStream, sql: &str) -> u32 {
        let mut body = vec![0x16];
        body.extend_from_slice(sql.as_bytes());
        write(stream, 0, &body).await;
        let ok = read(stream).await;
        assert_eq!(ok[0], 0x00, "prepare OK: {ok:?}");
        let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
        let columns = u16::from_le_bytes([ok[5], ok[6]]);
        let params = u16::from_le_bytes([ok[7], ok[8]]);
        for count in [params, columns] {
            for _ in 0..count {
                read(stream).await;
            }
            if count > 0 {
                assert_eq!(read(stream).await[0], 0xFE, "EOF after definitions");
            }
        }
        id
    }

    /// Every packet of a result set (without CLIENT_DEPRECATE_EOF): up to the second EOF, or
    /// the ERR that replaces it.
    pub async fn result_set(stream: &mut TcpStream) -> Vec<Vec<u8>> {
        let mut packets = Vec::new();
        let mut eofs = 0;
        while eofs < 2 {
            let packet = read(stream).await;
            let end = packet[0] == 0xFF;
            if packet[0] == 0xFE && packet.len() < 9 {
                eofs += 1;
            }
            packets.push(packet);
            if end {
                break;
            }
        }
        packets
    }

    /// Sends COM_FIELD_LIST and returns the column definitions, or the ERR payload.
    pub async fn field_list(stream: &mut TcpStream, table: &str) -> Result<Vec<Column>, Vec<u8>> {
        let mut body = vec![0x04];
        body.extend_from_slice(table.as_bytes());
        body.push(0);
        write(stream, 0, &body).await;
        let mut columns = Vec::new();
        loop {
            let packet = read(stream).await;
            match packet[0] {
                0xFF => return Err(packet),
                0xFE if packet.len() < 9 => return Ok(columns),
                _ => columns.push(ParseBuf(&packet).parse(()).unwrap()),
            }
        }
    }
}

#[tokio::test]
async fn field_list_answers_column_definitions() {
    let server = TestServer::start().await;
    let mut stream = raw::login(server.addr, "shop").await;
    let columns = raw::field_list(&mut stream, "orders").await.unwrap();
    let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
    assert_eq!(names[..3], ["id", "total", "big"]);
    assert!(columns.iter().all(|c| c.column_length() > 0));
    let err = raw::field_list(&mut stream, "nope").await.unwrap_err();
    assert_eq!(u16::from_le_bytes([err[1], err[2]]), 1146);
}

#[tokio::test]
async fn information_schema_through_the_wire() {
    let server = TestServer::start().await;
    let mut conn = connect(&server, USER, PASSWORD).await;
    let names: Vec<(String, String)> = conn
        .query("SELECT TABLE_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = database() AND COLUMN_KEY = 'PRI'")
        .await
        .unwrap();
    assert_eq!(names, vec![("orders".to_owned(), "int".to_owned())]);
}

/// A client that starts with caching_sha2_password (MySQL 8/9 default) gets the fast path:
/// AuthMoreData 0x03, then OK; a wrong password gets 1045.
#[tokio::test]
async fn caching_sha2_fast_auth() {
    let server = TestServer::start().await;
    let (mut stream, reply) = raw::start(server.addr, "shop", true, PASSWORD).await;
    assert_eq!(reply, [0x01, 0x03], "fast auth success");
    assert_eq!(raw::read(&mut stream).await[0], 0x00, "then OK");
    let columns = raw::field_list(&mut stream, "orders").await.unwrap();
    assert!(!columns.is_empty());
    let (_, reply) = raw::start(server.addr, "shop", true, "wrong").await;
    assert_eq!(
        (reply[0], u16::from_le_bytes([reply[1], reply[2]])),
        (0xFF, 1045)
    );
}
