//! Statistic names (`Average`, `p99.9`, …) and their values from aggregates.

use crate::invalid_value;
use nephoscope_metricstore::Agg;
use nephoscope_wire::ApiError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    Percentile(f64),
}

impl Stat {
    /// Parses a statistic. Trimmed means, winsorized means, trimmed counts/sums, percentile
    /// ranks and IQM are refused by name until they are built.
    pub fn parse(s: &str) -> Result<Stat, ApiError> {
        Ok(match s {
            "SampleCount" => Stat::SampleCount,
            "Average" => Stat::Average,
            "Sum" => Stat::Sum,
            "Minimum" => Stat::Minimum,
            "Maximum" => Stat::Maximum,
            _ => {
                let p = s
                    .strip_prefix('p')
                    .and_then(|n| n.parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p) && !s.contains('e'));
                match p {
                    Some(p) => Stat::Percentile(p),
                    None if is_other_extended(s) => {
                        return Err(invalid_value(format!(
                            "The statistic {s} is not supported by Nephoscope yet (percentiles pNN.NN are)."
                        )))
                    }
                    None => return Err(invalid_value(format!("The statistic {s} is not valid."))),
                }
            }
        })
    }

    pub fn value(self, a: &Agg) -> Option<f64> {
        match self {
            Stat::SampleCount => Some(a.count),
            Stat::Average => Some(a.average()),
            Stat::Sum => Some(a.sum),
            Stat::Minimum => Some(a.min),
            Stat::Maximum => Some(a.max),
            Stat::Percentile(p) => a.percentile(p),
        }
    }
}

fn is_other_extended(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["tm", "wm", "tc", "ts", "pr(", "iqm"]
        .iter()
        .any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_table() {
        for (s, ok) in [
            ("Average", Some(Stat::Average)),
            ("p99", Some(Stat::Percentile(99.0))),
            ("p99.9", Some(Stat::Percentile(99.9))),
            ("p0", Some(Stat::Percentile(0.0))),
            ("p100", Some(Stat::Percentile(100.0))),
            ("p101", None),
            ("average", None),
            ("tm99", None),
            ("IQM", None),
        ] {
            assert_eq!(Stat::parse(s).ok(), ok, "{s}");
        }
        assert!(Stat::parse("tm99")
            .unwrap_err()
            .message
            .contains("not supported"));
    }
}
