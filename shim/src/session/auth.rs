//! `mysql_native_password` verification (MySQL Client/Server Protocol, "Native Authentication")
//! and the fast path of `caching_sha2_password` ([`verify_sha2`]).
//!
//! The client sends `SHA1(password) XOR SHA1(salt ‖ SHA1(SHA1(password)))`. With a cleartext
//! password the shim computes the same and compares. With a stored `*<40 hex>` hash
//! (`SHA1(SHA1(password))`) it recovers `SHA1(password)` by XOR and checks that its SHA1 is the
//! stored hash.

use sha1::{Digest, Sha1};

use crate::config::is_native_hash;

/// True when `response` (the 20-byte scramble from the client) proves knowledge of `stored`
/// (cleartext or `*HEX` hash) for `salt` (20 bytes). An empty password matches an empty response.
pub fn verify_native(salt: &[u8; 20], stored: &str, response: &[u8]) -> bool {
    if stored.is_empty() {
        return response.is_empty();
    }
    let Ok(response) = <[u8; 20]>::try_from(response) else {
        return false;
    };
    let double = match stored_hash(stored) {
        Some(hash) => hash,
        None => sha1(&sha1(stored.as_bytes())),
    };
    let mask = sha1_pair(salt, &double);
    let mut stage1 = [0u8; 20];
    for (i, byte) in stage1.iter_mut().enumerate() {
        *byte = response[i] ^ mask[i];
    }
    constant_time_eq(&sha1(&stage1), &double)
}

/// `caching_sha2_password` fast authentication: the client sends
/// `SHA256(password) XOR SHA256(SHA256(SHA256(password)) ‖ salt)` (32 bytes). Only a cleartext
/// stored password can be checked; `None` for a `*HEX` native hash (the caller then switches the
/// client to `mysql_native_password`). An empty password matches an empty response.
pub fn verify_sha2(salt: &[u8; 20], stored: &str, response: &[u8]) -> Option<bool> {
    if is_native_hash(stored) {
        return None;
    }
    if stored.is_empty() {
        return Some(response.is_empty());
    }
    let expected = mysql_common::scramble::scramble_sha256(salt, stored.as_bytes())?;
    let Ok(response) = <[u8; 32]>::try_from(response) else {
        return Some(false);
    };
    Some(
        expected
            .iter()
            .zip(&response)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0,
    )
}

fn stored_hash(stored: &str) -> Option<[u8; 20]> {
    if !is_native_hash(stored) {
        return None;
    }
    let hex = &stored[1..];
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

fn sha1_pair(a: &[u8], b: &[u8]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    hasher.update(a);
    hasher.update(b);
    hasher.finalize().into()
}

fn constant_time_eq(a: &[u8; 20], b: &[u8; 20]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::scramble::scramble_native;

    const SALT: [u8; 20] = *b"abcdefghij0123456789";

    #[test]
    fn cleartext_and_hash_forms_verify() {
        let response = scramble_native(&SALT, b"123456").unwrap();
        assert!(verify_native(&SALT, "123456", &response));
        assert!(verify_native(
            &SALT,
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
            &response
        ));
        assert!(verify_native(
            &SALT,
            "*6bb4837eb74329105ee4568dda7dc67ed2ca2ad9",
            &response
        ));
        assert!(!verify_native(&SALT, "1234567", &response));
        assert!(!verify_native(
            &SALT,
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD8",
            &response
        ));
        assert!(!verify_native(&SALT, "123456", &response[..19]));
        assert!(!verify_native(&SALT, "123456", &[]));
    }

    #[test]
    fn sha2_fast_path() {
        let response = mysql_common::scramble::scramble_sha256(&SALT, b"123456").unwrap();
        assert_eq!(verify_sha2(&SALT, "123456", &response), Some(true));
        assert_eq!(verify_sha2(&SALT, "1234567", &response), Some(false));
        assert_eq!(verify_sha2(&SALT, "123456", &response[..20]), Some(false));
        assert_eq!(
            verify_sha2(
                &SALT,
                "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
                &response
            ),
            None
        );
        assert_eq!(verify_sha2(&SALT, "", &[]), Some(true));
    }

    #[test]
    fn empty_password() {
        assert!(verify_native(&SALT, "", &[]));
        assert!(!verify_native(&SALT, "", &[1; 20]));
    }
}
