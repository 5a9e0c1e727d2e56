//! `ANOMALY_DETECTION_BAND(m1[, k])`: the band of expected values of a metric, as two series —
//! the upper bound first, the lower bound second.
//!
//! CloudWatch trains a machine-learning model per metric and statistic. Nephoscope computes a
//! documented, deterministic seasonal model instead, at query time, with no detector to create:
//!
//! * **Training data:** the metric's values — the same statistic, period and unit as the
//!   `MetricStat` query `m1` — over the two weeks before the query's start time (CloudWatch also
//!   trains on up to two weeks).
//! * **Model:** the mean and the standard deviation of those values per hour of the day (UTC);
//!   an hour with fewer than [`MIN_PER_HOUR`] training values uses the mean and standard deviation
//!   of all of them. No trend, no weekly seasonality.
//! * **Band:** for every period of the query's range, mean ± k × standard deviation (k defaults
//!   to 2, CloudWatch's default width).
//! * With fewer than [`MIN_TRAINING`] training values there is no model: the band is empty and
//!   the result carries the message `InsufficientData`.
//!
//! An anomaly detector for the metric and statistic (PutAnomalyDetector, see [`crate::detectors`])
//! changes two things, and only when it exists:
//!
//! * **ExcludedTimeRanges:** a training value whose period overlaps an excluded range is left out.
//! * **MetricTimezone:** the hours of the day are that zone's local hours (daylight saving time
//!   included), both when training and when drawing the band.
//!
//! Its other settings (PeriodicSpikes, AdaptationSpeed, OutlierFilteringStrength) are kept and
//! described but do not change this model.
//!
//! Only the documented form is accepted: the whole expression is one call on the Id of a
//! `MetricStat` query, with an optional number. Anything else that mentions the function is an
//! error naming it.

/// Training values needed for a model.
pub const MIN_TRAINING: usize = 3;
/// Training values an hour of the day needs for its own mean and deviation.
pub const MIN_PER_HOUR: usize = 3;
/// How far back the model looks.
pub const TRAINING_SECONDS: i64 = 14 * 86_400;
/// The band width when none is given.
pub const DEFAULT_WIDTH: f64 = 2.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The Id of the metric the band is for.
    pub of: String,
    /// Width in standard deviations.
    pub width: f64,
}

const NAME: &str = "ANOMALY_DETECTION_BAND";

/// `None` when `expr` does not use the function; else the band, or why it is not supported.
pub fn parse(expr: &str) -> Option<Result<Band, String>> {
    if !expr.to_ascii_uppercase().contains(NAME) {
        return None;
    }
    let unsupported = || {
        format!(
            "{NAME} is supported as a whole expression on the Id of a MetricStat query, such as {NAME}(m1) or {NAME}(m1, 3)"
        )
    };
    let e = expr.trim();
    let Some(args) = e
        .get(..NAME.len())
        .filter(|head| head.eq_ignore_ascii_case(NAME))
        .and_then(|_| e[NAME.len()..].trim_start().strip_prefix('('))
        .and_then(|rest| rest.trim_end().strip_suffix(')'))
    else {
        return Some(Err(unsupported()));
    };
    let mut parts = args.split(',').map(str::trim);
    let of = parts.next().unwrap_or_default();
    let valid_id = of.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && of.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_id {
        return Some(Err(unsupported()));
    }
    let width = match parts.next() {
        None => DEFAULT_WIDTH,
        Some(w) => match w.parse::<f64>() {
            Ok(w) if w.is_finite() && w > 0.0 => w,
            _ => {
                return Some(Err(format!(
                    "the band width of {NAME} must be a positive number, not {w}"
                )))
            }
        },
    };
    if parts.next().is_some() {
        return Some(Err(unsupported()));
    }
    Some(Ok(Band {
        of: of.to_string(),
        width,
    }))
}

/// Mean and standard deviation per hour of the day, and of everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    hours: [Option<(f64, f64)>; 24],
    all: (f64, f64),
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Which clock the hours of the day are read on.
#[derive(Debug, Clone, Default)]
pub enum Hours {
    #[default]
    Utc,
    /// A tz database zone: local hours, daylight saving time included.
    Zone(jiff::tz::TimeZone),
}

impl Hours {
    /// The zone named `name` in the tz database, or `None` when there is no such zone.
    pub fn zone(name: &str) -> Option<Hours> {
        jiff::tz::TimeZone::get(name).ok().map(Hours::Zone)
    }

    /// The hour of the day (0–23) at `t`, epoch seconds.
    pub fn hour(&self, t: i64) -> usize {
        let local = match self {
            Hours::Utc => t,
            Hours::Zone(tz) => match jiff::Timestamp::from_second(t) {
                Ok(ts) => t + i64::from(tz.to_offset(ts).seconds()),
                Err(_) => t,
            },
        };
        (local.rem_euclid(86_400) / 3_600) as usize
    }
}

impl Model {
    /// A model of `(time, value)` training points on UTC hours; `None` with fewer than
    /// [`MIN_TRAINING`].
    pub fn train(points: &[(i64, f64)]) -> Option<Model> {
        Model::train_on(points, &Hours::Utc)
    }

