//! Decimal text of integers and IEEE floats appended straight to an output buffer, with no
//! `String` per value: integers through `itoa`; DOUBLE as the shortest round-trip digits of
//! Rust's `{:e}` (formatted once, on the stack) laid out the way MySQL 8 prints a DOUBLE
//! (positional for decimal exponents -5..15, else `1.5e300` / `1e-7`; `-0` keeps its sign);
//! FLOAT rounded to 6 significant digits (`{:.5e}`), positional for exponents -15..15.

use std::fmt::Write as _;

/// Appends a signed integer, e.g. `-9223372036854775808`.
pub fn put_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends an unsigned integer, e.g. `18446744073709551615`.
pub fn put_uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a YEAR: zero-padded to 4 characters, sign included (`0000`, `0070`, `-005`), as
/// `{n:04}` prints it.
pub fn put_year(out: &mut Vec<u8>, n: i64) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n.unsigned_abs());
    let sign = usize::from(n < 0);
    if n < 0 {
        out.push(b'-');
    }
    let pad = 4usize.saturating_sub(text.len() + sign);
    out.extend(std::iter::repeat_n(b'0', pad));
    out.extend_from_slice(text.as_bytes());
}

/// Appends a DOUBLE: the shortest digits that read back to `f`.
pub fn put_double(out: &mut Vec<u8>, f: f64) {
    let mut sci = StackText::default();
    let _ = write!(sci, "{f:e}");
    lay_out(out, &sci, POSITIONAL);
}

/// Appends a FLOAT as the text protocol carries it: rounded to `FLT_DIG` = 6 significant
/// digits (ties to even, as `dtoa` rounds), trailing zeros dropped, positional for decimal
/// exponents -15..=14, else `3.40282e38` / `1e-16` (measured on MariaDB 10.11: `1.8085939` is
/// `1.80859`, `16777217` is `16777200`, `1e-14` is `0.00000000000001`). The binary protocol
/// carries the exact 4-byte value instead.
pub fn put_float(out: &mut Vec<u8>, f: f32) {
    let mut sci = StackText::default();
    let _ = write!(sci, "{:.5e}", f64::from(f));
    let text: &[u8] = &sci;
    // `{:.5e}` keeps trailing zeros (`1.00000e15`): drop them and a bare point.
    let mut trimmed = StackText::default();
    match text.iter().position(|b| *b == b'e') {
        Some(e) => {
            let mantissa = &text[..e];
            let mut end = mantissa.len();
            if mantissa.contains(&b'.') {
                while mantissa[end - 1] == b'0' {
                    end -= 1;
                }
                if mantissa[end - 1] == b'.' {
                    end -= 1;
                }
            }
            let _ = trimmed.write_str(std::str::from_utf8(&mantissa[..end]).unwrap_or(""));
            let _ = trimmed.write_str(std::str::from_utf8(&text[e..]).unwrap_or(""));
        }
        None => {
            let _ = trimmed.write_str(std::str::from_utf8(text).unwrap_or(""));
        }
    }
    lay_out(out, &trimmed, FLOAT_POSITIONAL);
}

/// Decimal exponents printed positionally for a DOUBLE; outside them the scientific form.
const POSITIONAL: std::ops::Range<i32> = -5..15;

/// Decimal exponents printed positionally for a FLOAT (after rounding to 6 digits).
const FLOAT_POSITIONAL: std::ops::Range<i32> = -15..15;

