//! Client character sets: the session's `character_set_client` (what statement text and string
//! parameters arrive in), `collation_connection`, and `character_set_results` (what result text,
//! column names and error messages leave in).
//!
//! The shim holds every string as Unicode (agent-core decodes each column's charset at capture),
//! so a client's charset is a conversion at the wire: text the client sends is decoded into UTF-8
//! before it is parsed, text sent to it is encoded into `character_set_results`. A character the
//! results charset cannot represent becomes `?`, as MySQL's own conversion does
//! (`my_convert` / `copy_and_convert` in `strings/ctype.cc` substitute `?`). `character_set_results`
//! `NULL` and `binary` send strings unconverted.
//!
//! Names, ids and maximum character widths come from `mysql_common::collations` (MySQL's
//! `INFORMATION_SCHEMA.COLLATIONS`); the byte conversions from `encoding_rs` (the WHATWG
//! encodings). MySQL's `latin1` is Windows-1252 (MySQL Reference Manual, "West European
//! Character Sets": "latin1 is the same as the Windows cp1252 character set"), including the five
//! bytes cp1252 leaves undefined, which both map to the C1 control of the same number.

use std::borrow::Cow;

use encoding_rs::{EncoderResult, Encoding};
use mysql_common::collations::{Collation, CollationId};

use crate::error::MysqlError;

/// How the text of one MySQL character set is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// `utf8mb4`: Rust strings as they are.
    Utf8mb4,
    /// `utf8mb3`: UTF-8 limited to the Basic Multilingual Plane; a 4-byte character is `?`.
    Utf8mb3,
    /// `ascii`: 0x00–0x7F; anything else is `?`.
    Ascii,
    /// `binary`: bytes as they are, no conversion.
    Binary,
    /// A WHATWG encoding for the MySQL charset (`latin1` → windows-1252, `cp1251`, `sjis`, ...).
    Encoding(&'static Encoding),
}

/// A character set and collation as the session variables hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCharset {
    /// Collation id (`ColumnDefinition41.character_set` of converted text columns).
    pub collation_id: u16,
    /// MySQL character set name (`utf8mb4`, `latin1`, ...): `@@character_set_client` and co.
    pub charset: &'static str,
    /// MySQL collation name: `@@collation_connection`.
    pub collation: &'static str,
    /// Most bytes one character takes (`MAXLEN` of `SHOW CHARACTER SET`).
    pub max_len: u8,
    codec: Codec,
}

/// The server default every session starts from when the client names nothing usable:
/// `utf8mb4_0900_ai_ci` (id 255), MySQL 8's default.
pub const DEFAULT_COLLATION_ID: u16 = 255;

/// Highest collation id `mysql_common` knows.
const MAX_COLLATION_ID: u16 = 323;

/// The conversion for MySQL charset `name`; `None` for a charset the shim cannot convert
/// (UCS-2/UTF-16/UTF-32 are not ASCII-compatible and MySQL refuses them as
/// `character_set_client`; a few legacy 8-bit sets have no encoding in `encoding_rs`).
fn codec(name: &str) -> Option<Codec> {
    use encoding_rs as e;
    Some(match name {
        "utf8mb4" => Codec::Utf8mb4,
        "utf8mb3" | "utf8" => Codec::Utf8mb3,
        "ascii" => Codec::Ascii,
        "binary" => Codec::Binary,
        "latin1" => Codec::Encoding(e::WINDOWS_1252),
        "latin2" => Codec::Encoding(e::ISO_8859_2),
        "latin7" => Codec::Encoding(e::ISO_8859_13),
        "greek" => Codec::Encoding(e::ISO_8859_7),
        "hebrew" => Codec::Encoding(e::ISO_8859_8),
        "cp1250" => Codec::Encoding(e::WINDOWS_1250),
        "cp1251" => Codec::Encoding(e::WINDOWS_1251),
        "cp1256" => Codec::Encoding(e::WINDOWS_1256),
        "cp1257" => Codec::Encoding(e::WINDOWS_1257),
        "cp866" => Codec::Encoding(e::IBM866),
        "koi8r" => Codec::Encoding(e::KOI8_R),
        "koi8u" => Codec::Encoding(e::KOI8_U),
        "macroman" => Codec::Encoding(e::MACINTOSH),
        "sjis" | "cp932" => Codec::Encoding(e::SHIFT_JIS),
        "ujis" | "eucjpms" => Codec::Encoding(e::EUC_JP),
        "euckr" => Codec::Encoding(e::EUC_KR),
        "gbk" | "gb2312" => Codec::Encoding(e::GBK),
        "gb18030" => Codec::Encoding(e::GB18030),
        "big5" => Codec::Encoding(e::BIG5),
        _ => return None,
    })
}

