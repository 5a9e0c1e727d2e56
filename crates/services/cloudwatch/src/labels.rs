//! Dynamic labels of GetMetricData: `${AVG}`, `${PROP('Dim.InstanceId')}`, `${FIRST_TIME}` … in
//! a query's `Label`, filled in per returned series over the whole requested range (every data
//! point, not only the page of this call), with `LabelOptions.Timezone` for times.
//!
//! AWS documents which values exist but not how numbers, times and durations are printed; the
//! formats here are Nephoscope's (numbers with at most two decimals, times as ISO 8601 with the
//! offset, durations as `1d 2h 3m 4s`) and listed as such in docs/compatibility.md.

use time::{format_description::well_known::Rfc3339, OffsetDateTime, UtcOffset};

/// What a series is, for `${PROP(…)}`. Math results have no metric of their own.
#[derive(Debug, Clone, Default)]
pub struct Props {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
}

/// What every label of one request shares.
pub struct LabelEnv<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// `LabelOptions.Timezone`, seconds east of UTC.
    pub offset_seconds: i32,
    /// The server's clock, epoch seconds, for the `_RELATIVE` values.
    pub now: i64,
}

/// Parses `LabelOptions.Timezone` (`+0130`, `-0800`) into seconds east of UTC.
pub fn parse_timezone(tz: &str) -> Result<i32, String> {
    let bad = || {
        format!("The value {tz} for parameter LabelOptions.Timezone is invalid: it must be + or - followed by four digits, such as +0130.")
    };
    let b = tz.as_bytes();
    if b.len() != 5 || !(b[0] == b'+' || b[0] == b'-') || !b[1..].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let hours = i32::from(b[1] - b'0') * 10 + i32::from(b[2] - b'0');
    let minutes = i32::from(b[3] - b'0') * 10 + i32::from(b[4] - b'0');
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    let secs = hours * 3600 + minutes * 60;
    Ok(if b[0] == b'-' { -secs } else { secs })
}

/// True when `label` holds a `${…}` placeholder.
pub fn is_dynamic(label: &str) -> bool {
    label.contains("${")
}

