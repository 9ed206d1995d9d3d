//! Any bytes through the client packet decoder, in arbitrary read sizes, before and after
//! authentication: never a panic, no payload over the limit in force, no buffer grown for a
//! payload the limit refuses.
#![no_main]

use bytes::BytesMut;
use dbtrail_shim::session::codec::{
    CodecError, PacketDecoder, MAX_ALLOWED_PACKET, MAX_PRE_AUTH_PACKET,
};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limit = if mode & 1 == 0 { MAX_PRE_AUTH_PACKET } else { MAX_ALLOWED_PACKET };
    let step = usize::from(mode >> 1).max(1);
    let mut decoder = PacketDecoder::default();
    decoder.set_limit(limit);
    let mut src = BytesMut::new();
    for chunk in rest.chunks(step) {
        src.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut src) {
                Ok(Some(packet)) => assert!(packet.payload.len() <= limit),
                Ok(None) => break,
                Err(CodecError::TooLarge) => {
                    assert!(src.capacity() <= rest.len() + 4096 + (1 << 16));
                    return;
                }
                Err(CodecError::Io(e)) => panic!("decoder produced an i/o error: {e}"),
            }
        }
    }
});
