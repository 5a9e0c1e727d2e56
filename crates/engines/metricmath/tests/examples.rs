//! Every example from the AWS guide's "Metric math syntax and functions" and "Using IF
//! expressions" sections, as data-driven rows: (expression, inputs, expected rendering).

mod common;

use common::check_table;

type Row = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn arithmetic_examples() {
    const ROWS: &[Row] = &[
        ("PERIOD(m1)/60", &[("m1", "1 2")], "S:1"),
        ("5 * m1", &[("m1", "1 2 - 4")], "5 10 - 20"),
        (
            "m1 - m2",
            &[("m1", "1 2 - 4"), ("m2", "3 - 5 6")],
            "-2 2 -5 -2",
        ),
        (
            "SUM(100/[m1, m2])",
            &[("m1", "1 2 - 4"), ("m2", "4 - 5 10")],
            "125 50 20 35",
        ),
        (
            "AVG([m1,m2]/m3)",
            &[("m1", "2 4"), ("m2", "6 8"), ("m3", "2 4")],
            "2 1.5",
        ),
        (
            "AVG([m1,m2]/m3)",
            &[("m1", "2 4"), ("m2", "6 8"), ("m3", "2 0")],
            "2 -",
        ),
        (
            "METRICS()*100",
            &[("m1", "1 2"), ("m2", "3 -")],
            "m1=100 200; m2=300 -",
        ),
        ("-5*m1", &[("m1", "1 -2")], "-5 10"),
        ("-m1", &[("m1", "1 -2")], "-1 2"),
        ("SUM(-[m1, m2])", &[("m1", "1 2"), ("m2", "3 -")], "-4 -2"),
        ("m1+m2", &[("m1", "1 2 -"), ("m2", "3 - -")], "4 2 -"),
        ("e1-MIN(e1)", &[("e1", "3 5 4")], "0 2 1"),
        (
            "(schedulingDelay / totalDelay) * 100",
            &[("schedulingDelay", "1 2 3"), ("totalDelay", "4 0 6")],
            "25 - 50",
        ),
    ];
    check_table(ROWS);
}

#[test]
fn comparison_and_logical_examples() {
    const IN: &[(&str, &str)] = &[("metric1", "30 20 0 0"), ("metric2", "20 - 20 -")];
    const ROWS: &[Row] = &[
        ("(metric1 < metric2)", IN, "0 0 1 0"),
        ("(metric1 >= 30)", IN, "1 0 0 0"),
        ("(metric1 > 15 AND metric2 > 15)", IN, "1 0 0 0"),
        ("metric1 > 15 && metric2 > 15", IN, "1 0 0 0"),
        ("metric1 > 15 OR metric2 > 15", IN, "1 1 1 0"),
        ("metric1 > 15 || metric2 > 15", IN, "1 1 1 0"),
        ("metric1 == metric2", IN, "0 0 0 1"),
        ("metric1 != 20", IN, "1 0 1 1"),
        ("metric1 <= 20", IN, "0 1 1 1"),
        ("2 > 1", &[], "S:1"),
        ("2 < 1", &[], "S:0"),
    ];
    check_table(ROWS);
}

