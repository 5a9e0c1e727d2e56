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
//!
//! A regex (or half) that is a plain sequence of literals, single characters of a class and
//! greedy runs of a class, each run followed by something that cannot start with a character
//! of its class (`"route":"(?<r>[^"]+)"`, `latency=(?<l>\d+)`), has exactly one way to match
//! from a given start: [`Simple`] walks it byte by byte, and leaves any non-ASCII byte whose
//! membership it cannot tell alone (`\d` matches some non-ASCII digits) to the regex.

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
    /// The regex as a [`Simple`] sequence, when it is one.
    simple: Option<Simple>,
    split: Option<Split>,
}

/// Whether a byte belongs to a class: 0 no, 1 yes, 2 cannot tell from the byte alone (a
/// non-ASCII byte when the class holds some non-ASCII characters but not all).
type ByteClass = [u8; 256];
const OUT: u8 = 0;
const IN: u8 = 1;
const UNSURE: u8 = 2;

#[derive(Debug, Clone)]
enum Step {
    Literal(Vec<u8>),
    /// One character of the class (ASCII, or any non-ASCII character when the class holds
    /// them all: the whole UTF-8 sequence is taken).
    One(Box<ByteClass>),
    /// At least `min` characters of the class, as many as there are.
    Run(Box<ByteClass>, usize),
}

/// A regex that is a sequence of [`Step`]s, each optionally a capture group, where every run
/// is followed by the end or by a step that cannot start with a byte of its class: from a
/// given start it matches in exactly one way (see the module's documentation).
#[derive(Debug, Clone)]
struct Simple {
    steps: Vec<(Step, Option<usize>)>,
    /// Capture groups, group 0 (the whole match) included.
    groups: usize,
}

/// Group spans of a [`Simple`] match (`None`: the group took no part).
type Spans = Vec<Option<(usize, usize)>>;

impl Simple {
    fn of(pattern: &str) -> Option<Simple> {
        use regex_syntax::hir::HirKind;
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let items = match hir.kind() {
            HirKind::Concat(v) => v.clone(),
            _ => vec![hir.clone()],
        };
        let mut steps: Vec<(Step, Option<usize>)> = Vec::new();
        let mut groups = 1;
        for h in &items {
            let (h, group) = match h.kind() {
                HirKind::Capture(c) => {
                    groups = groups.max(c.index as usize + 1);
                    (&*c.sub, Some(c.index as usize))
                }
                _ => (h, None),
            };
            let step = match h.kind() {
                HirKind::Literal(l) => Step::Literal(l.0.to_vec()),
                HirKind::Class(c) => Step::One(Box::new(byte_class(c)?)),
                HirKind::Repetition(r) if r.greedy && r.max.is_none() => {
                    let HirKind::Class(c) = r.sub.kind() else {
                        return None;
                    };
                    Step::Run(Box::new(byte_class(c)?), r.min as usize)
                }
                _ => return None,
            };
            steps.push((step, group));
        }
        // Whatever follows a run cannot start with a byte it may take.
        for w in steps.windows(2) {
            let Step::Run(class, _) = &w[0].0 else {
                continue;
            };
            let clash = match &w[1].0 {
                Step::Literal(l) => l.first().is_none_or(|&b| class[b as usize] != OUT),
                Step::One(next) => (0..256).any(|b| class[b] != OUT && next[b] != OUT),
                Step::Run(..) => true,
            };
            if clash {
                return None;
            }
        }
        (!steps.is_empty()).then_some(Simple { steps, groups })
    }

    /// The match starting at `start`: `Some(true)` with the groups' spans in `spans`,
    /// `Some(false)` when there is none, `None` when a byte's class membership needs the
    /// regex.
    fn run(&self, hay: &[u8], start: usize, spans: &mut Spans) -> Option<bool> {
        spans.clear();
        spans.resize(self.groups, None);
        let mut at = start;
        for (step, group) in &self.steps {
            let from = at;
            match step {
                Step::Literal(l) => {
                    if !crate::bytes::starts_with(&hay[at..], l) {
                        return Some(false);
                    }
                    at += l.len();
                }
                Step::One(class) => {
                    let Some(&b) = hay.get(at) else {
                        return Some(false);
                    };
                    match class[b as usize] {
                        OUT => return Some(false),
                        UNSURE => return None,
                        _ if b < 0x80 => at += 1,
                        // Every non-ASCII character: take its whole sequence.
                        _ => at += utf8_len(b),
                    }
                }
                Step::Run(class, min) => {
                    let mut n = 0;
                    while let Some(&b) = hay.get(at) {
                        match class[b as usize] {
                            OUT => break,
                            UNSURE => return None,
                            _ => at += 1,
                        }
                        // Continuation bytes are in the class with their lead byte.
                        n += usize::from(!(0x80..0xC0).contains(&b));
                    }
                    if n < *min {
                        return Some(false);
                    }
                }
            }
            if let Some(g) = group {
                spans[*g] = Some((from, at));
            }
        }
        spans[0] = Some((start, at));
        Some(true)
    }
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}

