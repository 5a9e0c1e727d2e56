//! Space-delimited patterns:
//! `[ip, user, ..., status_code = 4* && status_code != 403, bytes > 1000]`.
//!
//! Events are split into fields on whitespace; a field starting with `[` runs to the next `]`, one
//! starting with `"` to the next unescaped `"`, and the brackets/quotes are not part of its value
//! (an unclosed `[` or `"` is an ordinary character). Each comma-separated item of the pattern is
//! one field position:
//! * `name` — any value; `...` — any number of fields (zero or more); an empty item (AWS's
//!   example `[..., status_code=4*,]` ends with one) — an unnamed field;
//! * `name op value` conditions combined with `&&`, `||` and parentheses. A condition may test
//!   only its own field (AWS's `[w1=ERROR || w1=WARN, w2]`); naming another field is an error.
//!
//! Without `...` the event must have exactly as many fields as the pattern (AWS documents
//! `[w1=ERROR, w2]` matching `ERROR message` but not `ERROR WARN message`). With several `...`
//! the leftmost alignment is used. Values compare as in JSON patterns: numbers numerically,
//! strings with leading/trailing `*` wildcards, `%regex%` by search.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::expr::{Expr, Parser};
use crate::lexer::{self, Tok};
use crate::value::{Comparison, Op, Operand};
use crate::PatternError;

#[derive(Debug, Clone)]
pub(crate) struct DelimitedPattern {
    items: Vec<Item>,
    ellipses: usize,
}

#[derive(Debug, Clone)]
enum Item {
    Ellipsis,
    Field {
        name: Option<String>,
        cond: Option<Expr<Comparison>>,
    },
}

type Span = (usize, usize);

thread_local! {
    /// Field spans of the event being matched, reused so matching does not allocate.
    static SPANS: RefCell<Vec<Span>> = const { RefCell::new(Vec::new()) };
}

impl DelimitedPattern {
    /// Parses the pattern whose `[` is at `src[start]`.
    pub(crate) fn parse(src: &str, start: usize) -> Result<DelimitedPattern, PatternError> {
        let toks = lexer::lex(src, start + 1)?;
        let mut p = Parser::new(&toks, src.len())?;
        if matches!(p.peek(), Some(Tok::RBracket)) {
            return Err(p.error("empty space-delimited pattern: expected field names"));
        }
        let mut items = Vec::new();
        let mut names: Vec<String> = Vec::new();
        loop {
            let item = match (p.peek(), p.peek_nth(1)) {
                (None, _) => return Err(p.error("missing closing ']'")),
                (Some(Tok::Comma | Tok::RBracket), _) => Item::Field {
                    name: None,
                    cond: None,
                },
                (Some(Tok::Word(w)), end) if w == "..." => {
                    p.bump();
                    if !matches!(end, Some(Tok::Comma | Tok::RBracket)) {
                        return Err(p.error("'...' stands alone between commas"));
                    }
                    Item::Ellipsis
                }
                (Some(Tok::Word(w)), Some(Tok::Comma | Tok::RBracket) | None) => {
                    check_name(w, p.pos())?;
                    add_name(&mut names, w, p.pos())?;
                    p.bump();
                    Item::Field {
                        name: Some(w.clone()),
                        cond: None,
                    }
                }
                _ => {
                    let mut refs: Vec<(String, usize)> = Vec::new();
                    let cond = p.or_expr(0, &mut |p| field_condition(p, &mut refs))?;
                    let (name, pos) = refs.swap_remove(0);
                    if let Some((other, at)) = refs.iter().find(|(n, _)| *n != name) {
                        return Err(PatternError::new(
                            *at,
                            format!("a condition may only test its own field '{name}', not '{other}'; separate fields with ','"),
                        ));
                    }
                    add_name(&mut names, &name, pos)?;
                    Item::Field {
                        name: Some(name),
                        cond: Some(cond),
                    }
                }
            };
            items.push(item);
            match p.peek() {
                Some(Tok::Comma) => {
                    p.bump();
                }
                Some(Tok::RBracket) => {
                    p.bump();
                    break;
                }
                None => return Err(p.error("missing closing ']'")),
                Some(_) => return Err(p.error("expected '&&', '||', ',' or ']'")),
            }
        }
        if p.peek().is_some() {
            return Err(p.error("unexpected text after the closing ']'"));
        }
        let ellipses = items.iter().filter(|i| matches!(i, Item::Ellipsis)).count();
        Ok(DelimitedPattern { items, ellipses })
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        SPANS.with(|buf| {
            let Ok(mut spans) = buf.try_borrow_mut() else {
                return self.align(&split_owned(message), message, |_, _| {});
            };
            split(message, &mut spans);
            self.align(&spans, message, |_, _| {})
        })
    }

