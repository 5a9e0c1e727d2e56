//! Edge cases the AWS guide leaves implicit: missing points, division by zero and other
//! undefined points, precedence, labels, FILL variants, SORT/SLICE corners, calendar functions
//! on known timestamps, and the public API's small contracts.

mod common;

use std::collections::HashMap;

use common::{check_table, fixture, render, Row, PERIOD, T0};
use nephoscope_metricmath::{parse, EvalContext, MathValue, Series};

#[test]
fn undefined_points_are_dropped() {
    const ROWS: &[Row] = &[
        ("m1 / 0", &[("m1", "1 2 3")], "- - -"),
        ("m1 / m2", &[("m1", "1 2 0"), ("m2", "0 4 0")], "- 0.5 -"),
        ("m1 / m2", &[("m1", "1 - 3"), ("m2", "- 4 -")], "- 0 -"),
        ("m1 / m1", &[("m1", "0 2 -")], "- 1 -"),
        ("m1 ^ 0.5", &[("m1", "-4 4 0")], "- 2 0"),
        ("m1 ^ -1", &[("m1", "0 4")], "- 0.25"),
        ("m1 * 10", &[("m1", "1e308 1")], "- 10"),
        ("m1 - AVG(m2)", &[("m1", "1 2 3"), ("m2", "- - -")], "- - -"),
        ("TIME_SERIES(AVG(m1))", &[("m1", "- - -")], "- - -"),
        ("TIME_SERIES(1/0)", &[("m1", "1 2")], "- -"),
        (
            "IF(AVG(m1), m2, m2)",
            &[("m1", "- -"), ("m2", "1 2")],
            "- -",
        ),
        ("LOG(m1)", &[("m1", "0 -1 1")], "- - 0"),
        ("m1 > AVG(m2)", &[("m1", "1 2"), ("m2", "- -")], "- -"),
    ];
    check_table(ROWS);
}

#[test]
fn precedence_and_associativity() {
    const ROWS: &[Row] = &[
        ("1 + 2 * 3", &[], "S:7"),
        ("(1 + 2) * 3", &[], "S:9"),
        ("10 - 2 - 3", &[], "S:5"),
        ("8 / 4 / 2", &[], "S:1"),
        ("2 ^ 3 ^ 2", &[], "S:512"),
        ("-2 ^ 2", &[], "S:-4"),
        ("2 ^ -1", &[], "S:0.5"),
        ("--3", &[], "S:3"),
        ("+3 - -3", &[], "S:6"),
        ("1 + 1 == 2", &[], "S:1"),
        ("1 < 2 AND 2 < 1 OR 1", &[], "S:1"),
        ("0 OR 1 AND 0", &[], "S:0"),
        ("1.5e2 + .5", &[], "S:150.5"),
        ("((((m1))))", &[("m1", "1 2")], "1 2"),
    ];
    check_table(ROWS);
}

#[test]
fn array_combinations() {
    const ROWS: &[Row] = &[
        (
            "[a, b] - c",
            &[("a", "5 5"), ("b", "1 -"), ("c", "1 2")],
            "a=4 3; b=0 -2",
        ),
        (
            "c - [a, b]",
            &[("a", "5 5"), ("b", "1 -"), ("c", "1 2")],
            "a=-4 -3; b=0 2",
        ),
        (
            "100 / [a, b]",
            &[("a", "5 0"), ("b", "- 4")],
            "a=20 -; b=- 25",
        ),
        ("[a, b] > 2", &[("a", "5 0"), ("b", "- 4")], "a=1 0; b=- 1"),
        (
            "[METRICS(\"a\"), b]",
            &[("a", "1"), ("b", "2"), ("ab", "3")],
            "a=1; ab=3; b=2",
        ),
        (
            "METRIC_COUNT(REMOVE_EMPTY(METRICS()))",
            &[("a", "1"), ("b", "-"), ("c", "3")],
            "S:2",
        ),
        ("METRICS(\"zzz\")", &[("a", "1")], "[]"),
        ("SUM(METRICS(\"zzz\"))", &[("a", "1")], "-"),
        ("FIRST(REMOVE_EMPTY(METRICS()))", &[("a", "- -")], "- -"),
        ("DATAPOINT_COUNT(m1)", &[("m1", "- 1 - 2")], "S:2"),
        ("MAX([a, b])", &[("a", "-5 -"), ("b", "- -7")], "-5 -7"),
        ("MIN([a, b]) + 0", &[("a", "-5 1"), ("b", "- 7")], "-5 1"),
        ("AVG([a, b])", &[("a", "-5 1"), ("b", "- 7")], "-2.5 4"),
    ];
    check_table(ROWS);
}

