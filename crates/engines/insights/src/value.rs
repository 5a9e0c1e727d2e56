//! Runtime values, coercions, comparison and rendering as AWS prints them.

use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// Epoch milliseconds; rendered `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
    Time(i64),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Numeric view: numbers, timestamps, booleans and numeric strings.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Time(t) => Some(*t as f64),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Str(s) => parse_num(s),
            _ => None,
        }
    }

    /// String view for string functions; maps and lists are null.
    pub fn as_str(&self) -> Option<String> {
        match self {
            Value::Null | Value::List(_) | Value::Map(_) => None,
            v => Some(v.render()),
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Time(_) => true,
            Value::Str(s) => !s.is_empty() && s != "false" && s != "0",
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// The result string AWS returns for this value.
    pub fn render(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Num(n) => fmt_num(*n),
            Value::Str(s) => s.clone(),
            Value::Time(t) => fmt_time(*t),
            Value::List(_) | Value::Map(_) => crate::functions::to_json(self).to_string(),
        }
    }

    /// The key of the value as rows render it (a time as its text, a boolean as `true`): what
    /// a subquery's rendered rows compare against ([`Value::key`] of that text).
    pub fn text_key(&self) -> String {
        match self {
            Value::Null => self.key(),
            v => match text_of(v) {
                Some(t) => Value::Str(t.into_owned()).key(),
                None => v.key(),
            },
        }
    }

    /// Key used for grouping/dedup/distinct: numerically equal values share a key.
    pub fn key(&self) -> String {
        match self {
            Value::Null => "\u{0}null".into(),
            Value::Num(_) | Value::Time(_) | Value::Bool(_) => {
                format!("\u{1}{}", fmt_num(self.as_num().unwrap_or(0.0)))
            }
            Value::Str(s) => match parse_num(s) {
                Some(n) => format!("\u{1}{}", fmt_num(n)),
                None => s.clone(),
            },
            v => v.render(),
        }
    }
}

/// The string view of a value ([`Value::as_str`]), borrowing strings instead of copying them.
#[inline]
pub fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Null | Value::List(_) | Value::Map(_) => None,
        v => Some(Cow::Owned(v.render())),
    }
}

/// [`Value::render`], borrowing strings.
#[inline]
fn rendered(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Str(s) => Cow::Borrowed(s),
        v => Cow::Owned(v.render()),
    }
}

impl Value {
    /// Writes [`Value::key`] into `out` (cleared first) without allocating.
    pub fn key_into(&self, out: &mut String) {
        out.clear();
        match self {
            Value::Null => out.push_str("\u{0}null"),
            Value::Num(_) | Value::Time(_) | Value::Bool(_) => {
                out.push('\u{1}');
                fmt_num_into(self.as_num().unwrap_or(0.0), out);
            }
            Value::Str(s) => str_key_into(s, out),
            v => out.push_str(&v.render()),
        }
    }
}

/// [`Value::key_into`] of a string value, appended to `out`.
pub fn str_key_into(s: &str, out: &mut String) {
    match parse_num(s) {
        Some(n) => {
            out.push('\u{1}');
            fmt_num_into(n, out);
        }
        None => out.push_str(s),
    }
}

/// [`fmt_num`] appended to `out`.
pub fn fmt_num_into(n: f64, out: &mut String) {
    use std::fmt::Write;
    if n.is_nan() {
        out.push_str("NaN");
    } else if n.fract() == 0.0 && n.abs() < 1e17 {
        let _ = write!(out, "{}", n as i64);
    } else {
        let _ = write!(out, "{n}");
    }
}

pub fn parse_num(s: &str) -> Option<f64> {
    // Plain digits (the usual number in a log) are their integer, exactly as an f64 below
    // 2^53: no general float parse.
    let d = s.as_bytes();
    if !d.is_empty() && d.len() <= 15 && d.iter().all(u8::is_ascii_digit) {
        return Some(d.iter().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')) as f64);
    }
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let b = t.as_bytes();
    let first = b[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

pub fn fmt_num(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.fract() == 0.0 && n.abs() < 1e17 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            milli
        ),
        Err(_) => ms.to_string(),
    }
}

/// Equality used by `=`, `!=` and `in`: numeric when both sides are numeric, else string.
pub fn loose_eq(a: &Value, b: &Value) -> Option<bool> {
    if a.is_null() || b.is_null() {
        return None;
    }
    if matches!(a, Value::List(_) | Value::Map(_)) || matches!(b, Value::List(_) | Value::Map(_)) {
        return Some(false);
    }
    if let (Some(x), Some(y)) = (a.as_num(), b.as_num()) {
        return Some(x == y);
    }
    Some(rendered(a) == rendered(b))
}

/// Ordering used by `<`, `<=`, `>`, `>=`: numeric when both are numeric, else string.
pub fn loose_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    if matches!(a, Value::List(_) | Value::Map(_)) || matches!(b, Value::List(_) | Value::Map(_)) {
        return None;
    }
    if let (Some(x), Some(y)) = (a.as_num(), b.as_num()) {
        return x.partial_cmp(&y);
    }
    Some(rendered(a).cmp(&rendered(b)))
}

/// The `sort` order (ascending) AWS documents: non-numbers first (natural order: digit runs
/// compared by length then value, other characters by code point), then numbers by value.
/// Nulls are handled by the caller (always last).
pub fn natural_cmp(a: &Value, b: &Value) -> Ordering {
    let na = match a {
        Value::Str(s) => parse_num(s),
        v => v.as_num(),
    };
    let nb = match b {
        Value::Str(s) => parse_num(s),
        v => v.as_num(),
    };
    match (na, nb) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => natural_str_cmp(&a.render(), &b.render()),
    }
}

pub fn natural_str_cmp(a: &str, b: &str) -> Ordering {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (ra, rb) = (&a[si..i], &b[sj..j]);
            let o = ra.len().cmp(&rb.len()).then_with(|| ra.cmp(rb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            let o = a[i].cmp(&b[j]);
            if o != Ordering::Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// Sort comparison with direction; nulls always last.
pub fn sort_cmp(a: &Value, b: &Value, desc: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = natural_cmp(a, b);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain digits take a shortcut; it gives what the general parse gives.
    #[test]
    fn numbers_parse_alike_with_and_without_the_shortcut() {
        for (text, want) in [
            ("0", Some(0.0)),
            ("007", Some(7.0)),
            ("123", Some(123.0)),
            ("999999999999999", Some(999_999_999_999_999.0)),
            ("9999999999999999", Some(9_999_999_999_999_999.0)),
            ("12345678901234567890", Some(12_345_678_901_234_567_890.0)),
            (" 42 ", Some(42.0)),
            ("-5", Some(-5.0)),
            ("1.5", Some(1.5)),
            ("1e3", Some(1000.0)),
            ("", None),
            ("12a", None),
            ("٣", None),
        ] {
            assert_eq!(parse_num(text), want, "{text:?}");
            if !text.is_empty() && text.bytes().all(|c| c.is_ascii_digit()) {
                assert_eq!(parse_num(text), text.parse::<f64>().ok(), "{text:?}");
            }
        }
    }
}
