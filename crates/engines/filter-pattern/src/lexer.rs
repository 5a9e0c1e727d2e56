//! Tokens of JSON (`{ ... }`) and space-delimited (`[ ... ]`) patterns, and JSON selectors.
//!
//! Both bodies share one token set so that quoted strings and `%regex%` (which may contain `}`,
//! `]`, `,` or `&&`) are consumed whole before the parsers look for structure.

use ::regex::Regex;

use crate::value::Op;
use crate::PatternError;

#[derive(Debug, Clone)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Op(Op),
    /// `$.a.b[0]`.
    Selector(Selector),
    /// A bare word: a name, keyword, number, or unquoted value (`4*`, `123.123.*`, `...`).
    Word(String),
    /// A double-quoted string, with `\"` and `\\` unescaped.
    Quoted(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// One step of a JSON selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A parsed `$.…` selector and its canonical text (the key `extract` reports it under).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selector {
    pub(crate) steps: Vec<Step>,
    pub(crate) text: String,
}

impl Selector {
    fn new(steps: Vec<Step>) -> Selector {
        use std::fmt::Write;
        let mut text = String::from("$");
        for step in &steps {
            let _ = match step {
                Step::Key(k) => write!(text, ".{k}"),
                Step::Index(n) => write!(text, "[{n}]"),
            };
        }
        Selector { steps, text }
    }
}

/// Characters an unquoted value or name may contain; anything else must be quoted.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'*' | b'+' | b'-' | b':' | b'/')
}

/// Tokenises `src[start..]` to the end of the pattern.
pub(crate) fn lex(src: &str, start: usize) -> Result<Vec<Token>, PatternError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        let pos = i;
        let two = |next: u8| b.get(i + 1) == Some(&next);
        let (tok, len) = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'{' => (Tok::LBrace, 1),
            b'}' => (Tok::RBrace, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b',' => (Tok::Comma, 1),
            b'&' if two(b'&') => (Tok::And, 2),
            b'|' if two(b'|') => (Tok::Or, 2),
            b'&' | b'|' => {
                let op = if c == b'&' { "&&" } else { "||" };
                return Err(PatternError::new(pos, format!("expected '{op}'")));
            }
            b'!' if two(b'=') => (Tok::Op(Op::Ne), 2),
            b'!' => return Err(PatternError::new(pos, "expected '!='")),
            b'=' if two(b'=') => {
                return Err(PatternError::new(pos, "'==' is not an operator; use '='"))
            }
            b'=' => (Tok::Op(Op::Eq), 1),
            b'<' if two(b'=') => (Tok::Op(Op::Le), 2),
            b'<' => (Tok::Op(Op::Lt), 1),
            b'>' if two(b'=') => (Tok::Op(Op::Ge), 2),
            b'>' => (Tok::Op(Op::Gt), 1),
            b'"' => {
                let (s, end) = scan_quoted(src, i)?;
                out.push(Token {
                    tok: Tok::Quoted(s),
                    pos,
                });
                i = end;
                continue;
            }
            b'%' => {
                let (re, end) = crate::regex::scan(src, i)?;
                out.push(Token {
                    tok: Tok::Regex(re),
                    pos,
                });
                i = end;
                continue;
            }
            b'$' => {
                let (sel, end) = scan_selector(src, i)?;
                out.push(Token {
                    tok: Tok::Selector(sel),
                    pos,
                });
                i = end;
                continue;
            }
            c if is_word_byte(c) => {
                let len = b[i..].iter().take_while(|&&c| is_word_byte(c)).count();
                (Tok::Word(src[i..i + len].to_string()), len)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(PatternError::new(
                    pos,
                    format!("unexpected character '{ch}' (values with special characters must be double-quoted)"),
                ));
            }
        };
        out.push(Token { tok, pos });
        i += len;
    }
    Ok(out)
}

