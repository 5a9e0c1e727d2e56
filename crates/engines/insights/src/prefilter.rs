//! A test of a record's raw message that every record passing the query's leading filters must
//! pass: the `@message like …` / `@message =~ …` conjuncts of the `filter` commands the query
//! starts with (filters change no field, so `@message` is still the raw message there). A
//! record failing it is counted as scanned and dropped before its row is built; one passing it
//! still goes through the whole filter, so the answer is the same with or without it.

use crate::ast::{BinOp, Command, Expr};
use regex::Regex;

/// One necessary condition on the raw message.
#[derive(Debug, Clone)]
enum Check {
    /// A regex (its own copy, so each execution has its own match cache).
    Regex(Regex),
    /// A substring, and its searcher.
    Contains(String, Box<memchr::memmem::Finder<'static>>),
}

/// The conjunction of [`Check`]s taken from a query's leading filters.
#[derive(Debug, Clone)]
pub struct Prefilter {
    checks: Vec<Check>,
    /// The check [`Prefilter::candidates`] searches whole texts for, if one allows it.
    block_check: Option<Check>,
    /// The leading filters are that check alone (`filter @message like …`): a record whose
    /// message holds a match of it passes them.
    decides: bool,
    /// For a regex block check matching letters in either case: what all its matches start
    /// with (see [`Folded`]).
    folded: Option<Folded>,
}

/// Text compared ignoring ASCII case (lowercased here), found by the positions of its rarest
/// byte in either case (rarest in the text searched): the regex crate looks for the many case
/// variants of a short prefix instead, with many false starts in text such as logs.
#[derive(Debug, Clone)]
struct Folded {
    text: Vec<u8>,
    /// The regex, to run anchored where the text occurs (no prefilter, no scan ahead).
    anchored: regex_automata::meta::Regex,
    /// [`Folded::rarest_in`]'s choice, once made.
    pair: std::sync::OnceLock<(usize, usize)>,
}

/// Bytes of a text sampled to find which of the needle's is rarest in it.
const SAMPLE: usize = 16 << 10;

impl Folded {
    /// What every match of `pattern` starts with, when that holds a letter matched in either
    /// case and is at least three bytes long.
    fn of(pattern: &str) -> Option<Folded> {
        use regex_syntax::hir::{Class, HirKind};
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let items = match hir.kind() {
            HirKind::Concat(v) => v.as_slice(),
            _ => std::slice::from_ref(&hir),
        };
        let (mut text, mut folded) = (Vec::new(), false);
        for h in items {
            // A letter in either case: a class of exactly its two ASCII forms.
            let pair = |a: u32, b: u32| {
                let (a, b) = (char::from_u32(a)?, char::from_u32(b)?);
                (a.is_ascii_uppercase() && b == a.to_ascii_lowercase()).then_some(b as u8)
            };
            let letter = match h.kind() {
                HirKind::Literal(l) => {
                    text.extend(l.0.iter().map(u8::to_ascii_lowercase));
                    continue;
                }
                HirKind::Class(Class::Unicode(c)) => match c.ranges() {
                    [x, y] if x.start() == x.end() && y.start() == y.end() => {
                        pair(x.start().into(), y.start().into())
                    }
                    _ => None,
                },
                HirKind::Class(Class::Bytes(c)) => match c.ranges() {
                    [x, y] if x.start() == x.end() && y.start() == y.end() => {
                        pair(x.start().into(), y.start().into())
                    }
                    _ => None,
                },
                _ => None,
            };
            match letter {
                Some(b) => {
                    text.push(b);
                    folded = true;
                }
                None => break,
            }
        }
        if !folded || text.len() < 3 {
            return None;
        }
        let anchored = regex_automata::meta::Regex::new(pattern).ok()?;
        Some(Folded {
            text,
            anchored,
            pair: std::sync::OnceLock::new(),
        })
    }

