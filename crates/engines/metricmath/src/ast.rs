//! Syntax tree of a metric-math expression.

/// Binary operators, loosest-binding first: `OR`/`||`, `AND`/`&&`, comparisons, `+ -`, `* /`,
/// `^` (right-associative, tighter than unary minus: `-2^2` is -4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "OR",
            BinOp::And => "AND",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

/// An expression node; every node carries a 0-based character position: where it starts, or
/// for a binary operation, where its operator is.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal.
    Number { value: f64, pos: usize },
    /// A string literal (only meaningful as the argument of `METRICS`).
    Str { value: String, pos: usize },
    /// A reference to another query's id.
    Id { name: String, pos: usize },
    /// A bare upper-case word used as a function argument: `REPEAT`, `LINEAR`, `AVG`, `DESC` …
    Keyword { name: String, pos: usize },
    /// `[a, b, …]`
    Array { items: Vec<Expr>, pos: usize },
    /// Unary minus.
    Neg { operand: Box<Expr>, pos: usize },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        pos: usize,
    },
    /// A function call; `pos` is the position of the function name.
    Call {
        name: String,
        args: Vec<Expr>,
        pos: usize,
    },
}

impl Expr {
    /// Where this node starts in the source text (for a binary operation, where its left
    /// operand starts; the operator's own position is in the `pos` field).
    pub fn pos(&self) -> usize {
        match self {
            Expr::Binary { lhs, .. } => lhs.pos(),
            Expr::Number { pos, .. }
            | Expr::Str { pos, .. }
            | Expr::Id { pos, .. }
            | Expr::Keyword { pos, .. }
            | Expr::Array { pos, .. }
            | Expr::Neg { pos, .. }
            | Expr::Call { pos, .. } => *pos,
        }
    }

    pub(crate) fn collect_ids(&self, out: &mut Vec<String>) {
        match self {
            Expr::Id { name, .. } => {
                if !out.iter().any(|n| n == name) {
                    out.push(name.clone());
                }
            }
            Expr::Array { items, .. } | Expr::Call { args: items, .. } => {
                items.iter().for_each(|e| e.collect_ids(out))
            }
            Expr::Neg { operand, .. } => operand.collect_ids(out),
            Expr::Binary { lhs, rhs, .. } => {
                lhs.collect_ids(out);
                rhs.collect_ids(out);
            }
            Expr::Number { .. } | Expr::Str { .. } | Expr::Keyword { .. } => {}
        }
    }

    pub(crate) fn calls(&self, function: &str) -> bool {
        match self {
            Expr::Call { name, args, .. } => {
                name == function || args.iter().any(|a| a.calls(function))
            }
            Expr::Array { items, .. } => items.iter().any(|a| a.calls(function)),
            Expr::Neg { operand, .. } => operand.calls(function),
            Expr::Binary { lhs, rhs, .. } => lhs.calls(function) || rhs.calls(function),
            Expr::Number { .. } | Expr::Str { .. } | Expr::Id { .. } | Expr::Keyword { .. } => {
                false
            }
        }
    }
}
