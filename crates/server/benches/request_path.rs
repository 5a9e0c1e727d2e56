//! Benchmark of the request path without sockets: SigV4 over the body, routing, decoding,
//! validation and encoding, through `App::handle` on one thread.
//!
//! `cargo bench -p nephoscope-server --bench request_path` prints MB/s and requests/s per core for
//! a 1 MiB PutLogEvents body (JSON 1.1) and a 20-metric PutMetricData in each CloudWatch protocol
//! (JSON 1.0, Query, RPC v2 CBOR), plus the JSON 1.1 decode + SigV4 hash figure alone.

use bytes::Bytes;
use nephoscope_clock::{ManualClock, SharedClock};
use nephoscope_model::generated::logs;
use nephoscope_server::app::{App, IncomingRequest};
use nephoscope_server::config::Config;
use nephoscope_sigv4 as sigv4;
use nephoscope_wire::{self as wire, RequestBody, WireProtocol};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const AMZ_DATE: &str = "20261125T120000Z";
const HOST: &str = "127.0.0.1:4566";

fn signed(
    path: &str,
    mut headers: Vec<(String, String)>,
    body: Vec<u8>,
    service: &str,
) -> IncomingRequest {
    headers.push(("host".into(), HOST.into()));
    headers.push(("x-amz-date".into(), AMZ_DATE.into()));
    let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let auth = {
        let hv: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let req = sigv4::Request {
            method: "POST",
            path_and_query: path,
            headers: &hv,
            body: &body,
        };
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        sigv4::sign(&req, "test", "test", "us-east-1", service, &names)
    };
    headers.push(("authorization".into(), auth));
    IncomingRequest {
        method: "POST".into(),
        path_and_query: path.into(),
        headers: headers
            .into_iter()
            .map(|(n, v)| (n, v.into_bytes()))
            .collect(),
        body: Bytes::from(body),
    }
}

/// A ~1 MiB PutLogEvents body of API-Gateway-style access-log lines.
fn put_log_events_body() -> Vec<u8> {
    let mut events = Vec::new();
    let mut size = 0;
    let mut i = 0u64;
    while size < 1_000_000 {
        let msg = format!(
            r#"{{"requestId":"{:08x}-1c2d-4e5f-8a9b-{:012x}","ip":"10.0.{}.{}","requestTime":"25/Nov/2026:12:00:00 +0000","httpMethod":"GET","routeKey":"GET /items/{{id}}","status":"200","protocol":"HTTP/1.1","responseLength":"{}"}}"#,
            i,
            i * 7919,
            i % 256,
            (i / 256) % 256,
            100 + i % 900
        );
        size += msg.len() + 26;
        events.push(json!({ "timestamp": 1_795_000_000_000u64 + i, "message": msg }));
        i += 1;
    }
    serde_json::to_vec(
        &json!({ "logGroupName": "/aws/apigw/access", "logStreamName": "s", "logEvents": events }),
    )
    .unwrap()
}

fn metric_data() -> serde_json::Value {
    let data: Vec<_> = (0..20)
        .map(|i| {
            json!({
                "MetricName": format!("Metric{i}"),
                "Dimensions": [{ "Name": "Host", "Value": format!("host-{i}") }],
                "Value": i as f64 * 1.5,
                "Unit": "Count",
                "Timestamp": 1_795_000_000.0
            })
        })
        .collect();
    json!({ "Namespace": "Bench", "MetricData": data })
}

fn query_body() -> Vec<u8> {
    let mut s = String::from("Action=PutMetricData&Version=2010-08-01&Namespace=Bench");
    for i in 1..=20 {
        s.push_str(&format!(
            "&MetricData.member.{i}.MetricName=Metric{i}&MetricData.member.{i}.Dimensions.member.1.Name=Host&MetricData.member.{i}.Dimensions.member.1.Value=host-{i}&MetricData.member.{i}.Value={}&MetricData.member.{i}.Unit=Count&MetricData.member.{i}.Timestamp=2026-11-18T12%3A00%3A00Z",
            i as f64 * 1.5
        ));
    }
    s.into_bytes()
}

