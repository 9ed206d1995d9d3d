//! MySQL's binary DECIMAL format (`decimal2bin` in `strings/decimal.c`), used in row images.
//!
//! Layout for DECIMAL(p, s): the integer part (p − s digits) and the fraction (s digits) are each
//! stored as groups of 9 decimal digits in 4 big-endian bytes, with a leading/trailing partial group
//! taking 1–4 bytes by its digit count (`DIG2BYTES = [0,1,1,2,2,3,3,4,4,4]`). The first bit is
//! flipped for non-negative numbers, and every byte is inverted for negative ones, which makes the
//! encoding memcomparable for a fixed (p, s): we use it as the PK encoding of DECIMAL keys.

const DIG_PER_DEC: usize = 9;
const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Bytes occupied by a DECIMAL(precision, scale) value.
pub fn binary_size(precision: u8, scale: u8) -> usize {
    let intg = usize::from(precision.saturating_sub(scale));
    let frac = usize::from(scale);
    (intg / DIG_PER_DEC) * 4
        + DIG2BYTES[intg % DIG_PER_DEC]
        + (frac / DIG_PER_DEC) * 4
        + DIG2BYTES[frac % DIG_PER_DEC]
}

/// Decodes a binary DECIMAL into exact text with exactly `scale` fraction digits, e.g. `-12.50`.
///
/// `bytes` must hold at least [`binary_size`] bytes; returns `None` otherwise.
pub fn decode(bytes: &[u8], precision: u8, scale: u8) -> Option<String> {
    let size = binary_size(precision, scale);
    let mut buf = bytes.get(..size)?.to_vec();
    let negative = buf.first()? & 0x80 == 0;
    buf[0] ^= 0x80;
    if negative {
        buf.iter_mut().for_each(|b| *b = !*b);
    }
    let intg = usize::from(precision.saturating_sub(scale));
    let frac = usize::from(scale);
    let mut pos = 0;
    let mut int_digits = String::with_capacity(usize::from(precision));
    let lead = intg % DIG_PER_DEC;
    if lead > 0 {
        let n = DIG2BYTES[lead];
        push_digits(&mut int_digits, be_uint(&buf[pos..pos + n]), lead);
        pos += n;
    }
    for _ in 0..intg / DIG_PER_DEC {
        push_digits(&mut int_digits, be_uint(&buf[pos..pos + 4]), 9);
        pos += 4;
    }
    let mut frac_digits = String::with_capacity(usize::from(scale));
    for _ in 0..frac / DIG_PER_DEC {
        push_digits(&mut frac_digits, be_uint(&buf[pos..pos + 4]), 9);
        pos += 4;
    }
    let tail = frac % DIG_PER_DEC;
    if tail > 0 {
        let n = DIG2BYTES[tail];
        push_digits(&mut frac_digits, be_uint(&buf[pos..pos + n]), tail);
    }
    let int_part = int_digits.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let mut text = String::with_capacity(int_part.len() + frac_digits.len() + 2);
    let is_zero = int_part == "0" && frac_digits.bytes().all(|b| b == b'0');
    if negative && !is_zero {
        text.push('-');
    }
    text.push_str(int_part);
    if frac > 0 {
        text.push('.');
        text.push_str(&frac_digits);
    }
    Some(text)
}

/// Encodes decimal text (`-12.5`, `42`, `+0.001`) into the binary form of DECIMAL(precision, scale).
///
/// Fraction digits beyond `scale` must be zeros (an exact key cannot be rounded); returns `None` for
/// malformed text or a value that does not fit.
pub fn encode(text: &str, precision: u8, scale: u8) -> Option<Vec<u8>> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int_text, frac_text) = digits.split_once('.').unwrap_or((digits, ""));
    if int_text.is_empty() && frac_text.is_empty()
        || !int_text
            .bytes()
            .chain(frac_text.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let intg = usize::from(precision.saturating_sub(scale));
    let frac = usize::from(scale);
    let int_text = int_text.trim_start_matches('0');
    if int_text.len() > intg {
        return None;
    }
    if frac_text.len() > frac && frac_text[frac..].bytes().any(|b| b != b'0') {
        return None;
    }
    let int_padded = format!("{int_text:0>intg$}");
    let frac_padded: String = format!("{frac_text:0<frac$}").chars().take(frac).collect();
    let mut out = Vec::with_capacity(binary_size(precision, scale));
    let lead = intg % DIG_PER_DEC;
    let (lead_digits, rest) = int_padded.split_at(lead);
    push_group(&mut out, lead_digits);
    for chunk in rest.as_bytes().chunks(DIG_PER_DEC) {
        push_group(&mut out, std::str::from_utf8(chunk).ok()?);
    }
    for chunk in frac_padded.as_bytes().chunks(DIG_PER_DEC) {
        push_group(&mut out, std::str::from_utf8(chunk).ok()?);
    }
    let is_zero = int_padded
        .bytes()
        .chain(frac_padded.bytes())
        .all(|b| b == b'0');
    if negative && !is_zero {
        out.iter_mut().for_each(|b| *b = !*b);
    }
    if let Some(first) = out.first_mut() {
        *first ^= 0x80;
    }
    Some(out)
}

fn push_group(out: &mut Vec<u8>, digits: &str) {
    if digits.is_empty() {
        return;
    }
    let n = DIG2BYTES[digits.len()];
    let value: u32 = digits.parse().unwrap_or(0);
    out.extend_from_slice(&value.to_be_bytes()[4 - n..]);
}

/// Appends `value` as exactly `width` decimal digits (zero-padded), without allocating.
fn push_digits(out: &mut String, value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut v = value;
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend(digits[..width].iter().map(|&b| char::from(b)));
}

fn be_uint(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encoding_from_the_mysql_manual() {
        // DECIMAL(14,4) 1234567890.1234 → 81 0D FB 38 D2 04 D2 (MySQL "Precision Math" section).
        let bin = encode("1234567890.1234", 14, 4).unwrap();
        assert_eq!(bin, vec![0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2]);
        assert_eq!(decode(&bin, 14, 4).unwrap(), "1234567890.1234");
        let neg = encode("-1234567890.1234", 14, 4).unwrap();
        assert_eq!(neg, vec![0x7E, 0xF2, 0x04, 0xC7, 0x2D, 0xFB, 0x2D]);
        assert_eq!(decode(&neg, 14, 4).unwrap(), "-1234567890.1234");
    }

    #[test]
    fn round_trips_and_orders() {
        let values = [
            "-99999.99",
            "-12.50",
            "-0.01",
            "0.00",
            "0.01",
            "12.50",
            "12.51",
            "99999.99",
        ];
        let encoded: Vec<_> = values.iter().map(|v| encode(v, 7, 2).unwrap()).collect();
        for (v, e) in values.iter().zip(&encoded) {
            assert_eq!(decode(e, 7, 2).unwrap(), *v);
        }
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn wide_decimals_are_exact() {
        let text = "12345678901234567890123456789012345.123456789012345678901234567890";
        let bin = encode(text, 65, 30).unwrap();
        assert_eq!(bin.len(), binary_size(65, 30));
        assert_eq!(decode(&bin, 65, 30).unwrap(), text);
    }

    #[test]
    fn rejects_what_does_not_fit() {
        assert!(encode("123456", 7, 2).is_none());
        assert!(encode("1.234", 7, 2).is_none());
        assert_eq!(
            decode(&encode("1.230", 7, 2).unwrap(), 7, 2).unwrap(),
            "1.23"
        );
        assert!(encode("abc", 7, 2).is_none());
        assert!(encode("-0", 7, 2).is_some());
    }
}