/// The bytes of a class: ASCII bytes by membership, non-ASCII bytes in when the class holds
/// every non-ASCII character, out when it holds none, unsure otherwise. `None` for a byte
/// class reaching past ASCII (not valid UTF-8 text).
fn byte_class(c: &regex_syntax::hir::Class) -> Option<ByteClass> {
    use regex_syntax::hir::Class;
    let mut t = [OUT; 256];
    match c {
        Class::Unicode(u) => {
            let mut non_ascii: u64 = 0;
            for r in u.ranges() {
                let (a, z) = (u32::from(r.start()), u32::from(r.end()));
                for b in a.min(0x80)..z.min(0x7F) + 1 {
                    t[b as usize] = IN;
                }
                if z >= 0x80 {
                    // Characters from U+0080 on, surrogates never being characters.
                    let lo = a.max(0x80);
                    let mut n = u64::from(z - lo + 1);
                    if lo <= 0xDFFF && z >= 0xD800 {
                        n -= u64::from(z.min(0xDFFF) - lo.max(0xD800) + 1);
                    }
                    non_ascii += n;
                }
            }
            let all = u64::from(0x10FFFFu32 - 0x80 + 1) - 0x800;
            let fill = match non_ascii {
                0 => OUT,
                n if n == all => IN,
                _ => UNSURE,
            };
            t[0x80..].fill(fill);
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                if r.end() >= 0x80 {
                    return None;
                }
                for x in r.start()..=r.end() {
                    t[x as usize] = IN;
                }
            }
        }
    }
    Some(t)
}

