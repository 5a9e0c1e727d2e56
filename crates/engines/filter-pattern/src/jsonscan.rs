//! Allocation-free reading of JSON log events: a validating pass, then selector lookups that
//! walk the raw text and borrow from it.
//!
//! A hand-written scanner rather than `serde_json`: it keeps numbers' original spelling (so
//! `= 4*` and extracted values see `1.50`, not `1.5`), builds no tree, and allocates only to
//! unescape a string that contains escapes.

use std::borrow::Cow;

use crate::lexer::Step;

/// Containers nested deeper than this make the event "not JSON", bounding recursion.
const MAX_DEPTH: usize = 128;

/// What a selector resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found<'a> {
    Missing,
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(&'a str),
    /// A string's raw content between the quotes (escapes not yet decoded).
    Str(&'a str),
    Object,
    Array,
}

impl<'a> Found<'a> {
    /// The text of a string, number or boolean; `None` for null, containers and missing values.
    pub(crate) fn scalar_text(self) -> Option<Cow<'a, str>> {
        match self {
            Found::Bool(true) => Some(Cow::Borrowed("true")),
            Found::Bool(false) => Some(Cow::Borrowed("false")),
            Found::Number(n) => Some(Cow::Borrowed(n)),
            Found::Str(raw) => Some(unescape(raw)),
            Found::Missing | Found::Null | Found::Object | Found::Array => None,
        }
    }
}

/// True when `msg` is exactly one JSON object (surrounding whitespace allowed).
pub(crate) fn is_json_object(msg: &str) -> bool {
    let b = msg.as_bytes();
    let i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return false;
    }
    match validate_value(b, i, 0) {
        Some(end) => skip_ws(b, end) == b.len(),
        None => false,
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Validates the value at `b[i]`; returns the offset just past it.
fn validate_value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'{' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                i = skip_ws(b, validate_string(b, i)?);
                if b.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(b, validate_value(b, skip_ws(b, i + 1), depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b'}' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(b, validate_value(b, i, depth + 1)?);
                match b.get(i)? {
                    b',' => i = skip_ws(b, i + 1),
                    b']' => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'"' => validate_string(b, i),
        b't' => literal(b, i, b"true"),
        b'f' => literal(b, i, b"false"),
        b'n' => literal(b, i, b"null"),
        b'-' | b'0'..=b'9' => validate_number(b, i),
        _ => None,
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b[i..].starts_with(word).then_some(i + word.len())
}

fn validate_string(b: &[u8], i: usize) -> Option<usize> {
    let mut i = i + 1;
    loop {
        let rel = memchr::memchr2(b'"', b'\\', &b[i..])?;
        // Raw control characters are invalid inside JSON strings.
        if b[i..i + rel].iter().any(|&c| c < 0x20) {
            return None;
        }
        i += rel;
        match b[i] {
            b'"' => return Some(i + 1),
            b'\\' => match *b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
                }
                _ => return None,
            },
            _ => return None,
        }
    }
}

fn validate_number(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i += digits(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let n = digits(b, i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    Some(i)
}

/// Resolves `path` in an event already checked by [`is_json_object`]. Never panics on other
/// input; it just finds nothing.
pub(crate) fn lookup<'a>(msg: &'a str, path: &[Step]) -> Found<'a> {
    let b = msg.as_bytes();
    let mut i = skip_ws(b, 0);
    for step in path {
        let next = match step {
            Step::Key(name) => find_key(msg, i, name),
            Step::Index(n) => find_index(b, i, *n),
        };
        match next {
            Some(at) => i = at,
            None => return Found::Missing,
        }
    }
    classify(msg, i)
}

fn classify(msg: &str, i: usize) -> Found<'_> {
    let b = msg.as_bytes();
    match b.get(i) {
        Some(b'{') => Found::Object,
        Some(b'[') => Found::Array,
        Some(b'n') => Found::Null,
        Some(b't') => Found::Bool(true),
        Some(b'f') => Found::Bool(false),
        Some(b'"') => match skip_string(b, i) {
            Some(end) => msg.get(i + 1..end - 1).map_or(Found::Missing, Found::Str),
            None => Found::Missing,
        },
        Some(_) => {
            let len = b[i..]
                .iter()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            msg.get(i..i + len).map_or(Found::Missing, Found::Number)
        }
        None => Found::Missing,
    }
}

/// In the object at `b[i]`, the offset of the value of the last member named `name` (later
/// duplicates win, as in most JSON parsers).
fn find_key(msg: &str, i: usize, name: &str) -> Option<usize> {
    let b = msg.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut i = skip_ws(b, i + 1);
    let mut found = None;
    while b.get(i) == Some(&b'"') {
        let key_end = skip_string(b, i)?;
        let raw_key = msg.get(i + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value = skip_ws(b, i + 1);
        if key_equals(raw_key, name) {
            found = Some(value);
        }
        i = skip_ws(b, skip_value(b, value)?);
        if b.get(i) != Some(&b',') {
            break;
        }
        i = skip_ws(b, i + 1);
    }
    found
}

fn key_equals(raw: &str, name: &str) -> bool {
    // Decoding escapes only shortens a key, so most keys are told apart by length alone.
    match raw.len().cmp(&name.len()) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => raw == name && !raw.as_bytes().contains(&b'\\'),
        std::cmp::Ordering::Greater => raw.as_bytes().contains(&b'\\') && unescape(raw) == name,
    }
}

