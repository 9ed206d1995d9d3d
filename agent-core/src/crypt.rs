//! Client-side encryption at rest for archive files and backup copies: AES-256-GCM (RustCrypto
//! `aes-gcm`) in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015): the plaintext is cut
//! into 1 MiB segments, each sealed with its own nonce `prefix(7) ‖ counter u32 BE ‖ last u8`, so
//! segments cannot be reordered, dropped or the file cut short without the check failing.
//!
//! Sealed file layout:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `DBTRENC1` |
//! | 1 | key id length `n` (1–64) |
//! | n | key id (ASCII letters, digits, `-`, `_`, `.`) |
//! | 7 | random nonce prefix |
//! | 4 | segment size, u32 BE (plaintext bytes per segment) |
//! | … | segments: ciphertext ‖ 16-byte tag; every segment but the last is full |
//!
//! The header (everything before the segments) is the associated data of every segment. The key
//! id names the key in the key file, so keys rotate: new files are sealed with the write key and
//! files sealed with an older key open as long as the key file still lists it.
//!
//! Key file (`encryption.key_file`): one key per line, `<key id> <64 hex digits>` (32 bytes);
//! blank lines and `#` comments are ignored. The write key is `encryption.key_id`, else the last
//! line. Make one with `printf 'k1 %s\n' "$(openssl rand -hex 32)" > keys`.

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

/// First bytes of a sealed file.
pub const MAGIC: &[u8; 8] = b"DBTRENC1";
/// Plaintext bytes per segment.
const SEGMENT: usize = 1 << 20;
/// AES-GCM tag length.
const TAG: usize = 16;
/// Nonce prefix length (the STREAM construction's 7 bytes for a 96-bit nonce).
const PREFIX: usize = 7;

/// Encryption failures; each says which file or key.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// The key file cannot be read or is malformed.
    #[error("encryption key file {path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong (line number included).
        message: String,
    },
    /// A sealed file names a key the key file does not hold.
    #[error("{what} is encrypted with key id {key_id:?}, which the key file does not list")]
    UnknownKey {
        /// The file.
        what: String,
        /// The key id in its header.
        key_id: String,
    },
    /// A sealed file was found but no key file is configured.
    #[error("{what} is encrypted (key id {key_id:?}) but no encryption.key_file is configured")]
    NoKeys {
        /// The file.
        what: String,
        /// The key id in its header.
        key_id: String,
    },
    /// The tag check failed: a wrong key under that id, or damaged or cut bytes.
    #[error("{what} cannot be decrypted with key id {key_id:?}: wrong key or damaged file")]
    Authentication {
        /// The file.
        what: String,
        /// The key id in its header.
        key_id: String,
    },
    /// The header is not a sealed file's.
    #[error("{what}: malformed encrypted file header")]
    Header {
        /// The file.
        what: String,
    },
}

/// The keys of `encryption.key_file`: every key opens, the write key seals.
pub struct Keyring {
    keys: HashMap<String, Aes256Gcm>,
    write_id: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        let mut ids: Vec<_> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Keyring")
            .field("key_ids", &ids)
            .field("write_id", &self.write_id)
            .finish()
    }
}

impl Keyring {
    /// The keyring of `config.encryption`, or `None` without one.
    pub fn from_config(config: &crate::config::Config) -> Result<Option<Self>, CryptError> {
        config
            .encryption
            .as_ref()
            .map(|e| Self::load(&e.key_file, e.key_id.as_deref()))
            .transpose()
    }

