//! One client connection: the connection phase (`handshake`, `transport`), then the command phase, one
//! command at a time. Every command failure is an ERR packet and the connection stays open;
//! only socket errors, COM_QUIT and a failed COM_CHANGE_USER end it.
//!
//! Commands by file: COM_QUERY in `query`, COM_STMT_* in `prepare` (statements kept in
//! `statements`), COM_CHANGE_USER / COM_RESET_CONNECTION / COM_SET_OPTION / COM_FIELD_LIST in
//! `lifecycle`.

mod auth;
mod catalog;
pub mod codec;
mod definitions;
pub mod denials;
mod handshake;
pub mod kill;
mod lifecycle;
mod packets;
mod prepare;
mod query;
mod read;
mod snapshot;
mod statements;
mod transport;

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::BufMutExt;
use mysql_common::packets::Column;
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use self::codec::{CodecError, Packet, PacketWriter};
use self::definitions::DefinitionCache;
use self::handshake::HandshakeError;
use self::statements::Statements;
use self::transport::{Reader, Writer};
use crate::charset::ClientCharset;
use crate::chatter::SessionState;
use crate::encode::{for_results, write_column_definition};
use crate::error::{ClientFamily, MysqlError};
use crate::server::{Account, Connecting, Shared, Tenant};

pub use self::handshake::server_capabilities;

/// Runs a connection to completion: the connection phase under `connect_timeout` (and closed
/// early when `connecting` is evicted by newer connections), then, with one of
/// `max_connections` places, the command phase.
pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    connection_id: u32,
    connecting: Connecting,
) {
    let handshake = handshake::connect(stream, &shared, connection_id, peer);
    let ended = tokio::select! {
        ended = tokio::time::timeout(shared.connect_timeout, handshake) => ended.ok(),
        () = connecting.evicted.notified() => None,
    };
    drop(connecting);
    let now = std::time::Instant::now();
    let (mut reader, writer, auth) = match ended {
        Some(Ok(opened)) => opened,
        Some(Err(HandshakeError::Refused(e))) => {
            // Failed logins are throttled in `handshake`; other refusals are connection errors.
            if !matches!(e.code, 1044 | 1045) && shared.hosts.connect_error(peer.ip(), now) {
                info!(%peer, "host blocked after max_connect_errors connection errors");
            }
            return info!(code = e.code, error = %e.message, "login refused");
        }
        Some(Err(HandshakeError::Io(e))) => {
            if shared.hosts.connect_error(peer.ip(), now) {
                info!(%peer, "host blocked after max_connect_errors connection errors");
            }
            return debug!(error = %e, "handshake aborted");
        }
        None => {
            if shared.hosts.connect_error(peer.ip(), now) {
                info!(%peer, "host blocked after max_connect_errors connection errors");
            }
            return debug!("connection phase timed out or was evicted");
        }
    };
    shared.hosts.logged_in(peer.ip());
    let Some(_slot) = shared.session_slot() else {
        warn!(max = shared.max_connections, "too many connections");
        let mut writer = writer;
        let error = MysqlError::too_many_connections();
        if writer.write(&packets::err(&error)).await.is_ok() {
            let _ = writer.flush().await;
        }
        return;
    };
    reader.decoder_mut().set_limit(codec::MAX_ALLOWED_PACKET);
    // Monitor sessions come every few seconds per ProxySQL: debug only (proxysql/README.md).
    let monitor = matches!(auth.account, Account::Monitor);
    if monitor {
        debug!(user = %auth.user, "monitor login");
    } else {
        info!(user = %auth.user, "login");
    }
    let handle = shared.sessions.register(connection_id, &auth.user);
    let _registered = Unregister(Arc::clone(&shared), connection_id);
    let mut state = SessionState::new(
        auth.user,
        peer.ip().to_string(),
        connection_id,
        shared.default_time_zone.clone(),
    );
    state.database = auth.database;
    state.set_handshake_charset(ClientCharset::from_handshake(auth.collation.into()));
    state.tls_configured = shared.tls.is_some();
    let mut session = Session {
        reader,
        writer,
        pending: None,
        caps: auth.capabilities,
        client: auth.client,
        account: auth.account,
        state,
        statements: Statements::default(),
        definitions: DefinitionCache::default(),
        shared,
        salt: auth.salt,
        handle,
    };
    if let Err(e) = session.command_loop().await {
        debug!(error = %e, "connection ended");
    }
    if monitor {
        debug!("connection closed");
    } else {
        info!("connection closed");
    }
}

