//! Point-wise building blocks over [`Series`]: sanitising inputs, mapping, aligning two series
//! on the union of their timestamps, the non-sparse grid and per-series statistics.
//!
//! Every constructor here drops non-finite values, so no NaN or infinity ever leaves the crate.

use crate::{EvalContext, MathError, Series};

/// Returns `s` sorted by timestamp, without non-finite values and with duplicate timestamps
/// collapsed to their first occurrence.
pub(crate) fn sanitize(s: &Series) -> Series {
    let mut points: Vec<(i64, f64)> = s
        .timestamps
        .iter()
        .copied()
        .zip(s.values.iter().copied())
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(t, _)| *t);
    points.dedup_by_key(|(t, _)| *t);
    from_points(s.label.clone(), points)
}

/// Builds a series from (timestamp, value) pairs, dropping non-finite values.
pub(crate) fn from_points(label: String, points: impl IntoIterator<Item = (i64, f64)>) -> Series {
    let mut out = Series::empty(label);
    for (t, v) in points {
        if v.is_finite() {
            out.timestamps.push(t);
            out.values.push(v);
        }
    }
    out
}

/// Iterates over a series' points.
pub(crate) fn points(s: &Series) -> impl Iterator<Item = (i64, f64)> + '_ {
    s.timestamps.iter().copied().zip(s.values.iter().copied())
}

/// Applies `f` to every value; points where `f` returns `None` or a non-finite value are dropped.
pub(crate) fn map(s: &Series, f: impl Fn(f64) -> Option<f64>) -> Series {
    from_points(
        s.label.clone(),
        points(s).filter_map(|(t, v)| f(v).map(|r| (t, r))),
    )
}

/// Aligns two ascending series on the union of their timestamps; a side with no point at a
/// timestamp is passed as `None`.
pub(crate) fn union_with(
    label: String,
    a: &Series,
    b: &Series,
    f: impl Fn(Option<f64>, Option<f64>) -> Option<f64>,
) -> Series {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() || j < b.len() {
        let ta = a.timestamps.get(i).copied();
        let tb = b.timestamps.get(j).copied();
        let (t, va, vb) = match (ta, tb) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                (x, Some(a.values[i - 1]), Some(b.values[j - 1]))
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                (x, Some(a.values[i - 1]), None)
            }
            (Some(x), None) => {
                i += 1;
                (x, Some(a.values[i - 1]), None)
            }
            (_, Some(y)) => {
                j += 1;
                (y, None, Some(b.values[j - 1]))
            }
            (None, None) => unreachable!("loop condition"),
        };
        if let Some(v) = f(va, vb) {
            out.push((t, v));
        }
    }
    from_points(label, out)
}

/// Value of `s` at `t`, if it has a point there (binary search; `s` is ascending).
pub(crate) fn value_at(s: &Series, t: i64) -> Option<f64> {
    s.timestamps.binary_search(&t).ok().map(|i| s.values[i])
}

/// The non-sparse timestamps of the query: `start, start + period, …` strictly before `end`.
pub(crate) fn grid(ctx: &EvalContext, pos: usize, function: &str) -> Result<Vec<i64>, MathError> {
    if ctx.period <= 0 {
        return Err(MathError::at(
            pos,
            format!("{function} needs a positive period, got {}", ctx.period),
        ));
    }
    let mut out = Vec::new();
    let mut t = ctx.start;
    while t < ctx.end {
        out.push(t);
        t += ctx.period;
    }
    Ok(out)
}

/// The grid merged with the timestamps a series already has (points off the grid are kept).
pub(crate) fn grid_with(grid: &[i64], s: &Series) -> Vec<i64> {
    let mut out: Vec<i64> = grid
        .iter()
        .copied()
        .chain(s.timestamps.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The statistics SORT ranks by, also used by AVG/MIN/MAX/SUM/STDDEV of a single series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stat {
    Avg,
    Min,
    Max,
    Sum,
    StdDev,
    Count,
}

/// The statistic over a series' points; NaN when it is undefined (no points).
pub(crate) fn stat(s: &Series, which: Stat) -> f64 {
    stat_of(&s.values, which)
}

/// The statistic over a set of values; NaN when it is undefined (no values). STDDEV is the
/// population standard deviation.
pub(crate) fn stat_of(values: &[f64], which: Stat) -> f64 {
    let n = values.len() as f64;
    if which == Stat::Count {
        return n;
    }
    if values.is_empty() {
        return f64::NAN;
    }
    match which {
        Stat::Sum => values.iter().sum(),
        Stat::Avg => values.iter().sum::<f64>() / n,
        Stat::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Stat::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Stat::StdDev => {
            let mean = values.iter().sum::<f64>() / n;
            (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
        }
        Stat::Count => unreachable!("handled above"),
    }
}
