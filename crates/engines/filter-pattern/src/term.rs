//! Term (unstructured) patterns: `ERROR "INTERNAL SERVER ERROR" ?WARN -DEBUG %regex%`.
//!
//! Semantics, from AWS's documentation:
//! * terms and quoted phrases must all occur in the message (AND); case-sensitive;
//! * a term or phrase matches wherever it occurs as a substring — AWS documents `ERROR` matching
//!   `Exiting with ERRORCODE: -1` and `Exception` matching `IllegalArgumentException`;
//! * `?term` terms are alternatives (OR). AWS documents that `?` cannot be combined with plain
//!   terms: when any plain term is present the `?` terms are ignored (`?ERROR ?ARGUMENTS REQUEST`
//!   matches every event containing `REQUEST`). `-term` exclusions still apply alongside `?` terms;
//! * `-term` excludes events containing the term (a space after `-`/`?` is allowed: AWS's own
//!   example is `"ERROR" - "Exiting"`);
//! * a blank phrase (`""`, `" "`) matches every event;
//! * `%regex%` is a term that matches when the regex finds a match.
//!
//! Tokenisation: terms are separated by whitespace. An unquoted term may contain only Unicode
//! alphanumerics and `_` (AWS: terms with other characters must be double-quoted); any other
//! character is a parse error at its position rather than a silent reinterpretation. Inside
//! quotes, `\"` and `\\` are escapes.

use ::regex::Regex;
use memchr::memmem::Finder;

use crate::{PatternError, MAX_REGEX_PER_PATTERN};

#[derive(Debug, Clone)]
pub(crate) struct TermPattern {
    include: Vec<Matcher>,
    exclude: Vec<Matcher>,
    /// Effective `?` alternatives (empty when plain terms made AWS ignore them).
    optional: Vec<Matcher>,
    /// A blank `?" "` alternative: the OR group is always satisfied.
    optional_always: bool,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// Boxed: a `Finder` carries its precomputed search tables inline (~300 bytes).
    Literal(Box<Finder<'static>>),
    Regex(Regex),
}

impl Matcher {
    #[inline]
    fn is_match(&self, message: &str) -> bool {
        match self {
            Matcher::Literal(f) => f.find(message.as_bytes()).is_some(),
            Matcher::Regex(r) => r.is_match(message),
        }
    }

    fn literal(&self) -> Option<String> {
        match self {
            Matcher::Literal(f) => Some(String::from_utf8_lossy(f.needle()).into_owned()),
            Matcher::Regex(_) => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Include,
    Optional,
    Exclude,
}

impl TermPattern {
    pub(crate) fn parse(src: &str) -> Result<TermPattern, PatternError> {
        let b = src.as_bytes();
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut optional = Vec::new();
        let mut blank_include = false;
        let mut optional_always = false;
        let mut regexes = 0;
        let mut i = skip_ws(b, 0);
        while i < b.len() {
            let role = match b[i] {
                b'?' => Role::Optional,
                b'-' => Role::Exclude,
                _ => Role::Include,
            };
            if role != Role::Include {
                let prefix = i;
                i = skip_ws(b, i + 1);
                match b.get(i) {
                    None => {
                        return Err(PatternError::new(
                            prefix,
                            "expected a term after the prefix",
                        ))
                    }
                    Some(b'?' | b'-') => {
                        return Err(PatternError::new(
                            i,
                            "a term takes at most one '?' or '-' prefix",
                        ))
                    }
                    Some(_) => {}
                }
            }
            let start = i;
            // `None` is a blank phrase.
            let (item, end): (Option<Matcher>, usize) = match b[i] {
                b'"' => {
                    let (text, end) = crate::lexer::scan_quoted(src, i)?;
                    let item = (!text.trim().is_empty()).then(|| {
                        Matcher::Literal(Box::new(Finder::new(text.as_bytes()).into_owned()))
                    });
                    (item, end)
                }
                b'%' => {
                    regexes += 1;
                    if regexes > MAX_REGEX_PER_PATTERN {
                        return Err(PatternError::new(
                            i,
                            format!("a filter pattern may contain at most {MAX_REGEX_PER_PATTERN} regular expressions"),
                        ));
                    }
                    let (re, end) = crate::regex::scan(src, i)?;
                    (Some(Matcher::Regex(re)), end)
                }
                _ => {
                    let end = bare_term_end(src, i)?;
                    let finder = Finder::new(&b[i..end]).into_owned();
                    (Some(Matcher::Literal(Box::new(finder))), end)
                }
            };
            if end < b.len() && !b[end].is_ascii_whitespace() {
                return Err(PatternError::new(end, "expected whitespace between terms"));
            }
            match (role, item) {
                (Role::Include, Some(m)) => include.push(m),
                (Role::Include, None) => blank_include = true,
                (Role::Optional, Some(m)) => optional.push(m),
                (Role::Optional, None) => optional_always = true,
                (Role::Exclude, Some(m)) => exclude.push(m),
                (Role::Exclude, None) => {
                    return Err(PatternError::new(
                        start,
                        "excluding a blank phrase would exclude every event",
                    ))
                }
            }
            i = skip_ws(b, end);
        }
        if !include.is_empty() || blank_include {
            optional.clear();
            optional_always = false;
        }
        if optional_always {
            optional.clear();
        }
        Ok(TermPattern {
            include,
            exclude,
            optional,
            optional_always,
        })
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        self.include.iter().all(|m| m.is_match(message))
            && !self.exclude.iter().any(|m| m.is_match(message))
            && (self.optional.is_empty() || self.optional.iter().any(|m| m.is_match(message)))
    }

    pub(crate) fn matches_all(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.optional.is_empty()
    }

    pub(crate) fn required_terms(&self) -> Vec<String> {
        let mut out: Vec<String> = self.include.iter().filter_map(Matcher::literal).collect();
        // A lone `?term` is required too; with two or more alternatives none is.
        if let [only] = self.optional.as_slice() {
            if !self.optional_always {
                out.extend(only.literal());
            }
        }
        out
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// End of the unquoted term at `src[start]`, rejecting characters that need quotes.
fn bare_term_end(src: &str, start: usize) -> Result<usize, PatternError> {
    for (off, c) in src[start..].char_indices() {
        if c.is_ascii_whitespace() {
            return Ok(start + off);
        }
        if !(c.is_alphanumeric() || c == '_') {
            let what = match c {
                '"' => "a quote inside a term".to_string(),
                _ => format!("character '{c}'"),
            };
            return Err(PatternError::new(
                start + off,
                format!("{what} is not allowed in an unquoted term; enclose terms with non-alphanumeric characters in double quotes"),
            ));
        }
    }
    Ok(src.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_terms_are_dropped_beside_plain_terms() {
        let p = TermPattern::parse("?ERROR ?ARGUMENTS REQUEST").unwrap();
        assert!(p.optional.is_empty());
        assert_eq!(p.include.len(), 1);
        let p = TermPattern::parse("?ERROR ?WARN -DEBUG").unwrap();
        assert_eq!(p.optional.len(), 2);
        assert_eq!(p.exclude.len(), 1);
    }

    #[test]
    fn blank_phrases() {
        assert!(TermPattern::parse("\" \"").unwrap().matches_all());
        assert!(TermPattern::parse("\"\"").unwrap().matches_all());
        assert!(TermPattern::parse("  ").unwrap().matches_all());
        assert!(TermPattern::parse("?x ?\" \"").unwrap().matches_all());
        assert!(!TermPattern::parse("x \" \"").unwrap().matches_all());
    }
}
