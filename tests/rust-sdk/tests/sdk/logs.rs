//! CloudWatch Logs: JSON 1.1 (`X-Amz-Target: Logs_20140328.<Op>`).

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsError;
use aws_sdk_cloudwatchlogs::operation::put_log_events::PutLogEventsError;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use nephoscope_rust_sdk_tests::{expect_service_error, not_implemented_or_ok, Outcome, Server, REGION};

/// Account of the `test`/`test` dev credential.
const DEV_ACCOUNT: &str = "000000000000";
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Wall-clock time in epoch milliseconds (the server runs on the same host clock; see clippy.toml).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

pub(crate) fn event(timestamp: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(timestamp)
        .message(message)
        .build()
        .expect("timestamp and message are set")
}

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

/// Create a tagged group, find it by prefix, write three events, read them back (whole, paged and
/// filtered), read its tags by ARN, set a retention policy, delete it.
#[tokio::test]
async fn log_group_round_trip() {
    let server = Server::start();
    let logs = server.logs().await;
    let group = "/nephoscope/sdk/round-trip";
    let stream = "app-1";

    logs.create_log_group()
        .log_group_name(group)
        .tags("team", "observability")
        .tags("env", "test")
        .send()
        .await
        .expect("CreateLogGroup with tags");
    // A second group outside the prefix: DescribeLogGroups must leave it out.
    logs.create_log_group()
        .log_group_name("/other/group")
        .send()
        .await
        .expect("CreateLogGroup /other/group");

    let described = logs
        .describe_log_groups()
        .log_group_name_prefix("/nephoscope/sdk/")
        .send()
        .await
        .expect("DescribeLogGroups with prefix");
    let names: Vec<_> = described.log_groups().iter().map(|g| g.log_group_name()).collect();
    assert_eq!(
        names,
        [Some(group)],
        "DescribeLogGroups prefix /nephoscope/sdk/: {described:?}"
    );
    let g = &described.log_groups()[0];
    let group_arn = format!("arn:aws:logs:{REGION}:{DEV_ACCOUNT}:log-group:{group}");
    assert_eq!(g.arn(), Some(format!("{group_arn}:*").as_str()), "arn ends with :*");
    assert_eq!(g.log_group_arn(), Some(group_arn.as_str()), "logGroupArn has no :*");
    assert!(g.creation_time().is_some_and(|t| t > 0), "creationTime: {g:?}");
    assert_eq!(g.retention_in_days(), None, "no retention policy yet: {g:?}");

    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("CreateLogStream");

    let now = now_ms();
    let sent = [
        (now - 3_000, r#"{"level":"info","msg":"recovered from ERROR state"}"#),
        (now - 2_000, r#"{"level":"error","msg":"disk full"}"#),
        (now - 1_000, "ERROR connection refused"),
    ];
    let before_put = now_ms();
    let put = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(sent.iter().map(|(t, m)| event(*t, m)).collect()))
        .send()
        .await
        .expect("PutLogEvents");
    let after_put = now_ms();
    assert!(put.rejected_log_events_info().is_none(), "nothing rejected: {put:?}");

    // The whole stream from the head, in order, with ingestion times.
    let got = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .expect("GetLogEvents startFromHead");
    let read: Vec<_> = got.events().iter().map(|e| (e.timestamp(), e.message())).collect();
    let want: Vec<_> = sent.iter().map(|(t, m)| (Some(*t), Some(*m))).collect();
    assert_eq!(read, want, "GetLogEvents from the head");
    for e in got.events() {
        let ingested = e.ingestion_time().unwrap_or_else(|| panic!("no ingestionTime: {e:?}"));
        assert!(
            (before_put - 1_000..=after_put + 1_000).contains(&ingested),
            "ingestionTime {ingested} is not the time of the put ({before_put}..={after_put})"
        );
    }

    // Forward paging with limit 1 walks the three events, then hands back the token it was given.
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    for page in 0..3 {
        let out = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(1)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetLogEvents page {page}: {e:?}"));
        assert_eq!(out.events().len(), 1, "page {page} with limit 1: {out:?}");
        paged.push((
            out.events()[0].timestamp(),
            out.events()[0].message().map(str::to_string),
        ));
        let next = out
            .next_forward_token()
            .unwrap_or_else(|| panic!("page {page}: no nextForwardToken"));
        assert_ne!(
            token.as_deref(),
            Some(next),
            "page {page}: the forward token did not move"
        );
        token = Some(next.to_string());
    }
    let want_owned: Vec<_> = sent.iter().map(|(t, m)| (Some(*t), Some(m.to_string()))).collect();
    assert_eq!(paged, want_owned, "forward pages of one event");
    let end = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .limit(1)
        .set_next_token(token.clone())
        .send()
        .await
        .expect("GetLogEvents past the last event");
    assert!(end.events().is_empty(), "past the last event: {end:?}");
    assert_eq!(
        end.next_forward_token(),
        token.as_deref(),
        "at the end of the stream the same forward token comes back"
    );

    // FilterLogEvents: a term (case-sensitive, anywhere in the message) and a JSON pattern.
    for (pattern, want_idx) in [("ERROR", vec![0, 2]), (r#"{ $.level = "error" }"#, vec![1])] {
        let out = logs
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern(pattern)
            .send()
            .await
            .unwrap_or_else(|e| panic!("FilterLogEvents {pattern:?}: {e:?}"));
        let got: Vec<_> = out.events().iter().map(|e| (e.timestamp(), e.message())).collect();
        let want: Vec<_> = want_idx.iter().map(|&i| (Some(sent[i].0), Some(sent[i].1))).collect();
        assert_eq!(got, want, "FilterLogEvents {pattern:?}");
        for e in out.events() {
            assert_eq!(e.log_stream_name(), Some(stream), "{pattern:?}: {e:?}");
            assert!(
                e.event_id().is_some_and(|id| !id.is_empty()),
                "{pattern:?}: no eventId: {e:?}"
            );
            assert!(e.ingestion_time().is_some(), "{pattern:?}: no ingestionTime: {e:?}");
        }
        assert!(out.next_token().is_none(), "{pattern:?}: a single page: {out:?}");
    }

    // Tags given at creation, read by the ARN without `:*`.
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(&group_arn)
        .send()
        .await
        .expect("ListTagsForResource by log group ARN");
    let want_tags: HashMap<String, String> = [("team", "observability"), ("env", "test")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(tags.tags(), Some(&want_tags), "ListTagsForResource");

    logs.put_retention_policy()
        .log_group_name(group)
        .retention_in_days(7)
        .send()
        .await
        .expect("PutRetentionPolicy 7");
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .expect("DescribeLogGroups after PutRetentionPolicy");
    let retention: Vec<_> = described.log_groups().iter().map(|g| g.retention_in_days()).collect();
    assert_eq!(retention, [Some(7)], "retentionInDays after PutRetentionPolicy(7)");

    logs.delete_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("DeleteLogGroup");
    let res = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await;
    let failure = expect_service_error("GetLogEvents on a deleted group", res);
    assert_eq!(failure.status, 400, "GetLogEvents on a deleted group");
    match failure.err {
        GetLogEventsError::ResourceNotFoundException(_) => {}
        other => panic!("GetLogEvents on a deleted group: expected ResourceNotFoundException, got {other:?}"),
    }
}

/// PutLogEvents: a batch out of chronological order is refused whole; an event older than 14 days
/// is reported in rejectedLogEventsInfo while the rest of the batch is stored.
#[tokio::test]
async fn put_log_events_batch_rules() {
    let server = Server::start();
    let logs = server.logs().await;
    let (group, stream) = ("rules", "s");
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

    let now = now_ms();
    let res = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(event(now - 1_000, "second"))
        .log_events(event(now - 2_000, "first"))
        .send()
        .await;
    let failure = expect_service_error("PutLogEvents out of order", res);
    assert_eq!(failure.status, 400, "PutLogEvents out of order");
    match &failure.err {
        PutLogEventsError::InvalidParameterException(_) => {}
        other => panic!("PutLogEvents out of order: expected InvalidParameterException, got {other:?}"),
    }

    let old = now - 15 * DAY_MS;
    let out = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(event(old, "fifteen days old"))
        .log_events(event(now - 1_000, "fresh"))
        .send()
        .await
        .expect("PutLogEvents with a too-old event");
    let info = out
        .rejected_log_events_info()
        .unwrap_or_else(|| panic!("no rejectedLogEventsInfo for a 15-day-old event: {out:?}"));
    assert_eq!(
        info.too_old_log_event_end_index(),
        Some(1),
        "tooOldLogEventEndIndex: {info:?}"
    );
    assert_eq!(
        info.too_new_log_event_start_index(),
        None,
        "tooNewLogEventStartIndex: {info:?}"
    );
    assert_eq!(
        info.expired_log_event_end_index(),
        None,
        "expiredLogEventEndIndex: {info:?}"
    );

    let got = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .send()
        .await
        .expect("GetLogEvents");
    let messages: Vec<_> = got.events().iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        [Some("fresh")],
        "only the accepted event is stored (nothing from the out-of-order batch, not the old one)"
    );
}