/// Takes a session out of the `KILL` registry when it ends.
struct Unregister(Arc<Shared>, u32);

impl Drop for Unregister {
    fn drop(&mut self) {
        self.0.sessions.remove(self.1);
    }
}

/// The command phase of one connection.
pub(crate) struct Session {
    reader: Reader,
    writer: Writer,
    /// A packet read while a backend call was in flight (pipelining), served next.
    pending: Option<Packet>,
    caps: CapabilityFlags,
    /// The client library (libmariadb cannot read client-range error codes).
    client: ClientFamily,
    /// Who is logged in (changes with COM_CHANGE_USER).
    account: Account,
    state: SessionState,
    /// Prepared statements of this connection.
    statements: Statements,
    /// Encoded column definitions of recent time-travel results.
    definitions: DefinitionCache,
    shared: Arc<Shared>,
    /// The salt of the last successful authentication.
    salt: [u8; 20],
    /// This session in the `KILL` registry.
    handle: Arc<kill::Handle>,
}

/// Answers a connection with `error` in place of the handshake (1040 over `max_connections`,
/// 1129 for a blocked host).
pub async fn refuse(stream: TcpStream, error: MysqlError) {
    let mut writer = PacketWriter::new(stream);
    if writer.write(&packets::err_pre41(&error)).await.is_ok() {
        let _ = writer.flush().await;
    }
}

/// COM_* command bytes (MySQL Client/Server Protocol, "Text Protocol").
mod command {
    pub const QUIT: u8 = 0x01;
    pub const INIT_DB: u8 = 0x02;
    pub const CHANGE_USER: u8 = 0x11;
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const PING: u8 = 0x0e;
    pub const STMT_PREPARE: u8 = 0x16;
    pub const STMT_EXECUTE: u8 = 0x17;
    pub const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub const STMT_CLOSE: u8 = 0x19;
    pub const STMT_RESET: u8 = 0x1a;
    pub const SET_OPTION: u8 = 0x1b;
    pub const RESET_CONNECTION: u8 = 0x1f;
}

impl Session {
    async fn command_loop(&mut self) -> std::io::Result<()> {
        loop {
            let packet = match self.next_packet().await {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(CodecError::TooLarge) => {
                    self.writer
                        .write(&packets::err(&MysqlError::packet_too_large()))
                        .await?;
                    return self.writer.flush().await;
                }
                Err(CodecError::Io(e)) => return Err(e),
            };
            self.writer.seq = packet.seq.wrapping_add(1);
            let Some((&cmd, body)) = packet.payload.split_first() else {
                self.send_err(&MysqlError::malformed_packet("empty command packet"))
                    .await?;
                self.writer.flush().await?;
                continue;
            };
            if cmd == command::QUIT {
                return Ok(());
            }
            self.dispatch(cmd, body).await?;
            self.writer.flush().await?;
            if self.handle.killed().is_cancelled() {
                return Ok(());
            }
        }
    }

    /// The next command; `None` when the client hung up or the connection was killed.
    async fn next_packet(&mut self) -> Result<Option<Packet>, CodecError> {
        if let Some(packet) = self.pending.take() {
            return Ok(Some(packet));
        }
        let killed = self.handle.killed().clone();
        tokio::select! {
            next = self.reader.next() => next.transpose(),
            () = killed.cancelled() => Ok(None),
        }
    }

