//! Capture groups for `parse`, found faster when every match of the regex starts with one
//! literal (`parse @message /"route":"(?<r>[^"]+)".*/`, a glob starting with text): the
//! literal's occurrences are found with a substring search and the regex is run anchored at
//! each in turn. The first occurrence where it matches starts the leftmost match (no match can
//! start anywhere else), and an anchored run there picks the same match the unanchored search
//! would, without the backward pass that search needs to find where a match starts.
//!
//! A regex `A.*B` (one greedy `.*` at the top, `B` starting with a literal too — the usual
//! `parse` pattern picking fields from both ends of a line) is run as its two halves: `A`
//! anchored at the start, then `B` anchored at the occurrences of its literal from the end of
//! the line backwards. That is the match backtracking picks (`A`'s preferred match, then the
//! longest `.*` after which `B` matches), without a backtracker walking the whole line; when
//! `B` matches nowhere after `A`'s preferred match, the whole regex is run instead.

use regex::Regex;
use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// A regex whose matches all start with one literal, ready to be run from its occurrences.
pub struct Prefixed {
    id: u64,
    finder: memchr::memmem::Finder<'static>,
    re: meta::Regex,
    split: Option<Split>,
}

/// The halves of a regex `A.*B` (see the module's documentation).
struct Split {
    a: meta::Regex,
    b: meta::Regex,
    /// `A`'s capture groups, its group 0 included: `B`'s group `j > 0` is the regex's
    /// `a_groups + j - 1`.
    a_groups: usize,
    /// What every match of `B` starts with, searched from the end.
    b_literal: memchr::memmem::FinderRev<'static>,
    /// The `.` of `.*` matches a line break too.
    dot_all: bool,
}

/// Per thread, the search state of the last [`Prefixed`] it ran.
struct State {
    id: u64,
    cache: meta::Cache,
    caps: Captures,
    /// For `A` and `B` of a [`Split`].
    halves: Option<[(meta::Cache, Captures); 2]>,
}

/// The literal every match of `hir` starts with, if any.
fn literal_prefix(hir: &regex_syntax::hir::Hir) -> Option<Vec<u8>> {
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    seq.literals()?;
    let literal = seq.longest_common_prefix()?;
    (!literal.is_empty()).then(|| literal.to_vec())
}

impl Split {
    fn of(hir: &regex_syntax::hir::Hir) -> Option<Split> {
        use regex_syntax::hir::{Class, Hir, HirKind};
        let HirKind::Concat(items) = hir.kind() else {
            return None;
        };
        // The first top-level greedy `.*` (any character, or any but a line break).
        let (at, dot_all) = items.iter().enumerate().find_map(|(i, h)| {
            let HirKind::Repetition(r) = h.kind() else {
                return None;
            };
            if r.min != 0 || r.max.is_some() || !r.greedy {
                return None;
            }
            let HirKind::Class(Class::Unicode(c)) = r.sub.kind() else {
                return None;
            };
            match c.ranges() {
                [x] if x.start() == '\0' && x.end() == char::MAX => Some((i, true)),
                [x, y]
                    if x.start() == '\0'
                        && x.end() == '\t'
                        && y.start() == '\u{b}'
                        && y.end() == char::MAX =>
                {
                    Some((i, false))
                }
                _ => None,
            }
        })?;
        let a = Hir::concat(items[..at].to_vec());
        let b = Hir::concat(items[at + 1..].to_vec());
        let b_literal = literal_prefix(&b)?;
        let (a, b) = (
            meta::Regex::new(&a.to_string()).ok()?,
            meta::Regex::new(&b.to_string()).ok()?,
        );
        Some(Split {
            a_groups: a.group_info().group_len(regex_automata::PatternID::ZERO),
            a,
            b,
            b_literal: memchr::memmem::FinderRev::new(&b_literal).into_owned(),
            dot_all,
        })
    }

