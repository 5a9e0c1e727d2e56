//! CloudWatch: aws-sdk-cloudwatch >= 1.100 speaks Smithy RPC v2 CBOR (query-compatible).

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsError;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
use nephoscope_rust_sdk_tests::{expect_service_error, not_implemented_or_ok, repeat, Outcome, Server, ServiceFailure};

const LENGTH_255: &str = "Member must have length less than or equal to 255";

/// What every CBOR response must carry besides the request id.
fn assert_cbor_response<E>(what: &str, failure: &ServiceFailure<E>) {
    assert_eq!(
        failure.header("smithy-protocol"),
        Some("rpc-v2-cbor"),
        "{what}: CBOR responses carry `smithy-protocol: rpc-v2-cbor`; headers: {:?}",
        failure.headers
    );
}

fn assert_length_violation<E: std::fmt::Debug>(what: &str, message: Option<&str>, err: &E) {
    let message = message.unwrap_or_else(|| panic!("{what}: error has no message: {err:?}"));
    assert!(
        message.contains("validation error") && message.contains("failed to satisfy constraint"),
        "{what}: message does not follow the AWS validation format: {message:?}"
    );
    assert!(
        message.contains(LENGTH_255),
        "{what}: message does not name the length constraint: {message:?}"
    );
}

#[tokio::test]
async fn list_metrics_namespace_too_long_is_invalid_parameter_value() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let res = cw.list_metrics().namespace(repeat('a', 300)).send().await;
    let failure = expect_service_error("ListMetrics(namespace of 300 chars)", res);
    assert_eq!(failure.status, 400);
    assert_cbor_response("ListMetrics", &failure);
    assert_eq!(failure.code(), Some("InvalidParameterValue"), "query-compatible code");
    assert_eq!(failure.query_error_type(), Some("Sender"), "x-amzn-query-error type");
    let message = failure.message().map(str::to_string);
    assert_length_violation("ListMetrics", message.as_deref(), &failure.err);
    assert!(
        failure.err.is_invalid_parameter_value_exception(),
        "expected the modeled InvalidParameterValueException, got {:?}",
        failure.err
    );
    match failure.err {
        ListMetricsError::InvalidParameterValueException(e) => {
            assert_eq!(e.message(), message.as_deref());
        }
        other => panic!("expected ListMetricsError::InvalidParameterValueException, got {other:?}"),
    }
}

#[tokio::test]
async fn list_metrics_is_not_implemented_or_well_formed() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let res = cw.list_metrics().namespace("Nephoscope/Test").send().await;
    match not_implemented_or_ok("cloudwatch", "ListMetrics", res) {
        Outcome::NotImplemented => {
            // The CBOR-specific parts of the not-built error.
            let res = cw.list_metrics().send().await;
            let failure = expect_service_error("ListMetrics", res);
            assert_cbor_response("ListMetrics", &failure);
            assert_eq!(
                failure.query_error_type(),
                Some("Receiver"),
                "x-amzn-query-error: NotImplemented;Receiver"
            );
        }
        Outcome::Implemented(out) => {
            for m in out.metrics() {
                assert_eq!(m.namespace(), Some("Nephoscope/Test"), "namespace filter: {m:?}");
                assert!(
                    m.metric_name().is_some_and(|n| !n.is_empty()),
                    "metric without a name: {m:?}"
                );
                for d in m.dimensions() {
                    assert!(
                        d.name().is_some_and(|n| !n.is_empty()),
                        "dimension without a name: {m:?}"
                    );
                }
            }
            // A fresh ephemeral server has nothing in this namespace.
            assert!(out.metrics().is_empty(), "fresh server lists metrics: {out:?}");
            assert!(out.next_token().is_none(), "no metrics but a next token: {out:?}");
        }
    }
}

fn query(namespace: &str) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id("m1")
        .metric_stat(
            MetricStat::builder()
                .metric(Metric::builder().namespace(namespace).metric_name("Latency").build())
                .period(60)
                .stat("Average")
                .build(),
        )
        .return_data(true)
        .build()
}

fn hour_window() -> (DateTime, DateTime) {
    let end = SystemTime::now();
    (DateTime::from(end - Duration::from_secs(3600)), DateTime::from(end))
}

#[tokio::test]
async fn get_metric_data_namespace_too_long_is_invalid_parameter_value() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let (start, end) = hour_window();
    let res = cw
        .get_metric_data()
        .metric_data_queries(query(&repeat('n', 300)))
        .start_time(start)
        .end_time(end)
        .send()
        .await;
    let failure = expect_service_error("GetMetricData(namespace of 300 chars)", res);
    assert_eq!(failure.status, 400);
    assert_cbor_response("GetMetricData", &failure);
    // GetMetricData models only InvalidNextToken, so the SDK reports the code, not a variant.
    assert_eq!(
        failure.code(),
        Some("InvalidParameterValue"),
        "query-compatible code: {:?}",
        failure.err
    );
    assert_eq!(failure.query_error_type(), Some("Sender"), "x-amzn-query-error type");
    assert_length_violation("GetMetricData", failure.message(), &failure.err);
}

#[tokio::test]
async fn get_metric_data_is_not_implemented_or_well_formed() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let (start, end) = hour_window();
    let res = cw
        .get_metric_data()
        .metric_data_queries(query("Nephoscope/Test"))
        .start_time(start)
        .end_time(end)
        .send()
        .await;
    match not_implemented_or_ok("cloudwatch", "GetMetricData", res) {
        Outcome::NotImplemented => {}
        Outcome::Implemented(out) => {
            let results = out.metric_data_results();
            assert_eq!(results.len(), 1, "one result per query with ReturnData: {out:?}");
            let r = &results[0];
            assert_eq!(r.id(), Some("m1"), "result id: {r:?}");
            assert!(r.status_code().is_some(), "result without a status code: {r:?}");
            assert_eq!(
                r.timestamps().len(),
                r.values().len(),
                "timestamps and values differ in length: {r:?}"
            );
            // Nothing was published: a fresh server has no datapoints.
            assert!(r.values().is_empty(), "fresh server returned datapoints: {r:?}");
        }
    }
}
