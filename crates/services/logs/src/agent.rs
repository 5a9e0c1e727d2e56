//! The CloudWatch agent's EMF endpoint (TCP/UDP port 25888 by default in AWS): newline-delimited
//! Embedded Metric Format documents, each naming its log group and stream in
//! `_aws.LogGroupName` / `_aws.LogStreamName`. The agent creates the group and stream when
//! missing and ships the documents as log events, so their metrics are extracted like any EMF
//! event's. The socket lives in the server; this module turns received lines into events.

use crate::events;
use nephoscope_logstore::{LogStore, Mutation, Rejection, StoreError};
use nephoscope_model::types::logs::{InputLogEvent, PutLogEventsRequest};
use nephoscope_wire::RequestContext;
use std::collections::BTreeMap;

/// Where documents without `_aws.LogGroupName` / `_aws.LogStreamName` go.
#[derive(Debug, Clone)]
pub struct AgentDefaults {
    pub log_group: String,
    pub log_stream: String,
}

/// What one batch of lines became.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AgentOutcome {
    /// Lines stored as log events.
    pub stored: usize,
    /// Lines dropped: not a JSON object, a bad group or stream name, or rejected by the store
    /// (too old, too new, past retention).
    pub dropped: usize,
}

/// Events (timestamp, message) per (group, stream).
pub type Routed = BTreeMap<(String, String), Vec<(i64, String)>>;

/// Group, stream, timestamp and the line itself, for every line that is a JSON object; and how
/// many lines were dropped.
pub fn route(lines: &[String], defaults: &AgentDefaults, now_ms: i64) -> (Routed, usize) {
    let mut by_stream: Routed = BTreeMap::new();
    let mut dropped = 0;
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            dropped += 1;
            continue;
        };
        let aws = doc.get("_aws").and_then(|a| a.as_object());
        let text = |k: &str| aws.and_then(|a| a.get(k)).and_then(|v| v.as_str());
        let group = text("LogGroupName").unwrap_or(&defaults.log_group);
        let stream = text("LogStreamName").unwrap_or(&defaults.log_stream);
        if !valid_group(group) || !valid_stream(stream) {
            dropped += 1;
            continue;
        }
        let ts = aws
            .and_then(|a| a.get("Timestamp"))
            .and_then(|t| t.as_i64())
            .unwrap_or(now_ms);
        by_stream
            .entry((group.to_string(), stream.to_string()))
            .or_default()
            .push((ts, line.to_string()));
    }
    (by_stream, dropped)
}

/// Log group names: 1–512 of `.-_/#` and ASCII letters and digits (the Logs model's pattern).
fn valid_group(g: &str) -> bool {
    (1..=512).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#".contains(&b))
}

/// Log stream names: 1–512 characters, no `:` or `*`.
fn valid_stream(s: &str) -> bool {
    (1..=512).contains(&s.len()) && !s.contains([':', '*'])
}

/// Stores `lines` as the agent would: per (group, stream), creating both when missing, in
/// timestamp order and in PutLogEvents-sized batches, extracting EMF metrics on the way.
pub async fn ingest(
    store: &LogStore,
    metrics: Option<&nephoscope_metricstore::MetricStore>,
    ctx: &RequestContext,
    defaults: &AgentDefaults,
    lines: &[String],
) -> AgentOutcome {
    let (by_stream, mut dropped) = route(lines, defaults, store.now());
    let mut stored = 0;
    for ((group, stream), mut events) in by_stream {
        let n = events.len();
        if let Err(why) = ensure_stream(store, ctx, &group, &stream).await {
            tracing::warn!(%group, %stream, %why, "EMF agent endpoint: cannot create the log stream");
            dropped += n;
            continue;
        }
        events.sort_by_key(|e| e.0);
        for batch in batches(events) {
            let size = batch.len();
            let req = PutLogEventsRequest {
                log_group_name: Some(group.clone()),
                log_stream_name: Some(stream.clone()),
                log_events: Some(
                    batch
                        .into_iter()
                        .map(|(t, m)| InputLogEvent {
                            timestamp: Some(t),
                            message: Some(m),
                        })
                        .collect(),
                ),
                ..Default::default()
            };
            match events::put(store, metrics, ctx, req).await {
                Ok(out) => {
                    let rejected = rejected_count(&out, size);
                    stored += size - rejected;
                    dropped += rejected;
                }
                Err(e) => {
                    tracing::warn!(%group, %stream, error = %e.message, "EMF agent endpoint: events not stored");
                    dropped += size;
                }
            }
        }
    }
    AgentOutcome { stored, dropped }
}

