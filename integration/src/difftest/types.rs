//! Column types, their DDL spelling and random SQL literals of each.
//!
//! Literals are SQL text sent unchanged to the source and to the twin, so both store the same
//! value whatever MariaDB makes of it (rounding, padding, zero dates).

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::dims::{ColumnCharset, TypeClass};

/// Integer widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntW {
    /// TINYINT, 8 bits.
    Tiny,
    /// SMALLINT, 16 bits.
    Small,
    /// MEDIUMINT, 24 bits.
    Medium,
    /// INT, 32 bits.
    Int,
    /// BIGINT, 64 bits.
    Big,
}

impl IntW {
    fn bits(self) -> u32 {
        match self {
            IntW::Tiny => 8,
            IntW::Small => 16,
            IntW::Medium => 24,
            IntW::Int => 32,
            IntW::Big => 64,
        }
    }
    fn sql(self) -> &'static str {
        match self {
            IntW::Tiny => "TINYINT",
            IntW::Small => "SMALLINT",
            IntW::Medium => "MEDIUMINT",
            IntW::Int => "INT",
            IntW::Big => "BIGINT",
        }
    }
}

/// TEXT/BLOB sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LobW {
    /// TINYTEXT/TINYBLOB (255 bytes).
    Tiny,
    /// TEXT/BLOB (64 KiB).
    Normal,
    /// MEDIUMTEXT/MEDIUMBLOB (16 MiB).
    Medium,
    /// LONGTEXT/LONGBLOB (4 GiB).
    Long,
}

impl LobW {
    fn prefix(self) -> &'static str {
        match self {
            LobW::Tiny => "TINY",
            LobW::Normal => "",
            LobW::Medium => "MEDIUM",
            LobW::Long => "LONG",
        }
    }
    fn max_bytes(self) -> usize {
        match self {
            LobW::Tiny => 255,
            _ => 100_000,
        }
    }
}

/// A string column's charset and collation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cs {
    /// The charset.
    pub charset: ColumnCharset,
    /// `_bin` collation instead of the charset's default `_ci` one.
    pub bin: bool,
}

impl Cs {
    /// `CHARACTER SET x COLLATE y`.
    pub fn sql(self) -> String {
        let (cs, coll) = match (self.charset, self.bin) {
            (ColumnCharset::Utf8mb4, false) => ("utf8mb4", "utf8mb4_general_ci"),
            (ColumnCharset::Utf8mb4, true) => ("utf8mb4", "utf8mb4_bin"),
            (ColumnCharset::Utf8mb3, false) => ("utf8mb3", "utf8mb3_general_ci"),
            (ColumnCharset::Utf8mb3, true) => ("utf8mb3", "utf8mb3_bin"),
            (ColumnCharset::Latin1, false) => ("latin1", "latin1_swedish_ci"),
            (ColumnCharset::Latin1, true) => ("latin1", "latin1_bin"),
            (ColumnCharset::Binary, _) => return "CHARACTER SET binary".to_owned(),
        };
        format!("CHARACTER SET {cs} COLLATE {coll}")
    }
}

/// A column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// Integer of a width, `true` = UNSIGNED.
    Int(IntW, bool),
    /// YEAR.
    Year,
    /// BIT(n), 1..=64.
    Bit(u8),
    /// DECIMAL(p, s), `true` = UNSIGNED.
    Decimal(u8, u8, bool),
    /// FLOAT.
    Float,
    /// DOUBLE.
    Double,
    /// DATE.
    Date,
    /// TIME(fsp).
    Time(u8),
    /// DATETIME(fsp).
    DateTime(u8),
    /// TIMESTAMP(fsp) (always declared NULL or with an explicit default).
    Timestamp(u8),
    /// CHAR(n).
    Char(u16, Cs),
    /// VARCHAR(n).
    VarChar(u16, Cs),
    /// TEXT kinds.
    Text(LobW, Cs),
    /// BINARY(n).
    Binary(u16),
    /// VARBINARY(n).
    VarBinary(u16),
    /// BLOB kinds.
    Blob(LobW),
    /// ENUM(labels).
    Enum(Vec<String>),
    /// SET(labels).
    Set(Vec<String>),
    /// JSON.
    Json,
    /// GEOMETRY.
    Geometry,
    /// POINT.
    Point,
    /// UUID.
    Uuid,
    /// INET4.
    Inet4,
    /// INET6.
    Inet6,
}