fn from_collation(collation: &Collation<'static>) -> Option<ClientCharset> {
    let codec = codec(collation.charset())?;
    Some(ClientCharset {
        collation_id: collation.id() as u16,
        charset: collation.charset,
        collation: collation.collation,
        max_len: collation.max_len(),
        codec,
    })
}

/// The 1115 (42000) MySQL answers for a charset it does not know; the shim also says it for one
/// it cannot convert, so a client never reads text in an encoding it did not ask for.
fn unknown_charset(name: &str) -> MysqlError {
    MysqlError::new(1115, b"42000", format!("Unknown character set: '{name}'"))
}

/// 1273 (HY000) `ER_UNKNOWN_COLLATION`.
fn unknown_collation(name: &str) -> MysqlError {
    MysqlError::new(1273, b"HY000", format!("Unknown collation: '{name}'"))
}

/// 1253 (42000) `ER_COLLATION_CHARSET_MISMATCH`.
fn mismatch(collation: &str, charset: &str) -> MysqlError {
    MysqlError::new(
        1253,
        b"42000",
        format!("COLLATION '{collation}' is not valid for CHARACTER SET '{charset}'"),
    )
}

impl ClientCharset {
    /// The server default, `utf8mb4_0900_ai_ci`.
    pub fn server_default() -> Self {
        Self::from_id(DEFAULT_COLLATION_ID).expect("utf8mb4_0900_ai_ci is known")
    }

    /// The collation with id `id` (the handshake's one-byte collation, COM_CHANGE_USER's
    /// two bytes); `None` for an unknown id or a charset the shim cannot convert.
    pub fn from_id(id: u16) -> Option<Self> {
        if id == 0 || id > MAX_COLLATION_ID {
            return None;
        }
        let collation = Collation::resolve(CollationId::from(id));
        if collation.id() == CollationId::UNKNOWN_COLLATION_ID {
            return None;
        }
        from_collation(&collation)
    }

    /// The collation the client announced in its handshake, else the server default (MySQL
    /// does the same for an id it does not know: `thd_init_client_charset`).
    pub fn from_handshake(id: u16) -> Self {
        Self::from_id(id).unwrap_or_else(Self::server_default)
    }

    /// Charset `name` with its default collation (`SET NAMES latin1`, `SET
    /// character_set_results = cp1251`); `utf8` is `utf8mb3` as in MySQL 8. ERR 1115 when the
    /// name is unknown or cannot be converted.
    pub fn by_charset(name: &str) -> Result<Self, MysqlError> {
        let lower = name.trim().to_ascii_lowercase();
        let wanted = if lower == "utf8" { "utf8mb3" } else { &lower };
        if codec(wanted).is_none() {
            return Err(unknown_charset(name));
        }
        (1..=MAX_COLLATION_ID)
            .map(|id| Collation::resolve(CollationId::from(id)))
            .find(|c| c.is_default() && c.charset() == wanted)
            .and_then(|c| from_collation(&c))
            .ok_or_else(|| unknown_charset(name))
    }

