//! Lazy JSON field discovery: the discovered fields a query names, without building the whole
//! message as a `serde_json::Value`.
//!
//! A hand scanner walks the top-level object once, checking the syntax as `serde_json` would and
//! recording where the named keys' values are. It only answers when it is sure: anything unusual
//! (escaped keys, `\u` escapes, exponents, huge numbers, deep nesting, non-JSON whitespace after
//! the object) sends the message to the full parse of [`crate::discover::flatten_message`], so
//! the fields found are always exactly the ones full discovery would give for those names, in
//! the same order (objects keep first-seen key order and the last duplicate's value, as
//! `serde_json`'s `preserve_order` map does).

use crate::discover;
use crate::value::Value;

/// Deeper nesting than this goes to the full parse (serde_json stops at 128).
const MAX_DEPTH: usize = 100;
/// Integer parts longer than this go to the full parse (it rejects numbers beyond f64).
const MAX_INT_DIGITS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A string; `true` when it holds (simple) escapes.
    Str(bool),
    /// An integer serde_json prints exactly as written.
    Int,
    /// Any other number: printed as serde_json prints it.
    Num,
    True,
    False,
    Null,
    Container,
}

/// One top-level member whose name the query reads.
#[derive(Debug, Clone, Copy)]
struct Hit {
    /// Index into the wanted names.
    want: usize,
    /// The key's byte range (duplicates are recognised by it).
    key: (usize, usize),
    /// The value's byte range (a string's without its quotes).
    val: (usize, usize),
    kind: Kind,
}

/// Reusable state of the scanner (no allocation per message once warm).
#[derive(Debug, Default, Clone)]
pub struct FieldScanner {
    hits: Vec<Hit>,
    text: String,
    /// The keys of the wanted names last searched for in flat messages, with the address of
    /// that list (a plan's list keeps its address, so the check is usually one comparison).
    flat: Option<(usize, FlatKeys)>,
}

struct Cursor<'m> {
    b: &'m [u8],
    i: usize,
}

/// `None`: not sure, use the full parse.
type Sure<T> = Option<T>;

