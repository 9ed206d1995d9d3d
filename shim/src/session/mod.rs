//! One client connection: the connection phase ([`handshake`]), then the command phase, one
//! command at a time. Every command failure is an ERR packet and the connection stays open;
//! only socket errors and COM_QUIT end it.

mod auth;
pub mod codec;
mod handshake;
mod packets;
mod query;

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::BufMutExt;
use mysql_common::packets::Column;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tracing::{debug, info};

use self::codec::{CodecError, Packet, PacketDecoder, PacketWriter};
use self::handshake::HandshakeError;
use crate::chatter::SessionState;
use crate::encode::write_column_definition;
use crate::error::MysqlError;
use crate::server::{Shared, Tenant};

pub use self::handshake::server_capabilities;

/// Runs a connection to completion.
pub async fn run(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, connection_id: u32) {
    let (read_half, write_half) = stream.into_split();
    let mut reader = FramedRead::new(read_half, PacketDecoder::default());
    let mut writer = PacketWriter::new(write_half);
    let auth =
        match handshake::handshake(&mut reader, &mut writer, &shared, connection_id, peer).await {
            Ok(auth) => auth,
            Err(HandshakeError::Refused(e)) => {
                return info!(code = e.code, error = %e.message, "login refused")
            }
            Err(HandshakeError::Io(e)) => return debug!(error = %e, "handshake aborted"),
        };
    info!(user = %auth.user, "login");
    let mut state = SessionState::new(
        auth.user,
        peer.ip().to_string(),
        connection_id,
        shared.default_time_zone,
    );
    state.database = auth.database;
    let mut session = Session {
        reader,
        writer,
        pending: None,
        caps: auth.capabilities,
        tenant: auth.tenant,
        state,
    };
    if let Err(e) = session.command_loop().await {
        debug!(error = %e, "connection ended");
    }
}

/// The command phase of one connection.
pub(crate) struct Session {
    reader: FramedRead<OwnedReadHalf, PacketDecoder>,
    writer: PacketWriter<OwnedWriteHalf>,
    /// A packet read while a backend call was in flight (pipelining), served next.
    pending: Option<Packet>,
    caps: CapabilityFlags,
    tenant: Arc<Tenant>,
    state: SessionState,
}

/// COM_* command bytes (MySQL Client/Server Protocol, "Text Protocol").
mod command {
    pub const QUIT: u8 = 0x01;
    pub const INIT_DB: u8 = 0x02;
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const PING: u8 = 0x0e;
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
                continue;
            };
            if cmd == command::QUIT {
                return Ok(());
            }
            self.state.warnings.clear();
            self.dispatch(cmd, body).await?;
            self.writer.flush().await?;
        }
    }

    async fn next_packet(&mut self) -> Result<Option<Packet>, CodecError> {
        if let Some(packet) = self.pending.take() {
            return Ok(Some(packet));
        }
        self.reader.next().await.transpose()
    }

    async fn dispatch(&mut self, cmd: u8, body: &[u8]) -> std::io::Result<()> {
        match cmd {
            command::QUERY => self.query(body).await,
            command::INIT_DB => {
                self.state.database = Some(String::from_utf8_lossy(body).into_owned());
                self.send_ok().await
            }
            command::PING => self.send_ok().await,
            command::RESET_CONNECTION => {
                self.state.reset();
                self.send_ok().await
            }
            command::FIELD_LIST | command::SET_OPTION => self.send_end_of_rows(0).await,
            other => self.send_err(&MysqlError::unknown_command(other)).await,
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

    async fn send_err(&mut self, error: &MysqlError) -> std::io::Result<()> {
        info!(code = error.code, state = error.state_str(), error = %error.message, "query failed");
        self.writer.write(&packets::err(error)).await
    }

    async fn send_end_of_rows(&mut self, warnings: u16) -> std::io::Result<()> {
        let end = packets::end_of_rows(self.caps, self.status(), warnings);
        self.writer.write(&end).await
    }

    /// Column count, column definitions and (without CLIENT_DEPRECATE_EOF) the EOF after them.
    async fn send_columns(&mut self, columns: &[Column]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        buf.put_lenenc_int(columns.len() as u64);
        self.writer.write(&buf).await?;
        for column in columns {
            buf.clear();
            write_column_definition(column, &mut buf);
            self.writer.write(&buf).await?;
        }
        if !self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
            self.writer.write(&packets::eof(self.status(), 0)).await?;
        }
        Ok(())
    }
}
