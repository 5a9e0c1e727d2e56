//! Series-shaping functions: FILL, IF, DIFF, DIFF_TIME, RATE, RUNNING_SUM, the calendar functions
//! (MINUTE, HOUR, DAY, DATE, MONTH, YEAR, EPOCH) and TIME_SERIES.
//!
//! The non-sparse grid is `start, start + period, …` before `end` (the request range and period).
//!
//! Decisions where the AWS guide is silent:
//! * FILL fills every grid timestamp the series lacks (points off the grid are kept). REPEAT has
//!   nothing to repeat before the first point and LINEAR has nothing to interpolate before the
//!   first or after the last point, so those leading/trailing gaps stay empty. A TS filler fills
//!   only where the filler itself has a point; FILL(TS, TS) is accepted like FILL(TS[], TS).
//! * DIFF, DIFF_TIME and RATE compare each point with the previous *present* point; the first
//!   point has no predecessor and is dropped. RUNNING_SUM sums present points only.
//! * The calendar functions are UTC and return a value at every grid timestamp; DAY is the day of
//!   the week, 1 = Monday … 7 = Sunday, DATE the day of the month.
//! * IF with a scalar condition returns the chosen branch unchanged (a scalar branch stays a
//!   scalar); an omitted false branch yields an empty series. A condition with no value (e.g.
//!   `AVG` of an empty series) yields an empty series.

use crate::ast::Expr;
use crate::eval::evaluate;
use crate::functions::type_error;
use crate::series::{from_points, grid, grid_with, points, value_at};
use crate::time::civil;
use crate::{EvalContext, MathError, MathValue, Series};

enum Filler {
    Constant(f64),
    Series(Series),
    Repeat,
    Linear,
}

pub(crate) fn fill(args: &[Expr], pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    let target = evaluate(&args[0], ctx)?;
    let filler = match &args[1] {
        Expr::Keyword { name, .. } if name == "REPEAT" => Filler::Repeat,
        Expr::Keyword { name, .. } if name == "LINEAR" => Filler::Linear,
        Expr::Keyword { name, pos: p } => {
            return Err(MathError::at(
                *p,
                format!(
                    "FILL (position {pos}) accepts REPEAT or LINEAR, not {name} (position {p})"
                ),
            ))
        }
        other => match evaluate(other, ctx)? {
            MathValue::Scalar(k) => Filler::Constant(k),
            MathValue::Series(s) => Filler::Series(s),
            MathValue::Array(_) => {
                let p = other.pos();
                return Err(MathError::at(
                    p,
                    format!("FILL (position {pos}) cannot fill from an array of time series (position {p})"),
                ));
            }
        },
    };
    let grid = grid(ctx, pos, "FILL")?;
    match target {
        MathValue::Series(s) => Ok(MathValue::Series(fill_one(&s, &filler, &grid))),
        MathValue::Array(a) => Ok(MathValue::Array(
            a.iter().map(|s| fill_one(s, &filler, &grid)).collect(),
        )),
        other => Err(type_error("FILL", pos, "TS or TS[]", &other)),
    }
}

fn fill_one(s: &Series, filler: &Filler, grid: &[i64]) -> Series {
    let stamps = grid_with(grid, s);
    let label = s.label.clone();
    match filler {
        Filler::Constant(k) => from_points(
            label,
            stamps.iter().map(|&t| (t, value_at(s, t).unwrap_or(*k))),
        ),
        Filler::Series(f) => from_points(
            label,
            stamps
                .iter()
                .filter_map(|&t| value_at(s, t).or_else(|| value_at(f, t)).map(|v| (t, v))),
        ),
        Filler::Repeat => {
            let mut last = None;
            let mut out = Vec::new();
            for &t in &stamps {
                if let Some(v) = value_at(s, t) {
                    last = Some(v);
                }
                if let Some(v) = last {
                    out.push((t, v));
                }
            }
            from_points(label, out)
        }
        Filler::Linear => {
            let mut out = Vec::new();
            let mut next = 0; // index in s of the first point at or after t
            for &t in &stamps {
                while next < s.len() && s.timestamps[next] < t {
                    next += 1;
                }
                if next < s.len() && s.timestamps[next] == t {
                    out.push((t, s.values[next]));
                } else if next > 0 && next < s.len() {
                    let (t0, v0) = (s.timestamps[next - 1], s.values[next - 1]);
                    let (t1, v1) = (s.timestamps[next], s.values[next]);
                    out.push((t, v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64));
                }
            }
            from_points(label, out)
        }
    }
}

