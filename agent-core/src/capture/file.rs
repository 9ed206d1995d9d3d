//! Binlog files as an event source: the same [`Event`]s live capture gets from the replication
//! stream, read from files a server wrote (`mysql-bin.000042`, an archive of them).
//!
//! File layout (MySQL "Binary Log Overview", `libbinlogevents/include/binlog_event.h`): the magic
//! `\xfebin`, then events back to back, each a 19-byte header (`timestamp u32 | type u8 |
//! server_id u32 | event_size u32 | log_pos u32 | flags u16`) followed by `event_size - 19` bytes
//! of body. The first event is a FORMAT_DESCRIPTION; when it names CRC32, every event (itself
//! included) ends in a CRC32 of the event's bytes. The FORMAT_DESCRIPTION's CRC32 is computed
//! with `LOG_EVENT_BINLOG_IN_USE_F` (0x1) clear: the server sets that flag while the file is open
//! and clears it on close without rewriting the checksum (`Log_event_footer::event_checksum_test`).
//!
//! Events are framed here, not by `mysql_common`'s reader, so a file cut inside an event (a
//! binlog still being written, a damaged copy) is a clear error rather than a panic, and an event
//! larger than [`MAX_EVENT_SIZE`] is refused before any allocation.

use std::io::{self, BufRead, Read};

use mysql_common::binlog::consts::{BinlogChecksumAlg, BinlogVersion};
use mysql_common::binlog::events::{Event, FormatDescriptionEvent};

use super::assembler::event_type;

/// The four bytes every binlog file starts with.
pub const MAGIC: [u8; 4] = [0xfe, b'b', b'i', b'n'];

/// Largest event accepted: MySQL's ceiling for `max_allowed_packet` and
/// `binlog_transaction_compression` payloads (1 GiB).
pub const MAX_EVENT_SIZE: u32 = 1 << 30;

/// Length of the common event header.
const HEADER_LEN: usize = 19;

/// Why a binlog file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The underlying read failed.
    #[error("{file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The file does not start with `\xfebin`.
    #[error("{file}: not a binlog file (no \\xfebin magic)")]
    NotABinlog {
        /// File name.
        file: String,
    },
    /// The file ends inside an event.
    #[error(
        "{file}: ends inside the event at offset {offset} (file cut short or still being written)"
    )]
    Truncated {
        /// File name.
        file: String,
        /// Offset of the event's first byte.
        offset: u64,
    },
    /// An event header gives an impossible size.
    #[error(
        "{file}: event at offset {offset} claims {size} bytes (allowed: 19..={MAX_EVENT_SIZE})"
    )]
    BadSize {
        /// File name.
        file: String,
        /// Offset of the event's first byte.
        offset: u64,
        /// The claimed size.
        size: u32,
    },
    /// The stored CRC32 does not match the event's bytes.
    #[error("{file}: event at offset {offset} (type {event_type}) fails its CRC32 check (stored {stored:08x}, computed {computed:08x})")]
    Checksum {
        /// File name.
        file: String,
        /// Offset of the event's first byte.
        offset: u64,
        /// Raw event type.
        event_type: u8,
        /// CRC32 in the file.
        stored: u32,
        /// CRC32 of the bytes.
        computed: u32,
    },
    /// The event's bytes do not parse.
    #[error("{file}: event at offset {offset} (type {event_type}) does not parse: {source}")]
    Parse {
        /// File name.
        file: String,
        /// Offset of the event's first byte.
        offset: u64,
        /// Raw event type.
        event_type: u8,
        /// The parse error.
        source: io::Error,
    },
}

/// One event of a file and where it lies in it.
pub struct FileEvent {
    /// The event, parsed with the file's FORMAT_DESCRIPTION.
    pub event: Event,
    /// Offset of its first byte.
    pub start: u64,
    /// Offset just past it (= the `log_pos` a server writes into the header, the position a
    /// replica resumes from).
    pub end: u64,
}

/// Reads the events of one binlog file in order, checking each event's CRC32.
pub struct BinlogFileReader<R> {
    input: R,
    file: String,
    fde: FormatDescriptionEvent<'static>,
    offset: u64,
    done: bool,
}

impl<R: BufRead> BinlogFileReader<R> {
    /// Checks the magic; `file` names the file in errors and is the binlog file name positions
    /// refer to.
    pub fn new(mut input: R, file: impl Into<String>) -> Result<Self, FileError> {
        let file = file.into();
        let mut magic = [0u8; 4];
        read_full(&mut input, &mut magic).map_err(|source| FileError::Io {
            file: file.clone(),
            source,
        })?;
        if magic != MAGIC {
            return Err(FileError::NotABinlog { file });
        }
        Ok(Self {
            input,
            file,
            fde: FormatDescriptionEvent::new(BinlogVersion::Version4),
            offset: 4,
            done: false,
        })
    }

    /// The FORMAT_DESCRIPTION in force (a v4 default before the file's own is read).
    pub fn format_description(&self) -> &FormatDescriptionEvent<'static> {
        &self.fde
    }

    fn next_event(&mut self) -> Result<Option<FileEvent>, FileError> {
        let start = self.offset;
        let file = &self.file;
        let io_err = |source| FileError::Io {
            file: file.clone(),
            source,
        };
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut self.input, &mut header).map_err(io_err)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(FileError::Truncated {
                file: file.clone(),
                offset: start,
            });
        }
        let size = u32::from_le_bytes(header[9..13].try_into().unwrap_or_default());
        let event_type = header[4];
        if (size as usize) < HEADER_LEN || size > MAX_EVENT_SIZE {
            return Err(FileError::BadSize {
                file: file.clone(),
                offset: start,
                size,
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        bytes.extend_from_slice(&header);
        bytes.resize(size as usize, 0);
        let got = read_full(&mut self.input, &mut bytes[HEADER_LEN..]).map_err(io_err)?;
        if got < size as usize - HEADER_LEN {
            return Err(FileError::Truncated {
                file: file.clone(),
                offset: start,
            });
        }
        let parse_err = |source| FileError::Parse {
            file: file.clone(),
            offset: start,
            event_type,
            source,
        };
        let event = Event::read(&self.fde, &bytes[..]).map_err(parse_err)?;
        if event_type == event_type::FORMAT_DESCRIPTION {
            let fde: FormatDescriptionEvent<'_> = event.read_event().map_err(parse_err)?;
            self.fde = fde.into_owned().with_footer(event.footer());
        }
        self.verify_checksum(&event, start)?;
        self.offset = start + u64::from(size);
        Ok(Some(FileEvent {
            event,
            start,
            end: self.offset,
        }))
    }

    fn verify_checksum(&self, event: &Event, offset: u64) -> Result<(), FileError> {
        let crc32 = matches!(
            event.footer().get_checksum_alg(),
            Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
        );
        let Some(stored) = event.checksum().filter(|_| crc32) else {
            return Ok(());
        };
        let stored = u32::from_le_bytes(stored);
        // `calc_checksum` clears LOG_EVENT_BINLOG_IN_USE_F first, as the server does.
        let computed = event.calc_checksum(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32);
        if stored != computed {
            return Err(FileError::Checksum {
                file: self.file.clone(),
                offset,
                event_type: event.header().event_type_raw(),
                stored,
                computed,
            });
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for BinlogFileReader<R> {
    type Item = Result<FileEvent, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_event().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
