//! `pattern`, `diff`, `filterIndex` and `unmask`: (query, input, expected rows) tables.
mod common;
use common::*;
use nephoscope_insights::{parse, QueryContext};

const H: i64 = 3_600_000;

fn app_log() -> Vec<Ev> {
    evs(&[
        (T0, "2023-11-14 22:13:20 [INFO] Request time: 327 ms"),
        (T0 + 1, "2023-11-14 22:13:21 [INFO] Request time: 12 ms"),
        (T0 + 2, "2023-11-14 22:13:22 [INFO] Request time: 5 ms"),
        (
            T0 + 3,
            "2023-11-14 22:13:23 [ERROR] Failed to do: connect to 10.0.0.7:5432",
        ),
        (
            T0 + 4,
            "2023-11-14 22:13:24 [ERROR] Failed to do: connect to 10.0.0.8:5432",
        ),
        (
            T0 + 5,
            "2023-11-14 22:13:25 [WARN] Cache miss for user alice",
        ),
        (T0 + 6, "plain line without numbers"),
        (
            T0 + 7,
            r#"{"level":"debug","requestId":"3f2b8c1e-0d4a-4b8e-9f3c-2a1b0c9d8e7f","ms":4}"#,
        ),
    ])
}

#[test]
fn pattern_table() {
    let e = app_log();
    let cases: &[(&str, &[&str])] = &[
        (
            "pattern @message",
            &[
                "@pattern=<*> [INFO] Request time: <*> ms; @ratio=0.375; @sampleCount=3; @severityLabel=Info",
                "@pattern=<*> [ERROR] Failed to do: connect to <*>:<*>; @ratio=0.25; @sampleCount=2; @severityLabel=Error",
                "@pattern=<*> [WARN] Cache miss for user alice; @ratio=0.125; @sampleCount=1; @severityLabel=Warning",
                "@pattern=plain line without numbers; @ratio=0.125; @sampleCount=1",
                r#"@pattern={"level":"debug","requestId":"<*>","ms":<*>}; @ratio=0.125; @sampleCount=1; @severityLabel=Debug"#,
            ],
        ),
        (
            // The documented combinations: filter, parse and sort around pattern.
            "filter @message like /ERROR/ | parse @message 'Failed to do: *' as cause | pattern cause | sort @sampleCount asc",
            &["@pattern=connect to <*>:<*>; @ratio=1; @sampleCount=2"],
        ),
        (
            "filter @message like /INFO|WARN/ | pattern @message | sort @sampleCount asc | limit 1",
            &["@pattern=<*> [WARN] Cache miss for user alice; @ratio=0.25; @sampleCount=1; @severityLabel=Warning"],
        ),
        (
            // Records without the field take no part (ratios are of the records that have it).
            "parse @message 'Request time: * ms' as t | pattern t",
            &["@pattern=<*>; @ratio=1; @sampleCount=3"],
        ),
        (
            // A string function as input; later commands see the pattern rows.
            "pattern toUpper(@message) | filter @sampleCount > 1 | display @pattern, @sampleCount",
            &[
                "@pattern=<*> [INFO] REQUEST TIME: <*> MS; @sampleCount=3",
                "@pattern=<*> [ERROR] FAILED TO DO: CONNECT TO <*>:<*>; @sampleCount=2",
            ],
        ),
        (
            "pattern @message | stats sum(@sampleCount) as n, count(*) as patterns",
            &["n=8; patterns=5"],
        ),
        (
            // pattern after stats clusters the aggregated rows (`level` of the JSON line is a
            // discovered field; the group without a level has no value and takes no part).
            "parse @message '[*]' as level | stats count(*) as n by level | pattern level",
            &[
                "@pattern=ERROR; @ratio=0.25; @sampleCount=1; @severityLabel=Error",
                "@pattern=INFO; @ratio=0.25; @sampleCount=1; @severityLabel=Info",
                "@pattern=WARN; @ratio=0.25; @sampleCount=1; @severityLabel=Warning",
                "@pattern=debug; @ratio=0.25; @sampleCount=1; @severityLabel=Debug",
            ],
        ),
        ("filter @message like /nothing matches/ | pattern @message", &[]),
    ];
    for (q, want) in cases {
        check(q, &e, want);
    }
}

