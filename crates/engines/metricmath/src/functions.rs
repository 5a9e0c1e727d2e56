//! Function dispatch plus the aggregate and array functions: AVG, MIN, MAX, SUM, STDDEV,
//! DATAPOINT_COUNT, METRIC_COUNT, METRICS, FIRST, LAST, REMOVE_EMPTY, SLICE, SORT, PERIOD and the
//! point-wise ABS, CEIL, FLOOR, LOG, LOG10. Series-shaping functions live in `transform.rs`.
//!
//! Decisions where the AWS guide is silent:
//! * AVG of TS[] treats a missing point as 0 (as documented), i.e. divides by the array length;
//!   SUM is unaffected; MIN, MAX and STDDEV of TS[] use only the points present at a timestamp.
//! * STDDEV is the population standard deviation.
//! * An aggregate of an empty series is a scalar with no value: any series computed from it has
//!   no points, and it is an error as the final value of `evaluate_value`.
//! * SORT is stable; series whose statistic is undefined (no points) sort last in either order.
//! * SLICE always returns TS[] (possibly of one element); indices past the end are clamped.
//! * METRICS("x") matches ids containing `x`, case-sensitively.
//! * PERIOD(m) requires a metric id (not an expression) and returns the request period.

use crate::ast::Expr;
use crate::eval::{evaluate, lookup, map_value};
use crate::series::{from_points, stat, stat_of, Stat};
use crate::{transform, EvalContext, MathError, MathValue, Series};

pub(crate) fn call(
    name: &str,
    args: &[Expr],
    pos: usize,
    ctx: &EvalContext,
) -> Result<MathValue, MathError> {
    match name {
        "METRICS" => return metrics(args, pos, ctx),
        "PERIOD" => return period(&args[0], pos, ctx),
        "SORT" => return sort(args, pos, ctx),
        "FILL" => return transform::fill(args, pos, ctx),
        "IF" => return transform::if_fn(args, pos, ctx),
        _ => {}
    }
    let mut values = Vec::with_capacity(args.len());
    for a in args {
        values.push(evaluate(a, ctx)?);
    }
    let first = values.remove(0);
    match name {
        "ABS" => pointwise(first, f64::abs),
        "CEIL" => pointwise(first, f64::ceil),
        "FLOOR" => pointwise(first, f64::floor),
        "LOG" => pointwise(first, f64::ln),
        "LOG10" => pointwise(first, f64::log10),
        "AVG" => aggregate(name, first, pos, Stat::Avg),
        "MIN" => aggregate(name, first, pos, Stat::Min),
        "MAX" => aggregate(name, first, pos, Stat::Max),
        "SUM" => aggregate(name, first, pos, Stat::Sum),
        "STDDEV" => aggregate(name, first, pos, Stat::StdDev),
        "DATAPOINT_COUNT" => aggregate(name, first, pos, Stat::Count),
        "METRIC_COUNT" => match first {
            MathValue::Array(a) => Ok(MathValue::Scalar(a.len() as f64)),
            MathValue::Series(_) => Ok(MathValue::Scalar(1.0)),
            other => Err(type_error(name, pos, "TS[]", &other)),
        },
        "FIRST" | "LAST" => {
            let array = as_array(name, first, pos)?;
            let picked = if name == "FIRST" {
                array.into_iter().next()
            } else {
                array.into_iter().last()
            };
            Ok(MathValue::Series(
                picked.unwrap_or_else(|| Series::empty("")),
            ))
        }
        "REMOVE_EMPTY" => match first {
            MathValue::Array(a) => Ok(MathValue::Array(
                a.into_iter().filter(|s| !s.is_empty()).collect(),
            )),
            MathValue::Series(s) => Ok(MathValue::Series(s)),
            other => Err(type_error(name, pos, "TS[]", &other)),
        },
        "SLICE" => {
            let array = as_array(name, first, pos)?;
            let start = index_arg(name, &values[0], args[1].pos())?.min(array.len());
            let end = match values.get(1) {
                Some(v) => index_arg(name, v, args[2].pos())?.min(array.len()),
                None => array.len(),
            };
            Ok(MathValue::Array(if start < end {
                array[start..end].to_vec()
            } else {
                Vec::new()
            }))
        }
        "DIFF" | "DIFF_TIME" | "RATE" | "RUNNING_SUM" => transform::sequential(name, first, pos),
        "MINUTE" | "HOUR" | "DAY" | "DATE" | "MONTH" | "YEAR" | "EPOCH" => {
            transform::calendar(name, first, pos, ctx)
        }
        "TIME_SERIES" => transform::time_series(first, pos, ctx),
        _ => Err(MathError::at(
            pos,
            format!("Unknown function {name} at position {pos}"),
        )),
    }
}

/// "ABS expects TS or TS[] (position 3), got S"
pub(crate) fn type_error(name: &str, pos: usize, expected: &str, got: &MathValue) -> MathError {
    MathError::at(
        pos,
        format!(
            "{name} (position {pos}) expects {expected} but got {}",
            got.type_name()
        ),
    )
}

/// ABS, CEIL, FLOOR, LOG, LOG10 on S, TS or TS[]; LOG of a value <= 0 drops the point.
fn pointwise(value: MathValue, f: fn(f64) -> f64) -> Result<MathValue, MathError> {
    Ok(map_value(value, |v| Some(f(v))))
}

