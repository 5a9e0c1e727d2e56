//! SQL (StartQuery `queryLanguage: SQL`): tables of query → expected rows (each checked against
//! the Logs Insights query it means where one can be written), the log groups its FROM names,
//! and unsupported constructs → error message and place.
mod common;
use common::*;
use nephoscope_insights::parse_sql;

fn run_sql(q: &str, events: &[Ev]) -> Vec<Vec<(String, String)>> {
    run_with(parse_sql, q, events)
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
        // IN (SELECT …): a subquery (here over the same events) gives the values.
        (
            "SELECT host, status FROM `A` WHERE host IN (SELECT host FROM `B` WHERE status = 500) ORDER BY bytes",
            "",
            &["host=b; status=200; @ptr=p4", "host=b; status=500; @ptr=p1"],
        ),
        (
            "SELECT host FROM `A` WHERE host NOT IN (SELECT lower(host) AS h FROM `B` WHERE bytes > 10000) AND status = 200 ORDER BY host",
            "",
            &["host=a; @ptr=p0", "host=c; @ptr=p3"],
        ),
        // Several values against the subquery's columns in order, and an expression (a tuple
        // of one); NOT IN keeps the rows whose pair is not among them.
        (
            "SELECT host, status FROM `A` WHERE (host, status) IN (SELECT host, status FROM `B` WHERE bytes > 1000) ORDER BY bytes",
            "",
            &["host=b; status=200; @ptr=p4", "host=b; status=500; @ptr=p1"],
        ),
        (
            "SELECT host FROM `A` WHERE upper(host) IN (SELECT upper(host) FROM `B` WHERE status = 404)",
            "",
            &["host=a; @ptr=p2", "host=a; @ptr=p0"],
        ),
        (
            "SELECT host, method FROM `A` WHERE (host, method) NOT IN (SELECT host, method AS m FROM `B` WHERE status = 200)",
            "",
            &["host=b; method=POST; @ptr=p1"],
        ),
        // An IN subquery inside one runs first.
        (
            "SELECT host, method FROM `A` WHERE host IN (SELECT host FROM `B` WHERE method IN (SELECT method FROM `C` WHERE status = 500))",
            "",
            &["host=b; method=GET; @ptr=p4", "host=b; method=POST; @ptr=p1"],
        ),
        // A comparison with NULL is unknown, and so is its NOT: no row.
        (
            "SELECT host FROM `A` WHERE NOT (status = NULL) OR NOT NULL OR host IN (NULL)",
            "",
            &[],
        ),
        // `<=>` is true for two NULLs; `==` is `=`.
        (
            "SELECT host, CASE WHEN bytes > 1000 THEN bytes END AS big FROM `A` WHERE CASE WHEN bytes > 1000 THEN bytes END <=> NULL AND NOT (status <=> 404) AND method == 'GET' OR (CASE WHEN bytes > 1000 THEN bytes END <=> 20000 AND NOT isnan(bytes))",
            "",
            &["host=b; big=20000; @ptr=p1", "host=a; @ptr=p0"],
        ),
        // ROLLUP, CUBE and GROUPING SETS: a SELECT per grouping set, rolled-up columns NULL.
        (
            "SELECT host, method, SUM(bytes) AS b FROM `A` GROUP BY ROLLUP (host, method) ORDER BY host, method",
            "",
            &["host=a; method=GET; b=100", "host=a; b=100", "host=b; method=GET; b=5000", "host=b; method=POST; b=20000", "host=b; b=25000", "host=c; method=DELETE; b=300", "host=c; b=300", "b=25400"],
        ),
        (
            "SELECT host, method, COUNT(*) AS n FROM `A` WHERE status = 200 GROUP BY host, method WITH CUBE ORDER BY n DESC, host, method LIMIT 4",
            "",
            &["n=3", "method=GET; n=2", "host=a; method=GET; n=1", "host=a; n=1"],
        ),
        (
            "SELECT host, method, COUNT(*) AS n FROM `A` GROUP BY GROUPING SETS ((host), (method)) ORDER BY host, method",
            "",
            &["host=a; n=2", "host=b; n=2", "host=c; n=1", "method=DELETE; n=1", "method=GET; n=3", "method=POST; n=1"],
        ),
        // LIKE … ESCAPE: the escape character makes % and _ themselves.
        (
            "SELECT host FROM `A` WHERE method LIKE 'G_T' AND host NOT LIKE 'b!%' ESCAPE '!' AND host LIKE 'b' ESCAPE '!'",
            "",
            &["host=b; @ptr=p4"],
        ),
        // GROUP BY ALL: every item without an aggregate.
        (
            "SELECT host, method, COUNT(*) AS n, MAX(bytes) AS m FROM `A` GROUP BY ALL ORDER BY host, method",
            "stats count(*) as n, max(bytes) as m by host, method | sort host asc, method asc | display host, method, n, m",
            &["host=a; method=GET; n=2; m=100", "host=b; method=GET; n=1; m=5000", "host=b; method=POST; n=1; m=20000", "host=c; method=DELETE; n=1; m=300"],
        ),
        // INTERSECT ALL and EXCEPT ALL count copies: min(m, n) and max(m − n, 0).
        (
            "SELECT method FROM `A` INTERSECT ALL SELECT method FROM `B` WHERE status = 200 ORDER BY method",
            "",
            &["method=DELETE; @ptr=p3", "method=GET; @ptr=p4", "method=GET; @ptr=p2"],
        ),
        (
            "SELECT method FROM `A` EXCEPT ALL SELECT method FROM `B` WHERE status = 200 ORDER BY method",
            "",
            &["method=GET; @ptr=p0", "method=POST; @ptr=p1"],
        ),
        (
            "SELECT method FROM `A` WHERE status = 500 UNION ALL SELECT method FROM `B` WHERE status = 404 EXCEPT ALL SELECT method FROM `C` WHERE bytes = 0",
            "",
            &["method=POST; @ptr=p1"],
        ),
        // UNION ALL and UNION: the later SELECTs' rows (here over the same events) follow,
        // named as the first's columns; UNION drops repeated rows; ORDER BY and LIMIT are the
        // union's.
        (
            "SELECT host AS h, status FROM `A` WHERE status = 500 UNION ALL SELECT host, status FROM `B` WHERE status = 404 ORDER BY h",
            "",
            &["h=a; status=404", "h=b; status=500; @ptr=p1"],
        ),
        (
            "SELECT method FROM `A` UNION SELECT method FROM `B` WHERE bytes > 0 ORDER BY 1 DESC LIMIT 2",
            "",
            &["method=POST; @ptr=p1", "method=GET; @ptr=p4"],
        ),
        (
            "SELECT method, COUNT(*) AS n FROM `A` GROUP BY method UNION ALL SELECT host, COUNT(*) FROM `B` GROUP BY host ORDER BY n DESC, method LIMIT 3",
            "",
            &["method=GET; n=3", "method=a; n=2", "method=b; n=2"],
        ),
        // Window functions: each row's value over its part, the rows' order left to ORDER BY.
        (
            "SELECT host, bytes, ROW_NUMBER() OVER (PARTITION BY host ORDER BY bytes DESC) AS rn FROM `A` ORDER BY host, rn",
            "",
            &[
                "host=a; bytes=100; rn=1; @ptr=p0",
                "host=a; bytes=0; rn=2; @ptr=p2",
                "host=b; bytes=20000; rn=1; @ptr=p1",
                "host=b; bytes=5000; rn=2; @ptr=p4",
                "host=c; bytes=300; rn=1; @ptr=p3",
            ],
        ),
        (
            "SELECT method, status, RANK() OVER (ORDER BY status) AS r, DENSE_RANK() OVER (ORDER BY status) AS d FROM `A` ORDER BY r, method, bytes",
            "",
            &[
                "method=DELETE; status=200; r=1; d=1; @ptr=p3",
                "method=GET; status=200; r=1; d=1; @ptr=p0",
                "method=GET; status=200; r=1; d=1; @ptr=p4",
                "method=GET; status=404; r=4; d=2; @ptr=p2",
                "method=POST; status=500; r=5; d=3; @ptr=p1",
            ],
        ),
        (
            "SELECT host, bytes, LAG(bytes) OVER (ORDER BY bytes) AS prev, LEAD(bytes, 2, -1) OVER (ORDER BY bytes) AS next2 FROM `A` ORDER BY bytes",
            "",
            &[
                "host=a; bytes=0; next2=300; @ptr=p2",
                "host=a; bytes=100; prev=0; next2=5000; @ptr=p0",
                "host=c; bytes=300; prev=100; next2=20000; @ptr=p3",
                "host=b; bytes=5000; prev=300; next2=-1; @ptr=p4",
                "host=b; bytes=20000; prev=5000; next2=-1; @ptr=p1",
            ],
        ),
        (
            "SELECT host, COUNT(*) AS n, SUM(bytes) AS total, RANK() OVER (ORDER BY SUM(bytes) DESC) AS r FROM `A` GROUP BY host ORDER BY r",
            "",
            &[
                "host=b; n=2; total=25000; r=1",
                "host=c; n=1; total=300; r=2",
                "host=a; n=2; total=100; r=3",
            ],
        ),
        (
            "SELECT host, RANK() OVER (ORDER BY MAX(bytes)) AS r, LAG(host) OVER (ORDER BY MAX(bytes)) AS before FROM `A` GROUP BY host ORDER BY r DESC LIMIT 2",
            "",
            &["host=b; r=3; before=c", "host=c; r=2; before=a"],
        ),
        (
            "SELECT CAST('2020-08-26 10:00:00' AS DATE) AS d, CAST('2020-08-26 10:00:00' AS TIMESTAMP) AS t, TIMESTAMPDIFF(MINUTE, `@timestamp`, '2023-11-14 23:13:23') AS m, CONCAT_WS(',', host, method) AS c, CURRENT_DATE = CURRENT_DATE AS same FROM `A` WHERE bytes = 300",
            "",
            &["d=2020-08-26; t=2020-08-26 10:00:00.000; m=60; c=c,DELETE; same=true; @ptr=p3"],
        ),
        // Date, hash and math functions Logs Insights has no counterpart for.
        (
            "SELECT host, year(`@timestamp`) AS y, monthname(`@timestamp`) AS m, hour(`@timestamp`) AS h, dayofweek('2020-08-26') AS dw, sha1(host) AS s, round(cos(0), 1) AS c FROM `A` WHERE bytes = 300",
            "",
            &["host=c; y=2023; m=November; h=22; dw=4; s=84a516841ba77a5b4648de2cd0dfcb30ea46dbb4; c=1; @ptr=p3"],
        ),
        // Review findings: ORDER BY numbers count the window items; window keys read the
        // records' columns, not an item that renames one; a missing value orders first.
        (
            "SELECT host, ROW_NUMBER() OVER (ORDER BY bytes) AS rn, bytes FROM `A` ORDER BY 2 DESC LIMIT 2",
            "",
            &["host=b; rn=5; bytes=20000; @ptr=p1", "host=b; rn=4; bytes=5000; @ptr=p4"],
        ),
        (
            "SELECT bytes * 2 AS bytes, LAG(bytes) OVER (ORDER BY bytes) AS prev FROM `A` WHERE host = 'a' ORDER BY bytes",
            "",
            &["bytes=0; @ptr=p2", "bytes=200; prev=0; @ptr=p0"],
        ),
        (
            "SELECT method, ROW_NUMBER() OVER (ORDER BY CASE WHEN status <> 404 THEN bytes END) AS rn FROM `A` ORDER BY rn",
            "",
            &[
                "method=GET; rn=1; @ptr=p2",
                "method=GET; rn=2; @ptr=p0",
                "method=DELETE; rn=3; @ptr=p3",
                "method=GET; rn=4; @ptr=p4",
                "method=POST; rn=5; @ptr=p1",
            ],
        ),
        (
            "SELECT ROUND(VAR_SAMP(bytes), 2) AS v, ROUND(VAR_POP(bytes), 2) AS p, ROUND(STDDEV_POP(bytes), 2) AS s, VARIANCE(bytes) > 0 AS pos FROM `A`",
            "",
            &["v=74017000; p=59213600; s=7695.04; pos=true"],
        ),
        (
            "SELECT host, bytes FROM `A` ORDER BY abs(bytes - (SELECT AVG(bytes) FROM `B`)) LIMIT 2",
            "",
            &["host=b; bytes=5000; @ptr=p4", "host=c; bytes=300; @ptr=p3"],
        ),
        (
            "SELECT host FROM `A` WHERE NOT (bytes > (SELECT MAX(bytes) FROM `B` WHERE bytes > 99999))",
            "",
            &[],
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.host ORDER BY b.bytes LIMIT 1) ORDER BY a.bytes",
            "",
            &["host=a; @ptr=p2", "host=a; @ptr=p0", "host=c; @ptr=p3", "host=b; @ptr=p4", "host=b; @ptr=p1"],
        ),
        // Scalar subqueries (run first over their own FROM; no row is NULL) and EXISTS
        // correlated by one equality.
        (
            "SELECT host, bytes FROM `A` WHERE bytes > (SELECT AVG(bytes) FROM `B`) ORDER BY bytes",
            "",
            &["host=b; bytes=20000; @ptr=p1"],
        ),
        (
            "SELECT host, bytes - (SELECT MIN(bytes) FROM `B` WHERE bytes > 0) AS over_min FROM `A` WHERE host = 'c'",
            "",
            &["host=c; over_min=200; @ptr=p3"],
        ),
        (
            "SELECT host, SUM(bytes) AS b FROM `A` GROUP BY host HAVING SUM(bytes) > (SELECT AVG(bytes) FROM `B`)",
            "",
            &["host=b; b=25000"],
        ),
        (
            "SELECT host FROM `A` WHERE bytes > (SELECT MAX(bytes) FROM `B` WHERE bytes > 99999)",
            "",
            &[],
        ),
        (
            "SELECT a.host, a.status FROM `A` AS a WHERE EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.host AND b.status = 500) ORDER BY a.bytes",
            "",
            &["host=b; status=200; @ptr=p4", "host=b; status=500; @ptr=p1"],
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE NOT EXISTS (SELECT 1 FROM `B` AS b WHERE a.host = b.host AND (b.bytes > 1000)) ORDER BY a.bytes",
            "",
            &["host=a; @ptr=p2", "host=a; @ptr=p0", "host=c; @ptr=p3"],
        ),
        // Correlated by several equalities: the rows of the outer row's keys.
        (
            "SELECT a.host, a.method FROM `A` AS a WHERE EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.host AND b.method = a.method AND b.status <> 200) ORDER BY a.bytes",
            "",
            &["host=a; method=GET; @ptr=p2", "host=a; method=GET; @ptr=p0", "host=b; method=POST; @ptr=p1"],
        ),
        (
            "SELECT a.host, a.method FROM `A` AS a WHERE NOT EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.host AND a.method = b.method AND b.status <> 200) ORDER BY a.bytes",
            "",
            &["host=c; method=DELETE; @ptr=p3", "host=b; method=GET; @ptr=p4"],
        ),
        (
            "SELECT a.host, a.method, (SELECT COUNT(*) FROM `B` AS b WHERE b.host = a.host AND b.method = a.method) AS same, (SELECT MAX(b.bytes) FROM `B` AS b WHERE b.method = a.method AND b.host = a.host AND b.status <> 200) AS below FROM `A` AS a ORDER BY a.bytes",
            "",
            &["host=a; method=GET; same=2; below=0; @ptr=p2", "host=a; method=GET; same=2; below=0; @ptr=p0", "host=c; method=DELETE; same=1; @ptr=p3", "host=b; method=GET; same=1; @ptr=p4", "host=b; method=POST; same=1; below=20000; @ptr=p1"],
        ),
        // (A missing outer key matches no inner row: NOT EXISTS holds, EXISTS does not.)
        (
            "SELECT a.host FROM `A` AS a WHERE NOT EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.nope) AND NOT EXISTS (SELECT 1 FROM `B` AS b WHERE b.host = a.host AND b.bytes < 1000) ORDER BY a.bytes",
            "",
            &["host=b; @ptr=p4", "host=b; @ptr=p1"],
        ),
        // Aggregate windows: over the whole part without ORDER BY, running (peers included)
        // with it.
        (
            "SELECT host, bytes, SUM(bytes) OVER (PARTITION BY host) AS total, COUNT(*) OVER (PARTITION BY host) AS n, MAX(bytes) OVER () AS top FROM `A` ORDER BY host, bytes",
            "",
            &[
                "host=a; bytes=0; total=100; n=2; top=20000; @ptr=p2",
                "host=a; bytes=100; total=100; n=2; top=20000; @ptr=p0",
                "host=b; bytes=5000; total=25000; n=2; top=20000; @ptr=p4",
                "host=b; bytes=20000; total=25000; n=2; top=20000; @ptr=p1",
                "host=c; bytes=300; total=300; n=1; top=20000; @ptr=p3",
            ],
        ),
        // Named windows: WINDOW w AS (…).
        (
            "SELECT host, bytes, ROW_NUMBER() OVER w AS rn, SUM(bytes) OVER v AS total FROM `A` WINDOW w AS (PARTITION BY host ORDER BY bytes DESC), v AS (PARTITION BY host) ORDER BY host, rn",
            "",
            &["host=a; bytes=100; rn=1; total=100; @ptr=p0", "host=a; bytes=0; rn=2; total=100; @ptr=p2", "host=b; bytes=20000; rn=1; total=25000; @ptr=p1", "host=b; bytes=5000; rn=2; total=25000; @ptr=p4", "host=c; bytes=300; rn=1; total=300; @ptr=p3"],
        ),
        // IGNORE NULLS: the first/last/n-th row with a value.
        (
            "SELECT bytes, FIRST_VALUE(CASE WHEN bytes > 200 THEN host END) IGNORE NULLS OVER (ORDER BY bytes) AS f, LAST_VALUE(CASE WHEN bytes < 1000 THEN host END, true) OVER (ORDER BY bytes ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS l, NTH_VALUE(CASE WHEN status = 200 THEN bytes END, 2) IGNORE NULLS OVER (ORDER BY bytes ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n FROM `A` ORDER BY bytes",
            "",
            &["bytes=0; l=c; n=300; @ptr=p2", "bytes=100; l=c; n=300; @ptr=p0", "bytes=300; f=c; l=c; n=300; @ptr=p3", "bytes=5000; f=c; l=c; n=300; @ptr=p4", "bytes=20000; f=c; l=c; n=300; @ptr=p1"],
        ),
        // Items that are expressions of the group keys; GROUP BY an item's alias.
        (
            "SELECT upper(host) AS h, count(*) AS n FROM `A` GROUP BY host ORDER BY h",
            "",
            &["h=A; n=2", "h=B; n=2", "h=C; n=1"],
        ),
        (
            "SELECT CASE WHEN status >= 500 THEN 'err' ELSE 'ok' END AS k, count(*) AS n FROM `A` GROUP BY k ORDER BY k",
            "",
            &["k=err; n=1", "k=ok; n=4"],
        ),
        // GROUPING() and expressions of the grouping columns with ROLLUP.
        (
            "SELECT host, count(*) AS n, GROUPING(host) AS g, grouping_id(host, method) AS gid, CASE WHEN GROUPING(host) = 1 THEN 'all' ELSE upper(host) END AS label FROM `A` GROUP BY ROLLUP(host, method) ORDER BY gid, host, n",
            "",
            &["host=a; n=2; g=0; gid=0; label=A", "host=b; n=1; g=0; gid=0; label=B", "host=b; n=1; g=0; gid=0; label=B", "host=c; n=1; g=0; gid=0; label=C", "host=a; n=2; g=0; gid=1; label=A", "host=b; n=2; g=0; gid=1; label=B", "host=c; n=1; g=0; gid=1; label=C", "n=5; g=1; gid=3; label=all"],
        ),
        // Window functions inside expressions: computed once the windows are.
        (
            "SELECT host, COUNT(*) AS n, COUNT(*) * 100 / SUM(COUNT(*)) OVER () AS pct FROM `A` GROUP BY host ORDER BY pct DESC, host",
            "",
            &["host=a; n=2; pct=40", "host=b; n=2; pct=40", "host=c; n=1; pct=20"],
        ),
        (
            "SELECT bytes, bytes - LAG(bytes) OVER (ORDER BY `@timestamp`) AS delta, ROUND(100.0 * bytes / SUM(bytes) OVER (), 1) AS share, CASE WHEN ROW_NUMBER() OVER (ORDER BY bytes DESC) = 1 THEN 'top' ELSE 'rest' END AS tag FROM `A` ORDER BY `@timestamp`",
            "",
            &["bytes=100; share=0.4; tag=rest; @ptr=p0", "bytes=20000; delta=19900; share=78.7; tag=top; @ptr=p1", "bytes=0; delta=-20000; share=0; tag=rest; @ptr=p2", "bytes=300; delta=300; share=1.2; tag=rest; @ptr=p3", "bytes=5000; delta=4700; share=19.7; tag=rest; @ptr=p4"],
        ),
        // LAG/LEAD IGNORE NULLS count the rows with a value; NULLS FIRST/LAST in a window.
        (
            "SELECT bytes, LAG(CASE WHEN status = 200 THEN bytes END) IGNORE NULLS OVER (ORDER BY `@timestamp`) AS prev_ok, LEAD(CASE WHEN status = 200 THEN bytes END, 1, -1) IGNORE NULLS OVER (ORDER BY `@timestamp`) AS next_ok, ROW_NUMBER() OVER (ORDER BY CASE WHEN status = 200 THEN bytes END DESC NULLS FIRST) AS rn FROM `A` ORDER BY `@timestamp`",
            "",
            &["bytes=100; next_ok=300; rn=5; @ptr=p0", "bytes=20000; prev_ok=100; next_ok=300; rn=2; @ptr=p1", "bytes=0; prev_ok=100; next_ok=300; rn=1; @ptr=p2", "bytes=300; prev_ok=100; next_ok=5000; rn=4; @ptr=p3", "bytes=5000; prev_ok=300; next_ok=-1; rn=3; @ptr=p4"],
        ),
        // GROUPS frames count groups of peers; RANGE offsets may be fractions, or intervals
        // over a time.
        (
            "SELECT status, bytes, COUNT(*) OVER (ORDER BY status GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) AS g, SUM(bytes) OVER (ORDER BY status GROUPS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS s FROM `A` ORDER BY status, bytes",
            "",
            &["status=200; bytes=100; g=3; s=5400; @ptr=p0", "status=200; bytes=300; g=3; s=5400; @ptr=p3", "status=200; bytes=5000; g=3; s=5400; @ptr=p4", "status=404; bytes=0; g=4; s=20000; @ptr=p2", "status=500; bytes=20000; g=2; s=20000; @ptr=p1"],
        ),
        (
            "SELECT bytes, COUNT(*) OVER (ORDER BY `@timestamp` RANGE BETWEEN INTERVAL 2 SECONDS PRECEDING AND CURRENT ROW) AS recent, SUM(bytes) OVER (ORDER BY bytes RANGE BETWEEN 0.5 PRECEDING AND 100.5 FOLLOWING) AS d FROM `A` ORDER BY `@timestamp`",
            "",
            &["bytes=100; recent=1; d=100; @ptr=p0", "bytes=20000; recent=2; d=20000; @ptr=p1", "bytes=0; recent=3; d=100; @ptr=p2", "bytes=300; recent=3; d=300; @ptr=p3", "bytes=5000; recent=3; d=5000; @ptr=p4"],
        ),
        // RANGE frames by value, and NTH_VALUE.
        (
            "SELECT bytes, COUNT(*) OVER (ORDER BY bytes RANGE BETWEEN 200 PRECEDING AND 200 FOLLOWING) AS near, SUM(bytes) OVER (ORDER BY bytes DESC RANGE BETWEEN CURRENT ROW AND 15000 FOLLOWING) AS below, NTH_VALUE(host, 2) OVER (ORDER BY bytes ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second, NTH_VALUE(host, 3) OVER (ORDER BY bytes) AS third FROM `A` ORDER BY bytes",
            "",
            &["bytes=0; near=2; below=0; second=a; @ptr=p2", "bytes=100; near=3; below=100; second=a; @ptr=p0", "bytes=300; near=2; below=400; second=a; third=c; @ptr=p3", "bytes=5000; near=1; below=5400; second=a; third=c; @ptr=p4", "bytes=20000; near=1; below=25000; second=a; third=c; @ptr=p1"],
        ),
        // Frames (ROWS offsets, UNBOUNDED, CURRENT ROW), deviations, NTILE, PERCENT_RANK,
        // CUME_DIST, FIRST_VALUE and LAST_VALUE.
        (
            "SELECT bytes, SUM(bytes) OVER (ORDER BY bytes ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS s3, MIN(bytes) OVER (ORDER BY bytes ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS mn, MAX(bytes) OVER (ORDER BY bytes DESC ROWS 2 PRECEDING) AS mx, COUNT(*) OVER (ORDER BY bytes ROWS BETWEEN 2 FOLLOWING AND UNBOUNDED FOLLOWING) AS later, STDDEV(bytes) OVER (PARTITION BY host) AS sd, VAR_POP(bytes) OVER (PARTITION BY host) AS vp, NTILE(2) OVER (ORDER BY bytes) AS t, PERCENT_RANK() OVER (ORDER BY bytes) AS pr, CUME_DIST() OVER (ORDER BY status) AS cd, FIRST_VALUE(host) OVER (ORDER BY bytes) AS fv, LAST_VALUE(host) OVER (ORDER BY bytes ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS lv, LAST_VALUE(host) OVER (ORDER BY status) AS lp FROM `A` ORDER BY bytes",
            "",
            &[
                "bytes=0; s3=100; mn=0; mx=300; later=3; sd=70.71067811865476; vp=2500; t=1; pr=0; cd=0.8; fv=a; lv=b; lp=a; @ptr=p2",
                "bytes=100; s3=400; mn=100; mx=5000; later=2; sd=70.71067811865476; vp=2500; t=1; pr=0.25; cd=0.6; fv=a; lv=b; lp=a; @ptr=p0",
                "bytes=300; s3=5400; mn=300; mx=20000; later=1; vp=0; t=1; pr=0.5; cd=0.6; fv=a; lv=b; lp=a; @ptr=p3",
                "bytes=5000; s3=25300; mn=5000; mx=20000; later=0; sd=10606.601717798212; vp=56250000; t=2; pr=0.75; cd=0.6; fv=a; lv=b; lp=a; @ptr=p4",
                "bytes=20000; s3=25000; mn=20000; mx=20000; later=0; sd=10606.601717798212; vp=56250000; t=2; pr=1; cd=1; fv=a; lv=b; lp=b; @ptr=p1",
            ],
        ),
        (
            "SELECT bytes, status, SUM(bytes) OVER (ORDER BY status) AS run, AVG(bytes) OVER (ORDER BY status) AS a FROM `A` ORDER BY status, bytes",
            "",
            &[
                "bytes=100; status=200; run=5400; a=1800; @ptr=p0",
                "bytes=300; status=200; run=5400; a=1800; @ptr=p3",
                "bytes=5000; status=200; run=5400; a=1800; @ptr=p4",
                "bytes=0; status=404; run=5400; a=1350; @ptr=p2",
                "bytes=20000; status=500; run=25400; a=5080; @ptr=p1",
            ],
        ),
        (
            "SELECT host, SUM(bytes) AS b, SUM(SUM(bytes)) OVER () AS all_bytes, MIN(host) OVER (ORDER BY SUM(bytes) DESC) AS m FROM `A` GROUP BY host ORDER BY b DESC",
            "",
            &[
                "host=b; b=25000; all_bytes=25400; m=b",
                "host=c; b=300; all_bytes=25400; m=b",
                "host=a; b=100; all_bytes=25400; m=a",
            ],
        ),
        // Functions written otherwise in Logs Insights.
        (
            "SELECT power(bytes, 2) AS sq, mod(bytes, 7) AS m, nvl2(user, 1, 0) AS u, regexp_replace(method, 'E', 'e') AS r FROM `A` WHERE bytes = 300",
            "",
            &["sq=90000; m=6; u=0; r=DeLeTe; @ptr=p3"],
        ),
        // INTERSECT and EXCEPT keep or drop the rows equal to one of the later SELECT's, then
        // keep distinct rows; a chain applies left to right.
        (
            "SELECT host FROM `A` INTERSECT SELECT host FROM `B` WHERE status = 500",
            "",
            &["host=b; @ptr=p4"],
        ),
        (
            "SELECT host FROM `A` EXCEPT SELECT host FROM `B` WHERE status = 500 ORDER BY host",
            "",
            &["host=a; @ptr=p2", "host=c; @ptr=p3"],
        ),
        (
            "SELECT host FROM `A` WHERE method = 'GET' UNION SELECT host FROM `B` WHERE method = 'POST' EXCEPT SELECT host FROM `C` WHERE bytes = 0 ORDER BY host",
            "",
            &["host=b; @ptr=p4"],
        ),
        // LIMIT k OFFSET m: the k rows after the first m.
        (
            "SELECT host, bytes FROM `A` ORDER BY bytes DESC LIMIT 2 OFFSET 1",
            "",
            &["host=b; bytes=5000; @ptr=p4", "host=c; bytes=300; @ptr=p3"],
        ),
        (
            "SELECT host FROM `A` ORDER BY bytes LIMIT 3 OFFSET 10",
            "",
            &[],
        ),
        // CAST to numbers (what does not convert is null) and to strings (null stays null).
        (
            "SELECT CAST(bytes / 3 AS INT) AS third, CAST(host AS BIGINT) AS h, CAST(status AS STRING) AS s, CAST(nope AS STRING) AS n FROM `A` WHERE method = 'DELETE'",
            "",
            &["third=100; s=200; @ptr=p3"],
        ),
        // Correlated scalar subqueries: one value per key, looked up by the outer row's key
        // (a count over no row is 0, another aggregate NULL).
        (
            "SELECT a.host, a.bytes, (SELECT COUNT(*) FROM `B` AS b WHERE b.host = a.host AND b.status = 200) AS ok, (SELECT MAX(b.bytes) FROM `B` AS b WHERE b.host = a.host AND b.method = 'POST') AS post, (SELECT COUNT(*) FROM `B` AS b WHERE b.host = a.host AND b.status = 500) AS errs FROM `A` AS a ORDER BY a.bytes",
            "",
            &["host=a; bytes=0; ok=1; errs=0; @ptr=p2", "host=a; bytes=100; ok=1; errs=0; @ptr=p0", "host=c; bytes=300; ok=1; errs=0; @ptr=p3", "host=b; bytes=5000; ok=1; post=20000; errs=1; @ptr=p4", "host=b; bytes=20000; ok=1; post=20000; errs=1; @ptr=p1"],
        ),
        // (Under NOT a count over no row is 0, not unknown: the anti-join idiom; and without
        // an alias the table's name qualifies the outer column.)
        (
            "SELECT a.host FROM `A` AS a WHERE NOT ((SELECT COUNT(*) FROM `B` AS b WHERE b.host = a.host AND b.status = 500) > 0) ORDER BY a.host, a.bytes",
            "",
            &["host=a; @ptr=p2", "host=a; @ptr=p0", "host=c; @ptr=p3"],
        ),
        (
            "SELECT host FROM `A` WHERE bytes > (SELECT AVG(b.bytes) FROM `B` AS b WHERE b.host = A.host)",
            "",
            &["host=b; @ptr=p1", "host=a; @ptr=p0"],
        ),
        (
            "SELECT a.host, a.bytes FROM `A` AS a WHERE a.bytes >= (SELECT AVG(b.bytes) FROM `B` AS b WHERE a.host = b.host) ORDER BY a.host",
            "",
            &["host=a; bytes=100; @ptr=p0", "host=b; bytes=20000; @ptr=p1", "host=c; bytes=300; @ptr=p3"],
        ),
        // Subqueries in FROM: the outer SELECT reads the inner one's rows.
        (
            "SELECT host, bytes, rn FROM (SELECT host, bytes, ROW_NUMBER() OVER (PARTITION BY host ORDER BY bytes DESC) AS rn FROM `A`) t WHERE rn <= 1 ORDER BY host",
            "",
            &["host=a; bytes=100; rn=1; @ptr=p0", "host=b; bytes=20000; rn=1; @ptr=p1", "host=c; bytes=300; rn=1; @ptr=p3"],
        ),
        (
            "SELECT AVG(n) AS per_host, MAX(n) AS most FROM (SELECT host, COUNT(*) AS n FROM `A` GROUP BY host)",
            "",
            &["per_host=1.6666666666666667; most=2"],
        ),
        (
            "SELECT * FROM (SELECT method, SUM(bytes) AS b FROM `A` GROUP BY method) AS m WHERE m.b > 1000 ORDER BY b DESC",
            "",
            &["method=POST; b=20000", "method=GET; b=5100"],
        ),
        (
            "SELECT method, COUNT(*) AS n FROM (SELECT method, status FROM `A` WHERE status = 200) GROUP BY method ORDER BY method",
            "",
            &["method=DELETE; n=1", "method=GET; n=2"],
        ),
        (
            "SELECT x.host FROM (SELECT * FROM `A` WHERE bytes > 1000) AS x ORDER BY x.bytes",
            "",
            &["host=b; @ptr=p4", "host=b; @ptr=p1"],
        ),
        (
            "SELECT COUNT(*) AS n, SUM(b) AS total FROM (SELECT host, SUM(bytes) AS b FROM `A` GROUP BY host ORDER BY b DESC LIMIT 2)",
            "",
            &["n=2; total=25300"],
        ),
        (
            "SELECT host, MAX(rn) AS most FROM (SELECT host, ROW_NUMBER() OVER (PARTITION BY host ORDER BY bytes) AS rn FROM `A`) GROUP BY host ORDER BY host",
            "",
            &["host=a; most=2", "host=b; most=2", "host=c; most=1"],
        ),
        // NULLS FIRST puts missing values first; NULLS LAST is the order anyway.
        (
            "SELECT host, CASE WHEN bytes > 1000 THEN bytes END AS big FROM `A` ORDER BY big DESC NULLS FIRST, host",
            "",
            &["host=a; @ptr=p2", "host=a; @ptr=p0", "host=c; @ptr=p3", "host=b; big=20000; @ptr=p1", "host=b; big=5000; @ptr=p4"],
        ),
        (
            "SELECT host, CASE WHEN bytes > 1000 THEN bytes END AS big FROM `A` ORDER BY 2 ASC NULLS LAST, 1 NULLS FIRST LIMIT 3",
            "",
            &["host=b; big=5000; @ptr=p4", "host=b; big=20000; @ptr=p1", "host=a; @ptr=p2"],
        ),
        // filterIndex in FROM filters as WHERE does (no field indexes exist here).
        (
            "SELECT host, status FROM `filterIndex('status' = 200, 'host' IN ['a', \"c\"])` ORDER BY bytes",
            "filter status = 200 and host in [\"a\", \"c\"] | sort bytes asc | display host, status",
            &["host=a; status=200; @ptr=p0", "host=c; status=200; @ptr=p3"],
        ),
        // Aggregates with FILTER (WHERE …), count_if, approx_count_distinct, percentile_approx.
        (
            "SELECT host, COUNT(*) FILTER (WHERE status >= 400) AS errors, SUM(bytes) FILTER (WHERE method = 'GET') AS get_bytes, COUNT_IF(status = 200) AS ok, APPROX_COUNT_DISTINCT(method) AS m, PERCENTILE_APPROX(bytes, 0.5) AS med, approx_percentile(bytes, 1, 100) FILTER (WHERE bytes > 0) AS top FROM `A` GROUP BY host ORDER BY host",
            "",
            &[
                "host=a; errors=1; get_bytes=100; ok=1; m=1; med=0; top=100",
                "host=b; errors=1; get_bytes=5000; ok=1; m=2; med=5000; top=20000",
                "host=c; errors=0; ok=1; m=1; med=300; top=300",
            ],
        ),
        // Spark's exact percentile and median interpolate between the values around the rank.
        (
            "SELECT MEDIAN(bytes) AS med, PERCENTILE(bytes, 0.9) AS p90, PERCENTILE(bytes, 0.25) FILTER (WHERE bytes > 0) AS q1, PERCENTILE_APPROX(bytes, 0.5) AS approx FROM `A`",
            "",
            &["med=300; p90=14000.000000000002; q1=250; approx=300"],
        ),
        (
            "SELECT host, MEDIAN(bytes) AS med FROM `A` GROUP BY host ORDER BY host",
            "",
            &["host=a; med=50", "host=b; med=12500", "host=c; med=300"],
        ),
        // Text functions of Spark.
        (
            "SELECT method RLIKE '^G.T$' AS g, method NOT REGEXP 'E' AS ne, POSITION('T' IN method) AS pos, INSTR(method, 'E') AS i, LOCATE('E', method, 3) AS l, LPAD(host, 3, 'xy') AS lp, RPAD(host, 2) AS rp, INITCAP('hello wORLD') AS ic, REPEAT(host, 2) AS r, ASCII(method) AS a, STARTSWITH(method, 'G') AS sw, CONTAINS(method, 'OS') AS ct, REGEXP_EXTRACT(method, '(G)(E)', 2) AS rx, REGEXP_LIKE(host, 'a|c') AS rl FROM `A` WHERE bytes = 100",
            "",
            &["g=true; ne=false; pos=3; i=2; l=0; lp=xya; rp=a ; ic=Hello World; r=aa; a=71; sw=true; ct=false; rx=E; rl=true; @ptr=p0"],
        ),
        // Seconds before 1970, a 60th second, and the wall clock across a DST change.
        (
            "SELECT EXTRACT(SECOND FROM '1969-12-31 23:59:59.250') AS s, make_timestamp(2020, 1, 1, 10, 59, 60) AS m, to_utc_timestamp('2020-03-08 03:30:00', 'America/New_York') AS u FROM `A` WHERE bytes = 100",
            "",
            &["s=59.25; m=2020-01-01 11:00:00.000; u=2020-03-08 07:30:00.000; @ptr=p0"],
        ),
        // Casts as functions, pmod, hex, bround, width_bucket, sha2's other sizes.
        (
            "SELECT int('12.7') AS i, bigint(bytes) AS b, double('1.5') AS d, string(status) AS s, boolean('yes') AS t, pmod(-7, 3) AS pm, hex(255) AS h, hex('AB') AS hs, unhex('4142') AS u, bround(2.5) AS b1, bround(3.5) AS b2, bround(1.25, 1) AS b3, width_bucket(5.3, 0.2, 10.6, 5) AS wb, width_bucket(-1, 0, 10, 5) AS w0, nanvl(bytes, 0) AS nv, sha2('abc', 224) AS s224, length(sha2('abc', 512)) AS l512 FROM `A` WHERE bytes = 100",
            "",
            &["i=12; b=100; d=1.5; s=200; t=true; pm=2; h=FF; hs=4142; u=AB; b1=2; b2=4; b3=1.2; wb=3; w0=0; nv=100; s224=23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7; l512=128; @ptr=p0"],
        ),
        // More of Spark's text and date functions.
        (
            "SELECT split_part('a,b,,c', ',', 2) AS s1, split_part('a,b', ',', -1) AS s2, split_part('a,b', ',', 5) AS s3, substring_index('www.apache.org', '.', 2) AS i1, substring_index('www.apache.org', '.', -1) AS i2, translate('AaBbCc', 'abc', '12') AS tr, regexp_count(method, '[A-Z]') AS rc, regexp_substr('a1b22', '[0-9]+') AS rs, chr(65) AS ch, TRIM(LEADING 'x' FROM 'xxhixx') AS tl, TRIM(TRAILING 'x' FROM 'xxhixx') AS tb, btrim('--hi--', '-') AS bt, EXTRACT(YEAR FROM `@timestamp`) AS y, EXTRACT(DOW FROM '2023-11-14') AS dw, date_part('doy', '2020-12-31') AS dy, EXTRACT(SECOND FROM '2020-01-01 10:11:12.250') AS sec, add_months('2020-01-31', 1) AS am, trunc('2020-08-26', 'MM') AS tm, from_utc_timestamp('2020-08-26 10:00:00', 'Asia/Tokyo') AS fu, to_utc_timestamp('2020-08-26 10:00:00', '-05:00') AS tu, make_timestamp(2020, 8, 26, 1, 2, 3.5) AS mt FROM `A` WHERE bytes = 100",
            "",
            &["s1=b; s2=b; s3=; i1=www.apache; i2=org; tr=A1B2C; rc=3; rs=1; ch=A; tl=hixx; tb=xxhi; bt=hi; y=2023; dw=3; dy=366; sec=12.25; am=2020-02-29; tm=2020-08-01; fu=2020-08-26 19:00:00.000; tu=2020-08-26 15:00:00.000; mt=2020-08-26 01:02:03.500; @ptr=p0"],
        ),
        // CLUSTER BY sorts; DISTRIBUTE BY changes nothing over one partition.
        (
            "SELECT host, bytes FROM `A` CLUSTER BY host",
            "",
            &["host=a; bytes=0; @ptr=p2", "host=a; bytes=100; @ptr=p0", "host=b; bytes=5000; @ptr=p4", "host=b; bytes=20000; @ptr=p1", "host=c; bytes=300; @ptr=p3"],
        ),
        (
            "SELECT host, bytes FROM `A` DISTRIBUTE BY host SORT BY bytes DESC",
            "fields host, bytes | sort bytes desc",
            &["host=b; bytes=20000; @ptr=p1", "host=b; bytes=5000; @ptr=p4", "host=c; bytes=300; @ptr=p3", "host=a; bytes=100; @ptr=p0", "host=a; bytes=0; @ptr=p2"],
        ),
        // Intervals move times: by units (months by the calendar), by text, by ranges.
        (
            "SELECT `@timestamp` + INTERVAL 1 HOUR AS a, `@timestamp` - INTERVAL '2' DAY AS b, INTERVAL 30 MINUTES + `@timestamp` AS c, CAST('2020-01-31' AS TIMESTAMP) + INTERVAL 1 MONTH AS d, '2020-01-01 00:00:00' + INTERVAL '3.5' SECOND AS e, '2020-01-01 00:00:00' - INTERVAL '1 10:30:00' DAY TO SECOND AS f, '2020-01-01 00:00:00' + INTERVAL '1-6' YEAR TO MONTH - INTERVAL -1 DAY AS g, '2020-01-01 00:00:00' + INTERVAL 1.5 HOURS AS h, '2020-01-01 00:00:00' + INTERVAL bytes / 100 MINUTE AS i FROM `A` WHERE bytes = 100",
            "",
            &["a=2023-11-14 23:13:20.000; b=2023-11-12 22:13:20.000; c=2023-11-14 22:43:20.000; d=2020-02-29 00:00:00.000; e=2020-01-01 00:00:03.500; f=2019-12-30 13:30:00.000; g=2021-07-02 00:00:00.000; h=2020-01-01 01:30:00.000; i=2020-01-01 00:01:00.000; @ptr=p0"],
        ),
        (
            "SELECT count(*) AS n FROM `A` WHERE `@timestamp` >= CAST('2023-11-14 22:13:20' AS TIMESTAMP) + INTERVAL 2 SECONDS AND `@timestamp` < now() - INTERVAL 30 MINUTES",
            "",
            &["n=3"],
        ),
        // Spark's date conversions.
        (
            "SELECT DATEDIFF('2024-03-01', '2024-02-01') AS dd, TO_DATE('26/08/2020', 'dd/MM/yyyy') AS d, TO_TIMESTAMP('2020-08-26 10:11:12') AS t, DATE_TRUNC('MONTH', '2020-08-26 10:11:12') AS m, DATE_TRUNC('hour', `@timestamp`) AS h, UNIX_SECONDS('2020-08-26 00:00:01') AS us, UNIX_MILLIS(TO_TIMESTAMP('1970-01-01 00:00:01')) AS um, DATE_FORMAT(`@timestamp`, \"yyyy-MM-dd'T'HH:mm:ss.SSS EEE\") AS f, date_format('2020-08-26', 'd MMM yy') AS g, TIMESTAMP_SECONDS(1598400000) AS ts FROM `A` WHERE bytes = 100",
            "",
            &["dd=29; d=2020-08-26; t=2020-08-26 10:11:12.000; m=2020-08-01 00:00:00.000; h=2023-11-14 22:00:00.000; us=1598400001; um=1000; f=2023-11-14T22:13:20.000 Tue; g=26 Aug 20; ts=2020-08-26 00:00:00.000; @ptr=p0"],
        ),
        // The small integers wrap as INT does; BOOLEAN reads Spark's words; NULL is null.
        (
            "SELECT CAST(bytes AS TINYINT) AS t, CAST(-bytes * 200 AS SMALLINT) AS s, CAST(bytes AS BOOLEAN) AS b, CAST(method AS BOOLEAN) AS m, CAST(' Yes ' AS BOOL) AS y, CAST('0' AS BOOLEAN) AS z, NULL AS n, COALESCE(NULL, host) AS c FROM `A` WHERE method = 'DELETE'",
            "",
            &["t=44; s=5536; b=true; y=true; z=false; c=c; @ptr=p3"],
        ),
        (
            "SELECT host FROM `A` WHERE CAST(status - 200 AS BOOLEAN) OR bytes IS NULL ORDER BY host",
            "",
            &["host=a; @ptr=p2", "host=b; @ptr=p1"],
        ),
        (
            "SELECT method, CAST(SUM(bytes) AS DOUBLE) / COUNT(*) AS mean FROM `A` GROUP BY method ORDER BY method",
            "stats sum(bytes) / count(*) as mean by method | sort method asc | display method, mean",
            &["method=DELETE; mean=300", "method=GET; mean=1700", "method=POST; mean=20000"],
        ),
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
        // filterIndex alone: every (Standard) log group, as no index tells them apart here.
        ("SELECT * FROM `filterIndex('region' = 'us-east-1')` WHERE status = 200 LIMIT 10;", vec![]),
        (
            "SELECT * FROM ` logGroups(logGroupIdentifier: ['/aws/lambda/my-function']) filterIndex('status' = 200) `;",
            vec!["/aws/lambda/my-function"],
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
            "SELECT inline(items) FROM `A`",
            "inline as a SELECT item is not supported yet",
            "inline",
        ),
        (
            "SELECT explode(tags) AS t, count(*) FROM `A` GROUP BY t",
            "explode in a grouped or DISTINCT SELECT",
            "explode",
        ),
        (
            "SELECT split(csv, '(?=a)') AS p FROM `A`",
            "does not compile",
            "split",
        ),
        (
            "SELECT x FROM `A` LATERAL VIEW explode(tags) t AS x, y, z",
            "one column of an array, two of a map",
            "explode",
        ),
        (
            "SELECT host FROM `A` UNION ALL SELECT host FROM `B` CLUSTER BY host",
            "with UNION, INTERSECT or EXCEPT are not supported yet",
            "",
        ),
        (
            "SELECT host, count(*) AS c FROM `A` GROUP BY ROLLUP(host) SORT BY host",
            "with ROLLUP, CUBE or GROUPING SETS are not supported yet",
            "",
        ),
        (
            "SELECT host FROM `A` CLUSTER BY host ORDER BY host",
            "CLUSTER BY goes without",
            "host",
        ),
        (
            "SELECT INTERVAL 1 DAY AS x FROM `A`",
            "only added to or subtracted from a time",
            "1 DAY",
        ),
        (
            "SELECT `@timestamp` + INTERVAL '1-2' DAY TO SECOND AS x FROM `A`",
            "not an interval this engine reads",
            "'1-2'",
        ),
        (
            "SELECT `@timestamp` + INTERVAL 1.5 MONTHS AS x FROM `A`",
            "not an interval this engine reads",
            "1.5",
        ),
        (
            "SELECT A.x FROM `A` AS A FULL OUTER JOIN `B` AS B ON A.id = B.id",
            "INNER and LEFT OUTER",
            "`B` AS B",
        ),
        (
            "SELECT A.x, y FROM `A` AS A JOIN `B` AS B ON A.id = B.id",
            "qualify y",
            "y",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `B` AS B ON A.id = B.id WHERE z > 1",
            "qualify z",
            "z",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `B` ON A.id = B.id",
            "alias for each side",
            "`B`",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `B` AS B ON A.id = B.id AND A.k = B.k",
            "one equality",
            "A.id",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `B` AS B ON A.id = A.k",
            "a column of each side",
            "A.id",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `logGroups(logGroupIdentifier: ['b'])` AS B ON A.id = B.id",
            "one log group, by name",
            "",
        ),
        (
            "SELECT A.x FROM `A` AS A JOIN `B` AS B USING (id, k)",
            "USING names one column",
            "",
        ),
        (
            "SELECT x FROM `A` UNION ALL SELECT x FROM `B` EXCEPT SELECT x FROM `C`",
            "mixing set operations with and without ALL",
            "",
        ),
        (
            "SELECT x FROM `A` EXCEPT (SELECT x FROM `B` UNION SELECT x FROM `C`)",
            "right side of a set operation",
            "",
        ),
        ("SELECT x FROM `A` UNION SELECT x, y FROM `B`", "same number of columns", ""),
        ("SELECT * FROM `A` UNION SELECT x FROM `B`", "SELECT * in a UNION", ""),
        (
            "SELECT x FROM `A` UNION SELECT x FROM `B` UNION ALL SELECT x FROM `C`",
            "mixing set operations with and without ALL",
            "",
        ),
        ("SELECT x FROM `A` UNION SELECT x FROM `B` ORDER BY y", "names one of its columns", ""),
        (
            "SELECT x FROM `A` UNION SELECT x FROM `B` WHERE x IN (SELECT z FROM `C`)",
            "a subquery in a later SELECT",
            "",
        ),
        ("SELECT x FROM `A` OFFSET 5", "OFFSET without LIMIT", ""),
        (
            "SELECT x FROM `A` WHERE x IN (SELECT y FROM `B` WHERE y IN (SELECT z FROM `C` WHERE z IN (SELECT w FROM `D` WHERE w IN (SELECT v FROM `E`))))",
            "nest at most 3 levels",
            "",
        ),
        ("SELECT x FROM `A` WHERE x IN (SELECT y, z FROM `B`)", "one column", ""),
        ("SELECT x FROM `A` WHERE (x, z) IN (SELECT y FROM `B`)", "select 2 columns", ""),
        ("SELECT x FROM `A` WHERE (x, z) IN (SELECT * FROM `B`)", "select 2 columns", ""),

        ("SELECT x IN (SELECT y FROM `B`) AS t FROM `A`", "only in WHERE", "x IN (SELECT y FROM `B`)"),
        (
            "SELECT x FROM `A` LIMIT 2 OFFSET y",
            "OFFSET takes a whole number",
            "y",
        ),
        (
            "SELECT CAST(x AS BINARY) FROM `A`",
            "CAST to BINARY is not supported yet",
            "x",
        ),
        ("SELECT x FROM `A` WHERE x RLIKE '(a'", "does not compile", "'(a'"),
        (
            "SELECT x FROM `A` WHERE x LIKE '!a' ESCAPE '!'",
            "only %, _ and ! may be",
            "'!a'",
        ),
        (
            "SELECT x FROM `A` WHERE x LIKE 'a' ESCAPE '!!'",
            "one character",
            "x LIKE",
        ),
        (
            "SELECT x FROM `A` WHERE NOT regexp_like(x, '(?<=a)b')",
            "does not compile here",
            "regexp_like",
        ),
        (
            "SELECT regexp_extract(x, '(?<!a)b', 0) FROM `A`",
            "look-around",
            "regexp_extract",
        ),
        (
            "SELECT date_trunc('fortnight', x) FROM `A`",
            "date_trunc takes a literal unit",
            "date_trunc('fortnight', x)",
        ),
        (
            "SELECT upper(method), COUNT(*) FROM `A` GROUP BY ROLLUP (host)",
            "an expression of the grouping columns",
            "upper(method)",
        ),
        (
            "SELECT upper(method) AS m, COUNT(*) FROM `A` GROUP BY host",
            "must be a GROUP BY expression",
            "method",
        ),
        (
            "SELECT host, COUNT(*) FROM `A` GROUP BY ROLLUP (host), CUBE (method)",
            "one ROLLUP, CUBE or GROUPING SETS",
            "method",
        ),
        ("SELECT * FROM `A` GROUP BY ALL", "GROUP BY ALL with SELECT *", ""),
        (
            "SELECT a.host FROM `A` AS a WHERE a.x > (SELECT b.x FROM `B` AS b WHERE b.k = a.k)",
            "selects one aggregate",
            "",
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE a.x > (SELECT COUNT(*) + 1 FROM `B` AS b WHERE b.k = a.k)",
            "one aggregate call",
            "",
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE a.x > (SELECT MAX(b.x) FROM `B` AS b WHERE b.k = a.k LIMIT 1)",
            "LIMIT or OFFSET in a correlated subquery",
            "",
        ),
        (
            "SELECT host, COUNT(*) AS c, RANK() OVER (ORDER BY COUNT(*) DESC) AS r FROM `A` GROUP BY ROLLUP (host)",
            "window functions with ROLLUP",
            "RANK()",
        ),
        (
            "SELECT COUNT(*) FROM `A` GROUP BY CUBE (a, b, c, d, e)",
            "at most 20 grouping sets",
            "a, b, c, d, e",
        ),
        (
            "SELECT a.host, COUNT(*) FROM `A` AS a GROUP BY a.host HAVING COUNT(*) > (SELECT COUNT(*) FROM `B` AS b WHERE b.host = a.host)",
            "JOIN or GROUP BY",
            "",
        ),
        (
            "SELECT nope FROM (SELECT host FROM `A`)",
            "nope is not a column of the subquery",
            "",
        ),
        (
            "SELECT h FROM (SELECT host AS h FROM (SELECT host FROM `A`))",
            "inside another subquery",
            "",
        ),
        (
            "SELECT h FROM (SELECT host AS h FROM `A`) AS t (x)",
            "column aliases",
            "",
        ),
        (
            "SELECT date_format(x, 'QQQ') FROM `A`",
            "pattern letters QQQ are not supported",
            "date_format",
        ),
        (
            "SELECT percentile_approx(x, 50) FROM `A`",
            "a percentage between 0 and 1",
            "50",
        ),
        (
            "SELECT percentile_approx(x, 0.5, -1) FROM `A`",
            "accuracy",
            "1",
        ),
        (
            "SELECT lower(x) FILTER (WHERE y > 1) FROM `A`",
            "lower with OVER, FILTER or WITHIN GROUP",
            "lower(x) FILTER (WHERE y > 1)",
        ),
        (
            "SELECT soundex(x) FROM `A`",
            "function soundex",
            "soundex(x)",
        ),
        (
            "SELECT x, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x) OVER () AS s FROM `A`",
            "window function percentile_cont is not supported yet",
            "PERCENTILE_CONT(0.5)",
        ),
        (
            "SELECT ROW_NUMBER() OVER w AS r FROM `A` WINDOW v AS (ORDER BY x)",
            "no window is named w",
            "",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY x, y RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) AS r FROM `A`",
            "exactly one ORDER BY value",
            "1",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY x ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) AS r FROM `A`",
            "cannot start after it ends",
            "SUM(x)",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND 3 PRECEDING) AS r FROM `A`",
            "cannot start after it ends",
            "SUM(x)",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY x ROWS BETWEEN 3 FOLLOWING AND 1 FOLLOWING) AS r FROM `A`",
            "cannot start after it ends",
            "SUM(x)",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY x GROUPS 1.5 PRECEDING) AS r FROM `A`",
            "whole number",
            "1.5",
        ),
        (
            "SELECT SUM(x) OVER (ORDER BY t RANGE INTERVAL 1 MONTH PRECEDING) AS r FROM `A`",
            "not months or years",
            "1",
        ),
        (
            "SELECT NTILE(0) OVER (ORDER BY x) AS r FROM `A`",
            "positive whole number of buckets",
            "0",
        ),
        (
            "SELECT x, ROW_NUMBER() OVER () AS r FROM `A`",
            "needs an ORDER BY",
            "ROW_NUMBER()",
        ),
        (
            "SELECT ROW_NUMBER() OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS r FROM `A`",
            "takes no window frame",
            "ROW_NUMBER()",
        ),
        (
            "SELECT x + RANK() OVER (ORDER BY x) FROM `A`",
            "give the SELECT item an alias",
            "RANK()",
        ),
        (
            "SELECT x FROM `A` WHERE RANK() OVER (ORDER BY x) = 1",
            "only in SELECT items",
            "RANK()",
        ),
        (
            "SELECT LAG(x, y) OVER (ORDER BY x) AS r FROM `A`",
            "offset is a whole number",
            "y",
        ),
        (
            "SELECT *, RANK() OVER (ORDER BY x) AS r FROM `A`",
            "window functions",
            "",
        ),
        (
            "SELECT host, RANK() OVER (ORDER BY SUM(bytes) DESC) AS r FROM `A` GROUP BY host HAVING r <= 3",
            "r",
            "",
        ),
        (
            "SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS rn, LAG(rn) OVER (ORDER BY x) AS p FROM `A`",
            "another window function",
            "rn",
        ),
        (
            "SELECT x FROM `A` WHERE EXISTS (SELECT 1 FROM `B` WHERE y = 1)",
            "EXISTS is supported correlated",
            "SELECT 1",
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE a.bytes > (SELECT MAX(b.bytes) FROM `B` AS b WHERE b.bytes < a.bytes)",
            "correlated",
            "a.bytes)",
        ),
        (
            "SELECT a.x FROM `A` AS a WHERE EXISTS (SELECT COUNT(*) FROM `B` AS b WHERE b.x = a.x)",
            "aggregating subquery",
            "SELECT COUNT(*)",
        ),
        (
            "SELECT a.x FROM `A` AS a WHERE EXISTS (SELECT 1 FROM `B` AS a WHERE a.x = a.x)",
            "other than the outer",
            "SELECT 1",
        ),
        (
            "SELECT host, bytes * 2 AS b2, SUM(b2) OVER (PARTITION BY host) AS s FROM `A`",
            "cannot read the SELECT item b2",
            "b2",
        ),
        (
            "SELECT x FROM `A` WHERE x > (SELECT y, z FROM `B`)",
            "selects one column",
            "SELECT y, z",
        ),
        (
            "SELECT x FROM `A` WHERE x > (SELECT y FROM `B` WHERE y > (SELECT 1 FROM `C`))",
            "inside a subquery",
            "SELECT 1",
        ),
        (
            "SELECT DISTINCT x, RANK() OVER (ORDER BY x) AS r FROM `A`",
            "SELECT DISTINCT",
            "RANK()",
        ),
        (
            "SELECT x, RANK() IGNORE NULLS OVER (ORDER BY x) AS r FROM `A`",
            "IGNORE NULLS is not supported",
            "RANK() IGNORE NULLS OVER (ORDER BY x)",
        ),
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
            "SELECT ds1.field1 FROM `dataSource(['DataSource1', 'DataSource2'])` AS ds1",
            "dataSource(…) is not supported",
            "`dataSource",
        ),
        (
            "SELECT * FROM `filterIndex(region = 'us-east-1')`",
            "filterIndex takes 'field' = value",
            "`filterIndex",
        ),
        (
            "SELECT * FROM `filterIndex('a' €€)`",
            "filterIndex takes 'field' = value",
            "`filterIndex",
        ),
        (
            "SELECT * FROM `filterIndex('a' = 1) filterIndex('b' = 2)`",
            "given twice",
            "`filterIndex",
        ),
        (
            "SELECT * FROM `filterIndex('a' = 1) junk`",
            "expected logGroups",
            "`filterIndex",
        ),
        (
            "SELECT l.x FROM `filterIndex('a' = 1)` AS l JOIN `B` AS r ON l.k = r.k",
            "filterIndex with a JOIN",
            "`filterIndex",
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

/// What a review of the translation found, each as it must now answer.
#[test]
fn review_findings_answer_as_spark_would_or_are_refused() {
    let ev = events();
    // Session 8's review: in a join only the two aliases qualify columns; nested string CASTs
    // cannot grow the translation without bound; TINYINT and SMALLINT (which wrap in Spark)
    // are refused; limits over 10,000 are taken; the join's group is a log group name.
    for (q, words) in [
        (
            "SELECT l.x FROM `A` AS l JOIN `B` AS r ON l.k = r.k WHERE z.x = 'a1'",
            "names no side of the join",
        ),
        (
            "SELECT A.x FROM `A` AS l JOIN `B` AS r ON l.k = r.k",
            "names no side of the join",
        ),
        (
            "SELECT l.x FROM `A` AS l JOIN `B` AS r ON l.k = r.k WHERE B.y = 1",
            "names no side of the join",
        ),
        ("SELECT CAST(x AS BINARY) FROM `A`", "CAST to BINARY"),
        (
            "SELECT l.x FROM `A` AS l JOIN `B\\` AS r ON l.k = r.k",
            "by name",
        ),
    ] {
        match nephoscope_insights::parse_sql(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q:?}: {e:?}"),
        }
    }
    let mut nested = "f".to_string();
    for _ in 0..20 {
        nested = format!("CAST({nested} AS STRING)");
    }
    let started = std::time::Instant::now();
    let e = nephoscope_insights::parse_sql(&format!("SELECT {nested} AS s FROM `A`")).unwrap_err();
    assert!(e.message.contains("too complex"), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(nephoscope_insights::parse_sql("SELECT x FROM `A` LIMIT 20000 OFFSET 5").is_ok());
    // Session 8's second review: deep trees (long chains, many UNIONs) neither overflow a stack
    // nor pass the caps; a subquery is only in WHERE; a JOIN in a later SELECT is refused.
    let ors = vec!["x = 1"; 377].join(" OR ");
    let many = vec!["SELECT v FROM `a`"; 150].join(" UNION ");
    let plus = vec!["x"; 318].join(" + ");
    for (q, words) in [
        (many.clone(), "at most 20 SELECTs"),
        (
            format!("SELECT v FROM `a` WHERE {ors} UNION SELECT v FROM `b` ORDER BY {plus}"),
            "names one of its columns",
        ),
        (
            format!("SELECT v FROM `a` WHERE {ors} AND COUNT(*) > 1"),
            "not allowed in WHERE",
        ),
        (
            "SELECT COUNT(*) AS c FROM `a` GROUP BY v HAVING v IN (SELECT v FROM `b`)".into(),
            "only in WHERE",
        ),
        (
            "SELECT v FROM `a` UNION ALL SELECT l.v FROM `a` AS l JOIN `b` AS r ON l.v = r.v"
                .into(),
            "JOIN in a later SELECT",
        ),
    ] {
        match nephoscope_insights::parse_sql(&q) {
            Ok(_) => panic!("{} parsed", &q[..80.min(q.len())]),
            Err(e) => assert!(
                e.message.contains(words),
                "{}: {e:?}",
                &q[..80.min(q.len())]
            ),
        }
    }
    assert!(nephoscope_insights::parse_sql(&format!(
        "SELECT v FROM `a` WHERE v IN (SELECT y FROM `b` WHERE {ors})"
    ))
    .is_ok());
    // Numbers compare as numbers in set operations; Java's `$1x` is group 1 then `x`; UNION
    // takes missing values as equal.
    let nums = evs(&[
        (T0, r#"{"n":1.0,"s":"hello"}"#),
        (T0 + 1, r#"{"n":1,"s":"hello"}"#),
        (T0 + 2, r#"{"n":2}"#),
        (T0 + 3, r#"{"m":3}"#),
    ]);
    assert_eq!(
        show(&run_sql(
            "SELECT n FROM `e2` EXCEPT SELECT n FROM `e2` WHERE n < 1.5 ORDER BY n",
            &nums
        )),
        ["n=2; @ptr=p2", "@ptr=p3"]
    );
    assert_eq!(
        show(&run_sql(
            "SELECT regexp_replace(s, '(h)(e)', '$2$1x') AS r FROM `e2` WHERE n = 1 LIMIT 1",
            &nums
        )),
        ["r=ehxllo; @ptr=p1"]
    );
    assert_eq!(
        show(&run_sql(
            "SELECT n FROM `e2` UNION SELECT n FROM `e2` UNION SELECT n FROM `e2` ORDER BY n",
            &nums
        )),
        ["n=1; @ptr=p1", "n=2; @ptr=p2", "@ptr=p3"]
    );
    assert!(
        nephoscope_insights::parse_sql("SELECT regexp_replace(s, 'a', '$x') AS r FROM `e2`")
            .is_err_and(|e| e.message.contains("names no group"))
    );
    // Session 8's third review: Java's group numbers in replacements; patterns that do not
    // compile are refused; a large expression repeated by GROUP BY ordinals stops at the
    // translation's budget; times compare with a subquery's rendered times.
    assert_eq!(
        show(&run_sql(
            "SELECT regexp_replace(s, '(h)', '$10') AS r FROM `e2` WHERE n = 1 LIMIT 1",
            &nums
        )),
        ["r=h0ello; @ptr=p1"]
    );
    for (q, words) in [
        (
            "SELECT regexp_replace(s, '(h)', '$5') AS r FROM `e2`",
            "group 5",
        ),
        (
            "SELECT regexp_replace(s, '(h)', '${nosuch}') AS r FROM `e2`",
            "group nosuch",
        ),
        (
            "SELECT regexp_replace(s, 'x(?=y)', 'q') AS r FROM `e2`",
            "does not compile",
        ),
        (
            "SELECT regexp_replace(s, s, 'q') AS r FROM `e2`",
            "string literals",
        ),
        (
            "SELECT regexp_replace(s, '(?P<g>l)', '${g') AS r FROM `e2`",
            "without its }",
        ),
    ] {
        assert!(
            nephoscope_insights::parse_sql(q).is_err_and(|e| e.message.contains(words)),
            "{q}"
        );
    }
    let mut big = "f".to_string();
    for _ in 0..9 {
        big = format!("CAST({big} AS STRING)");
    }
    let ordinals = vec!["1"; 3000].join(",");
    let started = std::time::Instant::now();
    assert!(nephoscope_insights::parse_sql(&format!(
        "SELECT {big} AS x FROM `a` GROUP BY {ordinals}"
    ))
    .is_err_and(|e| e.message.contains("too complex")));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        show(&run_sql(
            "SELECT `@timestamp` AS t FROM `e2` INTERSECT SELECT `@timestamp` FROM `e2` WHERE n = 2",
            &nums
        )),
        ["t=2023-11-14 22:13:20.002; @ptr=p2"]
    );
    // (SQL, rows)
    let cases: &[(&str, &[&str])] = &[
        // Positions of the SELECT items.
        (
            "SELECT method, COUNT(*) AS c FROM `g` GROUP BY 1 ORDER BY 2 DESC, 1",
            &["method=GET; c=3", "method=DELETE; c=1", "method=POST; c=1"],
        ),
        // HAVING and ORDER BY on a group key that is not selected, or selected under an alias.
        ("SELECT COUNT(*) AS c FROM `g` GROUP BY method HAVING method = 'GET'", &["c=3"]),
        (
            "SELECT method AS m, COUNT(*) AS c FROM `g` GROUP BY method HAVING method = 'GET'",
            &["m=GET; c=3"],
        ),
        (
            "SELECT COUNT(*) AS c FROM `g` GROUP BY method ORDER BY method DESC",
            &["c=1", "c=3", "c=1"],
        ),
        // NOT over a missing field is not true (SQL's NULL).
        (
            "SELECT host FROM `g` WHERE NOT (user = 'ann') OR user NOT IN ('x') OR user NOT LIKE 'a%' OR NOT user BETWEEN 1 AND 2",
            &[],
        ),
        ("SELECT host FROM `g` WHERE NOT (status = 200) ORDER BY host", &["host=a; @ptr=p2", "host=b; @ptr=p1"]),
        // A count over no record is one row of 0.
        ("SELECT COUNT(*) AS c FROM `g` WHERE bytes > 1000000", &["c=0"]),
        // Numbers in every form Spark writes them.
        ("SELECT COUNT(*) AS c FROM `g` WHERE bytes > 1e3 AND bytes < 2.5E4 AND status > .5", &["c=2"]),
        // trim, ceil and floor (sqlparser reads them as their own forms).
        (
            "SELECT trim(method) AS t, ceil(bytes / 3000) AS c, floor(bytes / 3000) AS f FROM `g` WHERE host = 'b' ORDER BY bytes",
            &["t=GET; c=2; f=1; @ptr=p4", "t=POST; c=7; f=6; @ptr=p1"],
        ),
        // A column qualified by the table's name.
        ("SELECT g.host FROM `g` WHERE g.bytes = 0", &["host=a; @ptr=p2"]),
        // SELECT ALL is a plain SELECT.
        ("SELECT ALL host FROM `g` WHERE bytes = 0", &["host=a; @ptr=p2"]),
    ];
    for (sql, want) in cases {
        assert_eq!(show(&run_sql(sql, &ev)), *want, "SQL: {sql}");
    }
    // A chain of 1,000 conditions is written flat (no nesting as deep as it is long) and
    // runs; an arithmetic chain longer than the engine takes is refused, not a crash.
    let long = format!(
        "SELECT COUNT(*) AS c FROM `g` WHERE {}",
        vec!["bytes >= 0"; 1000].join(" AND ")
    );
    assert_eq!(show(&run_sql(&long, &ev)), ["c=5"]);
    let sum = format!(
        "SELECT COUNT(*) AS c FROM `g` WHERE bytes + {} >= 0",
        vec!["0"; 1000].join(" + ")
    );
    assert!(parse_sql(&sum).is_err_and(|e| e.message.contains("chains more than")));
    // (query, words the message holds)
    let refused: &[(&str, &str)] = &[
        (
            "SELECT method FROM `g` |> WHERE status = 500",
            "pipe operators",
        ),
        (
            "SELECT method FROM `g` TABLESAMPLE (10 PERCENT)",
            "FROM form",
        ),
        ("SELECT method FROM `g` VERSION AS OF 1", "FROM form"),
        ("SELECT x.a FROM `g` AS x(a, b)", "FROM form"),
        ("SELECT COUNT(*) AS c FROM `g` GROUP BY 1", "GROUP BY 1"),
        ("SELECT method FROM `g` ORDER BY 3", "ORDER BY 3"),
        (
            "SELECT DISTINCT method FROM `g` ORDER BY bytes",
            "must be a GROUP BY expression",
        ),
        (
            "SELECT bytes * 2 AS bytes, bytes + 1 AS y FROM `g`",
            "hides the column bytes",
        ),
        (
            "SELECT bytes AS ms, ms FROM `g`",
            "two SELECT items are named ms",
        ),
        (
            "SELECT COUNT(*) AS c FROM `g` WHERE bytes > 10L",
            "10L is not a number",
        ),
        (
            "SELECT host FROM `g` WHERE host LIKE '%\\\\'",
            "ends with its escape",
        ),
        // (SQL strings unescape a backslash: the pattern gets one.)
        (
            "SELECT host FROM `g` WHERE host LIKE 'a\\\\b'",
            "escapes 'b'",
        ),
        (
            "SELECT max(bytes) IGNORE NULLS AS m FROM `g`",
            "not supported",
        ),
        ("SELECT host AS `a\u{1}0` FROM `g`", "U+0001"),
    ];
    for (q, words) in refused {
        match parse_sql(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q:?}: {e:?}"),
        }
    }
}

/// A scalar subquery answering more than one row fails the query, as Spark's does.
#[test]
fn a_scalar_subquery_of_several_rows_fails_the_query() {
    let mut q = parse_sql("SELECT host FROM `A` WHERE bytes > (SELECT bytes FROM `B`)").unwrap();
    assert_eq!(q.subqueries().len(), 1);
    let rows = vec![
        vec![("bytes".to_string(), "1".to_string())],
        vec![("bytes".to_string(), "2".to_string())],
    ];
    let e = q.attach_subquery(0, &rows).unwrap_err();
    assert!(e.to_string().contains("more than one row"), "{e}");
    q.attach_subquery(0, &rows[..1]).unwrap();
}

/// Percentages that are not exact in binary (0.55 · 100 is 55.00000000000001) still pick the
/// rank they name, as Spark does; and Logs Insights' `pct` at such a percentile.
#[test]
fn percentiles_at_inexact_fractions() {
    let docs: Vec<(i64, String)> = (1..=100)
        .map(|v| (T0 + v, format!(r#"{{"v":{v}}}"#)))
        .collect();
    let ev = evs(&docs
        .iter()
        .map(|(t, m)| (*t, m.as_str()))
        .collect::<Vec<_>>());
    assert_eq!(
        show(&run_sql(
            "SELECT percentile_approx(v, 0.55) AS a, percentile_approx(v, 0.07) AS b, percentile_approx(v, 0.14) AS c, percentile(v, 0.57) AS d, percentile(v - 1, 0.57) AS e FROM `A`",
            &ev
        )),
        ["a=55; b=7; c=14; d=57.43; e=56.43"]
    );
    assert_eq!(show(&run("stats pct(v, 55) as p", &ev)), ["p=55"]);
}

/// Spark's array functions over JSON arrays (read from the message, as discovery keeps only
/// their elements), over `split` and `array(…)`, and `a[i]`/`.key` access.
#[test]
fn array_functions_read_json_arrays() {
    let ev = evs(&[
        (
            T0,
            r#"{"host":"a","tags":["x","y","x"],"nums":[3,10,2],"csv":"a,b,,c","req":{"items":[{"sku":"p1"},{"sku":"p2"}]}}"#,
        ),
        (T0 + 1_000, r#"{"host":"b","tags":[],"nums":[5],"csv":"z"}"#),
        (T0 + 2_000, r#"{"host":"c","csv":"q"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "SELECT host, size(tags) AS n, array_contains(tags, 'y') AS c, element_at(nums, -1) AS last, tags[0] AS t0, array_max(nums) AS mx, array_min(nums) AS mn, array_join(array_distinct(tags), '|') AS j, array_sort(nums) AS s, sort_array(nums, false) AS sd, array_position(tags, 'y') AS pos FROM `A` ORDER BY host",
            &["host=a; n=3; c=true; last=2; t0=x; mx=10; mn=2; j=x|y; s=[2,3,10]; sd=[10,3,2]; pos=2; @ptr=p0", "host=b; n=0; c=false; last=5; mx=5; mn=5; j=; s=[5]; sd=[5]; pos=0; @ptr=p1", "host=c; n=-1; @ptr=p2"],
        ),
        (
            "SELECT split(csv, ',') AS parts, size(split(csv, ',')) AS k, split(csv, ',', 2) AS two, slice(array(1, 2, 3, 4), -2, 5) AS sl, sequence(1, 5, 2) AS sq, array_union(array('a', 'b'), array('b', 'c')) AS u, array_intersect(nums, array(10, 3)) AS i, array_except(nums, array(10)) AS ex, arrays_overlap(tags, array('y')) AS ov, array_remove(tags, 'x') AS rm, array_repeat('z', 2) AS rp, req.items[1].sku AS sku, cardinality(array()) AS e FROM `A` WHERE host = 'a'",
            &["parts=[\"a\",\"b\",\"\",\"c\"]; k=4; two=[\"a\",\"b,,c\"]; sl=[3,4]; sq=[1,3,5]; u=[\"a\",\"b\",\"c\"]; i=[3,10]; ex=[3,2]; ov=true; rm=[\"y\"]; rp=[\"z\",\"z\"]; sku=p2; e=0; @ptr=p0"],
        ),
        // posexplode: each element's place (from 0) and the element.
        (
            "SELECT host, p, v FROM `A` LATERAL VIEW OUTER posexplode(tags) t AS p, v WHERE host <> 'c' ORDER BY host, p",
            &["host=a; p=0; v=x; @ptr=p0", "host=a; p=1; v=y; @ptr=p0", "host=a; p=2; v=x; @ptr=p0", "host=b; @ptr=p1"],
        ),
        (
            "SELECT posexplode(nums) FROM `A` WHERE host = 'b'",
            &["pos=0; col=5; @ptr=p1"],
        ),
        // A map (a JSON object, or one built) named by two columns gives a row per entry, its
        // key and its value; posexplode adds the entry's place.
        (
            "SELECT k, v FROM `A` LATERAL VIEW explode(req.items[1]) t AS k, v LATERAL VIEW explode(map('x', 1, 'y', nums[0])) u AS k2, v2 WHERE host = 'a' AND v2 > 1",
            &["k=sku; v=p2; @ptr=p0"],
        ),
        (
            "SELECT host, p, k, v FROM `A` LATERAL VIEW OUTER posexplode(str_to_map(concat('h:', host, ',n:', size(tags)))) t AS p, k, v WHERE host < 'c' ORDER BY host, p",
            &["host=a; p=0; k=h; v=a; @ptr=p0", "host=a; p=1; k=n; v=3; @ptr=p0", "host=b; p=0; k=h; v=b; @ptr=p1", "host=b; p=1; k=n; v=0; @ptr=p1"],
        ),
        // array_sort with a comparator: negative puts the left element first; a comparison
        // that is no number makes the call NULL; any answers end (`(l, r) -> 1`).
        (
            "SELECT array_sort(nums, (l, r) -> r - l) AS d, array_sort(tags, (l, r) -> CASE WHEN l < r THEN -1 WHEN l > r THEN 1 ELSE 0 END) AS t, array_sort(nums, (l, r) -> NULL) AS n, size(array_sort(sequence(1, 50), (l, r) -> 1)) AS k FROM `A` WHERE host = 'a'",
            &["d=[10,3,2]; t=[\"x\",\"x\",\"y\"]; k=50; @ptr=p0"],
        ),
        // arrays_zip: element i of each array under its column's name (an expression's place).
        (
            "SELECT arrays_zip(tags, nums) AS z, arrays_zip(array(1, 2, 3, 4), nums)[3] AS f, arrays_zip(tags, req) AS n FROM `A` WHERE host = 'a'",
            &["z=[{\"tags\":\"x\",\"nums\":3},{\"tags\":\"y\",\"nums\":10},{\"tags\":\"x\",\"nums\":2}]; f={\"0\":4,\"nums\":null}; @ptr=p0"],
        ),
        // Percentiles of an array of percentages: an array of values.
        (
            "SELECT host, percentile(n, array(0.25, 0.5, 1)) AS p, percentile_approx(n, array(0.5)) AS q FROM `A` LATERAL VIEW explode(nums) t AS n GROUP BY host ORDER BY host",
            &["host=a; p=[2.5,3,10]; q=[3]", "host=b; p=[5,5,5]; q=[5]"],
        ),
        // Higher-order functions with lambdas.
        (
            "SELECT transform(nums, x -> x * 2) AS t, transform(tags, (x, i) -> concat(x, i)) AS ti, filter(nums, x -> x > 2) AS f, exists(tags, t -> t = 'y') AS e, forall(nums, n -> n > 1) AS fa, aggregate(nums, 0, (acc, x) -> acc + x) AS s, aggregate(nums, 0, (acc, x) -> acc + x, acc -> acc * 10) AS s10, transform(req.items, it -> it.sku) AS skus, transform(tags, x -> concat(x, host)) AS outer, transform(array(array(1, 2), array(3)), a -> aggregate(a, 0, (s, v) -> s + v)) AS nested FROM `A` WHERE host = 'a'",
            &["t=[6,20,4]; ti=[\"x0\",\"y1\",\"x2\"]; f=[3,10]; e=true; fa=true; s=15; s10=150; skus=[\"p1\",\"p2\"]; outer=[\"xa\",\"ya\",\"xa\"]; nested=[3,3]; @ptr=p0"],
        ),
        (
            "SELECT zip_with(nums, tags, (n, t) -> concat(t, n)) AS z, map_filter(map('a', 1, 'b', 2), (k, v) -> v > 1) AS mf, transform_values(map('a', 1), (k, v) -> v * 10) AS tv, transform_keys(req.items[0], (k, v) -> upper(k)) AS tk FROM `A` WHERE host = 'a'",
            &["z=[\"x3\",\"y10\",\"x2\"]; mf={\"b\":2}; tv={\"a\":10}; tk={\"SKU\":\"p1\"}; @ptr=p0"],
        ),
        (
            "SELECT flatten(array(nums, array(7), tags)) AS f, map_concat(req.items[0], map('sku', 'z', 'q', 1)) AS mc, map_concat(req, map('x', 1)) AS mr FROM `A` WHERE host = 'a'",
            &["f=[3,10,2,7,\"x\",\"y\",\"x\"]; mc={\"sku\":\"z\",\"q\":1}; mr={\"items\":[{\"sku\":\"p1\"},{\"sku\":\"p2\"}],\"x\":1}; @ptr=p0"],
        ),
        (
            "SELECT host FROM `A` WHERE NOT forall(nums, n -> n > 2) ORDER BY host",
            &["host=a; @ptr=p0"],
        ),
        // A JSON array or object shown as a column.
        (
            "SELECT host, tags, req, nums AS n FROM `A` ORDER BY host",
            &["host=a; tags=[\"x\",\"y\",\"x\"]; req={\"items\":[{\"sku\":\"p1\"},{\"sku\":\"p2\"}]}; n=[3,10,2]; @ptr=p0", "host=b; tags=[]; n=[5]; @ptr=p1", "host=c; @ptr=p2"],
        ),
        // Maps.
        (
            "SELECT map('a', 1, 'b', host) AS m, map_keys(map('a', 1, 'b', 2, 'a', 3)) AS k, map_values(named_struct('x', 1, 'y', 'z')) AS v, str_to_map('a:1,b:2')['b'] AS b, map_from_arrays(array('p', 'q'), array(1, 2)) AS mf, map_contains_key(map('a', 1), 'a') AS c, map_entries(map('a', 1)) AS e, map_keys(req.items[0]) AS rk FROM `A` WHERE host = 'a'",
            &["m={\"a\":1,\"b\":\"a\"}; k=[\"a\",\"b\"]; v=[1,\"z\"]; b=2; mf={\"p\":1,\"q\":2}; c=true; e=[{\"key\":\"a\",\"value\":1}]; rk=[\"sku\"]; @ptr=p0"],
        ),
        // A missing array is NULL: NOT of a test on it is not true.
        (
            "SELECT req.items[1] AS a, req.items[1].sku AS b, element_at(req.items, 1) AS c FROM `A` WHERE host = 'a'",
            &["a={\"sku\":\"p2\"}; b=p2; c={\"sku\":\"p1\"}; @ptr=p0"],
        ),
        (
            "SELECT host FROM `A` WHERE NOT array_contains(tags, 'y')",
            &["host=b; @ptr=p1"],
        ),
        // Generators: LATERAL VIEW [OUTER] explode, and explode as a SELECT item.
        (
            "SELECT host, tag FROM `A` LATERAL VIEW explode(tags) t AS tag ORDER BY host",
            &["host=a; tag=x; @ptr=p0", "host=a; tag=y; @ptr=p0", "host=a; tag=x; @ptr=p0"],
        ),
        (
            "SELECT tag, count(*) AS n FROM `A` LATERAL VIEW explode(tags) t AS tag GROUP BY tag ORDER BY tag",
            &["tag=x; n=2", "tag=y; n=1"],
        ),
        (
            "SELECT host, tag FROM `A` LATERAL VIEW OUTER explode(tags) t AS tag ORDER BY host",
            &["host=a; tag=x; @ptr=p0", "host=a; tag=y; @ptr=p0", "host=a; tag=x; @ptr=p0", "host=b; @ptr=p1", "host=c; @ptr=p2"],
        ),
        (
            "SELECT explode(split(csv, ',')) AS part, host FROM `A` WHERE host = 'a'",
            &["part=a; host=a; @ptr=p0", "part=b; host=a; @ptr=p0", "part=; host=a; @ptr=p0", "part=c; host=a; @ptr=p0"],
        ),
        (
            "SELECT n FROM `A` LATERAL VIEW explode(nums) t AS n WHERE n > 2 ORDER BY n",
            &["n=3; @ptr=p0", "n=5; @ptr=p1", "n=10; @ptr=p0"],
        ),
        (
            "SELECT sum(n) AS s FROM (SELECT explode(nums) AS n FROM `A`)",
            &["s=20"],
        ),
        (
            "SELECT count(*) AS n, sum(size(nums)) AS items FROM `A` WHERE size(tags) >= 0",
            &["n=2; items=4"],
        ),
    ];
    for (sql, want) in cases {
        let got = show(&run_sql(sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
    }
}

/// Session 11's review: arrays, generators, lifted windows and grouping sets answer as Spark
/// does or are refused.
#[test]
fn session_11_review_findings() {
    let ev = evs(&[
        (
            T0,
            r#"{"host":"a","bytes":100,"tags":["x","y"],"flags":[true,false],"req":{"id":7},"items":[{"sku":"p1","tags":["n","m"]},{"sku":"p2","tags":["k"]}],"csv":"a,b","ts":"2024-05-01T10:00:00Z"}"#,
        ),
        (
            T0 + 1_000,
            r#"{"host":"b","bytes":300,"tags":[],"csv":"c","ts":"2024-05-01T10:30:00Z"}"#,
        ),
        (
            T0 + 2_000,
            r#"{"host":"a","bytes":200,"csv":"d,e,f","ts":"2024-05-01T12:00:00Z"}"#,
        ),
    ]);
    let cases: &[(&str, &[&str])] = &[
        // A large element repeated past 1 MiB is NULL.
        (
            "SELECT array_size(array_repeat(repeat('x', 100000), 100)) AS big, array_size(array_repeat('x', 1000)) AS small FROM `A` WHERE bytes = 100",
            &["small=1000; @ptr=p0"],
        ),
        // A lifted window over a subquery in FROM; a window inside IS NULL.
        (
            "SELECT bytes - LAG(bytes) OVER (ORDER BY t) AS d, CASE WHEN LAG(bytes) OVER (ORDER BY t) IS NULL THEN 0 ELSE 1 END AS f FROM (SELECT bytes, `@timestamp` AS t FROM `A`) ORDER BY t",
            &["f=0; @ptr=p0", "d=200; f=1; @ptr=p1", "d=-100; f=1; @ptr=p2"],
        ),
        // A lateral view over a subquery in FROM; its column qualified by the view's name.
        (
            "SELECT x FROM (SELECT split(csv, ',') AS parts FROM `A`) LATERAL VIEW explode(parts) p AS x ORDER BY x",
            &["x=a; @ptr=p0", "x=b; @ptr=p0", "x=c; @ptr=p1", "x=d; @ptr=p2", "x=e; @ptr=p2", "x=f; @ptr=p2"],
        ),
        (
            "SELECT t.x AS x FROM `A` LATERAL VIEW explode(tags) t AS x",
            &["x=x; @ptr=p0", "x=y; @ptr=p0"],
        ),
        // Objects: a map by key, exploded objects' keys, a SELECT explode after the views.
        (
            "SELECT req['id'] AS id, size(req) AS n FROM `A` WHERE bytes = 100",
            &["id=7; n=1; @ptr=p0"],
        ),
        (
            "SELECT it.sku AS sku, it['sku'] AS sku2, element_at(it, 'sku') AS sku3 FROM `A` LATERAL VIEW explode(items) t AS it",
            &["sku=p1; sku2=p1; sku3=p1; @ptr=p0", "sku=p2; sku2=p2; sku3=p2; @ptr=p0"],
        ),
        (
            "SELECT explode(it.tags) AS tag FROM `A` LATERAL VIEW explode(items) t AS it",
            &["tag=n; @ptr=p0", "tag=m; @ptr=p0", "tag=k; @ptr=p0"],
        ),
        // NOT over a missing element is not true.
        (
            "SELECT host FROM `A` WHERE NOT tags[0] = 'q' OR NOT element_at(tags, 5) = 'q'",
            &["host=a; @ptr=p0"],
        ),
        // Booleans match JSON's true; an empty pattern splits characters.
        (
            "SELECT array_contains(flags, TRUE) AS t, array_position(flags, false) AS p, split('abc', '') AS s FROM `A` WHERE bytes = 100",
            &["t=true; p=2; s=[\"a\",\"b\",\"c\"]; @ptr=p0"],
        ),
        // RANGE offsets over times written as text.
        (
            "SELECT bytes, SUM(bytes) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 1 HOUR PRECEDING AND CURRENT ROW) AS s FROM `A` ORDER BY ts",
            &["bytes=100; s=100; @ptr=p0", "bytes=300; s=400; @ptr=p1", "bytes=200; s=200; @ptr=p2"],
        ),
        // The grand total of a SELECT without aggregates is one row.
        (
            "SELECT host, GROUPING(host) AS gr FROM `A` GROUP BY ROLLUP(host) ORDER BY gr, host",
            &["host=a; gr=0", "host=b; gr=0", "gr=1"],
        ),
    ];
    for (sql, want) in cases {
        let got = show(&run_sql(sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
    }
    // Second review: lambdas' NULLs, bounds and names; str_to_map's separators.
    let cases: &[(&str, &[&str])] = &[
        (
            "SELECT filter(array(1, NULL, 5), x -> NOT (x > 3)) AS f, exists(array(1, NULL), x -> x > 5) AS e, forall(array(7, NULL), x -> x > 5) AS fa, exists(array(1, NULL, 9), x -> x > 5) AS e2 FROM `A` WHERE bytes = 100",
            &["f=[1]; e2=true; @ptr=p0"],
        ),
        (
            "SELECT host FROM `A` WHERE NOT forall(array(1, NULL), x -> x < 5)",
            &[],
        ),
        (
            "SELECT array_size(transform(sequence(1, 100000), x -> sequence(1, 100000))) AS big, array_size(aggregate(sequence(1, 10), array(repeat('x', 900000)), (acc, x) -> array(acc, acc))) AS doubling, array_size(aggregate(sequence(1, 100), array(), (acc, x) -> array(acc))) AS deep, aggregate(sequence(1, 100), 0, (acc, x) -> acc + x) AS fine FROM `A` WHERE bytes = 100",
            &["fine=5050; @ptr=p0"],
        ),
        (
            "SELECT host, count(*) AS n FROM `A` GROUP BY host HAVING exists(array('q'), host -> host = 'q') ORDER BY host",
            &["host=a; n=2", "host=b; n=1"],
        ),
        (
            "SELECT str_to_map('a=1;b=2') AS d, str_to_map('a=1;b=2', ';', '=') AS m, str_to_map('a:1|b:2', '[|]', ':') AS r FROM `A` WHERE bytes = 100",
            &["d={\"a=1;b=2\":null}; m={\"a\":\"1\",\"b\":\"2\"}; r={\"a\":\"1\",\"b\":\"2\"}; @ptr=p0"],
        ),
    ];
    for (sql, want) in cases {
        let got = show(&run_sql(sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
    }
    for (q, words) in [
        (
            "SELECT bytes * 2 AS bytes, transform(array(1), x -> x + bytes) AS y FROM `A`",
            "hides the column bytes",
        ),
        (
            "SELECT transform(tags, x -> (SELECT COUNT(*) FROM `B` AS b WHERE b.k = x)) AS y FROM `A`",
            "subquery inside a lambda",
        ),
        (
            "SELECT a.host FROM `A` AS a WHERE a.host IN (SELECT b.host FROM `B` AS b WHERE EXISTS (SELECT 1 FROM `C` AS c WHERE c.x = b.x AND c.y = b.y))",
            "inside a subquery",
        ),
    ] {
        match nephoscope_insights::parse_sql(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
    // A lifted window's hidden column needs no qualifying in a query with a JOIN.
    let q = "SELECT a.bytes - LAG(a.bytes) OVER (ORDER BY a.bytes) AS d FROM `A` AS a JOIN `B` AS b ON a.host = b.host";
    assert!(
        nephoscope_insights::parse_sql(q).is_ok_and(|q| q.join_side().is_some()),
        "{q}"
    );
    // Two rand() calls draw apart.
    let rows = run_sql("SELECT rand() AS a, rand() AS b FROM `A`", &ev);
    for r in &rows {
        let v = |k: &str| r.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_ne!(v("a"), v("b"), "{r:?}");
    }
    // Refused: windows inside an expression with ROLLUP, an item read after a later item
    // hides it, an ordinal past the items, GROUPING of a column that is no grouping column.
    for (q, words) in [
        (
            "SELECT host, COUNT(*) * 100 / SUM(COUNT(*)) OVER () AS pct FROM `A` GROUP BY ROLLUP(host)",
            "window functions with ROLLUP",
        ),
        (
            "SELECT host || RANK() OVER (ORDER BY bytes) AS label, upper(host) AS host FROM `A`",
            "hides the column host",
        ),
        (
            "SELECT bytes - LAG(bytes) OVER (ORDER BY bytes) AS d, bytes FROM `A` ORDER BY 3",
            "ORDER BY 3",
        ),
        (
            "SELECT host, GROUPING(bytes) AS g, COUNT(*) FROM `A` GROUP BY ROLLUP(host)",
            "not a grouping column",
        ),
    ] {
        match nephoscope_insights::parse_sql(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
}

/// Session 12's review: a nested subquery reading the outermost query's columns is refused, not
/// silently empty; a scalar subquery's IN subqueries count towards the depth; arrays_zip counts
/// its repeated names; a column holding JSON object text explodes as its map.
#[test]
fn session_12_review_findings() {
    let ev = evs(&[
        (T0, r#"{"host":"a","obj":"{\"k\":1,\"j\":2}","tags":["x"]}"#),
        (T0 + 1_000, r#"{"host":"b","obj":"[1]"}"#),
    ]);
    let long = "LONG_NAME";
    let cases: &[(&str, &[&str])] = &[
        (
            "SELECT host, k, v FROM `A` LATERAL VIEW explode(obj) t AS k, v ORDER BY k",
            &["host=a; k=j; v=2; @ptr=p0", "host=a; k=k; v=1; @ptr=p0"],
        ),
        (
            "SELECT host, map_keys(obj) AS ks FROM `A` WHERE host = 'a'",
            &["host=a; ks=[\"k\",\"j\"]; @ptr=p0"],
        ),
        (
            "SELECT size(arrays_zip(`LONG_NAME`)) AS n, size(arrays_zip(`LONG_NAME`, `LONG_NAME`)) AS m FROM `A` LATERAL VIEW explode(array(sequence(1, 5000))) t AS `LONG_NAME` WHERE host = 'a'",
            &["n=-1; m=-1; @ptr=p0"],
        ),
    ];
    for (sql, want) in cases {
        let sql = sql.replace(long, "LONGNAME".repeat(250).as_str());
        let got = show(&run_sql(&sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
    }
    for (q, words) in [
        (
            "SELECT * FROM `a` AS x WHERE k IN (SELECT k FROM `b` AS y WHERE j IN (SELECT j FROM `c` AS z WHERE z.m = x.m))",
            "correlated",
        ),
        (
            "SELECT x FROM `A` WHERE x > (SELECT max(y) FROM `B` WHERE z IN (SELECT z FROM `C` WHERE w IN (SELECT w FROM `D` WHERE v IN (SELECT v FROM `E`))))",
            "nest at most 3 levels",
        ),
    ] {
        match nephoscope_insights::parse_sql(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
}

/// `stack` and `inline`: rows of values, and rows of an array's structs.
#[test]
fn generators_stack_and_inline() {
    let ev = evs(&[
        (
            T0,
            r#"{"host":"a","items":[{"sku":"p1","qty":2},{"sku":"p2","qty":5}],"bytes":100}"#,
        ),
        (T0 + 1_000, r#"{"host":"b","items":[],"bytes":7}"#),
        (T0 + 2_000, r#"{"host":"c","bytes":3}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "SELECT host, k, v FROM `A` LATERAL VIEW stack(2, 'bytes', bytes, 'host', host) t AS k, v WHERE host <> 'c' ORDER BY host, k",
            &["host=a; k=bytes; v=100; @ptr=p0", "host=a; k=host; v=a; @ptr=p0", "host=b; k=bytes; v=7; @ptr=p1", "host=b; k=host; v=b; @ptr=p1"],
        ),
        (
            "SELECT host, col0, col1 FROM `A` LATERAL VIEW stack(2, 1, 2, 3) t WHERE host = 'a'",
            &["host=a; col0=1; col1=2; @ptr=p0", "host=a; col0=3; @ptr=p0"],
        ),
        (
            "SELECT host, stack(2, 1, 2, 3) FROM `A` WHERE host = 'b'",
            &["host=b; col0=1; col1=2; @ptr=p1", "host=b; col0=3; @ptr=p1"],
        ),
        (
            "SELECT host, sku, qty FROM `A` LATERAL VIEW inline(items) t WHERE qty > 0 ORDER BY sku",
            &["host=a; sku=p1; qty=2; @ptr=p0", "host=a; sku=p2; qty=5; @ptr=p0"],
        ),
        (
            "SELECT host, s, q FROM `A` LATERAL VIEW OUTER inline(items) t AS q, s ORDER BY host, s",
            &["host=a; s=p1; q=2; @ptr=p0", "host=a; s=p2; q=5; @ptr=p0", "host=b; @ptr=p1", "host=c; @ptr=p2"],
        ),
        // Named by the structs' keys in alphabetical order (Spark's order for JSON), each
        // struct by its own keys.
        (
            "SELECT a, b FROM `A` LATERAL VIEW inline(array(named_struct('y', 1, 'x', 2), named_struct('y', 3))) t AS a, b WHERE host = 'a'",
            &["a=2; b=1; @ptr=p0", "a=3; @ptr=p0"],
        ),
        (
            "SELECT sku, SUM(qty) AS total FROM `A` LATERAL VIEW inline(items) t GROUP BY sku ORDER BY sku",
            &["sku=p1; total=2", "sku=p2; total=5"],
        ),
    ];
    for (sql, want) in cases {
        let got = show(&run_sql(sql, &ev));
        assert_eq!(got, *want, "SQL: {sql}");
    }
    for (q, words) in [
        (
            "SELECT x FROM `A` LATERAL VIEW stack(0, 1) t AS x",
            "number of rows",
        ),
        (
            "SELECT x FROM `A` LATERAL VIEW stack(65, 1) t AS x",
            "from 1 to 64",
        ),
        (
            "SELECT x FROM `A` LATERAL VIEW stack(2, 1, 2, 3) t AS x",
            "2 column(s)",
        ),
        ("SELECT stack(2, 1, 2) AS x FROM `A`", "use it unnamed"),
        ("SELECT inline(items) FROM `A`", "inline as a SELECT item"),
        ("SELECT x FROM `A` LATERAL VIEW inline(a, b) t", "one array"),
        (
            "SELECT x FROM `A` LATERAL VIEW stack(1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33) t",
            "at most 32 columns",
        ),
    ] {
        match nephoscope_insights::parse_sql(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
}
