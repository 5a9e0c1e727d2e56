//! JSON patterns: `{ $.a.b = "x" && ($.c > 5 || $.d IS NULL) }`.
//!
//! Semantics (AWS's documentation, plus the choices noted):
//! * only events that are a single JSON object match; the event is examined only when its first
//!   non-blank character is `{`;
//! * a selector resolving to an object or array never satisfies a comparison (AWS: both
//!   `{$.users = 1}` and `{$.users != 1}` fail when `users` is an array); neither does a missing
//!   field or `null` — `!=` too requires a string, number or boolean to compare;
//! * strings compare with `=`/`!=`, a leading/trailing `*` being a wildcard; numbers, booleans and
//!   strings are compared through their text (a number keeps its original spelling, so
//!   `$.ip != 123.123.*` and `$.code = "400"` work on numbers);
//! * numeric literals compare numerically with numbers and with strings that spell a number;
//! * `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`; `EXISTS` and `IS NOT` are not supported by
//!   AWS and are rejected (use `= "*"` for "exists with a value");
//! * `%regex%` with `=`/`!=` searches the value's text;
//! * keywords are case-insensitive; selectors and values are case-sensitive.

use std::collections::BTreeMap;

use crate::expr::{Expr, Parser};
use crate::jsonscan::{self, Found};
use crate::lexer::{self, Selector, Tok};
use crate::value::Comparison;
use crate::PatternError;

#[derive(Debug, Clone)]
pub(crate) struct JsonPattern {
    expr: Expr<Cond>,
    /// Distinct selectors in pattern order, for `extract`.
    selectors: Vec<Selector>,
}

#[derive(Debug, Clone)]
struct Cond {
    selector: Selector,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Compare(Comparison),
    IsNull,
    IsBool(bool),
    NotExists,
}

impl JsonPattern {
    /// Parses the pattern whose `{` is at `src[start]`.
    pub(crate) fn parse(src: &str, start: usize) -> Result<JsonPattern, PatternError> {
        let toks = lexer::lex(src, start + 1)?;
        let mut p = Parser::new(&toks, src.len())?;
        if matches!(p.peek(), Some(Tok::RBrace)) {
            return Err(p.error("empty JSON pattern: expected a condition such as $.field = value"));
        }
        let expr = p.or_expr(0, &mut condition)?;
        match p.peek() {
            Some(Tok::RBrace) => {
                p.bump();
            }
            Some(_) => return Err(p.error("expected '&&', '||' or '}'")),
            None => return Err(p.error("missing closing '}'")),
        }
        if p.peek().is_some() {
            return Err(p.error("unexpected text after the closing '}'"));
        }
        let mut selectors: Vec<Selector> = Vec::new();
        for c in expr.leaves() {
            if !selectors.iter().any(|s| s.text == c.selector.text) {
                selectors.push(c.selector.clone());
            }
        }
        Ok(JsonPattern { expr, selectors })
    }

    pub(crate) fn matches(&self, message: &str) -> bool {
        let starts_with_brace = message
            .bytes()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| b == b'{');
        // The condition first: it fails for most events, and a failed condition needs no
        // validating pass (lookups are safe on any text). Only a holding condition pays for
        // checking that the event is one JSON object.
        starts_with_brace && self.eval(message) && jsonscan::is_json_object(message)
    }

    fn eval(&self, message: &str) -> bool {
        self.expr.eval(&mut |c: &Cond| {
            let found = jsonscan::lookup(message, &c.selector.steps);
            match &c.test {
                Test::IsNull => found == Found::Null,
                Test::IsBool(v) => found == Found::Bool(*v),
                Test::NotExists => found == Found::Missing,
                Test::Compare(cmp) => found.scalar_text().is_some_and(|t| cmp.test(&t)),
            }
        })
    }

    pub(crate) fn extract(&self, message: &str) -> Option<BTreeMap<String, String>> {
        if !self.matches(message) {
            return None;
        }
        let mut out = BTreeMap::new();
        for sel in &self.selectors {
            if let Some(text) = jsonscan::lookup(message, &sel.steps).scalar_text() {
                out.insert(sel.text.clone(), text.into_owned());
            }
        }
        Some(out)
    }
}

/// `selector (op value | IS NULL|TRUE|FALSE | NOT EXISTS)`.
fn condition(p: &mut Parser<'_>) -> Result<Cond, PatternError> {
    let selector = match p.peek() {
        Some(Tok::Selector(s)) => s.clone(),
        Some(Tok::RBrace) | None => return Err(p.error("expected a condition")),
        Some(_) => return Err(p.error("expected a selector such as $.field, or '('")),
    };
    p.bump();
    let keyword =
        |t: Option<&Tok>, k: &str| matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k));
    let test =
        match p.peek() {
            Some(Tok::Op(op)) => {
                p.bump();
                Test::Compare(p.comparison(*op)?)
            }
            t if keyword(t, "IS") => {
                p.bump();
                let t = p.peek();
                let test = if keyword(t, "NULL") {
                    Test::IsNull
                } else if keyword(t, "TRUE") {
                    Test::IsBool(true)
                } else if keyword(t, "FALSE") {
                    Test::IsBool(false)
                } else if keyword(t, "NOT") {
                    return Err(p.error("'IS NOT' is not supported; use '!=' or NOT EXISTS"));
                } else {
                    return Err(p.error("expected NULL, TRUE or FALSE after IS"));
                };
                p.bump();
                test
            }
            t if keyword(t, "NOT") => {
                p.bump();
                if !keyword(p.peek(), "EXISTS") {
                    return Err(p.error("expected EXISTS after NOT"));
                }
                p.bump();
                Test::NotExists
            }
            t if keyword(t, "EXISTS") => {
                return Err(p.error(
                    "EXISTS is not supported; use = \"*\" to match any value, or NOT EXISTS",
                ))
            }
            _ => return Err(p.error(
                "expected an operator (=, !=, <, >, <=, >=), IS or NOT EXISTS after the selector",
            )),
        };
    Ok(Cond { selector, test })
}
