//! Logs Insights: StartQuery, GetQueryResults polled until the query leaves Scheduled/Running,
//! GetLogRecord by `@ptr`, and the modeled MalformedQueryException with its queryCompileError.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError;
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use nephoscope_rust_sdk_tests::{expect_service_error, Server};

use crate::logs::{event, now_ms};

/// How long a query over a handful of events may take to complete.
const QUERY_DEADLINE: Duration = Duration::from_secs(30);
/// Interval between two GetQueryResults polls (bounded by the deadline above).
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const DEV_ACCOUNT: &str = "000000000000";

/// Polls GetQueryResults until the status is neither Scheduled nor Running; every status seen on
/// the way must be one of those two.
async fn wait_query(logs: &aws_sdk_cloudwatchlogs::Client, query_id: &str) -> GetQueryResultsOutput {
    let deadline = Instant::now() + QUERY_DEADLINE;
    let mut seen = Vec::new();
    loop {
        let out = logs
            .get_query_results()
            .query_id(query_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetQueryResults {query_id}: {e:?}"));
        let status = out.status().cloned();
        match status {
            Some(QueryStatus::Scheduled) | Some(QueryStatus::Running) => {}
            _ => return out,
        }
        seen.push(status);
        assert!(
            Instant::now() < deadline,
            "query {query_id} still pending after {QUERY_DEADLINE:?}; statuses: {seen:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Result rows as field → value maps (a field must not repeat within a row).
fn rows(out: &GetQueryResultsOutput) -> Vec<HashMap<String, String>> {
    out.results()
        .iter()
        .map(|row| {
            let map: HashMap<String, String> = row
                .iter()
                .map(|f| {
                    (
                        f.field().expect("result field has a name").to_string(),
                        f.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            assert_eq!(map.len(), row.len(), "a field repeats in a result row: {row:?}");
            map
        })
        .collect()
}

/// Creates `group` and `stream` and writes `lines` to it, the first at `t`, then every `step` ms.
async fn write_lines(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    t: i64,
    step: i64,
    lines: &[&str],
) {
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("CreateLogGroup");
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("CreateLogStream");
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(
            lines
                .iter()
                .enumerate()
                .map(|(i, m)| event(t + step * i as i64, m))
                .collect(),
        ))
        .send()
        .await
        .expect("PutLogEvents");
}

/// Five API-Gateway-style JSON access log lines; a stats query and a fields query over them.
#[tokio::test]
async fn start_query_and_poll_to_complete() {
    let server = Server::start();
    let logs = server.logs().await;
    let (group, stream) = ("/nephoscope/sdk/insights", "api");
    let t = (now_ms() - 10 * 60_000) / 1000 * 1000;
    let lines = [
        r#"{"route":"GET /pets","status":200,"latency":12}"#,
        r#"{"route":"GET /pets","status":500,"latency":230}"#,
        r#"{"route":"POST /pets","status":201,"latency":40}"#,
        r#"{"route":"GET /pets","status":200,"latency":18}"#,
        r#"{"route":"POST /pets","status":502,"latency":1200}"#,
    ];
    write_lines(&logs, group, stream, t, 1_000, &lines).await;
    // startTime/endTime are epoch seconds, both inclusive.
    let (start_s, end_s) = (t / 1000, t / 1000 + 4);

    let started = logs
        .start_query()
        .log_group_name(group)
        .start_time(start_s)
        .end_time(end_s)
        .query_string("stats count(*) as n, max(latency) as worst by route | sort n desc")
        .send()
        .await
        .expect("StartQuery stats");
    let query_id = started.query_id().expect("StartQuery returns a queryId").to_string();
    let out = wait_query(&logs, &query_id).await;
    assert_eq!(out.status(), Some(&QueryStatus::Complete), "stats query: {out:?}");
    let want: Vec<HashMap<String, String>> = [("GET /pets", "3", "230"), ("POST /pets", "2", "1200")]
        .iter()
        .map(|(route, n, worst)| {
            [("route", *route), ("n", *n), ("worst", *worst)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    assert_eq!(rows(&out), want, "stats rows (aggregates carry no @ptr)");
    let stats = out.statistics().expect("statistics");
    assert_eq!(stats.records_scanned(), 5.0, "recordsScanned: {stats:?}");
    assert_eq!(stats.records_matched(), 5.0, "recordsMatched: {stats:?}");
    assert!(stats.bytes_scanned() > 0.0, "bytesScanned: {stats:?}");

    let started = logs
        .start_query()
        .log_group_name(group)
        .start_time(start_s)
        .end_time(end_s)
        .query_string("fields @timestamp, @message, status | filter status >= 500 | sort @timestamp desc")
        .send()
        .await
        .expect("StartQuery fields");
    let query_id = started.query_id().expect("StartQuery returns a queryId").to_string();
    let out = wait_query(&logs, &query_id).await;
    assert_eq!(out.status(), Some(&QueryStatus::Complete), "fields query: {out:?}");
    let got = rows(&out);
    let messages: Vec<&str> = got.iter().map(|r| r["@message"].as_str()).collect();
    assert_eq!(messages, [lines[4], lines[1]], "the 5xx lines, newest first: {got:?}");
    assert_eq!(got[0]["@timestamp"], insights_time(t + 4_000), "@timestamp: {got:?}");
    assert_eq!(got[0]["status"], "502", "{got:?}");
    assert_eq!(
        out.statistics().map(|s| s.records_matched()),
        Some(2.0),
        "recordsMatched counts the filtered events"
    );
    for row in &got {
        let ptr = row
            .get("@ptr")
            .unwrap_or_else(|| panic!("non-aggregate row without @ptr: {row:?}"));
        let record = logs
            .get_log_record()
            .log_record_pointer(ptr)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetLogRecord({ptr}): {e:?}"));
        let record = record.log_record().expect("logRecord");
        assert_eq!(
            record.get("@message"),
            Some(&row["@message"]),
            "GetLogRecord: {record:?}"
        );
        assert_eq!(record.get("@logStream").map(String::as_str), Some(stream), "{record:?}");
        assert_eq!(
            record.get("@log").cloned(),
            Some(format!("{DEV_ACCOUNT}:{group}")),
            "{record:?}"
        );
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC), as Logs Insights renders @timestamp.
fn insights_time(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[test]
fn insights_time_renders_utc() {
    assert_eq!(insights_time(0), "1970-01-01 00:00:00.000");
    assert_eq!(insights_time(1_700_000_000_123), "2023-11-14 22:13:20.123");
    assert_eq!(insights_time(951_782_400_000), "2000-02-29 00:00:00.000");
}

/// A syntax error is the modeled MalformedQueryException, with queryCompileError.location around
/// the offending token.
#[tokio::test]
async fn malformed_query_has_compile_error_location() {
    let server = Server::start();
    let logs = server.logs().await;
    let group = "/nephoscope/sdk/insights-bad";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("CreateLogGroup");
    let text = "fields @message | filtre status = 500";
    let bad_at = text.find("filtre").expect("token") as i32;
    let res = logs
        .start_query()
        .log_group_name(group)
        .start_time(now_ms() / 1000 - 3600)
        .end_time(now_ms() / 1000)
        .query_string(text)
        .send()
        .await;
    let failure = expect_service_error("StartQuery with an unknown command", res);
    assert_eq!(failure.status, 400, "StartQuery with an unknown command");
    assert_eq!(failure.code(), Some("MalformedQueryException"), "{:?}", failure.err);
    match failure.err {
        StartQueryError::MalformedQueryException(e) => {
            let compile = e
                .query_compile_error()
                .unwrap_or_else(|| panic!("MalformedQueryException without queryCompileError: {e:?}"));
            assert!(compile.message().is_some_and(|m| !m.is_empty()), "message: {compile:?}");
            let loc = compile.location().unwrap_or_else(|| panic!("no location: {compile:?}"));
            let (start, end) = (
                loc.start_char_offset().expect("startCharOffset"),
                loc.end_char_offset().expect("endCharOffset"),
            );
            // The location covers `filtre` (end inclusive or exclusive: the model says "Reserved.").
            assert!(
                start <= bad_at && bad_at <= end && end - start <= "filtre".len() as i32 + 1,
                "location {start}..{end} does not point at `filtre` (offset {bad_at}) in {text:?}"
            );
        }
        other => panic!("expected StartQueryError::MalformedQueryException, got {other:?}"),
    }
}

/// The time-series `stats` functions, the hashing and date functions and `expand`, through the
/// SDK: `histogram`'s map arrives as JSON text, `rate` per minute, `parseDate` as epoch ms.
#[tokio::test]
async fn time_series_hash_date_functions_and_expand() {
    let server = Server::start();
    let logs = server.logs().await;
    let (group, stream) = ("/nephoscope/sdk/insights-functions", "fn");
    let t = (now_ms() - 10 * 60_000) / 60_000 * 60_000;
    let lines = [
        r#"{"bytes":100,"latency":10,"user":"hello","day":"2024-01-15 12:00:00","tags":["a","b"]}"#,
        r#"{"bytes":160,"latency":20,"user":"hello","day":"2024-07-15 12:00:00","tags":["b"]}"#,
        r#"{"bytes":400,"latency":30,"user":"x","day":"not a date","tags":[]}"#,
    ];
    write_lines(&logs, group, stream, t, 60_000, &lines).await;
    let (start_s, end_s) = (t / 1000, t / 1000 + 180);
    let run = |q: &'static str| {
        let logs = logs.clone();
        async move {
            let started = logs
                .start_query()
                .log_group_name(group)
                .start_time(start_s)
                .end_time(end_s)
                .query_string(q)
                .send()
                .await
                .unwrap_or_else(|e| panic!("StartQuery {q}: {e:?}"));
            let out = wait_query(&logs, started.query_id().expect("queryId")).await;
            assert_eq!(out.status(), Some(&QueryStatus::Complete), "{q}: {out:?}");
            rows(&out)
        }
    };
    let got = run("stats histogram(latency, 2) as h, rate(bytes, 1m) as r, count_over_time(bytes) as c").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["h"], r#"{"[10, 20)":1,"[20, 30]":2}"#, "{got:?}");
    // (400 - 100) bytes over the two minutes between the first and the last event.
    assert_eq!(got[0]["r"], "150", "{got:?}");
    assert_eq!(got[0]["c"], "3", "{got:?}");

    let got = run(
        r#"filter user = "hello" | fields md5(user) as m, parseDate(day, "yyyy-MM-dd HH:mm:ss", "America/New_York") as d | sort d asc"#,
    )
    .await;
    let pairs: Vec<(&str, &str)> = got.iter().map(|r| (r["m"].as_str(), r["d"].as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("5d41402abc4b2a76b9719d911017c592", "1705338000000"),
            ("5d41402abc4b2a76b9719d911017c592", "1721059200000"),
        ],
        "{got:?}"
    );

    let got = run("expand tags | stats count(*) as n by tags | sort tags asc").await;
    let counts: Vec<(&str, &str)> = got.iter().map(|r| (r["tags"].as_str(), r["n"].as_str())).collect();
    assert_eq!(counts, [("a", "1"), ("b", "2")], "{got:?}");
}

/// SQL and PPL through the Rust SDK's `queryLanguage`: a subquery in FROM keeping each
/// route's two slowest requests (a window), a sliding frame, and PPL's `source = [lg:…]` scope
/// naming the log group in the query instead of the request.
#[tokio::test]
async fn sql_and_ppl_query_languages() {
    use aws_sdk_cloudwatchlogs::types::QueryLanguage;
    let server = Server::start();
    let logs = server.logs().await;
    let (group, stream) = ("/nephoscope/sdk/insights-sql", "api");
    let t = (now_ms() - 10 * 60_000) / 1000 * 1000;
    let lines = [
        r#"{"route":"/a","latency":12}"#,
        r#"{"route":"/a","latency":30}"#,
        r#"{"route":"/b","latency":7}"#,
        r#"{"route":"/a","latency":21}"#,
        r#"{"route":"/b","latency":9}"#,
    ];
    write_lines(&logs, group, stream, t, 1_000, &lines).await;
    let (start_s, end_s) = (t / 1000, t / 1000 + 4);
    let run = |q: String, language: QueryLanguage, named: bool| {
        let logs = logs.clone();
        async move {
            let mut req = logs
                .start_query()
                .query_language(language)
                .start_time(start_s)
                .end_time(end_s)
                .query_string(&q);
            if named {
                req = req.log_group_name(group);
            }
            let started = req.send().await.unwrap_or_else(|e| panic!("StartQuery {q}: {e:?}"));
            let out = wait_query(&logs, started.query_id().expect("queryId")).await;
            assert_eq!(out.status(), Some(&QueryStatus::Complete), "{q}: {out:?}");
            rows(&out)
        }
    };
    let got = run(
        format!(
            "SELECT route, latency FROM (SELECT route, latency, ROW_NUMBER() OVER (PARTITION BY route ORDER BY latency DESC) AS rn FROM `{group}`) AS t WHERE rn <= 2 ORDER BY route, latency DESC"
        ),
        QueryLanguage::Sql,
        false,
    )
    .await;
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["route"].as_str(), r["latency"].as_str()))
        .collect();
    assert_eq!(pairs, [("/a", "30"), ("/a", "21"), ("/b", "9"), ("/b", "7")], "{got:?}");

    let got = run(
        format!("SELECT latency, SUM(latency) OVER (ORDER BY latency ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS pair FROM `{group}` ORDER BY latency"),
        QueryLanguage::Sql,
        false,
    )
    .await;
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["latency"].as_str(), r["pair"].as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("7", "7"), ("9", "16"), ("12", "21"), ("21", "33"), ("30", "51")],
        "{got:?}"
    );

    let got = run(
        format!("source = [lg:`{group}`, `route` = \"/a\"] | stats count() as n, max(latency) as worst"),
        QueryLanguage::Ppl,
        false,
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0]["n"].as_str(), got[0]["worst"].as_str()), ("3", "30"), "{got:?}");

    // Each route's share of the requests (a window inside an item), and a rolling sum over the
    // last two seconds (RANGE with an INTERVAL over `@timestamp`).
    let got = run(
        format!("SELECT route, COUNT(*) * 100 / SUM(COUNT(*)) OVER () AS pct FROM `{group}` GROUP BY route ORDER BY route"),
        QueryLanguage::Sql,
        false,
    )
    .await;
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["route"].as_str(), r["pct"].as_str()))
        .collect();
    assert_eq!(pairs, [("/a", "60"), ("/b", "40")], "{got:?}");
    let got = run(
        format!("SELECT latency, SUM(latency) OVER (ORDER BY `@timestamp` RANGE BETWEEN INTERVAL 1 SECOND PRECEDING AND CURRENT ROW) AS recent FROM `{group}` ORDER BY `@timestamp`"),
        QueryLanguage::Sql,
        false,
    )
    .await;
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|r| (r["latency"].as_str(), r["recent"].as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("12", "12"), ("30", "42"), ("7", "37"), ("21", "28"), ("9", "30")],
        "{got:?}"
    );
}