    async fn dispatch(&mut self, cmd: u8, body: &[u8]) -> std::io::Result<()> {
        let monitor_may = matches!(
            cmd,
            command::QUERY | command::PING | command::INIT_DB | command::CHANGE_USER
        );
        if matches!(self.account, Account::Monitor) && !monitor_may {
            return self.send_err(&MysqlError::monitor_denied()).await;
        }
        match cmd {
            command::QUERY => self.query(body).await,
            command::INIT_DB => {
                let db = self.state.client_charset.decode(body).into_owned();
                match self.check_use(&db).await {
                    Ok(()) => {
                        self.state.database = Some(db);
                        self.send_ok().await
                    }
                    Err(query::Failure::Mysql(e)) => self.send_err(&e).await,
                    Err(query::Failure::Disconnected) => {
                        Err(std::io::ErrorKind::ConnectionAborted.into())
                    }
                }
            }
            command::PING => self.send_ok().await,
            command::STMT_PREPARE => self.stmt_prepare(body).await,
            command::STMT_EXECUTE => self.stmt_execute(body).await,
            command::STMT_SEND_LONG_DATA => {
                self.stmt_send_long_data(body);
                Ok(())
            }
            command::STMT_CLOSE => {
                self.stmt_close(body);
                Ok(())
            }
            command::STMT_RESET => self.stmt_reset(body).await,
            command::RESET_CONNECTION => {
                self.state.reset();
                self.statements.clear();
                self.send_ok().await
            }
            command::CHANGE_USER => self.change_user(body).await,
            command::SET_OPTION => self.set_option(body).await,
            command::FIELD_LIST => self.field_list(body).await,
            other => self.send_err(&MysqlError::unknown_command(other)).await,
        }
    }

    /// The tenant whose source this session reads; the monitor has none.
    fn tenant(&self) -> Result<Arc<Tenant>, MysqlError> {
        match &self.account {
            Account::Tenant(tenant) => Ok(Arc::clone(tenant)),
            Account::Monitor => Err(MysqlError::monitor_denied()),
        }
    }

    fn status(&self) -> StatusFlags {
        if self.state.autocommit {
            StatusFlags::SERVER_STATUS_AUTOCOMMIT
        } else {
            StatusFlags::empty()
        }
    }

    fn warning_count(&self) -> u16 {
        u16::try_from(self.state.warnings.len()).unwrap_or(u16::MAX)
    }

    async fn send_ok(&mut self) -> std::io::Result<()> {
        let ok = packets::ok(self.status(), self.warning_count(), "");
        self.writer.write(&ok).await
    }

    /// An ERR packet, its message in `character_set_results` as MySQL sends it.
    async fn send_err(&mut self, error: &MysqlError) -> std::io::Result<()> {
        info!(code = error.code, state = error.state_str(), error = %error.message, "query failed");
        let error = error.for_client(self.client);
        let message = match self.state.results() {
            Some(results) => results.encode(&error.message),
            None => std::borrow::Cow::Borrowed(error.message.as_bytes()),
        };
        let packet = packets::err_with_message(&error, &message);
        self.writer.write(&packet).await
    }

    async fn send_end_of_rows(&mut self, warnings: u16) -> std::io::Result<()> {
        let end = packets::end_of_rows(self.caps, self.status(), warnings);
        self.writer.write(&end).await
    }

    /// Column count, column definitions and (without CLIENT_DEPRECATE_EOF) the EOF after them.
    async fn send_columns(&mut self, columns: &[Column]) -> std::io::Result<()> {
        let packets: Vec<Vec<u8>> = (columns.iter())
            .map(|column| {
                let mut buf = Vec::new();
                self.write_definition(column, &mut buf);
                buf
            })
            .collect();
        self.send_column_packets(&packets).await
    }

    /// Serializes `column` as this session's client reads it (names and text charset in
    /// `character_set_results`, [`for_results`]).
    fn write_definition(&self, column: &Column, buf: &mut Vec<u8>) {
        write_column_definition(&for_results(column, self.state.results()), buf);
    }

    /// The column count, the serialized column definitions (one packet payload each) and the
    /// EOF that ends them when the client still expects it.
    async fn send_column_packets(&mut self, packets: &[Vec<u8>]) -> std::io::Result<()> {
        let mut count = Vec::with_capacity(9);
        count.put_lenenc_int(packets.len() as u64);
        self.writer.write(&count).await?;
        for packet in packets {
            self.writer.write(packet).await?;
        }
        if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.writer.write(&packets::eof(self.status(), 0)).await?;
        }
        Ok(())
    }
}
