//! Error rows: expression → (message fragment, position). Parse errors and evaluation errors
//! both carry the 0-based character position of the offending token or function name.

mod common;

use common::fixture;
use nephoscope_metricmath::parse;

/// (expression, fragment the message must contain, expected position)
const ROWS: &[(&str, &str, Option<usize>)] = &[
    // Unsupported functions: named, positioned, never approximated.
    (
        "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)",
        "SEARCH",
        Some(0),
    ),
    (
        "m1 + ANOMALY_DETECTION_BAND(m1)",
        "ANOMALY_DETECTION_BAND",
        Some(5),
    ),
    (
        "LAST(ANOMALY_DETECTION_BAND(m1, 4))",
        "ANOMALY_DETECTION_BAND",
        Some(5),
    ),
    (
        "INSIGHT_RULE_METRIC('rule', 'Sum')",
        "INSIGHT_RULE_METRIC",
        Some(0),
    ),
    ("SERVICE_QUOTA(m1)", "SERVICE_QUOTA", Some(0)),
    (
        "DB_PERF_INSIGHTS('RDS', 'db-ABC', 'os.cpuUtilization.total.avg')",
        "DB_PERF_INSIGHTS",
        Some(0),
    ),
    ("CONCAT(m1, m2)", "CONCAT", Some(0)),
    ("LAMBDA('fn', 'arg')", "LAMBDA", Some(0)),
    ("SUM([m1, SEARCH('x', 'Sum')])", "SEARCH", Some(9)),
    (
        "SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId)",
        "Metrics Insights",
        Some(0),
    ),
    ("  select max(x) from ns", "Metrics Insights", Some(2)),
    // Names and syntax.
    ("avg(m1)", "Unknown function 'avg'", Some(0)),
    ("m1 + FOO(m1)", "Unknown function FOO", Some(5)),
    ("m1 +", "unexpected end of expression", Some(4)),
    ("(m1 + m2", "expected ')'", Some(8)),
    ("m1 m2", "unexpected identifier 'm2'", Some(3)),
    ("m1 $ 2", "unexpected character '$'", Some(3)),
    ("m1 = 2", "unexpected character '='", Some(3)),
    ("2m1", "unexpected character 'm'", Some(1)),
    ("1..2", "unexpected number", Some(2)),
    ("", "empty", Some(0)),
    ("   ", "empty", Some(0)),
    ("[]", "empty array", Some(0)),
    ("SUM(m1,)", "unexpected ')'", Some(7)),
    ("\u{dc}ber + 1", "Invalid identifier", Some(0)),
    ("'abc", "unterminated string", Some(0)),
    ("ABS(m1, m2)", "takes 1 argument, got 2", Some(0)),
    (
        "m1 + SORT(METRICS())",
        "takes 3 to 4 arguments, got 1",
        Some(5),
    ),
    ("IF(m1)", "takes 2 to 3 arguments", Some(0)),
    // Evaluation errors.
    ("M1 + 1", "Unexpected keyword M1", Some(0)),
    ("m9 + 1", "Unknown id 'm9'", Some(0)),
    (
        "SORT(METRICS(), MEDIAN, DESC)",
        "AVG, MIN, MAX, SUM",
        Some(16),
    ),
    ("SORT(METRICS(), AVG, UP)", "ASC, DESC", Some(21)),
    (
        "SORT(METRICS(), AVG, ASC, -1)",
        "non-negative integer",
        Some(26),
    ),
    ("SLICE(METRICS(), 1.5)", "non-negative integer", Some(17)),
    ("FILL(m1, ZERO)", "REPEAT or LINEAR", Some(9)),
    ("FILL(m1, METRICS())", "array", Some(9)),
    (
        "FILL(5, 0)",
        "FILL (position 0) expects TS or TS[] but got S",
        Some(0),
    ),
    ("PERIOD(m1 * 2)", "only the id of a metric", Some(7)),
    ("PERIOD(e1)", "only the id of a metric", Some(7)),
    ("TIME_SERIES(m1)", "expects S but got TS", Some(0)),
    ("AVG(5)", "expects TS or TS[] but got S", Some(0)),
    ("DIFF(5)", "expects TS or TS[] but got S", Some(0)),
    ("MINUTE(5)", "expects TS but got S", Some(0)),
    ("METRIC_COUNT(5)", "expects TS[]", Some(0)),
    ("IF(METRICS(), 1, 0)", "condition", Some(0)),
    ("IF(m1, METRICS())", "branches", Some(7)),
    (
        "METRICS() + METRICS()",
        "cannot combine two arrays",
        Some(10),
    ),
    ("[m1, 5]", "found a scalar", Some(5)),
    ("METRICS(m1)", "string argument", Some(8)),
    ("\"abc\" + m1", "only valid in METRICS()", Some(0)),
];

#[test]
fn error_rows() {
    let fx = fixture(&[("m1", "1 2"), ("m2", "3 4")]);
    let mut failures = Vec::new();
    for (expr, fragment, position) in ROWS {
        let result = parse(expr).and_then(|e| e.evaluate_value(&fx.ctx()));
        match result {
            Ok(v) => failures.push(format!("{expr}: expected an error, got {v:?}")),
            Err(e) if !e.message.contains(fragment) || e.position != *position => {
                failures.push(format!(
                    "{expr}: expected `{fragment}` at {position:?}, got `{}` at {:?}",
                    e.message, e.position
                ))
            }
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}

#[test]
fn unsupported_functions_are_rejected_at_parse_time() {
    for name in [
        "ANOMALY_DETECTION_BAND",
        "SEARCH",
        "INSIGHT_RULE_METRIC",
        "SERVICE_QUOTA",
        "DB_PERF_INSIGHTS",
        "CONCAT",
        "LAMBDA",
    ] {
        let err = parse(&format!("FILL({name}(m1), 0)")).unwrap_err();
        assert_eq!(err.position, Some(5), "{name}");
        assert!(
            err.message.contains(name) && err.message.contains("not supported"),
            "{err:?}"
        );
    }
}

#[test]
fn messages_display_as_text() {
    let err = parse("m1 +").unwrap_err();
    assert_eq!(err.to_string(), err.message);
}