    /// The places in the text of its two bytes rarest in `sample` (in either case; two
    /// different places, the first the rarer), chosen once from the first text long enough
    /// to tell (logs of one source keep their make-up).
    fn rarest_in(&self, sample: &[u8]) -> (usize, usize) {
        if let Some(&pair) = self.pair.get() {
            return pair;
        }
        let count = |b: u8| {
            if b.is_ascii_lowercase() {
                memchr::memchr2_iter(b, b.to_ascii_uppercase(), sample).count()
            } else {
                memchr::memchr_iter(b, sample).count()
            }
        };
        let mut counts: Vec<(usize, usize)> = Vec::with_capacity(self.text.len());
        for (i, &b) in self.text.iter().enumerate() {
            let n = match counts.iter().find(|&&(j, _)| self.text[j] == b) {
                Some(&(_, n)) => n,
                None => count(b),
            };
            counts.push((i, n));
        }
        counts.sort_by_key(|&(i, n)| (n, i));
        let pair = (counts[0].0, counts.get(1).map_or(counts[0].0, |c| c.0));
        if sample.len() >= SAMPLE {
            let _ = self.pair.set(pair);
        }
        pair
    }

    /// Whether the regex matches in `text[at..end]`, where the text first occurs at `at`:
    /// every match starts with an occurrence, so the regex is tried anchored at each one.
    fn matches_from(&self, text: &str, mut at: usize, end: usize, k: (usize, usize)) -> bool {
        use regex_automata::{Anchored, Input};
        let t = &text.as_bytes()[..end];
        loop {
            let input = Input::new(text)
                .range(at..end)
                .anchored(Anchored::Yes)
                .earliest(true);
            if self.anchored.is_match(input) {
                return true;
            }
            match self.find(t, at + 1, k) {
                Some(next) => at = next,
                None => return false,
            }
        }
    }

    /// The first place at or after `from` where `hay` holds the text, ignoring ASCII case,
    /// found through the text's bytes at `k.0` and `k.1`: [`LANES`] places at a time are
    /// checked for both (in a loop the compiler turns into vector compares), and only those
    /// with both are compared in full.
    fn find(&self, hay: &[u8], from: usize, k: (usize, usize)) -> Option<usize> {
        let n = self.text.len();
        let last = hay.len().checked_sub(n)?;
        // A letter is compared with its case bit set: `x | 0x20 == c` holds for exactly the
        // two cases of `c`.
        let folded = |b: u8| {
            if b.is_ascii_lowercase() {
                (b, 0x20)
            } else {
                (b, 0)
            }
        };
        let ((c1, f1), (c2, f2)) = (folded(self.text[k.0]), folded(self.text[k.1]));
        let at = |q: usize| hay[q..q + n].eq_ignore_ascii_case(&self.text);
        let mut p = from;
        // Places p..p + LANES all lie at or before `last`.
        while p + LANES <= last + 1 {
            let a: &[u8; LANES] = hay[p + k.0..p + k.0 + LANES].try_into().ok()?;
            let b: &[u8; LANES] = hay[p + k.1..p + k.1 + LANES].try_into().ok()?;
            let mut hits = [0u8; LANES];
            for i in 0..LANES {
                hits[i] = u8::from((a[i] | f1) == c1) & u8::from((b[i] | f2) == c2);
            }
            let any = hits.chunks_exact(16).fold(0u128, |m, c| {
                m | u128::from_ne_bytes(c.try_into().unwrap_or([0; 16]))
            });
            if any != 0 {
                if let Some(q) = (0..LANES)
                    .filter(|&i| hits[i] != 0)
                    .map(|i| p + i)
                    .find(|&q| at(q))
                {
                    return Some(q);
                }
            }
            p += LANES;
        }
        (p..=last).find(|&q| at(q))
    }
}

/// Places [`Folded::find`] checks at once.
const LANES: usize = 64;

impl Prefilter {
    /// The prefilter of a streaming prefix, if its leading filters yield any check.
    pub fn of(prefix: &[Command]) -> Option<Prefilter> {
        let mut checks = Vec::new();
        for c in prefix {
            match c {
                Command::Filter(e) => conjuncts(e, &mut checks),
                _ => break,
            }
        }
        // A substring is the cheapest to search for; a regex only without look-around and
        // when it cannot match the empty string.
        let block_check = checks
            .iter()
            .find(|c| matches!(c, Check::Contains(s, _) if !s.is_empty()))
            .or_else(|| {
                checks.iter().find(|c| match c {
                    Check::Regex(re) => !re.is_match("") && no_look_around(re.as_str()),
                    Check::Contains(..) => false,
                })
            })
            .cloned();
        let decides = block_check.is_some()
            && matches!(prefix, [Command::Filter(Expr::Like {
                expr,
                pat,
                negated: false,
            })] if matches!(&**expr, Expr::Field(f) if f == "@message")
                && matches!(&**pat, Expr::Regex(_) | Expr::Str(_)));
        let folded = match &block_check {
            Some(Check::Regex(re)) => Folded::of(re.as_str()),
            _ => None,
        };
        (!checks.is_empty()).then_some(Prefilter {
            checks,
            block_check,
            decides,
            folded,
        })
    }