/// Fills in every placeholder of `template` for one series. `points` are (epoch seconds, value)
/// in ascending time; `default_label` is what `${LABEL}` stands for. An unknown placeholder is
/// an error, never left in place.
pub fn render(
    template: &str,
    default_label: &str,
    props: Option<&Props>,
    period: i64,
    points: &[(i64, f64)],
    env: &LabelEnv<'_>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("The label {template} has a ${{ without its closing }}."))?;
        let name = after[..close].trim();
        out.push_str(
            &value(name, default_label, props, period, points, env).ok_or_else(|| {
                format!("The dynamic label value ${{{name}}} in the label {template} is not known.")
            })?,
        );
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value(
    name: &str,
    default_label: &str,
    props: Option<&Props>,
    period: i64,
    points: &[(i64, f64)],
    env: &LabelEnv<'_>,
) -> Option<String> {
    if let Some(prop) = name
        .strip_prefix("PROP(")
        .and_then(|p| p.strip_suffix(')'))
        .map(str::trim)
        .and_then(|p| {
            p.strip_prefix('\'')
                .and_then(|p| p.strip_suffix('\''))
                .or_else(|| p.strip_prefix('"').and_then(|p| p.strip_suffix('"')))
        })
    {
        return property(prop, props, period, env);
    }
    let first = points.first();
    let last = points.last();
    let by = |better: fn(f64, f64) -> bool| {
        points
            .iter()
            .copied()
            .reduce(|a, b| if better(b.1, a.1) { b } else { a })
    };
    let (min, max) = (by(|a, b| a < b), by(|a, b| a > b));
    let time = |p: Option<(i64, f64)>| p.map_or_else(String::new, |(t, _)| format_time(t, env));
    let relative = |p: Option<(i64, f64)>| {
        p.map_or_else(String::new, |(t, _)| {
            format_duration(env.now.saturating_sub(t))
        })
    };
    let num = |v: Option<f64>| v.map_or_else(String::new, format_number);
    Some(match name {
        "LABEL" => default_label.to_string(),
        "DATAPOINT_COUNT" => points.len().to_string(),
        "AVG" => num((!points.is_empty())
            .then(|| points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64)),
        "SUM" => num((!points.is_empty()).then(|| points.iter().map(|p| p.1).sum::<f64>())),
        "MIN" => num(min.map(|p| p.1)),
        "MAX" => num(max.map(|p| p.1)),
        "FIRST" => num(first.map(|p| p.1)),
        "LAST" => num(last.map(|p| p.1)),
        "FIRST_LAST_RANGE" => num(first.zip(last).map(|(f, l)| (l.1 - f.1).abs())),
        "MIN_MAX_RANGE" => num(min.zip(max).map(|(a, b)| b.1 - a.1)),
        "FIRST_TIME" => time(first.copied()),
        "LAST_TIME" => time(last.copied()),
        "MIN_TIME" => time(min),
        "MAX_TIME" => time(max),
        "FIRST_TIME_RELATIVE" => relative(first.copied()),
        "LAST_TIME_RELATIVE" => relative(last.copied()),
        "MIN_TIME_RELATIVE" => relative(min),
        "MAX_TIME_RELATIVE" => relative(max),
        "FIRST_LAST_TIME_RANGE" => first.zip(last).map_or_else(String::new, |(f, l)| {
            format_duration(l.0.saturating_sub(f.0))
        }),
        "MIN_MAX_TIME_RANGE" => min.zip(max).map_or_else(String::new, |(a, b)| {
            format_duration(b.0.saturating_sub(a.0))
        }),
        _ => return None,
    })
}

fn property(prop: &str, props: Option<&Props>, period: i64, env: &LabelEnv<'_>) -> Option<String> {
    let field = |f: fn(&Props) -> &str| props.map(f).unwrap_or_default().to_string();
    Some(match prop {
        "AccountId" => env.account.to_string(),
        // Cross-account observability is not built: no source account has a label.
        "AccountLabel" => String::new(),
        "Region" => env.region.to_string(),
        "Period" => period.to_string(),
        "MetricName" => field(|p| &p.metric_name),
        "Namespace" => field(|p| &p.namespace),
        "Stat" => field(|p| &p.stat),
        other => {
            let dim = other.strip_prefix("Dim.")?;
            props
                .and_then(|p| p.dimensions.iter().find(|(n, _)| n == dim))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
    })
}

/// At most two decimals, no trailing zeros: `3`, `2.5`, `0.33`.
fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn format_time(epoch: i64, env: &LabelEnv<'_>) -> String {
    let offset = UtcOffset::from_whole_seconds(env.offset_seconds).unwrap_or(UtcOffset::UTC);
    OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .map(|t| t.to_offset(offset))
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `1d 2h 3m 4s`, zero parts left out; `0s` for no time.
fn format_duration(secs: i64) -> String {
    let mut s = secs.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= size {
            parts.push(format!("{}{unit}", s / size));
            s %= size;
        }
    }
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> LabelEnv<'static> {
        LabelEnv {
            account: "000000000000",
            region: "us-east-1",
            offset_seconds: 0,
            now: 1_700_000_600,
        }
    }

    #[test]
    fn placeholders_table() {
        let props = Props {
            namespace: "App".into(),
            metric_name: "Latency".into(),
            dimensions: vec![
                ("Host".into(), "h1".into()),
                ("Stage".into(), "prod".into()),
            ],
            stat: "p99".into(),
        };
        let pts = [
            (1_700_000_000, 4.0),
            (1_700_000_060, 1.0),
            (1_700_000_120, 7.5),
            (1_700_000_180, 2.3),
        ];
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("${LABEL} avg ${AVG}", "Latency avg 3.7"),
            ("${SUM}/${DATAPOINT_COUNT}", "14.8/4"),
            ("${MIN}..${MAX}", "1..7.5"),
            ("${FIRST}->${LAST}", "4->2.3"),
            ("${FIRST_LAST_RANGE} ${MIN_MAX_RANGE}", "1.7 6.5"),
            ("${FIRST_TIME}", "2023-11-14T22:13:20Z"),
            ("${MAX_TIME}", "2023-11-14T22:15:20Z"),
            (
                "${MIN_TIME} ${LAST_TIME}",
                "2023-11-14T22:14:20Z 2023-11-14T22:16:20Z",
            ),
            ("${FIRST_TIME_RELATIVE}", "10m"),
            ("${LAST_TIME_RELATIVE}", "7m"),
            ("${FIRST_LAST_TIME_RANGE} ${MIN_MAX_TIME_RANGE}", "3m 1m"),
            ("${PROP('Dim.Host')}/${PROP('Dim.Stage')}", "h1/prod"),
            ("${PROP('Dim.Missing')}", ""),
            ("${PROP('MetricName')} ${PROP('Namespace')}", "Latency App"),
            ("${PROP('Stat')} ${PROP('Period')}", "p99 60"),
            (
                "${PROP('AccountId')} ${PROP('Region')}",
                "000000000000 us-east-1",
            ),
            ("${ PROP(\"Dim.Host\") }", "h1"),
        ];
        for (template, want) in cases {
            let got = render(template, "Latency", Some(&props), 60, &pts, &env());
            assert_eq!(got.as_deref(), Ok(*want), "{template}");
        }
    }

    #[test]
    fn empty_series_and_errors() {
        assert_eq!(
            render(
                "n=${DATAPOINT_COUNT} a=${AVG} t=${FIRST_TIME}",
                "x",
                None,
                300,
                &[],
                &env()
            ),
            Ok("n=0 a= t=".into())
        );
        for bad in ["${NOPE}", "${AVG", "${PROP('Color')}", "${PROP(Dim.Host)}"] {
            assert!(render(bad, "x", None, 60, &[], &env()).is_err(), "{bad}");
        }
    }

    #[test]
    fn timezone_table() {
        let cases: &[(&str, Option<i32>)] = &[
            ("+0000", Some(0)),
            ("+0130", Some(5400)),
            ("-0800", Some(-28_800)),
            ("+2359", Some(86_340)),
            ("+2400", None),
            ("+0060", None),
            ("0130", None),
            ("+130", None),
            ("UTC", None),
        ];
        for (tz, want) in cases {
            assert_eq!(parse_timezone(tz).ok(), *want, "{tz}");
        }
        let e = LabelEnv {
            offset_seconds: 5400,
            ..env()
        };
        assert_eq!(
            render("${FIRST_TIME}", "x", None, 60, &[(1_700_000_000, 1.0)], &e),
            Ok("2023-11-14T23:43:20+01:30".into())
        );
    }

    #[test]
    fn numbers_table() {
        for (v, want) in [
            (3.0, "3"),
            (2.5, "2.5"),
            (1.0 / 3.0, "0.33"),
            (-0.001, "0"),
            (1e6, "1000000"),
            (-2.456, "-2.46"),
        ] {
            assert_eq!(format_number(v), want, "{v}");
        }
    }
}
