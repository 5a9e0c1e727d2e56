//! Tree-walking evaluator: literals, id lookup, array literals, unary minus and the binary
//! operators over every S / TS / TS[] combination.
//!
//! Alignment rules (AWS guide, "Basic arithmetic functions" and "Comparison and logical
//! operators"):
//! * TS op TS is evaluated on the union of both series' timestamps; a side without a point at a
//!   timestamp counts as 0.
//! * TS op S / S op TS is evaluated at the series' own timestamps.
//! * TS[] op (S | TS) and (S | TS) op TS[] apply the operation to every array element, keeping
//!   each element's label. TS[] op TS[] is not documented and is rejected.
//! * A point whose result is undefined — division by zero, `0/0`, a non-real power, overflow to
//!   infinity, or an input scalar that has no value — is dropped.
//! * Comparisons and logical operators produce 1 (true) or 0 (false); any non-zero value is true.
//! * The label of a computed series is the label of its leftmost series operand.

use crate::ast::{BinOp, Expr};
use crate::series::{map, sanitize, union_with};
use crate::{functions, EvalContext, MathError, MathValue, Series};

pub(crate) fn evaluate(expr: &Expr, ctx: &EvalContext) -> Result<MathValue, MathError> {
    match expr {
        Expr::Number { value, .. } => Ok(MathValue::Scalar(*value)),
        Expr::Str { value, pos } => Err(MathError::at(
            *pos,
            format!("Unexpected string \"{value}\" at position {pos}: strings are only valid in METRICS()"),
        )),
        Expr::Id { name, pos } => lookup(name, *pos, ctx),
        Expr::Keyword { name, pos } => Err(MathError::at(
            *pos,
            format!("Unexpected keyword {name} at position {pos}: functions must be called with parentheses"),
        )),
        Expr::Array { items, .. } => {
            let mut out = Vec::new();
            for item in items {
                match evaluate(item, ctx)? {
                    MathValue::Series(s) => out.push(s),
                    MathValue::Array(a) => out.extend(a),
                    MathValue::Scalar(_) => {
                        let pos = item.pos();
                        return Err(MathError::at(
                            pos,
                            format!("Array elements must be time series; found a scalar at position {pos}"),
                        ));
                    }
                }
            }
            Ok(MathValue::Array(out))
        }
        Expr::Neg { operand, .. } => {
            let value = evaluate(operand, ctx)?;
            Ok(map_value(value, |v| Some(-v)))
        }
        Expr::Binary { op, lhs, rhs, pos } => {
            let l = evaluate(lhs, ctx)?;
            let r = evaluate(rhs, ctx)?;
            binary(*op, l, r, *pos)
        }
        Expr::Call { name, args, pos } => functions::call(name, args, *pos, ctx),
    }
}

/// The value of a referenced query, sanitised (sorted, finite values only).
pub(crate) fn lookup(name: &str, pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    match ctx.values.get(name) {
        Some(MathValue::Series(s)) => Ok(MathValue::Series(sanitize(s))),
        Some(MathValue::Array(a)) => Ok(MathValue::Array(a.iter().map(sanitize).collect())),
        Some(MathValue::Scalar(v)) => Ok(MathValue::Scalar(*v)),
        None => Err(MathError::at(
            pos,
            format!("Unknown id '{name}' at position {pos}: no metric or expression has this id"),
        )),
    }
}

/// Applies a point-wise function to a scalar, every point of a series, or every array element.
/// Scalars keep NaN ("no value") so that it propagates; series points that become undefined
/// are dropped.
pub(crate) fn map_value(value: MathValue, f: impl Fn(f64) -> Option<f64>) -> MathValue {
    match value {
        MathValue::Scalar(v) => MathValue::Scalar(if v.is_finite() {
            f(v).unwrap_or(f64::NAN)
        } else {
            f64::NAN
        }),
        MathValue::Series(s) => MathValue::Series(map(&s, &f)),
        MathValue::Array(a) => MathValue::Array(a.iter().map(|s| map(s, &f)).collect()),
    }
}

/// One operator applied to two numbers; `None` when the result is undefined.
pub(crate) fn apply(op: BinOp, a: f64, b: f64) -> Option<f64> {
    if !a.is_finite() || !b.is_finite() {
        return None;
    }
    let truth = |c: bool| Some(if c { 1.0 } else { 0.0 });
    let r = match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div if b == 0.0 => return None,
        BinOp::Div => a / b,
        BinOp::Pow => a.powf(b),
        BinOp::Eq => return truth(a == b),
        BinOp::Ne => return truth(a != b),
        BinOp::Lt => return truth(a < b),
        BinOp::Le => return truth(a <= b),
        BinOp::Gt => return truth(a > b),
        BinOp::Ge => return truth(a >= b),
        BinOp::And => return truth(a != 0.0 && b != 0.0),
        BinOp::Or => return truth(a != 0.0 || b != 0.0),
    };
    r.is_finite().then_some(r)
}

fn series_op(op: BinOp, a: &Series, b: &Series) -> Series {
    union_with(a.label.clone(), a, b, |x, y| {
        apply(op, x.unwrap_or(0.0), y.unwrap_or(0.0))
    })
}

fn series_scalar(op: BinOp, s: &Series, k: f64) -> Series {
    map(s, |v| apply(op, v, k))
}

fn scalar_series(op: BinOp, k: f64, s: &Series) -> Series {
    map(s, |v| apply(op, k, v))
}

pub(crate) fn binary(
    op: BinOp,
    l: MathValue,
    r: MathValue,
    pos: usize,
) -> Result<MathValue, MathError> {
    use MathValue::{Array, Scalar, Series as Ts};
    Ok(match (l, r) {
        (Scalar(a), Scalar(b)) => Scalar(apply(op, a, b).unwrap_or(f64::NAN)),
        (Ts(a), Scalar(k)) => Ts(series_scalar(op, &a, k)),
        (Scalar(k), Ts(b)) => Ts(scalar_series(op, k, &b)),
        (Ts(a), Ts(b)) => Ts(series_op(op, &a, &b)),
        (Array(a), Scalar(k)) => Array(a.iter().map(|s| series_scalar(op, s, k)).collect()),
        (Scalar(k), Array(b)) => Array(b.iter().map(|s| scalar_series(op, k, s)).collect()),
        (Array(a), Ts(b)) => Array(a.iter().map(|s| series_op(op, s, &b)).collect()),
        (Ts(a), Array(b)) => Array(
            b.iter()
                .map(|s| series_op(op, &a, s).relabel(&s.label))
                .collect(),
        ),
        (Array(_), Array(_)) => {
            return Err(MathError::at(
                pos,
                format!(
                    "The operator {} at position {pos} cannot combine two arrays of time series",
                    op.symbol()
                ),
            ))
        }
    })
}

trait Relabel {
    fn relabel(self, label: &str) -> Self;
}

impl Relabel for Series {
    fn relabel(mut self, label: &str) -> Self {
        label.clone_into(&mut self.label);
        self
    }
}
