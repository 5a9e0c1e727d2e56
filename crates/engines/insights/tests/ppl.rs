//! OpenSearch PPL (StartQuery `queryLanguage: PPL`): tables of query → expected rows over the
//! same events, each also checked against the Logs Insights query it means; and of
//! unsupported constructs → error message and place.
mod common;
use common::*;
use nephoscope_insights::parse_ppl;

/// The rows of PPL query `q` over `events` (and, as [`run`] does, with the flat marks).
fn run_ppl(q: &str, events: &[Ev]) -> Vec<Vec<(String, String)>> {
    run_with(parse_ppl, q, events)
}

fn events() -> Vec<Ev> {
    evs(&[
        (
            T0,
            r#"{"route":"/a","status":200,"ms":10,"user":"ann","agent":"curl/8.5"}"#,
        ),
        (
            T0 + 1_000,
            r#"{"route":"/b","status":500,"ms":30,"user":"bob","agent":"Python/3"}"#,
        ),
        (
            T0 + 2_000,
            r#"{"route":"/a","status":404,"ms":20,"user":"ann"}"#,
        ),
        (
            T0 + 3_000,
            r#"{"route":"/c/d","status":200,"ms":40,"user":"cy","agent":"curl/7.1"}"#,
        ),
        (
            T0 + 301_000,
            r#"{"route":"/a","status":503,"ms":50,"agent":"python/2"}"#,
        ),
    ])
}

