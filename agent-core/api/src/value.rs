//! Typed column values as they travel from agent-core to the shim.
//!
//! JSON shape (externally tagged, one key per value): `"null"`, `{"int": -5}`, `{"uint": 18446744073709551615}`,
//! `{"float": 1.5}`, `{"double": 2.25}`, `{"decimal": "-12.50"}`, `{"text": "abc"}`,
//! `{"bytes": "<base64>"}`, `{"date": "2026-04-27"}`, `{"time": "-01:02:03.500000"}`,
//! `{"datetime": "2026-04-27 09:11:59.000001"}`, `{"json": "{\"a\": 1}"}`.
//! Integers travel as JSON integers (serde_json keeps all 64 bits), decimals as exact text, so nothing
//! passes through `f64` on the way.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One column value of a reconstructed row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// SQL NULL (distinct from the empty string `Text("")`).
    Null,
    /// Signed integers (TINYINT..BIGINT) and YEAR.
    Int(i64),
    /// Unsigned integers (TINYINT..BIGINT UNSIGNED), full 64-bit range.
    #[serde(rename = "uint")]
    UInt(u64),
    /// FLOAT (4-byte IEEE 754).
    Float(f32),
    /// DOUBLE (8-byte IEEE 754).
    Double(f64),
    /// DECIMAL as exact text with the column's scale, e.g. `"-12.50"`.
    Decimal(String),
    /// Character strings converted to UTF-8 (CHAR, VARCHAR, TEXT), ENUM and SET labels, UUID/INET text.
    Text(String),
    /// Binary strings: BINARY/VARBINARY (with padding), BLOB, BIT, GEOMETRY (MySQL internal WKB).
    #[serde(with = "base64_bytes")]
    Bytes(Vec<u8>),
    /// DATE; `0000-00-00` is representable.
    Date(Date),
    /// TIME, range `-838:59:59.999999 ..= 838:59:59.999999`.
    Time(Time),
    /// DATETIME or TIMESTAMP (TIMESTAMP already converted to UTC wall time).
    #[serde(rename = "datetime")]
    DateTime(DateTime),
    /// JSON document as text.
    Json(String),
}

/// A calendar date; all-zero fields are MySQL's zero date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Date {
    /// 0..=9999.
    pub year: u16,
    /// 0..=12.
    pub month: u8,
    /// 0..=31.
    pub day: u8,
}

/// A TIME value: a signed duration below 839 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Time {
    /// True for negative durations.
    pub negative: bool,
    /// 0..=838.
    pub hours: u32,
    /// 0..=59.
    pub minutes: u8,
    /// 0..=59.
    pub seconds: u8,
    /// 0..=999_999 µs.
    pub micros: u32,
}

/// A DATETIME/TIMESTAMP wall-clock value with µs precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTime {
    /// The date part.
    pub date: Date,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0..=999_999 µs.
    pub micros: u32,
}

/// A value string that is not in the canonical text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} literal {text:?}")]
pub struct ParseValueError {
    kind: &'static str,
    text: String,
}

impl ParseValueError {
    fn new(kind: &'static str, text: &str) -> Self {
        Self {
            kind,
            text: text.to_owned(),
        }
    }
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl Date {
    /// Appends `YYYY-MM-DD` (each field zero-padded to its width, never cut) to `out`.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        put_padded(out, u32::from(self.year), 4);
        out.push(b'-');
        put_padded(out, u32::from(self.month), 2);
        out.push(b'-');
        put_padded(out, u32::from(self.day), 2);
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_via_bytes(f, |out| self.write_text(out))
    }
}

impl FromStr for Date {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseValueError::new("date", s);
        let mut parts = s.splitn(3, '-');
        let mut next = || parts.next().ok_or_else(err);
        let (y, m, d) = (next()?, next()?, next()?);
        Ok(Date {
            year: y.parse().map_err(|_| err())?,
            month: m.parse().map_err(|_| err())?,
            day: d.parse().map_err(|_| err())?,
        })
    }
}

impl Time {
    /// Text with exactly `fsp` (0..=6) fractional digits, e.g. `-01:02:03.50` for fsp 2.
    pub fn to_text(&self, fsp: u8) -> String {
        text_of(|out| self.write_text(fsp, out))
    }

    /// Appends the [`Time::to_text`] form with `fsp` fractional digits to `out`.
    pub fn write_text(&self, fsp: u8, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        put_padded(out, self.hours, 2);
        out.push(b':');
        put_padded(out, u32::from(self.minutes), 2);
        out.push(b':');
        put_padded(out, u32::from(self.seconds), 2);
        put_fraction(out, self.micros, fsp);
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_via_bytes(f, |out| self.write_text(6, out))
    }
}