/// Scans a double-quoted string at `src[start] == '"'`; `\"` and `\\` are escapes, any other
/// backslash is literal (so `"C:\path"` means what it says). Returns the content and the offset
/// past the closing quote.
pub(crate) fn scan_quoted(src: &str, start: usize) -> Result<(String, usize), PatternError> {
    let b = src.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run = i;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&src[run..i]);
                return Ok((out, i + 1));
            }
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                out.push_str(&src[run..i]);
                out.push(b[i + 1] as char);
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    Err(PatternError::new(start, "unterminated quoted string"))
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Scans a selector at `src[start] == '$'`: `$` then one or more `.name` / `[index]` steps, the
/// first being a `.name` (AWS: array indexes must follow a property). Names are alphanumerics,
/// `_` and `-`.
pub(crate) fn scan_selector(src: &str, start: usize) -> Result<(Selector, usize), PatternError> {
    let b = src.as_bytes();
    let mut i = start + 1;
    let mut steps = Vec::new();
    loop {
        match b.get(i) {
            Some(b'.') => {
                let len = b[i + 1..].iter().take_while(|&&c| is_key_byte(c)).count();
                if len == 0 {
                    return Err(PatternError::new(
                        i + 1,
                        "expected a property name (letters, digits, '_' or '-') after '.'",
                    ));
                }
                steps.push(Step::Key(src[i + 1..i + 1 + len].to_string()));
                i += 1 + len;
            }
            Some(b'[') => {
                if steps.is_empty() {
                    return Err(PatternError::new(
                        i,
                        "a selector must start with '$.' and a property name",
                    ));
                }
                let len = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let index = src[i + 1..i + 1 + len].parse::<usize>().ok();
                let Some(index) = index.filter(|_| b.get(i + 1 + len) == Some(&b']')) else {
                    return Err(PatternError::new(i, "expected an array index such as [0]"));
                };
                steps.push(Step::Index(index));
                i += len + 2;
            }
            _ if steps.is_empty() => {
                return Err(PatternError::new(
                    start,
                    "a selector must start with '$.' and a property name",
                ));
            }
            Some(&c) if is_word_byte(c) || !c.is_ascii() => {
                return Err(PatternError::new(
                    i,
                    "unexpected character in selector (property names allow letters, digits, '_' and '-')",
                ));
            }
            _ => break,
        }
    }
    Ok((Selector::new(steps), i))
}

/// Parses a whole string as a selector (for metric-filter `metricValue` references).
pub(crate) fn parse_selector_text(s: &str) -> Option<Selector> {
    if !s.starts_with('$') {
        return None;
    }
    match scan_selector(s, 0) {
        Ok((sel, end)) if end == s.len() => Some(sel),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<String> {
        lex(src, 0)
            .unwrap()
            .into_iter()
            .map(|t| match t.tok {
                Tok::Word(w) => format!("w:{w}"),
                Tok::Quoted(q) => format!("q:{q}"),
                Tok::Selector(s) => format!("s:{}", s.text),
                Tok::Op(o) => o.symbol().to_string(),
                Tok::Regex(r) => format!("r:{}", r.as_str()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds(r#"{ $.a[0].b != "x\"y" && ($.c >= -1e3 || $.d = %[a-z]{2}%) }"#),
            [
                "LBrace",
                "s:$.a[0].b",
                "!=",
                "q:x\"y",
                "And",
                "LParen",
                "s:$.c",
                ">=",
                "w:-1e3",
                "Or",
                "s:$.d",
                "=",
                "r:[a-z]{2}",
                "RParen",
                "RBrace"
            ]
        );
        assert_eq!(
            kinds("[..., a=4*,b<=5]"),
            [
                "LBracket", "w:...", "Comma", "w:a", "=", "w:4*", "Comma", "w:b", "<=", "w:5",
                "RBracket"
            ]
        );
    }

    #[test]
    fn selectors() {
        let sel = |s: &str| scan_selector(s, 0).map(|(s, end)| (s.steps, end));
        assert_eq!(
            sel("$.c[0][1] ").unwrap(),
            (
                vec![Step::Key("c".into()), Step::Index(0), Step::Index(1)],
                9
            )
        );
        assert_eq!(sel("$").unwrap_err().position, 0);
        assert_eq!(sel("$.").unwrap_err().position, 2);
        assert_eq!(sel("$[0]").unwrap_err().position, 1);
        assert_eq!(sel("$.a[x]").unwrap_err().position, 3);
        assert_eq!(sel("$.a[1").unwrap_err().position, 3);
        assert!(parse_selector_text("$.a@b").is_none());
        assert_eq!(sel("$.a*").unwrap_err().position, 3);
        assert!(parse_selector_text("$.a.b").is_some());
        assert!(parse_selector_text("$.a b").is_none());
    }

    #[test]
    fn errors() {
        let pos = |s: &str| lex(s, 0).unwrap_err().position;
        assert_eq!(pos("a & b"), 2);
        assert_eq!(pos("a | b"), 2);
        assert_eq!(pos("a ! b"), 2);
        assert_eq!(pos("a == b"), 2);
        assert_eq!(pos("a = \"x"), 4);
        assert_eq!(pos("a = @x"), 4);
        assert_eq!(pos("a = é"), 4);
    }
}