/// In the array at `b[i]`, the offset of element `n`.
fn find_index(b: &[u8], i: usize, n: usize) -> Option<usize> {
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let mut i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return None;
    }
    for _ in 0..n {
        i = skip_ws(b, skip_value(b, i)?);
        if b.get(i) != Some(&b',') {
            return None;
        }
        i = skip_ws(b, i + 1);
    }
    Some(i)
}

/// Offset past the string starting at `b[i] == '"'` (already validated, so only quotes and
/// backslashes matter).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut i = i + 1;
    loop {
        i += find_quote_or_backslash(b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The first `"` or `\` in `b`. Log strings are short (keys, ids), where `memchr2`'s set-up
/// costs more than the search: eight bytes at a time in a register instead.
fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in the bytes of `w` equal to `c`; above the first such byte there may be
    // false positives, never below it, so the lowest set bit is exact.
    let eq = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        let hit = eq(w, b'"') | eq(w, b'\\');
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|p| at + p)
}

/// Offset past the (validated) value at `b[i]`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = i;
            loop {
                match *b.get(i)? {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    b'"' => {
                        i = skip_string(b, i)?;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        b'"' => skip_string(b, i),
        _ => Some(
            i + b[i..]
                .iter()
                .take_while(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .count(),
        ),
    }
}

/// Decodes JSON escapes. Unpaired surrogates become U+FFFD rather than failing the event.
pub(crate) fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hi = hex4(&mut chars);
                let code = match hi {
                    Some(h @ 0xD800..=0xDBFF) => {
                        let mut ahead = chars.clone();
                        let lo = match (ahead.next(), ahead.next()) {
                            (Some('\\'), Some('u')) => hex4(&mut ahead),
                            _ => None,
                        };
                        match lo {
                            Some(l @ 0xDC00..=0xDFFF) => {
                                chars = ahead;
                                Some(0x10000 + ((h - 0xD800) << 10) + (l - 0xDC00))
                            }
                            _ => None,
                        }
                    }
                    other => other,
                };
                out.push(code.and_then(char::from_u32).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_search_agrees_with_memchr2() {
        let mut texts: Vec<Vec<u8>> = vec![Vec::new(), b"\"".to_vec(), b"\\".to_vec()];
        for len in 0..20 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut t = vec![b'a'; len];
                    t[at] = c;
                    // Bytes that trip naive zero-byte tricks around the hit.
                    if at + 1 < len {
                        t[at + 1] = 0x01;
                    }
                    if at > 0 {
                        t[at - 1] = 0xA2;
                    }
                    texts.push(t);
                }
            }
            texts.push(vec![0x23; len]);
            texts.push(vec![0x5D; len]);
        }
        for t in &texts {
            assert_eq!(
                find_quote_or_backslash(t),
                memchr::memchr2(b'"', b'\\', t),
                "{t:?}"
            );
        }
    }

    #[test]
    fn validation() {
        for ok in [
            r#"{}"#,
            r#" { "a" : [1, -2.5e+3, true, false, null, "x\"\u00e9"], "b": {"c": {}} } "#,
            r#"{"a":0}"#,
        ] {
            assert!(is_json_object(ok), "{ok}");
        }
        for bad in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":1} x",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":tru}",
            "{\"a\":1.}",
            "{a:1}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":-}",
            "{\"a\":1}}",
        ] {
            assert!(!is_json_object(bad), "{bad}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(!is_json_object(&deep));
    }

    #[test]
    fn lookups() {
        let msg = r#"{"a": {"b": [10, {"c": "x\ty"}, [1.50, 2]]}, "d": null, "a\u0062": 1, "e": 1, "e": 2}"#;
        assert!(is_json_object(msg));
        let key = |s: &str| Step::Key(s.into());
        assert_eq!(lookup(msg, &[key("a")]), Found::Object);
        assert_eq!(lookup(msg, &[key("a"), key("b")]), Found::Array);
        assert_eq!(
            lookup(msg, &[key("a"), key("b"), Step::Index(0)]),
            Found::Number("10")
        );
        assert_eq!(
            lookup(msg, &[key("a"), key("b"), Step::Index(1), key("c")]).scalar_text(),
            Some(Cow::Owned("x\ty".into()))
        );
        let path = [key("a"), key("b"), Step::Index(2), Step::Index(0)];
        assert_eq!(lookup(msg, &path), Found::Number("1.50"));
        assert_eq!(
            lookup(msg, &[key("a"), key("b"), Step::Index(3)]),
            Found::Missing
        );
        assert_eq!(lookup(msg, &[key("d")]), Found::Null);
        assert_eq!(lookup(msg, &[key("ab")]), Found::Number("1"));
        assert_eq!(lookup(msg, &[key("e")]), Found::Number("2"));
        assert_eq!(lookup(msg, &[key("d"), key("x")]), Found::Missing);
        assert_eq!(lookup(msg, &[key("a"), Step::Index(0)]), Found::Missing);
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape(r"plain"), "plain");
        assert_eq!(unescape(r#"a\"b\\c\/d\n"#), "a\"b\\c/d\n");
        assert_eq!(unescape(r"\u00e9\ud83d\ude00"), "é😀");
        assert_eq!(unescape(r"\ud83d!"), "\u{FFFD}!");
        assert_eq!(unescape(r"\ude00"), "\u{FFFD}");
    }
}