impl FromStr for Time {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseValueError::new("time", s);
        let (negative, rest) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (hms, micros) = split_fraction(rest).ok_or_else(err)?;
        let mut parts = hms.splitn(3, ':');
        let mut next = || parts.next().ok_or_else(err);
        let (h, m, sec) = (next()?, next()?, next()?);
        Ok(Time {
            negative,
            hours: h.parse().map_err(|_| err())?,
            minutes: m.parse().map_err(|_| err())?,
            seconds: sec.parse().map_err(|_| err())?,
            micros,
        })
    }
}

impl DateTime {
    /// Text with exactly `fsp` (0..=6) fractional digits, e.g. `2026-04-27 09:11:59.120` for fsp 3.
    pub fn to_text(&self, fsp: u8) -> String {
        text_of(|out| self.write_text(fsp, out))
    }

    /// Appends the [`DateTime::to_text`] form with `fsp` fractional digits to `out`.
    pub fn write_text(&self, fsp: u8, out: &mut Vec<u8>) {
        self.date.write_text(out);
        out.push(b' ');
        put_padded(out, u32::from(self.hour), 2);
        out.push(b':');
        put_padded(out, u32::from(self.minute), 2);
        out.push(b':');
        put_padded(out, u32::from(self.second), 2);
        put_fraction(out, self.micros, fsp);
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_via_bytes(f, |out| self.write_text(6, out))
    }
}

impl FromStr for DateTime {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseValueError::new("datetime", s);
        let (date, time) = s.split_once(' ').ok_or_else(err)?;
        let date: Date = date.parse().map_err(|_| err())?;
        let t: Time = time.parse().map_err(|_| err())?;
        if t.negative || t.hours > 23 {
            return Err(err());
        }
        Ok(DateTime {
            date,
            hour: t.hours as u8,
            minute: t.minutes,
            second: t.seconds,
            micros: t.micros,
        })
    }
}

/// Appends `n` in decimal, zero-padded on the left to at least `width` digits (a wider number
/// keeps all its digits, as `{n:0width$}` does).
fn put_padded(out: &mut Vec<u8>, mut n: u32, width: usize) {
    if width == 2 && n < 100 {
        // Months, days, minutes, seconds: the common case, without the digit loop.
        out.push(b'0' + (n / 10) as u8);
        out.push(b'0' + (n % 10) as u8);
        return;
    }
    let mut digits = [b'0'; 10];
    let mut start = digits.len();
    while n > 0 || start == digits.len() {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = digits.len() - start;
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(len)));
    out.extend_from_slice(&digits[start..]);
}

/// Appends `.ffffff` (µs zero-padded to six digits) cut to `fsp` digits (at most 6); nothing
/// for fsp 0.
fn put_fraction(out: &mut Vec<u8>, micros: u32, fsp: u8) {
    if fsp == 0 {
        return;
    }
    out.push(b'.');
    let at = out.len();
    put_padded(out, micros, 6);
    out.truncate(at + usize::from(fsp.min(6)));
}