/// Re-lays Rust's scientific text (`1e0`, `-1.5e300`, `1.2e-7`, `NaN`, `inf`) as MySQL prints
/// it, positional for decimal exponents in `positional`; text without an exponent (NaN,
/// infinities) is copied as it is.
fn lay_out(out: &mut Vec<u8>, sci: &[u8], positional_exps: std::ops::Range<i32>) {
    let (negative, body) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let Some(e) = body.iter().position(|b| *b == b'e') else {
        return out.extend_from_slice(sci);
    };
    let (mantissa, exp_text) = (&body[..e], &body[e + 1..]);
    let exp = std::str::from_utf8(exp_text)
        .ok()
        .and_then(|t| t.parse::<i32>().ok())
        .unwrap_or(0);
    let mut digits = DigitBuf::default();
    digits.extend(mantissa.iter().copied().filter(|b| *b != b'.'));
    if negative {
        out.push(b'-');
    }
    if digits.iter().all(|b| *b == b'0') || positional_exps.contains(&exp) {
        positional(out, &digits, exp);
    } else {
        out.extend_from_slice(body);
    }
}

/// `digits` (no leading or trailing zeros; `0` for zero) × 10^(`exp` + 1 − len) in positional
/// form without a trailing `.0`: `100`, `0.00012`, `12.5`.
fn positional(out: &mut Vec<u8>, digits: &[u8], exp: i32) {
    if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(digits);
        return;
    }
    let whole = exp as usize + 1;
    if digits.len() <= whole {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', whole - digits.len()));
    } else {
        out.extend_from_slice(&digits[..whole]);
        out.push(b'.');
        out.extend_from_slice(&digits[whole..]);
    }
}

/// Up to 32 ASCII digits on the stack (a double has at most 17 significant ones).
#[derive(Default)]
struct DigitBuf {
    bytes: [u8; 32],
    len: usize,
}

impl DigitBuf {
    fn extend(&mut self, bytes: impl IntoIterator<Item = u8>) {
        for b in bytes {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
    }
}

/// `{:e}` text of a float on the stack: at most `-d.dddddddddddddddde-308` (25 bytes); longer
/// text (never produced) is cut.
struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = (self.len + s.len()).min(self.bytes.len());
        let take = end - self.len;
        self.bytes[self.len..end].copy_from_slice(&s.as_bytes()[..take]);
        self.len = end;
        Ok(())
    }
}

impl std::ops::Deref for StackText {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::ops::Deref for DigitBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `format!` forms these writers replaced, kept as the reference they must equal:
    /// `plain` for a zero or a decimal exponent in [`POSITIONAL`], else `sci` (`{:e}`).
    fn reference(sci: String, plain: impl FnOnce() -> String, zero: bool) -> String {
        let exp: i32 = sci
            .rsplit_once('e')
            .and_then(|(_, e)| e.parse().ok())
            .unwrap_or(0);
        if zero || POSITIONAL.contains(&exp) {
            plain()
        } else {
            sci
        }
    }

    fn reference_double(f: f64) -> String {
        reference(format!("{f:e}"), || format!("{f}"), f == 0.0)
    }

    /// FLOAT: the value rounded to 6 significant digits (through `{:.5e}` and back), then
    /// Rust's shortest forms of that rounded double, positional for exponents -15..=14.
    fn reference_float(f: f32) -> String {
        let rounded: f64 = format!("{:.5e}", f64::from(f)).parse().unwrap();
        let sci = format!("{rounded:e}");
        let exp: i32 = sci.rsplit_once('e').unwrap().1.parse().unwrap();
        if rounded == 0.0 || FLOAT_POSITIONAL.contains(&exp) {
            format!("{rounded}")
        } else {
            sci
        }
    }

