//! Connection phase: Handshake v10, the client's HandshakeResponse41, the fast path of
//! `caching_sha2_password` when the client starts with it and the password is stored in
//! cleartext, else an AuthSwitchRequest to `mysql_native_password` when the client started with
//! another plugin, then OK or ERR.

use std::net::SocketAddr;

use futures_util::StreamExt;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthMoreData, AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse,
};
use mysql_common::proto::MySerialize;
use rand::Rng;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::auth::{verify_native, verify_sha2};
use super::codec::{Packet, PacketWriter};
use super::packets;
use super::transport::{self, Opened, Reader, Writer};
use crate::chatter::SERVER_VERSION;
use crate::error::{ClientFamily, MysqlError};
use crate::server::{Account, Shared};

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
    /// Its tenant, or the monitor.
    pub account: Account,
    /// Negotiated capabilities.
    pub capabilities: CapabilityFlags,
    /// Database named in the handshake response.
    pub database: Option<String>,
    /// The client library, from its connection attributes (how it reads ERR packets).
    pub client: ClientFamily,
    /// The 20-byte salt the client proved its password with (COM_CHANGE_USER may reuse it).
    pub salt: [u8; 20],
    /// The collation id of the HandshakeResponse41: the session's client, connection and
    /// results charset until `SET NAMES`.
    pub collation: u8,
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

/// Runs the connection phase on a new connection; on success the OK packet has been sent and
/// flushed, and the framed (possibly TLS) connection is handed back.
pub async fn connect(
    stream: TcpStream,
    shared: &Shared,
    connection_id: u32,
    peer: SocketAddr,
) -> Result<(Reader, Writer, Authenticated), HandshakeError> {
    let salt = salt();
    let hello = greeting(&salt, connection_id, shared.tls.is_some());
    let Opened {
        mut reader,
        mut writer,
        response,
        secure,
    } = transport::open(stream, shared, &hello).await?;
    if shared.tls_required && !secure {
        return refuse(&mut writer, MysqlError::insecure_transport()).await;
    }
    let auth = authenticate(&mut reader, &mut writer, shared, &response, salt, peer).await?;
    Ok((reader, writer, auth))
}