/// The text a byte writer produces (the writers above emit ASCII only).
fn text_of(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::with_capacity(32);
    write(&mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// `Display` through a byte writer (off the hot path: encoders call `write_text`).
fn write_via_bytes(f: &mut fmt::Formatter<'_>, write: impl FnOnce(&mut Vec<u8>)) -> fmt::Result {
    f.write_str(&text_of(write))
}

/// Splits `HH:MM:SS[.f{1,6}]` into the part before the dot and the fraction in µs.
fn split_fraction(s: &str) -> Option<(&str, u32)> {
    match s.split_once('.') {
        None => Some((s, 0)),
        Some((whole, frac)) if !frac.is_empty() && frac.len() <= 6 => {
            let digits: u32 = frac.parse().ok()?;
            Some((whole, digits * 10u32.pow(6 - frac.len() as u32)))
        }
        Some(_) => None,
    }
}

macro_rules! serde_via_string {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_via_string!(Date, Time, DateTime);

mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Value) {
        let json = serde_json::to_string(&v).unwrap();
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v, "{json}");
    }

    #[test]
    fn every_variant_round_trips_through_json() {
        round_trip(Value::Null);
        round_trip(Value::Int(i64::MIN));
        round_trip(Value::UInt(u64::MAX));
        round_trip(Value::Float(1.25));
        round_trip(Value::Double(-2.5e300));
        round_trip(Value::Decimal("-12345678901234567890.12".into()));
        round_trip(Value::Text(String::new()));
        round_trip(Value::Bytes(vec![0, 255, 0x80, b' ']));
        round_trip(Value::Date("0000-00-00".parse().unwrap()));
        round_trip(Value::Time("-838:59:59.000001".parse().unwrap()));
        round_trip(Value::DateTime(
            "2026-04-27 09:11:59.120000".parse().unwrap(),
        ));
        round_trip(Value::Json(r#"{"a": [1, "x"]}"#.into()));
    }

    #[test]
    fn json_shape_is_compact_and_exact() {
        assert_eq!(serde_json::to_string(&Value::Null).unwrap(), r#""null""#);
        assert_eq!(
            serde_json::to_string(&Value::UInt(u64::MAX)).unwrap(),
            r#"{"uint":18446744073709551615}"#
        );
    }

    #[test]
    fn time_text_honours_fsp() {
        let t: Time = "-01:02:03.5".parse().unwrap();
        assert_eq!(t.micros, 500_000);
        assert_eq!(t.to_text(0), "-01:02:03");
        assert_eq!(t.to_text(2), "-01:02:03.50");
        let dt: DateTime = "2026-04-27 09:11:59.000001".parse().unwrap();
        assert_eq!(dt.to_text(6), "2026-04-27 09:11:59.000001");
        assert_eq!(dt.to_text(0), "2026-04-27 09:11:59");
    }

    /// The `format!` forms the writers replaced, kept as the reference they must equal.
    fn reference_time(t: &Time, fsp: u8) -> String {
        let sign = if t.negative { "-" } else { "" };
        let digits = format!("{:06}", t.micros);
        let frac = match fsp {
            0 => String::new(),
            n => format!(".{}", &digits[..usize::from(n.min(6))]),
        };
        format!(
            "{sign}{:02}:{:02}:{:02}{frac}",
            t.hours, t.minutes, t.seconds
        )
    }

    fn reference_datetime(dt: &DateTime, fsp: u8) -> String {
        let d = dt.date;
        let time = Time {
            negative: false,
            hours: u32::from(dt.hour),
            minutes: dt.minute,
            seconds: dt.second,
            micros: dt.micros,
        };
        let date = format!("{:04}-{:02}-{:02}", d.year, d.month, d.day);
        format!("{date} {}", reference_time(&time, fsp))
    }

    #[test]
    fn writers_match_the_format_reference_at_every_fsp() {
        let times = [
            Time::default(),
            "-838:59:59.999999".parse().unwrap(),
            "838:59:59.000001".parse().unwrap(),
            "-00:00:00.5".parse().unwrap(),
            "-01:02:03.000120".parse().unwrap(),
            "100:00:09".parse().unwrap(),
        ];
        let datetimes = [
            DateTime::default(),
            "0000-00-00 00:00:00".parse().unwrap(),
            "0001-01-01 00:00:00.000001".parse().unwrap(),
            "0099-12-31 23:59:59.999999".parse().unwrap(),
            "2026-04-27 09:11:59.120000".parse().unwrap(),
            "9999-12-31 23:59:59.5".parse().unwrap(),
        ];
        for fsp in 0..=7 {
            for t in &times {
                assert_eq!(t.to_text(fsp), reference_time(t, fsp), "{t:?} fsp {fsp}");
            }
            for dt in &datetimes {
                assert_eq!(
                    dt.to_text(fsp),
                    reference_datetime(dt, fsp),
                    "{dt:?} fsp {fsp}"
                );
            }
        }
        let t: Time = "-01:02:03.5".parse().unwrap();
        assert_eq!(t.to_string(), "-01:02:03.500000");
        let dt: DateTime = "0000-00-00 00:00:00".parse().unwrap();
        assert_eq!(dt.to_string(), "0000-00-00 00:00:00.000000");
        assert_eq!(Date::default().to_string(), "0000-00-00");
    }

    #[test]
    fn writers_keep_every_digit_of_out_of_range_fields() {
        let date = Date {
            year: 65535,
            month: 255,
            day: 7,
        };
        assert_eq!(date.to_string(), "65535-255-07");
        let time = Time {
            negative: true,
            hours: 123_456,
            minutes: 5,
            seconds: 60,
            micros: 1_234_567,
        };
        assert_eq!(time.to_text(6), reference_time(&time, 6));
        assert_eq!(time.to_text(3), "-123456:05:60.123");
        let mut out = b"x".to_vec();
        time.write_text(0, &mut out);
        assert_eq!(out, b"x-123456:05:60");
    }

    #[test]
    fn malformed_literals_are_errors() {
        assert!("2026-04".parse::<Date>().is_err());
        assert!("10:00:00.1234567".parse::<Time>().is_err());
        assert!("2026-04-27 24:00:00".parse::<DateTime>().is_err());
    }
}