#[test]
fn ppl_queries_answer_as_their_logs_insights_meaning() {
    let ev = events();
    // (PPL, the Logs Insights query giving the same rows, the rows)
    let cases: &[(&str, &str, &[&str])] = &[
        // Date and time functions (UTC; text dates and times read as UTC).
        (
            "where ms = 10 | eval a = dayname('2020-08-26'), b = monthname('2020-08-26 12:30:45'), c = dayofweek('2020-08-26'), d = weekday('2020-08-26'), e = week('2020-08-26'), f = quarter('2020-08-26'), g = last_day('2023-02-06'), h = from_unixtime(1220249547), i = unix_timestamp('2008-09-01 06:12:27'), j = date_add('2020-08-26', 10), k = hour('2020-08-26T12:30:45Z') + minute('2020-08-26 12:30:45'), l = make_date(2024, 2, 29), m = dayofyear('2020-12-31'), n = make_date(2023, 2, 29), o = day(date_sub(timestamp('2020-03-01 00:00:00'), 1)) | fields a, b, c, d, e, f, g, h, i, j, k, l, m, n, o",
            "",
            &["a=Wednesday; b=August; c=4; d=2; e=35; f=3; g=2023-02-28; h=2008-09-01 06:12:27; i=1220249547; j=2020-09-05; k=42; l=2024-02-29; m=366; o=29; @ptr=p0"],
        ),
        (
            "where ms = 10 | eval a = timestampdiff(DAY, '2020-01-01', '2020-03-01 12:00:00'), b = timestampdiff(MONTH, '2020-01-31', '2020-02-29'), c = timestampdiff(YEAR, '2020-03-01', '2021-02-28'), d = timestampadd(MONTH, 1, '2020-01-31'), e = concat_ws('-', 'a', route, user, 'z'), g = timestampadd(SECOND, 1700000000, '1970-01-01 00:00:00'), h = timestampdiff(HOUR, '2020-01-02', '2020-01-01') | fields a, b, c, d, e, g, h",
            "",
            &["a=60; b=0; c=0; d=2020-02-29 00:00:00.000; e=a-/a-ann-z; g=2023-11-14 22:13:20.000; h=-24; @ptr=p0"],
        ),
        (
            "where ms = 10 | eval a = date_format('2020-08-26 13:05:09.123', '%Y-%m-%d %H:%i:%s.%f %W %M %p'), b = date_format('2020-08-26', '%q') | fields a, b",
            "",
            &["a=2020-08-26 13:05:09.123000 Wednesday August PM; @ptr=p0"],
        ),
        (
            "top_approx 1 route",
            "",
            &["count_route=3; route=/a"],
        ),
        // A scalar function as a `by` key, named as written or by its alias.
        (
            "stats count() as n by length(route), upper(substring(route, 2, 1)) as first | sort first",
            "",
            &["n=3; length(route)=2; first=A", "n=1; length(route)=2; first=B", "n=1; length(route)=4; first=C"],
        ),
        // take: the values of the earliest records having the field.
        (
            "stats count() as n, take(agent, 2) as a, take(user) as u by route | sort route",
            "",
            &["n=3; a=[\"curl/8.5\",\"python/2\"]; u=[\"ann\",\"ann\"]; route=/a", "n=1; a=[\"Python/3\"]; u=[\"bob\"]; route=/b", "n=1; a=[\"curl/7.1\"]; u=[\"cy\"]; route=/c/d"],
        ),
        // MySQL's times of day and day numbers (OpenSearch's PPL date functions).
        (
            "where ms = 10 | eval a = TIME('2020-08-26 13:49:00'), b = HOUR(TIME('01:02:03')), c = TIME_TO_SEC('22:23:00'), d = SEC_TO_TIME(3897), e = MAKEDATE(1945, 5), f = TO_DAYS('1995-05-01'), g = FROM_DAYS(730669), h = TIMEDIFF('23:59:59', '13:00:00'), i = ADDTIME('2008-05-15 22:00:00', '01:00:00'), j = SUBTIME('10:00:00', '10:30:00'), k = CONVERT_TZ('2008-05-15 12:00:00', '+00:00', '+10:00'), l = MICROSECOND('10:00:00.25'), m = TIMESTAMP('2020-08-26', '13:49:00') | fields a, b, c, d, e, f, g, h, i, j, k, l, m",
            "",
            &["a=13:49:00; b=1; c=80580; d=01:04:57; e=1945-01-05; f=728779; g=2000-07-03; h=10:59:59; i=2008-05-15 23:00:00.000; j=-00:30:00; k=2008-05-15 22:00:00; l=250000; m=2020-08-26 13:49:00.000; @ptr=p0"],
        ),
        // A time span over another field than @timestamp: the start of its period.
        (
            "eval d = if(ms > 20, '2020-08-27 05:00:00', '2020-08-26 23:59:00') | stats count() as n by span(d, 1d) as day | sort day",
            "",
            &["n=2; day=2020-08-26 00:00:00.000", "n=3; day=2020-08-27 00:00:00.000"],
        ),
        // sha2's other sizes, atan of two arguments, hex.
        (
            "where ms = 10 | eval a = sha2('abc', 384), b = round(atan(1, 1) * 4, 6), c = hex(ms), d = length(sha2(route, 512)) | fields a, b, c, d",
            "",
            &["a=cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7; b=3.141593; c=A; d=128; @ptr=p0"],
        ),
        // (Nested, each call is read once.)
        (
            "where ms = 10 | eval n = date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add(date_add('2020-01-01', 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), 1), l = locate('', route, 2) | fields n, l",
            "",
            &["n=2020-01-23; l=1; @ptr=p0"],
        ),
        // DATE_ADD/DATE_SUB with an INTERVAL, FROM_UNIXTIME with a format.
        (
            "where ms = 10 | eval a = DATE_ADD(DATE('2020-08-26'), INTERVAL 1 HOUR), b = DATE_SUB('2020-08-26 00:00:00', INTERVAL ms DAY), c = ADDDATE('2020-01-31', INTERVAL 1 MONTH), d = date_add('2020-08-26', 2), e = FROM_UNIXTIME(1220249547, '%T'), f = subdate('2020-03-01', INTERVAL 1 QUARTER) | fields a, b, c, d, e, f",
            "",
            &["a=2020-08-26 01:00:00.000; b=2020-08-16 00:00:00.000; c=2020-02-29 00:00:00.000; d=2020-08-28; e=06:12:27; f=2019-12-01 00:00:00.000; @ptr=p0"],
        ),
        // case, cast, booleans, xor and position (OpenSearch's examples' forms).
        (
            "eval c = case(status >= 200 AND status < 300, 'Success', status >= 500, 'Server' else 'Other'), n = cast(substring(agent, 6, 1) as int) + 1, s = cast(ms as string), b = cast('yes' as boolean), vip = if(ms > 30 AND isnotnull(user), true, false), p = position('a' IN route), q = case(ms > 100, 'big') | where vip = false | fields route, c, n, s, b, vip, p, q",
            "",
            &[
                "route=/a; c=Server; s=50; b=true; vip=false; p=2; @ptr=p4",
                "route=/a; c=Other; s=20; b=true; vip=false; p=2; @ptr=p2",
                "route=/b; c=Server; s=30; b=true; vip=false; p=0; @ptr=p1",
                "route=/a; c=Success; n=9; s=10; b=true; vip=false; p=2; @ptr=p0",
            ],
        ),
        (
            "where route = '/a' xor status = 200 | fields route, status",
            "",
            &["route=/a; status=503; @ptr=p4", "route=/c/d; status=200; @ptr=p3", "route=/a; status=404; @ptr=p2"],
        ),
        // (A record missing a field one side reads is no match: the xor is null.)
        (
            "where user = 'ann' xor status = 503 | fields route",
            "",
            &["route=/a; @ptr=p2", "route=/a; @ptr=p0"],
        ),
        (
            "where (ms > 10 or user = 'zed') xor true and isnotnull(agent) | eval t = true | fields route, t",
            "",
            &["route=/a; t=true; @ptr=p2", "route=/a; t=true; @ptr=p0"],
        ),
        // Math, string, hash and condition functions Logs Insights has no counterpart for.
        (
            "where ms = 10 | eval a = round(sin(pi() / 2), 3), b = round(log(2, 8), 6), c = round(log10(1000), 6), d = conv('100', 2, 10), e = crc32('hello'), f = reverse('abc'), g = right('hello', 3), h = sha1('abc'), i = nullif(ms, 10), j = degrees(pi()), k = cbrt(27), l = nullif(ms, 11), m = conv('ff', 16, 2), n = round(atan2(1, 1) * 4, 6), o = conv('-10', 10, 16), q = conv('12x', 10, 10), r = nullif('01', '1'), s = from_unixtime(ms / 0) | fields a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, q, r, s",
            "",
            &["a=1; b=3; c=3; d=4; e=907060870; f=cba; g=llo; h=a9993e364706816aba3e25717850c26c9cd0d89d; j=180; k=3; l=10; m=11111111; n=3.141593; o=FFFFFFFFFFFFFFF6; q=12; r=01; @ptr=p0"],
        ),
        // dedup's count and options, over the rows in their order.
        (
            "sort ms | dedup 2 route | fields route, ms",
            "",
            &["route=/a; ms=10; @ptr=p0", "route=/a; ms=20; @ptr=p2", "route=/b; ms=30; @ptr=p1", "route=/c/d; ms=40; @ptr=p3"],
        ),
        (
            "sort ms | dedup user keepempty=true | fields user, ms",
            "",
            &["user=ann; ms=10; @ptr=p0", "user=bob; ms=30; @ptr=p1", "user=cy; ms=40; @ptr=p3", "ms=50; @ptr=p4"],
        ),
        (
            "sort ms | dedup route consecutive=true | fields route, ms",
            "",
            &["route=/a; ms=10; @ptr=p0", "route=/b; ms=30; @ptr=p1", "route=/c/d; ms=40; @ptr=p3", "route=/a; ms=50; @ptr=p4"],
        ),
        // Variances from stddev and count.
        (
            "stats var_samp(ms) as vs, var_pop(ms) as vp, stddev_pop(ms) as sp | eval vs = round(vs, 6), vp = round(vp, 6), sp = round(sp, 6)",
            "",
            &["vs=250; vp=200; sp=14.142136"],
        ),
        (
            "where ms = 10 | stats var_pop(ms) as vp, stddev_pop(ms) as sp, var_samp(ms) as vs",
            "",
            &["vp=0; sp=0; vs=0"],
        ),
        // fieldsummary: one row of the field's statistics, named as OpenSearch names them.
        (
            "fieldsummary includefields=ms",
            "",
            &["Field=ms; COUNT=5; DISTINCT=5; MIN=10; MAX=50; AVG=30; MEAN=30; STDDEV=15.811388300841896; Nulls=0; TYPEOF=int"],
        ),
        (
            "where status != 500 | fieldsummary includefields=user",
            "",
            &["Field=user; COUNT=3; DISTINCT=2; MIN=ann; MAX=cy; Nulls=1; TYPEOF=string"],
        ),
        (
            "where route = '/a' | eval q = if(status = 200, ms / 4, null) | fieldsummary includefields=q nulls=true",
            "",
            &["Field=q; COUNT=1; DISTINCT=1; MIN=2.5; MAX=2.5; AVG=0.8333333333333334; MEAN=0.8333333333333334; STDDEV=1.4433756729740643; Nulls=2; TYPEOF=double"],
        ),
        (
            "where status != 200 | fieldsummary includefields=nothing",
            "",
            &["Field=nothing; COUNT=0; DISTINCT=0; Nulls=3; TYPEOF=void"],
        ),
        (
            "where route = '/a' | eval big = ms * 1000000000 | fieldsummary includefields=big",
            "",
            &["Field=big; COUNT=3; DISTINCT=3; MIN=10000000000; MAX=50000000000; AVG=26666666666.666668; MEAN=26666666666.666668; STDDEV=20816659994.661327; Nulls=0; TYPEOF=bigint"],
        ),
        (
            "where status >= 500 | fields route, ms | sort - ms",
            "filter status >= 500 | fields route, ms | sort ms desc",
            &["route=/a; ms=50; @ptr=p4", "route=/b; ms=30; @ptr=p1"],
        ),
        (
            "stats count() by route",
            "stats count(*) as `count()` by route | display `count()`, route",
            &["count()=3; route=/a", "count()=1; route=/b", "count()=1; route=/c/d"],
        ),
        (
            "stats count(), avg(ms) as mean, max(`ms`), dc(user) by route | sort - mean | head 2",
            "",
            &[
                "count()=1; mean=40; max(`ms`)=40; dc(user)=1; route=/c/d",
                "count()=1; mean=30; max(`ms`)=30; dc(user)=1; route=/b",
            ],
        ),
        (
            "stats count() as n by span(`@timestamp`, 5m)",
            "",
            &[
                "n=4; span(`@timestamp`, 5m)=2023-11-14 22:10:00.000",
                "n=1; span(`@timestamp`, 5m)=2023-11-14 22:15:00.000",
            ],
        ),
        (
            "stats count() by span(ms, 25) as bucket",
            "stats count(*) as `count()` by floor(ms / 25) * 25 as bucket | display `count()`, bucket",
            &["count()=2; bucket=0", "count()=2; bucket=25", "count()=1; bucket=50"],
        ),
        (
            "where route = '/a' and not status = 200 | eval slow = ms * 2, r = substring(route, 2) | fields user, slow, r",
            "",
            // (Newest first without `sort`, as Logs Insights gives them.)
            &["slow=100; r=a; @ptr=p4", "user=ann; slow=40; r=a; @ptr=p2"],
        ),
        (
            "where agent like 'curl%' or status in (404, 503) | fields route | sort + route",
            "",
            &["route=/a; @ptr=p4", "route=/a; @ptr=p2", "route=/a; @ptr=p0", "route=/c/d; @ptr=p3"],
        ),
        (
            "where ms between 20 and 40 and isnotnull(agent) | fields ms",
            "",
            &["ms=40; @ptr=p3", "ms=30; @ptr=p1"],
        ),
        (
            "dedup user | fields user, route | sort user",
            "",
            &["user=ann; route=/a; @ptr=p2", "user=bob; route=/b; @ptr=p1", "user=cy; route=/c/d; @ptr=p3"],
        ),
        (
            "where lower(agent) like 'python%' | stats percentile(ms, 50) as p, sum(ms)",
            "",
            &["p=30; sum(ms)=80"],
        ),
        (
            "where isnull(user) | eval len = length(route) | head 1",
            "",
            &[],
        ),
        // head n from m: the rows after the first m.
        (
            "fields route, ms | sort ms | head 2 from 1",
            "",
            &["route=/a; ms=20; @ptr=p2", "route=/b; ms=30; @ptr=p1"],
        ),
        (
            "fields route, ms | sort ms | head 10 from 4",
            "",
            &["route=/a; ms=50; @ptr=p4"],
        ),
        // top/rare: count_<field> first, most (least) frequent first, ties by value.
        (
            "top 2 route",
            "stats count(route) as count_route by route | sort count_route desc, route asc | limit 2 | display count_route, route",
            &["count_route=3; route=/a", "count_route=1; route=/b"],
        ),
        (
            "rare route",
            "",
            &["count_route=1; route=/b", "count_route=1; route=/c/d", "count_route=3; route=/a"],
        ),
        (
            // n rows for each group of the `by` fields (OpenSearch's `top 1 age by gender`).
            "top 1 status by route",
            "",
            &[
                "count_status=1; status=200; route=/a",
                "count_status=1; status=500; route=/b",
                "count_status=1; status=200; route=/c/d",
            ],
        ),
        // (Records missing a `by` field form a group of their own, also cut to n.)
        (
            "eval u = if(ms > 15, nope, user) | top 1 route by u",
            "",
            &["count_route=1; route=/a; u=ann", "count_route=2; route=/a"],
        ),
        (
            "rare 2 route by user",
            "",
            &[
                "count_route=2; route=/a; user=ann",
                "count_route=1; route=/b; user=bob",
                "count_route=1; route=/c/d; user=cy",
                "count_route=1; route=/a",
            ],
        ),
        // fields - removes fields from those shown.
        (
            "fields route, ms, user | fields - ms | sort ms | head 2",
            "fields route, ms, user | sort ms | limit 2 | display route, user",
            &["route=/a; user=ann; @ptr=p0", "route=/a; user=ann; @ptr=p2"],
        ),
        // fillnull: the three forms; filled fields move to the end of those shown.
        (
            "fields user, agent, route | fillnull with 'none' in user, agent | sort route | head 1 from 1",
            "",
            &["route=/a; user=ann; agent=none; @ptr=p2"],
        ),
        (
            "fields user, ms | fillnull using user = 'anon' | where ms >= 50",
            "",
            &["ms=50; user=anon; @ptr=p4"],
        ),
        (
            "where ms = 50 | fields user, route | fillnull value=0 user",
            "",
            &["route=/a; user=0; @ptr=p4"],
        ),
        // parse: named groups become fields (the pattern keeps its backslashes).
        (
            "parse route '/(?<first>\\w)(/(?<second>\\w))?' | where ms = 40 | fields route, first, second",
            "parse route /\\/(?<first>\\w)(\\/(?<second>\\w))?/ | filter ms = 40 | fields route, first, second",
            &["route=/c/d; first=c; second=d; @ptr=p3"],
        ),
        // Subsearches: the outer field's values among the subsearch's rows (here over the
        // same events).
        (
            "where user in [ search source = `g` | where status >= 500 | fields user ] | fields user, ms",
            "",
            &["user=bob; ms=30; @ptr=p1"],
        ),
        (
            "eval r2 = route | where r2 not in [ source = g | where status = 404 | fields route ] | fields r2 | dedup r2 | sort r2",
            "",
            &["r2=/b; @ptr=p1", "r2=/c/d; @ptr=p3"],
        ),
        // Several fields against the subsearch's, in order (OpenSearch's `(a, b) in [ … ]`):
        // (route, status) pairs of the 5xx responses; `1.0` equals `1`; a row missing a value
        // passes neither `in` nor `not in`.
        (
            "where (route, status) in [ source = g | where status >= 500 | fields route, status ] | fields route, status",
            "",
            &["route=/a; status=503; @ptr=p4", "route=/b; status=500; @ptr=p1"],
        ),
        (
            "where (route, ms / 10 * 1.0) in [ source = g | where user = 'ann' | eval m = ms / 10 | fields route, m ] | fields route, ms",
            "",
            &["route=/a; ms=20; @ptr=p2", "route=/a; ms=10; @ptr=p0"],
        ),
        (
            "where (user, route) not in [ source = g | where ms = 10 | fields user, route ] | fields user, route",
            "",
            &["user=cy; route=/c/d; @ptr=p3", "user=bob; route=/b; @ptr=p1"],
        ),
        (
            "where not (user, route) in [ source = g | where ms = 10 | fields user, route ] | fields user, route",
            "",
            &["user=cy; route=/c/d; @ptr=p3", "user=bob; route=/b; @ptr=p1"],
        ),
        // Subsearches inside subsearches (AWS's example nests two), and a scalar one inside
        // one: each runs before the one it is in.
        (
            "where user in [ source = g | where route in [ source = g | where status = 404 | fields route ] | fields user ] | fields user, ms",
            "",
            &["user=ann; ms=20; @ptr=p2", "user=ann; ms=10; @ptr=p0"],
        ),
        (
            "where user in [ source = g | where route in [ source = g | where ms in [ source = g | where status = 404 | fields ms ] | fields route ] | fields user ] | fields user",
            "",
            &["user=ann; @ptr=p2", "user=ann; @ptr=p0"],
        ),
        (
            "where user in [ source = g | where ms > [ source = g | stats avg(ms) ] | fields user ] | fields user",
            "",
            &["user=cy; @ptr=p3"],
        ),
        // One value in parentheses, and an expression.
        (
            "where (user) in [ source = g | where ms = 30 | fields user ] | fields user",
            "",
            &["user=bob; @ptr=p1"],
        ),
        (
            "where upper(user) in [ source = g | where ms = 20 | eval u = upper(user) | fields u ] | fields user",
            "",
            &["user=ann; @ptr=p2", "user=ann; @ptr=p0"],
        ),
        // sort num(f) / auto(f): numbers by value.
        (
            "eval t = if(ms > 25, concat(ms, ''), concat('9', ms)) | sort - num(t), auto(route) | fields t",
            "",
            &["t=920; @ptr=p2", "t=910; @ptr=p0", "t=50; @ptr=p4", "t=40; @ptr=p3", "t=30; @ptr=p1"],
        ),
        // appendcol: the sub-search's rows over the query's, row by row.
        (
            "stats count() as n by route | sort route | appendcol [ stats max(ms) as top by route | sort route ]",
            "",
            &["n=3; route=/a; top=50", "n=1; route=/b; top=30", "n=1; route=/c/d; top=40"],
        ),
        (
            "stats count() as n by route | sort route | appendcol override=true [ stats count() as n | eval extra = 1 ]",
            "",
            &["n=5; route=/a; extra=1", "n=1; route=/b", "n=1; route=/c/d"],
        ),
        // Scalar subsearches: their one value (OpenSearch's `eval m = [ … | stats max(c) ]`).
        (
            "eval most = [ source = g | stats max(ms) ], share = ms / [ source = g | stats sum(ms) ] | where ms > [ source = g | where status = 200 | stats avg(ms) ] | fields route, ms, most, share",
            "",
            &["route=/a; ms=50; most=50; share=0.3333333333333333; @ptr=p4", "route=/c/d; ms=40; most=50; share=0.26666666666666666; @ptr=p3", "route=/b; ms=30; most=50; share=0.2; @ptr=p1"],
        ),
        (
            "where user in [ subquery source=g | where status >= 500 | fields user ] | fields user",
            "",
            &["user=bob; @ptr=p1"],
        ),
        // eventstats by a span of @timestamp: each row its 5-minute bin's count.
        (
            "eventstats count() as n by span(`@timestamp`, 5m) | fields ms, n | sort ms",
            "",
            &["ms=10; n=4; @ptr=p0", "ms=20; n=4; @ptr=p2", "ms=30; n=4; @ptr=p1", "ms=40; n=4; @ptr=p3", "ms=50; n=1; @ptr=p4"],
        ),
        // eventstats: every row gets its group's aggregates over all rows at that point.
        (
            "where status < 500 | eventstats avg(ms) as mean, count() as n by route | fields route, ms, mean, n | sort ms",
            "",
            &[
                "route=/a; ms=10; mean=15; n=2; @ptr=p0",
                "route=/a; ms=20; mean=15; n=2; @ptr=p2",
                "route=/c/d; ms=40; mean=40; n=1; @ptr=p3",
            ],
        ),
        // Without fields, the aggregates join whole records (named as stats names them).
        (
            "where ms >= 40 | eventstats count() | fields ms, `count()`",
            "",
            &["ms=50; count()=2; @ptr=p4", "ms=40; count()=2; @ptr=p3"],
        ),
        (
            "eventstats max(ms) as top | where ms * 2 > top | fields ms, top",
            "",
            &["ms=50; top=50; @ptr=p4", "ms=40; top=50; @ptr=p3", "ms=30; top=50; @ptr=p1"],
        ),
        // A second eventstats (windows over the rows held): a row missing a key gets none.
        (
            "eventstats count() as c by route | eventstats avg(ms) as a, max(ms) as m, var_samp(ms) as v by user | fields route, user, ms, c, a, m, v | sort ms",
            "",
            &["route=/a; user=ann; ms=10; c=3; a=15; m=20; v=50.00000000000001; @ptr=p0", "route=/a; user=ann; ms=20; c=3; a=15; m=20; v=50.00000000000001; @ptr=p2", "route=/b; user=bob; ms=30; c=1; a=30; m=30; v=0; @ptr=p1", "route=/c/d; user=cy; ms=40; c=1; a=40; m=40; v=0; @ptr=p3", "route=/a; ms=50; c=3; @ptr=p4"],
        ),
        (
            "eventstats count() as c | eventstats sum(ms) as s by span(`@timestamp`, 5m) | fields ms, c, s | sort ms",
            "",
            &["ms=10; c=5; s=100; @ptr=p0", "ms=20; c=5; s=100; @ptr=p2", "ms=30; c=5; s=100; @ptr=p1", "ms=40; c=5; s=100; @ptr=p3", "ms=50; c=5; s=50; @ptr=p4"],
        ),
        // Functions written otherwise in Logs Insights.
        (
            "eval p = pow(ms, 2), m = mod(ms, 7), s = sign(ms - 30), l = left(route, 2), h = sha2(user, 256) | where ms <= 30 | fields p, m, s, l, h | sort p",
            "",
            &[
                "p=100; m=3; s=-1; l=/a; h=49915e0d7d4b402e3017d010bc1c0e83cac6c797d6c16e66340fe3268693a6a1; @ptr=p0",
                "p=400; m=6; s=-1; l=/a; h=49915e0d7d4b402e3017d010bc1c0e83cac6c797d6c16e66340fe3268693a6a1; @ptr=p2",
                "p=900; m=2; s=0; l=/b; h=81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9; @ptr=p1",
            ],
        ),
        // trendline wma: weights 1..n, oldest first.
        (
            "fields ms | trendline sort ms wma(3, ms) as w",
            "",
            &[
                "ms=10; @ptr=p0",
                "ms=20; @ptr=p2",
                "ms=30; w=23.333333333333332; @ptr=p1",
                "ms=40; w=33.333333333333336; @ptr=p3",
                "ms=50; w=43.333333333333336; @ptr=p4",
            ],
        ),
        // grok: its macros expand into named groups, run as parse.
        (
            "grok agent '%{WORD:tool}/%{NUMBER:version}' | where ms <= 20 | fields agent, tool, version",
            "",
            &["@ptr=p2", "agent=curl/8.5; tool=curl; version=8.5; @ptr=p0"],
        ),
        // trendline: the mean of the last n rows' numbers.
        (
            "fields ms | trendline sort ms sma(2, ms) as avg2 sma(3, ms)",
            "",
            &[
                "ms=10; @ptr=p0",
                "ms=20; avg2=15; @ptr=p2",
                "ms=30; avg2=25; ms_trendline=20; @ptr=p1",
                "ms=40; avg2=35; ms_trendline=30; @ptr=p3",
                "ms=50; avg2=45; ms_trendline=40; @ptr=p4",
            ],
        ),
    ];
    for (ppl, cwli, want) in cases {
        let got = show(&run_ppl(ppl, &ev));
        if !want.is_empty() {
            assert_eq!(got, *want, "PPL: {ppl}");
        }
        if !cwli.is_empty() {
            assert_eq!(show(&run(cwli, &ev)), got, "PPL: {ppl} against {cwli}");
        }
    }
    // `eval` adds to whole records: the event's fields and the new one.
    let rows = run_ppl(
        "where isnull(user) | eval len = length(route) | head 1",
        &ev,
    );
    assert_eq!(rows.len(), 1);
    let fields: Vec<&str> = rows[0].iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        fields.contains(&"@message") && fields.contains(&"route"),
        "{fields:?}"
    );
    assert!(
        rows[0].iter().any(|(k, v)| k == "len" && v == "2"),
        "{:?}",
        rows[0]
    );
    // `head` without a number: 10.
    let many: Vec<(i64, String)> = (0..15)
        .map(|i| (T0 + i, format!(r#"{{"i":{i}}}"#)))
        .collect();
    let many: Vec<(i64, &str)> = many.iter().map(|(t, m)| (*t, m.as_str())).collect();
    assert_eq!(run_ppl("fields i | head", &evs(&many)).len(), 10);
}

/// AWS's query scope for PPL: `[search] source = [lg:…, conditions]` names the log groups and
/// filters; `aws:fieldIndex` declares indexes (none exist here, so it changes nothing).
#[test]
fn source_scope_names_groups_and_filters() {
    let ev = events();
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "source = [lg:`/aws/lambda/my-function`] | where status = 200 | head 10 | fields route",
            &["/aws/lambda/my-function"],
            &["route=/c/d; @ptr=p3", "route=/a; @ptr=p0"],
        ),
        (
            "source = [`aws:fieldIndex`=\"route\", `route` = \"/a\"] | stats count() as n",
            &[],
            &["n=3"],
        ),
        (
            "search source=[lg:`/g1`, lg:/g2, `aws:fieldIndex` IN (\"status\", \"route\"), `status` = 200, `route` IN (\"/a\", '/b')]",
            &["/g1", "/g2"],
            &["route=/a; status=200; ms=10; user=ann; agent=curl/8.5; @ptr=p0"],
        ),
    ];
    for (q, groups, want) in cases {
        let query = parse_ppl(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        let src = query.source().expect("a source");
        assert_eq!(&src.names, groups, "{q}");
        let got: Vec<String> = run_ppl(q, &ev)
            .into_iter()
            .map(|r| {
                r.iter()
                    .filter(|(k, _)| {
                        !k.starts_with("@timestamp")
                            && k != "@message"
                            && k != "@logStream"
                            && k != "@log"
                            && k != "@ingestionTime"
                    })
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect();
        assert_eq!(got, want.to_vec(), "{q}");
    }
}

/// A join's right side given as a subsearch: its rows (filtered, computed, cut by `head`) are
/// what the join reads.
#[test]
fn join_with_a_subsearch_on_the_right() {
    let main = evs(&[
        (T0, r#"{"user":"ann","ms":10}"#),
        (T0 + 1, r#"{"user":"bob","ms":30}"#),
        (T0 + 2, r#"{"user":"cy","ms":50}"#),
    ]);
    let teams = evs(&[
        (T0, r#"{"user":"ann","team":"red","active":true}"#),
        (T0 + 1, r#"{"user":"bob","team":"blue","active":false}"#),
        (T0 + 2, r#"{"user":"cy","team":"red","active":true}"#),
        (T0 + 3, r#"{"team":"none"}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "inner join left = l, right = r on l.user = r.user [ source = teams | where active = 'true' | eval t = upper(team) | fields user, t ] | fields l.user, r.t | sort l.user",
            &["l.user=ann; r.t=RED; @ptr=p0", "l.user=cy; r.t=RED; @ptr=p2"],
        ),
        (
            "left join left = l, right = r on l.user = r.user [ source = teams | sort user | head 1 ] | fields l.user, r.team | sort l.user",
            &["l.user=ann; r.team=red; @ptr=p0", "l.user=bob; @ptr=p1", "l.user=cy; @ptr=p2"],
        ),
        (
            "join on l.user = r.user [ source = teams | where team = 'blue' ] as r | fields l.ms",
            &["l.ms=30; @ptr=p1"],
        ),
        (
            "join left = l, right = r on l.user = r.user [ source = teams ] | where r.team = 'blue' | fields l.ms",
            &["l.ms=30; @ptr=p1"],
        ),
        (
            "join left = l, right = r on l.user = r.user [ search source = teams ] | where r.team = 'blue' | fields l.ms",
            &["l.ms=30; @ptr=p1"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_over_two(parse_ppl, q, &main, &teams), *want, "{q}");
    }
    let q = "join left = l, right = r on l.user = r.user [ source = teams | where user in [ source = x | fields user ] ]";
    assert!(parse_ppl(q).is_err_and(|e| e.message.contains("cannot hold a subsearch")));
}

/// `exists [ … ]`: uncorrelated, whether the subsearch has rows; correlated by equalities
/// `outer.x = inner.y` joined by and, whether it has one equal to the row (a row missing the
/// field has none: `not exists` keeps it).
#[test]
fn exists_subsearches_correlated_by_qualified_equalities() {
    let main = evs(&[
        (T0, r#"{"user":"ann","ms":10,"team":"red"}"#),
        (T0 + 1, r#"{"user":"bob","ms":30,"team":"blue"}"#),
        (T0 + 2, r#"{"ms":50}"#),
    ]);
    let other = evs(&[
        (T0, r#"{"name":"ann","team":"red","active":true}"#),
        (T0 + 1, r#"{"name":"bob","team":"green","active":false}"#),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "where exists [ source = inner | where outer.user = inner.name ] | fields user",
            &["user=bob; @ptr=p1", "user=ann; @ptr=p0"],
        ),
        (
            "where not exists [ source = inner | where outer.user = inner.name ] | fields ms",
            &["ms=50; @ptr=p2"],
        ),
        (
            "where exists [ source = inner | where inner.name = outer.user and inner.team = outer.team ] | fields user",
            &["user=ann; @ptr=p0"],
        ),
        (
            "where not exists [ source = inner | where active = 'true' and outer.user = inner.name ] | fields ms",
            &["ms=50; @ptr=p2", "ms=30; @ptr=p1"],
        ),
        (
            "where exists [ source = inner | where active = 'nope' ] | fields user",
            &[],
        ),
        (
            "where ms > 20 and not exists [ source = inner | where active = 'nope' ] | fields ms",
            &["ms=50; @ptr=p2", "ms=30; @ptr=p1"],
        ),
        (
            "where exists [ source = inner ] | stats count() as n",
            &["n=3"],
        ),
        // Filters may follow the correlation; commands before it shape the rows it reads.
        (
            "where exists [ source = inner | sort name | head 1 | where outer.user = inner.name | where active = 'true' ] | fields user",
            &["user=ann; @ptr=p0"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(run_over_two(parse_ppl, q, &main, &other), *want, "{q}");
    }
    for (q, words) in [
        (
            "where exists [ source = inner | where outer.user = inner.name or active = 'true' ]",
            "not under or",
        ),
        (
            "where exists [ source = inner | where (outer.user = inner.name) ]",
            "not under or",
        ),
        (
            "where exists [ source = inner | where inner.name > outer.user ]",
            "other correlations are not supported yet",
        ),
        // Commands after a correlation would run over every row; an `or` in the clause is
        // seen past a nested subsearch; the outer name is read as any field read is.
        (
            "where exists [ source = inner | where outer.user = inner.name | head 1 ]",
            "only where may follow",
        ),
        (
            "where exists [ source = inner | where outer.user = inner.name and z in [ source = h | fields z ] or w = 1 ]",
            "not under or",
        ),
        (
            "join left = l, right = r on l.k = r.k `b` | where exists [ source = inner | where x.user = inner.name ]",
            "qualify user",
        ),
        (
            "where user in [ source = inner | where outer.user = inner.name | fields name ]",
            "only in exists",
        ),
    ] {
        match parse_ppl(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
}

/// Joins parse into a query with a right side; after the join, qualified names and names
/// made since (eval, stats) are read freely.
#[test]
fn joins_parse_with_their_right_side() {
    for q in [
        "join left=a, right=b on a.user = b.user `/teams`",
        "LEFT OUTER JOIN left = a right = b ON b.user = a.user teams | eval t = b.team | where t = 'red' | stats count() as n by t | sort - n",
        "where status = 200 | inner join left=a, right=b on a.user = b.user `/teams` | fields a.user, b.team",
        "join left=a, right=b on a.user = b.user and b.team = 'red' and a.ms > 10 `/teams` | fields a.user",
        // Without aliases: the right side by its log group's name or AS alias.
        "inner join on t.user = teams.user teams | fields t.user, teams.team",
        "join on t.user = tm.user and tm.team = 'red' `/teams` as tm | fields tm.team",
    ] {
        let query = parse_ppl(q).unwrap_or_else(|e| panic!("{q}: {e:?}"));
        assert!(query.join_side().is_some(), "{q}");
    }
}

#[test]
fn unsupported_ppl_is_an_error_naming_it_and_its_place() {
    // (query, words the message holds, the span's text)
    let cases: &[(&str, &str, &str)] = &[
        (
            "fields route | grok route '/%{NOPE:w}'",
            "grok pattern NOPE is not supported",
            "%{NOPE:w}",
        ),
        ("grok route '%{INT:n:int}'", "a type", "%{INT:n:int}"),
        (
            "fieldsummary includefields=ms, status",
            "one field per",
            ",",
        ),
        (
            "fieldsummary includefields=ms includefields=status",
            "one field per",
            "includefields",
        ),
        (
            "fieldsummary nulls=true",
            "needs includefields",
            "fieldsummary nulls=true",
        ),
        (
            "fieldsummary includefields=ms nulls=maybe",
            "true or false",
            "maybe",
        ),
        (
            "fieldsummary includefields=ms | head 1",
            "last command",
            "|",
        ),
        (
            "fields route, ms | fields - user",
            "not a field shown",
            "user",
        ),
        ("fields route | fields - route", "every field", ""),
        (
            "join left=a, right=b on a.k = b.k `g` | eventstats dc(a.x) by a.k",
            "distinct_count in a second eventstats, or one after a join",
            "eventstats dc(a.x) by a.k",
        ),
        (
            "eventstats count() | eventstats dc(ms)",
            "distinct_count in a second eventstats",
            "eventstats dc(ms)",
        ),
        ("top 0 route", "positive whole number", "0"),
        ("fillnull route", "expected fillnull with", "route"),
        ("fillnull with 0 route", "expected 'in'", "route"),
        ("parse route '(a+)'", "names no group", "'(a+)'"),
        (
            "parse route '(?<x>a+'",
            "not a valid regular expression",
            "'(?<x>a+'",
        ),
        ("trendline wma(2, ms)", "wma needs a sort", "wma"),
        ("trendline sma(0, ms)", "from 1 to 10000", "0"),
        ("head 2 from x", "expected a number after from", "x"),
        (
            "where a in [ source = g | where b > 1 ]",
            "select one field",
            "",
        ),
        (
            "where a in [ source = g | fields a, b ]",
            "select one field",
            "",
        ),
        (
            "where (a, b) in [ source = g | fields a ]",
            "select 2 fields",
            "",
        ),
        (
            "where (a, b, c) in [ source = g | fields a, b ]",
            "select 3 fields",
            "",
        ),
        ("where a in [ where b > 1 | fields a ]", "expected", ""),
        ("where a in [ source = g | fields a", "not closed", "["),
        (
            "where a in [ source = g | where b in [ source = h | where c in [ source = i | where d in [ source = j | fields d ] | fields c ] | fields b ] | fields a ]",
            "nest at most 3 levels",
            "",
        ),
        ("where a in [ source = g | fields zz( ]", "expected", ""),
        (
            "join left=a, right=b on a.k = b.k `g` | where status = 1",
            "qualify status",
            "status",
        ),
        (
            "join left=a, right=b on a.k = b.k `g` | fields a.x, y",
            "qualify y",
            "y",
        ),
        (
            "right join left=a, right=b on a.k = b.k `g`",
            "RIGHT joins",
            "right",
        ),
        (
            "join on a.k = b.k `g`",
            "one equality between a field of each side",
            "",
        ),
        ("join on a.k = b.k `/g/h`", "join without aliases", ""),
        ("join left=a, right=b on a.k < b.k `g`", "one equality", ""),
        (
            "left join left=a, right=b on a.k = b.k and a.x = b.x `g`",
            "more conditions only with INNER",
            "and",
        ),
        (
            "join left=a, right=b on a.k = b.k or a.x = b.x `g`",
            "no or",
            "or",
        ),
        (
            "join left=a, right=b on a.k = b.k and a.x = 1 or b.y = 2 `g`",
            "no or",
            "or",
        ),
        (
            "join left=a, right=b on a.k = b.k and status = 200 `g`",
            "qualify status",
            "status",
        ),
        (
            "eval m = [ source = inner | where outer.b = inner.d | stats max(c) ]",
            "only in exists",
            "inner.d",
        ),
        (
            "eventstats max([ source = g | stats max(c) ]) as m by h",
            "a subsearch in eventstats",
            "",
        ),
        (
            "join left=a, right=b on a.k = b.k [ source = g | fields a, b",
            "not closed",
            "[",
        ),
        (
            "join left=a, right=b on a.k = b.k `g` | join left=c, right=d on c.k = d.k `h`",
            "only one join",
            "join",
        ),
        (
            "source = [ds:`DataSource1.Type1`] | head 1",
            "data sources (ds:) are not supported",
            "ds:",
        ),
        ("source = mygroup | head 1", "in brackets", "source = "),
        (
            "source = [lg:`/g`, `status` > 200] | head 1",
            "field = value or field IN",
            ">",
        ),
        ("source = [lg:`/g`] fields a", "expected '|'", "f"),
        (
            "source = [lg:g, region = useast] | head 1",
            "quoted string or a number",
            "useast",
        ),
        (
            "source = [lg:g, a|b = 1] | head 1",
            "field is a name",
            "a|b",
        ),
        (
            "source = [`status` = 200] | eval x = nope(1)",
            "nope",
            "nope",
        ),
        (
            "stats take(route, 0)",
            "take's size",
            "stats take(route, 0)",
        ),
        (
            "eval x = sha2(route, 128)",
            "224, 256, 384 or 512 bits",
            "sha2",
        ),
        (
            "eval x = case(ms > 1, 'a' else 'b', 'c')",
            "expected ')'",
            ",",
        ),
        ("eval x = cast(ms as decimal)", "cast takes int", "decimal"),
        (
            "where rlike(route, '^(?=/a)')",
            "does not compile here",
            "rlike",
        ),
        ("appendcol stats count()", "in brackets", "stats"),
        ("appendcol [ where ms > 1 ]", "must choose its fields", ""),
        (
            "stats count() as n | appendcol [ stats max(ms) as m ] | eventstats percentile(n, 50) as c",
            "percentile in a second eventstats",
            "eventstats percentile(n, 50) as c",
        ),
        (
            "eval m = [ source = g | fields a, b ]",
            "must select one field",
            "",
        ),
        (
            "eval m = [ source = g | stats max(a) ] | eventstats dc(m) as n",
            "distinct_count in a second eventstats",
            "eventstats dc(m) as n",
        ),
        (
            "eval x = date_add(ms, interval 1 fortnight)",
            "INTERVAL takes a unit",
            "fortnight",
        ),
        ("eval x = cast(ms, int)", "expected AS", ","),
        ("eval x = position('a', route)", "expected IN", ","),
        ("stats count() by span(ms, 5x)", "unknown span unit", "5x"),
        ("dedup 0 route", "positive whole number", "0"),
        ("dedup route keepempty=yes", "true or false", "yes"),
        ("fields route | ", "PPL command after '|'", ""),
        ("where (status > 1", "expected ')'", ""),
        ("", "query is empty", ""),
    ];
    for (q, words, span) in cases {
        let e = match parse_ppl(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => e,
        };
        assert!(e.message.contains(words), "{q:?}: {e:?}");
        let chars: Vec<char> = q.chars().collect();
        assert!(
            e.start <= e.end && e.end <= chars.len().max(1),
            "{q:?}: {e:?}"
        );
        if !span.is_empty() {
            let got: String = chars[e.start..e.end.min(chars.len())].iter().collect();
            assert_eq!(got, *span, "{q:?}: {e:?}");
        }
    }
}

/// What a review of the translation found, each as it must now answer.
#[test]
fn review_findings_answer_as_ppl_would_or_are_refused() {
    let ev = events();
    let cases: &[(&str, &[&str])] = &[
        // `not` over a missing field is not true (PPL's null).
        (
            "where not user in ('ann') | fields route | sort route",
            &["route=/b; @ptr=p1", "route=/c/d; @ptr=p3"],
        ),
        // A count over no record is one row of 0.
        ("where ms > 1000 | stats count()", &["count()=0"]),
        // Numbers with exponents and a leading dot.
        (
            "where ms > 1e1 and ms < 4.5E1 and ms > .5 | stats count() as n",
            &["n=3"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(show(&run_ppl(q, &ev)), *want, "PPL: {q}");
    }
    // top/rare with several fields order by every count column (then the values).
    let multi = evs(&[
        (T0, r#"{"a":"x","b":"1"}"#),
        (T0 + 1, r#"{"a":"x"}"#),
        (T0 + 2, r#"{"a":"z"}"#),
        (T0 + 3, r#"{"a":"z","b":"2"}"#),
        (T0 + 4, r#"{"a":"z","b":"2"}"#),
    ]);
    assert_eq!(
        show(&run_ppl("top 2 a, b", &multi)),
        [
            "count_a=2; count_b=2; a=z; b=2",
            "count_a=1; count_b=1; a=x; b=1",
        ]
    );
    // A pattern's `\\` before a quote stays a backslash pair; the quote is then doubled.
    let quoted = evs(&[(T0, r#"{"m":"a\\'b"}"#), (T0 + 1, r#"{"m":"a''b"}"#)]);
    assert_eq!(
        show(&run_ppl(
            r"parse m '(?<v>a\\''b)' | where isnotnull(v) | fields v",
            &quoted
        )),
        [r"v=a\'b; @ptr=p0"]
    );
    // Session 8's second review: nested subsearches and signs are refused before they grow;
    // eventstats after a subsearch is refused; eventstats groups numbers as numbers.
    let nested = (0..100).fold("fields a".to_string(), |inner, _| {
        format!("where a in [ source = g | {inner} | fields a ]")
    });
    assert!(parse_ppl(&nested).is_err_and(|e| e.message.contains("nest at most 3 levels")));
    let signs = (0..18).fold("ms".to_string(), |x, _| format!("sign({x})"));
    let started = std::time::Instant::now();
    assert!(
        parse_ppl(&format!("eval y = {signs}")).is_err_and(|e| e.message.contains("too complex"))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        parse_ppl("where a in [ source = g | fields a ] | eventstats dc(a) as c")
            .is_err_and(|e| e.message.contains("after a join, a subsearch"))
    );
    let nums = evs(&[
        (T0, r#"{"n":1.0}"#),
        (T0 + 1, r#"{"n":1}"#),
        (T0 + 2, r#"{"n":"1"}"#),
        (T0 + 3, r#"{"n":2}"#),
    ]);
    assert_eq!(
        show(&run_ppl(
            "eventstats count() as c by n | fields n, c",
            &nums
        )),
        [
            "n=2; c=1; @ptr=p3",
            "n=1; c=3; @ptr=p2",
            "n=1; c=3; @ptr=p1",
            "n=1.0; c=3; @ptr=p0"
        ]
    );
    // Session 8's third review: a large value copied into many fillnull fields stops at the
    // translation's budget; eventstats by a time matches its rendered groups.
    let mut e = "ms".to_string();
    for _ in 0..7 {
        e = format!("sign({e})");
    }
    let fields = vec!["b"; 2000].join(",");
    let started = std::time::Instant::now();
    assert!(parse_ppl(&format!("fillnull with {e} in {fields}"))
        .is_err_and(|e| e.message.contains("too complex")));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        show(&run_ppl(
            "where ms <= 20 | eventstats count() as n by `@timestamp` | fields ms, n",
            &events()
        )),
        ["ms=20; n=1; @ptr=p2", "ms=10; n=1; @ptr=p0"]
    );
    // Limits over 10,000 (Logs Insights' cap on its own `limit`) are taken.
    assert!(parse_ppl("head 20000 from 5").is_ok());
    // Long chains are written flat.
    let long = format!(
        "where {} | stats count() as n",
        vec!["ms >= 0"; 1000].join(" and ")
    );
    assert_eq!(show(&run_ppl(&long, &ev)), ["n=5"]);
    let sum = format!(
        "where ms + {} >= 0 | stats count() as n",
        vec!["0"; 1000].join(" + ")
    );
    assert!(parse_ppl(&sum).is_err_and(|e| e.message.contains("chains more than")));
    let refused: &[(&str, &str)] = &[
        (
            &format!("eval x = {}ms", "-".repeat(500)),
            "nests more than",
        ),
        (
            &format!("where {}ms{} > 1", "(".repeat(500), ")".repeat(500)),
            "nests more than",
        ),
        ("where ms > 5m", "is not a value here"),
        ("stats count() by span(`@timestamp`, 1.5h)", "whole number"),
        ("stats count() by span(`@timestamp`, 0m)", "positive number"),
        ("stats count() by span(`@timestamp`, 5)", "takes a unit"),
        ("stats count() by span(ms, 0)", "positive number"),
        // (A doubled backslash in a PPL string is one backslash.)
        ("where route like 'a\\\\b'", "escapes 'b'"),
        ("stats count() by `\u{1}0`", "U+0001"),
        // Session 8's review: a count column may not hide a field; only the stats' columns
        // exist after it (after a join, an older name is refused, not read as missing); a
        // join's group must be a log group name.
        ("top count_route, route", "both a field and the count column"),
        (
            "join left=l, right=r on l.k = r.k `g` | eval y = r.y | stats count() as c by l.x | where y = 'b1'",
            "qualify y",
        ),
        ("join left=l, right=r on l.k = r.k `g\\`", "a log group name"),
        ("where a in [ source = `g'x` | fields a ]", "the subsearch's log group"),
    ];
    for (q, words) in refused {
        match parse_ppl(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q:?}: {e:?}"),
        }
    }
}

#[test]
fn rename_moves_a_value_to_a_new_name() {
    let ev = events();
    let cases: &[(&str, &[&str])] = &[
        // AWS's own example: over whole records, with a later `fields`.
        (
            "rename route as path | fields path | sort path | head 2",
            &["path=/a; @ptr=p4", "path=/a; @ptr=p2"],
        ),
        // After `stats`: the column keeps its place under its new name.
        (
            "stats count() as n by route | rename route as r | sort r",
            &["n=3; r=/a", "n=1; r=/b", "n=1; r=/c/d"],
        ),
        (
            "fields route, ms | rename ms as t, route as r | sort - t | head 1",
            &["r=/a; t=50; @ptr=p4"],
        ),
        // Over whole records the old name leaves each row.
        (
            "where ms = 10 | rename route as path",
            &["@timestamp=2023-11-14 22:13:20.000; @message={\"route\":\"/a\",\"status\":200,\"ms\":10,\"user\":\"ann\",\"agent\":\"curl/8.5\"}; @logStream=stream-a; @log=123456789012:/aws/test; status=200; ms=10; user=ann; agent=curl/8.5; path=/a; @ptr=p0"],
        ),
        // (Renaming back, or writing the old name again, keeps it.)
        (
            "where ms = 10 | rename route as r | rename r as route | rename status as code | eval status = 'x' | rename ms as ms | fields - @message, @logStream, @log, agent, user",
            &["@timestamp=2023-11-14 22:13:20.000; route=/a; status=x; ms=10; code=200; @ptr=p0"],
        ),
        (
            "where ms = 10 | fields - route, agent, @message",
            &["@timestamp=2023-11-14 22:13:20.000; @logStream=stream-a; @log=123456789012:/aws/test; status=200; ms=10; user=ann; @ptr=p0"],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(show(&run_ppl(q, &ev)), *want, "PPL: {q}");
    }
    let refused: &[(&str, &str)] = &[
        (
            "rename route as path | fields route",
            "route was renamed or removed",
        ),
        (
            "fields ms | rename route as r",
            "route is not a field shown here",
        ),
        (
            "fields ms, route | rename ms as route",
            "already a field shown here",
        ),
        ("fields ms | rename ms to t", "expected 'as'"),
        (
            "fields - status | where status >= 500",
            "status was renamed or removed",
        ),
        (
            "rename route as r | stats count() by route",
            "route was renamed or removed",
        ),
    ];
    for (q, words) in refused {
        match parse_ppl(q) {
            Ok(_) => panic!("{q:?} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q:?}: {e:?}"),
        }
    }
}

/// `flatten` over nested JSON events (discovered as `req.method`, `items.0.sku`, …), over
/// JSON functions' objects, and PPL's JSON functions.
#[test]
fn flatten_and_json_functions() {
    let ev = evs(&[
        (T0, r#"{"req":{"method":"GET","path":"/a"},"ms":10}"#),
        (
            T0 + 1_000,
            r#"{"req":{"method":"POST","path":"/b"},"ms":20,"items":[{"sku":"x","n":1},{"sku":"y","n":2}]}"#,
        ),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "where ms = 10 | flatten req | fields method, path",
            &["method=GET; path=/a; @ptr=p0"],
        ),
        (
            "where ms = 20 | flatten items | fields sku, n",
            &["sku=x; n=1; @ptr=p1", "sku=y; n=2; @ptr=p1"],
        ),
        (
            "where ms = 10 | flatten req as (m, p) | fields m, p, `req.method`",
            &["m=GET; p=/a; @ptr=p0"],
        ),
        (
            "where ms = 10 | fields req, ms | flatten req as (m, p)",
            &["m=GET; p=/a; ms=10; @ptr=p0"],
        ),
        (
            "where ms = 10 | eval o = json_object('a', 1, 'b', 'two', 'c', json_object('d', 3)) | flatten o as (x, y) | fields x, y, c",
            &[r#"x=1; y=two; c={"d":3}; @ptr=p0"#],
        ),
        (
            r#"where ms = 10 | eval o = json_object('b', 1, 'a', 2), id = json_extract('{"id":12345678901234567890}', '$.id') | flatten o as (x, y) | fields x, y, id"#,
            &["x=2; y=1; id=12345678901234567890; @ptr=p0"],
        ),
        (
            r#"where ms = 10 | eval a = json_extract('{"a":{"b":[1,2]}}', '$.a.b[1]'), b = json_array_length(json_array(1, 2, 3)), c = json_keys('{"k":1,"l":2}'), d = json_valid('{'), e = to_json_string(json_object('k', 'v')), f = json('[1, 2]'), g = json('nope'), h = json_extract('{"a":{"b":"t"}}', '$[\'a\'].b') | fields a, b, c, d, e, f, h"#,
            &[r#"a=2; b=3; c=["k","l"]; d=false; e={"k":"v"}; f=[1, 2]; h=t; @ptr=p0"#],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(show(&run_ppl(q, &ev)), *want, "PPL: {q}");
    }
    let e = nephoscope_insights::parse_ppl("fields ms | flatten req").unwrap_err();
    assert!(e.message.contains("needs as (names)"), "{e:?}");
}

/// Hidden columns (eventstats' span) never show, even over whole records.
#[test]
fn hidden_columns_never_show() {
    let rows = run_ppl(
        "eventstats count() as n by span(`@timestamp`, 5m)",
        &events(),
    );
    assert_eq!(rows.len(), 5);
    for r in &rows {
        assert!(r.iter().any(|(k, _)| k == "n"), "{r:?}");
        assert!(!r.iter().any(|(k, _)| k.starts_with('\u{1}')), "{r:?}");
    }
}

/// A leading `SOURCE logGroups(...)` chooses the log groups of a PPL query too.
#[test]
fn ppl_takes_a_leading_source() {
    let q =
        parse_ppl("SOURCE logGroups(namePrefix: ['/app']) START=-1h | where ms > 1 | fields ms")
            .unwrap();
    let src = q.source().expect("a source");
    assert_eq!(src.name_prefixes, vec!["/app"]);
    assert_eq!(
        src.start,
        Some(nephoscope_insights::TimeBound::Relative(-3_600_000))
    );
    let e = parse_ppl("SOURCE logGroups() | where nope(1)").unwrap_err();
    assert_eq!(e.start, 27, "{e:?}");
}

/// timestampdiff's unit is a word, not a field, also after a join (where fields need a side).
#[test]
fn a_time_unit_is_no_field_after_a_join() {
    parse_ppl("join left = l, right = r on l.k = r.k `g` | eval d = timestampdiff(DAY, l.t, r.t) | fields d")
        .unwrap();
    let e = parse_ppl("SOURCE logGroups() | where x >").unwrap_err();
    assert!(e.end <= "SOURCE logGroups() | where x >".len(), "{e:?}");
}

/// AWS's `expand` example over whole records: each element becomes a row, under the alias,
/// and the array's field leaves the rows.
#[test]
fn expand_as_over_whole_records() {
    let ev = evs(&[(T0, r#"{"id":1,"tags":["red","blue"]}"#)]);
    let got = show(&run_ppl(
        "eval tags_array_string = json_extract(`@message`, '$.tags') | eval tags_array = json_array(json_extract(tags_array_string, '$[0]'), json_extract(tags_array_string, '$[1]')) | expand tags_array as color_tags | fields - @message, @logStream, @log, tags_array_string, tags.0, tags.1",
        &ev,
    ));
    assert_eq!(
        got,
        [
            "@timestamp=2023-11-14 22:13:20.000; id=1; color_tags=red; @ptr=p0",
            "@timestamp=2023-11-14 22:13:20.000; id=1; color_tags=blue; @ptr=p0",
        ]
    );
}

/// `sort str(f)` compares text character by character (`10` before `9`); `rand([seed])` is a
/// number in [0, 1), the same per record for one seed, different between records.
#[test]
fn sort_as_text_and_random_numbers() {
    let ev = evs(&[
        (T0, r#"{"code":"9","n":1}"#),
        (T0 + 1_000, r#"{"code":"10","n":2}"#),
        (T0 + 2_000, r#"{"code":"a9","n":3}"#),
        (T0 + 3_000, r#"{"code":"a10","n":4}"#),
        (T0 + 4_000, r#"{"code":"B","n":5}"#),
    ]);
    let order = |q: &str| -> Vec<String> {
        run_ppl(q, &ev)
            .iter()
            .map(|r| {
                r.iter()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(
        order("sort str(code) | fields code"),
        ["10", "9", "B", "a10", "a9"]
    );
    assert_eq!(
        order("sort - str(code) | fields code"),
        ["a9", "a10", "B", "9", "10"]
    );
    // (As values compare: text naturally, then numbers by value.)
    assert_eq!(
        order("sort code | fields code"),
        ["B", "a9", "a10", "9", "10"]
    );
    let draws = |q: &str| -> Vec<f64> {
        run_ppl(q, &ev)
            .iter()
            .map(|r| {
                r.iter()
                    .find(|(k, _)| k == "r")
                    .and_then(|(_, v)| v.parse().ok())
                    .expect("a number")
            })
            .collect()
    };
    let a = draws("eval r = rand(42) | fields r");
    assert_eq!(a.len(), 5);
    assert!(a.iter().all(|x| (0.0..1.0).contains(x)), "{a:?}");
    assert_eq!(a, draws("eval r = rand(42) | fields r"));
    assert_ne!(a, draws("eval r = rand(7) | fields r"));
    let mut distinct = a.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{a:?}");
    let b = draws("eval r = rand() | where r < 1 | fields r");
    assert_eq!(b.len(), 5);
    // SQL's `rand`/`random`, after stats too.
    let rows = run_with(
        nephoscope_insights::parse_sql,
        "SELECT rand(1) AS r, random() AS s FROM `A` WHERE n < 3",
        &ev,
    );
    assert_eq!(rows.len(), 2);
    for r in &rows {
        for k in ["r", "s"] {
            let x: f64 = r
                .iter()
                .find(|(n, _)| n == k)
                .expect("drawn")
                .1
                .parse()
                .expect("a number");
            assert!((0.0..1.0).contains(&x));
        }
    }
}