/// The halves of a regex `A.*B` (see the module's documentation).
struct Split {
    a: meta::Regex,
    b: meta::Regex,
    /// The halves as [`Simple`] sequences, when they are.
    simple: [Option<Simple>; 2],
    /// `A`'s capture groups, its group 0 included: `B`'s group `j > 0` is the regex's
    /// `a_groups + j - 1`.
    a_groups: usize,
    /// What every match of `B` starts with, searched from the end.
    /// (Found forwards, which memchr does with SIMD, and tried from the last.)
    /// Occurrences may overlap.
    b_literal: memchr::memmem::Finder<'static>,
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
    /// Group spans: of the regex's [`Simple`] form, then of the halves.
    spans: [Spans; 3],
    /// Where `B`'s literal occurs.
    found: Vec<usize>,
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
        let (a, b) = (a.to_string(), b.to_string());
        let simple = [Simple::of(&a), Simple::of(&b)];
        let (a, b) = (meta::Regex::new(&a).ok()?, meta::Regex::new(&b).ok()?);
        Some(Split {
            simple,
            a_groups: a.group_info().group_len(regex_automata::PatternID::ZERO),
            a,
            b,
            b_literal: memchr::memmem::Finder::new(&b_literal).into_owned(),
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
        spans: &mut [Spans; 2],
        found: &mut Vec<usize>,
        f: &mut dyn FnMut(usize, &str),
    ) -> Option<bool> {
        let [(ca, a), (cb, b)] = halves;
        let [sa, sb] = spans;
        // Every match of the regex starts with a match of `A`.
        if !half(&self.a, self.simple[0].as_ref(), hay, start, ca, a, sa) {
            return Some(false);
        }
        let end_a = sa[0].map_or(start, |m| m.1);
        let line_end = if self.dot_all {
            hay.len()
        } else {
            memchr::memchr(b'\n', &hay.as_bytes()[end_a..]).map_or(hay.len(), |p| end_a + p)
        };
        let window = (line_end + self.b_literal.needle().len()).min(hay.len());
        // Every occurrence, overlapping ones too (`aba` twice in `ababa`): `B` may match at
        // either, and the last it matches at is the one wanted.
        found.clear();
        let mut from = end_a;
        while let Some(t) = self.b_literal.find(&hay.as_bytes()[from..window]) {
            let t = from + t;
            if t > line_end {
                break;
            }
            found.push(t);
            from = t + 1;
        }
        for &t in found.iter().rev() {
            if !half(&self.b, self.simple[1].as_ref(), hay, t, cb, b, sb) {
                continue;
            }
            let end = sb[0].map_or(t, |m| m.1);
            f(0, &hay[start..end]);
            for (i, span) in sa.iter().enumerate().skip(1) {
                if let Some((x, y)) = *span {
                    f(i, &hay[x..y]);
                }
            }
            for (j, span) in sb.iter().enumerate().skip(1) {
                if let Some((x, y)) = *span {
                    f(self.a_groups + j - 1, &hay[x..y]);
                }
            }
            return Some(true);
        }
        None
    }
}

/// The anchored match of a half at `start` into `spans` (through its [`Simple`] form when it
/// has one and can tell): false when there is none.
fn half(
    re: &meta::Regex,
    simple: Option<&Simple>,
    hay: &str,
    start: usize,
    cache: &mut meta::Cache,
    caps: &mut Captures,
    spans: &mut Spans,
) -> bool {
    if let Some(found) = simple.and_then(|s| s.run(hay.as_bytes(), start, spans)) {
        return found;
    }
    re.search_captures_with(
        cache,
        &Input::new(hay).range(start..).anchored(Anchored::Yes),
        caps,
    );
    spans.clear();
    spans.extend((0..caps.group_len()).map(|i| caps.get_group(i).map(|m| (m.start, m.end))));
    caps.is_match()
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
            simple: Simple::of(pattern),
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
                    spans: Default::default(),
                    found: Vec::new(),
                });
            }
            let Some(State {
                cache,
                caps,
                halves,
                spans,
                found,
                ..
            }) = s.as_mut()
            else {
                return false;
            };
            let mut from = 0;
            while let Some(p) = self.finder.find(&hay.as_bytes()[from..]) {
                let start = from + p;
                let [whole, ab @ ..] = spans;
                if let (Some(sp), Some(halves)) = (&self.split, halves.as_mut()) {
                    match sp.captures(hay, start, halves, ab, found, f) {
                        Some(true) => return true,
                        Some(false) => {
                            from = start + 1;
                            continue;
                        }
                        None => {}
                    }
                }
                match self
                    .simple
                    .as_ref()
                    .and_then(|s| s.run(hay.as_bytes(), start, whole))
                {
                    Some(true) => {
                        for (i, span) in whole.iter().enumerate() {
                            if let Some((x, y)) = *span {
                                f(i, &hay[x..y]);
                            }
                        }
                        return true;
                    }
                    Some(false) => {
                        from = start + 1;
                        continue;
                    }
                    None => {}
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
            r#""route":"(?<r>[^"]*)""#,
            r"lat=(?<l>\d{2,})",
            r"ip=(\S+) u=([^ ]+) n=([a-z]+)(x?)",
            r"(?i)user=(\S+)",
            r"v=(é)(\w+)",
            r"t=([^\n]+)\n(.)",
            r"a=(b)[^b]*b(\d*)",
            r"k(.).*aba(x|bay)",
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
            r#"{"route":"","route":"/é/x","lat":"1"}"#,
            "lat=1 lat=12 lat=١٢٣ lat=99x",
            "ip=10.0.0.1 u=é-ü n=abc ip=1 u=x n=É ip=2 u=y n=zx",
            "v=é v=éé₂ v=éa_1",
            "t=ab\ncd t=\nx",
            "a=bxxb12 a=bb a=b",
            "user=ünï USER=x",
            "k abax ababay",
            "k ababay",
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

    /// Which regexes (or halves) walk as a [`Simple`] sequence: runs must be followed by
    /// something they cannot take, and only literals, classes and greedy runs qualify.
    #[test]
    fn simple_sequences() {
        for (pat, simple) in [
            (r#""route":"(?<r>[^"]+)""#, true),
            (r#""responseLatency":(?<l>\d+)"#, true),
            (r"ip=(\S+) u=", true),
            (r"(?i)user=(\S+)", true),
            (r"a=(b)[^b]*b(\d*)", true),
            (r"lat=(?<l>\d{2,})", true),
            (r"id=(\d+)\d", false),
            (r"id=(\w+)_", false),
            (r"id=(\d+)(\d+)", false),
            (r"id=(\d+?)x", false),
            (r"id=(\d{1,3})", false),
            (r"id=(a|b)", true),
            (r"id=(ab|cd)", false),
            (r"^id=(\d+)", false),
            (r"id=(\d+)\b", false),
            (r"id=((\d)+)", false),
            (r"(?-u:[\x00-\xff])+", false),
        ] {
            assert_eq!(Simple::of(pat).is_some(), simple, "{pat}");
        }
        // Unicode classes: non-ASCII bytes in, out, or left to the regex.
        let class = |p: &str| match Simple::of(p).map(|s| s.steps[0].0.clone()) {
            Some(Step::Run(c, _)) => (c[b'5' as usize], c[0xC3]),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(class(r"[^ ]+"), (IN, IN));
        assert_eq!(class(r"[0-9]+"), (IN, OUT));
        assert_eq!(class(r"\d+"), (IN, UNSURE));
        assert_eq!(class(r"[^\d]+"), (OUT, UNSURE));
        // A run taking every non-ASCII character counts characters, not bytes.
        let s = Simple::of(r"x([^a-z]{2,})").unwrap();
        let mut spans = Spans::new();
        assert_eq!(s.run("xéüa".as_bytes(), 0, &mut spans), Some(true));
        assert_eq!(spans[1], Some((1, 5)));
        assert_eq!(s.run("xéa".as_bytes(), 0, &mut spans), Some(false));
        // Unsure bytes go to the regex.
        let d = Simple::of(r"n=(\d+)").unwrap();
        assert_eq!(d.run("n=12١".as_bytes(), 0, &mut spans), None);
        assert_eq!(d.run("n=12 ١".as_bytes(), 0, &mut spans), Some(true));
    }
}