    /// Marks, in `out`, the indexes of the `spans` (ascending, disjoint byte ranges of `text`,
    /// one per record) whose message may pass the leading filters, searching `text` as a whole
    /// for one check rather than each message on its own; false (nothing marked) when no check
    /// allows it. Each index comes with whether its record is sure to pass them: when the
    /// filters are the check alone and the match found lies inside the message. Exact for a
    /// check without look-around (`^`, `$`, `\b`, …) that cannot match the empty string: such a match inside a message is a match of the whole text at the
    /// same place, and the search restarts at each candidate's next message, so a match
    /// straddling two messages hides nothing. Candidates still go through
    /// [`Prefilter::passes`] (the record's own push).
    pub fn candidates(
        &self,
        text: &str,
        spans: &[(u32, u32)],
        out: &mut Vec<(usize, bool)>,
    ) -> bool {
        out.clear();
        let Some(check) = self.block_check.as_ref() else {
            return false;
        };
        if let (Some(f), Check::Regex(_)) = (&self.folded, check) {
            self.folded_candidates(f, text, spans, out);
            return true;
        }
        let find = |from: usize| match check {
            Check::Regex(re) => re.find_at(text, from).map(|m| (m.start(), m.end())),
            Check::Contains(s, f) => f
                .find(text.as_bytes().get(from..)?)
                .map(|p| (p + from, p + from + s.len())),
        };
        let mut i = 0;
        while i < spans.len() {
            let Some((pos, end)) = find(spans[i].0 as usize) else {
                break;
            };
            // The first span not ending at or before `pos`.
            let j = i + spans[i..].partition_point(|s| s.1 as usize <= pos);
            if j == spans.len() {
                break;
            }
            if spans[j].0 as usize <= pos {
                out.push((j, self.decides && end <= spans[j].1 as usize));
                i = j + 1;
            } else {
                // The match starts between two spans (a message the scan skips).
                i = j;
            }
        }
        true
    }

    /// [`Prefilter::candidates`] through the text every match of the regex starts with: a
    /// message holding it matches when the regex matches anchored at one of the text's
    /// occurrences in the message ([`Folded::matches_from`]).
    fn folded_candidates(
        &self,
        f: &Folded,
        text: &str,
        spans: &[(u32, u32)],
        out: &mut Vec<(usize, bool)>,
    ) {
        let t = text.as_bytes();
        let k = f.rarest_in(&t[..t.len().min(SAMPLE)]);
        let mut i = 0;
        while i < spans.len() {
            let Some(p) = f.find(t, spans[i].0 as usize, k) else {
                break;
            };
            let j = i + spans[i..].partition_point(|s| s.1 as usize <= p);
            if j == spans.len() {
                break;
            }
            if spans[j].0 as usize <= p {
                let end = spans[j].1 as usize;
                if !text.is_char_boundary(p) || !text.is_char_boundary(end) {
                    // Not for valid spans: let the record decide.
                    out.push((j, false));
                } else if f.matches_from(text, p, end, k) {
                    out.push((j, self.decides));
                }
                i = j + 1;
            } else {
                i = j;
            }
        }
    }

    /// Whether [`Prefilter::candidates`] can search whole texts.
    pub fn searches_texts(&self) -> bool {
        self.block_check.is_some()
    }