fn run_in(q: &str, events: &[Ev], start_ms: i64, end_ms: i64) -> Vec<String> {
    let query = parse(q).unwrap_or_else(|e| panic!("parse {q:?}: {e:?}"));
    let ctx = QueryContext {
        start_ms,
        end_ms,
        now_ms: end_ms,
        limit: 10_000,
    };
    let mut ex = query.start(ctx);
    for e in events {
        ex.push(&rec(e));
    }
    show(&ex.rows())
}

#[test]
fn diff_table() {
    // Query hour [T0, T0 + 1h); the previous hour, the previous day and the previous week.
    let e = evs(&[
        (T0 - 7 * 24 * H, "week-old ERROR boom 1"),
        (T0 - 24 * H + 5, "day-old ERROR boom 2"),
        (T0 - H, "request 1 served"),
        (T0 - H + 10, "request 2 served"),
        (T0 - 10, "cache evicted 3 keys"),
        (T0, "request 3 served"),
        (T0 + 5, "ERROR disk full on /dev/sda1"),
        (T0 + H - 1, "request 4 served"),
        (T0 + H, "outside: next hour 1"),
    ]);
    let (s, end) = (T0, T0 + H - 1);
    let cases: &[(&str, &[&str])] = &[
        (
            "pattern @message | diff",
            &[
                "@pattern=request <*> served; @ratio=0.6666666666666666; @sampleCount=2; @previousSampleCount=2; @diffRatio=0; @changeType=Unchanged",
                "@pattern=ERROR disk full on /dev/<*>; @ratio=0.3333333333333333; @sampleCount=1; @previousSampleCount=0; @changeType=New; @severityLabel=Error",
                "@pattern=cache evicted <*> keys; @ratio=0; @sampleCount=0; @previousSampleCount=1; @diffRatio=-1; @changeType=Removed",
            ],
        ),
        (
            "filter @message like /request/ | pattern @message | diff | display @pattern, @changeType",
            &["@pattern=request <*> served; @changeType=Unchanged"],
        ),
        (
            "pattern @message | diff previousDay | filter @changeType != 'New'",
            &["@pattern=day-old ERROR boom <*>; @ratio=0; @sampleCount=0; @previousSampleCount=1; @diffRatio=-1; @changeType=Removed; @severityLabel=Error"],
        ),
        (
            "pattern @message | diff previousWeek | sort @previousSampleCount desc | limit 1",
            &["@pattern=week-old ERROR boom <*>; @ratio=0; @sampleCount=0; @previousSampleCount=1; @diffRatio=-1; @changeType=Removed; @severityLabel=Error"],
        ),
        // `logcompare timeshift d` is `pattern @message | diff` against the period d earlier.
        (
            "logcompare timeshift 1d | filter @changeType = 'Removed'",
            &["@pattern=day-old ERROR boom <*>; @ratio=0; @sampleCount=0; @previousSampleCount=1; @diffRatio=-1; @changeType=Removed; @severityLabel=Error"],
        ),
        (
            "filter @message like /request/ | logcompare timeshift 60m",
            &["@pattern=request <*> served; @ratio=1; @sampleCount=2; @previousSampleCount=2; @diffRatio=0; @changeType=Unchanged"],
        ),
        (
            "logcompare timeshift 1w | sort @previousSampleCount desc | limit 1 | display @pattern, @changeType",
            &["@pattern=week-old ERROR boom <*>; @changeType=Removed"],
        ),
        (
            // Without diff the comparison period is not read at all.
            "pattern @message",
            &[
                "@pattern=request <*> served; @ratio=0.6666666666666666; @sampleCount=2",
                "@pattern=ERROR disk full on /dev/<*>; @ratio=0.3333333333333333; @sampleCount=1; @severityLabel=Error",
            ],
        ),
    ];
    for (q, want) in cases {
        let got = run_in(q, &e, s, end);
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "query: {q}");
    }
}

