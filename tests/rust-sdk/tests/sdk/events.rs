//! EventBridge: JSON 1.1 (`X-Amz-Target: AWSEvents.<Op>`).

use nephoscope_rust_sdk_tests::{expect_service_error, not_implemented_or_ok, repeat, Outcome, Server};

#[tokio::test]
async fn list_rules_is_not_implemented_or_well_formed() {
    let server = Server::start();
    let events = server.events().await;
    let res = events.list_rules().send().await;
    match not_implemented_or_ok("events", "ListRules", res) {
        Outcome::NotImplemented => {}
        Outcome::Implemented(out) => {
            for r in out.rules() {
                assert!(r.name().is_some_and(|n| !n.is_empty()), "rule without a name: {r:?}");
                assert!(
                    r.arn().is_some_and(|a| a.starts_with("arn:")),
                    "rule without an arn: {r:?}"
                );
            }
            assert!(out.rules().is_empty(), "fresh server has rules: {out:?}");
        }
    }
}

#[tokio::test]
async fn describe_rule_name_too_long_is_validation_exception() {
    let server = Server::start();
    let events = server.events().await;
    let res = events.describe_rule().name(repeat('r', 100)).send().await;
    let failure = expect_service_error("DescribeRule(name of 100 chars)", res);
    assert_eq!(failure.status, 400);
    // ValidationException is not modeled for DescribeRule: the SDK reports the code.
    assert_eq!(failure.code(), Some("ValidationException"), "{:?}", failure.err);
    let message = failure.message().unwrap_or_default();
    assert!(
        message.contains("failed to satisfy constraint")
            && message.contains("Member must have length less than or equal to 64"),
        "message does not name the length constraint: {message:?}"
    );
}
