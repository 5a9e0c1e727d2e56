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
        (!checks.is_empty()).then_some(Prefilter { checks })
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
