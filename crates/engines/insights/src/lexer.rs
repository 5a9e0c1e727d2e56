//! Tokenizer for the Logs Insights query language. Offsets are char offsets.

use crate::QueryError;

/// The longest time period a query may write: 1000 years of 366 days, in ms (periods multiply
/// and add in i64 milliseconds without overflowing).
const MAX_PERIOD_MS: i64 = 1000 * 366 * 86_400_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// Back-quoted field name.
    Quoted(String),
    Str(String),
    Regex(String),
    Num(f64),
    /// Time period: count and (normalised) unit.
    Dur(i64, Unit),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Percent,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    Bang,
    /// A character the language does not use (reported by the parser, in order).
    Bad(char),
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    Sec,
    Min,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    pub fn parse(s: &str) -> Option<Unit> {
        let l = s.to_ascii_lowercase();
        let base = |names: &[&str]| {
            names
                .iter()
                .any(|n| l == *n || (n.len() > 1 && l.strip_suffix('s') == Some(n)))
        };
        Some(if base(&["ms", "msec", "millisecond"]) {
            Unit::Ms
        } else if base(&["s", "sec", "second"]) {
            Unit::Sec
        } else if base(&["m", "min", "minute"]) {
            Unit::Min
        } else if base(&["h", "hr", "hour"]) {
            Unit::Hour
        } else if base(&["d", "day"]) {
            Unit::Day
        } else if base(&["w", "week"]) {
            Unit::Week
        } else if base(&["mo", "mon", "month"]) {
            Unit::Month
        } else if base(&["q", "qtr", "quarter"]) {
            Unit::Quarter
        } else if base(&["y", "yr", "year"]) {
            Unit::Year
        } else {
            return None;
        })
    }
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

const NON_OPERAND_WORDS: &[&str] = &[
    "parse", "filter", "where", "like", "in", "and", "or", "not", "fields", "display", "stats",
    "by", "as", "sort", "dedup", "limit",
];

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '@' || c == '.' || c == '$'
}

