//! Capture groups for `parse`, found faster when every match of the regex starts with one
//! literal (`parse @message /"route":"(?<r>[^"]+)".*/`, a glob starting with text): the
//! literal's occurrences are found with a substring search and the regex is run anchored at
//! each in turn. The first occurrence where it matches starts the leftmost match (no match can
//! start anywhere else), and an anchored run there picks the same match the unanchored search
//! would, without the backward pass that search needs to find where a match starts.

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
    static STATE: RefCell<Option<(u64, meta::Cache, Captures)>> = const { RefCell::new(None) };
}

impl Prefixed {
    /// `pattern` (a regex as `regex::Regex::new` takes it) if all of its matches start with
    /// the same non-empty text.
    pub fn of(pattern: &str) -> Option<Prefixed> {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
        // Every match starts with one of the literals, so with what they all start with.
        seq.literals()?;
        let literal = seq.longest_common_prefix()?;
        if literal.is_empty() {
            return None;
        }
        Some(Prefixed {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            finder: memchr::memmem::Finder::new(literal).into_owned(),
            re: meta::Regex::new(pattern).ok()?,
        })
    }

    /// The leftmost-first match's capture groups, `f(group index, text)` for each that took
    /// part; false when there is no match.
    pub fn captures(&self, hay: &str, f: &mut dyn FnMut(usize, &str)) -> bool {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if s.as_ref().is_none_or(|(id, _, _)| *id != self.id) {
                *s = Some((self.id, self.re.create_cache(), self.re.create_captures()));
            }
            let Some((_, cache, caps)) = s.as_mut() else {
                return false;
            };
            let mut from = 0;
            while let Some(p) = self.finder.find(&hay.as_bytes()[from..]) {
                let start = from + p;
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