    /// Whether `message` may pass the leading filters.
    #[inline]
    pub fn passes(&self, message: &str) -> bool {
        self.checks.iter().all(|c| match c {
            Check::Regex(re) => re.is_match(message),
            Check::Contains(_, f) => f.find(message.as_bytes()).is_some(),
        })
    }
}

/// Whether the pattern has no look-around assertion (anchors, word boundaries).
fn no_look_around(pattern: &str) -> bool {
    regex_syntax::Parser::new()
        .parse(pattern)
        .is_ok_and(|h| h.properties().look_set().is_empty())
}

/// Collects the checks of the `and`-conjuncts of `e` that test `@message` positively.
fn conjuncts(e: &Expr, out: &mut Vec<Check>) {
    match e {
        Expr::Bin(BinOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        Expr::Like {
            expr,
            pat,
            negated: false,
        } if matches!(&**expr, Expr::Field(f) if f == "@message") => match &**pat {
            Expr::Regex(r) => out.push(Check::Regex((*r.re).clone())),
            Expr::Str(s) => out.push(Check::Contains(
                s.clone(),
                Box::new(memchr::memmem::Finder::new(s.as_bytes()).into_owned()),
            )),
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (query, messages, searches whole texts?): every message that passes is a candidate.
    #[test]
    fn candidates_cover_every_passing_message() {
        // The first two: a regex failing at the first occurrence of its text, then matching.
        let msgs = [
            "cabxCAB1",
            "aacab+cab5",
            "ab",
            "cab",
            "",
            "xa",
            "bz",
            "aab",
            "b",
            "zzz",
            "a",
            "b",
            "CAB",
            "AaB",
            "aAbb",
            "ZZ",
            "Ca",
            "bA",
            "aabab",
        ];
        let cases: &[(&str, bool)] = &[
            ("filter @message like 'ab'", true),
            ("filter @message like 'zz'", true),
            ("filter @message like /a+b/", true),
            ("filter @message like /(?i)AB/", true),
            ("filter @message like /b$/", false),
            ("filter @message like /^a/", false),
            ("filter @message like /\\bab/", false),
            ("filter @message like /x*/", false),
            ("filter @message like ''", false),
            ("filter @message like /a/ and @message like 'b'", true),
            ("filter @message like /(?i)AB/", true),
            ("filter @message like /(?i)aAb+/", true),
            ("filter @message like /(?i)ca?b/", true),
            ("filter @message like /(?i)Z{2}/", true),
            ("filter @message like /(?i)cab/", true),
            ("filter @message like /(?i)aab+/", true),
            ("filter @message like /(?i)bab|bA/", true),
            ("filter @message like /(?i)cab\\d/", true),
            ("filter @message like /(?i)ca(?-i)B/", true),
        ];
        // Every subset of the messages as the scan's events (others stay in the text).
        let mut sure = 0;
        for (q, searches) in cases {
            let query = crate::parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            let p = Prefilter::of(&query.plan.prefix).expect("a prefilter");
            assert_eq!(p.searches_texts(), *searches, "{q}");
            let text: String = msgs.concat();
            let mut bounds = vec![0u32];
            for m in msgs {
                bounds.push(bounds[bounds.len() - 1] + m.len() as u32);
            }
            for mask in [
                0b11_1111_1111u32,
                0b10_1010_1010,
                0b01_0101_0101,
                0b11_0000_0111,
            ] {
                let listed: Vec<usize> = (0..msgs.len()).filter(|i| mask & (1 << i) != 0).collect();
                let spans: Vec<(u32, u32)> =
                    listed.iter().map(|&i| (bounds[i], bounds[i + 1])).collect();
                let mut out = Vec::new();
                if !p.candidates(&text, &spans, &mut out) {
                    assert!(!searches, "{q}");
                    continue;
                }
                for (k, &i) in listed.iter().enumerate() {
                    let pick = out.iter().find(|(j, _)| *j == k);
                    if p.passes(msgs[i]) {
                        assert!(pick.is_some(), "{q}: message {:?} missed", msgs[i]);
                    }
                    // A record marked sure passes the whole filter, which is the check alone.
                    if pick.is_some_and(|(_, sure)| *sure) {
                        assert!(
                            p.passes(msgs[i]) && p.checks.len() == 1,
                            "{q}: {:?}",
                            msgs[i]
                        );
                        sure += 1;
                    }
                }
            }
        }
        assert!(sure > 20, "records marked sure ({sure})");
    }

    /// The text every match starts with, ignoring case, and its search against a naive one.
    #[test]
    fn folded_prefixes() {
        for (pattern, want) in [
            (r"(?i)python-requests/2\.\d+", Some("python-reque")),
            (r"(?i)GET /api", Some("get /api")),
            (r"(?i)ab(?-i)CD", Some("abcd")),
            (r"(?i)ab|cd", None),
            (r"(?i)x", None),
            (r"abc", None),
            (r"(?i)\d+abc", None),
            (r"(?i)é+", None),
        ] {
            let got = Folded::of(pattern).map(|f| String::from_utf8(f.text).unwrap());
            assert_eq!(got.as_deref(), want, "{pattern}");
        }
        let f = Folded::of("(?i)abq").unwrap();
        assert_eq!(f.rarest_in(b"aaabbbq"), (2, 0), "the rarest bytes");
        assert_eq!(f.rarest_in(b"aBqQqQb"), (0, 1), "the rarest bytes");
        // Near misses in every case, across the vector loop's strides and its tail.
        let mut hay = Vec::new();
        let mut x = 7u32;
        while hay.len() < 700 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let piece: &[u8] = match (x >> 16) % 9 {
                0 => b"abq",
                1 => b"ABQ",
                2 => b"aBq",
                3 => b"ab",
                4 => b"bq",
                5 => b"a-b/Q",
                6 => b"a-B/",
                7 => b"\xc3\xa9",
                _ => b"xyz ",
            };
            hay.extend_from_slice(piece);
        }
        for (pattern, needle) in [("(?i)abq", &b"abq"[..]), ("(?i)a-b/q", &b"a-b/q"[..])] {
            let f = Folded::of(pattern).unwrap();
            assert_eq!(f.text, needle);
            for k0 in 0..needle.len() {
                for k1 in 0..needle.len() {
                    for from in (0..hay.len()).step_by(7) {
                        let naive = (from..hay.len()).find(|&p| {
                            hay.get(p..p + needle.len())
                                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
                        });
                        assert_eq!(
                            f.find(&hay, from, (k0, k1)),
                            naive,
                            "{pattern} from {from} through {k0}, {k1}"
                        );
                    }
                }
            }
        }
    }

    /// Which leading filters a found match decides: the check alone.
    #[test]
    fn only_a_lone_check_decides() {
        for (q, decides) in [
            ("filter @message like 'ab'", true),
            ("filter @message like /a+b/", true),
            ("filter @message =~ /a+b/", true),
            ("filter @message like 'a' and @message like 'b'", false),
            ("filter @message like 'a' and x > 1", false),
            ("filter @message like 'a' | filter x > 1", false),
            ("filter @message like 'a' | stats count(*)", true),
        ] {
            let query = crate::parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            let p = Prefilter::of(&query.plan.prefix).expect("a prefilter");
            assert_eq!(p.decides, decides, "{q}");
        }
    }

    /// (query, message, passes?) — `None` when the query yields no prefilter.
    #[test]
    fn prefilter_table() {
        let cases: &[(&str, &str, Option<bool>)] = &[
            (
                "filter @message like /(?i)ERROR/",
                "an error here",
                Some(true),
            ),
            ("filter @message like /(?i)ERROR/", "all good", Some(false)),
            ("filter @message like 'abc'", "xxabcxx", Some(true)),
            ("filter @message like 'abc'", "xxABCxx", Some(false)),
            ("filter @message =~ /a.c/", "abc", Some(true)),
            ("filter @message =~ /a.c/", "ac", Some(false)),
            (
                "filter @message like 'a' and @message like 'b'",
                "a only",
                Some(false),
            ),
            ("filter @message like 'a' and x > 1", "a", Some(true)),
            (
                "filter @message like 'a' | filter @message like 'z'",
                "a",
                Some(false),
            ),
            // Only the leading filters: a later `fields` may rewrite @message.
            (
                "fields 'z' as @message | filter @message like 'z'",
                "a",
                None,
            ),
            // Disjunctions and negations give no necessary condition.
            ("filter @message like 'a' or x = 1", "b", None),
            ("filter @message not like 'a'", "a", None),
            ("filter not (@message like 'a')", "a", None),
            ("filter msg like 'a'", "b", None),
            ("stats count(*)", "b", None),
        ];
        for (q, msg, want) in cases {
            let query = crate::parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
            let got = Prefilter::of(&query.plan.prefix).map(|p| p.passes(msg));
            assert_eq!(got, *want, "{q} on {msg:?}");
        }
    }
}
