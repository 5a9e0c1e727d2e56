//! StartLiveTail through the SDK: an AWS event stream over HTTP/1.1 (`initial-response`,
//! `sessionStart`, a `sessionUpdate` about every second, `SessionTimeoutException` at the limit,
//! `SessionStreamingException` when the server stops).
//! The operation's `stream-` host prefix is stripped by the harness's interceptor.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, SdkError};
use aws_sdk_cloudwatchlogs::types::error::StartLiveTailResponseStreamError;
use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream;
use nephoscope_rust_sdk_tests::Server;

use crate::logs::{event, now_ms};

/// How long the matching event may take to show up in a sessionUpdate.
const MATCH_DEADLINE: Duration = Duration::from_secs(10);
/// How long a session with `live_tail_max_seconds = 2` may take to end.
const TIMEOUT_DEADLINE: Duration = Duration::from_secs(10);

/// Creates `group` with one stream and returns the group's ARN without `:*` (the identifier Live
/// Tail takes).
async fn group_with_stream(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str) -> String {
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
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .expect("DescribeLogGroups");
    described
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .and_then(|g| g.log_group_arn())
        .unwrap_or_else(|| panic!("no logGroupArn for {group}: {described:?}"))
        .to_string()
}

#[tokio::test]
async fn live_tail_delivers_matching_events() {
    let server = Server::start();
    let writer = server.logs().await;
    let (group, stream) = ("/live/tail", "web-1");
    let arn = group_with_stream(&writer, group, stream).await;

    let (tail, rewriter) = server.live_tail_logs().await;
    let mut output = tail
        .start_live_tail()
        .log_group_identifiers(&arn)
        .log_event_filter_pattern("ERROR")
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartLiveTail: {}", DisplayErrorContext(&e)));
    assert_eq!(
        rewriter.rewrites(),
        1,
        "the SDK did not dial a stream- host: the interceptor had nothing to do"
    );

    // The first event is sessionStart, echoing the request.
    let first = tokio::time::timeout(MATCH_DEADLINE, output.response_stream.recv())
        .await
        .expect("no sessionStart before the deadline")
        .unwrap_or_else(|e| panic!("receiving sessionStart: {}", DisplayErrorContext(&e)));
    match first {
        Some(StartLiveTailResponseStream::SessionStart(start)) => {
            assert!(
                start.session_id().is_some_and(|s| !s.is_empty()),
                "sessionId: {start:?}"
            );
            assert!(
                start.request_id().is_some_and(|s| !s.is_empty()),
                "requestId: {start:?}"
            );
            assert_eq!(
                start.log_group_identifiers(),
                std::slice::from_ref(&arn),
                "logGroupIdentifiers: {start:?}"
            );
            assert_eq!(
                start.log_event_filter_pattern(),
                Some("ERROR"),
                "logEventFilterPattern: {start:?}"
            );
        }
        other => panic!("expected sessionStart first, got {other:?}"),
    }

    // Write with another client: one event the pattern excludes, one it matches, in one batch, so
    // that an unfiltered session would deliver both in the same update.
    let now = now_ms();
    let (quiet, loud) = ("INFO all quiet", "ERROR live tail works");
    writer
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(event(now - 1, quiet))
        .log_events(event(now, loud))
        .send()
        .await
        .expect("PutLogEvents");

    let deadline = Instant::now() + MATCH_DEADLINE;
    let mut updates = 0;
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let next = match tokio::time::timeout(left, output.response_stream.recv()).await {
            Ok(next) => next,
            Err(_) => {
                panic!("no sessionUpdate with {loud:?} within {MATCH_DEADLINE:?} ({updates} updates, results {seen:?})")
            }
        };
        match next {
            Ok(Some(StartLiveTailResponseStream::SessionUpdate(update))) => {
                updates += 1;
                assert!(
                    update.session_metadata().is_some(),
                    "sessionUpdate without sessionMetadata: {update:?}"
                );
                seen.extend(update.session_results().iter().cloned());
                if let Some(hit) = update.session_results().iter().find(|r| r.message() == Some(loud)) {
                    break hit.clone();
                }
            }
            Ok(other) => panic!("expected sessionUpdate, got {other:?}"),
            Err(e) => panic!("Live Tail stream failed: {}", DisplayErrorContext(&e)),
        }
    };
    assert_eq!(found.log_stream_name(), Some(stream), "{found:?}");
    assert_eq!(found.log_group_identifier(), Some(arn.as_str()), "{found:?}");
    assert_eq!(found.timestamp(), Some(now), "{found:?}");
    assert!(
        found.ingestion_time().is_some_and(|t| t >= now - 60_000),
        "ingestionTime: {found:?}"
    );
    let messages: Vec<_> = seen.iter().map(|r| r.message()).collect();
    assert_eq!(messages, [Some(loud)], "only the matching event is delivered");
}

