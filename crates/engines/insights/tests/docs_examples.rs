//! Documented examples and the seed queries, as (query, input, expected rows) tables.
mod common;
use common::*;

const M: i64 = 60_000;

fn route53() -> Vec<Ev> {
    evs(&[
        (
            T0,
            r#"{"version":"1.100000","account_id":"123456789012","DomainName":"test.example.com.","query_type":"A","rcode":"NOERROR","srcaddr":"10.0.0.5"}"#,
        ),
        (
            T0 + 1000,
            r#"{"version":"1.100000","account_id":"123456789012","DomainName":"www.other.org.","query_type":"AAAA","rcode":"NOERROR","srcaddr":"10.0.0.6"}"#,
        ),
        (
            T0 + 2000,
            r#"{"version":"1.100000","account_id":"123456789012","DomainName":"API.TEST.EXAMPLE.COM.","query_type":"A","rcode":"NXDOMAIN","srcaddr":"10.0.0.7"}"#,
        ),
        (T0 + 3000, "not json at all test.example.com"),
    ])
}

#[test]
fn seed_route53_domain_filter_case_insensitive_regex() {
    let e = route53();
    let q = "fields @timestamp, @message | filter DomainName like /(?i)(test.example.com)/";
    let rows = run(q, &e);
    assert_eq!(rows.len(), 2);
    // newest first, fields in the order requested, @ptr last
    assert_eq!(
        rows[0][0],
        ("@timestamp".into(), "2023-11-14 22:13:22.000".into())
    );
    assert_eq!(rows[0][1].0, "@message");
    assert!(rows[0][1].1.contains("API.TEST.EXAMPLE.COM."));
    assert_eq!(rows[0][2], ("@ptr".into(), "p2".into()));
    assert_eq!(rows[1][2], ("@ptr".into(), "p0".into()));
    // case-sensitive without (?i)
    check(
        "fields DomainName | filter DomainName like /test.example.com/",
        &e,
        &["DomainName=test.example.com.; @ptr=p0"],
    );
    check(
        "fields DomainName | filter DomainName =~ /(?i)^api\\./",
        &e,
        &["DomainName=API.TEST.EXAMPLE.COM.; @ptr=p2"],
    );
    // events without the `by` field form their own group (sorted last, key omitted)
    check(
        "stats count(*) by rcode",
        &e,
        &[
            "rcode=NOERROR; count(*)=2",
            "rcode=NXDOMAIN; count(*)=1",
            "count(*)=1",
        ],
    );
}