impl Cursor<'_> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// After the opening quote: the end of the string's content (the closing quote is
    /// consumed) and whether it had escapes.
    #[inline]
    fn string(&mut self, allow_escapes: bool) -> Sure<(usize, bool)> {
        let mut escaped = false;
        loop {
            // Eight bytes at a time up to the first quote, backslash or control character.
            while let Some(w) = self.b.get(self.i..self.i + 8) {
                let m = special(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            let c = *self.b.get(self.i)?;
            if c == b'"' {
                let end = self.i;
                self.i += 1;
                return Some((end, escaped));
            }
            if c < 0x20 {
                return None;
            }
            if c == b'\\' {
                if !allow_escapes {
                    return None;
                }
                match self.b.get(self.i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    _ => return None,
                }
                escaped = true;
                self.i += 2;
                continue;
            }
            self.i += 1;
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> Sure<Kind> {
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let first = self.peek()?;
        let n = match first {
            b'0' => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return None;
                }
                1
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        };
        if n > MAX_INT_DIGITS {
            return None;
        }
        let mut simple = n <= 18 && !(neg && first == b'0');
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
            simple = false;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        debug_assert!(self.i > start);
        Some(if simple { Kind::Int } else { Kind::Num })
    }

    fn literal(&mut self, word: &[u8]) -> Sure<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// After a top-level member's `:`: its value's kind and byte range (a string's without its
    /// quotes).
    fn member_value(&mut self) -> Sure<(Kind, (usize, usize))> {
        self.i += 1;
        self.ws();
        let vs = self.i;
        let kind = self.value(1)?;
        let val = match kind {
            Kind::Str(_) => (vs + 1, self.i - 1),
            _ => (vs, self.i),
        };
        Some((kind, val))
    }

    /// A value starting at the cursor (whitespace skipped); `depth` counts enclosing containers.
    fn value(&mut self, depth: usize) -> Sure<Kind> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                let (_, esc) = self.string(true)?;
                Some(Kind::Str(esc))
            }
            b'{' | b'[' => {
                self.container(depth + 1)?;
                Some(Kind::Container)
            }
            b't' => self.literal(b"true").map(|_| Kind::True),
            b'f' => self.literal(b"false").map(|_| Kind::False),
            b'n' => self.literal(b"null").map(|_| Kind::Null),
            _ => self.number(),
        }
    }

    /// A nested object or array, only checked.
    fn container(&mut self, depth: usize) -> Sure<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let object = self.peek()? == b'{';
        let close = if object { b'}' } else { b']' };
        self.i += 1;
        self.ws();
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            if object {
                if self.peek()? != b'"' {
                    return None;
                }
                self.i += 1;
                self.string(false)?;
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                self.ws();
            }
            self.value(depth)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// The top-level keys of some wanted names, to search flat messages for
/// ([`FieldScanner::extract_marked`]).
#[derive(Debug, Clone)]
struct FlatKeys {
    names: Vec<String>,
    /// Per distinct key, the first wanted name it stands for and a finder of `"key"`.
    keys: Vec<(usize, memchr::memmem::Finder<'static>)>,
    /// False when a wanted name's key could also match across a string's end (it is empty or
    /// starts with whitespace, `,`, `:`, `]` or `}`) or holds a quote, a backslash or a control
    /// character: such messages are walked.
    usable: bool,
    /// Per key, where the last message had it.
    hints: Vec<usize>,
}

/// How far before the previous message's position a key is first looked for.
const HINT_SLACK: usize = 32;

impl FlatKeys {
    fn new(wanted: &[String]) -> FlatKeys {
        let mut keys: Vec<(usize, memchr::memmem::Finder<'static>)> = Vec::new();
        let mut usable = true;
        for (i, w) in wanted.iter().enumerate() {
            // `@x` is exposed as `@@x`; a name with a single `@` is no top-level key.
            let key = match w.strip_prefix('@') {
                Some(rest) if rest.starts_with('@') => rest,
                Some(_) => continue,
                None => w.as_str(),
            };
            let kb = key.as_bytes();
            let safe = !matches!(
                kb.first(),
                None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b']' | b'}')
            ) && !kb.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
            if !safe {
                usable = false;
                continue;
            }
            let quoted = format!("\"{key}\"");
            if keys.iter().any(|(_, f)| f.needle() == quoted.as_bytes()) {
                continue;
            }
            keys.push((
                i,
                memchr::memmem::Finder::new(quoted.as_bytes()).into_owned(),
            ));
        }
        FlatKeys {
            names: wanted.to_vec(),
            hints: vec![0; keys.len()],
            keys,
            usable,
        }
    }

    /// Whether these are the keys of `wanted`.
    fn is_for(&self, wanted: &[String]) -> bool {
        self.names == wanted
    }
}

/// The hits of [`FieldScanner::extract_marked`] in `hits`, in key order. In a flat
/// message every unescaped quote delimits a string, so an unescaped `"key"` followed by a
/// colon is that top-level key (the key's first byte cannot follow a closing quote), and
/// keys are unique, so the first such occurrence is the only one. The search starts a little
/// before where the previous message had the key (logs of one source keep their key order),
/// then covers the rest.
fn find_flat(hits: &mut Vec<Hit>, t: &str, keys: &mut FlatKeys) -> Sure<()> {
    hits.clear();
    let b = t.as_bytes();
    for (k, (want, finder)) in keys.keys.iter().enumerate() {
        let quoted = finder.needle().len();
        let from = keys.hints[k].saturating_sub(HINT_SLACK).min(b.len());
        let mut found = None;
        for (lo, hi) in [(from, b.len()), (0, (from + quoted - 1).min(b.len()))] {
            for p in finder.find_iter(&b[lo..hi]) {
                let p = lo + p;
                // (A flat message's keys hold no backslash, so an escaped quote followed
                // by `key":` cannot occur; checked all the same.)
                let backslashes = b[..p].iter().rev().take_while(|&&c| c == b'\\').count();
                if backslashes % 2 == 1 {
                    continue;
                }
                let mut c = Cursor { b, i: p + quoted };
                c.ws();
                if c.peek() != Some(b':') {
                    continue;
                }
                let (kind, val) = c.member_value()?;
                if kind == Kind::Container {
                    return None;
                }
                found = Some(Hit {
                    want: *want,
                    key: (p + 1, p + quoted - 1),
                    val,
                    kind,
                });
                break;
            }
            if found.is_some() {
                break;
            }
        }
        if let Some(h) = found {
            keys.hints[k] = h.key.0 - 1;
            hits.push(h);
        }
    }
    if !hits.windows(2).all(|w| w[0].key.0 < w[1].key.0) {
        hits.sort_unstable_by_key(|h| h.key.0);
    }
    Some(())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit is in the first byte of `w` (little-endian) that is `"`, `\\`
/// or below 0x20 (higher bits may be false positives; only the lowest one is used).
#[inline]
fn special(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

/// Does the discovered name of top-level key `key` equal `want`? (`@x` is exposed as `@@x`.)
#[inline]
fn key_is(key: &[u8], want: &str) -> bool {
    let w = want.as_bytes();
    if key.first() == Some(&b'@') {
        w.len() == key.len() + 1 && w[0] == b'@' && &w[1..] == key
    } else {
        w == key
    }
}

fn unescape(s: &str, out: &mut String) {
    out.clear();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match it.next() {
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some(c) => c,
            None => break,
        });
    }
}

impl FieldScanner {
    /// Calls `emit(name, value)` for every discovered field of `msg` whose name is in `wanted`,
    /// as full discovery would. `wanted` must hold every dotted prefix of its nested names
    /// (`a.b.c` needs `a` and `a.b` too), which is how a top-level key is known to matter.
    pub fn extract(&mut self, msg: &str, wanted: &[String], emit: &mut dyn FnMut(&str, &str)) {
        if wanted.is_empty() {
            return;
        }
        let t = msg.trim_start();
        if !t.starts_with('{') {
            crate::servicelogs::service_fields(msg, &mut |k, v| {
                if wanted.iter().any(|w| w == k) {
                    emit(k, v);
                }
            });
            return;
        }
        if self
            .scan(t, |key| wanted.iter().position(|w| key_is(key, w)))
            .is_none()
        {
            discover::flatten_message(msg, &mut |k, v| {
                if wanted.contains(&k) {
                    if let Value::Str(s) = v {
                        emit(&k, &s);
                    }
                }
            });
            return;
        }
        let hits = std::mem::take(&mut self.hits);
        for h in &hits {
            let name = wanted[h.want].as_str();
            self.emit_hit(name, h, t, &|k| wanted.iter().any(|w| w == k), emit);
        }
        self.hits = hits;
    }

    /// Calls `emit(name, value)` for every discovered field of `msg`, exactly as
    /// [`discover::flatten_message`] finds them (same names, values and order).
    pub fn extract_all(&mut self, msg: &str, emit: &mut dyn FnMut(&str, &str)) {
        let t = msg.trim_start();
        if !t.starts_with('{') {
            crate::servicelogs::service_fields(msg, emit);
            return;
        }
        if self.scan(t, |_| Some(0)).is_none() {
            discover::flatten_message(msg, &mut |k, v| {
                if let Value::Str(s) = v {
                    emit(&k, &s);
                }
            });
            return;
        }
        let mut name = String::new();
        let hits = std::mem::take(&mut self.hits);
        for h in &hits {
            let key = &t[h.key.0..h.key.1];
            name.clear();
            if key.starts_with('@') {
                name.push('@');
            }
            name.push_str(key);
            self.emit_hit(&name, h, t, &|_| true, emit);
        }
        self.hits = hits;
    }

    /// Emits the field(s) of member `h` of the object `t` under `name`: its value, or for a
    /// container or unusual number every flattened field under it that `keep` accepts.
    fn emit_hit(
        &mut self,
        name: &str,
        h: &Hit,
        t: &str,
        keep: &dyn Fn(&str) -> bool,
        emit: &mut dyn FnMut(&str, &str),
    ) {
        let raw = &t[h.val.0..h.val.1];
        match h.kind {
            Kind::Str(false) | Kind::Int => emit(name, raw),
            Kind::Str(true) => {
                let mut buf = std::mem::take(&mut self.text);
                unescape(raw, &mut buf);
                emit(name, &buf);
                self.text = buf;
            }
            Kind::True => emit(name, "true"),
            Kind::False => emit(name, "false"),
            Kind::Null => {}
            Kind::Num | Kind::Container => {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) else {
                    return;
                };
                discover::walk(name.to_string(), &v, &mut |k, v| {
                    if keep(&k) {
                        if let Value::Str(s) = v {
                            emit(&k, &s);
                        }
                    }
                });
            }
        }
    }

    /// [`FieldScanner::extract`] for a message its store marked flat (a JSON object of
    /// scalars with unique, unescaped keys: `nephoscope_logstore::flat`): each wanted top-level
    /// key is found by searching for `"key"` instead of walking the object. Falls back to the
    /// walk when a key cannot be searched for or a value is unusual. A message not marked flat
    /// goes to [`FieldScanner::extract`].
    pub fn extract_marked(
        &mut self,
        msg: &str,
        flat: bool,
        wanted: &[String],
        emit: &mut dyn FnMut(&str, &str),
    ) {
        if !flat || wanted.is_empty() {
            return self.extract(msg, wanted, emit);
        }
        let at = wanted.as_ptr() as usize;
        let keys = match &mut self.flat {
            Some((a, k)) if *a == at && k.names.len() == wanted.len() => k,
            Some((a, k)) if k.is_for(wanted) => {
                *a = at;
                k
            }
            slot => &mut slot.insert((at, FlatKeys::new(wanted))).1,
        };
        let t = msg.trim_start();
        let found = keys.usable && find_flat(&mut self.hits, t, keys).is_some();
        if !found {
            self.extract(msg, wanted, emit);
            return;
        }
        // (The hits are put back so their buffer serves the next message.)
        let hits = std::mem::take(&mut self.hits);
        for h in &hits {
            let name = wanted[h.want].as_str();
            self.emit_hit(name, h, t, &|k| wanted.iter().any(|w| w == k), emit);
        }
        self.hits = hits;
    }

    /// Checks the whole object and records the members `want` picks (it answers the index of
    /// the wanted name a key stands for) in `self.hits`.
    fn scan(&mut self, t: &str, want: impl Fn(&[u8]) -> Option<usize>) -> Sure<()> {
        self.hits.clear();
        let mut c = Cursor {
            b: t.as_bytes(),
            i: 1,
        };
        c.ws();
        if c.peek()? == b'}' {
            c.i += 1;
        } else {
            loop {
                if c.peek()? != b'"' {
                    return None;
                }
                c.i += 1;
                let ks = c.i;
                let (ke, _) = c.string(false)?;
                c.ws();
                if c.peek()? != b':' {
                    return None;
                }
                let (kind, val) = c.member_value()?;
                let key = &c.b[ks..ke];
                if let Some(want) = want(key) {
                    let hit = Hit {
                        want,
                        key: (ks, ke),
                        val,
                        kind,
                    };
                    // A repeated key keeps its first place and takes the last value.
                    match self.hits.iter_mut().find(|h| c.b[h.key.0..h.key.1] == *key) {
                        Some(h) => *h = Hit { key: h.key, ..hit },
                        None => self.hits.push(hit),
                    }
                }
                c.ws();
                match c.peek()? {
                    b',' => {
                        c.i += 1;
                        c.ws();
                    }
                    b'}' => {
                        c.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        c.ws();
        (c.i == c.b.len()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(msg: &str, wanted: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        discover::flatten_message(msg, &mut |k, v| {
            if wanted.contains(&k) {
                out.push((k, v.render()));
            }
        });
        out
    }

    fn lazy(msg: &str, wanted: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        FieldScanner::default().extract(msg, wanted, &mut |k, v| {
            out.push((k.to_string(), v.to_string()))
        });
        out
    }

    fn all(msg: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        FieldScanner::default().extract_all(msg, &mut |k, v| out.push((k.into(), v.into())));
        out
    }

    fn all_full(msg: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        discover::flatten_message(msg, &mut |k, v| out.push((k, v.render())));
        out
    }

    #[test]
    fn same_fields_as_full_discovery() {
        let names = [
            "a", "b", "a.b", "a.b.c", "a.0", "a.1", "@@x", "@x", "x", "n", "s", "e", "t", "u",
            "a.b.0", "a.c", "k.l", "k",
        ];
        let wanted: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let msgs = [
            r#"{"a":1,"b":"two"}"#,
            r#"  {"a" : 1 , "b" : "two" }  "#,
            "{\"a\":1}\n",
            "{\"a\":1}\u{a0}",
            "\u{a0}{\"a\":1}",
            r#"{"a":{"b":{"c":5}},"a.b":7}"#,
            r#"{"a.b":7,"a":{"b":8}}"#,
            r#"{"a":1,"a":2,"b":3,"a":4}"#,
            r#"{"a":[1,{"b":2},null,[]],"b":{}}"#,
            r#"{"@x":"at","x":"plain"}"#,
            r#"{"n":-0,"e":1.50,"t":1e3,"u":12345678901234567890123}"#,
            r#"{"n":-12,"e":0.0,"t":-0.5,"u":0}"#,
            r#"{"n":01}"#,
            r#"{"n":1.}"#,
            r#"{"n":-}"#,
            r#"{"n":1e400}"#,
            r#"{"s":"a\"b\\c\/d\n\t"}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"s":"\ud800","a":1}"#,
            r#"{"x":"\ud800","a":1}"#,
            r#"{"x\"y":1,"a":2}"#,
            "{\"s\":\"tab\there\"}",
            r#"{"a":true,"b":false,"n":null}"#,
            r#"{"a":tru}"#,
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"{"a":1} x"#,
            r#"{"a":[1,2,]}"#,
            r#"{}"#,
            r#"{ }"#,
            r#"[1,2]"#,
            "plain text",
            "",
            r#"{"k":{"l":"deep"},"k.l":"flat","k":{"l":"again"}}"#,
            r#"{"a":{"b":[{"c":1}]},"z":1}"#,
            r#"{"x":1,"x":"2"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
        ];
        for m in msgs {
            assert_eq!(lazy(m, &wanted), full(m, &wanted), "{m}");
            assert_eq!(all(m), all_full(m), "all fields of {m}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(120), "]".repeat(120));
        assert_eq!(lazy(&deep, &wanted), full(&deep, &wanted));
        let deeper = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(lazy(&deeper, &wanted), full(&deeper, &wanted));
        let long = format!("{{\"a\":{},\"b\":1}}", "9".repeat(400));
        assert_eq!(lazy(&long, &wanted), full(&long, &wanted));
        for m in [&deep, &deeper, &long] {
            assert_eq!(all(m), all_full(m), "all fields of {m}");
        }
    }

    fn flat(msg: &str, scan: &mut FieldScanner, wanted: &[String]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        scan.extract_marked(msg, true, wanted, &mut |k, v| {
            out.push((k.to_string(), v.to_string()))
        });
        out
    }

    /// On messages the store marks flat, searching for keys finds what the walk finds.
    #[test]
    fn flat_search_finds_what_the_walk_finds() {
        let lists: Vec<Vec<String>> = [
            &["status", "user"][..],
            &["user", "status", "status"],
            &["a.b", "@@x", "@x", "x"],
            &["s", "n", "e"],
            &["", "a"],
            &[" a", "a"],
            &[",", ":", "}", "]"],
            &["k\"", "k"],
            &["é", "a b"],
        ]
        .iter()
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .collect();
        // One scanner per list for every message, so positions carry over.
        let mut lists: Vec<(Vec<String>, FieldScanner)> = lists
            .into_iter()
            .map(|l| (l, FieldScanner::default()))
            .collect();
        let keys = [
            "\"status\"",
            "\"user\"",
            "\"a.b\"",
            "\"@x\"",
            "\"x\"",
            "\"\"",
            "\" a\"",
            "\",\"",
            "\":\"",
            "\"}\"",
            "\"é\"",
            "\"a b\"",
            "\"s\"",
            "\"n\"",
            "\"e\"",
            "\"k\"",
        ];
        let values = [
            "1",
            "-0.50",
            "0",
            "1.25",
            "true",
            "false",
            "null",
            "\"status\"",
            "\"user\"",
            "\"x\\\"status\\\":1\"",
            "\"\\\\\"",
            "\"a\\\\\\\"user\\\":\"",
            "\",\"",
            "\":\"",
            "\"\\n\\t\"",
            "123456789012345678901",
            "\"é\"",
            "\"}\"",
        ];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut compared = 0;
        for _ in 0..20_000 {
            let mut m = String::from([" {", "{"][next(2)]);
            for i in 0..next(7) {
                if i > 0 {
                    m.push_str([",", " , "][next(2)]);
                }
                m.push_str(keys[next(keys.len())]);
                m.push_str([":", " :\t", ": "][next(3)]);
                m.push_str(values[next(values.len())]);
            }
            m.push_str(["}", "} \n"][next(2)]);
            if !nephoscope_logstore::flat::is_flat_object(&m) {
                continue;
            }
            for (wanted, scan) in &mut lists {
                assert_eq!(flat(&m, scan, wanted), lazy(&m, wanted), "{m} {wanted:?}");
                compared += 1;
            }
        }
        assert!(compared > 100_000, "{compared}");
    }
}
