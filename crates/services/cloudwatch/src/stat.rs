//! Statistic names and their values from aggregates: the basic five, percentiles (`p99.9`) and
//! the range statistics — trimmed mean (`tm99`, `TM(10%:90%)`, `TM(150:1000)`), winsorized mean
//! (`WM`), trimmed count (`TC`), trimmed sum (`TS`), percentile rank (`PR(:300)`) and `IQM`.
//!
//! Range statistics read the quantile sketch's buckets (1 % relative error), so, like
//! percentiles, they need raw values: for statistic sets and negative values they have none.
//! Bounds: a percent bound is the value at that percentile; the lower bound is exclusive, the
//! upper inclusive; an empty side is unbounded.

use crate::invalid_value;
use nephoscope_metricstore::AggRef;
use nephoscope_wire::ApiError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    None,
    Percent(f64),
    Value(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    TrimmedMean,
    WinsorizedMean,
    TrimmedCount,
    TrimmedSum,
    PercentileRank,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    Percentile(f64),
    Range(Range, Bound, Bound),
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn percent(s: &str) -> Option<f64> {
    number(s).filter(|p| (0.0..=100.0).contains(p))
}

fn bound(s: &str) -> Option<Bound> {
    let s = s.trim();
    if s.is_empty() {
        return Some(Bound::None);
    }
    match s.strip_suffix('%') {
        Some(p) => percent(p).map(Bound::Percent),
        None => number(s).map(Bound::Value),
    }
}

impl Stat {
    pub fn parse(s: &str) -> Result<Stat, ApiError> {
        let invalid = || invalid_value(format!("The statistic {s} is not valid."));
        Ok(match s {
            "SampleCount" => Stat::SampleCount,
            "Average" => Stat::Average,
            "Sum" => Stat::Sum,
            "Minimum" => Stat::Minimum,
            "Maximum" => Stat::Maximum,
            "IQM" => Stat::Range(
                Range::TrimmedMean,
                Bound::Percent(25.0),
                Bound::Percent(75.0),
            ),
            _ => {
                // Lower-case short forms take one number: the upper percent bound.
                let short = [
                    ("p", None),
                    ("tm", Some(Range::TrimmedMean)),
                    ("wm", Some(Range::WinsorizedMean)),
                    ("tc", Some(Range::TrimmedCount)),
                    ("ts", Some(Range::TrimmedSum)),
                ];
                for (prefix, range) in short {
                    if let Some(n) = s.strip_prefix(prefix).filter(|n| !n.contains(['e', 'E'])) {
                        if let Some(p) = percent(n) {
                            return Ok(match range {
                                None => Stat::Percentile(p),
                                Some(r) => Stat::Range(r, Bound::None, Bound::Percent(p)),
                            });
                        }
                    }
                }
                let long = [
                    ("TM(", Range::TrimmedMean),
                    ("WM(", Range::WinsorizedMean),
                    ("TC(", Range::TrimmedCount),
                    ("TS(", Range::TrimmedSum),
                    ("PR(", Range::PercentileRank),
                ];
                for (prefix, range) in long {
                    if let Some(inner) = s.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
                        let (lo, hi) = inner.split_once(':').ok_or_else(invalid)?;
                        let (lo, hi) = (
                            bound(lo).ok_or_else(invalid)?,
                            bound(hi).ok_or_else(invalid)?,
                        );
                        let percent_bound =
                            matches!(lo, Bound::Percent(_)) || matches!(hi, Bound::Percent(_));
                        if range == Range::PercentileRank && percent_bound {
                            return Err(invalid_value(format!(
                                "The statistic {s} is not valid: percentile rank bounds are values, not percents."
                            )));
                        }
                        if lo == Bound::None && hi == Bound::None {
                            return Err(invalid());
                        }
                        return Ok(Stat::Range(range, lo, hi));
                    }
                }
                return Err(invalid());
            }
        })
    }

    /// Whether the statistic reads the quantile sketch.
    pub fn needs_sketch(self) -> bool {
        matches!(self, Stat::Percentile(_) | Stat::Range(..))
    }

    pub fn value(self, a: AggRef<'_>) -> Option<f64> {
        match self {
            Stat::SampleCount => Some(a.count),
            Stat::Average => Some(a.average()),
            Stat::Sum => Some(a.sum),
            Stat::Minimum => Some(a.min),
            Stat::Maximum => Some(a.max),
            Stat::Percentile(p) => a.percentile(p),
            Stat::Range(r, lo, hi) => range_value(a, r, lo, hi),
        }
    }
}

