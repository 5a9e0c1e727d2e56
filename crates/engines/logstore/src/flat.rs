//! Flat JSON objects: the messages whose top-level keys a reader may find by searching for
//! `"key"` instead of walking the object.
//!
//! A message is *flat* when, after leading JSON whitespace, it is one JSON object that
//! `serde_json` accepts, followed only by JSON whitespace, and
//! * every member's value is a string, a number, `true`, `false` or `null` (no object or array),
//! * no key holds a backslash or a control character, and no key appears twice,
//! * strings hold only the escapes `\" \\ \/ \b \f \n \r \t` (no `\u`), and numbers have no
//!   exponent and at most [`MAX_NUMBER_BYTES`] bytes.
//!
//! Anything else (including valid JSON outside these rules) is not flat; readers then walk the
//! message. The check is strict on purpose: a reader trusting the flag relies on the message being
//! valid JSON in which every unescaped quote delimits a string and every key is at the top level.
//! Segments record the flag per message at flush ([`crate::segment`]).

/// Longest number a flat message may hold (far inside what `serde_json` reads exactly).
pub const MAX_NUMBER_BYTES: usize = 64;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit is in the first byte of `w` (little-endian) that is `"`, `\\` or
/// below 0x20 (higher bits may be false positives; only the lowest one is used).
#[inline]
fn special(w: u64) -> u64 {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

/// Keys whose duplicates are looked for exactly; an object with more keys is flat only while
/// their hashes differ.
const TRACKED_KEYS: usize = 32;

struct Check<'m> {
    b: &'m [u8],
    i: usize,
    /// One bit per key hash seen (64 buckets).
    seen: u64,
    keys: [(u32, u32); TRACKED_KEYS],
    n_keys: usize,
}

impl Check<'_> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (*self.b.get(self.i)? == c).then(|| self.i += 1)
    }

    /// After the opening quote, through the closing one.
    #[inline]
    fn string(&mut self, escapes: bool) -> Option<()> {
        loop {
            while let Some(w) = self.b.get(self.i..self.i + 8) {
                let m = special(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
                if m != 0 {
                    self.i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' if escapes => match self.b.get(self.i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                    _ => return None,
                },
                c if c < 0x20 || c == b'\\' => return None,
                _ => self.i += 1,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> Option<()> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match *self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        // No exponent; and a digit right after `0` (`01`) is not JSON.
        if matches!(self.b.get(self.i), Some(b'e' | b'E' | b'0'..=b'9')) {
            return None;
        }
        (self.i - start <= MAX_NUMBER_BYTES).then_some(())
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        (self.b.get(self.i..self.i + w.len())? == w).then(|| self.i += w.len())
    }

    fn scalar(&mut self) -> Option<()> {
        match *self.b.get(self.i)? {
            b'"' => {
                self.i += 1;
                self.string(true)
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number(),
        }
    }

    /// Records the key `b[s..e]`; `None` when it appeared before (or may have).
    fn key(&mut self, s: usize, e: usize) -> Option<()> {
        let k = &self.b[s..e];
        let mut w = [0u8; 8];
        let n = k.len().min(8);
        w[..n].copy_from_slice(&k[..n]);
        let h = (u64::from_le_bytes(w)
            ^ (k.len() as u64).rotate_left(56)
            ^ k[k.len() - n..]
                .iter()
                .fold(0u64, |a, &c| a.rotate_left(5) ^ u64::from(c)))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bit = 1u64 << (h >> 58);
        if self.seen & bit != 0 {
            let tracked = &self.keys[..self.n_keys.min(TRACKED_KEYS)];
            if self.n_keys > TRACKED_KEYS
                || tracked
                    .iter()
                    .any(|&(a, z)| &self.b[a as usize..z as usize] == k)
            {
                return None;
            }
        }
        self.seen |= bit;
        if self.n_keys < TRACKED_KEYS {
            self.keys[self.n_keys] = (s as u32, e as u32);
        }
        self.n_keys += 1;
        Some(())
    }

    fn object(&mut self) -> Option<()> {
        self.ws();
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                self.eat(b'"')?;
                let ks = self.i;
                self.string(false)?;
                self.key(ks, self.i - 1)?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                self.scalar()?;
                self.ws();
                if self.eat(b',').is_some() {
                    self.ws();
                    continue;
                }
                self.eat(b'}')?;
                break;
            }
        }
        self.ws();
        (self.i == self.b.len()).then_some(())
    }
}

/// Whether `msg` is a flat JSON object (see the module documentation).
pub fn is_flat_object(msg: &str) -> bool {
    if msg.len() > u32::MAX as usize {
        return false;
    }
    Check {
        b: msg.as_bytes(),
        i: 0,
        seen: 0,
        keys: [(0, 0); TRACKED_KEYS],
        n_keys: 0,
    }
    .object()
    .is_some()
}

/// Per-message flags of a block, as a segment stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlatFlags {
    /// No message is flat (or the file predates the flags).
    None,
    /// Every message is flat.
    All,
    /// Bit `i % 8` of byte `i / 8` is message `i`'s flag.
    Some(Vec<u8>),
}