    /// The regex's match starting at `start` through the halves: `Some(false)` when there is
    /// none, `None` when the whole regex must decide.
    fn captures(
        &self,
        hay: &str,
        start: usize,
        halves: &mut [(meta::Cache, Captures); 2],
        f: &mut dyn FnMut(usize, &str),
    ) -> Option<bool> {
        let [(ca, a), (cb, b)] = halves;
        self.a.search_captures_with(
            ca,
            &Input::new(hay).range(start..).anchored(Anchored::Yes),
            a,
        );
        // Every match of the regex starts with a match of `A`.
        let Some(ma) = a.get_match() else {
            return Some(false);
        };
        let end_a = ma.end();
        let line_end = if self.dot_all {
            hay.len()
        } else {
            memchr::memchr(b'\n', &hay.as_bytes()[end_a..]).map_or(hay.len(), |p| end_a + p)
        };
        let window = (line_end + self.b_literal.needle().len()).min(hay.len());
        for t in self.b_literal.rfind_iter(&hay.as_bytes()[end_a..window]) {
            let t = end_a + t;
            if t > line_end {
                continue;
            }
            self.b
                .search_captures_with(cb, &Input::new(hay).range(t..).anchored(Anchored::Yes), b);
            let Some(m) = b.get_match() else {
                continue;
            };
            f(0, &hay[start..m.end()]);
            for i in 1..a.group_len() {
                if let Some(span) = a.get_group(i) {
                    f(i, &hay[span.range()]);
                }
            }
            for j in 1..b.group_len() {
                if let Some(span) = b.get_group(j) {
                    f(self.a_groups + j - 1, &hay[span.range()]);
                }
            }
            return Some(true);
        }
        None
    }
}

impl std::fmt::Debug for Prefixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefixed")
            .field("literal", &String::from_utf8_lossy(self.finder.needle()))
            .finish()
    }
}

thread_local! {
    /// Per thread, the search state of the last [`Prefixed`] it ran (by id).
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

impl Prefixed {
    /// `pattern` (a regex as `regex::Regex::new` takes it) if all of its matches start with
    /// the same non-empty text.
    pub fn of(pattern: &str) -> Option<Prefixed> {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        // Every match starts with one of the prefix literals, so with what they all start
        // with.
        let literal = literal_prefix(&hir)?;
        Some(Prefixed {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            finder: memchr::memmem::Finder::new(&literal).into_owned(),
            re: meta::Regex::new(pattern).ok()?,
            split: Split::of(&hir),
        })
    }

    /// The leftmost-first match's capture groups, `f(group index, text)` for each that took
    /// part; false when there is no match.
    pub fn captures(&self, hay: &str, f: &mut dyn FnMut(usize, &str)) -> bool {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if s.as_ref().is_none_or(|st| st.id != self.id) {
                *s = Some(State {
                    id: self.id,
                    cache: self.re.create_cache(),
                    caps: self.re.create_captures(),
                    halves: self.split.as_ref().map(|sp| {
                        [
                            (sp.a.create_cache(), sp.a.create_captures()),
                            (sp.b.create_cache(), sp.b.create_captures()),
                        ]
                    }),
                });
            }
            let Some(State {
                cache,
                caps,
                halves,
                ..
            }) = s.as_mut()
            else {
                return false;
            };
            let mut from = 0;
            while let Some(p) = self.finder.find(&hay.as_bytes()[from..]) {
                let start = from + p;
                if let (Some(sp), Some(halves)) = (&self.split, halves.as_mut()) {
                    match sp.captures(hay, start, halves, f) {
                        Some(true) => return true,
                        Some(false) => {
                            from = start + 1;
                            continue;
                        }
                        None => {}
                    }
                }
                let input = Input::new(hay).range(start..).anchored(Anchored::Yes);
                self.re.search_captures_with(cache, &input, caps);
                if caps.is_match() {
                    for i in 0..caps.group_len() {
                        if let Some(span) = caps.get_group(i) {
                            f(i, &hay[span.range()]);
                        }
                    }
                    return true;
                }
                from = start + 1;
            }
            false
        })
    }
}

