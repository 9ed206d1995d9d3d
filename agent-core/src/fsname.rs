//! Source names (schemas, tables) as file-name segments, and deletes confined to the directory the
//! agent owns.
//!
//! A name comes from the source (anyone with `CREATE TABLE` chooses it: `` `../../etc` ``,
//! `` `/abs` ``, `` `.hidden` ``, 64 characters of CJK) and so is never joined into a path raw.
//! [`encode`] maps every name to one safe segment, in the spirit of MySQL's own `@XXXX` file-name
//! encoding (`sql/sql_table.cc` `tablename_to_filename`, `strings/ctype-utf8.cc` `my_charset_filename`):
//!
//! - ASCII letters, digits and `_` stand for themselves, so a plain name (`orders`,
//!   `order_items2`) is its own file name and layouts written before this encoding stay valid;
//! - every other character is `@` and four lowercase hex digits per UTF-16 unit (`.` → `@002e`,
//!   `/` → `@002f`, `é` → `@00e9`, U+1F600 → `@d83d@de00`); MySQL maps some letters to shorter
//!   codes, this encoding does not;
//! - the empty name is `@`;
//! - an encoding longer than [`MAX_SEGMENT`] bytes is cut at an escape boundary to
//!   [`HASHED_PREFIX`] bytes and ends in `@@` and 32 hex digits of the name's SHA-256 (not
//!   reversible: [`decode`] answers `None`; the real name is in the manifest next to the files).
//!
//! The result never contains `/`, `\`, NUL or `.`, never starts with `.`, is never empty and is at
//! most [`MAX_SEGMENT`] bytes, well under `NAME_MAX` (255). The map is injective: `@` only ever
//! starts an escape, and the hashed form (`@@`) cannot come out of the plain form. ASCII case is
//! kept, so two names differing only in case stay two segments on a case-sensitive file system;
//! `data_dir` must be on one (ext4, xfs), as MySQL's own data directory with
//! `lower_case_table_names=0`.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Longest segment [`encode`] returns, bytes.
pub const MAX_SEGMENT: usize = 200;

/// Bytes of the plain encoding kept before the hash in a hashed segment.
pub const HASHED_PREFIX: usize = 160;

/// The file-name segment of a schema or table name (see the module doc).
pub fn encode(name: &str) -> String {
    if name.is_empty() {
        return "@".to_owned();
    }
    let mut out = String::with_capacity(name.len());
    let mut cuts = Vec::new();
    for c in name.chars() {
        cuts.push(out.len());
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("@{u:04x}"));
            }
        }
    }
    if out.len() <= MAX_SEGMENT {
        return out;
    }
    let keep = cuts
        .into_iter()
        .take_while(|&c| c <= HASHED_PREFIX)
        .last()
        .unwrap_or(0);
    out.truncate(keep);
    let digest = Sha256::digest(name.as_bytes());
    out.push_str("@@");
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The name a segment written by [`encode`] stands for; `None` for a hashed segment or text
/// [`encode`] never produces. A segment without `@` decodes to itself (directories of older
/// versions, which used the raw name).
pub fn decode(segment: &str) -> Option<String> {
    if segment == "@" {
        return Some(String::new());
    }
    if segment.contains("@@") {
        return None;
    }
    let mut units: Vec<u16> = Vec::with_capacity(segment.len());
    let mut rest = segment;
    while let Some(c) = rest.chars().next() {
        if c == '@' {
            let hex = rest.get(1..5)?;
            if !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return None;
            }
            units.push(u16::from_str_radix(hex, 16).ok()?);
            rest = &rest[5..];
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
            rest = &rest[c.len_utf8()..];
        }
    }
    String::from_utf16(&units).ok()
}

/// The raw name as older versions used it for a directory, when that raw name is a single harmless
/// segment different from its encoding (`caf\é`, `a-b`): such layouts are still read. `None` for
/// a name that is its own encoding or that could not have been a safe segment (`/`, NUL, leading
/// `.`, empty, longer than 255 bytes).
pub fn legacy_segment(name: &str) -> Option<&str> {
    let safe = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\0']);
    (safe && encode(name) != name).then_some(name)
}