impl Ty {
    /// The type as written in CREATE TABLE.
    pub fn sql(&self) -> String {
        let labels = |l: &[String]| {
            l.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Ty::Int(w, u) => format!("{}{}", w.sql(), if *u { " UNSIGNED" } else { "" }),
            Ty::Year => "YEAR".to_owned(),
            Ty::Bit(n) => format!("BIT({n})"),
            Ty::Decimal(p, s, u) => {
                format!("DECIMAL({p},{s}){}", if *u { " UNSIGNED" } else { "" })
            }
            Ty::Float => "FLOAT".to_owned(),
            Ty::Double => "DOUBLE".to_owned(),
            Ty::Date => "DATE".to_owned(),
            Ty::Time(f) => format!("TIME({f})"),
            Ty::DateTime(f) => format!("DATETIME({f})"),
            Ty::Timestamp(f) => format!("TIMESTAMP({f})"),
            Ty::Char(n, cs) => format!("CHAR({n}) {}", cs.sql()),
            Ty::VarChar(n, cs) => format!("VARCHAR({n}) {}", cs.sql()),
            Ty::Text(w, cs) => format!("{}TEXT {}", w.prefix(), cs.sql()),
            Ty::Binary(n) => format!("BINARY({n})"),
            Ty::VarBinary(n) => format!("VARBINARY({n})"),
            Ty::Blob(w) => format!("{}BLOB", w.prefix()),
            Ty::Enum(l) => format!("ENUM({})", labels(l)),
            Ty::Set(l) => format!("SET({})", labels(l)),
            Ty::Json => "JSON".to_owned(),
            Ty::Geometry => "GEOMETRY".to_owned(),
            Ty::Point => "POINT".to_owned(),
            Ty::Uuid => "UUID".to_owned(),
            Ty::Inet4 => "INET4".to_owned(),
            Ty::Inet6 => "INET6".to_owned(),
        }
    }

    /// Whether it may be (part of) a key: fixed-size or short types with a plain order.
    pub fn keyable(&self) -> bool {
        match self {
            Ty::Int(..) | Ty::Decimal(..) | Ty::Date | Ty::DateTime(_) | Ty::Binary(_) => true,
            Ty::VarBinary(n) => *n <= 64,
            Ty::Char(n, _) | Ty::VarChar(n, _) => *n <= 64,
            _ => false,
        }
    }

    /// An integer type (generated columns derive from these).
    pub fn is_int(&self) -> bool {
        matches!(self, Ty::Int(..))
    }
}

/// A random type of `class`; string types take a charset from `charsets` (non-empty).
pub fn random_type(rng: &mut StdRng, class: TypeClass, charsets: &[ColumnCharset]) -> Ty {
    let cs = |rng: &mut StdRng| Cs {
        charset: *charsets.choose(rng).unwrap_or(&ColumnCharset::Utf8mb4),
        bin: rng.random_bool(0.3),
    };
    let lob = |rng: &mut StdRng| {
        *[LobW::Tiny, LobW::Normal, LobW::Medium, LobW::Long]
            .choose(rng)
            .expect("non-empty")
    };
    match class {
        TypeClass::Int => Ty::Int(
            *[IntW::Tiny, IntW::Small, IntW::Medium, IntW::Int, IntW::Big]
                .choose(rng)
                .expect("non-empty"),
            rng.random_bool(0.5),
        ),
        TypeClass::Year => Ty::Year,
        TypeClass::Bit => Ty::Bit(*[1u8, 2, 7, 8, 9, 17, 33, 63, 64].choose(rng).expect("x")),
        TypeClass::Decimal => {
            let p = *[1u8, 5, 10, 18, 19, 30, 65].choose(rng).expect("x");
            let s = rng.random_range(0..=p.min(30));
            Ty::Decimal(p, s, rng.random_bool(0.3))
        }
        TypeClass::Float => {
            if rng.random_bool(0.5) {
                Ty::Float
            } else {
                Ty::Double
            }
        }
        TypeClass::Temporal => {
            let f = rng.random_range(0..=6u8);
            match rng.random_range(0..4) {
                0 => Ty::Date,
                1 => Ty::Time(f),
                2 => Ty::DateTime(f),
                _ => Ty::Timestamp(f),
            }
        }
        TypeClass::Char => Ty::Char(rng.random_range(1..=40), cs(rng)),
        TypeClass::Text => match rng.random_range(0..2) {
            0 => Ty::VarChar(*[1u16, 20, 64, 300].choose(rng).expect("x"), cs(rng)),
            _ => Ty::Text(lob(rng), cs(rng)),
        },
        TypeClass::Binary => match rng.random_range(0..3) {
            0 => Ty::Binary(rng.random_range(1..=16)),
            1 => Ty::VarBinary(*[1u16, 16, 300].choose(rng).expect("x")),
            _ => Ty::Blob(lob(rng)),
        },
        TypeClass::EnumSet => {
            let n = *[1usize, 3, 8, 64, 300].choose(rng).expect("x");
            let is_set = rng.random_bool(0.4);
            let n = if is_set { n.min(64) } else { n };
            let labels: Vec<String> = (0..n)
                .map(|i| match i % 4 {
                    0 => format!("v{i}"),
                    1 => format!("é{i}"),
                    2 => format!("x {i}"),
                    _ => format!("V{i}"),
                })
                .collect();
            if is_set {
                Ty::Set(labels)
            } else {
                Ty::Enum(labels)
            }
        }
        TypeClass::Json => Ty::Json,
        TypeClass::Geometry => {
            if rng.random_bool(0.5) {
                Ty::Geometry
            } else {
                Ty::Point
            }
        }
        TypeClass::Fbt => match rng.random_range(0..3) {
            0 => Ty::Uuid,
            1 => Ty::Inet4,
            _ => Ty::Inet6,
        },
        TypeClass::Generated => Ty::Int(IntW::Big, false),
    }
}