fn as_array(name: &str, value: MathValue, pos: usize) -> Result<Vec<Series>, MathError> {
    match value {
        MathValue::Array(a) => Ok(a),
        MathValue::Series(s) => Ok(vec![s]),
        other => Err(type_error(name, pos, "TS[]", &other)),
    }
}

/// A non-negative integer argument (SLICE bounds, SORT limit).
fn index_arg(name: &str, value: &MathValue, pos: usize) -> Result<usize, MathError> {
    match value {
        MathValue::Scalar(v) if v.is_finite() && *v >= 0.0 && v.fract() == 0.0 => Ok(*v as usize),
        MathValue::Scalar(v) => Err(MathError::at(
            pos,
            format!("{name} needs a non-negative integer at position {pos}, got {v}"),
        )),
        other => Err(type_error(name, pos, "S", other)),
    }
}

/// TS → S over the series' points; TS[] → TS over the points present at each timestamp.
fn aggregate(
    name: &str,
    value: MathValue,
    pos: usize,
    which: Stat,
) -> Result<MathValue, MathError> {
    match value {
        MathValue::Series(s) => Ok(MathValue::Scalar(stat(&s, which))),
        MathValue::Array(a) => Ok(MathValue::Series(across(&a, which))),
        other => Err(type_error(name, pos, "TS or TS[]", &other)),
    }
}

/// Combines an array of series timestamp by timestamp.
fn across(array: &[Series], which: Stat) -> Series {
    let mut all: Vec<(i64, f64)> = array.iter().flat_map(crate::series::points).collect();
    all.sort_by_key(|(t, _)| *t);
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let t = all[i].0;
        let j = i + all[i..].iter().take_while(|(u, _)| *u == t).count();
        let present: Vec<f64> = all[i..j].iter().map(|(_, v)| *v).collect();
        let v = match which {
            Stat::Avg => present.iter().sum::<f64>() / array.len() as f64,
            other => stat_of(&present, other),
        };
        out.push((t, v));
        i = j;
    }
    from_points(String::new(), out)
}

fn metrics(args: &[Expr], pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    let filter = match args.first() {
        None => None,
        Some(Expr::Str { value, .. }) => Some(value.as_str()),
        Some(other) => {
            let p = other.pos();
            return Err(MathError::at(
                p,
                format!("METRICS (position {pos}) takes a string argument (position {p})"),
            ));
        }
    };
    let mut out = Vec::new();
    for id in ctx.metric_ids {
        if filter.is_some_and(|f| !id.contains(f)) {
            continue;
        }
        match lookup(id, pos, ctx)? {
            MathValue::Series(s) => out.push(s),
            MathValue::Array(a) => out.extend(a),
            MathValue::Scalar(_) => {
                return Err(MathError::at(
                    pos,
                    format!("METRICS (position {pos}): id '{id}' is not a time series"),
                ))
            }
        }
    }
    Ok(MathValue::Array(out))
}

fn period(arg: &Expr, pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    match arg {
        Expr::Id { name, .. } if ctx.metric_ids.iter().any(|m| m == name) => {
            if ctx.period <= 0 {
                return Err(MathError::at(
                    pos,
                    format!("PERIOD (position {pos}) has no positive period"),
                ));
            }
            Ok(MathValue::Scalar(ctx.period as f64))
        }
        other => {
            let p = other.pos();
            Err(MathError::at(
                p,
                format!("PERIOD (position {pos}) accepts only the id of a metric, not an expression (position {p})"),
            ))
        }
    }
}

fn keyword<'a>(name: &str, arg: &'a Expr, allowed: &[&str]) -> Result<&'a str, MathError> {
    match arg {
        Expr::Keyword { name: k, .. } if allowed.contains(&k.as_str()) => Ok(k),
        other => {
            let p = other.pos();
            Err(MathError::at(
                p,
                format!(
                    "{name} expects one of {} at position {p}",
                    allowed.join(", ")
                ),
            ))
        }
    }
}

fn sort(args: &[Expr], pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    let array = as_array("SORT", evaluate(&args[0], ctx)?, pos)?;
    let which = match keyword("SORT", &args[1], &["AVG", "MIN", "MAX", "SUM"])? {
        "AVG" => Stat::Avg,
        "MIN" => Stat::Min,
        "MAX" => Stat::Max,
        _ => Stat::Sum,
    };
    let descending = keyword("SORT", &args[2], &["ASC", "DESC"])? == "DESC";
    let limit = match args.get(3) {
        Some(a) => Some(index_arg("SORT", &evaluate(a, ctx)?, a.pos())?),
        None => None,
    };
    let mut keyed: Vec<(f64, Series)> = array.into_iter().map(|s| (stat(&s, which), s)).collect();
    keyed.sort_by(|(a, _), (b, _)| match (a.is_finite(), b.is_finite()) {
        (true, true) if descending => b.total_cmp(a),
        (true, true) => a.total_cmp(b),
        (x, y) => y.cmp(&x), // undefined statistics last
    });
    let mut sorted: Vec<Series> = keyed.into_iter().map(|(_, s)| s).collect();
    if let Some(n) = limit {
        sorted.truncate(n);
    }
    Ok(MathValue::Array(sorted))
}
