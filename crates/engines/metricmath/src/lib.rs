//! CloudWatch metric math: parse an expression once, then evaluate it against the results of the
//! queries it references (GetMetricData today, metric-math alarms later).
//!
//! Value types follow the AWS guide: **S** ([`MathValue::Scalar`]), **TS**
//! ([`MathValue::Series`]) and **TS[]** ([`MathValue::Array`]). Function names are upper-case,
//! query ids start with a lower-case letter. Semantics that the AWS guide leaves open are
//! documented on the function that implements them (see `functions.rs` and `eval.rs`); the
//! invariant everywhere is that no output point is ever NaN or infinite — such points are
//! dropped, exactly like division by zero.
//!
//! ```
//! use std::collections::HashMap;
//! use nephoscope_metricmath::{parse, EvalContext, MathValue, Series};
//!
//! let mut values = HashMap::new();
//! values.insert("m1".to_string(), MathValue::Series(Series::new("errors", vec![0, 60], vec![1.0, 3.0])));
//! values.insert("m2".to_string(), MathValue::Series(Series::new("calls", vec![0, 60], vec![4.0, 0.0])));
//! let ids = vec!["m1".to_string(), "m2".to_string()];
//! let ctx = EvalContext { values: &values, metric_ids: &ids, period: 60, start: 0, end: 120 };
//! let expr = parse("(m1 / m2) * 100").unwrap();
//! assert_eq!(expr.references(), vec!["m1", "m2"]);
//! let MathValue::Series(s) = expr.evaluate(&ctx).unwrap() else { unreachable!() };
//! assert_eq!((s.timestamps, s.values), (vec![0], vec![25.0])); // 3/0 is dropped
//! ```

mod ast;
mod eval;
mod functions;
mod lexer;
mod parser;
mod series;
mod time;
mod transform;

use std::collections::HashMap;

pub use ast::{BinOp, Expr};

/// Documented CloudWatch metric-math functions this evaluator rejects (with their name and
/// position) instead of approximating. Metrics Insights SQL (`SELECT …`) is rejected too.
pub const UNSUPPORTED_FUNCTIONS: &[&str] = parser::UNSUPPORTED;

/// Names of the functions this evaluator implements, alphabetically.
pub fn supported_functions() -> impl Iterator<Item = &'static str> {
    parser::SUPPORTED.iter().map(|(name, _, _)| *name)
}

/// A time series as GetMetricData returns it: ascending timestamps (epoch seconds) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl Series {
    /// Builds a series; `timestamps` and `values` must have the same length.
    pub fn new(label: impl Into<String>, timestamps: Vec<i64>, values: Vec<f64>) -> Self {
        Series {
            label: label.into(),
            timestamps,
            values,
        }
    }

    /// A series with no points.
    pub fn empty(label: impl Into<String>) -> Self {
        Series::new(label, Vec::new(), Vec::new())
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when the series has no points.
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }
}

/// One metric-math value: S, TS or TS[].
#[derive(Debug, Clone, PartialEq)]
pub enum MathValue {
    Scalar(f64),
    Series(Series),
    Array(Vec<Series>),
}

impl MathValue {
    /// The AWS type name of this value: `S`, `TS` or `TS[]`.
    pub fn type_name(&self) -> &'static str {
        match self {
            MathValue::Scalar(_) => "S",
            MathValue::Series(_) => "TS",
            MathValue::Array(_) => "TS[]",
        }
    }
}

/// A parse or evaluation error. `position` is the 0-based character offset in the expression
/// text of the offending token or function call, when one is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct MathError {
    pub message: String,
    pub position: Option<usize>,
}

impl MathError {
    pub(crate) fn at(position: usize, message: impl Into<String>) -> Self {
        MathError {
            message: message.into(),
            position: Some(position),
        }
    }

    pub(crate) fn general(message: impl Into<String>) -> Self {
        MathError {
            message: message.into(),
            position: None,
        }
    }
}

/// Everything an expression needs from the surrounding request.
pub struct EvalContext<'a> {
    /// Results of the ids the expression references (and of every id in `metric_ids`).
    pub values: &'a HashMap<String, MathValue>,
    /// Non-expression query ids in request order (for `METRICS()`).
    pub metric_ids: &'a [String],
    /// Period in seconds (`PERIOD()`, and the grid of non-sparse series).
    pub period: i64,
    /// Query range: `start` inclusive, `end` exclusive, epoch seconds.
    pub start: i64,
    pub end: i64,
}

/// A parsed metric-math expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    text: String,
    root: Expr,
}

/// Parses an expression. Unsupported functions (SEARCH, ANOMALY_DETECTION_BAND, …) and Metrics
/// Insights SQL are rejected here, with the position of the offending name.
pub fn parse(text: &str) -> Result<Expression, MathError> {
    let root = parser::parse(text)?;
    Ok(Expression {
        text: text.to_string(),
        root,
    })
}

impl Expression {
    /// The source text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The syntax tree.
    pub fn ast(&self) -> &Expr {
        &self.root
    }

    /// Ids of other queries this expression references (m1, e2 …), in order of first
    /// appearance, without duplicates — the caller evaluates dependencies first and rejects
    /// cycles. `METRICS()` is not expanded here; see [`Expression::uses_metrics_function`].
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.root.collect_ids(&mut out);
        out
    }

    /// True when the expression calls `METRICS()`, which reads every id in `metric_ids`.
    pub fn uses_metrics_function(&self) -> bool {
        self.root.calls("METRICS")
    }

    /// Evaluates the expression as a query result: the value must be a time series or an array
    /// of time series (AWS rejects scalar-valued expressions such as `AVG(m1)`).
    pub fn evaluate(&self, ctx: &EvalContext) -> Result<MathValue, MathError> {
        match self.evaluate_value(ctx)? {
            MathValue::Scalar(_) => Err(MathError::general(
                "The result of a metric math expression must be a time series or an array of \
                 time series, not a scalar",
            )),
            other => Ok(other),
        }
    }

    /// Evaluates the expression to any value, scalars included. A scalar that has no defined
    /// value (for example `AVG` of an empty series, or `1/0`) is an error rather than NaN.
    pub fn evaluate_value(&self, ctx: &EvalContext) -> Result<MathValue, MathError> {
        let value = eval::evaluate(&self.root, ctx)?;
        if let MathValue::Scalar(v) = value {
            if !v.is_finite() {
                return Err(MathError::general(
                    "The expression produced no scalar value (division by zero or no data points)",
                ));
            }
        }
        Ok(value)
    }
}
