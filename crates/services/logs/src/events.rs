//! Log events: PutLogEvents (AWS's batch rules and rejected-event indexes), GetLogEvents (head,
//! tail and forward/backward tokens) and FilterLogEvents (filter patterns, interleaved pages).

use crate::{
    decode_token, encode_token, group_name, invalid, output, rejection, scope, store_error,
};
use nephoscope_filter_pattern::FilterPattern;
use nephoscope_logstore::{
    Cursor, FilterQuery, LogStore, Mutation, Rejection, StreamRead, StreamSelection, DAY_MS,
};
use nephoscope_model::types::logs::*;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;

/// Largest batch: UTF-8 message bytes plus 26 bytes per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
pub const EVENT_OVERHEAD: usize = 26;
/// Largest single event, overhead included.
pub const MAX_EVENT_BYTES: usize = 1_048_576;
pub const MAX_SPAN_MS: i64 = DAY_MS;
/// Events older than this are rejected as too old.
pub const MAX_AGE_MS: i64 = 14 * DAY_MS;
/// Events further than this in the future are rejected as too new.
pub const MAX_FUTURE_MS: i64 = 2 * 3_600_000;
/// Default and largest page of GetLogEvents / FilterLogEvents.
pub const MAX_EVENTS_PER_PAGE: usize = 10_000;
/// GetLogEvents and FilterLogEvents pages stop at about 1 MB of messages.
pub const MAX_PAGE_BYTES: usize = 1_048_576;

/// FilterLogEvents returns newest first only for start times from 2024-01-01 on (AWS's rule).
pub const NEWEST_FIRST_SINCE_MS: i64 = 1_704_067_200_000;

/// The (ignored) sequence token clients still send; any value is accepted.
pub(crate) fn sequence_token(seq: u64) -> String {
    format!("{seq:056}")
}