/// `re`'s leftmost-first match in `hay`, as [`Prefixed::captures`] (through `fast`, `re`'s
/// prefixed form, when it has one).
pub fn captures(
    re: &Regex,
    fast: Option<&Prefixed>,
    hay: &str,
    f: &mut dyn FnMut(usize, &str),
) -> bool {
    if let Some(p) = fast {
        return p.captures(hay, f);
    }
    match re.captures(hay) {
        Some(c) => {
            for (i, m) in c.iter().enumerate() {
                if let Some(m) = m {
                    f(i, m.as_str());
                }
            }
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every capture of the leftmost-first match, as the regex crate finds them.
    fn slow(re: &Regex, hay: &str) -> Option<Vec<(usize, String)>> {
        let mut out = Vec::new();
        captures(re, None, hay, &mut |i, s| out.push((i, s.to_string()))).then_some(out)
    }

    fn fast(p: &Prefixed, hay: &str) -> Option<Vec<(usize, String)>> {
        let mut out = Vec::new();
        p.captures(hay, &mut |i, s| out.push((i, s.to_string())))
            .then_some(out)
    }

    /// The prefixed search finds what the regex crate finds, on patterns with a literal
    /// start (greedy and lazy repetition, alternation after the literal, several
    /// occurrences, failing first occurrences, multi-byte text, assertions) and is not used
    /// for patterns without one.
    #[test]
    fn prefixed_captures_match_the_regex_crate() {
        let patterns = [
            r#""resourcePath":"(?<route>[^"]+)".*"responseLatency":(?<latency>\d+)"#,
            r"(?s)GET (.*?) HTTP/(.*)",
            r"id=(\d+)(?:,|$)",
            r"ab(c|cd)(d?)",
            r"é(\w+)",
            r"x\b(y*)",
            r"key: (?<v>[a-z]+)|key= (?<w>\d+)",
            r"(?i)user=(\S+)",
            r"abc",
            r"^id=(\d+)",
            r"(?m)^id=(\d+)",
            r"GET (\S+).*HTTP/(\d)",
            r"(?s)GET (\S+).*HTTP/(\d)",
            r"k=(a|ab).*b(c?)",
            r"x(y*).*y(z+)",
            r"id=(\d+).*,(\w*)",
        ];
        let hays = [
            r#"{"resourcePath":"/a","x":1,"responseLatency":12,"responseLatency":34}"#,
            r#"{"resourcePath":"/a","x":1}"#,
            r#""resourcePath":"" "resourcePath":"/b" "responseLatency":7"#,
            "GET /x HTTP/1.1\nGET /y HTTP/2",
            "id=12x id=34,id=56",
            "abcd abc abcdd",
            "ééclair é",
            "x x y xyy",
            "key= 12 key: abc",
            "USER=Alice user=bob",
            "",
            "abababc",
            "GET /a HTTP/1 GET /b HTTP/2\nHTTP/3",
            "GET /a x\nHTTP/1",
            "k=abc k=ab bc",
            "k=abbc",
            "xyyz yz xz",
            "xy\nyz",
            "id=1,a,b id=2,c",
        ];
        let mut prefixed = 0;
        for pat in patterns {
            let re = Regex::new(pat).unwrap();
            let Some(p) = Prefixed::of(pat) else {
                continue;
            };
            prefixed += 1;
            for hay in hays {
                assert_eq!(fast(&p, hay), slow(&re, hay), "{pat} on {hay:?}");
            }
        }
        assert!(
            prefixed >= 8,
            "most patterns here start with a literal ({prefixed})"
        );
        for pat in [r"\d+x", r"(a|b)c", r".*abc", r"(?:)"] {
            assert!(Prefixed::of(pat).is_none(), "{pat}");
        }
    }
}