#[test]
fn fill_variants() {
    const ROWS: &[Row] = &[
        ("FILL(m1, 0)", &[("m1", "- - -")], "0 0 0"),
        ("FILL(m1, -1.5)", &[("m1", "- 2 -")], "-1.5 2 -1.5"),
        ("FILL(m1, REPEAT)", &[("m1", "- - -")], "- - -"),
        ("FILL(m1, REPEAT)", &[("m1", "- 3 - 0 -")], "- 3 3 0 0"),
        (
            "FILL(m1, LINEAR)",
            &[("m1", "- 1 - - - 5 -")],
            "- 1 2 3 4 5 -",
        ),
        ("FILL(m1, LINEAR)", &[("m1", "4 - 2")], "4 3 2"),
        ("FILL(m1, LINEAR)", &[("m1", "7 - -")], "7 - -"),
        (
            "FILL(m1, m2)",
            &[("m1", "1 - - 4"), ("m2", "9 9 - 9")],
            "1 9 - 4",
        ),
        (
            "FILL(m1, AVG(m2))",
            &[("m1", "1 - 3"), ("m2", "- - -")],
            "1 - 3",
        ),
        ("FILL(m1, MAX(m1)) - m1", &[("m1", "1 - 3")], "0 3 0"),
        (
            "FILL([a, b], 0)",
            &[("a", "1 -"), ("b", "- -")],
            "a=1 0; b=0 0",
        ),
        (
            "FILL(METRICS(), REPEAT)",
            &[("a", "1 - 2 -"), ("b", "- 5 - -")],
            "a=1 1 2 2; b=- 5 5 5",
        ),
    ];
    check_table(ROWS);
}

#[test]
fn sort_and_slice_corners() {
    const IN: &[(&str, &str)] = &[("a", "- -"), ("b", "4 1"), ("c", "2 -"), ("d", "2 2")];
    const ROWS: &[Row] = &[
        (
            "SORT(METRICS(), AVG, ASC)",
            IN,
            "c=2 -; d=2 2; b=4 1; a=- -",
        ),
        (
            "SORT(METRICS(), AVG, DESC)",
            IN,
            "b=4 1; c=2 -; d=2 2; a=- -",
        ),
        (
            "SORT(METRICS(), SUM, DESC)",
            IN,
            "b=4 1; d=2 2; c=2 -; a=- -",
        ),
        (
            "SORT(METRICS(), MIN, ASC)",
            IN,
            "b=4 1; c=2 -; d=2 2; a=- -",
        ),
        ("SORT(METRICS(), MAX, DESC, 1)", IN, "b=4 1"),
        ("SORT(METRICS(), MAX, DESC, 0)", IN, "[]"),
        ("SLICE(METRICS(), 1, 1)", IN, "[]"),
        ("SLICE(METRICS(), 3, 1)", IN, "[]"),
        ("SLICE(METRICS(), 1, 3)", IN, "b=4 1; c=2 -"),
        ("SLICE(METRICS(), 3)", IN, "d=2 2"),
        ("SLICE(METRICS(), 0, 100)", IN, "a=- -; b=4 1; c=2 -; d=2 2"),
        ("FIRST(SLICE(SORT(METRICS(), SUM, ASC), 1))", IN, "2 2"),
        ("LAST(METRICS())", IN, "2 2"),
    ];
    check_table(ROWS);
}

#[test]
fn labels() {
    let fx = fixture(&[("m1", "1 2"), ("m2", "3 4")]);
    let label = |expr: &str| match fx.eval(expr).unwrap() {
        MathValue::Series(s) => s.label,
        other => panic!("{expr}: {other:?}"),
    };
    assert_eq!(label("m1 * 2"), "m1");
    assert_eq!(label("2 * m2"), "m2");
    assert_eq!(label("m2 + m1"), "m2");
    assert_eq!(label("ABS(m1)"), "m1");
    assert_eq!(label("FILL(m1, 0)"), "m1");
    assert_eq!(label("SUM([m1, m2])"), "");
    assert_eq!(label("TIME_SERIES(1)"), "");
    match fx.eval("m1 - [m2, m1]").unwrap() {
        MathValue::Array(a) => assert_eq!(
            a.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(),
            ["m2", "m1"]
        ),
        other => panic!("{other:?}"),
    }
}

