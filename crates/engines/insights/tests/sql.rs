//! SQL (StartQuery `queryLanguage: SQL`): tables of query → expected rows (each checked against
//! the Logs Insights query it means where one can be written), the log groups its FROM names,
//! and unsupported constructs → error message and place.
mod common;
use common::*;
use nephoscope_insights::{parse_sql, Record};

fn run_sql(q: &str, events: &[Ev]) -> Vec<Vec<(String, String)>> {
    let query = parse_sql(q).unwrap_or_else(|e| panic!("parse {q:?}: {e:?}"));
    let mut ex = query.start(ctx());
    let mut marked = query.start(ctx());
    for e in events {
        ex.push(&rec(e));
        marked.push(&Record {
            flat: nephoscope_logstore::flat::is_flat_object(&e.msg),
            ..rec(e)
        });
    }
    let rows = ex.rows();
    assert_eq!(marked.rows(), rows, "{q}: records marked flat");
    rows
}

fn events() -> Vec<Ev> {
    evs(&[
        (
            T0,
            r#"{"method":"GET","status":200,"bytes":100,"host":"a"}"#,
        ),
        (
            T0 + 1_000,
            r#"{"method":"POST","status":500,"bytes":20000,"host":"b"}"#,
        ),
        (
            T0 + 2_000,
            r#"{"method":"GET","status":404,"bytes":0,"host":"a"}"#,
        ),
        (
            T0 + 3_000,
            r#"{"method":"DELETE","status":200,"bytes":300,"host":"c"}"#,
        ),
        (
            T0 + 4_000,
            r#"{"method":"GET","status":200,"bytes":5000,"host":"b"}"#,
        ),
    ])
}

#[test]
fn sql_queries_answer_as_their_logs_insights_meaning() {
    let ev = events();
    // (SQL, the Logs Insights query giving the same rows or "", the rows)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "SELECT method, status FROM `LogGroupA` WHERE status = 200 ORDER BY bytes DESC",
            "filter status = 200 | sort bytes desc | display method, status",
            &["method=GET; status=200; @ptr=p4", "method=DELETE; status=200; @ptr=p3", "method=GET; status=200; @ptr=p0"],
        ),
        (
            "SELECT method, COUNT(*) AS request_count, SUM(bytes) AS total_bytes FROM `LogGroupA` GROUP BY method ORDER BY request_count DESC, method",
            "stats count(*) as request_count, sum(bytes) as total_bytes by method | sort request_count desc, method asc | display method, request_count, total_bytes",
            &[
                "method=GET; request_count=3; total_bytes=5100",
                "method=DELETE; request_count=1; total_bytes=300",
                "method=POST; request_count=1; total_bytes=20000",
            ],
        ),
        (
            "SELECT host, COUNT(*) FROM `LogGroupA` GROUP BY host HAVING COUNT(*) > 1 ORDER BY host",
            "",
            &["host=a; count(1)=2", "host=b; count(1)=2"],
        ),
        (
            "SELECT COUNT(*) AS total_records, COUNT(DISTINCT method) AS unique_methods, AVG(bytes) AS avg_bytes, MIN(bytes) AS min_bytes, MAX(bytes) AS max_bytes FROM `LogGroupA`",
            "stats count(*) as total_records, count_distinct(method) as unique_methods, avg(bytes) as avg_bytes, min(bytes) as min_bytes, max(bytes) as max_bytes",
            &["total_records=5; unique_methods=3; avg_bytes=5080; min_bytes=0; max_bytes=20000"],
        ),
        (
            "SELECT UPPER(method) AS m, bytes / 1000 AS kb, CASE WHEN status >= 400 OR bytes = 0 THEN 'Problem' ELSE 'Normal' END AS kind FROM `LogGroupA` WHERE method LIKE 'G%' ORDER BY kb",
            "",
            &["m=GET; kb=0; kind=Problem; @ptr=p2", "m=GET; kb=0.1; kind=Normal; @ptr=p0", "m=GET; kb=5; kind=Normal; @ptr=p4"],
        ),
        (
            "SELECT lg1.host FROM `logGroups(logGroupIdentifier: ['LogGroup1', 'LogGroup2'])` AS lg1 WHERE lg1.bytes BETWEEN 100 AND 5000 AND lg1.method IN ('GET', 'DELETE') ORDER BY lg1.host LIMIT 2",
            "",
            &["host=a; @ptr=p0", "host=b; @ptr=p4"],
        ),
        (
            "SELECT DISTINCT host FROM `LogGroupA` ORDER BY host",
            "",
            &["host=a", "host=b", "host=c"],
        ),
        (
            "select substring(method, 2, 2) as s, status from `LogGroupA` where status is not null and method <> 'GET'",
            "",
            &["s=EL; status=200; @ptr=p3", "s=OS; status=500; @ptr=p1"],
        ),
    ];
    for (sql, cwli, want) in cases {
        let got = show(&run_sql(sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
        if !cwli.is_empty() {
            assert_eq!(show(&run(cwli, &ev)), got, "SQL: {sql} against {cwli}");
        }
    }
    // `SELECT *`: whole records.
    let rows = run_sql("SELECT * FROM `LogGroupA` LIMIT 1", &ev);
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].iter().any(|(k, _)| k == "@message"),
        "{:?}",
        rows[0]
    );
}

