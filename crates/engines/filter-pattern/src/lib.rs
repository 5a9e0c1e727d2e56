//! CloudWatch Logs filter patterns: one parser and matcher shared by FilterLogEvents, Live Tail,
//! metric filters and subscription filters.
//!
//! A pattern is one of four kinds, chosen by its first non-blank character:
//!
//! * `{ ... }` — a JSON pattern (module `json`): `$.a.b[0]` selectors compared with
//!   `= != < > <= >=`, `IS NULL|TRUE|FALSE`, `NOT EXISTS`, combined with `&&`, `||` and
//!   parentheses.
//! * `[ ... ]` — a space-delimited pattern (module `delimited`): named positional fields, `...`,
//!   and per-field conditions.
//! * anything else — a term pattern (module `term`): terms and `"quoted phrases"` that must all
//!   appear, `?term` alternatives, `-term` exclusions, and standalone `%regex%` terms.
//! * empty or blank — matches every event.
//!
//! Everything is compiled in [`FilterPattern::parse`]; matching allocates nothing for term
//! patterns and only unescapes JSON strings that contain escapes. Malformed or unsupported syntax
//! is a [`PatternError`] naming the byte offset — a pattern never silently degrades to match-all.
//!
//! Tokenisation of terms (decided from AWS's documented examples, which show `ERROR` matching
//! `Exiting with ERRORCODE: -1` and `Exception` matching `IllegalArgumentException`): a term or
//! phrase matches when it occurs anywhere in the message as a case-sensitive substring. Unquoted
//! terms may contain only alphanumerics and `_`; anything else must be inside double quotes.

mod delimited;
mod expr;
mod json;
mod jsonscan;
mod lexer;
mod regex;
mod term;
mod value;

use std::collections::BTreeMap;

/// A compiled filter pattern. Cheap to clone; safe to share across threads.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Terms(term::TermPattern),
    Json(json::JsonPattern),
    Delimited(delimited::DelimitedPattern),
}

/// Why a pattern was rejected: the byte offset into the pattern and what was wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct PatternError {
    pub position: usize,
    pub message: String,
}

impl PatternError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        PatternError {
            position,
            message: message.into(),
        }
    }
}

/// AWS allows at most this many `%regex%` in one filter pattern.
pub const MAX_REGEX_PER_PATTERN: usize = 2;

/// Parenthesis nesting deeper than this is rejected, so hostile patterns cannot exhaust the stack.
pub(crate) const MAX_NESTING: usize = 64;

impl FilterPattern {
    /// Compiles `pattern`. Errors carry the byte offset of the offending character.
    pub fn parse(pattern: &str) -> Result<FilterPattern, PatternError> {
        let start = pattern
            .bytes()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(pattern.len());
        let kind = match pattern.as_bytes().get(start) {
            Some(b'{') => Kind::Json(json::JsonPattern::parse(pattern, start)?),
            Some(b'[') => Kind::Delimited(delimited::DelimitedPattern::parse(pattern, start)?),
            _ => Kind::Terms(term::TermPattern::parse(pattern)?),
        };
        Ok(FilterPattern { kind })
    }

    /// Whether the event `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.kind {
            Kind::Terms(t) => t.matches(message),
            Kind::Json(j) => j.matches(message),
            Kind::Delimited(d) => d.matches(message),
        }
    }

    /// True for patterns that match every event (empty, blank, `" "`), so callers can skip
    /// evaluating them.
    pub fn matches_all(&self) -> bool {
        match &self.kind {
            Kind::Terms(t) => t.matches_all(),
            Kind::Json(_) | Kind::Delimited(_) => false,
        }
    }

    /// Values a match extracts, or `None` when `message` does not match.
    ///
    /// * JSON patterns: every selector in the pattern that resolves to a string, number or boolean,
    ///   keyed by its canonical text (`$.a.b`, `$.c[0][1]`); numbers keep their original text.
    /// * Space-delimited patterns: every field of the event, keyed as AWS's TestMetricFilter
    ///   `extractedValues` are: `$name` for a named field, `$N` (1-based position) for unnamed
    ///   fields and fields covered by `...`. Metric filters' `metricValue`/dimension references
    ///   (`$status_code`, `$.latency`) can therefore be looked up verbatim.
    /// * Term patterns: an empty map.
    pub fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        match &self.kind {
            Kind::Terms(t) => t.matches(message).then(BTreeMap::new),
            Kind::Json(j) => j.extract(message),
            Kind::Delimited(d) => d.extract(message),
        }
    }

    /// Literal substrings that every matching message contains (for bloom-filter pruning by the log
    /// store); empty when none can be derived. These are substrings, not necessarily whole words,
    /// because terms match as substrings. JSON patterns yield none: a JSON string may spell any
    /// character as a `\u` escape, so no literal is guaranteed to appear in the raw message.
    pub fn required_terms(&self) -> Vec<String> {
        let mut terms = match &self.kind {
            Kind::Terms(t) => t.required_terms(),
            Kind::Json(_) => Vec::new(),
            Kind::Delimited(d) => d.required_terms(),
        };
        let mut seen = std::collections::HashSet::new();
        terms.retain(|t| !t.is_empty() && seen.insert(t.clone()));
        terms
    }
}

/// Resolves a JSON selector such as `$.latency` or `$.a[0].b` against a JSON event, for metric
/// filter `metricValue`/dimensions that name a field the pattern itself does not mention.
/// `None` when the selector is malformed, the message is not a JSON object, or the selector does
/// not resolve to a string, number or boolean.
pub fn json_value(message: &str, selector: &str) -> Option<String> {
    let path = lexer::parse_selector_text(selector)?;
    if !jsonscan::is_json_object(message) {
        return None;
    }
    jsonscan::lookup(message, &path.steps)
        .scalar_text()
        .map(|t| t.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_across_threads() {
        fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
        assert_traits::<FilterPattern>();
    }

    #[test]
    fn json_value_resolves_selectors() {
        let msg = r#"{"latency": 12.5, "a": [{"b": "x"}], "o": {}}"#;
        assert_eq!(json_value(msg, "$.latency").as_deref(), Some("12.5"));
        assert_eq!(json_value(msg, "$.a[0].b").as_deref(), Some("x"));
        assert_eq!(json_value(msg, "$.o"), None);
        assert_eq!(json_value(msg, "$.missing"), None);
        assert_eq!(json_value(msg, "latency"), None);
        assert_eq!(json_value("not json", "$.latency"), None);
    }
}
