//! Every response carries `x-amzn-RequestId`, and the SDK surfaces it as the request id.

use std::collections::HashSet;

use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::RequestId;
use nephoscope_rust_sdk_tests::{repeat, Server, DEV_ACCESS_KEY};

/// The request id of a response that reached the service, success or service error.
fn request_id_of<O: RequestId + std::fmt::Debug, E: RequestId + std::fmt::Debug>(
    what: &str,
    res: &Result<O, SdkError<E>>,
) -> String {
    let id = match res {
        Ok(out) => out.request_id(),
        Err(SdkError::ServiceError(ctx)) => {
            let header = ctx.raw().headers().get("x-amzn-requestid");
            assert_eq!(
                ctx.err().request_id(),
                header,
                "{what}: error metadata request id vs header"
            );
            ctx.err().request_id()
        }
        Err(other) => panic!("{what}: the call did not get a service response: {other:?}"),
    };
    match id {
        Some(id) if !id.trim().is_empty() => id.to_string(),
        _ => panic!("{what}: no request id in {res:?}"),
    }
}

#[tokio::test]
async fn every_response_has_a_distinct_request_id() {
    let server = Server::start();
    let cw = server.cloudwatch().await;
    let logs = server.logs().await;
    let events = server.events().await;
    let bad_cw = aws_sdk_cloudwatch::Client::new(&server.sdk_config_with(DEV_ACCESS_KEY, "wrong").await);
    let bad_logs = aws_sdk_cloudwatchlogs::Client::new(&server.sdk_config_with("AKIDNOSUCHKEY0000000", "x").await);

    let mut ids = Vec::new();
    ids.push(request_id_of("cloudwatch ListMetrics", &cw.list_metrics().send().await));
    ids.push(request_id_of(
        "cloudwatch ListMetrics (invalid)",
        &cw.list_metrics().namespace(repeat('a', 256)).send().await,
    ));
    ids.push(request_id_of(
        "cloudwatch ListMetrics (bad signature)",
        &bad_cw.list_metrics().send().await,
    ));
    ids.push(request_id_of(
        "logs DescribeLogGroups",
        &logs.describe_log_groups().send().await,
    ));
    ids.push(request_id_of(
        "logs CreateLogGroup (invalid)",
        &logs.create_log_group().log_group_name("a b").send().await,
    ));
    ids.push(request_id_of(
        "logs DescribeLogGroups (unknown key)",
        &bad_logs.describe_log_groups().send().await,
    ));
    ids.push(request_id_of("events ListRules", &events.list_rules().send().await));
    ids.push(request_id_of(
        "events DescribeRule (invalid)",
        &events.describe_rule().name(repeat('r', 65)).send().await,
    ));

    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "request ids repeat: {ids:?}");
}