/// A random key-able type: integers, short strings, DECIMAL, DATE, DATETIME, BINARY.
pub fn random_key_type(rng: &mut StdRng, types: &[TypeClass], charsets: &[ColumnCharset]) -> Ty {
    let mut options = vec![TypeClass::Int];
    for t in [
        TypeClass::Text,
        TypeClass::Char,
        TypeClass::Decimal,
        TypeClass::Temporal,
        TypeClass::Binary,
    ] {
        if types.contains(&t) {
            options.push(t);
        }
    }
    match *options.choose(rng).expect("non-empty") {
        class @ (TypeClass::Text | TypeClass::Char) => {
            let cs = Cs {
                charset: *charsets
                    .iter()
                    .filter(|c| **c != ColumnCharset::Binary)
                    .collect::<Vec<_>>()
                    .choose(rng)
                    .copied()
                    .unwrap_or(&ColumnCharset::Utf8mb4),
                bin: rng.random_bool(0.3),
            };
            if class == TypeClass::Char {
                Ty::Char(rng.random_range(2..=10), cs)
            } else {
                Ty::VarChar(rng.random_range(2..=20), cs)
            }
        }
        TypeClass::Decimal => Ty::Decimal(8, rng.random_range(0..=3), rng.random_bool(0.3)),
        TypeClass::Temporal => {
            if rng.random_bool(0.5) {
                Ty::Date
            } else {
                Ty::DateTime(rng.random_range(0..=6))
            }
        }
        TypeClass::Binary => {
            if rng.random_bool(0.5) {
                Ty::Binary(rng.random_range(1..=6))
            } else {
                Ty::VarBinary(rng.random_range(2..=8))
            }
        }
        _ => Ty::Int(
            *[IntW::Tiny, IntW::Small, IntW::Int, IntW::Big]
                .choose(rng)
                .expect("x"),
            rng.random_bool(0.4),
        ),
    }
}

/// Characters string values are drawn from, per charset: every one is representable in it.
fn alphabet(cs: ColumnCharset) -> &'static [&'static str] {
    match cs {
        ColumnCharset::Latin1 => &[
            "a", "b", "A", "z", " ", "é", "É", "ü", "ß", "€", "‰", "Ÿ", "'", "\\", "0",
        ],
        ColumnCharset::Utf8mb3 => &[
            "a", "b", "A", " ", "é", "ñ", "中", "✓", "€", "'", "\\", "\t", "0",
        ],
        _ => &[
            "a", "b", "B", " ", "é", "E", "ñ", "中", "😀", "🎉", "€", "'", "\\", "\n", "0",
        ],
    }
}

/// A quoted SQL string literal of `s` (quotes and backslashes escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `X'…'` of `bytes` (`''` for none: MariaDB reads `X''` as the empty string).
pub fn hex_literal(bytes: &[u8]) -> String {
    let mut out = String::from("X'");
    for b in bytes {
        out.push_str(&format!("{b:02X}"));
    }
    out.push('\'');
    out
}