pub async fn put(
    store: &LogStore,
    metrics: Option<&nephoscope_metricstore::MetricStore>,
    ctx: &RequestContext,
    req: PutLogEventsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = req.log_group_name.unwrap_or_default();
    let stream = req.log_stream_name.unwrap_or_default();
    let events = req.log_events.unwrap_or_default();

    let mut total = 0usize;
    for e in &events {
        let size = e.message.as_deref().unwrap_or_default().len() + EVENT_OVERHEAD;
        if size > MAX_EVENT_BYTES {
            return Err(invalid(format!(
                "Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}"
            )));
        }
        total += size;
    }
    if total > MAX_BATCH_BYTES {
        return Err(invalid(format!(
            "Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    let ts: Vec<i64> = events
        .iter()
        .map(|e| e.timestamp.unwrap_or_default())
        .collect();
    if ts.windows(2).any(|w| w[1] < w[0]) {
        return Err(invalid(
            "Log events in a single PutLogEvents request must be in chronological order.",
        ));
    }

    // Existence first (AWS answers ResourceNotFoundException before judging timestamps), and
    // the group's retention for the expired index.
    let retention = {
        let st = store.read();
        let g = st
            .group(&scope, &group)
            .ok_or_else(|| rejection(Rejection::GroupNotFound))?;
        if !g.streams.contains_key(&stream) {
            return Err(rejection(Rejection::StreamNotFound));
        }
        g.retention_days
    };
    let now = store.now();
    let too_old_end = ts.partition_point(|t| *t < now - MAX_AGE_MS);
    let expired_end = retention
        .map(|d| ts.partition_point(|t| *t < now - i64::from(d) * DAY_MS))
        .unwrap_or(0);
    let too_new_start = ts.partition_point(|t| *t <= now + MAX_FUTURE_MS);
    let accepted_from = too_old_end.max(expired_end).min(too_new_start);
    if too_new_start > accepted_from && ts[too_new_start - 1] - ts[accepted_from] > MAX_SPAN_MS {
        return Err(invalid(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
        ));
    }

    let accepted: Vec<(i64, String)> = events
        .into_iter()
        .enumerate()
        .filter(|(i, _)| (accepted_from..too_new_start).contains(i))
        .map(|(_, e)| {
            (
                e.timestamp.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect();
    let mut next_seq = store.read().next_seq;
    // EMF documents among the accepted events publish metrics once the events are durable.
    // So do the group's metric filters (applied to new events only, as AWS).
    let emf = match metrics {
        Some(_) => {
            let mut d = crate::emf::collect(&accepted);
            d.extend(crate::metricfilters::apply(
                store, &scope, &group, &accepted,
            ));
            d
        }
        None => Vec::new(),
    };
    if !accepted.is_empty() {
        let applied = store
            .mutate(Mutation::PutEvents {
                scope,
                group,
                stream,
                ingestion_time: now,
                events: accepted,
            })
            .await
            .map_err(|e| store_error(e, &ctx.request_id))?;
        next_seq = applied.first_seq;
    }
    if let (Some(m), false) = (metrics, emf.is_empty()) {
        crate::emf::publish(m, ctx, emf).await;
    }
    let rejected = (too_old_end > 0 || expired_end > 0 || too_new_start < ts.len()).then(|| {
        RejectedLogEventsInfo {
            too_new_log_event_start_index: (too_new_start < ts.len())
                .then_some(too_new_start as i32),
            too_old_log_event_end_index: (too_old_end > 0).then_some(too_old_end as i32),
            expired_log_event_end_index: (expired_end > 0).then_some(expired_end as i32),
        }
    });
    output(PutLogEventsResponse {
        next_sequence_token: Some(sequence_token(next_seq)),
        rejected_log_events_info: rejected,
        rejected_entity_info: None,
    })
}

fn cursor_text(c: Cursor) -> String {
    format!("{}:{}", c.0, c.1)
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let (ts, seq) = text.split_once(':')?;
    Some((ts.parse().ok()?, seq.parse().ok()?))
}

fn page_limit(limit: Option<i32>) -> usize {
    limit.map_or(MAX_EVENTS_PER_PAGE, |l| l as usize)
}

/// Trims a page to about `MAX_PAGE_BYTES` of messages, keeping at least one event.
fn cap_bytes<T>(events: &mut Vec<T>, size: impl Fn(&T) -> usize, keep_tail: bool) {
    let mut total = 0;
    let mut keep = 0;
    let iter: Box<dyn Iterator<Item = &T>> = if keep_tail {
        Box::new(events.iter().rev())
    } else {
        Box::new(events.iter())
    };
    for e in iter {
        total += size(e) + EVENT_OVERHEAD;
        if total > MAX_PAGE_BYTES && keep > 0 {
            break;
        }
        keep += 1;
    }
    if keep_tail {
        let drop = events.len() - keep;
        events.drain(..drop);
    } else {
        events.truncate(keep);
    }
}

pub fn get(
    store: &LogStore,
    ctx: &RequestContext,
    req: GetLogEventsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = group_name(
        &scope,
        req.log_group_name.as_deref(),
        req.log_group_identifier.as_deref(),
    )?;
    let stream = req.log_stream_name.unwrap_or_default();
    let limit = page_limit(req.limit);
    let (at, given) = match req.next_token.as_deref() {
        None => (
            if req.start_from_head.unwrap_or(false) {
                StreamRead::Head
            } else {
                StreamRead::Tail
            },
            None,
        ),
        Some(t) => {
            let bad = || invalid("The specified nextToken is invalid.");
            let (dir, rest) = t.split_once('/').ok_or_else(bad)?;
            let c = parse_cursor(&decode_token(rest)?).ok_or_else(bad)?;
            match dir {
                "f" => (StreamRead::After(c), Some(t.to_string())),
                "b" => (StreamRead::Before(c), Some(t.to_string())),
                _ => return Err(bad()),
            }
        }
    };
    let mut events = store
        .stream_events(
            &scope,
            &group,
            &stream,
            req.start_time,
            req.end_time,
            at,
            limit,
        )
        .map_err(|e| store_error(e, &ctx.request_id))?;
    let backward = matches!(at, StreamRead::Tail | StreamRead::Before(_));
    cap_bytes(&mut events, |e| e.message.len(), backward);
    let token = |dir: &str, c: Cursor| format!("{dir}/{}", encode_token(&cursor_text(c)));
    let (forward, backward_token) = match (events.first(), events.last()) {
        (Some(first), Some(last)) => (
            token("f", (last.timestamp, last.seq)),
            token("b", (first.timestamp, first.seq)),
        ),
        _ => {
            // Nothing more in that direction: AWS hands back the token it was given.
            let c = match at {
                StreamRead::After(c) | StreamRead::Before(c) => c,
                _ => (i64::MIN, 0),
            };
            let f = given
                .clone()
                .filter(|g| g.starts_with("f/"))
                .unwrap_or_else(|| token("f", c));
            let b = given
                .filter(|g| g.starts_with("b/"))
                .unwrap_or_else(|| token("b", c));
            (f, b)
        }
    };
    output(GetLogEventsResponse {
        events: Some(
            events
                .into_iter()
                .map(|e| OutputLogEvent {
                    timestamp: Some(e.timestamp),
                    message: Some(e.message),
                    ingestion_time: Some(e.ingestion_time),
                })
                .collect(),
        ),
        next_forward_token: Some(forward),
        next_backward_token: Some(backward_token),
    })
}

/// Compiles a filter pattern, mapping syntax errors to AWS's error.
pub(crate) fn compile_pattern(pattern: Option<&str>) -> Result<Option<FilterPattern>, ApiError> {
    match pattern {
        None => Ok(None),
        Some(p) => {
            let compiled = FilterPattern::parse(p)
                .map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
            Ok((!compiled.matches_all()).then_some(compiled))
        }
    }
}

pub fn filter(
    store: &LogStore,
    ctx: &RequestContext,
    req: FilterLogEventsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = group_name(
        &scope,
        req.log_group_name.as_deref(),
        req.log_group_identifier.as_deref(),
    )?;
    let streams = match (req.log_stream_names, req.log_stream_name_prefix) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive.",
            ))
        }
        (Some(names), None) => StreamSelection::Names(names),
        (None, Some(prefix)) => StreamSelection::Prefix(prefix),
        (None, None) => StreamSelection::All,
    };
    if let (Some(s), Some(e)) = (req.start_time, req.end_time) {
        if e < s {
            return Err(invalid(
                "endTime must be greater than or equal to startTime.",
            ));
        }
    }
    if req.start_from_head == Some(false)
        && req.start_time.is_none_or(|s| s < NEWEST_FIRST_SINCE_MS)
    {
        return Err(invalid(
            "startFromHead=false (newest first) needs a startTime on or after 2024-01-01T00:00:00Z.",
        ));
    }
    let pattern = compile_pattern(req.filter_pattern.as_deref())?;
    let after = match &req.next_token {
        Some(t) => Some(
            parse_cursor(&decode_token(t)?)
                .ok_or_else(|| invalid("The specified nextToken is invalid."))?,
        ),
        None => None,
    };
    let matcher = pattern.as_ref().map(|p| move |m: &str| p.matches(m));
    let required = pattern
        .as_ref()
        .map(FilterPattern::required_terms)
        .unwrap_or_default();
    let q = FilterQuery {
        streams,
        start: req.start_time,
        // endTime is inclusive for FilterLogEvents.
        end: req.end_time,
        pattern: matcher
            .as_ref()
            .map(|m| m as &(dyn Fn(&str) -> bool + Sync)),
        limit: page_limit(req.limit),
        after,
        // startFromHead=false: newest first (AWS's default is oldest first).
        descending: !req.start_from_head.unwrap_or(true),
        required: &required,
    };
    let mut page = store
        .filter(&scope, &group, &q)
        .map_err(|e| store_error(e, &ctx.request_id))?;
    let full = page.events.len();
    cap_bytes(&mut page.events, |e| e.message.len(), false);
    let next = if page.events.len() < full {
        page.events.last().map(|e| (e.timestamp, e.seq))
    } else {
        page.next
    };
    output(FilterLogEventsResponse {
        events: Some(
            page.events
                .into_iter()
                .map(|e| FilteredLogEvent {
                    log_stream_name: Some(e.stream),
                    timestamp: Some(e.timestamp),
                    message: Some(e.message),
                    ingestion_time: Some(e.ingestion_time),
                    event_id: Some(format!("{:056}", e.seq)),
                })
                .collect(),
        ),
        // Deprecated by AWS in 2020: always an empty list.
        searched_log_streams: Some(Vec::new()),
        next_token: next.map(|c| encode_token(&cursor_text(c))),
    })
}
