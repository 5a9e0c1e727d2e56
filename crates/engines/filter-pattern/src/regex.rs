//! `%regex%` values: AWS's character restrictions, then compilation with bounded size.
//!
//! AWS accepts only ASCII alphanumerics, the symbols `: _ # = @ / ; , -` and the operators
//! `^ $ ? [ ] { } | \ * + .` inside a regex; `(`/`)` grouping, whitespace, other punctuation and
//! multi-byte characters are rejected. Everything that passes is valid syntax for the `regex`
//! crate with the same meaning (unanchored search, `\d \w \s`, classes, counted repetition).

use ::regex::{Regex, RegexBuilder};

use crate::PatternError;

/// Compiled-program budget: generous for real patterns, but stops `a{1000}{1000}`-style blowups.
const SIZE_LIMIT: usize = 1 << 20;

/// Scans a `%...%` regex starting at `src[start] == '%'`. Returns the compiled regex and the byte
/// offset just past the closing `%`.
pub(crate) fn scan(src: &str, start: usize) -> Result<(Regex, usize), PatternError> {
    debug_assert_eq!(src.as_bytes()[start], b'%');
    let body_start = start + 1;
    let Some(len) = src[body_start..].find('%') else {
        return Err(PatternError::new(
            start,
            "unterminated regex: missing closing '%'",
        ));
    };
    let body = &src[body_start..body_start + len];
    Ok((compile(body, body_start)?, body_start + len + 1))
}

/// Validates `body` against AWS's allowed characters and compiles it. `offset` is the position
/// of `body` in the pattern, for error positions.
pub(crate) fn compile(body: &str, offset: usize) -> Result<Regex, PatternError> {
    if body.is_empty() {
        return Err(PatternError::new(offset, "empty regex"));
    }
    for (i, c) in body.char_indices() {
        let problem = match c {
            c if c.is_ascii_alphanumeric() => continue,
            ':' | '_' | '#' | '=' | '@' | '/' | ';' | ',' | '-' => continue,
            '^' | '$' | '?' | '[' | ']' | '{' | '}' | '|' | '\\' | '*' | '+' | '.' => continue,
            '(' | ')' => "parentheses are not supported in a regex".to_string(),
            c if c.is_whitespace() => {
                "whitespace is not supported in a regex (use \\s)".to_string()
            }
            c if !c.is_ascii() => "multi-byte characters are not supported in a regex".to_string(),
            c => format!("character '{c}' is not supported in a regex"),
        };
        return Err(PatternError::new(offset + i, problem));
    }
    RegexBuilder::new(body)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| PatternError::new(offset, format!("invalid regex: {}", describe(&e))))
}

/// The one-line reason from a `regex` error (its `Display` is a multi-line diagram).
fn describe(e: &::regex::Error) -> String {
    match e {
        ::regex::Error::Syntax(s) => s
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_string(),
        ::regex::Error::CompiledTooBig(_) => "regex is too large".to_string(),
        _ => "cannot compile".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_and_compiles() {
        let (r, end) = scan("x %ab+c% y", 2).unwrap();
        assert_eq!(end, 8);
        assert!(r.is_match("zabbbc"));
    }

    #[test]
    fn rejects_with_positions() {
        let err = |s: &str| scan(s, 0).unwrap_err();
        assert_eq!(err("%abc").position, 0);
        assert_eq!(err("%%").position, 1);
        assert_eq!(err("%something!%").position, 10);
        assert_eq!(err("%(a)%").position, 1);
        assert_eq!(err("%a b%").position, 2);
        assert_eq!(err("%é%").position, 1);
        let e = err("%a{2,1}%");
        assert_eq!(e.position, 1);
        assert!(e.message.starts_with("invalid regex: "), "{}", e.message);
        assert!(err("%a{1000}{1000}{1000}%")
            .message
            .contains("invalid regex"));
        assert!(err("%ab\\%").message.contains("invalid regex"));
    }
}