#[test]
fn from_names_the_log_groups() {
    for (q, want) in [
        ("SELECT * FROM `LogGroupA`", vec!["LogGroupA"]),
        ("SELECT * FROM `/aws/lambda/f` WHERE x = 1;", vec!["/aws/lambda/f"]),
        (
            "SELECT a FROM `logGroups(logGroupIdentifier: ['/g/1', \"arn:aws:logs:us-east-1:111122223333:log-group:/g/2\"])` AS lg",
            vec!["/g/1", "arn:aws:logs:us-east-1:111122223333:log-group:/g/2"],
        ),
    ] {
        let query = parse_sql(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        assert_eq!(query.source().map(|s| s.names.clone()), Some(want.iter().map(|s| s.to_string()).collect()), "{q}");
    }
}

#[test]
fn unsupported_sql_is_an_error_naming_it_and_its_place() {
    // (query, words the message holds, the text the error's place starts with, or "")
    let cases: &[(&str, &str, &str)] = &[
        (
            "SELECT A.x FROM `A` AS A INNER JOIN `B` AS B ON A.id = B.id",
            "JOIN",
            "`B` AS B",
        ),
        ("SELECT x FROM `A` UNION SELECT x FROM `B`", "UNION", ""),
        ("SELECT x FROM `A` LIMIT 10 OFFSET 5", "OFFSET", ""),
        (
            "SELECT CAST(x AS INT) FROM `A`",
            "CAST(x AS INT) is not supported",
            "",
        ),
        (
            "SELECT soundex(x) FROM `A`",
            "function soundex",
            "soundex(x)",
        ),
        ("SELECT x, RANK() OVER (ORDER BY x) FROM `A`", "OVER", ""),
        (
            "SELECT x FROM `A` WHERE COUNT(*) > 1",
            "WHERE",
            "COUNT(*) > 1",
        ),
        (
            "SELECT x, COUNT(*) FROM `A` GROUP BY y",
            "GROUP BY expression",
            "x",
        ),
        (
            "SELECT * FROM `filterIndex('region' = 'us-east-1')`",
            "filterIndex",
            "",
        ),
        ("SELECT x FROM `A`; SELECT y FROM `B`", "one statement", ""),
        ("SELECT x FROM `A` WHERE", "Expected", ""),
        ("WITH t AS (SELECT 1) SELECT * FROM t", "WITH", ""),
        ("", "query is empty", ""),
        ("SELECT 1", "FROM", ""),
    ];
    for (q, words, span) in cases {
        let e = match parse_sql(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => e,
        };
        assert!(e.message.contains(words), "{q:?}: {e:?}");
        let chars: Vec<char> = q.chars().collect();
        assert!(e.start <= e.end && e.end <= chars.len(), "{q:?}: {e:?}");
        if !span.is_empty() {
            // The error starts at the construct (sqlparser's spans may end before its last
            // token).
            let from: String = chars[e.start..].iter().collect();
            assert!(from.starts_with(span) && e.end > e.start, "{q:?}: {e:?}");
        }
    }
}
