//! The VALUES tuples of mydumper's INSERT statements: quoted strings with MySQL's backslash
//! escapes and doubled quotes, `0x` hex literals, `NULL` and unquoted numbers, across `SET ...;`
//! lines and `/* ... */` comments.

use crate::baseline::BaselineError;

/// One literal of a VALUES tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `NULL`.
    Null,
    /// An unquoted number, as written.
    Number(String),
    /// A quoted string (escapes resolved) or a `0x…` hex literal: raw bytes.
    Bytes(Vec<u8>),
}

/// Reads the VALUES tuples of the INSERT statements of one data file, in order.
pub struct ValuesReader<'a> {
    s: &'a [u8],
    i: usize,
    in_values: bool,
    /// Column names of the current INSERT's column list (empty: table order).
    pub columns: Vec<String>,
}

impl<'a> ValuesReader<'a> {
    /// A reader over the whole file text.
    pub fn new(s: &'a [u8]) -> Self {
        Self {
            s,
            i: 0,
            in_values: false,
            columns: Vec::new(),
        }
    }

    fn err(&self, what: &str) -> BaselineError {
        BaselineError::Invalid(format!("dump data at byte {}: {what}", self.i))
    }

    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn starts_with_ci(&self, word: &str) -> bool {
        self.s.len() >= self.i + word.len()
            && self.s[self.i..self.i + word.len()].eq_ignore_ascii_case(word.as_bytes())
    }

    /// The next tuple, or `None` at the end of the file.
    pub fn next_tuple(&mut self) -> Result<Option<Vec<Literal>>, BaselineError> {
        loop {
            self.skip_ws();
            if self.i >= self.s.len() {
                return Ok(None);
            }
            if self.in_values {
                match self.s[self.i] {
                    b'(' => return self.tuple().map(Some),
                    b',' => self.i += 1,
                    b';' => {
                        self.i += 1;
                        self.in_values = false;
                    }
                    _ => return Err(self.err("expected a VALUES tuple")),
                }
                continue;
            }
            if self.starts_with_ci("/*") {
                let end =
                    find(self.s, self.i + 2, b"*/").ok_or_else(|| self.err("open comment"))?;
                self.i = end + 2;
            } else if self.starts_with_ci("--") || self.starts_with_ci("#") {
                self.i = find(self.s, self.i, b"\n").map_or(self.s.len(), |e| e + 1);
            } else if self.s[self.i] == b';' {
                self.i += 1;
            } else if self.starts_with_ci("INSERT") {
                self.insert_head()?;
            } else {
                // SET ... and the like: no strings with ';' in what mydumper writes there.
                self.i = find(self.s, self.i, b";").map_or(self.s.len(), |e| e + 1);
            }
        }
    }

    /// `INSERT [IGNORE] INTO <name> [(<cols>)] VALUES`.
    fn insert_head(&mut self) -> Result<(), BaselineError> {
        let values =
            find_ci(self.s, self.i, b"VALUES").ok_or_else(|| self.err("INSERT without VALUES"))?;
        let head = String::from_utf8_lossy(&self.s[self.i..values]).into_owned();
        self.columns = match (head.find('('), head.rfind(')')) {
            (Some(a), Some(b)) if a < b => head[a + 1..b]
                .split(',')
                .map(|c| c.trim().trim_matches('`').replace("``", "`"))
                .collect(),
            _ => Vec::new(),
        };
        self.i = values + "VALUES".len();
        self.in_values = true;
        Ok(())
    }

    fn tuple(&mut self) -> Result<Vec<Literal>, BaselineError> {
        self.i += 1; // (
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            let c = *self
                .s
                .get(self.i)
                .ok_or_else(|| self.err("unterminated tuple"))?;
            match c {
                b'\'' | b'"' => out.push(Literal::Bytes(self.quoted(c)?)),
                b')' if out.is_empty() => {
                    self.i += 1;
                    return Ok(out);
                }
                _ if self.starts_with_ci("NULL") => {
                    self.i += 4;
                    out.push(Literal::Null);
                }
                _ if self.starts_with_ci("0x") => {
                    let start = self.i + 2;
                    let end = self.scan_word(start);
                    out.push(Literal::Bytes(
                        hex(&self.s[start..end]).ok_or_else(|| self.err("bad hex literal"))?,
                    ));
                    self.i = end;
                }
                _ => {
                    let end = self.scan_word(self.i);
                    if end == self.i {
                        return Err(self.err("unexpected character in VALUES"));
                    }
                    out.push(Literal::Number(
                        String::from_utf8_lossy(&self.s[self.i..end]).into_owned(),
                    ));
                    self.i = end;
                }
            }
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.err("expected , or ) in a tuple")),
            }
        }
    }

    fn scan_word(&self, from: usize) -> usize {
        let mut j = from;
        while j < self.s.len()
            && !matches!(self.s[j], b',' | b')')
            && !self.s[j].is_ascii_whitespace()
        {
            j += 1;
        }
        j
    }

    /// A quoted string with MySQL's backslash escapes and doubled quotes.
    fn quoted(&mut self, q: u8) -> Result<Vec<u8>, BaselineError> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self
                .s
                .get(self.i)
                .ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'\\' => {
                    let e = *self
                        .s
                        .get(self.i)
                        .ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    out.push(match e {
                        b'0' => 0,
                        b'b' => 8,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'Z' => 26,
                        other => other,
                    });
                }
                c if c == q => {
                    if self.s.get(self.i) == Some(&q) {
                        self.i += 1;
                        out.push(q);
                    } else {
                        return Ok(out);
                    }
                }
                c => out.push(c),
            }
        }
    }
}

fn find(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

fn find_ci(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?
        .windows(pat.len())
        .position(|w| w.eq_ignore_ascii_case(pat))
        .map(|p| p + from)
}

fn hex(h: &[u8]) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    h.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}
