//! Server packets without a serializer in mysql_common: OK, EOF, and the result-set terminator.
//! ERR packets are built with `mysql_common::packets::ErrPacket`.

use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::BufMutExt;
use mysql_common::packets::{ErrPacket, ServerError, SqlState};
use mysql_common::proto::MySerialize;

use crate::error::MysqlError;

/// `OK_Packet`: header 0x00, affected rows, last insert id, status, warnings, info.
pub fn ok(status: StatusFlags, warnings: u16, info: &str) -> Vec<u8> {
    ok_with_header(0x00, status, warnings, info)
}

/// End of a result set: an OK packet with header 0xFE under `CLIENT_DEPRECATE_EOF`, else the
/// classic `EOF_Packet`.
pub fn end_of_rows(caps: CapabilityFlags, status: StatusFlags, warnings: u16) -> Vec<u8> {
    if caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF) {
        ok_with_header(0xFE, status, warnings, "")
    } else {
        eof(status, warnings)
    }
}

/// `EOF_Packet`: 0xFE, warnings, status (CLIENT_PROTOCOL_41 layout).
pub fn eof(status: StatusFlags, warnings: u16) -> Vec<u8> {
    let mut buf = vec![0xFE];
    buf.extend_from_slice(&warnings.to_le_bytes());
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf
}

fn ok_with_header(header: u8, status: StatusFlags, warnings: u16, info: &str) -> Vec<u8> {
    let mut buf = vec![header];
    buf.put_lenenc_int(0);
    buf.put_lenenc_int(0);
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf.extend_from_slice(&warnings.to_le_bytes());
    if !info.is_empty() {
        buf.put_lenenc_str(info.as_bytes());
    }
    buf
}

/// `ERR_Packet` for `error`.
pub fn err(error: &MysqlError) -> Vec<u8> {
    err_with_message(error, error.message.as_bytes())
}

/// `ERR_Packet` for `error` with its message already in the client's charset.
pub fn err_with_message(error: &MysqlError, message: &[u8]) -> Vec<u8> {
    let packet = ErrPacket::Error(ServerError::new(
        error.code,
        Some(SqlState::new(error.state)),
        message,
    ));
    let mut buf = Vec::new();
    packet.serialize(&mut buf);
    buf
}

/// `ERR_Packet` without the SQLSTATE marker, for errors sent before the client announced
/// CLIENT_PROTOCOL_41 (MySQL sends "Too many connections" this way; clients show HY000).
pub fn err_pre41(error: &MysqlError) -> Vec<u8> {
    let mut buf = vec![0xFF];
    buf.extend_from_slice(&error.code.to_le_bytes());
    buf.extend_from_slice(error.message.as_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::io::ParseBuf;
    use mysql_common::packets::{CommonOkPacket, OkPacketDeserializer, ResultSetTerminator};

    #[test]
    fn packets_decode_with_mysql_common() {
        let caps = CapabilityFlags::CLIENT_PROTOCOL_41;
        let status = StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        let buf = ok(status, 2, "");
        let packet: OkPacketDeserializer<CommonOkPacket> = ParseBuf(&buf).parse(caps).unwrap();
        let packet = packet.into_inner();
        assert_eq!((packet.status_flags(), packet.warnings()), (status, 2));

        let buf = end_of_rows(caps | CapabilityFlags::CLIENT_DEPRECATE_EOF, status, 1);
        let packet: OkPacketDeserializer<ResultSetTerminator> = ParseBuf(&buf).parse(caps).unwrap();
        assert_eq!(packet.into_inner().warnings(), 1);

        let buf = err(&MysqlError::pk_required());
        let packet: ErrPacket = ParseBuf(&buf).parse(caps).unwrap();
        let ErrPacket::Error(e) = packet else {
            panic!("progress report")
        };
        assert_eq!(e.error_code(), 1064);
        assert_eq!(e.sql_state_ref().unwrap().as_str(), "HY000");
    }
}
