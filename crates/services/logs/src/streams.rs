//! Log streams: create, delete, describe.

use crate::{
    decode_token, encode_token, group_name, invalid, output, rejection, scope, store_error,
};
use nephoscope_logstore::{LogStore, Mutation, Rejection};
use nephoscope_model::types::logs::*;
use nephoscope_wire::{ApiError, RequestContext};
use serde_json::Value;

pub async fn create(
    store: &LogStore,
    ctx: &RequestContext,
    req: CreateLogStreamRequest,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::CreateStream {
            scope: scope(ctx),
            group: req.log_group_name.unwrap_or_default(),
            name: req.log_stream_name.unwrap_or_default(),
            creation_time: store.now(),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

pub async fn delete(
    store: &LogStore,
    ctx: &RequestContext,
    req: DeleteLogStreamRequest,
) -> Result<Value, ApiError> {
    store
        .mutate(Mutation::DeleteStream {
            scope: scope(ctx),
            group: req.log_group_name.unwrap_or_default(),
            name: req.log_stream_name.unwrap_or_default(),
        })
        .await
        .map_err(|e| store_error(e, &ctx.request_id))?;
    Ok(Value::Object(Default::default()))
}

pub fn describe(
    store: &LogStore,
    ctx: &RequestContext,
    req: DescribeLogStreamsRequest,
) -> Result<Value, ApiError> {
    let scope = scope(ctx);
    let group = group_name(
        &scope,
        req.log_group_name.as_deref(),
        req.log_group_identifier.as_deref(),
    )?;
    let by_time = match req.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => return Err(invalid(format!("Invalid orderBy: {other}"))),
    };
    if by_time && req.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "Cannot order by LastEventTime with a logStreamNamePrefix.",
        ));
    }
    let descending = req.descending.unwrap_or(false);
    let limit = req.limit.unwrap_or(50) as usize;
    let offset: usize = match &req.next_token {
        Some(t) => decode_token(t)?
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let st = store.read();
    let g = st
        .group(&scope, &group)
        .ok_or_else(|| rejection(Rejection::GroupNotFound))?;
    let mut streams: Vec<_> = g
        .streams
        .values()
        .filter(|s| {
            req.log_stream_name_prefix
                .as_ref()
                .is_none_or(|p| s.name.starts_with(p.as_str()))
        })
        .collect();
    if by_time {
        // Streams without events sort first, as they have no last event time.
        streams.sort_by_key(|s| (s.last_event_timestamp.unwrap_or(i64::MIN), s.name.clone()));
    }
    if descending {
        streams.reverse();
    }
    let arn_prefix = format!("{}:log-stream:", crate::group_arn(&scope, &group));
    let page: Vec<LogStream> = streams
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| LogStream {
            log_stream_name: Some(s.name.clone()),
            creation_time: Some(s.creation_time),
            first_event_timestamp: s.first_event_timestamp,
            last_event_timestamp: s.last_event_timestamp,
            last_ingestion_time: s.last_ingestion_time,
            upload_sequence_token: Some(crate::events::sequence_token(st.next_seq)),
            arn: Some(format!("{arn_prefix}{}", s.name)),
            stored_bytes: Some(0),
        })
        .collect();
    let next_token =
        (offset + limit < streams.len()).then(|| encode_token(&(offset + limit).to_string()));
    output(DescribeLogStreamsResponse {
        log_streams: Some(page),
        next_token,
    })
}