/// `target` canonicalised, when it lies strictly inside `root` (also canonicalised, so symlinks
/// and `..` are resolved on both sides). Errors: `PermissionDenied` when it does not, or the I/O
/// error of canonicalising either.
pub fn inside(root: &Path, target: &Path) -> io::Result<PathBuf> {
    let root = root.canonicalize()?;
    let t = target.canonicalize()?;
    if t != root && t.starts_with(&root) {
        Ok(t)
    } else {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing to delete {}: not inside {}",
                target.display(),
                root.display()
            ),
        ))
    }
}

/// Deletes directory `target` and everything under it, only when `target` itself is not a symlink
/// and lies inside `root` ([`inside`]). `std::fs::remove_dir_all` does not follow symlinks below
/// `target`.
pub fn remove_dir_all_inside(root: &Path, target: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(target)?.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("refusing to delete {}: a symlink", target.display()),
        ));
    }
    let t = inside(root, target)?;
    std::fs::remove_dir_all(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn safe(seg: &str) -> bool {
        !seg.is_empty()
            && seg.len() <= MAX_SEGMENT
            && !seg.starts_with('.')
            && !seg.contains(['/', '\\', '\0', '.'])
    }

    #[test]
    fn plain_names_are_their_own_segment() {
        for n in ["orders", "Order_Items2", "_x", "t1"] {
            assert_eq!(encode(n), n);
            assert_eq!(legacy_segment(n), None);
        }
    }

    #[test]
    fn hostile_names_become_one_safe_segment() {
        for n in [
            "../../x",
            "/some/abs/path",
            "..",
            ".",
            ".hidden",
            "a\0b",
            "a\\b",
            "",
            "@",
            "@0041",
        ] {
            let e = encode(n);
            assert!(safe(&e), "{n:?} -> {e:?}");
            assert_eq!(decode(&e).as_deref(), Some(n));
        }
        assert_eq!(encode("../../x"), "@002e@002e@002f@002e@002e@002fx");
        assert_eq!(encode("caf\u{e9}"), "caf@00e9");
        assert_eq!(encode("\u{1F600}"), "@d83d@de00");
        assert_eq!(legacy_segment("caf\u{e9}"), Some("caf\u{e9}"));
        assert_eq!(legacy_segment("../x"), None);
        assert_eq!(legacy_segment(".x"), None);
    }

    #[test]
    fn long_names_are_bounded_and_distinct() {
        let a = "\u{4e2d}".repeat(64);
        let b = format!("{}\u{4e2e}", "\u{4e2d}".repeat(63));
        let (ea, eb) = (encode(&a), encode(&b));
        assert!(safe(&ea) && safe(&eb));
        assert_ne!(ea, eb);
        assert_eq!(decode(&ea), None);
        assert!(ea.len() <= MAX_SEGMENT);
    }

    #[test]
    fn deletes_stay_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        let escape = root
            .path()
            .join("a/../../")
            .join(outside.path().file_name().unwrap());
        assert!(remove_dir_all_inside(root.path(), &escape).is_err());
        assert!(outside.path().exists());
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        assert!(remove_dir_all_inside(root.path(), &root.path().join("link")).is_err());
        assert!(remove_dir_all_inside(root.path(), root.path()).is_err());
        assert!(outside.path().exists());
        remove_dir_all_inside(root.path(), &root.path().join("a")).unwrap();
        assert!(!root.path().join("a").exists());
    }

    proptest! {
        #[test]
        fn encoding_is_injective_and_safe(a in "\\PC{0,70}", b in "[a-z./@_]{0,6}") {
            let (ea, eb) = (encode(&a), encode(&b));
            prop_assert!(safe(&ea));
            prop_assert_eq!(ea == eb, a == b);
            if ea.len() <= MAX_SEGMENT && !ea.contains("@@") {
                prop_assert_eq!(decode(&ea), Some(a.clone()));
            }
        }
    }
}
