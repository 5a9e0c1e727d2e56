//! Expression grammar: precedence climbing over `or`, `and`, `not`, comparisons, arithmetic.

use crate::ast::*;
use crate::lexer::Tok;
use crate::parser::{check_call, compile_regex, err, unexpected, Parser, MAX_EXPR_DEPTH, R};

/// The most operands one `+ -` or `* / %` chain may have.
pub(crate) const MAX_CHAIN: usize = 256;

/// `a op b op c …` for an associative `op` (`and`, `or`) as a balanced tree: the same answer
/// (operands still evaluated left to right, stopping at the first that decides), a depth of
/// log2 of the operands rather than their number.
fn balanced(op: BinOp, mut terms: Vec<Expr>) -> Expr {
    if terms.len() <= 1 {
        return terms.pop().unwrap_or(Expr::Num(0.0));
    }
    let right = terms.split_off(terms.len() / 2);
    Expr::Bin(
        op,
        Box::new(balanced(op, terms)),
        Box::new(balanced(op, right)),
    )
}

impl Parser {
    pub fn expr(&mut self) -> R<Expr> {
        self.nested(Self::or)
    }

    /// Runs `f` one nesting level deeper (at most [`MAX_EXPR_DEPTH`]).
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> R<Expr>) -> R<Expr> {
        if self.depth >= MAX_EXPR_DEPTH {
            let t = self.peek().clone();
            return err(
                t.start,
                t.end.max(t.start + 1),
                format!("the expression nests more than {MAX_EXPR_DEPTH} levels deep"),
            );
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
    fn or(&mut self) -> R<Expr> {
        let mut terms = vec![self.and()?];
        while self.eat_word("or") {
            terms.push(self.and()?);
        }
        Ok(balanced(BinOp::Or, terms))
    }
    fn eat_tok(&mut self, t: &Tok) -> bool {
        if self.at(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn and(&mut self) -> R<Expr> {
        let mut terms = vec![self.not()?];
        while self.eat_word("and") {
            terms.push(self.not()?);
        }
        Ok(balanced(BinOp::And, terms))
    }
    fn not(&mut self) -> R<Expr> {
        if self.eat_word("not") || self.eat_tok(&Tok::Bang) {
            return Ok(Expr::Not(Box::new(self.nested(Self::not)?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> R<Expr> {
        let l = self.add()?;
        let op = match self.peek().tok {
            Tok::Eq => Some(BinOp::Eq),
            Tok::Ne => Some(BinOp::Ne),
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let r = self.add()?;
            return Ok(Expr::Bin(op, Box::new(l), Box::new(r)));
        }
        if self.eat_tok(&Tok::Match) {
            let pat = self.add()?;
            return Ok(Expr::Like {
                expr: Box::new(l),
                pat: Box::new(pat),
                negated: false,
            });
        }
        let save = self.pos;
        let negated = self.eat_word("not");
        if self.eat_word("like") {
            let pat = self.add()?;
            return Ok(Expr::Like {
                expr: Box::new(l),
                pat: Box::new(pat),
                negated,
            });
        }
        if self.is_word("in") {
            let in_tok = self.next();
            if self.at(&Tok::LParen) {
                return self.subquery(l, in_tok.start, negated);
            }
            let lb = self.peek().clone();
            match self.primary()? {
                Expr::List(items) => {
                    return Ok(Expr::In {
                        expr: Box::new(l),
                        list: items,
                        negated,
                    })
                }
                _ => {
                    return err(
                        lb.start,
                        self.prev_end(),
                        "'in' requires a list such as [\"a\", \"b\"]",
                    )
                }
            }
        }
        self.pos = save;
        Ok(l)
    }
    /// The next operand of an arithmetic chain, the `n`th: at most [`MAX_CHAIN`] of them (a
    /// chain is a tree as deep as it is long, which evaluation walks recursively).
    fn chain_link(&mut self, n: &mut usize) -> R<()> {
        *n += 1;
        if *n >= MAX_CHAIN {
            let t = self.peek().clone();
            return err(
                t.start,
                t.end.max(t.start + 1),
                format!("an arithmetic expression chains more than {MAX_CHAIN} terms"),
            );
        }
        Ok(())
    }
    fn add(&mut self) -> R<Expr> {
        let mut l = self.mul()?;
        let mut n = 0;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(l),
            };
            self.pos += 1;
            self.chain_link(&mut n)?;
            let r = self.mul()?;
            l = Expr::Bin(op, Box::new(l), Box::new(r));
        }
    }
    fn mul(&mut self) -> R<Expr> {
        let mut l = self.pow()?;
        let mut n = 0;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => return Ok(l),
            };
            self.pos += 1;
            self.chain_link(&mut n)?;
            let r = self.pow()?;
            l = Expr::Bin(op, Box::new(l), Box::new(r));
        }
    }
    fn pow(&mut self) -> R<Expr> {
        let l = self.unary()?;
        if self.eat_tok(&Tok::Caret) {
            let r = self.nested(Self::pow)?;
            return Ok(Expr::Bin(BinOp::Pow, Box::new(l), Box::new(r)));
        }
        Ok(l)
    }
    fn unary(&mut self) -> R<Expr> {
        if self.eat_tok(&Tok::Minus) {
            return Ok(match self.nested(Self::unary)? {
                Expr::Num(n) => Expr::Num(-n),
                e => Expr::Neg(Box::new(e)),
            });
        }
        if self.eat_tok(&Tok::Plus) {
            return self.nested(Self::unary);
        }
        let mut e = self.primary()?;
        while self.at(&Tok::LBracket) {
            self.pos += 1;
            let idx = self.expr()?;
            self.expect(Tok::RBracket, "']'")?;
            e = Expr::Index(Box::new(e), Box::new(idx));
        }
        Ok(e)
    }
    pub(crate) fn primary(&mut self) -> R<Expr> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Num(n) => Expr::Num(n),
            Tok::Str(s) => Expr::Str(s),
            Tok::Regex(r) => Expr::Regex(compile_regex(&r, t.start, t.end)?),
            Tok::Dur(n, u) => Expr::Dur(n, u),
            Tok::Quoted(s) => Expr::Field(s),
            Tok::Star => Expr::Star,
            Tok::LParen => {
                let e = self.expr()?;
                self.expect(Tok::RParen, "')'")?;
                e
            }
            Tok::LBracket => {
                let mut items = Vec::new();
                if !self.at(&Tok::RBracket) {
                    loop {
                        items.push(self.expr()?);
                        if !self.eat_tok(&Tok::Comma) {
                            break;
                        }
                    }
                }
                self.expect(Tok::RBracket, "']' to close the list")?;
                Expr::List(items)
            }
            Tok::Ident(name) => {
                if self.at(&Tok::LParen) {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if !self.at(&Tok::RParen) {
                        loop {
                            if self.at(&Tok::LParen) && self.toks.get(self.pos + 1).is_some_and(|n| matches!(&n.tok, Tok::Ident(s) if s.eq_ignore_ascii_case("source"))) {
                                let p = self.peek().clone();
                                return err(p.start, p.end, "subqueries are not supported");
                            }
                            args.push(self.expr()?);
                            if !self.eat_tok(&Tok::Comma) {
                                break;
                            }
                        }
                    }
                    self.expect(Tok::RParen, "')' to close the function call")?;
                    let text = self.src(t.start, self.prev_end());
                    check_call(&name, &args, t.start, self.prev_end())?;
                    Expr::Call {
                        name: name.to_ascii_lowercase(),
                        args,
                        text,
                    }
                } else {
                    Expr::Field(name)
                }
            }
            Tok::Eof => return err(t.start, t.end, "unexpected end of query"),
            _ => return unexpected(self, &t),
        })
    }
}