fn range_value(a: AggRef<'_>, r: Range, lo: Bound, hi: Bound) -> Option<f64> {
    if !a.percentiles || a.count <= 0.0 {
        return None;
    }
    let resolve = |b: Bound, unbounded: f64| -> Option<f64> {
        Some(match b {
            Bound::None => unbounded,
            Bound::Value(v) => v,
            Bound::Percent(p) => a.percentile(p)?,
        })
    };
    let low = resolve(lo, f64::NEG_INFINITY)?;
    let high = resolve(hi, f64::INFINITY)?;
    // A percent lower bound of 0 % keeps the smallest value (it is the 0th percentile itself).
    let inside = |v: f64| (v > low || (lo == Bound::Percent(0.0) && v >= low)) && v <= high;
    let (mut count, mut sum, mut clamped_sum) = (0.0, 0.0, 0.0);
    for (v, c) in a.sketch.buckets() {
        if inside(v) {
            count += c;
            sum += v * c;
            clamped_sum += v * c;
        } else {
            clamped_sum += v.clamp(low, high) * c;
        }
    }
    match r {
        Range::TrimmedMean => (count > 0.0).then(|| sum / count),
        Range::WinsorizedMean => Some(clamped_sum / a.count),
        Range::TrimmedCount => Some(count),
        Range::TrimmedSum => Some(sum),
        Range::PercentileRank => Some(100.0 * count / a.count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nephoscope_metricstore::Agg;

    #[test]
    fn stat_names_table() {
        use Bound::{Percent, Value};
        for (s, want) in [
            ("Average", Some(Stat::Average)),
            ("p99", Some(Stat::Percentile(99.0))),
            ("p99.9", Some(Stat::Percentile(99.9))),
            ("p0", Some(Stat::Percentile(0.0))),
            ("p100", Some(Stat::Percentile(100.0))),
            ("p101", None),
            ("average", None),
            (
                "tm99",
                Some(Stat::Range(Range::TrimmedMean, Bound::None, Percent(99.0))),
            ),
            (
                "wm98",
                Some(Stat::Range(
                    Range::WinsorizedMean,
                    Bound::None,
                    Percent(98.0),
                )),
            ),
            (
                "tc90",
                Some(Stat::Range(Range::TrimmedCount, Bound::None, Percent(90.0))),
            ),
            (
                "ts90",
                Some(Stat::Range(Range::TrimmedSum, Bound::None, Percent(90.0))),
            ),
            (
                "IQM",
                Some(Stat::Range(
                    Range::TrimmedMean,
                    Percent(25.0),
                    Percent(75.0),
                )),
            ),
            (
                "TM(10%:90%)",
                Some(Stat::Range(
                    Range::TrimmedMean,
                    Percent(10.0),
                    Percent(90.0),
                )),
            ),
            (
                "TM(150:1000)",
                Some(Stat::Range(Range::TrimmedMean, Value(150.0), Value(1000.0))),
            ),
            (
                "TS(80%:)",
                Some(Stat::Range(Range::TrimmedSum, Percent(80.0), Bound::None)),
            ),
            (
                "TC(0.005:0.030)",
                Some(Stat::Range(Range::TrimmedCount, Value(0.005), Value(0.03))),
            ),
            (
                "PR(:300)",
                Some(Stat::Range(
                    Range::PercentileRank,
                    Bound::None,
                    Value(300.0),
                )),
            ),
            ("PR(10%:90%)", None),
            ("TM(:)", None),
            ("TM(x:1)", None),
            ("tm101", None),
        ] {
            assert_eq!(Stat::parse(s).ok(), want, "{s}");
        }
    }

    fn agg(values: &[f64]) -> Agg {
        let mut a = Agg::default();
        for v in values {
            a.add_value(*v, 1.0);
        }
        a
    }

    #[test]
    fn range_values_table() {
        let a = agg(&(1..=100).map(f64::from).collect::<Vec<_>>());
        let close = |got: Option<f64>, want: f64| {
            let got = got.unwrap();
            assert!(
                (got - want).abs() <= 0.02 * want.abs().max(1.0),
                "got {got}, want {want}"
            );
        };
        close(Stat::parse("PR(:50)").unwrap().value(a.view()), 50.0);
        close(Stat::parse("TC(:50)").unwrap().value(a.view()), 50.0);
        close(
            Stat::parse("TS(90:)").unwrap().value(a.view()),
            (91..=100).sum::<i32>() as f64,
        );
        close(Stat::parse("TM(90:)").unwrap().value(a.view()), 95.5);
        close(Stat::parse("IQM").unwrap().value(a.view()), 50.5);
        // Winsorizing at 90 % clamps 91..100 to ~90: the mean drops below the plain average.
        let wm = Stat::parse("wm90").unwrap().value(a.view()).unwrap();
        assert!(wm < 50.5 && wm > 49.0, "{wm}");
        let mut set = Agg::default();
        set.add_set(3.0, 6.0, 1.0, 3.0);
        assert_eq!(Stat::parse("tm90").unwrap().value(set.view()), None);
    }
}