#[tokio::test]
async fn live_tail_session_ends_with_session_timeout_exception() {
    let server = Server::start_with_config("[logs]\nlive_tail_max_seconds = 2\n");
    let writer = server.logs().await;
    let arn = group_with_stream(&writer, "/live/timeout", "s").await;

    let (tail, _) = server.live_tail_logs().await;
    let started = Instant::now();
    let mut output = tail
        .start_live_tail()
        .log_group_identifiers(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartLiveTail: {}", DisplayErrorContext(&e)));

    let mut updates = 0;
    let mut starts = 0;
    let deadline = started + TIMEOUT_DEADLINE;
    let err = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(next) = tokio::time::timeout(left, output.response_stream.recv()).await else {
            panic!("session with live_tail_max_seconds = 2 still open after {TIMEOUT_DEADLINE:?}");
        };
        match next {
            Ok(Some(StartLiveTailResponseStream::SessionStart(_))) => starts += 1,
            Ok(Some(StartLiveTailResponseStream::SessionUpdate(_))) => updates += 1,
            Ok(Some(other)) => panic!("unexpected event {other:?}"),
            Ok(None) => panic!("the stream ended without SessionTimeoutException ({updates} updates)"),
            Err(e) => break e,
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(starts, 1, "one sessionStart");
    assert!(
        updates >= 1,
        "no sessionUpdate in a 2-second session (one is due every second)"
    );
    assert!(
        elapsed >= Duration::from_millis(1_500),
        "the session ended after {elapsed:?}, before the 2-second limit"
    );
    match err {
        SdkError::ServiceError(ctx) => match ctx.into_err() {
            StartLiveTailResponseStreamError::SessionTimeoutException(e) => {
                // The variant comes from the `:exception-type` header. (`code()` stays empty: the SDK
                // reads it from a `__type`/`code` member of the payload, which is just `{"message"}`.)
                assert!(e.message().is_some_and(|m| !m.is_empty()), "message: {e:?}");
            }
            other => panic!("expected SessionTimeoutException, got {other:?}"),
        },
        other => panic!("expected a modeled stream error, got {}", DisplayErrorContext(&other)),
    }
}

#[tokio::test]
async fn live_tail_ends_with_session_streaming_exception_when_the_server_stops() {
    let mut server = Server::start();
    let writer = server.logs().await;
    let arn = group_with_stream(&writer, "/live/stopping", "s").await;
    let (tail, _) = server.live_tail_logs().await;
    let mut output = tail
        .start_live_tail()
        .log_group_identifiers(&arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("StartLiveTail: {}", DisplayErrorContext(&e)));
    match output.response_stream.recv().await {
        Ok(Some(StartLiveTailResponseStream::SessionStart(_))) => {}
        other => panic!("expected sessionStart, got {other:?}"),
    }

    // SIGTERM while the session is open; the wait for the exit runs beside the stream.
    let stopping = tokio::task::spawn_blocking(move || {
        let took = server.terminate();
        (server, took)
    });
    let err = loop {
        let Ok(next) = tokio::time::timeout(TIMEOUT_DEADLINE, output.response_stream.recv()).await else {
            panic!("the session was still open {TIMEOUT_DEADLINE:?} after SIGTERM");
        };
        match next {
            Ok(Some(StartLiveTailResponseStream::SessionUpdate(_))) => {}
            Ok(Some(other)) => panic!("unexpected event {other:?}"),
            Ok(None) => panic!("the stream ended without SessionStreamingException"),
            Err(e) => break e,
        }
    };
    let (_server, took) = stopping.await.expect("the wait for the exit");
    let took = took.expect("the server still running 15 s after SIGTERM");
    // The drain of open connections lasts up to 10 s: an open session no longer holds it.
    assert!(
        took < Duration::from_secs(5),
        "the server took {took:?} to stop with a Live Tail session open"
    );
    match err {
        SdkError::ServiceError(ctx) => match ctx.into_err() {
            StartLiveTailResponseStreamError::SessionStreamingException(e) => {
                assert!(e.message().is_some_and(|m| m.contains("shutting down")), "{e:?}");
            }
            other => panic!("expected SessionStreamingException, got {other:?}"),
        },
        other => panic!("expected a modeled stream error, got {}", DisplayErrorContext(&other)),
    }
}
