//! CloudWatch Logs: JSON 1.1 (`X-Amz-Target: Logs_20140328.<Op>`).

use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use nephoscope_rust_sdk_tests::{expect_service_error, not_implemented_or_ok, Outcome, Server};

#[tokio::test]
async fn describe_log_groups_is_not_implemented_or_well_formed() {
    let server = Server::start();
    let logs = server.logs().await;
    let res = logs.describe_log_groups().send().await;
    match not_implemented_or_ok("logs", "DescribeLogGroups", res) {
        Outcome::NotImplemented => {}
        Outcome::Implemented(out) => {
            for g in out.log_groups() {
                assert!(
                    g.log_group_name().is_some_and(|n| !n.is_empty()),
                    "log group without a name: {g:?}"
                );
                assert!(g.arn().is_some(), "log group without an arn: {g:?}");
            }
            assert!(out.log_groups().is_empty(), "fresh server has log groups: {out:?}");
        }
    }
}

#[tokio::test]
async fn create_log_group_with_invalid_name_is_invalid_parameter() {
    let server = Server::start();
    let logs = server.logs().await;
    for name in ["bad name", "bad*name"] {
        let what = format!("CreateLogGroup({name:?})");
        let res = logs.create_log_group().log_group_name(name).send().await;
        let failure = expect_service_error(&what, res);
        assert_eq!(failure.status, 400, "{what}");
        assert_eq!(
            failure.code(),
            Some("InvalidParameterException"),
            "{what}: {:?}",
            failure.err
        );
        let message = failure.message().unwrap_or_default().to_string();
        assert!(
            message.contains("failed to satisfy constraint") && message.contains("pattern"),
            "{what}: message does not name the pattern constraint: {message:?}"
        );
        match failure.err {
            CreateLogGroupError::InvalidParameterException(e) => {
                assert_eq!(e.message(), Some(message.as_str()));
            }
            other => panic!("{what}: expected CreateLogGroupError::InvalidParameterException, got {other:?}"),
        }
    }
}
