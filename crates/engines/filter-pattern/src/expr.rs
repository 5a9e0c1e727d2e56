//! Boolean expressions over conditions (`a && (b || c)`), shared by JSON and space-delimited
//! patterns, with AWS's precedence: parentheses, then `&&`, then `||`.

use crate::lexer::{Tok, Token};
use crate::value::{parse_number, Comparison, Op, Operand, TextPattern};
use crate::{PatternError, MAX_NESTING, MAX_REGEX_PER_PATTERN};

#[derive(Debug, Clone)]
pub(crate) enum Expr<C> {
    Or(Vec<Expr<C>>),
    And(Vec<Expr<C>>),
    Leaf(C),
}

impl<C> Expr<C> {
    pub(crate) fn eval(&self, leaf: &mut impl FnMut(&C) -> bool) -> bool {
        match self {
            Expr::Or(xs) => xs.iter().any(|x| x.eval(leaf)),
            Expr::And(xs) => xs.iter().all(|x| x.eval(leaf)),
            Expr::Leaf(c) => leaf(c),
        }
    }

    /// Leaves that must hold for the whole expression to hold (those not under an `||`).
    pub(crate) fn required_leaves(&self) -> Vec<&C> {
        match self {
            Expr::Or(_) => Vec::new(),
            Expr::And(xs) => xs.iter().flat_map(Expr::required_leaves).collect(),
            Expr::Leaf(c) => vec![c],
        }
    }

    pub(crate) fn leaves(&self) -> Vec<&C> {
        match self {
            Expr::Or(xs) | Expr::And(xs) => xs.iter().flat_map(Expr::leaves).collect(),
            Expr::Leaf(c) => vec![c],
        }
    }
}

/// A cursor over tokens. `end` is the pattern length, reported when input runs out.
pub(crate) struct Parser<'t> {
    toks: &'t [Token],
    i: usize,
    end: usize,
}

impl<'t> Parser<'t> {
    /// Also enforces AWS's limit on regexes per pattern, since every regex is one token.
    pub(crate) fn new(toks: &'t [Token], end: usize) -> Result<Parser<'t>, PatternError> {
        let mut regexes = toks.iter().filter(|t| matches!(t.tok, Tok::Regex(_)));
        if let Some(third) = regexes.nth(MAX_REGEX_PER_PATTERN) {
            return Err(PatternError::new(
                third.pos,
                format!("a filter pattern may contain at most {MAX_REGEX_PER_PATTERN} regular expressions"),
            ));
        }
        Ok(Parser { toks, i: 0, end })
    }

    pub(crate) fn peek(&self) -> Option<&'t Tok> {
        self.toks.get(self.i).map(|t| &t.tok)
    }

    /// The token `n` places ahead of the next one.
    pub(crate) fn peek_nth(&self, n: usize) -> Option<&'t Tok> {
        self.toks.get(self.i + n).map(|t| &t.tok)
    }

    /// Position of the next token, or the end of the pattern.
    pub(crate) fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |t| t.pos)
    }

    pub(crate) fn bump(&mut self) -> Option<&'t Tok> {
        let t = self.toks.get(self.i).map(|t| &t.tok);
        self.i += 1;
        t
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> PatternError {
        PatternError::new(self.pos(), message)
    }

    /// `or := and ('||' and)*`, `and := primary ('&&' primary)*`,
    /// `primary := '(' or ')' | leaf`.
    pub(crate) fn or_expr<C>(
        &mut self,
        depth: usize,
        leaf: &mut impl FnMut(&mut Parser<'t>) -> Result<C, PatternError>,
    ) -> Result<Expr<C>, PatternError> {
        let mut alts = vec![self.and_expr(depth, leaf)?];
        while matches!(self.peek(), Some(Tok::Or)) {
            self.bump();
            alts.push(self.and_expr(depth, leaf)?);
        }
        Ok(flatten(alts, Expr::Or))
    }

    fn and_expr<C>(
        &mut self,
        depth: usize,
        leaf: &mut impl FnMut(&mut Parser<'t>) -> Result<C, PatternError>,
    ) -> Result<Expr<C>, PatternError> {
        let mut all = vec![self.primary(depth, leaf)?];
        while matches!(self.peek(), Some(Tok::And)) {
            self.bump();
            all.push(self.primary(depth, leaf)?);
        }
        Ok(flatten(all, Expr::And))
    }

    fn primary<C>(
        &mut self,
        depth: usize,
        leaf: &mut impl FnMut(&mut Parser<'t>) -> Result<C, PatternError>,
    ) -> Result<Expr<C>, PatternError> {
        if !matches!(self.peek(), Some(Tok::LParen)) {
            return leaf(self).map(Expr::Leaf);
        }
        if depth >= MAX_NESTING {
            return Err(self.error("parentheses are nested too deeply"));
        }
        self.bump();
        let inner = self.or_expr(depth + 1, leaf)?;
        if !matches!(self.peek(), Some(Tok::RParen)) {
            return Err(self.error("expected ')'"));
        }
        self.bump();
        Ok(inner)
    }

    /// After an operator: the value to compare with. Strings and regexes allow only `=`/`!=`.
    pub(crate) fn comparison(&mut self, op: Op) -> Result<Comparison, PatternError> {
        let pos = self.pos();
        let operand = match self.bump() {
            Some(Tok::Word(w)) => match parse_number(w) {
                Some(n) => Operand::Number(n),
                None if op.is_equality() => Operand::Text(TextPattern::new(w)),
                None => {
                    return Err(PatternError::new(
                        pos,
                        format!("'{}' needs a number, found '{w}'", op.symbol()),
                    ))
                }
            },
            Some(Tok::Quoted(s)) if op.is_equality() => Operand::Text(TextPattern::new(s)),
            Some(Tok::Regex(r)) if op.is_equality() => Operand::Regex(r.clone()),
            Some(Tok::Quoted(_) | Tok::Regex(_)) => {
                return Err(PatternError::new(
                    pos,
                    format!("'{}' needs an unquoted number", op.symbol()),
                ))
            }
            _ => {
                return Err(PatternError::new(
                    pos,
                    format!("expected a value after '{}'", op.symbol()),
                ))
            }
        };
        Ok(Comparison { op, operand })
    }
}

fn flatten<C>(mut xs: Vec<Expr<C>>, wrap: fn(Vec<Expr<C>>) -> Expr<C>) -> Expr<C> {
    if xs.len() == 1 {
        xs.pop().expect("one element")
    } else {
        wrap(xs)
    }
}