    /// Collation `name` (`SET collation_connection = latin1_german1_ci`); a name the table
    /// lacks whose charset prefix is known is that charset's default collation; ERR 1273 when
    /// the charset is unknown too, 1115 when it cannot be converted.
    pub fn by_collation(name: &str) -> Result<Self, MysqlError> {
        let lower = name.trim().to_ascii_lowercase();
        let lower = match lower.strip_prefix("utf8_") {
            Some(rest) => format!("utf8mb3_{rest}"),
            None => lower,
        };
        let collation = Collation::resolve(CollationId::from(lower.as_str()));
        if collation.id() == CollationId::UNKNOWN_COLLATION_ID {
            // A collation newer than the table (MariaDB's `utf8mb4_uca1400_ai_ci`, which
            // ProxySQL may replay): the conversion depends on the charset alone, so its
            // charset's default collation stands in. An unknown charset is still 1273.
            let charset = lower.split('_').next().unwrap_or_default();
            return Self::by_charset(charset).map_err(|_| unknown_collation(name));
        }
        from_collation(&collation).ok_or_else(|| unknown_charset(collation.charset()))
    }

    /// `SET NAMES <charset> [COLLATE <collation>]`: the collation must belong to the charset
    /// (ERR 1253 otherwise, as MySQL).
    pub fn for_set_names(charset: &str, collation: Option<&str>) -> Result<Self, MysqlError> {
        let base = Self::by_charset(charset)?;
        let Some(collation) = collation else {
            return Ok(base);
        };
        let chosen = Self::by_collation(collation)?;
        if chosen.charset != base.charset {
            return Err(mismatch(collation, charset));
        }
        Ok(chosen)
    }

    /// True when text leaves as UTF-8 bytes unchanged (`utf8mb4`, `binary`).
    pub fn is_identity(&self) -> bool {
        matches!(self.codec, Codec::Utf8mb4 | Codec::Binary)
    }

    /// True when bytes the client sends are UTF-8 already (utf8mb4, utf8mb3, ascii, binary):
    /// nothing to decode.
    pub fn sends_utf8(&self) -> bool {
        !matches!(self.codec, Codec::Encoding(_))
    }

    /// True for the `binary` pseudo charset.
    pub fn is_binary(&self) -> bool {
        self.codec == Codec::Binary
    }

    /// `text` in this charset; a character it cannot represent is `?`. Every charset the shim
    /// converts is ASCII-compatible, so ASCII text is returned as it is.
    pub fn encode<'a>(&self, text: &'a str) -> Cow<'a, [u8]> {
        if text.is_ascii() || self.is_identity() {
            return Cow::Borrowed(text.as_bytes());
        }
        Cow::Owned(match self.codec {
            Codec::Utf8mb4 | Codec::Binary => text.as_bytes().to_vec(),
            Codec::Utf8mb3 => {
                let mut out = Vec::with_capacity(text.len());
                let mut utf8 = [0u8; 4];
                for c in text.chars() {
                    let bytes = c.encode_utf8(&mut utf8);
                    if bytes.len() == 4 {
                        out.push(b'?');
                    } else {
                        out.extend_from_slice(bytes.as_bytes());
                    }
                }
                out
            }
            Codec::Ascii => text
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
            Codec::Encoding(encoding) => encode_with_question_marks(encoding, text),
        })
    }

    /// Bytes the client sent in this charset as text. UTF-8 charsets keep valid text as it is
    /// (an invalid sequence becomes U+FFFD, as before any charset was known); single-byte
    /// charsets map every byte.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self.codec {
            Codec::Utf8mb4 | Codec::Utf8mb3 | Codec::Binary | Codec::Ascii => {
                String::from_utf8_lossy(bytes)
            }
            Codec::Encoding(encoding) => encoding.decode_without_bom_handling(bytes).0,
        }
    }
}