    pub(crate) fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        let spans = split_owned(message);
        let mut slot = vec![usize::MAX; self.items.len()];
        if !self.align(&spans, message, |item, span| slot[item] = span) {
            return None;
        }
        let mut names: Vec<Option<&str>> = vec![None; spans.len()];
        for (item, &span) in self.items.iter().zip(&slot) {
            if let (Item::Field { name: Some(n), .. }, Some(entry)) = (item, names.get_mut(span)) {
                *entry = Some(n);
            }
        }
        let out = spans
            .iter()
            .zip(names)
            .enumerate()
            .map(|(i, (&(s, e), name))| {
                let key = match name {
                    Some(n) => format!("${n}"),
                    None => format!("${}", i + 1),
                };
                (key, message[s..e].to_string())
            })
            .collect();
        Some(out)
    }

    pub(crate) fn required_terms(&self) -> Vec<String> {
        let mut out = Vec::new();
        for item in &self.items {
            if let Item::Field { cond: Some(c), .. } = item {
                for cmp in c.required_leaves() {
                    if let (Op::Eq, Operand::Text(t)) = (cmp.op, &cmp.operand) {
                        out.extend(t.literal().map(str::to_string));
                    }
                }
            }
        }
        out
    }

    fn field_ok(&self, item: usize, (s, e): Span, message: &str) -> bool {
        match &self.items[item] {
            Item::Ellipsis => false,
            Item::Field { cond: None, .. } => true,
            Item::Field { cond: Some(c), .. } => c.eval(&mut |cmp| cmp.test(&message[s..e])),
        }
    }

    /// Aligns pattern items with event fields, reporting each (item, field) pairing through
    /// `assign` (a later call for the same item supersedes an earlier one).
    fn align(&self, spans: &[Span], message: &str, mut assign: impl FnMut(usize, usize)) -> bool {
        let (m, n) = (self.items.len(), spans.len());
        match self.ellipses {
            0 => {
                n == m
                    && (0..m).all(|i| {
                        assign(i, i);
                        self.field_ok(i, spans[i], message)
                    })
            }
            1 => {
                let k = self
                    .items
                    .iter()
                    .position(|i| matches!(i, Item::Ellipsis))
                    .unwrap_or(0);
                let tail = m - k - 1;
                if n < k + tail {
                    return false;
                }
                (0..k).all(|i| {
                    assign(i, i);
                    self.field_ok(i, spans[i], message)
                }) && (0..tail).all(|j| {
                    let (item, span) = (k + 1 + j, n - tail + j);
                    assign(item, span);
                    self.field_ok(item, spans[span], message)
                })
            }
            _ => {
                // Wildcard matching with backtracking to the last `...`, which is correct for
                // any per-field predicate and takes O(items × fields) tests.
                let (mut p, mut s) = (0, 0);
                let mut star: Option<(usize, usize)> = None;
                while s < n {
                    if p < m && matches!(self.items[p], Item::Ellipsis) {
                        star = Some((p + 1, s));
                        p += 1;
                    } else if p < m && self.field_ok(p, spans[s], message) {
                        assign(p, s);
                        p += 1;
                        s += 1;
                    } else if let Some((sp, ss)) = star {
                        star = Some((sp, ss + 1));
                        p = sp;
                        s = ss + 1;
                    } else {
                        return false;
                    }
                }
                self.items[p..].iter().all(|i| matches!(i, Item::Ellipsis))
            }
        }
    }
}

/// `name op value` inside an item; records the field name it tests.
fn field_condition(
    p: &mut Parser<'_>,
    refs: &mut Vec<(String, usize)>,
) -> Result<Comparison, PatternError> {
    let pos = p.pos();
    let name = match p.peek() {
        Some(Tok::Word(w)) if w == "..." => {
            return Err(p.error("'...' cannot take a condition"));
        }
        Some(Tok::Word(w)) => {
            check_name(w, pos)?;
            w.clone()
        }
        Some(Tok::Op(_)) => return Err(p.error("expected a field name before the operator")),
        _ => return Err(p.error("expected a field name")),
    };
    p.bump();
    let Some(Tok::Op(op)) = p.peek() else {
        return Err(p.error(format!(
            "expected an operator (=, !=, <, >, <=, >=) after field '{name}', or ',' before the next field"
        )));
    };
    p.bump();
    let cmp = p.comparison(*op)?;
    refs.push((name, pos));
    Ok(cmp)
}

fn check_name(w: &str, pos: usize) -> Result<(), PatternError> {
    let mut chars = w.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(PatternError::new(
            pos,
            format!("invalid field name '{w}': use letters, digits and '_', starting with a letter or '_'"),
        ))
    }
}

fn add_name(names: &mut Vec<String>, name: &str, pos: usize) -> Result<(), PatternError> {
    if names.iter().any(|n| n == name) {
        return Err(PatternError::new(
            pos,
            format!("duplicate field name '{name}'"),
        ));
    }
    names.push(name.to_string());
    Ok(())
}

fn split_owned(message: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    split(message, &mut spans);
    spans
}

/// Splits an event into field spans (see the module docs for the rules).
fn split(message: &str, out: &mut Vec<Span>) {
    out.clear();
    let b = message.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let closed = match b[i] {
            b'[' => memchr::memchr(b']', &b[i + 1..]).map(|j| i + 1 + j),
            b'"' => closing_quote(b, i + 1),
            _ => None,
        };
        if let Some(close) = closed {
            out.push((i + 1, close));
            i = close + 1;
        } else {
            let len = b[i..]
                .iter()
                .take_while(|c| !c.is_ascii_whitespace())
                .count();
            out.push((i, i + len));
            i += len;
        }
    }
}

/// The next `"` not escaped by a backslash, from `b[i]` on.
fn closing_quote(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i);
        }
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(msg: &str) -> Vec<&str> {
        split_owned(msg)
            .into_iter()
            .map(|(s, e)| &msg[s..e])
            .collect()
    }

    #[test]
    fn splitting() {
        assert_eq!(
            fields(
                r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 200 1534"#
            ),
            [
                "127.0.0.1",
                "-",
                "frank",
                "10/Oct/2000:13:25:15 -0700",
                "GET /a.gif HTTP/1.0",
                "200",
                "1534"
            ]
        );
        assert_eq!(fields("  a\t b\n"), ["a", "b"]);
        assert_eq!(fields(r#"[x][y] "q \" q" z"#), ["x", "y", r#"q \" q"#, "z"]);
        assert_eq!(fields("[open ended"), ["[open", "ended"]);
        assert_eq!(fields("\"open ended"), ["\"open", "ended"]);
        assert_eq!(fields("[] \"\""), ["", ""]);
        assert!(fields("   ").is_empty());
    }
}