    fn double(f: f64) -> String {
        let mut out = Vec::new();
        put_double(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    fn float(f: f32) -> String {
        let mut out = Vec::new();
        put_float(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    /// SplitMix64: a fixed sequence of well-spread 64-bit patterns.
    fn patterns(count: usize) -> impl Iterator<Item = u64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        (0..count).map(move |_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
    }

    #[test]
    fn doubles_at_exponent_borders_and_signed_zero() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e-5, "0.00001"),
            (1.5e-5, "0.000015"),
            (9.999e-6, "9.999e-6"),
            (1e-6, "1e-6"),
            (1e-7, "1e-7"),
            (1e14, "100000000000000"),
            (123456789012345.0, "123456789012345"),
            (999999999999999.9, "999999999999999.9"),
            (1e15, "1e15"),
            (1.5e15, "1.5e15"),
            (-2.5e300, "-2.5e300"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (9007199254740993.0, "9.007199254740992e15"),
        ];
        for &(f, want) in cases {
            assert_eq!(double(f), want, "{f:e}");
            assert_eq!(double(f), reference_double(f), "{f:e}");
        }
    }

    #[test]
    // The literals are the ones inserted into MariaDB, digits as typed.
    #[allow(clippy::excessive_precision)]
    fn floats_at_exponent_borders_and_signed_zero() {
        // Each text as MariaDB 10.11 prints the stored FLOAT (`SELECT a FROM t` over the text
        // protocol, column `a FLOAT`).
        let cases: &[(f32, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (1.808_593_9, "1.80859"),
            (16777217.0, "16777200"),
            (1234567.0, "1234570"),
            // Exact ties at the sixth digit round to even.
            (1234565.0, "1234560"),
            (1234575.0, "1234580"),
            (-271183.625, "-271184"),
            (999999.5, "1000000"),
            (12345.678, "12345.7"),
            (1.0 / 3.0, "0.333333"),
            (0.000_123_456_789, "0.000123457"),
            (9.999_999e-5, "0.0001"),
            (1e-5, "0.00001"),
            (1e-6, "0.000001"),
            (-1.5e-10, "-0.00000000015"),
            (1.23456e-15, "0.00000000000000123456"),
            (1e-15, "0.000000000000001"),
            (1e-16, "1e-16"),
            (1.23456e-16, "1.23456e-16"),
            (-1.2e-18, "-1.2e-18"),
            (1e14, "100000000000000"),
            (-1.23456e14, "-123456000000000"),
            (1e15, "1e15"),
            (1.23456e15, "1.23456e15"),
            (-2e20, "-2e20"),
            (f32::MAX, "3.40282e38"),
            (f32::MIN_POSITIVE, "1.17549e-38"),
            (1e-45, "1.4013e-45"),
        ];
        for &(f, want) in cases {
            assert_eq!(float(f), want, "{f:e}");
            assert_eq!(float(f), reference_float(f), "{f:e}");
        }
    }

    #[test]
    fn doubles_and_floats_equal_the_reference_over_many_bit_patterns() {
        for bits in patterns(200_000) {
            let d = f64::from_bits(bits);
            if d.is_finite() {
                assert_eq!(double(d), reference_double(d), "bits {bits:#x}");
            }
            let f = f32::from_bits(bits as u32);
            if f.is_finite() {
                assert_eq!(float(f), reference_float(f), "bits {:#x}", bits as u32);
            }
        }
        // Every power of ten and its neighbours, where the positional/scientific switch lies.
        for exp in -320..=308 {
            let p: f64 = format!("1e{exp}").parse().unwrap();
            for d in [
                p,
                f64::from_bits(p.to_bits() + 1),
                f64::from_bits(p.to_bits() - 1),
            ] {
                assert_eq!(double(d), reference_double(d), "{d:e}");
                assert_eq!(double(-d), reference_double(-d), "{d:e}");
            }
        }
    }

    #[test]
    fn integers_cover_the_extremes() {
        let text = |write: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            write(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(text(&|o| put_int(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(text(&|o| put_int(o, i64::MAX)), "9223372036854775807");
        assert_eq!(text(&|o| put_int(o, 0)), "0");
        assert_eq!(text(&|o| put_uint(o, u64::MAX)), "18446744073709551615");
        for n in [
            0i64,
            7,
            70,
            1901,
            2155,
            12345,
            -5,
            -50,
            -500,
            -5000,
            i64::MIN,
        ] {
            assert_eq!(text(&|o| put_year(o, n)), format!("{n:04}"), "{n}");
        }
    }
}