/// Checks the HandshakeResponse `packet` against the tenants and the monitor account.
async fn authenticate<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
    shared: &Shared,
    packet: &Packet,
    salt: [u8; 20],
    peer: SocketAddr,
) -> Result<Authenticated, HandshakeError> {
    let response = match ParseBuf(&packet.payload).parse::<HandshakeResponse>(()) {
        Ok(r) => r,
        Err(e) => {
            return refuse(
                writer,
                MysqlError::malformed_packet(format!("handshake response: {e}")),
            )
            .await;
        }
    };
    let caps = response.capabilities() & server_capabilities();
    if !caps
        .contains(CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_SECURE_CONNECTION)
    {
        return refuse(writer, MysqlError::client_too_old()).await;
    }
    let user = String::from_utf8_lossy(response.user()).into_owned();
    // While this address has failed logins, its password checks run one at a time.
    let turn = shared.hosts.auth_turn(peer.ip()).await;
    // An unknown user is refused exactly as a wrong password is, after the same exchange with a
    // password nobody knows, so the answer does not tell which user names exist; the log keeps
    // the real reason.
    let known = shared.account(&user);
    let unknown_password;
    let password = match &known {
        Some((_, password)) => *password,
        None => {
            unknown_password = unguessable();
            &unknown_password
        }
    };
    let database = response
        .db_name()
        .filter(|db| !db.is_empty())
        .map(|db| String::from_utf8_lossy(db).into_owned());
    let (proved, used_password) = prove(reader, writer, &salt, password, &response).await?;
    let account = match known {
        Some((account, _)) if proved => account,
        _ => {
            let host = peer.ip().to_string();
            let error = MysqlError::access_denied(&user, &host, used_password);
            let reason = if shared.account(&user).is_some() {
                error.message.clone()
            } else {
                MysqlError::unknown_tenant(&user).message
            };
            shared
                .denials
                .record(&user, &reason, std::time::Instant::now());
            let delay = shared
                .hosts
                .auth_failed(peer.ip(), std::time::Instant::now());
            tokio::time::sleep(delay).await;
            drop(turn);
            return refuse(writer, error).await;
        }
    };
    drop(turn);
    // A connect-time database outside `allowed_schemas` refuses the login, as MySQL does.
    if let (Account::Tenant(tenant), Some(db)) = (&account, &database) {
        if !tenant.may_use(db) {
            let host = peer.ip().to_string();
            return refuse(writer, MysqlError::schema_denied(&user, &host, db)).await;
        }
    }
    writer
        .write(&packets::ok(StatusFlags::SERVER_STATUS_AUTOCOMMIT, 0, ""))
        .await?;
    writer.flush().await?;
    let client = response
        .connect_attributes()
        .map_or_else(ClientFamily::default, |attrs| {
            ClientFamily::from_connect_attributes(
                attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
        });
    Ok(Authenticated {
        user,
        account,
        capabilities: caps,
        database,
        client,
        salt,
        collation: response.collation(),
    })
}

/// Checks the client's proof of `password`: its `mysql_native_password` scramble, the fast path
/// of `caching_sha2_password` (answered with AuthMoreData `0x03`, fast auth success, as MySQL 8
/// does) when the stored password is cleartext, else an AuthSwitchRequest to
/// `mysql_native_password`. Returns `(proved, a password was sent)`.
async fn prove<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
    salt: &[u8; 20],
    password: &str,
    response: &HandshakeResponse<'_>,
) -> Result<(bool, bool), HandshakeError> {
    let sent = response.scramble_buf();
    match response.auth_plugin() {
        None | Some(AuthPlugin::MysqlNativePassword) => {
            Ok((verify_native(salt, password, sent), !sent.is_empty()))
        }
        Some(AuthPlugin::CachingSha2Password) => match verify_sha2(salt, password, sent) {
            Some(true) => {
                let mut buf = Vec::new();
                AuthMoreData::new(&[FAST_AUTH_SUCCESS][..]).serialize(&mut buf);
                writer.write(&buf).await?;
                Ok((true, !sent.is_empty()))
            }
            Some(false) => Ok((false, !sent.is_empty())),
            None => switched(reader, writer, salt, password).await,
        },
        Some(_) => switched(reader, writer, salt, password).await,
    }
}

async fn switched<W: AsyncWrite + Unpin>(
    reader: &mut Reader,
    writer: &mut PacketWriter<W>,
    salt: &[u8; 20],
    password: &str,
) -> Result<(bool, bool), HandshakeError> {
    let scramble = switch_to_native(reader, writer, salt).await?;
    Ok((
        verify_native(salt, password, &scramble),
        !scramble.is_empty(),
    ))
}

/// A random cleartext password no client can know, checked for a user name that is not
/// configured so that its refusal takes the same exchange as a wrong password.
pub(super) fn unguessable() -> String {
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(rng.random_range(b'a'..=b'z')))
        .collect()
}

/// `caching_sha2_password` AuthMoreData status: the fast path succeeded.
const FAST_AUTH_SUCCESS: u8 = 0x03;

/// 20 random salt bytes in 1..=127 (no NUL, as MySQL's own salts; some clients stop at NUL).
pub fn salt() -> [u8; 20] {
    let mut rng = rand::rng();
    std::array::from_fn(|_| rng.random_range(1..=127u8))
}

fn greeting(salt: &[u8; 20], connection_id: u32, tls: bool) -> Vec<u8> {
    let mut caps = server_capabilities();
    if tls {
        caps |= CapabilityFlags::CLIENT_SSL;
    }
    let mut scramble_2 = salt[8..].to_vec();
    scramble_2.push(0);
    let scramble_1: [u8; 8] = std::array::from_fn(|i| salt[i]);
    let packet = HandshakePacket::new(
        10,
        SERVER_VERSION.as_bytes(),
        connection_id,
        scramble_1,
        Some(scramble_2),
        caps,
        SERVER_COLLATION,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(NATIVE),
    );
    let mut buf = Vec::new();
    packet.serialize(&mut buf);
    buf
}

pub async fn switch_to_native<W: AsyncWrite + Unpin>(
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

/// The next packet; the writer's sequence id continues from it.
pub async fn read<W>(
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