impl FlatFlags {
    /// The flags of `messages`.
    pub fn of(messages: &[&str]) -> FlatFlags {
        let mut bits = vec![0u8; messages.len().div_ceil(8)];
        let mut flat = 0;
        for (i, m) in messages.iter().enumerate() {
            if is_flat_object(m) {
                bits[i / 8] |= 1 << (i % 8);
                flat += 1;
            }
        }
        if flat == messages.len() {
            FlatFlags::All
        } else if flat == 0 {
            FlatFlags::None
        } else {
            FlatFlags::Some(bits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects() {
        let table: &[(&str, bool)] = &[
            (r#"{"a":1,"b":"two"}"#, true),
            (r#"{}"#, true),
            (" \n{ } \r\n", true),
            (r#"  {"a" : 1 , "b" : "two" }  "#, true),
            (r#"{"a":true,"b":false,"c":null,"d":-0.5,"e":0}"#, true),
            (r#"{"s":"a\"b\\c\/d\n\t\b\f\r","a":1}"#, true),
            (r#"{"a":1,"b":2}"#, true),
            (r#"{"a":1,"a":2}"#, false),
            (r#"{"a":1,"b":2,"a":3}"#, false),
            (r#"{"":1,"":2}"#, false),
            (r#"{"abcdefghij":1,"abcdefghik":2,"bbcdefghij":3}"#, true),
            (r#"{"a.b":1,"@x":"y","":3}"#, true),
            ("{\"é\":\"ü\"}", true),
            // Containers, escapes the flag leaves out, JSON it leaves out.
            (r#"{"a":{"b":1}}"#, false),
            (r#"{"a":[1]}"#, false),
            (r#"{"a":[]}"#, false),
            (r#"{"s":"\u00e9"}"#, false),
            (r#"{"a\"b":1}"#, false),
            (r#"{"a\\b":1}"#, false),
            (r#"{"n":1e3}"#, false),
            (r#"{"n":1E3}"#, false),
            (r#"{"n":1.5e3}"#, false),
            (&format!("{{\"n\":{}}}", "9".repeat(65)), false),
            (&format!("{{\"n\":{}}}", "9".repeat(64)), true),
            // Not JSON.
            (r#"{"n":01}"#, false),
            (r#"{"n":-01}"#, false),
            (r#"{"n":1.}"#, false),
            (r#"{"n":.5}"#, false),
            (r#"{"n":-}"#, false),
            (r#"{"n":+1}"#, false),
            (r#"{"a":tru}"#, false),
            (r#"{"a":True}"#, false),
            (r#"{"a":1,}"#, false),
            (r#"{,}"#, false),
            (r#"{"a":1"#, false),
            (r#"{"a":1} x"#, false),
            (r#"{"a":1}{}"#, false),
            (r#"{"a" 1}"#, false),
            (r#"{a:1}"#, false),
            (r#"{'a':1}"#, false),
            (r#"{"a":"x\qy"}"#, false),
            ("{\"a\":\"tab\there\"}", false),
            ("{\"a\u{1}\":1}", false),
            ("{\"a\":1}\u{a0}", false),
            ("\u{a0}{\"a\":1}", false),
            ("{\"a\":1}\u{c}", false),
            (r#"[1]"#, false),
            (r#""a""#, false),
            ("plain text", false),
            ("", false),
            ("{", false),
            (r#"{"a":"unterminated}"#, false),
        ];
        for (m, want) in table {
            assert_eq!(is_flat_object(m), *want, "{m:?}");
        }
        // Many keys: a repeated one is found however far apart; past the tracked keys, an
        // object is flat only while no two key hashes meet.
        let object = |keys: &[String]| {
            let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
            format!("{{{}}}", members.join(","))
        };
        let mut keys: Vec<String> = (0..TRACKED_KEYS).map(|i| format!("key{i}")).collect();
        assert!(is_flat_object(&object(&keys)));
        for (a, b) in [(0, 1), (0, 31), (17, 30)] {
            let mut dup = keys.clone();
            dup[b] = dup[a].clone();
            assert!(!is_flat_object(&object(&dup)), "{a} {b}");
        }
        keys.push("key0".into());
        assert!(!is_flat_object(&object(&keys)));
        let many: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        assert!(
            !is_flat_object(&object(&many)),
            "200 keys meet in 64 buckets"
        );
    }

    /// Every flat message is a JSON object of scalars to serde_json: objects built from random
    /// members, then often damaged by one random edit.
    #[test]
    fn flat_messages_are_json_objects_of_scalars() {
        let keys = [
            "\"a\"",
            "\"b c\"",
            "\"\"",
            "\"a\\\"\"",
            "\"\\u0041\"",
            "a",
            "'a'",
        ];
        let values = [
            "1",
            "-0.25",
            "0",
            "01",
            "1.",
            "1e2",
            "true",
            "nul",
            "null",
            "\"x\\\"y\"",
            "\"\\u00e9\"",
            "\"\\n\"",
            "\"\\q\"",
            "{}",
            "[1]",
            "\"\t\"",
            "-",
        ];
        let edits = ["", "{", "}", ",", ":", "\"", "\\", " ", "x", "]", "\n"];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let (mut flat, mut not) = (0, 0);
        for _ in 0..200_000 {
            let mut s = String::from("{");
            for m in 0..next(4) {
                if m > 0 {
                    s.push(',');
                }
                s.push_str(keys[next(keys.len())]);
                s.push_str([":", " : "][next(2)]);
                s.push_str(values[next(values.len())]);
            }
            s.push('}');
            if next(2) == 0 {
                let at = next(s.len() + 1);
                let cut = (at + next(3)).min(s.len());
                s.replace_range(at..cut, edits[next(edits.len())]);
            }
            if is_flat_object(&s) {
                let v: serde_json::Value = serde_json::from_str(&s).expect(&s);
                let o = v.as_object().expect("object");
                assert!(o.values().all(|v| !v.is_object() && !v.is_array()), "{s}");
                flat += 1;
            } else {
                not += 1;
            }
        }
        assert!(flat > 10_000 && not > 10_000, "{flat} flat, {not} not");
    }

    #[test]
    fn block_flags() {
        let f = FlatFlags::of;
        assert_eq!(f(&["{}", r#"{"a":1}"#]), FlatFlags::All);
        assert_eq!(f(&["x", r#"{"a":{}}"#]), FlatFlags::None);
        assert_eq!(f(&[]), FlatFlags::All);
        let mixed: Vec<&str> = (0..10)
            .map(|i| if i % 3 == 0 { "{}" } else { "x" })
            .collect();
        assert_eq!(f(&mixed), FlatFlags::Some(vec![0b0100_1001, 0b10]));
    }
}
