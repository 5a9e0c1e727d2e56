//! SigV4 failures (docs/dev/server-contract.md, "Errors every client can see now").
//!
//! JSON 1.1 services (Logs, EventBridge) answer the JSON codes. CloudWatch is query-compatible:
//! its body carries the JSON code and `x-amzn-query-error` the query code, which the Rust SDK
//! prefers, so `code()` is the query code there.

use nephoscope_rust_sdk_tests::{expect_service_error, Server, ServiceFailure, DEV_ACCESS_KEY};

const UNKNOWN_KEY: &str = "AKIDNOSUCHKEY0000000";

fn assert_auth_failure<E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::fmt::Debug>(
    what: &str,
    failure: &ServiceFailure<E>,
    code: &str,
) {
    assert_eq!(failure.status, 400, "{what}: {:?}", failure.err);
    assert_eq!(failure.code(), Some(code), "{what}: {:?}", failure.err);
}

#[tokio::test]
async fn logs_wrong_secret_is_invalid_signature() {
    let server = Server::start();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&server.sdk_config_with(DEV_ACCESS_KEY, "not-the-secret").await);
    let failure = expect_service_error("logs DescribeLogGroups", logs.describe_log_groups().send().await);
    assert_auth_failure("logs, wrong secret", &failure, "InvalidSignatureException");
}

#[tokio::test]
async fn events_wrong_secret_is_invalid_signature() {
    let server = Server::start();
    let events = aws_sdk_eventbridge::Client::new(&server.sdk_config_with(DEV_ACCESS_KEY, "not-the-secret").await);
    let failure = expect_service_error("events ListRules", events.list_rules().send().await);
    assert_auth_failure("events, wrong secret", &failure, "InvalidSignatureException");
}

#[tokio::test]
async fn cloudwatch_wrong_secret_is_invalid_signature() {
    let server = Server::start();
    let cw = aws_sdk_cloudwatch::Client::new(&server.sdk_config_with(DEV_ACCESS_KEY, "not-the-secret").await);
    let failure = expect_service_error("cloudwatch ListMetrics", cw.list_metrics().send().await);
    assert_eq!(
        failure.header("x-amzn-query-error"),
        Some("SignatureDoesNotMatch;Sender"),
        "headers: {:?}",
        failure.headers
    );
    assert_auth_failure("cloudwatch, wrong secret", &failure, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn logs_unknown_access_key_is_unrecognized_client() {
    let server = Server::start();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&server.sdk_config_with(UNKNOWN_KEY, "whatever").await);
    let failure = expect_service_error("logs DescribeLogGroups", logs.describe_log_groups().send().await);
    assert_auth_failure("logs, unknown key", &failure, "UnrecognizedClientException");
}

#[tokio::test]
async fn events_unknown_access_key_is_unrecognized_client() {
    let server = Server::start();
    let events = aws_sdk_eventbridge::Client::new(&server.sdk_config_with(UNKNOWN_KEY, "whatever").await);
    let failure = expect_service_error("events ListRules", events.list_rules().send().await);
    assert_auth_failure("events, unknown key", &failure, "UnrecognizedClientException");
}

#[tokio::test]
async fn cloudwatch_unknown_access_key_is_unrecognized_client() {
    let server = Server::start();
    let cw = aws_sdk_cloudwatch::Client::new(&server.sdk_config_with(UNKNOWN_KEY, "whatever").await);
    let failure = expect_service_error("cloudwatch ListMetrics", cw.list_metrics().send().await);
    assert_eq!(
        failure.header("x-amzn-query-error"),
        Some("InvalidClientTokenId;Sender"),
        "headers: {:?}",
        failure.headers
    );
    assert_auth_failure("cloudwatch, unknown key", &failure, "InvalidClientTokenId");
}