    /// Reads the key file; `write_id` picks the sealing key (default: the last one listed).
    pub fn load(path: &Path, write_id: Option<&str>) -> Result<Self, CryptError> {
        let err = |message: String| CryptError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text, write_id).map_err(err)
    }

    /// Parses key file text (see the module doc); the error names the line.
    pub fn parse(text: &str, write_id: Option<&str>) -> Result<Self, String> {
        let mut keys = HashMap::new();
        let mut last = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}", n + 1);
            let (id, hex) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| bad("expected `<key id> <64 hex digits>`"))?;
            if !valid_id(id) {
                return Err(bad("key id must be 1-64 letters, digits, '-', '_' or '.'"));
            }
            let bytes = decode_hex(hex.trim()).ok_or_else(|| bad("key must be 64 hex digits"))?;
            let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes));
            if keys.insert(id.to_owned(), cipher).is_some() {
                return Err(bad("key id listed twice"));
            }
            last = Some(id.to_owned());
        }
        let write_id = match write_id {
            Some(id) if keys.contains_key(id) => id.to_owned(),
            Some(id) => return Err(format!("encryption.key_id {id:?} is not in the file")),
            None => last.ok_or("no keys in the file")?,
        };
        Ok(Self { keys, write_id })
    }

    /// The id new files are sealed with.
    pub fn write_id(&self) -> &str {
        &self.write_id
    }

    /// Seals `plain` with the write key and a fresh random nonce prefix.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut prefix = [0u8; PREFIX];
        rand::fill(&mut prefix);
        let header = header(&self.write_id, &prefix);
        let cipher = &self.keys[&self.write_id];
        let segments = plain.len().div_ceil(SEGMENT).max(1);
        let mut out = Vec::with_capacity(header.len() + plain.len() + segments * TAG);
        out.extend_from_slice(&header);
        for i in 0..segments {
            let part = &plain[(i * SEGMENT).min(plain.len())..((i + 1) * SEGMENT).min(plain.len())];
            let nonce = nonce(&prefix, i as u32, i + 1 == segments);
            let sealed = cipher
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: part,
                        aad: &header,
                    },
                )
                .unwrap_or_default(); // AES-GCM encryption fails only past 64 GiB per segment.
            out.extend_from_slice(&sealed);
        }
        out
    }

    /// Opens a sealed file, or returns `data` as it is when it is not one (files written before
    /// encryption was turned on). `what` names the file in errors.
    pub fn open(keys: Option<&Self>, data: &[u8], what: &str) -> Result<Vec<u8>, CryptError> {
        if !is_sealed(data) {
            return Ok(data.to_vec());
        }
        let header_err = || CryptError::Header { what: what.into() };
        let id_len = usize::from(data[MAGIC.len()]);
        let start = MAGIC.len() + 1;
        let body_at = start + id_len + PREFIX + 4;
        if id_len == 0 || data.len() < body_at + TAG {
            return Err(header_err());
        }
        let key_id = std::str::from_utf8(&data[start..start + id_len])
            .ok()
            .filter(|id| valid_id(id))
            .ok_or_else(header_err)?
            .to_owned();
        let keys = keys.ok_or_else(|| CryptError::NoKeys {
            what: what.into(),
            key_id: key_id.clone(),
        })?;
        let cipher = keys
            .keys
            .get(&key_id)
            .ok_or_else(|| CryptError::UnknownKey {
                what: what.into(),
                key_id: key_id.clone(),
            })?;
        let prefix: [u8; PREFIX] = data[start + id_len..start + id_len + PREFIX]
            .try_into()
            .map_err(|_| header_err())?;
        let seg_bytes = data[start + id_len + PREFIX..body_at]
            .try_into()
            .map(u32::from_be_bytes)
            .map_err(|_| header_err())? as usize;
        if seg_bytes == 0 {
            return Err(header_err());
        }
        let header = &data[..body_at];
        let body = &data[body_at..];
        let auth = || CryptError::Authentication {
            what: what.into(),
            key_id: key_id.clone(),
        };
        let step = seg_bytes + TAG;
        let segments = body.len().div_ceil(step);
        let mut out = Vec::with_capacity(body.len());
        for i in 0..segments {
            let part = &body[i * step..((i + 1) * step).min(body.len())];
            let nonce = nonce(&prefix, i as u32, i + 1 == segments);
            let plain = cipher
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: part,
                        aad: header,
                    },
                )
                .map_err(|_| auth())?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }
}

/// Whether `data` starts like a sealed file.
pub fn is_sealed(data: &[u8]) -> bool {
    data.len() > MAGIC.len() && data.starts_with(MAGIC)
}

fn header(key_id: &str, prefix: &[u8; PREFIX]) -> Vec<u8> {
    let mut h = Vec::with_capacity(MAGIC.len() + 1 + key_id.len() + PREFIX + 4);
    h.extend_from_slice(MAGIC);
    h.push(key_id.len() as u8);
    h.extend_from_slice(key_id.as_bytes());
    h.extend_from_slice(prefix);
    h.extend_from_slice(&(SEGMENT as u32).to_be_bytes());
    h
}

fn nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    #[test]
    fn round_trip_across_segments_and_rotation() {
        let old = Keyring::parse(K1, None).unwrap();
        let both = Keyring::parse(&format!("{K1}\n# newer\n{K2}\n"), None).unwrap();
        assert_eq!(both.write_id(), "k2");
        for len in [0, 5, SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT + 7] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = old.seal(&plain);
            assert!(is_sealed(&sealed));
            // Rotated: the old key still opens what it sealed.
            assert_eq!(Keyring::open(Some(&both), &sealed, "f").unwrap(), plain);
            let newer = both.seal(&plain);
            assert_eq!(Keyring::open(Some(&both), &newer, "f").unwrap(), plain);
            let e = Keyring::open(Some(&old), &newer, "f").unwrap_err();
            assert!(matches!(e, CryptError::UnknownKey { .. }), "{e}");
        }
    }

    #[test]
    fn wrong_key_cut_or_missing_keys_are_errors() {
        let k = Keyring::parse(K1, None).unwrap();
        let plain = vec![7u8; SEGMENT + 100];
        let sealed = k.seal(&plain);
        let imposter = Keyring::parse(&K2.replace("k2", "k1"), None).unwrap();
        let e = Keyring::open(Some(&imposter), &sealed, "a.parquet").unwrap_err();
        assert!(e.to_string().contains("wrong key or damaged"), "{e}");
        // Dropping the last segment leaves a full segment not flagged last.
        let cut = &sealed[..sealed.len() - 100 - TAG];
        assert!(Keyring::open(Some(&k), cut, "f").is_err());
        let e = Keyring::open(None, &sealed, "a.parquet").unwrap_err();
        assert!(e.to_string().contains("no encryption.key_file"), "{e}");
        assert_eq!(
            Keyring::open(None, b"PAR1 plain", "f").unwrap(),
            b"PAR1 plain"
        );
        assert!(Keyring::parse("k1 00", None)
            .unwrap_err()
            .contains("line 1"));
        assert!(Keyring::parse(K1, Some("k9")).is_err());
    }
}
