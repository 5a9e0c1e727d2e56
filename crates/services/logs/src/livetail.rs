//! StartLiveTail: a stream of the events that become durable in the chosen log groups, filtered
//! by a filter pattern, delivered as a `sessionUpdate` about once a second (empty ones included),
//! sampled down to 500 events per update, ended by `SessionTimeoutException` at the session limit.

use crate::events::compile_pattern;
use crate::{invalid, rejection, resolve_identifier, scope};
use nephoscope_logstore::{LogStore, Rejection};
use nephoscope_model::types::logs::*;
use nephoscope_wire::eventstream::{EventStream, StreamItem};
use nephoscope_wire::{ApiError, RequestContext};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Most events in one update; more are sampled.
pub const MAX_EVENTS_PER_UPDATE: usize = 500;
pub const UPDATE_INTERVAL: Duration = Duration::from_secs(1);
/// AWS ends sessions after three hours.
pub const DEFAULT_SESSION_LIMIT: Duration = Duration::from_secs(3 * 3600);

pub async fn start(
    store: Arc<LogStore>,
    ctx: RequestContext,
    req: StartLiveTailRequest,
    limit: Duration,
) -> Result<EventStream, ApiError> {
    let scope = scope(&ctx);
    let identifiers = req.log_group_identifiers.clone().unwrap_or_default();
    let names = req.log_stream_names.clone();
    let prefixes = req.log_stream_name_prefixes.clone();
    if names.is_some() && prefixes.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefixes are mutually exclusive.",
        ));
    }
    if (names.is_some() || prefixes.is_some()) && identifiers.len() != 1 {
        return Err(invalid(
            "Log stream filters can only be used with exactly one log group.",
        ));
    }
    let mut groups = Vec::new();
    {
        let st = store.read();
        for id in &identifiers {
            let name = resolve_identifier(&scope, id)?;
            if st.group(&scope, &name).is_none() {
                return Err(rejection(Rejection::GroupNotFound));
            }
            groups.push((name, id.clone()));
        }
    }
    let pattern = compile_pattern(req.log_event_filter_pattern.as_deref())?;
    let mut live = store.subscribe();
    let mut closing = store.closing();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let start = LiveTailSessionStart {
        request_id: Some(ctx.request_id.clone()),
        session_id: Some(uuid::Uuid::new_v4().to_string()),
        log_group_identifiers: Some(identifiers),
        log_stream_names: names.clone(),
        log_stream_name_prefixes: prefixes.clone(),
        log_event_filter_pattern: req.log_event_filter_pattern.clone(),
    };
    tokio::spawn(async move {
        let payload = serde_json::to_value(start).unwrap_or_default();
        if tx
            .send(StreamItem::Event {
                kind: "sessionStart",
                payload,
            })
            .await
            .is_err()
        {
            return;
        }
        let deadline = tokio::time::Instant::now() + limit;
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + UPDATE_INTERVAL,
            UPDATE_INTERVAL,
        );
        let mut pending: Vec<LiveTailSessionLogEvent> = Vec::new();
        let mut lagged = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    let _ = tx.send(StreamItem::Exception {
                        kind: "SessionTimeoutException",
                        message: "Session timed out after the maximum duration".into(),
                    }).await;
                    return;
                }
                // The server is stopping: the session ends with the stream's own exception.
                _ = async { drop(closing.wait_for(|c| *c).await) } => {
                    let _ = tx.send(StreamItem::Exception {
                        kind: "SessionStreamingException",
                        message: "The session ended because the server is shutting down.".into(),
                    }).await;
                    return;
                }
                _ = tick.tick() => {
                    let sampled = lagged || pending.len() > MAX_EVENTS_PER_UPDATE;
                    let results = sample(std::mem::take(&mut pending), MAX_EVENTS_PER_UPDATE);
                    lagged = false;
                    let update = LiveTailSessionUpdate {
                        session_metadata: Some(LiveTailSessionMetadata { sampled: Some(sampled) }),
                        session_results: Some(results),
                    };
                    let payload = serde_json::to_value(update).unwrap_or_default();
                    if tx.send(StreamItem::Event { kind: "sessionUpdate", payload }).await.is_err() {
                        return; // the client went away
                    }
                }
                got = live.recv() => match got {
                    Ok(batch) => {
                        if batch.scope != scope {
                            continue;
                        }
                        let Some((_, id)) = groups.iter().find(|(g, _)| *g == batch.group) else { continue };
                        let stream_ok = match (&names, &prefixes) {
                            (Some(n), _) => n.contains(&batch.stream),
                            (_, Some(p)) => p.iter().any(|p| batch.stream.starts_with(p.as_str())),
                            _ => true,
                        };
                        if !stream_ok {
                            continue;
                        }
                        for (ts, msg) in &batch.events {
                            if pattern.as_ref().is_none_or(|p| p.matches(msg)) {
                                pending.push(LiveTailSessionLogEvent {
                                    log_stream_name: Some(batch.stream.clone()),
                                    log_group_identifier: Some(id.clone()),
                                    message: Some(msg.clone()),
                                    timestamp: Some(*ts),
                                    ingestion_time: Some(batch.ingestion_time),
                                });
                            }
                        }
                        // Bound the buffer as AWS does (5,000 events), dropping the oldest.
                        if pending.len() > 10 * MAX_EVENTS_PER_UPDATE {
                            let excess = pending.len() - 10 * MAX_EVENTS_PER_UPDATE;
                            pending.drain(..excess);
                            lagged = true;
                        }
                    }
                    Err(RecvError::Lagged(_)) => lagged = true,
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    Ok(EventStream { items: rx })
}

/// At most `max` events, evenly spread over the input, in order.
fn sample<T>(events: Vec<T>, max: usize) -> Vec<T> {
    let n = events.len();
    if n <= max {
        return events;
    }
    events
        .into_iter()
        .enumerate()
        .filter(|(i, _)| (i * max) / n != ((i + 1) * max) / n)
        .map(|(_, e)| e)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sample;

    #[test]
    fn sampling_table() {
        for (n, max, want) in [
            (0, 500, 0),
            (10, 500, 10),
            (1000, 500, 500),
            (501, 500, 500),
            (7, 3, 3),
        ] {
            let got = sample((0..n).collect::<Vec<_>>(), max);
            assert_eq!(got.len(), want, "{n} {max}");
            assert!(got.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