/// IF(condition, trueValue[, falseValue]) — see the AWS guide's "Using IF expressions".
pub(crate) fn if_fn(args: &[Expr], pos: usize, ctx: &EvalContext) -> Result<MathValue, MathError> {
    let cond = evaluate(&args[0], ctx)?;
    let branch = |i: usize| -> Result<Option<MathValue>, MathError> {
        match args.get(i) {
            None => Ok(None),
            Some(e) => match evaluate(e, ctx)? {
                MathValue::Array(_) => Err(MathError::at(
                    e.pos(),
                    format!("IF (position {pos}) branches must be a scalar or a time series (position {})", e.pos()),
                )),
                v => Ok(Some(v)),
            },
        }
    };
    let when_true = branch(1)?.expect("IF has at least two arguments");
    let when_false = branch(2)?;
    match cond {
        MathValue::Scalar(c) if !c.is_finite() => Ok(MathValue::Series(Series::empty(""))),
        MathValue::Scalar(c) if c != 0.0 => Ok(when_true),
        MathValue::Scalar(_) => {
            Ok(when_false.unwrap_or_else(|| MathValue::Series(Series::empty(""))))
        }
        MathValue::Series(c) => {
            let out = points(&c).filter_map(|(t, v)| {
                if v != 0.0 {
                    match &when_true {
                        MathValue::Scalar(k) => Some((t, *k)),
                        MathValue::Series(s) => Some((t, value_at(s, t).unwrap_or(0.0))),
                        MathValue::Array(_) => None,
                    }
                } else {
                    match &when_false {
                        Some(MathValue::Scalar(k)) => Some((t, *k)),
                        Some(MathValue::Series(s)) => value_at(s, t).map(|v| (t, v)),
                        _ => None,
                    }
                }
            });
            Ok(MathValue::Series(from_points(c.label.clone(), out)))
        }
        other => Err(type_error("IF", pos, "a condition of type S or TS", &other)),
    }
}

/// DIFF, DIFF_TIME, RATE and RUNNING_SUM on TS or TS[].
pub(crate) fn sequential(name: &str, value: MathValue, pos: usize) -> Result<MathValue, MathError> {
    let one = |s: &Series| -> Series {
        let pairs = s.timestamps.windows(2).zip(s.values.windows(2));
        let label = s.label.clone();
        match name {
            "DIFF" => from_points(label, pairs.map(|(t, v)| (t[1], v[1] - v[0]))),
            "DIFF_TIME" => from_points(label, pairs.map(|(t, _)| (t[1], (t[1] - t[0]) as f64))),
            "RATE" => from_points(
                label,
                pairs.map(|(t, v)| (t[1], (v[1] - v[0]) / (t[1] - t[0]) as f64)),
            ),
            _ => {
                let mut total = 0.0;
                from_points(
                    label,
                    points(s).map(|(t, v)| {
                        total += v;
                        (t, total)
                    }),
                )
            }
        }
    };
    match value {
        MathValue::Series(s) => Ok(MathValue::Series(one(&s))),
        MathValue::Array(a) => Ok(MathValue::Array(a.iter().map(one).collect())),
        other => Err(type_error(name, pos, "TS or TS[]", &other)),
    }
}

/// MINUTE, HOUR, DAY, DATE, MONTH, YEAR, EPOCH: a non-sparse series over the request grid.
pub(crate) fn calendar(
    name: &str,
    value: MathValue,
    pos: usize,
    ctx: &EvalContext,
) -> Result<MathValue, MathError> {
    let grid = grid(ctx, pos, name)?;
    let one = |label: &str| -> Series {
        from_points(
            label.to_string(),
            grid.iter().map(|&t| {
                let c = civil(t);
                let v = match name {
                    "MINUTE" => c.minute,
                    "HOUR" => c.hour,
                    "DAY" => c.weekday,
                    "DATE" => c.date,
                    "MONTH" => c.month,
                    "YEAR" => c.year,
                    _ => t,
                };
                (t, v as f64)
            }),
        )
    };
    match value {
        MathValue::Series(s) => Ok(MathValue::Series(one(&s.label))),
        MathValue::Array(a) => Ok(MathValue::Array(a.iter().map(|s| one(&s.label)).collect())),
        other => Err(type_error(name, pos, "TS", &other)),
    }
}

/// TIME_SERIES(S): the scalar at every grid timestamp (no points if the scalar has no value).
pub(crate) fn time_series(
    value: MathValue,
    pos: usize,
    ctx: &EvalContext,
) -> Result<MathValue, MathError> {
    match value {
        MathValue::Scalar(k) => {
            let grid = grid(ctx, pos, "TIME_SERIES")?;
            Ok(MathValue::Series(from_points(
                String::new(),
                grid.into_iter().map(|t| (t, k)),
            )))
        }
        other => Err(type_error("TIME_SERIES", pos, "S", &other)),
    }
}
