//! The byte stream under the protocol: plain TCP, or TLS after the client's SSLRequest
//! (MySQL Client/Server Protocol, "SSL Handshake": a 32-byte HandshakeResponse prefix with
//! CLIENT_SSL, then the TLS handshake, then the real HandshakeResponse inside TLS).

use mysql_common::constants::CapabilityFlags;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;

use super::codec::{Packet, PacketDecoder, PacketWriter, MAX_PRE_AUTH_PACKET};
use super::handshake::HandshakeError;
use crate::server::Shared;

/// Read side of a connection (TCP or TLS).
pub type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
/// Write side of a connection (TCP or TLS).
pub type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;
/// Framed client packets.
pub type Reader = FramedRead<BoxRead, PacketDecoder>;
/// Server packets.
pub type Writer = PacketWriter<BoxWrite>;

/// Length of an SSLRequest: capabilities (4), max packet (4), charset (1), filler (23).
const SSL_REQUEST_LEN: usize = 32;

/// A connection after the greeting: the framed halves, the client's first packet that matters
/// (its HandshakeResponse) and whether the connection is encrypted.
pub struct Opened {
    /// Client packets.
    pub reader: Reader,
    /// Server packets; its sequence id continues the client's.
    pub writer: Writer,
    /// The HandshakeResponse.
    pub response: Packet,
    /// True after a TLS upgrade.
    pub secure: bool,
}

/// Sends `greeting` on `stream`, reads the client's answer, and upgrades to TLS when it is an
/// SSLRequest and the server has a certificate.
pub async fn open(
    mut stream: TcpStream,
    shared: &Shared,
    greeting: &[u8],
) -> Result<Opened, HandshakeError> {
    let mut plain = PacketWriter::new(&mut stream);
    plain.write(greeting).await?;
    plain.flush().await?;
    drop(plain);
    let first = read_raw(&mut stream).await?;
    let wants_tls = first.payload.len() == SSL_REQUEST_LEN
        && first
            .payload
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .is_some_and(|caps| caps & CapabilityFlags::CLIENT_SSL.bits() != 0);
    match (&shared.tls, wants_tls) {
        (Some(acceptor), true) => {
            let tls = acceptor.accept(stream).await?;
            let (r, w) = tokio::io::split(tls);
            let mut reader = FramedRead::new(Box::new(r) as BoxRead, PacketDecoder::default());
            let mut writer = PacketWriter::new(Box::new(w) as BoxWrite);
            let response = super::handshake::read(&mut reader, &mut writer).await?;
            Ok(Opened {
                reader,
                writer,
                response,
                secure: true,
            })
        }
        _ => {
            let (r, w) = stream.into_split();
            let reader = FramedRead::new(Box::new(r) as BoxRead, PacketDecoder::default());
            let mut writer = PacketWriter::new(Box::new(w) as BoxWrite);
            writer.seq = first.seq.wrapping_add(1);
            Ok(Opened {
                reader,
                writer,
                response: first,
                secure: false,
            })
        }
    }
}

/// One packet straight from the socket, reading exactly its bytes (nothing of a following TLS
/// handshake is consumed). Split packets are not expected this early; a header announcing more
/// than [`MAX_PRE_AUTH_PACKET`] is answered with ERR 1153 before any payload is read.
async fn read_raw(stream: &mut TcpStream) -> Result<Packet, HandshakeError> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    if len > MAX_PRE_AUTH_PACKET {
        let mut writer = PacketWriter::new(&mut *stream);
        writer.seq = header[3].wrapping_add(1);
        let error = crate::error::MysqlError::packet_too_large();
        writer.write(&super::packets::err(&error)).await?;
        writer.flush().await?;
        return Err(HandshakeError::Refused(error));
    }
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await?;
    Ok(Packet {
        seq: header[3],
        payload,
    })
}
