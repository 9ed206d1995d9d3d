//! Connection phase: Handshake v10, the client's HandshakeResponse41, an AuthSwitchRequest to
//! `mysql_native_password` when the client started with another plugin, then OK or ERR.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use rand::Rng;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::FramedRead;

use super::auth::verify_native;
use super::codec::{Packet, PacketDecoder, PacketWriter};
use super::packets;
use crate::chatter::SERVER_VERSION;
use crate::error::MysqlError;
use crate::server::{Shared, Tenant};

/// Capabilities the shim offers; the session uses the intersection with the client's.
pub fn server_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_FOUND_ROWS
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_INTERACTIVE
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
}

/// Collation announced in the handshake: 255 `utf8mb4_0900_ai_ci`.
const SERVER_COLLATION: u8 = 255;
const NATIVE: &[u8] = b"mysql_native_password";

/// A client that passed authentication.
pub struct Authenticated {
    /// MySQL user name.
    pub user: String,
    /// Its tenant.
    pub tenant: Arc<Tenant>,
    /// Negotiated capabilities.
    pub capabilities: CapabilityFlags,
    /// Database named in the handshake response.
    pub database: Option<String>,
}

/// Why the connection phase ended without a session.
#[derive(Debug)]
pub enum HandshakeError {
    /// Socket error or the client went away.
    Io(std::io::Error),
    /// Refused; the ERR packet was sent.
    Refused(MysqlError),
}

impl From<std::io::Error> for HandshakeError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

type Reader = FramedRead<OwnedReadHalf, PacketDecoder>;

/// Runs the connection phase; on success the OK packet has been sent and flushed.
pub async fn handshake<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
    shared: &Shared,
    connection_id: u32,
    peer: SocketAddr,
) -> Result<Authenticated, HandshakeError> {
    let salt = salt();
    writer.seq = 0;
    writer.write(&greeting(&salt, connection_id)).await?;
    writer.flush().await?;
    let packet = read(reader, writer).await?;
    let response = match ParseBuf(&packet.payload).parse::<HandshakeResponse>(()) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                writer,
                MysqlError::malformed_packet(format!("handshake response: {e}")),
            )
            .await
        }
    };
    let caps = response.capabilities() & server_capabilities();
    if !caps
        .contains(CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_SECURE_CONNECTION)
    {
        return refuse(writer, MysqlError::client_too_old()).await;
    }
    let user = String::from_utf8_lossy(response.user()).into_owned();
    let Some(tenant) = shared.tenants.get(&user).cloned() else {
        return refuse(writer, MysqlError::unknown_tenant(&user)).await;
    };
    let database = response
        .db_name()
        .filter(|db| !db.is_empty())
        .map(|db| String::from_utf8_lossy(db).into_owned());
    let native = matches!(
        response.auth_plugin(),
        None | Some(AuthPlugin::MysqlNativePassword)
    );
    let scramble = if native {
        response.scramble_buf().to_vec()
    } else {
        switch_to_native(reader, writer, &salt).await?
    };
    if !verify_native(&salt, &tenant.config.mysql_password, &scramble) {
        let host = peer.ip().to_string();
        return refuse(
            writer,
            MysqlError::access_denied(&user, &host, !scramble.is_empty()),
        )
        .await;
    }
    writer
        .write(&packets::ok(StatusFlags::SERVER_STATUS_AUTOCOMMIT, 0, ""))
        .await?;
    writer.flush().await?;
    Ok(Authenticated {
        user,
        tenant,
        capabilities: caps,
        database,
    })
}

/// 20 random salt bytes in 1..=127 (no NUL, as MySQL's own salts; some clients stop at NUL).
fn salt() -> [u8; 20] {
    let mut rng = rand::rng();
    std::array::from_fn(|_| rng.random_range(1..=127u8))
}

fn greeting(salt: &[u8; 20], connection_id: u32) -> Vec<u8> {
    let mut scramble_2 = salt[8..].to_vec();
    scramble_2.push(0);
    let scramble_1: [u8; 8] = std::array::from_fn(|i| salt[i]);
    let packet = HandshakePacket::new(
        10,
        SERVER_VERSION.as_bytes(),
        connection_id,
        scramble_1,
        Some(scramble_2),
        server_capabilities(),
        SERVER_COLLATION,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(NATIVE),
    );
    let mut buf = Vec::new();
    packet.serialize(&mut buf);
    buf
}

async fn switch_to_native<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
    salt: &[u8; 20],
) -> Result<Vec<u8>, HandshakeError> {
    let mut data = salt.to_vec();
    data.push(0);
    let mut buf = Vec::new();
    AuthSwitchRequest::new(NATIVE, data).serialize(&mut buf);
    writer.write(&buf).await?;
    writer.flush().await?;
    Ok(read(reader, writer).await?.payload)
}

async fn read<W>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
) -> Result<Packet, HandshakeError> {
    match reader.next().await {
        Some(Ok(packet)) => {
            writer.seq = packet.seq.wrapping_add(1);
            Ok(packet)
        }
        Some(Err(e)) => Err(HandshakeError::Io(std::io::Error::other(e))),
        None => Err(HandshakeError::Io(std::io::ErrorKind::UnexpectedEof.into())),
    }
}

async fn refuse<W: AsyncWrite + Unpin, T>(
    writer: &mut PacketWriter<W>,
    error: MysqlError,
) -> Result<T, HandshakeError> {
    writer.write(&packets::err(&error)).await?;
    writer.flush().await?;
    Err(HandshakeError::Refused(error))
}
