//! Tokenizer: numbers, ids (lower-case first), upper-case words (functions, keywords, AND/OR),
//! strings, brackets and operators. Positions are 0-based character offsets.

use crate::MathError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    Id(String),
    Upper(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number {n}"),
            Tok::Id(s) => format!("identifier '{s}'"),
            Tok::Upper(s) => format!("'{s}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Caret => "'^'".into(),
            Tok::Eq => "'=='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::And => "'AND'".into(),
            Tok::Or => "'OR'".into(),
        }
    }
}

/// Splits `text` into `(token, position)` pairs.
pub(crate) fn tokenize(text: &str) -> Result<Vec<(Tok, usize)>, MathError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            i = lex_number(&chars, i);
            let literal: String = chars[start..i].iter().collect();
            let value = literal.parse::<f64>().map_err(|_| {
                MathError::at(
                    start,
                    format!("Invalid number '{literal}' at position {start}"),
                )
            })?;
            if chars
                .get(i)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                return Err(MathError::at(
                    i,
                    format!(
                        "Syntax error: unexpected character '{}' at position {i}",
                        chars[i]
                    ),
                ));
            }
            out.push((Tok::Number(value), start));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let tok = if c.is_ascii_lowercase() {
                Tok::Id(word)
            } else if c.is_ascii_uppercase() {
                match word.as_str() {
                    "AND" => Tok::And,
                    "OR" => Tok::Or,
                    _ => Tok::Upper(word),
                }
            } else {
                return Err(MathError::at(
                    start,
                    format!(
                        "Invalid identifier '{word}' at position {start}: ids must start with a \
                         lower-case letter and functions must be upper-case"
                    ),
                ));
            };
            out.push((tok, start));
            continue;
        }
        if let Some(close) = closing_quote(c) {
            i += 1;
            let mut value = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(MathError::at(
                            start,
                            format!(
                                "Syntax error: unterminated string starting at position {start}"
                            ),
                        ))
                    }
                    Some(&ch) if ch == close || (c != '\u{201c}' && ch == c) => break,
                    Some(&ch) => value.push(ch),
                }
                i += 1;
            }
            i += 1;
            out.push((Tok::Str(value), start));
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, width) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('^', _) => (Tok::Caret, 1),
            ('=', Some('=')) => (Tok::Eq, 2),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            _ => {
                return Err(MathError::at(
                    start,
                    format!("Syntax error: unexpected character '{c}' at position {start}"),
                ))
            }
        };
        out.push((tok, start));
        i += width;
    }
    Ok(out)
}

/// Accepts `"…"`, `'…'` and the typographic `“…”` the AWS guide itself uses in an example.
fn closing_quote(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '\'' => Some('\''),
        '\u{201c}' => Some('\u{201d}'),
        _ => None,
    }
}

fn lex_number(chars: &[char], mut i: usize) -> usize {
    let digits = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    if chars.get(i) == Some(&'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(chars.get(i), Some('e') | Some('E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+') | Some('-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|d| d.is_ascii_digit()) {
            i = j;
            digits(&mut i);
        }
    }
    i
}