fn random_text(rng: &mut StdRng, cs: ColumnCharset, max_chars: usize) -> String {
    if cs == ColumnCharset::Binary {
        unreachable!("binary strings are hex literals");
    }
    let n = match rng.random_range(0..10) {
        0 => 0,
        1 => max_chars,
        _ => rng.random_range(0..=max_chars.min(12)),
    };
    let a = alphabet(cs);
    let mut s: String = (0..n).map(|_| *a.choose(rng).expect("x")).collect();
    if rng.random_bool(0.1) && !s.is_empty() {
        s.pop();
        s.push(' ');
    }
    s
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = match rng.random_range(0..10) {
        0 => 0,
        1 => max,
        _ => rng.random_range(0..=max.min(12)),
    };
    (0..n)
        .map(|_| {
            *[0u8, 0x20, 0x61, 0x7f, 0x80, 0xff, 0xe9]
                .choose(rng)
                .expect("x")
        })
        .collect()
}

fn random_digits(rng: &mut StdRng, n: u8) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A random non-NULL literal of type `ty` (an SQL expression the source and the twin evaluate
/// the same way).
pub fn random_literal(rng: &mut StdRng, ty: &Ty) -> String {
    match ty {
        Ty::Int(w, unsigned) => {
            let bits = w.bits();
            let (min, max): (i128, i128) = if *unsigned {
                (0, (1i128 << bits) - 1)
            } else {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            };
            let v = match rng.random_range(0..6) {
                0 => min,
                1 => max,
                2 => 0,
                3 => 1.min(max),
                4 => rng.random_range(min..=max),
                _ => rng.random_range(min.max(-100)..=max.min(100)),
            };
            v.to_string()
        }
        Ty::Year => match rng.random_range(0..4) {
            0 => "0".to_owned(),
            1 => "1901".to_owned(),
            2 => "2155".to_owned(),
            _ => rng.random_range(1901..=2155).to_string(),
        },
        Ty::Bit(n) => {
            let max: u128 = (1u128 << n) - 1;
            let v = match rng.random_range(0..4) {
                0 => 0,
                1 => max,
                _ => rng.random_range(0..=max),
            };
            format!("b'{v:b}'")
        }
        Ty::Decimal(p, s, unsigned) => {
            let int_digits = p - s;
            let all9 = rng.random_bool(0.15);
            let int = if all9 {
                "9".repeat(int_digits.into())
            } else {
                {
                    let n = rng.random_range(0..=int_digits);
                    random_digits(rng, n)
                }
            };
            let frac = if all9 {
                "9".repeat((*s).into())
            } else {
                {
                    let n = rng.random_range(0..=*s);
                    random_digits(rng, n)
                }
            };
            let int = if int.is_empty() { "0".to_owned() } else { int };
            let sign = if !unsigned && rng.random_bool(0.4) {
                "-"
            } else {
                ""
            };
            if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            }
        }
        Ty::Float => {
            let v: f32 = match rng.random_range(0..6) {
                0 => 0.0,
                1 => 3.402_823e38,
                2 => -1.175_494_4e-38,
                3 => 0.1,
                _ => (rng.random::<f32>() - 0.5) * 10f32.powi(rng.random_range(-10..10)),
            };
            format!("{v:e}")
        }
        Ty::Double => {
            let v: f64 = match rng.random_range(0..6) {
                0 => 0.0,
                1 => 1.797_693_134_862_315_7e308,
                2 => 5e-324,
                3 => 0.1,
                _ => (rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-30..30)),
            };
            format!("{v:e}")
        }
        Ty::Date => quote(&random_date(rng, false)),
        Ty::Time(f) => {
            let neg = if rng.random_bool(0.3) { "-" } else { "" };
            let h = if rng.random_bool(0.1) {
                838
            } else {
                rng.random_range(0..=838)
            };
            let frac = random_frac(rng, *f);
            quote(&format!(
                "{neg}{h:02}:{:02}:{:02}{frac}",
                rng.random_range(0..60),
                rng.random_range(0..60)
            ))
        }
        Ty::DateTime(f) => quote(&format!(
            "{} {}{}",
            random_date(rng, false),
            random_clock(rng),
            random_frac(rng, *f)
        )),
        Ty::Timestamp(f) => {
            let y = rng.random_range(1971..=2037);
            quote(&format!(
                "{y:04}-{:02}-{:02} {}{}",
                rng.random_range(1..=12),
                rng.random_range(1..=28),
                random_clock(rng),
                random_frac(rng, *f)
            ))
        }
        Ty::Char(n, cs) | Ty::VarChar(n, cs) => {
            if cs.charset == ColumnCharset::Binary {
                hex_literal(&random_bytes(rng, usize::from(*n)))
            } else {
                quote(&random_text(rng, cs.charset, usize::from(*n)))
            }
        }
        Ty::Text(w, cs) => {
            let long = rng.random_bool(0.05) && *w != LobW::Tiny;
            if cs.charset == ColumnCharset::Binary {
                if long {
                    format!("REPEAT(X'00FF61', {})", w.max_bytes() / 3)
                } else {
                    hex_literal(&random_bytes(rng, 40))
                }
            } else if long {
                format!("REPEAT({}, 20000)", quote("aé€ "))
            } else {
                // 4 bytes per character at most: stay within TINYTEXT's 255 bytes.
                quote(&random_text(rng, cs.charset, 60))
            }
        }
        Ty::Binary(n) | Ty::VarBinary(n) => hex_literal(&random_bytes(rng, usize::from(*n))),
        Ty::Blob(w) => {
            if rng.random_bool(0.05) && *w != LobW::Tiny {
                format!("REPEAT(X'00FF10', {})", w.max_bytes() / 3)
            } else {
                hex_literal(&random_bytes(rng, 40))
            }
        }
        Ty::Enum(labels) => quote(labels.choose(rng).expect("labels")),
        Ty::Set(labels) => {
            let picked: Vec<&str> = labels
                .iter()
                .filter(|_| rng.random_bool(0.3))
                .map(String::as_str)
                .collect();
            quote(&picked.join(","))
        }
        Ty::Json => quote(
            [
                "{\"a\": 1, \"b\": [1, 2.5, \"x\", null, true, false]}",
                "[]",
                "{}",
                "\"just a string\"",
                "123456789012345678901234567890",
                "-1.5e300",
                "{\"k\": {\"ü\": \"😀\", \"n\": [[], {}]}}",
                "null",
                "[1, -2, 18446744073709551615, -9223372036854775808]",
                "{\"z\": 1, \"a\": 2}",
            ]
            .choose(rng)
            .expect("x"),
        ),
        Ty::Geometry => match rng.random_range(0..4) {
            0 => "ST_GeomFromText('POINT(1 2)')".to_owned(),
            1 => "ST_GeomFromText('LINESTRING(0 0, 1 1, -2.5 3e10)')".to_owned(),
            2 => "ST_GeomFromText('POLYGON((0 0, 0 1, 1 1, 0 0))', 4326)".to_owned(),
            _ => format!(
                "ST_GeomFromText('POINT({} {})')",
                rng.random_range(-1000..1000),
                rng.random::<f32>()
            ),
        },
        Ty::Point => format!(
            "ST_GeomFromText('POINT({} {})')",
            rng.random_range(-1000..1000),
            rng.random_range(-5..5)
        ),
        Ty::Uuid => {
            let b: [u8; 16] = rng.random();
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            quote(&format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        Ty::Inet4 => {
            let b: [u8; 4] = rng.random();
            quote(&format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
        }
        Ty::Inet6 => quote(
            [
                "::",
                "::1",
                "2001:db8::ff00:42:8329",
                "fe80::1",
                "::ffff:10.0.0.1",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            ]
            .choose(rng)
            .expect("x"),
        ),
    }
}

fn random_date(rng: &mut StdRng, allow_zero: bool) -> String {
    if allow_zero && rng.random_bool(0.05) {
        return "0000-00-00".to_owned();
    }
    match rng.random_range(0..6) {
        0 => "1000-01-01".to_owned(),
        1 => "9999-12-31".to_owned(),
        2 => "2024-02-29".to_owned(),
        _ => format!(
            "{:04}-{:02}-{:02}",
            rng.random_range(1000..=9999),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        ),
    }
}

fn random_clock(rng: &mut StdRng) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60)
    )
}

/// `.ffffff` with up to `fsp` digits (sometimes more, which MariaDB rounds), or nothing.
fn random_frac(rng: &mut StdRng, fsp: u8) -> String {
    if rng.random_bool(0.3) {
        return String::new();
    }
    let digits = if rng.random_bool(0.1) { 6 } else { fsp.max(1) };
    format!(".{}", random_digits(rng, digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn literals_are_quoted_and_typed() {
        assert_eq!(quote("a'b\\c"), "'a''b\\\\c'");
        assert_eq!(hex_literal(&[0, 0xab]), "X'00AB'");
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let v = random_literal(&mut rng, &Ty::Int(IntW::Tiny, true));
            let n: i64 = v.parse().expect("integer");
            assert!((0..=255).contains(&n), "{v}");
            let d = random_literal(&mut rng, &Ty::Decimal(5, 2, true));
            assert!(!d.starts_with('-') && d.len() <= 6, "{d}");
        }
    }
}
