//! The later additions to the language, as AWS documents them: parse logfmt / csv / multi-match,
//! `limit any`, subqueries (`filter f in (SOURCE '…' | …)`) and `join`. Tables of
//! query → expected rows.
mod common;
use common::*;

#[test]
fn parse_logfmt_csv_and_multi_doc_examples() {
    let lf = evs(&[
        (
            T0,
            r#"level=error msg="connection failed" duration=42 host=web-1"#,
        ),
        (T0 + 1, "level=info msg=started duration=1 host=web-2"),
        (T0 + 2, "level=error msg=again duration=7 host=web-1"),
        (T0 + 3, "not logfmt at all"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            r#"parse @message logfmt as lf | filter lf.level = "error" | display lf.msg, lf.duration | sort @timestamp asc"#,
            &[
                "lf.msg=connection failed; lf.duration=42; @ptr=p0",
                "lf.msg=again; lf.duration=7; @ptr=p2",
            ],
        ),
        (
            "parse @message logfmt as lf | stats count(*) by lf.host",
            &[
                "lf.host=web-1; count(*)=2",
                "lf.host=web-2; count(*)=1",
                "count(*)=1",
            ],
        ),
        // The field may be left out (@message), and the map renders as JSON.
        (
            "parse logfmt as m | filter ispresent(m) | fields m | sort @timestamp asc | limit 1",
            &[
                r#"m={"level":"error","msg":"connection failed","duration":"42","host":"web-1"}; @ptr=p0"#,
            ],
        ),
    ];
    for (q, want) in cases {
        check(q, &lf, want);
    }

    let csv = evs(&[
        (T0, "2024-01-01,ERROR,disk full"),
        (T0 + 1, "2024-01-02,INFO,started"),
        (T0 + 2, r#"2024-01-03,ERROR,"quoted, with comma""#),
        (T0 + 3, "only"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            r#"parse @message csv as timestamp, level, message | filter level = "ERROR" | display timestamp, message | sort @timestamp asc"#,
            &[
                "timestamp=2024-01-01; message=disk full; @ptr=p0",
                "timestamp=2024-01-03; message=quoted, with comma; @ptr=p2",
            ],
        ),
        // Fewer values than names: the missing ones stay unset.
        (
            "parse csv as a, b, c | filter a = 'only' | display a, b, c",
            &["a=only; @ptr=p3"],
        ),
    ];
    for (q, want) in cases {
        check(q, &csv, want);
    }

    let ips = evs(&[
        (T0, "from 10.0.0.1 to 10.0.0.2 via 10.0.0.1"),
        (T0 + 1, "from 192.168.1.9"),
        (T0 + 2, "no address"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        // The documented example names an unnamed group with `as`.
        (
            r"parse @message /(\d+\.\d+\.\d+\.\d+)/ as ip_addr multi | stats count(*) by ip_addr",
            &[
                "ip_addr=10.0.0.1; count(*)=2",
                "ip_addr=10.0.0.2; count(*)=1",
                "ip_addr=192.168.1.9; count(*)=1",
                "count(*)=1",
            ],
        ),
        (
            r"parse @message /(?<ip>\d+\.\d+\.\d+\.\d+)/ multi | filter ispresent(ip) | display ip | sort ip asc",
            &[
                "ip=10.0.0.1; @ptr=p0",
                "ip=10.0.0.1; @ptr=p0",
                "ip=10.0.0.2; @ptr=p0",
                "ip=192.168.1.9; @ptr=p1",
            ],
        ),
        // Without `multi` only the first match counts.
        (
            r"parse @message /(?<ip>\d+\.\d+\.\d+\.\d+)/ | filter ispresent(ip) | display ip | sort ip asc",
            &["ip=10.0.0.1; @ptr=p0", "ip=192.168.1.9; @ptr=p1"],
        ),
    ];
    for (q, want) in cases {
        check(q, &ips, want);
    }
}

#[test]
fn parse_mode_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "parse @message logfmt",
            21,
            21,
            "parse logfmt requires 'as'",
        ),
        (
            "parse @message logfmt as a, b",
            15,
            29,
            "exactly one field name",
        ),
        ("parse @message csv", 18, 18, "parse csv requires 'as'"),
        (
            "parse @message XML '/e/level' as l",
            15,
            18,
            "parse mode 'XML' is not supported",
        ),
        (
            r"parse @message /(\d+)/ as a",
            23,
            25,
            "not 'as' (except with 'multi')",
        ),
        (
            r"parse @message /(\d+)(x)/ as a multi",
            15,
            30,
            "one unnamed capture group per field name",
        ),
        (
            r"parse @message /(\d+)/ multi",
            15,
            22,
            "requires named capture groups",
        ),
    ];
    for (q, s, e, m) in cases {
        let err = nephoscope_insights::parse(q).expect_err(q);
        assert!(err.message.contains(m), "{q}: {err:?}");
        assert_eq!((err.start, err.end), (*s, *e), "{q}: {err:?}");
    }
}

/// `limit any n`: a scan that visits records newest first may stop once n rows are held
/// (`time_floor` answers `i64::MAX`); the skipped records are not in the statistics.
#[test]
fn limit_any_stops_the_scan() {
    use nephoscope_insights::parse;
    let e: Vec<Ev> = evs(&(0..100)
        .map(|i| (T0 + i, if i % 2 == 0 { "even" } else { "odd" }))
        .collect::<Vec<_>>());
    let q = parse("filter @message = 'odd' | fields @message | limit any 3").unwrap();
    let mut ex = q.start(ctx());
    assert!(
        ex.newest_first(),
        "limit any scans may stop early, even with a filter"
    );
    let mut pushed = 0;
    for ev in e.iter().rev() {
        if ex.time_floor() == Some(i64::MAX) {
            break;
        }
        ex.push(&rec(ev));
        pushed += 1;
    }
    assert_eq!(pushed, 5, "three odd rows among the five newest records");
    ex.count_skipped(T0, 4);
    let rows = ex.rows();
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r[0] == ("@message".into(), "odd".into())));
    assert_eq!(ex.stats().records_scanned, 5.0);
    assert_eq!(ex.stats().records_matched, 3.0);

    // Without `any`, a filtered query reads everything.
    let q = parse("filter @message = 'odd' | fields @message | limit 3").unwrap();
    assert!(!q.start(ctx()).newest_first());

    // After stats, sort or dedup, `limit any` is an ordinary limit: the rows are the same.
    let cases: &[(&str, &[&str])] = &[
        (
            "stats count(*) by @message | limit any 1",
            &["@message=even; count(*)=50"],
        ),
        (
            "fields @message | sort @timestamp asc | limit any 2",
            &["@message=even; @ptr=p0", "@message=odd; @ptr=p1"],
        ),
        (
            "dedup @message | display @message | limit any 5",
            &["@message=odd; @ptr=p99", "@message=even; @ptr=p98"],
        ),
    ];
    for (q, want) in cases {
        check(q, &e, want);
        let query = parse(q).unwrap();
        assert!(!query.start(ctx()).newest_first(), "{q}");
    }
}