async fn ensure_stream(
    store: &LogStore,
    ctx: &RequestContext,
    group: &str,
    stream: &str,
) -> Result<(), String> {
    let scope = crate::scope(ctx);
    let ok = |r: Result<_, StoreError>, exists: Rejection| match r {
        Ok(_) => Ok(()),
        Err(StoreError::Rejected(r)) if r == exists => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    let known = {
        let st = store.read();
        st.group(&scope, group)
            .map(|g| g.streams.contains_key(stream))
    };
    if known.is_none() {
        let r = store
            .mutate(Mutation::CreateGroup {
                scope: scope.clone(),
                name: group.to_string(),
                creation_time: store.now(),
                class: "STANDARD".into(),
                kms_key_id: None,
                deletion_protection: false,
                tags: BTreeMap::new(),
            })
            .await;
        ok(r, Rejection::GroupExists)?;
    }
    if known != Some(true) {
        let r = store
            .mutate(Mutation::CreateStream {
                scope,
                group: group.to_string(),
                name: stream.to_string(),
                creation_time: store.now(),
            })
            .await;
        ok(r, Rejection::StreamExists)?;
    }
    Ok(())
}

/// Splits time-ordered events into batches PutLogEvents accepts: ≤ 10,000 events, ≤ 1 MiB with
/// the per-event overhead, ≤ 24 hours apart.
pub fn batches(events: Vec<(i64, String)>) -> Vec<Vec<(i64, String)>> {
    let mut out: Vec<Vec<(i64, String)>> = Vec::new();
    let mut bytes = 0;
    for e in events {
        let size = e.1.len() + events::EVENT_OVERHEAD;
        let fits = out.last().is_some_and(|b| {
            b.len() < 10_000
                && bytes + size <= events::MAX_BATCH_BYTES
                && e.0 - b[0].0 <= events::MAX_SPAN_MS
        });
        if !fits {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        out.last_mut().expect("pushed above").push(e);
    }
    out
}

/// Events PutLogEvents turned away (too old, too new, expired), from its response.
fn rejected_count(out: &serde_json::Value, size: usize) -> usize {
    let Some(info) = out.get("rejectedLogEventsInfo") else {
        return 0;
    };
    let idx = |k: &str| info.get(k).and_then(serde_json::Value::as_u64);
    let mut rejected = 0usize;
    // tooOld/expired are "index of the last rejected event"; tooNew is "first rejected".
    let old_end = idx("tooOldLogEventEndIndex")
        .max(idx("expiredLogEventEndIndex"))
        .map_or(0, |i| i as usize);
    rejected += old_end.min(size);
    if let Some(new_start) = idx("tooNewLogEventStartIndex") {
        rejected += size.saturating_sub(new_start as usize);
    }
    rejected.min(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        let defaults = AgentDefaults {
            log_group: "emf-default".into(),
            log_stream: "agent".into(),
        };
        let lines: Vec<String> = [
            r#"{"_aws":{"Timestamp":5,"LogGroupName":"g1","LogStreamName":"s1","CloudWatchMetrics":[]},"a":1}"#,
            r#"{"_aws":{"Timestamp":3,"LogGroupName":"g1","LogStreamName":"s1"}}"#,
            r#"{"plain":true}"#,
            "  ",
            "not json",
            "[1,2]",
            r#"{"_aws":{"LogGroupName":"bad group!"}}"#,
            r#"{"_aws":{"LogGroupName":"g2","LogStreamName":"a:b"}}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (routed, dropped) = route(&lines, &defaults, 1000);
        assert_eq!(dropped, 4);
        let keys: Vec<_> = routed.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![
                ("emf-default".to_string(), "agent".to_string()),
                ("g1".to_string(), "s1".to_string())
            ]
        );
        let ts: Vec<i64> = routed[&("g1".into(), "s1".into())]
            .iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(ts, vec![5, 3]);
        assert_eq!(routed[&("emf-default".into(), "agent".into())][0].0, 1000);
    }

    #[test]
    fn batches_table() {
        let day = events::MAX_SPAN_MS;
        let ev = |t: i64, n: usize| (t, "x".repeat(n));
        type Case = (Vec<(i64, String)>, Vec<usize>);
        let cases: Vec<Case> = vec![
            (vec![], vec![]),
            (vec![ev(0, 1), ev(1, 1)], vec![2]),
            (vec![ev(0, 1), ev(day, 1), ev(day + 1, 1)], vec![2, 1]),
            ((0..10_001).map(|i| ev(i, 1)).collect(), vec![10_000, 1]),
            (vec![ev(0, 600_000), ev(1, 600_000), ev(2, 10)], vec![1, 2]),
        ];
        for (events, want) in cases {
            let got: Vec<usize> = batches(events).iter().map(Vec::len).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn rejected_count_table() {
        let cases = [
            (serde_json::json!({}), 5, 0),
            (
                serde_json::json!({"rejectedLogEventsInfo": {"tooOldLogEventEndIndex": 2}}),
                5,
                2,
            ),
            (
                serde_json::json!({"rejectedLogEventsInfo": {"tooNewLogEventStartIndex": 3}}),
                5,
                2,
            ),
            (
                serde_json::json!({"rejectedLogEventsInfo": {"expiredLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}}),
                5,
                2,
            ),
        ];
        for (out, size, want) in cases {
            assert_eq!(rejected_count(&out, size), want, "{out}");
        }
    }
}
