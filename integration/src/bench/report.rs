//! The result table printed at the end of a run, and its JSON form.

use std::fmt::Write as _;

/// One line of the table: a measure, dbtrail's value, the reference, their ratio, the target.
#[derive(Debug, Clone)]
pub struct Line {
    /// What is measured, with its unit.
    pub measure: String,
    /// dbtrail's figure.
    pub dbtrail: String,
    /// The reference figure (MariaDB native or `mariadb-binlog`), or `-`.
    pub reference: String,
    /// dbtrail / reference where meaningful, or `-`.
    pub ratio: String,
    /// The target and whether it is met, or `-`.
    pub target: String,
}

impl Line {
    /// A line from its five cells.
    pub fn new(
        measure: impl Into<String>,
        dbtrail: impl Into<String>,
        reference: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Self {
            measure: measure.into(),
            dbtrail: dbtrail.into(),
            reference: reference.into(),
            ratio: ratio.into(),
            target: target.into(),
        }
    }
}

/// `a / b` to two decimals followed by `×`, or `-` when `b` is 0.
pub fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

/// A count with thousands separators and no decimals (`1234567.8` → `1,234,568`).
pub fn count(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// µs shown as milliseconds with three decimals.
pub fn ms(us: f64) -> String {
    format!("{:.3} ms", us / 1000.0)
}

/// `"target (met)"` or `"target (MISSED)"`.
pub fn verdict(target: &str, met: bool) -> String {
    format!("{target} ({})", if met { "met" } else { "MISSED" })
}

/// The lines as a Markdown table (readable in a terminal and pasteable into README.md).
pub fn markdown(lines: &[Line]) -> String {
    let header = ["measure", "dbtrail", "MariaDB reference", "ratio", "target"];
    let cells: Vec<[&str; 5]> = lines
        .iter()
        .map(|l| {
            [
                l.measure.as_str(),
                l.dbtrail.as_str(),
                l.reference.as_str(),
                l.ratio.as_str(),
                l.target.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut put = |row: &[&str; 5]| {
        out.push('|');
        for (c, w) in row.iter().zip(widths) {
            let pad = w - c.chars().count();
            let _ = write!(out, " {c}{} |", " ".repeat(pad));
        }
        out.push('\n');
    };
    put(&header);
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    put(&[&dashes[0], &dashes[1], &dashes[2], &dashes[3], &dashes[4]]);
    for row in &cells {
        put(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(1_234_567.8), "1,234,568");
        assert_eq!(count(999.0), "999");
        assert_eq!(ratio(3.0, 2.0), "1.50×");
        assert_eq!(ratio(1.0, 0.0), "-");
        assert_eq!(ms(1234.0), "1.234 ms");
        let t = markdown(&[Line::new("a", "1", "2", "0.50×", "-")]);
        assert!(t.starts_with("| measure | dbtrail |"), "{t}");
    }
}