/// A context on a custom grid; `m1` has one point at `start`.
fn calendar(expr: &str, start: i64, period: i64, n: i64) -> Vec<f64> {
    let mut values = HashMap::new();
    values.insert(
        "m1".to_string(),
        MathValue::Series(Series::new("m1", vec![start], vec![1.0])),
    );
    let ids = vec!["m1".to_string()];
    let ctx = EvalContext {
        values: &values,
        metric_ids: &ids,
        period,
        start,
        end: start + n * period,
    };
    match parse(expr).unwrap().evaluate(&ctx).unwrap() {
        MathValue::Series(s) => {
            assert!(s.timestamps.iter().all(|t| (t - start) % period == 0));
            s.values
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn calendar_functions_on_known_timestamps() {
    // 2024-01-01T00:00:00Z is a Monday; a week of daily points runs Monday..Sunday.
    assert_eq!(
        calendar("DAY(m1)", T0, 86_400, 7),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    );
    assert_eq!(calendar("DATE(m1)", T0, 86_400, 3), [1.0, 2.0, 3.0]);
    assert_eq!(
        calendar("IF(DAY(m1) < 6, DATE(m1))", T0, 86_400, 8),
        [1.0, 2.0, 3.0, 4.0, 5.0, 8.0]
    );
    assert_eq!(
        calendar("HOUR(m1)", T0 - 2 * 3600, 3600, 4),
        [22.0, 23.0, 0.0, 1.0]
    );
    assert_eq!(
        calendar("DATE(m1)", T0 - 2 * 3600, 3600, 4),
        [31.0, 31.0, 1.0, 1.0]
    );
    assert_eq!(
        calendar("MONTH(m1)", T0 - 2 * 3600, 3600, 4),
        [12.0, 12.0, 1.0, 1.0]
    );
    assert_eq!(
        calendar("YEAR(m1)", T0 - 2 * 3600, 3600, 4),
        [2023.0, 2023.0, 2024.0, 2024.0]
    );
    assert_eq!(
        calendar("MINUTE(m1)", T0 - 120, 60, 4),
        [58.0, 59.0, 0.0, 1.0]
    );
    assert_eq!(
        calendar("EPOCH(m1)", T0, 300, 2),
        [T0 as f64, (T0 + 300) as f64]
    );
    // 2024-02-29 (leap day) and April, for IF(MONTH(m1) == 4, m1).
    assert_eq!(calendar("DATE(m1)", 1_709_164_800, 86_400, 2), [29.0, 1.0]);
    assert_eq!(
        calendar("IF(MONTH(m1) == 4, MONTH(m1))", 1_711_843_200, 86_400, 3),
        [4.0, 4.0]
    );
}

#[test]
fn inputs_are_sanitised() {
    let mut values = HashMap::new();
    let raw = Series::new(
        "m1",
        vec![T0 + 120, T0, T0 + 60, T0],
        vec![3.0, 1.0, f64::NAN, 9.0],
    );
    values.insert("m1".to_string(), MathValue::Series(raw));
    let ids = vec!["m1".to_string()];
    let ctx = EvalContext {
        values: &values,
        metric_ids: &ids,
        period: PERIOD,
        start: T0,
        end: T0 + 180,
    };
    let got = parse("m1 + 0").unwrap().evaluate(&ctx).unwrap();
    assert_eq!(render(&got, 3), "1 - 3");
}

#[test]
fn referenced_arrays_and_scalars() {
    let mut values = HashMap::new();
    values.insert(
        "e1".to_string(),
        MathValue::Array(vec![common::series("x", "1 2"), common::series("y", "3 -")]),
    );
    values.insert("e2".to_string(), MathValue::Scalar(10.0));
    let ctx = EvalContext {
        values: &values,
        metric_ids: &[],
        period: PERIOD,
        start: T0,
        end: T0 + 120,
    };
    let got = parse("e1 * e2").unwrap().evaluate(&ctx).unwrap();
    assert_eq!(render(&got, 2), "x=10 20; y=30 -");
    assert_eq!(
        render(&parse("METRICS()").unwrap().evaluate(&ctx).unwrap(), 2),
        "[]"
    );
}

#[test]
fn references_and_metrics_flag() {
    let e = parse("(schedulingDelay / totalDelay) * 100 + schedulingDelay").unwrap();
    assert_eq!(e.references(), ["schedulingDelay", "totalDelay"]);
    assert!(!e.uses_metrics_function());
    let e = parse("SUM(METRICS(\"errors\")) / e2 + FILL(m1, REPEAT)").unwrap();
    assert_eq!(e.references(), ["e2", "m1"]);
    assert!(e.uses_metrics_function());
    assert_eq!(e.text(), "SUM(METRICS(\"errors\")) / e2 + FILL(m1, REPEAT)");
    assert!(parse("TIME_SERIES(1)").unwrap().references().is_empty());
}

#[test]
fn final_result_must_be_a_series() {
    let fx = fixture(&[("m1", "1 2")]);
    for expr in ["AVG(m1)", "5", "PERIOD(m1)"] {
        let err = parse(expr).unwrap().evaluate(&fx.ctx()).unwrap_err();
        assert!(
            err.message.contains("must be a time series"),
            "{expr}: {err:?}"
        );
    }
    let err = fx.eval("1/0").unwrap_err();
    assert!(err.message.contains("no scalar value"), "{err:?}");
    assert!(matches!(
        parse("m1 * 2").unwrap().evaluate(&fx.ctx()),
        Ok(MathValue::Series(_))
    ));
    assert!(matches!(
        parse("METRICS()").unwrap().evaluate(&fx.ctx()),
        Ok(MathValue::Array(_))
    ));
}

#[test]
fn function_lists() {
    let supported: Vec<_> = nephoscope_metricmath::supported_functions().collect();
    assert_eq!(supported.len(), 33);
    assert!(supported.windows(2).all(|w| w[0] < w[1]), "{supported:?}");
    for name in nephoscope_metricmath::UNSUPPORTED_FUNCTIONS {
        assert!(!supported.contains(name));
    }
}