fn cbor_body() -> Vec<u8> {
    let mut v = wire::cbor::generic(&metric_data());
    // Timestamps as tag 1, as the Rust SDK sends them.
    if let ciborium::Value::Map(top) = &mut v {
        for (k, val) in top.iter_mut() {
            if k.as_text() == Some("MetricData") {
                if let ciborium::Value::Array(items) = val {
                    for item in items {
                        if let ciborium::Value::Map(m) = item {
                            for (mk, mv) in m.iter_mut() {
                                if mk.as_text() == Some("Timestamp") {
                                    *mv = ciborium::Value::Tag(1, Box::new(mv.clone()));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    ciborium::ser::into_writer(&v, &mut out).unwrap();
    out
}

/// Runs `f` repeatedly for about `budget`, returns (iterations, seconds).
fn measure(budget: Duration, mut f: impl FnMut()) -> (u64, f64) {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    (n, start.elapsed().as_secs_f64())
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_MILLIS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000),
    );
    let now = sigv4::parse_amz_date(AMZ_DATE).unwrap() * 1000;
    let clock: SharedClock = Arc::new(ManualClock::new(now));
    let config = Config::default();
    let addr = config.listen_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engines = nephoscope_server::Engines::open(dir.path(), clock.clone()).unwrap();
    let app = App::new(&config, &addr, clock, engines.services().unwrap(), false);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    println!("request path benchmark (one thread, in-process; {budget:?} per case)");
    println!(
        "{:<46} {:>10} {:>12} {:>10}",
        "case", "req/s", "MB/s", "status"
    );

    let ple = put_log_events_body();
    let ple_len = ple.len();
    let cases: Vec<(&str, IncomingRequest)> = vec![
        (
            "PutLogEvents 1 MiB, JSON 1.1",
            signed(
                "/",
                vec![
                    ("content-type".into(), "application/x-amz-json-1.1".into()),
                    ("x-amz-target".into(), "Logs_20140328.PutLogEvents".into()),
                ],
                ple.clone(),
                "logs",
            ),
        ),
        (
            "PutMetricData 20 metrics, JSON 1.0",
            signed(
                "/",
                vec![
                    ("content-type".into(), "application/x-amz-json-1.0".into()),
                    (
                        "x-amz-target".into(),
                        "GraniteServiceVersion20100801.PutMetricData".into(),
                    ),
                    ("x-amzn-query-mode".into(), "true".into()),
                ],
                serde_json::to_vec(&metric_data()).unwrap(),
                "monitoring",
            ),
        ),
        (
            "PutMetricData 20 metrics, Query",
            signed(
                "/",
                vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
                query_body(),
                "monitoring",
            ),
        ),
        (
            "PutMetricData 20 metrics, RPC v2 CBOR",
            signed(
                "/service/GraniteServiceVersion20100801/operation/PutMetricData",
                vec![
                    ("content-type".into(), "application/cbor".into()),
                    ("smithy-protocol".into(), "rpc-v2-cbor".into()),
                    ("x-amzn-query-mode".into(), "true".into()),
                ],
                cbor_body(),
                "monitoring",
            ),
        ),
    ];
    for (name, req) in &cases {
        let clone = || IncomingRequest {
            method: req.method.clone(),
            path_and_query: req.path_and_query.clone(),
            headers: req.headers.clone(),
            body: req.body.clone(),
        };
        let status = rt.block_on(app.handle(clone())).status;
        // The wire path runs in full before the service answers: 501 = validated then not built;
        // 400 for PutLogEvents = validated, then ResourceNotFoundException (no log group), so the
        // figure is the wire path without storage (ingestion has its own benchmark).
        assert!(matches!(status, 200 | 400 | 501), "{name}: status {status}");
        let (n, secs) = measure(budget, || {
            let r = rt.block_on(app.handle(clone()));
            std::hint::black_box(r);
        });
        let rps = n as f64 / secs;
        println!(
            "{:<46} {:>10.0} {:>12.1} {:>10}",
            name,
            rps,
            rps * req.body.len() as f64 / 1e6,
            status
        );
    }

    // JSON 1.1 decode + SigV4 hashing of the same 1 MiB body, without routing or encoding.
    let op = logs::SERVICE.operation("PutLogEvents").unwrap();
    let (n, secs) = measure(budget, || {
        let hash = sigv4::sha256_hex(&ple);
        let v = wire::decode_input(
            WireProtocol::Json11,
            &logs::SERVICE,
            op,
            RequestBody::Bytes(&ple),
        )
        .unwrap();
        let violations = wire::validate::validate(&logs::SERVICE, op.input.unwrap(), &v);
        std::hint::black_box((hash, violations));
    });
    println!(
        "{:<46} {:>10.0} {:>12.1} {:>10}",
        "JSON 1.1 decode+validate + SHA-256, 1 MiB",
        n as f64 / secs,
        n as f64 * ple_len as f64 / secs / 1e6,
        "-"
    );
    let (n, secs) = measure(budget, || {
        std::hint::black_box(sigv4::sha256_hex(&ple));
    });
    println!(
        "{:<46} {:>10.0} {:>12.1} {:>10}",
        "SHA-256 alone, 1 MiB",
        n as f64 / secs,
        n as f64 * ple_len as f64 / secs / 1e6,
        "-"
    );
}
