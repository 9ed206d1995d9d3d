//! Packet framing: a 4-byte header (3-byte little-endian payload length, 1-byte sequence id),
//! payloads of 16 MiB − 1 bytes or more split across packets and joined on read
//! (MySQL Client/Server Protocol, "MySQL Packets").

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio_util::codec::Decoder;

/// Largest payload of one packet: 2^24 − 1 bytes.
pub const MAX_PAYLOAD: usize = 0xFF_FF_FF;
/// Largest joined payload accepted from a client (the shim's `max_allowed_packet`): 64 MiB.
pub const MAX_ALLOWED_PACKET: usize = 64 << 20;
/// Largest packet accepted before authentication: 16 KiB. A HandshakeResponse holds a user name,
/// a scramble, a database name, a plugin name and connection attributes (MySQL caps those at
/// 64 KiB but clients send well under 1 KiB); a larger header is refused before any of its
/// payload is buffered.
pub const MAX_PRE_AUTH_PACKET: usize = 16 << 10;

/// One logical packet from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Sequence id of the last physical packet; the reply continues from `seq + 1`.
    pub seq: u8,
    /// The joined payload.
    pub payload: Vec<u8>,
}

/// Framing failures; both close the connection (the stream cannot be resynchronised).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// More bytes than the decoder's limit ([`MAX_ALLOWED_PACKET`] once logged in).
    #[error("packet larger than the limit")]
    TooLarge,
}

/// Decodes client packets. Sequence ids are taken as sent (a client out of step is answered in
/// its own numbering rather than dropped). A joined payload over the limit is refused as soon as
/// a header announces it.
#[derive(Debug)]
pub struct PacketDecoder {
    partial: Vec<u8>,
    limit: usize,
}

impl Default for PacketDecoder {
    /// The limit before authentication, [`MAX_PRE_AUTH_PACKET`].
    fn default() -> Self {
        Self {
            partial: Vec::new(),
            limit: MAX_PRE_AUTH_PACKET,
        }
    }
}

impl PacketDecoder {
    /// Sets the largest joined payload accepted (bytes).
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }
}

impl Decoder for PacketDecoder {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        loop {
            if src.len() < 4 {
                return Ok(None);
            }
            let len = usize::from(src[0]) | usize::from(src[1]) << 8 | usize::from(src[2]) << 16;
            let seq = src[3];
            if self.partial.len() + len > self.limit {
                return Err(CodecError::TooLarge);
            }
            if src.len() < 4 + len {
                src.reserve(4 + len - src.len());
                return Ok(None);
            }
            src.advance(4);
            self.partial.extend_from_slice(&src[..len]);
            src.advance(len);
            if len < MAX_PAYLOAD {
                let payload = std::mem::take(&mut self.partial);
                return Ok(Some(Packet { seq, payload }));
            }
        }
    }
}

/// Writes server packets through a buffer; call [`PacketWriter::flush`] at the end of a reply.
/// The buffer drains to the socket as it fills, so large result sets stream.
pub struct PacketWriter<W> {
    out: BufWriter<W>,
    /// Sequence id of the next packet.
    pub seq: u8,
}

impl<W: AsyncWrite + Unpin> PacketWriter<W> {
    /// Wraps a socket write half.
    pub fn new(out: W) -> Self {
        Self {
            out: BufWriter::with_capacity(64 * 1024, out),
            seq: 0,
        }
    }

    /// Writes one logical packet, split as needed, advancing the sequence id.
    pub async fn write(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let chunks = payload.chunks(MAX_PAYLOAD);
        let mut last_len = 0;
        for chunk in chunks {
            self.write_chunk(chunk).await?;
            last_len = chunk.len();
        }
        if payload.is_empty() || last_len == MAX_PAYLOAD {
            self.write_chunk(&[]).await?;
        }
        Ok(())
    }

    async fn write_chunk(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        let len = chunk.len() as u32;
        let header = (len | u32::from(self.seq) << 24).to_le_bytes();
        self.out.write_all(&header).await?;
        self.out.write_all(chunk).await?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    /// Sends everything buffered.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn large_payloads_split_and_join() {
        let payload: Vec<u8> = (0..MAX_PAYLOAD + 10).map(|i| i as u8).collect();
        let mut out = Vec::new();
        let mut writer = PacketWriter::new(&mut out);
        writer.seq = 1;
        writer.write(&payload).await.unwrap();
        writer.write(&payload[..MAX_PAYLOAD]).await.unwrap();
        writer.flush().await.unwrap();
        drop(writer);
        let mut src = BytesMut::from(&out[..]);
        let mut decoder = PacketDecoder::default();
        decoder.set_limit(MAX_ALLOWED_PACKET);
        let first = decoder.decode(&mut src).unwrap().unwrap();
        assert_eq!((first.seq, first.payload.len()), (2, payload.len()));
        assert_eq!(first.payload, payload);
        let second = decoder.decode(&mut src).unwrap().unwrap();
        assert_eq!((second.seq, second.payload.len()), (4, MAX_PAYLOAD));
        assert!(src.is_empty());
    }

    #[test]
    fn refuses_a_large_header_before_its_payload() {
        let mut decoder = PacketDecoder::default();
        // A header announcing 16 MiB − 1 bytes, nothing after it.
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 1][..]);
        assert!(matches!(
            decoder.decode(&mut src),
            Err(CodecError::TooLarge)
        ));
        assert!(src.capacity() < 1 << 20, "nothing reserved for the payload");
        decoder.set_limit(MAX_ALLOWED_PACKET);
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 1][..]);
        assert!(decoder.decode(&mut src).unwrap().is_none());
    }

    #[test]
    fn waits_for_a_whole_packet() {
        let mut decoder = PacketDecoder::default();
        let mut src = BytesMut::from(&[3u8, 0, 0, 0, 1, 2][..]);
        assert!(decoder.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(&[3]);
        let packet = decoder.decode(&mut src).unwrap().unwrap();
        assert_eq!(packet.payload, vec![1, 2, 3]);
    }
}
