//! Recursive-descent parser. Function names are checked here: known functions must have a valid
//! argument count, unsupported ones (SEARCH, ANOMALY_DETECTION_BAND, …) and Metrics Insights SQL
//! are rejected with the position of the name, and upper-case words that are not function calls
//! become [`Expr::Keyword`] for the functions that take keywords (FILL, SORT).

use crate::ast::{BinOp, Expr};
use crate::lexer::{tokenize, Tok};
use crate::MathError;

/// Functions this evaluator implements, with their (min, max) argument counts.
pub(crate) const SUPPORTED: &[(&str, usize, usize)] = &[
    ("ABS", 1, 1),
    ("AVG", 1, 1),
    ("CEIL", 1, 1),
    ("DATAPOINT_COUNT", 1, 1),
    ("DATE", 1, 1),
    ("DAY", 1, 1),
    ("DIFF", 1, 1),
    ("DIFF_TIME", 1, 1),
    ("EPOCH", 1, 1),
    ("FILL", 2, 2),
    ("FIRST", 1, 1),
    ("FLOOR", 1, 1),
    ("HOUR", 1, 1),
    ("IF", 2, 3),
    ("LAST", 1, 1),
    ("LOG", 1, 1),
    ("LOG10", 1, 1),
    ("MAX", 1, 1),
    ("METRICS", 0, 1),
    ("METRIC_COUNT", 1, 1),
    ("MIN", 1, 1),
    ("MINUTE", 1, 1),
    ("MONTH", 1, 1),
    ("PERIOD", 1, 1),
    ("RATE", 1, 1),
    ("REMOVE_EMPTY", 1, 1),
    ("RUNNING_SUM", 1, 1),
    ("SLICE", 2, 3),
    ("SORT", 3, 4),
    ("STDDEV", 1, 1),
    ("SUM", 1, 1),
    ("TIME_SERIES", 1, 1),
    ("YEAR", 1, 1),
];

/// Documented CloudWatch functions this server does not implement yet; never approximated.
pub(crate) const UNSUPPORTED: &[&str] = &[
    "ANOMALY_DETECTION_BAND",
    "SEARCH",
    "INSIGHT_RULE_METRIC",
    "SERVICE_QUOTA",
    "DB_PERF_INSIGHTS",
    "CONCAT",
    "LAMBDA",
];