#[test]
fn diff_scan_ranges() {
    let ctx = |s: i64, e: i64| QueryContext {
        start_ms: s,
        end_ms: e,
        now_ms: e,
        limit: 10_000,
    };
    type Range = (i64, i64);
    let cases: &[(&str, Range, &[Range])] = &[
        ("pattern @message", (T0, T0 + H - 1), &[(T0, T0 + H - 1)]),
        // The previous period touches the query's: one range.
        (
            "pattern @message | diff",
            (T0, T0 + H - 1),
            &[(T0 - H, T0 + H - 1)],
        ),
        (
            "pattern @message | diff previousDay",
            (T0, T0 + H - 1),
            &[(T0 - 24 * H, T0 - 23 * H - 1), (T0, T0 + H - 1)],
        ),
        // A two-day query compared with the previous day overlaps it: one range.
        (
            "pattern @message | diff previousDay",
            (T0, T0 + 48 * H - 1),
            &[(T0 - 24 * H, T0 + 48 * H - 1)],
        ),
        (
            "pattern @message | diff previousWeek",
            (T0, T0 + H - 1),
            &[(T0 - 168 * H, T0 - 167 * H - 1), (T0, T0 + H - 1)],
        ),
        (
            "logcompare timeshift 7d",
            (T0, T0 + H - 1),
            &[(T0 - 168 * H, T0 - 167 * H - 1), (T0, T0 + H - 1)],
        ),
        (
            "filter @message like /x/ | logcompare timeshift 30m",
            (T0, T0 + H - 1),
            &[(T0 - H / 2, T0 + H - 1)],
        ),
    ];
    for (q, (s, e), want) in cases {
        let query = parse(q).unwrap();
        assert_eq!(query.scan_ranges(&ctx(*s, *e)), want.to_vec(), "{q}");
    }
}

#[test]
fn diff_counts_overlapping_records_in_both_periods() {
    // previousDay over a two-day range: the middle day is in both periods.
    let e = evs(&[
        (T0 - 12 * H, "a 1"),
        (T0 + 12 * H, "a 2"),
        (T0 + 36 * H, "a 3"),
    ]);
    let got = run_in(
        "pattern @message | diff previousDay",
        &e,
        T0,
        T0 + 48 * H - 1,
    );
    assert_eq!(
        got,
        vec!["@pattern=a <*>; @ratio=1; @sampleCount=2; @previousSampleCount=2; @diffRatio=0; @changeType=Unchanged"]
    );
}