#[test]
fn function_table_examples() {
    const ROWS: &[Row] = &[
        ("ABS(m1-m2)", &[("m1", "1 5"), ("m2", "4 2")], "3 3"),
        (
            "MIN(ABS([m1, m2]))",
            &[("m1", "-1 5"), ("m2", "4 -2")],
            "1 2",
        ),
        ("ABS(METRICS())", &[("m1", "-1 2")], "m1=1 2"),
        (
            "SUM([m1,m2])/AVG(m2)",
            &[("m1", "1 2"), ("m2", "3 5")],
            "1 1.75",
        ),
        (
            "AVG(METRICS())",
            &[("m1", "1 2 -"), ("m2", "3 - 6")],
            "2 1 3",
        ),
        ("CEIL(m1)", &[("m1", "1.2 -1.5")], "2 -1"),
        ("CEIL(METRICS())", &[("m1", "1.2 -1.5")], "m1=2 -1"),
        (
            "SUM(CEIL(METRICS()))",
            &[("m1", "1.2 2"), ("m2", "0.1 -")],
            "3 2",
        ),
        ("SUM(m1) / DATAPOINT_COUNT(m1)", &[("m1", "2 - 4")], "S:3"),
        (
            "DATAPOINT_COUNT(METRICS())",
            &[("m1", "1 - 3"), ("m2", "1 2 -")],
            "2 1 1",
        ),
        ("DIFF(m1)", &[("m1", "1 4 - 10")], "- 3 - 6"),
        (
            "DIFF_TIME(METRICS())",
            &[("m1", "1 4 - 10"), ("m2", "5 5 5 5")],
            "m1=- 60 - 120; m2=- 60 60 60",
        ),
        ("FILL(m1,10)", &[("m1", "1 - 3 -")], "1 10 3 10"),
        (
            "FILL(METRICS(), 0)",
            &[("m1", "1 -"), ("m2", "- 2")],
            "m1=1 0; m2=0 2",
        ),
        (
            "FILL(METRICS(), m1)",
            &[("m1", "1 2 - 4"), ("m2", "- 7 - 8")],
            "m1=1 2 - 4; m2=1 7 - 8",
        ),
        ("FILL(m1, MIN(m1))", &[("m1", "5 - 2 -")], "5 2 2 2"),
        ("FILL(m1, REPEAT)", &[("m1", "- 1 - - 4 -")], "- 1 1 1 4 4"),
        (
            "FILL(METRICS(), LINEAR)",
            &[("m1", "- 1 - - 4 -"), ("m2", "0 - 10 - - -")],
            "m1=- 1 2 3 4 -; m2=0 5 10 - - -",
        ),
        (
            "IF(FIRST(SORT(METRICS(), AVG, DESC))>100, 1, 0)",
            &[("m1", "50 50"), ("m2", "150 90")],
            "1 0",
        ),
        (
            "LAST(SORT(METRICS(), AVG, DESC))",
            &[("m1", "50 50"), ("m2", "150 90")],
            "50 50",
        ),
        ("FLOOR(m1)", &[("m1", "1.7 -1.2")], "1 -2"),
        ("FLOOR(METRICS())", &[("m1", "1.7 -1.2")], "m1=1 -2"),
        (
            "LOG(METRICS())",
            &[("m1", "1 0 -1 2.718281828459045")],
            "m1=0 - - 1",
        ),
        ("LOG10(m1)", &[("m1", "100 0.001")], "2 -3"),
        ("MAX(m1)/m1", &[("m1", "2 4 8")], "4 2 1"),
        ("MAX(METRICS())", &[("m1", "1 5"), ("m2", "3 -")], "3 5"),
        (
            "m1/METRIC_COUNT(METRICS())",
            &[("m1", "2 4"), ("m2", "1 1")],
            "1 2",
        ),
        (
            "SUM(METRICS(\"errors\"))",
            &[
                ("errors4xx", "1 2"),
                ("requests", "10 10"),
                ("errors5xx", "3 -"),
            ],
            "4 2",
        ),
        (
            "SUM([METRICS(\"4xx\"), METRICS(\"5xx\")])",
            &[
                ("errors4xx", "1 2"),
                ("other", "10 10"),
                ("errors5xx", "3 -"),
            ],
            "4 2",
        ),
        (
            "SUM([METRICS(\u{201c}4xx\u{201d}), METRICS(\u{201c}5xx\u{201d})])",
            &[
                ("errors4xx", "1 2"),
                ("other", "10 10"),
                ("errors5xx", "3 -"),
            ],
            "4 2",
        ),
        ("m1-MIN(m1)", &[("m1", "3 5 4")], "0 2 1"),
        ("MIN(METRICS())", &[("m1", "1 5"), ("m2", "3 -")], "1 5"),
        ("MINUTE(m1)", &[("m1", "1 - 3")], "0 1 2"),
        ("m1/PERIOD(m1)", &[("m1", "60 120")], "1 2"),
        ("RATE(m1)", &[("m1", "0 60 - 240")], "- 1 - 1.5"),
        (
            "RATE(METRICS())",
            &[("m1", "0 60"), ("m2", "120 0")],
            "m1=- 1; m2=- -2",
        ),
        (
            "REMOVE_EMPTY(METRICS())",
            &[("m1", "1 2"), ("m2", "- -")],
            "m1=1 2",
        ),
        (
            "RUNNING_SUM([m1,m2])",
            &[("m1", "1 2 - 3"), ("m2", "- 1 1 1")],
            "m1=1 3 - 6; m2=- 1 2 3",
        ),
        (
            "SLICE(SORT(METRICS(), SUM, DESC), 0, 10)",
            &[("a", "1"), ("b", "3"), ("c", "2")],
            "b=3; c=2; a=1",
        ),
        (
            "SLICE(SORT(METRICS(), AVG, ASC), 5)",
            &[("a", "1"), ("b", "3"), ("c", "2")],
            "[]",
        ),
        (
            "SLICE(SORT(METRICS(), AVG, ASC), 1)",
            &[("a", "1"), ("b", "3"), ("c", "2")],
            "c=2; b=3",
        ),
        (
            "SORT(METRICS(), AVG, DESC, 10)",
            &[("a", "1 5"), ("b", "3 3"), ("c", "2 -")],
            "a=1 5; b=3 3; c=2 -",
        ),
        (
            "SORT(METRICS(), AVG, DESC, 2)",
            &[("a", "1 5"), ("b", "3 3"), ("c", "2 -")],
            "a=1 5; b=3 3",
        ),
        (
            "SORT(METRICS(), MAX, ASC)",
            &[("a", "1 5"), ("b", "3 3"), ("c", "2 -")],
            "c=2 -; b=3 3; a=1 5",
        ),
        (
            "m1/STDDEV(m1)",
            &[("m1", "2 4 4 4 5 5 7 9")],
            "1 2 2 2 2.5 2.5 3.5 4.5",
        ),
        ("STDDEV(METRICS())", &[("m1", "1 2"), ("m2", "3 -")], "1 0"),
        (
            "SUM(METRICS())/SUM(m1)",
            &[("m1", "1 3"), ("m2", "2 2")],
            "0.75 1.25",
        ),
        ("SUM([m1,m2])", &[("m1", "1 3"), ("m2", "2 -")], "3 3"),
        (
            "SUM(METRICS(\"errors\"))/SUM(METRICS(\"requests\"))*100",
            &[
                ("errors1", "1 2"),
                ("requests1", "10 20"),
                ("errors2", "1 -"),
                ("requests2", "10 20"),
            ],
            "10 5",
        ),
        ("TIME_SERIES(MAX(m1))", &[("m1", "1 - 3")], "3 3 3"),
        ("TIME_SERIES(5*AVG(m1))", &[("m1", "1 - 3")], "10 10 10"),
        ("TIME_SERIES(10)", &[], "10 10 10 10 10"),
    ];
    check_table(ROWS);
}