pub(crate) fn parse(text: &str) -> Result<Expr, MathError> {
    let trimmed = text.trim_start();
    let lead = text.chars().count() - trimmed.chars().count();
    if trimmed
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
        && trimmed[6..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    {
        return Err(MathError::at(
            lead,
            format!(
                "Metrics Insights queries (SELECT …) are not supported by this server \
                 (position {lead})"
            ),
        ));
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(MathError::at(0, "Syntax error: the expression is empty"));
    }
    let mut p = Parser {
        tokens,
        at: 0,
        end: text.chars().count(),
    };
    let expr = p.expr()?;
    if let Some((tok, pos)) = p.tokens.get(p.at) {
        return Err(unexpected(tok, *pos));
    }
    Ok(expr)
}

fn unexpected(tok: &Tok, pos: usize) -> MathError {
    MathError::at(
        pos,
        format!(
            "Syntax error: unexpected {} at position {pos}",
            tok.describe()
        ),
    )
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn pos(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(_, p)| *p)
    }

    fn next(&mut self) -> Option<(Tok, usize)> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, want: Tok) -> Result<usize, MathError> {
        match self.next() {
            Some((t, p)) if t == want => Ok(p),
            Some((t, p)) => Err(MathError::at(
                p,
                format!(
                    "Syntax error: expected {} but found {} at position {p}",
                    want.describe(),
                    t.describe()
                ),
            )),
            None => Err(MathError::at(
                self.end,
                format!(
                    "Syntax error: expected {} at end of expression (position {})",
                    want.describe(),
                    self.end
                ),
            )),
        }
    }

    fn expr(&mut self) -> Result<Expr, MathError> {
        self.binary_level(0)
    }

    /// Precedence climbing over the binary operator levels (loosest first).
    fn binary_level(&mut self, level: usize) -> Result<Expr, MathError> {
        const LEVELS: usize = 5;
        if level == LEVELS {
            return self.unary();
        }
        let mut lhs = self.binary_level(level + 1)?;
        loop {
            let op = match (level, self.peek()) {
                (0, Some(Tok::Or)) => BinOp::Or,
                (1, Some(Tok::And)) => BinOp::And,
                (2, Some(Tok::Eq)) => BinOp::Eq,
                (2, Some(Tok::Ne)) => BinOp::Ne,
                (2, Some(Tok::Lt)) => BinOp::Lt,
                (2, Some(Tok::Le)) => BinOp::Le,
                (2, Some(Tok::Gt)) => BinOp::Gt,
                (2, Some(Tok::Ge)) => BinOp::Ge,
                (3, Some(Tok::Plus)) => BinOp::Add,
                (3, Some(Tok::Minus)) => BinOp::Sub,
                (4, Some(Tok::Star)) => BinOp::Mul,
                (4, Some(Tok::Slash)) => BinOp::Div,
                _ => return Ok(lhs),
            };
            let pos = self.pos();
            self.at += 1;
            let rhs = self.binary_level(level + 1)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                pos,
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, MathError> {
        match self.peek() {
            Some(Tok::Minus) => {
                let pos = self.pos();
                self.at += 1;
                let operand = self.unary()?;
                Ok(Expr::Neg {
                    operand: Box::new(operand),
                    pos,
                })
            }
            Some(Tok::Plus) => {
                self.at += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<Expr, MathError> {
        let base = self.primary()?;
        if self.peek() == Some(&Tok::Caret) {
            let pos = self.pos();
            self.at += 1;
            let exponent = self.unary()?; // right-associative; allows 2^-1
            return Ok(Expr::Binary {
                op: BinOp::Pow,
                lhs: Box::new(base),
                rhs: Box::new(exponent),
                pos,
            });
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, MathError> {
        let pos = self.pos();
        let Some((tok, _)) = self.next() else {
            return Err(MathError::at(
                pos,
                format!("Syntax error: unexpected end of expression at position {pos}"),
            ));
        };
        match tok {
            Tok::Number(value) => Ok(Expr::Number { value, pos }),
            Tok::Str(value) => Ok(Expr::Str { value, pos }),
            Tok::Id(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    return Err(MathError::at(
                        pos,
                        format!(
                            "Unknown function '{name}' at position {pos}: function names must be \
                             upper-case"
                        ),
                    ));
                }
                Ok(Expr::Id { name, pos })
            }
            Tok::Upper(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.call(name, pos)
                } else {
                    Ok(Expr::Keyword { name, pos })
                }
            }
            Tok::LParen => {
                let inner = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(inner)
            }
            Tok::LBracket => {
                let items = self.list(Tok::RBracket)?;
                if items.is_empty() {
                    return Err(MathError::at(
                        pos,
                        format!("Syntax error: empty array at position {pos}"),
                    ));
                }
                Ok(Expr::Array { items, pos })
            }
            other => Err(unexpected(&other, pos)),
        }
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn list(&mut self, close: Tok) -> Result<Vec<Expr>, MathError> {
        let mut items = Vec::new();
        if self.peek() == Some(&close) {
            self.at += 1;
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            match self.peek() {
                Some(Tok::Comma) => self.at += 1,
                _ => {
                    self.expect(close)?;
                    return Ok(items);
                }
            }
        }
    }

    fn call(&mut self, name: String, pos: usize) -> Result<Expr, MathError> {
        if UNSUPPORTED.contains(&name.as_str()) {
            return Err(MathError::at(
                pos,
                format!("The function {name} (position {pos}) is not supported by this server"),
            ));
        }
        let Some(&(_, min, max)) = SUPPORTED.iter().find(|(n, _, _)| *n == name) else {
            return Err(MathError::at(
                pos,
                format!("Unknown function {name} at position {pos}"),
            ));
        };
        self.at += 1; // '('
        let args = self.list(Tok::RParen)?;
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(MathError::at(
                pos,
                format!(
                    "{name} (position {pos}) takes {expected} argument{}, got {}",
                    if max == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        Ok(Expr::Call { name, args, pos })
    }
}
