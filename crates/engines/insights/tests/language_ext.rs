//! The later additions to the language, as AWS documents them: parse logfmt / csv / multi-match,
//! `limit any`, subqueries (`filter f in (SOURCE '…' | …)`) and `join`. Tables of
//! query → expected rows.
mod common;
use common::*;
use nephoscope_insights::parse;

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

/// [`run_over_two`] for a Logs Insights query.
fn run_with(q: &str, events: &[Ev], other: &[Ev]) -> Vec<String> {
    run_over_two(nephoscope_insights::parse, q, events, other)
}

#[test]
fn subquery_doc_examples() {
    let main = evs(&[
        (T0, r#"{"requestId":"r1","endpoint":"/a","userId":"u1"}"#),
        (
            T0 + 1,
            r#"{"requestId":"r2","endpoint":"/b","userId":"u2"}"#,
        ),
        (
            T0 + 2,
            r#"{"requestId":"r3","endpoint":"/c","userId":"u3"}"#,
        ),
        (T0 + 3, r#"{"endpoint":"/d"}"#),
    ]);
    let db = evs(&[
        (
            T0,
            r#"{"requestId":"r1","errorType":"DatabaseConnectionTimeout"}"#,
        ),
        (T0 + 1, r#"{"requestId":"r3","errorType":"Other"}"#),
        (T0 + 2, r#"{"requestId":"r2","status":"FAILED"}"#),
        (T0 + 3, r#"{"requestId":"r2","status":"FAILED"}"#),
        (T0 + 4, r#"{"requestId":"r3","status":"FAILED"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            r#"filter requestId in (
                SOURCE '/aws/lambda/database-service'
                | filter errorType = "DatabaseConnectionTimeout"
                | fields requestId
            )
            | fields @timestamp, requestId, endpoint, userId
            | sort @timestamp desc"#,
            &["@timestamp=2023-11-14 22:13:20.000; requestId=r1; endpoint=/a; userId=u1; @ptr=p0"],
        ),
        (
            r#"filter requestId in (
                SOURCE '/aws/lambda/payment-processor'
                | filter status = "FAILED"
                | stats count(*) as failureCount by requestId
                | filter failureCount > 1
                | fields requestId
            )
            | fields requestId, endpoint"#,
            &["requestId=r2; endpoint=/b; @ptr=p1"],
        ),
        // `not in`, and a subquery without SOURCE (it reads the outer query's log groups).
        (
            "filter requestId not in (filter status = 'FAILED' | fields requestId) | fields requestId",
            &["requestId=r1; @ptr=p0"],
        ),
        // Combined with other conditions.
        (
            "filter ispresent(requestId) and requestId in (SOURCE '/g' | display requestId) and endpoint != '/c' | fields endpoint",
            &["endpoint=/b; @ptr=p1", "endpoint=/a; @ptr=p0"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_with(q, &main, &db), *want, "{q}");
    }
}

#[test]
fn join_doc_examples() {
    let api = evs(&[
        (T0, r#"{"requestId":"r1","status":500,"latency":120}"#),
        (T0 + 1, r#"{"requestId":"r2","status":200,"latency":20}"#),
        (T0 + 2, r#"{"requestId":"r3","status":503,"latency":300}"#),
        (T0 + 3, r#"{"requestId":"r4","status":502,"latency":50}"#),
    ]);
    let lambda = evs(&[
        (T0, r#"{"requestId":"r1","duration":100,"memoryUsed":64}"#),
        (
            T0 + 1,
            r#"{"requestId":"r3","duration":280,"memoryUsed":128}"#,
        ),
        (T0 + 2, r#"{"requestId":"r3","duration":5,"memoryUsed":1}"#),
        (T0 + 3, r#"{"other":"no key"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "filter status >= 500
            | join type=inner left=api right=lambda
                where api.requestId=lambda.requestId
                (SOURCE '/aws/lambda/my-function')
            | fields api.requestId, api.status, api.latency, lambda.duration, lambda.memoryUsed
            | sort api.latency desc, lambda.duration desc",
            &[
                "api.requestId=r3; api.status=503; api.latency=300; lambda.duration=280; lambda.memoryUsed=128; @ptr=p2",
                "api.requestId=r3; api.status=503; api.latency=300; lambda.duration=5; lambda.memoryUsed=1; @ptr=p2",
                "api.requestId=r1; api.status=500; api.latency=120; lambda.duration=100; lambda.memoryUsed=64; @ptr=p0",
            ],
        ),
        // A left join keeps unmatched rows (right fields null); the default type is inner.
        (
            "filter status >= 500 | join type=left left=o right=p where o.requestId = p.requestId (SOURCE '/p')
            | filter !ispresent(p.duration) | fields o.requestId",
            &["o.requestId=r4; @ptr=p3"],
        ),
        (
            "join left=a right=b where b.requestId = a.requestId (SOURCE '/p') | stats count(*) as n by a.requestId",
            &["a.requestId=r1; n=1", "a.requestId=r3; n=2"],
        ),
        // Fields chosen before the join are renamed by it: the joined rows show whole (they
        // showed nothing before this was fixed).
        (
            "filter requestId = 'r4' | fields requestId, status | join type=left left=a right=b where a.requestId = b.requestId (SOURCE '/p') | fields a.requestId, a.status",
            &["a.requestId=r4; a.status=502; @ptr=p3"],
        ),
        (
            "stats count(*) as n by requestId | join left=a right=b where a.requestId = b.requestId (SOURCE '/p') | sort b.duration | display a.requestId, a.n, b.duration",
            &[
                "a.requestId=r3; a.n=1; b.duration=5",
                "a.requestId=r1; a.n=1; b.duration=100",
                "a.requestId=r3; a.n=1; b.duration=280",
            ],
        ),
        // Without fields, every field of both sides, each with its alias.
        (
            "filter requestId = 'r1' | join left=a right=b where a.requestId = b.requestId (SOURCE '/p')",
            &["a.@timestamp=2023-11-14 22:13:20.000; a.@message={\"requestId\":\"r1\",\"status\":500,\"latency\":120}; a.@logStream=stream-a; a.@log=123456789012:/aws/test; a.@ingestionTime=2023-11-14 22:13:20.005; a.@ptr=p0; a.requestId=r1; a.status=500; a.latency=120; b.@timestamp=2023-11-14 22:13:20.000; b.@message={\"requestId\":\"r1\",\"duration\":100,\"memoryUsed\":64}; b.@logStream=stream-a; b.@log=123456789012:/aws/test; b.requestId=r1; b.duration=100; b.memoryUsed=64; b.@ptr=p0; @ptr=p0"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_with(q, &api, &lambda), *want, "{q}");
    }
    // The right side's distinct keys are capped.
    let mut query = nephoscope_insights::parse(
        "join left=a right=b where a.requestId = b.requestId (SOURCE '/p')",
    )
    .unwrap();
    let rows: Vec<Vec<(String, String)>> = (0..3)
        .map(|i| vec![("requestId".to_string(), format!("k{i}"))])
        .collect();
    let e = query.attach_join(&rows, 2).unwrap_err();
    assert!(
        e.to_string()
            .contains("more than 2 distinct values of requestId"),
        "{e}"
    );
}

#[test]
fn subquery_join_and_source_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("SOURCE lg start=1d | fields x", 16, 18, "START takes a time"),
        ("filter x in (SOURCE '/g' | filter y in (SOURCE '/h' | fields y) | fields x)", 39, 40, "nested subqueries are not supported"),
        ("fields x in (SOURCE '/g' | fields x)", 9, 13, "only in filter"),
        ("filter x in (SOURCE '/g' | filter y = 1)", 13, 39, "must select the field 'x'"),
        ("filter x in (SOURCE '/g' | fields y)", 13, 35, "must select the field 'x'"),
        ("filter x in (SOURCE '/g')", 13, 24, "must select the field 'x'"),
        ("filter x in (SOURCE '/g' | fields x", 12, 13, "never closed"),
        ("filter x in (SOURCE '/g' | bogus)", 27, 32, "unknown command 'bogus'"),
        ("filter strlen(x) in (SOURCE '/g' | fields x)", 17, 21, "compared with a field"),
        ("join left=a right=b where a.k != b.k (SOURCE '/g')", 30, 32, "only equality"),
        ("join left=a right=b where a.k = b.k and a.j = b.j (SOURCE '/g')", 36, 39, "one equality condition"),
        ("join left=a right=b where a.k = c.k (SOURCE '/g')", 32, 35, "compares a.<field> with b.<field>"),
        ("join left=a right=b where a.k = a.j (SOURCE '/g')", 26, 35, "compares a.<field> with b.<field>"),
        ("join type=outer left=a right=b where a.k = b.k (SOURCE '/g')", 10, 15, "inner or left"),
        ("join left=a where a.k = b.k (SOURCE '/g')", 0, 17, "needs left=<alias> and right=<alias>"),
        ("join left=a right=b where a.k = b.k (SOURCE '/g' | filter x = 1)", 37, 63, "subqueries on the right side of join are not supported"),
        ("join left=a right=b where a.k = b.k (filter x = 1)", 37, 49, "right side of join is (SOURCE"),
        ("join left=a right=b where a.k = b.k (SOURCE '/g') | join left=c right=d where c.k = d.k (SOURCE '/h')", 52, 56, "only one join"),
        ("join left=a right=b where a.k = b.k", 35, 35, "expected (SOURCE"),
        ("join left=a right=b size=3 where a.k = b.k (SOURCE '/g')", 20, 24, "unknown join option 'size'"),
    ];
    for (q, s, e, m) in cases {
        let err = nephoscope_insights::parse(q).expect_err(q);
        assert!(err.message.contains(m), "{q}: {err:?}");
        assert_eq!((err.start, err.end), (*s, *e), "{q}: {err:?}");
    }
}

/// A subquery's `lookup` gets its table like the outer query's.
#[test]
fn subquery_lookup_tables_are_attached() {
    let mut q = nephoscope_insights::parse(
        "filter user in (SOURCE '/g' | lookup users id as user OUTPUT role | filter role = 'admin' | fields user) | fields user",
    )
    .unwrap();
    assert_eq!(q.lookup_tables(), vec!["users".to_string()]);
    q.attach_lookups(&|_| {
        Some((
            vec!["id".into(), "role".into()],
            vec![
                vec!["u1".into(), "admin".into()],
                vec!["u2".into(), "dev".into()],
            ],
        ))
    })
    .unwrap();
    let e = evs(&[(T0, r#"{"user":"u1"}"#), (T0 + 1, r#"{"user":"u2"}"#)]);
    let mut sub = q.subqueries()[0].query.start(ctx());
    for ev in &e {
        sub.push(&rec(ev));
    }
    let rows = sub.rows();
    q.attach_subquery(0, &rows).unwrap();
    let mut ex = q.start(ctx());
    for ev in &e {
        ex.push(&rec(ev));
    }
    assert_eq!(show(&ex.rows()), vec!["user=u1; @ptr=p0"]);
}

/// `parse` then `stats`: where the parse does not match (or leaves a group unset) a discovered
/// field of the same name is what the row has; where it matches, the parsed value.
#[test]
fn parse_then_stats_sees_discovered_fields_the_parse_leaves_unset() {
    let events = evs(&[
        (T0, "route=/a n=1"),
        (T0 + 1, r#"{"route":"/json","n":5}"#),
        (T0 + 2, r#"route=/b {"route":"/hidden"}"#),
        (T0 + 3, "nothing here"),
        (T0 + 4, r#"{"route":"/json","x":1} n="#),
        (T0 + 5, "route=/a n=3"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            r"parse @message /route=(?<route>\S+)/ | stats count(*) by route",
            &[
                "route=/a; count(*)=2",
                "route=/b; count(*)=1",
                "route=/json; count(*)=1",
                "count(*)=2",
            ],
        ),
        // `n` is an optional group: unset, the discovered `n` shows.
        (
            r"parse @message /route=(?<route>\S+)( n=(?<n>\d+))?/ | stats sum(n) by route",
            &[
                "route=/a; sum(n)=4",
                "route=/b",
                "route=/json; sum(n)=5",
                "",
            ],
        ),
        (
            "parse @message 'route=* ' as route | stats count(*) by route",
            &[
                "route=/a; count(*)=2",
                "route=/b; count(*)=1",
                "route=/json; count(*)=1",
                "count(*)=2",
            ],
        ),
    ];
    for (q, want) in cases {
        let got: Vec<String> = run(q, &events)
            .iter()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect();
        assert_eq!(&got, want, "{q}");
    }
}

/// The newest rows by record time: records arriving in any order, many more than the rows
/// kept, so later ones must beat the worst row held (and those that cannot are still counted
/// as matched).
#[test]
fn newest_rows_from_records_in_any_order() {
    let n = 2_000i64;
    // Times spread by a permutation of 0..n (7 is coprime with 2,000).
    let events: Vec<Ev> = (0..n)
        .map(|i| Ev {
            ts: T0 + (i * 7) % n,
            msg: format!(r#"{{"i":{i},"n":{}}}"#, (i * 7) % n),
            stream: "stream-a".into(),
            ptr: format!("p{i:05}"),
        })
        .collect();
    for q in [
        "sort @timestamp desc | limit 5",
        "limit 5",
        "fields @timestamp, n | sort @timestamp desc | limit 5",
        "sort @timestamp desc | limit 300",
    ] {
        let query = parse(q).unwrap();
        let mut ex = query.start(ctx());
        // As a store feeds it: records too old are only counted.
        let mut fed = query.start(ctx());
        let mut skipped = 0;
        for e in &events {
            ex.push(&rec(e));
            if fed.skip_older(e.ts, e.msg.len()) {
                skipped += 1;
            } else {
                fed.push(&rec(e));
            }
        }
        assert_eq!(fed.rows(), ex.rows(), "{q}");
        assert_eq!(fed.stats(), ex.stats(), "{q}");
        if !q.starts_with("fields") {
            assert!(skipped > 500, "{q}: {skipped} skipped");
        }
        let rows = ex.rows();
        let want: usize = if q.ends_with("300") { 300 } else { 5 };
        assert_eq!(rows.len(), want, "{q}");
        for (k, row) in rows.iter().enumerate() {
            let n_field = row.iter().find(|(f, _)| f == "n").map(|(_, v)| v.clone());
            assert_eq!(
                n_field,
                Some((n - 1 - k as i64).to_string()),
                "{q}: row {k}"
            );
        }
        assert_eq!(ex.stats().records_matched, n as f64, "{q}");
        assert_eq!(ex.stats().records_scanned, n as f64, "{q}");
    }
}

/// `expand` (one row per array element, under the field's own name), `json field=` (a value at a
/// key path of a JSON field) and the time-series functions of `stats`.
#[test]
fn expand_json_and_time_series_functions() {
    let events = evs(&[
        (
            T0,
            r#"{"items":["apple","banana","cherry"],"host":"web-01","req":{"user":{"name":"ann"},"ids":[7,8]}}"#,
        ),
        (
            T0 + 1,
            r#"{"items":[{"sku":"a1","n":2},{"sku":"b2","n":5}],"host":"web-02","payload":"{\"user\":{\"name\":\"bob\"},\"ids\":[3]}"}"#,
        ),
        (T0 + 2, r#"{"items":[],"host":"web-03"}"#),
        (T0 + 3, r#"{"host":"web-04","items":"not an array"}"#),
        (T0 + 4, "plain text line"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        // AWS's example: three rows, every other field copied.
        (
            "filter host = 'web-01' | expand items | stats count(*) by items, host",
            &[
                "items=apple; host=web-01; count(*)=1",
                "items=banana; host=web-01; count(*)=1",
                "items=cherry; host=web-01; count(*)=1",
            ],
        ),
        // Object elements are maps: their keys read with dots.
        (
            "filter host = 'web-02' | expand items | fields items.sku, items.n | sort items.n desc",
            &[
                "items.sku=b2; items.n=5; @ptr=p1",
                "items.sku=a1; items.n=2; @ptr=p1",
            ],
        ),
        // An empty array makes no rows; no array at all leaves the row as it is.
        (
            "expand items | stats count(*) by host",
            &[
                "host=web-01; count(*)=3",
                "host=web-02; count(*)=2",
                "host=web-04; count(*)=1",
                "count(*)=1",
            ],
        ),
        // A list from jsonParse, and an array nested in the message.
        (
            "filter host = 'web-01' | fields jsonParse('[1, 2]') as l | expand l | display l",
            &["l=1; @ptr=p0", "l=2; @ptr=p0"],
        ),
        (
            "filter host = 'web-01' | expand req.ids | display req.ids",
            &["req.ids=7; @ptr=p0", "req.ids=8; @ptr=p0"],
        ),
        // json field=: from a JSON text field, from a map, from discovered (flattened) fields.
        (
            r#"json field=payload "user.name" as username | filter ispresent(username) | display username"#,
            &["username=bob; @ptr=p1"],
        ),
        (
            r#"json field=payload "ids.0" as first | filter ispresent(first) | display first"#,
            &["first=3; @ptr=p1"],
        ),
        (
            r#"fields jsonParse(payload) as p | json field=p "user.name" as username | filter ispresent(username) | display username"#,
            &["username=bob; @ptr=p1"],
        ),
        (
            r#"json field=req "user.name" as who | filter ispresent(who) | display who, host"#,
            &["who=ann; host=web-01; @ptr=p0"],
        ),
        // A missing key leaves the name unset (and an existing value of it as it was).
        (
            r#"fields 'kept' as who | json field=req "user.nobody" as who | filter host = 'web-01' | display who"#,
            &["who=kept; @ptr=p0"],
        ),
    ];
    for (q, want) in cases {
        check(q, &events, want);
    }

    // Counters sampled over time: rate over the span between the first and the last sample.
    let m = 60_000;
    let samples = evs(&[
        (T0, r#"{"bytes":100,"route":"/a","latency":10}"#),
        (T0 + m, r#"{"bytes":160,"route":"/a","latency":20}"#),
        (T0 + 3 * m, r#"{"bytes":400,"route":"/a","latency":30}"#),
        (T0 + m, r#"{"bytes":5,"route":"/b","latency":40}"#),
        (T0 + 2 * m, r#"{"route":"/b","latency":55}"#),
        (T0 + 2 * m, r#"{"bytes":"x","route":"/c","latency":100}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "stats rate(bytes, 1m), rate(bytes, 1s) as per_s by route",
            &[
                "route=/a; rate(bytes, 1m)=100; per_s=1.6666666666666667",
                "route=/b",
                "route=/c",
            ],
        ),
        (
            "stats count_over_time(bytes), sum_over_time(bytes), countOverTime(latency), sumOverTime(latency) by route",
            &[
                "route=/a; count_over_time(bytes)=3; sum_over_time(bytes)=660; countOverTime(latency)=3; sumOverTime(latency)=60",
                "route=/b; count_over_time(bytes)=1; sum_over_time(bytes)=5; countOverTime(latency)=2; sumOverTime(latency)=95",
                "route=/c; count_over_time(bytes)=1; countOverTime(latency)=1; sumOverTime(latency)=100",
            ],
        ),
        (
            "stats histogram(latency, 3)",
            &[r#"histogram(latency, 3)={"[10, 40)":3,"[40, 70)":2,"[70, 100]":1}"#],
        ),
        (
            "filter route = '/a' | stats histogram(latency, 1) as h, histogram(bytes, 2) as hb",
            &[r#"h={"[10, 30]":3}; hb={"[100, 250)":2,"[250, 400]":1}"#],
        ),
        (
            "filter route = '/c' | stats histogram(bytes, 4) as h, count(*)",
            &["count(*)=1"],
        ),

    ];
    for (q, want) in cases {
        check(q, &samples, want);
    }
    // Values whose range does not fit an f64: one range holding both, and no rate.
    let got = show(&run(
        "filter route = '/b' | fields if(latency > 50, 1e308, -1e308) as x | stats histogram(x, 4) as h, rate(x, 1w) as r",
        &samples,
    ));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(r#"h={"[-1000"#) && got[0].ends_with(r#"]":2}"#),
        "{got:?}"
    );
    assert_eq!(got[0].matches("\":").count(), 1, "one range: {got:?}");
}

/// The row-sequence commands over the rows as the query holds them (newest first unless
/// sorted): addtotals, filldown, accum, autoregress, sessionize; and countFrequent.
#[test]
fn row_sequence_commands() {
    let m = 60_000;
    let events = evs(&[
        (
            T0,
            r#"{"host":"a","cpu_user":1,"cpu_sys":2,"bytes":10,"user":"u1","method":"GET","status":200}"#,
        ),
        (
            T0 + m,
            r#"{"cpu_user":3,"bytes":20,"user":"u1","method":"GET","status":200}"#,
        ),
        (
            T0 + 2 * m,
            r#"{"host":"b","cpu_sys":4,"bytes":30,"user":"u2","method":"POST","status":500}"#,
        ),
        (
            T0 + 50 * m,
            r#"{"cpu_user":5,"bytes":"n/a","user":"u1","method":"GET","status":404}"#,
        ),
        (
            T0 + 51 * m,
            r#"{"bytes":40,"user":"u1","method":"GET","status":200}"#,
        ),
    ]);
    let cases: &[(&str, &[&str])] = &[
        // AWS's examples.
        (
            "fields bytes, cpu_user | sort @timestamp asc | addtotals",
            &[
                "bytes=10; cpu_user=1; Total=11; @ptr=p0",
                "bytes=20; cpu_user=3; Total=23; @ptr=p1",
                "bytes=30; Total=30; @ptr=p2",
                "bytes=n/a; cpu_user=5; Total=5; @ptr=p3",
                "bytes=40; Total=40; @ptr=p4",
            ],
        ),
        (
            "fields cpu_user, cpu_sys | sort @timestamp asc | limit 3 | addtotals fieldname=RowSum col=true cpu_user, cpu_sys",
            &[
                "cpu_user=1; cpu_sys=2; RowSum=3; @ptr=p0",
                "cpu_user=3; RowSum=3; @ptr=p1",
                "cpu_sys=4; RowSum=4; @ptr=p2",
                "cpu_user=4; cpu_sys=6; RowSum=10",
            ],
        ),
        (
            "stats sum(bytes) as b, count(*) as n by method | addtotals row=false col=true",
            &["method=GET; b=70; n=4", "method=POST; b=30; n=1", "b=100; n=5"],
        ),
        // A field already named like the total: the grand total sums the row totals only.
        (
            "stats sum(bytes) as b by method | fields if(method = 'GET', 5, 0) as Total, b, method | addtotals col=true b",
            &["method=GET; b=70; Total=70", "method=POST; b=30; Total=30", "b=100; Total=100"],
        ),
        (
            "fields @timestamp, host, cpu_user, cpu_sys | sort @timestamp asc | filldown host cpu* | display host, cpu_user, cpu_sys",
            &[
                "host=a; cpu_user=1; cpu_sys=2; @ptr=p0",
                "host=a; cpu_user=3; cpu_sys=2; @ptr=p1",
                "host=b; cpu_user=3; cpu_sys=4; @ptr=p2",
                "host=b; cpu_user=5; cpu_sys=4; @ptr=p3",
                "host=b; cpu_user=5; cpu_sys=4; @ptr=p4",
            ],
        ),
        // Newest first (no sort): the running sum runs in that order; a row without a number
        // keeps no total.
        (
            "fields @timestamp, bytes | accum bytes AS totalBytes | display bytes, totalBytes",
            &[
                "bytes=40; totalBytes=40; @ptr=p4",
                "bytes=n/a; @ptr=p3",
                "bytes=30; totalBytes=70; @ptr=p2",
                "bytes=20; totalBytes=90; @ptr=p1",
                "bytes=10; totalBytes=100; @ptr=p0",
            ],
        ),
        (
            "fields bytes | sort @timestamp asc | accum bytes | limit 2",
            &["bytes=10; @ptr=p0", "bytes=30; @ptr=p1"],
        ),
        (
            "fields @timestamp, bytes | sort @timestamp asc | autoregress bytes p=1-2 | display bytes, bytes_p1, bytes_p2",
            &[
                "bytes=10; @ptr=p0",
                "bytes=20; bytes_p1=10; @ptr=p1",
                "bytes=30; bytes_p1=20; bytes_p2=10; @ptr=p2",
                "bytes=n/a; bytes_p1=30; bytes_p2=20; @ptr=p3",
                "bytes=40; bytes_p1=n/a; bytes_p2=30; @ptr=p4",
            ],
        ),
        (
            "fields bytes | sort @timestamp asc | autoregress bytes AS prev | limit 2",
            &["bytes=10; @ptr=p0", "bytes=20; prev=10; @ptr=p1"],
        ),
        // u1: two sessions (a 48-minute gap); u2: one. Numbered by their first time.
        (
            "fields @timestamp, user | sessionize user | sort @timestamp asc | display user, session_id",
            &[
                "user=u1; session_id=1; @ptr=p0",
                "user=u1; session_id=1; @ptr=p1",
                "user=u2; session_id=2; @ptr=p2",
                "user=u1; session_id=3; @ptr=p3",
                "user=u1; session_id=3; @ptr=p4",
            ],
        ),
        (
            "fields user, method | sessionize user, method maxspan 1h as s | stats count(*) by s",
            &["s=1; count(*)=4", "s=2; count(*)=1"],
        ),
        (
            "fields method, status | countFrequent method, status",
            &[
                "method=GET; status=200; _approxcount=3",
                "method=GET; status=404; _approxcount=1",
                "method=POST; status=500; _approxcount=1",
            ],
        ),
        ("count_frequent method | limit 1", &["method=GET; _approxcount=4"]),
    ];
    for (q, want) in cases {
        check(q, &events, want);
    }
}

/// `fillmissing` after `stats … by bin()`: the empty bins of the query's time range get rows
/// (per combination of the other keys), with the constants given.
#[test]
fn fillmissing_fills_the_empty_bins_of_the_range() {
    let m = 60_000;
    let start = T0 - T0 % (5 * m); // a 5-minute boundary
    let events = evs(&[
        (start + 10_000, r#"{"latency":10,"host":"a"}"#),
        (start + 2 * m, r#"{"latency":30,"host":"a"}"#),
        (start + 3 * m, r#"{"latency":7,"host":"b"}"#),
    ]);
    let run_in = |q: &str, from: i64, to: i64| {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        let mut ex = query.start(nephoscope_insights::QueryContext {
            start_ms: from,
            end_ms: to,
            ..ctx()
        });
        for e in &events {
            ex.push(&rec(e));
        }
        show(&ex.rows())
    };
    let t = |k: i64| {
        let secs = (start + k * m) / 1000;
        let (h, mi) = ((secs / 3600) % 24, (secs / 60) % 60);
        format!("2023-11-14 {h:02}:{mi:02}:00.000")
    };
    // AWS's example: the empty minutes of the range get 0.
    let got = run_in(
        "fields @timestamp, latency | stats avg(latency) as avg_latency by bin(1m) | fillmissing with 0 for avg_latency",
        start,
        start + 4 * m + 59_999,
    );
    let want: Vec<String> = [(0, "10"), (1, "0"), (2, "30"), (3, "7"), (4, "0")]
        .iter()
        .map(|(k, v)| format!("bin(1m)={}; avg_latency={v}", t(*k)))
        .collect();
    assert_eq!(got, want);
    // Per host, and without a constant: the inserted rows hold the keys only.
    let got = run_in(
        "stats count(*) as n by host, bin(1m) as minute | fillmissing",
        start + m,
        start + 3 * m,
    );
    let want = [
        format!("host=a; minute={}", t(1)),
        format!("host=a; minute={}; n=1", t(2)),
        format!("host=a; minute={}", t(3)),
        format!("host=b; minute={}", t(1)),
        format!("host=b; minute={}", t(2)),
        format!("host=b; minute={}; n=1", t(3)),
    ];
    assert_eq!(got, want);
    // Calendar months: every month of the range, February included.
    let jan = 1_705_276_800_000; // 2024-01-15
    let monthly = evs(&[(jan, r#"{"n":1}"#)]);
    let query = parse("stats count(*) as c by bin(1mo) as m | fillmissing with 0 for c").unwrap();
    let mut ex = query.start(nephoscope_insights::QueryContext {
        start_ms: jan,
        end_ms: jan + 90 * 86_400_000,
        ..ctx()
    });
    for e in &monthly {
        ex.push(&rec(e));
    }
    assert_eq!(
        show(&ex.rows()),
        [
            "m=2024-01-01 00:00:00.000; c=1",
            "m=2024-02-01 00:00:00.000; c=0",
            "m=2024-03-01 00:00:00.000; c=0",
            "m=2024-04-01 00:00:00.000; c=0",
        ]
    );
}

/// `outlier`: IQR bounds from nearest-rank quartiles; transform clamps, remove drops, mark adds
/// `_outlier`; only the upper bound unless `uselower=true`.
#[test]
fn outlier_bounds_by_iqr() {
    let events = evs(&[
        (T0, r#"{"cpu":1,"mem":50}"#),
        (T0 + 1, r#"{"cpu":2,"mem":52}"#),
        (T0 + 2, r#"{"cpu":3,"mem":51}"#),
        (T0 + 3, r#"{"cpu":4,"mem":-40}"#),
        (T0 + 4, r#"{"cpu":5,"mem":53}"#),
        (T0 + 5, r#"{"cpu":100,"mem":"n/a"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        // cpu: Q1 2, Q3 5, IQR 3 → above 12.5 is an outlier, clamped there.
        (
            "fields cpu | sort @timestamp asc | outlier cpu | display cpu",
            &["cpu=1; @ptr=p0", "cpu=2; @ptr=p1", "cpu=3; @ptr=p2", "cpu=4; @ptr=p3", "cpu=5; @ptr=p4", "cpu=12.5; @ptr=p5"],
        ),
        // AWS's example: any field an outlier removes the row; mem's lower bound counts.
        (
            "fields cpu, mem | sort @timestamp asc | outlier action=remove param=3.0 uselower=true mark=true cpu mem | display cpu, _outlier",
            &[
                "cpu=1; _outlier=false; @ptr=p0",
                "cpu=2; _outlier=false; @ptr=p1",
                "cpu=3; _outlier=false; @ptr=p2",
                "cpu=5; _outlier=false; @ptr=p4",
            ],
        ),
        (
            "fields mem | sort @timestamp asc | outlier mark=true mem | filter _outlier | display mem",
            &[],
        ),
        (
            "fields mem | sort @timestamp asc | outlier uselower=true mark=true param=1 mem | filter _outlier | display mem",
            // mem: Q1 50, Q3 52 → [48, 54]: -40 is one, clamped to 48.
            &["mem=48; @ptr=p3"],
        ),
    ];
    for (q, want) in cases {
        check(q, &events, want);
    }
}

/// `appendcols`: the subquery's rows laid over the query's by position (AWS's example shape);
/// `override` decides who wins a field both have; extra subquery rows become rows.
#[test]
fn appendcols_lays_subquery_rows_over_rows() {
    let main = evs(&[
        (T0, r#"{"svc":"api","latency":10}"#),
        (T0 + 1, r#"{"svc":"api","latency":30}"#),
        (T0 + 2, r#"{"svc":"web","latency":5}"#),
    ]);
    let other = evs(&[
        (T0, r#"{"svc":"api","latency":100}"#),
        (T0 + 1, r#"{"svc":"db","latency":7}"#),
        (T0 + 2, r#"{"svc":"web","latency":300}"#),
    ]);
    let run_with = |q: &str| {
        let mut query = parse(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        assert_eq!(query.subqueries().len(), 1, "{q}");
        let sub = query.subqueries()[0].clone();
        assert!(sub.source.is_some(), "{q}");
        let mut side = sub.query.start(ctx());
        for e in &other {
            side.push(&rec(e));
        }
        query.attach_subquery(0, &side.rows()).unwrap();
        let mut ex = query.start(ctx());
        for e in &main {
            ex.push(&rec(e));
        }
        show(&ex.rows())
    };
    assert_eq!(
        run_with(
            "fields svc | stats count(*) as cnt by svc | appendcols override=true ( SOURCE 'lg' | stats avg(latency) as avgLat by svc )"
        ),
        [
            "svc=api; cnt=2; avgLat=100",
            "svc=db; cnt=1; avgLat=7",
            "svc=web; avgLat=300",
        ]
    );
    assert_eq!(
        run_with(
            "stats count(*) as cnt by svc | appendcols max=1 (SOURCE 'lg' | stats avg(latency) as avgLat by svc)"
        ),
        ["svc=api; cnt=2; avgLat=100", "svc=web; cnt=1"]
    );
}

/// `relevantfields`: fields ranked by how differently they are distributed where the
/// condition holds (total variation for text, Kolmogorov–Smirnov for numbers), with medians
/// for numbers and the values whose share moved most.
#[test]
fn relevantfields_ranks_fields_by_shift() {
    let events = evs(&[
        (
            T0,
            r#"{"Time":100,"Controller":"home","Service":"a","Size":10}"#,
        ),
        (
            T0 + 1,
            r#"{"Time":120,"Controller":"home","Service":"b","Size":12}"#,
        ),
        (
            T0 + 2,
            r#"{"Time":900,"Controller":"cart","Service":"a","Size":11}"#,
        ),
        (
            T0 + 3,
            r#"{"Time":950,"Controller":"cart","Service":"b","Size":13}"#,
        ),
    ]);
    // Controller splits exactly along Time > 400; Service and Size do not.
    check(
        "relevantfields where Time > 400",
        &events,
        &[
            "@fieldName=Controller; @relevanceScore=1; @topRelevanceContributors=cart: 100% vs 0%, home: 0% vs 100%",
            "@fieldName=Size; @relevanceScore=0.5; @conditionalMedian=11; @baselineMedian=10",
            "@fieldName=Service; @relevanceScore=0",
        ],
    );
    // Every row meets the condition: no baseline, nothing stands out.
    check(
        "relevantfields Controller where Time > 0",
        &events,
        &["@fieldName=Controller; @relevanceScore=0"],
    );
    check(
        "relevantfields Service, Time where Controller = 'cart'",
        &events,
        &[
            "@fieldName=Time; @relevanceScore=1; @conditionalMedian=900; @baselineMedian=100",
            "@fieldName=Service; @relevanceScore=0",
        ],
    );
}

/// The deepest expression a 10,000-character query can write — arithmetic chains of 250 terms
/// nested as far as the length allows — evaluates on a thread with the server's 16 MiB stack
/// (`crates/server/src/main.rs`), in this debug build too.
#[test]
fn deepest_arithmetic_evaluates_on_the_servers_stack() {
    let mut e = "1".to_string();
    let mut levels = 0;
    loop {
        let next = format!("({e}{})", "+1".repeat(249));
        if next.len() > 9_900 {
            break;
        }
        e = next;
        levels += 1;
    }
    assert!(levels >= 15, "{levels}");
    let q = format!("fields {e} as x");
    let ev = evs(&[(T0, r#"{"a":1}"#)]);
    let rows = std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(move || run(&q, &ev))
        .unwrap()
        .join()
        .unwrap();
    let want = (1 + 249 * levels).to_string();
    assert!(
        rows[0].iter().any(|(k, v)| k == "x" && *v == want),
        "{:?}",
        rows[0]
    );
}