#[test]
fn if_examples() {
    const IN: &[(&str, &str)] = &[
        ("metric1", "1 1 0 0 -"),
        ("metric2", "30 - 0 0 30"),
        ("metric3", "0 0 20 - 20"),
    ];
    const ROWS: &[Row] = &[
        ("IF(metric1, metric2, metric3)", IN, "30 0 20 - -"),
        ("IF(metric1, 5, metric3)", IN, "5 5 20 - -"),
        ("IF(metric1, metric2, 5)", IN, "30 0 5 5 -"),
        ("IF(metric1, metric2)", IN, "30 0 - - -"),
        ("IF(metric1, 5, 7)", IN, "5 5 7 7 -"),
        ("IF(1, metric2, metric3)", IN, "30 - 0 0 30"),
        ("IF(0, metric2, metric3)", IN, "0 0 20 - 20"),
        ("IF(0, metric2)", IN, "- - - - -"),
        ("IF(metric2 > 10, metric2, metric3)", IN, "30 - 20 - 30"),
        (
            "IF(metric1<400, metric1)",
            &[("metric1", "100 500 300")],
            "100 - 300",
        ),
        (
            "IF(metric1<400, 10, 2)",
            &[("metric1", "100 500 300")],
            "10 2 10",
        ),
        (
            "IF(latency>threshold, 1, 0)",
            &[("latency", "5 10 15"), ("threshold", "10 10 10")],
            "0 0 1",
        ),
        ("IF(MONTH(m1) == 4, m1)", &[("m1", "1 2 3")], "- - -"),
        ("IF(MONTH(m1) == 1, m1)", &[("m1", "1 2 3")], "1 2 3"),
        ("IF(DAY(m1) < 6, m1)", &[("m1", "1 2 3")], "1 2 3"),
    ];
    check_table(ROWS);
}
