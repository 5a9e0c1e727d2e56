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
    /// A substring.
    Contains(String),
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
        Some(Folded { text, anchored })
    }

    /// Where in the text the byte rarest in `sample` (in either case) is.
    fn rarest_in(&self, sample: &[u8]) -> usize {
        let count = |b: u8| {
            if b.is_ascii_lowercase() {
                memchr::memchr2_iter(b, b.to_ascii_uppercase(), sample).count()
            } else {
                memchr::memchr_iter(b, sample).count()
            }
        };
        (0..self.text.len())
            .min_by_key(|&i| count(self.text[i]))
            .unwrap_or(0)
    }

    /// Whether the regex matches in `text[at..end]`, where the text first occurs at `at`:
    /// every match starts with an occurrence, so the regex is tried anchored at each one.
    fn matches_from(&self, text: &str, mut at: usize, end: usize) -> bool {
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
            match self.find(t, at + 1, 0) {
                Some(next) => at = next,
                None => return false,
            }
        }
    }

    /// The first place at or after `from` where `hay` holds the text, ignoring ASCII case,
    /// found through the text's byte at `k`.
    fn find(&self, hay: &[u8], from: usize, k: usize) -> Option<usize> {
        let b = self.text[k];
        let mut at = from + k;
        loop {
            let rest = hay.get(at..)?;
            let hit = if b.is_ascii_lowercase() {
                memchr::memchr2(b, b.to_ascii_uppercase(), rest)
            } else {
                memchr::memchr(b, rest)
            }?;
            let p = at + hit - k;
            if hay
                .get(p..p + self.text.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(&self.text))
            {
                return Some(p);
            }
            at += hit + 1;
        }
    }
}

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
            .find(|c| matches!(c, Check::Contains(s) if !s.is_empty()))
            .or_else(|| {
                checks.iter().find(|c| match c {
                    Check::Regex(re) => !re.is_match("") && no_look_around(re.as_str()),
                    Check::Contains(_) => false,
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
            Check::Contains(s) => text
                .get(from..)?
                .find(s.as_str())
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
                } else if f.matches_from(text, p, end) {
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
            Check::Contains(s) => message.contains(s.as_str()),
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
            Expr::Str(s) => out.push(Check::Contains(s.clone())),
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
        assert_eq!(f.rarest_in(b"aaabbbq"), 2, "the rarest byte");
        assert_eq!(f.rarest_in(b"aBqQqQb"), 0, "the rarest byte");
        let hay = b"xxABqab aBQ abQabq a\xc3\xa9bq ABQ";
        for k in 0..3 {
            for from in 0..hay.len() {
                let naive = (from..hay.len()).find(|&p| {
                    hay.get(p..p + 3)
                        .is_some_and(|w| w.eq_ignore_ascii_case(b"abq"))
                });
                assert_eq!(f.find(hay, from, k), naive, "from {from} through {k}");
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