#[test]
fn filter_index_equals_filter() {
    let e = evs(&[
        (T0, r#"{"IPaddress":"198.51.100.0","code":500}"#),
        (T0 + 1, r#"{"IPaddress":"198.51.100.1","code":200}"#),
        (T0 + 2, r#"{"IPaddress":"198.51.100.2","code":"500"}"#),
        (T0 + 3, "no fields"),
    ]);
    let pairs = [
        ("IPaddress = \"198.51.100.0\"", &["@ptr=p0"][..]),
        (
            "IPaddress in [\"198.51.100.0\", \"198.51.100.1\"]",
            &["@ptr=p1", "@ptr=p0"][..],
        ),
        ("code = 500", &["@ptr=p2", "@ptr=p0"][..]),
        ("code in [200]", &["@ptr=p1"][..]),
        ("missing = 'x'", &[][..]),
    ];
    for (cond, want) in pairs {
        let with_index = format!("fields @timestamp | filterIndex {cond} | display @ptr");
        let with_filter = format!("fields @timestamp | filter {cond} | display @ptr");
        check(&with_index, &e, want);
        assert_eq!(
            run(&with_index, &e),
            run(&with_filter, &e),
            "filterIndex {cond}"
        );
    }
}

#[test]
fn unmask_returns_the_value() {
    let e = evs(&[(T0, r#"{"email":"a@example.com"}"#)]);
    check(
        "fields unmask(@message) as m, unmask(email) as em, unmask(nope) as n | display m, em, n",
        &e,
        &[r#"m={"email":"a@example.com"}; em=a@example.com; @ptr=p0"#],
    );
    check(
        "fields @timestamp, @message, unmask(@message) | display unmask(@message)",
        &e,
        &[r#"unmask(@message)={"email":"a@example.com"}; @ptr=p0"#],
    );
}

/// `pattern | anomaly`: the range's last tenth against the nine before, one anomaly per
/// pattern by the rules `pattern.rs` documents.
#[test]
fn anomaly_table() {
    // Ten one-hour tenths over [T0, T0 + 10h).
    let mut lines: Vec<(i64, String)> = Vec::new();
    let mut id = 0;
    for b in 0..10 {
        let at = |k: i64| T0 + b * H + k * 60_000;
        for k in 0..3 {
            let ms = if b == 9 { 500 } else { 10 + (k % 3) };
            lines.push((at(k), format!("request {id} served in {ms} ms")));
            id += 1;
            let status = if b == 9 {
                [500, 503, 200][k as usize]
            } else {
                200
            };
            lines.push((at(k) + 1, format!("GET /api {status}")));
        }
        if b == 9 {
            lines.push((at(4) + 2, "GET /api 502".into()));
        }
        let misses = if b == 9 { 12 } else { 1 };
        for k in 0..misses {
            lines.push((at(k) + 3, "cache miss".into()));
        }
        lines.push((at(5), "heartbeat ok".into()));
        if b < 9 {
            lines.push((at(6), format!("shard {} ready", 1 + b % 2)));
            lines.push((at(7), format!("shard {} ready", 1 + (b + 1) % 2)));
        } else {
            lines.push((at(6), "shard 7 ready".into()));
            lines.push((at(8), "ERROR disk full".into()));
            lines.push((at(9), "ERROR disk full".into()));
        }
    }
    let e = evs(&lines
        .iter()
        .map(|(t, m)| (*t, m.as_str()))
        .collect::<Vec<_>>());
    let got = run_in(
        "pattern @message | anomaly | filter ispresent(@anomalyType) | display @pattern, @anomalyType, @anomalyPriority, @anomalyDescription",
        &e,
        T0,
        T0 + 10 * H - 1,
    );
    assert_eq!(
        got,
        [
            "@pattern=GET /api <*>; @anomalyType=HttpErrorCode; @anomalyPriority=HIGH; @anomalyDescription=HTTP error statuses in token 1: 75% of the last tenth's values, 0% before",
            "@pattern=request <*> served in <*> ms; @anomalyType=NumericalToken; @anomalyPriority=MEDIUM; @anomalyDescription=token 2 averaged 500 in the last tenth of the time range, 11 (deviation 0.832) before",
            "@pattern=cache miss; @anomalyType=PatternFrequency; @anomalyPriority=MEDIUM; @anomalyDescription=frequency rose: 12 events in the last tenth of the time range, 1 per tenth before",
            "@pattern=shard <*> ready; @anomalyType=TokenVariation; @anomalyPriority=LOW; @anomalyDescription=token 1 took a value not seen before: 7",
            "@pattern=ERROR disk full; @anomalyType=NewPattern; @anomalyPriority=HIGH; @anomalyDescription=new pattern: 2 events in the last tenth of the time range, none before",
        ]
    );
    // Every pattern stays, the steady one without anomaly fields.
    let all = run_in(
        "pattern @message | anomaly | filter @pattern = 'heartbeat ok'",
        &e,
        T0,
        T0 + 10 * H - 1,
    );
    assert_eq!(
        all,
        ["@pattern=heartbeat ok; @ratio=0.08849557522123894; @sampleCount=10"]
    );
}