/// `text` in `encoding`, `?` for each character it cannot represent (encoding_rs's own
/// replacement is an HTML numeric reference, which MySQL never sends).
fn encode_with_question_marks(encoding: &'static Encoding, text: &str) -> Vec<u8> {
    let mut encoder = encoding.new_encoder();
    let worst = encoder
        .max_buffer_length_from_utf8_without_replacement(text.len())
        .unwrap_or(text.len() * 4)
        .max(16);
    let mut out = Vec::with_capacity(worst);
    let mut rest = text;
    loop {
        let start = out.len();
        out.resize(start + worst, 0);
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
        out.truncate(start + written);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return out,
            EncoderResult::Unmappable(_) => out.push(b'?'),
            EncoderResult::OutputFull => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_is_cp1252_both_ways() {
        let latin1 = ClientCharset::by_charset("latin1").unwrap();
        assert_eq!(
            (latin1.collation_id, latin1.collation, latin1.max_len),
            (8, "latin1_swedish_ci", 1)
        );
        assert_eq!(&*latin1.encode("Zoë €"), b"Zo\xEB \x80");
        assert_eq!(latin1.decode(b"Zo\xEB \x80"), "Zoë €");
        // cp1252's undefined bytes are the C1 controls of the same number, as in MySQL.
        assert_eq!(latin1.decode(b"\x81\x9D"), "\u{81}\u{9D}");
        assert_eq!(&*latin1.encode("\u{81}"), b"\x81");
    }

    #[test]
    fn unrepresentable_characters_become_question_marks() {
        let latin1 = ClientCharset::by_charset("latin1").unwrap();
        assert_eq!(&*latin1.encode("Ωmega 😀 é"), b"?mega ? \xE9");
        let mb3 = ClientCharset::by_charset("utf8").unwrap();
        assert_eq!(mb3.charset, "utf8mb3");
        assert_eq!(&*mb3.encode("é😀"), "é?".as_bytes());
        let ascii = ClientCharset::by_charset("ascii").unwrap();
        assert_eq!(&*ascii.encode("Zoë"), b"Zo?");
        let cp1251 = ClientCharset::by_charset("cp1251").unwrap();
        assert_eq!(&*cp1251.encode("Жё ë"), b"\xC6\xB8 ?");
        assert_eq!(cp1251.decode(b"\xC6\xB8"), "Жё");
    }

    #[test]
    fn long_text_converts_across_buffer_refills() {
        let latin1 = ClientCharset::by_charset("latin1").unwrap();
        let text = "é😀".repeat(10_000);
        let encoded = latin1.encode(&text);
        assert_eq!(encoded.len(), 20_000);
        assert!(encoded.chunks(2).all(|pair| pair == b"\xE9?"));
    }

    #[test]
    fn ids_names_and_refusals() {
        assert_eq!(ClientCharset::from_handshake(8).charset, "latin1");
        assert_eq!(
            ClientCharset::from_handshake(45).collation,
            "utf8mb4_general_ci"
        );
        assert_eq!(ClientCharset::from_handshake(0).collation_id, 255);
        // UCS-2 (35) cannot carry ASCII statements: the server default instead.
        assert_eq!(ClientCharset::from_handshake(35).collation_id, 255);
        let german = ClientCharset::for_set_names("latin1", Some("latin1_german1_ci")).unwrap();
        assert_eq!((german.collation_id, german.charset), (5, "latin1"));
        let e = ClientCharset::for_set_names("latin1", Some("utf8mb4_bin")).unwrap_err();
        assert_eq!((e.code, e.state_str()), (1253, "42000"));
        let e = ClientCharset::by_charset("klingon").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (1115, "Unknown character set: 'klingon'")
        );
        assert_eq!(ClientCharset::by_charset("ucs2").unwrap_err().code, 1115);
        assert_eq!(
            ClientCharset::by_collation("nope_ci").unwrap_err().code,
            1273
        );
        assert_eq!(
            ClientCharset::by_collation("utf8_general_ci")
                .unwrap()
                .charset,
            "utf8mb3"
        );
        assert!(ClientCharset::by_charset("binary").unwrap().is_binary());
    }
}