fn bookings() -> Vec<Ev> {
    evs(&[
        (
            T0,
            r#"{"@BookingReference": 5, "BookingReference": 100, "guest": "a"}"#,
        ),
        (
            T0 + 1,
            r#"{"@BookingReference": 7, "BookingReference": 200, "guest": "b"}"#,
        ),
        (T0 + 2, r#"{"guest": "c"}"#),
    ])
}

#[test]
fn seed_sum_of_at_prefixed_json_key() {
    let e = bookings();
    // A JSON key that already starts with @ is exposed with an extra @: `@@BookingReference`.
    check(
        "fields @timestamp, @message | stats sum(@@BookingReference)",
        &e,
        &["sum(@@BookingReference)=12"],
    );
    check(
        "stats sum(BookingReference) as total, count(BookingReference) as n",
        &e,
        &["total=300; n=2"],
    );
    // `@BookingReference` names no field (not a system field, and the JSON key is exposed as
    // `@@BookingReference`), so the sum has no input values: the aggregate row has no value.
    check(
        "fields @timestamp, @message | stats sum(@BookingReference)",
        &e,
        &[""],
    );
    check(
        "fields `@@BookingReference` as b | filter ispresent(b) | display b",
        &e,
        &["b=7; @ptr=p1", "b=5; @ptr=p0"],
    );
}

fn apigw() -> Vec<Ev> {
    let lines = [
        (0, "GET /pets", "200", 12),
        (1, "GET /pets", "200", 18),
        (2, "POST /pets", "201", 40),
        (4, "GET /pets/{id}", "404", 5),
        (6, "GET /pets", "500", 230),
        (7, "POST /pets", "502", 1200),
        (11, "GET /pets", "200", 20),
        (12, "GET /pets/{id}", "200", 9),
    ];
    let msgs: Vec<(i64, String)> = lines
        .iter()
        .enumerate()
        .map(|(i, (min, route, status, lat))| {
            (
                T0 + min * M,
                format!(
                    r#"{{"requestId":"r{i}","ip":"203.0.113.{i}","requestTime":"14/Nov/2023:22:{min:02}:00 +0000","httpMethod":"{}","routeKey":"{route}","status":"{status}","protocol":"HTTP/1.1","responseLength":"{}","integrationLatency":{lat},"responseLatency":{lat}}}"#,
                    route.split(' ').next().unwrap(),
                    100 + i
                ),
            )
        })
        .collect();
    let refs: Vec<(i64, &str)> = msgs.iter().map(|(t, m)| (*t, m.as_str())).collect();
    evs(&refs)
}

#[test]
fn api_gateway_access_log_analyses() {
    let e = apigw();
    check(
        "stats count(*) as requests by status",
        &e,
        &[
            "status=200; requests=4",
            "status=201; requests=1",
            "status=404; requests=1",
            "status=500; requests=1",
            "status=502; requests=1",
        ],
    );
    check(
        "stats pct(responseLatency, 99) as p99 by routeKey | sort p99 desc",
        &e,
        &[
            "routeKey=POST /pets; p99=1200",
            "routeKey=GET /pets; p99=230",
            "routeKey=GET /pets/{id}; p99=9",
        ],
    );
    // T0 is 22:13:20; 5-minute bins start at 22:10, 22:15, 22:20, 22:25
    check(
        "stats count(*) as n by bin(5m) as t | sort t desc | limit 2",
        &e,
        &[
            "t=2023-11-14 22:25:00.000; n=1",
            "t=2023-11-14 22:20:00.000; n=2",
        ],
    );
    let rows = show(&run("stats count(*) by bin(5m)", &e));
    assert_eq!(
        rows,
        vec![
            "bin(5m)=2023-11-14 22:10:00.000; count(*)=2",
            "bin(5m)=2023-11-14 22:15:00.000; count(*)=3",
            "bin(5m)=2023-11-14 22:20:00.000; count(*)=2",
            "bin(5m)=2023-11-14 22:25:00.000; count(*)=1",
        ]
    );
    check(
        "filter status >= 500 | stats count(*) as errors by bin(5m) | sort errors desc",
        &e,
        &[
            "bin(5m)=2023-11-14 22:15:00.000; errors=1",
            "bin(5m)=2023-11-14 22:20:00.000; errors=1",
        ],
    );
    check(
        "filter routeKey = \"GET /pets\" | stats avg(responseLatency) as avg, min(responseLatency) as min, max(responseLatency) as max, count_distinct(status) as codes",
        &e,
        &["avg=70; min=12; max=230; codes=2"],
    );
    check(
        "stats count(*) as n by httpMethod, status | filter n > 1",
        &e,
        &["httpMethod=GET; status=200; n=4"],
    );
    check(
        "fields requestId, status | filter status like /^5/ | sort @timestamp asc",
        &e,
        &[
            "requestId=r4; status=500; @ptr=p4",
            "requestId=r5; status=502; @ptr=p5",
        ],
    );
}

#[test]
fn parse_glob_and_regex_doc_examples() {
    let e = evs(&[
        (T0, "user=alice, method:GET, latency := 40"),
        (T0 + 1, "user=alice, method:GET, latency := 60"),
        (T0 + 2, "user=bob, method:PUT, latency := 11"),
        (T0 + 3, "something else"),
    ]);
    check(
        "parse @message \"user=*, method:*, latency := *\" as @user, @method, @latency | stats avg(@latency) by @method, @user",
        &e,
        &["@method=GET; @user=alice; avg(@latency)=50", "@method=PUT; @user=bob; avg(@latency)=11", ""],
    );
    check(
        "parse @message /user=(?<user2>.*?), method:(?<method2>.*?), latency := (?<latency2>.*?)$/ | stats avg(latency2) by method2, user2",
        &e,
        &["method2=GET; user2=alice; avg(latency2)=50", "method2=PUT; user2=bob; avg(latency2)=11", ""],
    );
    // Non-matching events keep flowing without the extracted fields.
    check(
        "parse @message \"user=*,\" as u | fields u, @message | sort @timestamp asc",
        &e,
        &[
            "u=alice; @message=user=alice, method:GET, latency := 40; @ptr=p0",
            "u=alice; @message=user=alice, method:GET, latency := 60; @ptr=p1",
            "u=bob; @message=user=bob, method:PUT, latency := 11; @ptr=p2",
            "@message=something else; @ptr=p3",
        ],
    );
    let logs = evs(&[
        (T0, "2023-11-14T22:13:20Z [ERROR] disk full"),
        (T0 + 1, "2023-11-14T22:13:21Z [INFO] started"),
        (T0 + 2, "2023-11-14T22:13:22Z [DEBUG] noise"),
    ]);
    check(
        "FIELDS @message | PARSE @message \"* [*] *\" as loggingTime, loggingType, loggingMessage | FILTER loggingType IN [\"ERROR\", \"INFO\"] | DISPLAY loggingMessage, loggingType = \"ERROR\" as isError",
        &logs,
        &["loggingMessage=started; isError=false; @ptr=p1", "loggingMessage=disk full; isError=true; @ptr=p0"],
    );
    let vpc = evs(&[(T0, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")]);
    check(
        "parse @message /(?<NetworkInterface>eni-.*?) / | display NetworkInterface, @message",
        &vpc,
        &["NetworkInterface=eni-1235b8ca123456789; @message=2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK; @ptr=p0"],
    );
    // Regex capture names may start with @ (seen in practice: (?<@transId>...)).
    let tx = evs(&[(
        T0,
        "processing transactionId: a4c475516be5445a87fbb81bb7a4b365 done",
    )]);
    check(
        "parse @message /(transactionId:[ ]?)(?<@transId>[a-zA-Z0-9]+)/ | filter @transId = \"a4c475516be5445a87fbb81bb7a4b365\" | display @transId",
        &tx,
        &["@transId=a4c475516be5445a87fbb81bb7a4b365; @ptr=p0"],
    );
    // chained parse on an extracted field, and parse of a system field
    let urls = evs(&[(T0, "GET url=/api/v2/users/42 200")]);
    check(
        "parse @message \"url=* \" as url | parse url \"/api/*/users/*\" as apiVersion, userId | display apiVersion, userId",
        &urls,
        &["apiVersion=v2; userId=42; @ptr=p0"],
    );
}

#[test]
fn multiple_stats_doc_example() {
    let mut msgs = Vec::new();
    for i in 0..6 {
        msgs.push((
            T0 + i * 4 * M,
            "x".repeat(1024 * 512 * (i as usize % 3 + 1)),
        ));
    }
    let refs: Vec<(i64, &str)> = msgs.iter().map(|(t, m)| (*t, m.as_str())).collect();
    let e = evs(&refs);
    check(
        "FIELDS strlen(@message) AS message_length | STATS sum(message_length)/1024/1024 as logs_mb BY bin(5m) | STATS max(logs_mb) AS peak_ingest_mb, min(logs_mb) AS min_ingest_mb, avg(logs_mb) AS avg_ingest_mb",
        &e,
        &["peak_ingest_mb=1.5; min_ingest_mb=0.5; avg_ingest_mb=1.2"],
    );
}

#[test]
fn dedup_doc_example() {
    let e = evs(&[
        (T0, r#"{"server":"a","severity":"ERROR","message":"m1"}"#),
        (T0 + 1, r#"{"server":"b","severity":"WARN","message":"m2"}"#),
        (T0 + 2, r#"{"server":"a","severity":"INFO","message":"m3"}"#),
        (T0 + 3, r#"{"severity":"INFO","message":"m4"}"#),
        (T0 + 4, r#"{"severity":"INFO","message":"m5"}"#),
    ]);
    check(
        "fields @timestamp, server, severity, message | sort @timestamp asc | dedup server",
        &e,
        &[
            "@timestamp=2023-11-14 22:13:20.000; server=a; severity=ERROR; message=m1; @ptr=p0",
            "@timestamp=2023-11-14 22:13:20.001; server=b; severity=WARN; message=m2; @ptr=p1",
            "@timestamp=2023-11-14 22:13:20.003; severity=INFO; message=m4; @ptr=p3",
            "@timestamp=2023-11-14 22:13:20.004; severity=INFO; message=m5; @ptr=p4",
        ],
    );
    // default order is newest first
    check(
        "fields server | dedup server | limit 2",
        &e,
        &["@ptr=p4", "@ptr=p3"],
    );
    check(
        "fields server | filter ispresent(server) | dedup server",
        &e,
        &["server=a; @ptr=p2", "server=b; @ptr=p1"],
    );
}

#[test]
fn default_order_limit_and_all_fields() {
    let e = evs(&[
        (T0, r#"{"a":1,"b":{"c":[10,{"d":"x"}]}}"#),
        (T0 + 5, "plain text"),
        (T0 + 2, "mid"),
    ]);
    check(
        "fields @message | limit 2",
        &e,
        &["@message=plain text; @ptr=p1", "@message=mid; @ptr=p2"],
    );
    check(
        "fields @message | sort @timestamp desc | limit 25",
        &e,
        &[
            "@message=plain text; @ptr=p1",
            "@message=mid; @ptr=p2",
            "@message={\"a\":1,\"b\":{\"c\":[10,{\"d\":\"x\"}]}}; @ptr=p0",
        ],
    );
    check(
        "filter ispresent(a)",
        &e,
        &["@timestamp=2023-11-14 22:13:20.000; @message={\"a\":1,\"b\":{\"c\":[10,{\"d\":\"x\"}]}}; @logStream=stream-a; @log=123456789012:/aws/test; a=1; b.c.0=10; b.c.1.d=x; @ptr=p0"],
    );
    check(
        "fields `b.c.1.d` as d, b.c.0 + a as s | filter ispresent(d)",
        &e,
        &["d=x; s=11; @ptr=p0"],
    );
    check("fields @logStream, @log, @ingestionTime | limit 1", &e, &["@logStream=stream-a; @log=123456789012:/aws/test; @ingestionTime=2023-11-14 22:13:20.010; @ptr=p1"]);
}

#[test]
fn sort_natural_order_doc_example() {
    let vals = [
        "a12345hfh",
        "0",
        "@_",
        "2345_",
        "#",
        "A",
        "*%04",
        "0#",
        "111A",
        "5A",
        "!:",
        "@",
        "A9876fghj",
        "12",
        "-3",
    ];
    let msgs: Vec<String> = vals.iter().map(|v| format!(r#"{{"v":"{v}"}}"#)).collect();
    let refs: Vec<(i64, &str)> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| (T0 + i as i64, m.as_str()))
        .collect();
    let e = evs(&refs);
    let rows = run("fields v | sort v asc", &e);
    let got: Vec<&str> = rows.iter().map(|r| r[0].1.as_str()).collect();
    assert_eq!(
        got,
        vec![
            "!:",
            "#",
            "*%04",
            "0#",
            "5A",
            "111A",
            "2345_",
            "@",
            "@_",
            "A",
            "A9876fghj",
            "a12345hfh",
            "-3",
            "0",
            "12"
        ]
    );
}

/// Route 53 public DNS query logs and VPC flow logs (default format) are text lines whose
/// fields are discovered by their format: AWS's sample queries over them.
#[test]
fn route53_query_log_and_vpc_flow_log_samples() {
    let dns = evs(&[
        (T0, "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -"),
        (T0 + 10 * M, "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com AAAA NOERROR TCP IAD12 192.168.3.1 192.168.222.0/24"),
        (T0 + 20 * M, "1.0 2017-12-13T08:16:03.983Z Z123412341234 example.com ANY NOERROR UDP FRA6 2001:db8::1234 2001:db8:abcd::/48"),
        (T0 + 70 * M, "1.0 2017-12-13T08:15:50.342Z Z123412341234 bad.example.com A NXDOMAIN UDP IAD12 192.168.3.1 192.168.111.0/24"),
        (T0 + 80 * M, "1.0 2017-12-13T08:16:05.744Z Z123412341234 txt.example.com TXT NOERROR UDP JFK5 192.168.1.2 -"),
        (T0 + 90 * M, "not a query log line"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "stats count(*) by queryType, bin(1h) | sort queryType asc",
            &[
                "queryType=A; bin(1h)=2023-11-14 22:00:00.000; count(*)=1",
                "queryType=A; bin(1h)=2023-11-14 23:00:00.000; count(*)=1",
                "queryType=AAAA; bin(1h)=2023-11-14 22:00:00.000; count(*)=1",
                "queryType=ANY; bin(1h)=2023-11-14 22:00:00.000; count(*)=1",
                "queryType=TXT; bin(1h)=2023-11-14 23:00:00.000; count(*)=1",
                "bin(1h)=2023-11-14 23:00:00.000; count(*)=1",
            ],
        ),
        (
            r#"filter responseCode="NXDOMAIN" | stats count(*) by queryName"#,
            &["queryName=bad.example.com; count(*)=1"],
        ),
        (
            "stats count(*) as n by resolverIp, protocol | sort n desc, resolverIp asc | limit 2",
            &[
                "resolverIp=192.168.1.1; protocol=UDP; n=1",
                "resolverIp=192.168.1.2; protocol=UDP; n=1",
            ],
        ),
        (
            "filter ednsClientSubnet != '-' | fields queryName, edgeLocation, hostZoneId | sort @timestamp asc",
            &[
                "queryName=example.com; edgeLocation=IAD12; hostZoneId=Z123412341234; @ptr=p1",
                "queryName=example.com; edgeLocation=FRA6; hostZoneId=Z123412341234; @ptr=p2",
                "queryName=bad.example.com; edgeLocation=IAD12; hostZoneId=Z123412341234; @ptr=p3",
            ],
        ),
    ];
    for (q, want) in cases {
        check(q, &dns, want);
    }
    let flows = evs(&[
        (T0, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"),
        (T0 + 1, "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"),
        (T0 + 2, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 10 1000 1418530070 1418530130 ACCEPT OK"),
        (T0 + 3, "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"),
        (T0 + 4, "2 123456789010 eni-11111111111111111 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK"),
    ]);
    let cases: &[(&str, &[&str])] = &[
        (
            "stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 2",
            &[
                "srcAddr=172.31.16.139; dstAddr=172.31.16.21; packetsTransferred=30",
                "srcAddr=172.31.9.69; dstAddr=172.31.9.12; packetsTransferred=20",
            ],
        ),
        (r#"filter logStatus="NODATA" | stats count(*)"#, &["count(*)=1"]),
        (
            r#"filter isIpv4InSubnet(srcAddr, "172.31.0.0/16") | stats sum(bytes) as b by dstPort | sort b desc"#,
            &["dstPort=22; b=5249", "dstPort=3389; b=4249"],
        ),
        (
            "filter action = 'REJECT' | fields interfaceId, srcAddr, srcPort, protocol, startTime, endTime, accountId, version",
            &["interfaceId=eni-1235b8ca123456789; srcAddr=172.31.9.69; srcPort=49761; protocol=6; startTime=1418530010; endTime=1418530070; accountId=123456789010; version=2; @ptr=p1"],
        ),
        (
            "filter protocol = 1 | stats count(*) by interfaceId",
            &["interfaceId=eni-11111111111111111; count(*)=1"],
        ),
    ];
    for (q, want) in cases {
        check(q, &flows, want);
    }
}

/// Lambda's text-format lines: AWS's sample queries over REPORT lines, and the first JSON
/// object of an application line.
#[test]
fn lambda_report_and_application_lines() {
    let id = |n: u32| format!("c793869b-ee49-115b-a5b6-4fd21e8d{n:04x}");
    let report = |n: u32, dur: &str, used: u32| {
        format!(
            "REPORT RequestId: {}\tDuration: {dur} ms\tBilled Duration: 200 ms\tMemory Size: 128 MB\tMax Memory Used: {used} MB\t\n",
            id(n)
        )
    };
    let lines = [
        format!("START RequestId: {} Version: $LATEST\n", id(1)),
        format!("2019-06-07T19:11:20.562Z\t{}\tINFO\t{{\"user\":\"ann\",\"level\":\"info\"}}\n", id(1)),
        format!("END RequestId: {}\n", id(1)),
        report(1, "128.83", 74),
        format!("START RequestId: {} Version: $LATEST\n", id(2)),
        format!("2019-06-07T19:12:20.562Z\t{}\tERROR\tfailed {{\"user\":\"bob\",\"level\":\"error\"}}\n", id(2)),
        report(2, "1500.25", 100),
        report(3, "20", 60),
    ];
    let events = evs(&lines
        .iter()
        .enumerate()
        .map(|(i, l)| (T0 + i as i64 * M, l.as_str()))
        .collect::<Vec<_>>());
    let cases: &[(&str, &[&str])] = &[
        (
            r#"filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisionedMemoryMB, min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB, avg(@maxMemoryUsed / 1000 / 1000) as avgMemoryUsedMB, max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB, provisionedMemoryMB - maxMemoryUsedMB as overProvisionedMB"#,
            &["provisionedMemoryMB=128; smallestMemoryRequestMB=60; avgMemoryUsedMB=78; maxMemoryUsedMB=100; overProvisionedMB=28"],
        ),
        (
            // Items over earlier aggregates' names, with functions, and the groups kept.
            r#"filter @type = "REPORT" | stats count(*) as n, sum(@duration) as total, round(total / n, 1) as mean, n * 2 as twice by @type"#,
            &["@type=REPORT; n=3; total=1649.08; mean=549.7; twice=6"],
        ),
        (
            r#"filter @type = "REPORT" and @duration > 1000 | fields @requestId, @duration, @billedDuration"#,
            &["@requestId=c793869b-ee49-115b-a5b6-4fd21e8d0002; @duration=1500.25; @billedDuration=200; @ptr=p6"],
        ),
        (
            "stats count(*) by @type | sort @type asc",
            &["@type=END; count(*)=1", "@type=REPORT; count(*)=3", "@type=START; count(*)=2", "count(*)=2"],
        ),
        (
            "filter ispresent(user) | stats count(*) by @requestId, user, level",
            &[
                "@requestId=c793869b-ee49-115b-a5b6-4fd21e8d0001; user=ann; level=info; count(*)=1",
                "@requestId=c793869b-ee49-115b-a5b6-4fd21e8d0002; user=bob; level=error; count(*)=1",
            ],
        ),
    ];
    for (q, want) in cases {
        check(q, &events, want);
    }
}

/// The example queries of AWS's CloudWatch pages for OpenSearch PPL and SQL (and OpenSearch's
/// PPL reference where CloudWatch supports the command) parse; the ones naming what does not
/// exist here (data sources) or what AWS does not support are refused.
#[test]
fn aws_ppl_and_sql_page_examples() {
    use nephoscope_insights::{parse_ppl, parse_sql};
    let ppl_ok = [
        "source = [lg:`/aws/lambda/my-function`] | where status = 200 | head 10",
        "source = [`aws:fieldIndex`=\"region\", `region` = \"us-west-2\"] | where status = 200 | head 10",
        "source = [`aws:fieldIndex` IN (\"status\", \"region\"), `status` = 200, `region` IN (\"us-west-2\", \"us-east-1\")] | head 10",
        "eval tags_array_string = json_extract(`@message`, '$.tags') | eval tags_array = json_array(json_extract(tags_string, '$[0]'), json_extract(tags_string, '$[1]')) | expand tags_array as color_tags",
        "eval status_category = case(a >= 200 AND a < 300, 'Success', a >= 300 AND a < 400, 'Redirection', a >= 400 AND a < 500, 'Client Error', a >= 500, 'Server Error' else 'Unknown')",
        "where case(length(a) > 6, 'True' else 'False') = 'True'",
        "parse address '(?<streetNumber>\\d+) (?<street>.+)' | where cast(streetNumber as int) > 500 | sort num(streetNumber)",
        "eval is_vip = if(age > 30 AND isnotnull(employer), true, false)",
        "top 1 age by gender",
        "stats count() as cnt, take(email, 5) by span(age, 5) as age_span, gender",
        "eval m = [ source = inner | stats max(c) ] | fields m, a",
        "where a > [ source = inner | stats min(c) ] | fields a",
        "eval a = DATE_ADD(DATE('2020-08-26'), INTERVAL 1 HOUR), b = FROM_UNIXTIME(1220249547, '%T'), c = POSITION('world' IN 'helloworld'), d = ATAN(2, 3), e = datediff('2020-08-27', '2020-08-26')",
        "fields - b, c",
        "inner join left = l right = r on l.a = r.a and r.b = 'x' table2",
        "where id in [ subquery source=users | where user in [ subquery source=actions | where action=\"login\" | fields user ] | fields uid ]",
    ];
    for q in ppl_ok {
        if let Err(e) = parse_ppl(q) {
            panic!("{q}: {e:?}");
        }
    }
    let sql_ok = [
        "SELECT * FROM `filterIndex('region' = 'us-east-1')` WHERE status = 200 LIMIT 10;",
        "SELECT * FROM `filterIndex('status' = 200, 'region' IN ['us-east-1', 'us-west-2'])`;",
        "SELECT * FROM ` logGroups(logGroupIdentifier: ['/aws/lambda/my-function']) filterIndex('status' = 200) `;",
        "SELECT date_add(current_date(), 1) AS d, date_format(current_date(), 'yyyy-MM-dd') AS f, datediff('2024-01-02', '2024-01-01') AS n FROM `LogGroupA`",
        "SELECT TO_TIMESTAMP(datetime) AS timestamp, TIMESTAMP_SECONDS(UNIX_TIMESTAMP(datetime)) AS from_seconds, UNIX_TIMESTAMP(datetime) AS to_unix, FROM_UTC_TIMESTAMP(datetime, 'PST') AS to_pst, TO_UTC_TIMESTAMP(datetime, 'EST') AS from_est FROM `LogGroupA`",
        "SELECT city, car_model, SUM(quantity) AS sum FROM `dealer` GROUP BY ALL ORDER BY city",
    ];
    for q in sql_ok {
        if let Err(e) = parse_sql(q) {
            panic!("{q}: {e:?}");
        }
    }
    type Parse = fn(&str) -> Result<nephoscope_insights::Query, nephoscope_insights::QueryError>;
    let refused: [(Parse, &str, &str); 3] = [
        (parse_ppl, "source = [ds:`data_source.type`] | where status = 200 | head 10", "data sources"),
        (
            parse_sql,
            "SELECT ds1.field1, ds1.field2 from `dataSource(['DataSource1', 'DataSource2'])` as ds1 where ds1.field3= \"Success\"",
            "dataSource",
        ),
        (parse_sql, "WITH t AS (SELECT 1) SELECT * FROM t", "WITH"),
    ];
    for (parse, q, words) in refused {
        match parse(q) {
            Ok(_) => panic!("{q} parsed"),
            Err(e) => assert!(e.message.contains(words), "{q}: {e:?}"),
        }
    }
}