pub fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let cs: Vec<char> = text.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    let err = |s: usize, e: usize, m: String| QueryError {
        start: s,
        end: e,
        message: m,
    };
    while i < cs.len() {
        let c = cs[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < cs.len() && cs[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let tok = match c {
            '"' | '\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    if i >= cs.len() {
                        return Err(err(start, cs.len(), "unterminated string literal".into()));
                    }
                    let d = cs[i];
                    if d == '\\' && i + 1 < cs.len() {
                        let n = cs[i + 1];
                        match n {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            '\\' | '"' | '\'' => s.push(n),
                            _ => {
                                s.push('\\');
                                s.push(n);
                            }
                        }
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if d == c {
                        break;
                    }
                    s.push(d);
                }
                Tok::Str(s)
            }
            '`' => {
                i += 1;
                let mut s = String::new();
                while i < cs.len() && cs[i] != '`' {
                    s.push(cs[i]);
                    i += 1;
                }
                if i >= cs.len() {
                    return Err(err(
                        start,
                        cs.len(),
                        "unterminated back-quoted field name".into(),
                    ));
                }
                i += 1;
                Tok::Quoted(s)
            }
            '/' if !prev_is_operand(&out) => {
                i += 1;
                let mut s = String::new();
                loop {
                    if i >= cs.len() {
                        return Err(err(
                            start,
                            cs.len(),
                            "unterminated regular expression".into(),
                        ));
                    }
                    let d = cs[i];
                    if d == '\\' && i + 1 < cs.len() {
                        if cs[i + 1] != '/' {
                            s.push('\\');
                        }
                        s.push(cs[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if d == '/' {
                        break;
                    }
                    s.push(d);
                }
                Tok::Regex(s)
            }
            '0'..='9' => {
                while i < cs.len() && cs[i].is_ascii_digit() {
                    i += 1;
                }
                let mut is_int = true;
                if i + 1 < cs.len() && cs[i] == '.' && cs[i + 1].is_ascii_digit() {
                    is_int = false;
                    i += 1;
                    while i < cs.len() && cs[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i + 1 < cs.len()
                    && (cs[i] == 'e' || cs[i] == 'E')
                    && (cs[i + 1].is_ascii_digit()
                        || ((cs[i + 1] == '-' || cs[i + 1] == '+')
                            && i + 2 < cs.len()
                            && cs[i + 2].is_ascii_digit()))
                {
                    is_int = false;
                    i += 2;
                    while i < cs.len() && cs[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let num: String = cs[start..i].iter().collect();
                if i < cs.len() && is_ident_char(cs[i]) && cs[i] != '.' {
                    let ws = i;
                    while i < cs.len() && is_ident_char(cs[i]) {
                        i += 1;
                    }
                    let word: String = cs[ws..i].iter().collect();
                    match Unit::parse(&word) {
                        Some(u) if is_int => {
                            let n: i64 = num
                                .parse()
                                .ok()
                                .filter(|n: &i64| {
                                    n.checked_mul(crate::datetime::unit_ms(u))
                                        .is_some_and(|ms| ms <= MAX_PERIOD_MS)
                                })
                                .ok_or_else(|| {
                                    err(
                                        start,
                                        i,
                                        "time period too large (at most 1000 years)".into(),
                                    )
                                })?;
                            Tok::Dur(n, u)
                        }
                        _ => Tok::Ident(format!("{num}{word}")),
                    }
                } else {
                    Tok::Num(
                        num.parse()
                            .map_err(|_| err(start, i, "invalid number".into()))?,
                    )
                }
            }
            c if is_ident_char(c) => {
                while i < cs.len() && is_ident_char(cs[i]) {
                    i += 1;
                }
                Tok::Ident(cs[start..i].iter().collect())
            }
            _ => {
                i += 1;
                let next = cs.get(i).copied();
                let two = |t: Tok, i: &mut usize| {
                    *i += 1;
                    t
                };
                match (c, next) {
                    ('!', Some('=')) => two(Tok::Ne, &mut i),
                    ('<', Some('=')) => two(Tok::Le, &mut i),
                    ('>', Some('=')) => two(Tok::Ge, &mut i),
                    ('=', Some('~')) => two(Tok::Match, &mut i),
                    ('=', Some('=')) => two(Tok::Eq, &mut i),
                    ('<', Some('>')) => two(Tok::Ne, &mut i),
                    ('|', _) => Tok::Pipe,
                    (',', _) => Tok::Comma,
                    ('(', _) => Tok::LParen,
                    (')', _) => Tok::RParen,
                    ('[', _) => Tok::LBracket,
                    (']', _) => Tok::RBracket,
                    ('+', _) => Tok::Plus,
                    ('-', _) => Tok::Minus,
                    ('*', _) => Tok::Star,
                    ('/', _) => Tok::Slash,
                    ('^', _) => Tok::Caret,
                    ('%', _) => Tok::Percent,
                    ('=', _) => Tok::Eq,
                    ('<', _) => Tok::Lt,
                    ('>', _) => Tok::Gt,
                    ('!', _) => Tok::Bang,
                    _ => Tok::Bad(c),
                }
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token {
        tok: Tok::Eof,
        start: cs.len(),
        end: cs.len(),
    });
    Ok(out)
}

/// Whether a `/` after the previous tokens is division (true) or opens a regex.
fn prev_is_operand(out: &[Token]) -> bool {
    let Some(last) = out.last() else { return false };
    match &last.tok {
        Tok::Ident(w) => {
            if NON_OPERAND_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
                return false;
            }
            // `parse <field> /re/`
            let before = out.len().checked_sub(2).map(|j| &out[j].tok);
            !matches!(before, Some(Tok::Ident(p)) if p.eq_ignore_ascii_case("parse"))
        }
        Tok::Quoted(_) => {
            let before = out.len().checked_sub(2).map(|j| &out[j].tok);
            !matches!(before, Some(Tok::Ident(p)) if p.eq_ignore_ascii_case("parse"))
        }
        Tok::Str(_) | Tok::Num(_) | Tok::Dur(..) | Tok::RParen | Tok::RBracket => true,
        _ => false,
    }
}
