//! JSON diffs of PARTIAL_UPDATE_ROWS events applied to the before document.
//!
//! Layout (MySQL `sql/json_diff.cc`, `Json_diff_vector::read_binary`): diffs back to back, each
//! `operation u8` (0 REPLACE, 1 INSERT, 2 REMOVE), `path` (length-encoded string, MySQL JSON path
//! text such as `$.age`, `$."a b"[2]`), and for REPLACE/INSERT a length-encoded binary JSON
//! value. REPLACE swaps the value at the path, INSERT adds an object member or inserts into an
//! array at the index (appends past the end), REMOVE deletes the member or element. A diff whose
//! path does not lead to a value of the right kind is an error: the document would not be MySQL's.

use serde_json::Value as Json;

/// One step of a JSON path.
#[derive(Debug, PartialEq)]
enum Leg {
    Member(String),
    Index(usize),
}

/// Applies the encoded `diffs` to the JSON text `doc`; the result in the same text form as
/// [`super::rows`] writes documents.
pub fn apply(doc: &str, diffs: &[u8]) -> Result<String, String> {
    let mut value: Json = serde_json::from_str(doc).map_err(|e| format!("before document: {e}"))?;
    let mut rest = diffs;
    while !rest.is_empty() {
        let op = rest[0];
        rest = &rest[1..];
        let path_len = lenenc(&mut rest).ok_or("diff path cut short")?;
        let path = take(&mut rest, path_len).ok_or("diff path cut short")?;
        let path = std::str::from_utf8(path).map_err(|_| "diff path is not UTF-8")?;
        let legs = parse_path(path).ok_or_else(|| format!("unsupported JSON path {path:?}"))?;
        let new = if op == 2 {
            None
        } else {
            let len = lenenc(&mut rest).ok_or("diff value cut short")?;
            let bytes = take(&mut rest, len).ok_or("diff value cut short")?;
            let text = super::rows::json_text(bytes).ok_or("diff value is not binary JSON")?;
            Some(serde_json::from_str::<Json>(&text).map_err(|e| e.to_string())?)
        };
        apply_one(&mut value, op, &legs, new).map_err(|e| format!("{e} at {path}"))?;
    }
    Ok(value.to_string())
}

fn apply_one(doc: &mut Json, op: u8, legs: &[Leg], new: Option<Json>) -> Result<(), String> {
    let Some((last, parents)) = legs.split_last() else {
        return match (op, new) {
            (0, Some(v)) => {
                *doc = v;
                Ok(())
            }
            _ => Err("diff on the document root".into()),
        };
    };
    let mut parent = doc;
    for leg in parents {
        parent = match (leg, parent) {
            (Leg::Member(m), Json::Object(o)) => o.get_mut(m).ok_or("no such member")?,
            (Leg::Index(i), Json::Array(a)) => a.get_mut(*i).ok_or("no such element")?,
            _ => return Err("path leads through a scalar".into()),
        };
    }
    match (op, last, parent, new) {
        (0, Leg::Member(m), Json::Object(o), Some(v)) => {
            *o.get_mut(m).ok_or("REPLACE of a missing member")? = v;
        }
        (0, Leg::Index(i), Json::Array(a), Some(v)) => {
            *a.get_mut(*i).ok_or("REPLACE of a missing element")? = v;
        }
        (1, Leg::Member(m), Json::Object(o), Some(v)) => {
            o.insert(m.clone(), v);
        }
        (1, Leg::Index(i), Json::Array(a), Some(v)) => {
            let at = (*i).min(a.len());
            a.insert(at, v);
        }
        (2, Leg::Member(m), Json::Object(o), None) => {
            o.remove(m).ok_or("REMOVE of a missing member")?;
        }
        (2, Leg::Index(i), Json::Array(a), None) => {
            if *i >= a.len() {
                return Err("REMOVE of a missing element".into());
            }
            a.remove(*i);
        }
        (op, ..) => {
            return Err(format!(
                "JSON diff operation {op} does not fit the document"
            ))
        }
    }
    Ok(())
}

/// `$` followed by `.member`, `."quoted member"` and `[index]` legs (the forms MySQL writes).
fn parse_path(path: &str) -> Option<Vec<Leg>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut legs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(legs);
        }
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            legs.push(Leg::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if r.starts_with('"') {
                // A JSON string literal: find its closing quote, skipping escapes.
                let bytes = r.as_bytes();
                let mut i = 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let name: String = serde_json::from_str(r.get(..=i)?).ok()?;
                legs.push(Leg::Member(name));
                rest = &r[i + 1..];
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = r[..end].trim();
                if name.is_empty() || name == "*" {
                    return None;
                }
                legs.push(Leg::Member(name.to_owned()));
                rest = &r[end..];
            }
        } else {
            return None;
        }
    }
}

fn lenenc(rest: &mut &[u8]) -> Option<usize> {
    let first = *rest.first()?;
    *rest = &rest[1..];
    let n = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        n => return Some(usize::from(n)),
    };
    let bytes = take(rest, n)?;
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) as usize,
    )
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let bytes = rest.get(..n)?;
    *rest = &rest[n..];
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Binary JSON of a small integer (`int16` type 0x05) and of a short string (type 0x0c).
    fn int16(n: i16) -> Vec<u8> {
        let mut v = vec![0x05];
        v.extend_from_slice(&n.to_le_bytes());
        v
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = vec![0x0c, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn diff(op: u8, path: &str, value: Option<Vec<u8>>) -> Vec<u8> {
        let mut d = vec![op, path.len() as u8];
        d.extend_from_slice(path.as_bytes());
        if let Some(v) = value {
            d.push(v.len() as u8);
            d.extend(v);
        }
        d
    }

    #[test]
    fn replace_insert_remove_follow_mysql() {
        let doc = r#"{"age":24,"data":"x","name":"Joe","tags":["a","b"]}"#;
        let mut diffs = diff(0, "$.age", Some(int16(25)));
        diffs.extend(diff(1, "$.tags[1]", Some(string("z"))));
        diffs.extend(diff(1, "$.tags[9]", Some(string("end"))));
        diffs.extend(diff(2, "$.data", None));
        diffs.extend(diff(1, r#"$."first name""#, Some(string("J"))));
        let out: Json = serde_json::from_str(&apply(doc, &diffs).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"age": 25, "name": "Joe", "tags": ["a", "z", "b", "end"], "first name": "J"})
        );
    }

    #[test]
    fn a_diff_that_does_not_fit_is_an_error() {
        let doc = r#"{"a":[1]}"#;
        assert!(apply(doc, &diff(0, "$.b", Some(int16(1)))).is_err());
        assert!(apply(doc, &diff(2, "$.a[3]", None)).is_err());
        assert!(apply(doc, &diff(0, "$.a.x", Some(int16(1)))).is_err());
        assert!(
            apply(doc, &diff(0, "$.a[0]", None)).is_err(),
            "REPLACE without a value"
        );
        assert!(apply(doc, &[0, 5, b'$', b'.']).is_err(), "cut short");
        assert_eq!(
            parse_path(r#"$."a\"b"[3].c"#),
            Some(vec![
                Leg::Member("a\"b".into()),
                Leg::Index(3),
                Leg::Member("c".into())
            ])
        );
    }
}