    /// [`Model::train`] with the hours of the day read on `hours`.
    pub fn train_on(points: &[(i64, f64)], hours: &Hours) -> Option<Model> {
        let finite: Vec<(i64, f64)> = points
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        if finite.len() < MIN_TRAINING {
            return None;
        }
        let all: Vec<f64> = finite.iter().map(|p| p.1).collect();
        let mut by_hour: [Vec<f64>; 24] = Default::default();
        for (t, v) in &finite {
            by_hour[hours.hour(*t)].push(*v);
        }
        let mut hours = [None; 24];
        for (h, vs) in by_hour.iter().enumerate() {
            if vs.len() >= MIN_PER_HOUR {
                hours[h] = Some(mean_sd(vs));
            }
        }
        Some(Model {
            hours,
            all: mean_sd(&all),
        })
    }

    /// (upper, lower) at time `t`, on UTC hours.
    pub fn band(&self, t: i64, width: f64) -> (f64, f64) {
        self.band_on(t, width, &Hours::Utc)
    }

    /// (upper, lower) at time `t`, on the hours the model was trained on.
    pub fn band_on(&self, t: i64, width: f64, hours: &Hours) -> (f64, f64) {
        let (mean, sd) = self.hours[hours.hour(t)].unwrap_or(self.all);
        (mean + width * sd, mean - width * sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = |of: &str, width: f64| {
            Some(Ok(Band {
                of: of.into(),
                width,
            }))
        };
        for (expr, want) in [
            ("m1 * 2", None),
            ("ANOMALY_DETECTION_BAND(m1)", ok("m1", 2.0)),
            (" anomaly_detection_band ( cpu_1 , 3 ) ", ok("cpu_1", 3.0)),
            ("ANOMALY_DETECTION_BAND(m1, 0.5)", ok("m1", 0.5)),
        ] {
            assert_eq!(parse(expr), want, "{expr}");
        }
        for bad in [
            "ANOMALY_DETECTION_BAND(m1) * 2",
            "SUM(ANOMALY_DETECTION_BAND(m1))",
            "ANOMALY_DETECTION_BAND(m1 * 2)",
            "ANOMALY_DETECTION_BAND(M1)",
            "ANOMALY_DETECTION_BAND(m1, 0)",
            "ANOMALY_DETECTION_BAND(m1, x)",
            "ANOMALY_DETECTION_BAND(m1, 2, 3)",
            "ANOMALY_DETECTION_BAND()",
        ] {
            assert!(matches!(parse(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn model_by_hour_with_fallback() {
        // Hour 0: 10, 12, 14 (mean 12, sd √(8/3)); hour 1: one value only.
        let points = [
            (0, 10.0),
            (86_400, 12.0),
            (2 * 86_400, 14.0),
            (3_600, 100.0),
        ];
        let m = Model::train(&points).unwrap();
        let (up, low) = m.band(3 * 86_400 + 60, 2.0);
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((up - (12.0 + 2.0 * sd)).abs() < 1e-9 && (low - (12.0 - 2.0 * sd)).abs() < 1e-9);
        // Hour 1 and hour 5 fall back to all four values: mean 34.
        let (up1, low1) = m.band(3_600 * 5, 1.0);
        assert!(((up1 + low1) / 2.0 - 34.0).abs() < 1e-9 && up1 > low1);
        assert_eq!(Model::train(&points[..2]), None);
        assert_eq!(Model::train(&[(0, f64::NAN), (1, 1.0), (2, 2.0)]), None);
    }

    #[test]
    fn local_hours_follow_daylight_saving_time() {
        let ny = Hours::zone("America/New_York").unwrap();
        // 2024-01-15 12:00 UTC is 07:00 in New York (EST); 2024-07-15 12:00 UTC is 08:00 (EDT).
        for (t, utc, local) in [(1_705_320_000, 12, 7), (1_721_044_800, 12, 8)] {
            assert_eq!((Hours::Utc.hour(t), ny.hour(t)), (utc, local), "{t}");
        }
        let kolkata = Hours::zone("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.hour(0), 5, "UTC+05:30 at the epoch");
        assert!(Hours::zone("Mars/Olympus_Mons").is_none());
        // A model trained on local hours: 3 winter days at 07:00 local = 12:00 UTC.
        let day = 86_400;
        let points: Vec<(i64, f64)> = (0..3)
            .map(|d| (1_705_320_000 + d * day, 10.0 + d as f64))
            .chain((0..3).map(|d| (1_705_320_000 + 3_600 + d * day, 100.0)))
            .collect();
        let m = Model::train_on(&points, &ny).unwrap();
        // In summer, 07:00 local is 11:00 UTC: the local 07:00 hour's mean (11) is used.
        let (up, low) = m.band_on(1_721_044_800 - 3_600, 1.0, &ny);
        assert!(((up + low) / 2.0 - 11.0).abs() < 1e-9);
        // On UTC hours, 11:00 UTC has no training values of its own: the overall mean.
        let (up, low) = Model::train(&points)
            .unwrap()
            .band(1_721_044_800 - 3_600, 1.0);
        assert!(((up + low) / 2.0 - 55.5).abs() < 1e-9);
    }
}
